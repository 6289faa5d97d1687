import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { DeviceError, InputError, SafetyError } from '../host/errors';
import { parseFaults } from '../host/emulator/faults';
import { BootloaderClient } from '../host/protocol/client';
import { eraseTerminal } from '../host/session/erase';
import { identify } from '../host/session/identify';
import { playSequence, resetPlan } from '../host/session/reset';
import type { Transport } from '../host/transport/types';
import type { EmulatedTerminal } from '../host/emulator/terminal';
import { backupRegionsOf, openBackup, takeBackup } from '../host/records/backup';
import { checkBackupFitsBoard, restoreRegions } from '../host/records/restore';
import type { BackupSecret } from '../host/records/backup-age';
import { newAgeIdentity, identityFileText } from '../host/records/age-keys';
import { encodeContainer } from '../host/records/backup-container';
import { emulated, engineModule, toolSkip } from './helpers';

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
  assert.deepEqual(
    data.map((r) => r.name),
    ['config', 'transactions'],
  );
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

  const opened = await openBackup(path, keysFor());
  const again = await connect(transport, board);
  const r = await restoreRegions(again.client, board, again.identity, opened, { file: path });
  assert.ok(r.regions.every((x) => x.verified));
  for (let i = 0; i < data.length; i++) assert.ok(regionBytes(terminal, data[i]).equals(before[i]), `${data[i].name} restored byte for byte`);
  const keys = board.regions.find((x) => x.kind === 'keys')!;
  assert.ok(
    regionBytes(terminal, keys).every((v) => v === 0xff),
    'the key store stays erased',
  );
});

test('the decrypted backup holds no byte run of the key store; the file holds no cleartext, not even a region digest or name', async () => {
  const { board, terminal, transport } = emulated('acme-t400');
  const keys = board.regions.find((x) => x.kind === 'keys')!;
  const keyBytes = regionBytes(terminal, keys);
  assert.ok(keyBytes.includes('KEYSTORE'), 'the emulated key store is populated');
  const path = join(tmp(), 'k.pwbk');
  const { client, identity } = await connect(transport, board);
  const b = await takeBackup(client, board, identity, { path, secret: PASS, tool: 'test' });
  const opened = await openBackup(path, keysFor());
  const plain = Buffer.concat(opened.data);
  assert.equal(plain.indexOf('KEYSTORE'), -1);
  for (let off = 0; off + 32 <= 2048; off += 97) assert.equal(plain.indexOf(keyBytes.subarray(off, off + 32)), -1, `key bytes at +${off}`);
  const file = readFileSync(path);
  assert.ok(file.subarray(0, 22).equals(Buffer.from('age-encryption.org/v1\n')), 'an age file');
  assert.equal(file.indexOf('TXN '), -1, 'transaction records are encrypted');
  assert.ok(plain.includes('TXN '), 'and present once decrypted');
  for (const r of b.regions) {
    assert.equal(file.indexOf(r.sha256), -1, `the digest of ${r.name} is not in the clear`);
    assert.equal(file.indexOf(Buffer.from(r.sha256, 'hex')), -1, `nor in binary`);
    assert.equal(file.indexOf(r.name), -1, `the region name ${r.name} is not in the clear`);
  }
  assert.equal(file.indexOf(identity.uid!), -1, 'the unique ID is not in the clear');
  assert.deepEqual(
    opened.header.regions.map((r) => r.name),
    ['config', 'transactions'],
  );
  assert.equal(opened.encryption, 'age scrypt passphrase (2^15)');
});

test('age recipient: decrypts with its identity only; the message names the identity that did not fit', async () => {
  const { board, transport } = emulated('acme-t400');
  const right = newAgeIdentity();
  const other = newAgeIdentity();
  const path = join(tmp(), 'x.pwbk');
  const { client, identity } = await connect(transport, board);
  const b = await takeBackup(client, board, identity, { path, secret: { kind: 'recipients', recipients: [right.recipient], source: 'test' }, tool: 'test' });
  assert.equal(b.encryption, 'age X25519 (1 recipient)');
  assert.equal((await openBackup(path, { identities: () => ({ identities: [right.identity], source: 'right' }) })).data.length, 2);
  await assert.rejects(
    openBackup(path, { identities: () => ({ identities: [other.identity], source: 'wrong.txt' }) }),
    (e: Error) => e instanceof InputError && /the age identity wrong\.txt does not open this backup/.test(e.message),
  );
  await assert.rejects(openBackup(path, keysFor()), (e: Error) => e instanceof InputError && /--key/.test(e.message));
});

/** Reads the container as docs/backup-format.md describes it, with no poswipe code. */
function readContainerAsDocumented(plain: Buffer): {
  manifest: { board: string; uid: string; regions: { name: string; address: string; size: number; offset: number; sha256: string }[] };
  region: (i: number) => Buffer;
} {
  assert.ok(plain.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x57, 0x42, 0x43, 0x0d, 0x0a, 0x1a])), 'container magic');
  const m = plain.readUInt32LE(8);
  const manifest = JSON.parse(plain.subarray(12, 12 + m).toString('utf8'));
  const r = manifest.regions;
  return { manifest, region: (i) => plain.subarray(12 + m + r[i].offset, 12 + m + r[i].offset + r[i].size) };
}

const AGE = '/usr/bin/age';
const noAge = toolSkip(existsSync(AGE) ? false : `Debian's age is not installed (${AGE}): apt-get install age`);

test("Debian's age -d -i <identity> decrypts a poswipe backup of an ACME T400: the regions come back byte for byte", { skip: noAge }, async () => {
  const { board, terminal, transport } = emulated('acme-t400', { seed: 5 });
  const dir = tmp();
  const key = newAgeIdentity();
  writeFileSync(join(dir, 'id.txt'), identityFileText(key.identity, key.recipient), { mode: 0o600 });
  const path = join(dir, 'a.pwbk');
  const { client, identity } = await connect(transport, board);
  await takeBackup(client, board, identity, { path, secret: { kind: 'recipients', recipients: [key.recipient], source: 'test' }, tool: 'test' });
  const r = spawnSync(AGE, ['-d', '-i', join(dir, 'id.txt'), path], { maxBuffer: 1 << 24 });
  assert.equal(r.status, 0, r.stderr?.toString());
  const c = readContainerAsDocumented(r.stdout);
  assert.equal(c.manifest.board, 'acme-t400');
  assert.equal(c.manifest.uid, identity.uid);
  const data = backupRegionsOf(board);
  assert.deepEqual(
    c.manifest.regions.map((x) => x.name),
    data.map((x) => x.name),
  );
  data.forEach((reg, i) => {
    assert.equal(c.manifest.regions[i].address, `0x${reg.address.toString(16).padStart(8, '0')}`);
    assert.ok(c.region(i).equals(regionBytes(terminal, reg)), `${reg.name} byte for byte`);
    assert.equal(createHash('sha256').update(c.region(i)).digest('hex'), c.manifest.regions[i].sha256, `${reg.name} digest`);
  });
  // and the other way: a container that Debian's age encrypted opens in poswipe
  const container = encodeContainer(
    { board: 'acme-t400', pid: '0x0413', uid: identity.uid!, created: new Date(0).toISOString(), tool: 'test' },
    data,
    data.map((reg) => regionBytes(terminal, reg)),
  );
  writeFileSync(join(dir, 'plain.bin'), container.bytes);
  const e = spawnSync(AGE, ['-e', '-r', key.recipient, '-o', join(dir, 'by-age.pwbk'), join(dir, 'plain.bin')]);
  assert.equal(e.status, 0, e.stderr?.toString());
  const back = await openBackup(join(dir, 'by-age.pwbk'), { identities: () => ({ identities: [key.identity], source: 'id.txt' }) });
  data.forEach((reg, i) => assert.ok(back.data[i].equals(regionBytes(terminal, reg))));
});

test('the reader rejects truncated, padded, foreign, old-format and tampered files naming the problem; a wrong passphrase says so', async () => {
  const { board, transport } = emulated('acme-t400');
  const dir = tmp();
  const path = join(dir, 'ok.pwbk');
  const { client, identity } = await connect(transport, board);
  await takeBackup(client, board, identity, { path, secret: PASS, tool: 'test' });
  const good = readFileSync(path);
  const attempt = async (bytes: Uint8Array, passphrase = PASS.passphrase): Promise<Error> => {
    const f = join(dir, `case-${Math.random().toString(36).slice(2)}.pwbk`);
    writeFileSync(f, bytes);
    try {
      await openBackup(f, keysFor(passphrase));
    } catch (e) {
      assert.ok(e instanceof InputError, `${(e as Error).name}: ${(e as Error).message}`);
      assert.ok(!(e as Error).message.includes('\n'), 'one line');
      return e;
    }
    assert.fail('accepted a bad backup');
  };
  for (const n of [0, 5, 21]) assert.match((await attempt(good.subarray(0, n))).message, /truncated|not a poswipe backup/, `cut at ${n}`);
  for (const n of [100, good.length - 1, good.length - 17, Math.floor(good.length / 2)])
    assert.match((await attempt(good.subarray(0, n))).message, /truncated backup/, `cut at ${n}`);
  assert.match((await attempt(Buffer.concat([good, Buffer.from('x')]))).message, /corrupted/);
  assert.match((await attempt(Buffer.from('PK\u0003\u0004 not a backup at all'))).message, /not a poswipe backup \(not an age file/);
  assert.match((await attempt(good, 'wrong passphrase')).message, /wrong passphrase or corrupted backup/);
  const body = Buffer.from(good);
  body[good.length - 100] ^= 1;
  assert.match((await attempt(body)).message, /corrupted data: the age payload does not authenticate/);
  const hdr = Buffer.from(good);
  hdr[40] ^= 1; // inside the scrypt stanza: the header MAC no longer matches
  assert.match((await attempt(hdr)).message, /wrong passphrase or corrupted backup|corrupted backup: the age header/);
  const old = Buffer.concat([Buffer.from([0x89, 0x50, 0x57, 0x42, 0x4b, 0x0d, 0x0a, 0x1a]), Buffer.alloc(64)]);
  assert.match((await attempt(old)).message, /a poswipe backup in the old format \(version 1, AES-256-GCM\): this poswipe reads only age backups/);
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
  const opened = await openBackup(path, keysFor());
  data.forEach((r, i) => assert.ok(opened.data[i].equals(regionBytes(terminal, r)), r.name));
});

test('restore checks board and terminal: another board is bad input, another unique ID needs force', async () => {
  const a = emulated('acme-t400', { seed: 1 });
  const path = join(tmp(), 'a.pwbk');
  const ca = await connect(a.transport, a.board);
  await takeBackup(ca.client, a.board, ca.identity, { path, secret: PASS, tool: 'test' });
  const opened = await openBackup(path, keysFor());
  const f407 = emulated('stm32f407');
  assert.throws(
    () => checkBackupFitsBoard(opened.header, f407.board, path),
    (e: Error) => e instanceof InputError && /backup of board acme-t400, not stm32f407/.test(e.message),
  );

  const b = emulated('acme-t400', { seed: 2 });
  const before = Buffer.from(b.terminal.flash.bytes);
  const cb = await connect(b.transport, b.board);
  await assert.rejects(
    restoreRegions(cb.client, b.board, cb.identity, opened, { file: path }),
    (e: Error) => e instanceof SafetyError && /--force/.test(e.message) && e.message.includes(ca.identity.uid!),
  );
  assert.ok(before.equals(Buffer.from(b.terminal.flash.bytes)), 'nothing written without --force');
  const r = await restoreRegions(cb.client, b.board, cb.identity, opened, { file: path, force: true });
  assert.equal(r.forced, true);
  backupRegionsOf(b.board).forEach((reg, i) => assert.ok(regionBytes(b.terminal, reg).equals(opened.data[i])));
});
