/*
 * The agent's framed link (docs/agent.md, "Frames"), the CRC-32 it uses and the parameter block
 * the host writes before Go. Pure code: no hardware access, compiled natively for the tests and
 * the fuzzers as well as for the Cortex-M agent.
 *
 *   0xA5 | type | seq | length (u16 LE) | payload | CRC-32 (IEEE, LE) of type..payload
 */
#ifndef AGENT_LINK_H
#define AGENT_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LINK_VERSION 1u
#define LINK_START 0xA5u
#define LINK_HEADER_SIZE 5u   /* start, type, seq, length */
#define LINK_CRC_SIZE 4u
#define LINK_OVERHEAD (LINK_HEADER_SIZE + LINK_CRC_SIZE)
/* the largest payload either side accepts: the engine's JOB_MAX (docs/abi.md) */
#define LINK_MAX_PAYLOAD 12376u
/* a receiver buffer holds everything after the start byte: type, seq, length, payload, CRC */
#define LINK_RX_EXTRA 8u
#define LINK_INTERBYTE_TIMEOUT_MS 100u
#define LINK_DATA_CHUNK 1024u

/* requests, host -> agent */
enum {
  LINK_REQ_HELLO = 0x01,
  LINK_REQ_JOB = 0x02,
  LINK_REQ_READ = 0x03,
  LINK_REQ_CLOCK = 0x04,
  LINK_REQ_RESET = 0x05,
  LINK_REQ_STATUS = 0x06,
};

/* replies, agent -> host */
enum {
  LINK_REP_HELLO = 0x81,
  LINK_REP_ACCEPT = 0x82,
  LINK_REP_PROGRESS = 0x83,
  LINK_REP_DONE = 0x84,
  LINK_REP_DATA = 0x85,
  LINK_REP_CLOCK = 0x86,
  LINK_REP_OK = 0x87,
  LINK_REP_STATUS = 0x88,
  LINK_REP_ERROR = 0x8F,
};

/* ERROR reasons */
enum {
  LINK_ERR_UNKNOWN_TYPE = 1,
  LINK_ERR_BAD_LENGTH = 2,
  LINK_ERR_READ_RANGE = 3,
  LINK_ERR_TRAPPED = 4,
  LINK_ERR_CLOCK_UNSUPPORTED = 5,
  LINK_ERR_INSTANTIATE = 6,
};

/* payload layouts (docs/agent.md "Agent -> host", "Host -> agent"): byte offsets */
#define LINK_HELLO_OFF_MAGIC 0u
#define LINK_HELLO_OFF_LINK_VERSION 4u   /* u16 */
#define LINK_HELLO_OFF_ABI_VERSION 6u    /* u16 */
#define LINK_HELLO_OFF_AGENT_VERSION 8u
#define LINK_HELLO_OFF_CLOCK 12u
#define LINK_HELLO_OFF_MODULE_SHA256 16u /* 32 bytes */
#define LINK_HELLO_OFF_JOB_MAX 48u
#define LINK_HELLO_OFF_RESULT_MAX 52u
#define LINK_HELLO_OFF_KIND 56u          /* 8 bytes */
#define LINK_HELLO_OFF_FLAGS 64u
#define LINK_HELLO_OFF_IMAGE_CRC 68u
/* ERROR and PROGRESS: u8 reason/kind, 3 bytes 0, u32 detail/value */
#define LINK_CODE_VALUE_SIZE 8u
#define LINK_CODE_OFF_VALUE 4u
/* STATUS: u8 state, u8 job seq, 2 bytes 0, u32 engine status, u32 result length */
#define LINK_STATUS_SIZE 12u
#define LINK_STATUS_OFF_STATE 0u
#define LINK_STATUS_OFF_JOB_SEQ 1u
#define LINK_STATUS_OFF_ENGINE_STATUS 4u
#define LINK_STATUS_OFF_RESULT_LENGTH 8u
/* DONE: u32 engine status, u32 result length, u32 blocks hashed */
#define LINK_DONE_SIZE 12u
#define LINK_DONE_OFF_STATUS 0u
#define LINK_DONE_OFF_RESULT_LENGTH 4u
#define LINK_DONE_OFF_BLOCKS 8u
/* ACCEPT, CLOCK, DATA's offset: one u32 */
#define LINK_U32_SIZE 4u
/* READ request: u32 offset, u16 length */
#define LINK_READ_OFF_OFFSET 0u
#define LINK_READ_OFF_LENGTH 4u

/* payload sizes */
#define LINK_HELLO_SIZE 72u
#define LINK_READ_REQ_SIZE 6u
#define LINK_CLOCK_REQ_SIZE 4u
#define LINK_READ_MAX 1024u
#define LINK_HELLO_MAGIC 0x47415750u /* "PWAG" */
#define LINK_HELLO_FLAG_CLOCK 1u

/* ---- CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, as zlib computes it) ---- */
#define CRC32_INIT 0xFFFFFFFFu
uint32_t crc32_update(uint32_t state, const uint8_t *p, size_t n);
static inline uint32_t crc32_final(uint32_t state) { return state ^ 0xFFFFFFFFu; }
uint32_t crc32(const uint8_t *p, size_t n);

/* ---- little-endian helpers ---- */
static inline uint32_t le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline void put_le32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline void put_le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }

/* ---- frame builder ---- */
/* The 5 header bytes of a frame. */
void link_header(uint8_t out[LINK_HEADER_SIZE], uint8_t type, uint8_t seq, uint16_t length);
/* CRC state after type, seq and length (continue with crc32_update over the payload). */
uint32_t link_crc_begin(uint8_t type, uint8_t seq, uint16_t length);
/* Whole frame into out; returns its length, or 0 when it does not fit in cap or the payload is
 * over LINK_MAX_PAYLOAD. */
size_t link_encode(uint8_t *out, size_t cap, uint8_t type, uint8_t seq, const uint8_t *payload,
                   uint16_t length);

/* ---- byte-at-a-time receiver ----
 * Hunts for the start byte, checks length and CRC, hands out whole frames. A frame whose length
 * is over the limit or whose CRC is wrong is dropped and the hunt starts again at the byte after
 * its start byte, so a start byte inside garbage cannot hide a good frame that follows (the same
 * rule as host/protocol/link.ts FrameParser). The 100 ms inter-byte timeout belongs to the
 * caller: link_rx_reset drops a partial frame.
 *
 * Use: link_rx_put(one byte), then link_rx_next until it returns false. A frame handed out by
 * link_rx_next points into the buffer and stays valid until the next call to either function. */
typedef struct {
  uint8_t type;
  uint8_t seq;
  uint16_t length;
  uint8_t *payload; /* inside the receiver's buffer */
} link_frame_t;

typedef struct {
  uint8_t *buf;          /* bytes after the start byte; capacity max_payload + LINK_RX_EXTRA */
  uint32_t max_payload;
  uint32_t n;            /* bytes held */
  uint32_t skip;         /* bytes of a frame already handed out, removed at the next call */
  bool in_frame;         /* a start byte has been seen */
  uint32_t dropped;      /* frames dropped for a bad length or CRC */
} link_rx_t;

/* buf must hold max_payload + LINK_RX_EXTRA bytes; max_payload <= LINK_MAX_PAYLOAD. */
void link_rx_init(link_rx_t *rx, uint8_t *buf, uint32_t max_payload);
void link_rx_put(link_rx_t *rx, uint8_t byte);
bool link_rx_next(link_rx_t *rx, link_frame_t *frame);
void link_rx_reset(link_rx_t *rx);
static inline bool link_rx_partial(const link_rx_t *rx) { return rx->in_frame || rx->n > 0; }

/* ---- the parameter block (docs/agent.md, "Parameter block") ---- */
#define PARAMS_SIZE 56u
#define PARAMS_MAGIC 0x42505750u /* "PWPB" */
#define PARAMS_VERSION 2u
#define PARAMS_MAX_CLOCK_HZ 480000000u
#define USART_BRR_MIN 16u     /* BRR below 16 is not allowed with oversampling by 16 */
#define USART_BRR_MAX 0xFFFFu
#define PARAMS_FLASH_UNIT 1024u /* the flash size is given in whole KiB, as the size register counts */

typedef struct {
  uint32_t baud;
  uint32_t core_clock_hz;
  uint32_t usart;
  uint32_t usart_clock_reg;
  uint32_t usart_clock_mask;
  uint32_t gpio;
  uint32_t gpio_clock_reg;
  uint32_t gpio_clock_mask;
  uint8_t tx_pin;
  uint8_t rx_pin;
  uint8_t af;
  uint32_t idle_timeout_ms;
  uint32_t flash_size; /* bytes hal.read/erase/program may touch; 0 = the part's flash size register */
} agent_params_t;

typedef enum {
  PARAMS_OK = 0,
  PARAMS_BAD_MAGIC,
  PARAMS_BAD_VERSION,
  PARAMS_BAD_CRC,
  PARAMS_BAD_VALUE, /* a pin or AF over 15, a zero baud rate or clock, BRR out of its 16 bits,
                     * a flash size that is not whole KiB or is over the family's maximum */
} params_status_t;

/* flash_max: the family's largest main flash in bytes (flash_max_size()); the block's flash size
 * must not exceed it */
params_status_t params_parse(const uint8_t block[PARAMS_SIZE], uint32_t flash_max, agent_params_t *out);
/* BRR for oversampling by 16: round(clock / baud) */
static inline uint32_t usart_brr(uint32_t clock_hz, uint32_t baud) {
  return (clock_hz + baud / 2u) / baud; /* clock_hz <= PARAMS_MAX_CLOCK_HZ: no overflow */
}

#endif
