/* Guest runtime: one interrupt stub per vector, the common entry that builds
 * a struct exc_frame for exc_dispatch(), exc_setjmp/exc_longjmp, and the
 * IRETQ into ring 3 used by exc_run_user(). */
#include "asm.h"

    .text
    .code64

/* Vectors for which the processor pushes an error code
 * (SDM 3A "Exception and Interrupt Reference"): #DF #TS #NP #SS #GP #PF #AC
 * #CP #VC #SX. The other stubs push 0 so that every frame has one layout. */
    .balign 16
    .globl isr_stubs
isr_stubs:
    .set vec, 0
    .rept 256
    .balign 16
    .if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
    .else
    pushq $0
    .endif
    pushq $vec
    jmp isr_common
    .set vec, vec + 1
    .endr

isr_common:
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    cld
    movq %rsp, %rdi
    movq %rsp, %rbx
    andq $-16, %rsp
    call exc_dispatch
    movq %rbx, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    addq $16, %rsp
    iretq

/* int exc_setjmp(struct exc_jmp *j): rbx rbp r12-r15 rsp rip rflags */
    .globl exc_setjmp
exc_setjmp:
    movq %rbx, 0(%rdi)
    movq %rbp, 8(%rdi)
    movq %r12, 16(%rdi)
    movq %r13, 24(%rdi)
    movq %r14, 32(%rdi)
    movq %r15, 40(%rdi)
    leaq 8(%rsp), %rax
    movq %rax, 48(%rdi)
    movq (%rsp), %rax
    movq %rax, 56(%rdi)
    pushfq
    popq %rax
    movq %rax, 64(%rdi)
    xorl %eax, %eax
    ret

/* void exc_longjmp(struct exc_jmp *j, int v): may be called from an
 * exception handler, possibly after an exit from ring 3 (SS = 0), so the
 * data segments are reloaded. */
    .globl exc_longjmp
exc_longjmp:
    movw $GDT_KDATA, %ax
    movw %ax, %ss
    movw %ax, %ds
    movw %ax, %es
    movq 0(%rdi), %rbx
    movq 8(%rdi), %rbp
    movq 16(%rdi), %r12
    movq 24(%rdi), %r13
    movq 32(%rdi), %r14
    movq 40(%rdi), %r15
    movq 48(%rdi), %rsp
    pushq 64(%rdi)
    popfq
    movl %esi, %eax
    jmp *56(%rdi)

/* void user_enter(void (*fn)(uint64_t), uint64_t arg, uint64_t rsp):
 * IRETQ to CPL 3 (SDM 2A "IRET/IRETD/IRETQ", return to outer privilege
 * level); fn receives arg in RDI. AC, DF and TF are cleared. */
    .globl user_enter
user_enter:
    pushq $(GDT_UDATA | 3)
    pushq %rdx
    pushfq
    andq $~(FL_AC | FL_DF | FL_TF), (%rsp)
    pushq $(GDT_UCODE | 3)
    pushq %rdi
    movq %rsi, %rdi
    iretq
