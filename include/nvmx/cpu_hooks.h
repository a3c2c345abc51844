/* How VMX plugs into the CPU core. The core knows nothing of VMCSs: it asks
 * this table "is this instruction a VMX instruction to perform?", "does this
 * instruction or event cause a VM exit here?", and src/vmx fills it in.
 * With c->hooks == NULL the CPU has no VMX: VMX instructions are #UD. */
#ifndef NVMX_CPU_HOOKS_H
#define NVMX_CPU_HOOKS_H

#include "nvmx/cpu.h"

/* The VMX instructions (SDM 3C "VMX Instruction Reference"). */
enum cpu_vmx_op {
    VMXOP_VMXON, VMXOP_VMXOFF, VMXOP_VMCLEAR, VMXOP_VMPTRLD, VMXOP_VMPTRST,
    VMXOP_VMREAD, VMXOP_VMWRITE, VMXOP_VMLAUNCH, VMXOP_VMRESUME, VMXOP_VMCALL,
    VMXOP_INVEPT, VMXOP_INVVPID, VMXOP_VMFUNC,
};

/* Operands of a VMX instruction, decoded by src/cpu (ops_vmx.c). */
struct cpu_vmx_insn {
    enum cpu_vmx_op op;
    uint8_t len;        /* instruction length */
    bool mem;           /* the r/m operand is memory */
    uint8_t seg;        /* memory operand: segment (enum cpu_seg) */
    uint64_t offset;    /* memory operand: effective address (offset in seg) */
    uint8_t rm_reg;     /* r/m operand when register (0-15) */
    uint8_t reg;        /* ModRM.reg operand (VMREAD source encoding / VMWRITE
                           encoding, INVEPT/INVVPID type register) */
    uint8_t opsize;     /* operand size in bytes (4 outside 64-bit mode, 8 in it) */
    uint8_t addrsize;   /* address size in bytes */
    uint32_t insn_info; /* VM-exit instruction-information field value, as
                           SDM 3C "Format of the VM-Exit Instruction-Information
                           Field as Used for VMCLEAR, ..." / "... VMREAD and VMWRITE" */
    uint64_t qual;      /* exit qualification: the displacement for memory
                           operands (SDM 3C "Exit Qualification for VMX
                           Instructions"), else 0 */
};

/* An instruction (or event) that may cause a VM exit in VMX non-root
 * operation, as the CPU sees it. src/vmx decides from the current VMCS. */
struct cpu_intercept {
    uint16_t reason;       /* basic exit reason it would cause */
    uint8_t insn_len;      /* VM-exit instruction length (0 if not an insn) */
    uint32_t insn_info;    /* VM-exit instruction information, where defined */
    uint64_t qual;         /* exit qualification, where defined */
    uint64_t guest_linear; /* guest-linear address, where defined */
    bool has_linear;
    /* Details the decision needs (reason-specific): */
    uint32_t msr;          /* RDMSR/WRMSR: ECX */
    uint16_t port;         /* I/O: first port */
    uint8_t io_size;       /* I/O: 1, 2 or 4 */
    uint8_t cr;            /* CR access: register number */
    bool write;            /* CR/MSR/I/O direction: true = write / OUT */
    uint64_t value;        /* CR write: the new value (after LMSW/CLTS folding) */
    bool ud_check;         /* only the #UD that a disabled control gives
                              ("enable INVPCID" = 0), which ranks above the
                              instruction's CPL check: never a VM exit */
};

/* INIT and SIPI as the processor takes them from its local APIC, and what
 * VMX operation makes of them (SDM 3C "Restrictions on VMX Operation",
 * "INIT Signals", "Start-up IPIs"). */
enum cpu_signal { CPU_SIGNAL_INIT, CPU_SIGNAL_SIPI };
enum cpu_signal_action {
    CPU_SIGNAL_NATIVE,  /* not VMX's: the processor performs it */
    CPU_SIGNAL_BLOCKED, /* stays pending (INIT in VMX root operation) */
    CPU_SIGNAL_TAKEN,   /* consumed: a VM exit, or a SIPI discarded */
};

/* An EPT violation or misconfiguration found by the CPU's two-dimensional
 * translation (src/cpu/ept.c), for the VM exit (SDM 3C "EPT Violations",
 * "EPT Misconfigurations"). */
struct cpu_ept_fault {
    bool misconfig;       /* EPT misconfiguration (exit 49), else violation (48) */
    uint64_t qual;        /* violation: the exit qualification */
    uint64_t gpa;         /* guest-physical address of the access */
    uint64_t linear;      /* guest-linear address, when qual bit 7 is set */
    bool suppress_ve;     /* violation: bit 63 of the entry that decides #VE
                             (SDM 3C "Convertible EPT Violations") */
};

struct cpu_hooks {
    /* Perform a VMX instruction completely: its #UD/#GP checks (raising them
     * with cpu_fault*), VMsucceed/VMfail, VM entry, or a VM exit when it
     * executes in non-root operation. */
    void (*vmx_insn)(struct cpu *c, const struct cpu_vmx_insn *vi);
    /* In non-root operation: does q cause a VM exit? If so, perform the exit
     * and return true; the caller must then call cpu_vmexit_unwind(). */
    bool (*intercept)(struct cpu *c, const struct cpu_intercept *q);
    /* In non-root operation: an event is about to be delivered (exception,
     * NMI, external interrupt, triple fault as vector -1 with type
     * EVT_HW_EXC). Return true if a VM exit happened instead. */
    bool (*event)(struct cpu *c, int vector, enum cpu_event_type type, bool has_err,
                  uint32_t err);
    /* Between instructions (when c->vmx_nonroot): VM exits that are not
     * caused by an instruction -- interrupt/NMI windows, the preemption
     * timer, MTF, pending debug exceptions. Return true if one happened. */
    bool (*pending)(struct cpu *c);
    /* The modelled cycle at which pending() next has something to do (the
     * preemption timer), or UINT64_MAX: lets a HLT in non-root operation
     * sleep until then. */
    uint64_t (*next_event)(struct cpu *c);
    /* RDMSR/WRMSR of MSRs owned by VMX (the capability MSRs): return false
     * when the MSR is not VMX's; *ok = false means #GP(0). */
    bool (*rdmsr)(struct cpu *c, uint32_t msr, uint64_t *val, bool *ok);
    bool (*wrmsr)(struct cpu *c, uint32_t msr, uint64_t val, bool *ok);
    /* May CR0/CR4 take this value in the current VMX operation (fixed bits,
     * CR4.VMXE)? false means #GP(0). */
    bool (*cr_allowed)(struct cpu *c, unsigned cr, uint64_t val);
    /* An INIT or a SIPI (with its vector) is pending at the local APIC. */
    enum cpu_signal_action (*signal)(struct cpu *c, enum cpu_signal s, uint8_t vector);
    /* In non-root operation: the guest is in the shutdown or wait-for-SIPI
     * activity state, in which NMIs and external interrupts are not
     * delivered (pending() takes the VM exits those states allow). */
    bool (*inactive)(const struct cpu *c);
    /* In non-root operation with "enable EPT": take the VM exit for an EPT
     * violation or misconfiguration; the caller then unwinds. */
    void (*ept_fault)(struct cpu *c, const struct cpu_ept_fault *f);
    /* In non-root operation with "enable PML": the EPT walk for gpa is about
     * to set accessed/dirty flags (dirty: the leaf's dirty flag goes from 0
     * to 1). Logs the address, or takes the log-full VM exit and unwinds. */
    void (*pml)(struct cpu *c, uint64_t gpa, bool dirty);
};

/* Services for src/vmx, valid while the CPU runs (inside a hook). */

/* Leave the current instruction after a VM exit taken by a hook: unwinds to
 * the run loop, which delivers nothing and continues at c->rip. */
_Noreturn void cpu_vmexit_unwind(struct cpu *c);
/* Raise an exception from a hook (unwinds like a faulting instruction). */
_Noreturn void cpu_raise(struct cpu *c, int vector, bool has_err, uint32_t err);
/* Guest memory through segmentation and paging, as the instruction would
 * access it; faults unwind. */
uint64_t cpu_mem_read(struct cpu *c, int seg, uint64_t off, unsigned size);
void cpu_mem_write(struct cpu *c, int seg, uint64_t off, unsigned size, uint64_t val);
/* Guest-physical memory (no translation): RAM or MMIO. */
uint64_t cpu_phys_read(struct cpu *c, uint64_t pa, unsigned size);
void cpu_phys_write(struct cpu *c, uint64_t pa, unsigned size, uint64_t val);
/* Recompute derived mode state after loading CR0/CR4/EFER/CS/SS. */
void cpu_mode_changed(struct cpu *c);
/* The same without the TLB flush: VM entry and VM exit, which flush (or
 * not) by the VPID rules through cpu_tlb_switch() and friends. */
void cpu_mode_reloaded(struct cpu *c);
/* Load the PAE PDPTEs from CR3 (false: a reserved bit is set). */
bool cpu_load_pdptes(struct cpu *c);
/* Deliver an event as VM entry injection does (SDM 3C "Event Injection"). */
void cpu_inject_event(struct cpu *c, int vector, enum cpu_event_type type, bool has_err,
                      uint32_t err, uint64_t return_rip);
/* Does the model advertise CPUID.(leaf).reg[bit]? reg: 0=EAX .. 3=EDX. */
bool cpu_has_feature(const struct cpu *c, uint32_t leaf, unsigned reg, unsigned bit);
/* The event being delivered when a fault/exit happened (for IDT-vectoring
 * information): false if none. */
bool cpu_delivering_event(const struct cpu *c, int *vector, enum cpu_event_type *type,
                          bool *has_err, uint32_t *err);

/* Acknowledge the pending external interrupt at the interrupt controller
 * (the CPU's INTR line or the local APIC), as "acknowledge interrupt on
 * exit" does (SDM 3C "Information for VM Exits Due to Vectored Events"):
 * returns its vector, or -1 if none is pending. */
int cpu_ack_extint(struct cpu *c);
/* The vector cpu_ack_extint() would return, without acknowledging it. */
int cpu_peek_extint(const struct cpu *c);
/* Copy up to n bytes of code at CS:rip through paging and EPT as a look by
 * nvmx (trace, disassembly), which changes nothing: no fault or VM exit, no
 * accessed/dirty flag, no PML entry, no cycles, no TLB fill. Stops at the
 * first byte that is not fetchable or not in RAM; returns how many were
 * copied. */
unsigned cpu_fetch_bytes(struct cpu *c, uint64_t rip, uint8_t *buf, unsigned n);
/* Is the instruction at CS:rip an IRET (for "NMI unblocking due to IRET")? */
bool cpu_insn_is_iret(struct cpu *c, uint64_t rip);
/* RDMSR/WRMSR as the VM-exit MSR-store/-load lists perform them (SDM 3C
 * "Saving MSRs", "Loading MSRs"): false when the access would #GP. */
/* The run loop's INIT/SIPI step (src/cpu/vmx_glue.c): takes what the local
 * APIC holds -- processor INIT into wait-for-SIPI, SIPI start-up, or what
 * the signal hook decides. Returns true if the processor state changed. */
bool cpu_take_signals(struct cpu *c);
/* NMIs and external interrupts are held pending: wait-for-SIPI, or a guest
 * in the shutdown / wait-for-SIPI activity state. */
bool cpu_events_held(const struct cpu *c);
/* For a host written in C (src/nested): translate a linear address through
 * the processor's current paging at its CPL, as a data read or write would,
 * setting accessed/dirty flags; false with the #PF error code if the access
 * would fault. Without paging, the address is physical. */
bool cpu_lin_to_phys(struct cpu *c, uint64_t lin, bool write, uint64_t *pa, uint32_t *pfec);
/* The same through the EPT paging structures at eptp (caps) for every
 * guest-physical address, as a look: nothing charged, cached or flagged;
 * *ept_failed when EPT does not translate. */
bool cpu_lin_to_phys_ept(struct cpu *c, uint64_t lin, bool write, const struct ept_caps *caps,
                         uint64_t eptp, uint64_t *pa, uint32_t *pfec, bool *ept_failed);
/* CPUID as the processor executes it (the CPU model's leaves). */
void cpu_cpuid(struct cpu *c, uint32_t leaf, uint32_t subleaf, uint32_t out[4]);
/* Bulk access to guest-physical RAM for src/vmx and src/nested (VMCS
 * regions, bitmaps): the host pointer for [pa, pa+len) when it lies wholly
 * in RAM, else NULL (the caller then uses cpu_phys_read/write). After
 * writing through it, cpu_phys_ram_written() does what cpu_phys_write()
 * does for code pages (block-cache invalidation, end of the running
 * block). */
uint8_t *cpu_phys_ram(struct cpu *c, uint64_t pa, uint64_t len);
void cpu_phys_ram_written(struct cpu *c, uint64_t pa, uint64_t len);
bool cpu_msr_read(struct cpu *c, uint32_t msr, uint64_t *val);
bool cpu_msr_write(struct cpu *c, uint32_t msr, uint64_t val);

#endif
