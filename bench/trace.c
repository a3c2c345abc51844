/* nvmx-bench: what a full trace costs. The CPUID-exit guest (guests/bench-vmx)
 * runs without --trace, with --trace FILE.jsonl and with --trace
 * FILE.jsonl.zst, in rounds of the three so that a change in the host's
 * speed reaches all alike; the same again with the image as L1 under the
 * built-in L0 (its guest's exits are L2 exits, each traced as several
 * events). Host time is the whole `nvmx run`, the writer thread included;
 * its CPU time (user + system, both threads) is printed too, since on a
 * busy host the wall time also measures the competition for the cores. */
#include "bench.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PASS_STATUS 1
#define MODES 3

static const char *const mode_name[MODES] = { "off", "jsonl", "zst" };
static const char *const trace_file[MODES] = { NULL, "bench-trace.jsonl", "bench-trace.jsonl.zst" };

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One run in one mode: its host seconds, CPU seconds and the trace's size. */
static bool run_mode(const char *nvmx, const char *image, bool l0, unsigned mode,
                     unsigned long long loops, double *secs, double *cpu, double *mbytes)
{
    const char *argv[12];
    unsigned n = 0;
    argv[n++] = nvmx;
    argv[n++] = "run";
    argv[n++] = image;
    argv[n++] = "--feature-control-locked";
    argv[n++] = "--stats";
    if (l0)
        argv[n++] = "--l0";
    if (trace_file[mode]) {
        argv[n++] = "--trace";
        argv[n++] = trace_file[mode];
    }
    argv[n] = NULL;
    char *out = NULL;
    double t0 = now_seconds();
    int status = bench_run_capture_cpu(argv, &out, cpu);
    *secs = now_seconds() - t0;
    unsigned long long exits = 0, cycles = 0;
    bool ok = status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == PASS_STATUS && out &&
              bench_parse_exits(out, "cpuid", &exits, &cycles) && exits >= loops;
    struct stat st;
    *mbytes = 0;
    if (ok && trace_file[mode]) {
        ok = stat(trace_file[mode], &st) == 0 && st.st_size > 0;
        *mbytes = ok ? (double)st.st_size / 1e6 : 0;
        remove(trace_file[mode]);
    }
    if (!ok)
        fprintf(stderr, "nvmx-bench: trace (%s%s): %s %s: expected exit status %d, %llu CPUID "
                        "exits and a trace; its output:\n%s\n",
                mode_name[mode], l0 ? ", --l0" : "", nvmx, image, PASS_STATUS, loops,
                out ? out : "(none)");
    free(out);
    return ok;
}

static bool trace_rows(const char *nvmx, const char *image, bool l0, unsigned long long loops,
                       unsigned runs, const char *row)
{
    double secs[MODES][BENCH_MAX_RUNS], cpu[MODES][BENCH_MAX_RUNS], mb[MODES] = { 0 };
    for (unsigned r = 0; r < runs; r++)
        for (unsigned m = 0; m < MODES; m++)
            if (!run_mode(nvmx, image, l0, m, loops, &secs[m][r], &cpu[m][r], &mb[m]))
                return false;
    double med[MODES], cmed[MODES];
    for (unsigned m = 0; m < MODES; m++) {
        med[m] = bench_median(secs[m], runs);
        cmed[m] = bench_median(cpu[m], runs);
    }
    printf("bench %s off_s=%.3f jsonl_s=%.3f zst_s=%.3f jsonl_ratio=%.3f zst_ratio=%.3f "
           "jsonl_mb=%.1f zst_mb=%.1f off_cpu_s=%.3f jsonl_cpu_ratio=%.3f zst_cpu_ratio=%.3f\n",
           row, med[0], med[1], med[2], med[0] > 0 ? med[1] / med[0] : 0.0,
           med[0] > 0 ? med[2] / med[0] : 0.0, mb[1], mb[2], cmed[0],
           cmed[0] > 0 ? cmed[1] / cmed[0] : 0.0, cmed[0] > 0 ? cmed[2] / cmed[0] : 0.0);
    fflush(stdout);
    return true;
}

bool bench_trace(const char *nvmx, const char *image, unsigned long long loops, unsigned runs)
{
    return trace_rows(nvmx, image, false, loops, runs, "vmx_cpuid_exits_trace") &&
           trace_rows(nvmx, image, true, loops, runs, "vmx_l2_cpuid_l0_trace");
}
