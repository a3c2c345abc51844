/* Two cascaded 8259A programmable interrupt controllers, as on the PC: the
 * master at 0x20/0x21 takes IRQ 0-7 and the slave's INT on IR2, the slave
 * at 0xa0/0xa1 takes IRQ 8-15; the PIIX edge/level control registers
 * (ELCR) at 0x4d0/0x4d1 make single IRQs level-sensitive (Intel 8259A
 * datasheet: "Initialization Command Words", "Operation Command Words",
 * "The Special Fully Nested Mode" is not modelled; Intel 82371SB PIIX3
 * datasheet, "ELCR1/ELCR2"). 8086 mode only (ICW4 bit 0); MCS-80/85 call
 * addresses are not modelled.
 *
 * nvmx has no firmware, so the pair starts as a PC BIOS leaves it
 * (docs/memory-layout.md): initialised, vector bases 0x08 and 0x70, every
 * IRQ masked but the cascade (IRQ 2), edge-triggered, normal EOI. */
#include "irq.h"

#include <stdlib.h>

#define PIC_MASTER 0x20
#define PIC_SLAVE 0xa0
#define PIC_ELCR 0x4d0
#define CASCADE_IRQ 2

struct pic {
    uint8_t irr, isr, imr;
    uint8_t lines;     /* input levels */
    uint8_t elcr;      /* level-sensitive inputs (ELCR) */
    uint8_t elcr_mask; /* ELCR bits that exist */
    uint8_t vector_base;
    uint8_t priority_add; /* the input with the highest priority (rotation) */
    uint8_t icw3;
    uint8_t init_state;   /* 0: operating; 2, 3, 4: expecting ICW2, ICW3, ICW4 */
    bool icw4_needed, single, level_mode, auto_eoi, rotate_on_auto_eoi;
    bool special_mask, poll, read_isr;
};

struct pic8259 {
    struct pic p[2]; /* master, slave */
};

static void pic_reset_bios(struct pic *p, uint8_t base, uint8_t imr, uint8_t icw3)
{
    *p = (struct pic){ .vector_base = base, .imr = imr, .icw3 = icw3 };
}

/* The highest-priority bit set in mask, as an input number, or -1
 * (priority order starts at priority_add). */
static int priority(const struct pic *p, uint8_t mask)
{
    for (unsigned i = 0; i < 8; i++) {
        unsigned irq = (i + p->priority_add) & 7;
        if (mask >> irq & 1)
            return (int)irq;
    }
    return -1;
}

/* The input INTA would serve, or -1: highest pending unmasked request
 * above every in-service level; in special mask mode only the in-service
 * levels that are unmasked block (8259A "Special Mask Mode"). In the fully
 * nested mode an in-service slave (master IR2) holds back the slave's
 * further requests until the master's EOI. */
static int pic_pending(const struct pic *p)
{
    int req = priority(p, p->irr & ~p->imr);
    if (req < 0)
        return -1;
    uint8_t isr = p->special_mask ? p->isr & ~p->imr : p->isr;
    int cur = priority(p, isr);
    if (cur >= 0 && ((unsigned)(cur - p->priority_add) & 7) <= ((unsigned)(req - p->priority_add) & 7))
        return -1;
    return req;
}

/* An input edge or level: edge mode latches a rising edge in IRR;
 * level mode (ICW1.LTIM or the ELCR) follows the level. */
static void pic_input(struct pic *p, unsigned irq, bool level)
{
    uint8_t bit = (uint8_t)(1u << irq);
    bool was = p->lines & bit;
    if (level)
        p->lines |= bit;
    else
        p->lines &= (uint8_t)~bit;
    if (p->level_mode || (p->elcr & bit)) {
        if (level)
            p->irr |= bit;
        else
            p->irr &= (uint8_t)~bit;
    } else if (level && !was) {
        p->irr |= bit;
    }
}

static void update(struct machine *m)
{
    struct pic8259 *s = m->pic;
    /* The slave's INT drives the master's cascade input, as a level: the
     * request stands while the slave has one. */
    if (pic_pending(&s->p[1]) >= 0)
        s->p[0].irr |= 1u << CASCADE_IRQ;
    else
        s->p[0].irr &= (uint8_t)~(1u << CASCADE_IRQ);
    intc_pic_output(m, pic_pending(&s->p[0]) >= 0);
}

void pic8259_set_irq(struct machine *m, unsigned irq, bool level)
{
    if (!m->pic || irq >= 16 || irq == CASCADE_IRQ)
        return;
    pic_input(&m->pic->p[irq >> 3], irq & 7, level);
    update(m);
}

bool pic8259_intr(const struct machine *m)
{
    return m->pic && pic_pending(&m->pic->p[0]) >= 0;
}

/* 8259A "Interrupt Sequence": an INTA with no request answers the lowest
 * priority level (IR7) as a spurious interrupt, with no ISR bit set. */
static int vector_of(const struct pic8259 *s, int *slave_irq)
{
    int irq = pic_pending(&s->p[0]);
    *slave_irq = -1;
    if (irq < 0)
        return s->p[0].vector_base + 7;
    if (irq != CASCADE_IRQ)
        return s->p[0].vector_base + irq;
    *slave_irq = pic_pending(&s->p[1]);
    return s->p[1].vector_base + (*slave_irq < 0 ? 7 : *slave_irq);
}

int pic8259_peek(const struct machine *m)
{
    int slave_irq;
    return m->pic ? vector_of(m->pic, &slave_irq) : -1;
}

static void pic_ack(struct pic *p, int irq)
{
    uint8_t bit = (uint8_t)(1u << irq);
    if (p->auto_eoi) {
        if (p->rotate_on_auto_eoi)
            p->priority_add = (uint8_t)((irq + 1) & 7);
    } else {
        p->isr |= bit;
    }
    if (!(p->level_mode || (p->elcr & bit)))
        p->irr &= (uint8_t)~bit; /* edge: the request is consumed */
}

int pic8259_inta(struct machine *m)
{
    struct pic8259 *s = m->pic;
    if (!s)
        return -1;
    int slave_irq;
    int v = vector_of(s, &slave_irq);
    int irq = pic_pending(&s->p[0]);
    if (irq >= 0) {
        pic_ack(&s->p[0], irq);
        if (irq == CASCADE_IRQ && slave_irq >= 0)
            pic_ack(&s->p[1], slave_irq);
    }
    update(m);
    return v;
}

/* OCW2 (8259A "Operation Command Words", OCW2 R SL EOI bits 7:5). */
static void ocw2(struct pic *p, uint8_t v)
{
    unsigned cmd = v >> 5, level = v & 7;
    int irq;
    switch (cmd) {
    case 0: p->rotate_on_auto_eoi = false; break; /* rotate in AEOI mode (clear) */
    case 4: p->rotate_on_auto_eoi = true; break;  /* rotate in AEOI mode (set) */
    case 1: /* non-specific EOI */
    case 5: /* rotate on non-specific EOI */
        irq = priority(p, p->isr);
        if (irq < 0)
            break;
        p->isr &= (uint8_t)~(1u << irq);
        if (cmd == 5)
            p->priority_add = (uint8_t)((irq + 1) & 7);
        break;
    case 3: /* specific EOI */
        p->isr &= (uint8_t)~(1u << level);
        break;
    case 7: /* rotate on specific EOI */
        p->isr &= (uint8_t)~(1u << level);
        p->priority_add = (uint8_t)((level + 1) & 7);
        break;
    case 6: /* set priority: level becomes the lowest */
        p->priority_add = (uint8_t)((level + 1) & 7);
        break;
    default: break; /* 2: no operation */
    }
}

static void command_write(struct pic *p, uint8_t v)
{
    if (v & 0x10) { /* ICW1 */
        p->init_state = 2;
        p->icw4_needed = v & 1;
        p->single = v & 2;
        p->level_mode = v & 8;
        /* 8259A "Initialization Command Words": the edge sense circuit is
         * reset, the mask cleared, IR7 gets the lowest priority, special
         * mask mode is cleared and the status read is set to IRR. */
        p->irr = 0;
        p->isr = 0;
        p->imr = 0;
        p->priority_add = 0;
        p->special_mask = false;
        p->poll = false;
        p->read_isr = false;
        p->auto_eoi = false;
        p->rotate_on_auto_eoi = false;
        return;
    }
    if (v & 0x08) { /* OCW3 */
        if (v & 0x04)
            p->poll = true;
        if (v & 0x02)
            p->read_isr = v & 1;
        if (v & 0x40)
            p->special_mask = (v & 0x20) != 0;
        return;
    }
    ocw2(p, v);
}

static void data_write(struct pic *p, uint8_t v)
{
    switch (p->init_state) {
    case 2: /* ICW2: vector bits 7:3 */
        p->vector_base = v & 0xf8;
        p->init_state = p->single ? (p->icw4_needed ? 4 : 0) : 3;
        break;
    case 3: /* ICW3: slaves on the master's inputs / the slave's ID */
        p->icw3 = v;
        p->init_state = p->icw4_needed ? 4 : 0;
        break;
    case 4: /* ICW4: bit 1 AEOI (bit 0 uPM: 8086 mode assumed) */
        p->auto_eoi = v & 2;
        p->init_state = 0;
        break;
    default: /* OCW1 */
        p->imr = v;
        break;
    }
}

/* Poll command (OCW3 P): the read answers bit 7 = request, bits 2:0 the
 * highest-priority level, and acknowledges it as INTA would. */
static uint8_t poll_read(struct machine *m, unsigned which)
{
    struct pic *p = &m->pic->p[which];
    p->poll = false;
    int irq = pic_pending(p);
    if (irq < 0)
        return 0;
    pic_ack(p, irq);
    return (uint8_t)(0x80 | irq);
}

static uint32_t pic_port_read(void *ctx, uint16_t port, unsigned size)
{
    struct machine *m = ctx;
    unsigned which = port >= PIC_SLAVE;
    struct pic *p = &m->pic->p[which];
    uint8_t v;
    if (port & 1)
        v = p->imr;
    else if (p->poll) {
        v = poll_read(m, which);
        update(m);
    } else
        v = p->read_isr ? p->isr : p->irr;
    return v;
}

static void pic_port_write(void *ctx, uint16_t port, unsigned size, uint32_t val)
{
    struct machine *m = ctx;
    struct pic *p = &m->pic->p[port >= PIC_SLAVE];
    if (port & 1)
        data_write(p, (uint8_t)val);
    else
        command_write(p, (uint8_t)val);
    update(m);
    machine_cpu_attention(m);
}

static uint32_t elcr_read(void *ctx, uint16_t port, unsigned size)
{
    struct machine *m = ctx;
    uint32_t v = 0;
    for (unsigned i = 0; i < size && port + i <= PIC_ELCR + 1; i++)
        v |= (uint32_t)m->pic->p[port + i - PIC_ELCR].elcr << (8 * i);
    return v;
}

static void elcr_write(void *ctx, uint16_t port, unsigned size, uint32_t val)
{
    struct machine *m = ctx;
    for (unsigned i = 0; i < size && port + i <= PIC_ELCR + 1; i++) {
        struct pic *p = &m->pic->p[port + i - PIC_ELCR];
        p->elcr = (uint8_t)(val >> (8 * i)) & p->elcr_mask;
    }
    update(m);
    machine_cpu_attention(m);
}

bool pic8259_attach(struct machine *m)
{
    struct pic8259 *s = calloc(1, sizeof *s);
    if (!s || !machine_own(m, s))
        return false;
    pic_reset_bios(&s->p[0], 0x08, 0xfb, 1u << CASCADE_IRQ);
    pic_reset_bios(&s->p[1], 0x70, 0xff, CASCADE_IRQ);
    /* PIIX3 ELCR1/ELCR2: IRQ 0, 1, 2, 8 and 13 are edge-only */
    s->p[0].elcr_mask = 0xf8;
    s->p[1].elcr_mask = 0xde;
    m->pic = s;
    return machine_add_ports(m, PIC_MASTER, PIC_MASTER + 1, pic_port_read, pic_port_write, m) &&
           machine_add_ports(m, PIC_SLAVE, PIC_SLAVE + 1, pic_port_read, pic_port_write, m) &&
           machine_add_ports(m, PIC_ELCR, PIC_ELCR + 1, elcr_read, elcr_write, m);
}
