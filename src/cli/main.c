/* `nvmx`: command dispatch, --help and --version. */
#include "cli.h"

#include <string.h>

#ifndef NVMX_VERSION
#define NVMX_VERSION "0.0.0"
#endif

void cli_usage(FILE *f)
{
    fputs("usage: nvmx run IMAGE [options]   run a multiboot or ELF64 image\n"
          "       nvmx run --help            options of run (--trace, --stats, ...)\n"
          "       nvmx trace stats FILE      VM exits per reason from a --trace file\n"
          "       nvmx trace --help          the trace tools: stats, diff, recost, export,\n"
          "                                  import-ftrace\n"
          "       nvmx replay TRACE          run a trace's run again, compare the traces\n"
          "       nvmx report --html OUT TRACE   an HTML page of plots of a trace\n"
          "       nvmx --help | --version\n"
          "\n"
          "Exit status: a guest write of v to the debug-exit port (0xf4) exits with\n"
          "(v << 1) | 1, as under QEMU; otherwise 2 bad input (usage, image, config),\n"
          "4 triple fault/shutdown, 6 HLT that nothing can wake, 8 instruction limit,\n"
          "10 internal error. `nvmx trace`: 0 ok, 2 bad input or malformed trace.\n"
          "See docs/cli.md and docs/trace-schema.md.\n",
          f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        cli_usage(stderr);
        return CLI_EXIT_BAD_INPUT;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        cli_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("nvmx %s\n", NVMX_VERSION);
        return CLI_EXIT_OK;
    }
    if (!strcmp(argv[1], "run"))
        return cli_run(argc - 1, argv + 1);
    if (!strcmp(argv[1], "trace"))
        return cli_trace(argc - 1, argv + 1);
    if (!strcmp(argv[1], "replay"))
        return cli_replay(argc - 1, argv + 1);
    if (!strcmp(argv[1], "report"))
        return cli_report(argc - 1, argv + 1);
    fprintf(stderr, "nvmx: unknown command '%s'\n", argv[1]);
    cli_usage(stderr);
    return CLI_EXIT_BAD_INPUT;
}
