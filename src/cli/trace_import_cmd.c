/* `nvmx trace import-ftrace FILE OUT` (docs/cli.md). */
#include "cli.h"
#include "nvmx/trace_tools.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void import_usage(FILE *f)
{
    fputs("usage: nvmx trace import-ftrace [--cycles-per-ns F] [--vcpu N] FILE OUT\n"
          "\n"
          "Read `trace-cmd report` text of KVM's kvm_exit, kvm_entry, kvm_nested_vmexit,\n"
          "kvm_nested_vmexit_inject and kvm_nested_vmenter events from a real host and\n"
          "write them in nvmx's trace schema to OUT ('-' is stdout), so `nvmx trace\n"
          "stats` and `nvmx trace diff` work on them. Record on the host with e.g.\n"
          "  trace-cmd record -e kvm:kvm_exit -e kvm:kvm_entry -e 'kvm:kvm_nested_*'\n"
          "  trace-cmd report > kvm.txt\n"
          "\n"
          "  --cycles-per-ns F  the host's clock: cycles = ns since the first event * F\n"
          "                     (default 1: the numbers are nanoseconds)\n"
          "  --vcpu N           the vCPU to import (default: the first one seen); the\n"
          "                     lines of the others are counted and skipped\n",
          f);
}

int cli_trace_import_ftrace(int argc, char **argv)
{
    enum { OPT_CPN = 256, OPT_VCPU, OPT_HELP };
    static const struct option opts[] = {
        { "cycles-per-ns", required_argument, NULL, OPT_CPN },
        { "vcpu", required_argument, NULL, OPT_VCPU },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    struct trace_import_opts o = { .cycles_per_ns = 1.0, .vcpu = -1 };
    char *end;
    int opt;
    cli_getopt_reset();
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case OPT_CPN:
            o.cycles_per_ns = strtod(optarg, &end);
            if (*end || !(o.cycles_per_ns > 0 && o.cycles_per_ns <= 1000)) {
                fprintf(stderr, "nvmx trace import-ftrace: --cycles-per-ns '%s': expected a "
                                "number above 0, at most 1000\n",
                        optarg);
                return CLI_EXIT_BAD_INPUT;
            }
            break;
        case OPT_VCPU: {
            long v = strtol(optarg, &end, 10);
            if (*end || *optarg < '0' || *optarg > '9' || v > 1 << 20) {
                fprintf(stderr, "nvmx trace import-ftrace: --vcpu '%s': expected a vCPU number\n",
                        optarg);
                return CLI_EXIT_BAD_INPUT;
            }
            o.vcpu = (int)v;
            break;
        }
        case 'h':
        case OPT_HELP: import_usage(stdout); return CLI_EXIT_OK;
        default: return cli_bad_option("nvmx trace import-ftrace", opt, argv);
        }
    }
    if (argc - optind != 2) {
        fprintf(stderr, "nvmx trace import-ftrace: expected FILE and OUT "
                        "(see nvmx trace import-ftrace --help)\n");
        return CLI_EXIT_BAD_INPUT;
    }
    const char *path = argv[optind], *outpath = argv[optind + 1];
    char err[256], tmp[4096];
    FILE *in = trace_open_read(path, err, sizeof(err));
    if (!in) {
        fprintf(stderr, "nvmx trace import-ftrace: %s\n", err);
        return CLI_EXIT_BAD_INPUT;
    }
    bool to_stdout = !strcmp(outpath, "-");
    snprintf(tmp, sizeof(tmp), "%s.tmp%ld", outpath, (long)getpid());
    FILE *out = to_stdout ? stdout : fopen(tmp, "w");
    if (!out) {
        fprintf(stderr, "nvmx trace import-ftrace: cannot open '%s': %s\n", tmp, strerror(errno));
        trace_close_read(in);
        return CLI_EXIT_BAD_INPUT;
    }
    struct trace_import_result res;
    bool ok = trace_import_ftrace(in, path, out, &o, stderr, &res);
    trace_close_read(in);
    bool closed = to_stdout ? fflush(stdout) == 0 : fclose(out) == 0;
    int st = CLI_EXIT_OK;
    if (res.errors) {
        fprintf(stderr, "nvmx trace import-ftrace: '%s' is not trace-cmd report text of KVM "
                        "events (%u problem%s); '%s' not written\n",
                path, res.errors, res.errors == 1 ? "" : "s", outpath);
        st = CLI_EXIT_BAD_INPUT;
    } else if (!ok || !closed) {
        fprintf(stderr, "nvmx trace import-ftrace: writing '%s' failed\n", outpath);
        st = CLI_EXIT_INTERNAL;
    } else if (!to_stdout && rename(tmp, outpath) != 0) {
        fprintf(stderr, "nvmx trace import-ftrace: cannot write '%s': %s\n", outpath,
                strerror(errno));
        st = CLI_EXIT_INTERNAL;
    }
    if (!to_stdout && st != CLI_EXIT_OK)
        remove(tmp);
    if (st == CLI_EXIT_OK)
        fprintf(stderr, "nvmx trace import-ftrace: %u events of vcpu %d from %u lines (%u "
                        "other lines, %u lines of other vCPUs skipped)\n",
                res.events, res.vcpu, res.lines, res.skipped_lines, res.other_vcpu);
    return st;
}
