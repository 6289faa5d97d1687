/* Facts of this build that the agent reports (image header, HELLO). */
#ifndef AGENT_AGENT_H
#define AGENT_AGENT_H

#include <stdint.h>

#define AGENT_VERSION 1u
#define AGENT_HEADER_MAGIC 0x47415750u /* "PWAG" */
#define AGENT_HEADER_VERSION 1u
#define AGENT_KIND_SIZE 8u
#define MODULE_SHA256_SIZE 32u

#if defined(AGENT_KIND_F4)
#define AGENT_KIND_NAME "f4"
#elif defined(AGENT_KIND_F2)
#define AGENT_KIND_NAME "f2"
#elif defined(AGENT_KIND_L4)
#define AGENT_KIND_NAME "l4"
#else
#error "define AGENT_KIND_F2, AGENT_KIND_F4 or AGENT_KIND_L4"
#endif

/* the image header after the vector table (docs/agent.md "Image layout", offset 0x40) */
typedef struct {
  uint32_t magic;
  uint32_t header_version;
  uint32_t link_version;
  uint32_t abi_version;
  uint32_t link_address;
  uint32_t image_size;
  uint32_t params;
  uint32_t ram_end;
  char kind[AGENT_KIND_SIZE];
  uint8_t module_sha256[MODULE_SHA256_SIZE];
  uint32_t agent_version;
} agent_header_t;

#define EXCEPTION_VECTORS 14u /* NMI .. SysTick */

/* the vector table and header at the link address (startup.c) */
typedef struct {
  void *initial_sp;
  void (*reset)(void);
  void (*exceptions[EXCEPTION_VECTORS])(void);
  agent_header_t header;
} image_head_t;

extern const image_head_t image_head;
#define agent_header (image_head.header)

/* the main loop; image_crc = CRC-32 of the image as it lay in RAM at reset */
__attribute__((noreturn)) void agent_main(uint32_t image_crc);
/* SYSRESETREQ (ARMv7-M ARM B3.2.6) */
__attribute__((noreturn)) void system_reset(void);
/* CRC-32 of [link address, link address + image size) */
uint32_t agent_image_crc(void);

#endif
