/*
 * Native test of the engine as the agent hosts it (engine_host.c + wasm_rt.c + the wasm2c
 * translation), with the flash drivers replaced by a recorder: instantiation and the exported
 * layout, a bad job, an erase job's HAL calls and events, a trap caught by longjmp (and the
 * instance usable afterwards), a program source outside the linear memory trapping OOB.
 */
#include <stdio.h>
#include <string.h>

#include "engine_host.h"
#include "flash.h"
#include "link.h"
#include "wasm_rt_agent.h"

static int failures;
#define CHECK(cond)                                                             \
  do {                                                                          \
    if (!(cond)) {                                                              \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      failures++;                                                               \
    }                                                                           \
  } while (0)

/* ---- the flash drivers, recorded ---- */
static uint32_t erased[8][2];
static int erase_calls;
static uint32_t erase_status;
uint32_t flash_size(void) { return 0x100000u; }
uint32_t flash_max_size(void) { return 0x100000u; }
void flash_set_size(uint32_t bytes) { (void)bytes; }
uint32_t flash_erase(uint32_t addr, uint32_t size) {
  if (erase_calls < 8) {
    erased[erase_calls][0] = addr;
    erased[erase_calls][1] = size;
  }
  erase_calls++;
  return erase_status;
}
uint32_t flash_program(uint32_t addr, const uint8_t *src, uint32_t len) {
  (void)addr;
  (void)src;
  (void)len;
  return HAL_OK;
}
void flash_lock(void) {}
static int refreshes;
void watchdog_refresh(void) { refreshes++; }

/* ---- events ---- */
static uint32_t events[16][2];
static int event_count;
static int trap_on_event = -1;
static void on_event(uint32_t kind, uint32_t index) {
  if (event_count < 16) {
    events[event_count][0] = kind;
    events[event_count][1] = index;
  }
  if (event_count++ == trap_on_event) wasm_rt_trap(WASM_RT_TRAP_UNREACHABLE);
}

static void put_job(uint32_t magic, uint32_t ops, uint32_t erase_count, const uint32_t *ranges) {
  uint8_t *job = engine_memory() + engine_job_at();
  memset(job, 0, engine_job_max());
  put_le32(job + 0, magic);
  put_le32(job + 4, 1);
  put_le32(job + 8, ops);
  put_le32(job + 12, 4096);
  put_le32(job + 16, 0xFF);
  put_le32(job + 28, erase_count);
  for (uint32_t i = 0; i < 2 * erase_count; i++) put_le32(job + 88 + 4 * i, ranges[i]);
}

int main(void) {
  CHECK(engine_start());
  CHECK(engine_memory_size() == 65536u);
  CHECK(engine_abi_version() == 1u);
  CHECK(engine_job_at() == 1376u && engine_job_max() == LINK_MAX_PAYLOAD);
  CHECK(engine_result_at() == 13760u && engine_result_max() == 16488u);
  /* the agent's receiver needs JOB_MAX + 8 bytes from JOB before RESULT */
  CHECK(engine_job_at() + engine_job_max() + LINK_RX_EXTRA <= engine_result_at());

  put_job(0x12345678u, 2, 0, NULL);
  engine_outcome_t o = engine_run(on_event);
  CHECK(!o.trapped && o.status == 1u); /* BAD_MAGIC */

  const uint32_t ranges[4] = {0x08000000u, 0x4000u, 0x08004000u, 0x4000u};
  put_job(0x424A5750u, 2, 2, ranges);
  o = engine_run(on_event);
  CHECK(!o.trapped && o.status == 0u);
  CHECK(erase_calls == 2 && erased[0][0] == 0x08000000u && erased[1][0] == 0x08004000u && erased[1][1] == 0x4000u);
  CHECK(event_count == 2 && events[0][0] == 2u && events[0][1] == 0u && events[1][1] == 1u);
  CHECK(refreshes == 2); /* the watchdog is refreshed at every hal.event */

  /* a HAL failure: status 6, HAL status and address in the result header */
  erase_status = 0x102u;
  erase_calls = 0;
  put_job(0x424A5750u, 2, 2, ranges);
  o = engine_run(on_event);
  uint8_t *res = engine_memory() + engine_result_at();
  CHECK(!o.trapped && o.status == 6u && le32(res + 24) == 0x102u && le32(res + 28) == 0x08000000u);
  erase_status = 0;

  /* a trap inside an import: caught, the code reported, the instance still runs jobs */
  event_count = 0;
  trap_on_event = 0;
  put_job(0x424A5750u, 2, 2, ranges);
  o = engine_run(on_event);
  CHECK(o.trapped && o.trap_code == WASM_RT_TRAP_UNREACHABLE);
  CHECK(wasm_rt_call_stack_depth == 0);
  trap_on_event = -1;
  event_count = 0;
  o = engine_run(on_event);
  CHECK(!o.trapped && o.status == 0u && event_count == 2);

  if (failures) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("agent engine host tests: all checks passed\n");
  return 0;
}
