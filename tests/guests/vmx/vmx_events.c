/* Events and VMX: external interrupts (self-IPI through the xAPIC) with and
 * without acknowledge-interrupt-on-exit, NMI exiting (NMI IPI), interrupt
 * and NMI windows, the monitor trap flag, the VMX-preemption timer, event
 * injection of each type and IDT-vectoring information (SDM 3C "VM Exits
 * Caused by Events", "Other Causes of VM Exits", "Event Injection",
 * "Information for VM Exits During Event Delivery"). */
#include "console.h"
#include "exc.h"
#include "report.h"
#include "vmx_common.h"
#include "x86.h"

extern char gx_nop[], gx_nop_insn[], gx_nop_next[];
extern char gx_sti_nop[], gx_sti_nop_insn[], gx_sti_nop_next[];
extern char gx_spin[], gx_spin_insn[], gx_spin_next[];
extern char gx_xapic_icr[], gx_xapic_icr_insn[], gx_xapic_icr_next[];

/* xAPIC registers (SDM 3A "Local APIC Register Address Map") */
#define APIC_BASE 0xfee00000ull
#define APIC_ID 0x020
#define APIC_EOI 0x0b0
#define APIC_SVR 0x0f0
#define APIC_ICR_LO 0x300
#define APIC_ICR_HI 0x310
#define ICR_SELF (1u << 18)
#define ICR_NMI (4u << 8)
#define VEC_IPI 0x40

static volatile uint32_t *apic(unsigned reg)
{
    return (volatile uint32_t *)(APIC_BASE + reg);
}

static void apic_init(void)
{
    uint64_t base = rdmsr(MSR_IA32_APIC_BASE);

    /* SDM 3A "Local APIC Status and Location": EN = bit 11 */
    if (!(base & (1u << 11)))
        wrmsr(MSR_IA32_APIC_BASE, base | (1u << 11));
    *apic(APIC_SVR) = 0x1ff;
}

static bool supported(uint32_t pin, uint32_t proc, uint32_t exit)
{
    return vmx_ctl_allowed(vmx_caps.pin, pin) && vmx_ctl_allowed(vmx_caps.proc, proc) &&
           vmx_ctl_allowed(vmx_caps.exit, exit);
}

static bool prepare(const char *name, uint32_t pin, uint32_t proc, uint32_t exit, char *fn,
                    uint64_t arg)
{
    if (!supported(pin, proc, exit)) {
        report_skip(name, "controls not supported by this CPU");
        return false;
    }
    if (!vmx_test_vmcs(pin, proc, 0, exit, 0, (void (*)(uint64_t))fn, arg))
        return false;
    vmx_guest_idt_install();
    return true;
}

static bool enter(const char *name)
{
    int r = vmx_test_enter();

    if (r == VMX_OK)
        return true;
    report_fail(name, "VM entry failed: result %d error %u", r,
                r == VMX_FAIL_VALID ? vmx_insn_error() : 0);
    return false;
}

static volatile unsigned host_irqs;

static bool host_irq_hook(struct exc_frame *f)
{
    host_irqs++;
    *apic(APIC_EOI) = 0;
    return true;
}

static void test_external_interrupts(void)
{
    /* Acknowledge interrupt on exit: the vector is in the VM-exit
     * interruption information (SDM 3C "Information for VM Exits Due to
     * Vectored Events"). */
    if (prepare("ext_int_ack", PIN_EXT_INT_EXITING, 0, EXIT_ACK_INT, gx_xapic_icr,
                ICR_SELF | VEC_IPI) &&
        enter("ext_int_ack")) {
        check_eq("ext_int_ack_exit_reason", last_exit.reason, EXIT_EXTERNAL_INTERRUPT);
        check_eq("ext_int_ack_intr_info", last_exit.intr_info, INTR_VALID | INTR_TYPE_EXT | VEC_IPI);
        *apic(APIC_EOI) = 0;
    }
    /* Without it the interrupt stays pending in the APIC and the field is
     * invalid; the host takes it once it sets RFLAGS.IF. */
    if (prepare("ext_int_noack", PIN_EXT_INT_EXITING, 0, 0, gx_xapic_icr, ICR_SELF | VEC_IPI) &&
        enter("ext_int_noack")) {
        check_eq("ext_int_noack_exit_reason", last_exit.reason, EXIT_EXTERNAL_INTERRUPT);
        check_eq("ext_int_noack_intr_info_invalid", last_exit.intr_info & INTR_VALID, 0);
        host_irqs = 0;
        exc_set_hook(VEC_IPI, host_irq_hook);
        __asm__ volatile("sti; nop; nop; cli" ::: "memory");
        exc_set_hook(VEC_IPI, 0);
        check_eq("ext_int_noack_host_takes_interrupt", host_irqs, 1);
    }
    /* NMI exiting: an NMI IPI to our own APIC ID (the self shorthand does
     * not take NMIs: SDM 3A "Interrupt Command Register") */
    if (prepare("nmi_exiting", PIN_NMI_EXITING, 0, 0, gx_xapic_icr, ICR_NMI)) {
        *apic(APIC_ICR_HI) = *apic(APIC_ID) & 0xff000000u;
        if (enter("nmi_exiting")) {
            check_eq("nmi_exiting_exit_reason", last_exit.reason, EXIT_EXCEPTION_NMI);
            check_eq("nmi_exiting_intr_info", last_exit.intr_info & ~INTR_NMI_UNBLOCK,
                     INTR_VALID | INTR_TYPE_NMI | 2);
        }
    }
}

static void test_windows(void)
{
    /* SDM 3C "Interrupt-Window Exiting and Virtual-Interrupt Delivery":
     * with RFLAGS.IF = 1 and no blocking the exit comes before the first
     * guest instruction. */
    if (prepare("interrupt_window_open", 0, PROC_INT_WINDOW, 0, gx_nop, 0)) {
        vmwrite(GUEST_RFLAGS, 0x202);
        if (enter("interrupt_window_open")) {
            check_eq("interrupt_window_open_exit_reason", last_exit.reason, EXIT_INTERRUPT_WINDOW);
            check_eq("interrupt_window_open_guest_rip", last_exit.guest_rip,
                     (uint64_t)vmx_guest_entry);
        }
    }
    /* STI: blocking by STI covers the next instruction */
    if (prepare("interrupt_window_sti", 0, PROC_INT_WINDOW, 0, gx_sti_nop, 0) &&
        enter("interrupt_window_sti")) {
        check_eq("interrupt_window_sti_exit_reason", last_exit.reason, EXIT_INTERRUPT_WINDOW);
        check_eq("interrupt_window_after_sti_shadow", last_exit.guest_rip,
                 (uint64_t)gx_sti_nop_next);
    }
    /* SDM 3C "NMI-Window Exiting": needs virtual NMIs */
    if (prepare("nmi_window", PIN_NMI_EXITING | PIN_VIRTUAL_NMIS, PROC_NMI_WINDOW, 0, gx_nop, 0) &&
        enter("nmi_window")) {
        check_eq("nmi_window_exit_reason", last_exit.reason, EXIT_NMI_WINDOW);
        check_eq("nmi_window_guest_rip", last_exit.guest_rip, (uint64_t)vmx_guest_entry);
    }
    /* SDM 3C "Monitor Trap Flag": exit after one instruction (the CALL in
     * vmx_guest_entry), RIP = its target */
    if (prepare("mtf", 0, PROC_MTF, 0, gx_nop, 0) && enter("mtf")) {
        check_eq("mtf_exit_reason", last_exit.reason, EXIT_MTF);
        check_eq("mtf_guest_rip_after_one_insn", last_exit.guest_rip, (uint64_t)gx_nop);
    }
}

static void test_preemption_timer(void)
{
    /* SDM 3C "VMX-Preemption Timer": a value of 0 exits before the first
     * guest instruction. */
    if (prepare("preemption_timer_0", PIN_PREEMPT_TIMER, 0, 0, gx_nop, 0)) {
        vmwrite(PREEMPT_TIMER, 0);
        if (enter("preemption_timer_0")) {
            check_eq("preemption_timer_0_exit_reason", last_exit.reason, EXIT_PREEMPT_TIMER);
            check_eq("preemption_timer_0_guest_rip", last_exit.guest_rip,
                     (uint64_t)vmx_guest_entry);
        }
    }
    uint32_t save = vmx_ctl_allowed(vmx_caps.exit, EXIT_SAVE_PREEMPT) ? EXIT_SAVE_PREEMPT : 0;
    if (prepare("preemption_timer_spin", PIN_PREEMPT_TIMER, 0, save, gx_spin, 0)) {
        vmwrite(PREEMPT_TIMER, 1000);
        if (enter("preemption_timer_spin")) {
            check_eq("preemption_timer_spin_exit_reason", last_exit.reason, EXIT_PREEMPT_TIMER);
            check_eq("preemption_timer_spin_guest_rip", last_exit.guest_rip,
                     (uint64_t)gx_spin_insn);
            if (save)
                check_eq("preemption_timer_saved_0", vmread(PREEMPT_TIMER), 0);
        }
    }
}

struct inject_case {
    const char *name;
    uint32_t info, errcode, len;
    uint64_t vector, rip_offset, guest_err;
    uint64_t rflags;
};

/* SDM 3C "Event Injection": the event is delivered through the guest IDT;
 * software interrupts and exceptions push RIP + VM-entry instruction
 * length. */
static const struct inject_case injections[] = {
    { "inject_external_interrupt", INTR_VALID | INTR_TYPE_EXT | 0x41, 0, 0, 0x41, 0, 0, 0x202 },
    { "inject_nmi", INTR_VALID | INTR_TYPE_NMI | 2, 0, 0, 2, 0, 0, 0x2 },
    { "inject_hw_exception_gp_error_code", INTR_VALID | INTR_TYPE_HW_EXC | INTR_ERRCODE | 13,
      0x1234, 0, 13, 0, 0x1234, 0x2 },
    { "inject_hw_exception_ud", INTR_VALID | INTR_TYPE_HW_EXC | 6, 0, 0, 6, 0, 0, 0x2 },
    { "inject_software_interrupt", INTR_VALID | INTR_TYPE_SW_INT | 0x80, 0, 2, 0x80, 2, 0, 0x2 },
    { "inject_privileged_software_exception", INTR_VALID | INTR_TYPE_PRIV_SW_EXC | 1, 0, 1, 1,
      1, 0, 0x2 },
    { "inject_software_exception_bp", INTR_VALID | INTR_TYPE_SW_EXC | 3, 0, 1, 3, 1, 0, 0x2 },
};

static void test_injection(void)
{
    char name[96];

    for (unsigned i = 0; i < sizeof(injections) / sizeof(injections[0]); i++) {
        const struct inject_case *c = &injections[i];
        if (!prepare(c->name, 0, 0, 0, gx_nop, 0))
            continue;
        vmwrite(ENTRY_INTR_INFO, c->info);
        vmwrite(ENTRY_EXC_ERRCODE, c->errcode);
        vmwrite(ENTRY_INSN_LEN, c->len);
        vmwrite(GUEST_RFLAGS, c->rflags);
        if (!enter(c->name))
            continue;
        if (last_exit.reason != EXIT_VMCALL || last_exit.regs.rax != VMX_GUEST_VECTOR) {
            report_fail(c->name, "expected delivery through the guest IDT, got exit %#x rax %#lx",
                        last_exit.reason, last_exit.regs.rax);
            continue;
        }
        fmt_snprintf(name, sizeof(name), "%s_vector", c->name);
        check_eq(name, last_exit.regs.rbx, c->vector);
        fmt_snprintf(name, sizeof(name), "%s_pushed_rip", c->name);
        check_eq(name, last_exit.regs.rcx, (uint64_t)vmx_guest_entry + c->rip_offset);
        fmt_snprintf(name, sizeof(name), "%s_error_code", c->name);
        check_eq(name, last_exit.regs.rdx, c->guest_err);
        /* SDM 3C "VM Exits": the valid bit of the VM-entry
         * interruption-information field is cleared on every exit. */
        fmt_snprintf(name, sizeof(name), "%s_entry_info_valid_cleared", c->name);
        check_eq(name, vmread(ENTRY_INTR_INFO) & INTR_VALID, 0);
    }

    /* IDT-vectoring information: the injected external interrupt meets a
     * not-present gate; #NP(vector*8 + IDT + EXT) exits through the
     * exception bitmap and the injected event is recorded (SDM 3C
     * "Information for VM Exits During Event Delivery"). */
    if (prepare("idt_vectoring", 0, 0, 0, gx_nop, 0)) {
        vmx_guest_idt_gate(0x41, false);
        vmwrite(EXCEPTION_BITMAP, 1u << 11);
        vmwrite(ENTRY_INTR_INFO, INTR_VALID | INTR_TYPE_EXT | 0x41);
        vmwrite(GUEST_RFLAGS, 0x202);
        if (enter("idt_vectoring")) {
            check_eq("idt_vectoring_exit_reason", last_exit.reason, EXIT_EXCEPTION_NMI);
            check_eq("idt_vectoring_exit_intr_info", last_exit.intr_info & ~INTR_NMI_UNBLOCK,
                     INTR_VALID | INTR_TYPE_HW_EXC | INTR_ERRCODE | 11);
            check_eq("idt_vectoring_exit_intr_error", last_exit.intr_err, 0x41 * 8 + 2 + 1);
            check_eq("idt_vectoring_info", last_exit.idt_info, INTR_VALID | INTR_TYPE_EXT | 0x41);
        }
        vmx_guest_idt_gate(0x41, true);
    }
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    vmx_test_start();
    apic_init();
    test_external_interrupts();
    test_windows();
    test_preemption_timer();
    test_injection();
}
