/* nvmx-decodecheck DIR...: disassembles the executable sections of every ELF
 * image found under the directories linearly with Capstone and checks that
 * nvmx's decoder gives the same length for each instruction. Exit 77 (skip)
 * when no image is found. */
#define _XOPEN_SOURCE 700
#include "difftest.h"

#include <elf.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

bool dt_decode_check_len(const uint8_t *bytes, unsigned avail, uint64_t addr, unsigned code_size,
                         unsigned *cs_len, char *why, size_t whylen);

static unsigned images, insns, mismatches, skipped_bytes;

static uint8_t *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = n > 0 ? malloc((size_t)n) : NULL;
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *size = b ? (size_t)n : 0;
    return b;
}

static void check_section(const char *path, const uint8_t *p, size_t size, uint64_t addr,
                          unsigned code_size)
{
    size_t off = 0;
    while (off < size) {
        unsigned avail = size - off > 15 ? 15 : (unsigned)(size - off), cs_len;
        char why[160];
        if (!dt_decode_check_len(p + off, avail, addr + off, code_size, &cs_len, why,
                                 sizeof why)) {
            if (mismatches++ < 50)
                fprintf(stderr, "%s: %#" PRIx64 ": %s\n", path, addr + off, why);
        }
        if (!cs_len) {
            skipped_bytes++;
            off++;
            continue;
        }
        insns++;
        off += cs_len;
    }
}

static void check_elf(const char *path, const uint8_t *b, size_t n)
{
    if (n >= sizeof(Elf64_Ehdr) && b[EI_CLASS] == ELFCLASS64) {
        const Elf64_Ehdr *eh = (const void *)b;
        if (eh->e_shoff == 0 || eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > n) {
            fprintf(stderr, "%s: no readable section headers\n", path);
            return;
        }
        images++;
        const Elf64_Shdr *sh = (const void *)(b + eh->e_shoff);
        for (unsigned i = 0; i < eh->e_shnum; i++)
            if (sh[i].sh_type == SHT_PROGBITS && (sh[i].sh_flags & SHF_EXECINSTR) &&
                sh[i].sh_offset + sh[i].sh_size <= n)
                check_section(path, b + sh[i].sh_offset, sh[i].sh_size, sh[i].sh_addr, 8);
    }
    /* ELF32 files are the multiboot rewraps (objcopy -O elf32-i386) of the
     * same 64-bit code: disassembling them as 32-bit code would check a
     * decoding the CPU never performs. Their ELF64 originals are checked. */
}

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    if (type != FTW_F)
        return 0;
    /* object files and CMake's own artefacts are not images */
    size_t l = strlen(path);
    if ((l > 2 && !strcmp(path + l - 2, ".o")) || strstr(path, "CMakeFiles"))
        return 0;
    size_t n;
    uint8_t *b = slurp(path, &n);
    if (b && n >= 4 && !memcmp(b, ELFMAG, SELFMAG) && b[EI_DATA] == ELFDATA2LSB &&
        ((const Elf32_Ehdr *)b)->e_machine != 0 &&
        (((const Elf32_Ehdr *)b)->e_machine == EM_X86_64 ||
         ((const Elf32_Ehdr *)b)->e_machine == EM_386) &&
        ((const Elf32_Ehdr *)b)->e_type == ET_EXEC)
        check_elf(path, b, n);
    free(b);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: nvmx-decodecheck DIR...\n");
        return 2;
    }
    if (!dt_decode_init()) {
        fprintf(stderr, "nvmx-decodecheck: capstone: cs_open failed\n");
        return 2;
    }
    for (int i = 1; i < argc; i++)
        nftw(argv[i], visit, 16, FTW_PHYS);
    dt_decode_fini();
    if (!images) {
        printf("no guest images found: skipped\n");
        return 77;
    }
    printf("%u images, %u instructions, %u mismatches, %u bytes capstone could not decode\n",
           images, insns, mismatches, skipped_bytes);
    return mismatches ? 1 : 0;
}
