/* nvmx-difftest: random general-purpose instruction sequences run in nvmx
 * and in Unicorn from the same state; registers, flags, memory and
 * exceptions must agree, and nvmx's decoder must agree with Capstone.
 * Usage: docs/difftest.md. */
#include "difftest.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: nvmx-difftest --seed S --count N [--verbose] [--only MNEMONIC[,...]]\n"
               "                     [--case K] [--list] [--isa gp|sse|simd|ssefp]\n"
               "                     [--oracle unicorn|native]\n");
}

static bool parse_u64(const char *s, uint64_t *v)
{
    char *end;
    if (!s || !*s)
        return false;
    *v = strtoull(s, &end, 0);
    return *end == 0;
}

int main(int argc, char **argv)
{
    uint64_t seed = 1, count = 1000, one = 0;
    bool verbose = false, single = false, native = false;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--seed") && parse_u64(val, &seed))
            i++;
        else if (!strcmp(a, "--count") && parse_u64(val, &count))
            i++;
        else if (!strcmp(a, "--case") && parse_u64(val, &one))
            i++, single = true;
        else if (!strcmp(a, "--only") && val)
            only = val, i++;
        else if (!strcmp(a, "--isa") && val &&
                 (!strcmp(val, "gp") || !strcmp(val, "sse") || !strcmp(val, "simd") ||
                  !strcmp(val, "ssefp")))
            dt_isa = !strcmp(val, "sse")     ? DT_ISA_SSE
                     : !strcmp(val, "simd")  ? DT_ISA_SIMD
                     : !strcmp(val, "ssefp") ? DT_ISA_SSEFP
                                             : DT_ISA_GP,
            i++;
        else if (!strcmp(a, "--oracle") && val && (!strcmp(val, "unicorn") || !strcmp(val, "native")))
            native = !strcmp(val, "native"), i++;
        else if (!strcmp(a, "--verbose") || !strcmp(a, "-v"))
            verbose = true;
        else if (!strcmp(a, "--list")) {
            dt_gen_list_mnemonics(stdout);
            return 0;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "nvmx-difftest: bad argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (only && !dt_gen_only_valid(only)) {
        fprintf(stderr, "nvmx-difftest: --only %s: unknown mnemonic; known: ", only);
        dt_gen_list_mnemonics(stderr);
        return 2;
    }
    char err[160];
    if (!dt_decode_init()) {
        fprintf(stderr, "nvmx-difftest: capstone: cs_open failed\n");
        return 2;
    }
    /* The native oracle runs only the ssefp cases (run_native.c says why). */
    if (native && dt_isa != DT_ISA_SSEFP) {
        fprintf(stderr, "nvmx-difftest: --oracle native needs --isa ssefp\n");
        return 2;
    }
    if (!(native ? dt_native_init(err, sizeof err) : dt_uc_init(err, sizeof err)) ||
        !dt_nvmx_init(err, sizeof err)) {
        fprintf(stderr, "nvmx-difftest: %s\n", err);
        return 2;
    }
    static struct dt_case k;
    static struct dt_result u, v;
    uint64_t passed = 0, failed = 0, skipped = 0;
    uint64_t first = single ? one : 0, last = single ? one + 1 : count;
    for (uint64_t idx = first; idx < last; idx++) {
        dt_gen_case(&k, seed, idx, only);
        struct dt_verdict vd;
        char why[160] = "";
        bool dec_ok = true;
        for (unsigned i = 0; i < k.n && dec_ok; i++) {
            unsigned off = k.insn[i].off;
            char dwhy[100];
            dec_ok = dt_decode_check(&k.code[off], k.code_len - off, DT_CODE_BASE + off, dwhy,
                                     sizeof dwhy);
            if (!dec_ok)
                snprintf(why, sizeof why, "decode insn %u: %s", i, dwhy);
        }
        const char *skip = native ? dt_native_skip(&k) : dt_exception_skip(&k);
        /* Without --only, execute a deterministic replacement instead (its
         * own decode is checked too). */
        for (uint64_t alt = 1; skip && !only && alt < 64; alt++) {
            dt_gen_case(&k, seed, idx | (alt << 48), only);
            for (unsigned i = 0; i < k.n && dec_ok; i++) {
                unsigned off = k.insn[i].off;
                dec_ok = dt_decode_check(&k.code[off], k.code_len - off, DT_CODE_BASE + off,
                                         why, sizeof why);
            }
            skip = native ? dt_native_skip(&k) : dt_exception_skip(&k);
        }
        if (skip) {
            /* exception list: Unicorn cannot serve as the oracle here */
            skipped++;
            if (dec_ok) {
                passed++;
                if (verbose)
                    printf("SKIP seed=%" PRIu64 " case=%" PRIu64 ": %s\n", seed, idx, skip);
                continue;
            }
            memset(&u, 0, sizeof u);
            memset(&v, 0, sizeof v);
            memset(&vd, 0, sizeof vd);
            vd.pass = true;
        } else {
            if (native)
                dt_native_run(&k, &u);
            else
                dt_uc_run(&k, &u);
            dt_nvmx_run(&k, &v);
            dt_compare(&k, &u, &v, &vd);
        }
        if (!dec_ok) {
            size_t l = strlen(vd.reason);
            snprintf(vd.reason + l, sizeof vd.reason - l, "%s; ", why);
            vd.pass = false;
        }
        if (vd.pass)
            passed++;
        else
            failed++;
        if (!vd.pass || verbose)
            dt_print_case(stdout, &k, &u, &v, &vd);
    }
    if (native)
        dt_native_fini();
    else
        dt_uc_fini();
    dt_nvmx_fini();
    dt_decode_fini();
    if (skipped)
        printf("%" PRIu64 " cases not executed (exception list; decoder still checked)\n",
               skipped);
    printf("%" PRIu64 " passed, %" PRIu64 " failed\n", passed, failed);
    return failed ? 1 : 0;
}
