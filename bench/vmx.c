/* nvmx-bench: the VMX exit path. Runs the CPUID-exit guest (guests/bench-vmx)
 * under `nvmx run IMAGE --feature-control-locked --stats`, times the run on
 * the host (for the report only; the guest never sees host time) and takes
 * the modelled cycles of the CPUID exit round trips from --stats. */
#include "bench.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define OUTPUT_MAX (1u << 20)
#define PASS_STATUS 1 /* debug-exit convention: guest wrote 0 -> (0 << 1) | 1 */

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int bench_run_capture(const char *const argv[], char **out)
{
    return bench_run_capture_cpu(argv, out, NULL);
}

int bench_run_capture_cpu(const char *const argv[], char **out, double *cpu_seconds)
{
    int fd[2];
    if (pipe(fd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(fd[1], STDOUT_FILENO);
        dup2(fd[1], STDERR_FILENO);
        close(fd[0]);
        close(fd[1]);
        execv(argv[0], (char *const *)argv);
        fprintf(stderr, "cannot execute %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(fd[1]);
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (buf && len + 1 >= cap && cap < OUTPUT_MAX) {
            char *nb = realloc(buf, cap * 2);
            if (nb) {
                buf = nb;
                cap *= 2;
            }
        }
        char sink[4096];
        bool keep = buf && len + 1 < cap;
        ssize_t n = read(fd[0], keep ? buf + len : sink, keep ? cap - 1 - len : sizeof sink);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (keep)
            len += (size_t)n;
    }
    close(fd[0]);
    if (buf)
        buf[len] = '\0';
    *out = buf;
    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0)
        if (errno != EINTR)
            return -1;
    if (cpu_seconds)
        *cpu_seconds = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    return status;
}

bool bench_parse_exits(const char *out, const char *reason, unsigned long long *exits,
                       unsigned long long *cycles)
{
    char key[64];
    snprintf(key, sizeof key, "nvmx: stats: VM exits %s ", reason);
    const char *p = strstr(out, key);
    if (!p)
        return false;
    return sscanf(p + strlen(key), "%llu (%llu cycles exit to entry)", exits, cycles) == 2;
}

/* One run: exits per host second and modelled cycles per exit. */
static bool vmx_run_once(const char *nvmx, const char *image, unsigned long long loops,
                         double *per_sec, double *cycles_per_exit)
{
    if (access(image, R_OK) != 0) {
        fprintf(stderr, "nvmx-bench: vmx_cpuid_exits: %s: %s (build target bench_vmx_image)\n",
                image, strerror(errno));
        return false;
    }
    char *out = NULL;
    const char *argv[] = { nvmx, "run", image, "--feature-control-locked", "--stats", NULL };
    double t0 = now_seconds();
    int status = bench_run_capture(argv, &out);
    double secs = now_seconds() - t0;
    unsigned long long exits = 0, cycles = 0;
    bool ok = status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == PASS_STATUS && out &&
              bench_parse_exits(out, "cpuid", &exits, &cycles) && exits == loops && exits > 0;
    if (!ok) {
        fprintf(stderr,
                "nvmx-bench: vmx_cpuid_exits: %s %s: expected exit status %d and %llu CPUID "
                "exits in --stats, got status %d and %llu exits; its output:\n%s\n",
                nvmx, image, PASS_STATUS, loops,
                status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1, exits,
                out ? out : "(none)");
        free(out);
        return false;
    }
    free(out);
    *per_sec = secs > 0 ? (double)exits / secs : 0.0;
    *cycles_per_exit = (double)cycles / (double)exits;
    return true;
}

/* The same image as L1 under the built-in L0 (`--l0 --l0-config
 * POLICY`): its guest's CPUID exits are L2 exits that L0 reflects to L1,
 * whose handler (interpreted) VMRESUMEs, which L0 emulates. One loop
 * iteration is one L2 CPUID round trip; its modelled cycles are the run's
 * total over the loops (the loop dominates the run). */
static bool l0_run_once(const char *nvmx, const char *image, const char *policy,
                        unsigned long long loops, double *per_sec, double *cycles_per_trip)
{
    char *out = NULL;
    const char *argv[] = { nvmx, "run", image, "--feature-control-locked", "--stats", "--l0",
                           "--l0-config", policy, NULL };
    double t0 = now_seconds();
    int status = bench_run_capture(argv, &out);
    double secs = now_seconds() - t0;
    unsigned long long exits = 0, cycles = 0, total = 0;
    const char *tc = out ? strstr(out, "nvmx: stats: modelled cycles") : NULL;
    bool ok = status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == PASS_STATUS && out &&
              bench_parse_exits(out, "cpuid", &exits, &cycles) && exits >= loops && loops > 0 &&
              tc && sscanf(tc, "nvmx: stats: modelled cycles %llu", &total) == 1;
    if (!ok) {
        fprintf(stderr, "nvmx-bench: vmx_l2_cpuid_l0_%s: %s %s --l0: expected exit status %d "
                        "and at least %llu CPUID exits; its output:\n%s\n",
                policy, nvmx, image, PASS_STATUS, loops, out ? out : "(none)");
        free(out);
        return false;
    }
    free(out);
    *per_sec = secs > 0 ? (double)loops / secs : 0.0;
    *cycles_per_trip = (double)total / (double)loops;
    return true;
}

static bool bench_l0_rows(const char *nvmx, const char *image, unsigned long long loops,
                          unsigned runs, double bare_per_sec)
{
    static const char *const policies[] = { "noshadow", "default" };
    static const char *const designs[] = { "none", "kvm" };
    for (unsigned p = 0; p < 2; p++) {
        double per_sec[BENCH_MAX_RUNS], cyc = 0;
        for (unsigned r = 0; r < runs; r++)
            if (!l0_run_once(nvmx, image, policies[p], loops, &per_sec[r], &cyc))
                return false;
        double med = bench_median(per_sec, runs);
        printf("bench vmx_l2_cpuid_l0_%s round_trips_per_sec=%.0f modelled_cycles_per_round_trip=%.1f "
               "host_time_vs_bare=%.2f\n",
               designs[p], med, cyc, med > 0 ? bare_per_sec / med : 0.0);
        fflush(stdout);
    }
    return true;
}

bool bench_vmx_exits(const char *nvmx, const char *image, unsigned long long loops,
                     unsigned runs)
{
    double per_sec[BENCH_MAX_RUNS], cyc = 0;
    for (unsigned r = 0; r < runs; r++)
        if (!vmx_run_once(nvmx, image, loops, &per_sec[r], &cyc))
            return false;
    /* the modelled cycles depend only on the image and the cost model */
    printf("bench vmx_cpuid_exits exits_per_sec=%.0f modelled_cycles_per_exit=%.1f\n",
           bench_median(per_sec, runs), cyc);
    fflush(stdout);
    return bench_l0_rows(nvmx, image, loops, runs, bench_median(per_sec, runs));
}
