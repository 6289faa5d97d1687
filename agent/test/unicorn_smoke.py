#!/usr/bin/env python3
"""Runs an agent binary on agent/test/unicorn_part.c (a minimal Unicorn part with simulated
flash, USART and RCC models; a test tool, not host/emulator/cpu) and speaks the link to it:
HELLO, a hash JOB over 256 KiB whose digests must equal hashlib's, an erase + program + hash
JOB whose flash and digests are checked, a HAL failure (not a sector start), READ, CLOCK up and
down (F4), RESET.

usage: agent/test/unicorn_smoke.py f2|f4|f429|l4 [--count] [binary]   (after npm run build:agent)
  --count: only hash the whole 1 MiB (256 blocks of 4 KiB) and report the instructions the
           agent executed between ACCEPT and DONE (a UC_HOOK_CODE counter)
"""
import hashlib
import os
import random
import struct
import subprocess
import sys
import tempfile
import zlib

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
PART = sys.argv[1] if len(sys.argv) > 1 else 'f4'
KIND = 'f4' if PART == 'f429' else PART  # f429: the f4 agent on a 2 MiB dual-bank part
COUNT = '--count' in sys.argv
_rest = [a for a in sys.argv[2:] if a != '--count']
BIN = _rest[0] if _rest else os.path.join(ROOT, 'build', 'agent', KIND + '.bin')
BASE = 0x08000000
FLASH = 0x200000 if PART == 'f429' else 0x100000

if KIND == 'l4':
    PARAMS = (115200, 4000000, 0x40013800, 0x40021060, 1 << 14, 0x48000000, 0x4002104C, 1 << 0)
    ERASE = (BASE + 0x1800, 0x800)          # page 3
    BAD_ERASE = (BASE + 0x1900, 0x800)
    FAST = 80000000
else:
    PARAMS = (115200, 16000000, 0x40011000, 0x40023844, 1 << 4, 0x40020000, 0x40023830, 1 << 0)
    ERASE = (BASE + 0x4000, 0x4000)         # sector 1
    BAD_ERASE = (BASE + 0x4100, 0x4000)
    FAST = 168000000 if KIND == 'f4' else 120000000


def params_block():
    body = struct.pack('<10I', 0x42505750, 2, *PARAMS) + bytes([9, 10, 7, 0]) + struct.pack('<I', 0)
    body += struct.pack('<I', 0)  # flash size: 0 = the part's size register (f429: 2 MiB)
    return body + struct.pack('<I', zlib.crc32(body))


def frame(t, seq, payload=b''):
    body = bytes([t, seq]) + struct.pack('<H', len(payload)) + payload
    return b'\xa5' + body + struct.pack('<I', zlib.crc32(body))


def job(ops, erase=(), hashes=(), program=(), block=4096, nonce=bytes(range(32)), pattern=(0, 0)):
    j = struct.pack('<10I', 0x424A5750, 1, ops, block, 0xFF, pattern[0], pattern[1], len(erase), len(hashes), len(program))
    j += bytes(16) + nonce
    for a, n in list(erase) + list(hashes) + list(program):
        j += struct.pack('<II', a, n)
    return j


class Part:
    def __init__(self, flash_image, env=None):
        self.tmp = tempfile.mkdtemp()
        exe = os.path.join(ROOT, 'build', 'agent', 'test', 'unicorn_part')
        os.makedirs(os.path.dirname(exe), exist_ok=True)
        subprocess.check_call(['cc', '-std=c11', '-O2', '-Wall', os.path.join(ROOT, 'agent', 'test', 'unicorn_part.c'), '-lunicorn', '-o', exe])
        self.flash_path = os.path.join(self.tmp, 'flash.bin')
        open(self.flash_path, 'wb').write(flash_image)
        pp = os.path.join(self.tmp, 'params.bin')
        open(pp, 'wb').write(params_block())
        self.p = subprocess.Popen([exe, PART, BIN, pp, self.flash_path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)

    def send(self, data):
        self.p.stdin.write(data)
        self.p.stdin.flush()

    def read(self, n):
        b = self.p.stdout.read(n)
        if len(b) != n:
            raise EOFError('agent silent: ' + self.p.stderr.read().decode())
        return b

    def frame(self):
        while self.read(1) != b'\xa5':
            raise AssertionError('bytes outside a frame')
        head = self.read(4)
        n = struct.unpack_from('<H', head, 2)[0]
        rest = self.read(n + 4)
        assert struct.unpack_from('<I', rest, n)[0] == zlib.crc32(head + rest[:n]), 'frame CRC'
        return head[0], head[1], rest[:n]

    def request(self, t, seq, payload=b''):
        self.send(frame(t, seq, payload))
        return self.frame()

    def run_job(self, seq, j):
        self.send(frame(0x02, seq, j))
        t, s, p = self.frame()
        assert (t, s, p) == (0x82, seq, struct.pack('<I', len(j))), ('ACCEPT', hex(t), p)
        progress = []
        while True:
            t, s, p = self.frame()
            assert s == seq
            if t == 0x83:
                progress.append((p[0], struct.unpack_from('<I', p, 4)[0]))
                continue
            assert t == 0x84, ('DONE', hex(t), p)
            status, rlen, blocks = struct.unpack('<III', p)
            break
        result = b''
        while len(result) < rlen:
            t, s, p = self.frame()
            assert (t, s) == (0x85, seq) and struct.unpack_from('<I', p)[0] == len(result)
            result += p[4:]
        return status, blocks, result, progress


def digest(nonce, addr, data):
    return hashlib.sha256(nonce + struct.pack('<I', addr) + data).digest()


def check_digests(result, nonce, addr, data, block):
    n = struct.unpack_from('<I', result, 12)[0]
    off = 40 + 4 * ((n + 31) // 32)
    for i in range(n):
        want = digest(nonce, addr + i * block, data[i * block:(i + 1) * block])
        assert result[off + 32 * i:off + 32 * i + 32] == want, 'digest of block %d' % i
    return n


def count():
    rng = random.Random(7)
    image = bytes(rng.getrandbits(8) for _ in range(FLASH))
    log = os.path.join(tempfile.mkdtemp(), 'count.log')
    part = Part(image, dict(os.environ, UNICORN_PART_COUNT=log))
    part.frame()
    nonce = bytes(32)
    j = job(4, hashes=[(BASE, FLASH)], nonce=nonce)
    status, blocks, result, progress = part.run_job(1, j)
    assert status == 0 and blocks == 256
    check_digests(result, nonce, BASE, image, 4096)
    part.p.stdin.close()
    part.p.wait()
    marks = [int(line.split()[1]) for line in open(log)]
    # bytes sent: HELLO (81), ACCEPT (13), PROGRESS x4 (17 each), DONE (21), DATA...
    accept_end = marks[81 + 13 - 1]
    done_start = marks[81 + 13 + 4 * 17]
    n = done_start - accept_end
    print('%s: %d instructions from ACCEPT to DONE hashing 1 MiB (%.1f per byte), %s' % (KIND, n, n / FLASH, os.path.basename(BIN)))


def main():
    if COUNT:
        return count()
    rng = random.Random(7)
    image = bytes(rng.getrandbits(8) for _ in range(FLASH))
    part = Part(image)
    binary = open(BIN, 'rb').read()
    t, s, p = part.frame()
    assert (t, s, len(p)) == (0x81, 0, 72)
    assert struct.unpack_from('<I', p, 68)[0] == zlib.crc32(binary), 'image CRC'
    print('%s (%s) HELLO ok: clock %d Hz' % (KIND, PART, struct.unpack_from('<I', p, 12)[0]))

    nonce = bytes(rng.getrandbits(8) for _ in range(32))
    status, blocks, result, progress = part.run_job(1, job(4, hashes=[(BASE, 0x40000)], nonce=nonce))
    assert status == 0 and blocks == 64, (status, blocks)
    assert progress == [(3, 64)], progress
    check_digests(result, nonce, BASE, image, 4096)
    print('hash JOB ok: 64 digests over 256 KiB match hashlib, %d DATA bytes' % len(result))

    e_addr, e_size = ERASE
    prog = (e_addr + 0x100, 0x40)  # inside the erased range (L4 refuses a double word not erased)
    status, blocks, result, progress = part.run_job(2, job(6, erase=[ERASE], hashes=[(e_addr, e_size)], nonce=nonce, block=2048))
    assert status == 0, status
    assert progress == [(2, 0)], progress
    blank = b'\xff' * e_size
    n = check_digests(result, nonce, e_addr, blank, 2048)
    bitmap = struct.unpack_from('<I', result, 40)[0]
    assert bitmap == (1 << n) - 1 and struct.unpack_from('<I', result, 32)[0] == n, 'blank bitmap'
    print('erase + hash JOB ok: %d blank blocks' % n)

    status, blocks, result, progress = part.run_job(3, job(3, program=[prog], hashes=[prog], nonce=nonce, block=64, pattern=(0, 0x5A)))
    assert status == 0, status
    check_digests(result, nonce, prog[0], b'\x5a' * prog[1], 64)
    assert progress == [(1, 0)], progress
    print('program + hash JOB ok: programmed bytes read back')

    status, blocks, result, progress = part.run_job(4, job(2, erase=[BAD_ERASE], nonce=nonce))
    hal, fail = struct.unpack_from('<II', result, 24)
    assert (status, hal, fail) == (6, 1, BAD_ERASE[0]), (status, hal, hex(fail))
    print('erase of a non-sector ok: status 6, HAL status 1 at 0x%08x' % fail)

    if PART == 'f429':
        bank2 = (BASE + 0x100000, 0x4000)  # sector 12 = SNB 0x10
        status, blocks, result, progress = part.run_job(11, job(6, erase=[bank2], hashes=[bank2], nonce=nonce))
        assert status == 0 and blocks == 4, (status, blocks)
        check_digests(result, nonce, bank2[0], b'\xff' * 0x4000, 4096)
        print('bank 2 erase ok: sector 12 at 0x%08x' % bank2[0])

    t, s, p = part.request(0x03, 5, struct.pack('<IH', 0, 40))
    assert (t, s) == (0x85, 5) and p[4:8] == b'PWRS'
    t, s, p = part.request(0x04, 6, struct.pack('<I', FAST))
    assert (t, s, p) == (0x86, 6, struct.pack('<I', FAST)), ('CLOCK up', hex(t), p)
    t, s, p = part.request(0x06, 7)
    assert (t, s, p[0], p[1]) == (0x88, 7, 2, 11 if PART == 'f429' else 4), ('STATUS', p)
    t, s, p = part.request(0x04, 8, struct.pack('<I', 0))
    assert (t, s, p) == (0x86, 8, struct.pack('<I', PARAMS[1])), ('CLOCK down', hex(t), p)
    t, s, p = part.request(0x01, 9)
    assert t == 0x81 and struct.unpack_from('<I', p, 12)[0] == PARAMS[1]
    print('CLOCK %d and back ok' % FAST)
    assert part.request(0x05, 10) == (0x87, 10, b'')
    part.p.stdin.close()
    err = part.p.stderr.read().decode()
    part.p.wait()
    assert 'SYSRESETREQ' in err, err
    flash = open(part.flash_path + '.out', 'rb').read()
    assert flash[e_addr - BASE:e_addr - BASE + 0x100] == b'\xff' * 0x100
    assert flash[prog[0] - BASE:prog[0] - BASE + prog[1]] == b'\x5a' * prog[1]
    assert flash[:e_addr - BASE] == image[:e_addr - BASE]
    if PART == 'f429':
        assert flash[0x100000:0x104000] == b'\xff' * 0x4000 and flash[0x104000:] == image[0x104000:]
    print('RESET ok (%s); flash contents as expected' % ' '.join(err.split()))

    if KIND == 'l4':
        # programming a double word that is not erased: PROGERR (SR bit 3) -> HAL 0x108
        part = Part(image)
        part.frame()
        status, blocks, result, progress = part.run_job(1, job(1, program=[(BASE, 8)], nonce=nonce, pattern=(0, 0)))
        assert (status, struct.unpack_from('<I', result, 24)[0]) == (5, 0x108), (status, result[24:32].hex())
        part.p.stdin.close()
        part.p.wait()
        print('program over data not erased: status 5, HAL status 0x108 (PROGERR)')
    for fault, want in (('operr', 0x102), ('bsy', 3)):
        part = Part(image, dict(os.environ, UNICORN_PART_FAULT=fault))
        part.frame()
        status, blocks, result, progress = part.run_job(1, job(2, erase=[ERASE], nonce=nonce))
        hal, fail = struct.unpack_from('<II', result, 24)
        assert (status, hal, fail) == (6, want, ERASE[0]), (fault, status, hex(hal), hex(fail))
        part.p.stdin.close()
        part.p.wait()
        print('erase with %s: status 6, HAL status 0x%x' % (fault, hal))


if __name__ == '__main__':
    main()
