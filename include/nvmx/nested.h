/* The built-in L0 (src/nested): runs the first image as L1 in VMX non-root
 * operation on vmcs01, emulates VMX for it, merges vmcs01 and L1's vmcs12
 * into the vmcs02 the hardware runs and reflects L2's exits to L1
 * (ARCHITECTURE.md "Two ways to run", docs/nested.md). */
#ifndef NVMX_NESTED_H
#define NVMX_NESTED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nvmx/cpu.h"
#include "nvmx/vmx.h"

/* L0's policy (the files of configs/l0, docs/nested.md). */
enum nested_ctl_field { NESTED_CTL_PIN, NESTED_CTL_PROC, NESTED_CTL_PROC2, NESTED_CTL_EXIT,
                        NESTED_CTL_ENTRY, NESTED_CTL_NFIELDS };
/* How L1's VMREAD/VMWRITE reach vmcs12 (docs/nested.md). */
enum nested_shadowing {
    NESTED_SHADOW_NONE, /* every VMREAD/VMWRITE exits to L0 */
    NESTED_SHADOW_KVM,  /* a shadow VMCS in vmcs01's link pointer, KVM's field set */
};
struct nested_policy {
    char name[64];
    enum nested_shadowing shadowing; /* falls back to none when the hardware
                                        model does not allow VMCS shadowing */
    bool ept01; /* run L1 (and L2) over EPT01 with unrestricted guest when the
                   hardware model allows them (docs/nested.md) */
    /* Control bits L0 hides from L1: cleared from the allowed-1 settings of
     * L1's capability MSRs (as KVM's nested_vmx_setup_ctls_msrs leaves
     * them out). */
    uint32_t hide[NESTED_CTL_NFIELDS];
    uint64_t misc_clear; /* IA32_VMX_MISC bits cleared in L1's view */
    /* IA32_VMX_EPT_VPID_CAP bits L1 may see (of the hardware model's):
     * nested EPT and VPID (docs/nested.md) */
    uint64_t ept_vpid_cap;
    /* Pages of L0's EPT02 pool L0 uses (0: all of it; at least 4, one
     * root's path to a leaf) */
    unsigned ept02_pool_pages;
};

/* The set of VMX features L0 can nest today; a policy may hide more. */
void nested_policy_default(struct nested_policy *p);

/* Bytes of host-physical memory L0 keeps for itself above L1's RAM: 1 MiB
 * of structures and 7 MiB of shadow EPT02 tables (docs/nested.md). */
#define NESTED_L0_AREA_SIZE (8 * 1024 * 1024)

struct nested;
/* Create L0 for the CPU c (which has VMX: c->vmx) and L1's RAM of l1_mem
 * bytes; L0's structures live at [l1_mem, l1_mem + NESTED_L0_AREA_SIZE).
 * Returns NULL if memory runs out. */
struct nested *nested_create(struct cpu *c, uint64_t l1_mem, const struct nested_policy *p);
void nested_destroy(struct nested *n);
/* Trace sink for L0's events (emulate, reflect, merge, sync). */
void nested_set_trace(struct nested *n, vmx_trace_fn fn, void *ctx);
/* Run L1 (and whatever it runs) until something stops the CPU or
 * max_insns instructions retire (0 = no limit). VM exits to L0 are
 * handled inside; the stop reasons are cpu_run()'s. On an L0 internal
 * error (something L0 cannot emulate), returns CPU_STOP_SHUTDOWN after
 * printing "nvmx: L0: unsupported: ..." to stderr. */
enum cpu_stop nested_run(struct nested *n, uint64_t max_insns);

struct nested_stats {
    uint64_t l1_exits;      /* exits of L1 (vmcs01) handled by L0 */
    uint64_t emulated;      /* L1 VMX instructions emulated */
    uint64_t reflected;     /* L2 exits reflected to L1 */
    uint64_t l0_handled;    /* L2 exits L0 handled itself */
    uint64_t merges;        /* vmcs02 merges */
    uint64_t merge_fields;  /* fields written by them */
    uint64_t ept02_fills;   /* EPT02 leaves L0 wrote on L2's EPT violations */
    uint64_t ept12_faults;  /* EPT violations/misconfigurations of EPT12 reflected */
    uint64_t ept02_drops;   /* EPT02 roots dropped (INVEPT, LRU, pool exhausted) */
};
const struct nested_stats *nested_get_stats(const struct nested *n);

#endif
