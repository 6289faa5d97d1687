/* The flash interface drivers behind hal.erase and hal.program (docs/agent.md "Flash drivers"):
 * flash_f2.c (F2, and F4 with AGENT_KIND_F4) and flash_l4.c. */
#ifndef AGENT_FLASH_H
#define AGENT_FLASH_H

#include <stdint.h>

/* HAL status codes the engine reports (docs/agent.md) */
#define HAL_OK 0u
#define HAL_NOT_A_SECTOR 1u /* outside the flash, or not a sector/page start with its size */
#define HAL_MISALIGNED 2u
#define HAL_TIMEOUT 3u      /* BSY did not clear within twice the datasheet maximum */
#define HAL_FLASH_ERROR 0x100u /* | the SR error bits */

#define FLASH_BASE_ADDRESS 0x08000000u

/* bytes of main flash (from the flash size register) */
uint32_t flash_size(void);
/* erase the one sector/page that starts at addr and has size bytes */
uint32_t flash_erase(uint32_t addr, uint32_t size);
/* program len bytes from src at addr (NOR: bits can only be cleared) */
uint32_t flash_program(uint32_t addr, const uint8_t *src, uint32_t len);
/* CR.LOCK again (end of a job) */
void flash_lock(void);

#endif
