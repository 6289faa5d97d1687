/* SysTick as a clock (ARMv7-M ARM B3.3): SYST_RVR = 0xFFFFFF, CLKSOURCE = processor clock. */
#include "timer.h"

#include "mmio.h"

#define HZ_PER_MHZ 1000000u

static uint32_t last_cvr;
static uint32_t cycles_per_us;
static uint32_t cycle_rest;
static uint64_t now_us;

static uint32_t cycles_per_us_of(uint32_t hz) {
  uint32_t c = hz / HZ_PER_MHZ;
  return c ? c : 1u;
}

void timer_init(uint32_t core_clock_hz) {
  REG32(SYST_CSR) = 0;
  REG32(SYST_RVR) = SYST_MAX;
  REG32(SYST_CVR) = 0; /* any write clears the counter; it reloads from RVR */
  REG32(SYST_CSR) = SYST_CSR_ENABLE | SYST_CSR_CLKSOURCE;
  last_cvr = REG32(SYST_CVR) & SYST_MAX;
  cycles_per_us = cycles_per_us_of(core_clock_hz);
  cycle_rest = 0;
  now_us = 0;
}

void timer_set_clock(uint32_t core_clock_hz) {
  (void)timer_poll();
  cycles_per_us = cycles_per_us_of(core_clock_hz);
  cycle_rest = 0;
}

uint64_t timer_poll(void) {
  uint32_t cvr = REG32(SYST_CVR) & SYST_MAX;
  uint32_t delta = (last_cvr - cvr) & SYST_MAX; /* down-counter: wraps from 0 to RVR */
  last_cvr = cvr;
  cycle_rest += delta;
  uint32_t us = cycle_rest / cycles_per_us;
  cycle_rest -= us * cycles_per_us;
  now_us += us;
  REG32(IWDG_KR) = IWDG_KR_RELOAD; /* no effect while the watchdog is not running */
  return now_us;
}
