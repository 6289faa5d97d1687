import type { Command } from 'commander';
import { listBoards } from '../../boards/load';
import { boardSummaryLine, boardToJson, describeBoard } from '../../boards/format';
import { EXIT } from '../../errors';
import { act, loadBoardOrExit, out } from '../common';
import { hexPid } from '../../format/hex';

export function register(program: Command): void {
  const boards = program.command('boards').description('list board files').option('--json', 'JSON output');
  boards.action(
    act(async (o: { json?: boolean }) => {
      const list = listBoards();
      if (o.json)
        out(
          JSON.stringify(
            list.map((b) => ({ id: b.id, name: b.name, productIds: b.productIds.map(hexPid), flashSize: b.flash.size, agent: b.agent !== null })),
            null,
            2,
          ),
        );
      else for (const b of list) out(boardSummaryLine(b));
      return EXIT.OK;
    }),
  );
  boards
    .command('show <board>')
    .description('one board, resolved')
    .option('--json', 'JSON output')
    .action(
      act(async (id: string, o: { json?: boolean }) => {
        const b = loadBoardOrExit(id);
        // `boards show x --json`: commander gives --json to `boards` (it has one too) unless it is read here
        const json = o.json === true || boards.opts().json === true;
        out(json ? JSON.stringify(boardToJson(b), null, 2) : describeBoard(b));
        return EXIT.OK;
      }),
    );
}
