/*
 * F2 (RM0033 §5) and F4 (RM0090 §6) clocks: HSI 16 MHz at reset; the PLL from HSI.
 *   F4 (AGENT_KIND_F4): 168 MHz = 16 / M16 * N336 / P2, 5 wait states (RM0090 Table 10,
 *                       2.7-3.6 V), AHB /1, APB2 /2 = 84 MHz (max 84), APB1 /4 = 42 MHz (max 42);
 *                       VOS is scale 1 at reset (PWR_CR.VOS), which 168 MHz needs.
 *   F2:                 120 MHz = 16 / M16 * N240 / P2, 3 wait states (RM0033 Table 3),
 *                       APB2 /2 = 60 MHz (max 60), APB1 /4 = 30 MHz (max 30).
 * PLLQ makes 48 MHz for USB/SDIO (F4 336/7, F2 240/5), unused here but within its limit.
 */
#include "clock.h"

#include "mmio.h"
#include "timer.h"

/* RM0090 §6.3 / RM0033 §5.3: RCC register map */
#define RCC_BASE 0x40023800u
#define RCC_CR (RCC_BASE + 0x00u)
#define RCC_PLLCFGR (RCC_BASE + 0x04u)
#define RCC_CFGR (RCC_BASE + 0x08u)

#define RCC_CR_HSION (1u << 0)
#define RCC_CR_HSIRDY (1u << 1)
#define RCC_CR_PLLON (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)

#define RCC_PLLCFGR_PLLM_SHIFT 0u
#define RCC_PLLCFGR_PLLN_SHIFT 6u
#define RCC_PLLCFGR_PLLP_SHIFT 16u
#define RCC_PLLCFGR_PLLSRC_HSE (1u << 22) /* clear: HSI */
#define RCC_PLLCFGR_PLLQ_SHIFT 24u
#define PLLP_DIV2 0u

#define RCC_CFGR_SW_MASK 0x3u
#define RCC_CFGR_SW_HSI 0x0u
#define RCC_CFGR_SW_PLL 0x2u
#define RCC_CFGR_SWS_SHIFT 2u
#define RCC_CFGR_HPRE_SHIFT 4u
#define RCC_CFGR_HPRE_MASK (0xFu << RCC_CFGR_HPRE_SHIFT)
#define RCC_CFGR_PPRE1_SHIFT 10u
#define RCC_CFGR_PPRE2_SHIFT 13u
#define RCC_CFGR_PPRE_MASK 0x7u
#define PPRE_DIV1 0x0u
#define PPRE_DIV2 0x4u
#define PPRE_DIV4 0x5u

/* RM0090 §3.9.1 / RM0033 §2.4.1: FLASH_ACR.LATENCY */
#define FLASH_ACR 0x40023C00u
#if defined(AGENT_KIND_F4)
#define FLASH_ACR_LATENCY_MASK 0xFu
#else
#define FLASH_ACR_LATENCY_MASK 0x7u
#endif

/* APB1 peripherals sit below the APB2 bus (RM0090 §2.3 memory map) */
#define APB2_BASE 0x40010000u
#define AHB1_BASE 0x40020000u

#define HSI_HZ 16000000u
#define PLL_M 16u
#if defined(AGENT_KIND_F4)
#define PLL_N 336u
#define PLL_Q 7u
#define FAST_HZ 168000000u
#define FAST_WAIT_STATES 5u
#else
#define PLL_N 240u
#define PLL_Q 5u
#define FAST_HZ 120000000u
#define FAST_WAIT_STATES 3u
#endif
#define APB1_DIVIDER 4u
#define APB2_DIVIDER 2u
#define RESET_WAIT_STATES 0u

uint32_t clock_reset_hz(void) { return HSI_HZ; }
uint32_t clock_fast_hz(void) { return FAST_HZ; }

uint32_t clock_bus_hz(const clocks_t *now, uint32_t base) {
  if (base >= APB2_BASE && base < AHB1_BASE) return now->apb2_hz;
  return now->apb1_hz;
}

static bool wait_set(uint32_t reg, uint32_t mask, uint32_t want) {
  uint64_t deadline = timer_poll() + CLOCK_READY_TIMEOUT_US;
  while ((REG32(reg) & mask) != want) {
    if (timer_poll() >= deadline) return false;
  }
  return true;
}

static void set_latency(uint32_t ws) {
  REG32(FLASH_ACR) = (REG32(FLASH_ACR) & ~FLASH_ACR_LATENCY_MASK) | ws;
  (void)REG32(FLASH_ACR); /* RM0090 §3.5.1: check the new latency is taken by reading ACR */
}

static bool switch_to(uint32_t sw) {
  REG32(RCC_CFGR) = (REG32(RCC_CFGR) & ~RCC_CFGR_SW_MASK) | sw;
  return wait_set(RCC_CFGR, RCC_CFGR_SW_MASK << RCC_CFGR_SWS_SHIFT, sw << RCC_CFGR_SWS_SHIFT);
}

static void set_prescalers(uint32_t ppre1, uint32_t ppre2) {
  uint32_t cfgr = REG32(RCC_CFGR);
  cfgr &= ~(RCC_CFGR_HPRE_MASK | (RCC_CFGR_PPRE_MASK << RCC_CFGR_PPRE1_SHIFT) |
            (RCC_CFGR_PPRE_MASK << RCC_CFGR_PPRE2_SHIFT));
  cfgr |= (ppre1 << RCC_CFGR_PPRE1_SHIFT) | (ppre2 << RCC_CFGR_PPRE2_SHIFT); /* HPRE = /1 */
  REG32(RCC_CFGR) = cfgr;
}

static void reset_clocks(clocks_t *now) {
  now->core_hz = now->apb1_hz = now->apb2_hz = HSI_HZ;
}

bool clock_switch(bool fast, clocks_t *now) {
  /* RM0090 §6.2.2: HSI on (it is the reset clock and the PLL source) */
  REG32(RCC_CR) |= RCC_CR_HSION;
  if (!wait_set(RCC_CR, RCC_CR_HSIRDY, RCC_CR_HSIRDY)) return false;
  if (!fast) {
    /* down: switch to HSI first, then prescalers /1 and wait states 0, then PLL off */
    if (!switch_to(RCC_CFGR_SW_HSI)) return false;
    set_prescalers(PPRE_DIV1, PPRE_DIV1);
    set_latency(RESET_WAIT_STATES);
    REG32(RCC_CR) &= ~RCC_CR_PLLON;
    (void)wait_set(RCC_CR, RCC_CR_PLLRDY, 0);
    reset_clocks(now);
    return true;
  }
  /* up: the PLL may only be configured while it is off (RM0090 §6.3.2) */
  if ((REG32(RCC_CFGR) >> RCC_CFGR_SWS_SHIFT & RCC_CFGR_SW_MASK) == RCC_CFGR_SW_PLL) {
    now->core_hz = FAST_HZ;
    now->apb1_hz = FAST_HZ / APB1_DIVIDER;
    now->apb2_hz = FAST_HZ / APB2_DIVIDER;
    return true;
  }
  REG32(RCC_CR) &= ~RCC_CR_PLLON;
  if (!wait_set(RCC_CR, RCC_CR_PLLRDY, 0)) return false;
  REG32(RCC_PLLCFGR) = (PLL_M << RCC_PLLCFGR_PLLM_SHIFT) | (PLL_N << RCC_PLLCFGR_PLLN_SHIFT) |
                       (PLLP_DIV2 << RCC_PLLCFGR_PLLP_SHIFT) | (PLL_Q << RCC_PLLCFGR_PLLQ_SHIFT);
  REG32(RCC_CR) |= RCC_CR_PLLON;
  if (!wait_set(RCC_CR, RCC_CR_PLLRDY, RCC_CR_PLLRDY)) {
    REG32(RCC_CR) &= ~RCC_CR_PLLON;
    return false;
  }
  /* wait states before the switch up, APB prescalers within their limits before the switch */
  set_latency(FAST_WAIT_STATES);
  set_prescalers(PPRE_DIV4, PPRE_DIV2);
  if (!switch_to(RCC_CFGR_SW_PLL)) {
    set_prescalers(PPRE_DIV1, PPRE_DIV1);
    set_latency(RESET_WAIT_STATES);
    REG32(RCC_CR) &= ~RCC_CR_PLLON;
    reset_clocks(now);
    return false;
  }
  now->core_hz = FAST_HZ;
  now->apb1_hz = FAST_HZ / APB1_DIVIDER;
  now->apb2_hz = FAST_HZ / APB2_DIVIDER;
  return true;
}
