/* Guest test fpu_state: the x87/SSE state instructions as an operating
 * system uses them. SDM 1 "Managing State Using the XSAVE Feature Set"
 * (legacy region, XSAVE header, XSTATE_BV/XCOMP_BV, the standard and
 * compacted forms), SDM 2A "FXSAVE", SDM 2C "XSAVE", "XRSTOR", "XSAVEC",
 * "XSAVES", "XGETBV", "XSETBV", SDM 3A "System Programming for Instruction
 * Set Extensions and Processor Extended States" (CR4.OSFXSR/OSXSAVE, lazy
 * switching with CR0.TS and #NM). The registers are loaded with FXRSTOR
 * from a known image, so no SSE or x87 arithmetic is needed; every check
 * compares bytes at the SDM's offsets. Needs CPUID.01H:EDX.FXSR and
 * CPUID.01H:ECX.XSAVE; without them it reports SKIP. */
#include "console.h"
#include "exc.h"
#include "report.h"
#include "x86.h"

#define VEC_UD 6
#define VEC_NM 7
#define VEC_GP 13
#define CR0_MP (1ull << 1)
#define CR0_TS (1ull << 3)
#define CR4_OSFXSR (1ull << 9)
#define CR4_OSXSAVE (1ull << 18)
#define RUN_OK ((uint64_t)-1)

/* Areas: 64-byte aligned, 1 KiB each. */
static uint8_t img[1024] __attribute__((aligned(64)));
static uint8_t area_a[1024] __attribute__((aligned(64)));
static uint8_t area_b[1024] __attribute__((aligned(64)));
static uint8_t out[1024] __attribute__((aligned(64)));
__attribute__((section(".user.data"), aligned(64))) static uint8_t user_area[1024];

static void put(uint8_t *p, unsigned off, unsigned n, uint64_t v)
{
    for (unsigned i = 0; i < n; i++)
        p[off + i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get(const uint8_t *p, unsigned off, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[off + i] << (8 * i);
    return v;
}

static void fill(uint8_t *p, uint8_t b)
{
    for (unsigned i = 0; i < 1024; i++)
        p[i] = b;
}

static inline void fxsave64(void *p) { __asm__ volatile("fxsave64 (%0)" : : "r"(p) : "memory"); }
static inline void fxrstor64(const void *p) { __asm__ volatile("fxrstor64 (%0)" : : "r"(p) : "memory"); }

static inline void xsave64(void *p, uint64_t rfbm)
{
    __asm__ volatile("xsave64 (%0)" : : "r"(p), "a"((uint32_t)rfbm), "d"((uint32_t)(rfbm >> 32))
                     : "memory");
}

static inline void xsavec64(void *p, uint64_t rfbm)
{
    __asm__ volatile("xsavec64 (%0)" : : "r"(p), "a"((uint32_t)rfbm), "d"((uint32_t)(rfbm >> 32))
                     : "memory");
}

static inline void xrstor64(const void *p, uint64_t rfbm)
{
    __asm__ volatile("xrstor64 (%0)" : : "r"(p), "a"((uint32_t)rfbm), "d"((uint32_t)(rfbm >> 32))
                     : "memory");
}

static inline void xsetbv(uint32_t idx, uint64_t v)
{
    __asm__ volatile("xsetbv" : : "c"(idx), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static inline uint64_t xgetbv(uint32_t idx)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(idx));
    return ((uint64_t)hi << 32) | lo;
}

/* A recognisable FXSAVE image: FCW 027FH, FSW with TOP = 7, R7 valid
 * (abridged tag 80H), FOP, 64-bit FIP/FDP, ST0 = 3.0, MXCSR 1FA0H and
 * XMMi = i + 1 in every byte of the low half, its complement above. */
static void make_image(uint8_t *p)
{
    fill(p, 0);
    put(p, 0, 2, 0x027f);
    put(p, 2, 2, 0x3800);
    put(p, 4, 1, 0x80);
    put(p, 6, 2, 0x5a5);
    put(p, 8, 8, 0x0000123456789abcull);
    put(p, 16, 8, 0x0000fedcba987654ull);
    put(p, 24, 4, 0x1fa0);
    put(p, 32, 8, 0xc000000000000000ull);
    put(p, 40, 2, 0x4000);
    for (unsigned i = 0; i < 16; i++) {
        put(p, 160 + 16 * i, 8, 0x0101010101010101ull * (i + 1));
        put(p, 168 + 16 * i, 8, ~(0x0101010101010101ull * (i + 1)));
    }
}

/* The legacy-region fields the SDM defines, compared one by one. */
static void check_legacy(const char *what, const uint8_t *p, const uint8_t *want, bool x87,
                         bool sse)
{
    static const struct { const char *name; unsigned off, n; } x87f[] = {
        { "fcw", 0, 2 }, { "fsw", 2, 2 }, { "ftw", 4, 1 }, { "fop", 6, 2 },
        { "fip", 8, 8 }, { "fdp", 16, 8 }, { "st0", 32, 8 }, { "st0_exp", 40, 2 },
        { "st7", 144, 8 },
    };
    char n[96];
    for (unsigned i = 0; x87 && i < sizeof x87f / sizeof x87f[0]; i++) {
        fmt_snprintf(n, sizeof n, "%s.%s@%u", what, x87f[i].name, x87f[i].off);
        check_eq(n, get(p, x87f[i].off, x87f[i].n), get(want, x87f[i].off, x87f[i].n));
    }
    if (!sse)
        return;
    fmt_snprintf(n, sizeof n, "%s.mxcsr@24", what);
    check_eq(n, get(p, 24, 4), get(want, 24, 4));
    fmt_snprintf(n, sizeof n, "%s.mxcsr_mask@28", what);
    check_eq(n, get(p, 28, 4), 0xffff);
    unsigned bad = 0;
    for (unsigned i = 160; i < 416; i++)
        bad += p[i] != want[i];
    fmt_snprintf(n, sizeof n, "%s.xmm0_15@160..415", what);
    check_eq(n, bad, 0);
}

static bool have_xsave;

static void test_cpuid(void)
{
    struct cpuid_regs r = cpuid(1, 0);
    check_eq("cpuid.1.ecx.osxsave_before", (r.ecx >> 27) & 1, 0);
    write_cr4(read_cr4() | CR4_OSXSAVE);
    r = cpuid(1, 0);
    check_eq("cpuid.1.ecx.osxsave_after", (r.ecx >> 27) & 1, 1);
    r = cpuid(0xd, 0);
    check_eq("cpuid.d.0.eax_x87_sse", r.eax & 3, 3);
    check_eq("cpuid.d.0.ebx_xcr0_1", r.ebx, 576);
    check_eq("cpuid.d.0.ecx_max", r.ecx, 576);
    xsetbv(0, 3);
    r = cpuid(0xd, 0);
    check_eq("cpuid.d.0.ebx_xcr0_3", r.ebx, 576);
    r = cpuid(0xd, 1);
    check_eq("cpuid.d.1.eax_xsavec", (r.eax >> 1) & 1, 1);
    check_eq("cpuid.d.1.ebx", r.ebx, 576);
}

/* SDM 2C "XSETBV"/"XGETBV" and XCR0's rules. */
static uint64_t xcr_val;
static uint32_t xcr_idx;
static void do_xsetbv(void *arg) { (void)arg; xsetbv(xcr_idx, xcr_val); }
static void do_xgetbv(void *arg) { (void)arg; xcr_val = xgetbv(xcr_idx); }

static void expect_gp(const char *name, void (*fn)(void *), void *arg)
{
    char n[96];
    if (!check_eq(name, (uint64_t)exc_run(fn, arg), VEC_GP))
        return;
    fmt_snprintf(n, sizeof n, "%s.error_code", name);
    check_eq(n, exc_last.f.error, 0);
}

static void test_xcr0(void)
{
    check_eq("xcr0.value", xgetbv(0), 3);
    xcr_idx = 0, xcr_val = 2;
    expect_gp("xsetbv.x87_bit_clear_gp", do_xsetbv, 0);
    xcr_val = 7;
    expect_gp("xsetbv.avx_not_supported_gp", do_xsetbv, 0);
    xcr_val = 0x100 | 3;
    expect_gp("xsetbv.supervisor_bit_gp", do_xsetbv, 0);
    xcr_idx = 1, xcr_val = 3;
    expect_gp("xsetbv.ecx_1_gp", do_xsetbv, 0);
    xcr_idx = 2;
    expect_gp("xgetbv.ecx_2_gp", do_xgetbv, 0);
    check_eq("xcr0.unchanged", xgetbv(0), 3);
    xcr_idx = 0, xcr_val = 1;
    check_eq("xsetbv.x87_only", (uint64_t)exc_run(do_xsetbv, 0), RUN_OK);
    check_eq("xcr0.x87_only", xgetbv(0), 1);
    xsetbv(0, 3);
}

/* SDM 2A "FXSAVE" Table "Layout of the 64-Bit Mode FXSAVE64 Map". */
static void test_fxsave_layout(void)
{
    make_image(img);
    fxrstor64(img);
    fill(out, 0xcc);
    fxsave64(out);
    check_legacy("fxsave64", out, img, true, true);
}

/* SDM 1 "Legacy Region of an XSAVE Area", "XSAVE Header": XSAVE writes the
 * same legacy region as FXSAVE, XSTATE_BV[1:0] = XINUSE, keeps XSTATE_BV's
 * other bits and XCOMP_BV, and does not touch bytes 464-511. */
static void test_xsave_layout(void)
{
    make_image(img);
    fxrstor64(img);
    fill(out, 0xcc);
    put(out, 512, 8, 0);
    xsave64(out, 3);
    check_legacy("xsave64", out, img, true, true);
    check_eq("xsave64.xstate_bv@512", get(out, 512, 8), 3);
    check_eq("xsave64.xcomp_bv@520_untouched", get(out, 520, 8), 0xccccccccccccccccull);
    check_eq("xsave64.bytes_464_511_untouched", get(out, 464, 8) & get(out, 504, 8),
             0xccccccccccccccccull);
    /* RFBM = x87: MXCSR and the XMM registers are not written */
    fill(out, 0xcc);
    put(out, 512, 8, 0);
    xsave64(out, 1);
    check_legacy("xsave64_x87_only", out, img, true, false);
    check_eq("xsave64_x87_only.mxcsr_not_written", get(out, 24, 4), 0xcccccccc);
    check_eq("xsave64_x87_only.xmm0_not_written", get(out, 160, 8), 0xccccccccccccccccull);
    check_eq("xsave64_x87_only.xstate_bv", get(out, 512, 8), 1);
}

/* SDM 1 "Operation of XSAVEC": compacted format, XCOMP_BV = RFBM | bit 63. */
static void test_xsavec(void)
{
    make_image(img);
    fxrstor64(img);
    fill(out, 0xcc);
    for (unsigned i = 528; i < 576; i++) /* XRSTOR below needs bytes 63:16 of the header 0 */
        out[i] = 0;
    xsavec64(out, 3);
    check_legacy("xsavec64", out, img, true, true);
    check_eq("xsavec64.xstate_bv@512", get(out, 512, 8), 3);
    check_eq("xsavec64.xcomp_bv@520", get(out, 520, 8), 0x8000000000000003ull);
    /* XRSTOR takes the compacted form from XCOMP_BV[63] */
    fill(img, 0);
    put(img, 24, 4, 0x1f80);
    fxrstor64(img);
    xrstor64(out, 3);
    fill(area_a, 0xcc);
    fxsave64(area_a);
    make_image(img);
    check_legacy("xrstor64_compacted", area_a, img, true, true);
}

/* SDM 1 "Standard Form of XRSTOR": XSTATE_BV[i] = 0 initializes component
 * i (x87: FCW 037FH, all tags empty; SSE: XMM 0) but MXCSR is loaded. */
static void test_xrstor_init(void)
{
    make_image(img);
    fxrstor64(img);
    fill(area_a, 0);
    put(area_a, 24, 4, 0x3f80);
    xrstor64(area_a, 3);
    fill(out, 0xcc);
    fxsave64(out);
    check_eq("xrstor_init.fcw", get(out, 0, 2), 0x037f);
    check_eq("xrstor_init.abridged_ftw", get(out, 4, 1), 0);
    check_eq("xrstor_init.st0", get(out, 32, 8), 0);
    check_eq("xrstor_init.mxcsr_loaded", get(out, 24, 4), 0x3f80);
    check_eq("xrstor_init.xmm15", get(out, 400, 8) | get(out, 408, 8), 0);
}

/* #GP(0): misaligned area, header rules, reserved MXCSR bits. */
static uint8_t *op_area;
static void do_xsave(void *arg) { (void)arg; xsave64(op_area, 3); }
static void do_xrstor(void *arg) { (void)arg; xrstor64(op_area, 3); }
static void do_fxsave(void *arg) { (void)arg; fxsave64(op_area); }
static void do_wait(void *arg) { (void)arg; __asm__ volatile("fwait"); }

static void test_faults(void)
{
    op_area = out + 16;
    expect_gp("xsave.misaligned_16_gp", do_xsave, 0);
    op_area = out + 32;
    expect_gp("xrstor.misaligned_32_gp", do_xrstor, 0);
    op_area = area_b;
    fill(area_b, 0);
    put(area_b, 24, 4, 0x1f80);
    put(area_b, 512, 8, 4); /* XSTATE_BV: AVX, not in XCR0 */
    expect_gp("xrstor.xstate_bv_not_in_xcr0_gp", do_xrstor, 0);
    put(area_b, 512, 8, 3);
    put(area_b, 528, 8, 1); /* header bytes 23:16 */
    expect_gp("xrstor.header_reserved_gp", do_xrstor, 0);
    put(area_b, 528, 8, 0);
    put(area_b, 520, 8, 0x8000000000000001ull); /* XSTATE_BV[1] not in XCOMP_BV */
    expect_gp("xrstor.compacted_xstate_bv_not_in_xcomp_bv_gp", do_xrstor, 0);
    put(area_b, 520, 8, 0);
    put(area_b, 24, 4, 0x10000);
    expect_gp("xrstor.mxcsr_reserved_gp", do_xrstor, 0);
    put(area_b, 24, 4, 0x1f80);
    check_eq("xrstor.valid_runs", (uint64_t)exc_run(do_xrstor, 0), RUN_OK);

    /* #UD: CR4.OSXSAVE = 0 */
    write_cr4(read_cr4() & ~CR4_OSXSAVE);
    check_eq("xsave.osxsave_clear_ud", (uint64_t)exc_run(do_xsave, 0), VEC_UD);
    xcr_idx = 0;
    check_eq("xgetbv.osxsave_clear_ud", (uint64_t)exc_run(do_xgetbv, 0), VEC_UD);
    write_cr4(read_cr4() | CR4_OSXSAVE);

    /* #NM: CR0.TS = 1 */
    write_cr0(read_cr0() | CR0_TS);
    check_eq("xsave.ts_nm", (uint64_t)exc_run(do_xsave, 0), VEC_NM);
    check_eq("fxsave.ts_nm", (uint64_t)exc_run(do_fxsave, 0), VEC_NM);
    check_eq("fwait.mp_ts_nm", (uint64_t)exc_run(do_wait, 0), VEC_NM);
    __asm__ volatile("clts");
}

/* SDM 2C "XSAVES", "XRSTORS" at CPL 0 (as L1 under --l0 this needs
 * "enable XSAVES/XRSTORS" in vmcs01, which L0 sets when CPUID shows
 * XSAVES): the compacted format, and back. */
static void test_xsaves(void)
{
    struct cpuid_regs r = cpuid(0xd, 1);
    if (!((r.eax >> 3) & 1)) {
        report_skip("xsaves", "CPUID.(EAX=0DH,ECX=1):EAX.XSAVES[bit 3] is 0");
        return;
    }
    check_eq("ia32_xss.reset_value", rdmsr(0xda0), 0);
    make_image(img);
    fxrstor64(img);
    fill(out, 0);
    __asm__ volatile("xsaves64 (%0)" : : "r"(out), "a"(3), "d"(0) : "memory");
    check_legacy("xsaves64", out, img, true, true);
    check_eq("xsaves64.xstate_bv", get(out, 512, 8), 3);
    check_eq("xsaves64.xcomp_bv", get(out, 520, 8), 0x8000000000000003ull);
    fill(area_a, 0);
    put(area_a, 24, 4, 0x1f80);
    fxrstor64(area_a);
    __asm__ volatile("xrstors64 (%0)" : : "r"(out), "a"(3), "d"(0) : "memory");
    fill(area_a, 0xcc);
    fxsave64(area_a);
    check_legacy("xrstors64", area_a, img, true, true);
}

/* CPL 3: XSETBV and XSAVES/XRSTORS are #GP(0); XGETBV and XSAVE run. */
void u_xsetbv(uint64_t), u_xgetbv(uint64_t), u_xsaves(uint64_t), u_xsave(uint64_t);
extern const uint8_t u_xsetbv_rip[], u_xsaves_rip[];

static void test_cpl3(void)
{
    char n[64];
    uint64_t a = (uint64_t)user_area;
    check_eq("cpl3.xsetbv_gp", (uint64_t)exc_run_user(u_xsetbv, 3, 0), VEC_GP);
    check_eq("cpl3.xsetbv_gp.rip", exc_last.f.rip, (uint64_t)u_xsetbv_rip);
    check_eq("cpl3.xsaves_gp", (uint64_t)exc_run_user(u_xsaves, a, 0), VEC_GP);
    fmt_snprintf(n, sizeof n, "cpl3.xsaves_gp.rip");
    check_eq(n, exc_last.f.rip, (uint64_t)u_xsaves_rip);
    check_eq("cpl3.xgetbv_runs", (uint64_t)exc_run_user(u_xgetbv, 0, 0), EXC_VEC_USER_RETURN);
    check_eq("cpl3.xgetbv_value", exc_last.f.rax, 3);
    put(user_area, 512, 8, 0);
    check_eq("cpl3.xsave_runs", (uint64_t)exc_run_user(u_xsave, a, 0), EXC_VEC_USER_RETURN);
    check_eq("cpl3.xsave_xstate_bv", get(user_area, 512, 8), 3);
}

/* Lazy FPU switching as an operating system does it (SDM 3A "Using the
 * TS Flag to Control the Saving of the x87 FPU, MMX, SSE, SSE2, SSE3,
 * SSSE3, SSE4 ... and AVX State"): on a task switch the OS only sets
 * CR0.TS; the new task's first FPU/SSE instruction (here FWAIT, with
 * CR0.MP = 1) raises #NM; the handler clears TS, saves the previous
 * owner's state, restores the new task's, and the instruction runs again. */
static uint8_t *owner_area, *next_area;
static unsigned nm_count;
static bool use_xsave;

static bool nm_handler(struct exc_frame *f)
{
    (void)f;
    nm_count++;
    __asm__ volatile("clts");
    if (use_xsave) {
        xsave64(owner_area, 3);
        xrstor64(next_area, 3);
    } else {
        fxsave64(owner_area);
        fxrstor64(next_area);
    }
    owner_area = next_area;
    return true;
}

/* The new task's first FPU/SSE instruction: FWAIT (CR0.MP = 1), or, where
 * CPUID enumerates them, an SSE2 move or an x87 FNOP that changes nothing
 * the checks look at. */
enum trigger { T_FWAIT, T_SSE2, T_X87 };
static void first_insn(enum trigger t)
{
    switch (t) {
    case T_FWAIT: __asm__ volatile("fwait"); break;
    case T_SSE2: __asm__ volatile("movdqa %%xmm0, %%xmm0" ::: "memory"); break;
    case T_X87: __asm__ volatile("fnop"); break;
    }
}

static void lazy_switch(const char *what, bool xs, enum trigger t)
{
    char n[96];
    use_xsave = xs;
    /* task A's state is live; task B's image waits in area_b */
    make_image(img);
    fxrstor64(img);
    fill(area_a, 0);
    fill(area_b, 0);
    put(area_b, 24, 4, 0x1f80);
    for (unsigned i = 0; i < 16; i++)
        put(area_b, 160 + 16 * i, 8, 0xb0b0b0b0b0b0b0b0ull + i);
    put(area_b, 0, 2, 0x037f);
    if (xs)
        put(area_b, 512, 8, 3);
    owner_area = area_a;
    next_area = area_b;
    nm_count = 0;
    exc_set_hook(VEC_NM, nm_handler);
    write_cr0(read_cr0() | CR0_MP | CR0_TS); /* the switch to B */
    first_insn(t);                            /* B's first FPU instruction */
    exc_set_hook(VEC_NM, 0);
    fmt_snprintf(n, sizeof n, "%s.one_nm", what);
    check_eq(n, nm_count, 1);
    fmt_snprintf(n, sizeof n, "%s.ts_clear", what);
    check_eq(n, read_cr0() & CR0_TS, 0);
    /* A's state went to area_a, B's is live */
    fmt_snprintf(n, sizeof n, "%s.saved_a", what);
    check_legacy(n, area_a, img, true, true);
    fill(out, 0xcc);
    fxsave64(out);
    fmt_snprintf(n, sizeof n, "%s.live_b.xmm7", what);
    check_eq(n, get(out, 160 + 16 * 7, 8), 0xb0b0b0b0b0b0b0b7ull);
    fmt_snprintf(n, sizeof n, "%s.live_b.fcw", what);
    check_eq(n, get(out, 0, 2), 0x037f);
    fmt_snprintf(n, sizeof n, "%s.live_b.mxcsr", what);
    check_eq(n, get(out, 24, 4), 0x1f80);
    /* no second #NM while TS stays clear */
    first_insn(t);
    fmt_snprintf(n, sizeof n, "%s.no_second_nm", what);
    check_eq(n, nm_count, 1);
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_magic;
    (void)mb_info;
    struct cpuid_regs r = cpuid(1, 0);
    if (!((r.edx >> 24) & 1)) {
        report_skip("fpu_state", "CPUID.01H:EDX.FXSR[bit 24] is 0");
        guest_finish();
    }
    write_cr4(read_cr4() | CR4_OSFXSR);
    test_fxsave_layout();
    lazy_switch("lazy_fxsave", false, T_FWAIT);
    if ((r.edx >> 26) & 1)
        lazy_switch("lazy_fxsave_sse2", false, T_SSE2);
    else
        report_skip("lazy_fxsave_sse2", "CPUID.01H:EDX.SSE2[bit 26] is 0");
    if (r.edx & 1)
        lazy_switch("lazy_fxsave_x87", false, T_X87);
    else
        report_skip("lazy_fxsave_x87", "CPUID.01H:EDX.FPU[bit 0] is 0");
    have_xsave = (r.ecx >> 26) & 1;
    if (!have_xsave) {
        report_skip("xsave", "CPUID.01H:ECX.XSAVE[bit 26] is 0");
        guest_finish();
    }
    test_cpuid();
    test_xcr0();
    test_xsave_layout();
    test_xsavec();
    test_xrstor_init();
    test_faults();
    test_xsaves();
    test_cpl3();
    lazy_switch("lazy_xsave", true, T_FWAIT);
    guest_finish();
}
