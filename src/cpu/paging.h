/* Private to src/cpu: the page walk behind paging_translate(), exposed so
 * that tests and the TLB-management instructions can use it without
 * raising #PF. */
#ifndef NVMX_CPU_PAGING_H
#define NVMX_CPU_PAGING_H

#include "cpu_internal.h"

/* SDM 3A "Paging Modes and Control Bits": the mode follows from CR0.PG,
 * CR4.PAE and IA32_EFER.LME (CR4.LA57 is not supported). */
enum paging_mode {
    PAGING_NONE = 0, /* CR0.PG = 0 */
    PAGING_32BIT,    /* CR4.PAE = 0 */
    PAGING_PAE,      /* CR4.PAE = 1, EFER.LMA = 0 */
    PAGING_4LEVEL,   /* CR4.PAE = 1, EFER.LMA = 1 */
};

/* What one walk found. On a fault only error_code is meaningful. */
struct paging_walk_result {
    uint64_t pa;         /* physical address of the linear address */
    uint64_t page_size;  /* 4 KiB, 2 MiB, 4 MiB or 1 GiB */
    uint32_t error_code; /* #PF error code (PFEC_*) when the walk faults */
    bool user;           /* U/S = 1 in every paging-structure entry used */
    bool writable;       /* R/W = 1 in every paging-structure entry used */
    bool xd;             /* XD = 1 in some entry used (only with EFER.NXE) */
    bool dirty;          /* the final entry's D flag is set (after this access) */
    bool global;         /* the final entry's G flag (with CR4.PGE) */
    bool tlb_ok;         /* may be cached in the software TLB for this access */
    bool ept_abort;      /* failed on an EPT translation (ACC_NOFAULT only) */
    unsigned levels;     /* paging-structure entries read from memory */
};

enum paging_mode paging_mode(const struct cpu *c);

/* Walk the paging structures for lin and access acc (ACC_*) at the current
 * CPL. Under EPT, every entry is read through EPT (a violation takes its VM
 * exit unless ACC_NOFAULT) and r->pa is guest-physical. Returns true with r filled in, or false with r->error_code set.
 * A successful walk sets the accessed flags of every entry used and, for a
 * write, the dirty flag of the final entry; a failed walk changes nothing. */
bool paging_walk(struct cpu *c, uint64_t lin, unsigned acc, struct paging_walk_result *r);

/* A CPUID leaf of the CPU model, or NULL (feature checks at decode/execute
 * time; subleaf is ignored for leaves without one). */
const struct cpuid_leaf *paging_model_leaf(const struct cpu *c, uint32_t leaf,
                                           uint32_t subleaf);

/* Does the CPU model advertise CPUID.(leaf, subleaf):reg[bit]? Without a
 * model every implemented feature is present. */
enum paging_cpuid_reg { PAGING_CPUID_EAX = 0, PAGING_CPUID_EBX, PAGING_CPUID_ECX, PAGING_CPUID_EDX };
bool paging_cpuid_has(const struct cpu *c, uint32_t leaf, uint32_t subleaf, enum paging_cpuid_reg reg,
                      unsigned bit);

/* SDM 3A "PDPTE Registers": MOV to CR3 (and CR0/CR4 changes that enter PAE
 * paging) load the four PDPTEs. Returns false if a present PDPTE has a
 * reserved bit set: the caller raises #GP(0). The PDPTEs are not cached yet
 * (struct cpu has no place for them), so walks re-read them from memory. */
bool paging_load_pdptes(struct cpu *c);
/* The same in two steps, for a MOV to CR that must not change state before
 * it completes: the host-physical address of the PDPTE table for cr3
 * (under EPT its translation, whose violation or misconfiguration takes
 * the VM exit at once, with the CPU state unchanged), then the load. */
uint64_t paging_pdpte_table(struct cpu *c, uint64_t cr3);
bool paging_load_pdptes_from(struct cpu *c, uint64_t base);

#endif
