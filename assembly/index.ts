// Module entry: exactly the exports of docs/abi.md (memory is exported by the compiler).
import * as abi from './abi';
import { JOB_AREA, RESULT_AREA } from './engine';

export const ABI_VERSION: i32 = <i32>abi.ABI_VERSION;
export const JOB: i32 = <i32>JOB_AREA;
export const RESULT: i32 = <i32>RESULT_AREA;
export const JOB_MAX: i32 = <i32>abi.JOB_MAX;
export const RESULT_MAX: i32 = <i32>abi.RESULT_MAX;

export { run } from './engine';

if (isDefined(POSWIPE_MEMORY_HAL)) {
  ERROR('assembly/index.ts is the terminal entry: build it without POSWIPE_MEMORY_HAL (use assembly/selfcontained.ts)');
}
