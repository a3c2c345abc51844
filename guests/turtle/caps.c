/* The VMX capabilities the turtle offers its guest (SDM 3C Appendix A):
 * the processor's, with the revision identifier of the turtle's VMCS
 * layout and without the controls the turtle does not emulate. A control
 * is offered only if it is on the lists below and the processor has it. */
#include "turtle.h"

#include "x86.h"

struct vcaps vcaps;

/* Pin-based: external-interrupt exiting, NMI exiting, virtual NMIs (not
 * the preemption timer, not posted interrupts). */
#define PIN_OFFERED ((1u << 0) | (1u << 3) | (1u << 5))
/* Primary processor-based: all but the TPR shadow (no virtual-APIC page). */
#define PROC_OFFERED (~(uint32_t)PROC_TPR_SHADOW)
/* Secondary: descriptor-table exiting, RDTSCP, WBINVD exiting, PAUSE-loop
 * exiting, RDRAND exiting, INVPCID, RDSEED exiting; EPT, VPID and
 * unrestricted guest as offered_ept_vpid() says; VMCS shadowing with
 * shadow=1, emulated (shadow12.c), so whether or not the processor has it.
 * Not APIC virtualization, PML, VMFUNC. */
#define PROC2_OFFERED ((1u << 2) | (1u << 3) | (1u << 6) | (1u << 10) | (1u << 11) | (1u << 12) | \
                       (1u << 16))
/* VM-exit: save debug controls, host address-space size, acknowledge
 * interrupt on exit, save/load PAT, save/load EFER. */
#define EXIT_OFFERED ((1u << 2) | (1u << 9) | (1u << 15) | (1u << 18) | (1u << 19) | (1u << 20) | \
                      (1u << 21))
/* VM-entry: load debug controls, IA-32e mode guest, load PAT, load EFER. */
#define ENTRY_OFFERED ((1u << 2) | (1u << 9) | (1u << 14) | (1u << 15))

/* IA32_VMX_EPT_VPID_CAP bits the turtle emulates (SDM 3C Appendix A "VPID
 * and EPT Capabilities"). Without EPT01 vmcs02 runs on EPT12 itself, so
 * every EPT feature of the processor works. With EPT01 it runs on EPT02
 * (nested_ept.c): a 4-level table of 4-KByte leaves without accessed and
 * dirty flags, so not the 5-level walk nor EPT A/D flags. VPIDs of the
 * guest are used as they are in vmcs02 (the turtle's own guest runs with
 * VPID 0), and INVVPID goes to the processor: every INVVPID type the
 * processor has. */
#define EPT_BITS_DIRECT                                                                    \
    (EPT_CAP_EXEC_ONLY | EPT_CAP_WALK4 | EPT_CAP_WALK5 | EPT_CAP_UC | EPT_CAP_WB | EPT_CAP_2M | \
     EPT_CAP_1G | EPT_CAP_INVEPT | EPT_CAP_AD | EPT_CAP_ADV_EXIT_INFO | EPT_CAP_INVEPT_SINGLE |  \
     EPT_CAP_INVEPT_ALL)
#define EPT_BITS_SHADOW (EPT_BITS_DIRECT & ~(EPT_CAP_WALK5 | EPT_CAP_AD))
#define VPID_BITS                                                                          \
    (EPT_CAP_INVVPID | EPT_CAP_INVVPID_ADDR | EPT_CAP_INVVPID_SINGLE | EPT_CAP_INVVPID_ALL | \
     EPT_CAP_INVVPID_SINGLE_GLOBALS)

/* The secondary controls among EPT (1), VPID (5) and unrestricted guest
 * (7) that the turtle offers, and the capability bits that go with them:
 * EPT when the processor has EPT with INVEPT, a 4-level walk and a memory
 * type for it; unrestricted guest with EPT; VPID when it has INVVPID. */
static uint32_t offered_ept_vpid(uint64_t *cap)
{
    uint64_t pcap = vmx_caps.ept_vpid;
    uint32_t offered = 0;

    *cap = 0;
    if (!(vmx_caps.proc >> 63))
        return 0;
    if (vmx_proc2_allowed(PROC2_EPT) && (pcap & EPT_CAP_INVEPT) && (pcap & EPT_CAP_WALK4) &&
        (pcap & (EPT_CAP_UC | EPT_CAP_WB)) && (pcap & (EPT_CAP_INVEPT_SINGLE | EPT_CAP_INVEPT_ALL))) {
        offered |= PROC2_EPT;
        *cap |= pcap & (gmap.ept ? EPT_BITS_SHADOW : EPT_BITS_DIRECT);
        if (vmx_proc2_allowed(PROC2_UNRESTRICTED))
            offered |= PROC2_UNRESTRICTED;
    }
    if (vmx_proc2_allowed(PROC2_VPID) && (pcap & EPT_CAP_INVVPID) &&
        (pcap & (VPID_BITS & ~EPT_CAP_INVVPID))) {
        offered |= PROC2_VPID;
        *cap |= pcap & VPID_BITS;
    }
    return offered;
}

/* Allowed-1 settings (bits 63:32) keep only offered controls; the
 * default-1 settings (allowed-0, bits 31:0) stay as they are. */
static uint64_t filter(uint64_t cap, uint32_t offered)
{
    uint32_t allowed0 = (uint32_t)cap, allowed1 = (uint32_t)(cap >> 32);
    allowed1 &= offered | allowed0;
    return ((uint64_t)allowed1 << 32) | allowed0;
}

void caps_init(void)
{
    struct vcaps *c = &vcaps;
    uint64_t basic = rdmsr(MSR_VMX_BASIC);
    bool true_ctls = basic & VMX_BASIC_TRUE_CTLS;

    /* Bits 30:0 revision, 44:32 region size (4096), keep the memory type,
     * INS/OUTS information and TRUE controls bits; bit 48 (32-bit
     * addresses) and 49 (dual monitor) are 0. */
    c->basic = (basic & ~(0x7fffffffull | (0x1fffull << 32) | (1ull << 48) | (1ull << 49))) |
               TURTLE_VMCS_REVISION | (4096ull << 32);
    /* MISC as the processor's, without the preemption timer rate (no
     * timer offered) and without bit 28 (SMM monitor). */
    c->misc = rdmsr(MSR_VMX_MISC) & ~(0x1full | (1ull << 28) | (1ull << 15));
    c->pin = filter(rdmsr(MSR_VMX_PINBASED_CTLS), PIN_OFFERED);
    c->proc = filter(rdmsr(MSR_VMX_PROCBASED_CTLS), PROC_OFFERED);
    c->exit = filter(rdmsr(MSR_VMX_EXIT_CTLS), EXIT_OFFERED);
    c->entry = filter(rdmsr(MSR_VMX_ENTRY_CTLS), ENTRY_OFFERED);
    uint32_t ept_vpid = offered_ept_vpid(&c->ept_vpid);
    c->proc2 = (c->proc >> 63)
                   ? filter(rdmsr(MSR_VMX_PROCBASED_CTLS2), PROC2_OFFERED | ept_vpid)
                   : 0;
    if ((c->proc >> 63) && shadow12_offered())
        c->proc2 |= (uint64_t)PROC2_VMCS_SHADOWING << 32;
    if (!(c->proc2 >> 32))
        c->proc &= ~((uint64_t)PROC_SECONDARY << 32);
    c->true_pin = true_ctls ? filter(rdmsr(MSR_VMX_TRUE_PINBASED_CTLS), PIN_OFFERED) : c->pin;
    c->true_proc = true_ctls ? filter(rdmsr(MSR_VMX_TRUE_PROCBASED_CTLS), PROC_OFFERED) : c->proc;
    if (!(c->proc2 >> 32))
        c->true_proc &= ~((uint64_t)PROC_SECONDARY << 32);
    c->true_exit = true_ctls ? filter(rdmsr(MSR_VMX_TRUE_EXIT_CTLS), EXIT_OFFERED) : c->exit;
    c->true_entry = true_ctls ? filter(rdmsr(MSR_VMX_TRUE_ENTRY_CTLS), ENTRY_OFFERED) : c->entry;
    c->cr0_fixed0 = rdmsr(MSR_VMX_CR0_FIXED0);
    c->cr0_fixed1 = rdmsr(MSR_VMX_CR0_FIXED1);
    c->cr4_fixed0 = rdmsr(MSR_VMX_CR4_FIXED0);
    c->cr4_fixed1 = rdmsr(MSR_VMX_CR4_FIXED1);
    c->vmcs_enum = rdmsr(MSR_VMX_VMCS_ENUM);
}

/* RDMSR of a capability MSR; false if the MSR does not exist for the
 * guest (then RDMSR is #GP, SDM 3C Appendix A). */
bool caps_msr(uint32_t msr, uint64_t *v)
{
    const struct vcaps *c = &vcaps;

    switch (msr) {
    case MSR_VMX_BASIC: *v = c->basic; return true;
    case MSR_VMX_PINBASED_CTLS: *v = c->pin; return true;
    case MSR_VMX_PROCBASED_CTLS: *v = c->proc; return true;
    case MSR_VMX_EXIT_CTLS: *v = c->exit; return true;
    case MSR_VMX_ENTRY_CTLS: *v = c->entry; return true;
    case MSR_VMX_MISC: *v = c->misc; return true;
    case MSR_VMX_CR0_FIXED0: *v = c->cr0_fixed0; return true;
    case MSR_VMX_CR0_FIXED1: *v = c->cr0_fixed1; return true;
    case MSR_VMX_CR4_FIXED0: *v = c->cr4_fixed0; return true;
    case MSR_VMX_CR4_FIXED1: *v = c->cr4_fixed1; return true;
    case MSR_VMX_VMCS_ENUM: *v = c->vmcs_enum; return true;
    case MSR_VMX_PROCBASED_CTLS2:
        if (!(c->proc >> 63))
            return false;
        *v = c->proc2;
        return true;
    case MSR_VMX_TRUE_PINBASED_CTLS:
    case MSR_VMX_TRUE_PROCBASED_CTLS:
    case MSR_VMX_TRUE_EXIT_CTLS:
    case MSR_VMX_TRUE_ENTRY_CTLS:
        if (!(c->basic & VMX_BASIC_TRUE_CTLS))
            return false;
        *v = msr == MSR_VMX_TRUE_PINBASED_CTLS    ? c->true_pin
             : msr == MSR_VMX_TRUE_PROCBASED_CTLS ? c->true_proc
             : msr == MSR_VMX_TRUE_EXIT_CTLS      ? c->true_exit
                                                  : c->true_entry;
        return true;
    case MSR_VMX_EPT_VPID_CAP:
        /* It exists when EPT or VPID may be 1 (SDM 3C Appendix A "VPID and
         * EPT Capabilities"). */
        if (!(c->proc >> 63) || !(c->proc2 & ((uint64_t)(PROC2_EPT | PROC2_VPID) << 32)))
            return false;
        *v = c->ept_vpid;
        return true;
    default:
        /* VMFUNC exists only with VM functions, which the turtle does not
         * offer. */
        return false;
    }
}
