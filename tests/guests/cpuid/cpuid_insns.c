/* Guest test: the instructions CPUID enumerates execute (SDM 2A "CPUID",
 * "RDTSCP", "INVPCID"). Run bare and as L1 under the built-in L0 with the
 * same result lines: L0 hides from L1's CPUID what L1 could not use in VMX
 * non-root operation, and enables what it can (docs/nested.md "L1's
 * CPUID"). A feature CPUID does not report is a SKIP line. */
#include "exc.h"
#include "report.h"
#include "x86.h"

#define VEC_UD 6
#define VEC_GP 13
#define MSR_IA32_TSC_AUX 0xc0000103u
#define TSC_AUX_MARK 0x5a17u

static const volatile struct exc_frame *F = &exc_last.f;
static uint32_t aux_seen;

static void op_rdtscp(void *unused)
{
    (void)unused;
    uint32_t lo, hi, aux;
    __asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
    aux_seen = aux;
}

/* INVPCID type 2 (all contexts, globals included) or an invalid type. */
static void op_invpcid(void *type)
{
    struct {
        uint64_t pcid, lin;
    } desc = { 0, 0 };
    __asm__ volatile("invpcid %0, %1" : : "m"(desc), "r"((uint64_t)(uintptr_t)type) : "memory");
}

static void check_ok(const char *name, int vec)
{
    if (vec < 0)
        report_pass(name);
    else
        report_fail(name, "exception %d at %#lx", vec, F->rip);
}

static void check_vec(const char *name, int got, int vec)
{
    if (got == vec)
        report_pass(name);
    else
        report_fail(name, "expected vector %d got %d", vec, got);
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_magic;
    (void)mb_info;
    if (cpuid(0x80000000u, 0).eax >= 0x80000001u && (cpuid(0x80000001u, 0).edx & (1u << 27))) {
        wrmsr(MSR_IA32_TSC_AUX, TSC_AUX_MARK);
        check_ok("rdtscp_executes", exc_run(op_rdtscp, 0));
        check_eq("rdtscp_ecx_tsc_aux", aux_seen, TSC_AUX_MARK);
    } else {
        report_skip("rdtscp", "CPUID.80000001H:EDX.RDTSCP[bit 27] is 0");
    }
    if (cpuid(0, 0).eax >= 7 && (cpuid(7, 0).ebx & (1u << 10))) {
        check_ok("invpcid_all_contexts_executes", exc_run(op_invpcid, (void *)2));
        /* "IF INVPCID_TYPE > 3 THEN #GP(0)" */
        check_vec("invpcid_bad_type_gp", exc_run(op_invpcid, (void *)4), VEC_GP);
    } else {
        report_skip("invpcid", "CPUID.(EAX=7,ECX=0):EBX.INVPCID[bit 10] is 0");
    }
    guest_finish();
}
