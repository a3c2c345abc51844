/* The EPT walk (SDM 3C "The Extended Page Table Mechanism (EPT)"): one
 * guest-physical access through the EPT paging structures, giving the
 * host-physical address, an EPT violation with its exit qualification, or
 * an EPT misconfiguration. Pure: memory comes through the caller's reader
 * and the accessed/dirty updates go back to the caller as a list. */
#include "nvmx/ept.h"

#include <string.h>

const uint64_t ept_caps_implemented = 0
#define EPT_CAP(name, bit, impl) | ((uint64_t)(impl) << (bit))
#include "nvmx/ept_caps.def"
#undef EPT_CAP
    ;

/* Bits hi..lo set (empty when hi < lo). */
static inline uint64_t bits(unsigned hi, unsigned lo)
{
    if (hi < lo)
        return 0;
    uint64_t upto = hi >= 63 ? ~0ull : (1ull << (hi + 1)) - 1;
    return upto & ~((1ull << lo) - 1);
}

static unsigned clamp_maxphy(unsigned m) { return m < 32 ? 32 : m > 52 ? 52 : m; }

unsigned ept_levels(uint64_t eptp)
{
    return ((eptp & EPTP_WALK_MASK) >> EPTP_WALK_SHIFT) == 4 ? 5 : 4;
}

const char *ept_eptp_check(const struct ept_caps *caps, uint64_t eptp)
{
    /* SDM 3C "VM-Execution Control Fields" (the checks under "If the
     * 'enable EPT' VM-execution control is 1, the EPTP VM-execution control
     * field must satisfy the following checks"): */
    unsigned mt = (unsigned)(eptp & EPTP_MT_MASK);
    if (!((mt == EPT_MT_UC && (caps->cap & EPT_CAP_BIT(MEMTYPE_UC))) ||
          (mt == EPT_MT_WB && (caps->cap & EPT_CAP_BIT(MEMTYPE_WB)))))
        return "EPTP memory type (bits 2:0) is a type IA32_VMX_EPT_VPID_CAP does not allow";
    unsigned walk = (unsigned)((eptp & EPTP_WALK_MASK) >> EPTP_WALK_SHIFT);
    if (!((walk == 3 && (caps->cap & EPT_CAP_BIT(WALK_LENGTH_4))) ||
          (walk == 4 && (caps->cap & EPT_CAP_BIT(WALK_LENGTH_5)))))
        return "EPTP page-walk length (bits 5:3) is not one IA32_VMX_EPT_VPID_CAP allows";
    if ((eptp & EPTP_AD) && !(caps->cap & EPT_CAP_BIT(ACCESSED_DIRTY)))
        return "EPTP bit 6 (A/D enable) set without accessed and dirty flags support";
    if ((eptp & EPTP_SSS) && !(caps->cap & EPT_CAP_BIT(SUPERVISOR_SHADOW_STACK)))
        return "EPTP bit 7 (shadow-stack control) set without support";
    /* "Reserved bits 11:8 and 63:N (where N is the processor's physical-
     * address width) must all be 0." */
    if (eptp & (bits(11, 8) | bits(63, clamp_maxphy(caps->maxphyaddr))))
        return "EPTP reserved bits (11:8 or 63:MAXPHYADDR) set";
    return NULL;
}

/* Reserved bits of a present entry at level lvl (0 = PTE .. 4 = PML5E) and
 * whether it is a leaf (SDM 3C "EPT Translation Mechanism", the format
 * tables of the EPT PML5E/PML4E/PDPTE/PDE/PTE). Bits 51:MAXPHYADDR are
 * reserved everywhere. */
static uint64_t entry_rsvd(const struct ept_caps *caps, unsigned lvl, uint64_t e, bool *leaf)
{
    uint64_t rsvd = bits(51, clamp_maxphy(caps->maxphyaddr));
    *leaf = lvl == 0;
    if (lvl >= 3)
        return rsvd | bits(7, 3); /* PML5E, PML4E: bits 7:3 */
    if (lvl == 0)
        return rsvd; /* PTE: 5:3 memory type, 6 IPAT, 7 ignored */
    if (!(e & EPT_PS))
        return rsvd | bits(6, 3); /* PDPTE/PDE referencing a table: bits 6:3 */
    bool allowed = lvl == 1 ? (caps->cap & EPT_CAP_BIT(PDE_2M)) : (caps->cap & EPT_CAP_BIT(PDPTE_1G));
    if (!allowed)
        return rsvd | EPT_PS; /* no large page of this size: bit 7 is reserved */
    *leaf = true;
    /* 1-GByte page: bits 29:12; 2-MByte page: bits 20:12 */
    return rsvd | bits(12 + 9 * lvl - 1, 12);
}

/* SDM 3C "EPT Misconfigurations": for an entry that is present (some of
 * bits 2:0 set). */
static bool misconfigured(const struct ept_caps *caps, unsigned lvl, uint64_t e, bool *leaf)
{
    /* "Bit 0 of the entry is clear (indicating that data reads are not
     * allowed) and bit 1 is set (indicating that data writes are allowed)." */
    if (!(e & EPT_R) && (e & EPT_W))
        return true;
    /* "Either of the following if the processor does not support execute-
     * only translations: bit 0 is clear and bit 2 is set" */
    if ((e & EPT_RWX) == EPT_X && !(caps->cap & EPT_CAP_BIT(EXECUTE_ONLY)))
        return true;
    /* "A reserved bit is set." */
    if (e & entry_rsvd(caps, lvl, e, leaf))
        return true;
    /* "The entry is the last one used to translate a guest physical address
     * ... and the value of bits 5:3 (EPT memory type) is 2, 3, or 7". */
    if (*leaf) {
        unsigned mt = (unsigned)((e & EPT_MT_MASK) >> EPT_MT_SHIFT);
        if (mt == 2 || mt == 3 || mt == 7)
            return true;
    }
    return false;
}

/* SDM 3C Table "Exit Qualification for EPT Violations". */
static uint64_t violation_qual(const struct ept_caps *caps, const struct ept_access *acc,
                               bool write, unsigned perms)
{
    uint64_t q = 0;
    if (acc->type & EPT_ACCESS_READ)
        q |= EPT_QUAL_READ;
    if (write)
        q |= EPT_QUAL_WRITE;
    if (acc->type & EPT_ACCESS_FETCH)
        q |= EPT_QUAL_FETCH;
    /* Bits 5:3: "the logical-AND of bit n in the EPT paging-structure
     * entries used to translate the guest-physical address"; bit 6 (user-
     * mode executable) needs "mode-based execute control" and stays 0. */
    q |= (uint64_t)(perms & 7) << 3;
    if (acc->linear_valid) {
        q |= EPT_QUAL_LINEAR_VALID;
        if (!acc->paging_structure) {
            q |= EPT_QUAL_TRANSLATION;
            /* Bits 11:9 are defined only with bits 8:7 set and the advanced
             * VM-exit information capability; otherwise nvmx reports 0. */
            if (caps->cap & EPT_CAP_BIT(ADVANCED_EXIT_INFO)) {
                q |= acc->linear_user ? EPT_QUAL_LINEAR_USER : 0;
                q |= acc->linear_writable ? EPT_QUAL_LINEAR_WRITABLE : 0;
                q |= acc->linear_xd ? EPT_QUAL_LINEAR_XD : 0;
            }
        }
    }
    if (acc->nmi_unblocking)
        q |= EPT_QUAL_NMI_UNBLOCKING;
    return q;
}

unsigned ept_access_need(const struct ept_caps *caps, uint64_t eptp, const struct ept_access *acc,
                         bool *write)
{
    /* SDM 3C "Accessed and Dirty Flags for EPT": with EPTP bit 6 set,
     * "processor accesses to guest paging-structure entries are treated as
     * writes" (for EPT violations and for the dirty flag); such a violation
     * sets both bit 0 and bit 1 of the qualification. */
    bool ad = (eptp & EPTP_AD) && (caps->cap & EPT_CAP_BIT(ACCESSED_DIRTY));
    *write = (acc->type & EPT_ACCESS_WRITE) || (ad && acc->paging_structure);
    return ((acc->type & EPT_ACCESS_READ) ? EPT_R : 0) | (*write ? EPT_W : 0) |
           ((acc->type & EPT_ACCESS_FETCH) ? EPT_X : 0);
}

enum ept_outcome ept_walk(const struct ept_caps *caps, uint64_t eptp, uint64_t gpa,
                          const struct ept_access *acc, ept_read_fn read, void *ctx,
                          struct ept_result *r)
{
    unsigned maxphy = clamp_maxphy(caps->maxphyaddr);
    uint64_t addr_mask = bits(maxphy - 1, 12);
    bool ad = (eptp & EPTP_AD) && (caps->cap & EPT_CAP_BIT(ACCESSED_DIRTY));
    bool write;
    unsigned need = ept_access_need(caps, eptp, acc, &write);
    struct ept_access a = *acc;
    if (ad && acc->paging_structure)
        a.type |= EPT_ACCESS_READ;

    memset(r, 0, sizeof *r);
    r->perms = EPT_RWX;
    /* A guest-physical address beyond MAXPHYADDR has no translation: nvmx
     * reports an EPT violation with no permissions and no entry read (the
     * SDM leaves such addresses to the guest's reserved-bit checks). */
    if (gpa >> maxphy) {
        r->perms = 0;
        r->qualification = violation_qual(caps, &a, write, 0);
        return r->outcome = EPT_VIOLATION;
    }

    uint64_t table = eptp & addr_mask;
    uint64_t used[EPT_MAX_LEVELS], entry[EPT_MAX_LEVELS];
    unsigned n = 0;
    for (unsigned lvl = ept_levels(eptp); lvl-- > 0;) {
        unsigned shift = 12 + 9 * lvl;
        uint64_t pa = table + (((gpa >> shift) & 511) << 3);
        uint64_t e = read(ctx, pa);
        used[n] = pa;
        entry[n++] = e;
        r->refs = n;
        r->level = lvl;
        r->entry = e;
        /* SDM 3C "EPT Violations": "the EPT paging-structure entry is not
         * present (bits 2:0 are all 0)". */
        if (!(e & EPT_RWX)) {
            r->perms = 0;
            r->qualification = violation_qual(caps, &a, write, 0);
            return r->outcome = EPT_VIOLATION;
        }
        bool leaf;
        if (misconfigured(caps, lvl, e, &leaf))
            return r->outcome = EPT_MISCONFIG;
        r->perms &= (unsigned)(e & EPT_RWX);
        if (leaf) {
            r->page_size = 1ull << shift;
            r->hpa = (e & addr_mask & ~(r->page_size - 1)) | (gpa & (r->page_size - 1));
            r->mem_type = (unsigned)((e & EPT_MT_MASK) >> EPT_MT_SHIFT);
            r->ipat = (e & EPT_IPAT) != 0;
            break;
        }
        table = e & addr_mask;
    }

    /* SDM 3C "EPT Violations": the access is not allowed by the
     * permissions of the entries used (the logical AND over levels). */
    if ((r->perms & need) != need) {
        r->qualification = violation_qual(caps, &a, write, r->perms);
        return r->outcome = EPT_VIOLATION;
    }
    /* SDM 3C "Accessed and Dirty Flags for EPT": A in every entry used, D in
     * the leaf for a write. nvmx sets them only for a translation that
     * succeeds, a deterministic choice (docs/ept.md). */
    if (ad) {
        for (unsigned i = 0; i < n; i++) {
            uint64_t want = EPT_A | (i + 1 == n && write ? EPT_D : 0);
            if ((entry[i] & want) != want) {
                r->ad[r->nad].hpa = used[i];
                r->ad[r->nad].bits = want & ~entry[i];
                r->nad++;
            }
        }
    }
    return r->outcome = EPT_OK;
}
