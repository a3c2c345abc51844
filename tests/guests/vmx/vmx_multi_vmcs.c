/* Several VMCSs in turn (SDM 3C "VMCS Status", "VMPTRLD", "VMCLEAR"): six
 * guests, each on its own VMCS and stack, are resumed in turn for four
 * rounds. Before each resume the host changes the CR4 read shadow of that
 * VMCS (CR4.PCE owned by the host), and the guest reports the CR4 it
 * reads: each VMCS keeps its own state, and a field written while it is
 * current is the one its guest sees. Then VMCLEAR of one VMCS makes its
 * VMRESUME fail (VMfailValid 5) and VMLAUNCH continue its guest. Under the
 * built-in L0, more VMCSs than its vmcs02 pool holds. */
#include "console.h"
#include "report.h"
#include "rtstring.h"
#include "vmx_common.h"
#include "x86.h"

#define NGUESTS 6
#define NROUNDS 4
#define CR4_PCE (1ull << 8)
#define REPORT_PCE 0x100u

static uint8_t regions[NGUESTS][4096] __attribute__((aligned(4096)));
static uint8_t stacks[NGUESTS][4096] __attribute__((aligned(16)));
static struct vmx_regs regs[NGUESTS];
static volatile uint64_t count[NGUESTS];
static uint64_t reported;

static void guest_loop(uint64_t id)
{
    for (;;) {
        uint64_t rep = id | ((read_cr4() & CR4_PCE) ? REPORT_PCE : 0);
        count[id]++;
        __asm__ volatile("vmcall" : : "a"(rep) : "memory");
    }
}

/* The guest's VMCALL: note its report, step over it, stop. */
static bool report_handler(struct vmx_regs *r)
{
    reported = vmread(EXIT_REASON) == EXIT_VMCALL ? r->rax : ~0ull;
    vmwrite(GUEST_RIP, vmread(GUEST_RIP) + vmread(EXIT_INSN_LEN));
    return false;
}

static bool resume(const char *name, unsigned g, uint64_t shadow)
{
    int r = vmptrld((uint64_t)regions[g]);
    if (r != VMX_OK) {
        report_fail(name, "VMPTRLD result %d", r);
        return false;
    }
    vmwrite(CR4_SHADOW, shadow);
    reported = ~0ull;
    vmx_exit_handler = report_handler;
    r = vmx_run(&regs[g]);
    if (r != VMX_OK) {
        report_fail(name, "VM entry result %d error %u", r, r == VMX_FAIL_VALID ? vmx_insn_error() : 0);
        return false;
    }
    uint64_t want = g | (shadow ? REPORT_PCE : 0);
    if (reported != want) {
        report_fail(name, "guest %u reported %#lx, expected %#lx", g, reported, want);
        return false;
    }
    return true;
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_magic;
    (void)mb_info;
    char name[48];
    bool ok = true;

    vmx_test_start();
    uint32_t rev = VMX_BASIC_REVISION(vmx_caps.basic);
    for (unsigned g = 0; g < NGUESTS && ok; g++) {
        vmx_region_init(regions[g], rev);
        vmx_guest_setup(&regs[g], guest_loop, g);
        ok = vmx_vmcs_init(regions[g], 0, 0, 0, 0, 0);
        if (!ok)
            break;
        vmwrite(GUEST_RSP, (uint64_t)(stacks[g] + sizeof stacks[g]));
        vmwrite(CR4_MASK, CR4_PCE);
        fmt_snprintf(name, sizeof name, "multi_vmcs_launch_%u", g);
        ok = resume(name, g, 0);
    }
    for (unsigned round = 0; round < NROUNDS && ok; round++)
        for (unsigned g = 0; g < NGUESTS && ok; g++) {
            fmt_snprintf(name, sizeof name, "multi_vmcs_round%u_guest%u", round, g);
            ok = resume(name, g, ((round + g) & 1) ? CR4_PCE : 0);
        }
    check_true("multi_vmcs_rounds", ok, "every guest resumed on its own VMCS with its own CR4 shadow");
    for (unsigned g = 0; g < NGUESTS; g++) {
        fmt_snprintf(name, sizeof name, "multi_vmcs_count_%u", g);
        check_eq(name, count[g], ok ? NROUNDS + 1 : count[g] + 1);
    }
    /* VMCLEAR: launch state clear, so VMRESUME fails and VMLAUNCH works */
    check_vmx("multi_vmcs_vmclear", vmclear((uint64_t)regions[2]), VMX_OK, 0);
    check_vmx("multi_vmcs_vmptrld_cleared", vmptrld((uint64_t)regions[2]), VMX_OK, 0);
    check_vmx("multi_vmcs_vmresume_cleared", VMX_ASM_RESULT("vmresume", "i"(0)), VMX_FAIL_VALID, 5);
    regs[2].launched = 0;
    if (resume("multi_vmcs_relaunch", 2, CR4_PCE))
        check_eq("multi_vmcs_relaunch_count", count[2], NROUNDS + 2);
    guest_finish();
}
