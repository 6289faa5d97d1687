import type { Board } from '../../boards/types';
import type { CodeRunner } from '../../emulator/part';

/**
 * The browser build's stand-in for host/emulator/cpu/machine.ts: a page has no Unicorn, so the
 * instruction-level runner is never available there and the emulated terminal runs the model.
 */
export class CpuRunner {
  static tryCreate(_board: Board): CodeRunner | { unavailable: string } {
    return { unavailable: 'a browser page has no instruction-level CPU (Unicorn is a native library)' };
  }
}
