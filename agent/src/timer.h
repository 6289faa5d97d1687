/* Time from SysTick (a free-running 24-bit down-counter at the core clock) and the watchdog
 * refresh every wait does. Poll at least once every 2^24 core cycles (100 ms at 168 MHz). */
#ifndef AGENT_TIMER_H
#define AGENT_TIMER_H

#include <stdint.h>

void timer_init(uint32_t core_clock_hz);
/* the core clock changed (CLOCK): time keeps counting in microseconds */
void timer_set_clock(uint32_t core_clock_hz);
/* microseconds since timer_init; refreshes the independent watchdog */
uint64_t timer_poll(void);

#endif
