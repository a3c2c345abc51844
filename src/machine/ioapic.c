/* The I/O APIC at 0xfec00000: 24 input pins, each with a 64-bit
 * redirection entry that turns it into a message to the local APICs
 * (Intel 82093AA I/O APIC datasheet, 3.0 "Register Description"; SDM 3A
 * "Advanced Programmable Interrupt Controller (APIC)", "Local Vector
 * Table" for the fields the messages carry). Version 0x11 with 24 entries,
 * as KVM and QEMU present it.
 *
 * The input pins take the asserted / deasserted state their sources drive
 * (QEMU's and KVM's convention, so suites written for them behave the
 * same): the polarity bit is kept and read back but does not invert the
 * input. Edge-triggered pins deliver on a deasserted-to-asserted change
 * while unmasked (a masked edge is lost); level-triggered pins deliver
 * while asserted, unmasked and remote IRR clear, set remote IRR, and
 * deliver again after the local APIC's EOI when still asserted. */
#include "irq.h"

#include <stdlib.h>

#define IOREGSEL 0x00
#define IOWIN 0x10
#define IOAPIC_ID 0x00
#define IOAPIC_VER 0x01
#define IOAPIC_ARB 0x02
#define IOAPIC_REDTBL 0x10
#define IOAPIC_VERSION ((uint32_t)(IOAPIC_PINS - 1) << 16 | 0x11)

/* redirection entry bits (82093AA 3.2.4 "IOREDTBL[23:0]") */
#define RTE_VECTOR 0xffull
#define RTE_DELMODE_SHIFT 8
#define RTE_DESTMODE (1ull << 11)
#define RTE_DELIVS (1ull << 12)
#define RTE_POLARITY (1ull << 13)
#define RTE_REMOTE_IRR (1ull << 14)
#define RTE_TRIGGER_LEVEL (1ull << 15)
#define RTE_MASK (1ull << 16)
#define RTE_DEST_SHIFT 56
/* software writes vector, delivery mode, destination mode, polarity,
 * trigger mode, mask and destination; delivery status and remote IRR are
 * read-only, bits 55:17 reserved */
#define RTE_WRITABLE (0xff00000000000000ull | 0x1afffull)

struct ioapic {
    uint32_t ioregsel;
    uint32_t id; /* bits 27:24 of the ID register */
    uint64_t rte[IOAPIC_PINS];
    uint32_t pins; /* input levels */
};

static void deliver(struct machine *m, unsigned pin)
{
    struct ioapic *io = m->ioapic;
    uint64_t e = io->rte[pin];
    struct intc_msg msg = {
        .vector = (uint8_t)(e & RTE_VECTOR),
        .delivery_mode = (uint8_t)((e >> RTE_DELMODE_SHIFT) & 7),
        .level = (e & RTE_TRIGGER_LEVEL) != 0,
        .logical = (e & RTE_DESTMODE) != 0,
        .dest = (uint8_t)(e >> RTE_DEST_SHIFT),
    };
    bool accepted = intc_deliver(m, &msg);
    /* Remote IRR: set when a local APIC accepts a level interrupt, cleared
     * by its EOI (82093AA 3.2.4, bit 14). */
    if (accepted && msg.level && (msg.delivery_mode == 0 || msg.delivery_mode == 1))
        io->rte[pin] |= RTE_REMOTE_IRR;
}

/* A level-triggered pin that is asserted, unmasked and not awaiting EOI. */
static void level_check(struct machine *m, unsigned pin)
{
    const struct ioapic *io = m->ioapic;
    uint64_t e = io->rte[pin];
    if ((e & RTE_TRIGGER_LEVEL) && !(e & (RTE_MASK | RTE_REMOTE_IRR)) && (io->pins >> pin & 1))
        deliver(m, pin);
}

void ioapic_set_irq(struct machine *m, unsigned pin, bool level)
{
    struct ioapic *io = m->ioapic;
    if (!io || pin >= IOAPIC_PINS)
        return;
    bool was = io->pins >> pin & 1;
    io->pins = level ? io->pins | 1u << pin : io->pins & ~(1u << pin);
    uint64_t e = io->rte[pin];
    if (e & RTE_TRIGGER_LEVEL)
        level_check(m, pin);
    else if (level && !was && !(e & RTE_MASK))
        deliver(m, pin);
}

void ioapic_eoi(struct machine *m, uint8_t vector)
{
    struct ioapic *io = m->ioapic;
    if (!io)
        return;
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
        if ((io->rte[pin] & RTE_VECTOR) != vector || !(io->rte[pin] & RTE_REMOTE_IRR))
            continue;
        io->rte[pin] &= ~RTE_REMOTE_IRR;
        level_check(m, pin);
    }
}

static uint32_t reg_read(const struct ioapic *io)
{
    unsigned r = io->ioregsel & 0xff;
    switch (r) {
    case IOAPIC_ID:
    case IOAPIC_ARB: /* the arbitration ID is loaded from the ID (82093AA 3.2.3) */
        return io->id;
    case IOAPIC_VER:
        return IOAPIC_VERSION;
    default:
        if (r >= IOAPIC_REDTBL && r < IOAPIC_REDTBL + 2 * IOAPIC_PINS) {
            uint64_t e = io->rte[(r - IOAPIC_REDTBL) / 2];
            return (r & 1) ? (uint32_t)(e >> 32) : (uint32_t)e;
        }
        return 0xffffffffu; /* no register: all-ones, as KVM's I/O APIC */
    }
}

static void reg_write(struct machine *m, uint32_t v)
{
    struct ioapic *io = m->ioapic;
    unsigned r = io->ioregsel & 0xff;
    if (r == IOAPIC_ID) {
        io->id = v & 0x0f000000u; /* bits 27:24; the rest reserved */
        return;
    }
    if (r < IOAPIC_REDTBL || r >= IOAPIC_REDTBL + 2 * IOAPIC_PINS)
        return; /* version, arbitration and absent registers are read-only */
    unsigned pin = (r - IOAPIC_REDTBL) / 2;
    uint64_t e = io->rte[pin];
    uint64_t nv = (r & 1) ? (e & 0xffffffffull) | (uint64_t)v << 32
                          : (e & ~0xffffffffull) | v;
    e = (e & ~RTE_WRITABLE) | (nv & RTE_WRITABLE);
    if (!(e & RTE_TRIGGER_LEVEL))
        e &= ~RTE_REMOTE_IRR; /* remote IRR is defined for level entries only */
    io->rte[pin] = e;
    /* An unmasked level entry whose pin is asserted delivers now. */
    level_check(m, pin);
}

/* IOREGSEL (any size, bits 7:0 kept) and IOWIN (32-bit) (82093AA 3.1
 * "Memory Mapped Registers for Accessing IOAPIC Registers"); other
 * offsets read 0 and drop writes. */
static uint64_t ioapic_mmio_read(void *ctx, uint64_t pa, unsigned size)
{
    struct machine *m = ctx;
    unsigned off = (unsigned)(pa - IOAPIC_BASE);
    if (off == IOREGSEL)
        return m->ioapic->ioregsel;
    if (off == IOWIN && size == 4)
        return reg_read(m->ioapic);
    return 0;
}

static void ioapic_mmio_write(void *ctx, uint64_t pa, unsigned size, uint64_t val)
{
    struct machine *m = ctx;
    unsigned off = (unsigned)(pa - IOAPIC_BASE);
    if (off == IOREGSEL)
        m->ioapic->ioregsel = (uint32_t)val & 0xff;
    else if (off == IOWIN && size == 4) {
        reg_write(m, (uint32_t)val);
        machine_cpu_attention(m);
    }
}

bool ioapic_attach(struct machine *m)
{
    struct ioapic *io = calloc(1, sizeof *io);
    if (!io || !machine_own(m, io))
        return false;
    /* 82093AA 3.2.4: the mask bit is set after reset. The ID is 1, the one
     * the MP table gives it (loader_mptable.c), as firmware assigns it
     * after the processors' APIC IDs. */
    for (unsigned i = 0; i < IOAPIC_PINS; i++)
        io->rte[i] = RTE_MASK;
    io->id = 1u << 24;
    m->ioapic = io;
    return machine_add_mmio(m, IOAPIC_BASE, IOAPIC_BASE + 0xfff, ioapic_mmio_read,
                            ioapic_mmio_write, m);
}
