/* VMCS shadowing in VMX non-root operation (SDM 3C "VMCS Types: Ordinary
 * and Shadow", "VMREAD"/"VMWRITE" Operation): a 64-bit guest runs VMREAD or
 * VMWRITE and then CPUID, so an access the shadow VMCS satisfies shows as a
 * CPUID exit after it, and one that exits as a VMREAD/VMWRITE exit. The
 * set-up is vmx_exit_fixture.h's (host = HLT), shadowing on. */
#include "vmx_exit_fixture.h"

#define SHADOW_VMCS 0x36000ull
#define VMREAD_BITMAP 0x37000ull
#define VMWRITE_BITMAP 0x38000ull

#define VMREAD_RBX_RCX 0x0f, 0x78, 0xcb  /* rbx := field[rcx] */
#define VMWRITE_RCX_RBX 0x0f, 0x79, 0xcb /* field[rcx] := rbx */
#define ENC_GUEST_RIP 0x681eull
#define ENC_TSC_OFFSET_HIGH 0x2011ull
#define ENC_EXIT_REASON 0x4402ull
#define ENC_UNSUPPORTED 0x6ffeull /* natural-width guest field index 0x1ff: none */
#define MISC_VMWRITE_ANY (1ull << 29)

/* "VMCS shadowing" on, both bitmaps all zeros (no field exits), the link
 * pointer at a shadow VMCS whose guest-RIP slot holds a marker. */
static void shadowing_on(void)
{
    vset(VMCS_cpu_based_vm_exec_control, PROC_ACTIVATE_SECONDARY_CONTROLS);
    vset(VMCS_secondary_vm_exec_control, PROC2_VMCS_SHADOWING);
    vset(VMCS_vmread_bitmap, VMREAD_BITMAP);
    vset(VMCS_vmwrite_bitmap, VMWRITE_BITMAP);
    vset(VMCS_vmcs_link_pointer, SHADOW_VMCS);
    cpu_write_phys(c, SHADOW_VMCS, 4, 1u | VMCS_SHADOW_INDICATOR);
    cpu_write_phys(c, SHADOW_VMCS + vmcs_fields[VMCS_guest_rip].offset, 8, 0x5eed0001ull);
}

static void shadow_setup(void)
{
    setup();
    shadowing_on();
}

static uint64_t shadow_slot(enum vmcs_field f)
{
    return cpu_read_phys(c, SHADOW_VMCS + vmcs_fields[f].offset, 8);
}

static void set_bitmap_bit(uint64_t bitmap, uint64_t enc)
{
    uint64_t pa = bitmap + ((enc & 0x7fff) >> 3);
    cpu_write_phys(c, pa, 1, cpu_read_phys(c, pa, 1) | (1u << (enc & 7)));
}

/* The guest's arithmetic flags after the instruction (saved at the exit). */
static uint64_t guest_arith_flags(void) { return vget(VMCS_guest_rflags) & FL_ARITH; }

/* VMREAD with its bitmap bit 0 reads the shadow VMCS, without a VM exit:
 * VMsucceed, counted, charged the vmcs_shadow_access class. */
START_TEST(vmread_reads_shadow_vmcs)
{
    cost.cycles[COST_vmcs_shadow_access] = 100000;
    vset(VMCS_guest_rip, 0x1111); /* the current VMCS's own value */
    c->gpr[1] = ENC_GUEST_RIP;
    c->gpr[3] = 0;
    c->gpr[0] = 0;
    uint64_t before = c->cycles;
    expect_exit(RUN(VMREAD_RBX_RCX, CPUID), VMX_EXIT_cpuid, GUEST_CODE + 3);
    ck_assert_uint_eq(c->gpr[3], 0x5eed0001ull);
    ck_assert_uint_eq(guest_arith_flags(), 0);
    ck_assert_uint_eq(vmx_get_stats(v)->shadow_vmreads, 1);
    ck_assert_uint_eq(vmx_get_stats(v)->shadow_vmwrites, 0);
    ck_assert_uint_eq(vmx_get_stats(v)->exits[VMX_EXIT_vmread], 0);
    ck_assert_uint_ge(c->cycles - before, 100000);
}
END_TEST

/* Encodings that exit although the bitmap bit of bits 14:0 is 0: "secondary
 * source operand sets bits in range 63:15". */
static const uint64_t exiting_encodings[] = {
    ENC_GUEST_RIP | (1ull << 15), ENC_GUEST_RIP | (1ull << 32), ENC_GUEST_RIP | (1ull << 63),
};

START_TEST(vmread_exits_on_high_encoding_bits)
{
    c->gpr[1] = exiting_encodings[_i];
    c->gpr[3] = 7;
    expect_exit(RUN(VMREAD_RBX_RCX, CPUID), VMX_EXIT_vmread, GUEST_CODE);
    ck_assert_uint_eq(c->gpr[3], 7);
    ck_assert_uint_eq(vmx_get_stats(v)->shadow_vmreads, 0);
}
END_TEST

/* The VMREAD-bitmap bit of the field set: exit. Only that bit matters: the
 * neighbouring bit set alone lets the access through. */
START_TEST(vmread_bitmap_bit_set_exits)
{
    c->gpr[1] = ENC_GUEST_RIP;
    c->gpr[0] = 0;
    set_bitmap_bit(VMREAD_BITMAP, ENC_GUEST_RIP + 1);
    set_bitmap_bit(VMWRITE_BITMAP, ENC_GUEST_RIP);
    expect_exit(RUN(VMREAD_RBX_RCX, CPUID), VMX_EXIT_cpuid, GUEST_CODE + 3);
    set_bitmap_bit(VMREAD_BITMAP, ENC_GUEST_RIP);
    c->gpr[3] = 7;
    expect_exit(RUN(VMREAD_RBX_RCX, CPUID), VMX_EXIT_vmread, GUEST_CODE);
    ck_assert_uint_eq(c->gpr[3], 7);
}
END_TEST

/* "VMCS shadowing" = 0: every VMREAD and VMWRITE exits. */
START_TEST(no_shadowing_exits)
{
    vset(VMCS_secondary_vm_exec_control, 0);
    c->gpr[1] = ENC_GUEST_RIP;
    expect_exit(RUN(VMREAD_RBX_RCX, CPUID), VMX_EXIT_vmread, GUEST_CODE);
    expect_exit(RUN(VMWRITE_RCX_RBX, CPUID), VMX_EXIT_vmwrite, GUEST_CODE);
    ck_assert_uint_eq(vmx_get_stats(v)->shadow_vmreads + vmx_get_stats(v)->shadow_vmwrites, 0);
}
END_TEST

/* "in VMX non-root operation AND VMCS link pointer is not valid":
 * VMfailInvalid, although there is a current VMCS. */
START_TEST(invalid_link_pointer_fails_invalid)
{
    vset(VMCS_vmcs_link_pointer, ~0ull);
    vset(VMCS_vm_instruction_error, 0);
    c->gpr[1] = ENC_GUEST_RIP;
    c->gpr[3] = 7;
    c->gpr[0] = 0;
    expect_exit(RUN(VMREAD_RBX_RCX, CPUID), VMX_EXIT_cpuid, GUEST_CODE + 3);
    ck_assert_uint_eq(guest_arith_flags(), FL_CF);
    ck_assert_uint_eq(c->gpr[3], 7);
    expect_exit(RUN(VMWRITE_RCX_RBX, CPUID), VMX_EXIT_cpuid, GUEST_CODE + 3);
    ck_assert_uint_eq(guest_arith_flags(), FL_CF);
    ck_assert_uint_eq(vget(VMCS_vm_instruction_error), 0);
    ck_assert_uint_eq(vmx_get_stats(v)->vmfails, 2);
}
END_TEST

/* An unsupported component: VMfailValid(12), the error number in the
 * current VMCS ("the VM-instruction error field of the current VMCS"), not
 * in the shadow VMCS. */
START_TEST(unsupported_component_fails_valid)
{
    c->gpr[1] = ENC_UNSUPPORTED;
    c->gpr[0] = 0;
    expect_exit(RUN(VMREAD_RBX_RCX, CPUID), VMX_EXIT_cpuid, GUEST_CODE + 3);
    ck_assert_uint_eq(guest_arith_flags(), FL_ZF);
    ck_assert_uint_eq(vget(VMCS_vm_instruction_error), VMX_INSN_ERR_UNSUPPORTED_VMCS_COMPONENT);
    ck_assert_uint_eq(shadow_slot(VMCS_vm_instruction_error), 0);
}
END_TEST

/* VMWRITE with its bitmap bit 0 writes the shadow VMCS region; the current
 * VMCS keeps its own value. */
START_TEST(vmwrite_writes_shadow_vmcs)
{
    c->gpr[1] = ENC_GUEST_RIP;
    c->gpr[3] = 0xabcdef;
    c->gpr[0] = 0;
    expect_exit(RUN(VMWRITE_RCX_RBX, CPUID), VMX_EXIT_cpuid, GUEST_CODE + 3);
    ck_assert_uint_eq(guest_arith_flags(), 0);
    ck_assert_uint_eq(shadow_slot(VMCS_guest_rip), 0xabcdef);
    ck_assert_uint_eq(vget(VMCS_guest_rip), GUEST_CODE + 3); /* saved by the CPUID exit */
    ck_assert_uint_eq(vmx_get_stats(v)->shadow_vmwrites, 1);
    /* The high half of a 64-bit field: bits 63:32 only. */
    cpu_write_phys(c, SHADOW_VMCS + vmcs_fields[VMCS_tsc_offset].offset, 8, 0x1111111122222222ull);
    c->gpr[1] = ENC_TSC_OFFSET_HIGH;
    c->gpr[3] = 0xffffffff33333333ull;
    expect_exit(RUN(VMWRITE_RCX_RBX, CPUID), VMX_EXIT_cpuid, GUEST_CODE + 3);
    ck_assert_uint_eq(shadow_slot(VMCS_tsc_offset), 0x3333333322222222ull);
}
END_TEST

/* The VMWRITE bitmap decides VMWRITE, independently of the VMREAD bitmap. */
START_TEST(vmwrite_bitmap_bit_set_exits)
{
    set_bitmap_bit(VMWRITE_BITMAP, ENC_GUEST_RIP);
    c->gpr[1] = ENC_GUEST_RIP;
    c->gpr[3] = 0xabcdef;
    expect_exit(RUN(VMWRITE_RCX_RBX, CPUID), VMX_EXIT_vmwrite, GUEST_CODE);
    ck_assert_uint_eq(shadow_slot(VMCS_guest_rip), 0x5eed0001ull);
    c->gpr[0] = 0;
    expect_exit(RUN(VMREAD_RBX_RCX, CPUID), VMX_EXIT_cpuid, GUEST_CODE + 3);
    ck_assert_uint_eq(c->gpr[3], 0x5eed0001ull);
}
END_TEST

/* A VM-exit information field: VMfailValid(13) unless IA32_VMX_MISC[29]
 * ("VMWRITE to any supported field"), then written to the shadow VMCS. */
START_TEST(vmwrite_exit_information_field)
{
    c->gpr[1] = ENC_EXIT_REASON;
    c->gpr[3] = 30;
    c->gpr[0] = 0;
    expect_exit(RUN(VMWRITE_RCX_RBX, CPUID), VMX_EXIT_cpuid, GUEST_CODE + 3);
    ck_assert_uint_eq(guest_arith_flags(), FL_ZF);
    ck_assert_uint_eq(vget(VMCS_vm_instruction_error), VMX_INSN_ERR_VMWRITE_READONLY_COMPONENT);
    ck_assert_uint_eq(shadow_slot(VMCS_vm_exit_reason), 0);
    v->caps.msr[VMX_MSR_MISC] |= MISC_VMWRITE_ANY;
    expect_exit(RUN(VMWRITE_RCX_RBX, CPUID), VMX_EXIT_cpuid, GUEST_CODE + 3);
    ck_assert_uint_eq(guest_arith_flags(), 0);
    ck_assert_uint_eq(shadow_slot(VMCS_vm_exit_reason), 30);
}
END_TEST

/* At CPL > 0 a shadowed access is #GP(0) (here intercepted through the
 * exception bitmap); an access whose bitmap bit is 1 exits first. */
START_TEST(cpl3_shadowed_access_is_gp)
{
    vset(VMCS_exception_bitmap, 1u << EXC_GP);
    static const uint8_t code[] = { VMREAD_RBX_RCX, CPUID };
    memcpy(m->ram + GUEST_CODE, code, sizeof code);
    cpu_phys_written(c, GUEST_CODE, sizeof code);
    c->gpr[1] = ENC_GUEST_RIP;
    enter();
    c->cpl = 3;
    expect_exit(cpu_run(c, 2000), VMX_EXIT_exception_nmi, GUEST_CODE);
    ck_assert_uint_eq(vget(VMCS_vm_exit_intr_info), 0x80000b0du);
    set_bitmap_bit(VMREAD_BITMAP, ENC_GUEST_RIP);
    enter();
    c->cpl = 3;
    expect_exit(cpu_run(c, 2000), VMX_EXIT_vmread, GUEST_CODE);
}
END_TEST

/* The bitmap predicate on its own, and the default bitmaps built from the
 * shadow column of vmcs_fields.def. */
static uint8_t bm_read[4096], bm_write[4096];
static uint8_t read_bm(void *ctx, uint64_t pa) { return ((const uint8_t *)ctx)[pa]; }

START_TEST(default_bitmaps_follow_field_list)
{
    vmx_shadow_default_bitmaps(bm_read, bm_write);
    for (int f = 0; f < VMCS_NFIELDS; f++) {
        const struct vmcs_field_info *fi = &vmcs_fields[f];
        unsigned n = fi->width == VMCS_W_U64 ? 2 : 1;
        for (unsigned h = 0; h < n; h++) {
            uint64_t enc = fi->encoding + h;
            bool rd = vmx_shadow_bitmap_exits(true, 0, enc, read_bm, bm_read);
            bool wr = vmx_shadow_bitmap_exits(true, 0, enc, read_bm, bm_write);
            ck_assert_msg(rd == (fi->shadow == VMCS_SH_NO), "%s (0x%04llx): VMREAD exits %d, shadow %u",
                          fi->json, (unsigned long long)enc, rd, fi->shadow);
            ck_assert_msg(wr == (fi->shadow != VMCS_SH_RW), "%s (0x%04llx): VMWRITE exits %d, shadow %u",
                          fi->json, (unsigned long long)enc, wr, fi->shadow);
            ck_assert(vmx_shadow_bitmap_exits(false, 0, enc, read_bm, bm_read));
            ck_assert(vmx_shadow_bitmap_exits(true, 0, enc | 0x8000, read_bm, bm_read));
        }
    }
    /* encodings of no field exit */
    ck_assert(vmx_shadow_bitmap_exits(true, 0, ENC_UNSUPPORTED, read_bm, bm_read));
}
END_TEST

static Suite *vmx_shadow_suite(void)
{
    Suite *s = suite_create("vmx_shadow");
    TCase *tc = tcase_create("nonroot");
    tcase_add_checked_fixture(tc, shadow_setup, teardown);
    tcase_add_test(tc, vmread_reads_shadow_vmcs);
    tcase_add_loop_test(tc, vmread_exits_on_high_encoding_bits, 0,
                        (int)(sizeof exiting_encodings / sizeof exiting_encodings[0]));
    tcase_add_test(tc, vmread_bitmap_bit_set_exits);
    tcase_add_test(tc, no_shadowing_exits);
    tcase_add_test(tc, invalid_link_pointer_fails_invalid);
    tcase_add_test(tc, unsupported_component_fails_valid);
    tcase_add_test(tc, vmwrite_writes_shadow_vmcs);
    tcase_add_test(tc, vmwrite_bitmap_bit_set_exits);
    tcase_add_test(tc, vmwrite_exit_information_field);
    tcase_add_test(tc, cpl3_shadowed_access_is_gp);
    suite_add_tcase(s, tc);
    tc = tcase_create("bitmaps");
    tcase_add_test(tc, default_bitmaps_follow_field_list);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(vmx_shadow_suite());
}
