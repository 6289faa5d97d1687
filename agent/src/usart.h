/* The bootloader's USART, polled (docs/agent.md "USART bring-up"). The register layout is the
 * kind's: F2/F4 SR/DR (RM0033 §25.6, RM0090 §30.6), L4 ISR/RDR/TDR (RM0351 §40.8). */
#ifndef AGENT_USART_H
#define AGENT_USART_H

#include <stdbool.h>
#include <stdint.h>

#include "link.h"

/* clock enables, pins, 8 data bits + even parity (9-bit word), 1 stop bit, BRR, TE RE UE */
void usart_init(const agent_params_t *p);
/* one byte if one was received without a parity or framing error */
bool usart_get(uint8_t *byte);
/* waits for TXE (at most USART_TX_TIMEOUT_US) and writes the byte */
void usart_put(uint8_t byte);
void usart_write(const uint8_t *p, uint32_t n);
/* waits until the last byte has left the shift register (TC) */
void usart_flush(void);
/* a new divider for the USART's bus clock, same baud rate (after usart_flush) */
void usart_set_clock(uint32_t bus_clock_hz, uint32_t baud);
uint32_t usart_base(void);

#endif
