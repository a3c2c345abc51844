/* VMCS shadowing (SDM 3C "VMCS Types: Ordinary and Shadow", "VMCS
 * Shadowing Bitmap Addresses", "VMREAD"/"VMWRITE" Operation, "Basic VM-Entry
 * Checks", "Checks on VMX Controls", "Checks on Guest Non-Register State"):
 * a shadow VMCS in root operation, the VM-entry checks on the bitmaps and
 * the link pointer, and the guest's VMREAD/VMWRITE that the shadow VMCS
 * satisfies without a VM exit or that exit by the bitmaps. SKIPs on a CPU
 * that does not allow "VMCS shadowing". */
#include "console.h"
#include "report.h"
#include "rtstring.h"
#include "vmx_common.h"
#include "x86.h"

static uint8_t shadow_vmcs[4096] __attribute__((aligned(4096)));
static uint8_t vmread_bm[4096] __attribute__((aligned(4096)));
static uint8_t vmwrite_bm[4096] __attribute__((aligned(4096)));

#define SHADOW_MARK 0x5eed0001ull

/* What the guest's instruction returned. */
static volatile int g_result;
static volatile uint64_t g_value;

static void guest_vmread(uint64_t field)
{
    uint64_t val = 0xdead;
    g_result = vmread_checked(field, &val);
    g_value = val;
}

static void guest_vmwrite(uint64_t field)
{
    g_result = vmwrite(field, g_value);
}

/* VMREAD of GUEST_RIP into the memory at addr (SDM 3C "VMREAD": a memory
 * destination; a fault on it is the instruction's #GP/#PF). */
static void guest_vmread_mem(uint64_t addr)
{
    g_result = VMX_ASM_RESULT("vmread %2, (%3)", "r"((uint64_t)GUEST_RIP), "r"(addr));
}

/* A destination the identity map leaves out (4 GiB, PG_TEST_BASE), and a
 * non-canonical one. */
#define UNMAPPED_ADDR 0x100000000ull
#define NONCANONICAL_ADDR 0x8000000000000000ull

static void set_bit(uint8_t *bm, uint64_t enc)
{
    bm[(enc & 0x7fff) >> 3] |= (uint8_t)(1u << (enc & 7));
}

static uint32_t revision(void) { return VMX_BASIC_REVISION(vmx_caps.basic); }

/* A shadow VMCS with its guest-RIP field = SHADOW_MARK, written through
 * VMWRITE with the shadow VMCS current (the way a hypervisor fills one),
 * then VMCLEARed. Returns false after a FAIL. */
static bool shadow_vmcs_init(void)
{
    uint64_t pa = (uint64_t)shadow_vmcs;
    int r[4];

    vmx_region_init(shadow_vmcs, revision() | VMCS_SHADOW_INDICATOR);
    r[0] = vmclear(pa);
    r[1] = vmptrld(pa);
    r[2] = vmwrite(GUEST_RIP, SHADOW_MARK);
    r[3] = vmclear(pa);
    if (r[0] == VMX_OK && r[1] == VMX_OK && r[2] == VMX_OK && r[3] == VMX_OK)
        return true;
    report_fail("shadow_vmcs_fill", "VMCLEAR %d, VMPTRLD %d, VMWRITE %d, VMCLEAR %d", r[0], r[1],
                r[2], r[3]);
    return false;
}

/* Root operation: a shadow VMCS can be current, read and written, but "an
 * ordinary VMCS can be used for VM entry but a shadow VMCS cannot":
 * VMLAUNCH and VMRESUME give VMfailInvalid. */
static void test_root_operation(void)
{
    uint64_t p = 0;

    if (!shadow_vmcs_init())
        return;
    check_vmx("vmptrld_shadow_vmcs", vmptrld((uint64_t)shadow_vmcs), VMX_OK, 0);
    check_vmx("vmptrst_shadow_vmcs", vmptrst(&p), VMX_OK, 0);
    check_eq("vmptrst_shadow_vmcs_value", p, (uint64_t)shadow_vmcs);
    check_eq("vmread_shadow_vmcs_in_root", vmread(GUEST_RIP), SHADOW_MARK);
    check_vmx("vmlaunch_shadow_vmcs_failinvalid", VMX_ASM_RESULT("vmlaunch", "i"(0)),
              VMX_FAIL_INVALID, 0);
    check_vmx("vmresume_shadow_vmcs_failinvalid", VMX_ASM_RESULT("vmresume", "i"(0)),
              VMX_FAIL_INVALID, 0);
    vmclear((uint64_t)shadow_vmcs);
}

/* A VMCS whose guest runs fn(field) with "VMCS shadowing", clear bitmaps
 * and the link pointer at shadow_vmcs (link = ~0 to leave it out). */
static bool prepare(void (*fn)(uint64_t), uint64_t field, uint64_t link)
{
    memset(vmread_bm, 0, sizeof vmread_bm);
    memset(vmwrite_bm, 0, sizeof vmwrite_bm);
    if (!shadow_vmcs_init())
        return false;
    if (!vmx_test_vmcs(0, 0, PROC2_VMCS_SHADOWING, 0, 0, fn, field))
        return false;
    vmwrite(VMREAD_BITMAP, (uint64_t)vmread_bm);
    vmwrite(VMWRITE_BITMAP, (uint64_t)vmwrite_bm);
    vmwrite(VMCS_LINK_PTR, link);
    g_result = -1;
    return true;
}

/* Run the guest; the first exit ends the run. */
static bool run(const char *name)
{
    int r = vmx_test_enter();

    if (r == VMX_OK)
        return true;
    report_fail(name, "VM entry failed: result %d error %u", r,
                r == VMX_FAIL_VALID ? vmx_insn_error() : 0);
    return false;
}

/* The guest got through to its VMCALL: its instruction did not exit. */
static bool no_exit(const char *name)
{
    return check_exit(name, EXIT_VMCALL);
}

static void test_shadowed_accesses(void)
{
    uint64_t shadow = (uint64_t)shadow_vmcs;

    /* Bitmap bit 0: the shadow VMCS answers, no VM exit. */
    if (prepare(guest_vmread, GUEST_RIP, shadow) && run("vmread_shadowed")) {
        no_exit("vmread_shadowed_no_exit");
        check_eq("vmread_shadowed_succeeds", g_result, VMX_OK);
        check_eq("vmread_shadowed_value", g_value, SHADOW_MARK);
    }
    g_value = 0x1234;
    if (prepare(guest_vmwrite, GUEST_RIP, shadow) && run("vmwrite_shadowed")) {
        no_exit("vmwrite_shadowed_no_exit");
        check_eq("vmwrite_shadowed_succeeds", g_result, VMX_OK);
        check_true("vmwrite_shadowed_not_current_vmcs", vmread(GUEST_RIP) != 0x1234,
                   "the current VMCS kept its guest RIP");
        vmclear((uint64_t)vmx_vmcs_region);
        vmptrld(shadow);
        check_eq("vmwrite_shadowed_reaches_shadow_vmcs", vmread(GUEST_RIP), 0x1234);
        vmclear(shadow);
    }
    /* Bitmap bit 1: VM exit, reason VMREAD (23) / VMWRITE (25). */
    if (prepare(guest_vmread, GUEST_RIP, shadow)) {
        set_bit(vmread_bm, GUEST_RIP);
        if (run("vmread_bitmap_bit_set"))
            check_exit("vmread_bitmap_bit_set_exits", EXIT_VMREAD);
    }
    if (prepare(guest_vmwrite, GUEST_RIP, shadow)) {
        set_bit(vmwrite_bm, GUEST_RIP);
        set_bit(vmread_bm, GUEST_RSP); /* another field's VMREAD bit: no effect */
        if (run("vmwrite_bitmap_bit_set"))
            check_exit("vmwrite_bitmap_bit_set_exits", EXIT_VMWRITE);
    }
    /* The VMREAD bitmap does not govern VMWRITE. */
    g_value = 0x77;
    if (prepare(guest_vmwrite, GUEST_RIP, shadow)) {
        set_bit(vmread_bm, GUEST_RIP);
        if (run("vmwrite_ignores_vmread_bitmap"))
            no_exit("vmwrite_ignores_vmread_bitmap_no_exit");
    }
    /* "secondary source operand sets bits in range 63:15": VM exit. */
    if (prepare(guest_vmread, GUEST_RIP | 0x8000, shadow) && run("vmread_encoding_bit15"))
        check_exit("vmread_encoding_bit15_exits", EXIT_VMREAD);
    if (prepare(guest_vmread, GUEST_RIP | (1ull << 40), shadow) && run("vmread_encoding_bit40"))
        check_exit("vmread_encoding_bit40_exits", EXIT_VMREAD);
    /* "VMCS link pointer is not valid": VMfailInvalid in the guest. */
    if (prepare(guest_vmread, GUEST_RIP, ~0ull) && run("vmread_link_all_ones")) {
        no_exit("vmread_link_all_ones_no_exit");
        check_eq("vmread_link_all_ones_failinvalid", g_result, VMX_FAIL_INVALID);
    }
    if (prepare(guest_vmwrite, GUEST_RIP, ~0ull) && run("vmwrite_link_all_ones")) {
        no_exit("vmwrite_link_all_ones_no_exit");
        check_eq("vmwrite_link_all_ones_failinvalid", g_result, VMX_FAIL_INVALID);
    }
    /* An unsupported component: VMfailValid(12); the number is in the
     * VM-instruction error field of the current VMCS. */
    if (prepare(guest_vmread, 0x6ffe, shadow) && run("vmread_unsupported")) {
        no_exit("vmread_unsupported_no_exit");
        check_eq("vmread_unsupported_failvalid", g_result, VMX_FAIL_VALID);
        check_eq("vmread_unsupported_error_12", vmx_insn_error(), VMXERR_UNSUPPORTED_FIELD);
    }
    /* A VM-exit information field: writable only with IA32_VMX_MISC[29]. */
    g_value = 30;
    if (prepare(guest_vmwrite, EXIT_REASON, shadow) && run("vmwrite_exit_reason")) {
        no_exit("vmwrite_exit_reason_no_exit");
        if (vmx_caps.misc & VMX_MISC_VMWRITE_ANY) {
            check_eq("vmwrite_exit_reason_misc29_succeeds", g_result, VMX_OK);
        } else {
            check_eq("vmwrite_exit_reason_failvalid", g_result, VMX_FAIL_VALID);
            check_eq("vmwrite_exit_reason_error_13", vmx_insn_error(), VMXERR_VMWRITE_READONLY);
        }
    }
    /* Memory destination: the shadow VMCS answers, no VM exit. */
    static volatile uint64_t mem_dest;
    mem_dest = 0;
    if (prepare(guest_vmread_mem, (uint64_t)&mem_dest, shadow) && run("vmread_shadowed_memory")) {
        no_exit("vmread_shadowed_memory_no_exit");
        check_eq("vmread_shadowed_memory_succeeds", g_result, VMX_OK);
        check_eq("vmread_shadowed_memory_value", mem_dest, SHADOW_MARK);
    }
    /* Its #PF (not present, write: error code 2) and #GP(0) (non-canonical)
     * go through the exception bitmap: a VM exit with the interruption
     * information, the error code and, for #PF, the linear address as the
     * qualification (SDM 3C "Exit Qualification for ... Page-Fault"). */
    if (prepare(guest_vmread_mem, UNMAPPED_ADDR, shadow)) {
        vmwrite(EXCEPTION_BITMAP, 1u << 14);
        if (run("vmread_shadowed_memory_pf") &&
            check_exit("vmread_shadowed_memory_pf_exits", EXIT_EXCEPTION_NMI)) {
            check_eq("vmread_shadowed_memory_pf_intr_info", last_exit.intr_info,
                     14u | INTR_TYPE_HW_EXC | INTR_ERRCODE | INTR_VALID);
            check_eq("vmread_shadowed_memory_pf_error_code", last_exit.intr_err, 2);
            check_eq("vmread_shadowed_memory_pf_qual", last_exit.qual, UNMAPPED_ADDR);
        }
    }
    if (prepare(guest_vmread_mem, NONCANONICAL_ADDR, shadow)) {
        vmwrite(EXCEPTION_BITMAP, 1u << 13);
        if (run("vmread_shadowed_memory_gp") &&
            check_exit("vmread_shadowed_memory_gp_exits", EXIT_EXCEPTION_NMI)) {
            check_eq("vmread_shadowed_memory_gp_intr_info", last_exit.intr_info,
                     13u | INTR_TYPE_HW_EXC | INTR_ERRCODE | INTR_VALID);
            check_eq("vmread_shadowed_memory_gp_error_code", last_exit.intr_err, 0);
        }
    }
    /* "VMCS shadowing" = 0: every VMREAD exits. */
    if (prepare(guest_vmread, GUEST_RIP, ~0ull)) {
        vmwrite(PROC2_CONTROLS, vmx_ctls.proc2 & ~PROC2_VMCS_SHADOWING);
        if (run("vmread_without_shadowing"))
            check_exit("vmread_without_shadowing_exits", EXIT_VMREAD);
    }
}

/* VM-entry checks. */
static void test_entry_checks(void)
{
    uint64_t shadow = (uint64_t)shadow_vmcs;
    int r;

    /* "bits 11:0 of the address must be 0": VMfailValid(7) */
    if (prepare(guest_vmread, GUEST_RIP, shadow)) {
        vmwrite(VMREAD_BITMAP, (uint64_t)vmread_bm + 0x800);
        r = vmx_test_enter();
        check_vmx("entry_vmread_bitmap_misaligned", r, VMX_FAIL_VALID, VMXERR_ENTRY_BAD_CONTROL);
    }
    /* "must not set any bits beyond the processor's physical-address width" */
    if (prepare(guest_vmread, GUEST_RIP, shadow)) {
        vmwrite(VMWRITE_BITMAP, 1ull << vmx_caps.maxphyaddr);
        r = vmx_test_enter();
        check_vmx("entry_vmwrite_bitmap_beyond_width", r, VMX_FAIL_VALID,
                  VMXERR_ENTRY_BAD_CONTROL);
    }
    /* The link pointer's bit 31 "must contain the setting of the 'VMCS
     * shadowing' VM-execution control": an ordinary VMCS fails with exit
     * reason 33 | bit 31 and qualification 4. */
    if (prepare(guest_vmread, GUEST_RIP, shadow)) {
        vmx_region_init(shadow_vmcs, revision());
        r = vmx_test_enter();
        if (r != VMX_OK)
            report_fail("entry_link_to_ordinary_vmcs", "result %d", r);
        else if (check_exit("entry_link_to_ordinary_vmcs",
                            EXIT_REASON_ENTRY_FAIL | EXIT_ENTRY_FAIL_GUEST))
            check_eq("entry_link_to_ordinary_vmcs_qual", last_exit.qual, ENTRY_QUAL_LINK_PTR);
    }
    /* ... and a shadow VMCS without "VMCS shadowing" fails the same way. */
    if (prepare(guest_vmread, GUEST_RIP, shadow)) {
        vmwrite(PROC2_CONTROLS, vmx_ctls.proc2 & ~PROC2_VMCS_SHADOWING);
        r = vmx_test_enter();
        if (r != VMX_OK)
            report_fail("entry_link_to_shadow_without_shadowing", "result %d", r);
        else if (check_exit("entry_link_to_shadow_without_shadowing",
                            EXIT_REASON_ENTRY_FAIL | EXIT_ENTRY_FAIL_GUEST))
            check_eq("entry_link_to_shadow_without_shadowing_qual", last_exit.qual,
                     ENTRY_QUAL_LINK_PTR);
    }
    /* The revision identifier still has to match. */
    if (prepare(guest_vmread, GUEST_RIP, shadow)) {
        vmx_region_init(shadow_vmcs, (revision() + 1) | VMCS_SHADOW_INDICATOR);
        r = vmx_test_enter();
        if (r == VMX_OK && check_exit("entry_link_bad_revision",
                                      EXIT_REASON_ENTRY_FAIL | EXIT_ENTRY_FAIL_GUEST))
            check_eq("entry_link_bad_revision_qual", last_exit.qual, ENTRY_QUAL_LINK_PTR);
        else if (r != VMX_OK)
            report_fail("entry_link_bad_revision", "result %d", r);
    }
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    vmx_test_start();
    if (!(vmx_caps.proc >> 63) || !vmx_ctl_allowed(vmx_caps.proc2, PROC2_VMCS_SHADOWING)) {
        report_skip("vmcs_shadowing", "IA32_VMX_PROCBASED_CTLS2 does not allow bit 14");
        guest_finish();
    }
    test_root_operation();
    test_shadowed_accesses();
    test_entry_checks();
    guest_finish();
}
