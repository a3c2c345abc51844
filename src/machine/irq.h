/* Private to src/machine: the interrupt controllers behind the ISA/PCI
 * IRQ lines (src/machine/intc.c wires them): the 8259A pair, the I/O APIC,
 * and what they send to the local APIC. */
#ifndef NVMX_MACHINE_IRQ_H
#define NVMX_MACHINE_IRQ_H

#include "machine_private.h"

#define IOAPIC_BASE 0xfec00000ull
#define IOAPIC_PINS 24

/* An input pin of the I/O APIC / an IRQ input of the 8259 pair is driven
 * to level (1 = asserted). */
void ioapic_set_irq(struct machine *m, unsigned pin, bool level);
void pic8259_set_irq(struct machine *m, unsigned irq, bool level);
/* The local APIC's EOI broadcast for a level-triggered vector (SDM 3A
 * "EOI Register"): remote IRR clears in every entry with that vector. */
void ioapic_eoi(struct machine *m, uint8_t vector);

/* The 8259 pair as the processor's interrupt acknowledge sees it: the
 * vector INTA would return (-1: INTR not asserted), and the INTA cycle
 * itself (ISR bit set unless auto-EOI, edge IRR bit cleared). */
bool pic8259_intr(const struct machine *m);
int pic8259_peek(const struct machine *m);
int pic8259_inta(struct machine *m);

/* An interrupt message to the local APIC (SDM 3A "Message Signalled
 * Interrupts"-style fields of an I/O APIC redirection entry): delivery
 * mode, vector, trigger mode, destination mode and destination. */
struct intc_msg {
    uint8_t vector;
    uint8_t delivery_mode; /* 0 fixed, 1 lowest priority, 2 SMI, 4 NMI, 5 INIT, 7 ExtINT */
    bool level;
    bool logical;
    uint8_t dest;
};
/* Delivered to the local APIC when the destination names it; true when
 * it accepted the message. */
bool intc_deliver(struct machine *m, const struct intc_msg *msg);
/* The 8259's INTR output changed: LINT0 of the local APIC follows it. */
void intc_pic_output(struct machine *m, bool level);

#endif
