/* The trace reader: validates each line against docs/trace-schema.md and
 * hands the tools a struct trace_record per event. Bad input is reported as
 * "NAME:LINE: problem" and never stops the read; a truncated last line (a run
 * that died mid-write) is a warning and the prefix before it is used. An
 * event this reader does not know is a warning (once per name) and is passed
 * through, so tools keep working on traces of newer writers. */
#include "nvmx/trace.h"

#include <errno.h>
#include <jansson.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct reader {
    const char *name;
    FILE *diag;
    unsigned line;
    struct trace_read_result *res;
    bool header_seen;
    char unknown[8][32]; /* unknown event names already warned about */
    unsigned nunknown;
};

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void diag(struct reader *rd, bool warning, const char *fmt, ...)
{
    if (warning)
        rd->res->warnings++;
    else
        rd->res->errors++;
    if (!rd->diag || rd->res->errors + rd->res->warnings > TRACE_MAX_DIAGS)
        return;
    fprintf(rd->diag, "%s:%u: %s", rd->name, rd->line, warning ? "warning: " : "");
    va_list ap;
    va_start(ap, fmt);
    vfprintf(rd->diag, fmt, ap);
    va_end(ap);
    fputc('\n', rd->diag);
}

/* Field getters: each reports a missing key or a wrong type and returns
 * false. */
static json_t *get(struct reader *rd, json_t *o, const char *ev, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!v)
        diag(rd, false, "%s: missing key \"%s\"", ev, key);
    return v;
}

static bool get_uint(struct reader *rd, json_t *o, const char *ev, const char *key,
                     uint64_t max, uint64_t *out)
{
    json_t *v = get(rd, o, ev, key);
    if (!v)
        return false;
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        diag(rd, false, "%s: \"%s\" must be a non-negative integer", ev, key);
        return false;
    }
    if ((uint64_t)json_integer_value(v) > max) {
        diag(rd, false, "%s: \"%s\" is %lld, above %llu", ev, key,
             (long long)json_integer_value(v), (unsigned long long)max);
        return false;
    }
    *out = (uint64_t)json_integer_value(v);
    return true;
}

static bool is_hex(const char *s)
{
    if (s[0] != '0' || s[1] != 'x' || !s[2])
        return false;
    size_t n = strspn(s + 2, "0123456789abcdef");
    return n <= 16 && !s[2 + n];
}

static bool check_hex(struct reader *rd, json_t *o, const char *ev, const char *key,
                      bool optional)
{
    json_t *v = json_object_get(o, key);
    if (!v && optional)
        return true;
    if (!v)
        return get(rd, o, ev, key) != NULL;
    if (!json_is_string(v) || !is_hex(json_string_value(v))) {
        diag(rd, false, "%s: \"%s\" must be a hex string (\"0x...\")", ev, key);
        return false;
    }
    return true;
}

static bool check_string(struct reader *rd, json_t *o, const char *ev, const char *key,
                         bool nullable, bool optional)
{
    json_t *v = json_object_get(o, key);
    if (!v && optional)
        return true;
    if (!v)
        return get(rd, o, ev, key) != NULL;
    if (json_is_string(v) || (nullable && json_is_null(v)))
        return true;
    diag(rd, false, "%s: \"%s\" must be a string%s", ev, key, nullable ? " or null" : "");
    return false;
}

static bool get_bool(struct reader *rd, json_t *o, const char *ev, const char *key, bool *out)
{
    json_t *v = get(rd, o, ev, key);
    if (!v)
        return false;
    if (!json_is_boolean(v)) {
        diag(rd, false, "%s: \"%s\" must be true or false", ev, key);
        return false;
    }
    *out = json_is_true(v);
    return true;
}

static bool read_header(struct reader *rd, json_t *o)
{
    uint64_t schema;
    bool ok = get_uint(rd, o, "header", "schema", UINT32_MAX, &schema);
    if (ok && schema != TRACE_SCHEMA_VERSION) {
        diag(rd, false, "header: schema %llu is not supported (this nvmx reads schema %d)",
             (unsigned long long)schema, TRACE_SCHEMA_VERSION);
        ok = false;
    }
    ok &= check_string(rd, o, "header", "nvmx", true, false);
    ok &= check_string(rd, o, "header", "image", true, false);
    json_t *cfg = get(rd, o, "header", "config");
    if (cfg && !json_is_object(cfg)) {
        diag(rd, false, "header: \"config\" must be an object");
        ok = false;
    }
    return ok && cfg;
}

static bool read_common(struct reader *rd, json_t *o, const char *ev, struct trace_record *r)
{
    uint64_t level = 0, cycles = 0, insns = 0;
    bool ok = get_uint(rd, o, ev, "cycles", INT64_MAX, &cycles);
    ok &= get_uint(rd, o, ev, "insns", INT64_MAX, &insns);
    ok &= get_uint(rd, o, ev, "level", TRACE_MAX_LEVELS - 1, &level);
    ok &= check_hex(rd, o, ev, "vmcs", false);
    if (ok)
        trace_parse_hex(json_string_value(json_object_get(o, "vmcs")), &r->vmcs);
    r->cycles = cycles;
    r->insns = insns;
    r->level = (int)level;
    return ok;
}

static bool read_cost(struct reader *rd, json_t *o, const char *ev, struct trace_record *r)
{
    uint64_t cost = 0;
    bool ok = get_uint(rd, o, ev, "cost", UINT32_MAX, &cost);
    r->cost = (uint32_t)cost;
    return ok;
}

static bool read_reason(struct reader *rd, json_t *o, const char *ev, struct trace_record *r)
{
    uint64_t reason = 0;
    bool ok = get_uint(rd, o, ev, "reason", VMX_EXIT_MAX, &reason);
    ok &= check_string(rd, o, ev, "reason_name", false, false);
    ok &= check_hex(rd, o, ev, "exit_reason", true);
    ok &= check_hex(rd, o, ev, "qual", false);
    if (ok)
        trace_parse_hex(json_string_value(json_object_get(o, "qual")), &r->qual);
    r->reason = (uint32_t)reason;
    return ok;
}

static bool read_error(struct reader *rd, json_t *o, const char *ev, struct trace_record *r)
{
    uint64_t err = 0;
    bool ok = get_uint(rd, o, ev, "error", UINT32_MAX, &err);
    ok &= check_string(rd, o, ev, "error_name", false, false);
    r->error = (uint32_t)err;
    return ok;
}

static bool read_vmentry(struct reader *rd, json_t *o, struct trace_record *r)
{
    static const char ev[] = "vmentry";
    bool ok = read_common(rd, o, ev, r);
    json_t *kind = get(rd, o, ev, "kind");
    if (kind) {
        const char *k = json_is_string(kind) ? json_string_value(kind) : "";
        if (strcmp(k, "launch") && strcmp(k, "resume")) {
            diag(rd, false, "vmentry: \"kind\" must be \"launch\" or \"resume\"");
            ok = false;
        }
        r->launch = !strcmp(k, "launch");
    } else {
        ok = false;
    }
    if (!get_bool(rd, o, ev, "ok", &r->ok)) {
        ok = false;
    } else if (!r->ok) {
        if (json_object_get(o, "reason"))
            ok &= read_reason(rd, o, ev, r);
        else if (json_object_get(o, "error"))
            ok &= read_error(rd, o, ev, r);
        else {
            diag(rd, false, "vmentry: a failed entry needs \"error\" or \"reason\"");
            ok = false;
        }
        ok &= check_string(rd, o, ev, "check", true, false);
        ok &= check_string(rd, o, ev, "detail", false, false);
    }
    return read_cost(rd, o, ev, r) && ok;
}

static bool read_vmexit(struct reader *rd, json_t *o, struct trace_record *r)
{
    static const char ev[] = "vmexit";
    static const char *const hexes[] = { "guest_rip", "insn_info", "intr_info",
                                         "intr_error", "idt_info", "idt_error" };
    uint64_t len = 0;
    bool ok = read_common(rd, o, ev, r);
    ok &= read_reason(rd, o, ev, r);
    for (size_t i = 0; i < sizeof(hexes) / sizeof(hexes[0]); i++)
        ok &= check_hex(rd, o, ev, hexes[i], false);
    ok &= check_hex(rd, o, ev, "guest_linear", true);
    ok &= check_hex(rd, o, ev, "guest_physical", true);
    ok &= get_uint(rd, o, ev, "insn_len", 15, &len);
    ok &= check_string(rd, o, ev, "insn_bytes", false, true);
    ok &= check_string(rd, o, ev, "insn", true, true);
    return read_cost(rd, o, ev, r) && ok;
}

static bool read_vmfail(struct reader *rd, json_t *o, struct trace_record *r)
{
    bool ok = read_common(rd, o, "vmfail", r);
    ok &= check_string(rd, o, "vmfail", "insn", true, false);
    return read_error(rd, o, "vmfail", r) && ok;
}

/* src/nested's events (docs/trace-schema.md "Nested events"): the common
 * keys and each event's own. */
static bool check_fields(struct reader *rd, json_t *o, const char *ev, bool origin)
{
    json_t *a = json_object_get(o, "fields");
    if (!json_is_array(a)) {
        diag(rd, false, "%s: \"fields\" must be an array", ev);
        return false;
    }
    size_t i;
    json_t *e;
    bool ok = true;
    json_array_foreach(a, i, e) {
        if (!json_is_object(e)) {
            diag(rd, false, "%s: fields[%zu] must be an object", ev, i);
            return false;
        }
        ok &= check_string(rd, e, ev, "field", false, false);
        ok &= check_hex(rd, e, ev, "value", false);
        if (origin)
            ok &= check_string(rd, e, ev, "origin", true, false);
    }
    return ok;
}

static bool read_nested(struct reader *rd, json_t *o, const char *ev, struct trace_record *r)
{
    bool ok = read_common(rd, o, ev, r);
    if (r->type == TRACE_EV_emulate) {
        ok &= check_string(rd, o, ev, "insn", false, false);
        ok &= check_hex(rd, o, ev, "operand", true);
        ok &= check_string(rd, o, ev, "result", false, false);
        if (json_object_get(o, "error"))
            ok &= read_error(rd, o, ev, r);
    } else if (r->type == TRACE_EV_reflect) {
        ok &= read_reason(rd, o, ev, r);
        ok &= check_string(rd, o, ev, "decision", false, false);
        ok &= check_string(rd, o, ev, "rule", false, false);
    } else if (r->type == TRACE_EV_merge) {
        ok &= check_fields(rd, o, ev, true);
        ok &= read_cost(rd, o, ev, r);
    } else {
        ok &= check_fields(rd, o, ev, false);
    }
    return ok;
}

/* An event this reader does not know: warn once per name, and read the
 * common keys that are there (a key of the wrong type is still an error). */
static bool read_unknown(struct reader *rd, json_t *o, const char *ev, struct trace_record *r)
{
    bool seen = false;
    for (unsigned i = 0; i < rd->nunknown && !seen; i++)
        seen = !strncmp(rd->unknown[i], ev, sizeof(rd->unknown[i]) - 1);
    if (!seen) {
        diag(rd, true, "unknown event \"%.40s\" (a newer schema?): passed through", ev);
        if (rd->nunknown < sizeof(rd->unknown) / sizeof(rd->unknown[0]))
            snprintf(rd->unknown[rd->nunknown++], sizeof(rd->unknown[0]), "%s", ev);
    }
    r->type = TRACE_EV_COUNT;
    uint64_t v;
    bool ok = true;
    if (json_object_get(o, "cycles") && (ok &= get_uint(rd, o, ev, "cycles", INT64_MAX, &v)))
        r->cycles = v;
    if (json_object_get(o, "insns") && (ok &= get_uint(rd, o, ev, "insns", INT64_MAX, &v)))
        r->insns = v;
    if (json_object_get(o, "level") &&
        (ok &= get_uint(rd, o, ev, "level", TRACE_MAX_LEVELS - 1, &v)))
        r->level = (int)v;
    if (json_object_get(o, "vmcs") && (ok &= check_hex(rd, o, ev, "vmcs", false)))
        trace_parse_hex(json_string_value(json_object_get(o, "vmcs")), &r->vmcs);
    return ok;
}

/* One complete line (without its newline). Returns true and fills r for a
 * valid event line; false for the header and for bad lines. */
static bool read_line(struct reader *rd, const char *text, size_t len, struct trace_record *r)
{
    json_error_t je;
    memset(r, 0, sizeof(*r));
    r->line = rd->line;
    r->text = text;
    r->text_len = len;
    if (!len) {
        diag(rd, false, "empty line");
        return false;
    }
    json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!o) {
        diag(rd, false, "bad JSON at column %d: %s", je.column, je.text);
        return false;
    }
    bool ok = false;
    json_t *evj = json_object_get(o, "event");
    const char *ev = json_is_string(evj) ? json_string_value(evj) : NULL;
    r->event = ev;
    r->json = o;
    if (!json_is_object(o))
        diag(rd, false, "not a JSON object");
    else if (!evj)
        diag(rd, false, "missing key \"event\"");
    else if (!ev)
        diag(rd, false, "\"event\" must be a string");
    else if (!strcmp(ev, "header")) {
        if (rd->header_seen || rd->line != 1)
            diag(rd, false, "header: only the first line may be a header");
        else if (read_header(rd, o)) {
            rd->header_seen = true;
            r->type = TRACE_EV_COUNT;
            ok = true;
        }
    } else {
        if (rd->line == 1)
            diag(rd, false, "the first line must be the header, not \"%s\"", ev);
        if (!strcmp(ev, "vmentry")) {
            r->type = TRACE_EV_vmentry;
            ok = read_vmentry(rd, o, r);
        } else if (!strcmp(ev, "vmexit")) {
            r->type = TRACE_EV_vmexit;
            ok = read_vmexit(rd, o, r);
        } else if (!strcmp(ev, "vmfail")) {
            r->type = TRACE_EV_vmfail;
            ok = read_vmfail(rd, o, r);
        } else if (!strcmp(ev, "emulate") || !strcmp(ev, "reflect") || !strcmp(ev, "merge") ||
                   !strcmp(ev, "sync")) {
            r->type = !strcmp(ev, "emulate")   ? TRACE_EV_emulate
                      : !strcmp(ev, "reflect") ? TRACE_EV_reflect
                      : !strcmp(ev, "merge")   ? TRACE_EV_merge
                                               : TRACE_EV_sync;
            ok = read_nested(rd, o, ev, r);
        } else {
            ok = read_unknown(rd, o, ev, r);
        }
    }
    return ok;
}

/* A trace read one valid line at a time (the tools that walk two traces in
 * step pull lines; trace_read_fns pushes them). */
struct trace_cursor {
    struct reader rd;
    struct trace_read_result res;
    FILE *f;
    char *buf;
    size_t cap;
    json_t *last; /* the object handed out last, freed on the next call */
    bool done;
};

struct trace_cursor *trace_cursor_open(FILE *f, const char *name, FILE *diag_out)
{
    struct trace_cursor *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->f = f;
    c->rd = (struct reader){ .name = name, .diag = diag_out, .res = &c->res };
    return c;
}

/* The end of the read: read errors, an empty file, the count of problems
 * not shown. */
static void cursor_finish(struct trace_cursor *c)
{
    if (c->done)
        return;
    c->done = true;
    if (ferror(c->f)) {
        diag(&c->rd, false, "read error");
    } else if (!c->rd.line) {
        c->res.errors++;
        if (c->rd.diag)
            fprintf(c->rd.diag, "%s: empty trace (no header line)\n", c->rd.name);
    }
    unsigned shown = TRACE_MAX_DIAGS;
    if (c->rd.diag && c->res.errors + c->res.warnings > shown)
        fprintf(c->rd.diag, "%s: %u more problems not shown\n", c->rd.name,
                c->res.errors + c->res.warnings - shown);
}

bool trace_cursor_next(struct trace_cursor *c, struct trace_record *r)
{
    json_decref(c->last);
    c->last = NULL;
    ssize_t n;
    while (!c->done && (n = getline(&c->buf, &c->cap, c->f)) != -1) {
        c->rd.line++;
        c->res.lines++;
        size_t len = (size_t)n;
        bool complete = len && c->buf[len - 1] == '\n';
        if (complete)
            len--;
        if (!complete) {
            /* Only the last line can lack its newline: a run that stopped
             * while writing it. Use it if it is whole, else warn. */
            json_t *probe = json_loadb(c->buf, len, 0, NULL);
            if (!probe) {
                diag(&c->rd, true, "truncated last line (partial trace); ignored");
                if (c->rd.line == 1)
                    diag(&c->rd, false, "no complete header line");
                break;
            }
            json_decref(probe);
        }
        bool ok = read_line(&c->rd, c->buf, len, r);
        if (ok) {
            c->last = (json_t *)r->json;
            if (strcmp(r->event, "header"))
                c->res.records++;
            return true;
        }
        json_decref((json_t *)r->json);
    }
    cursor_finish(c);
    return false;
}

const struct trace_read_result *trace_cursor_result(const struct trace_cursor *c)
{
    return &c->res;
}

void trace_cursor_close(struct trace_cursor *c)
{
    if (!c)
        return;
    json_decref(c->last);
    free(c->buf);
    free(c);
}

bool trace_read(FILE *f, const char *name, trace_record_fn fn, void *ctx, FILE *diag_out,
                struct trace_read_result *res)
{
    struct trace_read_fns fns = { .record = fn };
    return trace_read_fns(f, name, &fns, ctx, diag_out, res);
}

bool trace_read_fns(FILE *f, const char *name, const struct trace_read_fns *fns, void *ctx,
                    FILE *diag_out, struct trace_read_result *res)
{
    struct trace_read_result local;
    if (!res)
        res = &local;
    memset(res, 0, sizeof(*res));
    struct trace_cursor *c = trace_cursor_open(f, name, diag_out);
    if (!c) {
        res->errors++;
        if (diag_out)
            fprintf(diag_out, "%s: out of memory\n", name);
        return false;
    }
    struct trace_record r;
    while (trace_cursor_next(c, &r)) {
        trace_record_fn fn = r.type == TRACE_EV_COUNT && !strcmp(r.event, "header")
                                 ? fns->header
                                 : fns->record;
        if (fn && !fn(ctx, &r))
            break;
    }
    cursor_finish(c);
    *res = c->res;
    trace_cursor_close(c);
    return res->errors == 0;
}

bool trace_parse_hex(const char *s, uint64_t *out)
{
    if (!s || !is_hex(s))
        return false;
    *out = strtoull(s + 2, NULL, 16);
    return true;
}

FILE *trace_open_read(const char *path, char *err, size_t errlen)
{
    if (!strcmp(path, "-"))
        return stdin;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    /* A directory opens but cannot be read: say so now. */
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "cannot read '%s': it is a directory", path);
        fclose(f);
        return NULL;
    }
    return f;
}

void trace_close_read(FILE *f)
{
    if (f && f != stdin)
        fclose(f);
}
