/*
 * USART bring-up and polled I/O, register by register.
 * F2/F4: RM0033 §25.6 / RM0090 §30.6 (SR 0x00, DR 0x04, BRR 0x08, CR1 0x0C, CR2 0x10, CR3 0x14).
 * L4:    RM0351 §40.8 (CR1 0x00, CR2 0x04, CR3 0x08, BRR 0x0C, ISR 0x1C, ICR 0x20, RDR 0x24,
 *        TDR 0x28).
 * GPIO:  RM0033 §6.4 / RM0090 §8.4 / RM0351 §8.5 (MODER 0x00, OSPEEDR 0x08, PUPDR 0x0C,
 *        AFRL 0x20, AFRH 0x24), the same on all three families.
 */
#include "usart.h"

#include "mmio.h"
#include "timer.h"

/* ---- GPIO ---- */
#define GPIO_MODER 0x00u
#define GPIO_OSPEEDR 0x08u
#define GPIO_PUPDR 0x0Cu
#define GPIO_AFRL 0x20u
#define GPIO_AFRH 0x24u
#define GPIO_MODER_AF 0x2u     /* 0b10 alternate function */
#define GPIO_OSPEEDR_HIGH 0x2u /* 0b10 high speed */
#define GPIO_PUPDR_NONE 0x0u
#define GPIO_PUPDR_UP 0x1u     /* 0b01 pull-up */
#define GPIO_FIELD2_MASK 0x3u
#define GPIO_AF_MASK 0xFu
#define GPIO_AF_PINS_PER_REG 8u

/* ---- USART ---- */
#if defined(AGENT_KIND_L4)
#define USART_CR1 0x00u
#define USART_CR2 0x04u
#define USART_CR3 0x08u
#define USART_BRR 0x0Cu
#define USART_ISR 0x1Cu
#define USART_ICR 0x20u
#define USART_RDR 0x24u
#define USART_TDR 0x28u
#define USART_CR1_UE (1u << 0)
#define USART_CR1_RE (1u << 2)
#define USART_CR1_TE (1u << 3)
#define USART_CR1_PS (1u << 9)
#define USART_CR1_PCE (1u << 10)
#define USART_CR1_M0 (1u << 12) /* M1:M0 = 01: 9 data bits */
#define USART_CR1_OVER8 (1u << 15)
#define USART_CR1_M USART_CR1_M0
#define USART_STAT_PE (1u << 0)
#define USART_STAT_FE (1u << 1)
#define USART_STAT_NF (1u << 2)
#define USART_STAT_ORE (1u << 3)
#define USART_STAT_RXNE (1u << 5)
#define USART_STAT_TC (1u << 6)
#define USART_STAT_TXE (1u << 7)
#define USART_ICR_PECF (1u << 0)
#define USART_ICR_FECF (1u << 1)
#define USART_ICR_NCF (1u << 2)
#define USART_ICR_ORECF (1u << 3)
#define USART_STATUS USART_ISR
#define USART_RXD USART_RDR
#define USART_TXD USART_TDR
#else
#define USART_SR 0x00u
#define USART_DR 0x04u
#define USART_BRR 0x08u
#define USART_CR1 0x0Cu
#define USART_CR2 0x10u
#define USART_CR3 0x14u
#define USART_CR1_RE (1u << 2)
#define USART_CR1_TE (1u << 3)
#define USART_CR1_PS (1u << 9)
#define USART_CR1_PCE (1u << 10)
#define USART_CR1_M (1u << 12)  /* 9 data bits */
#define USART_CR1_UE (1u << 13)
#define USART_CR1_OVER8 (1u << 15)
#define USART_STAT_PE (1u << 0)
#define USART_STAT_FE (1u << 1)
#define USART_STAT_NF (1u << 2)
#define USART_STAT_ORE (1u << 3)
#define USART_STAT_RXNE (1u << 5)
#define USART_STAT_TC (1u << 6)
#define USART_STAT_TXE (1u << 7)
#define USART_STATUS USART_SR
#define USART_RXD USART_DR
#define USART_TXD USART_DR
#endif
#define USART_CR2_STOP_1 0x0u /* STOP[13:12] = 00: 1 stop bit */
#define USART_DATA_MASK 0xFFu /* with parity the 9th bit is the parity bit */
/* the longest a byte can take at the slowest baud rate the bootloader speaks (1200), x10 */
#define USART_TX_TIMEOUT_US 100000u

static uint32_t base;

uint32_t usart_base(void) { return base; }

static void set_field(uint32_t reg, uint32_t shift, uint32_t mask, uint32_t value) {
  REG32(reg) = (REG32(reg) & ~(mask << shift)) | (value << shift);
}

static void pin_af(uint32_t gpio, uint32_t pin, uint32_t af, uint32_t pull) {
  set_field(gpio + GPIO_MODER, 2u * pin, GPIO_FIELD2_MASK, GPIO_MODER_AF);
  set_field(gpio + GPIO_OSPEEDR, 2u * pin, GPIO_FIELD2_MASK, GPIO_OSPEEDR_HIGH);
  set_field(gpio + GPIO_PUPDR, 2u * pin, GPIO_FIELD2_MASK, pull);
  uint32_t afr = pin < GPIO_AF_PINS_PER_REG ? GPIO_AFRL : GPIO_AFRH;
  set_field(gpio + afr, 4u * (pin % GPIO_AF_PINS_PER_REG), GPIO_AF_MASK, af);
}

void usart_init(const agent_params_t *p) {
  base = p->usart;
  /* clock enables: GPIO port first, then the USART; the read back lets the enable settle
   * (RM0090 §6.3.10: two AHB cycles before the peripheral can be accessed) */
  REG32(p->gpio_clock_reg) |= p->gpio_clock_mask;
  (void)REG32(p->gpio_clock_reg);
  REG32(p->usart_clock_reg) |= p->usart_clock_mask;
  (void)REG32(p->usart_clock_reg);
  dsb();

  pin_af(p->gpio, p->tx_pin, p->af, GPIO_PUPDR_NONE);
  pin_af(p->gpio, p->rx_pin, p->af, GPIO_PUPDR_UP);

  REG32(base + USART_CR1) = 0; /* UE off while the frame format and divider are set */
  REG32(base + USART_CR1) = USART_CR1_M | USART_CR1_PCE; /* PS = 0: even; OVER8 = 0: by 16 */
  REG32(base + USART_CR2) = USART_CR2_STOP_1;
  REG32(base + USART_CR3) = 0;
  REG32(base + USART_BRR) = usart_brr(p->core_clock_hz, p->baud);
  REG32(base + USART_CR1) |= USART_CR1_TE | USART_CR1_RE;
  REG32(base + USART_CR1) |= USART_CR1_UE;
}

bool usart_get(uint8_t *byte) {
  uint32_t st = REG32(base + USART_STATUS);
  if (!(st & (USART_STAT_RXNE | USART_STAT_ORE))) return false;
#if defined(AGENT_KIND_L4)
  uint8_t b = (uint8_t)(REG32(base + USART_RXD) & USART_DATA_MASK); /* clears RXNE */
  if (st & (USART_STAT_PE | USART_STAT_FE | USART_STAT_NF | USART_STAT_ORE))
    REG32(base + USART_ICR) = USART_ICR_PECF | USART_ICR_FECF | USART_ICR_NCF | USART_ICR_ORECF;
#else
  /* reading SR then DR clears PE, FE, NF and ORE (RM0090 §30.6.1) */
  uint8_t b = (uint8_t)(REG32(base + USART_RXD) & USART_DATA_MASK);
#endif
  if (st & (USART_STAT_PE | USART_STAT_FE)) return false; /* a garbled byte is dropped */
  if (!(st & USART_STAT_RXNE)) return false;               /* overrun only: nothing valid */
  *byte = b;
  return true;
}

void usart_put(uint8_t byte) {
  uint64_t deadline = timer_poll() + USART_TX_TIMEOUT_US;
  while (!(REG32(base + USART_STATUS) & USART_STAT_TXE)) {
    if (timer_poll() >= deadline) return; /* a USART that never empties: the host's timeout */
  }
  REG32(base + USART_TXD) = byte;
}

void usart_write(const uint8_t *p, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) usart_put(p[i]);
}

void usart_flush(void) {
  uint64_t deadline = timer_poll() + USART_TX_TIMEOUT_US;
  while (!(REG32(base + USART_STATUS) & USART_STAT_TC)) {
    if (timer_poll() >= deadline) return;
  }
}

void usart_set_clock(uint32_t bus_clock_hz, uint32_t baud) {
#if defined(AGENT_KIND_L4)
  /* RM0351 §40.8.4: BRR can be written only when the USART is disabled (UE = 0) */
  REG32(base + USART_CR1) &= ~USART_CR1_UE;
  REG32(base + USART_BRR) = usart_brr(bus_clock_hz, baud);
  REG32(base + USART_CR1) |= USART_CR1_UE;
#else
  REG32(base + USART_BRR) = usart_brr(bus_clock_hz, baud);
#endif
}
