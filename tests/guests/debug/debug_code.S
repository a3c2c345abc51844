/* Guest test debug: the instructions under test, each with a global label
 * on the instruction a #DB must report (the one that faults, or the one
 * after a trap), so the C side compares the saved RIP exactly. */
    .text
    .code64

/* Three movs in one straight-line block; an instruction breakpoint on the
 * third must stop the block before it (RAX = 2 at the #DB). */
    .globl insn_block, insn_block_third, insn_block_end
insn_block:
    movl $1, %eax
    movl $2, %eax
insn_block_third:
    movl $3, %eax
insn_block_end:
    ret

/* store_N(addr, value): one store of N bytes; *_next follows it. */
    .globl store_1, store_1_next, store_2, store_2_next
    .globl store_4, store_4_next, store_8, store_8_next
store_1:
    movb %sil, (%rdi)
store_1_next:
    ret
store_2:
    movw %si, (%rdi)
store_2_next:
    ret
store_4:
    movl %esi, (%rdi)
store_4_next:
    ret
store_8:
    movq %rsi, (%rdi)
store_8_next:
    ret

/* load_N(addr): one load of N bytes into RAX. */
    .globl load_4, load_4_next
load_4:
    movl (%rdi), %eax
load_4_next:
    ret

/* rep_stosb(addr, count): REP STOSB of count bytes of 0x5a. */
    .globl rep_stosb, rep_stosb_insn, rep_stosb_next
rep_stosb:
    movq %rsi, %rcx
    movb $0x5a, %al
rep_stosb_insn:
    rep stosb
rep_stosb_next:
    ret

/* out_port(port): OUT DX, AL. */
    .globl out_port, out_port_next
out_port:
    movl %edi, %edx
    xorl %eax, %eax
out_port_insn:
    outb %al, %dx
out_port_next:
    ret

/* read_dr0_gd(): MOV from DR0 with DR7.GD = 1 faults here. */
    .globl read_dr0_gd, read_dr0_gd_insn
read_dr0_gd:
read_dr0_gd_insn:
    movq %dr0, %rax
    ret

/* Single-step: POPF sets TF (no trap after it); the two NOPs trap at
 * step_2 and step_3, and the POPF that clears TF traps at step_4 (TF was
 * set when it began). SDM 3B "Single-Step Exception Condition". */
    .globl step_three, step_1, step_2, step_3, step_4
step_three:
    pushfq
    popq %rax
    movq %rax, %rdx
    orq $0x100, %rax
    pushq %rdx
    pushq %rax
    popfq
step_1:
    nop
step_2:
    nop
step_3:
    popfq
step_4:
    ret

/* MOV SS with TF: the trap after MOV SS is held until the next instruction
 * completes (SDM 3A "Masking Exceptions and Interrupts When Switching
 * Stacks"): traps at movss_1 (after the MOV from SS), then movss_3 (after
 * MOV SS and the NOP), then movss_4 (after the POPF). */
    .globl step_movss, movss_1, movss_2, movss_3, movss_4
step_movss:
    pushfq
    popq %rax
    movq %rax, %rdx
    orq $0x100, %rax
    pushq %rdx
    pushq %rax
    popfq
    movw %ss, %cx
movss_1:
    movw %cx, %ss
movss_2:
    nop
movss_3:
    popfq
movss_4:
    ret

/* mov_ss_from(addr): MOV SS from memory, then a NOP; a data breakpoint on
 * addr traps after the NOP (movss_mem_after), not after MOV SS. */
    .globl mov_ss_from, movss_mem_nop, movss_mem_after
mov_ss_from:
    movw (%rdi), %ss
movss_mem_nop:
    nop
movss_mem_after:
    ret

/* lbr_seq(): IA32_DEBUGCTL.LBR on, a JMP, a CALL and its RET, LBR off:
 * three records (lbr_jmp -> lbr_jmp_to, lbr_call -> lbr_fn, lbr_fn ->
 * lbr_after_call). */
    .globl lbr_seq, lbr_jmp, lbr_jmp_to, lbr_call, lbr_fn, lbr_after_call
lbr_seq:
    movl $0x1d9, %ecx
    movl $1, %eax
    xorl %edx, %edx
    wrmsr
lbr_jmp:
    jmp lbr_jmp_to
    nop
lbr_jmp_to:
lbr_call:
    call lbr_fn
lbr_after_call:
    xorl %eax, %eax
    wrmsr
    ret
lbr_fn:
    ret

/* lbr_exc(): LBR on, a JMP to a UD2: the #UD's last exception record is
 * the JMP (lbr_exc_jmp -> lbr_exc_ud). */
    .globl lbr_exc, lbr_exc_jmp, lbr_exc_ud
lbr_exc:
    movl $0x1d9, %ecx
    movl $1, %eax
    xorl %edx, %edx
    wrmsr
lbr_exc_jmp:
    jmp lbr_exc_ud
    nop
lbr_exc_ud:
    ud2

    .section .note.GNU-stack, "", @progbits
