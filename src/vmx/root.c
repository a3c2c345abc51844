/* The root-mode API (include/nvmx/vmx.h): what a host written in C does to
 * the hardware -- VMXON, VMCLEAR, VMPTRLD, VMREAD, VMWRITE, VM entry -- and
 * the native-host hook VM exits call. Each operation charges the cost
 * class of the instruction it stands for (configs/cost). */
#include "vmx_internal.h"

static void charge(struct vmx *v, enum cost_class k)
{
    struct cpu *c = v->cpu;
    if (c->cost)
        c->cycles += c->cost->cycles[k];
}

void vmx_set_native_host(struct vmx *v, vmx_native_host_fn fn, void *ctx)
{
    v->native_fn = fn;
    v->native_ctx = fn ? ctx : NULL;
}

void vmx_set_level(struct vmx *v, int level) { v->level = level > 0 ? level : 1; }

void vmx_root_vmxon(struct vmx *v, uint64_t pa)
{
    charge(v, COST_vmxon);
    v->current_vmcs = VMX_INVALID_PTR;
    v->vmxon_ptr = pa;
    v->in_vmx_operation = true;
}

/* The root slots: ordinary VMCSs a native host loaded stay active in the
 * processor (SDM 3C "VMCS Status": "a logical processor may maintain a
 * number of VMCSs that are active"), so switching between them moves no
 * memory: v->vmcs points at the slot's cache. VMCLEAR writes one back. A
 * shadow VMCS never takes a slot: in non-root operation the hardware reads
 * and writes it in memory. */
#define NSLOTS (sizeof(((struct vmx *)0)->root_slots) / sizeof(((struct vmx *)0)->root_slots[0]))

static struct vmx_root_slot *slot_of(struct vmx *v, uint64_t pa)
{
    for (unsigned i = 0; i < NSLOTS; i++)
        if (v->root_slots[i].pa == pa)
            return &v->root_slots[i];
    return NULL;
}

/* Make the current VMCS inactive: kept in its slot, or back to memory
 * (unless nothing of it changed since it was loaded: memory holds it). */
static void put_current(struct vmx *v)
{
    struct vmx_root_slot *s = v->current_in_slot ? slot_of(v, v->current_vmcs) : NULL;
    if (s)
        s->launch_state = v->launch_state;
    else if (v->vmcs_written || v->launch_state != v->loaded_launch_state)
        vmcs_flush(v);
    v->current_in_slot = false;
    v->vmcs = &v->own;
}

/* SDM 3C "VMCLEAR": the VMCS's data goes to memory (its slot is freed)
 * and its launch state becomes clear. */
void vmx_root_vmclear(struct vmx *v, uint64_t pa)
{
    charge(v, COST_vmclear);
    struct vmx_root_slot *s = slot_of(v, pa);
    if (pa == v->current_vmcs) {
        put_current(v);
        v->current_vmcs = VMX_INVALID_PTR;
    }
    if (s) {
        uint64_t cur = v->current_vmcs;
        struct vmcs_cache *keep = v->vmcs;
        uint32_t keep_state = v->launch_state;
        v->current_vmcs = pa;
        v->vmcs = &s->vmcs;
        v->launch_state = s->launch_state;
        vmcs_flush(v);
        v->current_vmcs = cur;
        v->vmcs = keep;
        v->launch_state = keep_state;
        s->pa = VMX_INVALID_PTR;
    }
    vmcs_mem_clear(v, pa);
}

/* SDM 3C "VMPTRLD": the current VMCS becomes inactive-but-kept (or goes to
 * memory) and the VMCS at pa becomes current, from its slot or memory;
 * loading the current VMCS again keeps the cached copy. */
void vmx_root_vmptrld(struct vmx *v, uint64_t pa)
{
    charge(v, COST_vmptrld);
    if (pa == v->current_vmcs)
        return;
    put_current(v);
    struct vmx_root_slot *s = slot_of(v, pa);
    if (s) {
        v->vmcs = &s->vmcs;
        v->launch_state = s->launch_state;
        v->current_vmcs = pa;
        v->shadow_vmcs_current = false;
        v->current_in_slot = true;
        return;
    }
    /* load into a free slot's cache, which it keeps unless it is a shadow */
    s = slot_of(v, VMX_INVALID_PTR);
    if (s)
        v->vmcs = &s->vmcs;
    vmcs_load(v, pa);
    v->loaded_launch_state = v->launch_state;
    if (!s || v->shadow_vmcs_current)
        return;
    s->pa = pa;
    v->current_in_slot = true;
}

const struct vmx_caps *vmx_get_caps(const struct vmx *v) { return &v->caps; }

uint64_t vmx_root_current(const struct vmx *v) { return v->current_vmcs; }

uint64_t vmx_root_vmread(struct vmx *v, enum vmcs_field f)
{
    charge(v, COST_vmread);
    return vmcs_get(v, f);
}

void vmx_root_vmwrite(struct vmx *v, enum vmcs_field f, uint64_t val)
{
    charge(v, COST_vmwrite);
    vmcs_set(v, f, val);
}

uint64_t vmx_root_peek(const struct vmx *v, enum vmcs_field f) { return vmcs_get(v, f); }

bool vmx_root_launched(const struct vmx *v) { return v->launch_state == VMCS_STATE_LAUNCHED; }

/* SDM 3C "VMLAUNCH/VMRESUME": the launch-state checks of the instruction,
 * then VM entry; the VM-entry cost stands for the instruction. */
enum vmx_insn_err vmx_root_enter(struct vmx *v, bool launch)
{
    struct cpu *c = v->cpu;
    enum vmx_insn_err err = VMX_INSN_OK;
    charge(v, COST_vm_entry);
    if (launch && v->launch_state != VMCS_STATE_CLEAR)
        err = VMX_INSN_ERR_VMLAUNCH_NONCLEAR_VMCS;
    else if (!launch && v->launch_state != VMCS_STATE_LAUNCHED)
        err = VMX_INSN_ERR_VMRESUME_NONLAUNCHED_VMCS;
    else
        err = vmx_vm_entry(c, v, launch);
    if (err != VMX_INSN_OK)
        vmcs_set(v, VMCS_vm_instruction_error, (uint64_t)err);
    return err;
}

void vmx_root_save_guest(struct vmx *v)
{
    struct cpu *c = v->cpu;
    struct vmx_exit e = { 0 };
    vmx_save_guest_state(c, v, &e);
    vmcs_set(v, VMCS_guest_ia32_efer, c->efer);
    vmcs_set(v, VMCS_guest_ia32_pat, c->pat);
}

/* INVEPT / INVVPID of a native host (SDM 3C "INVEPT -- Invalidate
 * Translations Derived from EPT", "INVVPID -- Invalidate Translations Based
 * on VPID"): the invalidation alone, costed as the instruction. The host
 * passes operands it knows to be valid. */
void vmx_root_invept(struct vmx *v, bool all_contexts, uint64_t eptp)
{
    charge(v, COST_invept);
    if (all_contexts)
        cpu_tlb_flush_all_ept(v->cpu);
    else
        cpu_tlb_flush_ept(v->cpu, eptp);
}

void vmx_root_invvpid(struct vmx *v, enum vmx_invvpid_kind kind, uint16_t vpid, uint64_t lin)
{
    charge(v, COST_invvpid);
    switch (kind) {
    case VMX_INVVPID_ADDRESS: cpu_tlb_flush_vpid_page(v->cpu, vpid, lin); break;
    case VMX_INVVPID_CONTEXT: cpu_tlb_flush_vpid(v->cpu, vpid); break;
    case VMX_INVVPID_ALL_BUT_0: cpu_tlb_flush_vpids_but_0(v->cpu); break;
    }
}
