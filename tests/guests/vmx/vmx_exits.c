/* VM exits caused by instructions in VMX non-root operation: reason,
 * qualification, instruction length and information, guest RIP (SDM 3C
 * "Instructions That Cause VM Exits Unconditionally", "... Conditionally",
 * "Exit Qualification for ...", "VM-Exit Instruction Length",
 * "VM-Exit Instruction Information"). Guest snippets are in guest_code.S. */
#include "console.h"
#include "paging.h"
#include "report.h"
#include "rtstring.h"
#include "vmx_common.h"
#include "x86.h"

/* The case table leaves trailing members to default to 0. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define GUEST_SNIPPETS(X)                                                                    \
    X(cpuid) X(hlt) X(invlpg) X(rdtsc) X(rdtscp) X(rdpmc) X(mov_to_cr0) X(mov_from_cr3)        \
    X(mov_to_cr3) X(mov_to_cr4) X(read_cr0_cr4) X(clts) X(lmsw) X(mov_to_cr8) X(mov_from_cr8) \
    X(mov_to_dr0) X(mov_from_dr6) X(out_imm8) X(in_dx16) X(out_dx32) X(rep_outsb) X(insw)     \
    X(io_bitmap) X(io_bitmap_b) X(rdmsr) X(wrmsr) X(vmcall) X(vmread) X(vmwrite) X(vmptrld)   \
    X(vmptrld_rip)                                                                             \
    X(vmclear) X(vmptrst) X(vmlaunch) X(vmresume) X(vmxoff) X(vmxon) X(pause) X(wbinvd)       \
    X(sgdt) X(sidt) X(sldt) X(str) X(ud2) X(int3) X(pf_read) X(gp)
#define DECLARE(n) extern char gx_##n[], gx_##n##_insn[], gx_##n##_next[];
GUEST_SNIPPETS(DECLARE)

struct exit_case {
    const char *name;
    char *fn, *insn, *next;
    uint32_t pin, proc, proc2;
    uint32_t reason;
    uint64_t qual;
    bool check_qual;
    uint32_t info_mask, info; /* VM-exit instruction information */
    uint64_t arg;
    void (*setup)(void);
};

#define SNIP(n) gx_##n, gx_##n##_insn, gx_##n##_next
#define NOQ 0, false
#define Q(q) q, true

static uint8_t io_bitmap_a[4096] __attribute__((aligned(4096)));
static uint8_t io_bitmap_b[4096] __attribute__((aligned(4096)));
static uint8_t msr_bitmap[4096] __attribute__((aligned(4096)));
static uint8_t data_buf[64] __attribute__((aligned(16))) = "abc";

/* CR0.TS guest/host mask, shadow = current CR0: toggling TS exits. */
static void setup_cr0_ts(void)
{
    vmwrite(CR0_MASK, CR0_TS_BIT);
    vmwrite(CR0_SHADOW, read_cr0());
}
/* CLTS exits when TS is owned by the host and the shadow has TS = 1
 * (SDM 3C "CLTS" in "Instructions That Cause VM Exits Conditionally"). */
static void setup_clts(void)
{
    vmwrite(CR0_MASK, CR0_TS_BIT);
    vmwrite(CR0_SHADOW, read_cr0() | CR0_TS_BIT);
}
/* LMSW exits when it would change a masked bit of CR0[3:0] vs the shadow */
static void setup_lmsw(void)
{
    vmwrite(CR0_MASK, 2);
    vmwrite(CR0_SHADOW, read_cr0() & ~2ull);
}
static void setup_cr4_vmxe(void)
{
    vmwrite(CR4_MASK, CR4_VMXE);
    vmwrite(CR4_SHADOW, read_cr4() & ~CR4_VMXE);
}
/* SDM 3C "Bitmap Controls": bitmap A covers ports 0-7FFFH, B 8000H-FFFFH */
static void setup_io_bitmaps(void)
{
    memset(io_bitmap_a, 0, sizeof(io_bitmap_a));
    memset(io_bitmap_b, 0, sizeof(io_bitmap_b));
    io_bitmap_a[0x80 / 8] |= 1u << (0x80 % 8);
    io_bitmap_b[0] |= 1; /* port 0x8000 */
    vmwrite(IO_BITMAP_A, (uint64_t)io_bitmap_a);
    vmwrite(IO_BITMAP_B, (uint64_t)io_bitmap_b);
}
/* MSR bitmap: read-low at 0, read-high at 1024, write-low 2048, write-high
 * 3072 (SDM 3C "MSR-Bitmap Address"). */
static void setup_msr_bitmap(void)
{
    memset(msr_bitmap, 0, sizeof(msr_bitmap));
    msr_bitmap[MSR_IA32_SYSENTER_CS / 8] |= 1u << (MSR_IA32_SYSENTER_CS % 8);
    msr_bitmap[3072 + (MSR_FS_BASE & 0x1fff) / 8] |= 1u << (MSR_FS_BASE % 8);
    vmwrite(MSR_BITMAP, (uint64_t)msr_bitmap);
}

/* I/O qualification: size-1 | IN << 3 | string << 4 | REP << 5 | imm << 6 |
 * port << 16 (SDM 3C "Exit Qualification for I/O Instructions") */
#define IOQ(size, in, str, rep, imm, port)                                                      \
    ((uint64_t)((size)-1) | ((in) << 3) | ((str) << 4) | ((rep) << 5) | ((imm) << 6) |          \
     ((uint64_t)(port) << 16))
/* CR qualification: CR | type << 4 | GPR << 8 (SDM 3C "Exit Qualification
 * for Control-Register Accesses"); types: 0 MOV to, 1 MOV from, 2 CLTS, 3 LMSW */
#define CRQ(cr, type, gpr) ((uint64_t)(cr) | ((type) << 4) | ((gpr) << 8))
/* MOV DR: DR | from << 4 | GPR << 8 */
#define DRQ(dr, from, gpr) ((uint64_t)(dr) | ((from) << 4) | ((gpr) << 8))
/* Instruction-information masks: VMREAD/VMWRITE register form (reg1, bit
 * 10, reg2) and memory forms (scale, address size, bit 10, segment, index
 * invalid, base, base invalid). */
#define INFO_VMRW_REG 0xf0000478u
#define INFO_MEM 0x0fc38783u
#define INFO_DT_IDENTITY 0x30000000u
#define R_RAX 0
#define R_RCX 1
#define R_RDX 2
#define R_RBX 3
#define R_RSP 4
#define R_RSI 6
#define SEG_SS 2
#define SEG_DS 3
#define MEMINFO(seg, base) ((2u << 7) | ((seg) << 15) | (1u << 22) | ((base) << 23))
#define MEMINFO_RIP(seg) ((2u << 7) | ((seg) << 15) | (1u << 22) | (1u << 27))
extern char gx_rip_operand[];

static const struct exit_case cases[] = {
    /* Unconditional: SDM 3C "Instructions That Cause VM Exits Unconditionally" */
    { "cpuid", SNIP(cpuid), 0, 0, 0, EXIT_CPUID, Q(0) },
    { "vmcall", SNIP(vmcall), 0, 0, 0, EXIT_VMCALL, Q(0) },
    { "vmread", SNIP(vmread), 0, 0, 0, EXIT_VMREAD, Q(0), INFO_VMRW_REG,
      (R_RBX << 3) | (1u << 10) | (R_RAX << 28) },
    { "vmwrite", SNIP(vmwrite), 0, 0, 0, EXIT_VMWRITE, Q(0), INFO_VMRW_REG,
      (R_RCX << 3) | (1u << 10) | ((uint32_t)R_RDX << 28) },
    { "vmptrld", SNIP(vmptrld), 0, 0, 0, EXIT_VMPTRLD, Q(0x10), INFO_MEM,
      MEMINFO(SEG_DS, R_RAX), 0x1000 },
    { "vmptrld_rip_relative", SNIP(vmptrld_rip), 0, 0, 0, EXIT_VMPTRLD, Q((uint64_t)gx_rip_operand),
      INFO_MEM, MEMINFO_RIP(SEG_DS) },
    { "vmclear", SNIP(vmclear), 0, 0, 0, EXIT_VMCLEAR, Q(-8ull), INFO_MEM,
      MEMINFO(SEG_SS, R_RSP) },
    { "vmptrst", SNIP(vmptrst), 0, 0, 0, EXIT_VMPTRST, Q(-8ull), INFO_MEM,
      MEMINFO(SEG_SS, R_RSP) },
    { "vmxon", SNIP(vmxon), 0, 0, 0, EXIT_VMXON, Q(-8ull), INFO_MEM, MEMINFO(SEG_SS, R_RSP) },
    { "vmlaunch", SNIP(vmlaunch), 0, 0, 0, EXIT_VMLAUNCH, Q(0) },
    { "vmresume", SNIP(vmresume), 0, 0, 0, EXIT_VMRESUME, Q(0) },
    { "vmxoff", SNIP(vmxoff), 0, 0, 0, EXIT_VMXOFF, Q(0) },
    /* Conditional: SDM 3C "Instructions That Cause VM Exits Conditionally" */
    { "hlt", SNIP(hlt), 0, PROC_HLT, 0, EXIT_HLT, Q(0) },
    { "invlpg_qual_linear_address", SNIP(invlpg), 0, PROC_INVLPG, 0, EXIT_INVLPG,
      Q(0x12345000) },
    { "rdtsc", SNIP(rdtsc), 0, PROC_RDTSC, 0, EXIT_RDTSC, NOQ },
    { "rdtscp", SNIP(rdtscp), 0, PROC_RDTSC, PROC2_RDTSCP, EXIT_RDTSCP, NOQ },
    { "rdpmc", SNIP(rdpmc), 0, PROC_RDPMC, 0, EXIT_RDPMC, NOQ },
    { "mov_to_cr0_masked_bit", SNIP(mov_to_cr0), 0, 0, 0, EXIT_CR_ACCESS,
      Q(CRQ(0, 0, R_RBX)), 0, 0, 0, setup_cr0_ts },
    { "mov_from_cr3_store_exiting", SNIP(mov_from_cr3), 0, PROC_CR3_STORE, 0, EXIT_CR_ACCESS,
      Q(CRQ(3, 1, R_RDX)) },
    { "mov_to_cr3_load_exiting", SNIP(mov_to_cr3), 0, PROC_CR3_LOAD, 0, EXIT_CR_ACCESS,
      Q(CRQ(3, 0, R_RAX)) },
    { "mov_to_cr4_masked_bit", SNIP(mov_to_cr4), 0, 0, 0, EXIT_CR_ACCESS,
      Q(CRQ(4, 0, R_RSI)), 0, 0, 0, setup_cr4_vmxe },
    { "clts_ts_shadow_1", SNIP(clts), 0, 0, 0, EXIT_CR_ACCESS, Q(CRQ(0, 2, 0)), 0, 0, 0,
      setup_clts },
    { "mov_to_cr8_load_exiting", SNIP(mov_to_cr8), 0, PROC_CR8_LOAD, 0, EXIT_CR_ACCESS,
      Q(CRQ(8, 0, R_RAX)) },
    { "mov_from_cr8_store_exiting", SNIP(mov_from_cr8), 0, PROC_CR8_STORE, 0, EXIT_CR_ACCESS,
      Q(CRQ(8, 1, R_RBX)) },
    { "mov_to_dr0", SNIP(mov_to_dr0), 0, PROC_MOV_DR, 0, EXIT_DR_ACCESS, Q(DRQ(0, 0, R_RCX)) },
    { "mov_from_dr6", SNIP(mov_from_dr6), 0, PROC_MOV_DR, 0, EXIT_DR_ACCESS,
      Q(DRQ(6, 1, R_RDX)) },
    { "out_imm8_unconditional_io", SNIP(out_imm8), 0, PROC_UNCOND_IO, 0, EXIT_IO,
      Q(IOQ(1, 0, 0, 0, 1, 0x80)) },
    { "in_dx_16bit_unconditional_io", SNIP(in_dx16), 0, PROC_UNCOND_IO, 0, EXIT_IO,
      Q(IOQ(2, 1, 0, 0, 0, 0x3f8)) },
    { "out_dx_32bit_unconditional_io", SNIP(out_dx32), 0, PROC_UNCOND_IO, 0, EXIT_IO,
      Q(IOQ(4, 0, 0, 0, 0, 0x1234)) },
    { "io_bitmap_a_port_0x80", SNIP(io_bitmap), 0, PROC_IO_BITMAPS, 0, EXIT_IO,
      Q(IOQ(1, 0, 0, 0, 1, 0x80)), 0, 0, 0, setup_io_bitmaps },
    { "io_bitmap_b_access_spanning_0x8000", SNIP(io_bitmap_b), 0, PROC_IO_BITMAPS, 0, EXIT_IO,
      Q(IOQ(2, 1, 0, 0, 0, 0x7fff)), 0, 0, 0, setup_io_bitmaps },
    { "rdmsr_no_bitmaps", SNIP(rdmsr), 0, 0, 0, EXIT_RDMSR, NOQ, 0, 0, MSR_IA32_SYSENTER_ESP },
    { "wrmsr_no_bitmaps", SNIP(wrmsr), 0, 0, 0, EXIT_WRMSR, NOQ, 0, 0, MSR_IA32_SYSENTER_ESP },
    { "rdmsr_bitmap_read_low", SNIP(rdmsr), 0, PROC_MSR_BITMAPS, 0, EXIT_RDMSR, NOQ, 0, 0,
      MSR_IA32_SYSENTER_CS, setup_msr_bitmap },
    { "wrmsr_bitmap_write_high", SNIP(wrmsr), 0, PROC_MSR_BITMAPS, 0, EXIT_WRMSR, NOQ, 0, 0,
      MSR_FS_BASE, setup_msr_bitmap },
    { "rdmsr_bitmap_out_of_range_msr", SNIP(rdmsr), 0, PROC_MSR_BITMAPS, 0, EXIT_RDMSR, NOQ, 0,
      0, 0x40000000, setup_msr_bitmap },
    { "pause", SNIP(pause), 0, PROC_PAUSE, 0, EXIT_PAUSE, NOQ },
    { "wbinvd", SNIP(wbinvd), 0, 0, PROC2_WBINVD, EXIT_WBINVD, NOQ },
    { "sgdt", SNIP(sgdt), 0, 0, PROC2_DESC_TABLE, EXIT_GDTR_IDTR, Q(-16ull), INFO_DT_IDENTITY,
      0 << 28 },
    { "sidt", SNIP(sidt), 0, 0, PROC2_DESC_TABLE, EXIT_GDTR_IDTR, Q(-16ull), INFO_DT_IDENTITY,
      1u << 28 },
    { "sldt", SNIP(sldt), 0, 0, PROC2_DESC_TABLE, EXIT_LDTR_TR, Q(0), INFO_DT_IDENTITY, 0 },
    { "str", SNIP(str), 0, 0, PROC2_DESC_TABLE, EXIT_LDTR_TR, Q(0), INFO_DT_IDENTITY,
      1u << 28 },
};

static bool controls_supported(uint32_t pin, uint32_t proc, uint32_t proc2)
{
    if (proc2 && !(vmx_caps.proc >> 63))
        return false;
    return vmx_ctl_allowed(vmx_caps.pin, pin) && vmx_ctl_allowed(vmx_caps.proc, proc) &&
           vmx_ctl_allowed(vmx_caps.proc2, proc2);
}

/* A fresh VMCS with the guest IDT (so an unexpected guest exception is
 * reported as a VMCALL, not taken in the host's handlers). */
static bool prepare(uint32_t pin, uint32_t proc, uint32_t proc2, char *fn, uint64_t arg)
{
    if (!vmx_test_vmcs(pin, proc, proc2, 0, 0, (void (*)(uint64_t))fn, arg))
        return false;
    vmx_guest_idt_install();
    return true;
}

static void report_unexpected(const char *name, int r)
{
    if (r != VMX_OK)
        report_fail(name, "VM entry failed: result %d error %u", r,
                    r == VMX_FAIL_VALID ? vmx_insn_error() : 0);
    else if (last_exit.reason == EXIT_VMCALL && last_exit.regs.rax == VMX_GUEST_VECTOR)
        report_fail(name, "guest took vector %lu at %#lx (error %#lx) instead of exiting",
                    last_exit.regs.rbx, last_exit.regs.rcx, last_exit.regs.rdx);
    else
        report_fail(name, "unexpected exit reason %#x (qual %#lx) at %#lx",
                    last_exit.reason, last_exit.qual, last_exit.guest_rip);
}

static void run_case(const struct exit_case *c)
{
    char name[96];
    int r;

    if (!controls_supported(c->pin, c->proc, c->proc2)) {
        report_skip(c->name, "controls not supported by this CPU");
        return;
    }
    if (!prepare(c->pin, c->proc, c->proc2, c->fn, c->arg))
        return;
    if (c->setup)
        c->setup();
    r = vmx_test_enter();
    if (r != VMX_OK || last_exit.reason != c->reason) {
        report_unexpected(c->name, r);
        return;
    }
    fmt_snprintf(name, sizeof(name), "%s_exit_reason", c->name);
    report_pass(name);
    fmt_snprintf(name, sizeof(name), "%s_guest_rip", c->name);
    check_eq(name, last_exit.guest_rip, (uint64_t)c->insn);
    fmt_snprintf(name, sizeof(name), "%s_insn_len", c->name);
    check_eq(name, last_exit.insn_len, (uint64_t)(c->next - c->insn));
    if (c->check_qual) {
        fmt_snprintf(name, sizeof(name), "%s_qual", c->name);
        check_eq(name, last_exit.qual, c->qual);
    }
    if (c->info_mask) {
        fmt_snprintf(name, sizeof(name), "%s_insn_info", c->name);
        check_eq(name, last_exit.insn_info & c->info_mask, c->info & c->info_mask);
    }
}

/* Run a guest that should not exit before VMCALL DONE. */
static bool run_to_done(const char *name)
{
    int r = vmx_test_enter();

    if (r == VMX_OK && last_exit.reason == EXIT_VMCALL && last_exit.regs.rax == VMX_GUEST_DONE)
        return true;
    report_unexpected(name, r);
    return false;
}

/* No exit where the controls say none (the same snippets). */
static void test_no_exits(void)
{
    if (prepare(0, 0, 0, gx_rdtsc, 0) && run_to_done("rdtsc_without_rdtsc_exiting"))
        report_pass("rdtsc_without_rdtsc_exiting_no_exit");
    if (prepare(0, PROC_IO_BITMAPS, 0, gx_in_dx16, 0)) {
        setup_io_bitmaps();
        if (run_to_done("io_bitmap_clear_bit"))
            report_pass("io_bitmap_clear_bit_no_exit");
    }
    if (prepare(0, PROC_MSR_BITMAPS, 0, gx_rdmsr, MSR_IA32_SYSENTER_ESP)) {
        setup_msr_bitmap();
        if (run_to_done("msr_bitmap_clear_bit"))
            report_pass("msr_bitmap_clear_bit_no_exit");
    }
    /* SDM 3C "MOV to CR3": no exit if the value equals a CR3-target value */
    if (vmx_caps.proc & PROC_CR3_STORE) /* allowed-0 setting is 1 */
        report_skip("mov_to_cr3_target_value_no_exit", "CR3-store exiting must be 1");
    else if (prepare(0, PROC_CR3_LOAD, 0, gx_mov_to_cr3, 0)) {
        vmwrite(CR3_TARGET_COUNT, 1);
        vmwrite(CR3_TARGET0, read_cr3());
        if (run_to_done("mov_to_cr3_target_value"))
            report_pass("mov_to_cr3_target_value_no_exit");
    }
    /* MOV from CR4 reads the read shadow for host-owned bits (SDM 3C
     * "Changes to Instruction Behavior in VMX Non-Root Operation") */
    if (prepare(0, 0, 0, gx_read_cr0_cr4, 0)) {
        setup_cr4_vmxe();
        vmwrite(CR0_MASK, CR0_TS_BIT);
        vmwrite(CR0_SHADOW, read_cr0() | CR0_TS_BIT);
        if (run_to_done("mov_from_cr4_shadow")) {
            check_eq("mov_from_cr4_reads_shadow", last_exit.regs.rcx, read_cr4() & ~CR4_VMXE);
            check_eq("mov_from_cr0_reads_shadow", last_exit.regs.rdx, read_cr0() | CR0_TS_BIT);
        }
    }
    /* RDTSCP without "enable RDTSCP" is #UD in the guest */
    if (vmx_caps.proc >> 63 && prepare(0, PROC_SECONDARY, 0, gx_rdtscp, 0)) {
        int r = vmx_test_enter();
        if (r == VMX_OK && last_exit.regs.rax == VMX_GUEST_VECTOR)
            check_eq("rdtscp_disabled_ud", last_exit.regs.rbx, 6);
        else
            report_unexpected("rdtscp_disabled_ud", r);
    }
}

/* INS/OUTS: guest-linear address and instruction information (SDM 3C
 * "Guest Linear Address", "VM-Exit Instruction Information" for INS/OUTS). */
static void test_string_io(void)
{
    bool info = vmx_caps.misc & VMX_MISC_INS_OUTS_INFO;

    if (prepare(0, PROC_UNCOND_IO, 0, gx_rep_outsb, (uint64_t)data_buf) && vmx_test_enter() == 0) {
        check_eq("rep_outsb_exit_reason", last_exit.reason, EXIT_IO);
        check_eq("rep_outsb_qual", last_exit.qual, IOQ(1, 0, 1, 1, 0, 0x80));
        check_eq("rep_outsb_guest_linear", last_exit.guest_linear, (uint64_t)data_buf);
        if (info)
            check_eq("rep_outsb_insn_info", last_exit.insn_info & 0x38380,
                     (2u << 7) | (SEG_DS << 15));
    }
    if (prepare(0, PROC_UNCOND_IO, 0, gx_insw, (uint64_t)data_buf) && vmx_test_enter() == 0) {
        check_eq("insw_exit_reason", last_exit.reason, EXIT_IO);
        check_eq("insw_qual", last_exit.qual, IOQ(2, 1, 1, 0, 0, 0x3fd));
        check_eq("insw_guest_linear", last_exit.guest_linear, (uint64_t)data_buf);
        if (info)
            check_eq("insw_insn_info", last_exit.insn_info & 0x380, 2u << 7);
    }
}

/* Exceptions through the exception bitmap (SDM 3C "Exceptions"; #PF uses
 * the error-code mask/match rule) */
#define PF_UNMAPPED (PG_TEST_BASE + 0x5000) /* above the identity map */

static void expect_exception_exit(const char *name, uint32_t info, uint32_t err, char *rip)
{
    char n[96];

    fmt_snprintf(n, sizeof(n), "%s_exit_reason", name);
    if (last_exit.reason != EXIT_EXCEPTION_NMI) {
        report_unexpected(n, VMX_OK);
        return;
    }
    report_pass(n);
    fmt_snprintf(n, sizeof(n), "%s_intr_info", name);
    check_eq(n, last_exit.intr_info & ~INTR_NMI_UNBLOCK, info);
    if (info & INTR_ERRCODE) {
        fmt_snprintf(n, sizeof(n), "%s_intr_error", name);
        check_eq(n, last_exit.intr_err, err);
    }
    fmt_snprintf(n, sizeof(n), "%s_guest_rip", name);
    check_eq(n, last_exit.guest_rip, (uint64_t)rip);
}

static void test_exceptions(void)
{
    if (prepare(0, 0, 0, gx_ud2, 0)) {
        vmwrite(EXCEPTION_BITMAP, 1u << 6);
        if (vmx_test_enter() == VMX_OK)
            expect_exception_exit("ud_bitmap", INTR_VALID | INTR_TYPE_HW_EXC | 6, 0, gx_ud2_insn);
    }
    if (prepare(0, 0, 0, gx_int3, 0)) {
        vmwrite(EXCEPTION_BITMAP, 1u << 3);
        if (vmx_test_enter() == VMX_OK) {
            expect_exception_exit("int3_bitmap", INTR_VALID | INTR_TYPE_SW_EXC | 3, 0,
                                  gx_int3_insn);
            if (last_exit.reason == EXIT_EXCEPTION_NMI)
                check_eq("int3_bitmap_insn_len", last_exit.insn_len, 1);
        }
    }
    if (prepare(0, 0, 0, gx_gp, 0)) {
        vmwrite(EXCEPTION_BITMAP, 1u << 13);
        if (vmx_test_enter() == VMX_OK)
            expect_exception_exit("gp_bitmap", INTR_VALID | INTR_TYPE_HW_EXC | INTR_ERRCODE | 13,
                                  0, gx_gp_insn);
    }
    /* #PF, bit 14 = 1, mask 0 match 0: every #PF exits; qual = linear
     * address, CR2 not yet written (SDM 3C "Exit Qualification for
     * Exceptions"). */
    if (prepare(0, 0, 0, gx_pf_read, PF_UNMAPPED)) {
        vmwrite(EXCEPTION_BITMAP, 1u << 14);
        if (vmx_test_enter() == VMX_OK) {
            expect_exception_exit("pf_bitmap", INTR_VALID | INTR_TYPE_HW_EXC | INTR_ERRCODE | 14,
                                  0, gx_pf_read_insn);
            check_eq("pf_bitmap_qual_linear", last_exit.qual, PF_UNMAPPED);
        }
    }
    /* bit 14 = 1, (ec & mask) != match: no exit, the guest takes #PF */
    if (prepare(0, 0, 0, gx_pf_read, PF_UNMAPPED)) {
        vmwrite(EXCEPTION_BITMAP, 1u << 14);
        vmwrite(PF_ERRCODE_MATCH, 1);
        if (vmx_test_enter() == VMX_OK && last_exit.reason == EXIT_VMCALL &&
            last_exit.regs.rax == VMX_GUEST_VECTOR) {
            check_eq("pf_mask_mismatch_delivered_to_guest", last_exit.regs.rbx, 14);
            check_eq("pf_mask_mismatch_guest_error_code", last_exit.regs.rdx, 0);
        }
    }
    /* bit 14 = 0, (ec & mask) != match: exits */
    if (prepare(0, 0, 0, gx_pf_read, PF_UNMAPPED)) {
        vmwrite(PF_ERRCODE_MATCH, 1);
        if (vmx_test_enter() == VMX_OK)
            expect_exception_exit("pf_bit14_clear_mismatch_exits",
                                  INTR_VALID | INTR_TYPE_HW_EXC | INTR_ERRCODE | 14, 0,
                                  gx_pf_read_insn);
    }
    /* Triple fault: an IDT limit of 0 turns #UD into #GP, #DF, shutdown
     * (SDM 3C "Triple Fault") */
    if (prepare(0, 0, 0, gx_ud2, 0)) {
        vmwrite(GUEST_IDTR_LIMIT, 0);
        if (vmx_test_enter() == VMX_OK)
            check_eq("triple_fault_exit_reason", last_exit.reason, EXIT_TRIPLE_FAULT);
    }
}

/* LMSW: type 3, bit 6 = 0 (register operand), bits 31:16 = source data */
static void test_lmsw(void)
{
    uint64_t src = (read_cr0() | 2) & 0xffff;

    if (prepare(0, 0, 0, gx_lmsw, 0)) {
        setup_lmsw();
        if (vmx_test_enter() == VMX_OK && check_eq("lmsw_exit_reason", last_exit.reason,
                                                   EXIT_CR_ACCESS)) {
            check_eq("lmsw_qual", last_exit.qual, CRQ(0, 3, 0) | (src << 16));
            check_eq("lmsw_insn_len", last_exit.insn_len, (uint64_t)(gx_lmsw_next - gx_lmsw_insn));
        }
    }
}

/* The CR3 value gx_mov_to_cr3 loads (guest_code.S) */
extern uint64_t gx_cr3_value;

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    gx_cr3_value = read_cr3();
    vmx_test_start();
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        run_case(&cases[i]);
    test_lmsw();
    test_no_exits();
    test_string_io();
    test_exceptions();
}
