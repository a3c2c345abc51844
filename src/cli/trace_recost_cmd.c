/* `nvmx trace recost --cost FILE TRACE`: what-if exit cycles per level and
 * exit reason under another cost model, without re-running (docs/cli.md). */
#include "cli.h"
#include "nvmx/config.h"
#include "nvmx/trace_tools.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef NVMX_CONFIG_DIR
#define NVMX_CONFIG_DIR "configs"
#endif

static void recost_usage(FILE *f)
{
    fputs("usage: nvmx trace recost --cost FILE [--by KEY] [--sort count|time]\n"
          "                         [--format table|json|csv] TRACE\n"
          "\n"
          "The exits and exit cycles of TRACE as recorded and as they would be under\n"
          "the cost model FILE (a path, or a NAME in the config directory's cost/),\n"
          "without re-running. VM entries and VM exits are charged the new model's\n"
          "vm_entry and vm_exit cycles and every later stamp moves with them; the\n"
          "instructions between transitions are not in the trace, so their classes\n"
          "keep their recorded cost (the classes that differ are listed). Exact when\n"
          "the run does not depend on modelled time (docs/cli.md).\n"
          "\n"
          "  --by KEY      grouping as in trace stats (default level,reason)\n"
          "  --sort        count (default) or time (recosted cycles)\n"
          "  --format      table (default), json, csv\n"
          "  --write OUT   also write the recosted trace to OUT (the header names the\n"
          "                new cost model; every cycles and cost key recosted)\n",
          f);
}

/* A cost model argument or header value: a path, or NAME / NAME.json in the
 * config directory's cost/ (as `nvmx run --cost` takes it). */
static const char *resolve_cost(const char *arg, char *buf, size_t size)
{
    struct stat st;
    if (stat(arg, &st) == 0 || strchr(arg, '/') == arg)
        return arg;
    const char *env = getenv("NVMX_CONFIG_DIR");
    const char *dir = env && *env ? env : NVMX_CONFIG_DIR;
    /* The header records files in the config directory as "cost/NAME.json". */
    if (!strncmp(arg, "cost/", 5))
        snprintf(buf, size, "%s/%s", dir, arg);
    else
        snprintf(buf, size, "%s/cost/%s", dir, arg);
    if (stat(buf, &st) != 0 && strlen(buf) + 6 < size)
        strcat(buf, ".json");
    return stat(buf, &st) == 0 ? buf : arg;
}

struct recost_run {
    struct trace_recost rc;
    struct trace_groups base, what_if;
    char cost_name[64], cost_file[256];
    bool have_header;
    FILE *write;          /* --write: the recosted trace */
    const char *to_file;  /* --cost as given */
    const char *to_name;  /* its model's name */
    bool write_failed;
};

/* One line of the recosted trace, in the writer's form (compact, keys in
 * their order). The reader's object is borrowed: it is changed in place,
 * just before the reader frees it. */
static void write_line(struct recost_run *run, json_t *o)
{
    if (!run->write)
        return;
    if (json_dumpf(o, run->write, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII) ||
        fputc('\n', run->write) == EOF)
        run->write_failed = true;
}

static bool on_header(void *ctx, const struct trace_record *r)
{
    struct recost_run *run = ctx;
    json_t *cost = json_object_get(json_object_get((json_t *)r->json, "config"), "cost");
    json_t *name = json_object_get(cost, "name"), *file = json_object_get(cost, "file");
    snprintf(run->cost_name, sizeof(run->cost_name), "%s",
             json_is_string(name) ? json_string_value(name) : "?");
    snprintf(run->cost_file, sizeof(run->cost_file), "%s",
             json_is_string(file) ? json_string_value(file) : "");
    run->have_header = true;
    if (json_is_object(cost)) {
        json_object_set_new(cost, "name", json_string(run->to_name));
        json_object_set_new(cost, "file", json_string(run->to_file));
    }
    /* The run options: the run under the new model, so that replaying the
     * recosted trace runs that. */
    json_t *args = json_object_get((json_t *)r->json, "args");
    if (json_is_array(args)) {
        size_t i, n = json_array_size(args);
        for (i = 0; i < n; i++) {
            const char *a = json_string_value(json_array_get(args, i));
            if (a && !strcmp(a, "--cost") && i + 1 < n) {
                json_array_set_new(args, i + 1, json_string(run->to_file));
                break;
            }
            if (a && !strncmp(a, "--cost=", 7)) {
                json_array_remove(args, i);
                i = n;
                break;
            }
        }
        if (i >= n) {
            json_array_insert_new(args, 0, json_string(run->to_file));
            json_array_insert_new(args, 0, json_string("--cost"));
        }
    }
    write_line(run, (json_t *)r->json);
    return true;
}

static bool on_record(void *ctx, const struct trace_record *r)
{
    struct recost_run *run = ctx;
    if (!trace_groups_add(&run->base, r))
        return false;
    struct trace_record copy = *r;
    trace_recost_record(&run->rc, &copy);
    if (run->write) {
        json_t *o = (json_t *)r->json;
        json_object_set_new(o, "cycles", json_integer((json_int_t)copy.cycles));
        if (json_object_get(o, "cost"))
            json_object_set_new(o, "cost", json_integer(copy.cost));
        write_line(run, o);
    }
    return trace_groups_add(&run->what_if, &copy);
}

/* The classes other than vm_entry/vm_exit in which the two models differ:
 * the part of the new model recost cannot apply. */
static void unapplied_classes(const struct recost_run *run, const struct cost_model *to,
                              FILE *out, json_t *js)
{
    char buf[1024];
    struct cost_model from;
    char err[512];
    json_t *list = json_array();
    if (!run->cost_file[0] ||
        !config_load_cost_model(resolve_cost(run->cost_file, buf, sizeof(buf)), &from, err,
                                sizeof(err))) {
        if (out)
            fprintf(out, "not recosted: the trace's cost model '%s' could not be read, so the "
                         "other classes were not compared\n",
                    run->cost_file);
        json_object_set_new(js, "not_recosted", json_null());
        json_decref(list);
        return;
    }
    if (out)
        fprintf(out, "not recosted (instruction classes; the trace does not record the "
                     "instructions between transitions):");
    unsigned n = 0;
    for (unsigned i = 0; i < COST_NCLASSES; i++) {
        if (i == COST_vm_entry || i == COST_vm_exit || from.cycles[i] == to->cycles[i])
            continue;
        if (out)
            fprintf(out, "%s %s %u -> %u", n ? "," : "", cost_class_names[i], from.cycles[i],
                    to->cycles[i]);
        json_t *o = json_object();
        json_object_set_new(o, "class", json_string(cost_class_names[i]));
        json_object_set_new(o, "recorded", json_integer(from.cycles[i]));
        json_object_set_new(o, "model", json_integer(to->cycles[i]));
        json_array_append_new(list, o);
        n++;
    }
    if (out)
        fprintf(out, "%s\n", n ? "" : " none (no other class differs)");
    json_object_set_new(js, "not_recosted", list);
}

static const struct recost_run *sort_run;
static enum trace_sort sort_key;

static int cmp_rows(const void *pa, const void *pb)
{
    uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
    const struct trace_group *ra = &sort_run->what_if.rows[a], *rb = &sort_run->what_if.rows[b];
    uint64_t ka = sort_key == TRACE_SORT_TIME ? ra->st.time : ra->st.samples;
    uint64_t kb = sort_key == TRACE_SORT_TIME ? rb->st.time : rb->st.samples;
    if (ka != kb)
        return ka > kb ? -1 : 1;
    return a < b ? -1 : a > b;
}

static double avg(const struct trace_exit_stat *e)
{
    return e->timed ? (double)e->time / (double)e->timed : 0.0;
}

static void print(const struct recost_run *run, const char *trace, const char *costfile,
                  const struct cost_model *to, enum trace_sort sort, enum trace_out_format fmt)
{
    const struct trace_groups *b = &run->base, *w = &run->what_if;
    uint32_t *order = malloc((b->nrows + 1) * sizeof(*order));
    if (!order)
        return;
    for (uint32_t i = 0; i < b->nrows; i++)
        order[i] = i;
    sort_run = run;
    sort_key = sort;
    qsort(order, b->nrows, sizeof(*order), cmp_rows);
    const struct trace_recost *rc = &run->rc;
    uint64_t old_entry = rc->entries ? rc->old_entry_cost / rc->entries : 0;
    uint64_t old_exit = rc->exits ? rc->old_exit_cost / rc->exits : 0;
    json_t *js = json_object();
    char label[96];
    if (fmt == TRACE_FMT_TABLE) {
        printf("recost: %s (cost model %s, %s) under %s (%s)\n", trace, run->cost_name,
               run->cost_file, costfile, to->name);
        printf("vm_entry: %llu -> %u cycles (%llu entries)%s\n", (unsigned long long)old_entry,
               to->cycles[COST_vm_entry], (unsigned long long)rc->entries,
               rc->entries && rc->old_entry_cost % rc->entries ? " (recorded costs vary; mean)"
                                                               : "");
        printf("vm_exit: %llu -> %u cycles (%llu exits)%s\n", (unsigned long long)old_exit,
               to->cycles[COST_vm_exit], (unsigned long long)rc->exits,
               rc->exits && rc->old_exit_cost % rc->exits ? " (recorded costs vary; mean)" : "");
        unapplied_classes(run, to, stdout, js);
        printf("run cycles (last stamp): recorded %llu, recosted %llu (%+lld)\n\n",
               (unsigned long long)rc->last_old, (unsigned long long)rc->last_new,
               (long long)rc->last_new - (long long)rc->last_old);
        int width = 20;
        for (uint32_t i = 0; i < b->nrows; i++) {
            trace_group_label(b, &b->rows[i], label, sizeof(label));
            if ((int)strlen(label) > width)
                width = (int)strlen(label);
        }
        printf("%-*s %10s %12s %12s %12s %11s %11s\n", width, "group", "exits", "cycles",
               "recosted", "delta", "avg", "avg recost");
        for (uint32_t k = 0; k < b->nrows; k++) {
            const struct trace_group *rb = &b->rows[order[k]], *rw = &w->rows[order[k]];
            trace_group_label(b, rb, label, sizeof(label));
            printf("%-*s %10llu %12llu %12llu %+12lld %11.2f %11.2f\n", width, label,
                   (unsigned long long)rb->st.samples, (unsigned long long)rb->st.time,
                   (unsigned long long)rw->st.time,
                   (long long)rw->st.time - (long long)rb->st.time, avg(&rb->st), avg(&rw->st));
        }
        printf("%-*s %10llu %12llu %12llu %+12lld\n", width, "all", (unsigned long long)b->exits,
               (unsigned long long)b->total_time, (unsigned long long)w->total_time,
               (long long)w->total_time - (long long)b->total_time);
    } else if (fmt == TRACE_FMT_CSV) {
        printf("group,exits,timed,cycles,recost_cycles,delta,avg_cycles,recost_avg_cycles\n");
        for (uint32_t k = 0; k < b->nrows; k++) {
            const struct trace_group *rb = &b->rows[order[k]], *rw = &w->rows[order[k]];
            trace_group_label(b, rb, label, sizeof(label));
            printf("%s,%llu,%llu,%llu,%llu,%lld,%.2f,%.2f\n", label,
                   (unsigned long long)rb->st.samples, (unsigned long long)rb->st.timed,
                   (unsigned long long)rb->st.time, (unsigned long long)rw->st.time,
                   (long long)rw->st.time - (long long)rb->st.time, avg(&rb->st), avg(&rw->st));
        }
    } else {
        json_object_set_new(js, "trace", json_string(trace));
        json_object_set_new(js, "cost", json_string(costfile));
        json_object_set_new(js, "vm_entry", json_pack("{s:I,s:i,s:I}", "recorded_mean",
                                                      (json_int_t)old_entry, "model",
                                                      to->cycles[COST_vm_entry], "count",
                                                      (json_int_t)rc->entries));
        json_object_set_new(js, "vm_exit", json_pack("{s:I,s:i,s:I}", "recorded_mean",
                                                     (json_int_t)old_exit, "model",
                                                     to->cycles[COST_vm_exit], "count",
                                                     (json_int_t)rc->exits));
        unapplied_classes(run, to, NULL, js);
        json_object_set_new(js, "run_cycles", json_integer((json_int_t)rc->last_old));
        json_object_set_new(js, "recost_run_cycles", json_integer((json_int_t)rc->last_new));
        json_t *rows = json_array();
        for (uint32_t k = 0; k < b->nrows; k++) {
            const struct trace_group *rb = &b->rows[order[k]], *rw = &w->rows[order[k]];
            trace_group_label(b, rb, label, sizeof(label));
            json_array_append_new(
                rows, json_pack("{s:s,s:I,s:I,s:I,s:I}", "group", label, "exits",
                                (json_int_t)rb->st.samples, "timed", (json_int_t)rb->st.timed,
                                "cycles", (json_int_t)rb->st.time, "recost_cycles",
                                (json_int_t)rw->st.time));
        }
        json_object_set_new(js, "rows", rows);
        json_dumpf(js, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        putchar('\n');
    }
    json_decref(js);
    free(order);
}

int cli_trace_recost(int argc, char **argv)
{
    enum { OPT_COST = 256, OPT_BY, OPT_SORT, OPT_FORMAT, OPT_WRITE, OPT_HELP };
    static const struct option opts[] = {
        { "cost", required_argument, NULL, OPT_COST },
        { "by", required_argument, NULL, OPT_BY },
        { "sort", required_argument, NULL, OPT_SORT },
        { "format", required_argument, NULL, OPT_FORMAT },
        { "write", required_argument, NULL, OPT_WRITE },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    const char *costarg = NULL, *write = NULL;
    enum trace_group_key by = TRACE_BY_REASON;
    bool by_level = true;
    enum trace_sort sort = TRACE_SORT_COUNT;
    enum trace_out_format fmt = TRACE_FMT_TABLE;
    char err[512], buf[1024];
    int opt;
    cli_getopt_reset();
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case OPT_COST: costarg = optarg; break;
        case OPT_WRITE: write = optarg; break;
        case OPT_BY:
            if (!trace_groups_parse_by(optarg, &by, &by_level, err, sizeof(err))) {
                fprintf(stderr, "nvmx trace recost: %s\n", err);
                return CLI_EXIT_BAD_INPUT;
            }
            break;
        case OPT_SORT:
            if (strcmp(optarg, "count") && strcmp(optarg, "time")) {
                fprintf(stderr, "nvmx trace recost: --sort '%s': expected count or time\n",
                        optarg);
                return CLI_EXIT_BAD_INPUT;
            }
            sort = !strcmp(optarg, "time") ? TRACE_SORT_TIME : TRACE_SORT_COUNT;
            break;
        case OPT_FORMAT:
            if (!trace_parse_format(optarg, &fmt)) {
                fprintf(stderr, "nvmx trace recost: --format '%s': expected table, json or csv\n",
                        optarg);
                return CLI_EXIT_BAD_INPUT;
            }
            break;
        case 'h':
        case OPT_HELP: recost_usage(stdout); return CLI_EXIT_OK;
        default: return cli_bad_option("nvmx trace recost", opt, argv);
        }
    }
    if (argc - optind != 1 || !costarg) {
        fprintf(stderr, "nvmx trace recost: expected --cost FILE and one TRACE "
                        "(see nvmx trace recost --help)\n");
        return CLI_EXIT_BAD_INPUT;
    }
    struct cost_model to;
    if (!config_load_cost_model(resolve_cost(costarg, buf, sizeof(buf)), &to, err, sizeof(err))) {
        fprintf(stderr, "nvmx trace recost: --cost: %s\n", err);
        return CLI_EXIT_BAD_INPUT;
    }
    const char *path = argv[optind];
    FILE *f = trace_open_read(path, err, sizeof(err));
    if (!f) {
        fprintf(stderr, "nvmx trace recost: %s\n", err);
        return CLI_EXIT_BAD_INPUT;
    }
    struct recost_run *run = calloc(1, sizeof(*run));
    if (!run) {
        trace_close_read(f);
        fprintf(stderr, "nvmx trace recost: out of memory\n");
        return CLI_EXIT_INTERNAL;
    }
    run->to_file = costarg;
    run->to_name = to.name;
    if (write && !(run->write = fopen(write, "w"))) {
        fprintf(stderr, "nvmx trace recost: --write: cannot open '%s': %s\n", write,
                strerror(errno));
        trace_close_read(f);
        free(run);
        return CLI_EXIT_BAD_INPUT;
    }
    trace_recost_init(&run->rc, to.cycles[COST_vm_entry], to.cycles[COST_vm_exit]);
    trace_groups_init(&run->base, by, by_level);
    trace_groups_init(&run->what_if, by, by_level);
    struct trace_read_fns fns = { .header = on_header, .record = on_record };
    struct trace_read_result res;
    bool ok = trace_read_fns(f, path, &fns, run, stderr, &res);
    trace_close_read(f);
    int st = CLI_EXIT_OK;
    if (run->base.oom || run->what_if.oom) {
        fprintf(stderr, "nvmx trace recost: out of memory\n");
        st = CLI_EXIT_INTERNAL;
    } else if (!ok || !run->have_header) {
        fprintf(stderr, "nvmx trace recost: '%s' is not a valid trace (%u problem%s)\n", path,
                res.errors, res.errors == 1 ? "" : "s");
        st = CLI_EXIT_BAD_INPUT;
    } else {
        print(run, path, costarg, &to, sort, fmt);
        if (fflush(stdout) != 0)
            st = CLI_EXIT_INTERNAL;
    }
    if (run->write && (fclose(run->write) == EOF || run->write_failed) && st == CLI_EXIT_OK) {
        fprintf(stderr, "nvmx trace recost: --write: writing '%s' failed\n", write);
        st = CLI_EXIT_INTERNAL;
    }
    trace_groups_free(&run->base);
    trace_groups_free(&run->what_if);
    free(run);
    return st;
}
