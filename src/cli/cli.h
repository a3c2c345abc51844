/* Private to src/cli: the `nvmx` command's pieces (option parsing and the
 * run and its report). --trace-insns output is written by the CPU core
 * (src/cpu/trace_insn.c) to the FILE the CLI opens. */
#ifndef NVMX_CLI_H
#define NVMX_CLI_H

#include <stdbool.h>
#include <stdio.h>

/* Process exit statuses (docs/cli.md). A debug-exit write of v exits with
 * (v << 1) | 1, always odd; nvmx's own outcomes are even. */
enum cli_exit {
    CLI_EXIT_OK = 0,           /* --help, --version */
    CLI_EXIT_BAD_INPUT = 2,    /* usage, image or config error */
    CLI_EXIT_SHUTDOWN = 4,     /* triple fault / shutdown */
    CLI_EXIT_HLT_FOREVER = 6,  /* HLT with interrupts disabled or nothing to wake it */
    CLI_EXIT_INSN_LIMIT = 8,   /* --max-insns reached */
    CLI_EXIT_INTERNAL = 10,    /* nvmx failed (out of memory, unexpected stop) */
};

int cli_run(int argc, char **argv);
void cli_usage(FILE *f);
void cli_run_usage(FILE *f);


#endif
