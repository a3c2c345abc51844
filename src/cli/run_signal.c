/* SIGINT and SIGTERM during `nvmx run`: the run stops at the next block
 * boundary as if a device had asked it to (MACHINE_HOST_STOP), so the end
 * is the ordinary one: outputs flushed, the trace's `end` event, statistics
 * and the closing line (docs/cli.md). A second signal of the same kind
 * gets the default action (SA_RESETHAND): a run that does not stop can
 * still be killed. */
#include "cli.h"
#include "nvmx/machine.h"

#include <signal.h>
#include <stddef.h>
#include <string.h>

static struct machine *volatile stop_target;
static volatile sig_atomic_t caught;

static void on_signal(int sig)
{
    caught = sig;
    struct machine *m = stop_target;
    if (m)
        m->stop = MACHINE_HOST_STOP;
}

static struct sigaction old_int, old_term;

void cli_signals_catch(struct machine *m)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    caught = 0;
    stop_target = m;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
}

const char *cli_signals_release(void)
{
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    stop_target = NULL;
    switch (caught) {
    case 0: return NULL;
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    default: return "signal";
    }
}
