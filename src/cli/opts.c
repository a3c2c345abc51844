/* Option-parsing helpers shared by `nvmx run` and the `nvmx trace`
 * subcommands: a getopt reset and the message for a bad option, which names
 * the option as the user wrote it. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <sys/stat.h>
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

bool cli_regular_file(const char *cmd, const char *what, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "%s: %s '%s': %s\n", cmd, what, path, strerror(errno));
        return false;
    }
    if (S_ISREG(st.st_mode))
        return true;
    /* Opening a FIFO would wait for a writer; a device could be endless. */
    const char *kind = S_ISFIFO(st.st_mode)  ? "a FIFO"
                       : S_ISDIR(st.st_mode) ? "a directory"
                       : S_ISCHR(st.st_mode) ? "a character device"
                       : S_ISBLK(st.st_mode) ? "a block device"
                       : S_ISSOCK(st.st_mode) ? "a socket"
                                              : "not a regular file";
    fprintf(stderr, "%s: %s '%s' is %s, not a regular file: refused\n", cmd, what, path, kind);
    return false;
}
