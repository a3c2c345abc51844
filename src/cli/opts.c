/* Option-parsing helpers shared by `nvmx run` and the `nvmx trace`
 * subcommands: a getopt reset and the message for a bad option, which names
 * the option as the user wrote it. */
#include "cli.h"

#include <ctype.h>
#include <getopt.h>
#include <string.h>

bool cli_is_help(const char *s) { return !strcmp(s, "--help") || !strcmp(s, "-h"); }

void cli_getopt_reset(void)
{
    optind = 0; /* glibc: 0 reinitialises the scan (permutation state included) */
    opterr = 0;
}

void cli_bad_option_text(int opt, char **argv, char *out, size_t outlen)
{
    /* A short option's character is optopt; the element that held it may
     * be a cluster ("-xyz") or already behind us, so name the character.
     * A long option (optopt 0 or one of our values >= 256) is the element
     * getopt just stepped over, without any "=value". */
    char name[64];
    if (optopt > 0 && optopt < 128 && isgraph(optopt)) {
        snprintf(name, sizeof(name), "-%c", optopt);
    } else {
        const char *a = optind > 0 ? argv[optind - 1] : "?";
        size_t n = strcspn(a, "=");
        snprintf(name, sizeof(name), "%.*s", (int)(n < 60 ? n : 60), a);
    }
    if (opt == ':')
        snprintf(out, outlen, "option '%s' needs a value", name);
    else if (optopt >= 256 || (optopt > 0 && optopt < 128 && !isgraph(optopt)))
        snprintf(out, outlen, "option '%s' takes no value", name);
    else
        snprintf(out, outlen, "unknown option '%s'", name);
}

int cli_bad_option(const char *cmd, int opt, char **argv)
{
    char text[160];
    cli_bad_option_text(opt, argv, text, sizeof(text));
    fprintf(stderr, "%s: %s (see %s --help)\n", cmd, text, cmd);
    return CLI_EXIT_BAD_INPUT;
}
