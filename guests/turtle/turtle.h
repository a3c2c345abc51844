/* The turtle: a nesting-capable hypervisor image (docs/guests.md). It boots
 * its guest -- the first multiboot module -- the way a boot loader would,
 * runs it in VMX non-root operation, passes its port I/O through to its own
 * ports, and emulates VMX for it, so that the guest may itself be a
 * hypervisor (another turtle).
 *
 * Names: the turtle is "L1" in this code, the guest it runs directly on
 * vmcs01 is "L2"-or-"the guest", and when that guest is a hypervisor, its
 * guest ("L3" from here) runs on vmcs02, the merge of vmcs01's host state
 * with the guest's vmcs12. */
#ifndef TURTLE_H
#define TURTLE_H

#include <stdbool.h>
#include <stdint.h>

#include "vmx.h"

#define TURTLE_SIGNATURE "TurtleTurtle" /* CPUID 0x40000000 EBX:ECX:EDX */
/* Hypercalls: VMCALL outside the guest's VMX operation with RAX =
 * TURTLE_HC_BASE + n. NOP returns RAX = 0, an unknown n all ones; any other
 * RAX is #UD, what VMCALL outside VMX operation gives (SDM 3C "VMCALL"). */
#define TURTLE_HC_BASE 0x54540000u
#define TURTLE_HC_NOP (TURTLE_HC_BASE + 0)
#define TURTLE_HC_UNKNOWN (~0ull)
/* The VMCS revision identifier of the VMX the turtle emulates (bit 31 = 0). */
#define TURTLE_VMCS_REVISION 0x74757274u /* "trut" */

/* Options from the turtle's own command line (docs/guests.md). */
struct turtle_opts {
    bool nested;  /* offer VMX to the guest (default on) */
    bool verbose; /* a line per VMX event of the guest */
    bool shadow;  /* use VMCS shadowing when the processor has it */
    bool ept;     /* give the guest its own memory through EPT */
    uint64_t mem; /* its size (ept=1) */
    bool annotate; /* level= given: annotate the level (nvmx/annotate.h) */
    uint64_t level;
};
extern struct turtle_opts topts;

/* The direct guest's control registers as it sees them (read shadows) and
 * the pieces of state the turtle keeps for it. */
struct vcpu {
    uint64_t cr0, cr4, efer; /* the guest's view */
    uint64_t cr3;            /* the guest's CR3 while its paging is off */
    uint64_t feature_control;
    /* emulated VMX (vmx_emul.c) */
    bool vmxon;
    uint64_t vmxon_ptr;
    uint64_t vmcs12_ptr; /* ~0: no current VMCS */
    bool vmcs12_shadow;  /* the current VMCS is a shadow VMCS (shadow12.c) */
    bool in_l3;          /* the hardware runs vmcs02 */
};
extern struct vcpu vcpu;

/* The exit handler's view of the guest's GPRs (vmx_stub.S layout). */
typedef struct vmx_regs regs_t;

/* ---- main.c ---- */
void turtle_fatal(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void turtle_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern uint8_t vmcs01_region[4096];
extern uint64_t host_rsp; /* HOST_RSP of the exit stub, for vmcs02 */

/* ---- loader.c ---- */
struct guest_boot {
    uint32_t entry;   /* physical entry point (32-bit protected mode) */
    uint32_t mb_info; /* physical address of the guest's multiboot info */
};
/* Load module 0 of our own multiboot info as the guest; pass further
 * modules on. Fatal on a bad image. */
void load_guest(uint32_t mb_magic, uint32_t mb_info, struct guest_boot *gb);

/* ---- vcpu.c: exits of the direct guest ---- */
void vcpu_init(uint64_t feature_control);
/* Write the real CR0/CR3/CR4/EFER and the controls that depend on the
 * guest's mode (paging on or off, IA-32e) into the current VMCS. */
void vcpu_apply_mode(void);
bool vcpu_exit(regs_t *r, uint32_t reason);
uint64_t *gpr(regs_t *r, unsigned n); /* SDM register numbering; n = 4 is NULL */
uint64_t gpr_read(regs_t *r, unsigned n);
void gpr_write(regs_t *r, unsigned n, uint64_t v);
void skip_insn(void);
void inject_exception(unsigned vector, bool has_error, uint32_t error);
static inline void inject_gp(void)
{
    inject_exception(13, true, 0);
}
static inline void inject_ud(void)
{
    inject_exception(6, false, 0);
}
/* CPL of the guest (SS.DPL, SDM 3A "Current Privilege Level"). */
unsigned guest_cpl(void);

/* ---- gmem.c: the guest's memory ---- */
/* Translate a guest linear address through the guest's paging; false (an
 * exception injected) if it faults. */
bool gmem_translate(uint64_t lin, bool write, uint64_t *pa);
bool gmem_read(uint64_t lin, void *buf, unsigned n);
bool gmem_write(uint64_t lin, const void *buf, unsigned n);
/* Whether [pa, pa + n) is RAM the guest may use. */
bool gmem_phys_ok(uint64_t pa, uint64_t n);
/* Guest-physical memory: the machine's (no EPT), or [0, size) at host
 * address base through EPT01 (ept01.c). */
struct gmem_map {
    bool ept;
    uint64_t base, size;
};
extern struct gmem_map gmap;
static inline void *phys_ptr(uint64_t pa)
{
    return (void *)(gmap.ept ? gmap.base + pa : pa); /* 0..4 GiB is identity-mapped */
}
/* Linear address of the memory operand of a VMX instruction (SDM 3C
 * "VM-Exit Instruction-Information Field"); false if #GP was injected. */
bool vmx_operand_addr(regs_t *r, uint32_t info, uint64_t disp, uint64_t *lin);
/* Operands, faults and 64-bit mode are the direct guest's (default) or,
 * while on, its guest's on vmcs02 (shadow12.c). */
void gmem_for_l3(bool on);
bool gmem_long64(void); /* the instruction ran in 64-bit mode */

/* ---- vmx_emul.c: the VMX instructions of the guest ---- */
void vmx_emul_init(void);
bool vmx_emul_exit(regs_t *r, uint32_t reason);
bool vmx_emul_msr_read(uint32_t msr, uint64_t *v);
/* The result conventions of SDM 3C "Conventions" on the guest's RFLAGS;
 * each also skips the instruction. */
void vm_succeed(void);
void vm_fail_invalid(void);
void vm_fail_valid(uint32_t error);
void vm_fail(uint32_t error); /* valid if there is a current VMCS */
/* VMREAD/VMWRITE on the fields of a VMCS: vmcs12 (the cache) or the slots
 * of a VMCS region in the guest's memory. */
void vmx_emul_vmread(regs_t *r, uint64_t *fields);
void vmx_emul_vmwrite(regs_t *r, uint64_t *fields);

/* ---- vmcs12.c: the cache of the guest's current VMCS ---- */
#include "vmcs12_fields.h"
extern uint64_t vmcs12[VMCS12_NFIELDS];
/* Fields of the cache that differ from vmcs02 (bit per list index). */
extern uint64_t vmcs12_dirty[(VMCS12_NFIELDS + 63) / 64];
static inline void vmcs12_mark(unsigned i)
{
    vmcs12_dirty[i / 64] |= 1ull << (i % 64);
}
void vmcs12_mark_all(void);
void vmcs12_probe(void); /* which fields the hardware supports */
int vmcs12_index(uint64_t encoding); /* -1: unsupported */
void vmcs12_load(uint64_t pa);
uint64_t *vmcs12_slots(uint64_t pa); /* the fields of the VMCS region at pa */
void vmcs12_flush(uint64_t pa);
uint32_t vmcs12_launch_state(uint64_t pa);
void vmcs12_set_launch_state(uint64_t pa, uint32_t launched);
uint64_t v12(uint32_t encoding);
void v12_set(uint32_t encoding, uint64_t v);

/* ---- nested.c: vmcs02 and reflection ---- */
/* VMLAUNCH/VMRESUME of the guest: checks, then merge into vmcs02 and make
 * it current; returns true when the hardware should enter vmcs02. */
bool nested_enter(regs_t *r, bool launch);
/* An exit while the hardware ran vmcs02. */
bool nested_exit(regs_t *r, uint32_t reason);
/* VMLAUNCH/VMRESUME of vmcs02 failed with VMfail: give the guest its
 * result. */
void nested_entry_vmfail(int result);

/* The seldom-read guest-state fields an exit left in vmcs02 (nested.c):
 * whether field i is one, the guest wrote field i, take them all into the
 * cache (vmcs01 current). */
bool nested_rare_pending(unsigned i);
void nested_rare_written(unsigned i);
void nested_sync_rare(void);

/* ---- vmcs02.c: a vmcs02 per vmcs12 ---- */
/* vmcs12 at pa is cleared (~0: all, VMXOFF): forget its vmcs02. */
void nested_forget(uint64_t pa);
/* The vmcs02 region for vmcs12 ptr (*fresh: new, every field to write;
 * *launched: its launch state). */
uint64_t vmcs02_enter(uint64_t ptr, bool *fresh, bool *launched);
void vmcs02_mark_launched(void);
uint64_t vmcs02_current(void); /* the region nested_enter() made current */
/* The vmcs12 at pa stops / starts being current: keep / restore the cache's
 * dirty bits against its vmcs02. */
void vmcs02_save_dirty(uint64_t pa);
void vmcs02_restore_dirty(uint64_t pa);

/* ---- shadow.c: VMCS shadowing for the guest's VMREAD/VMWRITE ---- */
void shadow_init(bool want);
bool shadow_enabled(void);
void shadow_link(bool on);
void shadow_vmx_operation(bool on);
void shadow_push(void);
void shadow_pull(void);

/* ---- shadow12.c: VMCS shadowing offered to the guest ---- */
bool shadow12_offered(void); /* nested=1 shadow=1 */
bool shadow12_on(void);      /* vmcs12 enables "VMCS shadowing" */
bool shadow12_controls_ok(void);
bool shadow12_field_emulated(uint32_t encoding); /* not written into vmcs02 */
/* An exception of the guest's guest while the turtle does its
 * instruction: a VM exit to the guest if vmcs12's exception bitmap asks
 * for it, else delivered to the guest's guest. */
void shadow12_exception(unsigned vector, bool has_error, uint32_t error, uint64_t cr2);
struct shadow12_exit {
    uint32_t intr_info; /* an exception exit for the guest: its interruption information */
    uint32_t error;
    uint64_t qual;
};
/* A VMREAD/VMWRITE exit of vmcs02: true if the turtle did it on the shadow
 * VMCS (vmcs02 resumes); false if the guest gets the exit (*out says
 * whether it is an exception exit instead). */
bool shadow12_vmcs_access(regs_t *r, uint32_t reason, struct shadow12_exit *out);

/* ---- ept01.c: EPT for the guest ---- */
void ept01_init(uint64_t base, uint64_t size);
void ept01_enable(void);
uint64_t ept01_proc2_for_vmcs02(uint64_t proc2_12);
uint64_t ept01_eptp(void);

/* ---- nested_ept.c: EPT offered to the guest (ept02.c: its shadow) ---- */
void nested_ept_init(void);
bool nested_ept12(void);              /* vmcs12 enables EPT */
bool nested_ept_controls_ok(void);    /* EPTP12, unrestricted guest (ept=1) */
bool nested_ept_eptp12_ok(uint64_t eptp12); /* the EPTP checks of VM entry */
uint64_t nested_ept_eptp02(void);     /* vmcs02's EPTP for EPTP12 (ept=1) */
void nested_ept_invalidate(void);     /* the guest's INVEPT (ept=1) */
struct nested_ept_reflect {
    uint32_t reason;
    uint64_t qual;
};
/* An EPT violation/misconfiguration of vmcs02 running on EPT02: true if
 * handled (vmcs02 resumes), else *out is the exit the guest gets. */
bool nested_ept_exit(uint32_t reason, struct nested_ept_reflect *out);

/* ---- inv.c: the guest's INVEPT and INVVPID ---- */
void inv_invept(regs_t *r);
void inv_invvpid(regs_t *r);

/* ---- caps.c: the VMX capabilities the turtle offers ---- */
void caps_init(void);
bool caps_msr(uint32_t msr, uint64_t *v);
struct vcaps {
    uint64_t basic, misc, pin, proc, proc2, exit, entry;
    uint64_t true_pin, true_proc, true_exit, true_entry;
    uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1, vmcs_enum;
    uint64_t ept_vpid; /* IA32_VMX_EPT_VPID_CAP, 0 when neither EPT nor VPID is offered */
};
extern struct vcaps vcaps;

#endif
