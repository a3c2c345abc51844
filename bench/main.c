/* nvmx-bench: each guest loop under nvmx, Unicorn, and Unicorn with a
 * counting code hook; prints MIPS per engine and the geometric mean of
 * nvmx / hooked Unicorn; then, when given the VMX bench image, the VMX exit
 * path (bench/vmx.c), and with the EPT bench image the EPT-violation loop
 * and the alu/mem loops with and without EPT (bench/ept.c). Usage:
 * docs/bench.md. */
#include "bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VMX_LOOP_NAME "vmx_cpuid_exits"
#define TRACE_LOOP_NAME "vmx_cpuid_exits_trace"

static bool is_step_vmx_name(const char *s)
{
    return s && (!strcmp(s, "step_mtf") || !strcmp(s, "step_preempt"));
}

static bool is_ept_name(const char *s)
{
    return s && (!strcmp(s, "ept_violation_exits") || !strcmp(s, "alu_ept") ||
                 !strcmp(s, "mem_ept"));
}

static double mips(uint64_t insns, double s) { return s > 0 ? insns / s / 1e6 : 0; }

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *v, unsigned n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void usage(void)
{
    fprintf(stderr, "usage: nvmx-bench [--scale F] [--runs N] [--loop NAME] "
                    "[--nvmx PATH --vmx-image IMAGE --vmx-loops N "
                    "[--ept-image IMAGE --ept-loops N] [--step-image IMAGE --step-loops N]]\n");
}

int main(int argc, char **argv)
{
    double scale = 1.0;
    const char *only = NULL, *nvmx = NULL, *vmx_image = NULL, *ept_image = NULL;
    const char *step_image = NULL;
    unsigned long long vmx_loops = 0, ept_loops = 0, step_loops = 0;
    long runs = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--scale") && i + 1 < argc)
            scale = atof(argv[++i]);
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--loop") && i + 1 < argc)
            only = argv[++i];
        else if (!strcmp(argv[i], "--nvmx") && i + 1 < argc)
            nvmx = argv[++i];
        else if (!strcmp(argv[i], "--vmx-image") && i + 1 < argc)
            vmx_image = argv[++i];
        else if (!strcmp(argv[i], "--vmx-loops") && i + 1 < argc)
            vmx_loops = strtoull(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--ept-image") && i + 1 < argc)
            ept_image = argv[++i];
        else if (!strcmp(argv[i], "--ept-loops") && i + 1 < argc)
            ept_loops = strtoull(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--step-image") && i + 1 < argc)
            step_image = argv[++i];
        else if (!strcmp(argv[i], "--step-loops") && i + 1 < argc)
            step_loops = strtoull(argv[++i], NULL, 0);
        else {
            usage();
            return 2;
        }
    }
    if (!(scale > 0) || scale > 100) {
        fprintf(stderr, "nvmx-bench: --scale must be in (0, 100]\n");
        return 2;
    }
    if (runs < 1 || runs > BENCH_MAX_RUNS) {
        fprintf(stderr, "nvmx-bench: --runs must be in [1, %d]\n", BENCH_MAX_RUNS);
        return 2;
    }
    if (runs > 1)
        fprintf(stderr, "nvmx-bench: medians of %ld runs per engine, engines interleaved\n",
                runs);
    if ((vmx_image || vmx_loops) && !(nvmx && vmx_image && vmx_loops)) {
        fprintf(stderr, "nvmx-bench: --nvmx, --vmx-image and --vmx-loops (> 0) go together\n");
        return 2;
    }
    if (only && (!strcmp(only, VMX_LOOP_NAME) || !strcmp(only, TRACE_LOOP_NAME)) && !vmx_image) {
        fprintf(stderr, "nvmx-bench: --loop %s needs --nvmx, --vmx-image and --vmx-loops\n",
                VMX_LOOP_NAME);
        return 2;
    }
    if ((ept_image || ept_loops) && !(nvmx && ept_image && ept_loops)) {
        fprintf(stderr, "nvmx-bench: --ept-image and --ept-loops (> 0) go together, with "
                        "--nvmx\n");
        return 2;
    }
    if ((step_image || step_loops) && !(nvmx && step_image && step_loops)) {
        fprintf(stderr, "nvmx-bench: --step-image and --step-loops (> 0) go together, with "
                        "--nvmx\n");
        return 2;
    }
    if (is_step_vmx_name(only) && !step_image) {
        fprintf(stderr, "nvmx-bench: --loop %s needs --nvmx, --step-image and --step-loops\n",
                only);
        return 2;
    }
    if (is_ept_name(only) && !ept_image) {
        fprintf(stderr, "nvmx-bench: --loop %s needs --nvmx, --ept-image and --ept-loops\n",
                only);
        return 2;
    }
    bool vmx_only = only && (!strcmp(only, VMX_LOOP_NAME) || !strcmp(only, TRACE_LOOP_NAME) ||
                             is_ept_name(only) || is_step_vmx_name(only));
    double logsum = 0;
    unsigned n = 0, bad = 0;
    for (unsigned i = 0; i < bench_nloops; i++) {
        const struct bench_loop *l = &bench_loops[i];
        if (vmx_only || (only && strcmp(only, l->name)))
            continue;
        uint8_t code[256];
        memcpy(code, l->code, l->len);
        uint32_t iters;
        memcpy(&iters, code + l->count_off, 4);
        iters = (uint32_t)(iters * scale) ? (uint32_t)(iters * scale) : 1;
        memcpy(code + l->count_off, &iters, 4);

        /* runs rounds of nvmx, Unicorn, hooked Unicorn, so that a change in
         * the host's speed reaches all three alike; the medians are kept */
        struct bench_result nv, uc, uh;
        double s_nv[BENCH_MAX_RUNS], s_uc[BENCH_MAX_RUNS], s_uh[BENCH_MAX_RUNS];
        bool ok_nv = true, ok_uc = true, ok_uh = true;
        for (long r = 0; r < runs; r++) {
            ok_nv = bench_nvmx(code, l->len, l->end_off, &l->dbg, &nv) && ok_nv;
            ok_uc = bench_unicorn(code, l->len, l->end_off, false, &uc) && ok_uc;
            ok_uh = bench_unicorn(code, l->len, l->end_off, true, &uh) && ok_uh;
            s_nv[r] = nv.seconds;
            s_uc[r] = uc.seconds;
            s_uh[r] = uh.seconds;
        }
        nv.seconds = bench_median(s_nv, (unsigned)runs);
        uc.seconds = bench_median(s_uc, (unsigned)runs);
        uh.seconds = bench_median(s_uh, (unsigned)runs);
        /* Both run the same architectural path (checked by the final
         * registers), so Unicorn's count is nvmx's retired-instruction count;
         * the hook count is larger where Unicorn re-executes an instruction
         * (a store into the running block, smc). Without nvmx, the hook's. */
        bool agree = ok_nv && ok_uc && ok_uh && nv.rax == uh.rax && nv.rbx == uh.rbx &&
                     uc.rax == uh.rax && uc.rbx == uh.rbx;
        uc.insns = uh.insns = ok_nv ? nv.insns : uh.insns;
        if (!agree) {
            fprintf(stderr,
                    "nvmx-bench: %s: engines disagree or failed (nvmx %s, %llu insns, "
                    "rax %#llx; unicorn %s, %llu insns, rax %#llx)\n",
                    l->name, ok_nv ? "ok" : "failed", (unsigned long long)nv.insns,
                    (unsigned long long)nv.rax, ok_uh ? "ok" : "failed",
                    (unsigned long long)uh.insns, (unsigned long long)uh.rax);
            bad++;
        }
        double a = mips(nv.insns, nv.seconds), b = mips(uc.insns, uc.seconds),
               c = mips(uh.insns, uh.seconds);
        printf("bench %s nvmx_mips=%.1f unicorn_mips=%.1f unicorn_hooked_mips=%.1f\n", l->name, a,
               b, c);
        fflush(stdout);
        if (a > 0 && c > 0) {
            logsum += log(a / c);
            n++;
        }
    }
    if (!vmx_only)
        printf("bench geomean nvmx/unicorn_hooked=%.3f\n", n ? exp(logsum / n) : 0.0);
    fflush(stdout);
    /* The VMX exit path: its own line, not part of the geometric mean. */
    if (vmx_image && (!only || !strcmp(only, VMX_LOOP_NAME)) &&
        !bench_vmx_exits(nvmx, vmx_image, vmx_loops, (unsigned)runs))
        bad++;
    /* the same with a full trace, plain and .zst (bench/trace.c) */
    if (vmx_image && (!only || !strcmp(only, VMX_LOOP_NAME) || !strcmp(only, TRACE_LOOP_NAME)) &&
        !bench_trace(nvmx, vmx_image, vmx_loops, (unsigned)runs))
        bad++;
    /* EPT: the violation loop, then alu and mem bare and under EPT */
    if (ept_image && (!only || is_ept_name(only)) &&
        !bench_ept(nvmx, ept_image, ept_loops, (unsigned)runs, scale, only))
        bad++;
    /* single-stepping under VMX: MTF and the preemption timer */
    if (step_image && (!only || is_step_vmx_name(only)) &&
        !bench_step_vmx(nvmx, step_image, (unsigned long long)(step_loops * scale) + 1,
                        (unsigned)runs, only))
        bad++;
    return bad ? 1 : 0;
}
