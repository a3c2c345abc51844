/* Private to src/machine: the image loaders. Loading is split in two so it
 * can be tested without a CPU: loader_prepare() puts everything into guest
 * RAM and describes the entry state in struct boot_entry; loader.c then
 * applies that state to the CPU. The physical layout is docs/memory-layout.md. */
#ifndef NVMX_LOADER_H
#define NVMX_LOADER_H

#include "nvmx/machine.h"

#include <stddef.h>

/* Boot data area, below the kernel (docs/memory-layout.md). */
#define BOOT_AREA_START 0x1000ull
#define BOOT_GDT 0x1000ull          /* ELF64: flat GDT */
#define BOOT_INFO 0x2000ull         /* multiboot information structure */
#define BOOT_MMAP 0x2100ull         /* memory map entries */
#define BOOT_MODS 0x2200ull         /* module structures, 16 bytes each */
#define BOOT_LOADER_NAME 0x2600ull  /* "nvmx" */
#define BOOT_STRINGS 0x3000ull      /* command line, then module strings */
#define BOOT_STRINGS_END 0x8000ull
#define BOOT_STACK_TOP 0x10000ull   /* ELF64: initial RSP (stack below) */
#define BOOT_PML4 0x10000ull        /* ELF64: page tables */
#define BOOT_PDPT 0x11000ull
#define BOOT_PD 0x12000ull          /* one page directory per GiB mapped */
#define BOOT_AREA_END 0x90000ull
#define BOOT_MAX_PDS ((BOOT_AREA_END - BOOT_PD) / 0x1000)
#define BOOT_MAX_MODULES ((BOOT_LOADER_NAME - BOOT_MODS) / 16)

#define MULTIBOOT_HEADER_MAGIC 0x1BADB002u
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002u
#define MULTIBOOT_SEARCH 8192

/* GDT selectors of the ELF64 boot GDT */
#define BOOT_SEL_CODE64 0x08
#define BOOT_SEL_DATA 0x10
#define BOOT_SEL_CODE32 0x18

#define LOADER_MAX_RANGES 64

enum boot_kind { BOOT_MULTIBOOT, BOOT_ELF64 };

struct load_range {
    uint64_t pa, len;
};

struct boot_entry {
    enum boot_kind kind;
    uint64_t entry;      /* RIP */
    uint64_t info;       /* multiboot information structure (EBX / RDI) */
    uint64_t cr3, gdt_base, rsp; /* ELF64 only */
    uint64_t kernel_end; /* first byte after the highest loaded byte */
    struct load_range ranges[LOADER_MAX_RANGES]; /* everything written to RAM */
    unsigned nranges;
};

struct image_file {
    const char *path;
    uint8_t *data;
    size_t size;
};

/* Read a whole host file (at most max bytes). */
bool loader_read_file(const char *path, uint64_t max, struct image_file *f, char *err,
                      size_t errlen);
void loader_free_file(struct image_file *f);

/* Load image, modules and boot data into RAM; fill be. No CPU involved. */
bool loader_prepare(struct machine *m, const struct boot_params *bp, struct boot_entry *be,
                    char *err, size_t errlen);

/* Copy filesz bytes of src to pa and zero-fill up to memsz, after checking
 * that [pa, pa+memsz) lies in RAM and overlaps neither the boot data area nor
 * anything loaded before. what names the piece in errors. */
bool loader_place(struct machine *m, struct boot_entry *be, const struct image_file *f,
                  uint64_t pa, const uint8_t *src, uint64_t filesz, uint64_t memsz,
                  const char *what, char *err, size_t errlen);
/* Record a range written by the loader itself (boot data). */
void loader_note_range(struct boot_entry *be, uint64_t pa, uint64_t len);

/* Format loaders, called by loader_prepare() after detection. */
bool loader_multiboot(struct machine *m, const struct image_file *f, size_t hdr_off,
                      struct boot_entry *be, char *err, size_t errlen);
bool loader_elf64(struct machine *m, const struct image_file *f, struct boot_entry *be,
                  char *err, size_t errlen);
/* Load the PT_LOAD segments of an ELF32 (class 1, EM_386) or ELF64 (class 2,
 * EM_X86_64) executable at their physical addresses (p_paddr). Returns the
 * entry point and the segment holding it: *entry_pa is e_entry translated
 * through that segment (vaddr -> paddr), *entry_identity says vaddr == paddr
 * there. */
bool loader_elf_segments(struct machine *m, const struct image_file *f, unsigned elf_class,
                         struct boot_entry *be, uint64_t *entry_va, uint64_t *entry_pa,
                         bool *entry_identity, char *err, size_t errlen);

/* Multiboot information structure, command line, modules (loader_bootinfo.c). */
bool loader_boot_info(struct machine *m, const struct boot_params *bp, struct boot_entry *be,
                      char *err, size_t errlen);

/* Little-endian field access within a file image. */
static inline uint32_t ld_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint16_t ld_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint64_t ld_le64(const uint8_t *p)
{
    return (uint64_t)ld_le32(p) | (uint64_t)ld_le32(p + 4) << 32;
}
static inline void st_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void st_le64(uint8_t *p, uint64_t v)
{
    st_le32(p, (uint32_t)v);
    st_le32(p + 4, (uint32_t)(v >> 32));
}

#endif
