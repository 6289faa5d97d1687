/*
 * A minimal emulated part for testing an agent binary under Unicorn (libunicorn2): RAM, 1 MiB
 * of flash behind a small flash-interface model (F2/F4 RM0090 or L4 RM0351), the flash size
 * register, USART1, and RCC/PWR/GPIO/IWDG registers that store what is written (RCC's ready
 * flags follow their enables, SWS follows SW). The serial line is stdin/stdout: bytes the
 * agent sends go to stdout, bytes on stdin are what it receives. Driven by
 * agent/test/unicorn_smoke.py. A TEST TOOL, simulated: not the emulator of host/emulator/cpu/.
 *
 * Virtual time: SysTick's counter goes down 64 cycles at every read of SYST_CVR; the flash
 * model finishes every operation at once (BSY never reads 1). When the agent polls the USART
 * status with nothing received for 200 polls in a row, the model blocks on stdin.
 *
 *   unicorn_part <f2|f4|l4> <agent.bin> <params.bin> <flash-image.bin>   (exit 3 on a fault)
 * The flash image is padded with 0xFF to 1 MiB. At exit the flash is written to
 * <flash-image.bin>.out and a line "EXIT <reason> pc=0x..." goes to stderr.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <unicorn/unicorn.h>

#define RAM_BASE 0x20000000u
#define RAM_SIZE 0x20000u
#define FLASH_BASE 0x08000000u
#define FLASH_SIZE 0x100000u
#define SYSMEM_BASE 0x1FFF0000u
#define SYSMEM_SIZE 0x10000u
#define APB_BASE 0x40000000u
#define APB_SIZE 0x30000u
#define AHB2_BASE 0x48000000u
#define AHB2_SIZE 0x2000u
#define PPB_BASE 0xE000E000u
#define PPB_SIZE 0x1000u

static uc_engine *uc;
static bool l4;
static uint8_t flash[FLASH_SIZE];
static uint32_t regs[APB_SIZE / 4];
static uint32_t ahb2[AHB2_SIZE / 4];
static uint32_t syst_cvr = 0xFFFFFF, syst_csr, syst_rvr;
static uint32_t flash_cr, flash_sr, key_state;
static bool flash_locked = true;
static uint32_t l4_pending_lo, l4_pending_addr;
static bool l4_have_lo;
static int idle_polls;
static const char *exit_reason;
/* with UNICORN_PART_COUNT=<file>: every byte sent, with the instructions executed so far */
static uint64_t insns;
static FILE *count_log;

static unsigned long flash_ops;

static uint32_t usart_base(void) { return l4 ? 0x40013800u : 0x40011000u; }
static uint32_t flash_regs(void) { return l4 ? 0x40022000u : 0x40023C00u; }

static void stop(const char *why) {
  if (!exit_reason) exit_reason = why;
  uc_emu_stop(uc);
}

static int rx_byte = -1;

static bool rx_available(void) {
  if (rx_byte >= 0) return true;
  if (++idle_polls < 200) return false;
  fflush(stdout);
  uint8_t b;
  ssize_t n = read(0, &b, 1);
  if (n != 1) {
    stop("stdin closed");
    return false;
  }
  rx_byte = b;
  idle_polls = 0;
  return true;
}

/* ---- flash interface ---- */
static const uint32_t f4_sector_sizes[12] = {0x4000, 0x4000, 0x4000, 0x4000, 0x10000, 0x20000,
                                             0x20000, 0x20000, 0x20000, 0x20000, 0x20000, 0x20000};

static void f4_erase_sector(uint32_t snb) {
  uint32_t start = 0;
  if (snb >= 12) {
    flash_sr |= 1u << 7; /* PGSERR: no bank 2 on a 1 MiB part */
    return;
  }
  for (uint32_t i = 0; i < snb; i++) start += f4_sector_sizes[i];
  memset(flash + start, 0xFF, f4_sector_sizes[snb]);
  flash_ops++;
  flash_sr |= 1u; /* EOP */
}

static void flash_reg_write(uint32_t off, uint32_t v) {
  if (!l4) {
    switch (off) {
      case 0x04: /* KEYR */
        if (key_state == 0 && v == 0x45670123u) key_state = 1;
        else if (key_state == 1 && v == 0xCDEF89ABu) { flash_locked = false; key_state = 2; }
        else stop("flash: wrong key sequence");
        return;
      case 0x0C: flash_sr &= ~v; return; /* rc_w1 */
      case 0x10:
        if (flash_locked) { flash_sr |= 1u << 4; return; }
        flash_cr = v & ~(1u << 16);
        if (v & (1u << 31)) { flash_locked = true; key_state = 0; }
        if ((v & (1u << 16)) && (v & 2u)) {
          if (((v >> 8) & 3u) != 2u) stop("flash: erase with PSIZE not x32");
          f4_erase_sector((v >> 3) & 0x1Fu);
        }
        return;
      default: regs[(flash_regs() - APB_BASE + off) / 4] = v; return;
    }
  }
  switch (off) {
    case 0x08:
      if (key_state == 0 && v == 0x45670123u) key_state = 1;
      else if (key_state == 1 && v == 0xCDEF89ABu) { flash_locked = false; key_state = 2; }
      else stop("flash: wrong key sequence");
      return;
    case 0x10: flash_sr &= ~v; return;
    case 0x14:
      if (flash_locked) { flash_sr |= 1u << 4; return; }
      flash_cr = v & ~(1u << 16);
      if (v & (1u << 31)) { flash_locked = true; key_state = 0; }
      if ((v & (1u << 16)) && (v & 2u)) {
        uint32_t page = (v >> 3) & 0xFFu, bank = (v >> 11) & 1u;
        memset(flash + bank * 0x80000u + page * 0x800u, 0xFF, 0x800);
        flash_ops++;
        flash_sr |= 1u;
      }
      return;
    default: regs[(flash_regs() - APB_BASE + off) / 4] = v; return;
  }
}

static uint32_t flash_reg_read(uint32_t off) {
  if (!l4) {
    if (off == 0x0C) return flash_sr;
    if (off == 0x10) return flash_cr | (flash_locked ? 1u << 31 : 0);
  } else {
    if (off == 0x10) return flash_sr;
    if (off == 0x14) return flash_cr | (flash_locked ? 1u << 31 : 0);
    if (off == 0x20) return 1u << 21; /* OPTR.DUALBANK */
  }
  return regs[(flash_regs() - APB_BASE + off) / 4];
}

static uint64_t flash_read(uc_engine *u, uint64_t off, unsigned size, void *user) {
  (void)u; (void)user;
  uint64_t v = 0;
  memcpy(&v, flash + off, size);
  return v;
}

static void flash_write(uc_engine *u, uint64_t off, unsigned size, uint64_t value, void *user) {
  (void)u; (void)user;
  if (!(flash_cr & 1u) || flash_locked) { flash_sr |= 1u << 7; return; } /* PGSERR */
  if (size != 4 || off % 4) { flash_sr |= 1u << 5; return; }           /* PGAERR */
  if (!l4) {
    if (((flash_cr >> 8) & 3u) != 2u) { flash_sr |= 1u << 6; return; } /* PGPERR */
    uint32_t w;
    memcpy(&w, flash + off, 4);
    w &= (uint32_t)value;
    memcpy(flash + off, &w, 4);
    flash_ops++;
    flash_sr |= 1u;
    return;
  }
  if (!l4_have_lo) {
    if (off % 8) { flash_sr |= 1u << 5; return; }
    l4_pending_lo = (uint32_t)value;
    l4_pending_addr = (uint32_t)off;
    l4_have_lo = true;
    return;
  }
  l4_have_lo = false;
  if (off != l4_pending_addr + 4) { flash_sr |= 1u << 5; return; }
  uint64_t old;
  memcpy(&old, flash + l4_pending_addr, 8);
  if (old != UINT64_MAX) { flash_sr |= 1u << 3; return; } /* PROGERR: not erased */
  uint64_t dw = (uint64_t)l4_pending_lo | (uint64_t)(uint32_t)value << 32;
  memcpy(flash + l4_pending_addr, &dw, 8);
  flash_ops++;
  flash_sr |= 1u;
}

/* ---- APB/AHB1 peripherals ---- */
static uint64_t apb_read(uc_engine *u, uint64_t off, unsigned size, void *user) {
  (void)u; (void)user; (void)size;
  uint32_t a = APB_BASE + (uint32_t)off;
  uint32_t ub = usart_base();
  if (a >= flash_regs() && a < flash_regs() + 0x400) return flash_reg_read(a - flash_regs());
  if (a == ub + (l4 ? 0x1Cu : 0x00u)) { /* SR / ISR */
    uint32_t v = (1u << 7) | (1u << 6);
    if (rx_available()) v |= 1u << 5;
    return v;
  }
  if (a == ub + (l4 ? 0x24u : 0x04u)) { /* DR / RDR */
    int b = rx_byte;
    rx_byte = -1;
    idle_polls = 0;
    return b < 0 ? 0 : (uint32_t)b;
  }
  uint32_t v = regs[off / 4];
  if (!l4 && a == 0x40023800u) v = (v & ~(2u | 1u << 25)) | ((v & 1u) << 1) | ((v >> 24 & 1u) << 25); /* HSIRDY, PLLRDY */
  if (!l4 && a == 0x40023808u) v = (v & ~0xCu) | ((v & 3u) << 2);                        /* SWS = SW */
  if (l4 && a == 0x40021000u) v = (v & ~(1u << 10 | 1u << 25)) | ((v >> 8 & 1u) << 10) | ((v >> 24 & 1u) << 25) | 2u;
  if (l4 && a == 0x40021008u) v = (v & ~0xCu) | ((v & 3u) << 2);
  return v;
}

static void apb_write(uc_engine *u, uint64_t off, unsigned size, uint64_t value, void *user) {
  (void)u; (void)user; (void)size;
  uint32_t a = APB_BASE + (uint32_t)off;
  uint32_t ub = usart_base();
  if (a >= flash_regs() && a < flash_regs() + 0x400) { flash_reg_write(a - flash_regs(), (uint32_t)value); return; }
  if (a == ub + (l4 ? 0x28u : 0x04u)) { /* DR / TDR */
    uint32_t cr1 = regs[(ub - APB_BASE + (l4 ? 0x00u : 0x0Cu)) / 4];
    uint32_t ue = l4 ? 1u : 1u << 13, m = 1u << 12, pce = 1u << 10, te = 1u << 3;
    if ((cr1 & (ue | m | pce | te)) != (ue | m | pce | te)) stop("usart: transmit with the wrong word format or TE/UE off");
    putchar((int)(value & 0xFF));
    if (count_log) fprintf(count_log, "%02x %llu\n", (unsigned)(value & 0xFF), (unsigned long long)insns);
    idle_polls = 0;
    return;
  }
  regs[off / 4] = (uint32_t)value;
}

static uint64_t ahb2_read(uc_engine *u, uint64_t off, unsigned size, void *user) {
  (void)u; (void)user; (void)size;
  return ahb2[off / 4];
}
static void ahb2_write(uc_engine *u, uint64_t off, unsigned size, uint64_t value, void *user) {
  (void)u; (void)user; (void)size;
  ahb2[off / 4] = (uint32_t)value;
}

/* ---- SysTick and the SCB ---- */
static uint64_t ppb_read(uc_engine *u, uint64_t off, unsigned size, void *user) {
  (void)u; (void)user; (void)size;
  switch (off) {
    case 0x010: return syst_csr;
    case 0x014: return syst_rvr;
    case 0x018:
      syst_cvr = syst_cvr >= 64 ? syst_cvr - 64 : syst_rvr - (64 - syst_cvr);
      return syst_cvr;
    default: return 0;
  }
}

static void ppb_write(uc_engine *u, uint64_t off, unsigned size, uint64_t value, void *user) {
  (void)u; (void)user; (void)size;
  switch (off) {
    case 0x010: syst_csr = (uint32_t)value; return;
    case 0x014: syst_rvr = (uint32_t)value & 0xFFFFFF; return;
    case 0x018: syst_cvr = 0; return;
    case 0xD08: return; /* VTOR */
    case 0xD0C:
      if (value == 0x05FA0004u) stop("SYSRESETREQ");
      return;
    default: return;
  }
}

static void on_code(uc_engine *u, uint64_t addr, uint32_t size, void *user) {
  (void)u; (void)addr; (void)size; (void)user;
  insns++;
}

static void on_intr(uc_engine *u, uint32_t intno, void *user) {
  (void)u; (void)user;
  static char why[64];
  snprintf(why, sizeof why, "exception %u", intno);
  stop(why);
}

static uint8_t *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) { perror(path); exit(2); }
  static uint8_t buf[FLASH_SIZE];
  *n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  uint8_t *copy = malloc(*n ? *n : 1);
  memcpy(copy, buf, *n);
  return copy;
}

int main(int argc, char **argv) {
  if (argc != 5) { fprintf(stderr, "usage: %s f2|f4|l4 agent.bin params.bin flash.bin\n", argv[0]); return 2; }
  l4 = strcmp(argv[1], "l4") == 0;
  size_t nimg, nparams, nflash;
  uint8_t *img = slurp(argv[2], &nimg);
  uint8_t *params = slurp(argv[3], &nparams);
  uint8_t *fl = slurp(argv[4], &nflash);
  memset(flash, 0xFF, sizeof flash);
  memcpy(flash, fl, nflash);
  uint32_t sp, entry, load, params_at;
  memcpy(&sp, img, 4);
  memcpy(&entry, img + 4, 4);
  memcpy(&load, img + 0x50, 4);
  memcpy(&params_at, img + 0x58, 4);

  if (uc_open(UC_ARCH_ARM, UC_MODE_THUMB | UC_MODE_MCLASS, &uc) != UC_ERR_OK) return 2;
  uc_ctl_set_cpu_model(uc, UC_CPU_ARM_CORTEX_M4);
  uc_mem_map(uc, RAM_BASE, RAM_SIZE, UC_PROT_ALL);
  uc_mem_write(uc, load, img, nimg);
  uc_mem_write(uc, params_at, params, nparams);
  uc_mem_map(uc, SYSMEM_BASE, SYSMEM_SIZE, UC_PROT_READ);
  uint16_t kib = FLASH_SIZE / 1024;
  uc_mem_write(uc, l4 ? 0x1FFF75E0u : 0x1FFF7A22u, &kib, 2);
  uc_mmio_map(uc, FLASH_BASE, FLASH_SIZE, flash_read, NULL, flash_write, NULL);
  uc_mmio_map(uc, APB_BASE, APB_SIZE, apb_read, NULL, apb_write, NULL);
  uc_mmio_map(uc, AHB2_BASE, AHB2_SIZE, ahb2_read, NULL, ahb2_write, NULL);
  uc_err e = uc_mmio_map(uc, PPB_BASE, PPB_SIZE, ppb_read, NULL, ppb_write, NULL);
  if (e != UC_ERR_OK) fprintf(stderr, "PPB map: %s\n", uc_strerror(e));
  uc_hook h;
  uc_hook_add(uc, &h, UC_HOOK_INTR, (void *)on_intr, NULL, 1, 0);
  if (getenv("UNICORN_PART_COUNT")) {
    count_log = fopen(getenv("UNICORN_PART_COUNT"), "w");
    uc_hook_add(uc, &h, UC_HOOK_CODE, (void *)on_code, NULL, 1, 0);
  }
  uc_reg_write(uc, UC_ARM_REG_MSP, &sp);
  uc_reg_write(uc, UC_ARM_REG_SP, &sp);

  e = uc_emu_start(uc, entry, 0xFFFFFFFFu, 0, 0);
  uint32_t pc;
  uc_reg_read(uc, UC_ARM_REG_PC, &pc);
  fflush(stdout);
  char out[4096];
  snprintf(out, sizeof out, "%s.out", argv[4]);
  FILE *f = fopen(out, "wb");
  fwrite(flash, 1, sizeof flash, f);
  fclose(f);
  if (count_log) fclose(count_log);
  fprintf(stderr, "EXIT %s pc=0x%08x flash_ops=%lu%s%s\n", exit_reason ? exit_reason : "returned", pc, flash_ops,
          e ? " error: " : "", e ? uc_strerror(e) : "");
  if (exit_reason && strncmp(exit_reason, "exception", 9) == 0) return 3;
  return 0;
}
