/* Guest test debug_tf: SYSCALL/SYSRET, IRET and STI under RFLAGS.TF, and
 * REP STOSB interrupted by a data breakpoint. Labels mark the RIP a #DB
 * must report. */
    .text
    .code64

/* The SYSCALL target: R11 = (R11 | tf_r11_or) & tf_r11_and, then SYSRET.
 * It runs on the caller's stack and touches no memory but these two. */
    .globl tf_lstar, tf_lstar_and, tf_lstar_sysret
tf_lstar:
    orq tf_r11_or(%rip), %r11
tf_lstar_and:
    andq tf_r11_and(%rip), %r11
tf_lstar_sysret:
    sysretq

/* IRETQ at CPL 0 to iret_t1 with TF = 1 in the popped RFLAGS: the first
 * trap follows the instruction at iret_t1 (SDM 3B "Single-Step Exception
 * Condition": not after the instruction that sets TF). */
    .globl iret_sets_tf, iret_t1, iret_t2
iret_sets_tf:
    movq %rsp, %rax
    pushq $0x10
    pushq %rax
    pushfq
    orq $0x100, (%rsp)
    pushq $0x08
    leaq iret_t1(%rip), %rax
    pushq %rax
    iretq
iret_t1:
    nop
iret_t2:
    nop
    ret

/* IRETQ executed with TF = 1 (set by the POPF just before it) to a frame
 * with TF = 0: the trap follows the IRETQ, at iret_c1. */
    .globl iret_clears_tf, iret_c1
iret_clears_tf:
    movq %rsp, %rax
    pushq $0x10
    pushq %rax
    pushfq
    andq $~0x100, (%rsp)
    pushq $0x08
    leaq iret_c1(%rip), %rax
    pushq %rax
    pushfq
    orq $0x100, (%rsp)
    popfq
    iretq
iret_c1:
    nop
    ret

/* STI with TF = 1: STI blocks interrupts, not the single-step trap, which
 * follows it at sti_1. */
    .globl sti_step, sti_1
sti_step:
    pushfq
    popq %rdx
    pushfq
    orq $0x100, (%rsp)
    popfq
    sti
sti_1:
    nop
    pushq %rdx
    popfq
    ret

/* rep_stosb_rf(addr, count) */
    .globl rep_stosb_rf, rep_stosb_rf_insn, rep_stosb_rf_next
rep_stosb_rf:
    movq %rsi, %rcx
    movb $0x5a, %al
rep_stosb_rf_insn:
    rep stosb
rep_stosb_rf_next:
    ret

    .section .user.text, "ax"
/* SYSCALL from CPL 3; u_after_syscall is where SYSRET returns. */
    .globl u_syscall, u_after_syscall, u_after_syscall_2
u_syscall:
    syscall
u_after_syscall:
    nop
u_after_syscall_2:
    int $0x80

/* POPF sets TF, then SYSCALL (the trap would follow SYSCALL). */
    .globl u_tf_syscall, u_tf_syscall_insn, u_tf_after_syscall
u_tf_syscall:
    pushfq
    orq $0x100, (%rsp)
    popfq
u_tf_syscall_insn:
    syscall
u_tf_after_syscall:
    nop
    pushfq
    andq $~0x100, (%rsp)
    popfq
    int $0x80

    .data
    .globl tf_r11_or, tf_r11_and
tf_r11_or:
    .quad 0
tf_r11_and:
    .quad -1
