/* The exit rules of vmx_exit_rules.def as pure functions of a VMCS view:
 * which instructions exit in VMX non-root operation (SDM 3C "Instructions
 * That Cause VM Exits Unconditionally", "... Conditionally") and which
 * exceptions (SDM 3C "Exception Bitmap"). src/vmx's interception and L0's
 * reflection both ask here, so they cannot disagree. */
#include "vmx_internal.h"

/* CR access exit qualification fields (SDM 3C "Exit Qualification for
 * Control-Register Accesses") */
#define CRQ_TYPE(q) (((q) >> 4) & 3u)
#define CRQ_MOV_FROM_CR 1u
#define CRQ_CLTS 2u
#define CRQ_LMSW 3u
#define CRQ_LMSW_SRC(q) (((q) >> 16) & 0xffffu)

static uint32_t proc_of(const struct vmx_vmcs_view *vw)
{
    return (uint32_t)vmcs_get(vw, VMCS_cpu_based_vm_exec_control);
}

/* "If the 'activate secondary controls' primary processor-based
 * VM-execution control is 0, ... as if each secondary control were 0." */
static uint32_t proc2_of(const struct vmx_vmcs_view *vw)
{
    if (!(proc_of(vw) & PROC_ACTIVATE_SECONDARY_CONTROLS))
        return 0;
    return (uint32_t)vmcs_get(vw, VMCS_secondary_vm_exec_control);
}

static bool yes(const char **rule, const char *why)
{
    if (rule)
        *rule = why;
    return true;
}

static bool no(const char **rule, const char *why)
{
    if (rule)
        *rule = why;
    return false;
}

/* SDM 3C "CR access": MOV to CR0/CR4 exits when a bit owned by the host
 * (set in the guest/host mask) would take a value other than its read
 * shadow; CLTS when CR0.TS is owned and the shadow's TS is 1; LMSW when an
 * owned bit among MP, EM, TS would differ from the shadow, or an owned PE
 * is 0 in the shadow and LMSW sets it (LMSW never clears PE). CR3 loads
 * exit unless the value is one of the first CR3-target-count targets. */
static bool exit_rule_fn_cr_access(const struct vmx_vmcs_view *vw, const struct cpu_intercept *q,
                                   const char **rule)
{
    unsigned type = CRQ_TYPE(q->qual);
    uint32_t proc = proc_of(vw);
    uint64_t mask0 = vmcs_get(vw, VMCS_cr0_guest_host_mask);
    uint64_t shadow0 = vmcs_get(vw, VMCS_cr0_read_shadow);

    switch (type) {
    case CRQ_CLTS:
        if ((mask0 & CR0_TS) && (shadow0 & CR0_TS))
            return yes(rule, "CLTS: CR0.TS owned (guest/host mask) and 1 in the read shadow");
        return no(rule, "CLTS: CR0.TS not owned, or 0 in the read shadow");
    case CRQ_LMSW: {
        uint64_t src = CRQ_LMSW_SRC(q->qual);
        uint64_t low = CR0_MP | CR0_EM | CR0_TS;
        if ((mask0 & low) & (src ^ shadow0))
            return yes(rule, "LMSW: an owned bit of MP/EM/TS differs from the CR0 read shadow");
        if ((mask0 & CR0_PE) && !(shadow0 & CR0_PE) && (src & CR0_PE))
            return yes(rule, "LMSW: owned CR0.PE set while 0 in the read shadow");
        return no(rule, "LMSW: owned bits agree with the CR0 read shadow");
    }
    case CRQ_MOV_FROM_CR:
        if (q->cr == 3)
            return (proc & PROC_CR3_STORE_EXITING) ? yes(rule, "primary control CR3-store exiting = 1")
                                                    : no(rule, "primary control CR3-store exiting = 0");
        if (q->cr == 8)
            return (proc & PROC_CR8_STORE_EXITING) ? yes(rule, "primary control CR8-store exiting = 1")
                                                    : no(rule, "primary control CR8-store exiting = 0");
        return no(rule, "MOV from CR0/CR4 never exits");
    default:
        break;
    }
    switch (q->cr) {
    case 0:
        if (mask0 & (q->value ^ shadow0))
            return yes(rule, "MOV to CR0: an owned bit differs from the CR0 read shadow");
        return no(rule, "MOV to CR0: owned bits agree with the CR0 read shadow");
    case 4: {
        uint64_t mask4 = vmcs_get(vw, VMCS_cr4_guest_host_mask);
        if (mask4 & (q->value ^ vmcs_get(vw, VMCS_cr4_read_shadow)))
            return yes(rule, "MOV to CR4: an owned bit differs from the CR4 read shadow");
        return no(rule, "MOV to CR4: owned bits agree with the CR4 read shadow");
    }
    case 3: {
        if (!(proc & PROC_CR3_LOAD_EXITING))
            return no(rule, "primary control CR3-load exiting = 0");
        uint32_t n = (uint32_t)vmcs_get(vw, VMCS_cr3_target_count);
        for (uint32_t i = 0; i < n && i < 4; i++)
            if (vmcs_get(vw, (enum vmcs_field)(VMCS_cr3_target_value0 + i)) == q->value)
                return no(rule, "MOV to CR3: the value is a CR3-target value");
        return yes(rule, "primary control CR3-load exiting = 1, value not a CR3-target value");
    }
    case 8:
        return (proc & PROC_CR8_LOAD_EXITING) ? yes(rule, "primary control CR8-load exiting = 1")
                                               : no(rule, "primary control CR8-load exiting = 0");
    default:
        return no(rule, "no rule for this control register");
    }
}

/* SDM 3C "I/O instructions": unconditional I/O exiting applies only without
 * I/O bitmaps; with them, bitmap A covers ports 0000-7FFF and B 8000-FFFF,
 * an access exits if any of its ports has its bit set, and an access that
 * wraps from FFFF to 0000 always exits. */
static bool exit_rule_fn_io_instruction(const struct vmx_vmcs_view *vw,
                                        const struct cpu_intercept *q, const char **rule)
{
    uint32_t proc = proc_of(vw);
    if (!(proc & PROC_USE_IO_BITMAPS))
        return (proc & PROC_UNCONDITIONAL_IO_EXITING)
                   ? yes(rule, "primary control unconditional I/O exiting = 1")
                   : no(rule, "primary controls use I/O bitmaps = 0, unconditional I/O exiting = 0");
    unsigned size = q->io_size ? q->io_size : 1;
    if ((uint32_t)q->port + size - 1 > 0xffff)
        return yes(rule, "I/O access wraps past port FFFF");
    for (unsigned i = 0; i < size; i++) {
        unsigned port = q->port + i;
        uint64_t bm = vmcs_get(vw, port < 0x8000 ? VMCS_io_bitmap_a : VMCS_io_bitmap_b);
        uint8_t byte = (uint8_t)vw->phys_read(vw->ctx, bm + ((port & 0x7fff) >> 3), 1);
        if (byte & (1u << (port & 7)))
            return yes(rule, port < 0x8000 ? "I/O bitmap A: the port's bit = 1"
                                           : "I/O bitmap B: the port's bit = 1");
    }
    return no(rule, "I/O bitmaps: every port's bit = 0");
}

/* SDM 3C "RDMSR" / "WRMSR" and "MSR-Bitmap Address": without MSR bitmaps
 * every access exits; with them, the read bitmaps for low (0-1FFF) and
 * high (C0000000-C0001FFF) MSRs are at offsets 0 and 1024, the write
 * bitmaps at 2048 and 3072; any other MSR always exits. */
static bool msr_bitmap_rule(const struct vmx_vmcs_view *vw, const struct cpu_intercept *q,
                            const char **rule)
{
    if (!(proc_of(vw) & PROC_USE_MSR_BITMAPS))
        return yes(rule, "primary control use MSR bitmaps = 0");
    uint32_t msr = q->msr;
    uint32_t off;
    if (msr <= 0x1fff)
        off = 0;
    else if (msr >= 0xc0000000u && msr <= 0xc0001fffu)
        off = 1024;
    else
        return yes(rule, "MSR outside the ranges the MSR bitmaps cover");
    if (q->write)
        off += 2048;
    uint32_t bit = msr & 0x1fff;
    uint64_t pa = vmcs_get(vw, VMCS_msr_bitmap) + off + (bit >> 3);
    if ((vw->phys_read(vw->ctx, pa, 1) >> (bit & 7)) & 1)
        return yes(rule, q->write ? "MSR bitmap: the MSR's write bit = 1"
                                  : "MSR bitmap: the MSR's read bit = 1");
    return no(rule, q->write ? "MSR bitmap: the MSR's write bit = 0"
                             : "MSR bitmap: the MSR's read bit = 0");
}

static bool exit_rule_fn_rdmsr(const struct vmx_vmcs_view *vw, const struct cpu_intercept *q,
                               const char **rule)
{
    return msr_bitmap_rule(vw, q, rule);
}

static bool exit_rule_fn_wrmsr(const struct vmx_vmcs_view *vw, const struct cpu_intercept *q,
                               const char **rule)
{
    return msr_bitmap_rule(vw, q, rule);
}

/* SDM 3C "XRSTORS" / "XSAVES": with "enable XSAVES/XRSTORS" = 1, the
 * instruction exits when any bit is set in EDX:EAX AND IA32_XSS AND the
 * XSS-exiting bitmap; the CPU passes EDX:EAX AND IA32_XSS as q->value.
 * (With the control 0 the instructions are #UD, nonroot.c.) */
static bool xss_bitmap_rule(const struct vmx_vmcs_view *vw, const struct cpu_intercept *q,
                            const char **rule)
{
    if (!(proc2_of(vw) & (uint32_t)PROC2_ENABLE_XSAVES_XRSTORS))
        return no(rule, "secondary control enable XSAVES/XRSTORS = 0");
    if (q->value & vmcs_get(vw, VMCS_xss_exiting_bitmap))
        return yes(rule, "EDX:EAX AND IA32_XSS AND the XSS-exiting bitmap is not 0");
    return no(rule, "EDX:EAX AND IA32_XSS AND the XSS-exiting bitmap is 0");
}

static bool exit_rule_fn_xsaves(const struct vmx_vmcs_view *vw, const struct cpu_intercept *q,
                                const char **rule)
{
    return xss_bitmap_rule(vw, q, rule);
}

static bool exit_rule_fn_xrstors(const struct vmx_vmcs_view *vw, const struct cpu_intercept *q,
                                 const char **rule)
{
    return xss_bitmap_rule(vw, q, rule);
}

#define RULE_ALWAYS(r, bit) return yes(rule, #r " exits unconditionally");
#define RULE_PRI(r, bit)                                                                     \
    return (proc_of(vw) & (uint32_t)(bit)) ? yes(rule, "primary control " #bit " = 1")      \
                                           : no(rule, "primary control " #bit " = 0");
#define RULE_SEC(r, bit)                                                                     \
    return (proc2_of(vw) & (uint32_t)(bit)) ? yes(rule, "secondary control " #bit " = 1")   \
                                            : no(rule, "secondary control " #bit " = 0");
#define RULE_FN(r, bit) return exit_rule_fn_##r(vw, q, rule);

bool vmx_exit_rule_applies(const struct vmx_vmcs_view *vw, const struct cpu_intercept *q,
                           const char **rule)
{
    switch (q->reason) {
#define EXIT_RULE(r, kind, bit)                                                              \
    case VMX_EXIT_##r:                                                                       \
        RULE_##kind(r, bit)
#include "nvmx/vmx_exit_rules.def"
#undef EXIT_RULE
    default:
        return no(rule, "no exit rule for this reason");
    }
}

bool vmx_exit_rule_known(unsigned reason)
{
    switch (reason) {
#define EXIT_RULE(r, kind, bit) case VMX_EXIT_##r:
#include "nvmx/vmx_exit_rules.def"
#undef EXIT_RULE
        return true;
    default:
        return false;
    }
}

/* SDM 3C "Exception Bitmap": a #PF exits when bit 14 is 1 and
 * (PFEC & mask) == match, or when bit 14 is 0 and they differ. */
bool vmx_exception_rule_applies(const struct vmx_vmcs_view *vw, int vector, uint32_t err,
                                const char **rule)
{
    bool bit = (vmcs_get(vw, VMCS_exception_bitmap) >> vector) & 1;
    if (vector != EXC_PF)
        return bit ? yes(rule, "exception bitmap: the vector's bit = 1")
                   : no(rule, "exception bitmap: the vector's bit = 0");
    uint32_t mask = (uint32_t)vmcs_get(vw, VMCS_page_fault_error_code_mask);
    uint32_t match = (uint32_t)vmcs_get(vw, VMCS_page_fault_error_code_match);
    if (bit == ((err & mask) == match))
        return yes(rule, bit ? "exception bitmap bit 14 = 1 and PFEC & mask == match"
                             : "exception bitmap bit 14 = 0 and PFEC & mask != match");
    return no(rule, bit ? "exception bitmap bit 14 = 1 but PFEC & mask != match"
                        : "exception bitmap bit 14 = 0 and PFEC & mask == match");
}
