/* Machine: port/MMIO dispatch, unclaimed and unbacked accesses, the UART,
 * debugcon, debug-exit and fw_cfg devices, and the image loaders (through
 * loader_prepare(), which needs no CPU). */
#include "machine/loader.h"
#include "nvmx/machine.h"
#include "harness.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIB (1ull << 20)

static struct machine *m;

static void setup(void)
{
    m = th_machine_create(16 * MIB, true);
}

static void teardown(void)
{
    machine_destroy(m);
    m = NULL;
}

/* ---- ports and MMIO ---------------------------------------------------------- */

static const struct { uint16_t port; unsigned size; uint32_t expect; } unclaimed_cases[] = {
    { 0x80, 1, 0xff }, { 0x1234, 2, 0xffff }, { 0xcf0, 4, 0xffffffffu }, { 0xffff, 1, 0xff },
};

START_TEST(unclaimed_port_reads_all_ones)
{
    uint32_t v = machine_io_in(m, unclaimed_cases[_i].port, unclaimed_cases[_i].size);
    ck_assert_msg(v == unclaimed_cases[_i].expect, "port 0x%x size %u: expected 0x%x, got 0x%x",
                  unclaimed_cases[_i].port, unclaimed_cases[_i].size,
                  unclaimed_cases[_i].expect, v);
    ck_assert_uint_eq(m->stats.unclaimed_port_reads, 1);
}
END_TEST

START_TEST(unclaimed_port_write_counted)
{
    machine_io_out(m, 0x80, 1, 0x12);
    machine_io_out(m, 0x80, 1, 0x13);
    ck_assert_uint_eq(m->stats.unclaimed_port_writes, 2);
    ck_assert_uint_eq(m->stats.unclaimed_port_reads, 0);
}
END_TEST

struct probe {
    uint16_t last_port;
    unsigned last_size;
    uint32_t last_val;
};

static uint32_t probe_read(void *ctx, uint16_t port, unsigned size)
{
    struct probe *p = ctx;
    p->last_port = port;
    p->last_size = size;
    return 0xabcd1234;
}

static void probe_write(void *ctx, uint16_t port, unsigned size, uint32_t val)
{
    struct probe *p = ctx;
    p->last_port = port;
    p->last_size = size;
    p->last_val = val;
}

START_TEST(port_dispatch_reaches_device)
{
    struct probe p = { 0 };
    ck_assert(machine_add_ports(m, 0x100, 0x10f, probe_read, probe_write, &p));
    ck_assert_uint_eq(machine_io_in(m, 0x105, 2), 0x1234);
    ck_assert_uint_eq(p.last_port, 0x105);
    ck_assert_uint_eq(p.last_size, 2);
    machine_io_out(m, 0x10f, 1, 0x1ff); /* masked to the access size */
    ck_assert_uint_eq(p.last_port, 0x10f);
    ck_assert_uint_eq(p.last_val, 0xff);
    ck_assert_uint_eq(m->stats.unclaimed_port_reads + m->stats.unclaimed_port_writes, 0);
}
END_TEST

START_TEST(overlapping_port_claim_rejected)
{
    struct probe p;
    ck_assert(!machine_add_ports(m, 0x3fc, 0x400, probe_read, probe_write, &p)); /* UART */
    ck_assert(!machine_add_ports(m, 0x20, 0x10, probe_read, probe_write, &p));   /* empty */
    ck_assert(machine_add_ports(m, 0x400, 0x401, probe_read, probe_write, &p));
}
END_TEST

START_TEST(unbacked_physical_reads_all_ones)
{
    ck_assert_uint_eq(machine_mmio_read(m, 0xfed00000, 4), 0xffffffffu);
    ck_assert_uint_eq(machine_mmio_read(m, 0x100000000ull, 8), ~0ull);
    machine_mmio_write(m, 0xfed00000, 4, 0);
    ck_assert_uint_eq(m->stats.unbacked_reads, 2);
    ck_assert_uint_eq(m->stats.unbacked_writes, 1);
}
END_TEST

static uint64_t mmio_probe_read(void *ctx, uint64_t pa, unsigned size)
{
    return pa - 0xfed00000;
}

START_TEST(mmio_dispatch_reaches_device)
{
    ck_assert(machine_add_mmio(m, 0xfed00000, 0xfed00fff, mmio_probe_read, NULL, NULL));
    ck_assert_uint_eq(machine_mmio_read(m, 0xfed00010, 4), 0x10);
    ck_assert_uint_eq(m->stats.unbacked_reads, 0);
    ck_assert(!machine_add_mmio(m, 0xfed00800, 0xfed01000, mmio_probe_read, NULL, NULL));
}
END_TEST

START_TEST(ram_ptr_bounds)
{
    ck_assert_ptr_nonnull(machine_ram_ptr(m, 0, 16 * MIB));
    ck_assert_ptr_null(machine_ram_ptr(m, 16 * MIB - 4, 8));
    ck_assert_ptr_null(machine_ram_ptr(m, 16 * MIB, 1));
    ck_assert_ptr_null(machine_ram_ptr(m, 8, ~0ull));
}
END_TEST

/* ---- devices ------------------------------------------------------------------ */

START_TEST(uart_transmits_thr_bytes)
{
    char *buf = NULL;
    size_t len = 0;
    m->serial_out = open_memstream(&buf, &len);
    const char *msg = "ok\n";
    for (const char *p = msg; *p; p++)
        machine_io_out(m, 0x3f8, 1, (uint8_t)*p);
    fflush(m->serial_out);
    ck_assert_str_eq(buf, "ok\n");
    fclose(m->serial_out);
    free(buf);
    m->serial_out = NULL;
}
END_TEST

START_TEST(uart_registers)
{
    char *buf = NULL;
    size_t len = 0;
    m->serial_out = open_memstream(&buf, &len);
    /* LSR: transmitter always empty (THRE | TEMT), no data ready */
    ck_assert_uint_eq(machine_io_in(m, 0x3fd, 1), 0x60);
    /* divisor latch: with LCR.DLAB, ports 0/1 are DLL/DLM and nothing is sent */
    machine_io_out(m, 0x3fb, 1, 0x83);
    machine_io_out(m, 0x3f8, 1, 0x01);
    machine_io_out(m, 0x3f9, 1, 0x02);
    ck_assert_uint_eq(machine_io_in(m, 0x3f8, 1), 0x01);
    ck_assert_uint_eq(machine_io_in(m, 0x3f9, 1), 0x02);
    ck_assert_uint_eq(machine_io_in(m, 0x3fb, 1), 0x83);
    machine_io_out(m, 0x3fb, 1, 0x03);
    ck_assert_uint_eq(machine_io_in(m, 0x3f9, 1), 0x00); /* IER again */
    fflush(m->serial_out);
    ck_assert_uint_eq(len, 0);
    /* scratch register */
    machine_io_out(m, 0x3ff, 1, 0x5a);
    ck_assert_uint_eq(machine_io_in(m, 0x3ff, 1), 0x5a);
    /* IIR: no interrupt; with IER.THRI a THR-empty interrupt, cleared by reading IIR */
    ck_assert_uint_eq(machine_io_in(m, 0x3fa, 1), 0x01);
    machine_io_out(m, 0x3f9, 1, 0x02);
    ck_assert_uint_eq(machine_io_in(m, 0x3fa, 1), 0x02);
    ck_assert_uint_eq(machine_io_in(m, 0x3fa, 1), 0x01);
    /* FIFO enable shows in IIR bits 7:6 */
    machine_io_out(m, 0x3fa, 1, 0x07);
    ck_assert_uint_eq(machine_io_in(m, 0x3fa, 1) & 0xc0, 0xc0);
    /* MCR loopback: MSR mirrors DTR/RTS/OUT1/OUT2; THR bytes are not sent */
    machine_io_out(m, 0x3fc, 1, 0x1f);
    ck_assert_uint_eq(machine_io_in(m, 0x3fe, 1), 0xf0);
    machine_io_out(m, 0x3fc, 1, 0x13);
    ck_assert_uint_eq(machine_io_in(m, 0x3fe, 1), 0x30);
    machine_io_out(m, 0x3f8, 1, 'x');
    fflush(m->serial_out);
    ck_assert_uint_eq(len, 0);
    machine_io_out(m, 0x3fc, 1, 0x03);
    ck_assert_uint_eq(machine_io_in(m, 0x3fe, 1), 0xb0);
    fclose(m->serial_out);
    free(buf);
    m->serial_out = NULL;
}
END_TEST

START_TEST(debugcon_output_and_presence)
{
    char *buf = NULL;
    size_t len = 0;
    ck_assert_uint_eq(machine_io_in(m, 0xe9, 1), 0xe9);
    machine_io_out(m, 0xe9, 1, 'z'); /* no sink: discarded */
    m->debugcon_out = open_memstream(&buf, &len);
    machine_io_out(m, 0xe9, 1, 'h');
    machine_io_out(m, 0xe9, 1, 'i');
    fflush(m->debugcon_out);
    ck_assert_str_eq(buf, "hi");
    fclose(m->debugcon_out);
    free(buf);
    m->debugcon_out = NULL;
}
END_TEST

static const uint32_t exit_values[] = { 0, 1, 0x10, 0x7f };

START_TEST(debug_exit_stops_machine)
{
    ck_assert_int_eq(m->stop, MACHINE_RUNNING);
    machine_io_out(m, 0xf4, 4, exit_values[_i]);
    ck_assert_int_eq(m->stop, MACHINE_DEBUG_EXIT);
    ck_assert_uint_eq(m->exit_code, exit_values[_i]);
}
END_TEST

static void fw_cfg_read_item(uint16_t key, uint8_t *out, unsigned n)
{
    machine_io_out(m, 0x510, 2, key);
    for (unsigned i = 0; i < n; i++)
        out[i] = (uint8_t)machine_io_in(m, 0x511, 1);
}

START_TEST(fw_cfg_items)
{
    uint8_t b[12];
    fw_cfg_read_item(0x0000, b, 4);
    ck_assert_mem_eq(b, "QEMU", 4);
    fw_cfg_read_item(0x0001, b, 4);
    ck_assert_uint_eq(ld_le32(b), 1); /* traditional interface, no DMA */
    fw_cfg_read_item(0x0003, b, 8);
    ck_assert_uint_eq(ld_le64(b), 16 * MIB);
    fw_cfg_read_item(0x0005, b, 4);
    ck_assert_uint_eq(ld_le16(b), 1);
    ck_assert_uint_eq(ld_le16(b + 2), 0); /* past the end of the item */
    fw_cfg_read_item(0x1234, b, 2);
    ck_assert_uint_eq(ld_le16(b), 0);
    /* re-selecting restarts the stream */
    fw_cfg_read_item(0x0000, b, 2);
    fw_cfg_read_item(0x0000, b + 2, 2);
    ck_assert_mem_eq(b, "QEQE", 4);
}
END_TEST

/* ---- loaders ------------------------------------------------------------------- */

static char tmpdir[256];

static void loader_setup(void)
{
    setup();
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof(tmpdir), "%s/nvmx-test-XXXXXX", base && *base ? base : P_tmpdir);
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void loader_teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
    teardown();
}

static const char *write_file(const char *name, const void *data, size_t len)
{
    static char path[4][320];
    static unsigned n;
    char *p = path[n++ % 4];
    snprintf(p, sizeof(path[0]), "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
    return p;
}

struct seg {
    uint64_t vaddr, paddr, filesz, memsz;
    uint8_t fill;
};

/* Build an ELF executable (class 1 or 2) whose segments' file bytes follow
 * the headers, each filled with seg.fill. Returns its size. */
static size_t build_elf(uint8_t *buf, size_t cap, unsigned cls, uint64_t entry,
                        const struct seg *segs, unsigned nsegs, size_t *phoff_out)
{
    size_t eh = cls == 1 ? 52 : 64, ph = cls == 1 ? 32 : 56;
    size_t off = eh + nsegs * ph;
    memset(buf, 0, cap);
    memcpy(buf, "\x7f" "ELF", 4);
    buf[4] = (uint8_t)cls;
    buf[5] = 1;
    buf[6] = 1;
    buf[16] = 2;                      /* ET_EXEC */
    buf[18] = cls == 1 ? 3 : 62;      /* EM_386 / EM_X86_64 */
    if (cls == 1) {
        st_le32(buf + 24, (uint32_t)entry);
        st_le32(buf + 28, (uint32_t)eh);
        buf[42] = (uint8_t)ph;
        buf[44] = (uint8_t)nsegs;
    } else {
        st_le64(buf + 24, entry);
        st_le64(buf + 32, eh);
        buf[54] = (uint8_t)ph;
        buf[56] = (uint8_t)nsegs;
    }
    for (unsigned i = 0; i < nsegs; i++) {
        uint8_t *p = buf + eh + i * ph;
        st_le32(p, 1); /* PT_LOAD */
        if (cls == 1) {
            st_le32(p + 4, (uint32_t)off);
            st_le32(p + 8, (uint32_t)segs[i].vaddr);
            st_le32(p + 12, (uint32_t)segs[i].paddr);
            st_le32(p + 16, (uint32_t)segs[i].filesz);
            st_le32(p + 20, (uint32_t)segs[i].memsz);
        } else {
            st_le64(p + 8, off);
            st_le64(p + 16, segs[i].vaddr);
            st_le64(p + 24, segs[i].paddr);
            st_le64(p + 32, segs[i].filesz);
            st_le64(p + 40, segs[i].memsz);
        }
        ck_assert_uint_le(off + segs[i].filesz, cap);
        memset(buf + off, segs[i].fill, segs[i].filesz);
        off += segs[i].filesz;
    }
    if (phoff_out)
        *phoff_out = eh;
    return off;
}

/* Multiboot header with the a.out kludge at file offset hoff. */
static void put_mb_header(uint8_t *buf, size_t hoff, uint32_t flags, uint32_t header_addr,
                          uint32_t load_addr, uint32_t load_end, uint32_t bss_end, uint32_t entry)
{
    uint8_t *h = buf + hoff;
    st_le32(h, MULTIBOOT_HEADER_MAGIC);
    st_le32(h + 4, flags);
    st_le32(h + 8, (uint32_t)-(MULTIBOOT_HEADER_MAGIC + flags));
    st_le32(h + 12, header_addr);
    st_le32(h + 16, load_addr);
    st_le32(h + 20, load_end);
    st_le32(h + 24, bss_end);
    st_le32(h + 28, entry);
}

static bool prepare(const char *path, struct boot_entry *be, char *err, size_t errlen)
{
    struct boot_params bp = { path, "console=ttyS0", NULL, 0 };
    return loader_prepare(m, &bp, be, err, errlen);
}

static uint8_t img[0x4000];

/* Each malformed image: builder, then the substring the error must contain. */
static size_t bad_empty(void) { return 0; }
static size_t bad_magic(void)
{
    memset(img, 0x90, 256);
    return 256;
}
static size_t bad_elf64_truncated_header(void)
{
    struct seg s = { 0x100000, 0x100000, 16, 16, 0xcc };
    build_elf(img, sizeof(img), 2, 0x100000, &s, 1, NULL);
    return 40;
}
static size_t bad_elf64_phdrs_past_eof(void)
{
    struct seg s = { 0x100000, 0x100000, 16, 16, 0xcc };
    build_elf(img, sizeof(img), 2, 0x100000, &s, 1, NULL);
    st_le64(img + 32, 0x3000); /* e_phoff beyond the file */
    return 64 + 56 + 16;
}
static size_t bad_elf64_segment_outside_ram(void)
{
    struct seg s = { 0xff0000, 0xff0000, 16, 0x20000, 0xcc }; /* RAM is 16 MiB */
    return build_elf(img, sizeof(img), 2, 0xff0000, &s, 1, NULL);
}
static size_t bad_elf64_overlap(void)
{
    struct seg s[2] = { { 0x100000, 0x100000, 16, 0x2000, 1 },
                        { 0x101000, 0x101000, 16, 16, 2 } };
    return build_elf(img, sizeof(img), 2, 0x100000, s, 2, NULL);
}
/* an image that fills RAM leaves no room for the boot data */
static size_t bad_elf64_boot_area(void)
{
    struct seg s = { 0x1000, 0x1000, 16, 16 * MIB - 0x1000, 0xcc };
    return build_elf(img, sizeof(img), 2, 0x1000, &s, 1, NULL);
}
static size_t bad_elf64_segment_past_eof(void)
{
    struct seg s = { 0x100000, 0x100000, 0x100, 0x100, 0xcc };
    size_t n = build_elf(img, sizeof(img), 2, 0x100000, &s, 1, NULL);
    return n - 0x80;
}
static size_t bad_elf64_entry_outside(void)
{
    struct seg s = { 0x100000, 0x100000, 16, 16, 0xcc };
    return build_elf(img, sizeof(img), 2, 0x200000, &s, 1, NULL);
}
static size_t bad_elf64_not_identity(void)
{
    struct seg s = { 0xffffffff80100000ull, 0x100000, 16, 16, 0xcc };
    return build_elf(img, sizeof(img), 2, 0xffffffff80100000ull, &s, 1, NULL);
}
static size_t bad_elf64_filesz_gt_memsz(void)
{
    struct seg s = { 0x100000, 0x100000, 32, 16, 0xcc };
    return build_elf(img, sizeof(img), 2, 0x100000, &s, 1, NULL);
}
static size_t bad_elf64_machine(void)
{
    struct seg s = { 0x100000, 0x100000, 16, 16, 0xcc };
    size_t n = build_elf(img, sizeof(img), 2, 0x100000, &s, 1, NULL);
    img[18] = 40; /* EM_ARM */
    return n;
}
static size_t bad_elf32_no_multiboot(void)
{
    struct seg s = { 0x100000, 0x100000, 16, 16, 0xcc };
    return build_elf(img, sizeof(img), 1, 0x100000, &s, 1, NULL);
}
static size_t bad_mb_flags(void)
{
    memset(img, 0, 0x1000);
    put_mb_header(img, 0, (1u << 16) | (1u << 5), 0x100000, 0x100000, 0, 0, 0x100020);
    return 0x1000;
}
static size_t bad_mb_load_past_eof(void)
{
    memset(img, 0, 0x1000);
    put_mb_header(img, 0, 1u << 16, 0x100000, 0x100000, 0x102000, 0, 0x100020);
    return 0x1000;
}
static size_t bad_mb_entry_outside(void)
{
    memset(img, 0, 0x1000);
    put_mb_header(img, 0, 1u << 16, 0x100000, 0x100000, 0, 0x101000, 0x200000);
    return 0x1000;
}
static size_t bad_mb_header_before_load(void)
{
    memset(img, 0, 0x1000);
    put_mb_header(img, 0x10, 1u << 16, 0x100100, 0x100000, 0, 0, 0x100100);
    return 0x1000;
}
static size_t bad_mb_bss_below_end(void)
{
    memset(img, 0, 0x1000);
    put_mb_header(img, 0, 1u << 16, 0x100000, 0x100000, 0x100800, 0x100400, 0x100020);
    return 0x1000;
}
static size_t bad_mb_truncated_header(void)
{
    memset(img, 0, 16);
    put_mb_header(img, 0, 1u << 16, 0, 0, 0, 0, 0);
    return 16;
}

static const struct {
    const char *name;
    size_t (*build)(void);
    const char *expect;
} bad_images[] = {
    { "empty", bad_empty, "bad magic" },
    { "magic", bad_magic, "bad magic" },
    { "elf64_hdr", bad_elf64_truncated_header, "truncated ELF header" },
    { "elf64_phdrs", bad_elf64_phdrs_past_eof, "truncated ELF program header table" },
    { "elf64_ram", bad_elf64_segment_outside_ram, "outside guest RAM" },
    { "elf64_overlap", bad_elf64_overlap, "overlaps an earlier segment" },
    { "elf64_bootarea", bad_elf64_boot_area, "no room for the boot data" },
    { "elf64_eof", bad_elf64_segment_past_eof, "past the end of the file" },
    { "elf64_entry", bad_elf64_entry_outside, "not inside any loadable segment" },
    { "elf64_identity", bad_elf64_not_identity, "not identity-mapped" },
    { "elf64_filesz", bad_elf64_filesz_gt_memsz, "exceeds memory size" },
    { "elf64_machine", bad_elf64_machine, "ELF machine 40" },
    { "elf32_nomb", bad_elf32_no_multiboot, "without a multiboot header" },
    { "mb_flags", bad_mb_flags, "unsupported features" },
    { "mb_eof", bad_mb_load_past_eof, "file is 4096 bytes" },
    { "mb_entry", bad_mb_entry_outside, "entry_addr 0x200000 is outside" },
    { "mb_header_addr", bad_mb_header_before_load, "exceeds the header's file offset" },
    { "mb_bss", bad_mb_bss_below_end, "bss_end_addr" },
    { "mb_trunc", bad_mb_truncated_header, "truncated" },
};

START_TEST(loader_rejects_malformed_image)
{
    char err[512] = "", name[64];
    struct boot_entry be;
    size_t n = bad_images[_i].build();
    snprintf(name, sizeof(name), "%s.img", bad_images[_i].name);
    const char *path = write_file(name, img, n);
    ck_assert_msg(!prepare(path, &be, err, sizeof(err)), "%s: loaded", bad_images[_i].name);
    ck_assert_msg(strstr(err, bad_images[_i].expect) != NULL, "%s: expected '%s' in '%s'",
                  bad_images[_i].name, bad_images[_i].expect, err);
    ck_assert_msg(strstr(err, path) != NULL, "%s: error does not name the file: '%s'",
                  bad_images[_i].name, err);
}
END_TEST

START_TEST(loader_rejects_missing_and_oversized_files)
{
    char err[512];
    struct boot_entry be;
    char path[320];
    snprintf(path, sizeof(path), "%s/none.elf", tmpdir);
    ck_assert(!prepare(path, &be, err, sizeof(err)));
    ck_assert_msg(strstr(err, "cannot open") && strstr(err, path), "got '%s'", err);

    machine_destroy(m);
    m = machine_create(4096); /* smaller than the image */
    m->quiet = true;
    memset(img, 0, 8192);
    const char *big = write_file("big.img", img, 8192);
    ck_assert(!prepare(big, &be, err, sizeof(err)));
    ck_assert_msg(strstr(err, "larger than guest RAM"), "got '%s'", err);
}
END_TEST

START_TEST(loader_rejects_missing_module)
{
    char err[512], mpath[320];
    struct boot_entry be;
    memset(img, 0x90, 0x1000);
    put_mb_header(img, 0, 1u << 16, 0x100000, 0x100000, 0, 0, 0x100020);
    const char *path = write_file("k.img", img, 0x1000);
    snprintf(mpath, sizeof(mpath), "%s/nomodule", tmpdir);
    struct boot_module mod = { mpath, NULL };
    struct boot_params bp = { path, NULL, &mod, 1 };
    ck_assert(!loader_prepare(m, &bp, &be, err, sizeof(err)));
    ck_assert_msg(strstr(err, mpath) && strstr(err, "cannot open"), "got '%s'", err);
}
END_TEST

static void check_info(const struct boot_entry *be, const char *cmdline)
{
    const uint8_t *info = m->ram + be->info;
    ck_assert_uint_eq(be->info, BOOT_INFO);
    ck_assert_uint_eq(ld_le32(info), (1u << 0) | (1u << 2) | (1u << 3) | (1u << 6) | (1u << 9));
    ck_assert_uint_eq(ld_le32(info + 4), 639);
    ck_assert_uint_eq(ld_le32(info + 8), (16 * MIB - MIB) / 1024);
    ck_assert_str_eq((const char *)m->ram + ld_le32(info + 16), cmdline);
    ck_assert_str_eq((const char *)m->ram + ld_le32(info + 64), "nvmx");
    /* memory map: four entries, the last is RAM above 1 MiB */
    uint32_t mlen = ld_le32(info + 44), maddr = ld_le32(info + 48);
    ck_assert_uint_eq(mlen, 4 * 24);
    const uint8_t *e = m->ram + maddr;
    ck_assert_uint_eq(ld_le32(e), 20);
    ck_assert_uint_eq(ld_le64(e + 4), 0);
    ck_assert_uint_eq(ld_le64(e + 12), 0x9fc00);
    ck_assert_uint_eq(ld_le32(e + 20), 1);
    ck_assert_uint_eq(ld_le32(e + 24 + 20), 2);
    ck_assert_uint_eq(ld_le64(e + 72 + 4), MIB);
    ck_assert_uint_eq(ld_le64(e + 72 + 12), 15 * MIB);
    ck_assert_uint_eq(ld_le32(e + 72 + 20), 1);
}

START_TEST(multiboot_aout_kludge_loads)
{
    char err[512];
    struct boot_entry be;
    memset(img, 0xaa, 0x2000);
    memset(m->ram + 0x101800, 0x55, 0x1800); /* BSS must be cleared, beyond it kept */
    put_mb_header(img, 0x40, 1u << 16, 0x100040, 0x100000, 0x101800, 0x102800, 0x100060);
    const char *path = write_file("aout.img", img, 0x2000);
    const char mod_bytes[] = "module-bytes";
    const char *mpath = write_file("mod.bin", mod_bytes, sizeof(mod_bytes));
    struct boot_module mod = { mpath, "initrd arg" };
    struct boot_params bp = { path, "root=/dev/x", &mod, 1 };
    ck_assert_msg(loader_prepare(m, &bp, &be, err, sizeof(err)), "%s", err);
    ck_assert_int_eq(be.kind, BOOT_MULTIBOOT);
    ck_assert_uint_eq(be.entry, 0x100060);
    ck_assert_uint_eq(m->ram[0x100000], 0xaa);
    ck_assert_uint_eq(ld_le32(m->ram + 0x100040), MULTIBOOT_HEADER_MAGIC);
    ck_assert_uint_eq(m->ram[0x1017ff], 0xaa);
    ck_assert_uint_eq(m->ram[0x101800], 0);
    ck_assert_uint_eq(m->ram[0x1027ff], 0);
    ck_assert_uint_eq(m->ram[0x102800], 0x55); /* past bss_end_addr: untouched */
    check_info(&be, "root=/dev/x");
    /* module: page-aligned after the kernel (BSS end 0x102800 -> 0x103000) */
    const uint8_t *info = m->ram + BOOT_INFO;
    ck_assert_uint_eq(ld_le32(info + 20), 1);
    const uint8_t *me = m->ram + ld_le32(info + 24);
    ck_assert_uint_eq(ld_le32(me), 0x103000);
    ck_assert_uint_eq(ld_le32(me + 4), 0x103000 + sizeof(mod_bytes));
    ck_assert_str_eq((const char *)m->ram + ld_le32(me + 8), "initrd arg");
    ck_assert_mem_eq(m->ram + 0x103000, mod_bytes, sizeof(mod_bytes));
}
END_TEST

START_TEST(multiboot_elf32_loads_at_paddr)
{
    char err[512];
    struct boot_entry be;
    /* 64-bit code rewrapped by objcopy -O elf32-i386 looks like this: EM_386,
     * vaddr != paddr allowed, entry translated through its segment. */
    struct seg s[2] = { { 0xc0100000, 0x100000, 0x200, 0x200, 0x11 },
                        { 0xc0200000, 0x200000, 0x100, 0x1000, 0x22 } };
    size_t n = build_elf(img, sizeof(img), 1, 0xc0100010, s, 2, NULL);
    put_mb_header(img, n, 0x3, 0, 0, 0, 0, 0); /* header after the segments */
    const char *path = write_file("mb32.elf", img, n + 32);
    ck_assert_msg(prepare(path, &be, err, sizeof(err)), "%s", err);
    ck_assert_int_eq(be.kind, BOOT_MULTIBOOT);
    ck_assert_uint_eq(be.entry, 0x100010);
    ck_assert_uint_eq(m->ram[0x100000], 0x11);
    ck_assert_uint_eq(m->ram[0x1001ff], 0x11);
    ck_assert_uint_eq(m->ram[0x2000ff], 0x22);
    ck_assert_uint_eq(m->ram[0x200100], 0);
    check_info(&be, "console=ttyS0");
}
END_TEST

START_TEST(elf64_builds_identity_page_tables)
{
    char err[512];
    struct boot_entry be;
    struct seg s = { 0x100000, 0x100000, 0x100, 0x100, 0x33 };
    size_t n = build_elf(img, sizeof(img), 2, 0x100000, &s, 1, NULL);
    const char *path = write_file("k64.elf", img, n);
    ck_assert_msg(prepare(path, &be, err, sizeof(err)), "%s", err);
    ck_assert_int_eq(be.kind, BOOT_ELF64);
    ck_assert_uint_eq(be.entry, 0x100000);
    ck_assert_uint_eq(be.rsp, BOOT_STACK_TOP);
    ck_assert_uint_eq(m->ram[0x100000], 0x33);
    /* SDM 3A "4-Level Paging": PML4E[0] -> PDPT; PDPTE[i] -> PD i; 2 MiB PDEs */
    uint64_t pml4e = ld_le64(m->ram + be.cr3);
    ck_assert_uint_eq(pml4e & ~0xfffull, BOOT_PDPT);
    ck_assert_uint_eq(pml4e & 3, 3);
    ck_assert_uint_eq(ld_le64(m->ram + be.cr3 + 8), 0);
    for (unsigned g = 0; g < 4; g++) { /* 16 MiB RAM: at least 4 GiB mapped */
        uint64_t pdpte = ld_le64(m->ram + BOOT_PDPT + g * 8);
        ck_assert_uint_eq(pdpte & 3, 3);
        uint64_t pde = ld_le64(m->ram + (pdpte & ~0xfffull) + 511 * 8);
        ck_assert_uint_eq(pde, ((uint64_t)g << 30) + (511ull << 21) + 0x83);
    }
    ck_assert_uint_eq(ld_le64(m->ram + BOOT_PDPT + 4 * 8), 0);
    ck_assert_uint_eq(ld_le64(m->ram + be.gdt_base + BOOT_SEL_CODE64), 0x00af9a000000ffffull);
    ck_assert_uint_eq(ld_le64(m->ram + be.gdt_base + BOOT_SEL_DATA), 0x00cf92000000ffffull);
    check_info(&be, "console=ttyS0");
    /* every range written is reported for the CPU's block cache */
    bool kernel_noted = false;
    for (unsigned i = 0; i < be.nranges; i++)
        kernel_noted |= be.ranges[i].pa == 0x100000 && be.ranges[i].len == 0x100;
    ck_assert(kernel_noted);
}
END_TEST

START_TEST(elf64_with_multiboot_header_is_multiboot)
{
    char err[512];
    struct boot_entry be;
    struct seg s = { 0x100000, 0x100000, 0x40, 0x40, 0x44 };
    size_t n = build_elf(img, sizeof(img), 2, 0x100020, &s, 1, NULL);
    put_mb_header(img, n, 0x3, 0, 0, 0, 0, 0);
    const char *path = write_file("mb64.elf", img, n + 32);
    ck_assert_msg(prepare(path, &be, err, sizeof(err)), "%s", err);
    ck_assert_int_eq(be.kind, BOOT_MULTIBOOT);
    ck_assert_uint_eq(be.entry, 0x100020);
    ck_assert_uint_eq(be.cr3, 0); /* no page tables: entered with paging off */
}
END_TEST

/* Images in low memory (docs/memory-layout.md "Boot data area"): the boot
 * data moves to the first free place above the image; below 0x9fc00 while
 * it fits, else from 1 MiB. The image's bytes stay as loaded, the
 * multiboot information is complete where EBX points. */
static const struct { const char *name; uint64_t pa, len; uint64_t expect_info; } low_cases[] = {
    { "elf32_at_0x4000", 0x4000, 0x3000, 0x7000 },   /* kvm-unit-tests' realmode is at 16K */
    { "elf32_at_0x8000", 0x8000, 0x800, 0x2000 },    /* the area's default place still fits */
    { "elf32_at_0x1000", 0x1000, 0x9a000, 0x100000 }, /* nothing left below 0x9fc00 */
};

static bool range_clear(uint64_t pa, uint64_t len, uint64_t img_pa, uint64_t img_len)
{
    return pa + len <= img_pa || img_pa + img_len <= pa;
}

START_TEST(multiboot_low_image_moves_boot_data)
{
    char err[512];
    struct boot_entry be;
    uint64_t pa = low_cases[_i].pa, len = low_cases[_i].len;
    struct seg sg = { pa, pa, 0x100, len, 0x5a };
    size_t n = build_elf(img, sizeof(img), 1, pa, &sg, 1, NULL);
    put_mb_header(img, n, 0x3, 0, 0, 0, 0, 0);
    const char *path = write_file("low.elf", img, n + 32);
    struct boot_params bp = { path, "low memory", NULL, 0 };
    ck_assert_msg(loader_prepare(m, &bp, &be, err, sizeof(err)), "%s: %s", low_cases[_i].name, err);
    ck_assert_msg(be.info == low_cases[_i].expect_info, "%s: info at 0x%llx, expected 0x%llx",
                  low_cases[_i].name, (unsigned long long)be.info,
                  (unsigned long long)low_cases[_i].expect_info);
    ck_assert(range_clear(be.lay.lo, be.lay.hi - be.lay.lo, pa, len));
    ck_assert_uint_eq(m->ram[pa], 0x5a);
    ck_assert_uint_eq(m->ram[pa + 0xff], 0x5a);
    ck_assert_uint_eq(m->ram[pa + 0x100], 0); /* BSS */
    const uint8_t *info = m->ram + be.info;
    ck_assert_uint_eq(ld_le32(info), (1u << 0) | (1u << 2) | (1u << 3) | (1u << 6) | (1u << 9));
    ck_assert_str_eq((const char *)m->ram + ld_le32(info + 16), "low memory");
    ck_assert_str_eq((const char *)m->ram + ld_le32(info + 64), "nvmx");
    ck_assert_uint_eq(ld_le32(info + 44), 4 * 24);
    ck_assert(range_clear(ld_le32(info + 48), 4 * 24, pa, len));
    ck_assert_uint_eq(ld_le64(m->ram + ld_le32(info + 48) + 72 + 4), MIB);
}
END_TEST

START_TEST(elf64_low_image_moves_boot_data)
{
    char err[512];
    struct boot_entry be;
    struct seg sg = { 0x8000, 0x8000, 0x100, 0x100, 0x77 };
    size_t n = build_elf(img, sizeof(img), 2, 0x8000, &sg, 1, NULL);
    const char *path = write_file("low64.elf", img, n);
    ck_assert_msg(prepare(path, &be, err, sizeof(err)), "%s", err);
    ck_assert_int_eq(be.kind, BOOT_ELF64);
    ck_assert_uint_eq(be.gdt_base, 0x9000); /* the page after the image */
    ck_assert_uint_eq(be.info, 0xa000);
    ck_assert_uint_eq(be.rsp, 0x18000);
    ck_assert_uint_eq(be.cr3, 0x18000);
    ck_assert_uint_eq(m->ram[0x8000], 0x77);
    ck_assert_uint_eq(m->ram[0x80ff], 0x77);
    uint64_t pdpt = ld_le64(m->ram + be.cr3) & ~0xfffull;
    ck_assert_uint_eq(pdpt, 0x19000);
    uint64_t pd = ld_le64(m->ram + pdpt) & ~0xfffull;
    ck_assert_uint_eq(pd, 0x1a000);
    ck_assert_uint_eq(ld_le64(m->ram + pd), 0x83);
    ck_assert_uint_eq(ld_le64(m->ram + be.gdt_base + BOOT_SEL_CODE64), 0x00af9a000000ffffull);
    ck_assert_str_eq((const char *)m->ram + ld_le32(m->ram + be.info + 16), "console=ttyS0");
}
END_TEST

static uint8_t sum8(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    for (size_t i = 0; i < n; i++)
        s = (uint8_t)(s + p[i]);
    return s;
}

/* MultiProcessor Specification 1.4: floating pointer at 0xF0000 with a
 * zero checksum pointing at a "PCMP" table whose entries name the
 * processor, the buses, the I/O APIC, the ISA interrupts and LINT0/LINT1. */
START_TEST(mp_tables_describe_the_platform)
{
    char err[512];
    struct boot_entry be;
    struct seg sg = { 0x100000, 0x100000, 0x100, 0x100, 0x33 };
    size_t n = build_elf(img, sizeof(img), 2, 0x100000, &sg, 1, NULL);
    const char *path = write_file("mp.elf", img, n);
    ck_assert_msg(prepare(path, &be, err, sizeof(err)), "%s", err);
    const uint8_t *f = m->ram + 0xf0000;
    ck_assert_mem_eq(f, "_MP_", 4);
    ck_assert_uint_eq(f[8], 1);
    ck_assert_uint_eq(f[9], 4);
    ck_assert_uint_eq(sum8(f, 16), 0);
    ck_assert_uint_eq(f[11], 0); /* a configuration table follows, no default */
    ck_assert_uint_eq(f[12] & 0x80, 0); /* virtual-wire mode */
    const uint8_t *t = m->ram + ld_le32(f + 4);
    ck_assert_mem_eq(t, "PCMP", 4);
    uint16_t len = ld_le16(t + 4), count = ld_le16(t + 34);
    ck_assert_uint_eq(sum8(t, len), 0);
    ck_assert_uint_eq(ld_le32(t + 36), 0xfee00000u);
    unsigned kinds[5] = { 0 }, isa_irqs = 0;
    const uint8_t *e = t + 44;
    for (unsigned i = 0; i < count; i++) {
        ck_assert_uint_le(e[0], 4);
        kinds[e[0]]++;
        if (e[0] == 2) {
            ck_assert_uint_eq(e[1], 1); /* I/O APIC ID */
            ck_assert_uint_eq(ld_le32(e + 4), 0xfec00000u);
        }
        if (e[0] == 3) {
            ck_assert_uint_eq(e[4], 1);    /* the ISA bus */
            ck_assert_uint_eq(e[5], e[7]); /* ISA IRQ n -> INTIN n */
            isa_irqs |= 1u << e[5];
        }
        if (e[0] == 4)
            ck_assert_uint_eq(e[1], e[7] == 0 ? 3 : 1); /* LINT0 ExtINT, LINT1 NMI */
        e += e[0] == 0 ? 20 : 8;
    }
    ck_assert_uint_eq((uint64_t)(e - t), len);
    ck_assert_uint_eq(kinds[0], 1);
    ck_assert_uint_eq(kinds[1], 2);
    ck_assert_uint_eq(kinds[2], 1);
    ck_assert_uint_eq(kinds[4], 2);
    ck_assert_uint_eq(isa_irqs, 0xfffbu); /* every ISA IRQ but the cascade */
}
END_TEST

/* An image over 0xF0000 keeps its bytes: no tables there. */
START_TEST(mp_tables_yield_to_the_image)
{
    char err[512];
    struct boot_entry be;
    struct seg sg = { 0xf0000, 0xf0000, 0x40, 0x40, 0x66 };
    size_t n = build_elf(img, sizeof(img), 2, 0xf0000, &sg, 1, NULL);
    const char *path = write_file("bios.elf", img, n);
    ck_assert_msg(prepare(path, &be, err, sizeof(err)), "%s", err);
    ck_assert_uint_eq(m->ram[0xf0000], 0x66);
    ck_assert_uint_eq(m->ram[0xf003f], 0x66);
}
END_TEST

static Suite *machine_suite(void)
{
    Suite *s = suite_create("machine");
    TCase *tc = tcase_create("ports");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, unclaimed_port_reads_all_ones, 0,
                        sizeof(unclaimed_cases) / sizeof(unclaimed_cases[0]));
    tcase_add_test(tc, unclaimed_port_write_counted);
    tcase_add_test(tc, port_dispatch_reaches_device);
    tcase_add_test(tc, overlapping_port_claim_rejected);
    suite_add_tcase(s, tc);

    tc = tcase_create("memory");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, unbacked_physical_reads_all_ones);
    tcase_add_test(tc, mmio_dispatch_reaches_device);
    tcase_add_test(tc, ram_ptr_bounds);
    suite_add_tcase(s, tc);

    tc = tcase_create("devices");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, uart_transmits_thr_bytes);
    tcase_add_test(tc, uart_registers);
    tcase_add_test(tc, debugcon_output_and_presence);
    tcase_add_loop_test(tc, debug_exit_stops_machine, 0,
                        sizeof(exit_values) / sizeof(exit_values[0]));
    tcase_add_test(tc, fw_cfg_items);
    suite_add_tcase(s, tc);

    tc = tcase_create("loaders");
    tcase_add_checked_fixture(tc, loader_setup, loader_teardown);
    tcase_add_loop_test(tc, loader_rejects_malformed_image, 0,
                        sizeof(bad_images) / sizeof(bad_images[0]));
    tcase_add_test(tc, loader_rejects_missing_and_oversized_files);
    tcase_add_test(tc, loader_rejects_missing_module);
    tcase_add_test(tc, multiboot_aout_kludge_loads);
    tcase_add_test(tc, multiboot_elf32_loads_at_paddr);
    tcase_add_test(tc, elf64_builds_identity_page_tables);
    tcase_add_test(tc, elf64_with_multiboot_header_is_multiboot);
    tcase_add_loop_test(tc, multiboot_low_image_moves_boot_data, 0,
                        sizeof(low_cases) / sizeof(low_cases[0]));
    tcase_add_test(tc, elf64_low_image_moves_boot_data);
    tcase_add_test(tc, mp_tables_describe_the_platform);
    tcase_add_test(tc, mp_tables_yield_to_the_image);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(machine_suite());
}
