/* EPT as a pure function (src/ept): the walk of the EPT paging structures
 * for one guest-physical access, its EPT violation (with the exit
 * qualification) or EPT misconfiguration, and the EPTP checks. No CPU or
 * VMX state: the caller passes the EPTP, the capabilities and a reader of
 * host-physical memory, and applies the accessed/dirty updates the result
 * lists. The CPU uses it for EPT in non-root operation; L0 reuses it on a
 * guest hypervisor's EPT tables. */
#ifndef NVMX_EPT_H
#define NVMX_EPT_H

#include <stdbool.h>
#include <stdint.h>

/* IA32_VMX_EPT_VPID_CAP bits (ept_caps.def). */
enum {
#define EPT_CAP(name, bit, impl) EPT_CAP_##name = (bit),
#include "nvmx/ept_caps.def"
#undef EPT_CAP
};
#define EPT_CAP_BIT(name) (1ull << EPT_CAP_##name)
/* Every bit nvmx implements (a model may advertise any subset). */
extern const uint64_t ept_caps_implemented;

/* SDM 3C "EPT-Paging-Structure Entries" (the format tables) */
#define EPT_R (1ull << 0)
#define EPT_W (1ull << 1)
#define EPT_X (1ull << 2)
#define EPT_RWX (EPT_R | EPT_W | EPT_X)
#define EPT_MT_SHIFT 3 /* bits 5:3 of a leaf: EPT memory type */
#define EPT_MT_MASK (7ull << 3)
#define EPT_IPAT (1ull << 6)
#define EPT_PS (1ull << 7)
#define EPT_A (1ull << 8)
#define EPT_D (1ull << 9)
#define EPT_XU (1ull << 10) /* user-mode execute ("mode-based execute control") */
#define EPT_SVE (1ull << 63) /* suppress #VE */

/* SDM 3C "Extended-Page-Table Pointer (EPTP)" */
#define EPTP_MT_MASK 7ull          /* bits 2:0: memory type for the paging structures */
#define EPTP_WALK_SHIFT 3          /* bits 5:3: page-walk length minus 1 */
#define EPTP_WALK_MASK (7ull << 3)
#define EPTP_AD (1ull << 6)        /* enable accessed and dirty flags */
#define EPTP_SSS (1ull << 7)       /* supervisor shadow-stack control */

/* Memory types (SDM 3A "Memory Type Range Registers" encodings) */
enum ept_memtype { EPT_MT_UC = 0, EPT_MT_WC = 1, EPT_MT_WT = 4, EPT_MT_WP = 5, EPT_MT_WB = 6 };

/* SDM 3C Table "Exit Qualification for EPT Violations" */
#define EPT_QUAL_READ (1ull << 0)
#define EPT_QUAL_WRITE (1ull << 1)
#define EPT_QUAL_FETCH (1ull << 2)
#define EPT_QUAL_READABLE (1ull << 3)
#define EPT_QUAL_WRITABLE (1ull << 4)
#define EPT_QUAL_EXECUTABLE (1ull << 5)
#define EPT_QUAL_USER_EXECUTABLE (1ull << 6)
#define EPT_QUAL_LINEAR_VALID (1ull << 7)
#define EPT_QUAL_TRANSLATION (1ull << 8) /* the access is to the translation of a linear address */
#define EPT_QUAL_LINEAR_USER (1ull << 9)
#define EPT_QUAL_LINEAR_WRITABLE (1ull << 10)
#define EPT_QUAL_LINEAR_XD (1ull << 11)
#define EPT_QUAL_NMI_UNBLOCKING (1ull << 12)

/* What the model allows: IA32_VMX_EPT_VPID_CAP and MAXPHYADDR. */
struct ept_caps {
    uint64_t cap;        /* IA32_VMX_EPT_VPID_CAP */
    unsigned maxphyaddr; /* CPUID.80000008H:EAX[7:0], 32..52 */
};

/* One guest-physical access. */
#define EPT_ACCESS_READ 0x1u
#define EPT_ACCESS_WRITE 0x2u
#define EPT_ACCESS_FETCH 0x4u
struct ept_access {
    unsigned type;          /* EPT_ACCESS_* (a locked RMW may set READ | WRITE) */
    bool linear_valid;      /* the access comes from translating a guest-linear address */
    bool paging_structure;  /* it is to a guest paging-structure entry (walk or A/D
                               update), not to the translation of the linear address */
    /* The linear address's rights, for the advanced VM-exit information
     * (meaningful only when linear_valid and !paging_structure): */
    bool linear_user, linear_writable, linear_xd;
    bool nmi_unblocking;    /* the access is by an IRET that unblocked NMIs */
};

enum ept_outcome { EPT_OK = 0, EPT_VIOLATION, EPT_MISCONFIG };

/* Up to 5 levels: PML5E, PML4E, PDPTE, PDE, PTE. */
#define EPT_MAX_LEVELS 5

struct ept_result {
    enum ept_outcome outcome;
    uint64_t hpa;         /* EPT_OK: the host-physical address */
    uint64_t page_size;   /* EPT_OK: 4 KiB, 2 MiB or 1 GiB */
    unsigned perms;       /* EPT_R|W|X ANDed over the entries used */
    unsigned mem_type;    /* EPT_OK: the leaf's EPT memory type (bits 5:3) */
    bool ipat;            /* EPT_OK: the leaf's ignore-PAT bit */
    uint64_t qualification; /* EPT_VIOLATION: the exit qualification */
    unsigned refs;        /* EPT paging-structure entries read */
    unsigned level;       /* level of the last entry read: 0 = PTE .. 4 = PML5E */
    uint64_t entry;       /* the last entry read: for a violation, the not-present
                             entry or the leaf whose bit 63 (suppress #VE)
                             decides whether it is convertible */
    /* EPT_OK with A/D enabled: the entries whose flags must be set, in walk
     * order (the caller ORs bits into the 8 bytes at hpa). */
    unsigned nad;
    struct {
        uint64_t hpa;
        uint64_t bits; /* EPT_A and/or EPT_D */
    } ad[EPT_MAX_LEVELS];
};

/* Reads the 8-byte EPT entry at host-physical address hpa (8-aligned and
 * below 2^MAXPHYADDR). Memory that does not exist reads as all ones. */
typedef uint64_t (*ept_read_fn)(void *ctx, uint64_t hpa);

/* Walk the EPT paging structures named by eptp for gpa (SDM 3C "EPT
 * Translation Mechanism", "EPT Violations", "EPT Misconfigurations",
 * "Accessed and Dirty Flags for EPT"). eptp must have passed
 * ept_eptp_check(); the walk reads at most one entry per level. Returns
 * r->outcome. */
enum ept_outcome ept_walk(const struct ept_caps *caps, uint64_t eptp, uint64_t gpa,
                          const struct ept_access *acc, ept_read_fn read, void *ctx,
                          struct ept_result *r);

/* The permissions (EPT_R|W|X) an access needs and, in *write, whether it
 * counts as a write (a paging-structure access with EPTP bit 6 does). */
unsigned ept_access_need(const struct ept_caps *caps, uint64_t eptp, const struct ept_access *acc,
                         bool *write);

/* A cache of successful walks for the host's speed (walk_cache.c): each
 * entry keeps the EPT entries its walk read, with their addresses, and
 * is used only while every one of them still holds the value read, for an
 * access of the same kind the permissions allow and that has no
 * accessed/dirty flag to set -- when ept_walk() would read the same
 * entries and give the same result. So it needs no invalidation and never
 * changes a result, the references counted (r->refs) included. */
struct ept_walk_cache;
struct ept_walk_cache *ept_walk_cache_new(void);
void ept_walk_cache_free(struct ept_walk_cache *wc);
/* ept_walk() through the cache (wc may be NULL: a plain walk). */
enum ept_outcome ept_walk_cached(struct ept_walk_cache *wc, const struct ept_caps *caps,
                                 uint64_t eptp, uint64_t gpa, const struct ept_access *acc,
                                 ept_read_fn read, void *ctx, struct ept_result *r);

/* The VM-entry checks on the EPTP (SDM 3C "Checks on VM-Execution Control
 * Fields"): NULL if valid, else the rule it breaks, in words. */
const char *ept_eptp_check(const struct ept_caps *caps, uint64_t eptp);

/* Number of levels the EPTP's page-walk length selects (4 or 5). */
unsigned ept_levels(uint64_t eptp);

#endif
