/* L1's VMX instructions, emulated by L0 exactly as the hardware performs
 * them (SDM 3C "VMX Instruction Reference", each instruction's "Operation"
 * in order) against L1's filtered capabilities: every #UD, #GP, #PF,
 * VMfailInvalid and VMfailValid number. The hardware already applied the
 * mode checks that precede the VM exit (CR0.PE, RFLAGS.VM, compatibility
 * mode); L0 applies the rest with L1's view of CR4.VMXE and VMX operation. */
#include "nested_internal.h"

#include "nvmx/ept.h"

/* VM-exit instruction-information field (SDM 3C "Format of the VM-Exit
 * Instruction-Information Field as Used for VMCLEAR, VMPTRLD, VMPTRST,
 * VMXON, XRSTORS, and XSAVES" and "... for VMREAD and VMWRITE") */
#define II_SCALE(i) ((i) & 3u)
#define II_REG1(i) (((i) >> 3) & 15u)
#define II_ASIZE(i) (((i) >> 7) & 7u)
#define II_IS_REG(i) (((i) >> 10) & 1u)
#define II_SEG(i) (((i) >> 15) & 7u)
#define II_INDEX(i) (((i) >> 18) & 15u)
#define II_NO_INDEX(i) (((i) >> 22) & 1u)
#define II_BASE(i) (((i) >> 23) & 15u)
#define II_NO_BASE(i) (((i) >> 27) & 1u)
#define II_REG2(i) (((i) >> 28) & 15u)

#define FL_ARITH_ALL (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

/* One emulation: the exit's facts, and whether it faulted. */
struct emu {
    struct nested *n;
    uint32_t info;
    uint64_t qual;
    bool faulted;
    const char *name;
    bool host_loaded; /* a VM-entry failure loaded L1's host state */
    /* L2's VMREAD/VMWRITE that vmcs12's VMCS shadowing leaves to L0
     * (shadow12.c): the VMCS it accesses is the one vmcs12's VMCS link
     * pointer references, its registers and RFLAGS are vmcs02's */
    bool l2;
    uint64_t pf_linear; /* the linear address of a #PF */
    /* for the emulate trace event */
    const char *result;
    uint32_t error;
    uint64_t operand;
    bool has_operand;
};

static uint64_t gpr(struct nested *n, unsigned r)
{
    return r == 4 ? vmx_root_vmread(n->v, VMCS_guest_rsp) : n->c->gpr[r & 15];
}

static void set_gpr(struct emu *e, unsigned r, uint64_t val)
{
    struct nested *n = e->n;
    if (r == 4 && e->l2)
        vmx_root_vmwrite(n->v, VMCS_guest_rsp, val);
    else if (r == 4)
        l0_write01(n, VMCS_guest_rsp, val);
    n->c->gpr[r & 15] = val;
}

static bool long64(const struct nested *n)
{
    return (n->c->efer & EFER_LMA) && (n->c->seg[SEG_CS].ar & AR_L);
}

static void fault(struct emu *e, int vector, bool has_err, uint32_t err)
{
    static const char *const names[32] = { [EXC_UD] = "#UD", [EXC_GP] = "#GP", [EXC_SS] = "#SS",
                                            [EXC_PF] = "#PF" };
    if (e->l2)
        nested_inject_l2(e->n, vector, has_err, err, e->pf_linear);
    else
        l0_inject_l1(e->n, vector, has_err, err);
    e->faulted = true;
    e->result = names[vector & 31] ? names[vector & 31] : "exception";
}

/* The memory operand's linear address (SDM 3C "Exit Qualification for VMX
 * Instructions": the displacement; the instruction-information field gives
 * the rest), with the segmentation checks of SDM 3A "Segment-Limit
 * Checking" and, in 64-bit mode, canonical addresses (#GP(0), #SS(0)). */
static bool operand_linear(struct emu *e, unsigned size, uint64_t *lin)
{
    struct nested *n = e->n;
    uint32_t i = e->info;
    uint64_t off = e->qual;
    if (!II_NO_BASE(i))
        off += gpr(n, II_BASE(i));
    if (!II_NO_INDEX(i))
        off += gpr(n, II_INDEX(i)) << II_SCALE(i);
    unsigned asize = II_ASIZE(i);
    if (asize == 0)
        off &= 0xffff;
    else if (asize == 1)
        off &= 0xffffffffull;
    unsigned seg = II_SEG(i);
    const struct seg_reg *s = &n->c->seg[seg < SEG_NSEGS ? seg : SEG_DS];
    int vec = seg == SEG_SS ? EXC_SS : EXC_GP;
    if (long64(n)) {
        uint64_t a = off + ((seg == SEG_FS || seg == SEG_GS) ? s->base : 0);
        if ((uint64_t)((int64_t)(a << 16) >> 16) != a ||
            (uint64_t)((int64_t)((a + size - 1) << 16) >> 16) != a + size - 1) {
            fault(e, vec, true, 0);
            return false;
        }
        *lin = a;
        return true;
    }
    if ((s->ar & AR_UNUSABLE) || off + size - 1 > s->limit) {
        fault(e, vec, true, 0);
        return false;
    }
    *lin = (s->base + off) & 0xffffffffull;
    return true;
}

/* Access through L1's paging to L1-physical memory (l1_phys_read/write:
 * L0's area is not L1's); a #PF goes to L1 with CR2 set (L0 sets CR2
 * itself: event injection does not, SDM 3C "Event Injection"). */
static bool access(struct emu *e, uint64_t lin, unsigned size, bool write, uint64_t *pa_out)
{
    struct nested *n = e->n;
    /* L2's paging gives L2-physical addresses, which vmcs12's EPT (EPT12,
     * whose entries are L1-physical) translates */
    bool ept12 = e->l2 && nested_ept12_on(n);
    struct ept_caps caps12 = { n->caps1.msr[VMX_MSR_EPT_VPID_CAP], n->maxphyaddr };
    for (unsigned k = 0; k < size; k++) {
        uint64_t pa;
        uint32_t pfec = 0;
        bool ept_failed = false;
        bool ok = ept12 ? cpu_lin_to_phys_ept(n->c, lin + k, write, &caps12,
                                              vmcs12_get(n, VMCS_ept_pointer), &pa, &pfec, &ept_failed)
                        : cpu_lin_to_phys(n->c, lin + k, write, &pa, &pfec);
        if (ept_failed) {
            l0_unsupported(n, "an EPT12 fault of the memory operand of L2's %s", e->name);
            e->faulted = true;
            return false;
        }
        if (!ok) {
            e->pf_linear = lin + k;
            if (!e->l2)
                n->c->cr2 = lin + k; /* for L2: if it is delivered (nested_inject_l2) */
            fault(e, EXC_PF, true, pfec);
            return false;
        }
        pa_out[k] = pa;
    }
    return true;
}

static bool read_mem(struct emu *e, unsigned size, uint64_t *val)
{
    uint64_t lin, pa[8];
    if (!operand_linear(e, size, &lin) || !access(e, lin, size, false, pa))
        return false;
    uint64_t v = 0;
    for (unsigned k = 0; k < size; k++)
        v |= l1_phys_read(e->n, pa[k], 1) << (8 * k);
    *val = v;
    e->operand = v;
    e->has_operand = true;
    return true;
}

static bool write_mem(struct emu *e, unsigned size, uint64_t val)
{
    uint64_t lin, pa[8];
    if (!operand_linear(e, size, &lin) || !access(e, lin, size, true, pa))
        return false;
    for (unsigned k = 0; k < size; k++)
        l1_phys_write(e->n, pa[k], 1, (val >> (8 * k)) & 0xff);
    return true;
}

/* ---- results (SDM 3C "Conventions"): RFLAGS in vmcs01's guest state
 * (vmcs02's for L2) ---- */

static void set_flags(struct emu *e, uint64_t set)
{
    struct nested *n = e->n;
    uint64_t fl = (vmx_root_vmread(n->v, VMCS_guest_rflags) & ~FL_ARITH_ALL) | set;
    if (e->l2)
        vmx_root_vmwrite(n->v, VMCS_guest_rflags, fl);
    else
        l0_write01(n, VMCS_guest_rflags, fl);
}

static void succeed(struct emu *e)
{
    set_flags(e, 0);
    e->result = "VMsucceed";
}

static void fail_invalid(struct emu *e)
{
    set_flags(e, FL_CF);
    e->result = "VMfailInvalid";
}

/* VMfail(ErrorNumber): VMfailValid with a current vmcs12, else
 * VMfailInvalid. */
static void fail(struct emu *e, enum vmx_insn_err err)
{
    struct nested *n = e->n;
    if (n->v12.ptr == NESTED_INVALID_PTR) {
        fail_invalid(e);
        return;
    }
    set_flags(e, FL_ZF);
    vmcs12_set(n, VMCS_vm_instruction_error, (uint64_t)err);
    nested_pkvm_put(n, VMCS_vm_instruction_error);
    e->result = "VMfailValid";
    e->error = (uint32_t)err;
}

/* #UD outside (L1's) VMX operation, #GP(0) at CPL > 0: the prologue of
 * every instruction but VMXON (SDM 3C "VMX Instruction Reference"). */
static bool common_checks(struct emu *e)
{
    /* L2 is in VMX (non-root) operation: the hardware checked the rest */
    if (!e->n->vmxon && !e->l2) {
        fault(e, EXC_UD, false, 0);
        return false;
    }
    if (e->n->c->cpl > 0) {
        fault(e, EXC_GP, true, 0);
        return false;
    }
    return true;
}

static bool ptr_ok(struct nested *n, uint64_t addr)
{
    struct vmx_vmcs_view vw;
    vmcs12_view(n, &vw);
    return (addr & 0xfff) == 0 && vmx_caps_pa_valid(&n->caps1, vw.maxphyaddr, addr);
}

static uint32_t revision(const struct nested *n)
{
    return (uint32_t)(n->caps1.msr[VMX_MSR_BASIC] & 0x7fffffffu);
}

static bool cr_fixed_ok(const struct nested *n, uint64_t cr0, uint64_t cr4)
{
    const uint64_t *m = n->caps1.msr;
    cr0 &= 0xffffffffull;
    return (cr0 & m[VMX_MSR_CR0_FIXED0]) == m[VMX_MSR_CR0_FIXED0] && (cr0 & ~m[VMX_MSR_CR0_FIXED1]) == 0 &&
           (cr4 & m[VMX_MSR_CR4_FIXED0]) == m[VMX_MSR_CR4_FIXED0] && (cr4 & ~m[VMX_MSR_CR4_FIXED1]) == 0;
}

/* SDM 3C "VMXON -- Enter VMX Operation" */
static void emu_vmxon(struct emu *e)
{
    struct nested *n = e->n;
    if (!(l0_l1_cr4(n) & CR4_VMXE))
        return fault(e, EXC_UD, false, 0);
    if (n->vmxon) {
        if (n->c->cpl > 0)
            return fault(e, EXC_GP, true, 0);
        return fail(e, VMX_INSN_ERR_VMXON_IN_ROOT);
    }
    if (n->c->cpl > 0 || !cr_fixed_ok(n, l0_l1_cr0(n), l0_l1_cr4(n)) || !(n->feature_control & FC_LOCK) ||
        !(n->feature_control & FC_VMX_OUTSIDE_SMX))
        return fault(e, EXC_GP, true, 0);
    uint64_t addr;
    if (!read_mem(e, 8, &addr))
        return;
    if (!ptr_ok(n, addr))
        return fail_invalid(e);
    uint32_t rev = (uint32_t)l1_phys_read(n, addr, 4);
    if ((rev & 0x7fffffffu) != revision(n) || (rev & VMCS_SHADOW_INDICATOR))
        return fail_invalid(e);
    n->vmxon = true;
    n->vmxon_ptr = addr;
    n->v12.ptr = NESTED_INVALID_PTR;
    succeed(e);
}

/* SDM 3C "VMXOFF -- Leave VMX Operation" */
static void emu_vmxoff(struct emu *e)
{
    struct nested *n = e->n;
    if (!common_checks(e))
        return;
    nested_pkvm_detach(n);
    vmcs12_flush(n);
    nested_vmcs02_drop_all(n);
    n->v12.ptr = NESTED_INVALID_PTR;
    n->vmxon_ptr = NESTED_INVALID_PTR;
    n->vmxon = false;
    nested_init_release(n); /* no longer blocked */
    succeed(e);
}

/* SDM 3C "VMCLEAR -- Clear Virtual-Machine Control Structure" */
static void emu_vmclear(struct emu *e)
{
    struct nested *n = e->n;
    uint64_t addr;
    if (!common_checks(e) || !read_mem(e, 8, &addr))
        return;
    if (!ptr_ok(n, addr))
        return fail(e, VMX_INSN_ERR_VMCLEAR_INVALID_ADDR);
    if (addr == n->vmxon_ptr)
        return fail(e, VMX_INSN_ERR_VMCLEAR_VMXON_PTR);
    if (addr == n->v12.ptr) {
        nested_pkvm_detach(n);
        vmcs12_flush(n);
        n->v12.ptr = NESTED_INVALID_PTR;
    }
    nested_vmcs02_drop(n, addr);
    vmcs12_clear_region(n, addr);
    succeed(e);
}

/* SDM 3C "VMPTRLD -- Load Pointer to Virtual-Machine Control Structure" */
static void emu_vmptrld(struct emu *e)
{
    struct nested *n = e->n;
    uint64_t addr;
    if (!common_checks(e) || !read_mem(e, 8, &addr))
        return;
    if (!ptr_ok(n, addr))
        return fail(e, VMX_INSN_ERR_VMPTRLD_INVALID_ADDR);
    if (addr == n->vmxon_ptr)
        return fail(e, VMX_INSN_ERR_VMPTRLD_VMXON_PTR);
    uint32_t rev = (uint32_t)l1_phys_read(n, addr, 4);
    bool shadowing = (vmx_caps_allowed1(&n->caps1, VMX_MSR_PROCBASED_CTLS) &
                      (uint32_t)PROC_ACTIVATE_SECONDARY_CONTROLS) &&
                     (vmx_caps_allowed1(&n->caps1, VMX_MSR_PROCBASED_CTLS2) & (uint32_t)PROC2_VMCS_SHADOWING);
    if ((rev & 0x7fffffffu) != revision(n) || ((rev & VMCS_SHADOW_INDICATOR) && !shadowing))
        return fail(e, VMX_INSN_ERR_VMPTRLD_BAD_REVISION);
    if (addr != n->v12.ptr) {
        nested_pkvm_detach(n);
        vmcs12_flush(n);
        vmcs12_load(n, addr);
        nested_pkvm_attach(n);
    }
    succeed(e);
}

/* SDM 3C "VMPTRST -- Store Pointer to Virtual-Machine Control Structure" */
static void emu_vmptrst(struct emu *e)
{
    if (!common_checks(e) || !write_mem(e, 8, e->n->v12.ptr))
        return;
    succeed(e);
}

/* The VMCS field encoding of a VMREAD/VMWRITE (register operand 2, at the
 * operand size: 32 bits outside 64-bit mode), of the exit in the current
 * VMCS. */
uint64_t nested_vmrw_encoding(struct nested *n)
{
    uint64_t enc = gpr(n, II_REG2((uint32_t)vmx_root_vmread(n->v, VMCS_vmx_instruction_info)));
    return long64(n) ? enc : (uint32_t)enc;
}

static int field_of(struct emu *e, bool *high)
{
    uint64_t enc = gpr(e->n, II_REG2(e->info));
    if (!long64(e->n))
        enc = (uint32_t)enc;
    e->operand = enc;
    e->has_operand = true;
    return vmcs_field_lookup(enc, high);
}

/* The VMCS a VMREAD/VMWRITE accesses: L1's current vmcs12 (L0's cache),
 * or for L2 the shadow VMCS in L1's memory (NESTED_INVALID_PTR: none). */
static uint64_t target_vmcs(const struct emu *e)
{
    return e->l2 ? vmcs12_get(e->n, VMCS_vmcs_link_pointer) : e->n->v12.ptr;
}

static uint64_t target_get(struct emu *e, enum vmcs_field f)
{
    if (e->l2)
        return nested_shadow12_read(e->n, target_vmcs(e), f);
    return vmcs12_get(e->n, f);
}

static void target_set(struct emu *e, enum vmcs_field f, uint64_t val)
{
    if (e->l2)
        return nested_shadow12_write(e->n, target_vmcs(e), f, val);
    vmcs12_set(e->n, f, val);
    nested_pkvm_put(e->n, f);
}

/* SDM 3C "VMREAD -- Read Field from Virtual-Machine Control Structure" */
static void emu_vmread(struct emu *e)
{
    struct nested *n = e->n;
    if (!common_checks(e))
        return;
    if (target_vmcs(e) == NESTED_INVALID_PTR)
        return fail_invalid(e);
    bool high = false;
    int f = field_of(e, &high);
    if (f < 0)
        return fail(e, VMX_INSN_ERR_UNSUPPORTED_VMCS_COMPONENT);
    unsigned opsize = long64(n) ? 8 : 4;
    uint64_t val = target_get(e, (enum vmcs_field)f);
    if (high)
        val >>= 32;
    if (opsize == 4)
        val &= 0xffffffffull;
    if (II_IS_REG(e->info))
        set_gpr(e, II_REG1(e->info), val);
    else if (!write_mem(e, opsize, val))
        return;
    succeed(e);
}

/* SDM 3C "VMWRITE -- Write Field to Virtual-Machine Control Structure" */
static void emu_vmwrite(struct emu *e)
{
    struct nested *n = e->n;
    if (!common_checks(e))
        return;
    if (target_vmcs(e) == NESTED_INVALID_PTR)
        return fail_invalid(e);
    unsigned opsize = long64(n) ? 8 : 4;
    uint64_t val;
    if (II_IS_REG(e->info))
        val = gpr(n, II_REG1(e->info));
    else if (!read_mem(e, opsize, &val))
        return;
    if (opsize == 4)
        val &= 0xffffffffull;
    bool high = false;
    int f = field_of(e, &high);
    if (f < 0)
        return fail(e, VMX_INSN_ERR_UNSUPPORTED_VMCS_COMPONENT);
    /* SDM 3C "Miscellaneous Data": VM-exit information fields are
     * read-only unless IA32_VMX_MISC[29] (of L1's view). */
    if (VMCS_ENC_TYPE(vmcs_fields[f].encoding) == VMCS_ENC_TYPE_RO_DATA &&
        !(n->caps1.msr[VMX_MSR_MISC] & (1ull << 29)))
        return fail(e, VMX_INSN_ERR_VMWRITE_READONLY_COMPONENT);
    if (high)
        val = (target_get(e, (enum vmcs_field)f) & 0xffffffffull) | ((val & 0xffffffffull) << 32);
    target_set(e, (enum vmcs_field)f, val);
    succeed(e);
}

/* ---- INVEPT / INVVPID (SDM 3C "INVEPT -- Invalidate Translations Derived
 * from EPT", "INVVPID -- Invalidate Translations Based on VPID") ---- */

static bool offers(const struct nested *n, uint32_t proc2, uint64_t cap)
{
    return (vmx_caps_allowed1(&n->caps1, VMX_MSR_PROCBASED_CTLS) &
            (uint32_t)PROC_ACTIVATE_SECONDARY_CONTROLS) &&
           (vmx_caps_allowed1(&n->caps1, VMX_MSR_PROCBASED_CTLS2) & proc2) &&
           (n->caps1.msr[VMX_MSR_EPT_VPID_CAP] & cap);
}

/* "#UD if the processor does not support" the instruction (L1's
 * capabilities) or outside VMX operation, "#GP(0) if CPL > 0", then the
 * type from the register operand (64 bits in 64-bit mode, else 32). The
 * hardware checked the mode and the memory operand before the exit. */
static bool inv_prologue(struct emu *e, bool supported, uint64_t *type)
{
    if (!supported)
        return fault(e, EXC_UD, false, 0), false;
    if (!common_checks(e))
        return false;
    *type = gpr(e->n, II_REG2(e->info));
    if (!long64(e->n))
        *type = (uint32_t)*type;
    e->operand = *type;
    e->has_operand = true;
    return true;
}

/* The 128-bit descriptor (memory operand): two 8-byte reads. */
static bool read_desc(struct emu *e, uint64_t d[2])
{
    uint64_t lin, pa[8];
    if (!operand_linear(e, 16, &lin))
        return false;
    for (unsigned h = 0; h < 2; h++) {
        if (!access(e, lin + 8 * h, 8, false, pa))
            return false;
        d[h] = 0;
        for (unsigned k = 0; k < 8; k++)
            d[h] |= l1_phys_read(e->n, pa[k], 1) << (8 * k);
    }
    return true;
}

static void emu_invept(struct emu *e)
{
    struct nested *n = e->n;
    uint64_t cap = n->caps1.msr[VMX_MSR_EPT_VPID_CAP], type, d[2];
    if (!inv_prologue(e, offers(n, (uint32_t)PROC2_ENABLE_EPT, EPT_CAP_BIT(INVEPT)), &type))
        return;
    /* "IF IA32_VMX_EPT_VPID_CAP MSR indicates that processor does not
     * support INVEPT_TYPE THEN VMfail(Invalid operand to INVEPT/INVVPID)" */
    bool single = type == 1 && (cap & EPT_CAP_BIT(INVEPT_SINGLE_CONTEXT));
    bool all = type == 2 && (cap & EPT_CAP_BIT(INVEPT_ALL_CONTEXT));
    if (!single && !all)
        return fail(e, VMX_INSN_ERR_INVALID_INVEPT_INVVPID_OPERAND);
    if (!read_desc(e, d))
        return;
    /* single-context: "IF VM entry with the 'enable EPT' VM execution
     * control set to 1 would fail due to the EPTP value THEN VMfail" */
    struct ept_caps caps12 = { cap, n->maxphyaddr };
    if (single && ept_eptp_check(&caps12, d[0]))
        return fail(e, VMX_INSN_ERR_INVALID_INVEPT_INVVPID_OPERAND);
    nested_ept02_invept(n, all, d[0]);
    succeed(e);
}

static bool canonical48(uint64_t a) { return (uint64_t)((int64_t)(a << 16) >> 16) == a; }

static void emu_invvpid(struct emu *e)
{
    struct nested *n = e->n;
    uint64_t cap = n->caps1.msr[VMX_MSR_EPT_VPID_CAP], type, d[2];
    if (!inv_prologue(e, offers(n, (uint32_t)PROC2_ENABLE_VPID, EPT_CAP_BIT(INVVPID)), &type))
        return;
    /* types 0-3 are IA32_VMX_EPT_VPID_CAP bits 40-43 */
    if (type > 3 || !(cap & (1ull << (EPT_CAP_INVVPID_INDIVIDUAL_ADDRESS + type))))
        return fail(e, VMX_INSN_ERR_INVALID_INVEPT_INVVPID_OPERAND);
    if (!read_desc(e, d))
        return;
    /* "IF INVVPID_DESC[63:16] != 0 THEN VMfail"; VPID 0 is invalid but for
     * all-context; an individual address must be canonical */
    uint16_t vpid = (uint16_t)d[0];
    if (d[0] >> 16 || (type != 2 && vpid == 0) || (type == 0 && !canonical48(d[1])))
        return fail(e, VMX_INSN_ERR_INVALID_INVEPT_INVVPID_OPERAND);
    static const enum vmx_invvpid_kind kinds[4] = { VMX_INVVPID_ADDRESS, VMX_INVVPID_CONTEXT,
                                                    VMX_INVVPID_ALL_BUT_0, VMX_INVVPID_CONTEXT };
    /* type 3 keeps global translations: invalidating them too is allowed */
    nested_vpid02_invvpid(n, kinds[type], vpid, d[1]);
    succeed(e);
}

static const char *insn_name(uint32_t reason)
{
    switch (reason) {
    case VMX_EXIT_vmxon: return "vmxon";
    case VMX_EXIT_vmxoff: return "vmxoff";
    case VMX_EXIT_vmclear: return "vmclear";
    case VMX_EXIT_vmptrld: return "vmptrld";
    case VMX_EXIT_vmptrst: return "vmptrst";
    case VMX_EXIT_vmread: return "vmread";
    case VMX_EXIT_vmwrite: return "vmwrite";
    case VMX_EXIT_vmlaunch: return "vmlaunch";
    case VMX_EXIT_vmresume: return "vmresume";
    case VMX_EXIT_vmcall: return "vmcall";
    case VMX_EXIT_invept: return "invept";
    case VMX_EXIT_invvpid: return "invvpid";
    default: return "vmfunc";
    }
}

/* One emulate event: L1's instruction, its operand and its result. */
static void trace_emulate(struct emu *e)
{
    if (!vmx_trace_enabled(e->n->v))
        return;
    struct trace_event ev = {
        .type = TRACE_EV_emulate,
        .level = e->l2 ? e->n->lv.running : 1,
        .emulate = {
            .insn = e->name,
            .operand = { e->has_operand, e->operand },
            .result = e->result,
            .error = e->error,
        },
    };
    vmx_trace_emit(e->n->v, &ev);
}

/* Enter L2: vmcs02 is built from vmcs01 and vmcs12 and entered. Each
 * vmcs12 has its vmcs02 in the pool (vmcs02_pool.c); one new to the pool
 * takes a free or the least recently used slot and starts it afresh
 * (VMCLEAR, full merge), one already there merges the fields that changed
 * since its last entry. */
static void enter_l2(struct nested *n, bool launch)
{
    struct vmx *v = n->v;
    unsigned k = n->cur02; /* pkvm: the vmcs02 VMPTRLD attached, ordinary */
    if (!n->pkvm) {
        bool fresh;
        uint64_t evicted;
        k = vmcs02_pool_get(&n->pool, n->v12.ptr, &fresh, &evicted);
        if (fresh)
            vmx_root_vmclear(v, l0_vmcs02_page(n, k));
        n->cur02 = k;
    }
    vmx_root_vmptrld(v, l0_vmcs02_page(n, k));
    n->slot_vpid02 = n->vpid01 ? (uint16_t)(n->vpid01 + 1 + k) : 0;
    vmx_set_level(v, nested_levels_enter(n));
    nested_merge(n, !n->pool.slot[k].started);
    n->pool.slot[k].started = true;
    memcpy(n->pool.slot[k].merged, n->v12.f, sizeof n->v12.f);
    nested_vpid_emulated_entry(n, n->slot_vpid02, &n->pool.slot[k].last_vpid12);
    n->in_l2 = true;
    nested_init_release(n);
    enum vmx_insn_err err = vmx_root_enter(v, !vmx_root_launched(v));
    if (err != VMX_INSN_OK) {
        l0_unsupported(n, "VM entry on vmcs02 failed with error %u (%s) after vmcs12 passed the checks",
                       (unsigned)err, vmx_insn_err_text(err));
        return;
    }
    if (launch)
        n->v12.launched = true;
}

/* SDM 3C "VMLAUNCH/VMRESUME -- Launch/Resume Virtual Machine": the
 * instruction's checks, then the VM-entry checks of src/vmx on the cached
 * vmcs12 against L1's capabilities. */
static void emu_vmentry(struct emu *e, bool launch)
{
    struct nested *n = e->n;
    if (!common_checks(e))
        return;
    if (n->v12.ptr == NESTED_INVALID_PTR)
        return fail_invalid(e);
    /* SDM 3C "Basic VM-Entry Checks": a current VMCS that is a shadow VMCS
     * gives VMfailInvalid (VMCS shadowing offered to L1, shadow12.c) */
    if (n->v12.shadow)
        return fail_invalid(e);
    if (vmx_root_vmread(n->v, VMCS_guest_interruptibility_info) & VMX_INTERRUPTIBILITY_MOV_SS)
        return fail(e, VMX_INSN_ERR_ENTRY_EVENTS_BLOCKED_BY_MOV_SS);
    if (launch && n->v12.launched)
        return fail(e, VMX_INSN_ERR_VMLAUNCH_NONCLEAR_VMCS);
    if (!launch && !n->v12.launched)
        return fail(e, VMX_INSN_ERR_VMRESUME_NONLAUNCHED_VMCS);
    struct vmx_vmcs_view vw;
    struct vmx_check_result r;
    nested_pkvm_pull(n); /* pkvm: the shadowed fields, from vmcs02 */
    vmcs12_view(n, &vw);
    vmx_check_vmcs(&vw, launch, &r);
    if (r.kind == VMX_CHECK_VMFAIL)
        return fail(e, (enum vmx_insn_err)r.error);
    if (r.kind == VMX_CHECK_ENTRY_FAILURE) {
        e->result = "VM-entry failure";
        trace_emulate(e);
        nested_entry_fail_to_l1(n, VMX_EXIT_entry_fail_guest_state | VMX_EXIT_REASON_ENTRY_FAILURE, r.qual);
        e->host_loaded = true;
        return;
    }
    e->result = "VM entry";
    trace_emulate(e);
    enter_l2(n, launch);
}

/* SDM 3C "VMCALL -- Call to VM Monitor": L1 is in (its) VMX root
 * operation, without an SMM monitor: #UD outside VMX operation or in
 * virtual-8086 / compatibility mode, #GP(0) at CPL > 0, else VMfail. L0
 * offers L1 no hypercalls. */
static void emu_vmcall(struct emu *e)
{
    struct nested *n = e->n;
    if (!n->vmxon || (vmx_root_vmread(n->v, VMCS_guest_rflags) & FL_VM) ||
        ((n->c->efer & EFER_LMA) && !(n->c->seg[SEG_CS].ar & AR_L)))
        return fault(e, EXC_UD, false, 0);
    if (n->c->cpl > 0)
        return fault(e, EXC_GP, true, 0);
    fail(e, VMX_INSN_ERR_VMCALL_IN_ROOT);
}

/* An emulation of the instruction of the exit in the current VMCS. */
static struct emu emu_of(struct nested *n, uint32_t reason, bool l2)
{
    return (struct emu){
        .n = n,
        .info = (uint32_t)vmx_root_vmread(n->v, VMCS_vmx_instruction_info),
        .qual = vmx_root_vmread(n->v, VMCS_exit_qualification),
        .name = insn_name(reason),
        .l2 = l2,
    };
}

/* VMFUNC is not offered to L1 (caps.c): an invalid opcode for it (SDM 3C
 * "VMFUNC": #UD "if the processor does not support"), as for the hardware
 * model. */
void nested_emulate_vmx(struct nested *n, uint32_t reason)
{
    struct emu e = emu_of(n, reason, false);
    bool advance = true;
    n->stats.emulated++;
    /* L1 may have written shadowed fields without an exit. */
    if (reason != VMX_EXIT_vmread && reason != VMX_EXIT_vmwrite)
        nested_shadow_store(n);
    switch (reason) {
    case VMX_EXIT_vmxon: emu_vmxon(&e); break;
    case VMX_EXIT_vmxoff: emu_vmxoff(&e); break;
    case VMX_EXIT_vmclear: emu_vmclear(&e); break;
    case VMX_EXIT_vmptrld: emu_vmptrld(&e); break;
    case VMX_EXIT_vmptrst: emu_vmptrst(&e); break;
    case VMX_EXIT_vmcall: emu_vmcall(&e); break;
    case VMX_EXIT_vmread: emu_vmread(&e); break;
    case VMX_EXIT_vmwrite: emu_vmwrite(&e); break;
    case VMX_EXIT_invept: emu_invept(&e); break;
    case VMX_EXIT_invvpid: emu_invvpid(&e); break;
    case VMX_EXIT_vmlaunch:
    case VMX_EXIT_vmresume:
        emu_vmentry(&e, reason == VMX_EXIT_vmlaunch);
        if (n->in_l2 || n->stop != CPU_STOP_NONE)
            return; /* L2 runs (or its entry already exited to L0) */
        if (e.host_loaded)
            advance = false;
        break;
    default:
        fault(&e, EXC_UD, false, 0);
        break;
    }
    if (!e.host_loaded)
        trace_emulate(&e);
    /* ... and reads what L0 wrote to vmcs12 from the shadow VMCS. */
    if (e.host_loaded || reason == VMX_EXIT_vmptrld || reason == VMX_EXIT_vmclear ||
        reason == VMX_EXIT_vmxoff || reason == VMX_EXIT_vmxon) {
        nested_shadow_load(n);
    } else if (e.result && !strcmp(e.result, "VMfailValid")) {
        n->nlog = 0;
        nested_shadow_load_logged(n);
    }
    if (e.faulted)
        advance = false;
    if (advance)
        l0_skip_insn(n);
    l0_enter_l1(n);
}

/* L2's VMREAD or VMWRITE that vmcs12's VMCS shadowing leaves to L0
 * (shadow12.c): performed on the shadow VMCS as the hardware would after
 * its VM-exit test (SDM 3C "VMREAD", "VMWRITE" Operation), with L2's
 * registers, RFLAGS and faults; L2's RIP moves past it unless it faulted. */
void nested_emulate_l2_vmrw(struct nested *n, uint32_t reason)
{
    struct emu e = emu_of(n, reason, true);
    if (reason == VMX_EXIT_vmread)
        emu_vmread(&e);
    else
        emu_vmwrite(&e);
    trace_emulate(&e);
    if (!e.faulted)
        l0_skip_l2_insn(n);
}
