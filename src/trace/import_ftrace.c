/* `nvmx trace import-ftrace`: KVM's tracepoints as `trace-cmd report` prints
 * them (arch/x86/kvm/trace.h) turned into nvmx's trace schema, so `trace
 * stats` and `trace diff` compare a real KVM host with nvmx. A line is
 *   COMM-PID [CPU] SECONDS.FRACTION: EVENT: PAYLOAD
 * and the payloads read are (both the current "key value" and the older
 * "key: value" spellings):
 *   kvm_exit, kvm_nested_vmexit: vcpu N reason NAME rip 0x.. info1 0x..
 *       info2 0x.. intr_info 0x.. error_code 0x..
 *   kvm_nested_vmexit (older): rip: 0x.. reason: NAME ext_inf1: 0x..
 *       ext_inf2: 0x.. ext_int: 0x.. ext_int_err: 0x..
 *   kvm_nested_vmexit_inject: reason: NAME ext_inf1: 0x.. ...
 *   kvm_entry: vcpu N, rip 0x..
 *   kvm_nested_vmenter: rip: 0x.. vmcs: 0x.. nested_rip: 0x.. ...
 * Levels: L0 is the host; an entry or exit is level 2 between a
 * kvm_nested_vmenter and the kvm_nested_vmexit_inject that reflects an exit
 * to L1, else level 1. An L2 exit (kvm_exit + kvm_nested_vmexit) becomes a
 * vmexit at level 2 and a reflect event: decision "l1" when an inject
 * follows, "l0" when L0 re-enters L2 instead. */
#include "nvmx/trace_tools.h"

#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* KVM's VMX_EXIT_REASONS names (arch/x86/include/uapi/asm/vmx.h) and the
 * basic exit reasons they stand for (SDM 3C Appendix C). */
static const struct {
    const char *kvm;
    uint32_t reason;
} kvm_reasons[] = {
    { "EXCEPTION_NMI", 0 },      { "EXTERNAL_INTERRUPT", 1 }, { "TRIPLE_FAULT", 2 },
    { "INIT_SIGNAL", 3 },        { "SIPI_SIGNAL", 4 },        { "INTERRUPT_WINDOW", 7 },
    { "NMI_WINDOW", 8 },         { "TASK_SWITCH", 9 },        { "CPUID", 10 },
    { "HLT", 12 },               { "INVD", 13 },              { "INVLPG", 14 },
    { "RDPMC", 15 },             { "RDTSC", 16 },             { "VMCALL", 18 },
    { "VMCLEAR", 19 },           { "VMLAUNCH", 20 },          { "VMPTRLD", 21 },
    { "VMPTRST", 22 },           { "VMREAD", 23 },            { "VMRESUME", 24 },
    { "VMWRITE", 25 },           { "VMOFF", 26 },             { "VMON", 27 },
    { "CR_ACCESS", 28 },         { "DR_ACCESS", 29 },         { "IO_INSTRUCTION", 30 },
    { "MSR_READ", 31 },          { "MSR_WRITE", 32 },         { "INVALID_STATE", 33 },
    { "MSR_LOAD_FAIL", 34 },     { "MWAIT_INSTRUCTION", 36 }, { "MONITOR_TRAP_FLAG", 37 },
    { "MONITOR_INSTRUCTION", 39 }, { "PAUSE_INSTRUCTION", 40 }, { "MCE_DURING_VMENTRY", 41 },
    { "TPR_BELOW_THRESHOLD", 43 }, { "APIC_ACCESS", 44 },     { "EOI_INDUCED", 45 },
    { "GDTR_IDTR", 46 },         { "LDTR_TR", 47 },           { "EPT_VIOLATION", 48 },
    { "EPT_MISCONFIG", 49 },     { "INVEPT", 50 },            { "RDTSCP", 51 },
    { "PREEMPTION_TIMER", 52 },  { "INVVPID", 53 },           { "WBINVD", 54 },
    { "XSETBV", 55 },            { "APIC_WRITE", 56 },        { "RDRAND", 57 },
    { "INVPCID", 58 },           { "VMFUNC", 59 },            { "ENCLS", 60 },
    { "RDSEED", 61 },            { "PML_FULL", 62 },          { "XSAVES", 63 },
    { "XRSTORS", 64 },           { "UMWAIT", 67 },            { "TPAUSE", 68 },
    { "BUS_LOCK", 74 },          { "NOTIFY", 75 },
};

struct fields {
    bool has_vcpu, has_reason, has_rip;
    int vcpu;
    uint32_t reason;
    uint64_t rip, info1, info2, intr_info, error_code, vmcs;
};

struct importer {
    const char *name;
    FILE *out, *diag;
    const struct trace_import_opts *o;
    struct trace_import_result *res;
    unsigned line;
    bool have_t0;
    uint64_t t0;
    bool in_l2;
    /* an L2 exit whose fate (reflected or handled by L0) is not known yet */
    bool pending;
    uint64_t pending_cycles;
    struct fields pending_f;
    uint64_t vmcs12;
};

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void bad(struct importer *im, const char *fmt, ...)
{
    im->res->errors++;
    if (!im->diag || im->res->errors > TRACE_MAX_DIAGS)
        return;
    fprintf(im->diag, "%s:%u: ", im->name, im->line);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(im->diag, fmt, ap);
    va_end(ap);
    fputc('\n', im->diag);
}

static bool parse_u64(const char *s, uint64_t *v)
{
    char *end;
    if (!*s)
        return false;
    *v = strtoull(s, &end, 0);
    return *end == 0;
}

/* The payload's "key value" / "key: value" pairs that are used. */
static bool parse_fields(struct importer *im, char *payload, struct fields *f)
{
    memset(f, 0, sizeof(*f));
    char *tok[64];
    int n = 0;
    for (char *save = NULL, *t = strtok_r(payload, " \t,", &save); t && n < 64;
         t = strtok_r(NULL, " \t,", &save))
        tok[n++] = t;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(tok[i]);
        if (len && tok[i][len - 1] == ':')
            tok[i][len - 1] = 0;
    }
    for (int i = 0; i + 1 < n; i++) {
        const char *k = tok[i];
        uint64_t v;
        if (!strcmp(k, "reason")) {
            /* "reason [FLAG ...] NAME": the name is the last upper-case
             * word before the next key. */
            int j = i + 1;
            while (j + 1 < n && isupper((unsigned char)tok[j + 1][0]))
                j++;
            bool found = false;
            for (size_t r = 0; r < sizeof(kvm_reasons) / sizeof(kvm_reasons[0]); r++)
                if (!strcmp(tok[j], kvm_reasons[r].kvm)) {
                    f->reason = kvm_reasons[r].reason;
                    found = true;
                }
            if (!found && parse_u64(tok[j], &v) && v <= VMX_EXIT_MAX) {
                f->reason = (uint32_t)v;
                found = true;
            }
            if (!found) {
                bad(im, "unknown exit reason '%.40s'", tok[j]);
                return false;
            }
            f->has_reason = true;
            i = j;
            continue;
        }
        uint64_t *dst = !strcmp(k, "rip")                                   ? &f->rip
                        : !strcmp(k, "info1") || !strcmp(k, "ext_inf1")      ? &f->info1
                        : !strcmp(k, "info2") || !strcmp(k, "ext_inf2")      ? &f->info2
                        : !strcmp(k, "intr_info") || !strcmp(k, "ext_int")   ? &f->intr_info
                        : !strcmp(k, "error_code") || !strcmp(k, "ext_int_err") ? &f->error_code
                        : !strcmp(k, "vmcs")                                 ? &f->vmcs
                                                                             : NULL;
        if (!strcmp(k, "vcpu")) {
            if (!parse_u64(tok[i + 1], &v) || v > 1u << 20) {
                bad(im, "bad vcpu '%.40s'", tok[i + 1]);
                return false;
            }
            f->vcpu = (int)v;
            f->has_vcpu = true;
            i++;
        } else if (dst) {
            if (!parse_u64(tok[i + 1], dst)) {
                bad(im, "bad %s value '%.40s'", k, tok[i + 1]);
                return false;
            }
            f->has_rip |= dst == &f->rip;
            i++;
        }
    }
    return true;
}

static json_t *hex(uint64_t v)
{
    char s[24];
    snprintf(s, sizeof(s), "0x%llx", (unsigned long long)v);
    return json_string(s);
}

static void emit(struct importer *im, json_t *o)
{
    json_dumpf(o, im->out, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    fputc('\n', im->out);
    json_decref(o);
    im->res->events++;
}

static json_t *common(const char *event, uint64_t cycles, int level, uint64_t vmcs)
{
    json_t *o = json_object();
    json_object_set_new(o, "event", json_string(event));
    json_object_set_new(o, "cycles", json_integer((json_int_t)cycles));
    json_object_set_new(o, "insns", json_integer(0));
    json_object_set_new(o, "level", json_integer(level));
    json_object_set_new(o, "vmcs", hex(vmcs));
    return o;
}

static void add_reason(json_t *o, const struct fields *f)
{
    json_object_set_new(o, "reason", json_integer(f->reason));
    json_object_set_new(o, "reason_name", json_string(vmx_exit_reason_name(f->reason)));
    json_object_set_new(o, "qual", hex(f->info1));
}

static void emit_exit(struct importer *im, uint64_t cycles, int level, const struct fields *f)
{
    json_t *o = common("vmexit", cycles, level, level == 2 ? im->vmcs12 : UINT64_MAX);
    add_reason(o, f);
    json_object_set_new(o, "guest_rip", hex(f->rip));
    json_object_set_new(o, "insn_len", json_integer(0));
    json_object_set_new(o, "insn_info", hex(0));
    json_object_set_new(o, "intr_info", hex(f->intr_info));
    json_object_set_new(o, "intr_error", hex(f->error_code));
    json_object_set_new(o, "idt_info", hex(0));
    json_object_set_new(o, "idt_error", hex(0));
    json_object_set_new(o, "cost", json_integer(0));
    emit(im, o);
}

static void emit_reflect(struct importer *im, bool to_l1)
{
    json_t *o = common("reflect", im->pending_cycles, 2, im->vmcs12);
    add_reason(o, &im->pending_f);
    json_object_set_new(o, "decision", json_string(to_l1 ? "l1" : "l0"));
    json_object_set_new(o, "rule", json_string(to_l1 ? "kvm_nested_vmexit_inject followed"
                                                     : "L0 re-entered L2 (no inject)"));
    emit(im, o);
    im->pending = false;
}

static void emit_entry(struct importer *im, uint64_t cycles, int level)
{
    json_t *o = common("vmentry", cycles, level, level == 2 ? im->vmcs12 : UINT64_MAX);
    json_object_set_new(o, "kind", json_string("resume"));
    json_object_set_new(o, "ok", json_true());
    json_object_set_new(o, "cost", json_integer(0));
    emit(im, o);
}

/* "SECONDS.FRACTION" -> ns, exactly. */
static bool parse_ts(const char *s, uint64_t *ns)
{
    char *end;
    unsigned long long sec = strtoull(s, &end, 10);
    if (end == s || *end != '.')
        return false;
    const char *fr = end + 1;
    uint64_t frac = 0;
    int digits = 0;
    for (; isdigit((unsigned char)*fr); fr++)
        if (digits < 9) {
            frac = frac * 10 + (uint64_t)(*fr - '0');
            digits++;
        }
    if (!digits || *fr)
        return false;
    while (digits++ < 9)
        frac *= 10;
    *ns = sec * 1000000000ull + frac;
    return true;
}

static void import_line(struct importer *im, char *text)
{
    /* The event: " kvm_NAME: " after the timestamp. */
    static const char *const events[] = { "kvm_exit", "kvm_entry", "kvm_nested_vmexit",
                                          "kvm_nested_vmexit_inject", "kvm_nested_vmenter" };
    char *ev = NULL;
    size_t which = 0;
    for (size_t i = 0; i < 5; i++) {
        char pat[40];
        snprintf(pat, sizeof(pat), " %s:", events[i]);
        char *p = strstr(text, pat);
        if (p && (!ev || p < ev || (p == ev && strlen(events[i]) > strlen(events[which])))) {
            ev = p;
            which = i;
        }
    }
    if (!ev) {
        im->res->skipped_lines++;
        return;
    }
    /* The timestamp is the word before the event, ending in ':'. */
    *ev = 0;
    char *payload = ev + 2 + strlen(events[which]);
    char *ts = strrchr(text, ' ');
    ts = ts ? ts + 1 : text;
    size_t tl = strlen(ts);
    uint64_t ns;
    if (!tl || ts[tl - 1] != ':' || (ts[tl - 1] = 0, !parse_ts(ts, &ns))) {
        bad(im, "%s: no timestamp (SECONDS.FRACTION:) before the event", events[which]);
        return;
    }
    struct fields f;
    if (!parse_fields(im, payload, &f))
        return;
    if (f.has_vcpu) {
        if (im->res->vcpu < 0)
            im->res->vcpu = f.vcpu;
        if (f.vcpu != im->res->vcpu) {
            im->res->other_vcpu++;
            return;
        }
    }
    if (!im->have_t0) {
        im->have_t0 = true;
        im->t0 = ns;
    }
    if (ns < im->t0) {
        bad(im, "timestamp goes back before the first event");
        return;
    }
    uint64_t cycles = (uint64_t)((double)(ns - im->t0) * im->o->cycles_per_ns + 0.5);
    switch (which) {
    case 0: /* kvm_exit */
        if (!f.has_reason) {
            bad(im, "kvm_exit without a reason");
            return;
        }
        emit_exit(im, cycles, im->in_l2 ? 2 : 1, &f);
        break;
    case 1: /* kvm_entry */
        if (im->pending)
            emit_reflect(im, false); /* L0 handled the L2 exit itself */
        emit_entry(im, cycles, im->in_l2 ? 2 : 1);
        break;
    case 2: /* kvm_nested_vmexit: the L2 exit seen by L0 */
        if (!f.has_reason) {
            bad(im, "kvm_nested_vmexit without a reason");
            return;
        }
        im->in_l2 = true;
        im->pending = true;
        im->pending_cycles = cycles;
        im->pending_f = f;
        break;
    case 3: /* kvm_nested_vmexit_inject: reflected to L1 */
        if (!f.has_reason) {
            bad(im, "kvm_nested_vmexit_inject without a reason");
            return;
        }
        if (!im->pending) {
            im->pending_cycles = cycles;
            im->pending_f = f;
        }
        emit_reflect(im, true);
        im->in_l2 = false;
        break;
    case 4: /* kvm_nested_vmenter: L1 enters L2 */
        im->in_l2 = true;
        if (f.vmcs)
            im->vmcs12 = f.vmcs;
        break;
    }
}

bool trace_import_ftrace(FILE *in, const char *name, FILE *out,
                         const struct trace_import_opts *o, FILE *diag,
                         struct trace_import_result *res)
{
    memset(res, 0, sizeof(*res));
    res->vcpu = o->vcpu;
    struct importer im = { .name = name, .out = out, .diag = diag, .o = o, .res = res,
                           .vmcs12 = UINT64_MAX };
    /* The header: no image; the config says where the events come from. */
    json_t *h = json_object(), *cfg = json_object();
    json_object_set_new(h, "event", json_string("header"));
    json_object_set_new(h, "schema", json_integer(TRACE_SCHEMA_VERSION));
    json_object_set_new(h, "nvmx", json_null());
    json_object_set_new(h, "image", json_null());
    json_object_set_new(cfg, "imported_from", json_string("trace-cmd report"));
    json_object_set_new(cfg, "file", json_string(name));
    json_object_set_new(cfg, "cycles_per_ns", json_real(o->cycles_per_ns));
    json_object_set_new(h, "config", cfg);
    json_dumpf(h, out, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    fputc('\n', out);
    json_decref(h);

    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&buf, &cap, in)) != -1) {
        im.line++;
        res->lines++;
        if (n && buf[n - 1] == '\n')
            buf[--n] = 0;
        if (memchr(buf, 0, (size_t)n)) {
            bad(&im, "binary data (a trace.dat? give `trace-cmd report` text)");
            break;
        }
        import_line(&im, buf);
    }
    free(buf);
    if (im.pending)
        emit_reflect(&im, false);
    if (ferror(in))
        bad(&im, "read error");
    if (!res->errors && !res->events) {
        res->errors++;
        if (diag)
            fprintf(diag, "%s: no kvm_exit, kvm_entry or kvm_nested_* events\n", name);
    }
    return res->errors == 0 && !ferror(out);
}
