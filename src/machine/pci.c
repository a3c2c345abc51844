/* PCI configuration mechanism #1 at 0xcf8/0xcfc and bus 0: the host
 * bridge (an i440FX, as on QEMU's PC) in slot 0 and whatever devices are
 * plugged in. Configuration reads of an absent device, function or bus
 * return all-ones (PCI 3.0, 6.1: a master abort on a configuration read
 * returns FFFFh as the vendor ID), and writes to them are dropped. */
#include "pci.h"

#include <stdlib.h>
#include <string.h>

#define PCI_CONFIG_ADDRESS 0xcf8
#define PCI_CONFIG_DATA 0xcfc
#define PCI_ADDR_ENABLE 0x80000000u
#define PCI_ADDR_MASK 0x80fffffcu /* bits 30:24 reserved, 1:0 read as 0 */

struct pci_bus {
    uint32_t address; /* CONFIG_ADDRESS */
    struct pci_func *slot[32];
    struct pci_func host;
};

void pci_func_init(struct pci_func *f, uint16_t vendor, uint16_t device, uint8_t revision,
                   uint32_t class_code, const uint32_t bar_size[PCI_NBARS],
                   const uint32_t bar[PCI_NBARS])
{
    memset(f->cfg, 0, sizeof f->cfg);
    memset(f->wmask, 0, sizeof f->wmask);
    f->cfg[PCI_CFG_VENDOR] = (uint8_t)vendor;
    f->cfg[PCI_CFG_VENDOR + 1] = (uint8_t)(vendor >> 8);
    f->cfg[PCI_CFG_DEVICE] = (uint8_t)device;
    f->cfg[PCI_CFG_DEVICE + 1] = (uint8_t)(device >> 8);
    f->cfg[PCI_CFG_REVISION] = revision;
    f->cfg[PCI_CFG_CLASS] = (uint8_t)class_code;
    f->cfg[PCI_CFG_CLASS + 1] = (uint8_t)(class_code >> 8);
    f->cfg[PCI_CFG_CLASS + 2] = (uint8_t)(class_code >> 16);
    /* command: I/O space, memory space, bus master, parity error response,
     * SERR# enable, interrupt disable (PCI 3.0, 6.2.2) */
    f->wmask[PCI_CFG_COMMAND] = 0x47;
    f->wmask[PCI_CFG_COMMAND + 1] = 0x05;
    f->wmask[0x0d] = 0xff; /* latency timer */
    f->wmask[PCI_CFG_INTR_LINE] = 0xff;
    for (unsigned i = 0; i < PCI_NBARS; i++) {
        f->bar_size[i] = bar_size ? bar_size[i] : 0;
        if (!f->bar_size[i])
            continue;
        bool io = bar[i] & PCI_BAR_IO;
        uint32_t v = (bar[i] & ~(f->bar_size[i] - 1)) | (io ? PCI_BAR_IO : 0);
        uint32_t w = ~(f->bar_size[i] - 1) & (io ? ~3u : ~0xfu);
        for (unsigned b = 0; b < 4; b++) {
            f->cfg[PCI_CFG_BAR0 + 4 * i + b] = (uint8_t)(v >> (8 * b));
            f->wmask[PCI_CFG_BAR0 + 4 * i + b] = (uint8_t)(w >> (8 * b));
        }
    }
}

static uint32_t cfg_dword(const struct pci_func *f, unsigned off)
{
    return f->cfg[off] | (uint32_t)f->cfg[off + 1] << 8 | (uint32_t)f->cfg[off + 2] << 16 |
           (uint32_t)f->cfg[off + 3] << 24;
}

/* PCI 3.0, 6.2.5.1 "Address Maps": a BAR decodes when its space is
 * enabled in the command register. */
bool pci_bar_decoded(const struct pci_func *f, unsigned i, uint64_t *base)
{
    if (i >= PCI_NBARS || !f->bar_size[i])
        return false;
    uint32_t v = cfg_dword(f, PCI_CFG_BAR0 + 4 * i);
    bool io = v & PCI_BAR_IO;
    if (!(f->cfg[PCI_CFG_COMMAND] & (io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY)))
        return false;
    *base = v & (io ? ~3u : ~0xfu);
    return true;
}

bool pci_plug(struct machine *m, unsigned dev, struct pci_func *f)
{
    if (!m->pci || dev >= 32 || m->pci->slot[dev])
        return false;
    m->pci->slot[dev] = f;
    if (f->decode)
        f->decode(m, f);
    return true;
}

/* The function CONFIG_ADDRESS selects, or NULL: enable bit clear, another
 * bus, an empty slot, a function other than 0 (every device here is
 * single-function). */
static struct pci_func *selected(const struct pci_bus *b)
{
    uint32_t a = b->address;
    if (!(a & PCI_ADDR_ENABLE) || ((a >> 16) & 0xff) != 0 || ((a >> 8) & 7) != 0)
        return NULL;
    return b->slot[(a >> 11) & 0x1f];
}

static uint32_t pci_port_read(void *ctx, uint16_t port, unsigned size)
{
    struct machine *m = ctx;
    struct pci_bus *b = m->pci;
    if (port == PCI_CONFIG_ADDRESS && size == 4)
        return b->address;
    if (port < PCI_CONFIG_DATA)
        return 0xffffffffu; /* only dword accesses reach CONFIG_ADDRESS */
    struct pci_func *f = selected(b);
    if (!f)
        return 0xffffffffu;
    unsigned off = (b->address & 0xfc) + (port - PCI_CONFIG_DATA);
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint32_t)(off + i < 256 ? f->cfg[off + i] : 0xff) << (8 * i);
    return v;
}

static void pci_port_write(void *ctx, uint16_t port, unsigned size, uint32_t val)
{
    struct machine *m = ctx;
    struct pci_bus *b = m->pci;
    if (port == PCI_CONFIG_ADDRESS && size == 4) {
        b->address = val & PCI_ADDR_MASK;
        return;
    }
    struct pci_func *f = port >= PCI_CONFIG_DATA ? selected(b) : NULL;
    if (!f)
        return;
    unsigned off = (b->address & 0xfc) + (port - PCI_CONFIG_DATA);
    bool redecode = false;
    for (unsigned i = 0; i < size && off + i < 256; i++) {
        unsigned o = off + i;
        uint8_t w = f->wmask[o];
        f->cfg[o] = (uint8_t)((f->cfg[o] & ~w) | ((val >> (8 * i)) & w));
        redecode |= w && (o < PCI_CFG_COMMAND + 2 ||
                          (o >= PCI_CFG_BAR0 && o < PCI_CFG_BAR0 + 4 * PCI_NBARS));
    }
    if (redecode && f->decode)
        f->decode(m, f);
}

bool pci_attach(struct machine *m)
{
    struct pci_bus *b = calloc(1, sizeof *b);
    if (!b || !machine_own(m, b))
        return false;
    m->pci = b;
    /* slot 0: the host bridge, Intel 82441FX (i440FX) PMC, class 06 00 00 */
    pci_func_init(&b->host, 0x8086, 0x1237, 0x02, 0x060000, NULL, NULL);
    b->slot[0] = &b->host;
    return machine_add_ports(m, PCI_CONFIG_ADDRESS, PCI_CONFIG_DATA + 3, pci_port_read,
                             pci_port_write, m);
}
