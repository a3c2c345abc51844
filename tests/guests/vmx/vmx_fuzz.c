/* The VM-entry differential fuzzer: from the valid VMCS (vmx_vmcs_init),
 * each case changes one to three random fields by a random bit flip, value
 * or all ones, executes VMLAUNCH and prints one line with what the
 * processor did: the VM-instruction error of a VMfail, or the exit reason,
 * qualification, exit interruption information and guest RIP of the first
 * VM exit. run-l0-compare.sh runs the image bare and as L1 under nvmx's
 * built-in L0 and requires every line to be the same (docs/nested.md).
 *
 * The fields come from the processor itself: every encoding VMREAD accepts
 * (index up to IA32_VMX_VMCS_ENUM[9:1]), less the VM-exit information
 * fields, the host-state area (a host that passes the checks but is wrong
 * would end the run, not the case), the MSR-load/-store lists (which would
 * load random MSRs into the host), the guest activity state (a guest
 * halted with nothing to wake it) and the guest RIP and RSP (the guest
 * shares the host's memory: run in the host's code or stack, it breaks the
 * host). Command line: cases=N (default 10000),
 * seed=S (default 1). */
#include "cmdline.h"
#include "console.h"
#include "report.h"
#include "vmx_common.h"
#include "x86.h"

#define MAX_FIELDS 256

static uint32_t fields[MAX_FIELDS];
static unsigned nfields;
static uint64_t rng;

/* xorshift64 (deterministic from the seed) */
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static bool excluded(uint32_t enc)
{
    unsigned type = (enc >> 10) & 3;
    switch (enc & ~1u) {
    case EXIT_MSR_STORE_ADDR: case EXIT_MSR_LOAD_ADDR: case ENTRY_MSR_LOAD_ADDR:
    case EXIT_MSR_STORE_COUNT: case EXIT_MSR_LOAD_COUNT: case ENTRY_MSR_LOAD_COUNT:
    case GUEST_ACTIVITY:
    case GUEST_RIP:
    case GUEST_RSP:
        return true;
    default:
        return type == 1 || type == 3; /* exit information, host state */
    }
}

/* Every field VMREAD accepts (SDM 3C "VMCS Component Encoding": width in
 * bits 14:13, type in 11:10, index in 9:1; 64-bit fields also have a high
 * half, bit 0 = 1, which the fuzzer reaches through the full field). */
static void find_fields(void)
{
    unsigned max_index = (unsigned)(rdmsr(MSR_VMX_VMCS_ENUM) >> 1) & 0x1ff;
    uint64_t v;
    for (unsigned w = 0; w < 4; w++)
        for (unsigned t = 0; t < 4; t++)
            for (unsigned i = 0; i <= max_index; i++) {
                uint32_t enc = (w << 13) | (t << 10) | (i << 1);
                if (nfields < MAX_FIELDS && !excluded(enc) && vmread_checked(enc, &v) == VMX_OK)
                    fields[nfields++] = enc;
            }
}

static void empty_guest(uint64_t arg)
{
    (void)arg;
}

static uint64_t width_mask(uint32_t enc)
{
    unsigned w = (enc >> 13) & 3;
    return w == 0 ? 0xffffull : w == 2 ? 0xffffffffull : ~0ull;
}

/* One change of one field, printed. */
static void mutate(void)
{
    uint32_t enc = fields[next() % nfields];
    uint64_t old = vmread(enc), val;
    unsigned op = (unsigned)(next() % 4);
    unsigned bit = (unsigned)(next() % 64);
    switch (op) {
    case 0: val = old ^ (1ull << bit); break;
    case 1: val = 0; break;
    case 2: val = ~0ull; break;
    default: val = next(); break;
    }
    val &= width_mask(enc);
    vmwrite(enc, val);
    con_printf(" %04x=%lx", enc, val);
}

static void run_case(unsigned n)
{
    if (!vmx_test_vmcs(0, 0, 0, 0, 0, empty_guest, 0))
        guest_finish();
    vmx_guest_idt_install();
    con_printf("PASS: fuzz_%u", n);
    unsigned changes = 1 + (unsigned)(next() % 3);
    for (unsigned i = 0; i < changes; i++)
        mutate();
    int r = vmx_test_enter();
    if (r == VMX_FAIL_INVALID)
        con_printf(" -> VMfailInvalid\n");
    else if (r == VMX_FAIL_VALID)
        con_printf(" -> VMfailValid(%u)\n", vmx_insn_error());
    else
        con_printf(" -> exit %#x qual %#lx intr %#x rip %#lx\n", last_exit.reason, last_exit.qual,
                   last_exit.intr_info, last_exit.guest_rip);
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    const char *cmd = mb_cmdline(mb_magic, mb_info);
    uint64_t cases = cmdline_u64(cmd, "cases", 10000, 0);
    rng = cmdline_u64(cmd, "seed", 1, 0) | 1;

    vmx_test_start();
    if (!vmx_test_vmcs(0, 0, 0, 0, 0, empty_guest, 0))
        guest_finish();
    find_fields();
    con_printf("fuzz: %u fields, %lu cases, seed %#lx\n", nfields, cases, rng);
    for (uint64_t n = 0; n < cases; n++)
        run_case((unsigned)n);
    report_pass("fuzz_done");
}
