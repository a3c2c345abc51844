/* Shadow EPT composition (src/ept/compose.c): one entry of a shadow EPT02 =
 * EPT12 composed with EPT01, for a nested L0 that runs L2 under a guest
 * hypervisor's (L1's) EPT. Pure, like ept_walk(): L1's EPT12 tables live at
 * L1 guest-physical addresses and are read through EPT01; the caller passes
 * a reader of host-physical memory and applies the EPT12 accessed/dirty
 * updates the result lists. src/nested/ept02.c uses it (docs/nested.md). */
#ifndef NVMX_EPT_COMPOSE_H
#define NVMX_EPT_COMPOSE_H

#include "nvmx/ept.h"

enum ept02_outcome {
    EPT02_OK = 0,        /* entry holds the EPT02 leaf */
    EPT02_L1_VIOLATION,  /* EPT12 denies the access: an EPT violation for L1 */
    EPT02_L1_MISCONFIG,  /* EPT12 is misconfigured: an EPT misconfiguration for L1 */
    EPT02_L0_FAULT,      /* EPT01 denies or cannot translate: L0's own fault */
};

struct ept02_fill {
    enum ept02_outcome outcome;
    uint64_t entry;          /* EPT02_OK: the 4-KByte EPT02 leaf (HPA, R/W/X, memory type, IPAT) */
    uint64_t l1_gpa;         /* EPT02_OK, EPT02_L0_FAULT: the L1 guest-physical address
                                EPT01 was asked to translate */
    uint64_t qualification;  /* EPT02_L1_VIOLATION: the exit qualification L1's tables give */
    unsigned perms12, perms01; /* R/W/X ANDed over the entries of each walk */
    /* EPT02_OK with EPTP12 A/D enabled: the EPT12 entries (at host-physical
     * addresses) whose flags must be set, in walk order. */
    unsigned nad;
    struct {
        uint64_t hpa;
        uint64_t bits;
    } ad[EPT_MAX_LEVELS];
};

/* Translate the L2 guest-physical address gpa2 for one access: walk EPT12
 * (eptp12, checked against caps12 by the caller) with every EPT12 table
 * read translated through EPT01 (eptp01, caps01); then walk EPT01 for the
 * L1 guest-physical address EPT12 gives. Returns f->outcome. */
enum ept02_outcome ept02_compose(const struct ept_caps *caps12, uint64_t eptp12,
                                 const struct ept_caps *caps01, uint64_t eptp01, uint64_t gpa2,
                                 const struct ept_access *acc, ept_read_fn read, void *ctx,
                                 struct ept02_fill *f);

/* The access an EPT violation's exit qualification describes (an L0 gets
 * it from its EPT02's violation and composes the same access). */
struct ept_access ept02_access_of_qual(uint64_t qual);

/* The EPT02 leaf to install for access a after ept02_compose() gave
 * EPT02_OK: f->entry, without write permission when EPTP12 enables A/D and
 * the access did not write (the first write must come back to set EPT12's
 * dirty flag). */
uint64_t ept02_leaf_for_access(const struct ept02_fill *f, uint64_t eptp12,
                               const struct ept_access *a);

#endif
