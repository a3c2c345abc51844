/* EPT offered to the guest (caps.c) and what it takes in vmcs02.
 *
 * Without EPT01 (ept=0) the guest's physical addresses are the machine's,
 * so EPT12 composed with EPT01 is EPT12 itself: vmcs02 takes EPTP12 as it
 * is, and the processor's EPT violations and misconfigurations of vmcs02
 * are the guest's, reflected like any exit.
 *
 * With EPT01 (ept=1) vmcs02 runs on the shadow EPT02 of ept02.c. An EPT
 * violation of vmcs02 is replayed on EPT12 (SDM 3C "EPT Violations", "EPT
 * Misconfigurations"): what EPT12 denies or finds misconfigured goes to the
 * guest as its EPT violation (with EPT12's exit qualification) or
 * misconfiguration; what it allows is filled into EPT02 and the guest's
 * guest resumes without the guest seeing an exit. An address EPT12 gives
 * outside the guest's memory ends the run, as the guest's own access there
 * does (docs/guests.md). */
#include "turtle.h"

#include "ept02.h"
#include "x86.h"

extern char __image_start[], __image_end[];

void nested_ept_init(void)
{
    if (!(vcaps.proc2 & ((uint64_t)PROC2_EPT << 32)))
        return;
    /* Without EPT01 only the capabilities are used (EPTP checks). */
    ept02_setup(vcaps.ept_vpid, vmx_caps.ept_vpid, vmx_caps.maxphyaddr,
                gmap.ept ? ept01_eptp() : 0, gmap.base, gmap.base + gmap.size,
                (uint64_t)__image_start, (uint64_t)__image_end);
}

bool nested_ept_eptp12_ok(uint64_t eptp12)
{
    return !ept02_eptp12_check(eptp12);
}

bool nested_ept12(void)
{
    return (v12(PROC_CONTROLS) & PROC_SECONDARY) && (v12(PROC2_CONTROLS) & PROC2_EPT);
}

/* EPT02's cached mappings in the processor go with the tables (SDM 3C
 * "Invalidating Cached Translation Information"): single-context INVEPT of
 * EPTP02, or all contexts where only that type exists. */
static void invalidate02(uint64_t eptp02)
{
    int r = vmx_ept_cap(EPT_CAP_INVEPT_SINGLE) ? invept(INVEPT_SINGLE, eptp02)
                                                : invept(INVEPT_GLOBAL, 0);
    if (r != VMX_OK)
        turtle_fatal("INVEPT of EPT02 failed (result %d)", r);
}

uint64_t nested_ept_eptp02(void)
{
    bool flushed;
    uint64_t eptp02 = ept02_eptp(v12(EPT_POINTER), &flushed);
    if (flushed)
        invalidate02(eptp02);
    return eptp02;
}

/* SDM 3C "Checks on VM-Execution Control Fields", the ones the processor
 * cannot make on vmcs02 when vmcs02 runs on EPT02 or EPT01: EPTP12's
 * (against the capabilities offered), and unrestricted guest only with
 * EPT. */
bool nested_ept_controls_ok(void)
{
    uint64_t proc2 = (v12(PROC_CONTROLS) & PROC_SECONDARY) ? v12(PROC2_CONTROLS) : 0;
    /* Without EPT01 vmcs02 has vmcs12's EPT controls and the processor
     * checks them too, against its own capabilities: EPTP12 is checked
     * here against the ones offered. */
    if (gmap.ept && (proc2 & PROC2_UNRESTRICTED) && !(proc2 & PROC2_EPT))
        return false;
    return !(proc2 & PROC2_EPT) || nested_ept_eptp12_ok(v12(EPT_POINTER));
}

void nested_ept_invalidate(void)
{
    if (gmap.ept && (vcaps.proc2 & ((uint64_t)PROC2_EPT << 32))) {
        bool flushed;
        ept02_flush();
        invalidate02(ept02_eptp(v12(EPT_POINTER), &flushed));
    }
}

/* The event the exit interrupted is delivered again at the next entry
 * (SDM 3C "Information for VM Exits That Occur During Event Delivery"), and
 * an IRET that unblocked NMIs gets the blocking back before it runs again
 * (SDM 3C "Exit Qualification for EPT Violations", bit 12). */
static void resume_after_fill(uint64_t qual02)
{
    uint32_t idt = (uint32_t)vmread(IDT_VECTORING_INFO);
    if (idt & INTR_VALID) {
        vmwrite(ENTRY_INTR_INFO, idt & (INTR_VALID | 0xfffu));
        if (idt & INTR_ERRCODE)
            vmwrite(ENTRY_EXC_ERRCODE, vmread(IDT_VECTORING_ERRCODE));
        vmwrite(ENTRY_INSN_LEN, vmread(EXIT_INSN_LEN));
    } else if (qual02 & (1u << 12)) {
        vmwrite(GUEST_INTERRUPTIBILITY, vmread(GUEST_INTERRUPTIBILITY) | INTERRUPTIBILITY_NMI);
    }
}

bool nested_ept_exit(uint32_t reason, struct nested_ept_reflect *out)
{
    uint64_t gpa3 = vmread(GUEST_PHYS_ADDR), qual02 = vmread(EXIT_QUAL), qual = 0, gpa = 0;
    bool flushed;

    if (reason == EXIT_EPT_MISCONFIG)
        turtle_fatal("EPT02 misconfigured at guest-physical %#lx", gpa3);
    switch (ept02_fault(v12(EPT_POINTER), gpa3, qual02, &qual, &gpa, &flushed)) {
    case EPT02_FAULT_FILLED:
        if (flushed)
            invalidate02(nested_ept_eptp02());
        resume_after_fill(qual02);
        return true;
    case EPT02_FAULT_VIOLATION:
        out->reason = EXIT_EPT_VIOLATION;
        out->qual = qual;
        return false;
    case EPT02_FAULT_MISCONFIG:
        /* no qualification and no linear address (SDM 3C "VM Exits
         * Caused by EPT Violations / Misconfigurations") */
        out->reason = EXIT_EPT_MISCONFIG;
        out->qual = 0;
        return false;
    case EPT02_FAULT_OUTSIDE: break;
    }
    turtle_fatal("the guest's guest accessed guest-physical %#lx: the guest's EPT reaches "
                 "guest-physical %#lx, outside the guest's %lu MiB",
                 gpa3, gpa, gmap.size >> 20);
}
