/* Interrupt routing of the PC: the IRQ lines to the 8259 pair and the I/O
 * APIC, the 8259's INTR to LINT0 of the local APIC, I/O APIC messages to
 * the local APIC and its EOIs back, and the processor's interrupt
 * acknowledge across all of them. */
#include "irq.h"

#include "nvmx/lapic.h"

void machine_irq_set(struct machine *m, unsigned line, bool level)
{
    if (line >= IOAPIC_PINS)
        return;
    if (line < 16)
        pic8259_set_irq(m, line, level);
    ioapic_set_irq(m, line, level);
    machine_cpu_attention(m);
}

void intc_pic_output(struct machine *m, bool level)
{
    if (m->lapic)
        lapic_set_lint0(m->lapic, level);
}

/* SDM 3A "Determining IPI Destination" (physical and logical destination
 * modes, the flat and cluster models of the DFR), for the 8-bit
 * destination of an I/O APIC redirection entry; 0xff is a broadcast. In
 * x2APIC mode a logical destination addresses cluster 0 (the 8-bit field
 * cannot name another). */
static bool dest_match(const struct lapic *l, const struct intc_msg *msg)
{
    if (msg->dest == 0xff)
        return true;
    if (!msg->logical)
        return l->x2apic ? l->id == msg->dest : (l->id & 0xff) == msg->dest;
    if (l->x2apic)
        return (l->ldr >> 16) == 0 && (msg->dest & l->ldr & 0xff);
    uint8_t logical_id = (uint8_t)(l->ldr >> 24);
    if ((l->dfr >> 28) == 0xf) /* flat model */
        return (msg->dest & logical_id) != 0;
    return (msg->dest >> 4) == (logical_id >> 4) && (msg->dest & logical_id & 0xf);
}

/* One local APIC: lowest priority is the fixed delivery to it. A
 * software-disabled APIC takes no fixed interrupts (SDM 3A "Spurious-
 * Interrupt Vector Register": it still responds to NMI, INIT and SMI).
 * SMI, ExtINT and the reserved delivery modes from an I/O APIC are not
 * modelled: the message is dropped (docs/memory-layout.md). */
bool intc_deliver(struct machine *m, const struct intc_msg *msg)
{
    struct lapic *l = m->lapic;
    if (!l || !dest_match(l, msg))
        return false;
    switch (msg->delivery_mode) {
    case 0:
    case 1:
        if (!(l->svr & LAPIC_SVR_ENABLE))
            return false;
        lapic_accept(l, msg->vector, msg->level);
        break;
    case 4: l->nmi_pending = true; break;
    case 5: lapic_signal_init(l); break;
    default: return false;
    }
    machine_cpu_attention(m);
    return true;
}

static void eoi_to_ioapic(void *ctx, uint8_t vector) { ioapic_eoi(ctx, vector); }

int machine_intr_peek(const struct machine *m)
{
    const struct lapic *l = m->lapic;
    if (!l)
        return -1;
    int v = lapic_pending_vector(l);
    if (v >= 0)
        return v;
    return lapic_extint_pending(l) ? pic8259_peek(m) : -1;
}

int machine_intr_ack(struct machine *m)
{
    struct lapic *l = m->lapic;
    if (!l)
        return -1;
    int v = lapic_pending_vector(l);
    if (v >= 0) {
        lapic_ack(l, v);
        return v;
    }
    return lapic_extint_pending(l) ? pic8259_inta(m) : -1;
}

/* The standard interrupt controllers and the PCI host, wired. */
bool intc_attach(struct machine *m)
{
    if (!pic8259_attach(m) || !ioapic_attach(m) || !pci_attach(m))
        return false;
    m->lapic->eoi_broadcast = eoi_to_ioapic;
    m->lapic->eoi_ctx = m;
    return true;
}
