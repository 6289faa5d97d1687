/**
 * A bootloader session for the record commands (backup, restore): the board's reset sequence into
 * the bootloader, identification, the work, then the board's exit sequence (back to the
 * application) whatever happened.
 */
import type { Board } from '../boards/types';
import { BootloaderClient } from '../protocol/client';
import { identify, type Identity } from '../session/identify';
import { inBootloader, resetPlan } from '../session/reset';
import type { Transport } from '../transport/types';

export async function withBootloader<T>(
  transport: Transport,
  board: Board,
  fn: (client: BootloaderClient, identity: Identity) => Promise<T>,
  resetOverride?: string,
): Promise<T> {
  const client = new BootloaderClient(transport);
  return inBootloader(transport, resetPlan(board, resetOverride), async () => fn(client, await identify(client, board)));
}
