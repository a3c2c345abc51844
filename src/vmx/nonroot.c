/* VMX non-root operation, instructions: does an instruction the CPU is about
 * to execute cause a VM exit under the controls in force (SDM 3C
 * "Instructions That Cause VM Exits Unconditionally", "Instructions That
 * Cause VM Exits Conditionally")? The CPU asks through cpu_intercept() at
 * the point the SDM gives the exit its priority. Events are in
 * nonroot_events.c.
 *
 * MONITOR, MWAIT, GETSEC, RDPMC, RDRAND and RDSEED are not
 * advertised by the CPU models, so they are #UD before any VM exit could
 * happen (SDM 3C "Relative Priority of Faults and VM Exits": #UD first);
 * their reasons are decided here all the same for a CPU that gains them. */
#include "vmx_internal.h"

static bool proc2_on(const struct vmx *v, uint32_t bit)
{
    return (v->proc & PROC_ACTIVATE_SECONDARY_CONTROLS) && (v->proc2 & bit);
}

/* SDM 3C "PAUSE": with "PAUSE exiting" 0 (the exit rule), "PAUSE-loop
 * exiting" at CPL 0 measures the time (modelled cycles, the TSC's unit)
 * since the previous PAUSE: more than PLE_Gap starts a new loop (as does
 * the first PAUSE after VM entry); a loop longer than PLE_Window exits. */
static bool pause_loop_exits(struct cpu *c, struct vmx *v)
{
    if (!proc2_on(v, PROC2_PAUSE_LOOP_EXITING) || c->cpl != 0)
        return false;
    uint64_t now = c->cycles;
    uint32_t gap = (uint32_t)vmcs_get(v, VMCS_ple_gap);
    uint32_t window = (uint32_t)vmcs_get(v, VMCS_ple_window);
    if (!v->ple_valid || now - v->ple_last > gap) {
        v->ple_valid = true;
        v->ple_loop_start = now;
    }
    v->ple_last = now;
    return now - v->ple_loop_start > window;
}

/* The exit rules (vmx_exit_rules.def, exit_rules.c) decide; the side
 * effects stay here: RDTSCP is #UD unless "enable RDTSCP", INVPCID unless
 * "enable INVPCID" (SDM 3C "Changes to Instruction Behavior in VMX
 * Non-Root Operation"), both before any VM exit, and PAUSE-loop exiting. */
static bool insn_exits(struct cpu *c, struct vmx *v, const struct cpu_intercept *q)
{
    if (q->reason == VMX_EXIT_rdtscp && !proc2_on(v, PROC2_ENABLE_RDTSCP))
        cpu_raise(c, EXC_UD, false, 0);
    if (q->reason == VMX_EXIT_invpcid && !proc2_on(v, PROC2_ENABLE_INVPCID))
        cpu_raise(c, EXC_UD, false, 0);
    struct vmx_vmcs_view vw;
    vmx_view_fields(v, &vw);
    if (vmx_exit_rule_applies(&vw, q, NULL))
        return true;
    return q->reason == VMX_EXIT_pause && pause_loop_exits(c, v);
}

bool vmx_hook_intercept(struct cpu *c, const struct cpu_intercept *q)
{
    struct vmx *v = vmx_of(c);

    if (!c->vmx_nonroot)
        return false;
    if (q->ud_check) {
        if (q->reason == VMX_EXIT_invpcid && !proc2_on(v, PROC2_ENABLE_INVPCID))
            cpu_raise(c, EXC_UD, false, 0);
        /* XSAVES and XRSTORS: #UD unless "enable XSAVES/XRSTORS" */
        if ((q->reason == VMX_EXIT_xsaves || q->reason == VMX_EXIT_xrstors) &&
            !proc2_on(v, PROC2_ENABLE_XSAVES_XRSTORS))
            cpu_raise(c, EXC_UD, false, 0);
        return false;
    }
    if (!insn_exits(c, v, q))
        return false;
    struct vmx_exit e = {
        .reason = q->reason,
        .qual = q->qual,
        .guest_linear = q->has_linear ? q->guest_linear : 0,
        .insn_len = q->insn_len,
        .insn_info = q->insn_info,
    };
    vmx_vm_exit(c, v, &e);
    return true;
}
