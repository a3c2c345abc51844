/* Guest test debug_tf: single-step rules around instructions that load
 * RFLAGS (SDM 3B "Single-Step Exception Condition"; SDM 2B "SYSCALL",
 * "SYSRET"; SDM 2A "IRET"; SDM 3A "Masking Exceptions and Interrupts When
 * Switching Stacks") and RF in the RFLAGS image of a #DB that interrupts a
 * repeated string instruction (SDM 3B "Instruction-Breakpoint Exception
 * Condition": "For any interrupt arriving after any iteration of a
 * repeated string instruction but the last iteration, the value pushed for
 * RF is 1").
 *
 * SYSCALL and SYSRET decide the single-step trap on the RFLAGS they load,
 * not on the RFLAGS they started with: SYSCALL with TF masked by IA32_FMASK
 * does not trap in the kernel, SYSRET that loads TF = 1 from R11 traps at
 * the user RIP, and SYSRET that loads TF = 0 does not trap although the
 * kernel was single-stepping. */
#include "console.h"
#include "exc.h"
#include "report.h"
#include "rtstring.h"
#include "x86.h"

#define VEC_DB 1
#define FL_TF (1ull << 8)
#define FL_RF (1ull << 16)
#define DR6_FIXED1 0xffff0ff0ull
#define DR6_BS (1ull << 14)
#define MSR_EFER 0xc0000080u
#define MSR_STAR 0xc0000081u
#define MSR_LSTAR 0xc0000082u
#define MSR_FMASK 0xc0000084u

extern const uint8_t tf_lstar[], tf_lstar_and[], tf_lstar_sysret[];
extern const uint8_t iret_t1[], iret_t2[], iret_c1[], sti_1[];
extern const uint8_t rep_stosb_rf_insn[], rep_stosb_rf_next[];
extern uint64_t tf_r11_or, tf_r11_and;
void u_syscall(uint64_t), u_tf_syscall(uint64_t);
extern const uint8_t u_after_syscall[], u_after_syscall_2[], u_tf_after_syscall[];
void iret_sets_tf(void), iret_clears_tf(void), sti_step(void);
void rep_stosb_rf(void *addr, uint64_t count);

struct db_record {
    uint64_t rip, rflags, dr6, cs;
};
#define MAX_DB 8
static struct db_record db[MAX_DB];
static unsigned ndb, clear_tf_at;

/* Record; clear TF in the frame at the clear_tf_at-th #DB (1-based). */
static bool db_hook(struct exc_frame *f)
{
    uint64_t dr6;
    __asm__ volatile("mov %%dr6, %0" : "=r"(dr6));
    if (ndb < MAX_DB)
        db[ndb] = (struct db_record){ f->rip, f->rflags, dr6, f->cs };
    ndb++;
    if (ndb >= clear_tf_at)
        f->rflags &= ~FL_TF;
    __asm__ volatile("mov %0, %%dr6" ::"r"(0ull));
    return true;
}

static void db_reset(unsigned clear_at)
{
    ndb = 0;
    clear_tf_at = clear_at;
    memset(db, 0, sizeof db);
}

static void check_db(const char *name, unsigned i, const void *rip)
{
    char n[96];
    fmt_snprintf(n, sizeof n, "%s.db%u_rip", name, i);
    check_eq(n, db[i].rip, (uint64_t)rip);
    fmt_snprintf(n, sizeof n, "%s.db%u_dr6_bs", name, i);
    check_eq(n, db[i].dr6, DR6_FIXED1 | DR6_BS);
}

static void syscall_setup(uint64_t fmask)
{
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
    /* SYSRET CS = STAR[63:48] + 16 (0x28, 64-bit user code), SS = + 8 */
    wrmsr(MSR_STAR, (0x18ull << 48) | (0x08ull << 32));
    wrmsr(MSR_LSTAR, (uint64_t)tf_lstar);
    wrmsr(MSR_FMASK, fmask);
}

static void test_syscall_sysret(void)
{
    /* SYSRET loads TF = 1 from R11: a trap at the user RIP, before the
     * instruction there runs */
    syscall_setup(FL_TF);
    tf_r11_or = FL_TF;
    tf_r11_and = ~0ull;
    db_reset(1);
    int v = exc_run_user(u_syscall, 0, 0);
    check_eq("tf.sysret_loads_tf.returned", (uint64_t)v, EXC_VEC_USER_RETURN);
    if (check_eq("tf.sysret_loads_tf.count", ndb, 1)) {
        check_db("tf.sysret_loads_tf", 0, u_after_syscall);
        check_eq("tf.sysret_loads_tf.cpl3", db[0].cs & 3, 3);
    }

    /* TF = 1 at SYSCALL, masked by IA32_FMASK: no trap in the kernel; the
     * kernel returns with TF cleared: no trap after SYSRET either */
    tf_r11_or = 0;
    tf_r11_and = ~FL_TF;
    db_reset(1);
    v = exc_run_user(u_tf_syscall, 0, 0);
    check_eq("tf.syscall_fmask_tf.returned", (uint64_t)v, EXC_VEC_USER_RETURN);
    check_eq("tf.syscall_fmask_tf.no_trap", ndb, 0);

    /* TF = 1 at SYSCALL, not masked: the trap follows SYSCALL, at the
     * kernel entry */
    syscall_setup(0);
    db_reset(1);
    v = exc_run_user(u_tf_syscall, 0, 0);
    check_eq("tf.syscall_keeps_tf.returned", (uint64_t)v, EXC_VEC_USER_RETURN);
    if (check_eq("tf.syscall_keeps_tf.count", ndb, 1)) {
        check_db("tf.syscall_keeps_tf", 0, tf_lstar);
        check_eq("tf.syscall_keeps_tf.cpl0", db[0].cs & 3, 0);
    }

    /* The kernel single-steps to SYSRET, which loads TF = 0 from R11: traps
     * after the two kernel instructions, none after SYSRET */
    db_reset(~0u);
    v = exc_run_user(u_tf_syscall, 0, 0);
    check_eq("tf.sysret_clears_tf.returned", (uint64_t)v, EXC_VEC_USER_RETURN);
    if (check_eq("tf.sysret_clears_tf.count", ndb, 3)) {
        check_db("tf.sysret_clears_tf", 0, tf_lstar);
        check_db("tf.sysret_clears_tf", 1, tf_lstar_and);
        check_db("tf.sysret_clears_tf", 2, tf_lstar_sysret);
    }
    wrmsr(MSR_FMASK, 0);
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) & ~EFER_SCE);
}

static void test_iret_sti(void)
{
    /* IRET that sets TF: no trap after IRET, the first after iret_t1 */
    db_reset(1);
    iret_sets_tf();
    if (check_eq("tf.iret_sets_tf.count", ndb, 1))
        check_db("tf.iret_sets_tf", 0, iret_t2);

    /* IRET executed with TF = 1 that loads TF = 0: a trap after IRET */
    db_reset(1);
    iret_clears_tf();
    if (check_eq("tf.iret_clears_tf.count", ndb, 1)) {
        check_db("tf.iret_clears_tf", 0, iret_c1);
        check_eq("tf.iret_clears_tf.tf_clear_in_image", db[0].rflags & FL_TF, 0);
    }

    /* STI's interrupt shadow does not hold the single-step trap */
    db_reset(1);
    sti_step();
    if (check_eq("tf.sti_no_hold.count", ndb, 1))
        check_db("tf.sti_no_hold", 0, sti_1);
}

/* A data breakpoint inside REP STOSB: the #DB after an iteration other than
 * the last pushes RF = 1 with RIP at the instruction; after the last
 * iteration the instruction has completed: RF = 0, RIP after it. */
static uint8_t buf[64] __attribute__((aligned(64)));

static void test_rep_rf(void)
{
    static const struct {
        const char *name;
        unsigned at;
        const uint8_t *rip;
        uint64_t rf;
    } cases[] = {
        { "tf.rep_db_mid_iteration_rf", 5, rep_stosb_rf_insn, FL_RF },
        { "tf.rep_db_first_iteration_rf", 0, rep_stosb_rf_insn, FL_RF },
        { "tf.rep_db_last_iteration_rf", 15, rep_stosb_rf_next, 0 },
    };
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char n[96];
        memset(buf, 0, sizeof buf);
        __asm__ volatile("mov %0, %%dr0" ::"r"((uint64_t)(buf + cases[i].at)));
        /* G0, R/W0 = 01 (write), LEN0 = 00 (1 byte) */
        __asm__ volatile("mov %0, %%dr7" ::"r"(0x400ull | 2 | (1ull << 16)));
        db_reset(1);
        rep_stosb_rf(buf, 16);
        __asm__ volatile("mov %0, %%dr7" ::"r"(0x400ull));
        if (!check_eq(cases[i].name, ndb, 1))
            continue;
        fmt_snprintf(n, sizeof n, "%s.rip", cases[i].name);
        check_eq(n, db[0].rip, (uint64_t)cases[i].rip);
        fmt_snprintf(n, sizeof n, "%s.rf", cases[i].name);
        check_eq(n, db[0].rflags & FL_RF, cases[i].rf);
        fmt_snprintf(n, sizeof n, "%s.completed", cases[i].name);
        check_eq(n, buf[15], 0x5a);
    }
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_magic;
    (void)mb_info;
    exc_set_hook(VEC_DB, db_hook);
    test_syscall_sysret();
    test_iret_sti();
    test_rep_rf();
    guest_finish();
}
