/* Guest runtime: VMX capabilities, VMXON, and a valid VMCS for a 64-bit
 * guest that shares the host's address space. Written for real VT-x: every
 * control value comes from the capability MSRs. */
#include "vmx.h"

#include "exc.h"
#include "report.h"
#include "rtstring.h"
#include "x86.h"

struct vmx_caps vmx_caps;
struct vmx_ctls vmx_ctls;
vmx_exit_fn vmx_exit_handler;

uint8_t vmx_vmxon_region[4096] __attribute__((aligned(4096)));
uint8_t vmx_vmcs_region[4096] __attribute__((aligned(4096)));
uint8_t vmx_vmcs2_region[4096] __attribute__((aligned(4096)));
static uint8_t guest_stack[16384] __attribute__((aligned(16)));

extern uint64_t boot_gdt[];

bool vmx_supported(void)
{
    return (cpuid(1, 0).ecx >> 5) & 1;
}

void vmx_caps_read(void)
{
    struct vmx_caps *k = &vmx_caps;
    bool true_ctls;

    k->basic = rdmsr(MSR_VMX_BASIC);
    true_ctls = k->basic & VMX_BASIC_TRUE_CTLS;
    k->misc = rdmsr(MSR_VMX_MISC);
    /* SDM 3C A.2: with IA32_VMX_BASIC[55] = 1 the TRUE_ MSRs report which
     * default1 controls may be 0. */
    k->pin = rdmsr(true_ctls ? MSR_VMX_TRUE_PINBASED_CTLS : MSR_VMX_PINBASED_CTLS);
    k->proc = rdmsr(true_ctls ? MSR_VMX_TRUE_PROCBASED_CTLS : MSR_VMX_PROCBASED_CTLS);
    k->exit = rdmsr(true_ctls ? MSR_VMX_TRUE_EXIT_CTLS : MSR_VMX_EXIT_CTLS);
    k->entry = rdmsr(true_ctls ? MSR_VMX_TRUE_ENTRY_CTLS : MSR_VMX_ENTRY_CTLS);
    /* SDM 3C A.3.3: PROCBASED_CTLS2 exists only if bit 63 of
     * PROCBASED_CTLS is 1. */
    k->proc2 = (k->proc >> 63) ? rdmsr(MSR_VMX_PROCBASED_CTLS2) : 0;
    k->cr0_fixed0 = rdmsr(MSR_VMX_CR0_FIXED0);
    k->cr0_fixed1 = rdmsr(MSR_VMX_CR0_FIXED1);
    k->cr4_fixed0 = rdmsr(MSR_VMX_CR4_FIXED0);
    k->cr4_fixed1 = rdmsr(MSR_VMX_CR4_FIXED1);
    k->vmcs_enum = rdmsr(MSR_VMX_VMCS_ENUM);
    /* SDM 3C A.10: IA32_VMX_EPT_VPID_CAP exists only if the "activate
     * secondary controls" control may be 1 and "enable EPT" (bit 33 of
     * IA32_VMX_PROCBASED_CTLS2) or "enable VPID" (bit 37) may be 1. */
    k->ept_vpid = 0;
    if ((k->proc >> 63) && (k->proc2 >> 32) & (PROC2_EPT | PROC2_VPID))
        k->ept_vpid = rdmsr(MSR_VMX_EPT_VPID_CAP);
    k->maxphyaddr = 36;
    if (cpuid(0x80000000, 0).eax >= 0x80000008)
        k->maxphyaddr = cpuid(0x80000008, 0).eax & 0xff;
}

bool vmx_proc2_allowed(uint32_t bits)
{
    return (vmx_caps.proc >> 63) && vmx_ctl_allowed(vmx_caps.proc2, bits);
}

bool vmx_ept_cap(uint64_t mask)
{
    return (vmx_caps.ept_vpid & mask) == mask;
}

/* SDM 3C A.3.1: bit X of the control may be 0 if bit X of the MSR is 0
 * (allowed-0 settings, bits 31:0) and may be 1 if bit 32+X is 1. */
uint32_t vmx_ctl_adjust(uint64_t cap, uint32_t want)
{
    return (want | (uint32_t)cap) & (uint32_t)(cap >> 32);
}

bool vmx_ctl_allowed(uint64_t cap, uint32_t bits)
{
    return (bits & (uint32_t)(cap >> 32)) == bits;
}

/* SDM 3C A.7/A.8: a bit set in FIXED0 must be 1, a bit clear in FIXED1
 * must be 0. */
uint64_t vmx_fix_cr0(uint64_t cr0)
{
    return (cr0 | vmx_caps.cr0_fixed0) & vmx_caps.cr0_fixed1;
}

uint64_t vmx_fix_cr4(uint64_t cr4)
{
    return (cr4 | vmx_caps.cr4_fixed0) & vmx_caps.cr4_fixed1;
}

void vmx_region_init(void *region, uint32_t revision)
{
    memset(region, 0, 4096);
    *(uint32_t *)region = revision;
}

bool vmx_feature_control_enable(void)
{
    uint64_t fc = rdmsr(MSR_IA32_FEATURE_CONTROL);

    if (!(fc & FC_LOCK)) {
        fc |= FC_LOCK | FC_VMX_OUTSIDE_SMX;
        wrmsr(MSR_IA32_FEATURE_CONTROL, fc);
        fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
    }
    return (fc & FC_LOCK) && (fc & FC_VMX_OUTSIDE_SMX);
}

int vmx_enter_root(void)
{
    /* SDM 3C "Restrictions on VMX Operation": CR0/CR4 must satisfy the
     * fixed bits before VMXON, and stay so in VMX operation. */
    write_cr0(vmx_fix_cr0(read_cr0()));
    write_cr4(vmx_fix_cr4(read_cr4() | CR4_VMXE));
    vmx_region_init(vmx_vmxon_region, VMX_BASIC_REVISION(vmx_caps.basic));
    return vmxon((uint64_t)vmx_vmxon_region);
}

uint64_t vmx_guest_stack_top(void)
{
    return (uint64_t)(guest_stack + sizeof(guest_stack));
}

void vmx_guest_setup(struct vmx_regs *regs, void (*fn)(uint64_t), uint64_t arg)
{
    memset(regs, 0, sizeof(*regs));
    regs->rdi = arg;
    regs->rsi = (uint64_t)fn;
}

struct dtr {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

static struct dtr read_gdtr(void)
{
    struct dtr d;
    __asm__ volatile("sgdt %0" : "=m"(d));
    return d;
}

static struct dtr read_idtr(void)
{
    struct dtr d;
    __asm__ volatile("sidt %0" : "=m"(d));
    return d;
}

static uint16_t read_tr(void)
{
    uint16_t v;
    __asm__ volatile("str %0" : "=r"(v));
    return v;
}

/* SDM 3C "Host-State Area": the state vmx_exit_stub runs in. */
static void write_host_state(void)
{
    struct dtr gdtr = read_gdtr(), idtr = read_idtr();

    vmwrite(HOST_CR0, read_cr0());
    vmwrite(HOST_CR3, read_cr3());
    vmwrite(HOST_CR4, read_cr4());
    vmwrite(HOST_CS_SEL, GDT_KCODE);
    vmwrite(HOST_SS_SEL, GDT_KDATA);
    vmwrite(HOST_DS_SEL, GDT_KDATA);
    vmwrite(HOST_ES_SEL, GDT_KDATA);
    vmwrite(HOST_FS_SEL, 0);
    vmwrite(HOST_GS_SEL, 0);
    vmwrite(HOST_TR_SEL, read_tr());
    vmwrite(HOST_FS_BASE, rdmsr(MSR_FS_BASE));
    vmwrite(HOST_GS_BASE, rdmsr(MSR_GS_BASE));
    vmwrite(HOST_TR_BASE, (uint64_t)&rt_tss);
    vmwrite(HOST_GDTR_BASE, gdtr.base);
    vmwrite(HOST_IDTR_BASE, idtr.base);
    vmwrite(HOST_SYSENTER_CS, rdmsr(MSR_IA32_SYSENTER_CS));
    vmwrite(HOST_SYSENTER_ESP, rdmsr(MSR_IA32_SYSENTER_ESP));
    vmwrite(HOST_SYSENTER_EIP, rdmsr(MSR_IA32_SYSENTER_EIP));
    vmwrite(HOST_RIP, (uint64_t)vmx_exit_stub);
    vmwrite(HOST_RSP, 0); /* vmx_run writes it before each entry */
}

static void write_guest_segment(uint64_t sel_field, uint16_t sel, uint32_t ar, uint32_t limit,
                                uint64_t base)
{
    /* The selector, base, limit and AR fields are spaced evenly: SDM 3C
     * Appendix B (ES, CS, SS, DS, FS, GS, LDTR, TR in that order). */
    unsigned i = (unsigned)(sel_field - GUEST_ES_SEL) / 2;
    vmwrite(sel_field, sel);
    vmwrite(GUEST_ES_LIMIT + 2 * i, limit);
    vmwrite(GUEST_ES_AR + 2 * i, ar);
    vmwrite(GUEST_ES_BASE + 2 * i, base);
}

/* SDM 3C "Guest-State Area": a 64-bit guest at CPL 0 that checks of
 * "Checks on the Guest-State Area" accept. */
static void write_guest_state(void)
{
    struct dtr gdtr = read_gdtr(), idtr = read_idtr();

    vmwrite(GUEST_CR0, read_cr0());
    vmwrite(GUEST_CR3, read_cr3());
    vmwrite(GUEST_CR4, read_cr4());
    vmwrite(GUEST_DR7, 0x400);
    vmwrite(GUEST_RSP, vmx_guest_stack_top());
    vmwrite(GUEST_RIP, (uint64_t)vmx_guest_entry);
    vmwrite(GUEST_RFLAGS, 0x2);
    write_guest_segment(GUEST_CS_SEL, GDT_KCODE, AR_CODE64, 0xffffffff, 0);
    write_guest_segment(GUEST_SS_SEL, GDT_KDATA, AR_DATA, 0xffffffff, 0);
    write_guest_segment(GUEST_DS_SEL, GDT_KDATA, AR_DATA, 0xffffffff, 0);
    write_guest_segment(GUEST_ES_SEL, GDT_KDATA, AR_DATA, 0xffffffff, 0);
    write_guest_segment(GUEST_FS_SEL, 0, AR_UNUSABLE, 0, 0);
    write_guest_segment(GUEST_GS_SEL, 0, AR_UNUSABLE, 0, 0);
    write_guest_segment(GUEST_LDTR_SEL, 0, AR_UNUSABLE, 0, 0);
    write_guest_segment(GUEST_TR_SEL, read_tr(), AR_TSS64_BUSY, sizeof(rt_tss) - 1,
                        (uint64_t)&rt_tss);
    vmwrite(GUEST_GDTR_BASE, gdtr.base);
    vmwrite(GUEST_GDTR_LIMIT, gdtr.limit);
    vmwrite(GUEST_IDTR_BASE, idtr.base);
    vmwrite(GUEST_IDTR_LIMIT, idtr.limit);
    vmwrite(GUEST_DEBUGCTL, 0);
    vmwrite(GUEST_SYSENTER_CS, 0);
    vmwrite(GUEST_SYSENTER_ESP, 0);
    vmwrite(GUEST_SYSENTER_EIP, 0);
    vmwrite(GUEST_INTERRUPTIBILITY, 0);
    vmwrite(GUEST_ACTIVITY, ACTIVITY_ACTIVE);
    vmwrite(GUEST_PENDING_DBG, 0);
    vmwrite(VMCS_LINK_PTR, ~0ull);
}

static void write_controls(void)
{
    vmwrite(PIN_CONTROLS, vmx_ctls.pin);
    vmwrite(PROC_CONTROLS, vmx_ctls.proc);
    if (vmx_ctls.proc & PROC_SECONDARY)
        vmwrite(PROC2_CONTROLS, vmx_ctls.proc2);
    vmwrite(EXIT_CONTROLS, vmx_ctls.exit);
    vmwrite(ENTRY_CONTROLS, vmx_ctls.entry);
    vmwrite(EXCEPTION_BITMAP, 0);
    vmwrite(PF_ERRCODE_MASK, 0);
    vmwrite(PF_ERRCODE_MATCH, 0);
    vmwrite(CR3_TARGET_COUNT, 0);
    vmwrite(CR0_MASK, 0);
    vmwrite(CR4_MASK, 0);
    vmwrite(CR0_SHADOW, read_cr0());
    vmwrite(CR4_SHADOW, read_cr4());
    vmwrite(EXIT_MSR_STORE_COUNT, 0);
    vmwrite(EXIT_MSR_LOAD_COUNT, 0);
    vmwrite(ENTRY_MSR_LOAD_COUNT, 0);
    vmwrite(ENTRY_INTR_INFO, 0);
    vmwrite(ENTRY_EXC_ERRCODE, 0);
    vmwrite(ENTRY_INSN_LEN, 0);
    vmwrite(TSC_OFFSET, 0);
}

bool vmx_vmcs_init(void *region, uint32_t pin, uint32_t proc, uint32_t proc2, uint32_t exit,
                   uint32_t entry)
{
    int r;

    vmx_region_init(region, VMX_BASIC_REVISION(vmx_caps.basic));
    if ((r = vmclear((uint64_t)region)) != VMX_OK) {
        report_fail("vmx_vmcs_init", "VMCLEAR result %d", r);
        return false;
    }
    if ((r = vmptrld((uint64_t)region)) != VMX_OK) {
        report_fail("vmx_vmcs_init", "VMPTRLD result %d", r);
        return false;
    }
    if (proc2)
        proc |= PROC_SECONDARY;
    vmx_ctls.pin = vmx_ctl_adjust(vmx_caps.pin, pin);
    vmx_ctls.proc = vmx_ctl_adjust(vmx_caps.proc, proc);
    vmx_ctls.proc2 = vmx_ctl_adjust(vmx_caps.proc2, proc2);
    /* A 64-bit host and a 64-bit guest (SDM 3C "Checks Related to
     * Address-Space Size"). */
    vmx_ctls.exit = vmx_ctl_adjust(vmx_caps.exit, exit | EXIT_HOST_64);
    vmx_ctls.entry = vmx_ctl_adjust(vmx_caps.entry, entry | ENTRY_IA32E);
    vmcs_valid_baseline();
    if ((r = vmwrite(GUEST_RIP, (uint64_t)vmx_guest_entry)) != VMX_OK) {
        report_fail("vmx_vmcs_init", "VMWRITE result %d", r);
        return false;
    }
    return true;
}

void vmcs_valid_baseline(void)
{
    write_controls();
    write_host_state();
    write_guest_state();
}

int vmx_run_asm(struct vmx_regs *regs);

int vmx_run(struct vmx_regs *regs)
{
    uint64_t rflags = (uint64_t)vmx_run_asm(regs);

    if (rflags & FL_CF)
        return VMX_FAIL_INVALID;
    if (rflags & (1u << 6))
        return VMX_FAIL_VALID;
    return VMX_OK;
}

/* Called by vmx_exit_stub with the guest GPRs saved: true = VMRESUME. */
bool vmx_exit_dispatch(struct vmx_regs *regs);
bool vmx_exit_dispatch(struct vmx_regs *regs)
{
    regs->launched = 1;
    if (!vmx_exit_handler) {
        report_fail("vmx_exit_dispatch", "no exit handler (reason %lu)", vmread(EXIT_REASON));
        return false;
    }
    return vmx_exit_handler(regs);
}

/* Guest IDT */
struct idt_gate64 {
    uint16_t offset_lo, selector;
    uint8_t ist, type_attr;
    uint16_t offset_mid;
    uint32_t offset_hi, reserved;
} __attribute__((packed));

extern uint8_t vmx_guest_isr_stubs[];
static struct idt_gate64 guest_idt[256] __attribute__((aligned(16)));

void vmx_guest_idt_gate(unsigned vec, bool present)
{
    uint64_t h = (uint64_t)(vmx_guest_isr_stubs + 32 * (vec & 255));
    struct idt_gate64 g = {
        .offset_lo = (uint16_t)h,
        .selector = GDT_KCODE,
        .type_attr = (uint8_t)(0x0e | (3 << 5) | (present ? 0x80 : 0)),
        .offset_mid = (uint16_t)(h >> 16),
        .offset_hi = (uint32_t)(h >> 32),
    };
    guest_idt[vec & 255] = g;
}

void vmx_guest_idt_install(void)
{
    for (unsigned v = 0; v < 256; v++)
        vmx_guest_idt_gate(v, true);
    vmwrite(GUEST_IDTR_BASE, (uint64_t)guest_idt);
    vmwrite(GUEST_IDTR_LIMIT, sizeof(guest_idt) - 1);
}
