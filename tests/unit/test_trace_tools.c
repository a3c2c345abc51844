/* The trace tools over the reader: unknown events passed through, the header
 * handed to the tools, grouping (stats --by), diff, recost and export on
 * synthetic traces whose results are worked out by hand. */
#include "nvmx/trace.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static const char hdr[] =
    "{\"event\":\"header\",\"schema\":1,\"nvmx\":\"0.1.0\",\"image\":\"k\",\"config\":{}}\n";

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
             "%s{\"event\":\"reflect\",\"cycles\":70,\"insns\":3,\"level\":2,\"vmcs\":\"0x5000\"}\n"
             "{\"event\":\"reflect\",\"cycles\":90,\"insns\":4,\"level\":3,\"vmcs\":\"0x5000\"}\n"
             "{\"event\":\"merge\",\"cycles\":95,\"level\":2}\n",
             hdr);
    struct seen s;
    struct trace_read_result res;
    ck_assert_msg(read_all(text, &s, &diags, &res), "refused: %s", diags);
    ck_assert_str_eq(diags, "t.jsonl:2: warning: unknown event \"reflect\" (a newer schema?): "
                            "passed through\n"
                            "t.jsonl:4: warning: unknown event \"merge\" (a newer schema?): "
                            "passed through\n");
    ck_assert_uint_eq(s.headers, 1);
    ck_assert_uint_eq(s.records, 3);
    ck_assert_uint_eq(s.unknown, 3);
    ck_assert_int_eq(s.last_level, 2);
    ck_assert_uint_eq(s.last_cycles, 95);
    ck_assert_str_eq(s.last_event, "merge");
    free(diags);
}
END_TEST

/* The common keys of an unknown event are still checked when present. */
START_TEST(unknown_event_with_bad_level_is_an_error)
{
    char text[512], *diags;
    snprintf(text, sizeof(text), "%s{\"event\":\"reflect\",\"level\":99}\n", hdr);
    struct seen s;
    struct trace_read_result res;
    ck_assert(!read_all(text, &s, &diags, &res));
    ck_assert_uint_eq(res.errors, 1);
    ck_assert_msg(strstr(diags, "t.jsonl:2: reflect: \"level\" is 99, above 63"), "got %s", diags);
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

static Suite *tools_suite(void)
{
    Suite *s = suite_create("trace_tools");
    TCase *r = tcase_create("reader");
    tcase_add_test(r, unknown_events_pass_through_with_one_warning);
    tcase_add_test(r, unknown_event_with_bad_level_is_an_error);
    tcase_add_test(r, hex_strings_parse);
    suite_add_tcase(s, r);
    return s;
}

int main(void)
{
    return th_run_suite(tools_suite());
}
