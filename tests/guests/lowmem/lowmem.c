/* Guest test lowmem: an image linked at 0x8000, inside the boot data
 * area's default place (docs/memory-layout.md "Boot data area"). The
 * loader puts the multiboot information, command line, module strings and
 * memory map where the image is not, and the image's own bytes stay as
 * linked (Multiboot 0.6.96 "Machine state": EBX holds the address of the
 * information structure, which the OS must not assume anywhere). */
#include "multiboot.h"
#include "report.h"
#include "rtstring.h"

extern char __image_start[], __image_end[];

/* initialised data the loader must not overwrite */
static volatile uint32_t pattern[64] = {
    [0] = 0x11223344u, [31] = 0x55667788u, [63] = 0x99aabbccu,
};

static bool outside_image(uint64_t pa, uint64_t len)
{
    return pa + len <= (uint64_t)__image_start || pa >= (uint64_t)__image_end;
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    const struct mb_info *mbi = (const struct mb_info *)(uint64_t)mb_info;
    check_eq("lowmem.linked_at_0x8000", (uint64_t)__image_start, 0x8000);
    check_eq("lowmem.magic", mb_magic, MB_BOOTLOADER_MAGIC);
    check_true("lowmem.info_outside_image", outside_image(mb_info, sizeof *mbi),
               "the information structure is not in the image");
    check_eq("lowmem.data_intact",
             pattern[0] ^ pattern[31] ^ pattern[63], 0x11223344u ^ 0x55667788u ^ 0x99aabbccu);
    const char *cmd = (const char *)(uint64_t)mbi->cmdline;
    check_true("lowmem.cmdline", (mbi->flags & MB_INFO_CMDLINE) && outside_image(mbi->cmdline, 1) &&
                                     strcmp(cmd, "lowmem test") == 0,
               "the command line, outside the image");
    check_true("lowmem.mmap_outside_image",
               (mbi->flags & MB_INFO_MEM_MAP) && outside_image(mbi->mmap_addr, mbi->mmap_length),
               "the memory map, outside the image");
    const struct mb_module *mod = (const struct mb_module *)(uint64_t)mbi->mods_addr;
    bool mod_ok = (mbi->flags & MB_INFO_MODS) && mbi->mods_count == 1 &&
                  outside_image(mbi->mods_addr, sizeof *mod) &&
                  outside_image(mod->mod_start, mod->mod_end - mod->mod_start) &&
                  strcmp((const char *)(uint64_t)mod->string, "lowmod") == 0;
    check_true("lowmem.module", mod_ok, "one module with its string, outside the image");
    guest_finish();
}
