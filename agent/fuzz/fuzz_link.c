/*
 * libFuzzer harness for the agent's frame receiver (agent/src/link.c).
 * Input: byte 0 picks the receiver's payload limit, the rest is the line. Checks:
 *  - the receiver hands out exactly the frames a straightforward reference (a whole-buffer
 *    rescan, the rule host/protocol/link.ts FrameParser follows) finds, in the same order;
 *  - every frame re-encodes (link_encode) to bytes that decode to the same frame alone;
 *  - it never holds more than its buffer.
 */
#include <stdlib.h>
#include <string.h>

#include "link.h"

#define MAX_FRAMES 4096

typedef struct {
  uint8_t type, seq;
  uint16_t length;
  uint32_t crc; /* of the payload, to compare without storing it */
} seen_t;

static seen_t ours[MAX_FRAMES], theirs[MAX_FRAMES];

/* the reference: keep every byte since the candidate start, rescan after each byte */
static size_t reference(const uint8_t *line, size_t n, uint32_t max, seen_t *out) {
  uint8_t *buf = malloc(n + 1);
  size_t have = 0, count = 0;
  for (size_t i = 0; i < n; i++) {
    buf[have++] = line[i];
    for (;;) {
      uint8_t *s = memchr(buf, LINK_START, have);
      if (!s) {
        have = 0;
        break;
      }
      size_t start = (size_t)(s - buf);
      memmove(buf, buf + start, have - start);
      have -= start;
      if (have < 5) break;
      uint32_t len = le16(buf + 3);
      if (len > max) {
        memmove(buf, buf + 1, --have);
        continue;
      }
      if (have < len + LINK_OVERHEAD) break;
      if (le32(buf + 5 + len) != crc32(buf + 1, 4 + len)) {
        memmove(buf, buf + 1, --have);
        continue;
      }
      if (count < MAX_FRAMES) out[count] = (seen_t){buf[1], buf[2], (uint16_t)len, crc32(buf + 5, len)};
      count++;
      size_t total = len + LINK_OVERHEAD;
      memmove(buf, buf + total, have - total);
      have -= total;
    }
  }
  free(buf);
  return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  static const uint32_t limits[4] = {0, 16, 300, LINK_MAX_PAYLOAD};
  uint32_t max = limits[data[0] & 3u];
  const uint8_t *line = data + 1;
  size_t n = size - 1;

  uint8_t *buf = malloc(max + LINK_RX_EXTRA); /* exact size: ASan catches any overrun */
  link_rx_t rx;
  link_rx_init(&rx, buf, max);
  size_t count = 0;
  for (size_t i = 0; i < n; i++) {
    link_rx_put(&rx, line[i]);
    link_frame_t f;
    while (link_rx_next(&rx, &f)) {
      if (f.length > max) abort();
      if (count < MAX_FRAMES) ours[count] = (seen_t){f.type, f.seq, f.length, crc32(f.payload, f.length)};
      count++;

      /* round trip: encode the frame, decode it with a fresh receiver */
      size_t cap = (size_t)f.length + LINK_OVERHEAD;
      uint8_t *enc = malloc(cap);
      size_t m = link_encode(enc, cap, f.type, f.seq, f.payload, f.length);
      if (m != cap) abort();
      uint8_t *buf2 = malloc(max + LINK_RX_EXTRA);
      link_rx_t rx2;
      link_rx_init(&rx2, buf2, max);
      int again = 0;
      for (size_t j = 0; j < m; j++) {
        link_rx_put(&rx2, enc[j]);
        link_frame_t g;
        while (link_rx_next(&rx2, &g)) {
          if (j != m - 1 || g.type != f.type || g.seq != f.seq || g.length != f.length ||
              memcmp(g.payload, f.payload, f.length) != 0)
            abort();
          again++;
        }
      }
      if (again != 1 || link_rx_partial(&rx2)) abort();
      free(buf2);
      free(enc);
    }
    if (rx.n > max + LINK_RX_EXTRA) abort();
  }
  free(buf);

  size_t want = reference(line, n, max, theirs);
  if (want != count) abort();
  for (size_t i = 0; i < count && i < MAX_FRAMES; i++)
    if (memcmp(&ours[i], &theirs[i], sizeof ours[i]) != 0) abort();
  return 0;
}
