/* Task switches in VMX non-root operation (SDM 3C "Treatment of Task
 * Switches", "Exit Qualification for Task Switches", "Information for VM
 * Exits That Occur During Event Delivery"): a 32-bit protected-mode guest
 * (32-bit paging, 4-MByte pages) attempts a task switch by JMP to a TSS,
 * CALL through a task gate, IRET with NT = 1, INT n and #UD through IDT
 * task gates. Each is VM exit 9 with the TSS selector and the source in the
 * qualification, the instruction length of JMP/CALL/IRET, IDT-vectoring
 * information for the IDT sources, and no change to the guest (TR, busy
 * flags, TSS contents). The checks before the exit (a busy TSS for JMP:
 * #GP) fault instead. */
#include "console.h"
#include "report.h"
#include "rtstring.h"
#include "vmx_common.h"
#include "x86.h"

#define SEL_CODE 0x08
#define SEL_DATA 0x10
#define SEL_TSS_MAIN 0x28
#define SEL_TSS_B 0x30
#define SEL_TSS_BUSY 0x38
#define SEL_GATE_B 0x40
#define VEC_INT 0x40
#define VEC_UD 6
#define VEC_GP 13
#define FL_NT (1ull << 14)
#define CR4_PSE (1ull << 4)
#define CR4_PAE (1ull << 5)
#define CR4_PCIDE (1ull << 17)
#define QUAL_CALL 0u
#define QUAL_IRET (1u << 30)
#define QUAL_JMP (2u << 30)
#define QUAL_IDT (3u << 30)

extern char gx_ts_jmp[], gx_ts_call_gate[], gx_ts_iret[], gx_ts_int[], gx_ts_ud[];
extern char gx_ts_jmp_busy[];

static uint32_t pd[1024] __attribute__((aligned(4096)));
static uint64_t gdt[9] __attribute__((aligned(16)));
static uint64_t idt[256] __attribute__((aligned(16)));
static uint8_t tss_main[0x68] __attribute__((aligned(16)));
static uint8_t tss_b[0x68] __attribute__((aligned(16)));
static uint8_t zeros[0x68];

static uint64_t sys_desc(const void *base, uint32_t limit, unsigned type)
{
    uint64_t b = (uint64_t)base;
    return (limit & 0xffff) | ((b & 0xffffff) << 16) | ((uint64_t)type << 40) | (1ull << 47) |
           ((uint64_t)((limit >> 16) & 15) << 48) | ((b >> 24) << 56);
}

static uint64_t task_gate(uint16_t sel) { return ((uint64_t)sel << 16) | (0x85ull << 40); }

static void build_tables(void)
{
    for (unsigned i = 0; i < 1024; i++)
        pd[i] = (i << 22) | 0x83; /* P, W, PS */
    memset(gdt, 0, sizeof gdt);
    gdt[SEL_CODE / 8] = 0x00cf9b000000ffffull;
    gdt[SEL_DATA / 8] = 0x00cf93000000ffffull;
    gdt[SEL_TSS_MAIN / 8] = sys_desc(tss_main, sizeof tss_main - 1, 0xb);
    gdt[SEL_TSS_B / 8] = sys_desc(tss_b, sizeof tss_b - 1, 0x9);
    gdt[SEL_TSS_BUSY / 8] = sys_desc(tss_b, sizeof tss_b - 1, 0xb);
    gdt[SEL_GATE_B / 8] = task_gate(SEL_TSS_B);
    memset(idt, 0, sizeof idt);
    idt[VEC_INT] = task_gate(SEL_TSS_B);
    idt[VEC_UD] = task_gate(SEL_TSS_B);
    memset(tss_main, 0, sizeof tss_main);
    memset(tss_b, 0, sizeof tss_b);
    tss_main[0] = SEL_TSS_BUSY; /* previous-task link, for IRET: a busy TSS */
}

static void seg(uint64_t sel_field, uint16_t sel, uint32_t ar, uint32_t limit, uint64_t base)
{
    unsigned i = (unsigned)(sel_field - GUEST_ES_SEL) / 2;
    vmwrite(sel_field, sel);
    vmwrite(GUEST_ES_LIMIT + 2 * i, limit);
    vmwrite(GUEST_ES_AR + 2 * i, ar);
    vmwrite(GUEST_ES_BASE + 2 * i, base);
}

static void empty_guest(uint64_t arg) { (void)arg; }

/* A 32-bit guest at rip; every exception exits except #UD (its IDT task
 * gate must be reached) when ud_delivered. */
static bool prepare(const char *name, const char *rip, uint64_t rflags, bool ud_delivered)
{
    if (!vmx_ctl_allowed(vmx_caps.entry, ENTRY_LOAD_EFER)) {
        report_skip(name, "\"load IA32_EFER\" not supported");
        return false;
    }
    build_tables();
    if (!vmx_test_vmcs(0, 0, 0, 0, 0, empty_guest, 0))
        return false;
    vmwrite(ENTRY_CONTROLS, (vmx_ctls.entry & ~ENTRY_IA32E) | ENTRY_LOAD_EFER);
    vmwrite(GUEST_EFER, 0);
    vmwrite(GUEST_CR4, (read_cr4() & ~(CR4_PAE | CR4_PCIDE)) | CR4_PSE);
    vmwrite(GUEST_CR3, (uint64_t)pd);
    seg(GUEST_CS_SEL, SEL_CODE, 0xc09b, 0xffffffff, 0);
    seg(GUEST_SS_SEL, SEL_DATA, 0xc093, 0xffffffff, 0);
    seg(GUEST_DS_SEL, SEL_DATA, 0xc093, 0xffffffff, 0);
    seg(GUEST_ES_SEL, SEL_DATA, 0xc093, 0xffffffff, 0);
    seg(GUEST_TR_SEL, SEL_TSS_MAIN, 0x8b, sizeof tss_main - 1, (uint64_t)tss_main);
    vmwrite(GUEST_GDTR_BASE, (uint64_t)gdt);
    vmwrite(GUEST_GDTR_LIMIT, sizeof gdt - 1);
    vmwrite(GUEST_IDTR_BASE, (uint64_t)idt);
    vmwrite(GUEST_IDTR_LIMIT, sizeof idt - 1);
    vmwrite(GUEST_RIP, (uint64_t)rip);
    vmwrite(GUEST_RFLAGS, rflags);
    vmwrite(EXCEPTION_BITMAP, ud_delivered ? ~(1u << VEC_UD) : 0xffffffffu);
    return true;
}

static void check(const char *test, const char *what, uint64_t got, uint64_t want)
{
    char n[96];
    fmt_snprintf(n, sizeof n, "%s.%s", test, what);
    check_eq(n, got, want);
}

/* Exit 9 with qual and the guest left exactly as it was. */
static void expect_task_switch(const char *name, const char *rip, uint64_t rflags, bool ud,
                               uint32_t qual, uint32_t insn_len, uint32_t idt_info)
{
    if (!prepare(name, rip, rflags, ud))
        return;
    int r = vmx_test_enter();
    if (!check_vmx(name, r, VMX_OK, 0))
        return;
    if (!check_exit(name, EXIT_TASK_SWITCH))
        return;
    check(name, "qualification", last_exit.qual, qual);
    check(name, "guest_rip", last_exit.guest_rip, (uint64_t)rip);
    if (insn_len)
        check(name, "insn_len", last_exit.insn_len, insn_len);
    check(name, "idt_vectoring_info", last_exit.idt_info, idt_info);
    check(name, "guest_tr", vmread(GUEST_TR_SEL), SEL_TSS_MAIN);
    check(name, "busy_flags_unchanged", ((gdt[SEL_TSS_MAIN / 8] >> 40) & 15) == 0xb &&
          ((gdt[SEL_TSS_B / 8] >> 40) & 15) == 0x9, 1);
    check(name, "tss_unchanged", memcmp(tss_b, zeros, sizeof tss_b) == 0 &&
          memcmp(tss_main + 4, zeros, sizeof tss_main - 4) == 0, 1);
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_magic;
    (void)mb_info;
    vmx_test_start();
    expect_task_switch("task_switch_jmp_tss", gx_ts_jmp, 2, false, SEL_TSS_B | QUAL_JMP, 7, 0);
    expect_task_switch("task_switch_call_task_gate", gx_ts_call_gate, 2, false,
                       SEL_TSS_B | QUAL_CALL, 7, 0);
    expect_task_switch("task_switch_iret_nt", gx_ts_iret, 2 | FL_NT, false,
                       SEL_TSS_BUSY | QUAL_IRET, 1, 0);
    expect_task_switch("task_switch_int_n_gate", gx_ts_int, 2, false, SEL_TSS_B | QUAL_IDT, 2,
                       INTR_VALID | INTR_TYPE_SW_INT | VEC_INT);
    expect_task_switch("task_switch_exception_gate", gx_ts_ud, 2, true, SEL_TSS_B | QUAL_IDT, 0,
                       INTR_VALID | INTR_TYPE_HW_EXC | VEC_UD);

    /* The busy check comes before the VM exit: #GP(selector) exits as an
     * exception (exception bitmap bit 13). */
    const char *name = "task_switch_jmp_busy_tss_gp_first";
    if (prepare(name, gx_ts_jmp_busy, 2, false) && check_vmx(name, vmx_test_enter(), VMX_OK, 0) &&
        check_exit(name, EXIT_EXCEPTION_NMI)) {
        check(name, "intr_info", last_exit.intr_info,
              INTR_VALID | INTR_TYPE_HW_EXC | INTR_ERRCODE | VEC_GP);
        check(name, "error_code", last_exit.intr_err, SEL_TSS_BUSY);
    }
    guest_finish();
}
