/* Deterministic driver for the EPT fuzz target: runs the files named on the
 * command line, then N pseudo-random inputs from a fixed seed. Most inputs
 * are shaped like EPT tables (entries that point back into the table pages,
 * with random permission, memory-type, large-page and reserved bits) so that
 * walks go deep; the rest are raw noise. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern unsigned long fuzz_ept_outcomes[3];

static uint64_t state = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
    /* xorshift64* */
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545f4914f6cdd1dull;
}

static void put(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static size_t make_input(uint8_t *buf, size_t cap)
{
    size_t hdr = 8 + 8 + 2 + 8 + 1;
    size_t pages = 1 + next() % 16;
    size_t size = hdr + pages * 4096;
    if (size > cap)
        size = cap;
    bool shaped = next() % 8 != 0;
    uint64_t eptp = shaped ? ((next() % pages) << 12) | (next() & 0x7f) : next();
    if (shaped && next() % 2)
        eptp = (eptp & ~0x3full) | (3u << 3) | 6; /* valid WB 4-level */
    put(buf, eptp, 8);
    put(buf + 8, shaped ? next() & ((1ull << (next() % 2 ? 36 : 48)) - 1) : next(), 8);
    put(buf + 16, next(), 2);
    put(buf + 18, next() % 4 ? 0x00000f0106734141ull | (next() & 0x81) : next(), 8);
    buf[26] = (uint8_t)(next() % 4 ? 36 + next() % 17 : next());
    for (size_t off = hdr; off + 8 <= size; off += 8) {
        uint64_t e;
        if (shaped) {
            /* mostly well-formed: RWX or random permissions, no memory
             * type (a table) or WB (a leaf), sometimes a large page */
            e = ((next() % pages) << 12) | (next() % 4 ? 7 : next() & 7);
            if (next() % 2)
                e |= (next() % 4 ? 6ull : next() & 7) << 3;
            if (next() % 8 == 0)
                e |= 1ull << 7;
            e |= next() & 0x300; /* A, D */
            if (next() % 16 == 0)
                e |= next() & 0xfff;
            if (next() % 8 == 0)
                e |= 1ull << (12 + next() % 52);
        } else {
            e = next();
        }
        put(buf + off, e, 8);
    }
    return size;
}

int main(int argc, char **argv)
{
    static uint8_t buf[27 + 16 * 4096];
    unsigned long n = 200000;
    for (int i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "-runs=", 6)) {
            n = strtoul(argv[i] + 6, NULL, 0);
            continue;
        }
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            fprintf(stderr, "fuzz_ept_driver: cannot open %s\n", argv[i]);
            return 1;
        }
        size_t len = fread(buf, 1, sizeof buf, f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, len);
    }
    for (unsigned long i = 0; i < n; i++) {
        size_t len = make_input(buf, sizeof buf);
        LLVMFuzzerTestOneInput(buf, len);
    }
    printf("fuzz_ept_driver: %lu inputs, no failure (%lu translated, %lu violations, %lu misconfigurations)\n",
           n, fuzz_ept_outcomes[0], fuzz_ept_outcomes[1], fuzz_ept_outcomes[2]);
    return 0;
}
