/* `nvmx trace diff A B`: the two traces aligned event by event. The first
 * line pair that differs (after the ignored keys are left out) is the first
 * divergence: it is shown with the equal lines before it and the keys that
 * differ. Alignment goes on past it: two events are "in step" when they are
 * the same event (name, level and exit reason, entry kind and result,
 * instruction, end cause), whatever their other keys; where they are not,
 * both traces are searched ahead (--window events) for the nearest pair of
 * positions from which they are in step again, and the events skipped are
 * "only in A" or "only in B". Events in step that differ only in their
 * timing (cycles, insns, cost: a trace shifted by an extra exit, or run
 * under another cost model) are counted; every other stretch that is not
 * the same is a divergence, reported with its counts. Both traces are read to their end
 * for the counts and exit cycles per level and exit reason (the exit time of
 * trace stats). Memory: the context lines, the window and the groups. */
#include "nvmx/trace_tools.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define SHOW_MAX 400  /* characters of a line shown */
#define CONFIRM 3     /* pairs in step that confirm a resynchronisation */
#define HUNK_LINES 3  /* lines of each side shown per divergence */
#define HUNKS_SHOWN 10

/* One event read ahead. */
struct ev {
    json_t *json; /* a reference of our own */
    char *text;   /* the line, cut at SHOW_MAX */
    unsigned line;
    uint64_t index; /* event number from 1 */
};

struct side {
    const char *name;
    struct trace_cursor *c;
    struct trace_groups *g;
    struct ev *q; /* ring of read-ahead events */
    unsigned head, n, cap;
    bool more;      /* the cursor may have more */
    uint64_t count, last_cycles;
};

/* The divergence being walked: a stretch of pairs that are not the same. */
struct hunk {
    bool open;
    uint64_t only_a, only_b, changed;
    char keys[256]; /* the keys of its first changed pair */
};

struct differ {
    const struct trace_diff_opts *o;
    FILE *out;
    char **ring; /* the last o->context equal lines of A */
    unsigned *ring_line;
    unsigned ring_n, ring_pos;
    char keys[1024]; /* the differing keys of the first divergence */
    size_t keys_len;
    bool stamps; /* equal(): also leave out the timing keys (cycles, insns, cost) */
    struct hunk h;
    uint64_t same, shifted, changed, only_a, only_b, hunks;
};

enum relation { REL_SAME, REL_STAMPS, REL_CHANGED, REL_OTHER };

static bool ignored(const struct differ *d, const char *path, const char *key)
{
    const struct trace_diff_opts *o = d->o;
    if (d->stamps && (!strcmp(path, "cycles") || !strcmp(path, "insns") || !strcmp(path, "cost")))
        return true;
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
        if (ignored(d, path, k))
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
        if (ignored(d, path, k) || json_object_get(a, k))
            continue;
        same = false;
        if (!note)
            return false;
        note_key(d, path, NULL, va);
    }
    return same;
}

static void remember(struct differ *d, const struct ev *e)
{
    if (!d->o->context)
        return;
    unsigned i = d->ring_pos;
    free(d->ring[i]);
    d->ring[i] = strdup(e->text);
    d->ring_line[i] = e->line;
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

/* ---- alignment ------------------------------------------------------------ */

/* Which event a line is, for alignment: its name and level and what kind of
 * event of that name it is. Two lines in step may differ in anything else. */
static bool same_event(json_t *a, json_t *b)
{
    static const char *const keys[] = { "event", "level", "reason", "kind", "ok", "insn",
                                        "decision", "cause" };
    for (unsigned i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        json_t *va = json_object_get(a, keys[i]), *vb = json_object_get(b, keys[i]);
        if ((va || vb) && !(va && vb && json_equal(va, vb)))
            return false;
    }
    return true;
}

static enum relation relate(struct differ *d, json_t *a, json_t *b)
{
    d->stamps = false;
    if (equal(d, a, b, "", false))
        return REL_SAME;
    if (!same_event(a, b))
        return REL_OTHER;
    d->stamps = true;
    bool stamps_only = equal(d, a, b, "", false);
    d->stamps = false;
    return stamps_only ? REL_STAMPS : REL_CHANGED;
}

static struct ev *at(struct side *s, unsigned i) { return &s->q[(s->head + i) % s->cap]; }

/* Read ahead until n events are queued or the trace ends; false when out
 * of memory. Every event read is counted and grouped here. */
static bool fill(struct side *s, unsigned n)
{
    while (s->n < n && s->more) {
        struct trace_record r;
        if (!(s->more = trace_cursor_next(s->c, &r)))
            break;
        if (!strcmp(r.event, "header"))
            continue; /* headers are compared before */
        s->count++;
        s->last_cycles = r.cycles;
        s->g->oom |= !trace_groups_add(s->g, &r);
        if (s->n == s->cap) {
            unsigned cap = s->cap ? 2 * s->cap : 16;
            struct ev *q = malloc(cap * sizeof(*q));
            if (!q)
                return false;
            for (unsigned i = 0; i < s->n; i++)
                q[i] = *at(s, i);
            free(s->q);
            s->q = q, s->cap = cap, s->head = 0;
        }
        struct ev *e = at(s, s->n);
        size_t len = r.text_len < SHOW_MAX ? r.text_len : SHOW_MAX;
        e->text = malloc(len + (r.text_len > SHOW_MAX ? 5 : 1));
        if (!e->text)
            return false;
        memcpy(e->text, r.text, len);
        strcpy(e->text + len, r.text_len > SHOW_MAX ? " ..." : "");
        e->json = json_incref((json_t *)r.json);
        e->line = r.line;
        e->index = s->count;
        s->n++;
    }
    return true;
}

static void pop(struct side *s)
{
    struct ev *e = at(s, 0);
    json_decref(e->json);
    free(e->text);
    s->head = (s->head + 1) % s->cap;
    s->n--;
}

/* The nearest positions (da, db), da + db smallest, from which A and B are
 * in step for CONFIRM pairs (or to both ends) within the window. */
static bool resync(struct differ *d, struct side *a, struct side *b, unsigned *da, unsigned *db)
{
    unsigned w = d->o->window;
    if (!fill(a, w + CONFIRM) || !fill(b, w + CONFIRM))
        return false;
    for (unsigned k = 1; k <= 2 * w; k++)
        for (unsigned i = 0; i <= k; i++) {
            unsigned j = k - i;
            if (i > w || j > w || i >= a->n || j >= b->n)
                continue;
            bool ok = true;
            for (unsigned c = 0; c < CONFIRM && ok; c++) {
                bool ha = i + c < a->n, hb = j + c < b->n;
                if (ha != hb)
                    ok = false;
                else if (!ha)
                    break;
                else
                    ok = same_event(at(a, i + c)->json, at(b, j + c)->json);
            }
            if (ok) {
                *da = i, *db = j;
                return true;
            }
        }
    return false;
}

static void hunk_start(struct differ *d, const struct side *a, const struct side *b)
{
    if (d->h.open)
        return;
    d->h = (struct hunk){ .open = true };
    d->hunks++;
    if (d->hunks > HUNKS_SHOWN)
        return;
    fprintf(d->out, "@@ divergence %llu at ", (unsigned long long)d->hunks);
    if (a->n)
        fprintf(d->out, "%s:%u", a->name, at((struct side *)a, 0)->line);
    else
        fprintf(d->out, "the end of %s", a->name);
    if (b->n)
        fprintf(d->out, ", %s:%u\n", b->name, at((struct side *)b, 0)->line);
    else
        fprintf(d->out, ", the end of %s\n", b->name);
}

static void show_ev(FILE *out, const char *mark, const char *name, const struct ev *e)
{
    fprintf(out, "  %s %s:%u %s\n", mark, name, e->line, e->text);
}

/* Close the divergence: where the traces are in step again (NULL: at the
 * end). */
static void hunk_close(struct differ *d, const char *an, const char *bn, const struct ev *ea,
                       const struct ev *eb)
{
    if (!d->h.open)
        return;
    d->h.open = false;
    if (d->hunks > HUNKS_SHOWN)
        return;
    fprintf(d->out, "  = %llu only in A, %llu only in B, %llu with other values%s%s%s; ",
            (unsigned long long)d->h.only_a, (unsigned long long)d->h.only_b,
            (unsigned long long)d->h.changed, d->h.keys[0] ? " (first: " : "",
            d->h.keys[0] ? d->h.keys : "", d->h.keys[0] ? ")" : "");
    if (ea && eb)
        fprintf(d->out, "in step again at %s:%u, %s:%u\n", an, ea->line, bn, eb->line);
    else
        fprintf(d->out, "to the end\n");
}

/* Events only one side has: shown (a few) and counted. */
static void skip(struct differ *d, struct side *s, unsigned n, bool is_a)
{
    for (unsigned i = 0; i < n; i++) {
        if (d->hunks <= HUNKS_SHOWN && i < HUNK_LINES)
            show_ev(d->out, is_a ? "-" : "+", s->name, at(s, 0));
        pop(s);
    }
    if (d->hunks <= HUNKS_SHOWN && n > HUNK_LINES)
        fprintf(d->out, "  %s ... %u more\n", is_a ? "-" : "+", n - HUNK_LINES);
    if (is_a)
        d->h.only_a += n, d->only_a += n;
    else
        d->h.only_b += n, d->only_b += n;
}

/* The rest of one trace after the other ended: counted, not kept. */
static bool drain(struct differ *d, struct side *s, bool is_a)
{
    uint64_t n = 0;
    while (s->n || s->more) {
        if (!s->n && !fill(s, 1))
            return false;
        if (!s->n)
            break;
        if (d->hunks <= HUNKS_SHOWN && n < HUNK_LINES)
            show_ev(d->out, is_a ? "-" : "+", s->name, at(s, 0));
        pop(s);
        n++;
    }
    if (d->hunks <= HUNKS_SHOWN && n > HUNK_LINES)
        fprintf(d->out, "  %s ... %llu more\n", is_a ? "-" : "+",
                (unsigned long long)(n - HUNK_LINES));
    if (is_a)
        d->h.only_a += n, d->only_a += n;
    else
        d->h.only_b += n, d->only_b += n;
    return true;
}

static void first_divergence(struct differ *d, struct side *a, struct side *b)
{
    const struct ev *ea = a->n ? at(a, 0) : NULL, *eb = b->n ? at(b, 0) : NULL;
    uint64_t n = ea && eb ? (ea->index > eb->index ? ea->index : eb->index)
                 : ea   ? ea->index
                        : eb->index;
    fprintf(d->out, "first divergence at event %llu:\n", (unsigned long long)n);
    show_context(d, a->name);
    if (ea)
        fprintf(d->out, "- %s:%u %s\n", a->name, ea->line, ea->text);
    else
        fprintf(d->out, "- %s ends after %llu events\n", a->name, (unsigned long long)a->count);
    if (eb)
        fprintf(d->out, "+ %s:%u %s\n", b->name, eb->line, eb->text);
    else
        fprintf(d->out, "+ %s ends after %llu events\n", b->name, (unsigned long long)b->count);
    if (ea && eb) {
        d->keys_len = 0;
        d->keys[0] = 0;
        equal(d, ea->json, eb->json, "", true);
        fprintf(d->out, "differing keys: %s\n", d->keys);
    }
}

/* Walk both traces in step to their ends. False when out of memory. */
static bool align(struct differ *d, struct side *a, struct side *b, bool *differ)
{
    bool first = true;
    for (;;) {
        if (!fill(a, 1) || !fill(b, 1))
            return false;
        if (!a->n && !b->n)
            break;
        enum relation rel = a->n && b->n ? relate(d, at(a, 0)->json, at(b, 0)->json) : REL_OTHER;
        if (rel != REL_SAME && first) {
            first = false;
            first_divergence(d, a, b);
            fprintf(d->out, "alignment (in step: the same event, level and reason, kind, "
                            "instruction or cause):\n");
        }
        if (rel != REL_SAME)
            *differ = true;
        if (rel == REL_SAME || rel == REL_STAMPS) {
            hunk_close(d, a->name, b->name, at(a, 0), at(b, 0));
            if (rel == REL_SAME) {
                d->same++;
                if (first)
                    remember(d, at(a, 0));
            } else {
                d->shifted++;
            }
            pop(a), pop(b);
            continue;
        }
        hunk_start(d, a, b);
        if (rel == REL_CHANGED) {
            if (!d->h.changed) {
                size_t keep = d->keys_len;
                char saved[sizeof(d->keys)];
                memcpy(saved, d->keys, sizeof(saved));
                d->keys_len = 0;
                d->keys[0] = 0;
                equal(d, at(a, 0)->json, at(b, 0)->json, "", true);
                snprintf(d->h.keys, sizeof(d->h.keys), "%.250s", d->keys);
                memcpy(d->keys, saved, sizeof(saved));
                d->keys_len = keep;
            }
            d->h.changed++, d->changed++;
            pop(a), pop(b);
            continue;
        }
        if (!a->n || !b->n) {
            if (!drain(d, a->n ? a : b, a->n != 0))
                return false;
            hunk_close(d, a->name, b->name, NULL, NULL);
            break;
        }
        unsigned da, db;
        if (!resync(d, a, b, &da, &db)) {
            if (d->hunks <= HUNKS_SHOWN)
                fprintf(d->out, "  not in step again within %u events: the rest is not "
                                "aligned\n", d->o->window);
            if (!drain(d, a, true) || !drain(d, b, false))
                return false;
            hunk_close(d, a->name, b->name, NULL, NULL);
            break;
        }
        skip(d, a, da, true);
        skip(d, b, db, false);
    }
    hunk_close(d, a->name, b->name, NULL, NULL);
    if (!first)
        fprintf(d->out, "in step: %llu the same, %llu other timing (cycles, insns, cost) only, %llu "
                        "other values; %llu only in A, %llu only in B; %llu divergence%s%s\n",
                (unsigned long long)d->same, (unsigned long long)d->shifted,
                (unsigned long long)d->changed, (unsigned long long)d->only_a,
                (unsigned long long)d->only_b, (unsigned long long)d->hunks,
                d->hunks == 1 ? "" : "s", d->hunks > HUNKS_SHOWN ? " (the first 10 shown)" : "");
    return true;
}

static void side_free(struct side *s)
{
    while (s->n)
        pop(s);
    free(s->q);
    trace_cursor_close(s->c);
}

enum trace_diff_result trace_diff(FILE *fa, const char *aname, FILE *fb, const char *bname,
                                  const struct trace_diff_opts *o, FILE *out, FILE *diag)
{
    struct differ d = { .o = o, .out = out };
    struct trace_groups ga, gb;
    trace_groups_init(&ga, TRACE_BY_REASON, true);
    trace_groups_init(&gb, TRACE_BY_REASON, true);
    struct side a = { .name = aname, .c = trace_cursor_open(fa, aname, diag), .g = &ga,
                      .more = true };
    struct side b = { .name = bname, .c = trace_cursor_open(fb, bname, diag), .g = &gb,
                      .more = true };
    if (o->context) {
        d.ring = calloc(o->context, sizeof(*d.ring));
        d.ring_line = calloc(o->context, sizeof(*d.ring_line));
    }
    enum trace_diff_result res = TRACE_DIFF_BAD_INPUT;
    if (!a.c || !b.c || (o->context && (!d.ring || !d.ring_line))) {
        fprintf(diag, "nvmx trace diff: out of memory\n");
        goto out;
    }

    fprintf(out, "--- %s\n+++ %s\n", aname, bname);
    /* the headers: the first line of each */
    struct trace_record ra, rb;
    bool headers_differ = false, differ = false;
    a.more = trace_cursor_next(a.c, &ra);
    b.more = trace_cursor_next(b.c, &rb);
    if (a.more && b.more && !strcmp(ra.event, "header") && !strcmp(rb.event, "header") &&
        !equal(&d, (json_t *)ra.json, (json_t *)rb.json, "", true)) {
        headers_differ = true;
        fprintf(out, "headers differ: %s\n", d.keys);
    }
    if (!align(&d, &a, &b, &differ)) {
        fprintf(diag, "nvmx trace diff: out of memory\n");
        goto out;
    }
    const struct trace_read_result *resa = trace_cursor_result(a.c), *resb = trace_cursor_result(b.c);
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
    print_counts(out, "events:", a.count, b.count);
    print_counts(out, "VM exits:", ga.all_exits, gb.all_exits);
    print_counts(out, "VM entries:", ga.entries, gb.entries);
    print_counts(out, "failed entries:", ga.failed_entries, gb.failed_entries);
    print_counts(out, "vmfails:", ga.vmfails, gb.vmfails);
    print_counts(out, "last cycles:", a.last_cycles, b.last_cycles);
    print_groups(out, &ga, &gb);
    res = differ || headers_differ ? TRACE_DIFF_DIFFER : TRACE_DIFF_SAME;
    fprintf(out, "%s\n", res == TRACE_DIFF_SAME ? "traces are the same" : "traces differ");
out:
    for (unsigned i = 0; d.ring && i < o->context; i++)
        free(d.ring[i]);
    free(d.ring);
    free(d.ring_line);
    side_free(&a);
    side_free(&b);
    trace_groups_free(&ga);
    trace_groups_free(&gb);
    return res;
}
