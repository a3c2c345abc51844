/* Guest runtime: VMX for hypervisors written for real VT-x. One-instruction
 * wrappers that return the RFLAGS result (VMX_OK, VMX_FAIL_INVALID,
 * VMX_FAIL_VALID: SDM 3C "Conventions"), capability-driven control values
 * (SDM 3C Appendix A "Algorithms for Determining VMX Capabilities"), and a
 * VMCS for a 64-bit guest that shares the host's page tables and GDT, with
 * host RIP = vmx_exit_stub (vmx_stub.S). */
#ifndef GUEST_VMX_H
#define GUEST_VMX_H

#include <stdbool.h>
#include <stdint.h>

#include "vmx_defs.h"

/* The RFLAGS result after a VMX instruction: CF -> VMfailInvalid,
 * ZF -> VMfailValid, neither -> VMsucceed. */
static inline int vmx_result(uint8_t cf, uint8_t zf)
{
    return cf ? VMX_FAIL_INVALID : zf ? VMX_FAIL_VALID : VMX_OK;
}

#define VMX_ASM_RESULT(insn, ...)                                                          \
    ({                                                                                     \
        uint8_t cf_, zf_;                                                                  \
        __asm__ volatile(insn "; setc %0; setz %1"                                         \
                         : "=qm"(cf_), "=qm"(zf_)                                          \
                         : __VA_ARGS__                                                     \
                         : "cc", "memory");                                                \
        vmx_result(cf_, zf_);                                                              \
    })

static inline int vmxon(uint64_t pa)
{
    return VMX_ASM_RESULT("vmxon %2", "m"(pa));
}
static inline int vmxoff(void)
{
    return VMX_ASM_RESULT("vmxoff", "i"(0));
}
static inline int vmclear(uint64_t pa)
{
    return VMX_ASM_RESULT("vmclear %2", "m"(pa));
}
static inline int vmptrld(uint64_t pa)
{
    return VMX_ASM_RESULT("vmptrld %2", "m"(pa));
}
static inline int vmptrst(uint64_t *pa)
{
    return VMX_ASM_RESULT("vmptrst %2", "m"(*pa));
}
static inline int vmwrite(uint64_t field, uint64_t value)
{
    return VMX_ASM_RESULT("vmwrite %3, %2", "r"(field), "rm"(value));
}
static inline int vmread_checked(uint64_t field, uint64_t *value)
{
    uint8_t cf, zf;
    uint64_t v = 0;
    __asm__ volatile("vmread %3, %2; setc %0; setz %1"
                     : "=qm"(cf), "=qm"(zf), "+rm"(v)
                     : "r"(field)
                     : "cc", "memory");
    *value = v;
    return vmx_result(cf, zf);
}
static inline uint64_t vmread(uint64_t field)
{
    uint64_t v;
    (void)vmread_checked(field, &v);
    return v;
}
/* VMLAUNCH/VMRESUME that are expected to fail (they return here only on
 * VMfail). A successful entry runs the guest; use vmx_run() for that. */
static inline int vmcall(void)
{
    return VMX_ASM_RESULT("vmcall", "i"(0));
}

/* INVEPT and INVVPID with a descriptor (SDM 3C "INVEPT", "INVVPID"):
 * INVEPT's is EPTP in bits 63:0, 127:64 reserved; INVVPID's is VPID in
 * bits 15:0, 63:16 reserved, the linear address in 127:64. */
static inline int invept_desc(uint64_t type, const uint64_t desc[2])
{
    return VMX_ASM_RESULT("invept %2, %3", "m"(*(const uint64_t(*)[2])desc), "r"(type));
}
static inline int invvpid_desc(uint64_t type, const uint64_t desc[2])
{
    return VMX_ASM_RESULT("invvpid %2, %3", "m"(*(const uint64_t(*)[2])desc), "r"(type));
}
static inline int invept(uint64_t type, uint64_t eptp)
{
    const uint64_t desc[2] = { eptp, 0 };
    return invept_desc(type, desc);
}
static inline int invvpid(uint64_t type, uint16_t vpid, uint64_t linear)
{
    const uint64_t desc[2] = { vpid, linear };
    return invvpid_desc(type, desc);
}

/* The VM-instruction error of the current VMCS. */
static inline uint32_t vmx_insn_error(void)
{
    return (uint32_t)vmread(VM_INSN_ERROR);
}

/* Capabilities read once by vmx_caps_read(). ctl_* hold allowed-0 settings
 * in bits 31:0 and allowed-1 settings in bits 63:32, from the TRUE_ MSRs
 * when IA32_VMX_BASIC[55] is set. */
struct vmx_caps {
    uint64_t basic, misc;
    uint64_t pin, proc, proc2, exit, entry;
    uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
    uint64_t vmcs_enum;
    uint64_t ept_vpid; /* IA32_VMX_EPT_VPID_CAP, 0 where it does not exist */
    unsigned maxphyaddr;
};
extern struct vmx_caps vmx_caps;

/* CPUID.1:ECX.VMX[bit 5] (SDM 3C "Discovering Support for VMX"). */
bool vmx_supported(void);
void vmx_caps_read(void);
/* Whether the CPU allows the 1-setting of these secondary controls (and
 * the "activate secondary controls" control). */
bool vmx_proc2_allowed(uint32_t bits);
/* Whether IA32_VMX_EPT_VPID_CAP has every bit of mask (0 without the MSR). */
bool vmx_ept_cap(uint64_t mask);
/* (want | allowed0) & allowed1, and whether every wanted bit survived. */
uint32_t vmx_ctl_adjust(uint64_t cap, uint32_t want);
bool vmx_ctl_allowed(uint64_t cap, uint32_t bits);
/* A CR0/CR4 value with the VMX fixed bits applied. */
uint64_t vmx_fix_cr0(uint64_t cr0);
uint64_t vmx_fix_cr4(uint64_t cr4);

/* 4-KiB regions; vmx_region_init writes the revision identifier. */
extern uint8_t vmx_vmxon_region[4096];
extern uint8_t vmx_vmcs_region[4096];
extern uint8_t vmx_vmcs2_region[4096];
void vmx_region_init(void *region, uint32_t revision);

/* Set CR4.VMXE (and the fixed bits) and execute VMXON on vmx_vmxon_region.
 * Does not touch IA32_FEATURE_CONTROL. Returns the VMXON result. */
int vmx_enter_root(void);
/* If IA32_FEATURE_CONTROL is unlocked, enable VMX outside SMX and lock it,
 * as firmware does (SDM 3C "Enabling and Entering VMX Operation"). Returns
 * whether VMXON is allowed by it afterwards. */
bool vmx_feature_control_enable(void);

/* Guest GPRs saved by vmx_exit_stub and loaded before each entry. */
struct vmx_regs {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t launched; /* 0: next entry is VMLAUNCH */
};

/* The exit handler: return true to VMRESUME the guest, false to return
 * from vmx_run(). */
typedef bool (*vmx_exit_fn)(struct vmx_regs *regs);
extern vmx_exit_fn vmx_exit_handler;

/* Enter the guest (VMLAUNCH if !regs->launched, else VMRESUME) and handle
 * its exits until the handler returns false: returns VMX_OK then. If an
 * entry fails with VMfail, returns VMX_FAIL_INVALID or VMX_FAIL_VALID. */
int vmx_run(struct vmx_regs *regs);
/* Defined in vmx_stub.S: the host RIP. */
void vmx_exit_stub(void);

/* The guest body: regs->rdi = arg, regs->rsi = fn; fn runs on the guest
 * stack from vmx_guest_entry, and when it returns the guest executes VMCALL
 * with RAX = VMX_GUEST_DONE. */
#define VMX_GUEST_DONE 0x454e4f44u /* "DONE" */
void vmx_guest_entry(void);
void vmx_guest_setup(struct vmx_regs *regs, void (*fn)(uint64_t), uint64_t arg);

/* VMCLEAR + VMPTRLD region, then write every field of a valid VMCS:
 * controls from the capabilities (plus the bits asked for), host state =
 * the current state, guest state = a 64-bit guest at CPL 0 that shares the
 * host's CR3/GDT/IDT (guest RIP = vmx_guest_entry, its own stack).
 * Returns false (after a FAIL line) if a VMX instruction fails. */
bool vmx_vmcs_init(void *region, uint32_t pin, uint32_t proc, uint32_t proc2, uint32_t exit,
                   uint32_t entry);
/* Rewrite the state vmx_vmcs_init wrote with the default controls, without
 * VMCLEAR: the starting point of each negative VM-entry test. */
void vmcs_valid_baseline(void);
uint64_t vmx_guest_stack_top(void);

/* Guest IDT whose 256 gates lead to stubs that execute VMCALL with
 * RAX = VMX_GUEST_VECTOR, RBX = vector, RCX = the RIP pushed, RDX = error
 * code (0 if none): the host sees each event the guest takes. */
#define VMX_GUEST_VECTOR 0x54434556u /* "VECT" */
void vmx_guest_idt_install(void);
void vmx_guest_idt_gate(unsigned vec, bool present);

/* Default controls chosen by vmx_vmcs_init (after adjustment). */
struct vmx_ctls {
    uint32_t pin, proc, proc2, exit, entry;
};
extern struct vmx_ctls vmx_ctls;

/* Guest-state constants used by the baseline */
#define AR_CODE64 0xa09bu /* P, S, type 11 (code, accessed), L, G */
#define AR_DATA 0xc093u   /* P, S, type 3 (data RW, accessed), D/B, G */
#define AR_TSS64_BUSY 0x008bu
#define AR_UNUSABLE (1u << 16)

#endif
