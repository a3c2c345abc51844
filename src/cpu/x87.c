/* x87 instructions that compute (SDM 1 chapter "Programming with the x87
 * FPU"): loads, stores, arithmetic, comparisons, constants, transcendentals,
 * FCMOVcc, FXCH, FFREE, FINCSTP/FDECSTP. Each runs on the host x87 unit
 * from the guest's state (x87_host.c, docs/fpu.md); this file moves the
 * state and the memory operand in and out, and keeps the SDM's
 * instruction-level rules: #NM, #MF, the last-instruction pointers, and no
 * memory write after an unmasked exception. */
#include "cpu/sse.h"
#include "cpu/x87.h"
#include "cpu/x87_host.h"
#include "opcodes_gen.h"

#include <string.h>

unsigned x87_tag_of(const struct x87_reg *r)
{
    unsigned exp = r->sexp & 0x7fff;
    if (exp == 0)
        return r->signif == 0 ? X87_TAG_ZERO : X87_TAG_SPECIAL;
    if (exp == 0x7fff || !(r->signif >> 63))
        return X87_TAG_SPECIAL;
    return X87_TAG_VALID;
}

void x87_check_nm(struct cpu *c)
{
    if (c->cr0 & (CR0_EM | CR0_TS))
        cpu_fault(c, EXC_NM);
    if (unlikely(!(c->fpu.features & FPU_F_FPU)))
        cpu_fault(c, EXC_UD);
}

void x87_check_pending(struct cpu *c)
{
    if (unlikely(c->fpu.fsw & FSW_ES) && (c->cr0 & CR0_NE))
        cpu_fault(c, EXC_MF);
}

static uint8_t modrm_of(const struct insn *in)
{
    return (uint8_t)((in->mod << 6) | ((in->reg & 7) << 3) | (in->rm & 7));
}

/* SDM 1 "x87 FPU Instruction and Data (Operand) Pointers" and "Last
 * Instruction Opcode": every non-control instruction records its CS:IP
 * and the 11-bit opcode (low 3 bits of the first byte, then ModRM); one
 * with a memory operand records its segment and offset. Register-only
 * instructions leave FDS:FDP as they are (the SDM leaves them undefined). */
void x87_note_insn(struct cpu *c, const struct insn *in, bool mem, uint64_t ea)
{
    struct cpu_fpu *f = &c->fpu;
    f->fop = (uint16_t)(((in->opcode & 7u) << 8) | modrm_of(in));
    f->fip = c->rip;
    f->fcs = c->seg[SEG_CS].sel;
    if (mem) {
        f->fdp = ea;
        f->fds = c->seg[in->seg].sel;
    }
}

/* Runs in on the host with mem as its memory operand; commits the x87
 * state and returns the exception flags the instruction raised. *fl gets
 * the host RFLAGS (FCOMI). */
static unsigned x87_run(struct cpu *c, const struct insn *in, uint8_t *mem, uint64_t *fl)
{
    struct cpu_fpu *f = &c->fpu;
    uint8_t img[X87_IMAGE_SIZE];
    memset(img, 0, sizeof img);
    uint16_t fsw_in = (uint16_t)(f->fsw & ~(FSW_STICKY | FSW_ES | FSW_B));
    memcpy(img + 0, &f->fcw, 2);
    memcpy(img + 4, &fsw_in, 2);
    memcpy(img + 8, &f->ftw, 2);
    for (unsigned i = 0; i < 8; i++) {
        const struct x87_reg *r = x87_st(c, i);
        memcpy(img + 28 + 10 * i, &r->signif, 8);
        memcpy(img + 36 + 10 * i, &r->sexp, 2);
    }
    flags_materialize(c);
    uint64_t hfl = x87_host_exec(img, mem, in->opcode, modrm_of(in), c->rflags);
    if (fl)
        *fl = hfl;
    uint16_t fsw, ftw;
    memcpy(&fsw, img + 4, 2);
    memcpy(&ftw, img + 8, 2);
    unsigned raised = fsw & FSW_STICKY;
    f->fsw = (uint16_t)((fsw & ~(FSW_ES | FSW_B)) | (f->fsw & FSW_STICKY));
    f->ftw = ftw;
    for (unsigned i = 0; i < 8; i++) {
        struct x87_reg *r = x87_st(c, i);
        memcpy(&r->signif, img + 28 + 10 * i, 8);
        memcpy(&r->sexp, img + 36 + 10 * i, 2);
    }
    x87_update_es(c);
    return raised;
}

/* Every computing instruction: #NM, then a pending exception (#MF). */
static void x87_enter(struct cpu *c)
{
    x87_check_nm(c);
    x87_check_pending(c);
}

static void read_bytes(struct cpu *c, const struct insn *in, uint64_t ea, uint8_t *buf,
                       unsigned size)
{
    uint64_t m = size_mask(in->addrsize);
    uint64_t lo = cpu_read(c, in->seg, ea, size >= 8 ? 8 : size);
    memcpy(buf, &lo, 8);
    if (size == 10) {
        uint64_t hi = cpu_read(c, in->seg, (ea + 8) & m, 2);
        memcpy(buf + 8, &hi, 2);
    }
}

/* ST(i) forms: no memory operand. */
void op_x87_reg(struct cpu *c, const struct insn *in)
{
    uint8_t mem[16] = {0};
    x87_enter(c);
    x87_run(c, in, mem, NULL);
    x87_note_insn(c, in, false, 0);
}

/* FCOMI, FCOMIP, FUCOMI, FUCOMIP: ZF, PF, CF from the comparison, OF, SF
 * and AF cleared (SDM 2A "FCOMI/FCOMIP/FUCOMI/FUCOMIP"), as the host set
 * them; with an unmasked invalid-operation exception the host leaves them
 * as they were, which is what it was given. */
void op_x87_fcomi(struct cpu *c, const struct insn *in)
{
    uint8_t mem[16] = {0};
    uint64_t fl;
    x87_enter(c);
    x87_run(c, in, mem, &fl);
    flags_set_arith(c, fl);
    x87_note_insn(c, in, false, 0);
}

static void mload(struct cpu *c, const struct insn *in, unsigned size)
{
    uint8_t mem[16] = {0};
    x87_enter(c);
    uint64_t ea = insn_ea(c, in);
    read_bytes(c, in, ea, mem, size);
    x87_run(c, in, mem, NULL);
    x87_note_insn(c, in, true, ea);
}

void op_x87_mload(struct cpu *c, const struct insn *in) { mload(c, in, in->opsize); }
void op_x87_mload10(struct cpu *c, const struct insn *in) { mload(c, in, 10); }

/* Stores: the destination is checked before the state changes; an
 * unmasked invalid-operation, overflow or underflow exception leaves it
 * unwritten (SDM 1 "Numeric Overflow Exception (#O)", "Numeric Underflow
 * Exception (#U)", "Invalid Arithmetic Operand Exception (#IA)": the
 * destination is not changed), an unmasked precision exception does not. */
static void mstore(struct cpu *c, const struct insn *in, unsigned size)
{
    uint8_t mem[16] = {0};
    x87_enter(c);
    uint64_t ea = insn_ea(c, in);
    uint64_t m = size_mask(in->addrsize);
    cpu_probe_write(c, in->seg, ea, size >= 8 ? 8 : size);
    if (size == 10)
        cpu_probe_write(c, in->seg, (ea + 8) & m, 2);
    unsigned raised = x87_run(c, in, mem, NULL);
    x87_note_insn(c, in, true, ea);
    if (raised & ~c->fpu.fcw & (FSW_IE | FSW_DE | FSW_ZE | FSW_OE | FSW_UE))
        return;
    uint64_t lo, hi = 0;
    memcpy(&lo, mem, 8);
    memcpy(&hi, mem + 8, 2);
    cpu_write(c, in->seg, ea, size >= 8 ? 8 : size, size >= 8 ? lo : lo & size_mask(size));
    if (size == 10)
        cpu_write(c, in->seg, (ea + 8) & m, 2, hi);
}

void op_x87_mstore(struct cpu *c, const struct insn *in) { mstore(c, in, in->opsize); }
void op_x87_mstore10(struct cpu *c, const struct insn *in) { mstore(c, in, 10); }

/* FISTTP (SDM 2A "FISTTP"): SSE3; #UD when CPUID.01H:ECX.SSE3[bit 0] = 0. */
void op_fisttp(struct cpu *c, const struct insn *in)
{
    if (!cpu_cpuid_feature(c, 1, CPUID_ECX, 0))
        cpu_fault(c, EXC_UD);
    mstore(c, in, in->opsize);
}
