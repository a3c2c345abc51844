/* Image detection and the checked placement every loader goes through:
 * reading host files, bounds and overlap checks for each piece written to
 * guest RAM, and the choice between multiboot and ELF64 loading. */
#include "loader.h"
#include "machine_private.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ELF_CLASS32 1
#define ELF_CLASS64 2

bool loader_read_file(const char *path, uint64_t max, struct image_file *f, char *err,
                      size_t errlen)
{
    memset(f, 0, sizeof(*f));
    f->path = path;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return machine_errorf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    bool ok = false;
    long size;
    if (fseek(fp, 0, SEEK_END) != 0 || (size = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) != 0) {
        machine_errorf(err, errlen, "%s: cannot determine the file size (not a regular file?)", path);
        goto out;
    }
    if ((uint64_t)size > max) {
        machine_errorf(err, errlen, "%s: file is %ld bytes, larger than guest RAM (%llu bytes)", path,
             size, (unsigned long long)max);
        goto out;
    }
    f->data = malloc(size ? (size_t)size : 1);
    if (!f->data) {
        machine_errorf(err, errlen, "%s: out of memory reading %ld bytes", path, size);
        goto out;
    }
    if (size && fread(f->data, 1, (size_t)size, fp) != (size_t)size) {
        machine_errorf(err, errlen, "%s: read error: %s", path, ferror(fp) ? strerror(errno) : "short read");
        goto out;
    }
    f->size = (size_t)size;
    ok = true;
out:
    fclose(fp);
    if (!ok)
        loader_free_file(f);
    return ok;
}

void loader_free_file(struct image_file *f)
{
    free(f->data);
    f->data = NULL;
    f->size = 0;
}

void loader_note_range(struct boot_entry *be, uint64_t pa, uint64_t len)
{
    if (len && be->nranges < LOADER_MAX_RANGES)
        be->ranges[be->nranges++] = (struct load_range){ pa, len };
}

bool loader_overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

bool loader_place(struct machine *m, struct boot_entry *be, const struct image_file *f,
                  uint64_t pa, const uint8_t *src, uint64_t filesz, uint64_t memsz,
                  const char *what, char *err, size_t errlen)
{
    if (memsz == 0)
        return true;
    if (filesz > memsz)
        return machine_errorf(err, errlen, "%s: %s: file size 0x%llx exceeds memory size 0x%llx", f->path,
                    what, (unsigned long long)filesz, (unsigned long long)memsz);
    uint8_t *dst = machine_ram_ptr(m, pa, memsz);
    if (!dst)
        return machine_errorf(err, errlen,
                    "%s: %s at physical 0x%llx-0x%llx lies outside guest RAM (0-0x%llx)",
                    f->path, what, (unsigned long long)pa,
                    (unsigned long long)(pa + memsz - 1), (unsigned long long)m->ram_size - 1);
    for (unsigned i = 0; i < be->nranges; i++)
        if (loader_overlaps(pa, memsz, be->ranges[i].pa, be->ranges[i].len))
            return machine_errorf(err, errlen,
                        "%s: %s at physical 0x%llx-0x%llx overlaps an earlier segment at "
                        "0x%llx-0x%llx",
                        f->path, what, (unsigned long long)pa,
                        (unsigned long long)(pa + memsz - 1),
                        (unsigned long long)be->ranges[i].pa,
                        (unsigned long long)(be->ranges[i].pa + be->ranges[i].len - 1));
    if (be->nranges >= LOADER_MAX_RANGES)
        return machine_errorf(err, errlen, "%s: too many loadable pieces (at most %d)", f->path,
                    LOADER_MAX_RANGES);
    memcpy(dst, src, filesz);
    memset(dst + filesz, 0, memsz - filesz);
    loader_note_range(be, pa, memsz);
    if (pa + memsz > be->kernel_end)
        be->kernel_end = pa + memsz;
    return true;
}

/* Multiboot v1 header: 4-byte aligned in the first 8192 bytes, with
 * magic + flags + checksum == 0 (Multiboot 0.6.96 "The layout of Multiboot
 * header"). Returns the offset or -1. */
static long find_multiboot_header(const struct image_file *f)
{
    size_t end = f->size < MULTIBOOT_SEARCH ? f->size : MULTIBOOT_SEARCH;
    for (size_t off = 0; off + 12 <= end; off += 4) {
        const uint8_t *p = f->data + off;
        if (ld_le32(p) == MULTIBOOT_HEADER_MAGIC &&
            (uint32_t)(ld_le32(p) + ld_le32(p + 4) + ld_le32(p + 8)) == 0)
            return (long)off;
    }
    return -1;
}

static bool is_elf(const struct image_file *f)
{
    return f->size >= 16 && memcmp(f->data, "\x7f" "ELF", 4) == 0;
}

bool loader_prepare(struct machine *m, const struct boot_params *bp, struct boot_entry *be,
                    char *err, size_t errlen)
{
    struct image_file f;
    memset(be, 0, sizeof(*be));
    if (!bp || !bp->image)
        return machine_errorf(err, errlen, "no image given");
    if (!loader_read_file(bp->image, m->ram_size, &f, err, errlen))
        return false;

    bool ok = false;
    long mb = find_multiboot_header(&f);
    bool aout = mb >= 0 && (size_t)mb + 8 <= f.size && (ld_le32(f.data + mb + 4) & (1u << 16));
    bool elf_class_ok = is_elf(&f) && (f.data[4] == ELF_CLASS32 || f.data[4] == ELF_CLASS64);
    /* A multiboot header means the multiboot protocol (32-bit entry), as
     * under GRUB, whatever the ELF class; ELF64 without one enters 64-bit. */
    if (aout || (mb >= 0 && elf_class_ok)) {
        ok = loader_multiboot(m, &f, (size_t)mb, be, err, errlen);
    } else if (is_elf(&f) && f.data[4] == ELF_CLASS64) {
        ok = loader_elf64(m, &f, be, err, errlen);
    } else if (is_elf(&f) && f.data[4] == ELF_CLASS32) {
        machine_errorf(err, errlen, "%s: 32-bit ELF image without a multiboot header in its first %d bytes",
             f.path, MULTIBOOT_SEARCH);
    } else if (mb >= 0) {
        machine_errorf(err, errlen,
             "%s: multiboot header at offset 0x%lx has no address fields (flag 16) and the "
             "image is not ELF",
             f.path, mb);
    } else if (is_elf(&f)) {
        machine_errorf(err, errlen, "%s: bad ELF class %u (expected 1 or 2)", f.path, f.data[4]);
    } else {
        machine_errorf(err, errlen, "%s: not a multiboot or ELF64 image (bad magic)", f.path);
    }
    if (ok)
        ok = loader_layout(m, &f, be, err, errlen);
    if (ok && be->kind == BOOT_ELF64)
        loader_elf64_structures(m, be);
    if (ok)
        loader_mp_tables(m, be);
    if (ok)
        ok = loader_boot_info(m, bp, be, err, errlen);
    loader_free_file(&f);
    return ok;
}
