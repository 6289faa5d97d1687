/* CLOCK (docs/agent.md): the reset clock, or the family's PLL clock (clock_f2.c for F2/F4,
 * clock_l4.c). Flash wait states go up before the switch up and down after the switch down;
 * APB prescalers stay within the family's limits. */
#ifndef AGENT_CLOCK_H
#define AGENT_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
  uint32_t core_hz;
  uint32_t apb1_hz;
  uint32_t apb2_hz;
} clocks_t;

/* the clock the part runs at after Go (HSI 16 MHz on F2/F4, MSI 4 MHz on L4) */
uint32_t clock_reset_hz(void);
/* the one PLL clock this kind supports (F2 120 MHz, F4 168 MHz, L4 80 MHz) */
uint32_t clock_fast_hz(void);
/* switch to the reset clock (fast = false) or the PLL clock; false when a ready flag never
 * came within CLOCK_READY_TIMEOUT_US (the part then stays on the clock it had) */
bool clock_switch(bool fast, clocks_t *now);
/* the bus clock of the peripheral at base, from the clocks now */
uint32_t clock_bus_hz(const clocks_t *now, uint32_t periph_base);

#define CLOCK_READY_TIMEOUT_US 10000u

#endif
