/* Guest runtime: the VM-entry/VM-exit path of vmx.c. vmx_run_asm enters
 * the guest with its GPRs from struct vmx_regs; vmx_exit_stub (the host
 * RIP) saves them, calls vmx_exit_dispatch and resumes or returns. Also
 * the guest-side entry and IDT stubs. (SDM 3C "VMLAUNCH/VMRESUME", "Loading
 * Host State": RSP = host RSP, RFLAGS = 2, everything else is ours.) */

#define R_RAX 0
#define R_RBX 8
#define R_RCX 16
#define R_RDX 24
#define R_RSI 32
#define R_RDI 40
#define R_RBP 48
#define R_R8 56
#define R_R9 64
#define R_R10 72
#define R_R11 80
#define R_R12 88
#define R_R13 96
#define R_R14 104
#define R_R15 112
#define R_LAUNCHED 120
#define VMCS_HOST_RSP 0x6c14
#define GUEST_DONE 0x454e4f44
#define GUEST_VECTOR 0x54434556

    .text
    .code64

/* uint64_t vmx_run_asm(struct vmx_regs *regs): 0 when the exit handler
 * returned false, else RFLAGS after the failed VMLAUNCH/VMRESUME. Host RSP
 * points at [regs][r15 r14 r13 r12 rbx rbp][return address]. */
    .globl vmx_run_asm
vmx_run_asm:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    pushq %rdi
    movl $VMCS_HOST_RSP, %eax
    vmwrite %rsp, %rax
    jbe vmx_failed
vmx_enter:
    movq R_RAX(%rdi), %rax
    movq R_RBX(%rdi), %rbx
    movq R_RCX(%rdi), %rcx
    movq R_RDX(%rdi), %rdx
    movq R_RSI(%rdi), %rsi
    movq R_RBP(%rdi), %rbp
    movq R_R8(%rdi), %r8
    movq R_R9(%rdi), %r9
    movq R_R10(%rdi), %r10
    movq R_R11(%rdi), %r11
    movq R_R12(%rdi), %r12
    movq R_R13(%rdi), %r13
    movq R_R14(%rdi), %r14
    movq R_R15(%rdi), %r15
    cmpq $0, R_LAUNCHED(%rdi)
    movq R_RDI(%rdi), %rdi
    jne 1f
    vmlaunch
    jmp vmx_failed
1:  vmresume
vmx_failed:
    pushfq
    popq %rax
    popq %rdi
    jmp vmx_return

    .globl vmx_exit_stub
vmx_exit_stub:
    pushq %rdi
    movq 8(%rsp), %rdi
    movq %rax, R_RAX(%rdi)
    movq %rbx, R_RBX(%rdi)
    movq %rcx, R_RCX(%rdi)
    movq %rdx, R_RDX(%rdi)
    movq %rsi, R_RSI(%rdi)
    movq %rbp, R_RBP(%rdi)
    movq %r8, R_R8(%rdi)
    movq %r9, R_R9(%rdi)
    movq %r10, R_R10(%rdi)
    movq %r11, R_R11(%rdi)
    movq %r12, R_R12(%rdi)
    movq %r13, R_R13(%rdi)
    movq %r14, R_R14(%rdi)
    movq %r15, R_R15(%rdi)
    popq %rax
    movq %rax, R_RDI(%rdi)
    cld
    call vmx_exit_dispatch
    movq (%rsp), %rdi
    testb %al, %al
    jnz vmx_enter
    xorl %eax, %eax
    popq %rdi
vmx_return:
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret

/* Guest side: run fn(arg) (RSI, RDI), then report completion. */
    .globl vmx_guest_entry
vmx_guest_entry:
    call *%rsi
1:  movl $GUEST_DONE, %eax
    vmcall
    jmp 1b

/* One 32-byte stub per vector for the guest IDT: RBX = vector, RCX = the
 * pushed RIP, RDX = the error code for vectors that have one (SDM 3A
 * "Exception and Interrupt Reference"), then VMCALL. */
    .balign 32
    .globl vmx_guest_isr_stubs
vmx_guest_isr_stubs:
    .set vec, 0
    .rept 256
    .balign 32
    .if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
    popq %rdx
    .else
    xorl %edx, %edx
    .endif
    popq %rcx
    movl $vec, %ebx
    movl $GUEST_VECTOR, %eax
    vmcall
    jmp .
    .set vec, vec + 1
    .endr
