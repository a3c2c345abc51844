/* nvmx-bench: single-stepping under VMX. Runs guests/bench-step under `nvmx
 * run IMAGE --feature-control-locked --stats --cmdline "mode=M loops=N"`
 * for the monitor trap flag (a VM exit after every guest instruction) and
 * the VMX-preemption timer loaded with 1 at every entry (a VM exit every
 * few guest instructions). Reports the retired instructions (guest and
 * host handler, from --stats) per host CPU second of the child, the guest
 * instructions stepped per second, and the exits per second. */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define PASS_STATUS 1
#define GUEST_INSNS_PER_LOOP 3 /* ADD, DEC, JNZ */

struct step_mode {
    const char *name, *mode, *reason;
};
static const struct step_mode modes[] = {
    { "step_mtf", "mtf", "monitor_trap_flag" },
    { "step_preempt", "preempt", "preemption_timer" },
};

static bool parse_u64(const char *out, const char *key, unsigned long long *v)
{
    const char *p = strstr(out, key);
    return p && sscanf(p + strlen(key), "%llu", v) == 1;
}

static bool step_once(const char *nvmx, const char *image, const struct step_mode *m,
                      unsigned long long loops, double *secs, unsigned long long *insns,
                      unsigned long long *exits)
{
    char cmd[96];
    snprintf(cmd, sizeof cmd, "mode=%s loops=%llu", m->mode, loops);
    const char *argv[] = { nvmx, "run", image, "--feature-control-locked", "--stats",
                           "--cmdline", cmd, NULL };
    char *out = NULL;
    int status = bench_run_capture_cpu(argv, &out, secs);
    unsigned long long cycles = 0;
    bool ok = status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == PASS_STATUS && out &&
              parse_u64(out, "nvmx: stats: instructions retired", insns) &&
              bench_parse_exits(out, m->reason, exits, &cycles) && *exits > 0;
    if (!ok)
        fprintf(stderr, "nvmx-bench: %s: %s %s --cmdline '%s' failed (status %d); output:\n%s\n",
                m->name, nvmx, image, cmd,
                status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                out ? out : "(none)");
    free(out);
    return ok;
}

bool bench_step_vmx(const char *nvmx, const char *image, unsigned long long loops,
                    unsigned runs, const char *only)
{
    bool all_ok = true;
    for (unsigned i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        const struct step_mode *m = &modes[i];
        if (only && strcmp(only, m->name))
            continue;
        double mips[BENCH_MAX_RUNS], guest[BENCH_MAX_RUNS], eps[BENCH_MAX_RUNS];
        unsigned n = 0;
        for (unsigned r = 0; r < runs; r++) {
            double s = 0;
            unsigned long long insns = 0, exits = 0;
            if (!step_once(nvmx, image, m, loops, &s, &insns, &exits) || s <= 0) {
                all_ok = false;
                break;
            }
            mips[n] = (double)insns / s / 1e6;
            guest[n] = (double)loops * GUEST_INSNS_PER_LOOP / s / 1e6;
            eps[n] = (double)exits / s;
            n++;
        }
        if (!n)
            continue;
        printf("bench %s nvmx_mips=%.1f guest_mips=%.2f exits_per_sec=%.0f\n", m->name,
               bench_median(mips, n), bench_median(guest, n), bench_median(eps, n));
        fflush(stdout);
    }
    return all_ok;
}
