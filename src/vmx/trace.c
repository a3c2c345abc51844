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

/* The annotation instruction: its payload registers, at the level of the
 * code that executed it (root operation is level 0: the bare hypervisor;
 * under --l0 guest code is never in root operation). */
static void annotate_event(void *ctx, const struct cpu *c)
{
    struct vmx *v = ctx;
    struct trace_event ev = {
        .type = TRACE_EV_annotate,
        .cycles = c->cycles,
        .insns = c->stats.insns,
        .level = c->vmx_nonroot ? vmx_get_level(v) : 0,
        .vmcs = v->current_vmcs,
        .annotate = { .rip = c->rip, .rax = c->gpr[0], .rbx = c->gpr[3], .rcx = c->gpr[1] },
    };
    v->trace_fn(v->trace_ctx, &ev);
}

void vmx_set_trace(struct vmx *v, vmx_trace_fn fn, void *ctx)
{
    v->trace_fn = fn;
    v->trace_ctx = fn ? ctx : NULL;
    v->cpu->annotate = fn ? annotate_event : NULL;
    v->cpu->annotate_ctx = fn ? v : NULL;
}

int vmx_get_level(const struct vmx *v) { return v->level ? v->level : 1; }

bool vmx_trace_enabled(const struct vmx *v) { return vmx_tracing(v); }

void vmx_trace_emit(struct vmx *v, struct trace_event *ev)
{
    if (vmx_tracing(v))
        vmx_emit(v, ev);
}

const struct vmx_stats *vmx_get_stats(const struct vmx *v) { return &v->stats; }
