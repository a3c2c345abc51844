/* Difftest: encodings shared by the vector generators (gen_sse.c on XMM
 * registers, gen_simd.c on XMM and MMX registers). nregs is 16 for XMM
 * registers (REX.R/REX.B extend them) and 8 for MMX registers. */
#include "gen_internal.h"

static unsigned vreg(struct gctx *g, unsigned nregs) { return g_below(g, nregs); }

/* 0F 71-73 /digit ib: the register in ModRM.rm, the count biased to the
 * lane-width edges. */
void g_vec_shift_imm(struct gctx *g, struct enc *e, unsigned digit, unsigned nregs)
{
    static const uint8_t counts[] = {0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 255};
    e->has_modrm = true;
    e->modrm = (uint8_t)(digit << 3);
    enc_rm_reg(e, vreg(g, nregs));
    enc_imm(e, 1, g_chance(g, 2) ? counts[g_below(g, sizeof counts)] : dt_rand(g->r) & 0xff);
}

/* MOVD/MOVQ (0F 6E/7E): the vector register in ModRM.reg, r/m32 or r/m64
 * (REX.W) in ModRM.rm; store: the GPR or memory is written. Emits it. */
bool g_vec_movd(struct gctx *g, struct enc *e, unsigned nregs, bool store)
{
    bool w = g_chance(g, 2);
    if (w)
        e->rex |= REX_W;
    enc_reg(e, vreg(g, nregs));
    if (g_rm(g, e, w ? 8 : 4, store, true, true, true) == -2)
        return false;
    g_emit(g, e, w ? "MOVQ" : "MOVD", 0, 0, 0);
    return true;
}

/* r32 or r64 destination in ModRM.reg, a vector register in ModRM.rm, and
 * an imm8 when imm (PEXTRW, PMOVMSKB, MOVMSKPS). */
bool g_vec_to_gpr(struct gctx *g, struct enc *e, unsigned nregs, bool imm)
{
    unsigned sz = g_chance(g, 2) ? 8 : 4;
    if (sz == 8)
        e->rex |= REX_W;
    int r = g_pick_reg(g, sz, true, true);
    if (r < 0)
        return false;
    enc_reg(e, (unsigned)r);
    enc_rm_reg(e, vreg(g, nregs));
    if (imm)
        enc_imm(e, 1, dt_rand(g->r) & 0xff);
    return true;
}

/* PINSRW: the vector register in ModRM.reg, r32 or m16, imm8. */
bool g_vec_insert_word(struct gctx *g, struct enc *e, unsigned nregs)
{
    enc_reg(e, vreg(g, nregs));
    if (g_chance(g, 2)) {
        g_mem(g, e, 2, 0, 0);
    } else {
        int r = g_pick_reg(g, 4, true, false);
        if (r < 0)
            return false;
        enc_rm_reg(e, (unsigned)r);
    }
    enc_imm(e, 1, dt_rand(g->r) & 0xff);
    return true;
}
