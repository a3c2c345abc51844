/* The guest's INVEPT and INVVPID (SDM 3C "INVEPT -- Invalidate Translations
 * Derived from EPT", "INVVPID -- Invalidate Translations Based on VPID"),
 * after the checks vmx_emul_exit() makes for every VMX instruction: the
 * pseudocode's checks against the capabilities the turtle offers, then the
 * invalidation. The processor has done the #UD for a register operand
 * before the exit. INVVPID goes to the processor with the guest's
 * descriptor: vmcs02 uses the guest's VPIDs as they are. INVEPT does too
 * when vmcs02 runs on EPT12 (ept=0); with EPT02 (ept=1) it empties EPT02. */
#include "turtle.h"

#include "x86.h"

/* The type register (instruction-information bits 31:28; 64 bits in
 * 64-bit mode, 32 outside it) and the 128-bit descriptor. Checks the type
 * first: an unsupported one is VMfail before the memory operand is read.
 * False when the instruction is done (VMfail or an exception injected). */
static bool inv_operands(regs_t *r, bool (*type_ok)(uint64_t), uint64_t *type, uint64_t d[2])
{
    uint32_t info = (uint32_t)vmread(EXIT_INSN_INFO);
    bool long64 = gmem_long64();
    uint64_t lin;

    *type = gpr_read(r, info >> 28);
    if (!long64)
        *type = (uint32_t)*type;
    /* "IF IA32_VMX_EPT_VPID_CAP MSR indicates that processor does not
     * support the type THEN VMfail(Invalid operand to INVEPT/INVVPID)" */
    if (!type_ok(*type)) {
        vm_fail(VMXERR_INVEPT_INVVPID_OPERAND);
        return false;
    }
    return vmx_operand_addr(r, info, vmread(EXIT_QUAL), &lin) && gmem_read(lin, d, 16);
}

static bool invept_type_ok(uint64_t type)
{
    return (type == INVEPT_SINGLE && (vcaps.ept_vpid & EPT_CAP_INVEPT_SINGLE)) ||
           (type == INVEPT_GLOBAL && (vcaps.ept_vpid & EPT_CAP_INVEPT_ALL));
}

static bool invvpid_type_ok(uint64_t type)
{
    return type <= INVVPID_SINGLE_GLOBALS && (vcaps.ept_vpid & (EPT_CAP_INVVPID_ADDR << type));
}

/* The processor's VM-instruction error, for the guest (VMfailValid in the
 * turtle's vmcs01 is an invalid operand the checks above let through: the
 * guest gets the same error). */
static void forward(int result)
{
    if (result == VMX_OK)
        vm_succeed();
    else
        vm_fail(result == VMX_FAIL_VALID ? vmx_insn_error() : VMXERR_INVEPT_INVVPID_OPERAND);
}

void inv_invept(regs_t *r)
{
    uint64_t type, d[2];

    if (!inv_operands(r, invept_type_ok, &type, d))
        return;
    /* "IF VM entry with the 'enable EPT' VM execution control set to 1
     * would fail due to the EPTP value THEN VMfail(Invalid operand to
     * INVEPT/INVVPID)" (single-context), against the capabilities
     * offered. */
    if (type == INVEPT_SINGLE && !nested_ept_eptp12_ok(d[0])) {
        vm_fail(VMXERR_INVEPT_INVVPID_OPERAND);
        return;
    }
    if (!gmap.ept) {
        forward(invept_desc(type, d));
        return;
    }
    /* Every mapping EPT02 holds goes, whichever EPTP12 it came from. */
    nested_ept_invalidate();
    vm_succeed();
}

void inv_invvpid(regs_t *r)
{
    uint64_t type, d[2];

    if (!inv_operands(r, invvpid_type_ok, &type, d))
        return;
    /* "IF INVVPID_DESC[63:16] != 0 THEN VMfail(...)", a VPID of 0 for a
     * type other than all-context, a non-canonical linear address for
     * individual-address: the processor makes the same checks on the
     * same descriptor. */
    forward(invvpid_desc(type, d));
}
