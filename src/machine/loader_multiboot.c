/* Multiboot v1 images (Multiboot Specification 0.6.96, "OS image format"):
 * the header's a.out kludge (flag 16: header_addr, load_addr, load_end_addr,
 * bss_end_addr, entry_addr) or else ELF program headers (ELF32, or ELF64 as
 * GRUB accepts it). The machine
 * state at entry is set by loader.c ("Machine state": EAX = 0x2BADB002,
 * EBX = information structure, flat protected mode, paging off). */
#include "loader.h"
#include "machine_private.h"

#include <stdarg.h>
#include <stdio.h>

#define MB_FLAG_PAGE_ALIGN (1u << 0) /* modules page-aligned: we always do */
#define MB_FLAG_MEMORY_INFO (1u << 1) /* mem_* fields: we always give them */
#define MB_FLAG_VIDEO_MODE (1u << 2)  /* no framebuffer: ignored, as QEMU does */
#define MB_FLAG_AOUT_KLUDGE (1u << 16)
#define MB_FLAGS_UNDERSTOOD                                                                  \
    (MB_FLAG_PAGE_ALIGN | MB_FLAG_MEMORY_INFO | MB_FLAG_VIDEO_MODE)

/* Multiboot 0.6.96 "The address fields of Multiboot header". */
static bool load_aout_kludge(struct machine *m, const struct image_file *f, size_t hdr_off,
                             struct boot_entry *be, char *err, size_t errlen)
{
    if (hdr_off + 32 > f->size)
        return machine_errorf(err, errlen, "%s: multiboot header at 0x%zx is truncated (address fields "
                                 "need 32 bytes)", f->path, hdr_off);
    const uint8_t *h = f->data + hdr_off;
    uint32_t header_addr = ld_le32(h + 12), load_addr = ld_le32(h + 16);
    uint32_t load_end_addr = ld_le32(h + 20), bss_end_addr = ld_le32(h + 24);
    uint32_t entry_addr = ld_le32(h + 28);

    if (load_addr > header_addr)
        return machine_errorf(err, errlen, "%s: multiboot load_addr 0x%x is above header_addr 0x%x",
                    f->path, load_addr, header_addr);
    if (header_addr - load_addr > hdr_off)
        return machine_errorf(err, errlen,
                    "%s: multiboot header_addr - load_addr (0x%x) exceeds the header's file "
                    "offset 0x%zx",
                    f->path, header_addr - load_addr, hdr_off);
    uint64_t file_off = hdr_off - (header_addr - load_addr);
    uint64_t load_len = load_end_addr ? (uint64_t)load_end_addr - load_addr
                                      : (uint64_t)f->size - file_off;
    if (load_end_addr && load_end_addr <= load_addr)
        return machine_errorf(err, errlen, "%s: multiboot load_end_addr 0x%x is not above load_addr 0x%x",
                    f->path, load_end_addr, load_addr);
    if (file_off + load_len > f->size)
        return machine_errorf(err, errlen,
                    "%s: multiboot load range 0x%x-0x%x needs %llu bytes of file from offset "
                    "0x%llx, file is %zu bytes",
                    f->path, load_addr, load_end_addr, (unsigned long long)load_len,
                    (unsigned long long)file_off, f->size);
    uint64_t mem_len = load_len;
    if (bss_end_addr) {
        if (bss_end_addr < load_addr + load_len)
            return machine_errorf(err, errlen,
                        "%s: multiboot bss_end_addr 0x%x is below the end of the loaded "
                        "image 0x%llx",
                        f->path, bss_end_addr, (unsigned long long)(load_addr + load_len));
        mem_len = (uint64_t)bss_end_addr - load_addr;
    }
    if (entry_addr < load_addr || entry_addr - load_addr >= mem_len)
        return machine_errorf(err, errlen, "%s: multiboot entry_addr 0x%x is outside the image 0x%x-0x%llx",
                    f->path, entry_addr, load_addr, (unsigned long long)(load_addr + mem_len - 1));
    if (!loader_place(m, be, f, load_addr, f->data + file_off, load_len, mem_len,
                      "multiboot image", err, errlen))
        return false;
    be->entry = entry_addr;
    return true;
}

bool loader_multiboot(struct machine *m, const struct image_file *f, size_t hdr_off,
                      struct boot_entry *be, char *err, size_t errlen)
{
    uint32_t flags = ld_le32(f->data + hdr_off + 4);
    /* "If the boot loader does not understand all the requirements in bits
     * 0-15, it must fail." */
    if (flags & 0xffffu & ~MB_FLAGS_UNDERSTOOD)
        return machine_errorf(err, errlen, "%s: multiboot header requests unsupported features "
                                 "(flags 0x%08x)", f->path, flags);
    be->kind = BOOT_MULTIBOOT;
    if (flags & MB_FLAG_AOUT_KLUDGE)
        return load_aout_kludge(m, f, hdr_off, be, err, errlen);

    uint64_t entry_va, entry_pa;
    bool identity;
    if (!loader_elf_segments(m, f, f->data[4], be, &entry_va, &entry_pa, &identity, err, errlen))
        return false;
    if (entry_pa > 0xffffffffull)
        return machine_errorf(err, errlen, "%s: multiboot entry point 0x%llx is above 4 GiB", f->path,
                    (unsigned long long)entry_pa);
    be->entry = entry_pa; /* paging is off at entry: the physical address */
    return true;
}
