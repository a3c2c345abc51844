/* The merge vmcs01 + vmcs12 -> vmcs02, field by field as the merge column
 * of include/nvmx/vmcs_fields.def says: COPY takes vmcs12's value, OR the
 * union of vmcs01's and vmcs12's, FN calls merge_fn_<field>() below (a
 * missing one fails the link), NONE leaves the field alone (host state is
 * L0's, set when vmcs02 starts; exit information is the hardware's).
 * COPY and OR fields are written only when vmcs12 changed them since the
 * last merge (dirty) or vmcs02 starts afresh; FN fields every time. The
 * design follows KVM's prepare_vmcs02(). Without EPT01, L1-physical
 * addresses are host-physical and pass through unchanged. */
#include "nested_internal.h"

#define V12(f) vmcs12_get(n, VMCS_##f)
#define ORIGIN(s) (*origin = (s))

static void put(struct nested *n, enum vmcs_field f, uint64_t val, const char *origin);

/* Fields vmcs02 holds 0 in, and why: what L0 does not offer L1 (caps.c);
 * the VMREAD/VMWRITE bitmaps, as vmcs02 never shadows L2's VMREAD/VMWRITE:
 * each exits to L0, which reflects it or performs it on vmcs12's shadow
 * VMCS (shadow12.c). */
#define ZERO(f, why)                                                                           \
    static uint64_t merge_fn_##f(struct nested *n, const char **origin)                       \
    {                                                                                          \
        (void)n;                                                                               \
        ORIGIN(why);                                                                           \
        return 0;                                                                              \
    }
#define NOT_OFFERED(f) ZERO(f, "L0 policy: feature not offered to L1")
ZERO(vmread_bitmap, "L0: L2's VMREAD/VMWRITE exit to L0 (shadow12.c)")
ZERO(vmwrite_bitmap, "L0: L2's VMREAD/VMWRITE exit to L0 (shadow12.c)")
NOT_OFFERED(posted_intr_notification_vector)
NOT_OFFERED(eptp_index)
NOT_OFFERED(virtual_apic_page_addr)
NOT_OFFERED(apic_access_addr)
NOT_OFFERED(posted_intr_desc_addr)
NOT_OFFERED(vm_function_control)
NOT_OFFERED(eptp_list_address)
NOT_OFFERED(ve_information_address)
NOT_OFFERED(tsc_multiplier)
NOT_OFFERED(tertiary_vm_exec_control)
#undef NOT_OFFERED
#undef ZERO

/* vmcs12's value: the hardware does for L2 what L1 asked, and L0 needs
 * nothing more of these (it intercepts no exception, I/O port, CR bit or
 * timer of L2's for itself). */
#define FROM_VMCS12(f)                                                                         \
    static uint64_t merge_fn_##f(struct nested *n, const char **origin)                       \
    {                                                                                          \
        ORIGIN("vmcs12 (L0 adds nothing)");                                                    \
        return V12(f);                                                                         \
    }
FROM_VMCS12(io_bitmap_a)
FROM_VMCS12(io_bitmap_b)
FROM_VMCS12(vmexit_msr_store_addr)
FROM_VMCS12(vmentry_msr_load_addr)
FROM_VMCS12(vm_exit_msr_store_count)
FROM_VMCS12(vm_entry_msr_load_count)
FROM_VMCS12(page_fault_error_code_mask)
FROM_VMCS12(page_fault_error_code_match)
FROM_VMCS12(cr3_target_count)
FROM_VMCS12(vm_entry_controls)
FROM_VMCS12(ple_gap)
FROM_VMCS12(ple_window)
FROM_VMCS12(vmx_preemption_timer_value)
FROM_VMCS12(cr0_guest_host_mask)
FROM_VMCS12(cr4_guest_host_mask)
#undef FROM_VMCS12

/* L1's VM-exit MSR-load list is L0's to process when it reflects an exit
 * (reflect.c); vmcs02's exits go to L0 first. */
static uint64_t merge_fn_vmexit_msr_load_addr(struct nested *n, const char **origin)
{
    (void)n;
    ORIGIN("L0: loads L1's host MSRs itself on reflection");
    return 0;
}

static uint64_t merge_fn_vm_exit_msr_load_count(struct nested *n, const char **origin)
{
    (void)n;
    ORIGIN("L0: loads L1's host MSRs itself on reflection");
    return 0;
}

static uint64_t merge_fn_vmcs_link_pointer(struct nested *n, const char **origin)
{
    (void)n;
    ORIGIN("L0: no shadow VMCS for L2");
    return NESTED_INVALID_PTR;
}

static uint64_t merge_fn_pin_based_vm_exec_control(struct nested *n, const char **origin)
{
    ORIGIN("vmcs01|vmcs12");
    return V12(pin_based_vm_exec_control) | n->f01[VMCS_pin_based_vm_exec_control];
}

/* L0's MSR interception for L1 (IA32_FEATURE_CONTROL, the capability MSRs)
 * rides on the merged MSR bitmap when vmcs12 uses one; without one every
 * MSR access exits anyway. */
static uint64_t merge_fn_cpu_based_vm_exec_control(struct nested *n, const char **origin)
{
    if (n->ept01 || n->vpid01) {
        ORIGIN("vmcs12 | L0: activate secondary controls (EPT01, vpid02)");
        return V12(cpu_based_vm_exec_control) | PROC_ACTIVATE_SECONDARY_CONTROLS;
    }
    ORIGIN("vmcs12 (L0's MSR interception through the merged bitmap)");
    return V12(cpu_based_vm_exec_control);
}

/* vmcs12's secondary controls (0 unless it activates them) and, with EPT01,
 * "enable EPT": L2 runs over EPT01 since L1 gives it no EPT. */
static uint64_t merge_fn_secondary_vm_exec_control(struct nested *n, const char **origin)
{
    /* never "VMCS shadowing": L0 performs what vmcs12's shadowing serves
     * (shadow12.c), as KVM's prepare_vmcs02_early clears it */
    uint64_t p2 = (V12(cpu_based_vm_exec_control) & PROC_ACTIVATE_SECONDARY_CONTROLS)
                      ? V12(secondary_vm_exec_control) & ~(uint64_t)PROC2_VMCS_SHADOWING : 0;
    if (n->vpid01)
        p2 |= PROC2_ENABLE_VPID;
    if (n->ept01) {
        ORIGIN(n->vpid01 ? "vmcs12 | L0: enable EPT (EPT01), enable VPID (vpid02)"
                         : "vmcs12 | L0: enable EPT (EPT01)");
        return p2 | PROC2_ENABLE_EPT;
    }
    ORIGIN(n->vpid01 ? "vmcs12 | L0: enable VPID (vpid02)" : "vmcs12");
    return p2;
}

/* SDM 3C "VPID": vmcs12's VPID for L2 is L1's name; vmcs02 runs with the
 * VPID02 L0 maps it to (ept02.c), so L2's translations stay tagged apart
 * from L1's and from other vpid12s'. */
static uint64_t merge_fn_virtual_processor_id(struct nested *n, const char **origin)
{
    if (!nested_vpid12_on(n)) {
        /* L0's VPID of the vmcs02 (vpid.c), invalidated at each of L1's
         * VM entries as vmcs12 without VPID asks */
        ORIGIN(n->vpid01 ? "L0: vpid02 of the vmcs02 (vmcs12 enables no VPID)" : "vmcs12 enables no VPID");
        return n->vpid01 ? n->slot_vpid02 : 0;
    }
    ORIGIN("L0: the VPID02 of vmcs12's VPID");
    return nested_vpid02(n, (uint16_t)V12(virtual_processor_id));
}

/* With EPT in vmcs12, L2 runs on the shadow EPT02 of EPTP12 (ept02.c). */
static uint64_t merge_fn_ept_pointer(struct nested *n, const char **origin)
{
    if (n->ept01 && nested_ept12_on(n)) {
        ORIGIN("L0: shadow EPT02 of vmcs12's EPTP");
        return nested_ept02_eptp(n, V12(ept_pointer));
    }
    if (n->ept01) {
        ORIGIN("L0: EPT01 (vmcs12 gives L2 no EPT)");
        return n->eptp01;
    }
    ORIGIN("L0 policy: feature not offered to L1");
    return 0;
}

/* With EPT, VM entry takes a PAE guest's PDPTEs from the VMCS (SDM 3C
 * "Loading Guest State"); without it, from CR3. vmcs12 has no EPT, so L0
 * reads them where L2's CR3 points, as the hardware would have. With EPT
 * in vmcs12, vmcs12's own PDPTE fields are copied, as the hardware uses
 * them. */
static void merge_pdptes(struct nested *n)
{
    uint64_t cr0 = V12(guest_cr0), cr4 = V12(guest_cr4);
    if (!n->ept01 || !(cr0 & CR0_PG) || !(cr4 & CR4_PAE) ||
        (V12(vm_entry_controls) & ENTRY_IA32E_MODE_GUEST))
        return;
    if (nested_ept12_on(n)) {
        for (unsigned i = 0; i < 4; i++) {
            enum vmcs_field f = (enum vmcs_field)(VMCS_guest_pdpte0 + i);
            put(n, f, vmcs12_get(n, f), "vmcs12 (EPT: L2's PAE PDPTEs from the VMCS)");
        }
        return;
    }
    uint64_t base = V12(guest_cr3) & 0xffffffe0ull;
    for (unsigned i = 0; i < 4; i++)
        put(n, (enum vmcs_field)(VMCS_guest_pdpte0 + i), l1_phys_read(n, base + 8ull * i, 8),
            "L0: L2's PAE PDPTEs read at its CR3 (vmcs12 has no EPT)");
}

/* SDM 3C "MSR-Bitmap Address": vmcs02's bitmap is the union of L1's for L2
 * (read from L1 memory at every merge, since L1 may change it without a
 * VMWRITE) and L0's own bits. */
static uint64_t merge_fn_msr_bitmap(struct nested *n, const char **origin)
{
    uint64_t dst = n->page[L0_MSR_BITMAP02];
    if (V12(cpu_based_vm_exec_control) & PROC_USE_MSR_BITMAPS) {
        uint64_t src = V12(msr_bitmap);
        /* L1-physical: its bytes are host RAM unless they are L0's area */
        bool l0_area = n->ept01 && src + 4096 > n->l1_mem && src < n->l1_mem + NESTED_L0_AREA_SIZE;
        const uint8_t *s = l0_area ? NULL : cpu_phys_ram(n->c, src, 4096);
        uint8_t *d = cpu_phys_ram(n->c, dst, 4096);
        if (s && d) {
            memcpy(d, s, 4096);
            cpu_phys_ram_written(n->c, dst, 4096);
        } else {
            for (unsigned o = 0; o < 4096; o += 8)
                cpu_phys_write(n->c, dst + o, 8, l1_phys_read(n, src + o, 8));
        }
        l0_msr_intercepts(n, dst);
        ORIGIN("vmcs12 bitmap | vmcs01 bitmap, in L0's page");
    } else {
        ORIGIN("L0's page (vmcs12 uses no MSR bitmaps: every access exits)");
    }
    return dst;
}

/* SDM 3C "TSC Offsetting": L2's offset is L1's offset for L2 plus L0's for
 * L1 (L0 uses none for L1). */
static uint64_t merge_fn_tsc_offset(struct nested *n, const char **origin)
{
    ORIGIN("vmcs01 + vmcs12");
    uint64_t off01 = (n->f01[VMCS_cpu_based_vm_exec_control] & PROC_USE_TSC_OFFSETTING)
                         ? n->f01[VMCS_tsc_offset] : 0;
    return V12(tsc_offset) + off01;
}

/* vmcs02's host-state area is L0's (vmcs01's, start_vmcs02), so its
 * VM-exit controls that load host state are L0's too: a 64-bit host and
 * none of vmcs12's "load"/"clear" controls. vmcs12's host IA32_EFER, PAT,
 * ... belong to L1 and L0 applies them when it loads L1's host state on
 * reflection (load_l1_host_state; KVM's prepare_vmcs02 and
 * load_vmcs12_host_state split it the same way). Passing vmcs12's "load
 * IA32_EFER" into vmcs02 made the entry check vmcs01's host IA32_EFER,
 * which L0 never sets: SDM 3C "Checks on Host Control Registers, MSRs,
 * and SSP" (with "load IA32_EFER" VM-exit control 1, IA32_EFER.LMA and
 * LME must each equal the "host address-space size" VM-exit control)
 * failed with VM-instruction error 8. The rest of L1's VM-exit controls
 * (what to save, acknowledge interrupt on exit) act on vmcs02's exits. */
#define EXIT_LOADS_HOST_STATE                                                                  \
    (EXIT_LOAD_PERF_GLOBAL_CTRL | EXIT_LOAD_PAT | EXIT_LOAD_EFER | EXIT_CLEAR_BNDCFGS |        \
     EXIT_CLEAR_RTIT_CTL | EXIT_CLEAR_LBR_CTL | EXIT_LOAD_CET_STATE | EXIT_LOAD_PKRS)

static uint64_t merge_fn_vm_exit_controls(struct nested *n, const char **origin)
{
    (void)n;
    ORIGIN("vmcs12 without host-state loads | L0: host address-space size");
    return (V12(vm_exit_controls) & ~(uint64_t)EXIT_LOADS_HOST_STATE) | EXIT_HOST_ADDRESS_SPACE_SIZE;
}

/* The trace lists the writes that changed vmcs02 (every write of a full
 * merge): a merge rewrites its FN fields each time, mostly with the value
 * they had (docs/trace-schema.md, merge). */
static void put(struct nested *n, enum vmcs_field f, uint64_t val, const char *origin)
{
    n->stats.merge_fields++;
    if (!n->merge_traced) {
        vmx_root_vmwrite(n->v, f, val);
        return;
    }
    uint64_t old = vmx_root_peek(n->v, f);
    vmx_root_vmwrite(n->v, f, val);
    if (!n->log_unchanged && val == old)
        return; /* the field held the value already */
    uint64_t now = vmx_root_peek(n->v, f); /* as stored: the field's width */
    if (n->log_unchanged || now != old)
        nested_log(n, f, now, origin);
}

#define MERGE_COPY(f)                                                                          \
    if ((full || n->v12.dirty[VMCS_##f]) && !(n->pkvm && nested_pkvm_shadowed(VMCS_##f)))      \
        put(n, VMCS_##f, V12(f), "vmcs12");
#define MERGE_OR(f)                                                                            \
    if (full || n->v12.dirty[VMCS_##f])                                                        \
        put(n, VMCS_##f, V12(f) | n->f01[VMCS_##f], "vmcs01|vmcs12");
#define MERGE_FN(f)                                                                            \
    {                                                                                          \
        const char *o = "L0";                                                                  \
        uint64_t val = merge_fn_##f(n, &o);                                                    \
        put(n, VMCS_##f, val, o);                                                              \
    }
#define MERGE_NONE(f)

/* vmcs02's host state is L0's: vmcs01's. */
static void start_vmcs02(struct nested *n)
{
    for (int f = 0; f < VMCS_NFIELDS; f++)
        if (VMCS_ENC_TYPE(vmcs_fields[f].encoding) == VMCS_ENC_TYPE_HOST)
            put(n, (enum vmcs_field)f, n->f01[f], "vmcs01 (L0's host state)");
}

/* One merge event: how many fields it wrote, those whose value changed
 * (all of them in a full merge) with their origin, and the modelled cycles
 * of the VMWRITEs (and bitmap copy) it took. */
static void trace_merge(struct nested *n, bool full, uint64_t written, uint64_t cycles0)
{
    struct trace_event ev = {
        .type = TRACE_EV_merge,
        .level = n->lv.running,
        .merge = {
            .full = full,
            .written = (uint32_t)written,
            .fields = { n->nlog, n->log },
            .cost = (uint32_t)(n->c->cycles - cycles0),
        },
    };
    vmx_trace_emit(n->v, &ev);
}

void nested_merge(struct nested *n, bool full)
{
    uint64_t cycles0 = n->c->cycles, written0 = n->stats.merge_fields;
    n->stats.merges++;
    n->nlog = 0;
    n->log_unchanged = full;
    n->merge_traced = vmx_trace_enabled(n->v);
    if (full)
        start_vmcs02(n);
#define VMCS_FIELD(name, enc, w, s, m) MERGE_##m(name)
#include "nvmx/vmcs_fields.def"
#undef VMCS_FIELD
    merge_pdptes(n);
    memset(n->v12.dirty, 0, sizeof n->v12.dirty);
    if (n->merge_traced)
        trace_merge(n, full, n->stats.merge_fields - written0, cycles0);
}
