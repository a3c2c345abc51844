/* Specialised exec handlers for memory operands in 64-bit code: MOV,
 * MOVZX/MOVSX/MOVSXD, LEA, the load-and-operate ALU forms, CMP/TEST against
 * memory, and PUSH/POP of a register. The TLB hit is inline; a miss, a
 * page-crossing access or anything else unusual goes to cpu_exec_generic
 * before any state changes, so faults, MMIO and writes to code pages are
 * the reference handlers' business.
 *
 * In 64-bit mode only FS and GS have a base, and the only segment check left
 * is the canonical one (SDM 3A "Segmentation in IA-32e Mode"); the TLB holds
 * canonical pages only, so a hit passed it. Each handler comes in three
 * address forms, chosen when the block is decoded: base + disp, base +
 * index * scale + disp (both without an FS/GS base), and any other. */
#include "fastpath.h"

/* Effective address with a 64-bit address size (the only one in 64-bit
 * code without 67); RIP-relative counts from the next instruction. */
static inline uint64_t ea_any(const struct cpu *c, const struct insn *in)
{
    uint64_t ea = (uint64_t)in->disp;
    if (in->base == REG_RIP)
        ea += next_rip(c, in);
    else if (in->base != REG_NONE)
        ea += c->gpr[in->base];
    if (in->index != REG_NONE)
        ea += c->gpr[in->index] << in->scale;
    return ea;
}

static inline uint64_t lin_any(const struct cpu *c, const struct insn *in)
{
    return ea_any(c, in) + (in->seg >= SEG_FS ? c->seg[in->seg].base : 0);
}

/* The two common shapes, chosen only where no segment base applies (or for
 * LEA, which ignores segments): the effective address is the linear one. */
static inline uint64_t ea_b(const struct cpu *c, const struct insn *in)
{
    return c->gpr[in->base] + (uint64_t)in->disp;
}

static inline uint64_t ea_bi(const struct cpu *c, const struct insn *in)
{
    return c->gpr[in->base] + (c->gpr[in->index] << in->scale) + (uint64_t)in->disp;
}
#define lin_b ea_b
#define lin_bi ea_bi

/* Little-endian loads of 1, 2, 4 or 8 bytes from host memory. */
static inline uint64_t host_ld(const uint8_t *h, unsigned size)
{
    switch (size) {
    case 1: return h[0];
    case 2: { uint16_t v; memcpy(&v, h, 2); return v; }
    case 4: { uint32_t v; memcpy(&v, h, 4); return v; }
    default: { uint64_t v; memcpy(&v, h, 8); return v; }
    }
}

static inline void host_st(uint8_t *h, unsigned size, uint64_t v)
{
    if (size == 8) {
        memcpy(h, &v, 8);
    } else {
        uint32_t w = (uint32_t)v;
        memcpy(h, &w, 4);
    }
}

/* The operand at the instruction's memory address, or hand over. */
#define LOAD(form, size, v)                                                                \
    uint8_t *h_;                                                                           \
    if (unlikely(!tlb_host(c->tlb_rd, lin_##form(c, in), (size), &h_)))                    \
        return cpu_exec_generic(c, in);                                                    \
    uint64_t v = host_ld(h_, (size))

/* The host address of the size bytes to write, or hand over. */
#define WRITABLE(form, size, h)                                                            \
    uint8_t *h;                                                                            \
    if (unlikely(!tlb_host(c->tlb_wr, lin_##form(c, in), (size), &h)))                     \
        return cpu_exec_generic(c, in)

/* MOV m, r / MOV m, imm: value, size bytes. */
#define ST_FORM(nm, form, size, value)                                                     \
    static const struct insn *f_##nm##_##form(struct cpu *c, const struct insn *in)        \
    {                                                                                      \
        WRITABLE(form, size, h_);                                                          \
        host_st(h_, (size), (value));                                                      \
        CPU_NEXT(c, in);                                                                   \
    }

/* MOV r, m and MOVZX r, m: size bytes, zero-extended into the register. */
#define LD_FORM(nm, form, size)                                                            \
    static const struct insn *f_##nm##_##form(struct cpu *c, const struct insn *in)        \
    {                                                                                      \
        LOAD(form, size, v);                                                               \
        c->gpr[in->fdst] = v;                                                              \
        CPU_NEXT(c, in);                                                                   \
    }

/* MOV r, m / MOV m, r / MOV m, imm / MOVZX / MOVSX / MOVSXD. */
#define MOV_FORMS(form)                                                                    \
    LD_FORM(ld64, form, 8)                                                                 \
    LD_FORM(ld32, form, 4)                                                                 \
    LD_FORM(ldzx8, form, 1)                                                                \
    LD_FORM(ldzx16, form, 2)                                                               \
    /* MOVSX/MOVSXD: rm2 is the source size, opsize the destination's */                   \
    static const struct insn *f_ldsx_##form(struct cpu *c, const struct insn *in)          \
    {                                                                                      \
        LOAD(form, in->rm2, v);                                                            \
        uint64_t x = gp_sext(v, in->rm2);                                                  \
        c->gpr[in->fdst] = in->opsize == 8 ? x : (uint32_t)x;                              \
        CPU_NEXT(c, in);                                                                   \
    }                                                                                      \
    ST_FORM(st64, form, 8, c->gpr[in->fsrc])                                               \
    ST_FORM(st32, form, 4, c->gpr[in->fsrc])                                               \
    ST_FORM(sti, form, in->opsize, in->imm)

MOV_FORMS(b)
MOV_FORMS(bi)
MOV_FORMS(any)

/* LEA computes the effective address; no segment base (SDM 2A "LEA"). */

#define LEA_FORMS(form)                                                                    \
    static const struct insn *f_lea64_##form(struct cpu *c, const struct insn *in)         \
    {                                                                                      \
        c->gpr[in->fdst] = ea_##form(c, in);                                               \
        CPU_NEXT(c, in);                                                                   \
    }                                                                                      \
    static const struct insn *f_lea32_##form(struct cpu *c, const struct insn *in)         \
    {                                                                                      \
        c->gpr[in->fdst] = (uint32_t)ea_##form(c, in);                                     \
        CPU_NEXT(c, in);                                                                   \
    }
LEA_FORMS(b)
LEA_FORMS(bi)
LEA_FORMS(any)

/* op r, m (the register is the destination) and CMP/TEST m, r / m, imm
 * (nothing is written): the same flags records as the register forms. */
#define ALU_MEM(form, name, lfop, expr, writes)                                            \
    static const struct insn *f_##name##_rm64_##form(struct cpu *c, const struct insn *in) \
    {                                                                                      \
        LOAD(form, 8, b);                                                                  \
        uint64_t a = c->gpr[in->fdst];                                                     \
        uint64_t r = (expr);                                                               \
        if (writes)                                                                        \
            c->gpr[in->fdst] = r;                                                          \
        lf_set(c, lfop, 8, r, a, b);                                                       \
        CPU_NEXT(c, in);                                                                   \
    }                                                                                      \
    static const struct insn *f_##name##_rm32_##form(struct cpu *c, const struct insn *in) \
    {                                                                                      \
        LOAD(form, 4, b);                                                                  \
        uint64_t a = (uint32_t)c->gpr[in->fdst];                                           \
        uint64_t r = (uint32_t)(expr);                                                     \
        if (writes)                                                                        \
            c->gpr[in->fdst] = r;                                                          \
        lf_set(c, lfop, 4, r, a, b);                                                       \
        CPU_NEXT(c, in);                                                                   \
    }

#define CMP_MEM(form, name, lfop, expr)                                                    \
    static const struct insn *f_##name##_mr64_##form(struct cpu *c, const struct insn *in) \
    {                                                                                      \
        LOAD(form, 8, a);                                                                  \
        uint64_t b = c->gpr[in->fsrc];                                                     \
        lf_set(c, lfop, 8, (expr), a, b);                                                  \
        CPU_NEXT(c, in);                                                                   \
    }                                                                                      \
    static const struct insn *f_##name##_mr32_##form(struct cpu *c, const struct insn *in) \
    {                                                                                      \
        LOAD(form, 4, a);                                                                  \
        uint64_t b = (uint32_t)c->gpr[in->fsrc];                                           \
        lf_set(c, lfop, 4, (uint32_t)(expr), a, b);                                        \
        CPU_NEXT(c, in);                                                                   \
    }                                                                                      \
    static const struct insn *f_##name##_mi64_##form(struct cpu *c, const struct insn *in) \
    {                                                                                      \
        LOAD(form, 8, a);                                                                  \
        uint64_t b = in->imm;                                                              \
        lf_set(c, lfop, 8, (expr), a, b);                                                  \
        CPU_NEXT(c, in);                                                                   \
    }                                                                                      \
    static const struct insn *f_##name##_mi32_##form(struct cpu *c, const struct insn *in) \
    {                                                                                      \
        LOAD(form, 4, a);                                                                  \
        uint64_t b = (uint32_t)in->imm;                                                    \
        lf_set(c, lfop, 4, (uint32_t)(expr), a, b);                                        \
        CPU_NEXT(c, in);                                                                   \
    }

/* op m, r / op m, imm (read-modify-write): a write entry in the TLB means
 * the page may be read as well, and its dirty bit is already set. */
#define RMW_MEM(form, name, lfop, expr)                                                    \
    static const struct insn *f_##name##_wr64_##form(struct cpu *c, const struct insn *in) \
    {                                                                                      \
        WRITABLE(form, 8, h);                                                              \
        uint64_t a = host_ld(h, 8), b = c->gpr[in->fsrc], r = (expr);                      \
        host_st(h, 8, r);                                                                  \
        lf_set(c, lfop, 8, r, a, b);                                                       \
        CPU_NEXT(c, in);                                                                   \
    }                                                                                      \
    static const struct insn *f_##name##_wr32_##form(struct cpu *c, const struct insn *in) \
    {                                                                                      \
        WRITABLE(form, 4, h);                                                              \
        uint64_t a = host_ld(h, 4), b = (uint32_t)c->gpr[in->fsrc], r = (uint32_t)(expr);  \
        host_st(h, 4, r);                                                                  \
        lf_set(c, lfop, 4, r, a, b);                                                       \
        CPU_NEXT(c, in);                                                                   \
    }                                                                                      \
    static const struct insn *f_##name##_wi64_##form(struct cpu *c, const struct insn *in) \
    {                                                                                      \
        WRITABLE(form, 8, h);                                                              \
        uint64_t a = host_ld(h, 8), b = in->imm, r = (expr);                               \
        host_st(h, 8, r);                                                                  \
        lf_set(c, lfop, 8, r, a, b);                                                       \
        CPU_NEXT(c, in);                                                                   \
    }                                                                                      \
    static const struct insn *f_##name##_wi32_##form(struct cpu *c, const struct insn *in) \
    {                                                                                      \
        WRITABLE(form, 4, h);                                                              \
        uint64_t a = host_ld(h, 4), b = (uint32_t)in->imm, r = (uint32_t)(expr);           \
        host_st(h, 4, r);                                                                  \
        lf_set(c, lfop, 4, r, a, b);                                                       \
        CPU_NEXT(c, in);                                                                   \
    }

#define ALU_MEM_ALL(form)                                                                  \
    ALU_MEM(form, add, LF_ADD, a + b, 1)                                                   \
    ALU_MEM(form, sub, LF_SUB, a - b, 1)                                                   \
    ALU_MEM(form, cmp, LF_SUB, a - b, 0)                                                   \
    ALU_MEM(form, and, LF_LOGIC, a & b, 1)                                                 \
    ALU_MEM(form, or, LF_LOGIC, a | b, 1)                                                  \
    ALU_MEM(form, xor, LF_LOGIC, a ^ b, 1)                                                 \
    ALU_MEM(form, test, LF_LOGIC, a & b, 0)                                                \
    CMP_MEM(form, cmp, LF_SUB, a - b)                                                      \
    CMP_MEM(form, test, LF_LOGIC, a & b)                                                   \
    RMW_MEM(form, add, LF_ADD, a + b)                                                      \
    RMW_MEM(form, sub, LF_SUB, a - b)                                                      \
    RMW_MEM(form, and, LF_LOGIC, a & b)                                                    \
    RMW_MEM(form, or, LF_LOGIC, a | b)                                                     \
    RMW_MEM(form, xor, LF_LOGIC, a ^ b)

ALU_MEM_ALL(b)
ALU_MEM_ALL(bi)
ALU_MEM_ALL(any)

/* PUSH r64 / POP r64: SS has base 0 in 64-bit mode. POP RSP leaves the
 * popped value (SDM 2B "POP"): RSP is incremented before the write. */
static const struct insn *f_push64(struct cpu *c, const struct insn *in)
{
    uint64_t rsp = c->gpr[4] - 8;
    uint8_t *h;
    if (unlikely(!tlb_host(c->tlb_wr, rsp, 8, &h)))
        return cpu_exec_generic(c, in);
    host_st(h, 8, c->gpr[in->fsrc]);
    c->gpr[4] = rsp;
    CPU_NEXT(c, in);
}

static const struct insn *f_pop64(struct cpu *c, const struct insn *in)
{
    uint64_t rsp = c->gpr[4];
    uint8_t *h;
    if (unlikely(!tlb_host(c->tlb_rd, rsp, 8, &h)))
        return cpu_exec_generic(c, in);
    uint64_t v = host_ld(h, 8);
    c->gpr[4] = rsp + 8;
    c->gpr[in->fdst] = v;
    CPU_NEXT(c, in);
}

/* ---- selection ------------------------------------------------------------ */

enum form { FORM_B, FORM_BI, FORM_ANY };

/* The address form of in's memory operand; lea: no segment base applies. */
static enum form form_of(const struct insn *in, bool lea)
{
    if (!lea && in->seg >= SEG_FS)
        return FORM_ANY;
    if (in->base < 16 && in->index == REG_NONE)
        return FORM_B;
    if (in->base < 16 && in->index < 16)
        return FORM_BI;
    return FORM_ANY;
}

#define PICK(f, name) ((f) == FORM_B ? name##_b : (f) == FORM_BI ? name##_bi : name##_any)

/* Per operation, by enum form: op r, m (rm); CMP/TEST m, r (mr) and m, imm
 * (mi); op m, r (wr) and m, imm (wi) read-modify-write. */
struct alu_mem {
    insn_handler generic;
    insn_exec rm64[3], rm32[3];
    insn_exec mr64[3], mr32[3], mi64[3], mi32[3];
    insn_exec wr64[3], wr32[3], wi64[3], wi32[3];
};

#define ROW3(n, k) { f_##n##_##k##_b, f_##n##_##k##_bi, f_##n##_##k##_any }
static const struct alu_mem alu_mem[] = {
#define RMW(n) ROW3(n, wr64), ROW3(n, wr32), ROW3(n, wi64), ROW3(n, wi32)
    { op_add, ROW3(add, rm64), ROW3(add, rm32), {0}, {0}, {0}, {0}, RMW(add) },
    { op_sub, ROW3(sub, rm64), ROW3(sub, rm32), {0}, {0}, {0}, {0}, RMW(sub) },
    { op_and, ROW3(and, rm64), ROW3(and, rm32), {0}, {0}, {0}, {0}, RMW(and) },
    { op_or, ROW3(or, rm64), ROW3(or, rm32), {0}, {0}, {0}, {0}, RMW(or) },
    { op_xor, ROW3(xor, rm64), ROW3(xor, rm32), {0}, {0}, {0}, {0}, RMW(xor) },
    { op_cmp, ROW3(cmp, rm64), ROW3(cmp, rm32), ROW3(cmp, mr64), ROW3(cmp, mr32),
      ROW3(cmp, mi64), ROW3(cmp, mi32), {0}, {0}, {0}, {0} },
    { op_test, ROW3(test, rm64), ROW3(test, rm32), ROW3(test, mr64), ROW3(test, mr32),
      ROW3(test, mi64), ROW3(test, mi32), {0}, {0}, {0}, {0} },
#undef RMW
};
#undef ROW3

bool cpu_specialize_mem64(struct insn *in)
{
    if (in->addrsize != 8 || (in->pfx & PFX_LOCK))
        return false;
    bool wide = in->opsize == 8;
    insn_handler h = in->handler;

    if ((h == op_push || h == op_pop) && in->opk[0] == OPK_OPREG && wide) {
        in->fsrc = in->fdst = in->rm;
        in->exec = h == op_push ? f_push64 : f_pop64;
        return true;
    }
    bool mem0 = in->opk[0] == OPK_RM || in->opk[0] == OPK_MEM;
    bool mem1 = in->opk[1] == OPK_RM || in->opk[1] == OPK_MEM;
    if (in->mod == 3 || !(mem0 || mem1))
        return false;
    enum form f = form_of(in, h == op_lea);

    if (h == op_lea && mem1) {
        in->fdst = in->reg;
        in->exec = wide ? PICK(f, f_lea64) : PICK(f, f_lea32);
        return true;
    }
    if (h == op_mov && in->opk[0] == OPK_REG && in->opk[1] == OPK_RM) {
        in->fdst = in->reg;
        in->exec = wide ? PICK(f, f_ld64) : PICK(f, f_ld32);
        return true;
    }
    if (h == op_mov && in->opk[0] == OPK_RM && in->opk[1] == OPK_REG) {
        in->fsrc = in->reg;
        in->exec = wide ? PICK(f, f_st64) : PICK(f, f_st32);
        return true;
    }
    if (h == op_mov && in->opk[0] == OPK_RM && in->opk[1] == OPK_IMM) {
        in->exec = PICK(f, f_sti);
        return true;
    }
    if (h == op_movzx_b || h == op_movzx_w) {
        in->fdst = in->reg;
        in->exec = h == op_movzx_b ? PICK(f, f_ldzx8) : PICK(f, f_ldzx16);
        return true;
    }
    if (h == op_movsx_b || h == op_movsx_w || h == op_movsxd) {
        in->fdst = in->reg;
        in->rm2 = h == op_movsx_b ? 1 : h == op_movsx_w ? 2 : 4;
        in->exec = PICK(f, f_ldsx);
        return true;
    }
    for (unsigned i = 0; i < sizeof alu_mem / sizeof alu_mem[0]; i++) {
        const struct alu_mem *a = &alu_mem[i];
        if (h != a->generic)
            continue;
        if (in->opk[0] == OPK_REG && in->opk[1] == OPK_RM) {
            in->fdst = in->reg;
            in->exec = wide ? a->rm64[f] : a->rm32[f];
        } else if (in->opk[0] == OPK_RM && in->opk[1] == OPK_REG && a->mr64[f]) {
            in->fsrc = in->reg;
            in->exec = wide ? a->mr64[f] : a->mr32[f];
        } else if (in->opk[0] == OPK_RM && in->opk[1] == OPK_IMM && a->mi64[f]) {
            in->exec = wide ? a->mi64[f] : a->mi32[f];
        } else if (in->opk[0] == OPK_RM && in->opk[1] == OPK_REG && a->wr64[f]) {
            in->fsrc = in->reg;
            in->exec = wide ? a->wr64[f] : a->wr32[f];
        } else if (in->opk[0] == OPK_RM && in->opk[1] == OPK_IMM && a->wi64[f]) {
            in->exec = wide ? a->wi64[f] : a->wi32[f];
        }
        return in->exec != cpu_exec_generic;
    }
    return false;
}
