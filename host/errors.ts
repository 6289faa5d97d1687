/**
 * Every failure the tool reports maps to one documented exit code (docs/cli.md, "Exit codes"):
 * 1 verification failed, 2 bad usage or input file, 3 device or link problem, 4 refused for safety.
 * `exitCodeOf` below is the one rule; the command line, the audit log and the station all use it.
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

/**
 * Local file-system failures: on a file or folder the operator named (or the tool's own files
 * next to it), they are the operator's to fix, i.e. bad input (2), never a device problem.
 */
const LOCAL_FILE_CODES = new Set([
  'ENOSPC',
  'EROFS',
  'EISDIR',
  'ENOTDIR',
  'EACCES',
  'EPERM',
  'EEXIST',
  'ENOENT',
  'EDQUOT',
  'EFBIG',
  'ENAMETOOLONG',
  'ELOOP',
  'EMLINK',
  'EXDEV',
  'ETXTBSY',
]);
const FS_SYSCALLS = new Set([
  'open',
  'write',
  'read',
  'mkdir',
  'link',
  'unlink',
  'rename',
  'fsync',
  'close',
  'stat',
  'lstat',
  'fstat',
  'access',
  'copyfile',
  'symlink',
  'readlink',
  'scandir',
  'rmdir',
  'rm',
  'chmod',
  'ftruncate',
  'utime',
]);

/** A Node.js file-system error (it has an errno code and a file system call). */
export function isLocalFileError(err: unknown): err is NodeJS.ErrnoException {
  const e = err as NodeJS.ErrnoException | null;
  return (
    !!e && typeof e === 'object' && typeof e.code === 'string' && LOCAL_FILE_CODES.has(e.code) && (typeof e.syscall !== 'string' || FS_SYSCALLS.has(e.syscall))
  );
}

/**
 * THE exit-code rule (docs/cli.md): a PoswipeError carries its code; a local file-system error
 * (disk full, read-only, a folder where a file was meant ...) is bad input, 2; anything else
 * unforeseen happened while the tool worked with a terminal and is 3, never success.
 */
export function exitCodeOf(err: unknown): ExitCode {
  if (err instanceof PoswipeError) return err.exitCode;
  if (isLocalFileError(err)) return EXIT.USAGE;
  return EXIT.DEVICE;
}

/** One line for the operator: the first line of the message, never a stack. */
export function errorLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return (msg.split('\n')[0] || (err instanceof Error ? err.name : 'unknown error')).trim();
}

/** The one prefix of every error line the tool prints. */
export const ERROR_PREFIX = 'poswipe: error:';
