/* Memory-mapped register access and the Cortex-M system registers the agent uses. */
#ifndef AGENT_MMIO_H
#define AGENT_MMIO_H

#include <stdint.h>

#define REG32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))
#define REG16(addr) (*(volatile uint16_t *)(uintptr_t)(addr))

/* ARMv7-M ARM B3.2.2, the System Control Block */
#define SCB_AIRCR 0xE000ED0Cu
#define SCB_AIRCR_VECTKEY (0x05FAu << 16)
#define SCB_AIRCR_SYSRESETREQ (1u << 2)

/* ARMv7-M ARM B3.3, SysTick */
#define SYST_CSR 0xE000E010u
#define SYST_RVR 0xE000E014u
#define SYST_CVR 0xE000E018u
#define SYST_CSR_ENABLE (1u << 0)
#define SYST_CSR_CLKSOURCE (1u << 2) /* processor clock */
#define SYST_MAX 0x00FFFFFFu         /* 24-bit counter */

/* RM0090 §21.4 / RM0033 §19.4 / RM0351 §32.7: independent watchdog, same base on F2, F4, L4 */
#define IWDG_BASE 0x40003000u
#define IWDG_KR (IWDG_BASE + 0x00u)
#define IWDG_KR_RELOAD 0xAAAAu

static inline void dsb(void) { __asm volatile("dsb" ::: "memory"); }
static inline void isb(void) { __asm volatile("isb" ::: "memory"); }

#endif
