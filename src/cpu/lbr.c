/* Last branch recording (SDM 3B "Last Branch, Interrupt, and Exception
 * Recording" for processors based on the Skylake microarchitecture): with
 * IA32_DEBUGCTL.LBR the run loop steps one instruction at a time and
 * records each taken branch; event delivery records interrupts and
 * exceptions (except #DB, which clears LBR). The stack's depth, and
 * whether LBR_INFO exists, come from the CPU model. */
#include "lbr.h"

#include "opcodes_gen.h"

enum lbr_count { LBR_ONE, LBR_DEPTH, LBR_INFO_N };
enum lbr_msr_id {
#define LBR_MSR(name, index, count) LBR_MSR_##name,
#include "nvmx/lbr_msrs.def"
#undef LBR_MSR
    LBR_NMSRS
};
#define ONE LBR_ONE
#define DEPTH LBR_DEPTH
#define INFO LBR_INFO_N
static const struct {
    uint32_t index;
    enum lbr_count count;
} lbr_msrs[LBR_NMSRS] = {
#define LBR_MSR(name, index, count) [LBR_MSR_##name] = { (index), (count) },
#include "nvmx/lbr_msrs.def"
#undef LBR_MSR
};
#undef ONE
#undef DEPTH
#undef INFO

static unsigned depth(const struct cpu *c) { return c->model ? c->model->lbr_depth : 0; }

uint64_t cpu_debugctl_valid(const struct cpu *c)
{
    return DEBUGCTL_IMPLEMENTED | (depth(c) ? DEBUGCTL_LBR : 0);
}

/* Which LBR MSR index is, and its entry number. */
static bool find(const struct cpu *c, uint32_t index, enum lbr_msr_id *id, unsigned *n)
{
    unsigned d = depth(c);
    if (!d)
        return false;
    for (unsigned i = 0; i < LBR_NMSRS; i++) {
        uint32_t base = lbr_msrs[i].index;
        unsigned count = lbr_msrs[i].count == LBR_ONE                         ? 1
                         : lbr_msrs[i].count == LBR_DEPTH                     ? d
                         : (c->model->lbr_info && lbr_msrs[i].count == LBR_INFO_N) ? d
                                                                                  : 0;
        if (index >= base && index - base < count) {
            *id = (enum lbr_msr_id)i;
            *n = index - base;
            return true;
        }
    }
    return false;
}

bool lbr_msr(const struct cpu *c, uint32_t index)
{
    enum lbr_msr_id id;
    unsigned n;
    return find(c, index, &id, &n);
}

static uint64_t *slot(struct cpu *c, enum lbr_msr_id id, unsigned n)
{
    switch (id) {
    case LBR_MSR_LBR_SELECT: return &c->lbr.select;
    case LBR_MSR_LASTBRANCH_TOS: return &c->lbr.tos;
    case LBR_MSR_LER_FROM_LIP: return &c->lbr.ler_from;
    case LBR_MSR_LER_TO_LIP: return &c->lbr.ler_to;
    case LBR_MSR_LASTBRANCH_FROM_IP: return &c->lbr.from[n];
    case LBR_MSR_LASTBRANCH_TO_IP: return &c->lbr.to[n];
    case LBR_MSR_LBR_INFO: return &c->lbr.info[n];
    default: return NULL;
    }
}

bool lbr_rdmsr(struct cpu *c, uint32_t index, uint64_t *val)
{
    enum lbr_msr_id id;
    unsigned n;
    if (!find(c, index, &id, &n))
        return false;
    *val = *slot(c, id, n);
    return true;
}

/* Writes: LBR_SELECT bits 8:0 (EN_CALLSTACK, bit 9, is not implemented and
 * reserved here); TOS below the depth; the address MSRs canonical (they
 * hold sign-extended linear addresses); LBR_INFO bits 60:16 reserved. */
bool lbr_wrmsr(struct cpu *c, uint32_t index, uint64_t val)
{
    enum lbr_msr_id id;
    unsigned n;
    if (!find(c, index, &id, &n))
        return false;
    switch (id) {
    case LBR_MSR_LBR_SELECT:
        if (val & ~(uint64_t)LBR_SEL_IMPLEMENTED)
            return false;
        break;
    case LBR_MSR_LASTBRANCH_TOS:
        if (val >= depth(c))
            return false;
        break;
    case LBR_MSR_LBR_INFO:
        if (val & 0x1fffffffffff0000ull)
            return false;
        break;
    default:
        if (!canonical(val))
            return false;
        break;
    }
    *slot(c, id, n) = val;
    return true;
}

/* SDM 3B Table "MSR_LBR_SELECT for Intel Microarchitecture Code Name
 * Haswell" (the same on Skylake): the branch kinds. LOOP and JrCXZ are
 * conditional branches; far transfers, SYSCALL/SYSRET/SYSENTER/SYSEXIT,
 * IRET, interrupts and exceptions are far branches. */
unsigned lbr_kind(const struct insn *in)
{
    insn_handler h = in->handler;
    if (h == op_jcc || h == op_loop || h == op_loope || h == op_loopne || h == op_jrcxz)
        return LBR_SEL_JCC;
    if (h == op_call)
        return LBR_SEL_NEAR_REL_CALL;
    if (h == op_call_ind)
        return LBR_SEL_NEAR_IND_CALL;
    if (h == op_ret)
        return LBR_SEL_NEAR_RET;
    if (h == op_jmp_ind)
        return LBR_SEL_NEAR_IND_JMP;
    if (h == op_jmp)
        return LBR_SEL_NEAR_REL_JMP;
    return LBR_SEL_FAR_BRANCH;
}

/* SDM 3B "LBR Stack": TOS points at the most recent record; a new record
 * goes to the next entry, modulo the depth. Addresses are linear (64-bit
 * in IA-32e mode). LBR_INFO.CYC_CNT (bits 15:0) holds the modelled cycles
 * since the previous record, saturated; MISPRED, IN_TX and TSX_ABORT are 0
 * (no branch prediction or TSX is modelled). */
void lbr_record(struct cpu *c, uint64_t from, uint64_t to, unsigned kind)
{
    unsigned d = depth(c);
    unsigned sel = (unsigned)c->lbr.select;
    if (!d || (sel & kind))
        return;
    if ((sel & LBR_SEL_CPL_EQ_0) && c->cpl == 0)
        return;
    if ((sel & LBR_SEL_CPL_NEQ_0) && c->cpl != 0)
        return;
    unsigned t = (unsigned)((c->lbr.tos + 1) % d);
    uint64_t cyc = c->cycles - c->lbr.last_cycles;
    c->lbr.tos = t;
    c->lbr.from[t] = from;
    c->lbr.to[t] = to;
    c->lbr.info[t] = cyc > 0xffff ? 0xffff : cyc;
    c->lbr.last_cycles = c->cycles;
}
