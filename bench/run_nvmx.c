/* nvmx-bench: runs a loop in nvmx (64-bit mode, identity-mapped 4-level
 * paging, cycle accounting as always). Host time is for the report only. */
#include "bench.h"

#include "nvmx/cpu.h"
#include "nvmx/machine.h"

#include <string.h>
#include <time.h>

/* 4 KiB pages mapping 0..BENCH_RAM (SDM 3A "4-Level Paging"). */
static void build_page_tables(uint8_t *ram)
{
    uint64_t pml4 = BENCH_PT, pdpt = pml4 + 0x1000, pd = pdpt + 0x1000, pt = pd + 0x1000;
    uint64_t e = pdpt | 0x23;
    memcpy(ram + pml4, &e, 8);
    e = pd | 0x23;
    memcpy(ram + pdpt, &e, 8);
    for (unsigned i = 0; i < BENCH_RAM / 0x200000; i++) {
        e = (pt + 0x1000 * i) | 0x23;
        memcpy(ram + pd + 8 * i, &e, 8);
    }
    for (uint64_t a = 0; a < BENCH_RAM; a += 0x1000) {
        e = a | 0x63;
        memcpy(ram + pt + (a >> 12) * 8, &e, 8);
    }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* TF and data breakpoints: an IDT whose #DB gate (64-bit interrupt gate,
 * SDM 3A "64-Bit Mode IDT") leads to an IRETQ, which returns with TF set
 * again. */
#define BENCH_IDT 0xa000ull
#define BENCH_DB_HANDLER 0xb000ull
static void db_gate_setup(struct cpu *c, uint8_t *ram)
{
    uint64_t lo = (BENCH_DB_HANDLER & 0xffff) | (0x08ull << 16) | (0x8eull << 40) |
                  ((BENCH_DB_HANDLER >> 16 & 0xffff) << 48);
    uint64_t hi = BENCH_DB_HANDLER >> 32;
    memcpy(ram + BENCH_IDT + 16, &lo, 8);
    memcpy(ram + BENCH_IDT + 24, &hi, 8);
    ram[BENCH_DB_HANDLER] = 0x48; /* iretq */
    ram[BENCH_DB_HANDLER + 1] = 0xcf;
    cpu_phys_written(c, BENCH_DB_HANDLER, 2);
    c->idtr = (struct dtr){ BENCH_IDT, 0xfff };
}

bool bench_nvmx(const uint8_t *code, size_t len, unsigned end_off,
                const struct bench_debug *dbg, struct bench_result *r)
{
    static struct cpu_model model;
    static struct cost_model cost;
    memset(r, 0, sizeof *r);
    /* CPUID FXSR, SSE, SSE2 for the SSE loop; the others do not look */
    model.nleaves = 0;
    model.leaves[model.nleaves++] = (struct cpuid_leaf){ .leaf = 0, .eax = 1 };
    model.leaves[model.nleaves++] =
        (struct cpuid_leaf){ .leaf = 1, .edx = 1u << 24 | 1u << 25 | 1u << 26 };
    struct machine *m = machine_create(BENCH_RAM);
    if (!m)
        return false;
    m->quiet = true;
    cost_model_defaults(&cost);
    struct cpu *c = cpu_create(m, &model, &cost);
    if (!c) {
        machine_destroy(m);
        return false;
    }
    build_page_tables(m->ram);
    cpu_set_long_mode(c, BENCH_PT, BENCH_GDT);
    c->cr4 |= CR4_OSFXSR; /* SDM 3A "Initialization of the SSE Extensions" */
    memcpy(m->ram + BENCH_CODE, code, len);
    cpu_phys_written(c, BENCH_CODE, len);
    memset(c->gpr, 0, sizeof c->gpr);
    c->rip = BENCH_CODE;
    c->gpr[4] = BENCH_STACK + BENCH_STACK_SIZE;
    c->gpr[6] = BENCH_DATA;
    c->stop_on_exception = true;
    if (dbg->dr7) {
        c->dr[0] = dbg->dr0;
        c->dr[7] = dbg->dr7;
        cpu_debug_regs_changed(c);
    }
    if (dbg->tf || dbg->db_gate)
        db_gate_setup(c, m->ram);
    if (dbg->tf)
        c->rflags |= FL_TF;
    uint64_t i0 = c->stats.insns;
    double t0 = now();
    enum cpu_stop s = cpu_run(c, 0);
    r->seconds = now() - t0;
    r->insns = c->stats.insns - i0;
    r->rax = c->gpr[0];
    r->rbx = c->gpr[3];
    /* the loop ends at its UD2 */
    r->ok = s == CPU_STOP_EXCEPTION && c->last_exception == 6 && c->rip == BENCH_CODE + end_off;
    cpu_destroy(c);
    machine_destroy(m);
    return r->ok;
}
