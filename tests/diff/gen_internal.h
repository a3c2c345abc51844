/* Private to the difftest generator: generation context and the template
 * table (one entry per mnemonic, gen_ops.c). */
#ifndef NVMX_DIFFTEST_GEN_INTERNAL_H
#define NVMX_DIFFTEST_GEN_INTERNAL_H

#include "encode.h"

struct gctx {
    struct dt_rng *r;
    struct dt_case *k;
    unsigned nplan;       /* instructions in this case */
    uint16_t reserved;    /* registers never written (pointers, index, strings) */
    uint16_t base_regs;   /* reserved registers holding data-area addresses */
    int idx_reg;          /* reserved register holding a small signed value */
    uint16_t tainted;     /* BSF/BSR destinations: neither read nor written again */
    bool rsp_known;       /* no stack operation generated yet: RSP = rsp */
    uint64_t rsp;
    bool used_rsp_mem, used_stack, used_rep;
    bool no_rex;          /* byte form without REX: memory operand must not need REX */
    /* string cases: the segment override of every DS:rSI source (0: none or
     * a null-base ES/CS/SS/DS) and its base; RSI = data address - base */
    uint8_t str_seg;
    uint64_t str_segbase;
    bool str_addr32_ok;   /* ESI (67 prefix) reaches the same bytes as RSI */
    /* flag dataflow: flags that may be undefined at each point */
    uint32_t pend[DT_MAX_INSNS + 1]; /* from forward branches into index i */
    uint32_t u_out;                  /* after the last instruction */
    uint32_t u_in_first;             /* entering the instruction being made */
    uint32_t all_undef, all_read;
    uint32_t targeted;               /* indices some branch targets */
    unsigned failures;
    bool too_long;        /* g_emit met more than 15 bytes: the template failed */
    bool no_fsgs;         /* g_mem: no FS/GS override (the native oracle keeps the host's) */
    unsigned mem_align;   /* g_mem: the linear address is a multiple of this (0: any) */
};

#define GN_STRINGS 0x1 /* needs RSI/RDI/RCX reserved as string registers */
#define GN_TWO 0x2     /* emits two instructions (the second is glued) */
#define GN_THREE 0x4   /* emits three instructions (the last two glued) */

struct gtemplate {
    const char *name;
    bool (*fn)(struct gctx *g, int arg);
    int arg;
    unsigned weight;
    unsigned needs;
};
extern const struct gtemplate g_templates[];
extern const unsigned g_ntemplates;
extern const struct gtemplate g_sse_templates[]; /* gen_sse.c: --isa sse */
extern const unsigned g_nsse_templates;
extern const struct gtemplate g_simd_templates[]; /* gen_simd.c: --isa simd */
extern const unsigned g_nsimd_templates;
extern const struct gtemplate g_sse_fp_templates[]; /* gen_sse_fp.c: --isa ssefp */
extern const unsigned g_nsse_fp_templates;
/* XMM registers, data area and MXCSR of an ssefp case */
void g_sse_fp_init(struct gctx *g);

unsigned g_below(struct gctx *g, unsigned n);
bool g_chance(struct gctx *g, unsigned one_in);
uint64_t g_value(struct gctx *g);
unsigned g_gpr_of(unsigned r, unsigned size, bool rex);
bool g_can_write(const struct gctx *g, unsigned gpr);
int g_pick_reg(struct gctx *g, unsigned size, bool has_rex, bool write);
void g_osize(struct gctx *g, struct enc *e, unsigned size);
unsigned g_vsize(struct gctx *g);
unsigned g_any_size(struct gctx *g);
bool g_mem(struct gctx *g, struct enc *e, unsigned size, int64_t extra_min, int64_t extra_max);
int g_rm(struct gctx *g, struct enc *e, unsigned size, bool write, bool has_rex, bool allow_mem,
         bool allow_reg);
struct dt_insn *g_emit(struct gctx *g, struct enc *e, const char *mnem, uint32_t rd,
                       uint32_t wr, uint32_t undef);
int g_branch_target(struct gctx *g, bool backward_ok);

/* gen_vec.c: encodings of both vector generators; nregs 16 (XMM) or 8 (MMX) */
void g_vec_shift_imm(struct gctx *g, struct enc *e, unsigned digit, unsigned nregs);
bool g_vec_movd(struct gctx *g, struct enc *e, unsigned nregs, bool store);
bool g_vec_to_gpr(struct gctx *g, struct enc *e, unsigned nregs, bool imm);
bool g_vec_insert_word(struct gctx *g, struct enc *e, unsigned nregs);

#endif
