/* The block cache: straight-line runs of predecoded instructions, keyed by the
 * physical address of their first byte and the code size they were decoded
 * for. A block never spans two pages; a write to a page that holds code bumps
 * the page's generation, which makes every block on it stale. */
#include "block.h"

#include <stdio.h>
#include <stdlib.h>

#define BC_ARENA_BYTES (32u << 20)


void mem_forget_write_mappings(struct cpu *c, uint64_t pfn);

bool block_cache_init(struct cpu *c)
{
    struct block_cache *bc = calloc(1, sizeof *bc);
    if (!bc)
        return false;
    bc->npages = (c->m->ram_size + 4095) >> 12;
    bc->arena = malloc(BC_ARENA_BYTES);
    bc->page_gen = calloc(bc->npages ? bc->npages : 1, sizeof *bc->page_gen);
    bc->page_code = calloc(bc->npages ? bc->npages : 1, 1);
    if (!bc->arena || !bc->page_gen || !bc->page_code) {
        free(bc->arena);
        free(bc->page_gen);
        free(bc->page_code);
        free(bc);
        return false;
    }
    c->bc = bc;
    return true;
}

void block_cache_free(struct cpu *c)
{
    struct block_cache *bc = c->bc;
    if (!bc)
        return;
    free(bc->arena);
    free(bc->page_gen);
    free(bc->page_code);
    free(bc);
    c->bc = NULL;
}

static void block_cache_flush(struct block_cache *bc)
{
    memset(bc->hash, 0, sizeof bc->hash);
    memset(bc->jc, 0, sizeof bc->jc);
    bc->used = 0;
    bc->flushes++;
}

bool block_page_has_code(const struct cpu *c, uint64_t pfn)
{
    const struct block_cache *bc = c->bc;
    return pfn < bc->npages && bc->page_code[pfn];
}

void block_invalidate_page(struct cpu *c, uint64_t pfn)
{
    struct block_cache *bc = c->bc;
    if (pfn >= bc->npages)
        return;
    bc->page_gen[pfn]++;
    bc->page_code[pfn] = 0;
    bc->smc_gen++; /* jump-cache entries may point at blocks of this page */
    c->recheck = true; /* and block links made under the old generation */
    c->stats.smc_invalidations++;
}

static inline unsigned hash_of(uint64_t pa, unsigned code_size)
{
    uint64_t h = (pa ^ (pa >> BC_HASH_BITS) ^ code_size) * 0x9e3779b97f4a7c15ull;
    return (unsigned)(h >> (64 - BC_HASH_BITS));
}

static struct block *block_alloc(struct block_cache *bc, unsigned ninsns)
{
    size_t bytes = sizeof(struct block) + ninsns * sizeof(struct insn);
    bytes = (bytes + 15) & ~(size_t)15;
    if (bc->used + bytes > BC_ARENA_BYTES)
        block_cache_flush(bc);
    struct block *b = (struct block *)(bc->arena + bc->used);
    bc->used += bytes;
    return b;
}

/* Decode at RIP into b (room for BLOCK_MAX_INSNS). The first instruction's
 * fetch and decode faults are raised; later ones end the block instead, so
 * that they are raised when execution reaches them. */
static unsigned decode_run(struct cpu *c, uint64_t lin0, struct insn *out, bool *cacheable,
                           uint32_t *nbytes)
{
    unsigned n = 0;
    uint32_t cyc = 0;
    uint64_t rip = c->rip;
    uint64_t lin = lin0;
    bool limited = c->mode != MODE_LONG64;
    *cacheable = true;
    while (n < BLOCK_MAX_INSNS) {
        uint8_t buf[16];
        /* SDM 3A "Limit Checking": no byte of an instruction may lie beyond
         * the CS limit outside 64-bit mode. */
        unsigned want = 15;
        if (limited) {
            uint64_t room = rip <= c->seg[SEG_CS].limit ? c->seg[SEG_CS].limit - rip + 1 : 0;
            if (room < want)
                want = (unsigned)room;
            if (want == 0) {
                if (n > 0)
                    break;
                cpu_fault_err(c, EXC_GP, 0);
            }
        }
        unsigned avail = cpu_fetch_code(c, lin, buf, want);
        struct insn *in = &out[n];
        unsigned len = cpu_decode_bytes(buf, avail, c->code_size, in);
        if (len == 0 || len > avail) {
            if (avail < want) {
                if (n > 0)
                    break;
                /* The instruction needs bytes from a page that faults: fetch
                 * them again without the no-fault allowance to raise it. */
                uint64_t a = lin + avail;
                if (limited)
                    a &= 0xffffffffull;
                (void)cpu_read_lin(c, a, 1, ACC_X);
            }
            if (want < 15 && cpu_decode_bytes(buf, avail, c->code_size, in) == 0) {
                /* Truncated by the CS limit (or undefined): decide by
                 * decoding with the limit lifted is not possible without
                 * the bytes; an instruction cut by the limit is #GP(0). */
                if (n > 0)
                    break;
                uint8_t more[16];
                unsigned got = cpu_fetch_code(c, lin, more, 15);
                if (got > avail && cpu_decode_bytes(more, got, c->code_size, in) > avail)
                    cpu_fault_err(c, EXC_GP, 0);
            }
            /* Undefined encoding: one op_ud instruction; one that needs more
             * than 15 bytes is #GP(0) instead (SDM 2A "Instruction Format"). */
            bool too_long = avail == 15 && cpu_decode_too_long(buf, avail, c->code_size);
            memset(in, 0, sizeof *in);
            in->handler = too_long ? op_insn_gp : op_ud;
            in->len = 1;
            in->flags = IF_ENDS_BLOCK;
            in->cost_class = COST_nop;
        }
        if (!in->handler)
            in->handler = op_ud;
        in->exec = cpu_exec_generic;
        in->off = (uint16_t)(rip - c->rip);
        in->nret = (uint8_t)(n + 1);
        cpu_specialize(in, c->code_size);
        if (n > 0) {
            cpu_drop_dead_flags(&out[n - 1], in);
            cpu_fuse(&out[n - 1], in);
        }
        bool crosses = ((lin & 0xfff) + in->len) > 0x1000;
        if (crosses && n > 0)
            break;
        cyc += c->cost->cycles[in->cost_class];
        in->cum_cycles = cyc;
        n++;
        rip += in->len;
        lin += in->len;
        if (crosses) {
            *cacheable = false;
            break;
        }
        if ((in->flags & IF_ENDS_BLOCK) || (lin & 0xfff) == 0)
            break;
    }
    *nbytes = (uint32_t)(rip - c->rip);
    /* The end marker: falling off the block runs it. */
    struct insn *end = &out[n];
    memset(end, 0, sizeof *end);
    end->exec = cpu_exec_block_end;
    end->handler = op_ud;
    end->off = (uint16_t)*nbytes;
    end->nret = (uint8_t)n;
    end->cum_cycles = cyc;
    return n;
}

static inline bool fits_cs_limit(const struct cpu *c, const struct block *b)
{
    return c->mode == MODE_LONG64 || c->rip + b->nbytes - 1 <= c->seg[SEG_CS].limit;
}

/* Find or build the block at c->rip. May fault (fetch #PF/#GP). */
const struct block *block_lookup_slow(struct cpu *c)
{
    struct block_cache *bc = c->bc;
    uint64_t lin = c->seg[SEG_CS].base + c->rip;
    if (c->mode != MODE_LONG64)
        lin &= 0xffffffffull;
    uint8_t mode = (uint8_t)(c->code_size | (c->cpl == 3) << 4);

    struct jc_entry *j = jc_slot(bc, lin);

    /* Execute-permission translation (TLB fast path). */
    uint64_t pa;
    const struct tlb_entry *e = &c->tlb_x[c->cpl == 3][(lin >> 12) & (TLB_SIZE - 1)];
    if (likely(e->tag == (lin >> 12) + 1)) {
        pa = (uint64_t)((const uint8_t *)(lin + e->addend) - c->m->ram);
    } else {
        if (c->mode != MODE_LONG64) /* CS limit check for the first byte */
            (void)cpu_seg_linear(c, SEG_CS, c->rip, 1, ACC_X);
        else if (!canonical(lin))
            cpu_fault_err(c, EXC_GP, 0);
        uint8_t tmp;
        cpu_fetch_code(c, lin, &tmp, 1);
        e = &c->tlb_x[c->cpl == 3][(lin >> 12) & (TLB_SIZE - 1)];
        if (e->tag != (lin >> 12) + 1)
            pa = ~0ull; /* not cacheable (MMIO, or not TLB-able) */
        else
            pa = (uint64_t)((const uint8_t *)(lin + e->addend) - c->m->ram);
    }

    unsigned code_size = c->code_size;
    uint64_t pfn = pa >> 12;
    struct block *b = NULL;
    if (pa != ~0ull && pfn < bc->npages) {
        /* Walk the chain, unlinking blocks made stale by writes to their
         * page (their arena space is reclaimed at the next arena flush), so
         * self-modifying code does not grow the chain. */
        struct block **pp = &bc->hash[hash_of(pa, code_size)];
        while ((b = *pp) != NULL) {
            if (b->gen != bc->page_gen[b->pa >> 12]) {
                *pp = b->next;
                continue;
            }
            if (b->pa == pa && b->code_size == code_size)
                break;
            pp = &b->next;
        }
        if (b && !fits_cs_limit(c, b))
            b = NULL; /* decoded under a larger CS limit: decode again, uncached */
    }

    if (!b) {
        struct insn tmp_insns[BLOCK_MAX_INSNS + 1];
        bool cacheable;
        uint32_t nbytes;
        unsigned n = decode_run(c, lin, tmp_insns, &cacheable, &nbytes);
        c->stats.blocks_decoded++;
        if (pa == ~0ull || pfn >= bc->npages ||
            (c->mode != MODE_LONG64 && c->rip + 15 > c->seg[SEG_CS].limit))
            cacheable = false;
        b = cacheable ? block_alloc(bc, n + 1) : (struct block *)bc->scratch;
        b->pa = pa;
        b->code_size = (uint8_t)code_size;
        b->n = (uint16_t)n;
        b->nbytes = nbytes;
        b->gen = cacheable ? bc->page_gen[pfn] : 0;
        b->cycles = n ? tmp_insns[n - 1].cum_cycles : 0;
        b->link[0] = b->link[1] = (struct block_link){~0ull, 0, NULL};
        b->link_victim = 0;
        b->linkable = cacheable;
        memcpy(b->insns, tmp_insns, (n + 1) * sizeof(struct insn));
        if (!cacheable) {
            b->next = NULL;
            return b;
        }
        unsigned h = hash_of(pa, code_size);
        b->next = bc->hash[h];
        bc->hash[h] = b;
        if (!bc->page_code[pfn]) {
            bc->page_code[pfn] = 1;
            mem_forget_write_mappings(c, pfn);
        }
    }
    *j = (struct jc_entry){ .lin = lin, .b = b, .code_gen = c->tlb_gen + bc->smc_gen,
                            .cs_limit = c->seg[SEG_CS].limit, .mode = mode };
    return b;
}
