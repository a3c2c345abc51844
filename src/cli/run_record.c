/* What a trace header records so that `nvmx replay` can run the same thing
 * again: the options of `run` as given, and the SHA-256 of the image and of
 * each module (docs/trace-schema.md). */
#include "cli.h"
#include "nvmx/machine.h"
#include "nvmx/trace_tools.h"

#include <stdlib.h>
#include <string.h>

static struct {
    char **args;
    unsigned nargs;
    char image_sha[65];
    char (*mod_sha)[65];
    const char **mod_ptrs;
} rec;

static void clear(void)
{
    for (unsigned i = 0; i < rec.nargs; i++)
        free(rec.args[i]);
    free(rec.args);
    free(rec.mod_sha);
    free(rec.mod_ptrs);
    memset(&rec, 0, sizeof(rec));
}

void cli_record_run(struct trace_header *h, int argc, char **argv,
                    const struct boot_module *modules, unsigned nmodules)
{
    char err[512];
    clear();
    /* argv after "run", without --trace (where this trace goes is not part
     * of the run: two runs that differ only in it give the same bytes).
     * Option parsing cut "--module FILE,STR" at its comma (the module's
     * string starts just past the end of the element): put it back. */
    rec.args = calloc((size_t)(argc > 1 ? argc : 1), sizeof(*rec.args));
    for (int k = 1; rec.args && k < argc; k++) {
        const char *a = argv[k], *tail = NULL;
        if (!strcmp(a, "--trace") && k + 1 < argc) {
            k++;
            continue;
        }
        if (!strncmp(a, "--trace=", 8))
            continue;
        for (unsigned i = 0; i < nmodules; i++)
            if (modules[i].string && modules[i].string == a + strlen(a) + 1)
                tail = modules[i].string;
        size_t n = strlen(a) + (tail ? strlen(tail) + 1 : 0) + 1;
        char *s = malloc(n);
        if (!s)
            break;
        snprintf(s, n, tail ? "%s,%s" : "%s", a, tail);
        rec.args[rec.nargs++] = s;
    }
    h->run_args = (const char *const *)rec.args;
    h->nrun_args = rec.nargs;
    if (h->image && trace_sha256_file(h->image, rec.image_sha, err, sizeof(err)))
        h->image_sha256 = rec.image_sha;
    rec.mod_sha = calloc(nmodules + 1, sizeof(*rec.mod_sha));
    rec.mod_ptrs = calloc(nmodules + 1, sizeof(*rec.mod_ptrs));
    if (!rec.mod_sha || !rec.mod_ptrs)
        return;
    for (unsigned i = 0; i < nmodules; i++) {
        if (!trace_sha256_file(modules[i].path, rec.mod_sha[i], err, sizeof(err)))
            snprintf(rec.mod_sha[i], sizeof(rec.mod_sha[i]), "unreadable");
        rec.mod_ptrs[i] = rec.mod_sha[i];
    }
    if (nmodules) {
        h->module_sha256 = rec.mod_ptrs;
        h->nmodules = nmodules;
    }
}
