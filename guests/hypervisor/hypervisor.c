/* A small 64-bit hypervisor written for real VT-x: it discovers VMX,
 * enables it as firmware and an OS would, launches one 64-bit guest and
 * handles its CPUID, VMCALL, HLT, I/O and MSR exits; then it checks that
 * the processor rejects broken controls, host state and guest state with
 * the architectural results. Nothing here depends on the emulator. */
#include "console.h"
#include "report.h"
#include "rtstring.h"
#include "vmx.h"
#include "x86.h"

#define HC_PRINT 1 /* VMCALL RAX = 1, RBX = NUL-terminated string */
#define SERIAL_PORT 0x3f8
#define POST_PORT 0x80
#define GUEST_MSR MSR_IA32_SYSENTER_ESP

static unsigned exits[64];
static uint64_t guest_msr_value = 0x1111;
static bool done;

/* ---- the guest ---- */

static void guest_puts_serial(const char *s)
{
    for (; *s; s++)
        __asm__ volatile("outb %0, %1" : : "a"((uint8_t)*s), "Nd"((uint16_t)SERIAL_PORT));
}

static void guest_main_code(uint64_t arg)
{
    struct cpuid_regs r = cpuid(0, 0);
    static const char hello[] = "guest: hello through VMCALL\n";
    uint64_t v;

    __asm__ volatile("vmcall" : : "a"((uint64_t)HC_PRINT), "b"(hello) : "memory");
    __asm__ volatile("hlt");
    __asm__ volatile("outb %0, %1" : : "a"((uint8_t)0x42), "Nd"((uint16_t)POST_PORT));
    guest_puts_serial("guest: hello through the serial port\n");
    wrmsr(GUEST_MSR, 0x2222 + r.eax);
    v = rdmsr(GUEST_MSR);
    /* Report the MSR value back in RBX with the final VMCALL */
    __asm__ volatile("vmcall" : : "a"((uint64_t)VMX_GUEST_DONE), "b"(v) : "memory");
}

/* ---- the exit handler ---- */

static void skip_insn(void)
{
    vmwrite(GUEST_RIP, vmread(GUEST_RIP) + vmread(EXIT_INSN_LEN));
}

static void first_time(unsigned reason, const char *what)
{
    if (exits[reason] == 1)
        con_printf("hypervisor: exit %u (%s) at %#lx\n", reason, what, vmread(GUEST_RIP));
}

static bool handle_exit(struct vmx_regs *g)
{
    uint32_t reason = (uint32_t)vmread(EXIT_REASON);
    uint64_t qual = vmread(EXIT_QUAL);

    if (reason & EXIT_REASON_ENTRY_FAIL) {
        report_fail("hypervisor_exit", "VM-entry failure, reason %#x qual %#lx", reason, qual);
        return false;
    }
    exits[reason & 63]++;
    switch (reason) {
    case EXIT_CPUID: {
        /* SDM 3C: CPUID always exits; pass the host's values, without VMX */
        struct cpuid_regs r = cpuid((uint32_t)g->rax, (uint32_t)g->rcx);
        if ((uint32_t)g->rax == 1)
            r.ecx &= ~(1u << 5);
        g->rax = r.eax, g->rbx = r.ebx, g->rcx = r.ecx, g->rdx = r.edx;
        first_time(reason, "CPUID");
        break;
    }
    case EXIT_VMCALL:
        first_time(reason, "VMCALL");
        if (g->rax == VMX_GUEST_DONE) {
            done = true;
            check_eq("guest_msr_round_trip", g->rbx, guest_msr_value);
            return false;
        }
        if (g->rax == HC_PRINT)
            con_puts((const char *)g->rbx); /* same address space */
        g->rax = 0;
        break;
    case EXIT_HLT:
        first_time(reason, "HLT");
        break;
    case EXIT_IO: {
        /* SDM 3C "Exit Qualification for I/O Instructions" */
        uint16_t port = (uint16_t)(qual >> 16);
        bool in = qual & (1u << 3);
        first_time(reason, "I/O");
        if (in)
            g->rax = (g->rax & ~0xffull) | 0xff;
        else if (port == SERIAL_PORT)
            con_putc((char)g->rax);
        else if (port == POST_PORT)
            con_printf("hypervisor: POST code %#lx\n", g->rax & 0xff);
        break;
    }
    case EXIT_RDMSR:
        first_time(reason, "RDMSR");
        if ((uint32_t)g->rcx == GUEST_MSR) {
            g->rax = (uint32_t)guest_msr_value;
            g->rdx = guest_msr_value >> 32;
        } else {
            g->rax = g->rdx = 0;
        }
        break;
    case EXIT_WRMSR:
        first_time(reason, "WRMSR");
        if ((uint32_t)g->rcx == GUEST_MSR)
            guest_msr_value = (g->rdx << 32) | (uint32_t)g->rax;
        break;
    default:
        report_fail("hypervisor_exit", "unexpected exit reason %u qual %#lx at %#lx", reason,
                    qual, vmread(GUEST_RIP));
        return false;
    }
    skip_insn();
    return true;
}

/* ---- set-up ---- */

static bool enable_vmx(void)
{
    uint64_t fc;
    int r;

    if (!vmx_supported()) {
        report_skip("hypervisor", "CPUID.1:ECX.VMX = 0");
        return false;
    }
    vmx_caps_read();
    con_printf("hypervisor: VMCS revision %#x, region %u bytes, MAXPHYADDR %u\n",
               VMX_BASIC_REVISION(vmx_caps.basic), VMX_BASIC_REGION_SIZE(vmx_caps.basic),
               vmx_caps.maxphyaddr);
    /* SDM 3C "Enabling and Entering VMX Operation" */
    fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
    con_printf("hypervisor: IA32_FEATURE_CONTROL %#lx\n", fc);
    if (!vmx_feature_control_enable()) {
        report_fail("feature_control", "VMX disabled by IA32_FEATURE_CONTROL (%#lx)", fc);
        return false;
    }
    r = vmx_enter_root();
    return check_eq("vmxon", (uint64_t)r, VMX_OK);
}

static struct vmx_regs guest_regs;

static bool launch_guest(void)
{
    int r;

    vmx_guest_setup(&guest_regs, guest_main_code, 0);
    if (!vmx_vmcs_init(vmx_vmcs_region, 0, PROC_HLT | PROC_UNCOND_IO, 0, 0, 0))
        return false;
    if ((vmx_ctls.proc & (PROC_HLT | PROC_UNCOND_IO)) != (PROC_HLT | PROC_UNCOND_IO)) {
        report_fail("controls", "HLT or unconditional I/O exiting not available");
        return false;
    }
    vmx_exit_handler = handle_exit;
    r = vmx_run(&guest_regs);
    if (r != VMX_OK) {
        report_fail("vmlaunch", "result %d, VM-instruction error %u", r,
                    r == VMX_FAIL_VALID ? vmx_insn_error() : 0);
        return false;
    }
    check_true("guest_finished", done, "the guest's final VMCALL");
    con_printf("hypervisor: exits: CPUID %u, VMCALL %u, HLT %u, I/O %u, RDMSR %u, WRMSR %u\n",
               exits[EXIT_CPUID], exits[EXIT_VMCALL], exits[EXIT_HLT], exits[EXIT_IO],
               exits[EXIT_RDMSR], exits[EXIT_WRMSR]);
    check_eq("cpuid_exits", exits[EXIT_CPUID], 1);
    check_eq("vmcall_exits", exits[EXIT_VMCALL], 2);
    check_eq("hlt_exits", exits[EXIT_HLT], 1);
    check_eq("io_exits", exits[EXIT_IO], 1 + strlen("guest: hello through the serial port\n"));
    check_eq("rdmsr_exits", exits[EXIT_RDMSR], 1);
    check_eq("wrmsr_exits", exits[EXIT_WRMSR], 1);
    return true;
}

/* ---- what the processor must refuse ---- */

struct broken {
    const char *name;
    uint32_t field;
    uint64_t set, clear;
    uint32_t expect; /* VM-instruction error, or exit reason | bit 31 */
    uint64_t qual;
};

static const struct broken broken[] = {
    /* SDM 3C "Checks on VMX Controls" */
    { "broken_pin_reserved_bit", PIN_CONTROLS, 1u << 31, 0, VMXERR_ENTRY_BAD_CONTROL, 0 },
    { "broken_cr3_target_count", CR3_TARGET_COUNT, 100, 0, VMXERR_ENTRY_BAD_CONTROL, 0 },
    { "broken_inject_nmi_vector_3", ENTRY_INTR_INFO, INTR_VALID | INTR_TYPE_NMI | 3, 0,
      VMXERR_ENTRY_BAD_CONTROL, 0 },
    /* "Checks on Host Control Registers, MSRs and Segment Registers" */
    { "broken_host_cr4_vmxe", HOST_CR4, 0, CR4_VMXE, VMXERR_ENTRY_BAD_HOST, 0 },
    { "broken_host_cs_rpl", HOST_CS_SEL, 3, 0, VMXERR_ENTRY_BAD_HOST, 0 },
    { "broken_host_rip_noncanonical", HOST_RIP, 0x0000800000000000ull, 0,
      VMXERR_ENTRY_BAD_HOST, 0 },
    /* "Checks on the Guest-State Area": exit 33, bit 31 */
    { "broken_guest_cr0_pe", GUEST_CR0, 0, CR0_PE_BIT,
      EXIT_REASON_ENTRY_FAIL | EXIT_ENTRY_FAIL_GUEST, ENTRY_QUAL_DEFAULT },
    { "broken_guest_rflags_bit_1", GUEST_RFLAGS, 0, 2,
      EXIT_REASON_ENTRY_FAIL | EXIT_ENTRY_FAIL_GUEST, ENTRY_QUAL_DEFAULT },
    { "broken_guest_tr_unusable", GUEST_TR_AR, AR_UNUSABLE, 0,
      EXIT_REASON_ENTRY_FAIL | EXIT_ENTRY_FAIL_GUEST, ENTRY_QUAL_DEFAULT },
    { "broken_guest_link_pointer", VMCS_LINK_PTR, 0, 0xfff,
      EXIT_REASON_ENTRY_FAIL | EXIT_ENTRY_FAIL_GUEST, ENTRY_QUAL_LINK_PTR },
};

static uint32_t entry_fail_reason;
static uint64_t entry_fail_qual;

static bool record_entry_failure(struct vmx_regs *g)
{
    entry_fail_reason = (uint32_t)vmread(EXIT_REASON);
    entry_fail_qual = vmread(EXIT_QUAL);
    return false;
}

static void try_broken(const struct broken *b)
{
    int r;

    vmx_guest_setup(&guest_regs, guest_main_code, 0);
    if (!vmx_vmcs_init(vmx_vmcs_region, 0, PROC_HLT | PROC_UNCOND_IO, 0, 0, 0))
        return;
    vmwrite(b->field, (vmread(b->field) & ~b->clear) | b->set);
    entry_fail_reason = 0;
    vmx_exit_handler = record_entry_failure;
    r = vmx_run(&guest_regs);
    if (b->expect & EXIT_REASON_ENTRY_FAIL) {
        if (r == VMX_OK && entry_fail_reason == b->expect && entry_fail_qual == b->qual)
            report_pass(b->name);
        else
            report_fail(b->name, "expected exit %#x qual %lu got result %d exit %#x qual %lu",
                        b->expect, b->qual, r, entry_fail_reason, entry_fail_qual);
    } else if (r == VMX_FAIL_VALID && vmx_insn_error() == b->expect) {
        report_pass(b->name);
    } else {
        report_fail(b->name, "expected VMfailValid(%u) got result %d error %u exit %#x", b->expect,
                    r, r == VMX_FAIL_VALID ? vmx_insn_error() : 0, entry_fail_reason);
    }
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    con_printf("hypervisor: starting\n");
    if (!enable_vmx())
        return;
    if (launch_guest()) {
        for (unsigned i = 0; i < sizeof(broken) / sizeof(broken[0]); i++)
            try_broken(&broken[i]);
    }
    check_eq("vmxoff", (uint64_t)vmxoff(), VMX_OK);
    write_cr4(read_cr4() & ~CR4_VMXE);
    con_printf("hypervisor: done\n");
}
