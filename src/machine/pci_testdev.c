/* QEMU's pci-testdev (hw/misc/pci-testdev.c, vendor 1b36 device 0005):
 * BAR0 is 4 KiB of memory space, BAR1 256 bytes of I/O space. Writing
 * test number t (0-2) to offset 0 of a BAR selects test t of that space
 * (memory: 0-2, I/O: 3-5) and zeroes its count; reads return the selected
 * test's header byte by byte (test, width, offset, data, count, name). In
 * the no-eventfd tests each byte write of the header's data at its offset
 * adds one to count; in the other two QEMU registers an eventfd on that
 * offset (any data, or the header's data) which takes the matching writes
 * before the device sees them, so their count stays 0, and the device
 * ignores the rest: nvmx does the same, the writes signalling nothing. Any
 * other test number deselects. The firmware choice
 * (docs/memory-layout.md): BAR0 at 0xfebff000, BAR1 at 0xc000, both
 * spaces enabled. */
#include "pci.h"

#include <stdlib.h>
#include <string.h>

#define TESTDEV_SLOT 3
#define TESTDEV_MEM_BAR 0xfebff000u
#define TESTDEV_MEM_SIZE 4096u
#define TESTDEV_IO_BAR 0xc000u
#define TESTDEV_IO_SIZE 256u
#define NTESTS 6
#define HDR_LEN 16 /* test, width, pad[2], offset, data, pad[3], count */

struct iotest {
    uint8_t hdr[48]; /* header + name + NUL */
    unsigned len;
    bool match_data;
    bool eventfd; /* writes at the offset go to an eventfd, not the device */
};

struct pci_testdev {
    struct pci_func f;
    struct iotest tests[NTESTS];
    int current; /* -1: none */
    uint64_t mem_base;
    uint16_t io_base;
};

static uint32_t le32(const uint8_t *p)
{
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint8_t read_byte(const struct pci_testdev *d, uint64_t addr)
{
    if (d->current < 0)
        return 0;
    const struct iotest *t = &d->tests[d->current];
    return addr + 1 < t->len ? t->hdr[addr] : 0;
}

static void write_byte(struct pci_testdev *d, unsigned type, uint64_t addr, uint8_t val)
{
    if (addr == 0) {
        d->current = -1;
        if (val < 3) {
            d->current = (int)(type * 3 + val);
            memset(&d->tests[d->current].hdr[12], 0, 4); /* count = 0 */
        }
        return;
    }
    if (d->current < 0)
        return;
    struct iotest *t = &d->tests[d->current];
    if (t->eventfd || addr != le32(&t->hdr[4]) || (t->match_data && val != t->hdr[8]))
        return;
    uint32_t c = le32(&t->hdr[12]) + 1;
    for (unsigned b = 0; b < 4; b++)
        t->hdr[12 + b] = (uint8_t)(c >> (8 * b));
}

/* Accesses are split into byte accesses, as QEMU's regions implement
 * only 1-byte accesses. */
static uint64_t mem_read(void *ctx, uint64_t pa, unsigned size)
{
    const struct pci_testdev *d = ctx;
    uint64_t v = 0;
    for (unsigned i = 0; i < size && i < 8; i++)
        v |= (uint64_t)read_byte(d, pa - d->mem_base + i) << (8 * i);
    return v;
}

static void mem_write(void *ctx, uint64_t pa, unsigned size, uint64_t val)
{
    struct pci_testdev *d = ctx;
    for (unsigned i = 0; i < size && i < 8; i++)
        write_byte(d, 0, pa - d->mem_base + i, (uint8_t)(val >> (8 * i)));
}

static uint32_t io_read(void *ctx, uint16_t port, unsigned size)
{
    const struct pci_testdev *d = ctx;
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint32_t)read_byte(d, (uint16_t)(port - d->io_base) + i) << (8 * i);
    return v;
}

static void io_write(void *ctx, uint16_t port, unsigned size, uint32_t val)
{
    struct pci_testdev *d = ctx;
    for (unsigned i = 0; i < size; i++)
        write_byte(d, 1, (uint16_t)(port - d->io_base) + i, (uint8_t)(val >> (8 * i)));
}

/* The BARs as the command register and the guest's programming say; a
 * BAR placed over another device's range (or past the 16-bit I/O space)
 * decodes nothing. */
static void decode(struct machine *m, struct pci_func *f)
{
    struct pci_testdev *d = f->ctx;
    uint64_t base;
    if (!pci_bar_decoded(f, 0, &base) ||
        !machine_mmio_place(m, mem_read, d, base, base + TESTDEV_MEM_SIZE - 1))
        machine_mmio_place(m, mem_read, d, 1, 0);
    else
        d->mem_base = base;
    if (!pci_bar_decoded(f, 1, &base) || base + TESTDEV_IO_SIZE > 0x10000 ||
        !machine_ports_place(m, io_read, d, (uint16_t)base,
                             (uint16_t)(base + TESTDEV_IO_SIZE - 1)))
        machine_ports_place(m, io_read, d, 1, 0);
    else
        d->io_base = (uint16_t)base;
}

static void test_init(struct iotest *t, unsigned i)
{
    static const char *const kind[2] = { "mmio", "portio" };
    static const char *const test[3] = { "no-eventfd", "wildcard-eventfd", "datamatch-eventfd" };
    const char *k = kind[i / 3], *n = test[i % 3];
    size_t lk = strlen(k), ln = strlen(n);
    uint32_t off = (i < 3 ? TESTDEV_MEM_SIZE / 2 : TESTDEV_IO_SIZE / 2) + i;
    t->match_data = i % 3 != 1;
    t->eventfd = i % 3 != 0;
    t->hdr[0] = (uint8_t)i;
    t->hdr[1] = 1; /* width */
    for (unsigned b = 0; b < 4; b++)
        t->hdr[4 + b] = (uint8_t)(off >> (8 * b));
    t->hdr[8] = t->match_data ? 0xfa : 0xce;
    memcpy(&t->hdr[HDR_LEN], k, lk);
    t->hdr[HDR_LEN + lk] = '-';
    memcpy(&t->hdr[HDR_LEN + lk + 1], n, ln + 1);
    t->len = (unsigned)(HDR_LEN + lk + 1 + ln + 1);
}

bool pci_testdev_attach(struct machine *m)
{
    struct pci_testdev *d = calloc(1, sizeof *d);
    if (!d || !machine_own(m, d))
        return false;
    d->current = -1;
    for (unsigned i = 0; i < NTESTS; i++)
        test_init(&d->tests[i], i);
    const uint32_t size[PCI_NBARS] = { TESTDEV_MEM_SIZE, TESTDEV_IO_SIZE };
    const uint32_t bar[PCI_NBARS] = { TESTDEV_MEM_BAR, TESTDEV_IO_BAR | PCI_BAR_IO };
    /* Red Hat, Inc. test device; class ff (unassigned); subsystem as QEMU
     * gives its devices (1af4:1100) */
    pci_func_init(&d->f, 0x1b36, 0x0005, 0x00, 0xff0000, size, bar);
    d->f.cfg[PCI_CFG_SUBSYS_VENDOR] = 0xf4;
    d->f.cfg[PCI_CFG_SUBSYS_VENDOR + 1] = 0x1a;
    d->f.cfg[PCI_CFG_SUBSYS_ID] = 0x00;
    d->f.cfg[PCI_CFG_SUBSYS_ID + 1] = 0x11;
    d->f.cfg[PCI_CFG_COMMAND] = PCI_COMMAND_IO | PCI_COMMAND_MEMORY;
    d->f.decode = decode;
    d->f.ctx = d;
    return machine_add_mmio(m, TESTDEV_MEM_BAR, TESTDEV_MEM_BAR + TESTDEV_MEM_SIZE - 1, mem_read,
                            mem_write, d) &&
           machine_add_ports(m, TESTDEV_IO_BAR, TESTDEV_IO_BAR + TESTDEV_IO_SIZE - 1, io_read,
                             io_write, d) &&
           pci_plug(m, TESTDEV_SLOT, &d->f);
}
