/* VMX for the direct guest: VMXON, VMXOFF, VMCLEAR, VMPTRLD, VMPTRST,
 * VMREAD, VMWRITE, VMCALL in VMX root operation, INVEPT and INVVPID
 * (inv.c), and the checks of VMLAUNCH/VMRESUME before nested.c takes
 * over. The instructions exit
 * unconditionally in VMX non-root operation (SDM 3C "Instructions That
 * Cause VM Exits Unconditionally"); the turtle then does what the SDM's
 * pseudocode in SDM 3C "VMX Instruction Reference" does, with the guest's
 * view of CR0/CR4 and IA32_FEATURE_CONTROL, the capabilities of caps.c and
 * the vmcs12 cache of vmcs12.c. */
#include "turtle.h"

#include "rtstring.h"
#include "x86.h"

#define FL_ARITH 0x8d5ull /* CF PF AF ZF SF OF */
#define FL_CF_BIT 0x1ull
#define FL_ZF_BIT 0x40ull

static void set_result_flags(uint64_t set)
{
    vmwrite(GUEST_RFLAGS, (vmread(GUEST_RFLAGS) & ~FL_ARITH) | set);
    skip_insn();
}

void vm_succeed(void)
{
    set_result_flags(0);
}

void vm_fail_invalid(void)
{
    set_result_flags(FL_CF_BIT);
}

void vm_fail_valid(uint32_t error)
{
    v12_set(VM_INSN_ERROR, error);
    set_result_flags(FL_ZF_BIT);
}

void vm_fail(uint32_t error)
{
    if (vcpu.vmcs12_ptr != ~0ull)
        vm_fail_valid(error);
    else
        vm_fail_invalid();
}

/* The 64-bit physical-address operand of VMXON, VMCLEAR, VMPTRLD. */
static bool read_ptr_operand(regs_t *r, uint64_t *pa)
{
    uint64_t lin;
    if (!vmx_operand_addr(r, (uint32_t)vmread(EXIT_INSN_INFO), vmread(EXIT_QUAL), &lin))
        return false;
    return gmem_read(lin, pa, 8);
}

static bool bad_ptr(uint64_t pa)
{
    /* SDM 3C: 4-KiB aligned, no bit beyond the physical-address width. */
    return (pa & 0xfff) || (pa >> vmx_caps.maxphyaddr);
}

static uint32_t region_revision(uint64_t pa)
{
    if (!gmem_phys_ok(pa, 4096))
        return ~0u; /* not RAM: reads all ones */
    return *(volatile uint32_t *)phys_ptr(pa);
}

static void emul_vmxon(regs_t *r)
{
    uint64_t pa;

    if (vcpu.vmxon) {
        if (guest_cpl())
            inject_gp();
        else
            vm_fail(VMXERR_VMXON_IN_ROOT);
        return;
    }
    /* SDM 3C "VMXON": #GP for CPL > 0, CR0/CR4 outside the fixed bits, or
     * IA32_FEATURE_CONTROL not locked with VMX outside SMX enabled. */
    if (guest_cpl() || (vcpu.cr0 & vcaps.cr0_fixed0) != vcaps.cr0_fixed0 ||
        (vcpu.cr0 & ~vcaps.cr0_fixed1) || (vcpu.cr4 & vcaps.cr4_fixed0) != vcaps.cr4_fixed0 ||
        (vcpu.cr4 & ~vcaps.cr4_fixed1) ||
        (vcpu.feature_control & (FC_LOCK | FC_VMX_OUTSIDE_SMX)) !=
            (FC_LOCK | FC_VMX_OUTSIDE_SMX)) {
        inject_gp();
        return;
    }
    if (!read_ptr_operand(r, &pa))
        return;
    if (bad_ptr(pa) || region_revision(pa) != TURTLE_VMCS_REVISION) {
        vm_fail_invalid();
        return;
    }
    vcpu.vmxon = true;
    vcpu.vmxon_ptr = pa;
    vcpu.vmcs12_ptr = ~0ull;
    shadow_vmx_operation(true);
    turtle_log("guest VMXON %#lx", pa);
    vm_succeed();
}

static void drop_current(void)
{
    if (vcpu.vmcs12_ptr != ~0ull) {
        shadow_pull();
        nested_sync_rare();
        vmcs02_save_dirty(vcpu.vmcs12_ptr);
        vmcs12_flush(vcpu.vmcs12_ptr);
    }
    vcpu.vmcs12_ptr = ~0ull;
    vcpu.vmcs12_shadow = false;
    shadow_link(false);
}

static void emul_vmxoff(void)
{
    drop_current();
    nested_forget(~0ull);
    vcpu.vmxon = false;
    shadow_vmx_operation(false);
    turtle_log("guest VMXOFF");
    vm_succeed();
}

static void emul_vmclear(regs_t *r)
{
    uint64_t pa;

    if (!read_ptr_operand(r, &pa))
        return;
    if (bad_ptr(pa)) {
        vm_fail(VMXERR_VMCLEAR_BAD_ADDR);
        return;
    }
    if (pa == vcpu.vmxon_ptr) {
        vm_fail(VMXERR_VMCLEAR_VMXON_PTR);
        return;
    }
    /* SDM 3C "VMCLEAR": the VMCS data is written to the region, the launch
     * state becomes clear, and it is no longer current. */
    if (pa == vcpu.vmcs12_ptr)
        drop_current();
    nested_forget(pa);
    if (gmem_phys_ok(pa, 4096))
        vmcs12_set_launch_state(pa, 0);
    vm_succeed();
}

static void emul_vmptrld(regs_t *r)
{
    uint64_t pa;

    if (!read_ptr_operand(r, &pa))
        return;
    if (bad_ptr(pa)) {
        vm_fail(VMXERR_VMPTRLD_BAD_ADDR);
        return;
    }
    if (pa == vcpu.vmxon_ptr) {
        vm_fail(VMXERR_VMPTRLD_VMXON_PTR);
        return;
    }
    /* SDM 3C "VMPTRLD": bits 30:0 must be the revision identifier, and bit
     * 31 (the shadow-VMCS indicator) may be 1 only when "VMCS shadowing" is
     * offered (shadow12.c). */
    uint32_t rev = region_revision(pa);
    if ((rev & ~VMCS_SHADOW_INDICATOR) != TURTLE_VMCS_REVISION ||
        ((rev & VMCS_SHADOW_INDICATOR) && !shadow12_offered())) {
        vm_fail(VMXERR_VMPTRLD_BAD_REVISION);
        return;
    }
    if (pa != vcpu.vmcs12_ptr) {
        drop_current();
        vmcs12_load(pa);
        vmcs02_restore_dirty(pa);
        vcpu.vmcs12_ptr = pa;
        shadow_push();
        shadow_link(true);
    }
    /* a processor records the indicator when the VMCS becomes current */
    vcpu.vmcs12_shadow = rev & VMCS_SHADOW_INDICATOR;
    vm_succeed();
}

static void emul_vmptrst(regs_t *r)
{
    uint64_t lin, v = vcpu.vmcs12_ptr;
    if (!vmx_operand_addr(r, (uint32_t)vmread(EXIT_INSN_INFO), vmread(EXIT_QUAL), &lin))
        return;
    if (!gmem_write(lin, &v, 8))
        return;
    vm_succeed();
}

/* VMREAD and VMWRITE once the VMCS they access is known: the current
 * vmcs12 (the cache, root operation) or the shadow VMCS of the guest's
 * guest (its slots in memory, shadow12.c). SDM 3C "VMREAD", "VMWRITE":
 * VMfailValid(12) for a field that does not exist, VMfailValid(13) for a
 * VM-exit information field without IA32_VMX_MISC[29]. The operands are
 * gmem.c's (the direct guest's, or its guest's). */
void vmx_emul_vmread(regs_t *r, uint64_t *fields)
{
    uint32_t info = (uint32_t)vmread(EXIT_INSN_INFO);
    uint64_t enc = gpr_read(r, info >> 28), v;
    bool l64 = gmem_long64();
    int i;

    if (!l64)
        enc = (uint32_t)enc;
    if ((i = vmcs12_index(enc)) < 0) {
        vm_fail_valid(VMXERR_UNSUPPORTED_FIELD);
        return;
    }
    if (fields == vmcs12 && nested_rare_pending((unsigned)i))
        nested_sync_rare();
    v = (enc & 1) ? fields[i] >> 32 : fields[i];
    if (info & (1u << 10)) {
        gpr_write(r, (info >> 3) & 15, l64 ? v : (uint32_t)v);
    } else {
        uint64_t lin;
        if (!vmx_operand_addr(r, info, vmread(EXIT_QUAL), &lin) ||
            !gmem_write(lin, &v, l64 ? 8 : 4))
            return;
    }
    vm_succeed();
}

void vmx_emul_vmwrite(regs_t *r, uint64_t *fields)
{
    uint32_t info = (uint32_t)vmread(EXIT_INSN_INFO);
    uint64_t enc = gpr_read(r, info >> 28), v = 0;
    bool l64 = gmem_long64();
    int i;

    if (info & (1u << 10)) {
        v = gpr_read(r, (info >> 3) & 15);
    } else {
        uint64_t lin;
        if (!vmx_operand_addr(r, info, vmread(EXIT_QUAL), &lin) ||
            !gmem_read(lin, &v, l64 ? 8 : 4))
            return;
    }
    if (!l64) {
        enc = (uint32_t)enc;
        v = (uint32_t)v;
    }
    if ((i = vmcs12_index(enc)) < 0) {
        vm_fail_valid(VMXERR_UNSUPPORTED_FIELD);
        return;
    }
    /* SDM 3C "VMWRITE": the VM-exit information fields are read-only
     * unless IA32_VMX_MISC[29] is 1. */
    if (vmcs_enc_type((uint32_t)enc) == VMCS_TYPE_RO_DATA && !(vcaps.misc & VMX_MISC_VMWRITE_ANY)) {
        vm_fail_valid(VMXERR_VMWRITE_READONLY);
        return;
    }
    if (enc & 1)
        fields[i] = (fields[i] & 0xffffffffu) | (v << 32);
    else
        fields[i] = vmcs_width_mask((uint32_t)enc, v);
    if (fields == vmcs12) {
        nested_rare_written((unsigned)i);
        vmcs12_mark((unsigned)i);
    }
    vm_succeed();
}

/* Root operation: VMfailInvalid without a current VMCS (SDM 3C "VMREAD"). */
static void emul_vmread(regs_t *r)
{
    if (vcpu.vmcs12_ptr == ~0ull)
        vm_fail_invalid();
    else
        vmx_emul_vmread(r, vmcs12);
}

static void emul_vmwrite(regs_t *r)
{
    if (vcpu.vmcs12_ptr == ~0ull)
        vm_fail_invalid();
    else
        vmx_emul_vmwrite(r, vmcs12);
}

bool vmx_emul_exit(regs_t *r, uint32_t reason)
{
    /* Common checks of every VMX instruction: #UD outside VMX operation
     * (VMXON: with CR4.VMXE = 0), #GP(0) at CPL > 0. */
    if (!(vcpu.cr4 & CR4_VMXE) || !topts.nested) {
        inject_ud();
        return true;
    }
    /* INVEPT and INVVPID exist where EPT / VPID are offered (SDM 3C
     * "INVEPT", "INVVPID": #UD "if the processor does not support EPT /
     * VPID" -- the capabilities the guest reads are caps.c's). */
    if ((reason == EXIT_INVEPT &&
         (!(vcaps.proc2 & ((uint64_t)PROC2_EPT << 32)) || !(vcaps.ept_vpid & EPT_CAP_INVEPT))) ||
        (reason == EXIT_INVVPID &&
         (!(vcaps.proc2 & ((uint64_t)PROC2_VPID << 32)) || !(vcaps.ept_vpid & EPT_CAP_INVVPID)))) {
        inject_ud();
        return true;
    }
    if (reason == EXIT_VMXON) {
        emul_vmxon(r);
        return true;
    }
    if (!vcpu.vmxon) {
        inject_ud();
        return true;
    }
    if (guest_cpl()) {
        inject_gp();
        return true;
    }
    switch (reason) {
    case EXIT_VMXOFF: emul_vmxoff(); break;
    case EXIT_VMCLEAR: emul_vmclear(r); break;
    case EXIT_VMPTRLD: emul_vmptrld(r); break;
    case EXIT_VMPTRST: emul_vmptrst(r); break;
    case EXIT_VMREAD: emul_vmread(r); break;
    case EXIT_VMWRITE: emul_vmwrite(r); break;
    case EXIT_VMCALL:
        /* SDM 3C "VMCALL": in VMX root operation without the dual-monitor
         * treatment, VMfail(VMCALL executed in VMX root operation). */
        vm_fail(VMXERR_VMCALL_IN_ROOT);
        break;
    case EXIT_INVEPT: inv_invept(r); break;
    case EXIT_INVVPID: inv_invvpid(r); break;
    case EXIT_VMLAUNCH:
    case EXIT_VMRESUME:
        return nested_enter(r, reason == EXIT_VMLAUNCH);
    default: inject_ud(); break;
    }
    return true;
}
