/* The agent's additions to wasm-rt.h (wasm_rt.c). */
#ifndef AGENT_WASM_RT_H
#define AGENT_WASM_RT_H

#include <wasm-rt.h>

/* where wasm_rt_trap longjmps to (setjmp value = the trap code); NULL = nowhere */
void wasm_rt_set_trap_target(jmp_buf *target);
/* how many memories the module asked for that the static runtime could not give */
uint32_t wasm_rt_instantiate_failures(void);

#endif
