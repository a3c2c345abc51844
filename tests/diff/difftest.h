/* Differential tester: shared types. A case is a short random instruction
 * sequence plus an initial state; it runs in nvmx and in Unicorn from the
 * same state and the final states are compared. */
#ifndef NVMX_DIFFTEST_H
#define NVMX_DIFFTEST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Guest layout, identical in both engines (identity-mapped in nvmx). The
 * data area follows the code page so RIP-relative operands reach it. */
#define DT_CODE_BASE 0x100000ull
#define DT_CODE_SIZE 0x1000ull
#define DT_DATA_BASE 0x101000ull
#define DT_DATA_SIZE 0x4000ull
#define DT_STACK_BASE 0x106000ull
#define DT_STACK_SIZE 0x2000ull
/* nvmx only: GDT and page tables, outside the compared areas. */
#define DT_GDT_BASE 0x9000ull
#define DT_PT_BASE 0x10000ull
#define DT_RAM_SIZE 0x400000ull

/* Sign and exponent of the x87 registers at the start of a case (bits
 * 79:64); an MMX write sets them to all ones in nvmx (SDM 1), which Unicorn
 * does not do, so they are not compared (docs/difftest.md). */
#define DT_FP_SEXP 0x4000u

#define DT_MAX_INSNS 8
#define DT_LOOP_LIMIT 64 /* instruction limit for cases with backward jumps */
#define DT_TRACE_MAX 512

enum { R_RAX, R_RCX, R_RDX, R_RBX, R_RSP, R_RBP, R_RSI, R_RDI };

/* Arithmetic flags, the compared part of RFLAGS. */
#define DT_CF 0x001u
#define DT_PF 0x004u
#define DT_AF 0x010u
#define DT_ZF 0x040u
#define DT_SF 0x080u
#define DT_OF 0x800u
#define DT_ALL6 (DT_CF | DT_PF | DT_AF | DT_ZF | DT_SF | DT_OF)
#define DT_DF 0x400u

/* Per-instruction facts the generator knows from the SDM form it encoded. */
#define DTI_REP 0x01      /* REP/REPE/REPNE string instruction */
#define DTI_BSCAN 0x02    /* BSF/BSR: destination undefined when source is 0 */
#define DTI_JUMP 0x04     /* relative branch with a target to fix up */
#define DTI_UNCOND 0x08   /* JMP / CALL / RET: no fall-through */
#define DTI_GLUED 0x10    /* second of a pair: no branch may target it */
#define DTI_STACK 0x20    /* changes RSP */
#define DTI_SSEFP 0x40    /* SSE floating-point instruction (gen_sse_fp.c) */

struct dt_insn {
    uint8_t bytes[15];
    uint8_t len;
    uint16_t off;          /* offset in the code page */
    char mnem[16];         /* SDM mnemonic (upper case) */
    uint32_t fl_read;      /* arithmetic flags read */
    uint32_t fl_write;     /* flags always (re)written by it, defined or not */
    uint32_t fl_undef;     /* flags the SDM leaves undefined */
    uint8_t info;          /* DTI_* */
    uint8_t dst_reg;       /* BSF/BSR destination */
    int8_t rel_pos;        /* offset of rel8/rel32 in bytes, -1 none */
    uint8_t rel_size;      /* 1 or 4 */
    int8_t rip_pos;        /* offset of a RIP-relative disp32, -1 none */
    int target;            /* branch target: insn index, n = end of sequence */
    uint64_t rip_target;   /* linear target of the RIP-relative operand */
    uint64_t rip_segbase;  /* segment base added to it */
    uint8_t imm_target_pos; /* PUSH imm32 / MOV r32, imm32 holding a code address */
    bool has_imm_target;
};

struct dt_state {
    uint64_t gpr[16];
    uint64_t xmm[16][2]; /* low quadword first */
    uint32_t mxcsr;
    /* The x87 data registers as MMX sees them: the significands of R0-R7
     * (MM0-MM7), FSW.TOP and the empty tags (bit i set: Ri empty). */
    uint64_t mm[8];
    uint8_t fp_top, fp_empty;
    uint64_t rip;
    uint64_t rflags;
    uint8_t data[DT_DATA_SIZE];
    uint8_t stack[DT_STACK_SIZE];
};

struct dt_case {
    uint64_t seed;
    uint64_t index;
    unsigned n;
    struct dt_insn insn[DT_MAX_INSNS];
    uint8_t code[DT_CODE_SIZE];
    unsigned code_len;     /* up to and including the UD2 terminator */
    uint64_t end_addr;     /* address of the UD2 terminator */
    uint64_t fs_base, gs_base;
    bool has_backward;     /* run with DT_LOOP_LIMIT instructions */
    struct dt_state init;
};

/* Result of running a case in one engine. */
struct dt_result {
    struct dt_state st;
    int vector;          /* exception raised (-1: instruction limit) */
    bool ok;             /* the engine ran (false: setup/internal error) */
    char err[128];
    /* Unicorn only: executed instruction addresses, and BSF/BSR outcomes */
    uint64_t trace[DT_TRACE_MAX];
    unsigned ntrace;
    uint16_t undef_regs; /* registers whose final value the SDM leaves undefined */
    bool native;         /* from run_native.c: no exception list applies */
};

/* gen.c: which instruction set the cases draw from (--isa) */
enum { DT_ISA_GP = 0, DT_ISA_SSE = 1, DT_ISA_SIMD = 2, DT_ISA_SSEFP = 3 };
extern int dt_isa;
struct dt_rng {
    uint64_t s;
};
uint64_t dt_rand(struct dt_rng *r);
void dt_gen_case(struct dt_case *k, uint64_t seed, uint64_t index, const char *only);
bool dt_gen_only_valid(const char *only);
void dt_gen_list_mnemonics(FILE *f);

/* run_unicorn.c */
bool dt_uc_init(char *err, size_t errlen);
void dt_uc_run(const struct dt_case *k, struct dt_result *r);
void dt_uc_fini(void);

/* run_native.c: the case on this host's own processor (x86-64 only),
 * the oracle for MXCSR flags, FTZ and unmasked exceptions (#XM) */
bool dt_native_init(char *err, size_t errlen);
void dt_native_run(const struct dt_case *k, struct dt_result *r);
void dt_native_fini(void);
/* Non-NULL (the reason) if the native oracle cannot judge the case. */
const char *dt_native_skip(const struct dt_case *k);

/* run_nvmx.c */
bool dt_nvmx_init(char *err, size_t errlen);
void dt_nvmx_run(const struct dt_case *k, struct dt_result *r);
uint64_t dt_nvmx_undefined_flags(const uint8_t *bytes, unsigned len, bool *have);
void dt_nvmx_fini(void);

/* decode_check.c */
bool dt_decode_init(void);
void dt_decode_fini(void);
/* Returns true if nvmx's decoder agrees with Capstone on length and
 * mnemonic; otherwise writes the reason into why. */
bool dt_decode_check(const uint8_t *bytes, unsigned avail, uint64_t addr, char *why,
                     size_t whylen);
/* Capstone text of one instruction ("add rax, rbx"), or "(bad)". */
void dt_disasm(const uint8_t *bytes, unsigned avail, uint64_t addr, char *out, size_t outlen);

/* compare.c */
struct dt_verdict {
    bool pass;
    char reason[256];
    uint32_t flag_mask; /* flags compared */
    uint16_t reg_mask;  /* registers compared */
};
void dt_compare(const struct dt_case *k, const struct dt_result *u, const struct dt_result *v,
                struct dt_verdict *out);
void dt_print_case(FILE *f, const struct dt_case *k, const struct dt_result *u,
                   const struct dt_result *v, const struct dt_verdict *vd);

/* exceptions.c: known Unicorn deviations from the SDM */
uint32_t dt_exception_flags(const struct dt_case *k, const struct dt_insn *in,
                            const struct dt_result *u);
/* MXCSR bits not compared after the case (action MXCSR). */
uint32_t dt_exception_mxcsr(const struct dt_case *k);
/* True if XMM lanes holding a NaN in both engines compare equal whatever
 * the NaN (action NANS). */
bool dt_exception_nans(const struct dt_case *k);
/* True if the case has an instruction after which Unicorn leaves x87 TOP and
 * the tags as they were (they are then not compared). */
bool dt_exception_x87_tags(const struct dt_case *k);
/* Non-NULL (the reason) if the case must not be executed. */
const char *dt_exception_skip(const struct dt_case *k);

#endif
