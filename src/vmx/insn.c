/* The VMX instructions (SDM 3C "VMX Instruction Reference"): each follows its
 * "Operation" pseudocode in order -- #UD conditions, the VM exit in non-root
 * operation, #GP(0) for CPL > 0, then operand checks and VMsucceed/VMfail
 * (SDM 3C "Conventions"). VMLAUNCH/VMRESUME hand over to vmx_vm_entry()
 * after their own checks. */
#include "vmx_internal.h"

#define FEATURE_CONTROL_LOCK (1ull << 0)
#define FEATURE_CONTROL_VMX_OUTSIDE_SMX (1ull << 2)
#define MISC_VMWRITE_ANY (1ull << 29)

static const char *const insn_names[] = {
    [VMXOP_VMXON] = "vmxon",       [VMXOP_VMXOFF] = "vmxoff",     [VMXOP_VMCLEAR] = "vmclear",
    [VMXOP_VMPTRLD] = "vmptrld",   [VMXOP_VMPTRST] = "vmptrst",   [VMXOP_VMREAD] = "vmread",
    [VMXOP_VMWRITE] = "vmwrite",   [VMXOP_VMLAUNCH] = "vmlaunch", [VMXOP_VMRESUME] = "vmresume",
    [VMXOP_VMCALL] = "vmcall",     [VMXOP_INVEPT] = "invept",     [VMXOP_INVVPID] = "invvpid",
    [VMXOP_VMFUNC] = "vmfunc",
};

/* SDM 3C Appendix C "VMX Basic Exit Reasons" for each instruction. */
static const uint16_t exit_reasons[] = {
    [VMXOP_VMXON] = VMX_EXIT_vmxon,       [VMXOP_VMXOFF] = VMX_EXIT_vmxoff,
    [VMXOP_VMCLEAR] = VMX_EXIT_vmclear,   [VMXOP_VMPTRLD] = VMX_EXIT_vmptrld,
    [VMXOP_VMPTRST] = VMX_EXIT_vmptrst,   [VMXOP_VMREAD] = VMX_EXIT_vmread,
    [VMXOP_VMWRITE] = VMX_EXIT_vmwrite,   [VMXOP_VMLAUNCH] = VMX_EXIT_vmlaunch,
    [VMXOP_VMRESUME] = VMX_EXIT_vmresume, [VMXOP_VMCALL] = VMX_EXIT_vmcall,
};

/* ---- results (SDM 3C "Conventions") ------------------------------------------------ */

static void set_arith_flags(struct cpu *c, uint64_t set)
{
    cpu_set_rflags(c, (cpu_get_rflags(c) & ~FL_ARITH) | set);
}

/* VMsucceed: CF, PF, AF, ZF, SF, OF := 0 */
void vmx_succeed(struct cpu *c) { set_arith_flags(c, 0); }

/* VMfailInvalid: CF := 1; PF, AF, ZF, SF, OF := 0 */
void vmx_fail_invalid(struct cpu *c) { set_arith_flags(c, FL_CF); }

/* VMfailValid(ErrorNumber): ZF := 1, the others := 0, and the
 * VM-instruction error field of the current VMCS := ErrorNumber */
void vmx_fail_valid(struct cpu *c, enum vmx_insn_err err)
{
    set_arith_flags(c, FL_ZF);
    vmcs_set(vmx_of(c), VMCS_vm_instruction_error, (uint64_t)err);
}

/* VMfailValid or VMfailInvalid as the caller decides (VMREAD and VMWRITE in
 * non-root operation fail invalid on the link pointer, not the current
 * VMCS), counted and traced like vmx_fail(). */
static void fail_as(struct cpu *c, struct vmx *v, bool valid, enum vmx_insn_err err,
                    const char *insn)
{
    if (valid)
        vmx_fail_valid(c, err);
    else
        vmx_fail_invalid(c);
    v->stats.vmfails++;
    if (vmx_tracing(v)) {
        struct trace_event ev = { .type = TRACE_EV_vmfail,
                                  .vmfail = { .insn = insn, .error = valid ? (uint32_t)err : 0 } };
        vmx_emit(v, &ev);
    }
}

/* VMfail(ErrorNumber): VMfailValid when there is a current VMCS, else
 * VMfailInvalid. Counted and traced. */
void vmx_fail(struct cpu *c, struct vmx *v, enum vmx_insn_err err, const char *insn)
{
    fail_as(c, v, v->current_vmcs != VMX_INVALID_PTR, err, insn);
}

/* ---- shared checks -------------------------------------------------------------- */

/* IA32_EFER.LMA = 1 and CS.L = 0: compatibility mode. */
static bool compat_mode(const struct cpu *c)
{
    return (c->efer & EFER_LMA) && !(c->seg[SEG_CS].ar & AR_L);
}

/* "(CR0.PE = 0) or (RFLAGS.VM = 1) or (IA32_EFER.LMA = 1 and CS.L = 0)":
 * the mode part of every VMX instruction's #UD condition. */
static bool mode_ud(const struct cpu *c)
{
    return !(c->cr0 & CR0_PE) || (c->rflags & FL_VM) || compat_mode(c);
}

/* In VMX non-root operation the instruction causes a VM exit: exit
 * qualification (the displacement of a memory operand), instruction
 * information and length come from the decoder (SDM 3C "Exit Qualification
 * for VMX Instructions", "VM-Exit Instruction-Information Field"). */
static _Noreturn void insn_vm_exit(struct cpu *c, struct vmx *v, const struct cpu_vmx_insn *vi)
{
    struct vmx_exit e = {
        .reason = exit_reasons[vi->op],
        .qual = vi->qual,
        .insn_len = vi->len,
        .insn_info = vi->insn_info,
    };
    vmx_vm_exit(c, v, &e);
    cpu_vmexit_unwind(c);
}

/* The prologue common to every instruction except VMXON and VMCALL:
 * #UD outside VMX operation or in the wrong mode, VM exit in non-root
 * operation, #GP(0) at CPL > 0. */
static void common_checks(struct cpu *c, struct vmx *v, const struct cpu_vmx_insn *vi)
{
    if (!v->in_vmx_operation || mode_ud(c))
        cpu_raise(c, EXC_UD, false, 0);
    if (c->vmx_nonroot)
        insn_vm_exit(c, v, vi);
    if (c->cpl > 0)
        cpu_raise(c, EXC_GP, true, 0);
}

/* "addr is not 4KB-aligned or addr sets any bits beyond the physical-address
 * width" (VMXON, VMCLEAR, VMPTRLD). */
static bool vmx_ptr_ok(const struct vmx *v, uint64_t addr)
{
    return (addr & 0xfff) == 0 && vmx_pa_valid(v, addr);
}

static uint32_t vmcs_revision(const struct vmx *v)
{
    return (uint32_t)(v->caps.msr[VMX_MSR_BASIC] & 0x7fffffffu);
}

/* Does the model allow the 1-setting of "VMCS shadowing"? */
static bool vmcs_shadowing_supported(const struct vmx *v)
{
    return (vmx_ctl_allowed1(v, VMX_MSR_PROCBASED_CTLS) &
            (uint32_t)PROC_ACTIVATE_SECONDARY_CONTROLS) &&
           (vmx_ctl_allowed1(v, VMX_MSR_PROCBASED_CTLS2) & (uint32_t)PROC2_VMCS_SHADOWING);
}

static uint64_t read_m64(struct cpu *c, const struct cpu_vmx_insn *vi)
{
    return cpu_mem_read(c, vi->seg, vi->offset, 8);
}

/* ---- VMXON ----------------------------------------------------------------------- */

/* SDM 3C "VMXON -- Enter VMX Operation" */
static void do_vmxon(struct cpu *c, struct vmx *v, const struct cpu_vmx_insn *vi)
{
    if (!vi->mem || !(c->cr0 & CR0_PE) || !(c->cr4 & CR4_VMXE) || (c->rflags & FL_VM) ||
        compat_mode(c))
        cpu_raise(c, EXC_UD, false, 0);
    if (!v->in_vmx_operation) {
        /* Outside SMX operation (nvmx has no SMX): the lock bit and "enable
         * VMX outside SMX operation" of IA32_FEATURE_CONTROL must be set;
         * CR0/CR4 must already obey the fixed bits. */
        if (c->cpl > 0 || !vmx_cr_fixed_ok(v, c->cr0, c->cr4) ||
            !(c->feature_control & FEATURE_CONTROL_LOCK) ||
            !(c->feature_control & FEATURE_CONTROL_VMX_OUTSIDE_SMX))
            cpu_raise(c, EXC_GP, true, 0);
        uint64_t addr = read_m64(c, vi);
        if (!vmx_ptr_ok(v, addr)) {
            vmx_fail(c, v, VMX_INSN_OK, "vmxon"); /* no current VMCS: VMfailInvalid */
            return;
        }
        uint32_t rev = (uint32_t)cpu_phys_read(c, addr, 4);
        if ((rev & 0x7fffffffu) != vmcs_revision(v) || (rev & VMCS_SHADOW_INDICATOR)) {
            vmx_fail(c, v, VMX_INSN_OK, "vmxon");
            return;
        }
        v->current_vmcs = VMX_INVALID_PTR;
        v->vmxon_ptr = addr;
        v->in_vmx_operation = true;
        vmx_succeed(c);
        return;
    }
    if (c->vmx_nonroot)
        insn_vm_exit(c, v, vi);
    if (c->cpl > 0)
        cpu_raise(c, EXC_GP, true, 0);
    vmx_fail(c, v, VMX_INSN_ERR_VMXON_IN_ROOT, "vmxon");
}

/* ---- VMXOFF ---------------------------------------------------------------------- */

/* SDM 3C "VMXOFF -- Leave VMX Operation". Dual-monitor treatment is never
 * active on nvmx. The current VMCS is written back so that its memory is
 * up to date once the processor leaves VMX operation. */
static void do_vmxoff(struct cpu *c, struct vmx *v, const struct cpu_vmx_insn *vi)
{
    common_checks(c, v, vi);
    vmcs_flush(v);
    v->current_vmcs = VMX_INVALID_PTR;
    v->vmxon_ptr = VMX_INVALID_PTR;
    v->in_vmx_operation = false;
    vmx_succeed(c);
}

/* ---- VMCLEAR / VMPTRLD / VMPTRST ----------------------------------------------------- */

/* SDM 3C "VMCLEAR -- Clear Virtual-Machine Control Structure" */
static void do_vmclear(struct cpu *c, struct vmx *v, const struct cpu_vmx_insn *vi)
{
    common_checks(c, v, vi);
    uint64_t addr = read_m64(c, vi);
    if (!vmx_ptr_ok(v, addr)) {
        vmx_fail(c, v, VMX_INSN_ERR_VMCLEAR_INVALID_ADDR, "vmclear");
        return;
    }
    if (addr == v->vmxon_ptr) {
        vmx_fail(c, v, VMX_INSN_ERR_VMCLEAR_VMXON_PTR, "vmclear");
        return;
    }
    /* "ensure that data for VMCS referenced by the operand is in memory" */
    if (addr == v->current_vmcs) {
        vmcs_flush(v);
        v->current_vmcs = VMX_INVALID_PTR;
    }
    vmcs_mem_clear(v, addr);
    vmx_succeed(c);
}

/* SDM 3C "VMPTRLD -- Load Pointer to Virtual-Machine Control Structure" */
static void do_vmptrld(struct cpu *c, struct vmx *v, const struct cpu_vmx_insn *vi)
{
    common_checks(c, v, vi);
    uint64_t addr = read_m64(c, vi);
    if (!vmx_ptr_ok(v, addr)) {
        vmx_fail(c, v, VMX_INSN_ERR_VMPTRLD_INVALID_ADDR, "vmptrld");
        return;
    }
    if (addr == v->vmxon_ptr) {
        vmx_fail(c, v, VMX_INSN_ERR_VMPTRLD_VMXON_PTR, "vmptrld");
        return;
    }
    uint32_t rev = (uint32_t)cpu_phys_read(c, addr, 4);
    if ((rev & 0x7fffffffu) != vmcs_revision(v) ||
        ((rev & VMCS_SHADOW_INDICATOR) && !vmcs_shadowing_supported(v))) {
        vmx_fail(c, v, VMX_INSN_ERR_VMPTRLD_BAD_REVISION, "vmptrld");
        return;
    }
    /* Loading the VMCS that is already current keeps the processor's copy
     * (memory written behind its back is not re-read, as on hardware). */
    if (addr != v->current_vmcs) {
        vmcs_flush(v);
        vmcs_load(v, addr);
    }
    vmx_succeed(c);
}

/* SDM 3C "VMPTRST -- Store Pointer to Virtual-Machine Control Structure" */
static void do_vmptrst(struct cpu *c, struct vmx *v, const struct cpu_vmx_insn *vi)
{
    common_checks(c, v, vi);
    cpu_mem_write(c, vi->seg, vi->offset, 8, v->current_vmcs);
    vmx_succeed(c);
}

/* ---- VMREAD / VMWRITE -------------------------------------------------------------- */

/* The encoding operand of VMREAD/VMWRITE (ModRM.reg), at the operand size:
 * 32 bits outside 64-bit mode, 64 in it. */
static uint64_t encoding_of(const struct cpu *c, const struct cpu_vmx_insn *vi)
{
    uint64_t enc = c->gpr[vi->reg & 15];
    return vi->opsize == 4 ? (uint32_t)enc : enc;
}

static uint64_t opsize_mask(unsigned opsize) { return opsize >= 8 ? ~0ull : 0xffffffffull; }

/* The prologue of VMREAD and VMWRITE (SDM 3C "VMREAD", "VMWRITE"
 * Operation): #UD, then in non-root operation a VM exit unless the VMREAD/
 * VMWRITE bitmap lets the shadow VMCS take the access (shadow.c), #GP(0) at
 * CPL > 0, VMfailInvalid without a VMCS to access -- the current VMCS in
 * root operation, the one the VMCS link pointer references in non-root
 * operation. Returns false when the instruction is over. */
static bool vmrw_checks(struct cpu *c, struct vmx *v, const struct cpu_vmx_insn *vi, bool write)
{
    if (!v->in_vmx_operation || mode_ud(c))
        cpu_raise(c, EXC_UD, false, 0);
    if (c->vmx_nonroot && vmx_shadow_intercept(c, v, encoding_of(c, vi), write))
        insn_vm_exit(c, v, vi);
    if (c->cpl > 0)
        cpu_raise(c, EXC_GP, true, 0);
    uint64_t vmcs = c->vmx_nonroot ? vmx_shadow_vmcs(v) : v->current_vmcs;
    if (vmcs == VMX_INVALID_PTR) {
        fail_as(c, v, false, VMX_INSN_OK, insn_names[vi->op]);
        return false;
    }
    return true;
}

/* A field of the VMCS the instruction accesses (see vmrw_checks). */
static uint64_t field_read(struct cpu *c, struct vmx *v, enum vmcs_field f)
{
    return c->vmx_nonroot ? vmx_shadow_read(v, f) : vmcs_get(v, f);
}

static void field_write(struct cpu *c, struct vmx *v, enum vmcs_field f, uint64_t val)
{
    if (c->vmx_nonroot)
        vmx_shadow_write(v, f, val);
    else
        vmcs_set(v, f, val);
}

/* SDM 3C "VMREAD -- Read Field from Virtual-Machine Control Structure".
 * A field shorter than the operand is zero-extended; of a longer one only
 * the low bits are read. The high encoding of a 64-bit field reads its bits
 * 63:32. A VMfailValid error goes to the current VMCS, in non-root
 * operation too (SDM 3C "Conventions": "VM-instruction error field of the
 * current VMCS"). */
static void do_vmread(struct cpu *c, struct vmx *v, const struct cpu_vmx_insn *vi)
{
    if (!vmrw_checks(c, v, vi, false))
        return;
    bool high = false;
    int f = vmcs_field_lookup(encoding_of(c, vi), &high);
    if (f < 0) {
        vmx_fail(c, v, VMX_INSN_ERR_UNSUPPORTED_VMCS_COMPONENT, "vmread");
        return;
    }
    uint64_t val = field_read(c, v, (enum vmcs_field)f);
    if (high)
        val >>= 32;
    val &= opsize_mask(vi->opsize);
    if (vi->mem)
        cpu_mem_write(c, vi->seg, vi->offset, vi->opsize, val);
    else
        c->gpr[vi->rm_reg & 15] = val;
    vmx_succeed(c);
}

/* SDM 3C "VMWRITE -- Write Field to Virtual-Machine Control Structure".
 * The primary source (r/m) is read once there is a VMCS to write; bits
 * beyond the field are ignored, bits of the field beyond the operand are
 * cleared. The high encoding writes bits 63:32 only. */
static void do_vmwrite(struct cpu *c, struct vmx *v, const struct cpu_vmx_insn *vi)
{
    if (!vmrw_checks(c, v, vi, true))
        return;
    uint64_t val = vi->mem ? cpu_mem_read(c, vi->seg, vi->offset, vi->opsize)
                           : c->gpr[vi->rm_reg & 15];
    val &= opsize_mask(vi->opsize);
    bool high = false;
    int f = vmcs_field_lookup(encoding_of(c, vi), &high);
    if (f < 0) {
        vmx_fail(c, v, VMX_INSN_ERR_UNSUPPORTED_VMCS_COMPONENT, "vmwrite");
        return;
    }
    /* VM-exit information fields are read-only unless IA32_VMX_MISC[29]
     * (SDM 3C "Miscellaneous Data"). */
    if (VMCS_ENC_TYPE(vmcs_fields[f].encoding) == VMCS_ENC_TYPE_RO_DATA &&
        !(v->caps.msr[VMX_MSR_MISC] & MISC_VMWRITE_ANY)) {
        vmx_fail(c, v, VMX_INSN_ERR_VMWRITE_READONLY_COMPONENT, "vmwrite");
        return;
    }
    if (high)
        val = (field_read(c, v, (enum vmcs_field)f) & 0xffffffffull) |
              ((val & 0xffffffffull) << 32);
    field_write(c, v, (enum vmcs_field)f, val);
    vmx_succeed(c);
}

/* ---- VMLAUNCH / VMRESUME ----------------------------------------------------------- */

/* SDM 3C "VMLAUNCH/VMRESUME -- Launch/Resume Virtual Machine": the
 * instruction's checks, then VM entry. "Events blocked by MOV SS" is the
 * MOV-SS shadow (c->intr_shadow holds the interruptibility-state bit). */
static void do_vmentry(struct cpu *c, struct vmx *v, const struct cpu_vmx_insn *vi, bool launch)
{
    const char *name = insn_names[vi->op];
    common_checks(c, v, vi);
    if (v->current_vmcs == VMX_INVALID_PTR) {
        vmx_fail(c, v, VMX_INSN_OK, name);
        return;
    }
    /* SDM 3C "Basic VM-Entry Checks": "If there is a current VMCS but the
     * current VMCS is a shadow VMCS ..., RFLAGS.CF is set to 1" --
     * VMfailInvalid, though a VMCS is current. */
    if (v->shadow_vmcs_current) {
        fail_as(c, v, false, VMX_INSN_OK, name);
        return;
    }
    if (c->intr_shadow & VMX_INTERRUPTIBILITY_MOV_SS) {
        vmx_fail(c, v, VMX_INSN_ERR_ENTRY_EVENTS_BLOCKED_BY_MOV_SS, name);
        return;
    }
    if (launch && v->launch_state != VMCS_STATE_CLEAR) {
        vmx_fail(c, v, VMX_INSN_ERR_VMLAUNCH_NONCLEAR_VMCS, name);
        return;
    }
    if (!launch && v->launch_state != VMCS_STATE_LAUNCHED) {
        vmx_fail(c, v, VMX_INSN_ERR_VMRESUME_NONLAUNCHED_VMCS, name);
        return;
    }
    enum vmx_insn_err err = vmx_vm_entry(c, v, launch);
    if (err != VMX_INSN_OK)
        vmx_fail_valid(c, err);
}

/* ---- VMCALL -------------------------------------------------------------------------- */

/* SDM 3C "VMCALL -- Call to VM Monitor". In root operation, with
 * IA32_SMM_MONITOR_CTL[0] = 0 (nvmx has no SMM monitor): VMfail. */
static void do_vmcall(struct cpu *c, struct vmx *v, const struct cpu_vmx_insn *vi)
{
    if (!v->in_vmx_operation)
        cpu_raise(c, EXC_UD, false, 0);
    if (c->vmx_nonroot)
        insn_vm_exit(c, v, vi);
    if ((c->rflags & FL_VM) || compat_mode(c))
        cpu_raise(c, EXC_UD, false, 0);
    if (c->cpl > 0)
        cpu_raise(c, EXC_GP, true, 0);
    vmx_fail(c, v, VMX_INSN_ERR_VMCALL_IN_ROOT, "vmcall");
}

/* ---- dispatch ----------------------------------------------------------------------- */

void vmx_hook_vmx_insn(struct cpu *c, const struct cpu_vmx_insn *vi)
{
    struct vmx *v = vmx_of(c);
    switch (vi->op) {
    case VMXOP_VMXON: do_vmxon(c, v, vi); break;
    case VMXOP_VMXOFF: do_vmxoff(c, v, vi); break;
    case VMXOP_VMCLEAR: do_vmclear(c, v, vi); break;
    case VMXOP_VMPTRLD: do_vmptrld(c, v, vi); break;
    case VMXOP_VMPTRST: do_vmptrst(c, v, vi); break;
    case VMXOP_VMREAD: do_vmread(c, v, vi); break;
    case VMXOP_VMWRITE: do_vmwrite(c, v, vi); break;
    case VMXOP_VMLAUNCH: do_vmentry(c, v, vi, true); break;
    case VMXOP_VMRESUME: do_vmentry(c, v, vi, false); break;
    case VMXOP_VMCALL: do_vmcall(c, v, vi); break;
    case VMXOP_INVEPT: vmx_do_invept(c, v, vi); break;
    case VMXOP_INVVPID: vmx_do_invvpid(c, v, vi); break;
    case VMXOP_VMFUNC: vmx_do_vmfunc(c, v, vi); break;
    default: cpu_raise(c, EXC_UD, false, 0);
    }
}
