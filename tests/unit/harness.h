/* Shared by the unit tests: building a CPU model and a machine, IA-32e mode
 * on identity-mapped 2-MByte pages, putting bytes in guest RAM, running until
 * the program parks or faults (messages give the stop reason, the vector, the
 * error code and RIP) and running a suite. Header-only (each test is its own
 * executable); every helper takes its objects as arguments. */
#ifndef NVMX_TEST_HARNESS_H
#define NVMX_TEST_HARNESS_H

#include "cpu/cpu_internal.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TH_RUN_LIMIT 2000

/* ---- CPU model, machine, CPU ---------------------------------------------- */

/* An empty CPU model (no CPUID leaves) with the given name. */
static inline void th_model_init(struct cpu_model *model, const char *name)
{
    memset(model, 0, sizeof *model);
    snprintf(model->name, sizeof model->name, "%s", name);
}

/* Append CPUID leaf (any subleaf) to model. */
static inline void th_add_leaf(struct cpu_model *model, uint32_t leaf, uint32_t eax, uint32_t ebx,
                               uint32_t ecx, uint32_t edx)
{
    ck_assert_uint_lt(model->nleaves, CPU_MODEL_MAX_LEAVES);
    model->leaves[model->nleaves++] =
        (struct cpuid_leaf){ .leaf = leaf, .eax = eax, .ebx = ebx, .ecx = ecx, .edx = edx };
}

/* Append CPUID leaf.subleaf to model (the leaf reads ECX). */
static inline void th_add_subleaf(struct cpu_model *model, uint32_t leaf, uint32_t subleaf,
                                  uint32_t eax, uint32_t ebx, uint32_t ecx, uint32_t edx)
{
    ck_assert_uint_lt(model->nleaves, CPU_MODEL_MAX_LEAVES);
    model->leaves[model->nleaves++] =
        (struct cpuid_leaf){ .leaf = leaf, .subleaf = subleaf, .has_subleaf = true, .eax = eax,
                             .ebx = ebx, .ecx = ecx, .edx = edx };
}

/* A machine with ram_size bytes of RAM; quiet silences its console. */
static inline struct machine *th_machine_create(uint64_t ram_size, bool quiet)
{
    struct machine *m = machine_create(ram_size);
    ck_assert_ptr_nonnull(m);
    m->quiet = quiet;
    return m;
}

/* A CPU on m with model (NULL: the built-in one) and the default costs,
 * written into *cost, which must outlive the CPU. */
static inline struct cpu *th_cpu_create(struct machine *m, const struct cpu_model *model,
                                        struct cost_model *cost)
{
    cost_model_defaults(cost);
    struct cpu *c = cpu_create(m, model, cost);
    ck_assert_ptr_nonnull(c);
    return c;
}

/* ---- IA-32e mode ------------------------------------------------------------ */

/* IA-32e 64-bit mode at CPL 0 (cpu_set_long_mode), the first n2m 2-MByte
 * pages identity-mapped: PML4 at pml4, PDPT at pml4 + 4 KiB, PD at
 * pml4 + 8 KiB, every entry present and writable, and user-accessible when
 * user. SDM 3A "4-Level Paging and 5-Level Paging". */
static inline void th_long_mode_2m(struct cpu *c, uint64_t pml4, unsigned n2m, bool user,
                                   uint64_t gdt_base)
{
    uint64_t us = user ? 4 : 0;
    cpu_write_phys(c, pml4, 8, (pml4 + 0x1000) | 3 | us);
    cpu_write_phys(c, pml4 + 0x1000, 8, (pml4 + 0x2000) | 3 | us);
    for (unsigned i = 0; i < n2m; i++) /* P RW (US) PS */
        cpu_write_phys(c, pml4 + 0x2000 + 8 * (uint64_t)i, 8, ((uint64_t)i << 21) | 0x83 | us);
    cpu_set_long_mode(c, pml4, gdt_base);
}

/* User segments in the GDT at gdt_base: 64-bit code, DPL 3 at index 5
 * (selector 0x2b) and data, DPL 3 at index 6 (0x33). The caller sets the
 * GDTR limit. */
static inline void th_gdt_user64(struct cpu *c, uint64_t gdt_base)
{
    cpu_write_phys(c, gdt_base + 8 * 5, 8, 0x00affb000000ffffull);
    cpu_write_phys(c, gdt_base + 8 * 6, 8, 0x00cff3000000ffffull);
}

/* ---- running code ------------------------------------------------------------ */

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

/* Restart at rip: a previous run may have ended in HLT. */
static inline void th_start_at(struct cpu *c, uint64_t rip)
{
    c->rip = rip;
    c->halted = false;
}

/* Run one suite with the normal report; the exit status of main(). */
static inline int th_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
