/* The native comparison, guest side (docs/fpu.md "Native comparison"): run
 * each compute kernel of compute_kernel.S whose instructions CPUID
 * enumerates and print its output (native_dump.h); the host program
 * native_host.c prints the same for the same code run natively, and
 * run-native-compare.sh compares the two. A kernel CPUID does not allow is
 * reported as SKIP. */
#include "console.h"
#include "native_dump.h"
#include "report.h"
#include "x86.h"

#define CR0_MP (1ull << 1)
#define CR0_EM (1ull << 2)
#define CR0_TS (1ull << 3)
#define CR0_NE (1ull << 5)
#define CR4_OSFXSR (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)

static uint8_t out[NATIVE_OUT_SIZE] __attribute__((aligned(64)));

static void run(const char *name, void (*kernel)(uint8_t *), bool allowed, const char *why)
{
    if (!allowed) {
        report_skip(name, why);
        return;
    }
    for (unsigned i = 0; i < sizeof out; i++)
        out[i] = 0xa5;
    kernel(out);
    native_dump(con_putc, name, out);
    report_pass(name);
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_magic;
    (void)mb_info;
    struct cpuid_regs id = cpuid(1, 0);
    bool fpu = id.edx & 1, sse = (id.edx >> 25) & 1, sse2 = (id.edx >> 26) & 1;
    write_cr0((read_cr0() & ~(CR0_EM | CR0_TS)) | CR0_MP | CR0_NE);
    if (sse)
        write_cr4(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT);
    run("sse2_int", compute_kernel_sse2_int, sse2,
        "CPUID.01H:EDX.SSE2[bit 26] is 0 (not advertised by this CPU model)");
    run("sse_fp", compute_kernel_sse_fp, sse && sse2,
        "CPUID.01H:EDX.SSE/SSE2 is 0 (not advertised by this CPU model)");
    run("x87", compute_kernel_x87, fpu,
        "CPUID.01H:EDX.FPU[bit 0] is 0 (not advertised by this CPU model)");
    guest_finish();
}
