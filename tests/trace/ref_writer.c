/* The reference writer: the writer nvmx had before the one in src/trace,
 * which built a jansson object per line and disassembled every exit (schema
 * 1; with schema 2's "msr" key and schema 3's merge "written"). It is linked
 * in place of src/trace/writer.c into nvmx-ref-writer
 * (tests/trace/CMakeLists.txt) so that tests/trace/check-same-bytes.sh can
 * show that the same run gives the same trace bytes with both. Only the
 * event fields changed their place (struct trace_event). */
#include "nvmx/trace.h"
#include "nvmx/vmcs.h"

#include <capstone/capstone.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define TRACE_BUF_SIZE (1u << 16)

struct trace_writer {
    FILE *f;
    bool owned;     /* we opened f (close it) */
    bool failed;    /* a write failed */
    int write_errno;
    char name[256];
    char *buf;      /* setvbuf buffer of an owned file */
    csh cs[3];      /* Capstone handles for 16-, 32-, 64-bit code, opened on use */
    bool cs_open[3], cs_bad[3];
};

static struct trace_writer *writer_new(FILE *f, const char *name, bool owned)
{
    struct trace_writer *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->f = f;
    w->owned = owned;
    snprintf(w->name, sizeof(w->name), "%s", name);
    return w;
}

struct trace_writer *trace_writer_open(const char *path, char *err, size_t errlen)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "w") : stdout;
    if (!f) {
        snprintf(err, errlen, "--trace: cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    struct trace_writer *w = writer_new(f, path, f != stdout);
    if (!w) {
        if (f != stdout)
            fclose(f);
        snprintf(err, errlen, "--trace: out of memory");
        return NULL;
    }
    if (w->owned) {
        w->buf = malloc(TRACE_BUF_SIZE);
        if (w->buf)
            setvbuf(f, w->buf, _IOFBF, TRACE_BUF_SIZE);
    }
    return w;
}

struct trace_writer *trace_writer_from_stream(FILE *f, const char *name)
{
    return writer_new(f, name, false);
}

static json_t *hex(uint64_t v)
{
    char s[24];
    snprintf(s, sizeof(s), "0x%llx", (unsigned long long)v);
    return json_string(s);
}

static json_t *str_or_null(const char *s) { return s ? json_string(s) : json_null(); }

/* One line: the object, compact, keys in insertion order, then '\n'. The
 * object is consumed. */
static void write_line(struct trace_writer *w, json_t *o)
{
    if (!o)
        return;
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    json_decref(o);
    if (!s) {
        w->failed = true;
        w->write_errno = ENOMEM;
        return;
    }
    if (fputs(s, w->f) == EOF || fputc('\n', w->f) == EOF) {
        if (!w->failed)
            w->write_errno = errno;
        w->failed = true;
    }
    free(s);
}

bool trace_write_header(struct trace_writer *w, const struct trace_header *h)
{
    json_t *cfg = json_object();
    json_t *cpu = json_object(), *cost = json_object();
    json_object_set_new(cpu, "name", str_or_null(h->cpu_name));
    json_object_set_new(cpu, "file", str_or_null(h->cpu_file));
    json_object_set_new(cost, "name", str_or_null(h->cost_name));
    json_object_set_new(cost, "file", str_or_null(h->cost_file));
    json_object_set_new(cfg, "cpu", cpu);
    json_object_set_new(cfg, "cost", cost);
    json_object_set_new(cfg, "mem", json_integer((json_int_t)h->mem));
    json_object_set_new(cfg, "max_insns", json_integer((json_int_t)h->max_insns));
    json_object_set_new(cfg, "cmdline", str_or_null(h->cmdline));
    json_object_set_new(cfg, "feature_control_locked", json_boolean(h->feature_control_locked));
    if (h->vmx_msrs) {
        json_t *msrs = json_object();
        for (unsigned i = 0; i < VMX_MSR_COUNT; i++)
            json_object_set_new(msrs, vmx_msr_name((enum vmx_msr)i), hex(h->vmx_msrs[i]));
        json_object_set_new(cfg, "vmx_msrs", msrs);
    } else {
        json_object_set_new(cfg, "vmx_msrs", json_null());
    }

    json_t *o = json_object();
    json_object_set_new(o, "event", json_string("header"));
    json_object_set_new(o, "schema", json_integer(TRACE_SCHEMA_VERSION));
    json_object_set_new(o, "nvmx", str_or_null(h->nvmx_version));
    json_object_set_new(o, "image", str_or_null(h->image));
    json_object_set_new(o, "config", cfg);
    /* For nvmx replay: what was run, and the hashes of what it loaded. */
    if (h->image_sha256)
        json_object_set_new(o, "image_sha256", json_string(h->image_sha256));
    if (h->module_sha256) {
        json_t *a = json_array();
        for (unsigned i = 0; i < h->nmodules; i++)
            json_array_append_new(a, json_string(h->module_sha256[i]));
        json_object_set_new(o, "module_sha256", a);
    }
    if (h->run_args) {
        json_t *a = json_array();
        for (unsigned i = 0; i < h->nrun_args; i++)
            json_array_append_new(a, json_string(h->run_args[i]));
        json_object_set_new(o, "args", a);
    }
    write_line(w, o);
    return !w->failed;
}

/* Capstone's text for the instruction bytes of an exit, or NULL. */
static const char *disassemble(struct trace_writer *w, const struct trace_event *ev, uint64_t rip,
                               char *out, size_t outlen, unsigned *size)
{
    const struct trace_code *code = &ev->vmexit.insn_bytes;
    int i = code->code_size == 8 ? 2 : code->code_size == 4 ? 1 : 0;
    static const cs_mode modes[3] = { CS_MODE_16, CS_MODE_32, CS_MODE_64 };
    if (!code->nbytes || w->cs_bad[i])
        return NULL;
    if (!w->cs_open[i]) {
        if (cs_open(CS_ARCH_X86, modes[i], &w->cs[i]) != CS_ERR_OK) {
            w->cs_bad[i] = true;
            return NULL;
        }
        w->cs_open[i] = true;
    }
    unsigned n = code->nbytes < sizeof(code->bytes) ? code->nbytes
                                                     : (unsigned)sizeof(code->bytes);
    cs_insn *ci = NULL;
    if (cs_disasm(w->cs[i], code->bytes, n, rip, 1, &ci) != 1)
        return NULL;
    if (ci->op_str[0])
        snprintf(out, outlen, "%s %s", ci->mnemonic, ci->op_str);
    else
        snprintf(out, outlen, "%s", ci->mnemonic);
    *size = ci->size;
    cs_free(ci, 1);
    return out;
}

static void add_common(json_t *o, const struct trace_event *ev)
{
    json_object_set_new(o, "event", json_string(trace_event_name(ev->type)));
    json_object_set_new(o, "cycles", json_integer((json_int_t)ev->cycles));
    json_object_set_new(o, "insns", json_integer((json_int_t)ev->insns));
    json_object_set_new(o, "level", json_integer(ev->level));
    json_object_set_new(o, "vmcs", hex(ev->vmcs));
}

/* The exit-reason fields: the basic reason (bits 15:0) as number and name,
 * and the full field when bits above it are set (SDM 3C "Basic VM-Exit
 * Information"). */
static void add_reason(json_t *o, uint32_t reason)
{
    json_object_set_new(o, "reason", json_integer(reason & 0xffff));
    json_object_set_new(o, "reason_name", json_string(vmx_exit_reason_name(reason & 0xffff)));
    if (reason & 0xffff0000u)
        json_object_set_new(o, "exit_reason", hex(reason));
}

static void add_error(json_t *o, uint32_t err)
{
    json_object_set_new(o, "error", json_integer(err));
    json_object_set_new(o, "error_name", json_string(vmx_insn_err_name(err)));
    json_object_set_new(o, "error_text", json_string(vmx_insn_err_text(err)));
}

static json_t *vmentry_line(const struct trace_event *ev)
{
    json_t *o = json_object();
    add_common(o, ev);
    const struct trace_ev_vmentry *e = &ev->vmentry;
    json_object_set_new(o, "kind", json_string(e->kind));
    json_object_set_new(o, "ok", json_boolean(e->ok));
    if (!e->ok) {
        /* SDM 3C "VM Entries": early failures are VMfail; guest-state and
         * MSR-load failures are VM exits with bit 31 of the reason set. */
        if (e->reason & VMX_EXIT_REASON_ENTRY_FAILURE) {
            add_reason(o, e->reason);
            json_object_set_new(o, "qual", hex(e->qual));
        } else {
            add_error(o, e->error);
        }
        json_object_set_new(o, "check", str_or_null(e->check));
        json_object_set_new(o, "detail", json_string(e->detail));
    }
    json_object_set_new(o, "cost", json_integer(e->cost));
    return o;
}

static json_t *vmexit_line(struct trace_writer *w, const struct trace_event *ev)
{
    json_t *o = json_object();
    char text[192];
    const struct trace_ev_vmexit *x = &ev->vmexit;
    add_common(o, ev);
    add_reason(o, x->reason);
    json_object_set_new(o, "qual", hex(x->qual));
    if ((x->reason & 0xffff) == VMX_EXIT_rdmsr || (x->reason & 0xffff) == VMX_EXIT_wrmsr)
        json_object_set_new(o, "msr", hex(x->msr));
    json_object_set_new(o, "guest_rip", hex(x->guest_rip));
    if (x->guest_linear)
        json_object_set_new(o, "guest_linear", hex(x->guest_linear));
    if (x->guest_physical)
        json_object_set_new(o, "guest_physical", hex(x->guest_physical));
    json_object_set_new(o, "insn_len", json_integer(x->insn_len));
    json_object_set_new(o, "insn_info", hex(x->insn_info));
    if (x->insn_bytes.nbytes) {
        /* The bytes Capstone decoded (all of them when it could not). */
        unsigned n = x->insn_bytes.nbytes < sizeof(x->insn_bytes.bytes) ? x->insn_bytes.nbytes
                                                         : (unsigned)sizeof(x->insn_bytes.bytes);
        const char *d = disassemble(w, ev, x->guest_rip, text, sizeof(text), &n);
        char bytes[3 * sizeof(x->insn_bytes.bytes) + 1] = "";
        size_t len = 0;
        for (unsigned i = 0; i < n; i++)
            len += (size_t)snprintf(bytes + len, sizeof(bytes) - len, i ? " %02x" : "%02x",
                                    x->insn_bytes.bytes[i]);
        json_object_set_new(o, "insn_bytes", json_string(bytes));
        json_object_set_new(o, "insn", str_or_null(d));
    }
    json_object_set_new(o, "intr_info", hex(x->intr_info));
    json_object_set_new(o, "intr_error", hex(x->intr_error));
    json_object_set_new(o, "idt_info", hex(x->idt_info));
    json_object_set_new(o, "idt_error", hex(x->idt_error));
    json_object_set_new(o, "cost", json_integer(x->cost));
    return o;
}

static json_t *vmfail_line(const struct trace_event *ev)
{
    json_t *o = json_object();
    add_common(o, ev);
    json_object_set_new(o, "insn", str_or_null(ev->vmfail.insn));
    add_error(o, ev->vmfail.error);
    return o;
}

/* src/nested's events (docs/nested.md, docs/trace-schema.md) */
static json_t *emulate_line(const struct trace_event *ev)
{
    json_t *o = json_object();
    add_common(o, ev);
    const struct trace_ev_emulate *e = &ev->emulate;
    json_object_set_new(o, "insn", str_or_null(e->insn));
    if (e->operand.has)
        json_object_set_new(o, "operand", hex(e->operand.value));
    json_object_set_new(o, "result", str_or_null(e->result));
    if (e->result && !strcmp(e->result, "VMfailValid"))
        add_error(o, e->error);
    return o;
}

static json_t *reflect_line(const struct trace_event *ev)
{
    json_t *o = json_object();
    add_common(o, ev);
    add_reason(o, ev->reflect.reason);
    json_object_set_new(o, "qual", hex(ev->reflect.qual));
    json_object_set_new(o, "decision", str_or_null(ev->reflect.decision));
    json_object_set_new(o, "rule", str_or_null(ev->reflect.rule));
    return o;
}

static json_t *fields_array(const struct trace_vmcs_log *log, bool origin)
{
    json_t *a = json_array();
    for (unsigned i = 0; i < log->n; i++) {
        const struct trace_vmcs_write *f = &log->w[i];
        json_t *e = json_object();
        json_object_set_new(e, "field",
                            json_string(f->field < VMCS_NFIELDS ? vmcs_fields[f->field].json : "?"));
        json_object_set_new(e, "value", hex(f->value));
        if (origin)
            json_object_set_new(e, "origin", str_or_null(f->origin));
        json_array_append_new(a, e);
    }
    return a;
}

static json_t *merge_line(const struct trace_event *ev)
{
    json_t *o = json_object();
    add_common(o, ev);
    json_object_set_new(o, "full", json_boolean(ev->merge.full));
    json_object_set_new(o, "written", json_integer(ev->merge.written));
    json_object_set_new(o, "fields", fields_array(&ev->merge.fields, true));
    json_object_set_new(o, "cost", json_integer(ev->merge.cost));
    return o;
}

static json_t *sync_line(const struct trace_event *ev)
{
    json_t *o = json_object();
    add_common(o, ev);
    json_object_set_new(o, "fields", fields_array(&ev->sync.fields, false));
    return o;
}

void trace_write_event(void *ctx, const struct trace_event *ev)
{
    struct trace_writer *w = ctx;
    switch (ev->type) {
    case TRACE_EV_vmentry: write_line(w, vmentry_line(ev)); break;
    case TRACE_EV_vmexit: write_line(w, vmexit_line(w, ev)); break;
    case TRACE_EV_vmfail: write_line(w, vmfail_line(ev)); break;
    case TRACE_EV_emulate: write_line(w, emulate_line(ev)); break;
    case TRACE_EV_reflect: write_line(w, reflect_line(ev)); break;
    case TRACE_EV_merge: write_line(w, merge_line(ev)); break;
    case TRACE_EV_sync: write_line(w, sync_line(ev)); break;
    default: break;
    }
}

void trace_writer_on_failure(struct trace_writer *w, void (*fn)(void *ctx), void *ctx)
{
    (void)w;
    (void)fn;
    (void)ctx;
}

bool trace_writer_failed(const struct trace_writer *w) { return w && w->failed; }

/* The previous writer opened its file at once. */
bool trace_writer_start(struct trace_writer *w, char *err, size_t errlen)
{
    (void)w;
    (void)err;
    (void)errlen;
    return true;
}

void trace_writer_flush(struct trace_writer *w)
{
    if (w && fflush(w->f) == EOF && !w->failed) {
        w->failed = true;
        w->write_errno = errno;
    }
}

bool trace_writer_close(struct trace_writer *w, char *err, size_t errlen)
{
    if (!w)
        return true;
    trace_writer_flush(w);
    if (w->owned && fclose(w->f) == EOF && !w->failed) {
        w->failed = true;
        w->write_errno = errno;
    }
    bool ok = !w->failed;
    if (!ok)
        snprintf(err, errlen, "--trace: writing '%s' failed: %s", w->name,
                 strerror(w->write_errno));
    for (int i = 0; i < 3; i++)
        if (w->cs_open[i])
            cs_close(&w->cs[i]);
    free(w->buf);
    free(w);
    return ok;
}
