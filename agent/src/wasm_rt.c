/*
 * A bare-metal wasm_rt for the wasm2c translation of the engine (wabt 1.0.32, wasm-rt.h).
 * One static 64 KiB linear memory in .bss, no heap; a trap longjmps back to the agent's job
 * loop (engine_host.c). Built with WASM_RT_MEMCHECK_SIGNAL_HANDLER=0: the generated code
 * bounds-checks every linear-memory access and calls wasm_rt_trap(WASM_RT_TRAP_OOB).
 */
#include <stdarg.h>

#include "wasm_rt_agent.h"

#define WASM_PAGE_SIZE 65536u
#define AGENT_MEMORY_PAGES 1u

/* the one linear memory the engine has (docs/abi.md: 1 page, max 1) */
static uint8_t linear_memory[AGENT_MEMORY_PAGES * WASM_PAGE_SIZE] __attribute__((aligned(8)));

uint32_t wasm_rt_call_stack_depth;

static bool initialized;
static bool memory_taken;
static uint32_t instantiate_failures;
static jmp_buf *trap_target;

void wasm_rt_init(void) {
  initialized = true;
  memory_taken = false;
  instantiate_failures = 0;
  wasm_rt_call_stack_depth = 0;
}

bool wasm_rt_is_initialized(void) { return initialized; }

void wasm_rt_free(void) { initialized = false; }

void wasm_rt_set_trap_target(jmp_buf *target) { trap_target = target; }

uint32_t wasm_rt_instantiate_failures(void) { return instantiate_failures; }

WASM_RT_NO_RETURN void wasm_rt_trap(wasm_rt_trap_t code) {
  if (trap_target) longjmp(*trap_target, code == WASM_RT_TRAP_NONE ? -1 : (int)code);
  /* a trap outside a job (cannot happen: only run() executes module code): hang, the host
   * hears silence and its timeout covers it */
  for (;;) {
  }
}

/* Function types are compared by index only: the engine has no call_indirect across modules,
 * so each distinct signature just needs a distinct number. */
uint32_t wasm_rt_register_func_type(uint32_t params, uint32_t results, ...) {
  static uint32_t next_type;
  (void)params;
  (void)results;
  return next_type++;
}

void wasm_rt_allocate_memory(wasm_rt_memory_t *memory, uint32_t initial_pages, uint32_t max_pages) {
  if (memory_taken || initial_pages > AGENT_MEMORY_PAGES || max_pages < initial_pages) {
    /* a module that wants more (or a second memory): no memory at all, every access traps */
    instantiate_failures++;
    memory->data = linear_memory;
    memory->pages = 0;
    memory->max_pages = 0;
    memory->size = 0;
    return;
  }
  memory_taken = true;
  for (uint32_t i = 0; i < sizeof linear_memory; i++) linear_memory[i] = 0;
  memory->data = linear_memory;
  memory->pages = initial_pages;
  memory->max_pages = initial_pages; /* no memory.grow beyond what is there */
  memory->size = initial_pages * WASM_PAGE_SIZE;
}

uint32_t wasm_rt_grow_memory(wasm_rt_memory_t *memory, uint32_t pages) {
  if (pages == 0) return memory->pages;
  return (uint32_t)-1; /* static memory: growing always fails, as wasm's memory.grow may */
}

void wasm_rt_free_memory(wasm_rt_memory_t *memory) {
  memory->size = 0;
  memory->pages = 0;
  memory_taken = false;
}
