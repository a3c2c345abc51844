/* Guest test ssefp: SIMD floating-point exceptions as an operating system
 * sees them (SDM 3A "Interrupt 19 -- SIMD Floating-Point Exception (#XM)",
 * SDM 1 "SSE and SSE2 Exceptions"): an unmasked exception is #XM at the
 * instruction with CR4.OSXMMEXCPT = 1 and #UD with it clear, the
 * destination keeps its value and MXCSR has the flag; a masked one gives
 * the masked response; a misaligned packed operand is #GP(0); CR0.TS = 1
 * is #NM. SKIPs when CPUID does not advertise SSE. */
#include "console.h"
#include "exc.h"
#include "report.h"
#include "x86.h"

#define VEC_UD 6
#define VEC_NM 7
#define VEC_GP 13
#define VEC_XM 19
#define CR0_EM (1ull << 2)
#define CR0_MP (1ull << 1)
#define CR0_TS (1ull << 3)
#define CR4_OSFXSR (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)

void fp_load(uint32_t mxcsr), fp_store(void), fp_divss(void), fp_addps(void);
void fp_addps_misaligned(void);
extern const uint8_t fp_divss_rip[], fp_addps_rip[], fp_addps_misaligned_rip[];
extern volatile uint32_t fp_out[8];

static void call(void *fn) { ((void (*)(void))fn)(); }

/* Load MXCSR and the operands, run fn, store XMM0 and MXCSR; expect the
 * vector (-1: none) at rip. */
static void expect(const char *name, uint32_t mxcsr, void (*fn)(void), int vec, const void *rip)
{
    char n[96];
    fp_load(mxcsr);
    int v = exc_run(call, (void *)fn);
    fp_store();
    check_eq(name, (uint64_t)(int64_t)v, (uint64_t)(int64_t)vec);
    if (vec >= 0) {
        fmt_snprintf(n, sizeof n, "%s.rip", name);
        check_eq(n, exc_last.f.rip, (uint64_t)rip);
    }
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    char n[96];
    (void)mb_magic;
    (void)mb_info;
    if (!(cpuid(1, 0).edx & (1u << 25))) {
        report_skip("ssefp", "CPUID.01H:EDX.SSE is clear");
        guest_finish();
    }
    /* SDM 3A "Initialization of the SSE Extensions" */
    write_cr0((read_cr0() & ~CR0_EM) | CR0_MP);
    write_cr4(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT);

    /* 1.0 / 0.0 with ZM clear: #XM, XMM0 still 1.0, ZE set */
    expect("xm.divss_zero_unmasked", 0x1d80, fp_divss, VEC_XM, fp_divss_rip);
    check_eq("xm.divss_zero_unmasked.xmm0", fp_out[0], 0x3f800000);
    check_eq("xm.divss_zero_unmasked.mxcsr", fp_out[4], 0x1d84);
    fmt_snprintf(n, sizeof n, "xm.divss_zero_unmasked.error_code");
    check_eq(n, exc_last.f.error, 0);

    /* the same with CR4.OSXMMEXCPT = 0: #UD */
    write_cr4(read_cr4() & ~CR4_OSXMMEXCPT);
    expect("xm.divss_zero_no_osxmmexcpt_ud", 0x1d80, fp_divss, VEC_UD, fp_divss_rip);
    check_eq("xm.divss_zero_no_osxmmexcpt_ud.xmm0", fp_out[0], 0x3f800000);
    check_eq("xm.divss_zero_no_osxmmexcpt_ud.mxcsr", fp_out[4], 0x1d84);
    write_cr4(read_cr4() | CR4_OSXMMEXCPT);

    /* masked: +infinity, ZE */
    expect("xm.divss_zero_masked", 0x1f80, fp_divss, -1, 0);
    check_eq("xm.divss_zero_masked.xmm0", fp_out[0], 0x7f800000);
    check_eq("xm.divss_zero_masked.mxcsr", fp_out[4], 0x1f84);

    /* ADDPS with every element exact: no flag */
    expect("xm.addps_exact", 0x1f80, fp_addps, -1, 0);
    check_eq("xm.addps_exact.xmm0", fp_out[0], 0x40000000);
    check_eq("xm.addps_exact.mxcsr", fp_out[4], 0x1f80);

    /* a misaligned 16-byte operand: #GP(0) (SDM 2A "ADDPS" Exceptions) */
    expect("xm.addps_misaligned_gp", 0x1f80, fp_addps_misaligned, VEC_GP, fp_addps_misaligned_rip);
    check_eq("xm.addps_misaligned_gp.error_code", exc_last.f.error, 0);

    /* CR0.TS = 1: #NM before anything else */
    write_cr0(read_cr0() | CR0_TS);
    int v = exc_run(call, (void *)fp_addps);
    __asm__ volatile("clts");
    check_eq("xm.addps_ts_nm", (uint64_t)(int64_t)v, VEC_NM);
    check_eq("xm.addps_ts_nm.rip", exc_last.f.rip, (uint64_t)fp_addps_rip);
    guest_finish();
}
