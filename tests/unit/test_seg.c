/* Unit tests for segmentation (src/cpu/seg.c, src/cpu/ops_seg.c): descriptor
 * decoding, every MOV/POP Sreg check with its exact exception and error
 * code, and the descriptor probes, on a GDT built in the RAM of a real CPU. */
#include "cpu/seg.h"
#include "harness.h"

#include <check.h>
#include <stdlib.h>

#define RAM_SIZE (4u << 20)
#define GDT_BASE 0x10000ull
#define TABLES 0x1000ull /* PML4; PDPT and PD follow */

void op_lar(struct cpu *c, const struct insn *in);
void op_lsl(struct cpu *c, const struct insn *in);
void op_verr(struct cpu *c, const struct insn *in);
void op_verw(struct cpu *c, const struct insn *in);
void op_arpl(struct cpu *c, const struct insn *in);

static struct cpu_model model;
static struct cost_model cost;
static struct machine *m;
static struct cpu *c;

/* GDT of the tests: selector = 8 * index. */
static const uint64_t gdt[] = {
    0,
    0x00cf9b000000ffffull, /* 0x08 code, DPL 0, 32-bit, flat */
    0x00cf93000000ffffull, /* 0x10 data RW, DPL 0 */
    0x00cffb000000ffffull, /* 0x18 code, DPL 3 */
    0x00cff3000000ffffull, /* 0x20 data RW, DPL 3 */
    0x00cf13000000ffffull, /* 0x28 data RW, DPL 0, not present */
    0x00cf98000000ffffull, /* 0x30 code execute-only, DPL 0 */
    0x00cf90000000ffffull, /* 0x38 data read-only, DPL 0, not accessed */
    0x0000820000000fffull, /* 0x40 LDT (system) */
    0x124a92345678bcdeull, /* 0x48 data RW, base 0x12345678, limit 0xabcde, byte gran. */
    0x00cf9e000000ffffull, /* 0x50 conforming readable code, DPL 0 */
    0x00cf73000000ffffull, /* 0x58 data RW, DPL 3, not present */
    0x00af9b000000ffffull, /* 0x60 64-bit code, DPL 0 */
};
#define GDT_LIMIT (sizeof gdt - 1)

static void set_model(void)
{
    th_model_init(&model, "seg-test");
    th_add_leaf(&model, 0, 7, 0, 0, 0);
    th_add_leaf(&model, 1, 0x906a0, 0, 0, 0);
    th_add_leaf(&model, 0x80000000u, 0x80000008u, 0, 0, 0);
    th_add_leaf(&model, 0x80000001u, 0, 0, 0, 1u << 29);
    th_add_leaf(&model, 0x80000008u, 39, 0, 0, 0);
}

static void write_gdt(void)
{
    for (unsigned i = 0; i < sizeof gdt / sizeof gdt[0]; i++)
        cpu_write_phys(c, GDT_BASE + 8 * i, 8, gdt[i]);
    c->gdtr = (struct dtr){ GDT_BASE, GDT_LIMIT };
}

/* Protected mode, flat segments, at the given CPL. */
static void setup_prot(unsigned cpl)
{
    cpu_set_flat_protected(c);
    write_gdt();
    c->seg[SEG_CS].sel = (uint16_t)((cpl ? 0x18 : 0x08) | cpl);
    c->seg[SEG_CS].ar = cpl ? 0xc0fb : 0xc09b;
    c->seg[SEG_SS].sel = (uint16_t)((cpl ? 0x20 : 0x10) | cpl);
    c->seg[SEG_SS].ar = cpl ? 0xc0f3 : 0xc093;
    c->ldtr.ar = AR_UNUSABLE;
    cpu_update_mode(c);
}

/* IA-32e 64-bit mode at CPL 0 with identity-mapped 2-MByte pages. */
static void setup_long(void)
{
    th_long_mode_2m(c, TABLES, 1, true, GDT_BASE);
    write_gdt();
    c->seg[SEG_CS].sel = 0x60;
    cpu_update_mode(c);
}

static void setup(void)
{
    set_model();
    m = th_machine_create(RAM_SIZE, false);
    c = th_cpu_create(m, &model, &cost);
    setup_prot(0);
}

static void teardown(void)
{
    cpu_destroy(c);
    machine_destroy(m);
}

/* Run fn with the CPU's fault unwinding pointed here; report what it raised. */
struct fault {
    bool raised;
    int vector;
    uint32_t error;
    bool has_error;
};

static struct fault run_catching(void (*fn)(const void *), const void *arg)
{
    struct fault f = { 0 };
    if (__builtin_setjmp(c->fault_jmp) == 0) {
        c->fault_jmp_valid = true;
        fn(arg);
    } else {
        f.raised = true;
        f.vector = c->fault_vector;
        f.error = c->fault_error;
        f.has_error = c->fault_has_error;
    }
    c->fault_jmp_valid = false;
    return f;
}

struct load_req {
    int seg;
    uint16_t sel;
};

static void do_load(const void *p)
{
    const struct load_req *r = p;
    seg_load(c, r->seg, r->sel);
}

static struct fault load(int seg, uint16_t sel)
{
    struct load_req r = { seg, sel };
    return run_catching(do_load, &r);
}

/* ---- descriptor decoding ---------------------------------------------------- */

static const struct decode_case {
    const char *what;
    uint64_t lo, hi;
    uint64_t base;
    uint32_t limit, ar;
} decode_cases[] = {
    { "flat 32-bit code, G=1", 0x00cf9b000000ffffull, 0, 0, 0xffffffffu, 0xc09b },
    { "64-bit code (L=1)", 0x00af9b000000ffffull, 0, 0, 0xffffffffu, 0xa09b },
    { "byte-granular data", 0x124a92345678bcdeull, 0, 0x12345678, 0xabcde, 0x4092 },
    { "G=1 limit 0 -> 4 KiB", 0x0080930000000000ull, 0, 0, 0xfff, 0x8093 },
    { "DPL 3, AVL, G=1 limit 1", 0x00d0f20000000001ull, 0, 0, 0x1fff, 0xd0f2 },
    { "64-bit TSS, base from high 8 bytes", 0xab008bcdef000067ull, 0xfffff800ull,
      0xfffff800abcdef00ull, 0x67, 0x008b },
    { "code/data ignores the high 8 bytes", 0x00cf93000000ffffull, 0xffffffffull, 0,
      0xffffffffu, 0xc093 },
};

START_TEST(descriptor_fields_decode)
{
    const struct decode_case *t = &decode_cases[_i];
    struct seg_reg s;
    seg_from_descriptor(&s, 0x1234, t->lo, t->hi);
    ck_assert_msg(s.base == t->base, "%s: base 0x%llx, expected 0x%llx", t->what,
                  (unsigned long long)s.base, (unsigned long long)t->base);
    ck_assert_msg(s.limit == t->limit, "%s: limit 0x%x, expected 0x%x", t->what, s.limit,
                  t->limit);
    ck_assert_msg(s.ar == t->ar, "%s: ar 0x%x, expected 0x%x", t->what, s.ar, t->ar);
    ck_assert_uint_eq(s.sel, 0x1234);
}
END_TEST

START_TEST(read_descriptor_checks_table_limit)
{
    uint64_t d[2];
    ck_assert(seg_read_descriptor(c, 0x48, d, EXC_GP));
    ck_assert_uint_eq(d[0], gdt[9]);
    /* The last descriptor is in, the next one is out. */
    uint16_t last = (uint16_t)(GDT_LIMIT + 1 - 8);
    ck_assert(seg_probe_descriptor(c, last, d));
    ck_assert(!seg_probe_descriptor(c, (uint16_t)(last + 8), d));
    c->gdtr.limit = last + 6; /* one byte short */
    ck_assert(!seg_probe_descriptor(c, last, d));
    struct fault f;
    struct load_req r = { SEG_DS, last };
    f = run_catching(do_load, &r);
    ck_assert(f.raised);
    ck_assert_int_eq(f.vector, EXC_GP);
    ck_assert_uint_eq(f.error, last);
}
END_TEST

/* In IA-32e mode a system descriptor is 16 bytes: both halves must fit. */
START_TEST(read_descriptor_16_byte_system_in_ia32e)
{
    setup_long();
    uint64_t d[2];
    c->gdtr.limit = 0x40 + 15;
    ck_assert(seg_probe_descriptor(c, 0x40, d));
    ck_assert_uint_eq(d[1], gdt[9]);
    c->gdtr.limit = 0x40 + 14;
    ck_assert(!seg_probe_descriptor(c, 0x40, d));
    c->gdtr.limit = 0x48 + 7; /* a code/data descriptor needs only 8 bytes */
    ck_assert(seg_probe_descriptor(c, 0x48, d));
    ck_assert_uint_eq(d[1], 0);
}
END_TEST

/* ---- seg_load failures: SDM 2A "MOV -- Move", protected-mode exceptions ---- */

static const struct load_fail {
    const char *what;
    unsigned cpl;
    int seg;
    uint16_t sel;
    int vector;
    uint32_t error;
} load_fails[] = {
    { "SS null", 0, SEG_SS, 0x0000, EXC_GP, 0 },
    { "SS null with RPL 3", 3, SEG_SS, 0x0003, EXC_GP, 0 },
    { "SS beyond GDT limit", 0, SEG_SS, 0x0100, EXC_GP, 0x100 },
    { "SS RPL != CPL", 0, SEG_SS, 0x0013, EXC_GP, 0x10 },
    { "SS read-only data", 0, SEG_SS, 0x0038, EXC_GP, 0x38 },
    { "SS code segment", 0, SEG_SS, 0x0008, EXC_GP, 0x08 },
    { "SS DPL != CPL", 0, SEG_SS, 0x0020, EXC_GP, 0x20 },
    { "SS system descriptor", 0, SEG_SS, 0x0040, EXC_GP, 0x40 },
    { "SS not present", 0, SEG_SS, 0x0028, EXC_SS, 0x28 },
    { "SS not present, DPL 3", 3, SEG_SS, 0x005b, EXC_SS, 0x58 },
    { "DS beyond GDT limit", 0, SEG_DS, 0x00f8, EXC_GP, 0xf8 },
    { "DS execute-only code", 0, SEG_DS, 0x0030, EXC_GP, 0x30 },
    { "DS system descriptor", 0, SEG_DS, 0x0040, EXC_GP, 0x40 },
    { "DS DPL 0 at CPL 3", 3, SEG_DS, 0x0013, EXC_GP, 0x10 },
    { "ES RPL 3 > DPL 0 at CPL 0", 0, SEG_ES, 0x0013, EXC_GP, 0x10 },
    { "FS nonconforming code DPL 0 at CPL 3", 3, SEG_FS, 0x000b, EXC_GP, 0x08 },
    { "GS not present", 0, SEG_GS, 0x0028, EXC_NP, 0x28 },
    { "DS LDT selector, LDTR unusable", 0, SEG_DS, 0x000c, EXC_GP, 0x0c },
    { "DS error code drops RPL", 0, SEG_DS, 0x002b, EXC_GP, 0x28 },
};

START_TEST(seg_load_faults)
{
    const struct load_fail *t = &load_fails[_i];
    setup_prot(t->cpl);
    struct seg_reg before = c->seg[t->seg];
    struct fault f = load(t->seg, t->sel);
    ck_assert_msg(f.raised, "%s (0x%04x): no fault", t->what, t->sel);
    ck_assert_msg(f.vector == t->vector && f.has_error && f.error == t->error,
                  "%s (0x%04x): vector %d error 0x%x, expected %d error 0x%x", t->what, t->sel,
                  f.vector, f.error, t->vector, t->error);
    ck_assert_msg(memcmp(&before, &c->seg[t->seg], sizeof before) == 0,
                  "%s: segment register changed by a faulting load", t->what);
}
END_TEST

START_TEST(mov_cs_is_ud)
{
    struct fault f = load(SEG_CS, 0x08);
    ck_assert(f.raised);
    ck_assert_int_eq(f.vector, EXC_UD);
    ck_assert(!f.has_error);
}
END_TEST

/* ---- successful loads ------------------------------------------------------- */

START_TEST(load_sets_hidden_part_and_accessed_bit)
{
    struct fault f = load(SEG_DS, 0x48);
    ck_assert(!f.raised);
    ck_assert_uint_eq(c->seg[SEG_DS].sel, 0x48);
    ck_assert_uint_eq(c->seg[SEG_DS].base, 0x12345678);
    ck_assert_uint_eq(c->seg[SEG_DS].limit, 0xabcde);
    ck_assert_uint_eq(c->seg[SEG_DS].ar, 0x4093);
    uint64_t d = cpu_read_phys(c, GDT_BASE + 0x48, 8);
    ck_assert_uint_eq(d, gdt[9] | DESC_ACCESSED);
}
END_TEST

START_TEST(load_ss_same_privilege)
{
    setup_prot(3);
    struct fault f = load(SEG_SS, 0x23);
    ck_assert(!f.raised);
    ck_assert_uint_eq(c->seg[SEG_SS].sel, 0x23);
    ck_assert_uint_eq(c->seg[SEG_SS].ar, 0xc0f3);
}
END_TEST

START_TEST(load_null_data_segment_is_unusable)
{
    struct fault f = load(SEG_ES, 0x0003);
    ck_assert(!f.raised);
    ck_assert_uint_eq(c->seg[SEG_ES].sel, 3);
    ck_assert(c->seg[SEG_ES].ar & AR_UNUSABLE);
}
END_TEST

START_TEST(load_conforming_code_into_ds_at_cpl3)
{
    setup_prot(3);
    struct fault f = load(SEG_DS, 0x53);
    ck_assert(!f.raised);
    ck_assert_uint_eq(c->seg[SEG_DS].ar & AR_TYPE_MASK, 0xf);
}
END_TEST

/* SDM 2A "MOV": in 64-bit mode SS may be null at CPL < 3 when RPL = CPL. */
START_TEST(null_ss_in_64bit_mode)
{
    setup_long();
    ck_assert_int_eq(c->mode, MODE_LONG64);
    struct fault f = load(SEG_SS, 0x0000);
    ck_assert(!f.raised);
    ck_assert(c->seg[SEG_SS].ar & AR_UNUSABLE);
    f = load(SEG_SS, 0x0001);
    ck_assert(f.raised);
    ck_assert_int_eq(f.vector, EXC_GP);
    ck_assert_uint_eq(f.error, 0);
}
END_TEST

START_TEST(fs_base_from_descriptor_in_64bit_mode)
{
    setup_long();
    struct fault f = load(SEG_FS, 0x48);
    ck_assert(!f.raised);
    ck_assert_uint_eq(c->seg[SEG_FS].base, 0x12345678);
}
END_TEST

START_TEST(real_mode_load_keeps_limit)
{
    cpu_power_on_reset(c);
    c->seg[SEG_DS].limit = 0xffffffffu; /* big real mode */
    seg_load(c, SEG_DS, 0x1234);
    ck_assert_uint_eq(c->seg[SEG_DS].base, 0x12340);
    ck_assert_uint_eq(c->seg[SEG_DS].limit, 0xffffffffu);
    ck_assert_uint_eq(c->seg[SEG_DS].sel, 0x1234);
}
END_TEST

/* ---- mode derivation ---------------------------------------------------------- */

START_TEST(mode_and_cpl_follow_cr0_efer_cs)
{
    cpu_power_on_reset(c);
    ck_assert_int_eq(c->mode, MODE_REAL);
    ck_assert_uint_eq(c->code_size, 2);
    setup_prot(3);
    ck_assert_int_eq(c->mode, MODE_PROT);
    ck_assert_uint_eq(c->cpl, 3);
    ck_assert_uint_eq(c->code_size, 4);
    setup_long();
    ck_assert_int_eq(c->mode, MODE_LONG64);
    ck_assert_uint_eq(c->code_size, 8);
    c->seg[SEG_CS].ar = 0xc09b; /* L = 0, D = 1 */
    cpu_update_mode(c);
    ck_assert_int_eq(c->mode, MODE_COMPAT);
    ck_assert_uint_eq(c->code_size, 4);
}
END_TEST

/* ---- LAR, LSL, VERR, VERW, ARPL ----------------------------------------------- */

/* reg 0 (EAX) <- probe of the selector in ECX (ModRM register form). */
static struct insn probe_insn(unsigned opsize)
{
    struct insn in;
    memset(&in, 0, sizeof in);
    in.opk[0] = OPK_REG;
    in.opk[1] = OPK_RM;
    in.mod = 3;
    in.reg = 0;
    in.rm = 1;
    in.opsize = (uint8_t)opsize;
    return in;
}

static const struct probe_case {
    const char *what;
    unsigned cpl;
    uint16_t sel;
    bool lar_zf, lsl_zf, verr_zf, verw_zf;
    uint32_t lar, lsl;
} probe_cases[] = {
    { "data DPL 0 at CPL 0", 0, 0x10, true, true, true, true, 0x00cf9300, 0xffffffffu },
    { "data DPL 0 at CPL 3", 3, 0x13, false, false, false, false, 0, 0 },
    { "byte-granular data", 0, 0x48, true, true, true, true, 0x004a9200, 0xabcde },
    { "execute-only code", 0, 0x30, true, true, false, false, 0x00cf9800, 0xffffffffu },
    { "read-only data", 0, 0x38, true, true, true, false, 0x00cf9000, 0xffffffffu },
    { "conforming code at CPL 3", 3, 0x53, true, true, true, false, 0x00cf9e00, 0xffffffffu },
    { "LDT descriptor", 0, 0x40, true, true, false, false, 0x00008200, 0xfff },
    { "null selector", 0, 0x00, false, false, false, false, 0, 0 },
    { "beyond the GDT", 0, 0x1f0, false, false, false, false, 0, 0 },
};

START_TEST(descriptor_probes)
{
    const struct probe_case *t = &probe_cases[_i];
    setup_prot(t->cpl);
    struct insn in = probe_insn(4);
    void (*const ops[4])(struct cpu *, const struct insn *) = { op_lar, op_lsl, op_verr,
                                                                op_verw };
    const bool zf[4] = { t->lar_zf, t->lsl_zf, t->verr_zf, t->verw_zf };
    const char *names[4] = { "LAR", "LSL", "VERR", "VERW" };
    for (int k = 0; k < 4; k++) {
        c->gpr[0] = 0x5555555555555555ull;
        c->gpr[1] = t->sel;
        if (k >= 2) {
            in.opk[0] = OPK_RM;
            in.rm = 1;
        }
        ops[k](c, &in);
        bool got = (cpu_get_rflags(c) & FL_ZF) != 0;
        ck_assert_msg(got == zf[k], "%s %s (0x%04x): ZF %d, expected %d", names[k], t->what,
                      t->sel, got, zf[k]);
        if (k < 2) {
            uint64_t want = zf[k] ? (k == 0 ? t->lar : t->lsl) : 0x5555555555555555ull;
            ck_assert_msg(c->gpr[0] == want, "%s %s: EAX 0x%llx, expected 0x%llx", names[k],
                          t->what, (unsigned long long)c->gpr[0], (unsigned long long)want);
        }
    }
}
END_TEST

START_TEST(arpl_raises_rpl)
{
    struct insn in = probe_insn(2);
    in.opk[0] = OPK_RM;
    in.opk[1] = OPK_REG;
    in.rm = 0;
    in.reg = 1;
    c->gpr[0] = 0x10;
    c->gpr[1] = 0x23;
    op_arpl(c, &in);
    ck_assert_uint_eq(c->gpr[0], 0x13);
    ck_assert(cpu_get_rflags(c) & FL_ZF);
    op_arpl(c, &in);
    ck_assert_uint_eq(c->gpr[0], 0x13);
    ck_assert(!(cpu_get_rflags(c) & FL_ZF));
}
END_TEST

static Suite *seg_suite(void)
{
    Suite *s = suite_create("seg");
    TCase *tc = tcase_create("decode");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, descriptor_fields_decode, 0,
                        sizeof decode_cases / sizeof decode_cases[0]);
    tcase_add_test(tc, read_descriptor_checks_table_limit);
    tcase_add_test(tc, read_descriptor_16_byte_system_in_ia32e);
    suite_add_tcase(s, tc);

    tc = tcase_create("load");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, seg_load_faults, 0, sizeof load_fails / sizeof load_fails[0]);
    tcase_add_test(tc, mov_cs_is_ud);
    tcase_add_test(tc, load_sets_hidden_part_and_accessed_bit);
    tcase_add_test(tc, load_ss_same_privilege);
    tcase_add_test(tc, load_null_data_segment_is_unusable);
    tcase_add_test(tc, load_conforming_code_into_ds_at_cpl3);
    tcase_add_test(tc, null_ss_in_64bit_mode);
    tcase_add_test(tc, fs_base_from_descriptor_in_64bit_mode);
    tcase_add_test(tc, real_mode_load_keeps_limit);
    suite_add_tcase(s, tc);

    tc = tcase_create("mode");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, mode_and_cpl_follow_cr0_efer_cs);
    suite_add_tcase(s, tc);

    tc = tcase_create("probe");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, descriptor_probes, 0, sizeof probe_cases / sizeof probe_cases[0]);
    tcase_add_test(tc, arpl_raises_rpl);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(seg_suite());
}
