/**
 * Child process of the conformance check (host/image/conformance.ts): runs the self-contained
 * engine as wasm2c translated and cc built it (wasm2c.ts), through koffi. Reads a Wasm2cRequest
 * as JSON on stdin, writes the JobOutput[][] as JSON on stdout. Apart from the caller because a
 * trap in the translated code ends the process (wasm_rt_trap aborts without a handler).
 */
import { readFileSync } from 'node:fs';
import { runNumeric, type JobOutput, type Wasm2cRequest } from './conformance';

function main(): void {
  const request = JSON.parse(readFileSync(0, 'utf8')) as Wasm2cRequest;
  const koffi = require('koffi') as typeof import('koffi');
  const lib = koffi.load(request.library);
  const fresh = lib.func('int poswipe_new(void)') as () => number;
  const callExport = lib.func('int poswipe_call(const char *name, const int32_t *a, int n, _Out_ int32_t *out)') as (
    name: string,
    a: Int32Array,
    n: number,
    out: Int32Array,
  ) => number;
  const results: JobOutput[][] = [];
  const out = new Int32Array(1);
  for (const c of request.cases) {
    fresh(); // a fresh instance per case, as V8 gets one
    const call = (name: string, args: number[]): number => {
      const r = callExport(name, Int32Array.from(args), args.length, out);
      if (r === -1) throw new Error(`self-contained module lacks the export ${name}`);
      if (r !== 0) throw new Error(`export ${name} called with ${args.length} argument(s): wrong count`);
      return out[0];
    };
    results.push(
      runNumeric(
        call,
        c.setup,
        c.jobs.map((h) => new Uint8Array(Buffer.from(h, 'hex'))),
      ),
    );
  }
  process.stdout.write(JSON.stringify(results));
}

try {
  main();
} catch (err) {
  process.stderr.write(`wasm2c runner: ${(err as Error).message}\n`);
  process.exit(1);
}
