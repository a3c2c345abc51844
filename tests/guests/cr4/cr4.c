/* Guest test cr4: the CR4 bits that restrict instructions at CPL > 0 and
 * CR4's reserved bits. SDM 2B "RDTSC", "RDTSCP" (CR4.TSD), "RDPMC"
 * (CR4.PCE); SDM 3A "CR4" and "Control Registers": setting a bit the
 * processor does not enumerate is #GP(0). */
#include "console.h"
#include "exc.h"
#include "report.h"
#include "x86.h"

#define VEC_GP 13
#define CR4_TSD (1ull << 2)
#define CR4_PCE (1ull << 8)
#define CR4_LA57 (1ull << 12)
#define CR4_PKE (1ull << 22)

void u_rdtsc(uint64_t), u_rdtscp(uint64_t), u_rdpmc(uint64_t);
extern const uint8_t u_rdtsc_rip[], u_rdtscp_rip[], u_rdpmc_rip[];

/* fn at CPL 3: #GP(0) at rip, or (rip 0) back through INT 0x80 */
static void expect(const char *name, void (*fn)(uint64_t), const void *rip)
{
    char n[96];
    int v = exc_run_user(fn, 0, 0);
    if (!rip) {
        check_eq(name, (uint64_t)v, EXC_VEC_USER_RETURN);
        return;
    }
    if (!check_eq(name, (uint64_t)v, VEC_GP))
        return;
    fmt_snprintf(n, sizeof n, "%s.error_code", name);
    check_eq(n, exc_last.f.error, 0);
    fmt_snprintf(n, sizeof n, "%s.rip", name);
    check_eq(n, exc_last.f.rip, (uint64_t)rip);
}

static void rdtsc_cpl0(void *arg)
{
    (void)arg;
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
}

static void test_tsd(void)
{
    uint64_t cr4 = read_cr4();
    bool rdtscp = (cpuid(0x80000001u, 0).edx >> 27) & 1;
    write_cr4(cr4 & ~CR4_TSD);
    expect("cr4.tsd_clear_rdtsc_cpl3", u_rdtsc, 0);
    if (rdtscp)
        expect("cr4.tsd_clear_rdtscp_cpl3", u_rdtscp, 0);
    write_cr4(cr4 | CR4_TSD);
    expect("cr4.tsd_rdtsc_cpl3_gp", u_rdtsc, u_rdtsc_rip);
    if (rdtscp)
        expect("cr4.tsd_rdtscp_cpl3_gp", u_rdtscp, u_rdtscp_rip);
    else
        report_skip("cr4.tsd_rdtscp_cpl3_gp", "CPUID.80000001H:EDX.RDTSCP is 0");
    check_eq("cr4.tsd_rdtsc_cpl0", (uint64_t)exc_run(rdtsc_cpl0, 0), (uint64_t)-1);
    write_cr4(cr4);
}

/* RDPMC at CPL 3 with CR4.PCE = 0 is #GP(0) whatever the counter. */
static void test_pce(void)
{
    uint64_t cr4 = read_cr4();
    write_cr4(cr4 & ~CR4_PCE);
    expect("cr4.pce_clear_rdpmc_cpl3_gp", u_rdpmc, u_rdpmc_rip);
    write_cr4(cr4);
}

/* Bits the model does not enumerate: LA57 (CPUID.07H:ECX[16]) and PKE
 * (CPUID.07H:ECX[3]). */
static uint64_t cr4_bit;
static void set_cr4_bit(void *arg)
{
    (void)arg;
    write_cr4(read_cr4() | cr4_bit);
}

static void test_reserved(void)
{
    struct cpuid_regs l7 = cpuid(0, 0).eax >= 7 ? cpuid(7, 0) : (struct cpuid_regs){ 0, 0, 0, 0 };
    static const struct { const char *name; uint64_t bit; unsigned ecx_bit; } bits[] = {
        { "cr4.la57_not_enumerated_gp", CR4_LA57, 16 },
        { "cr4.pke_not_enumerated_gp", CR4_PKE, 3 },
    };
    for (unsigned i = 0; i < 2; i++) {
        if ((l7.ecx >> bits[i].ecx_bit) & 1) {
            report_skip(bits[i].name, "the model enumerates it");
            continue;
        }
        cr4_bit = bits[i].bit;
        check_eq(bits[i].name, (uint64_t)exc_run(set_cr4_bit, 0), VEC_GP);
    }
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_magic;
    (void)mb_info;
    test_tsd();
    test_pce();
    test_reserved();
    guest_finish();
}
