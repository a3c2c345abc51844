/* Private to the VM-entry files (entry.c, entry_checks.c, entry_guest.c,
 * entry_load.c): the state one VM entry carries through its checks, the
 * check macros that record which rule failed, and the steps of SDM 3C
 * "VM Entries" each file provides. */
#ifndef NVMX_VMX_ENTRY_INTERNAL_H
#define NVMX_VMX_ENTRY_INTERNAL_H

#include "vmx_internal.h"

#include <stdarg.h>

/* IA32_VMX_BASIC and IA32_VMX_MISC bits the entry checks read (SDM 3C
 * "Basic VMX Information", "Miscellaneous Data"). */
#define VMX_BASIC_REVISION_MASK 0x7fffffffull
#define VMX_BASIC_TRUE_CTLS (1ull << 55)
#define VMX_BASIC_NO_ERRCODE_CHECK (1ull << 56)
#define VMX_MISC_PREEMPTION_RATE 0x1fu
#define VMX_MISC_ACT_HLT (1ull << 6)
#define VMX_MISC_ACT_SHUTDOWN (1ull << 7)
#define VMX_MISC_ACT_WAIT_SIPI (1ull << 8)
#define VMX_MISC_CR3_TARGETS_SHIFT 16
#define VMX_MISC_CR3_TARGETS_MASK 0x1ffu
#define VMX_MISC_ZERO_LEN_INJECTION (1ull << 30)

/* Interruption types of the VM-entry interruption-information field (SDM 3C
 * "VM-Entry Controls for Event Injection"); 0-6 are enum cpu_event_type. */
#define VMX_INTR_TYPE_RESERVED 1u
#define VMX_INTR_TYPE_OTHER 7u
#define VMX_INTR_INFO_RESERVED 0x7ffff000u /* bits 30:12 */

/* Exit qualification of a VM-entry failure exit (SDM 3C Table "Exit
 * Qualification for VM-Entry Failure"). The guest-state checks return it;
 * VMX_ENTRY_GUEST_OK means every check passed. */
enum vmx_entry_qual {
    VMX_ENTRY_QUAL_DEFAULT = 0,  /* "not used" */
    VMX_ENTRY_QUAL_PDPTE = 2,    /* problem loading the PDPTEs */
    VMX_ENTRY_QUAL_NMI_STI = 3,  /* NMI injection with blocking by STI */
    VMX_ENTRY_QUAL_LINK_PTR = 4, /* invalid VMCS link pointer */
    VMX_ENTRY_GUEST_OK = 0x100,
};

/* One VM entry in progress: the controls, the derived facts many checks
 * share, and the record of the first rule that failed. */
struct entry_ck {
    struct cpu *c; /* NULL when only checking (vmx_check_vmcs) */
    struct vmx *v; /* NULL when only checking */
    const struct vmx_vmcs_view *vw; /* what the checks read */
    bool launch;

    uint32_t pin, proc, proc2, exit_ctls, entry_ctls; /* proc2 = 0 unless activated */
    unsigned maxphyaddr;  /* CPUID.80000008H:EAX[7:0] */
    bool host_64;         /* "host address-space size" */
    bool ia32e_guest;     /* "IA-32e mode guest" */
    bool unrestricted;    /* "unrestricted guest" */
    bool v86_guest;       /* guest RFLAGS.VM */
    uint32_t intr_info;   /* VM-entry interruption information */

    /* Failure record for the vmentry trace event */
    const char *check;    /* the rule in words */
    char detail[192];     /* predicate and field values */
};

enum vmx_insn_err entry_fail_ctl(struct entry_ck *ck, enum vmx_insn_err err, const char *pred,
                                 const char *what, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
enum vmx_entry_qual entry_fail_guest(struct entry_ck *ck, enum vmx_entry_qual qual,
                                     const char *pred, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* A control or host-state rule (VMfailValid with err) and a guest-state rule
 * (VM-entry failure exit with qualification qual). The trailing arguments
 * are a printf format and the field values that decide the rule. */
#define ENTRY_CHECK(ck, cond, err, what, ...)                                           \
    do {                                                                                \
        if (!(cond))                                                                    \
            return entry_fail_ctl((ck), (err), #cond, (what), __VA_ARGS__);              \
    } while (0)
#define GUEST_CHECK(ck, cond, qual, what, ...)                                          \
    do {                                                                                \
        if (!(cond))                                                                    \
            return entry_fail_guest((ck), (qual), #cond, (what), __VA_ARGS__);           \
    } while (0)

/* Fill the controls and derived facts of ck from its view. */
void entry_ck_init(struct entry_ck *ck, const struct vmx_vmcs_view *vw, bool launch);
/* The view of the current VMCS of v (the hardware's own entry). */
void entry_view_current(struct vmx *v, struct vmx_vmcs_view *vw);

/* Helpers the checks share. */
static inline bool entry_canonical(uint64_t a)
{
    return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}
static inline bool entry_fixed_ok(uint64_t val, uint64_t fixed0, uint64_t fixed1)
{
    return (val & fixed0) == fixed0 && (val & ~fixed1) == 0;
}
/* IA32_PAT / PAT fields: each byte a valid memory type (0, 1, 4, 5, 6, 7). */
bool entry_pat_valid(uint64_t pat);
/* An address of a VMCS-referenced structure of len bytes is within the
 * physical-address width (IA32_VMX_BASIC[48] limits it to 32 bits). */
bool entry_pa_range_ok(const struct entry_ck *ck, uint64_t pa, uint64_t len);
/* The checks on the VM-function controls (vmfunc.c). */
enum vmx_insn_err entry_check_vm_functions(struct entry_ck *ck);
/* The checks on "enable PML" and the PML address (pml.c). */
enum vmx_insn_err entry_check_pml(struct entry_ck *ck);
/* The check on the virtualization-exception information address (ve.c). */
enum vmx_insn_err entry_check_ve(struct entry_ck *ck);
/* Bits 63:n of a are identical (all 0 or all 1). */
static inline bool entry_high_bits_identical(uint64_t a, unsigned n)
{
    uint64_t hi = n >= 64 ? 0 : a >> n;
    return n >= 64 || hi == 0 || hi == (~0ull >> n);
}

/* SDM 3C "Checks on VMX Controls and Host-State Area" (entry_checks.c) */
enum vmx_insn_err entry_check_controls(struct entry_ck *ck);
enum vmx_insn_err entry_check_host(struct entry_ck *ck);
/* SDM 3C "Checks on the Guest-State Area" (entry_guest.c) */
enum vmx_entry_qual entry_check_guest(struct entry_ck *ck);
/* SDM 3C "Loading Guest State" and "Loading MSRs" (entry_load.c): the
 * PDPTE check that loading performs, guest-state loading, and the MSR-load
 * list (returns 0 or the 1-based index of the entry that failed). */
enum vmx_entry_qual entry_load_pdptes(struct entry_ck *ck);
/* Under EPT the PDPTEs come from the guest PDPTE fields (ept_exit.c). */
enum vmx_entry_qual vmx_ept_load_pdptes(struct entry_ck *ck);
void entry_load_guest(struct entry_ck *ck);
uint32_t entry_load_msrs(struct entry_ck *ck);

#endif
