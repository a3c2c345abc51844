/* EPT for the turtle's guest (ept=1, when the processor offers EPT and
 * unrestricted guest): guest-physical [0, mem) is a block of the turtle's
 * RAM at gbase, mapped by EPT01 (SDM 3C "EPT Translation Mechanism"); the
 * local APIC page is mapped 1:1 (uncached) so that the guest keeps the
 * machine's APIC. The guest cannot reach anything else: an access outside
 * its map is an EPT violation, which ends the run (docs/guests.md). Its
 * guest, if it runs one without EPT in its vmcs12, gets the same map in
 * vmcs02 (the guest's guest-physical addresses are the guest's own); with
 * EPT in its vmcs12, the shadow EPT02 of nested_ept.c. */
#include "turtle.h"

#include "ept.h"
#include "x86.h"

#define PROC2_EPT (1u << 1)
#define PROC2_UNRESTRICTED (1u << 7)
#define EPT_POINTER_FIELD 0x201au
#define APIC_PAGE 0xfee00000ull

struct gmem_map gmap;
static struct ept ept01;
static uint64_t eptp01;

/* [base, base + size): 2-MiB aligned host RAM for the guest. */
void ept01_init(uint64_t base, uint64_t size)
{
    ept_use_caps(rdmsr(MSR_VMX_EPT_VPID_CAP));
    if (!ept_init(&ept01) ||
        !ept_map(&ept01, 0, base, size, EPT_LEAF_AUTO, EPT_RWX | EPT_MT(EPT_MT_WB)) ||
        !ept_map(&ept01, APIC_PAGE, APIC_PAGE, 4096, EPT_LEAF_4K,
                 EPT_R | EPT_W | EPT_MT(EPT_MT_UC)))
        turtle_fatal("cannot build the EPT tables of the guest");
    eptp01 = ept_eptp(&ept01, false);
    gmap.ept = true;
    gmap.base = base;
    gmap.size = size;
}

/* vmcs01 (current): EPT and unrestricted guest on. */
void ept01_enable(void)
{
    vmx_ctls.proc2 |= PROC2_EPT | PROC2_UNRESTRICTED;
    vmwrite(PROC2_CONTROLS, vmx_ctls.proc2);
    vmwrite(EPT_POINTER_FIELD, eptp01);
}

/* vmcs02 runs with EPT (EPT01 or EPT02) whatever vmcs12 says, and with
 * unrestricted guest when vmcs12 has it (offered with EPT only). */
uint64_t ept01_proc2_for_vmcs02(uint64_t proc2_12)
{
    return proc2_12 | PROC2_EPT;
}

uint64_t ept01_eptp(void)
{
    return eptp01;
}
