/**
 * The board catalogue: shipped boards, layouts, inheritance, every validation rule (one broken
 * fixture per rule), reset sequences and the JSON form.
 */
import { test, describe } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BoardError, boardForProductId, boardsDir, eraseTimeFor, listBoards, loadAllBoards, loadBoard, sectorsIn, sectorsOf } from '../host/boards/load';
import { boardFromJson, boardSummaryLine, boardToJson, describeBoard } from '../host/boards/format';
import { formatResetSequence, parseResetSequence, ResetSequenceError } from '../host/boards/reset';
import { agentCatalog } from '../host/agent/manifest';
import { RULE_NAMES, checkBoard, closest, knownFields, runsTileFlash, agentFitsRam, linkPins } from '../host/boards/rules';
import { runsTotal } from '../host/boards/layout';
import { parseField } from '../host/boards/schema';
import { type Sector } from '../host/boards/types';

// compiled to build/tests/: the package root is two levels up
const ROOT = path.resolve(__dirname, '../..');
const FIXTURES = path.join(ROOT, 'tests', 'fixtures', 'boards');
const BROKEN = path.join(FIXTURES, 'broken');
const GOOD = path.join(FIXTURES, 'good');

const KiB = 1024;

const SHIPPED: Record<string, number> = {
  'acme-t400': 0x413,
  stm32f103xb: 0x410,
  stm32f103xe: 0x414,
  stm32f205: 0x411,
  stm32f407: 0x413,
  stm32f429: 0x419,
  stm32l476: 0x415,
};

/** F2/F4 bank layout: 4 x 16 KiB, 1 x 64 KiB, 7 x 128 KiB from `base`. */
function f4Bank(base: number, firstIndex: number, bank: number): Sector[] {
  const sizes = [16, 16, 16, 16, 64, 128, 128, 128, 128, 128, 128, 128].map((k) => k * KiB);
  const out: Sector[] = [];
  let address = base;
  sizes.forEach((size, i) => {
    out.push({ index: firstIndex + i, address, size, bank });
    address += size;
  });
  return out;
}

function catchBoardError(fn: () => unknown): BoardError {
  try {
    fn();
  } catch (e) {
    if (e instanceof BoardError) return e;
    throw e;
  }
  assert.fail('expected a BoardError');
}

describe('shipped boards', () => {
  test('the boards directory is found at the package root', () => {
    assert.equal(boardsDir({}), process.env.POSWIPE_BOARDS_DIR ? path.resolve(process.env.POSWIPE_BOARDS_DIR) : path.join(ROOT, 'boards'));
  });

  test('listBoards returns the seven boards, family files left out, with their product IDs', () => {
    const boards = listBoards();
    assert.deepEqual(
      boards.map((b) => b.id),
      Object.keys(SHIPPED).sort(),
    );
    for (const b of boards) assert.deepEqual(b.productIds, [SHIPPED[b.id]], b.id);
  });

  for (const id of Object.keys(SHIPPED)) {
    test(`${id} loads by id, passes every rule and its runs tile the flash`, () => {
      const b = loadBoard(id);
      assert.equal(b.id, id);
      assert.deepEqual(checkBoard(b), []);
      assert.equal(runsTotal(b.flash.sectors), b.flash.size);
      assert.equal(
        b.flash.banks.reduce((n, bank) => n + bank.size, 0),
        b.flash.size,
      );
      const sectors = sectorsOf(b);
      const last = sectors[sectors.length - 1];
      assert.equal(last.address + last.size, b.flash.base + b.flash.size);
      assert.ok(sectors.every((s) => s.bank >= 1));
      for (const s of sectors) assert.ok(eraseTimeFor(b, s.size).typicalMs > 0);
    });
  }

  test('real parts erase everything by default: no regions, no reset wiring', () => {
    for (const id of Object.keys(SHIPPED).filter((i) => i !== 'acme-t400')) {
      const b = loadBoard(id);
      assert.deepEqual(b.regions, [], id);
      assert.equal(b.reset, null, id);
    }
  });

  test('part facts: erase command, RDP bytes, OTP, Get Checksum', () => {
    const f1 = loadBoard('stm32f103xb');
    assert.equal(f1.bootloader.eraseCommand, 0x43);
    assert.deepEqual(f1.bootloader.rdp, { level0: 0xa5, level2: null });
    assert.equal(f1.otp, null);
    assert.equal(f1.agent, null);
    assert.equal(loadBoard('stm32f103xe').agent, null);
    for (const id of ['stm32f205', 'stm32f407', 'stm32f429', 'stm32l476']) {
      const b = loadBoard(id);
      assert.equal(b.bootloader.eraseCommand, 0x44, id);
      assert.deepEqual(b.bootloader.rdp, { level0: 0xaa, level2: 0xcc }, id);
      assert.equal(b.bootloader.getChecksum, false, id);
      assert.notEqual(b.agent, null, id);
    }
    for (const id of ['stm32f205', 'stm32f407', 'stm32f429']) {
      assert.deepEqual(loadBoard(id).otp, { address: 0x1fff7800, size: 512 }, id);
    }
    assert.equal(loadBoard('stm32f429').bootloader.version, 0x31);
    assert.equal(loadBoard('stm32f205').bootloader.version, 0x20);
    assert.equal(f1.bootloader.version, 0x22);
  });

  test('agents and links: kind, core and flash interface per family, load = the link address, AN2606 USART1 on PA9/PA10', () => {
    const expect: Record<string, [string, string, string | null]> = {
      stm32f103xb: ['cortex-m3', 'stm32f1', null],
      stm32f103xe: ['cortex-m3', 'stm32f1', null],
      stm32f205: ['cortex-m3', 'stm32f2', 'f2'],
      stm32f407: ['cortex-m4', 'stm32f4', 'f4'],
      stm32f429: ['cortex-m4', 'stm32f4', 'f4'],
      'acme-t400': ['cortex-m4', 'stm32f4', 'f4'],
      stm32l476: ['cortex-m4', 'stm32l4', 'l4'],
    };
    const catalog = agentCatalog();
    for (const b of listBoards()) {
      const [core, fi, kind] = expect[b.id];
      assert.equal(b.core, core, b.id);
      assert.equal(b.flashInterface, fi, b.id);
      assert.equal(b.agent?.binary ?? null, kind, b.id);
      if (b.agent === null) continue;
      const e = catalog.find((x) => x.kind === b.agent!.binary)!;
      assert.equal(b.agent.load, e.load, b.id);
      assert.ok(b.agent.load >= b.ram.freeFrom && e.ramEnd <= b.ram.base + b.ram.size, b.id);
      assert.equal(b.link!.tx, 9, b.id);
      assert.equal(b.link!.rx, 10, b.id);
      assert.equal(b.link!.af, 7, b.id);
    }
    assert.deepEqual(loadBoard('stm32f407').link, {
      usart: 0x40011000,
      usartClock: { register: 0x40023844, mask: 0x10 },
      gpio: 0x40020000,
      gpioClock: { register: 0x40023830, mask: 0x1 },
      tx: 9,
      rx: 10,
      af: 7,
      resetClockHz: 16000000,
    });
    assert.deepEqual(loadBoard('stm32l476').link, {
      usart: 0x40013800,
      usartClock: { register: 0x40021060, mask: 0x4000 },
      gpio: 0x48000000,
      gpioClock: { register: 0x4002104c, mask: 0x1 },
      tx: 9,
      rx: 10,
      af: 7,
      resetClockHz: 4000000,
    });
    assert.equal(loadBoard('stm32f103xe').link, null);
  });
});

describe('layouts', () => {
  test('stm32f407: exactly the twelve sectors of RM0090', () => {
    assert.deepEqual(sectorsOf(loadBoard('stm32f407')), [
      { index: 0, address: 0x08000000, size: 0x4000, bank: 1 },
      { index: 1, address: 0x08004000, size: 0x4000, bank: 1 },
      { index: 2, address: 0x08008000, size: 0x4000, bank: 1 },
      { index: 3, address: 0x0800c000, size: 0x4000, bank: 1 },
      { index: 4, address: 0x08010000, size: 0x10000, bank: 1 },
      { index: 5, address: 0x08020000, size: 0x20000, bank: 1 },
      { index: 6, address: 0x08040000, size: 0x20000, bank: 1 },
      { index: 7, address: 0x08060000, size: 0x20000, bank: 1 },
      { index: 8, address: 0x08080000, size: 0x20000, bank: 1 },
      { index: 9, address: 0x080a0000, size: 0x20000, bank: 1 },
      { index: 10, address: 0x080c0000, size: 0x20000, bank: 1 },
      { index: 11, address: 0x080e0000, size: 0x20000, bank: 1 },
    ]);
  });

  test('stm32f429: 24 sectors, bank 2 = sectors 12-23 from 0x08100000', () => {
    const sectors = sectorsOf(loadBoard('stm32f429'));
    assert.deepEqual(sectors, [...f4Bank(0x08000000, 0, 1), ...f4Bank(0x08100000, 12, 2)]);
    assert.equal(sectors[12].address, 0x08100000);
    assert.deepEqual(
      sectors.filter((s) => s.bank === 2).map((s) => s.index),
      Array.from({ length: 12 }, (_, i) => 12 + i),
    );
  });

  test('stm32l476: 512 pages of 2 KiB, bank 2 = pages 256-511 from 0x08080000', () => {
    const pages = sectorsOf(loadBoard('stm32l476'));
    assert.equal(pages.length, 512);
    pages.forEach((p, i) => {
      assert.deepEqual(p, { index: i, address: 0x08000000 + i * 2048, size: 2048, bank: i < 256 ? 1 : 2 });
    });
    assert.equal(pages[256].address, 0x08080000);
  });

  test('F1 pages', () => {
    assert.equal(sectorsOf(loadBoard('stm32f103xb')).length, 128);
    assert.equal(sectorsOf(loadBoard('stm32f103xe')).length, 256);
    assert.equal(sectorsOf(loadBoard('stm32f103xe'))[255].address, 0x0807f800);
  });

  test('sectorsIn and eraseTimeFor', () => {
    const b = loadBoard('stm32f407');
    assert.deepEqual(
      sectorsIn(b, { address: 0x0800c000, size: 0x14000 }).map((s) => s.index),
      [3, 4],
    );
    assert.deepEqual(eraseTimeFor(b, 0x20000), { typicalMs: 1000, maxMs: 2000 });
    assert.deepEqual(eraseTimeFor(b, 0x4000), { typicalMs: 250, maxMs: 500 });
    assert.throws(() => eraseTimeFor(b, 0x800), /no erase timing for 2048-byte/);
  });
});

describe('inheritance', () => {
  test('acme-t400 has the F407 layout and its own regions and reset wiring', () => {
    const acme = loadBoard('acme-t400');
    const f407 = loadBoard('stm32f407');
    assert.deepEqual(acme.inherits, ['stm32f2', 'stm32f4', 'stm32f407']);
    assert.deepEqual(acme.flash, f407.flash);
    assert.deepEqual(acme.ram, f407.ram);
    assert.deepEqual(acme.agent, f407.agent);
    assert.deepEqual(acme.productIds, [0x413]);
    assert.match(acme.name, /example/i);
    assert.deepEqual(acme.regions, [
      { name: 'boot', kind: 'protected', address: 0x08000000, size: 0x4000 },
      { name: 'keys', kind: 'keys', address: 0x08004000, size: 0x4000 },
      { name: 'config', kind: 'data', address: 0x0800c000, size: 0x4000 },
      { name: 'transactions', kind: 'data', address: 0x08010000, size: 0x10000 },
    ]);
    assert.notEqual(acme.reset, null);
    assert.ok(acme.source.endsWith(path.join('boards', 'acme-t400.json')));
  });

  test('objects merge deeply: the F4 family changes the agent kind and load, the link comes from the F2 family', () => {
    const f205 = loadBoard('stm32f205');
    const f407 = loadBoard('stm32f407');
    assert.deepEqual(f205.agent, { binary: 'f2', load: 0x20002000 });
    assert.deepEqual(f407.agent, { binary: 'f4', load: 0x20003000 });
    assert.deepEqual(f407.link, f205.link);
    assert.equal(f205.core, 'cortex-m3');
    assert.equal(f407.core, 'cortex-m4');
  });

  test('arrays replace: the F429 timing keeps the F2 erase table and overrides mass erase only', () => {
    const f429 = loadBoard('stm32f429');
    assert.deepEqual(f429.timing.erase, loadBoard('stm32f407').timing.erase);
    assert.deepEqual(f429.timing.massErase, { typicalMs: 16000, maxMs: 32000 });
    assert.equal(f429.optionBytes.length, 2);
  });

  test('a test board file inheriting a shipped board declares Get Checksum', () => {
    const b = loadBoard(path.join(GOOD, 'stm32f407-checksum.json'));
    assert.equal(b.bootloader.getChecksum, true);
    const f407 = loadBoard('stm32f407');
    assert.deepEqual({ ...b.bootloader, getChecksum: false }, f407.bootloader);
    assert.deepEqual(b.flash, f407.flash);
    assert.deepEqual(b.inherits, ['stm32f2', 'stm32f4', 'stm32f407']);
  });

  test('every good fixture loads', () => {
    for (const f of fs.readdirSync(GOOD).filter((n) => n.endsWith('.json'))) {
      assert.doesNotThrow(() => loadBoard(path.join(GOOD, f)), f);
    }
  });
});

describe('validation rules', () => {
  const fixtures = fs.readdirSync(BROKEN).filter((n) => n.endsWith('.json'));

  for (const name of fixtures) {
    const rule = path.basename(name, '.json');
    test(`broken/${name} fails with exactly ${rule}`, () => {
      const e = catchBoardError(() => loadBoard(path.join(BROKEN, name)));
      assert.deepEqual(e.rules, [rule], e.message);
      assert.equal(e.rule, rule);
      const first = e.message.split('\n')[0];
      assert.match(first, new RegExp(`^\\S+\\.json: ${e.field.replace(/[[\]().]/g, '\\$&')}: ${rule}: .+`));
      assert.ok(path.isAbsolute(e.file));
    });
  }

  test('every rule that a file can break has a broken fixture', () => {
    const notFromAFile = ['file-readable', 'unknown-board'];
    const have = new Set(fixtures.map((n) => path.basename(n, '.json')));
    for (const rule of RULE_NAMES) {
      if (!notFromAFile.includes(rule)) assert.ok(have.has(rule), `no fixture for ${rule}`);
    }
    for (const f of have) assert.ok(RULE_NAMES.includes(f), `fixture ${f} names no rule`);
  });

  test('a misspelt field gets a suggestion, a far-off one the list of known fields', () => {
    const e = catchBoardError(() => loadBoard(path.join(BROKEN, 'known-fields.json')));
    assert.equal(e.field, 'bootloader.eraseComand');
    assert.match(e.message, /did you mean "eraseCommand"\?/);
    const typo = knownFields({ id: 'x', flash: { sectros: [] }, regions: [{ adress: '0x0' }] }, '/tmp/x.json');
    assert.deepEqual(
      typo.map((p) => [p.field, p.rule]),
      [
        ['flash.sectros', 'known-fields'],
        ['regions[0].adress', 'known-fields'],
      ],
    );
    assert.match(typo[0].explanation, /did you mean "sectors"/);
    assert.match(typo[1].explanation, /did you mean "address"/);
    const far = knownFields({ uniqueId: { whatever: 1 } }, '/tmp/x.json');
    assert.match(far[0].explanation, /known fields here: address, bytes/);
    assert.equal(closest('ProductIDs', ['productIds', 'name']), 'productIds');
  });

  test('problems are blamed on the file that holds the field', () => {
    const e = catchBoardError(() => loadBoard(path.join(BROKEN, 'timings-positive.json')));
    assert.equal(path.basename(e.file), 'timings-positive.json');
    assert.equal(e.field, 'timing.massErase');
  });

  test('malformed JSON names line and column', () => {
    const e = catchBoardError(() => loadBoard(path.join(BROKEN, 'json-syntax.json')));
    assert.match(e.message, /json-syntax: not valid JSON at line 5, column 1/);
  });

  test('unknown id lists the known boards; missing file is file-readable; a family is not a board', () => {
    const unknown = catchBoardError(() => loadBoard('stm32f999'));
    assert.equal(unknown.rule, 'unknown-board');
    assert.match(unknown.message, /known boards: acme-t400, stm32f103xb, stm32f103xe, stm32f205, stm32f407, stm32f429, stm32l476$/);
    const missing = catchBoardError(() => loadBoard(path.join(FIXTURES, 'no-such-board.json')));
    assert.equal(missing.rule, 'file-readable');
    assert.match(missing.message, /no-such-board\.json: \(file\): file-readable: /);
    assert.equal(catchBoardError(() => loadBoard('stm32f4')).rule, 'not-a-board');
  });

  test('all problems are listed, the first line summarises', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'poswipe-boards-'));
    try {
      const file = path.join(dir, 'two-problems.json');
      fs.writeFileSync(
        file,
        JSON.stringify({ id: 'two-problems', inherits: 'stm32f407', name: 'x', flash: { bass: '0x0' }, ram: { size: 5 }, productIds: [1043] }),
      );
      const e = catchBoardError(() => loadBoard(file));
      assert.deepEqual(e.rules, ['known-fields', 'field-types']);
      assert.equal(e.problems.length, 2);
      const lines = e.message.split('\n');
      assert.match(lines[0], /two-problems\.json: flash\.bass: known-fields: .*\(and 1 more problem\)$/);
      assert.equal(lines.length, 3);
      assert.match(lines[2], /productIds\[0\]: field-types: expected a product ID as a hex string/);
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });

  test('runs-tile-flash also checks banks', () => {
    const b = structuredClone(loadBoard('stm32f429'));
    b.flash.banks = [
      { address: 0x08000000, size: 0x102000 },
      { address: 0x08102000, size: 0xfe000 },
    ];
    const problems = runsTileFlash(b, () => b.source);
    assert.equal(problems.length, 1);
    assert.match(problems[0].explanation, /bank 2 starts at 0x08102000, inside a sector/);
    b.flash.banks = [{ address: 0x08000000, size: 0x100000 }];
    assert.match(runsTileFlash(b, () => b.source)[0].explanation, /banks end at 0x08100000 but the flash ends at 0x08200000/);
  });

  test('agent-fits-ram and link-pins explain themselves', () => {
    const b = structuredClone(loadBoard('stm32l476'));
    assert.deepEqual(
      agentFitsRam(b, () => b.source),
      [],
    );
    b.ram.size = 0x8000;
    assert.match(agentFitsRam(b, () => b.source)[0].explanation, /agent l4 uses RAM up to 0x[0-9A-F]{8}, past the end of this board's RAM \(0x20008000\)/);
    const c = structuredClone(loadBoard('stm32f407'));
    c.link!.rx = c.link!.tx;
    assert.match(linkPins(c, () => c.source)[0].explanation, /TX and RX are both pin 9/);
  });

  test('parseField throws a field-types BoardError naming file and field', () => {
    assert.equal(parseField('address', '0x08004000', 'x.json', 'regions[0].address'), 0x08004000);
    assert.equal(parseField('size', 16384, 'x.json', 'flash.size'), 0x4000);
    assert.equal(parseField('size', '0x4000', 'x.json', 'flash.size'), 0x4000);
    const e = catchBoardError(() => parseField('address', 134217728, 'x.json', 'flash.base'));
    assert.equal(e.rule, 'field-types');
    assert.equal(e.field, 'flash.base');
    assert.match(e.message, /^x\.json: flash\.base: field-types: expected an address as a hex string/);
    assert.throws(() => parseField('address', '0x100000000', 'x.json', 'a'), BoardError);
    assert.throws(() => parseField('byte', 256, 'x.json', 'a'), BoardError);
  });

  test('loadAllBoards keeps going past a broken board', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'poswipe-boards-'));
    try {
      fs.copyFileSync(path.join(ROOT, 'boards', 'stm32l476.json'), path.join(dir, 'stm32l476.json'));
      fs.copyFileSync(path.join(BROKEN, 'agent-fits-ram.json'), path.join(dir, 'agent-fits-ram.json'));
      const { boards, errors } = loadAllBoards({ boardsDir: dir });
      assert.deepEqual(
        boards.map((b) => b.id),
        ['stm32l476'],
      );
      assert.deepEqual(
        errors.map((e) => e.rule),
        ['inherits-unknown'],
      );
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });

  test('listBoards and loadBoard honour another boards directory', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'poswipe-boards-'));
    try {
      fs.copyFileSync(path.join(ROOT, 'boards', 'stm32l476.json'), path.join(dir, 'stm32l476.json'));
      assert.deepEqual(
        listBoards({ boardsDir: dir }).map((b) => b.id),
        ['stm32l476'],
      );
      assert.deepEqual(
        boardForProductId(0x415, { boardsDir: dir }).map((b) => b.id),
        ['stm32l476'],
      );
      assert.equal(catchBoardError(() => loadBoard('stm32f407', { boardsDir: dir })).rule, 'unknown-board');
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });
});

describe('product IDs', () => {
  test('boardForProductId', () => {
    assert.deepEqual(
      boardForProductId(0x413).map((b) => b.id),
      ['acme-t400', 'stm32f407'],
    );
    assert.deepEqual(
      boardForProductId(0x419).map((b) => b.id),
      ['stm32f429'],
    );
    assert.deepEqual(boardForProductId(0x999), []);
  });
});

describe('reset sequences', () => {
  test('accepts the documented tokens', () => {
    assert.deepEqual(parseResetSequence('rts,dtr,wait:100,-rts,wait:50,-dtr'), [
      { kind: 'line', line: 'rts', asserted: true },
      { kind: 'line', line: 'dtr', asserted: true },
      { kind: 'wait', ms: 100 },
      { kind: 'line', line: 'rts', asserted: false },
      { kind: 'wait', ms: 50 },
      { kind: 'line', line: 'dtr', asserted: false },
    ]);
    assert.deepEqual(parseResetSequence('  DTR  -Rts, wait:1 '), [
      { kind: 'line', line: 'dtr', asserted: true },
      { kind: 'line', line: 'rts', asserted: false },
      { kind: 'wait', ms: 1 },
    ]);
    assert.equal(formatResetSequence(parseResetSequence('rts dtr  wait:100 -rts')), 'rts,dtr,wait:100,-rts');
  });

  test('rejects with the token named', () => {
    const cases: [string, RegExp][] = [
      ['', /empty sequence/],
      [' , ', /empty sequence/],
      ['rts,dtx', /token 2: "dtx": unknown token; expected dtr, -dtr, rts, -rts or wait:<ms>/],
      ['wait:abc', /token 1: "wait:abc": a wait is written wait:<ms>/],
      ['wait 100', /token 1: "wait": a wait is written wait:<ms>/],
      ['dtr,wait:0', /token 2: "wait:0": wait must be 1\.\.60000 ms/],
      ['wait:60001', /wait must be 1\.\.60000 ms/],
      ['+dtr', /unknown token/],
    ];
    for (const [text, re] of cases) {
      assert.throws(
        () => parseResetSequence(text),
        (e: unknown) => e instanceof ResetSequenceError && re.test(e.message),
        text,
      );
    }
  });

  test('every reset sequence of the shipped boards parses', () => {
    for (const b of listBoards()) {
      if (b.reset === null) continue;
      assert.ok(parseResetSequence(b.reset.enter).length > 0);
      assert.ok(parseResetSequence(b.reset.exit).length > 0);
    }
  });
});

describe('formatting', () => {
  test('boardToJson writes addresses as hex strings and round-trips', () => {
    for (const b of listBoards()) {
      const json = boardToJson(b);
      const text = JSON.stringify(json);
      const back = boardFromJson(JSON.parse(text) as Record<string, unknown>);
      assert.deepEqual(back, b, b.id);
    }
    const j = boardToJson(loadBoard('acme-t400')) as any;
    assert.equal(j.id, 'acme-t400');
    assert.deepEqual(j.productIds, ['0x0413']);
    assert.equal(j.flash.base, '0x08000000');
    assert.equal(j.flash.size, '0x100000');
    assert.deepEqual(j.flash.sectors[0], { count: 4, size: '0x4000' });
    assert.equal(j.flash.sizeRegister, '0x1FFF7A22');
    assert.equal(j.flash.erasedValue, '0xFF');
    assert.equal(j.ram.freeFrom, '0x20003000');
    assert.deepEqual(j.agent, { binary: 'f4', load: '0x20003000' });
    assert.equal(j.link.usartClock.mask, '0x10');
    assert.equal(j.core, 'cortex-m4');
    assert.equal(j.regions[1].address, '0x08004000');
    assert.equal(j.bootloader.eraseCommand, '0x44');
    assert.deepEqual(j.inherits, ['stm32f2', 'stm32f4', 'stm32f407']);
    assert.equal(j.timing.program.typicalUs, 16);
    assert.equal((boardToJson(loadBoard('stm32f103xb')) as any).agent, null);
  });

  test('describeBoard and the summary line', () => {
    const f1 = describeBoard(loadBoard('stm32f103xb'));
    assert.match(f1, /no agent \(bootloader-only path\)/);
    assert.match(f1, /128 × 1 KiB \(128 pages\)/);
    const acme = describeBoard(loadBoard('acme-t400'));
    assert.match(acme, /^acme-t400: ACME T400/);
    assert.match(acme, /keys\s+keys\s+0x08004000\s+16 KiB\s+1/);
    assert.match(acme, /transactions\s+data\s+0x08010000\s+64 KiB\s+4/);
    assert.match(acme, /4 × 16 KiB \+ 1 × 64 KiB \+ 7 × 128 KiB \(12 sectors\)/);
    const f429 = describeBoard(loadBoard('stm32f429'));
    assert.match(f429, /bank 2: 0x08100000-0x081FFFFF \(1 MiB\), units 12-23/);
    const l476 = describeBoard(loadBoard('stm32l476'));
    assert.match(l476, /core:\s+cortex-m4, flash interface stm32l4/);
    assert.match(l476, /agent:\s+kind l4, written and started at 0x20003100/);
    assert.match(l476, /link:\s+USART at 0x40013800 \(clock: 0x40021060 \|= 0x4000\), 8E1/);
    assert.match(l476, /TX pin 9, RX pin 10, AF7/);
    assert.match(l476, /core clock at Go 4 MHz/);
    assert.match(f1, /link:\s+none/);
    const line = boardSummaryLine(loadBoard('stm32l476'));
    assert.match(line, /^stm32l476\s+0x0415\s+1 MiB 512 pages, 2 banks\s+agent l4/);
    assert.ok(!line.includes('\n'));
  });
});
