/* Guest code for the EPT tests. Each snippet gx_NAME is called by
 * vmx_guest_entry with RDI = a guest-linear address; gx_NAME_insn is the
 * access under test. Results are left in RDX, which vmx_guest_entry's
 * VMCALL passes to the host unchanged. */

#define SNIPPET(name) \
    .globl gx_##name, gx_##name##_insn; \
    gx_##name:
#define INSN(name) gx_##name##_insn:

#define WRITE_VALUE 0x5eed5eed12345678

    .text
    .code64

/* RDX = the quadword at RDI */
SNIPPET(ept_read)
INSN(ept_read)
    movq (%rdi), %rdx
    ret

/* [RDI] = WRITE_VALUE */
SNIPPET(ept_write)
    movabsq $WRITE_VALUE, %rdx
INSN(ept_write)
    movq %rdx, (%rdi)
    ret

/* Call the code at RDI (ept.c puts "mov $0x600d, %edx; ret" there) */
SNIPPET(ept_fetch)
INSN(ept_fetch)
    call *%rdi
    ret

/* Read RDI, then write RDI + 8 (A and D flags of one run) */
SNIPPET(ept_read_write)
    movq (%rdi), %rdx
    movq %rdx, 8(%rdi)
    ret

/* IRETQ with RSP = RDI, where the host wrote a frame returning to
 * gx_ept_iret_next at CPL 0; RBX keeps the real RSP. */
SNIPPET(ept_iret)
    pushq %rbx
    movq %rsp, %rbx
    movq %rdi, %rsp
INSN(ept_iret)
    iretq
    .globl gx_ept_iret_next
gx_ept_iret_next:
    movq %rbx, %rsp
    popq %rbx
    movl $0x1e7, %edx
    ret
