/* QEMU's spellings of `nvmx run`'s options, so a QEMU command line carries
 * over: -kernel FILE, -append STR, -initrd "FILE ARGS,FILE ARGS", -m SIZE
 * (and -h), -s and -S (the gdb stub). docs/cli.md lists them. */
#include "cli.h"
#include "nvmx/config.h"
#include "nvmx/machine.h"

#include <getopt.h>
#include <string.h>

static const struct {
    const char *qemu, *nvmx;
} aliases[] = {
    { "-kernel", "--kernel" }, { "-append", "--append" }, { "-initrd", "--initrd" },
    { "-m", "--qemu-m" },      { "-h", "--help" },
    { "-s", "--gdb=tcp::1234" }, { "-S", "--gdb-wait" },
};

void cli_run_aliases(int argc, char **argv, const struct option *longopts)
{
    for (int k = 1; k < argc; k++) {
        const char *a = argv[k];
        if (!strcmp(a, "--"))
            return;
        for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
            if (!strcmp(a, aliases[i].qemu))
                a = argv[k] = (char *)aliases[i].nvmx;
        /* The value of an option that takes one is not an option: skip it
         * (`--cmdline -m` keeps its "-m"). */
        if (strncmp(a, "--", 2) || strchr(a, '='))
            continue;
        for (const struct option *o = longopts; o->name; o++)
            if (!strcmp(a + 2, o->name) && o->has_arg == required_argument) {
                k++;
                break;
            }
    }
}

/* QEMU's -m: "[size=]N[suffix]", a number without suffix in MiB. */
bool cli_qemu_mem(const char *s, uint64_t *out)
{
    if (!strncmp(s, "size=", 5))
        s += 5;
    size_t n = strlen(s);
    if (n && s[n - 1] >= '0' && s[n - 1] <= '9') {
        char buf[64];
        snprintf(buf, sizeof(buf), "%sM", s);
        return config_parse_size(buf, out);
    }
    return config_parse_size(s, out);
}

/* QEMU's -initrd for multiboot kernels: comma-separated modules, each "FILE
 * ARGS"; the module's string is the whole "FILE ARGS", as QEMU passes it. */
bool cli_qemu_initrd(char *spec, struct boot_module *mods, unsigned *n, unsigned max,
                     char *err, size_t errlen)
{
    static char paths[64][1024];
    for (char *save = NULL, *m = strtok_r(spec, ",", &save); m; m = strtok_r(NULL, ",", &save)) {
        size_t len = strcspn(m, " ");
        if (*n >= max || *n >= sizeof(paths) / sizeof(paths[0])) {
            snprintf(err, errlen, "-initrd: more than %u modules", max);
            return false;
        }
        if (!len || len >= sizeof(paths[0])) {
            snprintf(err, errlen, "-initrd: bad module '%s'", m);
            return false;
        }
        snprintf(paths[*n], sizeof(paths[0]), "%.*s", (int)len, m);
        mods[*n] = (struct boot_module){ paths[*n], m };
        (*n)++;
    }
    return true;
}

void cli_warning_summary(const struct machine_stats *st, FILE *f)
{
    /* Each unclaimed port and unbacked address is warned about once, when
     * first used; the repeats are only counted. Say how many there were. */
    uint64_t ports = st->unclaimed_port_reads + st->unclaimed_port_writes;
    uint64_t mem = st->unbacked_reads + st->unbacked_writes;
    if (ports || mem)
        fprintf(f, "nvmx: warning: in all %llu accesses to unclaimed I/O ports and %llu to "
                   "unbacked memory (each port and address warned about once; --quiet hides "
                   "these warnings, --stats counts reads and writes)\n",
                (unsigned long long)ports, (unsigned long long)mem);
}
