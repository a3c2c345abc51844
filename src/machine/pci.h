/* Private to src/machine: PCI bus 0 behind configuration mechanism #1 and
 * the type 0 configuration header its functions share (PCI Local Bus
 * Specification 3.0, 3.2.2.3.2 "Configuration Mechanism #1" and 6.1
 * "Configuration Space Organization"). */
#ifndef NVMX_MACHINE_PCI_H
#define NVMX_MACHINE_PCI_H

#include "machine_private.h"

#define PCI_CFG_VENDOR 0x00
#define PCI_CFG_DEVICE 0x02
#define PCI_CFG_COMMAND 0x04
#define PCI_CFG_REVISION 0x08
#define PCI_CFG_CLASS 0x09 /* prog-if, subclass, class: 3 bytes */
#define PCI_CFG_HEADER_TYPE 0x0e
#define PCI_CFG_BAR0 0x10
#define PCI_CFG_SUBSYS_VENDOR 0x2c
#define PCI_CFG_SUBSYS_ID 0x2e
#define PCI_CFG_INTR_LINE 0x3c
#define PCI_CFG_INTR_PIN 0x3d
#define PCI_COMMAND_IO 0x1u
#define PCI_COMMAND_MEMORY 0x2u
#define PCI_BAR_IO 0x1u
#define PCI_NBARS 6

struct pci_func {
    uint8_t cfg[256];
    uint8_t wmask[256];             /* bits software may write */
    uint32_t bar_size[PCI_NBARS];   /* power of two; 0 = no BAR */
    /* The command register or a BAR changed: decode the BARs anew. */
    void (*decode)(struct machine *m, struct pci_func *f);
    void *ctx;
};

/* A type 0 header with the IDs, class and BARs given (BARs at base, with
 * bit 0 set for I/O space); command, latency timer and interrupt line are
 * writable. */
void pci_func_init(struct pci_func *f, uint16_t vendor, uint16_t device, uint8_t revision,
                   uint32_t class_code, const uint32_t bar_size[PCI_NBARS],
                   const uint32_t bar[PCI_NBARS]);
/* The address BAR i decodes now, or false (its space disabled in the
 * command register, or no such BAR). */
bool pci_bar_decoded(const struct pci_func *f, unsigned i, uint64_t *base);
/* Put f in slot dev of bus 0 (function 0). */
bool pci_plug(struct machine *m, unsigned dev, struct pci_func *f);

#endif
