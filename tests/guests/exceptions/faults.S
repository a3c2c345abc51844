/* Guest test exceptions: the faulting operations, each with a global label
 * on the instruction that faults (or follows a trap), so the C side can
 * compare the saved RIP exactly. fault_rsp records RSP at the fault. */
#include "asm.h"

    .text
    .code64

.macro SAVE_RSP
    movq %rsp, fault_rsp(%rip)
.endm

    .globl fault_de, fault_de_rip
fault_de:
    SAVE_RSP
    movl $1, %eax
    xorl %edx, %edx
    xorl %ecx, %ecx
fault_de_rip:
    divl %ecx
    ret

    .globl fault_ud, fault_ud_rip
fault_ud:
    SAVE_RSP
fault_ud_rip:
    ud2
    ret

    .globl fault_gp_noncanonical, fault_gp_noncanonical_rip
fault_gp_noncanonical:
    SAVE_RSP
    movabsq $0x8000000000000000, %rax
fault_gp_noncanonical_rip:
    movq (%rax), %rax
    ret

/* rdi = selector to load into DS */
    .globl fault_gp_selector, fault_gp_selector_rip
fault_gp_selector:
    SAVE_RSP
fault_gp_selector_rip:
    movw %di, %ds
    movw $GDT_KDATA, %ax
    movw %ax, %ds
    ret

/* rdi = address */
    .globl fault_read, fault_read_rip
fault_read:
    SAVE_RSP
fault_read_rip:
    movq (%rdi), %rax
    ret

    .globl fault_write, fault_write_rip
fault_write:
    SAVE_RSP
fault_write_rip:
    movq $0x1234, (%rdi)
    ret

    .globl fault_int3, fault_int3_rip, fault_int3_next
fault_int3:
    SAVE_RSP
fault_int3_rip:
    int3
fault_int3_next:
    ret

/* SYSCALL target (IA32_LSTAR): still on the user stack at CPL 0
 * (SDM 2B "SYSCALL"). Records what SYSCALL set, then SYSRETQ. */
    .globl syscall_entry
syscall_entry:
    movq %rcx, sc_rcx(%rip)
    movq %r11, sc_r11(%rip)
    movq %rsp, sc_rsp(%rip)
    pushfq
    popq sc_rflags(%rip)
    xorl %eax, %eax
    movw %cs, %ax
    movq %rax, sc_cs(%rip)
    movw %ss, %ax
    movq %rax, sc_ss(%rip)
    sysretq

/* ---- ring 3 code (user pages); each piece ends with INT 0x80 ---- */
    .section .user.text, "ax"

/* rax = CS, rbx = SS as seen at CPL 3 */
    .globl user_int80, user_int80_next
user_int80:
    xorl %eax, %eax
    movw %cs, %ax
    xorl %ebx, %ebx
    movw %ss, %bx
    int $0x80
user_int80_next:

    .globl user_read, user_read_rip
user_read:
user_read_rip:
    movq (%rdi), %rax
    int $0x80

    .globl user_write, user_write_rip
user_write:
user_write_rip:
    movq $0x5678, (%rdi)
    int $0x80

/* INT to a DPL-0 gate from CPL 3 */
    .globl user_int81, user_int81_rip
user_int81:
user_int81_rip:
    int $0x81
    int $0x80

/* SYSCALL with DF=1, then report after SYSRET: rbx = CS, rsi = SS,
 * rdx = RFLAGS, rdi = RSP. */
    .globl user_syscall, user_syscall_insn, user_syscall_ret
user_syscall:
    std
user_syscall_insn:
    syscall
user_syscall_ret:
    pushfq
    popq %rdx
    cld
    xorl %eax, %eax
    movw %cs, %ax
    movq %rax, %rbx
    movw %ss, %ax
    movq %rax, %rsi
    movq %rsp, %rdi
    int $0x80

    .section .note.GNU-stack, "", @progbits
