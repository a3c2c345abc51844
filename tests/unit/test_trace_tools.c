/* The trace tools over the reader: unknown events passed through, the header
 * handed to the tools, grouping (stats --by), diff, recost and export on
 * synthetic traces whose results are worked out by hand. */
#include "nvmx/trace.h"
#include "nvmx/trace_tools.h"

#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* The header's schema number, as the writer prints it. */
#define SCHEMA_STR_(v) #v
#define SCHEMA_STR(v) SCHEMA_STR_(v)
#define SCHEMA SCHEMA_STR(TRACE_SCHEMA_VERSION)

static const char hdr[] =
    "{\"event\":\"header\",\"schema\":" SCHEMA ",\"nvmx\":\"0.1.0\",\"image\":\"k\",\"config\":{}}\n";

struct seen {
    unsigned headers, records, unknown;
    int last_level;
    uint64_t last_cycles;
    char last_event[32];
};

static bool on_header(void *ctx, const struct trace_record *r)
{
    struct seen *s = ctx;
    s->headers++;
    ck_assert_str_eq(r->event, "header");
    ck_assert_ptr_nonnull(r->json);
    return true;
}

static bool on_record(void *ctx, const struct trace_record *r)
{
    struct seen *s = ctx;
    s->records++;
    if (r->type == TRACE_EV_COUNT)
        s->unknown++;
    s->last_level = r->level;
    s->last_cycles = r->cycles;
    snprintf(s->last_event, sizeof(s->last_event), "%s", r->event);
    return true;
}

/* Read text as "t.jsonl" with both callbacks; the diagnostics in *diags. */
static bool read_all(const char *text, struct seen *s, char **diags, struct trace_read_result *res)
{
    FILE *in = fmemopen((void *)text, strlen(text), "r");
    size_t len;
    FILE *d = open_memstream(diags, &len);
    memset(s, 0, sizeof(*s));
    struct trace_read_fns fns = { .header = on_header, .record = on_record };
    bool ok = trace_read_fns(in, "t.jsonl", &fns, s, d, res);
    fclose(in);
    fclose(d);
    return ok;
}

/* A nesting event this reader does not know yet is a warning, once per name,
 * and reaches the tools with its level and cycles. */
START_TEST(unknown_events_pass_through_with_one_warning)
{
    char text[1024], *diags;
    snprintf(text, sizeof(text),
             "%s{\"event\":\"future_event\",\"cycles\":70,\"insns\":3,\"level\":2,\"vmcs\":\"0x5000\"}\n"
             "{\"event\":\"future_event\",\"cycles\":90,\"insns\":4,\"level\":3,\"vmcs\":\"0x5000\"}\n"
             "{\"event\":\"shadow_fill\",\"cycles\":95,\"level\":2}\n",
             hdr);
    struct seen s;
    struct trace_read_result res;
    ck_assert_msg(read_all(text, &s, &diags, &res), "refused: %s", diags);
    ck_assert_str_eq(diags, "t.jsonl:2: warning: unknown event \"future_event\" (a newer schema?): "
                            "passed through\n"
                            "t.jsonl:4: warning: unknown event \"shadow_fill\" (a newer schema?): "
                            "passed through\n");
    ck_assert_uint_eq(s.headers, 1);
    ck_assert_uint_eq(s.records, 3);
    ck_assert_uint_eq(s.unknown, 3);
    ck_assert_int_eq(s.last_level, 2);
    ck_assert_uint_eq(s.last_cycles, 95);
    ck_assert_str_eq(s.last_event, "shadow_fill");
    free(diags);
}
END_TEST

/* The common keys of an unknown event are still checked when present. */
START_TEST(unknown_event_with_bad_level_is_an_error)
{
    char text[512], *diags;
    snprintf(text, sizeof(text), "%s{\"event\":\"future_event\",\"level\":99}\n", hdr);
    struct seen s;
    struct trace_read_result res;
    ck_assert(!read_all(text, &s, &diags, &res));
    ck_assert_uint_eq(res.errors, 1);
    ck_assert_msg(strstr(diags, "t.jsonl:2: future_event: \"level\" is 99, above 63"), "got %s", diags);
    ck_assert_uint_eq(s.records, 0);
    free(diags);
}
END_TEST

START_TEST(hex_strings_parse)
{
    uint64_t v = 1;
    ck_assert(trace_parse_hex("0x0", &v) && v == 0);
    ck_assert(trace_parse_hex("0xffffffffffffffff", &v) && v == UINT64_MAX);
    ck_assert(trace_parse_hex("0x3f8", &v) && v == 0x3f8);
    ck_assert(!trace_parse_hex("3f8", &v));
    ck_assert(!trace_parse_hex("0x", &v));
    ck_assert(!trace_parse_hex("0x3F8", &v));
    ck_assert(!trace_parse_hex(NULL, &v));
}
END_TEST

/* ---- stats --by ------------------------------------------------------------ */

/* Lines of a small run: an OUT to 0x3f8 and an IN from 0x60 at level 1, an
 * RDMSR at level 2 that carries an "msr" key, and a WRMSR without one. An
 * exit's cycles run from its stamp minus its cost (100) to the entry's stamp
 * plus its cost (50). */
#define EXIT(cyc, lvl, vmcs, reason, qual, extra)                                               \
    "{\"event\":\"vmexit\",\"cycles\":" #cyc ",\"insns\":1,\"level\":" #lvl ",\"vmcs\":\"" vmcs   \
    "\",\"reason\":" #reason ",\"reason_name\":\"x\",\"qual\":\"" qual "\",\"guest_rip\":\"0x0\"," \
    "\"insn_len\":1,\"insn_info\":\"0x0\",\"intr_info\":\"0x0\",\"intr_error\":\"0x0\","         \
    "\"idt_info\":\"0x0\",\"idt_error\":\"0x0\"," extra "\"cost\":100}\n"
#define ENTRY(cyc, lvl, vmcs)                                                                   \
    "{\"event\":\"vmentry\",\"cycles\":" #cyc ",\"insns\":1,\"level\":" #lvl ",\"vmcs\":\"" vmcs \
    "\",\"kind\":\"resume\",\"ok\":true,\"cost\":50}\n"

static const char grouped_trace[] =
    /* OUT DX (port 0x3f8, 1 byte): qual bit 3 clear; 1050 cycles */
    EXIT(1100, 1, "0x1000", 30, "0x3f80000", "") ENTRY(2000, 1, "0x1000")
    /* IN AL,0x60: bit 3 set, bit 6 immediate; 550 cycles */
    EXIT(2600, 1, "0x1000", 30, "0x600048", "") ENTRY(3000, 1, "0x1000")
    /* RDMSR of 0x10 at level 2; 350 cycles */
    EXIT(4100, 2, "0x2000", 31, "0x0", "\"msr\":\"0x10\",") ENTRY(4300, 2, "0x2000")
    /* WRMSR with no MSR recorded; never re-entered */
    EXIT(5100, 2, "0x2000", 32, "0x0", "")
    "{\"event\":\"future_event\",\"cycles\":5200,\"level\":2}\n";

static char *group_text(const char *by, enum trace_sort sort, enum trace_out_format fmt)
{
    enum trace_group_key key;
    bool by_level;
    char err[128];
    ck_assert_msg(trace_groups_parse_by(by, &key, &by_level, err, sizeof(err)), "%s", err);
    struct trace_groups g;
    trace_groups_init(&g, key, by_level);
    char text[8192];
    snprintf(text, sizeof(text), "%s%s", hdr, grouped_trace);
    FILE *in = fmemopen(text, strlen(text), "r");
    struct trace_read_fns fns = { .record = trace_groups_add };
    ck_assert(trace_read_fns(in, "g.jsonl", &fns, &g, NULL, NULL));
    fclose(in);
    char *out;
    size_t len;
    FILE *f = open_memstream(&out, &len);
    trace_groups_print(&g, sort, fmt, f);
    fclose(f);
    trace_groups_free(&g);
    return out;
}

static const struct {
    const char *by;
    enum trace_sort sort;
    enum trace_out_format fmt;
    const char *want; /* the exact output, from the hand-worked cycles above */
} group_cases[] = {
    { "port", TRACE_SORT_COUNT, TRACE_FMT_CSV,
      "group,port,samples,samples_pct,time_pct,timed,cycles,min_cycles,max_cycles,avg_cycles\n"
      "0x60:PIN,96,1,50.00,34.38,1,550,550,550,550.00\n"
      "0x3f8:POUT,1016,1,50.00,65.62,1,1050,1050,1050,1050.00\n" },
    { "port", TRACE_SORT_TIME, TRACE_FMT_CSV,
      "group,port,samples,samples_pct,time_pct,timed,cycles,min_cycles,max_cycles,avg_cycles\n"
      "0x3f8:POUT,1016,1,50.00,65.62,1,1050,1050,1050,1050.00\n"
      "0x60:PIN,96,1,50.00,34.38,1,550,550,550,550.00\n" },
    { "msr", TRACE_SORT_COUNT, TRACE_FMT_CSV,
      "group,msr,samples,samples_pct,time_pct,timed,cycles,min_cycles,max_cycles,avg_cycles\n"
      "0x10:rdmsr,16,1,50.00,100.00,1,350,350,350,350.00\n"
      "?:wrmsr,,1,50.00,0.00,0,0,,,\n" },
    { "level", TRACE_SORT_TIME, TRACE_FMT_CSV,
      "group,level,samples,samples_pct,time_pct,timed,cycles,min_cycles,max_cycles,avg_cycles\n"
      "L1,1,2,50.00,82.05,2,1600,550,1050,800.00\n"
      "L2,2,2,50.00,17.95,1,350,350,350,350.00\n" },
    { "vmcs,level", TRACE_SORT_COUNT, TRACE_FMT_CSV,
      "group,level,vmcs,samples,samples_pct,time_pct,timed,cycles,min_cycles,max_cycles,"
      "avg_cycles\n"
      "L1 0x1000,1,4096,2,50.00,82.05,2,1600,550,1050,800.00\n"
      "L2 0x2000,2,8192,2,50.00,17.95,1,350,350,350,350.00\n" },
    { "reason", TRACE_SORT_COUNT, TRACE_FMT_TABLE,
      "Analyze events for all VMs, all VCPUs:\n\n"
      "             VM-EXIT    Samples  Samples%     Time%  Min cycles  Max cycles  Avg cycles\n\n"
      "      io_instruction          2    50.00%    82.05%         550        1050      800.00\n"
      "               rdmsr          1    25.00%    17.95%         350         350      350.00\n"
      "               wrmsr          1    25.00%     0.00%           -           -           -\n"
      "\nTotal Samples:4, Total cycles:1950.\n"
      "VM entries: 3 (0 launch, 3 resume), failed entries: 0, vmfails: 0\n"
      "Other events: future_event 1\n" },
    { "msr", TRACE_SORT_COUNT, TRACE_FMT_TABLE,
      "Analyze events for all VMs, all VCPUs:\n\n"
      "          MSR Access    Samples  Samples%     Time%  Min cycles  Max cycles  Avg cycles\n\n"
      "          0x10:rdmsr          1    50.00%   100.00%         350         350      350.00\n"
      "             ?:wrmsr          1    50.00%     0.00%           -           -           -\n"
      "\nTotal Samples:2, Total cycles:350.\n"
      "(RDMSR/WRMSR exits only; all VM exits: 4)\n"
      "note: 1 MSR exit without the MSR number: this trace does not record ECX (schema 1 has "
      "no \"msr\" key), shown as '?'\n"
      "VM entries: 3 (0 launch, 3 resume), failed entries: 0, vmfails: 0\n"
      "Other events: future_event 1\n" },
};
#define N_GROUP_CASES ((int)(sizeof(group_cases) / sizeof(group_cases[0])))

START_TEST(stats_by_group_is_exact)
{
    char *out = group_text(group_cases[_i].by, group_cases[_i].sort, group_cases[_i].fmt);
    ck_assert_msg(!strcmp(out, group_cases[_i].want), "--by %s:\n got\n%s want\n%s",
                  group_cases[_i].by, out, group_cases[_i].want);
    free(out);
}
END_TEST

START_TEST(stats_json_is_valid_and_totals_match)
{
    char *out = group_text("level,reason", TRACE_SORT_TIME, TRACE_FMT_JSON);
    json_error_t je;
    json_t *o = json_loads(out, 0, &je);
    ck_assert_msg(o, "bad JSON (%s): %s", je.text, out);
    ck_assert_str_eq(json_string_value(json_object_get(o, "by")), "level,reason");
    ck_assert_int_eq(json_integer_value(json_object_get(o, "cycles")), 1950);
    json_t *rows = json_object_get(o, "rows");
    ck_assert_uint_eq(json_array_size(rows), 3);
    json_t *first = json_array_get(rows, 0);
    ck_assert_str_eq(json_string_value(json_object_get(first, "group")), "L1 io_instruction");
    ck_assert_int_eq(json_integer_value(json_object_get(first, "min_cycles")), 550);
    ck_assert_int_eq(json_integer_value(json_object_get(first, "level")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(first, "reason")), 30);
    ck_assert_int_eq(json_integer_value(
                         json_object_get(json_object_get(o, "other_events"), "future_event")), 1);
    json_decref(o);
    free(out);
}
END_TEST

START_TEST(stats_by_rejects_unknown_keys)
{
    static const char *const bad[] = { "", "reasons", "port,msr", "level,level", "reason,vmcs" };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        enum trace_group_key k;
        bool lv;
        char err[160];
        ck_assert_msg(!trace_groups_parse_by(bad[i], &k, &lv, err, sizeof(err)),
                      "--by '%s' accepted", bad[i]);
    }
}
END_TEST

/* More distinct groups than TRACE_MAX_GROUPS: the rest go to "(other)",
 * memory stays bounded. */
START_TEST(stats_groups_are_bounded)
{
    struct trace_groups g;
    trace_groups_init(&g, TRACE_BY_VMCS, false);
    for (uint64_t i = 0; i < TRACE_MAX_GROUPS + 10; i++) {
        struct trace_record r = { .type = TRACE_EV_vmexit, .level = 1, .vmcs = i * 4096,
                                  .reason = 10, .cycles = 100 };
        ck_assert(trace_groups_add(&g, &r));
    }
    ck_assert_uint_eq(g.nrows, TRACE_MAX_GROUPS + 1);
    ck_assert(g.rows[g.other_row].other);
    ck_assert_uint_eq(g.rows[g.other_row].st.samples, 10);
    ck_assert_uint_eq(g.exits, TRACE_MAX_GROUPS + 10);
    trace_groups_free(&g);
}
END_TEST

/* ---- diff ------------------------------------------------------------------ */

static enum trace_diff_result diff_text(const char *a, const char *b, const char *ignore,
                                        char **out, char **diags)
{
    FILE *fa = fmemopen((void *)a, strlen(a), "r"), *fb = fmemopen((void *)b, strlen(b), "r");
    size_t l1, l2;
    FILE *o = open_memstream(out, &l1), *d = open_memstream(diags, &l2);
    struct trace_diff_opts opts = { .context = 1 };
    if (ignore)
        opts.ignore[opts.nignore++] = ignore;
    enum trace_diff_result r = trace_diff(fa, "a.jsonl", fb, "b.jsonl", &opts, o, d);
    fclose(fa);
    fclose(fb);
    fclose(o);
    fclose(d);
    return r;
}

START_TEST(diff_same_traces_are_the_same)
{
    char t[8192], *out, *diags;
    snprintf(t, sizeof(t), "%s%s", hdr, grouped_trace);
    ck_assert_int_eq(diff_text(t, t, NULL, &out, &diags), TRACE_DIFF_SAME);
    ck_assert_msg(strstr(out, "\ntraces are the same\n"), "%s", out);
    ck_assert_msg(strstr(out, "L1    io_instruction                  2          2       +0"
                              "         1600         1600           +0\n"), "%s", out);
    ck_assert_msg(!strstr(diags, "not a valid trace"), "%s", diags);
    free(out);
    free(diags);
}
END_TEST

/* B's third event costs 100 cycles more: the first divergence names it, its
 * context is the event before, the keys that differ are cycles; the exit
 * cycles of L1 io_instruction differ by 100. Ignoring cycles, only the
 * counts are compared and the traces are the same. */
START_TEST(diff_names_first_divergence_and_deltas)
{
    char a[8192], b[8192], *out, *diags;
    snprintf(a, sizeof(a), "%s%s", hdr, grouped_trace);
    snprintf(b, sizeof(b), "%s%s", hdr, grouped_trace);
    char *third = strstr(b, "\"cycles\":3000");
    ck_assert_ptr_nonnull(third);
    memcpy(third, "\"cycles\":3100", 13);
    ck_assert_int_eq(diff_text(a, b, NULL, &out, &diags), TRACE_DIFF_DIFFER);
    ck_assert_msg(strstr(out, "first divergence at event 4:\n  a.jsonl:4 {\"event\":\"vmexit\","
                              "\"cycles\":2600,"), "%s", out);
    ck_assert_msg(strstr(out, "\n- a.jsonl:5 {\"event\":\"vmentry\",\"cycles\":3000,"), "%s", out);
    ck_assert_msg(strstr(out, "\n+ b.jsonl:5 {\"event\":\"vmentry\",\"cycles\":3100,"), "%s", out);
    ck_assert_msg(strstr(out, "\ndiffering keys: cycles (A 3000, B 3100)\n"), "%s", out);
    ck_assert_msg(strstr(out, "L1    io_instruction                  2          2       +0"
                              "         1600         1700         +100\n"), "%s", out);
    ck_assert_msg(strstr(out, "\ntraces differ\n"), "%s", out);
    free(out);
    free(diags);
    ck_assert_int_eq(diff_text(a, b, "cycles", &out, &diags), TRACE_DIFF_SAME);
    free(out);
    free(diags);
}
END_TEST

/* One trace is a prefix of the other: the divergence is where A ends. */
START_TEST(diff_reports_the_shorter_trace)
{
    char a[8192], b[8192], *out, *diags;
    snprintf(a, sizeof(a), "%s%s", hdr, grouped_trace);
    snprintf(b, sizeof(b), "%s%s{\"event\":\"future_event\",\"cycles\":6000,\"level\":2}\n", hdr,
             grouped_trace);
    ck_assert_int_eq(diff_text(a, b, NULL, &out, &diags), TRACE_DIFF_DIFFER);
    ck_assert_msg(strstr(out, "- a.jsonl ends after 8 events\n+ b.jsonl:10 {\"event\":\"future_event\""),
                  "%s", out);
    ck_assert_msg(strstr(out, "events:          A 8, B 9 (+1)\n"), "%s", out);
    free(out);
    free(diags);
}
END_TEST

/* A header key that differs makes the traces differ; a dotted --ignore
 * leaves out exactly that key. */
START_TEST(diff_headers_and_dotted_ignore)
{
    static const char a[] = "{\"event\":\"header\",\"schema\":" SCHEMA ",\"nvmx\":\"0.1.0\",\"image\":\"k\","
                            "\"config\":{\"cost\":{\"name\":\"x\",\"file\":\"a.json\"}}}\n";
    static const char b[] = "{\"event\":\"header\",\"schema\":" SCHEMA ",\"nvmx\":\"0.1.0\",\"image\":\"k\","
                            "\"config\":{\"cost\":{\"name\":\"x\",\"file\":\"b.json\"}}}\n";
    char *out, *diags;
    ck_assert_int_eq(diff_text(a, b, NULL, &out, &diags), TRACE_DIFF_DIFFER);
    ck_assert_msg(strstr(out, "headers differ: config.cost.file (A \"a.json\", B \"b.json\")\n"),
                  "%s", out);
    free(out);
    free(diags);
    ck_assert_int_eq(diff_text(a, b, "config.cost.file", &out, &diags), TRACE_DIFF_SAME);
    free(out);
    free(diags);
    ck_assert_int_eq(diff_text(a, b, "cost.file", &out, &diags), TRACE_DIFF_DIFFER);
    free(out);
    free(diags);
}
END_TEST

START_TEST(diff_bad_input_is_status_2)
{
    char a[8192], *out, *diags;
    snprintf(a, sizeof(a), "%s%s", hdr, grouped_trace);
    ck_assert_int_eq(diff_text(a, "{\"event\":\"header\",\"schema\":7}\n", NULL, &out, &diags),
                     TRACE_DIFF_BAD_INPUT);
    ck_assert_msg(strstr(diags, "b.jsonl:1: header: schema 7 is not supported"), "%s", diags);
    ck_assert_msg(strstr(diags, "nvmx trace diff: 'b.jsonl' is not a valid trace"), "%s", diags);
    free(out);
    free(diags);
}
END_TEST

/* ---- recost ---------------------------------------------------------------- */

/* Entries 330 -> 500, exits 320 -> 100. A VM exit's stamp includes its own
 * cost; an entry's cost lands after its stamp, and after the exit of an
 * entry that fails with an exit (same instruction count). */
START_TEST(recost_moves_later_stamps_by_the_differences)
{
    static const struct {
        enum trace_event_type type;
        bool ok;
        uint32_t reason;
        uint64_t insns, cycles, cost;
        uint64_t want; /* recosted stamp */
    } evs[] = {
        { TRACE_EV_vmentry, true, 0, 10, 1000, 330, 1000 },   /* +170 from insn 11 on */
        { TRACE_EV_vmexit, true, 10, 20, 2000, 320, 1950 },   /* +170 -220 */
        { TRACE_EV_vmentry, false, 33, 30, 3000, 330, 2950 }, /* fails with an exit */
        { TRACE_EV_vmexit, true, 33, 30, 3600, 320, 3330 },   /* -220: entry not yet */
        { TRACE_EV_vmfail, true, 0, 40, 5000, 0, 4900 },      /* +170 now */
        { TRACE_EV_COUNT, true, 0, 41, 5001, 0, 4901 },       /* unknown events move too */
    };
    struct trace_recost rc;
    trace_recost_init(&rc, 500, 100);
    for (unsigned i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
        struct trace_record r = { .type = evs[i].type, .ok = evs[i].ok, .reason = evs[i].reason,
                                  .insns = evs[i].insns, .cycles = evs[i].cycles,
                                  .cost = (uint32_t)evs[i].cost, .level = 1 };
        trace_recost_record(&rc, &r);
        ck_assert_msg(r.cycles == evs[i].want, "event %u: recosted %llu, expected %llu", i,
                      (unsigned long long)r.cycles, (unsigned long long)evs[i].want);
        if (evs[i].type == TRACE_EV_vmexit)
            ck_assert_uint_eq(r.cost, 100);
        if (evs[i].type == TRACE_EV_vmentry)
            ck_assert_uint_eq(r.cost, 500);
    }
    ck_assert_uint_eq(rc.entries, 2);
    ck_assert_uint_eq(rc.exits, 2);
    ck_assert_uint_eq(rc.last_old, 5001);
    ck_assert_uint_eq(rc.last_new, 4901);
}
END_TEST

/* FIPS 180-4 / NIST example vectors. */
START_TEST(sha256_known_vectors)
{
    char out[65];
    trace_sha256("", 0, out);
    ck_assert_str_eq(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    trace_sha256("abc", 3, out);
    ck_assert_str_eq(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    static const char two[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    trace_sha256(two, strlen(two), out);
    ck_assert_str_eq(out, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* Longer than a block, not a multiple of it. */
    char a[1000];
    memset(a, 'a', sizeof(a));
    trace_sha256(a, sizeof(a), out);
    ck_assert_str_eq(out, "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3");
}
END_TEST

static Suite *tools_suite(void)
{
    Suite *s = suite_create("trace_tools");
    TCase *r = tcase_create("reader");
    tcase_add_test(r, unknown_events_pass_through_with_one_warning);
    tcase_add_test(r, unknown_event_with_bad_level_is_an_error);
    tcase_add_test(r, hex_strings_parse);
    suite_add_tcase(s, r);
    TCase *st = tcase_create("stats");
    tcase_add_loop_test(st, stats_by_group_is_exact, 0, N_GROUP_CASES);
    tcase_add_test(st, stats_json_is_valid_and_totals_match);
    tcase_add_test(st, stats_by_rejects_unknown_keys);
    tcase_add_test(st, stats_groups_are_bounded);
    suite_add_tcase(s, st);
    TCase *d = tcase_create("diff");
    tcase_add_test(d, diff_same_traces_are_the_same);
    tcase_add_test(d, diff_names_first_divergence_and_deltas);
    tcase_add_test(d, diff_reports_the_shorter_trace);
    tcase_add_test(d, diff_headers_and_dotted_ignore);
    tcase_add_test(d, diff_bad_input_is_status_2);
    suite_add_tcase(s, d);
    TCase *rc = tcase_create("recost");
    tcase_add_test(rc, recost_moves_later_stamps_by_the_differences);
    tcase_add_test(rc, sha256_known_vectors);
    suite_add_tcase(s, rc);
    return s;
}

int main(void)
{
    return th_run_suite(tools_suite());
}
