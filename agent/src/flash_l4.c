/*
 * STM32L4 flash interface, register by register: RM0351 §3.3.5 "Flash program and erase
 * operations" (unlock), §3.3.6 "Flash main memory erase sequences" (page erase), §3.3.7
 * "Flash main memory programming sequences" (double word), §3.7 registers.
 * 2 KiB pages, PNB within a bank, BKER selects bank 2; dual bank from FLASH_OPTR.DUALBANK.
 */
#include <stdbool.h>
#include <string.h>

#include "flash.h"
#include "mmio.h"
#include "timer.h"

/* RM0351 §3.7: FLASH registers */
#define FLASH_R_BASE 0x40022000u
#define FLASH_ACR (FLASH_R_BASE + 0x00u)
#define FLASH_KEYR (FLASH_R_BASE + 0x08u)
#define FLASH_SR (FLASH_R_BASE + 0x10u)
#define FLASH_CR (FLASH_R_BASE + 0x14u)
#define FLASH_OPTR (FLASH_R_BASE + 0x20u)

/* FLASH_ACR (§3.7.1) */
#define FLASH_ACR_ICEN (1u << 9)
#define FLASH_ACR_DCEN (1u << 10)
#define FLASH_ACR_ICRST (1u << 11)
#define FLASH_ACR_DCRST (1u << 12)

/* FLASH_KEYR (§3.3.5) */
#define FLASH_KEY1 0x45670123u
#define FLASH_KEY2 0xCDEF89ABu

/* FLASH_SR (§3.7.5) */
#define FLASH_SR_EOP (1u << 0)
#define FLASH_SR_OPERR (1u << 1)
#define FLASH_SR_PROGERR (1u << 3)
#define FLASH_SR_WRPERR (1u << 4)
#define FLASH_SR_PGAERR (1u << 5)
#define FLASH_SR_SIZERR (1u << 6)
#define FLASH_SR_PGSERR (1u << 7)
#define FLASH_SR_MISERR (1u << 8)
#define FLASH_SR_FASTERR (1u << 9)
#define FLASH_SR_RDERR (1u << 14)
#define FLASH_SR_BSY (1u << 16)
#define FLASH_SR_ERRORS                                                                     \
  (FLASH_SR_OPERR | FLASH_SR_PROGERR | FLASH_SR_WRPERR | FLASH_SR_PGAERR | FLASH_SR_SIZERR | \
   FLASH_SR_PGSERR | FLASH_SR_MISERR | FLASH_SR_FASTERR | FLASH_SR_RDERR)

/* FLASH_CR (§3.7.6) */
#define FLASH_CR_PG (1u << 0)
#define FLASH_CR_PER (1u << 1)
#define FLASH_CR_PNB_SHIFT 3u
#define FLASH_CR_BKER_SHIFT 11u
#define FLASH_CR_STRT (1u << 16)
#define FLASH_CR_LOCK (1u << 31)

/* FLASH_OPTR (§3.7.8) */
#define FLASH_OPTR_DUALBANK (1u << 21)

/* the flash size register, in KiB (RM0351 "Device electronic signature", Flash size data register) */
#define FLASH_SIZE_REG 0x1FFF75E0u
#define KIB 1024u
#define PAGE_SIZE (2u * KIB)
#define DUAL_BANK_ALWAYS (1024u * KIB)
/* the largest main flash of the family (RM0351: STM32L4x5/L4x6 1 MiB) */
#define FAMILY_MAX_SIZE (1024u * KIB)

/* datasheet maximum times (2 KiB page erase 24.5 ms, 64-bit program 91 us), x2 */
#define ERASE_MAX_US_PAGE (24500u * 2u)
#define PROGRAM_MAX_US_DOUBLE_WORD (91u * 2u)
#define PROGRAM_UNIT 8u

static uint32_t size_from_params; /* 0 = read FLASH_SIZE_REG */

uint32_t flash_max_size(void) { return FAMILY_MAX_SIZE; }

void flash_set_size(uint32_t bytes) { size_from_params = bytes; }

uint32_t flash_size(void) {
  uint32_t total = size_from_params != 0u ? size_from_params : (uint32_t)REG16(FLASH_SIZE_REG) * KIB;
  return total < FAMILY_MAX_SIZE ? total : FAMILY_MAX_SIZE;
}

static uint32_t wait_not_busy(uint32_t timeout_us) {
  uint64_t deadline = timer_poll() + timeout_us;
  while (REG32(FLASH_SR) & FLASH_SR_BSY) {
    if (timer_poll() >= deadline) return HAL_TIMEOUT;
  }
  return HAL_OK;
}

static void unlock(void) {
  if (REG32(FLASH_CR) & FLASH_CR_LOCK) {
    REG32(FLASH_KEYR) = FLASH_KEY1;
    REG32(FLASH_KEYR) = FLASH_KEY2;
  }
}

static void clear_flags(void) { REG32(FLASH_SR) = FLASH_SR_EOP | FLASH_SR_ERRORS; }

static uint32_t errors(void) {
  uint32_t e = REG32(FLASH_SR) & FLASH_SR_ERRORS;
  return e ? (HAL_FLASH_ERROR | e) : HAL_OK;
}

/* §3.3.3 / §3.7.1: flush the caches after the flash changed under them */
static void reset_caches(void) {
  uint32_t acr = REG32(FLASH_ACR);
  uint32_t enabled = acr & (FLASH_ACR_ICEN | FLASH_ACR_DCEN);
  uint32_t off = acr & ~(FLASH_ACR_ICEN | FLASH_ACR_DCEN | FLASH_ACR_ICRST | FLASH_ACR_DCRST);
  REG32(FLASH_ACR) = off;
  REG32(FLASH_ACR) = off | FLASH_ACR_ICRST | FLASH_ACR_DCRST;
  REG32(FLASH_ACR) = off;
  REG32(FLASH_ACR) = off | enabled;
}

/* bank (0 or 1) and page number of the page at addr with exactly size bytes; false if none */
static int page_of(uint32_t addr, uint32_t size, uint32_t *bank, uint32_t *page) {
  uint32_t total = flash_size();
  if (addr < FLASH_BASE_ADDRESS || size != PAGE_SIZE) return 0;
  uint32_t off = addr - FLASH_BASE_ADDRESS;
  if (off >= total || off % PAGE_SIZE) return 0;
  /* 1 MiB parts are always two banks of 512 KiB; on 512/256 KiB parts DUALBANK chooses */
  bool dual = total == DUAL_BANK_ALWAYS || (REG32(FLASH_OPTR) & FLASH_OPTR_DUALBANK);
  uint32_t bank_size = dual ? total / 2u : total;
  *bank = off / bank_size;
  *page = (off % bank_size) / PAGE_SIZE;
  return 1;
}

/* §3.3.6 "Page erase" */
uint32_t flash_erase(uint32_t addr, uint32_t size) {
  uint32_t bank, page;
  if (!page_of(addr, size, &bank, &page)) return HAL_NOT_A_SECTOR;
  unlock();
  clear_flags();
  uint32_t st = wait_not_busy(ERASE_MAX_US_PAGE);
  if (st != HAL_OK) return st;
  REG32(FLASH_CR) = FLASH_CR_PER | (page << FLASH_CR_PNB_SHIFT) | (bank << FLASH_CR_BKER_SHIFT);
  REG32(FLASH_CR) |= FLASH_CR_STRT;
  st = wait_not_busy(ERASE_MAX_US_PAGE);
  if (st == HAL_OK) st = errors();
  REG32(FLASH_CR) &= ~FLASH_CR_PER;
  reset_caches();
  return st;
}

/* §3.3.7 "Normal programming": PG, then the two words of each double word */
uint32_t flash_program(uint32_t addr, const uint8_t *src, uint32_t len) {
  uint32_t total = flash_size();
  if (addr < FLASH_BASE_ADDRESS || addr - FLASH_BASE_ADDRESS > total ||
      len > total - (addr - FLASH_BASE_ADDRESS))
    return HAL_NOT_A_SECTOR;
  if (addr % PROGRAM_UNIT || len % PROGRAM_UNIT) return HAL_MISALIGNED;
  unlock();
  clear_flags();
  uint32_t st = wait_not_busy(PROGRAM_MAX_US_DOUBLE_WORD);
  if (st != HAL_OK) return st;
  REG32(FLASH_CR) = FLASH_CR_PG;
  for (uint32_t i = 0; i < len && st == HAL_OK; i += PROGRAM_UNIT) {
    uint32_t lo, hi;
    memcpy(&lo, src + i, sizeof lo);
    memcpy(&hi, src + i + 4u, sizeof hi);
    REG32(addr + i) = lo;
    REG32(addr + i + 4u) = hi; /* the second word starts the double-word program */
    dsb();
    st = wait_not_busy(PROGRAM_MAX_US_DOUBLE_WORD);
    if (st == HAL_OK) st = errors();
  }
  REG32(FLASH_CR) &= ~FLASH_CR_PG;
  reset_caches();
  return st;
}

void flash_lock(void) { REG32(FLASH_CR) |= FLASH_CR_LOCK; }
