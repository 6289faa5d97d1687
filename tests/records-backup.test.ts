import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { DeviceError, InputError, SafetyError } from '../host/errors';
import { parseFaults } from '../host/emulator/faults';
import { BootloaderClient } from '../host/protocol/client';
import { eraseTerminal } from '../host/session/erase';
import { identify } from '../host/session/identify';
import { playSequence, resetPlan } from '../host/session/reset';
import type { Transport } from '../host/transport/types';
import type { EmulatedTerminal } from '../host/emulator/terminal';
import { backupRegionsOf, openBackup, takeBackup } from '../host/records/backup';
import { parseBackup } from '../host/records/backup-format';
import { checkBackupFitsBoard, restoreRegions } from '../host/records/restore';
import type { BackupSecret } from '../host/records/backup-crypto';
import { emulated, engineModule } from './helpers';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'poswipe-backup-'));
const PASS: BackupSecret = { kind: 'passphrase', passphrase: 'correct horse battery staple', source: 'test' };
const keysFor = (passphrase = PASS.passphrase) => ({ passphrase: () => passphrase });

function regionBytes(t: EmulatedTerminal, r: { address: number; size: number }): Buffer {
  const off = r.address - t.flash.base;
  return Buffer.from(t.flash.bytes.subarray(off, off + r.size));
}

/** Into the bootloader with the board's reset sequence (acme-t400 has one), then identify. */
async function connect(transport: Transport, board: Parameters<typeof identify>[1]) {
  const reset = resetPlan(board);
  await playSequence(transport, reset.enter);
  const client = new BootloaderClient(transport);
  const identity = await identify(client, board);
  return { client, identity };
}

test('backup, erase, restore: the data regions come back byte-identical; keys do not', async () => {
  const { board, terminal, transport } = emulated('acme-t400');
  const data = backupRegionsOf(board);
  assert.deepEqual(data.map((r) => r.name), ['config', 'transactions']);
  const before = data.map((r) => regionBytes(terminal, r));
  const dir = tmp();
  const path = join(dir, 'acme.pwbk');
  const { client, identity } = await connect(transport, board);
  const b = await takeBackup(client, board, identity, { path, secret: PASS, tool: 'test' });
  assert.equal(b.dataBytes, 80 * 1024);
  assert.equal(readdirSync(dir).length, 1, 'only the backup itself: no temporary file left');

  const o = await eraseTerminal(transport, { board, method: 'clear', verify: 'full', module: engineModule() });
  assert.equal(o.verified, true, o.reason ?? '');
  for (let i = 0; i < data.length; i++) assert.ok(!regionBytes(terminal, data[i]).equals(before[i]), `${data[i].name} erased`);

  const opened = openBackup(path, keysFor());
  const again = await connect(transport, board);
  const r = await restoreRegions(again.client, board, again.identity, opened, { file: path });
  assert.ok(r.regions.every((x) => x.verified));
  for (let i = 0; i < data.length; i++) assert.ok(regionBytes(terminal, data[i]).equals(before[i]), `${data[i].name} restored byte for byte`);
  const keys = board.regions.find((x) => x.kind === 'keys')!;
  assert.ok(regionBytes(terminal, keys).every((v) => v === 0xff), 'the key store stays erased');
});

test('the decrypted backup holds no byte run of the key store, and the file no cleartext', async () => {
  const { board, terminal, transport } = emulated('acme-t400');
  const keys = board.regions.find((x) => x.kind === 'keys')!;
  const keyBytes = regionBytes(terminal, keys);
  assert.ok(keyBytes.includes('KEYSTORE'), 'the emulated key store is populated');
  const path = join(tmp(), 'k.pwbk');
  const { client, identity } = await connect(transport, board);
  await takeBackup(client, board, identity, { path, secret: PASS, tool: 'test' });
  const plain = Buffer.concat(openBackup(path, keysFor()).data);
  assert.equal(plain.indexOf('KEYSTORE'), -1);
  for (let off = 0; off + 32 <= 2048; off += 97) assert.equal(plain.indexOf(keyBytes.subarray(off, off + 32)), -1, `key bytes at +${off}`);
  const file = readFileSync(path);
  assert.equal(file.indexOf('TXN '), -1, 'transaction records are encrypted');
  assert.ok(plain.includes('TXN '), 'and present once decrypted');
  assert.deepEqual(parseBackup(file).header.regions.map((r) => r.name), ['config', 'transactions']);
});

test('X25519 recipient: decrypts with the private key only', async () => {
  const { board, transport } = emulated('acme-t400');
  const pair = generateKeyPairSync('x25519');
  const other = generateKeyPairSync('x25519');
  const path = join(tmp(), 'x.pwbk');
  const { client, identity } = await connect(transport, board);
  await takeBackup(client, board, identity, { path, secret: { kind: 'recipient', publicKey: pair.publicKey, source: 'test' }, tool: 'test' });
  assert.equal(openBackup(path, { x25519: () => ({ privateKey: pair.privateKey, source: 'right' }) }).data.length, 2);
  assert.throws(() => openBackup(path, { x25519: () => ({ privateKey: other.privateKey, source: 'wrong.pem' }) }), (e: Error) => e instanceof InputError && /encrypted to the X25519 key sha256:[0-9a-f]{64}, but wrong\.pem/.test(e.message));
  assert.throws(() => openBackup(path, keysFor()), (e: Error) => e instanceof InputError && /--key/.test(e.message));
});

test('the reader rejects truncated, padded, foreign and tampered files naming the problem; a wrong passphrase says so', async () => {
  const { board, transport } = emulated('acme-t400');
  const dir = tmp();
  const path = join(dir, 'ok.pwbk');
  const { client, identity } = await connect(transport, board);
  await takeBackup(client, board, identity, { path, secret: PASS, tool: 'test' });
  const good = readFileSync(path);
  const attempt = (bytes: Uint8Array, passphrase = PASS.passphrase): Error => {
    const f = join(dir, `case-${Math.random().toString(36).slice(2)}.pwbk`);
    writeFileSync(f, bytes);
    try {
      openBackup(f, keysFor(passphrase));
    } catch (e) {
      assert.ok(e instanceof InputError, `${(e as Error).name}: ${(e as Error).message}`);
      return e;
    }
    assert.fail('accepted a bad backup');
  };
  for (const n of [0, 5, 11, 100, good.length - 1, good.length - 17, Math.floor(good.length / 2)]) assert.match(attempt(good.subarray(0, n)).message, /truncated/, `cut at ${n}`);
  assert.match(attempt(Buffer.concat([good, Buffer.from('x')])).message, /unexpected byte\(s\) after the tag/);
  assert.match(attempt(Buffer.from('PK\u0003\u0004 not a backup at all')).message, /not a poswipe backup/);
  assert.match(attempt(good, 'wrong passphrase').message, /wrong passphrase or corrupted backup/);
  const body = Buffer.from(good);
  body[good.length - 100] ^= 1;
  assert.match(attempt(body).message, /wrong passphrase or corrupted backup/);
  const hdr = Buffer.from(good);
  const at = hdr.indexOf('"created"') + 20; // a digit of the date: still JSON, but no longer what was authenticated
  hdr[at] = hdr[at] === 0x31 ? 0x32 : 0x31;
  assert.match(attempt(hdr).message, /wrong passphrase or corrupted backup|malformed/);
  const ver = Buffer.from(good.toString('latin1').replace('"version": 1', '"version": 7'), 'latin1');
  assert.match(attempt(ver).message, /version 7/);
});

/** A transport whose link dies for good once `limit` bytes have come in. */
function dyingTransport(inner: Transport, limit: number): Transport {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'read') {
        return async (n: number, timeoutMs: number) => {
          if (target.stats().bytesRx > limit) throw new DeviceError('link lost (test)');
          return target.read(n, timeoutMs);
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

test('the link dies in the middle of the backup: erase refused, no file at the backup path, flash untouched', async () => {
  const { board, terminal, transport } = emulated('acme-t400');
  const before = Buffer.from(terminal.flash.bytes);
  const dir = tmp();
  const path = join(dir, 'never.pwbk');
  const link = dyingTransport(transport, 60 * 1024);
  await assert.rejects(
    eraseTerminal(link, {
      board,
      method: 'clear',
      verify: 'full',
      module: engineModule(),
      beforeErase: async ({ client, identity }) => {
        try {
          await takeBackup(client, board, identity, { path, secret: PASS, tool: 'test' });
        } catch (e) {
          throw new SafetyError(`backup failed, nothing was erased: ${(e as Error).message}`);
        }
      },
    }),
    (e: Error) => e instanceof SafetyError && /link lost/.test(e.message),
  );
  assert.equal(existsSync(path), false);
  assert.deepEqual(readdirSync(dir), []);
  assert.ok(before.equals(Buffer.from(terminal.flash.bytes)), 'flash untouched');
});

test('a crash after the temporary file is written (before the rename) leaves nothing at the backup path', async () => {
  const { board, transport } = emulated('acme-t400');
  const dir = tmp();
  const path = join(dir, 'crash.pwbk');
  const { client, identity } = await connect(transport, board);
  let tmpSeen = '';
  await assert.rejects(
    takeBackup(client, board, identity, {
      path,
      secret: PASS,
      tool: 'test',
      hooks: {
        afterTempWritten: (p) => {
          tmpSeen = p;
          throw new Error('simulated crash');
        },
      },
    }),
    /simulated crash/,
  );
  assert.ok(tmpSeen.startsWith(join(dir, '.crash.pwbk.partial-')));
  assert.equal(existsSync(path), false);
  assert.deepEqual(readdirSync(dir), []);
});

test('a noisy line (flipped and dropped bytes) still gives an exact backup', async () => {
  const { board, terminal, transport } = emulated('acme-t400', { faults: parseFaults(['flip=0.0002', 'drop=0.0001']), seed: 7 });
  const data = backupRegionsOf(board);
  const path = join(tmp(), 'noisy.pwbk');
  const { client, identity } = await connect(transport, board);
  await takeBackup(client, board, identity, { path, secret: PASS, tool: 'test' });
  const opened = openBackup(path, keysFor());
  data.forEach((r, i) => assert.ok(opened.data[i].equals(regionBytes(terminal, r)), r.name));
});

test('restore checks board and terminal: another board is bad input, another unique ID needs force', async () => {
  const a = emulated('acme-t400', { seed: 1 });
  const path = join(tmp(), 'a.pwbk');
  const ca = await connect(a.transport, a.board);
  await takeBackup(ca.client, a.board, ca.identity, { path, secret: PASS, tool: 'test' });
  const opened = openBackup(path, keysFor());
  const f407 = emulated('stm32f407');
  assert.throws(() => checkBackupFitsBoard(opened.header, f407.board, path), (e: Error) => e instanceof InputError && /backup of board acme-t400, not stm32f407/.test(e.message));

  const b = emulated('acme-t400', { seed: 2 });
  const before = Buffer.from(b.terminal.flash.bytes);
  const cb = await connect(b.transport, b.board);
  await assert.rejects(restoreRegions(cb.client, b.board, cb.identity, opened, { file: path }), (e: Error) => e instanceof SafetyError && /--force/.test(e.message) && e.message.includes(ca.identity.uid!));
  assert.ok(before.equals(Buffer.from(b.terminal.flash.bytes)), 'nothing written without --force');
  const r = await restoreRegions(cb.client, b.board, cb.identity, opened, { file: path, force: true });
  assert.equal(r.forced, true);
  backupRegionsOf(b.board).forEach((reg, i) => assert.ok(regionBytes(b.terminal, reg).equals(opened.data[i])));
});
