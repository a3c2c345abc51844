/* Guest test ssefp: one SSE floating-point instruction per function, at a
 * label (*_rip) the test expects the exception at. The operands come from
 * fp_in (16-byte aligned: 1.0, 0.0, 1.0, 1.0 as singles) and the results
 * go to fp_out: XMM0 (16 bytes) and MXCSR, stored by a second function
 * after the exception or after the instruction. */
    .text

    .globl fp_load, fp_store
/* fp_load(mxcsr): MXCSR <- mxcsr; XMM0 <- fp_in; XMM1 <- fp_in[4..] */
fp_load:
    movl %edi, fp_tmp(%rip)
    ldmxcsr fp_tmp(%rip)
    movaps fp_in(%rip), %xmm0
    movss fp_in+4(%rip), %xmm1
    ret
/* fp_store(): fp_out <- XMM0, MXCSR */
fp_store:
    movups %xmm0, fp_out(%rip)
    stmxcsr fp_out+16(%rip)
    ret

    .globl fp_divss, fp_divss_rip
fp_divss:
fp_divss_rip:
    divss %xmm1, %xmm0
    ret

    .globl fp_addps_misaligned, fp_addps_misaligned_rip
fp_addps_misaligned:
fp_addps_misaligned_rip:
    addps fp_in+4(%rip), %xmm0
    ret

    .globl fp_addps, fp_addps_rip
fp_addps:
fp_addps_rip:
    addps fp_in(%rip), %xmm0
    ret

    .data
    .balign 16
    .globl fp_in, fp_out
fp_in:
    .long 0x3f800000, 0x00000000, 0x3f800000, 0x3f800000, 0, 0, 0, 0
fp_out:
    .long 0, 0, 0, 0, 0, 0, 0, 0
fp_tmp:
    .long 0
