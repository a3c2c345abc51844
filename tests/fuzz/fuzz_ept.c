/* Fuzz target for the EPT walker: the input is an EPTP, a guest-physical
 * address, an access, the capabilities and up to 16 pages of EPT tables.
 * The walk must read only 8-byte entries below 2^MAXPHYADDR through its
 * reader (never memory of its own), read at most one entry per level, and
 * return a result that is consistent with the entries it read. Built as a
 * libFuzzer target with clang (target fuzz_ept_libfuzzer) and linked into a
 * deterministic driver that ctest runs (fuzz_ept_driver.c). */
#include "nvmx/ept.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Outcomes seen, by enum ept_outcome (the driver prints them). */
unsigned long fuzz_ept_outcomes[3];

#define FUZZ_PAGES 16

struct fuzz_mem {
    uint64_t words[FUZZ_PAGES * 512];
    unsigned maxphy;
    unsigned nreads;
    uint64_t read_at[EPT_MAX_LEVELS];
};

#define FUZZ_CHECK(cond)                                                                  \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "fuzz_ept: check failed: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                                      \
        }                                                                                 \
    } while (0)

static uint64_t fuzz_read(void *ctx, uint64_t hpa)
{
    struct fuzz_mem *m = ctx;
    FUZZ_CHECK((hpa & 7) == 0);
    FUZZ_CHECK((hpa >> m->maxphy) == 0);
    FUZZ_CHECK(m->nreads < EPT_MAX_LEVELS);
    m->read_at[m->nreads++] = hpa;
    /* Table memory is mirrored across the physical address space so that
     * random addresses still reach random entries. */
    return m->words[(hpa / 8) % (FUZZ_PAGES * 512)];
}

static uint64_t take(const uint8_t **d, size_t *n, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes && *n; i++, (*d)++, (*n)--)
        v |= (uint64_t)**d << (8 * i);
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fuzz_mem m;
    uint64_t eptp = take(&data, &size, 8);
    uint64_t gpa = take(&data, &size, 8);
    uint64_t accbits = take(&data, &size, 2);
    struct ept_caps caps = { .cap = take(&data, &size, 8), .maxphyaddr = (unsigned)take(&data, &size, 1) };
    memset(m.words, 0, sizeof m.words);
    memcpy(m.words, data, size < sizeof m.words ? size : sizeof m.words);
    m.maxphy = caps.maxphyaddr < 32 ? 32 : caps.maxphyaddr > 52 ? 52 : caps.maxphyaddr;
    m.nreads = 0;

    struct ept_access acc = {
        .type = (unsigned)(accbits & 7),
        .linear_valid = accbits & 8,
        .paging_structure = accbits & 16,
        .linear_user = accbits & 32,
        .linear_writable = accbits & 64,
        .linear_xd = accbits & 128,
        .nmi_unblocking = accbits & 256,
    };
    (void)ept_eptp_check(&caps, eptp);
    struct ept_result r;
    enum ept_outcome o = ept_walk(&caps, eptp, gpa, &acc, fuzz_read, &m, &r);

    FUZZ_CHECK(o == r.outcome);
    fuzz_ept_outcomes[o <= EPT_MISCONFIG ? o : 0]++;
    FUZZ_CHECK(r.refs == m.nreads);
    FUZZ_CHECK(r.refs <= ept_levels(eptp));
    FUZZ_CHECK(r.perms <= EPT_RWX);
    switch (o) {
    case EPT_OK:
        FUZZ_CHECK(r.page_size == 1ull << 12 || r.page_size == 1ull << 21 || r.page_size == 1ull << 30);
        FUZZ_CHECK((r.hpa >> m.maxphy) == 0);
        FUZZ_CHECK((r.hpa & (r.page_size - 1)) == (gpa & (r.page_size - 1)));
        FUZZ_CHECK(r.mem_type != 2 && r.mem_type != 3 && r.mem_type != 7);
        FUZZ_CHECK(r.nad <= r.refs);
        for (unsigned i = 0; i < r.nad; i++) {
            bool seen = false;
            for (unsigned j = 0; j < m.nreads; j++)
                seen |= m.read_at[j] == r.ad[i].hpa;
            FUZZ_CHECK(seen);
            FUZZ_CHECK(r.ad[i].bits && !(r.ad[i].bits & ~(EPT_A | EPT_D)));
        }
        if (acc.type & EPT_ACCESS_READ)
            FUZZ_CHECK(r.perms & EPT_R);
        if (acc.type & EPT_ACCESS_WRITE)
            FUZZ_CHECK(r.perms & EPT_W);
        if (acc.type & EPT_ACCESS_FETCH)
            FUZZ_CHECK(r.perms & EPT_X);
        break;
    case EPT_VIOLATION:
        FUZZ_CHECK((r.qualification >> 13) == 0);
        FUZZ_CHECK(((r.qualification >> 3) & 7) == r.perms);
        FUZZ_CHECK(r.nad == 0);
        break;
    case EPT_MISCONFIG:
        FUZZ_CHECK(r.refs > 0 && r.nad == 0);
        break;
    default:
        FUZZ_CHECK(!"unknown outcome");
    }
    return 0;
}
