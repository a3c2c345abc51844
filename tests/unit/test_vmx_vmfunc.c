/* VM functions (SDM 3C "VM Functions", "EPTP Switching"; SDM 2B "VMFUNC"):
 * a 64-bit guest under EPT on the skylake-server model executes VMFUNC;
 * EPTP switching to the second entry of the EPTP list remaps DATA without
 * a VM exit, every failing case exits with reason 59, VMFUNC without
 * "enable VM functions" is #UD, and VM entry checks the VM-function
 * controls. The set-up is test_vmx_ept.c's. */
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
#define ALT_EPML4 0x304000ull /* a copy of the identity tables with DATA -> DATA2 */
#define ALT_EPTP (ALT_EPML4 | (3ull << EPTP_WALK_SHIFT) | EPT_MT_WB)
#define EPTP_LIST 0x308000ull

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
    char *p = strstr(path, "tests/unit/test_vmx_vmfunc.c");
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


#define VMFUNC 0x0f, 0x01, 0xd4
#define MOV_EAX(i) 0xb8, (i) & 0xff, ((i) >> 8) & 0xff, ((i) >> 16) & 0xff, ((uint32_t)(i) >> 24) & 0xff
#define MOV_ECX(i) 0xb9, (i) & 0xff, ((i) >> 8) & 0xff, ((i) >> 16) & 0xff, ((uint32_t)(i) >> 24) & 0xff
#define MOV_RBX_DATA 0x48, 0x8b, 0x1c, 0x25, 0x00, 0x00, 0x02, 0x00 /* mov rbx, [DATA] */
#define VMLAUNCH 0x0f, 0x01, 0xc2
#define PROC2_VMFUNC ((uint32_t)PROC2_ENABLE_EPT | (uint32_t)PROC2_ENABLE_VM_FUNCTIONS)

/* The alternative EPT: the identity tables copied, the PTE of DATA -> DATA2;
 * the EPTP list: [0] the identity EPTP, [1] the alternative, [2] memory
 * type 7, [3] 5-level walk (the model has 4-level only), [4] A/D enabled,
 * [511] the alternative; VM functions on with EPTP switching. */
static void vmfunc_setup(void)
{
    setup();
    memcpy(m->ram + ALT_EPML4, m->ram + EPML4, 4 * 4096);
    *ram64(ALT_EPML4) = (ALT_EPML4 + 0x1000) | EPT_RWX;
    *ram64(ALT_EPML4 + 0x1000) = (ALT_EPML4 + 0x2000) | EPT_RWX;
    *ram64(ALT_EPML4 + 0x2000) = (ALT_EPML4 + 0x3000) | EPT_RWX;
    *ram64(ALT_EPML4 + 0x3000 + ((DATA >> 12) & 511) * 8) = DATA2 | EPT_RWX | WB;
    memset(m->ram + EPTP_LIST, 0, 4096);
    *ram64(EPTP_LIST) = EPTP_WB4;
    *ram64(EPTP_LIST + 8) = ALT_EPTP;
    *ram64(EPTP_LIST + 16) = ALT_EPTP | 7;
    *ram64(EPTP_LIST + 24) = (ALT_EPTP & ~EPTP_WALK_MASK) | (4ull << EPTP_WALK_SHIFT);
    *ram64(EPTP_LIST + 32) = ALT_EPTP | EPTP_AD;
    *ram64(EPTP_LIST + 8 * 511) = ALT_EPTP;
    *ram64(DATA) = 0x1111;
    *ram64(DATA2) = 0x2222;
    put(VMCS_secondary_vm_exec_control, PROC2_VMFUNC);
    put(VMCS_vm_function_control, 1);
    put(VMCS_eptp_list_address, EPTP_LIST);
}

/* Function 0 with index 1: the next access to DATA translates through the
 * new EPTP at once -- the translation cached before is the old EPTP's --
 * with no VM exit and no RFLAGS change; the EPTP field holds the new
 * EPTP, and, as the model supports "EPT-violation #VE", the EPTP-index
 * field the index (whatever that control's setting). */
START_TEST(eptp_switching)
{
    put(VMCS_eptp_index, 0x77);
    c->gpr[0] = c->gpr[3] = 0;
    uint64_t exits = vmx_get_stats(v)->exits[VMX_EXIT_vmfunc];
    expect_exit(GUEST(false, MOV_RBX_DATA, MOV_EAX(0), MOV_ECX(1), VMFUNC, MOV_RAX_DATA, HLT),
                VMX_EXIT_hlt, GUEST_CODE + 8 + 5 + 5 + 3 + 8);
    ck_assert_uint_eq(get(VMCS_ept_pointer), ALT_EPTP);
    ck_assert_uint_eq(c->gpr[3], 0x1111);
    ck_assert_uint_eq(c->gpr[0], 0x2222);
    ck_assert_uint_eq(get(VMCS_eptp_index), 1);
    ck_assert_uint_eq(vmx_get_stats(v)->exits[VMX_EXIT_vmfunc], exits);
    /* the guest resumes on the new EPTP; index 0 switches back */
    expect_exit(GUEST(true, MOV_RBX_DATA, MOV_EAX(0), MOV_ECX(0), VMFUNC, MOV_RAX_DATA, HLT),
                VMX_EXIT_hlt, GUEST_CODE + 8 + 5 + 5 + 3 + 8);
    ck_assert_uint_eq(c->gpr[3], 0x2222);
    ck_assert_uint_eq(c->gpr[0], 0x1111);
    ck_assert_uint_eq(get(VMCS_ept_pointer), EPTP_WB4);
    ck_assert_uint_eq(get(VMCS_eptp_index), 0);
}
END_TEST

/* VMFUNC that fails exits with reason 59 at the instruction, length 3 (SDM
 * 3C "VM Functions", "EPTP Switching"): a function not enabled,
 * index >= 512, an EPTP VM entry would refuse. An A/D-enabled EPTP is valid
 * (the model has EPT A/D flags). */
static const struct {
    const char *what;
    uint32_t eax, ecx, ctl;
    bool exits;
} vmfunc_cases[] = {
    { "index 511", 0, 511, 1, false },
    { "A/D-enabled EPTP", 0, 4, 1, false },
    { "index 512", 0, 512, 1, true },
    { "index 0xffffffff", 0, 0xffffffffu, 1, true },
    { "memory type 7", 0, 2, 1, true },
    { "5-level walk", 0, 3, 1, true },
    { "zero EPTP", 0, 5, 1, true },
    { "function 1 not enabled", 1, 1, 1, true },
    { "function 63 not enabled", 63, 1, 1, true },
    { "function 0 not enabled", 0, 1, 0, true },
};

START_TEST(vmfunc_exits)
{
    put(VMCS_vm_function_control, vmfunc_cases[_i].ctl);
    static uint8_t code[32];
    uint8_t g[] = { MOV_EAX(vmfunc_cases[_i].eax), MOV_ECX(vmfunc_cases[_i].ecx), VMFUNC, HLT };
    memcpy(code, g, sizeof g);
    uint32_t r = run_guest(code, sizeof g, false);
    if (vmfunc_cases[_i].exits) {
        expect_exit(r, VMX_EXIT_vmfunc, GUEST_CODE + 10);
        ck_assert_uint_eq(get(VMCS_vm_exit_instruction_len), 3);
        ck_assert_uint_eq(get(VMCS_ept_pointer), EPTP_WB4);
    } else {
        expect_exit(r, VMX_EXIT_hlt, GUEST_CODE + 13);
        ck_assert_uint_eq(get(VMCS_ept_pointer), *ram64(EPTP_LIST + 8ull * vmfunc_cases[_i].ecx));
    }
}
END_TEST

/* Without "enable VM functions", and with EAX >= 64, VMFUNC is #UD in
 * non-root operation (the exception bitmap turns it into exit 0); #UD in
 * root operation. */
static const uint32_t ud_functions[] = { 64, 0x80000000u, 0xffffffffu };

START_TEST(vmfunc_ud_eax_64)
{
    c->stop_on_exception = false;
    static uint8_t code[32];
    uint8_t g[] = { MOV_EAX(ud_functions[_i]), MOV_ECX(1), VMFUNC, HLT };
    memcpy(code, g, sizeof g);
    expect_exit(run_guest(code, sizeof g, false), VMX_EXIT_exception_nmi, GUEST_CODE + 10);
    ck_assert_uint_eq(get(VMCS_vm_exit_intr_info), 0x80000306u);
    ck_assert_uint_eq(get(VMCS_ept_pointer), EPTP_WB4);
}
END_TEST

START_TEST(vmfunc_ud)
{
    put(VMCS_secondary_vm_exec_control, PROC2_ENABLE_EPT);
    c->stop_on_exception = false; /* the exception bitmap (all ones) decides */
    expect_exit(GUEST(false, MOV_EAX(0), MOV_ECX(1), VMFUNC, HLT), VMX_EXIT_exception_nmi,
                GUEST_CODE + 10);
    c->stop_on_exception = true;
    ck_assert_uint_eq(get(VMCS_vm_exit_intr_info), 0x80000306u);
    struct outcome o = ROOT(MOV_EAX(0), MOV_ECX(1), VMFUNC);
    ck_assert(o.faulted);
    ck_assert_int_eq(o.vector, EXC_UD);
}
END_TEST

/* SDM 3C "Checks on VMX Controls": with "enable VM functions", reserved
 * VM-function controls (IA32_VMX_VMFUNC), EPTP switching without "enable
 * EPT", an EPTP-list address misaligned or beyond MAXPHYADDR: VMfailValid(7).
 * Without EPTP switching the address is not checked. */
static const struct {
    const char *what;
    uint32_t proc2;
    uint64_t ctl, list;
    bool ok;
} entry_cases[] = {
    { "valid", PROC2_VMFUNC, 1, EPTP_LIST, true },
    { "reserved bit 1", PROC2_VMFUNC, 3, EPTP_LIST, false },
    { "reserved bit 63", PROC2_VMFUNC, 1ull << 63, EPTP_LIST, false },
    { "EPTP switching without EPT", (uint32_t)PROC2_ENABLE_VM_FUNCTIONS, 1, EPTP_LIST, false },
    { "list misaligned", PROC2_VMFUNC, 1, EPTP_LIST + 8, false },
    { "list bit 11", PROC2_VMFUNC, 1, EPTP_LIST | 0x800, false },
    { "list at 1 << MAXPHYADDR", PROC2_VMFUNC, 1, 1ull << 46, false },
    { "list below 1 << MAXPHYADDR", PROC2_VMFUNC, 1, (1ull << 46) - 0x1000, true },
    { "no EPTP switching: list ignored", PROC2_VMFUNC, 0, 1, true },
    { "VM functions off: controls ignored", (uint32_t)PROC2_ENABLE_EPT, ~0ull, 1, true },
};

START_TEST(vm_function_entry_checks)
{
    put(VMCS_secondary_vm_exec_control, entry_cases[_i].proc2);
    put(VMCS_vm_function_control, entry_cases[_i].ctl);
    put(VMCS_eptp_list_address, entry_cases[_i].list);
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

static Suite *vmfunc_suite(void)
{
    Suite *s = suite_create("vmx_vmfunc");
    TCase *tc = tcase_create("vmfunc");
    tcase_add_checked_fixture(tc, vmfunc_setup, teardown);
    tcase_add_test(tc, eptp_switching);
    tcase_add_loop_test(tc, vmfunc_exits, 0, (int)(sizeof vmfunc_cases / sizeof vmfunc_cases[0]));
    tcase_add_test(tc, vmfunc_ud);
    tcase_add_loop_test(tc, vmfunc_ud_eax_64, 0, (int)(sizeof ud_functions / sizeof ud_functions[0]));
    tcase_add_loop_test(tc, vm_function_entry_checks, 0,
                        (int)(sizeof entry_cases / sizeof entry_cases[0]));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(vmfunc_suite());
}
