/* The VMX capability MSRs (SDM 3C Appendix A "VMX Capability Reporting
 * Facility"): what nvmx implements, the validation of a CPU model's values
 * against it, RDMSR/WRMSR of the MSRs, the allowed settings of the control
 * fields, and the CR0/CR4 fixed bits in VMX operation. */
#include "vmx_internal.h"

#include "nvmx/ept.h"

#include <stdarg.h>
#include <stdio.h>

/* Controls nvmx implements. A model may advertise (allowed-1) only these,
 * plus the default1 bits of its field. */
#define PIN_IMPL                                                                               \
    ((uint32_t)PIN_EXTERNAL_INTERRUPT_EXITING | (uint32_t)PIN_NMI_EXITING |                    \
     (uint32_t)PIN_VIRTUAL_NMIS | (uint32_t)PIN_ACTIVATE_PREEMPTION_TIMER)
#define PROC_IMPL                                                                              \
    ((uint32_t)PROC_INTERRUPT_WINDOW_EXITING | (uint32_t)PROC_USE_TSC_OFFSETTING |             \
     (uint32_t)PROC_HLT_EXITING | (uint32_t)PROC_INVLPG_EXITING | (uint32_t)PROC_MWAIT_EXITING | \
     (uint32_t)PROC_RDPMC_EXITING | (uint32_t)PROC_RDTSC_EXITING |                             \
     (uint32_t)PROC_CR3_LOAD_EXITING | (uint32_t)PROC_CR3_STORE_EXITING |                      \
     (uint32_t)PROC_CR8_LOAD_EXITING | (uint32_t)PROC_CR8_STORE_EXITING |                      \
     (uint32_t)PROC_NMI_WINDOW_EXITING | (uint32_t)PROC_MOV_DR_EXITING |                       \
     (uint32_t)PROC_UNCONDITIONAL_IO_EXITING | (uint32_t)PROC_USE_IO_BITMAPS |                 \
     (uint32_t)PROC_MONITOR_TRAP_FLAG | (uint32_t)PROC_USE_MSR_BITMAPS |                       \
     (uint32_t)PROC_MONITOR_EXITING | (uint32_t)PROC_PAUSE_EXITING |                           \
     (uint32_t)PROC_ACTIVATE_SECONDARY_CONTROLS)
#define PROC2_IMPL                                                                             \
    ((uint32_t)PROC2_DESCRIPTOR_TABLE_EXITING | (uint32_t)PROC2_ENABLE_RDTSCP |                \
     (uint32_t)PROC2_WBINVD_EXITING | (uint32_t)PROC2_PAUSE_LOOP_EXITING |                     \
     (uint32_t)PROC2_ENABLE_INVPCID | (uint32_t)PROC2_VMCS_SHADOWING | (uint32_t)PROC2_ENABLE_EPT |  \
     (uint32_t)PROC2_ENABLE_VPID | (uint32_t)PROC2_UNRESTRICTED_GUEST |                        \
     (uint32_t)PROC2_ENABLE_VM_FUNCTIONS | (uint32_t)PROC2_ENABLE_PML |                        \
     (uint32_t)PROC2_EPT_VIOLATION_VE | (uint32_t)PROC2_ENABLE_XSAVES_XRSTORS)
#define VMFUNC_IMPL 1ull /* IA32_VMX_VMFUNC: EPTP switching */
#define EXIT_IMPL                                                                              \
    ((uint32_t)EXIT_SAVE_DEBUG_CONTROLS | (uint32_t)EXIT_HOST_ADDRESS_SPACE_SIZE |             \
     (uint32_t)EXIT_ACK_INTERRUPT_ON_EXIT | (uint32_t)EXIT_SAVE_PAT | (uint32_t)EXIT_LOAD_PAT | \
     (uint32_t)EXIT_SAVE_EFER | (uint32_t)EXIT_LOAD_EFER | (uint32_t)EXIT_SAVE_PREEMPTION_TIMER)
#define ENTRY_IMPL                                                                             \
    ((uint32_t)ENTRY_LOAD_DEBUG_CONTROLS | (uint32_t)ENTRY_IA32E_MODE_GUEST |                  \
     (uint32_t)ENTRY_LOAD_PAT | (uint32_t)ENTRY_LOAD_EFER)

/* SDM 3C "Algorithms for Determining VMX Capabilities" / Appendix A: the
 * "default1" class of each control field (reserved bits that the non-TRUE
 * MSRs report as fixed to 1). */
#define PIN_DEFAULT1 0x00000016u
#define PROC_DEFAULT1 0x0401e172u
#define EXIT_DEFAULT1 0x00036dffu
#define ENTRY_DEFAULT1 0x000011ffu

/* IA32_VMX_BASIC (SDM 3C "Basic VMX Information") */
#define BASIC_REVISION_MASK 0x7fffffffull
#define BASIC_REGION_SIZE(b) (((b) >> 32) & 0x1fffu)
#define BASIC_PA_32BIT (1ull << 48)
#define BASIC_DUAL_MONITOR (1ull << 49)
#define BASIC_MEMTYPE(b) (((b) >> 50) & 0xfu)
#define BASIC_MEMTYPE_WB 6u
#define BASIC_INS_OUTS_INFO (1ull << 54)
#define BASIC_TRUE_CTLS (1ull << 55)

/* IA32_VMX_MISC (SDM 3C "Miscellaneous Data") */
#define MISC_PREEMPTION_RATE 0x1full
#define MISC_STORE_LMA (1ull << 5)
#define MISC_ACTIVITY_HLT (1ull << 6)
#define MISC_ACTIVITY_SHUTDOWN (1ull << 7)
#define MISC_ACTIVITY_WAIT_SIPI (1ull << 8)
#define MISC_CR3_TARGETS(m) (((m) >> 16) & 0x1ffu)
#define MISC_CR3_TARGET_MASK (0x1ffull << 16)
#define MISC_VMWRITE_ANY (1ull << 29)
#define MISC_ZERO_LEN_INJECTION (1ull << 30)
#define MISC_IMPL                                                                              \
    (MISC_PREEMPTION_RATE | MISC_STORE_LMA | MISC_ACTIVITY_HLT | MISC_ACTIVITY_SHUTDOWN |      \
     MISC_ACTIVITY_WAIT_SIPI | MISC_CR3_TARGET_MASK | MISC_VMWRITE_ANY | MISC_ZERO_LEN_INJECTION)
#define VMX_MAX_CR3_TARGETS 4u

/* CR0/CR4 bits nvmx requires fixed to 1 in VMX operation (no "unrestricted
 * guest"), and the CR4 bits its CPU knows at all (no LA57, CET, PKS). */
#define CR0_VMX_REQUIRED (CR0_PE | CR0_NE | CR0_PG)
#define CR4_KNOWN                                                                              \
    (CR4_VME | CR4_PVI | CR4_TSD | CR4_DE | CR4_PSE | CR4_PAE | CR4_MCE | CR4_PGE | CR4_PCE |  \
     CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_UMIP | CR4_VMXE | CR4_SMXE | CR4_FSGSBASE | CR4_PCIDE |  \
     CR4_OSXSAVE | CR4_SMEP | CR4_SMAP | CR4_PKE)

static inline uint32_t lo32(uint64_t v) { return (uint32_t)v; }
static inline uint32_t hi32(uint64_t v) { return (uint32_t)(v >> 32); }

/* ---- allowed settings ------------------------------------------------------------ */

/* SDM 3C Appendix A "VM-Execution Controls" (and the exit/entry sections):
 * with IA32_VMX_BASIC[55] the TRUE_ MSRs give the allowed settings. */
static enum vmx_msr true_msr(const struct vmx_caps *caps, enum vmx_msr m)
{
    if (!(caps->msr[VMX_MSR_BASIC] & BASIC_TRUE_CTLS))
        return m;
    switch (m) {
    case VMX_MSR_PINBASED_CTLS: return VMX_MSR_TRUE_PINBASED_CTLS;
    case VMX_MSR_PROCBASED_CTLS: return VMX_MSR_TRUE_PROCBASED_CTLS;
    case VMX_MSR_EXIT_CTLS: return VMX_MSR_TRUE_EXIT_CTLS;
    case VMX_MSR_ENTRY_CTLS: return VMX_MSR_TRUE_ENTRY_CTLS;
    default: return m;
    }
}

uint32_t vmx_caps_allowed0(const struct vmx_caps *caps, enum vmx_msr m)
{
    return lo32(caps->msr[true_msr(caps, m)]);
}

uint32_t vmx_caps_allowed1(const struct vmx_caps *caps, enum vmx_msr m)
{
    return hi32(caps->msr[true_msr(caps, m)]);
}

uint32_t vmx_ctl_allowed0(const struct vmx *v, enum vmx_msr m)
{
    return vmx_caps_allowed0(&v->caps, m);
}

uint32_t vmx_ctl_allowed1(const struct vmx *v, enum vmx_msr m)
{
    return vmx_caps_allowed1(&v->caps, m);
}

/* ---- physical-address width ---------------------------------------------------------- */

/* SDM 3C "Basic VMX Information": with IA32_VMX_BASIC[48] set, VMXON,
 * VMCLEAR and VMPTRLD take addresses of at most 32 bits. */
bool vmx_caps_pa_valid(const struct vmx_caps *caps, unsigned maxphyaddr, uint64_t pa)
{
    unsigned width = maxphyaddr;
    if (caps->msr[VMX_MSR_BASIC] & BASIC_PA_32BIT)
        width = 32;
    return (pa >> width) == 0;
}

bool vmx_pa_valid(const struct vmx *v, uint64_t pa)
{
    return vmx_caps_pa_valid(&v->caps, cpu_maxphyaddr(v->cpu), pa);
}

/* ---- RDMSR / WRMSR ------------------------------------------------------------------- */

/* SDM 3C Appendix A: which capability MSRs exist on this model. Reading one
 * that does not is #GP(0), like any unimplemented MSR. */
bool vmx_caps_msr_readable(const struct vmx_caps *caps, enum vmx_msr m)
{
    uint64_t basic = caps->msr[VMX_MSR_BASIC];
    uint32_t proc2 = hi32(caps->msr[VMX_MSR_PROCBASED_CTLS2]);
    bool has_proc2 = hi32(caps->msr[VMX_MSR_PROCBASED_CTLS]) & (uint32_t)PROC_ACTIVATE_SECONDARY_CONTROLS;

    switch (m) {
    case VMX_MSR_TRUE_PINBASED_CTLS:
    case VMX_MSR_TRUE_PROCBASED_CTLS:
    case VMX_MSR_TRUE_EXIT_CTLS:
    case VMX_MSR_TRUE_ENTRY_CTLS: return (basic & BASIC_TRUE_CTLS) != 0;
    case VMX_MSR_PROCBASED_CTLS2: return has_proc2;
    case VMX_MSR_EPT_VPID_CAP:
        return has_proc2 && (proc2 & ((uint32_t)PROC2_ENABLE_EPT | (uint32_t)PROC2_ENABLE_VPID));
    case VMX_MSR_VMFUNC: return has_proc2 && (proc2 & (uint32_t)PROC2_ENABLE_VM_FUNCTIONS);
    default: return true;
    }
}

bool vmx_hook_rdmsr(struct cpu *c, uint32_t msr, uint64_t *val, bool *ok)
{
    struct vmx *v = vmx_of(c);
    if (msr < VMX_MSR_FIRST || msr >= VMX_MSR_FIRST + VMX_MSR_COUNT)
        return false;
    enum vmx_msr m = (enum vmx_msr)(msr - VMX_MSR_FIRST);
    *ok = vmx_caps_msr_readable(&v->caps, m);
    if (*ok)
        *val = v->caps.msr[m];
    return true;
}

/* The capability MSRs are read-only: WRMSR is #GP(0) (SDM 3C Appendix A). */
bool vmx_hook_wrmsr(struct cpu *c, uint32_t msr, uint64_t val, bool *ok)
{
    (void)c;
    (void)val;
    if (msr < VMX_MSR_FIRST || msr >= VMX_MSR_FIRST + VMX_MSR_COUNT)
        return false;
    *ok = false;
    return true;
}

/* ---- CR0/CR4 in VMX operation ------------------------------------------------------- */

static bool fixed_ok(uint64_t val, uint64_t fixed0, uint64_t fixed1)
{
    return (val & fixed0) == fixed0 && (val & ~fixed1) == 0;
}

/* SDM 3C "Restrictions on VMX Operation": in VMX operation, CR0 and CR4 bits
 * fixed by IA32_VMX_CR0/CR4_FIXED0/1 cannot change (#GP(0)); this includes
 * clearing CR4.VMXE. Outside VMX operation anything goes. */
bool vmx_hook_cr_allowed(struct cpu *c, unsigned cr, uint64_t val)
{
    const struct vmx *v = vmx_of(c);
    if (!v->in_vmx_operation)
        return true;
    if (cr == 0) {
        /* SDM 3C "Unrestricted Guests": in non-root operation with
         * "unrestricted guest", CR0.PE and CR0.PG may be 0 whatever
         * IA32_VMX_CR0_FIXED0 says. */
        uint64_t fixed0 = v->caps.msr[VMX_MSR_CR0_FIXED0];
        if (c->vmx_nonroot && (v->proc2 & PROC2_UNRESTRICTED_GUEST))
            fixed0 &= ~(CR0_PE | CR0_PG);
        return fixed_ok(val & 0xffffffffull, fixed0, v->caps.msr[VMX_MSR_CR0_FIXED1]);
    }
    if (cr == 4)
        return (val & CR4_VMXE) &&
               fixed_ok(val, v->caps.msr[VMX_MSR_CR4_FIXED0], v->caps.msr[VMX_MSR_CR4_FIXED1]);
    return true;
}

/* CR0 and CR4 as VMXON requires them (same rule). */
bool vmx_cr_fixed_ok(const struct vmx *v, uint64_t cr0, uint64_t cr4)
{
    return fixed_ok(cr0 & 0xffffffffull, v->caps.msr[VMX_MSR_CR0_FIXED0],
                    v->caps.msr[VMX_MSR_CR0_FIXED1]) &&
           fixed_ok(cr4, v->caps.msr[VMX_MSR_CR4_FIXED0], v->caps.msr[VMX_MSR_CR4_FIXED1]);
}

/* ---- validation of a model ------------------------------------------------------------ */

/* Name of a control bit for messages, from vmx_controls.def. */
enum ctl_field { CTL_PIN, CTL_PROC, CTL_PROC2, CTL_EXIT, CTL_ENTRY, CTL_NFIELDS };
static const char *const control_names[CTL_NFIELDS * 32] = {
#define VMX_CONTROL(f, n, b) [CTL_##f * 32 + (b)] = #n,
#include "nvmx/vmx_controls.def"
#undef VMX_CONTROL
};

static const char *control_name(enum vmx_msr m, unsigned bit)
{
    enum ctl_field f;
    switch (m) {
    case VMX_MSR_PINBASED_CTLS:
    case VMX_MSR_TRUE_PINBASED_CTLS: f = CTL_PIN; break;
    case VMX_MSR_PROCBASED_CTLS:
    case VMX_MSR_TRUE_PROCBASED_CTLS: f = CTL_PROC; break;
    case VMX_MSR_PROCBASED_CTLS2: f = CTL_PROC2; break;
    case VMX_MSR_EXIT_CTLS:
    case VMX_MSR_TRUE_EXIT_CTLS: f = CTL_EXIT; break;
    case VMX_MSR_ENTRY_CTLS:
    case VMX_MSR_TRUE_ENTRY_CTLS: f = CTL_ENTRY; break;
    default: return "reserved";
    }
    const char *n = bit < 32 ? control_names[f * 32 + bit] : NULL;
    return n ? n : "reserved";
}

static bool bad(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return false;
}

static unsigned lowest_bit(uint64_t x) { return (unsigned)__builtin_ctzll(x); }

/* One control MSR: allowed-1 within what nvmx implements (plus default1),
 * allowed-0 within allowed-1 (a control that must be 1 must be allowed to
 * be 1), and the non-TRUE form reporting every default1 bit as fixed to 1. */
static bool check_ctls(const struct vmx_caps *caps, enum vmx_msr m, uint32_t impl,
                       uint32_t default1, bool is_true, char *err, size_t errlen)
{
    uint64_t val = caps->msr[m];
    uint32_t a0 = lo32(val), a1 = hi32(val);
    uint32_t extra = a1 & ~(impl | default1);

    if (extra)
        return bad(err, errlen, "%s allows bit %u (%s), which nvmx does not implement",
                   vmx_msr_name(m), lowest_bit(extra), control_name(m, lowest_bit(extra)));
    if (a0 & ~a1)
        return bad(err, errlen, "%s requires bit %u to be 1 but does not allow it to be 1",
                   vmx_msr_name(m), lowest_bit(a0 & ~a1));
    if (!is_true && (a0 & default1) != default1)
        return bad(err, errlen, "%s reports default1 bit %u as allowed to be 0; only the "
                   "TRUE_ form may (SDM 3C Appendix A)", vmx_msr_name(m),
                   lowest_bit(default1 & ~a0));
    return true;
}

/* SDM 3C Appendix A "VM-Execution Controls": a TRUE_ MSR has the same
 * allowed-1 settings, and may only relax default1 bits of allowed-0. */
static bool check_true_pair(const struct vmx_caps *caps, enum vmx_msr plain, enum vmx_msr tru,
                            uint32_t default1, char *err, size_t errlen)
{
    uint64_t p = caps->msr[plain], t = caps->msr[tru];
    if (!(caps->msr[VMX_MSR_BASIC] & BASIC_TRUE_CTLS)) {
        if (t)
            return bad(err, errlen, "%s must be 0 when IA32_VMX_BASIC bit 55 is clear (the "
                       "MSR does not exist)", vmx_msr_name(tru));
        return true;
    }
    if (hi32(p) != hi32(t))
        return bad(err, errlen, "%s allowed-1 settings 0x%08x differ from %s 0x%08x",
                   vmx_msr_name(tru), hi32(t), vmx_msr_name(plain), hi32(p));
    uint32_t diff = lo32(t) ^ lo32(p);
    if ((diff & ~default1) || (lo32(t) & ~lo32(p)))
        return bad(err, errlen, "%s allowed-0 bit %u differs from %s outside the default1 "
                   "class", vmx_msr_name(tru), lowest_bit(diff), vmx_msr_name(plain));
    return check_ctls(caps, tru, 0xffffffffu, 0, true, err, errlen);
}

static bool check_basic(uint64_t b, char *err, size_t errlen)
{
    const char *n = vmx_msr_name(VMX_MSR_BASIC);
    uint64_t known = BASIC_REVISION_MASK | (0x1fffull << 32) | BASIC_PA_32BIT |
                     BASIC_DUAL_MONITOR | (0xfull << 50) | BASIC_INS_OUTS_INFO | BASIC_TRUE_CTLS;

    if ((b & BASIC_REVISION_MASK) == 0)
        return bad(err, errlen, "%s: the VMCS revision identifier (bits 30:0) is 0", n);
    if (b & ~known)
        return bad(err, errlen, "%s sets bit %u, which nvmx does not implement", n,
                   lowest_bit(b & ~known));
    if (BASIC_REGION_SIZE(b) != VMCS_REGION_SIZE)
        return bad(err, errlen, "%s: VMCS region size (bits 44:32) is %u; nvmx's layout "
                   "uses %u", n, (unsigned)BASIC_REGION_SIZE(b), VMCS_REGION_SIZE);
    if (b & BASIC_PA_32BIT)
        return bad(err, errlen, "%s sets bit 48 (32-bit VMX addresses), which nvmx does not "
                   "implement on 64-bit CPUs", n);
    if (b & BASIC_DUAL_MONITOR)
        return bad(err, errlen, "%s sets bit 49 (dual-monitor treatment of SMIs and SMM), "
                   "which nvmx does not implement", n);
    if (BASIC_MEMTYPE(b) != BASIC_MEMTYPE_WB)
        return bad(err, errlen, "%s: VMCS memory type (bits 53:50) is %u; nvmx uses 6 (WB)",
                   n, (unsigned)BASIC_MEMTYPE(b));
    return true;
}

static bool check_misc(uint64_t m, char *err, size_t errlen)
{
    const char *n = vmx_msr_name(VMX_MSR_MISC);
    if (m & ~MISC_IMPL)
        return bad(err, errlen, "%s sets bit %u, which nvmx does not implement", n,
                   lowest_bit(m & ~MISC_IMPL));
    if (MISC_CR3_TARGETS(m) > VMX_MAX_CR3_TARGETS)
        return bad(err, errlen, "%s: %u CR3-target values (bits 24:16); nvmx implements at "
                   "most %u", n, MISC_CR3_TARGETS(m), VMX_MAX_CR3_TARGETS);
    return true;
}

static bool check_fixed(const struct vmx_caps *caps, char *err, size_t errlen)
{
    uint64_t c0f0 = caps->msr[VMX_MSR_CR0_FIXED0], c0f1 = caps->msr[VMX_MSR_CR0_FIXED1];
    uint64_t c4f0 = caps->msr[VMX_MSR_CR4_FIXED0], c4f1 = caps->msr[VMX_MSR_CR4_FIXED1];

    if ((c0f0 | c0f1) >> 32)
        return bad(err, errlen, "%s/%s: CR0 has no bits above 31", vmx_msr_name(VMX_MSR_CR0_FIXED0),
                   vmx_msr_name(VMX_MSR_CR0_FIXED1));
    if (c0f0 & ~c0f1)
        return bad(err, errlen, "%s bit %u is set but %s does not allow it",
                   vmx_msr_name(VMX_MSR_CR0_FIXED0), lowest_bit(c0f0 & ~c0f1),
                   vmx_msr_name(VMX_MSR_CR0_FIXED1));
    if ((c0f0 & CR0_VMX_REQUIRED) != CR0_VMX_REQUIRED)
        return bad(err, errlen, "%s allows CR0 bit %u to be 0 in VMX operation, which needs "
                   "\"unrestricted guest\" (not implemented)", vmx_msr_name(VMX_MSR_CR0_FIXED0),
                   lowest_bit(CR0_VMX_REQUIRED & ~c0f0));
    if (c4f1 & ~CR4_KNOWN)
        return bad(err, errlen, "%s allows CR4 bit %u, which nvmx does not implement",
                   vmx_msr_name(VMX_MSR_CR4_FIXED1), lowest_bit(c4f1 & ~CR4_KNOWN));
    if (c4f0 & ~c4f1)
        return bad(err, errlen, "%s bit %u is set but %s does not allow it",
                   vmx_msr_name(VMX_MSR_CR4_FIXED0), lowest_bit(c4f0 & ~c4f1),
                   vmx_msr_name(VMX_MSR_CR4_FIXED1));
    if (!(c4f0 & CR4_VMXE))
        return bad(err, errlen, "%s must have bit 13 (CR4.VMXE) set",
                   vmx_msr_name(VMX_MSR_CR4_FIXED0));
    return true;
}

/* SDM 3D Appendix A "VPID and EPT Capabilities": only bits nvmx implements
 * (ept_caps.def); the MSR exists only with "enable EPT" or "enable VPID"
 * allowed; with "enable EPT" the model must allow a 4-level walk and the WB
 * or UC paging-structure memory type, or no EPTP would pass the VM-entry
 * checks. */
static bool check_ept_vpid_cap(const struct vmx_caps *caps, char *err, size_t errlen)
{
    uint64_t cap = caps->msr[VMX_MSR_EPT_VPID_CAP];
    uint32_t proc2 = hi32(caps->msr[VMX_MSR_PROCBASED_CTLS2]);
    const char *n = vmx_msr_name(VMX_MSR_EPT_VPID_CAP);
    bool ept = proc2 & (uint32_t)PROC2_ENABLE_EPT, vpid = proc2 & (uint32_t)PROC2_ENABLE_VPID;

    if (cap & ~ept_caps_implemented)
        return bad(err, errlen, "%s sets bit %u, which nvmx does not implement", n,
                   lowest_bit(cap & ~ept_caps_implemented));
    if (cap && !ept && !vpid)
        return bad(err, errlen, "%s must be 0 when IA32_VMX_PROCBASED_CTLS2 allows neither "
                   "'enable EPT' nor 'enable VPID' (the MSR does not exist)", n);
    if (ept && (!(cap & EPT_CAP_BIT(WALK_LENGTH_4)) ||
                !(cap & (EPT_CAP_BIT(MEMTYPE_WB) | EPT_CAP_BIT(MEMTYPE_UC)))))
        return bad(err, errlen, "%s: 'enable EPT' is allowed but the MSR allows no 4-level "
                   "walk (bit 6) or no EPTP memory type (bits 8, 14)", n);
    if ((proc2 & (uint32_t)PROC2_UNRESTRICTED_GUEST) && !ept)
        return bad(err, errlen, "IA32_VMX_PROCBASED_CTLS2 allows 'unrestricted guest' without "
                   "'enable EPT', which it requires");
    return true;
}

/* SDM 3C "VMCS Enumeration": bits 9:1 give the highest index of any field
 * encoding the processor supports. nvmx supports its whole field list. */
uint64_t vmx_vmcs_enum(void)
{
    unsigned hi = 0;
    for (int f = 0; f < VMCS_NFIELDS; f++) {
        unsigned idx = (vmcs_fields[f].encoding >> 1) & 0x1ff;
        if (idx > hi)
            hi = idx;
    }
    return (uint64_t)hi << 1;
}

bool vmx_caps_validate(const struct vmx_caps *caps, char *err, size_t errlen)
{
    const uint64_t *msr = caps->msr;
    bool has_proc2 = hi32(msr[VMX_MSR_PROCBASED_CTLS]) & (uint32_t)PROC_ACTIVATE_SECONDARY_CONTROLS;

    if (!check_basic(msr[VMX_MSR_BASIC], err, errlen) ||
        !check_ctls(caps, VMX_MSR_PINBASED_CTLS, PIN_IMPL, PIN_DEFAULT1, false, err, errlen) ||
        !check_ctls(caps, VMX_MSR_PROCBASED_CTLS, PROC_IMPL, PROC_DEFAULT1, false, err, errlen) ||
        !check_ctls(caps, VMX_MSR_EXIT_CTLS, EXIT_IMPL, EXIT_DEFAULT1, false, err, errlen) ||
        !check_ctls(caps, VMX_MSR_ENTRY_CTLS, ENTRY_IMPL, ENTRY_DEFAULT1, false, err, errlen) ||
        !check_true_pair(caps, VMX_MSR_PINBASED_CTLS, VMX_MSR_TRUE_PINBASED_CTLS, PIN_DEFAULT1,
                         err, errlen) ||
        !check_true_pair(caps, VMX_MSR_PROCBASED_CTLS, VMX_MSR_TRUE_PROCBASED_CTLS,
                         PROC_DEFAULT1, err, errlen) ||
        !check_true_pair(caps, VMX_MSR_EXIT_CTLS, VMX_MSR_TRUE_EXIT_CTLS, EXIT_DEFAULT1, err,
                         errlen) ||
        !check_true_pair(caps, VMX_MSR_ENTRY_CTLS, VMX_MSR_TRUE_ENTRY_CTLS, ENTRY_DEFAULT1, err,
                         errlen))
        return false;
    if (!has_proc2 && msr[VMX_MSR_PROCBASED_CTLS2])
        return bad(err, errlen, "%s must be 0 when IA32_VMX_PROCBASED_CTLS does not allow bit "
                   "31 (ACTIVATE_SECONDARY_CONTROLS)", vmx_msr_name(VMX_MSR_PROCBASED_CTLS2));
    if (!check_ctls(caps, VMX_MSR_PROCBASED_CTLS2, PROC2_IMPL, 0, true, err, errlen))
        return false;
    if (lo32(msr[VMX_MSR_PROCBASED_CTLS2]))
        return bad(err, errlen, "%s: allowed-0 settings (bits 31:0) must be 0",
                   vmx_msr_name(VMX_MSR_PROCBASED_CTLS2));
    if (!check_misc(msr[VMX_MSR_MISC], err, errlen) || !check_fixed(caps, err, errlen))
        return false;
    if (msr[VMX_MSR_VMCS_ENUM] != vmx_vmcs_enum())
        return bad(err, errlen, "%s is 0x%llx; nvmx's field list gives 0x%llx (highest "
                   "field index in bits 9:1)", vmx_msr_name(VMX_MSR_VMCS_ENUM),
                   (unsigned long long)msr[VMX_MSR_VMCS_ENUM],
                   (unsigned long long)vmx_vmcs_enum());
    if (!check_ept_vpid_cap(caps, err, errlen))
        return false;
    /* SDM 3C Appendix A "VM Functions": IA32_VMX_VMFUNC exists with "enable
     * VM functions" and lists the functions; nvmx has EPTP switching
     * (function 0), which needs EPT. */
    uint32_t proc2 = hi32(msr[VMX_MSR_PROCBASED_CTLS2]);
    if (msr[VMX_MSR_VMFUNC] & ~VMFUNC_IMPL)
        return bad(err, errlen, "%s sets bit %u; nvmx implements VM function 0 (EPTP "
                   "switching) only", vmx_msr_name(VMX_MSR_VMFUNC),
                   lowest_bit(msr[VMX_MSR_VMFUNC] & ~VMFUNC_IMPL));
    if (msr[VMX_MSR_VMFUNC] && !(proc2 & (uint32_t)PROC2_ENABLE_VM_FUNCTIONS))
        return bad(err, errlen, "%s must be 0 when IA32_VMX_PROCBASED_CTLS2 does not allow bit "
                   "13 (ENABLE_VM_FUNCTIONS)", vmx_msr_name(VMX_MSR_VMFUNC));
    if ((msr[VMX_MSR_VMFUNC] & 1) && !(proc2 & (uint32_t)PROC2_ENABLE_EPT))
        return bad(err, errlen, "%s bit 0 (EPTP switching) needs \"enable EPT\"",
                   vmx_msr_name(VMX_MSR_VMFUNC));
    return true;
}
