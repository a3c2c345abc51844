/* L0's life cycle: it takes over the processor once L1 can run as a VMX
 * guest, builds vmcs01 from L1's state, and runs L1; every VM exit comes
 * back here (the native host of include/nvmx/vmx.h) and goes to the
 * handler for L1's exits, L1's VMX instructions or L2's exits. */
#include "nested_internal.h"

#include <stdarg.h>
#include <stdlib.h>

void l0_unsupported(struct nested *n, const char *fmt, ...)
{
    va_list ap;
    fputs("nvmx: L0: unsupported: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    n->unsupported = true;
    n->stop = CPU_STOP_SHUTDOWN;
}

static void l0_native_exit(void *ctx)
{
    struct nested *n = ctx;
    n->exit_pending = true;
}

void l0_write01(struct nested *n, enum vmcs_field f, uint64_t val)
{
    vmx_root_vmwrite(n->v, f, val);
    n->f01[f] = vmx_root_peek(n->v, f);
}

uint64_t l0_l1_cr0(struct nested *n)
{
    uint64_t mask = vmx_root_peek(n->v, VMCS_cr0_guest_host_mask);
    return (vmx_root_peek(n->v, VMCS_guest_cr0) & ~mask) |
           (vmx_root_peek(n->v, VMCS_cr0_read_shadow) & mask);
}

uint64_t l0_l1_cr4(struct nested *n)
{
    uint64_t mask = vmx_root_peek(n->v, VMCS_cr4_guest_host_mask);
    return (vmx_root_peek(n->v, VMCS_guest_cr4) & ~mask) |
           (vmx_root_peek(n->v, VMCS_cr4_read_shadow) & mask);
}

/* The CR0/CR4 bits VMX operation fixes to 1 (IA32_VMX_CR0/CR4_FIXED0) are
 * L0's: L1 runs with them set and reads its own values from the shadows
 * (SDM 3C "Guest/Host Masks and Read Shadows for CR0 and CR4"). */
void l0_set_l1_cr0(struct nested *n, uint64_t l1_view)
{
    uint64_t fixed0 = vmx_get_caps(n->v)->msr[VMX_MSR_CR0_FIXED0] & 0xffffffffull;
    /* With "unrestricted guest", PE and PG are L1's own (SDM 3C "Unrestricted
     * Guests"). */
    if (n->ept01)
        fixed0 &= ~(CR0_PE | CR0_PG);
    l0_write01(n, VMCS_cr0_guest_host_mask, fixed0);
    l0_write01(n, VMCS_cr0_read_shadow, l1_view);
    l0_write01(n, VMCS_guest_cr0, l1_view | fixed0);
}

void l0_set_l1_cr4(struct nested *n, uint64_t l1_view)
{
    uint64_t fixed0 = vmx_get_caps(n->v)->msr[VMX_MSR_CR4_FIXED0];
    l0_write01(n, VMCS_cr4_guest_host_mask, fixed0);
    l0_write01(n, VMCS_cr4_read_shadow, l1_view);
    l0_write01(n, VMCS_guest_cr4, l1_view | fixed0);
}

void l0_inject_l1(struct nested *n, int vector, bool has_err, uint32_t err)
{
    uint32_t info = VMX_INTR_INFO_VALID | (uint32_t)vector | (3u << VMX_INTR_INFO_TYPE_SHIFT) |
                    (has_err ? VMX_INTR_INFO_ERROR_CODE : 0);
    l0_write01(n, VMCS_vm_entry_intr_info_field, info);
    l0_write01(n, VMCS_vm_entry_exception_error_code, err);
}

/* KVM's skip_emulated_instruction: RIP past the instruction, and the
 * blocking by STI or MOV SS it was under ends with it; in vmcs01 (L1) or
 * in the current vmcs02 (L2). */
static void write_guest(struct nested *n, bool vmcs01, enum vmcs_field f, uint64_t val)
{
    if (vmcs01)
        l0_write01(n, f, val);
    else
        vmx_root_vmwrite(n->v, f, val);
}

static void skip_insn(struct nested *n, bool vmcs01)
{
    struct vmx *v = n->v;
    uint64_t rip = vmx_root_vmread(v, VMCS_guest_rip) + vmx_root_vmread(v, VMCS_vm_exit_instruction_len);
    write_guest(n, vmcs01, VMCS_guest_rip, rip);
    uint64_t intr = vmx_root_vmread(v, VMCS_guest_interruptibility_info);
    if (intr & (VMX_INTERRUPTIBILITY_STI | VMX_INTERRUPTIBILITY_MOV_SS))
        write_guest(n, vmcs01, VMCS_guest_interruptibility_info,
                    intr & ~(uint64_t)(VMX_INTERRUPTIBILITY_STI | VMX_INTERRUPTIBILITY_MOV_SS));
}

void l0_skip_insn(struct nested *n) { skip_insn(n, true); }
void l0_skip_l2_insn(struct nested *n) { skip_insn(n, false); }

/* vmcs01 enters L1 with "load IA32_EFER": the IA-32e mode guest control
 * must agree with the EFER.LMA it loads (SDM 3C "Checks on Guest Control
 * Registers, Debug Registers, and MSRs"). */
void l0_enter_l1(struct nested *n)
{
    struct vmx *v = n->v;
    nested_pkvm_settle(n);
    if (vmx_root_current(v) != n->page[L0_VMCS01])
        vmx_root_vmptrld(v, n->page[L0_VMCS01]);
    uint64_t entry = vmx_root_peek(v, VMCS_vm_entry_controls) & ~(uint64_t)ENTRY_IA32E_MODE_GUEST;
    if (vmx_root_peek(v, VMCS_guest_ia32_efer) & EFER_LMA)
        entry |= ENTRY_IA32E_MODE_GUEST;
    l0_write01(n, VMCS_vm_entry_controls, entry);
    vmx_set_level(v, 1);
    n->in_l2 = false;
    enum vmx_insn_err err = vmx_root_enter(v, !vmx_root_launched(v));
    if (err != VMX_INSN_OK)
        l0_unsupported(n, "VM entry to L1 on vmcs01 failed: VM-instruction error %u (%s)",
                       (unsigned)err, vmx_insn_err_text(err));
}

/* L0's host state: a 64-bit host. It is never loaded (the host is native)
 * but every VM entry checks it (SDM 3C "Checks on Host Control Registers,
 * MSRs and SSP", "Checks on Host Segment and Descriptor-Table Registers"). */
static void write_host_state(struct nested *n)
{
    const struct vmx_caps *hw = vmx_get_caps(n->v);
    l0_write01(n, VMCS_host_cr0, (hw->msr[VMX_MSR_CR0_FIXED0] & 0xffffffffull) | CR0_PE | CR0_PG | CR0_NE);
    l0_write01(n, VMCS_host_cr3, 0);
    l0_write01(n, VMCS_host_cr4, hw->msr[VMX_MSR_CR4_FIXED0] | CR4_PAE);
    l0_write01(n, VMCS_host_cs_selector, 0x08);
    l0_write01(n, VMCS_host_ss_selector, 0x10);
    l0_write01(n, VMCS_host_ds_selector, 0x10);
    l0_write01(n, VMCS_host_es_selector, 0x10);
    l0_write01(n, VMCS_host_fs_selector, 0);
    l0_write01(n, VMCS_host_gs_selector, 0);
    l0_write01(n, VMCS_host_tr_selector, 0x18);
    l0_write01(n, VMCS_host_rip, n->page[L0_VMXON]); /* never jumped to */
    l0_write01(n, VMCS_host_rsp, 0);
}

static uint32_t ctl(struct nested *n, enum vmx_msr m, uint32_t want)
{
    const struct vmx_caps *hw = vmx_get_caps(n->v);
    return (vmx_caps_allowed0(hw, m) | want) & vmx_caps_allowed1(hw, m);
}

/* Build vmcs01 from the processor's state and enter L1 (KVM builds its
 * vmcs01 the same way from the vCPU's registers). */
static void take_over(struct nested *n)
{
    struct vmx *v = n->v;
    struct cpu *c = n->c;
    uint64_t l1_cr0 = c->cr0, l1_cr4 = c->cr4;

    n->took_over = true;
    vmx_root_vmxon(v, n->page[L0_VMXON]);
    vmx_root_vmclear(v, n->page[L0_VMCS01]);
    vmx_root_vmptrld(v, n->page[L0_VMCS01]);
    vmx_root_save_guest(v);
    for (int f = 0; f < VMCS_NFIELDS; f++)
        n->f01[f] = vmx_root_peek(v, (enum vmcs_field)f);

    l0_write01(n, VMCS_pin_based_vm_exec_control, ctl(n, VMX_MSR_PINBASED_CTLS, 0));
    l0_write01(n, VMCS_cpu_based_vm_exec_control, ctl(n, VMX_MSR_PROCBASED_CTLS, PROC_USE_MSR_BITMAPS));
    /* The debug controls too: L1's DR7 and IA32_DEBUGCTL are vmcs01 guest
     * state, which the emulated VM exit to L1 sets to 400H and 0. */
    l0_write01(n, VMCS_vm_exit_controls,
               ctl(n, VMX_MSR_EXIT_CTLS, EXIT_HOST_ADDRESS_SPACE_SIZE | EXIT_SAVE_EFER | EXIT_SAVE_PAT |
                                             EXIT_SAVE_DEBUG_CONTROLS));
    l0_write01(n, VMCS_vm_entry_controls,
               ctl(n, VMX_MSR_ENTRY_CTLS, ENTRY_LOAD_EFER | ENTRY_LOAD_PAT | ENTRY_LOAD_DEBUG_CONTROLS));
    l0_write01(n, VMCS_msr_bitmap, n->page[L0_MSR_BITMAP01]);
    l0_write01(n, VMCS_vmcs_link_pointer, NESTED_INVALID_PTR);
    l0_write01(n, VMCS_exception_bitmap, 0);
    if (n->shadowing)
        nested_shadow_vmcs01(n);
    if (n->pkvm)
        nested_pkvm_vmcs01(n);
    if (n->ept01)
        nested_ept01_vmcs01(n);
    nested_vpid_vmcs01(n);
    if (n->proc2_cpuid) {
        /* the instructions L1's CPUID reports (cpuid.c) */
        l0_write01(n, VMCS_cpu_based_vm_exec_control,
                   n->f01[VMCS_cpu_based_vm_exec_control] | PROC_ACTIVATE_SECONDARY_CONTROLS);
        n->proc2_01 |= n->proc2_cpuid;
        l0_write01(n, VMCS_secondary_vm_exec_control, n->proc2_01);
    }
    write_host_state(n);
    l0_set_l1_cr0(n, l1_cr0);
    l0_set_l1_cr4(n, l1_cr4);
    l0_write01(n, VMCS_guest_activity_state, VMX_ACTIVITY_ACTIVE);
    l0_write01(n, VMCS_guest_pending_dbg_exceptions, 0);
    l0_enter_l1(n);
}

/* L0's MSR bitmap for L1: IA32_FEATURE_CONTROL and the VMX capability
 * MSRs, read and write (SDM 3C "MSR-Bitmap Address"); L1 sees L0's values. */
static void set_msr_intercept(struct nested *n, uint64_t bitmap, uint32_t msr)
{
    for (unsigned off = 0; off <= 2048; off += 2048) {
        uint64_t pa = bitmap + off + (msr >> 3);
        uint64_t b = cpu_phys_read(n->c, pa, 1) | (1u << (msr & 7));
        cpu_phys_write(n->c, pa, 1, b);
    }
}

void l0_msr_intercepts(struct nested *n, uint64_t bitmap)
{
    set_msr_intercept(n, bitmap, MSR_IA32_FEATURE_CONTROL);
    for (uint32_t m = VMX_MSR_FIRST; m < VMX_MSR_FIRST + VMX_MSR_COUNT; m++)
        set_msr_intercept(n, bitmap, m);
}

struct nested *nested_create(struct cpu *c, uint64_t l1_mem, const struct nested_policy *p)
{
    struct nested *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->c = c;
    n->v = (struct vmx *)c->vmx;
    n->pol = *p;
    n->l1_mem = l1_mem;
    vmcs12_view_facts(n);
    _Static_assert(L0_NPAGES * 4096 <= NESTED_L0_AREA_SIZE, "L0's pages fit its area");
    for (unsigned i = 0; i < L0_NPAGES; i++) {
        n->page[i] = l1_mem + (uint64_t)i * 4096;
        for (unsigned o = 0; o < 4096; o += 8)
            cpu_phys_write(c, n->page[i] + o, 8, 0);
    }
    /* Revision identifiers (SDM 3C "Format of the VMCS Region") */
    uint32_t rev = (uint32_t)(vmx_get_caps(n->v)->msr[VMX_MSR_BASIC] & 0x7fffffffu);
    for (unsigned i = L0_VMXON; i <= L0_VMCS02; i++)
        cpu_phys_write(c, n->page[i], 4, rev);
    for (unsigned k = 1; k < VMCS02_POOL_MAX; k++)
        cpu_phys_write(c, l0_vmcs02_page(n, k), 4, rev);
    vmcs02_pool_init(&n->pool, p->vmcs02_pool);
    l0_msr_intercepts(n, n->page[L0_MSR_BITMAP01]);
    n->shadowing = nested_shadow_setup(n);
    n->pkvm = nested_pkvm_setup(n);
    n->ept01 = nested_ept01_setup(n);
    nested_vpid_setup(n);
    nested_cpuid_setup(n);
    nested_caps_filter(vmx_get_caps(n->v), p, &n->caps1);
    if (!n->ept01)
        nested_caps_no_ept(&n->caps1);
    if (!n->shadowing)
        nested_caps_no_shadowing(&n->caps1);
    n->feature_control = c->feature_control;
    n->v12.ptr = NESTED_INVALID_PTR;
    n->vmxon_ptr = NESTED_INVALID_PTR;
    vmx_set_native_host(n->v, l0_native_exit, n);
    return n;
}

void nested_vmcs02_drop(struct nested *n, uint64_t vmcs12)
{
    int k = vmcs02_pool_drop(&n->pool, vmcs12);
    if (k >= 0)
        vmx_root_vmclear(n->v, l0_vmcs02_page(n, (unsigned)k));
}

void nested_vmcs02_drop_all(struct nested *n)
{
    for (unsigned k = 0; k < n->pool.size; k++)
        if (n->pool.slot[k].vmcs12 != VMCS02_POOL_FREE)
            nested_vmcs02_drop(n, n->pool.slot[k].vmcs12);
}

void nested_destroy(struct nested *n)
{
    if (!n)
        return;
    vmx_set_native_host(n->v, NULL, NULL);
    free(n);
}

void nested_set_trace(struct nested *n, vmx_trace_fn fn, void *ctx)
{
    n->trace_fn = fn;
    n->trace_ctx = ctx;
}

const struct nested_stats *nested_get_stats(const struct nested *n) { return &n->stats; }

uint32_t nested_last_abort(const struct nested *n, uint32_t *exit_reason)
{
    if (exit_reason)
        *exit_reason = n ? n->abort_exit_reason : 0;
    return n ? n->abort : 0;
}

bool nested_stopped_unsupported(const struct nested *n) { return n && n->unsupported; }

static bool is_vmx_insn_exit(uint32_t basic)
{
    switch (basic) {
    case VMX_EXIT_vmcall: case VMX_EXIT_vmclear: case VMX_EXIT_vmlaunch:
    case VMX_EXIT_vmptrld: case VMX_EXIT_vmptrst: case VMX_EXIT_vmread:
    case VMX_EXIT_vmresume: case VMX_EXIT_vmwrite: case VMX_EXIT_vmxoff:
    case VMX_EXIT_vmxon: case VMX_EXIT_invept: case VMX_EXIT_invvpid: case VMX_EXIT_vmfunc:
        return true;
    default:
        return false;
    }
}

static void handle_exit(struct nested *n)
{
    if (n->in_l2) {
        nested_handle_l2_exit(n);
        return;
    }
    uint32_t reason = (uint32_t)vmx_root_vmread(n->v, VMCS_vm_exit_reason);
    n->stats.l1_exits++;
    if (reason & VMX_EXIT_REASON_ENTRY_FAILURE) {
        l0_unsupported(n, "VM entry to L1 failed: exit reason 0x%x qualification 0x%llx", reason,
                       (unsigned long long)vmx_root_vmread(n->v, VMCS_exit_qualification));
        return;
    }
    if (is_vmx_insn_exit(reason & 0xffff))
        nested_emulate_vmx(n, reason & 0xffff);
    else
        nested_handle_l1_exit(n, reason & 0xffff);
}

/* Until L1 enables paging it runs on the bare processor: without
 * "unrestricted guest" a VMX guest needs CR0.PE = CR0.PG = 1 (SDM 3C
 * "Checks on Guest Control Registers, Debug Registers, and MSRs"). L0
 * takes over at the first instruction boundary with paging on. */
enum cpu_stop nested_run(struct nested *n, uint64_t max_insns)
{
    struct cpu *c = n->c;
    uint64_t limit = max_insns ? c->stats.insns + max_insns : 0;

    while (!n->took_over) {
        if (n->ept01 || ((c->cr0 & CR0_PG) && (c->cr0 & CR0_PE))) {
            take_over(n);
            break;
        }
        if (limit && c->stats.insns >= limit)
            return CPU_STOP_INSN_LIMIT;
        enum cpu_stop why = cpu_run(c, 1);
        if (why != CPU_STOP_INSN_LIMIT)
            return why;
    }
    for (;;) {
        while (n->exit_pending && n->stop == CPU_STOP_NONE) {
            n->exit_pending = false;
            handle_exit(n);
        }
        if (n->stop != CPU_STOP_NONE)
            return n->stop;
        uint64_t left = 0;
        if (limit) {
            if (c->stats.insns >= limit)
                return CPU_STOP_INSN_LIMIT;
            left = limit - c->stats.insns;
        }
        enum cpu_stop why = cpu_run(c, left);
        if (why != CPU_STOP_HOST)
            return why;
    }
}
