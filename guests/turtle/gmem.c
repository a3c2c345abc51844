/* The guest's memory as the turtle reaches it: guest-physical addresses are
 * the machine's (no EPT yet), and guest-linear addresses go through the
 * guest's paging -- none (the turtle's identity map) or 4-level paging
 * (SDM 3A "4-Level Paging and 5-Level Paging"). A walk that faults
 * injects #PF with the error code and CR2 the processor would give
 * (SDM 3A "Interrupt 14 -- Page-Fault Exception"). */
#include "turtle.h"

#include "paging.h"
#include "rtstring.h"
#include "x86.h"

#define PF_P (1u << 0)
#define PF_W (1u << 1)
#define ADDR_MASK 0x000ffffffffff000ull

/* Whose operands: the direct guest's (vmcs01 current), or its guest's
 * while the turtle emulates that guest's shadowed VMREAD/VMWRITE (vmcs02
 * current, shadow12.c). */
static bool for_l3;

void gmem_for_l3(bool on)
{
    for_l3 = on;
}

bool gmem_long64(void)
{
    uint64_t entry = for_l3 ? vmread(ENTRY_CONTROLS) : vmx_ctls.entry;
    return (entry & ENTRY_IA32E) && (vmread(GUEST_CS_AR) & (1u << 13));
}

static void fault(unsigned vector, bool has_error, uint32_t error, uint64_t cr2)
{
    if (for_l3) {
        shadow12_exception(vector, has_error, error, cr2);
        return;
    }
    if (vector == 14)
        __asm__ volatile("mov %0, %%cr2" : : "r"(cr2) : "memory");
    inject_exception(vector, has_error, error);
}

/* The host pointer of guest-physical [pa, pa + n) for an operand or a
 * paging-structure entry. With EPT01 an address outside the guest's memory
 * is what an access of the guest itself there is, an EPT violation that
 * ends the run (vcpu.c): never a host address outside that memory. */
static void *operand_ptr(uint64_t pa, uint64_t n)
{
    if (gmap.ept && (pa + n < pa || pa + n > gmap.size))
        turtle_fatal("the guest%s accessed guest-physical %#lx, outside %s %lu MiB",
                     for_l3 ? "'s guest" : "", pa, for_l3 ? "the guest's" : "its",
                     gmap.size >> 20);
    return phys_ptr(pa);
}

static void inject_pf(uint64_t lin, uint32_t error)
{
    fault(14, true, error, lin);
}

static void operand_gp(void)
{
    fault(13, true, 0, 0);
}

bool gmem_translate(uint64_t lin, bool write, uint64_t *pa)
{
    /* The direct guest's CR0 is its view (its paging may be off on the
     * turtle's identity map); its guest's is vmcs02's, the real one. */
    uint64_t cr0 = for_l3 ? vmread(GUEST_CR0) : vcpu.cr0;
    uint64_t entry = for_l3 ? vmread(ENTRY_CONTROLS) : vmx_ctls.entry;

    if (for_l3 && nested_ept12())
        turtle_fatal("unsupported: a memory operand of a shadowed VMREAD/VMWRITE of the "
                     "guest's guest under the guest's EPT");
    if (!(cr0 & CR0_PG_BIT)) {
        *pa = (uint32_t)lin;
        return true;
    }
    if (!(entry & ENTRY_IA32E))
        turtle_fatal("unsupported: a VMX operand under 32-bit or PAE paging");

    uint64_t table = vmread(GUEST_CR3) & ADDR_MASK;
    bool wp = cr0 & (1ull << 16), writable = true;
    for (int level = 4; level >= 1; level--) {
        unsigned idx = (lin >> (12 + 9 * (level - 1))) & 511;
        if (table >= (1ull << 32)) {
            operand_gp();
            return false;
        }
        uint64_t *e = (uint64_t *)operand_ptr(table + 8 * idx, 8);
        uint64_t v = *e;
        if (!(v & PTE_P)) {
            inject_pf(lin, write ? PF_W : 0);
            return false;
        }
        writable = writable && (v & PTE_W);
        bool leaf = level == 1 || ((level == 2 || level == 3) && (v & PTE_PS));
        if (leaf && write && !writable && wp) {
            inject_pf(lin, PF_P | PF_W);
            return false;
        }
        /* Accessed on every entry used, dirty on the leaf of a write (SDM
         * 3A "Accessed and Dirty Flags"). */
        *e = v | PTE_A | (leaf && write ? PTE_D : 0);
        if (leaf) {
            uint64_t size = 1ull << (12 + 9 * (level - 1));
            *pa = (v & ADDR_MASK & ~(size - 1)) | (lin & (size - 1));
            return true;
        }
        table = v & ADDR_MASK;
    }
    return false;
}

static bool gmem_copy(uint64_t lin, void *buf, unsigned n, bool write)
{
    uint8_t *b = buf;
    while (n) {
        uint64_t pa;
        unsigned chunk = 4096 - (unsigned)(lin & 4095);
        if (chunk > n)
            chunk = n;
        if (!gmem_translate(lin, write, &pa))
            return false;
        if (pa + chunk > (1ull << 32)) {
            operand_gp();
            return false;
        }
        if (write)
            memcpy(operand_ptr(pa, chunk), b, chunk);
        else
            memcpy(b, operand_ptr(pa, chunk), chunk);
        lin += chunk, b += chunk, n -= chunk;
    }
    return true;
}

bool gmem_read(uint64_t lin, void *buf, unsigned n)
{
    return gmem_copy(lin, buf, n, false);
}

bool gmem_write(uint64_t lin, const void *buf, unsigned n)
{
    return gmem_copy(lin, (void *)buf, n, true);
}

bool vmx_operand_addr(regs_t *r, uint32_t info, uint64_t disp, uint64_t *lin)
{
    /* SDM 3C "VM-Exit Instruction-Information Field": 1:0 scaling, 9:7
     * address size, 17:15 segment, 21:18 index (22: invalid), 26:23 base
     * (27: invalid). The displacement is the exit qualification. */
    unsigned scale = info & 3, asize = (info >> 7) & 7, segr = (info >> 15) & 7;
    uint64_t a = disp;
    bool long64 = gmem_long64();

    if (!(info & (1u << 27)))
        a += gpr_read(r, (info >> 23) & 15);
    if (!(info & (1u << 22)))
        a += gpr_read(r, (info >> 18) & 15) << scale;
    a = asize == 0 ? (a & 0xffff) : asize == 1 ? (a & 0xffffffffu) : a;
    if (!long64 || segr == 4 || segr == 5)
        a += vmread(GUEST_ES_BASE + 2 * segr);
    if (!long64)
        a = (uint32_t)a;
    else if ((uint64_t)((int64_t)(a << 16) >> 16) != a) {
        operand_gp(); /* non-canonical (#SS for SS-relative: not modelled) */
        return false;
    }
    *lin = a;
    return true;
}
