/* `nvmx trace SUBCOMMAND`: tools over a --trace file. `stats` prints VM exits
 * per reason (docs/cli.md, docs/trace-schema.md). */
#include "cli.h"
#include "nvmx/trace.h"

#include <errno.h>
#include <string.h>

void cli_trace_usage(FILE *f)
{
    fputs("usage: nvmx trace stats FILE   VM exits per reason from a --trace file\n"
          "       nvmx trace --help\n"
          "\n"
          "stats prints, in the shape of `perf kvm stat`'s table, one row per exit\n"
          "reason: VM-EXIT (reason name), Samples, Samples% (share of exits), Time%\n"
          "(share of exit cycles), and Min/Max/Avg cycles per exit. An exit's cycles\n"
          "run from the start of the VM exit to the end of the next successful VM\n"
          "entry at the same level; exits never re-entered count as samples only.\n"
          "Then the VM entries (launch/resume), failed entries and VMfail results.\n"
          "FILE '-' is stdin. Lines are checked against docs/trace-schema.md; each\n"
          "problem is reported as FILE:LINE. A truncated last line is a warning.\n"
          "\n"
          "Exit status: 0 ok, 2 usage error, unreadable or malformed trace.\n",
          f);
}

static int trace_stats_cmd(const char *path)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!f) {
        fprintf(stderr, "nvmx trace stats: cannot open '%s': %s\n", path, strerror(errno));
        return CLI_EXIT_BAD_INPUT;
    }
    struct trace_stats s;
    struct trace_read_result res;
    trace_stats_init(&s);
    bool ok = trace_read(f, path, trace_stats_add, &s, stderr, &res);
    if (f != stdin)
        fclose(f);
    if (!ok) {
        fprintf(stderr, "nvmx trace stats: '%s' is not a valid trace (%u problem%s)\n", path,
                res.errors, res.errors == 1 ? "" : "s");
        return CLI_EXIT_BAD_INPUT;
    }
    trace_stats_print(&s, stdout);
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_INTERNAL;
}

int cli_trace(int argc, char **argv)
{
    if (argc < 2) {
        cli_trace_usage(stderr);
        return CLI_EXIT_BAD_INPUT;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        cli_trace_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (!strcmp(argv[1], "stats")) {
        if (argc == 3 && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))) {
            cli_trace_usage(stdout);
            return CLI_EXIT_OK;
        }
        if (argc != 3) {
            fprintf(stderr, "nvmx trace stats: expected one FILE (see nvmx trace --help)\n");
            return CLI_EXIT_BAD_INPUT;
        }
        return trace_stats_cmd(argv[2]);
    }
    fprintf(stderr, "nvmx trace: unknown subcommand '%s' (see nvmx trace --help)\n", argv[1]);
    return CLI_EXIT_BAD_INPUT;
}
