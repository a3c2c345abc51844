/* VMX as hardware (src/vmx): VMXON/VMCS/VM entry/VM exit/non-root operation
 * for the CPU core, plugged in through include/nvmx/cpu_hooks.h, and the
 * events it reports to a trace sink. */
#ifndef NVMX_VMX_H
#define NVMX_VMX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nvmx/cpu.h"
#include "nvmx/trace_event.h"
#include "nvmx/vmx_arch.h"

struct vmx;

/* Capability MSR values of a CPU model, indexed by enum vmx_msr. */
struct vmx_caps {
    uint64_t msr[VMX_MSR_COUNT];
};

/* Check a model's capability MSRs against what nvmx implements: every
 * allowed-1 control bit, MISC feature, CR fixed bit and EPT/VPID capability
 * must be one nvmx models. On failure returns false with a message naming
 * the MSR and the bit. */
bool vmx_caps_validate(const struct vmx_caps *caps, char *err, size_t errlen);

/* Give the CPU VMX (its model advertises CPUID.1:ECX.VMX[bit 5]). */
struct vmx *vmx_attach(struct cpu *c, const struct vmx_caps *caps);
void vmx_detach(struct cpu *c);

/* ---- trace events (the model: include/nvmx/trace_event.h) ---- */

typedef void (*vmx_trace_fn)(void *ctx, const struct trace_event *ev);
/* Install a sink; NULL turns tracing off (then events cost nothing). */
void vmx_set_trace(struct vmx *v, vmx_trace_fn fn, void *ctx);

/* Statistics kept whether or not a trace is written. */
struct vmx_stats {
    uint64_t exits[VMX_EXIT_MAX + 1];
    uint64_t exit_cycles[VMX_EXIT_MAX + 1]; /* from exit to the next entry */
    uint64_t entries, entry_failures, vmfails;
};
const struct vmx_stats *vmx_get_stats(const struct vmx *v);

#endif
