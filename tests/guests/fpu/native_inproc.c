/* The native comparison in one process (docs/fpu.md "Native comparison"):
 * each kernel of compute_kernel.S runs natively here, then its very bytes
 * (compute_kernels_start..end, constants included) are copied into an
 * nvmx machine in 64-bit mode whose CPU model advertises the instructions,
 * run there, and the two 4 KiB outputs must be equal byte for byte. A
 * kernel runs only once include/nvmx/cpu_vector_features.def says its
 * instructions are built (SSE2 integer SIMD: always), so the comparison
 * grows with the implementation; native.compute_compare does the same
 * through `nvmx run` on the shipped CPU model. */
#include "guests/fpu/native_dump.h"
#include "unit/harness.h"

#include <check.h>

extern const uint8_t compute_kernels_start[], compute_kernels_end[];

#define RAM_SIZE (8u << 20)
#define PML4 0x1000ull
#define GDT_BASE 0x5000ull
#define CODE 0x100000ull
#define STACK_TOP 0x280000ull
#define RETURN_STUB 0x300000ull
#define OUT 0x400000ull

enum { VF_FPU, VF_SSE, VF_SSE2 };
static bool built(unsigned which)
{
    static const struct { const char *name; bool impl; } vf[] = {
#define VECTOR_FEATURE(n, l, r, b, impl) { #n, impl },
#include "nvmx/cpu_vector_features.def"
#undef VECTOR_FEATURE
    };
    static const char *const names[] = { "FPU", "SSE", "SSE2" };
    for (unsigned i = 0; i < sizeof vf / sizeof vf[0]; i++)
        if (!strcmp(vf[i].name, names[which]))
            return vf[i].impl;
    return false;
}

static const struct kernel_case {
    const char *name;
    void (*fn)(uint8_t *);
    bool sse_fp, x87;
} kernels[] = {
    { "sse2_int", compute_kernel_sse2_int, false, false },
    { "sse_fp", compute_kernel_sse_fp, true, false },
    { "x87", compute_kernel_x87, false, true },
};

START_TEST(same_bytes_as_native)
{
    const struct kernel_case *k = &kernels[_i];
    if ((k->sse_fp && !(built(VF_SSE) && built(VF_SSE2))) || (k->x87 && !built(VF_FPU))) {
        printf("SKIP: %s: not built yet (include/nvmx/cpu_vector_features.def)\n", k->name);
        return;
    }
    static uint8_t native[NATIVE_OUT_SIZE] __attribute__((aligned(64)));
    memset(native, 0xa5, sizeof native);
    k->fn(native);

    struct cpu_model model;
    struct cost_model cost;
    th_model_init(&model, "native-compare");
    th_add_leaf(&model, 0, 1, 0x756e6547, 0x6c65746e, 0x49656e69);
    th_add_leaf(&model, 1, 0x50654, 0, 0, 1u | 1u << 24 | 1u << 25 | 1u << 26);
    struct machine *m = th_machine_create(RAM_SIZE, true);
    struct cpu *c = th_cpu_create(m, &model, &cost);
    cpu_power_on_reset(c);
    th_long_mode_2m(c, PML4, 4, false, GDT_BASE);
    c->cr0 = (c->cr0 & ~(CR0_EM | CR0_TS)) | CR0_MP | CR0_NE;
    c->cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT;
    c->stop_on_exception = true;

    size_t len = (size_t)(compute_kernels_end - compute_kernels_start);
    th_load(c, CODE, compute_kernels_start, len);
    TH_LOAD(c, RETURN_STUB, 0xeb, 0xfe);
    memset(m->ram + OUT, 0xa5, NATIVE_OUT_SIZE);
    c->gpr[7] = OUT;                 /* RDI */
    c->gpr[4] = STACK_TOP - 8;       /* RSP: the return address */
    cpu_write_phys(c, STACK_TOP - 8, 8, RETURN_STUB);
    th_start_at(c, CODE + (uint64_t)((const uint8_t *)k->fn - compute_kernels_start));
    enum cpu_stop s = cpu_run(c, 2000000);
    ck_assert_msg(s == CPU_STOP_INSN_LIMIT && c->rip == RETURN_STUB,
                  "%s: stopped with %d (exception %d) at 0x%llx", k->name, s, c->last_exception,
                  (unsigned long long)c->rip);
    for (unsigned i = 0; i < NATIVE_OUT_SIZE; i++)
        ck_assert_msg(m->ram[OUT + i] == native[i], "%s: byte %u: nvmx 0x%02x, native 0x%02x",
                      k->name, i, m->ram[OUT + i], native[i]);
    printf("PASS: %s: %u bytes identical to the native run\n", k->name, NATIVE_OUT_SIZE);
    cpu_destroy(c);
    machine_destroy(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("native");
    TCase *tc = tcase_create("compare");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, same_bytes_as_native, 0, sizeof kernels / sizeof kernels[0]);
    suite_add_tcase(s, tc);
    return th_run_suite(s);
}
