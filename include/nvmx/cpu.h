/* nvmx CPU core: architectural state of one x86-64 logical processor, and the
 * entry points the machine and the CLI use to create, reset and run it.
 * Module-private pieces (struct insn, operand helpers, lazy flags) live in
 * src/cpu/cpu_internal.h. */
#ifndef NVMX_CPU_H
#define NVMX_CPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nvmx/ept.h"

struct machine;
struct cpu;

/* Segment registers, in the SDM's encoding order (ModRM.reg for MOV Sreg). */
enum cpu_seg { SEG_ES = 0, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_NSEGS };
#define SEG_NONE 7

/* Segment access rights in the VMX layout (SDM 3C "Guest Register State"):
 * descriptor bits 40..55 shifted down by 8, plus the "unusable" bit 16. */
#define AR_TYPE_MASK 0x0fu
#define AR_TYPE_A 0x01u      /* accessed */
#define AR_TYPE_RW 0x02u     /* data: writable, code: readable */
#define AR_TYPE_EC 0x04u     /* data: expand-down, code: conforming */
#define AR_TYPE_CODE 0x08u
#define AR_S (1u << 4)       /* code/data (1) vs system (0) */
#define AR_DPL_SHIFT 5
#define AR_DPL_MASK (3u << 5)
#define AR_P (1u << 7)
#define AR_AVL (1u << 12)
#define AR_L (1u << 13)
#define AR_DB (1u << 14)
#define AR_G (1u << 15)
#define AR_UNUSABLE (1u << 16)

struct seg_reg {
    uint64_t base;
    uint32_t limit; /* byte-granular (already scaled by G) */
    uint32_t ar;    /* AR_* */
    uint16_t sel;
};

struct dtr {
    uint64_t base;
    uint32_t limit;
};

/* RFLAGS (SDM 1 "EFLAGS Register") */
#define FL_CF (1ull << 0)
#define FL_FIXED1 (1ull << 1)
#define FL_PF (1ull << 2)
#define FL_AF (1ull << 4)
#define FL_ZF (1ull << 6)
#define FL_SF (1ull << 7)
#define FL_TF (1ull << 8)
#define FL_IF (1ull << 9)
#define FL_DF (1ull << 10)
#define FL_OF (1ull << 11)
#define FL_IOPL_SHIFT 12
#define FL_IOPL (3ull << 12)
#define FL_NT (1ull << 14)
#define FL_RF (1ull << 16)
#define FL_VM (1ull << 17)
#define FL_AC (1ull << 18)
#define FL_VIF (1ull << 19)
#define FL_VIP (1ull << 20)
#define FL_ID (1ull << 21)
#define FL_ARITH (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

/* Control registers (SDM 3A "Control Registers") */
#define CR0_PE (1ull << 0)
#define CR0_MP (1ull << 1)
#define CR0_EM (1ull << 2)
#define CR0_TS (1ull << 3)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_WP (1ull << 16)
#define CR0_AM (1ull << 18)
#define CR0_NW (1ull << 29)
#define CR0_CD (1ull << 30)
#define CR0_PG (1ull << 31)

#define CR4_VME (1ull << 0)
#define CR4_PVI (1ull << 1)
#define CR4_TSD (1ull << 2)
#define CR4_DE (1ull << 3)
#define CR4_PSE (1ull << 4)
#define CR4_PAE (1ull << 5)
#define CR4_MCE (1ull << 6)
#define CR4_PGE (1ull << 7)
#define CR4_PCE (1ull << 8)
#define CR4_OSFXSR (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define CR4_UMIP (1ull << 11)
#define CR4_LA57 (1ull << 12)
#define CR4_VMXE (1ull << 13)
#define CR4_SMXE (1ull << 14)
#define CR4_FSGSBASE (1ull << 16)
#define CR4_PCIDE (1ull << 17)
#define CR4_OSXSAVE (1ull << 18)
#define CR4_SMEP (1ull << 20)
#define CR4_SMAP (1ull << 21)
#define CR4_PKE (1ull << 22)

#define EFER_SCE (1ull << 0)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

/* IA32_DEBUGCTL (SDM 3B "IA32_DEBUGCTL MSR"). The CPU has BTF, and LBR when
 * the model has an LBR stack (cpu_debugctl_valid()); it has no branch trace
 * store or performance monitoring, so every other bit is reserved: WRMSR
 * setting one is #GP(0). */
#define DEBUGCTL_LBR (1ull << 0)
#define DEBUGCTL_BTF (1ull << 1)
#define DEBUGCTL_IMPLEMENTED DEBUGCTL_BTF /* on every model */

/* DR6 / DR7 (SDM 3B "Debug Registers") */
#define DR6_B0_B3 0xfull
#define DR6_BD (1ull << 13)
#define DR6_BS (1ull << 14)
#define DR6_BT (1ull << 15)
#define DR7_GD (1ull << 13)
/* Ln and Gn of breakpoint n, its R/Wn and LENn fields (include/nvmx/dr7.def) */
#define DR7_LG(n) (3ull << (2 * (n)))
#define DR7_RW_OF(dr7, n) ((unsigned)((dr7) >> (16 + 4 * (n))) & 3u)
#define DR7_LEN_OF(dr7, n) ((unsigned)((dr7) >> (18 + 4 * (n))) & 3u)

enum dr7_rw {
#define DR7_RW(name, enc, what) DR7_RW_##name = (enc),
#include "nvmx/dr7.def"
#undef DR7_RW
};

/* The breakpoints DR7 arms, derived from DR0-DR3 and DR7 by
 * cpu_debug_regs_changed() (src/cpu/breakpoint.c). Masks have bit n for
 * DRn; addr[n] is DRn with the low bits LENn masks cleared. */
struct cpu_breakpoints {
    uint8_t insn;        /* R/W = 00, enabled */
    uint8_t data;        /* R/W = 01 or 11, enabled */
    uint8_t write_only;  /* of data: R/W = 01 */
    uint8_t io;          /* R/W = 10, enabled (they fire only with CR4.DE) */
    uint8_t len[4];      /* bytes */
    uint64_t addr[4];
    /* DR6 bits (B0-B3, BS) of the debug traps recognised and not yet
     * delivered: set during an instruction by data and I/O breakpoints,
     * delivered at the next instruction boundary (held over one more
     * instruction after MOV SS / POP SS). */
    uint64_t hits;
};

/* Exception vectors (SDM 3A "Exception and Interrupt Vectors") */
enum {
    EXC_DE = 0, EXC_DB = 1, EXC_NMI = 2, EXC_BP = 3, EXC_OF = 4, EXC_BR = 5,
    EXC_UD = 6, EXC_NM = 7, EXC_DF = 8, EXC_TS = 10, EXC_NP = 11, EXC_SS = 12,
    EXC_GP = 13, EXC_PF = 14, EXC_MF = 16, EXC_AC = 17, EXC_MC = 18, EXC_XM = 19,
    EXC_VE = 20, EXC_CP = 21,
};

/* #PF error code bits (SDM 3A "Interrupt 14 -- Page-Fault Exception") */
#define PFEC_P (1u << 0)
#define PFEC_W (1u << 1)
#define PFEC_U (1u << 2)
#define PFEC_RSVD (1u << 3)
#define PFEC_I (1u << 4)
#define PFEC_PK (1u << 5)

/* Event types: the VMX interruption-type encoding (SDM 3C "VM-Entry Controls
 * for Event Injection"), shared by the one delivery path. */
enum cpu_event_type {
    EVT_EXTINT = 0,
    EVT_NMI = 2,
    EVT_HW_EXC = 3,
    EVT_SW_INT = 4,     /* INT n */
    EVT_PRIV_SW_EXC = 5, /* INT1 */
    EVT_SW_EXC = 6,     /* INT3, INTO */
};

/* Why cpu_run() returned. */
enum cpu_stop {
    CPU_STOP_NONE = 0,     /* still running (internal) */
    CPU_STOP_MACHINE,      /* a device asked to stop (debug-exit): see machine */
    CPU_STOP_SHUTDOWN,     /* triple fault / shutdown */
    CPU_STOP_VMX_ABORT,    /* a VMX abort: the logical processor is in the
                              shutdown state (SDM 3C "VMX Aborts");
                              vmx_last_abort() / nested_last_abort() say
                              which */
    CPU_STOP_HLT_FOREVER,  /* HLT with nothing that can wake it */
    CPU_STOP_INSN_LIMIT,   /* --max-insns reached */
    CPU_STOP_HOST,         /* a VM exit to a native host (include/nvmx/vmx.h
                              vmx_set_native_host): the caller runs the host
                              and calls cpu_run() again */
    CPU_STOP_EXCEPTION,    /* stop_on_exception: an exception was about to be
                              delivered; RIP is the faulting instruction and
                              last_exception / last_error say which */
};

/* The last-branch-record stack (SDM 3B "Last Branch Recording Filtering",
 * "LBR Stack"): the model's depth of FROM/TO (and LBR_INFO) entries, the
 * top-of-stack index, LBR_SELECT and the last exception record. */
#define CPU_LBR_MAX 32
struct cpu_lbr {
    uint64_t from[CPU_LBR_MAX], to[CPU_LBR_MAX], info[CPU_LBR_MAX];
    uint64_t tos, select, ler_from, ler_to;
    uint64_t last_cycles; /* modelled cycles at the last record (LBR_INFO.CYC_CNT) */
};

/* One CPUID leaf from the CPU-model config. */
struct cpuid_leaf {
    uint32_t leaf, subleaf;
    bool has_subleaf; /* false: subleaf ignored */
    uint32_t eax, ebx, ecx, edx;
};

/* The modelled paging-structure caches (include/nvmx/psc_caches.def). */
enum psc_cache {
#define PSC_CACHE(name, kind, level, label) PSC_##name,
#include "nvmx/psc_caches.def"
#undef PSC_CACHE
    PSC_NCACHES
};
#define PSC_MAX_ENTRIES 1024

#define CPU_MODEL_MAX_LEAVES 64
struct cpu_model {
    char name[64];
    unsigned nleaves;
    struct cpuid_leaf leaves[CPU_MODEL_MAX_LEAVES];
    uint64_t vmx_msrs[32]; /* filled by the VMX issue; indexed by enum in vmx.h */
    bool has_vmx_msrs;
    /* "paging_structure_caches": entries of each modelled cache (0: the
     * model has none of that kind); all 0 without the key. */
    uint16_t psc_entries[PSC_NCACHES];
    unsigned lbr_depth; /* last-branch-record stack entries; 0: no LBR (DEBUGCTL.LBR #GP) */
    bool lbr_info;      /* MSR_LBR_INFO_n exist */
};

/* Cost classes: one per instruction class, written once in cost_classes.def. */
enum cost_class {
#define COST_CLASS(name, dflt) COST_##name,
#include "nvmx/cost_classes.def"
#undef COST_CLASS
    COST_NCLASSES
};
struct cost_model {
    char name[64];
    uint32_t cycles[COST_NCLASSES];
};
extern const char *const cost_class_names[COST_NCLASSES];
void cost_model_defaults(struct cost_model *cm);

/* Lazy arithmetic flags: the last flag-producing operation, evaluated on
 * demand (src/cpu/flags.c). op == LF_NONE means the six arithmetic flags are
 * valid in rflags itself. */
struct lazy_flags {
    uint64_t res, src1, src2;
    uint64_t cf_in; /* CF before INC/DEC (they preserve it) */
    uint8_t op;     /* enum lf_op in cpu_internal.h */
    uint8_t size;   /* operand size in bytes */
};

#define TLB_SIZE 256
#define TLB_FILL_LOG 64
struct tlb_entry {
    uint64_t tag;   /* linear page number + 1 (0 = invalid) */
    intptr_t addend; /* host pointer = linear address + addend */
};
/* One software-TLB context: the mappings of one (VPID, EPTP) pair, for
 * data reads, data writes and fetches, at supervisor [0] and user [1] level
 * (src/cpu/tlb.c). */
struct tlb_set {
    struct tlb_entry r[2][TLB_SIZE];
    struct tlb_entry w[2][TLB_SIZE];
    struct tlb_entry x[2][TLB_SIZE];
};
/* What a context caches for (SDM 3C "Caching Translation Information":
 * linear mappings are tagged by VPID, combined mappings also by the
 * EPTP's EP4TA). PCIDs are not tagged: a PCID switch flushes the context. */
struct tlb_context {
    uint16_t vpid;
    bool ept;      /* combined mappings (EPT in use) */
    uint64_t eptp; /* with ept */
    uint64_t used; /* LRU stamp; 0 = free */
    bool has_large; /* tlb_has_large while not current */
    bool stale;     /* invalidated: cleared when next switched to */
    uint32_t gen;   /* bumped by every flush (tags the modelled TLB) */
    /* The entries filled since the set was last cleared, as indexes into
     * the set's entries taken as one array, so that a flush clears those
     * alone; fills beyond TLB_FILL_LOG make the next flush clear the whole
     * set (src/cpu/tlb.c). */
    uint16_t filled[TLB_FILL_LOG];
    uint16_t nfilled; /* TLB_FILL_LOG + 1: overflowed */
};
#define TLB_CONTEXTS 4

struct cpu_stats {
    uint64_t insns;
    uint64_t blocks_decoded;
    uint64_t tlb_misses;
    uint64_t tlb_flushes;
    uint64_t smc_invalidations;
    uint64_t exceptions;
    uint64_t ept_walks;     /* EPT walks for guest-physical accesses */
    uint64_t ept_refs;      /* EPT paging-structure entries they read */
    uint64_t walk_refs;     /* guest paging-structure entries read by page walks */
    /* The modelled TLB (src/cpu/tlb_model.c), consulted on software-TLB
     * misses: first-level and STLB hits, misses, and the guest and EPT
     * references of the walks those misses charged. */
    uint64_t tlbm_l1_hits, tlbm_l2_hits, tlbm_misses, tlbm_walk_refs;
    /* The modelled paging-structure caches (src/cpu/psc.c): lookups that
     * hit and missed, per cache. */
    uint64_t psc_hits[PSC_NCACHES], psc_misses[PSC_NCACHES];
};

/* Non-root operation parameters the CPU applies itself, loaded by src/vmx on
 * VM entry from the current VMCS (SDM 3C "Changes to Instruction Behavior in
 * VMX Non-Root Operation"). See include/nvmx/cpu_hooks.h. */
struct cpu_nonroot {
    uint64_t cr0_mask, cr0_shadow; /* CR0 guest/host mask and read shadow */
    uint64_t cr4_mask, cr4_shadow;
    uint64_t tsc_offset;           /* applied when tsc_offsetting */
    bool tsc_offsetting;
    bool single_step;              /* one instruction per block (MTF) */
    /* "enable EPT" (SDM 3C "EPT Overview"): guest-physical addresses go
     * through the EPT paging structures named by eptp (src/cpu/ept.c). */
    bool ept;
    uint64_t eptp;
    struct ept_caps ept_caps;      /* what the model allows (IA32_VMX_EPT_VPID_CAP) */
    bool pml;                      /* "enable PML": hooks->pml before EPT A/D updates */
};

/* An event being delivered (for #DF and for IDT-vectoring information). */
struct cpu_event_record {
    int vector;
    uint8_t type; /* enum cpu_event_type */
    bool has_err;
    uint32_t err;
    bool valid;
};

/* x87 and SSE register state (SDM 1 "x87 FPU Execution Environment", "SSE
 * Execution Environment"); the FXSAVE image is built from it (src/cpu/fxsave.c). */
union xmm_reg {
    uint8_t b[16];
    uint16_t w[8];
    uint32_t d[4];
    uint64_t q[2];
};
struct x87_reg {
    uint64_t signif; /* significand, explicit integer bit 63 */
    uint16_t sexp;   /* sign (bit 15) and biased exponent */
};
struct cpu_fpu {
    union xmm_reg xmm[16];
    uint32_t mxcsr;
    uint16_t fcw, fsw;  /* x87 control and status words (TOP in FSW 13:11) */
    uint16_t ftw;       /* full tag word, two bits per physical register */
    uint16_t fop;       /* last non-control opcode, 11 bits */
    uint64_t fip, fdp;  /* last instruction / data pointer */
    uint16_t fcs, fds;
    struct x87_reg st[8]; /* physical registers R0-R7 */
    uint32_t features;  /* FPU_F_* the model advertises (set at reset) */
    uint8_t xinuse_loaded; /* components XRSTOR/XRSTORS loaded from memory: in use
                              (src/cpu/xsave.c cpu_xinuse) */
};

struct block_cache; /* src/cpu/block.c */
struct block;
struct insn;
struct cpu_hooks;   /* filled by src/vmx (non-root interception) */

struct cpu {
    uint64_t gpr[16];
    uint64_t rip;
    uint64_t rflags;         /* arithmetic bits valid only when lf.op == LF_NONE */
    struct lazy_flags lf;

    struct seg_reg seg[SEG_NSEGS];
    struct seg_reg ldtr, tr;
    struct dtr gdtr, idtr;

    uint64_t cr0, cr2, cr3, cr4, cr8;
    uint64_t pdpte[4]; /* PAE PDPTE registers, loaded with CR3 (SDM 3A "PDPTE Registers") */
    uint64_t efer;
    uint64_t xcr0;
    uint64_t xss;      /* IA32_XSS (src/cpu/xsave_xcr.c) */
    uint64_t dr[8];
    uint64_t debugctl; /* IA32_DEBUGCTL: DEBUGCTL_IMPLEMENTED bits only */
    struct cpu_breakpoints bp; /* derived from dr[0..3], dr[7] */
    struct cpu_lbr lbr;        /* last branch records (src/cpu/lbr.c) */
    /* The debugger's watchpoints (include/nvmx/cpu_debug.h): not
     * architectural, invisible to the guest. */
    struct cpu_watch {
        uint8_t armed;          /* slots in use */
        uint8_t read, write;    /* slots that watch reads / writes */
        uint8_t hits;           /* slots hit since cpu_debug_watch_hits */
        uint8_t len[4];
        uint64_t addr[4];
    } watch;

    /* MSRs without a better home (SDM 4 "Model-Specific Registers") */
    uint64_t star, lstar, cstar, sfmask;
    uint64_t kernel_gs_base, tsc_aux, apic_base, pat;
    uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
    uint64_t misc_enable, feature_control;
    uint64_t tsc_offset; /* IA32_TSC writes adjust this; TSC = cycles + offset */
    uint64_t mtrr_def_type;

    /* Derived mode, recomputed by cpu_update_mode() after any change of
     * CR0, EFER, CS or RFLAGS.VM. */
    uint8_t cpl;
    uint8_t mode;      /* enum cpu_mode in cpu_internal.h */
    uint8_t code_size; /* 2, 4 or 8: default operand/address size of CS */

    /* Interrupt state. */
    bool halted;
    bool nmi_pending;
    uint8_t intr_shadow; /* interrupt shadow for the next instruction: 1 = blocking
                            by STI, 2 = blocking by MOV SS (the VMX
                            interruptibility bits) */
    bool vmx_nonroot;    /* in VMX non-root operation */
    bool nmi_blocked;
    int extint_pending;  /* -1 or vector */

    /* Exception bookkeeping for #DF / shutdown (SDM 3A Table "Conditions for
     * Generating a Double Fault") */
    int delivering_vector; /* -1 when not delivering */
    struct cpu_event_record delivering;
    int fault_vector;
    uint32_t fault_error;
    bool fault_has_error;

    /* Timekeeping: modelled cycles; nothing reads the host clock. */
    uint64_t cycles;
    struct cpu_stats stats;

    /* Execution machinery */
    struct machine *m;
    const struct cpu_model *model;
    const struct cost_model *cost;
    const struct cpu_hooks *hooks; /* NULL: no VMX (include/nvmx/cpu_hooks.h) */
    void *vmx;                     /* src/vmx state, opaque here */
    struct cpu_nonroot nr;
    struct block_cache *bc;
    /* The current software-TLB context's halves, [user][index] (they
     * point into tlb_sets[tlb_cur]). */
    struct tlb_entry (*tlb_r)[TLB_SIZE];
    struct tlb_entry (*tlb_w)[TLB_SIZE];
    struct tlb_entry (*tlb_x)[TLB_SIZE];
    struct tlb_entry *tlb_rd, *tlb_wr; /* tlb_r/tlb_w for the CPL (cpu_alignment_update),
                                          or tlb_none while alignment checking is on */
    /* SDM 3A "Interrupt 17 -- Alignment Check Exception (#AC)": CR0.AM,
     * RFLAGS.AC and CPL 3 all hold (cpu_alignment_update). The CPL-3 data
     * accesses then miss the always-empty tlb_none and take the slow path,
     * which checks their alignment; with it off the fast paths are as
     * before. */
    bool ac_active;
    struct tlb_entry tlb_none[TLB_SIZE];
    struct tlb_set tlb_sets[TLB_CONTEXTS];
    struct tlb_context tlb_ctx[TLB_CONTEXTS];
    unsigned tlb_cur;                  /* index of the current context */
    struct tlb_model *tlbm;            /* modelled TLB for cycles, or NULL (tlb_model.c) */
    uint64_t xlate_page_size;          /* page size of the translation in progress */
    struct psc *psc;                   /* modelled paging-structure caches, or NULL (psc.c) */
    struct ept_walk_cache *ept_wc;     /* EPT walks kept for the host's speed (ept.c) */
    /* The translation in progress is one the modelled TLB missed (or there
     * is none): the paging-structure caches decide what its walk costs. */
    bool xlate_psc;
    /* The reference in progress is one a paging-structure cache spares:
     * its EPT walk is not charged either. */
    bool xlate_free;
    uint64_t tlb_clock;                /* LRU clock of the contexts */
    bool tlb_has_large; /* the current context caches a 2M/4M/1G translation in 4K pieces */
    uint32_t tlb_gen;   /* bumped by every flush: tags derived caches */
    const struct insn *cur_insn;  /* set by cpu_exec_generic, cleared after the block */
    uint64_t block_rip; /* RIP of the running block's first instruction */
    /* Set by whatever may change what the run loop checks between blocks:
     * a reference handler of an instruction that is not IF_PURE, MMIO, a
     * TLB flush, a code-page invalidation, a mode change. */
    bool recheck;
    uint64_t fault_cr2;
    /* The DR6-format bits (B0-B3, BD, BS) of the #DB being raised: DR6
     * takes them only if the #DB is delivered; one that causes a VM exit
     * leaves DR6 and DR7 alone and reports them in the exit qualification
     * (SDM 3C "Exit Qualification for Debug Exceptions"). */
    uint64_t fault_dr6;
    uint64_t next_rip;  /* set before each handler; branches overwrite it */
    bool end_block;     /* a handler asks the run loop to leave the block */
    enum cpu_stop stop;
    void *fault_jmp[5]; /* __builtin_setjmp buffer: cpu_fault() unwinds to the
                           run loop; never leaves src/cpu */
    bool fault_jmp_valid;

    /* Tests and tools (difftest): stop instead of delivering exceptions. */
    bool stop_on_exception;
    int last_exception;
    uint32_t last_error;
    bool last_has_error;

    /* Debugging output: one line per instruction when set (CLI owns FILE). */
    void *trace_insns; /* FILE * */
    /* --log int: called as each exception or interrupt starts its delivery
     * (cpu_deliver_event), before any state changes; NULL = not logged. */
    void (*log_event)(void *ctx, const struct cpu *c, int vector, enum cpu_event_type type,
                      bool has_err, uint32_t err);
    void *log_ctx;
    /* The annotation instruction (include/nvmx/annotate.h) executed: called
     * from its handler, at its RIP; NULL = a plain NOP. */
    void (*annotate)(void *ctx, const struct cpu *c);
    void *annotate_ctx;

    struct cpu_fpu fpu; /* x87 and SSE state */
};

struct cpu *cpu_create(struct machine *m, const struct cpu_model *model,
                       const struct cost_model *cost);
void cpu_destroy(struct cpu *c);
/* Architectural power-up state (SDM 3A "Processor State After Reset"). */
void cpu_power_on_reset(struct cpu *c);
/* Run until something stops the CPU or max_insns more instructions retire
 * (0 = no limit). */
enum cpu_stop cpu_run(struct cpu *c, uint64_t max_insns);

/* Mode set-up for loaders: 32-bit flat protected mode (multiboot), and 64-bit
 * long mode with the given CR3 and a flat GDT at gdt_base (ELF64). */
void cpu_set_flat_protected(struct cpu *c);
void cpu_set_long_mode(struct cpu *c, uint64_t cr3, uint64_t gdt_base);

/* The IA32_DEBUGCTL bits this CPU model implements (WRMSR and the VM-entry
 * check accept these). */
uint64_t cpu_debugctl_valid(const struct cpu *c);

/* After DR0-DR3 or DR7 changed (MOV DR, VM entry and exit loading DR7):
 * re-arm the breakpoints (src/cpu/breakpoint.c). */
void cpu_debug_regs_changed(struct cpu *c);

/* MAXPHYADDR and the linear-address width, CPUID.80000008H:EAX[7:0] and
 * [15:8] of the model (39 and 48 without one): the only source of both. */
unsigned cpu_maxphyaddr(const struct cpu *c);
unsigned cpu_linear_width(const struct cpu *c);

/* Raise an external interrupt / NMI line (devices such as the LAPIC). */
void cpu_raise_extint(struct cpu *c, int vector);
void cpu_raise_nmi(struct cpu *c);

/* After CR0.AM, RFLAGS.AC or the CPL may have changed (cpu_update_mode and
 * cpu_set_rflags call it): alignment checking on or off. */
void cpu_alignment_update(struct cpu *c);

/* Full RFLAGS with the lazy flags folded in. */
uint64_t cpu_get_rflags(struct cpu *c);
void cpu_set_rflags(struct cpu *c, uint64_t v);

/* Physical memory write from outside the CPU (loaders, DMA): keeps the block
 * cache coherent. */
void cpu_phys_written(struct cpu *c, uint64_t pa, uint64_t len);

/* Flush the cached translations of the current context (VPID, EPTP);
 * architecture-visible flush points call this (MOV CR3, INVLPG, CR0/CR4
 * paging bits, ...). */
void cpu_tlb_flush(struct cpu *c);
void cpu_tlb_flush_page(struct cpu *c, uint64_t lin);
/* Every context, and back to the VPID-0 context without EPT (reset, INIT). */
void cpu_tlb_reset(struct cpu *c);
/* SDM 3C "Caching Translation Information", "VPID", "Invalidation of
 * Translations" (src/cpu/tlb.c), for src/vmx: make (vpid, eptp) the
 * current context (VM entry and VM exit; eptp only when ept), keeping what
 * other contexts cache. */
void cpu_tlb_switch(struct cpu *c, uint16_t vpid, bool ept, uint64_t eptp);
/* Invalidate the mappings of one VPID (all EPTPs), of every VPID but 0
 * (all_but_0), of one page of one VPID, of one EP4TA (combined mappings,
 * all VPIDs), of every EPTP (all combined mappings). */
void cpu_tlb_flush_vpid(struct cpu *c, uint16_t vpid);
/* The same as cpu_tlb_flush_vpid(), for a caller that switches contexts
 * next (VM entry, VM exit): each context is cleared when switched to. */
void cpu_tlb_invalidate_vpid_lazily(struct cpu *c, uint16_t vpid);
void cpu_tlb_flush_vpids_but_0(struct cpu *c);
void cpu_tlb_flush_vpid_page(struct cpu *c, uint16_t vpid, uint64_t lin);
void cpu_tlb_flush_ept(struct cpu *c, uint64_t ep4ta);
void cpu_tlb_flush_all_ept(struct cpu *c);
/* Does the context (vpid, ept, eptp) hold a translation of lin's page for
 * reads at supervisor level (tests)? */
bool cpu_tlb_holds(const struct cpu *c, uint16_t vpid, bool ept, uint64_t eptp, uint64_t lin);
/* Tests and tools: translate the page of lin as the current CPL's data read
 * (and write, if write) would, without faulting, so that the TLB holds it.
 * Sets accessed/dirty bits as those accesses would. */
void cpu_tlb_prefill(struct cpu *c, uint64_t lin, bool write);

/* The XSAVE feature set (src/cpu/xsave_xcr.c). XSETBV's write of an
 * extended control register: false (#GP(0) for the caller) for an index
 * other than 0 or a value XCR0 may not take (SDM 2C "XSETBV"). L0 uses it
 * for L1's XSETBV exits. */
bool cpu_set_xcr(struct cpu *c, uint32_t index, uint64_t val);
/* A model's leaf (first row that matches leaf and, if it has one,
 * subleaf), or NULL (src/cpu/cpuid.c). */
const struct cpuid_leaf *cpu_model_leaf(const struct cpu_model *m, uint32_t leaf,
                                        uint32_t subleaf);
/* Model validation of leaf 0DH: only implemented state components and
 * extensions (include/nvmx/xsave_components.def, xsave_features.def),
 * consistent with CPUID.01H:ECX.XSAVE, sizes of nvmx's layout. false with
 * a message in why. */
bool cpu_model_check_xsave(const struct cpu_model *m, char *why, size_t len);

#endif
