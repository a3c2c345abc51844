/* `nvmx run IMAGE`: parse options, load the CPU and cost models, build the
 * machine, load the image, run, and report why the run ended. Host time is
 * measured here for the --stats report only; the guest never sees it. */
#include "cli.h"
#include "nvmx/config.h"
#include "nvmx/cpu.h"
#include "nvmx/machine.h"
#include "nvmx/nested.h"
#include "nvmx/trace.h"
#include "nvmx/vmx.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#ifndef NVMX_CONFIG_DIR
#define NVMX_CONFIG_DIR "configs"
#endif
#ifndef NVMX_VERSION
#define NVMX_VERSION "0.0.0"
#endif

#define MIB (1ull << 20)
#define CLI_MIN_MEM (2 * MIB)
#define CLI_MAX_MEM (64ull << 30)
#define CLI_MAX_MODULES 64

struct run_opts {
    const char *image;
    uint64_t mem;
    const char *cpu, *cost, *cmdline;
    struct boot_module modules[CLI_MAX_MODULES];
    unsigned nmodules;
    uint64_t max_insns;
    const char *serial, *debugcon, *trace_insns, *trace;
    bool stats, quiet, feature_control_locked;
    bool l0;                /* --l0: run IMAGE as L1 under the built-in L0 */
    const char *l0_config;  /* --l0-config */
    unsigned log;           /* --log: CLI_LOG_* */
    const char *log_file;   /* --log-file */
    const char *gdb;        /* --gdb tcp::PORT (-s: tcp::1234) */
    bool gdb_wait;          /* -S */
    const char *stack;      /* --stack FILE (stack.c) */
    const char *images;     /* --images DIR */
    bool mem_set;
    const char *devices[4]; /* --device NAME */
    unsigned ndevices;
};

void cli_run_usage(FILE *f)
{
    fputs("usage: nvmx run IMAGE [options]\n"
          "\n"
          "IMAGE is a multiboot v1 kernel (ELF32, or any format with the a.out kludge)\n"
          "or an ELF64 executable entered in 64-bit mode (docs/memory-layout.md).\n"
          "\n"
          "  --mem SIZE            guest RAM, K/M/G suffixes (default 256M; 2M..64G)\n"
          "  --cpu FILE            CPU model JSON (default cpu/skylake-server.json in the\n"
          "                        config directory; a bare NAME means cpu/NAME.json there)\n"
          "  --cost FILE           cost model JSON (default cost/default.json there)\n"
          "  --cmdline STR         kernel command line (multiboot cmdline)\n"
          "  --module FILE[,STR]   load a multiboot module with its string; repeatable\n"
          "  --max-insns N         stop after N instructions (default: no limit)\n"
          "  --device NAME         add QEMU's pc-testdev or pci-testdev; repeatable\n"
          "  --serial FILE         COM1 output (default stdout; '-' = stdout)\n"
          "  --debugcon FILE       port 0xe9 output (default discarded; '-' = stdout)\n"
          "  --stats               print run statistics on stderr at the end (with VMX:\n"
          "                        VM entries, failures and VM exits per reason)\n"
          "  --trace FILE          JSON Lines trace of VM entries, VM exits and VMfail\n"
          "                        results ('-' = stdout; docs/trace-schema.md); read it\n"
          "                        with `nvmx trace stats FILE`\n"
          "  --trace-insns FILE    one line per retired instruction\n"
          "  --log ITEMS           log, comma-separated (QEMU's -d): int (each exception\n"
          "                        or interrupt delivered), cpu_reset (CPU state and VMCS\n"
          "                        at shutdown), vmx (VM entries, exits, VMfail)\n"
          "  --log-file FILE       --log output (default stderr; '-' = stdout)\n"
          "  --gdb tcp::PORT[,arch=A]\n"
          "                        gdb remote stub on 127.0.0.1:PORT (-s: tcp::1234); A:\n"
          "                        auto (by the CPU's mode when gdb connects), i8086,\n"
          "                        i386, x86-64\n"
          "  -S, --gdb-wait        wait for gdb before the first instruction\n"
          "  --feature-control-locked\n"
          "                        start with IA32_FEATURE_CONTROL locked and VMX enabled\n"
          "                        outside SMX (0x5), as firmware leaves it; default 0, as\n"
          "                        on a machine without firmware\n"
          "  --l0                  run IMAGE as L1 in VMX non-root operation under the\n"
          "                        built-in L0, which emulates VMX for it (docs/nested.md)\n"
          "  --l0-config FILE      L0 policy (default l0/default.json in the config\n"
          "                        directory; a bare NAME means l0/NAME.json there)\n"
          "  --stack FILE          run the stack FILE describes (configs/stack, docs/stacks.md):\n"
          "                        the image and command line of each level, L0's policy;\n"
          "                        without --trace the trace goes to NAME.jsonl.zst (NAME:\n"
          "                        FILE's name without .json) in the current directory\n"
          "  --images DIR          with --stack: find its images in DIR\n"
          "  --quiet               no warnings about unclaimed ports / unbacked memory\n"
          "  --help                this text\n"
          "\n"
          "The config directory is $NVMX_CONFIG_DIR if set, else the source tree's configs/.\n"
          "A CPU model that advertises VMX (CPUID.1:ECX[5] and VMX capability MSRs) gives\n"
          "the CPU VMX; a model advertising a VMX feature nvmx lacks is refused with the\n"
          "MSR and bit named (exit status 2).\n"
          "\n"
          "Exit status: debug-exit write of v -> (v << 1) | 1; 2 bad input,\n"
          "4 triple fault/shutdown, 6 unwakeable HLT, 8 instruction limit, 10 internal error\n"
          "or an output write failed, 12 killed by the debugger (--gdb), 14 VMX abort,\n"
          "16 stopped by SIGINT/SIGTERM.\n",
          f);
}

static const char *config_dir(void)
{
    const char *env = getenv("NVMX_CONFIG_DIR");
    return env && *env ? env : NVMX_CONFIG_DIR;
}

static bool file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* A --cpu/--cost argument: a path, or a bare name looked up in the config
 * directory's subdir (with or without ".json"). *shown is what the trace
 * header records: the argument as given, or the path inside the config
 * directory (so no host path the user did not give reaches the trace). */
static const char *resolve_config(const char *arg, const char *subdir, const char *dflt,
                                  char *buf, size_t size, const char **shown)
{
    const char *dir = config_dir();
    size_t skip = strlen(dir) + 1;
    if (!arg) {
        snprintf(buf, size, "%s/%s/%s", dir, subdir, dflt);
        *shown = buf + skip;
        return buf;
    }
    *shown = arg;
    if (file_exists(arg) || strchr(arg, '/'))
        return arg;
    snprintf(buf, size, "%s/%s/%s", dir, subdir, arg);
    if (!file_exists(buf))
        snprintf(buf, size, "%s/%s/%s.json", dir, subdir, arg);
    if (!file_exists(buf))
        return arg;
    *shown = strlen(buf) > skip ? buf + skip : buf;
    return buf;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!s || *s < '0' || *s > '9')
        return false;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

static bool usage_error(const char *fmt, const char *arg)
{
    fputs("nvmx run: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs(" (see nvmx run --help)\n", stderr);
    return false;
}

/* --stack FILE: the stack gives the image, the command lines, the modules
 * and L0; the other options still apply (the command line's --mem, --cpu
 * and --cost win over the file's). */
static bool apply_stack(struct run_opts *o, int nargs)
{
    static struct cli_stack st;
    static char trace[4096];
    char err[512];
    if (nargs > 0 || o->image || o->nmodules || o->cmdline || o->l0 || o->l0_config)
        return usage_error("--stack %s gives the images, command lines and L0: no IMAGE, "
                           "--module, --cmdline, --l0 or --l0-config with it", o->stack);
    if (!cli_stack_load(o->stack, o->images, &st, err, sizeof(err))) {
        fprintf(stderr, "nvmx run: %s\n", err);
        return false;
    }
    o->image = st.image[0];
    o->cmdline = st.cmdline[0];
    for (unsigned i = 1; i < st.nlevels; i++)
        o->modules[o->nmodules++] = (struct boot_module){ st.image[i], st.cmdline[i] };
    o->l0 = st.l0;
    o->l0_config = st.l0_config;
    o->feature_control_locked |= st.feature_control_locked;
    if (!o->cpu)
        o->cpu = st.cpu;
    if (!o->cost)
        o->cost = st.cost;
    if (st.mem && !o->mem_set) {
        if (st.mem < CLI_MIN_MEM || st.mem > CLI_MAX_MEM || (st.mem & 0xfff))
            return usage_error("%s: mem: must be a multiple of 4K from 2M to 64G", o->stack);
        o->mem = st.mem;
    }
    if (!o->trace) {
        const char *base = strrchr(o->stack, '/');
        base = base ? base + 1 : o->stack;
        size_t n = strlen(base);
        if (n > 5 && !strcmp(base + n - 5, ".json"))
            n -= 5;
        snprintf(trace, sizeof(trace), "%.*s.jsonl.zst", (int)n, base);
        o->trace = trace;
    }
    fprintf(stderr, "nvmx: stack %s: levels %d-%d%s; trace in %s\n", o->stack,
            st.first_level, st.first_level + (int)st.nlevels - 1,
            st.l0 ? " under the built-in L0" : " bare", o->trace);
    return true;
}

enum { OPT_MEM = 256, OPT_CPU, OPT_COST, OPT_CMDLINE, OPT_MODULE, OPT_MAX_INSNS, OPT_SERIAL,
       OPT_DEBUGCON, OPT_STATS, OPT_TRACE_INSNS, OPT_TRACE, OPT_FEATURE_CONTROL_LOCKED,
       OPT_QUIET, OPT_HELP, OPT_L0, OPT_L0_CONFIG, OPT_KERNEL, OPT_APPEND, OPT_INITRD,
       OPT_QEMU_M, OPT_LOG, OPT_LOG_FILE, OPT_GDB, OPT_GDB_WAIT, OPT_STACK, OPT_IMAGES,
       OPT_DEVICE };

/* Returns false on a usage error; sets *help for --help. */
static bool parse_opts(int argc, char **argv, struct run_opts *o, bool *help)
{
    static const struct option longopts[] = {
        { "mem", required_argument, NULL, OPT_MEM },
        { "cpu", required_argument, NULL, OPT_CPU },
        { "cost", required_argument, NULL, OPT_COST },
        { "cmdline", required_argument, NULL, OPT_CMDLINE },
        { "module", required_argument, NULL, OPT_MODULE },
        { "max-insns", required_argument, NULL, OPT_MAX_INSNS },
        { "serial", required_argument, NULL, OPT_SERIAL },
        { "debugcon", required_argument, NULL, OPT_DEBUGCON },
        { "stats", no_argument, NULL, OPT_STATS },
        { "trace-insns", required_argument, NULL, OPT_TRACE_INSNS },
        { "trace", required_argument, NULL, OPT_TRACE },
        { "feature-control-locked", no_argument, NULL, OPT_FEATURE_CONTROL_LOCKED },
        { "quiet", no_argument, NULL, OPT_QUIET },
        { "l0", no_argument, NULL, OPT_L0 },
        { "l0-config", required_argument, NULL, OPT_L0_CONFIG },
        { "help", no_argument, NULL, OPT_HELP },
        { "log", required_argument, NULL, OPT_LOG },
        { "log-file", required_argument, NULL, OPT_LOG_FILE },
        { "gdb", required_argument, NULL, OPT_GDB },
        { "gdb-wait", no_argument, NULL, OPT_GDB_WAIT },
        { "stack", required_argument, NULL, OPT_STACK },
        { "images", required_argument, NULL, OPT_IMAGES },
        { "device", required_argument, NULL, OPT_DEVICE },
        /* QEMU's -kernel, -append, -initrd, -m (run_alias.c) */
        { "kernel", required_argument, NULL, OPT_KERNEL },
        { "append", required_argument, NULL, OPT_APPEND },
        { "initrd", required_argument, NULL, OPT_INITRD },
        { "qemu-m", required_argument, NULL, OPT_QEMU_M },
        { NULL, 0, NULL, 0 },
    };
    char err[256];
    memset(o, 0, sizeof(*o));
    cli_run_aliases(argc, argv, longopts);
    o->mem = 256 * MIB;
    opterr = 0;
    optind = 0; /* glibc: 0 rescans from scratch, whatever scanned before (nvmx replay) */
    int opt;
    while ((opt = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        switch (opt) {
        case OPT_MEM:
            if (!config_parse_size(optarg, &o->mem))
                return usage_error("--mem: '%s' is not a size (e.g. 256M, 1G)", optarg);
            if (o->mem < CLI_MIN_MEM || o->mem > CLI_MAX_MEM || (o->mem & 0xfff))
                return usage_error("--mem: '%s' must be a multiple of 4K from 2M to 64G",
                                   optarg);
            o->mem_set = true;
            break;
        case OPT_CPU: o->cpu = optarg; break;
        case OPT_COST: o->cost = optarg; break;
        case OPT_CMDLINE: o->cmdline = optarg; break;
        case OPT_MODULE: {
            if (o->nmodules >= CLI_MAX_MODULES)
                return usage_error("--module: more than %s modules", "64");
            char *comma = strchr(optarg, ',');
            if (comma)
                *comma = 0;
            if (!*optarg)
                return usage_error("--module: empty file name in '%s'", optarg);
            o->modules[o->nmodules++] = (struct boot_module){ optarg, comma ? comma + 1 : NULL };
            break;
        }
        case OPT_MAX_INSNS:
            if (!parse_u64(optarg, &o->max_insns))
                return usage_error("--max-insns: '%s' is not a non-negative integer", optarg);
            break;
        case OPT_SERIAL: o->serial = optarg; break;
        case OPT_DEBUGCON: o->debugcon = optarg; break;
        case OPT_STATS: o->stats = true; break;
        case OPT_TRACE_INSNS: o->trace_insns = optarg; break;
        case OPT_TRACE: o->trace = optarg; break;
        case OPT_FEATURE_CONTROL_LOCKED: o->feature_control_locked = true; break;
        case OPT_QUIET: o->quiet = true; break;
        case OPT_L0: o->l0 = true; break;
        case OPT_L0_CONFIG: o->l0_config = optarg; break;
        case OPT_HELP: *help = true; return true;
        case OPT_LOG:
            if (!cli_log_parse(optarg, &o->log, err, sizeof(err)))
                return usage_error("%s", err);
            break;
        case OPT_LOG_FILE: o->log_file = optarg; break;
        case OPT_GDB:
            if (!cli_gdb_parse(optarg, err, sizeof(err)))
                return usage_error("%s", err);
            o->gdb = optarg;
            break;
        case OPT_GDB_WAIT: o->gdb_wait = true; break;
        case OPT_STACK: o->stack = optarg; break;
        case OPT_IMAGES: o->images = optarg; break;
        case OPT_DEVICE:
            if (o->ndevices >= sizeof o->devices / sizeof o->devices[0])
                return usage_error("--device %s: too many devices", optarg);
            o->devices[o->ndevices++] = optarg;
            break;
        case OPT_KERNEL: o->image = optarg; break;
        case OPT_APPEND: o->cmdline = optarg; break;
        case OPT_INITRD:
            if (!cli_qemu_initrd(optarg, o->modules, &o->nmodules, CLI_MAX_MODULES, err,
                                 sizeof(err)))
                return usage_error("%s", err);
            break;
        case OPT_QEMU_M:
            if (!cli_qemu_mem(optarg, &o->mem))
                return usage_error("-m: '%s' is not a size (e.g. 256, 1G)", optarg);
            if (o->mem < CLI_MIN_MEM || o->mem > CLI_MAX_MEM || (o->mem & 0xfff))
                return usage_error("-m: '%s' must be a multiple of 4K from 2M to 64G", optarg);
            break;
        default:
            cli_bad_option_text(opt, argv, err, sizeof(err));
            return usage_error("%s", err);
        }
    }
    if (o->gdb_wait && !o->gdb)
        return usage_error("%s", "-S needs --gdb tcp::PORT or -s");
    if (o->stack)
        return apply_stack(o, argc - optind);
    if (o->images)
        return usage_error("%s", "--images goes with --stack");
    if (optind >= argc && !o->image)
        return usage_error("%s", "no IMAGE given");
    if (o->image && optind < argc)
        return usage_error("IMAGE given twice: -kernel and '%s'", argv[optind]);
    if (optind + 1 < argc)
        return usage_error("unexpected argument '%s'", argv[optind + 1]);
    if (!o->image)
        o->image = argv[optind];
    return true;
}

/* Open an output file; "-" is stdout. */
static FILE *open_out(const char *what, const char *path)
{
    if (!strcmp(path, "-"))
        return stdout;
    FILE *f = fopen(path, "w");
    if (!f)
        fprintf(stderr, "nvmx run: %s: cannot open '%s': %s\n", what, path, strerror(errno));
    return f;
}

static double host_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void report_stats(const struct cpu *c, const struct machine *m, double secs)
{
    double mips = secs > 0 ? (double)c->stats.insns / secs / 1e6 : 0;
    fprintf(stderr,
            "nvmx: stats: instructions retired  %llu\n"
            "nvmx: stats: modelled cycles       %llu\n"
            "nvmx: stats: host seconds          %.3f\n"
            "nvmx: stats: MIPS                  %.2f\n"
            "nvmx: stats: blocks decoded        %llu\n"
            "nvmx: stats: TLB misses            %llu\n"
            "nvmx: stats: EPT walks/references  %llu/%llu\n"
            "nvmx: stats: modelled TLB L1/STLB hits, misses, walk references %llu/%llu %llu %llu\n",
            (unsigned long long)c->stats.insns, (unsigned long long)c->cycles, secs, mips,
            (unsigned long long)c->stats.blocks_decoded, (unsigned long long)c->stats.tlb_misses,
            (unsigned long long)c->stats.ept_walks, (unsigned long long)c->stats.ept_refs,
            (unsigned long long)c->stats.tlbm_l1_hits, (unsigned long long)c->stats.tlbm_l2_hits,
            (unsigned long long)c->stats.tlbm_misses, (unsigned long long)c->stats.tlbm_walk_refs);
    cli_psc_report_stats(c, stderr);
    fprintf(stderr,
            "nvmx: stats: unbacked reads/writes %llu/%llu\n"
            "nvmx: stats: unclaimed port in/out %llu/%llu\n",
            (unsigned long long)m->stats.unbacked_reads,
            (unsigned long long)m->stats.unbacked_writes,
            (unsigned long long)m->stats.unclaimed_port_reads,
            (unsigned long long)m->stats.unclaimed_port_writes);
    cli_vmx_report_stats(c, stderr);
}

/* cli_run_fn for the gdb stub */
static enum cpu_stop run_cpu(void *ctx, uint64_t max_insns) { return cpu_run(ctx, max_insns); }
static enum cpu_stop run_nested(void *ctx, uint64_t max_insns)
{
    return nested_run(ctx, max_insns);
}

static bool write_trace_header(struct trace_writer *tw, const struct run_opts *o,
                               const struct cpu_model *model, const char *cpu_shown,
                               const struct cost_model *cost, const char *cost_shown,
                               int argc, char **argv)
{
    struct trace_header h = {
        .nvmx_version = NVMX_VERSION,
        .image = o->image,
        .cpu_name = model->name, .cpu_file = cpu_shown,
        .cost_name = cost->name, .cost_file = cost_shown,
        .mem = o->mem, .max_insns = o->max_insns,
        .cmdline = o->cmdline,
        .feature_control_locked = o->feature_control_locked,
        .vmx_msrs = cli_model_has_vmx(model) ? model->vmx_msrs : NULL,
    };
    cli_record_run(&h, argc, argv, o->modules, o->nmodules); /* for nvmx replay */
    return trace_write_header(tw, &h);
}

int cli_run(int argc, char **argv)
{
    struct run_opts o;
    bool help = false;
    if (!parse_opts(argc, argv, &o, &help))
        return CLI_EXIT_BAD_INPUT;
    if (help) {
        cli_run_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (!cli_regular_file("nvmx run", "image", o.image))
        return CLI_EXIT_BAD_INPUT;
    for (unsigned i = 0; i < o.nmodules; i++)
        if (!cli_regular_file("nvmx run", "module", o.modules[i].path))
            return CLI_EXIT_BAD_INPUT;

    int status = CLI_EXIT_BAD_INPUT;
    char err[512], cpu_path[4096], cost_path[4096];
    static struct cpu_model model;
    static struct cost_model cost;
    struct machine *m = NULL;
    struct cpu *c = NULL;
    struct nested *l0 = NULL;
    FILE *serial = NULL, *debugcon = NULL, *trace_insns = NULL;
    struct trace_writer *tw = NULL;
    struct cli_log *log = NULL;
    struct gdb_stub *gdb = NULL;
    const char *cpu_shown, *cost_shown;

    const char *cp = resolve_config(o.cpu, "cpu", "skylake-server.json", cpu_path,
                                    sizeof(cpu_path), &cpu_shown);
    const char *kp = resolve_config(o.cost, "cost", "default.json", cost_path,
                                    sizeof(cost_path), &cost_shown);
    if (!config_load_cpu_model(cp, &model, err, sizeof(err)) ||
        !config_load_cost_model(kp, &cost, err, sizeof(err))) {
        fprintf(stderr, "nvmx run: %s\n", err);
        goto out;
    }
    if (!cli_trace_stdout_check(o.trace, o.serial, o.debugcon, o.trace_insns, err,
                                sizeof(err))) {
        fprintf(stderr, "nvmx run: %s\n", err);
        goto out;
    }
    serial = o.serial ? open_out("--serial", o.serial) : cli_trace_default_serial(o.trace);
    debugcon = o.debugcon ? open_out("--debugcon", o.debugcon) : NULL;
    trace_insns = o.trace_insns ? open_out("--trace-insns", o.trace_insns) : NULL;
    if (!serial || (o.debugcon && !debugcon) || (o.trace_insns && !trace_insns))
        goto out;
    if (o.log || o.log_file) {
        log = cli_log_open(o.log, o.log_file, err, sizeof(err));
        if (!log) {
            fprintf(stderr, "nvmx run: %s\n", err);
            goto out;
        }
    }
    if (o.trace) {
        tw = trace_writer_open(o.trace, err, sizeof(err));
        if (!tw) {
            fprintf(stderr, "nvmx run: %s\n", err);
            goto out;
        }
        write_trace_header(tw, &o, &model, cpu_shown, &cost, cost_shown, argc, argv);
    }

    status = CLI_EXIT_INTERNAL;
    /* Under --l0, L0's own structures live above L1's RAM (docs/nested.md). */
    uint64_t ram = o.mem + (o.l0 ? NESTED_L0_AREA_SIZE : 0);
    m = machine_create(ram);
    if (!m) {
        fprintf(stderr, "nvmx run: cannot allocate a machine with %llu bytes of RAM\n",
                (unsigned long long)o.mem);
        goto out;
    }
    m->quiet = o.quiet;
    for (unsigned i = 0; i < o.ndevices; i++)
        if (!machine_add_device(m, o.devices[i], err, sizeof(err))) {
            fprintf(stderr, "nvmx run: %s\n", err);
            status = CLI_EXIT_BAD_INPUT;
            goto out;
        }
    m->serial_out = serial;
    m->debugcon_out = debugcon;
    cli_trace_stop_on_failure(tw, m);
    c = cpu_create(m, &model, &cost);
    if (!c) {
        fprintf(stderr, "nvmx run: cannot create the CPU\n");
        goto out;
    }
    m->cpu = c;
    cpu_power_on_reset(c);
    c->trace_insns = trace_insns;
    struct cli_vmx_opts vo = { .feature_control_locked = o.feature_control_locked, .trace = tw };
    if (!cli_vmx_setup(c, &model, cp, &vo, err, sizeof(err))) {
        fprintf(stderr, "nvmx run: %s\n", err);
        status = CLI_EXIT_BAD_INPUT;
        goto out;
    }
    cli_log_attach(log, c, tw);
    struct boot_params bp = { o.image, o.cmdline, o.modules, o.nmodules };
    m->ram_size = o.mem; /* the image is told of L1's RAM only */
    bool loaded = machine_load_image(m, c, &bp, err, sizeof(err));
    m->ram_size = ram;
    if (!loaded) {
        fprintf(stderr, "nvmx run: %s\n", err);
        status = CLI_EXIT_BAD_INPUT;
        goto out;
    }
    if (o.l0) {
        char l0_path[4096];
        const char *l0_shown;
        const char *lp = resolve_config(o.l0_config, "l0", "default.json", l0_path,
                                        sizeof(l0_path), &l0_shown);
        l0 = cli_l0_setup(c, o.mem, lp, err, sizeof(err));
        if (!l0) {
            fprintf(stderr, "nvmx run: %s\n", err);
            status = CLI_EXIT_BAD_INPUT;
            goto out;
        }
    }

    if (o.gdb) {
        gdb = cli_gdb_listen(o.gdb, err, sizeof(err));
        if (!gdb) {
            fprintf(stderr, "nvmx run: %s\n", err);
            status = CLI_EXIT_BAD_INPUT;
            goto out;
        }
    }
    if (!trace_writer_start(tw, err, sizeof(err))) {
        fprintf(stderr, "nvmx run: %s\n", err);
        status = CLI_EXIT_BAD_INPUT;
        goto out;
    }
    double t0 = host_seconds();
    cli_signals_catch(m);
    enum cpu_stop why = gdb  ? cli_gdb_run(gdb, c, l0 ? run_nested : run_cpu,
                                           l0 ? (void *)l0 : (void *)c, o.max_insns, o.gdb_wait)
                        : l0 ? nested_run(l0, o.max_insns)
                             : cpu_run(c, o.max_insns);
    const char *signal = cli_signals_release();
    double secs = host_seconds() - t0;
    /* A write that failed only now (a small output to a full disk) counts
     * as one that failed during the run. */
    fflush(serial);
    machine_output_ok(m, serial, MACHINE_OUT_SERIAL);
    if (debugcon) {
        fflush(debugcon);
        machine_output_ok(m, debugcon, MACHINE_OUT_DEBUGCON);
    }
    if (trace_insns) {
        fflush(trace_insns);
        machine_output_ok(m, trace_insns, MACHINE_OUT_TRACE_INSNS);
    }
    trace_writer_flush(tw);
    if (o.stats)
        report_stats(c, m, secs);
    else if (!o.quiet)
        cli_warning_summary(&m->stats, stderr);
    struct cli_run_end_ctx end_ctx = {
        .why = why, .c = c, .m = m, .l0 = l0, .gdb_killed = gdb && cli_gdb_killed(gdb),
        .signal = signal,
        .out_path = { [MACHINE_OUT_SERIAL] = o.serial ? o.serial : "-",
                      [MACHINE_OUT_DEBUGCON] = o.debugcon,
                      [MACHINE_OUT_TRACE_INSNS] = o.trace_insns },
    };
    struct cli_end end;
    status = cli_run_finish(&end_ctx, &end);
    cli_run_end_trace(tw, c, &end);
    /* A fatal end: shutdown (triple fault), VMX abort or an unexpected stop. */
    if (status == CLI_EXIT_SHUTDOWN || status == CLI_EXIT_VMX_ABORT ||
        (status == CLI_EXIT_INTERNAL && why != CPU_STOP_MACHINE))
        cli_log_fatal(log, c, end.cause, o.quiet);
out:
    /* The trace is flushed and closed on every path, so a run stopped by a
     * limit or an error leaves a complete, readable prefix. */
    nested_destroy(l0);
    cli_gdb_close(gdb);
    if (c && c->vmx)
        vmx_detach(c);
    if (c)
        cpu_destroy(c);
    if (tw && !trace_writer_close(tw, err, sizeof(err))) {
        fprintf(stderr, "nvmx run: %s\n", err);
        status = CLI_EXIT_INTERNAL;
    }
    if (!cli_log_close(log)) {
        fprintf(stderr, "nvmx run: --log-file: a write failed\n");
        status = CLI_EXIT_INTERNAL;
    }
    machine_destroy(m);
    if (serial && serial != stdout && serial != stderr)
        fclose(serial);
    if (debugcon && debugcon != stdout)
        fclose(debugcon);
    if (trace_insns && trace_insns != stdout)
        fclose(trace_insns);
    return status;
}
