/* The x87 control instructions (SDM 1 "x87 FPU Control Instructions"):
 * FNINIT, FNCLEX, FLDCW, FNSTCW, FNSTSW, FLDENV, FNSTENV, FRSTOR, FNSAVE and
 * WAIT/FWAIT. They never record FOP/FIP/FDP. The FN forms do not check for
 * a pending exception; FLDCW, FLDENV and FRSTOR do (SDM 1 "x87 FPU
 * Exception Synchronization"); the waiting forms FINIT, FCLEX, FSTCW,
 * FSTSW, FSTENV and FSAVE are WAIT followed by the FN form. */
#include "cpu/x87.h"
#include "opcodes_gen.h"

/* SDM 2A "WAIT/FWAIT" and SDM 3A Table "Action Taken By x87 FPU
 * Instructions for Different Combinations of EM, MP, and TS": WAIT faults
 * #NM only when MP = 1 and TS = 1 (EM does not matter), then reports a
 * pending unmasked exception. */
void op_fwait(struct cpu *c, const struct insn *in)
{
    (void)in;
    if ((c->cr0 & (CR0_MP | CR0_TS)) == (CR0_MP | CR0_TS))
        cpu_fault(c, EXC_NM);
    x87_check_pending(c);
}

static void x87_init_state(struct cpu_fpu *f)
{
    /* SDM 2A "FINIT/FNINIT" Operation */
    f->fcw = FCW_INIT;
    f->fsw = 0;
    f->ftw = 0xffff;
    f->fdp = f->fip = 0;
    f->fop = 0;
    f->fds = f->fcs = 0;
}

void op_fninit(struct cpu *c, const struct insn *in)
{
    (void)in;
    x87_check_nm(c);
    x87_init_state(&c->fpu);
}

/* DB E0, E1, E4: the 8087's FNENI and FNDISI and the 80287's FNSETPM. The
 * 80387 and later execute them as no-operations (no wait, no pointer
 * update); the SDM leaves the encodings reserved (docs/fpu.md). */
void op_fnop_legacy(struct cpu *c, const struct insn *in)
{
    (void)in;
    x87_check_nm(c);
}

/* SDM 2A "FCLEX/FNCLEX": PE, UE, OE, ZE, DE, IE, SF, ES and B cleared;
 * C0-C3 are undefined and nvmx leaves them. */
void op_fnclex(struct cpu *c, const struct insn *in)
{
    (void)in;
    x87_check_nm(c);
    c->fpu.fsw &= (uint16_t)~(FSW_STICKY | FSW_ES | FSW_B);
}

/* SDM 2A "FLDCW": a flag left set and now unmasked becomes pending (ES). */
void op_fldcw(struct cpu *c, const struct insn *in)
{
    x87_check_nm(c);
    x87_check_pending(c);
    uint16_t v = (uint16_t)cpu_read(c, in->seg, insn_ea(c, in), 2);
    c->fpu.fcw = (uint16_t)((v & FCW_WRITABLE) | FCW_ALWAYS1);
    x87_update_es(c);
}

void op_fnstcw(struct cpu *c, const struct insn *in)
{
    x87_check_nm(c);
    cpu_write(c, in->seg, insn_ea(c, in), 2, c->fpu.fcw);
}

void op_fnstsw(struct cpu *c, const struct insn *in)
{
    x87_check_nm(c);
    cpu_write(c, in->seg, insn_ea(c, in), 2, c->fpu.fsw);
}

void op_fnstsw_ax(struct cpu *c, const struct insn *in)
{
    (void)in;
    x87_check_nm(c);
    c->gpr[0] = (c->gpr[0] & ~0xffffull) | c->fpu.fsw;
}

/* The tag word FNSTENV/FNSAVE store: empty registers stay empty, the others
 * get the tag of their contents (SDM 1 "x87 FPU Tag Word"). */
static uint16_t full_tag_word(const struct cpu_fpu *f)
{
    uint16_t ftw = 0;
    for (unsigned p = 0; p < 8; p++) {
        unsigned t = ((f->ftw >> (2 * p)) & 3) == X87_TAG_EMPTY ? X87_TAG_EMPTY : x87_tag_of(&f->st[p]);
        ftw |= (uint16_t)(t << (2 * p));
    }
    return ftw;
}

/* The environment image's shape: 14 bytes with a 16-bit operand size, else
 * 28 (64-bit mode uses the 28-byte 32-bit format whatever REX.W says);
 * real-address and virtual-8086 mode store linear 20/32-bit pointers
 * (SDM 1 Figures "Protected Mode x87 FPU State Image in Memory, 32-Bit
 * Format", "Real Mode ... 32-Bit Format", "Protected Mode ... 16-Bit
 * Format", "Real Mode ... 16-Bit Format"). */
struct env_fmt {
    bool o16, real;
    unsigned size;
};

static struct env_fmt env_fmt_of(const struct cpu *c, const struct insn *in)
{
    struct env_fmt e;
    e.o16 = in->opsize == 2;
    e.real = c->mode == MODE_REAL || c->mode == MODE_V86;
    e.size = e.o16 ? 14 : 28;
    return e;
}

/* The seven fields, as the image holds them (words for 16-bit images). */
static void env_encode(const struct cpu_fpu *f, struct env_fmt e, uint32_t w[7])
{
    uint32_t fip = (uint32_t)f->fip, fdp = (uint32_t)f->fdp, fop = f->fop & 0x7ffu;
    w[0] = f->fcw;
    w[1] = f->fsw;
    w[2] = full_tag_word(f);
    if (e.real) {
        uint32_t lip = ((uint32_t)f->fcs << 4) + fip, ldp = ((uint32_t)f->fds << 4) + fdp;
        w[3] = lip & 0xffff;
        w[4] = e.o16 ? ((lip >> 16) & 0xf) << 12 | fop : (lip >> 16) << 12 | fop;
        w[5] = ldp & 0xffff;
        w[6] = e.o16 ? ((ldp >> 16) & 0xf) << 12 : (ldp >> 16) << 12;
    } else {
        w[3] = e.o16 ? fip & 0xffff : fip;
        w[4] = e.o16 ? f->fcs : (uint32_t)f->fcs | fop << 16;
        w[5] = e.o16 ? fdp & 0xffff : fdp;
        w[6] = f->fds;
    }
    if (!e.o16) {
        /* the reserved upper halves of the 32-bit image read as ones */
        for (unsigned i = 0; i < 7; i++)
            if (i != 3 && i != 4 && i != 5 && !(e.real && i == 6))
                w[i] |= 0xffff0000u;
    }
}

static void env_decode(struct cpu_fpu *f, struct env_fmt e, const uint32_t w[7])
{
    f->fcw = (uint16_t)((w[0] & FCW_WRITABLE) | FCW_ALWAYS1);
    f->fsw = (uint16_t)w[1];
    f->ftw = (uint16_t)w[2];
    if (e.real) {
        /* the linear pointers come back as offsets with a null selector */
        f->fip = (w[3] & 0xffff) | (e.o16 ? (w[4] >> 12 & 0xf) : (w[4] >> 12)) << 16;
        f->fop = (uint16_t)(w[4] & 0x7ff);
        f->fdp = (w[5] & 0xffff) | (e.o16 ? (w[6] >> 12 & 0xf) : (w[6] >> 12)) << 16;
        f->fcs = f->fds = 0;
    } else {
        f->fip = e.o16 ? (w[3] & 0xffff) : w[3];
        f->fcs = (uint16_t)w[4];
        f->fop = e.o16 ? f->fop : (uint16_t)((w[4] >> 16) & 0x7ff);
        f->fdp = e.o16 ? (w[5] & 0xffff) : w[5];
        f->fds = (uint16_t)w[6];
    }
}

static void env_write(struct cpu *c, const struct insn *in, uint64_t ea, struct env_fmt e)
{
    uint32_t w[7];
    uint64_t m = size_mask(in->addrsize);
    unsigned step = e.o16 ? 2 : 4;
    env_encode(&c->fpu, e, w);
    for (unsigned i = 0; i < 7; i++)
        cpu_write(c, in->seg, (ea + step * i) & m, step, w[i]);
}

static void env_read(struct cpu *c, const struct insn *in, uint64_t ea, struct env_fmt e,
                     struct cpu_fpu *n)
{
    uint32_t w[7];
    uint64_t m = size_mask(in->addrsize);
    unsigned step = e.o16 ? 2 : 4;
    for (unsigned i = 0; i < 7; i++)
        w[i] = (uint32_t)cpu_read(c, in->seg, (ea + step * i) & m, step);
    env_decode(n, e, w);
}

/* After a load of the image: a register tagged empty stays empty, the
 * others are tagged from their contents (SDM 1 "x87 FPU Tag Word": the
 * processor uses the loaded tags only to tell empty from non-empty). */
static void retag(struct cpu_fpu *f) { f->ftw = full_tag_word(f); }

/* SDM 2A "FSTENV/FNSTENV": stores the environment, then masks every
 * exception. The image is probed whole first so a fault leaves nothing
 * half-done. */
void op_fnstenv(struct cpu *c, const struct insn *in)
{
    x87_check_nm(c);
    struct env_fmt e = env_fmt_of(c, in);
    uint64_t ea = insn_ea(c, in);
    cpu_probe_write(c, in->seg, ea, 2);
    cpu_probe_write(c, in->seg, (ea + e.size - 2) & size_mask(in->addrsize), 2);
    env_write(c, in, ea, e);
    c->fpu.fcw |= FCW_MASKS;
    x87_update_es(c);
}

void op_fldenv(struct cpu *c, const struct insn *in)
{
    x87_check_nm(c);
    x87_check_pending(c);
    struct cpu_fpu n = c->fpu;
    env_read(c, in, insn_ea(c, in), env_fmt_of(c, in), &n);
    retag(&n);
    c->fpu = n;
    x87_update_es(c);
}

/* SDM 2A "FSAVE/FNSAVE": the environment, then ST0-ST7 as 10 bytes each,
 * then the state of FNINIT. */
void op_fnsave(struct cpu *c, const struct insn *in)
{
    x87_check_nm(c);
    struct env_fmt e = env_fmt_of(c, in);
    uint64_t ea = insn_ea(c, in), m = size_mask(in->addrsize);
    cpu_probe_write(c, in->seg, ea, 2);
    cpu_probe_write(c, in->seg, (ea + e.size + 78) & m, 2);
    env_write(c, in, ea, e);
    for (unsigned i = 0; i < 8; i++) {
        const struct x87_reg *r = x87_st(c, i);
        cpu_write(c, in->seg, (ea + e.size + 10 * i) & m, 8, r->signif);
        cpu_write(c, in->seg, (ea + e.size + 10 * i + 8) & m, 2, r->sexp);
    }
    x87_init_state(&c->fpu);
}

void op_frstor(struct cpu *c, const struct insn *in)
{
    x87_check_nm(c);
    x87_check_pending(c);
    struct env_fmt e = env_fmt_of(c, in);
    uint64_t ea = insn_ea(c, in), m = size_mask(in->addrsize);
    struct cpu_fpu n = c->fpu;
    env_read(c, in, ea, e, &n);
    unsigned top = (n.fsw >> 11) & 7;
    for (unsigned i = 0; i < 8; i++) {
        struct x87_reg *r = &n.st[(top + i) & 7];
        r->signif = cpu_read(c, in->seg, (ea + e.size + 10 * i) & m, 8);
        r->sexp = (uint16_t)cpu_read(c, in->seg, (ea + e.size + 10 * i + 8) & m, 2);
    }
    retag(&n);
    c->fpu = n;
    x87_update_es(c);
}
