/* `nvmx trace stats --by level`: the exit multiplication and the level
 * annotations. An exit of the guest at level n starts an episode that lasts
 * until level n is entered again; every VM exit in between (at any level)
 * is one that exit caused -- the handler of each hypervisor between L0 and
 * L(n-1), and their own exits to L0. Averaged over the episodes of the
 * deepest level, that is how many exits at each level one exit at Ln
 * causes (docs/cli.md). Exits outside any episode of Ln (boot, set-up) are
 * not counted. Every level is followed as a possible Ln, so the trace is
 * read once. */
#include "nvmx/annotate.h"
#include "nvmx/trace_tools.h"
#include "trace_internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct trace_multiply *trace_multiply_new(void) { return calloc(1, sizeof(struct trace_multiply)); }

void trace_multiply_free(struct trace_multiply *m) { free(m); }

static uint64_t hex_key(const void *json, const char *key)
{
    json_t *v = json ? json_object_get((json_t *)json, key) : NULL;
    return json_is_string(v) ? strtoull(json_string_value(v), NULL, 16) : 0;
}

static void annotation(struct trace_multiply *m, const struct trace_record *r)
{
    if (hex_key(r->json, "rax") != NVMX_ANNOTATE_LEVEL)
        return;
    uint64_t claim = hex_key(r->json, "rbx");
    m->annotations++;
    if (claim == (uint64_t)r->level)
        return;
    if (!m->disagree++) {
        m->bad_line = r->line;
        m->bad_claim = claim;
        m->bad_level = r->level;
    }
}

void trace_multiply_add(struct trace_multiply *m, const struct trace_record *r)
{
    int lv = r->level;
    if (lv < 0 || lv >= TRACE_MAX_LEVELS)
        return;
    switch (r->type) {
    case TRACE_EV_vmexit:
        if (lv > m->deepest)
            m->deepest = lv;
        for (int n = 1; n <= m->deepest; n++)
            if (m->open[n])
                m->cur[n][lv]++;
        if (!m->open[lv]) {
            m->open[lv] = true;
            m->start[lv] = r->cycles > r->cost ? r->cycles - r->cost : 0;
            m->cur[lv][lv]++;
        }
        break;
    case TRACE_EV_vmentry:
        if (!r->ok || !m->open[lv])
            break;
        for (int k = 0; k < TRACE_MAX_LEVELS; k++) {
            m->sum[lv][k] += m->cur[lv][k];
            m->cur[lv][k] = 0;
        }
        m->episodes[lv]++;
        m->cycles[lv] += r->cycles + r->cost - m->start[lv];
        m->open[lv] = false;
        break;
    case TRACE_EV_annotate: annotation(m, r); break;
    default: break;
    }
}

/* The deepest level with a finished episode, or 0. */
static int innermost(const struct trace_multiply *m)
{
    for (int n = TRACE_MAX_LEVELS - 1; n > 0; n--)
        if (m->episodes[n])
            return n;
    return 0;
}

void trace_multiply_print(const struct trace_multiply *m, FILE *out)
{
    int n = innermost(m);
    if (n) {
        double e = (double)m->episodes[n], total = 0;
        fprintf(out, "\nExit multiplication: %llu exits at L%d; each causes, until L%d runs "
                     "again:\n",
                (unsigned long long)m->episodes[n], n, n);
        for (int k = 1; k <= n; k++) {
            char label[16];
            snprintf(label, sizeof(label), "L%d", k);
            fprintf(out, "%8s %10.2f exits\n", label, (double)m->sum[n][k] / e);
            total += (double)m->sum[n][k] / e;
        }
        fprintf(out, "%8s %10.2f exits to L0, %.0f cycles per L%d exit (exit to re-entry)\n",
                "total", total, (double)m->cycles[n] / e, n);
    }
    if (m->annotations)
        fprintf(out, "Level annotations: %llu, %llu disagree with the inferred level",
                (unsigned long long)m->annotations, (unsigned long long)m->disagree);
    if (m->disagree)
        fprintf(out, " (first: line %u, annotated %llu, inferred %d)", m->bad_line,
                (unsigned long long)m->bad_claim, m->bad_level);
    if (m->annotations)
        fputc('\n', out);
}

void *trace_multiply_json(const struct trace_multiply *m)
{
    json_t *o = json_object();
    int n = innermost(m);
    json_object_set_new(o, "level", n ? json_integer(n) : json_null());
    json_object_set_new(o, "exits", json_integer(n ? (json_int_t)m->episodes[n] : 0));
    json_t *per = json_array();
    for (int k = 1; k <= n; k++) {
        json_t *row = json_object();
        json_object_set_new(row, "level", json_integer(k));
        json_object_set_new(row, "exits", json_real((double)m->sum[n][k] / (double)m->episodes[n]));
        json_array_append_new(per, row);
    }
    json_object_set_new(o, "per_exit", per);
    json_object_set_new(o, "cycles_per_exit",
                        n ? json_real((double)m->cycles[n] / (double)m->episodes[n]) : json_null());
    json_object_set_new(o, "annotations", json_integer((json_int_t)m->annotations));
    json_object_set_new(o, "annotations_disagree", json_integer((json_int_t)m->disagree));
    return o;
}
