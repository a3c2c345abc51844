/* Guest runtime: the multiboot command line and "key=value" options in it.
 * Options are separated by spaces; a loader may put the image path first
 * (GRUB and QEMU do), which the parsers skip like any other word. */
#ifndef GUEST_CMDLINE_H
#define GUEST_CMDLINE_H

#include <stdbool.h>
#include <stdint.h>

/* The command line the loader passed (Multiboot info flag bit 2), or "" if
 * there is none or the magic is not the multiboot one. */
const char *mb_cmdline(uint32_t mb_magic, uint32_t mb_info);

/* The value of the last word "key=VALUE" of cmd: a decimal or 0x-prefixed
 * hexadecimal number with an optional K, M or G suffix (binary). Returns
 * dflt if the key is absent; *ok (if not NULL) is false if it is present
 * but not a number. */
uint64_t cmdline_u64(const char *cmd, const char *key, uint64_t dflt, bool *ok);

/* Whether the word "key" or "key=..." occurs in cmd. */
bool cmdline_has(const char *cmd, const char *key);

/* Copy the value of the last word "key=VALUE" (up to the next space) into
 * buf (NUL-terminated, truncated to size - 1); returns false if absent. */
bool cmdline_str(const char *cmd, const char *key, char *buf, unsigned size);

#endif
