/* Guest test fpu_state: CPL-3 code for the privilege rules of the XSAVE
 * feature set (SDM 2C "XSETBV", "XSAVES": #GP(0) at CPL > 0; "XGETBV",
 * "XSAVE": any CPL). RDI is the argument; each ends with INT 0x80 back to
 * CPL 0 (XGETBV's value stays in RAX for the frame). */
#include "asm.h"

    .section .user.text, "ax"

    .globl u_xsetbv, u_xsetbv_rip
u_xsetbv:
    xorl %ecx, %ecx
    movl %edi, %eax
    xorl %edx, %edx
u_xsetbv_rip:
    xsetbv
    int $0x80

    .globl u_xgetbv
u_xgetbv:
    xorl %ecx, %ecx
    xgetbv
    int $0x80

    .globl u_xsaves, u_xsaves_rip
u_xsaves:
    movl $3, %eax
    xorl %edx, %edx
u_xsaves_rip:
    xsaves64 (%rdi)
    int $0x80

    .globl u_xsave
u_xsave:
    movl $3, %eax
    xorl %edx, %edx
    xsave64 (%rdi)
    int $0x80
