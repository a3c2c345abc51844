/* `nvmx trace export --format perfetto TRACE OUT` (docs/cli.md). */
#include "cli.h"
#include "nvmx/trace_tools.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void export_usage(FILE *f)
{
    fputs("usage: nvmx trace export --format perfetto [--cycles-per-us N] TRACE OUT\n"
          "\n"
          "Write TRACE as Chrome/Perfetto trace-event JSON (open OUT in ui.perfetto.dev\n"
          "or chrome://tracing): one track per level (L1, L2, ...), a slice per guest\n"
          "run (end of a VM entry to the start of the next VM exit at that level) and\n"
          "an instant per VM exit (named by its reason), failed entry, VMfail and\n"
          "unknown event, with the trace line as its arguments. OUT '-' is stdout;\n"
          "otherwise OUT is only replaced when the whole trace was read.\n"
          "\n"
          "  --cycles-per-us N  the clock that turns cycles into the format's\n"
          "                     microseconds (default 1000: one cycle shows as 1 ns)\n",
          f);
}

int cli_trace_export(int argc, char **argv)
{
    enum { OPT_FORMAT = 256, OPT_CPU_US, OPT_HELP };
    static const struct option opts[] = {
        { "format", required_argument, NULL, OPT_FORMAT },
        { "cycles-per-us", required_argument, NULL, OPT_CPU_US },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    const char *format = NULL;
    double per_us = 1000.0;
    char *end;
    int opt;
    cli_getopt_reset();
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case OPT_FORMAT:
            if (strcmp(optarg, "perfetto") && strcmp(optarg, "chrome")) {
                fprintf(stderr, "nvmx trace export: --format '%s': expected perfetto\n", optarg);
                return CLI_EXIT_BAD_INPUT;
            }
            format = optarg;
            break;
        case OPT_CPU_US:
            per_us = strtod(optarg, &end);
            if (*end || !(per_us >= 1e-3 && per_us <= 1e9)) {
                fprintf(stderr, "nvmx trace export: --cycles-per-us '%s': expected a number "
                                "from 0.001 to 1e9\n",
                        optarg);
                return CLI_EXIT_BAD_INPUT;
            }
            break;
        case 'h':
        case OPT_HELP: export_usage(stdout); return CLI_EXIT_OK;
        default: return cli_bad_option("nvmx trace export", opt, argv);
        }
    }
    if (!format || argc - optind != 2) {
        fprintf(stderr, "nvmx trace export: expected --format perfetto, TRACE and OUT "
                        "(see nvmx trace export --help)\n");
        return CLI_EXIT_BAD_INPUT;
    }
    const char *path = argv[optind], *outpath = argv[optind + 1];
    char err[256], tmp[4096];
    FILE *in = trace_open_read(path, err, sizeof(err));
    if (!in) {
        fprintf(stderr, "nvmx trace export: %s\n", err);
        return CLI_EXIT_BAD_INPUT;
    }
    bool to_stdout = !strcmp(outpath, "-");
    snprintf(tmp, sizeof(tmp), "%s.tmp%ld", outpath, (long)getpid());
    FILE *out = to_stdout ? stdout : fopen(tmp, "w");
    if (!out) {
        fprintf(stderr, "nvmx trace export: cannot open '%s': %s\n", tmp, strerror(errno));
        trace_close_read(in);
        return CLI_EXIT_BAD_INPUT;
    }
    struct trace_export_result res;
    bool ok = trace_export_perfetto(in, path, out, per_us, stderr, &res);
    trace_close_read(in);
    bool closed = to_stdout ? fflush(stdout) == 0 : fclose(out) == 0;
    int st = CLI_EXIT_OK;
    if (res.read.errors) {
        fprintf(stderr, "nvmx trace export: '%s' is not a valid trace (%u problem%s); '%s' not "
                        "written\n",
                path, res.read.errors, res.read.errors == 1 ? "" : "s", outpath);
        st = CLI_EXIT_BAD_INPUT;
    } else if (!ok || !closed || res.write_failed) {
        fprintf(stderr, "nvmx trace export: writing '%s' failed\n", outpath);
        st = CLI_EXIT_INTERNAL;
    } else if (!to_stdout && rename(tmp, outpath) != 0) {
        fprintf(stderr, "nvmx trace export: cannot write '%s': %s\n", outpath, strerror(errno));
        st = CLI_EXIT_INTERNAL;
    }
    if (st != CLI_EXIT_OK && !to_stdout)
        remove(tmp);
    if (st == CLI_EXIT_OK && !to_stdout)
        fprintf(stderr, "nvmx trace export: %s: %llu guest-run slices, %llu instants\n", outpath,
                (unsigned long long)res.slices, (unsigned long long)res.instants);
    return st;
}
