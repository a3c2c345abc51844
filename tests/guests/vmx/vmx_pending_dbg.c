/* A debug exception held by MOV SS across a VM exit (SDM 3C "Saving
 * Non-Register State": "VM exits that are not caused by debug exceptions
 * and that occur while there is MOV-SS blocking of debug exceptions" save
 * the pending debug exceptions; "Delivery of Pending Debug Exceptions
 * after VM Entry": under blocking by MOV SS they stay pending and follow
 * the next instruction). The guest loads SS from a word DR0 watches (and,
 * in the second case, runs with TF = 1); the RDTSC after it exits. The
 * exit saves B0 + enabled-breakpoint (+ BS) and MOV-SS blocking; resumed
 * as it was with RDTSC exiting off, RDTSC runs and the held #DB follows
 * it (exception bitmap: exit 0 with B0 (+ BS) as the qualification). */
#include "console.h"
#include "report.h"
#include "rtstring.h"
#include "vmx_common.h"
#include "x86.h"

#define FL_TF (1ull << 8)
#define DR6_B0 1ull
#define DR6_BS (1ull << 14)
#define PENDING_ENABLED_BP (1ull << 12)
#define INTR_MOV_SS 2ull
#define VEC_DB 1u

extern char gx_movss_rdtsc[], gx_movss_rdtsc_insn[], gx_movss_rdtsc_next[];
extern uint16_t gx_ss_sel;

static void empty_guest(uint64_t arg) { (void)arg; }

static void check(const char *test, const char *what, uint64_t got, uint64_t want)
{
    char n[96];
    fmt_snprintf(n, sizeof n, "%s.%s", test, what);
    check_eq(n, got, want);
}

static void held_across_exit(const char *name, uint64_t rflags, uint64_t pending, uint64_t qual)
{
    if (!vmx_ctl_allowed(vmx_caps.entry, ENTRY_LOAD_DEBUG) ||
        !vmx_ctl_allowed(vmx_caps.proc, PROC_RDTSC)) {
        report_skip(name, "\"load debug controls\" or RDTSC exiting not supported");
        return;
    }
    if (!vmx_test_vmcs(0, PROC_RDTSC, 0, 0, ENTRY_LOAD_DEBUG, empty_guest, 0))
        return;
    __asm__ volatile("mov %0, %%dr0" ::"r"((uint64_t)&gx_ss_sel));
    /* G0, R/W0 = 11 (read/write), LEN0 = 01 (2 bytes) */
    vmwrite(GUEST_DR7, 0x400 | 2 | (3ull << 16) | (1ull << 18));
    vmwrite(GUEST_RIP, (uint64_t)gx_movss_rdtsc);
    vmwrite(GUEST_RFLAGS, 2 | rflags);
    vmwrite(EXCEPTION_BITMAP, 1u << VEC_DB);
    if (!check_vmx(name, vmx_test_enter(), VMX_OK, 0) || !check_exit(name, EXIT_RDTSC))
        return;
    check(name, "exit_rip", last_exit.guest_rip, (uint64_t)gx_movss_rdtsc_insn);
    check(name, "pending_dbg_saved", vmread(GUEST_PENDING_DBG), pending);
    check(name, "mov_ss_blocking_saved", vmread(GUEST_INTERRUPTIBILITY) & INTR_MOV_SS,
          INTR_MOV_SS);
    /* resume as it stopped, RDTSC no longer exiting */
    vmwrite(PROC_CONTROLS, vmx_ctls.proc & ~PROC_RDTSC);
    char n[96];
    fmt_snprintf(n, sizeof n, "%s.delivered_after_next", name);
    if (!check_vmx(n, vmx_test_enter(), VMX_OK, 0) || !check_exit(n, EXIT_EXCEPTION_NMI))
        return;
    check(name, "db_vector", last_exit.intr_info & 0x7ff, INTR_TYPE_HW_EXC | VEC_DB);
    check(name, "db_rip_after_rdtsc", last_exit.guest_rip, (uint64_t)gx_movss_rdtsc_next);
    check(name, "db_qualification", last_exit.qual, qual);
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_magic;
    (void)mb_info;
    vmx_test_start();
    held_across_exit("movss_data_bp_held_across_exit", 0, DR6_B0 | PENDING_ENABLED_BP, DR6_B0);
    held_across_exit("movss_single_step_held_across_exit", FL_TF,
                     DR6_B0 | PENDING_ENABLED_BP | DR6_BS, DR6_B0 | DR6_BS);
    __asm__ volatile("mov %0, %%dr0" ::"r"(0ull));
    guest_finish();
}
