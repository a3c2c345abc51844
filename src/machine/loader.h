/* Private to src/machine: the image loaders. Loading is split in two so it
 * can be tested without a CPU: loader_prepare() puts everything into guest
 * RAM and describes the entry state in struct boot_entry; loader.c then
 * applies that state to the CPU. The physical layout is docs/memory-layout.md. */
#ifndef NVMX_LOADER_H
#define NVMX_LOADER_H

#include "nvmx/machine.h"

#include <stddef.h>

/* Boot data area (docs/memory-layout.md): the loader's structures at fixed
 * offsets from the area's base, which is 0x1000 unless the image is there;
 * then the first place after it that the image leaves free (loader_layout.c). */
#define BOOT_AREA_DEFAULT 0x1000ull
#define BOOT_OFF_GDT 0x0000ull          /* ELF64: flat GDT */
#define BOOT_OFF_INFO 0x1000ull         /* multiboot information structure */
#define BOOT_OFF_MMAP 0x1100ull         /* memory map entries */
#define BOOT_OFF_MODS 0x1200ull         /* module structures, 16 bytes each */
#define BOOT_OFF_LOADER_NAME 0x1600ull  /* "nvmx" */
#define BOOT_OFF_STRINGS 0x2000ull      /* command line, then module strings */
#define BOOT_OFF_STRINGS_END 0x7000ull
#define BOOT_OFF_STACK_TOP 0xf000ull    /* ELF64: initial RSP (stack below) */
#define BOOT_OFF_PML4 0xf000ull         /* ELF64: page tables */
#define BOOT_OFF_PDPT 0x10000ull
#define BOOT_OFF_PD 0x11000ull          /* one page directory per GiB mapped */
#define BOOT_MAX_PDS 126ull             /* 126 GiB mapped at most */
#define BOOT_MAX_MODULES ((BOOT_OFF_LOADER_NAME - BOOT_OFF_MODS) / 16)
/* The default addresses (base 0x1000), as documented. */
#define BOOT_INFO (BOOT_AREA_DEFAULT + BOOT_OFF_INFO)
#define BOOT_STACK_TOP (BOOT_AREA_DEFAULT + BOOT_OFF_STACK_TOP)
#define BOOT_PDPT (BOOT_AREA_DEFAULT + BOOT_OFF_PDPT)

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

/* Where the boot data went: base + BOOT_OFF_*; [lo, hi) is the part the
 * image's protocol uses (multiboot: information structure to strings;
 * ELF64: GDT to the last page directory). */
struct boot_layout {
    uint64_t base, lo, hi;
};

struct boot_entry {
    enum boot_kind kind;
    struct boot_layout lay;
    uint64_t npds;       /* ELF64: page directories (GiB mapped) */
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
 * that [pa, pa+memsz) lies in RAM and overlaps nothing loaded before (the
 * boot data area included, once placed). what names the piece in errors. */
bool loader_place(struct machine *m, struct boot_entry *be, const struct image_file *f,
                  uint64_t pa, const uint8_t *src, uint64_t filesz, uint64_t memsz,
                  const char *what, char *err, size_t errlen);
/* [a, a+alen) and [b, b+blen) share a byte. */
bool loader_overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen);
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

/* Place the boot data area where the loaded image is not (loader_layout.c);
 * then the ELF64 structures (GDT, stack, page tables) in it. */
bool loader_layout(struct machine *m, const struct image_file *f, struct boot_entry *be,
                   char *err, size_t errlen);
void loader_elf64_structures(struct machine *m, struct boot_entry *be);

/* The MultiProcessor Specification 1.4 tables at 0xF0000, unless the image
 * is there (loader_mptable.c). */
void loader_mp_tables(struct machine *m, struct boot_entry *be);

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
