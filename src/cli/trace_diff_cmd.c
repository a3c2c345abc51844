/* `nvmx trace diff [--ignore KEY]... [--context N] A B` (docs/cli.md). */
#include "cli.h"
#include "nvmx/trace_tools.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void diff_usage(FILE *f)
{
    fputs("usage: nvmx trace diff [--ignore KEY]... [--context N] [--window N] A B\n"
          "\n"
          "Compare two traces event by event: the header keys that differ, the first\n"
          "event that differs (with the N equal events before it and the keys that\n"
          "differ), then each divergence -- events only in A, only in B, or with\n"
          "other values -- and where the traces are in step again (the same event,\n"
          "level and reason, entry kind, instruction or end cause), then the events,\n"
          "VM exits, entries, failures and last cycle stamp of both, and the VM exits\n"
          "and exit cycles per level and exit reason with their deltas (B minus A).\n"
          "\n"
          "  --ignore KEY  leave KEY out of the comparison: a bare name (cycles, cost,\n"
          "                image, nvmx) at any depth, a dotted path (config.cost.file)\n"
          "                at that place only; repeatable, or comma-separated\n"
          "  --context N   equal events shown before the divergence (default 3)\n"
          "  --window N    events searched ahead on each side to get in step again\n"
          "                after a divergence (default 256; 0: none, the rest is counted)\n"
          "\n"
          "Exit status: 0 the same, 1 they differ, 2 usage error or a bad trace.\n",
          f);
}

int cli_trace_diff(int argc, char **argv)
{
    enum { OPT_IGNORE = 256, OPT_CONTEXT, OPT_WINDOW, OPT_HELP };
    static const struct option opts[] = {
        { "ignore", required_argument, NULL, OPT_IGNORE },
        { "context", required_argument, NULL, OPT_CONTEXT },
        { "window", required_argument, NULL, OPT_WINDOW },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    struct trace_diff_opts o = { .context = 3, .window = 256 };
    int opt;
    char *end;
    cli_getopt_reset();
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case OPT_IGNORE:
            for (char *save = NULL, *k = strtok_r(optarg, ",", &save); k;
                 k = strtok_r(NULL, ",", &save)) {
                if (o.nignore == TRACE_DIFF_MAX_IGNORE) {
                    fprintf(stderr, "nvmx trace diff: more than %d --ignore keys\n",
                            TRACE_DIFF_MAX_IGNORE);
                    return CLI_EXIT_BAD_INPUT;
                }
                o.ignore[o.nignore++] = k;
            }
            break;
        case OPT_CONTEXT: {
            unsigned long v = strtoul(optarg, &end, 10);
            if (*optarg < '0' || *optarg > '9' || *end || v > 1000) {
                fprintf(stderr, "nvmx trace diff: --context '%s': expected 0 to 1000\n",
                        optarg);
                return CLI_EXIT_BAD_INPUT;
            }
            o.context = (unsigned)v;
            break;
        }
        case OPT_WINDOW: {
            unsigned long v = strtoul(optarg, &end, 10);
            if (*optarg < '0' || *optarg > '9' || *end || v > 100000) {
                fprintf(stderr, "nvmx trace diff: --window '%s': expected 0 to 100000\n",
                        optarg);
                return CLI_EXIT_BAD_INPUT;
            }
            o.window = (unsigned)v;
            break;
        }
        case 'h':
        case OPT_HELP: diff_usage(stdout); return CLI_EXIT_OK;
        default: return cli_bad_option("nvmx trace diff", opt, argv);
        }
    }
    if (argc - optind != 2) {
        fprintf(stderr, "nvmx trace diff: expected two traces A B (see nvmx trace diff --help)\n");
        return CLI_EXIT_BAD_INPUT;
    }
    const char *an = argv[optind], *bn = argv[optind + 1];
    if (!strcmp(an, "-") && !strcmp(bn, "-")) {
        fprintf(stderr, "nvmx trace diff: only one of A and B can be '-' (stdin)\n");
        return CLI_EXIT_BAD_INPUT;
    }
    char err[256];
    FILE *fa = trace_open_read(an, err, sizeof(err)), *fb = NULL;
    if (!fa || !(fb = trace_open_read(bn, err, sizeof(err)))) {
        fprintf(stderr, "nvmx trace diff: %s\n", err);
        trace_close_read(fa);
        return CLI_EXIT_BAD_INPUT;
    }
    enum trace_diff_result r = trace_diff(fa, an, fb, bn, &o, stdout, stderr);
    trace_close_read(fa);
    trace_close_read(fb);
    if (fflush(stdout) != 0)
        return CLI_EXIT_INTERNAL;
    return (int)r;
}
