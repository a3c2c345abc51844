/* The native comparison (compute_kernel.S): the kernels and the one text
 * format both sides print, so the test can compare the outputs line by
 * line. Included by the freestanding guest and by the host program; the
 * caller gives the character output. */
#ifndef NATIVE_DUMP_H
#define NATIVE_DUMP_H

#include <stdint.h>

#define NATIVE_OUT_SIZE 4096

void compute_kernel_sse2_int(uint8_t *out);
void compute_kernel_sse_fp(uint8_t *out);
void compute_kernel_x87(uint8_t *out);

/* "dump NAME OFFSET: 32 hex bytes" lines, 128 of them. */
static inline void native_dump(void (*put)(char), const char *name, const uint8_t *out)
{
    static const char hex[] = "0123456789abcdef";
    for (unsigned off = 0; off < NATIVE_OUT_SIZE; off += 32) {
        for (const char *p = "dump "; *p; p++)
            put(*p);
        for (const char *p = name; *p; p++)
            put(*p);
        put(' ');
        for (int sh = 12; sh >= 0; sh -= 4)
            put(hex[(off >> sh) & 15]);
        put(':');
        for (unsigned i = 0; i < 32; i++) {
            put(' ');
            put(hex[out[off + i] >> 4]);
            put(hex[out[off + i] & 15]);
        }
        put('\n');
    }
}

#endif
