/* The "pkvm" VMCS-shadowing design (docs/nested.md), after pKVM's nested
 * VMX: the vmcs02 of L1's current vmcs12 doubles as the shadow VMCS.
 * vmcs01's VMCS link pointer references it while L1 has a current vmcs12,
 * and L1's VMREAD/VMWRITE of the fields whose vmcs02 value is vmcs12's own
 * -- the merge column's COPY fields that the shadow column lists, and the
 * read-only exit-information fields -- go to it without an exit. Every
 * other field is "emulated": L1's VMREAD/VMWRITE exit, L0 keeps it in its
 * vmcs12 cache (pKVM's cached_vmcs12), and the merge recomputes it into
 * vmcs02 before each entry (security-relevant controls, host state, the
 * addresses L0 owns). So neither an L2 exit nor an L1 entry copies the
 * shadowed fields: vmcs02 holds them.
 *
 * One VMCS cannot be a shadow VMCS and an ordinary one at once (SDM 3C
 * "Format of the VMCS Region": the shadow-VMCS indicator; a shadow VMCS
 * cannot be used for VM entry): L0 turns vmcs02 into an ordinary VMCS for
 * L1's VMLAUNCH/VMRESUME (indicator 0, VMPTRLD) and back into a shadow
 * VMCS before L1 runs again (VMCLEAR, indicator 1), as pKVM does. L0 reads
 * the shadowed fields from the ordinary vmcs02 without cost where pKVM lets
 * the processor's own VM-entry checks read them: for src/vmx's checks on
 * vmcs12 and the reflection rules. */
#include "nested_internal.h"

static bool shadowed_by_rule(enum vmcs_field f)
{
    const struct vmcs_field_info *fi = &vmcs_fields[f];
    if (fi->shadow == VMCS_SH_NO)
        return false;
    /* vmcs02's PAE PDPTEs are L0's under EPT01 (merge.c merge_pdptes): L1
     * reads its own from the cache */
    if (f >= VMCS_guest_pdpte0 && f <= VMCS_guest_pdpte3)
        return false;
    return VMCS_ENC_TYPE(fi->encoding) == VMCS_ENC_TYPE_RO_DATA ||
           (fi->merge == VMCS_MERGE_COPY && VMCS_ENC_TYPE(fi->encoding) != VMCS_ENC_TYPE_HOST);
}

/* The split as a table, built once (the merge and the sync ask per field). */
bool nested_pkvm_shadowed(enum vmcs_field f)
{
    static uint8_t table[VMCS_NFIELDS]; /* 0 unknown, 1 emulated, 2 shadowed */
    if (!table[f])
        table[f] = shadowed_by_rule(f) ? 2 : 1;
    return table[f] == 2;
}

/* VMREAD bitmap: the shadowed fields; VMWRITE bitmap: the shadowed
 * read-write ones (both halves of a 64-bit field). */
static void build_bitmaps(struct nested *n)
{
    for (unsigned o = 0; o < 4096; o++) {
        cpu_phys_write(n->c, n->page[L0_VMREAD_BITMAP] + o, 1, 0xff);
        cpu_phys_write(n->c, n->page[L0_VMWRITE_BITMAP] + o, 1, 0xff);
    }
    for (int f = 0; f < VMCS_NFIELDS; f++) {
        const struct vmcs_field_info *fi = &vmcs_fields[f];
        if (!nested_pkvm_shadowed((enum vmcs_field)f))
            continue;
        for (unsigned h = 0; h < (fi->width == VMCS_W_U64 ? 2u : 1u); h++) {
            unsigned bit = (fi->encoding + h) & 0x7fffu;
            uint64_t rd = n->page[L0_VMREAD_BITMAP] + (bit >> 3), wr = n->page[L0_VMWRITE_BITMAP] + (bit >> 3);
            cpu_phys_write(n->c, rd, 1, cpu_phys_read(n->c, rd, 1) & ~(1u << (bit & 7)));
            if (fi->shadow == VMCS_SH_RW)
                cpu_phys_write(n->c, wr, 1, cpu_phys_read(n->c, wr, 1) & ~(1u << (bit & 7)));
        }
    }
}

bool nested_pkvm_setup(struct nested *n)
{
    if (n->pol.shadowing != NESTED_SHADOW_PKVM || !l0_proc2_allowed(n, (uint32_t)PROC2_VMCS_SHADOWING))
        return false;
    build_bitmaps(n);
    return true;
}

static uint64_t cur_page(const struct nested *n) { return l0_vmcs02_page(n, n->cur02); }

/* The revision word of the vmcs02's region: shadow-VMCS indicator on/off. */
static void set_indicator(struct nested *n, bool shadow)
{
    uint32_t rev = (uint32_t)(vmx_get_caps(n->v)->msr[VMX_MSR_BASIC] & 0x7fffffffu);
    cpu_phys_write(n->c, cur_page(n), 4, rev | (shadow ? VMCS_SHADOW_INDICATOR : 0));
}

/* vmcs02 as an ordinary VMCS, current (for an entry, or for L0 to read or
 * write it); it stays ordinary until nested_pkvm_settle(). */
static void make_ordinary(struct nested *n)
{
    if (!n->pkvm_ordinary)
        set_indicator(n, false);
    n->pkvm_ordinary = true;
    vmx_root_vmptrld(n->v, cur_page(n));
}

static void back_to_vmcs01(struct nested *n)
{
    vmx_root_vmptrld(n->v, n->page[L0_VMCS01]);
}

/* vmcs02 back to a shadow VMCS: written back to its region (VMCLEAR). */
void nested_pkvm_settle(struct nested *n)
{
    if (!n->pkvm || !n->pkvm_ordinary)
        return;
    vmx_root_vmclear(n->v, cur_page(n));
    set_indicator(n, true);
    n->pkvm_ordinary = false;
}

static void link01(struct nested *n, uint64_t link)
{
    if (vmx_root_current(n->v) != n->page[L0_VMCS01])
        vmx_root_vmptrld(n->v, n->page[L0_VMCS01]);
    if (n->f01[VMCS_vmcs_link_pointer] == link)
        return;
    l0_write01(n, VMCS_vmcs_link_pointer, link);
    l0_write01(n, VMCS_secondary_vm_exec_control,
               n->proc2_01 | (link != NESTED_INVALID_PTR ? (uint32_t)PROC2_VMCS_SHADOWING : 0));
}

/* vmcs01's controls for the design (vmcs01 is current): shadowing starts
 * with L1's first VMPTRLD. */
void nested_pkvm_vmcs01(struct nested *n)
{
    l0_write01(n, VMCS_cpu_based_vm_exec_control,
               n->f01[VMCS_cpu_based_vm_exec_control] | PROC_ACTIVATE_SECONDARY_CONTROLS);
    l0_write01(n, VMCS_secondary_vm_exec_control, n->proc2_01);
    l0_write01(n, VMCS_vmread_bitmap, n->page[L0_VMREAD_BITMAP]);
    l0_write01(n, VMCS_vmwrite_bitmap, n->page[L0_VMWRITE_BITMAP]);
    l0_write01(n, VMCS_vmcs_link_pointer, NESTED_INVALID_PTR);
}

/* VMPTRLD of vmcs12 (cached already): its vmcs02 from the pool gets the
 * shadowed fields that differ, and becomes vmcs01's shadow VMCS. */
void nested_pkvm_attach(struct nested *n)
{
    if (!n->pkvm)
        return;
    bool fresh;
    uint64_t evicted;
    unsigned k = vmcs02_pool_get(&n->pool, n->v12.ptr, &fresh, &evicted);
    n->cur02 = k;
    if (fresh) {
        vmx_root_vmclear(n->v, cur_page(n));
        n->pool.slot[k].started = false;
    }
    make_ordinary(n);
    for (int f = 0; f < VMCS_NFIELDS; f++) {
        enum vmcs_field e = (enum vmcs_field)f;
        if (nested_pkvm_shadowed(e) && (fresh || vmx_root_peek(n->v, e) != vmcs12_get(n, e)))
            vmx_root_vmwrite(n->v, e, vmcs12_get(n, e));
    }
    nested_pkvm_settle(n);
    link01(n, cur_page(n));
}

/* The shadowed fields into the vmcs12 cache (vmcs02 becomes ordinary;
 * vmcs01 stays current): what src/vmx's checks and the reflection rules
 * read. */
void nested_pkvm_pull(struct nested *n)
{
    if (!n->pkvm || n->v12.ptr == NESTED_INVALID_PTR)
        return;
    make_ordinary(n);
    for (int f = 0; f < VMCS_NFIELDS; f++)
        if (nested_pkvm_shadowed((enum vmcs_field)f))
            n->v12.f[f] = vmx_root_peek(n->v, (enum vmcs_field)f);
    back_to_vmcs01(n);
}

/* Before vmcs12 stops being current (VMPTRLD of another, VMCLEAR, VMXOFF):
 * the cache takes the shadowed fields (it is then written to L1 memory) and
 * vmcs01 stops shadowing. */
void nested_pkvm_detach(struct nested *n)
{
    if (!n->pkvm || n->v12.ptr == NESTED_INVALID_PTR)
        return;
    nested_pkvm_pull(n);
    nested_pkvm_settle(n);
    link01(n, NESTED_INVALID_PTR);
}

/* L0 wrote a shadowed field of vmcs12 (an exit-information field of a
 * VM-entry failure, the VM-instruction error, a VMWRITE of a read-only
 * field that exited): vmcs02 holds it for L1. */
void nested_pkvm_put(struct nested *n, enum vmcs_field f)
{
    if (!n->pkvm || n->v12.ptr == NESTED_INVALID_PTR || !nested_pkvm_shadowed(f))
        return;
    make_ordinary(n);
    vmx_root_vmwrite(n->v, f, vmcs12_get(n, f));
    back_to_vmcs01(n);
}
