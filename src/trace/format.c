/* One JSON line per event, formatted straight into a buffer from the rows of
 * include/nvmx/trace_events.def: no object tree, no printf. The bytes are
 * those jansson's compact, order-preserving, ASCII-only dump gave for the
 * same line (the writer before this one), so traces did not change. */
#include "trace_internal.h"

#include "nvmx/vmcs.h"
#include "nvmx/vmx.h"

#include <stdlib.h>
#include <string.h>

bool trace_buf_reserve(struct trace_buf *b, size_t n)
{
    if (b->cap - b->len >= n)
        return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < n)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void trace_buf_free(struct trace_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

/* Room for any fixed-size piece (a key and a number). */
#define PIECE_MAX 96

/* Every primitive checks its room, so a reserve that failed (out of
 * memory) only loses text, never writes past the buffer. */
static inline bool room(const struct trace_buf *b, size_t n) { return b->cap - b->len >= n; }

static inline void put(struct trace_buf *b, const char *s, size_t n)
{
    if (!room(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

/* Decimal, two digits per division. */
static void put_u64(struct trace_buf *b, uint64_t v)
{
    static const char pairs[] = "00010203040506070809101112131415161718192021222324"
                                "25262728293031323334353637383940414243444546474849"
                                "50515253545556575859606162636465666768697071727374"
                                "75767778798081828384858687888990919293949596979899";
    char tmp[20];
    int i = 20;
    if (!room(b, 20))
        return;
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        i -= 2;
        memcpy(tmp + i, pairs + 2 * r, 2);
    }
    if (v >= 10) {
        i -= 2;
        memcpy(tmp + i, pairs + 2 * v, 2);
    } else {
        tmp[--i] = (char)('0' + v);
    }
    memcpy(b->p + b->len, tmp + i, (size_t)(20 - i));
    b->len += (size_t)(20 - i);
}

/* JSON integers are signed 64-bit, as json_integer() wrote them. */
static void put_int(struct trace_buf *b, int64_t v)
{
    if (v < 0 && room(b, 21)) {
        b->p[b->len++] = '-';
        put_u64(b, 0 - (uint64_t)v);
    } else {
        put_u64(b, (uint64_t)v);
    }
}

/* "0x..." lower case, no leading zeros. */
static void put_hex(struct trace_buf *b, uint64_t v)
{
    static const char digits[] = "0123456789abcdef";
    int n = v ? (67 - __builtin_clzll(v)) / 4 : 1;
    if (!room(b, 20))
        return;
    char *p = b->p + b->len;
    p[0] = '"';
    p[1] = '0';
    p[2] = 'x';
    for (int i = n - 1; i >= 0; i--, v >>= 4)
        p[3 + i] = digits[v & 15];
    p[3 + n] = '"';
    b->len += (size_t)n + 4;
}

/* Decode one UTF-8 sequence at s (n bytes left); the code point, or -1 for
 * an invalid sequence (*len then 1). */
static long utf8_decode(const unsigned char *s, size_t n, size_t *len)
{
    unsigned c = s[0];
    size_t need = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
    *len = 1;
    if (!need || need > n)
        return -1;
    long cp = (long)(c & (0x7f >> need));
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return -1;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((need == 3 && cp < 0x800) || (need == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return -1;
    *len = need;
    return cp;
}

static void put_u_escape(struct trace_buf *b, unsigned v)
{
    static const char digits[] = "0123456789ABCDEF";
    char e[6] = { '\\', 'u', digits[(v >> 12) & 15], digits[(v >> 8) & 15],
                  digits[(v >> 4) & 15], digits[v & 15] };
    put(b, e, 6);
}

/* A JSON string, escaped as jansson's JSON_ENSURE_ASCII dump does: \" \\
 * \b \f \n \r \t, other control characters and every non-ASCII code point as
 * \uXXXX (upper-case hex, UTF-16 surrogate pairs above U+FFFF). Bytes that
 * are not UTF-8 become \uFFFD (jansson refused such strings). */
static void put_str(struct trace_buf *b, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t n = strlen(str);
    if (!trace_buf_reserve(b, 12 * n + 2 + PIECE_MAX))
        return;
    b->p[b->len++] = '"';
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        while (run < n && s[run] >= 0x20 && s[run] < 0x80 && s[run] != '"' && s[run] != '\\')
            run++;
        put(b, (const char *)s + i, run - i);
        if ((i = run) >= n)
            break;
        unsigned char c = s[i];
        const char *esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\b' ? "\\b"
                        : c == '\f' ? "\\f" : c == '\n' ? "\\n" : c == '\r' ? "\\r"
                        : c == '\t' ? "\\t" : NULL;
        if (esc) {
            put(b, esc, 2);
            i++;
        } else if (c < 0x20) {
            put_u_escape(b, c);
            i++;
        } else {
            size_t len;
            long cp = utf8_decode(s + i, n - i, &len);
            if (cp < 0)
                cp = 0xfffd;
            if (cp > 0xffff) {
                cp -= 0x10000;
                put_u_escape(b, 0xd800u | (unsigned)(cp >> 10));
                put_u_escape(b, 0xdc00u | (unsigned)(cp & 0x3ff));
            } else {
                put_u_escape(b, (unsigned)cp);
            }
            i += len;
        }
    }
    b->p[b->len++] = '"';
}

static void put_char(struct trace_buf *b, char c)
{
    if (trace_buf_reserve(b, 1))
        b->p[b->len++] = c;
}

static void put_str_or_null(struct trace_buf *b, const char *s)
{
    if (s)
        put_str(b, s);
    else
        put(b, "null", 4);
}

/* The formatter's memory: the disassembly cache; the JSON text between
 * values -- each row's key (,"key":), each event's start with its first
 * key ({"event":"vmexit","cycles":), each VMCS field's start in a WRITES
 * list ({"field":"guest_rip","value":) -- padded to a fixed size so that
 * one constant-size copy writes it; and the escaped text of static strings
 * by address (a STR key points at static storage:
 * include/nvmx/trace_events.def), so a string that recurs in every event is
 * escaped once. Bounded: fixed tables. */
#define STR_SLOTS 1024 /* power of two */
#define STR_SLOT_MAX 120
#define LIT_MAX 64     /* a literal's room: copied whole, kept in part */

struct str_slot {
    const char *ptr;
    uint8_t len;
    char esc[STR_SLOT_MAX];
};

struct lit {
    uint8_t len; /* 0: too long for LIT_MAX (written piece by piece) */
    char s[LIT_MAX];
};

/* The last event of a type and the text of its keys from `level` on: an
 * exit loop repeats events that differ only in cycles and insns, and
 * their text from `level` on is then copied, not formatted again. Only for
 * events without WRITES keys (their entries live outside the event). */
#define TAIL_MAX 512

struct tail {
    size_t len; /* 0: nothing cached */
    char text[TAIL_MAX];
    _Alignas(8) unsigned char ev[sizeof(struct trace_event)];
};

struct trace_fmt {
    struct trace_disasm *disasm;
    unsigned tail_row;                   /* the first row of the cached text */
    bool tail_ok[TRACE_EV_COUNT];        /* the event's text may be cached */
    struct tail tail[TRACE_EV_COUNT];
    struct lit *keys;                    /* one per row of trace_rows */
    struct lit head[TRACE_EV_COUNT];     /* {"event":NAME then the first common key */
    struct lit field[VMCS_NFIELDS];      /* {"field":NAME,"value": */
    /* the last disassembly: of this event's CODE for its DISASM, and of
     * the same instruction in the next exit (an exit loop's usual case) */
    const struct trace_code *dis_code;
    struct trace_code dis_last;
    bool dis_valid;
    struct trace_disasm_result dis;
    struct str_slot slot[STR_SLOTS];
};

/* Copy a literal: LIT_MAX bytes, of which len count. */
static inline bool put_lit(struct trace_buf *b, const struct lit *l)
{
    if (!l->len || !trace_buf_reserve(b, LIT_MAX + PIECE_MAX))
        return false;
    memcpy(b->p + b->len, l->s, LIT_MAX);
    b->len += l->len;
    return true;
}

static void lit_set(struct lit *l, const char *text)
{
    size_t n = strlen(text);
    memset(l, 0, sizeof(*l));
    if (n && n < LIT_MAX) {
        memcpy(l->s, text, n);
        l->len = (uint8_t)n;
    }
}

/* ,"key": */
static void put_key(struct trace_buf *b, const char *key, bool first)
{
    size_t n = strlen(key);
    if (!trace_buf_reserve(b, n + 4 + PIECE_MAX))
        return;
    if (!first)
        b->p[b->len++] = ',';
    b->p[b->len++] = '"';
    put(b, key, n);
    b->p[b->len++] = '"';
    b->p[b->len++] = ':';
}

/* "0f a2": the bytes Capstone decoded. */
static void put_bytes(struct trace_buf *b, const uint8_t *bytes, unsigned n)
{
    static const char digits[] = "0123456789abcdef";
    if (!room(b, 3 * (size_t)n + 2))
        return;
    b->p[b->len++] = '"';
    for (unsigned i = 0; i < n; i++) {
        if (i)
            b->p[b->len++] = ' ';
        b->p[b->len++] = digits[bytes[i] >> 4];
        b->p[b->len++] = digits[bytes[i] & 15];
    }
    b->p[b->len++] = '"';
}

/* [{"field":NAME,"value":"0x..."[,"origin":...]}, ...] */
static void put_static(struct trace_buf *b, struct trace_fmt *f, const char *s);
static void put_static_or_null(struct trace_buf *b, struct trace_fmt *f, const char *s);

static void put_writes(struct trace_buf *b, struct trace_fmt *fm, const struct trace_vmcs_log *log,
                       bool origin)
{
    put_char(b, '[');
    for (unsigned i = 0; i < log->n; i++) {
        const struct trace_vmcs_write *f = &log->w[i];
        if (i)
            put_char(b, ',');
        if (f->field >= VMCS_NFIELDS || !put_lit(b, &fm->field[f->field])) {
            put_char(b, '{');
            put_key(b, "field", true);
            put_static(b, fm, f->field < VMCS_NFIELDS ? vmcs_fields[f->field].json : "?");
            put_key(b, "value", false);
        }
        put_hex(b, f->value);
        if (origin) {
            put_key(b, "origin", false);
            put_static_or_null(b, fm, f->origin);
        }
        put_char(b, '}');
    }
    put_char(b, ']');
}

/* A string in static storage: escaped once, then copied. */
static void put_static(struct trace_buf *b, struct trace_fmt *f, const char *s)
{
    uintptr_t h = (uintptr_t)s;
    struct str_slot *slot = &f->slot[(h ^ (h >> 12)) & (STR_SLOTS - 1)];
    if (slot->ptr == s) {
        put(b, slot->esc, slot->len);
        return;
    }
    size_t at = b->len;
    put_str(b, s);
    size_t n = b->len - at;
    if (!b->oom && n <= STR_SLOT_MAX) {
        memcpy(slot->esc, b->p + at, n);
        slot->len = (uint8_t)n;
        slot->ptr = s;
    }
}

static void put_static_or_null(struct trace_buf *b, struct trace_fmt *f, const char *s)
{
    if (s)
        put_static(b, f, s);
    else
        put(b, "null", 4);
}

/* The key of row i, with its comma. */
static inline void put_row_key(struct trace_buf *b, struct trace_fmt *f, unsigned i)
{
    if (!put_lit(b, &f->keys[i]))
        put_key(b, trace_rows[i].key, false);
}

struct trace_fmt *trace_fmt_new(void)
{
    struct trace_fmt *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->disasm = trace_disasm_new();
    f->keys = calloc(trace_nrows, sizeof(*f->keys));
    if (!f->disasm || !f->keys) {
        trace_fmt_free(f);
        return NULL;
    }
    /* The literals are built with the slow primitives, so they hold the
     * same bytes (escapes included) as the pieces they stand for. */
    struct trace_buf t = { 0 };
    for (unsigned i = 0; i < trace_nrows; i++) {
        t.len = 0;
        put_key(&t, trace_rows[i].key, false);
        if (!t.oom && trace_buf_reserve(&t, 1)) {
            t.p[t.len] = '\0';
            lit_set(&f->keys[i], t.p);
        }
    }
    for (unsigned e = 0; e < TRACE_EV_COUNT; e++) {
        t.len = 0;
        put_char(&t, '{');
        put_key(&t, "event", true);
        put_str(&t, trace_event_name((enum trace_event_type)e));
        if (trace_nrows && trace_rows[0].kind == TRACE_ROW_COMMON)
            put_key(&t, trace_rows[0].key, false);
        if (!t.oom && trace_buf_reserve(&t, 1)) {
            t.p[t.len] = '\0';
            lit_set(&f->head[e], t.p);
        }
    }
    for (unsigned i = 0; i < VMCS_NFIELDS; i++) {
        t.len = 0;
        put_char(&t, '{');
        put_key(&t, "field", true);
        put_str(&t, vmcs_fields[i].json);
        put_key(&t, "value", false);
        if (!t.oom && trace_buf_reserve(&t, 1)) {
            t.p[t.len] = '\0';
            lit_set(&f->field[i], t.p);
        }
    }
    trace_buf_free(&t);
    /* The tail starts at the first common row after cycles and insns, the
     * two that change from one event to the next; the struct members from
     * that row's on decide the tail's text. */
    f->tail_row = 0;
    while (f->tail_row < trace_nrows && trace_rows[f->tail_row].kind == TRACE_ROW_COMMON &&
           (trace_rows[f->tail_row].offset == offsetof(struct trace_event, cycles) ||
            trace_rows[f->tail_row].offset == offsetof(struct trace_event, insns)))
        f->tail_row++;
    bool tail_common = f->tail_row < trace_nrows &&
                       trace_rows[f->tail_row].kind == TRACE_ROW_COMMON &&
                       trace_rows[f->tail_row].offset > offsetof(struct trace_event, insns);
    for (unsigned e = 0; e < TRACE_EV_COUNT; e++)
        f->tail_ok[e] = tail_common && trace_event_size[e] > trace_rows[f->tail_row].offset;
    for (unsigned i = 0; i < trace_nrows; i++)
        if (trace_rows[i].kind == TRACE_ROW_FIELD &&
            (trace_rows[i].type == TRACE_T_WRITES || trace_rows[i].type == TRACE_T_WRITES_ORIGIN))
            f->tail_ok[trace_rows[i].event] = false;
    return f;
}

void trace_fmt_free(struct trace_fmt *f)
{
    if (!f)
        return;
    trace_disasm_free(f->disasm);
    free(f->keys);
    free(f);
}

#define VAL(T) (*(const T *)(const void *)p)

/* The event's instruction disassembled (once for its CODE and DISASM keys). */
static struct trace_disasm_result event_disasm(struct trace_fmt *f, const struct trace_code *code)
{
    if (f->dis_code == code)
        return f->dis;
    const struct trace_code *l = &f->dis_last;
    unsigned n = code->nbytes < TRACE_CODE_MAX ? code->nbytes : TRACE_CODE_MAX;
    /* Nothing else used the disassembly cache since: its slot (and the
     * text it points at) still holds the last instruction. */
    if (!f->dis_valid || l->rip != code->rip || l->code_size != code->code_size ||
        l->nbytes != code->nbytes || memcmp(l->bytes, code->bytes, n)) {
        f->dis = trace_disasm(f->disasm, code);
        f->dis_last = *code;
        f->dis_valid = true;
    }
    f->dis_code = code;
    return f->dis;
}

static void put_value(struct trace_buf *b, const struct trace_row *r, const struct trace_event *ev,
                      struct trace_fmt *f)
{
    const char *p = (const char *)ev + r->offset;
    switch (r->type) {
    case TRACE_T_INT: put_int(b, (int64_t)VAL(uint64_t)); break;
    case TRACE_T_U32:
    case TRACE_T_LEN: put_u64(b, VAL(uint32_t)); break;
    case TRACE_T_LEVEL: put_int(b, VAL(int)); break;
    case TRACE_T_HEX: put_hex(b, VAL(uint64_t)); break;
    case TRACE_T_BOOL:
        if (VAL(bool))
            put(b, "true", 4);
        else
            put(b, "false", 5);
        break;
    case TRACE_T_STR: put_static(b, f, VAL(const char *) ? VAL(const char *) : ""); break;
    case TRACE_T_STRN: put_static_or_null(b, f, VAL(const char *)); break;
    case TRACE_T_TEXT: {
        char text[TRACE_TEXT_MAX];
        memcpy(text, p, sizeof(text));
        text[sizeof(text) - 1] = '\0';
        put_str(b, text);
        break;
    }
    case TRACE_T_REASON: put_u64(b, VAL(uint32_t) & 0xffff); break;
    case TRACE_T_OPT_HEX: put_hex(b, VAL(struct trace_opt_hex).value); break;
    case TRACE_T_WRITES: put_writes(b, f, &VAL(struct trace_vmcs_log), false); break;
    case TRACE_T_WRITES_ORIGIN: put_writes(b, f, &VAL(struct trace_vmcs_log), true); break;
    case TRACE_T_REASON_NAME:
        put_static(b, f, vmx_exit_reason_name(VAL(uint32_t) & 0xffff));
        break;
    case TRACE_T_EXIT_REASON: put_hex(b, VAL(uint32_t)); break;
    case TRACE_T_ERROR_NAME: put_static(b, f, vmx_insn_err_name(VAL(uint32_t))); break;
    case TRACE_T_ERROR_TEXT: put_static(b, f, vmx_insn_err_text(VAL(uint32_t))); break;
    case TRACE_T_CODE: {
        const struct trace_code *code = (const struct trace_code *)(const void *)p;
        put_bytes(b, code->bytes, event_disasm(f, code).size);
        break;
    }
    case TRACE_T_DISASM: {
        put_str_or_null(b, event_disasm(f, (const struct trace_code *)(const void *)p).text);
        break;
    }
    }
}

void trace_format_event(struct trace_buf *b, const struct trace_event *ev, struct trace_fmt *f)
{
    if ((unsigned)ev->type >= TRACE_EV_COUNT || !trace_buf_reserve(b, 1))
        return;
    f->dis_code = NULL;
    unsigned i = 0;
    if (put_lit(b, &f->head[ev->type])) {
        put_value(b, &trace_rows[0], ev, f); /* the head ends with the first common key */
        i = 1;
    } else {
        b->p[b->len++] = '{';
        put_key(b, "event", true);
        put_static(b, f, trace_event_name(ev->type));
    }
    for (; i < f->tail_row; i++) {
        put_row_key(b, f, i);
        put_value(b, &trace_rows[i], ev, f);
    }
    /* The rest: copied when the event's members from the tail row on are
     * those of the last event of its type. */
    struct tail *t = f->tail_ok[ev->type] ? &f->tail[ev->type] : NULL;
    size_t lo = trace_rows[f->tail_row].offset, hi = trace_event_size[ev->type];
    if (t && t->len && !memcmp(t->ev + lo, (const unsigned char *)ev + lo, hi - lo)) {
        if (trace_buf_reserve(b, t->len))
            put(b, t->text, t->len);
        return;
    }
    size_t start = b->len;
    for (; i < trace_nrows && trace_rows[i].kind == TRACE_ROW_COMMON; i++) {
        put_row_key(b, f, i);
        put_value(b, &trace_rows[i], ev, f);
    }
    for (i = trace_event_row[ev->type] + 1;
         i < trace_nrows && trace_rows[i].kind == TRACE_ROW_FIELD; i++) {
        const struct trace_row *r = &trace_rows[i];
        if (r->presence != TRACE_P_REQ && !trace_row_present(r, ev))
            continue;
        put_row_key(b, f, i);
        put_value(b, r, ev, f);
    }
    put(b, "}\n", 2);
    if (t) {
        size_t n = b->len - start;
        t->len = 0;
        if (!b->oom && n <= TAIL_MAX) {
            memcpy(t->text, b->p + start, n);
            memcpy(t->ev + lo, (const unsigned char *)ev + lo, hi - lo);
            t->len = n;
        }
    }
}

/* "key":{"name":...,"file":...} */
static void put_name_file(struct trace_buf *b, const char *key, bool first, const char *name,
                          const char *file)
{
    put_key(b, key, first);
    put_char(b, '{');
    put_key(b, "name", true);
    put_str_or_null(b, name);
    put_key(b, "file", false);
    put_str_or_null(b, file);
    put_char(b, '}');
}

/* "key":["...", ...] */
static void put_str_array(struct trace_buf *b, const char *key, const char *const *a, unsigned n)
{
    put_key(b, key, false);
    put_char(b, '[');
    for (unsigned i = 0; i < n; i++) {
        if (i)
            put_char(b, ',');
        put_str(b, a[i]);
    }
    put_char(b, ']');
}

void trace_format_header(struct trace_buf *b, const struct trace_header *h)
{
    put_char(b, '{');
    put_key(b, "event", true);
    put_str(b, "header");
    put_key(b, "schema", false);
    put_u64(b, TRACE_SCHEMA_VERSION);
    put_key(b, "nvmx", false);
    put_str_or_null(b, h->nvmx_version);
    put_key(b, "image", false);
    put_str_or_null(b, h->image);
    put_key(b, "config", false);
    put_char(b, '{');
    put_name_file(b, "cpu", true, h->cpu_name, h->cpu_file);
    put_name_file(b, "cost", false, h->cost_name, h->cost_file);
    put_key(b, "mem", false);
    put_int(b, (int64_t)h->mem);
    put_key(b, "max_insns", false);
    put_int(b, (int64_t)h->max_insns);
    put_key(b, "cmdline", false);
    put_str_or_null(b, h->cmdline);
    put_key(b, "feature_control_locked", false);
    if (h->feature_control_locked)
        put(b, "true", 4);
    else
        put(b, "false", 5);
    put_key(b, "vmx_msrs", false);
    if (h->vmx_msrs) {
        put_char(b, '{');
        for (unsigned i = 0; i < VMX_MSR_COUNT; i++) {
            put_key(b, vmx_msr_name((enum vmx_msr)i), i == 0);
            put_hex(b, h->vmx_msrs[i]);
        }
        put_char(b, '}');
    } else {
        put(b, "null", 4);
    }
    put_char(b, '}');
    /* For nvmx replay: what was run, and the hashes of what it loaded. */
    if (h->image_sha256) {
        put_key(b, "image_sha256", false);
        put_str(b, h->image_sha256);
    }
    if (h->module_sha256)
        put_str_array(b, "module_sha256", h->module_sha256, h->nmodules);
    if (h->run_args)
        put_str_array(b, "args", h->run_args, h->nrun_args);
    put_char(b, '}');
    put_char(b, '\n');
}
