/* The VMCS field list checks itself: widths against encoding bits 14:13,
 * access-type bit clear, no duplicate encodings, and the lookup rules of
 * SDM 3C "VMCS Component Encoding". */
#include "nvmx/vmcs.h"
#include "harness.h"

#include <check.h>
#include <stdlib.h>

START_TEST(field_width_matches_encoding)
{
    const struct vmcs_field_info *f = &vmcs_fields[_i];
    ck_assert_msg(VMCS_ENC_WIDTH(f->encoding) == f->width,
                  "%s (0x%04x): width %u, expected %u", f->json, f->encoding, f->width,
                  VMCS_ENC_WIDTH(f->encoding));
    ck_assert_msg((f->encoding & VMCS_ENC_HIGH) == 0, "%s (0x%04x): access-type bit set",
                  f->json, f->encoding);
    ck_assert_msg((f->encoding & (1u << 12)) == 0, "%s (0x%04x): reserved bit 12 set", f->json,
                  f->encoding);
}
END_TEST

START_TEST(field_encodings_unique)
{
    for (int j = _i + 1; j < VMCS_NFIELDS; j++)
        ck_assert_msg(vmcs_fields[_i].encoding != vmcs_fields[j].encoding,
                      "%s and %s share encoding 0x%04x", vmcs_fields[_i].json,
                      vmcs_fields[j].json, vmcs_fields[j].encoding);
}
END_TEST

START_TEST(field_lookup_roundtrip)
{
    bool high = true;
    const struct vmcs_field_info *f = &vmcs_fields[_i];
    ck_assert_int_eq(vmcs_field_lookup(f->encoding, &high), _i);
    ck_assert(!high);
    int hi = vmcs_field_lookup(f->encoding | 1, &high);
    if (f->width == VMCS_W_U64) {
        ck_assert_msg(hi == _i && high, "%s: high half not found", f->json);
    } else {
        ck_assert_msg(hi == -1, "%s: high access accepted for a non-64-bit field", f->json);
    }
    ck_assert_msg(f->offset + 8 <= VMCS_REGION_SIZE, "%s: slot outside the region", f->json);
}
END_TEST

static const uint64_t unsupported[] = {
    0x0001,              /* high access to a 16-bit field */
    0x4001,              /* high access to a 32-bit field */
    0x6801,              /* high access to a natural-width field */
    0x1000,              /* bit 12 set */
    0x8000,              /* bit 15 set */
    0x100002000ull,      /* bits 63:32 set */
    0x00fe,              /* index with no field */
    0x2bfe,              /* 64-bit host-state index with no field */
};

START_TEST(unsupported_encoding_rejected)
{
    bool high;
    ck_assert_msg(vmcs_field_lookup(unsupported[_i], &high) == -1,
                  "encoding 0x%llx accepted, expected unsupported",
                  (unsigned long long)unsupported[_i]);
}
END_TEST

START_TEST(well_known_encodings)
{
    bool high;
    ck_assert_int_eq(vmcs_field_lookup(0x681e, &high), VMCS_guest_rip);
    ck_assert_int_eq(vmcs_field_lookup(0x4402, &high), VMCS_vm_exit_reason);
    ck_assert_int_eq(vmcs_field_lookup(0x201b, &high), VMCS_ept_pointer);
    ck_assert(high);
    ck_assert_int_eq(vmcs_field_lookup(0x2800, &high), VMCS_vmcs_link_pointer);
    ck_assert_int_eq(vmcs_field_lookup(0x6c16, &high), VMCS_host_rip);
}
END_TEST

static Suite *vmcs_suite(void)
{
    Suite *s = suite_create("vmcs");
    TCase *t = tcase_create("field_list");
    tcase_add_loop_test(t, field_width_matches_encoding, 0, VMCS_NFIELDS);
    tcase_add_loop_test(t, field_encodings_unique, 0, VMCS_NFIELDS);
    tcase_add_loop_test(t, field_lookup_roundtrip, 0, VMCS_NFIELDS);
    suite_add_tcase(s, t);
    TCase *l = tcase_create("lookup");
    tcase_add_loop_test(l, unsupported_encoding_rejected, 0,
                        (int)(sizeof unsupported / sizeof unsupported[0]));
    tcase_add_test(l, well_known_encodings);
    suite_add_tcase(s, l);
    return s;
}

int main(void)
{
    return th_run_suite(vmcs_suite());
}
