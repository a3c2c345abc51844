/* MSRs (src/cpu/msr.c, include/nvmx/msrs.def): the list itself, RDMSR/WRMSR
 * privilege and unknown-index faults, and each MSR's reserved bits and write
 * rules, on a real CPU in 64-bit mode. */
#include "cpu/cpu_internal.h"
#include "harness.h"

#include <check.h>
#include <stdlib.h>

#define RAM_SIZE (4u << 20)
#define PML4 0x1000ull
#define GDT_BASE 0x5000ull
#define CODE 0x10000ull

static struct cpu_model model;
static struct cost_model cost;
static struct machine *m;
static struct cpu *c;

struct msr_info {
    const char *name;
    uint32_t index;
};
static const struct msr_info msrs[] = {
#define MSR(n, idx, kind, f, r) { #n, idx },
#include "nvmx/msrs.def"
#undef MSR
};
#define NMSRS (sizeof msrs / sizeof msrs[0])
enum {
#define MSR(n, idx, kind, f, r) n = idx,
#include "nvmx/msrs.def"
#undef MSR
};

static void set_model(bool nx)
{
    th_model_init(&model, "msr-test");
    th_add_leaf(&model, 0, 0xd, 0, 0, 0);
    th_add_leaf(&model, 1, 0x906ea, 0, (1u << 5) | (1u << 21) | (1u << 24),
                (1u << 4) | (1u << 6) | (1u << 9));
    th_add_leaf(&model, 0xd, 0xdd, 0, 0, 0);
    th_add_leaf(&model, 0x80000000u, 0x80000008u, 0, 0, 0);
    th_add_leaf(&model, 0x80000001u, 0, 0, 0,
                (1u << 11) | (nx ? 1u << 20 : 0) | (1u << 27) | (1u << 29));
    th_add_leaf(&model, 0x80000008u, 0x3027, 0, 0, 0);
}

static void make_cpu(bool nx)
{
    set_model(nx);
    m = th_machine_create(RAM_SIZE, true);
    c = th_cpu_create(m, &model, &cost);
    th_long_mode_2m(c, PML4, 1, true, GDT_BASE);
    th_gdt_user64(c, GDT_BASE);
    c->gdtr.limit = 8 * 7 - 1;
    c->gpr[4] = 0x80000;
    c->stop_on_exception = true;
}

static void setup(void) { make_cpu(true); }

static void teardown(void)
{
    cpu_destroy(c);
    machine_destroy(m);
}

/* Run RDMSR (0F 32) or WRMSR (0F 30) on index with EDX:EAX = val; HLT after.
 * Returns true when it completed, false on an exception (checked #GP(0)). */
static bool run_msr(bool wr, uint32_t index, uint64_t val)
{
    const uint8_t code[] = { 0x0f, wr ? 0x30 : 0x32, 0xf4 };
    th_load(c, CODE, code, sizeof code);
    th_start_at(c, CODE);
    c->gpr[1] = index;
    c->gpr[0] = (uint32_t)val | 0xdead000000000000ull; /* upper halves are ignored */
    c->gpr[2] = val >> 32;
    enum cpu_stop s = cpu_run(c, 100);
    if (s == CPU_STOP_HLT_FOREVER)
        return true;
    ck_assert_int_eq(s, CPU_STOP_EXCEPTION);
    ck_assert_int_eq(c->last_exception, EXC_GP);
    ck_assert_uint_eq(c->last_error, 0);
    ck_assert_uint_eq(c->rip, CODE);
    return false;
}

static uint64_t rdmsr(uint32_t index)
{
    ck_assert_msg(run_msr(false, index, 0), "RDMSR 0x%x faulted", index);
    ck_assert_uint_eq(c->gpr[0] >> 32, 0);
    ck_assert_uint_eq(c->gpr[2] >> 32, 0);
    return (c->gpr[2] << 32) | c->gpr[0];
}

static bool wrmsr(uint32_t index, uint64_t val) { return run_msr(true, index, val); }

/* ---- the list -------------------------------------------------------------------- */

START_TEST(list_has_no_duplicates)
{
    for (unsigned i = 0; i < NMSRS; i++)
        for (unsigned j = i + 1; j < NMSRS; j++)
            ck_assert_msg(msrs[i].index != msrs[j].index, "%s and %s share 0x%x", msrs[i].name,
                          msrs[j].name, msrs[i].index);
}
END_TEST

/* Every listed MSR reads at CPL 0 without a fault. */
START_TEST(every_listed_msr_reads)
{
    (void)rdmsr(msrs[_i].index);
}
END_TEST

static const uint32_t unknown[] = { 0x0, 0x12, 0x1ff, 0x400, 0xc0000104u, 0x40000000u, 0xffffffffu };

START_TEST(unknown_msr_gp)
{
    ck_assert(!run_msr(false, unknown[_i], 0));
    ck_assert(!run_msr(true, unknown[_i], 0));
}
END_TEST

START_TEST(cpl3_gp)
{
    c->seg[SEG_CS] = (struct seg_reg){ .sel = 0x2b, .limit = 0xffffffff, .ar = 0xa0fb };
    c->seg[SEG_SS] = (struct seg_reg){ .sel = 0x33, .limit = 0xffffffff, .ar = 0xc0f3 };
    cpu_update_mode(c);
    ck_assert(!run_msr(false, IA32_EFER, 0));
    ck_assert(!run_msr(true, IA32_STAR, 0));
}
END_TEST

/* ---- rules of single MSRs ---------------------------------------------------------- */

/* Writes that must be #GP(0), leaving the MSR unchanged. */
static const struct { const char *what; uint32_t index; uint64_t val; } bad_writes[] = {
    { "EFER bit 1", IA32_EFER, EFER_LME | EFER_LMA | 2 },
    { "EFER bit 12", IA32_EFER, EFER_LME | (1ull << 12) },
    { "EFER LME cleared with PG", IA32_EFER, EFER_SCE },
    { "PAT entry 2", IA32_PAT, 0x0007040600070402ull },
    { "PAT entry 3", IA32_PAT, 0x0307040600070406ull },
    { "PAT bit 3 of an entry", IA32_PAT, 0x000704060007040eull },
    { "LSTAR non-canonical", IA32_LSTAR, 0x0000800000000000ull },
    { "CSTAR non-canonical", IA32_CSTAR, 0xfff0000000000000ull },
    { "FS_BASE non-canonical", IA32_FS_BASE, 1ull << 47 },
    { "GS_BASE non-canonical", IA32_GS_BASE, 1ull << 63 },
    { "KERNEL_GS_BASE non-canonical", IA32_KERNEL_GS_BASE, 1ull << 48 },
    { "SYSENTER_EIP non-canonical", IA32_SYSENTER_EIP, 1ull << 50 },
    { "SYSENTER_CS bit 32", IA32_SYSENTER_CS, 1ull << 32 },
    /* IA32_DEBUGCTL: the CPU implements BTF only; LBR, bits 5:2 (always
     * reserved), TR/BTS/BTINT/BTS_OFF (no DS area), the PMI freezes (no
     * performance monitoring), FREEZE_WHILE_SMM, RTM_DEBUG and 63:16 #GP. */
    { "DEBUGCTL LBR", IA32_DEBUGCTL, 1ull << 0 },
    { "DEBUGCTL bit 2", IA32_DEBUGCTL, 1ull << 2 },
    { "DEBUGCTL BTS", IA32_DEBUGCTL, 1ull << 7 },
    { "DEBUGCTL FREEZE_LBRS_ON_PMI", IA32_DEBUGCTL, 1ull << 11 },
    { "DEBUGCTL RTM_DEBUG", IA32_DEBUGCTL, 1ull << 15 },
    { "DEBUGCTL bit 16", IA32_DEBUGCTL, 1ull << 16 },
    { "DEBUGCTL bit 63", IA32_DEBUGCTL, 1ull << 63 },
    { "FMASK bit 32", IA32_FMASK, 1ull << 32 },
    { "TSC_AUX bit 32", IA32_TSC_AUX, 1ull << 32 },
    { "MISC_ENABLE bit 1", IA32_MISC_ENABLE, 3 },
    { "APIC_BASE bit 9", IA32_APIC_BASE, 0xfee00000ull | (1u << 11) | (1u << 9) },
    { "APIC_BASE above MAXPHYADDR", IA32_APIC_BASE, (1ull << 39) | (1u << 11) },
    { "APIC_BASE EXTD without EN", IA32_APIC_BASE, 0xfee00000ull | (1u << 10) },
    { "MTRR_DEF_TYPE type 2", IA32_MTRR_DEF_TYPE, 0xc02 },
    { "MTRR_DEF_TYPE bit 12", IA32_MTRR_DEF_TYPE, 0x1006 },
    { "MTRRCAP is read-only", IA32_MTRRCAP, 0 },
    { "FEATURE_CONTROL SENTER bit", IA32_FEATURE_CONTROL, 1u << 8 },
};

START_TEST(reserved_writes_gp)
{
    uint64_t before = rdmsr(bad_writes[_i].index);
    ck_assert_msg(!wrmsr(bad_writes[_i].index, bad_writes[_i].val), "%s: no #GP",
                  bad_writes[_i].what);
    ck_assert_msg(rdmsr(bad_writes[_i].index) == before, "%s: value changed", bad_writes[_i].what);
}
END_TEST

/* Writes that succeed and read back. */
static const struct { const char *what; uint32_t index; uint64_t val; } good_writes[] = {
    { "PAT", IA32_PAT, 0x0001050406070400ull },
    { "STAR", IA32_STAR, 0x0023001000000000ull },
    { "LSTAR", IA32_LSTAR, 0xffffffff81000000ull },
    { "FS_BASE", IA32_FS_BASE, 0x00007fffffffe000ull },
    { "KERNEL_GS_BASE", IA32_KERNEL_GS_BASE, 0xffff888000000000ull },
    { "SYSENTER_CS", IA32_SYSENTER_CS, 0x10 },
    { "DEBUGCTL BTF", IA32_DEBUGCTL, 1ull << 1 },
    { "FMASK", IA32_FMASK, 0x47700 },
    { "TSC_AUX", IA32_TSC_AUX, 0xfeedface },
    { "MTRR_DEF_TYPE", IA32_MTRR_DEF_TYPE, 0xc06 },
    { "APIC_BASE moved", IA32_APIC_BASE, 0xfec00000ull | (1u << 11) | (1u << 8) },
    { "APIC_BASE x2APIC", IA32_APIC_BASE, 0xfee00000ull | (3u << 10) | (1u << 8) },
};

START_TEST(writes_read_back)
{
    ck_assert_msg(wrmsr(good_writes[_i].index, good_writes[_i].val), "%s: #GP",
                  good_writes[_i].what);
    ck_assert_msg(rdmsr(good_writes[_i].index) == good_writes[_i].val, "%s: 0x%llx read back",
                  good_writes[_i].what, (unsigned long long)rdmsr(good_writes[_i].index));
}
END_TEST

START_TEST(fs_gs_base_msrs_are_segment_bases)
{
    ck_assert(wrmsr(IA32_GS_BASE, 0xffff800012345000ull));
    ck_assert_uint_eq(c->seg[SEG_GS].base, 0xffff800012345000ull);
    c->seg[SEG_FS].base = 0x5000;
    ck_assert_uint_eq(rdmsr(IA32_FS_BASE), 0x5000);
}
END_TEST

/* SDM 4 IA32_EFER: LMA is read-only; NXE needs CPUID.80000001H:EDX[20]. */
START_TEST(efer_rules)
{
    ck_assert(wrmsr(IA32_EFER, EFER_LME | EFER_SCE | EFER_NXE)); /* LMA written as 0 */
    ck_assert_uint_eq(rdmsr(IA32_EFER), EFER_LME | EFER_LMA | EFER_SCE | EFER_NXE);
    ck_assert_int_eq(c->mode, MODE_LONG64);
}
END_TEST

START_TEST(efer_nxe_needs_cpuid)
{
    teardown();
    make_cpu(false);
    ck_assert(!wrmsr(IA32_EFER, EFER_LME | EFER_NXE));
    ck_assert(wrmsr(IA32_EFER, EFER_LME));
}
END_TEST

/* With paging off, LME may change; paging on then activates IA-32e mode. */
START_TEST(efer_lme_with_paging_off)
{
    c->cr0 &= ~CR0_PG;
    c->seg[SEG_CS].ar &= ~AR_L;
    cpu_update_mode(c);
    ck_assert(wrmsr(IA32_EFER, 0));
    ck_assert_uint_eq(rdmsr(IA32_EFER), 0);
    ck_assert(wrmsr(IA32_EFER, EFER_LME));
    ck_assert_uint_eq(rdmsr(IA32_EFER), EFER_LME);
}
END_TEST

/* SDM 3A "x2APIC State Transitions" (Figure "Local x2APIC State
 * Transitions"): disabled -> xAPIC -> x2APIC -> disabled are valid;
 * disabled -> x2APIC and x2APIC -> xAPIC are #GP. */
#define APIC_EN (1ull << 11)
#define APIC_EXTD (1ull << 10)
#define APIC_BSP (1ull << 8)
START_TEST(apic_base_transitions)
{
    uint64_t base = 0xfee00000ull | APIC_BSP;
    ck_assert(wrmsr(IA32_APIC_BASE, base | APIC_EN | APIC_EXTD));   /* xAPIC -> x2APIC */
    ck_assert(!wrmsr(IA32_APIC_BASE, base | APIC_EN));              /* x2APIC -> xAPIC */
    ck_assert(wrmsr(IA32_APIC_BASE, base));                         /* x2APIC -> disabled */
    ck_assert(!wrmsr(IA32_APIC_BASE, base | APIC_EN | APIC_EXTD));  /* disabled -> x2APIC */
    ck_assert(wrmsr(IA32_APIC_BASE, base | APIC_EN));               /* disabled -> xAPIC */
    ck_assert_uint_eq(rdmsr(IA32_APIC_BASE), base | APIC_EN);
}
END_TEST

/* SDM 3A "Relocating the Local APIC Registers" and "Local APIC Status and
 * Location": the xAPIC page follows the base; disabled or in x2APIC mode
 * the APIC decodes no page (reads give all-ones, the unbacked value). The
 * version register (offset 30H) identifies the page. */
START_TEST(apic_mmio_follows_base_and_mode)
{
    uint64_t ver = cpu_read_phys(c, 0xfee00030ull, 4);
    ck_assert_uint_ne(ver, 0xffffffffull);
    ck_assert(wrmsr(IA32_APIC_BASE, 0xfed00000ull | APIC_BSP | APIC_EN));
    ck_assert_uint_eq(cpu_read_phys(c, 0xfed00030ull, 4), ver);
    ck_assert_uint_eq(cpu_read_phys(c, 0xfee00030ull, 4), 0xffffffffull);
    ck_assert(wrmsr(IA32_APIC_BASE, 0xfed00000ull | APIC_BSP | APIC_EN | APIC_EXTD));
    ck_assert_uint_eq(cpu_read_phys(c, 0xfed00030ull, 4), 0xffffffffull);
    ck_assert(wrmsr(IA32_APIC_BASE, 0xfee00000ull | APIC_BSP));
    ck_assert_uint_eq(cpu_read_phys(c, 0xfee00030ull, 4), 0xffffffffull);
    ck_assert(wrmsr(IA32_APIC_BASE, 0xfee00000ull | APIC_BSP | APIC_EN));
    ck_assert_uint_eq(cpu_read_phys(c, 0xfee00030ull, 4), ver);
}
END_TEST

/* SDM 3A "Task Priority in IA-32e Mode": CR8[3:0] is TPR[7:4]; a CR8 write
 * clears TPR[3:0]. MOV CR8, RAX = 44 0F 22 C0; MOV RAX, CR8 = 44 0F 20 C0. */
START_TEST(cr8_is_the_tpr)
{
    static const uint8_t wr[] = { 0x44, 0x0f, 0x22, 0xc0, 0xf4 };
    static const uint8_t rd[] = { 0x44, 0x0f, 0x20, 0xc0, 0xf4 };
    cpu_write_phys(c, 0xfee00080ull, 4, 0x3c); /* TPR */
    th_load(c, CODE, rd, sizeof rd);
    th_start_at(c, CODE);
    c->gpr[0] = 0x55;
    cpu_run(c, 2);
    ck_assert_uint_eq(c->gpr[0], 0x3);
    th_load(c, CODE, wr, sizeof wr);
    th_start_at(c, CODE);
    c->gpr[0] = 0x9;
    cpu_run(c, 2);
    ck_assert_uint_eq(cpu_read_phys(c, 0xfee00080ull, 4), 0x90);
}
END_TEST

/* SDM 3C "Enabling and Entering VMX Operation": locked means #GP. */
START_TEST(feature_control_lock)
{
    ck_assert(wrmsr(IA32_FEATURE_CONTROL, 5));
    ck_assert_uint_eq(rdmsr(IA32_FEATURE_CONTROL), 5);
    ck_assert(!wrmsr(IA32_FEATURE_CONTROL, 5));
    ck_assert(!wrmsr(IA32_FEATURE_CONTROL, 0));
    ck_assert_uint_eq(rdmsr(IA32_FEATURE_CONTROL), 5);
}
END_TEST

/* IA32_TIME_STAMP_COUNTER: RDTSC continues from the written value. */
START_TEST(tsc_write_sets_counter)
{
    ck_assert(wrmsr(IA32_TIME_STAMP_COUNTER, 0x1000000000ull));
    uint64_t t = rdmsr(IA32_TIME_STAMP_COUNTER);
    ck_assert_uint_ge(t, 0x1000000000ull);
    ck_assert_uint_lt(t, 0x1000000000ull + 100000);
    ck_assert(wrmsr(IA32_TIME_STAMP_COUNTER, 5));
    ck_assert_uint_lt(cpu_tsc(c), 100000);
}
END_TEST

/* IA32_MISC_ENABLE[22] limits CPUID leaf 0 to 2. */
START_TEST(misc_enable_limits_cpuid)
{
    uint32_t out[4];
    ck_assert(wrmsr(IA32_MISC_ENABLE, 1 | (1u << 22)));
    cpu_cpuid(c, 0, 0, out);
    ck_assert_uint_eq(out[0], 2);
    cpu_cpuid(c, 0xd, 0, out); /* beyond the limit: the highest basic leaf (2) */
    ck_assert_uint_eq(out[0], 0);
    ck_assert(wrmsr(IA32_MISC_ENABLE, 1));
    cpu_cpuid(c, 0, 0, out);
    ck_assert_uint_eq(out[0], 0xd);
}
END_TEST

/* Read-as-zero MSRs: BIOS_SIGN_ID accepts 0 (the microcode-revision
 * protocol), MCG_CAP and PLATFORM_ID reject writes. */
START_TEST(zero_msrs)
{
    ck_assert_uint_eq(rdmsr(IA32_MCG_CAP), 0);
    ck_assert(!wrmsr(IA32_MCG_CAP, 0));
    ck_assert(!wrmsr(IA32_PLATFORM_ID, 0));
    ck_assert(wrmsr(IA32_BIOS_SIGN_ID, 0));
    ck_assert(!wrmsr(IA32_BIOS_SIGN_ID, 1));
}
END_TEST

static Suite *msr_suite(void)
{
    Suite *s = suite_create("msr");
    TCase *tc = tcase_create("list");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, list_has_no_duplicates);
    tcase_add_loop_test(tc, every_listed_msr_reads, 0, NMSRS);
    tcase_add_loop_test(tc, unknown_msr_gp, 0, sizeof unknown / sizeof unknown[0]);
    tcase_add_test(tc, cpl3_gp);
    suite_add_tcase(s, tc);

    tc = tcase_create("rules");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, reserved_writes_gp, 0, sizeof bad_writes / sizeof bad_writes[0]);
    tcase_add_loop_test(tc, writes_read_back, 0, sizeof good_writes / sizeof good_writes[0]);
    tcase_add_test(tc, fs_gs_base_msrs_are_segment_bases);
    tcase_add_test(tc, efer_rules);
    tcase_add_test(tc, efer_nxe_needs_cpuid);
    tcase_add_test(tc, efer_lme_with_paging_off);
    tcase_add_test(tc, feature_control_lock);
    tcase_add_test(tc, apic_base_transitions);
    tcase_add_test(tc, apic_mmio_follows_base_and_mode);
    tcase_add_test(tc, cr8_is_the_tpr);
    tcase_add_test(tc, tsc_write_sets_counter);
    tcase_add_test(tc, misc_enable_limits_cpuid);
    tcase_add_test(tc, zero_msrs);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(msr_suite());
}
