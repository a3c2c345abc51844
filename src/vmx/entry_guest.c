/* SDM 3C "Checks on the Guest-State Area", in the SDM's order: control and
 * debug registers and MSRs, segment registers, descriptor-table registers,
 * RIP and RFLAGS, non-register state and the VMCS link pointer. A failure is
 * a VM-entry failure (exit reason 33 with bit 31) with the qualification of
 * SDM 3C Table "Exit Qualification for VM-Entry Failure". */
#include "entry_internal.h"

#define Q0 VMX_ENTRY_QUAL_DEFAULT
#define OK VMX_ENTRY_GUEST_OK

#define EFER_RESERVED (~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE))
/* IA32_DEBUGCTL: the bits reserved on this CPU -- every bit but those it
 * implements (include/nvmx/cpu.h; SDM 3C "Checks on Guest Control
 * Registers, Debug Registers, and MSRs", SDM 3B "IA32_DEBUGCTL MSR"): the
 * value must be one WRMSR would accept, since VM entry loads it. LBR
 * exists when the model has an LBR stack (the view's lbr). */
#define DEBUGCTL_RESERVED(vw) (~(DEBUGCTL_IMPLEMENTED | ((vw)->lbr ? DEBUGCTL_LBR : 0)))
/* RFLAGS bits 63:22, 15, 5 and 3 are reserved; bit 1 must be 1. */
#define RFLAGS_RESERVED (~0x3fffffull | (1ull << 15) | (1ull << 5) | (1ull << 3))
/* Pending debug exceptions: B3-B0 (3:0), enabled breakpoint (12), BS (14),
 * RTM (16). Bits 11:4, 13, 15 and 63:17 are reserved. */
#define PENDING_DBG_BS (1ull << 14)
#define PENDING_DBG_RTM (1ull << 16)
#define PENDING_DBG_RESERVED (~0x1500full)
/* Segment access rights bits 11:8 and 31:17 are reserved. */
#define AR_RESERVED 0xfffe0f00u

/* One guest segment register from the VMCS. */
struct gseg {
    const char *name;
    uint16_t sel;
    uint64_t base;
    uint32_t limit, ar;
};

enum { G_ES, G_CS, G_SS, G_DS, G_FS, G_GS, G_LDTR, G_TR, G_NSEGS };
_Static_assert(VMCS_guest_tr_selector - VMCS_guest_es_selector == G_TR &&
                   VMCS_guest_tr_base - VMCS_guest_es_base == G_TR &&
                   VMCS_guest_tr_limit - VMCS_guest_es_limit == G_TR &&
                   VMCS_guest_tr_ar_bytes - VMCS_guest_es_ar_bytes == G_TR,
               "guest segment fields are in ES..TR order in vmcs_fields.def");

static void read_segs(const struct vmx_vmcs_view *v, struct gseg s[G_NSEGS])
{
    static const char *const names[G_NSEGS] = { "ES", "CS", "SS", "DS", "FS", "GS", "LDTR", "TR" };
    /* The guest selector/base/limit/AR fields are in ES..TR order in the
     * field list, one stride apart. */
    for (unsigned i = 0; i < G_NSEGS; i++) {
        s[i].name = names[i];
        s[i].sel = (uint16_t)vmcs_get(v, (enum vmcs_field)(VMCS_guest_es_selector + i));
        s[i].base = vmcs_get(v, (enum vmcs_field)(VMCS_guest_es_base + i));
        s[i].limit = (uint32_t)vmcs_get(v, (enum vmcs_field)(VMCS_guest_es_limit + i));
        s[i].ar = (uint32_t)vmcs_get(v, (enum vmcs_field)(VMCS_guest_es_ar_bytes + i));
    }
}

static inline unsigned ar_type(uint32_t ar) { return ar & AR_TYPE_MASK; }
static inline unsigned ar_dpl(uint32_t ar) { return (ar & AR_DPL_MASK) >> AR_DPL_SHIFT; }
static inline bool usable(const struct gseg *s) { return !(s->ar & AR_UNUSABLE); }

/* "If any bit in the limit field in the range 11:0 is 0, G must be 0. If
 * any bit in the limit field in the range 31:20 is 1, G must be 1." */
static bool granularity_ok(const struct gseg *s)
{
    if ((s->limit & 0xfff) != 0xfff && (s->ar & AR_G))
        return false;
    if ((s->limit >> 20) != 0 && !(s->ar & AR_G))
        return false;
    return true;
}

/* SDM 3C "Checks on Guest Control Registers, Debug Registers, and MSRs" */
static enum vmx_entry_qual check_guest_regs(struct entry_ck *ck)
{
    const struct vmx_vmcs_view *v = ck->vw;
    const uint64_t *caps = v->caps->msr;
    uint64_t cr0 = vmcs_get(v, VMCS_guest_cr0), cr4 = vmcs_get(v, VMCS_guest_cr4);
    uint64_t cr3 = vmcs_get(v, VMCS_guest_cr3);
    /* "The CR0 field must not set any bit to a value not supported in VMX
     * operation ... (PE and PG are not checked if 'unrestricted guest' is
     * 1)." "If bit 31 in the CR0 field (corresponding to PG) is 1, bit 0 in
     * that field (PE) must also be 1." */
    uint64_t f0 = caps[VMX_MSR_CR0_FIXED0];
    if (ck->unrestricted)
        f0 &= ~(CR0_PE | CR0_PG);
    GUEST_CHECK(ck, entry_fixed_ok(cr0, f0, caps[VMX_MSR_CR0_FIXED1]), Q0, "guest CR0 vs IA32_VMX_CR0_FIXED0/1",
                "guest_cr0 0x%llx", (unsigned long long)cr0);
    GUEST_CHECK(ck, !(cr0 & CR0_PG) || (cr0 & CR0_PE), Q0, "guest CR0.PG requires CR0.PE", "guest_cr0 0x%llx",
                (unsigned long long)cr0);
    GUEST_CHECK(ck, entry_fixed_ok(cr4, caps[VMX_MSR_CR4_FIXED0], caps[VMX_MSR_CR4_FIXED1]), Q0,
                "guest CR4 vs IA32_VMX_CR4_FIXED0/1", "guest_cr4 0x%llx", (unsigned long long)cr4);
    /* "If the 'load debug controls' VM-entry control is 1, bits reserved in
     * the IA32_DEBUGCTL MSR must be 0 in the field for that register." */
    if (ck->entry_ctls & ENTRY_LOAD_DEBUG_CONTROLS) {
        uint64_t d = vmcs_get(v, VMCS_guest_ia32_debugctl);
        GUEST_CHECK(ck, (d & DEBUGCTL_RESERVED(ck->vw)) == 0, Q0, "guest IA32_DEBUGCTL reserved bits 0",
                    "guest_ia32_debugctl 0x%llx", (unsigned long long)d);
    }
    /* "If the 'IA-32e mode guest' VM-entry control is 1, bit 31 in the CR0
     * field (PG) and bit 5 in the CR4 field (PAE) must each be 1. If the
     * 'IA-32e mode guest' VM-entry control is 0, bit 17 in the CR4 field
     * (PCIDE) must be 0." */
    if (ck->ia32e_guest) {
        GUEST_CHECK(ck, (cr0 & CR0_PG) && (cr4 & CR4_PAE), Q0, "IA-32e mode guest requires CR0.PG and CR4.PAE",
                    "guest_cr0 0x%llx guest_cr4 0x%llx", (unsigned long long)cr0, (unsigned long long)cr4);
    } else {
        GUEST_CHECK(ck, !(cr4 & CR4_PCIDE), Q0, "guest CR4.PCIDE requires IA-32e mode guest", "guest_cr4 0x%llx",
                    (unsigned long long)cr4);
    }
    /* "The CR3 field must be such that bits 63:52 and bits in the range
     * 51:32 beyond the processor's physical-address width are 0." */
    GUEST_CHECK(ck, (cr3 >> ck->maxphyaddr) == 0, Q0, "guest CR3 within physical-address width",
                "guest_cr3 0x%llx maxphyaddr %u", (unsigned long long)cr3, ck->maxphyaddr);
    /* "If the 'load debug controls' VM-entry control is 1, bits 63:32 in the
     * DR7 field must be 0." */
    if (ck->entry_ctls & ENTRY_LOAD_DEBUG_CONTROLS) {
        uint64_t dr7 = vmcs_get(v, VMCS_guest_dr7);
        GUEST_CHECK(ck, (dr7 >> 32) == 0, Q0, "guest DR7 bits 63:32 are 0", "guest_dr7 0x%llx",
                    (unsigned long long)dr7);
    }
    /* "The IA32_SYSENTER_ESP field and the IA32_SYSENTER_EIP field must each
     * contain a canonical address." */
    uint64_t esp = vmcs_get(v, VMCS_guest_sysenter_esp), eip = vmcs_get(v, VMCS_guest_sysenter_eip);
    GUEST_CHECK(ck, entry_canonical(esp), Q0, "guest IA32_SYSENTER_ESP canonical", "guest_sysenter_esp 0x%llx",
                (unsigned long long)esp);
    GUEST_CHECK(ck, entry_canonical(eip), Q0, "guest IA32_SYSENTER_EIP canonical", "guest_sysenter_eip 0x%llx",
                (unsigned long long)eip);
    /* "If the 'load IA32_PAT' VM-entry control is 1, the value of the field
     * for the IA32_PAT MSR must be one that could be written by WRMSR
     * without fault at CPL 0." */
    if (ck->entry_ctls & ENTRY_LOAD_PAT) {
        uint64_t pat = vmcs_get(v, VMCS_guest_ia32_pat);
        GUEST_CHECK(ck, entry_pat_valid(pat), Q0, "guest IA32_PAT memory types valid", "guest_ia32_pat 0x%016llx",
                    (unsigned long long)pat);
    }
    /* "If the 'load IA32_EFER' VM-entry control is 1: bits reserved in the
     * IA32_EFER MSR must be 0; bit 10 (LMA) must equal the 'IA-32e mode
     * guest' VM-entry control; it must also be identical to bit 8 (LME) if
     * bit 31 in the CR0 field (PG) is 1." */
    if (ck->entry_ctls & ENTRY_LOAD_EFER) {
        uint64_t efer = vmcs_get(v, VMCS_guest_ia32_efer);
        GUEST_CHECK(ck, (efer & EFER_RESERVED) == 0, Q0, "guest IA32_EFER reserved bits 0",
                    "guest_ia32_efer 0x%llx", (unsigned long long)efer);
        GUEST_CHECK(ck, !!(efer & EFER_LMA) == ck->ia32e_guest, Q0, "guest IA32_EFER.LMA equals 'IA-32e mode guest'",
                    "guest_ia32_efer 0x%llx entry 0x%08x", (unsigned long long)efer, ck->entry_ctls);
        GUEST_CHECK(ck, !(cr0 & CR0_PG) || !!(efer & EFER_LMA) == !!(efer & EFER_LME), Q0,
                    "guest IA32_EFER.LME equals LMA when CR0.PG = 1", "guest_ia32_efer 0x%llx guest_cr0 0x%llx",
                    (unsigned long long)efer, (unsigned long long)cr0);
    }
    return OK;
}

/* Checks on segment registers for a virtual-8086 guest, one sub-field at a
 * time as the SDM lists them: "The base address must be the value of the
 * selector shifted left 4 bits." "The limit must be 0000FFFFH." "The
 * access-rights field must be 000000F3H." */
enum v86_step { V86_BASE, V86_LIMIT, V86_AR };

static enum vmx_entry_qual check_seg_v86(struct entry_ck *ck, const struct gseg *s, enum v86_step step)
{
    if (step == V86_BASE)
        GUEST_CHECK(ck, s->base == (uint64_t)s->sel << 4, Q0, "virtual-8086 guest: base = selector << 4",
                    "%s selector 0x%04x base 0x%llx", s->name, s->sel, (unsigned long long)s->base);
    if (step == V86_LIMIT)
        GUEST_CHECK(ck, s->limit == 0xffff, Q0, "virtual-8086 guest: limit 0000FFFFH", "%s limit 0x%x", s->name,
                    s->limit);
    if (step == V86_AR)
        GUEST_CHECK(ck, s->ar == 0xf3, Q0, "virtual-8086 guest: access rights 000000F3H", "%s ar 0x%x", s->name,
                    s->ar);
    return OK;
}

static enum vmx_entry_qual check_segs_v86(struct entry_ck *ck, const struct gseg seg[G_NSEGS], enum v86_step step)
{
    static const unsigned order[] = { G_CS, G_SS, G_DS, G_ES, G_FS, G_GS };
    enum vmx_entry_qual q;
    for (unsigned k = 0; k < 6; k++)
        if ((q = check_seg_v86(ck, &seg[order[k]], step)) != OK)
            return q;
    return OK;
}

/* "Access-rights fields" for CS, SS, DS, ES, FS, GS outside virtual-8086
 * mode: the SDM lists the rules by sub-field (type, S, DPL, P, reserved
 * bits, D/B, G), each for CS, SS, then DS, ES, FS, GS. */
enum ar_step { AR_STEP_TYPE, AR_STEP_S, AR_STEP_DPL, AR_STEP_P, AR_STEP_RSVD, AR_STEP_DB, AR_STEP_G, AR_NSTEPS };

static enum vmx_entry_qual check_seg_ar(struct entry_ck *ck, const struct gseg *seg, unsigned i, enum ar_step step)
{
    const struct gseg *s = &seg[i], *cs = &seg[G_CS], *ss = &seg[G_SS];
    uint32_t ar = s->ar;
    unsigned type = ar_type(ar);

    if (step == AR_STEP_TYPE && i == G_CS) {
        /* "CS: the type must be 9, 11, 13, or 15 (accessed code segment);
         * 3 (read/write accessed expand-up data) only if 'unrestricted
         * guest' is 1." */
        GUEST_CHECK(ck, type == 9 || type == 11 || type == 13 || type == 15 || (ck->unrestricted && type == 3),
                    Q0, "guest CS type is accessed code (9, 11, 13, 15)", "CS ar 0x%x", ar);
    } else if (step == AR_STEP_TYPE && i == G_SS) {
        /* "SS. If SS is usable, the Type must be 3 or 7 (read/write,
         * accessed data segment)." */
        GUEST_CHECK(ck, type == 3 || type == 7, Q0, "guest SS type is read/write accessed data (3, 7)",
                    "SS ar 0x%x", ar);
    } else if (step == AR_STEP_TYPE) {
        /* "DS, ES, FS, GS. The following checks apply if the register is
         * usable: bit 0 of the Type must be 1 (accessed); if bit 3 of the
         * Type is 1 (code segment), then bit 1 of the Type must be 1
         * (readable)." */
        GUEST_CHECK(ck, type & AR_TYPE_A, Q0, "guest data segment type is accessed", "%s ar 0x%x", s->name, ar);
        GUEST_CHECK(ck, !(type & AR_TYPE_CODE) || (type & AR_TYPE_RW), Q0, "guest code segment in a data "
                    "register is readable", "%s ar 0x%x", s->name, ar);
    }
    /* "Bit 4 (S). If the register is CS or if the register is usable, S
     * must be 1." */
    if (step == AR_STEP_S)
        GUEST_CHECK(ck, ar & AR_S, Q0, "guest segment S = 1 (code or data)", "%s ar 0x%x", s->name, ar);
    /* "Bits 6:5 (DPL)." */
    if (step == AR_STEP_DPL && i == G_CS) {
        /* "If the Type is 3, the DPL must be 0. If the Type is 9 or 11
         * (non-conforming code segment), the DPL must equal the DPL in the
         * access-rights field for SS. If the Type is 13 or 15 (conforming
         * code segment), the DPL cannot be greater than the DPL in the
         * access-rights field for SS." */
        if (type == 3)
            GUEST_CHECK(ck, ar_dpl(ar) == 0, Q0, "guest CS type 3 has DPL 0", "CS ar 0x%x", ar);
        else if (type == 9 || type == 11)
            GUEST_CHECK(ck, ar_dpl(ar) == ar_dpl(ss->ar), Q0, "guest non-conforming CS.DPL equals SS.DPL",
                        "CS ar 0x%x SS ar 0x%x", ar, ss->ar);
        else
            GUEST_CHECK(ck, ar_dpl(ar) <= ar_dpl(ss->ar), Q0, "guest conforming CS.DPL <= SS.DPL",
                        "CS ar 0x%x SS ar 0x%x", ar, ss->ar);
    } else if (step == AR_STEP_DPL && i == G_SS) {
        /* "If 'unrestricted guest' is 0, the DPL must equal the RPL from the
         * selector field. The DPL must be 0 either if the Type in the
         * access-rights field for CS is 3 ... or if bit 0 in the CR0 field
         * (corresponding to CR0.PE) is 0." */
        GUEST_CHECK(ck, ck->unrestricted || ar_dpl(ar) == (s->sel & 3u), Q0, "guest SS.DPL equals SS.RPL",
                    "SS selector 0x%04x ar 0x%x", s->sel, ar);
        GUEST_CHECK(ck, !(ar_type(cs->ar) == 3 || !(vmcs_get(ck->vw, VMCS_guest_cr0) & CR0_PE)) || ar_dpl(ar) == 0,
                    Q0, "guest SS.DPL is 0 with CS type 3 or CR0.PE = 0", "SS ar 0x%x", ar);
    } else if (step == AR_STEP_DPL) {
        /* "DS, ES, FS, GS. The DPL cannot be less than the RPL in the
         * selector field if (1) the 'unrestricted guest' VM-execution
         * control is 0; (2) the register is usable; and (3) the Type in the
         * access-rights field is in the range 0-11 (data segment or
         * non-conforming code segment)." */
        GUEST_CHECK(ck, ck->unrestricted || type > 11 || ar_dpl(ar) >= (s->sel & 3u), Q0,
                    "guest data segment DPL >= RPL", "%s selector 0x%04x ar 0x%x", s->name, s->sel, ar);
    }
    /* "Bit 7 (P). If the register is CS or if the register is usable, P
     * must be 1." */
    if (step == AR_STEP_P)
        GUEST_CHECK(ck, ar & AR_P, Q0, "guest segment present", "%s ar 0x%x", s->name, ar);
    /* "Bits 11:8 (reserved). If the register is CS or if the register is
     * usable, these bits must all be 0." "Bits 31:17 (reserved)." */
    if (step == AR_STEP_RSVD)
        GUEST_CHECK(ck, (ar & AR_RESERVED) == 0, Q0, "guest segment access-rights reserved bits 0",
                    "%s ar 0x%x", s->name, ar);
    /* "Bit 14 (D/B). For CS, if the 'IA-32e mode guest' VM-entry control is
     * 1 and bit 13 (L) is 1, then D/B must be 0." */
    if (step == AR_STEP_DB && i == G_CS)
        GUEST_CHECK(ck, !(ck->ia32e_guest && (ar & AR_L)) || !(ar & AR_DB), Q0,
                    "guest CS.D/B = 0 when CS.L = 1 in IA-32e mode", "CS ar 0x%x", ar);
    /* "Bit 15 (G)." */
    if (step == AR_STEP_G)
        GUEST_CHECK(ck, granularity_ok(s), Q0, "guest segment G vs limit", "%s limit 0x%x ar 0x%x", s->name,
                    s->limit, ar);
    return OK;
}

/* SDM 3C "Checks on Guest Segment Registers" */
static enum vmx_entry_qual check_guest_segs(struct entry_ck *ck)
{
    struct gseg seg[G_NSEGS];
    read_segs(ck->vw, seg);
    const struct gseg *cs = &seg[G_CS], *ss = &seg[G_SS], *tr = &seg[G_TR], *ldtr = &seg[G_LDTR];
    enum vmx_entry_qual q;

    /* Selector fields. "TR. The TI flag (bit 2) must be 0." "LDTR. If LDTR
     * is usable, the TI flag (bit 2) must be 0." "SS. If the guest will not
     * be virtual-8086 and the 'unrestricted guest' VM-execution control is
     * 0, the RPL (bits 1:0) must equal the RPL of the selector field for CS." */
    GUEST_CHECK(ck, !(tr->sel & 4), Q0, "guest TR selector TI = 0", "TR selector 0x%04x", tr->sel);
    GUEST_CHECK(ck, !usable(ldtr) || !(ldtr->sel & 4), Q0, "guest LDTR selector TI = 0", "LDTR selector 0x%04x",
                ldtr->sel);
    GUEST_CHECK(ck, ck->v86_guest || ck->unrestricted || (ss->sel & 3) == (cs->sel & 3), Q0,
                "guest SS.RPL equals CS.RPL", "SS selector 0x%04x CS selector 0x%04x", ss->sel, cs->sel);

    /* Base-address fields. "CS, SS, DS, ES, FS, GS. If the guest will be
     * virtual-8086, the address must be the selector field shifted left 4
     * bits." "TR, FS, GS. The address must be canonical." "LDTR. If LDTR is
     * usable, the address must be canonical." "CS. Bits 63:32 of the address
     * must be zero." "SS, DS, ES. If the register is usable, bits 63:32 of
     * the address must be zero." */
    if (ck->v86_guest && (q = check_segs_v86(ck, seg, V86_BASE)) != OK)
        return q;
    static const unsigned canon[] = { G_TR, G_FS, G_GS, G_LDTR };
    for (unsigned k = 0; k < 4; k++) {
        const struct gseg *s = &seg[canon[k]];
        GUEST_CHECK(ck, (canon[k] == G_LDTR && !usable(s)) || entry_canonical(s->base), Q0,
                    "guest segment base canonical", "%s base 0x%llx", s->name, (unsigned long long)s->base);
    }
    GUEST_CHECK(ck, (cs->base >> 32) == 0, Q0, "guest CS base bits 63:32 are 0", "CS base 0x%llx",
                (unsigned long long)cs->base);
    static const unsigned low32[] = { G_SS, G_DS, G_ES };
    for (unsigned k = 0; k < 3; k++) {
        const struct gseg *s = &seg[low32[k]];
        GUEST_CHECK(ck, !usable(s) || (s->base >> 32) == 0, Q0, "guest usable SS/DS/ES base bits 63:32 are 0",
                    "%s base 0x%llx", s->name, (unsigned long long)s->base);
    }

    /* Limit fields: "CS, SS, DS, ES, FS, GS. If the guest will be
     * virtual-8086, the field must be 0000FFFFH." */
    if (ck->v86_guest && (q = check_segs_v86(ck, seg, V86_LIMIT)) != OK)
        return q;

    /* Access-rights fields: virtual-8086 (each 000000F3H), or by sub-field
     * for CS always and for the data registers when usable. */
    if (ck->v86_guest && (q = check_segs_v86(ck, seg, V86_AR)) != OK)
        return q;
    if (!ck->v86_guest) {
        static const unsigned order[] = { G_CS, G_SS, G_DS, G_ES, G_FS, G_GS };
        /* The CS checks apply whether or not its unusable bit is set; nvmx
         * also refuses an unusable CS, which its core cannot execute with. */
        GUEST_CHECK(ck, usable(cs), Q0, "guest CS is usable", "CS ar 0x%x", cs->ar);
        for (unsigned step = 0; step < AR_NSTEPS; step++)
            for (unsigned k = 0; k < 6; k++) {
                unsigned i = order[k];
                if ((i == G_CS || usable(&seg[i])) &&
                    (q = check_seg_ar(ck, seg, i, (enum ar_step)step)) != OK)
                    return q;
            }
    }

    /* "TR. The following checks are performed on the access-rights field:
     * Bits 3:0 (Type): if the guest will not be IA-32e mode, the Type must
     * be 3 (16-bit busy TSS) or 11 (32-bit busy TSS); if the guest will be
     * IA-32e mode, the Type must be 11 (64-bit busy TSS). Bit 4 (S) must be
     * 0. Bit 7 (P) must be 1. Bits 11:8 (reserved) must be 0. Bit 15 (G) ...
     * Bit 16 (Unusable) must be 0. Bits 31:17 (reserved) must be 0." */
    unsigned tt = ar_type(tr->ar);
    GUEST_CHECK(ck, tt == 11 || (!ck->ia32e_guest && tt == 3), Q0, "guest TR type is a busy TSS (11; 3 outside IA-32e)",
                "TR ar 0x%x", tr->ar);
    GUEST_CHECK(ck, !(tr->ar & AR_S), Q0, "guest TR.S = 0", "TR ar 0x%x", tr->ar);
    GUEST_CHECK(ck, tr->ar & AR_P, Q0, "guest TR present", "TR ar 0x%x", tr->ar);
    GUEST_CHECK(ck, (tr->ar & AR_RESERVED & ~AR_UNUSABLE) == 0, Q0, "guest TR access-rights reserved bits 0",
                "TR ar 0x%x", tr->ar);
    GUEST_CHECK(ck, granularity_ok(tr), Q0, "guest TR G vs limit", "TR limit 0x%x ar 0x%x", tr->limit, tr->ar);
    GUEST_CHECK(ck, usable(tr), Q0, "guest TR is usable", "TR ar 0x%x", tr->ar);

    /* "LDTR. The following checks on the access-rights field apply if LDTR
     * is usable: Type must be 2 (LDT). S must be 0. P must be 1. Bits 11:8
     * must be 0. G ... Bits 31:17 must be 0." */
    if (usable(ldtr)) {
        GUEST_CHECK(ck, ar_type(ldtr->ar) == 2, Q0, "guest LDTR type is LDT (2)", "LDTR ar 0x%x", ldtr->ar);
        GUEST_CHECK(ck, !(ldtr->ar & AR_S), Q0, "guest LDTR.S = 0", "LDTR ar 0x%x", ldtr->ar);
        GUEST_CHECK(ck, ldtr->ar & AR_P, Q0, "guest LDTR present", "LDTR ar 0x%x", ldtr->ar);
        GUEST_CHECK(ck, (ldtr->ar & AR_RESERVED) == 0, Q0, "guest LDTR access-rights reserved bits 0",
                    "LDTR ar 0x%x", ldtr->ar);
        GUEST_CHECK(ck, granularity_ok(ldtr), Q0, "guest LDTR G vs limit", "LDTR limit 0x%x ar 0x%x", ldtr->limit,
                    ldtr->ar);
    }
    return OK;
}

/* SDM 3C "Checks on Guest Descriptor-Table Registers": "The base-address
 * fields for GDTR and IDTR must contain canonical addresses. Bits 31:16 of
 * each limit field must be 0." */
static enum vmx_entry_qual check_guest_dtrs(struct entry_ck *ck)
{
    const struct vmx_vmcs_view *v = ck->vw;
    uint64_t gb = vmcs_get(v, VMCS_guest_gdtr_base), ib = vmcs_get(v, VMCS_guest_idtr_base);
    uint64_t gl = vmcs_get(v, VMCS_guest_gdtr_limit), il = vmcs_get(v, VMCS_guest_idtr_limit);
    GUEST_CHECK(ck, entry_canonical(gb), Q0, "guest GDTR base canonical", "gdtr base 0x%llx", (unsigned long long)gb);
    GUEST_CHECK(ck, entry_canonical(ib), Q0, "guest IDTR base canonical", "idtr base 0x%llx", (unsigned long long)ib);
    GUEST_CHECK(ck, (gl >> 16) == 0, Q0, "guest GDTR limit bits 31:16 are 0", "gdtr limit 0x%llx",
                (unsigned long long)gl);
    GUEST_CHECK(ck, (il >> 16) == 0, Q0, "guest IDTR limit bits 31:16 are 0", "idtr limit 0x%llx",
                (unsigned long long)il);
    return OK;
}

/* SDM 3C "Checks on Guest RIP, RFLAGS, and SSP" */
static enum vmx_entry_qual check_guest_rip_rflags(struct entry_ck *ck)
{
    const struct vmx_vmcs_view *v = ck->vw;
    uint64_t rip = vmcs_get(v, VMCS_guest_rip), fl = vmcs_get(v, VMCS_guest_rflags);
    bool cs_l = vmcs_get(v, VMCS_guest_cs_ar_bytes) & AR_L;
    /* "Bits 63:32 must be 0 if the 'IA-32e mode guest' VM-entry control is 0
     * or if the L bit (bit 13) in the access-rights field for CS is 0. If
     * the processor supports N < 64 linear-address bits, bits 63:N must be
     * identical if the 'IA-32e mode guest' VM-entry control is 1 and the L
     * bit in the access-rights field for CS is 1." */
    unsigned n = ck->vw->linear_width ? ck->vw->linear_width : 48;
    /* Not canonicality: bit N-1 may differ from bits 63:N, and such a RIP
     * faults (#GP) on the guest's first instruction fetch instead. */
    if (ck->ia32e_guest && cs_l)
        GUEST_CHECK(ck, entry_high_bits_identical(rip, n), Q0,
                    "guest RIP bits 63:N identical in 64-bit mode (N = linear-address width)",
                    "guest_rip 0x%llx N %u", (unsigned long long)rip, n);
    else
        GUEST_CHECK(ck, (rip >> 32) == 0, Q0, "guest RIP bits 63:32 are 0 outside 64-bit mode",
                    "guest_rip 0x%llx", (unsigned long long)rip);
    /* "Reserved bits 63:22 (bits 31:22 on processors that do not support
     * Intel 64 architecture), bit 15, bit 5 and bit 3 must be 0 in the field,
     * and reserved bit 1 must be 1." */
    GUEST_CHECK(ck, (fl & RFLAGS_RESERVED) == 0 && (fl & FL_FIXED1), Q0,
                "guest RFLAGS reserved bits (63:22, 15, 5, 3 clear; 1 set)", "guest_rflags 0x%llx",
                (unsigned long long)fl);
    /* "The VM flag (bit 17) must be 0 either if the 'IA-32e mode guest'
     * VM-entry control is 1 or if bit 0 in the CR0 field (corresponding to
     * CR0.PE) is 0." */
    GUEST_CHECK(ck, !(fl & FL_VM) || (!ck->ia32e_guest && (vmcs_get(v, VMCS_guest_cr0) & CR0_PE)), Q0,
                "guest RFLAGS.VM = 0 in IA-32e mode or with CR0.PE = 0", "guest_rflags 0x%llx",
                (unsigned long long)fl);
    /* "The IF flag (RFLAGS[bit 9]) must be 1 if the valid bit (bit 31) in the
     * VM-entry interruption-information field is 1 and the interruption type
     * (bits 10:8) is external interrupt." */
    bool extint = (ck->intr_info & VMX_INTR_INFO_VALID) &&
                  ((ck->intr_info & VMX_INTR_INFO_TYPE_MASK) >> VMX_INTR_INFO_TYPE_SHIFT) == EVT_EXTINT;
    GUEST_CHECK(ck, !extint || (fl & FL_IF), Q0, "guest RFLAGS.IF = 1 when injecting an external interrupt",
                "guest_rflags 0x%llx intr_info 0x%08x", (unsigned long long)fl, ck->intr_info);
    return OK;
}

/* SDM 3C "Checks on Guest Non-Register State" */
static enum vmx_entry_qual check_guest_nonreg(struct entry_ck *ck)
{
    const struct vmx_vmcs_view *v = ck->vw;
    uint64_t act = vmcs_get(v, VMCS_guest_activity_state);
    uint64_t intr = vmcs_get(v, VMCS_guest_interruptibility_info);
    uint64_t pend = vmcs_get(v, VMCS_guest_pending_dbg_exceptions);
    uint64_t misc = v->caps->msr[VMX_MSR_MISC];
    uint64_t fl = vmcs_get(v, VMCS_guest_rflags);
    uint32_t info = ck->intr_info;
    bool inject = info & VMX_INTR_INFO_VALID;
    unsigned type = (info & VMX_INTR_INFO_TYPE_MASK) >> VMX_INTR_INFO_TYPE_SHIFT;
    unsigned vec = info & VMX_INTR_INFO_VECTOR;
    bool sti = intr & VMX_INTERRUPTIBILITY_STI, movss = intr & VMX_INTERRUPTIBILITY_MOV_SS;

    /* Activity state. "The activity-state field must contain a value in the
     * range 0-3, indicating an activity state supported by the
     * implementation" (IA32_VMX_MISC bits 8:6). */
    bool supported = act == VMX_ACTIVITY_ACTIVE || (act == VMX_ACTIVITY_HLT && (misc & VMX_MISC_ACT_HLT)) ||
                     (act == VMX_ACTIVITY_SHUTDOWN && (misc & VMX_MISC_ACT_SHUTDOWN)) ||
                     (act == VMX_ACTIVITY_WAIT_SIPI && (misc & VMX_MISC_ACT_WAIT_SIPI));
    GUEST_CHECK(ck, supported, Q0, "guest activity state supported (IA32_VMX_MISC[8:6])",
                "activity %llu misc 0x%llx", (unsigned long long)act, (unsigned long long)misc);
    /* "The activity-state field must not indicate the HLT state if the DPL
     * (bits 6:5) in the access-rights field for SS is not 0." */
    GUEST_CHECK(ck, act != VMX_ACTIVITY_HLT || ar_dpl((uint32_t)vmcs_get(v, VMCS_guest_ss_ar_bytes)) == 0, Q0,
                "HLT activity state requires SS.DPL = 0", "ss ar 0x%llx",
                (unsigned long long)vmcs_get(v, VMCS_guest_ss_ar_bytes));
    /* "The activity-state field must indicate the active state if the
     * interruptibility-state field indicates blocking by either MOV-SS or by
     * STI (if either bit 0 or bit 1 in that field is 1)." */
    GUEST_CHECK(ck, act == VMX_ACTIVITY_ACTIVE || !(sti || movss), Q0,
                "blocking by STI or MOV SS requires the active state", "activity %llu interruptibility 0x%llx",
                (unsigned long long)act, (unsigned long long)intr);
    /* "If the valid bit (bit 31) in the VM-entry interruption-information
     * field is 1, the interruption to be delivered (as defined by
     * interruption type and vector) must not be one that would normally be
     * blocked while a logical processor is in the activity state
     * corresponding to the contents of the activity-state field": in HLT
     * only external interrupts, NMIs, #DB, #MC and pending MTF exits; in
     * shutdown only NMIs and #MC; in wait-for-SIPI nothing. */
    if (inject && act != VMX_ACTIVITY_ACTIVE) {
        bool ok;
        if (act == VMX_ACTIVITY_HLT)
            ok = type == EVT_EXTINT || type == EVT_NMI || type == VMX_INTR_TYPE_OTHER ||
                 (type == EVT_HW_EXC && (vec == EXC_DB || vec == EXC_MC));
        else if (act == VMX_ACTIVITY_SHUTDOWN)
            ok = type == EVT_NMI || (type == EVT_HW_EXC && vec == EXC_MC);
        else
            ok = false;
        GUEST_CHECK(ck, ok, Q0, "injected event not blocked in the guest activity state",
                    "activity %llu intr_info 0x%08x", (unsigned long long)act, info);
    }

    /* Interruptibility state. "The reserved bits (bits 31:5) must be 0."
     * nvmx has no SGX: bit 4 (enclave interruption) is 0 too. */
    GUEST_CHECK(ck, (intr & ~0xfull) == 0, Q0, "guest interruptibility-state reserved bits 31:4 are 0",
                "interruptibility 0x%llx", (unsigned long long)intr);
    /* "The field cannot indicate blocking by both STI and MOV SS (bits 0 and
     * 1 cannot both be 1)." */
    GUEST_CHECK(ck, !(sti && movss), Q0, "blocking by STI and by MOV SS are exclusive", "interruptibility 0x%llx",
                (unsigned long long)intr);
    /* "Bit 0 (blocking by STI) must be 0 if the IF flag (bit 9) is 0 in the
     * RFLAGS field." */
    GUEST_CHECK(ck, !sti || (fl & FL_IF), Q0, "blocking by STI requires RFLAGS.IF = 1",
                "interruptibility 0x%llx guest_rflags 0x%llx", (unsigned long long)intr, (unsigned long long)fl);
    /* "If the valid bit (bit 31) in the VM-entry interruption-information
     * field is 1 and the interruption type (bits 10:8) in that field has
     * value 0, indicating an external interrupt, then bit 0 (blocking by
     * STI) and bit 1 (blocking by MOV SS) must both be 0. If ... value 2,
     * indicating non-maskable interrupt (NMI): bit 1 (blocking by MOV SS)
     * must be 0." */
    if (inject && type == EVT_EXTINT)
        GUEST_CHECK(ck, !sti && !movss, Q0, "injecting an external interrupt requires no STI/MOV SS blocking",
                    "interruptibility 0x%llx", (unsigned long long)intr);
    if (inject && type == EVT_NMI)
        GUEST_CHECK(ck, !movss, Q0, "injecting an NMI requires no MOV SS blocking", "interruptibility 0x%llx",
                    (unsigned long long)intr);
    /* Blocking by STI with NMI injection is model-specific: SDM 3C Table
     * "Exit Qualification for VM-Entry Failure" gives value 3 for "an
     * attempt to inject a non-maskable interrupt (NMI) into a guest that is
     * blocking events through the STI blocking bit". nvmx models a
     * processor that fails such an entry. */
    if (inject && type == EVT_NMI)
        GUEST_CHECK(ck, !sti, VMX_ENTRY_QUAL_NMI_STI, "injecting an NMI with blocking by STI",
                    "interruptibility 0x%llx", (unsigned long long)intr);
    /* "Bit 2 (blocking by SMI) must be 0 if the processor is not in SMM." */
    GUEST_CHECK(ck, !(intr & VMX_INTERRUPTIBILITY_SMI), Q0, "blocking by SMI is 0 outside SMM",
                "interruptibility 0x%llx", (unsigned long long)intr);
    /* "If the 'virtual NMIs' VM-execution control is 1, the valid bit (bit
     * 31) in the VM-entry interruption-information field is 1, and the
     * interruption type (bits 10:8) in that field is 2 (indicating NMI), then
     * bit 3 (blocking by NMI) must be 0." */
    if (inject && type == EVT_NMI && (ck->pin & PIN_VIRTUAL_NMIS))
        GUEST_CHECK(ck, !(intr & VMX_INTERRUPTIBILITY_NMI), Q0,
                    "injecting a virtual NMI requires no blocking by NMI", "interruptibility 0x%llx",
                    (unsigned long long)intr);

    /* Pending debug exceptions. "Bits 11:4, bit 13, bit 15, and bits 63:17
     * must be 0" (bit 16, RTM, only on processors that support RTM). */
    uint64_t rsvd = PENDING_DBG_RESERVED | (v->rtm ? 0 : PENDING_DBG_RTM);
    GUEST_CHECK(ck, (pend & rsvd) == 0, Q0, "guest pending debug exceptions reserved bits 0",
                "pending_dbg 0x%llx", (unsigned long long)pend);
    /* "The following checks are performed if any of the following holds:
     * the interruptibility-state field indicates blocking by STI (bit 0 in
     * that field is 1); the interruptibility-state field indicates blocking
     * by MOV SS (bit 1 in that field is 1); or the activity-state field
     * indicates HLT: Bit 14 (BS) must be 1 if the TF flag (bit 8) in the
     * RFLAGS field is 1 and the BTF flag (bit 1) in the IA32_DEBUGCTL field
     * is 0. Bit 14 (BS) must be 0 if the TF flag (bit 8) in the RFLAGS field
     * is 0 or the BTF flag (bit 1) in the IA32_DEBUGCTL field is 1." */
    if (sti || movss || act == VMX_ACTIVITY_HLT) {
        bool single = (fl & FL_TF) && !(vmcs_get(v, VMCS_guest_ia32_debugctl) & DEBUGCTL_BTF);
        GUEST_CHECK(ck, !!(pend & PENDING_DBG_BS) == single, Q0,
                    "pending BS = RFLAGS.TF && !DEBUGCTL.BTF with STI/MOV SS blocking or HLT",
                    "pending_dbg 0x%llx guest_rflags 0x%llx debugctl 0x%llx", (unsigned long long)pend,
                    (unsigned long long)fl, (unsigned long long)vmcs_get(v, VMCS_guest_ia32_debugctl));
    }

    /* VMCS link pointer. "The following checks apply if the field contains a
     * value other than FFFFFFFF_FFFFFFFFH: bits 11:0 must be 0; bits beyond
     * the processor's physical-address width must be 0; the 4 bytes located
     * in memory referenced by the value of the field must satisfy: bits 30:0
     * must contain the processor's VMCS revision identifier, bit 31 must
     * contain the setting of the 'VMCS shadowing' VM-execution control; the
     * field must not contain the current VMCS pointer." */
    uint64_t link = vmcs_get(v, VMCS_vmcs_link_pointer);
    if (link != VMX_INVALID_PTR) {
        const enum vmx_entry_qual Q4 = VMX_ENTRY_QUAL_LINK_PTR;
        GUEST_CHECK(ck, (link & 0xfff) == 0 && entry_pa_range_ok(ck, link, 1), Q4,
                    "VMCS link pointer 4-KByte aligned, within physical-address width", "link 0x%llx",
                    (unsigned long long)link);
        uint32_t rev = (uint32_t)v->phys_read(v->ctx, link, 4);
        uint32_t want = (uint32_t)(v->caps->msr[VMX_MSR_BASIC] & VMX_BASIC_REVISION_MASK) |
                        ((ck->proc2 & PROC2_VMCS_SHADOWING) ? VMCS_SHADOW_INDICATOR : 0);
        GUEST_CHECK(ck, rev == want, Q4, "VMCS link pointer: revision identifier and shadow indicator",
                    "link 0x%llx revision 0x%08x expected 0x%08x", (unsigned long long)link, rev, want);
        GUEST_CHECK(ck, link != v->vmcs_ptr, Q4, "VMCS link pointer is not the current VMCS",
                    "link 0x%llx", (unsigned long long)link);
    }
    return OK;
}

enum vmx_entry_qual entry_check_guest(struct entry_ck *ck)
{
    enum vmx_entry_qual q = check_guest_regs(ck);
    if (q == OK)
        q = check_guest_segs(ck);
    if (q == OK)
        q = check_guest_dtrs(ck);
    if (q == OK)
        q = check_guest_rip_rflags(ck);
    if (q == OK)
        q = check_guest_nonreg(ck);
    return q;
}
