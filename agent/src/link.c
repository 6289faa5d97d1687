/* The agent's framed link, CRC-32 and parameter block parser (docs/agent.md). Pure code. */
#include "link.h"

#include <string.h>

/* ---- CRC-32: reflected 0xEDB88320, four bits per step from a 16-entry table ---- */
static const uint32_t crc32_nibble[16] = {
    0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u,
    0x4DB26158u, 0x5005713Cu, 0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu,
    0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu,
};

uint32_t crc32_update(uint32_t state, const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    state ^= p[i];
    state = (state >> 4) ^ crc32_nibble[state & 0xFu];
    state = (state >> 4) ^ crc32_nibble[state & 0xFu];
  }
  return state;
}

uint32_t crc32(const uint8_t *p, size_t n) { return crc32_final(crc32_update(CRC32_INIT, p, n)); }

/* ---- builder ---- */
void link_header(uint8_t out[LINK_HEADER_SIZE], uint8_t type, uint8_t seq, uint16_t length) {
  out[0] = LINK_START;
  out[1] = type;
  out[2] = seq;
  put_le16(out + 3, length);
}

uint32_t link_crc_begin(uint8_t type, uint8_t seq, uint16_t length) {
  uint8_t h[LINK_HEADER_SIZE];
  link_header(h, type, seq, length);
  return crc32_update(CRC32_INIT, h + 1, LINK_HEADER_SIZE - 1);
}

size_t link_encode(uint8_t *out, size_t cap, uint8_t type, uint8_t seq, const uint8_t *payload,
                   uint16_t length) {
  size_t total = (size_t)length + LINK_OVERHEAD;
  if (length > LINK_MAX_PAYLOAD || total > cap) return 0;
  link_header(out, type, seq, length);
  if (length) memmove(out + LINK_HEADER_SIZE, payload, length);
  uint32_t crc = crc32_final(crc32_update(link_crc_begin(type, seq, length), payload, length));
  put_le32(out + LINK_HEADER_SIZE + length, crc);
  return total;
}

/* ---- receiver ----
 * buf holds the bytes after the current candidate's start byte:
 *   [0] type, [1] seq, [2..3] length, [4..4+L) payload, [4+L..8+L) CRC. */
#define RX_LEN_AT 2u
#define RX_PAYLOAD_AT 4u

void link_rx_init(link_rx_t *rx, uint8_t *buf, uint32_t max_payload) {
  rx->buf = buf;
  rx->max_payload = max_payload > LINK_MAX_PAYLOAD ? LINK_MAX_PAYLOAD : max_payload;
  rx->n = 0;
  rx->skip = 0;
  rx->in_frame = false;
  rx->dropped = 0;
}

void link_rx_reset(link_rx_t *rx) {
  rx->n = 0;
  rx->skip = 0;
  rx->in_frame = false;
}

/* Hunt for a start byte in buf[0..n): keep what follows it as the new candidate. */
static void rx_hunt(link_rx_t *rx) {
  uint8_t *hit = rx->n ? memchr(rx->buf, LINK_START, rx->n) : NULL;
  if (!hit) {
    link_rx_reset(rx);
    return;
  }
  uint32_t after = (uint32_t)(hit - rx->buf) + 1u;
  memmove(rx->buf, rx->buf + after, rx->n - after);
  rx->n -= after;
  rx->in_frame = true;
}

void link_rx_put(link_rx_t *rx, uint8_t byte) {
  if (rx->skip) return; /* the caller must drain link_rx_next first; refuse to overwrite */
  if (!rx->in_frame) {
    if (byte == LINK_START) {
      rx->in_frame = true;
      rx->n = 0;
    }
    return;
  }
  if (rx->n < rx->max_payload + LINK_RX_EXTRA) rx->buf[rx->n++] = byte;
}

bool link_rx_next(link_rx_t *rx, link_frame_t *frame) {
  if (rx->skip) {
    /* the bytes after a frame handed out are hunted through like any others */
    memmove(rx->buf, rx->buf + rx->skip, rx->n - rx->skip);
    rx->n -= rx->skip;
    rx->skip = 0;
    rx->in_frame = false;
    rx_hunt(rx);
  }
  while (rx->in_frame && rx->n >= RX_PAYLOAD_AT) {
    uint32_t length = le16(rx->buf + RX_LEN_AT);
    if (length > rx->max_payload) {
      rx->dropped++;
      rx_hunt(rx);
      continue;
    }
    uint32_t total = length + LINK_RX_EXTRA;
    if (rx->n < total) return false;
    uint32_t want = le32(rx->buf + RX_PAYLOAD_AT + length);
    if (crc32(rx->buf, RX_PAYLOAD_AT + length) != want) {
      rx->dropped++;
      rx_hunt(rx);
      continue;
    }
    frame->type = rx->buf[0];
    frame->seq = rx->buf[1];
    frame->length = (uint16_t)length;
    frame->payload = rx->buf + RX_PAYLOAD_AT;
    rx->skip = total;
    return true;
  }
  return false;
}

/* ---- parameter block ---- */
#define PB_MAGIC 0u
#define PB_VERSION 4u
#define PB_BAUD 8u
#define PB_CLOCK 12u
#define PB_USART 16u
#define PB_USART_CLK_REG 20u
#define PB_USART_CLK_MASK 24u
#define PB_GPIO 28u
#define PB_GPIO_CLK_REG 32u
#define PB_GPIO_CLK_MASK 36u
#define PB_TX 40u
#define PB_RX 41u
#define PB_AF 42u
#define PB_IDLE_MS 44u
#define PB_FLASH_SIZE 48u
#define PB_CRC 52u
#define PIN_MAX 15u
#define AF_MAX 15u

params_status_t params_parse(const uint8_t block[PARAMS_SIZE], uint32_t flash_max, agent_params_t *out) {
  if (le32(block + PB_MAGIC) != PARAMS_MAGIC) return PARAMS_BAD_MAGIC;
  if (le32(block + PB_VERSION) != PARAMS_VERSION) return PARAMS_BAD_VERSION;
  if (le32(block + PB_CRC) != crc32(block, PB_CRC)) return PARAMS_BAD_CRC;
  agent_params_t p = {
      .baud = le32(block + PB_BAUD),
      .core_clock_hz = le32(block + PB_CLOCK),
      .usart = le32(block + PB_USART),
      .usart_clock_reg = le32(block + PB_USART_CLK_REG),
      .usart_clock_mask = le32(block + PB_USART_CLK_MASK),
      .gpio = le32(block + PB_GPIO),
      .gpio_clock_reg = le32(block + PB_GPIO_CLK_REG),
      .gpio_clock_mask = le32(block + PB_GPIO_CLK_MASK),
      .tx_pin = block[PB_TX],
      .rx_pin = block[PB_RX],
      .af = block[PB_AF],
      .idle_timeout_ms = le32(block + PB_IDLE_MS),
      .flash_size = le32(block + PB_FLASH_SIZE),
  };
  if (p.tx_pin > PIN_MAX || p.rx_pin > PIN_MAX || p.af > AF_MAX) return PARAMS_BAD_VALUE;
  if (p.baud == 0 || p.core_clock_hz == 0 || p.core_clock_hz > PARAMS_MAX_CLOCK_HZ) return PARAMS_BAD_VALUE;
  uint32_t brr = usart_brr(p.core_clock_hz, p.baud);
  if (brr < USART_BRR_MIN || brr > USART_BRR_MAX) return PARAMS_BAD_VALUE;
  if (p.flash_size % PARAMS_FLASH_UNIT != 0u || p.flash_size > flash_max) return PARAMS_BAD_VALUE;
  *out = p;
  return PARAMS_OK;
}
