/* Unit tests for exception and interrupt delivery (src/cpu/except.c): the
 * double-fault table, IDT delivery in IA-32e mode (same privilege, privilege
 * change, IST), the real-mode IVT and the IDT gate checks with their error
 * codes, plus IRETQ back to CPL 3. Frames are checked in guest memory. */
#include "cpu/except.h"
#include "cpu/seg.h"
#include "harness.h"

#include <check.h>
#include <stdlib.h>

#define RAM_SIZE (4u << 20)
#define TABLES 0x1000ull /* PML4; PDPT and PD follow */
#define GDT_BASE 0x10000ull
#define IDT_BASE 0x20000ull
#define TSS_BASE 0x30000ull

void op_iret(struct cpu *c, const struct insn *in);

static struct cpu_model model;
static struct cost_model cost;
static struct machine *m;
static struct cpu *c;

static const uint64_t gdt[] = {
    0,
    0x00af9b000000ffffull, /* 0x08 64-bit code, DPL 0 */
    0x00cf93000000ffffull, /* 0x10 data, DPL 0 */
    0x00affb000000ffffull, /* 0x18 64-bit code, DPL 3 */
    0x00cff3000000ffffull, /* 0x20 data, DPL 3 */
    0x0000890300000067ull, /* 0x28 64-bit TSS at TSS_BASE (16 bytes) */
    0,
    0x00cf9b000000ffffull, /* 0x38 32-bit code, DPL 0 */
};

static void set_model(void)
{
    th_model_init(&model, "except-test");
    th_add_leaf(&model, 0, 7, 0, 0, 0);
    th_add_leaf(&model, 1, 0x906a0, 0, 0, 0);
    th_add_leaf(&model, 0x80000000u, 0x80000008u, 0, 0, 0);
    th_add_leaf(&model, 0x80000001u, 0, 0, 0, 1u << 29);
    th_add_leaf(&model, 0x80000008u, 39, 0, 0, 0);
}

static void wr64(uint64_t pa, uint64_t v) { cpu_write_phys(c, pa, 8, v); }
static uint64_t rd64(uint64_t pa) { return cpu_read_phys(c, pa, 8); }

/* 64-bit interrupt (type 0xe) or trap (0xf) gate. */
static void set_gate64(int vector, uint64_t off, uint16_t sel, unsigned ist, unsigned type,
                       unsigned dpl, bool present)
{
    uint64_t lo = (off & 0xffff) | ((uint64_t)sel << 16) | ((uint64_t)ist << 32) |
                  ((uint64_t)type << 40) | ((uint64_t)dpl << 45) |
                  ((uint64_t)present << 47) | (((off >> 16) & 0xffff) << 48);
    wr64(IDT_BASE + 16 * (uint64_t)vector, lo);
    wr64(IDT_BASE + 16 * (uint64_t)vector + 8, off >> 32);
}

/* IA-32e 64-bit mode, identity-mapped 2-MByte pages (user-accessible), a
 * 64-bit TSS with RSP0 and IST2, CPL as given. */
static void setup_long(unsigned cpl)
{
    th_long_mode_2m(c, TABLES, 2, true, GDT_BASE);
    for (unsigned i = 0; i < sizeof gdt / sizeof gdt[0]; i++)
        wr64(GDT_BASE + 8 * i, gdt[i]);
    c->gdtr = (struct dtr){ GDT_BASE, sizeof gdt - 1 };
    c->idtr = (struct dtr){ IDT_BASE, 256 * 16 - 1 };
    c->tr = (struct seg_reg){ .sel = 0x28, .base = TSS_BASE, .limit = 0x67, .ar = 0x8b };
    wr64(TSS_BASE + 4, 0x70000);      /* RSP0 */
    wr64(TSS_BASE + 0x24 + 8, 0x6008); /* IST2 (unaligned on purpose) */
    if (cpl == 3) {
        c->seg[SEG_CS] = (struct seg_reg){ 0, 0xffffffffu, 0xa0fb, 0x1b };
        c->seg[SEG_SS] = (struct seg_reg){ 0, 0xffffffffu, 0xc0f3, 0x23 };
    }
    c->rflags = FL_FIXED1 | FL_IF;
    cpu_update_mode(c);
}

static void setup(void)
{
    set_model();
    m = th_machine_create(RAM_SIZE, false);
    c = th_cpu_create(m, &model, &cost);
}

static void teardown(void)
{
    cpu_destroy(c);
    machine_destroy(m);
}

struct fault {
    bool raised;
    int vector;
    uint32_t error;
};

struct deliver_req {
    int vector;
    enum cpu_event_type type;
    bool has_err;
    uint32_t err;
    uint64_t ret;
};

static struct fault deliver(int vector, enum cpu_event_type type, bool has_err, uint32_t err,
                            uint64_t ret)
{
    struct fault f = { 0 };
    if (__builtin_setjmp(c->fault_jmp) == 0) {
        c->fault_jmp_valid = true;
        cpu_deliver_event(c, vector, type, has_err, err, ret);
    } else {
        f.raised = true;
        f.vector = c->fault_vector;
        f.error = c->fault_error;
    }
    c->fault_jmp_valid = false;
    return f;
}

/* ---- SDM 3A Table "Conditions for Generating a Double Fault" ------------- */

static const int benign[] = { 1, 2, 3, 4, 5, 6, 7, 9, 16, 17, 18, 19 };
static const int contributory[] = { 0, 10, 11, 12, 13, 21 };
static const int page_faults[] = { 14, 20 };
static const int double_fault[] = { 8 };

static const struct {
    const int *v;
    unsigned n;
    const char *name;
} classes[] = {
    { benign, sizeof benign / sizeof benign[0], "benign" },
    { contributory, sizeof contributory / sizeof contributory[0], "contributory" },
    { page_faults, sizeof page_faults / sizeof page_faults[0], "page fault" },
    { double_fault, 1, "double fault" },
};

/* expect[first class][second class]: 0 serial, 1 #DF, 2 shutdown */
static const int df_expect[4][4] = {
    /* second:     benign contrib  pf  df(as benign-class second: serial) */
    /* benign  */ { 0, 0, 0, 0 },
    /* contrib */ { 0, 1, 0, 0 },
    /* pf      */ { 0, 1, 1, 0 },
    /* #DF     */ { 0, 2, 2, 0 },
};

START_TEST(double_fault_table)
{
    unsigned fc = (unsigned)_i / 4, sc = (unsigned)_i % 4;
    for (unsigned i = 0; i < classes[fc].n; i++)
        for (unsigned j = 0; j < classes[sc].n; j++) {
            int first = classes[fc].v[i], second = classes[sc].v[j];
            int r = cpu_double_fault_result(first, second);
            ck_assert_msg(r == df_expect[fc][sc], "%s %d then %s %d: %d, expected %d",
                          classes[fc].name, first, classes[sc].name, second, r,
                          df_expect[fc][sc]);
        }
}
END_TEST

START_TEST(error_code_presence)
{
    for (int v = 0; v < 32; v++) {
        bool want = v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21;
        ck_assert_msg(cpu_exception_has_error(v) == want, "vector %d: has_error %d", v, !want);
    }
}
END_TEST

/* ---- IA-32e delivery ------------------------------------------------------- */

/* #GP at CPL 0 through an interrupt gate: frame on the current stack, RSP
 * aligned down to 16 first, RF set in the pushed RFLAGS (fault). */
START_TEST(ia32e_same_privilege_frame)
{
    setup_long(0);
    set_gate64(EXC_GP, 0x401000, 0x08, 0, SYS_INT_GATE, 0, true);
    c->gpr[4] = 0x9008;
    c->rip = 0x400123;
    struct fault f = deliver(EXC_GP, EVT_HW_EXC, true, 0x18, 0x400123);
    ck_assert(!f.raised);
    ck_assert_uint_eq(c->gpr[4], 0x9000 - 48);
    ck_assert_uint_eq(rd64(0x9000 - 48), 0x18);     /* error code */
    ck_assert_uint_eq(rd64(0x9000 - 40), 0x400123); /* RIP */
    ck_assert_uint_eq(rd64(0x9000 - 32), 0x08);     /* CS */
    ck_assert_uint_eq(rd64(0x9000 - 24), FL_FIXED1 | FL_IF | FL_RF);
    ck_assert_uint_eq(rd64(0x9000 - 16), 0x9008);   /* old RSP */
    ck_assert_uint_eq(rd64(0x9000 - 8), 0x10);      /* SS */
    ck_assert_uint_eq(c->rip, 0x401000);
    ck_assert_uint_eq(c->next_rip, 0x401000);
    ck_assert(c->end_block);
    ck_assert(!(c->rflags & (FL_IF | FL_RF)));
    ck_assert_uint_eq(c->seg[SEG_CS].sel, 0x08);
    ck_assert_int_eq(c->delivering_vector, -1);
}
END_TEST

/* INT 0x80 from CPL 3 through a DPL-3 trap gate: RSP0 from the TSS, SS
 * becomes NULL with RPL 0, the old SS:RSP is pushed, IF is kept. */
START_TEST(ia32e_privilege_change_uses_rsp0)
{
    setup_long(3);
    set_gate64(0x80, 0xffffffff80001000ull, 0x08, 0, SYS_TRAP_GATE, 3, true);
    /* the handler address is non-canonical-free: sign-extended high half */
    c->gpr[4] = 0x7ff38;
    struct fault f = deliver(0x80, EVT_SW_INT, false, 0, 0x400002);
    ck_assert(!f.raised);
    uint64_t top = 0x70000;
    ck_assert_uint_eq(c->gpr[4], top - 40);
    ck_assert_uint_eq(rd64(top - 40), 0x400002);
    ck_assert_uint_eq(rd64(top - 32), 0x1b);
    ck_assert_uint_eq(rd64(top - 24), FL_FIXED1 | FL_IF);
    ck_assert_uint_eq(rd64(top - 16), 0x7ff38);
    ck_assert_uint_eq(rd64(top - 8), 0x23);
    ck_assert_uint_eq(c->rip, 0xffffffff80001000ull);
    ck_assert_uint_eq(c->seg[SEG_CS].sel, 0x08);
    ck_assert_uint_eq(c->cpl, 0);
    ck_assert_int_eq(c->mode, MODE_LONG64);
    ck_assert_uint_eq(c->seg[SEG_SS].sel, 0);
    ck_assert(c->seg[SEG_SS].ar & AR_UNUSABLE);
    ck_assert(c->rflags & FL_IF);
}
END_TEST

/* NMI through a gate with IST 2: the IST stack is used (aligned) even
 * without a privilege change; NMIs are blocked afterwards. */
START_TEST(ia32e_ist_stack)
{
    setup_long(0);
    set_gate64(EXC_NMI, 0x402000, 0x08, 2, SYS_INT_GATE, 0, true);
    c->gpr[4] = 0x9000;
    struct fault f = deliver(EXC_NMI, EVT_NMI, false, 0, 0x400100);
    ck_assert(!f.raised);
    ck_assert_uint_eq(c->gpr[4], 0x6000 - 40);
    ck_assert_uint_eq(rd64(0x6000 - 40), 0x400100);
    ck_assert_uint_eq(rd64(0x6000 - 16), 0x9000);
    ck_assert_uint_eq(rd64(0x6000 - 8), 0x10);
    ck_assert_uint_eq(c->seg[SEG_SS].sel, 0x10); /* no privilege change: SS kept */
    ck_assert(c->nmi_blocked);
    ck_assert_uint_eq(c->rip, 0x402000);
}
END_TEST

/* IRETQ from the handler of the privilege-change test returns to CPL 3. */
START_TEST(iretq_returns_to_cpl3)
{
    setup_long(3);
    set_gate64(0x80, 0x401000, 0x08, 0, SYS_INT_GATE, 3, true);
    c->gpr[4] = 0x7ff38;
    ck_assert(!deliver(0x80, EVT_SW_INT, false, 0, 0x400002).raised);
    struct insn in;
    memset(&in, 0, sizeof in);
    in.rex = 0x48;
    in.opsize = 8;
    c->nmi_blocked = true;
    if (__builtin_setjmp(c->fault_jmp) == 0) {
        c->fault_jmp_valid = true;
        op_iret(c, &in);
    } else {
        ck_abort_msg("IRETQ faulted: vector %d error 0x%x", c->fault_vector, c->fault_error);
    }
    c->fault_jmp_valid = false;
    ck_assert_uint_eq(c->next_rip, 0x400002);
    ck_assert_uint_eq(c->gpr[4], 0x7ff38);
    ck_assert_uint_eq(c->seg[SEG_CS].sel, 0x1b);
    ck_assert_uint_eq(c->seg[SEG_SS].sel, 0x23);
    ck_assert_uint_eq(c->cpl, 3);
    ck_assert(c->rflags & FL_IF);
    ck_assert(!c->nmi_blocked);
}
END_TEST

/* The whole round trip through the run loop: INT 0x80 at CPL 3, IRETQ in
 * the handler, then UD2 stops the run (stop_on_exception) right after the
 * INT instruction. */
START_TEST(int_iretq_round_trip_through_run_loop)
{
    setup_long(3);
    set_gate64(0x80, 0x201000, 0x08, 0, SYS_INT_GATE, 3, true);
    static const uint8_t user[] = { 0xcd, 0x80, 0x0f, 0x0b };   /* int 0x80; ud2 */
    static const uint8_t handler[] = { 0x48, 0xcf };          /* iretq */
    th_load(c, 0x200000, user, sizeof user);
    th_load(c, 0x201000, handler, sizeof handler);
    c->rip = 0x200000;
    c->gpr[4] = 0x7ff38;
    c->stop_on_exception = true;
    enum cpu_stop r = cpu_run(c, 10);
    ck_assert_int_eq(r, CPU_STOP_EXCEPTION);
    ck_assert_int_eq(c->last_exception, EXC_UD);
    ck_assert_uint_eq(c->rip, 0x200002);
    ck_assert_uint_eq(c->cpl, 3);
    ck_assert_uint_eq(c->gpr[4], 0x7ff38);
    ck_assert_uint_eq(c->seg[SEG_SS].sel, 0x23);
}
END_TEST

/* ---- debug exceptions (SDM 3B "Debug Exception (#DB)") ----------------------- */

/* Run code at 0x200000 in 64-bit mode at CPL 0 until the #DB handler (a HLT
 * behind an interrupt gate) stops; returns the RIP the #DB pushed. */
static uint64_t run_to_db(const uint8_t *code, size_t n, uint64_t rflags)
{
    setup_long(0);
    set_gate64(EXC_DB, 0x201000, 0x08, 0, SYS_INT_GATE, 0, true);
    static const uint8_t hlt[] = { 0xf4 };
    th_load(c, 0x200000, code, n);
    th_load(c, 0x201000, hlt, sizeof hlt);
    c->rip = 0x200000;
    c->gpr[4] = 0x7ff00;
    c->rflags = FL_FIXED1 | rflags;
    enum cpu_stop r = cpu_run(c, 20);
    ck_assert_int_eq(r, CPU_STOP_HLT_FOREVER);
    ck_assert_uint_eq(c->rip, 0x201001);
    return rd64(c->gpr[4]);
}

/* cmp eax,eax; jnz +2 (not taken); jz +1 (taken); nop; nop */
static const uint8_t branches[] = { 0x39, 0xc0, 0x75, 0x02, 0x74, 0x01, 0x90, 0x90 };

/* Without BTF, TF traps after the first instruction, with DR6.BS. */
START_TEST(single_step_traps_after_each_instruction)
{
    ck_assert_uint_eq(run_to_db(branches, sizeof branches, FL_TF), 0x200002);
    ck_assert_uint_eq(c->dr[6] & DR6_BS, DR6_BS);
}
END_TEST

/* IA32_DEBUGCTL.BTF (SDM 3B "Single-Stepping on Branches"): the trap comes
 * only after the taken JZ -- not after CMP or the JNZ that fell through --
 * with the branch target pushed. */
START_TEST(single_step_on_branches_with_btf)
{
    c->debugctl = DEBUGCTL_BTF;
    ck_assert_uint_eq(run_to_db(branches, sizeof branches, FL_TF), 0x200007);
    ck_assert_uint_eq(c->dr[6] & DR6_BS, DR6_BS);
}
END_TEST

/* DR7.GD (SDM 3B "Debug Control Register (DR7)"): MOV from DR0 is a #DB
 * fault; on delivery DR6.BD is set, B0-B3 cleared and DR7.GD cleared so
 * the handler may use the debug registers. */
START_TEST(general_detect_on_delivery)
{
    static const uint8_t mov_dr[] = { 0x0f, 0x21, 0xc0 }; /* mov rax, dr0 */
    c->dr[7] = 0x400 | DR7_GD;
    c->dr[6] = 0xffff0ff0ull | 0x3;
    ck_assert_uint_eq(run_to_db(mov_dr, sizeof mov_dr, 0), 0x200000);
    ck_assert_uint_eq(c->dr[6], 0xffff0ff0ull | DR6_BD);
    ck_assert_uint_eq(c->dr[7], 0x400);
}
END_TEST

/* ---- gate checks and their error codes --------------------------------------- */

static const struct gate_fail {
    const char *what;
    unsigned cpl;
    int vector;
    enum cpu_event_type type;
    int fault;
    uint32_t error;
} gate_fails[] = {
    /* SDM 2A "INT n": not present -> #NP(vector * 8 + 2 + EXT) */
    { "not-present gate, #GP (EXT)", 0, 0x40, EVT_HW_EXC, EXC_NP, 0x40 * 8 + 3 },
    { "not-present gate, INT n", 0, 0x41, EVT_SW_INT, EXC_NP, 0x41 * 8 + 2 },
    { "not-present gate, external", 0, 0x40, EVT_EXTINT, EXC_NP, 0x40 * 8 + 3 },
    { "INT n, gate DPL 0 < CPL 3", 3, 0x42, EVT_SW_INT, EXC_GP, 0x42 * 8 + 2 },
    { "INT3, gate DPL 0 < CPL 3", 3, EXC_BP, EVT_SW_EXC, EXC_GP, EXC_BP * 8 + 2 },
    { "external ignores gate DPL", 3, 0x42, EVT_EXTINT, -1, 0 },
    { "bad gate type", 0, 0x43, EVT_SW_INT, EXC_GP, 0x43 * 8 + 2 },
    { "beyond IDT limit", 0, 0xf0, EVT_HW_EXC, EXC_GP, 0xf0 * 8 + 3 },
    { "null code selector", 0, 0x44, EVT_SW_INT, EXC_GP, 0 },
    { "handler CS is data", 0, 0x45, EVT_HW_EXC, EXC_GP, 0x10 | 1 },
    { "handler CS 32-bit in IA-32e", 0, 0x46, EVT_SW_INT, EXC_GP, 0x38 },
    { "handler CS DPL 3 > CPL 0", 0, 0x47, EVT_SW_INT, EXC_GP, 0x18 },
};

START_TEST(gate_checks)
{
    const struct gate_fail *t = &gate_fails[_i];
    setup_long(t->cpl);
    set_gate64(0x40, 0x401000, 0x08, 0, SYS_INT_GATE, 3, false);
    set_gate64(0x41, 0x401000, 0x08, 0, SYS_INT_GATE, 3, false);
    set_gate64(0x42, 0x401000, 0x08, 0, SYS_INT_GATE, 0, true);
    set_gate64(EXC_BP, 0x401000, 0x08, 0, SYS_INT_GATE, 0, true);
    set_gate64(0x43, 0x401000, 0x08, 0, SYS_CALL_GATE, 3, true);
    set_gate64(0x44, 0x401000, 0x00, 0, SYS_INT_GATE, 3, true);
    set_gate64(0x45, 0x401000, 0x10, 0, SYS_INT_GATE, 3, true);
    set_gate64(0x46, 0x401000, 0x38, 0, SYS_INT_GATE, 3, true);
    set_gate64(0x47, 0x401000, 0x18, 0, SYS_INT_GATE, 3, true);
    c->idtr.limit = 0xf0 * 16 - 1;
    c->gpr[4] = 0x9000;
    struct seg_reg cs = c->seg[SEG_CS];
    struct fault f = deliver(t->vector, t->type, false, 0, 0x400000);
    if (t->fault < 0) {
        ck_assert_msg(!f.raised, "%s: raised %d (0x%x)", t->what, f.vector, f.error);
        return;
    }
    ck_assert_msg(f.raised && f.vector == t->fault && f.error == t->error,
                  "%s: raised %d vector %d error 0x%x, expected %d error 0x%x", t->what,
                  f.raised, f.vector, f.error, t->fault, t->error);
    ck_assert_msg(memcmp(&cs, &c->seg[SEG_CS], sizeof cs) == 0 && c->gpr[4] == 0x9000,
                  "%s: state changed by a failed delivery", t->what);
}
END_TEST

/* TSS limit too small for RSP0: #TS(TR selector + EXT). */
START_TEST(tss_limit_gives_ts)
{
    setup_long(3);
    set_gate64(EXC_UD, 0x401000, 0x08, 0, SYS_INT_GATE, 0, true);
    c->tr.limit = 10;
    struct fault f = deliver(EXC_UD, EVT_HW_EXC, false, 0, 0x400000);
    ck_assert(f.raised);
    ck_assert_int_eq(f.vector, EXC_TS);
    ck_assert_uint_eq(f.error, 0x28 | 1);
    /* a hardware exception is being delivered: a nested fault combines */
    ck_assert_int_eq(c->delivering_vector, EXC_UD);
}
END_TEST

/* ---- real mode ------------------------------------------------------------------ */

/* SDM 2A "INT n", REAL-ADDRESS-MODE: FLAGS, CS, IP pushed; IF, TF, AC cleared. */
START_TEST(real_mode_ivt)
{
    cpu_power_on_reset(c);
    c->idtr = (struct dtr){ 0, 0x3ff };
    cpu_write_phys(c, 0x10 * 4, 4, 0xf0001234u);
    c->seg[SEG_CS].sel = 0x0700;
    c->seg[SEG_CS].base = 0x7000;
    c->seg[SEG_SS].sel = 0;
    c->seg[SEG_SS].base = 0;
    c->gpr[4] = 0x7c00;
    c->rflags = FL_FIXED1 | FL_IF | FL_TF | FL_AC;
    struct fault f = deliver(0x10, EVT_SW_INT, false, 0, 0x0102);
    ck_assert(!f.raised);
    ck_assert_uint_eq(c->gpr[4], 0x7bfa);
    ck_assert_uint_eq(cpu_read_phys(c, 0x7bfe, 2), FL_FIXED1 | FL_IF | FL_TF);
    ck_assert_uint_eq(cpu_read_phys(c, 0x7bfc, 2), 0x0700);
    ck_assert_uint_eq(cpu_read_phys(c, 0x7bfa, 2), 0x0102);
    ck_assert_uint_eq(c->seg[SEG_CS].sel, 0xf000);
    ck_assert_uint_eq(c->seg[SEG_CS].base, 0xf0000);
    ck_assert_uint_eq(c->rip, 0x1234);
    ck_assert(!(c->rflags & (FL_IF | FL_TF | FL_AC)));
}
END_TEST

START_TEST(real_mode_ivt_limit)
{
    cpu_power_on_reset(c);
    c->idtr = (struct dtr){ 0, 0x3f };
    struct fault f = deliver(0x10, EVT_SW_INT, false, 0, 0);
    ck_assert(f.raised);
    ck_assert_int_eq(f.vector, EXC_GP);
}
END_TEST

static Suite *except_suite(void)
{
    Suite *s = suite_create("except");
    TCase *tc = tcase_create("double_fault");
    tcase_add_loop_test(tc, double_fault_table, 0, 16);
    tcase_add_test(tc, error_code_presence);
    suite_add_tcase(s, tc);

    tc = tcase_create("ia32e");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, ia32e_same_privilege_frame);
    tcase_add_test(tc, ia32e_privilege_change_uses_rsp0);
    tcase_add_test(tc, ia32e_ist_stack);
    tcase_add_test(tc, iretq_returns_to_cpl3);
    tcase_add_test(tc, int_iretq_round_trip_through_run_loop);
    tcase_add_loop_test(tc, gate_checks, 0, sizeof gate_fails / sizeof gate_fails[0]);
    tcase_add_test(tc, tss_limit_gives_ts);
    tcase_add_test(tc, single_step_traps_after_each_instruction);
    tcase_add_test(tc, single_step_on_branches_with_btf);
    tcase_add_test(tc, general_detect_on_delivery);
    suite_add_tcase(s, tc);

    tc = tcase_create("real");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, real_mode_ivt);
    tcase_add_test(tc, real_mode_ivt_limit);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(except_suite());
}
