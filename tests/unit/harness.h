/* Shared by the unit tests that run code through cpu_run(): putting bytes in
 * guest RAM, and running until the program parks or faults, with messages
 * that give the stop reason, the vector, the error code and RIP. Header-only
 * (each test is its own executable). */
#ifndef NVMX_TEST_HARNESS_H
#define NVMX_TEST_HARNESS_H

#include "cpu/cpu_internal.h"

#include <check.h>
#include <string.h>

#define TH_RUN_LIMIT 2000

/* Copy code into RAM at pa and drop predecoded blocks there. */
static inline void th_load(struct cpu *c, uint64_t pa, const uint8_t *code, size_t n)
{
    memcpy(c->m->ram + pa, code, n);
    cpu_phys_written(c, pa, n);
}

#define TH_LOAD(c, pa, ...)                                                                \
    do {                                                                                   \
        static const uint8_t code_[] = { __VA_ARGS__ };                                    \
        th_load((c), (pa), code_, sizeof code_);                                           \
    } while (0)

/* Run until the program parks on "jmp $" at end (the instruction limit). */
static inline void th_expect_end(struct cpu *c, uint64_t end)
{
    enum cpu_stop s = cpu_run(c, TH_RUN_LIMIT);
    ck_assert_msg(s == CPU_STOP_INSN_LIMIT, "stopped with %d (exception %d, error 0x%x) at 0x%llx",
                  s, c->last_exception, c->last_error, (unsigned long long)c->rip);
    ck_assert_msg(c->rip == end, "rip 0x%llx, expected 0x%llx", (unsigned long long)c->rip,
                  (unsigned long long)end);
}

/* Run until an exception (c->stop_on_exception) and check it exactly. */
static inline void th_expect_fault(struct cpu *c, uint64_t rip, int vec, bool has_err,
                                   uint32_t err)
{
    enum cpu_stop s = cpu_run(c, TH_RUN_LIMIT);
    ck_assert_msg(s == CPU_STOP_EXCEPTION, "stopped with %d at 0x%llx, expected exception %d", s,
                  (unsigned long long)c->rip, vec);
    ck_assert_msg(c->last_exception == vec, "exception %d, expected %d", c->last_exception, vec);
    ck_assert_int_eq(c->last_has_error, has_err);
    ck_assert_msg(c->last_error == err, "error code 0x%x, expected 0x%x", c->last_error, err);
    ck_assert_msg(c->rip == rip, "rip 0x%llx, expected 0x%llx", (unsigned long long)c->rip,
                  (unsigned long long)rip);
}

#endif
