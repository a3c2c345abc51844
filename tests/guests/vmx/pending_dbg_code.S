/* 64-bit guest code for vmx_pending_dbg.c: MOV SS from memory (a data
 * breakpoint may watch it), then RDTSC, which the VMCS may make exit. */
    .text
    .code64
    .globl gx_movss_rdtsc, gx_movss_rdtsc_insn, gx_movss_rdtsc_next, gx_ss_sel
gx_movss_rdtsc:
    movw gx_ss_sel(%rip), %ss
gx_movss_rdtsc_insn:
    rdtsc
gx_movss_rdtsc_next:
    nop
    hlt
    .data
    .balign 8
gx_ss_sel:
    .word 0x10
