/* The XSAVE feature set on a CPU in 64-bit mode whose model enumerates
 * XSAVE with the x87 and SSE components and every extension nvmx has
 * (XSAVEOPT, XSAVEC, XGETBV with ECX = 1, XSAVES): XCR0's rules through
 * XSETBV/XGETBV, CPUID leaf 0DH and CPUID.01H:ECX.OSXSAVE, IA32_XSS, the
 * XSAVE area's legacy region and header for each save form, the restore
 * forms' #GP rules and initialization, and the faults every form checks
 * first. SDM 1 "Managing State Using the XSAVE Feature Set"; SDM 2C. */
#include "cpu/cpu_internal.h"
#include "cpu/sse.h"
#include "harness.h"

#include <capstone/capstone.h>
#include <check.h>
#include <ctype.h>
#include <stdlib.h>

#define RAM_SIZE (8u << 20)
#define PML4 0x1000ull
#define GDT_BASE 0x5000ull
#define CODE 0x10000ull
#define AREA 0x20000ull  /* 64-byte aligned */
#define AREA2 0x21000ull /* a second area */

static struct cpu_model model;
static struct cost_model cost;
static struct machine *m;
static struct cpu *c;

static void add_xsave_leaves(struct cpu_model *cm, uint32_t d1_eax)
{
    th_add_leaf(cm, 0, 0xd, 0x756e6547, 0x6c65746e, 0x49656e69);
    /* ECX: XSAVE; EDX: FPU, FXSR, SSE, SSE2 */
    th_add_leaf(cm, 1, 0x50654, 0, 1u << 26, 1u | 1u << 24 | 1u << 25 | 1u << 26);
    th_add_subleaf(cm, 0xd, 0, 3, 576, 576, 0);
    th_add_subleaf(cm, 0xd, 1, d1_eax, 576, 0, 0);
}

static void setup(void)
{
    th_model_init(&model, "xsave-test");
    add_xsave_leaves(&model, 0xf);
    m = th_machine_create(RAM_SIZE, true);
    c = th_cpu_create(m, &model, &cost);
    cpu_power_on_reset(c);
    th_long_mode_2m(c, PML4, 4, true, GDT_BASE);
    c->cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_OSXSAVE;
    c->cr0 |= CR0_MP;
    c->stop_on_exception = true;
    th_start_at(c, CODE);
}

static void teardown(void)
{
    cpu_destroy(c);
    machine_destroy(m);
}

static uint64_t rd(uint64_t pa, unsigned n)
{
    uint64_t v = 0;
    memcpy(&v, m->ram + pa, n);
    return v;
}

static void wr(uint64_t pa, unsigned n, uint64_t v)
{
    memcpy(m->ram + pa, &v, n);
}

static void set_edx_eax(uint64_t v)
{
    c->gpr[0] = v & 0xffffffffull;
    c->gpr[2] = v >> 32;
}

/* A recognisable x87 and SSE state. */
static void fill_state(void)
{
    struct cpu_fpu *f = &c->fpu;
    f->fcw = 0x027f;
    f->fsw = 0x3800; /* TOP = 7 */
    f->ftw = 0x3fff; /* R7 valid, the rest empty */
    f->fop = 0x5a5;
    f->fip = 0x1122334455667788ull;
    f->fdp = 0x99aabbccddeeff00ull;
    f->st[7].signif = 0xc000000000000000ull;
    f->st[7].sexp = 0x4000; /* 3.0 */
    f->mxcsr = 0x1fa0;
    for (unsigned i = 0; i < 16; i++) {
        f->xmm[i].q[0] = 0x0101010101010101ull * (i + 1);
        f->xmm[i].q[1] = ~f->xmm[i].q[0];
    }
}

/* Run the instruction at CODE (followed by jmp $). */
static void run_insn(const uint8_t *code, unsigned len)
{
    uint8_t buf[16];
    memcpy(buf, code, len);
    buf[len] = 0xeb;
    buf[len + 1] = 0xfe;
    th_load(c, CODE, buf, len + 2);
    th_start_at(c, CODE);
    th_expect_end(c, CODE + len);
}

static void fault_insn(const uint8_t *code, unsigned len, int vec, bool has_err)
{
    uint8_t buf[16];
    memcpy(buf, code, len);
    buf[len] = 0xeb;
    buf[len + 1] = 0xfe;
    th_load(c, CODE, buf, len + 2);
    th_start_at(c, CODE);
    th_expect_fault(c, CODE, vec, has_err, 0);
}

#define INSN(...) ((const uint8_t[]){ __VA_ARGS__ }), sizeof((const uint8_t[]){ __VA_ARGS__ })

#define XSETBV INSN(0x0f, 0x01, 0xd1)
#define XGETBV INSN(0x0f, 0x01, 0xd0)

/* ---- XCR0, XGETBV, XSETBV, CPUID ------------------------------------------------ */

/* SDM 3A "Processor State After Reset": XCR0 is 1; SDM 2C "XSETBV" rules. */
static const struct xsetbv_case {
    const char *what;
    uint32_t ecx;
    uint64_t val;
    bool ok;
} xsetbv_cases[] = {
    { "x87 only", 0, 1, true },
    { "x87 and SSE", 0, 3, true },
    { "bit 0 clear", 0, 2, false },
    { "zero", 0, 0, false },
    { "AVX (not enumerated)", 0, 7, false },
    { "bit 9 (PKRU, not enumerated)", 0, 0x203, false },
    { "bit 8 (PT, a supervisor component)", 0, 0x103, false },
    { "bit 63", 0, 0x8000000000000003ull, false },
    { "ECX = 1 (XCR1 is not writable)", 1, 3, false },
    { "ECX = 0x100000000 takes ECX only", 0, 3, true },
};

START_TEST(xsetbv_rules)
{
    const struct xsetbv_case *t = &xsetbv_cases[_i];
    ck_assert_uint_eq(c->xcr0, 1);
    c->gpr[1] = t->ecx | (_i == 9 ? 0x100000000ull : 0);
    set_edx_eax(t->val);
    if (t->ok) {
        run_insn(XSETBV);
        ck_assert_msg(c->xcr0 == t->val, "%s: XCR0 0x%llx", t->what, (unsigned long long)c->xcr0);
    } else {
        fault_insn(XSETBV, EXC_GP, true);
        ck_assert_msg(c->xcr0 == 1, "%s: XCR0 changed", t->what);
    }
}
END_TEST

/* #UD with CR4.OSXSAVE = 0 for both; XSETBV #GP(0) at CPL 3; XGETBV any CPL. */
START_TEST(xgetbv_xsetbv_faults)
{
    c->cr4 &= ~CR4_OSXSAVE;
    c->gpr[1] = 0;
    set_edx_eax(3);
    fault_insn(XSETBV, EXC_UD, false);
    fault_insn(XGETBV, EXC_UD, false);
    c->cr4 |= CR4_OSXSAVE;
    c->gpr[1] = 2;
    fault_insn(XGETBV, EXC_GP, true);
    c->gpr[1] = 0;
    run_insn(XGETBV);
    ck_assert_uint_eq(c->gpr[0], 1);
    ck_assert_uint_eq(c->gpr[2], 0);
    c->cpl = 3;
    set_edx_eax(3);
    fault_insn(XSETBV, EXC_GP, true);
    c->gpr[0] = 0;
    run_insn(XGETBV);
    ck_assert_uint_eq(c->gpr[0], 1);
}
END_TEST

/* SDM 2C "XGETBV": ECX = 1 reads XCR0 AND XINUSE. */
START_TEST(xgetbv_xinuse)
{
    c->xcr0 = 3;
    c->gpr[1] = 1;
    run_insn(XGETBV); /* power-up: FCW 0040H is not the x87 init value */
    ck_assert_uint_eq(c->gpr[0], 1);
    c->fpu.xmm[3].d[2] = 1;
    c->gpr[1] = 1;
    run_insn(XGETBV);
    ck_assert_uint_eq(c->gpr[0], 3);
    /* the initial configuration: x87 and SSE not in use */
    memset(&c->fpu.xmm, 0, sizeof c->fpu.xmm);
    c->fpu.fcw = 0x037f;
    c->fpu.ftw = 0xffff;
    c->gpr[1] = 1;
    run_insn(XGETBV);
    ck_assert_uint_eq(c->gpr[0], 0);
    /* MXCSR other than 1F80H counts as SSE in use */
    c->fpu.mxcsr = 0x1f81;
    c->gpr[1] = 1;
    run_insn(XGETBV);
    ck_assert_uint_eq(c->gpr[0], 2);
    c->xcr0 = 1;
    c->gpr[1] = 1;
    run_insn(XGETBV);
    ck_assert_uint_eq(c->gpr[0], 0);
}
END_TEST

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t out[4])
{
    cpu_cpuid(c, leaf, sub, out);
}

/* SDM 2A "CPUID" leaf 0DH and CPUID.01H:ECX.OSXSAVE[bit 27]. */
START_TEST(cpuid_leaf_d)
{
    uint32_t r[4];
    cpuid(1, 0, r);
    ck_assert_uint_eq((r[CPUID_ECX] >> 27) & 1, 1);
    c->cr4 &= ~CR4_OSXSAVE;
    cpuid(1, 0, r);
    ck_assert_uint_eq((r[CPUID_ECX] >> 27) & 1, 0);
    cpuid(0xd, 0, r);
    ck_assert_uint_eq(r[CPUID_EAX], 3);
    ck_assert_uint_eq(r[CPUID_EBX], 576);
    ck_assert_uint_eq(r[CPUID_ECX], 576);
    ck_assert_uint_eq(r[CPUID_EDX], 0);
    c->xcr0 = 3;
    cpuid(0xd, 0, r);
    ck_assert_uint_eq(r[CPUID_EBX], 576);
    cpuid(0xd, 1, r);
    ck_assert_uint_eq(r[CPUID_EAX], 0xf);
    ck_assert_uint_eq(r[CPUID_EBX], 576);
    ck_assert_uint_eq(r[CPUID_ECX] | r[CPUID_EDX], 0);
    cpuid(0xd, 2, r);
    ck_assert_uint_eq(r[CPUID_EAX] | r[CPUID_EBX] | r[CPUID_ECX] | r[CPUID_EDX], 0);
}
END_TEST

/* SDM 1 "Enabling the XSAVE Feature Set and XSAVE-Enabled Features":
 * IA32_XSS (DA0H) is 0 after reset; no supervisor component exists, so
 * any non-zero value is #GP(0). */
START_TEST(ia32_xss)
{
    uint64_t v = 1;
    ck_assert(cpu_rdmsr(c, 0xda0, &v));
    ck_assert_uint_eq(v, 0);
    ck_assert(cpu_wrmsr(c, 0xda0, 0));
    for (unsigned b = 0; b < 64; b++)
        ck_assert_msg(!cpu_wrmsr(c, 0xda0, 1ull << b), "bit %u accepted", b);
}
END_TEST

/* ---- saving ------------------------------------------------------------------------ */

/* SDM 1 Table "Format of the Legacy Region of an XSAVE Area" and "XSAVE
 * Header": XSAVE64 with RFBM = 3 writes FCW 0, FSW 2, abridged FTW 4, FOP
 * 6, FIP 8, FDP 16, MXCSR 24, MXCSR_MASK 28, ST0 32 (R7 here: TOP = 7),
 * XMM0 160 ... XMM15 400; XSTATE_BV[1:0] = XINUSE, its other bits kept;
 * XCOMP_BV and bytes 464-511 not written. */
START_TEST(xsave_layout)
{
    c->xcr0 = 3;
    fill_state();
    memset(m->ram + AREA, 0xcc, 1024);
    wr(AREA + 512, 8, 0xf0); /* XSTATE_BV bits 7:4 set beforehand */
    set_edx_eax(~0ull);
    c->gpr[1] = AREA;
    run_insn(INSN(0x48, 0x0f, 0xae, 0x21)); /* xsave64 [rcx] */
    ck_assert_uint_eq(rd(AREA + 0, 2), 0x027f);
    ck_assert_uint_eq(rd(AREA + 2, 2), 0x3800);
    ck_assert_uint_eq(rd(AREA + 4, 1), 0x80); /* R7 valid */
    ck_assert_uint_eq(rd(AREA + 6, 2), 0x5a5);
    ck_assert_uint_eq(rd(AREA + 8, 8), 0x1122334455667788ull);
    ck_assert_uint_eq(rd(AREA + 16, 8), 0x99aabbccddeeff00ull);
    ck_assert_uint_eq(rd(AREA + 24, 4), 0x1fa0);
    ck_assert_uint_eq(rd(AREA + 28, 4), MXCSR_MASK_VALUE);
    ck_assert_uint_eq(rd(AREA + 32, 8), 0xc000000000000000ull);
    ck_assert_uint_eq(rd(AREA + 40, 2), 0x4000);
    for (unsigned i = 0; i < 16; i++) {
        ck_assert_uint_eq(rd(AREA + 160 + 16 * i, 8), c->fpu.xmm[i].q[0]);
        ck_assert_uint_eq(rd(AREA + 168 + 16 * i, 8), c->fpu.xmm[i].q[1]);
    }
    ck_assert_uint_eq(rd(AREA + 512, 8), 0xf3);
    ck_assert_uint_eq(rd(AREA + 520, 8), 0xccccccccccccccccull);
    for (unsigned i = 464; i < 512; i++)
        ck_assert_msg(m->ram[AREA + i] == 0xcc, "byte %u written", i);
}
END_TEST

/* RFBM selects: x87 only leaves MXCSR and XMM alone; SSE only leaves the
 * x87 bytes alone and writes MXCSR; XSTATE_BV[i] = XINUSE[i] for i in RFBM
 * (an x87 state in its initial configuration gives 0, still written). */
START_TEST(xsave_rfbm)
{
    c->xcr0 = 3;
    fill_state();
    c->gpr[1] = AREA;
    memset(m->ram + AREA, 0xcc, 1024);
    set_edx_eax(1);
    run_insn(INSN(0x48, 0x0f, 0xae, 0x21));
    ck_assert_uint_eq(rd(AREA, 2), 0x027f);
    ck_assert_uint_eq(rd(AREA + 24, 4), 0xcccccccc);
    ck_assert_uint_eq(rd(AREA + 160, 8), 0xccccccccccccccccull);
    ck_assert_uint_eq(rd(AREA + 512, 8), 0xcccccccccccccccdull);

    memset(m->ram + AREA, 0xcc, 1024);
    set_edx_eax(2);
    run_insn(INSN(0x48, 0x0f, 0xae, 0x21));
    ck_assert_uint_eq(rd(AREA, 2), 0xcccc);
    ck_assert_uint_eq(rd(AREA + 24, 4), 0x1fa0);
    ck_assert_uint_eq(rd(AREA + 160, 8), 0x0101010101010101ull);
    ck_assert_uint_eq(rd(AREA + 512, 8), 0xcccccccccccccccfull & ~1ull);

    /* x87 in its initial configuration: saved, XSTATE_BV[0] = 0 */
    c->fpu.fcw = 0x037f, c->fpu.fsw = 0, c->fpu.ftw = 0xffff, c->fpu.fop = 0;
    c->fpu.fip = c->fpu.fdp = 0;
    memset(c->fpu.st, 0, sizeof c->fpu.st);
    memset(m->ram + AREA, 0xcc, 1024);
    wr(AREA + 512, 8, 0);
    set_edx_eax(3);
    run_insn(INSN(0x48, 0x0f, 0xae, 0x21));
    ck_assert_uint_eq(rd(AREA, 2), 0x037f);
    ck_assert_uint_eq(rd(AREA + 4, 1), 0);
    ck_assert_uint_eq(rd(AREA + 512, 8), 2);
    /* XCR0 = 1: EDX:EAX = 3 selects only x87 */
    c->xcr0 = 1;
    memset(m->ram + AREA, 0xcc, 1024);
    wr(AREA + 512, 8, 0);
    run_insn(INSN(0x48, 0x0f, 0xae, 0x21));
    ck_assert_uint_eq(rd(AREA + 24, 4), 0xcccccccc);
}
END_TEST

/* Without REX.W: the 32-bit layout of FIP/FCS/FDP/FDS (SDM 1 "x87 State"). */
START_TEST(xsave_32bit_layout)
{
    c->xcr0 = 3;
    fill_state();
    c->fpu.fcs = 0x1234;
    c->fpu.fds = 0x5678;
    c->gpr[1] = AREA;
    set_edx_eax(1);
    run_insn(INSN(0x0f, 0xae, 0x21)); /* xsave [rcx] */
    ck_assert_uint_eq(rd(AREA + 8, 4), 0x55667788);
    ck_assert_uint_eq(rd(AREA + 12, 4), 0x1234);
    ck_assert_uint_eq(rd(AREA + 16, 4), 0xddeeff00);
    ck_assert_uint_eq(rd(AREA + 20, 4), 0x5678);
}
END_TEST

/* SDM 1 "SSE State": outside 64-bit mode (here compatibility mode) XSAVE
 * does not write bytes 288-415 (XMM8-15) and XRSTOR neither loads nor
 * initializes XMM8-15. */
START_TEST(xsave_compatibility_mode)
{
    c->xcr0 = 3;
    fill_state();
    c->seg[SEG_CS].ar = 0x9b | AR_DB | AR_G; /* 32-bit code: L = 0 */
    c->seg[SEG_CS].limit = 0xffffffff;
    c->seg[SEG_DS] = (struct seg_reg){ .sel = 0x10, .limit = 0xffffffff,
                                       .ar = 0x93 | AR_DB | AR_G };
    cpu_update_mode(c);
    memset(m->ram + AREA, 0xcc, 1024);
    wr(AREA + 512, 8, 0);
    c->gpr[1] = AREA;
    set_edx_eax(3);
    run_insn(INSN(0x0f, 0xae, 0x21)); /* xsave [ecx] */
    ck_assert_uint_eq(rd(AREA + 272, 8), c->fpu.xmm[7].q[0]);
    ck_assert_uint_eq(rd(AREA + 288, 8), 0xccccccccccccccccull);
    ck_assert_uint_eq(rd(AREA + 408, 8), 0xccccccccccccccccull);
    ck_assert_uint_eq(rd(AREA + 512, 8), 3);
    /* XSTATE_BV[1] = 0: XMM0-7 initialized, XMM8-15 kept */
    wr(AREA + 512, 8, 1);
    wr(AREA + 520, 8, 0);
    wr(AREA + 528, 8, 0);
    wr(AREA + 24, 4, MXCSR_DEFAULT);
    run_insn(INSN(0x0f, 0xae, 0x29)); /* xrstor [ecx] */
    ck_assert_uint_eq(c->fpu.xmm[7].q[0] | c->fpu.xmm[7].q[1], 0);
    ck_assert_uint_eq(c->fpu.xmm[8].q[0], 0x0909090909090909ull);
}
END_TEST

/* SDM 1 "Operation of XSAVEC": XSTATE_BV = RFBM AND XINUSE, XCOMP_BV =
 * RFBM | bit 63; a component not in use is not written; the rest of the
 * header is not written. */
START_TEST(xsavec_compacted)
{
    c->xcr0 = 3;
    fill_state();
    c->fpu.fcw = 0x037f, c->fpu.fsw = 0, c->fpu.ftw = 0xffff, c->fpu.fop = 0;
    c->fpu.fip = c->fpu.fdp = 0;
    memset(c->fpu.st, 0, sizeof c->fpu.st);
    memset(m->ram + AREA, 0xcc, 1024);
    c->gpr[1] = AREA;
    set_edx_eax(~0ull);
    run_insn(INSN(0x48, 0x0f, 0xc7, 0x21)); /* xsavec64 [rcx] */
    ck_assert_uint_eq(rd(AREA, 2), 0xcccc); /* x87 not in use: not written */
    ck_assert_uint_eq(rd(AREA + 24, 4), 0x1fa0);
    ck_assert_uint_eq(rd(AREA + 160, 8), 0x0101010101010101ull);
    ck_assert_uint_eq(rd(AREA + 512, 8), 2);
    ck_assert_uint_eq(rd(AREA + 520, 8), 0x8000000000000003ull);
    ck_assert_uint_eq(rd(AREA + 528, 8), 0xccccccccccccccccull);
    /* SSE: XMM zero but MXCSR != 1F80H still saves SSE state */
    memset(c->fpu.xmm, 0, sizeof c->fpu.xmm);
    memset(m->ram + AREA, 0xcc, 1024);
    run_insn(INSN(0x48, 0x0f, 0xc7, 0x21));
    ck_assert_uint_eq(rd(AREA + 24, 4), 0x1fa0);
    ck_assert_uint_eq(rd(AREA + 160, 8), 0);
    ck_assert_uint_eq(rd(AREA + 512, 8), 2);
    /* everything in its initial configuration: XSTATE_BV = 0, nothing written */
    c->fpu.mxcsr = MXCSR_DEFAULT;
    memset(m->ram + AREA, 0xcc, 1024);
    set_edx_eax(1);
    run_insn(INSN(0x48, 0x0f, 0xc7, 0x21));
    ck_assert_uint_eq(rd(AREA + 24, 4), 0xcccccccc);
    ck_assert_uint_eq(rd(AREA + 512, 8), 0);
    ck_assert_uint_eq(rd(AREA + 520, 8), 0x8000000000000001ull);
}
END_TEST

/* SDM 1 "Operation of XSAVEOPT": the standard format, the init
 * optimization (a component not in use is not written), MXCSR saved
 * whenever RFBM[1] is set. */
START_TEST(xsaveopt_init_optimization)
{
    c->xcr0 = 3;
    fill_state();
    memset(c->fpu.xmm, 0, sizeof c->fpu.xmm);
    c->fpu.mxcsr = MXCSR_DEFAULT;
    memset(m->ram + AREA, 0xcc, 1024);
    wr(AREA + 512, 8, 0x3);
    c->gpr[1] = AREA;
    set_edx_eax(3);
    run_insn(INSN(0x48, 0x0f, 0xae, 0x31)); /* xsaveopt64 [rcx] */
    ck_assert_uint_eq(rd(AREA, 2), 0x027f);
    ck_assert_uint_eq(rd(AREA + 24, 4), 0x1f80);
    ck_assert_uint_eq(rd(AREA + 160, 8), 0xccccccccccccccccull);
    ck_assert_uint_eq(rd(AREA + 512, 8), 1);
    ck_assert_uint_eq(rd(AREA + 520, 8), 0xccccccccccccccccull);
}
END_TEST

/* Faults every save and restore form checks first (SDM 2C "XSAVE" ...
 * "Protected Mode Exceptions"): #UD with CR4.OSXSAVE = 0, #NM with
 * CR0.TS = 1, #GP(0) for an area not 64-byte aligned, #UD with a 66
 * prefix (NP) or LOCK. */
static const struct fault_case {
    const char *what;
    uint8_t code[5];
    unsigned len;
} forms[] = {
    { "xsave64", { 0x48, 0x0f, 0xae, 0x21 }, 4 },   { "xrstor64", { 0x48, 0x0f, 0xae, 0x29 }, 4 },
    { "xsaveopt64", { 0x48, 0x0f, 0xae, 0x31 }, 4 }, { "xsavec64", { 0x48, 0x0f, 0xc7, 0x21 }, 4 },
    { "xsaves64", { 0x48, 0x0f, 0xc7, 0x29 }, 4 },  { "xrstors64", { 0x48, 0x0f, 0xc7, 0x19 }, 4 },
};

START_TEST(common_faults)
{
    const struct fault_case *t = &forms[_i];
    c->xcr0 = 3;
    set_edx_eax(3);
    /* a valid compacted/standard image for the restores */
    memset(m->ram + AREA, 0, 1024);
    wr(AREA + 24, 4, MXCSR_DEFAULT);
    if (t->code[2] == 0xc7)
        wr(AREA + 520, 8, 0x8000000000000003ull);
    c->gpr[1] = AREA;
    run_insn(t->code, t->len);

    c->cr4 &= ~CR4_OSXSAVE;
    fault_insn(t->code, t->len, EXC_UD, false);
    c->cr4 |= CR4_OSXSAVE;
    c->cr0 |= CR0_TS;
    fault_insn(t->code, t->len, EXC_NM, false);
    c->cr0 &= ~CR0_TS;
    for (unsigned off = 8; off < 64; off += 8) {
        c->gpr[1] = AREA + off;
        fault_insn(t->code, t->len, EXC_GP, true);
    }
    c->gpr[1] = AREA;
    uint8_t pfx[6] = { 0x66 };
    memcpy(pfx + 1, t->code, t->len);
    fault_insn(pfx, t->len + 1, EXC_UD, false);
    pfx[0] = 0xf0;
    fault_insn(pfx, t->len + 1, EXC_UD, false);
}
END_TEST

/* Each extension is #UD when leaf 0DH sub-leaf 1 does not enumerate it. */
START_TEST(extensions_need_cpuid)
{
    cpu_destroy(c);
    th_model_init(&model, "xsave-no-extensions");
    add_xsave_leaves(&model, 0);
    c = th_cpu_create(m, &model, &cost);
    cpu_power_on_reset(c);
    th_long_mode_2m(c, PML4, 4, true, GDT_BASE);
    c->cr4 |= CR4_OSFXSR | CR4_OSXSAVE;
    c->stop_on_exception = true;
    c->xcr0 = 3;
    c->gpr[1] = AREA;
    set_edx_eax(3);
    for (unsigned i = 2; i < 6; i++)
        fault_insn(forms[i].code, forms[i].len, EXC_UD, false);
    run_insn(forms[0].code, forms[0].len);
    c->gpr[1] = 1;
    fault_insn(XGETBV, EXC_GP, true);
    uint64_t v;
    ck_assert(!cpu_rdmsr(c, 0xda0, &v));
    /* a compacted header is a standard one with XCOMP_BV != 0: #GP */
    wr(AREA + 520, 8, 0x8000000000000003ull);
    c->gpr[1] = AREA;
    fault_insn(forms[1].code, forms[1].len, EXC_GP, true);
}
END_TEST

/* ---- restoring --------------------------------------------------------------------- */

/* XSAVE then XRSTOR of a different state gives the saved state back. */
START_TEST(xrstor_round_trip)
{
    c->xcr0 = 3;
    fill_state();
    struct cpu_fpu saved = c->fpu;
    memset(m->ram + AREA, 0, 1024);
    c->gpr[1] = AREA;
    set_edx_eax(3);
    run_insn(INSN(0x48, 0x0f, 0xae, 0x21));
    memset(c->fpu.xmm, 0x77, sizeof c->fpu.xmm);
    c->fpu.fcw = 0x37f, c->fpu.mxcsr = 0x1f80, c->fpu.ftw = 0xffff;
    run_insn(INSN(0x48, 0x0f, 0xae, 0x29)); /* xrstor64 [rcx] */
    ck_assert_mem_eq(c->fpu.xmm, saved.xmm, sizeof saved.xmm);
    ck_assert_uint_eq(c->fpu.fcw, saved.fcw);
    ck_assert_uint_eq(c->fpu.fsw, saved.fsw);
    ck_assert_uint_eq(c->fpu.ftw, saved.ftw);
    ck_assert_uint_eq(c->fpu.fip, saved.fip);
    ck_assert_uint_eq(c->fpu.mxcsr, saved.mxcsr);
    ck_assert_uint_eq(c->fpu.st[7].signif, saved.st[7].signif);
    /* compacted: XSAVEC then XRSTOR */
    memset(m->ram + AREA2, 0, 1024);
    c->gpr[1] = AREA2;
    run_insn(INSN(0x48, 0x0f, 0xc7, 0x21));
    memset(c->fpu.xmm, 0x55, sizeof c->fpu.xmm);
    c->fpu.mxcsr = 0x1f80;
    run_insn(INSN(0x48, 0x0f, 0xae, 0x29));
    ck_assert_mem_eq(c->fpu.xmm, saved.xmm, sizeof saved.xmm);
    ck_assert_uint_eq(c->fpu.mxcsr, saved.mxcsr);
}
END_TEST

/* SDM 1 "Standard Form of XRSTOR": XSTATE_BV[i] = 0 with RFBM[i] = 1
 * initializes component i (x87: FCW 037FH, FTW FFFFH, ...; SSE: XMM 0),
 * yet MXCSR is loaded from the area; RFBM[i] = 0 leaves component i. */
START_TEST(xrstor_standard_init)
{
    c->xcr0 = 3;
    fill_state();
    memset(m->ram + AREA, 0, 1024);
    wr(AREA + 24, 4, 0x3f80);
    c->gpr[1] = AREA;
    set_edx_eax(3);
    run_insn(INSN(0x48, 0x0f, 0xae, 0x29));
    ck_assert_uint_eq(c->fpu.fcw, 0x037f);
    ck_assert_uint_eq(c->fpu.fsw, 0);
    ck_assert_uint_eq(c->fpu.ftw, 0xffff);
    ck_assert_uint_eq(c->fpu.fip, 0);
    ck_assert_uint_eq(c->fpu.st[7].signif, 0);
    for (unsigned i = 0; i < 16; i++)
        ck_assert_uint_eq(c->fpu.xmm[i].q[0] | c->fpu.xmm[i].q[1], 0);
    ck_assert_uint_eq(c->fpu.mxcsr, 0x3f80);
    /* RFBM = 1: SSE untouched, MXCSR not loaded */
    fill_state();
    set_edx_eax(1);
    run_insn(INSN(0x48, 0x0f, 0xae, 0x29));
    ck_assert_uint_eq(c->fpu.fcw, 0x037f);
    ck_assert_uint_eq(c->fpu.xmm[5].q[0], 0x0606060606060606ull);
    ck_assert_uint_eq(c->fpu.mxcsr, 0x1fa0);
}
END_TEST

/* SDM 1 "Compacted Form of XRSTOR": SSE initialized sets MXCSR to 1F80H. */
START_TEST(xrstor_compacted_init)
{
    c->xcr0 = 3;
    fill_state();
    memset(m->ram + AREA, 0, 1024);
    wr(AREA + 24, 4, 0x3f80);
    wr(AREA + 520, 8, 0x8000000000000002ull);
    c->gpr[1] = AREA;
    set_edx_eax(3);
    run_insn(INSN(0x48, 0x0f, 0xae, 0x29));
    ck_assert_uint_eq(c->fpu.mxcsr, 0x1f80);
    ck_assert_uint_eq(c->fpu.fcw, 0x037f); /* RFBM[0] = 1, XSTATE_BV[0] = 0 */
    ck_assert_uint_eq(c->fpu.xmm[0].q[0], 0);
}
END_TEST

/* SDM 1 "XRSTOR and the Init and Modified Optimizations": a component
 * XRSTOR loads from memory is tracked as in use, even when what it loads
 * is the initial configuration; one it initializes need not be. */
START_TEST(xrstor_tracks_xinuse)
{
    c->xcr0 = 3;
    memset(m->ram + AREA, 0, 1024);
    wr(AREA, 2, 0x037f);
    wr(AREA + 24, 4, MXCSR_DEFAULT);
    wr(AREA + 512, 8, 3); /* the initial configuration, loaded */
    c->gpr[1] = AREA;
    set_edx_eax(3);
    run_insn(INSN(0x48, 0x0f, 0xae, 0x29));
    c->gpr[1] = 1;
    run_insn(XGETBV);
    ck_assert_uint_eq(c->gpr[0], 3);
    wr(AREA + 512, 8, 0); /* initialized */
    c->gpr[1] = AREA;
    set_edx_eax(3);
    run_insn(INSN(0x48, 0x0f, 0xae, 0x29));
    c->gpr[1] = 1;
    run_insn(XGETBV);
    ck_assert_uint_eq(c->gpr[0], 0);
}
END_TEST

/* The restore forms' #GP(0) rules; the state is unchanged after each. */
static const struct hdr_case {
    const char *what;
    uint64_t xstate_bv, xcomp_bv, hdr2, hdr5;
    uint32_t mxcsr;
    bool xrstors;
} hdr_cases[] = {
    { "standard: XSTATE_BV bit 2 not in XCR0", 4, 0, 0, 0, 0x1f80, false },
    { "standard: XSTATE_BV bit 63", 1ull << 63, 0, 0, 0, 0x1f80, false },
    { "standard: bytes 23:16 not 0", 3, 0, 1, 0, 0x1f80, false },
    { "standard: MXCSR reserved bit", 3, 0, 0, 0, 0x11f80, false },
    { "compacted: XCOMP_BV bit 2 not in XCR0", 3, 0x8000000000000007ull, 0, 0, 0x1f80, false },
    { "compacted: XSTATE_BV not in XCOMP_BV", 3, 0x8000000000000001ull, 0, 0, 0x1f80, false },
    { "compacted: bytes 63:40 not 0", 3, 0x8000000000000003ull, 0, 1, 0x1f80, false },
    { "compacted: bytes 23:16 not 0", 3, 0x8000000000000003ull, 1, 0, 0x1f80, false },
    { "compacted: MXCSR reserved bit", 3, 0x8000000000000003ull, 0, 0, 0x10000, false },
    { "XRSTORS: standard format", 3, 0, 0, 0, 0x1f80, true },
    { "XRSTORS: XSTATE_BV bit 63", 1ull << 63 | 3, 0x8000000000000003ull, 0, 0, 0x1f80, true },
};

START_TEST(xrstor_gp_rules)
{
    const struct hdr_case *t = &hdr_cases[_i];
    c->xcr0 = 3;
    fill_state();
    struct cpu_fpu before = c->fpu;
    memset(m->ram + AREA, 0, 1024);
    wr(AREA + 24, 4, t->mxcsr);
    wr(AREA + 512, 8, t->xstate_bv);
    wr(AREA + 520, 8, t->xcomp_bv);
    wr(AREA + 528, 8, t->hdr2);
    wr(AREA + 552, 8, t->hdr5);
    c->gpr[1] = AREA;
    set_edx_eax(3);
    if (t->xrstors)
        fault_insn(INSN(0x48, 0x0f, 0xc7, 0x19), EXC_GP, true);
    else
        fault_insn(INSN(0x48, 0x0f, 0xae, 0x29), EXC_GP, true);
    ck_assert_msg(!memcmp(&c->fpu, &before, sizeof before), "%s: state changed", t->what);
}
END_TEST

/* An XRSTOR whose header is on an unmapped page faults (#PF) with the
 * registers as they were, though the legacy region was readable. */
START_TEST(xrstor_fault_changes_nothing)
{
    c->xcr0 = 3;
    fill_state();
    struct cpu_fpu before = c->fpu;
    uint64_t area = 0x800000 - 512;
    memset(m->ram + area, 0, 512);
    c->gpr[1] = area;
    set_edx_eax(3);
    th_load(c, CODE, (const uint8_t[]){ 0x48, 0x0f, 0xae, 0x29, 0xeb, 0xfe }, 6);
    th_start_at(c, CODE);
    ck_assert_int_eq(cpu_run(c, TH_RUN_LIMIT), CPU_STOP_EXCEPTION);
    ck_assert_int_eq(c->last_exception, EXC_PF);
    ck_assert(!memcmp(&c->fpu, &before, sizeof before));
}
END_TEST

/* SDM 2C "XSAVES", "XRSTORS": #GP(0) at CPL > 0; XSAVES writes the
 * compacted format, and XRSTORS restores it. */
START_TEST(xsaves_xrstors)
{
    c->xcr0 = 3;
    fill_state();
    struct cpu_fpu saved = c->fpu;
    memset(m->ram + AREA, 0, 1024);
    c->gpr[1] = AREA;
    set_edx_eax(~0ull);
    run_insn(INSN(0x48, 0x0f, 0xc7, 0x29)); /* xsaves64 [rcx] */
    ck_assert_uint_eq(rd(AREA + 512, 8), 3);
    ck_assert_uint_eq(rd(AREA + 520, 8), 0x8000000000000003ull);
    memset(c->fpu.xmm, 0, sizeof c->fpu.xmm);
    run_insn(INSN(0x48, 0x0f, 0xc7, 0x19)); /* xrstors64 [rcx] */
    ck_assert_mem_eq(c->fpu.xmm, saved.xmm, sizeof saved.xmm);
    c->cpl = 3;
    fault_insn(INSN(0x48, 0x0f, 0xc7, 0x29), EXC_GP, true);
    fault_insn(INSN(0x48, 0x0f, 0xc7, 0x19), EXC_GP, true);
    /* #NM (a fault of decoding) comes before the CPL #GP (of executing) */
    c->cr0 |= CR0_TS;
    fault_insn(INSN(0x48, 0x0f, 0xc7, 0x29), EXC_NM, false);
    fault_insn(INSN(0x48, 0x0f, 0xc7, 0x19), EXC_NM, false);
}
END_TEST

/* An XSAVE that would fault on its second page writes nothing (the page
 * after 0x800000 is not mapped: 4 x 2 MByte pages are). */
START_TEST(xsave_no_partial_write)
{
    c->xcr0 = 3;
    fill_state();
    uint64_t area = 0x800000 - 512; /* the header is on the unmapped page */
    memset(m->ram + area, 0xcc, 512);
    c->gpr[1] = area;
    set_edx_eax(3);
    th_load(c, CODE, (const uint8_t[]){ 0x48, 0x0f, 0xae, 0x21, 0xeb, 0xfe }, 6);
    th_start_at(c, CODE);
    ck_assert_int_eq(cpu_run(c, TH_RUN_LIMIT), CPU_STOP_EXCEPTION);
    ck_assert_int_eq(c->last_exception, EXC_PF);
    ck_assert_uint_eq(c->fault_cr2, 0x800000);
    for (unsigned i = 0; i < 512; i++)
        ck_assert_msg(m->ram[area + i] == 0xcc, "byte %u written", i);
}
END_TEST

/* ---- decoding ---------------------------------------------------------------------- */

/* Every row of src/cpu/opcodes_xsave.txt against Capstone on length and
 * mnemonic: memory ModRM forms with SIB and displacements, REX (REX.W
 * selects the ...64 forms), in 64- and 32-bit code. */
START_TEST(capstone_crosscheck)
{
    static const uint8_t ops[][2] = { { 0xae, 4 }, { 0xae, 5 }, { 0xae, 6 },
                                      { 0xc7, 3 }, { 0xc7, 4 }, { 0xc7, 5 } };
    static const unsigned modes[] = { 8, 4 };
    uint64_t rng = 0x243f6a8885a308d3ull;
    unsigned compared = 0;
    for (unsigned mi = 0; mi < 2; mi++) {
        unsigned mode = modes[mi];
        csh h;
        ck_assert_int_eq(cs_open(CS_ARCH_X86, mode == 8 ? CS_MODE_64 : CS_MODE_32, &h), CS_ERR_OK);
        for (unsigned i = 0; i < 3000; i++) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            uint8_t b[24];
            unsigned n = 0;
            if (mode == 8 && (rng & 1))
                b[n++] = (uint8_t)(0x40 | ((rng >> 1) & 15));
            const uint8_t *op = ops[(rng >> 8) % 6];
            b[n++] = 0x0f;
            b[n++] = op[0];
            unsigned mod = (unsigned)(rng >> 16) % 3, rm = (unsigned)(rng >> 20) & 7;
            b[n++] = (uint8_t)(mod << 6 | op[1] << 3 | rm);
            for (unsigned k = 0; k < 12; k++)
                b[n++] = (uint8_t)(rng >> (24 + 3 * k));
            struct insn in;
            unsigned len = cpu_decode_bytes(b, n, mode, &in);
            ck_assert_uint_ne(len, 0);
            cs_insn *ci;
            size_t cnt = cs_disasm(h, b, n, 0x1000, 1, &ci);
            ck_assert_uint_eq(cnt, 1);
            char ours[32];
            const char *name = cpu_opid_name(in.id);
            for (unsigned k = 0; k < sizeof ours; k++)
                if (!(ours[k] = (char)tolower((unsigned char)name[k])))
                    break;
            ck_assert_msg(ci[0].size == len, "length %u, Capstone %u (%s)", len, ci[0].size,
                          ci[0].mnemonic);
            ck_assert_msg(!strcmp(ours, ci[0].mnemonic), "%s, Capstone %s", ours, ci[0].mnemonic);
            cs_free(ci, cnt);
            compared++;
        }
        static const uint8_t xcr[][3] = { { 0x0f, 0x01, 0xd0 }, { 0x0f, 0x01, 0xd1 } };
        for (unsigned k = 0; k < 2; k++) {
            struct insn in;
            cs_insn *ci;
            ck_assert_uint_eq(cpu_decode_bytes(xcr[k], 3, mode, &in), 3);
            ck_assert_uint_eq(cs_disasm(h, xcr[k], 3, 0x1000, 1, &ci), 1);
            ck_assert_str_eq(ci[0].mnemonic, k ? "xsetbv" : "xgetbv");
            ck_assert_str_eq(cpu_opid_name(in.id), k ? "XSETBV" : "XGETBV");
            cs_free(ci, 1);
        }
        cs_close(&h);
    }
    ck_assert_uint_eq(compared, 6000);
}
END_TEST

static Suite *xsave_suite(void)
{
    Suite *s = suite_create("xsave");
    TCase *tc = tcase_create("xcr0");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, xsetbv_rules, 0, sizeof xsetbv_cases / sizeof xsetbv_cases[0]);
    tcase_add_test(tc, xgetbv_xsetbv_faults);
    tcase_add_test(tc, xgetbv_xinuse);
    tcase_add_test(tc, cpuid_leaf_d);
    tcase_add_test(tc, ia32_xss);
    suite_add_tcase(s, tc);

    tc = tcase_create("save");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, xsave_layout);
    tcase_add_test(tc, xsave_rfbm);
    tcase_add_test(tc, xsave_32bit_layout);
    tcase_add_test(tc, xsave_compatibility_mode);
    tcase_add_test(tc, xsavec_compacted);
    tcase_add_test(tc, xsaveopt_init_optimization);
    tcase_add_loop_test(tc, common_faults, 0, sizeof forms / sizeof forms[0]);
    tcase_add_test(tc, extensions_need_cpuid);
    tcase_add_test(tc, xsave_no_partial_write);
    suite_add_tcase(s, tc);

    tc = tcase_create("restore");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, xrstor_round_trip);
    tcase_add_test(tc, xrstor_standard_init);
    tcase_add_test(tc, xrstor_compacted_init);
    tcase_add_test(tc, xrstor_tracks_xinuse);
    tcase_add_loop_test(tc, xrstor_gp_rules, 0, sizeof hdr_cases / sizeof hdr_cases[0]);
    tcase_add_test(tc, xsaves_xrstors);
    tcase_add_test(tc, xrstor_fault_changes_nothing);
    suite_add_tcase(s, tc);

    tc = tcase_create("decode");
    tcase_add_test(tc, capstone_crosscheck);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(xsave_suite());
}
