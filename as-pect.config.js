// as-pect configuration (asp --config as-pect.config.js); the compiler options are in
// as-pect.asconfig.json. Specs that run the engine get their `hal` imports from the spec module
// itself: each HAL call is forwarded to the spec's exported mock (mockErase, mockRead, ...), so
// the mock flash lives in the module's own memory.
module.exports = {
  entries: ['assembly/__tests__/**/*.spec.ts'],
  include: ['assembly/__tests__/**/*.include.ts'],
  disclude: [/node_modules/],
  async instantiate(memory, createImports, instantiate, binary) {
    let exports = null;
    const forward = (name) => (...args) => {
      const fn = exports && exports[name];
      if (typeof fn !== 'function') throw new Error(`spec module does not export ${name} for the hal import`);
      return fn(...args);
    };
    const hal = {
      erase: forward('mockErase'),
      read: forward('mockRead'),
      program: forward('mockProgram'),
      event: forward('mockEvent'),
    };
    const result = await instantiate(binary, createImports({ env: { memory }, hal }));
    exports = result.exports;
    return result;
  },
  outputBinary: false,
};
