/* The machine: guest RAM at physical address 0, port and MMIO range dispatch,
 * and the accounting of accesses that reach nothing (unclaimed ports,
 * unbacked physical addresses), which read all-ones and drop writes as on a
 * PC whose bus has no responder. */
#include "machine_private.h"

#include "nvmx/lapic.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WARN_PHYS_SLOTS 4096 /* distinct unbacked addresses remembered */
#define MACHINE_MAX_OWNED 16

struct warn_state {
    uint8_t port_seen[65536 / 8];
    uint64_t phys_seen[WARN_PHYS_SLOTS]; /* open addressing; key + 1, 0 = empty */
    unsigned nphys;
    bool phys_full_reported;
};

struct owned {
    void *p[MACHINE_MAX_OWNED];
    unsigned n;
};

static uint64_t all_ones(unsigned size)
{
    return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

struct machine *machine_create(uint64_t mem_size)
{
    struct machine *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->ram_size = mem_size;
    m->ram = calloc(1, mem_size ? mem_size : 1);
    m->warn_state = calloc(1, sizeof(struct warn_state));
    m->devices = calloc(1, sizeof(struct owned));
    if (!m->ram || !m->warn_state || !m->devices)
        goto fail;
    if (!uart_attach(m, UART_COM1_BASE) || !debug_ports_attach(m) || !fw_cfg_attach(m) ||
        !lapic_attach(m) || !intc_attach(m))
        goto fail;
    return m;
fail:
    machine_destroy(m);
    return NULL;
}

bool machine_output_ok(struct machine *m, FILE *f, enum machine_output which)
{
    if (!ferror(f))
        return true;
    if (!m->out_failed) {
        m->out_failed = which;
        m->out_errno = errno ? errno : EIO;
    }
    m->stop = MACHINE_HOST_ERROR;
    return false;
}

void machine_destroy(struct machine *m)
{
    if (!m)
        return;
    struct owned *o = m->devices;
    if (o) {
        for (unsigned i = 0; i < o->n; i++)
            free(o->p[i]);
        free(o);
    }
    free(m->warn_state);
    free(m->ram);
    free(m);
}

/* The xAPIC register page (SDM 3A "Local APIC Register Address Map"): 32-bit
 * registers on 16-byte boundaries; other sizes and offsets read 0 / drop. */
static uint64_t lapic_mmio_read(void *ctx, uint64_t pa, unsigned size)
{
    struct machine *m = ctx;
    uint32_t v = 0;
    unsigned off = (unsigned)(pa & 0xfff);
    if (!lapic_read(m->lapic, off & ~3u, machine_now(m), &v))
        v = 0;
    v >>= 8 * (off & 3);
    return size >= 4 ? v : v & ((1u << (8 * size)) - 1);
}

static void lapic_mmio_write(void *ctx, uint64_t pa, unsigned size, uint64_t val)
{
    struct machine *m = ctx;
    unsigned off = (unsigned)(pa & 0xfff);
    if (size != 4 || (off & 3))
        return; /* SDM 3A: registers are accessed with aligned 32-bit accesses */
    lapic_write(m->lapic, off, machine_now(m), m->cpu_ops ? m->cpu_ops->tsc_offset(m->cpu) : 0,
                (uint32_t)val);
    /* An ICR write (IPI, NMI, INIT, SIPI), EOI, TPR, SVR or a timer/LVT
     * change can make an event deliverable before the next instruction:
     * every register write ends the block. */
    machine_cpu_attention(m);
}

bool lapic_attach(struct machine *m)
{
    struct lapic *l = calloc(1, sizeof *l);
    if (!l || !machine_own(m, l))
        return false;
    lapic_reset(l, 0);
    m->lapic = l;
    return machine_add_mmio(m, LAPIC_DEFAULT_BASE, LAPIC_DEFAULT_BASE + 0xfff, lapic_mmio_read,
                            lapic_mmio_write, m);
}

static struct mmio_range *mmio_of(struct machine *m, mmio_read_fn r, const void *ctx)
{
    for (unsigned i = 0; i < m->nmmio; i++)
        if (m->mmio[i].read == r && m->mmio[i].ctx == ctx)
            return &m->mmio[i];
    return NULL;
}

bool machine_mmio_place(struct machine *m, mmio_read_fn r, const void *ctx, uint64_t first,
                        uint64_t last)
{
    struct mmio_range *mr = mmio_of(m, r, ctx);
    if (!mr)
        return false;
    if (last < first) {
        mr->first = 1; /* an empty range: decodes nothing */
        mr->last = 0;
        return true;
    }
    for (unsigned i = 0; i < m->nmmio; i++)
        if (&m->mmio[i] != mr && first <= m->mmio[i].last && m->mmio[i].first <= last)
            return false; /* over another device: left where it was */
    mr->first = first;
    mr->last = last;
    return true;
}

bool machine_ports_place(struct machine *m, port_read_fn r, const void *ctx, uint16_t first,
                         uint16_t last)
{
    struct port_range *pr = NULL;
    for (unsigned i = 0; i < m->nports; i++)
        if (m->ports[i].read == r && m->ports[i].ctx == ctx)
            pr = &m->ports[i];
    if (!pr)
        return false;
    if (last < first) {
        pr->first = 1;
        pr->last = 0;
        return true;
    }
    for (unsigned i = 0; i < m->nports; i++)
        if (&m->ports[i] != pr && first <= m->ports[i].last && m->ports[i].first <= last)
            return false;
    pr->first = first;
    pr->last = last;
    return true;
}

/* SDM 3A "Relocating the Local APIC Registers", "Local APIC Status and
 * Location": the xAPIC page follows IA32_APIC_BASE; a disabled APIC, or
 * one in x2APIC mode, decodes no MMIO page (the range becomes empty). */
bool machine_lapic_map(struct machine *m, uint64_t base, bool decode)
{
    return decode ? machine_mmio_place(m, lapic_mmio_read, m, base, base + 0xfff)
                  : machine_mmio_place(m, lapic_mmio_read, m, 1, 0);
}

uint64_t machine_now(const struct machine *m)
{
    return m->cpu_ops ? m->cpu_ops->now(m->cpu) : 0;
}

/* Hand an NMI the local APIC accepted to the processor, and make it look at
 * pending events before its next instruction. */
void machine_cpu_attention(struct machine *m)
{
    if (!m->cpu_ops)
        return;
    if (m->lapic && m->lapic->nmi_pending) {
        m->lapic->nmi_pending = false;
        m->cpu_ops->raise_nmi(m->cpu);
    }
    m->cpu_ops->end_block(m->cpu);
}

bool machine_errorf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return false;
}

bool machine_own(struct machine *m, void *p)
{
    struct owned *o = m->devices;
    if (!p || o->n >= MACHINE_MAX_OWNED) {
        free(p);
        return false;
    }
    o->p[o->n++] = p;
    return true;
}

bool machine_add_ports(struct machine *m, uint16_t first, uint16_t last, port_read_fn r,
                       port_write_fn w, void *ctx)
{
    if (last < first || m->nports >= MACHINE_MAX_PORT_RANGES)
        return false;
    for (unsigned i = 0; i < m->nports; i++)
        if (first <= m->ports[i].last && m->ports[i].first <= last)
            return false; /* overlapping claim */
    m->ports[m->nports++] = (struct port_range){ first, last, r, w, ctx };
    return true;
}

bool machine_add_mmio(struct machine *m, uint64_t first, uint64_t last, mmio_read_fn r,
                      mmio_write_fn w, void *ctx)
{
    if (last < first || m->nmmio >= MACHINE_MAX_MMIO_RANGES)
        return false;
    for (unsigned i = 0; i < m->nmmio; i++)
        if (first <= m->mmio[i].last && m->mmio[i].first <= last)
            return false;
    m->mmio[m->nmmio++] = (struct mmio_range){ first, last, r, w, ctx };
    return true;
}

bool machine_warn_first(struct machine *m, enum warn_kind kind, uint64_t key)
{
    struct warn_state *ws = m->warn_state;
    if (kind == WARN_PORT) {
        uint16_t p = (uint16_t)key;
        uint8_t bit = (uint8_t)(1u << (p & 7));
        if (ws->port_seen[p >> 3] & bit)
            return false;
        ws->port_seen[p >> 3] |= bit;
        return true;
    }
    uint64_t h = (key * 0x9e3779b97f4a7c15ull) >> 52; /* 12 bits */
    for (unsigned n = 0; n < WARN_PHYS_SLOTS; n++) {
        uint64_t *slot = &ws->phys_seen[(h + n) % WARN_PHYS_SLOTS];
        if (*slot == key + 1)
            return false;
        if (*slot == 0) {
            if (ws->nphys >= WARN_PHYS_SLOTS / 2)
                break;
            *slot = key + 1;
            ws->nphys++;
            return true;
        }
    }
    if (!ws->phys_full_reported && !m->quiet)
        fprintf(stderr, "nvmx: warning: too many distinct unbacked addresses; "
                        "further ones are counted but not reported\n");
    ws->phys_full_reported = true;
    return false;
}

static const struct port_range *find_port(const struct machine *m, uint16_t port)
{
    for (unsigned i = 0; i < m->nports; i++)
        if (port >= m->ports[i].first && port <= m->ports[i].last)
            return &m->ports[i];
    return NULL;
}

static const struct mmio_range *find_mmio(const struct machine *m, uint64_t pa)
{
    for (unsigned i = 0; i < m->nmmio; i++)
        if (pa >= m->mmio[i].first && pa <= m->mmio[i].last)
            return &m->mmio[i];
    return NULL;
}

uint32_t machine_io_in(struct machine *m, uint16_t port, unsigned size)
{
    const struct port_range *r = find_port(m, port);
    if (r && r->read)
        return r->read(r->ctx, port, size) & (uint32_t)all_ones(size);
    if (r)
        return (uint32_t)all_ones(size); /* write-only device */
    m->stats.unclaimed_port_reads++;
    if (machine_warn_first(m, WARN_PORT, port) && !m->quiet)
        fprintf(stderr, "nvmx: warning: read of unclaimed I/O port 0x%04x (size %u) "
                        "returns all-ones\n", port, size);
    return (uint32_t)all_ones(size);
}

void machine_io_out(struct machine *m, uint16_t port, unsigned size, uint32_t val)
{
    const struct port_range *r = find_port(m, port);
    if (r) {
        if (r->write)
            r->write(r->ctx, port, size, val & (uint32_t)all_ones(size));
        return;
    }
    m->stats.unclaimed_port_writes++;
    if (machine_warn_first(m, WARN_PORT, port) && !m->quiet)
        fprintf(stderr, "nvmx: warning: write of 0x%x to unclaimed I/O port 0x%04x "
                        "(size %u) ignored\n", val, port, size);
}

uint64_t machine_mmio_read(struct machine *m, uint64_t pa, unsigned size)
{
    const struct mmio_range *r = find_mmio(m, pa);
    if (r && r->read)
        return r->read(r->ctx, pa, size) & all_ones(size);
    if (r)
        return all_ones(size);
    m->stats.unbacked_reads++;
    if (machine_warn_first(m, WARN_PHYS, pa) && !m->quiet)
        fprintf(stderr, "nvmx: warning: read of unbacked physical address 0x%llx "
                        "(size %u) returns all-ones\n", (unsigned long long)pa, size);
    return all_ones(size);
}

void machine_mmio_write(struct machine *m, uint64_t pa, unsigned size, uint64_t val)
{
    const struct mmio_range *r = find_mmio(m, pa);
    if (r) {
        if (r->write)
            r->write(r->ctx, pa, size, val & all_ones(size));
        return;
    }
    m->stats.unbacked_writes++;
    if (machine_warn_first(m, WARN_PHYS, pa) && !m->quiet)
        fprintf(stderr, "nvmx: warning: write to unbacked physical address 0x%llx "
                        "(size %u) ignored\n", (unsigned long long)pa, size);
}
