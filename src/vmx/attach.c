/* Giving a CPU VMX: the per-CPU VMX state and the hook table through which
 * the CPU core reaches src/vmx (include/nvmx/cpu_hooks.h). A CPU without
 * VMX keeps c->hooks == NULL and pays nothing. */
#include "entry_internal.h"

#include <stdlib.h>

static const struct cpu_hooks vmx_hooks = {
    .vmx_insn = vmx_hook_vmx_insn,
    .intercept = vmx_hook_intercept,
    .event = vmx_hook_event,
    .pending = vmx_hook_pending,
    .next_event = vmx_hook_next_event,
    .rdmsr = vmx_hook_rdmsr,
    .wrmsr = vmx_hook_wrmsr,
    .cr_allowed = vmx_hook_cr_allowed,
    .signal = vmx_hook_signal,
    .inactive = vmx_hook_inactive,
    .ept_fault = vmx_hook_ept_fault,
    .pml = vmx_hook_pml,
};

/* The processor comes out of reset outside VMX operation with no current
 * VMCS (SDM 3C "VMX Operation"). The caller has validated caps
 * (vmx_caps_validate). Returns NULL if memory runs out. */
struct vmx *vmx_attach(struct cpu *c, const struct vmx_caps *caps)
{
    struct vmx *v = calloc(1, sizeof(*v));
    if (!v)
        return NULL;
    v->cpu = c;
    v->caps = *caps;
    v->current_vmcs = VMX_INVALID_PTR;
    v->vmcs = &v->own;
    v->vmxon_ptr = VMX_INVALID_PTR;
    v->level = 1;
    for (unsigned i = 0; i < sizeof v->root_slots / sizeof v->root_slots[0]; i++)
        v->root_slots[i].pa = VMX_INVALID_PTR;
    v->maxphyaddr = cpu_maxphyaddr(c);
    v->linear_width = cpu_linear_width(c);
    v->rtm = cpu_has_feature(c, 7, 1, 11);
    c->vmx = v;
    c->hooks = &vmx_hooks;
    return v;
}

void vmx_detach(struct cpu *c)
{
    free(c->vmx);
    c->vmx = NULL;
    c->hooks = NULL;
    c->vmx_nonroot = false;
}
