/* QEMU's pc-testdev (hw/misc/pc-testdev.c), which kvm-unit-tests uses:
 *   0xe0-0xe3  a 32-bit test register, accessed at any size and offset
 *   0xe4-0xe7  "flush page": a dword write names a guest page QEMU
 *              briefly unmaps; nvmx has no host mapping to drop, so the
 *              write is accepted and has no effect
 *   0xe8,0xea,0xeb  the same register byte by byte (0xe9 stays the debug
 *              console; an access that starts at 0xe8 covers its bytes)
 *   0x2000-0x2017  IRQ lines 0-23: a byte write drives line n to (v != 0)
 *   0xff000000-0xff00ffff  64 KiB of test memory behind MMIO. */
#include "machine_private.h"

#include <stdlib.h>
#include <string.h>

#define TESTDEV_IOPORT 0xe0
#define TESTDEV_FLUSH 0xe4
#define TESTDEV_IOPORT_BYTE 0xe8
#define TESTDEV_IRQ_BASE 0x2000
#define TESTDEV_IRQ_LINES 24
#define TESTDEV_IOMEM_BASE 0xff000000ull
#define TESTDEV_IOMEM_LEN 0x10000u

struct pc_testdev {
    struct machine *m;
    uint32_t ioport_data;
    uint8_t iomem[TESTDEV_IOMEM_LEN];
};

/* The register's bytes from (port & 3) on; bytes past its last read 0 and
 * are dropped, as QEMU clips an access to the 4-byte region. */
static uint32_t reg_read(void *ctx, uint16_t port, unsigned size)
{
    const struct pc_testdev *d = ctx;
    uint32_t v = 0;
    for (unsigned i = 0; i < size && (port & 3) + i < 4; i++)
        v |= ((d->ioport_data >> (8 * ((port & 3) + i))) & 0xff) << (8 * i);
    return v;
}

static void reg_write(void *ctx, uint16_t port, unsigned size, uint32_t val)
{
    struct pc_testdev *d = ctx;
    for (unsigned i = 0; i < size && (port & 3) + i < 4; i++) {
        unsigned sh = 8 * ((port & 3) + i);
        d->ioport_data = (d->ioport_data & ~(0xffu << sh)) | (((val >> (8 * i)) & 0xff) << sh);
    }
}

static void flush_write(void *ctx, uint16_t port, unsigned size, uint32_t val) {}

static void irq_write(void *ctx, uint16_t port, unsigned size, uint32_t val)
{
    struct pc_testdev *d = ctx;
    if (size != 1)
        return; /* QEMU's region takes byte accesses only */
    machine_irq_set(d->m, port - TESTDEV_IRQ_BASE, val != 0);
}

static uint64_t iomem_read(void *ctx, uint64_t pa, unsigned size)
{
    const struct pc_testdev *d = ctx;
    uint64_t off = pa - TESTDEV_IOMEM_BASE, v = 0;
    for (unsigned i = 0; i < size && i < 8 && off + i < TESTDEV_IOMEM_LEN; i++)
        v |= (uint64_t)d->iomem[off + i] << (8 * i);
    return v;
}

static void iomem_write(void *ctx, uint64_t pa, unsigned size, uint64_t val)
{
    struct pc_testdev *d = ctx;
    uint64_t off = pa - TESTDEV_IOMEM_BASE;
    for (unsigned i = 0; i < size && i < 8 && off + i < TESTDEV_IOMEM_LEN; i++)
        d->iomem[off + i] = (uint8_t)(val >> (8 * i));
}

bool pc_testdev_attach(struct machine *m)
{
    struct pc_testdev *d = calloc(1, sizeof *d);
    if (!d || !machine_own(m, d))
        return false;
    d->m = m;
    return machine_add_ports(m, TESTDEV_IOPORT, TESTDEV_IOPORT + 3, reg_read, reg_write, d) &&
           machine_add_ports(m, TESTDEV_FLUSH, TESTDEV_FLUSH + 3, NULL, flush_write, d) &&
           machine_add_ports(m, TESTDEV_IOPORT_BYTE, TESTDEV_IOPORT_BYTE, reg_read, reg_write,
                             d) &&
           machine_add_ports(m, TESTDEV_IOPORT_BYTE + 2, TESTDEV_IOPORT_BYTE + 3, reg_read,
                             reg_write, d) &&
           machine_add_ports(m, TESTDEV_IRQ_BASE, TESTDEV_IRQ_BASE + TESTDEV_IRQ_LINES - 1, NULL,
                             irq_write, d) &&
           machine_add_mmio(m, TESTDEV_IOMEM_BASE, TESTDEV_IOMEM_BASE + TESTDEV_IOMEM_LEN - 1,
                            iomem_read, iomem_write, d);
}
