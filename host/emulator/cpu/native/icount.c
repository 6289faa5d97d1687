/*
 * The instruction counter of the instruction-level emulated terminal (host/emulator/cpu/).
 *
 * Unicorn calls a UC_HOOK_CODE callback before every instruction it executes; this one adds one
 * to the 64-bit counter given as the hook's user data (and ends the time slice at a limit). A JavaScript callback per instruction
 * would cost about a microsecond each through koffi; this costs a few nanoseconds. The host
 * reads the counter (it owns the memory) at every MMIO access, its sync point.
 *
 * Only the callback's signature is needed (unicorn.h, uc_cb_hookcode_t):
 *   void (*)(uc_engine *uc, uint64_t address, uint32_t size, void *user_data)
 * so this file does not include unicorn.h and builds without the headers. C11.
 */
#include <stdint.h>

/*
 * The hook's user data, shared with the host (three u64 words it reads and writes):
 * `count` instructions so far, `pc` the address of the instruction being executed (so an MMIO
 * callback knows which instruction made the access); when `count` reaches `limit` (0 = none)
 * the hook calls `stop`
 * (the host puts uc_emu_stop's address there), which ends uc_emu_start after this
 * instruction: the machine's time slice, without Unicorn's own count (a second hook per
 * instruction) or its wall-time timer (a thread that stops the core at an arbitrary point).
 */
struct pw_counter {
    uint64_t count;
    uint64_t limit;
    uint64_t stop; /* int (*)(void *uc) */
    uint64_t pc;
};

typedef int (*pw_stop_fn)(void *uc);

void pw_icount_hook(void *uc, uint64_t address, uint32_t size, void *user_data);

void pw_icount_hook(void *uc, uint64_t address, uint32_t size, void *user_data)
{
    (void)size;
    struct pw_counter *c = (struct pw_counter *)user_data;
    c->count += 1u;
    c->pc = address;
    if (c->count == c->limit && c->stop != 0u) {
        ((pw_stop_fn)(uintptr_t)c->stop)(uc);
    }
}

/*
 * A native MMIO read callback for memory the host owns (the flash array of the FlashModel):
 * returns `size` bytes, little-endian, at `offset` in the bytes given as user data. Reads then
 * cost no JavaScript while writes to the same region still reach the host's flash interface
 * model (a JavaScript write callback). Signature: unicorn.h, uc_cb_mmio_read_t.
 */
uint64_t pw_bytes_read(void *uc, uint64_t offset, unsigned size, void *user_data);

uint64_t pw_bytes_read(void *uc, uint64_t offset, unsigned size, void *user_data)
{
    (void)uc;
    const uint8_t *bytes = (const uint8_t *)user_data + offset;
    uint64_t value = 0;
    for (unsigned i = 0; i < size && i < 8u; i++) {
        value |= (uint64_t)bytes[i] << (8u * i);
    }
    return value;
}
