/* EPT, VPID, INVEPT and INVVPID on the skylake-server model (SDM 3C "The
 * Extended Page Table Mechanism (EPT)", "Virtual Processor Identifiers
 * (VPIDs)", "Caching Translation Information", "INVEPT", "INVVPID"): a
 * 64-bit guest runs under EPT tables built in RAM, entered with a real
 * VMLAUNCH/VMRESUME; the tests assert exit reasons, qualifications,
 * guest-physical and guest-linear address fields, A/D bits in the EPT
 * tables, VM-instruction errors and which translations survive. */
#include "vmx_ept_fixture.h"

/* ---- two-dimensional translation ---------------------------------------------------- */

START_TEST(identity_ept_guest_runs)
{
    *ram64(DATA) = 0x1111;
    uint64_t walks = c->stats.ept_walks, refs = c->stats.ept_refs, cycles = c->cycles;
    expect_exit(GUEST(false, MOV_RAX_DATA, HLT), VMX_EXIT_hlt, GUEST_CODE + 8);
    ck_assert_uint_eq(c->gpr[0], 0x1111);
    /* every guest paging-structure entry and every access went through
     * EPT, each walk charging at least its leaf (the modelled EPT
     * paging-structure caches may spare the levels above: test_psc.c) */
    ck_assert_uint_gt(c->stats.ept_walks, walks);
    ck_assert_uint_ge(c->stats.ept_refs - refs, c->stats.ept_walks - walks);
    ck_assert_uint_ge(c->cycles - cycles, (c->stats.ept_refs - refs) * cost.cycles[COST_ept_walk]);
}
END_TEST

/* SDM 3C "Guest-Physical Addresses": the guest's DATA is host DATA2. */
START_TEST(ept_remaps_guest_physical)
{
    *ram64(DATA) = 0x1111;
    *ram64(DATA2) = 0x2222;
    *ept_pte(DATA) = DATA2 | EPT_RWX | WB;
    expect_exit(GUEST(false, MOV_RAX_DATA, HLT), VMX_EXIT_hlt, GUEST_CODE + 8);
    ck_assert_uint_eq(c->gpr[0], 0x2222);
    c->gpr[0] = 0x3333;
    expect_exit(GUEST(true, MOV_DATA_RAX, HLT), VMX_EXIT_hlt, GUEST_CODE + 8);
    ck_assert_uint_eq(*ram64(DATA2), 0x3333);
    ck_assert_uint_eq(*ram64(DATA), 0x1111);
}
END_TEST

/* SDM 3C "EPT Violations" and Table "Exit Qualification for EPT
 * Violations": one row per (permissions of the page, access). The guest's
 * linear address is user-mode and writable (its paging entries have U/S
 * and R/W), not execute-disable: bits 9 and 10 with the advanced
 * information the model advertises. */
struct violation_case {
    const char *what;
    uint64_t page, perms;
    unsigned access; /* 0 read, 1 write, 2 fetch */
    uint64_t qual;
};
#define QV (EPT_QUAL_LINEAR_VALID | EPT_QUAL_TRANSLATION | EPT_QUAL_LINEAR_USER | EPT_QUAL_LINEAR_WRITABLE)
static const struct violation_case violation_cases[] = {
    { "read, not present", DATA, 0, 0, EPT_QUAL_READ | QV },
    { "read, execute-only", DATA, EPT_X, 0, EPT_QUAL_READ | EPT_QUAL_EXECUTABLE | QV },
    { "write, not present", DATA, 0, 1, EPT_QUAL_WRITE | QV },
    { "write, read-only", DATA, EPT_R, 1, EPT_QUAL_WRITE | EPT_QUAL_READABLE | QV },
    { "write, read+execute", DATA, EPT_R | EPT_X, 1,
      EPT_QUAL_WRITE | EPT_QUAL_READABLE | EPT_QUAL_EXECUTABLE | QV },
    { "fetch, read-only", CODE2, EPT_R, 2, EPT_QUAL_FETCH | EPT_QUAL_READABLE | QV },
    { "fetch, read+write", CODE2, EPT_R | EPT_W, 2,
      EPT_QUAL_FETCH | EPT_QUAL_READABLE | EPT_QUAL_WRITABLE | QV },
    { "fetch, not present", CODE2, 0, 2, EPT_QUAL_FETCH | QV },
};

START_TEST(violation_qualification)
{
    const struct violation_case *k = &violation_cases[_i];
    *ept_pte(k->page) = k->page | k->perms | WB;
    cpu_write_phys(c, CODE2, 1, HLT);
    uint32_t reason;
    uint64_t rip;
    if (k->access == 0) {
        reason = GUEST(false, MOV_RAX_DATA, HLT);
        rip = GUEST_CODE;
    } else if (k->access == 1) {
        reason = GUEST(false, MOV_DATA_RAX, HLT);
        rip = GUEST_CODE;
    } else {
        /* mov eax, CODE2; jmp rax */
        reason = GUEST(false, 0xb8, 0x00, 0x30, 0x01, 0x00, 0xff, 0xe0);
        rip = CODE2;
    }
    expect_exit(reason, VMX_EXIT_ept_violation, rip);
    ck_assert_msg(get(VMCS_exit_qualification) == k->qual, "%s: qualification 0x%llx, expected 0x%llx",
                  k->what, (unsigned long long)get(VMCS_exit_qualification), (unsigned long long)k->qual);
    ck_assert_uint_eq(get(VMCS_guest_physical_address), k->page);
    ck_assert_uint_eq(get(VMCS_guest_linear_address), k->page);
}
END_TEST

/* A guest paging-structure entry the EPT does not let it read: bit 7 set,
 * bit 8 clear (an access to a paging-structure entry), a data read even for
 * the fetch whose walk it is; the guest-physical address is the entry's. */
START_TEST(violation_on_guest_paging_structure)
{
    *ept_pte(PML4 + 0x2000) = (PML4 + 0x2000) | EPT_X | WB; /* the guest's PD */
    expect_exit(GUEST(false, HLT), VMX_EXIT_ept_violation, GUEST_CODE);
    ck_assert_uint_eq(get(VMCS_exit_qualification),
                      EPT_QUAL_READ | EPT_QUAL_EXECUTABLE | EPT_QUAL_LINEAR_VALID);
    ck_assert_uint_eq(get(VMCS_guest_physical_address), PML4 + 0x2000); /* PD[0] */
    ck_assert_uint_eq(get(VMCS_guest_linear_address), GUEST_CODE);
}
END_TEST

/* SDM 3C "EPT Misconfigurations": write without read -> exit 49 with the
 * guest-physical address. */
START_TEST(misconfiguration_exit)
{
    *ept_pte(DATA) = DATA | EPT_W | WB;
    expect_exit(GUEST(false, MOV_RAX_DATA, HLT), VMX_EXIT_ept_misconfig, GUEST_CODE);
    ck_assert_uint_eq(get(VMCS_guest_physical_address), DATA);
    ck_assert_uint_eq(get(VMCS_exit_qualification), 0);
}
END_TEST

/* SDM 3C "Accessed and Dirty Flags for EPT": with EPTP bit 6, A in every
 * EPT entry used, D in the leaf of a written page, and D in the leaves of
 * the guest's paging-structure pages (those accesses are writes for EPT). */
START_TEST(accessed_and_dirty_flags)
{
    put(VMCS_ept_pointer, EPTP_WB4 | EPTP_AD);
    c->gpr[0] = 0x55;
    expect_exit(GUEST(false, MOV_DATA_RAX, HLT), VMX_EXIT_hlt, GUEST_CODE + 8);
    ck_assert_uint_eq(*ram64(DATA), 0x55);
    ck_assert_uint_eq(*ept_pte(DATA) & (EPT_A | EPT_D), EPT_A | EPT_D);
    ck_assert_uint_eq(*ept_pte(GUEST_CODE) & (EPT_A | EPT_D), EPT_A); /* fetched, not written */
    for (uint64_t t = PML4; t <= PML4 + 0x2000; t += 0x1000)
        ck_assert_msg((*ept_pte(t) & (EPT_A | EPT_D)) == (EPT_A | EPT_D),
                      "EPT leaf of the guest table at 0x%llx: 0x%llx", (unsigned long long)t,
                      (unsigned long long)*ept_pte(t));
    ck_assert(*ram64(EPML4) & EPT_A);
    ck_assert(*ram64(EPDPT) & EPT_A);
    ck_assert(*ram64(EPD) & EPT_A);
    ck_assert_uint_eq(*ept_pte(DATA2) & EPT_A, 0); /* untouched */
    /* without bit 6 nothing is set */
    *ept_pte(DATA) &= ~(EPT_A | EPT_D);
    put(VMCS_ept_pointer, EPTP_WB4);
    expect_exit(GUEST(true, MOV_DATA_RAX, HLT), VMX_EXIT_hlt, GUEST_CODE + 8);
    ck_assert_uint_eq(*ept_pte(DATA) & (EPT_A | EPT_D), 0);
}
END_TEST

/* ---- VPID and the cached translations ---------------------------------------------------- */

/* SDM 3C "VPID" and "Caching Translation Information": a guest reads DATA;
 * the host then points DATA's EPT entry at DATA2 without invalidating.
 * With a VPID the combined mapping may survive VM exit and VM entry (nvmx
 * keeps it); without one, VM exit and VM entry invalidate the mappings of
 * VPID 0000H. INVVPID/INVEPT must then drop it.
 * _i: 0 VPID, nothing; 1 no VPID; 2 VPID + INVVPID single-context;
 *     3 VPID + INVEPT single-context; 4 VPID + INVVPID individual address;
 *     5 VPID + INVVPID all-context; 6 VPID + INVEPT global;
 *     7 VPID + INVVPID of another VPID (no effect) */
START_TEST(stale_translation_survives_only_where_allowed)
{
    static const uint64_t expect_val[] = { 0x1111, 0x2222, 0x2222, 0x2222, 0x2222, 0x2222, 0x2222, 0x1111 };
    bool vpid = _i != 1;
    if (vpid) {
        put(VMCS_secondary_vm_exec_control, PROC2_ENABLE_EPT | PROC2_ENABLE_VPID);
        put(VMCS_virtual_processor_id, 1);
    }
    *ram64(DATA) = 0x1111;
    *ram64(DATA2) = 0x2222;
    expect_exit(GUEST(false, MOV_RAX_DATA, HLT), VMX_EXIT_hlt, GUEST_CODE + 8);
    ck_assert_uint_eq(c->gpr[0], 0x1111);
    ck_assert_int_eq(cpu_tlb_holds(c, vpid ? 1 : 0, true, EPTP_WB4, DATA), vpid);

    *ept_pte(DATA) = DATA2 | EPT_RWX | WB; /* no invalidation yet */
    /* descriptor: VPID or EPTP, then the linear address */
    uint64_t lo = _i == 3 || _i == 6 ? EPTP_WB4 : _i == 7 ? 2 : 1;
    *ram64(DESC) = lo;
    *ram64(DESC + 8) = DATA;
    c->gpr[3] = DESC;
    struct outcome o = { 0 };
    switch (_i) {
    case 2: c->gpr[0] = 1; o = ROOT(0x66, 0x0f, 0x38, 0x81, 0x03); break;  /* invvpid rax, [rbx] */
    case 3: c->gpr[0] = 1; o = ROOT(0x66, 0x0f, 0x38, 0x80, 0x03); break;  /* invept rax, [rbx] */
    case 4: c->gpr[0] = 0; o = ROOT(0x66, 0x0f, 0x38, 0x81, 0x03); break;
    case 5: c->gpr[0] = 2; o = ROOT(0x66, 0x0f, 0x38, 0x81, 0x03); break;
    case 6: c->gpr[0] = 2; o = ROOT(0x66, 0x0f, 0x38, 0x80, 0x03); break;
    case 7: c->gpr[0] = 1; o = ROOT(0x66, 0x0f, 0x38, 0x81, 0x03); break;
    default: break;
    }
    ck_assert_msg(!o.faulted && o.flags == 0, "case %d: invalidation fault %d flags 0x%llx", _i,
                  o.faulted ? o.vector : -1, (unsigned long long)o.flags);
    c->gpr[0] = 0;
    expect_exit(GUEST(true, MOV_RAX_DATA, HLT), VMX_EXIT_hlt, GUEST_CODE + 8);
    ck_assert_msg(c->gpr[0] == expect_val[_i], "case %d: guest read 0x%llx, expected 0x%llx", _i,
                  (unsigned long long)c->gpr[0], (unsigned long long)expect_val[_i]);
}
END_TEST

/* The root's own translations (VPID 0000H) survive an entry and exit of a
 * guest with a VPID, and are dropped by one without. */
START_TEST(root_translations_and_vpid)
{
    bool vpid = _i == 0;
    if (vpid) {
        put(VMCS_secondary_vm_exec_control, PROC2_ENABLE_EPT | PROC2_ENABLE_VPID);
        put(VMCS_virtual_processor_id, 7);
    }
    cpu_tlb_prefill(c, DATA2, false);
    ck_assert(cpu_tlb_holds(c, 0, false, 0, DATA2));
    expect_exit(GUEST(false, HLT), VMX_EXIT_hlt, GUEST_CODE);
    ck_assert_int_eq(cpu_tlb_holds(c, 0, false, 0, DATA2), vpid);
}
END_TEST

/* ---- the modelled EPT paging-structure caches ------------------------------------------ */

#define EPD_1G 0x304000ull  /* EPT PD of guest-physical 1-2 GiB: 2-MByte leaves */
#define GUEST_PD_1G 0x9000ull /* the guest's PD of linear 1-2 GiB: 2-MByte identity leaves */
#define GPA_1G 0x40000000ull

/* The EPT references charged for gpa when the walk is one the modelled TLB
 * missed (src/cpu/psc.c), with the VMCS's EPTP. */
static unsigned ept_walk_refs(uint64_t gpa)
{
    uint64_t refs = c->stats.ept_refs, hpa;
    struct ept_access a = { .type = EPT_ACCESS_READ };
    c->nr.eptp = EPTP_WB4;
    c->nr.ept_caps = vmx_ept_caps(v);
    c->xlate_psc = true;
    ck_assert(cpu_ept_translate(c, gpa, &a, 0, true, &hpa));
    c->xlate_psc = false;
    return (unsigned)(c->stats.ept_refs - refs);
}

/* SDM 3C "Caching Translation Information": guest-physical mappings,
 * EPT paging-structure-cache entries among them, are tagged by EP4TA;
 * INVEPT of that EP4TA (single-context) or of all (global) invalidates
 * them, and an EPT violation those that would be used for its guest-
 * physical address. VM entry and VM exit, with or without VPID, and
 * INVVPID leave them. Guest-physical 1-2 GiB (EPD_1G) is out of the
 * guest's own reach, so nothing but the case refills its EPT PDPTE entry.
 * _i: 0 nothing; 1 INVEPT single-context; 2 INVEPT global; 3 INVEPT of
 *     another EP4TA; 4 a guest entry and exit without VPID; 5 INVVPID
 *     all-context; 6 an EPT violation at guest-physical 1 GiB + 4 MiB */
START_TEST(ept_paging_structure_caches)
{
    static const unsigned expect_refs[] = { 1, 3, 3, 1, 1, 1, 3 };
    *ram64(EPDPT + 8) = EPD_1G | EPT_RWX;
    memset(m->ram + EPD_1G, 0, 4096);
    *ram64(EPD_1G) = 0x400000 | EPT_PS | EPT_RWX | WB;
    *ram64(EPD_1G + 8) = 0x600000 | EPT_PS | EPT_RWX | WB; /* 1 GiB + 4 MiB is not present */
    ck_assert_uint_eq(ept_walk_refs(GPA_1G), 3);               /* EPML4E, EPDPTE, EPDE */
    ck_assert_uint_eq(ept_walk_refs(GPA_1G + 0x1000), 1);      /* the EPDPTE is cached */

    c->gpr[3] = DESC;
    *ram64(DESC + 8) = 0;
    struct outcome o = { 0 };
    switch (_i) {
    case 1: *ram64(DESC) = EPTP_WB4, c->gpr[0] = 1; o = ROOT(0x66, 0x0f, 0x38, 0x80, 0x03); break;
    case 2: c->gpr[0] = 2; o = ROOT(0x66, 0x0f, 0x38, 0x80, 0x03); break;
    case 3: *ram64(DESC) = EPD_1G | (3u << 3) | 6, c->gpr[0] = 1; o = ROOT(0x66, 0x0f, 0x38, 0x80, 0x03); break;
    case 4: expect_exit(GUEST(false, MOV_RAX_DATA, HLT), VMX_EXIT_hlt, GUEST_CODE + 8); break;
    case 5: c->gpr[0] = 2; o = ROOT(0x66, 0x0f, 0x38, 0x81, 0x03); break;
    case 6:
        *ram64(0x2000 + 8) = GUEST_PD_1G | 7; /* the guest's PDPTE 1 */
        for (uint64_t i = 0; i < 4; i++)
            *ram64(GUEST_PD_1G + 8 * i) = (GPA_1G + (i << 21)) | 0x87;
        expect_exit(GUEST(false, 0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x40, 0x40, HLT), /* mov rax, [1 GiB + 4 MiB] */
                    VMX_EXIT_ept_violation, GUEST_CODE);
        break;
    default: break;
    }
    ck_assert_msg(!o.faulted && o.flags == 0, "case %d: fault %d flags 0x%llx", _i,
                  o.faulted ? o.vector : -1, (unsigned long long)o.flags);
    unsigned refs = ept_walk_refs(GPA_1G + 0x200000);
    ck_assert_msg(refs == expect_refs[_i], "case %d: %u EPT references, expected %u", _i, refs,
                  expect_refs[_i]);
}
END_TEST

/* ---- INVEPT / INVVPID operand checks --------------------------------------------------- */

/* SDM 3C "INVEPT" and "INVVPID", Operation: unsupported type, bad EPTP,
 * INVVPID_DESC[63:16] != 0, VPID 0, non-canonical address -> VMfailValid
 * (28) with a current VMCS. */
struct inv_case {
    const char *what;
    bool invept;
    uint64_t type, lo, hi;
    bool ok;
};
static const struct inv_case inv_cases[] = {
    { "INVEPT type 0", true, 0, EPTP_WB4, 0, false },
    { "INVEPT single-context", true, 1, EPTP_WB4, 0, true },
    { "INVEPT single-context, UC EPTP", true, 1, EPML4 | (3u << 3), 0, true },
    { "INVEPT single-context, memory type 1", true, 1, EPML4 | (3u << 3) | 1, 0, false },
    { "INVEPT single-context, walk length 5", true, 1, EPML4 | (4u << 3) | 6, 0, false },
    { "INVEPT single-context, bit 8", true, 1, EPTP_WB4 | (1u << 8), 0, false },
    { "INVEPT single-context, bit 46", true, 1, EPTP_WB4 | (1ull << 46), 0, false },
    { "INVEPT global, any descriptor", true, 2, ~0ull, ~0ull, true },
    { "INVEPT type 3", true, 3, EPTP_WB4, 0, false },
    { "INVEPT type 1 << 32", true, 1ull << 32, EPTP_WB4, 0, false },
    { "INVVPID individual address", false, 0, 1, DATA, true },
    { "INVVPID individual address, VPID 0", false, 0, 0, DATA, false },
    { "INVVPID individual address, non-canonical", false, 0, 1, 0x0000800000000000ull, false },
    { "INVVPID individual address, canonical high", false, 0, 1, 0xffff800000000000ull, true },
    { "INVVPID single-context", false, 1, 0xffff, 0, true },
    { "INVVPID single-context, VPID 0", false, 1, 0, 0, false },
    { "INVVPID single-context, bit 16", false, 1, 1 | (1u << 16), 0, false },
    { "INVVPID all-context, VPID 0", false, 2, 0, 0, true },
    { "INVVPID all-context, bit 63", false, 2, 1ull << 63, 0, false },
    { "INVVPID retaining globals", false, 3, 5, 0, true },
    { "INVVPID retaining globals, VPID 0", false, 3, 0, 0, false },
    { "INVVPID type 4", false, 4, 1, 0, false },
};

static struct outcome run_inv(const struct inv_case *k)
{
    *ram64(DESC) = k->lo;
    *ram64(DESC + 8) = k->hi;
    c->gpr[0] = k->type;
    c->gpr[3] = DESC;
    return k->invept ? ROOT(0x66, 0x0f, 0x38, 0x80, 0x03) : ROOT(0x66, 0x0f, 0x38, 0x81, 0x03);
}

START_TEST(inv_operand_checks)
{
    const struct inv_case *k = &inv_cases[_i];
    put(VMCS_vm_instruction_error, 0);
    struct outcome o = run_inv(k);
    ck_assert_msg(!o.faulted, "%s: fault %d", k->what, o.vector);
    if (k->ok) {
        ck_assert_msg(o.flags == 0, "%s: flags 0x%llx, expected VMsucceed", k->what,
                      (unsigned long long)o.flags);
        return;
    }
    ck_assert_msg(o.flags == FL_ZF, "%s: flags 0x%llx, expected VMfailValid", k->what,
                  (unsigned long long)o.flags);
    ck_assert_uint_eq(get(VMCS_vm_instruction_error), VMX_INSN_ERR_INVALID_INVEPT_INVVPID_OPERAND);
}
END_TEST

/* Without a current VMCS the failure is VMfailInvalid; at CPL 3 #GP(0);
 * outside VMX operation and in compatibility mode #UD. _i: INVEPT, INVVPID */
START_TEST(inv_faults_and_fail_invalid)
{
    const struct inv_case *bad = &inv_cases[_i ? 11 : 0], *good = &inv_cases[_i ? 14 : 1];
    v->current_vmcs = VMX_INVALID_PTR;
    struct outcome o = run_inv(bad);
    ck_assert_msg(!o.faulted && o.flags == FL_CF, "%s without a VMCS: flags 0x%llx", bad->what,
                  (unsigned long long)o.flags);
    v->current_vmcs = VMCS_PA;
    c->seg[SEG_CS] = (struct seg_reg){ .sel = 0x2b, .limit = 0xffffffff, .ar = 0xa0fb };
    c->seg[SEG_SS] = (struct seg_reg){ .sel = 0x33, .limit = 0xffffffff, .ar = 0xc0f3 };
    cpu_update_mode(c);
    o = run_inv(good);
    ck_assert_msg(o.faulted && o.vector == EXC_GP && c->last_error == 0, "%s at CPL 3: %d", good->what,
                  o.faulted ? o.vector : -1);
    c->seg[SEG_CS] = (struct seg_reg){ .sel = 0x08, .limit = 0xffffffff, .ar = 0xa09b };
    c->seg[SEG_SS] = (struct seg_reg){ .sel = 0x10, .limit = 0xffffffff, .ar = 0xc093 };
    cpu_update_mode(c);
    v->in_vmx_operation = false;
    o = run_inv(good);
    ck_assert_msg(o.faulted && o.vector == EXC_UD, "%s outside VMX operation", good->what);
}
END_TEST

/* In VMX non-root operation both exit unconditionally: reasons 50 and 53,
 * qualification = displacement, register operand in bits 31:28 of the
 * instruction information. */
START_TEST(inv_exits_in_nonroot)
{
    c->gpr[1] = 1;
    c->gpr[3] = DESC;
    /* invept rcx, [rbx+0x10] (ModRM 0x4b disp8) */
    uint32_t r = _i ? GUEST(false, 0x66, 0x0f, 0x38, 0x81, 0x4b, 0x10, HLT)
                    : GUEST(false, 0x66, 0x0f, 0x38, 0x80, 0x4b, 0x10, HLT);
    expect_exit(r, _i ? VMX_EXIT_invvpid : VMX_EXIT_invept, GUEST_CODE);
    ck_assert_uint_eq(get(VMCS_exit_qualification), 0x10);
    ck_assert_uint_eq(get(VMCS_vm_exit_instruction_len), 6);
    uint64_t info = get(VMCS_vmx_instruction_info);
    ck_assert_uint_eq((info >> 28) & 15, 1);  /* rcx */
    ck_assert_uint_eq((info >> 23) & 15, 3);  /* base rbx */
    ck_assert_uint_eq((info >> 22) & 1, 1);   /* no index */
}
END_TEST

/* ---- PAE guests under EPT ------------------------------------------------------------- */

#define PAE_PDPT 0x40000ull
#define PAE_PD 0x41000ull
#define PAE_PDPT2 0x42000ull

/* A 32-bit PAE guest: VM entry loads its PDPTEs from the guest PDPTE fields
 * (SDM 3C "Loading Guest State" with EPT), not from CR3. */
static void pae_guest(void)
{
    /* CR3-load/-store exiting off (allowed by IA32_VMX_TRUE_PROCBASED_CTLS) */
    put(VMCS_cpu_based_vm_exec_control, (PROC_D1 & ~0x18000u) | PROC_SEC);
    put(VMCS_vm_entry_controls, ENTRY_D1);
    put(VMCS_guest_cr0, CR0_PE | CR0_ET | CR0_NE | CR0_PG);
    put(VMCS_guest_cr4, CR4_PAE | CR4_VMXE);
    put(VMCS_guest_cr3, PAE_PDPT);
    put(VMCS_guest_ia32_efer, 0);
    set_seg(SEG_CS, 0x08, 0, 0xffffffffu, 0xc09b);
    for (unsigned s = 0; s < SEG_NSEGS; s++)
        if (s != SEG_CS)
            set_seg(s, 0x10, 0, 0xffffffffu, 0xc093);
    memset(m->ram + PAE_PDPT, 0, 3 * 4096);
    for (uint64_t i = 0; i < 4; i++) /* 8 MiB identity in 2-MByte pages */
        *ram64(PAE_PD + 8 * i) = (i << 21) | 0x83;
    put(VMCS_guest_pdpte0, PAE_PD | 1); /* CR3's table in memory stays empty */
    put(VMCS_guest_pdpte1, 0);
    put(VMCS_guest_pdpte2, 0);
    put(VMCS_guest_pdpte3, 0);
}

/* A MOV to CR3 whose PDPTE table is not present in EPT: EPT violation with
 * qualification bit 0 only (a read, bit 7 clear: no linear address), the
 * table's guest-physical address, and the guest state from before the MOV
 * (CR3 and the PDPTEs unchanged, saved in the PDPTE fields by the exit). */
START_TEST(pae_mov_cr3_loads_pdptes_through_ept)
{
    pae_guest();
    *ept_pte(PAE_PDPT2) = 0;
    /* mov eax, PAE_PDPT2; mov cr3, eax; hlt */
    uint32_t r = GUEST(false, 0xb8, 0x00, 0x20, 0x04, 0x00, 0x0f, 0x22, 0xd8, HLT);
    expect_exit(r, VMX_EXIT_ept_violation, GUEST_CODE + 5);
    ck_assert_uint_eq(get(VMCS_exit_qualification), EPT_QUAL_READ);
    ck_assert_uint_eq(get(VMCS_guest_physical_address), PAE_PDPT2);
    ck_assert_uint_eq(get(VMCS_guest_cr3), PAE_PDPT);
    ck_assert_uint_eq(get(VMCS_guest_pdpte0), PAE_PD | 1);
    /* mapped: the MOV completes and loads the new table's PDPTEs */
    *ept_pte(PAE_PDPT2) = PAE_PDPT2 | EPT_RWX | WB;
    *ram64(PAE_PDPT2) = PAE_PD | 1;
    *ram64(PAE_PDPT2 + 8) = PAE_PD | 1;
    r = GUEST(true, 0xb8, 0x00, 0x20, 0x04, 0x00, 0x0f, 0x22, 0xd8, HLT);
    expect_exit(r, VMX_EXIT_hlt, GUEST_CODE + 8);
    ck_assert_uint_eq(get(VMCS_guest_cr3), PAE_PDPT2);
    ck_assert_uint_eq(get(VMCS_guest_pdpte1), PAE_PD | 1);
}
END_TEST

/* VM entry checks the PDPTE fields under EPT: a reserved bit (bit 1) in a
 * present one fails the entry with exit qualification 2. */
START_TEST(pae_pdpte_field_reserved_bit_fails_entry)
{
    pae_guest();
    put(VMCS_guest_pdpte2, PAE_PD | 1 | 2);
    th_load(c, ROOT_CODE, (const uint8_t[]){ 0x0f, 0x01, 0xc2, HLT }, 4);
    th_start_at(c, ROOT_CODE);
    cpu_run(c, 10);
    ck_assert(!c->vmx_nonroot);
    ck_assert_uint_eq(get(VMCS_vm_exit_reason), 0x80000000u | VMX_EXIT_entry_fail_guest_state);
    ck_assert_uint_eq(get(VMCS_exit_qualification), 2);
}
END_TEST

/* ---- VM-entry checks on EPT and VPID controls (SDM 3C "Checks on
 * VM-Execution Control Fields") ----------------------------------------------------------- */

struct entry_case {
    const char *what;
    uint32_t proc2;
    uint64_t eptp;
    uint16_t vpid;
    bool ok;
};
static const struct entry_case entry_cases[] = {
    { "EPT, WB, 4-level", PROC2_ENABLE_EPT, EPTP_WB4, 0, true },
    { "EPT, UC, 4-level", PROC2_ENABLE_EPT, EPML4 | (3u << 3), 0, true },
    { "EPT, A/D enabled", PROC2_ENABLE_EPT, EPTP_WB4 | EPTP_AD, 0, true },
    { "EPT, memory type 1", PROC2_ENABLE_EPT, EPML4 | (3u << 3) | 1, 0, false },
    { "EPT, memory type 7", PROC2_ENABLE_EPT, EPML4 | (3u << 3) | 7, 0, false },
    { "EPT, walk length 3", PROC2_ENABLE_EPT, EPML4 | (2u << 3) | 6, 0, false },
    { "EPT, walk length 5 (not advertised)", PROC2_ENABLE_EPT, EPML4 | (4u << 3) | 6, 0, false },
    { "EPT, bit 7", PROC2_ENABLE_EPT, EPTP_WB4 | (1u << 7), 0, false },
    { "EPT, bit 11", PROC2_ENABLE_EPT, EPTP_WB4 | (1u << 11), 0, false },
    { "EPT, bit 46 (MAXPHYADDR)", PROC2_ENABLE_EPT, EPTP_WB4 | (1ull << 46), 0, false },
    { "EPT, bit 63", PROC2_ENABLE_EPT, EPTP_WB4 | (1ull << 63), 0, false },
    { "VPID 1", PROC2_ENABLE_EPT | PROC2_ENABLE_VPID, EPTP_WB4, 1, true },
    { "VPID 0 with enable VPID", PROC2_ENABLE_EPT | PROC2_ENABLE_VPID, EPTP_WB4, 0, false },
    { "VPID without EPT", PROC2_ENABLE_VPID, 0, 0xffff, true },
    { "unrestricted guest without EPT", PROC2_UNRESTRICTED_GUEST, EPTP_WB4, 0, false },
    { "bad EPTP ignored without EPT", 0, ~0ull, 0, true },
};

START_TEST(entry_checks_ept_vpid)
{
    const struct entry_case *k = &entry_cases[_i];
    put(VMCS_secondary_vm_exec_control, k->proc2);
    put(VMCS_ept_pointer, k->eptp);
    put(VMCS_virtual_processor_id, k->vpid);
    put(VMCS_vm_instruction_error, 0);
    th_load(c, GUEST_CODE, (const uint8_t[]){ HLT }, 1);
    th_load(c, ROOT_CODE, (const uint8_t[]){ 0x0f, 0x01, 0xc2, HLT }, 4);
    th_start_at(c, ROOT_CODE);
    cpu_set_rflags(c, FL_FIXED1);
    cpu_run(c, 1);
    if (k->ok) {
        ck_assert_msg(c->vmx_nonroot, "%s: not entered (error %llu)", k->what,
                      (unsigned long long)get(VMCS_vm_instruction_error));
        ck_assert_int_eq(c->nr.ept, (k->proc2 & PROC2_ENABLE_EPT) != 0);
        return;
    }
    ck_assert_msg(!c->vmx_nonroot && (cpu_get_rflags(c) & FL_ZF), "%s: entered", k->what);
    ck_assert_uint_eq(get(VMCS_vm_instruction_error), VMX_INSN_ERR_ENTRY_INVALID_CONTROL);
}
END_TEST

/* ---- unrestricted guest (SDM 3C "Unrestricted Guests") ------------------------------------ */

/* A real-mode guest: CR0.PE = PG = 0, real-mode segments; allowed only
 * with "unrestricted guest" (which needs EPT). */
static void real_mode_guest(void)
{
    put(VMCS_secondary_vm_exec_control, PROC2_ENABLE_EPT | PROC2_UNRESTRICTED_GUEST);
    put(VMCS_vm_entry_controls, ENTRY_D1);
    put(VMCS_guest_cr0, CR0_ET | CR0_NE);
    put(VMCS_guest_cr4, CR4_VMXE);
    put(VMCS_guest_ia32_efer, 0);
    set_seg(SEG_CS, (uint16_t)(GUEST_CODE >> 4), GUEST_CODE, 0xffff, 0x9b);
    for (unsigned s = 0; s < SEG_NSEGS; s++)
        if (s != SEG_CS)
            set_seg(s, (uint16_t)(DATA >> 4), DATA, 0xffff, 0x93);
    put(VMCS_guest_rsp, 0x8000);
}

static uint32_t run_real(const uint8_t *code, size_t n, bool resume)
{
    th_load(c, GUEST_CODE, code, n);
    th_load(c, ROOT_CODE, (const uint8_t[]){ 0x0f, 0x01, resume ? 0xc3 : 0xc2, HLT }, 4);
    put(VMCS_guest_rip, 0);
    th_start_at(c, ROOT_CODE);
    cpu_set_rflags(c, FL_FIXED1);
    enum cpu_stop s = cpu_run(c, 200);
    ck_assert_msg(s == CPU_STOP_HLT_FOREVER && c->rip == HOST_RIP + 1,
                  "no VM exit: stop %d rip 0x%llx nonroot %d error %llu", s, (unsigned long long)c->rip,
                  c->vmx_nonroot, (unsigned long long)get(VMCS_vm_instruction_error));
    return (uint32_t)get(VMCS_vm_exit_reason);
}

/* Real mode under EPT: the real-mode address DS:0x10 is guest-physical
 * DATA + 0x10, which EPT maps to DATA2 + 0x10. */
START_TEST(real_mode_guest_under_ept)
{
    real_mode_guest();
    *ram64(DATA + 0x10) = 0x1111;
    *ram64(DATA2 + 0x10) = 0x2222;
    *ept_pte(DATA) = DATA2 | EPT_RWX | WB;
    static const uint8_t code[] = { 0xa1, 0x10, 0x00, HLT }; /* mov ax, [0x10]; hlt */
    uint32_t r = run_real(code, sizeof code, false);
    ck_assert_msg(r == VMX_EXIT_hlt, "exit %u (qualification 0x%llx)", r,
                  (unsigned long long)get(VMCS_exit_qualification));
    ck_assert_uint_eq(c->gpr[0] & 0xffff, 0x2222);
    ck_assert_uint_eq(get(VMCS_guest_cr0) & (CR0_PE | CR0_PG), 0);
    ck_assert_uint_eq(get(VMCS_guest_rip), 3);
    /* an EPT violation in real mode: the linear address is the real-mode
     * one, a user-mode, writable linear address (CR0.PG = 0) */
    *ept_pte(DATA) = DATA2 | EPT_R | WB;
    static const uint8_t store[] = { 0xa3, 0x10, 0x00, HLT }; /* mov [0x10], ax */
    r = run_real(store, sizeof store, true);
    ck_assert_uint_eq(r, VMX_EXIT_ept_violation);
    ck_assert_uint_eq(get(VMCS_exit_qualification), EPT_QUAL_WRITE | EPT_QUAL_READABLE | QV);
    ck_assert_uint_eq(get(VMCS_guest_physical_address), DATA + 0x10);
    ck_assert_uint_eq(get(VMCS_guest_linear_address), DATA + 0x10);
}
END_TEST

/* Without "unrestricted guest" the same guest fails the guest-state
 * checks (CR0 vs IA32_VMX_CR0_FIXED0: PE and PG are fixed to 1). */
START_TEST(real_mode_guest_needs_unrestricted_guest)
{
    real_mode_guest();
    put(VMCS_secondary_vm_exec_control, PROC2_ENABLE_EPT);
    th_load(c, ROOT_CODE, (const uint8_t[]){ 0x0f, 0x01, 0xc2, HLT }, 4);
    th_start_at(c, ROOT_CODE);
    cpu_run(c, 10);
    ck_assert(!c->vmx_nonroot);
    ck_assert_uint_eq(get(VMCS_vm_exit_reason), 0x80000000u | VMX_EXIT_entry_fail_guest_state);
}
END_TEST

/* Unpaged protected mode, and a guest MOV to CR0 that clears PE: allowed in
 * non-root operation with "unrestricted guest" although
 * IA32_VMX_CR0_FIXED0 has PE set. */
START_TEST(unpaged_protected_guest_clears_pe)
{
    real_mode_guest();
    put(VMCS_guest_cr0, CR0_PE | CR0_ET | CR0_NE);
    set_seg(SEG_CS, 0x08, 0, 0xffffffffu, 0xc09b);
    for (unsigned s = 0; s < SEG_NSEGS; s++)
        if (s != SEG_CS)
            set_seg(s, 0x10, 0, 0xffffffffu, 0xc093);
    *ram64(DATA) = 0x600d;
    /* mov eax, [DATA]; mov ecx, cr0; and cl, 0xfe; mov cr0, ecx; hlt */
    static const uint8_t code[] = { 0xa1, 0x00, 0x00, 0x02, 0x00, 0x0f, 0x20, 0xc1,
                                    0x80, 0xe1, 0xfe, 0x0f, 0x22, 0xc1, HLT };
    th_load(c, GUEST_CODE, code, sizeof code);
    th_load(c, ROOT_CODE, (const uint8_t[]){ 0x0f, 0x01, 0xc2, HLT }, 4);
    put(VMCS_guest_rip, GUEST_CODE);
    th_start_at(c, ROOT_CODE);
    cpu_set_rflags(c, FL_FIXED1);
    cpu_run(c, 200);
    ck_assert_msg(c->rip == HOST_RIP + 1, "rip 0x%llx nonroot %d", (unsigned long long)c->rip, c->vmx_nonroot);
    expect_exit((uint32_t)get(VMCS_vm_exit_reason), VMX_EXIT_hlt, GUEST_CODE + sizeof code - 1);
    ck_assert_uint_eq(c->gpr[0] & 0xffffffff, 0x600d);
    ck_assert_uint_eq(get(VMCS_guest_cr0) & CR0_PE, 0);
}
END_TEST

static Suite *vmx_ept_suite(void)
{
    Suite *s = suite_create("vmx_ept");
    TCase *tc = tcase_create("translation");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, identity_ept_guest_runs);
    tcase_add_test(tc, ept_remaps_guest_physical);
    tcase_add_loop_test(tc, violation_qualification, 0,
                        (int)(sizeof violation_cases / sizeof violation_cases[0]));
    tcase_add_test(tc, violation_on_guest_paging_structure);
    tcase_add_test(tc, misconfiguration_exit);
    tcase_add_test(tc, accessed_and_dirty_flags);
    suite_add_tcase(s, tc);

    tc = tcase_create("vpid");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, stale_translation_survives_only_where_allowed, 0, 8);
    tcase_add_loop_test(tc, root_translations_and_vpid, 0, 2);
    tcase_add_loop_test(tc, ept_paging_structure_caches, 0, 7);
    suite_add_tcase(s, tc);

    tc = tcase_create("invept_invvpid");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, inv_operand_checks, 0, (int)(sizeof inv_cases / sizeof inv_cases[0]));
    tcase_add_loop_test(tc, inv_faults_and_fail_invalid, 0, 2);
    tcase_add_loop_test(tc, inv_exits_in_nonroot, 0, 2);
    suite_add_tcase(s, tc);

    tc = tcase_create("unrestricted_guest");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, real_mode_guest_under_ept);
    tcase_add_test(tc, real_mode_guest_needs_unrestricted_guest);
    tcase_add_test(tc, unpaged_protected_guest_clears_pe);
    suite_add_tcase(s, tc);

    tc = tcase_create("pae");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, pae_mov_cr3_loads_pdptes_through_ept);
    tcase_add_test(tc, pae_pdpte_field_reserved_bit_fails_entry);
    suite_add_tcase(s, tc);

    tc = tcase_create("entry_checks");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, entry_checks_ept_vpid, 0, (int)(sizeof entry_cases / sizeof entry_cases[0]));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(vmx_ept_suite());
}
