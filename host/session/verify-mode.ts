import { InputError } from '../errors';
import { METHOD_SPECS, type MethodName } from '../plan/methods';

export type VerifyMode = 'full' | 'sample';

/**
 * The one sampling rule (docs/cli.md, "Verification"): sampled verification is allowed only for
 * methods whose data says so (Clear); every Purge-class method (purge, dod3) is verified in full.
 * Asking for sampling where it is refused is bad usage (exit 2), in erase, flash and build alike.
 */
export function checkVerifyMode(method: MethodName, verify: string): asserts verify is VerifyMode {
  if (verify !== 'full' && verify !== 'sample') throw new InputError(`unknown verification "${verify}" (use full or sample)`);
  const spec = METHOD_SPECS[method];
  if (verify === 'sample' && (!spec.allowsSampling || spec.nistType === 'Purge')) {
    throw new InputError(`method ${method} (NIST ${spec.nistType}) requires full verification (--verify full): sampling is refused`);
  }
}
