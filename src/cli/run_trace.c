/* `nvmx run --trace`: what the run does when the trace cannot be written
 * (a full disk): it stops at the next block boundary, so that no event is
 * lost silently, and the run's end names the file (docs/cli.md). */
#include "cli.h"
#include "nvmx/machine.h"
#include "nvmx/trace.h"

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
