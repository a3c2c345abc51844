/* Workloads for the innermost level of a stack: each image repeats one
 * operation `count=N` times (command line), checks the architectural
 * results, prints PASS/FAIL lines and a timing line, and ends through
 * debug-exit (guests/lib/report.h), so it runs bare on nvmx, under a
 * guest hypervisor at any depth, and under QEMU or KVM. */
#ifndef WORKLOAD_H
#define WORKLOAD_H

#include <stdint.h>

/* Print the banner and return the count from the command line (dflt when
 * absent; a malformed count is a FAIL and gives dflt). */
uint64_t wl_start(const char *name, uint32_t mb_magic, uint32_t mb_info, uint64_t dflt);

/* Print "workload NAME: N iterations, T TSC ticks, T/N per iteration". */
void wl_timing(const char *name, uint64_t n, uint64_t ticks);

/* The command line wl_start saw. */
extern const char *wl_cmdline;

static inline uint64_t wl_rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

#endif
