// The engine specs' test API (describe, it, beforeEach, expect(...).toBe), compiled as a second
// entry file next to each spec by scripts/test-engine.mjs. Tests only register here; the runner
// instantiates the module afresh for each one and calls __runTest(i), so a failed expectation (a
// trap) ends that test alone and leaves no state behind for the next.

@external('harness', 'fail')
declare function harnessFail(actual: string, expected: string, message: string): void;

class Registry {
  names: string[] = [];
  bodies: (() => void)[] = [];
  hooks: (() => void)[] = [];
}

function noHook(): void {}

let registry: Registry | null = null;
let prefix = '';
let hook: () => void = noHook;

function tests(): Registry {
  if (registry == null) registry = new Registry();
  return registry as Registry;
}

@global function describe(name: string, body: () => void): void {
  const outerPrefix = prefix;
  const outerHook = hook;
  prefix = outerPrefix.length > 0 ? outerPrefix + ' › ' + name : name;
  body();
  prefix = outerPrefix;
  hook = outerHook;
}

@global function beforeEach(body: () => void): void {
  hook = body;
}

@global function it(name: string, body: () => void): void {
  const r = tests();
  r.names.push(prefix.length > 0 ? prefix + ' › ' + name : name);
  r.bodies.push(body);
  r.hooks.push(hook);
}

function show<T>(value: T): string {
  if (isString<T>()) return '"' + changetype<string>(value) + '"';
  if (isBoolean<T>()) return value ? 'true' : 'false';
  if (isInteger<T>() || isFloat<T>()) return value.toString();
  return '(a value of a type the harness does not print)';
}

@global class Expectation<T> {
  constructor(public actual: T) {}

  toBe(expected: T, message: string = ''): void {
    if (this.actual != expected) {
      harnessFail(show<T>(this.actual), show<T>(expected), message);
      unreachable();
    }
  }
}

@global function expect<T>(actual: T): Expectation<T> {
  return new Expectation<T>(actual);
}

export function __testCount(): i32 {
  return tests().names.length;
}

export function __testName(i: i32): string {
  return tests().names[i];
}

export function __runTest(i: i32): void {
  const r = tests();
  r.hooks[i]();
  r.bodies[i]();
}
