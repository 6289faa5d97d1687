/*
 * The agent's main loop (docs/agent.md): the parameter block, USART bring-up, HELLO, then the
 * requests HELLO / JOB / READ / CLOCK / RESET / STATUS over the framed link, each answered with
 * the request's sequence number. "When frames are sent" is followed to the letter: the
 * TypeScript model of the agent (host/emulator/agent-model.ts) must send the same bytes.
 */
#include "agent.h"

#include <string.h>

#include "clock.h"
#include "engine_host.h"
#include "flash.h"
#include "link.h"
#include "mmio.h"
#include "timer.h"
#include "usart.h"

/* the engine's job header: a JOB shorter than this is ERROR 2 (docs/abi.md "Job") */
#define JOB_HEADER_SIZE 88u
/* result table (docs/abi.md): 40 + 4 * ceil(N / 32) + 32 * N */
#define RESULT_OFF_BLOCKS 12u
#define RESULT_HEADER_SIZE 40u
#define DIGEST_SIZE 32u
#define BITS_PER_WORD 32u
#define HASH_PROGRESS_EVERY 64u
#define MS_US 1000u
/* hal.event kinds (docs/abi.md), sent as PROGRESS kinds */
#define EVENT_PROGRAMMED 1u
#define EVENT_ERASED 2u
#define EVENT_HASHED 3u

enum { STATE_IDLE = 0, STATE_RUNNING = 1, STATE_DONE = 2, STATE_TRAPPED = 3 };

/* the parameter block: a NOLOAD section right after the image (link/agent.ld) */
extern const uint8_t __params[PARAMS_SIZE];

static agent_params_t params;
static link_rx_t rx;
static bool engine_ok;
static uint32_t image_crc_at_reset;
static clocks_t clocks;

static struct {
  uint8_t state;
  uint8_t job_seq;        /* sequence number of the last job */
  uint32_t status;        /* engine status of the last job */
  uint32_t result_length; /* bytes of the result table (0 until a job is done) */
  uint32_t blocks;
  uint32_t trap_code;
  bool has_last;
  uint8_t last_seq;       /* the last request's sequence number and type */
  uint8_t last_type;
} agent;

/* a receive buffer for when the engine's memory cannot hold one (the module did not
 * instantiate): requests still get answers, JOBs get ERROR 6 */
#define FALLBACK_MAX_PAYLOAD 16u
static uint8_t fallback_rx[FALLBACK_MAX_PAYLOAD + LINK_RX_EXTRA];

/* ---- sending ---- */

static void send_frame2(uint8_t type, uint8_t seq, const uint8_t *a, uint16_t alen, const uint8_t *b,
                        uint16_t blen) {
  uint16_t length = (uint16_t)(alen + blen);
  uint8_t head[LINK_HEADER_SIZE];
  link_header(head, type, seq, length);
  uint32_t crc = link_crc_begin(type, seq, length);
  crc = crc32_update(crc, a, alen);
  crc = crc32_update(crc, b, blen);
  uint8_t tail[LINK_CRC_SIZE];
  put_le32(tail, crc32_final(crc));
  usart_write(head, sizeof head);
  usart_write(a, alen);
  usart_write(b, blen);
  usart_write(tail, sizeof tail);
}

static void send_frame(uint8_t type, uint8_t seq, const uint8_t *p, uint16_t len) {
  send_frame2(type, seq, p, len, NULL, 0);
}

static void send_error(uint8_t seq, uint8_t reason, uint32_t detail) {
  uint8_t p[LINK_CODE_VALUE_SIZE] = {reason, 0, 0, 0};
  put_le32(p + LINK_CODE_OFF_VALUE, detail);
  send_frame(LINK_REP_ERROR, seq, p, sizeof p);
}

static void send_hello(uint8_t seq) {
  uint8_t p[LINK_HELLO_SIZE];
  memset(p, 0, sizeof p);
  put_le32(p + LINK_HELLO_OFF_MAGIC, LINK_HELLO_MAGIC);
  put_le16(p + LINK_HELLO_OFF_LINK_VERSION, (uint16_t)LINK_VERSION);
  put_le16(p + LINK_HELLO_OFF_ABI_VERSION, (uint16_t)agent_header.abi_version);
  put_le32(p + LINK_HELLO_OFF_AGENT_VERSION, AGENT_VERSION);
  put_le32(p + LINK_HELLO_OFF_CLOCK, clocks.core_hz);
  memcpy(p + LINK_HELLO_OFF_MODULE_SHA256, agent_header.module_sha256, MODULE_SHA256_SIZE);
  put_le32(p + LINK_HELLO_OFF_JOB_MAX, engine_ok ? engine_job_max() : 0u);
  put_le32(p + LINK_HELLO_OFF_RESULT_MAX, engine_ok ? engine_result_max() : 0u);
  memcpy(p + LINK_HELLO_OFF_KIND, agent_header.kind, AGENT_KIND_SIZE);
  put_le32(p + LINK_HELLO_OFF_FLAGS, LINK_HELLO_FLAG_CLOCK);
  put_le32(p + LINK_HELLO_OFF_IMAGE_CRC, image_crc_at_reset);
  send_frame(LINK_REP_HELLO, seq, p, sizeof p);
}

static void send_status(uint8_t seq) {
  uint8_t p[LINK_STATUS_SIZE] = {0};
  p[LINK_STATUS_OFF_STATE] = agent.state;
  p[LINK_STATUS_OFF_JOB_SEQ] = agent.job_seq;
  put_le32(p + LINK_STATUS_OFF_ENGINE_STATUS, agent.status);
  put_le32(p + LINK_STATUS_OFF_RESULT_LENGTH, agent.result_length);
  send_frame(LINK_REP_STATUS, seq, p, sizeof p);
}

static void send_data(uint8_t seq, uint32_t offset, uint32_t length) {
  uint8_t p[LINK_U32_SIZE];
  put_le32(p, offset);
  send_frame2(LINK_REP_DATA, seq, p, sizeof p, engine_memory() + engine_result_at() + offset,
              (uint16_t)length);
}

/* DONE, then the result table in DATA frames of 1024 bytes (or ERROR 4 for a trapped job) */
static void send_job_end(uint8_t seq) {
  if (agent.state == STATE_TRAPPED) {
    send_error(seq, LINK_ERR_TRAPPED, agent.trap_code);
    return;
  }
  uint8_t p[LINK_DONE_SIZE];
  put_le32(p + LINK_DONE_OFF_STATUS, agent.status);
  put_le32(p + LINK_DONE_OFF_RESULT_LENGTH, agent.result_length);
  put_le32(p + LINK_DONE_OFF_BLOCKS, agent.blocks);
  send_frame(LINK_REP_DONE, seq, p, sizeof p);
  for (uint32_t off = 0; off < agent.result_length; off += LINK_DATA_CHUNK) {
    uint32_t n = agent.result_length - off;
    send_data(seq, off, n < LINK_DATA_CHUNK ? n : LINK_DATA_CHUNK);
  }
}

/* ---- JOB ---- */

static uint8_t job_seq_running;

static void on_event(uint32_t kind, uint32_t index) {
  uint32_t value = index;
  if (kind == EVENT_HASHED) {
    value = index + 1u; /* blocks hashed so far */
    if (value % HASH_PROGRESS_EVERY) return;
  } else if (kind != EVENT_PROGRAMMED && kind != EVENT_ERASED) {
    return;
  }
  uint8_t p[LINK_CODE_VALUE_SIZE] = {(uint8_t)kind, 0, 0, 0};
  put_le32(p + LINK_CODE_OFF_VALUE, value);
  send_frame(LINK_REP_PROGRESS, job_seq_running, p, sizeof p);
}

static void run_job(const link_frame_t *f) {
  uint8_t *mem = engine_memory();
  uint32_t job = engine_job_at();
  /* the payload lies 4 bytes after JOB (type, seq, length first): move it into place and
   * zero the rest of the job area, so nothing of an earlier frame is part of this job */
  memmove(mem + job, f->payload, f->length);
  memset(mem + job + f->length, 0, engine_job_max() - f->length);

  uint8_t accept[LINK_U32_SIZE];
  put_le32(accept, f->length);
  send_frame(LINK_REP_ACCEPT, f->seq, accept, sizeof accept);

  agent.state = STATE_RUNNING;
  agent.job_seq = f->seq;
  agent.result_length = 0;
  agent.blocks = 0;
  agent.status = 0;
  job_seq_running = f->seq;
  engine_outcome_t out = engine_run(on_event);
  flash_lock();
  if (out.trapped) {
    agent.state = STATE_TRAPPED;
    agent.trap_code = out.trap_code;
  } else {
    uint32_t n = le32(mem + engine_result_at() + RESULT_OFF_BLOCKS);
    uint32_t length = RESULT_HEADER_SIZE + 4u * ((n + BITS_PER_WORD - 1u) / BITS_PER_WORD) + DIGEST_SIZE * n;
    if (n > engine_result_max() || length > engine_result_max()) length = engine_result_max();
    agent.state = STATE_DONE;
    agent.status = out.status;
    agent.blocks = n;
    agent.result_length = length;
  }
  send_job_end(f->seq);
}

/* ---- requests ---- */

static void handle_clock(uint8_t seq, uint32_t wanted) {
  uint32_t fast = clock_fast_hz();
  if (params.core_clock_hz != clock_reset_hz() || (wanted != 0u && wanted != fast)) {
    send_error(seq, LINK_ERR_CLOCK_UNSUPPORTED, fast);
    return;
  }
  bool up = wanted != 0u;
  if (clocks.core_hz != (up ? fast : clock_reset_hz())) {
    usart_flush(); /* TC: the last byte has left before the divider changes */
    clocks_t now = clocks;
    bool ok = clock_switch(up, &now);
    clocks = now;
    timer_set_clock(clocks.core_hz);
    usart_set_clock(clock_bus_hz(&clocks, params.usart), params.baud);
    if (!ok) {
      send_error(seq, LINK_ERR_CLOCK_UNSUPPORTED, fast);
      return;
    }
  }
  uint8_t p[LINK_U32_SIZE];
  put_le32(p, clocks.core_hz);
  send_frame(LINK_REP_CLOCK, seq, p, sizeof p);
}

static void handle_read(uint8_t seq, const uint8_t *p) {
  uint32_t offset = le32(p + LINK_READ_OFF_OFFSET);
  uint32_t length = le16(p + LINK_READ_OFF_LENGTH);
  if (length > LINK_READ_MAX || offset > agent.result_length || length > agent.result_length - offset) {
    send_error(seq, LINK_ERR_READ_RANGE, offset);
    return;
  }
  send_data(seq, offset, length);
}

static bool length_is(const link_frame_t *f, uint16_t want) {
  if (f->length == want) return true;
  send_error(f->seq, LINK_ERR_BAD_LENGTH, f->length);
  return false;
}

static void handle(const link_frame_t *f) {
  bool repeated = agent.has_last && f->seq == agent.last_seq && f->type == agent.last_type;
  agent.has_last = true;
  agent.last_seq = f->seq;
  agent.last_type = f->type;
  switch (f->type) {
    case LINK_REQ_HELLO:
      if (length_is(f, 0)) send_hello(f->seq);
      break;
    case LINK_REQ_JOB:
      if (f->length < JOB_HEADER_SIZE) {
        send_error(f->seq, LINK_ERR_BAD_LENGTH, f->length);
      } else if (!engine_ok) {
        send_error(f->seq, LINK_ERR_INSTANTIATE, 0);
      } else if (repeated && f->seq == agent.job_seq &&
                 (agent.state == STATE_DONE || agent.state == STATE_TRAPPED)) {
        send_job_end(f->seq); /* answered again, not run again */
      } else {
        run_job(f);
        link_rx_reset(&rx); /* nothing sent during a job is read (docs/agent.md) */
      }
      break;
    case LINK_REQ_READ:
      if (length_is(f, LINK_READ_REQ_SIZE)) handle_read(f->seq, f->payload);
      break;
    case LINK_REQ_CLOCK:
      if (length_is(f, LINK_CLOCK_REQ_SIZE)) handle_clock(f->seq, le32(f->payload));
      break;
    case LINK_REQ_RESET:
      if (length_is(f, 0)) {
        send_frame(LINK_REP_OK, f->seq, NULL, 0);
        usart_flush();
        system_reset();
      }
      break;
    case LINK_REQ_STATUS:
      if (length_is(f, 0)) send_status(f->seq);
      break;
    default:
      send_error(f->seq, LINK_ERR_UNKNOWN_TYPE, f->type);
      break;
  }
}

/* ---- the loop ---- */

void system_reset(void) {
  dsb();
  REG32(SCB_AIRCR) = SCB_AIRCR_VECTKEY | SCB_AIRCR_SYSRESETREQ;
  dsb();
  for (;;) {
  }
}

static void start_rx(void) {
  uint32_t job = engine_ok ? engine_job_at() : 0u;
  uint32_t max = engine_ok ? engine_job_max() : 0u;
  /* the receiver works in the job area: it needs JOB_MAX + 8 bytes there, which the engine's
   * layout has (JOB 1376 + 12376 + 8 = RESULT 13760); check rather than assume */
  uint32_t end = job + max + LINK_RX_EXTRA;
  uint32_t result = engine_ok ? engine_result_at() : 0u;
  bool fits = engine_ok && end <= engine_memory_size() &&
              (result >= end || result + engine_result_max() <= job);
  if (fits) {
    link_rx_init(&rx, engine_memory() + job, max);
  } else {
    engine_ok = false;
    link_rx_init(&rx, fallback_rx, FALLBACK_MAX_PAYLOAD);
  }
}

void agent_main(uint32_t image_crc) {
  image_crc_at_reset = image_crc;
  if (params_parse(__params, flash_max_size(), &params) != PARAMS_OK) system_reset();
  flash_set_size(params.flash_size);
  clocks.core_hz = clocks.apb1_hz = clocks.apb2_hz = params.core_clock_hz;
  timer_init(params.core_clock_hz);
  usart_init(&params);
  engine_ok = engine_start();
  start_rx();
  send_hello(0);

  uint64_t last_frame = timer_poll();
  uint64_t last_byte = last_frame;
  uint64_t idle_us = (uint64_t)params.idle_timeout_ms * MS_US;
  for (;;) {
    uint8_t b;
    if (usart_get(&b)) {
      last_byte = timer_poll();
      link_rx_put(&rx, b);
      link_frame_t f;
      while (link_rx_next(&rx, &f)) {
        handle(&f);
        last_frame = last_byte = timer_poll();
      }
      continue;
    }
    uint64_t now = timer_poll();
    if (link_rx_partial(&rx) && now - last_byte >= (uint64_t)LINK_INTERBYTE_TIMEOUT_MS * MS_US)
      link_rx_reset(&rx); /* a partial frame after 100 ms without a byte */
    if (idle_us && now - last_frame >= idle_us) system_reset();
  }
}
