/* The direct guest: its VMCS (vmcs01) at the multiboot hand-over, and the
 * exits the turtle handles for it -- CPUID, port I/O passed through to the
 * turtle's own ports, MSRs, the control-register writes of a guest that
 * switches itself from 32-bit protected mode to IA-32e mode, hypercalls.
 *
 * The processor has no unrestricted guest (SDM 3C "Unrestricted Guests"),
 * so a guest that believes paging is off runs with 32-bit paging on the
 * turtle's identity map (4-MiB pages, CR4.PSE): CR0 and CR4 are owned by
 * the turtle (guest/host masks all ones, SDM 3C "Guest/Host Masks and Read
 * Shadows for CR0 and CR4"), CR3 accesses exit while the guest's paging is
 * off, and when the guest sets CR0.PG the turtle gives it its own CR3 and,
 * with EFER.LME, IA-32e mode (SDM 3A "Initializing IA-32e Mode"). */
#include "turtle.h"

#include "console.h"
#include "exc.h"
#include "rtstring.h"
#include "x86.h"

#define MSR_TSC 0x10u
#define MSR_TSC_DEADLINE 0x6e0u
#define MSR_KERNEL_GS_BASE 0xc0000102u
#define MSR_CSTAR 0xc0000083u
#define MSR_DEBUGCTL 0x1d9u
#define MSR_X2APIC_FIRST 0x800u
#define MSR_X2APIC_LAST 0x8ffu
#define MSR_SYSENTER_CS 0x174u
#define MSR_SYSENTER_ESP 0x175u
#define MSR_SYSENTER_EIP 0x176u

#define CR0_PE (1ull << 0)
#define CR0_ET (1ull << 4)
#define CR0_NW (1ull << 29)
#define CR0_CD (1ull << 30)
#define CR0_PG (1ull << 31)
#define CR4_PSE (1ull << 4)
#define CR4_PAE (1ull << 5)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE_BIT (1ull << 11)
#define EFER_SCE_BIT (1ull << 0)

struct vcpu vcpu;

/* 32-bit paging, 1024 4-MiB identity pages: the "paging off" map. */
static uint32_t unpaged_pd[1024] __attribute__((aligned(4096)));
static uint8_t msr_bitmap[4096] __attribute__((aligned(4096)));
static bool paged; /* the guest's own CR3 is in GUEST_CR3 */

static void msr_pass(uint32_t msr, bool read, bool write)
{
    unsigned base = msr >= 0xc0000000u ? 1024 : 0;
    uint32_t i = msr & 0x1fff;
    /* SDM 3C "MSR-Bitmap Address": read low/high at 0/1024, write low/high
     * at 2048/3072; a clear bit means no exit. */
    if (read)
        msr_bitmap[base + i / 8] &= (uint8_t) ~(1u << (i % 8));
    if (write)
        msr_bitmap[2048 + base + i / 8] &= (uint8_t) ~(1u << (i % 8));
}

void vcpu_init(uint64_t feature_control)
{
    memset(&vcpu, 0, sizeof(vcpu));
    vcpu.vmcs12_ptr = ~0ull;
    vcpu.feature_control = feature_control;
    for (unsigned i = 0; i < 1024; i++)
        unpaged_pd[i] = (i << 22) | 0x83; /* P, R/W, PS */
    memset(msr_bitmap, 0xff, sizeof(msr_bitmap));
    /* MSRs the guest owns while it runs: nothing of the turtle depends on
     * them (its own FS/GS bases are host-state fields). */
    static const uint32_t pass[] = {MSR_TSC, MSR_IA32_PAT, MSR_DEBUGCTL, MSR_TSC_DEADLINE,
                                    MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_STAR,
                                    MSR_LSTAR, MSR_CSTAR, MSR_SFMASK, MSR_IA32_TSC_AUX};
    for (unsigned i = 0; i < sizeof(pass) / sizeof(pass[0]); i++)
        msr_pass(pass[i], true, true);
    for (uint32_t m = MSR_X2APIC_FIRST; m <= MSR_X2APIC_LAST; m++)
        msr_pass(m, true, true);
    msr_pass(MSR_IA32_APIC_BASE, true, false);
}

/* ---- registers ---- */

uint64_t *gpr(regs_t *r, unsigned n)
{
    switch (n & 15) {
    case 0: return &r->rax;
    case 1: return &r->rcx;
    case 2: return &r->rdx;
    case 3: return &r->rbx;
    case 4: return 0;
    case 5: return &r->rbp;
    case 6: return &r->rsi;
    case 7: return &r->rdi;
    default: return &r->r8 + ((n & 15) - 8);
    }
}

uint64_t gpr_read(regs_t *r, unsigned n)
{
    uint64_t *p = gpr(r, n);
    return p ? *p : vmread(GUEST_RSP);
}

void gpr_write(regs_t *r, unsigned n, uint64_t v)
{
    uint64_t *p = gpr(r, n);
    if (p)
        *p = v;
    else
        vmwrite(GUEST_RSP, v);
}

/* Past the instruction that exited, as if it had executed: the blocking by
 * STI or MOV SS it was under ends with it (SDM 3C "Interruptibility State":
 * the blocking lasts until the next instruction completes). */
void skip_insn(void)
{
    uint64_t intr = vmread(GUEST_INTERRUPTIBILITY);

    vmwrite(GUEST_RIP, vmread(GUEST_RIP) + vmread(EXIT_INSN_LEN));
    if (intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS))
        vmwrite(GUEST_INTERRUPTIBILITY, intr & ~(uint64_t)(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS));
}

/* SDM 3C "VM-Entry Controls for Event Injection": a hardware exception,
 * delivered at the next VM entry; RIP stays at the faulting instruction. */
void inject_exception(unsigned vector, bool has_error, uint32_t error)
{
    uint32_t info = vector | INTR_TYPE_HW_EXC | INTR_VALID;
    if (has_error) {
        info |= INTR_ERRCODE;
        vmwrite(ENTRY_EXC_ERRCODE, error);
    }
    vmwrite(ENTRY_INTR_INFO, info);
}

unsigned guest_cpl(void)
{
    return (unsigned)(vmread(GUEST_SS_AR) >> 5) & 3;
}

/* ---- mode: the real CR0/CR3/CR4/EFER for the guest's view ---- */

void vcpu_apply_mode(void)
{
    bool pg = vcpu.cr0 & CR0_PG;
    bool lma = pg && (vcpu.efer & EFER_LME);
    uint64_t cr0 = (vcpu.cr0 | vcaps.cr0_fixed0) & vcaps.cr0_fixed1;
    uint64_t cr4;
    uint32_t proc = vmx_ctls.proc, entry = vmx_ctls.entry;

    if (gmap.ept) {
        /* Unrestricted guest: CR0.PE and CR0.PG may be what the guest
         * wants (SDM 3C "Checks on Guest Control Registers, Debug
         * Registers, and MSRs"); its CR3 is its own, without exits. */
        cr0 = (vcpu.cr0 | (vcaps.cr0_fixed0 & ~(CR0_PE | CR0_PG))) & vcaps.cr0_fixed1;
        cr4 = (vcpu.cr4 | vcaps.cr4_fixed0) & vcaps.cr4_fixed1;
        proc &= ~(PROC_CR3_LOAD | PROC_CR3_STORE);
    } else if (pg) {
        if (!paged)
            vmwrite(GUEST_CR3, vcpu.cr3);
        cr4 = (vcpu.cr4 | vcaps.cr4_fixed0) & vcaps.cr4_fixed1;
        proc &= ~(PROC_CR3_LOAD | PROC_CR3_STORE);
    } else {
        if (paged)
            vcpu.cr3 = vmread(GUEST_CR3);
        vmwrite(GUEST_CR3, (uint64_t)unpaged_pd);
        cr4 = vcaps.cr4_fixed0 | CR4_PSE;
        proc |= PROC_CR3_LOAD | PROC_CR3_STORE;
    }
    paged = pg;
    entry = lma ? entry | ENTRY_IA32E : entry & ~ENTRY_IA32E;
    vmx_ctls.proc = proc;
    vmx_ctls.entry = entry;
    vmwrite(GUEST_CR0, cr0);
    vmwrite(GUEST_CR4, cr4);
    vmwrite(CR0_SHADOW, vcpu.cr0);
    vmwrite(CR4_SHADOW, vcpu.cr4);
    vmwrite(GUEST_EFER, (vcpu.efer & ~(EFER_LME | EFER_LMA)) | (lma ? EFER_LME | EFER_LMA : 0));
    vmwrite(PROC_CONTROLS, proc);
    vmwrite(ENTRY_CONTROLS, entry);
}

/* ---- the VMCS at the multiboot hand-over ---- */

static void seg(uint32_t sel_field, uint16_t sel, uint32_t ar, uint32_t limit)
{
    unsigned i = (sel_field - GUEST_ES_SEL) / 2;
    vmwrite(sel_field, sel);
    vmwrite(GUEST_ES_LIMIT + 2 * i, limit);
    vmwrite(GUEST_ES_AR + 2 * i, ar);
    vmwrite(GUEST_ES_BASE + 2 * i, 0);
}

void vcpu_vmcs_setup(const struct guest_boot *gb);
void vcpu_vmcs_setup(const struct guest_boot *gb)
{
    uint32_t proc = PROC_UNCOND_IO | PROC_MSR_BITMAPS | PROC_CR3_LOAD | PROC_CR3_STORE;
    uint32_t proc2 = (1u << 3) | (1u << 12); /* RDTSCP, INVPCID: as the CPUID says */
    uint32_t exit = EXIT_HOST_64 | EXIT_SAVE_EFER | EXIT_LOAD_EFER;

    if (!vmx_vmcs_init(vmcs01_region, 0, proc, proc2, exit, ENTRY_LOAD_EFER))
        turtle_fatal("cannot set up vmcs01");
    if (!vmx_ctl_allowed(vmx_caps.proc, PROC_MSR_BITMAPS) ||
        !vmx_ctl_allowed(vmx_caps.exit, EXIT_SAVE_EFER | EXIT_LOAD_EFER) ||
        !vmx_ctl_allowed(vmx_caps.entry, ENTRY_LOAD_EFER))
        turtle_fatal("unsupported: the processor lacks MSR bitmaps or the EFER controls");
    vmwrite(HOST_EFER, rdmsr(MSR_EFER));
    vmwrite(MSR_BITMAP, (uint64_t)msr_bitmap);
    if (gmap.ept)
        ept01_enable();
    vmwrite(CR0_MASK, ~0ull);
    vmwrite(CR4_MASK, ~0ull);
    vmwrite(EXCEPTION_BITMAP, 0);

    /* Multiboot "Machine state": 32-bit flat protected mode, paging off,
     * EFLAGS.IF = 0; the turtle's GDT is not the guest's, so the selectors
     * are the conventional 0x08/0x10 with cached flat descriptors. */
    seg(GUEST_CS_SEL, 0x08, 0xc09b, 0xffffffff);
    seg(GUEST_SS_SEL, 0x10, 0xc093, 0xffffffff);
    seg(GUEST_DS_SEL, 0x10, 0xc093, 0xffffffff);
    seg(GUEST_ES_SEL, 0x10, 0xc093, 0xffffffff);
    seg(GUEST_FS_SEL, 0x10, 0xc093, 0xffffffff);
    seg(GUEST_GS_SEL, 0x10, 0xc093, 0xffffffff);
    seg(GUEST_LDTR_SEL, 0, AR_UNUSABLE, 0);
    seg(GUEST_TR_SEL, 0, 0x8b, 0x67); /* a busy TSS: VM entry needs a usable TR */
    vmwrite(GUEST_GDTR_BASE, 0);
    vmwrite(GUEST_GDTR_LIMIT, 0);
    vmwrite(GUEST_IDTR_BASE, 0);
    vmwrite(GUEST_IDTR_LIMIT, 0);
    vmwrite(GUEST_RIP, gb->entry);
    vmwrite(GUEST_RSP, 0);
    vmwrite(GUEST_RFLAGS, 0x2);
    vmwrite(GUEST_SYSENTER_CS, 0);
    vmwrite(GUEST_SYSENTER_ESP, 0);
    vmwrite(GUEST_SYSENTER_EIP, 0);
    vmwrite(GUEST_DR7, 0x400);
    vcpu.cr0 = CR0_PE | CR0_ET;
    vcpu.cr4 = 0;
    vcpu.efer = 0;
    paged = !gmap.ept; /* so that apply_mode does not read a CR3 back */
    vcpu.cr3 = 0;
    if (gmap.ept)
        vmwrite(GUEST_CR3, 0);
    vcpu_apply_mode();
}

/* ---- CPUID ---- */

static void exit_cpuid(regs_t *r)
{
    uint32_t leaf = (uint32_t)r->rax, sub = (uint32_t)r->rcx;
    struct cpuid_regs c;

    if (leaf >= 0x40000000u && leaf <= 0x400000ffu) {
        /* Hypervisor leaves: 0x40000000 gives the highest one and the
         * signature, the others are zero. */
        memset(&c, 0, sizeof(c));
        if (leaf == 0x40000000u) {
            c.eax = 0x40000000u;
            memcpy(&c.ebx, TURTLE_SIGNATURE, 4);
            memcpy(&c.ecx, TURTLE_SIGNATURE + 4, 4);
            memcpy(&c.edx, TURTLE_SIGNATURE + 8, 4);
        }
    } else {
        c = cpuid(leaf, sub);
        if (leaf == 1) {
            c.ecx |= 1u << 31; /* hypervisor present */
            if (!topts.nested)
                c.ecx &= ~(1u << 5); /* VMX */
        }
    }
    r->rax = c.eax, r->rbx = c.ebx, r->rcx = c.ecx, r->rdx = c.edx;
    skip_insn();
}

/* ---- port I/O: passed through to the turtle's own ports ---- */

static void exit_io(regs_t *r)
{
    /* SDM 3C "Exit Qualification for I/O Instructions" */
    uint64_t q = vmread(EXIT_QUAL);
    unsigned size = (unsigned)(q & 7) + 1;
    bool in = q & (1u << 3);
    uint16_t port = (uint16_t)(q >> 16);

    if (q & (1u << 4))
        turtle_fatal("unsupported: string I/O (INS/OUTS) at port %#x", port);
    if (in) {
        uint32_t v;
        if (size == 1) {
            uint8_t b;
            __asm__ volatile("inb %1, %0" : "=a"(b) : "Nd"(port));
            r->rax = (r->rax & ~0xffull) | b;
        } else if (size == 2) {
            uint16_t w;
            __asm__ volatile("inw %1, %0" : "=a"(w) : "Nd"(port));
            r->rax = (r->rax & ~0xffffull) | w;
        } else {
            __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
            r->rax = v; /* a 32-bit result zero-extends (SDM 1 "64-Bit Mode") */
        }
    } else {
        if (size == 1)
            __asm__ volatile("outb %0, %1" : : "a"((uint8_t)r->rax), "Nd"(port));
        else if (size == 2)
            __asm__ volatile("outw %0, %1" : : "a"((uint16_t)r->rax), "Nd"(port));
        else
            __asm__ volatile("outl %0, %1" : : "a"((uint32_t)r->rax), "Nd"(port));
    }
    skip_insn();
}

/* ---- MSRs ---- */

struct msr_try {
    uint32_t msr;
    uint64_t value;
};

static void try_rdmsr(void *arg)
{
    struct msr_try *t = arg;
    t->value = rdmsr(t->msr);
}

static bool canonical(uint64_t a)
{
    return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

static void exit_rdmsr(regs_t *r)
{
    uint32_t msr = (uint32_t)r->rcx;
    uint64_t v;

    switch (msr) {
    case MSR_EFER:
        v = vcpu.efer & ~EFER_LMA;
        if ((vcpu.cr0 & CR0_PG) && (vcpu.efer & EFER_LME))
            v |= EFER_LMA;
        break;
    case MSR_SYSENTER_CS: v = vmread(GUEST_SYSENTER_CS); break;
    case MSR_SYSENTER_ESP: v = vmread(GUEST_SYSENTER_ESP); break;
    case MSR_SYSENTER_EIP: v = vmread(GUEST_SYSENTER_EIP); break;
    case MSR_IA32_FEATURE_CONTROL:
        if (!topts.nested) {
            inject_gp();
            return;
        }
        v = vcpu.feature_control;
        break;
    default:
        if (msr >= MSR_VMX_BASIC && msr <= 0x491u) {
            if (!topts.nested || !caps_msr(msr, &v)) {
                inject_gp();
                return;
            }
            break;
        }
        {
            /* Anything else reads as the processor's MSR, or #GP as it does. */
            struct msr_try t = {.msr = msr};
            if (exc_run(try_rdmsr, &t) >= 0) {
                inject_gp();
                return;
            }
            v = t.value;
        }
    }
    r->rax = (uint32_t)v;
    r->rdx = v >> 32;
    skip_insn();
}

static bool set_efer(uint64_t v);

static void exit_wrmsr(regs_t *r)
{
    uint32_t msr = (uint32_t)r->rcx;
    uint64_t v = (r->rdx << 32) | (uint32_t)r->rax;
    bool ok = true;

    switch (msr) {
    case MSR_EFER: ok = set_efer(v); break;
    case MSR_SYSENTER_CS: vmwrite(GUEST_SYSENTER_CS, (uint32_t)v); break;
    case MSR_SYSENTER_ESP:
    case MSR_SYSENTER_EIP:
        /* SDM 4 "IA32_SYSENTER_ESP/EIP": #GP for a non-canonical address. */
        ok = canonical(v);
        if (ok)
            vmwrite(msr == MSR_SYSENTER_ESP ? GUEST_SYSENTER_ESP : GUEST_SYSENTER_EIP, v);
        break;
    case MSR_IA32_FEATURE_CONTROL:
        /* SDM 3C "Enabling and Entering VMX Operation": writes #GP once
         * the lock bit is set. */
        ok = topts.nested && !(vcpu.feature_control & FC_LOCK) && !(v & ~0x7ull);
        if (ok)
            vcpu.feature_control = v;
        break;
    default:
        ok = false; /* read-only or not offered */
    }
    if (!ok) {
        inject_gp();
        return;
    }
    skip_insn();
}

/* ---- control registers and EFER ---- */

static bool set_efer(uint64_t v)
{
    /* SDM 4 "IA32_EFER": SCE, LME, LMA (ignored on write), NXE. */
    if (v & ~(EFER_SCE_BIT | EFER_LME | EFER_LMA | EFER_NXE_BIT))
        return false;
    if ((vcpu.cr0 & CR0_PG) && ((v ^ vcpu.efer) & EFER_LME))
        return false; /* LME changes only with paging off */
    vcpu.efer = v & ~EFER_LMA;
    vcpu_apply_mode();
    return true;
}

static bool set_cr0(uint64_t v)
{
    /* SDM 2A "MOV -- Move to/from Control Registers", SDM 3C "Restrictions
     * on VMX Operation". */
    if (v >> 32 || ((v & CR0_PG) && !(v & CR0_PE)) || ((v & CR0_NW) && !(v & CR0_CD)))
        return false;
    if ((v & CR0_PG) && !(vcpu.cr0 & CR0_PG) && (vcpu.efer & EFER_LME) && !(vcpu.cr4 & CR4_PAE))
        return false;
    if (vcpu.vmxon && (v & vcaps.cr0_fixed0) != vcaps.cr0_fixed0)
        return false;
    if (!(v & CR0_PE))
        turtle_fatal("unsupported: the guest leaves protected mode (needs unrestricted guest)");
    vcpu.cr0 = v | CR0_ET;
    vcpu_apply_mode();
    return true;
}

static bool set_cr4(uint64_t v)
{
    uint64_t allowed = vcaps.cr4_fixed1 & ~(topts.nested ? 0 : CR4_VMXE);
    if (v & ~allowed)
        return false;
    if (vcpu.vmxon && !(v & CR4_VMXE))
        return false;
    if ((vcpu.cr0 & CR0_PG) && (vcpu.efer & EFER_LME) && !(v & CR4_PAE))
        return false;
    vcpu.cr4 = v;
    vcpu_apply_mode();
    return true;
}

static void exit_cr(regs_t *r)
{
    /* SDM 3C "Exit Qualification for Control-Register Accesses" */
    uint64_t q = vmread(EXIT_QUAL);
    unsigned cr = q & 15, type = (q >> 4) & 3, reg = (q >> 8) & 15;
    bool ok = true;

    switch (type) {
    case 0: { /* MOV to CR */
        uint64_t v = gpr_read(r, reg);
        if (!(vmx_ctls.entry & ENTRY_IA32E))
            v = (uint32_t)v;
        if (cr == 0)
            ok = set_cr0(v);
        else if (cr == 4)
            ok = set_cr4(v);
        else if (cr == 3)
            vcpu.cr3 = v; /* paging off: kept until CR0.PG is set */
        else
            turtle_fatal("unexpected MOV to CR%u exit", cr);
        break;
    }
    case 1: /* MOV from CR3 */
        if (cr != 3)
            turtle_fatal("unexpected MOV from CR%u exit", cr);
        gpr_write(r, reg, vcpu.cr3);
        break;
    case 2: /* CLTS */
        ok = set_cr0(vcpu.cr0 & ~(uint64_t)CR0_TS_BIT);
        break;
    default: { /* LMSW: bits 3:0 of CR0; PE can be set, not cleared */
        uint64_t src = (q >> 16) & 0xf;
        ok = set_cr0((vcpu.cr0 & ~0xeull) | src | (vcpu.cr0 & CR0_PE));
        break;
    }
    }
    if (!ok) {
        inject_gp();
        return;
    }
    skip_insn();
}

/* ---- the exit handler of the direct guest ---- */

static void exit_vmcall(regs_t *r)
{
    if ((r->rax & ~0xffffull) != TURTLE_HC_BASE) {
        inject_ud();
        return;
    }
    r->rax = r->rax == TURTLE_HC_NOP ? 0 : TURTLE_HC_UNKNOWN;
    skip_insn();
}

static void triple_fault(void) __attribute__((noreturn));
static void triple_fault(void)
{
    /* The guest shut the (virtual) processor down: do the same, so that
     * the run ends as it would have without the turtle. */
    static const struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) empty = {0, 0};
    turtle_log("the guest triple-faulted at %#lx", vmread(GUEST_RIP));
    __asm__ volatile("lidt %0; int3" : : "m"(empty));
    for (;;)
        __asm__ volatile("hlt");
}

bool vcpu_exit(regs_t *r, uint32_t reason)
{
    if (reason & EXIT_REASON_ENTRY_FAIL)
        turtle_fatal("VM entry of the guest failed: reason %#x qualification %#lx", reason,
                     vmread(EXIT_QUAL));
    switch (reason & 0xffff) {
    case EXIT_CPUID: exit_cpuid(r); break;
    case EXIT_IO: exit_io(r); break;
    case EXIT_RDMSR: exit_rdmsr(r); break;
    case EXIT_WRMSR: exit_wrmsr(r); break;
    case EXIT_CR_ACCESS: exit_cr(r); break;
    case EXIT_TRIPLE_FAULT: triple_fault();
    case 48: /* EPT violation */
    case 49: /* EPT misconfiguration */
        turtle_fatal("the guest accessed guest-physical %#lx, outside its %lu MiB (exit %u at %#lx)",
                     vmread(GUEST_PHYS_ADDR), gmap.size >> 20, reason, vmread(GUEST_RIP));
    case 3: /* INIT: the turtle runs one processor */
        break;
    case 11: /* GETSEC: not offered (CPUID.1:ECX.SMX = 0) */
    case 55: /* XSETBV: not offered (CPUID.1:ECX.XSAVE = 0) */
        inject_ud();
        break;
    case 13: /* INVD */
        skip_insn();
        break;
    case EXIT_VMCALL:
        if (vcpu.vmxon)
            return vmx_emul_exit(r, reason);
        exit_vmcall(r);
        break;
    case EXIT_VMCLEAR:
    case EXIT_VMLAUNCH:
    case EXIT_VMPTRLD:
    case EXIT_VMPTRST:
    case EXIT_VMREAD:
    case EXIT_VMRESUME:
    case EXIT_VMWRITE:
    case EXIT_VMXOFF:
    case EXIT_VMXON:
    case 50: /* INVEPT */
    case 53: /* INVVPID */
        return vmx_emul_exit(r, reason);
    default:
        turtle_fatal("unexpected exit %u of the guest at %#lx, qualification %#lx", reason,
                     vmread(GUEST_RIP), vmread(EXIT_QUAL));
    }
    return true;
}
