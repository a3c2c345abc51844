/* Guest runtime: counts and prints check results and ends the run. */
#include "report.h"

#include <stdarg.h>

#include "console.h"
#include "x86.h"

static unsigned passes, failures, skips;

void report_pass(const char *name)
{
    passes++;
    con_printf("PASS: %s\n", name);
}

void report_fail(const char *name, const char *fmt, ...)
{
    va_list ap;

    failures++;
    con_printf("FAIL: %s: ", name);
    va_start(ap, fmt);
    con_vprintf(fmt, ap);
    va_end(ap);
    con_putc('\n');
}

void report_skip(const char *name, const char *why)
{
    skips++;
    con_printf("SKIP: %s: %s\n", name, why);
}

bool check_eq(const char *name, uint64_t got, uint64_t expected)
{
    if (got == expected) {
        report_pass(name);
        return true;
    }
    report_fail(name, "expected %#lx got %#lx", expected, got);
    return false;
}

bool check_true(const char *name, bool ok, const char *what)
{
    if (ok)
        report_pass(name);
    else
        report_fail(name, "expected %s", what);
    return ok;
}

unsigned report_failures(void)
{
    return failures;
}

void guest_exit(uint32_t code)
{
    outl(DEBUG_EXIT_PORT, code);
    /* No debug-exit device: stop here. */
    for (;;)
        __asm__ volatile("cli; hlt");
}

void guest_finish(void)
{
    con_printf("%u passed, %u failed, %u skipped\n", passes, failures, skips);
    if (failures)
        guest_exit(GUEST_EXIT_FAIL);
    if (!passes && skips)
        guest_exit(GUEST_EXIT_SKIP);
    guest_exit(GUEST_EXIT_PASS);
}
