/* Difftest encoder: builds one x86-64 instruction from its SDM form (legacy
 * prefixes, REX, opcode, ModRM/SIB, displacement, immediate). Independent of
 * nvmx's opcode table on purpose: the encodings come from SDM Vol. 2. */
#ifndef NVMX_DIFFTEST_ENCODE_H
#define NVMX_DIFFTEST_ENCODE_H

#include "difftest.h"

struct enc {
    uint8_t pfx[6];
    int npfx;
    uint8_t mand;    /* mandatory prefix (F3 for POPCNT/LZCNT/TZCNT), emitted last */
    uint8_t rex;     /* W R X B bits (low nibble) */
    bool rex_force;  /* emit a REX byte even if no bit is set */
    uint8_t op[3];
    int nop;
    bool has_modrm;
    uint8_t modrm;
    bool has_sib;
    uint8_t sib;
    int disp_size;   /* 0, 1, 4 */
    int32_t disp;
    int imm_size;    /* 0, 1, 2, 4, 8 */
    uint64_t imm;
    bool riprel;     /* disp32 is RIP-relative: fixed up at layout */
    uint64_t rip_target, rip_segbase;
    bool addr32;
};

#define REX_W 8
#define REX_R 4
#define REX_X 2
#define REX_B 1

static inline void enc_pfx(struct enc *e, uint8_t p)
{
    for (int i = 0; i < e->npfx; i++)
        if (e->pfx[i] == p)
            return;
    if (e->npfx < (int)sizeof e->pfx)
        e->pfx[e->npfx++] = p;
}

static inline void enc_op(struct enc *e, uint8_t b) { e->op[e->nop++] = b; }

/* ModRM.reg from a register number 0-15 (sets REX.R). */
static inline void enc_reg(struct enc *e, unsigned r)
{
    e->has_modrm = true;
    e->modrm = (uint8_t)((e->modrm & ~0x38u) | ((r & 7) << 3));
    if (r & 8)
        e->rex |= REX_R;
}

/* ModRM.rm as a register (mod = 3, sets REX.B). */
static inline void enc_rm_reg(struct enc *e, unsigned r)
{
    e->has_modrm = true;
    e->modrm = (uint8_t)((e->modrm & 0x38u) | 0xc0u | (r & 7));
    if (r & 8)
        e->rex |= REX_B;
}

static inline void enc_imm(struct enc *e, int size, uint64_t v)
{
    e->imm_size = size;
    e->imm = v;
}

#endif
