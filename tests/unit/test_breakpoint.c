/* The DR0-DR3 breakpoint table (src/cpu/breakpoint.c): which breakpoints
 * DR7 arms by R/W and L/G, and the range match of SDM 3B "Breakpoint Field
 * Recognition" over every length, DRn alignment, access size and offset. */
#include "cpu/breakpoint.h"

#include "harness.h"

static uint64_t dr7_of(unsigned n, unsigned lg, unsigned rw, unsigned len_field)
{
    return 0x400ull | ((uint64_t)lg << (2 * n)) | ((uint64_t)rw << (16 + 4 * n)) |
           ((uint64_t)len_field << (18 + 4 * n));
}

/* SDM 3B "Debug Control Register (DR7)": LENn 00, 01, 11, 10 are 1, 2, 4
 * and 8 bytes. */
START_TEST(len_encodings)
{
    ck_assert_uint_eq(bp_len_bytes(0), 1);
    ck_assert_uint_eq(bp_len_bytes(1), 2);
    ck_assert_uint_eq(bp_len_bytes(3), 4);
    ck_assert_uint_eq(bp_len_bytes(2), 8);
}
END_TEST

/* R/W selects the kind; Ln or Gn enables; neither leaves it disarmed. */
static const struct arm_case {
    unsigned rw, lg;
    uint8_t insn, data, write_only, io;
} arm_cases[] = {
    { 0, 1, 1, 0, 0, 0 }, { 0, 2, 1, 0, 0, 0 }, { 1, 2, 0, 1, 1, 0 },
    { 2, 2, 0, 0, 0, 1 }, { 3, 3, 0, 1, 0, 0 }, { 3, 0, 0, 0, 0, 0 },
};

START_TEST(arm_by_rw_and_enable)
{
    const struct arm_case *t = &arm_cases[_i];
    for (unsigned n = 0; n < 4; n++) {
        uint64_t dr[8] = { 0 };
        struct cpu_breakpoints bp = { 0 };
        dr[n] = 0x1000;
        dr[7] = dr7_of(n, t->lg, t->rw, 0);
        bp_arm(&bp, dr);
        ck_assert_msg(bp.insn == (t->insn << n) && bp.data == (t->data << n) &&
                          bp.write_only == (t->write_only << n) && bp.io == (t->io << n),
                      "rw %u lg %u DR%u: insn %x data %x wo %x io %x", t->rw, t->lg, n, bp.insn,
                      bp.data, bp.write_only, bp.io);
    }
}
END_TEST

/* Arming keeps the recorded hits (a MOV DR after a data hit in the same
 * instruction boundary must not lose the trap). */
START_TEST(arm_keeps_hits)
{
    uint64_t dr[8] = { 0 };
    struct cpu_breakpoints bp = { .hits = 0x4001 };
    dr[7] = 0x400;
    bp_arm(&bp, dr);
    ck_assert_uint_eq(bp.hits, 0x4001);
}
END_TEST

/* Every (LEN, DRn misalignment, access size, access offset): a hit exactly
 * when a byte of the access lies in the LEN-aligned range holding DRn. The
 * expectation counts bytes one by one. */
START_TEST(match_table)
{
    static const unsigned len_field[4] = { 0, 1, 3, 2 };
    static const unsigned sizes[4] = { 1, 2, 4, 8 };
    unsigned len = 1u << _i, lf = len_field[_i];
    const uint64_t base = 0x7000; /* 8-aligned */
    for (unsigned mis = 0; mis < 8; mis++) {
        uint64_t dr[8] = { 0 };
        struct cpu_breakpoints bp = { 0 };
        dr[2] = base + mis;
        dr[7] = dr7_of(2, 2, 3, lf);
        bp_arm(&bp, dr);
        uint64_t lo = (base + mis) / len * len;
        for (unsigned si = 0; si < 4; si++)
            for (int off = -10; off <= 18; off++) {
                uint64_t a = base + (uint64_t)(int64_t)off;
                bool expect = false;
                for (unsigned b = 0; b < sizes[si]; b++)
                    expect |= a + b >= lo && a + b < lo + len;
                uint64_t got = bp_match(&bp, bp.data, a, sizes[si]);
                ck_assert_msg(got == (expect ? 4u : 0u),
                              "LEN %u DR2 %#llx access %#llx size %u: got %#llx, expected %s", len,
                              (unsigned long long)dr[2], (unsigned long long)a, sizes[si],
                              (unsigned long long)got, expect ? "B2" : "none");
            }
    }
}
END_TEST

/* Several breakpoints on the same bytes report every one of them; an
 * instruction breakpoint matches its exact first byte only. */
START_TEST(match_several_and_insn)
{
    uint64_t dr[8] = { 0x2000, 0x2004, 0x3000, 0x2003 };
    struct cpu_breakpoints bp = { 0 };
    dr[7] = dr7_of(0, 2, 3, 3) | dr7_of(1, 2, 1, 0) | dr7_of(2, 2, 0, 0) | dr7_of(3, 1, 3, 0);
    bp_arm(&bp, dr);
    ck_assert_uint_eq(bp_match(&bp, bp.data, 0x2002, 4), 0xb); /* B0, B1, B3 */
    ck_assert_uint_eq(bp_match(&bp, bp.data & ~bp.write_only, 0x2002, 4), 0x9);
    ck_assert_uint_eq(bp_match(&bp, bp.insn, 0x3000, 1), 0x4);
    ck_assert_uint_eq(bp_match(&bp, bp.insn, 0x2fff, 1), 0);
    ck_assert_uint_eq(bp_match(&bp, bp.insn, 0x3001, 1), 0);
}
END_TEST

static Suite *breakpoint_suite(void)
{
    Suite *s = suite_create("breakpoint");
    TCase *tc = tcase_create("arm");
    tcase_add_test(tc, len_encodings);
    tcase_add_loop_test(tc, arm_by_rw_and_enable, 0, sizeof arm_cases / sizeof arm_cases[0]);
    tcase_add_test(tc, arm_keeps_hits);
    suite_add_tcase(s, tc);
    tc = tcase_create("match");
    tcase_add_loop_test(tc, match_table, 0, 4);
    tcase_add_test(tc, match_several_and_insn);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(breakpoint_suite());
}
