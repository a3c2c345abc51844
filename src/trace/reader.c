/* The trace reader: validates each line against docs/trace-schema.md and
 * hands the tools a struct trace_record per event. Bad input is reported as
 * "NAME:LINE: problem" and never stops the read; a truncated last line (a run
 * that died mid-write) is a warning and the prefix before it is used. */
#include "trace_internal.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct reader {
    const char *name;
    FILE *diag;
    unsigned line;
    struct trace_read_result *res;
    bool header_seen;
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

/* Check one key against its row's type; its value is stored in *num for
 * the numeric types. A missing key is reported only when required. */
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
    case TRACE_T_HEX:
    case TRACE_T_EXIT_REASON: return check_hex(rd, o, ev, key, false);
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

/* The numbers the tools use, by key. */
static void keep(struct trace_record *r, const char *key, uint64_t v)
{
    if (!strcmp(key, "cycles"))
        r->cycles = v;
    else if (!strcmp(key, "insns"))
        r->insns = v;
    else if (!strcmp(key, "level"))
        r->level = (int)v;
    else if (!strcmp(key, "cost"))
        r->cost = (uint32_t)v;
    else if (!strcmp(key, "ok"))
        r->ok = v != 0;
    else if (!strcmp(key, "reason"))
        r->reason = (uint32_t)v;
    else if (!strcmp(key, "error"))
        r->error = (uint32_t)v;
}

/* An event line, key by key from the rows of include/nvmx/trace_events.def:
 * required keys present, every key there of its type. Optional keys are
 * required as a group when the line says they apply (a failed vmentry has
 * "check" and "detail", and all the keys of the "reason" or the "error"
 * group it chose). */
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
    json_t *okj = json_object_get(o, "ok");
    bool failed = t == TRACE_EV_vmentry && json_is_false(okj);
    bool has_reason = json_object_get(o, "reason") != NULL;
    bool has_error = json_object_get(o, "error") != NULL;
    for (unsigned i = trace_event_row[t] + 1;
         i < trace_nrows && trace_rows[i].kind == TRACE_ROW_FIELD; i++) {
        const struct trace_row *row = &trace_rows[i];
        bool required = row->presence == TRACE_P_REQ ||
                        (row->presence == TRACE_P_FAILED && failed) ||
                        (row->presence == TRACE_P_FAIL_EXIT && failed && has_reason) ||
                        (row->presence == TRACE_P_FAIL_VMFAIL && failed && !has_reason &&
                         has_error);
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

/* One complete line (without its newline). Returns true and fills r for a
 * valid event line; false for the header and for bad lines. */
static bool read_line(struct reader *rd, const char *text, size_t len, struct trace_record *r)
{
    json_error_t je;
    memset(r, 0, sizeof(*r));
    r->line = rd->line;
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
    if (!json_is_object(o))
        diag(rd, false, "not a JSON object");
    else if (!evj)
        diag(rd, false, "missing key \"event\"");
    else if (!ev)
        diag(rd, false, "\"event\" must be a string");
    else if (!strcmp(ev, "header")) {
        if (rd->header_seen || rd->line != 1)
            diag(rd, false, "header: only the first line may be a header");
        else if (read_header(rd, o))
            rd->header_seen = true;
    } else {
        if (rd->line == 1)
            diag(rd, false, "the first line must be the header, not \"%s\"", ev);
        enum trace_event_type t = trace_event_lookup(ev);
        if (t == TRACE_EV_COUNT)
            diag(rd, false, "unknown event \"%.40s\"", ev);
        else
            ok = read_event(rd, o, t, r);
    }
    json_decref(o);
    return ok;
}

bool trace_read(FILE *f, const char *name, trace_record_fn fn, void *ctx, FILE *diag_out,
                struct trace_read_result *res)
{
    struct trace_read_result local;
    if (!res)
        res = &local;
    memset(res, 0, sizeof(*res));
    struct reader rd = { .name = name, .diag = diag_out, .res = res };
    char err[256];
    FILE *in = trace_open_input(f, name, err, sizeof(err));
    if (!in) {
        res->errors++;
        if (diag_out)
            fprintf(diag_out, "%s\n", err);
        return false;
    }
    f = in;
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    bool stopped = false;
    while (!stopped && (n = getline(&buf, &cap, f)) != -1) {
        rd.line++;
        res->lines++;
        size_t len = (size_t)n;
        bool complete = len && buf[len - 1] == '\n';
        if (complete)
            len--;
        if (!complete) {
            /* Only the last line can lack its newline: a run that stopped
             * while writing it. Use it if it is whole, else warn. */
            json_t *probe = json_loadb(buf, len, 0, NULL);
            if (!probe) {
                diag(&rd, true, "truncated last line (partial trace); ignored");
                if (rd.line == 1)
                    diag(&rd, false, "no complete header line");
                break;
            }
            json_decref(probe);
        }
        struct trace_record r;
        if (read_line(&rd, buf, len, &r)) {
            res->records++;
            if (fn && !fn(ctx, &r))
                stopped = true;
        }
    }
    free(buf);
    bool read_error = ferror(f);
    fclose(in);
    if (read_error) {
        diag(&rd, false, "read error");
    } else if (!rd.line) {
        res->errors++;
        if (diag_out)
            fprintf(diag_out, "%s: empty trace (no header line)\n", name);
    }
    unsigned shown = TRACE_MAX_DIAGS;
    if (diag_out && res->errors + res->warnings > shown)
        fprintf(diag_out, "%s: %u more problems not shown\n", name,
                res->errors + res->warnings - shown);
    return res->errors == 0;
}
