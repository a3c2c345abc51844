/* Reporting VMX transitions: stamps an event with the modelled time, the
 * instruction count and the current VMCS, and hands it to the sink that the
 * CLI installed. With no sink, callers skip building events (vmx_tracing()). */
#include "vmx_internal.h"

void vmx_emit(struct vmx *v, struct trace_event *ev)
{
    const struct cpu *c = v->cpu;
    ev->cycles = c->cycles;
    ev->insns = c->stats.insns;
    ev->vmcs = v->current_vmcs;
    if (!ev->level)
        ev->level = 1; /* bare mode: the hardware's guest is level 1 */
    if (v->trace_fn)
        v->trace_fn(v->trace_ctx, ev);
}

void vmx_set_trace(struct vmx *v, vmx_trace_fn fn, void *ctx)
{
    v->trace_fn = fn;
    v->trace_ctx = fn ? ctx : NULL;
}

int vmx_get_level(const struct vmx *v) { return v->level ? v->level : 1; }

bool vmx_trace_enabled(const struct vmx *v) { return vmx_tracing(v); }

void vmx_trace_emit(struct vmx *v, struct trace_event *ev)
{
    if (vmx_tracing(v))
        vmx_emit(v, ev);
}

const struct vmx_stats *vmx_get_stats(const struct vmx *v) { return &v->stats; }
