/* `nvmx report TRACE --html OUT` (docs/cli.md). */
#include "cli.h"
#include "nvmx/trace_tools.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <unistd.h>

static void report_usage(FILE *f)
{
    fputs("usage: nvmx report --html OUT TRACE\n"
          "\n"
          "Write one self-contained HTML page (inline SVG, no script, nothing fetched)\n"
          "of TRACE: VM exits over time per level, exits and exit cycles per level and\n"
          "reason, cycles-per-exit histograms of the busiest reasons, and the sizes of\n"
          "the vmcs02 merges. OUT '-' is stdout; a file OUT is only replaced when the\n"
          "whole trace was read.\n",
          f);
}

int cli_report(int argc, char **argv)
{
    enum { OPT_HTML = 256, OPT_HELP };
    static const struct option opts[] = {
        { "html", required_argument, NULL, OPT_HTML },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    const char *outpath = NULL;
    int opt;
    cli_getopt_reset();
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case OPT_HTML: outpath = optarg; break;
        case 'h':
        case OPT_HELP: report_usage(stdout); return CLI_EXIT_OK;
        default: return cli_bad_option("nvmx report", opt, argv);
        }
    }
    if (!outpath || argc - optind != 1) {
        fprintf(stderr, "nvmx report: expected --html OUT and one TRACE (see nvmx report --help)\n");
        return CLI_EXIT_BAD_INPUT;
    }
    const char *path = argv[optind];
    char err[256], tmp[4096];
    FILE *in = trace_open_read(path, err, sizeof(err));
    if (!in) {
        fprintf(stderr, "nvmx report: %s\n", err);
        return CLI_EXIT_BAD_INPUT;
    }
    bool to_stdout = !strcmp(outpath, "-");
    snprintf(tmp, sizeof(tmp), "%s.tmp%ld", outpath, (long)getpid());
    FILE *out = to_stdout ? stdout : fopen(tmp, "w");
    if (!out) {
        fprintf(stderr, "nvmx report: cannot open '%s': %s\n", tmp, strerror(errno));
        trace_close_read(in);
        return CLI_EXIT_BAD_INPUT;
    }
    struct trace_read_result res = { 0 };
    bool ok = trace_report_html(in, path, out, stderr, &res);
    trace_close_read(in);
    bool closed = to_stdout ? fflush(stdout) == 0 : fclose(out) == 0;
    int st = CLI_EXIT_OK;
    if (res.errors) {
        fprintf(stderr, "nvmx report: '%s' is not a valid trace (%u problem%s); '%s' not written\n",
                path, res.errors, res.errors == 1 ? "" : "s", outpath);
        st = CLI_EXIT_BAD_INPUT;
    } else if (!ok || !closed) {
        fprintf(stderr, "nvmx report: writing '%s' failed\n", outpath);
        st = CLI_EXIT_INTERNAL;
    } else if (!to_stdout && rename(tmp, outpath) != 0) {
        fprintf(stderr, "nvmx report: cannot write '%s': %s\n", outpath, strerror(errno));
        st = CLI_EXIT_INTERNAL;
    }
    if (!to_stdout && st != CLI_EXIT_OK)
        remove(tmp);
    return st;
}
