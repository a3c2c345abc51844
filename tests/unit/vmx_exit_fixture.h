/* The shared set-up of the VM-exit unit tests (test_vmx_exit.c,
 * test_vmx_shadow.c): a 64-bit guest (bytes in RAM) runs under a VMCS set
 * up in the VMCS cache with src/vmx's hooks (VMX instructions included) on
 * a small test model; RUN() enters non-root operation as a successful VM
 * entry leaves it and runs to the host's HLT after the exit. One test file
 * includes it once. */
#ifndef NVMX_TEST_VMX_EXIT_FIXTURE_H
#define NVMX_TEST_VMX_EXIT_FIXTURE_H

#include "cpu/cpu_internal.h"
#include "vmx/vmx_internal.h"
#include "nvmx/lapic.h"
#include "harness.h"

#include <check.h>
#include <stdlib.h>

#define RAM_SIZE (8u << 20)
#define PML4 0x1000ull /* PDPT 0x2000, PD 0x3000: 8 MByte identity-mapped */
#define GDT_BASE 0x5000ull
#define TSS_BASE 0x6000ull
#define GUEST_CODE 0x10000ull
#define HOST_CODE 0x18000ull
#define DATA 0x20000ull
#define IO_BITMAP_A 0x30000ull
#define IO_BITMAP_B 0x31000ull
#define MSR_BITMAP 0x32000ull
#define MSR_STORE 0x33000ull
#define MSR_LOAD 0x34000ull
#define VMCS_REGION 0x35000ull
#define GUEST_STACK 0x70000ull
#define HOST_STACK 0x78000ull
#define UNMAPPED 0x40000000ull /* PDPT entry 1 is not present */
#define HOST_FS_BASE 0xabc000ull

#define SEL_CODE 0x08
#define SEL_DATA 0x10
#define SEL_TSS 0x38

static struct cpu_model model;
static struct cost_model cost;
static struct machine *m;
static struct cpu *c;
static struct vmx *v;

static const struct cpu_hooks hooks = {
    .intercept = vmx_hook_intercept,
    .event = vmx_hook_event,
    .pending = vmx_hook_pending,
    .next_event = vmx_hook_next_event,
    .signal = vmx_hook_signal,
    .inactive = vmx_hook_inactive,
    .vmx_insn = vmx_hook_vmx_insn,
};

/* The trace sink is not under test here. */
static inline void no_trace(void *ctx, const struct trace_event *ev)
{
    (void)ctx;
    (void)ev;
}

static inline void set_model(void)
{
    th_model_init(&model, "vmx-exit-test");
    th_add_leaf(&model, 0, 0xd, 0x756e6547, 0x6c65746e, 0x49656e69);
    th_add_leaf(&model, 1, 0x000906ea, 0, (1u << 5) | (1u << 17),
             (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 9) | (1u << 13));
    th_add_leaf(&model, 7, 0, 1u << 10, 0, 0); /* INVPCID */
    th_add_leaf(&model, 0x80000000u, 0x80000008u, 0, 0, 0);
    th_add_leaf(&model, 0x80000001u, 0, 0, 0, (1u << 11) | (1u << 20) | (1u << 27) | (1u << 29));
    th_add_leaf(&model, 0x80000008u, 0x3027, 0, 0, 0);
}

static inline void vset(enum vmcs_field f, uint64_t val) { vmcs_set(v, f, val); }
static inline uint64_t vget(enum vmcs_field f) { return vmcs_get(v, f); }

/* Host state: the same flat 64-bit world the guest runs in. */
static inline void set_host_state(void)
{
    vset(VMCS_host_cr0, c->cr0);
    vset(VMCS_host_cr3, PML4);
    vset(VMCS_host_cr4, c->cr4);
    vset(VMCS_host_rip, HOST_CODE);
    vset(VMCS_host_rsp, HOST_STACK);
    vset(VMCS_host_cs_selector, SEL_CODE);
    vset(VMCS_host_ss_selector, SEL_DATA);
    vset(VMCS_host_ds_selector, SEL_DATA);
    vset(VMCS_host_es_selector, 0);
    vset(VMCS_host_fs_selector, 0);
    vset(VMCS_host_gs_selector, 0);
    vset(VMCS_host_tr_selector, SEL_TSS);
    vset(VMCS_host_fs_base, HOST_FS_BASE);
    vset(VMCS_host_tr_base, TSS_BASE);
    vset(VMCS_host_gdtr_base, GDT_BASE);
    vset(VMCS_host_idtr_base, 0);
    vset(VMCS_host_ia32_sysenter_cs, 0x60);
    vset(VMCS_host_ia32_sysenter_esp, 0x7000);
    vset(VMCS_vm_exit_controls, EXIT_HOST_ADDRESS_SPACE_SIZE);
    vset(VMCS_vm_entry_controls, ENTRY_IA32E_MODE_GUEST);
}

static inline void setup(void)
{
    set_model();
    m = th_machine_create(RAM_SIZE, true);
    c = th_cpu_create(m, &model, &cost);

    th_long_mode_2m(c, PML4, 4, true, GDT_BASE);
    c->tr = (struct seg_reg){ .base = TSS_BASE, .limit = 0x67, .ar = 0x8b, .sel = SEL_TSS };
    c->idtr = (struct dtr){ .base = 0, .limit = 0 }; /* any delivery faults */
    cpu_write_phys(c, HOST_CODE, 1, 0xf4);            /* the host: HLT */

    v = calloc(1, sizeof *v);
    ck_assert_ptr_nonnull(v);
    v->cpu = c;
    v->vmcs = &v->own;
    v->current_vmcs = VMCS_REGION;
    v->in_vmx_operation = true;
    v->trace_fn = no_trace;
    c->vmx = v;
    c->hooks = &hooks;
    set_host_state();
}

static inline void teardown(void)
{
    c->hooks = NULL;
    c->vmx = NULL;
    free(v);
    cpu_destroy(c);
    machine_destroy(m);
}

/* Enter non-root operation at GUEST_CODE as a successful VM entry leaves
 * the processor: the controls and CR masks in force, the timer armed. */
static inline void enter(void)
{
    v->pin = (uint32_t)vget(VMCS_pin_based_vm_exec_control);
    v->proc = (uint32_t)vget(VMCS_cpu_based_vm_exec_control);
    v->proc2 = (v->proc & PROC_ACTIVATE_SECONDARY_CONTROLS)
                   ? (uint32_t)vget(VMCS_secondary_vm_exec_control) : 0;
    v->exit_ctls = (uint32_t)vget(VMCS_vm_exit_controls);
    v->entry_ctls = (uint32_t)vget(VMCS_vm_entry_controls);
    c->nr = (struct cpu_nonroot){
        .cr0_mask = vget(VMCS_cr0_guest_host_mask), .cr0_shadow = vget(VMCS_cr0_read_shadow),
        .cr4_mask = vget(VMCS_cr4_guest_host_mask), .cr4_shadow = vget(VMCS_cr4_read_shadow),
        .tsc_offset = vget(VMCS_tsc_offset),
        .tsc_offsetting = (v->proc & PROC_USE_TSC_OFFSETTING) != 0,
    };
    if (v->pin & PIN_ACTIVATE_PREEMPTION_TIMER) {
        unsigned rate = (unsigned)(v->caps.msr[VMX_MSR_MISC] & 0x1f);
        v->preemption_deadline = c->cycles + (vget(VMCS_vmx_preemption_timer_value) << rate);
        v->preemption_active = true;
    }
    c->rip = c->next_rip = GUEST_CODE;
    c->gpr[4] = GUEST_STACK;
    c->halted = false;
    c->vmx_nonroot = true;
}

static inline enum cpu_stop run_guest(const uint8_t *code, size_t n)
{
    memcpy(m->ram + GUEST_CODE, code, n);
    cpu_phys_written(c, GUEST_CODE, n);
    enter();
    return cpu_run(c, 2000);
}
#define RUN(...)                                                                                   \
    ({                                                                                             \
        static const uint8_t code_[] = { __VA_ARGS__ };                                            \
        run_guest(code_, sizeof code_);                                                            \
    })

#define CPUID 0x0f, 0xa2

/* The exit happened: host code reached (its HLT executed) and the reason
 * and guest RIP are as expected. */
static inline void expect_exit(enum cpu_stop s, uint32_t reason, uint64_t guest_rip)
{
    ck_assert_msg(s == CPU_STOP_HLT_FOREVER, "stop %d at rip 0x%llx (nonroot %d)", s,
                  (unsigned long long)c->rip, c->vmx_nonroot);
    ck_assert(!c->vmx_nonroot);
    ck_assert_uint_eq(c->rip, HOST_CODE + 1);
    ck_assert_msg(vget(VMCS_vm_exit_reason) == reason, "exit reason %llu, expected %u",
                  (unsigned long long)vget(VMCS_vm_exit_reason), reason);
    ck_assert_msg(vget(VMCS_guest_rip) == guest_rip, "guest RIP 0x%llx, expected 0x%llx",
                  (unsigned long long)vget(VMCS_guest_rip), (unsigned long long)guest_rip);
}

#endif
