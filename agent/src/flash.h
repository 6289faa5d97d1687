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

/* the family's largest main flash in bytes: F2 1 MiB, F4 2 MiB, L4 1 MiB */
uint32_t flash_max_size(void);
/* the parameter block's flash size (bytes, a multiple of 1 KiB, at most flash_max_size());
 * 0 = use the part's flash size register */
void flash_set_size(uint32_t bytes);
/* bytes of main flash hal.read/erase/program may touch: the parameter block's size, else the
 * flash size register, either bounded to flash_max_size() */
uint32_t flash_size(void);
/* erase the one sector/page that starts at addr and has size bytes */
uint32_t flash_erase(uint32_t addr, uint32_t size);
/* program len bytes from src at addr (NOR: bits can only be cleared) */
uint32_t flash_program(uint32_t addr, const uint8_t *src, uint32_t len);
/* CR.LOCK again (end of a job) */
void flash_lock(void);

#endif
