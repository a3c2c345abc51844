/* Difftest generator: one template per mnemonic, each choosing among the
 * instruction's SDM Vol. 2 forms, with the flags it reads, writes and leaves
 * undefined (from the instruction's "Flags Affected" section). */
#include "gen_internal.h"

#include <string.h>

#define CF DT_CF
#define PF DT_PF
#define AF DT_AF
#define ZF DT_ZF
#define SF DT_SF
#define OF DT_OF
#define ALL6 DT_ALL6

/* Flags a condition code reads (SDM 1 Appendix B "EFLAGS Condition Codes"). */
static uint32_t cc_reads(unsigned cc)
{
    static const uint32_t t[8] = {OF, CF, ZF, CF | ZF, SF, PF, SF | OF, ZF | SF | OF};
    return t[(cc >> 1) & 7];
}

/* Byte forms: with a REX prefix registers 4-7 are SPL..DIL, without they are
 * AH..BH (SDM 2A "REX Prefixes"). Decide first, then pick registers. */
static bool byte_rex(struct gctx *g, struct enc *e, unsigned sz)
{
    if (sz != 1) {
        if (g_chance(g, 10))
            e->rex_force = true;
        return true;
    }
    bool rex = g_chance(g, 3);
    e->rex_force = rex;
    return rex;
}

static uint64_t imm_of(struct gctx *g, unsigned bytes)
{
    uint64_t v = g_value(g);
    return bytes >= 8 ? v : v & ((1ull << (8 * bytes)) - 1);
}

/* E,G operand pair. Returns false if no register fits the constraints. */
static bool eg(struct gctx *g, struct enc *e, unsigned sz, bool rm_w, bool reg_w, bool allow_reg,
               bool allow_mem, int *rm_out, int *reg_out)
{
    bool rex = byte_rex(g, e, sz);
    int reg = g_pick_reg(g, sz, rex, reg_w);
    if (reg < 0)
        return false;
    enc_reg(e, (unsigned)reg);
    g->no_rex = !rex;
    int rm = g_rm(g, e, sz, rm_w, rex, allow_mem, allow_reg);
    g->no_rex = false;
    if (rm == -2)
        return false;
    if (rm_out)
        *rm_out = rm;
    if (reg_out)
        *reg_out = reg;
    return true;
}

/* E operand with a /digit. */
static int e_digit(struct gctx *g, struct enc *e, unsigned sz, unsigned digit, bool write)
{
    bool rex = byte_rex(g, e, sz);
    e->has_modrm = true;
    e->modrm = (uint8_t)(digit << 3);
    g->no_rex = !rex;
    int rm = g_rm(g, e, sz, write, rex, true, true);
    g->no_rex = false;
    return rm;
}

static void maybe_lock(struct gctx *g, struct enc *e, int rm)
{
    if (rm == -1 && g_chance(g, 8))
        enc_pfx(e, 0xf0);
}

/* ---- ALU: ADD OR ADC SBB AND SUB XOR CMP (SDM 2A "ADD" ... "CMP") ---------- */
static const char *const alu_names[8] = {"ADD", "OR", "ADC", "SBB", "AND", "SUB", "XOR", "CMP"};

static bool t_alu(struct gctx *g, int k)
{
    struct enc e = {0};
    bool write = k != 7;
    uint32_t rd = (k == 2 || k == 3) ? CF : 0;
    uint32_t un = (k == 1 || k == 4 || k == 6) ? AF : 0;
    unsigned form = g_below(g, 9);
    unsigned sz = (form == 0 || form == 2 || form == 4 || form == 6) ? 1 : g_vsize(g);
    int rm = -2;
    g_osize(g, &e, sz);
    switch (form) {
    case 0: case 1:
        enc_op(&e, (uint8_t)(8 * k + form));
        if (!eg(g, &e, sz, write, false, true, true, &rm, NULL))
            return false;
        break;
    case 2: case 3:
        enc_op(&e, (uint8_t)(8 * k + form));
        if (!eg(g, &e, sz, false, write, true, true, NULL, NULL))
            return false;
        break;
    case 4: case 5:
        if (write && !g_can_write(g, R_RAX))
            return false;
        enc_op(&e, (uint8_t)(8 * k + form));
        enc_imm(&e, sz == 1 ? 1 : sz == 2 ? 2 : 4, imm_of(g, sz == 1 ? 1 : sz == 2 ? 2 : 4));
        break;
    default:
        enc_op(&e, form == 6 ? 0x80 : form == 7 ? 0x81 : 0x83);
        rm = e_digit(g, &e, sz, (unsigned)k, write);
        if (rm == -2)
            return false;
        if (form == 7)
            enc_imm(&e, sz == 2 ? 2 : 4, imm_of(g, sz == 2 ? 2 : 4));
        else
            enc_imm(&e, 1, imm_of(g, 1));
        break;
    }
    if (write && (form <= 1 || form >= 6))
        maybe_lock(g, &e, rm);
    g_emit(g, &e, alu_names[k], rd, ALL6, un);
    return true;
}

/* TEST (SDM 2B "TEST"): OF = CF = 0, AF undefined. */
static bool t_test(struct gctx *g, int unused)
{
    struct enc e = {0};
    unsigned form = g_below(g, 6);
    unsigned sz = (form % 2 == 0) ? 1 : g_vsize(g);
    g_osize(g, &e, sz);
    switch (form) {
    case 0: case 1:
        enc_op(&e, (uint8_t)(0x84 + form));
        if (!eg(g, &e, sz, false, false, true, true, NULL, NULL))
            return false;
        break;
    case 2: case 3:
        enc_op(&e, (uint8_t)(0xa8 + form - 2));
        enc_imm(&e, sz == 1 ? 1 : sz == 2 ? 2 : 4, imm_of(g, sz == 1 ? 1 : sz == 2 ? 2 : 4));
        break;
    default:
        enc_op(&e, (uint8_t)(0xf6 + form - 4));
        if (e_digit(g, &e, sz, 0, false) == -2)
            return false;
        enc_imm(&e, sz == 1 ? 1 : sz == 2 ? 2 : 4, imm_of(g, sz == 1 ? 1 : sz == 2 ? 2 : 4));
        break;
    }
    g_emit(g, &e, "TEST", 0, ALL6, AF);
    return true;
}

/* INC DEC (FE/FF /0 /1: CF unaffected), NOT NEG (F6/F7 /2 /3) */
static bool t_unary(struct gctx *g, int k)
{
    static const char *const names[] = {"INC", "DEC", "NOT", "NEG"};
    static const uint8_t digit[] = {0, 1, 2, 3};
    static const uint32_t wr[] = {ALL6 & ~CF, ALL6 & ~CF, 0, ALL6};
    struct enc e = {0};
    unsigned sz = g_any_size(g);
    g_osize(g, &e, sz);
    enc_op(&e, (uint8_t)((k < 2 ? 0xfe : 0xf6) + (sz > 1)));
    int rm = e_digit(g, &e, sz, digit[k], true);
    if (rm == -2)
        return false;
    maybe_lock(g, &e, rm);
    g_emit(g, &e, names[k], 0, wr[k], 0);
    return true;
}

/* ---- shifts and rotates (SDM 2B "RCL/RCR/ROL/ROR", "SAL/SAR/SHL/SHR") -------- */
static void shift_flags(unsigned digit, unsigned sz, bool known, unsigned count, uint32_t *rd,
                        uint32_t *wr, uint32_t *un)
{
    unsigned bits = sz * 8, mc = count & (sz == 8 ? 63 : 31);
    bool rot = digit < 4, thru = digit == 2 || digit == 3;
    *rd = thru ? CF : 0;
    if (!known) { /* count in CL: 0 leaves flags alone, so nothing is surely written */
        *wr = 0;
        *un = rot ? OF : AF | OF | ((digit == 4 || digit == 5 || digit == 6) && sz <= 2 ? CF : 0);
        return;
    }
    if (mc == 0) {
        *rd = *wr = *un = 0;
        return;
    }
    if (rot) {
        *wr = CF | OF;
        *un = mc == 1 ? 0 : OF;
        return;
    }
    *wr = ALL6;
    *un = AF | (mc == 1 ? 0 : OF);
    if (digit != 7 && mc >= bits)
        *un |= CF;
}

static unsigned shift_count(struct gctx *g)
{
    static const uint8_t c[] = {0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 0xff};
    return g_chance(g, 4) ? g_below(g, 256) : c[g_below(g, sizeof c)];
}

static bool t_shift(struct gctx *g, int digit)
{
    static const char *const names[] = {"ROL", "ROR", "RCL", "RCR", "SHL", "SHR", "SAL", "SAR"};
    struct enc e = {0};
    unsigned sz = g_any_size(g), form = g_below(g, 3), count = 1;
    uint32_t rd, wr, un;
    g_osize(g, &e, sz);
    enc_op(&e, (uint8_t)((form == 0 ? 0xc0 : form == 1 ? 0xd0 : 0xd2) + (sz > 1)));
    if (e_digit(g, &e, sz, (unsigned)digit, true) == -2)
        return false;
    if (form == 0) {
        count = shift_count(g);
        enc_imm(&e, 1, count);
    }
    shift_flags((unsigned)digit, sz, form != 2, count, &rd, &wr, &un);
    g_emit(g, &e, names[digit], rd, wr, un);
    return true;
}

/* SHLD SHRD (SDM 2B): a 16-bit count above 16 gives an undefined result, so
 * 16-bit forms use immediates up to 16 only. */
static bool t_shxd(struct gctx *g, int right)
{
    struct enc e = {0};
    unsigned sz = g_vsize(g), count = 0;
    bool cl = sz != 2 && g_chance(g, 2);
    g_osize(g, &e, sz);
    enc_op(&e, 0x0f);
    enc_op(&e, (uint8_t)((right ? 0xac : 0xa4) + cl));
    if (!eg(g, &e, sz, true, false, true, true, NULL, NULL))
        return false;
    if (!cl) {
        do
            count = shift_count(g);
        while (sz == 2 && (count & 31) > 16);
        enc_imm(&e, 1, count);
    }
    unsigned mc = count & (sz == 8 ? 63 : 31);
    uint32_t wr = cl || mc == 0 ? 0 : ALL6;
    uint32_t un = cl ? AF | OF : mc == 0 ? 0 : AF | (mc == 1 ? 0 : OF);
    g_emit(g, &e, right ? "SHRD" : "SHLD", 0, wr, un);
    return true;
}

/* ---- multiply and divide (SDM 2A "MUL", "IMUL", "DIV", "IDIV") -------------- */
static bool t_muldiv(struct gctx *g, int digit)
{
    static const char *const names[] = {"MUL", "IMUL", "DIV", "IDIV"};
    struct enc e = {0};
    unsigned sz = g_any_size(g);
    if (!g_can_write(g, R_RAX) || (sz > 1 && !g_can_write(g, R_RDX)))
        return false;
    /* A dividend helper half the time, so not every division overflows. */
    if (digit >= 6 && sz > 1 && g->k->n + 2 <= g->nplan && g_chance(g, 2)) {
        struct enc h = {0};
        if (digit == 7 && g_chance(g, 2)) {
            g_osize(g, &h, sz);
            enc_op(&h, 0x99); /* CWD/CDQ/CQO */
            g_emit(g, &h, sz == 2 ? "CWD" : sz == 4 ? "CDQ" : "CQO", 0, 0, 0);
        } else {
            enc_op(&h, 0x31);
            h.has_modrm = true;
            h.modrm = 0xd2; /* xor edx, edx */
            g_emit(g, &h, "XOR", 0, ALL6, AF);
        }
    }
    g_osize(g, &e, sz);
    enc_op(&e, (uint8_t)(0xf6 + (sz > 1)));
    if (e_digit(g, &e, sz, (unsigned)digit, false) == -2)
        return false;
    if (digit < 6)
        g_emit(g, &e, names[digit - 4], 0, ALL6, SF | ZF | AF | PF);
    else
        g_emit(g, &e, names[digit - 4], 0, ALL6, ALL6);
    return true;
}

/* IMUL Gv,Ev / Gv,Ev,Iz / Gv,Ev,Ibs */
static bool t_imul2(struct gctx *g, int unused)
{
    struct enc e = {0};
    unsigned sz = g_vsize(g), form = g_below(g, 3);
    g_osize(g, &e, sz);
    if (form == 0) {
        enc_op(&e, 0x0f);
        enc_op(&e, 0xaf);
    } else {
        enc_op(&e, form == 1 ? 0x69 : 0x6b);
    }
    if (!eg(g, &e, sz, false, true, true, true, NULL, NULL))
        return false;
    if (form == 1)
        enc_imm(&e, sz == 2 ? 2 : 4, imm_of(g, sz == 2 ? 2 : 4));
    else if (form == 2)
        enc_imm(&e, 1, imm_of(g, 1));
    g_emit(g, &e, "IMUL", 0, ALL6, SF | ZF | AF | PF);
    return true;
}

/* ---- bit test and scan (SDM 2A "BT", "BTS", "BTR", "BTC", "BSF", "BSR") ---- */
static bool t_bt(struct gctx *g, int k)
{
    static const char *const names[] = {"BT", "BTS", "BTR", "BTC"};
    struct enc e = {0};
    unsigned sz = g_vsize(g), form = g_below(g, 4);
    bool write = k != 0;
    int rm = -2;
    g_osize(g, &e, sz);
    enc_op(&e, 0x0f);
    if (form == 0) { /* register, register */
        enc_op(&e, (uint8_t)(0xa3 + 8 * k));
        if (!eg(g, &e, sz, write, false, true, false, &rm, NULL))
            return false;
    } else if (form == 1) { /* memory, register: the offset reaches beyond the operand */
        enc_op(&e, (uint8_t)(0xa3 + 8 * k));
        int r = g->idx_reg;
        enc_reg(&e, (unsigned)r);
        int64_t off = (int64_t)g->k->init.gpr[r];
        int64_t bits = 8 * (int64_t)sz;
        int64_t q = off >= 0 ? off / bits : -((-off + bits - 1) / bits);
        int64_t extra = q * (int64_t)sz;
        g_mem(g, &e, sz, extra, extra);
        rm = -1;
    } else { /* 0F BA /4../7 Ib: the offset is taken modulo the operand size */
        enc_op(&e, 0xba);
        rm = e_digit(g, &e, sz, 4 + (unsigned)k, write);
        if (rm == -2)
            return false;
        enc_imm(&e, 1, g_below(g, 256));
    }
    if (write)
        maybe_lock(g, &e, rm);
    g_emit(g, &e, names[k], 0, CF | OF | SF | AF | PF, OF | SF | AF | PF);
    return true;
}

static bool t_bscan(struct gctx *g, int rev)
{
    struct enc e = {0};
    unsigned sz = g_vsize(g);
    int reg;
    g_osize(g, &e, sz);
    enc_op(&e, 0x0f);
    enc_op(&e, rev ? 0xbd : 0xbc);
    if (!eg(g, &e, sz, false, true, true, true, NULL, &reg))
        return false;
    struct dt_insn *in = g_emit(g, &e, rev ? "BSR" : "BSF", 0, ALL6, CF | OF | SF | AF | PF);
    in->info |= DTI_BSCAN;
    in->dst_reg = (uint8_t)reg;
    return true;
}

/* POPCNT LZCNT TZCNT: F3 0F B8 / BD / BC */
static bool t_cnt(struct gctx *g, int k)
{
    static const char *const names[] = {"POPCNT", "LZCNT", "TZCNT"};
    static const uint8_t ops[] = {0xb8, 0xbd, 0xbc};
    struct enc e = {0};
    unsigned sz = g_vsize(g);
    g_osize(g, &e, sz);
    e.mand = 0xf3;
    enc_op(&e, 0x0f);
    enc_op(&e, ops[k]);
    if (!eg(g, &e, sz, false, true, true, true, NULL, NULL))
        return false;
    g_emit(g, &e, names[k], 0, ALL6, k == 0 ? 0 : OF | SF | AF | PF);
    return true;
}

/* ---- string instructions (SDM 2A "MOVS", "STOS", "LODS", "CMPS", "SCAS") ---- */
static bool t_string(struct gctx *g, int k)
{
    static const char *const names[] = {"MOVS", "STOS", "LODS", "CMPS", "SCAS"};
    static const uint8_t ops[] = {0xa4, 0xaa, 0xac, 0xa6, 0xae};
    struct enc e = {0};
    unsigned sz = g_any_size(g);
    bool cmp = k >= 3;
    if ((k == 2 && !g_can_write(g, R_RAX)) || ((k == 1 || k == 4) && (g->tainted & 1)))
        return false;
    g_osize(g, &e, sz);
    unsigned rep = g_below(g, cmp ? 3 : 2);
    if (rep == 1)
        enc_pfx(&e, 0xf3);
    else if (rep == 2)
        enc_pfx(&e, 0xf2);
    bool src = k == 0 || k == 2 || k == 3; /* reads DS:rSI */
    if (g_chance(g, 6) && (!src || g->str_addr32_ok))
        enc_pfx(&e, 0x67);
    static const uint8_t any_seg[] = {0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65};
    if (src && g->str_seg)
        enc_pfx(&e, g->str_seg); /* RSI was set relative to this base */
    else if (src && g_chance(g, 8))
        enc_pfx(&e, any_seg[g_below(g, 4)]); /* a null-base segment */
    else if (!src && g_chance(g, 6))
        enc_pfx(&e, any_seg[g_below(g, 6)]); /* ES:rDI ignores it */
    enc_op(&e, (uint8_t)(ops[k] + (sz > 1)));
    if (sz == 1 && g_chance(g, 4))
        e.rex_force = true;
    uint32_t wr = cmp && !rep ? ALL6 : 0;
    struct dt_insn *in = g_emit(g, &e, names[k], 0, wr, 0);
    if (rep)
        in->info |= DTI_REP;
    return true;
}

/* ---- exchange and compare (SDM 2A "CMPXCHG", 2B "XADD", "XCHG") -------------- */
static bool t_xchg(struct gctx *g, int unused)
{
    struct enc e = {0};
    unsigned sz = g_any_size(g);
    if (sz > 1 && g_chance(g, 4)) { /* 90+r: XCHG rAX, r (90 alone is NOP) */
        int r = g_pick_reg(g, sz, true, true);
        if (r <= 0 || !g_can_write(g, R_RAX))
            return false;
        g_osize(g, &e, sz);
        if (r & 8)
            e.rex |= REX_B;
        enc_op(&e, (uint8_t)(0x90 + (r & 7)));
    } else {
        g_osize(g, &e, sz);
        enc_op(&e, (uint8_t)(0x86 + (sz > 1)));
        if (!eg(g, &e, sz, true, true, true, true, NULL, NULL))
            return false;
    }
    g_emit(g, &e, "XCHG", 0, 0, 0);
    return true;
}

static bool t_cmpxchg_xadd(struct gctx *g, int xadd)
{
    struct enc e = {0};
    unsigned sz = g_any_size(g);
    int rm;
    if (!xadd && !g_can_write(g, R_RAX))
        return false;
    g_osize(g, &e, sz);
    enc_op(&e, 0x0f);
    enc_op(&e, (uint8_t)((xadd ? 0xc0 : 0xb0) + (sz > 1)));
    if (!eg(g, &e, sz, true, xadd, true, true, &rm, NULL))
        return false;
    maybe_lock(g, &e, rm);
    g_emit(g, &e, xadd ? "XADD" : "CMPXCHG", 0, ALL6, 0);
    return true;
}

/* ---- condition codes (SDM 2B "SETcc", 2A "CMOVcc", "Jcc", "JMP") ------------- */
static bool t_setcc(struct gctx *g, int unused)
{
    struct enc e = {0};
    unsigned cc = g_below(g, 16);
    enc_op(&e, 0x0f);
    enc_op(&e, (uint8_t)(0x90 + cc));
    /* ModRM.reg is not used by SETcc; mostly 0 */
    if (e_digit(g, &e, 1, g_chance(g, 4) ? g_below(g, 8) : 0, true) == -2)
        return false;
    g_emit(g, &e, "SETcc", cc_reads(cc), 0, 0);
    return true;
}

static bool t_cmovcc(struct gctx *g, int unused)
{
    struct enc e = {0};
    unsigned cc = g_below(g, 16), sz = g_vsize(g);
    g_osize(g, &e, sz);
    enc_op(&e, 0x0f);
    enc_op(&e, (uint8_t)(0x40 + cc));
    if (!eg(g, &e, sz, false, true, true, true, NULL, NULL))
        return false;
    g_emit(g, &e, "CMOVcc", cc_reads(cc), 0, 0);
    return true;
}

/* Operand-size prefixes on a near branch. In 64-bit mode its operand size
 * is 64 whatever they say: "operand size prefixes are silently ignored" (SDM
 * 1 "Branch Functions in 64-Bit Mode"; SDM 2A "CALL", "JMP", "Jcc", 2B "RET"
 * 64-bit mode notes), so a 66 changes neither the displacement size nor the
 * target, push or pop width. A lone 66 is not put on rel32 forms: Capstone
 * 4 decodes those AMD-style with a rel16 (a different length), so the
 * decoder check could not pass; 66 with REX.W is fine (REX.W wins). */
static void branch_osize(struct gctx *g, struct enc *e, bool rel32)
{
    switch (g_below(g, 16)) {
    case 0:
        e->rex |= REX_W;
        break;
    case 1:
        e->rex |= REX_W;
        enc_pfx(e, 0x66);
        break;
    case 2:
        if (rel32)
            e->rex |= REX_W;
        enc_pfx(e, 0x66);
        break;
    default:
        break;
    }
}

static bool t_jcc(struct gctx *g, int jmp)
{
    struct enc e = {0};
    unsigned cc = g_below(g, 16);
    bool rel8 = g_chance(g, 2);
    branch_osize(g, &e, !rel8);
    if (jmp)
        enc_op(&e, rel8 ? 0xeb : 0xe9);
    else if (rel8)
        enc_op(&e, (uint8_t)(0x70 + cc));
    else {
        enc_op(&e, 0x0f);
        enc_op(&e, (uint8_t)(0x80 + cc));
    }
    enc_imm(&e, rel8 ? 1 : 4, 0);
    int t = g_branch_target(g, !jmp);
    struct dt_insn *in = g_emit(g, &e, jmp ? "JMP" : "Jcc", jmp ? 0 : cc_reads(cc), 0, 0);
    in->rel_pos = (int8_t)(in->len - (rel8 ? 1 : 4));
    in->rel_size = rel8 ? 1 : 4;
    in->target = t;
    in->info |= DTI_JUMP | (jmp ? DTI_UNCOND : 0);
    return true;
}

/* ---- stack (SDM 2B "PUSH", "POP", 2A "CALL", 2B "RET") ------------------------- */
static bool t_push(struct gctx *g, int unused)
{
    struct enc e = {0};
    unsigned sz = g_chance(g, 5) ? 2 : 8, form = g_below(g, 4);
    bool saved = g->rsp_known;
    g->rsp_known = false; /* no RSP-based operand on an instruction that moves RSP */
    if (sz == 2)
        enc_pfx(&e, 0x66);
    if (form == 0) {
        unsigned r = g_below(g, 16);
        if (r & 8)
            e.rex |= REX_B;
        enc_op(&e, (uint8_t)(0x50 + (r & 7)));
    } else if (form == 1) {
        enc_op(&e, 0xff);
        if (e_digit(g, &e, 8, 6, false) == -2) {
            g->rsp_known = saved;
            return false;
        }
    } else {
        enc_op(&e, form == 2 ? 0x6a : 0x68);
        enc_imm(&e, form == 2 ? 1 : sz == 2 ? 2 : 4, imm_of(g, form == 2 ? 1 : sz == 2 ? 2 : 4));
    }
    g->rsp_known = saved;
    struct dt_insn *in = g_emit(g, &e, "PUSH", 0, 0, 0);
    in->info |= DTI_STACK;
    return true;
}

static bool t_pop(struct gctx *g, int unused)
{
    struct enc e = {0};
    unsigned sz = g_chance(g, 5) ? 2 : 8;
    bool saved = g->rsp_known;
    if (sz == 2)
        enc_pfx(&e, 0x66);
    g->rsp_known = false;
    if (g_chance(g, 2)) {
        int r = g_pick_reg(g, 8, true, true);
        if (r < 0) {
            g->rsp_known = saved;
            return false;
        }
        if (r & 8)
            e.rex |= REX_B;
        enc_op(&e, (uint8_t)(0x58 + (r & 7)));
    } else {
        enc_op(&e, 0x8f);
        if (e_digit(g, &e, 8, 0, true) == -2) {
            g->rsp_known = saved;
            return false;
        }
    }
    g->rsp_known = saved;
    struct dt_insn *in = g_emit(g, &e, "POP", 0, 0, 0);
    in->info |= DTI_STACK;
    return true;
}

static bool t_call(struct gctx *g, int indirect)
{
    struct enc e = {0};
    if (!indirect) {
        branch_osize(g, &e, true);
        enc_op(&e, 0xe8);
        enc_imm(&e, 4, 0);
        int t = g_branch_target(g, false);
        struct dt_insn *in = g_emit(g, &e, "CALL", 0, 0, 0);
        in->rel_pos = (int8_t)(in->len - 4);
        in->rel_size = 4;
        in->target = t;
        in->info |= DTI_JUMP | DTI_UNCOND | DTI_STACK;
        return true;
    }
    /* MOV r32, imm32 (target address); CALL r64 (FF /2) */
    int r = g_pick_reg(g, 8, true, true);
    if (r < 0)
        return false;
    struct enc m = {0};
    if (r & 8)
        m.rex |= REX_B;
    enc_op(&m, (uint8_t)(0xb8 + (r & 7)));
    enc_imm(&m, 4, 0);
    struct dt_insn *mov = g_emit(g, &m, "MOV", 0, 0, 0);
    int t = g_branch_target(g, false);
    branch_osize(g, &e, false);
    enc_op(&e, 0xff);
    e.modrm = 2 << 3;
    enc_rm_reg(&e, (unsigned)r);
    struct dt_insn *in = g_emit(g, &e, "CALL", 0, 0, 0);
    in->target = t;
    in->info |= DTI_UNCOND | DTI_STACK | DTI_GLUED;
    mov->has_imm_target = true; /* the MOV holds the address; it does not branch */
    mov->target = t;
    return true;
}

/* MOV qword [m], imm32 (the target, sign-extended); CALL/JMP qword [m]
 * (FF /2, FF /4: SDM 2A "CALL", "JMP" -- m64 is the only operand size in
 * 64-bit mode). Both use the same memory operand bytes; its registers are
 * reserved, so they name the same data-area quadword. */
static bool t_branch_mem(struct gctx *g, int call)
{
    struct enc m = {0}, e;
    bool saved = g->rsp_known;
    if (call)
        g->rsp_known = false; /* no RSP-based operand on an instruction that moves RSP */
    m.rex = REX_W;
    m.has_modrm = true;
    m.modrm = 0; /* /0 */
    g_mem(g, &m, 8, 0, 0);
    g->rsp_known = saved;
    e = m;
    e.nop = 0;
    enc_op(&m, 0xc7);
    enc_imm(&m, 4, 0);
    struct dt_insn *mov = g_emit(g, &m, "MOV", 0, 0, 0);
    int t = g_branch_target(g, false);
    /* the branch: same prefixes and ModRM/SIB/displacement, its own size
     * prefixes (the REX.X/B of the address stay) */
    e.rex = (uint8_t)(e.rex & ~REX_W);
    branch_osize(g, &e, false);
    enc_op(&e, 0xff);
    e.modrm = (uint8_t)((e.modrm & ~0x38u) | ((call ? 2u : 4u) << 3));
    struct dt_insn *in = g_emit(g, &e, call ? "CALL" : "JMP", 0, 0, 0);
    in->target = t;
    in->info |= DTI_UNCOND | DTI_GLUED | (call ? DTI_STACK : 0);
    mov->has_imm_target = true; /* the MOV stores the address; it does not branch */
    mov->target = t;
    return true;
}

static bool t_ret(struct gctx *g, int unused)
{
    /* PUSH imm32 (target address); RET / RET imm16 */
    struct enc p = {0}, e = {0};
    enc_op(&p, 0x68);
    enc_imm(&p, 4, 0);
    struct dt_insn *push = g_emit(g, &p, "PUSH", 0, 0, 0);
    push->info |= DTI_STACK;
    int t = g_branch_target(g, false);
    push->has_imm_target = true;
    push->target = t;
    branch_osize(g, &e, false);
    if (g_chance(g, 3)) {
        /* Capstone 4 reads an imm32 after 66 REX.W C2 (a wrong length) */
        if ((e.rex & REX_W) && e.npfx)
            e.npfx = 0;
        enc_op(&e, 0xc2);
        enc_imm(&e, 2, 8 * g_below(g, 3));
    } else {
        enc_op(&e, 0xc3);
    }
    struct dt_insn *in = g_emit(g, &e, "RET", 0, 0, 0);
    in->target = t;
    in->info |= DTI_UNCOND | DTI_STACK | DTI_GLUED;
    return true;
}

/* ---- moves (SDM 2A "MOV", "MOVZX", "MOVSX/MOVSXD", "MOVBE", "LEA") ---------- */
static bool t_mov(struct gctx *g, int unused)
{
    struct enc e = {0};
    unsigned form = g_below(g, 8);
    unsigned sz = (form == 0 || form == 2 || form == 4 || form == 6) ? 1 : g_vsize(g);
    g_osize(g, &e, sz);
    switch (form) {
    case 0: case 1: case 2: case 3:
        enc_op(&e, (uint8_t)(0x88 + form));
        if (!eg(g, &e, sz, form < 2, form >= 2, true, true, NULL, NULL))
            return false;
        break;
    case 4: case 5:
        enc_op(&e, (uint8_t)(0xc6 + form - 4));
        if (e_digit(g, &e, sz, 0, true) == -2)
            return false;
        enc_imm(&e, sz == 1 ? 1 : sz == 2 ? 2 : 4, imm_of(g, sz == 1 ? 1 : sz == 2 ? 2 : 4));
        break;
    case 6: case 7: { /* B0+r Ib, B8+r Iv (imm64 with REX.W) */
        bool rex = byte_rex(g, &e, sz);
        int r = g_pick_reg(g, sz, rex, true);
        if (r < 0)
            return false;
        if (r & 8)
            e.rex |= REX_B;
        enc_op(&e, (uint8_t)((sz == 1 ? 0xb0 : 0xb8) + (r & 7)));
        unsigned isz = sz == 8 ? 8 : sz == 2 ? 2 : sz;
        enc_imm(&e, (int)isz, imm_of(g, isz));
        break;
    }
    }
    g_emit(g, &e, "MOV", 0, 0, 0);
    return true;
}

/* MOV AL/rAX <-> moffs (A0-A3): a 64-bit absolute address (32-bit with 67). */
static bool t_mov_moffs(struct gctx *g, int unused)
{
    struct enc e = {0};
    unsigned form = g_below(g, 4);
    unsigned sz = (form & 1) ? g_vsize(g) : 1;
    if (form < 2 && !g_can_write(g, R_RAX))
        return false;
    if (g->tainted & 1)
        return false;
    g_osize(g, &e, sz);
    uint64_t segbase = 0;
    unsigned s = g_below(g, 4);
    if (s == 0)
        enc_pfx(&e, 0x64), segbase = g->k->fs_base;
    else if (s == 1)
        enc_pfx(&e, 0x65), segbase = g->k->gs_base;
    bool a32 = g_chance(g, 4) && !(segbase > DT_DATA_BASE && (int64_t)segbase > 0);
    if (a32)
        enc_pfx(&e, 0x67);
    if (sz == 1 && g_chance(g, 4))
        e.rex_force = true;
    enc_op(&e, (uint8_t)(0xa0 + form));
    uint64_t target = DT_DATA_BASE + dt_rand(g->r) % (DT_DATA_SIZE - sz + 1);
    uint64_t off = target - segbase;
    if (a32)
        enc_imm(&e, 4, off & 0xffffffffull);
    else
        enc_imm(&e, 8, off);
    g_emit(g, &e, "MOV", 0, 0, 0);
    return true;
}

static bool t_movx(struct gctx *g, int k)
{
    /* k: 0 MOVZX, 1 MOVSX, 2 MOVSXD */
    struct enc e = {0};
    unsigned sz = g_vsize(g), src = 4;
    if (k == 2) {
        sz = g_chance(g, 8) ? 4 : 8;
        g_osize(g, &e, sz);
        enc_op(&e, 0x63);
    } else {
        src = g_chance(g, 2) ? 1 : 2;
        g_osize(g, &e, sz);
        enc_op(&e, 0x0f);
        enc_op(&e, (uint8_t)((k ? 0xbe : 0xb6) + (src == 2)));
    }
    bool rex = byte_rex(g, &e, src);
    int reg = g_pick_reg(g, sz, true, true);
    if (reg < 0)
        return false;
    if (src == 1 && !rex && reg >= 8)
        return false;
    enc_reg(&e, (unsigned)reg);
    g->no_rex = src == 1 && !rex;
    int rm = g_rm(g, &e, src, false, rex, true, true);
    g->no_rex = false;
    if (rm == -2)
        return false;
    g_emit(g, &e, k == 0 ? "MOVZX" : k == 1 ? "MOVSX" : "MOVSXD", 0, 0, 0);
    return true;
}

static bool t_movbe(struct gctx *g, int store)
{
    struct enc e = {0};
    unsigned sz = g_vsize(g);
    g_osize(g, &e, sz);
    enc_op(&e, 0x0f);
    enc_op(&e, 0x38);
    enc_op(&e, store ? 0xf1 : 0xf0);
    int reg = g_pick_reg(g, sz, true, !store);
    if (reg < 0)
        return false;
    enc_reg(&e, (unsigned)reg);
    g_mem(g, &e, sz, 0, 0);
    g_emit(g, &e, "MOVBE", 0, 0, 0);
    return true;
}

static bool t_lea(struct gctx *g, int unused)
{
    struct enc e = {0};
    unsigned sz = g_vsize(g);
    g_osize(g, &e, sz);
    enc_op(&e, 0x8d);
    int reg = g_pick_reg(g, sz, true, true);
    if (reg < 0)
        return false;
    enc_reg(&e, (unsigned)reg);
    g_mem(g, &e, 1, 0, 0);
    g_emit(g, &e, "LEA", 0, 0, 0);
    return true;
}

/* CBW/CWDE/CDQE (98) and CWD/CDQ/CQO (99), by operand size */
static bool t_convert(struct gctx *g, int k)
{
    static const char *const names[] = {"CBW", "CWDE", "CDQE", "CWD", "CDQ", "CQO"};
    struct enc e = {0};
    unsigned sz = 2u << (k % 3);
    if (!g_can_write(g, k < 3 ? R_RAX : R_RDX) || (g->tainted & 1))
        return false;
    g_osize(g, &e, sz);
    enc_op(&e, k < 3 ? 0x98 : 0x99);
    g_emit(g, &e, names[k], 0, 0, 0);
    return true;
}

static bool t_bswap(struct gctx *g, int unused)
{
    struct enc e = {0};
    unsigned sz = g_chance(g, 2) ? 4 : 8;
    int r = g_pick_reg(g, sz, true, true);
    if (r < 0)
        return false;
    g_osize(g, &e, sz);
    if (r & 8)
        e.rex |= REX_B;
    enc_op(&e, 0x0f);
    enc_op(&e, (uint8_t)(0xc8 + (r & 7)));
    g_emit(g, &e, "BSWAP", 0, 0, 0);
    return true;
}

/* LAHF / SAHF (SDM 2A "LAHF", 2B "SAHF") */
static bool t_ahf(struct gctx *g, int store)
{
    struct enc e = {0};
    uint32_t five = SF | ZF | AF | PF | CF;
    if (store ? (g->tainted & 1) : !g_can_write(g, R_RAX))
        return false;
    enc_op(&e, store ? 0x9e : 0x9f);
    g_emit(g, &e, store ? "SAHF" : "LAHF", store ? 0 : five, store ? five : 0, 0);
    return true;
}

const struct gtemplate g_templates[] = {
    {"ADD", t_alu, 0, 3, 0},      {"OR", t_alu, 1, 2, 0},       {"ADC", t_alu, 2, 3, 0},
    {"SBB", t_alu, 3, 3, 0},      {"AND", t_alu, 4, 2, 0},      {"SUB", t_alu, 5, 3, 0},
    {"XOR", t_alu, 6, 2, 0},      {"CMP", t_alu, 7, 3, 0},      {"TEST", t_test, 0, 2, 0},
    {"INC", t_unary, 0, 2, 0},    {"DEC", t_unary, 1, 2, 0},    {"NOT", t_unary, 2, 1, 0},
    {"NEG", t_unary, 3, 2, 0},    {"ROL", t_shift, 0, 2, 0},    {"ROR", t_shift, 1, 2, 0},
    {"RCL", t_shift, 2, 2, 0},    {"RCR", t_shift, 3, 2, 0},    {"SHL", t_shift, 4, 2, 0},
    {"SHR", t_shift, 5, 2, 0},    {"SAL", t_shift, 6, 1, 0},    {"SAR", t_shift, 7, 2, 0},
    {"SHLD", t_shxd, 0, 2, 0},    {"SHRD", t_shxd, 1, 2, 0},    {"MUL", t_muldiv, 4, 2, 0},
    {"IMUL", t_muldiv, 5, 1, 0},  {"IMUL", t_imul2, 0, 2, 0},   {"DIV", t_muldiv, 6, 2, 0},
    {"IDIV", t_muldiv, 7, 2, 0},  {"BT", t_bt, 0, 2, 0},        {"BTS", t_bt, 1, 1, 0},
    {"BTR", t_bt, 2, 1, 0},       {"BTC", t_bt, 3, 1, 0},       {"BSF", t_bscan, 0, 1, 0},
    {"BSR", t_bscan, 1, 1, 0},    {"POPCNT", t_cnt, 0, 1, 0},   {"LZCNT", t_cnt, 1, 1, 0},
    {"TZCNT", t_cnt, 2, 1, 0},    {"MOVS", t_string, 0, 2, GN_STRINGS},
    {"STOS", t_string, 1, 2, GN_STRINGS},                       {"LODS", t_string, 2, 1, GN_STRINGS},
    {"CMPS", t_string, 3, 2, GN_STRINGS},                       {"SCAS", t_string, 4, 2, GN_STRINGS},
    {"XCHG", t_xchg, 0, 2, 0},    {"CMPXCHG", t_cmpxchg_xadd, 0, 2, 0},
    {"XADD", t_cmpxchg_xadd, 1, 2, 0},                          {"SETcc", t_setcc, 0, 3, 0},
    {"CMOVcc", t_cmovcc, 0, 3, 0}, {"Jcc", t_jcc, 0, 4, 0},     {"JMP", t_jcc, 1, 1, 0},
    {"PUSH", t_push, 0, 2, 0},    {"POP", t_pop, 0, 2, 0},      {"CALL", t_call, 0, 1, 0},
    {"CALL", t_call, 1, 1, GN_TWO}, {"CALL", t_branch_mem, 1, 1, GN_TWO},
    {"JMP", t_branch_mem, 0, 1, GN_TWO},                        {"RET", t_ret, 0, 2, GN_TWO},
    {"LEA", t_lea, 0, 3, 0},
    {"CBW", t_convert, 0, 1, 0},  {"CWDE", t_convert, 1, 1, 0}, {"CDQE", t_convert, 2, 1, 0},
    {"CWD", t_convert, 3, 1, 0},  {"CDQ", t_convert, 4, 1, 0},  {"CQO", t_convert, 5, 1, 0},
    {"BSWAP", t_bswap, 0, 1, 0},  {"MOVBE", t_movbe, 0, 1, 0},  {"MOVBE", t_movbe, 1, 1, 0},
    {"LAHF", t_ahf, 0, 1, 0},     {"SAHF", t_ahf, 1, 1, 0},     {"MOV", t_mov, 0, 4, 0},
    {"MOV", t_mov_moffs, 0, 1, 0}, {"MOVZX", t_movx, 0, 2, 0},  {"MOVSX", t_movx, 1, 2, 0},
    {"MOVSXD", t_movx, 2, 1, 0},
};
const unsigned g_ntemplates = sizeof g_templates / sizeof g_templates[0];
