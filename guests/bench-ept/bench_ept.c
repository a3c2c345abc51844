/* EPT benchmarks (bench/ runs them under `nvmx run`; bench/bochs under
 * Bochs):
 *  - default: the EPT-violation loop. A guest under EPT writes to
 *    BENCH_EPT_LOOPS new 4-KiB pages, one after another; each write is an
 *    EPT violation (the page is not mapped), and the host's handler maps
 *    the page with a 4-KiB EPT entry (ept_map) and resumes. One iteration
 *    is one VM exit round trip with an EPT update.
 *  - "loop=alu|mem count=N ept=0|1" on the command line: bench/loops.c's
 *    ALU or memory loop with N iterations, run by the image itself (ept=0)
 *    or by a guest under EPT (ept=1, identity map, largest leaves), so that
 *    the two runs differ only in EPT. */
#include "bench.h"
#include "console.h"
#include "ept.h"
#include "multiboot.h"
#include "report.h"
#include "rtstring.h"
#include "vmx.h"
#include "x86.h"

#ifndef BENCH_EPT_LOOPS
#define BENCH_EPT_LOOPS 500000
#endif
/* Guest-physical (= guest-linear) pages the loop touches: from 1 GiB; the
 * boot page tables map up to 4 GiB, so at most 786432 pages. */
#define FAULT_BASE 0x40000000ull
#define HOST_PAGES 16

_Static_assert(BENCH_EPT_LOOPS <= 786432, "the fault window ends at 4 GiB");

/* EPT tables for the fault loop: one page table per 512 pages */
#define POOL_PAGES (BENCH_EPT_LOOPS / 512 + 64)
static uint8_t pool[POOL_PAGES][4096] __attribute__((aligned(4096)));
static uint8_t host_pages[HOST_PAGES][4096] __attribute__((aligned(4096)));
static struct ept ept;
static uint64_t violations;
static bool finished;

static uint8_t code[256] __attribute__((aligned(64)));
static uint8_t data[BENCH_DATA_SIZE] __attribute__((aligned(4096)));
static uint8_t loop_stack[16384] __attribute__((aligned(16)));
uint64_t bench_ept_rbx;
static uint64_t loop_rax;
uint64_t bench_ept_run(const void *code, void *buf);

static void fault_guest(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        *(volatile uint64_t *)(FAULT_BASE + i * 4096) = i;
}

static bool fault_exit(struct vmx_regs *g)
{
    uint64_t reason = vmread(EXIT_REASON);

    if (reason == EXIT_EPT_VIOLATION) {
        uint64_t gpa = vmread(GUEST_PHYS_ADDR) & ~0xfffull;
        violations++;
        return ept_map(&ept, gpa, (uint64_t)host_pages[(gpa >> 12) % HOST_PAGES], 4096,
                       EPT_LEAF_4K, EPT_R | EPT_W | EPT_MT(EPT_MT_WB));
    }
    if (reason == EXIT_VMCALL && g->rax == VMX_GUEST_DONE)
        finished = true;
    else
        report_fail("bench_ept", "unexpected exit reason %#lx at %#lx (qual %#lx)", reason,
                    vmread(GUEST_RIP), vmread(EXIT_QUAL));
    return false;
}

static void loop_guest(uint64_t arg)
{
    loop_rax = bench_ept_run(code, data);
}

static bool loop_exit(struct vmx_regs *g)
{
    uint64_t reason = vmread(EXIT_REASON);

    if (reason == EXIT_VMCALL && g->rax == VMX_GUEST_DONE)
        finished = true;
    else
        report_fail("bench_ept", "unexpected exit reason %#lx at %#lx (qual %#lx)", reason,
                    vmread(GUEST_RIP), vmread(EXIT_QUAL));
    return false;
}

/* VMXON and a VMCS with EPT over the identity map of 0..1 GiB */
static bool ept_guest_setup(struct vmx_regs *regs, void (*fn)(uint64_t), uint64_t arg)
{
    int r;

    if (!vmx_supported()) {
        report_skip("bench_ept", "CPUID.1:ECX.VMX = 0");
        return false;
    }
    vmx_caps_read();
    if (!vmx_proc2_allowed(PROC2_EPT) || !vmx_ept_cap(EPT_CAP_WALK4 | EPT_CAP_WB)) {
        report_skip("bench_ept", "no EPT (4-level, write-back) on this CPU");
        return false;
    }
    if (!vmx_feature_control_enable()) {
        report_fail("bench_ept", "VMX disabled by IA32_FEATURE_CONTROL");
        return false;
    }
    if ((r = vmx_enter_root()) != VMX_OK) {
        report_fail("bench_ept", "VMXON result %d", r);
        return false;
    }
    ept_pool_init(pool, sizeof(pool));
    ept_use_caps(vmx_caps.ept_vpid);
    if (!ept_init(&ept) ||
        !ept_map(&ept, 0, 0, 1ull << 30, EPT_LEAF_AUTO, EPT_RWX | EPT_MT(EPT_MT_WB)))
        return false;
    vmx_guest_setup(regs, fn, arg);
    /* As hypervisors do where the CPU has it: VPID 1 for the guest, so
     * that VM exits and entries need not flush translations (SDM 3C
     * "VPID"). */
    uint32_t proc2 = PROC2_EPT | (vmx_proc2_allowed(PROC2_VPID) ? PROC2_VPID : 0);
    if (!vmx_vmcs_init(vmx_vmcs_region, 0, 0, proc2, 0, 0))
        return false;
    vmwrite(VPID, 1);
    vmwrite(EPT_POINTER, ept_eptp(&ept, false));
    vmwrite(GUEST_RSP, (uint64_t)(loop_stack + sizeof(loop_stack)));
    return true;
}

static int enter(struct vmx_regs *regs)
{
    int r = vmx_run(regs);

    if (r != VMX_OK)
        report_fail("bench_ept", "VM entry result %d error %u", r,
                    r == VMX_FAIL_VALID ? vmx_insn_error() : 0);
    return r;
}

static void fault_loop(void)
{
    struct vmx_regs regs;
    uint64_t last = FAULT_BASE + (BENCH_EPT_LOOPS - 1) * 4096ull;

    if (!ept_guest_setup(&regs, fault_guest, BENCH_EPT_LOOPS))
        return;
    vmx_exit_handler = fault_exit;
    if (enter(&regs) != VMX_OK)
        return;
    con_printf("bench-ept: %lu EPT violations\n", violations);
    check_true("bench_ept_loop",
               finished && violations == BENCH_EPT_LOOPS &&
                   *(uint64_t *)host_pages[(last >> 12) % HOST_PAGES] == BENCH_EPT_LOOPS - 1,
               "every new page to exit once and the last write to land");
    vmxoff();
}

/* "key=" value on the command line, or def */
static uint64_t cmd_value(const char *cmd, const char *key, uint64_t def)
{
    size_t k = strlen(key);

    for (const char *p = cmd; p && *p; p++) {
        if (memcmp(p, key, k) != 0 || (p != cmd && p[-1] != ' '))
            continue;
        uint64_t n = 0;
        for (p += k; *p >= '0' && *p <= '9'; p++)
            n = n * 10 + (uint64_t)(*p - '0');
        return n;
    }
    return def;
}

static const struct bench_loop *loop_named(const char *cmd)
{
    for (unsigned i = 0; i < bench_nloops; i++) {
        char key[32] = "loop=";
        memcpy(key + 5, bench_loops[i].name, strlen(bench_loops[i].name) + 1);
        for (const char *p = cmd; p && *p; p++)
            if (!memcmp(p, key, strlen(key)) &&
                (p[strlen(key)] == ' ' || p[strlen(key)] == 0))
                return &bench_loops[i];
    }
    return 0;
}

static void run_loop(const struct bench_loop *l, uint32_t count, bool use_ept)
{
    memcpy(code, l->code, l->len);
    memcpy(code + l->count_off, &count, 4);
    code[l->end_off] = 0xc3; /* RET instead of UD2 */
    code[l->end_off + 1] = 0x90;
    if (!use_ept) {
        loop_rax = bench_ept_run(code, data);
    } else {
        struct vmx_regs regs;
        if (!ept_guest_setup(&regs, loop_guest, 0))
            return;
        vmx_exit_handler = loop_exit;
        if (enter(&regs) != VMX_OK)
            return;
        vmxoff();
        if (!check_true("bench_ept_guest_done", finished, "the guest to end with VMCALL"))
            return;
    }
    con_printf("bench-ept: loop %s count %u ept %u rax %#lx rbx %#lx\n", l->name, count, use_ept,
               loop_rax, bench_ept_rbx);
    report_pass("bench_ept_loop");
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    const char *cmd = 0;

    if (mb_magic == MB_BOOTLOADER_MAGIC) {
        const struct mb_info *mbi = (const struct mb_info *)(uint64_t)mb_info;
        if (mbi->flags & MB_INFO_CMDLINE)
            cmd = (const char *)(uint64_t)mbi->cmdline;
    }
    const struct bench_loop *l = loop_named(cmd);
    if (!l) {
        fault_loop();
        return;
    }
    run_loop(l, (uint32_t)cmd_value(cmd, "count=", 1000000), cmd_value(cmd, "ept=", 0) != 0);
}
