/* Guest code for the VMX exit and event tests. Each snippet gx_NAME is
 * called by vmx_guest_entry (RDI = argument) and executes the instruction
 * under test at gx_NAME_insn; gx_NAME_next follows it. Registers are set
 * so that the exit qualifications name known registers. */

#define SNIPPET(name) \
    .globl gx_##name, gx_##name##_insn, gx_##name##_next; \
    gx_##name:
#define INSN(name) gx_##name##_insn:
#define NEXT(name) gx_##name##_next:

    .text
    .code64

SNIPPET(cpuid)
    xorl %eax, %eax
    xorl %ecx, %ecx
INSN(cpuid)
    cpuid
NEXT(cpuid)
    ret

SNIPPET(hlt)
INSN(hlt)
    hlt
NEXT(hlt)
    ret

SNIPPET(invlpg)
    movq $0x12345000, %rax
INSN(invlpg)
    invlpg (%rax)
NEXT(invlpg)
    ret

SNIPPET(rdtsc)
INSN(rdtsc)
    rdtsc
NEXT(rdtsc)
    ret

SNIPPET(rdtscp)
INSN(rdtscp)
    rdtscp
NEXT(rdtscp)
    ret

SNIPPET(rdpmc)
    xorl %ecx, %ecx
INSN(rdpmc)
    rdpmc
NEXT(rdpmc)
    ret

/* MOV to CR0 from RBX with CR0.TS toggled */
SNIPPET(mov_to_cr0)
    movq %cr0, %rbx
    xorq $8, %rbx
INSN(mov_to_cr0)
    movq %rbx, %cr0
NEXT(mov_to_cr0)
    ret

SNIPPET(mov_from_cr3)
INSN(mov_from_cr3)
    movq %cr3, %rdx
NEXT(mov_from_cr3)
    ret

SNIPPET(mov_to_cr3)
    movq gx_cr3_value(%rip), %rax
INSN(mov_to_cr3)
    movq %rax, %cr3
NEXT(mov_to_cr3)
    ret

/* The read returns the shadow for host-owned bits: set VMXE explicitly */
SNIPPET(mov_to_cr4)
    movq %cr4, %rsi
    orq $0x2000, %rsi
INSN(mov_to_cr4)
    movq %rsi, %cr4
NEXT(mov_to_cr4)
    ret

/* RCX = CR4 as the guest reads it, RDX = CR0 */
SNIPPET(read_cr0_cr4)
INSN(read_cr0_cr4)
    movq %cr4, %rcx
    movq %cr0, %rdx
NEXT(read_cr0_cr4)
    ret

SNIPPET(clts)
INSN(clts)
    clts
NEXT(clts)
    ret

/* LMSW AX with AX = CR0[15:0] | MP */
SNIPPET(lmsw)
    movq %cr0, %rax
    orl $2, %eax
INSN(lmsw)
    lmsw %ax
NEXT(lmsw)
    ret

SNIPPET(mov_to_cr8)
    xorl %eax, %eax
INSN(mov_to_cr8)
    movq %rax, %cr8
NEXT(mov_to_cr8)
    ret

SNIPPET(mov_from_cr8)
INSN(mov_from_cr8)
    movq %cr8, %rbx
NEXT(mov_from_cr8)
    ret

SNIPPET(mov_to_dr0)
    xorl %ecx, %ecx
INSN(mov_to_dr0)
    movq %rcx, %dr0
NEXT(mov_to_dr0)
    ret

SNIPPET(mov_from_dr6)
INSN(mov_from_dr6)
    movq %dr6, %rdx
NEXT(mov_from_dr6)
    ret

SNIPPET(out_imm8)
    xorl %eax, %eax
INSN(out_imm8)
    outb %al, $0x80
NEXT(out_imm8)
    ret

SNIPPET(in_dx16)
    movl $0x3f8, %edx
INSN(in_dx16)
    inw %dx, %ax
NEXT(in_dx16)
    ret

SNIPPET(out_dx32)
    movl $0x1234, %edx
    xorl %eax, %eax
INSN(out_dx32)
    outl %eax, %dx
NEXT(out_dx32)
    ret

/* REP OUTSB from the buffer at RDI (the argument), 3 bytes, port 0x80 */
SNIPPET(rep_outsb)
    movq %rdi, %rsi
    movl $3, %ecx
    movl $0x80, %edx
INSN(rep_outsb)
    rep outsb
NEXT(rep_outsb)
    ret

/* INSW into the buffer at RDI, port 0x3fd */
SNIPPET(insw)
    movl $0x3fd, %edx
INSN(insw)
    insw
NEXT(insw)
    ret

/* IN from port 0x3fd (not in the bitmap), then OUT to port 0x80 */
SNIPPET(io_bitmap)
    movl $0x3fd, %edx
    inb %dx, %al
INSN(io_bitmap)
    outb %al, $0x80
NEXT(io_bitmap)
    ret

/* 16-bit IN at port 0x7fff: its second byte is port 0x8000 (bitmap B) */
SNIPPET(io_bitmap_b)
    movl $0x7fff, %edx
INSN(io_bitmap_b)
    inw %dx, %ax
NEXT(io_bitmap_b)
    ret

/* RDMSR ECX = argument; RAX:RDX = what was read */
SNIPPET(rdmsr)
    movl %edi, %ecx
INSN(rdmsr)
    rdmsr
NEXT(rdmsr)
    ret

SNIPPET(wrmsr)
    movl %edi, %ecx
    xorl %eax, %eax
    xorl %edx, %edx
INSN(wrmsr)
    wrmsr
NEXT(wrmsr)
    ret

SNIPPET(vmcall)
    movl $0x1234, %eax
INSN(vmcall)
    vmcall
NEXT(vmcall)
    ret

SNIPPET(vmread)
    movl $0x681e, %eax
INSN(vmread)
    vmread %rax, %rbx
NEXT(vmread)
    ret

SNIPPET(vmwrite)
    movl $0x681e, %edx
INSN(vmwrite)
    vmwrite %rcx, %rdx
NEXT(vmwrite)
    ret

/* VMPTRLD 0x10(%rax): qualification = displacement 0x10 */
SNIPPET(vmptrld)
    movq %rdi, %rax
INSN(vmptrld)
    vmptrld 0x10(%rax)
NEXT(vmptrld)
    ret

/* VMPTRLD gx_rip_operand(%rip): with RIP-relative addressing the
 * qualification is the displacement plus the RIP of the next instruction,
 * i.e. the operand's address (SDM 3C "Basic VM-Exit Information"). */
SNIPPET(vmptrld_rip)
INSN(vmptrld_rip)
    vmptrld gx_rip_operand(%rip)
NEXT(vmptrld_rip)
    ret
    .balign 8
    .globl gx_rip_operand
gx_rip_operand:
    .quad 0

SNIPPET(vmclear)
INSN(vmclear)
    vmclear -8(%rsp)
NEXT(vmclear)
    ret

SNIPPET(vmptrst)
INSN(vmptrst)
    vmptrst -8(%rsp)
NEXT(vmptrst)
    ret

SNIPPET(vmlaunch)
INSN(vmlaunch)
    vmlaunch
NEXT(vmlaunch)
    ret

SNIPPET(vmresume)
INSN(vmresume)
    vmresume
NEXT(vmresume)
    ret

SNIPPET(vmxoff)
INSN(vmxoff)
    vmxoff
NEXT(vmxoff)
    ret

SNIPPET(vmxon)
INSN(vmxon)
    vmxon -8(%rsp)
NEXT(vmxon)
    ret

SNIPPET(pause)
INSN(pause)
    pause
NEXT(pause)
    ret

SNIPPET(wbinvd)
INSN(wbinvd)
    wbinvd
NEXT(wbinvd)
    ret

SNIPPET(sgdt)
INSN(sgdt)
    sgdt -16(%rsp)
NEXT(sgdt)
    ret

SNIPPET(sidt)
INSN(sidt)
    sidt -16(%rsp)
NEXT(sidt)
    ret

SNIPPET(sldt)
INSN(sldt)
    sldt %ax
NEXT(sldt)
    ret

SNIPPET(str)
INSN(str)
    str %ax
NEXT(str)
    ret

SNIPPET(ud2)
INSN(ud2)
    ud2
NEXT(ud2)
    ret

SNIPPET(int3)
INSN(int3)
    int3
NEXT(int3)
    ret

/* Read the byte at the argument (a not-present page: #PF(0)) */
SNIPPET(pf_read)
INSN(pf_read)
    movb (%rdi), %al
NEXT(pf_read)
    ret

/* Non-canonical load: #GP(0) */
SNIPPET(gp)
    movabsq $0x0000800000000000, %rax
INSN(gp)
    movq (%rax), %rax
NEXT(gp)
    ret

SNIPPET(nop)
INSN(nop)
    nop
NEXT(nop)
    nop
    ret

/* STI; NOP; then the interrupt window opens */
SNIPPET(sti_nop)
    cli
INSN(sti_nop)
    sti
    nop
NEXT(sti_nop)
    nop
    cli
    ret

SNIPPET(spin)
INSN(spin)
1:  jmp 1b
NEXT(spin)
    ret

/* Store the argument's low 32 bits to the xAPIC ICR low (0xfee00300) */
SNIPPET(xapic_icr)
    movl $0xfee00300, %eax
INSN(xapic_icr)
    movl %edi, (%rax)
NEXT(xapic_icr)
    nop
    ret

/* The CR3 value mov_to_cr3 loads, set by the host: reading CR3 in the
 * guest could exit when CR3-store exiting must be 1. */
    .data
    .balign 8
    .globl gx_cr3_value
gx_cr3_value:
    .quad 0
