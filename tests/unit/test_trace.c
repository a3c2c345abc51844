/* The JSON trace: exact lines the writer gives for synthetic VMX events, the
 * reader's FILE:LINE reports for malformed lines, and the exit statistics of
 * `nvmx trace stats` (counts, shares, min/max/avg cycles). */
#define _GNU_SOURCE
#include "nvmx/trace.h"
#include "harness.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The header's schema number, as the writer prints it. */
#define SCHEMA_STR_(v) #v
#define SCHEMA_STR(v) SCHEMA_STR_(v)
#define SCHEMA SCHEMA_STR(TRACE_SCHEMA_VERSION)

/* Everything a function writes to a stream, as one string (caller frees). */
struct capture {
    char *buf;
    size_t len;
    FILE *f;
};
static void cap_open(struct capture *c)
{
    c->buf = NULL;
    c->len = 0;
    c->f = open_memstream(&c->buf, &c->len);
    ck_assert_ptr_nonnull(c->f);
}
static char *cap_close(struct capture *c)
{
    fclose(c->f);
    return c->buf;
}

static char *write_events(const struct trace_event *evs, unsigned n)
{
    struct capture cap;
    cap_open(&cap);
    struct trace_writer *w = trace_writer_from_stream(cap.f, "mem");
    for (unsigned i = 0; i < n; i++)
        trace_write_event(w, &evs[i]);
    char err[128];
    ck_assert(trace_writer_close(w, err, sizeof(err)));
    return cap_close(&cap);
}

/* ---- writer -------------------------------------------------------------- */

static const uint64_t header_msrs[VMX_MSR_COUNT] = {
    [VMX_MSR_BASIC] = 0xda0400000004ull, [VMX_MSR_MISC] = 0x7004c1e7ull,
};

START_TEST(header_line_is_exact)
{
    struct trace_header h = {
        .nvmx_version = "1.2.3", .image = "k.elf", .cpu_name = "skylake-server",
        .cpu_file = "cpu/skylake-server.json", .cost_name = "c", .cost_file = "x/c.json",
        .mem = 1u << 20, .max_insns = 5, .cmdline = NULL, .feature_control_locked = true,
        .vmx_msrs = _i ? header_msrs : NULL,
    };
    struct capture cap;
    cap_open(&cap);
    struct trace_writer *w = trace_writer_from_stream(cap.f, "mem");
    ck_assert(trace_write_header(w, &h));
    char err[128];
    ck_assert(trace_writer_close(w, err, sizeof(err)));
    char *out = cap_close(&cap);
    const char *msrs =
        _i ? "{\"IA32_VMX_BASIC\":\"0xda0400000004\",\"IA32_VMX_PINBASED_CTLS\":\"0x0\","
             "\"IA32_VMX_PROCBASED_CTLS\":\"0x0\",\"IA32_VMX_EXIT_CTLS\":\"0x0\","
             "\"IA32_VMX_ENTRY_CTLS\":\"0x0\",\"IA32_VMX_MISC\":\"0x7004c1e7\","
             "\"IA32_VMX_CR0_FIXED0\":\"0x0\",\"IA32_VMX_CR0_FIXED1\":\"0x0\","
             "\"IA32_VMX_CR4_FIXED0\":\"0x0\",\"IA32_VMX_CR4_FIXED1\":\"0x0\","
             "\"IA32_VMX_VMCS_ENUM\":\"0x0\",\"IA32_VMX_PROCBASED_CTLS2\":\"0x0\","
             "\"IA32_VMX_EPT_VPID_CAP\":\"0x0\",\"IA32_VMX_TRUE_PINBASED_CTLS\":\"0x0\","
             "\"IA32_VMX_TRUE_PROCBASED_CTLS\":\"0x0\",\"IA32_VMX_TRUE_EXIT_CTLS\":\"0x0\","
             "\"IA32_VMX_TRUE_ENTRY_CTLS\":\"0x0\",\"IA32_VMX_VMFUNC\":\"0x0\"}"
           : "null";
    char want[2048];
    snprintf(want, sizeof(want),
             "{\"event\":\"header\",\"schema\":" SCHEMA ",\"nvmx\":\"1.2.3\",\"image\":\"k.elf\","
             "\"config\":{\"cpu\":{\"name\":\"skylake-server\",\"file\":"
             "\"cpu/skylake-server.json\"},\"cost\":{\"name\":\"c\",\"file\":\"x/c.json\"},"
             "\"mem\":1048576,\"max_insns\":5,\"cmdline\":null,"
             "\"feature_control_locked\":true,\"vmx_msrs\":%s}}\n",
             msrs);
    ck_assert_str_eq(out, want);
    free(out);
}
END_TEST

/* Synthetic events and the exact line each must give. */
static const struct {
    struct trace_event ev;
    const char *line;
} event_lines[] = {
    { { .type = TRACE_EV_vmexit, .cycles = 5000, .insns = 120, .vmcs = 0x3000, .level = 1,
        .vmexit = { .cost = 450, .reason = VMX_EXIT_cpuid, .guest_rip = 0x401000, .insn_len = 2,
                    .insn_bytes = { .rip = 0x401000, .bytes = { 0x0f, 0xa2, 0x90, 0x90 },
                                    .nbytes = 4, .code_size = 8 } } },
      "{\"event\":\"vmexit\",\"cycles\":5000,\"insns\":120,\"level\":1,\"vmcs\":\"0x3000\","
      "\"reason\":10,\"reason_name\":\"cpuid\",\"qual\":\"0x0\",\"guest_rip\":\"0x401000\","
      "\"insn_len\":2,\"insn_info\":\"0x0\",\"insn_bytes\":\"0f a2\",\"insn\":\"cpuid\","
      "\"intr_info\":\"0x0\",\"intr_error\":\"0x0\",\"idt_info\":\"0x0\",\"idt_error\":\"0x0\","
      "\"cost\":450}" },
    /* RDMSR and WRMSR exits carry the MSR (ECX), MSR 0 included */
    { { .type = TRACE_EV_vmexit, .cycles = 60, .insns = 6, .vmcs = 0x3000, .level = 1,
        .vmexit = { .cost = 450, .reason = VMX_EXIT_rdmsr, .msr = 0xc0000080, .guest_rip = 0x10,
                    .insn_len = 2 } },
      "{\"event\":\"vmexit\",\"cycles\":60,\"insns\":6,\"level\":1,\"vmcs\":\"0x3000\","
      "\"reason\":31,\"reason_name\":\"rdmsr\",\"qual\":\"0x0\",\"msr\":\"0xc0000080\","
      "\"guest_rip\":\"0x10\",\"insn_len\":2,\"insn_info\":\"0x0\",\"intr_info\":\"0x0\","
      "\"intr_error\":\"0x0\",\"idt_info\":\"0x0\",\"idt_error\":\"0x0\",\"cost\":450}" },
    { { .type = TRACE_EV_vmexit, .cycles = 61, .insns = 7, .vmcs = 0x3000, .level = 1,
        .vmexit = { .cost = 450, .reason = VMX_EXIT_wrmsr, .msr = 0, .guest_rip = 0x12,
                    .insn_len = 2 } },
      "{\"event\":\"vmexit\",\"cycles\":61,\"insns\":7,\"level\":1,\"vmcs\":\"0x3000\","
      "\"reason\":32,\"reason_name\":\"wrmsr\",\"qual\":\"0x0\",\"msr\":\"0x0\","
      "\"guest_rip\":\"0x12\",\"insn_len\":2,\"insn_info\":\"0x0\",\"intr_info\":\"0x0\","
      "\"intr_error\":\"0x0\",\"idt_info\":\"0x0\",\"idt_error\":\"0x0\",\"cost\":450}" },
    /* #PF through the exception bitmap during delivery of INT 0x80, 32-bit code */
    { { .type = TRACE_EV_vmexit, .cycles = 7, .insns = 1, .vmcs = 0x3000, .level = 1,
        .vmexit = { .cost = 450, .reason = VMX_EXIT_exception_nmi, .qual = 0xdeadb000,
                    .guest_rip = 0x1234, .guest_linear = 0xdeadb000, .guest_physical = 0x5000,
                    .intr_info = 0x80000b0e, .intr_error = 2, .idt_info = 0x80000480,
                    .insn_bytes = { .rip = 0x1234, .bytes = { 0x89, 0x03 }, .nbytes = 2,
                                    .code_size = 4 } } },
      "{\"event\":\"vmexit\",\"cycles\":7,\"insns\":1,\"level\":1,\"vmcs\":\"0x3000\","
      "\"reason\":0,\"reason_name\":\"exception_nmi\",\"qual\":\"0xdeadb000\","
      "\"guest_rip\":\"0x1234\",\"guest_linear\":\"0xdeadb000\",\"guest_physical\":\"0x5000\","
      "\"insn_len\":0,\"insn_info\":\"0x0\",\"insn_bytes\":\"89 03\","
      "\"insn\":\"mov dword ptr [ebx], eax\",\"intr_info\":\"0x80000b0e\","
      "\"intr_error\":\"0x2\",\"idt_info\":\"0x80000480\",\"idt_error\":\"0x0\",\"cost\":450}" },
    { { .type = TRACE_EV_vmentry, .cycles = 900, .insns = 50, .vmcs = 0x3000, .level = 1,
        .vmentry = { .cost = 480, .kind = "launch", .ok = true } },
      "{\"event\":\"vmentry\",\"cycles\":900,\"insns\":50,\"level\":1,\"vmcs\":\"0x3000\","
      "\"kind\":\"launch\",\"ok\":true,\"cost\":480}" },
    { { .type = TRACE_EV_vmentry, .cycles = 901, .insns = 51, .vmcs = 0x3000, .level = 1,
        .vmentry = { .cost = 480, .kind = "resume", .error = VMX_INSN_ERR_ENTRY_INVALID_HOST_STATE,
                     .check = "host CR4 vs IA32_VMX_CR4_FIXED0/1", .detail = "host_cr4=0x0" } },
      "{\"event\":\"vmentry\",\"cycles\":901,\"insns\":51,\"level\":1,\"vmcs\":\"0x3000\","
      "\"kind\":\"resume\",\"ok\":false,\"error\":8,\"error_name\":\"ENTRY_INVALID_HOST_STATE\","
      "\"error_text\":\"VM entry with invalid host-state field(s)\","
      "\"check\":\"host CR4 vs IA32_VMX_CR4_FIXED0/1\",\"detail\":\"host_cr4=0x0\","
      "\"cost\":480}" },
    { { .type = TRACE_EV_vmentry, .cycles = 902, .insns = 52, .vmcs = 0x3000, .level = 1,
        .vmentry = { .cost = 480, .kind = "launch",
                     .reason = VMX_EXIT_REASON_ENTRY_FAILURE | VMX_EXIT_entry_fail_guest_state,
                     .qual = 0, .check = "guest CR0.PG requires CR0.PE",
                     .detail = "guest_cr0=0x80000000" } },
      "{\"event\":\"vmentry\",\"cycles\":902,\"insns\":52,\"level\":1,\"vmcs\":\"0x3000\","
      "\"kind\":\"launch\",\"ok\":false,\"reason\":33,\"reason_name\":\"entry_fail_guest_state\","
      "\"exit_reason\":\"0x80000021\",\"qual\":\"0x0\",\"check\":\"guest CR0.PG requires "
      "CR0.PE\",\"detail\":\"guest_cr0=0x80000000\",\"cost\":480}" },
    { { .type = TRACE_EV_vmfail, .cycles = 10, .insns = 3, .vmcs = ~0ull, .level = 1,
        .vmfail = { .insn = "vmptrld", .error = VMX_INSN_ERR_VMPTRLD_BAD_REVISION } },
      "{\"event\":\"vmfail\",\"cycles\":10,\"insns\":3,\"level\":1,"
      "\"vmcs\":\"0xffffffffffffffff\",\"insn\":\"vmptrld\",\"error\":11,"
      "\"error_name\":\"VMPTRLD_BAD_REVISION\","
      "\"error_text\":\"VMPTRLD with incorrect VMCS revision identifier\"}" },
    { { .type = TRACE_EV_vmfail, .cycles = 11, .insns = 4, .vmcs = ~0ull, .level = 1,
        .vmfail = { .insn = "vmlaunch", .error = 0 } },
      "{\"event\":\"vmfail\",\"cycles\":11,\"insns\":4,\"level\":1,"
      "\"vmcs\":\"0xffffffffffffffff\",\"insn\":\"vmlaunch\",\"error\":0,"
      "\"error_name\":\"VMfailInvalid\",\"error_text\":\"VMfailInvalid (no current VMCS)\"}" },
};
#define N_EVENT_LINES ((int)(sizeof(event_lines) / sizeof(event_lines[0])))

START_TEST(event_line_is_exact)
{
    char *out = write_events(&event_lines[_i].ev, 1);
    char want[1024];
    snprintf(want, sizeof(want), "%s\n", event_lines[_i].line);
    ck_assert_msg(!strcmp(out, want), "event %d:\n got  %s want %s", _i, out, want);
    free(out);
}
END_TEST

START_TEST(same_events_give_same_bytes)
{
    struct trace_event evs[N_EVENT_LINES];
    for (int i = 0; i < N_EVENT_LINES; i++)
        evs[i] = event_lines[i].ev;
    char *a = write_events(evs, N_EVENT_LINES), *b = write_events(evs, N_EVENT_LINES);
    ck_assert_str_eq(a, b);
    free(a);
    free(b);
}
END_TEST

/* ---- reader -------------------------------------------------------------- */

static const char good_header[] =
    "{\"event\":\"header\",\"schema\":" SCHEMA ",\"nvmx\":\"0.1.0\",\"image\":\"k\",\"config\":{}}\n";

/* Read text as trace "t.jsonl": the diagnostics, the result, the records. */
static bool read_text(const char *text, char **diags, struct trace_read_result *res,
                      struct trace_stats *st)
{
    FILE *in = fmemopen((void *)text, strlen(text), "r");
    ck_assert_ptr_nonnull(in);
    struct capture cap;
    cap_open(&cap);
    bool ok = trace_read(in, "t.jsonl", st ? trace_stats_add : NULL, st, cap.f, res);
    fclose(in);
    *diags = cap_close(&cap);
    return ok;
}

static const struct {
    const char *line2; /* the second line, after a valid header */
    const char *diag;  /* the one diagnostic expected */
} bad_lines[] = {
    { "{\"event\":\"vmexit\",\n", "t.jsonl:2: bad JSON at column" },
    { "[1,2]\n", "t.jsonl:2: not a JSON object" },
    { "\n", "t.jsonl:2: empty line" },
    { "{\"cycles\":1}\n", "t.jsonl:2: missing key \"event\"" },
    { "{\"event\":7}\n", "t.jsonl:2: \"event\" must be a string" },
    { "{\"event\":\"future_event\",\"level\":\"2\"}\n", "t.jsonl:2: warning: unknown event \"future_event\"" },
    { "{\"event\":\"vmfail\",\"cycles\":1,\"insns\":1,\"level\":1,\"vmcs\":\"0x0\","
      "\"insn\":\"vmptrld\",\"error_name\":\"x\",\"error_text\":\"x\"}\n",
      "t.jsonl:2: vmfail: missing key \"error\"" },
    { "{\"event\":\"vmfail\",\"cycles\":\"1\",\"insns\":1,\"level\":1,\"vmcs\":\"0x0\","
      "\"insn\":\"vmptrld\",\"error\":1,\"error_name\":\"x\",\"error_text\":\"x\"}\n",
      "t.jsonl:2: vmfail: \"cycles\" must be a non-negative integer" },
    { "{\"event\":\"vmfail\",\"cycles\":1,\"insns\":1,\"level\":1,\"vmcs\":\"12\","
      "\"insn\":\"vmptrld\",\"error\":1,\"error_name\":\"x\",\"error_text\":\"x\"}\n",
      "t.jsonl:2: vmfail: \"vmcs\" must be a hex string (\"0x...\")" },
    { "{\"event\":\"vmentry\",\"cycles\":1,\"insns\":1,\"level\":1,\"vmcs\":\"0x0\","
      "\"kind\":\"start\",\"ok\":true,\"cost\":1}\n",
      "t.jsonl:2: vmentry: \"kind\" must be \"launch\" or \"resume\"" },
    { "{\"event\":\"vmentry\",\"cycles\":1,\"insns\":1,\"level\":1,\"vmcs\":\"0x0\","
      "\"kind\":\"launch\",\"ok\":false,\"check\":null,\"detail\":\"\",\"cost\":1}\n",
      "t.jsonl:2: vmentry: a failed entry needs \"error\" or \"reason\"" },
    { "{\"event\":\"vmentry\",\"cycles\":1,\"insns\":1,\"level\":1,\"vmcs\":\"0x0\","
      "\"kind\":\"launch\",\"ok\":1,\"cost\":1}\n",
      "t.jsonl:2: vmentry: \"ok\" must be true or false" },
    { "{\"event\":\"vmexit\",\"cycles\":1,\"insns\":1,\"level\":1,\"vmcs\":\"0x0\","
      "\"reason\":99,\"reason_name\":\"x\",\"qual\":\"0x0\",\"guest_rip\":\"0x0\","
      "\"insn_len\":0,\"insn_info\":\"0x0\",\"intr_info\":\"0x0\",\"intr_error\":\"0x0\","
      "\"idt_info\":\"0x0\",\"idt_error\":\"0x0\",\"cost\":1}\n",
      "t.jsonl:2: vmexit: \"reason\" is 99, above 80" },
    { "{\"event\":\"vmexit\",\"cycles\":1,\"insns\":1,\"level\":1,\"vmcs\":\"0x0\","
      "\"reason\":10,\"reason_name\":\"cpuid\",\"qual\":\"0x0\",\"guest_rip\":\"0x0\","
      "\"insn_len\":2,\"insn_info\":\"0x0\",\"intr_info\":\"0x0\",\"intr_error\":\"0x0\","
      "\"idt_info\":\"0x0\",\"cost\":1}\n",
      "t.jsonl:2: vmexit: missing key \"idt_error\"" },
    { good_header, "t.jsonl:2: header: only the first line may be a header" },
};
#define N_BAD_LINES ((int)(sizeof(bad_lines) / sizeof(bad_lines[0])))

START_TEST(malformed_line_reported_with_file_and_line)
{
    char text[2048], *diags;
    snprintf(text, sizeof(text), "%s%s", good_header, bad_lines[_i].line2);
    struct trace_read_result res;
    bool ok = read_text(text, &diags, &res, NULL);
    ck_assert_msg(!ok, "case %d: malformed line accepted", _i);
    ck_assert_msg(res.errors == 1, "case %d: %u errors, expected 1:\n%s", _i, res.errors, diags);
    ck_assert_msg(!strncmp(diags, bad_lines[_i].diag, strlen(bad_lines[_i].diag)),
                  "case %d: diagnostic\n got  %s want %s", _i, diags, bad_lines[_i].diag);
    ck_assert_msg(res.records == 0, "case %d: %u records from a bad line", _i, res.records);
    free(diags);
}
END_TEST

START_TEST(first_line_must_be_header)
{
    char *diags;
    struct trace_read_result res;
    ck_assert(!read_text("{\"event\":\"vmfail\"}\n", &diags, &res, NULL));
    ck_assert_msg(!strncmp(diags, "t.jsonl:1: the first line must be the header, not \"vmfail\"",
                           58), "got %s", diags);
    free(diags);
    ck_assert(!read_text("", &diags, &res, NULL));
    ck_assert_str_eq(diags, "t.jsonl: empty trace (no header line)\n");
    free(diags);
    ck_assert(!read_text("{\"event\":\"header\",\"schema\":99,\"nvmx\":null,\"image\":null,"
                         "\"config\":{}}\n", &diags, &res, NULL));
    ck_assert_str_eq(diags, "t.jsonl:1: header: schema 99 is not supported (this nvmx reads "
                            "schema 1-" SCHEMA ")\n");
    free(diags);
    ck_assert(!read_text("{\"event\":\"header\",\"schema\":0,\"nvmx\":null,\"image\":null,"
                         "\"config\":{}}\n", &diags, &res, NULL));
    ck_assert_str_eq(diags, "t.jsonl:1: header: schema 0 is not supported (this nvmx reads "
                            "schema 1-" SCHEMA ")\n");
    free(diags);
}
END_TEST

/* The writer's own output reads back without complaint, record by record. */
START_TEST(written_events_read_back)
{
    struct trace_event evs[N_EVENT_LINES];
    for (int i = 0; i < N_EVENT_LINES; i++)
        evs[i] = event_lines[i].ev;
    char *body = write_events(evs, N_EVENT_LINES);
    char *text = malloc(strlen(good_header) + strlen(body) + 1);
    strcpy(text, good_header);
    strcat(text, body);
    char *diags;
    struct trace_read_result res;
    struct trace_stats st;
    trace_stats_init(&st);
    bool ok = read_text(text, &diags, &res, &st);
    ck_assert_msg(ok, "diagnostics: %s", diags);
    ck_assert_str_eq(diags, "");
    ck_assert_uint_eq(res.records, N_EVENT_LINES);
    ck_assert_uint_eq(st.exits, 4);
    ck_assert_uint_eq(st.exit[VMX_EXIT_cpuid].samples, 1);
    ck_assert_uint_eq(st.exit[VMX_EXIT_rdmsr].samples, 1);
    ck_assert_uint_eq(st.exit[VMX_EXIT_wrmsr].samples, 1);
    ck_assert_uint_eq(st.exit[VMX_EXIT_exception_nmi].samples, 1);
    ck_assert_uint_eq(st.entries, 1);
    ck_assert_uint_eq(st.failed_entries, 2);
    ck_assert_uint_eq(st.vmfails, 2);
    free(text);
    free(body);
    free(diags);
}
END_TEST

START_TEST(truncated_last_line_is_a_warning)
{
    char text[1024], *diags;
    snprintf(text, sizeof(text),
             "%s{\"event\":\"vmfail\",\"cycles\":1,\"insns\":1,\"level\":1,\"vmcs\":\"0x0\","
             "\"insn\":\"vmxon\",\"error\":15,\"error_name\":\"VMXON_IN_ROOT\","
             "\"error_text\":\"VMXON executed in VMX root operation\"}\n"
             "{\"event\":\"vmexit\",\"cycles\":5,\"ins",
             good_header);
    struct trace_read_result res;
    struct trace_stats st;
    trace_stats_init(&st);
    ck_assert(read_text(text, &diags, &res, &st));
    ck_assert_str_eq(diags, "t.jsonl:3: warning: truncated last line (partial trace); ignored\n");
    ck_assert_uint_eq(res.warnings, 1);
    ck_assert_uint_eq(res.records, 1);
    ck_assert_uint_eq(st.vmfails, 1);
    free(diags);
}
END_TEST

/* ---- statistics ------------------------------------------------------------ */

static void add(struct trace_stats *s, enum trace_event_type t, uint64_t cycles, uint32_t cost,
                uint32_t reason, bool ok)
{
    struct trace_record r = { .type = t, .cycles = cycles, .cost = cost, .level = 1,
                              .reason = reason, .ok = ok, .launch = cycles == 0 };
    trace_stats_add(s, &r);
}

/* launch; 3 CPUID exits with round trips 1000, 1200, 1100; one HLT exit of
 * 700; a failed resume inside the HLT handling; a final CPUID exit never
 * re-entered (a sample without time); one VMfail. */
static void synthetic_run(struct trace_stats *s)
{
    trace_stats_init(s);
    add(s, TRACE_EV_vmentry, 0, 480, 0, true);
    add(s, TRACE_EV_vmexit, 1450, 450, VMX_EXIT_cpuid, false);   /* start 1000 */
    add(s, TRACE_EV_vmentry, 2000, 480, 0, true);                 /* 1000 */
    add(s, TRACE_EV_vmexit, 3450, 450, VMX_EXIT_cpuid, false);   /* start 3000 */
    add(s, TRACE_EV_vmentry, 4200, 480, 0, true);                 /* 1200 */
    add(s, TRACE_EV_vmexit, 5450, 450, VMX_EXIT_hlt, false);     /* start 5000 */
    add(s, TRACE_EV_vmentry, 5600, 480, 0, false);                /* failed: still open */
    add(s, TRACE_EV_vmentry, 5700, 480, 0, true);                 /* 700 */
    add(s, TRACE_EV_vmexit, 6450, 450, VMX_EXIT_cpuid, false);   /* start 6000 */
    add(s, TRACE_EV_vmentry, 7100, 480, 0, true);                 /* 1100 */
    add(s, TRACE_EV_vmfail, 7200, 0, 0, false);
    add(s, TRACE_EV_vmexit, 8450, 450, VMX_EXIT_cpuid, false);   /* never re-entered */
}

START_TEST(stats_counts_and_cycles)
{
    struct trace_stats s;
    synthetic_run(&s);
    const struct trace_exit_stat *cpuid = &s.exit[VMX_EXIT_cpuid], *hlt = &s.exit[VMX_EXIT_hlt];
    ck_assert_uint_eq(s.exits, 5);
    ck_assert_uint_eq(cpuid->samples, 4);
    ck_assert_uint_eq(cpuid->timed, 3);
    ck_assert_uint_eq(cpuid->min, 1000);
    ck_assert_uint_eq(cpuid->max, 1200);
    ck_assert_uint_eq(cpuid->time, 3300);
    ck_assert_uint_eq(hlt->samples, 1);
    ck_assert_uint_eq(hlt->min, 700);
    ck_assert_uint_eq(hlt->max, 700);
    ck_assert_uint_eq(s.total_time, 4000);
    ck_assert_uint_eq(s.entries, 5);
    ck_assert_uint_eq(s.launches, 1);
    ck_assert_uint_eq(s.resumes, 4);
    ck_assert_uint_eq(s.failed_entries, 1);
    ck_assert_uint_eq(s.vmfails, 1);
}
END_TEST

START_TEST(stats_table_is_exact)
{
    struct trace_stats s;
    synthetic_run(&s);
    struct capture cap;
    cap_open(&cap);
    trace_stats_print(&s, cap.f);
    char *out = cap_close(&cap);
    /* Samples% 4/5 and 1/5; Time% 3300/4000 and 700/4000; avg 3300/3 */
    ck_assert_str_eq(out,
                     "Analyze events for all VMs, all VCPUs:\n\n"
                     "             VM-EXIT    Samples  Samples%     Time%  Min cycles  Max "
                     "cycles  Avg cycles\n\n"
                     "               cpuid          4    80.00%    82.50%        1000       "
                     " 1200     1100.00\n"
                     "                 hlt          1    20.00%    17.50%         700       "
                     "  700      700.00\n"
                     "\nTotal Samples:5, Total cycles:4000.\n"
                     "VM entries: 5 (1 launch, 4 resume), failed entries: 1, vmfails: 1\n");
    free(out);
}
END_TEST

START_TEST(stats_exits_at_other_levels_do_not_close)
{
    struct trace_stats s;
    trace_stats_init(&s);
    struct trace_record ex = { .type = TRACE_EV_vmexit, .cycles = 500, .cost = 100, .level = 2,
                               .reason = VMX_EXIT_vmcall };
    struct trace_record en1 = { .type = TRACE_EV_vmentry, .cycles = 900, .level = 1, .ok = true };
    struct trace_record en2 = { .type = TRACE_EV_vmentry, .cycles = 1400, .level = 2, .ok = true };
    trace_stats_add(&s, &ex);
    trace_stats_add(&s, &en1);
    ck_assert_uint_eq(s.exit[VMX_EXIT_vmcall].timed, 0);
    trace_stats_add(&s, &en2);
    ck_assert_uint_eq(s.exit[VMX_EXIT_vmcall].timed, 1);
    ck_assert_uint_eq(s.exit[VMX_EXIT_vmcall].min, 1000);
}
END_TEST

/* ---- the documentation ------------------------------------------------------ */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    struct capture cap;
    cap_open(&cap);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        fwrite(buf, 1, n, cap.f);
    fclose(f);
    return cap_close(&cap);
}

/* The text of the section whose heading line starts with `heading` ("## "
 * or "### " and the rest), up to the next heading; NULL when there is none.
 * Caller frees. */
static char *doc_section(const char *doc, const char *heading)
{
    char pat[128];
    snprintf(pat, sizeof(pat), "\n%s", heading);
    const char *a = strstr(doc, pat);
    if (!a) {
        snprintf(pat, sizeof(pat), "\n#%s", heading);
        a = strstr(doc, pat);
    }
    if (!a)
        return NULL;
    a += 1;
    const char *b = strstr(a + 1, "\n#");
    size_t n = b ? (size_t)(b - a) : strlen(a);
    char *sec = malloc(n + 1);
    memcpy(sec, a, n);
    sec[n] = '\0';
    return sec;
}

/* The Type cell of the table row "| `key` | TYPE | ..." in sec, or NULL. */
static bool doc_key_type(const char *sec, const char *key, char *type, size_t len)
{
    char pat[96];
    snprintf(pat, sizeof(pat), "\n| `%s` | ", key);
    const char *a = strstr(sec, pat);
    if (!a)
        return false;
    a += strlen(pat);
    const char *b = strstr(a, " |");
    if (!b)
        return false;
    snprintf(type, len, "%.*s", (int)(b - a), a);
    return true;
}

/* How docs/trace-schema.md spells each type of the .def. */
static const char *doc_type_of(enum trace_field_type t)
{
    switch (t) {
    case TRACE_T_INT:
    case TRACE_T_U32:
    case TRACE_T_LEVEL:
    case TRACE_T_LEN:
    case TRACE_T_REASON: return "int";
    case TRACE_T_HEX:
    case TRACE_T_OPT_HEX:
    case TRACE_T_EXIT_REASON: return "hex";
    case TRACE_T_WRITES:
    case TRACE_T_WRITES_ORIGIN: return "array";
    case TRACE_T_BOOL: return "bool";
    case TRACE_T_STRN:
    case TRACE_T_DISASM: return "string or null";
    default: return "string";
    }
}

static const char *row_heading(const struct trace_row *r, char *buf, size_t len)
{
    if (r->kind == TRACE_ROW_COMMON)
        return "## Keys common to every event";
    snprintf(buf, len, "## `%s`", trace_event_name(r->event));
    return buf;
}

/* Every key of include/nvmx/trace_events.def has a row, with its type, in
 * its event's table of docs/trace-schema.md. */
START_TEST(every_key_is_documented)
{
    char *doc = slurp(NVMX_SOURCE_DIR "/docs/trace-schema.md");
    unsigned checked = 0;
    for (unsigned i = 0; i < trace_nrows; i++) {
        const struct trace_row *r = &trace_rows[i];
        char hb[64], type[64];
        const char *heading = row_heading(r, hb, sizeof(hb));
        char *sec = doc_section(doc, heading);
        ck_assert_msg(sec != NULL, "docs/trace-schema.md: no section \"%s\"", heading);
        if (r->kind != TRACE_ROW_EVENT) {
            ck_assert_msg(doc_key_type(sec, r->key, type, sizeof(type)),
                          "docs/trace-schema.md: \"%s\" does not document key `%s`", heading,
                          r->key);
            ck_assert_msg(!strcmp(type, doc_type_of(r->type)),
                          "docs/trace-schema.md: %s `%s` has type \"%s\", expected \"%s\"",
                          heading, r->key, type, doc_type_of(r->type));
            checked++;
        }
        free(sec);
    }
    ck_assert_uint_gt(checked, 30);
    free(doc);
}
END_TEST

/* And the other way: every key an event's table documents is in the .def. */
START_TEST(every_documented_key_exists)
{
    char *doc = slurp(NVMX_SOURCE_DIR "/docs/trace-schema.md");
    for (unsigned t = 0; t <= TRACE_EV_COUNT; t++) {
        char heading[64];
        if (t == TRACE_EV_COUNT)
            snprintf(heading, sizeof(heading), "## Keys common to every event");
        else
            snprintf(heading, sizeof(heading), "## `%s`", trace_event_name(t));
        char *sec = doc_section(doc, heading);
        ck_assert_msg(sec != NULL, "docs/trace-schema.md: no section \"%s\"", heading);
        for (const char *p = strstr(sec, "\n| `"); p; p = strstr(p + 1, "\n| `")) {
            char key[64];
            if (sscanf(p, "\n| `%63[^`]`", key) != 1)
                continue;
            bool found = t == TRACE_EV_COUNT && !strcmp(key, "event");
            for (unsigned i = 0; i < trace_nrows && !found; i++) {
                const struct trace_row *r = &trace_rows[i];
                found = r->kind != TRACE_ROW_EVENT && !strcmp(r->key, key) &&
                        (t == TRACE_EV_COUNT ? r->kind == TRACE_ROW_COMMON
                                             : r->kind == TRACE_ROW_FIELD && r->event == t);
            }
            ck_assert_msg(found, "docs/trace-schema.md: %s documents `%s`, which is not in "
                          "include/nvmx/trace_events.def", heading, key);
        }
        free(sec);
    }
    free(doc);
}
END_TEST

/* ---- strings, volume, compression, failure --------------------------------------- */

/* Strings are escaped as jansson's ASCII-only dump escaped them. */
START_TEST(strings_escaped_as_before)
{
    struct trace_header h = {
        .nvmx_version = "1", .image = "\xc3\xa9 \xf0\x9f\x98\x80 bad\xff",
        .cmdline = "a\x01\x1f\x7f\"\\/\b\f\n\r\t",
    };
    struct capture cap;
    cap_open(&cap);
    struct trace_writer *w = trace_writer_from_stream(cap.f, "mem");
    ck_assert(trace_write_header(w, &h));
    char err[128];
    ck_assert(trace_writer_close(w, err, sizeof(err)));
    char *out = cap_close(&cap);
    ck_assert_msg(strstr(out, "\"image\":\"\\u00E9 \\uD83D\\uDE00 bad\\uFFFD\"") != NULL,
                  "got %s", out);
    ck_assert_msg(strstr(out, "\"cmdline\":\"a\\u0001\\u001F\x7f\\\"\\\\/\\b\\f\\n\\r\\t\"") !=
                      NULL, "got %s", out);
    free(out);
}
END_TEST

/* Far more events than the queue holds: all written, in order. */
static struct trace_stats volume_stats;
static uint64_t volume_last, volume_n;
static bool volume_count(void *ctx, const struct trace_record *r)
{
    ck_assert_uint_gt(r->cycles, volume_last);
    volume_last = r->cycles;
    volume_n++;
    return trace_stats_add(ctx, r);
}

static bool write_volume(struct trace_writer *w, unsigned n)
{
    struct trace_header h = { .nvmx_version = "1", .image = "k" };
    bool ok = trace_write_header(w, &h);
    for (unsigned i = 0; i < n; i++) {
        struct trace_event ev = event_lines[i % N_EVENT_LINES].ev;
        ev.cycles = i + 1;
        trace_write_event(w, &ev);
    }
    return ok;
}

static void read_volume(FILE *f, unsigned n)
{
    volume_last = volume_n = 0;
    trace_stats_init(&volume_stats);
    struct trace_read_result res;
    ck_assert(trace_read(f, "volume", volume_count, &volume_stats, stderr, &res));
    ck_assert_uint_eq(volume_n, n);
    ck_assert_uint_eq(res.records, n);
}

START_TEST(every_event_written_in_order)
{
    enum { N = 200000 };
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    struct trace_writer *w = trace_writer_from_stream(f, "tmp");
    ck_assert(write_volume(w, N));
    char err[128];
    ck_assert(trace_writer_close(w, err, sizeof(err)));
    rewind(f);
    read_volume(f, N);
    fclose(f);
}
END_TEST

/* FILE.zst: zstd data that the reader takes as it takes plain text. */
START_TEST(zst_trace_reads_back)
{
    enum { N = 50000 };
    char dir[] = "/tmp/nvmx-trace-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof(path), "%s/t.jsonl.zst", dir);
    char err[256];
    struct trace_writer *w = trace_writer_open(path, err, sizeof(err));
    ck_assert_msg(w != NULL, "%s", err);
    ck_assert_msg(trace_writer_start(w, err, sizeof(err)), "%s", err);
    ck_assert(write_volume(w, N));
    ck_assert_msg(trace_writer_close(w, err, sizeof(err)), "%s", err);
    FILE *f = fopen(path, "rb");
    unsigned char magic[4];
    ck_assert_uint_eq(fread(magic, 1, 4, f), 4);
    ck_assert_msg(magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd,
                  "no zstd frame magic");
    rewind(f);
    read_volume(f, N);
    fclose(f);
    remove(path);
    rmdir(dir);
}
END_TEST

static unsigned failures_seen;
static void on_failure(void *ctx)
{
    (void)ctx;
    failures_seen++;
}

/* A full disk: the CPU's side hears of it once, close says which file. */
START_TEST(write_failure_is_reported)
{
    char err[256];
    struct trace_writer *w = trace_writer_open("/dev/full", err, sizeof(err));
    ck_assert_msg(w != NULL, "%s", err);
    ck_assert_msg(trace_writer_start(w, err, sizeof(err)), "%s", err);
    failures_seen = 0;
    trace_writer_on_failure(w, on_failure, NULL);
    (void)write_volume(w, 20000);
    trace_writer_flush(w);
    ck_assert(!write_volume(w, 20000)); /* the header now says it failed */
    trace_writer_flush(w);
    ck_assert(trace_writer_failed(w));
    ck_assert_uint_eq(failures_seen, 1);
    ck_assert(!trace_writer_close(w, err, sizeof(err)));
    ck_assert_str_eq(err, "--trace: writing '/dev/full' failed: No space left on device");
}
END_TEST

static Suite *trace_suite(void)
{
    Suite *s = suite_create("trace");
    TCase *w = tcase_create("writer");
    tcase_add_loop_test(w, header_line_is_exact, 0, 2);
    tcase_add_loop_test(w, event_line_is_exact, 0, N_EVENT_LINES);
    tcase_add_test(w, same_events_give_same_bytes);
    suite_add_tcase(s, w);
    TCase *r = tcase_create("reader");
    tcase_add_loop_test(r, malformed_line_reported_with_file_and_line, 0, N_BAD_LINES);
    tcase_add_test(r, first_line_must_be_header);
    tcase_add_test(r, written_events_read_back);
    tcase_add_test(r, truncated_last_line_is_a_warning);
    suite_add_tcase(s, r);
    TCase *st = tcase_create("stats");
    tcase_add_test(st, stats_counts_and_cycles);
    tcase_add_test(st, stats_table_is_exact);
    tcase_add_test(st, stats_exits_at_other_levels_do_not_close);
    suite_add_tcase(s, st);
    TCase *d = tcase_create("schema");
    tcase_add_test(d, every_key_is_documented);
    tcase_add_test(d, every_documented_key_exists);
    suite_add_tcase(s, d);
    TCase *io = tcase_create("io");
    tcase_set_timeout(io, 60);
    tcase_add_test(io, strings_escaped_as_before);
    tcase_add_test(io, every_event_written_in_order);
    tcase_add_test(io, zst_trace_reads_back);
    tcase_add_test(io, write_failure_is_reported);
    suite_add_tcase(s, io);
    return s;
}

int main(void)
{
    return th_run_suite(trace_suite());
}
