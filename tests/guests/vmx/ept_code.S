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

/* Read RDI into RDX, VMCALL with RAX = "VPID", again and again: the host
 * resumes after each VMCALL and watches which page RDI translates to. */
SNIPPET(vpid_loop)
1:
INSN(vpid_loop)
    movq (%rdi), %rdx
    movl $0x56504944, %eax
    vmcall
    jmp 1b

/* INVEPT and INVVPID in VMX non-root operation: descriptor at RDI, type in
 * RCX (both exit unconditionally). */
SNIPPET(invept_nonroot)
    movl $1, %ecx
INSN(invept_nonroot)
    invept (%rdi), %rcx
    ret

SNIPPET(invvpid_nonroot)
    movl $1, %ecx
INSN(invvpid_nonroot)
    invvpid 8(%rdi), %rcx
    ret

/* Real-mode code for the unrestricted-guest test: copied to guest-physical
 * 0x8000 and run with CS = 0800H, IP = 0. Position-independent: offsets
 * are from gx_real_start. DS:0x10 with DS = 0900H is guest-physical
 * 0x9010; INT 40H goes through the IVT at 0 to gx_real_isr. */
    .code16
    .globl gx_real_start, gx_real_vmcall, gx_real_end, gx_real_isr, gx_real_after_int
gx_real_start:
    movw $0x0900, %ax
    movw %ax, %ds
    movl 0x10, %edx
    movl %cr0, %eax
    movw %cs, %bx
    int $0x40
gx_real_after_int:
    movl %esp, %edi
gx_real_vmcall:
    vmcall
    hlt
gx_real_isr:
    movw $0x1234, %si
    iret
gx_real_end:
    .code64

/* As gx_vpid_loop, but each read follows a MOV to CR3 with the current
 * value (gx_vpid_cr3_loop) or an INVLPG of RDI (gx_vpid_invlpg_loop). */
SNIPPET(vpid_cr3_loop)
1:  movq %cr3, %rax
    movq %rax, %cr3
    movq (%rdi), %rdx
    movl $0x56504944, %eax
    vmcall
    jmp 1b

SNIPPET(vpid_invlpg_loop)
1:  invlpg (%rdi)
    movq (%rdi), %rdx
    movl $0x56504944, %eax
    vmcall
    jmp 1b

/* 32-bit PAE guest code (vmx_ept_pae.c): MOV to CR3 from EAX (the PDPTEs
 * are loaded then), a read of [ESI] into EDX, VMCALL with EAX = "DONE". */
    .code32
    .globl gx_pae_mov_cr3, gx_pae_mov_cr3_insn
gx_pae_mov_cr3:
gx_pae_mov_cr3_insn:
    movl %eax, %cr3
    movl (%esi), %edx
    movl $0x454e4f44, %eax
    vmcall
    hlt
    .code64

/* #UD, delivered through the guest IDT */
    .code64
SNIPPET(ept_ud2)
INSN(ept_ud2)
    ud2
    ret

/* Real mode to unpaged protected mode (vmx_unrestricted.c): copied to
 * guest-physical 0xa000, entered at 0a00:0000. LGDT, CR0.PE = 1, a far
 * jump to 32-bit code, a flat DS, a read of 0x9010, VMCALL. */
    .code16
    .globl gx_pm_start, gx_pm_end, gx_pm_vmcall
#define PM_BASE 0xa000
gx_pm_start:
    movw %cs, %ax
    movw %ax, %ds
    lgdtl gx_pm_gdt_desc - gx_pm_start
    movl %cr0, %eax
    orl $1, %eax
    movl %eax, %cr0
    ljmpl $0x08, $(PM_BASE + gx_pm_32 - gx_pm_start)
    .code32
gx_pm_32:
    movw $0x10, %ax
    movw %ax, %ds
    movl 0x9010, %edx
    movl %cr0, %ecx
gx_pm_vmcall:
    vmcall
    hlt
    .balign 8
gx_pm_gdt:
    .quad 0
    .quad 0x00cf9b000000ffff /* 0x08: flat 32-bit code */
    .quad 0x00cf93000000ffff /* 0x10: flat data */
gx_pm_gdt_desc:
    .word 23
    .long PM_BASE + gx_pm_gdt - gx_pm_start
gx_pm_end:
    .code64
