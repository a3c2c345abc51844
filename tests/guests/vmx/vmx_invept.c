/* INVEPT and INVVPID (SDM 3C "INVEPT -- Invalidate Translations Derived
 * from EPT", "INVVPID -- Invalidate Translations Based on VPID"): types
 * from IA32_VMX_EPT_VPID_CAP, VMfailValid(28) for an unsupported type, an
 * invalid EPTP, descriptor bits 63:16, VPID 0 or a non-canonical address,
 * VMfailInvalid without a current VMCS, #UD for a register operand and
 * outside VMX operation, #GP(0) at CPL 3, VM exits 50 and 53 in VMX non-
 * root operation. Then cached translations (SDM 3C "Caching Translation
 * Information", "VMX Transitions" in "Maintaining Consistency"): with a
 * VPID, a stale linear translation may survive VM exit and VM entry (nvmx
 * keeps it) and is gone after INVVPID; without one, VM entry and exit drop
 * it; a stale guest-physical mapping is gone after INVEPT. */
#include "console.h"
#include "ept_common.h"
#include "exc.h"
#include "paging.h"
#include "report.h"
#include "x86.h"

#define GUEST_VPID_MARK 0x56504944u
extern char gx_vpid_loop[], gx_vpid_cr3_loop[], gx_vpid_invlpg_loop[], gx_invept_nonroot[], gx_invept_nonroot_insn[],
    gx_invvpid_nonroot[], gx_invvpid_nonroot_insn[];

static void nop_guest(uint64_t arg)
{
}

static bool fresh_vmcs(uint32_t proc2)
{
    if (!vmx_test_vmcs(0, 0, PROC2_EPT | proc2, 0, 0, nop_guest, 0))
        return false;
    vmwrite(EPT_POINTER, ept_eptp(&test_ept, false));
    vmwrite(VPID, 1);
    return true;
}

static void test_invept_types(void)
{
    static const uint64_t bad_types[] = { 0, 3, 4, 0x100000001ull, ~0ull };
    uint64_t eptp = ept_eptp(&test_ept, false);
    char n[96];

    if (!fresh_vmcs(0))
        return;
    check_vmx("invept_single_context", invept(INVEPT_SINGLE, eptp),
              vmx_ept_cap(EPT_CAP_INVEPT_SINGLE) ? VMX_OK : VMX_FAIL_VALID,
              VMXERR_INVEPT_INVVPID_OPERAND);
    check_vmx("invept_global", invept(INVEPT_GLOBAL, eptp),
              vmx_ept_cap(EPT_CAP_INVEPT_ALL) ? VMX_OK : VMX_FAIL_VALID,
              VMXERR_INVEPT_INVVPID_OPERAND);
    for (unsigned i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++) {
        fmt_snprintf(n, sizeof(n), "invept_type_%#lx_invalid", bad_types[i]);
        check_vmx(n, invept(bad_types[i], eptp), VMX_FAIL_VALID, VMXERR_INVEPT_INVVPID_OPERAND);
    }
    /* Single-context: VMfail if VM entry with this EPTP would fail */
    if (vmx_ept_cap(EPT_CAP_INVEPT_SINGLE)) {
        uint64_t base = eptp & ~0xfffull;
        check_vmx("invept_single_memory_type_7", invept(INVEPT_SINGLE, base | 7 | EPTP_WALK(4)),
                  VMX_FAIL_VALID, VMXERR_INVEPT_INVVPID_OPERAND);
        check_vmx("invept_single_walk_length_1", invept(INVEPT_SINGLE, base | 6 | EPTP_WALK(1)),
                  VMX_FAIL_VALID, VMXERR_INVEPT_INVVPID_OPERAND);
        check_vmx("invept_single_reserved_bit_8", invept(INVEPT_SINGLE, eptp | (1ull << 8)),
                  VMX_FAIL_VALID, VMXERR_INVEPT_INVVPID_OPERAND);
        if (vmx_caps.maxphyaddr < 64)
            check_vmx("invept_single_bit_maxphyaddr",
                      invept(INVEPT_SINGLE, eptp | (1ull << vmx_caps.maxphyaddr)),
                      VMX_FAIL_VALID, VMXERR_INVEPT_INVVPID_OPERAND);
        check_vmx("invept_single_ad", invept(INVEPT_SINGLE, eptp | EPTP_AD),
                  vmx_ept_cap(EPT_CAP_AD) ? VMX_OK : VMX_FAIL_VALID,
                  VMXERR_INVEPT_INVVPID_OPERAND);
    }
    /* Global invalidation ignores the EPTP */
    if (vmx_ept_cap(EPT_CAP_INVEPT_ALL))
        check_vmx("invept_global_ignores_eptp", invept(INVEPT_GLOBAL, ~0ull), VMX_OK, 0);
}

static void test_invvpid_types(void)
{
    static const uint64_t caps[4] = { EPT_CAP_INVVPID_ADDR, EPT_CAP_INVVPID_SINGLE,
                                      EPT_CAP_INVVPID_ALL, EPT_CAP_INVVPID_SINGLE_GLOBALS };
    char n[96];

    if (!vmx_ept_cap(EPT_CAP_INVVPID)) {
        report_skip("invvpid", "INVVPID not supported");
        return;
    }
    if (!fresh_vmcs(0))
        return;
    for (unsigned t = 0; t < 4; t++) {
        bool sup = vmx_ept_cap(caps[t]);
        const uint64_t good[2] = { 1, 0x1000 }, high[2] = { 1ull | (1ull << 16), 0x1000 },
                       high63[2] = { 1ull | (1ull << 63), 0x1000 }, vpid0[2] = { 0, 0x1000 };
        fmt_snprintf(n, sizeof(n), "invvpid_type_%u", t);
        check_vmx(n, invvpid_desc(t, good), sup ? VMX_OK : VMX_FAIL_VALID,
                  VMXERR_INVEPT_INVVPID_OPERAND);
        if (!sup)
            continue;
        /* Bits 63:16 of the descriptor must be 0, whatever the type */
        fmt_snprintf(n, sizeof(n), "invvpid_type_%u_desc_bit_16", t);
        check_vmx(n, invvpid_desc(t, high), VMX_FAIL_VALID, VMXERR_INVEPT_INVVPID_OPERAND);
        fmt_snprintf(n, sizeof(n), "invvpid_type_%u_desc_bit_63", t);
        check_vmx(n, invvpid_desc(t, high63), VMX_FAIL_VALID, VMXERR_INVEPT_INVVPID_OPERAND);
        /* VPID 0 is invalid except for all-context */
        fmt_snprintf(n, sizeof(n), "invvpid_type_%u_vpid_0", t);
        check_vmx(n, invvpid_desc(t, vpid0), t == INVVPID_ALL ? VMX_OK : VMX_FAIL_VALID,
                  VMXERR_INVEPT_INVVPID_OPERAND);
    }
    if (vmx_ept_cap(EPT_CAP_INVVPID_ADDR)) {
        const uint64_t noncanon[2] = { 1, 0x0000800000000000ull },
                       canon_high[2] = { 1, 0xffff800000000000ull };
        check_vmx("invvpid_address_non_canonical", invvpid_desc(INVVPID_ADDR, noncanon),
                  VMX_FAIL_VALID, VMXERR_INVEPT_INVVPID_OPERAND);
        check_vmx("invvpid_address_canonical_high", invvpid_desc(INVVPID_ADDR, canon_high),
                  VMX_OK, 0);
        /* Single-context ignores the linear address */
        if (vmx_ept_cap(EPT_CAP_INVVPID_SINGLE))
            check_vmx("invvpid_single_ignores_address", invvpid_desc(INVVPID_SINGLE, noncanon),
                      VMX_OK, 0);
    }
    for (uint64_t t = 4; t <= 5; t++) {
        fmt_snprintf(n, sizeof(n), "invvpid_type_%lu_invalid", t);
        check_vmx(n, invvpid(t, 1, 0), VMX_FAIL_VALID, VMXERR_INVEPT_INVVPID_OPERAND);
    }
    check_vmx("invvpid_type_all_ones_invalid", invvpid(~0ull, 1, 0), VMX_FAIL_VALID,
              VMXERR_INVEPT_INVVPID_OPERAND);
}

/* VMfail without a current VMCS is VMfailInvalid (SDM 3C "Conventions") */
static void test_no_current_vmcs(void)
{
    if (!fresh_vmcs(0))
        return;
    vmclear((uint64_t)vmx_vmcs_region);
    check_vmx("invept_bad_type_no_current_vmcs", invept(0, 0), VMX_FAIL_INVALID, 0);
    if (vmx_ept_cap(EPT_CAP_INVVPID))
        check_vmx("invvpid_bad_type_no_current_vmcs", invvpid(4, 1, 0), VMX_FAIL_INVALID, 0);
    if (vmx_ept_cap(EPT_CAP_INVEPT_ALL))
        check_vmx("invept_global_no_current_vmcs", invept(INVEPT_GLOBAL, 0), VMX_OK, 0);
}

/* Faults: a register operand is #UD (the encoding requires memory); a
 * non-canonical descriptor address is #GP(0); CPL 3 is #GP(0); outside
 * VMX operation #UD. */
enum op { OP_INVEPT_REG, OP_INVVPID_REG, OP_INVEPT_NONCANON, OP_INVEPT, OP_INVVPID };

static void do_op(void *arg)
{
    static const uint64_t desc[2] = { 0, 0 };
    uint64_t type = INVEPT_GLOBAL;

    switch ((enum op)(uint64_t)arg) {
    case OP_INVEPT_REG: __asm__ volatile(".byte 0x66, 0x0f, 0x38, 0x80, 0xc1" ::: "memory"); break;
    case OP_INVVPID_REG: __asm__ volatile(".byte 0x66, 0x0f, 0x38, 0x81, 0xc1" ::: "memory"); break;
    case OP_INVEPT_NONCANON:
        __asm__ volatile("invept (%0), %1" : : "r"(0x0000800000000000ull), "r"(type) : "memory");
        break;
    case OP_INVEPT: __asm__ volatile("invept %0, %1" : : "m"(desc), "r"(type) : "memory"); break;
    case OP_INVVPID:
        __asm__ volatile("invvpid %0, %1" : : "m"(desc), "r"((uint64_t)INVVPID_ALL) : "memory");
        break;
    }
}

static void expect_fault(const char *name, enum op op, int vector)
{
    int v = exc_run(do_op, (void *)(uint64_t)op);

    if (v == vector && (vector != 13 || exc_last.f.error == 0))
        report_pass(name);
    else
        report_fail(name, "expected vector %d got %d (error %#lx)", vector, v, exc_last.f.error);
}

__attribute__((section(".user.data"))) static uint64_t user_desc[2];

__attribute__((section(".user.text"), noinline)) static void user_invept(uint64_t arg)
{
    __asm__ volatile("invept %0, %1; int $0x80" : : "m"(user_desc), "r"((uint64_t)2));
}

__attribute__((section(".user.text"), noinline)) static void user_invvpid(uint64_t arg)
{
    __asm__ volatile("invvpid %0, %1; int $0x80" : : "m"(user_desc), "r"((uint64_t)2));
}

static void expect_user_gp(const char *name, void (*fn)(uint64_t))
{
    int v = exc_run_user(fn, 0, 0);

    if (v == 13 && exc_last.f.error == 0)
        report_pass(name);
    else
        report_fail(name, "expected #GP(0) got vector %d error %#lx", v, exc_last.f.error);
}

static void test_faults(void)
{
    if (!fresh_vmcs(0))
        return;
    expect_fault("invept_register_operand_ud", OP_INVEPT_REG, 6);
    expect_fault("invept_non_canonical_descriptor_gp", OP_INVEPT_NONCANON, 13);
    expect_user_gp("invept_cpl3_gp", user_invept);
    if (vmx_ept_cap(EPT_CAP_INVVPID)) {
        expect_fault("invvpid_register_operand_ud", OP_INVVPID_REG, 6);
        expect_user_gp("invvpid_cpl3_gp", user_invvpid);
    }
}

/* SDM 3C "INVEPT", "INVVPID": VM exits 50 and 53 in non-root operation,
 * qualification = displacement, instruction information as for INVPCID. */
#define INFO_MASK 0xffc38383u /* scale, address size, segment, index invalid, base, base inv., reg2 */
#define INFO(base, disp_reg2) ((2u << 7) | (3u << 15) | (1u << 22) | ((base) << 23) | ((disp_reg2) << 28))

static void nonroot_case(const char *name, char *gx, char *insn, uint32_t reason, uint64_t qual)
{
    static uint64_t desc[3];
    char n[96];

    if (!fresh_vmcs(0))
        return;
    vmwrite(GUEST_RIP, (uint64_t)vmx_guest_entry);
    vmx_guest_setup(&test_regs, (void (*)(uint64_t))gx, (uint64_t)desc);
    vmx_guest_idt_install();
    if (vmx_test_enter() != VMX_OK || last_exit.reason != reason) {
        ept_report_unexpected(name, VMX_OK);
        return;
    }
    fmt_snprintf(n, sizeof(n), "%s_exit_reason", name);
    report_pass(n);
    fmt_snprintf(n, sizeof(n), "%s_guest_rip", name);
    check_eq(n, last_exit.guest_rip, (uint64_t)insn);
    fmt_snprintf(n, sizeof(n), "%s_insn_len", name);
    check_eq(n, last_exit.insn_len, qual ? 6 : 5);
    fmt_snprintf(n, sizeof(n), "%s_qual_displacement", name);
    check_eq(n, last_exit.qual, qual);
    fmt_snprintf(n, sizeof(n), "%s_insn_info", name);
    check_eq(n, last_exit.insn_info & INFO_MASK, INFO(7u, 1u)); /* base RDI, reg2 RCX */
}

static void test_nonroot(void)
{
    nonroot_case("invept_nonroot", gx_invept_nonroot, gx_invept_nonroot_insn, EXIT_INVEPT, 0);
    if (vmx_proc2_allowed(PROC2_VPID))
        nonroot_case("invvpid_nonroot", gx_invvpid_nonroot, gx_invvpid_nonroot_insn,
                     EXIT_INVVPID, 8);
}

/* Cached translations. The guest reads lin in a loop (VMCALL after each
 * read); the host swaps what lin maps to between page A and page B. */
#define VAL_A 0xaaaa0000aaaa0001ull
#define VAL_B 0xbbbb0000bbbb0002ull
#define PAGE_A 10
#define PAGE_B 11
#define LOOP_LIN (PG_TEST_BASE + 0x20000)

static bool loop_step(const char *name)
{
    /* Resume after the VMCALL (SDM 3C: VMCALL exits with RIP at it) */
    if (last_exit.reason == EXIT_VMCALL)
        vmwrite(GUEST_RIP, last_exit.guest_rip + last_exit.insn_len);
    int r = vmx_test_enter();
    if (r == VMX_OK && last_exit.reason == EXIT_VMCALL && last_exit.regs.rax == GUEST_VPID_MARK)
        return true;
    ept_report_unexpected(name, r);
    return false;
}

static void set_pte(uint64_t *pte, unsigned page)
{
    *pte = (*pte & ~PTE_ADDR) | (uint64_t)ept_tpage[page];
}

static bool expect_read(const char *name, uint64_t val)
{
    if (!loop_step(name))
        return false;
    return check_eq(name, last_exit.regs.rdx, val);
}

/* Linear mappings tagged with VPID 1, no EPT changes */
static void test_vpid_retention(void)
{
    uint64_t *pte;

    if (!vmx_proc2_allowed(PROC2_VPID) || !vmx_ept_cap(EPT_CAP_INVVPID)) {
        report_skip("vpid_retention", "VPID or INVVPID not supported");
        return;
    }
    *(uint64_t *)ept_tpage[PAGE_A] = VAL_A;
    *(uint64_t *)ept_tpage[PAGE_B] = VAL_B;
    pte = pg_map(LOOP_LIN, (uint64_t)ept_tpage[PAGE_A], PTE_P | PTE_W | PTE_A | PTE_D);
    if (!pte || !fresh_vmcs(PROC2_VPID))
        return;
    vmx_guest_setup(&test_regs, (void (*)(uint64_t))gx_vpid_loop, LOOP_LIN);
    last_exit.reason = ~0u;
    if (!expect_read("vpid_first_read_page_a", VAL_A))
        return;
    /* SDM 3C "VMX Transitions": with "enable VPID" = 1, VM exits and VM
     * entries need not invalidate; nvmx keeps the translation. */
    set_pte(pte, PAGE_B);
    expect_read("vpid_stale_translation_survives_exit_and_entry", VAL_A);
    if (vmx_ept_cap(EPT_CAP_INVVPID_ADDR)) {
        check_vmx("invvpid_address_ok", invvpid(INVVPID_ADDR, 1, LOOP_LIN), VMX_OK, 0);
        expect_read("vpid_invvpid_address_drops_it", VAL_B);
        set_pte(pte, PAGE_A);
        check_vmx("invvpid_address_other_page_ok", invvpid(INVVPID_ADDR, 1, LOOP_LIN + 0x1000),
                  VMX_OK, 0);
        expect_read("vpid_invvpid_other_address_keeps_it", VAL_B);
        invvpid(INVVPID_ADDR, 1, LOOP_LIN);
        expect_read("vpid_invvpid_address_again", VAL_A);
    }
    if (vmx_ept_cap(EPT_CAP_INVVPID_SINGLE)) {
        set_pte(pte, PAGE_B);
        check_vmx("invvpid_single_other_vpid_ok", invvpid(INVVPID_SINGLE, 2, 0), VMX_OK, 0);
        expect_read("vpid_invvpid_other_vpid_keeps_it", VAL_A);
        check_vmx("invvpid_single_ok", invvpid(INVVPID_SINGLE, 1, 0), VMX_OK, 0);
        expect_read("vpid_invvpid_single_context_drops_it", VAL_B);
    }
    if (vmx_ept_cap(EPT_CAP_INVVPID_ALL)) {
        set_pte(pte, PAGE_A);
        expect_read("vpid_stale_before_all_context", VAL_B);
        check_vmx("invvpid_all_ok", invvpid(INVVPID_ALL, 0, 0), VMX_OK, 0);
        expect_read("vpid_invvpid_all_context_drops_it", VAL_A);
    }
    if (vmx_ept_cap(EPT_CAP_INVVPID_SINGLE_GLOBALS)) {
        /* The page is not global (PTE.G = 0): type 3 drops it */
        set_pte(pte, PAGE_B);
        expect_read("vpid_stale_before_retaining_globals", VAL_A);
        check_vmx("invvpid_single_globals_ok", invvpid(INVVPID_SINGLE_GLOBALS, 1, 0), VMX_OK, 0);
        expect_read("vpid_invvpid_retaining_globals_drops_non_global", VAL_B);
    }

    /* Without VPID, VM exits and VM entries invalidate the linear and
     * combined mappings of VPID 0000H: the change is seen at once. */
    set_pte(pte, PAGE_A);
    invlpg(LOOP_LIN);
    if (!fresh_vmcs(0))
        return;
    vmx_guest_setup(&test_regs, (void (*)(uint64_t))gx_vpid_loop, LOOP_LIN);
    last_exit.reason = ~0u;
    if (!expect_read("novpid_first_read_page_a", VAL_A))
        return;
    set_pte(pte, PAGE_B);
    expect_read("novpid_exit_and_entry_drop_translation", VAL_B);
}

/* SDM 3A "Invalidation of TLBs and Paging-Structure Caches" and 3C
 * "VPID": INVLPG and MOV to CR3 (CR4.PCIDE = 0) in the guest invalidate
 * the translations of the current VPID, so a guest that does one before
 * each read sees every change the host makes. */
static void guest_invalidation_case(const char *name, char *gx)
{
    char n[96];
    uint64_t *pte = pg_entry(LOOP_LIN, 1);

    if (!pte || !fresh_vmcs(PROC2_VPID))
        return;
    set_pte(pte, PAGE_A);
    invvpid(INVVPID_ALL, 0, 0);
    vmx_guest_setup(&test_regs, (void (*)(uint64_t))gx, LOOP_LIN);
    last_exit.reason = ~0u;
    fmt_snprintf(n, sizeof(n), "%s_first_read", name);
    if (!expect_read(n, VAL_A))
        return;
    set_pte(pte, PAGE_B);
    fmt_snprintf(n, sizeof(n), "%s_drops_the_vpid_translation", name);
    expect_read(n, VAL_B);
}

static void test_guest_invalidation(void)
{
    if (!vmx_proc2_allowed(PROC2_VPID) || !vmx_ept_cap(EPT_CAP_INVVPID | EPT_CAP_INVVPID_ALL)) {
        report_skip("vpid_guest_invalidation", "VPID or all-context INVVPID not supported");
        return;
    }
    if (vmx_ctls.proc & (PROC_CR3_LOAD | PROC_INVLPG))
        report_skip("vpid_guest_invalidation", "CR3-load or INVLPG exiting cannot be 0");
    else {
        guest_invalidation_case("vpid_guest_mov_to_cr3", gx_vpid_cr3_loop);
        guest_invalidation_case("vpid_guest_invlpg", gx_vpid_invlpg_loop);
    }
}

/* Guest-physical mappings: the guest reads a window page whose EPT leaf
 * the host points elsewhere; INVEPT makes the change visible. */
static void test_invept_flush(void)
{
    const uint64_t lin = TW_PAGE(12);
    unsigned level;
    uint64_t *leaf = ept_leaf(&test_ept, lin, &level);

    if (!vmx_proc2_allowed(PROC2_VPID)) {
        report_skip("invept_flush", "VPID not supported");
        return;
    }
    *leaf = (*leaf & ~EPT_ADDR) | (uint64_t)ept_tpage[PAGE_A];
    ept_test_invept();
    if (!fresh_vmcs(PROC2_VPID))
        return;
    vmx_guest_setup(&test_regs, (void (*)(uint64_t))gx_vpid_loop, lin);
    last_exit.reason = ~0u;
    if (!expect_read("ept_first_read_page_a", VAL_A))
        return;
    /* SDM 3C "VMX Transitions": VM exits and entries never invalidate
     * guest-physical mappings; nvmx keeps the combined mapping. */
    *leaf = (*leaf & ~EPT_ADDR) | (uint64_t)ept_tpage[PAGE_B];
    expect_read("ept_stale_mapping_survives_exit_and_entry", VAL_A);
    if (vmx_ept_cap(EPT_CAP_INVEPT_SINGLE)) {
        check_vmx("invept_single_flush_ok", invept(INVEPT_SINGLE, ept_eptp(&test_ept, false)),
                  VMX_OK, 0);
        expect_read("ept_invept_single_context_drops_it", VAL_B);
        *leaf = (*leaf & ~EPT_ADDR) | (uint64_t)ept_tpage[PAGE_A];
        expect_read("ept_stale_before_global", VAL_B);
    } else {
        *leaf = (*leaf & ~EPT_ADDR) | (uint64_t)ept_tpage[PAGE_A];
        expect_read("ept_stale_before_global", VAL_A);
    }
    if (vmx_ept_cap(EPT_CAP_INVEPT_ALL)) {
        check_vmx("invept_global_flush_ok", invept(INVEPT_GLOBAL, 0), VMX_OK, 0);
        expect_read("ept_invept_global_drops_it", VAL_A);
    }
}

/* Last: outside VMX operation both are #UD */
static void test_outside_vmx(void)
{
    vmxoff();
    expect_fault("invept_outside_vmx_ud", OP_INVEPT, 6);
    if (vmx_ept_cap(EPT_CAP_INVVPID))
        expect_fault("invvpid_outside_vmx_ud", OP_INVVPID, 6);
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    ept_test_start(0, 0);
    if (!ept_test_build())
        return;
    test_invept_types();
    test_invvpid_types();
    test_no_current_vmcs();
    test_faults();
    test_nonroot();
    test_vpid_retention();
    test_guest_invalidation();
    test_invept_flush();
    test_outside_vmx();
}
