/* ELF executables (System V ABI, "Program Header"): PT_LOAD segments of
 * 32-bit (multiboot, including 64-bit code rewrapped with
 * objcopy -O elf32-i386) and 64-bit images, loaded at p_paddr with the BSS
 * zero-filled. Every header field is checked against the file before use. */
#include "loader.h"
#include "machine_private.h"

#include <stdarg.h>
#include <stdio.h>

#define PT_LOAD 1
#define ET_EXEC 2
#define EM_386 3
#define EM_X86_64 62
#define ELFDATA2LSB 1

struct elf_phdr {
    uint32_t type;
    uint64_t offset, vaddr, paddr, filesz, memsz;
};

static void read_phdr(const uint8_t *p, unsigned elf_class, struct elf_phdr *ph)
{
    ph->type = ld_le32(p);
    if (elf_class == 1) {
        ph->offset = ld_le32(p + 4);
        ph->vaddr = ld_le32(p + 8);
        ph->paddr = ld_le32(p + 12);
        ph->filesz = ld_le32(p + 16);
        ph->memsz = ld_le32(p + 20);
    } else {
        ph->offset = ld_le64(p + 8);
        ph->vaddr = ld_le64(p + 16);
        ph->paddr = ld_le64(p + 24);
        ph->filesz = ld_le64(p + 32);
        ph->memsz = ld_le64(p + 40);
    }
}

bool loader_elf_segments(struct machine *m, const struct image_file *f, unsigned elf_class,
                         struct boot_entry *be, uint64_t *entry_va, uint64_t *entry_pa,
                         bool *entry_identity, char *err, size_t errlen)
{
    const uint8_t *d = f->data;
    size_t ehsize = elf_class == 1 ? 52 : 64, phsize = elf_class == 1 ? 32 : 56;
    if (f->size < ehsize)
        return machine_errorf(err, errlen, "%s: truncated ELF header (file is %zu bytes, needs %zu)",
                    f->path, f->size, ehsize);
    if (d[5] != ELFDATA2LSB)
        return machine_errorf(err, errlen, "%s: ELF image is not little-endian", f->path);
    uint16_t type = ld_le16(d + 16), machine = ld_le16(d + 18);
    uint16_t want = elf_class == 1 ? EM_386 : EM_X86_64;
    if (type != ET_EXEC)
        return machine_errorf(err, errlen, "%s: ELF type %u is not an executable (ET_EXEC)", f->path, type);
    if (machine != want)
        return machine_errorf(err, errlen, "%s: ELF machine %u, expected %u (%s)", f->path, machine, want,
                    elf_class == 1 ? "EM_386" : "EM_X86_64");
    uint64_t entry = elf_class == 1 ? ld_le32(d + 24) : ld_le64(d + 24);
    uint64_t phoff = elf_class == 1 ? ld_le32(d + 28) : ld_le64(d + 32);
    uint16_t phentsize = ld_le16(d + (elf_class == 1 ? 42 : 54));
    uint16_t phnum = ld_le16(d + (elf_class == 1 ? 44 : 56));
    if (phentsize != phsize)
        return machine_errorf(err, errlen, "%s: ELF program header size %u, expected %zu", f->path,
                    phentsize, phsize);
    if (phnum == 0)
        return machine_errorf(err, errlen, "%s: ELF image has no program headers", f->path);
    if (phoff > f->size || (uint64_t)phnum * phsize > f->size - phoff)
        return machine_errorf(err, errlen,
                    "%s: truncated ELF program header table (offset 0x%llx, %u entries, "
                    "file is %zu bytes)",
                    f->path, (unsigned long long)phoff, phnum, f->size);

    bool found_entry = false, loaded = false;
    for (unsigned i = 0; i < phnum; i++) {
        struct elf_phdr ph;
        read_phdr(d + phoff + (uint64_t)i * phsize, elf_class, &ph);
        if (ph.type != PT_LOAD || ph.memsz == 0)
            continue;
        char what[48];
        snprintf(what, sizeof(what), "segment %u", i);
        if (ph.offset > f->size || ph.filesz > f->size - ph.offset)
            return machine_errorf(err, errlen,
                        "%s: %s: file range 0x%llx+0x%llx extends past the end of the file "
                        "(%zu bytes)",
                        f->path, what, (unsigned long long)ph.offset,
                        (unsigned long long)ph.filesz, f->size);
        if (ph.paddr + ph.memsz < ph.paddr)
            return machine_errorf(err, errlen, "%s: %s: physical range wraps around", f->path, what);
        if (!loader_place(m, be, f, ph.paddr, d + ph.offset, ph.filesz, ph.memsz, what, err,
                          errlen))
            return false;
        loaded = true;
        if (!found_entry && entry >= ph.vaddr && entry - ph.vaddr < ph.memsz) {
            found_entry = true;
            *entry_pa = entry - ph.vaddr + ph.paddr;
            *entry_identity = ph.vaddr == ph.paddr;
        }
    }
    if (!loaded)
        return machine_errorf(err, errlen, "%s: ELF image has no loadable (PT_LOAD) segment", f->path);
    if (!found_entry)
        return machine_errorf(err, errlen, "%s: entry point 0x%llx is not inside any loadable segment",
                    f->path, (unsigned long long)entry);
    *entry_va = entry;
    return true;
}
