/* Difftest generator: random initial states and random sequences of 1-8
 * general-purpose instructions, encoded from the SDM Vol. 2 forms. Memory
 * operands are placed so every access lands in the data area; registers that
 * hold those addresses are reserved (never written) for the whole case. */
#include "gen_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

uint64_t dt_rand(struct dt_rng *r)
{
    /* splitmix64 */
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

unsigned g_below(struct gctx *g, unsigned n) { return n ? (unsigned)(dt_rand(g->r) % n) : 0; }
bool g_chance(struct gctx *g, unsigned one_in) { return g_below(g, one_in) == 0; }

static const uint64_t edge_values[] = {
    0, 1, 2, 3, ~0ull, ~1ull, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000,
    0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ull, 0x7fffffffffffffffull,
    0x8000000000000000ull, 0xffffffff80000000ull, 0xffffffffffff8000ull, 0xffffffffffffff80ull,
    0x00000000ffffff7full, 0x8000000080000000ull,
};

uint64_t g_value(struct gctx *g)
{
    switch (g_below(g, 8)) {
    case 0: case 1: case 2:
        return edge_values[g_below(g, sizeof edge_values / sizeof edge_values[0])];
    case 3:
        return g_below(g, 17);
    case 4:
        return (uint64_t)(int64_t)(int32_t)dt_rand(g->r);
    case 5: /* shift/rotate count edges in the low byte */ {
        static const uint8_t cnt[] = {0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 0xff};
        return (dt_rand(g->r) & ~0xffull) | cnt[g_below(g, sizeof cnt)];
    }
    default:
        return dt_rand(g->r);
    }
}

/* ---- registers -------------------------------------------------------------- */

unsigned g_gpr_of(unsigned r, unsigned size, bool rex)
{
    return (size == 1 && !rex && r >= 4 && r < 8) ? r - 4 : r;
}

static bool g_can_read(const struct gctx *g, unsigned gpr) { return !(g->tainted >> gpr & 1); }

bool g_can_write(const struct gctx *g, unsigned gpr)
{
    return gpr != R_RSP && !(g->reserved >> gpr & 1) && !(g->tainted >> gpr & 1);
}

/* A register operand (0-15 in ModRM space) for the given size. */
int g_pick_reg(struct gctx *g, unsigned size, bool has_rex, bool write)
{
    unsigned lim = (size == 1 && !has_rex) ? 8 : 16;
    for (int tries = 0; tries < 64; tries++) {
        unsigned r = g_below(g, lim);
        unsigned gpr = g_gpr_of(r, size, has_rex);
        if (write ? g_can_write(g, gpr) : g_can_read(g, gpr))
            return (int)r;
    }
    return -1;
}

/* Operand size prefixes for a v-sized form: 2 -> 66, 8 -> REX.W (sometimes
 * with a 66 that REX.W overrides). */
void g_osize(struct gctx *g, struct enc *e, unsigned size)
{
    if (size == 2)
        enc_pfx(e, 0x66);
    if (size == 8) {
        e->rex |= REX_W;
        if (g_chance(g, 10))
            enc_pfx(e, 0x66);
    }
}

unsigned g_vsize(struct gctx *g) { return 2u << g_below(g, 3); }          /* 2, 4, 8 */
unsigned g_any_size(struct gctx *g) { return 1u << g_below(g, 4); }       /* 1..8 */

/* ---- memory operands ---------------------------------------------------------- */

static bool fit_disp(int64_t d0, uint64_t span, int64_t lo, int64_t hi, struct gctx *g,
                     int64_t *out)
{
    int64_t a = d0 > lo ? d0 : lo;
    int64_t b = (int64_t)(d0 + (int64_t)span) < hi ? (int64_t)(d0 + (int64_t)span) : hi;
    if (a > b)
        return false;
    *out = a + (int64_t)(dt_rand(g->r) % (uint64_t)(b - a + 1));
    return true;
}

/* Choose a memory operand whose accessed bytes [lin+extra_min, lin+extra_max+
 * size) lie in the data area (extra_*: BT bit-offset displacement). */
bool g_mem(struct gctx *g, struct enc *e, unsigned size, int64_t extra_min, int64_t extra_max)
{
    uint64_t lo = DT_DATA_BASE - (uint64_t)extra_min;
    uint64_t hi = DT_DATA_BASE + DT_DATA_SIZE - size - (uint64_t)extra_max;
    uint64_t segbase = 0;
    unsigned segpick = g_below(g, 10);
    if (g->no_fsgs && segpick < 2)
        segpick = 3;
    if (segpick == 0) {
        enc_pfx(e, 0x64);
        segbase = g->k->fs_base;
    } else if (segpick == 1) {
        enc_pfx(e, 0x65);
        segbase = g->k->gs_base;
    } else if (segpick == 2) {
        static const uint8_t null_seg[] = {0x26, 0x2e, 0x36, 0x3e};
        enc_pfx(e, null_seg[g_below(g, 4)]);
    }
    /* a 32-bit address plus a segment base above the data area cannot reach
     * it (the 64-bit linear sum does not wrap at 4 GiB) */
    e->addr32 = g_chance(g, 8) && !(segbase > lo && (int64_t)segbase > 0);
    if (e->addr32)
        enc_pfx(e, 0x67);
    uint64_t amask = e->addr32 ? 0xffffffffull : ~0ull;
    uint64_t span = hi - lo;
    e->has_modrm = true;

    unsigned nbase = (unsigned)__builtin_popcount(g->base_regs);
    for (int tries = 0; tries < 16; tries++) {
        unsigned form = g_below(g, 10);
        int base = -1, index = -1;
        unsigned scale = g_below(g, 4);
        if (form == 0) { /* RIP-relative */
            e->modrm = (uint8_t)((e->modrm & 0x38) | 0x05);
            e->riprel = true;
            e->rip_target = lo + dt_rand(g->r) % (span + 1);
            if (g->mem_align)
                e->rip_target = (e->rip_target + g->mem_align - 1) & ~(uint64_t)(g->mem_align - 1);
            if (e->rip_target > hi)
                continue;
            e->rip_segbase = segbase;
            e->disp_size = 4;
            e->has_sib = false;
            return true;
        }
        if (form == 1) { /* absolute disp32 through SIB (no base, no index) */
            int64_t d;
            int64_t d0 = (int64_t)((lo - segbase) & amask);
            if (e->addr32)
                d0 = (int32_t)(uint32_t)d0;
            if (!fit_disp(d0, span, INT32_MIN, INT32_MAX, g, &d))
                continue;
            uint64_t lin = segbase + ((uint64_t)(int64_t)(int32_t)d & amask);
            if (g->mem_align) {
                uint64_t adj = (0 - lin) & (g->mem_align - 1);
                d += (int64_t)adj;
                lin += adj;
            }
            if (lin < lo || lin > hi || d > INT32_MAX)
                continue;
            e->modrm = (uint8_t)((e->modrm & 0x38) | 0x04);
            e->has_sib = true;
            e->sib = (uint8_t)((scale << 6) | (4 << 3) | 5);
            e->disp_size = 4;
            e->disp = (int32_t)d;
            return true;
        }
        /* base and/or index from registers with known values */
        if (form == 2 && g->rsp_known)
            base = R_RSP;
        else if (nbase) {
            unsigned pick = g_below(g, nbase);
            for (unsigned r = 0; r < 16; r++)
                if ((g->base_regs >> r & 1) && pick-- == 0)
                    base = (int)r;
        }
        if (g->idx_reg >= 0 && g_chance(g, 2))
            index = g->idx_reg;
        else if (g_chance(g, 6) && nbase) /* a pointer as index: large anchor, disp32 */
            index = base;
        if (form == 3 && index >= 0)
            base = -1; /* index*scale + disp32 */
        if (g->no_rex && (base >= 8 || index >= 8))
            continue;
        if (base < 0 && index < 0)
            continue;
        uint64_t bval = base == R_RSP ? g->rsp : base >= 0 ? g->k->init.gpr[base] : 0;
        uint64_t ival = index >= 0 ? g->k->init.gpr[index] << scale : 0;
        uint64_t anchor = (bval + ival) & amask;
        int64_t d0 = (int64_t)(((lo - segbase) - anchor) & amask);
        if (e->addr32)
            d0 = (int32_t)(uint32_t)d0;
        /* mod: 0 (no disp) if allowed, 1 (disp8), 2 (disp32) */
        unsigned mod = base < 0 ? 0 : g_below(g, 3);
        if (base >= 0 && (base & 7) == 5 && mod == 0)
            mod = 1;
        int64_t d = 0;
        if (base < 0 || mod == 2) {
            if (!fit_disp(d0, span, INT32_MIN, INT32_MAX, g, &d))
                continue;
        } else if (mod == 1) {
            if (!fit_disp(d0, span, -128, 127, g, &d)) {
                mod = 2;
                if (!fit_disp(d0, span, INT32_MIN, INT32_MAX, g, &d))
                    continue;
            }
        } else if (!fit_disp(d0, span, 0, 0, g, &d)) {
            mod = 2;
            if (!fit_disp(d0, span, INT32_MIN, INT32_MAX, g, &d))
                continue;
        }
        uint64_t lin = segbase + ((anchor + (uint64_t)d) & amask);
        if (g->mem_align) {
            uint64_t adj = (0 - lin) & (g->mem_align - 1);
            d += (int64_t)adj;
            lin = segbase + ((anchor + (uint64_t)d) & amask);
            if ((base >= 0 && mod == 0 && d != 0) || (mod == 1 && d > 127))
                continue;
        }
        if (lin < lo || lin > hi || d < INT32_MIN || d > INT32_MAX)
            continue;
        bool need_sib = index >= 0 || base < 0 || (base & 7) == 4 || g_chance(g, 12);
        if (need_sib) {
            unsigned b3 = base < 0 ? 5 : (unsigned)base & 7;
            unsigned i3 = index < 0 ? 4 : (unsigned)index & 7;
            if (index == 12 || (index >= 0 && index != 4)) {
                if (index & 8)
                    e->rex |= REX_X;
            } else if (index == 4) {
                continue; /* RSP cannot be an index */
            }
            if (base >= 8)
                e->rex |= REX_B;
            if (base < 0)
                mod = 0;
            e->modrm = (uint8_t)((e->modrm & 0x38) | (mod << 6) | 4);
            e->has_sib = true;
            e->sib = (uint8_t)((scale << 6) | (i3 << 3) | b3);
            if (index < 0 && g_chance(g, 2))
                e->sib = (uint8_t)((e->sib & 0x3f) | (g_below(g, 4) << 6)); /* ignored scale */
        } else {
            if (base >= 8)
                e->rex |= REX_B;
            e->modrm = (uint8_t)((e->modrm & 0x38) | (mod << 6) | ((unsigned)base & 7));
            e->has_sib = false;
        }
        e->disp_size = base < 0 ? 4 : mod == 1 ? 1 : mod == 2 ? 4 : 0;
        e->disp = (int32_t)d;
        if (base == R_RSP)
            g->used_rsp_mem = true;
        return true;
    }
    /* Fallback: RIP-relative always reaches the data area. */
    e->modrm = (uint8_t)((e->modrm & 0x38) | 0x05);
    e->riprel = true;
    e->rip_target = lo + dt_rand(g->r) % (span + 1);
    if (g->mem_align)
        e->rip_target &= ~(uint64_t)(g->mem_align - 1);
    e->rip_segbase = segbase;
    e->disp_size = 4;
    e->has_sib = false;
    return true;
}

/* r/m operand: register (returns the ModRM-space number) or memory (-1). */
int g_rm(struct gctx *g, struct enc *e, unsigned size, bool write, bool has_rex, bool allow_mem,
         bool allow_reg)
{
    if (allow_reg && (!allow_mem || g_chance(g, 2))) {
        int r = g_pick_reg(g, size, has_rex, write);
        if (r >= 0) {
            enc_rm_reg(e, (unsigned)r);
            return r;
        }
    }
    if (!allow_mem)
        return -2;
    g_mem(g, e, size, 0, 0);
    return -1;
}

/* ---- emitting -------------------------------------------------------------- */

struct dt_insn *g_emit(struct gctx *g, struct enc *e, const char *mnem, uint32_t rd,
                       uint32_t wr, uint32_t undef)
{
    struct dt_insn *in = &g->k->insn[g->k->n];
    memset(in, 0, sizeof *in);
    unsigned n = 0;
    /* Redundant prefixes can push an encoding past 15 bytes, which is #GP(0)
     * (SDM 2A "Instruction Format"), not the instruction: such a template
     * run fails and another is made (tests/unit/test_alu.c has the #GP). */
    unsigned total = (unsigned)e->npfx + (e->mand != 0) + (e->rex || e->rex_force) +
                     (unsigned)e->nop + e->has_modrm + e->has_sib + (unsigned)e->disp_size +
                     (unsigned)e->imm_size;
    if (total > sizeof in->bytes) {
        g->too_long = true;
        e->npfx = 0;
        e->mand = 0;
        e->disp_size = 0;
        e->imm_size = 0;
    }
    /* legacy prefixes in a random order (SDM 2A "Instruction Prefixes": any
     * order within the group-of-four) */
    for (int i = e->npfx - 1; i > 0; i--) {
        unsigned j = g_below(g, (unsigned)i + 1);
        uint8_t t = e->pfx[i];
        e->pfx[i] = e->pfx[j];
        e->pfx[j] = t;
    }
    for (int i = 0; i < e->npfx; i++)
        in->bytes[n++] = e->pfx[i];
    if (e->mand) /* mandatory prefix last, next to the opcode (SDM 2A 2.1.2) */
        in->bytes[n++] = e->mand;
    if (e->rex || e->rex_force)
        in->bytes[n++] = (uint8_t)(0x40 | e->rex);
    for (int i = 0; i < e->nop; i++)
        in->bytes[n++] = e->op[i];
    if (e->has_modrm)
        in->bytes[n++] = e->modrm;
    if (e->has_sib)
        in->bytes[n++] = e->sib;
    in->rip_pos = -1;
    in->rel_pos = -1;
    if (e->riprel) {
        in->rip_pos = (int8_t)n;
        in->rip_target = e->rip_target;
        in->rip_segbase = e->rip_segbase;
    }
    for (int i = 0; i < e->disp_size; i++)
        in->bytes[n++] = (uint8_t)((uint32_t)e->disp >> (8 * i));
    if (e->imm_size)
        in->imm_target_pos = (uint8_t)n;
    for (int i = 0; i < e->imm_size; i++)
        in->bytes[n++] = (uint8_t)(e->imm >> (8 * i));
    in->len = (uint8_t)n;
    snprintf(in->mnem, sizeof in->mnem, "%s", mnem);
    in->fl_read = rd;
    in->fl_write = wr;
    in->fl_undef = undef;
    in->target = -1;
    g->k->n++;
    return in;
}

/* ---- the case ------------------------------------------------------------------ */

int dt_isa = DT_ISA_GP;

static const struct gtemplate *g_table(unsigned *n)
{
    if (dt_isa == DT_ISA_SSE) {
        *n = g_nsse_templates;
        return g_sse_templates;
    }
    if (dt_isa == DT_ISA_SIMD) {
        *n = g_nsimd_templates;
        return g_simd_templates;
    }
    if (dt_isa == DT_ISA_SSEFP) {
        *n = g_nsse_fp_templates;
        return g_sse_fp_templates;
    }
    *n = g_ntemplates;
    return g_templates;
}

static bool name_in_list(const char *name, const char *list)
{
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *q = strchr(p, ',');
        size_t len = q ? (size_t)(q - p) : strlen(p);
        if (len == n && strncasecmp(p, name, n) == 0)
            return true;
        if (!q)
            break;
        p = q + 1;
    }
    return false;
}

bool dt_gen_only_valid(const char *only)
{
    for (const char *p = only; *p;) {
        const char *q = strchr(p, ',');
        size_t len = q ? (size_t)(q - p) : strlen(p);
        bool found = false;
        unsigned nt;
        const struct gtemplate *tt = g_table(&nt);
        for (unsigned i = 0; i < nt; i++)
            if (strlen(tt[i].name) == len &&
                strncasecmp(tt[i].name, p, len) == 0)
                found = true;
        if (!found)
            return false;
        if (!q)
            break;
        p = q + 1;
    }
    return true;
}

void dt_gen_list_mnemonics(FILE *f)
{
    unsigned nt;
    const struct gtemplate *tt = g_table(&nt);
    for (unsigned i = 0; i < nt; i++)
        fprintf(f, "%s%s", i ? " " : "", tt[i].name);
    fprintf(f, "\n");
}

static void init_state(struct gctx *g, bool strings)
{
    struct dt_case *k = g->k;
    struct dt_state *s = &k->init;
    for (unsigned r = 0; r < 16; r++)
        s->gpr[r] = g_value(g);
    /* reserved pointer registers: never RAX/RDX (implicit operands), RSP */
    static const uint8_t ptr_cand[] = {R_RBX, R_RBP, R_RSI, R_RDI, R_RCX, 8, 9, 10, 11, 12, 13, 14, 15};
    unsigned nptr = 1 + g_below(g, 2);
    for (unsigned i = 0; i < nptr + 1; i++) {
        unsigned r;
        do
            r = ptr_cand[g_below(g, sizeof ptr_cand)];
        while ((g->reserved >> r & 1) ||
               (strings && (r == R_RSI || r == R_RDI || r == R_RCX)));
        g->reserved |= (uint16_t)(1u << r);
        if (i < nptr) {
            g->base_regs |= (uint16_t)(1u << r);
            s->gpr[r] = DT_DATA_BASE + dt_rand(g->r) % DT_DATA_SIZE;
        } else {
            g->idx_reg = (int)r;
            int64_t v = g_chance(g, 4) ? (int64_t)g_below(g, 2049) - 1024
                                       : (int64_t)g_below(g, 129) - 64;
            s->gpr[r] = (uint64_t)v;
        }
    }
    if (strings) {
        g->reserved |= (1u << R_RSI) | (1u << R_RDI) | (1u << R_RCX);
        /* The DS:rSI source may take a segment override, ES:rDI never (SDM
         * 2A "MOVS/MOVSB/MOVSW/MOVSD/MOVSQ", "CMPS...", "LODS..."). One
         * override for every source of the case: RSI is relative to its base,
         * and the 64-bit linear sum wraps (SDM 3A "Segmentation in IA-32e
         * Mode": FS/GS bases are used in 64-bit mode, the others are 0). */
        unsigned segpick = g_below(g, 4);
        g->str_seg = segpick == 0 ? 0x64 : segpick == 1 ? 0x65 : 0;
        g->str_segbase = segpick == 0 ? k->fs_base : segpick == 1 ? k->gs_base : 0;
        uint64_t src = DT_DATA_BASE + 1024 + dt_rand(g->r) % (DT_DATA_SIZE - 2048);
        s->gpr[R_RSI] = src - g->str_segbase;
        /* a case moves RSI by at most 8 insns * 5 iterations * 8 bytes */
        g->str_addr32_ok = s->gpr[R_RSI] >= 1024 && s->gpr[R_RSI] < 0xffffffffull - 1024;
        s->gpr[R_RDI] = DT_DATA_BASE + 1024 + dt_rand(g->r) % (DT_DATA_SIZE - 2048);
        s->gpr[R_RCX] = g_below(g, 6);
    }
    g->rsp = DT_STACK_BASE + DT_STACK_SIZE / 2 + 8 * (g_below(g, 64)) - 256;
    if (g_chance(g, 8))
        g->rsp += g_below(g, 8);
    s->gpr[R_RSP] = g->rsp;
    g->rsp_known = true;
    s->rip = DT_CODE_BASE;
    s->rflags = 0x2 | (dt_rand(g->r) & (DT_ALL6 | (g_chance(g, 4) ? DT_DF : 0)));
    for (unsigned i = 0; i < DT_DATA_SIZE; i += 8) {
        uint64_t v = g_chance(g, 4) ? g_value(g) : dt_rand(g->r);
        memcpy(&s->data[i], &v, 8);
    }
    for (unsigned i = 0; i < DT_STACK_SIZE; i += 8) {
        uint64_t v = dt_rand(g->r);
        memcpy(&s->stack[i], &v, 8);
    }
}

static uint32_t u_entry(const struct gctx *g)
{
    unsigned i = g->k->n;
    uint32_t u = g->pend[i];
    if (i == 0 || !(g->k->insn[i - 1].info & DTI_UNCOND))
        u |= g->u_out;
    return u;
}

/* Pick a branch target for the instruction being generated at index i:
 * forward (i+1 .. n, n = the end), or backward when allowed. */
int g_branch_target(struct gctx *g, bool backward_ok)
{
    unsigned i = g->k->n;
    if (backward_ok && i > 0 && g_chance(g, 5)) {
        int t = (int)g_below(g, i);
        if (!(g->k->insn[t].info & DTI_GLUED)) {
            g->k->has_backward = true;
            return t;
        }
    }
    unsigned lo = i + 1, n = g->nplan;
    return (int)(lo + g_below(g, n - lo + 1));
}

static void finish_insn(struct gctx *g, unsigned first)
{
    /* flag dataflow for the instructions just emitted (in order) */
    for (unsigned i = first; i < g->k->n; i++) {
        struct dt_insn *in = &g->k->insn[i];
        uint32_t u = (i == first) ? g->u_in_first : g->u_out;
        g->u_out = (u & ~in->fl_write) | in->fl_undef;
        if (in->target >= 0 && (unsigned)in->target > i)
            g->pend[in->target] |= g->u_out;
        if (in->target >= 0)
            g->targeted |= 1u << in->target;
        g->all_undef |= in->fl_undef;
        g->all_read |= in->fl_read;
        if (in->info & DTI_BSCAN)
            g->tainted |= (uint16_t)(1u << in->dst_reg);
        if (in->info & DTI_REP)
            g->used_rep = true;
        if (in->info & DTI_STACK) {
            g->used_stack = true;
            g->rsp_known = false;
        }
    }
}

static void layout(struct dt_case *k)
{
    unsigned off = 0;
    for (unsigned i = 0; i < k->n; i++) {
        k->insn[i].off = (uint16_t)off;
        off += k->insn[i].len;
    }
    k->end_addr = DT_CODE_BASE + off;
    memset(k->code, 0, sizeof k->code);
    for (unsigned i = 0; i < k->n; i++) {
        struct dt_insn *in = &k->insn[i];
        uint64_t next = DT_CODE_BASE + in->off + in->len;
        uint64_t tgt = in->target >= 0 ? ((unsigned)in->target >= k->n
                                              ? k->end_addr
                                              : DT_CODE_BASE + k->insn[in->target].off)
                                       : 0;
        if (in->rip_pos >= 0) {
            uint32_t d = (uint32_t)(in->rip_target - in->rip_segbase - next);
            memcpy(&in->bytes[in->rip_pos], &d, 4);
        }
        if (in->rel_pos >= 0) {
            int64_t rel = (int64_t)(tgt - next);
            if (in->rel_size == 1)
                in->bytes[in->rel_pos] = (uint8_t)(int8_t)rel;
            else {
                uint32_t r32 = (uint32_t)(int32_t)rel;
                memcpy(&in->bytes[in->rel_pos], &r32, 4);
            }
        }
        if (in->has_imm_target) {
            uint32_t a = (uint32_t)tgt;
            memcpy(&in->bytes[in->imm_target_pos], &a, 4);
        }
        memcpy(&k->code[in->off], in->bytes, in->len);
    }
    k->code[off] = 0x0f; /* UD2 terminator: SDM 2B "UD -- Undefined Instruction" */
    k->code[off + 1] = 0x0b;
    k->code_len = off + 2;
}

/* XMM registers and MXCSR: from a stream of their own, so that the
 * general-purpose cases stay what they were. Lanes are biased to the values
 * that find saturation, sign and shift-count edges. */
static void init_xmm(struct dt_case *k)
{
    struct dt_rng r = {k->seed * 0xbf58476d1ce4e5b9ull + k->index * 0x94d049bb133111ebull + 7};
    static const uint64_t edge[] = {0, ~0ull, 0x8000800080008000ull, 0x7fff7fff7fff7fffull,
                                    0x8080808080808080ull, 0x7f7f7f7f7f7f7f7full,
                                    0x0000000100000001ull, 0x00000000000000ffull,
                                    0x000000000000000full, 0x0000000000000040ull};
    for (unsigned i = 0; i < 16; i++)
        for (unsigned h = 0; h < 2; h++) {
            uint64_t v = dt_rand(&r);
            unsigned pick = (unsigned)(dt_rand(&r) % 4);
            if (pick == 0)
                v = edge[dt_rand(&r) % (sizeof edge / sizeof edge[0])];
            else if (pick == 1)
                v &= 0x00ff00ff00ff00ffull; /* small lanes */
            k->init.xmm[i][h] = v;
        }
    k->init.mxcsr = 0x1f80;
    /* The x87 registers (MM0-MM7): random significands, TOP and empty tags
     * for the SIMD cases; the power-up values (all empty, TOP 0) otherwise. */
    k->init.fp_empty = 0xff;
    if (dt_isa == DT_ISA_SIMD) {
        for (unsigned i = 0; i < 8; i++)
            k->init.mm[i] = dt_rand(&r) % 4 == 0 ? edge[dt_rand(&r) % (sizeof edge / sizeof edge[0])]
                                                 : dt_rand(&r);
        k->init.fp_top = (uint8_t)(dt_rand(&r) & 7);
        k->init.fp_empty = (uint8_t)dt_rand(&r);
    }
}

void dt_gen_case(struct dt_case *k, uint64_t seed, uint64_t index, const char *only)
{
    struct dt_rng rng = {seed * 0x9e3779b97f4a7c15ull + index * 0xd1b54a32d192ed03ull + 1};
    struct gctx g;
    memset(&g, 0, sizeof g);
    memset(k, 0, sizeof *k);
    g.r = &rng;
    g.k = k;
    g.idx_reg = -1;
    k->seed = seed;
    k->index = index;

    /* candidate templates */
    unsigned cand[256], ncand = 0, nt;
    const struct gtemplate *tt = g_table(&nt);
    bool strings_possible = false;
    for (unsigned i = 0; i < nt && ncand < 256; i++) {
        if (only && *only && !name_in_list(tt[i].name, only))
            continue;
        for (unsigned w = 0; w < tt[i].weight && ncand < 256; w++)
            cand[ncand++] = i;
        if (tt[i].needs & GN_STRINGS)
            strings_possible = true;
    }
    if (!ncand)
        return;
    bool strings = strings_possible && (only && *only ? true : g_chance(&g, 3));
    static const uint64_t fs_bases[] = {0, 0x1000, 0x80000, 0xfff000};
    static const uint64_t gs_bases[] = {0, 0x2000, 0xfffffffffff00000ull, 0xffffffffffff0000ull};
    k->fs_base = fs_bases[g_below(&g, 4)];
    k->gs_base = gs_bases[g_below(&g, 4)];
    init_state(&g, strings);
    init_xmm(k);
    if (dt_isa == DT_ISA_SSEFP) {
        g.no_fsgs = true;
        g_sse_fp_init(&g);
    }

    g.nplan = 1 + g_below(&g, DT_MAX_INSNS);
    while (k->n < g.nplan) {
        unsigned first = k->n;
        g.u_in_first = u_entry(&g);
        unsigned t = cand[g_below(&g, ncand)];
        const struct gtemplate *tp = &tt[t];
        if (((tp->needs & GN_STRINGS) && !strings) ||
            ((tp->needs & GN_TWO) && k->n + 2 > g.nplan) ||
            ((tp->needs & GN_TWO) && (g.targeted >> (k->n + 1) & 1)) ||
            ((tp->needs & GN_THREE) && k->n + 3 > g.nplan) ||
            ((tp->needs & GN_THREE) && (g.targeted >> (k->n + 1) & 3))) {
            if (++g.failures > 200)
                break;
            if ((tp->needs & GN_TWO) && g.nplan < 2)
                g.nplan = 2; /* --only RET: room for the pair */
            if ((tp->needs & GN_THREE) && g.nplan < 3)
                g.nplan = 3;
            continue;
        }
        g.too_long = false;
        bool ok = tp->fn(&g, tp->arg) && !g.too_long;
        /* an instruction must not read a flag that may be undefined here */
        for (unsigned i = first; ok && i < k->n; i++) {
            uint32_t u = (i == first) ? g.u_in_first : 0;
            if (i > first) {
                u = g.u_in_first;
                for (unsigned j = first; j < i; j++)
                    u = (u & ~k->insn[j].fl_write) | k->insn[j].fl_undef;
            }
            if (k->insn[i].fl_read & u)
                ok = false;
        }
        if (!ok) {
            k->n = first;
            if (++g.failures > 200)
                break;
            continue;
        }
        finish_insn(&g, first);
    }
    /* Loops: safe only if no flag the sequence leaves undefined is read
     * anywhere, nothing depends on an undefined register, REP counts are not
     * involved (Unicorn counts REP iterations as instructions) and RSP-based
     * operands cannot see a moved RSP. Otherwise the back edges go to the end. */
    if (k->has_backward) {
        bool safe = !(g.all_undef & g.all_read) && !g.tainted && !g.used_rep &&
                    !(g.used_rsp_mem && g.used_stack);
        if (!safe) {
            k->has_backward = false;
            for (unsigned i = 0; i < k->n; i++)
                if (k->insn[i].target >= 0 && (unsigned)k->insn[i].target <= i)
                    k->insn[i].target = (int)k->n;
        }
    }
    layout(k);
}
