/* The VMX instructions as a guest in VMX root operation sees them (SDM 3C
 * "VMX Instruction Reference"): real instruction bytes through cpu_run on
 * the shipped CPU models with VMX attached. Each instruction's success, its
 * #UD/#GP conditions, VMfailInvalid/VMfailValid with the exact error number,
 * VMREAD/VMWRITE widths, the VMCS region in RAM, the capability MSRs and the
 * CR0/CR4 fixed bits. */
#include "cpu/cpu_internal.h"
#include "nvmx/config.h"
#include "vmx/vmx_internal.h"
#include "harness.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#define RAM_SIZE (4u << 20)
#define PML4 0x1000ull
#define GDT_BASE 0x5000ull
#define PD32 0x6000ull
#define REAL_CODE 0x8000ull
#define CODE 0x10000ull
#define DATA 0x20000ull
#define STACK 0x80000ull
#define VMXON_PA 0x100000ull
#define VMCS_A 0x101000ull
#define VMCS_B 0x102000ull
#define UNMAPPED 0x400000ull /* beyond the 2 MiB identity mapping: #PF */
#define REVISION 4u
#define SKY_MAXPHY 46 /* CPUID.80000008H:EAX[7:0] of the skylake-server model */

/* Encodings used below (SDM 2 opcode maps; ModRM 0x30 = [rax] with /6) */
#define VMXON_RAX 0xf3, 0x0f, 0xc7, 0x30
#define VMCLEAR_RAX 0x66, 0x0f, 0xc7, 0x30
#define VMPTRLD_RAX 0x0f, 0xc7, 0x30
#define VMPTRST_RAX 0x0f, 0xc7, 0x38
#define VMREAD_RBX_RCX 0x0f, 0x78, 0xcb  /* rbx := field[rcx] */
#define VMWRITE_RCX_RBX 0x0f, 0x79, 0xcb /* field[rcx] := rbx */
#define VMREAD_MRAX_RCX 0x0f, 0x78, 0x08 /* [rax] := field[rcx] */
#define VMWRITE_RCX_MRAX 0x0f, 0x79, 0x08 /* field[rcx] := [rax] */
#define VMLAUNCH 0x0f, 0x01, 0xc2
#define VMRESUME 0x0f, 0x01, 0xc3
#define VMXOFF 0x0f, 0x01, 0xc4
#define VMCALL 0x0f, 0x01, 0xc1

static char srcdir[512];
static struct cpu_model model;
static struct cost_model cost;
static struct machine *m;
static struct cpu *c;
static struct vmx *v;

static void find_srcdir(void)
{
    snprintf(srcdir, sizeof(srcdir), "%s", __FILE__);
    char *p = strstr(srcdir, "tests/unit/test_vmx_insn.c");
    ck_assert_msg(p != NULL, "cannot locate the source tree from %s", __FILE__);
    *p = 0;
}

static void make_cpu(const char *model_name)
{
    char path[640], err[512];
    find_srcdir();
    snprintf(path, sizeof(path), "%sconfigs/cpu/%s.json", srcdir, model_name);
    ck_assert_msg(config_load_cpu_model(path, &model, err, sizeof(err)), "%s", err);
    m = th_machine_create(RAM_SIZE, true);
    c = th_cpu_create(m, &model, &cost);
    th_long_mode_2m(c, PML4, 1, true, GDT_BASE); /* 2 MiB identity, user */
    th_gdt_user64(c, GDT_BASE);
    c->gdtr.limit = 8 * 7 - 1;
    c->cr4 |= CR4_VMXE;
    c->feature_control = 5; /* locked, VMX outside SMX (as firmware leaves it) */
    c->gpr[4] = STACK;
    c->stop_on_exception = true;

    struct vmx_caps caps;
    memcpy(caps.msr, model.vmx_msrs, sizeof(caps.msr));
    ck_assert_msg(vmx_caps_validate(&caps, err, sizeof(err)), "%s", err);
    v = vmx_attach(c, &caps);
    ck_assert_ptr_nonnull(v);
}

static void setup_sky(void) { make_cpu("skylake-server"); }
static void setup_reduced(void) { make_cpu("reduced"); }

static void teardown(void)
{
    vmx_detach(c);
    cpu_destroy(c);
    machine_destroy(m);
}

/* ---- running one instruction ---------------------------------------------------- */

struct outcome {
    bool faulted;
    int vector;
    uint32_t error;
    uint64_t flags; /* arithmetic flags afterwards */
};

/* Run bytes followed by HLT at rip, with all six arithmetic flags set
 * beforehand so that clearing them shows. */
static struct outcome exec_at(uint64_t rip, const uint8_t *bytes, size_t n)
{
    uint8_t buf[32];
    ck_assert_uint_lt(n, sizeof(buf));
    memcpy(buf, bytes, n);
    buf[n] = 0xf4;
    uint64_t pa = rip + c->seg[SEG_CS].base;
    th_load(c, pa, buf, n + 1);
    th_start_at(c, rip);
    cpu_set_rflags(c, cpu_get_rflags(c) | FL_ARITH);
    enum cpu_stop s = cpu_run(c, 10);
    struct outcome o = { 0 };
    if (s == CPU_STOP_EXCEPTION) {
        o.faulted = true;
        o.vector = c->last_exception;
        o.error = c->last_error;
        ck_assert_uint_eq(c->rip, rip); /* faults leave RIP at the instruction */
    } else {
        ck_assert_int_eq(s, CPU_STOP_HLT_FOREVER);
    }
    o.flags = cpu_get_rflags(c) & FL_ARITH;
    return o;
}

#define EXEC(...)                                                                              \
    ({                                                                                         \
        const uint8_t b_[] = { __VA_ARGS__ };                                                  \
        exec_at(CODE, b_, sizeof(b_));                                                         \
    })

static void expect_fault(struct outcome o, int vector, const char *what)
{
    ck_assert_msg(o.faulted, "%s: expected vector %d, it completed", what, vector);
    ck_assert_msg(o.vector == vector, "%s: expected vector %d, got %d", what, vector, o.vector);
    if (vector == EXC_GP)
        ck_assert_msg(o.error == 0, "%s: #GP error code %u, expected 0", what, o.error);
    ck_assert_msg(o.flags == FL_ARITH, "%s: flags changed by a faulting instruction", what);
}

/* SDM 3C "Conventions": VMsucceed clears CF, PF, AF, ZF, SF, OF. */
static void expect_succeed(struct outcome o, const char *what)
{
    ck_assert_msg(!o.faulted, "%s: fault %d", what, o.vector);
    ck_assert_msg(o.flags == 0, "%s: flags 0x%llx after VMsucceed, expected 0", what,
                  (unsigned long long)o.flags);
}

/* VMfailInvalid sets CF only. */
static void expect_fail_invalid(struct outcome o, const char *what)
{
    ck_assert_msg(!o.faulted, "%s: fault %d", what, o.vector);
    ck_assert_msg(o.flags == FL_CF, "%s: flags 0x%llx after VMfailInvalid, expected CF",
                  what, (unsigned long long)o.flags);
}

/* VMfailValid sets ZF only and writes the VM-instruction error field. */
static void expect_fail_valid(struct outcome o, unsigned err, const char *what)
{
    ck_assert_msg(!o.faulted, "%s: fault %d", what, o.vector);
    ck_assert_msg(o.flags == FL_ZF, "%s: flags 0x%llx after VMfailValid, expected ZF", what,
                  (unsigned long long)o.flags);
    uint64_t got = vmcs_get(v, VMCS_vm_instruction_error);
    ck_assert_msg(got == err, "%s: VM-instruction error %llu, expected %u", what,
                  (unsigned long long)got, err);
}

/* ---- VMX operation helpers ---------------------------------------------------------- */

static void put_region(uint64_t pa, uint32_t rev) { cpu_write_phys(c, pa, 4, rev); }

/* An m64 operand at DATA holding val; rax points to it. */
static void operand(uint64_t val)
{
    cpu_write_phys(c, DATA, 8, val);
    c->gpr[0] = DATA;
}

static struct outcome do_vmxon(uint64_t pa)
{
    operand(pa);
    return EXEC(VMXON_RAX);
}

static void vmxon(void)
{
    put_region(VMXON_PA, REVISION);
    expect_succeed(do_vmxon(VMXON_PA), "VMXON");
}

static struct outcome do_vmptrld(uint64_t pa)
{
    operand(pa);
    return EXEC(VMPTRLD_RAX);
}

static void vmptrld(uint64_t pa)
{
    put_region(pa, REVISION);
    expect_succeed(do_vmptrld(pa), "VMPTRLD");
}

static struct outcome vmwrite(uint64_t enc, uint64_t val)
{
    c->gpr[1] = enc;
    c->gpr[3] = val;
    return EXEC(VMWRITE_RCX_RBX);
}

static struct outcome vmread(uint64_t enc, uint64_t *val)
{
    c->gpr[1] = enc;
    c->gpr[3] = 0xdeadbeefdeadbeefull;
    struct outcome o = EXEC(VMREAD_RBX_RCX);
    *val = c->gpr[3];
    return o;
}

static uint64_t vmread_ok(uint64_t enc)
{
    uint64_t val;
    expect_succeed(vmread(enc, &val), "VMREAD");
    return val;
}

static void set_cpl3(void)
{
    c->seg[SEG_CS] = (struct seg_reg){ .sel = 0x2b, .limit = 0xffffffff, .ar = 0xa0fb };
    c->seg[SEG_SS] = (struct seg_reg){ .sel = 0x33, .limit = 0xffffffff, .ar = 0xc0f3 };
    cpu_update_mode(c);
}

/* Compatibility mode: IA32_EFER.LMA = 1 with a 32-bit code segment. */
static void set_compat(void)
{
    c->seg[SEG_CS].ar = (c->seg[SEG_CS].ar & ~AR_L) | AR_DB;
    cpu_update_mode(c);
}

/* 32-bit protected mode with paging (4 MiB pages), as VMX operation
 * allows outside IA-32e mode; the VMX state stays as it is. */
static void set_prot32(void)
{
    cpu_write_phys(c, PD32, 4, 0x83); /* 4 MiB identity page */
    cpu_set_flat_protected(c);
    c->cr0 |= CR0_PG | CR0_NE;
    c->cr4 = CR4_PSE | CR4_VMXE;
    c->cr3 = PD32;
    cpu_update_mode(c);
    cpu_tlb_flush(c);
}

static void set_real(void)
{
    c->cr0 = CR0_ET;
    c->efer = 0;
    for (int s = 0; s < SEG_NSEGS; s++)
        c->seg[s] = (struct seg_reg){ .sel = 0, .base = 0, .limit = 0xffff,
                                      .ar = s == SEG_CS ? 0x9bu : 0x93u };
    cpu_update_mode(c);
    cpu_tlb_flush(c);
}

/* ---- VMXON -------------------------------------------------------------------------- */

START_TEST(vmxon_enters_vmx_operation)
{
    vmxon();
    ck_assert(v->in_vmx_operation);
    /* SDM 3C "VMXON": current-VMCS pointer := FFFFFFFF_FFFFFFFFH */
    c->gpr[0] = DATA;
    expect_succeed(EXEC(VMPTRST_RAX), "VMPTRST");
    ck_assert_uint_eq(cpu_read_phys(c, DATA, 8), ~0ull);
}
END_TEST

START_TEST(vmxon_ud_without_cr4_vmxe)
{
    put_region(VMXON_PA, REVISION);
    c->cr4 &= ~CR4_VMXE;
    expect_fault(do_vmxon(VMXON_PA), EXC_UD, "VMXON with CR4.VMXE = 0");
}
END_TEST

START_TEST(vmxon_ud_in_real_mode)
{
    set_real();
    c->cr4 |= CR4_VMXE;
    c->gpr[0] = 0x9000;
    const uint8_t b[] = { VMXON_RAX };
    /* 16-bit addressing: ModRM 0x30 is [bx+si] */
    expect_fault(exec_at(REAL_CODE, b, sizeof(b)), EXC_UD, "VMXON in real mode");
}
END_TEST

START_TEST(vmxon_ud_in_compat_mode)
{
    put_region(VMXON_PA, REVISION);
    set_compat();
    expect_fault(do_vmxon(VMXON_PA), EXC_UD, "VMXON in compatibility mode");
}
END_TEST

static const uint64_t bad_feature_control[] = { 0, 1, 4, 3 };

/* SDM 3C "VMXON": #GP(0) unless IA32_FEATURE_CONTROL is locked with "enable
 * VMX outside SMX operation". */
START_TEST(vmxon_gp_feature_control)
{
    put_region(VMXON_PA, REVISION);
    c->feature_control = bad_feature_control[_i];
    expect_fault(do_vmxon(VMXON_PA), EXC_GP, "VMXON with IA32_FEATURE_CONTROL unlocked/off");
    ck_assert(!v->in_vmx_operation);
}
END_TEST

START_TEST(vmxon_gp_at_cpl3)
{
    put_region(VMXON_PA, REVISION);
    set_cpl3();
    expect_fault(do_vmxon(VMXON_PA), EXC_GP, "VMXON at CPL 3");
}
END_TEST

/* CR0.NE is fixed to 1 by IA32_VMX_CR0_FIXED0 (SDM 3C "Restrictions on VMX
 * Operation"). */
START_TEST(vmxon_gp_cr0_fixed_bit)
{
    put_region(VMXON_PA, REVISION);
    c->cr0 &= ~CR0_NE;
    expect_fault(do_vmxon(VMXON_PA), EXC_GP, "VMXON with CR0.NE = 0");
}
END_TEST

/* The operand itself is read through paging: #PF. */
START_TEST(vmxon_pf_on_operand)
{
    c->gpr[0] = UNMAPPED;
    expect_fault(EXEC(VMXON_RAX), EXC_PF, "VMXON [unmapped]");
}
END_TEST

static const uint64_t bad_vmxon_ptrs[] = {
    VMXON_PA + 8, VMXON_PA + 0x800, 1ull << SKY_MAXPHY, (1ull << 63) | VMXON_PA, ~0ull,
};

START_TEST(vmxon_fail_invalid_bad_pointer)
{
    put_region(VMXON_PA, REVISION);
    expect_fail_invalid(do_vmxon(bad_vmxon_ptrs[_i]), "VMXON with a bad pointer");
    ck_assert(!v->in_vmx_operation);
}
END_TEST

static const uint32_t bad_revisions[] = { 0, REVISION + 1, REVISION | 0x80000000u, 0xffffffffu };

START_TEST(vmxon_fail_invalid_bad_revision)
{
    put_region(VMXON_PA, bad_revisions[_i]);
    expect_fail_invalid(do_vmxon(VMXON_PA), "VMXON with a bad revision");
    ck_assert(!v->in_vmx_operation);
}
END_TEST

/* VMXON in VMX root operation: VMfail(15) -- VMfailInvalid without a
 * current VMCS, VMfailValid with one. */
START_TEST(vmxon_in_root_fails)
{
    vmxon();
    expect_fail_invalid(do_vmxon(VMXON_PA), "VMXON in root, no current VMCS");
    vmptrld(VMCS_A);
    expect_fail_valid(do_vmxon(VMXON_PA), VMX_INSN_ERR_VMXON_IN_ROOT, "VMXON in root");
}
END_TEST

START_TEST(vmxon_in_root_gp_at_cpl3)
{
    vmxon();
    set_cpl3();
    expect_fault(do_vmxon(VMXON_PA), EXC_GP, "VMXON in root at CPL 3");
}
END_TEST

/* ---- #UD outside VMX operation, #GP at CPL 3 ------------------------------------------ */

static const struct {
    const char *name;
    uint8_t bytes[4];
    uint8_t n;
} vmx_insns[] = {
    { "VMXOFF", { VMXOFF }, 3 },         { "VMCLEAR", { VMCLEAR_RAX }, 4 },
    { "VMPTRLD", { VMPTRLD_RAX }, 3 },   { "VMPTRST", { VMPTRST_RAX }, 3 },
    { "VMREAD", { VMREAD_RBX_RCX }, 3 }, { "VMWRITE", { VMWRITE_RCX_RBX }, 3 },
    { "VMLAUNCH", { VMLAUNCH }, 3 },     { "VMRESUME", { VMRESUME }, 3 },
    { "VMCALL", { VMCALL }, 3 },
};

START_TEST(ud_outside_vmx_operation)
{
    c->gpr[0] = DATA;
    expect_fault(exec_at(CODE, vmx_insns[_i].bytes, vmx_insns[_i].n), EXC_UD,
                 vmx_insns[_i].name);
}
END_TEST

START_TEST(ud_in_compat_mode)
{
    vmxon();
    vmptrld(VMCS_A);
    set_compat();
    c->gpr[0] = DATA;
    expect_fault(exec_at(CODE, vmx_insns[_i].bytes, vmx_insns[_i].n), EXC_UD,
                 vmx_insns[_i].name);
}
END_TEST

START_TEST(gp_at_cpl3)
{
    vmxon();
    vmptrld(VMCS_A);
    set_cpl3();
    c->gpr[0] = DATA;
    expect_fault(exec_at(CODE, vmx_insns[_i].bytes, vmx_insns[_i].n), EXC_GP,
                 vmx_insns[_i].name);
}
END_TEST

/* VMFUNC in VMX root operation is #UD (SDM 2B "VMFUNC"); in non-root
 * operation: test_vmx_vmfunc.c (INVEPT and INVVPID: test_vpid.c). */
START_TEST(vmfunc_ud)
{
    vmxon();
    vmptrld(VMCS_A);
    c->gpr[0] = 1;
    c->gpr[3] = DATA;
    expect_fault(EXEC(0x0f, 0x01, 0xd4), EXC_UD, "VMFUNC");
}
END_TEST

/* The reduced model allows neither EPT nor VPID: INVEPT and INVVPID are
 * invalid opcodes (SDM 3C "INVEPT", "INVVPID": #UD "If the logical
 * processor does not support EPT/VPIDs"). */
START_TEST(invept_invvpid_ud_without_ept_vpid)
{
    vmxon();
    vmptrld(VMCS_A);
    c->gpr[0] = 1;
    c->gpr[3] = DATA;
    expect_fault(EXEC(0x66, 0x0f, 0x38, 0x80, 0x03), EXC_UD, "INVEPT");
    expect_fault(EXEC(0x66, 0x0f, 0x38, 0x81, 0x03), EXC_UD, "INVVPID");
}
END_TEST

/* ---- VMXOFF ----------------------------------------------------------------------------- */

START_TEST(vmxoff_leaves_vmx_operation)
{
    vmxon();
    vmptrld(VMCS_A);
    expect_succeed(vmwrite(0x681e, 0x1234), "VMWRITE guest RIP");
    expect_succeed(EXEC(VMXOFF), "VMXOFF");
    ck_assert(!v->in_vmx_operation);
    /* the current VMCS reached memory */
    ck_assert_uint_eq(cpu_read_phys(c, VMCS_A + vmcs_fields[VMCS_guest_rip].offset, 8), 0x1234);
    uint64_t val;
    expect_fault(vmread(0x681e, &val), EXC_UD, "VMREAD after VMXOFF");
    vmxon(); /* and VMX operation can be entered again */
}
END_TEST

/* ---- VMPTRLD / VMPTRST / VMCLEAR ------------------------------------------------------- */

START_TEST(vmptrld_makes_vmcs_current)
{
    vmxon();
    vmptrld(VMCS_A);
    c->gpr[0] = DATA + 8;
    expect_succeed(EXEC(VMPTRST_RAX), "VMPTRST");
    ck_assert_uint_eq(cpu_read_phys(c, DATA + 8, 8), VMCS_A);
}
END_TEST

START_TEST(vmptrst_pf)
{
    vmxon();
    c->gpr[0] = UNMAPPED;
    expect_fault(EXEC(VMPTRST_RAX), EXC_PF, "VMPTRST [unmapped]");
}
END_TEST

/* VMPTRLD's fields come from the region: what VMCLEAR wrote there. */
START_TEST(vmptrld_reads_region)
{
    vmxon();
    vmptrld(VMCS_A);
    expect_succeed(vmwrite(0x4002, 0x86006172), "VMWRITE proc controls");
    vmptrld(VMCS_B); /* A is written back */
    ck_assert_uint_eq(vmread_ok(0x4002), 0);
    vmptrld(VMCS_A);
    ck_assert_uint_eq(vmread_ok(0x4002), 0x86006172);
}
END_TEST

static const uint64_t bad_vmcs_ptrs[] = { VMCS_A + 0x10, VMCS_A | 1, 1ull << SKY_MAXPHY, 1ull << 52 };

/* SDM 3C "VMPTRLD": VMfail(9) for a bad address, (10) for the VMXON pointer,
 * (11) for a revision mismatch -- invalid without a current VMCS. */
START_TEST(vmptrld_bad_address)
{
    vmxon();
    expect_fail_invalid(do_vmptrld(bad_vmcs_ptrs[_i]), "VMPTRLD bad address, no VMCS");
    vmptrld(VMCS_A);
    expect_fail_valid(do_vmptrld(bad_vmcs_ptrs[_i]), VMX_INSN_ERR_VMPTRLD_INVALID_ADDR,
                      "VMPTRLD bad address");
}
END_TEST

START_TEST(vmptrld_vmxon_pointer)
{
    vmxon();
    expect_fail_invalid(do_vmptrld(VMXON_PA), "VMPTRLD VMXON pointer, no VMCS");
    vmptrld(VMCS_A);
    expect_fail_valid(do_vmptrld(VMXON_PA), VMX_INSN_ERR_VMPTRLD_VMXON_PTR,
                      "VMPTRLD VMXON pointer");
}
END_TEST

/* Revision identifiers VMPTRLD refuses on skylake-server (which supports
 * "VMCS shadowing", so a set shadow-VMCS indicator alone is no error). */
static const uint32_t bad_vmcs_revisions[] = { 0, REVISION + 1, 0xffffffffu,
                                               (REVISION + 1) | 0x80000000u };

START_TEST(vmptrld_bad_revision)
{
    vmxon();
    vmptrld(VMCS_A);
    put_region(VMCS_B, bad_vmcs_revisions[_i]);
    expect_fail_valid(do_vmptrld(VMCS_B), VMX_INSN_ERR_VMPTRLD_BAD_REVISION,
                      "VMPTRLD bad revision");
    c->gpr[0] = DATA + 8;
    expect_succeed(EXEC(VMPTRST_RAX), "VMPTRST");
    ck_assert_uint_eq(cpu_read_phys(c, DATA + 8, 8), VMCS_A); /* unchanged */
}
END_TEST

/* SDM 3C "VMCS Types: Ordinary and Shadow": with "VMCS shadowing"
 * supported VMPTRLD makes a shadow VMCS current; VMREAD and VMWRITE in root
 * operation access it like any current VMCS, but VM entry with it fails
 * with VMfailInvalid (SDM 3C "Basic VM-Entry Checks"), for VMLAUNCH and
 * VMRESUME alike, before the launch-state checks. */
START_TEST(shadow_vmcs_current_in_root)
{
    vmxon();
    put_region(VMCS_B, REVISION | VMCS_SHADOW_INDICATOR);
    expect_succeed(do_vmptrld(VMCS_B), "VMPTRLD shadow VMCS");
    expect_succeed(vmwrite(0x681e, 0x1234), "VMWRITE guest RIP of a shadow VMCS");
    ck_assert_uint_eq(vmread_ok(0x681e), 0x1234);
    c->gpr[0] = DATA + 8;
    expect_succeed(EXEC(VMPTRST_RAX), "VMPTRST");
    ck_assert_uint_eq(cpu_read_phys(c, DATA + 8, 8), VMCS_B);
    expect_fail_invalid(EXEC(VMLAUNCH), "VMLAUNCH with a shadow VMCS");
    /* (clear launch state: VMfailValid(5) if the shadow rule were missing) */
    expect_fail_invalid(EXEC(VMRESUME), "VMRESUME with a shadow VMCS");
    ck_assert(!c->vmx_nonroot);
    /* An ordinary VMCS made current again enters the entry checks. */
    vmptrld(VMCS_A);
    expect_fail_valid(EXEC(VMLAUNCH), VMX_INSN_ERR_ENTRY_INVALID_CONTROL, "VMLAUNCH ordinary");
}
END_TEST

/* Without "VMCS shadowing" (the reduced model) a set shadow-VMCS indicator
 * is an incorrect revision identifier: VMfailValid(11). */
START_TEST(vmptrld_shadow_indicator_reduced)
{
    vmxon();
    vmptrld(VMCS_A);
    put_region(VMCS_B, REVISION | VMCS_SHADOW_INDICATOR);
    expect_fail_valid(do_vmptrld(VMCS_B), VMX_INSN_ERR_VMPTRLD_BAD_REVISION,
                      "VMPTRLD shadow VMCS on the reduced model");
}
END_TEST

/* VMCLEAR writes the cached VMCS to its region, makes it clear and not
 * current. */
START_TEST(vmclear_writes_back)
{
    vmxon();
    vmptrld(VMCS_A);
    expect_succeed(vmwrite(0x681e, 0xffffffff81000000ull), "VMWRITE guest RIP");
    expect_succeed(vmwrite(0x0802, 0x10), "VMWRITE guest CS selector");
    cpu_write_phys(c, VMCS_A + VMCS_LAUNCH_STATE_OFFSET, 4, 0xaa); /* clobbered */
    operand(VMCS_A);
    expect_succeed(EXEC(VMCLEAR_RAX), "VMCLEAR");
    ck_assert_uint_eq(cpu_read_phys(c, VMCS_A + vmcs_fields[VMCS_guest_rip].offset, 8),
                      0xffffffff81000000ull);
    ck_assert_uint_eq(cpu_read_phys(c, VMCS_A + vmcs_fields[VMCS_guest_cs_selector].offset, 8),
                      0x10);
    ck_assert_uint_eq(cpu_read_phys(c, VMCS_A + VMCS_LAUNCH_STATE_OFFSET, 4), VMCS_STATE_CLEAR);
    ck_assert_uint_eq(cpu_read_phys(c, VMCS_A + VMCS_REVISION_OFFSET, 4), REVISION);
    c->gpr[0] = DATA + 8;
    expect_succeed(EXEC(VMPTRST_RAX), "VMPTRST");
    ck_assert_uint_eq(cpu_read_phys(c, DATA + 8, 8), ~0ull);
}
END_TEST

/* VMCLEAR of a VMCS that is not current only clears its launch state. */
START_TEST(vmclear_other_vmcs)
{
    vmxon();
    put_region(VMCS_B, REVISION);
    cpu_write_phys(c, VMCS_B + VMCS_LAUNCH_STATE_OFFSET, 4, VMCS_STATE_LAUNCHED);
    vmptrld(VMCS_A);
    operand(VMCS_B);
    expect_succeed(EXEC(VMCLEAR_RAX), "VMCLEAR of B");
    ck_assert_uint_eq(cpu_read_phys(c, VMCS_B + VMCS_LAUNCH_STATE_OFFSET, 4), VMCS_STATE_CLEAR);
    c->gpr[0] = DATA + 8;
    expect_succeed(EXEC(VMPTRST_RAX), "VMPTRST");
    ck_assert_uint_eq(cpu_read_phys(c, DATA + 8, 8), VMCS_A);
}
END_TEST

START_TEST(vmclear_bad_address)
{
    vmxon();
    operand(bad_vmcs_ptrs[_i]);
    expect_fail_invalid(EXEC(VMCLEAR_RAX), "VMCLEAR bad address, no VMCS");
    vmptrld(VMCS_A);
    operand(bad_vmcs_ptrs[_i]);
    expect_fail_valid(EXEC(VMCLEAR_RAX), VMX_INSN_ERR_VMCLEAR_INVALID_ADDR, "VMCLEAR bad address");
}
END_TEST

START_TEST(vmclear_vmxon_pointer)
{
    vmxon();
    vmptrld(VMCS_A);
    operand(VMXON_PA);
    expect_fail_valid(EXEC(VMCLEAR_RAX), VMX_INSN_ERR_VMCLEAR_VMXON_PTR, "VMCLEAR VMXON ptr");
}
END_TEST

/* ---- VMREAD / VMWRITE ---------------------------------------------------------------- */

START_TEST(vmread_vmwrite_without_current_vmcs)
{
    uint64_t val;
    vmxon();
    expect_fail_invalid(vmread(0x681e, &val), "VMREAD, no VMCS");
    ck_assert_uint_eq(val, 0xdeadbeefdeadbeefull); /* destination untouched */
    expect_fail_invalid(vmwrite(0x681e, 1), "VMWRITE, no VMCS");
}
END_TEST

static const uint64_t unsupported_encodings[] = {
    0x0001, 0x4003, 0x6801, 0x1000, 0x8000, 0x00fe, 0x100000000ull | 0x681e,
};

/* VMfailValid(12) for an encoding that names no field (SDM 3C "VMREAD"). */
START_TEST(vmread_vmwrite_unsupported_component)
{
    uint64_t val;
    vmxon();
    vmptrld(VMCS_A);
    expect_fail_valid(vmread(unsupported_encodings[_i], &val),
                      VMX_INSN_ERR_UNSUPPORTED_VMCS_COMPONENT, "VMREAD unsupported");
    ck_assert_uint_eq(val, 0xdeadbeefdeadbeefull);
    expect_fail_valid(vmwrite(unsupported_encodings[_i], 1),
                      VMX_INSN_ERR_UNSUPPORTED_VMCS_COMPONENT, "VMWRITE unsupported");
}
END_TEST

/* Field widths: writes keep only the field's bits; reads zero-extend. */
static const struct {
    uint32_t enc;
    uint64_t write, read;
} widths[] = {
    { 0x0802, 0x123456789abcdef0ull, 0xdef0 },             /* 16-bit guest CS selector */
    { 0x4002, 0x123456789abcdef0ull, 0x9abcdef0 },         /* 32-bit proc controls */
    { 0x2800, 0x123456789abcdef0ull, 0x123456789abcdef0ull }, /* 64-bit link pointer */
    { 0x681e, 0xfedcba9876543210ull, 0xfedcba9876543210ull }, /* natural guest RIP */
};

START_TEST(vmwrite_vmread_widths_64bit_mode)
{
    vmxon();
    vmptrld(VMCS_A);
    expect_succeed(vmwrite(widths[_i].enc, widths[_i].write), "VMWRITE");
    uint64_t got = vmread_ok(widths[_i].enc);
    ck_assert_msg(got == widths[_i].read, "field 0x%04x: read 0x%llx, expected 0x%llx",
                  widths[_i].enc, (unsigned long long)got, (unsigned long long)widths[_i].read);
}
END_TEST

/* The high encoding (bit 0 set) of a 64-bit field accesses bits 63:32. */
START_TEST(vmwrite_vmread_high_half)
{
    vmxon();
    vmptrld(VMCS_A);
    expect_succeed(vmwrite(0x2800, 0x1111111122222222ull), "VMWRITE link pointer");
    ck_assert_uint_eq(vmread_ok(0x2801), 0x11111111);
    expect_succeed(vmwrite(0x2801, 0xaaaaaaaabbbbbbbbull), "VMWRITE link pointer high");
    ck_assert_uint_eq(vmread_ok(0x2800), 0xbbbbbbbb22222222ull);
}
END_TEST

/* Outside 64-bit mode the operands are 32 bits: a 64-bit field reads as its
 * low half (the high half through the high encoding) and a natural-width
 * write clears the field's upper bits. */
START_TEST(vmwrite_vmread_32bit_mode)
{
    vmxon();
    vmptrld(VMCS_A);
    expect_succeed(vmwrite(0x2800, 0x1111111122222222ull), "VMWRITE link pointer");
    expect_succeed(vmwrite(0x681e, 0xfedcba9876543210ull), "VMWRITE guest RIP");
    set_prot32();
    ck_assert_uint_eq(vmread_ok(0x2800), 0x22222222);
    ck_assert_uint_eq(vmread_ok(0x2801), 0x11111111);
    ck_assert_uint_eq(vmread_ok(0x681e), 0x76543210);
    /* bits 63:32 of the register are not part of the encoding operand */
    ck_assert_uint_eq(vmread_ok(0xffffffff00000000ull | 0x2801), 0x11111111);
    expect_succeed(vmwrite(0x681e, 0xffffffff89abcdefull), "VMWRITE guest RIP (32-bit)");
    expect_succeed(vmwrite(0x2801, 0x33333333), "VMWRITE link pointer high (32-bit)");
    ck_assert_uint_eq(vmcs_get(v, VMCS_guest_rip), 0x89abcdef);
    ck_assert_uint_eq(vmcs_get(v, VMCS_vmcs_link_pointer), 0x3333333322222222ull);
}
END_TEST

/* Memory operands: VMREAD stores the operand size, VMWRITE loads it. */
START_TEST(vmread_vmwrite_memory_operands)
{
    vmxon();
    vmptrld(VMCS_A);
    cpu_write_phys(c, DATA + 16, 8, 0x0123456789abcdefull);
    c->gpr[0] = DATA + 16;
    c->gpr[1] = 0x681e;
    expect_succeed(EXEC(VMWRITE_RCX_MRAX), "VMWRITE from memory");
    ck_assert_uint_eq(vmcs_get(v, VMCS_guest_rip), 0x0123456789abcdefull);
    c->gpr[0] = DATA + 24;
    c->gpr[1] = 0x0802;
    expect_succeed(vmwrite(0x0802, 0xbeef), "VMWRITE CS selector");
    cpu_write_phys(c, DATA + 24, 8, ~0ull);
    c->gpr[0] = DATA + 24;
    c->gpr[1] = 0x0802;
    expect_succeed(EXEC(VMREAD_MRAX_RCX), "VMREAD to memory");
    ck_assert_uint_eq(cpu_read_phys(c, DATA + 24, 8), 0xbeef); /* 64-bit store, zero-extended */
}
END_TEST

START_TEST(vmread_vmwrite_memory_faults)
{
    vmxon();
    vmptrld(VMCS_A);
    expect_succeed(vmwrite(0x681e, 0x5555), "VMWRITE");
    c->gpr[0] = UNMAPPED;
    c->gpr[1] = 0x681e;
    expect_fault(EXEC(VMREAD_MRAX_RCX), EXC_PF, "VMREAD to unmapped memory");
    c->gpr[0] = UNMAPPED;
    expect_fault(EXEC(VMWRITE_RCX_MRAX), EXC_PF, "VMWRITE from unmapped memory");
    ck_assert_uint_eq(vmcs_get(v, VMCS_guest_rip), 0x5555);
    c->gpr[0] = 0x0000800000000000ull; /* non-canonical: #GP(0) */
    expect_fault(EXEC(VMREAD_MRAX_RCX), EXC_GP, "VMREAD to a non-canonical address");
}
END_TEST

/* The VM-instruction error is readable by VMREAD (encoding 0x4400). */
START_TEST(vm_instruction_error_readable)
{
    vmxon();
    vmptrld(VMCS_A);
    expect_fail_valid(vmwrite(0x1000, 0), VMX_INSN_ERR_UNSUPPORTED_VMCS_COMPONENT, "VMWRITE");
    ck_assert_uint_eq(vmread_ok(0x4400), 12);
}
END_TEST

/* VM-exit information fields are read-only unless IA32_VMX_MISC[29]: the
 * reduced model does not set it (VMfailValid(13)), skylake-server does. */
START_TEST(vmwrite_readonly_field_reduced)
{
    vmxon();
    vmptrld(VMCS_A);
    expect_fail_valid(vmwrite(0x4402, 1), VMX_INSN_ERR_VMWRITE_READONLY_COMPONENT,
                      "VMWRITE exit reason");
    expect_fail_valid(vmwrite(0x6400, 1), VMX_INSN_ERR_VMWRITE_READONLY_COMPONENT,
                      "VMWRITE exit qualification");
}
END_TEST

START_TEST(vmwrite_readonly_field_allowed_by_misc29)
{
    vmxon();
    vmptrld(VMCS_A);
    expect_succeed(vmwrite(0x4402, 30), "VMWRITE exit reason");
    ck_assert_uint_eq(vmread_ok(0x4402), 30);
}
END_TEST

/* ---- VMLAUNCH / VMRESUME -------------------------------------------------------------- */

START_TEST(vmlaunch_without_current_vmcs)
{
    vmxon();
    expect_fail_invalid(EXEC(VMLAUNCH), "VMLAUNCH, no VMCS");
    expect_fail_invalid(EXEC(VMRESUME), "VMRESUME, no VMCS");
}
END_TEST

/* VMfailValid(26) while events are blocked by MOV SS (the MOV-SS bit of the
 * interruptibility state). */
START_TEST(vmlaunch_blocked_by_mov_ss)
{
    vmxon();
    vmptrld(VMCS_A);
    c->intr_shadow = VMX_INTERRUPTIBILITY_MOV_SS;
    expect_fail_valid(EXEC(VMLAUNCH), VMX_INSN_ERR_ENTRY_EVENTS_BLOCKED_BY_MOV_SS,
                      "VMLAUNCH after MOV SS");
}
END_TEST

START_TEST(vmlaunch_launched_vmcs)
{
    vmxon();
    put_region(VMCS_A, REVISION);
    cpu_write_phys(c, VMCS_A + VMCS_LAUNCH_STATE_OFFSET, 4, VMCS_STATE_LAUNCHED);
    vmptrld(VMCS_A);
    expect_fail_valid(EXEC(VMLAUNCH), VMX_INSN_ERR_VMLAUNCH_NONCLEAR_VMCS, "VMLAUNCH launched");
}
END_TEST

START_TEST(vmresume_clear_vmcs)
{
    vmxon();
    vmptrld(VMCS_A);
    expect_fail_valid(EXEC(VMRESUME), VMX_INSN_ERR_VMRESUME_NONLAUNCHED_VMCS, "VMRESUME clear");
}
END_TEST

/* Past its own checks VMLAUNCH runs the VM-entry checks: an all-zero VMCS
 * has pin-based controls without their default1 bits -> VMfailValid(7)
 * (SDM 3C "Checks on VMX Controls"). */
START_TEST(vmlaunch_reaches_entry_checks)
{
    vmxon();
    vmptrld(VMCS_A);
    expect_fail_valid(EXEC(VMLAUNCH), VMX_INSN_ERR_ENTRY_INVALID_CONTROL, "VMLAUNCH zero VMCS");
    ck_assert(!c->vmx_nonroot);
}
END_TEST

/* ---- VMCALL ----------------------------------------------------------------------------- */

/* In root operation without an SMM monitor: VMfail(1). */
START_TEST(vmcall_in_root)
{
    vmxon();
    expect_fail_invalid(EXEC(VMCALL), "VMCALL in root, no VMCS");
    vmptrld(VMCS_A);
    expect_fail_valid(EXEC(VMCALL), VMX_INSN_ERR_VMCALL_IN_ROOT, "VMCALL in root");
}
END_TEST

/* ---- capability MSRs -------------------------------------------------------------------- */

static struct outcome rdmsr(uint32_t index, uint64_t *val)
{
    c->gpr[1] = index;
    c->gpr[0] = c->gpr[2] = 0;
    struct outcome o = EXEC(0x0f, 0x32);
    *val = (c->gpr[2] << 32) | (uint32_t)c->gpr[0];
    return o;
}

START_TEST(capability_msrs_read_sky)
{
    uint64_t val;
    static const uint32_t readable[] = { 0x480, 0x481, 0x482, 0x483, 0x484, 0x485, 0x486, 0x487,
                                         0x488, 0x489, 0x48a, 0x48b, 0x48d, 0x48e, 0x48f, 0x490 };
    for (unsigned i = 0; i < sizeof(readable) / sizeof(readable[0]); i++) {
        struct outcome o = rdmsr(readable[i], &val);
        ck_assert_msg(!o.faulted, "RDMSR 0x%x faulted", readable[i]);
        ck_assert_msg(val == model.vmx_msrs[readable[i] - 0x480], "RDMSR 0x%x: 0x%llx",
                      readable[i], (unsigned long long)val);
    }
    /* SDM 3D Appendix A "VPID and EPT Capabilities": IA32_VMX_EPT_VPID_CAP
     * exists when PROCBASED_CTLS2 allows "enable EPT" or "enable VPID";
     * IA32_VMX_VMFUNC with "enable VM functions" (Appendix A "VM Functions") */
    struct outcome o = rdmsr(0x48c, &val);
    ck_assert_msg(!o.faulted, "RDMSR IA32_VMX_EPT_VPID_CAP faulted");
    ck_assert_uint_eq(val, 0x00000f0106734141ull);
    o = rdmsr(0x491, &val);
    ck_assert_msg(!o.faulted, "RDMSR IA32_VMX_VMFUNC faulted");
    ck_assert_uint_eq(val, 1);
}
END_TEST

/* Without IA32_VMX_BASIC[55] the TRUE_ MSRs do not exist; without the
 * secondary controls neither does PROCBASED_CTLS2. */
START_TEST(capability_msrs_read_reduced)
{
    uint64_t val;
    ck_assert(!rdmsr(0x480, &val).faulted);
    ck_assert_uint_eq(val, model.vmx_msrs[VMX_MSR_BASIC]);
    static const uint32_t absent[] = { 0x48b, 0x48c, 0x48d, 0x48e, 0x48f, 0x490, 0x491, 0x492 };
    for (unsigned i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
        expect_fault(rdmsr(absent[i], &val), EXC_GP, "RDMSR of an absent VMX MSR");
}
END_TEST

START_TEST(capability_msrs_read_only)
{
    c->gpr[1] = 0x480 + (uint32_t)_i;
    c->gpr[0] = c->gpr[2] = 0;
    expect_fault(EXEC(0x0f, 0x30), EXC_GP, "WRMSR to a VMX capability MSR");
}
END_TEST

/* ---- CR0/CR4 in VMX operation ----------------------------------------------------------- */

/* SDM 3C "Restrictions on VMX Operation": MOV to CR0/CR4 that would break a
 * fixed bit, or clear CR4.VMXE, is #GP(0) in VMX operation -- and allowed
 * outside it. */
START_TEST(cr_fixed_bits_in_vmx_operation)
{
    c->gpr[0] = c->cr4 & ~CR4_VMXE;
    ck_assert(!EXEC(0x0f, 0x22, 0xe0).faulted); /* MOV CR4, RAX outside VMX operation */
    ck_assert(!(c->cr4 & CR4_VMXE));
    c->cr4 |= CR4_VMXE;
    vmxon();
    c->gpr[0] = c->cr4 & ~CR4_VMXE;
    expect_fault(EXEC(0x0f, 0x22, 0xe0), EXC_GP, "MOV CR4 clearing VMXE");
    ck_assert(c->cr4 & CR4_VMXE);
    c->gpr[0] = c->cr0 & ~CR0_NE;
    expect_fault(EXEC(0x0f, 0x22, 0xc0), EXC_GP, "MOV CR0 clearing NE");
    ck_assert(c->cr0 & CR0_NE);
    ck_assert(!vmx_hook_cr_allowed(c, 0, c->cr0 & ~CR0_PE));
    ck_assert(vmx_hook_cr_allowed(c, 0, c->cr0 & ~CR0_WP));
    ck_assert(vmx_hook_cr_allowed(c, 4, c->cr4 | CR4_PGE));
    ck_assert(!vmx_hook_cr_allowed(c, 4, c->cr4 | CR4_PKE)); /* not in CR4_FIXED1 */
}
END_TEST

/* ---- VM exits in non-root operation -------------------------------------------------- */

/* A VMCS whose host area returns to this 64-bit environment at host_rip;
 * the CPU is then put in non-root operation on it directly (the guest is
 * this same code), so only the instruction's exit is under test. */
static void enter_nonroot_on_vmcs(uint64_t host_rip)
{
    vmxon();
    vmptrld(VMCS_A);
    vmcs_set(v, VMCS_vm_exit_controls, 0x00036dff | (uint32_t)EXIT_HOST_ADDRESS_SPACE_SIZE);
    vmcs_set(v, VMCS_host_cr0, c->cr0);
    vmcs_set(v, VMCS_host_cr3, c->cr3);
    vmcs_set(v, VMCS_host_cr4, c->cr4);
    vmcs_set(v, VMCS_host_cs_selector, 0x08);
    vmcs_set(v, VMCS_host_ss_selector, 0x10);
    vmcs_set(v, VMCS_host_ds_selector, 0x10);
    vmcs_set(v, VMCS_host_es_selector, 0x10);
    vmcs_set(v, VMCS_host_tr_selector, 0x18);
    vmcs_set(v, VMCS_host_gdtr_base, GDT_BASE);
    vmcs_set(v, VMCS_host_rsp, STACK);
    vmcs_set(v, VMCS_host_rip, host_rip);
    v->launch_state = VMCS_STATE_LAUNCHED;
    v->exit_ctls = (uint32_t)vmcs_get(v, VMCS_vm_exit_controls); /* controls in force */
    c->vmx_nonroot = true;
}

/* SDM 3C "Instructions That Cause VM Exits Unconditionally": every VMX
 * instruction exits in non-root operation, with the displacement as exit
 * qualification and the instruction information of its format. */
START_TEST(vmx_insns_exit_in_nonroot)
{
    static const struct {
        const char *name;
        uint8_t bytes[5];
        uint8_t n;
        uint32_t reason;
        uint64_t qual;
    } cases[] = {
        { "VMREAD [rax+0x10], rcx", { 0x0f, 0x78, 0x48, 0x10 }, 4, VMX_EXIT_vmread, 0x10 },
        { "VMPTRLD [rax-8]", { 0x0f, 0xc7, 0x70, 0xf8 }, 4, VMX_EXIT_vmptrld, ~7ull },
        { "VMCALL", { VMCALL }, 3, VMX_EXIT_vmcall, 0 },
        { "VMXON [rax]", { VMXON_RAX }, 4, VMX_EXIT_vmxon, 0 },
        { "VMLAUNCH", { VMLAUNCH }, 3, VMX_EXIT_vmlaunch, 0 },
        { "VMXOFF", { VMXOFF }, 3, VMX_EXIT_vmxoff, 0 },
    };
    const uint64_t host_rip = CODE + 0x100;
    m->ram[host_rip] = 0xf4;
    cpu_phys_written(c, host_rip, 1);
    enter_nonroot_on_vmcs(host_rip);
    c->gpr[0] = DATA;
    c->gpr[1] = 0x681e;
    memcpy(m->ram + CODE, cases[_i].bytes, cases[_i].n);
    cpu_phys_written(c, CODE, cases[_i].n);
    c->rip = CODE;
    c->halted = false;
    enum cpu_stop stop = cpu_run(c, 10);
    ck_assert_msg(stop == CPU_STOP_HLT_FOREVER, "%s: stopped with %d", cases[_i].name, stop);
    ck_assert_msg(cpu_read_phys(c, VMCS_A + VMCS_ABORT_OFFSET, 4) == 0, "%s: VMX abort %u", cases[_i].name, (unsigned)cpu_read_phys(c, VMCS_A + VMCS_ABORT_OFFSET, 4));
    ck_assert_msg(!c->vmx_nonroot, "%s: still in non-root operation", cases[_i].name);
    ck_assert_msg(c->rip == host_rip + 1, "%s: RIP 0x%llx, expected the host RIP's HLT",
                  cases[_i].name, (unsigned long long)c->rip);
    ck_assert_uint_eq(vmcs_get(v, VMCS_vm_exit_reason), cases[_i].reason);
    ck_assert_uint_eq(vmcs_get(v, VMCS_exit_qualification), cases[_i].qual);
    ck_assert_uint_eq(vmcs_get(v, VMCS_vm_exit_instruction_len), cases[_i].n);
    ck_assert_uint_eq(vmcs_get(v, VMCS_guest_rip), CODE);
}
END_TEST

/* ---- reporting ------------------------------------------------------------------------------ */

static struct trace_event last_event;
static unsigned nevents;

static void sink(void *ctx, const struct trace_event *ev)
{
    (void)ctx;
    last_event = *ev;
    nevents++;
}

START_TEST(vmfail_is_traced_and_counted)
{
    nevents = 0;
    vmx_set_trace(v, sink, NULL);
    vmxon();
    vmptrld(VMCS_A);
    ck_assert_uint_eq(nevents, 0);
    uint64_t before = vmx_get_stats(v)->vmfails;
    expect_fail_valid(EXEC(VMCALL), VMX_INSN_ERR_VMCALL_IN_ROOT, "VMCALL");
    ck_assert_uint_eq(nevents, 1);
    ck_assert_int_eq(last_event.type, TRACE_EV_vmfail);
    ck_assert_str_eq(last_event.vmfail.insn, "vmcall");
    ck_assert_uint_eq(last_event.vmfail.error, 1);
    ck_assert_uint_eq(last_event.vmcs, VMCS_A);
    ck_assert_int_eq(last_event.level, 1);
    ck_assert_uint_eq(vmx_get_stats(v)->vmfails, before + 1);
    vmx_set_trace(v, NULL, NULL);
    expect_fail_valid(EXEC(VMCALL), VMX_INSN_ERR_VMCALL_IN_ROOT, "VMCALL");
    ck_assert_uint_eq(nevents, 1);
    ck_assert_uint_eq(vmx_get_stats(v)->vmfails, before + 2);
}
END_TEST

#define N(a) (int)(sizeof(a) / sizeof((a)[0]))

static Suite *vmx_insn_suite(void)
{
    Suite *s = suite_create("vmx_insn");
    TCase *tc = tcase_create("vmxon");
    tcase_add_checked_fixture(tc, setup_sky, teardown);
    tcase_add_test(tc, vmxon_enters_vmx_operation);
    tcase_add_test(tc, vmxon_ud_without_cr4_vmxe);
    tcase_add_test(tc, vmxon_ud_in_real_mode);
    tcase_add_test(tc, vmxon_ud_in_compat_mode);
    tcase_add_loop_test(tc, vmxon_gp_feature_control, 0, N(bad_feature_control));
    tcase_add_test(tc, vmxon_gp_at_cpl3);
    tcase_add_test(tc, vmxon_gp_cr0_fixed_bit);
    tcase_add_test(tc, vmxon_pf_on_operand);
    tcase_add_loop_test(tc, vmxon_fail_invalid_bad_pointer, 0, N(bad_vmxon_ptrs));
    tcase_add_loop_test(tc, vmxon_fail_invalid_bad_revision, 0, N(bad_revisions));
    tcase_add_test(tc, vmxon_in_root_fails);
    tcase_add_test(tc, vmxon_in_root_gp_at_cpl3);
    suite_add_tcase(s, tc);

    tc = tcase_create("faults");
    tcase_add_checked_fixture(tc, setup_sky, teardown);
    tcase_add_loop_test(tc, ud_outside_vmx_operation, 0, N(vmx_insns));
    tcase_add_loop_test(tc, ud_in_compat_mode, 0, N(vmx_insns));
    tcase_add_loop_test(tc, gp_at_cpl3, 0, N(vmx_insns));
    tcase_add_test(tc, vmfunc_ud);
    suite_add_tcase(s, tc);

    tc = tcase_create("vmcs_pointer");
    tcase_add_checked_fixture(tc, setup_sky, teardown);
    tcase_add_test(tc, vmxoff_leaves_vmx_operation);
    tcase_add_test(tc, vmptrld_makes_vmcs_current);
    tcase_add_test(tc, vmptrst_pf);
    tcase_add_test(tc, vmptrld_reads_region);
    tcase_add_loop_test(tc, vmptrld_bad_address, 0, N(bad_vmcs_ptrs));
    tcase_add_test(tc, vmptrld_vmxon_pointer);
    tcase_add_loop_test(tc, vmptrld_bad_revision, 0, N(bad_vmcs_revisions));
    tcase_add_test(tc, shadow_vmcs_current_in_root);
    tcase_add_test(tc, vmclear_writes_back);
    tcase_add_test(tc, vmclear_other_vmcs);
    tcase_add_loop_test(tc, vmclear_bad_address, 0, N(bad_vmcs_ptrs));
    tcase_add_test(tc, vmclear_vmxon_pointer);
    suite_add_tcase(s, tc);

    tc = tcase_create("vmread_vmwrite");
    tcase_add_checked_fixture(tc, setup_sky, teardown);
    tcase_add_test(tc, vmread_vmwrite_without_current_vmcs);
    tcase_add_loop_test(tc, vmread_vmwrite_unsupported_component, 0, N(unsupported_encodings));
    tcase_add_loop_test(tc, vmwrite_vmread_widths_64bit_mode, 0, N(widths));
    tcase_add_test(tc, vmwrite_vmread_high_half);
    tcase_add_test(tc, vmwrite_vmread_32bit_mode);
    tcase_add_test(tc, vmread_vmwrite_memory_operands);
    tcase_add_test(tc, vmread_vmwrite_memory_faults);
    tcase_add_test(tc, vm_instruction_error_readable);
    tcase_add_test(tc, vmwrite_readonly_field_allowed_by_misc29);
    suite_add_tcase(s, tc);

    tc = tcase_create("reduced_model");
    tcase_add_checked_fixture(tc, setup_reduced, teardown);
    tcase_add_test(tc, vmwrite_readonly_field_reduced);
    tcase_add_test(tc, vmptrld_shadow_indicator_reduced);
    tcase_add_test(tc, capability_msrs_read_reduced);
    tcase_add_test(tc, invept_invvpid_ud_without_ept_vpid);
    suite_add_tcase(s, tc);

    tc = tcase_create("vmlaunch_vmcall");
    tcase_add_checked_fixture(tc, setup_sky, teardown);
    tcase_add_test(tc, vmlaunch_without_current_vmcs);
    tcase_add_test(tc, vmlaunch_blocked_by_mov_ss);
    tcase_add_test(tc, vmlaunch_launched_vmcs);
    tcase_add_test(tc, vmresume_clear_vmcs);
    tcase_add_test(tc, vmlaunch_reaches_entry_checks);
    tcase_add_test(tc, vmcall_in_root);
    tcase_add_loop_test(tc, vmx_insns_exit_in_nonroot, 0, 6);
    suite_add_tcase(s, tc);

    tc = tcase_create("msrs_and_crs");
    tcase_add_checked_fixture(tc, setup_sky, teardown);
    tcase_add_test(tc, capability_msrs_read_sky);
    tcase_add_loop_test(tc, capability_msrs_read_only, 0, VMX_MSR_COUNT);
    tcase_add_test(tc, cr_fixed_bits_in_vmx_operation);
    tcase_add_test(tc, vmfail_is_traced_and_counted);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(vmx_insn_suite());
}
