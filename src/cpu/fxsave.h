/* Private to src/cpu: the FXSAVE image, which is also the legacy region of
 * an XSAVE area (SDM 1 "Legacy Region of an XSAVE Area": the x87 state
 * component is bytes 23:0 and 159:32, the SSE state component bytes 31:24
 * and 415:160). fxsave.c builds and reads it in pieces; FXSAVE/FXRSTOR use
 * every piece, the XSAVE family (xsave.c) those of the components it
 * handles. */
#ifndef NVMX_CPU_FXSAVE_H
#define NVMX_CPU_FXSAVE_H

#include "cpu/sse.h"

/* Where an image lives: segment, offset, the address-size mask, and the
 * layout of FIP/FDP (wide: REX.W in 64-bit mode, 64-bit pointers). */
struct fx_area {
    uint8_t seg;
    uint64_t ea;
    uint64_t mask;
    bool wide;
};

static inline struct fx_area fx_area_of(struct cpu *c, const struct insn *in, uint64_t ea)
{
    struct fx_area a = { .seg = in->seg, .ea = ea, .mask = size_mask(in->addrsize),
                         .wide = cpu_is_64(c) && (in->rex & 8) };
    return a;
}

/* XMM0-15 in 64-bit mode, XMM0-7 outside it. */
static inline unsigned fx_nxmm(const struct cpu *c)
{
    return cpu_is_64(c) ? 16 : 8;
}

/* Stores: FCW..FDS (bytes 0-23) and ST0-ST7 (32-159); MXCSR and
 * MXCSR_MASK (24-31); the XMM registers (160 onwards). */
void fx_store_x87(struct cpu *c, const struct fx_area *a);
void fx_store_mxcsr(struct cpu *c, const struct fx_area *a);
void fx_store_xmm(struct cpu *c, const struct fx_area *a);

/* Loads into *n (committed by the caller once every check has passed). */
void fx_load_x87(struct cpu *c, const struct fx_area *a, struct cpu_fpu *n);
uint32_t fx_load_mxcsr(struct cpu *c, const struct fx_area *a);
void fx_load_xmm(struct cpu *c, const struct fx_area *a, struct cpu_fpu *n);

#endif
