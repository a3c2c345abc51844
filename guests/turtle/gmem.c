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

static void inject_pf(uint64_t lin, uint32_t error)
{
    __asm__ volatile("mov %0, %%cr2" : : "r"(lin) : "memory");
    inject_exception(14, true, error);
}

bool gmem_translate(uint64_t lin, bool write, uint64_t *pa)
{
    uint64_t cr0 = vcpu.cr0;

    if (!(cr0 & CR0_PG_BIT)) {
        *pa = (uint32_t)lin;
        return true;
    }
    if (!(vmx_ctls.entry & ENTRY_IA32E))
        turtle_fatal("unsupported: a VMX operand under 32-bit or PAE paging");

    uint64_t table = vmread(GUEST_CR3) & ADDR_MASK;
    bool wp = cr0 & (1ull << 16), writable = true;
    for (int level = 4; level >= 1; level--) {
        unsigned idx = (lin >> (12 + 9 * (level - 1))) & 511;
        if (table >= (1ull << 32)) {
            inject_gp();
            return false;
        }
        uint64_t *e = (uint64_t *)phys_ptr(table + 8 * idx);
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
            inject_gp();
            return false;
        }
        if (write)
            memcpy(phys_ptr(pa), b, chunk);
        else
            memcpy(b, phys_ptr(pa), chunk);
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
    bool long64 = (vmx_ctls.entry & ENTRY_IA32E) && (vmread(GUEST_CS_AR) & (1u << 13));

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
        inject_gp(); /* non-canonical (#SS for SS-relative: not modelled) */
        return false;
    }
    *lin = a;
    return true;
}
