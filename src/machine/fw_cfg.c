/* QEMU fw_cfg, traditional I/O interface (docs/specs/fw_cfg.txt in QEMU):
 * a 16-bit selector at 0x510 and a byte-wide data port at 0x511 that streams
 * the selected item. Items: signature "QEMU" (0x0000), interface ID (0x0001,
 * bit 0: traditional interface; no DMA), RAM size (0x0003, 64-bit LE), CPU
 * count (0x0005 and max CPUs 0x000f, 16-bit LE). Unknown keys read zeros. */
#include "machine_private.h"

#include <stdlib.h>
#include <string.h>

#define FW_CFG_SIGNATURE 0x00
#define FW_CFG_ID 0x01
#define FW_CFG_RAM_SIZE 0x03
#define FW_CFG_NB_CPUS 0x05
#define FW_CFG_MAX_CPUS 0x0f
#define FW_CFG_ID_TRADITIONAL 0x1u

struct fw_cfg {
    struct machine *m;
    uint16_t selector;
    uint32_t offset;
};

static void put_le(uint8_t *buf, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        buf[i] = (uint8_t)(v >> (8 * i));
}

/* Bytes of the item 'key' into buf (at most 8); returns the item length. */
static unsigned fw_cfg_item(const struct fw_cfg *f, uint16_t key, uint8_t buf[8])
{
    switch (key) {
    case FW_CFG_SIGNATURE: memcpy(buf, "QEMU", 4); return 4;
    case FW_CFG_ID: put_le(buf, FW_CFG_ID_TRADITIONAL, 4); return 4;
    case FW_CFG_RAM_SIZE: put_le(buf, f->m->ram_size, 8); return 8;
    case FW_CFG_NB_CPUS:
    case FW_CFG_MAX_CPUS: put_le(buf, 1, 2); return 2;
    default: return 0;
    }
}

static uint32_t fw_cfg_read(void *ctx, uint16_t port, unsigned size)
{
    struct fw_cfg *f = ctx;
    if (port == FW_CFG_PORT_SEL)
        return 0;
    uint8_t buf[8];
    unsigned len = fw_cfg_item(f, f->selector, buf);
    uint8_t b = f->offset < len ? buf[f->offset] : 0;
    if (f->offset < len)
        f->offset++;
    return b;
}

static void fw_cfg_write(void *ctx, uint16_t port, unsigned size, uint32_t val)
{
    struct fw_cfg *f = ctx;
    if (port == FW_CFG_PORT_SEL && size >= 2) {
        f->selector = (uint16_t)val;
        f->offset = 0;
    }
    /* data-port writes are ignored, as by QEMU since 2.4 */
}

bool fw_cfg_attach(struct machine *m)
{
    struct fw_cfg *f = calloc(1, sizeof(*f));
    if (!f || !machine_own(m, f))
        return false;
    f->m = m;
    return machine_add_ports(m, FW_CFG_PORT_SEL, FW_CFG_PORT_DATA, fw_cfg_read, fw_cfg_write,
                             f);
}
