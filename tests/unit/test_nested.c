/* src/nested's tables and the pure rules it shares with src/vmx: the exit
 * rules of vmx_exit_rules.def on a VMCS view (every rule, both outcomes,
 * with its rule in words), the exception-bitmap rule with the #PF
 * error-code mask/match, and the merge column of vmcs_fields.def (every
 * field has an origin that fits its area). */
#include "nvmx/cpu_hooks.h"
#include "nvmx/vmcs.h"
#include "nvmx/vmx.h"
#include "nested/vmcs02_pool.h"

bool nested_pkvm_shadowed(enum vmcs_field f); /* src/nested/pkvm.c */

#include <check.h>
#include <stdlib.h>
#include <string.h>

static uint64_t fields[VMCS_NFIELDS];
static uint8_t mem[0x3000]; /* I/O bitmaps A at 0x1000, B at 0x2000; MSR bitmap at 0 */

static uint64_t mem_read(void *ctx, uint64_t pa, unsigned size)
{
    (void)ctx;
    uint64_t v = 0;
    for (unsigned i = 0; i < size && pa + i < sizeof mem; i++)
        v |= (uint64_t)mem[pa + i] << (8 * i);
    return v;
}

static struct vmx_vmcs_view view(void)
{
    return (struct vmx_vmcs_view){ .f = fields, .phys_read = mem_read };
}

enum kind { K_ALWAYS, K_PRI, K_SEC, K_FN };
static const struct rule {
    const char *name;
    uint16_t reason;
    enum kind kind;
    uint32_t bit;
} rules[] = {
#define EXIT_RULE(r, k, b) { #r, VMX_EXIT_##r, K_##k, (uint32_t)(b) },
#include "nvmx/vmx_exit_rules.def"
#undef EXIT_RULE
};
#define NRULES (sizeof rules / sizeof rules[0])

static void reset(void)
{
    memset(fields, 0, sizeof fields);
    memset(mem, 0, sizeof mem);
}

/* SDM 3C "Instructions That Cause VM Exits Unconditionally" /
 * "... Conditionally": each ALWAYS, PRI and SEC rule, control 0 and 1. */
START_TEST(rule_follows_its_control)
{
    const struct rule *r = &rules[_i];
    if (r->kind == K_FN)
        return;
    reset();
    struct vmx_vmcs_view vw = view();
    struct cpu_intercept q = { .reason = r->reason };
    const char *why = NULL;
    bool off = vmx_exit_rule_applies(&vw, &q, &why);
    ck_assert_msg(why && *why, "%s: no rule text", r->name);
    ck_assert_msg(vmx_exit_rule_known(r->reason), "%s: not known", r->name);
    if (r->kind == K_ALWAYS) {
        ck_assert_msg(off, "%s: ALWAYS rule did not exit", r->name);
        return;
    }
    ck_assert_msg(!off, "%s: exits with its control 0 (%s)", r->name, why);
    if (r->kind == K_PRI) {
        fields[VMCS_cpu_based_vm_exec_control] = r->bit;
    } else {
        /* without "activate secondary controls" the secondary bit counts as 0 */
        fields[VMCS_secondary_vm_exec_control] = r->bit;
        ck_assert_msg(!vmx_exit_rule_applies(&vw, &q, &why), "%s: secondary bit without activation",
                      r->name);
        fields[VMCS_cpu_based_vm_exec_control] = (uint32_t)PROC_ACTIVATE_SECONDARY_CONTROLS;
    }
    ck_assert_msg(vmx_exit_rule_applies(&vw, &q, &why), "%s: control 1 did not exit", r->name);
    ck_assert_msg(strstr(why, "= 1") != NULL, "%s: rule text '%s'", r->name, why);
}
END_TEST

/* SDM 3C "I/O Instructions": bitmap A (ports 0-7FFF), B (8000-FFFF); an
 * access exits if any of its ports' bits is 1; wrapping past FFFF exits. */
START_TEST(io_rule)
{
    reset();
    struct vmx_vmcs_view vw = view();
    struct cpu_intercept q = { .reason = VMX_EXIT_io_instruction, .port = 0x80, .io_size = 1 };
    ck_assert(!vmx_exit_rule_applies(&vw, &q, NULL));
    fields[VMCS_cpu_based_vm_exec_control] = (uint32_t)PROC_UNCONDITIONAL_IO_EXITING;
    ck_assert(vmx_exit_rule_applies(&vw, &q, NULL));
    fields[VMCS_cpu_based_vm_exec_control] = (uint32_t)PROC_USE_IO_BITMAPS;
    fields[VMCS_io_bitmap_a] = 0x1000;
    fields[VMCS_io_bitmap_b] = 0x2000;
    ck_assert(!vmx_exit_rule_applies(&vw, &q, NULL));
    mem[0x1000 + 0x80 / 8] = 1;
    ck_assert(vmx_exit_rule_applies(&vw, &q, NULL));
    q.port = 0x7f;
    q.io_size = 2; /* 0x7f and 0x80 */
    ck_assert(vmx_exit_rule_applies(&vw, &q, NULL));
    q.port = 0x8001;
    q.io_size = 1;
    ck_assert(!vmx_exit_rule_applies(&vw, &q, NULL));
    mem[0x2000] = 2;
    ck_assert(vmx_exit_rule_applies(&vw, &q, NULL));
    q.port = 0xffff;
    q.io_size = 2;
    ck_assert(vmx_exit_rule_applies(&vw, &q, NULL));
}
END_TEST

/* SDM 3C "MSR-Bitmap Address": read low at 0, read high at 1024, write low
 * at 2048, write high at 3072; other MSRs and no bitmaps always exit. */
START_TEST(msr_rule)
{
    static const struct { uint32_t msr; bool write; unsigned off; } c[] = {
        { 0x10, false, 0 }, { 0xc0000080u, false, 1024 }, { 0x10, true, 2048 },
        { 0xc0000080u, true, 3072 },
    };
    for (unsigned i = 0; i < 4; i++) {
        reset();
        struct vmx_vmcs_view vw = view();
        uint16_t reason = c[i].write ? VMX_EXIT_wrmsr : VMX_EXIT_rdmsr;
        struct cpu_intercept q = { .reason = reason, .msr = c[i].msr, .write = c[i].write };
        ck_assert_msg(vmx_exit_rule_applies(&vw, &q, NULL), "case %u: no bitmaps must exit", i);
        fields[VMCS_cpu_based_vm_exec_control] = (uint32_t)PROC_USE_MSR_BITMAPS;
        ck_assert_msg(!vmx_exit_rule_applies(&vw, &q, NULL), "case %u: bit 0 exits", i);
        unsigned bit = c[i].msr & 0x1fff;
        mem[c[i].off + bit / 8] = (uint8_t)(1u << (bit & 7));
        ck_assert_msg(vmx_exit_rule_applies(&vw, &q, NULL), "case %u: bit 1 does not exit", i);
    }
    reset();
    struct vmx_vmcs_view vw = view();
    fields[VMCS_cpu_based_vm_exec_control] = (uint32_t)PROC_USE_MSR_BITMAPS;
    struct cpu_intercept q = { .reason = VMX_EXIT_rdmsr, .msr = 0x40000000u };
    ck_assert(vmx_exit_rule_applies(&vw, &q, NULL));
}
END_TEST

/* SDM 3C "CR access": owned bits against the read shadow, CR3-target
 * values, CR3/CR8 load and store exiting, CLTS and LMSW. */
START_TEST(cr_rule)
{
    reset();
    struct vmx_vmcs_view vw = view();
    struct cpu_intercept q = { .reason = VMX_EXIT_cr_access, .cr = 0, .value = 0x80000031 };
    fields[VMCS_cr0_guest_host_mask] = 0x20; /* NE owned */
    fields[VMCS_cr0_read_shadow] = 0x20;
    ck_assert(!vmx_exit_rule_applies(&vw, &q, NULL));
    q.value = 0x80000011;
    ck_assert(vmx_exit_rule_applies(&vw, &q, NULL));
    q = (struct cpu_intercept){ .reason = VMX_EXIT_cr_access, .cr = 3, .value = 0x5000 };
    ck_assert(!vmx_exit_rule_applies(&vw, &q, NULL));
    fields[VMCS_cpu_based_vm_exec_control] = (uint32_t)PROC_CR3_LOAD_EXITING;
    ck_assert(vmx_exit_rule_applies(&vw, &q, NULL));
    fields[VMCS_cr3_target_count] = 1;
    fields[VMCS_cr3_target_value0] = 0x5000;
    ck_assert(!vmx_exit_rule_applies(&vw, &q, NULL));
    q.qual = 1u << 4; /* MOV from CR3 */
    ck_assert(!vmx_exit_rule_applies(&vw, &q, NULL));
    fields[VMCS_cpu_based_vm_exec_control] |= (uint32_t)PROC_CR3_STORE_EXITING;
    ck_assert(vmx_exit_rule_applies(&vw, &q, NULL));
    q = (struct cpu_intercept){ .reason = VMX_EXIT_cr_access, .qual = 2u << 4 }; /* CLTS */
    fields[VMCS_cr0_guest_host_mask] = 0x8;
    fields[VMCS_cr0_read_shadow] = 0;
    ck_assert(!vmx_exit_rule_applies(&vw, &q, NULL));
    fields[VMCS_cr0_read_shadow] = 0x8;
    ck_assert(vmx_exit_rule_applies(&vw, &q, NULL));
}
END_TEST

/* SDM 3C "Exception Bitmap": #PF exits when bit 14 = 1 and PFEC & mask ==
 * match, or bit 14 = 0 and they differ. */
START_TEST(exception_rule)
{
    reset();
    struct vmx_vmcs_view vw = view();
    const char *why;
    ck_assert(!vmx_exception_rule_applies(&vw, 6, 0, &why));
    fields[VMCS_exception_bitmap] = 1u << 6;
    ck_assert(vmx_exception_rule_applies(&vw, 6, 0, &why));
    fields[VMCS_page_fault_error_code_mask] = 2;
    fields[VMCS_page_fault_error_code_match] = 2;
    ck_assert(!vmx_exception_rule_applies(&vw, 14, 2, &why)); /* bit 0, equal */
    ck_assert(vmx_exception_rule_applies(&vw, 14, 0, &why));  /* bit 0, differ */
    fields[VMCS_exception_bitmap] = 1u << 14;
    ck_assert(vmx_exception_rule_applies(&vw, 14, 2, &why)); /* bit 1, equal */
    ck_assert(!vmx_exception_rule_applies(&vw, 14, 0, &why)); /* bit 1, differ */
    ck_assert(strstr(why, "PFEC") != NULL);
}
END_TEST

/* The merge column (include/nvmx/vmcs_fields.def): host-state and
 * exit-information fields are never merged (NONE: vmcs02's host is L0's,
 * its exit information the hardware's), guest-state fields come from
 * vmcs12 (COPY), control fields have an origin (COPY, OR or FN). */
START_TEST(merge_origin_fits_area)
{
    const struct vmcs_field_info *fi = &vmcs_fields[_i];
    unsigned type = VMCS_ENC_TYPE(fi->encoding);
    if (type == VMCS_ENC_TYPE_HOST || type == VMCS_ENC_TYPE_RO_DATA) {
        ck_assert_msg(fi->merge == VMCS_MERGE_NONE, "%s (0x%04x): merge %u, expected NONE", fi->json,
                      fi->encoding, fi->merge);
    } else if (_i == VMCS_vmcs_link_pointer || _i == VMCS_vmx_preemption_timer_value) {
        /* guest-area fields L0 decides: no shadow VMCS for L2; the timer
         * value L1 wrote, saved back only if vmcs12 asks */
        ck_assert_msg(fi->merge == VMCS_MERGE_FN, "%s: merge %u, expected FN", fi->json, fi->merge);
    } else if (type == VMCS_ENC_TYPE_GUEST) {
        ck_assert_msg(fi->merge == VMCS_MERGE_COPY || fi->merge == VMCS_MERGE_NONE,
                      "%s (0x%04x): merge %u, expected COPY", fi->json, fi->encoding, fi->merge);
    } else {
        ck_assert_msg(fi->merge <= VMCS_MERGE_NONE, "%s (0x%04x): merge %u", fi->json, fi->encoding,
                      fi->merge);
    }
}
END_TEST

/* ---- the vmcs02 pool (src/nested/vmcs02_pool.c) ---- */

static unsigned pool_get(struct vmcs02_pool *p, uint64_t v12, bool expect_fresh, uint64_t expect_evicted)
{
    bool fresh = !expect_fresh;
    uint64_t evicted = 0;
    unsigned k = vmcs02_pool_get(p, v12, &fresh, &evicted);
    ck_assert_msg(fresh == expect_fresh, "vmcs12 %#llx: fresh %d, expected %d", (unsigned long long)v12,
                  fresh, expect_fresh);
    ck_assert_msg(evicted == expect_evicted, "vmcs12 %#llx: evicted %#llx, expected %#llx",
                  (unsigned long long)v12, (unsigned long long)evicted,
                  (unsigned long long)expect_evicted);
    ck_assert_msg(k < p->size && p->slot[k].vmcs12 == v12, "vmcs12 %#llx: slot %u", (unsigned long long)v12, k);
    return k;
}

/* One slot per vmcs12; a hit keeps its slot; a miss takes a free slot,
 * else the least recently used one. */
START_TEST(vmcs02_pool_lru)
{
    static struct vmcs02_pool p;
    const uint64_t FREE = VMCS02_POOL_FREE;
    vmcs02_pool_init(&p, 4);
    unsigned a = pool_get(&p, 0xa000, true, FREE);
    ck_assert_uint_eq(pool_get(&p, 0xa000, false, FREE), a);
    unsigned b = pool_get(&p, 0xb000, true, FREE);
    pool_get(&p, 0xc000, true, FREE);
    pool_get(&p, 0xd000, true, FREE);
    ck_assert_uint_ne(a, b);
    pool_get(&p, 0xa000, false, FREE);              /* A used last: B is the LRU */
    ck_assert_uint_eq(pool_get(&p, 0xe000, true, 0xb000), b);
    ck_assert_int_eq(vmcs02_pool_find(&p, 0xb000), -1);
    int c = vmcs02_pool_drop(&p, 0xc000);           /* L1's VMCLEAR of C */
    ck_assert_int_ge(c, 0);
    ck_assert_int_eq(vmcs02_pool_drop(&p, 0xc000), -1);
    ck_assert_uint_eq(pool_get(&p, 0xf000, true, FREE), (unsigned)c); /* the free slot, no eviction */
    ck_assert_uint_eq(p.hits, 2);
    ck_assert_uint_eq(p.misses, 6);
    ck_assert_uint_eq(p.evictions, 1);
    vmcs02_pool_drop_all(&p);
    for (unsigned i = 0; i < p.size; i++)
        ck_assert_uint_eq(p.slot[i].vmcs12, FREE);
}
END_TEST

/* A pool of one is nVMX v9's single reused vmcs02: every switch of vmcs12
 * evicts the other. Sizes are clamped to 1..VMCS02_POOL_MAX. */
START_TEST(vmcs02_pool_of_one)
{
    static struct vmcs02_pool p;
    vmcs02_pool_init(&p, 0);
    ck_assert_uint_eq(p.size, 1);
    pool_get(&p, 0x1000, true, VMCS02_POOL_FREE);
    pool_get(&p, 0x2000, true, 0x1000);
    pool_get(&p, 0x1000, true, 0x2000);
    pool_get(&p, 0x1000, false, VMCS02_POOL_FREE);
    vmcs02_pool_init(&p, 99);
    ck_assert_uint_eq(p.size, VMCS02_POOL_MAX);
}
END_TEST


/* The pkvm design's split (src/nested/pkvm.c): a field the merge computes
 * (FN, OR), a host-state field, a field without a shadow column and the
 * PDPTEs (L0's under EPT01) are emulated; the read-only exit-information
 * fields of the shadow column and its COPY fields are shadowed in vmcs02. */
START_TEST(pkvm_split)
{
    const struct vmcs_field_info *fi = &vmcs_fields[_i];
    enum vmcs_field f = (enum vmcs_field)_i;
    unsigned type = VMCS_ENC_TYPE(fi->encoding);
    bool pdpte = f >= VMCS_guest_pdpte0 && f <= VMCS_guest_pdpte3;
    bool want = fi->shadow != VMCS_SH_NO && !pdpte &&
                (type == VMCS_ENC_TYPE_RO_DATA || (fi->merge == VMCS_MERGE_COPY && type != VMCS_ENC_TYPE_HOST));
    ck_assert_msg(nested_pkvm_shadowed(f) == want, "%s (0x%04x): shadowed %d, expected %d", fi->json,
                  fi->encoding, nested_pkvm_shadowed(f), want);
    if (fi->merge == VMCS_MERGE_FN || fi->merge == VMCS_MERGE_OR || type == VMCS_ENC_TYPE_HOST)
        ck_assert_msg(!nested_pkvm_shadowed(f), "%s: computed by the merge but shadowed", fi->json);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("nested");
    TCase *tc = tcase_create("exit_rules");
    tcase_add_loop_test(tc, rule_follows_its_control, 0, (int)NRULES);
    tcase_add_test(tc, io_rule);
    tcase_add_test(tc, msr_rule);
    tcase_add_test(tc, cr_rule);
    tcase_add_test(tc, exception_rule);
    tcase_add_test(tc, vmcs02_pool_lru);
    tcase_add_test(tc, vmcs02_pool_of_one);
    tcase_add_loop_test(tc, pkvm_split, 0, VMCS_NFIELDS);
    suite_add_tcase(s, tc);
    tc = tcase_create("merge_table");
    tcase_add_loop_test(tc, merge_origin_fits_area, 0, VMCS_NFIELDS);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
