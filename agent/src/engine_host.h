/* The engine (build/terminal.wasm through wasm2c) as the agent runs it: one instance over the
 * static linear memory, the hal.* imports bound to the flash drivers, traps caught. */
#ifndef AGENT_ENGINE_HOST_H
#define AGENT_ENGINE_HOST_H

#include <stdbool.h>
#include <stdint.h>

/* hal.event: the agent turns these into PROGRESS frames */
typedef void (*engine_event_fn)(uint32_t kind, uint32_t index);

typedef struct {
  bool trapped;
  uint32_t trap_code; /* wasm_rt_trap_t when trapped */
  uint32_t status;    /* run()'s return value otherwise */
} engine_outcome_t;

/* instantiate once; false when the module could not be instantiated */
bool engine_start(void);
uint8_t *engine_memory(void);
uint32_t engine_memory_size(void);
uint32_t engine_abi_version(void);
uint32_t engine_job_at(void);
uint32_t engine_result_at(void);
uint32_t engine_job_max(void);
uint32_t engine_result_max(void);
/* runs the job at JOB; every hal.event goes to on_event */
engine_outcome_t engine_run(engine_event_fn on_event);

#endif
