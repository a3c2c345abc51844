/* nvmx-bench: guest loops and the engines that run them. */
#ifndef NVMX_BENCH_H
#define NVMX_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BENCH_CODE 0x100000ull
#define BENCH_DATA 0x200000ull /* 64 KiB buffer, RSI points here */
#define BENCH_DATA_SIZE 0x10000ull
#define BENCH_STACK 0x300000ull
#define BENCH_STACK_SIZE 0x10000ull
#define BENCH_PT 0x10000ull
#define BENCH_GDT 0x9000ull
#define BENCH_RAM 0x400000ull

struct bench_loop {
    const char *name;
    const uint8_t *code;
    size_t len;
    unsigned count_off; /* offset of the imm32 iteration count */
    unsigned end_off;   /* offset of the UD2 that ends the loop */
    struct bench_debug {
        /* nvmx only, set before the loop (Unicorn 2 runs the same code
         * without it): a breakpoint (dr7 0: none), and RFLAGS.TF with a
         * #DB handler that is one IRETQ */
        uint64_t dr0, dr7;
        bool tf;
        bool db_gate; /* the same #DB gate without TF: a data breakpoint
                         that fires every iteration */
    } dbg;
};
extern const struct bench_loop bench_loops[];
extern const unsigned bench_nloops;

struct bench_result {
    uint64_t insns;
    double seconds;
    uint64_t rax, rbx; /* final values, to check the engines agree */
    bool ok;
};

/* Each engine runs code (already patched) from BENCH_CODE until the UD2 at
 * BENCH_CODE + end_off. All GPRs start at 0 except RSP (stack top) and RSI
 * (the data buffer). */
bool bench_nvmx(const uint8_t *code, size_t len, unsigned end_off,
                const struct bench_debug *dbg, struct bench_result *r);
bool bench_unicorn(const uint8_t *code, size_t len, unsigned end_off, bool hooked,
                   struct bench_result *r);

/* The CPUID-exit benchmark guest under `nvmx run` (bench/vmx.c), runs times;
 * prints the median. */
bool bench_vmx_exits(const char *nvmx, const char *image, unsigned long long loops,
                     unsigned runs);

/* What a full trace costs (bench/trace.c): the same image without --trace,
 * with --trace FILE.jsonl and with FILE.jsonl.zst, in interleaved rounds,
 * bare and under --l0; prints the medians and the ratios to no trace. */
bool bench_trace(const char *nvmx, const char *image, unsigned long long loops, unsigned runs);

/* Run argv (argv[0] the path) with stdout and stderr into one buffer
 * (NUL-terminated, at most 1 MiB kept). Returns the wait status, or -1 if
 * it could not start. */
int bench_run_capture(const char *const argv[], char **out);
/* The same, and the child's user + system CPU seconds (all its threads). */
int bench_run_capture_cpu(const char *const argv[], char **out, double *cpu_seconds);
/* From `nvmx run --stats` output: "VM exits REASON N (C cycles exit to
 * entry)". */
bool bench_parse_exits(const char *out, const char *reason, unsigned long long *exits,
                       unsigned long long *cycles);

/* The EPT benchmarks with guests/bench-ept (bench/ept.c): the EPT-violation
 * loop (loops = the image's NVMX_BENCH_EPT_LOOPS), then the alu and mem
 * loops bare and under EPT in alternation, runs times each, scale times
 * their bench_loops iteration count; prints medians and the ratio. */
bool bench_ept(const char *nvmx, const char *image, unsigned long long loops, unsigned runs,
               double scale, const char *only);

/* Single-stepping under VMX with guests/bench-step (bench/step.c): the
 * MTF and VMX-preemption-timer modes, runs times each, loops iterations of
 * the guest's 3-instruction loop; prints the medians. */
bool bench_step_vmx(const char *nvmx, const char *image, unsigned long long loops,
                    unsigned runs, const char *only);

#define BENCH_MAX_RUNS 101
/* Median of v[0..n) (n >= 1; v is reordered). */
double bench_median(double *v, unsigned n);

#endif
