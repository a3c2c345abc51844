/* The trace reader: validates each line against docs/trace-schema.md and
 * hands the tools a struct trace_record per event. Bad input is reported as
 * "NAME:LINE: problem" and never stops the read; a truncated last line (a run
 * that died mid-write) is a warning and the prefix before it is used. An
 * event this reader does not know is a warning (once per name) and is passed
 * through, so tools keep working on traces of newer writers. */
#include "trace_internal.h"

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
    if (ok && (schema < TRACE_SCHEMA_OLDEST || schema > TRACE_SCHEMA_VERSION)) {
        diag(rd, false, "header: schema %llu is not supported (this nvmx reads schema %d-%d)",
             (unsigned long long)schema, TRACE_SCHEMA_OLDEST, TRACE_SCHEMA_VERSION);
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

/* A WRITES key: [{"field": string, "value": hex[, "origin": string or
 * null]}, ...] (docs/trace-schema.md, merge and sync). */
static bool check_writes(struct reader *rd, json_t *o, const char *ev, const char *key,
                         bool origin)
{
    json_t *a = json_object_get(o, key);
    if (!json_is_array(a)) {
        diag(rd, false, "%s: \"%s\" must be an array", ev, key);
        return false;
    }
    size_t i;
    json_t *e;
    bool ok = true;
    json_array_foreach(a, i, e) {
        if (!json_is_object(e)) {
            diag(rd, false, "%s: %s[%zu] must be an object", ev, key, i);
            return false;
        }
        ok &= check_string(rd, e, ev, "field", false, false);
        ok &= check_hex(rd, e, ev, "value", false);
        if (origin)
            ok &= check_string(rd, e, ev, "origin", true, false);
    }
    return ok;
}

/* Check one key against its row's type; a number (or a hex string's value)
 * is stored in *num. A missing key is reported only when required. */
static bool check_row(struct reader *rd, json_t *o, const char *ev, const struct trace_row *row,
                      bool required, uint64_t *num)
{
    const char *key = row->key;
    json_t *v = json_object_get(o, key);
    if (!v) {
        if (required)
            diag(rd, false, "%s: missing key \"%s\"", ev, key);
        return !required;
    }
    switch (row->type) {
    case TRACE_T_INT: return get_uint(rd, o, ev, key, INT64_MAX, num);
    case TRACE_T_U32: return get_uint(rd, o, ev, key, UINT32_MAX, num);
    case TRACE_T_LEVEL: return get_uint(rd, o, ev, key, TRACE_MAX_LEVELS - 1, num);
    case TRACE_T_LEN: return get_uint(rd, o, ev, key, 15, num);
    case TRACE_T_REASON: return get_uint(rd, o, ev, key, VMX_EXIT_MAX, num);
    case TRACE_T_WRITES: return check_writes(rd, o, ev, key, false);
    case TRACE_T_WRITES_ORIGIN: return check_writes(rd, o, ev, key, true);
    case TRACE_T_HEX:
    case TRACE_T_OPT_HEX:
    case TRACE_T_EXIT_REASON:
        if (!check_hex(rd, o, ev, key, false))
            return false;
        trace_parse_hex(json_string_value(v), num);
        return true;
    case TRACE_T_BOOL: {
        bool b = false;
        bool ok = get_bool(rd, o, ev, key, &b);
        *num = b;
        return ok;
    }
    case TRACE_T_STRN:
    case TRACE_T_DISASM: return check_string(rd, o, ev, key, true, false);
    case TRACE_T_STR:
    case TRACE_T_TEXT:
    case TRACE_T_CODE:
    case TRACE_T_REASON_NAME:
    case TRACE_T_ERROR_NAME:
    case TRACE_T_ERROR_TEXT: return check_string(rd, o, ev, key, false, false);
    }
    return true;
}

/* The values the tools use, by key. */
static void keep(struct trace_record *r, const char *key, uint64_t v)
{
    if (!strcmp(key, "cycles"))
        r->cycles = v;
    else if (!strcmp(key, "insns"))
        r->insns = v;
    else if (!strcmp(key, "level"))
        r->level = (int)v;
    else if (!strcmp(key, "vmcs"))
        r->vmcs = v;
    else if (!strcmp(key, "cost"))
        r->cost = (uint32_t)v;
    else if (!strcmp(key, "ok"))
        r->ok = v != 0;
    else if (!strcmp(key, "reason"))
        r->reason = (uint32_t)v;
    else if (!strcmp(key, "qual"))
        r->qual = v;
    else if (!strcmp(key, "error"))
        r->error = (uint32_t)v;
}

/* An event line, key by key from the rows of include/nvmx/trace_events.def:
 * required keys present, every key there of its type. Optional keys are
 * required as a group when the line says they apply (a failed vmentry has
 * "check" and "detail", and all the keys of the "reason" or the "error"
 * group it chose; an emulate whose result is "VMfailValid" has the "error"
 * group). */
static bool read_event(struct reader *rd, json_t *o, enum trace_event_type t,
                       struct trace_record *r)
{
    const char *ev = trace_event_name(t);
    bool ok = true;
    r->type = t;
    r->ok = true;
    for (unsigned i = 0; i < trace_nrows && trace_rows[i].kind == TRACE_ROW_COMMON; i++) {
        uint64_t v = 0;
        if (check_row(rd, o, ev, &trace_rows[i], true, &v))
            keep(r, trace_rows[i].key, v);
        else
            ok = false;
    }
    bool failed = t == TRACE_EV_vmentry && json_is_false(json_object_get(o, "ok"));
    bool has_reason = json_object_get(o, "reason") != NULL;
    bool has_error = json_object_get(o, "error") != NULL;
    json_t *result = json_object_get(o, "result");
    bool vmfail_valid = json_is_string(result) && !strcmp(json_string_value(result), "VMfailValid");
    for (unsigned i = trace_event_row[t] + 1;
         i < trace_nrows && trace_rows[i].kind == TRACE_ROW_FIELD; i++) {
        const struct trace_row *row = &trace_rows[i];
        bool required = row->presence == TRACE_P_REQ ||
                        (row->presence == TRACE_P_FAILED && failed) ||
                        (row->presence == TRACE_P_FAIL_EXIT && failed && has_reason) ||
                        (row->presence == TRACE_P_FAIL_VMFAIL && failed && !has_reason &&
                         has_error) ||
                        (row->presence == TRACE_P_VMFAIL_VALID && vmfail_valid);
        uint64_t v = 0;
        if (check_row(rd, o, ev, row, required, &v))
            keep(r, row->key, v);
        else
            ok = false;
    }
    if (t == TRACE_EV_vmentry) {
        json_t *kind = json_object_get(o, "kind");
        const char *k = json_is_string(kind) ? json_string_value(kind) : NULL;
        if (k && strcmp(k, "launch") && strcmp(k, "resume")) {
            diag(rd, false, "vmentry: \"kind\" must be \"launch\" or \"resume\"");
            ok = false;
        }
        r->launch = k && !strcmp(k, "launch");
        if (failed && !has_reason && !has_error) {
            diag(rd, false, "vmentry: a failed entry needs \"error\" or \"reason\"");
            ok = false;
        }
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
        enum trace_event_type t = trace_event_lookup(ev);
        ok = t == TRACE_EV_COUNT ? read_unknown(rd, o, ev, r) : read_event(rd, o, t, r);
    }
    return ok;
}

/* A trace read one valid line at a time (the tools that walk two traces in
 * step pull lines; trace_read_fns pushes them). */
struct trace_cursor {
    struct reader rd;
    struct trace_read_result res;
    FILE *f; /* the decompressed text of the caller's file (trace_open_input) */
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
    char err[256];
    c->f = trace_open_input(f, name, err, sizeof(err));
    if (!c->f) {
        if (diag_out)
            fprintf(diag_out, "%s\n", err);
        free(c);
        return NULL;
    }
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
    fclose(c->f); /* the wrapper only: the caller's file stays open */
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
