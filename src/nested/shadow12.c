/* VMCS shadowing offered to L1, as KVM offers it when it uses shadow
 * VMCSs itself (nested_vmx_setup_ctls_msrs: SECONDARY_EXEC_SHADOW_VMCS
 * with enable_shadow_vmcs; handle_vmread/handle_vmwrite in guest mode
 * access get_shadow_vmcs12()). vmcs02 never enables "VMCS shadowing"
 * (merge.c), so every VMREAD and VMWRITE of L2 exits to L0. The exit goes
 * to L1 when vmcs12 wants it -- "VMCS shadowing" 0, encoding bits 63:15
 * set, or the bit of vmcs12's VMREAD/VMWRITE bitmap 1 (SDM 3C "VMREAD",
 * "VMWRITE" Operation; the hardware's own test, vmx_shadow_bitmap_exits);
 * otherwise L0 performs the instruction on the shadow VMCS vmcs12's link
 * pointer references (emulate.c) and resumes L2: one exit to L0 instead of
 * a reflection and L1's handler. The shadow VMCS is L1's page in nvmx's
 * VMCS layout (docs/vmcs-layout.md), read and written where the hardware
 * reads and writes a shadow VMCS (src/vmx/shadow.c); L1 is not running
 * meanwhile, so no copy is needed (KVM caches the page for its L2's run:
 * nested_cache_shadow_vmcs12 / nested_flush_cached_shadow_vmcs12). */
#include "nested_internal.h"

static uint8_t l1_read8(void *ctx, uint64_t pa)
{
    return (uint8_t)l1_phys_read((struct nested *)ctx, pa, 1);
}

bool nested_shadow12_on(struct nested *n)
{
    return (vmcs12_get(n, VMCS_cpu_based_vm_exec_control) & PROC_ACTIVATE_SECONDARY_CONTROLS) &&
           (vmcs12_get(n, VMCS_secondary_vm_exec_control) & PROC2_VMCS_SHADOWING);
}

bool nested_shadow12_l1_wants(struct nested *n, bool write, const char **rule)
{
    uint64_t enc = nested_vmrw_encoding(n);
    uint64_t bitmap = vmcs12_get(n, write ? VMCS_vmwrite_bitmap : VMCS_vmread_bitmap);
    if (vmx_shadow_bitmap_exits(true, bitmap, enc, l1_read8, n)) {
        *rule = (enc >> 15) ? "VMCS shadowing: encoding bits 63:15 set"
                : write     ? "VMCS shadowing: vmcs12's VMWRITE bitmap bit = 1"
                            : "VMCS shadowing: vmcs12's VMREAD bitmap bit = 1";
        return true;
    }
    *rule = write ? "VMCS shadowing: vmcs12's VMWRITE bitmap bit = 0 (L0 writes L1's shadow VMCS)"
                  : "VMCS shadowing: vmcs12's VMREAD bitmap bit = 0 (L0 reads L1's shadow VMCS)";
    return false;
}

/* A field of the shadow VMCS at vmcs (L1-physical), masked to its width
 * as the hardware's shadow accesses are (vmcs_mem_read/vmcs_mem_write). */
uint64_t nested_shadow12_read(struct nested *n, uint64_t vmcs, enum vmcs_field f)
{
    return l1_phys_read(n, vmcs + vmcs_fields[f].offset, 8) & vmcs_width_mask(vmcs_fields[f].width);
}

void nested_shadow12_write(struct nested *n, uint64_t vmcs, enum vmcs_field f, uint64_t val)
{
    l1_phys_write(n, vmcs + vmcs_fields[f].offset, 8, val & vmcs_width_mask(vmcs_fields[f].width));
}

/* A fault of L2's instruction (a hardware exception): when vmcs12's
 * exception bitmap (and #PF error-code mask/match) intercepts it, the VM
 * exit to L1 the hardware takes instead (SDM 3C "Exception Bitmap"; for a
 * #PF the qualification is the linear address and CR2 is not loaded,
 * SDM 3C "Exit Qualification for ... Page-Fault Exceptions"), which
 * reflect.c writes and reflects; else delivered to L2 through vmcs02's
 * event injection, #PF with CR2 (SDM 3C "Event Injection"). */
void nested_inject_l2(struct nested *n, int vector, bool has_err, uint32_t err, uint64_t pf_linear)
{
    struct vmx_vmcs_view vw;
    const char *rule = "";
    uint32_t info = VMX_INTR_INFO_VALID | (uint32_t)vector | (3u << VMX_INTR_INFO_TYPE_SHIFT) |
                    (has_err ? VMX_INTR_INFO_ERROR_CODE : 0);
    vmcs12_view(n, &vw);
    if (vmx_exception_rule_applies(&vw, vector, err, &rule)) {
        n->l2_exception.pending = true;
        n->l2_exception.intr_info = info;
        n->l2_exception.error = has_err ? err : 0;
        n->l2_exception.qual = vector == EXC_PF ? pf_linear : 0;
        n->l2_exception.rule = rule;
        return;
    }
    if (vector == EXC_PF)
        n->c->cr2 = pf_linear;
    vmx_root_vmwrite(n->v, VMCS_vm_entry_intr_info_field, info);
    vmx_root_vmwrite(n->v, VMCS_vm_entry_exception_error_code, err);
}
