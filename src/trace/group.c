/* `nvmx trace stats --by`: VM exits grouped by reason, level, VMCS, I/O port
 * or MSR, in the shape of `perf kvm stat --event vmexit|ioport|msr`. An exit's
 * time runs from the start of the VM exit (its stamp minus its cost) to the
 * end of the next successful VM entry at its level or a deeper one: the
 * entry's stamp plus its cost, which is charged after the stamp (schema 1).
 * This is the definition of `nvmx run --stats` too (docs/cli.md).
 * Memory is bounded by TRACE_MAX_GROUPS rows, whatever the trace's length. */
#include "nvmx/trace_tools.h"
#include "trace_internal.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define NO_ROW (~0u)

bool trace_parse_format(const char *s, enum trace_out_format *out)
{
    static const char *const names[] = { "table", "json", "csv" };
    for (unsigned i = 0; i < 3; i++)
        if (!strcmp(s, names[i])) {
            *out = (enum trace_out_format)i;
            return true;
        }
    return false;
}

bool trace_groups_parse_by(const char *spec, enum trace_group_key *by, bool *by_level,
                           char *err, size_t errlen)
{
    static const char *const names[] = { [TRACE_BY_REASON] = "reason", [TRACE_BY_VMCS] = "vmcs",
                                         [TRACE_BY_PORT] = "port", [TRACE_BY_MSR] = "msr" };
    *by = TRACE_BY_NONE;
    *by_level = false;
    char buf[64];
    snprintf(buf, sizeof(buf), "%s", spec);
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (!strcmp(t, "level") && !*by_level) {
            *by_level = true;
            continue;
        }
        enum trace_group_key k = TRACE_BY_NONE;
        for (unsigned i = TRACE_BY_REASON; i <= TRACE_BY_MSR; i++)
            if (!strcmp(t, names[i]))
                k = (enum trace_group_key)i;
        if (k == TRACE_BY_NONE || *by != TRACE_BY_NONE) {
            snprintf(err, errlen,
                     "--by '%s': expected reason, level, vmcs, port or msr, optionally "
                     "combined with level (e.g. level,reason)",
                     spec);
            return false;
        }
        *by = k;
    }
    if (*by == TRACE_BY_NONE && !*by_level) {
        snprintf(err, errlen, "--by: empty");
        return false;
    }
    return true;
}

void trace_groups_init(struct trace_groups *g, enum trace_group_key by, bool by_level)
{
    memset(g, 0, sizeof(*g));
    g->by = by;
    g->by_level = by_level;
    g->other_row = NO_ROW;
    if (by_level && !(g->mul = trace_multiply_new()))
        g->oom = true;
}

void trace_groups_free(struct trace_groups *g)
{
    free(g->rows);
    free(g->index);
    trace_multiply_free(g->mul);
    g->mul = NULL;
    g->rows = NULL;
    g->index = NULL;
}

static uint32_t hash(int level, uint64_t key, uint32_t info)
{
    uint64_t h = key * 0x9e3779b97f4a7c15ull ^ ((uint64_t)(unsigned)level << 40) ^ info;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    return (uint32_t)(h ^ (h >> 32));
}

static bool same(const struct trace_group *r, int level, uint64_t key, uint32_t info)
{
    return !r->other && r->level == level && r->key == key && r->info == info;
}

static bool grow(struct trace_groups *g)
{
    uint32_t cap = g->cap ? g->cap * 2 : 64;
    struct trace_group *rows = realloc(g->rows, cap * sizeof(*rows));
    if (!rows)
        return false;
    g->rows = rows;
    uint32_t *index = malloc(2 * (size_t)cap * sizeof(*index));
    if (!index)
        return false;
    memset(index, 0xff, 2 * (size_t)cap * sizeof(*index));
    for (uint32_t i = 0; i < g->nrows; i++) {
        if (rows[i].other)
            continue;
        uint32_t s = hash(rows[i].level, rows[i].key, rows[i].info) & (2 * cap - 1);
        while (index[s] != NO_ROW)
            s = (s + 1) & (2 * cap - 1);
        index[s] = i;
    }
    free(g->index);
    g->index = index;
    g->cap = cap;
    return true;
}

static uint32_t new_row(struct trace_groups *g)
{
    if (g->nrows == g->cap && !grow(g)) {
        g->oom = true;
        return NO_ROW;
    }
    memset(&g->rows[g->nrows], 0, sizeof(g->rows[0]));
    return g->nrows++;
}

/* The row of a key, made on first use; the "(other)" row past the limit. */
static uint32_t row_of(struct trace_groups *g, int level, uint64_t key, uint32_t info)
{
    if (g->cap) {
        uint32_t mask = 2 * g->cap - 1;
        for (uint32_t s = hash(level, key, info) & mask; g->index[s] != NO_ROW; s = (s + 1) & mask)
            if (same(&g->rows[g->index[s]], level, key, info))
                return g->index[s];
    }
    if (g->nrows - (g->other_row != NO_ROW) >= TRACE_MAX_GROUPS) {
        if (g->other_row == NO_ROW && (g->other_row = new_row(g)) != NO_ROW) {
            g->rows[g->other_row].other = true;
            g->rows[g->other_row].level = -1;
        }
        return g->other_row;
    }
    if (g->nrows == g->cap && !grow(g)) {
        g->oom = true;
        return NO_ROW;
    }
    uint32_t i = new_row(g);
    if (i == NO_ROW)
        return NO_ROW;
    g->rows[i].level = level;
    g->rows[i].key = key;
    g->rows[i].info = info;
    uint32_t mask = 2 * g->cap - 1, s = hash(level, key, info) & mask;
    while (g->index[s] != NO_ROW)
        s = (s + 1) & mask;
    g->index[s] = i;
    return i;
}

/* The group key of an exit; false when this grouping does not count it. */
static bool exit_key(struct trace_groups *g, const struct trace_record *r, uint64_t *key,
                     uint32_t *info)
{
    *info = 0;
    switch (g->by) {
    case TRACE_BY_NONE: *key = 0; return true;
    case TRACE_BY_REASON: *key = r->reason; return true;
    case TRACE_BY_VMCS: *key = r->vmcs; return true;
    case TRACE_BY_PORT:
        /* SDM 3C "Exit Qualification for I/O Instructions": bit 3 direction
         * (1 = IN), bits 31:16 the port number. */
        if (r->reason != VMX_EXIT_io_instruction)
            return false;
        *key = (r->qual >> 16) & 0xffff;
        *info = (r->qual & 8) ? 0 : 1;
        return true;
    case TRACE_BY_MSR: {
        if (r->reason != VMX_EXIT_rdmsr && r->reason != VMX_EXIT_wrmsr)
            return false;
        /* The MSR is ECX at the exit (SDM 3C "Instructions That Cause VM
         * Exits Conditionally"); the exit qualification does not hold it,
         * and schema 1 does not record ECX: schema 2 writes it as the
         * "msr" key of RDMSR/WRMSR exits. */
        *info = r->reason == VMX_EXIT_wrmsr;
        json_t *m = r->json ? json_object_get((json_t *)r->json, "msr") : NULL;
        if (m && json_is_string(m) && trace_parse_hex(json_string_value(m), key))
            return true;
        g->msr_key_missing++;
        *key = 0;
        *info |= 2;
        return true;
    }
    }
    return false;
}

static void close_exit(struct trace_groups *g, int lv, uint64_t end)
{
    struct trace_exit_stat *e = &g->rows[g->open_row[lv]].st;
    uint64_t t = end > g->open_start[lv] ? end - g->open_start[lv] : 0;
    if (!e->timed || t < e->min)
        e->min = t;
    if (t > e->max)
        e->max = t;
    e->timed++;
    e->time += t;
    g->total_time += t;
    g->open[lv] = false;
}

static void count_other_event(struct trace_groups *g, const char *name)
{
    name = name ? name : "?";
    for (unsigned i = 0; i < g->nother_events; i++)
        if (!strncmp(g->other_events[i].name, name, sizeof(g->other_events[i].name) - 1)) {
            g->other_events[i].count++;
            return;
        }
    if (g->nother_events == TRACE_MAX_OTHER_EVENTS) {
        g->other_events_dropped++;
        return;
    }
    snprintf(g->other_events[g->nother_events].name, sizeof(g->other_events[0].name), "%s", name);
    g->other_events[g->nother_events++].count = 1;
}

bool trace_groups_add(void *ctx, const struct trace_record *r)
{
    struct trace_groups *g = ctx;
    int lv = r->level >= 0 && r->level < TRACE_MAX_LEVELS ? r->level : 0;
    if (g->mul)
        trace_multiply_add(g->mul, r);
    switch (r->type) {
    case TRACE_EV_vmexit: {
        g->all_exits++;
        /* An exit not re-entered before the next exit at its level stays
         * untimed, as in stats.c. */
        g->open[lv] = false;
        uint64_t key;
        uint32_t info;
        if (!exit_key(g, r, &key, &info))
            break;
        uint32_t row = row_of(g, g->by_level ? lv : -1, key, info);
        if (row == NO_ROW)
            return false;
        g->rows[row].st.samples++;
        g->exits++;
        g->open[lv] = true;
        g->open_row[lv] = row;
        g->open_start[lv] = r->cycles > r->cost ? r->cycles - r->cost : 0;
        break;
    }
    case TRACE_EV_vmentry:
        if (!r->ok) {
            g->failed_entries++;
            break;
        }
        g->entries++;
        if (r->launch)
            g->launches++;
        else
            g->resumes++;
        /* Entering level lv ends the handling of the open exits at lv and
         * at the levels below it: an L1 exit (its VMRESUME, say) is handled
         * once L0 enters L2, while an L2 exit reflected to L1 stays open
         * through L1's handler until L2 is entered again. */
        for (int l = 0; l <= lv; l++)
            if (g->open[l])
                close_exit(g, l, r->cycles + r->cost);
        break;
    case TRACE_EV_vmfail: g->vmfails++; break;
    case TRACE_EV_COUNT: count_other_event(g, r->event); break;
    default: {
        /* Nesting events by name; a reflect also by who handled the exit
         * (its "decision": l1 reflected, l0 handled and resumed). */
        json_t *d = r->json ? json_object_get((json_t *)r->json, "decision") : NULL;
        char name[40];
        if (r->type == TRACE_EV_reflect && json_is_string(d))
            snprintf(name, sizeof(name), "%s:%.8s", r->event, json_string_value(d));
        else
            snprintf(name, sizeof(name), "%s", r->event ? r->event : "?");
        count_other_event(g, name);
        break;
    }
    }
    return true;
}

void trace_group_label(const struct trace_groups *g, const struct trace_group *row, char *out,
                       size_t outlen)
{
    char lv[8] = "", key[48] = "";
    if (row->other) {
        snprintf(out, outlen, "(other)");
        return;
    }
    if (g->by_level)
        snprintf(lv, sizeof(lv), "L%d", row->level);
    switch (g->by) {
    case TRACE_BY_NONE: break;
    case TRACE_BY_REASON: snprintf(key, sizeof(key), "%s", vmx_exit_reason_name((unsigned)row->key)); break;
    case TRACE_BY_VMCS: snprintf(key, sizeof(key), "0x%llx", (unsigned long long)row->key); break;
    case TRACE_BY_PORT:
        snprintf(key, sizeof(key), "0x%llx:%s", (unsigned long long)row->key,
                 row->info ? "POUT" : "PIN");
        break;
    case TRACE_BY_MSR:
        if (row->info & 2)
            snprintf(key, sizeof(key), "?:%s", row->info & 1 ? "wrmsr" : "rdmsr");
        else
            snprintf(key, sizeof(key), "0x%llx:%s", (unsigned long long)row->key,
                     row->info & 1 ? "wrmsr" : "rdmsr");
        break;
    }
    snprintf(out, outlen, "%s%s%s", lv, lv[0] && key[0] ? " " : "", key);
}

/* Order: the sort key descending, then level, key and info ascending, so
 * the output is the same for the same trace. */
static const struct trace_groups *sort_g;
static enum trace_sort sort_by;

static int cmp_rows(const void *pa, const void *pb)
{
    const struct trace_group *a = &sort_g->rows[*(const uint32_t *)pa];
    const struct trace_group *b = &sort_g->rows[*(const uint32_t *)pb];
    uint64_t ka = sort_by == TRACE_SORT_TIME ? a->st.time : a->st.samples;
    uint64_t kb = sort_by == TRACE_SORT_TIME ? b->st.time : b->st.samples;
    if (ka != kb)
        return ka > kb ? -1 : 1;
    if (a->st.samples != b->st.samples)
        return a->st.samples > b->st.samples ? -1 : 1;
    /* Rows without a key ("(other)", an MSR not recorded) come last. */
    bool ua = a->other || (sort_g->by == TRACE_BY_MSR && (a->info & 2));
    bool ub = b->other || (sort_g->by == TRACE_BY_MSR && (b->info & 2));
    if (ua != ub)
        return ua ? 1 : -1;
    if (a->level != b->level)
        return a->level < b->level ? -1 : 1;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return a->info < b->info ? -1 : a->info > b->info;
}

static double pct(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static const char *column_title(const struct trace_groups *g)
{
    switch (g->by) {
    case TRACE_BY_REASON: return g->by_level ? "Level VM-EXIT" : "VM-EXIT";
    case TRACE_BY_VMCS: return g->by_level ? "Level VMCS" : "VMCS";
    case TRACE_BY_PORT: return g->by_level ? "Level IO Port Access" : "IO Port Access";
    case TRACE_BY_MSR: return g->by_level ? "Level MSR Access" : "MSR Access";
    case TRACE_BY_NONE: break;
    }
    return "Level";
}

static const char *key_name(const struct trace_groups *g)
{
    static const char *const names[] = { "level", "reason", "vmcs", "port", "msr" };
    return names[g->by];
}

static void print_table(const struct trace_groups *g, const uint32_t *order, FILE *out)
{
    char label[96];
    int width = 20;
    for (uint32_t i = 0; i < g->nrows; i++) {
        trace_group_label(g, &g->rows[i], label, sizeof(label));
        if ((int)strlen(label) > width)
            width = (int)strlen(label);
    }
    fprintf(out, "Analyze events for all VMs, all VCPUs:\n\n");
    fprintf(out, "%*s %10s %9s %9s %11s %11s %11s\n\n", width, column_title(g), "Samples",
            "Samples%", "Time%", "Min cycles", "Max cycles", "Avg cycles");
    for (uint32_t i = 0; i < g->nrows; i++) {
        const struct trace_group *row = &g->rows[order[i]];
        const struct trace_exit_stat *e = &row->st;
        trace_group_label(g, row, label, sizeof(label));
        fprintf(out, "%*s %10llu %8.2f%% %8.2f%% ", width, label, (unsigned long long)e->samples,
                pct(e->samples, g->exits), pct(e->time, g->total_time));
        if (e->timed)
            fprintf(out, "%11llu %11llu %11.2f\n", (unsigned long long)e->min,
                    (unsigned long long)e->max, (double)e->time / (double)e->timed);
        else
            fprintf(out, "%11s %11s %11s\n", "-", "-", "-");
    }
    fprintf(out, "\nTotal Samples:%llu, Total cycles:%llu.\n", (unsigned long long)g->exits,
            (unsigned long long)g->total_time);
    if (g->by == TRACE_BY_PORT || g->by == TRACE_BY_MSR)
        fprintf(out, "(%s exits only; all VM exits: %llu)\n",
                g->by == TRACE_BY_PORT ? "I/O-instruction" : "RDMSR/WRMSR",
                (unsigned long long)g->all_exits);
    if (g->msr_key_missing)
        fprintf(out, "note: %llu MSR exit%s without the MSR number: this trace does not "
                     "record ECX (schema 1 has no \"msr\" key), shown as '?'\n",
                (unsigned long long)g->msr_key_missing, g->msr_key_missing == 1 ? "" : "s");
    fprintf(out, "VM entries: %llu (%llu launch, %llu resume), failed entries: %llu, "
                 "vmfails: %llu\n",
            (unsigned long long)g->entries, (unsigned long long)g->launches,
            (unsigned long long)g->resumes, (unsigned long long)g->failed_entries,
            (unsigned long long)g->vmfails);
    if (g->nother_events) {
        fprintf(out, "Other events:");
        for (unsigned i = 0; i < g->nother_events; i++)
            fprintf(out, "%s %s %llu", i ? "," : "", g->other_events[i].name,
                    (unsigned long long)g->other_events[i].count);
        if (g->other_events_dropped)
            fprintf(out, ", more %llu", (unsigned long long)g->other_events_dropped);
        fputc('\n', out);
    }
    if (g->mul)
        trace_multiply_print(g->mul, out);
}

/* One row as a JSON object (also the fields of a CSV line). */
static json_t *row_json(const struct trace_groups *g, const struct trace_group *row)
{
    char label[96];
    const struct trace_exit_stat *e = &row->st;
    trace_group_label(g, row, label, sizeof(label));
    json_t *o = json_object();
    json_object_set_new(o, "group", json_string(label));
    if (g->by_level)
        json_object_set_new(o, "level", row->other ? json_null() : json_integer(row->level));
    if (g->by != TRACE_BY_NONE) {
        bool unknown = row->other || (g->by == TRACE_BY_MSR && (row->info & 2));
        json_object_set_new(o, key_name(g),
                            unknown ? json_null() : json_integer((json_int_t)row->key));
    }
    if (g->by == TRACE_BY_PORT || g->by == TRACE_BY_MSR)
        json_object_set_new(o, "direction",
                            json_string(g->by == TRACE_BY_PORT ? (row->info ? "out" : "in")
                                                               : (row->info & 1 ? "wrmsr" : "rdmsr")));
    json_object_set_new(o, "samples", json_integer((json_int_t)e->samples));
    json_object_set_new(o, "samples_pct", json_real(pct(e->samples, g->exits)));
    json_object_set_new(o, "time_pct", json_real(pct(e->time, g->total_time)));
    json_object_set_new(o, "timed", json_integer((json_int_t)e->timed));
    json_object_set_new(o, "cycles", json_integer((json_int_t)e->time));
    json_object_set_new(o, "min_cycles", e->timed ? json_integer((json_int_t)e->min) : json_null());
    json_object_set_new(o, "max_cycles", e->timed ? json_integer((json_int_t)e->max) : json_null());
    json_object_set_new(o, "avg_cycles",
                        e->timed ? json_real((double)e->time / (double)e->timed) : json_null());
    return o;
}

static void print_json(const struct trace_groups *g, const uint32_t *order, enum trace_sort sort,
                       FILE *out)
{
    json_t *o = json_object(), *rows = json_array();
    char by[32];
    snprintf(by, sizeof(by), "%s%s%s", g->by_level ? "level" : "",
             g->by_level && g->by != TRACE_BY_NONE ? "," : "",
             g->by != TRACE_BY_NONE ? key_name(g) : "");
    json_object_set_new(o, "by", json_string(by));
    json_object_set_new(o, "sort", json_string(sort == TRACE_SORT_TIME ? "time" : "count"));
    for (uint32_t i = 0; i < g->nrows; i++)
        json_array_append_new(rows, row_json(g, &g->rows[order[i]]));
    json_object_set_new(o, "rows", rows);
    json_object_set_new(o, "samples", json_integer((json_int_t)g->exits));
    json_object_set_new(o, "cycles", json_integer((json_int_t)g->total_time));
    json_object_set_new(o, "vm_exits", json_integer((json_int_t)g->all_exits));
    json_object_set_new(o, "msr_key_missing", json_integer((json_int_t)g->msr_key_missing));
    json_object_set_new(o, "entries", json_integer((json_int_t)g->entries));
    json_object_set_new(o, "launches", json_integer((json_int_t)g->launches));
    json_object_set_new(o, "resumes", json_integer((json_int_t)g->resumes));
    json_object_set_new(o, "failed_entries", json_integer((json_int_t)g->failed_entries));
    json_object_set_new(o, "vmfails", json_integer((json_int_t)g->vmfails));
    json_t *other = json_object();
    for (unsigned i = 0; i < g->nother_events; i++)
        json_object_set_new(other, g->other_events[i].name,
                            json_integer((json_int_t)g->other_events[i].count));
    json_object_set_new(o, "other_events", other);
    if (g->mul)
        json_object_set_new(o, "multiplication", trace_multiply_json(g->mul));
    json_dumpf(o, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
    fputc('\n', out);
    json_decref(o);
}

/* RFC 4180: labels hold no comma or quote, so no field needs quoting. */
static void print_csv(const struct trace_groups *g, const uint32_t *order, FILE *out)
{
    char label[96];
    fprintf(out, "group,%s%s%ssamples,samples_pct,time_pct,timed,cycles,min_cycles,max_cycles,"
                 "avg_cycles\n",
            g->by_level ? "level," : "", g->by != TRACE_BY_NONE ? key_name(g) : "",
            g->by != TRACE_BY_NONE ? "," : "");
    for (uint32_t i = 0; i < g->nrows; i++) {
        const struct trace_group *row = &g->rows[order[i]];
        const struct trace_exit_stat *e = &row->st;
        trace_group_label(g, row, label, sizeof(label));
        fprintf(out, "%s,", label);
        if (g->by_level) {
            if (!row->other)
                fprintf(out, "%d", row->level);
            fputc(',', out);
        }
        if (g->by != TRACE_BY_NONE) {
            if (!row->other && !(g->by == TRACE_BY_MSR && (row->info & 2)))
                fprintf(out, "%llu", (unsigned long long)row->key);
            fputc(',', out);
        }
        fprintf(out, "%llu,%.2f,%.2f,%llu,%llu,", (unsigned long long)e->samples,
                pct(e->samples, g->exits), pct(e->time, g->total_time),
                (unsigned long long)e->timed, (unsigned long long)e->time);
        if (e->timed)
            fprintf(out, "%llu,%llu,%.2f\n", (unsigned long long)e->min,
                    (unsigned long long)e->max, (double)e->time / (double)e->timed);
        else
            fprintf(out, ",,\n");
    }
}

void trace_groups_print(const struct trace_groups *g, enum trace_sort sort,
                        enum trace_out_format fmt, FILE *out)
{
    uint32_t *order = malloc((g->nrows ? g->nrows : 1) * sizeof(*order));
    if (!order)
        return;
    for (uint32_t i = 0; i < g->nrows; i++)
        order[i] = i;
    sort_g = g;
    sort_by = sort;
    qsort(order, g->nrows, sizeof(*order), cmp_rows);
    switch (fmt) {
    case TRACE_FMT_TABLE: print_table(g, order, out); break;
    case TRACE_FMT_JSON: print_json(g, order, sort, out); break;
    case TRACE_FMT_CSV: print_csv(g, order, out); break;
    }
    free(order);
}
