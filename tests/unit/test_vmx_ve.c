/* EPT-violation #VE (SDM 3C "Virtualization Exceptions"): a 64-bit guest
 * under EPT on the skylake-server model with "EPT-violation #VE" meets EPT
 * violations; a convertible one (suppress-#VE 0 in the deciding entry,
 * information area free, no event being delivered) fills the
 * virtualization-exception information area and raises #VE (vector 20),
 * which the exception bitmap may turn into a VM exit or the guest IDT
 * delivers; the others are VM exits 48; misconfigurations never convert.
 * The set-up is test_vmx_ept.c's. */
#include "cpu/cpu_internal.h"
#include "nvmx/config.h"
#include "nvmx/ept.h"
#include "vmx/vmx_internal.h"
#include "harness.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#define RAM_SIZE (8u << 20)
#define PML4 0x1000ull /* PDPT 0x2000, PD 0x3000: 2-MByte identity pages, user, writable */
#define GDT_BASE 0x5000ull
#define TSS_BASE 0x6000ull
#define ROOT_CODE 0x10000ull
#define HOST_RIP 0x11000ull
#define GUEST_CODE 0x12000ull
#define CODE2 0x13000ull
#define DATA 0x20000ull
#define DATA2 0x21000ull
#define DESC 0x22000ull
#define GUEST_STACK 0x30000ull
#define HOST_STACK 0x40000ull
#define VMCS_PA 0x100000ull
#define VMXON_PA 0x101000ull
#define EPML4 0x300000ull
#define EPDPT 0x301000ull
#define EPD 0x302000ull
#define EPT_PT 0x303000ull /* maps guest-physical 0-2 MiB in 4-KByte pages */
#define WB (6ull << EPT_MT_SHIFT)
#define EPTP_WB4 (EPML4 | (3ull << EPTP_WALK_SHIFT) | EPT_MT_WB)
#define VE_AREA 0x309000ull
#define GUEST_IDT 0x24000ull
#define HANDLER 0x14000ull

#define PIN_D1 0x16u
#define PROC_D1 0x0401e172u
#define EXIT_D1 0x00036dffu
#define ENTRY_D1 0x000011ffu
#define CR0_HOST (CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG)
#define PROC_SEC ((uint32_t)PROC_ACTIVATE_SECONDARY_CONTROLS | (uint32_t)PROC_HLT_EXITING)

#define HLT 0xf4
#define MOV_RAX_DATA 0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x02, 0x00 /* mov rax, [DATA] */
#define MOV_DATA_RAX 0x48, 0x89, 0x04, 0x25, 0x00, 0x00, 0x02, 0x00 /* mov [DATA], rax */

static struct cpu_model model;
static struct cost_model cost;
static struct machine *m;
static struct cpu *c;
static struct vmx *v;

static uint64_t *ram64(uint64_t pa) { return (uint64_t *)(void *)(m->ram + pa); }
static uint64_t *ept_pte(uint64_t gpa) { return ram64(EPT_PT + ((gpa >> 12) & 511) * 8); }
static void put(enum vmcs_field f, uint64_t val) { vmcs_set(v, f, val); }
static uint64_t get(enum vmcs_field f) { return vmcs_get(v, f); }

/* EPT identity map of the 8 MiB of RAM: 4-KByte pages below 2 MiB, 2-MByte
 * pages above, all RWX and write-back. */
static void ept_identity(void)
{
    memset(m->ram + EPML4, 0, 4 * 4096);
    *ram64(EPML4) = EPDPT | EPT_RWX;
    *ram64(EPDPT) = EPD | EPT_RWX;
    *ram64(EPD) = EPT_PT | EPT_RWX;
    for (uint64_t i = 1; i < 4; i++)
        *ram64(EPD + 8 * i) = (i << 21) | EPT_PS | EPT_RWX | WB;
    for (uint64_t j = 0; j < 512; j++)
        *ram64(EPT_PT + 8 * j) = (j << 12) | EPT_RWX | WB;
}

static void set_seg(unsigned i, uint16_t sel, uint64_t base, uint32_t limit, uint32_t ar)
{
    put((enum vmcs_field)(VMCS_guest_es_selector + i), sel);
    put((enum vmcs_field)(VMCS_guest_es_base + i), base);
    put((enum vmcs_field)(VMCS_guest_es_limit + i), limit);
    put((enum vmcs_field)(VMCS_guest_es_ar_bytes + i), ar);
}

/* A valid VMCS: 64-bit host and guest sharing the flat GDT and the
 * identity page tables (guest-physical under EPT); EPT on, identity. */
static void valid_vmcs(void)
{
    put(VMCS_pin_based_vm_exec_control, PIN_D1);
    put(VMCS_cpu_based_vm_exec_control, PROC_D1 | PROC_SEC);
    put(VMCS_secondary_vm_exec_control, PROC2_ENABLE_EPT);
    put(VMCS_ept_pointer, EPTP_WB4);
    put(VMCS_exception_bitmap, 0xffffffffu); /* a guest fault is an exit, not a delivery */
    put(VMCS_vm_exit_controls, EXIT_D1 | (uint32_t)EXIT_HOST_ADDRESS_SPACE_SIZE);
    put(VMCS_vm_entry_controls, ENTRY_D1 | (uint32_t)ENTRY_IA32E_MODE_GUEST);
    put(VMCS_vmcs_link_pointer, ~0ull);

    put(VMCS_host_cr0, CR0_HOST);
    put(VMCS_host_cr3, PML4);
    put(VMCS_host_cr4, CR4_PAE | CR4_VMXE);
    put(VMCS_host_cs_selector, 0x08);
    put(VMCS_host_ss_selector, 0x10);
    put(VMCS_host_ds_selector, 0x10);
    put(VMCS_host_es_selector, 0x10);
    put(VMCS_host_tr_selector, 0x20);
    put(VMCS_host_tr_base, TSS_BASE);
    put(VMCS_host_gdtr_base, GDT_BASE);
    put(VMCS_host_rip, HOST_RIP);
    put(VMCS_host_rsp, HOST_STACK);

    put(VMCS_guest_cr0, CR0_HOST);
    put(VMCS_guest_cr3, PML4);
    put(VMCS_guest_cr4, CR4_PAE | CR4_VMXE);
    put(VMCS_guest_dr7, 0x400);
    set_seg(SEG_CS, 0x08, 0, 0xffffffffu, 0xa09b);
    for (unsigned s = 0; s < SEG_NSEGS; s++)
        if (s != SEG_CS)
            set_seg(s, 0x10, 0, 0xffffffffu, 0xc093);
    set_seg(6, 0, 0, 0, AR_UNUSABLE);
    set_seg(7, 0x20, TSS_BASE, 0x67, 0x8b);
    put(VMCS_guest_gdtr_base, GDT_BASE);
    put(VMCS_guest_gdtr_limit, 0x27);
    put(VMCS_guest_rip, GUEST_CODE);
    put(VMCS_guest_rsp, GUEST_STACK);
    put(VMCS_guest_rflags, FL_FIXED1);
    put(VMCS_guest_ia32_efer, EFER_LME | EFER_LMA);
}

static void setup(void)
{
    char path[640], err[512];
    snprintf(path, sizeof path, "%s", __FILE__);
    char *p = strstr(path, "tests/unit/test_vmx_ve.c");
    ck_assert_ptr_nonnull(p);
    snprintf(p, sizeof path - (size_t)(p - path), "configs/cpu/skylake-server.json");
    ck_assert_msg(config_load_cpu_model(path, &model, err, sizeof err), "%s", err);
    m = th_machine_create(RAM_SIZE, true);
    c = th_cpu_create(m, &model, &cost);
    th_long_mode_2m(c, PML4, 4, true, GDT_BASE);
    cpu_write_phys(c, GDT_BASE + 0x20, 8, 0x67 | ((TSS_BASE & 0xffffff) << 16) | (0x8bull << 40));
    cpu_write_phys(c, GDT_BASE + 0x28, 8, 0);
    th_gdt_user64(c, GDT_BASE);
    c->gdtr.limit = 8 * 7 - 1;
    c->cr4 |= CR4_VMXE;
    c->gpr[4] = HOST_STACK;
    c->stop_on_exception = true;
    cpu_write_phys(c, HOST_RIP, 1, HLT);

    struct vmx_caps caps;
    memcpy(caps.msr, model.vmx_msrs, sizeof caps.msr);
    ck_assert_msg(vmx_caps_validate(&caps, err, sizeof err), "%s", err);
    v = vmx_attach(c, &caps);
    ck_assert_ptr_nonnull(v);
    v->in_vmx_operation = true;
    v->vmxon_ptr = VMXON_PA;
    v->current_vmcs = VMCS_PA;
    v->launch_state = VMCS_STATE_CLEAR;
    cpu_write_phys(c, VMCS_PA, 4, (uint32_t)(model.vmx_msrs[VMX_MSR_BASIC] & 0x7fffffff));
    ept_identity();
    valid_vmcs();
}

static void teardown(void)
{
    vmx_detach(c);
    cpu_destroy(c);
    machine_destroy(m);
}

/* ---- running root code and the guest ------------------------------------------------ */

struct outcome {
    bool faulted;
    int vector;
    uint64_t flags; /* arithmetic flags afterwards */
};

/* Run bytes + HLT in root operation at ROOT_CODE, all six flags set first. */
static struct outcome root_exec(const uint8_t *bytes, size_t n)
{
    uint8_t buf[32];
    memcpy(buf, bytes, n);
    buf[n] = HLT;
    th_load(c, ROOT_CODE, buf, n + 1);
    th_start_at(c, ROOT_CODE);
    cpu_set_rflags(c, FL_FIXED1 | FL_ARITH);
    enum cpu_stop s = cpu_run(c, 10);
    struct outcome o = { .faulted = s == CPU_STOP_EXCEPTION, .vector = c->last_exception };
    o.flags = cpu_get_rflags(c) & FL_ARITH;
    return o;
}
#define ROOT(...)                                                                              \
    ({                                                                                         \
        static const uint8_t b_[] = { __VA_ARGS__ };                                           \
        root_exec(b_, sizeof b_);                                                              \
    })

/* VMLAUNCH (or VMRESUME) with the guest code at GUEST_CODE; runs until the
 * host's HLT after the VM exit. Returns the exit reason. */
static uint32_t run_guest(const uint8_t *code, size_t n, bool resume)
{
    th_load(c, GUEST_CODE, code, n);
    put(VMCS_guest_rip, GUEST_CODE);
    uint8_t insn[3] = { 0x0f, 0x01, resume ? 0xc3 : 0xc2 };
    th_load(c, ROOT_CODE, insn, 3);
    cpu_write_phys(c, ROOT_CODE + 3, 1, HLT);
    th_start_at(c, ROOT_CODE);
    cpu_set_rflags(c, FL_FIXED1);
    enum cpu_stop s = cpu_run(c, 200);
    ck_assert_msg(s == CPU_STOP_HLT_FOREVER && !c->vmx_nonroot && c->rip == HOST_RIP + 1,
                  "no VM exit: stop %d, rip 0x%llx, non-root %d, VM-instruction error %llu", s,
                  (unsigned long long)c->rip, c->vmx_nonroot,
                  (unsigned long long)get(VMCS_vm_instruction_error));
    return (uint32_t)get(VMCS_vm_exit_reason);
}
#define GUEST(resume, ...)                                                                     \
    ({                                                                                         \
        static const uint8_t g_[] = { __VA_ARGS__ };                                           \
        run_guest(g_, sizeof g_, (resume));                                                    \
    })

static void expect_exit(uint32_t reason, uint32_t expected, uint64_t rip)
{
    ck_assert_msg(reason == expected, "exit reason %u, expected %u (qualification 0x%llx)", reason,
                  expected, (unsigned long long)get(VMCS_exit_qualification));
    ck_assert_msg(get(VMCS_guest_rip) == rip, "guest RIP 0x%llx, expected 0x%llx",
                  (unsigned long long)get(VMCS_guest_rip), (unsigned long long)rip);
}


#define VMLAUNCH 0x0f, 0x01, 0xc2
#define UD2 0x0f, 0x0b
#define MOV_RAX_HIGH 0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x60, 0x00 /* mov rax, [0x600000] */
#define PROC2_VE ((uint32_t)PROC2_ENABLE_EPT | (uint32_t)PROC2_EPT_VIOLATION_VE)
#define VE_INTR_INFO 0x80000314u /* valid, hardware exception, vector 20 */

static uint32_t area32(unsigned off) { return (uint32_t)cpu_read_phys(c, VE_AREA + off, 4); }
static uint64_t area64(unsigned off) { return cpu_read_phys(c, VE_AREA + off, 8); }

/* "EPT-violation #VE" on, the information area free, EPTP index 5, guest
 * exceptions delivered (the harness stops at them otherwise); the
 * exception bitmap has only #VE. */
static void ve_setup(void)
{
    setup();
    memset(m->ram + VE_AREA, 0, 4096);
    put(VMCS_secondary_vm_exec_control, PROC2_VE);
    put(VMCS_ve_information_address, VE_AREA);
    put(VMCS_eptp_index, 5);
    put(VMCS_exception_bitmap, 1u << EXC_VE);
    c->stop_on_exception = false;
}

/* A not-present EPT PTE with suppress-#VE 0: the read becomes #VE, which
 * exits through the exception bitmap (reason 0, vector 20, no error code)
 * at the instruction; the area holds exit reason 48, FFFFFFFFH, the EPT-
 * violation qualification (read, guest-linear valid, translation, no
 * permissions), the guest-linear and guest-physical address and the EPTP
 * index. */
START_TEST(not_present_pte_raises_ve)
{
    *ept_pte(DATA) = 0;
    expect_exit(GUEST(false, MOV_RAX_DATA, HLT), VMX_EXIT_exception_nmi, GUEST_CODE);
    ck_assert_uint_eq(get(VMCS_vm_exit_intr_info), VE_INTR_INFO);
    ck_assert_uint_eq(area32(0), VMX_EXIT_ept_violation);
    ck_assert_uint_eq(area32(4), 0xffffffffu);
    uint64_t q = area64(8);
    ck_assert_uint_eq(q & 0x1bfull, EPT_QUAL_READ | EPT_QUAL_LINEAR_VALID | EPT_QUAL_TRANSLATION);
    ck_assert_uint_eq(area64(16), DATA);
    ck_assert_uint_eq(area64(24), DATA);
    ck_assert_uint_eq(cpu_read_phys(c, VE_AREA + 32, 2), 5);
    ck_assert_uint_eq(vmx_get_stats(v)->ve_delivered, 1);
    ck_assert_uint_eq(vmx_get_stats(v)->exits[VMX_EXIT_ept_violation], 0);
}
END_TEST

/* What keeps an EPT violation a VM exit (48): suppress-#VE set in the
 * not-present PTE or in the leaf that denies the access, the area in use
 * (offset 4 not 0), the control off. The area is not written. */
static const struct {
    const char *what;
    uint64_t pte;
    uint32_t busy;
    uint32_t proc2;
    bool write;
} exit_cases[] = {
    { "suppress #VE in a not-present PTE", EPT_SVE, 0, PROC2_VE, false },
    { "suppress #VE in a read-only leaf", DATA | EPT_R | WB | EPT_SVE, 0, PROC2_VE, true },
    { "information area busy (FFFFFFFFH)", 0, 0xffffffffu, PROC2_VE, false },
    { "information area busy (1)", 0, 1, PROC2_VE, false },
    { "control off", 0, 0, (uint32_t)PROC2_ENABLE_EPT, false },
};

START_TEST(violation_stays_exit)
{
    *ept_pte(DATA) = exit_cases[_i].pte;
    cpu_write_phys(c, VE_AREA + 4, 4, exit_cases[_i].busy);
    put(VMCS_secondary_vm_exec_control, exit_cases[_i].proc2);
    uint32_t r = exit_cases[_i].write ? GUEST(false, MOV_DATA_RAX, HLT) : GUEST(false, MOV_RAX_DATA, HLT);
    ck_assert_msg(r == VMX_EXIT_ept_violation, "%s: exit %u", exit_cases[_i].what, r);
    ck_assert_uint_eq(get(VMCS_guest_physical_address), DATA);
    ck_assert_uint_eq(area32(0), 0);
    ck_assert_uint_eq(area32(4), exit_cases[_i].busy);
}
END_TEST

/* A permission violation in a leaf with suppress-#VE 0 converts (the write
 * to a read-only page: qualification write, readable). */
START_TEST(leaf_permission_violation_raises_ve)
{
    *ept_pte(DATA) = DATA | EPT_R | WB;
    expect_exit(GUEST(false, MOV_DATA_RAX, HLT), VMX_EXIT_exception_nmi, GUEST_CODE);
    ck_assert_uint_eq(get(VMCS_vm_exit_intr_info), VE_INTR_INFO);
    ck_assert_uint_eq(area64(8) & 0x3full, EPT_QUAL_WRITE | EPT_QUAL_READABLE);
}
END_TEST

/* A not-present entry above the leaf decides: the PDE of 6 MiB. */
START_TEST(not_present_pde_decides)
{
    *ram64(EPD + 8 * 3) = 0;
    expect_exit(GUEST(false, MOV_RAX_HIGH, HLT), VMX_EXIT_exception_nmi, GUEST_CODE);
    ck_assert_uint_eq(area64(24), 0x600000);
    memset(m->ram + VE_AREA, 0, 64);
    *ram64(EPD + 8 * 3) = EPT_SVE;
    expect_exit(GUEST(true, MOV_RAX_HIGH, HLT), VMX_EXIT_ept_violation, GUEST_CODE);
    ck_assert_uint_eq(area32(4), 0);
}
END_TEST

static void guest_gate(unsigned vec, uint64_t handler)
{
    uint64_t lo = (handler & 0xffff) | (0x08ull << 16) | (0xeull << 40) | (1ull << 47) |
                  (((handler >> 16) & 0xffff) << 48);
    *ram64(GUEST_IDT + 16 * vec) = lo;
    *ram64(GUEST_IDT + 16 * vec + 8) = handler >> 32;
}

/* Without #VE in the exception bitmap the guest's IDT delivers it: a fault
 * with no error code, RIP of the instruction pushed; the handler's HLT
 * exits. */
START_TEST(ve_delivered_through_guest_idt)
{
    put(VMCS_exception_bitmap, 0);
    put(VMCS_guest_idtr_base, GUEST_IDT);
    put(VMCS_guest_idtr_limit, 0xfff);
    memset(m->ram + GUEST_IDT, 0, 4096);
    guest_gate(EXC_VE, HANDLER);
    cpu_write_phys(c, HANDLER, 1, HLT);
    *ept_pte(DATA) = 0;
    expect_exit(GUEST(false, MOV_RAX_DATA, HLT), VMX_EXIT_hlt, HANDLER);
    uint64_t rsp = get(VMCS_guest_rsp);
    ck_assert_uint_eq(*ram64(rsp), GUEST_CODE); /* RIP; CS, RFLAGS, RSP, SS above */
    ck_assert_uint_eq(*ram64(rsp + 8), 0x08);
    ck_assert_uint_eq(rsp + 40, GUEST_STACK);
    ck_assert_uint_eq(area32(4), 0xffffffffu);
}
END_TEST

/* "... the logical processor is not in the process of delivering an event
 * through the IDT": #UD's delivery reads the guest IDT from a page whose
 * not-present PTE has suppress-#VE 0 -- a VM exit 48, with the #UD in the
 * IDT-vectoring information. */
START_TEST(violation_during_event_delivery_exits)
{
    put(VMCS_exception_bitmap, 0);
    put(VMCS_guest_idtr_base, GUEST_IDT);
    put(VMCS_guest_idtr_limit, 0xfff);
    *ept_pte(GUEST_IDT) = 0;
    expect_exit(GUEST(false, UD2, HLT), VMX_EXIT_ept_violation, GUEST_CODE);
    ck_assert_uint_eq(get(VMCS_guest_physical_address) & ~0xfffull, GUEST_IDT);
    ck_assert_uint_eq(get(VMCS_idt_vectoring_info_field), 0x80000306u);
    ck_assert_uint_eq(area32(4), 0);
}
END_TEST

/* A misconfiguration is never converted: exit 49. */
START_TEST(misconfig_never_converts)
{
    *ept_pte(DATA) = DATA | EPT_W | WB; /* write without read */
    expect_exit(GUEST(false, MOV_RAX_DATA, HLT), VMX_EXIT_ept_misconfig, GUEST_CODE);
    ck_assert_uint_eq(area32(4), 0);
}
END_TEST

/* SDM 3C "Checks on VMX Controls": with the control, the information
 * address 4-KByte aligned, within MAXPHYADDR: else VMfailValid(7). */
static const struct {
    const char *what;
    uint32_t proc2;
    uint64_t addr;
    bool ok;
} entry_cases[] = {
    { "valid", PROC2_VE, VE_AREA, true },
    { "address bit 2", PROC2_VE, VE_AREA | 4, false },
    { "address bit 11", PROC2_VE, VE_AREA | 0x800, false },
    { "address at 1 << MAXPHYADDR", PROC2_VE, 1ull << 46, false },
    { "address below 1 << MAXPHYADDR", PROC2_VE, (1ull << 46) - 0x1000, true },
    { "control off: address ignored", (uint32_t)PROC2_ENABLE_EPT, 1, true },
};

START_TEST(ve_entry_checks)
{
    put(VMCS_secondary_vm_exec_control, entry_cases[_i].proc2);
    put(VMCS_ve_information_address, entry_cases[_i].addr);
    c->stop_on_exception = true;
    struct outcome o = ROOT(VMLAUNCH);
    if (entry_cases[_i].ok) {
        ck_assert_msg(c->vmx_nonroot, "%s: not entered (error %llu)", entry_cases[_i].what,
                      (unsigned long long)get(VMCS_vm_instruction_error));
    } else {
        ck_assert_msg(!c->vmx_nonroot && o.flags == FL_ZF, "%s: flags 0x%llx", entry_cases[_i].what,
                      (unsigned long long)o.flags);
        ck_assert_uint_eq(get(VMCS_vm_instruction_error), VMX_INSN_ERR_ENTRY_INVALID_CONTROL);
    }
}
END_TEST

static Suite *ve_suite(void)
{
    Suite *s = suite_create("vmx_ve");
    TCase *tc = tcase_create("ve");
    tcase_add_checked_fixture(tc, ve_setup, teardown);
    tcase_add_test(tc, not_present_pte_raises_ve);
    tcase_add_loop_test(tc, violation_stays_exit, 0, (int)(sizeof exit_cases / sizeof exit_cases[0]));
    tcase_add_test(tc, leaf_permission_violation_raises_ve);
    tcase_add_test(tc, not_present_pde_decides);
    tcase_add_test(tc, ve_delivered_through_guest_idt);
    tcase_add_test(tc, violation_during_event_delivery_exits);
    tcase_add_test(tc, misconfig_never_converts);
    tcase_add_loop_test(tc, ve_entry_checks, 0, (int)(sizeof entry_cases / sizeof entry_cases[0]));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(ve_suite());
}
