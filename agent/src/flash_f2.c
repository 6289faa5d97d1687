/*
 * STM32F2 / STM32F4 flash interface, register by register.
 * RM0033 (F2) §2.3 (erase and program) and its FLASH registers; RM0090 (F4) §3.5 (erase and
 * program), §3.9 (registers).
 * F4 (AGENT_KIND_F4): the dual-bank F42x/F43x number bank-2 sectors 12..23 as SNB 0x10..0x1B
 * (RM0090 §3.9, FLASH_CR for STM32F42xxx/43xxx, SNB[4:0]).
 */
#include <string.h>

#include "flash.h"
#include "mmio.h"
#include "timer.h"

/* FLASH registers (RM0090 §3.9, RM0033 the same offsets) */
#define FLASH_R_BASE 0x40023C00u
#define FLASH_ACR (FLASH_R_BASE + 0x00u)
#define FLASH_KEYR (FLASH_R_BASE + 0x04u)
#define FLASH_SR (FLASH_R_BASE + 0x0Cu)
#define FLASH_CR (FLASH_R_BASE + 0x10u)

/* FLASH_ACR */
#define FLASH_ACR_ICEN (1u << 9)
#define FLASH_ACR_DCEN (1u << 10)
#define FLASH_ACR_ICRST (1u << 11)
#define FLASH_ACR_DCRST (1u << 12)

/* FLASH_KEYR (RM0090 §3.5.1 "Unlocking the Flash control register") */
#define FLASH_KEY1 0x45670123u
#define FLASH_KEY2 0xCDEF89ABu

/* FLASH_SR */
#define FLASH_SR_EOP (1u << 0)
#define FLASH_SR_OPERR (1u << 1)
#define FLASH_SR_WRPERR (1u << 4)
#define FLASH_SR_PGAERR (1u << 5)
#define FLASH_SR_PGPERR (1u << 6)
#define FLASH_SR_PGSERR (1u << 7)
#define FLASH_SR_BSY (1u << 16)
#if defined(AGENT_KIND_F4)
#define FLASH_SR_RDERR (1u << 8) /* RM0090 FLASH_SR: F42x/F43x; reads 0 on F40x */
#else
#define FLASH_SR_RDERR 0u        /* RM0033 FLASH_SR: bit 8 is reserved on F2 */
#endif
#define FLASH_SR_ERRORS \
  (FLASH_SR_OPERR | FLASH_SR_WRPERR | FLASH_SR_PGAERR | FLASH_SR_PGPERR | FLASH_SR_PGSERR | FLASH_SR_RDERR)

/* FLASH_CR */
#define FLASH_CR_PG (1u << 0)
#define FLASH_CR_SER (1u << 1)
#define FLASH_CR_SNB_SHIFT 3u
#define FLASH_CR_PSIZE_X32 (2u << 8) /* PSIZE = 10: x32, 2.7-3.6 V */
#define FLASH_CR_STRT (1u << 16)
#define FLASH_CR_LOCK (1u << 31)

/* bank-2 sector numbering of the dual-bank F42x/F43x */
#define FLASH_SNB_BANK2 0x10u

/* the flash size register, in KiB ("Device electronic signature", Flash size: RM0090 §39.2, RM0033) */
#define FLASH_SIZE_REG 0x1FFF7A22u
#define KIB 1024u
#define F4_DUAL_BANK_SIZE (2048u * KIB) /* 2 MiB parts: two banks of 1 MiB */
/* the largest main flash of the family (RM0090: STM32F42x/43x 2 MiB; RM0033: STM32F2 1 MiB) */
#if defined(AGENT_KIND_F4)
#define FAMILY_MAX_SIZE (2048u * KIB)
#else
#define FAMILY_MAX_SIZE (1024u * KIB)
#endif

/* sector layout of one bank: 4 x 16 KiB, 1 x 64 KiB, 7 x 128 KiB (RM0090 §3.3, flash module organization) */
#define SECTORS_PER_BANK 12u
#define SMALL_SECTORS 4u
#define SMALL_SECTOR (16u * KIB)
#define MEDIUM_SECTOR (64u * KIB)
#define LARGE_SECTOR (128u * KIB)

/* datasheet maximum times (F2/F4, 2.7-3.6 V, x32), x2 */
#define ERASE_MAX_US_16K (500000u * 2u)
#define ERASE_MAX_US_64K (1100000u * 2u)
#define ERASE_MAX_US_128K (2000000u * 2u)
#define PROGRAM_MAX_US_WORD (100u * 2u)
#define PROGRAM_UNIT 4u

static uint32_t size_from_params; /* 0 = read FLASH_SIZE_REG */

uint32_t flash_max_size(void) { return FAMILY_MAX_SIZE; }

void flash_set_size(uint32_t bytes) { size_from_params = bytes; }

uint32_t flash_size(void) {
  uint32_t total = size_from_params != 0u ? size_from_params : (uint32_t)REG16(FLASH_SIZE_REG) * KIB;
  return total < FAMILY_MAX_SIZE ? total : FAMILY_MAX_SIZE;
}

static uint32_t sector_size(uint32_t index) {
  if (index < SMALL_SECTORS) return SMALL_SECTOR;
  if (index == SMALL_SECTORS) return MEDIUM_SECTOR;
  return LARGE_SECTOR;
}

/* SNB of the sector that starts at addr with exactly size bytes; -1 when there is none */
static int32_t sector_number(uint32_t addr, uint32_t size) {
  uint32_t total = flash_size();
  uint32_t bank_size = total;
  uint32_t banks = 1;
#if defined(AGENT_KIND_F4)
  if (total == F4_DUAL_BANK_SIZE) {
    bank_size = total / 2u;
    banks = 2;
  }
#endif
  if (addr < FLASH_BASE_ADDRESS) return -1;
  uint32_t off = addr - FLASH_BASE_ADDRESS;
  if (off >= total) return -1;
  uint32_t bank = off / bank_size;
  if (bank >= banks) return -1;
  uint32_t in_bank = off - bank * bank_size;
  uint32_t start = 0;
  for (uint32_t i = 0; i < SECTORS_PER_BANK && start < bank_size; i++) {
    uint32_t s = sector_size(i);
    if (start == in_bank) {
      if (s != size || start + s > bank_size) return -1;
      return (int32_t)(bank ? (FLASH_SNB_BANK2 | i) : i);
    }
    start += s;
  }
  return -1;
}

static uint32_t erase_timeout_us(uint32_t size) {
  if (size <= SMALL_SECTOR) return ERASE_MAX_US_16K;
  if (size <= MEDIUM_SECTOR) return ERASE_MAX_US_64K;
  return ERASE_MAX_US_128K;
}

/* RM0090 §3.5.1: BSY; every wait is bounded */
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

/* the error flags are cleared by writing 1s (rc_w1), EOP with them */
static void clear_flags(void) { REG32(FLASH_SR) = FLASH_SR_EOP | FLASH_SR_ERRORS; }

static uint32_t errors(void) {
  uint32_t e = REG32(FLASH_SR) & FLASH_SR_ERRORS;
  return e ? (HAL_FLASH_ERROR | e) : HAL_OK;
}

/* RM0090 §3.4.2 (ART accelerator) / RM0033 §2.3: after an erase (or a program) the caches may hold the old
 * bytes: reset them with ICEN/DCEN off, then enable them again as they were */
static void reset_caches(void) {
  uint32_t acr = REG32(FLASH_ACR);
  uint32_t enabled = acr & (FLASH_ACR_ICEN | FLASH_ACR_DCEN);
  REG32(FLASH_ACR) = acr & ~(FLASH_ACR_ICEN | FLASH_ACR_DCEN);
  REG32(FLASH_ACR) = (acr & ~(FLASH_ACR_ICEN | FLASH_ACR_DCEN)) | FLASH_ACR_ICRST | FLASH_ACR_DCRST;
  REG32(FLASH_ACR) = acr & ~(FLASH_ACR_ICEN | FLASH_ACR_DCEN | FLASH_ACR_ICRST | FLASH_ACR_DCRST);
  REG32(FLASH_ACR) = (acr & ~(FLASH_ACR_ICRST | FLASH_ACR_DCRST)) | enabled;
}

/* RM0090 §3.5.3 "Erase": sector erase */
uint32_t flash_erase(uint32_t addr, uint32_t size) {
  int32_t snb = sector_number(addr, size);
  if (snb < 0) return HAL_NOT_A_SECTOR;
  unlock();
  clear_flags();
  uint32_t st = wait_not_busy(erase_timeout_us(size));
  if (st != HAL_OK) return st;
  REG32(FLASH_CR) = FLASH_CR_PSIZE_X32 | FLASH_CR_SER | ((uint32_t)snb << FLASH_CR_SNB_SHIFT);
  REG32(FLASH_CR) |= FLASH_CR_STRT;
  st = wait_not_busy(erase_timeout_us(size));
  if (st == HAL_OK) st = errors();
  REG32(FLASH_CR) &= ~FLASH_CR_SER;
  reset_caches();
  return st;
}

/* RM0090 §3.5.4 "Programming": PG, x32 word writes, BSY after each */
uint32_t flash_program(uint32_t addr, const uint8_t *src, uint32_t len) {
  uint32_t total = flash_size();
  if (addr < FLASH_BASE_ADDRESS || addr - FLASH_BASE_ADDRESS > total ||
      len > total - (addr - FLASH_BASE_ADDRESS))
    return HAL_NOT_A_SECTOR;
  if (addr % PROGRAM_UNIT || len % PROGRAM_UNIT) return HAL_MISALIGNED;
  unlock();
  clear_flags();
  uint32_t st = wait_not_busy(PROGRAM_MAX_US_WORD);
  if (st != HAL_OK) return st;
  REG32(FLASH_CR) = FLASH_CR_PSIZE_X32 | FLASH_CR_PG;
  for (uint32_t i = 0; i < len && st == HAL_OK; i += PROGRAM_UNIT) {
    uint32_t word;
    memcpy(&word, src + i, sizeof word);
    REG32(addr + i) = word;
    dsb();
    st = wait_not_busy(PROGRAM_MAX_US_WORD);
    if (st == HAL_OK) st = errors();
  }
  REG32(FLASH_CR) &= ~FLASH_CR_PG;
  reset_caches();
  return st;
}

void flash_lock(void) { REG32(FLASH_CR) |= FLASH_CR_LOCK; }
