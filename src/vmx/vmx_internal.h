/* Private to src/vmx: the per-CPU VMX state, the VMCS cache, and the entry
 * points the files of this module call in one another. */
#ifndef NVMX_VMX_INTERNAL_H
#define NVMX_VMX_INTERNAL_H

#include "nvmx/cpu_hooks.h"
#include "nvmx/ept.h"
#include "nvmx/vmcs.h"
#include "nvmx/vmx.h"

#include <string.h>

#define VMX_INVALID_PTR (~0ull) /* "no current VMCS" (SDM 3C "VMPTRST") */

/* Launch state of a VMCS (SDM 3C "VMCS Status"), kept in the region at
 * VMCS_LAUNCH_STATE_OFFSET. */
enum vmcs_launch_state { VMCS_STATE_CLEAR = 0, VMCS_STATE_LAUNCHED = 1 };

/* The current VMCS, cached in the processor (ARCHITECTURE.md "Where a VMCS
 * lives"): one slot per field, values already masked to the field width. */
struct vmcs_cache {
    uint64_t f[VMCS_NFIELDS];
};

struct vmx {
    struct cpu *cpu;
    struct vmx_caps caps;

    /* VMX operation (SDM 3C "VMX Operation") */
    bool in_vmx_operation;      /* between VMXON and VMXOFF */
    uint64_t vmxon_ptr;
    uint64_t current_vmcs;      /* VMX_INVALID_PTR when none */
    /* Contents of the current VMCS: own, or the root slot that keeps it
     * (switching among a native host's VMCSs moves a pointer). */
    struct vmcs_cache *vmcs;
    struct vmcs_cache own;
    bool vmcs_written;          /* a field of the cache was set since vmcs_load */
    uint32_t loaded_launch_state; /* the launch state vmx_root_vmptrld loaded */
    uint32_t launch_state;      /* of the current VMCS */
    bool shadow_vmcs_current;   /* current VMCS has the shadow indicator */

    /* Non-root operation bookkeeping, valid while cpu->vmx_nonroot */
    uint32_t pin, proc, proc2, exit_ctls, entry_ctls; /* controls in force */
    /* With "virtual NMIs", c->nmi_blocked holds virtual-NMI blocking in
     * non-root operation: the CPU sets it when it delivers an NMI and IRET
     * clears it, as SDM 3C "Changes to Instruction Behavior in VMX
     * Non-Root Operation" (IRET) wants; physical NMIs exit regardless. */
    uint8_t activity;           /* guest activity state loaded by VM entry
                                   (enum vmx_activity); shutdown and
                                   wait-for-SIPI hold while c->halted */
    bool mtf_pending;           /* an MTF VM exit is due after this instruction */
    bool preemption_active;
    uint64_t preemption_deadline; /* modelled cycle of the timer's expiry */
    uint64_t entry_cycles;      /* cycle count at the last VM entry */
    uint32_t last_exit_reason;  /* for exit-to-entry cycle accounting */
    uint64_t last_exit_cycles;  /* cycle count when that VM exit began */
    bool exit_open;             /* no VM entry has completed since it */
    /* Per-entry bookkeeping of nonroot*.c, cleared by every VM exit (so
     * the first pending() after an entry sees nr_started == false). */
    bool nr_started;            /* pending() has run since the last entry */
    uint64_t mtf_insns, mtf_exceptions; /* CPU counters at that point (MTF) */
    bool ple_valid;             /* a PAUSE at CPL 0 ran since the entry */
    uint64_t ple_last, ple_loop_start; /* cycles: last PAUSE, first of loop */

    /* VMCSs a native host made current through the root-mode API and left
     * active (root.c): the processor keeps them, as processors may keep
     * several active VMCSs (SDM 3C "VMCS Status"), until VMCLEAR. */
    struct vmx_root_slot {
        uint64_t pa;          /* VMX_INVALID_PTR: free */
        uint32_t launch_state;
        struct vmcs_cache vmcs;
    } root_slots[4];
    bool current_in_slot;     /* the current VMCS belongs to a root slot */
    /* A native host (vmx_set_native_host): VM exits call it instead of
     * loading host state. */
    vmx_native_host_fn native_fn;
    void *native_ctx;
    bool entry_events_pending;  /* a native host's VM entry still has to
                                   deliver its injected event / pending
                                   debug exceptions (entry.c) */
    uint32_t entry_events_intr_info;
    /* CPUID facts of the model the entry checks read (fixed for the
     * processor's life, read once by vmx_attach) */
    unsigned maxphyaddr, linear_width;
    bool rtm;
    int level;                  /* nesting level of the guest the hardware
                                   runs, for trace events (bare mode: 1) */
    uint32_t abort;             /* the VMX-abort indicator that stopped the
                                   processor (enum vmx_abort), 0: none */
    uint32_t abort_exit_reason; /* the exit reason of that VM exit */

    /* Reporting */
    vmx_trace_fn trace_fn;
    void *trace_ctx;
    struct vmx_stats stats;
};

static inline struct vmx *vmx_of(struct cpu *c) { return (struct vmx *)c->vmx; }

/* ---- VMCS (vmcs.c) ----------------------------------------------------------- */

static inline uint64_t vmcs_cache_get(const struct vmx *v, enum vmcs_field f) { return v->vmcs->f[f]; }
static inline uint64_t vmcs_view_get(const struct vmx_vmcs_view *vw, enum vmcs_field f)
{
    return vw->f[f];
}
/* A field of the current VMCS (struct vmx *) or of a view (the entry
 * checks read only views). */
#define vmcs_get(v, f)                                                                  \
    _Generic((v), const struct vmx_vmcs_view *: vmcs_view_get,                          \
             struct vmx_vmcs_view *: vmcs_view_get, default: vmcs_cache_get)((v), (f))
static inline void vmcs_set(struct vmx *v, enum vmcs_field f, uint64_t val)
{
    v->vmcs->f[f] = val & vmcs_width_mask(vmcs_fields[f].width);
    v->vmcs_written = true;
}
/* A view of the current VMCS with only its fields and memory, for the exit
 * rules (entry_view_current() adds what the entry checks need). */
uint64_t vmx_view_phys_read(void *ctx, uint64_t pa, unsigned size);
static inline void vmx_view_fields(struct vmx *v, struct vmx_vmcs_view *vw)
{
    memset(vw, 0, sizeof *vw);
    vw->f = v->vmcs->f;
    vw->vmcs_ptr = v->current_vmcs;
    vw->caps = &v->caps;
    vw->phys_read = vmx_view_phys_read;
    vw->ctx = v->cpu;
}
/* VMPTRLD: read the region at pa into the cache (fields, launch state). */
void vmcs_load(struct vmx *v, uint64_t pa);
/* Write the cached current VMCS back to its region (VMCLEAR, VMPTRLD of
 * another VMCS, VMXOFF). */
void vmcs_flush(struct vmx *v);
/* Read/write one field of a VMCS region in memory that is not current. */
uint64_t vmcs_mem_read(struct vmx *v, uint64_t pa, enum vmcs_field f);
void vmcs_mem_write(struct vmx *v, uint64_t pa, enum vmcs_field f, uint64_t val);
/* VMCLEAR of a region: its launch state becomes clear. */
void vmcs_mem_clear(struct vmx *v, uint64_t pa);

/* ---- VMX instruction results (insn.c, SDM 3C "Conventions") --------------- */

void vmx_succeed(struct cpu *c);
void vmx_fail_invalid(struct cpu *c);
void vmx_fail_valid(struct cpu *c, enum vmx_insn_err err);
/* VMfailValid if there is a current VMCS, else VMfailInvalid; traces it. */
void vmx_fail(struct cpu *c, struct vmx *v, enum vmx_insn_err err, const char *insn);

/* The physical-address width for VMX pointers (IA32_VMX_BASIC[48] limits to
 * 32 bits when set) and CPUID's MAXPHYADDR. */
bool vmx_pa_valid(const struct vmx *v, uint64_t pa);

/* ---- VM entry (entry.c, entry_checks.c) -------------------------------------- */

/* VMLAUNCH / VMRESUME after the instruction's own checks (CPL, current VMCS,
 * launch state, events blocked by MOV SS): the checks of SDM 3C "Checks on
 * VMX Controls and Host-State Area" and "Checks on the Guest-State Area",
 * guest-state loading, MSR loading, event injection. On success the CPU is
 * in non-root operation at the guest RIP (c->rip and c->next_rip).
 * Returns the VM-instruction error of a failed control or host-state check
 * (the caller reports VMfailValid), else VMX_INSN_OK (the entry completed,
 * or failed with a VM exit). */
enum vmx_insn_err vmx_vm_entry(struct cpu *c, struct vmx *v, bool launch);
/* The event injection / pending debug exceptions of a VM entry a native
 * host performed outside cpu_run(), at the run loop's first step. */
void vmx_deliver_entry_events(struct cpu *c, struct vmx *v);

/* ---- VM exit (exit.c) ---------------------------------------------------------- */

struct vmx_exit {
    uint32_t reason;       /* basic reason, with bit 31 for entry failures */
    uint64_t qual;
    uint64_t guest_linear;
    uint64_t guest_physical;
    uint32_t insn_len;     /* for exits caused by instructions */
    uint32_t insn_info;
    uint32_t intr_info;    /* VM-exit interruption information */
    uint32_t intr_error;
    bool rip_is_next;      /* guest RIP to save is the next instruction
                              (traps such as MTF) rather than c->rip */
    uint64_t pending_dbg;  /* guest pending debug exceptions to save (a
                              single-step trap an MTF exit overtook) */
};

/* Perform a VM exit (SDM 3C "VM Exits"): record exit information and
 * IDT-vectoring information, save guest state, store/load MSRs, load host
 * state (VMX abort on failure), leave non-root operation, trace, charge the
 * vm_exit cost. Afterwards c->rip is the host RIP. Callers inside an
 * instruction then call cpu_vmexit_unwind(c). */
void vmx_vm_exit(struct cpu *c, struct vmx *v, const struct vmx_exit *e);
/* SDM 3C "Saving Guest State": the processor's state into the guest-state
 * area of the current VMCS (e gives the RIP rule and pending debug
 * exceptions). */
void vmx_save_guest_state(struct cpu *c, struct vmx *v, const struct vmx_exit *e);
/* Exit-to-entry accounting (vmx_stats.exit_cycles): the guest is running
 * again, so the time since the last VM exit began goes to its reason. */
void vmx_account_exit_to_entry(struct cpu *c, struct vmx *v);

/* ---- non-root operation (nonroot.c): the cpu_hooks entries --------------------- */

bool vmx_hook_intercept(struct cpu *c, const struct cpu_intercept *q);
bool vmx_hook_event(struct cpu *c, int vector, enum cpu_event_type type, bool has_err,
                    uint32_t err);
bool vmx_hook_pending(struct cpu *c);
uint64_t vmx_hook_next_event(struct cpu *c);
bool vmx_hook_cr_allowed(struct cpu *c, unsigned cr, uint64_t val);
enum cpu_signal_action vmx_hook_signal(struct cpu *c, enum cpu_signal s, uint8_t vector);
bool vmx_hook_inactive(const struct cpu *c);
/* The guest's activity state as a VM exit saves it (SDM 3C "Saving
 * Non-Register State"). */
static inline unsigned vmx_guest_activity(const struct cpu *c, const struct vmx *v)
{
    if (!c->halted)
        return VMX_ACTIVITY_ACTIVE;
    return v->activity == VMX_ACTIVITY_ACTIVE ? VMX_ACTIVITY_HLT : v->activity;
}

/* ---- instructions and capabilities (insn.c, caps.c) ------------------------------ */

void vmx_hook_vmx_insn(struct cpu *c, const struct cpu_vmx_insn *vi);
bool vmx_hook_rdmsr(struct cpu *c, uint32_t msr, uint64_t *val, bool *ok);
bool vmx_hook_wrmsr(struct cpu *c, uint32_t msr, uint64_t val, bool *ok);
/* Allowed-0 / allowed-1 settings of a control field (SDM 3C Appendix A):
 * use the TRUE_ MSR when IA32_VMX_BASIC[55] is set. */
uint32_t vmx_ctl_allowed0(const struct vmx *v, enum vmx_msr m);
uint32_t vmx_ctl_allowed1(const struct vmx *v, enum vmx_msr m);
/* CR0/CR4 values allowed in VMX operation by IA32_VMX_CR0/CR4_FIXED0/1. */
bool vmx_cr_fixed_ok(const struct vmx *v, uint64_t cr0, uint64_t cr4);
/* IA32_VMX_VMCS_ENUM for nvmx's field list (highest index, bits 9:1). */
uint64_t vmx_vmcs_enum(void);

/* ---- EPT (ept_exit.c) ------------------------------------------------------------- */

struct entry_ck;
/* IA32_VMX_EPT_VPID_CAP and MAXPHYADDR, as the EPT walker takes them. */
struct ept_caps vmx_ept_caps(const struct vmx *v);
/* VM entry: hand the CPU the EPT parameters of the controls in force. */
void vmx_ept_enter(struct cpu *c, const struct vmx *v, uint32_t proc2);
/* VM exit: store the PDPTEs in use (EPT and PAE paging). */
void vmx_ept_save_pdptes(struct cpu *c, struct vmx *v);
/* The CPU's ept_fault hook: VM exit 48 or 49. */
void vmx_hook_ept_fault(struct cpu *c, const struct cpu_ept_fault *f);
/* Page-modification logging before EPT A/D updates (pml.c) */
void vmx_hook_pml(struct cpu *c, uint64_t gpa, bool dirty);
/* EPT-violation #VE (ve.c): raise #VE for a convertible violation (does not
 * return then); returns if the violation is a VM exit. */
void vmx_ept_violation_ve(struct cpu *c, struct vmx *v, const struct cpu_ept_fault *f);
/* Was the instruction being executed an IRET that unblocked NMIs (for the
 * "NMI unblocking due to IRET" bits)? (nonroot_events.c) */
bool vmx_iret_unblocked_nmis(struct cpu *c);

/* ---- VPID, INVEPT, INVVPID (vpid.c) ----------------------------------------------- */

/* The software-TLB context and the invalidations of a VM entry (after the
 * guest state and c->nr are loaded) and of a VM exit (SDM 3C "VPID"). */
void vmx_tlb_enter(struct cpu *c, const struct vmx *v, uint32_t proc2);
void vmx_tlb_exit(struct cpu *c, const struct vmx *v);
void vmx_do_invept(struct cpu *c, struct vmx *v, const struct cpu_vmx_insn *vi);
/* VMFUNC (vmfunc.c) */
void vmx_do_vmfunc(struct cpu *c, struct vmx *v, const struct cpu_vmx_insn *vi);
void vmx_do_invvpid(struct cpu *c, struct vmx *v, const struct cpu_vmx_insn *vi);

/* ---- VMCS shadowing (shadow.c) ---------------------------------------------------- */

/* VMREAD/VMWRITE of encoding in non-root operation: true if it causes a VM
 * exit; otherwise counts and charges the shadowed access. */
bool vmx_shadow_intercept(struct cpu *c, struct vmx *v, uint64_t encoding, bool write);
/* The VMCS such an access reads or writes: the VMCS link pointer. */
uint64_t vmx_shadow_vmcs(const struct vmx *v);
uint64_t vmx_shadow_read(struct vmx *v, enum vmcs_field f);
void vmx_shadow_write(struct vmx *v, enum vmcs_field f, uint64_t val);

/* ---- reporting (trace.c) ------------------------------------------------------------ */

static inline bool vmx_tracing(const struct vmx *v) { return v->trace_fn != NULL; }
void vmx_emit(struct vmx *v, struct trace_event *ev); /* fills cycles/insns/vmcs */

#endif
