/* Private to src/cpu: the x87 register file (SDM 1 "x87 FPU Execution
 * Environment") and its accessors -- the stack top, the tag word, ST(i),
 * the exception summary. The MMX view of the same registers is mmx_x87.h.
 * Instructions: x87.c, x87_control.c; the host x87 unit that computes:
 * x87_host.c. */
#ifndef NVMX_CPU_X87_H
#define NVMX_CPU_X87_H

#include "cpu/cpu_internal.h"

/* FSW (SDM 1 "x87 FPU Status Register") */
#define FSW_IE 0x0001u
#define FSW_DE 0x0002u
#define FSW_ZE 0x0004u
#define FSW_OE 0x0008u
#define FSW_UE 0x0010u
#define FSW_PE 0x0020u
#define FSW_SF 0x0040u
#define FSW_ES 0x0080u
#define FSW_C0 0x0100u
#define FSW_C1 0x0200u
#define FSW_C2 0x0400u
#define FSW_TOP 0x3800u
#define FSW_C3 0x4000u
#define FSW_B 0x8000u
#define FSW_EXC 0x003fu    /* the six exception flags (maskable in FCW 5:0) */
#define FSW_STICKY 0x007fu /* the flags and SF: cleared only by FCLEX/FINIT/loads */

/* FCW (SDM 1 "x87 FPU Control Word"): masks 5:0, PC 9:8, RC 11:10, X 12.
 * Bit 6 reads as 1 and bits 7, 15:13 as 0 (what FNSTCW returns on Intel
 * processors after FLDCW of any value). */
#define FCW_MASKS 0x003fu
#define FCW_WRITABLE 0x1f3fu
#define FCW_ALWAYS1 0x0040u
#define FCW_INIT 0x037fu

/* Tag values (SDM 1 "x87 FPU Tag Word") */
#define X87_TAG_VALID 0u
#define X87_TAG_ZERO 1u
#define X87_TAG_SPECIAL 2u
#define X87_TAG_EMPTY 3u

static inline unsigned x87_top(const struct cpu *c) { return (c->fpu.fsw >> 11) & 7; }

static inline void x87_set_top(struct cpu *c, unsigned top)
{
    c->fpu.fsw = (uint16_t)((c->fpu.fsw & ~FSW_TOP) | ((top & 7) << 11));
}

/* Physical register Rp's tag. */
static inline unsigned x87_tag(const struct cpu *c, unsigned p) { return (c->fpu.ftw >> (2 * (p & 7))) & 3; }

static inline void x87_set_tag(struct cpu *c, unsigned p, unsigned tag)
{
    unsigned s = 2 * (p & 7);
    c->fpu.ftw = (uint16_t)((c->fpu.ftw & ~(3u << s)) | ((tag & 3) << s));
}

/* ST(i): the physical register (TOP + i) mod 8. */
static inline struct x87_reg *x87_st(struct cpu *c, unsigned i) { return &c->fpu.st[(x87_top(c) + i) & 7]; }

/* The tag the contents of a register give it (SDM 1 "x87 FPU Tag Word"):
 * zero, special (NaN, infinity, denormal, pseudo-denormal, unsupported
 * encodings) or valid. */
unsigned x87_tag_of(const struct x87_reg *r);

/* ES and B follow the flags and the masks (SDM 1 "x87 FPU Status
 * Register": ES is set when any unmasked exception flag is set; B mirrors
 * ES). Call after anything that changes FSW flags or FCW masks. */
static inline void x87_update_es(struct cpu *c)
{
    struct cpu_fpu *f = &c->fpu;
    if (f->fsw & ~f->fcw & FSW_EXC)
        f->fsw |= FSW_ES | FSW_B;
    else
        f->fsw &= (uint16_t)~(FSW_ES | FSW_B);
}

/* SDM 3A Table "Action Taken By x87 FPU Instructions for Different
 * Combinations of EM, MP, and TS": an x87 instruction faults #NM when
 * CR0.EM = 1 or CR0.TS = 1. Without an FPU in CPUID (and EM = 0) nvmx
 * raises #UD, as for any instruction the CPU does not implement. */
void x87_check_nm(struct cpu *c);

/* A pending unmasked exception (FSW.ES) is reported by the next waiting
 * x87 (or MMX) instruction before it executes (SDM 1 "x87 FPU Exception
 * Synchronization"): #MF when CR0.NE = 1. With CR0.NE = 0 nvmx models a
 * platform that holds IGNNE# asserted (no FERR# wiring): the instruction
 * executes and the exception stays pending (docs/fpu.md). */
void x87_check_pending(struct cpu *c);

/* Records FOP, FCS:FIP and, for a memory operand at offset ea, FDS:FDP:
 * the last non-control instruction (x87.c). */
void x87_note_insn(struct cpu *c, const struct insn *in, bool mem, uint64_t ea);

#endif
