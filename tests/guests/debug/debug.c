/* Guest test debug: the debug registers in 64-bit mode (SDM 3B "Debug,
 * Branch Profile, TSC, and Intel Resource Director Technology Features",
 * chapter sections "Debug Registers" and "Debug Exceptions"): CPUID.DE and
 * CR4.DE, DR4/DR5, DR6/DR7 fixed bits, instruction breakpoints (faults, RF),
 * data breakpoints of every length (traps), the software TLB not hiding an
 * armed page, REP strings, I/O breakpoints, general detect, single-step
 * and the MOV SS interrupt shadow. Each #DB is caught by a hook that
 * records the saved RIP, RFLAGS and DR6 and resumes. */
#include "console.h"
#include "exc.h"
#include "report.h"
#include "x86.h"

#define VEC_DB 1
#define VEC_UD 6
#define VEC_GP 13
#define FL_RF (1ull << 16)
#define CR4_DE (1ull << 3)
#define DR6_FIXED1 0xffff0ff0ull /* SDM 3B "Debug Status Register (DR6)" */
#define DR6_BD (1ull << 13)
#define DR6_BS (1ull << 14)
#define DR7_FIXED1 0x400ull
#define DR7_GD (1ull << 13)
#define MSR_DEBUGCTL 0x1d9u

/* DR7 for breakpoint n: Gn, R/Wn, LENn (LEN encodings: 1->0, 2->1, 8->2, 4->3) */
#define RW_EXEC 0u
#define RW_WRITE 1u
#define RW_IO 2u
#define RW_RW 3u
static uint64_t dr7_for(unsigned n, unsigned rw, unsigned len_bytes)
{
    unsigned len = len_bytes == 1 ? 0 : len_bytes == 2 ? 1 : len_bytes == 8 ? 2 : 3;
    return DR7_FIXED1 | (2ull << (2 * n)) | ((uint64_t)rw << (16 + 4 * n)) |
           ((uint64_t)len << (18 + 4 * n));
}

#define DEFINE_DR(n)                                                                         \
    static inline uint64_t read_dr##n(void)                                                  \
    {                                                                                        \
        uint64_t v;                                                                          \
        __asm__ volatile("mov %%dr" #n ", %0" : "=r"(v));                                    \
        return v;                                                                            \
    }                                                                                        \
    static inline void write_dr##n(uint64_t v)                                               \
    {                                                                                        \
        __asm__ volatile("mov %0, %%dr" #n : : "r"(v) : "memory");                           \
    }
DEFINE_DR(0)
DEFINE_DR(1)
DEFINE_DR(2)
DEFINE_DR(3)
DEFINE_DR(4)
DEFINE_DR(5)
DEFINE_DR(6)
DEFINE_DR(7)
#undef DEFINE_DR

void insn_block(void), store_1(void *, uint64_t), store_2(void *, uint64_t);
void store_4(void *, uint64_t), store_8(void *, uint64_t);
uint32_t load_4(const void *);
void rep_stosb(void *, uint64_t), out_port(uint16_t), step_three(void), step_movss(void);
void mov_ss_from(const void *);
uint64_t read_dr0_gd(void);
extern const uint8_t insn_block_third[], insn_block_end[], store_1_next[], store_2_next[];
extern const uint8_t store_4_next[], store_8_next[], load_4_next[], rep_stosb_insn[];
extern const uint8_t rep_stosb_next[], out_port_next[], read_dr0_gd_insn[];
extern const uint8_t step_2[], step_3[], step_4[], movss_1[], movss_3[], movss_4[];
extern const uint8_t movss_mem_after[];

/* What the #DB hook saw, one record per #DB. */
#define MAX_DB 8
struct db_record {
    uint64_t rip, rflags, dr6, dr7, rax, rcx, rdi, debugctl;
};
static volatile struct db_record db[MAX_DB];
static volatile unsigned ndb;
static volatile bool set_rf; /* resume an instruction breakpoint with RF */

static bool db_hook(struct exc_frame *f)
{
    if (ndb < MAX_DB)
        db[ndb] = (struct db_record){ f->rip,          f->rflags, read_dr6(), read_dr7(), f->rax,
                                      f->rcx,          f->rdi,    rdmsr(MSR_DEBUGCTL) };
    ndb++;
    if (set_rf)
        f->rflags |= FL_RF;
    return true;
}

static void db_reset(void)
{
    ndb = 0;
    write_dr6(0);
}

static uint8_t buf[64] __attribute__((aligned(4096)));
static uint8_t far_page[4096] __attribute__((aligned(4096)));

/* One #DB at rip with DR6 = dr6 (and nothing else) since db_reset(). */
static void check_one_db(const char *name, const void *rip, uint64_t dr6)
{
    char n[96];
    if (!check_eq(name, ndb, 1))
        return;
    fmt_snprintf(n, sizeof n, "%s.rip", name);
    check_eq(n, db[0].rip, (uint64_t)rip);
    fmt_snprintf(n, sizeof n, "%s.dr6", name);
    check_eq(n, db[0].dr6, dr6);
}

/* SDM 3B "Debug Registers": CPUID.01H:EDX.DE[bit 2]; with CR4.DE = 0,
 * DR4 and DR5 are aliases of DR6 and DR7; with CR4.DE = 1 they are #UD. */
static void dr4_fn(void *arg) { (void)arg; (void)read_dr4(); }
static void dr5_write_fn(void *arg) { (void)arg; write_dr5(DR7_FIXED1); }

static void test_de(void)
{
    check_true("dbg.cpuid_de", (cpuid(1, 0).edx >> 2) & 1, "CPUID.01H:EDX[2] set");
    uint64_t cr4 = read_cr4();
    write_cr4(cr4 & ~CR4_DE);
    write_dr6(0);
    write_dr4(0x1); /* DR6 through its alias */
    check_eq("dbg.dr4_aliases_dr6", read_dr6(), DR6_FIXED1 | 1);
    check_eq("dbg.dr4_reads_dr6", read_dr4(), DR6_FIXED1 | 1);
    write_dr7(dr7_for(3, RW_WRITE, 4) & ~(2ull << 6)); /* fields set, not enabled */
    check_eq("dbg.dr5_reads_dr7", read_dr5(), dr7_for(3, RW_WRITE, 4) & ~(2ull << 6));
    write_dr7(0);
    write_cr4(cr4 | CR4_DE);
    check_eq("dbg.cr4_de_set", (read_cr4() & CR4_DE) != 0, 1);
    check_eq("dbg.dr4_ud_with_de", (uint64_t)exc_run(dr4_fn, 0), VEC_UD);
    check_eq("dbg.dr5_ud_with_de", (uint64_t)exc_run(dr5_write_fn, 0), VEC_UD);
    write_cr4(cr4);
}

/* SDM 3B "Debug Status Register (DR6)", "Debug Control Register (DR7)":
 * the reserved bits read as the SDM gives them; bits 63:32 #GP. */
static void dr6_high_fn(void *arg) { (void)arg; write_dr6(1ull << 32); }
static void dr7_high_fn(void *arg) { (void)arg; write_dr7(1ull << 40); }

static void test_fixed_bits(void)
{
    write_dr6(0);
    check_eq("dbg.dr6_zero_reads_fixed1", read_dr6(), DR6_FIXED1);
    write_dr6(0xffffffff);
    check_eq("dbg.dr6_ones", read_dr6(), 0xffffefffull);
    write_dr7(0);
    check_eq("dbg.dr7_zero_reads_400", read_dr7(), DR7_FIXED1);
    write_dr7(0xffffffff & ~DR7_GD);
    check_eq("dbg.dr7_ones", read_dr7(), 0xffff07ffull);
    write_dr7(0);
    check_eq("dbg.dr6_high_gp", (uint64_t)exc_run(dr6_high_fn, 0), VEC_GP);
    check_eq("dbg.dr7_high_gp", (uint64_t)exc_run(dr7_high_fn, 0), VEC_GP);
    write_dr6(0);
}

/* SDM 3B "Instruction-Breakpoint Exception Condition": a fault, RIP at the
 * instruction, DR6.Bn; the handler resumes with RF = 1 so the instruction
 * runs once. B0-B3 are replaced, BS stays. */
static void test_insn_breakpoints(void)
{
    set_rf = true;
    db_reset();
    write_dr0((uint64_t)insn_block_third);
    write_dr7(dr7_for(0, RW_EXEC, 1));
    insn_block();
    write_dr7(0);
    check_one_db("dbg.insn_bp", insn_block_third, DR6_FIXED1 | 1);
    check_eq("dbg.insn_bp.rax_before", db[0].rax, 2);
    check_eq("dbg.insn_bp.rf_clear_in_image", db[0].rflags & FL_RF, 0);

    /* the first instruction of a block, through DR3, with BS already set */
    db_reset();
    write_dr6(DR6_BS | 2);
    write_dr3((uint64_t)insn_block);
    write_dr7(dr7_for(3, RW_EXEC, 1));
    insn_block();
    write_dr7(0);
    check_one_db("dbg.insn_bp_dr3_keeps_bs", insn_block, DR6_FIXED1 | DR6_BS | 8);

    /* L (local) enable works like G */
    db_reset();
    write_dr1((uint64_t)insn_block_end);
    write_dr7(DR7_FIXED1 | (1ull << 2));
    insn_block();
    write_dr7(0);
    check_one_db("dbg.insn_bp_local_enable", insn_block_end, DR6_FIXED1 | 2);

    /* neither L nor G: nothing */
    db_reset();
    write_dr0((uint64_t)insn_block_third);
    write_dr7(DR7_FIXED1);
    insn_block();
    check_eq("dbg.insn_bp_disabled", ndb, 0);
    set_rf = false;
}

/* SDM 3B "Data Memory and I/O Breakpoint Exception Conditions", "Breakpoint
 * Field Recognition": a trap after the access, when any byte of the access
 * is in [DRn & ~(LEN - 1), + LEN). */
static void (*const store_fn[4])(void *, uint64_t) = { store_1, store_2, store_4, store_8 };
static const uint8_t *const store_next[4] = { store_1_next, store_2_next, store_4_next,
                                              store_8_next };

static void test_data_lengths(void)
{
    static const unsigned lens[4] = { 1, 2, 4, 8 };
    char n[96];
    for (unsigned li = 0; li < 4; li++) {
        unsigned len = lens[li];
        uint8_t *bp = buf + 16;
        /* DRn not aligned: the low bits are masked */
        write_dr1((uint64_t)bp + (len - 1));
        write_dr7(dr7_for(1, RW_WRITE, len));
        /* every access size at every offset around the range */
        for (unsigned si = 0; si < 4; si++) {
            unsigned size = lens[si];
            for (int off = -8; off <= 8; off++) {
                db_reset();
                store_fn[si](bp + off, 0);
                bool expect = off + (int)size - 1 >= 0 && off <= (int)len - 1;
                fmt_snprintf(n, sizeof n, "dbg.data_w.len%u.size%u.off%d", len, size, off);
                if (!expect) {
                    if (ndb != 0)
                        check_eq(n, ndb, 0);
                    continue;
                }
                if (ndb == 1 && db[0].rip == (uint64_t)store_next[si] &&
                    db[0].dr6 == (DR6_FIXED1 | 2))
                    continue;
                check_one_db(n, store_next[si], DR6_FIXED1 | 2);
            }
        }
        write_dr7(0);
        fmt_snprintf(n, sizeof n, "dbg.data_w.len%u", len);
        report_pass(n);
    }
}

static void test_data_kinds(void)
{
    uint8_t *v = buf + 40;
    /* R/W = 01: writes only */
    write_dr2((uint64_t)v);
    write_dr7(dr7_for(2, RW_WRITE, 4));
    db_reset();
    (void)load_4(v);
    check_eq("dbg.data_write_only_ignores_read", ndb, 0);
    /* R/W = 11: reads too */
    write_dr7(dr7_for(2, RW_RW, 4));
    db_reset();
    (void)load_4(v);
    check_one_db("dbg.data_rw_read", load_4_next, DR6_FIXED1 | 4);
    write_dr7(dr7_for(2, RW_RW, 4) & ~(3ull << 4)); /* L2 = G2 = 0 */
    db_reset();
    store_4(v, 1);
    check_eq("dbg.data_disabled", ndb, 0);
    write_dr7(0);
}

/* The page was translated (and cached) before the breakpoint was armed:
 * arming must not leave it cached where accesses escape the match, and
 * disarming stops the #DBs. */
static void test_data_cached_page(void)
{
    uint8_t *v = far_page + 0x100;
    for (int i = 0; i < 4; i++)
        store_8(v, (uint64_t)i);
    write_dr0((uint64_t)v);
    write_dr7(dr7_for(0, RW_WRITE, 8));
    db_reset();
    for (int i = 0; i < 4; i++)
        store_8(v, (uint64_t)i);
    check_eq("dbg.data_cached_page.hits", ndb, 4);
    check_eq("dbg.data_cached_page.rip", db[3].rip, (uint64_t)store_8_next);
    /* other bytes of the same page do not hit */
    db_reset();
    store_8(v + 8, 0);
    check_eq("dbg.data_cached_page.neighbour", ndb, 0);
    write_dr7(0);
    db_reset();
    store_8(v, 5);
    check_eq("dbg.data_disarmed", ndb, 0);
}

/* SDM 3B "Debug Exceptions": a REP string instruction traps after the
 * iteration that hit, RIP at the instruction with the remaining count;
 * resumed, it completes. */
static void test_rep_string(void)
{
    for (int i = 0; i < 32; i++)
        buf[i] = 0;
    write_dr3((uint64_t)(buf + 5));
    write_dr7(dr7_for(3, RW_WRITE, 1));
    db_reset();
    rep_stosb(buf, 16);
    write_dr7(0);
    check_one_db("dbg.rep_stosb", rep_stosb_insn, DR6_FIXED1 | 8);
    check_eq("dbg.rep_stosb.rcx_left", db[0].rcx, 10);
    check_eq("dbg.rep_stosb.rdi", db[0].rdi, (uint64_t)(buf + 6));
    check_eq("dbg.rep_stosb.completed", buf[15], 0x5a);
    check_eq("dbg.rep_stosb.stopped", buf[16], 0);
}

/* SDM 3B "Debug Control Register (DR7)": R/W = 10 breaks on I/O with
 * CR4.DE = 1 (a trap after IN/OUT). Port 0x80 is unclaimed. */
static void test_io(void)
{
    uint64_t cr4 = read_cr4();
    write_dr2(0x80);
    write_dr7(dr7_for(2, RW_IO, 1));
    write_cr4(cr4 | CR4_DE);
    db_reset();
    out_port(0x80);
    check_one_db("dbg.io_bp_out", out_port_next, DR6_FIXED1 | 4);
    db_reset();
    out_port(0x81);
    check_eq("dbg.io_bp_other_port", ndb, 0);
    write_cr4(cr4 & ~CR4_DE);
    db_reset();
    out_port(0x80);
    check_eq("dbg.io_bp_needs_de", ndb, 0);
    write_dr7(0);
    write_cr4(cr4);
}

/* SDM 3B "General-Detect Exception Condition": with DR7.GD = 1 a MOV DR is
 * a fault with DR6.BD; the processor clears GD on entering the handler. */
static void test_general_detect(void)
{
    db_reset();
    write_dr7(DR7_FIXED1 | DR7_GD);
    (void)read_dr0_gd();
    check_one_db("dbg.gd", read_dr0_gd_insn, DR6_FIXED1 | DR6_BD);
    check_eq("dbg.gd.cleared_in_handler", db[0].dr7 & DR7_GD, 0);
    write_dr7(0);
}

/* SDM 3B "Single-Step Exception Condition" and SDM 3A "Masking Exceptions
 * and Interrupts When Switching Stacks". */
static void test_single_step(void)
{
    db_reset();
    step_three();
    check_eq("dbg.step.count", ndb, 3);
    check_eq("dbg.step.1", db[0].rip, (uint64_t)step_2);
    check_eq("dbg.step.2", db[1].rip, (uint64_t)step_3);
    check_eq("dbg.step.3_popf_clearing_tf", db[2].rip, (uint64_t)step_4);
    check_eq("dbg.step.dr6", db[0].dr6, DR6_FIXED1 | DR6_BS);

    db_reset();
    step_movss();
    check_eq("dbg.step_movss.count", ndb, 3);
    check_eq("dbg.step_movss.before", db[0].rip, (uint64_t)movss_1);
    check_eq("dbg.step_movss.held_over_next", db[1].rip, (uint64_t)movss_3);
    check_eq("dbg.step_movss.dr6", db[1].dr6, DR6_FIXED1 | DR6_BS);
    check_eq("dbg.step_movss.after", db[2].rip, (uint64_t)movss_4);

    /* a data breakpoint on MOV SS's source traps after the next one */
    static volatile uint16_t ss_sel;
    ss_sel = GDT_KDATA;
    write_dr1((uint64_t)&ss_sel);
    write_dr7(dr7_for(1, RW_RW, 2));
    db_reset();
    mov_ss_from((const void *)&ss_sel);
    write_dr7(0);
    check_one_db("dbg.movss_data_bp_held", movss_mem_after, DR6_FIXED1 | 2);
}

/* SDM 3B "Last Branch, Interrupt, and Exception Recording" (Skylake):
 * the LBR stack records taken branches, LBR_SELECT filters them, an
 * exception copies the last branch to the LER MSRs, a #DB clears LBR and
 * BTF. Skipped on a model without LBR (DEBUGCTL.LBR #GP). */
#define MSR_LBR_SELECT 0x1c8u
#define MSR_LBR_TOS 0x1c9u
#define MSR_LER_FROM 0x1ddu
#define MSR_LER_TO 0x1deu
#define MSR_LBR_FROM(n) (0x680u + (n))
#define MSR_LBR_TO(n) (0x6c0u + (n))
#define MSR_LBR_INFO(n) (0xdc0u + (n))
#define LBR_DEPTH 32u
void lbr_seq(void), lbr_exc(void *);
extern const uint8_t lbr_jmp[], lbr_jmp_to[], lbr_call[], lbr_fn[], lbr_after_call[];
extern const uint8_t lbr_exc_jmp[], lbr_exc_ud[];

static void lbr_on_fn(void *arg) { (void)arg; wrmsr(MSR_DEBUGCTL, 1); }
static void wr_fn(void *arg)
{
    const uint64_t *mv = arg;
    wrmsr((uint32_t)mv[0], mv[1]);
}

static bool lbr_has(unsigned back, const void *from, const void *to)
{
    unsigned t = (unsigned)((rdmsr(MSR_LBR_TOS) + LBR_DEPTH - back) % LBR_DEPTH);
    return rdmsr(MSR_LBR_FROM(t)) == (uint64_t)from && rdmsr(MSR_LBR_TO(t)) == (uint64_t)to;
}

static void test_lbr(void)
{
    if (exc_run(lbr_on_fn, 0) == VEC_GP) {
        report_skip("dbg.lbr", "IA32_DEBUGCTL.LBR is not implemented by this model");
        return;
    }
    wrmsr(MSR_DEBUGCTL, 0);
    wrmsr(MSR_LBR_SELECT, 0);
    lbr_seq();
    check_true("dbg.lbr.ret", lbr_has(0, lbr_fn, lbr_after_call), "RET record at TOS");
    check_true("dbg.lbr.call", lbr_has(1, lbr_call, lbr_fn), "CALL record at TOS - 1");
    check_true("dbg.lbr.jmp", lbr_has(2, lbr_jmp, lbr_jmp_to), "JMP record at TOS - 2");
    check_eq("dbg.lbr.info_reserved_zero", rdmsr(MSR_LBR_INFO(rdmsr(MSR_LBR_TOS))) >> 16, 0);

    uint64_t tos = rdmsr(MSR_LBR_TOS);
    wrmsr(MSR_LBR_SELECT, 1u << 5); /* NEAR_RET filtered */
    lbr_seq();
    check_eq("dbg.lbr_select_near_ret.tos", rdmsr(MSR_LBR_TOS), (tos + 2) % LBR_DEPTH);
    check_true("dbg.lbr_select_near_ret.call_at_tos", lbr_has(0, lbr_call, lbr_fn),
               "CALL record at TOS");
    tos = rdmsr(MSR_LBR_TOS);
    wrmsr(MSR_LBR_SELECT, 1u << 0); /* CPL_EQ_0: nothing at ring 0 */
    lbr_seq();
    check_eq("dbg.lbr_select_cpl_eq_0", rdmsr(MSR_LBR_TOS), tos);
    wrmsr(MSR_LBR_SELECT, 0);

    /* "Last Exception Records" */
    check_eq("dbg.lbr_exception.vector", (uint64_t)exc_run(lbr_exc, 0), VEC_UD);
    wrmsr(MSR_DEBUGCTL, 0);
    check_eq("dbg.lbr_exception.ler_from", rdmsr(MSR_LER_FROM), (uint64_t)lbr_exc_jmp);
    check_eq("dbg.lbr_exception.ler_to", rdmsr(MSR_LER_TO), (uint64_t)lbr_exc_ud);

    /* a #DB (INT1) clears LBR and BTF */
    db_reset();
    wrmsr(MSR_DEBUGCTL, 3);
    __asm__ volatile(".byte 0xf1" ::: "memory");
    check_eq("dbg.db_clears_lbr_btf", db[0].debugctl, 0);
    check_eq("dbg.db_clears_lbr_btf.after", rdmsr(MSR_DEBUGCTL), 0);

    static const uint64_t bad[][2] = {
        { MSR_LBR_SELECT, 1u << 9 },  { MSR_LBR_TOS, LBR_DEPTH },
        { MSR_LBR_FROM(0), 1ull << 63 }, { MSR_LBR_INFO(0), 1ull << 20 },
        { MSR_LBR_FROM(LBR_DEPTH), 0 },
    };
    static const char *const bad_names[] = { "dbg.lbr_select_callstack_gp", "dbg.lbr_tos_depth_gp",
                                             "dbg.lbr_from_noncanonical_gp",
                                             "dbg.lbr_info_reserved_gp", "dbg.lbr_from_32_gp" };
    for (unsigned i = 0; i < 5; i++)
        check_eq(bad_names[i], (uint64_t)exc_run(wr_fn, (void *)bad[i]), VEC_GP);
}

/* SDM 3B "IA32_DEBUGCTL MSR": bits the model does not implement #GP. */
static void debugctl_bad_fn(void *arg) { (void)arg; wrmsr(MSR_DEBUGCTL, 1ull << 6); }

static void test_debugctl(void)
{
    check_eq("dbg.debugctl_unsupported_gp", (uint64_t)exc_run(debugctl_bad_fn, 0), VEC_GP);
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_magic;
    (void)mb_info;
    exc_set_hook(VEC_DB, db_hook);
    test_de();
    test_fixed_bits();
    test_insn_breakpoints();
    test_data_lengths();
    test_data_kinds();
    test_data_cached_page();
    test_rep_string();
    test_io();
    test_general_detect();
    test_single_step();
    test_debugctl();
    test_lbr();
    guest_finish();
}
