/* ELF64 images entered directly in 64-bit mode: PT_LOAD segments at p_paddr,
 * then (once the boot data area is placed) identity-mapped 4-level page
 * tables with 2 MiB pages covering RAM (and at least 4 GiB), a flat GDT and
 * a stack in the boot data area (docs/memory-layout.md). */
#include "loader.h"
#include "machine_private.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define GIB (1ull << 30)
#define PTE_P (1ull << 0)  /* SDM 3A "Formats of Paging Structures" */
#define PTE_RW (1ull << 1)
#define PTE_PS (1ull << 7)

static uint64_t mapped_size(const struct machine *m)
{
    uint64_t top = (m->ram_size + GIB - 1) & ~(GIB - 1);
    return top < 4 * GIB ? 4 * GIB : top;
}

/* SDM 3A "4-Level Paging and 5-Level Paging": PML4E -> PDPTE -> 2 MiB PDE. */
static void build_page_tables(struct machine *m, struct boot_entry *be)
{
    uint64_t pml4_pa = be->lay.base + BOOT_OFF_PML4, pdpt_pa = be->lay.base + BOOT_OFF_PDPT;
    uint8_t *pml4 = m->ram + pml4_pa, *pdpt = m->ram + pdpt_pa;
    memset(pml4, 0, 0x1000);
    memset(pdpt, 0, 0x1000);
    st_le64(pml4, pdpt_pa | PTE_P | PTE_RW);
    for (uint64_t i = 0; i < be->npds; i++) {
        uint64_t pd_pa = be->lay.base + BOOT_OFF_PD + i * 0x1000;
        st_le64(pdpt + i * 8, pd_pa | PTE_P | PTE_RW);
        for (uint64_t j = 0; j < 512; j++)
            st_le64(m->ram + pd_pa + j * 8, (i * GIB + (j << 21)) | PTE_P | PTE_RW | PTE_PS);
    }
    loader_note_range(be, pml4_pa, 0x2000 + be->npds * 0x1000);
    be->cr3 = pml4_pa;
}

/* Flat GDT: null, 64-bit code (0x08), data (0x10), 32-bit code (0x18).
 * SDM 3A "Segment Descriptors". */
static void build_gdt(struct machine *m, struct boot_entry *be)
{
    static const uint64_t gdt[4] = {
        0,
        0x00af9a000000ffffull, /* code, DPL 0, L=1, present */
        0x00cf92000000ffffull, /* data, writable, 4 GiB, present */
        0x00cf9a000000ffffull, /* code, 32-bit, 4 GiB, present */
    };
    be->gdt_base = be->lay.base + BOOT_OFF_GDT;
    for (unsigned i = 0; i < 4; i++)
        st_le64(m->ram + be->gdt_base + i * 8, gdt[i]);
    loader_note_range(be, be->gdt_base, sizeof(gdt));
}

void loader_elf64_structures(struct machine *m, struct boot_entry *be)
{
    build_page_tables(m, be);
    build_gdt(m, be);
    be->rsp = be->lay.base + BOOT_OFF_STACK_TOP;
    loader_note_range(be, be->lay.base + BOOT_OFF_STRINGS_END,
                      BOOT_OFF_STACK_TOP - BOOT_OFF_STRINGS_END);
}

bool loader_elf64(struct machine *m, const struct image_file *f, struct boot_entry *be,
                  char *err, size_t errlen)
{
    be->kind = BOOT_ELF64;
    uint64_t map = mapped_size(m), npds = map / GIB;
    if (npds > BOOT_MAX_PDS)
        return machine_errorf(err, errlen, "%s: guest RAM of %llu GiB exceeds the %llu GiB the boot page "
                                 "tables can map", f->path,
                    (unsigned long long)(m->ram_size / GIB), (unsigned long long)BOOT_MAX_PDS);

    uint64_t entry_va, entry_pa;
    bool identity;
    if (!loader_elf_segments(m, f, 2, be, &entry_va, &entry_pa, &identity, err, errlen))
        return false;
    if (!identity || entry_va >= map)
        return machine_errorf(err, errlen,
                    "%s: entry point 0x%llx is not identity-mapped (the boot page tables map "
                    "virtual = physical for 0-0x%llx; link the entry segment with "
                    "vaddr == paddr)",
                    f->path, (unsigned long long)entry_va, (unsigned long long)(map - 1));
    be->npds = npds;
    be->entry = entry_va;
    return true;
}
