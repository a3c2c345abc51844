/* Private to src/nested: L0's state, L1's virtual VMX state and the vmcs12
 * cache, and the entry points of its files. src/nested reaches the
 * hardware only through include/nvmx/vmx.h's root-mode API. */
#ifndef NVMX_NESTED_INTERNAL_H
#define NVMX_NESTED_INTERNAL_H

#include "nvmx/cpu_hooks.h"
#include "nvmx/nested.h"
#include "nvmx/vmcs.h"
#include "nvmx/vmx.h"
#include "vmcs02_pool.h"

#include <stdio.h>
#include <string.h>

#define NESTED_INVALID_PTR (~0ull)
#define L0_FIXED_SIZE (1024ull * 1024)

/* L0's area (host-physical, above L1's RAM, NESTED_L0_AREA_SIZE bytes):
 * its first MiB holds one 4-KiB page each of these; the rest is the pool
 * of shadow EPT02 tables (ept02.c). */
enum l0_page { L0_VMXON, L0_VMCS01, L0_VMCS02, L0_MSR_BITMAP01, L0_MSR_BITMAP02, L0_SHADOW_VMCS,
               L0_VMREAD_BITMAP, L0_VMWRITE_BITMAP, L0_EPT_PML4, L0_EPT_PDPT, L0_EPT_PD, L0_EPT_PT,
               /* EPT01's PDPTs for PML4 entries 1-127 (MAXPHYADDR up to 46) */
               L0_EPT_PDPT_HIGH,
               /* vmcs02 of pool slots 1.. (slot 0: L0_VMCS02) */
               L0_VMCS02_MORE = L0_EPT_PDPT_HIGH + 127,
               L0_NPAGES = L0_VMCS02_MORE + VMCS02_POOL_MAX - 1 };

/* Shadow EPT02 (ept02.c): up to EPT02_ROOTS roots, one per EPTP12 in
 * LRU order (KVM keeps the current root and 3 previous ones), with their
 * tables from a pool of EPT02_POOL_PAGES pages. */
#define EPT02_ROOTS 4
#define EPT02_POOL_PAGES ((unsigned)((NESTED_L0_AREA_SIZE - L0_FIXED_SIZE) / 4096))
struct ept02_root {
    bool used;
    uint64_t eptp12;   /* L1's EPTP (the key) */
    uint64_t pml4;     /* host-physical address of the EPT02 PML4 */
    uint64_t last_use; /* LRU clock */
};
struct nested_ept02 {
    struct ept02_root root[EPT02_ROOTS];
    uint8_t owner[EPT02_POOL_PAGES]; /* 0: free, else root index + 1 */
    bool ready;
    unsigned free_pages, cursor;
    uint64_t clock;
    /* a fill that changes nothing twice in a row is an L0 bug, not a loop */
    uint64_t last_fill_gpa, last_fill_entry;
    unsigned same_fills;
    uint64_t exhausted_at; /* instructions retired + 1 at the last exhaustion */
    uint64_t exhausted_rip; /* and L2's RIP then */
};

/* VPID02 (ept02.c): L1's VPIDs for L2 (vpid12) map to VPIDs of L0's,
 * VPID02_FIRST + slot, in LRU order; L0 keeps VPIDs below VPID02_FIRST
 * for its own use. */
#define VPID02_SLOTS 8
#define VPID02_FIRST 16
struct nested_vpid02 {
    uint16_t vpid12[VPID02_SLOTS]; /* 0: slot free */
    uint64_t last_use[VPID02_SLOTS];
    uint64_t clock;
};

/* IA32_FEATURE_CONTROL bits (SDM 3C "Enabling and Entering VMX Operation") */
#define FC_LOCK (1ull << 0)
#define FC_VMX_OUTSIDE_SMX (1ull << 2)
#define MSR_IA32_FEATURE_CONTROL 0x3au

/* L1's current VMCS, cached by L0 (SDM 3C "VMCS Status": the processor may
 * keep the current VMCS in the processor; nvmx's L0 does, as hardware
 * does). Written back to L1 memory on VMCLEAR, VMPTRLD of another VMCS and
 * VMXOFF. dirty[f] says a field changed since the last merge. */
struct vmcs12_cache {
    uint64_t ptr; /* L1's current-VMCS pointer, NESTED_INVALID_PTR if none */
    uint64_t f[VMCS_NFIELDS];
    uint8_t dirty[VMCS_NFIELDS];
    bool launched;
    bool shadow; /* the shadow-VMCS indicator VMPTRLD read */
};

/* The deepest level the trace names (its `level` key is 0-63). */
#define NESTED_MAX_LEVELS 63

/* Level inference (levels.c): the level of the guest on vmcs02, and per
 * hypervisor level j the last exit delivered to Lj (origin: the level of
 * the guest that exited, 0 if none yet). */
struct nested_levels {
    int running;
    struct {
        uint8_t origin;
        uint16_t reason;
        uint64_t vmcs12; /* the vmcs12 L1 ran the exited guest on */
    } last[NESTED_MAX_LEVELS];
    uint64_t ran_on[NESTED_MAX_LEVELS + 1]; /* per level, the vmcs12 it last ran on */
};

struct nested {
    struct cpu *c;
    struct vmx *v;
    struct nested_policy pol;
    struct vmx_caps caps1; /* L1's capabilities (caps.c) */
    uint64_t l1_mem;
    /* L1's CPUID facts for the vmcs12 view (the model's, read once) */
    unsigned maxphyaddr, linear_width;
    bool rtm;
    uint64_t page[L0_NPAGES];
    bool took_over;
    bool shadowing;           /* vmcs01 uses the hardware's VMCS shadowing */
    bool pkvm;                /* ... in the "pkvm" design (pkvm.c) */
    bool pkvm_ordinary;       /* pkvm: the current vmcs02 is an ordinary VMCS */
    bool ept01;               /* L1 and L2 run over EPT01 (ept01.c) */
    uint64_t eptp01;
    uint32_t proc2_01;        /* vmcs01's secondary controls besides shadowing */
    uint16_t vpid01;          /* L1's VPID (vpid.c); 0: L0 uses no VPIDs */
    uint16_t slot_vpid02;     /* L2's VPID on the current vmcs02 (vmcs12 without VPID) */
    uint32_t cpuid_hide;      /* rows of nested_cpuid.def hidden from L1 (cpuid.c) */
    uint32_t proc2_cpuid;     /* vmcs01's controls that enable L1's instructions */

    /* L1's VMX operation, as L0 emulates it */
    bool vmxon;
    uint64_t vmxon_ptr;
    /* An exception of an L2 instruction L0 performed that vmcs12's
     * exception bitmap intercepts: the VM exit to reflect (shadow12.c) */
    struct {
        bool pending;
        uint32_t intr_info, error;
        uint64_t qual;
        const char *rule;
    } l2_exception;
    struct vmcs12_cache v12;
    uint64_t feature_control; /* IA32_FEATURE_CONTROL as L1 sees it */
    struct vmcs02_pool pool;  /* one vmcs02 per vmcs12 (vmcs02_pool.c) */
    unsigned cur02;           /* the pool slot of the vmcs02 entered last */
    struct nested_ept02 ept02;
    struct nested_vpid02 vpid02;
    bool in_l2;               /* vmcs02 is what the hardware ran last */
    bool init_pending;        /* an INIT blocked in L1's VMX root operation */
    struct nested_levels lv;  /* the level vmcs02 runs (levels.c) */

    uint64_t f01[VMCS_NFIELDS]; /* what L0 wrote to vmcs01 */
    bool exit_pending;        /* a VM exit reached the native host */
    enum cpu_stop stop;       /* set by a handler to end nested_run() */
    bool unsupported;         /* l0_unsupported() stopped the run */
    uint32_t abort, abort_exit_reason; /* L1's VMX abort (vmx_abort_l1) */
    /* fields written by the running merge or sync, for the trace */
    struct trace_vmcs_write log[2 * VMCS_NFIELDS];
    unsigned nlog;
    bool merge_traced;        /* the running merge logs its writes */
    bool log_unchanged;       /* ... and those that kept the value */
    vmx_trace_fn trace_fn;
    void *trace_ctx;
    struct nested_stats stats;
};

/* May vmcs0x set secondary control ctl (the hardware model's allowed-1)? */
static inline bool l0_proc2_allowed(const struct nested *n, uint32_t ctl)
{
    const struct vmx_caps *hw = vmx_get_caps(n->v);
    return ctl && (vmx_caps_allowed1(hw, VMX_MSR_PROCBASED_CTLS) & (uint32_t)PROC_ACTIVATE_SECONDARY_CONTROLS) &&
           (vmx_caps_allowed1(hw, VMX_MSR_PROCBASED_CTLS2) & ctl) == ctl;
}

/* The host-physical page of the vmcs02 of pool slot k. */
static inline uint64_t l0_vmcs02_page(const struct nested *n, unsigned k)
{
    return k == 0 ? n->page[L0_VMCS02] : n->page[L0_VMCS02_MORE + k - 1];
}
/* L1's VMCLEAR of vmcs12 (or VMXOFF: every vmcs12) frees its vmcs02. */
void nested_vmcs02_drop(struct nested *n, uint64_t vmcs12);
void nested_vmcs02_drop_all(struct nested *n);

/* l0.c: entering L1 and L2, stopping on what L0 cannot do */
void l0_write01(struct nested *n, enum vmcs_field f, uint64_t val);
void l0_set_l1_cr0(struct nested *n, uint64_t l1_view);
void l0_set_l1_cr4(struct nested *n, uint64_t l1_view);
void l0_msr_intercepts(struct nested *n, uint64_t bitmap);
void l0_enter_l1(struct nested *n);
void l0_unsupported(struct nested *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Inject a hardware exception into L1 at its next entry (SDM 3C "Event
 * Injection"), as L0's emulation of an instruction that faults. */
void l0_inject_l1(struct nested *n, int vector, bool has_err, uint32_t err);
/* Advance L1 past the instruction that exited (guest RIP += instruction
 * length; blocking by STI/MOV SS ends). */
void l0_skip_insn(struct nested *n);
/* The same for L2 in the current vmcs02 (an L2 instruction L0 performed). */
void l0_skip_l2_insn(struct nested *n);
/* L1's CR0/CR4 as L1 sees them (read shadows over the owned bits). */
uint64_t l0_l1_cr0(struct nested *n);
uint64_t l0_l1_cr4(struct nested *n);

/* Log one field a merge or sync wrote (when tracing). */
static inline void nested_log(struct nested *n, enum vmcs_field f, uint64_t val, const char *origin)
{
    if (n->nlog < sizeof n->log / sizeof n->log[0])
        n->log[n->nlog++] = (struct trace_vmcs_write){ (uint16_t)f, val, origin };
}

/* caps.c: L1's filtered capability MSRs */
void nested_caps_filter(const struct vmx_caps *hw, const struct nested_policy *p,
                        struct vmx_caps *l1);
bool nested_caps_rdmsr(const struct nested *n, uint32_t msr, uint64_t *val);
void nested_caps_no_ept(struct vmx_caps *l1);
void nested_caps_no_shadowing(struct vmx_caps *l1);

/* vmcs12.c: L1 memory and the vmcs12 cache */
uint64_t l1_phys_read(struct nested *n, uint64_t pa, unsigned size);
void l1_phys_write(struct nested *n, uint64_t pa, unsigned size, uint64_t val);
uint64_t nested_phys_read_fn(void *ctx, uint64_t pa, unsigned size);
void vmcs12_load(struct nested *n, uint64_t pa);
void vmcs12_flush(struct nested *n);
void vmcs12_clear_region(struct nested *n, uint64_t pa);
void vmcs12_set(struct nested *n, enum vmcs_field f, uint64_t val);
static inline uint64_t vmcs12_get(const struct nested *n, enum vmcs_field f) { return n->v12.f[f]; }
/* A view of the cached vmcs12 against L1's capabilities, with the facts
 * of L1 as the entering processor. */
void vmcs12_view(struct nested *n, struct vmx_vmcs_view *vw);
void vmcs12_view_facts(struct nested *n);

/* ept01.c */
bool nested_ept01_setup(struct nested *n);
void nested_ept01_vmcs01(struct nested *n);
void nested_ept01_fault(struct nested *n, uint32_t reason);

/* cpuid.c: L1's CPUID */
void nested_cpuid_setup(struct nested *n);
void nested_cpuid(struct nested *n, uint32_t leaf, uint32_t subleaf, uint32_t out[4]);

/* vpid.c: L0's VPIDs and the invalidations L1's VM entries and exits owe */
void nested_vpid_setup(struct nested *n);
void nested_vpid_vmcs01(struct nested *n);
void nested_vpid_emulated_entry(struct nested *n, uint16_t vpid02, uint64_t *last_vpid12);
void nested_vpid_emulated_exit(struct nested *n);

/* ept02.c: nested EPT and VPID for L2 */
bool nested_ept12_on(const struct nested *n); /* vmcs12 enables EPT */
bool nested_vpid12_on(const struct nested *n); /* vmcs12 enables VPID */
uint64_t nested_ept02_eptp(struct nested *n, uint64_t eptp12);
/* An EPT violation or misconfiguration of vmcs02 while vmcs12 enables EPT:
 * fill EPT02 (RESUME: the caller resumes L2 with nested_ept02_resume()), or
 * rewrite vmcs02's exit information into what L1's EPT12 gives (REFLECT
 * it to L1), or stop on what L0 cannot do (STOP); *rule says which, in
 * words. */
enum ept02_exit { EPT02_EXIT_RESUME, EPT02_EXIT_REFLECT, EPT02_EXIT_STOP };
enum ept02_exit nested_ept02_exit(struct nested *n, uint32_t basic, const char **rule);
/* Re-enter L2 after a fill (qual: the violation's exit qualification). */
void nested_ept02_resume(struct nested *n, uint64_t qual);
void nested_ept02_invept(struct nested *n, bool all, uint64_t eptp12);
uint16_t nested_vpid02(struct nested *n, uint16_t vpid12);
void nested_vpid02_invvpid(struct nested *n, enum vmx_invvpid_kind kind, uint16_t vpid12,
                           uint64_t lin);

/* shadow.c: the "kvm" VMCS-shadowing design */
bool nested_shadow_setup(struct nested *n);
void nested_shadow_vmcs01(struct nested *n);
void nested_shadow_load(struct nested *n);
void nested_shadow_load_logged(struct nested *n);
void nested_shadow_store(struct nested *n);

/* pkvm.c: the "pkvm" design (vmcs02 doubles as the shadow VMCS) */
bool nested_pkvm_shadowed(enum vmcs_field f);
bool nested_pkvm_setup(struct nested *n);
void nested_pkvm_vmcs01(struct nested *n);
void nested_pkvm_attach(struct nested *n);
void nested_pkvm_detach(struct nested *n);
void nested_pkvm_pull(struct nested *n);
void nested_pkvm_settle(struct nested *n);
void nested_pkvm_put(struct nested *n, enum vmcs_field f);

/* emulate.c: L1's VMX instructions */
void nested_emulate_vmx(struct nested *n, uint32_t reason);
/* L2's VMREAD/VMWRITE (exit reason) that vmcs12's VMCS shadowing leaves
 * to L0, performed on vmcs12's shadow VMCS (emulate.c); and the field
 * encoding of the VMREAD/VMWRITE exit in the current VMCS. */
void nested_emulate_l2_vmrw(struct nested *n, uint32_t reason);
uint64_t nested_vmrw_encoding(struct nested *n);

/* VMCS shadowing offered to L1 (shadow12.c), the "kvm" design: does L1
 * want L2's VMREAD (write false) or VMWRITE exit (vmcs12's control and
 * bitmaps)? The shadow VMCS's fields in L1's memory; an exception of an
 * L2 instruction L0 performed. */
bool nested_shadow12_on(struct nested *n); /* vmcs12 enables VMCS shadowing */
bool nested_shadow12_l1_wants(struct nested *n, bool write, const char **rule);
uint64_t nested_shadow12_read(struct nested *n, uint64_t vmcs, enum vmcs_field f);
void nested_shadow12_write(struct nested *n, uint64_t vmcs, enum vmcs_field f, uint64_t val);
void nested_inject_l2(struct nested *n, int vector, bool has_err, uint32_t err, uint64_t pf_linear);

/* exit_l0.c: exits of L1 that are not VMX instructions */
void nested_handle_l1_exit(struct nested *n, uint32_t reason);
void nested_init_release(struct nested *n);

/* merge.c: vmcs01 + vmcs12 -> vmcs02 (the current VMCS must be vmcs02) */
void nested_merge(struct nested *n, bool full);

/* levels.c: the level of vmcs02's guest. An exit of it reflected to L1
 * (its full reason); L1 enters vmcs02: the level that runs, also kept in
 * n->lv.running. */
void nested_levels_reflect(struct nested *n, uint32_t reason);
int nested_levels_enter(struct nested *n);

/* reflect.c: an exit of L2 */
void nested_handle_l2_exit(struct nested *n);
/* Before L0 resumes L2 after an exit it handled: the event whose delivery
 * the exit interrupted is injected again. */
void nested_reinject_l2(struct nested *n);
/* An exit for L1 caused by its VMLAUNCH/VMRESUME of vmcs12 (a VM-entry
 * failure, reason with bit 31): loads L1's host state. */
void nested_entry_fail_to_l1(struct nested *n, uint32_t reason, uint64_t qual);

#endif
