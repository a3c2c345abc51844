/* VMX conformance guests: shared start-up, result checks and a recording
 * exit handler. */
#ifndef VMX_COMMON_H
#define VMX_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include "vmx.h"

/* What the recording handler saw at the last VM exit. */
struct exit_record {
    uint32_t reason, intr_info, intr_err, idt_info, idt_err, insn_len, insn_info;
    uint64_t qual, guest_rip, guest_linear, guest_rflags;
    struct vmx_regs regs;
    unsigned count;
};
extern struct exit_record last_exit;

/* Skip the image (guest_finish) unless CPUID reports VMX; read the
 * capabilities. */
void vmx_test_require(void);
/* vmx_test_require, enable IA32_FEATURE_CONTROL if unlocked, VMXON. */
void vmx_test_start(void);

/* Check a VMX instruction result: VMX_OK / VMX_FAIL_INVALID, or
 * VMX_FAIL_VALID with the VM-instruction error err. */
bool check_vmx(const char *name, int got, int expected, uint32_t err);

/* Record the exit into last_exit; stop at the first exit (stop_after = 1)
 * or after n exits. */
bool exit_record_handler(struct vmx_regs *regs);
extern unsigned exit_stop_after;
void exit_record(struct vmx_regs *regs);

/* Fresh VMCS with the given extra controls, guest = fn(arg); the caller may
 * VMWRITE more fields before vmx_test_enter. */
bool vmx_test_vmcs(uint32_t pin, uint32_t proc, uint32_t proc2, uint32_t exit, uint32_t entry,
                   void (*fn)(uint64_t), uint64_t arg);
/* Run with the recording handler until the first exit; returns the
 * vmx_run result. */
int vmx_test_enter(void);
extern struct vmx_regs test_regs;

/* Check the recorded exit reason (full 32 bits) and, for the guest
 * stopping on VMCALL DONE, name the test. */
bool check_exit(const char *name, uint32_t reason);

#endif
