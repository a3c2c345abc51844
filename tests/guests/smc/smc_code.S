/* Guest test smc: code that rewrites an instruction later in its own
 * straight-line block before reaching it. */
    .text
    .code64

/* returns 7: the MOV below is patched from $1 to $7 before it executes */
    .globl smc_same_block, smc_same_block_imm
smc_same_block:
    movb $0x07, smc_same_block_imm(%rip)
    nop
    movl $0x01, %eax
    .set smc_same_block_imm, . - 4
    ret

    .section .note.GNU-stack, "", @progbits
