/* VMX as hardware (src/vmx): VMXON/VMCS/VM entry/VM exit/non-root operation
 * for the CPU core, plugged in through include/nvmx/cpu_hooks.h, and the
 * events it reports to a trace sink. */
#ifndef NVMX_VMX_H
#define NVMX_VMX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nvmx/cpu.h"
#include "nvmx/trace_event.h"
#include "nvmx/vmcs.h"
#include "nvmx/vmx_arch.h"

struct vmx;

/* Capability MSR values of a CPU model, indexed by enum vmx_msr. */
struct vmx_caps {
    uint64_t msr[VMX_MSR_COUNT];
};

/* Check a model's capability MSRs against what nvmx implements: every
 * allowed-1 control bit, MISC feature, CR fixed bit and EPT/VPID capability
 * must be one nvmx models. On failure returns false with a message naming
 * the MSR and the bit. */
bool vmx_caps_validate(const struct vmx_caps *caps, char *err, size_t errlen);

/* Allowed-0 / allowed-1 settings of a control field (SDM 3C Appendix A
 * "VM-Execution Controls" and the exit/entry sections): the TRUE_ MSR when
 * IA32_VMX_BASIC[55] is set. */
uint32_t vmx_caps_allowed0(const struct vmx_caps *caps, enum vmx_msr m);
uint32_t vmx_caps_allowed1(const struct vmx_caps *caps, enum vmx_msr m);
/* A physical address is within the width VMX pointers may use: MAXPHYADDR,
 * or 32 bits when IA32_VMX_BASIC[48] is set (SDM 3C "Basic VMX Information"). */
bool vmx_caps_pa_valid(const struct vmx_caps *caps, unsigned maxphyaddr, uint64_t pa);

/* SDM 3C Appendix A: does a model with these capabilities have the MSR
 * (the TRUE_ MSRs need IA32_VMX_BASIC[55], the secondary-control, EPT/VPID
 * and VMFUNC MSRs their controls)? Reading an absent one is #GP(0). */
bool vmx_caps_msr_readable(const struct vmx_caps *caps, enum vmx_msr m);

/* ---- a read-only view of a VMCS (ARCHITECTURE.md "Seams for nesting") ----
 * The VM-entry checks read a VMCS only through a view: its fields, the
 * capabilities it is checked against and the facts of the entering
 * processor they consult. The hardware's view is its current VMCS; L0's is
 * a cached vmcs12 against L1's filtered capabilities. */
typedef uint64_t (*vmx_phys_read_fn)(void *ctx, uint64_t pa, unsigned size);
struct vmx_vmcs_view {
    const uint64_t *f;           /* VMCS_NFIELDS values, masked to their widths */
    uint64_t vmcs_ptr;           /* address of the VMCS (the current-VMCS pointer) */
    const struct vmx_caps *caps; /* capabilities the VMCS is checked against */
    unsigned maxphyaddr;         /* CPUID.80000008H:EAX[7:0] */
    unsigned linear_width;       /* CPUID.80000008H:EAX[15:8] (0: 48) */
    bool lma;                    /* IA32_EFER.LMA of the processor at VM entry */
    uint64_t efer;               /* IA32_EFER (for messages) */
    bool rtm;                    /* CPUID.(EAX=7,ECX=0):EBX.RTM[bit 11] */
    bool lbr;                    /* the model has IA32_DEBUGCTL.LBR (an LBR stack) */
    vmx_phys_read_fn phys_read;  /* memory the checks read (VMCS link pointer) */
    void *ctx;
};

/* The result of the VM-entry checks of SDM 3C "Checks on VMX Controls and
 * Host-State Area" and "Checks on the Guest-State Area" on a view. */
enum vmx_check_kind {
    VMX_CHECK_OK = 0,
    VMX_CHECK_VMFAIL,       /* VMfailValid(error): control or host-state rule */
    VMX_CHECK_ENTRY_FAILURE /* VM-entry failure exit 33 with qualification */
};
struct vmx_check_result {
    enum vmx_check_kind kind;
    uint32_t error;    /* VMX_CHECK_VMFAIL: VM-instruction error number */
    uint32_t qual;     /* VMX_CHECK_ENTRY_FAILURE: exit qualification */
    const char *check; /* the rule that failed, in words */
    char detail[192];  /* the field values that broke it */
};
/* Run the checks VMLAUNCH (launch) or VMRESUME performs after its own
 * instruction checks, in the SDM's order, without loading anything. The
 * PDPTE check that guest-state loading performs is not part of it. */
void vmx_check_vmcs(const struct vmx_vmcs_view *vw, bool launch, struct vmx_check_result *r);

/* ---- exit rules (vmx_exit_rules.def): pure functions of a view ---- */
struct cpu_intercept; /* include/nvmx/cpu_hooks.h */
/* Does the VMCS of vw make the instruction q cause a VM exit in VMX
 * non-root operation? Reads only vw's fields and, for the I/O and MSR
 * bitmaps, memory through vw->phys_read. *rule (if rule is not NULL) names
 * the rule that decided, in words (a static string). The #UD of disabled
 * RDTSCP/INVPCID and PAUSE-loop exiting are not rules: see nonroot.c. */
bool vmx_exit_rule_applies(const struct vmx_vmcs_view *vw, const struct cpu_intercept *q,
                           const char **rule);
/* Is there an exit rule for this basic exit reason? */
bool vmx_exit_rule_known(unsigned reason);
/* Does an exception (vector, #PF error code err) exit under vw's exception
 * bitmap and page-fault error-code mask/match (SDM 3C "Exception Bitmap")? */
bool vmx_exception_rule_applies(const struct vmx_vmcs_view *vw, int vector, uint32_t err,
                                const char **rule);

/* Give the CPU VMX (its model advertises CPUID.1:ECX.VMX[bit 5]). */
struct vmx *vmx_attach(struct cpu *c, const struct vmx_caps *caps);
void vmx_detach(struct cpu *c);

/* ---- root-mode API: a host written in C (src/nested's L0) ----
 * ARCHITECTURE.md "Two ways to run": everything a native host does to the
 * hardware goes through these calls, each charged by the cycle model like
 * the instruction it stands for. They run between cpu_run() calls, in VMX
 * root operation; they never fault and never touch RFLAGS. */
typedef void (*vmx_native_host_fn)(void *ctx);
/* Make the host native: it runs in 64-bit mode (IA32_EFER.LMA = 1 for the
 * VM-entry checks, whatever guest state the processor holds). A VM exit
 * records exit information and saves guest state as usual (SDM 3C "VM
 * Exits"), then, instead of loading host state,
 * leaves the processor in VMX root operation with the guest's registers,
 * calls fn(ctx) and makes cpu_run() return CPU_STOP_HOST. */
void vmx_set_native_host(struct vmx *v, vmx_native_host_fn fn, void *ctx);
/* Enter VMX operation with the VMXON region at pa (costed as VMXON). The
 * native host's own processor state is not the guest's business, so no CR0,
 * CR4 or IA32_FEATURE_CONTROL checks apply. */
void vmx_root_vmxon(struct vmx *v, uint64_t pa);
/* VMCLEAR / VMPTRLD of the region at pa (costed); pa must be a valid
 * region the host set up (its own memory). */
void vmx_root_vmclear(struct vmx *v, uint64_t pa);
void vmx_root_vmptrld(struct vmx *v, uint64_t pa);
/* The capabilities the hardware model was given (vmx_attach). */
const struct vmx_caps *vmx_get_caps(const struct vmx *v);
/* The current-VMCS pointer (~0 when none). */
uint64_t vmx_root_current(const struct vmx *v);
/* VMREAD / VMWRITE of the current VMCS (costed). VMWRITE masks the value
 * to the field's width and may write any field. */
uint64_t vmx_root_vmread(struct vmx *v, enum vmcs_field f);
void vmx_root_vmwrite(struct vmx *v, enum vmcs_field f, uint64_t val);
/* Read and write a VMCS field without cost, for traces and tests. */
uint64_t vmx_root_peek(const struct vmx *v, enum vmcs_field f);
/* VMLAUNCH (launch) or VMRESUME of the current VMCS: the launch-state
 * check, then VM entry (SDM 3C "VM Entries"). Returns VMX_INSN_OK when the
 * entry completed -- the guest runs at the next cpu_run(), or the entry
 * failed with a VM exit, which reached the native host already -- else the
 * VMfailValid error number (also written to the VM-instruction error
 * field). */
enum vmx_insn_err vmx_root_enter(struct vmx *v, bool launch);
/* The launch state of the current VMCS ("launched" = true). */
bool vmx_root_launched(const struct vmx *v);
/* Save the processor's state into the guest-state area of the current
 * VMCS as a VM exit would (SDM 3C "Saving Guest State"), including
 * IA32_EFER and IA32_PAT: for a host that takes over a running processor. */
void vmx_root_save_guest(struct vmx *v);
/* INVEPT (single-context for eptp, or all-context) and INVVPID (one
 * linear address of a VPID, one VPID, or every VPID but 0000H) of a native
 * host: the invalidations of SDM 3C "INVEPT", "INVVPID" (costed; no
 * operand checks, no RFLAGS). */
enum vmx_invvpid_kind { VMX_INVVPID_ADDRESS, VMX_INVVPID_CONTEXT, VMX_INVVPID_ALL_BUT_0 };
void vmx_root_invept(struct vmx *v, bool all_contexts, uint64_t eptp);
void vmx_root_invvpid(struct vmx *v, enum vmx_invvpid_kind kind, uint16_t vpid, uint64_t lin);
/* The nesting level of the guest the hardware runs next, stamped on the
 * vmentry/vmexit events (bare mode: 1). */
void vmx_set_level(struct vmx *v, int level);
/* That level (for logs: the level of the code running in non-root operation). */
int vmx_get_level(const struct vmx *v);

/* ---- trace events (the model: include/nvmx/trace_event.h) ---- */

typedef void (*vmx_trace_fn)(void *ctx, const struct trace_event *ev);
/* Install a sink; NULL turns tracing off (then events cost nothing). */
void vmx_set_trace(struct vmx *v, vmx_trace_fn fn, void *ctx);

/* For a native host's own events (src/nested): is a sink installed, and
 * stamp ev (cycles, instructions, current VMCS) and hand it to the sink. */
bool vmx_trace_enabled(const struct vmx *v);
void vmx_trace_emit(struct vmx *v, struct trace_event *ev);

/* Statistics kept whether or not a trace is written. */
struct vmx_stats {
    uint64_t exits[VMX_EXIT_MAX + 1];
    uint64_t exit_cycles[VMX_EXIT_MAX + 1]; /* from exit to the next entry */
    uint64_t entries, entry_failures, vmfails;
    /* VMREAD/VMWRITE in non-root operation that the shadow VMCS satisfied
     * without a VM exit (VMCS shadowing) */
    uint64_t shadow_vmreads, shadow_vmwrites;
    uint64_t pml_logged; /* guest-physical addresses written to the PML log */
    uint64_t ve_delivered; /* EPT violations converted to #VE */
};
const struct vmx_stats *vmx_get_stats(const struct vmx *v);

/* ---- VMCS shadowing (shadow.c): pure functions L0 reuses ---- */

/* Does a VMREAD (vmread bitmap) or VMWRITE (vmwrite bitmap) of encoding in
 * VMX non-root operation cause a VM exit? shadowing: the "VMCS shadowing"
 * control; read8 reads one byte of physical memory. */
bool vmx_shadow_bitmap_exits(bool shadowing, uint64_t bitmap_pa, uint64_t encoding,
                             uint8_t (*read8)(void *ctx, uint64_t pa), void *ctx);
/* Bitmaps from the shadow column of vmcs_fields.def (bits of RO and RW
 * fields clear in the VMREAD bitmap, of RW fields in the VMWRITE bitmap). */
void vmx_shadow_default_bitmaps(uint8_t vmread_bitmap[4096], uint8_t vmwrite_bitmap[4096]);

#endif
