/* Private to src/machine: device registration and the first-access warning
 * set shared by the dispatch code and the devices. */
#ifndef NVMX_MACHINE_PRIVATE_H
#define NVMX_MACHINE_PRIVATE_H

#include "nvmx/machine.h"

/* Standard I/O ports (QEMU's PC layout, so guests also run under QEMU/KVM). */
#define UART_COM1_BASE 0x3f8
#define DEBUGCON_PORT 0xe9
#define DEBUG_EXIT_PORT 0xf4
#define FW_CFG_PORT_SEL 0x510
#define FW_CFG_PORT_DATA 0x511

/* Each device allocates its own state and registers its ports; returns false
 * on allocation failure. Device state is freed by machine_devices_free(). */
bool uart_attach(struct machine *m, uint16_t base);
bool debug_ports_attach(struct machine *m);
bool fw_cfg_attach(struct machine *m);

/* Move a registered range (found by its read function and context) to
 * [first, last], or decode nothing with last < first. False, leaving it
 * where it was, when the new place overlaps another range. */
bool machine_mmio_place(struct machine *m, mmio_read_fn r, const void *ctx, uint64_t first,
                        uint64_t last);
bool machine_ports_place(struct machine *m, port_read_fn r, const void *ctx, uint16_t first,
                         uint16_t last);

/* Register memory owned by the machine and freed by machine_destroy(). */
bool machine_own(struct machine *m, void *p);

/* Warn once per distinct key (port number or physical address):
 * returns true the first time a key is seen. */
enum warn_kind { WARN_PORT, WARN_PHYS };
bool machine_warn_first(struct machine *m, enum warn_kind kind, uint64_t key);

bool lapic_attach(struct machine *m);
/* The standard PC interrupt controllers and the PCI host (always present). */
bool pic8259_attach(struct machine *m);
bool ioapic_attach(struct machine *m);
bool pci_attach(struct machine *m);
bool intc_attach(struct machine *m); /* all three, wired to the local APIC */
/* Optional devices (machine_add_device). */
bool pc_testdev_attach(struct machine *m);
bool pci_testdev_attach(struct machine *m);

/* The processor through its callback table (nvmx/machine.h): the modelled
 * cycle count (0 without a CPU), and "look at pending events now" (also
 * hands over an NMI the local APIC accepted). */
uint64_t machine_now(const struct machine *m);
void machine_cpu_attention(struct machine *m);


#endif
