/* The debug registers' breakpoints (SDM 3B "Debug Registers", "Debug
 * Exceptions"): which of DR0-DR3 DR7 arms, matching an access against them,
 * and keeping the software TLB from hiding an armed page. The run loop
 * (core.c) raises instruction-breakpoint faults and delivers the traps
 * recorded here. */
#include "breakpoint.h"
#include "nvmx/cpu_debug.h"

static const uint8_t len_bytes[4] = {
#define DR7_LEN(enc, bytes) [enc] = (bytes),
#include "nvmx/dr7.def"
#undef DR7_LEN
};

unsigned bp_len_bytes(unsigned len_field) { return len_bytes[len_field & 3]; }

/* SDM 3B "Debug Control Register (DR7)": a breakpoint is enabled by Ln or
 * Gn. "Breakpoint Field Recognition": data and I/O ranges are aligned by
 * masking the low address bits with LENn. An instruction breakpoint must
 * have LENn = 00; with another LENn the SDM leaves the result undefined and
 * nvmx matches the first byte at DRn alone. */
void bp_arm(struct cpu_breakpoints *bp, const uint64_t dr[8])
{
    uint64_t dr7 = dr[7];
    uint64_t hits = bp->hits;

    memset(bp, 0, sizeof *bp);
    bp->hits = hits;
    for (unsigned n = 0; n < 4; n++) {
        if (!(dr7 & DR7_LG(n)))
            continue;
        unsigned rw = DR7_RW_OF(dr7, n);
        unsigned len = rw == DR7_RW_EXEC ? 1 : bp_len_bytes(DR7_LEN_OF(dr7, n));
        bp->len[n] = (uint8_t)len;
        bp->addr[n] = dr[n] & ~(uint64_t)(len - 1);
        switch (rw) {
        case DR7_RW_EXEC: bp->insn |= 1u << n; break;
        case DR7_RW_WRITE: bp->data |= 1u << n; bp->write_only |= 1u << n; break;
        case DR7_RW_IO: bp->io |= 1u << n; break;
        case DR7_RW_RW: bp->data |= 1u << n; break;
        }
    }
}

/* SDM 3B "Breakpoint Field Recognition": "A data breakpoint for reading or
 * writing data is triggered if any of the bytes participating in an access
 * is within the range defined by a breakpoint address register and its
 * LENn field." */
uint64_t bp_match(const struct cpu_breakpoints *bp, unsigned mask, uint64_t addr, unsigned size)
{
    uint64_t bits = 0;
    uint64_t last = addr + size - 1;
    for (unsigned n = 0; mask; mask >>= 1, n++)
        if ((mask & 1) && addr <= bp->addr[n] + bp->len[n] - 1 && bp->addr[n] <= last)
            bits |= 1ull << n;
    return bits;
}

/* Drop the software-TLB entries of the page of lin in every context. */
static void forget_page(struct cpu *c, uint64_t lin)
{
    unsigned i = (unsigned)(lin >> 12) & (TLB_SIZE - 1);
    uint64_t tag = (lin >> 12) + 1;
    for (unsigned k = 0; k < TLB_CONTEXTS; k++)
        for (int u = 0; u < 2; u++) {
            if (c->tlb_sets[k].r[u][i].tag == tag)
                c->tlb_sets[k].r[u][i].tag = 0;
            if (c->tlb_sets[k].w[u][i].tag == tag)
                c->tlb_sets[k].w[u][i].tag = 0;
        }
}

void cpu_debug_regs_changed(struct cpu *c)
{
    struct cpu_breakpoints old = c->bp;
    bp_arm(&c->bp, c->dr);
    /* The pages of newly armed data breakpoints leave the software TLB
     * (translate() will not cache them while armed); disarmed pages come
     * back on their next miss. The modelled TLB is not touched. */
    for (unsigned n = 0; n < 4; n++)
        if ((c->bp.data >> n) & 1)
            forget_page(c, c->bp.addr[n]);
    if (old.insn != c->bp.insn || old.data != c->bp.data)
        c->recheck = true;
}

static void watch_access(struct cpu *c, uint64_t lin, unsigned size, bool write);

void bp_data_access(struct cpu *c, uint64_t lin, unsigned size, bool write)
{
    unsigned mask = write ? c->bp.data : (unsigned)(c->bp.data & ~c->bp.write_only);
    uint64_t bits = bp_match(&c->bp, mask, lin, size);
    if (bits) {
        c->bp.hits |= bits;
        c->end_block = true; /* the trap follows this instruction */
    }
    if (unlikely(c->watch.armed))
        watch_access(c, lin, size, write);
}

/* ---- the debugger's watchpoints (include/nvmx/cpu_debug.h) ---------------- */

/* Recorded as the traps are, on the same accesses; never delivered. */
static void watch_access(struct cpu *c, uint64_t lin, unsigned size, bool write)
{
    uint64_t last = lin + size - 1;
    unsigned kinds = write ? c->watch.write : c->watch.read;
    for (unsigned n = 0; n < CPU_DEBUG_WATCHES; n++)
        if (((kinds >> n) & 1) && lin <= c->watch.addr[n] + c->watch.len[n] - 1 &&
            c->watch.addr[n] <= last) {
            c->watch.hits |= (uint8_t)(1u << n);
            c->end_block = true;
        }
}

void cpu_debug_watch_set(struct cpu *c, unsigned slot, uint64_t lin, unsigned len,
                         unsigned kinds)
{
    if (slot >= CPU_DEBUG_WATCHES)
        return;
    uint8_t bit = (uint8_t)(1u << slot);
    c->watch.armed &= (uint8_t)~bit;
    c->watch.read &= (uint8_t)~bit;
    c->watch.write &= (uint8_t)~bit;
    c->watch.hits &= (uint8_t)~bit;
    if (!kinds || !len)
        return;
    c->watch.addr[slot] = lin;
    c->watch.len[slot] = (uint8_t)(len > 8 ? 8 : len);
    c->watch.armed |= bit;
    if (kinds & CPU_WATCH_READ)
        c->watch.read |= bit;
    if (kinds & CPU_WATCH_WRITE)
        c->watch.write |= bit;
    /* the watched pages leave the software TLB, as for a data breakpoint */
    forget_page(c, lin);
    forget_page(c, lin + c->watch.len[slot] - 1);
    c->recheck = true;
}

unsigned cpu_debug_watch_hits(struct cpu *c)
{
    unsigned hits = c->watch.hits;
    c->watch.hits = 0;
    return hits;
}

/* SDM 3B "Debug Control Register (DR7)": R/W = 10 breaks on I/O reads or
 * writes when CR4.DE = 1 (undefined, and never armed, otherwise). */
void bp_io_access(struct cpu *c, uint16_t port, unsigned size)
{
    if (!(c->cr4 & CR4_DE))
        return;
    uint64_t bits = bp_match(&c->bp, c->bp.io, port, size);
    if (bits) {
        c->bp.hits |= bits;
        c->end_block = true;
    }
}
