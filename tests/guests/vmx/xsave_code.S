/* Guest code for vmx_xsave: each snippet gx_NAME runs in VMX non-root
 * operation (called by vmx_guest_entry, RDI = argument) and executes the
 * instruction under test at gx_NAME_insn. */
#define SNIPPET(name) \
    .globl gx_##name, gx_##name##_insn, gx_##name##_next; \
    gx_##name:
#define INSN(name) gx_##name##_insn:
#define NEXT(name) gx_##name##_next:

    .text
    .code64

/* XSETBV with XCR0 = RDI (ECX = 0) */
SNIPPET(xsetbv)
    xorl %ecx, %ecx
    movl %edi, %eax
    xorl %edx, %edx
INSN(xsetbv)
    xsetbv
NEXT(xsetbv)
    ret

/* XSETBV of XCR1, which outside VMX non-root operation is #GP(0) */
SNIPPET(xsetbv_xcr1)
    movl $1, %ecx
    movl $3, %eax
    xorl %edx, %edx
INSN(xsetbv_xcr1)
    xsetbv
NEXT(xsetbv_xcr1)
    ret

/* XSAVES64 / XRSTORS64 of x87 and SSE state at RDI + 0x40 */
SNIPPET(xsaves)
    movl $3, %eax
    xorl %edx, %edx
INSN(xsaves)
    xsaves64 0x40(%rdi)
NEXT(xsaves)
    ret

SNIPPET(xrstors)
    movl $3, %eax
    xorl %edx, %edx
INSN(xrstors)
    xrstors64 0x40(%rdi)
NEXT(xrstors)
    ret

/* XGETBV: no exit */
SNIPPET(xgetbv)
    xorl %ecx, %ecx
INSN(xgetbv)
    xgetbv
NEXT(xgetbv)
    movq %rax, %rdi
    ret
