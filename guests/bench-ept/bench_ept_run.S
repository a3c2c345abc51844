/* uint64_t bench_ept_run(const void *code, void *buf): run one of bench/
 * loops.c's loops (its UD2 replaced by RET) with every GPR 0 except RSI =
 * buf and RSP; returns RAX, stores RBX in bench_ept_rbx. */
    .text
    .code64
    .globl bench_ept_run
bench_ept_run:
    pushq %rbx
    pushq %rbp
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rdi, %r11
    xorl %eax, %eax
    xorl %ebx, %ebx
    xorl %ecx, %ecx
    xorl %edx, %edx
    xorl %edi, %edi
    xorl %ebp, %ebp
    xorl %r8d, %r8d
    xorl %r9d, %r9d
    xorl %r10d, %r10d
    xorl %r12d, %r12d
    xorl %r13d, %r13d
    xorl %r14d, %r14d
    xorl %r15d, %r15d
    call *%r11
    movq %rbx, bench_ept_rbx(%rip)
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
    ret
