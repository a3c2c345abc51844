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
    /* VMREAD/VMWRITE in non-root operation that the shadow VMCS satisfied
     * without a VM exit (VMCS shadowing) */
    uint64_t shadow_vmreads, shadow_vmwrites;
};
const struct vmx_stats *vmx_get_stats(const struct vmx *v);

/* ---- VMCS shadowing (shadow.c): pure functions L0 reuses ---- */

/* Does a VMREAD (vmread bitmap) or VMWRITE (vmwrite bitmap) of encoding in
 * VMX non-root operation cause a VM exit? shadowing: the "VMCS shadowing"
 * control; read8 reads one byte of physical memory. */
bool vmx_shadow_bitmap_exits(bool shadowing, uint64_t bitmap_pa, uint64_t encoding,
                             uint8_t (*read8)(void *ctx, uint64_t pa), void *ctx);
/* Bitmaps from the shadow column of vmcs_fields.def (bits of RO and RW
 * fields clear in the VMREAD bitmap, of RW fields in the VMWRITE bitmap). */
void vmx_shadow_default_bitmaps(uint8_t vmread_bitmap[4096], uint8_t vmwrite_bitmap[4096]);

#endif
