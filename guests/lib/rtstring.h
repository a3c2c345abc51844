/* Guest runtime: string functions (guests/lib/string.c). */
#ifndef GUEST_RTSTRING_H
#define GUEST_RTSTRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
bool str_ends_with(const char *s, const char *suffix);

#endif
