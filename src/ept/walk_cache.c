/* A cache of EPT walks for the host's speed, not a modelled structure:
 * the result of ept_walk() is a function of the capabilities, the EPTP,
 * the guest-physical page, the kind of access and the entries it reads,
 * each at an address the entries before it give. An entry here remembers
 * those entries and their values; while memory still holds every one of
 * them, the same walk would read the same entries and return the same
 * result, which the cache returns without walking (ept.h). */
#include "nvmx/ept.h"

#include <stdlib.h>
#include <string.h>

#define WC_SIZE 256 /* direct-mapped */

struct wc_entry {
    bool valid, write;
    uint8_t refs;
    uint8_t level;
    bool ipat;
    unsigned perms, mem_type, maxphyaddr;
    uint64_t eptp, gpn, cap;
    uint64_t hpa_page, page_size, entry;
    uint64_t pa[EPT_MAX_LEVELS], val[EPT_MAX_LEVELS];
};

struct ept_walk_cache {
    struct wc_entry e[WC_SIZE];
};

struct ept_walk_cache *ept_walk_cache_new(void) { return calloc(1, sizeof(struct ept_walk_cache)); }

void ept_walk_cache_free(struct ept_walk_cache *wc) { free(wc); }

/* The reader a walk to be cached goes through: it records what it reads. */
struct recorder {
    ept_read_fn read;
    void *ctx;
    unsigned n;
    uint64_t pa[EPT_MAX_LEVELS], val[EPT_MAX_LEVELS];
};

static uint64_t record(void *ctx, uint64_t hpa)
{
    struct recorder *rec = ctx;
    uint64_t v = rec->read(rec->ctx, hpa);
    if (rec->n < EPT_MAX_LEVELS) {
        rec->pa[rec->n] = hpa;
        rec->val[rec->n] = v;
    }
    rec->n++;
    return v;
}

static bool still_holds(const struct wc_entry *w, ept_read_fn read, void *ctx)
{
    for (unsigned i = 0; i < w->refs; i++)
        if (read(ctx, w->pa[i]) != w->val[i])
            return false;
    return true;
}

enum ept_outcome ept_walk_cached(struct ept_walk_cache *wc, const struct ept_caps *caps,
                                 uint64_t eptp, uint64_t gpa, const struct ept_access *acc,
                                 ept_read_fn read, void *ctx, struct ept_result *r)
{
    if (!wc)
        return ept_walk(caps, eptp, gpa, acc, read, ctx, r);
    bool write;
    unsigned need = ept_access_need(caps, eptp, acc, &write);
    uint64_t gpn = gpa >> 12;
    struct wc_entry *w = &wc->e[(gpn ^ (gpn >> 8) ^ (eptp >> 12)) & (WC_SIZE - 1)];
    if (w->valid && w->gpn == gpn && w->eptp == eptp && w->write == write && w->cap == caps->cap &&
        w->maxphyaddr == caps->maxphyaddr && (w->perms & need) == need &&
        still_holds(w, read, ctx)) {
        memset(r, 0, sizeof *r);
        r->hpa = w->hpa_page | (gpa & 0xfff);
        r->page_size = w->page_size;
        r->perms = w->perms;
        r->mem_type = w->mem_type;
        r->ipat = w->ipat;
        r->refs = w->refs;
        r->level = w->level;
        r->entry = w->entry;
        return r->outcome = EPT_OK;
    }
    struct recorder rec = { .read = read, .ctx = ctx };
    enum ept_outcome o = ept_walk(caps, eptp, gpa, acc, record, &rec, r);
    /* only a walk with nothing to set: one that sets a flag changes an
     * entry it read, and the next walk differs */
    if (o != EPT_OK || r->nad || rec.n != r->refs || rec.n > EPT_MAX_LEVELS)
        return o;
    *w = (struct wc_entry){ .valid = true, .write = write, .refs = (uint8_t)r->refs,
                            .level = (uint8_t)r->level, .ipat = r->ipat, .perms = r->perms,
                            .mem_type = r->mem_type, .maxphyaddr = caps->maxphyaddr,
                            .eptp = eptp, .gpn = gpn, .cap = caps->cap,
                            .hpa_page = r->hpa & ~0xfffull, .page_size = r->page_size,
                            .entry = r->entry };
    memcpy(w->pa, rec.pa, sizeof w->pa);
    memcpy(w->val, rec.val, sizeof w->val);
    return o;
}
