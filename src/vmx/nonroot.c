/* VMX non-root operation, instructions: does an instruction the CPU is about
 * to execute cause a VM exit under the controls in force (SDM 3C
 * "Instructions That Cause VM Exits Unconditionally", "Instructions That
 * Cause VM Exits Conditionally")? The CPU asks through cpu_intercept() at
 * the point the SDM gives the exit its priority. Events are in
 * nonroot_events.c.
 *
 * MONITOR, MWAIT, XSETBV, GETSEC, RDPMC, RDRAND and RDSEED are not
 * advertised by the CPU models, so they are #UD before any VM exit could
 * happen (SDM 3C "Relative Priority of Faults and VM Exits": #UD first);
 * their reasons are decided here all the same for a CPU that gains them. */
#include "vmx_internal.h"

/* CR access exit qualification fields (SDM 3C "Exit Qualification for
 * Control-Register Accesses") */
#define CRQ_TYPE(q) (((q) >> 4) & 3u)
#define CRQ_MOV_TO_CR 0u
#define CRQ_MOV_FROM_CR 1u
#define CRQ_CLTS 2u
#define CRQ_LMSW 3u
#define CRQ_LMSW_SRC(q) (((q) >> 16) & 0xffffu)

static bool proc2_on(const struct vmx *v, uint32_t bit)
{
    return (v->proc & PROC_ACTIVATE_SECONDARY_CONTROLS) && (v->proc2 & bit);
}

/* SDM 3C "CR access": MOV to CR0/CR4 exits when a bit owned by the host
 * (set in the guest/host mask) would take a value other than its read
 * shadow; CLTS when CR0.TS is owned and the shadow's TS is 1; LMSW when an
 * owned bit among MP, EM, TS would differ from the shadow, or an owned PE
 * is 0 in the shadow and LMSW sets it (LMSW never clears PE). CR3 loads
 * exit unless the value is one of the first CR3-target-count targets. */
static bool cr_access_exits(struct vmx *v, const struct cpu_intercept *q)
{
    unsigned type = CRQ_TYPE(q->qual);
    uint64_t mask0 = vmcs_get(v, VMCS_cr0_guest_host_mask);
    uint64_t shadow0 = vmcs_get(v, VMCS_cr0_read_shadow);

    switch (type) {
    case CRQ_CLTS:
        return (mask0 & CR0_TS) && (shadow0 & CR0_TS);
    case CRQ_LMSW: {
        uint64_t src = CRQ_LMSW_SRC(q->qual);
        uint64_t low = CR0_MP | CR0_EM | CR0_TS;
        if ((mask0 & low) & (src ^ shadow0))
            return true;
        return (mask0 & CR0_PE) && !(shadow0 & CR0_PE) && (src & CR0_PE);
    }
    case CRQ_MOV_FROM_CR:
        if (q->cr == 3)
            return v->proc & PROC_CR3_STORE_EXITING;
        if (q->cr == 8)
            return v->proc & PROC_CR8_STORE_EXITING;
        return false;
    default:
        break;
    }
    switch (q->cr) {
    case 0:
        return (mask0 & (q->value ^ shadow0)) != 0;
    case 4: {
        uint64_t mask4 = vmcs_get(v, VMCS_cr4_guest_host_mask);
        return (mask4 & (q->value ^ vmcs_get(v, VMCS_cr4_read_shadow))) != 0;
    }
    case 3: {
        if (!(v->proc & PROC_CR3_LOAD_EXITING))
            return false;
        uint32_t n = (uint32_t)vmcs_get(v, VMCS_cr3_target_count);
        for (uint32_t i = 0; i < n && i < 4; i++)
            if (vmcs_get(v, (enum vmcs_field)(VMCS_cr3_target_value0 + i)) == q->value)
                return false;
        return true;
    }
    case 8:
        return v->proc & PROC_CR8_LOAD_EXITING;
    default:
        return false;
    }
}

/* SDM 3C "I/O instructions": unconditional I/O exiting applies only without
 * I/O bitmaps; with them, bitmap A covers ports 0000-7FFF and B 8000-FFFF,
 * an access exits if any of its ports has its bit set, and an access that
 * wraps from FFFF to 0000 always exits. */
static bool io_exits(struct cpu *c, struct vmx *v, const struct cpu_intercept *q)
{
    if (!(v->proc & PROC_USE_IO_BITMAPS))
        return v->proc & PROC_UNCONDITIONAL_IO_EXITING;
    unsigned size = q->io_size ? q->io_size : 1;
    if ((uint32_t)q->port + size - 1 > 0xffff)
        return true;
    for (unsigned i = 0; i < size; i++) {
        unsigned port = q->port + i;
        uint64_t bm = vmcs_get(v, port < 0x8000 ? VMCS_io_bitmap_a : VMCS_io_bitmap_b);
        uint8_t byte = (uint8_t)cpu_phys_read(c, bm + ((port & 0x7fff) >> 3), 1);
        if (byte & (1u << (port & 7)))
            return true;
    }
    return false;
}

/* SDM 3C "RDMSR" / "WRMSR" and "MSR-Bitmap Address": without MSR bitmaps
 * every access exits; with them, the read bitmaps for low (0-1FFF) and
 * high (C0000000-C0001FFF) MSRs are at offsets 0 and 1024, the write
 * bitmaps at 2048 and 3072; any other MSR always exits. */
static bool msr_exits(struct cpu *c, struct vmx *v, const struct cpu_intercept *q)
{
    if (!(v->proc & PROC_USE_MSR_BITMAPS))
        return true;
    uint32_t msr = q->msr;
    uint32_t off;
    if (msr <= 0x1fff)
        off = 0;
    else if (msr >= 0xc0000000u && msr <= 0xc0001fffu)
        off = 1024;
    else
        return true;
    if (q->write)
        off += 2048;
    uint32_t bit = msr & 0x1fff;
    uint64_t pa = vmcs_get(v, VMCS_msr_bitmap) + off + (bit >> 3);
    return (cpu_phys_read(c, pa, 1) >> (bit & 7)) & 1;
}

/* SDM 3C "PAUSE": "PAUSE exiting" exits always; otherwise "PAUSE-loop
 * exiting" at CPL 0 measures the time (modelled cycles, the TSC's unit)
 * since the previous PAUSE: more than PLE_Gap starts a new loop (as does
 * the first PAUSE after VM entry); a loop longer than PLE_Window exits. */
static bool pause_exits(struct cpu *c, struct vmx *v)
{
    if (v->proc & PROC_PAUSE_EXITING)
        return true;
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

/* RDTSCP: #UD unless "enable RDTSCP"; exits as RDTSCP when "RDTSC exiting"
 * (SDM 3C "Changes to Instruction Behavior in VMX Non-Root Operation"). */
static bool rdtscp_exits(struct cpu *c, struct vmx *v)
{
    if (!proc2_on(v, PROC2_ENABLE_RDTSCP))
        cpu_raise(c, EXC_UD, false, 0);
    return v->proc & PROC_RDTSC_EXITING;
}

/* INVPCID: #UD unless "enable INVPCID"; exits when "INVLPG exiting". */
static bool invpcid_exits(struct cpu *c, struct vmx *v)
{
    if (!proc2_on(v, PROC2_ENABLE_INVPCID))
        cpu_raise(c, EXC_UD, false, 0);
    return v->proc & PROC_INVLPG_EXITING;
}

static bool insn_exits(struct cpu *c, struct vmx *v, const struct cpu_intercept *q)
{
    switch (q->reason) {
    /* SDM 3C "Instructions That Cause VM Exits Unconditionally" */
    case VMX_EXIT_cpuid:
    case VMX_EXIT_getsec:
    case VMX_EXIT_invd:
    case VMX_EXIT_xsetbv:
        return true;
    /* SDM 3C "Instructions That Cause VM Exits Conditionally" */
    case VMX_EXIT_hlt: return v->proc & PROC_HLT_EXITING;
    case VMX_EXIT_invlpg: return v->proc & PROC_INVLPG_EXITING;
    case VMX_EXIT_invpcid: return invpcid_exits(c, v);
    case VMX_EXIT_rdpmc: return v->proc & PROC_RDPMC_EXITING;
    case VMX_EXIT_rdtsc: return v->proc & PROC_RDTSC_EXITING;
    case VMX_EXIT_rdtscp: return rdtscp_exits(c, v);
    case VMX_EXIT_mwait: return v->proc & PROC_MWAIT_EXITING;
    case VMX_EXIT_monitor: return v->proc & PROC_MONITOR_EXITING;
    case VMX_EXIT_pause: return pause_exits(c, v);
    case VMX_EXIT_wbinvd: return proc2_on(v, PROC2_WBINVD_EXITING);
    case VMX_EXIT_rdrand: return proc2_on(v, PROC2_RDRAND_EXITING);
    case VMX_EXIT_rdseed: return proc2_on(v, PROC2_RDSEED_EXITING);
    case VMX_EXIT_gdtr_idtr_access:
    case VMX_EXIT_ldtr_tr_access: return proc2_on(v, PROC2_DESCRIPTOR_TABLE_EXITING);
    case VMX_EXIT_cr_access: return cr_access_exits(v, q);
    case VMX_EXIT_dr_access: return v->proc & PROC_MOV_DR_EXITING;
    case VMX_EXIT_io_instruction: return io_exits(c, v, q);
    case VMX_EXIT_rdmsr:
    case VMX_EXIT_wrmsr: return msr_exits(c, v, q);
    default: return false;
    }
}

bool vmx_hook_intercept(struct cpu *c, const struct cpu_intercept *q)
{
    struct vmx *v = vmx_of(c);

    if (!c->vmx_nonroot)
        return false;
    if (q->ud_check) {
        if (q->reason == VMX_EXIT_invpcid && !proc2_on(v, PROC2_ENABLE_INVPCID))
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
