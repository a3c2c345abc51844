/* `nvmx run --stack FILE`: a stack description (a JSON file in configs/stack,
 * format in docs/stacks.md) turned into the run's image, command lines,
 * modules and L0 policy. Level 1 (under L0) or the bare image is the run's
 * image; each deeper level is the next multiboot module, whose string is
 * that level's command line, as the turtle passes its guest on
 * (ARCHITECTURE.md "Guest hypervisors take any multiboot guest"). Every
 * error names the file and the key. */
#include "cli.h"
#include "nvmx/config.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define STACK_PATH_MAX 4096
#define STACK_CMDLINE_MAX 1024

/* The strings a run borrows: one stack per process. */
static struct {
    char image[CLI_STACK_MAX_LEVELS][STACK_PATH_MAX];
    char cmdline[CLI_STACK_MAX_LEVELS][STACK_CMDLINE_MAX];
    char l0[STACK_PATH_MAX];
    char cpu[STACK_PATH_MAX], cost[STACK_PATH_MAX];
} store;

static bool fail(char *err, size_t errlen, const char *file, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static bool fail(char *err, size_t errlen, const char *file, const char *key, const char *fmt, ...)
{
    int n = snprintf(err, errlen, "%s: %s%s", file, key, *key ? ": " : "");
    if (n < 0 || (size_t)n >= errlen)
        return false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return false;
}

/* A path in the file: absolute, or relative to base (a directory). */
static bool join(char *out, const char *base, const char *rel)
{
    int n = rel[0] == '/' ? snprintf(out, STACK_PATH_MAX, "%s", rel)
                          : snprintf(out, STACK_PATH_MAX, "%s/%s", base, rel);
    return n > 0 && n < STACK_PATH_MAX;
}

static bool check_keys(json_t *obj, const char *const *allowed, const char *file,
                       const char *where, char *err, size_t errlen)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        bool ok = false;
        for (unsigned i = 0; allowed[i]; i++)
            ok |= !strcmp(key, allowed[i]);
        if (!ok) {
            char k[160];
            snprintf(k, sizeof k, "%s%s", where, key);
            return fail(err, errlen, file, k, "unknown key (docs/stacks.md)");
        }
    }
    return true;
}

/* An optional string key; false (with err) when present but not a string. */
static bool opt_string(json_t *obj, const char *key, const char *file, const char *where,
                       const char **out, char *err, size_t errlen)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v)
        return true;
    char k[160];
    snprintf(k, sizeof k, "%s%s", where, key);
    if (!json_is_string(v) || !*json_string_value(v))
        return fail(err, errlen, file, k, "expected a non-empty string");
    *out = json_string_value(v);
    return true;
}

static bool opt_bool(json_t *obj, const char *key, const char *file, const char *where,
                     int *out, char *err, size_t errlen)
{
    json_t *v = json_object_get(obj, key);
    *out = -1;
    if (!v)
        return true;
    char k[160];
    snprintf(k, sizeof k, "%s%s", where, key);
    if (!json_is_boolean(v))
        return fail(err, errlen, file, k, "expected true or false");
    *out = json_is_true(v);
    return true;
}

/* Append " word" to a command line. */
static bool add_word(char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool add_word(char *cmd, const char *fmt, ...)
{
    size_t n = strlen(cmd);
    if (n && n + 1 < STACK_CMDLINE_MAX)
        cmd[n++] = ' ';
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(cmd + n, STACK_CMDLINE_MAX - n, fmt, ap);
    va_end(ap);
    return w >= 0 && (size_t)w < STACK_CMDLINE_MAX - n;
}

static bool load_level(json_t *lv, unsigned i, unsigned nlevels, int level, bool annotate,
                       const char *images, const char *file, struct cli_stack *st, char *err,
                       size_t errlen)
{
    static const char *const keys[] = { "image", "cmdline", "shadow", "ept", "mem", NULL };
    char where[48];
    snprintf(where, sizeof where, "levels[%u].", i);
    if (!json_is_object(lv)) {
        where[strlen(where) - 1] = 0;
        return fail(err, errlen, file, where, "expected an object");
    }
    if (!check_keys(lv, keys, file, where, err, errlen))
        return false;
    const char *image, *cmdline, *mem;
    int shadow, ept;
    if (!opt_string(lv, "image", file, where, &image, err, errlen) ||
        !opt_string(lv, "cmdline", file, where, &cmdline, err, errlen) ||
        !opt_string(lv, "mem", file, where, &mem, err, errlen) ||
        !opt_bool(lv, "shadow", file, where, &shadow, err, errlen) ||
        !opt_bool(lv, "ept", file, where, &ept, err, errlen))
        return false;
    char k[64];
    if (!image) {
        snprintf(k, sizeof k, "%simage", where);
        return fail(err, errlen, file, k, "missing: the image of this level");
    }
    bool innermost = i + 1 == nlevels;
    const char *guest_key = shadow >= 0 ? "shadow" : ept >= 0 ? "ept" : mem ? "mem" : NULL;
    if (innermost && guest_key) {
        snprintf(k, sizeof k, "%s%s", where, guest_key);
        return fail(err, errlen, file, k, "the innermost level runs no guest to apply it to");
    }
    uint64_t bytes;
    if (mem && !config_parse_size(mem, &bytes)) {
        snprintf(k, sizeof k, "%smem", where);
        return fail(err, errlen, file, k, "'%s' is not a size (e.g. 128M)", mem);
    }
    if (!join(store.image[i], images, image)) {
        snprintf(k, sizeof k, "%simage", where);
        return fail(err, errlen, file, k, "path too long");
    }
    char *cmd = store.cmdline[i];
    bool ok = snprintf(cmd, STACK_CMDLINE_MAX, "%s", cmdline ? cmdline : "") < STACK_CMDLINE_MAX;
    if (shadow >= 0)
        ok = ok && add_word(cmd, "shadow=%d", shadow);
    if (ept >= 0)
        ok = ok && add_word(cmd, "ept=%d", ept);
    if (mem)
        ok = ok && add_word(cmd, "mem=%s", mem);
    if (annotate)
        ok = ok && add_word(cmd, "level=%d", level);
    if (!ok) {
        snprintf(k, sizeof k, "%scmdline", where);
        return fail(err, errlen, file, k, "longer than %d bytes", STACK_CMDLINE_MAX - 1);
    }
    st->image[i] = store.image[i];
    st->cmdline[i] = cmd;
    return true;
}

static bool load(json_t *root, const char *file, const char *dir, const char *images_override,
                 struct cli_stack *st, char *err, size_t errlen)
{
    static const char *const keys[] = { "description", "images", "l0", "cpu", "cost", "mem",
                                        "feature_control_locked", "annotate", "levels", NULL };
    if (!json_is_object(root))
        return fail(err, errlen, file, "", "expected a JSON object (docs/stacks.md)");
    if (!check_keys(root, keys, file, "", err, errlen))
        return false;
    const char *desc, *images, *cpu, *cost, *mem;
    int fcl, annotate;
    if (!opt_string(root, "description", file, "", &desc, err, errlen) ||
        !opt_string(root, "images", file, "", &images, err, errlen) ||
        !opt_string(root, "cpu", file, "", &cpu, err, errlen) ||
        !opt_string(root, "cost", file, "", &cost, err, errlen) ||
        !opt_string(root, "mem", file, "", &mem, err, errlen) ||
        !opt_bool(root, "feature_control_locked", file, "", &fcl, err, errlen) ||
        !opt_bool(root, "annotate", file, "", &annotate, err, errlen))
        return false;
    st->description = desc;
    /* L0: a policy name or a path relative to the file, or false: bare */
    json_t *l0 = json_object_get(root, "l0");
    if (!l0 || json_is_false(l0)) {
        st->l0 = false;
    } else if (json_is_string(l0) && *json_string_value(l0)) {
        const char *s = json_string_value(l0);
        st->l0 = true;
        if (strchr(s, '/') || strstr(s, ".json")) {
            if (!join(store.l0, dir, s))
                return fail(err, errlen, file, "l0", "path too long");
            st->l0_config = store.l0;
        } else {
            st->l0_config = s; /* configs/l0/NAME.json, as --l0-config NAME */
        }
    } else {
        return fail(err, errlen, file, "l0",
                    "expected an L0 policy (a configs/l0 name or a path) or false (bare)");
    }
    /* cpu/cost: a bare name is looked up as --cpu/--cost do; a path is
     * relative to the file */
    if (cpu && (strchr(cpu, '/') || strstr(cpu, ".json"))) {
        if (!join(store.cpu, dir, cpu))
            return fail(err, errlen, file, "cpu", "path too long");
        cpu = store.cpu;
    }
    if (cost && (strchr(cost, '/') || strstr(cost, ".json"))) {
        if (!join(store.cost, dir, cost))
            return fail(err, errlen, file, "cost", "path too long");
        cost = store.cost;
    }
    st->cpu = cpu;
    st->cost = cost;
    st->mem = 0;
    if (mem && !config_parse_size(mem, &st->mem))
        return fail(err, errlen, file, "mem", "'%s' is not a size (e.g. 256M)", mem);
    st->feature_control_locked = fcl == 1;
    char imgdir[STACK_PATH_MAX];
    if (images_override)
        snprintf(imgdir, sizeof imgdir, "%s", images_override);
    else if (!images)
        snprintf(imgdir, sizeof imgdir, "%s", dir);
    else if (!join(imgdir, dir, images))
        return fail(err, errlen, file, "images", "path too long");
    json_t *levels = json_object_get(root, "levels");
    if (!levels)
        return fail(err, errlen, file, "levels", "missing: an array of levels, outermost first");
    if (!json_is_array(levels) || !json_array_size(levels))
        return fail(err, errlen, file, "levels", "expected a non-empty array of objects");
    size_t n = json_array_size(levels), first = st->l0 ? 1 : 0;
    _Static_assert(CLI_STACK_MAX_LEVELS <= CLI_STACK_MAX_LEVEL, "every level fits the trace");
    if (n > CLI_STACK_MAX_LEVELS)
        return fail(err, errlen, file, "levels", "%zu levels: at most %d", n,
                    CLI_STACK_MAX_LEVELS);
    st->nlevels = (unsigned)n;
    st->first_level = (int)first;
    for (size_t i = 0; i < n; i++)
        if (!load_level(json_array_get(levels, i), (unsigned)i, (unsigned)n, (int)(first + i),
                        annotate == 1 || (annotate < 0 && st->l0), imgdir, file, st, err,
                        errlen))
            return false;
    return true;
}

bool cli_stack_load(const char *file, const char *images_override, struct cli_stack *st,
                    char *err, size_t errlen)
{
    memset(st, 0, sizeof *st);
    json_error_t je;
    json_t *root = json_load_file(file, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        snprintf(err, errlen, "%s:%d: %s", file, je.line, je.text);
        return false;
    }
    char dir[STACK_PATH_MAX];
    snprintf(dir, sizeof dir, "%s", file);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(dir, sizeof dir, ".");
    /* Strings point into root until copied: keep the ones used after. */
    bool ok = load(root, file, dir, images_override, st, err, errlen);
    if (ok) {
        static char desc[256], l0name[256], cpu[STACK_PATH_MAX], cost[STACK_PATH_MAX];
        if (st->description) {
            snprintf(desc, sizeof desc, "%s", st->description);
            st->description = desc;
        }
        if (st->l0_config && st->l0_config != store.l0) {
            snprintf(l0name, sizeof l0name, "%s", st->l0_config);
            st->l0_config = l0name;
        }
        if (st->cpu && st->cpu != store.cpu) {
            snprintf(cpu, sizeof cpu, "%s", st->cpu);
            st->cpu = cpu;
        }
        if (st->cost && st->cost != store.cost) {
            snprintf(cost, sizeof cost, "%s", st->cost);
            st->cost = cost;
        }
    }
    json_decref(root);
    return ok;
}
