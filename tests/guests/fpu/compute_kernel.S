/* The native comparison's compute kernels (docs/fpu.md "Native
 * comparison"): the same machine code is assembled into the freestanding
 * guest (tests/guests/fpu/native_guest.c, run by nvmx) and into a host
 * program (native_host.c, run natively); each kernel fills a 4 KiB buffer
 * and both sides print it, and the test compares the dumps.
 * System V calling convention: void kernel(uint8_t out[4096]) (RDI).
 *   compute_kernel_sse2_int: SSE2 data movement and integer SIMD.
 *   compute_kernel_sse_fp:   SSE/SSE2 floating point (MXCSR 1F80H, the
 *                            final MXCSR stored too).
 *   compute_kernel_x87:      x87 arithmetic after FNINIT (FSW stored too).
 * Position-independent: the constants sit in .text with the code, so the
 * bytes from compute_kernels_start to compute_kernels_end run anywhere
 * (native.compute_inproc copies them into nvmx's RAM). Only XMM0-15, RCX,
 * R8 and the x87 stack, which the ABI lets a callee use. */

    .text
    .code64
    .globl compute_kernels_start, compute_kernels_end
    .balign 64
compute_kernels_start:
seeds:
    .quad 0x9e3779b97f4a7c15, 0xbf58476d1ce4e5b9
    .quad 0x94d049bb133111eb, 0x2545f4914f6cdd1d
    .quad 0x0123456789abcdef, 0xfedcba9876543210
    .quad 0x8000000180000001, 0x7fff00007fff0001
fp_seeds:
    .float 1.5, -2.25, 3.0e-3, 1.0e7
    .double 0.1, -7.5
fp_step:
    .float 0.75, 1.25, -0.5, 1.0e-3
mxcsr_default:
    .long 0x1f80
x87_k:
    .long 3
    .long 7
    .balign 16
abs_mask_pd:
    .quad 0x7fffffffffffffff, 0x7fffffffffffffff

    .globl compute_kernel_sse2_int
compute_kernel_sse2_int:
    movdqa  seeds(%rip), %xmm0
    movdqa  seeds+16(%rip), %xmm1
    movdqa  seeds+32(%rip), %xmm2
    movdqa  seeds+48(%rip), %xmm3
    pxor    %xmm6, %xmm6
    pcmpeqb %xmm7, %xmm7
    xorl    %ecx, %ecx
    movl    $256, %r8d
1:
    /* xorshift on four 32-bit lanes */
    movdqa  %xmm0, %xmm4
    pslld   $13, %xmm4
    pxor    %xmm4, %xmm0
    movdqa  %xmm0, %xmm4
    psrld   $17, %xmm4
    pxor    %xmm4, %xmm0
    movdqa  %xmm0, %xmm4
    pslld   $5, %xmm4
    pxor    %xmm4, %xmm0
    /* mix the other registers with widening multiplies, saturation,
     * averages, shuffles, packs and compares */
    paddd   %xmm1, %xmm0
    pshufd  $0x93, %xmm1, %xmm1
    paddq   %xmm0, %xmm1
    movdqa  %xmm0, %xmm5
    pmuludq %xmm1, %xmm5
    pmaddwd %xmm2, %xmm5
    paddw   %xmm5, %xmm2
    psubsw  %xmm0, %xmm2
    pmulhuw %xmm0, %xmm3
    pmullw  %xmm1, %xmm3
    pavgb   %xmm2, %xmm3
    paddusb %xmm0, %xmm3
    movdqa  %xmm3, %xmm8
    psadbw  %xmm1, %xmm8
    paddq   %xmm8, %xmm6
    movdqa  %xmm2, %xmm9
    packsswb %xmm3, %xmm9
    movdqa  %xmm0, %xmm10
    punpcklbw %xmm9, %xmm10
    punpckhwd %xmm1, %xmm9
    pcmpgtb %xmm3, %xmm10
    pand    %xmm10, %xmm7
    por     %xmm9, %xmm7
    pminub  %xmm0, %xmm9
    pmaxsw  %xmm2, %xmm9
    pshuflw $0x1b, %xmm9, %xmm9
    pshufhw $0xb1, %xmm9, %xmm9
    movdqa  %xmm9, %xmm11
    psrldq  $3, %xmm11
    pslldq  $5, %xmm9
    pxor    %xmm11, %xmm9
    psraw   $2, %xmm11
    psubb   %xmm11, %xmm9
    packuswb %xmm7, %xmm11
    punpckhqdq %xmm11, %xmm9
    pxor    %xmm7, %xmm9
    paddb   %xmm6, %xmm9
    movdqu  %xmm9, (%rdi,%rcx)
    addl    $16, %ecx
    decl    %r8d
    jnz     1b
    /* the last 16 bytes: the accumulated sums of absolute differences */
    movdqu  %xmm6, 4080(%rdi)
    ret

    .globl compute_kernel_sse_fp
compute_kernel_sse_fp:
    subq    $8, %rsp
    stmxcsr (%rsp)
    ldmxcsr mxcsr_default(%rip)
    /* Every register the loop reads, also in lanes it only merges into
     * (SQRTSD keeps XMM6's high lane, which ADDPD then adds), starts
     * defined: otherwise the caller's leftovers could set MXCSR flags. */
    xorps   %xmm6, %xmm6
    xorps   %xmm10, %xmm10
    movups  fp_seeds(%rip), %xmm0
    movups  fp_step(%rip), %xmm1
    movsd   fp_seeds+16(%rip), %xmm2
    movsd   fp_seeds+24(%rip), %xmm3
    xorl    %ecx, %ecx
    movl    $255, %r8d
1:
    mulps   %xmm1, %xmm0
    addps   %xmm1, %xmm0
    movaps  %xmm0, %xmm4
    divps   %xmm1, %xmm4
    sqrtps  %xmm4, %xmm5
    minps   %xmm4, %xmm5
    maxps   %xmm0, %xmm5
    subps   %xmm5, %xmm0
    cvtsi2ssl %r8d, %xmm10
    shufps  $0, %xmm10, %xmm10
    mulps   %xmm1, %xmm10
    addps   %xmm10, %xmm0
    mulsd   %xmm3, %xmm2
    addsd   %xmm2, %xmm3
    andpd   abs_mask_pd(%rip), %xmm3
    sqrtsd  %xmm3, %xmm6
    divsd   %xmm6, %xmm2
    cvtps2pd %xmm0, %xmm7
    addpd   %xmm7, %xmm6
    cvttps2dq %xmm5, %xmm8
    cvtdq2ps %xmm8, %xmm9
    addps   %xmm9, %xmm0
    shufps  $0x39, %xmm0, %xmm0
    shufps  $0x4e, %xmm1, %xmm1
    movups  %xmm0, (%rdi,%rcx)
    addl    $16, %ecx
    decl    %r8d
    jnz     1b
    movsd   %xmm2, 4080(%rdi)
    stmxcsr 4088(%rdi)
    movl    $0, 4092(%rdi)
    ldmxcsr (%rsp)
    addq    $8, %rsp
    ret

    .globl compute_kernel_x87
compute_kernel_x87:
    fninit
    fld1
    fildl   x87_k(%rip)
    xorl    %ecx, %ecx
    movl    $254, %r8d
1:
    /* st0 = k, st1 = x: r = sqrt|x * k + 1/k| against (log2 e - k),
     * stored as 80 bits with FSW; x = r, k += r, x += 7 */
    fld     %st(1)
    fmul    %st(1), %st
    fld1
    fdiv    %st(2), %st
    faddp   %st, %st(1)
    fabs
    fsqrt
    fld1
    fchs
    fmul    %st(0), %st
    fstp    %st(0)
    fldl2e
    fsub    %st(2), %st
    fdivrp  %st, %st(1)
    fstpt   (%rdi,%rcx)
    fldt    (%rdi,%rcx)
    fadd    %st, %st(1)
    fstp    %st(2)
    fxch    %st(1)
    fiaddl  x87_k+4(%rip)
    fxch    %st(1)
    movw    $0, 10(%rdi,%rcx)
    fnstsw  12(%rdi,%rcx)
    movw    $0, 14(%rdi,%rcx)
    addl    $16, %ecx
    decl    %r8d
    jnz     1b
    fstpt   4064(%rdi)
    movl    $0, 4074(%rdi)
    movw    $0, 4078(%rdi)
    fstpt   4080(%rdi)
    fnstsw  4090(%rdi)
    movl    $0, 4092(%rdi)
    ret
compute_kernels_end:

    .section .note.GNU-stack, "", @progbits
