/* Names of exit reasons, VM-instruction errors, VMX-abort indicators and
 * capability MSRs, from the
 * same .def lists as the enums. */
#include "nvmx/vmx_arch.h"

#include <stddef.h>

const char *vmx_exit_reason_name(unsigned reason)
{
    switch (reason & 0xffff) {
#define EXIT_REASON(n, num) case num: return #n;
#include "nvmx/vmx_exit_reasons.def"
#undef EXIT_REASON
    default: return "unknown";
    }
}

const char *vmx_insn_err_name(unsigned err)
{
    switch (err) {
    case 0: return "VMfailInvalid";
#define VMX_INSN_ERR(n, num, text) case num: return #n;
#include "nvmx/vmx_errors.def"
#undef VMX_INSN_ERR
    default: return "unknown";
    }
}

const char *vmx_insn_err_text(unsigned err)
{
    switch (err) {
    case 0: return "VMfailInvalid (no current VMCS)";
#define VMX_INSN_ERR(n, num, text) case num: return text;
#include "nvmx/vmx_errors.def"
#undef VMX_INSN_ERR
    default: return "unknown VM-instruction error";
    }
}

const char *vmx_msr_name(enum vmx_msr m)
{
    static const char *const names[VMX_MSR_COUNT] = {
#define VMX_MSR(n, idx, json) [VMX_MSR_##n] = json,
#include "nvmx/vmx_msrs.def"
#undef VMX_MSR
    };
    return (unsigned)m < VMX_MSR_COUNT ? names[m] : "unknown";
}

const char *vmx_abort_text(unsigned indicator)
{
    switch (indicator) {
#define VMX_ABORT(n, num, text) case num: return text;
#include "nvmx/vmx_aborts.def"
#undef VMX_ABORT
    default: return "unknown VMX-abort indicator";
    }
}
