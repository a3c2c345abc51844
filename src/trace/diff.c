/* `nvmx trace diff A B`: the two traces walked in step, line by line. The
 * first line pair that differs (after the ignored keys are left out) is the
 * first divergence: it is shown with the equal lines before it and the keys
 * that differ. Both traces are then read to their end for the counts and
 * exit cycles per level and exit reason (the exit time of trace stats), so
 * a divergence is also put in numbers. Memory: the context lines and the
 * groups, never the traces. */
#include "nvmx/trace_tools.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define SHOW_MAX 400 /* characters of a line shown */

struct differ {
    const struct trace_diff_opts *o;
    FILE *out;
    char **ring; /* the last o->context equal lines of A */
    unsigned *ring_line;
    unsigned ring_n, ring_pos;
    char keys[1024]; /* the differing keys of the first divergence */
    size_t keys_len;
};

static bool ignored(const struct trace_diff_opts *o, const char *path, const char *key)
{
    for (unsigned i = 0; i < o->nignore; i++)
        if (strchr(o->ignore[i], '.') ? !strcmp(o->ignore[i], path) : !strcmp(o->ignore[i], key))
            return true;
    return false;
}

static void note_key(struct differ *d, const char *path, json_t *va, json_t *vb)
{
    char *sa = va ? json_dumps(va, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    char *sb = vb ? json_dumps(vb, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    size_t room = sizeof(d->keys) - d->keys_len;
    if (room > 1) {
        int n = snprintf(d->keys + d->keys_len, room, "%s%s (A %.200s, B %.200s)",
                         d->keys_len ? ", " : "", path, sa ? sa : "absent", sb ? sb : "absent");
        d->keys_len += n > 0 ? ((size_t)n < room ? (size_t)n : room - 1) : 0;
    }
    free(sa);
    free(sb);
}

/* Objects equal but for ignored keys; with note, each differing key is
 * noted (objects are compared key by key, any nesting). */
static bool equal(struct differ *d, json_t *a, json_t *b, const char *prefix, bool note)
{
    bool same = true;
    const char *k;
    json_t *va;
    char path[256];
    json_object_foreach(a, k, va) {
        snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", k);
        if (ignored(d->o, path, k))
            continue;
        json_t *vb = json_object_get(b, k);
        bool eq;
        if (vb && json_is_object(va) && json_is_object(vb))
            eq = equal(d, va, vb, path, note);
        else {
            eq = vb && json_equal(va, vb);
            if (!eq && note)
                note_key(d, path, va, vb);
        }
        same &= eq;
        if (!same && !note)
            return false;
    }
    json_object_foreach(b, k, va) {
        snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", k);
        if (ignored(d->o, path, k) || json_object_get(a, k))
            continue;
        same = false;
        if (!note)
            return false;
        note_key(d, path, NULL, va);
    }
    return same;
}

static void show(FILE *out, const char *mark, const char *name, const struct trace_record *r)
{
    fprintf(out, "%s %s:%u %.*s%s\n", mark, name, r->line,
            (int)(r->text_len < SHOW_MAX ? r->text_len : SHOW_MAX), r->text,
            r->text_len > SHOW_MAX ? " ..." : "");
}

static void remember(struct differ *d, const struct trace_record *r)
{
    if (!d->o->context)
        return;
    unsigned i = d->ring_pos;
    free(d->ring[i]);
    size_t n = r->text_len < SHOW_MAX ? r->text_len : SHOW_MAX;
    d->ring[i] = malloc(n + 1);
    if (d->ring[i]) {
        memcpy(d->ring[i], r->text, n);
        d->ring[i][n] = 0;
    }
    d->ring_line[i] = r->line;
    d->ring_pos = (i + 1) % d->o->context;
    if (d->ring_n < d->o->context)
        d->ring_n++;
}

static void show_context(struct differ *d, const char *aname)
{
    unsigned n = d->ring_n, c = d->o->context;
    for (unsigned k = 0; k < n; k++) {
        unsigned i = (d->ring_pos + c - n + k) % c;
        fprintf(d->out, "  %s:%u %s\n", aname, d->ring_line[i], d->ring[i] ? d->ring[i] : "");
    }
}

/* The per level and exit reason table: rows of A, then rows only B has. */
static const struct trace_group *find(const struct trace_groups *g, const struct trace_group *row)
{
    for (uint32_t i = 0; i < g->nrows; i++)
        if (g->rows[i].level == row->level && g->rows[i].key == row->key &&
            g->rows[i].other == row->other)
            return &g->rows[i];
    return NULL;
}

static int cmp_level_key(const void *pa, const void *pb)
{
    const struct trace_group *a = *(const struct trace_group *const *)pa;
    const struct trace_group *b = *(const struct trace_group *const *)pb;
    if (a->other != b->other)
        return a->other ? 1 : -1;
    if (a->level != b->level)
        return a->level < b->level ? -1 : 1;
    return a->key < b->key ? -1 : a->key > b->key;
}

static long long delta(uint64_t a, uint64_t b) { return (long long)b - (long long)a; }

static void print_groups(FILE *out, const struct trace_groups *ga, const struct trace_groups *gb)
{
    uint32_t n = 0;
    const struct trace_group **rows = malloc(((size_t)ga->nrows + gb->nrows + 1) * sizeof(*rows));
    if (!rows)
        return;
    for (uint32_t i = 0; i < ga->nrows; i++)
        rows[n++] = &ga->rows[i];
    for (uint32_t i = 0; i < gb->nrows; i++)
        if (!find(ga, &gb->rows[i]))
            rows[n++] = &gb->rows[i];
    qsort(rows, n, sizeof(*rows), cmp_level_key);
    fprintf(out, "\nVM exits per level and exit reason (cycles: exit to next entry):\n");
    fprintf(out, "%-5s %-22s %10s %10s %8s %12s %12s %12s\n", "level", "reason", "exits A",
            "exits B", "delta", "cycles A", "cycles B", "delta");
    static const struct trace_group none;
    for (uint32_t i = 0; i < n; i++) {
        const struct trace_group *a = find(ga, rows[i]), *b = find(gb, rows[i]);
        const struct trace_exit_stat *sa = a ? &a->st : &none.st, *sb = b ? &b->st : &none.st;
        char lv[8];
        snprintf(lv, sizeof(lv), "L%d", rows[i]->level);
        fprintf(out, "%-5s %-22s %10llu %10llu %+8lld %12llu %12llu %+12lld\n",
                rows[i]->other ? "-" : lv,
                rows[i]->other ? "(other)" : vmx_exit_reason_name((unsigned)rows[i]->key),
                (unsigned long long)sa->samples, (unsigned long long)sb->samples,
                delta(sa->samples, sb->samples), (unsigned long long)sa->time,
                (unsigned long long)sb->time, delta(sa->time, sb->time));
    }
    fprintf(out, "%-5s %-22s %10llu %10llu %+8lld %12llu %12llu %+12lld\n", "all", "",
            (unsigned long long)ga->exits, (unsigned long long)gb->exits,
            delta(ga->exits, gb->exits), (unsigned long long)ga->total_time,
            (unsigned long long)gb->total_time, delta(ga->total_time, gb->total_time));
    free(rows);
}

static void print_counts(FILE *out, const char *what, uint64_t a, uint64_t b)
{
    fprintf(out, "%-16s A %llu, B %llu (%+lld)\n", what, (unsigned long long)a,
            (unsigned long long)b, delta(a, b));
}

enum trace_diff_result trace_diff(FILE *fa, const char *aname, FILE *fb, const char *bname,
                                  const struct trace_diff_opts *o, FILE *out, FILE *diag)
{
    struct differ d = { .o = o, .out = out };
    struct trace_cursor *ca = trace_cursor_open(fa, aname, diag);
    struct trace_cursor *cb = trace_cursor_open(fb, bname, diag);
    struct trace_groups ga, gb;
    trace_groups_init(&ga, TRACE_BY_REASON, true);
    trace_groups_init(&gb, TRACE_BY_REASON, true);
    if (o->context) {
        d.ring = calloc(o->context, sizeof(*d.ring));
        d.ring_line = calloc(o->context, sizeof(*d.ring_line));
    }
    enum trace_diff_result res = TRACE_DIFF_BAD_INPUT;
    if (!ca || !cb || (o->context && (!d.ring || !d.ring_line))) {
        fprintf(diag, "nvmx trace diff: out of memory\n");
        goto out;
    }

    bool diverged = false, headers_differ = false, a_more = true, b_more = true;
    uint64_t na = 0, nb = 0, last_a = 0, last_b = 0;
    struct trace_record ra, rb;
    fprintf(out, "--- %s\n+++ %s\n", aname, bname);
    while (a_more || b_more) {
        a_more = a_more && trace_cursor_next(ca, &ra);
        b_more = b_more && trace_cursor_next(cb, &rb);
        bool a_hdr = a_more && !strcmp(ra.event, "header");
        bool b_hdr = b_more && !strcmp(rb.event, "header");
        if (a_more && !a_hdr) {
            na++;
            last_a = ra.cycles;
            ga.oom |= !trace_groups_add(&ga, &ra);
        }
        if (b_more && !b_hdr) {
            nb++;
            last_b = rb.cycles;
            gb.oom |= !trace_groups_add(&gb, &rb);
        }
        if (diverged || (!a_more && !b_more))
            continue;
        if (a_hdr && b_hdr) {
            d.keys_len = 0;
            d.keys[0] = 0;
            if (!equal(&d, (json_t *)ra.json, (json_t *)rb.json, "", true)) {
                headers_differ = true;
                fprintf(out, "headers differ: %s\n", d.keys);
            }
            continue;
        }
        if (a_more && b_more && equal(&d, (json_t *)ra.json, (json_t *)rb.json, "", false)) {
            remember(&d, &ra);
            continue;
        }
        diverged = true;
        uint64_t at = na > nb ? na : nb;
        fprintf(out, "first divergence at event %llu:\n", (unsigned long long)at);
        show_context(&d, aname);
        if (a_more)
            show(out, "-", aname, &ra);
        else
            fprintf(out, "- %s ends after %llu events\n", aname, (unsigned long long)na);
        if (b_more)
            show(out, "+", bname, &rb);
        else
            fprintf(out, "+ %s ends after %llu events\n", bname, (unsigned long long)nb);
        if (a_more && b_more) {
            d.keys_len = 0;
            d.keys[0] = 0;
            equal(&d, (json_t *)ra.json, (json_t *)rb.json, "", true);
            fprintf(out, "differing keys: %s\n", d.keys);
        }
    }
    const struct trace_read_result *resa = trace_cursor_result(ca), *resb = trace_cursor_result(cb);
    if (resa->errors || resb->errors) {
        if (resa->errors)
            fprintf(diag, "nvmx trace diff: '%s' is not a valid trace (%u problem%s)\n", aname,
                    resa->errors, resa->errors == 1 ? "" : "s");
        if (resb->errors)
            fprintf(diag, "nvmx trace diff: '%s' is not a valid trace (%u problem%s)\n", bname,
                    resb->errors, resb->errors == 1 ? "" : "s");
        goto out;
    }
    if (ga.oom || gb.oom) {
        fprintf(diag, "nvmx trace diff: out of memory\n");
        goto out;
    }
    print_counts(out, "events:", na, nb);
    print_counts(out, "VM exits:", ga.all_exits, gb.all_exits);
    print_counts(out, "VM entries:", ga.entries, gb.entries);
    print_counts(out, "failed entries:", ga.failed_entries, gb.failed_entries);
    print_counts(out, "vmfails:", ga.vmfails, gb.vmfails);
    print_counts(out, "last cycles:", last_a, last_b);
    print_groups(out, &ga, &gb);
    res = diverged || headers_differ ? TRACE_DIFF_DIFFER : TRACE_DIFF_SAME;
    fprintf(out, "%s\n", res == TRACE_DIFF_SAME ? "traces are the same" : "traces differ");
out:
    for (unsigned i = 0; d.ring && i < o->context; i++)
        free(d.ring[i]);
    free(d.ring);
    free(d.ring_line);
    trace_groups_free(&ga);
    trace_groups_free(&gb);
    trace_cursor_close(ca);
    trace_cursor_close(cb);
    return res;
}
