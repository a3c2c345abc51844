/* The turtle as a boot loader: module 0 of its own multiboot information is
 * the guest, a multiboot v1 kernel in ELF32 or ELF64 form (Multiboot
 * Specification 0.6.96, "OS image format"), loaded at the physical
 * addresses of its PT_LOAD segments; that module's string is the guest's
 * command line and modules 1..n become the guest's modules 0..n-1, so a
 * turtle can be the guest of a turtle. The guest's information structure
 * ("Boot information format") lives in the turtle's memory.
 *
 * Without EPT the guest's physical memory is the machine's: the turtle
 * reserves its own image and the modules in the guest's memory map, and a
 * guest whose segments would overlap them is refused (docs/guests.md). */
#include "turtle.h"

#include "console.h"
#include "multiboot.h"
#include "rtstring.h"

#define MB_HEADER_MAGIC 0x1badb002u
#define MB_HEADER_SEARCH 8192
#define MAX_MODS 16
#define MAX_MMAP 16
#define STRBUF_SIZE 4096

extern uint8_t __image_start[], __image_end[];

static struct mb_info guest_mbi __attribute__((aligned(16)));
static struct mb_module guest_mods[MAX_MODS];
static struct mb_mmap_entry guest_mmap[MAX_MMAP];
static char guest_strings[STRBUF_SIZE];
static unsigned strings_used;

/* The range the guest must not touch: the turtle and its modules. */
static uint64_t reserved_lo, reserved_hi;

static uint32_t keep_string(const char *s)
{
    size_t n = strlen(s) + 1;
    if (strings_used + n > STRBUF_SIZE)
        turtle_fatal("the command line and module strings exceed %u bytes", STRBUF_SIZE);
    char *d = guest_strings + strings_used;
    memcpy(d, s, n);
    strings_used += (unsigned)n;
    return (uint32_t)(uint64_t)d;
}

struct elf_seg {
    uint64_t paddr, vaddr, off, filesz, memsz;
};

static uint16_t ld16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}
static uint32_t ld32(const uint8_t *p)
{
    return ld16(p) | (uint32_t)ld16(p + 2) << 16;
}
static uint64_t ld64(const uint8_t *p)
{
    return ld32(p) | (uint64_t)ld32(p + 4) << 32;
}

/* The multiboot header: present, checksum right, flags understood. */
static void check_mb_header(const uint8_t *img, uint64_t size)
{
    for (uint64_t off = 0; off + 12 <= size && off < MB_HEADER_SEARCH; off += 4) {
        uint32_t magic = ld32(img + off), flags = ld32(img + off + 4);
        if (magic != MB_HEADER_MAGIC || magic + flags + ld32(img + off + 8) != 0)
            continue;
        if (flags & (1u << 16))
            turtle_fatal("unsupported: the guest's multiboot header asks for the a.out kludge");
        if (flags & 0xfff8u)
            turtle_fatal("the guest's multiboot header has flags %#x the turtle does not "
                         "understand", flags);
        return;
    }
    turtle_fatal("module 0 has no multiboot header in its first %u bytes", MB_HEADER_SEARCH);
}

/* With EPT: the guest's boot information lives in its own memory, in the
 * area nvmx's loader uses too (docs/memory-layout.md). */
#define BOOT_AREA_LO 0x1000ull
#define BOOT_AREA_HI 0x9000ull
#define BOOT_MBI 0x2000ull
#define BOOT_MMAP 0x2400ull
#define BOOT_MODS 0x2800ull
#define BOOT_STRINGS 0x3000ull
static uint64_t image_hi; /* first byte above the guest's segments */

static void load_segment(const uint8_t *img, uint64_t size, const struct elf_seg *s)
{
    if (s->filesz > s->memsz || s->off + s->filesz > size || s->off + s->filesz < s->off)
        turtle_fatal("guest segment at %#lx: bad sizes", s->paddr);
    if (s->paddr + s->memsz < s->paddr || !gmem_phys_ok(s->paddr, s->memsz))
        turtle_fatal("guest segment %#lx-%#lx lies outside the guest's RAM", s->paddr,
                     s->paddr + s->memsz);
    if (gmap.ept && s->paddr < BOOT_AREA_HI && s->paddr + s->memsz > BOOT_AREA_LO)
        turtle_fatal("guest segment %#lx-%#lx overlaps the boot information at %#llx-%#llx",
                     s->paddr, s->paddr + s->memsz, BOOT_AREA_LO, BOOT_AREA_HI);
    if (!gmap.ept && s->paddr < reserved_hi && s->paddr + s->memsz > reserved_lo)
        turtle_fatal("unsupported: the guest's segment %#lx-%#lx overlaps the turtle and its "
                     "modules (%#lx-%#lx); without EPT the guest must be linked elsewhere",
                     s->paddr, s->paddr + s->memsz, reserved_lo, reserved_hi);
    if (s->paddr + s->memsz > image_hi)
        image_hi = s->paddr + s->memsz;
    memmove(phys_ptr(s->paddr), img + s->off, s->filesz);
    memset((uint8_t *)phys_ptr(s->paddr) + s->filesz, 0, s->memsz - s->filesz);
}

/* ELF32 or ELF64 executable for x86: load every PT_LOAD at p_paddr; the
 * entry is e_entry translated through the segment holding it. */
static uint32_t load_elf(const uint8_t *img, uint64_t size)
{
    if (size < 52 || memcmp(img, "\177ELF", 4) != 0)
        turtle_fatal("module 0 is not an ELF file");
    bool is64 = img[4] == 2;
    if ((img[4] != 1 && img[4] != 2) || img[5] != 1)
        turtle_fatal("module 0: not a little-endian ELF32/ELF64 file");
    uint16_t machine = ld16(img + 18);
    if (machine != (is64 ? 62 : 3))
        turtle_fatal("module 0: ELF machine %u is not x86", machine);
    uint64_t entry = is64 ? ld64(img + 24) : ld32(img + 24);
    uint64_t phoff = is64 ? ld64(img + 32) : ld32(img + 28);
    uint16_t phentsize = ld16(img + (is64 ? 54 : 42)), phnum = ld16(img + (is64 ? 56 : 44));
    uint64_t entry_pa = ~0ull;

    if (phoff + (uint64_t)phnum * phentsize > size || phentsize < (is64 ? 56 : 32))
        turtle_fatal("module 0: program headers beyond the file");
    for (unsigned i = 0; i < phnum; i++) {
        const uint8_t *ph = img + phoff + (uint64_t)i * phentsize;
        struct elf_seg s;
        if (ld32(ph) != 1) /* PT_LOAD */
            continue;
        if (is64) {
            s.off = ld64(ph + 8), s.vaddr = ld64(ph + 16), s.paddr = ld64(ph + 24);
            s.filesz = ld64(ph + 32), s.memsz = ld64(ph + 40);
        } else {
            s.off = ld32(ph + 4), s.vaddr = ld32(ph + 8), s.paddr = ld32(ph + 12);
            s.filesz = ld32(ph + 16), s.memsz = ld32(ph + 20);
        }
        load_segment(img, size, &s);
        if (entry >= s.vaddr && entry < s.vaddr + s.memsz)
            entry_pa = entry - s.vaddr + s.paddr;
    }
    if (entry_pa >> 32)
        turtle_fatal("module 0: the entry point %#lx is in no loaded segment below 4 GiB", entry);
    return (uint32_t)entry_pa;
}

static void add_mmap(uint64_t base, uint64_t len, uint32_t type, unsigned *n)
{
    if (!len)
        return;
    if (*n == MAX_MMAP)
        turtle_fatal("more than %u memory-map entries", MAX_MMAP);
    guest_mmap[*n] = (struct mb_mmap_entry){.size = 20, .base_addr = base, .length = len,
                                            .type = type};
    (*n)++;
}

/* Our memory map with [reserved_lo, reserved_hi) cut out of available RAM. */
static void build_mmap(const struct mb_info *mbi)
{
    unsigned n = 0;
    uint64_t p = mbi->mmap_addr, end = p + mbi->mmap_length;

    while (p < end) {
        const struct mb_mmap_entry *e = (const struct mb_mmap_entry *)p;
        uint64_t b = e->base_addr, l = e->length, t = e->type;
        if (t == MB_MMAP_AVAILABLE && b < reserved_hi && b + l > reserved_lo) {
            uint64_t lo = b < reserved_lo ? reserved_lo : b;
            uint64_t hi = b + l > reserved_hi ? reserved_hi : b + l;
            add_mmap(b, lo - b, MB_MMAP_AVAILABLE, &n);
            add_mmap(lo, hi - lo, 2, &n);
            add_mmap(hi, b + l - hi, MB_MMAP_AVAILABLE, &n);
        } else {
            add_mmap(b, l, (uint32_t)t, &n);
        }
        p += e->size + 4;
    }
    guest_mbi.mmap_addr = (uint32_t)(uint64_t)guest_mmap;
    guest_mbi.mmap_length = n * (uint32_t)sizeof(struct mb_mmap_entry);
    guest_mbi.flags |= MB_INFO_MEM_MAP;
}

/* RAM the guest may use: the available entries of our own map. */
static const struct mb_info *own_mbi;

bool gmem_phys_ok(uint64_t pa, uint64_t n)
{
    if (pa + n < pa)
        return false;
    if (gmap.ept)
        return pa + n <= gmap.size;
    if (!own_mbi || !(own_mbi->flags & MB_INFO_MEM_MAP))
        return pa + n <= (1ull << 32);
    uint64_t p = own_mbi->mmap_addr, end = p + own_mbi->mmap_length;
    while (p < end) {
        const struct mb_mmap_entry *e = (const struct mb_mmap_entry *)p;
        if (e->type == MB_MMAP_AVAILABLE && pa >= e->base_addr &&
            pa + n <= e->base_addr + e->length)
            return true;
        p += e->size + 4;
    }
    return false;
}

/* ept=1: mem bytes of our RAM for the guest, 2-MiB aligned, above our
 * image and modules, inside an available region of our memory map. */
static void guest_memory(const struct mb_info *mbi)
{
    uint64_t base = (reserved_hi + (2ull << 20) - 1) & ~((2ull << 20) - 1);
    uint64_t p = mbi->mmap_addr, end = p + mbi->mmap_length;
    bool ok = false;

    while ((mbi->flags & MB_INFO_MEM_MAP) && p < end) {
        const struct mb_mmap_entry *e = (const struct mb_mmap_entry *)p;
        if (e->type == MB_MMAP_AVAILABLE && base >= e->base_addr &&
            base + topts.mem <= e->base_addr + e->length)
            ok = true;
        p += e->size + 4;
    }
    if (!ok || base + topts.mem > (1ull << 32))
        turtle_fatal("no %lu MiB of RAM above %#lx for the guest (mem=)", topts.mem >> 20, base);
    ept01_init(base, topts.mem);
    turtle_log("guest memory: %lu MiB at %#lx, through EPT", topts.mem >> 20, base);
}

/* ept=1: the guest's modules after its image, page by page, and its
 * information structure, memory map and strings in its boot area; returns
 * the guest-physical address of the information structure. */
static uint32_t publish(const struct mb_info *mbi)
{
    const struct mb_module *mods = (const struct mb_module *)(uint64_t)mbi->mods_addr;
    uint64_t at = image_hi > 0x100000 ? image_hi : 0x100000;
    unsigned n = 0;

    for (unsigned i = 0; i < guest_mbi.mods_count; i++) {
        uint64_t len = mods[i + 1].mod_end - mods[i + 1].mod_start;
        at = (at + 0xfff) & ~0xfffull;
        if (!gmem_phys_ok(at, len))
            turtle_fatal("module %u (%lu bytes) does not fit in the guest's memory", i + 1, len);
        memcpy(phys_ptr(at), (const void *)(uint64_t)mods[i + 1].mod_start, len);
        guest_mods[i].mod_start = (uint32_t)at;
        guest_mods[i].mod_end = (uint32_t)(at + len);
        at += len;
    }
    if (strings_used > BOOT_AREA_HI - BOOT_STRINGS)
        turtle_fatal("the guest's strings exceed its boot area");
    uint64_t delta = BOOT_STRINGS - (uint64_t)guest_strings;
    memcpy(phys_ptr(BOOT_STRINGS), guest_strings, strings_used);
    guest_mbi.cmdline = (uint32_t)(guest_mbi.cmdline + delta);
    for (unsigned i = 0; i < guest_mbi.mods_count; i++)
        guest_mods[i].string = (uint32_t)(guest_mods[i].string + delta);
    memcpy(phys_ptr(BOOT_MODS), guest_mods, sizeof(guest_mods));
    guest_mbi.mods_addr = (uint32_t)BOOT_MODS;

    /* Memory map: low memory, the ROM hole, RAM from 1 MiB (Multiboot
     * "Boot information format"; the modules lie in it, as GRUB's do). */
    add_mmap(0, 0x9fc00, MB_MMAP_AVAILABLE, &n);
    add_mmap(0x9fc00, 0x100000 - 0x9fc00, 2, &n);
    add_mmap(0x100000, gmap.size - 0x100000, MB_MMAP_AVAILABLE, &n);
    memcpy(phys_ptr(BOOT_MMAP), guest_mmap, n * sizeof(guest_mmap[0]));
    guest_mbi.mmap_addr = (uint32_t)BOOT_MMAP;
    guest_mbi.mmap_length = n * (uint32_t)sizeof(struct mb_mmap_entry);
    guest_mbi.flags |= MB_INFO_MEM_MAP | MB_INFO_MEMORY;
    guest_mbi.mem_lower = 639;
    guest_mbi.mem_upper = (uint32_t)((gmap.size - 0x100000) >> 10);
    memcpy(phys_ptr(BOOT_MBI), &guest_mbi, sizeof(guest_mbi));
    (void)mbi;
    return (uint32_t)BOOT_MBI;
}

void load_guest(uint32_t mb_magic, uint32_t mb_info, struct guest_boot *gb)
{
    if (mb_magic != MB_BOOTLOADER_MAGIC)
        turtle_fatal("not started by a multiboot loader (EAX %#x)", mb_magic);
    const struct mb_info *mbi = (const struct mb_info *)(uint64_t)mb_info;
    own_mbi = mbi;
    if (!(mbi->flags & MB_INFO_MODS) || mbi->mods_count == 0)
        turtle_fatal("no guest: pass the guest image as the first multiboot module");
    if (mbi->mods_count > MAX_MODS + 1)
        turtle_fatal("more than %u modules", MAX_MODS + 1);
    const struct mb_module *mods = (const struct mb_module *)(uint64_t)mbi->mods_addr;

    reserved_lo = (uint64_t)__image_start;
    reserved_hi = (uint64_t)__image_end;
    for (unsigned i = 0; i < mbi->mods_count; i++) {
        if (mods[i].mod_end < mods[i].mod_start)
            turtle_fatal("module %u ends before it starts", i);
        if (mods[i].mod_start < reserved_lo)
            reserved_lo = mods[i].mod_start & ~0xfffull;
        if (mods[i].mod_end > reserved_hi)
            reserved_hi = mods[i].mod_end;
    }
    reserved_hi = (reserved_hi + 0xfff) & ~0xfffull;

    /* Copy strings before loading: a segment may cover our loader's area. */
    const char *cmd = mods[0].string ? (const char *)(uint64_t)mods[0].string : "";
    guest_mbi.flags = MB_INFO_CMDLINE | MB_INFO_MODS;
    guest_mbi.cmdline = keep_string(cmd);
    guest_mbi.mods_count = mbi->mods_count - 1;
    for (unsigned i = 1; i < mbi->mods_count; i++) {
        guest_mods[i - 1] = mods[i];
        guest_mods[i - 1].string =
            keep_string(mods[i].string ? (const char *)(uint64_t)mods[i].string : "");
    }
    guest_mbi.mods_addr = (uint32_t)(uint64_t)guest_mods;
    if (mbi->flags & MB_INFO_MEMORY) {
        guest_mbi.flags |= MB_INFO_MEMORY;
        guest_mbi.mem_lower = mbi->mem_lower;
        guest_mbi.mem_upper = mbi->mem_upper;
    }
    if (mbi->flags & MB_INFO_MEM_MAP)
        build_mmap(mbi);

    if (topts.ept)
        guest_memory(mbi);
    const uint8_t *img = (const uint8_t *)(uint64_t)mods[0].mod_start;
    uint64_t size = mods[0].mod_end - mods[0].mod_start;
    check_mb_header(img, size);
    gb->entry = load_elf(img, size);
    gb->mb_info = (uint32_t)(uint64_t)&guest_mbi;
    turtle_log("guest loaded, entry %#x, command line \"%s\", %u module(s)", gb->entry,
               (const char *)(uint64_t)guest_mbi.cmdline, guest_mbi.mods_count);
    if (gmap.ept)
        gb->mb_info = publish(mbi);
}
