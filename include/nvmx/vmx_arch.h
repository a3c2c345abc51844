/* Architectural VMX constants, generated from the .def lists: basic exit
 * reasons, VM-instruction error numbers, control bits and capability MSRs.
 * Both the CPU core (which reports exits) and src/vmx use them. */
#ifndef NVMX_VMX_ARCH_H
#define NVMX_VMX_ARCH_H

#include <stdint.h>

enum vmx_exit_reason {
#define EXIT_REASON(n, num) VMX_EXIT_##n = (num),
#include "nvmx/vmx_exit_reasons.def"
#undef EXIT_REASON
    VMX_EXIT_MAX = 80,
};
/* Exit-reason bits above the basic reason (SDM 3C "Basic VM-Exit Information") */
#define VMX_EXIT_REASON_ENTRY_FAILURE (1u << 31)
#define VMX_EXIT_REASON_FROM_VMX_ROOT (1u << 29)
#define VMX_EXIT_REASON_PENDING_MTF (1u << 28)

enum vmx_insn_err {
    VMX_INSN_OK = 0,
#define VMX_INSN_ERR(n, num, text) VMX_INSN_ERR_##n = (num),
#include "nvmx/vmx_errors.def"
#undef VMX_INSN_ERR
};

/* PIN_NMI_EXITING etc.: masks (bit 31 is stored as INT_MIN; use with
 * uint32_t fields). */
enum vmx_control {
#define VMX_CONTROL(field, n, bit) field##_##n = (int)(1u << (bit)),
#include "nvmx/vmx_controls.def"
#undef VMX_CONTROL
};

/* VMX-abort indicators (SDM 3C "VMX Aborts") */
enum vmx_abort {
#define VMX_ABORT(n, num, text) VMX_ABORT_##n = (num),
#include "nvmx/vmx_aborts.def"
#undef VMX_ABORT
};

enum vmx_msr {
#define VMX_MSR(n, idx, json) VMX_MSR_##n,
#include "nvmx/vmx_msrs.def"
#undef VMX_MSR
    VMX_MSR_COUNT
};
#define VMX_MSR_FIRST 0x480u

/* Names for traces and messages (src/vmx/names.c). */
const char *vmx_exit_reason_name(unsigned reason);
const char *vmx_insn_err_name(unsigned err);
const char *vmx_insn_err_text(unsigned err);
const char *vmx_msr_name(enum vmx_msr m);
/* The SDM's words for a VMX-abort indicator. */
const char *vmx_abort_text(unsigned indicator);

/* VM-entry interruption-information / VM-exit interruption-information and
 * IDT-vectoring information layout (SDM 3C "VM-Entry Controls for Event
 * Injection"). */
#define VMX_INTR_INFO_VECTOR 0xffu
#define VMX_INTR_INFO_TYPE_SHIFT 8
#define VMX_INTR_INFO_TYPE_MASK (7u << 8)
#define VMX_INTR_INFO_ERROR_CODE (1u << 11)
#define VMX_INTR_INFO_NMI_UNBLOCKING (1u << 12)
#define VMX_INTR_INFO_VALID (1u << 31)

/* Guest interruptibility state (SDM 3C "Guest Non-Register State") */
#define VMX_INTERRUPTIBILITY_STI (1u << 0)
#define VMX_INTERRUPTIBILITY_MOV_SS (1u << 1)
#define VMX_INTERRUPTIBILITY_SMI (1u << 2)
#define VMX_INTERRUPTIBILITY_NMI (1u << 3)
#define VMX_INTERRUPTIBILITY_ENCLAVE (1u << 4)

/* Activity states */
enum vmx_activity { VMX_ACTIVITY_ACTIVE = 0, VMX_ACTIVITY_HLT, VMX_ACTIVITY_SHUTDOWN,
                    VMX_ACTIVITY_WAIT_SIPI };

#endif
