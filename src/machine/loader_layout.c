/* Where the loader's own data goes (docs/memory-layout.md "Boot data
 * area"): at base 0x1000 when the image leaves that free, else at the
 * first page boundary above a loaded piece where the whole area fits in
 * RAM that the memory map reports available below 4 GiB (below 0x9fc00,
 * or from 1 MiB), clear of the image. So images that load in low memory,
 * such as a real-mode test kernel linked at 0x4000 or 0x8000, load. */
#include "loader.h"
#include "machine_private.h"

#include <stdio.h>

#define PAGE 0x1000ull
#define LOW_RAM_END 0x9fc00ull /* reserved from here to 1 MiB (memory map) */
#define MIB (1ull << 20)
#define GIB4 (1ull << 32)

static uint64_t page_up(uint64_t v) { return (v + PAGE - 1) & ~(PAGE - 1); }

bool loader_layout(struct machine *m, const struct image_file *f, struct boot_entry *be,
                   char *err, size_t errlen)
{
    uint64_t first = be->kind == BOOT_ELF64 ? BOOT_OFF_GDT : BOOT_OFF_INFO;
    uint64_t end = be->kind == BOOT_ELF64 ? BOOT_OFF_PD + be->npds * PAGE : BOOT_OFF_STRINGS_END;
    uint64_t size = end - first, limit = m->ram_size < GIB4 ? m->ram_size : GIB4;
    uint64_t lo = BOOT_AREA_DEFAULT + first;
    for (;;) {
        if (lo < MIB && lo + size > LOW_RAM_END)
            lo = MIB;
        if (lo + size > limit)
            return machine_errorf(err, errlen,
                                  "%s: no room for the boot data (0x%llx bytes) in available "
                                  "RAM below 4 GiB outside the image",
                                  f->path, (unsigned long long)size);
        unsigned i;
        for (i = 0; i < be->nranges; i++)
            if (loader_overlaps(lo, size, be->ranges[i].pa, be->ranges[i].len))
                break;
        if (i == be->nranges)
            break;
        lo = page_up(be->ranges[i].pa + be->ranges[i].len);
    }
    be->lay = (struct boot_layout){ .base = lo - first, .lo = lo, .hi = lo + size };
    return true;
}
