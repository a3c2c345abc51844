/* How a run of `nvmx run` ended: the one closing line on stderr, the exit
 * status (docs/cli.md "Exit status") and the trace's last event, `end`
 * (docs/trace-schema.md), which names the same cause. */
#include "cli.h"
#include "nvmx/machine.h"
#include "nvmx/nested.h"
#include "nvmx/trace.h"
#include "nvmx/vmx.h"

#include <string.h>

static const char *output_name(enum machine_output o)
{
    switch (o) {
    case MACHINE_OUT_SERIAL: return "--serial";
    case MACHINE_OUT_DEBUGCON: return "--debugcon";
    case MACHINE_OUT_TRACE_INSNS: return "--trace-insns";
    default: return "output";
    }
}

static void vmx_abort_line(const struct cli_run_end_ctx *x, struct cli_end *e,
                           unsigned long long rip)
{
    uint32_t reason = 0;
    e->abort = x->l0 ? nested_last_abort(x->l0, &reason)
                     : vmx_last_abort(x->c->vmx, &reason);
    /* SDM 3C "VMX Aborts": the indicator is in the VMCS region and the
     * logical processor is in the shutdown state. */
    fprintf(stderr,
            "nvmx: VMX abort %u (%s) at a VM exit%s with reason %u (%s): the logical "
            "processor is in the shutdown state, RIP 0x%llx\n",
            (unsigned)e->abort, vmx_abort_text(e->abort), x->l0 ? " of L2 to L1" : "",
            (unsigned)(reason & 0xffff), vmx_exit_reason_name(reason & 0xffff), rip);
}

int cli_run_finish(const struct cli_run_end_ctx *x, struct cli_end *e)
{
    const struct cpu *c = x->c;
    const struct machine *m = x->m;
    unsigned long long rip = (unsigned long long)c->rip;
    memset(e, 0, sizeof(*e));
    e->status = CLI_EXIT_INTERNAL;
    e->cause = "internal_error";
    if (m->out_failed || (x->why == CPU_STOP_MACHINE && m->stop == MACHINE_HOST_ERROR)) {
        fprintf(stderr, "nvmx: run stopped at RIP 0x%llx: its output cannot be written\n", rip);
        if (m->out_failed)
            fprintf(stderr, "nvmx run: %s: writing '%s' failed: %s\n",
                    output_name(m->out_failed), x->out_path[m->out_failed],
                    strerror(m->out_errno));
        e->cause = "output_error";
        return e->status;
    }
    if (x->gdb_killed) {
        fprintf(stderr, "nvmx: killed by the debugger, RIP 0x%llx\n", rip);
        e->cause = "gdb_kill";
        return e->status = CLI_EXIT_GDB_KILLED;
    }
    switch (x->why) {
    case CPU_STOP_MACHINE:
        if (m->stop == MACHINE_DEBUG_EXIT) {
            e->status = (int)(((m->exit_code << 1) | 1) & 0xff);
            fprintf(stderr, "nvmx: debug-exit: guest wrote 0x%x (exit status %d), RIP 0x%llx\n",
                    m->exit_code, e->status, rip);
            e->cause = "debug_exit";
            return e->status;
        }
        if (m->stop == MACHINE_HOST_STOP) {
            e->signal = x->signal ? x->signal : "signal";
            fprintf(stderr, "nvmx: interrupted by %s, RIP 0x%llx\n", e->signal, rip);
            e->cause = "signal";
            return e->status = CLI_EXIT_SIGNAL;
        }
        break;
    case CPU_STOP_SHUTDOWN:
        if (nested_stopped_unsupported(x->l0)) {
            fprintf(stderr, "nvmx: L0 stopped on what it cannot emulate (above), RIP 0x%llx\n",
                    rip);
            e->cause = "l0_unsupported";
        } else {
            fprintf(stderr, "nvmx: shutdown (triple fault), RIP 0x%llx\n", rip);
            e->cause = "shutdown";
        }
        return e->status = CLI_EXIT_SHUTDOWN;
    case CPU_STOP_VMX_ABORT:
        vmx_abort_line(x, e, rip);
        e->cause = "vmx_abort";
        return e->status = CLI_EXIT_VMX_ABORT;
    case CPU_STOP_HLT_FOREVER:
        fprintf(stderr, "nvmx: HLT with nothing that can wake the CPU, RIP 0x%llx\n", rip);
        e->cause = "hlt_forever";
        return e->status = CLI_EXIT_HLT_FOREVER;
    case CPU_STOP_INSN_LIMIT:
        fprintf(stderr, "nvmx: instruction limit reached (%llu retired), RIP 0x%llx\n",
                (unsigned long long)c->stats.insns, rip);
        e->cause = "insn_limit";
        return e->status = CLI_EXIT_INSN_LIMIT;
    default: break;
    }
    fprintf(stderr, "nvmx: internal error: unexpected stop reason %d, RIP 0x%llx\n",
            (int)x->why, rip);
    return e->status;
}

void cli_run_end_trace(struct trace_writer *tw, const struct cpu *c, const struct cli_end *e)
{
    if (!tw || trace_writer_failed(tw))
        return;
    struct trace_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.type = TRACE_EV_end;
    ev.cycles = c->cycles;
    ev.insns = c->stats.insns;
    ev.level = c->vmx ? vmx_get_level(c->vmx) : 1;
    ev.vmcs = c->vmx ? vmx_root_current(c->vmx) : ~0ull;
    ev.end.cause = e->cause;
    ev.end.status = (uint32_t)e->status;
    ev.end.rip = c->rip;
    ev.end.abort = e->abort;
    ev.end.signal = e->signal;
    trace_write_event(tw, &ev);
}
