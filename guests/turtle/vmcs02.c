/* The turtle's vmcs02s: one per vmcs12 the guest enters, up to
 * VMCS02_SLOTS (the least recently entered is cleared to make room), as
 * nvmx's L0 and KVM keep a vmcs02 per vmcs12. A guest hypervisor that runs
 * a hypervisor alternates between two vmcs12s -- the one for its guest and
 * the one its guest's guest runs on -- and with a single vmcs02 each switch
 * cleared and rebuilt it (every field written, a VMLAUNCH), which at depth
 * four and more dominated the run.
 *
 * A slot also keeps the dirty bits of the vmcs12 cache (vmcs12.c) from when
 * its vmcs12 stopped being current: the region in the guest's memory holds
 * what the cache held then, so when that vmcs12 is loaded again only the
 * fields that differed from the slot's vmcs02 are dirty. (A guest that
 * writes a VMCS region directly gets undefined results on a processor, SDM
 * 3C "Software Use of the VMCS and Related Structures"; here: its vmcs02
 * keeps the older values, deterministically.) */
#include "turtle.h"

#include "rtstring.h"
#include "x86.h"

#define VMCS02_SLOTS 4
#define NDIRTY ((VMCS12_NFIELDS + 63) / 64)

static uint8_t regions[VMCS02_SLOTS][4096] __attribute__((aligned(4096)));
static struct vmcs02_slot {
    bool used;
    bool launched;
    bool dirty_saved;
    uint64_t for12; /* the vmcs12 it was built for */
    uint64_t stamp; /* when it was last entered */
    uint64_t dirty[NDIRTY];
} slots[VMCS02_SLOTS];
static uint64_t stamp;
static int current = -1; /* the slot nested_enter() made current */

static int find(uint64_t pa)
{
    for (int i = 0; i < VMCS02_SLOTS; i++)
        if (slots[i].used && slots[i].for12 == pa)
            return i;
    return -1;
}

static void release(int i)
{
    vmclear((uint64_t)regions[i]); /* vmcs01 stays current */
    slots[i].used = false;
    if (current == i)
        current = -1;
}

void nested_forget(uint64_t pa)
{
    for (int i = 0; i < VMCS02_SLOTS; i++)
        if (slots[i].used && (pa == ~0ull || slots[i].for12 == pa))
            release(i);
}

uint64_t vmcs02_enter(uint64_t ptr, bool *fresh, bool *launched)
{
    int i = find(ptr);

    *fresh = i < 0;
    if (i < 0) {
        i = 0;
        for (int k = 0; k < VMCS02_SLOTS; k++) {
            if (!slots[k].used) {
                i = k;
                break;
            }
            if (slots[k].stamp < slots[i].stamp)
                i = k;
        }
        if (slots[i].used)
            release(i);
        vmx_region_init(regions[i], VMX_BASIC_REVISION(vmx_caps.basic));
        if (vmclear((uint64_t)regions[i]) != VMX_OK)
            turtle_fatal("VMCLEAR of vmcs02 failed");
        slots[i] = (struct vmcs02_slot){.used = true, .for12 = ptr};
    }
    slots[i].stamp = ++stamp;
    current = i;
    *launched = slots[i].launched;
    return (uint64_t)regions[i];
}

uint64_t vmcs02_current(void)
{
    return current >= 0 ? (uint64_t)regions[current] : 0;
}

void vmcs02_mark_launched(void)
{
    if (current >= 0)
        slots[current].launched = true;
}

void vmcs02_save_dirty(uint64_t pa)
{
    int i = find(pa);
    if (i >= 0) {
        memcpy(slots[i].dirty, vmcs12_dirty, sizeof(slots[i].dirty));
        slots[i].dirty_saved = true;
    }
}

void vmcs02_restore_dirty(uint64_t pa)
{
    int i = find(pa);
    if (i >= 0 && slots[i].dirty_saved)
        memcpy(vmcs12_dirty, slots[i].dirty, sizeof(slots[i].dirty));
}
