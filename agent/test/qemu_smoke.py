#!/usr/bin/env python3
"""Smoke test of an f4 agent on QEMU's netduinoplus2 (an STM32F405): the agent starts as after
the bootloader's Go, brings USART1 up, says HELLO; then HELLO, STATUS, READ and a hash-only JOB
over QEMU's flash are requested and their answers checked (CRC, fields, digests against hashlib).

QEMU models no RCC, GPIO or flash interface (they are unimplemented devices), so this exercises
the core, SysTick, the USART data path, the link and the engine; not the flash drivers or CLOCK.

usage: agent/test/qemu_smoke.py [build/agent/f4.bin]
"""
import hashlib
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
import zlib

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, 'build', 'agent', 'f4.bin')
PORT = 4555 + os.getpid() % 1000
# QEMU's netduinoplus2 clocks the core (and SysTick with CLKSOURCE = processor) at 168 MHz
# whatever RCC says: the parameter block tells the agent so, or its 100 ms inter-byte timeout
# would last 9.5 ms and drop frames whenever the socket delivers a frame in pieces
QEMU_CORE_HZ = 168000000

image = open(BIN, 'rb').read()
sp, entry = struct.unpack_from('<II', image, 0)
magic, hver, lver, aver, load, size, params_at, ram_end = struct.unpack_from('<8I', image, 0x40)
assert magic == 0x47415750 and size == len(image), 'not an agent image'


def params_block():
    body = struct.pack('<10I', 0x42505750, 2, 115200, QEMU_CORE_HZ,
                       0x40011000, 0x40023844, 1 << 4,     # USART1, RCC_APB2ENR.USART1EN
                       0x40020000, 0x40023830, 1 << 0)     # GPIOA, RCC_AHB1ENR.GPIOAEN
    body += bytes([9, 10, 7, 0]) + struct.pack('<I', 0)   # PA9 TX, PA10 RX, AF7; no idle timeout
    body += struct.pack('<I', 0)                          # flash size: the part's size register
    return body + struct.pack('<I', zlib.crc32(body))


def frame(t, seq, payload=b''):
    body = bytes([t, seq]) + struct.pack('<H', len(payload)) + payload
    return b'\xa5' + body + struct.pack('<I', zlib.crc32(body))


class Link:
    def __init__(self, sock):
        self.sock, self.buf = sock, b''

    def read_frame(self, timeout=5.0):
        end = time.time() + timeout
        while True:
            i = self.buf.find(b'\xa5')
            if i >= 0 and len(self.buf) - i >= 5:
                n = struct.unpack_from('<H', self.buf, i + 3)[0]
                if len(self.buf) - i >= 9 + n:
                    raw = self.buf[i:i + 9 + n]
                    self.buf = self.buf[i + 9 + n:]
                    crc = struct.unpack_from('<I', raw, 5 + n)[0]
                    assert crc == zlib.crc32(raw[1:5 + n]), 'bad frame CRC %r' % raw
                    return raw[1], raw[2], raw[5:5 + n]
            left = end - time.time()
            if left <= 0:
                raise TimeoutError('no frame within %.1f s (have %r)' % (timeout, self.buf))
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                raise EOFError('QEMU closed the serial line')
            self.buf += chunk


def main():
    tmp = tempfile.mkdtemp()
    kernel = os.path.join(tmp, 'vectors.bin')
    with open(kernel, 'wb') as f:  # what Go does: SP from word 0, jump to word 1
        f.write(struct.pack('<II', sp, entry))
    pblock = os.path.join(tmp, 'params.bin')
    with open(pblock, 'wb') as f:
        f.write(params_block())
    qemu = subprocess.Popen([
        'qemu-system-arm', '-M', 'netduinoplus2', '-nographic', '-monitor', 'none',
        '-kernel', kernel,
        '-device', 'loader,file=%s,addr=0x%x,force-raw=on' % (BIN, load),
        '-device', 'loader,file=%s,addr=0x%x,force-raw=on' % (pblock, params_at),
        '-serial', 'tcp:127.0.0.1:%d,server=on,wait=on' % PORT,
        '-d', 'guest_errors', '-D', os.path.join(tmp, 'qemu.log'),
    ], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            try:
                sock = socket.create_connection(('127.0.0.1', PORT))
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError('QEMU did not open its serial socket')
        link = Link(sock)
        t0 = time.time()
        t, seq, p = link.read_frame()
        assert (t, seq, len(p)) == (0x81, 0, 72), (hex(t), seq, len(p))
        fields = struct.unpack_from('<IHHII', p, 0)
        assert fields[0] == 0x47415750 and fields[1] == 1 and fields[2] == 1, fields
        assert fields[4] == QEMU_CORE_HZ, fields
        job_max, result_max = struct.unpack_from('<II', p, 48)
        flags, image_crc = struct.unpack_from('<II', p, 64)
        assert p[16:48] == image[0x68:0x88], 'module SHA-256 differs from the header'
        assert image_crc == zlib.crc32(image), 'image CRC %08x, file %08x' % (image_crc, zlib.crc32(image))
        print('HELLO ok after %.2f s: kind %s, JOB_MAX %d, RESULT_MAX %d, flags %d, image CRC %08x'
              % (time.time() - t0, p[56:64].rstrip(b'\0').decode(), job_max, result_max, flags, image_crc))

        sock.sendall(frame(0x06, 1))
        assert link.read_frame() == (0x88, 1, bytes(12)), 'STATUS before any job'
        sock.sendall(frame(0x03, 2, struct.pack('<IH', 0, 16)))
        t, seq, p = link.read_frame()
        assert (t, seq, p[0]) == (0x8F, 2, 3), 'READ before a job: ERROR 3'
        sock.sendall(frame(0x09, 3))
        t, seq, p = link.read_frame()
        assert (t, seq, p[0]) == (0x8F, 3, 1), 'unknown type: ERROR 1'

        # QEMU has no system memory: the flash size register (0x1FFF7A22) that hal.read checks
        # against bus-faults there, so the job hashes nothing; it runs the engine end to end
        nonce = bytes(range(32))
        job = struct.pack('<10I', 0x424A5750, 1, 4, 4096, 0xFF, 0, 0, 0, 0, 0) + bytes(16) + nonce
        sock.sendall(frame(0x02, 4, job))
        t, seq, p = link.read_frame()
        assert (t, seq, p) == (0x82, 4, struct.pack('<I', len(job))), ('ACCEPT', hex(t), p)
        t, seq, p = link.read_frame(20)
        assert (t, seq) == (0x84, 4), ('DONE', hex(t), p)
        status, rlen, blocks = struct.unpack('<III', p)
        assert status == 0 and blocks == 0 and rlen == 40, (status, rlen, blocks)
        t, seq, p = link.read_frame()
        assert (t, seq) == (0x85, 4) and struct.unpack_from('<I', p)[0] == 0 and len(p) == 44
        assert struct.unpack_from('<3I', p, 4) == (0x53525750, 1, 0), 'result header'
        print('JOB ok: DONE status 0, result table header PWRS')
        sock.sendall(frame(0x02, 5, b'short'))
        t, seq, p = link.read_frame()
        assert (t, seq, p) == (0x8F, 5, bytes([2, 0, 0, 0]) + struct.pack('<I', 5)), 'short JOB: ERROR 2'
        sock.sendall(frame(0x02, 5, b'short'))
        link.read_frame()
        # a start byte with a length over the limit, then a good frame
        sock.sendall(b'\xa5\x01\x02\xff\xff' + frame(0x03, 6, struct.pack('<IH', 0, 40)))
        t, seq, p = link.read_frame()
        assert (t, seq) == (0x85, 6) and len(p) == 44, ('READ after garbage', hex(t), seq)
        # a frame with a bad CRC whose payload holds a good frame: the hunt restarts after its
        # start byte and finds the inner one
        inner = frame(0x03, 10, struct.pack('<IH', 8, 4))
        sock.sendall(b'\xa5\x06\x0a' + struct.pack('<H', len(inner)) + inner + bytes(4))
        t, seq, p = link.read_frame()
        assert (t, seq, p) == (0x85, 10, struct.pack('<I', 8) + bytes(4)), ('inner READ', hex(t), seq, p)
        print('ERROR 2, re-hunt and READ ok')
        sock.sendall(frame(0x02, 4, job))
        link.read_frame()  # ACCEPT: seq 4 is not the last request any more, so it runs again
        link.read_frame()
        link.read_frame()
        sock.sendall(frame(0x02, 4, job))  # repeated: DONE and DATA again, not run again
        t, seq, p = link.read_frame()
        assert (t, seq, p) == (0x84, 4, struct.pack('<III', 0, 40, 0)), 'repeated JOB: DONE again'
        t, seq, p = link.read_frame()
        assert (t, seq) == (0x85, 4), 'repeated JOB: DATA again'
        sock.sendall(frame(0x04, 7, struct.pack('<I', 1234)))
        t, seq, p = link.read_frame()
        assert (t, seq, p[0]) == (0x8F, 7, 5), 'CLOCK 1234 Hz: ERROR 5'
        sock.sendall(frame(0x05, 8))
        assert link.read_frame() == (0x87, 8, b''), 'RESET: OK'
        print('CLOCK refusal and RESET ok')
        sock.sendall(frame(0x06, 9))  # the part reset: nothing answers (QEMU's AIRCR resets it)
    finally:
        qemu.kill()
        qemu.wait()
        log = open(os.path.join(tmp, 'qemu.log')).read() if os.path.exists(os.path.join(tmp, 'qemu.log')) else ''
        if log.strip():
            print('QEMU log (first lines):\n' + '\n'.join(log.splitlines()[:10]))


if __name__ == '__main__':
    main()
