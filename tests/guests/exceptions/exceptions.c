/* Guest test: exception and interrupt delivery in 64-bit mode with the
 * runtime's IDT (SDM 3A "Interrupt and Exception Handling"): vectors, error
 * codes, saved RIP/RSP, CR2, #DF and #NP from delivery failures, IST stacks,
 * ring 3 entry and exit through IRETQ, INT and SYSCALL/SYSRET. */
#include "console.h"
#include "exc.h"
#include "paging.h"
#include "report.h"
#include "x86.h"

#define VEC_DE 0
#define VEC_BP 3
#define VEC_UD 6
#define VEC_DF 8
#define VEC_NP 11
#define VEC_GP 13
#define VEC_PF 14
#define FRAME_BYTES 40 /* SS, RSP, RFLAGS, CS, RIP */

/* IDT selector error code (SDM 3A "Error Code"): index, IDT bit 1, EXT bit 0 */
#define ERR_IDT(vec, ext) (((uint64_t)(vec) << 3) | 2 | (ext))

void fault_de(void *), fault_ud(void *), fault_gp_noncanonical(void *);
void fault_gp_selector(void *), fault_read(void *), fault_write(void *), fault_int3(void *);
extern const uint8_t fault_de_rip[], fault_ud_rip[], fault_gp_noncanonical_rip[];
extern const uint8_t fault_gp_selector_rip[], fault_read_rip[], fault_write_rip[];
extern const uint8_t fault_int3_rip[], fault_int3_next[];
void user_int80(uint64_t), user_read(uint64_t), user_write(uint64_t), user_int81(uint64_t);
void user_syscall(uint64_t);
extern const uint8_t user_int80_next[], user_read_rip[], user_write_rip[], user_int81_rip[];
extern const uint8_t user_syscall_insn[], user_syscall_ret[];
extern const uint8_t syscall_entry[];
uint64_t fault_rsp, sc_rcx, sc_r11, sc_rsp, sc_rflags, sc_cs, sc_ss;

static uint8_t page_a[4096] __attribute__((aligned(4096)));
static uint8_t ist2_stack[4096] __attribute__((aligned(16)));
static uint64_t kernel_secret = 0x5ec7e7;

#define LIN_NOT_PRESENT (PG_TEST_BASE + 0x0000)
#define LIN_READ_ONLY (PG_TEST_BASE + 0x1000)
#define LIN_USER_RO (PG_TEST_BASE + 0x2000)

static const volatile struct exc_frame *F = &exc_last.f;

/* Check vector, error code and the saved CS:RIP and SS:RSP of a CPL-0 fault. */
static void check_fault(const char *name, int got, unsigned vec, uint64_t err, const void *rip)
{
    char n[96];
    if (!check_eq(name, (uint64_t)got, vec))
        return;
    fmt_snprintf(n, sizeof(n), "%s.error_code", name);
    check_eq(n, F->error, err);
    fmt_snprintf(n, sizeof(n), "%s.rip", name);
    check_eq(n, F->rip, (uint64_t)rip);
    fmt_snprintf(n, sizeof(n), "%s.cs", name);
    check_eq(n, F->cs, GDT_KCODE);
    fmt_snprintf(n, sizeof(n), "%s.rsp", name);
    check_eq(n, F->rsp, fault_rsp);
    fmt_snprintf(n, sizeof(n), "%s.ss", name);
    check_eq(n, F->ss, GDT_KDATA);
}

static void test_simple_faults(void)
{
    check_fault("exc.de_div_by_zero", exc_run(fault_de, 0), VEC_DE, 0, fault_de_rip);
    check_fault("exc.ud_ud2", exc_run(fault_ud, 0), VEC_UD, 0, fault_ud_rip);
    check_fault("exc.gp_noncanonical", exc_run(fault_gp_noncanonical, 0), VEC_GP, 0,
                fault_gp_noncanonical_rip);
    /* SDM 3A "Interrupt 13": a selector beyond the GDT limit -> #GP(selector) */
    check_fault("exc.gp_selector_beyond_gdt", exc_run(fault_gp_selector, (void *)0x1238),
                VEC_GP, 0x1238, fault_gp_selector_rip);
    /* SDM 3A "Interrupt 3": a trap, saved RIP is the next instruction */
    check_fault("exc.bp_int3", exc_run(fault_int3, 0), VEC_BP, 0, fault_int3_next);
}

static void check_pf(const char *name, int got, uint64_t err, uint64_t cr2, const void *rip)
{
    char n[96];
    check_fault(name, got, VEC_PF, err, rip);
    fmt_snprintf(n, sizeof(n), "%s.cr2", name);
    check_eq(n, exc_last.cr2, cr2);
}

static void test_page_faults(void)
{
    uint64_t pa = (uint64_t)page_a;

    pg_map(LIN_NOT_PRESENT, pa, 0);
    pg_map(LIN_READ_ONLY, pa, PTE_P);
    check_pf("exc.pf_read_not_present", exc_run(fault_read, (void *)(LIN_NOT_PRESENT + 8)), 0,
             LIN_NOT_PRESENT + 8, fault_read_rip);
    check_pf("exc.pf_write_not_present", exc_run(fault_write, (void *)(LIN_NOT_PRESENT + 16)),
             PFEC_W, LIN_NOT_PRESENT + 16, fault_write_rip);
    write_cr0(read_cr0() | CR0_WP);
    check_pf("exc.pf_write_read_only_wp", exc_run(fault_write, (void *)(LIN_READ_ONLY + 24)),
             PFEC_P | PFEC_W, LIN_READ_ONLY + 24, fault_write_rip);
}

/* SDM 3A "Interrupt 8 -- Double Fault Exception", Table "Conditions for
 * Generating a Double Fault": a contributory exception (#NP: gate not
 * present) while delivering a contributory exception or a #PF -> #DF(0),
 * delivered on IST1. */
static void check_df(const char *name, int got)
{
    char n[96];
    if (!check_eq(name, (uint64_t)got, VEC_DF))
        return;
    fmt_snprintf(n, sizeof(n), "%s.error_code", name);
    check_eq(n, F->error, 0);
    fmt_snprintf(n, sizeof(n), "%s.on_ist1", name);
    check_eq(n, exc_last.frame_addr, rt_df_stack_top() - FRAME_BYTES);
}

static void test_double_faults(void)
{
    idt_gate(VEC_DE, 0, 0, false);
    check_df("exc.df_de_then_np", exc_run(fault_de, 0));
    idt_gate(VEC_DE, 0, 0, true);

    idt_gate(VEC_PF, 0, 0, false);
    check_df("exc.df_pf_then_np", exc_run(fault_read, (void *)LIN_NOT_PRESENT));
    idt_gate(VEC_PF, 0, 0, true);

    /* #GP while delivering #GP -> #DF: gate 13 not present gives #NP,
     * contributory after contributory. */
    idt_gate(VEC_GP, 0, 0, false);
    check_df("exc.df_gp_then_np", exc_run(fault_gp_noncanonical, 0));
    idt_gate(VEC_GP, 0, 0, true);

    /* Benign first event: just #NP, error code names the IDT gate. INT3 is a
     * software interrupt, so EXT = 0 and the saved RIP is the INT3. */
    idt_gate(VEC_BP, 0, 0, false);
    check_fault("exc.np_int3_gate_not_present", exc_run(fault_int3, 0), VEC_NP,
                ERR_IDT(VEC_BP, 0), fault_int3_rip);
    idt_gate(VEC_BP, 0, 0, true);
}

static void test_ist(void)
{
    uint64_t top = (uint64_t)(ist2_stack + sizeof(ist2_stack));

    rt_tss.ist[2] = top;
    idt_gate(VEC_BP, 2, 0, true);
    int v = exc_run(fault_int3, 0);
    idt_gate(VEC_BP, 0, 0, true);
    check_fault("exc.ist2_bp", v, VEC_BP, 0, fault_int3_next);
    check_eq("exc.ist2_bp.frame_on_ist2", exc_last.frame_addr, top - FRAME_BYTES);
}

/* Check an event that brought the processor back from CPL 3. */
static bool check_from_user(const char *name, int got, unsigned vec, uint64_t rip)
{
    char n[96];
    if (!check_eq(name, (uint64_t)got, vec))
        return false;
    fmt_snprintf(n, sizeof(n), "%s.cs", name);
    check_eq(n, F->cs, GDT_UCODE | 3);
    fmt_snprintf(n, sizeof(n), "%s.ss", name);
    check_eq(n, F->ss, GDT_UDATA | 3);
    fmt_snprintf(n, sizeof(n), "%s.rip", name);
    check_eq(n, F->rip, rip);
    /* SDM 3A "Stack Switching in IA-32e Mode": RSP from TSS.RSP0 */
    fmt_snprintf(n, sizeof(n), "%s.frame_on_rsp0", name);
    check_eq(n, exc_last.frame_addr, rt_tss.rsp[0] - FRAME_BYTES);
    return true;
}

static void test_ring3(void)
{
    uint64_t ustack = rt_user_stack_top();

    /* IRETQ to CPL 3, INT 0x80 (DPL-3 gate) back */
    if (check_from_user("exc.ring3_int80", exc_run_user(user_int80, 0, 0), EXC_VEC_USER_RETURN,
                        (uint64_t)user_int80_next)) {
        check_eq("exc.ring3_int80.rsp", F->rsp, ustack);
        check_eq("exc.ring3_int80.cs_at_cpl3", F->rax, GDT_UCODE | 3);
        check_eq("exc.ring3_int80.ss_at_cpl3", F->rbx, GDT_UDATA | 3);
    }

    /* SDM 3A "Interrupt 13": INT n to a gate with DPL < CPL -> #GP(n*8+2) */
    if (check_from_user("exc.ring3_int_dpl0_gate", exc_run_user(user_int81, 0, 0), VEC_GP,
                        (uint64_t)user_int81_rip))
        check_eq("exc.ring3_int_dpl0_gate.error_code", F->error, ERR_IDT(0x81, 0));

    /* #PF from CPL 3: supervisor page (U/S=0), and a read-only user page */
    uint64_t secret = (uint64_t)&kernel_secret;
    if (check_from_user("exc.ring3_pf_supervisor_page", exc_run_user(user_read, secret, 0), VEC_PF,
                        (uint64_t)user_read_rip)) {
        check_eq("exc.ring3_pf_supervisor_page.error_code", F->error, PFEC_P | PFEC_U);
        check_eq("exc.ring3_pf_supervisor_page.cr2", exc_last.cr2, secret);
    }
    pg_map(LIN_USER_RO, (uint64_t)page_a, PTE_P | PTE_U);
    if (check_from_user("exc.ring3_pf_write_read_only", exc_run_user(user_write, LIN_USER_RO + 8, 0),
                        VEC_PF, (uint64_t)user_write_rip)) {
        check_eq("exc.ring3_pf_write_read_only.error_code", F->error, PFEC_P | PFEC_W | PFEC_U);
        check_eq("exc.ring3_pf_write_read_only.cr2", exc_last.cr2, LIN_USER_RO + 8);
    }
}

/* SDM 2B "SYSCALL" and "SYSRET"; SDM 3A "Fast System Calls in 64-Bit Mode" */
static void test_syscall(void)
{
    const uint64_t sfmask = FL_DF | FL_AC | FL_TF | FL_IF;
    uint64_t ustack = rt_user_stack_top();

    wrmsr(MSR_EFER, rdmsr(MSR_EFER) & ~EFER_SCE);
    check_from_user("exc.syscall_without_sce_ud", exc_run_user(user_syscall, 0, 0), VEC_UD,
                    (uint64_t)user_syscall_insn);

    wrmsr(MSR_STAR, ((uint64_t)GDT_USER32 << 48) | ((uint64_t)GDT_KCODE << 32));
    wrmsr(MSR_LSTAR, (uint64_t)syscall_entry);
    wrmsr(MSR_SFMASK, sfmask);
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
    int v = exc_run_user(user_syscall, 0, 0);
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) & ~EFER_SCE);
    if (!check_eq("exc.syscall_sysret_round_trip", (uint64_t)v, EXC_VEC_USER_RETURN))
        return;
    check_eq("exc.syscall.rcx_return_rip", sc_rcx, (uint64_t)user_syscall_ret);
    check_eq("exc.syscall.r11_user_df", sc_r11 & FL_DF, FL_DF);
    check_eq("exc.syscall.sfmask_applied", sc_rflags, sc_r11 & ~sfmask);
    check_eq("exc.syscall.cs", sc_cs, GDT_KCODE);
    check_eq("exc.syscall.ss", sc_ss, GDT_KDATA);
    check_eq("exc.syscall.rsp_unchanged", sc_rsp, ustack);
    check_eq("exc.sysret.cs", F->rbx, GDT_UCODE | 3);
    check_eq("exc.sysret.ss", F->rsi, GDT_UDATA | 3);
    check_eq("exc.sysret.rflags_from_r11", F->rdx & FL_DF, FL_DF);
    check_eq("exc.sysret.rsp", F->rdi, ustack);
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    test_simple_faults();
    test_page_faults();
    test_double_faults();
    test_ist();
    test_ring3();
    test_syscall();
}
