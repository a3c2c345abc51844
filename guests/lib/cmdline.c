/* Guest runtime: multiboot command-line options. */
#include "cmdline.h"

#include "multiboot.h"

const char *mb_cmdline(uint32_t mb_magic, uint32_t mb_info)
{
    if (mb_magic != MB_BOOTLOADER_MAGIC || !mb_info)
        return "";
    const struct mb_info *mbi = (const struct mb_info *)(uint64_t)mb_info;
    if (!(mbi->flags & MB_INFO_CMDLINE) || !mbi->cmdline)
        return "";
    return (const char *)(uint64_t)mbi->cmdline;
}

/* The value after "key=" of the last word that starts with key, or NULL;
 * *bare is set when the word is exactly "key". */
static const char *find_word(const char *cmd, const char *key, bool *bare)
{
    const char *found = 0;

    *bare = false;
    for (const char *w = cmd; *w;) {
        while (*w == ' ')
            w++;
        if (!*w)
            break;
        unsigned k = 0;
        while (key[k] && w[k] == key[k])
            k++;
        if (!key[k] && (w[k] == '=' || w[k] == ' ' || !w[k])) {
            *bare = w[k] != '=';
            found = w[k] == '=' ? w + k + 1 : w + k;
        }
        while (*w && *w != ' ')
            w++;
    }
    return found;
}

bool cmdline_has(const char *cmd, const char *key)
{
    bool bare;
    return find_word(cmd, key, &bare) != 0;
}

bool cmdline_str(const char *cmd, const char *key, char *buf, unsigned size)
{
    bool bare;
    const char *v = find_word(cmd, key, &bare);
    unsigned n = 0;

    if (!v || !size)
        return false;
    while (!bare && v[n] && v[n] != ' ' && n + 1 < size) {
        buf[n] = v[n];
        n++;
    }
    buf[n] = '\0';
    return true;
}

uint64_t cmdline_u64(const char *cmd, const char *key, uint64_t dflt, bool *ok)
{
    bool bare;
    const char *v = find_word(cmd, key, &bare);
    uint64_t n = 0;
    unsigned base = 10, digits = 0;

    if (ok)
        *ok = true;
    if (!v)
        return dflt;
    if (v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
        base = 16;
        v += 2;
    }
    for (;; v++, digits++) {
        unsigned d;
        if (*v >= '0' && *v <= '9')
            d = (unsigned)(*v - '0');
        else if (base == 16 && *v >= 'a' && *v <= 'f')
            d = (unsigned)(*v - 'a' + 10);
        else if (base == 16 && *v >= 'A' && *v <= 'F')
            d = (unsigned)(*v - 'A' + 10);
        else
            break;
        n = n * base + d;
    }
    switch (*v) {
    case 'K': n <<= 10; v++; break;
    case 'M': n <<= 20; v++; break;
    case 'G': n <<= 30; v++; break;
    default: break;
    }
    if (bare || !digits || (*v && *v != ' ')) {
        if (ok)
            *ok = false;
        return dflt;
    }
    return n;
}
