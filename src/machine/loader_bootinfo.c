/* The Multiboot information structure (Multiboot 0.6.96 "Boot information
 * format") with memory sizes, command line, modules, an E820-style memory
 * map and the boot loader name. ELF64 images get the same structure (RDI). */
#include "loader.h"
#include "machine_private.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MBI_MEMORY (1u << 0)
#define MBI_CMDLINE (1u << 2)
#define MBI_MODS (1u << 3)
#define MBI_MMAP (1u << 6)
#define MBI_LOADER_NAME (1u << 9)

#define MMAP_AVAILABLE 1
#define MMAP_RESERVED 2

#define PAGE 0x1000ull
#define MIB (1ull << 20)

/* Copy a NUL-terminated string into the strings area; 0 when full. */
static uint64_t put_string(struct machine *m, uint64_t *next, uint64_t end, const char *s)
{
    size_t n = strlen(s) + 1;
    if (n > end - *next)
        return 0;
    uint64_t pa = *next;
    memcpy(m->ram + pa, s, n);
    *next += n;
    return pa;
}

static unsigned write_mmap(struct machine *m, uint8_t *p)
{
    const struct { uint64_t base, end; uint32_t type; } map[] = {
        { 0, 0x9fc00, MMAP_AVAILABLE },
        { 0x9fc00, 0xa0000, MMAP_RESERVED },
        { 0xf0000, 0x100000, MMAP_RESERVED },
        { 0x100000, m->ram_size, MMAP_AVAILABLE },
    };
    unsigned n = 0;
    for (unsigned i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (map[i].end <= map[i].base)
            continue;
        uint8_t *e = p + n * 24;
        st_le32(e, 20); /* size of the entry, not counting this field */
        st_le64(e + 4, map[i].base);
        st_le64(e + 12, map[i].end - map[i].base);
        st_le32(e + 20, map[i].type);
        n++;
    }
    return n * 24;
}

static bool load_modules(struct machine *m, const struct boot_params *bp, struct boot_entry *be,
                         uint8_t *info, uint64_t *strings, char *err, size_t errlen)
{
    uint64_t mods = be->lay.base + BOOT_OFF_MODS;
    uint64_t strings_end = be->lay.base + BOOT_OFF_STRINGS_END;
    if (bp->nmodules > BOOT_MAX_MODULES)
        return machine_errorf(err, errlen, "too many modules: %u (at most %llu)", bp->nmodules,
                    (unsigned long long)BOOT_MAX_MODULES);
    /* after the kernel, 1 MiB and a boot data area placed above 1 MiB */
    uint64_t next = be->kernel_end > MIB ? be->kernel_end : MIB;
    if (be->lay.base >= MIB && be->lay.hi > next)
        next = be->lay.hi;
    for (unsigned i = 0; i < bp->nmodules; i++) {
        const struct boot_module *mod = &bp->modules[i];
        struct image_file f;
        next = (next + PAGE - 1) & ~(PAGE - 1);
        uint64_t room = next < m->ram_size ? m->ram_size - next : 0;
        if (!loader_read_file(mod->path, room, &f, err, errlen))
            return false;
        bool ok = next + f.size <= 0x100000000ull;
        if (!ok)
            machine_errorf(err, errlen, "%s: module would end above 4 GiB (multiboot addresses are 32-bit)",
                 mod->path);
        else
            ok = loader_place(m, be, &f, next, f.data, f.size, f.size ? f.size : 1, "module",
                              err, errlen);
        uint64_t str = ok ? put_string(m, strings, strings_end, mod->string ? mod->string : mod->path) : 0;
        if (ok && !str)
            ok = machine_errorf(err, errlen, "%s: module string does not fit in the boot strings area "
                                   "(%llu bytes for command line and module strings)",
                      mod->path, (unsigned long long)(BOOT_OFF_STRINGS_END - BOOT_OFF_STRINGS));
        if (ok) {
            uint8_t *e = m->ram + mods + i * 16;
            st_le32(e, (uint32_t)next);
            st_le32(e + 4, (uint32_t)(next + f.size)); /* first byte after the module */
            st_le32(e + 8, (uint32_t)str);
            st_le32(e + 12, 0);
            next += f.size ? f.size : 1;
        }
        loader_free_file(&f);
        if (!ok)
            return false;
    }
    st_le32(info + 20, bp->nmodules);
    st_le32(info + 24, (uint32_t)mods);
    return true;
}

bool loader_boot_info(struct machine *m, const struct boot_params *bp, struct boot_entry *be,
                      char *err, size_t errlen)
{
    if (m->ram_size < 2 * MIB)
        return machine_errorf(err, errlen, "%s: guest RAM (%llu bytes) is below the 2 MiB minimum",
                    bp->image, (unsigned long long)m->ram_size);
    uint64_t base = be->lay.base, info_pa = base + BOOT_OFF_INFO;
    uint64_t strings_end = base + BOOT_OFF_STRINGS_END;
    uint8_t *info = m->ram + info_pa;
    memset(info, 0, BOOT_OFF_STRINGS - BOOT_OFF_INFO);
    uint64_t strings = base + BOOT_OFF_STRINGS;

    uint64_t upper_kib = (m->ram_size - MIB) / 1024;
    st_le32(info + 4, 0x9fc00 / 1024);                                   /* mem_lower */
    st_le32(info + 8, upper_kib > 0xffffffffu ? 0xffffffffu : (uint32_t)upper_kib); /* mem_upper */
    uint64_t cmd = put_string(m, &strings, strings_end, bp->cmdline ? bp->cmdline : "");
    if (!cmd)
        return machine_errorf(err, errlen, "%s: command line longer than the %llu-byte boot strings area",
                    bp->image, (unsigned long long)(BOOT_OFF_STRINGS_END - BOOT_OFF_STRINGS - 1));
    st_le32(info + 16, (uint32_t)cmd);
    /* the area is taken before the modules are placed */
    loader_note_range(be, info_pa, BOOT_OFF_STRINGS_END - BOOT_OFF_INFO);
    if (!load_modules(m, bp, be, info, &strings, err, errlen))
        return false;
    st_le32(info + 44, write_mmap(m, m->ram + base + BOOT_OFF_MMAP));   /* mmap_length */
    st_le32(info + 48, (uint32_t)(base + BOOT_OFF_MMAP));
    memcpy(m->ram + base + BOOT_OFF_LOADER_NAME, "nvmx", 5);
    st_le32(info + 64, (uint32_t)(base + BOOT_OFF_LOADER_NAME));
    st_le32(info, MBI_MEMORY | MBI_CMDLINE | MBI_MODS | MBI_MMAP | MBI_LOADER_NAME);
    be->info = info_pa;
    return true;
}
