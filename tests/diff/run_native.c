/* Difftest oracle on this host's own processor: the case's code runs
 * natively at the same addresses, from the same registers, XMM registers,
 * MXCSR and flags. It ends with a signal: SIGILL at the UD2 terminator (or
 * #UD), SIGFPE for an unmasked SIMD floating-point exception (#XM: Linux
 * sets CR4.OSXMMEXCPT), SIGSEGV for #GP/#PF. The handler takes the state
 * from the signal frame. Only the --isa ssefp cases use it: they touch no
 * FS/GS base, branch nowhere and stay in the mapped areas. x86-64 only. */
#define _GNU_SOURCE /* REG_* of ucontext_t, MAP_FIXED_NOREPLACE */
#include "difftest.h"

#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#if defined(__x86_64__)

/* Layout read by dt_native_enter (offsets in its asm). */
struct native_regs {
    uint64_t gpr[16];   /* 0 */
    uint64_t rflags;    /* 128 */
    uint64_t rip;       /* 136 */
    uint32_t mxcsr;     /* 144 */
    uint32_t pad;
    uint64_t xmm[16][2]; /* 152 */
};
_Static_assert(__builtin_offsetof(struct native_regs, xmm) == 152, "asm offsets");

uint64_t dt_native_target __attribute__((used));
void dt_native_enter(const struct native_regs *r) __attribute__((noreturn));
__asm__(".pushsection .text\n"
        ".type dt_native_enter, @function\n"
        "dt_native_enter:\n"
        "  movq 136(%rdi), %rax\n"
        "  movq %rax, dt_native_target(%rip)\n"
        "  ldmxcsr 144(%rdi)\n"
        "  movdqu 152(%rdi), %xmm0\n  movdqu 168(%rdi), %xmm1\n"
        "  movdqu 184(%rdi), %xmm2\n  movdqu 200(%rdi), %xmm3\n"
        "  movdqu 216(%rdi), %xmm4\n  movdqu 232(%rdi), %xmm5\n"
        "  movdqu 248(%rdi), %xmm6\n  movdqu 264(%rdi), %xmm7\n"
        "  movdqu 280(%rdi), %xmm8\n  movdqu 296(%rdi), %xmm9\n"
        "  movdqu 312(%rdi), %xmm10\n  movdqu 328(%rdi), %xmm11\n"
        "  movdqu 344(%rdi), %xmm12\n  movdqu 360(%rdi), %xmm13\n"
        "  movdqu 376(%rdi), %xmm14\n  movdqu 392(%rdi), %xmm15\n"
        "  pushq 128(%rdi)\n  popfq\n"
        "  movq 0(%rdi), %rax\n  movq 8(%rdi), %rcx\n  movq 16(%rdi), %rdx\n"
        "  movq 24(%rdi), %rbx\n  movq 40(%rdi), %rbp\n  movq 48(%rdi), %rsi\n"
        "  movq 64(%rdi), %r8\n  movq 72(%rdi), %r9\n  movq 80(%rdi), %r10\n"
        "  movq 88(%rdi), %r11\n  movq 96(%rdi), %r12\n  movq 104(%rdi), %r13\n"
        "  movq 112(%rdi), %r14\n  movq 120(%rdi), %r15\n"
        "  movq 32(%rdi), %rsp\n  movq 56(%rdi), %rdi\n"
        "  jmp *dt_native_target(%rip)\n"
        ".size dt_native_enter, .-dt_native_enter\n"
        ".popsection\n");

static sigjmp_buf jb;
static struct dt_result *cur;
static void *altstack;
static bool mapped;

static void on_signal(int sig, siginfo_t *si, void *ctx)
{
    static const int greg[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP,
                                 REG_RSI, REG_RDI, REG_R8,  REG_R9,  REG_R10, REG_R11,
                                 REG_R12, REG_R13, REG_R14, REG_R15};
    ucontext_t *uc = ctx;
    mcontext_t *m = &uc->uc_mcontext;
    struct dt_result *r = cur;
    for (int i = 0; i < 16; i++)
        r->st.gpr[i] = (uint64_t)m->gregs[greg[i]];
    r->st.rip = (uint64_t)m->gregs[REG_RIP];
    r->st.rflags = (uint64_t)m->gregs[REG_EFL];
    for (int i = 0; i < 16; i++)
        memcpy(r->st.xmm[i], m->fpregs->_xmm[i].element, 16);
    r->st.mxcsr = m->fpregs->mxcsr;
    if (sig == SIGILL)
        r->vector = 6;
    else if (sig == SIGFPE)
        r->vector = 19;
    else
        r->vector = si->si_code == SI_KERNEL ? 13 : 14;
    siglongjmp(jb, 1);
}

bool dt_native_init(char *err, size_t errlen)
{
    void *a = mmap((void *)DT_CODE_BASE, DT_CODE_SIZE + DT_DATA_SIZE,
                   PROT_READ | PROT_WRITE | PROT_EXEC,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    void *s = mmap((void *)DT_STACK_BASE, DT_STACK_SIZE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (a != (void *)DT_CODE_BASE || s != (void *)DT_STACK_BASE) {
        snprintf(err, errlen, "native: cannot map the case areas at their addresses");
        return false;
    }
    mapped = true;
    stack_t ss = {.ss_size = 1 << 18};
    ss.ss_sp = altstack = malloc(ss.ss_size);
    if (!altstack || sigaltstack(&ss, NULL)) {
        snprintf(err, errlen, "native: sigaltstack failed");
        return false;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    int sigs[] = {SIGILL, SIGFPE, SIGSEGV, SIGBUS};
    for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
    return true;
}

void dt_native_fini(void)
{
    int sigs[] = {SIGILL, SIGFPE, SIGSEGV, SIGBUS};
    for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        signal(sigs[i], SIG_DFL);
    stack_t ss = {.ss_flags = SS_DISABLE};
    sigaltstack(&ss, NULL);
    free(altstack);
    altstack = NULL;
    if (mapped) {
        munmap((void *)DT_CODE_BASE, DT_CODE_SIZE + DT_DATA_SIZE);
        munmap((void *)DT_STACK_BASE, DT_STACK_SIZE);
    }
    mapped = false;
}

void dt_native_run(const struct dt_case *k, struct dt_result *r)
{
    static struct native_regs nr;
    memset(r, 0, sizeof *r);
    r->ok = true;
    r->native = true;
    memcpy((void *)DT_CODE_BASE, k->code, DT_CODE_SIZE);
    memcpy((void *)DT_DATA_BASE, k->init.data, DT_DATA_SIZE);
    memcpy((void *)DT_STACK_BASE, k->init.stack, DT_STACK_SIZE);
    memcpy(nr.gpr, k->init.gpr, sizeof nr.gpr);
    /* the arithmetic flags and DF only: never TF or AC */
    nr.rflags = 0x2 | (k->init.rflags & (DT_ALL6 | DT_DF));
    nr.rip = k->init.rip;
    nr.mxcsr = k->init.mxcsr;
    memcpy(nr.xmm, k->init.xmm, sizeof nr.xmm);
    uint32_t host_mxcsr;
    __asm__ volatile("stmxcsr %0" : "=m"(host_mxcsr));
    cur = r;
    if (!sigsetjmp(jb, 1))
        dt_native_enter(&nr);
    __asm__ volatile("ldmxcsr %0" : : "m"(host_mxcsr));
    /* The ssefp cases do not touch the x87/MMX registers: the host's are
     * not loaded, and the case's are the result. */
    memcpy(r->st.mm, k->init.mm, sizeof r->st.mm);
    r->st.fp_top = k->init.fp_top;
    r->st.fp_empty = k->init.fp_empty;
    memcpy(r->st.data, (void *)DT_DATA_BASE, DT_DATA_SIZE);
    memcpy(r->st.stack, (void *)DT_STACK_BASE, DT_STACK_SIZE);
}

/* What the host's processor cannot judge: RCPPS/RCPSS/RSQRTPS/RSQRTSS are
 * approximations whose bits are implementation-specific (SDM 2B "RCPPS":
 * relative error at most 1.5 * 2^-12); nvmx's choice is docs/fpu.md's and
 * tests/unit/test_sse_fp.c checks it. */
const char *dt_native_skip(const struct dt_case *k)
{
    for (unsigned i = 0; i < k->n; i++)
        if (!strncmp(k->insn[i].mnem, "RCP", 3) || !strncmp(k->insn[i].mnem, "RSQRT", 5))
            return "RCP/RSQRT: implementation-specific approximation";
    return NULL;
}

#else

const char *dt_native_skip(const struct dt_case *k)
{
    return NULL;
}

bool dt_native_init(char *err, size_t errlen)
{
    snprintf(err, errlen, "native: the native oracle needs an x86-64 host");
    return false;
}
void dt_native_run(const struct dt_case *k, struct dt_result *r)
{
    memset(r, 0, sizeof *r);
}
void dt_native_fini(void) {}

#endif
