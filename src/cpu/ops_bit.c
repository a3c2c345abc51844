/* Bit instructions: BT BTS BTR BTC, BSF BSR, TZCNT LZCNT, POPCNT (SDM 2
 * pages of the same names). Undefined flags follow docs/undefined-flags.md:
 * BTx changes only CF; BSF/BSR with a non-zero source clear CF, OF, AF and
 * set SF/PF from the result, with a zero source set ZF only and leave the
 * destination unchanged; TZCNT/LZCNT clear OF, SF, AF, PF (and are BSF/BSR
 * on a model without BMI1 / LZCNT). */
#include "ops_gp.h"
#include "sse.h"

enum bt_op { BT_TEST, BT_SET, BT_RESET, BT_COMPLEMENT };

static void bt_common(struct cpu *c, const struct insn *in, enum bt_op op)
{
    unsigned sz = in->opsize, bits = sz * 8;
    uint64_t off = gp_read(c, in, 1, sz);
    uint64_t v, ea = 0;
    bool mem = gp_is_mem(in, 0);
    if (mem) {
        ea = insn_ea(c, in);
        if (in->opk[1] != OPK_IMM) {
            /* SDM 2 "BT": a register bit offset is a signed integer that may
             * address memory outside the operand, in operand-size units */
            int64_t so = (int64_t)gp_sext(off, sz);
            int64_t unit = so >> __builtin_ctz(bits);
            ea = (ea + (uint64_t)(unit * (int64_t)sz)) & size_mask(in->addrsize);
        }
        v = cpu_read(c, in->seg, ea, sz);
    } else {
        v = gp_read(c, in, 0, sz);
    }
    unsigned bit = (unsigned)off & (bits - 1);
    bool cf = (v >> bit) & 1;
    if (op != BT_TEST) {
        uint64_t mask = 1ull << bit;
        uint64_t r = op == BT_SET ? v | mask : op == BT_RESET ? v & ~mask : v ^ mask;
        if (mem)
            cpu_write(c, in->seg, ea, sz, r);
        else
            gp_write(c, in, 0, sz, r);
    }
    uint64_t fl = cpu_get_rflags(c);
    flags_set_arith(c, (fl & ~FL_CF) | (cf ? FL_CF : 0));
}

void op_bt(struct cpu *c, const struct insn *in) { bt_common(c, in, BT_TEST); }
void op_bts(struct cpu *c, const struct insn *in) { bt_common(c, in, BT_SET); }
void op_btr(struct cpu *c, const struct insn *in) { bt_common(c, in, BT_RESET); }
void op_btc(struct cpu *c, const struct insn *in) { bt_common(c, in, BT_COMPLEMENT); }

static void bit_scan(struct cpu *c, const struct insn *in, bool reverse)
{
    unsigned sz = in->opsize;
    uint64_t s = gp_read(c, in, 1, sz);
    if (s == 0) {
        flags_set_arith(c, cpu_get_rflags(c) | FL_ZF);
        return;
    }
    uint64_t r = reverse ? 63 - (unsigned)__builtin_clzll(s) : (unsigned)__builtin_ctzll(s);
    gp_write(c, in, 0, sz, r);
    flags_set_arith(c, flags_szp(r, sz) & ~FL_ZF);
}

void op_bsf(struct cpu *c, const struct insn *in) { bit_scan(c, in, false); }
void op_bsr(struct cpu *c, const struct insn *in) { bit_scan(c, in, true); }

/* TZCNT / LZCNT: CF = (source == 0), ZF = (result == 0). */
static void count_zeros(struct cpu *c, const struct insn *in, bool leading)
{
    unsigned sz = in->opsize, bits = sz * 8;
    uint64_t s = gp_read(c, in, 1, sz);
    uint64_t r;
    if (s == 0)
        r = bits;
    else if (leading)
        r = (unsigned)__builtin_clzll(s) - (64 - bits);
    else
        r = (unsigned)__builtin_ctzll(s);
    gp_write(c, in, 0, sz, r);
    flags_set_arith(c, (s == 0 ? FL_CF : 0) | (r == 0 ? FL_ZF : 0));
}

/* A model feature bit; a CPU created without a model (unit-test harnesses)
 * has every feature nvmx implements, as in src/cpu/paging.c. */
static bool model_has(const struct cpu *c, uint32_t leaf, unsigned reg, unsigned bit)
{
    return !c->model || cpu_cpuid_feature(c, leaf, reg, bit);
}

/* SDM 2B "TZCNT": "On processors that do not support TZCNT, the instruction
 * byte encoding is executed as BSF"; TZCNT is enumerated by
 * CPUID.(EAX=07H,ECX=0):EBX.BMI1[3]. SDM 2A "LZCNT": likewise BSR without
 * CPUID.80000001H:ECX.LZCNT[5]. The model decides, so a guest sees what the
 * CPUID it reads promises. */
void op_tzcnt(struct cpu *c, const struct insn *in)
{
    if (model_has(c, 7, CPUID_EBX, 3))
        count_zeros(c, in, false);
    else
        bit_scan(c, in, false);
}

void op_lzcnt(struct cpu *c, const struct insn *in)
{
    if (model_has(c, 0x80000001, CPUID_ECX, 5))
        count_zeros(c, in, true);
    else
        bit_scan(c, in, true);
}

/* POPCNT: OF SF AF CF PF cleared, ZF = (source == 0). #UD unless
 * CPUID.01H:ECX.POPCNT[bit 23] (SDM 2B "POPCNT" -- Exceptions; CR0 and CR4
 * do not affect it: SDM 3A "System Programming for Instruction Set
 * Extensions"). */
void op_popcnt(struct cpu *c, const struct insn *in)
{
    if (c->model && !(c->fpu.features & FPU_F_POPCNT))
        cpu_fault(c, EXC_UD);
    unsigned sz = in->opsize;
    uint64_t s = gp_read(c, in, 1, sz);
    gp_write(c, in, 0, sz, (uint64_t)__builtin_popcountll(s));
    flags_set_arith(c, s == 0 ? FL_ZF : 0);
}
