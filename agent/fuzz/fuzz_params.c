/*
 * libFuzzer harness for the parameter block parser (agent/src/link.c params_parse).
 * Half the inputs get a correct CRC patched in so the value checks are reached. Checks: a block
 * is accepted only with the right magic, version and CRC; an accepted block's fields are within
 * their limits (the flash size whole KiB and at most the family's maximum, which the first byte
 * picks among F2/L4 1 MiB and F4 2 MiB) and re-encode to the same 52 bytes (the reserved byte aside).
 */
#include <stdlib.h>
#include <string.h>

#include "link.h"

#define KIB 1024u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < PARAMS_SIZE + 1) return 0;
  uint8_t b[PARAMS_SIZE];
  memcpy(b, data + 1, PARAMS_SIZE);
  if (data[0] & 1u) {
    put_le32(b + 0, PARAMS_MAGIC);
    put_le32(b + 4, PARAMS_VERSION);
  }
  if (data[0] & 4u) put_le32(b + 48, le32(b + 48) & 0x003FFC00u); /* whole KiB up to 4 MiB */
  if (data[0] & 2u) put_le32(b + 52, crc32(b, 52));
  uint32_t flash_max = (data[0] & 8u) ? 2048u * KIB : 1024u * KIB;
  agent_params_t p;
  memset(&p, 0xEE, sizeof p);
  params_status_t st = params_parse(b, flash_max, &p);
  bool framing_ok = le32(b) == PARAMS_MAGIC && le32(b + 4) == PARAMS_VERSION && le32(b + 52) == crc32(b, 52);
  if (st == PARAMS_OK) {
    if (!framing_ok) abort();
    if (p.tx_pin > 15 || p.rx_pin > 15 || p.af > 15 || p.baud == 0 || p.core_clock_hz == 0) abort();
    uint32_t brr = usart_brr(p.core_clock_hz, p.baud);
    if (brr < USART_BRR_MIN || brr > USART_BRR_MAX) abort();
    if (p.flash_size % KIB != 0u || p.flash_size > flash_max) abort();
    uint8_t r[PARAMS_SIZE];
    memset(r, 0, sizeof r);
    uint32_t words[10] = {PARAMS_MAGIC, PARAMS_VERSION, p.baud, p.core_clock_hz, p.usart,
                          p.usart_clock_reg, p.usart_clock_mask, p.gpio, p.gpio_clock_reg, p.gpio_clock_mask};
    for (int i = 0; i < 10; i++) put_le32(r + 4 * i, words[i]);
    r[40] = p.tx_pin;
    r[41] = p.rx_pin;
    r[42] = p.af;
    r[43] = b[43];
    put_le32(r + 44, p.idle_timeout_ms);
    put_le32(r + 48, p.flash_size);
    if (memcmp(r, b, 52) != 0) abort();
  } else {
    if (st == PARAMS_BAD_VALUE && !framing_ok) abort();
    if (st != PARAMS_BAD_VALUE && framing_ok) abort();
    /* a refused block leaves the output alone */
    uint8_t untouched[sizeof p];
    memset(untouched, 0xEE, sizeof untouched);
    if (memcmp(&p, untouched, sizeof p) != 0) abort();
  }
  return 0;
}
