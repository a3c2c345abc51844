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

/* Register memory owned by the machine and freed by machine_destroy(). */
bool machine_own(struct machine *m, void *p);

/* Warn once per distinct key (port number or physical address):
 * returns true the first time a key is seen. */
enum warn_kind { WARN_PORT, WARN_PHYS };
bool machine_warn_first(struct machine *m, enum warn_kind kind, uint64_t key);

bool lapic_attach(struct machine *m);


#endif
