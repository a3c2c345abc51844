/* Memory access from the CPU: segmentation checks, the software TLB in front
 * of paging_translate(), and physical access to RAM or MMIO. Writes to pages
 * that hold predecoded code go the slow way so the block cache stays
 * coherent (self-modifying code). */
#include "breakpoint.h"

static inline unsigned tlb_index(uint64_t lin) { return (unsigned)(lin >> 12) & (TLB_SIZE - 1); }
static inline uint64_t tlb_tag(uint64_t lin) { return (lin >> 12) + 1; }

static inline uint64_t host_load(const uint8_t *p, unsigned size)
{
    switch (size) {
    case 1: return *p;
    case 2: { uint16_t v; memcpy(&v, p, 2); return v; }
    case 4: { uint32_t v; memcpy(&v, p, 4); return v; }
    default: { uint64_t v; memcpy(&v, p, 8); return v; }
    }
}

static inline void host_store(uint8_t *p, unsigned size, uint64_t v)
{
    switch (size) {
    case 1: *p = (uint8_t)v; break;
    case 2: { uint16_t x = (uint16_t)v; memcpy(p, &x, 2); break; }
    case 4: { uint32_t x = (uint32_t)v; memcpy(p, &x, 4); break; }
    default: memcpy(p, &v, 8); break;
    }
}

/* ---- TLB ------------------------------------------------------------------ */

static bool translate(struct cpu *c, uint64_t lin, unsigned acc, uint64_t *pa);

void cpu_tlb_prefill(struct cpu *c, uint64_t lin, bool write)
{
    uint64_t pa;
    (void)translate(c, lin, ACC_R | ACC_NOFAULT, &pa);
    if (write)
        (void)translate(c, lin, ACC_W | ACC_NOFAULT, &pa);
}

static inline int acc_user(const struct cpu *c, unsigned acc)
{
    return !(acc & ACC_SYS) && c->cpl == 3;
}

/* The data TLB half an access uses: the CPL's (tlb_rd/tlb_wr, empty while
 * alignment checking is on), or the supervisor one for implicit
 * supervisor accesses. */
static inline const struct tlb_entry *tlb_rd_for(const struct cpu *c, unsigned acc)
{
    return (acc & ACC_SYS) ? c->tlb_r[0] : c->tlb_rd;
}
static inline const struct tlb_entry *tlb_wr_for(const struct cpu *c, unsigned acc)
{
    return (acc & ACC_SYS) ? c->tlb_w[0] : c->tlb_wr;
}

void cpu_alignment_update(struct cpu *c)
{
    int u = c->cpl == 3;
    c->ac_active = u && (c->cr0 & CR0_AM) && (c->rflags & FL_AC);
    c->tlb_rd = c->ac_active ? c->tlb_none : c->tlb_r[u];
    c->tlb_wr = c->ac_active ? c->tlb_none : c->tlb_w[u];
}

/* SDM 3A "Interrupt 17 -- Alignment Check Exception (#AC)": a CPL-3 data
 * reference of 2, 4 or 8 bytes at an address not a multiple of its size is
 * #AC(0) (SDM 3A Table "Alignment Requirements by Data Type": word 2,
 * doubleword 4, quadword 8; a far pointer's offset and selector are
 * checked one by one, which gives its 2 (m16:16), 4 (m16:32) and 8
 * (m16:64) requirement). Implicit supervisor accesses (ACC_SYS:
 * descriptor tables, the TSS, event-delivery stacks at CPL 0) are exempt.
 * Returns the user TLB entry that may serve the access once checked. */
static const struct tlb_entry *alignment_check(struct cpu *c, uint64_t lin, unsigned size,
                                               const struct tlb_entry *half)
{
    if ((size == 2 || size == 4 || size == 8) && (lin & (size - 1)))
        cpu_fault_err(c, EXC_AC, 0);
    const struct tlb_entry *e = &half[tlb_index(lin)];
    return e->tag == tlb_tag(lin) && ((lin & 0xfff) + size) <= 0x1000 ? e : NULL;
}

/* Translate one access that lies within a page. Returns false only with
 * ACC_NOFAULT. Fills the TLB for RAM pages when paging allows it. */
static bool translate(struct cpu *c, uint64_t lin, unsigned acc, uint64_t *pa)
{
    bool tlb_ok = true;
    /* The modelled TLB decides what the walk costs (tlb_model.c): a hit
     * gives back the cycles the walk charged. */
    uint64_t cycles = c->cycles, refs = c->stats.walk_refs + c->stats.ept_refs;
    unsigned hit = c->tlbm ? tlb_model_lookup(c, lin) : 0;
    c->xlate_page_size = UINT64_MAX;
    /* a walk the modelled TLB missed: the paging-structure caches apply */
    c->xlate_psc = c->psc && !hit;
    bool ok = true;
    if (c->cr0 & CR0_PG) {
        ok = paging_translate(c, lin, acc, pa, &tlb_ok);
    } else {
        *pa = cpu_long_active(c) ? lin : (lin & 0xffffffffull);
        ok = !cpu_ept_active(c) || cpu_ept_translate_unpaged(c, lin, acc, pa);
    }
    c->xlate_psc = false;
    if (!ok)
        return false;
    c->stats.tlb_misses++;
    if (c->tlbm && hit) {
        c->cycles = cycles + (hit == 2 ? c->cost->cycles[COST_tlb_miss] : 0);
        if (hit == 1)
            c->stats.tlbm_l1_hits++;
        else
            c->stats.tlbm_l2_hits++;
    } else {
        c->cycles += c->cost->cycles[COST_tlb_miss];
        if (c->tlbm) {
            c->stats.tlbm_misses++;
            c->stats.tlbm_walk_refs += c->stats.walk_refs + c->stats.ept_refs - refs;
            tlb_model_fill(c, lin, c->xlate_page_size == UINT64_MAX ? 4096 : c->xlate_page_size);
        }
    }
    uint64_t pfn = *pa >> 12;
    uint8_t *host = machine_ram_ptr(c->m, pfn << 12, 4096);
    if (!tlb_ok || !host)
        return true;
    /* A page with an armed data breakpoint is never cached for data, so
     * that every access to it is matched (read_lin_slow, write_lin_slow). */
    if (unlikely(c->bp.data | c->watch.armed) && !(acc & ACC_X) && bp_page_armed(c, lin))
        return true;
    int u = acc_user(c, acc);
    unsigned i = tlb_index(lin);
    struct tlb_entry *e;
    if (acc & ACC_W) {
        if (block_page_has_code(c, pfn))
            return true;
        e = &c->tlb_w[u][i];
    } else if (acc & ACC_X) {
        e = &c->tlb_x[u][i];
    } else {
        e = &c->tlb_r[u][i];
    }
    e->tag = tlb_tag(lin);
    e->addend = (intptr_t)host - (intptr_t)(lin & ~0xfffull);
    struct tlb_context *x = &c->tlb_ctx[c->tlb_cur];
    if (x->nfilled < TLB_FILL_LOG)
        x->filled[x->nfilled] = (uint16_t)(e - &c->tlb_sets[c->tlb_cur].r[0][0]);
    if (x->nfilled <= TLB_FILL_LOG)
        x->nfilled++;
    return true;
}

/* ---- physical ------------------------------------------------------------- */

uint64_t cpu_read_phys(struct cpu *c, uint64_t pa, unsigned size)
{
    uint8_t *p = machine_ram_ptr(c->m, pa, size);
    if (p)
        return host_load(p, size);
    c->recheck = true; /* a device may have changed what the run loop watches */
    return machine_mmio_read(c->m, pa, size) & size_mask(size);
}

void cpu_write_phys(struct cpu *c, uint64_t pa, unsigned size, uint64_t val)
{
    uint8_t *p = machine_ram_ptr(c->m, pa, size);
    if (!p) {
        c->recheck = true; /* a device may have changed what the run loop watches */
        machine_mmio_write(c->m, pa, size, val);
        return;
    }
    host_store(p, size, val);
    uint64_t first = pa >> 12, last = (pa + size - 1) >> 12;
    for (uint64_t pfn = first; pfn <= last; pfn++)
        if (block_page_has_code(c, pfn)) {
            block_invalidate_page(c, pfn);
            c->end_block = true; /* the rest of this block may be stale */
        }
}

void cpu_phys_written(struct cpu *c, uint64_t pa, uint64_t len)
{
    if (!len)
        return;
    for (uint64_t pfn = pa >> 12; pfn <= (pa + len - 1) >> 12; pfn++)
        if (block_page_has_code(c, pfn))
            block_invalidate_page(c, pfn);
}

/* ---- linear --------------------------------------------------------------- */

static uint64_t read_lin_split(struct cpu *c, uint64_t lin, unsigned size, unsigned acc)
{
    uint64_t pa;
    /* Split access: translate both pages before touching either. */
    unsigned n1 = 0x1000 - (unsigned)(lin & 0xfff);
    uint64_t pa2;
    translate(c, lin, acc, &pa);
    translate(c, lin + n1, acc, &pa2);
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++) {
        uint64_t b = cpu_read_phys(c, i < n1 ? pa + i : pa2 + (i - n1), 1);
        v |= b << (8 * i);
    }
    return v;
}

/* SDM 3B "Debug Exceptions": data breakpoints are traps, recorded once the
 * access has completed. */
static uint64_t read_lin_slow(struct cpu *c, uint64_t lin, unsigned size, unsigned acc)
{
    uint64_t pa, v;
    if (unlikely(c->ac_active) && !(acc & ACC_SYS)) {
        const struct tlb_entry *e = alignment_check(c, lin, size, c->tlb_r[1]);
        if (e)
            return host_load((const uint8_t *)(lin + e->addend), size);
    }
    if (((lin & 0xfff) + size) <= 0x1000) {
        translate(c, lin, acc, &pa);
        v = cpu_read_phys(c, pa, size);
    } else {
        v = read_lin_split(c, lin, size, acc);
    }
    if (unlikely(c->bp.data | c->watch.armed))
        bp_data_access(c, lin, size, false);
    return v;
}

uint64_t cpu_read_lin(struct cpu *c, uint64_t lin, unsigned size, unsigned acc)
{
    const struct tlb_entry *e = &tlb_rd_for(c, acc)[tlb_index(lin)];
    if (likely(e->tag == tlb_tag(lin) && ((lin & 0xfff) + size) <= 0x1000))
        return host_load((const uint8_t *)(lin + e->addend), size);
    return read_lin_slow(c, lin, size, acc & ~ACC_W);
}

static void write_lin_split(struct cpu *c, uint64_t lin, unsigned size, uint64_t val,
                            unsigned acc)
{
    uint64_t pa;
    unsigned n1 = 0x1000 - (unsigned)(lin & 0xfff);
    uint64_t pa2;
    translate(c, lin, acc, &pa);
    translate(c, lin + n1, acc, &pa2);
    for (unsigned i = 0; i < size; i++)
        cpu_write_phys(c, i < n1 ? pa + i : pa2 + (i - n1), 1, (val >> (8 * i)) & 0xff);
}

static void write_lin_slow(struct cpu *c, uint64_t lin, unsigned size, uint64_t val,
                           unsigned acc)
{
    uint64_t pa;
    if (unlikely(c->ac_active) && !(acc & ACC_SYS)) {
        const struct tlb_entry *e = alignment_check(c, lin, size, c->tlb_w[1]);
        if (e) {
            host_store((uint8_t *)(lin + e->addend), size, val);
            return;
        }
    }
    if (((lin & 0xfff) + size) <= 0x1000) {
        translate(c, lin, acc, &pa);
        cpu_write_phys(c, pa, size, val);
    } else {
        write_lin_split(c, lin, size, val, acc);
    }
    if (unlikely(c->bp.data | c->watch.armed))
        bp_data_access(c, lin, size, true);
}

void cpu_write_lin(struct cpu *c, uint64_t lin, unsigned size, uint64_t val, unsigned acc)
{
    const struct tlb_entry *e = &tlb_wr_for(c, acc)[tlb_index(lin)];
    if (likely(e->tag == tlb_tag(lin) && ((lin & 0xfff) + size) <= 0x1000)) {
        host_store((uint8_t *)(lin + e->addend), size, val);
        return;
    }
    write_lin_slow(c, lin, size, val, acc | ACC_W);
}

static void probe_lin_write(struct cpu *c, uint64_t lin, unsigned size)
{
    const struct tlb_entry *e = &c->tlb_w[acc_user(c, 0)][tlb_index(lin)];
    if (e->tag == tlb_tag(lin) && ((lin & 0xfff) + size) <= 0x1000)
        return;
    uint64_t pa;
    translate(c, lin, ACC_W, &pa);
    unsigned n1 = 0x1000 - (unsigned)(lin & 0xfff);
    if (n1 < size)
        translate(c, lin + n1, ACC_W, &pa);
}

/* Instruction fetch. Faults on the first byte's page; for the bytes on a
 * second page, returns how many could be fetched and lets the decoder decide
 * whether it needs them (a fetch fault belongs to the instruction only if
 * the instruction really extends into the page). */
unsigned cpu_fetch_code(struct cpu *c, uint64_t lin, uint8_t *buf, unsigned len)
{
    unsigned done = 0;
    unsigned nofault = 0;
    while (done < len) {
        uint64_t a = lin + done;
        if (!cpu_long_active(c))
            a &= 0xffffffffull;
        unsigned chunk = 0x1000 - (unsigned)(a & 0xfff);
        if (chunk > len - done)
            chunk = len - done;
        const struct tlb_entry *e = &c->tlb_x[acc_user(c, 0)][tlb_index(a)];
        if (e->tag == tlb_tag(a)) {
            memcpy(buf + done, (const uint8_t *)(a + e->addend), chunk);
        } else {
            uint64_t pa;
            if (!translate(c, a, ACC_X | nofault, &pa))
                return done;
            for (unsigned i = 0; i < chunk; i++)
                buf[done + i] = (uint8_t)cpu_read_phys(c, pa + i, 1);
        }
        done += chunk;
        nofault = ACC_NOFAULT;
    }
    return done;
}

/* ---- segmentation --------------------------------------------------------- */

static _Noreturn void seg_fault(struct cpu *c, int seg)
{
    cpu_fault_err(c, seg == SEG_SS ? EXC_SS : EXC_GP, 0);
}

/* SDM 3A "Limit Checking", "Type Checking", and in IA-32e mode "Canonical
 * Addressing": returns the linear address of [off, off+size) in seg. */
uint64_t cpu_seg_linear(struct cpu *c, int seg, uint64_t off, unsigned size, unsigned acc)
{
    const struct seg_reg *s = &c->seg[seg];
    if (c->mode == MODE_LONG64) {
        uint64_t lin = off + (seg >= SEG_FS ? s->base : 0);
        if (unlikely(!canonical(lin) || !canonical(lin + size - 1)))
            seg_fault(c, seg);
        return lin;
    }
    off &= 0xffffffffull;
    if (c->mode != MODE_REAL) {
        if (s->ar & AR_UNUSABLE)
            seg_fault(c, seg);
        unsigned type = s->ar & AR_TYPE_MASK;
        if (acc & ACC_W) {
            if ((type & AR_TYPE_CODE) || !(type & AR_TYPE_RW))
                seg_fault(c, seg);
        } else if ((type & AR_TYPE_CODE) && !(type & AR_TYPE_RW) && !(acc & ACC_X)) {
            seg_fault(c, seg);
        }
        if (!(type & AR_TYPE_CODE) && (type & AR_TYPE_EC)) {
            /* expand-down: valid offsets are limit+1 .. 0xffff / 0xffffffff */
            uint64_t upper = (s->ar & AR_DB) ? 0xffffffffull : 0xffffull;
            if (off <= s->limit || off + size - 1 > upper)
                seg_fault(c, seg);
            return (s->base + off) & 0xffffffffull;
        }
    }
    if (off + size - 1 > s->limit)
        seg_fault(c, seg);
    return (s->base + off) & 0xffffffffull;
}

static inline uint64_t seg_lin(struct cpu *c, int seg, uint64_t off, unsigned size,
                               unsigned acc)
{
    if (likely(c->mode == MODE_LONG64)) {
        uint64_t lin = off + (seg >= SEG_FS ? c->seg[seg].base : 0);
        if (likely(canonical(lin)))
            return lin;
    }
    return cpu_seg_linear(c, seg, off, size, acc);
}

uint64_t cpu_read(struct cpu *c, int seg, uint64_t off, unsigned size)
{
    uint64_t lin = seg_lin(c, seg, off, size, ACC_R);
    const struct tlb_entry *e = &c->tlb_rd[tlb_index(lin)];
    if (likely(e->tag == tlb_tag(lin) && ((lin & 0xfff) + size) <= 0x1000))
        return host_load((const uint8_t *)(lin + e->addend), size);
    return read_lin_slow(c, lin, size, ACC_R);
}

void cpu_write(struct cpu *c, int seg, uint64_t off, unsigned size, uint64_t val)
{
    uint64_t lin = seg_lin(c, seg, off, size, ACC_W);
    const struct tlb_entry *e = &c->tlb_wr[tlb_index(lin)];
    if (likely(e->tag == tlb_tag(lin) && ((lin & 0xfff) + size) <= 0x1000)) {
        host_store((uint8_t *)(lin + e->addend), size, val);
        return;
    }
    write_lin_slow(c, lin, size, val, ACC_W);
}

void cpu_probe_write(struct cpu *c, int seg, uint64_t off, unsigned size)
{
    probe_lin_write(c, seg_lin(c, seg, off, size, ACC_W), size);
}
