/* VM exits and VMX non-root operation: a 64-bit guest (bytes in RAM) runs
 * under a VMCS set up in the VMCS cache; each case takes one exit and checks
 * the exit reason, qualification, instruction length/information, the
 * saved guest state and the loaded host state (SDM 3C "VMX Non-Root
 * Operation", "VM Exits"). The host code is a HLT with RFLAGS.IF = 0, so a
 * run ends right after the exit. */
#include "vmx_exit_fixture.h"

/* ---- recording and host state ------------------------------------------------- */

START_TEST(cpuid_exits_and_loads_host_state)
{
    c->gpr[0] = 0;
    c->sysenter_cs = 0x1234;
    uint64_t before = c->stats.insns;
    expect_exit(RUN(CPUID), VMX_EXIT_cpuid, GUEST_CODE);
    ck_assert_uint_eq(vget(VMCS_vm_exit_instruction_len), 2);
    ck_assert_uint_eq(c->gpr[0], 0); /* CPUID did not execute */
    ck_assert_uint_eq(vget(VMCS_guest_rsp), GUEST_STACK);
    ck_assert_uint_eq(vget(VMCS_guest_sysenter_cs), 0x1234);
    ck_assert_uint_eq(vget(VMCS_guest_cs_selector), SEL_CODE);
    ck_assert_uint_eq(vget(VMCS_guest_tr_ar_bytes), 0x8b);
    ck_assert_uint_eq(vget(VMCS_idt_vectoring_info_field), 0);
    ck_assert_uint_eq(vget(VMCS_vm_exit_intr_info), 0);
    ck_assert_uint_eq(c->stats.insns - before, 1); /* the host HLT */
    /* SDM 3C "Loading Host Segment and Descriptor-Table Registers" */
    ck_assert_uint_eq(c->gpr[4], HOST_STACK);
    ck_assert_uint_eq(cpu_get_rflags(c), 2);
    ck_assert_uint_eq(c->cr3, PML4);
    ck_assert_uint_eq(c->dr[7], 0x400);
    ck_assert_uint_eq(c->sysenter_cs, 0x60);
    ck_assert_uint_eq(c->sysenter_esp, 0x7000);
    ck_assert_uint_eq(c->seg[SEG_CS].sel, SEL_CODE);
    ck_assert_uint_eq(c->seg[SEG_CS].ar, 0xb | AR_S | AR_P | AR_G | AR_L);
    ck_assert_uint_eq(c->seg[SEG_CS].limit, 0xffffffffu);
    ck_assert_uint_eq(c->seg[SEG_SS].ar, 0x3 | AR_S | AR_P | AR_DB | AR_G);
    ck_assert(c->seg[SEG_ES].ar & AR_UNUSABLE);
    ck_assert(c->seg[SEG_FS].ar & AR_UNUSABLE);
    ck_assert_uint_eq(c->seg[SEG_FS].base, HOST_FS_BASE);
    ck_assert_uint_eq(c->tr.ar, 0x8b);
    ck_assert_uint_eq(c->tr.limit, 0x67);
    ck_assert_uint_eq(c->tr.base, TSS_BASE);
    ck_assert(c->ldtr.ar & AR_UNUSABLE);
    ck_assert_uint_eq(c->gdtr.limit, 0xffff);
    ck_assert_uint_eq(c->idtr.limit, 0xffff);
    ck_assert_uint_eq(c->efer & (EFER_LMA | EFER_LME), EFER_LMA | EFER_LME);
    ck_assert_int_eq(c->cpl, 0);
    ck_assert_uint_eq(v->stats.exits[VMX_EXIT_cpuid], 1);
    ck_assert_uint_eq(vget(VMCS_guest_activity_state), VMX_ACTIVITY_ACTIVE);
}
END_TEST

/* "... VM exits clear the valid bit of the VM-entry interruption-information
 * field" and every exit charges the vm_exit cost. */
START_TEST(exit_clears_entry_injection_and_charges_cost)
{
    vset(VMCS_vm_entry_intr_info_field, VMX_INTR_INFO_VALID | 0x30);
    uint64_t before = c->cycles;
    expect_exit(RUN(CPUID), VMX_EXIT_cpuid, GUEST_CODE);
    ck_assert_uint_eq(vget(VMCS_vm_entry_intr_info_field), 0x30);
    ck_assert_uint_ge(c->cycles - before, cost.cycles[COST_vm_exit]);
}
END_TEST

/* ---- instruction exits -------------------------------------------------------- */

/* Each row: guest bytes (the exiting instruction first, then CPUID so that
 * a missing exit shows as reason 10 at the next RIP), controls, expected
 * reason, length, qualification and instruction information. */
struct insn_case {
    const char *what;
    uint8_t code[12];
    uint8_t len;
    uint32_t proc, proc2;
    uint64_t rax, rbx, rdx;
    uint32_t reason;
    uint64_t qual;
    uint32_t info;
};

#define P2 PROC_ACTIVATE_SECONDARY_CONTROLS
static const struct insn_case insn_cases[] = {
    { "hlt", { 0xf4 }, 1, PROC_HLT_EXITING, 0, 0, 0, 0, VMX_EXIT_hlt, 0, 0 },
    { "invlpg [rax]", { 0x0f, 0x01, 0x38 }, 3, PROC_INVLPG_EXITING, 0, 0x1234, 0, 0,
      VMX_EXIT_invlpg, 0x1234, 0 },
    { "invlpg without exiting", { 0x0f, 0x01, 0x38 }, 3, 0, 0, 0x1234, 0, 0, VMX_EXIT_cpuid, 0,
      0 },
    { "rdtsc", { 0x0f, 0x31 }, 2, PROC_RDTSC_EXITING, 0, 0, 0, 0, VMX_EXIT_rdtsc, 0, 0 },
    { "rdtscp", { 0x0f, 0x01, 0xf9 }, 3, PROC_RDTSC_EXITING | P2, PROC2_ENABLE_RDTSCP, 0, 0, 0,
      VMX_EXIT_rdtscp, 0, 0 },
    { "invd", { 0x0f, 0x08 }, 2, 0, 0, 0, 0, 0, VMX_EXIT_invd, 0, 0 },
    { "wbinvd", { 0x0f, 0x09 }, 2, P2, PROC2_WBINVD_EXITING, 0, 0, 0, VMX_EXIT_wbinvd, 0, 0 },
    { "wbinvd without exiting", { 0x0f, 0x09 }, 2, P2, 0, 0, 0, 0, VMX_EXIT_cpuid, 0, 0 },
    { "pause", { 0xf3, 0x90 }, 2, PROC_PAUSE_EXITING, 0, 0, 0, 0, VMX_EXIT_pause, 0, 0 },
    /* SDM 3C "Exit Qualification for Control-Register Accesses" */
    { "mov rax, cr3", { 0x0f, 0x20, 0xd8 }, 3, PROC_CR3_STORE_EXITING, 0, 0, 0, 0,
      VMX_EXIT_cr_access, 0x13, 0 },
    { "mov cr3, rbx", { 0x0f, 0x22, 0xdb }, 3, PROC_CR3_LOAD_EXITING, 0, 0, PML4, 0,
      VMX_EXIT_cr_access, 0x303, 0 },
    { "mov cr8, rax", { 0x44, 0x0f, 0x22, 0xc0 }, 4, PROC_CR8_LOAD_EXITING, 0, 0, 0, 0,
      VMX_EXIT_cr_access, 0x08, 0 },
    { "mov rcx, cr8", { 0x44, 0x0f, 0x20, 0xc1 }, 4, PROC_CR8_STORE_EXITING, 0, 0, 0, 0,
      VMX_EXIT_cr_access, 0x118, 0 },
    { "mov rax, cr0 never exits", { 0x0f, 0x20, 0xc0 }, 3, PROC_CR3_STORE_EXITING, 0, 0, 0, 0,
      VMX_EXIT_cpuid, 0, 0 },
    /* SDM 3C "Exit Qualification for MOV DR" */
    { "mov dr7, rax", { 0x0f, 0x23, 0xf8 }, 3, PROC_MOV_DR_EXITING, 0, 0x400, 0, 0,
      VMX_EXIT_dr_access, 0x007, 0 },
    { "mov rbx, dr0", { 0x0f, 0x21, 0xc3 }, 3, PROC_MOV_DR_EXITING, 0, 0, 0, 0,
      VMX_EXIT_dr_access, 0x310, 0 },
    /* SDM 3C "Exit Qualification for I/O Instructions" */
    { "out 0x80, al", { 0xe6, 0x80 }, 2, PROC_UNCONDITIONAL_IO_EXITING, 0, 0, 0, 0,
      VMX_EXIT_io_instruction, 0x800040, 0 },
    { "in eax, dx", { 0xed }, 1, PROC_UNCONDITIONAL_IO_EXITING, 0, 0, 0, 0x3f8,
      VMX_EXIT_io_instruction, 0x3f8000b, 0 },
    { "out dx, ax", { 0x66, 0xef }, 2, PROC_UNCONDITIONAL_IO_EXITING, 0, 0, 0, 0x70,
      VMX_EXIT_io_instruction, 0x700001, 0 },
    { "out without exiting", { 0xe6, 0x80 }, 2, 0, 0, 0, 0, 0, VMX_EXIT_cpuid, 0, 0 },
    { "rdmsr", { 0x0f, 0x32 }, 2, 0, 0, 0, 0, 0, VMX_EXIT_rdmsr, 0, 0 },
    { "wrmsr", { 0x0f, 0x30 }, 2, 0, 0, 0, 0, 0, VMX_EXIT_wrmsr, 0, 0 },
    /* SDM 3C "Format of the VM-Exit Instruction-Information Field as Used
     * for LIDT, LGDT, SIDT, or SGDT": address size 64 (2 << 7), operand
     * size 32 (bit 11), DS (3 << 15), no index (bit 22), base RBX (3 << 23) */
    { "sgdt [rbx]", { 0x0f, 0x01, 0x03 }, 3, P2, PROC2_DESCRIPTOR_TABLE_EXITING, 0, DATA, 0,
      VMX_EXIT_gdtr_idtr_access, 0, 0x01c18900 },
    { "lidt [rbx+0x10]", { 0x0f, 0x01, 0x5b, 0x10 }, 4, P2, PROC2_DESCRIPTOR_TABLE_EXITING, 0,
      DATA, 0, VMX_EXIT_gdtr_idtr_access, 0x10, 0x31c18900 },
    /* "... LLDT, LTR, SLDT, and STR": register form, bit 10, reg in 6:3 */
    { "sldt eax", { 0x0f, 0x00, 0xc0 }, 3, P2, PROC2_DESCRIPTOR_TABLE_EXITING, 0, 0, 0,
      VMX_EXIT_ldtr_tr_access, 0, 0x500 },
    { "ltr cx", { 0x0f, 0x00, 0xd9 }, 3, P2, PROC2_DESCRIPTOR_TABLE_EXITING, 0, 0, 0,
      VMX_EXIT_ldtr_tr_access, 0, 0x30000508 },
    { "sgdt without exiting", { 0x0f, 0x01, 0x03 }, 3, P2, 0, 0, DATA, 0, VMX_EXIT_cpuid, 0, 0 },
    /* "... INVEPT, INVPCID, and INVVPID": base RBX, register RAX (31:28) */
    { "invpcid rax, [rbx]", { 0x66, 0x0f, 0x38, 0x82, 0x03 }, 5, PROC_INVLPG_EXITING | P2,
      PROC2_ENABLE_INVPCID, 0, DATA, 0, VMX_EXIT_invpcid, 0, 0x01c18100 },
};

START_TEST(instruction_exits)
{
    const struct insn_case *t = &insn_cases[_i];
    uint8_t code[16];

    memcpy(code, t->code, t->len);
    code[t->len] = 0x0f;
    code[t->len + 1] = 0xa2;
    vset(VMCS_cpu_based_vm_exec_control, t->proc);
    vset(VMCS_secondary_vm_exec_control, t->proc2);
    c->gpr[0] = t->rax;
    c->gpr[3] = t->rbx;
    c->gpr[2] = t->rdx;
    c->gpr[1] = 0x174; /* RDMSR/WRMSR: IA32_SYSENTER_CS */
    enum cpu_stop s = run_guest(code, t->len + 2u);
    bool at_insn = t->reason != VMX_EXIT_cpuid;
    ck_assert_msg(vget(VMCS_vm_exit_reason) == t->reason, "%s: reason %llu, expected %u",
                  t->what, (unsigned long long)vget(VMCS_vm_exit_reason), t->reason);
    expect_exit(s, t->reason, GUEST_CODE + (at_insn ? 0 : t->len));
    ck_assert_msg(vget(VMCS_vm_exit_instruction_len) == (at_insn ? t->len : 2u),
                  "%s: length %llu", t->what,
                  (unsigned long long)vget(VMCS_vm_exit_instruction_len));
    ck_assert_msg(vget(VMCS_exit_qualification) == t->qual, "%s: qualification 0x%llx, "
                  "expected 0x%llx", t->what, (unsigned long long)vget(VMCS_exit_qualification),
                  (unsigned long long)t->qual);
    if (at_insn && t->info)
        ck_assert_msg(vget(VMCS_vmx_instruction_info) == t->info,
                      "%s: instruction information 0x%llx, expected 0x%x", t->what,
                      (unsigned long long)vget(VMCS_vmx_instruction_info), t->info);
}
END_TEST

/* "enable RDTSCP" = 0 makes RDTSCP #UD, which the exception bitmap sees. */
START_TEST(rdtscp_without_enable_is_ud)
{
    vset(VMCS_cpu_based_vm_exec_control, PROC_RDTSC_EXITING);
    vset(VMCS_exception_bitmap, 1u << EXC_UD);
    expect_exit(RUN(0x0f, 0x01, 0xf9), VMX_EXIT_exception_nmi, GUEST_CODE);
    ck_assert_uint_eq(vget(VMCS_vm_exit_intr_info), VMX_INTR_INFO_VALID | (3u << 8) | EXC_UD);
}
END_TEST

/* LMSW (SDM 3C "Exit Qualification for Control-Register Accesses"): access
 * type 3, source data in 31:16; memory operands set bit 6 and give the
 * guest-linear address. */
START_TEST(lmsw_exits_on_owned_bit_change)
{
    vset(VMCS_cr0_guest_host_mask, CR0_MP);
    vset(VMCS_cr0_read_shadow, 0);
    c->gpr[0] = CR0_MP | CR0_PE;
    expect_exit(RUN(0x0f, 0x01, 0xf0, CPUID), VMX_EXIT_cr_access, GUEST_CODE); /* lmsw ax */
    ck_assert_uint_eq(vget(VMCS_exit_qualification), 0x30030);

    cpu_write_phys(c, DATA, 2, CR0_MP | CR0_PE);
    c->gpr[3] = DATA;
    expect_exit(RUN(0x0f, 0x01, 0x33, CPUID), VMX_EXIT_cr_access, GUEST_CODE); /* lmsw [rbx] */
    ck_assert_uint_eq(vget(VMCS_exit_qualification), 0x30070);
    ck_assert_uint_eq(vget(VMCS_guest_linear_address), DATA);
}
END_TEST

START_TEST(lmsw_keeps_owned_bits_without_exit)
{
    uint64_t cr0 = c->cr0 | CR0_MP;
    c->cr0 = cr0;
    vset(VMCS_cr0_guest_host_mask, CR0_MP);
    vset(VMCS_cr0_read_shadow, 0);
    c->gpr[0] = CR0_PE | CR0_TS; /* MP = 0 = shadow: no exit; TS is the guest's */
    expect_exit(RUN(0x0f, 0x01, 0xf0, CPUID), VMX_EXIT_cpuid, GUEST_CODE + 3);
    ck_assert_uint_eq(vget(VMCS_guest_cr0) & (CR0_MP | CR0_TS), CR0_MP | CR0_TS);
}
END_TEST

/* CLTS exits only when TS is owned and the shadow has TS = 1; with TS owned
 * and shadow TS = 0 it leaves CR0.TS alone. */
START_TEST(clts_rules)
{
    c->cr0 |= CR0_TS;
    vset(VMCS_cr0_guest_host_mask, CR0_TS);
    vset(VMCS_cr0_read_shadow, CR0_TS);
    expect_exit(RUN(0x0f, 0x06, CPUID), VMX_EXIT_cr_access, GUEST_CODE);
    ck_assert_uint_eq(vget(VMCS_exit_qualification), 0x20);

    vset(VMCS_cr0_read_shadow, 0);
    c->cr0 |= CR0_TS; /* the exit loaded the host's CR0 */
    expect_exit(RUN(0x0f, 0x06, CPUID), VMX_EXIT_cpuid, GUEST_CODE + 2);
    ck_assert(vget(VMCS_guest_cr0) & CR0_TS);

    vset(VMCS_cr0_guest_host_mask, 0);
    c->cr0 |= CR0_TS;
    expect_exit(RUN(0x0f, 0x06, CPUID), VMX_EXIT_cpuid, GUEST_CODE + 2);
    ck_assert(!(vget(VMCS_guest_cr0) & CR0_TS));
}
END_TEST

/* SDM 3C "Changes to Instruction Behavior in VMX Non-Root Operation": MOV
 * from CR0/CR4 and SMSW read the shadow for owned bits; a MOV to CR0 whose
 * owned bits equal the shadow does not exit and leaves them unchanged. */
START_TEST(cr0_cr4_mask_and_shadow)
{
    uint64_t cr0 = c->cr0 & ~CR0_TS;
    c->cr0 = cr0;
    vset(VMCS_cr0_guest_host_mask, CR0_TS | CR0_AM);
    vset(VMCS_cr0_read_shadow, CR0_TS);
    vset(VMCS_cr4_guest_host_mask, CR4_PGE);
    vset(VMCS_cr4_read_shadow, 0);
    c->gpr[3] = cr0 | CR0_TS | CR0_MP; /* TS as the shadow says, AM = 0 as shadow */
    /* mov rax, cr0; mov rcx, cr4; smsw edx; mov cr0, rbx; cpuid */
    expect_exit(RUN(0x0f, 0x20, 0xc0, 0x0f, 0x20, 0xe1, 0x0f, 0x01, 0xe2, 0x0f, 0x22, 0xc3,
                    CPUID),
                VMX_EXIT_cpuid, GUEST_CODE + 12);
    ck_assert_uint_eq(c->gpr[0] & 0xffffffffull, (cr0 | CR0_TS) & 0xffffffffull);
    ck_assert_uint_eq(c->gpr[1] & CR4_PGE, 0);
    ck_assert_uint_eq(c->gpr[2] & 0xffff, (cr0 | CR0_TS) & 0xffff);
    /* TS stays the host's 0; MP (guest-owned) was written */
    ck_assert_uint_eq(vget(VMCS_guest_cr0) & (CR0_TS | CR0_MP), CR0_MP);

    c->gpr[3] = cr0 | CR0_AM; /* owned AM differs from the shadow: exit */
    expect_exit(RUN(0x0f, 0x22, 0xc3, CPUID), VMX_EXIT_cr_access, GUEST_CODE);
    ck_assert_uint_eq(vget(VMCS_exit_qualification), 0x300);
}
END_TEST

/* CR3-target values: a load of one of the first CR3-target-count values
 * does not exit. */
START_TEST(cr3_target_values)
{
    vset(VMCS_cpu_based_vm_exec_control, PROC_CR3_LOAD_EXITING);
    vset(VMCS_cr3_target_count, 2);
    vset(VMCS_cr3_target_value0, 0x9000);
    vset(VMCS_cr3_target_value1, PML4);
    vset(VMCS_cr3_target_value2, 0x8000);
    c->gpr[3] = PML4;
    expect_exit(RUN(0x0f, 0x22, 0xdb, CPUID), VMX_EXIT_cpuid, GUEST_CODE + 3);
    c->gpr[3] = 0x8000; /* target 2 is beyond the count */
    expect_exit(RUN(0x0f, 0x22, 0xdb, CPUID), VMX_EXIT_cr_access, GUEST_CODE);
}
END_TEST

/* TSC offsetting: RDTSC returns TSC + offset when it does not exit. */
START_TEST(tsc_offsetting)
{
    const uint64_t off = 1ull << 40;
    vset(VMCS_cpu_based_vm_exec_control, PROC_USE_TSC_OFFSETTING);
    vset(VMCS_tsc_offset, off);
    uint64_t t0 = cpu_tsc(c);
    expect_exit(RUN(0x0f, 0x31, CPUID), VMX_EXIT_cpuid, GUEST_CODE + 2);
    uint64_t t = (c->gpr[2] << 32) | (uint32_t)c->gpr[0];
    ck_assert_uint_ge(t, t0 + off);
    ck_assert_uint_le(t, cpu_tsc(c) + off);
}
END_TEST

/* ---- I/O and MSR bitmaps -------------------------------------------------------- */

static void io_bitmaps(unsigned port_with_bit)
{
    for (unsigned i = 0; i < 4096; i += 8) {
        cpu_write_phys(c, IO_BITMAP_A + i, 8, 0);
        cpu_write_phys(c, IO_BITMAP_B + i, 8, 0);
    }
    uint64_t bm = port_with_bit < 0x8000 ? IO_BITMAP_A : IO_BITMAP_B;
    cpu_write_phys(c, bm + ((port_with_bit & 0x7fff) >> 3), 1, 1u << (port_with_bit & 7));
    vset(VMCS_io_bitmap_a, IO_BITMAP_A);
    vset(VMCS_io_bitmap_b, IO_BITMAP_B);
    /* with bitmaps, unconditional I/O exiting is ignored */
    vset(VMCS_cpu_based_vm_exec_control, PROC_USE_IO_BITMAPS | PROC_UNCONDITIONAL_IO_EXITING);
}

/* SDM 3C "I/O Bitmaps": every port of the access is checked; an access
 * that wraps past FFFF exits. */
static const struct { const char *what; unsigned bit; uint16_t dx; uint8_t code[2]; uint8_t len;
                      bool exits; } io_cases[] = {
    { "byte at the set port", 0x81, 0x81, { 0xee }, 1, true },
    { "byte next to it", 0x81, 0x80, { 0xee }, 1, false },
    { "word covering it", 0x81, 0x80, { 0x66, 0xef }, 2, true },
    { "dword covering it", 0x81, 0x7e, { 0xef }, 1, true },
    { "bitmap B", 0x9000, 0x9000, { 0xec }, 1, true },
    { "wraparound", 0x10, 0xffff, { 0x66, 0xed }, 2, true },
    { "last port", 0x10, 0xffff, { 0xec }, 1, false },
};

START_TEST(io_bitmap_exits)
{
    uint8_t code[4];
    io_bitmaps(io_cases[_i].bit);
    memcpy(code, io_cases[_i].code, io_cases[_i].len);
    code[io_cases[_i].len] = 0x0f;
    code[io_cases[_i].len + 1] = 0xa2;
    c->gpr[2] = io_cases[_i].dx;
    enum cpu_stop s = run_guest(code, io_cases[_i].len + 2u);
    uint32_t reason = io_cases[_i].exits ? VMX_EXIT_io_instruction : VMX_EXIT_cpuid;
    ck_assert_msg(vget(VMCS_vm_exit_reason) == reason, "%s: reason %llu", io_cases[_i].what,
                  (unsigned long long)vget(VMCS_vm_exit_reason));
    expect_exit(s, reason, GUEST_CODE + (io_cases[_i].exits ? 0 : io_cases[_i].len));
    if (io_cases[_i].exits)
        ck_assert_uint_eq(vget(VMCS_exit_qualification) >> 16, io_cases[_i].dx);
}
END_TEST

/* OUTS: string and REP bits, the linear address of the source. */
START_TEST(outs_qualification_and_linear_address)
{
    vset(VMCS_cpu_based_vm_exec_control, PROC_UNCONDITIONAL_IO_EXITING);
    c->gpr[2] = 0x3f8;
    c->gpr[6] = DATA + 8;
    c->gpr[1] = 3;
    expect_exit(RUN(0xf3, 0x6e), VMX_EXIT_io_instruction, GUEST_CODE); /* rep outsb */
    ck_assert_uint_eq(vget(VMCS_exit_qualification), (0x3f8ull << 16) | 0x30);
    ck_assert_uint_eq(vget(VMCS_guest_linear_address), DATA + 8);
    ck_assert_uint_eq(vget(VMCS_vmx_instruction_info), (2u << 7) | (3u << 15));
    ck_assert_uint_eq(c->gpr[1], 3); /* nothing was transferred */
}
END_TEST

static void msr_bitmap_bit(uint32_t msr, bool write)
{
    uint32_t off = (msr >= 0xc0000000u ? 1024 : 0) + (write ? 2048 : 0);
    uint32_t bit = msr & 0x1fff;
    uint64_t pa = MSR_BITMAP + off + (bit >> 3);
    cpu_write_phys(c, pa, 1, cpu_read_phys(c, pa, 1) | (1u << (bit & 7)));
}

/* SDM 3C "MSR-Bitmap Address": read-low, read-high, write-low, write-high;
 * MSRs outside both ranges always exit. */
static const struct { const char *what; uint32_t msr; bool write; bool exits; } msr_cases[] = {
    { "rdmsr 0x174 (bit set)", 0x174, false, true },
    { "rdmsr 0x175 (clear)", 0x175, false, false },
    { "wrmsr 0x174 (write bit clear)", 0x174, true, false },
    { "wrmsr EFER (bit set, high)", 0xc0000080u, true, true },
    { "rdmsr EFER (read-high clear)", 0xc0000080u, false, false },
    { "rdmsr 0x40000000 (no bitmap)", 0x40000000u, false, true },
};

START_TEST(msr_bitmap_exits)
{
    for (unsigned i = 0; i < 4096; i += 8)
        cpu_write_phys(c, MSR_BITMAP + i, 8, 0);
    msr_bitmap_bit(0x174, false);
    msr_bitmap_bit(0xc0000080u, true);
    vset(VMCS_msr_bitmap, MSR_BITMAP);
    vset(VMCS_cpu_based_vm_exec_control, PROC_USE_MSR_BITMAPS);
    c->gpr[1] = msr_cases[_i].msr;
    if (msr_cases[_i].write) {
        c->gpr[0] = (uint32_t)(msr_cases[_i].msr == 0x174 ? 0x10 : c->efer);
        c->gpr[2] = msr_cases[_i].msr == 0x174 ? 0 : c->efer >> 32;
    }
    enum cpu_stop s = msr_cases[_i].write ? RUN(0x0f, 0x30, CPUID) : RUN(0x0f, 0x32, CPUID);
    uint32_t reason = !msr_cases[_i].exits ? VMX_EXIT_cpuid
                      : msr_cases[_i].write ? VMX_EXIT_wrmsr : VMX_EXIT_rdmsr;
    ck_assert_msg(vget(VMCS_vm_exit_reason) == reason, "%s: reason %llu", msr_cases[_i].what,
                  (unsigned long long)vget(VMCS_vm_exit_reason));
    expect_exit(s, reason, GUEST_CODE + (msr_cases[_i].exits ? 0 : 2));
}
END_TEST

/* ---- events ------------------------------------------------------------------ */

/* SDM 3C "Exception Bitmap": #UD with bit 6 set exits with the
 * interruption information (type 3 = hardware exception). */
START_TEST(exception_bitmap_ud)
{
    vset(VMCS_exception_bitmap, 1u << EXC_UD);
    expect_exit(RUN(0x0f, 0x0b), VMX_EXIT_exception_nmi, GUEST_CODE);
    ck_assert_uint_eq(vget(VMCS_vm_exit_intr_info), 0x80000306u);
    ck_assert_uint_eq(vget(VMCS_idt_vectoring_info_field), 0);
}
END_TEST

/* #PF error-code mask/match: a not-present read has PFEC 0. With bit 14
 * set the #PF exits iff (PFEC & mask) == match; with it clear, iff they
 * differ. A #PF that does not exit is delivered through an empty IDT,
 * which ends in a triple fault (reason 2). */
static const struct { uint32_t bit14, mask, match; bool exits; } pf_cases[] = {
    { 1, 0, 0, true },       { 1, PFEC_P, PFEC_P, false }, { 1, PFEC_W, 0, true },
    { 0, 0, 0, false },      { 0, PFEC_P, PFEC_P, true },  { 0, PFEC_W, 0, false },
};

START_TEST(page_fault_mask_match)
{
    vset(VMCS_exception_bitmap, pf_cases[_i].bit14 << EXC_PF);
    vset(VMCS_page_fault_error_code_mask, pf_cases[_i].mask);
    vset(VMCS_page_fault_error_code_match, pf_cases[_i].match);
    c->gpr[3] = UNMAPPED + 0x18;
    enum cpu_stop s = RUN(0x48, 0x8b, 0x03); /* mov rax, [rbx] */
    if (pf_cases[_i].exits) {
        expect_exit(s, VMX_EXIT_exception_nmi, GUEST_CODE);
        ck_assert_uint_eq(vget(VMCS_vm_exit_intr_info), 0x80000b0eu);
        ck_assert_uint_eq(vget(VMCS_vm_exit_intr_error_code), 0);
        ck_assert_uint_eq(vget(VMCS_exit_qualification), UNMAPPED + 0x18);
    } else {
        expect_exit(s, VMX_EXIT_triple_fault, GUEST_CODE);
    }
}
END_TEST

/* SDM 3C "Information for VM Exits That Occur During Event Delivery": a
 * #PF reading the IDT while delivering INT 0x20 exits with that event as
 * IDT-vectoring information (type 4 = software interrupt, its length). */
START_TEST(idt_vectoring_for_fault_during_delivery)
{
    c->idtr = (struct dtr){ .base = UNMAPPED, .limit = 0xfff };
    vset(VMCS_exception_bitmap, 1u << EXC_PF);
    expect_exit(RUN(0xcd, 0x20), VMX_EXIT_exception_nmi, GUEST_CODE);
    ck_assert_uint_eq(vget(VMCS_vm_exit_intr_info), 0x80000b0eu);
    ck_assert_uint_eq(vget(VMCS_exit_qualification), UNMAPPED + 0x20 * 16);
    ck_assert_uint_eq(vget(VMCS_idt_vectoring_info_field), 0x80000420u);
    ck_assert_uint_eq(vget(VMCS_vm_exit_instruction_len), 2);
}
END_TEST

/* The same for an external interrupt being delivered (type 0). */
START_TEST(idt_vectoring_for_external_interrupt)
{
    c->idtr = (struct dtr){ .base = UNMAPPED, .limit = 0xfff };
    vset(VMCS_exception_bitmap, 1u << EXC_PF);
    c->rflags |= FL_IF;
    cpu_raise_extint(c, 0x30);
    expect_exit(RUN(CPUID), VMX_EXIT_exception_nmi, GUEST_CODE);
    ck_assert_uint_eq(vget(VMCS_idt_vectoring_info_field), 0x80000030u);
}
END_TEST

START_TEST(triple_fault_exits)
{
    expect_exit(RUN(0x0f, 0x0b), VMX_EXIT_triple_fault, GUEST_CODE);
    ck_assert_uint_eq(vget(VMCS_vm_exit_intr_info), 0);
}
END_TEST

/* NMI exiting: reason 0 with NMI information (type 2, vector 2); the NMI
 * that caused the exit leaves NMIs blocked (SDM 3C "Updating Non-Register
 * State"). */
START_TEST(nmi_exiting)
{
    vset(VMCS_pin_based_vm_exec_control, PIN_NMI_EXITING);
    cpu_raise_nmi(c);
    expect_exit(RUN(CPUID), VMX_EXIT_exception_nmi, GUEST_CODE);
    ck_assert_uint_eq(vget(VMCS_vm_exit_intr_info), 0x80000202u);
    ck_assert(c->nmi_blocked);
    ck_assert(!c->nmi_pending);
    ck_assert_uint_eq(vget(VMCS_guest_interruptibility_info), 0);
}
END_TEST

/* External-interrupt exiting with and without "acknowledge interrupt on
 * exit", and with RFLAGS.IF = 0 (which does not block it). */
static const struct { bool ack; bool iflag; } extint_cases[] = {
    { true, true }, { false, true }, { true, false },
};

START_TEST(external_interrupt_exiting)
{
    vset(VMCS_pin_based_vm_exec_control, PIN_EXTERNAL_INTERRUPT_EXITING);
    if (extint_cases[_i].ack)
        vset(VMCS_vm_exit_controls, EXIT_HOST_ADDRESS_SPACE_SIZE | EXIT_ACK_INTERRUPT_ON_EXIT);
    if (extint_cases[_i].iflag)
        c->rflags |= FL_IF;
    else
        c->rflags &= ~FL_IF;
    cpu_raise_extint(c, 0x41);
    expect_exit(RUN(CPUID), VMX_EXIT_external_interrupt, GUEST_CODE);
    if (extint_cases[_i].ack) {
        ck_assert_uint_eq(vget(VMCS_vm_exit_intr_info), 0x80000041u);
        ck_assert_int_eq(c->extint_pending, -1);
    } else {
        ck_assert_uint_eq(vget(VMCS_vm_exit_intr_info) & VMX_INTR_INFO_VALID, 0);
        ck_assert_int_eq(c->extint_pending, 0x41);
    }
}
END_TEST

/* Interrupt-window exiting: after STI's one-instruction shadow. */
START_TEST(interrupt_window)
{
    vset(VMCS_cpu_based_vm_exec_control, PROC_INTERRUPT_WINDOW_EXITING);
    c->rflags &= ~FL_IF;
    expect_exit(RUN(0xfb, 0x90, 0x90, CPUID), VMX_EXIT_interrupt_window, GUEST_CODE + 2);
    ck_assert(vget(VMCS_guest_rflags) & FL_IF);
}
END_TEST

/* NMI-window exiting: at once without NMI blocking; never while blocked. */
START_TEST(nmi_window)
{
    vset(VMCS_cpu_based_vm_exec_control, PROC_NMI_WINDOW_EXITING);
    c->nmi_blocked = true;
    expect_exit(RUN(CPUID), VMX_EXIT_cpuid, GUEST_CODE);
    ck_assert_uint_eq(vget(VMCS_guest_interruptibility_info), VMX_INTERRUPTIBILITY_NMI);
    c->nmi_blocked = false;
    expect_exit(RUN(CPUID), VMX_EXIT_nmi_window, GUEST_CODE);
}
END_TEST

/* Virtual NMIs: the window follows virtual-NMI blocking. */
START_TEST(nmi_window_virtual_nmis)
{
    vset(VMCS_pin_based_vm_exec_control, PIN_NMI_EXITING | PIN_VIRTUAL_NMIS);
    vset(VMCS_cpu_based_vm_exec_control, PROC_NMI_WINDOW_EXITING);
    c->nmi_blocked = true; /* virtual-NMI blocking */
    expect_exit(RUN(CPUID), VMX_EXIT_cpuid, GUEST_CODE);
    ck_assert_uint_eq(vget(VMCS_guest_interruptibility_info), VMX_INTERRUPTIBILITY_NMI);
    ck_assert(!c->nmi_blocked); /* physical NMIs were never blocked */
    c->nmi_blocked = false;
    expect_exit(RUN(CPUID), VMX_EXIT_nmi_window, GUEST_CODE);
}
END_TEST

/* ---- MTF, preemption timer, PAUSE loops -------------------------------------- */

START_TEST(monitor_trap_flag)
{
    vset(VMCS_cpu_based_vm_exec_control, PROC_MONITOR_TRAP_FLAG);
    expect_exit(RUN(0x90, 0x90, CPUID), VMX_EXIT_monitor_trap_flag, GUEST_CODE + 1);
    ck_assert(!c->nr.single_step);
}
END_TEST

/* The timer (rate 2^5 cycles per tick from IA32_VMX_MISC) expires in a
 * guest loop; "save VMX-preemption timer value" saves 0 then. */
START_TEST(preemption_timer_expires)
{
    v->caps.msr[VMX_MSR_MISC] = 5;
    vset(VMCS_pin_based_vm_exec_control, PIN_ACTIVATE_PREEMPTION_TIMER);
    vset(VMCS_vm_exit_controls, EXIT_HOST_ADDRESS_SPACE_SIZE | EXIT_SAVE_PREEMPTION_TIMER);
    vset(VMCS_vmx_preemption_timer_value, 40);
    uint64_t start = c->cycles;
    expect_exit(RUN(0xeb, 0xfe), VMX_EXIT_preemption_timer, GUEST_CODE); /* jmp $ */
    ck_assert_uint_ge(c->cycles, start + (40u << 5));
    ck_assert_uint_eq(vget(VMCS_vmx_preemption_timer_value), 0);
}
END_TEST

/* An exit before expiry saves what is left. */
START_TEST(preemption_timer_value_saved)
{
    vset(VMCS_pin_based_vm_exec_control, PIN_ACTIVATE_PREEMPTION_TIMER);
    vset(VMCS_vm_exit_controls, EXIT_HOST_ADDRESS_SPACE_SIZE | EXIT_SAVE_PREEMPTION_TIMER);
    vset(VMCS_vmx_preemption_timer_value, 100000);
    expect_exit(RUN(0x90, CPUID), VMX_EXIT_cpuid, GUEST_CODE + 1);
    uint64_t left = vget(VMCS_vmx_preemption_timer_value);
    ck_assert_uint_gt(left, 0);
    ck_assert_uint_lt(left, 100000);
}
END_TEST

/* A HLTed guest wakes for the timer; the activity state is saved as HLT. */
START_TEST(preemption_timer_wakes_hlt)
{
    vset(VMCS_pin_based_vm_exec_control, PIN_ACTIVATE_PREEMPTION_TIMER);
    vset(VMCS_vmx_preemption_timer_value, 5000);
    uint64_t start = c->cycles;
    expect_exit(RUN(0xf4, CPUID), VMX_EXIT_preemption_timer, GUEST_CODE + 1);
    ck_assert_uint_eq(vget(VMCS_guest_activity_state), VMX_ACTIVITY_HLT);
    ck_assert_uint_ge(c->cycles, start + 5000);
}
END_TEST

/* PAUSE-loop exiting: a PAUSE loop longer than PLE_Window exits; each
 * iteration is within PLE_Gap. */
START_TEST(pause_loop_exiting)
{
    vset(VMCS_cpu_based_vm_exec_control, PROC_ACTIVATE_SECONDARY_CONTROLS);
    vset(VMCS_secondary_vm_exec_control, PROC2_PAUSE_LOOP_EXITING);
    vset(VMCS_ple_gap, 10000);
    vset(VMCS_ple_window, 3000);
    uint64_t start = c->cycles;
    expect_exit(RUN(0xf3, 0x90, 0xeb, 0xfc), VMX_EXIT_pause, GUEST_CODE); /* pause; jmp -4 */
    ck_assert_uint_ge(c->cycles, start + 3000);
}
END_TEST

/* ---- MSR lists and VMX abort ------------------------------------------------------ */

START_TEST(msr_store_and_load_lists)
{
    cpu_write_phys(c, MSR_STORE, 8, 0x174);
    cpu_write_phys(c, MSR_STORE + 8, 8, 0);
    cpu_write_phys(c, MSR_STORE + 16, 8, 0x277);
    cpu_write_phys(c, MSR_STORE + 24, 8, 0);
    vset(VMCS_vmexit_msr_store_addr, MSR_STORE);
    vset(VMCS_vm_exit_msr_store_count, 2);
    cpu_write_phys(c, MSR_LOAD, 8, 0x175);
    cpu_write_phys(c, MSR_LOAD + 8, 8, 0xfeed000);
    vset(VMCS_vmexit_msr_load_addr, MSR_LOAD);
    vset(VMCS_vm_exit_msr_load_count, 1);
    c->sysenter_cs = 0x55;
    c->pat = 0x0007040600070406ull;
    expect_exit(RUN(CPUID), VMX_EXIT_cpuid, GUEST_CODE);
    ck_assert_uint_eq(cpu_read_phys(c, MSR_STORE + 8, 8), 0x55);
    ck_assert_uint_eq(cpu_read_phys(c, MSR_STORE + 24, 8), 0x0007040600070406ull);
    /* the list is processed after the host-state fields */
    ck_assert_uint_eq(c->sysenter_esp, 0xfeed000);
}
END_TEST

/* SDM 3C "VMX Aborts": IA32_FS_BASE may not be in the VM-exit MSR-load
 * list; the abort indicator 4 goes to the VMCS region and the CPU stops. */
START_TEST(msr_load_failure_is_vmx_abort)
{
    cpu_write_phys(c, MSR_LOAD, 8, 0xc0000100u);
    cpu_write_phys(c, MSR_LOAD + 8, 8, 0);
    vset(VMCS_vmexit_msr_load_addr, MSR_LOAD);
    vset(VMCS_vm_exit_msr_load_count, 1);
    enum cpu_stop s = RUN(CPUID);
    ck_assert_int_eq(s, CPU_STOP_SHUTDOWN);
    ck_assert_uint_eq(cpu_read_phys(c, VMCS_REGION + VMCS_ABORT_OFFSET, 4), 4);
}
END_TEST

/* ---- exit-to-entry cycles ------------------------------------------------------- */

/* vmx_stats.exit_cycles: from the start of a VM exit to the moment the
 * guest runs again -- the exit's own cost, the host's work (its HLT and
 * 500 modelled cycles here) and the entry. */
START_TEST(exit_to_entry_cycles)
{
    expect_exit(RUN(CPUID), VMX_EXIT_cpuid, GUEST_CODE);
    ck_assert_uint_eq(v->stats.exit_cycles[VMX_EXIT_cpuid], 0);
    uint64_t exit_start = v->last_exit_cycles;
    ck_assert_uint_ge(c->cycles, exit_start + cost.cycles[COST_vm_exit]);
    c->cycles += 500;
    uint64_t resumed = c->cycles;
    expect_exit(RUN(CPUID), VMX_EXIT_cpuid, GUEST_CODE);
    ck_assert_uint_eq(v->stats.exit_cycles[VMX_EXIT_cpuid], resumed - exit_start);
    ck_assert_uint_eq(v->stats.exits[VMX_EXIT_cpuid], 2);
}
END_TEST

/* ---- INVPCID at CPL 3 ---------------------------------------------------------- */

/* SDM 3C "Changes to Instruction Behavior in VMX Non-Root Operation": with
 * "enable INVPCID" = 0 INVPCID is #UD, and that "takes priority over any
 * other exception", here the CPL check's #GP(0); with it 1 the #GP(0) of
 * CPL 3 comes before the INVLPG-exiting VM exit. Both go to the exception
 * bitmap. */
static const struct { bool enable; uint32_t intr_info; } invpcid_cpl3_cases[] = {
    { false, 0x80000306u }, /* #UD */
    { true, 0x80000b0du },  /* #GP(0) */
};

START_TEST(invpcid_at_cpl3)
{
    vset(VMCS_cpu_based_vm_exec_control, PROC_INVLPG_EXITING | PROC_ACTIVATE_SECONDARY_CONTROLS);
    vset(VMCS_secondary_vm_exec_control, invpcid_cpl3_cases[_i].enable ? PROC2_ENABLE_INVPCID : 0);
    vset(VMCS_exception_bitmap, (1u << EXC_UD) | (1u << EXC_GP));
    static const uint8_t code[] = { 0x66, 0x0f, 0x38, 0x82, 0x03 }; /* invpcid rax, [rbx] */
    memcpy(m->ram + GUEST_CODE, code, sizeof code);
    cpu_phys_written(c, GUEST_CODE, sizeof code);
    enter();
    c->seg[SEG_CS].sel = SEL_CODE | 3;
    c->seg[SEG_CS].ar |= AR_DPL_MASK;
    c->seg[SEG_SS].sel = SEL_DATA | 3;
    c->seg[SEG_SS].ar |= AR_DPL_MASK;
    cpu_update_mode(c);
    ck_assert_uint_eq(c->cpl, 3);
    c->gpr[0] = 0;
    c->gpr[3] = DATA;
    expect_exit(cpu_run(c, 2000), VMX_EXIT_exception_nmi, GUEST_CODE);
    ck_assert_uint_eq(vget(VMCS_vm_exit_intr_info), invpcid_cpl3_cases[_i].intr_info);
}
END_TEST

/* ---- debug exceptions ------------------------------------------------------------ */

/* A single-step trap (RFLAGS.TF) with #DB in the exception bitmap: reason 0,
 * hardware exception 1, exit qualification BS (SDM 3C "Exit Qualification
 * for Debug Exceptions"), guest RIP after the instruction, DR6 unchanged. */
START_TEST(single_step_db_exits)
{
    vset(VMCS_exception_bitmap, 1u << EXC_DB);
    c->rflags |= FL_TF;
    c->dr[6] = 0xffff0ff0ull;
    expect_exit(RUN(0x90, 0x90, CPUID), VMX_EXIT_exception_nmi, GUEST_CODE + 1);
    ck_assert_uint_eq(vget(VMCS_vm_exit_intr_info), 0x80000301u);
    ck_assert_uint_eq(vget(VMCS_exit_qualification), 0x4000);
    ck_assert_uint_eq(vget(VMCS_guest_pending_dbg_exceptions), 0);
    ck_assert(vget(VMCS_guest_rflags) & FL_TF);
    ck_assert_uint_eq(c->dr[6], 0xffff0ff0ull);
}
END_TEST

/* With IA32_DEBUGCTL.BTF the single-step trap follows the taken JMP only:
 * the exit is after it, at its target (SDM 3B "Single-Stepping on
 * Branches"). */
START_TEST(single_step_on_branch_db_exits)
{
    vset(VMCS_exception_bitmap, 1u << EXC_DB);
    c->rflags |= FL_TF;
    c->debugctl = DEBUGCTL_BTF;
    expect_exit(RUN(0x90, 0xeb, 0x01, 0x90, CPUID), VMX_EXIT_exception_nmi, GUEST_CODE + 4);
    ck_assert_uint_eq(vget(VMCS_exit_qualification), 0x4000);
}
END_TEST

/* MOV DR with DR7.GD and #DB in the exception bitmap: a fault exit at the
 * MOV, qualification BD alone (B0-B3 already in DR6 are not reported);
 * neither DR6 nor DR7.GD changes (SDM 3C "Exit Qualification for Debug
 * Exceptions": the #DB did not update them). */
START_TEST(general_detect_db_exits)
{
    vset(VMCS_exception_bitmap, 1u << EXC_DB);
    vset(VMCS_vm_exit_controls, EXIT_HOST_ADDRESS_SPACE_SIZE | EXIT_SAVE_DEBUG_CONTROLS);
    c->dr[6] = 0xffff0ff3ull;
    c->dr[7] = 0x2400;
    expect_exit(RUN(0x0f, 0x21, 0xc0, CPUID), VMX_EXIT_exception_nmi, GUEST_CODE);
    ck_assert_uint_eq(vget(VMCS_vm_exit_intr_info), 0x80000301u);
    ck_assert_uint_eq(vget(VMCS_exit_qualification), 0x2000);
    ck_assert_uint_eq(c->dr[6], 0xffff0ff3ull);
    ck_assert_uint_eq(vget(VMCS_guest_dr7), 0x2400);
}
END_TEST

/* "Save debug controls" saves DR7 and IA32_DEBUGCTL; the VM exit then sets
 * DR7 to 400H and clears IA32_DEBUGCTL (SDM 3C "Saving Control Registers,
 * Debug Registers, and MSRs", "Loading Host Control Registers, Debug
 * Registers, MSRs"). Without the control the fields keep their values. */
START_TEST(debug_controls_saved_and_cleared)
{
    vset(VMCS_vm_exit_controls, EXIT_HOST_ADDRESS_SPACE_SIZE | EXIT_SAVE_DEBUG_CONTROLS);
    c->debugctl = DEBUGCTL_BTF;
    c->dr[7] = 0x401;
    c->gpr[0] = 0;
    expect_exit(RUN(CPUID), VMX_EXIT_cpuid, GUEST_CODE);
    ck_assert_uint_eq(vget(VMCS_guest_ia32_debugctl), DEBUGCTL_BTF);
    ck_assert_uint_eq(vget(VMCS_guest_dr7), 0x401);
    ck_assert_uint_eq(c->debugctl, 0);
    ck_assert_uint_eq(c->dr[7], 0x400);
    vset(VMCS_vm_exit_controls, EXIT_HOST_ADDRESS_SPACE_SIZE);
    vset(VMCS_guest_ia32_debugctl, 0);
    vset(VMCS_guest_dr7, 0x400);
    c->debugctl = DEBUGCTL_BTF;
    c->dr[7] = 0x402;
    expect_exit(RUN(CPUID), VMX_EXIT_cpuid, GUEST_CODE);
    ck_assert_uint_eq(vget(VMCS_guest_ia32_debugctl), 0);
    ck_assert_uint_eq(vget(VMCS_guest_dr7), 0x400);
    ck_assert_uint_eq(c->debugctl, 0);
}
END_TEST

/* MTF and TF on the same instruction: "MTF VM exits take priority over
 * debug-trap exceptions" (SDM 3C "Monitor Trap Flag"), so the single-step
 * trap is pending at the MTF exit and saved as BS in the pending debug
 * exceptions field (SDM 3C "Saving Non-Register State"). */
START_TEST(mtf_saves_pending_single_step)
{
    vset(VMCS_cpu_based_vm_exec_control, PROC_MONITOR_TRAP_FLAG);
    vset(VMCS_exception_bitmap, 1u << EXC_DB);
    c->rflags |= FL_TF;
    c->dr[6] = 0xffff0ff0ull;
    expect_exit(RUN(0x90, 0x90, CPUID), VMX_EXIT_monitor_trap_flag, GUEST_CODE + 1);
    ck_assert_uint_eq(vget(VMCS_guest_pending_dbg_exceptions), 0x4000);
    ck_assert_uint_eq(c->dr[6], 0xffff0ff0ull);
}
END_TEST

/* ---- NMI unblocking due to IRET ---------------------------------------------------- */

/* An IRET whose return frame faults (#GP: null CS selector on the stack):
 * with NMI blocking (physical, or virtual with "virtual NMIs") bit 12 of
 * the VM-exit interruption information is set and the saved blocking by
 * NMI is clear; without blocking bit 12 is clear (SDM 3C "Information for
 * VM Exits Due to Vectored Events"). */
static const struct { bool vnmi, blocked; } iret_cases[] = {
    { false, true }, { true, true }, { false, false },
};

START_TEST(iret_fault_nmi_unblocking)
{
    if (iret_cases[_i].vnmi)
        vset(VMCS_pin_based_vm_exec_control, PIN_NMI_EXITING | PIN_VIRTUAL_NMIS);
    vset(VMCS_exception_bitmap, 1u << EXC_GP);
    memset(m->ram + GUEST_STACK, 0, 40); /* RIP 0, CS 0, ... */
    c->nmi_blocked = iret_cases[_i].blocked;
    expect_exit(RUN(0x48, 0xcf), VMX_EXIT_exception_nmi, GUEST_CODE); /* iretq */
    uint32_t unblock = iret_cases[_i].blocked ? VMX_INTR_INFO_NMI_UNBLOCKING : 0;
    ck_assert_uint_eq(vget(VMCS_vm_exit_intr_info), 0x80000b0du | unblock);
    ck_assert_uint_eq(vget(VMCS_guest_interruptibility_info) & VMX_INTERRUPTIBILITY_NMI, 0);
}
END_TEST

/* With "virtual NMIs" the guest's IRET removes virtual-NMI blocking (SDM 3C
 * "Changes to Instruction Behavior in VMX Non-Root Operation"): the
 * NMI-window exit follows it. */
START_TEST(iret_clears_virtual_nmi_blocking)
{
    vset(VMCS_pin_based_vm_exec_control, PIN_NMI_EXITING | PIN_VIRTUAL_NMIS);
    vset(VMCS_cpu_based_vm_exec_control, PROC_NMI_WINDOW_EXITING);
    uint64_t frame[5] = { GUEST_CODE + 2, SEL_CODE, FL_FIXED1, GUEST_STACK - 0x100, SEL_DATA };
    memcpy(m->ram + GUEST_STACK, frame, sizeof frame);
    c->nmi_blocked = true;
    expect_exit(RUN(0x48, 0xcf, CPUID), VMX_EXIT_nmi_window, GUEST_CODE + 2);
    ck_assert_uint_eq(vget(VMCS_guest_interruptibility_info) & VMX_INTERRUPTIBILITY_NMI, 0);
}
END_TEST

/* A physical NMI exits with "virtual NMIs" even under virtual-NMI blocking
 * (SDM 3C "Changes to Event Blocking"). */
START_TEST(virtual_nmis_physical_nmi_exits)
{
    vset(VMCS_pin_based_vm_exec_control, PIN_NMI_EXITING | PIN_VIRTUAL_NMIS);
    c->nmi_blocked = true;
    cpu_raise_nmi(c);
    expect_exit(RUN(CPUID), VMX_EXIT_exception_nmi, GUEST_CODE);
    ck_assert_uint_eq(vget(VMCS_vm_exit_intr_info), 0x80000202u);
    ck_assert_uint_eq(vget(VMCS_guest_interruptibility_info), VMX_INTERRUPTIBILITY_NMI);
    ck_assert(c->nmi_blocked); /* the NMI that exited blocks physical NMIs */
}
END_TEST

/* ---- INIT, SIPI and the inactive activity states ------------------------------------ */

/* Enter at GUEST_CODE in an activity state as VM entry leaves it. */
static enum cpu_stop run_in_state(unsigned activity)
{
    static const uint8_t code[] = { CPUID };
    memcpy(m->ram + GUEST_CODE, code, sizeof code);
    cpu_phys_written(c, GUEST_CODE, sizeof code);
    enter();
    v->activity = (uint8_t)activity;
    c->halted = activity != VMX_ACTIVITY_ACTIVE;
    return cpu_run(c, 2000);
}

/* SDM 3C "INIT Signals": an INIT in non-root operation is a VM exit
 * (reason 3), with the activity state saved as it was. */
static const unsigned init_states[] = { VMX_ACTIVITY_ACTIVE, VMX_ACTIVITY_HLT,
                                        VMX_ACTIVITY_SHUTDOWN };

START_TEST(init_signal_exits)
{
    lapic_signal_init(m->lapic);
    expect_exit(run_in_state(init_states[_i]), VMX_EXIT_init_signal, GUEST_CODE);
    ck_assert_uint_eq(vget(VMCS_guest_activity_state), init_states[_i]);
    ck_assert_uint_eq(vget(VMCS_exit_qualification), 0);
    ck_assert(!m->lapic->init_pending);
    ck_assert_uint_eq(c->gpr[4], HOST_STACK); /* host state, not an INIT reset */
}
END_TEST

/* SDM 3C "Restrictions on VMX Operation": INIT is blocked in VMX root
 * operation and stays pending; the VM entry that follows exits with it. */
START_TEST(init_blocked_in_root_operation)
{
    lapic_signal_init(m->lapic);
    c->rip = HOST_CODE;
    ck_assert_int_eq(cpu_run(c, 2000), CPU_STOP_HLT_FOREVER); /* host HLT */
    ck_assert(m->lapic->init_pending);
    ck_assert_uint_eq(c->rip, HOST_CODE + 1);
    expect_exit(RUN(0x90, CPUID), VMX_EXIT_init_signal, GUEST_CODE);
}
END_TEST

/* Wait-for-SIPI: INIT is blocked (no exit), the preemption timer does not
 * exit, NMIs are held; a SIPI exits with reason 4, the vector as
 * qualification, and the activity state saved as wait-for-SIPI (SDM 3C
 * "Start-up IPIs", "VMX-Preemption Timer"). */
START_TEST(sipi_exits_from_wait_for_sipi)
{
    vset(VMCS_pin_based_vm_exec_control, PIN_ACTIVATE_PREEMPTION_TIMER);
    vset(VMCS_vmx_preemption_timer_value, 10);
    lapic_signal_init(m->lapic);
    cpu_raise_nmi(c);
    ck_assert_int_eq(run_in_state(VMX_ACTIVITY_WAIT_SIPI), CPU_STOP_HLT_FOREVER);
    ck_assert(c->vmx_nonroot);
    ck_assert(m->lapic->init_pending);
    ck_assert(c->nmi_pending);
    c->nmi_pending = false; /* the host has no IDT to take it */
    lapic_signal_sipi(m->lapic, 0x9a);
    enum cpu_stop s = cpu_run(c, 2000);
    expect_exit(s, VMX_EXIT_sipi, GUEST_CODE);
    ck_assert_uint_eq(vget(VMCS_exit_qualification), 0x9a);
    ck_assert_uint_eq(vget(VMCS_guest_activity_state), VMX_ACTIVITY_WAIT_SIPI);
}
END_TEST

/* A SIPI outside wait-for-SIPI is discarded (no exit). */
START_TEST(sipi_discarded_when_active)
{
    lapic_signal_sipi(m->lapic, 0x10);
    expect_exit(run_in_state(VMX_ACTIVITY_ACTIVE), VMX_EXIT_cpuid, GUEST_CODE);
    ck_assert(!m->lapic->sipi_pending);
}
END_TEST

/* Shutdown: external interrupts are held; an NMI with "NMI exiting" exits
 * and the activity state is saved as shutdown. */
START_TEST(shutdown_state_takes_nmi_exit)
{
    vset(VMCS_pin_based_vm_exec_control, PIN_NMI_EXITING);
    c->rflags |= FL_IF;
    cpu_raise_extint(c, 0x40);
    ck_assert_int_eq(run_in_state(VMX_ACTIVITY_SHUTDOWN), CPU_STOP_HLT_FOREVER);
    ck_assert(c->vmx_nonroot);
    ck_assert_int_eq(c->extint_pending, 0x40);
    cpu_raise_nmi(c);
    expect_exit(cpu_run(c, 2000), VMX_EXIT_exception_nmi, GUEST_CODE);
    ck_assert_uint_eq(vget(VMCS_vm_exit_intr_info), 0x80000202u);
    ck_assert_uint_eq(vget(VMCS_guest_activity_state), VMX_ACTIVITY_SHUTDOWN);
}
END_TEST

/* The ICR as a source of INIT and SIPI (SDM 3A "Interrupt Command Register
 * (ICR)"): "all including self" and the processor's own ID reach it; the
 * "self" shorthand is invalid for them; INIT level de-assert is no INIT. */
static const struct { uint32_t icr_lo; bool init, sipi; } icr_cases[] = {
    { 0x00084500u, true, false },  /* INIT, assert, all including self */
    { 0x00004500u, true, false },  /* INIT, assert, destination ID 0 (own) */
    { 0x00044500u, false, false }, /* INIT, self shorthand: invalid */
    { 0x00088500u, false, false }, /* INIT level de-assert */
    { 0x00080612u, false, true },  /* SIPI vector 12H, all including self */
};

START_TEST(icr_sends_init_and_sipi)
{
    struct lapic *l = m->lapic;
    ck_assert(lapic_write(l, LAPIC_ICR_HI, 0, 0, 0));
    ck_assert(lapic_write(l, LAPIC_ICR_LO, 0, 0, icr_cases[_i].icr_lo));
    ck_assert_int_eq(l->init_pending, icr_cases[_i].init);
    ck_assert_int_eq(l->sipi_pending, icr_cases[_i].sipi);
    ck_assert_int_eq(lapic_has_irr(l), icr_cases[_i].init || icr_cases[_i].sipi);
    if (icr_cases[_i].sipi)
        ck_assert_uint_eq(l->sipi_vector, 0x12);
}
END_TEST

/* Outside VMX operation an INIT is a processor INIT (SDM 3A "Processor
 * State After Reset", INIT column) into wait-for-SIPI, where NMIs wait;
 * a SIPI with vector 09H starts real-mode execution at 09000H (SDM 3A "MP
 * Initialization Protocol Algorithm for MP Systems"). */
START_TEST(init_outside_vmx_then_sipi)
{
    v->in_vmx_operation = false;
    c->sysenter_cs = 0x1234;
    c->gpr[0] = 0x55;
    c->cr0 |= CR0_CD;
    c->rip = HOST_CODE;
    lapic_signal_init(m->lapic);
    ck_assert_int_eq(cpu_run(c, 2000), CPU_STOP_HLT_FOREVER);
    ck_assert(m->lapic->wait_for_sipi);
    ck_assert(c->halted);
    ck_assert_uint_eq(c->rip, 0xfff0);
    ck_assert_uint_eq(c->seg[SEG_CS].base, 0xffff0000ull);
    ck_assert_uint_eq(c->cr0, CR0_CD | CR0_ET); /* CD kept, NW was 0 */
    ck_assert_uint_eq(c->efer, 0);
    ck_assert_uint_eq(c->gpr[0], 0);
    ck_assert_uint_eq(c->sysenter_cs, 0x1234); /* MSRs unchanged */
    cpu_raise_nmi(c);
    ck_assert_int_eq(cpu_run(c, 2000), CPU_STOP_HLT_FOREVER);
    ck_assert(c->nmi_pending);
    static const uint8_t code[] = { 0xb8, 0x34, 0x12, 0xf4 }; /* mov ax, 0x1234; hlt */
    memcpy(m->ram + 0x9000, code, sizeof code);
    cpu_phys_written(c, 0x9000, sizeof code);
    c->nmi_pending = false;
    lapic_signal_sipi(m->lapic, 0x09);
    ck_assert_int_eq(cpu_run(c, 2000), CPU_STOP_HLT_FOREVER);
    ck_assert(!m->lapic->wait_for_sipi);
    ck_assert_uint_eq(c->seg[SEG_CS].sel, 0x0900);
    ck_assert_uint_eq(c->rip, 4);
    ck_assert_uint_eq(c->gpr[0], 0x1234);
}
END_TEST

static Suite *vmx_exit_suite(void)
{
    Suite *s = suite_create("vmx_exit");
    struct {
        const char *name;
        const TTest *test;
        int n;
    } cases[] = {
        { "host_state", cpuid_exits_and_loads_host_state, 1 },
        { "recording", exit_clears_entry_injection_and_charges_cost, 1 },
        { "instructions", instruction_exits, (int)(sizeof insn_cases / sizeof insn_cases[0]) },
        { "rdtscp_ud", rdtscp_without_enable_is_ud, 1 },
        { "lmsw", lmsw_exits_on_owned_bit_change, 1 },
        { "lmsw_keep", lmsw_keeps_owned_bits_without_exit, 1 },
        { "clts", clts_rules, 1 },
        { "cr_shadow", cr0_cr4_mask_and_shadow, 1 },
        { "cr3_targets", cr3_target_values, 1 },
        { "tsc_offset", tsc_offsetting, 1 },
        { "io_bitmaps", io_bitmap_exits, (int)(sizeof io_cases / sizeof io_cases[0]) },
        { "outs", outs_qualification_and_linear_address, 1 },
        { "msr_bitmaps", msr_bitmap_exits, (int)(sizeof msr_cases / sizeof msr_cases[0]) },
        { "exception_bitmap", exception_bitmap_ud, 1 },
        { "pf_mask_match", page_fault_mask_match, (int)(sizeof pf_cases / sizeof pf_cases[0]) },
        { "idt_vectoring", idt_vectoring_for_fault_during_delivery, 1 },
        { "idt_vectoring_extint", idt_vectoring_for_external_interrupt, 1 },
        { "triple_fault", triple_fault_exits, 1 },
        { "nmi", nmi_exiting, 1 },
        { "extint", external_interrupt_exiting,
          (int)(sizeof extint_cases / sizeof extint_cases[0]) },
        { "interrupt_window", interrupt_window, 1 },
        { "nmi_window", nmi_window, 1 },
        { "nmi_window_virtual", nmi_window_virtual_nmis, 1 },
        { "mtf", monitor_trap_flag, 1 },
        { "preemption_timer", preemption_timer_expires, 1 },
        { "preemption_save", preemption_timer_value_saved, 1 },
        { "preemption_hlt", preemption_timer_wakes_hlt, 1 },
        { "ple", pause_loop_exiting, 1 },
        { "msr_lists", msr_store_and_load_lists, 1 },
        { "vmx_abort", msr_load_failure_is_vmx_abort, 1 },
        { "exit_cycles", exit_to_entry_cycles, 1 },
        { "invpcid_cpl3", invpcid_at_cpl3, 2 },
        { "single_step", single_step_db_exits, 1 },
        { "mtf_pending_dbg", mtf_saves_pending_single_step, 1 },
        { "single_step_btf", single_step_on_branch_db_exits, 1 },
        { "general_detect", general_detect_db_exits, 1 },
        { "debug_controls", debug_controls_saved_and_cleared, 1 },
        { "iret_nmi_unblocking", iret_fault_nmi_unblocking,
          (int)(sizeof iret_cases / sizeof iret_cases[0]) },
        { "iret_virtual_nmi", iret_clears_virtual_nmi_blocking, 1 },
        { "virtual_nmis_nmi", virtual_nmis_physical_nmi_exits, 1 },
        { "init_exit", init_signal_exits, (int)(sizeof init_states / sizeof init_states[0]) },
        { "init_root", init_blocked_in_root_operation, 1 },
        { "sipi_exit", sipi_exits_from_wait_for_sipi, 1 },
        { "sipi_discarded", sipi_discarded_when_active, 1 },
        { "shutdown_nmi", shutdown_state_takes_nmi_exit, 1 },
        { "init_native", init_outside_vmx_then_sipi, 1 },
        { "icr_init_sipi", icr_sends_init_and_sipi, (int)(sizeof icr_cases / sizeof icr_cases[0]) },
    };
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TCase *tc = tcase_create(cases[i].name);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_loop_test(tc, cases[i].test, 0, cases[i].n);
        suite_add_tcase(s, tc);
    }
    return s;
}

int main(void)
{
    return th_run_suite(vmx_exit_suite());
}
