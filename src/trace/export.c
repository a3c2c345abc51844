/* `nvmx trace export --format perfetto`: the Chrome trace-event JSON format
 * (the "JSON Array/Object Format" that ui.perfetto.dev and chrome://tracing
 * open), written while the trace is read: memory is one open guest run per
 * level. Process 1 is the machine; its thread N is level N. */
#include "nvmx/trace_tools.h"

#include <jansson.h>
#include <string.h>

struct exporter {
    FILE *out;
    double per_us;
    bool first;               /* no event written yet (no comma before it) */
    bool level_named[TRACE_MAX_LEVELS];
    bool run_open[TRACE_MAX_LEVELS];
    uint64_t run_start[TRACE_MAX_LEVELS];
    uint64_t run_vmcs[TRACE_MAX_LEVELS];
    uint64_t last_cycles;
    struct trace_export_result *res;
};

static void sep(struct exporter *x)
{
    if (!x->first)
        fputs(",\n", x->out);
    x->first = false;
}

static void ts(struct exporter *x, const char *key, uint64_t cycles)
{
    fprintf(x->out, ",\"%s\":%.3f", key, (double)cycles / x->per_us);
}

/* A level's track: named "L<n>" and sorted by level, on first use. */
static void name_level(struct exporter *x, int lv)
{
    if (x->level_named[lv])
        return;
    x->level_named[lv] = true;
    sep(x);
    fprintf(x->out,
            "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":%d,\"args\":{\"name\":\"L%d\"}}",
            lv, lv);
    sep(x);
    fprintf(x->out,
            "{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":1,\"tid\":%d,"
            "\"args\":{\"sort_index\":%d}}",
            lv, lv);
}

static void json_str(struct exporter *x, const char *s)
{
    json_t *j = json_string(s ? s : "");
    if (j)
        json_dumpf(j, x->out, JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
    else
        fputs("\"?\"", x->out);
    json_decref(j);
}

static void slice(struct exporter *x, int lv, uint64_t end)
{
    uint64_t start = x->run_start[lv];
    sep(x);
    fprintf(x->out, "{\"name\":\"L%d guest\",\"cat\":\"guest\",\"ph\":\"X\",\"pid\":1,\"tid\":%d",
            lv, lv);
    ts(x, "ts", start);
    ts(x, "dur", end > start ? end - start : 0);
    fprintf(x->out, ",\"args\":{\"vmcs\":\"0x%llx\"}}", (unsigned long long)x->run_vmcs[lv]);
    x->run_open[lv] = false;
    x->res->slices++;
}

static void instant(struct exporter *x, int lv, uint64_t at, const char *name, const char *cat,
                    const struct trace_record *r)
{
    sep(x);
    fputs("{\"name\":", x->out);
    json_str(x, name);
    fprintf(x->out, ",\"cat\":\"%s\",\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":%d", cat, lv);
    ts(x, "ts", at);
    fputs(",\"args\":", x->out);
    fwrite(r->text, 1, r->text_len, x->out);
    fputc('}', x->out);
    x->res->instants++;
}

static bool on_header(void *ctx, const struct trace_record *r)
{
    struct exporter *x = ctx;
    /* The header goes into the top-level object's metadata, before the
     * event array. */
    fputs("{\"displayTimeUnit\":\"ns\",\"otherData\":", x->out);
    fwrite(r->text, 1, r->text_len, x->out);
    fputs(",\"traceEvents\":[\n", x->out);
    sep(x);
    json_t *img = json_object_get((json_t *)r->json, "image");
    fputs("{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"args\":{\"name\":", x->out);
    char name[300];
    snprintf(name, sizeof(name), "nvmx %s", json_is_string(img) ? json_string_value(img) : "");
    json_str(x, name);
    fputs("}}", x->out);
    return true;
}

static bool on_record(void *ctx, const struct trace_record *r)
{
    struct exporter *x = ctx;
    int lv = r->level >= 0 && r->level < TRACE_MAX_LEVELS ? r->level : 0;
    char name[96];
    if (x->first)
        return false; /* no header: nothing to attach events to */
    name_level(x, lv);
    x->last_cycles = r->cycles;
    switch (r->type) {
    case TRACE_EV_vmentry:
        if (!r->ok) {
            json_t *why = json_object_get((json_t *)r->json,
                                          r->reason ? "reason_name" : "error_name");
            snprintf(name, sizeof(name), "vmentry failed: %s",
                     json_is_string(why) ? json_string_value(why) : "?");
            instant(x, lv, r->cycles, name, "vmentry", r);
            break;
        }
        /* Schema 1: the entry's cost is charged after its stamp; the guest
         * runs from the end of the entry. */
        if (x->run_open[lv])
            slice(x, lv, r->cycles);
        x->run_open[lv] = true;
        x->run_start[lv] = r->cycles + r->cost;
        x->run_vmcs[lv] = r->vmcs;
        break;
    case TRACE_EV_vmexit: {
        /* The exit starts its cost before its stamp. */
        uint64_t start = r->cycles > r->cost ? r->cycles - r->cost : 0;
        if (x->run_open[lv])
            slice(x, lv, start);
        json_t *rn = json_object_get((json_t *)r->json, "reason_name");
        instant(x, lv, start, json_is_string(rn) ? json_string_value(rn) : "vmexit", "vmexit", r);
        break;
    }
    case TRACE_EV_vmfail: {
        json_t *insn = json_object_get((json_t *)r->json, "insn");
        json_t *en = json_object_get((json_t *)r->json, "error_name");
        snprintf(name, sizeof(name), "vmfail %s: %s",
                 json_is_string(insn) ? json_string_value(insn) : "?",
                 json_is_string(en) ? json_string_value(en) : "?");
        instant(x, lv, r->cycles, name, "vmfail", r);
        break;
    }
    case TRACE_EV_end: {
        /* the run's end: its cause on the level that was running */
        json_t *cause = json_object_get((json_t *)r->json, "cause");
        snprintf(name, sizeof(name), "end: %s",
                 json_is_string(cause) ? json_string_value(cause) : "?");
        instant(x, lv, r->cycles, name, "end", r);
        break;
    }
    default: instant(x, lv, r->cycles, r->event ? r->event : "?", "other", r); break;
    }
    return !ferror(x->out);
}

bool trace_export_perfetto(FILE *in, const char *name, FILE *out, double cycles_per_us,
                           FILE *diag, struct trace_export_result *res)
{
    memset(res, 0, sizeof(*res));
    struct exporter x = { .out = out, .per_us = cycles_per_us, .first = true, .res = res };
    struct trace_read_fns fns = { .header = on_header, .record = on_record };
    bool ok = trace_read_fns(in, name, &fns, &x, diag, &res->read);
    if (!x.first) {
        /* Guest runs still open when the trace ends (the run stopped in
         * the guest) end at the last stamp. */
        for (int lv = 0; lv < TRACE_MAX_LEVELS; lv++)
            if (x.run_open[lv])
                slice(&x, lv, x.last_cycles > x.run_start[lv] ? x.last_cycles : x.run_start[lv]);
        fputs("\n]}\n", out);
    }
    res->write_failed = ferror(out) != 0;
    return ok && !x.first && !res->write_failed;
}
