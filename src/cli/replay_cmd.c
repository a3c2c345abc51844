/* `nvmx replay TRACE`: run again what a trace recorded (the options of
 * `run` in its header, or its config for traces without them), after
 * checking that the image and modules are the ones recorded (SHA-256), and
 * compare the new trace with the recorded one event for event
 * (docs/cli.md). */
#include "cli.h"
#include "nvmx/trace_tools.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REPLAY_MAX_ARGS 256

static void replay_usage(FILE *f)
{
    fputs("usage: nvmx replay [--image IMAGE] [--out FILE] [--ignore KEY]... TRACE\n"
          "\n"
          "Run again the run TRACE records: `nvmx run` with the options in its header\n"
          "(the image's and modules' SHA-256 checked first: a changed file is an error),\n"
          "then compare the new trace with TRACE as `nvmx trace diff` does and say\n"
          "whether they are identical event for event, or name the first divergence.\n"
          "The guest's output goes where the recorded options send it.\n"
          "\n"
          "  --image IMAGE  run IMAGE instead of the recorded path (its hash is checked)\n"
          "  --out FILE     keep the new trace in FILE (default: a temporary file,\n"
          "                 removed afterwards)\n"
          "  --ignore KEY   as in trace diff (the nvmx version is always ignored)\n"
          "\n"
          "Exit status: 0 identical, 1 the traces differ, 2 usage error, a bad trace,\n"
          "a missing or changed image; otherwise the run's own failure status.\n",
          f);
}

struct replay_args {
    char *argv[REPLAY_MAX_ARGS];
    int argc;
    char *owned[REPLAY_MAX_ARGS];
    int nowned;
};

static bool push(struct replay_args *a, const char *s, bool copy)
{
    if (a->argc >= REPLAY_MAX_ARGS - 1)
        return false;
    char *p = (char *)s;
    if (copy) {
        p = strdup(s);
        if (!p)
            return false;
        a->owned[a->nowned++] = p;
    }
    a->argv[a->argc++] = p;
    a->argv[a->argc] = NULL;
    return true;
}

/* A config file as recorded ("cpu/NAME.json" inside the config directory,
 * or a path as given): the option value that finds it again. */
static const char *config_arg(const char *file, const char *subdir, char *buf, size_t size)
{
    size_t n = strlen(subdir);
    if (!strncmp(file, subdir, n) && file[n] == '/' && !strchr(file + n + 1, '/')) {
        snprintf(buf, size, "%s", file + n + 1);
        return buf;
    }
    return file;
}

/* The options of the recorded run: the header's "args", or, for a trace
 * written before they were recorded, its config. */
static bool build_args(json_t *hdr, const char *image, struct replay_args *a, char *err,
                       size_t errlen, bool *from_config)
{
    json_t *args = json_object_get(hdr, "args");
    const char *rec_image = json_string_value(json_object_get(hdr, "image"));
    push(a, "run", false);
    if (json_is_array(args)) {
        size_t i;
        json_t *v;
        *from_config = false;
        json_array_foreach(args, i, v) {
            if (!json_is_string(v)) {
                snprintf(err, errlen, "header: \"args\"[%zu] must be a string", i);
                return false;
            }
            const char *s = json_string_value(v);
            /* The image positional: the one equal to the recorded image. */
            if (rec_image && !strcmp(s, rec_image))
                s = image;
            if (!push(a, s, true)) {
                snprintf(err, errlen, "header: \"args\": too many");
                return false;
            }
        }
        return true;
    }
    *from_config = true;
    json_t *cfg = json_object_get(hdr, "config");
    char buf[2][512], num[2][32];
    const char *cpu = json_string_value(json_object_get(json_object_get(cfg, "cpu"), "file"));
    const char *cost = json_string_value(json_object_get(json_object_get(cfg, "cost"), "file"));
    json_t *mem = json_object_get(cfg, "mem"), *maxi = json_object_get(cfg, "max_insns");
    const char *cmdline = json_string_value(json_object_get(cfg, "cmdline"));
    push(a, image, true);
    if (cpu)
        push(a, "--cpu", false), push(a, config_arg(cpu, "cpu", buf[0], sizeof(buf[0])), true);
    if (cost)
        push(a, "--cost", false),
            push(a, config_arg(cost, "cost", buf[1], sizeof(buf[1])), true);
    if (json_is_integer(mem)) {
        snprintf(num[0], sizeof(num[0]), "%lld", (long long)json_integer_value(mem));
        push(a, "--mem", false), push(a, num[0], true);
    }
    if (json_is_integer(maxi) && json_integer_value(maxi)) {
        snprintf(num[1], sizeof(num[1]), "%lld", (long long)json_integer_value(maxi));
        push(a, "--max-insns", false), push(a, num[1], true);
    }
    if (cmdline)
        push(a, "--cmdline", false), push(a, cmdline, true);
    if (json_is_true(json_object_get(cfg, "feature_control_locked")))
        push(a, "--feature-control-locked", false);
    return true;
}

/* The image and each --module file against the recorded hashes. */
static bool check_hashes(json_t *hdr, const struct replay_args *a, const char *image)
{
    char err[512], sha[65];
    const char *want = json_string_value(json_object_get(hdr, "image_sha256"));
    if (!want) {
        fprintf(stderr, "nvmx replay: warning: the trace records no image hash (written by "
                        "an older nvmx): '%s' is not checked\n",
                image);
    } else if (!trace_sha256_file(image, sha, err, sizeof(err))) {
        fprintf(stderr, "nvmx replay: image: %s\n", err);
        return false;
    } else if (strcmp(sha, want)) {
        fprintf(stderr, "nvmx replay: '%s' is not the image the trace was recorded with "
                        "(its SHA-256 is %s; the trace records %s)\n",
                image, sha, want);
        return false;
    }
    json_t *mods = json_object_get(hdr, "module_sha256");
    size_t m = 0;
    for (int k = 1; k < a->argc; k++) {
        const char *path = NULL;
        if (!strcmp(a->argv[k], "--module") && k + 1 < a->argc)
            path = a->argv[++k];
        else if (!strncmp(a->argv[k], "--module=", 9))
            path = a->argv[k] + 9;
        if (!path)
            continue;
        char file[4096];
        snprintf(file, sizeof(file), "%.*s", (int)strcspn(path, ","), path);
        const char *w = json_string_value(json_array_get(mods, m++));
        if (!w)
            continue;
        if (!trace_sha256_file(file, sha, err, sizeof(err))) {
            fprintf(stderr, "nvmx replay: module: %s\n", err);
            return false;
        }
        if (strcmp(sha, w)) {
            fprintf(stderr, "nvmx replay: module '%s' is not the one the trace was recorded "
                            "with (its SHA-256 is %s; the trace records %s)\n",
                    file, sha, w);
            return false;
        }
    }
    return true;
}

/* The header of a trace, or NULL with the problems reported. */
static json_t *read_header(const char *path)
{
    char err[512];
    FILE *f = trace_open_read(path, err, sizeof(err));
    if (!f) {
        fprintf(stderr, "nvmx replay: %s\n", err);
        return NULL;
    }
    struct trace_cursor *c = trace_cursor_open(f, path, stderr);
    struct trace_record r;
    json_t *hdr = NULL;
    if (c && trace_cursor_next(c, &r) && !strcmp(r.event, "header"))
        hdr = json_incref((json_t *)r.json);
    else
        fprintf(stderr, "nvmx replay: '%s' has no valid header\n", path);
    trace_cursor_close(c);
    trace_close_read(f);
    return hdr;
}

int cli_replay(int argc, char **argv)
{
    enum { OPT_IMAGE = 256, OPT_OUT, OPT_IGNORE, OPT_HELP };
    static const struct option opts[] = {
        { "image", required_argument, NULL, OPT_IMAGE },
        { "out", required_argument, NULL, OPT_OUT },
        { "ignore", required_argument, NULL, OPT_IGNORE },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    const char *image = NULL, *out = NULL;
    struct trace_diff_opts dopt = { .context = 3, .window = 256 };
    dopt.ignore[dopt.nignore++] = "nvmx";
    int opt;
    cli_getopt_reset();
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case OPT_IMAGE: image = optarg; break;
        case OPT_OUT: out = optarg; break;
        case OPT_IGNORE:
            if (dopt.nignore == TRACE_DIFF_MAX_IGNORE) {
                fprintf(stderr, "nvmx replay: too many --ignore keys\n");
                return CLI_EXIT_BAD_INPUT;
            }
            dopt.ignore[dopt.nignore++] = optarg;
            break;
        case 'h':
        case OPT_HELP: replay_usage(stdout); return CLI_EXIT_OK;
        default: return cli_bad_option("nvmx replay", opt, argv);
        }
    }
    if (argc - optind != 1) {
        fprintf(stderr, "nvmx replay: expected one TRACE (see nvmx replay --help)\n");
        return CLI_EXIT_BAD_INPUT;
    }
    const char *path = argv[optind];
    if (!strcmp(path, "-")) {
        fprintf(stderr, "nvmx replay: TRACE must be a file (it is read twice)\n");
        return CLI_EXIT_BAD_INPUT;
    }
    json_t *hdr = read_header(path);
    if (!hdr)
        return CLI_EXIT_BAD_INPUT;
    int status = CLI_EXIT_BAD_INPUT;
    struct replay_args a = { .argc = 0 };
    char err[512], tmp[64] = "";
    bool from_config = false;
    const char *rec_image = json_string_value(json_object_get(hdr, "image"));
    if (!image)
        image = rec_image;
    if (!image) {
        fprintf(stderr, "nvmx replay: '%s': the header records no image (give --image)\n", path);
        goto done;
    }
    if (!build_args(hdr, image, &a, err, sizeof(err), &from_config)) {
        fprintf(stderr, "nvmx replay: '%s': %s\n", path, err);
        goto done;
    }
    if (!check_hashes(hdr, &a, image))
        goto done;
    if (from_config) {
        fprintf(stderr, "nvmx replay: warning: the trace records no run options (written by an "
                        "older nvmx): running with its config only\n");
        /* The new header has what the old one lacks. */
        static const char *const added[] = { "args", "image_sha256", "module_sha256" };
        for (unsigned i = 0; i < 3 && dopt.nignore < TRACE_DIFF_MAX_IGNORE; i++)
            dopt.ignore[dopt.nignore++] = added[i];
    }
    if (image != rec_image && dopt.nignore + 1 < TRACE_DIFF_MAX_IGNORE) {
        /* --image: another path (in "image" and "args"), the same bytes */
        dopt.ignore[dopt.nignore++] = "image";
        dopt.ignore[dopt.nignore++] = "args";
    }
    if (!out) {
        snprintf(tmp, sizeof(tmp), "/tmp/nvmx-replay-XXXXXX");
        int fd = mkstemp(tmp);
        if (fd < 0) {
            fprintf(stderr, "nvmx replay: cannot make a temporary file: %s\n", strerror(errno));
            tmp[0] = 0;
            goto done;
        }
        close(fd);
        out = tmp;
    }
    push(&a, "--trace", false);
    push(&a, out, false);
    fprintf(stderr, "nvmx replay: nvmx");
    for (int k = 0; k < a.argc; k++)
        fprintf(stderr, " %s", a.argv[k]);
    fputc('\n', stderr);
    int run_status = cli_run(a.argc, a.argv);
    fflush(stdout);
    if (run_status == CLI_EXIT_BAD_INPUT || run_status == CLI_EXIT_INTERNAL) {
        fprintf(stderr, "nvmx replay: the run failed (status %d); nothing to compare\n",
                run_status);
        status = run_status;
        goto done;
    }
    FILE *fa = trace_open_read(path, err, sizeof(err)), *fb = NULL;
    if (!fa || !(fb = trace_open_read(out, err, sizeof(err)))) {
        fprintf(stderr, "nvmx replay: %s\n", err);
        trace_close_read(fa);
        goto done;
    }
    enum trace_diff_result r = trace_diff(fa, path, fb, out, &dopt, stdout, stderr);
    trace_close_read(fa);
    trace_close_read(fb);
    if (r == TRACE_DIFF_SAME)
        printf("replay: identical, event for event\n");
    else if (r == TRACE_DIFF_DIFFER)
        printf("replay: the new trace differs from '%s' (above)\n", path);
    status = (int)r;
done:
    if (tmp[0])
        remove(tmp);
    for (int k = 0; k < a.nowned; k++)
        free(a.owned[k]);
    json_decref(hdr);
    return status;
}
