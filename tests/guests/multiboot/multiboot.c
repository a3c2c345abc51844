/* Guest test: the multiboot v1 hand-over (Multiboot Specification 0.6.96,
 * "Machine state" and "Boot information format"). The runtime saved EAX and
 * EBX at the 32-bit entry and switched to 64-bit mode; this checks the magic,
 * the command line, the module (tests/guests/multiboot/module.txt), the
 * memory fields and the memory map against the RAM size the test gives. */
#include "console.h"
#include "multiboot.h"
#include "report.h"
#include "rtstring.h"
#include "x86.h"

#ifndef MB_TEST_MEM_MIB
#error "MB_TEST_MEM_MIB (RAM size given to the machine) must be defined"
#endif
#define RAM_SIZE ((uint64_t)MB_TEST_MEM_MIB << 20)
/* Firmware may keep a little RAM below the top (QEMU: 128 KiB for ACPI). */
#define RAM_TOP_SLACK (256ull << 10)
#define MiB (1ull << 20)

#define EXPECT_CMDLINE "nvmx test cmdline"
#define EXPECT_MODSTRING "testmod v1"
#define MODULE_SIZE 162
#define MODULE_FNV1A 0x000569aeu

#define MSR_EFER_LMA (1ull << 10)

extern uint8_t __image_start[], __image_end[];

/* Must be zero: the loader zero-fills p_memsz beyond p_filesz. */
static uint8_t bss_probe[8192];

static uint32_t fnv1a(const uint8_t *p, uint64_t n)
{
    uint32_t h = 0x811c9dc5u;
    while (n--)
        h = (h ^ *p++) * 0x01000193u;
    return h;
}

/* GRUB and QEMU put the image path before the command line given. */
static bool cmdline_matches(const char *s, const char *want)
{
    if (strcmp(s, want) == 0)
        return true;
    size_t n = strlen(s), m = strlen(want);
    return n > m && s[n - m - 1] == ' ' && str_ends_with(s, want);
}

static bool outside_image(uint64_t start, uint64_t end)
{
    return end <= (uint64_t)__image_start || start >= (uint64_t)__image_end;
}

static void check_module(const struct mb_info *mbi)
{
    if (!check_true("mb.flags_mods", mbi->flags & MB_INFO_MODS, "flags bit 3 (mods)"))
        return;
    if (!check_eq("mb.mods_count", mbi->mods_count, 1))
        return;
    const struct mb_module *mod = (const struct mb_module *)(uint64_t)mbi->mods_addr;
    check_eq("mb.module_page_aligned", mod->mod_start & 0xfff, 0);
    check_true("mb.module_outside_image", outside_image(mod->mod_start, mod->mod_end),
               "module not overlapping the image");
    if (check_eq("mb.module_size", mod->mod_end - mod->mod_start, MODULE_SIZE))
        check_eq("mb.module_fnv1a", fnv1a((const uint8_t *)(uint64_t)mod->mod_start, MODULE_SIZE),
                 MODULE_FNV1A);
    const char *s = (const char *)(uint64_t)mod->string;
    con_printf("module string: \"%s\"\n", s ? s : "");
    check_true("mb.module_string", s && cmdline_matches(s, EXPECT_MODSTRING),
               "\"" EXPECT_MODSTRING "\"");
}

static void check_memory(const struct mb_info *mbi)
{
    if (!check_true("mb.flags_memory", mbi->flags & MB_INFO_MEMORY, "flags bit 0 (mem_*)"))
        return;
    check_true("mb.mem_lower", mbi->mem_lower > 0 && mbi->mem_lower <= 640,
               "0 < mem_lower <= 640 KiB");
    if (!check_true("mb.flags_mmap", mbi->flags & MB_INFO_MEM_MAP, "flags bit 6 (mmap)"))
        return;

    uint64_t high_end = 0, top_available = 0;
    bool entries_ok = true;
    uint64_t p = mbi->mmap_addr, end = (uint64_t)mbi->mmap_addr + mbi->mmap_length;
    while (p < end) {
        const struct mb_mmap_entry *e = (const struct mb_mmap_entry *)p;
        con_printf("e820: %#011lx-%#011lx type %u\n", e->base_addr, e->base_addr + e->length,
                   e->type);
        if (e->size < 20)
            entries_ok = false;
        if (e->type == MB_MMAP_AVAILABLE) {
            uint64_t last = e->base_addr + e->length;
            if (e->base_addr <= MiB && last > MiB)
                high_end = last;
            if (last > top_available)
                top_available = last;
        }
        p += e->size + 4;
    }
    check_true("mb.mmap_entry_sizes", entries_ok && p == end, "entries of size >= 20 filling mmap_length");
    check_true("mb.mmap_ram_above_1m", high_end >= RAM_SIZE - RAM_TOP_SLACK && high_end <= RAM_SIZE,
               "an available region from 1 MiB to the RAM size");
    check_true("mb.mmap_nothing_beyond_ram", top_available <= RAM_SIZE,
               "no available RAM beyond the RAM size");
    check_eq("mb.mem_upper_matches_mmap", (uint64_t)mbi->mem_upper * 1024 + MiB, high_end);
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    const struct mb_info *mbi = (const struct mb_info *)(uint64_t)mb_info;

    if (!check_eq("mb.magic", mb_magic, MB_BOOTLOADER_MAGIC))
        return;
    check_true("mb.long_mode", (rdmsr(MSR_EFER) & MSR_EFER_LMA) && read_cs() == GDT_KCODE,
               "EFER.LMA=1 and CS=0x08 after the switch");
    check_true("mb.info_outside_image", outside_image(mb_info, mb_info + sizeof(*mbi)),
               "information structure not overlapping the image");

    bool zero = true;
    for (unsigned i = 0; i < sizeof(bss_probe); i++)
        zero &= bss_probe[i] == 0;
    check_true("mb.bss_zeroed", zero, ".bss zero-filled by the loader");

    if (check_true("mb.flags_cmdline", mbi->flags & MB_INFO_CMDLINE, "flags bit 2 (cmdline)")) {
        const char *s = (const char *)(uint64_t)mbi->cmdline;
        con_printf("command line: \"%s\"\n", s);
        check_true("mb.cmdline", cmdline_matches(s, EXPECT_CMDLINE), "\"" EXPECT_CMDLINE "\"");
    }
    check_module(mbi);
    check_memory(mbi);
}
