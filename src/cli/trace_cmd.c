/* `nvmx trace SUBCOMMAND`: tools over a --trace file (docs/cli.md,
 * docs/trace-schema.md). This file dispatches and holds `stats`; the other
 * subcommands are in trace_*_cmd.c. */
#include "cli.h"
#include "nvmx/trace_tools.h"

#include <getopt.h>
#include <string.h>

void cli_trace_usage(FILE *f)
{
    fputs("usage: nvmx trace stats [--by KEY] [--sort count|time] [--format table|json|csv] FILE\n"
          "       nvmx trace diff [--ignore KEY]... [--context N] A B\n"
          "       nvmx trace recost --cost FILE [--format table|json|csv] TRACE\n"
          "       nvmx trace export --format perfetto TRACE OUT\n"
          "       nvmx trace import-ftrace FILE OUT\n"
          "       nvmx trace SUBCOMMAND --help\n"
          "\n"
          "FILE '-' is stdin. Every line is checked against docs/trace-schema.md; each\n"
          "problem is reported as FILE:LINE. A truncated last line is a warning; an\n"
          "event this nvmx does not know is a warning and is passed through.\n"
          "Exit status: 0 ok (diff: same), 1 diff: the traces differ, 2 usage error,\n"
          "unreadable or malformed input.\n",
          f);
}

static void stats_usage(FILE *f)
{
    fputs("usage: nvmx trace stats [--by KEY] [--sort count|time] [--format table|json|csv] FILE\n"
          "\n"
          "VM exits, in the shape of `perf kvm stat`'s table: one row per group with\n"
          "Samples, Samples% (share of the exits counted), Time% (share of their cycles)\n"
          "and Min/Max/Avg cycles per exit. An exit's cycles run from the start of the\n"
          "VM exit to the next successful VM entry at its level or a deeper one; exits\n"
          "never re-entered count as samples only. Then the VM entries (launch/resume),\n"
          "failed entries, VMfail results, and events this nvmx does not know, by name.\n"
          "\n"
          "  --by KEY      reason (default), level, vmcs (current-VMCS pointer),\n"
          "                port (I/O-instruction exits: port:PIN|POUT, from the exit\n"
          "                qualification), msr (RDMSR/WRMSR exits: msr:rdmsr|wrmsr, from the\n"
          "                \"msr\" key; schema 1 traces lack it: '?'), or\n"
          "                level,KEY (one row per level and KEY)\n"
          "  --sort        count (default: most samples first) or time (most cycles)\n"
          "  --format      table (default), json, csv\n",
          f);
}

static int trace_stats_cmd(int argc, char **argv)
{
    enum { OPT_BY = 256, OPT_SORT, OPT_FORMAT, OPT_HELP };
    static const struct option opts[] = {
        { "by", required_argument, NULL, OPT_BY },
        { "sort", required_argument, NULL, OPT_SORT },
        { "format", required_argument, NULL, OPT_FORMAT },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    enum trace_group_key by = TRACE_BY_REASON;
    bool by_level = false;
    enum trace_sort sort = TRACE_SORT_COUNT;
    enum trace_out_format fmt = TRACE_FMT_TABLE;
    char err[256];
    int opt;
    cli_getopt_reset();
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case OPT_BY:
            if (!trace_groups_parse_by(optarg, &by, &by_level, err, sizeof(err))) {
                fprintf(stderr, "nvmx trace stats: %s\n", err);
                return CLI_EXIT_BAD_INPUT;
            }
            break;
        case OPT_SORT:
            if (strcmp(optarg, "count") && strcmp(optarg, "time")) {
                fprintf(stderr, "nvmx trace stats: --sort '%s': expected count or time\n",
                        optarg);
                return CLI_EXIT_BAD_INPUT;
            }
            sort = !strcmp(optarg, "time") ? TRACE_SORT_TIME : TRACE_SORT_COUNT;
            break;
        case OPT_FORMAT:
            if (!trace_parse_format(optarg, &fmt)) {
                fprintf(stderr, "nvmx trace stats: --format '%s': expected table, json or csv\n",
                        optarg);
                return CLI_EXIT_BAD_INPUT;
            }
            break;
        case 'h':
        case OPT_HELP: stats_usage(stdout); return CLI_EXIT_OK;
        default: return cli_bad_option("nvmx trace stats", opt, argv);
        }
    }
    if (argc - optind != 1) {
        fprintf(stderr, "nvmx trace stats: expected one FILE (see nvmx trace stats --help)\n");
        return CLI_EXIT_BAD_INPUT;
    }
    const char *path = argv[optind];
    FILE *f = trace_open_read(path, err, sizeof(err));
    if (!f) {
        fprintf(stderr, "nvmx trace stats: %s\n", err);
        return CLI_EXIT_BAD_INPUT;
    }
    struct trace_groups g;
    struct trace_read_result res;
    trace_groups_init(&g, by, by_level);
    struct trace_read_fns fns = { .record = trace_groups_add };
    bool ok = trace_read_fns(f, path, &fns, &g, stderr, &res);
    trace_close_read(f);
    int st = CLI_EXIT_OK;
    if (g.oom) {
        fprintf(stderr, "nvmx trace stats: out of memory\n");
        st = CLI_EXIT_INTERNAL;
    } else if (!ok) {
        fprintf(stderr, "nvmx trace stats: '%s' is not a valid trace (%u problem%s)\n", path,
                res.errors, res.errors == 1 ? "" : "s");
        st = CLI_EXIT_BAD_INPUT;
    } else {
        trace_groups_print(&g, sort, fmt, stdout);
        if (fflush(stdout) != 0)
            st = CLI_EXIT_INTERNAL;
    }
    trace_groups_free(&g);
    return st;
}

int cli_trace(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(int argc, char **argv);
    } cmds[] = {
        { "stats", trace_stats_cmd },
        { "diff", cli_trace_diff },
        { "recost", cli_trace_recost },
        { "export", cli_trace_export },
        { "import-ftrace", cli_trace_import_ftrace },
    };
    if (argc < 2) {
        cli_trace_usage(stderr);
        return CLI_EXIT_BAD_INPUT;
    }
    if (cli_is_help(argv[1])) {
        cli_trace_usage(stdout);
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (!strcmp(argv[1], cmds[i].name))
            return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "nvmx trace: unknown subcommand '%s' (see nvmx trace --help)\n", argv[1]);
    return CLI_EXIT_BAD_INPUT;
}
