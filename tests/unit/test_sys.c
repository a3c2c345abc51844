/* System instructions run on a real CPU in 64-bit mode: control and debug
 * registers, descriptor-table registers, LDTR/TR, CPUID, the interrupt-flag
 * and flags-image instructions, port I/O with the TSS I/O permission bitmap,
 * time stamp, FS/GS bases, the x87 escapes, CLAC/STAC and self-IPIs through
 * the xAPIC page. Each case checks the architectural result or the exact
 * exception vector and error code. */
#include "cpu/cpu_internal.h"
#include "harness.h"

#include <check.h>
#include <stdlib.h>

#define RAM_SIZE (8u << 20)
#define PML4 0x1000ull /* PDPT 0x2000, PD 0x3000, 2-MByte pages */
#define GDT_BASE 0x5000ull
#define TSS_BASE 0x6000ull
#define LDT_BASE 0x7000ull
#define CODE 0x10000ull
#define DATA 0x20000ull
#define STACK_TOP 0x80000ull

/* GDT: selector = 8 * index. */
#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UCODE 0x2b /* index 5, RPL 3 */
#define SEL_UDATA 0x33 /* index 6, RPL 3 */
#define SEL_TSS 0x38   /* index 7-8, 16 bytes */
#define SEL_LDT 0x48   /* index 9-10 */
#define SEL_TSS_NP 0x58 /* index 11-12, not present */
#define SEL_DATA_SYS 0x68 /* index 13: a code/data descriptor */
#define TSS_LIMIT 0x2100u /* bitmap at 0x68, covers ports 0..0xffff */
#define IOMAP_OFF 0x68u

static struct cpu_model model;
static struct cost_model cost;
static struct machine *m;
static struct cpu *c;

static void set_model(void)
{
    th_model_init(&model, "sys-test");
    th_add_leaf(&model, 0, 0xd, 0x756e6547, 0x6c65746e, 0x49656e69); /* GenuineIntel */
    /* leaf 1: APIC ID 7 in EBX[31:24] (must read as 0); ECX VMX, PCID,
     * x2APIC, XSAVE; EDX DE PSE TSC PAE MCE APIC PGE, no FPU */
    th_add_leaf(&model, 1, 0x000906ea, 0x07100800,
                (1u << 5) | (1u << 17) | (1u << 21) | (1u << 26),
                (1u << 2) | (1u << 3) | (1u << 4) | (1u << 6) | (1u << 7) | (1u << 9) | (1u << 13));
    /* FSGSBASE SMEP SMAP, UMIP */
    th_add_leaf(&model, 7, 0, (1u << 0) | (1u << 7) | (1u << 20), 1u << 2, 0);
    th_add_leaf(&model, 0xd, 0x11, 0x22, 0x33, 0x44);
    th_add_leaf(&model, 0x80000000u, 0x80000008u, 0, 0, 0);
    th_add_leaf(&model, 0x80000001u, 0, 0, 0, (1u << 11) | (1u << 20) | (1u << 27) | (1u << 29));
    th_add_leaf(&model, 0x80000008u, 0x3027, 0, 0, 0); /* MAXPHYADDR 39 */
}

static uint64_t sys_desc_lo(uint64_t base, uint32_t limit, unsigned type, bool present)
{
    return (limit & 0xffffull) | ((base & 0xffffffull) << 16) | ((uint64_t)type << 40) |
           (present ? 1ull << 47 : 0) | ((uint64_t)(limit >> 16 & 0xf) << 48) |
           ((base >> 24 & 0xff) << 56);
}

static void setup(void)
{
    set_model();
    m = th_machine_create(RAM_SIZE, true);
    c = th_cpu_create(m, &model, &cost);

    th_long_mode_2m(c, PML4, 4, true, GDT_BASE);

    th_gdt_user64(c, GDT_BASE);
    cpu_write_phys(c, GDT_BASE + 8 * 7, 8, sys_desc_lo(TSS_BASE, TSS_LIMIT, 9, true));
    cpu_write_phys(c, GDT_BASE + 8 * 8, 8, 0);
    cpu_write_phys(c, GDT_BASE + 8 * 9, 8, sys_desc_lo(LDT_BASE, 0xff, 2, true));
    cpu_write_phys(c, GDT_BASE + 8 * 10, 8, 0);
    cpu_write_phys(c, GDT_BASE + 8 * 11, 8, sys_desc_lo(TSS_BASE, TSS_LIMIT, 9, false));
    cpu_write_phys(c, GDT_BASE + 8 * 12, 8, 0);
    cpu_write_phys(c, GDT_BASE + 8 * 13, 8, 0x00cf93000000ffffull);
    cpu_write_phys(c, GDT_BASE + 8 * 14, 8, 0);
    c->gdtr.limit = 8 * 15 - 1;

    /* TSS with the I/O bitmap at IOMAP_OFF: all ports allowed; the byte
     * after the bitmap is 0xff as the SDM asks */
    cpu_write_phys(c, TSS_BASE + 102, 2, IOMAP_OFF);
    for (unsigned i = 0; i <= 0x2000; i += 8)
        cpu_write_phys(c, TSS_BASE + IOMAP_OFF + i, 8, i == 0x2000 ? ~0ull : 0);
    c->tr = (struct seg_reg){ .base = TSS_BASE, .limit = TSS_LIMIT, .ar = 0x8b, .sel = SEL_TSS };

    c->gpr[4] = STACK_TOP;
    c->stop_on_exception = true;
}

static void teardown(void)
{
    cpu_destroy(c);
    machine_destroy(m);
}

static void to_cpl3(void)
{
    c->seg[SEG_CS] = (struct seg_reg){ .sel = SEL_UCODE, .limit = 0xffffffff, .ar = 0xa0fb };
    struct seg_reg d = { .sel = SEL_UDATA, .limit = 0xffffffff, .ar = 0xc0f3 };
    c->seg[SEG_SS] = c->seg[SEG_DS] = c->seg[SEG_ES] = d;
    cpu_update_mode(c);
    ck_assert_int_eq(c->cpl, 3);
}

static void set_iopl(unsigned iopl)
{
    c->rflags = (c->rflags & ~FL_IOPL) | ((uint64_t)iopl << FL_IOPL_SHIFT);
}

/* Load code at CODE and run it to its HLT (or the first exception). Code
 * that runs at CPL 3 cannot HLT: it stops at the first exception (UD2 when
 * nothing else faults). */
static enum cpu_stop run_limit(const uint8_t *code, size_t n, uint64_t insns)
{
    th_load(c, CODE, code, n);
    th_start_at(c, CODE); /* the previous run may have ended with HLT */
    return cpu_run(c, insns);
}

static enum cpu_stop run(const uint8_t *code, size_t n)
{
    return run_limit(code, n, 1000);
}
#define RUN(...)                                                                                   \
    ({                                                                                             \
        static const uint8_t code_[] = { __VA_ARGS__ };                                            \
        run(code_, sizeof code_);                                                                  \
    })

#define HLT 0xf4
#define UD2 0x0f, 0x0b

/* Ran to the HLT that ends the code (len bytes before it). */
static void expect_done(enum cpu_stop s, size_t len_to_hlt)
{
    ck_assert_msg(s == CPU_STOP_HLT_FOREVER, "stop %d, exception %d error 0x%x at rip 0x%llx",
                  s, c->last_exception, c->last_error, (unsigned long long)c->rip);
    ck_assert_uint_eq(c->rip, CODE + len_to_hlt + 1);
}

/* Stopped on exception vec (with error code err when has_err) at CODE+off. */
static void expect_fault(enum cpu_stop s, int vec, bool has_err, uint32_t err, size_t off)
{
    ck_assert_msg(s == CPU_STOP_EXCEPTION, "stop %d, expected exception %d", s, vec);
    ck_assert_int_eq(c->last_exception, vec);
    ck_assert_int_eq(c->last_has_error, has_err);
    if (has_err)
        ck_assert_uint_eq(c->last_error, err);
    ck_assert_uint_eq(c->rip, CODE + off);
}
#define EXPECT_GP0(s, off) expect_fault((s), EXC_GP, true, 0, (off))
#define EXPECT_UD(s, off) expect_fault((s), EXC_UD, false, 0, (off))

/* ---- control registers ------------------------------------------------------ */

/* MOV CR0, RBX; MOV RCX, CR0: defined bits read back, ET stays 1. */
START_TEST(cr0_write_reads_back)
{
    c->gpr[3] = (c->cr0 | CR0_AM | CR0_TS) & ~CR0_ET;
    expect_done(RUN(0x0f, 0x22, 0xc3, 0x0f, 0x20, 0xc1, HLT), 6);
    ck_assert_uint_eq(c->gpr[1], c->cr0);
    ck_assert_uint_eq(c->cr0 & (CR0_AM | CR0_TS | CR0_ET), CR0_AM | CR0_TS | CR0_ET);
}
END_TEST

/* SDM 2B "MOV -- Move to/from Control Registers", 64-bit mode #GP(0) list:
 * CR0[63:32] reserved, PG without PE, NW without CD, clearing PG in 64-bit
 * mode. Each leaves CR0 unchanged. */
static const struct { const char *what; uint64_t set, clear; } bad_cr0[] = {
    { "bit 32", 1ull << 32, 0 },
    { "PG without PE", 0, CR0_PE },
    { "NW without CD", CR0_NW, CR0_CD },
    { "clear PG in 64-bit mode", 0, CR0_PG },
};

START_TEST(cr0_invalid_writes_gp)
{
    uint64_t before = c->cr0;
    c->gpr[3] = (c->cr0 | bad_cr0[_i].set) & ~bad_cr0[_i].clear;
    enum cpu_stop s = RUN(0x0f, 0x22, 0xc3, HLT);
    ck_assert_msg(s == CPU_STOP_EXCEPTION && c->last_exception == EXC_GP,
                  "%s: stop %d vector %d", bad_cr0[_i].what, s, c->last_exception);
    EXPECT_GP0(s, 0);
    ck_assert_uint_eq(c->cr0, before);
}
END_TEST

/* SDM 3A "Initializing IA-32e Mode": from 32-bit protected mode without
 * paging, PG with EFER.LME = 1 needs CR4.PAE and a CS without L, and
 * activates IA-32e mode (LMA = 1, compatibility mode). */
static void flat_protected_for_paging(uint64_t cr4, uint64_t efer, uint64_t cr3)
{
    cpu_set_flat_protected(c);
    c->cr4 = cr4;
    c->efer = efer;
    c->cr3 = cr3;
    cpu_update_mode(c);
    c->gpr[3] = c->cr0 | CR0_PG;
}

START_TEST(cr0_pg_activates_ia32e)
{
    flat_protected_for_paging(0, EFER_LME, PML4);
    EXPECT_GP0(RUN(0x0f, 0x22, 0xc3, HLT), 0); /* PAE = 0 */
    flat_protected_for_paging(CR4_PAE, EFER_LME, PML4);
    c->seg[SEG_CS].ar |= AR_L;
    c->seg[SEG_CS].ar &= ~AR_DB;
    EXPECT_GP0(RUN(0x0f, 0x22, 0xc3, HLT), 0); /* CS.L = 1 */
    ck_assert_uint_eq(c->efer & EFER_LMA, 0);
    flat_protected_for_paging(CR4_PAE, EFER_LME, PML4);
    expect_done(RUN(0x0f, 0x22, 0xc3, HLT), 3);
    ck_assert_uint_eq(c->efer & EFER_LMA, EFER_LMA);
    ck_assert_int_eq(c->mode, MODE_COMPAT);
    /* clearing PG in compatibility mode leaves IA-32e mode */
    c->gpr[3] = c->cr0 & ~CR0_PG;
    expect_done(RUN(0x0f, 0x22, 0xc3, HLT), 3);
    ck_assert_uint_eq(c->efer & EFER_LMA, 0);
    ck_assert_int_eq(c->mode, MODE_PROT);
}
END_TEST

/* SDM 3A "PDPTE Registers": enabling PAE paging loads the PDPTEs; a present
 * PDPTE with a reserved bit set makes MOV CR0 #GP(0). */
START_TEST(cr0_pg_pae_loads_pdptes)
{
    cpu_write_phys(c, 0x8000, 8, 0x3000 | 1 | 2); /* bit 1 is reserved */
    flat_protected_for_paging(CR4_PAE, 0, 0x8000);
    EXPECT_GP0(RUN(0x0f, 0x22, 0xc3, HLT), 0);
    ck_assert_uint_eq(c->cr0 & CR0_PG, 0);
    cpu_write_phys(c, 0x8000, 8, 0x3000 | 1);
    expect_done(RUN(0x0f, 0x22, 0xc3, HLT), 3);
    ck_assert_uint_eq(c->cr0 & CR0_PG, CR0_PG);
    ck_assert_int_eq(c->mode, MODE_PROT);
}
END_TEST

START_TEST(cr4_rules)
{
    /* a bit the model does not have (LA57, OSFXSR without FXSR) */
    c->gpr[3] = c->cr4 | CR4_LA57;
    EXPECT_GP0(RUN(0x0f, 0x22, 0xe3, HLT), 0);
    c->gpr[3] = c->cr4 | CR4_OSFXSR;
    EXPECT_GP0(RUN(0x0f, 0x22, 0xe3, HLT), 0);
    /* leaving IA-32e mode by clearing PAE */
    c->gpr[3] = c->cr4 & ~CR4_PAE;
    EXPECT_GP0(RUN(0x0f, 0x22, 0xe3, HLT), 0);
    ck_assert_uint_eq(c->cr4, CR4_PAE);
    /* valid: PGE, FSGSBASE, UMIP (SMEP would stop this code: its pages
     * are user pages) */
    c->gpr[3] = c->cr4 | CR4_PGE | CR4_FSGSBASE | CR4_UMIP;
    expect_done(RUN(0x0f, 0x22, 0xe3, 0x0f, 0x20, 0xe1, HLT), 6);
    ck_assert_uint_eq(c->gpr[1], CR4_PAE | CR4_PGE | CR4_FSGSBASE | CR4_UMIP);
}
END_TEST

/* SDM 3A "Process-Context Identifiers": CR4.PCIDE 0 -> 1 needs CR3[11:0] = 0. */
START_TEST(cr4_pcide_needs_cr3_low_bits_clear)
{
    c->cr3 = PML4 | 0x8; /* PWT */
    c->gpr[3] = c->cr4 | CR4_PCIDE;
    EXPECT_GP0(RUN(0x0f, 0x22, 0xe3, HLT), 0);
    c->cr3 = PML4;
    expect_done(RUN(0x0f, 0x22, 0xe3, HLT), 3);
    ck_assert_uint_eq(c->cr4 & CR4_PCIDE, CR4_PCIDE);
    /* with PCIDE, CR3 bit 63 (no flush) is not stored, the PCID is */
    c->gpr[3] = (1ull << 63) | PML4 | 5;
    expect_done(RUN(0x0f, 0x22, 0xdb, 0x0f, 0x20, 0xd9, HLT), 6);
    ck_assert_uint_eq(c->gpr[1], PML4 | 5);
}
END_TEST

START_TEST(cr3_reserved_bits_gp)
{
    c->gpr[3] = PML4 | (1ull << 39); /* MAXPHYADDR = 39 */
    EXPECT_GP0(RUN(0x0f, 0x22, 0xdb, HLT), 0);
    ck_assert_uint_eq(c->cr3, PML4);
    c->gpr[3] = PML4 | 0x18; /* PWT|PCD kept */
    expect_done(RUN(0x0f, 0x22, 0xdb, 0x0f, 0x20, 0xd9, HLT), 6);
    ck_assert_uint_eq(c->gpr[1], PML4 | 0x18);
}
END_TEST

START_TEST(cr8_tpr)
{
    c->gpr[3] = 0x9;
    expect_done(RUN(0x44, 0x0f, 0x22, 0xc3, 0x44, 0x0f, 0x20, 0xc1, HLT), 8);
    ck_assert_uint_eq(c->gpr[1], 0x9);
    c->gpr[3] = 0x10;
    EXPECT_GP0(RUN(0x44, 0x0f, 0x22, 0xc3, HLT), 0);
    ck_assert_uint_eq(c->cr8, 0x9);
}
END_TEST

START_TEST(cr2_any_value)
{
    c->gpr[3] = 0xdeadbeefcafe1234ull;
    expect_done(RUN(0x0f, 0x22, 0xd3, 0x0f, 0x20, 0xd1, HLT), 6);
    ck_assert_uint_eq(c->gpr[1], 0xdeadbeefcafe1234ull);
}
END_TEST

/* CR1, CR5-CR7 and CR9 (REX.R) do not exist: #UD, even at CPL 3. */
static const uint8_t bad_cr_modrm[] = { 0xc8, 0xe8, 0xf0, 0xf8 };

START_TEST(cr_undefined_ud)
{
    uint8_t code[] = { 0x0f, 0x20, bad_cr_modrm[_i], HLT };
    EXPECT_UD(run(code, sizeof code), 0);
    uint8_t code9[] = { 0x44, 0x0f, 0x22, 0xc8, HLT }; /* MOV CR9, RAX */
    EXPECT_UD(run(code9, sizeof code9), 0);
}
END_TEST

START_TEST(cr_access_at_cpl3_gp)
{
    to_cpl3();
    EXPECT_GP0(RUN(0x0f, 0x20, 0xc0, UD2), 0);
    EXPECT_GP0(RUN(0x0f, 0x22, 0xd8, UD2), 0);
    EXPECT_GP0(RUN(0x0f, 0x06, UD2), 0);          /* CLTS */
    EXPECT_GP0(RUN(0x0f, 0x21, 0xf8, UD2), 0);    /* MOV RAX, DR7 */
    EXPECT_GP0(RUN(0xf4), 0);                     /* HLT */
    EXPECT_GP0(RUN(0x0f, 0x09), 0);               /* WBINVD */
    EXPECT_GP0(RUN(0x0f, 0x01, 0xf3, UD2), 0);    /* LMSW BX */
}
END_TEST

START_TEST(clts_lmsw_smsw)
{
    c->cr0 |= CR0_TS;
    expect_done(RUN(0x0f, 0x06, HLT), 2);
    ck_assert_uint_eq(c->cr0 & CR0_TS, 0);
    /* LMSW cannot clear PE; it loads MP/EM/TS */
    c->gpr[3] = CR0_EM | CR0_TS; /* PE = 0 in the source */
    expect_done(RUN(0x0f, 0x01, 0xf3, HLT), 3);
    ck_assert_uint_eq(c->cr0 & (CR0_PE | CR0_MP | CR0_EM | CR0_TS), CR0_PE | CR0_EM | CR0_TS);
    /* SMSW RCX (REX.W) stores CR0; SMSW [DATA] stores 16 bits */
    c->gpr[3] = DATA;
    cpu_write_phys(c, DATA, 8, ~0ull);
    expect_done(RUN(0x48, 0x0f, 0x01, 0xe1, 0x0f, 0x01, 0x23, HLT), 7);
    ck_assert_uint_eq(c->gpr[1], c->cr0);
    ck_assert_uint_eq(cpu_read_phys(c, DATA, 8), 0xffffffffffff0000ull | (c->cr0 & 0xffff));
}
END_TEST

/* SDM 3A "User-Mode Instruction Prevention" */
START_TEST(umip_blocks_stores_at_cpl3)
{
    c->gpr[3] = DATA;
    to_cpl3();
    /* without UMIP SMSW and SGDT work at CPL 3 */
    ck_assert_int_eq(RUN(0x0f, 0x01, 0xe1, 0x0f, 0x01, 0x03, UD2), CPU_STOP_EXCEPTION);
    ck_assert_int_eq(c->last_exception, EXC_UD);
    ck_assert_uint_eq(cpu_read_phys(c, DATA, 2), c->gdtr.limit);
    c->cr4 |= CR4_UMIP;
    EXPECT_GP0(RUN(0x0f, 0x01, 0xe1, UD2), 0); /* SMSW ECX */
    EXPECT_GP0(RUN(0x0f, 0x01, 0x03, UD2), 0); /* SGDT [RBX] */
    EXPECT_GP0(RUN(0x0f, 0x01, 0x0b, UD2), 0); /* SIDT [RBX] */
    EXPECT_GP0(RUN(0x0f, 0x00, 0xc1, UD2), 0); /* SLDT ECX */
    EXPECT_GP0(RUN(0x0f, 0x00, 0xc9, UD2), 0); /* STR ECX */
}
END_TEST

/* ---- debug registers ----------------------------------------------------------- */

START_TEST(dr_rules)
{
    /* DR7 fixed bits; DR4 aliases DR6 while CR4.DE = 0 */
    c->gpr[3] = 0x0f0fd8ffull; /* bits 11, 12, 14, 15 read 0, bit 10 reads 1 */
    expect_done(RUN(0x0f, 0x23, 0xfb, 0x0f, 0x21, 0xf9, 0x0f, 0x21, 0xe2, HLT), 9);
    ck_assert_uint_eq(c->gpr[1], 0x0f0f04ffull);
    ck_assert_uint_eq(c->gpr[2], 0xffff0ff0ull); /* DR4 -> DR6 */
    /* DR6/DR7 upper half reserved in 64-bit mode */
    c->gpr[3] = 1ull << 32;
    EXPECT_GP0(RUN(0x0f, 0x23, 0xf3, HLT), 0);
    /* CR4.DE = 1: DR4/DR5 are #UD */
    c->cr4 |= CR4_DE;
    EXPECT_UD(RUN(0x0f, 0x21, 0xe2, HLT), 0);
    /* DR7.GD: any DR access is #DB with BD; DR6.BD is set and DR7.GD
     * cleared when the #DB is delivered (the run stops before that). */
    c->dr[7] |= 1u << 13;
    expect_fault(RUN(0x0f, 0x21, 0xc0, HLT), EXC_DB, false, 0, 0);
    ck_assert_uint_eq(c->fault_dr6, 1u << 13);
}
END_TEST

/* ---- descriptor-table registers ------------------------------------------------ */

START_TEST(lgdt_sgdt_round_trip)
{
    cpu_write_phys(c, DATA, 2, 0x1234);
    cpu_write_phys(c, DATA + 2, 8, 0xffff800000001000ull);
    c->gpr[3] = DATA;
    c->gpr[5] = DATA + 0x100;
    /* LIDT [RBX]; SIDT [RBP+0] */
    expect_done(RUN(0x0f, 0x01, 0x1b, 0x0f, 0x01, 0x4d, 0x00, HLT), 7);
    ck_assert_uint_eq(c->idtr.base, 0xffff800000001000ull);
    ck_assert_uint_eq(c->idtr.limit, 0x1234);
    ck_assert_uint_eq(cpu_read_phys(c, DATA + 0x100, 2), 0x1234);
    ck_assert_uint_eq(cpu_read_phys(c, DATA + 0x102, 8), 0xffff800000001000ull);
    /* non-canonical base: #GP(0), GDTR unchanged */
    struct dtr before = c->gdtr;
    cpu_write_phys(c, DATA + 2, 8, 0x0000800000000000ull);
    EXPECT_GP0(RUN(0x0f, 0x01, 0x13, HLT), 0);
    ck_assert_uint_eq(c->gdtr.base, before.base);
    to_cpl3();
    EXPECT_GP0(RUN(0x0f, 0x01, 0x13, UD2), 0);
}
END_TEST

START_TEST(ltr_marks_busy)
{
    c->tr = (struct seg_reg){ .ar = AR_UNUSABLE };
    c->gpr[3] = SEL_TSS;
    expect_done(RUN(0x0f, 0x00, 0xdb, 0x0f, 0x00, 0xc9, HLT), 6);
    ck_assert_uint_eq(c->tr.sel, SEL_TSS);
    ck_assert_uint_eq(c->tr.base, TSS_BASE);
    ck_assert_uint_eq(c->tr.limit, TSS_LIMIT);
    ck_assert_uint_eq(c->tr.ar & AR_TYPE_MASK, 0xb);
    ck_assert_uint_eq((cpu_read_phys(c, GDT_BASE + 8 * 7, 8) >> 40) & 0xf, 0xb);
    ck_assert_uint_eq(c->gpr[1], SEL_TSS); /* STR */
    /* now busy: LTR again is #GP(selector) */
    expect_fault(RUN(0x0f, 0x00, 0xdb, HLT), EXC_GP, true, SEL_TSS, 0);
}
END_TEST

START_TEST(ltr_lldt_descriptor_checks)
{
    c->tr = (struct seg_reg){ .ar = AR_UNUSABLE };
    c->gpr[3] = 0;
    EXPECT_GP0(RUN(0x0f, 0x00, 0xdb, HLT), 0); /* LTR null */
    c->gpr[3] = SEL_TSS_NP;
    expect_fault(RUN(0x0f, 0x00, 0xdb, HLT), EXC_NP, true, SEL_TSS_NP, 0);
    c->gpr[3] = SEL_LDT; /* an LDT is not a TSS */
    expect_fault(RUN(0x0f, 0x00, 0xdb, HLT), EXC_GP, true, SEL_LDT, 0);
    c->gpr[3] = SEL_TSS | 4; /* TI = 1: the error code keeps TI */
    expect_fault(RUN(0x0f, 0x00, 0xdb, HLT), EXC_GP, true, SEL_TSS | 4, 0);
    c->gpr[3] = 0x400; /* beyond the GDT limit */
    expect_fault(RUN(0x0f, 0x00, 0xdb, HLT), EXC_GP, true, 0x400, 0);
    /* LLDT: a data descriptor is #GP(sel); the LDT loads; null -> unusable */
    c->gpr[3] = SEL_DATA_SYS;
    expect_fault(RUN(0x0f, 0x00, 0xd3, HLT), EXC_GP, true, SEL_DATA_SYS, 0);
    c->gpr[3] = SEL_LDT;
    expect_done(RUN(0x0f, 0x00, 0xd3, 0x0f, 0x00, 0xc1, HLT), 6);
    ck_assert_uint_eq(c->ldtr.base, LDT_BASE);
    ck_assert_uint_eq(c->ldtr.limit, 0xff);
    ck_assert_uint_eq(c->gpr[1], SEL_LDT);
    c->gpr[3] = 0;
    expect_done(RUN(0x0f, 0x00, 0xd3, HLT), 3);
    ck_assert_uint_eq(c->ldtr.ar & AR_UNUSABLE, AR_UNUSABLE);
}
END_TEST

/* ---- CPUID ------------------------------------------------------------------------ */

static void cpuid(uint32_t leaf, uint32_t sub)
{
    c->gpr[0] = leaf;
    c->gpr[1] = sub;
    expect_done(RUN(0x0f, 0xa2, HLT), 2);
}

START_TEST(cpuid_from_model)
{
    cpuid(0, 0);
    ck_assert_uint_eq(c->gpr[0], 0xd);
    ck_assert_uint_eq(c->gpr[3], 0x756e6547);
    ck_assert_uint_eq(c->gpr[2], 0x49656e69);
    ck_assert_uint_eq(c->gpr[1], 0x6c65746e);
    /* leaf 1: APIC ID 0, OSXSAVE follows CR4 */
    cpuid(1, 0);
    ck_assert_uint_eq(c->gpr[3], 0x00100800);
    ck_assert_uint_eq(c->gpr[1] & (1u << 27), 0);
    c->cr4 |= CR4_OSXSAVE;
    cpuid(1, 0);
    ck_assert_uint_eq(c->gpr[1] & (1u << 27), 1u << 27);
    /* above the highest basic / extended leaf: the highest basic leaf */
    cpuid(0x20, 0);
    ck_assert_uint_eq(c->gpr[0], 0x11);
    ck_assert_uint_eq(c->gpr[2], 0x44);
    cpuid(0x80000009u, 0);
    ck_assert_uint_eq(c->gpr[2], 0x44);
    /* leaf 0DH's EBX is the XSAVE area size for XCR0 (XSAVE is set) */
    ck_assert_uint_eq(c->gpr[3], 576);
    /* in range but not in the model: zeros */
    cpuid(5, 0);
    ck_assert_uint_eq(c->gpr[0] | c->gpr[1] | c->gpr[2] | c->gpr[3], 0);
}
END_TEST

/* ---- IF, flags image ------------------------------------------------------------- */

START_TEST(cli_sti_iopl)
{
    c->rflags |= FL_IF;
    to_cpl3();
    EXPECT_GP0(RUN(0xfa, UD2), 0);
    EXPECT_GP0(RUN(0xfb, UD2), 0);
    set_iopl(3);
    EXPECT_UD(RUN(0xfa, UD2), 1);
    ck_assert_uint_eq(c->rflags & FL_IF, 0);
}
END_TEST

/* SDM 2B "STI": the shadow only when IF was 0. */
START_TEST(sti_shadow)
{
    static const uint8_t sti[] = { 0xfb, HLT };
    c->rflags &= ~FL_IF;
    ck_assert_int_eq(run_limit(sti, sizeof sti, 1), CPU_STOP_INSN_LIMIT);
    ck_assert_uint_eq(c->rflags & FL_IF, FL_IF);
    ck_assert_uint_eq(c->intr_shadow, 1);
    c->intr_shadow = 0;
    ck_assert_int_eq(run_limit(sti, sizeof sti, 1), CPU_STOP_INSN_LIMIT);
    ck_assert_uint_eq(c->intr_shadow, 0); /* IF was already 1 */
}
END_TEST

START_TEST(pushf_clears_rf)
{
    c->rflags |= FL_RF | FL_AC;
    expect_done(RUN(0x9c, 0x58, HLT), 2); /* PUSHFQ; POP RAX */
    ck_assert_uint_eq(c->gpr[0] & FL_RF, 0);
    ck_assert_uint_eq(c->gpr[0] & FL_AC, FL_AC);
}
END_TEST

/* SDM 2B "POPF": at CPL 3 with IOPL 0, IOPL and IF keep their values while
 * the arithmetic flags load; at CPL 0 both load. */
START_TEST(popf_privilege)
{
    c->gpr[0] = FL_CF | FL_ZF | FL_IOPL | FL_FIXED1 | FL_VM | FL_VIF;
    c->rflags |= FL_IF;
    to_cpl3();
    EXPECT_UD(RUN(0x50, 0x9d, UD2), 2); /* PUSH RAX; POPFQ */
    uint64_t f = cpu_get_rflags(c);
    ck_assert_uint_eq(f & (FL_CF | FL_ZF), FL_CF | FL_ZF);
    ck_assert_uint_eq(f & FL_IOPL, 0);
    ck_assert_uint_eq(f & FL_IF, FL_IF);
    ck_assert_uint_eq(f & (FL_VM | FL_VIF), 0);
    /* CPL 3, IOPL 3: IF loads, IOPL does not */
    set_iopl(3);
    c->gpr[0] = FL_FIXED1;
    EXPECT_UD(RUN(0x50, 0x9d, UD2), 2);
    f = cpu_get_rflags(c);
    ck_assert_uint_eq(f & FL_IF, 0);
    ck_assert_uint_eq(f & FL_IOPL, FL_IOPL);
}
END_TEST

START_TEST(popf_cpl0_loads_iopl_and_if)
{
    c->gpr[0] = FL_IOPL | FL_FIXED1 | FL_IF | FL_RF;
    expect_done(RUN(0x50, 0x9d, HLT), 2);
    uint64_t f = cpu_get_rflags(c);
    ck_assert_uint_eq(f & (FL_IOPL | FL_IF | FL_RF), FL_IOPL | FL_IF);
    /* 16-bit POPF (66 9D) touches bits 15:0 only */
    c->gpr[0] = 0;
    expect_done(RUN(0x50, 0x66, 0x9d, HLT), 3);
    f = cpu_get_rflags(c);
    ck_assert_uint_eq(f & (FL_IOPL | FL_IF), 0);
    ck_assert_uint_eq(c->gpr[4], STACK_TOP - 6);
}
END_TEST

/* ---- port I/O -------------------------------------------------------------------- */

#define TPORT 0x300 /* test device: ports 0x300-0x30f */
static struct {
    unsigned writes;
    uint16_t port;
    unsigned size;
    uint32_t val;
    unsigned reads;
} dev;

static uint32_t dev_read(void *ctx, uint16_t port, unsigned size)
{
    (void)ctx;
    dev.reads++;
    return (0xa5a5a500u | (port & 0xff)) & (uint32_t)((1ull << (8 * size)) - 1);
}

static void dev_write(void *ctx, uint16_t port, unsigned size, uint32_t val)
{
    (void)ctx;
    dev.writes++;
    dev.port = port;
    dev.size = size;
    dev.val = val;
}

static void setup_io(void)
{
    memset(&dev, 0, sizeof dev);
    ck_assert(machine_add_ports(m, TPORT, TPORT + 15, dev_read, dev_write, NULL));
}

static void deny_port(unsigned port)
{
    uint64_t a = TSS_BASE + IOMAP_OFF + port / 8;
    cpu_write_phys(c, a, 1, cpu_read_phys(c, a, 1) | (1u << (port & 7)));
}

START_TEST(in_out_cpl0)
{
    setup_io();
    c->gpr[2] = TPORT + 2;
    c->gpr[0] = 0x12345678;
    /* OUT DX, EAX; IN AX, DX (66 ED) */
    expect_done(RUN(0xef, 0x66, 0xed, HLT), 3);
    ck_assert_uint_eq(dev.writes, 1);
    ck_assert_uint_eq(dev.port, TPORT + 2);
    ck_assert_uint_eq(dev.size, 4);
    ck_assert_uint_eq(dev.val, 0x12345678);
    ck_assert_uint_eq(c->gpr[0], 0x1234a502);
    /* IN AL, imm8 from an unclaimed port: all ones */
    expect_done(RUN(0xe4, 0x81, HLT), 2);
    ck_assert_uint_eq(c->gpr[0] & 0xff, 0xff);
}
END_TEST

/* SDM 1 "I/O Permission Bit Map": CPL 3 > IOPL 0 consults the bitmap. */
START_TEST(io_bitmap_allows_and_denies)
{
    setup_io();
    deny_port(TPORT + 4);
    to_cpl3();
    c->gpr[2] = TPORT + 3;
    EXPECT_UD(RUN(0xee, UD2), 1); /* OUT DX, AL: allowed */
    ck_assert_uint_eq(dev.writes, 1);
    c->gpr[2] = TPORT + 4;
    EXPECT_GP0(RUN(0xee, UD2), 0); /* denied */
    EXPECT_GP0(RUN(0xec, UD2), 0);
    ck_assert_uint_eq(dev.writes, 1);
    ck_assert_uint_eq(dev.reads, 0);
    /* a word at port 3 covers bits 3 and 4: denied */
    c->gpr[2] = TPORT + 3;
    EXPECT_GP0(RUN(0x66, 0xef, UD2), 0);
    /* IOPL 3: no bitmap check */
    set_iopl(3);
    c->gpr[2] = TPORT + 4;
    EXPECT_UD(RUN(0xee, UD2), 1);
    ck_assert_uint_eq(dev.writes, 2);
}
END_TEST

/* A dword at port 0x306 crosses into the next bitmap byte (bits 6..9). */
START_TEST(io_bitmap_access_crosses_bytes)
{
    setup_io();
    deny_port(TPORT + 8);
    to_cpl3();
    c->gpr[2] = TPORT + 6;
    EXPECT_GP0(RUN(0xef, UD2), 0);
    c->gpr[2] = TPORT + 4; /* bits 4..7: allowed */
    EXPECT_UD(RUN(0xef, UD2), 1);
    ck_assert_uint_eq(dev.size, 4);
}
END_TEST

/* The two bytes the processor reads must lie within the TSS limit. */
START_TEST(io_bitmap_beyond_tss_limit)
{
    setup_io();
    to_cpl3();
    c->tr.limit = IOMAP_OFF + TPORT / 8; /* second byte beyond the limit */
    c->gpr[2] = TPORT;
    EXPECT_GP0(RUN(0xee, UD2), 0);
    c->tr.limit = IOMAP_OFF + TPORT / 8 + 1;
    EXPECT_UD(RUN(0xee, UD2), 1);
    /* map base beyond the limit: every port denied */
    cpu_write_phys(c, TSS_BASE + 102, 2, 0xffff);
    EXPECT_GP0(RUN(0xee, UD2), 0);
    ck_assert_uint_eq(dev.writes, 1);
}
END_TEST

START_TEST(rep_outs_ins)
{
    setup_io();
    cpu_write_phys(c, DATA, 4, 0x44332211);
    c->gpr[6] = DATA;
    c->gpr[7] = DATA + 0x100;
    c->gpr[1] = 4;
    c->gpr[2] = TPORT + 1;
    /* REP OUTSB; MOV ECX, 2; REP INSW */
    expect_done(RUN(0xf3, 0x6e, 0xb9, 0x02, 0x00, 0x00, 0x00, 0xf3, 0x66, 0x6d, HLT), 10);
    ck_assert_uint_eq(dev.writes, 4);
    ck_assert_uint_eq(dev.val, 0x44);
    ck_assert_uint_eq(c->gpr[6], DATA + 4);
    ck_assert_uint_eq(c->gpr[1], 0);
    ck_assert_uint_eq(c->gpr[7], DATA + 0x104);
    ck_assert_uint_eq(cpu_read_phys(c, DATA + 0x100, 4), 0xa501a501);
}
END_TEST

/* ---- time stamp, HLT, bases, caches ----------------------------------------------- */

START_TEST(rdtsc_tsd_and_rdtscp)
{
    c->tsc_aux = 0x1234567899ull;
    c->gpr[1] = 0xffffffffffffffffull;
    expect_done(RUN(0x0f, 0x01, 0xf9, HLT), 3);
    ck_assert_uint_eq(c->gpr[1], 0x34567899);
    ck_assert_uint_eq(c->gpr[2] >> 32, 0);
    c->cr4 |= CR4_TSD;
    expect_done(RUN(0x0f, 0x31, HLT), 2); /* CPL 0 still reads */
    to_cpl3();
    EXPECT_GP0(RUN(0x0f, 0x31, UD2), 0);
    c->cr4 &= ~CR4_TSD;
    EXPECT_UD(RUN(0x0f, 0x31, UD2), 2);
}
END_TEST

START_TEST(hlt_halts)
{
    expect_done(RUN(HLT), 0);
    ck_assert(c->halted);
}
END_TEST

START_TEST(swapgs_and_fsgsbase)
{
    c->seg[SEG_GS].base = 0x1111;
    c->kernel_gs_base = 0x2222;
    expect_done(RUN(0x0f, 0x01, 0xf8, HLT), 3);
    ck_assert_uint_eq(c->seg[SEG_GS].base, 0x2222);
    ck_assert_uint_eq(c->kernel_gs_base, 0x1111);
    /* WRGSBASE without CR4.FSGSBASE: #UD */
    c->gpr[3] = 0xffff800000000000ull;
    EXPECT_UD(RUN(0xf3, 0x48, 0x0f, 0xae, 0xdb, HLT), 0);
    c->cr4 |= CR4_FSGSBASE;
    /* WRGSBASE RBX; RDGSBASE RCX */
    expect_done(RUN(0xf3, 0x48, 0x0f, 0xae, 0xdb, 0xf3, 0x48, 0x0f, 0xae, 0xc9, HLT), 10);
    ck_assert_uint_eq(c->gpr[1], 0xffff800000000000ull);
    c->gpr[3] = 0x0000800000000000ull;
    EXPECT_GP0(RUN(0xf3, 0x48, 0x0f, 0xae, 0xd3, HLT), 0); /* WRFSBASE non-canonical */
    to_cpl3();
    EXPECT_GP0(RUN(0x0f, 0x01, 0xf8, UD2), 0);
}
END_TEST

START_TEST(fences_clflush)
{
    c->gpr[3] = DATA;
    expect_done(RUN(0x0f, 0xae, 0xe8, 0x0f, 0xae, 0xf0, 0x0f, 0xae, 0xf8, 0x0f, 0xae, 0x3b, HLT),
                12);
    c->gpr[3] = 0x40000000; /* not mapped */
    expect_fault(RUN(0x0f, 0xae, 0x3b, HLT), EXC_PF, true, 0, 0);
}
END_TEST

/* x87 without an FPU (docs/system-instructions.md). */
START_TEST(x87_escape)
{
    c->cr0 &= ~(CR0_EM | CR0_TS | CR0_MP);
    EXPECT_UD(RUN(0xd9, 0xe8, HLT), 0); /* FLD1 */
    c->cr0 |= CR0_EM;
    expect_fault(RUN(0xd9, 0xe8, HLT), EXC_NM, false, 0, 0);
    c->cr0 = (c->cr0 & ~CR0_EM) | CR0_TS;
    expect_fault(RUN(0xdd, 0x03, HLT), EXC_NM, false, 0, 0);
    expect_done(RUN(0x9b, HLT), 1); /* WAIT: MP = 0 */
    c->cr0 |= CR0_MP;
    expect_fault(RUN(0x9b, HLT), EXC_NM, false, 0, 0);
}
END_TEST

START_TEST(unimplemented_extensions_ud)
{
    EXPECT_UD(RUN(0x0f, 0x01, 0xd0, HLT), 0); /* XGETBV */
    EXPECT_UD(RUN(0x0f, 0xc7, 0xf0, HLT), 0); /* RDRAND EAX */
    EXPECT_UD(RUN(0x0f, 0x28, 0xc1, HLT), 0); /* MOVAPS */
    EXPECT_UD(RUN(0x66, 0x0f, 0xef, 0xc0, HLT), 0); /* PXOR */
}
END_TEST

/* ---- SMAP: CLAC / STAC ------------------------------------------------------ */

#define CLAC 0x0f, 0x01, 0xca
#define STAC 0x0f, 0x01, 0xcb

/* SDM 2A "CLAC", 2B "STAC": they clear / set RFLAGS.AC and nothing else.
 * STAC; PUSHFQ; POP RAX; CLAC; PUSHFQ; POP RBX. */
START_TEST(clac_stac_write_ac)
{
    cpu_set_rflags(c, FL_FIXED1 | FL_CF | FL_ZF);
    expect_done(RUN(STAC, 0x9c, 0x58, CLAC, 0x9c, 0x5b, HLT), 10);
    ck_assert_uint_eq(c->gpr[0] & (FL_AC | FL_CF | FL_ZF), FL_AC | FL_CF | FL_ZF);
    ck_assert_uint_eq(c->gpr[3] & (FL_AC | FL_CF | FL_ZF), FL_CF | FL_ZF);
    ck_assert_uint_eq(cpu_get_rflags(c) & FL_AC, 0);
    /* NP: a 66/F2/F3 prefix is ignored (docs/system-instructions.md) */
    expect_done(RUN(0xf3, STAC, HLT), 4);
    ck_assert_uint_eq(cpu_get_rflags(c) & FL_AC, FL_AC);
    expect_done(RUN(0x66, CLAC, HLT), 4);
    ck_assert_uint_eq(cpu_get_rflags(c) & FL_AC, 0);
}
END_TEST

/* #UD at CPL > 0, without CPUID.(EAX=07H,ECX=0):EBX.SMAP[20], and with
 * LOCK; RFLAGS.AC is left as it was. */
static const struct { const char *what; bool cpl3, no_smap, lock, stac; } smap_ud[] = {
    { "CLAC at CPL 3", true, false, false, false },
    { "STAC at CPL 3", true, false, false, true },
    { "CLAC without SMAP", false, true, false, false },
    { "STAC without SMAP", false, true, false, true },
    { "LOCK CLAC", false, false, true, false },
    { "LOCK STAC", false, false, true, true },
};

START_TEST(clac_stac_ud)
{
    uint64_t ac = smap_ud[_i].stac ? 0 : FL_AC;
    if (smap_ud[_i].no_smap)
        for (unsigned i = 0; i < model.nleaves; i++)
            if (model.leaves[i].leaf == 7)
                model.leaves[i].ebx &= ~(1u << 20);
    if (smap_ud[_i].cpl3)
        to_cpl3();
    cpu_set_rflags(c, FL_FIXED1 | ac);
    uint8_t code[] = { 0xf0, 0x0f, 0x01, smap_ud[_i].stac ? 0xcb : 0xca, HLT };
    bool lock = smap_ud[_i].lock;
    enum cpu_stop s = run(code + !lock, sizeof code - !lock);
    ck_assert_msg(s == CPU_STOP_EXCEPTION && c->last_exception == EXC_UD,
                  "%s: stop %d vector %d, expected #UD", smap_ud[_i].what, s, c->last_exception);
    ck_assert_msg((cpu_get_rflags(c) & FL_AC) == ac, "%s: AC changed", smap_ud[_i].what);
}
END_TEST

/* SDM 3A "Access Rights" (SMAP): with CR4.SMAP = 1 a supervisor data read
 * of a user-mode page is allowed only while RFLAGS.AC = 1, so CLAC takes
 * effect for the very next instruction of the same block.
 * STAC; MOV EAX,[DATA]; CLAC; MOV EBX,[DATA] -> #PF(P) at the second MOV. */
START_TEST(clac_stac_gate_smap_accesses)
{
    c->cr4 |= CR4_SMAP;
    cpu_tlb_flush(c);
    cpu_write_phys(c, DATA, 4, 0x5a5a1234);
    c->gpr[0] = c->gpr[3] = 0;
    enum cpu_stop s = RUN(STAC, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x02, 0x00, CLAC, 0x8b, 0x1c, 0x25,
                          0x00, 0x00, 0x02, 0x00, HLT);
    expect_fault(s, EXC_PF, true, 0x1, 13);
    ck_assert_uint_eq(c->gpr[0], 0x5a5a1234);
    ck_assert_uint_eq(c->gpr[3], 0);
}
END_TEST

/* ---- local APIC: self-IPIs through the xAPIC page ---------------------------- */

#define GDT32 0x9000ull
#define IDT32 0xa000ull
#define IPI_HANDLER 0x18000ull

/* SDM 3A "Interrupt Command Register (ICR)": a self-IPI (destination
 * shorthand 01b) written with a MOV to the xAPIC page is recognised at the
 * next instruction boundary (SDM 3A "Priority Among Concurrent Events"),
 * so the interrupt frame's EIP is the instruction after the MOV, and the
 * MOV EAX, 1 that follows has not run. Fixed (vector 0x40) and NMI
 * (vector 2) delivery. */
static const struct { const char *what; uint32_t icr; int vector; } self_ipi[] = {
    { "fixed vector 0x40", 0x00040040u, 0x40 },
    { "NMI", 0x00040400u, EXC_NMI },
};

START_TEST(xapic_self_ipi_taken_after_the_write)
{
    /* flat 32-bit protected mode without paging: the xAPIC page at
     * 0xfee00000 is reached directly */
    cpu_set_flat_protected(c);
    cpu_write_phys(c, GDT32 + 8, 8, 0x00cf9b000000ffffull);
    cpu_write_phys(c, GDT32 + 16, 8, 0x00cf93000000ffffull);
    c->gdtr = (struct dtr){ GDT32, 23 };
    uint64_t gate = (IPI_HANDLER & 0xffff) | (0x08ull << 16) | (0x8eull << 40) |
                    ((IPI_HANDLER >> 16) << 48); /* 32-bit interrupt gate, DPL 0 */
    cpu_write_phys(c, IDT32 + 8 * (uint64_t)self_ipi[_i].vector, 8, gate);
    c->idtr = (struct dtr){ IDT32, 8 * 0x41 - 1 };
    static const uint8_t handler[] = { 0x89, 0xc1,       /* mov ecx, eax */
                                       0x8b, 0x14, 0x24, /* mov edx, [esp] */
                                       0xeb, 0xfe };     /* jmp $ */
    th_load(c, IPI_HANDLER, handler, sizeof handler);
    uint32_t icr = self_ipi[_i].icr;
    const uint8_t code[] = {
        0xc7, 0x05, 0xf0, 0x00, 0xe0, 0xfe, 0xff, 0x01, 0x00, 0x00, /* SVR: enable */
        0xc7, 0x05, 0x00, 0x03, 0xe0, 0xfe, (uint8_t)icr, (uint8_t)(icr >> 8),
        (uint8_t)(icr >> 16), (uint8_t)(icr >> 24), /* ICR low: self-IPI */
        0xb8, 0x01, 0x00, 0x00, 0x00,             /* 20: mov eax, 1 */
        0xbb, 0x02, 0x00, 0x00, 0x00,             /* mov ebx, 2 */
        0xeb, 0xfe,                               /* jmp $ */
    };
    c->gpr[0] = 0xaaaa;
    c->gpr[1] = c->gpr[2] = c->gpr[3] = 0;
    c->gpr[4] = STACK_TOP;
    c->rflags |= FL_IF;
    enum cpu_stop s = run_limit(code, sizeof code, 50);
    ck_assert_msg(s == CPU_STOP_INSN_LIMIT, "%s: stop %d exception %d", self_ipi[_i].what, s,
                  c->last_exception);
    ck_assert_msg(c->rip == IPI_HANDLER + 5, "%s: rip 0x%llx, expected the handler's jmp",
                  self_ipi[_i].what, (unsigned long long)c->rip);
    ck_assert_msg(c->gpr[2] == CODE + 20, "%s: return EIP 0x%llx, expected 0x%llx",
                  self_ipi[_i].what, (unsigned long long)c->gpr[2],
                  (unsigned long long)(CODE + 20));
    ck_assert_msg(c->gpr[1] == 0xaaaa, "%s: EAX was 0x%llx in the handler, expected 0xaaaa",
                  self_ipi[_i].what, (unsigned long long)c->gpr[1]);
    ck_assert_uint_eq(c->gpr[3], 0);
}
END_TEST

static Suite *sys_suite(void)
{
    Suite *s = suite_create("sys");
    TCase *tc = tcase_create("cr");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, cr0_write_reads_back);
    tcase_add_loop_test(tc, cr0_invalid_writes_gp, 0, sizeof bad_cr0 / sizeof bad_cr0[0]);
    tcase_add_test(tc, cr0_pg_activates_ia32e);
    tcase_add_test(tc, cr0_pg_pae_loads_pdptes);
    tcase_add_test(tc, cr4_rules);
    tcase_add_test(tc, cr4_pcide_needs_cr3_low_bits_clear);
    tcase_add_test(tc, cr3_reserved_bits_gp);
    tcase_add_test(tc, cr8_tpr);
    tcase_add_test(tc, cr2_any_value);
    tcase_add_loop_test(tc, cr_undefined_ud, 0, sizeof bad_cr_modrm);
    tcase_add_test(tc, cr_access_at_cpl3_gp);
    tcase_add_test(tc, clts_lmsw_smsw);
    tcase_add_test(tc, umip_blocks_stores_at_cpl3);
    tcase_add_test(tc, dr_rules);
    suite_add_tcase(s, tc);

    tc = tcase_create("dtr");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, lgdt_sgdt_round_trip);
    tcase_add_test(tc, ltr_marks_busy);
    tcase_add_test(tc, ltr_lldt_descriptor_checks);
    suite_add_tcase(s, tc);

    tc = tcase_create("cpuid");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, cpuid_from_model);
    suite_add_tcase(s, tc);

    tc = tcase_create("flags");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, cli_sti_iopl);
    tcase_add_test(tc, sti_shadow);
    tcase_add_test(tc, pushf_clears_rf);
    tcase_add_test(tc, popf_privilege);
    tcase_add_test(tc, popf_cpl0_loads_iopl_and_if);
    suite_add_tcase(s, tc);

    tc = tcase_create("io");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, in_out_cpl0);
    tcase_add_test(tc, io_bitmap_allows_and_denies);
    tcase_add_test(tc, io_bitmap_access_crosses_bytes);
    tcase_add_test(tc, io_bitmap_beyond_tss_limit);
    tcase_add_test(tc, rep_outs_ins);
    suite_add_tcase(s, tc);

    tc = tcase_create("misc");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, rdtsc_tsd_and_rdtscp);
    tcase_add_test(tc, hlt_halts);
    tcase_add_test(tc, swapgs_and_fsgsbase);
    tcase_add_test(tc, fences_clflush);
    tcase_add_test(tc, x87_escape);
    tcase_add_test(tc, unimplemented_extensions_ud);
    suite_add_tcase(s, tc);

    tc = tcase_create("smap");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, clac_stac_write_ac);
    tcase_add_loop_test(tc, clac_stac_ud, 0, sizeof smap_ud / sizeof smap_ud[0]);
    tcase_add_test(tc, clac_stac_gate_smap_accesses);
    suite_add_tcase(s, tc);

    tc = tcase_create("lapic");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, xapic_self_ipi_taken_after_the_write, 0,
                        sizeof self_ipi / sizeof self_ipi[0]);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(sys_suite());
}
