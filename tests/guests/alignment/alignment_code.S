/* Guest test alignment: user-mode (CPL 3) code that turns RFLAGS.AC on and
 * makes one data reference; the label *_rip is the instruction that must
 * raise #AC(0) when the reference is unaligned. Each ends with INT 0x80
 * back to CPL 0. RDI is the address (or stack pointer) to use. */
#include "asm.h"

.macro AC_ON
    pushfq
    orq $FL_AC, (%rsp)
    popfq
.endm

    .section .user.text, "ax"

    .globl u_load4, u_load4_rip
u_load4:
    AC_ON
u_load4_rip:
    movl (%rdi), %eax
    int $0x80

    .globl u_load4_ac_off
u_load4_ac_off:
    movl (%rdi), %eax
    int $0x80

    .globl u_store8, u_store8_rip
u_store8:
    AC_ON
u_store8_rip:
    movq %rax, (%rdi)
    int $0x80

    .globl u_store2, u_store2_rip
u_store2:
    AC_ON
u_store2_rip:
    movw %ax, (%rdi)
    int $0x80

    .globl u_byte
u_byte:
    AC_ON
    movb (%rdi), %al
    incb (%rdi)
    int $0x80

/* PUSH and POP on a stack pointer taken from RDI */
    .globl u_push, u_push_rip
u_push:
    AC_ON
    movq %rsp, %rsi
    movq %rdi, %rsp
u_push_rip:
    pushq %rax
    movq %rsi, %rsp
    int $0x80

    .globl u_pop, u_pop_rip
u_pop:
    AC_ON
    movq %rsp, %rsi
    movq %rdi, %rsp
u_pop_rip:
    popq %rax
    movq %rsi, %rsp
    int $0x80

/* MOVSD from RDI to RDI + 64 */
    .globl u_movsd, u_movsd_rip
u_movsd:
    AC_ON
    movq %rdi, %rsi
    leaq 64(%rdi), %rdi
u_movsd_rip:
    movsl
    int $0x80

/* LFS from an m16:32 far pointer at RDI */
    .globl u_lfs, u_lfs_rip
u_lfs:
    AC_ON
u_lfs_rip:
    lfsl (%rdi), %eax
    int $0x80

/* Load DS from the GDT (an implicit supervisor access), then touch an
 * aligned word. */
    .globl u_load_ds
u_load_ds:
    AC_ON
    movw $(GDT_UDATA | 3), %ax
    movw %ax, %ds
    int $0x80

    .section .note.GNU-stack, "", @progbits
