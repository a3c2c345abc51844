/* Private to src/cli: the `nvmx` command's pieces (option parsing, the run
 * and its report, VMX wiring, `nvmx trace`). --trace-insns output is written
 * by the CPU core (src/cpu/trace_insn.c) to the FILE the CLI opens; --trace
 * output by src/trace. */
#ifndef NVMX_CLI_H
#define NVMX_CLI_H

#include "nvmx/cpu.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
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
    CLI_EXIT_GDB_KILLED = 12,  /* the debugger killed the run (--gdb) */
};

int cli_run(int argc, char **argv);
void cli_usage(FILE *f);
void cli_run_usage(FILE *f);

/* For nvmx replay (run_record.c): fill h's run_args (argv after "run", as
 * given), image_sha256 and module_sha256. The storage lasts until the next
 * call. */
struct trace_header;
struct boot_module;
void cli_record_run(struct trace_header *h, int argc, char **argv,
                    const struct boot_module *modules, unsigned nmodules);

/* QEMU's spellings for `nvmx run` (run_alias.c): rewrite -kernel, -append,
 * -initrd, -m and -h in argv (not option values) to the long options
 * --kernel, --append, --initrd, --qemu-m, --help of longopts. */
struct option;
void cli_run_aliases(int argc, char **argv, const struct option *longopts);
/* -m: "[size=]N[suffix]", N without suffix in MiB. */
bool cli_qemu_mem(const char *s, uint64_t *out);
/* -initrd "FILE ARGS,FILE ARGS": modules appended to mods[*n..max). */
bool cli_qemu_initrd(char *spec, struct boot_module *mods, unsigned *n, unsigned max,
                     char *err, size_t errlen);

/* One closing line with the number of unclaimed-port and unbacked-memory
 * accesses, whose warnings are given once per port and address. */
struct machine_stats;
void cli_warning_summary(const struct machine_stats *st, FILE *f);

/* Option parsing shared by the commands (opts.c). */
/* PATH is a regular file; else "CMD: WHAT 'PATH' is a FIFO, not a regular
 * file: refused" (or why it cannot be seen) on stderr, false. A FIFO or a
 * device given as an image would be waited on or read forever. */
bool cli_regular_file(const char *cmd, const char *what, const char *path);
/* --help or -h. */
bool cli_is_help(const char *s);
/* Before a getopt_long loop over a (sub)command's argv: start afresh, no
 * getopt messages of its own (ours name the option). */
void cli_getopt_reset(void);
/* After getopt_long returned '?' or ':' (opt): "CMD: unknown option '-x'"
 * or "CMD: option '--by' needs a value", naming the option as the user
 * wrote it, and a pointer to CMD --help. Returns CLI_EXIT_BAD_INPUT. */
int cli_bad_option(const char *cmd, int opt, char **argv);
/* The text of that message, for callers that print their own. */
void cli_bad_option_text(int opt, char **argv, char *out, size_t outlen);

/* `nvmx trace SUBCOMMAND` (trace_cmd.c) */
int cli_trace(int argc, char **argv);
/* A failed --trace write stops the run (src/cli/run_trace.c). */
struct trace_writer;
struct machine;
void cli_trace_stop_on_failure(struct trace_writer *tw, struct machine *m);
/* --trace - takes stdout: false with a message when another output was
 * sent there ("-"); without --serial, serial output then goes to stderr. */
bool cli_trace_stdout_check(const char *trace, const char *serial, const char *debugcon,
                            const char *trace_insns, char *err, size_t errlen);
FILE *cli_trace_default_serial(const char *trace);
void cli_trace_usage(FILE *f);
/* The subcommands, each in its own file: argv[0] is the subcommand name. */
int cli_trace_diff(int argc, char **argv);
int cli_trace_recost(int argc, char **argv);
int cli_trace_export(int argc, char **argv);
int cli_trace_import_ftrace(int argc, char **argv);
/* `nvmx replay TRACE` (replay_cmd.c) */
int cli_replay(int argc, char **argv);
/* `nvmx report --html OUT TRACE` (report_cmd.c) */
int cli_report(int argc, char **argv);

/* VMX wiring of a run (run_vmx.c) */
struct trace_writer;
struct cli_vmx_opts {
    bool feature_control_locked;  /* --feature-control-locked */
    struct trace_writer *trace;   /* --trace, or NULL */
};
/* `nvmx run --l0` (run_l0.c): the L0 policy file, and L0 for the CPU
 * (NULL with a message when the model has no VMX or the file is bad). */
struct nested;
struct nested_policy;
bool cli_l0_load_policy(const char *path, struct nested_policy *p, char *err, size_t errlen);
struct nested *cli_l0_setup(struct cpu *c, uint64_t l1_mem, const char *policy_file, char *err,
                            size_t errlen);

/* The model advertises VMX: capability MSRs and CPUID.1:ECX.VMX. */
bool cli_model_has_vmx(const struct cpu_model *model);
/* After cpu_power_on_reset: IA32_FEATURE_CONTROL, and VMX (caps validated, trace sink
 * installed) when the model advertises it. False with a message naming
 * cpu_file, the MSR and the bit. */
bool cli_vmx_setup(struct cpu *c, const struct cpu_model *model, const char *cpu_file,
                   const struct cli_vmx_opts *o, char *err, size_t errlen);
/* --stats: VM entries, failures and exits per reason, when VMX is attached. */
void cli_vmx_report_stats(const struct cpu *c, FILE *f);
/* --stats: the modelled paging-structure caches' hits and misses (stats_psc.c). */
void cli_psc_report_stats(const struct cpu *c, FILE *f);

/* --log and --log-file (run_log.c) */
enum { CLI_LOG_INT = 1u << 0, CLI_LOG_CPU_RESET = 1u << 1, CLI_LOG_VMX = 1u << 2 };
struct cli_log;
/* "int,cpu_reset,vmx" (any subset) into CLI_LOG_* bits; false with a message. */
bool cli_log_parse(const char *spec, unsigned *mask, char *err, size_t errlen);
/* path NULL: stderr; "-": stdout. NULL with a message when it cannot be opened. */
struct cli_log *cli_log_open(unsigned mask, const char *path, char *err, size_t errlen);
/* After cli_vmx_setup: the int hook on the CPU, the vmx sink ahead of tw's. */
void cli_log_attach(struct cli_log *l, struct cpu *c, struct trace_writer *tw);
/* A fatal end (why: "shutdown", ...): the CPU state and the current VMCS, to
 * the log with cpu_reset, else to stderr unless quiet. */
void cli_log_fatal(struct cli_log *l, struct cpu *c, const char *why, bool quiet);
void cli_dump_cpu(FILE *f, struct cpu *c);
void cli_dump_vmcs(FILE *f, const struct cpu *c);
/* False if a write to the log failed. l may be NULL. */
bool cli_log_close(struct cli_log *l);

/* --gdb, -s, -S (gdbstub.c) */
struct gdb_stub;
/* "tcp::PORT" (also tcp:127.0.0.1:PORT, tcp:localhost:PORT) */
bool cli_gdb_parse(const char *spec, unsigned *port, char *err, size_t errlen);
/* Listen on 127.0.0.1:port; NULL with a message. */
struct gdb_stub *cli_gdb_listen(unsigned port, char *err, size_t errlen);
/* Run the CPU under the debugger's control (wait: -S, stopped before the
 * first instruction until gdb connects and continues). Returns as cpu_run. */
enum cpu_stop cli_gdb_run(struct gdb_stub *g, struct cpu *c, uint64_t max_insns, bool wait);
bool cli_gdb_killed(const struct gdb_stub *g);
void cli_gdb_close(struct gdb_stub *g);


/* `nvmx run --stack FILE` (stack.c, docs/stacks.md): the levels of a stack
 * description, outermost first. image[0] is the run's image and cmdline[0]
 * its command line; image[i] for i > 0 is module i-1, cmdline[i] its
 * string. Strings live until the next cli_stack_load(). */
#define CLI_STACK_MAX_LEVELS 16
#define CLI_STACK_MAX_LEVEL 63
struct cli_stack {
    const char *description;
    bool l0;                /* run level 1 under the built-in L0 */
    const char *l0_config;  /* as --l0-config, or NULL (the default policy) */
    const char *cpu, *cost; /* as --cpu/--cost, or NULL */
    uint64_t mem;           /* 0: not given */
    bool feature_control_locked;
    unsigned nlevels;
    int first_level;        /* the level of image[0]: 1 under L0, 0 bare */
    const char *image[CLI_STACK_MAX_LEVELS];
    const char *cmdline[CLI_STACK_MAX_LEVELS];
};
/* Load FILE; images are found relative to images_override when not NULL,
 * else to the file's "images" key (relative to the file) or the file's
 * directory. False with "FILE: KEY: problem" in err. */
bool cli_stack_load(const char *file, const char *images_override, struct cli_stack *st,
                    char *err, size_t errlen);

#endif
