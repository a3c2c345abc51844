/* Private to src/cpu: the predecoded instruction, operand access, lazy flags,
 * memory access and fault raising that every handler file uses. */
#ifndef NVMX_CPU_INTERNAL_H
#define NVMX_CPU_INTERNAL_H

#include "nvmx/cpu.h"
#include "nvmx/machine.h"

#include <string.h>

#if defined(__GNUC__)
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#else
#define likely(x) (x)
#define unlikely(x) (x)
#endif

enum cpu_mode {
    MODE_REAL = 0,  /* CR0.PE = 0 */
    MODE_V86,       /* RFLAGS.VM = 1 (not supported: #UD on entry) */
    MODE_PROT,      /* protected mode, 16- or 32-bit code */
    MODE_COMPAT,    /* IA-32e, CS.L = 0 */
    MODE_LONG64,    /* IA-32e, CS.L = 1 */
};

/* ---- predecoded instruction ---------------------------------------------- */

/* Operand kinds, filled by the decoder from the operand column of
 * opcodes*.txt, read by opnd_read()/opnd_write(). */
enum opk {
    OPK_NONE = 0,
    OPK_RM,    /* ModRM r/m: register if mod == 3, else memory (E*) */
    OPK_MEM,   /* ModRM r/m, memory only (M*) */
    OPK_REG,   /* ModRM reg: GPR (G*) */
    OPK_OPREG, /* register in opcode bits 2:0 (+r), index in in->rm */
    OPK_ACC,   /* rAX / AL */
    OPK_IMM,   /* in->imm (already sign- or zero-extended per the form) */
    OPK_MOFFS, /* absolute offset in in->disp (A0-A3) */
    OPK_ONE,   /* constant 1 (shift by 1) */
    OPK_CL,    /* CL (shift count) */
    OPK_DX,    /* DX (port) */
    OPK_SREG,  /* segment register in ModRM.reg */
    OPK_CREG,  /* control register in ModRM.reg */
    OPK_DREG,  /* debug register in ModRM.reg */
    OPK_REL,   /* relative branch target: in->imm is the sign-extended disp */
    OPK_FAR,   /* far pointer immediate: in->imm offset, in->imm2 selector */
    OPK_XMM,   /* XMM register in ModRM.reg (V*); W and U operands are OPK_RM */
    OPK_MMX,   /* MMX register in ModRM.reg (P*); Q and N operands are OPK_RM */
};

/* in->pfx bits */
#define PFX_LOCK 0x01
#define PFX_REP 0x02   /* F3 */
#define PFX_REPNE 0x04 /* F2 */
#define PFX_OPSIZE 0x08 /* 66 */
#define PFX_ADSIZE 0x10 /* 67 */
#define PFX_SEG 0x20    /* an explicit segment override was present */

/* in->flags bits (from the flags column of opcodes*.txt) */
#define IF_ENDS_BLOCK 0x01 /* control transfer or state change: leave block */
#define IF_LOCK_OK 0x02    /* LOCK allowed with a memory destination */
#define IF_PURE 0x04       /* changes only GPRs, flags, RIP, memory (ROWF_PURE) */

#define REG_NONE 0xff
#define REG_RIP 0xfe

struct insn;
/* The reference contract: c->rip and c->next_rip hold the instruction's
 * address and the next one; a branch overwrites c->next_rip, a change of
 * state sets c->end_block; a fault unwinds. Every decoded instruction has
 * one (the decoder's table). */
typedef void (*insn_handler)(struct cpu *c, const struct insn *in);
/* The run loop's contract (see cpu_exec_generic and docs/design-cpu.md):
 * threaded code. c->rip is not kept up to date inside a block: the
 * instruction's address is c->block_rip + in->off. A handler either goes on
 * with the next instruction of the block (CPU_NEXT, a tail call) or leaves
 * the block after setting c->rip and returns itself, the last instruction
 * that ran. An exec handler other than cpu_exec_generic never faults: on
 * anything unusual it hands the instruction to cpu_exec_generic before
 * changing any state. */
typedef const struct insn *(*insn_exec)(struct cpu *c, const struct insn *in);
#define CPU_NEXT(c, in) return (in)[1].exec((c), (in) + 1)

struct insn {
    insn_exec exec;
    insn_handler handler;
    int64_t disp;     /* ModRM displacement, or moffs */
    uint64_t imm;     /* first immediate / rel disp / far offset */
    uint64_t imm2;    /* second immediate (ENTER level, far selector) */
    uint16_t id;      /* opcode row id (generated enum opid) */
    uint8_t len;      /* total length in bytes */
    uint8_t opsize;   /* effective operand size in bytes: 1, 2, 4, 8 */
    uint8_t addrsize; /* effective address size: 2, 4, 8 */
    uint8_t seg;      /* segment for the memory operand (enum cpu_seg) */
    uint8_t mod;      /* ModRM.mod (3 = register) */
    uint8_t reg;      /* ModRM.reg | REX.R << 3, or the /digit */
    uint8_t rm;       /* ModRM.rm | REX.B << 3 (mod == 3), or +r register */
    uint8_t base;     /* memory: base register 0-15, REG_RIP or REG_NONE */
    uint8_t index;    /* memory: index register 0-15 or REG_NONE */
    uint8_t scale;    /* memory: log2 of the scale */
    uint8_t rex;      /* the REX byte, or 0 */
    uint8_t pfx;      /* PFX_* */
    uint8_t flags;    /* IF_* */
    uint8_t opk[3];   /* enum opk, operand 0 is the destination */
    uint8_t cost_class;
    uint8_t opcode;   /* last opcode byte (before ModRM) */
    uint8_t cc;       /* condition code for Jcc/SETcc/CMOVcc (opcode & 15) */
    uint32_t cum_cycles; /* block-relative: cycles of this and earlier insns */
    uint16_t off;        /* offset of the first byte from the block's start */
    uint8_t nret;        /* instructions retired when the block ends after this one */
    uint8_t fdst, fsrc, rm2; /* register operands of a specialised handler (fastpath.c) */
};

/* Decoder (src/cpu/decode.c). Fetches through cpu_fetch_code(); on a fault
 * while fetching raises it (#PF/#GP). Returns false and fills in->handler
 * = op_ud for undefined encodings. mode_bits: code_size. */
bool cpu_decode(struct cpu *c, uint64_t rip, struct insn *in);
/* Decoder from a byte buffer (tests, difftest, disassembly checks):
 * returns length or 0 if undefined / truncated. */
unsigned cpu_decode_bytes(const uint8_t *bytes, unsigned avail, unsigned code_size,
                          struct insn *in);
const char *cpu_opid_name(unsigned id); /* mnemonic of a row */
/* True when the bytes can only be an instruction longer than 15 bytes. */
bool cpu_decode_too_long(const uint8_t *bytes, unsigned avail, unsigned code_size);
/* #GP(0) for an instruction longer than 15 bytes or reaching past the CS
 * limit (SDM 2A "Instruction Format", SDM 3A "Limit Checking"). */
void op_insn_gp(struct cpu *c, const struct insn *in);

void op_ud(struct cpu *c, const struct insn *in);
/* Runs in->handler under the reference contract (src/cpu/core.c). */
const struct insn *cpu_exec_generic(struct cpu *c, const struct insn *in);

/* ---- faults --------------------------------------------------------------- */

/* Raise an exception for the current instruction: unwinds to the run loop,
 * which leaves RIP at the faulting instruction and delivers it. */
_Noreturn void cpu_fault(struct cpu *c, int vector);
_Noreturn void cpu_fault_err(struct cpu *c, int vector, uint32_t error_code);
_Noreturn void cpu_fault_pf(struct cpu *c, uint64_t lin, uint32_t error_code);

/* Event delivery through IVT/IDT (src/cpu/except.c). next_rip is the return
 * address pushed for traps and software interrupts. Faults inside delivery
 * combine into #DF / shutdown as the SDM says. */
void cpu_deliver_event(struct cpu *c, int vector, enum cpu_event_type type, bool has_err,
                       uint32_t err, uint64_t return_rip);
/* Classify for #DF: SDM 3A Table "Conditions for Generating a Double Fault". */
enum exc_class { EXC_CLASS_BENIGN, EXC_CLASS_CONTRIBUTORY, EXC_CLASS_PAGE_FAULT };
enum exc_class cpu_exception_class(int vector);
/* What happens when 'second' is raised while delivering 'first':
 * 0 = handle second serially, 1 = #DF, 2 = shutdown (first was #DF). */
int cpu_double_fault_result(int first, int second);

/* The linear address of the instruction at rip (CS.base + rip; 32 bits
 * outside 64-bit mode). */
static inline uint64_t cpu_insn_linear(const struct cpu *c, uint64_t rip)
{
    uint64_t lin = c->seg[SEG_CS].base + rip;
    return c->mode == MODE_LONG64 ? lin : lin & 0xffffffffull;
}

/* ---- modes ---------------------------------------------------------------- */
void cpu_update_mode(struct cpu *c);
static inline bool cpu_is_64(const struct cpu *c) { return c->mode == MODE_LONG64; }
static inline bool cpu_long_active(const struct cpu *c) { return (c->efer & EFER_LMA) != 0; }

/* ---- memory --------------------------------------------------------------- */

/* Access flags for the linear/physical paths */
#define ACC_R 0x0
#define ACC_W 0x1
#define ACC_X 0x2
#define ACC_SYS 0x4  /* implicit supervisor access (GDT, IDT, TSS...) */
#define ACC_NOFAULT 0x8 /* probe: return false instead of faulting */
/* A look by nvmx itself (trace, debugger), not by the processor: implies
 * ACC_NOFAULT, and leaves no trace in the machine -- no accessed or dirty
 * flag set (guest paging or EPT), no PML entry, no cycles or statistics,
 * nothing cached, no VM exit. */
#define ACC_PEEK 0x10

/* Segmented access: segmentation checks (limit, type, canonical) then paging.
 * size is 1, 2, 4 or 8. Faults unwind. */
uint64_t cpu_read(struct cpu *c, int seg, uint64_t off, unsigned size);
void cpu_write(struct cpu *c, int seg, uint64_t off, unsigned size, uint64_t val);
/* Check that a write would succeed, without writing (for instructions that
 * must not half-commit). */
void cpu_probe_write(struct cpu *c, int seg, uint64_t off, unsigned size);
/* Segmentation only: returns the linear address or faults. */
uint64_t cpu_seg_linear(struct cpu *c, int seg, uint64_t off, unsigned size, unsigned acc);

/* Linear access (paging only). */
uint64_t cpu_read_lin(struct cpu *c, uint64_t lin, unsigned size, unsigned acc);
void cpu_write_lin(struct cpu *c, uint64_t lin, unsigned size, uint64_t val, unsigned acc);
/* Code fetch of up to 15 bytes; returns bytes fetched before a fault would
 * occur when acc has ACC_NOFAULT. */
unsigned cpu_fetch_code(struct cpu *c, uint64_t lin, uint8_t *buf, unsigned len);

/* Physical access (no paging). */
uint64_t cpu_read_phys(struct cpu *c, uint64_t pa, unsigned size);
void cpu_write_phys(struct cpu *c, uint64_t pa, unsigned size, uint64_t val);

/* Paging (src/cpu/paging.c): translate lin for access acc at the current
 * CPL. On success returns true and the physical address (host-physical:
 * under EPT the guest-physical result has gone through EPT too); *tlb_ok says the
 * translation may be cached in the software TLB for this access class
 * (false e.g. when the D bit must still be set). On failure raises #PF
 * (or returns false with ACC_NOFAULT). */
bool paging_translate(struct cpu *c, uint64_t lin, unsigned acc, uint64_t *pa,
                      bool *tlb_ok);

/* EPT (src/cpu/ept.c): is two-dimensional translation in force? */
static inline bool cpu_ept_active(const struct cpu *c)
{
    return unlikely(c->vmx_nonroot) && c->nr.ept;
}
/* Translate guest-physical gpa through EPT for access a (lin is the
 * guest-linear address for the exit when a->linear_valid). Returns true
 * with *hpa; on an EPT violation or misconfiguration returns false when
 * nofault, else takes the VM exit (no return). */
bool cpu_ept_translate(struct cpu *c, uint64_t gpa, const struct ept_access *a, uint64_t lin,
                       bool nofault, uint64_t *hpa);
/* The same for an ACC_PEEK look: the walk only (no flag set, no PML entry,
 * no cycles, no exit); false where the access would not succeed. */
bool cpu_ept_peek(struct cpu *c, uint64_t gpa, const struct ept_access *a, uint64_t *hpa);
/* The EPT access for the translation of a linear address (not a paging-
 * structure access) with access flags acc (ACC_*), and the linear
 * address's rights for the advanced VM-exit information. */
static inline struct ept_access cpu_ept_data_access(unsigned acc, bool user, bool writable, bool xd)
{
    return (struct ept_access){
        .type = (acc & ACC_X) ? EPT_ACCESS_FETCH : (acc & ACC_W) ? EPT_ACCESS_WRITE : EPT_ACCESS_READ,
        .linear_valid = true,
        .linear_user = user,
        .linear_writable = writable,
        .linear_xd = xd,
    };
}

/* Under EPT with CR0.PG = 0 (unrestricted guest): the linear address is
 * the guest-physical address; SDM 3C Table "Exit Qualification for EPT
 * Violations" says such an address is user-mode, read/write and
 * executable for bits 11:9. */
static inline bool cpu_ept_translate_unpaged(struct cpu *c, uint64_t lin, unsigned acc, uint64_t *pa)
{
    struct ept_access a = cpu_ept_data_access(acc, true, true, false);
    if (acc & ACC_PEEK)
        return cpu_ept_peek(c, *pa, &a, pa);
    return cpu_ept_translate(c, *pa, &a, lin, acc & ACC_NOFAULT, pa);
}

static inline bool canonical(uint64_t a) { return (uint64_t)((int64_t)(a << 16) >> 16) == a; }

/* ---- registers ------------------------------------------------------------ */

static inline uint64_t size_mask(unsigned size)
{
    return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

/* Read a GPR at an operand size. For size 1 without REX, 4..7 are AH..BH. */
static inline uint64_t reg_read(const struct cpu *c, unsigned r, unsigned size, bool rex)
{
    if (size == 1) {
        if (!rex && r >= 4 && r < 8)
            return (c->gpr[r - 4] >> 8) & 0xff;
        return c->gpr[r] & 0xff;
    }
    return c->gpr[r] & size_mask(size);
}

/* Write a GPR: 32-bit writes zero-extend, 8/16-bit writes merge. */
static inline void reg_write(struct cpu *c, unsigned r, unsigned size, bool rex, uint64_t v)
{
    switch (size) {
    case 1:
        if (!rex && r >= 4 && r < 8)
            c->gpr[r - 4] = (c->gpr[r - 4] & ~0xff00ull) | ((v & 0xff) << 8);
        else
            c->gpr[r] = (c->gpr[r] & ~0xffull) | (v & 0xff);
        break;
    case 2: c->gpr[r] = (c->gpr[r] & ~0xffffull) | (v & 0xffff); break;
    case 4: c->gpr[r] = (uint32_t)v; break;
    default: c->gpr[r] = v; break;
    }
}

/* Effective address (offset within in->seg) of the memory operand. */
static inline uint64_t insn_ea(const struct cpu *c, const struct insn *in)
{
    uint64_t ea = (uint64_t)in->disp;
    if (in->base == REG_RIP)
        ea += c->rip + in->len;
    else if (in->base != REG_NONE)
        ea += c->gpr[in->base];
    if (in->index != REG_NONE)
        ea += c->gpr[in->index] << in->scale;
    return ea & size_mask(in->addrsize);
}

/* Operand access for generic handlers: operand i of in, at size. */
uint64_t opnd_read(struct cpu *c, const struct insn *in, unsigned i, unsigned size);
void opnd_write(struct cpu *c, const struct insn *in, unsigned i, unsigned size, uint64_t v);

/* Stack helpers: push/pop at the stack width of the current mode (or size),
 * honouring SS.B / 64-bit RSP. push writes before updating RSP. */
void cpu_push(struct cpu *c, unsigned size, uint64_t v);
uint64_t cpu_pop(struct cpu *c, unsigned size);
uint64_t cpu_stack_addr_mask(const struct cpu *c);

/* ---- lazy flags (src/cpu/flags.c) ------------------------------------------ */

enum lf_op {
    LF_NONE = 0, /* rflags holds the arithmetic flags */
    LF_ADD, LF_ADC, LF_SUB, LF_SBB, LF_LOGIC, LF_INC, LF_DEC, LF_NEG,
};

/* res must already be truncated to size (fast paths read ZF as res == 0). */
static inline void lf_set(struct cpu *c, enum lf_op op, unsigned size, uint64_t res,
                          uint64_t s1, uint64_t s2)
{
    c->lf.op = (uint8_t)op;
    c->lf.size = (uint8_t)size;
    c->lf.res = res;
    c->lf.src1 = s1;
    c->lf.src2 = s2;
}

/* Fold the lazy state into c->rflags (leaves lf.op = LF_NONE). */
void flags_materialize(struct cpu *c);
/* Current value of one arithmetic flag. */
bool flags_cf(struct cpu *c);
/* CF without a call, for the records the fast paths leave most often:
 * false when the record is of another kind (the caller takes its generic
 * path then). */
static inline bool flags_cf_quick(const struct cpu *c, bool *cf)
{
    /* tests, not a jump table: the previous record's kind is usually the
     * same each time round a loop, which direct branches predict well */
    unsigned op = c->lf.op;
    if (op == LF_LOGIC) {
        *cf = false;
        return true;
    }
    uint64_t m = size_mask(c->lf.size);
    if (op == LF_SUB) {
        *cf = (c->lf.src1 & m) < (c->lf.src2 & m);
        return true;
    }
    if (op == LF_ADD) {
        *cf = (c->lf.res & m) < (c->lf.src1 & m);
        return true;
    }
    if (op == LF_INC || op == LF_DEC) {
        *cf = c->lf.cf_in != 0;
        return true;
    }
    if (op == LF_NONE) {
        *cf = (c->rflags & FL_CF) != 0;
        return true;
    }
    return false;
}
/* Evaluate condition code cc (0..15, the Jcc/SETcc/CMOVcc encoding). */
bool flags_cond(struct cpu *c, unsigned cc);
/* Set the six arithmetic flags explicitly (materialized form). */
static inline void flags_set_arith(struct cpu *c, uint64_t fl)
{
    c->lf.op = LF_NONE;
    c->rflags = (c->rflags & ~FL_ARITH) | (fl & FL_ARITH);
}
/* Parity of the low byte, as PF wants it (1 = even number of set bits). */
static inline uint64_t flags_pf(uint64_t res)
{
    return (uint64_t)(!__builtin_parity((unsigned)(res & 0xff))) << 2;
}

/* ---- VMX glue (src/cpu/vmx_glue.c) ------------------------------------------ */

struct cpu_intercept;
/* VM-exit instruction information for the instruction's ModRM operand, and
 * the exit qualification (displacement) that goes with it. */
uint32_t cpu_insn_info(const struct insn *in);
uint64_t cpu_insn_displacement(const struct cpu *c, const struct insn *in);
void cpu_intercept_slow(struct cpu *c, const struct cpu_intercept *q);
/* In VMX non-root operation, ask whether q causes a VM exit; if it does,
 * the exit is taken and the instruction ends here (no return). Call it at
 * the point the SDM gives VM exits priority: after the #UD and CPL-based
 * faults, before anything else. */
static inline void cpu_intercept(struct cpu *c, const struct cpu_intercept *q)
{
    if (unlikely(c->vmx_nonroot))
        cpu_intercept_slow(c, q);
}

/* PAUSE in non-root operation: PAUSE exiting and PAUSE-loop exiting
 * (src/cpu/ops_sys.c). */
void cpu_pause_intercept(struct cpu *c, const struct insn *in);

/* ---- modelled TLB (src/cpu/tlb_model.c) ---------------------------------------- */
/* From the model's CPUID leaf 2 descriptors; no modelled TLB (c->tlbm NULL)
 * without TLB descriptors. False when memory runs out. */
bool tlb_model_init(struct cpu *c);
void tlb_model_free(struct cpu *c);
/* 1: first-level hit, 2: STLB hit, 0: miss (the walk is charged). */
unsigned tlb_model_lookup(struct cpu *c, uint64_t lin);
void tlb_model_fill(struct cpu *c, uint64_t lin, uint64_t page_size);
/* Drop software-TLB context slot's entries for the page of lin. */
void tlb_model_drop_page(struct cpu *c, unsigned slot, uint64_t lin);

/* ---- misc ------------------------------------------------------------------ */
uint64_t cpu_tsc(const struct cpu *c);
/* Invalidate predecoded blocks on a physical page (self-modifying code). */
void block_invalidate_page(struct cpu *c, uint64_t pfn);
/* Is this physical page known to hold predecoded code? */
bool block_page_has_code(const struct cpu *c, uint64_t pfn);

/* MSRs (src/cpu/msr.c): return false -> caller raises #GP(0). */
bool cpu_rdmsr(struct cpu *c, uint32_t index, uint64_t *val);
bool cpu_wrmsr(struct cpu *c, uint32_t index, uint64_t val);

/* CPUID from the model (src/cpu/cpuid.c). */
void cpu_cpuid(struct cpu *c, uint32_t leaf, uint32_t subleaf, uint32_t out[4]);
enum cpuid_reg { CPUID_EAX = 0, CPUID_EBX, CPUID_ECX, CPUID_EDX };
/* Does the model advertise CPUID.(leaf).reg[bit]? */
bool cpu_cpuid_feature(const struct cpu *c, uint32_t leaf, unsigned reg, unsigned bit);
/* Leaf 0DH's live sizes (src/cpu/xsave_xcr.c), patched into out. */
void cpu_cpuid_leaf_d(const struct cpu *c, uint32_t subleaf, uint32_t out[4]);
/* IA32_XSS (src/cpu/xsave_xcr.c); false -> #GP(0). */
bool cpu_rdmsr_xss(struct cpu *c, uint64_t *val);
bool cpu_wrmsr_xss(struct cpu *c, uint64_t val);

/* RFLAGS bits the SDM calls undefined after this instruction (src/cpu/flags.c);
 * the _at form also reads a shift count held in CL. */
uint64_t cpu_undefined_flags(const struct insn *in);
uint64_t cpu_undefined_flags_at(const struct cpu *c, const struct insn *in);

/* Segment loading with the descriptor checks (src/cpu/seg.c). */
void seg_load(struct cpu *c, int seg, uint16_t sel);                /* MOV/POP Sreg, LDS... */
void seg_load_real(struct cpu *c, int seg, uint16_t sel);           /* real mode */
bool seg_read_descriptor(struct cpu *c, uint16_t sel, uint64_t desc[2], int fault_vec);
void seg_from_descriptor(struct seg_reg *s, uint16_t sel, uint64_t lo, uint64_t hi);

#endif
