/* nvmx-bench: EPT. Runs guests/bench-ept under `nvmx run --stats`:
 *  - ept_violation_exits: the guest writes to new pages, each write an EPT
 *    violation the host resolves with a 4-KiB EPT entry; exits per host
 *    second (whole run, as vmx_cpuid_exits) and modelled cycles per exit;
 *  - alu_ept, mem_ept: bench/loops.c's loop run by the image bare and by a
 *    guest under EPT, alternately in one nvmx-bench run; MIPS of each from
 *    --stats (instructions retired / host seconds of the run loop) and the
 *    ratio EPT / bare. Host time is for the report only. */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PASS_STATUS 1

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* nvmx run IMAGE --feature-control-locked --stats [--cmdline CMD]; false
 * (with nvmx's output on stderr) unless the guest passed. */
static bool run_image(const char *nvmx, const char *image, const char *cmd, char **out,
                      double *wall)
{
    const char *argv[] = { nvmx, "run", image, "--feature-control-locked", "--stats",
                           cmd ? "--cmdline" : NULL, cmd, NULL };
    double t0 = now_seconds();
    int status = bench_run_capture(argv, out);
    *wall = now_seconds() - t0;
    if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == PASS_STATUS && *out &&
        strstr(*out, "PASS: bench_ept_loop") && !strstr(*out, "FAIL:"))
        return true;
    fprintf(stderr, "nvmx-bench: %s %s %s: status %d; its output:\n%s\n", nvmx, image,
            cmd ? cmd : "", status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1,
            *out ? *out : "(none)");
    return false;
}

static bool stat_value(const char *out, const char *key, double *v)
{
    const char *p = strstr(out, key);
    return p && sscanf(p + strlen(key), "%lf", v) == 1;
}

static bool ept_violations(const char *nvmx, const char *image, unsigned long long loops,
                           unsigned runs)
{
    double per_sec[BENCH_MAX_RUNS], cyc = 0;

    if (access(image, R_OK) != 0) {
        fprintf(stderr, "nvmx-bench: ept_violation_exits: %s: not readable (build target "
                        "bench_ept_image)\n", image);
        return false;
    }
    for (unsigned r = 0; r < runs; r++) {
        char *out = NULL;
        double wall;
        unsigned long long exits = 0, cycles = 0;
        bool ok = run_image(nvmx, image, NULL, &out, &wall) &&
                  bench_parse_exits(out, "ept_violation", &exits, &cycles) && exits == loops;
        if (!ok) {
            fprintf(stderr, "nvmx-bench: ept_violation_exits: expected %llu EPT-violation exits "
                            "in --stats, got %llu\n", loops, exits);
            free(out);
            return false;
        }
        free(out);
        per_sec[r] = wall > 0 ? (double)exits / wall : 0.0;
        cyc = (double)cycles / (double)exits;
    }
    printf("bench ept_violation_exits exits_per_sec=%.0f modelled_cycles_per_exit=%.1f\n",
           bench_median(per_sec, runs), cyc);
    fflush(stdout);
    return true;
}

/* MIPS of one run of loop l (count iterations), bare or under EPT */
static bool loop_mips(const char *nvmx, const char *image, const struct bench_loop *l,
                      unsigned long count, bool ept, double *mips)
{
    char cmd[96], *out = NULL;
    double wall, insns = 0, secs = 0;

    snprintf(cmd, sizeof cmd, "loop=%s count=%lu ept=%d", l->name, count, ept ? 1 : 0);
    bool ok = run_image(nvmx, image, cmd, &out, &wall) &&
              stat_value(out, "nvmx: stats: instructions retired", &insns) &&
              stat_value(out, "nvmx: stats: host seconds", &secs) && secs > 0;
    free(out);
    if (ok)
        *mips = insns / secs / 1e6;
    return ok;
}

bool bench_ept(const char *nvmx, const char *image, unsigned long long loops, unsigned runs,
               double scale, const char *only)
{
    static const char *const names[] = { "alu", "mem" };

    if ((!only || !strcmp(only, "ept_violation_exits")) &&
        !ept_violations(nvmx, image, loops, runs))
        return false;
    for (unsigned i = 0; i < 2; i++) {
        char label[32];
        snprintf(label, sizeof label, "%s_ept", names[i]);
        if (only && strcmp(only, label))
            continue;
        const struct bench_loop *l = NULL;
        for (unsigned k = 0; k < bench_nloops; k++)
            if (!strcmp(bench_loops[k].name, names[i]))
                l = &bench_loops[k];
        uint32_t base;
        memcpy(&base, l->code + l->count_off, 4);
        unsigned long count = (unsigned long)(base * scale);
        if (count == 0)
            count = 1;
        double bare[BENCH_MAX_RUNS], ept[BENCH_MAX_RUNS];
        /* alternate bare and EPT so that a change in the host's speed
         * reaches both alike */
        for (unsigned r = 0; r < runs; r++)
            if (!loop_mips(nvmx, image, l, count, false, &bare[r]) ||
                !loop_mips(nvmx, image, l, count, true, &ept[r]))
                return false;
        double b = bench_median(bare, runs), e = bench_median(ept, runs);
        printf("bench %s bare_mips=%.1f ept_mips=%.1f ept/bare=%.3f\n", label, b, e,
               b > 0 ? e / b : 0.0);
        fflush(stdout);
    }
    return true;
}
