/* `nvmx trace stats`: VM exits per reason, in the shape of `perf kvm stat`'s
 * table. An exit's time runs from the start of the VM exit (its cycle stamp
 * minus its cost) to the completion of the next successful VM entry at the
 * same level: the exit, the handler and the re-entry, the round trip that
 * published exit latencies measure. */
#include "nvmx/trace.h"

#include <string.h>

void trace_stats_init(struct trace_stats *s) { memset(s, 0, sizeof(*s)); }

static void close_exit(struct trace_stats *s, int level, uint64_t end)
{
    struct trace_exit_stat *e = &s->exit[s->open_reason[level]];
    uint64_t t = end > s->open_start[level] ? end - s->open_start[level] : 0;
    if (!e->timed || t < e->min)
        e->min = t;
    if (t > e->max)
        e->max = t;
    e->timed++;
    e->time += t;
    s->total_time += t;
    s->open[level] = false;
}

bool trace_stats_add(void *ctx, const struct trace_record *r)
{
    struct trace_stats *s = ctx;
    int lv = r->level >= 0 && r->level < TRACE_MAX_LEVELS ? r->level : 0;
    switch (r->type) {
    case TRACE_EV_vmexit:
        if (r->reason > VMX_EXIT_MAX)
            break;
        s->exit[r->reason].samples++;
        s->exits++;
        /* An exit still open here was never re-entered: it stays untimed. */
        s->open[lv] = true;
        s->open_reason[lv] = r->reason;
        s->open_start[lv] = r->cycles > r->cost ? r->cycles - r->cost : 0;
        break;
    case TRACE_EV_vmentry:
        if (!r->ok) {
            s->failed_entries++;
            break;
        }
        s->entries++;
        if (r->launch)
            s->launches++;
        else
            s->resumes++;
        if (s->open[lv])
            close_exit(s, lv, r->cycles);
        break;
    case TRACE_EV_vmfail: s->vmfails++; break;
    default: break;
    }
    return true;
}

/* Most samples first; ties by reason number, so the order is stable. */
static bool before(const struct trace_stats *s, unsigned ra, unsigned rb)
{
    uint64_t sa = s->exit[ra].samples, sb = s->exit[rb].samples;
    return sa != sb ? sa > sb : ra < rb;
}

static double pct(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

void trace_stats_print(const struct trace_stats *s, FILE *out)
{
    unsigned order[VMX_EXIT_MAX + 1], n = 0;
    int width = 20;
    for (unsigned r = 0; r <= VMX_EXIT_MAX; r++) {
        if (!s->exit[r].samples)
            continue;
        order[n++] = r;
        int len = (int)strlen(vmx_exit_reason_name(r));
        if (len > width)
            width = len;
    }
    for (unsigned i = 1; i < n; i++) /* insertion sort: at most 81 reasons */
        for (unsigned j = i; j > 0 && before(s, order[j], order[j - 1]); j--) {
            unsigned t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }

    fprintf(out, "Analyze events for all VMs, all VCPUs:\n\n");
    fprintf(out, "%*s %10s %9s %9s %11s %11s %11s\n\n", width, "VM-EXIT", "Samples",
            "Samples%", "Time%", "Min cycles", "Max cycles", "Avg cycles");
    for (unsigned i = 0; i < n; i++) {
        const struct trace_exit_stat *e = &s->exit[order[i]];
        fprintf(out, "%*s %10llu %8.2f%% %8.2f%% ", width, vmx_exit_reason_name(order[i]),
                (unsigned long long)e->samples, pct(e->samples, s->exits),
                pct(e->time, s->total_time));
        if (e->timed)
            fprintf(out, "%11llu %11llu %11.2f\n", (unsigned long long)e->min,
                    (unsigned long long)e->max, (double)e->time / (double)e->timed);
        else
            fprintf(out, "%11s %11s %11s\n", "-", "-", "-");
    }
    fprintf(out, "\nTotal Samples:%llu, Total cycles:%llu.\n", (unsigned long long)s->exits,
            (unsigned long long)s->total_time);
    fprintf(out, "VM entries: %llu (%llu launch, %llu resume), failed entries: %llu, "
                 "vmfails: %llu\n",
            (unsigned long long)s->entries, (unsigned long long)s->launches,
            (unsigned long long)s->resumes, (unsigned long long)s->failed_entries,
            (unsigned long long)s->vmfails);
}
