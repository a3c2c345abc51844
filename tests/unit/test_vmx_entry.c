/* VM entry (SDM 3C "VM Entries") on a real CPU in 64-bit VMX root operation:
 * every case starts from a valid VMCS, changes one rule's fields, runs
 * VMLAUNCH and expects exactly one result -- VMfailValid 7 or 8, or a
 * VM-entry failure exit (reason 33/34 with bit 31) with its qualification --
 * and the rule the vmentry trace event names. Successful entries check the
 * guest state, event injection frames and the MSR-load list. */
#include "cpu/cpu_internal.h"
#include "vmx/vmx_internal.h"
#include "harness.h"

#include <check.h>
#include <stdlib.h>

#define RAM_SIZE (8u << 20)
#define PML4 0x1000ull /* PDPT 0x2000, PD 0x3000: 2-MByte identity pages */
#define GDT_BASE 0x5000ull
#define TSS_BASE 0x6000ull
#define ROOT_CODE 0x10000ull
#define HOST_RIP 0x11000ull
#define GUEST_CODE 0x12000ull
#define GUEST_IDT 0x13000ull
#define HANDLER 0x14000ull
#define GUEST_STACK 0x30000ull
#define HOST_STACK 0x40000ull
#define VMCS_PA 0x100000ull
#define VMXON_PA 0x101000ull
#define MSR_AREA 0x102000ull
#define LINK_PA 0x103000ull
#define IO_A 0x104000ull
#define IO_B 0x105000ull
#define MSR_BITMAP 0x106000ull
#define SHADOW_VMCS_PA 0x107000ull   /* revision REV, shadow-VMCS indicator 1 */
#define ORDINARY_VMCS_PA 0x108000ull /* revision REV, indicator 0 */
#define PD32 0x200000ull   /* 32-bit paging: 4-MByte pages */
#define PDPT_PAE 0x201000ull
#define PD_PAE 0x202000ull
#define MAXPHY 39

#define REV 1u
#define PIN_D1 0x16u
#define PROC_D1 0x0401e172u
#define EXIT_D1 0x00036dffu
#define ENTRY_D1 0x000011ffu
#define CR0_HOST (CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG)
#define V_EXIT (EXIT_D1 | (uint32_t)EXIT_HOST_ADDRESS_SPACE_SIZE)
#define V_ENTRY (ENTRY_D1 | (uint32_t)ENTRY_IA32E_MODE_GUEST)
#define NONCANON 0x0000800000000000ull
#define INTR(type, vec) (VMX_INTR_INFO_VALID | ((uint32_t)(type) << 8) | (uint32_t)(vec))
#define ERRC VMX_INTR_INFO_ERROR_CODE

static struct cpu_model model;
static struct cost_model cost;
static struct machine *m;
static struct cpu *c;
static struct vmx *v;
static struct trace_event last_ev;
static unsigned n_entry_events;

static void set_caps(struct vmx_caps *caps)
{
    uint32_t pin1 = PIN_D1 | (uint32_t)PIN_EXTERNAL_INTERRUPT_EXITING | (uint32_t)PIN_NMI_EXITING |
                    (uint32_t)PIN_VIRTUAL_NMIS | (uint32_t)PIN_ACTIVATE_PREEMPTION_TIMER;
    uint32_t proc1 = PROC_D1 | (uint32_t)PROC_INTERRUPT_WINDOW_EXITING | (uint32_t)PROC_USE_TSC_OFFSETTING |
                     (uint32_t)PROC_HLT_EXITING | (uint32_t)PROC_NMI_WINDOW_EXITING |
                     (uint32_t)PROC_USE_IO_BITMAPS | (uint32_t)PROC_USE_MSR_BITMAPS |
                     (uint32_t)PROC_MONITOR_TRAP_FLAG | (uint32_t)PROC_ACTIVATE_SECONDARY_CONTROLS;
    uint32_t exit1 = EXIT_D1 | (uint32_t)EXIT_HOST_ADDRESS_SPACE_SIZE | (uint32_t)EXIT_LOAD_PAT |
                     (uint32_t)EXIT_LOAD_EFER | (uint32_t)EXIT_SAVE_PREEMPTION_TIMER |
                     (uint32_t)EXIT_ACK_INTERRUPT_ON_EXIT;
    uint32_t entry1 = ENTRY_D1 | (uint32_t)ENTRY_IA32E_MODE_GUEST | (uint32_t)ENTRY_LOAD_PAT |
                      (uint32_t)ENTRY_LOAD_EFER | (uint32_t)ENTRY_LOAD_DEBUG_CONTROLS;
    memset(caps, 0, sizeof *caps);
    /* revision 1, 4-KByte region, write-back, INS/OUTS info, TRUE_ MSRs */
    caps->msr[VMX_MSR_BASIC] = REV | (4096ull << 32) | (6ull << 50) | (1ull << 54) | (1ull << 55);
    caps->msr[VMX_MSR_PINBASED_CTLS] = PIN_D1 | ((uint64_t)pin1 << 32);
    caps->msr[VMX_MSR_PROCBASED_CTLS] = PROC_D1 | ((uint64_t)proc1 << 32);
    caps->msr[VMX_MSR_EXIT_CTLS] = EXIT_D1 | ((uint64_t)exit1 << 32);
    caps->msr[VMX_MSR_ENTRY_CTLS] = ENTRY_D1 | ((uint64_t)entry1 << 32);
    /* TRUE_ forms: CR3-load/store exiting, "save debug controls" and "load
     * debug controls" may be 0 (as on real processors). */
    caps->msr[VMX_MSR_TRUE_PINBASED_CTLS] = caps->msr[VMX_MSR_PINBASED_CTLS];
    caps->msr[VMX_MSR_TRUE_PROCBASED_CTLS] = (PROC_D1 & ~0x18000u) | ((uint64_t)proc1 << 32);
    caps->msr[VMX_MSR_TRUE_EXIT_CTLS] = (EXIT_D1 & ~4u) | ((uint64_t)exit1 << 32);
    caps->msr[VMX_MSR_TRUE_ENTRY_CTLS] = (ENTRY_D1 & ~4u) | ((uint64_t)entry1 << 32);
    /* timer rate 5, HLT/shutdown/wait-for-SIPI, 4 CR3 targets, VMWRITE any */
    caps->msr[VMX_MSR_MISC] = 5 | (7ull << 6) | (4ull << 16) | (1ull << 29);
    caps->msr[VMX_MSR_CR0_FIXED0] = CR0_PE | CR0_NE | CR0_PG;
    caps->msr[VMX_MSR_CR0_FIXED1] = 0xffffffffull;
    caps->msr[VMX_MSR_CR4_FIXED0] = CR4_VMXE;
    caps->msr[VMX_MSR_CR4_FIXED1] = 0x776fffull;
    caps->msr[VMX_MSR_VMCS_ENUM] = 0x4c;
    caps->msr[VMX_MSR_PROCBASED_CTLS2] =
        (uint64_t)((uint32_t)PROC2_DESCRIPTOR_TABLE_EXITING | (uint32_t)PROC2_ENABLE_RDTSCP |
                   (uint32_t)PROC2_WBINVD_EXITING | (uint32_t)PROC2_VMCS_SHADOWING) << 32;
}

static void on_event(void *ctx, const struct trace_event *ev)
{
    (void)ctx;
    if (ev->type == TRACE_EV_vmentry) {
        last_ev = *ev;
        n_entry_events++;
    }
}

static void put(enum vmcs_field f, uint64_t val) { vmcs_set(v, f, val); }

static void set_seg(unsigned i, uint16_t sel, uint64_t base, uint32_t limit, uint32_t ar)
{
    put((enum vmcs_field)(VMCS_guest_es_selector + i), sel);
    put((enum vmcs_field)(VMCS_guest_es_base + i), base);
    put((enum vmcs_field)(VMCS_guest_es_limit + i), limit);
    put((enum vmcs_field)(VMCS_guest_es_ar_bytes + i), ar);
}

/* A valid VMCS: a 64-bit host and a 64-bit guest that share the flat GDT
 * and page tables of the root-mode set-up. */
static void valid_vmcs(void)
{
    put(VMCS_pin_based_vm_exec_control, PIN_D1);
    put(VMCS_cpu_based_vm_exec_control, PROC_D1);
    put(VMCS_vm_exit_controls, V_EXIT);
    put(VMCS_vm_entry_controls, V_ENTRY);
    put(VMCS_cr3_target_count, 0);
    put(VMCS_vmcs_link_pointer, ~0ull);

    put(VMCS_host_cr0, CR0_HOST);
    put(VMCS_host_cr3, PML4);
    put(VMCS_host_cr4, CR4_PAE | CR4_VMXE);
    put(VMCS_host_cs_selector, 0x08);
    put(VMCS_host_ss_selector, 0x10);
    put(VMCS_host_ds_selector, 0x10);
    put(VMCS_host_es_selector, 0x10);
    put(VMCS_host_fs_selector, 0x10);
    put(VMCS_host_gs_selector, 0x10);
    put(VMCS_host_tr_selector, 0x20);
    put(VMCS_host_tr_base, TSS_BASE);
    put(VMCS_host_gdtr_base, GDT_BASE);
    put(VMCS_host_idtr_base, 0);
    put(VMCS_host_rip, HOST_RIP);
    put(VMCS_host_rsp, HOST_STACK);
    put(VMCS_host_ia32_pat, 0x0007040600070406ull);
    put(VMCS_host_ia32_efer, EFER_LME | EFER_LMA);

    put(VMCS_guest_cr0, CR0_HOST);
    put(VMCS_guest_cr3, PML4);
    put(VMCS_guest_cr4, CR4_PAE | CR4_VMXE);
    put(VMCS_guest_dr7, 0x400);
    set_seg(SEG_CS, 0x08, 0, 0xffffffffu, 0xa09b);
    for (unsigned s = 0; s < SEG_NSEGS; s++)
        if (s != SEG_CS)
            set_seg(s, 0x10, 0, 0xffffffffu, 0xc093);
    set_seg(6, 0, 0, 0, AR_UNUSABLE);   /* LDTR */
    set_seg(7, 0x20, TSS_BASE, 0x67, 0x8b); /* TR: 64-bit busy TSS */
    put(VMCS_guest_gdtr_base, GDT_BASE);
    put(VMCS_guest_gdtr_limit, 0x27);
    put(VMCS_guest_idtr_base, GUEST_IDT);
    put(VMCS_guest_idtr_limit, 0xfff);
    put(VMCS_guest_rip, GUEST_CODE);
    put(VMCS_guest_rsp, GUEST_STACK);
    put(VMCS_guest_rflags, FL_FIXED1);
    put(VMCS_guest_ia32_pat, 0x0007040600070406ull);
    put(VMCS_guest_ia32_efer, EFER_LME | EFER_LMA);
}

/* 64-bit interrupt gate for every vector -> HANDLER */
static void write_idt(void)
{
    uint64_t lo = (HANDLER & 0xffff) | (0x08ull << 16) | (0x8eull << 40) | (0xe0ull << 40) |
                  ((HANDLER >> 16 & 0xffff) << 48);
    for (unsigned i = 0; i < 256; i++) {
        cpu_write_phys(c, GUEST_IDT + 16 * i, 8, lo);
        cpu_write_phys(c, GUEST_IDT + 16 * i + 8, 8, HANDLER >> 32);
    }
}

static void setup(void)
{
    th_model_init(&model, "vmx-entry-test");
    th_add_leaf(&model, 0, 0xd, 0x756e6547, 0x6c65746e, 0x49656e69);
    th_add_leaf(&model, 1, 0x000906ea, 0x00000800, 1u << 5,
                (1u << 3) | (1u << 4) | (1u << 6) | (1u << 13));
    th_add_leaf(&model, 0x80000000u, 0x80000008u, 0, 0, 0);
    th_add_leaf(&model, 0x80000001u, 0, 0, 0, (1u << 11) | (1u << 20) | (1u << 29));
    th_add_leaf(&model, 0x80000008u, 0x3000 | MAXPHY, 0, 0, 0);
    m = th_machine_create(RAM_SIZE, true);
    c = th_cpu_create(m, &model, &cost);

    th_long_mode_2m(c, PML4, 4, true, GDT_BASE);
    /* GDT entry 4 (0x20): 64-bit busy TSS, 16 bytes */
    cpu_write_phys(c, GDT_BASE + 0x20, 8,
                   0x67 | ((TSS_BASE & 0xffffff) << 16) | (0x8bull << 40));
    cpu_write_phys(c, GDT_BASE + 0x28, 8, 0);
    c->cr4 |= CR4_VMXE;
    c->gpr[4] = HOST_STACK;
    cpu_write_phys(c, ROOT_CODE, 4, 0x00c2010f); /* vmlaunch */
    cpu_write_phys(c, HOST_RIP, 1, 0xf4);        /* hlt */
    /* guest: mov eax, 0x600df00d; hlt */
    static const uint8_t guest[] = { 0xb8, 0x0d, 0xf0, 0x0d, 0x60, 0xf4 };
    for (unsigned i = 0; i < sizeof guest; i++)
        cpu_write_phys(c, GUEST_CODE + i, 1, guest[i]);
    cpu_write_phys(c, HANDLER, 1, 0xf4);
    cpu_write_phys(c, SHADOW_VMCS_PA, 4, REV | VMCS_SHADOW_INDICATOR);
    cpu_write_phys(c, ORDINARY_VMCS_PA, 4, REV);
    write_idt();

    struct vmx_caps caps;
    set_caps(&caps);
    char err[256];
    ck_assert_msg(vmx_caps_validate(&caps, err, sizeof err), "test caps rejected: %s", err);
    v = vmx_attach(c, &caps);
    ck_assert_ptr_nonnull(v);
    v->in_vmx_operation = true;
    v->vmxon_ptr = VMXON_PA;
    v->current_vmcs = VMCS_PA;
    v->launch_state = VMCS_STATE_CLEAR;
    cpu_write_phys(c, VMCS_PA, 4, REV);
    memset(&last_ev, 0, sizeof last_ev);
    n_entry_events = 0;
    vmx_set_trace(v, on_event, NULL);
    valid_vmcs();
}

static void teardown(void)
{
    vmx_detach(c);
    cpu_destroy(c);
    machine_destroy(m);
}

enum outcome { ENTERED, FAIL_VALID, ENTRY_FAIL, OTHER };
static const char *const outcome_names[] = { "entered", "VMfailValid", "entry-failure exit", "other" };

struct result {
    enum outcome kind;
    uint64_t code; /* VM-instruction error, or exit reason */
    uint64_t qual;
};

/* Run VMLAUNCH at ROOT_CODE and classify what happened. */
static struct result launch(void)
{
    struct result r = { OTHER, 0, 0 };
    c->rip = ROOT_CODE;
    cpu_set_rflags(c, FL_FIXED1 | FL_CF | FL_ZF); /* VMsucceed/VMfail must rewrite them */
    cpu_run(c, 1);
    uint64_t fl = cpu_get_rflags(c);
    if (c->vmx_nonroot) {
        r.kind = ENTERED;
    } else if (c->rip == ROOT_CODE + 3 && (fl & FL_ZF) && !(fl & FL_CF)) {
        r.kind = FAIL_VALID;
        r.code = vmcs_get(v, VMCS_vm_instruction_error);
    } else if (c->rip == HOST_RIP) {
        r.kind = ENTRY_FAIL;
        r.code = vmcs_get(v, VMCS_vm_exit_reason);
        r.qual = vmcs_get(v, VMCS_exit_qualification);
    }
    return r;
}

#define FAIL_CTL(...) FAIL_VALID, VMX_INSN_ERR_ENTRY_INVALID_CONTROL, 0
#define FAIL_HOST FAIL_VALID, VMX_INSN_ERR_ENTRY_INVALID_HOST_STATE, 0
#define FAIL_GUEST(q) ENTRY_FAIL, (0x80000000u | 33u), (q)
#define FAIL_MSR(q) ENTRY_FAIL, (0x80000000u | 34u), (q)
#define PASS ENTERED, 0, 0

struct set {
    int f; /* enum vmcs_field, -1 ends */
    uint64_t val;
};

struct entry_case {
    const char *name;
    struct set sets[6];
    enum outcome kind;
    uint64_t code, qual;
    const char *check; /* the rule the trace must name (NULL: not checked) */
};

static void expect(const char *name, struct result r, enum outcome kind, uint64_t code, uint64_t qual,
                   const char *check)
{
    ck_assert_msg(r.kind == kind && r.code == code && r.qual == qual,
                  "%s: got %s code 0x%llx qual %llu, expected %s code 0x%llx qual %llu (rule: %s)", name,
                  outcome_names[r.kind], (unsigned long long)r.code, (unsigned long long)r.qual,
                  outcome_names[kind], (unsigned long long)code, (unsigned long long)qual,
                  last_ev.vmentry.check ? last_ev.vmentry.check : "-");
    ck_assert_uint_eq(n_entry_events, 1);
    ck_assert_msg(!last_ev.vmentry.ok == (kind != ENTERED), "%s: trace ok %d", name,
                  last_ev.vmentry.ok);
    if (check)
        ck_assert_msg(last_ev.vmentry.check && strcmp(last_ev.vmentry.check, check) == 0, "%s: trace names rule '%s', expected '%s'",
                      name, last_ev.vmentry.check ? last_ev.vmentry.check : "(none)", check);
}

static void run_case(const struct entry_case *k)
{
    for (unsigned i = 0; i < 6 && k->sets[i].f >= 0; i++)
        put((enum vmcs_field)k->sets[i].f, k->sets[i].val);
    expect(k->name, launch(), k->kind, k->code, k->qual, k->check);
}

#define S(field, value) { VMCS_##field, (value) }
#define END { -1, 0 }
/* "activate secondary controls" + "VMCS shadowing" (two sets) */
#define SHADOWING                                                                                  \
    S(cpu_based_vm_exec_control, PROC_D1 | (uint32_t)PROC_ACTIVATE_SECONDARY_CONTROLS),           \
        S(secondary_vm_exec_control, PROC2_VMCS_SHADOWING)

/* ---- Checks on VMX Controls (SDM 3C "Checks on VMX Controls") ----------------------- */

static const struct entry_case control_cases[] = {
    /* "Reserved bits in the pin-based VM-execution controls must be set
     * properly. Software may consult the VMX capability MSRs to determine
     * the proper settings." */
    { "pin default1 bit clear", { S(pin_based_vm_exec_control, PIN_D1 & ~2u), END }, FAIL_CTL(),
      "pin-based controls vs allowed-0/1 settings" },
    { "pin unsupported bit set", { S(pin_based_vm_exec_control, PIN_D1 | (1u << 8)), END }, FAIL_CTL(),
      "pin-based controls vs allowed-0/1 settings" },
    /* "Reserved bits in the primary processor-based VM-execution controls
     * must be set properly." With IA32_VMX_BASIC[55] the TRUE_ MSR decides:
     * CR3-load/store exiting may be 0. */
    { "proc default1 bit clear", { S(cpu_based_vm_exec_control, PROC_D1 & ~2u), END }, FAIL_CTL(),
      "primary processor-based controls vs allowed-0/1 settings" },
    { "proc TPR shadow unsupported", { S(cpu_based_vm_exec_control, PROC_D1 | (uint32_t)PROC_USE_TPR_SHADOW), END },
      FAIL_CTL(), "primary processor-based controls vs allowed-0/1 settings" },
    { "proc CR3 exiting 0 allowed by TRUE_PROCBASED", { S(cpu_based_vm_exec_control, PROC_D1 & ~0x18000u), END },
      PASS, NULL },
    /* "If the 'activate secondary controls' primary processor-based
     * VM-execution control is 1, reserved bits in the secondary
     * processor-based VM-execution controls must be cleared." */
    { "proc2 EPT unsupported",
      { S(cpu_based_vm_exec_control, PROC_D1 | (uint32_t)PROC_ACTIVATE_SECONDARY_CONTROLS),
        S(secondary_vm_exec_control, PROC2_ENABLE_EPT), END },
      FAIL_CTL(), "secondary processor-based controls vs allowed-0/1 settings" },
    { "proc2 ignored without activation", { S(secondary_vm_exec_control, PROC2_ENABLE_EPT), END }, PASS, NULL },
    /* "If the 'VMCS shadowing' VM-execution control is 1, the VMREAD-bitmap
     * and VMWRITE-bitmap addresses must each satisfy: bits 11:0 of the
     * address must be 0; the address must not set any bits beyond the
     * processor's physical-address width." (The link pointer stays all ones:
     * VMCS shadowing does not require a shadow VMCS.) */
    { "VMREAD bitmap misaligned", { SHADOWING, S(vmread_bitmap, IO_A + 0x800), S(vmwrite_bitmap, IO_B), END },
      FAIL_CTL(), "VMREAD-bitmap address 4-KByte aligned, within physical-address width" },
    { "VMWRITE bitmap beyond MAXPHYADDR", { SHADOWING, S(vmread_bitmap, IO_A), S(vmwrite_bitmap, 1ull << MAXPHY), END },
      FAIL_CTL(), "VMWRITE-bitmap address 4-KByte aligned, within physical-address width" },
    { "VMCS shadowing, bitmaps valid", { SHADOWING, S(vmread_bitmap, IO_A), S(vmwrite_bitmap, IO_B), END }, PASS, NULL },
    { "bitmaps ignored without VMCS shadowing",
      { S(cpu_based_vm_exec_control, PROC_D1 | (uint32_t)PROC_ACTIVATE_SECONDARY_CONTROLS),
        S(vmread_bitmap, IO_A + 1), S(vmwrite_bitmap, ~0ull), END }, PASS, NULL },
    /* "The CR3-target count must not be greater than 4" (IA32_VMX_MISC). */
    { "CR3-target count 5", { S(cr3_target_count, 5), END }, FAIL_CTL(), "CR3-target count <= IA32_VMX_MISC[24:16]" },
    { "CR3-target count 4", { S(cr3_target_count, 4), END }, PASS, NULL },
    /* "If the 'NMI exiting' VM-execution control is 0, the 'virtual NMIs'
     * VM-execution control must be 0." */
    { "virtual NMIs without NMI exiting", { S(pin_based_vm_exec_control, PIN_D1 | (uint32_t)PIN_VIRTUAL_NMIS), END },
      FAIL_CTL(), "'virtual NMIs' requires 'NMI exiting'" },
    /* "If the 'virtual NMIs' VM-execution control is 0, the 'NMI-window
     * exiting' VM-execution control must be 0." */
    { "NMI-window exiting without virtual NMIs",
      { S(cpu_based_vm_exec_control, PROC_D1 | (uint32_t)PROC_NMI_WINDOW_EXITING), END }, FAIL_CTL(),
      "'NMI-window exiting' requires 'virtual NMIs'" },
    { "NMI-window exiting with virtual NMIs",
      { S(cpu_based_vm_exec_control, PROC_D1 | (uint32_t)PROC_NMI_WINDOW_EXITING),
        S(pin_based_vm_exec_control, PIN_D1 | (uint32_t)PIN_VIRTUAL_NMIS | (uint32_t)PIN_NMI_EXITING), END },
      PASS, NULL },
    /* "If the 'use MSR bitmaps' VM-execution control is 1, bits 11:0 of the
     * MSR-bitmap address must be 0." */
    { "MSR bitmap misaligned",
      { S(cpu_based_vm_exec_control, PROC_D1 | (uint32_t)PROC_USE_MSR_BITMAPS), S(msr_bitmap, MSR_BITMAP + 8), END },
      FAIL_CTL(), "MSR-bitmap address 4-KByte aligned, within physical-address width" },
    { "I/O bitmap B misaligned",
      { S(cpu_based_vm_exec_control, PROC_D1 | (uint32_t)PROC_USE_IO_BITMAPS), S(io_bitmap_a, IO_A),
        S(io_bitmap_b, IO_B + 0x800), END },
      FAIL_CTL(), "I/O-bitmap B address 4-KByte aligned, within physical-address width" },
    /* "If the 'activate VMX-preemption timer' VM-execution control is 0, the
     * 'save VMX-preemption timer value' VM-exit control must also be 0." */
    { "save preemption timer without timer",
      { S(vm_exit_controls, V_EXIT | (uint32_t)EXIT_SAVE_PREEMPTION_TIMER), END }, FAIL_CTL(),
      "'save VMX-preemption timer value' requires 'activate VMX-preemption timer'" },
    /* "Reserved bits in the VM-exit controls must be set properly." */
    { "exit default1 bit clear", { S(vm_exit_controls, V_EXIT & ~1u), END }, FAIL_CTL(),
      "VM-exit controls vs allowed-0/1 settings" },
    /* VM-exit MSR-store/-load: "bits 3:0 of the address must be 0" */
    { "exit MSR-store misaligned", { S(vm_exit_msr_store_count, 1), S(vmexit_msr_store_addr, MSR_AREA + 8), END },
      FAIL_CTL(), "VM-exit MSR-store address 16-byte aligned, area within physical-address width" },
    { "exit MSR-load misaligned", { S(vm_exit_msr_load_count, 1), S(vmexit_msr_load_addr, MSR_AREA + 4), END },
      FAIL_CTL(), "VM-exit MSR-load address 16-byte aligned, area within physical-address width" },
    { "exit MSR-store misaligned but count 0", { S(vmexit_msr_store_addr, MSR_AREA + 8), END }, PASS, NULL },
    /* "Reserved bits in the VM-entry controls must be set properly." */
    { "entry default1 bit clear", { S(vm_entry_controls, V_ENTRY & ~1u), END }, FAIL_CTL(),
      "VM-entry controls vs allowed-0/1 settings" },
    { "entry to SMM", { S(vm_entry_controls, V_ENTRY | (uint32_t)ENTRY_ENTRY_TO_SMM), END }, FAIL_CTL(),
      "VM-entry controls vs allowed-0/1 settings" },
    { "entry MSR-load misaligned", { S(vm_entry_msr_load_count, 1), S(vmentry_msr_load_addr, MSR_AREA + 1), END },
      FAIL_CTL(), "VM-entry MSR-load address 16-byte aligned, area within physical-address width" },
    /* Event injection: "Value 1 is reserved on all logical processors" */
    { "inject type 1", { S(vm_entry_intr_info_field, INTR(1, 32)), END }, FAIL_CTL(),
      "interruption type 1 is reserved" },
    /* "if the interruption type is non-maskable interrupt (NMI), the vector
     * is 2" */
    { "inject NMI vector 3", { S(vm_entry_intr_info_field, INTR(EVT_NMI, 3)), END }, FAIL_CTL(),
      "injected NMI has vector 2" },
    /* "if the interruption type is hardware exception, the vector is at most
     * 31" */
    { "inject HW exception 32", { S(vm_entry_intr_info_field, INTR(EVT_HW_EXC, 32)), END }, FAIL_CTL(),
      "injected hardware exception has vector <= 31" },
    /* "if the interruption type is other event, the vector is 0" */
    { "inject other event vector 1", { S(vm_entry_intr_info_field, INTR(7, 1)), END }, FAIL_CTL(),
      "injected other event has vector 0" },
    /* deliver-error-code "is 1 if ... the interruption type is hardware
     * exception ... and the vector indicates an exception that would
     * normally deliver an error code"; "0 if ... the type is not hardware
     * exception" */
    { "inject external interrupt with error code", { S(vm_entry_intr_info_field, INTR(EVT_EXTINT, 0x40) | ERRC),
      S(guest_rflags, FL_FIXED1 | FL_IF), END }, FAIL_CTL(), "deliver-error-code must be 0 for this event" },
    /* "Reserved bits in the field (30:12) are 0." */
    { "inject reserved bit 12", { S(vm_entry_intr_info_field, INTR(EVT_HW_EXC, 6) | (1u << 12)), END }, FAIL_CTL(),
      "VM-entry interruption-information bits 30:12 are 0" },
    { "inject reserved bit 30", { S(vm_entry_intr_info_field, INTR(EVT_HW_EXC, 6) | (1u << 30)), END }, FAIL_CTL(),
      "VM-entry interruption-information bits 30:12 are 0" },
    /* "If the deliver-error-code bit (bit 11) is 1, bits 31:16 of the
     * VM-entry exception error-code field are 0." */
    { "inject #GP error code 0x10000", { S(vm_entry_intr_info_field, INTR(EVT_HW_EXC, 13) | ERRC),
      S(vm_entry_exception_error_code, 0x10000), END }, FAIL_CTL(), "VM-entry exception error code bits 31:16 are 0" },
    { "inject #GP error code 0xffff", { S(vm_entry_intr_info_field, INTR(EVT_HW_EXC, 13) | ERRC),
      S(vm_entry_exception_error_code, 0xffff), END }, PASS, NULL },
};

START_TEST(vmlaunch_control_check)
{
    run_case(&control_cases[_i]);
}
END_TEST

/* ---- Checks on Host Control Registers, MSRs and segments ------------------------------ */

static const struct entry_case host_cases[] = {
    /* "The CR0 field must not set any bit to a value not supported in VMX
     * operation" */
    { "host CR0.PE clear", { S(host_cr0, CR0_HOST & ~CR0_PE), END }, FAIL_HOST, "host CR0 vs IA32_VMX_CR0_FIXED0/1" },
    { "host CR0 bit 32", { S(host_cr0, CR0_HOST | (1ull << 32)), END }, FAIL_HOST,
      "host CR0 vs IA32_VMX_CR0_FIXED0/1" },
    /* "The CR4 field must not set any bit to a value not supported in VMX
     * operation" */
    { "host CR4.VMXE clear", { S(host_cr4, CR4_PAE), END }, FAIL_HOST, "host CR4 vs IA32_VMX_CR4_FIXED0/1" },
    { "host CR4.LA57", { S(host_cr4, CR4_PAE | CR4_VMXE | CR4_LA57), END }, FAIL_HOST,
      "host CR4 vs IA32_VMX_CR4_FIXED0/1" },
    /* "bits 63:52 and bits in the range 51:32 beyond the processor's
     * physical-address width must be 0" */
    { "host CR3 at 1 << MAXPHYADDR", { S(host_cr3, 1ull << MAXPHY), END }, FAIL_HOST,
      "host CR3 within physical-address width" },
    { "host CR3 below 1 << MAXPHYADDR", { S(host_cr3, (1ull << MAXPHY) - 0x1000), END }, PASS, NULL },
    /* "The IA32_SYSENTER_ESP field and the IA32_SYSENTER_EIP field must
     * each contain a canonical address." */
    { "host SYSENTER_ESP non-canonical", { S(host_ia32_sysenter_esp, NONCANON), END }, FAIL_HOST,
      "host IA32_SYSENTER_ESP canonical" },
    { "host SYSENTER_EIP non-canonical", { S(host_ia32_sysenter_eip, ~NONCANON), END }, FAIL_HOST,
      "host IA32_SYSENTER_EIP canonical" },
    /* "If the 'load IA32_PAT' VM-exit control is 1, the value of the field
     * for the IA32_PAT MSR must be one that could be written by WRMSR" */
    { "host PAT type 2", { S(vm_exit_controls, V_EXIT | (uint32_t)EXIT_LOAD_PAT),
      S(host_ia32_pat, 0x0007040600070402ull), END }, FAIL_HOST, "host IA32_PAT memory types valid" },
    { "host PAT type 8", { S(vm_exit_controls, V_EXIT | (uint32_t)EXIT_LOAD_PAT),
      S(host_ia32_pat, 0x0807040600070406ull), END }, FAIL_HOST, "host IA32_PAT memory types valid" },
    { "host PAT not loaded", { S(host_ia32_pat, 0x0202020202020202ull), END }, PASS, NULL },
    /* "If the 'load IA32_EFER' VM-exit control is 1, bits reserved in the
     * IA32_EFER MSR must be 0 ... the LMA and LME bits ... must each be that
     * of the 'host address-space size' VM-exit control." */
    { "host EFER reserved bit 1", { S(vm_exit_controls, V_EXIT | (uint32_t)EXIT_LOAD_EFER),
      S(host_ia32_efer, EFER_LME | EFER_LMA | 2), END }, FAIL_HOST, "host IA32_EFER reserved bits 0" },
    { "host EFER.LMA clear", { S(vm_exit_controls, V_EXIT | (uint32_t)EXIT_LOAD_EFER),
      S(host_ia32_efer, EFER_LME), END }, FAIL_HOST, "host IA32_EFER.LMA and LME equal 'host address-space size'" },
    { "host EFER.LME clear", { S(vm_exit_controls, V_EXIT | (uint32_t)EXIT_LOAD_EFER),
      S(host_ia32_efer, EFER_LMA), END }, FAIL_HOST, "host IA32_EFER.LMA and LME equal 'host address-space size'" },
    { "host EFER valid", { S(vm_exit_controls, V_EXIT | (uint32_t)EXIT_LOAD_EFER),
      S(host_ia32_efer, EFER_LME | EFER_LMA | EFER_NXE | EFER_SCE), END }, PASS, NULL },
    /* "In the selector field for each of CS, SS, DS, ES, FS, GS and TR, the
     * RPL (bits 1:0) and the TI flag (bit 2) must be 0." */
    { "host CS RPL 3", { S(host_cs_selector, 0x0b), END }, FAIL_HOST, "host selector RPL and TI are 0" },
    { "host SS TI", { S(host_ss_selector, 0x14), END }, FAIL_HOST, "host selector RPL and TI are 0" },
    { "host GS RPL 1", { S(host_gs_selector, 0x11), END }, FAIL_HOST, "host selector RPL and TI are 0" },
    { "host TR TI", { S(host_tr_selector, 0x24), END }, FAIL_HOST, "host selector RPL and TI are 0" },
    /* "The selector fields for CS and TR cannot be 0000H." */
    { "host CS null", { S(host_cs_selector, 0), END }, FAIL_HOST, "host CS selector not 0000H" },
    { "host TR null", { S(host_tr_selector, 0), END }, FAIL_HOST, "host TR selector not 0000H" },
    /* "The selector field for SS cannot be 0000H if the 'host address-space
     * size' VM-exit control is 0." -- a 64-bit host may have it. */
    { "host SS null, 64-bit host", { S(host_ss_selector, 0), END }, PASS, NULL },
    /* "the base-address fields for FS, GS, GDTR, IDTR, and TR must contain
     * canonical addresses." */
    { "host FS base non-canonical", { S(host_fs_base, NONCANON), END }, FAIL_HOST, "host base address canonical" },
    { "host GS base non-canonical", { S(host_gs_base, NONCANON), END }, FAIL_HOST, "host base address canonical" },
    { "host GDTR base non-canonical", { S(host_gdtr_base, NONCANON), END }, FAIL_HOST, "host base address canonical" },
    { "host IDTR base non-canonical", { S(host_idtr_base, NONCANON), END }, FAIL_HOST, "host base address canonical" },
    { "host TR base non-canonical", { S(host_tr_base, NONCANON), END }, FAIL_HOST, "host base address canonical" },
    /* "If the logical processor is in IA-32e mode ... the 'host
     * address-space size' VM-exit control must be 1." */
    { "32-bit host from IA-32e mode", { S(vm_exit_controls, EXIT_D1), END }, FAIL_HOST,
      "IA32_EFER.LMA = 1 needs 'host address-space size'" },
    /* "If the 'host address-space size' VM-exit control is 1: bit 5 of the
     * CR4 field (CR4.PAE) must be 1; the RIP field must contain a canonical
     * address." */
    { "64-bit host without CR4.PAE", { S(host_cr4, CR4_VMXE), END }, FAIL_HOST, "64-bit host requires CR4.PAE" },
    { "64-bit host RIP non-canonical", { S(host_rip, NONCANON), END }, FAIL_HOST, "64-bit host RIP canonical" },
};

START_TEST(vmlaunch_host_check)
{
    run_case(&host_cases[_i]);
}
END_TEST

/* ---- Checks on the Guest-State Area ----------------------------------------------------- */

#define Q0 0
static const struct entry_case guest_cases[] = {
    /* "The CR0 field must not set any bit to a value not supported in VMX
     * operation" */
    { "guest CR0.NE clear", { S(guest_cr0, CR0_HOST & ~CR0_NE), END }, FAIL_GUEST(Q0),
      "guest CR0 vs IA32_VMX_CR0_FIXED0/1" },
    { "guest CR0.PG clear", { S(guest_cr0, CR0_HOST & ~CR0_PG), END }, FAIL_GUEST(Q0),
      "guest CR0 vs IA32_VMX_CR0_FIXED0/1" },
    /* "The CR4 field must not set any bit to a value not supported in VMX
     * operation" */
    { "guest CR4.VMXE clear", { S(guest_cr4, CR4_PAE), END }, FAIL_GUEST(Q0), "guest CR4 vs IA32_VMX_CR4_FIXED0/1" },
    /* "If the 'load debug controls' VM-entry control is 1, bits reserved in
     * the IA32_DEBUGCTL MSR must be 0" */
    { "guest DEBUGCTL bit 2", { S(vm_entry_controls, V_ENTRY | (uint32_t)ENTRY_LOAD_DEBUG_CONTROLS),
      S(guest_ia32_debugctl, 4), END }, FAIL_GUEST(Q0), "guest IA32_DEBUGCTL reserved bits 0" },
    { "guest DEBUGCTL bit 16", { S(vm_entry_controls, V_ENTRY | (uint32_t)ENTRY_LOAD_DEBUG_CONTROLS),
      S(guest_ia32_debugctl, 1u << 16), END }, FAIL_GUEST(Q0), "guest IA32_DEBUGCTL reserved bits 0" },
    /* On this CPU every bit but BTF is reserved (WRMSR #GP): LBR too. */
    { "guest DEBUGCTL LBR", { S(vm_entry_controls, V_ENTRY | (uint32_t)ENTRY_LOAD_DEBUG_CONTROLS),
      S(guest_ia32_debugctl, 1), END }, FAIL_GUEST(Q0), "guest IA32_DEBUGCTL reserved bits 0" },
    { "guest DEBUGCTL LBR not loaded", { S(vm_entry_controls, V_ENTRY & ~(uint32_t)ENTRY_LOAD_DEBUG_CONTROLS),
      S(guest_ia32_debugctl, 1), END }, PASS, NULL },
    { "guest DEBUGCTL BTF", { S(vm_entry_controls, V_ENTRY | (uint32_t)ENTRY_LOAD_DEBUG_CONTROLS),
      S(guest_ia32_debugctl, 2), END }, PASS, NULL },
    /* "If the 'IA-32e mode guest' VM-entry control is 1, bit 31 in the CR0
     * field (PG) and bit 5 in the CR4 field (PAE) must each be 1." */
    { "IA-32e guest without CR4.PAE", { S(guest_cr4, CR4_VMXE), END }, FAIL_GUEST(Q0),
      "IA-32e mode guest requires CR0.PG and CR4.PAE" },
    /* "If the 'IA-32e mode guest' VM-entry control is 0, bit 17 in the CR4
     * field (PCIDE) must be 0." */
    { "32-bit guest with CR4.PCIDE", { S(vm_entry_controls, ENTRY_D1),
      S(guest_cr4, CR4_PAE | CR4_VMXE | CR4_PCIDE), END }, FAIL_GUEST(Q0),
      "guest CR4.PCIDE requires IA-32e mode guest" },
    /* "The CR3 field must be such that bits 63:52 and bits in the range
     * 51:32 beyond the processor's physical-address width are 0." */
    { "guest CR3 at 1 << MAXPHYADDR", { S(guest_cr3, 1ull << MAXPHY), END }, FAIL_GUEST(Q0),
      "guest CR3 within physical-address width" },
    /* "If the 'load debug controls' VM-entry control is 1, bits 63:32 in the
     * DR7 field must be 0." */
    { "guest DR7 bit 32", { S(vm_entry_controls, V_ENTRY | (uint32_t)ENTRY_LOAD_DEBUG_CONTROLS),
      S(guest_dr7, 0x400 | (1ull << 32)), END }, FAIL_GUEST(Q0), "guest DR7 bits 63:32 are 0" },
    { "guest DR7 not loaded", { S(vm_entry_controls, V_ENTRY & ~(uint32_t)ENTRY_LOAD_DEBUG_CONTROLS),
      S(guest_dr7, 1ull << 32), END }, PASS, NULL },
    /* "The IA32_SYSENTER_ESP field and the IA32_SYSENTER_EIP field must each
     * contain a canonical address." */
    { "guest SYSENTER_ESP non-canonical", { S(guest_sysenter_esp, NONCANON), END }, FAIL_GUEST(Q0),
      "guest IA32_SYSENTER_ESP canonical" },
    { "guest SYSENTER_EIP non-canonical", { S(guest_sysenter_eip, NONCANON), END }, FAIL_GUEST(Q0),
      "guest IA32_SYSENTER_EIP canonical" },
    /* "If the 'load IA32_PAT' VM-entry control is 1, the value of the field
     * for the IA32_PAT MSR must be one that could be written by WRMSR" */
    { "guest PAT type 3", { S(vm_entry_controls, V_ENTRY | (uint32_t)ENTRY_LOAD_PAT),
      S(guest_ia32_pat, 0x0307040600070406ull), END }, FAIL_GUEST(Q0), "guest IA32_PAT memory types valid" },
    /* "If the 'load IA32_EFER' VM-entry control is 1: bits reserved ... must
     * be 0; bit 10 (LMA) must equal the 'IA-32e mode guest' VM-entry
     * control; it must also be identical to bit 8 (LME) if ... PG is 1." */
    { "guest EFER reserved bit 9", { S(vm_entry_controls, V_ENTRY | (uint32_t)ENTRY_LOAD_EFER),
      S(guest_ia32_efer, EFER_LME | EFER_LMA | (1u << 9)), END }, FAIL_GUEST(Q0), "guest IA32_EFER reserved bits 0" },
    { "guest EFER.LMA clear", { S(vm_entry_controls, V_ENTRY | (uint32_t)ENTRY_LOAD_EFER),
      S(guest_ia32_efer, EFER_LME), END }, FAIL_GUEST(Q0), "guest IA32_EFER.LMA equals 'IA-32e mode guest'" },
    { "guest EFER.LME clear with PG", { S(vm_entry_controls, V_ENTRY | (uint32_t)ENTRY_LOAD_EFER),
      S(guest_ia32_efer, EFER_LMA), END }, FAIL_GUEST(Q0), "guest IA32_EFER.LME equals LMA when CR0.PG = 1" },
    /* Selectors: "TR. The TI flag (bit 2) must be 0." */
    { "guest TR TI", { S(guest_tr_selector, 0x24), END }, FAIL_GUEST(Q0), "guest TR selector TI = 0" },
    /* "LDTR. If LDTR is usable, the TI flag (bit 2) must be 0." */
    { "guest LDTR TI usable", { S(guest_ldtr_selector, 0x2c), S(guest_ldtr_ar_bytes, 0x82), END }, FAIL_GUEST(Q0),
      "guest LDTR selector TI = 0" },
    { "guest LDTR TI unusable", { S(guest_ldtr_selector, 0x2c), END }, PASS, NULL },
    /* "SS. ... the RPL (bits 1:0) must equal the RPL of the selector field
     * for CS." */
    { "guest SS.RPL != CS.RPL", { S(guest_ss_selector, 0x13), END }, FAIL_GUEST(Q0), "guest SS.RPL equals CS.RPL" },
    /* Base addresses: "TR, FS, GS. The address must be canonical." "CS.
     * Bits 63:32 of the address must be zero." "SS, DS, ES. If the register
     * is usable, bits 63:32 of the address must be zero." */
    { "guest TR base non-canonical", { S(guest_tr_base, NONCANON), END }, FAIL_GUEST(Q0),
      "guest segment base canonical" },
    { "guest GS base non-canonical", { S(guest_gs_base, ~NONCANON), END }, FAIL_GUEST(Q0),
      "guest segment base canonical" },
    { "guest CS base bit 32", { S(guest_cs_base, 1ull << 32), END }, FAIL_GUEST(Q0), "guest CS base bits 63:32 are 0" },
    { "guest DS base bit 32", { S(guest_ds_base, 1ull << 32), END }, FAIL_GUEST(Q0),
      "guest usable SS/DS/ES base bits 63:32 are 0" },
    { "guest DS base bit 32 unusable", { S(guest_ds_base, 1ull << 32), S(guest_ds_ar_bytes, AR_UNUSABLE), END },
      PASS, NULL },
    /* Access rights, types: "CS ... 9, 11, 13, or 15"; "SS ... 3 or 7";
     * "DS, ES, FS, GS ... bit 0 of the Type must be 1 (accessed). If bit 3
     * of the Type is 1 (code segment), then bit 1 of the Type must be 1." */
    { "guest CS type 8", { S(guest_cs_ar_bytes, 0xa098), END }, FAIL_GUEST(Q0),
      "guest CS type is accessed code (9, 11, 13, 15)" },
    { "guest SS type 1", { S(guest_ss_ar_bytes, 0xc091), END }, FAIL_GUEST(Q0),
      "guest SS type is read/write accessed data (3, 7)" },
    { "guest DS not accessed", { S(guest_ds_ar_bytes, 0xc092), END }, FAIL_GUEST(Q0),
      "guest data segment type is accessed" },
    { "guest ES execute-only code", { S(guest_es_ar_bytes, 0xc099), END }, FAIL_GUEST(Q0),
      "guest code segment in a data register is readable" },
    /* "Bit 4 (S). If the register is CS or if the register is usable, S must
     * be 1." */
    { "guest FS system segment", { S(guest_fs_ar_bytes, 0xc083), END }, FAIL_GUEST(Q0),
      "guest segment S = 1 (code or data)" },
    /* DPL: "If the Type is 9 or 11 ..., the DPL must equal the DPL in the
     * access-rights field for SS." */
    { "guest CS.DPL != SS.DPL", { S(guest_cs_ar_bytes, 0xa0bb), END }, FAIL_GUEST(Q0),
      "guest non-conforming CS.DPL equals SS.DPL" },
    /* "If the Type is 13 or 15 ..., the DPL cannot be greater than the DPL in
     * the access-rights field for SS." */
    { "guest conforming CS.DPL > SS.DPL", { S(guest_cs_ar_bytes, 0xa0bf), END }, FAIL_GUEST(Q0),
      "guest conforming CS.DPL <= SS.DPL" },
    /* "SS ... the DPL must equal the RPL from the selector field." */
    { "guest SS.DPL != SS.RPL", { S(guest_cs_ar_bytes, 0xa0bb), S(guest_ss_ar_bytes, 0xc0b3), END }, FAIL_GUEST(Q0),
      "guest SS.DPL equals SS.RPL" },
    /* "DS, ES, FS, GS. The DPL cannot be less than the RPL" */
    { "guest DS.DPL < RPL", { S(guest_ds_selector, 0x13), END }, FAIL_GUEST(Q0), "guest data segment DPL >= RPL" },
    /* "Bit 7 (P). If the register is CS or if the register is usable, P must
     * be 1." */
    { "guest GS not present", { S(guest_gs_ar_bytes, 0xc013), END }, FAIL_GUEST(Q0), "guest segment present" },
    { "guest GS not present but unusable", { S(guest_gs_ar_bytes, 0xc013 | AR_UNUSABLE), END }, PASS, NULL },
    /* "Bits 11:8 (reserved) ... must all be 0." "Bits 31:17 (reserved)" */
    { "guest DS AR bit 8", { S(guest_ds_ar_bytes, 0xc193), END }, FAIL_GUEST(Q0),
      "guest segment access-rights reserved bits 0" },
    { "guest CS AR bit 17", { S(guest_cs_ar_bytes, 0x2a09b), END }, FAIL_GUEST(Q0),
      "guest segment access-rights reserved bits 0" },
    /* "Bit 14 (D/B). For CS, if the 'IA-32e mode guest' VM-entry control is
     * 1 and bit 13 (L) is 1, then D/B must be 0." */
    { "guest CS.L with CS.D", { S(guest_cs_ar_bytes, 0xe09b), END }, FAIL_GUEST(Q0),
      "guest CS.D/B = 0 when CS.L = 1 in IA-32e mode" },
    /* "Bit 15 (G). If any bit in the limit field in the range 11:0 is 0, G
     * must be 0. If any bit in the limit field in the range 31:20 is 1, G
     * must be 1." */
    { "guest SS limit 0xffffe with G", { S(guest_ss_limit, 0xffffe), END }, FAIL_GUEST(Q0),
      "guest segment G vs limit" },
    { "guest DS limit 0x100000 without G", { S(guest_ds_limit, 0x100000), S(guest_ds_ar_bytes, 0x4093), END },
      FAIL_GUEST(Q0), "guest segment G vs limit" },
    { "guest DS limit 0xfffff without G", { S(guest_ds_limit, 0xfffff), S(guest_ds_ar_bytes, 0x4093), END },
      PASS, NULL },
    /* TR: "the Type must be 11 (64-bit busy TSS)" in IA-32e mode; "Bit 4
     * (S). Must be 0." "Bit 16 (Unusable). Must be 0." */
    { "guest TR available TSS", { S(guest_tr_ar_bytes, 0x89), END }, FAIL_GUEST(Q0),
      "guest TR type is a busy TSS (11; 3 outside IA-32e)" },
    { "guest TR 16-bit busy TSS in IA-32e", { S(guest_tr_ar_bytes, 0x83), END }, FAIL_GUEST(Q0),
      "guest TR type is a busy TSS (11; 3 outside IA-32e)" },
    { "guest TR.S", { S(guest_tr_ar_bytes, 0x9b), END }, FAIL_GUEST(Q0), "guest TR.S = 0" },
    { "guest TR not present", { S(guest_tr_ar_bytes, 0x0b), END }, FAIL_GUEST(Q0), "guest TR present" },
    { "guest TR unusable", { S(guest_tr_ar_bytes, 0x8b | AR_UNUSABLE), END }, FAIL_GUEST(Q0), "guest TR is usable" },
    { "guest TR G with limit 0x67", { S(guest_tr_ar_bytes, 0x808b), END }, FAIL_GUEST(Q0), "guest TR G vs limit" },
    /* LDTR, if usable: "Type must be 2 (LDT)." */
    { "guest LDTR type 3", { S(guest_ldtr_ar_bytes, 0x83), END }, FAIL_GUEST(Q0), "guest LDTR type is LDT (2)" },
    { "guest LDTR usable", { S(guest_ldtr_ar_bytes, 0x82), END }, PASS, NULL },
    /* "The base-address fields for GDTR and IDTR must contain canonical
     * addresses. Bits 31:16 of each limit field must be 0." */
    { "guest GDTR base non-canonical", { S(guest_gdtr_base, NONCANON), END }, FAIL_GUEST(Q0),
      "guest GDTR base canonical" },
    { "guest IDTR base non-canonical", { S(guest_idtr_base, NONCANON), END }, FAIL_GUEST(Q0),
      "guest IDTR base canonical" },
    { "guest GDTR limit 0x10000", { S(guest_gdtr_limit, 0x10000), END }, FAIL_GUEST(Q0),
      "guest GDTR limit bits 31:16 are 0" },
    { "guest IDTR limit 0x10000", { S(guest_idtr_limit, 0x10000), END }, FAIL_GUEST(Q0),
      "guest IDTR limit bits 31:16 are 0" },
    /* RIP: "Bits 63:32 must be 0 if ... the L bit ... for CS is 0." */
    { "compatibility-mode RIP bit 32", { S(guest_cs_ar_bytes, 0xc09b), S(guest_rip, 1ull << 32), END },
      FAIL_GUEST(Q0), "guest RIP bits 63:32 are 0 outside 64-bit mode" },
    /* "If the guest will be virtual-8086, the address must be the selector
     * field shifted left 4 bits." (RFLAGS.VM in the RFLAGS field) */
    { "guest RFLAGS.VM with flat segments", { S(guest_rflags, FL_FIXED1 | FL_VM), END }, FAIL_GUEST(Q0),
      "virtual-8086 guest: base = selector << 4" },
    /* "The IF flag (RFLAGS[bit 9]) must be 1 if ... the interruption type
     * ... is external interrupt." */
    { "inject external interrupt with IF = 0", { S(vm_entry_intr_info_field, INTR(EVT_EXTINT, 0x40)), END },
      FAIL_GUEST(Q0), "guest RFLAGS.IF = 1 when injecting an external interrupt" },
    /* Activity state: "must contain a value in the range 0-3, indicating an
     * activity state supported by the implementation" */
    { "guest activity state 4", { S(guest_activity_state, 4), END }, FAIL_GUEST(Q0),
      "guest activity state supported (IA32_VMX_MISC[8:6])" },
    /* "must not indicate the HLT state if the DPL ... for SS is not 0" */
    { "HLT with SS.DPL 3", { S(guest_cs_selector, 0x0b), S(guest_cs_ar_bytes, 0xa0fb), S(guest_ss_selector, 0x13),
      S(guest_ss_ar_bytes, 0xc0f3), S(guest_activity_state, VMX_ACTIVITY_HLT) }, FAIL_GUEST(Q0),
      "HLT activity state requires SS.DPL = 0" },
    /* "must indicate the active state if the interruptibility-state field
     * indicates blocking by either MOV-SS or by STI" */
    { "HLT with blocking by MOV SS", { S(guest_activity_state, VMX_ACTIVITY_HLT),
      S(guest_interruptibility_info, VMX_INTERRUPTIBILITY_MOV_SS), END }, FAIL_GUEST(Q0),
      "blocking by STI or MOV SS requires the active state" },
    /* "the interruption to be delivered ... must not be one that would
     * normally be blocked while a logical processor is in the activity
     * state": HLT blocks a #GP, shutdown blocks external interrupts,
     * wait-for-SIPI blocks everything. */
    { "inject #UD into HLT", { S(guest_activity_state, VMX_ACTIVITY_HLT),
      S(vm_entry_intr_info_field, INTR(EVT_HW_EXC, 6)), END }, FAIL_GUEST(Q0),
      "injected event not blocked in the guest activity state" },
    { "inject external interrupt into shutdown", { S(guest_activity_state, VMX_ACTIVITY_SHUTDOWN),
      S(guest_rflags, FL_FIXED1 | FL_IF), S(vm_entry_intr_info_field, INTR(EVT_EXTINT, 0x40)), END }, FAIL_GUEST(Q0),
      "injected event not blocked in the guest activity state" },
    { "inject NMI into wait-for-SIPI", { S(guest_activity_state, VMX_ACTIVITY_WAIT_SIPI),
      S(vm_entry_intr_info_field, INTR(EVT_NMI, 2)), END }, FAIL_GUEST(Q0),
      "injected event not blocked in the guest activity state" },
    /* Interruptibility: "The reserved bits (bits 31:5) must be 0." (bit 4:
     * no SGX) */
    { "interruptibility bit 4", { S(guest_interruptibility_info, 1u << 4), END }, FAIL_GUEST(Q0),
      "guest interruptibility-state reserved bits 31:4 are 0" },
    { "interruptibility bit 31", { S(guest_interruptibility_info, 1u << 31), END }, FAIL_GUEST(Q0),
      "guest interruptibility-state reserved bits 31:4 are 0" },
    /* "The field cannot indicate blocking by both STI and MOV SS" */
    { "blocking by STI and MOV SS", { S(guest_rflags, FL_FIXED1 | FL_IF), S(guest_interruptibility_info, 3), END },
      FAIL_GUEST(Q0), "blocking by STI and by MOV SS are exclusive" },
    /* "Bit 0 (blocking by STI) must be 0 if the IF flag (bit 9) is 0" */
    { "blocking by STI with IF = 0", { S(guest_interruptibility_info, 1), END }, FAIL_GUEST(Q0),
      "blocking by STI requires RFLAGS.IF = 1" },
    /* "If ... the interruption type ... is external interrupt, then bit 0
     * (blocking by STI) and bit 1 (blocking by MOV SS) must both be 0." */
    { "inject external interrupt with STI blocking", { S(guest_rflags, FL_FIXED1 | FL_IF),
      S(guest_interruptibility_info, 1), S(vm_entry_intr_info_field, INTR(EVT_EXTINT, 0x40)), END }, FAIL_GUEST(Q0),
      "injecting an external interrupt requires no STI/MOV SS blocking" },
    /* "If ... the interruption type ... is NMI: bit 1 (blocking by MOV SS)
     * must be 0." */
    { "inject NMI with MOV SS blocking", { S(guest_interruptibility_info, 2),
      S(vm_entry_intr_info_field, INTR(EVT_NMI, 2)), END }, FAIL_GUEST(Q0),
      "injecting an NMI requires no MOV SS blocking" },
    /* Table "Exit Qualification for VM-Entry Failure", 3: NMI injection into
     * a guest blocking by STI. */
    { "inject NMI with STI blocking", { S(guest_rflags, FL_FIXED1 | FL_IF), S(guest_interruptibility_info, 1),
      S(vm_entry_intr_info_field, INTR(EVT_NMI, 2)), END }, FAIL_GUEST(3), "injecting an NMI with blocking by STI" },
    /* "Bit 2 (blocking by SMI) must be 0 if the processor is not in SMM." */
    { "blocking by SMI", { S(guest_interruptibility_info, VMX_INTERRUPTIBILITY_SMI), END }, FAIL_GUEST(Q0),
      "blocking by SMI is 0 outside SMM" },
    /* "If the 'virtual NMIs' VM-execution control is 1 ... and the
     * interruption type ... is 2 (indicating NMI), then bit 3 (blocking by
     * NMI) must be 0." */
    { "inject virtual NMI while blocked", { S(pin_based_vm_exec_control,
      PIN_D1 | (uint32_t)PIN_NMI_EXITING | (uint32_t)PIN_VIRTUAL_NMIS),
      S(guest_interruptibility_info, VMX_INTERRUPTIBILITY_NMI), S(vm_entry_intr_info_field, INTR(EVT_NMI, 2)), END },
      FAIL_GUEST(Q0), "injecting a virtual NMI requires no blocking by NMI" },
    /* Pending debug exceptions: "Bits 11:4, bit 13, bit 15, and bits 63:17
     * must be 0" */
    { "pending debug bit 4", { S(guest_pending_dbg_exceptions, 1u << 4), END }, FAIL_GUEST(Q0),
      "guest pending debug exceptions reserved bits 0" },
    { "pending debug bit 16 without RTM", { S(guest_pending_dbg_exceptions, 1u << 16), END }, FAIL_GUEST(Q0),
      "guest pending debug exceptions reserved bits 0" },
    /* "Bit 14 (BS) must be 1 if the TF flag ... is 1 and the BTF flag ... is
     * 0" / "must be 0 if the TF flag ... is 0" (with STI/MOV SS blocking or
     * HLT) */
    { "pending BS clear with TF and STI blocking", { S(guest_rflags, FL_FIXED1 | FL_IF | FL_TF),
      S(guest_interruptibility_info, 1), END }, FAIL_GUEST(Q0),
      "pending BS = RFLAGS.TF && !DEBUGCTL.BTF with STI/MOV SS blocking or HLT" },
    { "pending BS set without TF in HLT", { S(guest_activity_state, VMX_ACTIVITY_HLT),
      S(guest_pending_dbg_exceptions, 1u << 14), END }, FAIL_GUEST(Q0),
      "pending BS = RFLAGS.TF && !DEBUGCTL.BTF with STI/MOV SS blocking or HLT" },
    /* VMCS link pointer (qualification 4): "bits 11:0 must be 0"; "bits 30:0
     * must contain the processor's VMCS revision identifier, bit 31 must
     * contain the setting of the 'VMCS shadowing' VM-execution control";
     * "must not contain the current VMCS pointer" */
    { "link pointer misaligned", { S(vmcs_link_pointer, LINK_PA + 1), END }, FAIL_GUEST(4),
      "VMCS link pointer 4-KByte aligned, within physical-address width" },
    { "link pointer at 1 << MAXPHYADDR", { S(vmcs_link_pointer, 1ull << MAXPHY), END }, FAIL_GUEST(4),
      "VMCS link pointer 4-KByte aligned, within physical-address width" },
    { "link pointer bad revision", { S(vmcs_link_pointer, LINK_PA), END }, FAIL_GUEST(4),
      "VMCS link pointer: revision identifier and shadow indicator" },
    { "link pointer is the current VMCS", { S(vmcs_link_pointer, VMCS_PA), END }, FAIL_GUEST(4),
      "VMCS link pointer is not the current VMCS" },
    /* With "VMCS shadowing" = 1 the link pointer must reference a shadow
     * VMCS, and with it 0 an ordinary one: "bit 31 must contain the setting
     * of the 'VMCS shadowing' VM-execution control". */
    { "shadowing, link to ordinary VMCS", { SHADOWING, S(vmread_bitmap, IO_A), S(vmwrite_bitmap, IO_B),
      S(vmcs_link_pointer, ORDINARY_VMCS_PA), END }, FAIL_GUEST(4),
      "VMCS link pointer: revision identifier and shadow indicator" },
    { "shadowing, link to shadow VMCS", { SHADOWING, S(vmread_bitmap, IO_A), S(vmwrite_bitmap, IO_B),
      S(vmcs_link_pointer, SHADOW_VMCS_PA), END }, PASS, NULL },
    { "no shadowing, link to shadow VMCS", { S(vmcs_link_pointer, SHADOW_VMCS_PA), END }, FAIL_GUEST(4),
      "VMCS link pointer: revision identifier and shadow indicator" },
};

START_TEST(vmlaunch_guest_check)
{
    run_case(&guest_cases[_i]);
}
END_TEST

/* A link pointer naming a VMCS of the right revision without the shadow
 * indicator is valid even without VMCS shadowing. */
START_TEST(link_pointer_to_ordinary_vmcs_is_valid)
{
    cpu_write_phys(c, LINK_PA, 4, REV);
    put(VMCS_vmcs_link_pointer, LINK_PA);
    expect("link to VMCS", launch(), PASS, NULL);
    cpu_write_phys(c, LINK_PA, 4, REV | VMCS_SHADOW_INDICATOR);
}
END_TEST

/* "The VM flag (bit 17) must be 0 either if the 'IA-32e mode guest'
 * VM-entry control is 1 or if bit 0 in the CR0 field (corresponding to
 * CR0.PE) is 0": segments that pass the virtual-8086 checks ("base ...
 * selector shifted left 4 bits", "limit ... 0000FFFFH", "access-rights ...
 * 000000F3H"), then the RFLAGS rule; one segment off fails first. */
START_TEST(rflags_vm_in_ia32e_mode)
{
    for (unsigned s = 0; s < SEG_NSEGS; s++)
        set_seg(s, 0x10, 0x100, 0xffff, 0xf3);
    put(VMCS_guest_rflags, FL_FIXED1 | FL_VM);
    expect("VM in IA-32e mode", launch(), FAIL_GUEST(0), "guest RFLAGS.VM = 0 in IA-32e mode or with CR0.PE = 0");
    teardown();
    setup();
    for (unsigned s = 0; s < SEG_NSEGS; s++)
        set_seg(s, 0x10, 0x100, 0xffff, 0xf3);
    put(VMCS_guest_gs_limit, 0xfffe);
    put(VMCS_guest_rflags, FL_FIXED1 | FL_VM);
    expect("v86 GS limit", launch(), FAIL_GUEST(0), "virtual-8086 guest: limit 0000FFFFH");
    teardown();
    setup();
    for (unsigned s = 0; s < SEG_NSEGS; s++)
        set_seg(s, 0x10, 0x100, 0xffff, 0xf3);
    put(VMCS_guest_ds_ar_bytes, 0xf2);
    put(VMCS_guest_rflags, FL_FIXED1 | FL_VM);
    expect("v86 DS access rights", launch(), FAIL_GUEST(0), "virtual-8086 guest: access rights 000000F3H");
}
END_TEST

/* ---- boundary loops ---------------------------------------------------------------------- */

/* Host CR4, each bit flipped: a VMfailValid(8) exactly when the value leaves
 * IA32_VMX_CR4_FIXED0/1 or drops PAE for the 64-bit host. */
START_TEST(host_cr4_each_bit)
{
    uint64_t val = (CR4_PAE | CR4_VMXE) ^ (1ull << _i);
    bool ok = (val & CR4_VMXE) && (val & ~0x776fffull) == 0 && (val & CR4_PAE);
    put(VMCS_host_cr4, val);
    char name[64];
    snprintf(name, sizeof name, "host CR4 bit %d", _i);
    if (ok)
        expect(name, launch(), PASS, NULL);
    else
        expect(name, launch(), FAIL_HOST, NULL);
}
END_TEST

/* Guest RFLAGS, each bit set (or bit 1 cleared): reserved bits 63:22, 15, 5,
 * 3 and a clear bit 1 fail, VM fails in IA-32e mode. */
START_TEST(guest_rflags_each_bit)
{
    uint64_t val = FL_FIXED1 ^ (1ull << _i);
    bool rsvd = _i >= 22 || _i == 15 || _i == 5 || _i == 3 || _i == 1;
    put(VMCS_guest_rflags, val);
    char name[64];
    snprintf(name, sizeof name, "guest RFLAGS bit %d", _i);
    if (rsvd)
        expect(name, launch(), FAIL_GUEST(0), "guest RFLAGS reserved bits (63:22, 15, 5, 3 clear; 1 set)");
    else if (_i == 17) /* the segments are not virtual-8086 ones */
        expect(name, launch(), FAIL_GUEST(0), "virtual-8086 guest: base = selector << 4");
    else
        expect(name, launch(), PASS, NULL);
}
END_TEST

static const struct {
    uint64_t addr;
    bool canonical;
} canon_edges[] = {
    { 0, true },
    { 0x00007fffffffffffull, true },
    { 0x0000800000000000ull, false },
    { 0xffff7fffffffffffull, false },
    { 0xffff800000000000ull, true },
    { 0x8000000000000000ull, false },
    { ~0ull, true },
};

/* Canonical edges of a host base and a guest base. */
START_TEST(canonical_edges)
{
    uint64_t a = canon_edges[_i].addr;
    bool ok = canon_edges[_i].canonical;
    put(VMCS_host_fs_base, a);
    if (ok)
        expect("host FS base", launch(), PASS, NULL);
    else
        expect("host FS base", launch(), FAIL_HOST, "host base address canonical");
    teardown();
    setup();
    put(VMCS_guest_fs_base, a);
    if (ok)
        expect("guest FS base", launch(), PASS, NULL);
    else
        expect("guest FS base", launch(), FAIL_GUEST(0), "guest segment base canonical");
}
END_TEST

/* SDM 3C "Checks on Guest RIP, RFLAGS, and SSP": with a 64-bit guest "bits
 * 63:N must be identical" for the linear-address width N (48 here,
 * CPUID.80000008H:EAX[15:8]) -- not canonicality: bit 47 may differ. */
static const struct {
    uint64_t rip;
    bool ok;
} guest_rips[] = {
    { 0x00007fffffffffffull, true },  { 0x0000800000000000ull, true },
    { 0xffff7fffffffffffull, true },  { 0xffff800000000000ull, true },
    { 0x0000ffffffffffffull, true },  { 0x0001000000000000ull, false },
    { 0xfffe000000000000ull, false }, { 0x8000000000000000ull, false },
    { 0x7fffffffffffffffull, false }, { ~0ull, true },
};

/* A RIP that passes the check but is not canonical: the guest's first
 * instruction fetch is #GP(0) (SDM 3A "Canonical Addressing"), here an
 * exit through the exception bitmap with that RIP saved. */
START_TEST(guest_rip_noncanonical_faults_on_fetch)
{
    put(VMCS_guest_rip, 0x0000800000000000ull);
    put(VMCS_exception_bitmap, 1u << EXC_GP);
    expect("guest RIP 0x800000000000", launch(), PASS, NULL);
    cpu_run(c, 3);
    ck_assert(!c->vmx_nonroot);
    ck_assert_uint_eq(vmcs_get(v, VMCS_vm_exit_reason), VMX_EXIT_exception_nmi);
    ck_assert_uint_eq(vmcs_get(v, VMCS_vm_exit_intr_info), 0x80000b0du);
    ck_assert_uint_eq(vmcs_get(v, VMCS_guest_rip), 0x0000800000000000ull);
}
END_TEST

START_TEST(guest_rip_bits_63_n)
{
    char name[64];
    snprintf(name, sizeof name, "guest RIP 0x%llx", (unsigned long long)guest_rips[_i].rip);
    put(VMCS_guest_rip, guest_rips[_i].rip);
    if (guest_rips[_i].ok)
        expect(name, launch(), PASS, NULL);
    else
        expect(name, launch(), FAIL_GUEST(0),
               "guest RIP bits 63:N identical in 64-bit mode (N = linear-address width)");
}
END_TEST

static const struct {
    uint64_t addr;
    bool ok;
} bitmap_addrs[] = {
    { IO_A + 1, false }, { IO_A + 2, false }, { IO_A + 4, false }, { IO_A + 8, false }, { IO_A + 0x10, false },
    { IO_A + 0x20, false }, { IO_A + 0x40, false }, { IO_A + 0x80, false }, { IO_A + 0x100, false },
    { IO_A + 0x200, false }, { IO_A + 0x400, false }, { IO_A + 0x800, false }, { IO_A + 0xfff, false },
    { IO_A - 0x1000, true }, { IO_A + 0x1000, true },
    { (1ull << MAXPHY) - 0x1000, true }, { 1ull << MAXPHY, false }, { ~0ull, false },
};

/* I/O-bitmap A address: each of bits 11:0, page size +-1 page, the
 * physical-address width, all ones. */
START_TEST(io_bitmap_address_edges)
{
    put(VMCS_cpu_based_vm_exec_control, PROC_D1 | (uint32_t)PROC_USE_IO_BITMAPS);
    put(VMCS_io_bitmap_a, bitmap_addrs[_i].addr);
    put(VMCS_io_bitmap_b, IO_B);
    char name[64];
    snprintf(name, sizeof name, "io_bitmap_a 0x%llx", (unsigned long long)bitmap_addrs[_i].addr);
    if (bitmap_addrs[_i].ok)
        expect(name, launch(), PASS, NULL);
    else
        expect(name, launch(), FAIL_CTL(), "I/O-bitmap A address 4-KByte aligned, within physical-address width");
}
END_TEST

/* VMREAD-bitmap (even _i) and VMWRITE-bitmap (odd _i) addresses with
 * "VMCS shadowing": the same edges as the I/O bitmap. */
START_TEST(vmcs_shadowing_bitmap_edges)
{
    unsigned k = (unsigned)_i / 2;
    bool write = _i & 1;
    put(VMCS_cpu_based_vm_exec_control, PROC_D1 | (uint32_t)PROC_ACTIVATE_SECONDARY_CONTROLS);
    put(VMCS_secondary_vm_exec_control, PROC2_VMCS_SHADOWING);
    put(VMCS_vmread_bitmap, write ? IO_A : bitmap_addrs[k].addr);
    put(VMCS_vmwrite_bitmap, write ? bitmap_addrs[k].addr : IO_B);
    char name[64];
    snprintf(name, sizeof name, "%s 0x%llx", write ? "vmwrite_bitmap" : "vmread_bitmap",
             (unsigned long long)bitmap_addrs[k].addr);
    if (bitmap_addrs[k].ok)
        expect(name, launch(), PASS, NULL);
    else
        expect(name, launch(), FAIL_CTL(),
               write ? "VMWRITE-bitmap address 4-KByte aligned, within physical-address width"
                     : "VMREAD-bitmap address 4-KByte aligned, within physical-address width");
}
END_TEST

static const struct {
    uint64_t addr, count;
    bool ok;
} msr_area_edges[] = {
    { MSR_AREA + 1, 1, false }, { MSR_AREA + 2, 1, false }, { MSR_AREA + 4, 1, false }, { MSR_AREA + 8, 1, false },
    { MSR_AREA + 0x10, 1, true },
    { (1ull << MAXPHY) - 16, 1, true },  /* last byte is the last addressable one */
    { (1ull << MAXPHY) - 16, 2, false }, /* last byte beyond the width */
    { 1ull << MAXPHY, 1, false },
    { ~0ull & ~0xfull, 1, false },
    { MSR_AREA + 8, 0, true },           /* count 0: address unchecked */
};

/* VM-exit MSR-store area: alignment bits, the last byte at the width. */
START_TEST(msr_area_edges_loop)
{
    put(VMCS_vmexit_msr_store_addr, msr_area_edges[_i].addr);
    put(VMCS_vm_exit_msr_store_count, msr_area_edges[_i].count);
    char name[64];
    snprintf(name, sizeof name, "msr store 0x%llx x %llu", (unsigned long long)msr_area_edges[_i].addr,
             (unsigned long long)msr_area_edges[_i].count);
    if (msr_area_edges[_i].ok)
        expect(name, launch(), PASS, NULL);
    else
        expect(name, launch(), FAIL_CTL(),
               "VM-exit MSR-store address 16-byte aligned, area within physical-address width");
}
END_TEST

/* Guest CR3 bits 36..63: bits at or above MAXPHYADDR fail. */
START_TEST(guest_cr3_width)
{
    put(VMCS_guest_cr3, PML4 | (1ull << _i));
    char name[64];
    snprintf(name, sizeof name, "guest CR3 bit %d", _i);
    if (_i < MAXPHY)
        expect(name, launch(), PASS, NULL);
    else
        expect(name, launch(), FAIL_GUEST(0), "guest CR3 within physical-address width");
}
END_TEST

/* Deliver-error-code for hardware exceptions 0-31, both settings: required
 * exactly for #DF, #TS, #NP, #SS, #GP, #PF, #AC (IA32_VMX_BASIC[56] = 0). */
START_TEST(error_code_consistency)
{
    unsigned vec = (unsigned)_i / 2;
    bool with = _i & 1;
    bool needs = vec == 8 || vec == 10 || vec == 11 || vec == 12 || vec == 13 || vec == 14 || vec == 17;
    put(VMCS_vm_entry_intr_info_field, INTR(EVT_HW_EXC, vec) | (with ? ERRC : 0));
    char name[64];
    snprintf(name, sizeof name, "vector %u error code %d", vec, with);
    if (with == needs)
        expect(name, launch(), PASS, NULL);
    else
        expect(name, launch(), FAIL_CTL(), with ? "deliver-error-code must be 0 for this event"
                                                : "deliver-error-code must be 1 for this exception");
}
END_TEST

/* Software interrupt: VM-entry instruction length 0..16. "A VM-entry
 * instruction length of 0 is allowed only if IA32_VMX_MISC[30] is read as
 * 1" (it is not here). On success the handler's frame holds RIP + length. */
START_TEST(software_interrupt_length)
{
    put(VMCS_vm_entry_intr_info_field, INTR(EVT_SW_INT, 0x80));
    put(VMCS_vm_entry_instruction_len, (uint64_t)_i);
    char name[64];
    snprintf(name, sizeof name, "INT n length %d", _i);
    if (_i == 0 || _i > 15) {
        expect(name, launch(), FAIL_CTL(), "VM-entry instruction length 1-15 (0 only with IA32_VMX_MISC[30])");
        return;
    }
    expect(name, launch(), PASS, NULL);
    ck_assert_uint_eq(c->rip, HANDLER);
    ck_assert_uint_eq(cpu_read_phys(c, c->gpr[4], 8), GUEST_CODE + (uint64_t)_i);
}
END_TEST

/* ---- successful entries ------------------------------------------------------------------- */

START_TEST(vmlaunch_enters_64bit_guest)
{
    put(VMCS_guest_sysenter_cs, 0x77);
    put(VMCS_cr0_read_shadow, CR0_PE);
    put(VMCS_cr0_guest_host_mask, CR0_PG);
    put(VMCS_tsc_offset, 1000);
    put(VMCS_cpu_based_vm_exec_control, PROC_D1 | (uint32_t)PROC_USE_TSC_OFFSETTING);
    expect("64-bit guest", launch(), PASS, NULL);
    ck_assert_uint_eq(c->rip, GUEST_CODE);
    ck_assert_int_eq(c->mode, MODE_LONG64);
    ck_assert_uint_eq(c->cpl, 0);
    ck_assert_uint_eq(c->sysenter_cs, 0x77);
    ck_assert_uint_eq(c->nr.cr0_mask, CR0_PG);
    ck_assert_uint_eq(c->nr.cr0_shadow, CR0_PE);
    ck_assert(c->nr.tsc_offsetting);
    ck_assert_uint_eq(c->nr.tsc_offset, 1000);
    ck_assert_uint_eq(v->launch_state, VMCS_STATE_LAUNCHED);
    ck_assert_uint_eq(vmx_get_stats(v)->entries, 1);
    ck_assert(last_ev.vmentry.ok);
    ck_assert_str_eq(last_ev.vmentry.kind, "launch");
    cpu_run(c, 10);
    ck_assert_uint_eq(c->gpr[0], 0x600df00d);
    ck_assert(c->halted);
    ck_assert(c->vmx_nonroot);
}
END_TEST

START_TEST(failed_vmlaunch_keeps_vmcs_clear)
{
    put(VMCS_host_cr4, CR4_PAE);
    expect("bad host", launch(), FAIL_HOST, NULL);
    ck_assert_uint_eq(v->launch_state, VMCS_STATE_CLEAR);
    ck_assert_uint_eq(vmx_get_stats(v)->entry_failures, 1);
    /* the trace gives the rule, the field value and the predicate */
    ck_assert_str_eq(last_ev.vmentry.check, "host CR4 vs IA32_VMX_CR4_FIXED0/1");
    ck_assert_msg(strstr(last_ev.vmentry.detail, "host_cr4 0x20") != NULL, "detail '%s'", last_ev.vmentry.detail);
    ck_assert_uint_eq(last_ev.vmentry.error, VMX_INSN_ERR_ENTRY_INVALID_HOST_STATE);
    teardown();
    setup();
    put(VMCS_guest_cr4, CR4_PAE);
    expect("bad guest", launch(), FAIL_GUEST(0), NULL);
    ck_assert_uint_eq(v->launch_state, VMCS_STATE_CLEAR);
    ck_assert_uint_eq(last_ev.vmentry.reason, 0x80000021u);
    ck_assert(!c->vmx_nonroot);
}
END_TEST

static void guest_32bit(uint64_t cr4, uint64_t cr3)
{
    put(VMCS_vm_entry_controls, ENTRY_D1);
    put(VMCS_guest_cr4, cr4);
    put(VMCS_guest_cr3, cr3);
    set_seg(SEG_CS, 0x18, 0, 0xffffffffu, 0xc09b);
    put(VMCS_guest_tr_ar_bytes, 0x8b); /* 32-bit busy TSS */
}

START_TEST(vmlaunch_enters_32bit_guest_without_pae)
{
    for (unsigned i = 0; i < 2; i++)
        cpu_write_phys(c, PD32 + 4 * i, 4, (i << 22) | 0x87); /* 4-MByte pages */
    guest_32bit(CR4_PSE | CR4_VMXE, PD32);
    expect("32-bit guest", launch(), PASS, NULL);
    ck_assert_int_eq(c->mode, MODE_PROT);
    ck_assert_uint_eq(c->efer & (EFER_LMA | EFER_LME), 0);
    cpu_run(c, 10);
    ck_assert_uint_eq(c->gpr[0], 0x600df00d);
    ck_assert_uint_eq(c->rip, GUEST_CODE + 6);
}
END_TEST

static void pae_tables(uint64_t pdpte0)
{
    cpu_write_phys(c, PDPT_PAE, 8, pdpte0);
    for (unsigned i = 1; i < 4; i++)
        cpu_write_phys(c, PDPT_PAE + 8 * i, 8, 0);
    for (unsigned i = 0; i < 4; i++)
        cpu_write_phys(c, PD_PAE + 8 * i, 8, ((uint64_t)i << 21) | 0x87);
}

START_TEST(vmlaunch_enters_32bit_pae_guest)
{
    pae_tables(PD_PAE | 1);
    guest_32bit(CR4_PAE | CR4_VMXE, PDPT_PAE);
    expect("PAE guest", launch(), PASS, NULL);
    ck_assert_uint_eq(c->pdpte[0], PD_PAE | 1);
    cpu_run(c, 10);
    ck_assert_uint_eq(c->gpr[0], 0x600df00d);
}
END_TEST

/* SDM 3C "Checks on Guest Page-Directory-Pointer-Table Entries": a present
 * PDPTE with a reserved bit fails with qualification 2; a PDPTE that is not
 * present is not checked. */
static const struct {
    uint64_t pdpte;
    bool ok;
} pdpte_cases[] = {
    { PD_PAE | 1 | (1ull << 1), false }, { PD_PAE | 1 | (1ull << 2), false }, { PD_PAE | 1 | (1ull << 5), false },
    { PD_PAE | 1 | (1ull << 8), false }, { PD_PAE | 1 | (1ull << MAXPHY), false }, { PD_PAE | 1 | (1ull << 63), false },
    { PD_PAE | (1ull << 1), true }, { PD_PAE | 1 | (1ull << 3), true },
};

START_TEST(pae_pdpte_check)
{
    pae_tables(pdpte_cases[_i].pdpte);
    guest_32bit(CR4_PAE | CR4_VMXE, PDPT_PAE);
    char name[64];
    snprintf(name, sizeof name, "PDPTE 0x%llx", (unsigned long long)pdpte_cases[_i].pdpte);
    if (pdpte_cases[_i].ok)
        expect(name, launch(), PASS, NULL);
    else
        expect(name, launch(), FAIL_GUEST(2), "guest PAE PDPTEs set no reserved bit");
}
END_TEST

/* ---- event injection (SDM 3C "Event Injection") -------------------------------------------- */

static const struct {
    const char *name;
    uint32_t info;
    uint32_t len;
    uint32_t err;
    uint64_t ret_rip;   /* RIP in the frame */
    bool has_err;
} injections[] = {
    { "external interrupt 0x40", INTR(EVT_EXTINT, 0x40), 0, 0, GUEST_CODE, false },
    { "NMI", INTR(EVT_NMI, 2), 0, 0, GUEST_CODE, false },
    { "#UD", INTR(EVT_HW_EXC, 6), 0, 0, GUEST_CODE, false },
    { "#GP(0x1234)", INTR(EVT_HW_EXC, 13) | ERRC, 0, 0x1234, GUEST_CODE, true },
    { "#PF(0x2)", INTR(EVT_HW_EXC, 14) | ERRC, 0, 2, GUEST_CODE, true },
    { "INT 0x80", INTR(EVT_SW_INT, 0x80), 2, 0, GUEST_CODE + 2, false },
    { "INT1", INTR(EVT_PRIV_SW_EXC, 1), 1, 0, GUEST_CODE + 1, false },
    { "INT3", INTR(EVT_SW_EXC, 3), 1, 0, GUEST_CODE + 1, false },
    { "INTO", INTR(EVT_SW_EXC, 4), 1, 0, GUEST_CODE + 1, false },
};

/* The handler runs with the frame the event's type gives: the return RIP
 * (guest RIP, or guest RIP + instruction length for software events), CS,
 * RFLAGS, RSP, SS, and the error code below them when delivered. */
START_TEST(inject_event_frame)
{
    put(VMCS_guest_rflags, FL_FIXED1 | FL_IF);
    put(VMCS_vm_entry_intr_info_field, injections[_i].info);
    put(VMCS_vm_entry_instruction_len, injections[_i].len);
    put(VMCS_vm_entry_exception_error_code, injections[_i].err);
    expect(injections[_i].name, launch(), PASS, NULL);
    ck_assert_uint_eq(c->rip, HANDLER);
    uint64_t sp = c->gpr[4];
    if (injections[_i].has_err) {
        ck_assert_uint_eq(cpu_read_phys(c, sp, 8), injections[_i].err);
        sp += 8;
    }
    ck_assert_msg(cpu_read_phys(c, sp, 8) == injections[_i].ret_rip, "%s: frame RIP 0x%llx", injections[_i].name,
                  (unsigned long long)cpu_read_phys(c, sp, 8));
    ck_assert_uint_eq(cpu_read_phys(c, sp + 8, 8), 0x08);
    ck_assert_uint_eq(cpu_read_phys(c, sp + 16, 8) & FL_IF, FL_IF);
    ck_assert_uint_eq(cpu_read_phys(c, sp + 24, 8), GUEST_STACK);
    ck_assert_uint_eq(sp + 40, GUEST_STACK);
    ck_assert(!(c->rflags & FL_IF)); /* interrupt gate */
    if (((injections[_i].info >> 8) & 7) == EVT_NMI)
        ck_assert(c->nmi_blocked);
}
END_TEST

/* "If VM entry is injecting a pending MTF VM exit (interruption type 7),
 * an MTF VM exit is pending ... even if the 'monitor trap flag' VM-execution
 * control is 0"; with MTF = 1 a vectored injection makes one pending too. */
START_TEST(inject_pending_mtf)
{
    put(VMCS_vm_entry_intr_info_field, INTR(7, 0));
    expect("other event", launch(), PASS, NULL);
    ck_assert(v->mtf_pending);
    ck_assert_uint_eq(c->rip, GUEST_CODE);
    teardown();
    setup();
    put(VMCS_cpu_based_vm_exec_control, PROC_D1 | (uint32_t)PROC_MONITOR_TRAP_FLAG);
    put(VMCS_vm_entry_intr_info_field, INTR(EVT_HW_EXC, 6));
    expect("MTF + #UD", launch(), PASS, NULL);
    ck_assert(v->mtf_pending);
    ck_assert(c->nr.single_step);
    ck_assert_uint_eq(c->rip, HANDLER);
    teardown();
    setup();
    put(VMCS_cpu_based_vm_exec_control, PROC_D1 | (uint32_t)PROC_MONITOR_TRAP_FLAG);
    expect("MTF, nothing injected", launch(), PASS, NULL);
    ck_assert(!v->mtf_pending);
}
END_TEST

/* The pending MTF VM exit injected with type 7 happens before the first
 * guest instruction, with the "monitor trap flag" control 0 or 1: reason
 * 37, guest RIP = the entry RIP, nothing delivered through the IDT, the
 * guest's RAX untouched (its first instruction loads it). From the HLT
 * state too, which the exit saves. */
static const struct { uint32_t proc; unsigned activity; } pending_mtf_cases[] = {
    { PROC_D1, VMX_ACTIVITY_ACTIVE },
    { PROC_D1 | (uint32_t)PROC_MONITOR_TRAP_FLAG, VMX_ACTIVITY_ACTIVE },
    { PROC_D1, VMX_ACTIVITY_HLT },
};

START_TEST(pending_mtf_exits_before_first_instruction)
{
    put(VMCS_cpu_based_vm_exec_control, pending_mtf_cases[_i].proc);
    put(VMCS_guest_activity_state, pending_mtf_cases[_i].activity);
    put(VMCS_vm_entry_intr_info_field, INTR(7, 0));
    c->gpr[0] = 0x1234;
    expect("pending MTF", launch(), PASS, NULL);
    cpu_run(c, 3);
    ck_assert(!c->vmx_nonroot);
    ck_assert_uint_eq(c->rip, HOST_RIP + 1);
    ck_assert_uint_eq(vmcs_get(v, VMCS_vm_exit_reason), VMX_EXIT_monitor_trap_flag);
    ck_assert_uint_eq(vmcs_get(v, VMCS_exit_qualification), 0);
    ck_assert_uint_eq(vmcs_get(v, VMCS_guest_rip), GUEST_CODE);
    ck_assert_uint_eq(vmcs_get(v, VMCS_guest_activity_state), pending_mtf_cases[_i].activity);
    ck_assert_uint_eq(c->gpr[0], 0x1234);
    ck_assert_uint_eq(vmcs_get(v, VMCS_vm_entry_intr_info_field), INTR(7, 0) & ~VMX_INTR_INFO_VALID);
}
END_TEST

/* Virtual NMIs: injecting an NMI sets virtual-NMI blocking (which the CPU's
 * NMI blocking stands for in non-root operation with virtual NMIs, so that
 * the guest's IRET clears it); the exit saves it as blocking by NMI. */
START_TEST(inject_virtual_nmi_blocks_virtual_nmis)
{
    put(VMCS_pin_based_vm_exec_control, PIN_D1 | (uint32_t)PIN_NMI_EXITING | (uint32_t)PIN_VIRTUAL_NMIS);
    put(VMCS_vm_entry_intr_info_field, INTR(EVT_NMI, 2));
    expect("virtual NMI", launch(), PASS, NULL);
    ck_assert(c->nmi_blocked);
    ck_assert(c->vmx_nonroot);
    ck_assert_uint_eq(c->rip, HANDLER);
}
END_TEST

/* ---- non-register state ----------------------------------------------------------------------- */

START_TEST(activity_and_interruptibility_load)
{
    put(VMCS_guest_activity_state, VMX_ACTIVITY_HLT);
    put(VMCS_guest_interruptibility_info, VMX_INTERRUPTIBILITY_NMI);
    expect("HLT", launch(), PASS, NULL);
    ck_assert(c->halted);
    ck_assert(c->nmi_blocked);
    ck_assert_uint_eq(c->rip, GUEST_CODE);
    teardown();
    setup();
    put(VMCS_guest_rflags, FL_FIXED1 | FL_IF);
    put(VMCS_guest_interruptibility_info, VMX_INTERRUPTIBILITY_STI);
    expect("STI blocking", launch(), PASS, NULL);
    ck_assert(!c->halted);
    ck_assert(!c->nmi_blocked);
    ck_assert_uint_ne(c->intr_shadow, 0);
    teardown();
    setup();
    /* an injected external interrupt wakes a HLT guest */
    put(VMCS_guest_rflags, FL_FIXED1 | FL_IF);
    put(VMCS_guest_activity_state, VMX_ACTIVITY_HLT);
    put(VMCS_vm_entry_intr_info_field, INTR(EVT_EXTINT, 0x41));
    expect("HLT + external interrupt", launch(), PASS, NULL);
    ck_assert(!c->halted);
    ck_assert_uint_eq(c->rip, HANDLER);
}
END_TEST

/* SDM 3C "Delivery of Pending Debug Exceptions after VM Entry": a pending
 * single-step (BS) becomes a #DB before the first guest instruction, with
 * DR6.BS set. */
START_TEST(pending_debug_exception_delivered)
{
    put(VMCS_guest_pending_dbg_exceptions, 1u << 14);
    put(VMCS_guest_rflags, FL_FIXED1 | FL_TF);
    expect("pending BS", launch(), PASS, NULL);
    ck_assert_uint_eq(c->rip, HANDLER);
    ck_assert_uint_eq(c->dr[6] & (1u << 14), 1u << 14);
    ck_assert_uint_eq(cpu_read_phys(c, c->gpr[4], 8), GUEST_CODE);
}
END_TEST

/* SDM 3C "Loading Guest Control Registers, Debug Registers, and MSRs":
 * with "load debug controls" DR7 (bits 12, 15:14 cleared, bit 10 set) and
 * IA32_DEBUGCTL come from the guest-state area; without it both keep their
 * values. */
START_TEST(debug_controls_loaded)
{
    c->debugctl = 0;
    c->dr[7] = 0x400;
    put(VMCS_guest_ia32_debugctl, DEBUGCTL_BTF);
    put(VMCS_guest_dr7, 0xd001);
    expect("load debug controls", launch(), PASS, NULL);
    ck_assert_uint_eq(c->debugctl, DEBUGCTL_BTF);
    ck_assert_uint_eq(c->dr[7], 0x401);
    teardown();
    setup();
    c->debugctl = 0;
    c->dr[7] = 0x400;
    put(VMCS_vm_entry_controls, V_ENTRY & ~(uint32_t)ENTRY_LOAD_DEBUG_CONTROLS);
    put(VMCS_guest_ia32_debugctl, DEBUGCTL_BTF);
    put(VMCS_guest_dr7, 0x401);
    expect("no load debug controls", launch(), PASS, NULL);
    ck_assert_uint_eq(c->debugctl, 0);
    ck_assert_uint_eq(c->dr[7], 0x400);
}
END_TEST

/* A pending debug exception that #DB in the exception bitmap turns into a
 * VM exit right after VM entry: the exit qualification has its B0-B3 and BS
 * (not bit 12, "enabled breakpoint", which DR6 does not have), DR6 is not
 * written (SDM 3C "Delivery of Pending Debug Exceptions after VM Entry",
 * "Exit Qualification for Debug Exceptions"). */
START_TEST(pending_debug_exception_exits)
{
    put(VMCS_exception_bitmap, 1u << EXC_DB);
    put(VMCS_guest_pending_dbg_exceptions, (1u << 14) | (1u << 12) | 0x5);
    put(VMCS_guest_rflags, FL_FIXED1 | FL_TF);
    c->dr[6] = 0xffff0ff0ull;
    launch();
    ck_assert(!c->vmx_nonroot);
    ck_assert_uint_eq(vmcs_get(v, VMCS_vm_exit_reason), VMX_EXIT_exception_nmi);
    ck_assert_uint_eq(vmcs_get(v, VMCS_vm_exit_intr_info), 0x80000301u);
    ck_assert_uint_eq(vmcs_get(v, VMCS_exit_qualification), 0x4005);
    ck_assert_uint_eq(vmcs_get(v, VMCS_guest_rip), GUEST_CODE);
    ck_assert_uint_eq(c->dr[6], 0xffff0ff0ull);
}
END_TEST

/* VMX-preemption timer: expires after value << rate TSC ticks from the
 * rate-aligned TSC when entry completes, after the entry's own cost
 * (IA32_VMX_MISC[4:0] = 5 here). */
START_TEST(preemption_timer_deadline)
{
    put(VMCS_pin_based_vm_exec_control, PIN_D1 | (uint32_t)PIN_ACTIVATE_PREEMPTION_TIMER);
    put(VMCS_vmx_preemption_timer_value, 100);
    c->cycles = 1000;
    expect("timer", launch(), PASS, NULL);
    ck_assert(v->preemption_active);
    ck_assert_uint_ge(v->entry_cycles, 1000);
    uint64_t done = v->entry_cycles + (c->cost ? c->cost->cycles[COST_vm_entry] : 0);
    ck_assert_uint_eq(v->preemption_deadline, ((done >> 5) + 100u) << 5);
}
END_TEST

/* ---- MSR loading (SDM 3C "Loading MSRs") ---------------------------------------------------------- */

static void msr_entry(unsigned i, uint64_t lo, uint64_t data)
{
    cpu_write_phys(c, MSR_AREA + 16 * i, 8, lo);
    cpu_write_phys(c, MSR_AREA + 16 * i + 8, 8, data);
}

START_TEST(msr_load_list_loads_after_guest_state)
{
    put(VMCS_guest_sysenter_cs, 0x10);
    msr_entry(0, 0xc0000102u, 0xffff888011223344ull); /* IA32_KERNEL_GS_BASE */
    msr_entry(1, 0x174, 0x99);                         /* IA32_SYSENTER_CS: the list wins */
    put(VMCS_vmentry_msr_load_addr, MSR_AREA);
    put(VMCS_vm_entry_msr_load_count, 2);
    expect("MSR load", launch(), PASS, NULL);
    ck_assert_uint_eq(c->kernel_gs_base, 0xffff888011223344ull);
    ck_assert_uint_eq(c->sysenter_cs, 0x99);
}
END_TEST

/* Each failing entry gives exit reason 34 | bit 31 and its 1-based index. */
static const struct {
    const char *name;
    uint64_t lo, data;
    const char *check;
} bad_msrs[] = {
    /* "The value of bits 31:0 is either C0000100H (the IA32_FS_BASE MSR) or
     * C0000101H (the IA32_GS_BASE MSR)." */
    { "FS_BASE", 0xc0000100u, 0, "MSR-load entry names IA32_FS_BASE or IA32_GS_BASE" },
    { "GS_BASE", 0xc0000101u, 0, "MSR-load entry names IA32_FS_BASE or IA32_GS_BASE" },
    /* "The value of bits 31:8 is 000008H" */
    { "x2APIC TPR", 0x808, 0, "MSR-load entry names an x2APIC MSR (800H-8FFH)" },
    /* SMM-only MSRs */
    { "IA32_SMBASE", 0x9e, 0, "MSR-load entry names an SMM-only MSR" },
    /* "Bits 63:32 are not all 0." */
    { "reserved bit 32", (1ull << 32) | 0xc0000102u, 0, "MSR-load entry reserved bits 63:32 are 0" },
    /* "would cause a general-protection exception if executed via WRMSR" */
    { "IA32_VMX_BASIC (read-only)", 0x480, 0, "MSR-load entry value writable by WRMSR at CPL 0" },
    { "IA32_EFER reserved bit", 0xc0000080u, EFER_LME | EFER_LMA | (1ull << 9),
      "MSR-load entry value writable by WRMSR at CPL 0" },
};

START_TEST(msr_load_failure_gives_index)
{
    msr_entry(0, 0xc0000102u, 0xabcdull);
    msr_entry(1, bad_msrs[_i].lo, bad_msrs[_i].data);
    put(VMCS_vmentry_msr_load_addr, MSR_AREA);
    put(VMCS_vm_entry_msr_load_count, 3);
    expect(bad_msrs[_i].name, launch(), FAIL_MSR(2), bad_msrs[_i].check);
    /* the entry before the failing one was loaded; the host state is back */
    ck_assert_uint_eq(c->kernel_gs_base, 0xabcdull);
    ck_assert(!c->vmx_nonroot);
    ck_assert_uint_eq(c->rip, HOST_RIP);
    ck_assert_uint_eq(v->launch_state, VMCS_STATE_CLEAR);
}
END_TEST

static Suite *vmx_entry_suite(void)
{
    Suite *s = suite_create("vmx_entry");
    TCase *t;

#define ADD(name, fn, n)                                                                \
    t = tcase_create(name);                                                             \
    tcase_add_checked_fixture(t, setup, teardown);                                      \
    tcase_add_loop_test(t, fn, 0, (int)(n));                                            \
    suite_add_tcase(s, t)
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

    ADD("controls", vmlaunch_control_check, NELEM(control_cases));
    ADD("host", vmlaunch_host_check, NELEM(host_cases));
    ADD("guest", vmlaunch_guest_check, NELEM(guest_cases));
    ADD("link_pointer", link_pointer_to_ordinary_vmcs_is_valid, 1);
    ADD("rflags_vm", rflags_vm_in_ia32e_mode, 1);
    ADD("host_cr4_bits", host_cr4_each_bit, 64);
    ADD("guest_rflags_bits", guest_rflags_each_bit, 64);
    ADD("canonical", canonical_edges, NELEM(canon_edges));
    ADD("guest_rip", guest_rip_bits_63_n, NELEM(guest_rips));
    tcase_add_test(t, guest_rip_noncanonical_faults_on_fetch);
    ADD("io_bitmap", io_bitmap_address_edges, NELEM(bitmap_addrs));
    ADD("vmcs_shadowing_bitmaps", vmcs_shadowing_bitmap_edges, 2 * NELEM(bitmap_addrs));
    ADD("msr_area", msr_area_edges_loop, NELEM(msr_area_edges));
    t = tcase_create("guest_cr3");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_loop_test(t, guest_cr3_width, 36, 64);
    suite_add_tcase(s, t);
    ADD("error_code", error_code_consistency, 64);
    ADD("sw_int_length", software_interrupt_length, 17);
    ADD("enter", vmlaunch_enters_64bit_guest, 1);
    tcase_add_test(t, failed_vmlaunch_keeps_vmcs_clear);
    tcase_add_test(t, vmlaunch_enters_32bit_guest_without_pae);
    tcase_add_test(t, vmlaunch_enters_32bit_pae_guest);
    ADD("pdpte", pae_pdpte_check, NELEM(pdpte_cases));
    ADD("inject", inject_event_frame, NELEM(injections));
    tcase_add_test(t, inject_pending_mtf);
    ADD("pending_mtf", pending_mtf_exits_before_first_instruction, NELEM(pending_mtf_cases));
    tcase_add_test(t, inject_virtual_nmi_blocks_virtual_nmis);
    ADD("nonregister", activity_and_interruptibility_load, 1);
    tcase_add_test(t, pending_debug_exception_delivered);
    tcase_add_test(t, pending_debug_exception_exits);
    tcase_add_test(t, debug_controls_loaded);
    tcase_add_test(t, preemption_timer_deadline);
    ADD("msr_load", msr_load_list_loads_after_guest_state, 1);
    ADD("msr_load_fail", msr_load_failure_gives_index, NELEM(bad_msrs));
    return s;
}

int main(void)
{
    return th_run_suite(vmx_entry_suite());
}
