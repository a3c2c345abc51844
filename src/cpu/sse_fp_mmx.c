/* The SSE/SSE2 conversions with an MMX register operand (SDM 2A
 * "CVTPI2PS", "CVTPS2PI", "CVTTPS2PI", "CVTPI2PD", "CVTPD2PI",
 * "CVTTPD2PI"). They are SSE instructions (CR4.OSFXSR, MXCSR, #XM) that
 * touch the x87/MMX state as the SDM says: a form with an MMX register
 * operand checks for a pending x87 exception (#MF) and makes the x87 to
 * MMX transition (TOP = 0, every tag valid); CVTPI2PS/CVTPI2PD from m64 do
 * neither. */
#include "cpu/mmx.h"
#include "cpu/sse_fp.h"
#include "cpu/sse_fp_host.h"
#include "opcodes_gen.h"

/* The SSE checks, then (mmx) the MMX ones after them: #MF, transition. */
static void check(struct cpu *c, uint32_t feature, bool mmx)
{
    sse_check(c, feature);
    if (mmx) {
        if (unlikely(mmx_x87_pending(c)))
            mmx_pending_fault(c);
        mmx_x87_enter(c);
    }
}

/* CVTPI2PS xmm, mm/m64; CVTPI2PD xmm, mm/m64: two int32 to the low two
 * singles (the rest of the XMM register kept) or to both doubles. */
static void cvtpi2p(struct cpu *c, const struct insn *in, enum ssefp_fmt fmt)
{
    check(c, fmt == SSEFP_S ? FPU_F_SSE : FPU_F_SSE2, in->mod == 3);
    uint64_t src = mmx_q(c, in, 8);
    union xmm_reg d = *xmm_v(c, in);
    uint32_t h = ssefp_host_mxcsr(c->fpu.mxcsr), fl = 0, f;
    for (unsigned i = 0; i < 2; i++) {
        uint64_t g = (uint64_t)(int64_t)(int32_t)(src >> (32 * i));
        uint64_t r = fmt == SSEFP_S ? ssefp_h_cvtsi2ss32(g, h, &f) & 0xffffffffu
                                    : ssefp_h_cvtsi2sd32(g, h, &f);
        ssefp_set(&d, fmt, i, r);
        fl |= f;
    }
    ssefp_finish(c, fl);
    *xmm_v(c, in) = d;
}

void op_cvtpi2ps(struct cpu *c, const struct insn *in) { cvtpi2p(c, in, SSEFP_S); }
void op_cvtpi2pd(struct cpu *c, const struct insn *in) { cvtpi2p(c, in, SSEFP_D); }

/* CVT(T)PS2PI mm, xmm/m64; CVT(T)PD2PI mm, xmm/m128 (aligned): two
 * elements to two int32 (the integer indefinite when out of range). */
static void cvtp2pi(struct cpu *c, const struct insn *in, enum ssefp_fmt fmt, bool trunc)
{
    check(c, fmt == SSEFP_S ? FPU_F_SSE : FPU_F_SSE2, true);
    union xmm_reg s;
    sse_read_w(c, in, &s, fmt == SSEFP_S ? 8 : 16, fmt == SSEFP_D);
    uint32_t h = ssefp_host_mxcsr(c->fpu.mxcsr), fl = 0, f;
    uint64_t r = 0;
    for (unsigned i = 0; i < 2; i++) {
        uint64_t v = ssefp_get(&s, fmt, i), e;
        if (fmt == SSEFP_S)
            e = trunc ? ssefp_h_cvttss2si32(v, h, &f) : ssefp_h_cvtss2si32(v, h, &f);
        else
            e = trunc ? ssefp_h_cvttsd2si32(v, h, &f) : ssefp_h_cvtsd2si32(v, h, &f);
        r |= (e & 0xffffffffu) << (32 * i);
        fl |= f;
    }
    ssefp_finish(c, fl);
    mmx_set_p(c, in, r);
}

void op_cvtps2pi(struct cpu *c, const struct insn *in) { cvtp2pi(c, in, SSEFP_S, false); }
void op_cvttps2pi(struct cpu *c, const struct insn *in) { cvtp2pi(c, in, SSEFP_S, true); }
void op_cvtpd2pi(struct cpu *c, const struct insn *in) { cvtp2pi(c, in, SSEFP_D, false); }
void op_cvttpd2pi(struct cpu *c, const struct insn *in) { cvtp2pi(c, in, SSEFP_D, true); }
