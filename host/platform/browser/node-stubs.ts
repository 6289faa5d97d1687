/**
 * What the browser bundle gets for node:fs, node:path and node:os: the modules that import them
 * (board files from disk, the engine file under build/) are in the bundle for their pure
 * functions only; the page passes boards and the engine module in. Any call that reaches here is
 * a bug in the page and says so.
 */
function nodeOnly(name: string): (...args: unknown[]) => never {
  return () => {
    throw new Error(`${name} is not available in the browser build`);
  };
}

export const readFileSync = nodeOnly('fs.readFileSync');
export const writeFileSync = nodeOnly('fs.writeFileSync');
export const existsSync = (): boolean => false;
export const statSync = nodeOnly('fs.statSync');
export const readdirSync = nodeOnly('fs.readdirSync');
export const mkdirSync = nodeOnly('fs.mkdirSync');
export const appendFileSync = nodeOnly('fs.appendFileSync');
export const renameSync = nodeOnly('fs.renameSync');
export const openSync = nodeOnly('fs.openSync');
export const closeSync = nodeOnly('fs.closeSync');
export const fstatSync = nodeOnly('fs.fstatSync');
export const readSync = nodeOnly('fs.readSync');
export const realpathSync = nodeOnly('fs.realpathSync');
export const constants = { O_RDONLY: 0, O_NONBLOCK: 0, O_WRONLY: 1, O_CREAT: 0o100, O_EXCL: 0o200, W_OK: 2 };
export const join = (...parts: string[]): string => parts.filter(Boolean).join('/').replace(/\/+/g, '/');
export const resolve = (...parts: string[]): string => join(...parts);
export const dirname = (p: string): string => p.replace(/\/[^/]*$/, '') || '/';
export const basename = (p: string, ext = ''): string => {
  const b = p.replace(/^.*\//, '');
  return ext && b.endsWith(ext) ? b.slice(0, -ext.length) : b;
};
export const isAbsolute = (p: string): boolean => p.startsWith('/');
export const relative = (_from: string, to: string): string => to;
export const sep = '/';
export const homedir = (): string => '/';
export const hostname = (): string => 'browser';
