/* Nested EPT: the shadow EPT02 = EPT12 o EPT01 that vmcs02 runs L2 on when
 * vmcs12 enables EPT, filled lazily on vmcs02's EPT violations with
 * ept02_compose() (src/ept/compose.c), one root per EPTP12 in LRU order;
 * L1's EPT12 faults reflected with the exit information L1's own tables
 * give; L1's INVEPT drops roots. And VPID02: the VPIDs L0 gives L2 for
 * L1's VPIDs, and L1's INVVPID on them. The design is KVM's nested EPT
 * (arch/x86/kvm/mmu: a shadow MMU over the guest's EPT, roots cached by
 * EPTP, nested_ept_inject_page_fault) with nvmx's own code. docs/nested.md
 * "Nested EPT". */
#include "nested_internal.h"

#include "nvmx/ept_compose.h"

#define EPTP02_WB_4LEVEL (6ull | (3ull << 3))
#define EPT02_TABLE (EPT_R | EPT_W | EPT_X) /* non-leaf entries: the leaf decides */

bool nested_ept12_on(const struct nested *n)
{
    return (vmcs12_get(n, VMCS_cpu_based_vm_exec_control) & PROC_ACTIVATE_SECONDARY_CONTROLS) &&
           (vmcs12_get(n, VMCS_secondary_vm_exec_control) & PROC2_ENABLE_EPT);
}

bool nested_vpid12_on(const struct nested *n)
{
    return (vmcs12_get(n, VMCS_cpu_based_vm_exec_control) & PROC_ACTIVATE_SECONDARY_CONTROLS) &&
           (vmcs12_get(n, VMCS_secondary_vm_exec_control) & PROC2_ENABLE_VPID);
}

/* ---- the trace: one nested_ept event per fill, EPT12 fault and drop ---------- */

struct ept_note {
    const char *action, *why;
    uint64_t eptp12;
    struct trace_opt_hex gpa, l1_gpa, entry, qual;
};

static unsigned live_roots(const struct nested *n)
{
    unsigned k = 0;
    for (unsigned r = 0; r < EPT02_ROOTS; r++)
        k += n->ept02.root[r].used;
    return k;
}

static void trace_ept(struct nested *n, const struct ept_note *t)
{
    if (!vmx_trace_enabled(n->v))
        return;
    struct trace_event ev = {
        .type = TRACE_EV_nested_ept,
        .level = n->in_l2 ? 2 : 1,
        .nested_ept = {
            .action = t->action,
            .eptp12 = t->eptp12,
            .gpa = t->gpa,
            .l1_gpa = t->l1_gpa,
            .entry = t->entry,
            .qual = t->qual,
            .why = t->why,
            .roots = live_roots(n),
            .pool_free = n->ept02.free_pages,
        },
    };
    vmx_trace_emit(n->v, &ev);
}

/* ---- the pool of EPT02 table pages (L0's area past its first MiB) ------------- */

static uint64_t pool_pa(const struct nested *n, unsigned i)
{
    return n->l1_mem + L0_FIXED_SIZE + 4096ull * i;
}

static void zero_page(struct nested *n, uint64_t pa)
{
    uint8_t *p = cpu_phys_ram(n->c, pa, 4096);
    if (p) {
        memset(p, 0, 4096);
        cpu_phys_ram_written(n->c, pa, 4096);
        return;
    }
    for (unsigned o = 0; o < 4096; o += 8)
        cpu_phys_write(n->c, pa + o, 8, 0);
}

/* The pages in use: the policy may keep the pool smaller (to study
 * recycling). */
static unsigned pool_pages(const struct nested *n)
{
    unsigned p = n->pol.ept02_pool_pages;
    return p >= 4 && p < EPT02_POOL_PAGES ? p : EPT02_POOL_PAGES;
}

static void pool_init(struct nested *n)
{
    if (!n->ept02.ready) {
        memset(n->ept02.owner, 0, sizeof n->ept02.owner);
        n->ept02.free_pages = pool_pages(n);
        n->ept02.ready = true;
    }
}

/* A zeroed page for root r, or false when the pool is empty. */
static bool page_alloc(struct nested *n, unsigned r, uint64_t *pa)
{
    struct nested_ept02 *e = &n->ept02;
    pool_init(n);
    if (!e->free_pages)
        return false;
    unsigned np = pool_pages(n);
    for (unsigned k = 0; k < np; k++) {
        unsigned i = (e->cursor + k) % np;
        if (e->owner[i])
            continue;
        e->owner[i] = (uint8_t)(r + 1);
        e->free_pages--;
        e->cursor = (i + 1) % np;
        *pa = pool_pa(n, i);
        zero_page(n, *pa);
        return true;
    }
    return false;
}

static uint64_t eptp02_of(const struct ept02_root *rt) { return rt->pml4 | EPTP02_WB_4LEVEL; }

/* Drop what root r maps: its table pages go back to the pool (the PML4
 * too unless keep_pml4, which is then emptied) and the processor forgets
 * the translations derived from it (INVEPT single-context of EPTP02). */
static void root_drop(struct nested *n, unsigned r, bool keep_pml4, const char *why)
{
    struct nested_ept02 *e = &n->ept02;
    struct ept02_root *rt = &e->root[r];
    if (!rt->used)
        return;
    for (unsigned i = 0; i < EPT02_POOL_PAGES; i++) {
        if (e->owner[i] != r + 1 || (keep_pml4 && pool_pa(n, i) == rt->pml4))
            continue;
        e->owner[i] = 0;
        e->free_pages++;
    }
    vmx_root_invept(n->v, false, eptp02_of(rt));
    n->stats.ept02_drops++;
    if (keep_pml4) {
        zero_page(n, rt->pml4);
    } else {
        rt->used = false;
    }
    trace_ept(n, &(struct ept_note){ .action = "drop", .why = why, .eptp12 = rt->eptp12 });
}

/* The pool ran out: every root is emptied (the current one keeps its PML4,
 * so vmcs02's EPTP stays valid) and fills start again (KVM zaps its shadow
 * pages the same way when it runs out of them). */
static void pool_exhausted(struct nested *n, unsigned current)
{
    for (unsigned r = 0; r < EPT02_ROOTS; r++)
        root_drop(n, r, r == current, "EPT02 pool exhausted: every root emptied");
}

/* The EPT02 root for eptp12 (found, or made, evicting the least recently
 * used), as vmcs02's EPTP: WB paging structures, 4 levels, no A/D (L0 sets
 * EPT12's flags itself). The key is EPTP12 whole: A/D enable and walk
 * length change what EPT12 means. */
uint64_t nested_ept02_eptp(struct nested *n, uint64_t eptp12)
{
    struct nested_ept02 *e = &n->ept02;
    unsigned victim = 0;
    for (unsigned r = 0; r < EPT02_ROOTS; r++) {
        struct ept02_root *rt = &e->root[r];
        if (rt->used && rt->eptp12 == eptp12) {
            rt->last_use = ++e->clock;
            return eptp02_of(rt);
        }
        if (!rt->used || (e->root[victim].used && rt->last_use < e->root[victim].last_use))
            victim = r;
    }
    if (e->root[victim].used)
        root_drop(n, victim, false, "LRU: a new EPTP12 needs the least recently used root");
    uint64_t pml4;
    if (!page_alloc(n, victim, &pml4)) {
        pool_exhausted(n, EPT02_ROOTS);
        page_alloc(n, victim, &pml4); /* the pool is empty of roots now */
    }
    e->root[victim] = (struct ept02_root){ .used = true, .eptp12 = eptp12, .pml4 = pml4,
                                           .last_use = ++e->clock };
    trace_ept(n, &(struct ept_note){ .action = "root", .why = "a new EPTP12", .eptp12 = eptp12 });
    return eptp02_of(&e->root[victim]);
}

static int root_of_eptp02(const struct nested *n, uint64_t eptp02)
{
    for (unsigned r = 0; r < EPT02_ROOTS; r++)
        if (n->ept02.root[r].used && n->ept02.root[r].pml4 == (eptp02 & ~0xfffull))
            return (int)r;
    return -1;
}

/* SDM 3C "INVEPT": L1's single-context INVEPT invalidates what derives from
 * EPTP12[51:12] (every root of that EP4TA), all-context every root. L0
 * rebuilds on INVEPT rather than write-protecting EPT12: the SDM requires
 * new translations only after it (SDM 3C "Maintaining Consistency of
 * Cached Information"). */
void nested_ept02_invept(struct nested *n, bool all, uint64_t eptp12)
{
    uint64_t ep4ta = eptp12 & 0x000ffffffffff000ull;
    for (unsigned r = 0; r < EPT02_ROOTS; r++) {
        struct ept02_root *rt = &n->ept02.root[r];
        if (!rt->used || (!all && (rt->eptp12 & 0x000ffffffffff000ull) != ep4ta))
            continue;
        root_drop(n, r, false, all ? "L1's INVEPT all-context" : "L1's INVEPT single-context");
    }
}

/* ---- filling EPT02 ----------------------------------------------------------------- */

/* Host-physical reads of the composition (EPT01 and, through it, EPT12),
 * counted: each is charged as one EPT paging-structure reference. */
struct hpa_reader {
    struct nested *n;
    unsigned refs;
};

static uint64_t read_hpa(void *ctx, uint64_t hpa)
{
    struct hpa_reader *rd = ctx;
    rd->refs++;
    const uint8_t *p = cpu_phys_ram(rd->n->c, hpa, 8);
    uint64_t v;
    if (!p)
        return ~0ull;
    memcpy(&v, p, 8);
    return v;
}

/* Write the leaf for gpa2 into root r, making the tables on the way.
 * False when the pool is empty. */
static bool insert(struct nested *n, unsigned r, uint64_t gpa2, uint64_t leaf, uint64_t *old)
{
    uint64_t table = n->ept02.root[r].pml4;
    for (unsigned lvl = 3; lvl > 0; lvl--) {
        uint64_t pa = table + 8 * ((gpa2 >> (12 + 9 * lvl)) & 511);
        uint64_t e = cpu_phys_read(n->c, pa, 8);
        if (!(e & EPT_RWX)) {
            uint64_t t;
            if (!page_alloc(n, r, &t))
                return false;
            e = t | EPT02_TABLE;
            cpu_phys_write(n->c, pa, 8, e);
        }
        table = e & 0x000ffffffffff000ull;
    }
    uint64_t pa = table + 8 * ((gpa2 >> 12) & 511);
    *old = cpu_phys_read(n->c, pa, 8);
    cpu_phys_write(n->c, pa, 8, leaf);
    return true;
}

/* SDM 3C "Operations that Invalidate Cached Mappings": an EPT violation
 * invalidates the guest-physical mappings of its address, so the EPT02
 * leaf of an access L1's tables now deny goes too (the next access walks
 * EPT12 again, as the processor would). */
static void zap_leaf(struct nested *n, unsigned r, uint64_t gpa2)
{
    uint64_t table = n->ept02.root[r].pml4;
    for (unsigned lvl = 3; lvl > 0; lvl--) {
        uint64_t e = cpu_phys_read(n->c, table + 8 * ((gpa2 >> (12 + 9 * lvl)) & 511), 8);
        if (!(e & EPT_RWX))
            return;
        table = e & 0x000ffffffffff000ull;
    }
    cpu_phys_write(n->c, table + 8 * ((gpa2 >> 12) & 511), 8, 0);
}

/* Re-enter L2 after a fill. An event whose delivery the violation
 * interrupted is injected again (SDM 3C "Information for VM Exits During
 * Event Delivery"; KVM's vmx_complete_interrupts), and an IRET that
 * unblocked NMIs blocks them again before it runs once more (SDM 3C "EPT
 * Violations": bit 12 of the qualification). */
void nested_ept02_resume(struct nested *n, uint64_t qual)
{
    struct vmx *v = n->v;
    uint32_t idt = (uint32_t)vmx_root_vmread(v, VMCS_idt_vectoring_info_field);
    if (idt & VMX_INTR_INFO_VALID) {
        unsigned type = (idt & VMX_INTR_INFO_TYPE_MASK) >> VMX_INTR_INFO_TYPE_SHIFT;
        vmx_root_vmwrite(v, VMCS_vm_entry_intr_info_field, idt & ~VMX_INTR_INFO_NMI_UNBLOCKING);
        if (idt & VMX_INTR_INFO_ERROR_CODE)
            vmx_root_vmwrite(v, VMCS_vm_entry_exception_error_code,
                             vmx_root_vmread(v, VMCS_idt_vectoring_error_code));
        if (type == EVT_SW_INT || type == EVT_PRIV_SW_EXC || type == EVT_SW_EXC)
            vmx_root_vmwrite(v, VMCS_vm_entry_instruction_len,
                             vmx_root_vmread(v, VMCS_vm_exit_instruction_len));
    } else if (qual & EPT_QUAL_NMI_UNBLOCKING) {
        vmx_root_vmwrite(v, VMCS_guest_interruptibility_info,
                         vmx_root_vmread(v, VMCS_guest_interruptibility_info) |
                             VMX_INTERRUPTIBILITY_NMI);
    }
    vmx_set_level(v, 2);
    if (vmx_root_enter(v, false) != VMX_INSN_OK)
        l0_unsupported(n, "VM entry to L2 on vmcs02 failed after an EPT02 fill");
}

enum ept02_exit nested_ept02_exit(struct nested *n, uint32_t basic, const char **rule)
{
    struct vmx *v = n->v;
    uint64_t gpa2 = vmx_root_vmread(v, VMCS_guest_physical_address);
    uint64_t eptp12 = vmcs12_get(n, VMCS_ept_pointer);
    int r = root_of_eptp02(n, vmx_root_vmread(v, VMCS_ept_pointer));
    if (basic == VMX_EXIT_ept_misconfig || r < 0) {
        /* EPT02 is L0's own: a misconfiguration of it is a bug of L0 */
        l0_unsupported(n, "EPT %s of EPT02 at L2 guest-physical address 0x%llx",
                       basic == VMX_EXIT_ept_misconfig ? "misconfiguration" : "violation without a root",
                       (unsigned long long)gpa2);
        return EPT02_EXIT_STOP;
    }
    uint64_t qual = vmx_root_vmread(v, VMCS_exit_qualification);
    struct ept_access acc = ept02_access_of_qual(qual);
    const struct vmx_caps *hw = vmx_get_caps(v);
    struct ept_caps caps12 = { n->caps1.msr[VMX_MSR_EPT_VPID_CAP], n->maxphyaddr };
    struct ept_caps caps01 = { hw->msr[VMX_MSR_EPT_VPID_CAP], n->maxphyaddr };
    struct hpa_reader rd = { n, 0 };
    struct ept02_fill f;
    ept02_compose(&caps12, eptp12, &caps01, n->eptp01, gpa2, &acc, read_hpa, &rd, &f);
    if (n->c->cost)
        n->c->cycles += (uint64_t)rd.refs * n->c->cost->cycles[COST_ept_walk];
    struct ept_note t = { .eptp12 = eptp12, .gpa = { true, gpa2 } };

    switch (f.outcome) {
    case EPT02_OK: {
        /* EPT12's accessed/dirty flags, in L1's memory */
        for (unsigned i = 0; i < f.nad; i++)
            cpu_phys_write(n->c, f.ad[i].hpa, 8, cpu_phys_read(n->c, f.ad[i].hpa, 8) | f.ad[i].bits);
        uint64_t leaf = ept02_leaf_for_access(&f, eptp12, &acc), old = 0;
        if (!insert(n, (unsigned)r, gpa2, leaf, &old)) {
            /* Twice at the same instruction of L2 with none retired
             * between: the pool cannot hold what that instruction needs
             * at once (a policy's small pool); refilling would go round
             * for ever. */
            uint64_t rip = vmx_root_peek(v, VMCS_guest_rip);
            if (n->ept02.exhausted_at == n->c->stats.insns + 1 && n->ept02.exhausted_rip == rip) {
                l0_unsupported(n, "the EPT02 pool (%u pages, policy ept02_pool_pages) cannot hold "
                                  "the EPT02 tables one instruction of L2 needs",
                               pool_pages(n));
                return EPT02_EXIT_STOP;
            }
            n->ept02.exhausted_at = n->c->stats.insns + 1;
            n->ept02.exhausted_rip = rip;
            pool_exhausted(n, (unsigned)r);
            insert(n, (unsigned)r, gpa2, leaf, &old); /* 3 pages at most: the pool has them */
        }
        struct nested_ept02 *e = &n->ept02;
        e->same_fills = (old == leaf && e->last_fill_gpa == gpa2 && e->last_fill_entry == leaf)
                            ? e->same_fills + 1 : 0;
        e->last_fill_gpa = gpa2;
        e->last_fill_entry = leaf;
        n->stats.ept02_fills++;
        n->stats.l0_handled++;
        t.action = "fill";
        t.l1_gpa = (struct trace_opt_hex){ true, f.l1_gpa };
        t.entry = (struct trace_opt_hex){ true, leaf };
        t.why = "EPT12 and EPT01 allow the access";
        trace_ept(n, &t);
        *rule = "EPT02 fill: EPT12 and EPT01 allow the access";
        if (e->same_fills >= 2) {
            l0_unsupported(n, "EPT02 fill of L2 guest-physical address 0x%llx made no progress "
                              "(leaf 0x%llx)", (unsigned long long)gpa2, (unsigned long long)leaf);
            return EPT02_EXIT_STOP;
        }
        return EPT02_EXIT_RESUME;
    }
    case EPT02_L1_VIOLATION:
        /* SDM 3C "EPT Violations": L1's exit 48 with the qualification its
         * EPT12 gives; guest-physical and guest-linear addresses are the
         * access's, which vmcs02's exit holds already. */
        zap_leaf(n, (unsigned)r, gpa2);
        vmx_root_vmwrite(v, VMCS_exit_qualification, f.qualification);
        n->stats.ept12_faults++;
        t.action = "violation";
        t.qual = (struct trace_opt_hex){ true, f.qualification };
        t.why = "EPT12 denies the access: EPT violation for L1";
        trace_ept(n, &t);
        *rule = "EPT12 (L1's EPT) denies the access: EPT violation for L1";
        return EPT02_EXIT_REFLECT;
    case EPT02_L1_MISCONFIG:
        /* SDM 3C "EPT Misconfigurations": exit 49 with the guest-physical
         * address; the qualification and guest-linear address are not
         * defined (nvmx writes 0, as its processor does). */
        zap_leaf(n, (unsigned)r, gpa2);
        vmx_root_vmwrite(v, VMCS_vm_exit_reason, VMX_EXIT_ept_misconfig);
        vmx_root_vmwrite(v, VMCS_exit_qualification, 0);
        vmx_root_vmwrite(v, VMCS_guest_linear_address, 0);
        n->stats.ept12_faults++;
        t.action = "misconfig";
        t.why = "EPT12 is misconfigured: EPT misconfiguration for L1";
        trace_ept(n, &t);
        *rule = "EPT12 (L1's EPT) is misconfigured: EPT misconfiguration for L1";
        return EPT02_EXIT_REFLECT;
    case EPT02_L0_FAULT:
        break;
    }
    l0_unsupported(n, "L2 guest-physical address 0x%llx: EPT12 gives L1 guest-physical 0x%llx, "
                      "which EPT01 does not map", (unsigned long long)gpa2,
                   (unsigned long long)f.l1_gpa);
    return EPT02_EXIT_STOP;
}

/* ---- VPID02 ------------------------------------------------------------------------ */

/* The VPID L2 runs with for L1's vpid12 (nonzero): a slot of L0's, the
 * least recently used one recycled -- its translations invalidated, since
 * they were another vpid12's. */
uint16_t nested_vpid02(struct nested *n, uint16_t vpid12)
{
    struct nested_vpid02 *m = &n->vpid02;
    unsigned victim = 0;
    for (unsigned i = 0; i < VPID02_SLOTS; i++) {
        if (m->vpid12[i] == vpid12) {
            m->last_use[i] = ++m->clock;
            return (uint16_t)(VPID02_FIRST + i);
        }
        if (!m->vpid12[i] || (m->vpid12[victim] && m->last_use[i] < m->last_use[victim]))
            victim = i;
    }
    if (m->vpid12[victim])
        vmx_root_invvpid(n->v, VMX_INVVPID_CONTEXT, (uint16_t)(VPID02_FIRST + victim), 0);
    m->vpid12[victim] = vpid12;
    m->last_use[victim] = ++m->clock;
    return (uint16_t)(VPID02_FIRST + victim);
}

/* SDM 3C "INVVPID" for L1's VPIDs: what L1 names, on the VPID02 it maps
 * to; a vpid12 without a slot has no translations cached. All-context
 * invalidates every VPID02 (L1's own translations, VPID 0000H to it, stay). */
void nested_vpid02_invvpid(struct nested *n, enum vmx_invvpid_kind kind, uint16_t vpid12, uint64_t lin)
{
    struct nested_vpid02 *m = &n->vpid02;
    for (unsigned i = 0; i < VPID02_SLOTS; i++) {
        if (!m->vpid12[i] || (kind != VMX_INVVPID_ALL_BUT_0 && m->vpid12[i] != vpid12))
            continue;
        vmx_root_invvpid(n->v, kind == VMX_INVVPID_ADDRESS ? VMX_INVVPID_ADDRESS : VMX_INVVPID_CONTEXT,
                         (uint16_t)(VPID02_FIRST + i), lin);
    }
}
