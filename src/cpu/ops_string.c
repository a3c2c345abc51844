/* String instructions MOVS, STOS, LODS, CMPS, SCAS with REP / REPE / REPNE
 * (SDM 2 pages of the same names, "REP/REPE/REPZ/REPNE/REPNZ"). rSI, rDI and
 * rCX are used at the address size; the source segment may be overridden,
 * ES:rDI may not. A REP runs in one handler call in chunks of STR_CHUNK
 * iterations; the registers are committed after every iteration, so a fault
 * (which leaves RIP at the instruction) restarts where it stopped, and a
 * chunk that ends with rCX != 0 re-executes the instruction (next_rip =
 * rip) so interrupts and the instruction limit can intervene. */
#include "ops_gp.h"

#define STR_CHUNK 4096

struct str_ctx {
    unsigned sz;    /* element size */
    uint64_t am;    /* address-size mask */
    uint64_t step;  /* +sz or -sz by DF */
    int sseg;       /* source segment */
};

static void str_init(const struct cpu *c, const struct insn *in, struct str_ctx *s)
{
    s->sz = (in->opcode & 1) ? gp_osize(c, in) : 1; /* A4/A6/AA/AC/AE are byte forms */
    s->am = size_mask(in->addrsize);
    s->step = (c->rflags & FL_DF) ? (uint64_t)-(int64_t)s->sz : s->sz;
    s->sseg = (in->pfx & PFX_SEG) ? in->seg : SEG_DS;
}

/* Update an index register at the address size (32-bit writes zero-extend). */
static inline void areg_add(struct cpu *c, const struct str_ctx *s, unsigned r, uint64_t d)
{
    uint64_t v = (c->gpr[r] + d) & s->am;
    c->gpr[r] = s->am == 0xffff ? (c->gpr[r] & ~0xffffull) | v : v;
}

static inline bool str_rep(const struct insn *in)
{
    return (in->pfx & (PFX_REP | PFX_REPNE)) != 0;
}

/* One iteration of each instruction; returns nothing, commits rSI/rDI. */
static inline void movs_once(struct cpu *c, const struct str_ctx *s)
{
    uint64_t v = cpu_read(c, s->sseg, c->gpr[6] & s->am, s->sz);
    cpu_write(c, SEG_ES, c->gpr[7] & s->am, s->sz, v);
    areg_add(c, s, 6, s->step);
    areg_add(c, s, 7, s->step);
}

static inline void stos_once(struct cpu *c, const struct str_ctx *s)
{
    cpu_write(c, SEG_ES, c->gpr[7] & s->am, s->sz, c->gpr[0]);
    areg_add(c, s, 7, s->step);
}

static inline void lods_once(struct cpu *c, const struct str_ctx *s)
{
    uint64_t v = cpu_read(c, s->sseg, c->gpr[6] & s->am, s->sz);
    reg_write(c, 0, s->sz, false, v);
    areg_add(c, s, 6, s->step);
}

/* CMPS: flags of [seg:rSI] - [ES:rDI]. */
static inline void cmps_once(struct cpu *c, const struct str_ctx *s)
{
    uint64_t m = size_mask(s->sz);
    uint64_t a = cpu_read(c, s->sseg, c->gpr[6] & s->am, s->sz);
    uint64_t b = cpu_read(c, SEG_ES, c->gpr[7] & s->am, s->sz);
    areg_add(c, s, 6, s->step);
    areg_add(c, s, 7, s->step);
    lf_set(c, LF_SUB, s->sz, (a - b) & m, a, b);
}

/* SCAS: flags of rAX - [ES:rDI]. */
static inline void scas_once(struct cpu *c, const struct str_ctx *s)
{
    uint64_t m = size_mask(s->sz);
    uint64_t a = c->gpr[0] & m;
    uint64_t b = cpu_read(c, SEG_ES, c->gpr[7] & s->am, s->sz);
    areg_add(c, s, 7, s->step);
    lf_set(c, LF_SUB, s->sz, (a - b) & m, a, b);
}

/* A chunk ended with work left: run the instruction again. An event taken
 * before it resumes pushes RF = 1 (SDM 3B "Instruction-Breakpoint
 * Exception Condition": "For any interrupt arriving after any iteration of
 * a repeated string instruction but the last iteration, the value pushed
 * for RF is 1"; except.c). */
static inline void str_again(struct cpu *c)
{
    c->next_rip = c->rip;
    c->end_block = true;
    c->rep_suspended = true;
}

/* SDM 3B "Debug Exceptions": a data breakpoint in a repeated string
 * instruction traps after the iteration that hit, RIP at the instruction
 * while iterations remain. True when the REP must stop here. */
static inline bool str_bp_stop(struct cpu *c, const struct str_ctx *s, uint64_t hits_before)
{
    if (likely(c->bp.hits == hits_before))
        return false;
    if ((c->gpr[1] & s->am) != 0)
        str_again(c);
    return true;
}

/* REP for the instructions without a termination condition (F2 acts as F3
 * on MOVS/STOS/LODS). */
#define STR_REP_PLAIN(name)                                                                \
    void op_##name(struct cpu *c, const struct insn *in)                                   \
    {                                                                                      \
        struct str_ctx s;                                                                  \
        str_init(c, in, &s);                                                               \
        if (!str_rep(in)) {                                                                \
            name##_once(c, &s);                                                            \
            return;                                                                        \
        }                                                                                  \
        uint64_t hits = c->bp.hits;                                                        \
        c->rep_suspended = false;                                                          \
        for (unsigned n = 0; (c->gpr[1] & s.am) != 0; n++) {                              \
            if (n == STR_CHUNK) {                                                          \
                str_again(c);                                                              \
                return;                                                                    \
            }                                                                              \
            name##_once(c, &s);                                                            \
            areg_add(c, &s, 1, (uint64_t)-1);                                              \
            if (str_bp_stop(c, &s, hits))                                                  \
                return;                                                                    \
        }                                                                                  \
    }

STR_REP_PLAIN(movs)
STR_REP_PLAIN(stos)
STR_REP_PLAIN(lods)

/* REPE (F3) repeats while ZF = 1, REPNE (F2) while ZF = 0; both stop when
 * rCX reaches 0, which is tested before each iteration. */
#define STR_REP_COND(name)                                                                 \
    void op_##name(struct cpu *c, const struct insn *in)                                   \
    {                                                                                      \
        struct str_ctx s;                                                                  \
        str_init(c, in, &s);                                                               \
        if (!str_rep(in)) {                                                                \
            name##_once(c, &s);                                                            \
            return;                                                                        \
        }                                                                                  \
        bool want_zf = (in->pfx & PFX_REP) != 0;                                           \
        uint64_t hits = c->bp.hits;                                                        \
        c->rep_suspended = false;                                                          \
        for (unsigned n = 0; (c->gpr[1] & s.am) != 0; n++) {                              \
            if (n == STR_CHUNK) {                                                          \
                str_again(c);                                                              \
                return;                                                                    \
            }                                                                              \
            name##_once(c, &s);                                                            \
            areg_add(c, &s, 1, (uint64_t)-1);                                              \
            if (flags_cond(c, 4) != want_zf)                                               \
                return;                                                                    \
            if (str_bp_stop(c, &s, hits))                                                  \
                return;                                                                    \
        }                                                                                  \
    }

STR_REP_COND(cmps)
STR_REP_COND(scas)
