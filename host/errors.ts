/**
 * Every failure the tool reports maps to one documented exit code (PRODUCT.md):
 * 1 verification failed, 2 bad usage or input file, 3 device or link problem, 4 refused for safety.
 */
export const EXIT = {
  OK: 0,
  VERIFY_FAILED: 1,
  USAGE: 2,
  DEVICE: 3,
  SAFETY: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class PoswipeError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad command-line usage or a bad input file (board, image, certificate, backup): exit 2. */
export class InputError extends PoswipeError {
  constructor(message: string) {
    super(message, EXIT.USAGE);
  }
}

/** The device or the line misbehaved (no answer, NACK, wrong product ID, timeout): exit 3. */
export class DeviceError extends PoswipeError {
  constructor(message: string) {
    super(message, EXIT.DEVICE);
  }
}

/** A read or an expected answer did not arrive in time: exit 3. */
export class TimeoutError extends DeviceError {}

/** The bootloader answered NACK to a command or one of its frames: exit 3. */
export class NackError extends DeviceError {
  constructor(
    message: string,
    readonly command: number,
  ) {
    super(message);
  }
}

/** Refused for safety (read protection without --unlock, untrusted image, backup failed): exit 4. */
export class SafetyError extends PoswipeError {
  constructor(message: string) {
    super(message, EXIT.SAFETY);
  }
}

/** The run completed but some block is not as expected: exit 1, never certified. */
export class VerificationError extends PoswipeError {
  constructor(message: string) {
    super(message, EXIT.VERIFY_FAILED);
  }
}

export function exitCodeOf(err: unknown): ExitCode {
  if (err instanceof PoswipeError) return err.exitCode;
  return EXIT.USAGE;
}
