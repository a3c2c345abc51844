/* Shadow EPT composition: EPT02 = EPT12 composed with EPT01 (the nested-EPT
 * design of KVM's arch/x86/kvm/mmu/paging_tmpl.h in its EPT flavour, where
 * the guest's EPT tables are walked like guest page tables and each table
 * address is a guest-physical address of L1). Each level is walked with
 * ept_walk() and the rules of SDM 3C "The Extended Page Table Mechanism
 * (EPT)": EPT12 decides whether the access is L1's violation or
 * misconfiguration, EPT01 whether L0 can back it; the EPT02 leaf grants the
 * intersection of both permission sets, so an access either one denies
 * exits again. */
#include "nvmx/ept_compose.h"

#include <string.h>

/* Reading EPT12: every table address is an L1 guest-physical address. */
struct via01 {
    const struct ept_caps *caps01;
    uint64_t eptp01;
    ept_read_fn read;
    void *ctx;
    bool failed;      /* EPT01 could not translate a table of EPT12 */
    uint64_t fail_gpa;
};

static bool through01(struct via01 *v, uint64_t gpa1, unsigned type, uint64_t *hpa)
{
    struct ept_access a = { .type = type };
    struct ept_result r;
    if (ept_walk(v->caps01, v->eptp01, gpa1, &a, v->read, v->ctx, &r) != EPT_OK) {
        if (!v->failed)
            v->fail_gpa = gpa1;
        v->failed = true;
        return false;
    }
    *hpa = r.hpa;
    return true;
}

static uint64_t read12(void *ctx, uint64_t gpa1)
{
    struct via01 *v = ctx;
    uint64_t hpa;
    /* A table EPT01 does not map reads as not present; the caller reports
     * EPT02_L0_FAULT, which takes precedence over what EPT12 then says. */
    if (!through01(v, gpa1, EPT_ACCESS_READ, &hpa))
        return 0;
    return v->read(v->ctx, hpa);
}

enum ept02_outcome ept02_compose(const struct ept_caps *caps12, uint64_t eptp12,
                                 const struct ept_caps *caps01, uint64_t eptp01, uint64_t gpa2,
                                 const struct ept_access *acc, ept_read_fn read, void *ctx,
                                 struct ept02_fill *f)
{
    memset(f, 0, sizeof *f);
    struct via01 v = { .caps01 = caps01, .eptp01 = eptp01, .read = read, .ctx = ctx };
    struct ept_result r12;
    enum ept_outcome o12 = ept_walk(caps12, eptp12, gpa2, acc, read12, &v, &r12);
    f->perms12 = r12.perms;
    if (v.failed) {
        f->l1_gpa = v.fail_gpa;
        return f->outcome = EPT02_L0_FAULT;
    }
    if (o12 == EPT_MISCONFIG)
        return f->outcome = EPT02_L1_MISCONFIG;
    if (o12 == EPT_VIOLATION) {
        /* SDM 3C Table "Exit Qualification for EPT Violations": bits 5:3
         * are the AND over L1's own entries, as L1 would see bare. */
        f->qualification = r12.qualification;
        return f->outcome = EPT02_L1_VIOLATION;
    }
    f->l1_gpa = r12.hpa;

    /* EPT01 for the page itself, with the same access type. */
    struct ept_access a01 = { .type = acc->type };
    struct ept_result r01;
    if (ept_walk(caps01, eptp01, r12.hpa, &a01, read, ctx, &r01) != EPT_OK) {
        f->perms01 = r01.outcome == EPT_VIOLATION ? r01.perms : 0;
        return f->outcome = EPT02_L0_FAULT;
    }
    f->perms01 = r01.perms;

    /* SDM 3C "Accessed and Dirty Flags for EPT": the EPT12 entries get
     * their flags as the processor would set them; they live in L1 memory,
     * written through EPT01 (a write access there). */
    for (unsigned i = 0; i < r12.nad; i++) {
        uint64_t hpa;
        if (!through01(&v, r12.ad[i].hpa, EPT_ACCESS_WRITE, &hpa)) {
            f->nad = 0;
            f->l1_gpa = v.fail_gpa;
            return f->outcome = EPT02_L0_FAULT;
        }
        f->ad[f->nad].hpa = hpa;
        f->ad[f->nad].bits = r12.ad[i].bits;
        f->nad++;
    }

    /* The EPT02 leaf: a 4-KByte page (the smallest of both), the
     * intersection of the permissions (W implies R in both, so it does in
     * the AND: a valid EPT12 and a valid EPT01 never compose into a
     * misconfiguration), and L1's memory type and ignore-PAT bit -- EPT01
     * maps L1's memory write-back, so the type L2 gets is the one L1 chose. */
    unsigned perms = r12.perms & r01.perms;
    f->entry = (r01.hpa & ~0xfffull) | perms | ((uint64_t)r12.mem_type << EPT_MT_SHIFT) |
               (r12.ipat ? EPT_IPAT : 0);
    return f->outcome = EPT02_OK;
}

/* SDM 3C Table "Exit Qualification for EPT Violations", read backwards:
 * bits 2:0 the access, bit 7 a guest-linear address, bit 8 its
 * translation (else a paging-structure access), bits 11:9 the linear
 * address's rights, bit 12 NMI unblocking by IRET. */
struct ept_access ept02_access_of_qual(uint64_t q)
{
    bool linear = q & EPT_QUAL_LINEAR_VALID;
    return (struct ept_access){
        .type = (unsigned)(q & (EPT_ACCESS_READ | EPT_ACCESS_WRITE | EPT_ACCESS_FETCH)),
        .linear_valid = linear,
        .paging_structure = linear && !(q & EPT_QUAL_TRANSLATION),
        .linear_user = q & EPT_QUAL_LINEAR_USER,
        .linear_writable = q & EPT_QUAL_LINEAR_WRITABLE,
        .linear_xd = q & EPT_QUAL_LINEAR_XD,
        .nmi_unblocking = q & EPT_QUAL_NMI_UNBLOCKING,
    };
}

/* SDM 3C "Accessed and Dirty Flags for EPT": with A/D in EPTP12 a write
 * sets the dirty flag of L1's leaf, which only the composing L0 can do, so
 * a leaf filled by an access that does not write grants no write: the
 * first write faults and is composed again (KVM write-protects clean guest
 * entries the same way). With A/D, paging-structure accesses are writes. */
uint64_t ept02_leaf_for_access(const struct ept02_fill *f, uint64_t eptp12, const struct ept_access *a)
{
    bool ad = eptp12 & EPTP_AD;
    bool wrote = (a->type & EPT_ACCESS_WRITE) || (ad && a->paging_structure);
    return ad && !wrote ? f->entry & ~EPT_W : f->entry;
}
