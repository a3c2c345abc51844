/* Guest runtime: PASS/FAIL/SKIP lines and the run's end through the
 * debug-exit device (QEMU isa-debug-exit convention: writing v to port 0xf4
 * ends the run with host status (v << 1) | 1). */
#ifndef GUEST_REPORT_H
#define GUEST_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#define DEBUG_EXIT_PORT 0xf4
#define GUEST_EXIT_PASS 0  /* status 1 */
#define GUEST_EXIT_FAIL 1  /* status 3 */
#define GUEST_EXIT_SKIP 38 /* status 77 */

void report_pass(const char *name);
void report_fail(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void report_skip(const char *name, const char *why);

/* "PASS: name" or "FAIL: name: expected X got Y"; returns whether it passed. */
bool check_eq(const char *name, uint64_t got, uint64_t expected);
bool check_true(const char *name, bool ok, const char *what);

unsigned report_failures(void);

/* End the run: FAIL if any check failed, else SKIP if nothing passed and
 * something was skipped, else PASS. */
void guest_finish(void) __attribute__((noreturn));
void guest_exit(uint32_t code) __attribute__((noreturn));

/* The image's test body, called in 64-bit mode with the multiboot magic
 * (EAX at entry) and the physical address of the multiboot information. */
void guest_main(uint32_t mb_magic, uint32_t mb_info);

#endif
