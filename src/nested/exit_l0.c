/* Exits of L1 (vmcs01) that are not VMX instructions and that L0 owns:
 * CPUID, the MSRs whose values L1 sees from L0 (IA32_FEATURE_CONTROL and
 * the VMX capability MSRs), the CR0/CR4 bits VMX operation fixes, XSETBV,
 * and the triple fault that ends L1. */
#include "nested_internal.h"

#include "nvmx/lapic.h"
#include "nvmx/machine.h"

/* IA32_FEATURE_CONTROL bits L1 may set (KVM's valid bits without SGX/LMCE):
 * lock, VMX inside SMX, VMX outside SMX. */
#define FC_VALID (FC_LOCK | (1ull << 1) | FC_VMX_OUTSIDE_SMX)

static void set_rax_rdx(struct nested *n, uint64_t val)
{
    n->c->gpr[0] = val & 0xffffffffull;
    n->c->gpr[2] = val >> 32;
}

/* SDM 2A "CPUID": L1 sees the CPU model's leaves less what it could not
 * use under L0 (cpuid.c); CPUID.1:ECX.VMX stays 1, as KVM shows it with
 * nested=1. */
static void do_cpuid(struct nested *n)
{
    struct cpu *c = n->c;
    uint32_t out[4];
    nested_cpuid(n, (uint32_t)c->gpr[0], (uint32_t)c->gpr[1], out);
    c->gpr[0] = out[0];
    c->gpr[3] = out[1];
    c->gpr[1] = out[2];
    c->gpr[2] = out[3];
    l0_skip_insn(n);
}

/* SDM 4 "IA32_FEATURE_CONTROL", SDM 3C "Enabling and Entering VMX
 * Operation": WRMSR to a locked register or with reserved bits is #GP(0);
 * the capability MSRs are read-only. */
static void do_msr(struct nested *n, bool write)
{
    struct cpu *c = n->c;
    uint32_t msr = (uint32_t)c->gpr[1];
    uint64_t val;
    if (!write) {
        if (msr == MSR_IA32_FEATURE_CONTROL)
            val = n->feature_control;
        else if (!nested_caps_rdmsr(n, msr, &val))
            return l0_inject_l1(n, EXC_GP, true, 0);
        set_rax_rdx(n, val);
        return l0_skip_insn(n);
    }
    val = (c->gpr[2] << 32) | (uint32_t)c->gpr[0];
    if (msr != MSR_IA32_FEATURE_CONTROL || (n->feature_control & FC_LOCK) || (val & ~FC_VALID))
        return l0_inject_l1(n, EXC_GP, true, 0);
    n->feature_control = val;
    l0_skip_insn(n);
}

/* MOV to CR0/CR4 that changes a bit L0 owns (SDM 3C "CR access": the
 * bits of IA32_VMX_CR0/CR4_FIXED0). L1 gets what the hardware would do
 * with its values: #GP(0) for a value VMX operation does not allow while
 * L1 is in it, and CR4.VMXE cannot be cleared then (SDM 3C "VMX-Fixed Bits
 * in CR0 and CR4"). */
static void do_cr(struct nested *n)
{
    struct cpu *c = n->c;
    uint64_t q = vmx_root_vmread(n->v, VMCS_exit_qualification);
    unsigned cr = q & 15, type = (q >> 4) & 3, reg = (q >> 8) & 15;
    if (type != 0 || (cr != 0 && cr != 4))
        return l0_unsupported(n, "L1 CR access exit, qualification 0x%llx", (unsigned long long)q);
    uint64_t val = reg == 4 ? vmx_root_vmread(n->v, VMCS_guest_rsp) : c->gpr[reg];
    const uint64_t *m = n->caps1.msr;
    if (cr == 0) {
        if (!n->ept01 && (!(val & CR0_PG) || !(val & CR0_PE)))
            return l0_unsupported(n, "L1 turns paging off (CR0 0x%llx): running that needs "
                                     "EPT01 with \"unrestricted guest\" in L0", (unsigned long long)val);
        if (n->vmxon && ((val & m[VMX_MSR_CR0_FIXED0]) != m[VMX_MSR_CR0_FIXED0] ||
                         (val & ~m[VMX_MSR_CR0_FIXED1] & 0xffffffffull)))
            return l0_inject_l1(n, EXC_GP, true, 0);
        /* SDM 3A "IA-32e Mode Initialization": setting CR0.PG with
         * IA32_EFER.LME = 1 activates IA-32e mode (LMA = 1), clearing it
         * deactivates it -- what the MOV would have done had it not exited. */
        uint64_t old = vmx_root_vmread(n->v, VMCS_guest_cr0);
        uint64_t efer = vmx_root_vmread(n->v, VMCS_guest_ia32_efer);
        if ((efer & EFER_LME) && ((old ^ val) & CR0_PG))
            l0_write01(n, VMCS_guest_ia32_efer, (val & CR0_PG) ? efer | EFER_LMA : efer & ~EFER_LMA);
        l0_set_l1_cr0(n, val);
    } else {
        if (n->vmxon && ((val & m[VMX_MSR_CR4_FIXED0]) != m[VMX_MSR_CR4_FIXED0] ||
                         (val & ~m[VMX_MSR_CR4_FIXED1])))
            return l0_inject_l1(n, EXC_GP, true, 0);
        l0_set_l1_cr4(n, val);
    }
    l0_skip_insn(n);
}

/* SDM 2C "XSETBV": L1's XSETBV exits unconditionally (SDM 3C "Instructions
 * That Cause VM Exits Unconditionally") after the hardware's #UD and CPL
 * checks; L0 performs the rest of it on the processor's XCR0, which VM
 * entries and exits do not switch (L1 and its guests share it, as on
 * hardware): #GP(0) to L1 for a bad ECX or value. */
static void do_xsetbv(struct nested *n)
{
    struct cpu *c = n->c;
    uint64_t val = (c->gpr[2] << 32) | (uint32_t)c->gpr[0];
    if (!cpu_set_xcr(c, (uint32_t)c->gpr[1], val))
        return l0_inject_l1(n, EXC_GP, true, 0);
    l0_skip_insn(n);
}

/* SDM 3C "Restrictions on VMX Operation": "INIT signals are blocked
 * whenever a logical processor is in VMX root operation. They are not
 * blocked in VMX non-root operation. Instead, INITs cause VM exits." L1 is
 * in VMX non-root operation of vmcs01, so its INIT exits to L0: once L1 has
 * executed VMXON (L0's emulation) it is in its VMX root operation, where
 * the INIT stays pending -- until L1 enters L2, where it causes L2's VM
 * exit to L1 (nested_init_to_l2), or until L1's VMXOFF unblocks it.
 * Outside VMX operation an INIT resets the processor (SDM 3A "INIT
 * Signal"), which L0 does not emulate for L1. */
static void do_init(struct nested *n)
{
    if (!n->vmxon)
        return l0_unsupported(n, "INIT of L1 outside VMX operation (a reset of L1's processor) is not emulated");
    n->init_pending = true;
}

/* An INIT pending for L1 as L1 enters L2 (or leaves VMX operation): the
 * local APIC asserts it again, and the hardware, in VMX non-root operation
 * of vmcs02, exits with reason 3 before L2's first instruction, which L0
 * reflects to L1 (SDM 3C "INIT Signals"). */
void nested_init_release(struct nested *n)
{
    if (!n->init_pending)
        return;
    n->init_pending = false;
    if (n->c->m && n->c->m->lapic)
        lapic_signal_init(n->c->m->lapic);
}

void nested_handle_l1_exit(struct nested *n, uint32_t reason)
{
    switch (reason) {
    case VMX_EXIT_cpuid: do_cpuid(n); break;
    case VMX_EXIT_rdmsr: do_msr(n, false); break;
    case VMX_EXIT_wrmsr: do_msr(n, true); break;
    case VMX_EXIT_cr_access: do_cr(n); break;
    case VMX_EXIT_init_signal: do_init(n); break;
    case VMX_EXIT_xsetbv: do_xsetbv(n); break;
    case VMX_EXIT_ept_violation:
    case VMX_EXIT_ept_misconfig:
        nested_ept01_fault(n, reason);
        return;
    case VMX_EXIT_triple_fault:
        /* L1 shuts down: the machine does, as in bare mode. */
        n->stop = CPU_STOP_SHUTDOWN;
        return;
    default:
        l0_unsupported(n, "exit of L1 with reason %u (%s)", (unsigned)reason, vmx_exit_reason_name(reason));
        return;
    }
    if (n->stop == CPU_STOP_NONE)
        l0_enter_l1(n);
}
