/*
 * L4 clocks (RM0351 §6): MSI 4 MHz at reset; 80 MHz from HSI16 through the PLL:
 * 16 / PLLM 1 * PLLN 10 = VCO 160 MHz (64..344), / PLLR 2 = 80 MHz on PLLCLK.
 * Voltage range 1 (PWR_CR1.VOS = 01, RM0351 §5.1.8), 4 wait states at 80 MHz in range 1
 * (RM0351 Table 9), AHB, APB1 and APB2 /1 (all allowed up to 80 MHz).
 */
#include "clock.h"

#include "mmio.h"
#include "timer.h"

/* RM0351 §6.4: RCC register map */
#define RCC_BASE 0x40021000u
#define RCC_CR (RCC_BASE + 0x00u)
#define RCC_CFGR (RCC_BASE + 0x08u)
#define RCC_PLLCFGR (RCC_BASE + 0x0Cu)
#define RCC_APB1ENR1 (RCC_BASE + 0x58u)

#define RCC_CR_HSION (1u << 8)
#define RCC_CR_HSIRDY (1u << 10)
#define RCC_CR_PLLON (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)

#define RCC_CFGR_SW_MASK 0x3u
#define RCC_CFGR_SW_MSI 0x0u
#define RCC_CFGR_SW_PLL 0x3u
#define RCC_CFGR_SWS_SHIFT 2u
#define RCC_CFGR_PRESCALERS_MASK ((0xFu << 4) | (0x7u << 8) | (0x7u << 11)) /* HPRE PPRE1 PPRE2 */

#define RCC_PLLCFGR_PLLSRC_HSI16 0x2u
#define RCC_PLLCFGR_PLLM_SHIFT 4u /* PLLM = field + 1 */
#define RCC_PLLCFGR_PLLN_SHIFT 8u
#define RCC_PLLCFGR_PLLREN (1u << 24)
#define RCC_PLLCFGR_PLLR_SHIFT 25u /* 00: /2 */
#define PLL_M_FIELD 0u             /* /1 */
#define PLL_N 10u
#define PLL_R_DIV2 0u

#define RCC_APB1ENR1_PWREN (1u << 28)

/* RM0351 §5.4: PWR */
#define PWR_BASE 0x40007000u
#define PWR_CR1 (PWR_BASE + 0x00u)
#define PWR_SR2 (PWR_BASE + 0x14u)
#define PWR_CR1_VOS_SHIFT 9u
#define PWR_CR1_VOS_MASK (0x3u << PWR_CR1_VOS_SHIFT)
#define PWR_CR1_VOS_RANGE1 (0x1u << PWR_CR1_VOS_SHIFT)
#define PWR_SR2_VOSF (1u << 10)

/* RM0351 §3.7.1: FLASH_ACR.LATENCY */
#define FLASH_ACR 0x40022000u
#define FLASH_ACR_LATENCY_MASK 0x7u

#define MSI_RESET_HZ 4000000u
#define FAST_HZ 80000000u
#define FAST_WAIT_STATES 4u
#define RESET_WAIT_STATES 0u

uint32_t clock_reset_hz(void) { return MSI_RESET_HZ; }
uint32_t clock_fast_hz(void) { return FAST_HZ; }

uint32_t clock_bus_hz(const clocks_t *now, uint32_t base) {
  (void)base; /* APB1 and APB2 both run at the core clock here */
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
  (void)REG32(FLASH_ACR); /* RM0351 §3.3.3: read back to check the new latency is taken */
}

static bool switch_to(uint32_t sw) {
  REG32(RCC_CFGR) = (REG32(RCC_CFGR) & ~RCC_CFGR_SW_MASK) | sw;
  return wait_set(RCC_CFGR, RCC_CFGR_SW_MASK << RCC_CFGR_SWS_SHIFT, sw << RCC_CFGR_SWS_SHIFT);
}

static void set_all(clocks_t *now, uint32_t hz) { now->core_hz = now->apb1_hz = now->apb2_hz = hz; }

bool clock_switch(bool fast, clocks_t *now) {
  if (!fast) {
    /* down: MSI (still on: the reset clock), wait states after the switch, PLL and HSI16 off */
    if (!switch_to(RCC_CFGR_SW_MSI)) return false;
    set_latency(RESET_WAIT_STATES);
    REG32(RCC_CR) &= ~RCC_CR_PLLON;
    (void)wait_set(RCC_CR, RCC_CR_PLLRDY, 0);
    REG32(RCC_CR) &= ~RCC_CR_HSION;
    set_all(now, MSI_RESET_HZ);
    return true;
  }
  if ((REG32(RCC_CFGR) >> RCC_CFGR_SWS_SHIFT & RCC_CFGR_SW_MASK) == RCC_CFGR_SW_PLL) {
    set_all(now, FAST_HZ);
    return true;
  }
  /* range 1 (the reset value, made sure of): PWR's clock, VOS = 01, wait for VOSF clear */
  REG32(RCC_APB1ENR1) |= RCC_APB1ENR1_PWREN;
  (void)REG32(RCC_APB1ENR1);
  REG32(PWR_CR1) = (REG32(PWR_CR1) & ~PWR_CR1_VOS_MASK) | PWR_CR1_VOS_RANGE1;
  if (!wait_set(PWR_SR2, PWR_SR2_VOSF, 0)) return false;
  REG32(RCC_CR) |= RCC_CR_HSION;
  if (!wait_set(RCC_CR, RCC_CR_HSIRDY, RCC_CR_HSIRDY)) return false;
  REG32(RCC_CR) &= ~RCC_CR_PLLON;
  if (!wait_set(RCC_CR, RCC_CR_PLLRDY, 0)) return false;
  REG32(RCC_PLLCFGR) = RCC_PLLCFGR_PLLSRC_HSI16 | (PLL_M_FIELD << RCC_PLLCFGR_PLLM_SHIFT) |
                       (PLL_N << RCC_PLLCFGR_PLLN_SHIFT) | (PLL_R_DIV2 << RCC_PLLCFGR_PLLR_SHIFT) |
                       RCC_PLLCFGR_PLLREN;
  REG32(RCC_CR) |= RCC_CR_PLLON;
  if (!wait_set(RCC_CR, RCC_CR_PLLRDY, RCC_CR_PLLRDY)) {
    REG32(RCC_CR) &= ~RCC_CR_PLLON;
    return false;
  }
  set_latency(FAST_WAIT_STATES); /* before the switch up */
  REG32(RCC_CFGR) &= ~RCC_CFGR_PRESCALERS_MASK; /* AHB, APB1, APB2 /1 */
  if (!switch_to(RCC_CFGR_SW_PLL)) {
    set_latency(RESET_WAIT_STATES);
    REG32(RCC_CR) &= ~RCC_CR_PLLON;
    return false;
  }
  set_all(now, FAST_HZ);
  return true;
}
