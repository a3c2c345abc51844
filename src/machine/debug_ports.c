/* The two QEMU debugging ports guests use for output and for ending a run:
 * the Bochs/QEMU debug console at 0xe9 (reads 0xe9 to show it is present)
 * and isa-debug-exit at 0xf4 (a write of v ends the run; the process exits
 * with (v << 1) | 1, as under QEMU). */
#include "machine_private.h"

static uint32_t debugcon_read(void *ctx, uint16_t port, unsigned size)
{
    return DEBUGCON_PORT; /* the Bochs/QEMU presence check */
}

static void debugcon_write(void *ctx, uint16_t port, unsigned size, uint32_t val)
{
    struct machine *m = ctx;
    if (m->debugcon_out) {
        fputc((int)(val & 0xff), m->debugcon_out);
        machine_output_ok(m, m->debugcon_out, MACHINE_OUT_DEBUGCON);
    }
}

static void debug_exit_write(void *ctx, uint16_t port, unsigned size, uint32_t val)
{
    struct machine *m = ctx;
    m->exit_code = val;
    m->stop = MACHINE_DEBUG_EXIT;
}

bool debug_ports_attach(struct machine *m)
{
    return machine_add_ports(m, DEBUGCON_PORT, DEBUGCON_PORT, debugcon_read, debugcon_write,
                             m) &&
           machine_add_ports(m, DEBUG_EXIT_PORT, DEBUG_EXIT_PORT, NULL, debug_exit_write, m);
}
