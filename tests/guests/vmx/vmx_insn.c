/* VMX instructions: each one's success and each failure mode reachable from
 * a single logical processor: #UD, #GP(0), VMfailInvalid and VMfailValid
 * with its error number (SDM 3C "VMX Instruction Reference", "VM-Instruction
 * Error Numbers"). */
#include "console.h"
#include "exc.h"
#include "report.h"
#include "rtstring.h"
#include "vmx_common.h"
#include "x86.h"

enum op {
    OP_VMXON, OP_VMXOFF, OP_VMPTRST, OP_VMREAD, OP_VMWRITE, OP_VMCLEAR, OP_VMPTRLD,
    OP_VMLAUNCH, OP_VMRESUME, OP_VMCALL, OP_VMXON_REG, OP_CR4_CLEAR_VMXE, OP_CR0_CLEAR_NE,
    OP_WRMSR_FC,
};

static uint64_t op_ptr;
static int op_result;

static void do_op(void *arg)
{
    uint64_t v = 0;

    op_result = VMX_OK;
    switch ((enum op)(uint64_t)arg) {
    case OP_VMXON: op_result = vmxon(op_ptr); break;
    case OP_VMXOFF: op_result = vmxoff(); break;
    case OP_VMPTRST: op_result = vmptrst(&v); break;
    case OP_VMREAD: op_result = vmread_checked(GUEST_RIP, &v); break;
    case OP_VMWRITE: op_result = vmwrite(GUEST_RIP, 0); break;
    case OP_VMCLEAR: op_result = vmclear(op_ptr); break;
    case OP_VMPTRLD: op_result = vmptrld(op_ptr); break;
    case OP_VMLAUNCH: op_result = VMX_ASM_RESULT("vmlaunch", "i"(0)); break;
    case OP_VMRESUME: op_result = VMX_ASM_RESULT("vmresume", "i"(0)); break;
    case OP_VMCALL: op_result = vmcall(); break;
    /* VMXON with a register operand: F3 0F C7 /6, mod = 11 (SDM 3C "VMXON":
     * "IF (register operand) ... THEN #UD") */
    case OP_VMXON_REG: __asm__ volatile(".byte 0xf3, 0x0f, 0xc7, 0xf0"); break;
    case OP_CR4_CLEAR_VMXE: write_cr4(read_cr4() & ~CR4_VMXE); break;
    case OP_CR0_CLEAR_NE: write_cr0(read_cr0() & ~CR0_NE_BIT); break;
    case OP_WRMSR_FC: wrmsr(MSR_IA32_FEATURE_CONTROL, FC_LOCK | FC_VMX_OUTSIDE_SMX); break;
    }
}

static const char *const op_names[] = {
    "vmxon", "vmxoff", "vmptrst", "vmread", "vmwrite", "vmclear", "vmptrld", "vmlaunch",
    "vmresume", "vmcall", "vmxon_reg", "mov_cr4_clear_vmxe", "mov_cr0_clear_ne", "wrmsr_fc",
};

/* Expect op to raise vector (with error code 0 for #GP). */
static void expect_fault(const char *what, enum op op, int vector)
{
    char name[96];
    int v = exc_run(do_op, (void *)(uint64_t)op);

    fmt_snprintf(name, sizeof(name), "%s_%s_%s", op_names[op], what,
                 vector == 6 ? "ud" : vector == 13 ? "gp" : "no_fault");
    if (v != vector) {
        report_fail(name, "expected vector %d got %d", vector, v);
        return;
    }
    if (vector == 13 && exc_last.f.error != 0) {
        report_fail(name, "expected #GP(0) got #GP(%#lx)", exc_last.f.error);
        return;
    }
    report_pass(name);
}

/* Expect op to complete with a VMX result. */
static void expect_result(const char *name, enum op op, int result, uint32_t err)
{
    int v = exc_run(do_op, (void *)(uint64_t)op);

    if (v != -1) {
        report_fail(name, "expected %s, got vector %d", result ? "VMfail" : "VMsucceed", v);
        return;
    }
    check_vmx(name, op_result, result, err);
}

/* CPL 3 code (user pages): a VMX instruction then INT 0x80 back. */
__attribute__((section(".user.data"))) static uint64_t user_ptr;

__attribute__((section(".user.text"), noinline)) static void user_vmxon(uint64_t arg)
{
    __asm__ volatile("vmxon %0; int $0x80" : : "m"(user_ptr));
}

__attribute__((section(".user.text"), noinline)) static void user_vmread(uint64_t arg)
{
    __asm__ volatile("vmread %%rax, %%rbx; int $0x80" : : "a"((uint64_t)GUEST_RIP) : "rbx");
}

__attribute__((section(".user.text"), noinline)) static void user_vmxoff(uint64_t arg)
{
    __asm__ volatile("vmxoff; int $0x80");
}

static void expect_user_gp(const char *name, void (*fn)(uint64_t))
{
    int v = exc_run_user(fn, 0, 0);

    if (v == 13 && exc_last.f.error == 0)
        report_pass(name);
    else
        report_fail(name, "expected #GP(0) got vector %d error %#lx", v, exc_last.f.error);
}

static void test_outside_vmx(void)
{
    /* SDM 3C "VMXON": #UD if CR4.VMXE = 0; the others: #UD outside VMX
     * operation. */
    write_cr4(read_cr4() & ~CR4_VMXE);
    op_ptr = (uint64_t)vmx_vmxon_region;
    expect_fault("cr4_vmxe_0", OP_VMXON, 6);
    for (enum op op = OP_VMXOFF; op <= OP_VMCALL; op++)
        expect_fault("outside_vmx", op, 6);
    write_cr4(read_cr4() | CR4_VMXE);
    for (enum op op = OP_VMXOFF; op <= OP_VMCALL; op++)
        expect_fault("outside_vmx_vmxe_1", op, 6);
    expect_fault("register_operand", OP_VMXON_REG, 6);
}

/* SDM 3C "VMXON": #GP(0) if IA32_FEATURE_CONTROL.lock = 0 or VMX outside
 * SMX is disabled; SDM 4 "IA32_FEATURE_CONTROL": WRMSR #GP once locked. */
static void test_feature_control(void)
{
    uint64_t fc = rdmsr(MSR_IA32_FEATURE_CONTROL);

    if (!(fc & FC_LOCK)) {
        check_eq("feature_control_resets_to_0", fc, 0);
        vmx_region_init(vmx_vmxon_region, VMX_BASIC_REVISION(vmx_caps.basic));
        op_ptr = (uint64_t)vmx_vmxon_region;
        expect_fault("feature_control_unlocked", OP_VMXON, 13);
        /* Do what firmware does, then go on. */
        wrmsr(MSR_IA32_FEATURE_CONTROL, FC_LOCK | FC_VMX_OUTSIDE_SMX);
        fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
        check_eq("feature_control_locked_readback", fc, FC_LOCK | FC_VMX_OUTSIDE_SMX);
    }
    check_true("feature_control_locked_vmx_outside_smx", fc & FC_VMX_OUTSIDE_SMX,
               "IA32_FEATURE_CONTROL bit 2 set");
    expect_fault("feature_control_locked", OP_WRMSR_FC, 13);
}

static void test_vmxon(void)
{
    uint32_t rev = VMX_BASIC_REVISION(vmx_caps.basic);

    write_cr0(vmx_fix_cr0(read_cr0()));
    write_cr4(vmx_fix_cr4(read_cr4() | CR4_VMXE));
    user_ptr = (uint64_t)vmx_vmxon_region;
    expect_user_gp("vmxon_cpl3_gp", user_vmxon);

    /* SDM 3C "VMXON": VMfailInvalid for a misaligned pointer, one beyond the
     * physical-address width, or a wrong revision identifier. */
    vmx_region_init(vmx_vmxon_region, rev ^ 1);
    op_ptr = (uint64_t)vmx_vmxon_region;
    expect_result("vmxon_bad_revision_failinvalid", OP_VMXON, VMX_FAIL_INVALID, 0);
    vmx_region_init(vmx_vmxon_region, rev);
    op_ptr = (uint64_t)vmx_vmxon_region + 8;
    expect_result("vmxon_misaligned_failinvalid", OP_VMXON, VMX_FAIL_INVALID, 0);
    op_ptr = 1ull << vmx_caps.maxphyaddr;
    expect_result("vmxon_beyond_maxphyaddr_failinvalid", OP_VMXON, VMX_FAIL_INVALID, 0);
    op_ptr = (uint64_t)vmx_vmxon_region;
    expect_result("vmxon_succeeds", OP_VMXON, VMX_OK, 0);
    /* In VMX root operation without a current VMCS: VMfailInvalid. */
    expect_result("vmxon_in_root_no_vmcs_failinvalid", OP_VMXON, VMX_FAIL_INVALID, 0);
    user_ptr = (uint64_t)vmx_vmxon_region;
    expect_user_gp("vmxon_in_root_cpl3_gp", user_vmxon);
    expect_user_gp("vmread_cpl3_gp", user_vmread);
    expect_user_gp("vmxoff_cpl3_gp", user_vmxoff);
    /* SDM 3C "Restrictions on VMX Operation": CR0/CR4 fixed bits hold. */
    expect_fault("in_vmx_operation", OP_CR4_CLEAR_VMXE, 13);
    if (vmx_caps.cr0_fixed0 & CR0_NE_BIT)
        expect_fault("in_vmx_operation", OP_CR0_CLEAR_NE, 13);
}

static void test_no_current_vmcs(void)
{
    uint64_t p = 0;

    check_vmx("vmptrst_no_current_vmcs", vmptrst(&p), VMX_OK, 0);
    check_eq("vmptrst_no_current_vmcs_value", p, ~0ull);
    expect_result("vmread_no_current_vmcs_failinvalid", OP_VMREAD, VMX_FAIL_INVALID, 0);
    expect_result("vmwrite_no_current_vmcs_failinvalid", OP_VMWRITE, VMX_FAIL_INVALID, 0);
    expect_result("vmlaunch_no_current_vmcs_failinvalid", OP_VMLAUNCH, VMX_FAIL_INVALID, 0);
    expect_result("vmresume_no_current_vmcs_failinvalid", OP_VMRESUME, VMX_FAIL_INVALID, 0);
    expect_result("vmcall_in_root_no_vmcs_failinvalid", OP_VMCALL, VMX_FAIL_INVALID, 0);
    op_ptr = (uint64_t)vmx_vmcs_region + 1;
    expect_result("vmclear_misaligned_no_vmcs_failinvalid", OP_VMCLEAR, VMX_FAIL_INVALID, 0);
}

static void test_pointers(void)
{
    uint32_t rev = VMX_BASIC_REVISION(vmx_caps.basic);
    uint64_t p = 0;

    vmx_region_init(vmx_vmcs_region, rev);
    op_ptr = (uint64_t)vmx_vmcs_region;
    expect_result("vmclear_succeeds", OP_VMCLEAR, VMX_OK, 0);
    expect_result("vmptrld_succeeds", OP_VMPTRLD, VMX_OK, 0);
    check_vmx("vmptrst_succeeds", vmptrst(&p), VMX_OK, 0);
    check_eq("vmptrst_current_vmcs", p, (uint64_t)vmx_vmcs_region);

    /* With a current VMCS the failures are VMfailValid (SDM 3C
     * "VM-Instruction Error Numbers"). */
    op_ptr = (uint64_t)vmx_vmcs2_region + 0x800;
    expect_result("vmclear_misaligned_error_2", OP_VMCLEAR, VMX_FAIL_VALID,
                  VMXERR_VMCLEAR_BAD_ADDR);
    op_ptr = 1ull << vmx_caps.maxphyaddr;
    expect_result("vmclear_beyond_maxphyaddr_error_2", OP_VMCLEAR, VMX_FAIL_VALID,
                  VMXERR_VMCLEAR_BAD_ADDR);
    op_ptr = (uint64_t)vmx_vmxon_region;
    expect_result("vmclear_vmxon_ptr_error_3", OP_VMCLEAR, VMX_FAIL_VALID,
                  VMXERR_VMCLEAR_VMXON_PTR);
    op_ptr = (uint64_t)vmx_vmcs2_region + 0x10;
    expect_result("vmptrld_misaligned_error_9", OP_VMPTRLD, VMX_FAIL_VALID,
                  VMXERR_VMPTRLD_BAD_ADDR);
    op_ptr = 1ull << vmx_caps.maxphyaddr;
    expect_result("vmptrld_beyond_maxphyaddr_error_9", OP_VMPTRLD, VMX_FAIL_VALID,
                  VMXERR_VMPTRLD_BAD_ADDR);
    op_ptr = (uint64_t)vmx_vmxon_region;
    expect_result("vmptrld_vmxon_ptr_error_10", OP_VMPTRLD, VMX_FAIL_VALID,
                  VMXERR_VMPTRLD_VMXON_PTR);
    vmx_region_init(vmx_vmcs2_region, rev ^ 1);
    op_ptr = (uint64_t)vmx_vmcs2_region;
    expect_result("vmptrld_bad_revision_error_11", OP_VMPTRLD, VMX_FAIL_VALID,
                  VMXERR_VMPTRLD_BAD_REVISION);
    check_vmx("vmptrst_unchanged_after_failed_vmptrld", vmptrst(&p), VMX_OK, 0);
    check_eq("vmptrst_unchanged_value", p, (uint64_t)vmx_vmcs_region);
    op_ptr = (uint64_t)vmx_vmxon_region;
    expect_result("vmxon_in_root_error_15", OP_VMXON, VMX_FAIL_VALID, VMXERR_VMXON_IN_ROOT);
    expect_result("vmcall_in_root_error_1", OP_VMCALL, VMX_FAIL_VALID, VMXERR_VMCALL_IN_ROOT);
    expect_result("vmresume_clear_vmcs_error_5", OP_VMRESUME, VMX_FAIL_VALID,
                  VMXERR_VMRESUME_NOT_LAUNCHED);
}

static void test_vmread_vmwrite(void)
{
    uint64_t v = 0, mem = 0;
    int r;

    check_vmx("vmwrite_natural_succeeds", vmwrite(GUEST_RIP, 0x123456789abcull), VMX_OK, 0);
    check_eq("vmread_natural", vmread(GUEST_RIP), 0x123456789abcull);
    /* SDM 3C "VMWRITE": the high bits of a wider source are ignored. */
    vmwrite(GUEST_ES_SEL, 0xabcd1234ull);
    check_eq("vmwrite_16bit_truncates", vmread(GUEST_ES_SEL), 0x1234);
    vmwrite(GUEST_ES_LIMIT, 0x1ffffffffull);
    check_eq("vmwrite_32bit_truncates", vmread(GUEST_ES_LIMIT), 0xffffffffull);
    /* SDM 3C Appendix B "64-Bit Fields": encoding + 1 is the high half. */
    vmwrite(TSC_OFFSET, 0x1111111122222222ull);
    vmwrite(TSC_OFFSET + 1, 0x33333333);
    check_eq("vmwrite_64bit_high_half", vmread(TSC_OFFSET), 0x3333333322222222ull);
    check_eq("vmread_64bit_high_half", vmread(TSC_OFFSET + 1), 0x33333333);
    /* Memory operands */
    __asm__ volatile("vmread %1, %0" : "=m"(mem) : "r"((uint64_t)GUEST_RIP) : "cc");
    check_eq("vmread_memory_operand", mem, 0x123456789abcull);
    mem = 0x4444;
    __asm__ volatile("vmwrite %0, %1" : : "m"(mem), "r"((uint64_t)GUEST_RSP) : "cc");
    check_eq("vmwrite_memory_operand", vmread(GUEST_RSP), 0x4444);

    /* SDM 3C "VMREAD"/"VMWRITE": unsupported component -> error 12
     * (encoding bit 15 is reserved; so are bits 63:32 of the register). */
    r = vmread_checked(0x8000, &v);
    check_vmx("vmread_unsupported_error_12", r, VMX_FAIL_VALID, VMXERR_UNSUPPORTED_FIELD);
    r = vmwrite(0x8000, 0);
    check_vmx("vmwrite_unsupported_error_12", r, VMX_FAIL_VALID, VMXERR_UNSUPPORTED_FIELD);
    r = vmread_checked((1ull << 32) | GUEST_RIP, &v);
    check_vmx("vmread_encoding_bits_63_32_error_12", r, VMX_FAIL_VALID,
              VMXERR_UNSUPPORTED_FIELD);
    /* Read-only exit-information fields: error 13 unless IA32_VMX_MISC[29]. */
    r = vmwrite(EXIT_REASON, 0);
    if (vmx_caps.misc & VMX_MISC_VMWRITE_ANY)
        check_vmx("vmwrite_exit_info_misc29_succeeds", r, VMX_OK, 0);
    else
        check_vmx("vmwrite_readonly_error_13", r, VMX_FAIL_VALID, VMXERR_VMWRITE_READONLY);
    r = vmwrite(VM_INSN_ERROR, 0);
    if (vmx_caps.misc & VMX_MISC_VMWRITE_ANY)
        check_vmx("vmwrite_insn_error_misc29_succeeds", r, VMX_OK, 0);
    else
        check_vmx("vmwrite_insn_error_readonly_error_13", r, VMX_FAIL_VALID,
                  VMXERR_VMWRITE_READONLY);
}

static bool stop_handler(struct vmx_regs *regs)
{
    exit_record(regs);
    return false;
}

static void empty_guest(uint64_t arg)
{
}

static void test_launch(void)
{
    int r;

    if (!vmx_test_vmcs(0, 0, 0, 0, 0, empty_guest, 0))
        return;
    /* SDM 3C "VMLAUNCH/VMRESUME": blocking by MOV SS -> error 26, checked
     * before the launch state. */
    r = VMX_ASM_RESULT("mov %%ss, %%ax; mov %%ax, %%ss; vmlaunch", "i"(0));
    check_vmx("vmlaunch_mov_ss_blocking_error_26", r, VMX_FAIL_VALID, VMXERR_ENTRY_MOV_SS);
    r = vmx_test_enter();
    check_vmx("vmlaunch_valid_vmcs", r, VMX_OK, 0);
    check_exit("vmlaunch_guest_runs_to_vmcall", EXIT_VMCALL);
    check_eq("vmlaunch_guest_done", last_exit.regs.rax, VMX_GUEST_DONE);
    expect_result("vmlaunch_launched_vmcs_error_4", OP_VMLAUNCH, VMX_FAIL_VALID,
                  VMXERR_VMLAUNCH_NOT_CLEAR);
    /* VMRESUME of the launched VMCS runs the guest again. */
    vmx_exit_handler = stop_handler;
    last_exit.reason = ~0u;
    r = vmx_run(&test_regs);
    check_vmx("vmresume_launched_vmcs", r, VMX_OK, 0);
    check_eq("vmresume_exit_reason", last_exit.reason, EXIT_VMCALL);

    /* VMCLEAR of the current VMCS: no current VMCS, launch state clear
     * (SDM 3C "VMCLEAR"). */
    op_ptr = (uint64_t)vmx_vmcs_region;
    expect_result("vmclear_current_vmcs", OP_VMCLEAR, VMX_OK, 0);
    uint64_t p = 0;
    vmptrst(&p);
    check_eq("vmclear_current_invalidates_pointer", p, ~0ull);
    expect_result("vmptrld_after_vmclear", OP_VMPTRLD, VMX_OK, 0);
    expect_result("vmresume_after_vmclear_error_5", OP_VMRESUME, VMX_FAIL_VALID,
                  VMXERR_VMRESUME_NOT_LAUNCHED);
    check_eq("vmcs_contents_survive_vmclear", vmread(GUEST_RIP), last_exit.guest_rip);
}

static void test_vmxoff(void)
{
    expect_result("vmxoff_succeeds", OP_VMXOFF, VMX_OK, 0);
    expect_fault("after_vmxoff", OP_VMREAD, 6);
    expect_fault("after_vmxoff", OP_VMXOFF, 6);
    /* Outside VMX operation CR4.VMXE may be cleared again. */
    expect_result("cr4_vmxe_clear_after_vmxoff", OP_CR4_CLEAR_VMXE, VMX_OK, 0);
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    vmx_test_require();
    test_outside_vmx();
    test_feature_control();
    test_vmxon();
    test_no_current_vmcs();
    test_pointers();
    test_vmread_vmwrite();
    test_launch();
    test_vmxoff();
}
