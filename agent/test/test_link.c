/*
 * Native tests of the agent's pure parts (link.c): CRC-32 check values, frames built and parsed
 * back, the receiver's hunt rules (bad CRC, over-long length, garbage, split feeds) and the
 * parameter block parser. Built and run by agent/test/run.sh with the host's cc.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link.h"

static int failures;
#define CHECK(cond)                                                      \
  do {                                                                   \
    if (!(cond)) {                                                       \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      failures++;                                                        \
    }                                                                    \
  } while (0)

static uint8_t rxbuf[LINK_MAX_PAYLOAD + LINK_RX_EXTRA];

/* feed bytes; collect up to max frames (their payloads copied out) */
typedef struct {
  uint8_t type, seq;
  uint16_t length;
  uint8_t payload[64];
} got_t;

static int feed(link_rx_t *rx, const uint8_t *p, size_t n, got_t *got, int max) {
  int count = 0;
  for (size_t i = 0; i < n; i++) {
    link_rx_put(rx, p[i]);
    link_frame_t f;
    while (link_rx_next(rx, &f)) {
      if (count < max) {
        got[count].type = f.type;
        got[count].seq = f.seq;
        got[count].length = f.length;
        memcpy(got[count].payload, f.payload, f.length < 64 ? f.length : 64);
      }
      count++;
    }
  }
  return count;
}

static void test_crc(void) {
  CHECK(crc32((const uint8_t *)"123456789", 9) == 0xCBF43926u);
  CHECK(crc32((const uint8_t *)"", 0) == 0x00000000u);
  CHECK(crc32((const uint8_t *)"a", 1) == 0xE8B7BE43u);
  CHECK(crc32((const uint8_t *)"The quick brown fox jumps over the lazy dog", 43) == 0x414FA339u);
  /* incremental = one shot */
  uint32_t s = crc32_update(CRC32_INIT, (const uint8_t *)"1234", 4);
  s = crc32_update(s, (const uint8_t *)"56789", 5);
  CHECK(crc32_final(s) == 0xCBF43926u);
}

static void test_frames(void) {
  /* HELLO request, seq 1: a5 01 01 00 00 + CRC of 01 01 00 00 */
  uint8_t out[64];
  size_t n = link_encode(out, sizeof out, LINK_REQ_HELLO, 1, NULL, 0);
  CHECK(n == 9);
  uint8_t body[4] = {1, 1, 0, 0};
  CHECK(le32(out + 5) == crc32(body, 4));
  CHECK(out[0] == 0xA5 && out[1] == 1 && out[2] == 1 && out[3] == 0 && out[4] == 0);

  link_rx_t rx;
  link_rx_init(&rx, rxbuf, LINK_MAX_PAYLOAD);
  got_t got[4];
  CHECK(feed(&rx, out, n, got, 4) == 1 && got[0].type == 1 && got[0].seq == 1 && got[0].length == 0);

  /* READ with a payload, then a frame split across two feeds */
  uint8_t read[6] = {0x00, 0x04, 0, 0, 0x00, 0x04};
  n = link_encode(out, sizeof out, LINK_REQ_READ, 7, read, sizeof read);
  CHECK(n == 15);
  CHECK(feed(&rx, out, 8, got, 4) == 0);
  CHECK(link_rx_partial(&rx));
  CHECK(feed(&rx, out + 8, n - 8, got, 4) == 1 && got[0].length == 6 && memcmp(got[0].payload, read, 6) == 0);
  CHECK(!link_rx_partial(&rx));

  /* a bad CRC drops the frame, and is never answered */
  out[n - 1] ^= 0x01;
  CHECK(feed(&rx, out, n, got, 4) == 0 && rx.dropped == 1);
  out[n - 1] ^= 0x01;
  CHECK(feed(&rx, out, n, got, 4) == 1);

  /* garbage without a start byte, then two frames back to back */
  uint8_t stream[80];
  size_t m = 0;
  stream[m++] = 0x00;
  stream[m++] = 0x7F;
  m += link_encode(stream + m, sizeof stream - m, LINK_REQ_STATUS, 2, NULL, 0);
  m += link_encode(stream + m, sizeof stream - m, LINK_REQ_READ, 3, read, sizeof read);
  CHECK(feed(&rx, stream, m, got, 4) == 2 && got[0].seq == 2 && got[1].seq == 3);

  /* a start byte whose length is over the limit: hunted again from the byte after it */
  m = 0;
  stream[m++] = 0xA5;
  stream[m++] = 0x01;
  stream[m++] = 0x02;
  stream[m++] = 0xFF;
  stream[m++] = 0xFF;
  m += link_encode(stream + m, sizeof stream - m, LINK_REQ_HELLO, 4, NULL, 0);
  uint32_t dropped = rx.dropped;
  CHECK(feed(&rx, stream, m, got, 4) == 1 && got[0].seq == 4 && rx.dropped == dropped + 1);

  /* a frame with a bad CRC that carries a good frame followed by another: both found */
  uint8_t inner[40];
  size_t in = link_encode(inner, sizeof inner, LINK_REQ_READ, 9, read, sizeof read);
  in += link_encode(inner + in, sizeof inner - in, LINK_REQ_HELLO, 10, NULL, 0);
  m = 0;
  stream[m++] = 0xA5;
  stream[m++] = LINK_REQ_JOB;
  stream[m++] = 8;
  put_le16(stream + m, (uint16_t)in);
  m += 2;
  memcpy(stream + m, inner, in);
  m += in;
  memset(stream + m, 0, 4);
  m += 4;
  CHECK(feed(&rx, stream, m, got, 4) == 2 && got[0].seq == 9 && got[1].seq == 10);

  /* the start byte as a sequence number and inside a payload */
  uint8_t a5s[3] = {0xA5, 0xA5, 0xA5};
  n = link_encode(out, sizeof out, 0xA5, 0xA5, a5s, sizeof a5s);
  CHECK(feed(&rx, out, n, got, 4) == 1 && got[0].type == 0xA5 && got[0].seq == 0xA5 && got[0].length == 3);

  /* the largest payload fits; the builder refuses one over the limit */
  static uint8_t big[LINK_MAX_PAYLOAD + LINK_OVERHEAD + 1];
  static uint8_t bigp[LINK_MAX_PAYLOAD + 1];
  for (size_t i = 0; i < sizeof bigp; i++) bigp[i] = (uint8_t)(i * 7u);
  n = link_encode(big, sizeof big, LINK_REQ_JOB, 11, bigp, LINK_MAX_PAYLOAD);
  CHECK(n == LINK_MAX_PAYLOAD + LINK_OVERHEAD);
  int c = 0;
  for (size_t i = 0; i < n; i++) {
    link_rx_put(&rx, big[i]);
    link_frame_t f;
    while (link_rx_next(&rx, &f)) {
      c++;
      CHECK(f.length == LINK_MAX_PAYLOAD && memcmp(f.payload, bigp, LINK_MAX_PAYLOAD) == 0);
    }
  }
  CHECK(c == 1);
  CHECK(link_encode(big, sizeof big, LINK_REQ_JOB, 11, bigp, LINK_MAX_PAYLOAD + 1) == 0);

  /* a timeout (the caller's) drops a partial frame */
  n = link_encode(out, sizeof out, LINK_REQ_STATUS, 12, NULL, 0);
  CHECK(feed(&rx, out, 4, got, 4) == 0);
  link_rx_reset(&rx);
  CHECK(feed(&rx, out + 4, n - 4, got, 4) == 0);
  CHECK(feed(&rx, out, n, got, 4) == 1);
}

#define F4_MAX (2048u * 1024u)

static void make_params(uint8_t b[PARAMS_SIZE]) {
  memset(b, 0, PARAMS_SIZE);
  put_le32(b + 0, PARAMS_MAGIC);
  put_le32(b + 4, PARAMS_VERSION);
  put_le32(b + 8, 115200);
  put_le32(b + 12, 16000000);
  put_le32(b + 16, 0x40011000);
  put_le32(b + 20, 0x40023844);
  put_le32(b + 24, 1u << 4);
  put_le32(b + 28, 0x40020000);
  put_le32(b + 32, 0x40023830);
  put_le32(b + 36, 1u << 0);
  b[40] = 9;
  b[41] = 10;
  b[42] = 7;
  put_le32(b + 44, 30000);
  put_le32(b + 48, 1024u * 1024u);
  put_le32(b + 52, crc32(b, 52));
}

static void test_params(void) {
  uint8_t b[PARAMS_SIZE];
  agent_params_t p;
  make_params(b);
  CHECK(params_parse(b, F4_MAX, &p) == PARAMS_OK);
  CHECK(p.baud == 115200 && p.core_clock_hz == 16000000 && p.usart == 0x40011000);
  CHECK(p.usart_clock_reg == 0x40023844 && p.usart_clock_mask == 0x10);
  CHECK(p.gpio == 0x40020000 && p.gpio_clock_reg == 0x40023830 && p.gpio_clock_mask == 1);
  CHECK(p.tx_pin == 9 && p.rx_pin == 10 && p.af == 7 && p.idle_timeout_ms == 30000);
  CHECK(p.flash_size == 1024u * 1024u);
  CHECK(usart_brr(16000000, 115200) == 139); /* 138.9 rounded */
  CHECK(usart_brr(84000000, 115200) == 729);
  CHECK(usart_brr(4000000, 115200) == 35);

  b[0] ^= 1;
  CHECK(params_parse(b, F4_MAX, &p) == PARAMS_BAD_MAGIC);
  make_params(b);
  put_le32(b + 4, 3);
  CHECK(params_parse(b, F4_MAX, &p) == PARAMS_BAD_VERSION);
  make_params(b);
  b[44] ^= 1; /* any byte under the CRC */
  CHECK(params_parse(b, F4_MAX, &p) == PARAMS_BAD_CRC);
  make_params(b);
  b[40] = 16;
  put_le32(b + 52, crc32(b, 52));
  CHECK(params_parse(b, F4_MAX, &p) == PARAMS_BAD_VALUE);
  make_params(b);
  put_le32(b + 8, 0);
  put_le32(b + 52, crc32(b, 52));
  CHECK(params_parse(b, F4_MAX, &p) == PARAMS_BAD_VALUE);
  make_params(b);
  put_le32(b + 8, 2000000); /* BRR 8: below 16 */
  put_le32(b + 52, crc32(b, 52));
  CHECK(params_parse(b, F4_MAX, &p) == PARAMS_BAD_VALUE);

  /* the flash size: 0 (the size register), whole KiB up to the family's maximum */
  make_params(b);
  put_le32(b + 48, 0);
  put_le32(b + 52, crc32(b, 52));
  CHECK(params_parse(b, F4_MAX, &p) == PARAMS_OK && p.flash_size == 0);
  put_le32(b + 48, F4_MAX);
  put_le32(b + 52, crc32(b, 52));
  CHECK(params_parse(b, F4_MAX, &p) == PARAMS_OK && p.flash_size == F4_MAX);
  CHECK(params_parse(b, F4_MAX / 2u, &p) == PARAMS_BAD_VALUE); /* 2 MiB on a 1 MiB family */
  put_le32(b + 48, F4_MAX + 1024u);
  put_le32(b + 52, crc32(b, 52));
  CHECK(params_parse(b, F4_MAX, &p) == PARAMS_BAD_VALUE);
  put_le32(b + 48, 1024u * 1024u + 512u); /* not whole KiB */
  put_le32(b + 52, crc32(b, 52));
  CHECK(params_parse(b, F4_MAX, &p) == PARAMS_BAD_VALUE);
  put_le32(b + 48, 1u); /* not whole KiB */
  put_le32(b + 52, crc32(b, 52));
  CHECK(params_parse(b, F4_MAX, &p) == PARAMS_BAD_VALUE);
  /* the version-1 block (52 bytes, CRC at 48) is refused by its version */
  make_params(b);
  put_le32(b + 4, 1);
  put_le32(b + 48, crc32(b, 48));
  CHECK(params_parse(b, F4_MAX, &p) == PARAMS_BAD_VERSION);
}

int main(void) {
  test_crc();
  test_frames();
  test_params();
  if (failures) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("agent link tests: all checks passed\n");
  return 0;
}
