/* Guest test taskswitch: hardware task switching in 32-bit protected mode
 * (SDM 3A "Task Management"; SDM 2A "JMP", "CALL", "IRET", "INT n"): JMP
 * and CALL to a TSS and through a task gate, IDT task gates for INT n and
 * exceptions (#DF and an exception with an error code), IRET with NT; the
 * busy flag, previous-task link and NT, the TSS limit and type checks with
 * their #TS/#NP/#GP error codes, CR0.TS, the LDT switch, the T flag's debug
 * trap and segment faults in the new task's context. Each case builds the
 * GDT, IDT and TSSs afresh, runs a 32-bit stub (ts32.S) and checks what
 * the tasks recorded and what the processor wrote to memory. */
#include "console.h"
#include "report.h"
#include "rtstring.h"
#include "x86.h"

#include "ts_layout.h"

/* SDM 3A "32-Bit Task-State Segment (TSS)" */
struct tss32 {
    uint16_t link, r0;
    uint32_t esp0;
    uint16_t ss0, r1;
    uint32_t esp1;
    uint16_t ss1, r2;
    uint32_t esp2;
    uint16_t ss2, r3;
    uint32_t cr3, eip, eflags;
    uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
    uint16_t es, r4, cs, r5, ss, r6, ds, r7, fs, r8, gs, r9, ldt, r10;
    uint16_t trap, iomap;
} __attribute__((packed));

extern uint8_t ts_gdtr32[], ts_idtr32[];
extern uint32_t ts_action, ts_read_ds0, ts_cr3_a;
extern uint8_t ts_far[];
extern const uint8_t ts_task_body[], ts_vec_stubs[], ts16_code[];
extern const uint8_t ts_do_jmp_paged[], ts_do_jmp[], ts_do_call[], ts_do_int[], ts_do_iret[], ts_do_gp[];
extern const uint8_t ts_gp_rip[], ts_after_jmp[], ts_after_call[], ts_after_int[];
uint32_t ts_run32(uint32_t stub);

uint32_t ts_out[TS_OUT_BYTES / 4];
static uint64_t gdt[TS_GDT_ENTRIES] __attribute__((aligned(16)));
static uint64_t idt[256] __attribute__((aligned(16)));
static struct tss32 tss_main, tss_b, tss_c;
static uint8_t stack_b[4096] __attribute__((aligned(16)));
static uint8_t stack_c[4096] __attribute__((aligned(16)));
static uint64_t ldt[2] __attribute__((aligned(16)));
static uint32_t ldt_data_word __attribute__((aligned(16))) = 0x1d7da7a;

#define OUT(off) ts_out[(off) / 4]
#define FL_NT 0x4000u
#define FL_RF 0x10000u
#define DR6_BT 0x8000u
#define VEC_DB 1
#define VEC_DF 8
#define VEC_TS 10
#define VEC_NP 11
#define VEC_SS 12
#define VEC_GP 13
#define EXT 1u

/* Descriptor: base, limit (bytes - 1, byte granular below 1 MiB), type
 * with S, DPL, P. */
static uint64_t desc(uint32_t base, uint32_t limit, unsigned type, unsigned s, unsigned dpl,
                     unsigned p, unsigned flags)
{
    return (limit & 0xffffull) | ((uint64_t)(base & 0xffffff) << 16) |
           ((uint64_t)(type & 15) << 40) | ((uint64_t)(s & 1) << 44) |
           ((uint64_t)(dpl & 3) << 45) | ((uint64_t)(p & 1) << 47) |
           ((uint64_t)((limit >> 16) & 15) << 48) | ((uint64_t)(flags & 15) << 52) |
           ((uint64_t)(base >> 24) << 56);
}

static uint64_t tss_desc(const void *t, uint32_t limit, bool busy)
{
    return desc((uint32_t)(uint64_t)t, limit, busy ? 0xb : 0x9, 0, 0, 1, 0);
}

static uint64_t task_gate(uint16_t tss_sel, unsigned dpl, unsigned p)
{
    return ((uint64_t)tss_sel << 16) | (5ull << 40) | ((uint64_t)(dpl & 3) << 45) |
           ((uint64_t)(p & 1) << 47);
}

static uint64_t intr_gate(uint32_t off)
{
    return (off & 0xffff) | ((uint64_t)TS_CODE32 << 16) | (0x8eull << 40) |
           ((uint64_t)(off >> 16) << 48);
}

static void task_init(struct tss32 *t, const uint8_t *stack_top)
{
    memset(t, 0, sizeof *t);
    t->eip = (uint32_t)(uint64_t)ts_task_body;
    t->eflags = 2;
    t->eax = 0xa0a0a0a0;
    t->ecx = 0xc0c0c0c0;
    t->edx = 0xd0d0d0d0;
    t->ebx = 0xb0b0b0b0;
    t->esp = (uint32_t)(uint64_t)stack_top;
    t->ebp = 0xbebebebe;
    t->esi = 0x51515151;
    t->edi = 0xd1d1d1d1;
    t->cs = TS_CODE32;
    t->ss = t->ds = t->es = t->fs = t->gs = TS_DATA32;
    t->iomap = sizeof *t;
}

/* A fresh world: flat code/data, the main TSS (loaded by LTR), tasks B and
 * C, a task gate to B, every IDT vector an interrupt gate to ts_vec_N. */
static void world_reset(void)
{
    memset(gdt, 0, sizeof gdt);
    gdt[TS_CODE32 / 8] = desc(0, 0xfffff, 0xb, 1, 0, 1, 0xc);
    gdt[TS_DATA32 / 8] = desc(0, 0xfffff, 0x3, 1, 0, 1, 0xc);
    gdt[TS_CODE64 / 8] = desc(0, 0xfffff, 0xb, 1, 0, 1, 0xa);
    gdt[TS_TSS_MAIN / 8] = tss_desc(&tss_main, sizeof tss_main - 1, false);
    gdt[TS_TSS_B / 8] = tss_desc(&tss_b, sizeof tss_b - 1, false);
    gdt[TS_TSS_C / 8] = tss_desc(&tss_c, sizeof tss_c - 1, false);
    gdt[TS_GATE_B / 8] = task_gate(TS_TSS_B, 0, 1);
    memset(&tss_main, 0, sizeof tss_main);
    tss_main.iomap = sizeof tss_main;
    task_init(&tss_b, stack_b + sizeof stack_b);
    task_init(&tss_c, stack_c + sizeof stack_c);
    for (unsigned v = 0; v < 256; v++)
        idt[v] = intr_gate((uint32_t)(uint64_t)ts_vec_stubs + 16 * v);
    memset(ts_out, 0, sizeof ts_out);
    ts_action = TS_ACT_IRET;
    ts_read_ds0 = 0;
    uint16_t gl = sizeof gdt - 1, il = sizeof idt - 1;
    uint64_t gb = (uint64_t)gdt, ib = (uint64_t)idt;
    memcpy(ts_gdtr32, &gl, 2);
    memcpy(ts_gdtr32 + 2, &gb, 8);
    memcpy(ts_idtr32, &il, 2);
    memcpy(ts_idtr32 + 2, &ib, 8);
}

static void set_far(uint16_t sel)
{
    uint32_t off = 0;
    memcpy(ts_far, &off, 4);
    memcpy(ts_far + 4, &sel, 2);
}

static bool busy(uint16_t sel) { return ((gdt[sel / 8] >> 40) & 0xf) == 0xb; }

static uint32_t run(const uint8_t *stub) { return ts_run32((uint32_t)(uint64_t)stub); }

static void check(const char *test, const char *what, uint64_t got, uint64_t want)
{
    char n[96];
    fmt_snprintf(n, sizeof n, "%s.%s", test, what);
    check_eq(n, got, want);
}

/* A fault that the switch must raise before any state changes: the
 * recorded vector and error code, no task entered, TR still the main TSS. */
static void expect_fault(const char *test, uint32_t res, unsigned vec, uint32_t err)
{
    check(test, "vector", res, TS_RESULT_VECTOR | vec);
    check(test, "error_code", OUT(TS_ERR), err);
    check(test, "task_not_entered", OUT(TS_ENTERED), 0);
    check(test, "tr_unchanged", OUT(TS_FAULT_TR), TS_TSS_MAIN);
}

/* JMP to a TSS: the new task is not nested (NT = 0, link untouched), the
 * old one becomes available, the new one busy; the old task's state goes to
 * its TSS and comes back with a JMP to it (SDM 3A "Task Linking", Table
 * "Effect of a Task Switch on Busy Flag, NT Flag, Previous Task Link
 * Field, and TS Flag"). */
static void test_jmp(void)
{
    world_reset();
    set_far(TS_TSS_B);
    tss_b.link = 0x1234;
    tss_b.eflags = 2 | FL_NT;
    ts_action = TS_ACT_JMP_BACK;
    uint32_t res = run(ts_do_jmp);
    check("jmp_tss", "returned", res, TS_RESULT_RETURNED);
    check("jmp_tss", "new_task_tr", OUT(TS_TR), TS_TSS_B);
    check("jmp_tss", "new_task_gprs", OUT(TS_EAX) == 0xa0a0a0a0 && OUT(TS_ECX) == 0xc0c0c0c0 &&
          OUT(TS_EDX) == 0xd0d0d0d0 && OUT(TS_EBX) == 0xb0b0b0b0 && OUT(TS_ESI) == 0x51515151 &&
          OUT(TS_EDI) == 0xd1d1d1d1 && OUT(TS_EBP) == 0xbebebebe, 1);
    check("jmp_tss", "new_task_esp", OUT(TS_ESP), (uint32_t)(uint64_t)(stack_b + sizeof stack_b));
    check("jmp_tss", "nt_as_loaded", OUT(TS_EFLAGS) & FL_NT, FL_NT);
    check("jmp_tss", "link_untouched", tss_b.link, 0x1234);
    check("jmp_tss", "cr0_ts_set", OUT(TS_CR0) & 8, 8);
    check("jmp_tss", "old_eip_saved", tss_main.eip, (uint32_t)(uint64_t)ts_after_jmp);
    check("jmp_tss", "old_ebx_saved", tss_main.ebx, TS_MAGIC_EBX);
    check("jmp_tss", "old_selectors_saved", tss_main.cs == TS_CODE32 && tss_main.ss == TS_DATA32 &&
          tss_main.ds == TS_DATA32, 1);
    check("jmp_tss", "back_ebx_restored", OUT(TS_MAIN_EBX), TS_MAGIC_EBX);
    check("jmp_tss", "back_tr", OUT(TS_MAIN_TR), TS_TSS_MAIN);
    /* B jumped back: B available again, main busy */
    check("jmp_tss", "b_available_after_jmp_back", busy(TS_TSS_B), 0);
    check("jmp_tss", "main_busy", busy(TS_TSS_MAIN), 1);
    check("jmp_tss", "b_saved_eip", tss_b.eip > (uint32_t)(uint64_t)ts_task_body, 1);
}

/* CALL to a TSS and back with IRET: the link names the caller, NT = 1 in
 * the new task, the caller stays busy; IRET clears the callee's busy flag
 * and NT in its saved EFLAGS. */
static void test_call(const char *name, uint16_t sel)
{
    world_reset();
    set_far(sel);
    uint32_t res = run(ts_do_call);
    check(name, "returned", res, TS_RESULT_RETURNED);
    check(name, "new_task_tr", OUT(TS_TR), TS_TSS_B);
    check(name, "link_is_caller", tss_b.link, TS_TSS_MAIN);
    check(name, "nt_set", OUT(TS_EFLAGS) & FL_NT, FL_NT);
    check(name, "old_eip_saved", tss_main.eip, (uint32_t)(uint64_t)ts_after_call);
    check(name, "callee_saved_nt_clear", tss_b.eflags & FL_NT, 0);
    check(name, "callee_available_after_iret", busy(TS_TSS_B), 0);
    check(name, "caller_busy", busy(TS_TSS_MAIN), 1);
    check(name, "back_ebx_restored", OUT(TS_MAIN_EBX), TS_MAGIC_EBX);
    check(name, "back_nt_clear", OUT(TS_MAIN_EFLAGS) & FL_NT, 0);
    check(name, "cr0_ts_set_after_return", OUT(TS_MAIN_CR0) & 8, 8);
}

/* INT n through a task gate in the IDT: nested like CALL. */
static void test_int_gate(void)
{
    world_reset();
    idt[TS_VEC_INT] = task_gate(TS_TSS_B, 0, 1);
    uint32_t res = run(ts_do_int);
    check("int_task_gate", "returned", res, TS_RESULT_RETURNED);
    check("int_task_gate", "new_task_tr", OUT(TS_TR), TS_TSS_B);
    check("int_task_gate", "link_is_interrupted", tss_b.link, TS_TSS_MAIN);
    check("int_task_gate", "nt_set", OUT(TS_EFLAGS) & FL_NT, FL_NT);
    check("int_task_gate", "old_eip_after_int", tss_main.eip, (uint32_t)(uint64_t)ts_after_int);
    check("int_task_gate", "back_ebx_restored", OUT(TS_MAIN_EBX), TS_MAGIC_EBX);
}

/* IRET with NT = 1 to the task the main TSS's link names. */
static void test_iret(void)
{
    world_reset();
    gdt[TS_TSS_B / 8] = tss_desc(&tss_b, sizeof tss_b - 1, true); /* a nested task is busy */
    tss_main.link = TS_TSS_B;
    ts_action = TS_ACT_ABORT;
    uint32_t res = run(ts_do_iret);
    check("iret_nt", "task_entered", res, TS_RESULT_TASK_ABORT);
    check("iret_nt", "new_task_tr", OUT(TS_TR), TS_TSS_B);
    check("iret_nt", "old_available", busy(TS_TSS_MAIN), 0);
    check("iret_nt", "new_stays_busy", busy(TS_TSS_B), 1);
    check("iret_nt", "old_saved_nt_clear", tss_main.eflags & FL_NT, 0);
    check("iret_nt", "new_nt_as_loaded", OUT(TS_EFLAGS) & FL_NT, 0);

    /* SDM 2A "IRET", TASK-RETURN: the link must name a busy TSS in the GDT */
    world_reset();
    tss_main.link = TS_TSS_B; /* available */
    expect_fault("iret_link_not_busy", run(ts_do_iret), VEC_TS, TS_TSS_B);
    world_reset();
    tss_main.link = 0;
    expect_fault("iret_link_null", run(ts_do_iret), VEC_TS, 0);
    world_reset();
    tss_main.link = TS_TSS_B | 4;
    expect_fault("iret_link_ti", run(ts_do_iret), VEC_TS, TS_TSS_B | 4);
    world_reset();
    tss_main.link = TS_BAD_SEL;
    expect_fault("iret_link_beyond_gdt", run(ts_do_iret), VEC_TS, TS_BAD_SEL);
    world_reset();
    gdt[TS_TSS_B / 8] = tss_desc(&tss_b, sizeof tss_b - 1, true) & ~(1ull << 47);
    tss_main.link = TS_TSS_B;
    expect_fault("iret_link_not_present", run(ts_do_iret), VEC_NP, TS_TSS_B);
}

/* SDM 2A "JMP"/"CALL": TASK-GATE and TASK-STATE-SEGMENT checks, and SDM 3A
 * "Invalid TSS Conditions": limit < 67H. All before any state changes. */
static void test_far_checks(void)
{
    world_reset();
    gdt[TS_TSS_B / 8] = tss_desc(&tss_b, sizeof tss_b - 1, true);
    set_far(TS_TSS_B);
    expect_fault("jmp_busy_tss", run(ts_do_jmp), VEC_GP, TS_TSS_B);

    world_reset();
    gdt[TS_TSS_B / 8] &= ~(1ull << 47);
    set_far(TS_TSS_B);
    expect_fault("jmp_tss_not_present", run(ts_do_jmp), VEC_NP, TS_TSS_B);

    world_reset();
    gdt[TS_TSS_B / 8] = tss_desc(&tss_b, 0x66, false);
    set_far(TS_TSS_B);
    expect_fault("jmp_tss_limit_66", run(ts_do_jmp), VEC_TS, TS_TSS_B);

    world_reset();
    set_far(TS_TSS_B | 3); /* RPL 3 > TSS DPL 0 */
    expect_fault("call_tss_rpl_above_dpl", run(ts_do_call), VEC_GP, TS_TSS_B);

    world_reset();
    set_far(TS_GATE_B | 3); /* RPL 3 > gate DPL 0 */
    expect_fault("call_gate_rpl_above_dpl", run(ts_do_call), VEC_GP, TS_GATE_B);

    world_reset();
    gdt[TS_GATE_B / 8] = task_gate(TS_TSS_B, 0, 0);
    set_far(TS_GATE_B);
    expect_fault("call_gate_not_present", run(ts_do_call), VEC_NP, TS_GATE_B);

    world_reset();
    gdt[TS_GATE_B / 8] = task_gate(TS_TSS_B | 4, 0, 1);
    set_far(TS_GATE_B);
    expect_fault("call_gate_tss_in_ldt", run(ts_do_call), VEC_GP, TS_TSS_B | 4);

    world_reset();
    gdt[TS_GATE_B / 8] = task_gate(TS_DATA32, 0, 1);
    set_far(TS_GATE_B);
    expect_fault("call_gate_to_data_segment", run(ts_do_call), VEC_GP, TS_DATA32);

    world_reset();
    gdt[TS_TSS_B / 8] = tss_desc(&tss_b, sizeof tss_b - 1, true);
    set_far(TS_GATE_B);
    expect_fault("call_gate_busy_tss", run(ts_do_call), VEC_GP, TS_TSS_B);

    /* the gate's privilege check passes, the TSS DPL is not checked */
    world_reset();
    gdt[TS_TSS_B / 8] = tss_desc(&tss_b, sizeof tss_b - 1, false);
    gdt[TS_GATE_B / 8] = task_gate(TS_TSS_B, 3, 1);
    set_far(TS_GATE_B | 3);
    check("call_gate_dpl3_rpl3", "returned", run(ts_do_call), TS_RESULT_RETURNED);
}

/* Exceptions through task gates: #GP with its error code pushed on the new
 * task's stack, the faulting EIP and RF = 1 saved in the old TSS; and the
 * classic #DF task (a #GP whose gate is not present: #NP during delivery,
 * two contributory exceptions, #DF with error code 0). */
static void test_exception_gates(void)
{
    world_reset();
    idt[VEC_GP] = task_gate(TS_TSS_C, 0, 1);
    ts_action = TS_ACT_ABORT;
    uint32_t res = run(ts_do_gp);
    check("gp_task_gate", "task_entered", res, TS_RESULT_TASK_ABORT);
    check("gp_task_gate", "new_task_tr", OUT(TS_TR), TS_TSS_C);
    check("gp_task_gate", "error_code_pushed", OUT(TS_STACK0), TS_BAD_SEL);
    check("gp_task_gate", "esp_after_push", OUT(TS_ESP),
          (uint32_t)(uint64_t)(stack_c + sizeof stack_c) - 4);
    check("gp_task_gate", "link", tss_c.link, TS_TSS_MAIN);
    check("gp_task_gate", "saved_eip_faulting", tss_main.eip, (uint32_t)(uint64_t)ts_gp_rip);
    check("gp_task_gate", "saved_rf", tss_main.eflags & FL_RF, FL_RF);
    check("gp_task_gate", "nt_set", OUT(TS_EFLAGS) & FL_NT, FL_NT);

    world_reset();
    idt[VEC_GP] &= ~(1ull << 47);
    idt[VEC_DF] = task_gate(TS_TSS_C, 0, 1);
    ts_action = TS_ACT_ABORT;
    res = run(ts_do_gp);
    check("df_task_gate", "task_entered", res, TS_RESULT_TASK_ABORT);
    check("df_task_gate", "new_task_tr", OUT(TS_TR), TS_TSS_C);
    check("df_task_gate", "error_code_0", OUT(TS_STACK0), 0);
    check("df_task_gate", "link", tss_c.link, TS_TSS_MAIN);
    check("df_task_gate", "saved_eip_faulting", tss_main.eip, (uint32_t)(uint64_t)ts_gp_rip);

    /* SDM 2A "INT n", TASK-GATE: a busy TSS is #GP(TSS selector + EXT) */
    world_reset();
    idt[VEC_GP] = task_gate(TS_TSS_C, 0, 1);
    gdt[TS_TSS_C / 8] = tss_desc(&tss_c, sizeof tss_c - 1, true);
    res = run(ts_do_gp);
    check("gp_task_gate_busy", "double_fault", res, TS_RESULT_VECTOR | VEC_DF);
}

/* SDM 3A Table "Exception Conditions Checked During a Task Switch": faults
 * in loading the new task's segments occur in its context (TR, EIP). */
static void test_new_task_faults(void)
{
    world_reset();
    gdt[TS_SPARE1 / 8] = desc(0, 0xfffff, 0x3, 1, 0, 0, 0xc); /* data, not present */
    tss_b.ds = TS_SPARE1;
    set_far(TS_TSS_B);
    uint32_t res = run(ts_do_jmp);
    check("new_task_ds_not_present", "vector", res, TS_RESULT_VECTOR | VEC_NP);
    check("new_task_ds_not_present", "error_code", OUT(TS_ERR), TS_SPARE1);
    check("new_task_ds_not_present", "in_new_task", OUT(TS_FAULT_TR), TS_TSS_B);
    check("new_task_ds_not_present", "eip_of_new_task", OUT(TS_FAULT_EIP),
          (uint32_t)(uint64_t)ts_task_body);
    check("new_task_ds_not_present", "old_saved", tss_main.eip, (uint32_t)(uint64_t)ts_after_jmp);

    world_reset();
    gdt[TS_SPARE2 / 8] = desc(0, 0xfffff, 0x9, 1, 0, 1, 0xc); /* execute-only code */
    tss_b.es = TS_SPARE2;
    set_far(TS_TSS_B);
    res = run(ts_do_jmp);
    check("new_task_es_execute_only", "vector", res, TS_RESULT_VECTOR | VEC_TS);
    check("new_task_es_execute_only", "error_code", OUT(TS_ERR), TS_SPARE2);
    check("new_task_es_execute_only", "in_new_task", OUT(TS_FAULT_TR), TS_TSS_B);

    /* a bad SS or CS leaves no stack: #TS goes through a task gate to C */
    world_reset();
    idt[VEC_TS] = task_gate(TS_TSS_C, 0, 1);
    ts_action = TS_ACT_ABORT;
    gdt[TS_SPARE1 / 8] = desc(0, 0xfffff, 0x3, 1, 3, 1, 0xc); /* DPL 3 data */
    tss_b.ss = TS_SPARE1;
    set_far(TS_TSS_B);
    res = run(ts_do_jmp);
    check("new_task_ss_dpl_not_cpl", "ts_task_entered", res, TS_RESULT_TASK_ABORT);
    check("new_task_ss_dpl_not_cpl", "ts_task_tr", OUT(TS_TR), TS_TSS_C);
    check("new_task_ss_dpl_not_cpl", "error_code", OUT(TS_STACK0), TS_SPARE1);
    check("new_task_ss_dpl_not_cpl", "link_is_new_task", tss_c.link, TS_TSS_B);
    check("new_task_ss_dpl_not_cpl", "new_task_eip_saved", tss_b.eip,
          (uint32_t)(uint64_t)ts_task_body);

    world_reset();
    idt[VEC_TS] = task_gate(TS_TSS_C, 0, 1);
    ts_action = TS_ACT_ABORT;
    tss_b.cs = TS_CODE32 | 1; /* RPL 1 != DPL 0 */
    tss_b.ss = TS_DATA32 | 1;
    set_far(TS_TSS_B);
    res = run(ts_do_jmp);
    check("new_task_cs_rpl_not_dpl", "ts_task_entered", res, TS_RESULT_TASK_ABORT);
    check("new_task_cs_rpl_not_dpl", "error_code", OUT(TS_STACK0), TS_CODE32);

    world_reset();
    idt[VEC_TS] = task_gate(TS_TSS_C, 0, 1);
    ts_action = TS_ACT_ABORT;
    tss_b.ldt = TS_DATA32; /* not an LDT descriptor */
    set_far(TS_TSS_B);
    res = run(ts_do_jmp);
    check("new_task_ldt_not_ldt", "ts_task_entered", res, TS_RESULT_TASK_ABORT);
    check("new_task_ldt_not_ldt", "error_code", OUT(TS_STACK0), TS_DATA32);
}

/* The LDTR comes from the new TSS; a TI = 1 selector then names the new
 * task's LDT. */
static void test_ldt(void)
{
    world_reset();
    ldt[0] = desc((uint32_t)(uint64_t)&ldt_data_word, 0xfff, 0x3, 1, 0, 1, 0);
    gdt[TS_LDT / 8] = desc((uint32_t)(uint64_t)ldt, sizeof ldt - 1, 0x2, 0, 0, 1, 0);
    tss_b.ldt = TS_LDT;
    tss_b.ds = 0x04; /* LDT entry 0 */
    ts_read_ds0 = 1;
    set_far(TS_TSS_B);
    uint32_t res = run(ts_do_call);
    check("ldt_switch", "returned", res, TS_RESULT_RETURNED);
    check("ldt_switch", "ldtr", OUT(TS_LDTR), TS_LDT);
    check("ldt_switch", "ds_from_ldt", OUT(TS_DS0), 0x1d7da7a);
}

/* With paging on, CR3 comes from the new TSS (it is not saved in the old
 * one): linear 40000000H maps only in the new task's page directory. */
static uint32_t pd_a[1024] __attribute__((aligned(4096)));
static uint32_t pd_b[1024] __attribute__((aligned(4096)));
static uint32_t cr3_marker = 0xc3c3a5a5;

static void test_cr3(void)
{
    uint32_t m = (uint32_t)(uint64_t)&cr3_marker;
    for (unsigned i = 0; i < 1024; i++)
        pd_a[i] = pd_b[i] = (i << 22) | 0x83; /* P, W, PS */
    pd_a[0x100] = 0;
    pd_b[0x100] = (m & ~0x3fffffu) | 0x83;
    world_reset();
    ts_cr3_a = (uint32_t)(uint64_t)pd_a;
    tss_main.cr3 = ts_cr3_a;
    tss_b.cr3 = (uint32_t)(uint64_t)pd_b;
    gdt[TS_SPARE1 / 8] = desc(0x40000000u + (m & 0x3fffff), 0xfff, 0x3, 1, 0, 1, 0);
    tss_b.ds = TS_SPARE1;
    ts_read_ds0 = 1;
    ts_action = TS_ACT_JMP_BACK;
    set_far(TS_TSS_B);
    uint32_t res = run(ts_do_jmp_paged);
    check("cr3_switch", "returned", res, TS_RESULT_RETURNED);
    check("cr3_switch", "new_cr3", OUT(TS_CR3), (uint32_t)(uint64_t)pd_b);
    check("cr3_switch", "read_through_new_cr3", OUT(TS_DS0), 0xc3c3a5a5);
    check("cr3_switch", "cr3_not_saved", tss_main.cr3, (uint32_t)(uint64_t)pd_a);
    check("cr3_switch", "back_ebx_restored", OUT(TS_MAIN_EBX), TS_MAGIC_EBX);
}

/* SDM 3B "Task-Switch Exception Condition": T = 1 in the new TSS gives a
 * #DB trap with DR6.BT before the new task's first instruction. */
static void test_trap_flag(void)
{
    world_reset();
    tss_b.trap = 1;
    set_far(TS_TSS_B);
    uint32_t res = run(ts_do_jmp);
    check("tss_t_flag", "debug_trap", res, TS_RESULT_VECTOR | VEC_DB);
    check("tss_t_flag", "dr6_bt", OUT(TS_FAULT_DR6) & DR6_BT, DR6_BT);
    check("tss_t_flag", "eip_first_insn", OUT(TS_FAULT_EIP), (uint32_t)(uint64_t)ts_task_body);
    check("tss_t_flag", "in_new_task", OUT(TS_FAULT_TR), TS_TSS_B);
    check("tss_t_flag", "not_run_yet", OUT(TS_ENTERED), 0);
}

/* SDM 3A "16-Bit Task-State Segment (TSS)": CALL to a 16-bit TSS (limit
 * 2BH) and IRET back; the 16-bit task saves its IP, FLAGS and registers in
 * the 16-bit layout. */
struct tss16 {
    uint16_t link, sp0, ss0, sp1, ss1, sp2, ss2, ip, flags;
    uint16_t ax, cx, dx, bx, sp, bp, si, di, es, cs, ss, ds, ldt;
} __attribute__((packed));
static struct tss16 tss_16;

static void test_tss16(void)
{
    world_reset();
    memset(&tss_16, 0, sizeof tss_16);
    tss_16.ip = 0;
    tss_16.flags = 2;
    tss_16.ax = 0x1111;
    tss_16.bx = 0x2222;
    tss_16.di = 0x3333;
    tss_16.sp = 0x0ff0;
    tss_16.cs = TS_CODE16;
    tss_16.ss = tss_16.ds = tss_16.es = TS_DATA32;
    gdt[TS_CODE16 / 8] = desc((uint32_t)(uint64_t)ts16_code, 0xffff, 0xb, 1, 0, 1, 0);
    gdt[TS_TSS_16 / 8] = desc((uint32_t)(uint64_t)&tss_16, 0x2b, 0x1, 0, 0, 1, 0);
    set_far(TS_TSS_16);
    uint32_t res = run(ts_do_call);
    check("tss16_call_iret", "returned", res, TS_RESULT_RETURNED);
    check("tss16_call_iret", "link", tss_16.link, TS_TSS_MAIN);
    check("tss16_call_iret", "available_after_iret", (gdt[TS_TSS_16 / 8] >> 40) & 0xf, 1);
    check("tss16_call_iret", "saved_ip_after_iret", tss_16.ip, 1);
    check("tss16_call_iret", "saved_flags_nt_clear", tss_16.flags & FL_NT, 0);
    check("tss16_call_iret", "registers_round_trip",
          tss_16.ax == 0x1111 && tss_16.bx == 0x2222 && tss_16.di == 0x3333 &&
          tss_16.sp == 0x0ff0 && tss_16.cs == TS_CODE16, 1);
    check("tss16_call_iret", "back_ebx_restored", OUT(TS_MAIN_EBX), TS_MAGIC_EBX);

    world_reset();
    gdt[TS_TSS_16 / 8] = desc((uint32_t)(uint64_t)&tss_16, 0x2a, 0x1, 0, 0, 1, 0);
    set_far(TS_TSS_16);
    expect_fault("tss16_limit_2a", run(ts_do_call), VEC_TS, TS_TSS_16);
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_magic;
    (void)mb_info;
    test_jmp();
    test_call("call_tss", TS_TSS_B);
    test_call("call_task_gate", TS_GATE_B);
    test_int_gate();
    test_iret();
    test_far_checks();
    test_exception_gates();
    test_new_task_faults();
    test_ldt();
    test_cr3();
    test_trap_flag();
    test_tss16();
    guest_finish();
}
