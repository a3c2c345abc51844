/* Guest test x87: the x87 sequences, each a function of one argument
 * (%rdi: a scratch buffer) called through exc_run; *_rip labels the
 * instruction whose address a check expects (a fault's RIP, FIP). */
    .text

    /* fld1 (the #NM checks), then empty the stack again */
    .globl x87_fld1, x87_fld1_rip
x87_fld1:
x87_fld1_rip:
    fld1
    fstp %st(0)
    ret

    .globl x87_wait, x87_wait_rip
x87_wait:
x87_wait_rip:
    fwait
    ret

    /* 1/0 with ZE unmasked (FCW at 0(%rdi)): FSW to 2(%rdi), then FWAIT:
     * #MF there when CR0.NE = 1 */
    .globl x87_unmasked_ze, x87_fdiv_rip, x87_fwait_rip
x87_unmasked_ze:
    fninit
    fldcw (%rdi)
    fldz
    fld1
x87_fdiv_rip:
    fdiv %st(1), %st
    fnstsw 2(%rdi)
x87_fwait_rip:
    fwait
    ret

    /* masked responses: 1/0 -> +inf (FSW 2(%rdi), value 16(%rdi));
     * sqrt(-1) -> indefinite (FSW 4, value 32); a ninth push -> indefinite
     * with IE, SF, C1 (FSW 6, value 48) */
    .globl x87_masked
x87_masked:
    fninit
    fldz
    fld1
    fdivp %st, %st(1)
    fnstsw 2(%rdi)
    fstpt 16(%rdi)
    fninit
    fld1
    fchs
    fsqrt
    fnstsw 4(%rdi)
    fstpt 32(%rdi)
    fninit
    fld1
    fld1
    fld1
    fld1
    fld1
    fld1
    fld1
    fld1
    fld1
    fnstsw 6(%rdi)
    fstpt 48(%rdi)
    fninit
    ret

    /* fld1; fadd m64 at 8(%rdi); fnsave at 64(%rdi) (the 108-byte image) */
    .globl x87_fsave, x87_fadd_rip
x87_fsave:
    fninit
    fld1
x87_fadd_rip:
    faddl 8(%rdi)
    fnsave 64(%rdi)
    ret

    /* fld1; fldpi; fnstenv with a 16-bit operand size at 16(%rdi), then
     * the 28-byte image at 32(%rdi); fninit */
    .globl x87_fstenv16, x87_fldpi_rip
x87_fstenv16:
    fninit
    fld1
x87_fldpi_rip:
    fldpi
    .byte 0x66, 0xd9, 0x77, 0x10 /* fnstenv 16(%rdi), operand size 16 */
    fnstenv 32(%rdi)
    fninit
    ret

    /* FNSAVE at 64(%rdi): non-waiting, so it works with an exception
     * pending, and it initialises the FPU */
    .globl x87_fnsave
x87_fnsave:
    fnsave 64(%rdi)
    ret

    .globl x87_fninit
x87_fninit:
    fninit
    ret

    .section .note.GNU-stack, "", @progbits
