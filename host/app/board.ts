import { BoardError, loadBoard } from '../boards/load';
import type { Board } from '../boards/types';
import { InputError } from '../errors';

/** Loads a board by id or path; a bad board file is bad input (exit 2) with its first problem. */
export function loadBoardOrExit(idOrPath: string): Board {
  try {
    return loadBoard(idOrPath);
  } catch (err) {
    if (err instanceof BoardError) throw new InputError(err.message.split('\n')[0]);
    // a file nested thousands of levels deep overflows the stack of the resolver: still a bad board file
    if (err instanceof RangeError) throw new InputError(`board ${idOrPath}: cannot be read as a board file: ${err.message} (nested too deeply?)`);
    throw err;
  }
}
