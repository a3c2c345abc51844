/* `nvmx run --trace`: what the run does when the trace cannot be written
 * (a full disk): it stops at the next block boundary, so that no event is
 * lost silently, and the run's end names the file; and `--trace -`, which
 * keeps stdout for the trace alone (docs/cli.md). */
#include "cli.h"
#include "nvmx/machine.h"
#include "nvmx/trace.h"

#include <string.h>

static void stop_machine(void *ctx)
{
    struct machine *m = ctx;
    m->stop = MACHINE_HOST_ERROR;
}

void cli_trace_stop_on_failure(struct trace_writer *tw, struct machine *m)
{
    if (tw)
        trace_writer_on_failure(tw, stop_machine, m);
}

static bool is_stdout(const char *path) { return path && !strcmp(path, "-"); }

bool cli_trace_stdout_check(const char *trace, const char *serial, const char *debugcon,
                            const char *trace_insns, char *err, size_t errlen)
{
    if (!is_stdout(trace))
        return true;
    const char *other = is_stdout(serial)        ? "--serial"
                        : is_stdout(debugcon)    ? "--debugcon"
                        : is_stdout(trace_insns) ? "--trace-insns"
                                                 : NULL;
    if (other)
        snprintf(err, errlen, "--trace - and %s - both want stdout: give %s a file", other,
                 other);
    return other == NULL;
}

FILE *cli_trace_default_serial(const char *trace) { return is_stdout(trace) ? stderr : stdout; }
