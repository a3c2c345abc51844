/* Guest runtime entry: the multiboot v1 header, the 32-bit entry the loader
 * jumps to, the identity page tables and the switch to 64-bit mode
 * (SDM 3A "Initializing IA-32e Mode"), then rt_start() in C. */
#include "asm.h"

#define MB_MAGIC 0x1badb002
#define MB_FLAGS 0x00000003 /* page-aligned modules, memory information */

    .section .multiboot, "a"
    .balign 4
mb_header:
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)

    .section .text.boot, "ax"
    .code32
    .globl _start
_start:
    /* Multiboot "Machine state": EAX = magic, EBX = info, flat 32-bit
     * protected mode, paging off, ESP and GDTR undefined. */
    cli
    cld
    movl %eax, boot_mb_magic
    movl %ebx, boot_mb_info
    movl $boot_stack_top, %esp

    /* SDM 2A "CPUID": 80000001H EDX bit 29 = Intel 64 Architecture */
    movl $0x80000000, %eax
    cpuid
    cmpl $0x80000001, %eax
    jb no_long_mode
    movl $0x80000001, %eax
    cpuid
    btl $29, %edx
    jnc no_long_mode

    /* PML4 and PDPT start empty */
    movl $boot_pml4, %edi
    xorl %eax, %eax
    movl $(2 * 4096 / 4), %ecx
    rep stosl

    /* The first 2 MiB in 4-KiB pages, so tests can protect single pages */
    movl $boot_pt0, %edi
    movl $(PTE_P | PTE_W), %eax
    xorl %ecx, %ecx
1:  movl %eax, (%edi,%ecx,8)
    movl $0, 4(%edi,%ecx,8)
    addl $4096, %eax
    incl %ecx
    cmpl $512, %ecx
    jb 1b

    /* 0..4 GiB: PD entry 0 -> pt0, the rest 2-MiB pages (supervisor) */
    movl $boot_pd, %edi
    movl $(boot_pt0 + PTE_P + PTE_W + PTE_U), (%edi)
    movl $0, 4(%edi)
    movl $(0x200000 | PTE_P | PTE_W | PTE_PS), %eax
    movl $1, %ecx
2:  movl %eax, (%edi,%ecx,8)
    movl $0, 4(%edi,%ecx,8)
    addl $0x200000, %eax
    incl %ecx
    cmpl $2048, %ecx
    jb 2b

    /* Non-leaf entries allow user access; leaves decide. */
    movl $boot_pdpt, %edi
    movl $(boot_pd + PTE_P + PTE_W + PTE_U), %eax
    xorl %ecx, %ecx
3:  movl %eax, (%edi,%ecx,8)
    addl $4096, %eax
    incl %ecx
    cmpl $4, %ecx
    jb 3b
    movl $(boot_pdpt + PTE_P + PTE_W + PTE_U), boot_pml4

    /* SDM 3A "Initializing IA-32e Mode": PAE, CR3, EFER.LME, then CR0.PG */
    movl %cr4, %eax
    orl $CR4_PAE, %eax
    movl %eax, %cr4
    movl $boot_pml4, %eax
    movl %eax, %cr3
    movl $MSR_EFER, %ecx
    rdmsr
    orl $EFER_LME, %eax
    wrmsr
    movl %cr0, %eax
    andl $~(CR0_CD | CR0_NW | CR0_EM | CR0_TS), %eax
    orl $(CR0_PE | CR0_MP | CR0_NE | CR0_WP | CR0_PG), %eax
    movl %eax, %cr0

    lgdt boot_gdt_ptr
    ljmp $GDT_KCODE, $entry64

no_long_mode:
    movl $1, %eax
    outl %eax, $DEBUG_EXIT_PORT
4:  hlt
    jmp 4b

    .code64
entry64:
    movw $GDT_KDATA, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorl %eax, %eax
    movw %ax, %fs
    movw %ax, %gs
    movq $boot_stack_top, %rsp
    xorl %ebp, %ebp
    movl boot_mb_magic, %edi
    movl boot_mb_info, %esi
    call rt_start
5:  hlt
    jmp 5b

    .data
    .balign 16
    .globl boot_gdt
boot_gdt:
    .quad 0                     /* null */
    .quad 0x00af9a000000ffff    /* 0x08 kernel code, 64-bit */
    .quad 0x00cf92000000ffff    /* 0x10 kernel data */
    .quad 0x00cffa000000ffff    /* 0x18 user code, 32-bit (SYSRET base) */
    .quad 0x00cff2000000ffff    /* 0x20 user data */
    .quad 0x00affa000000ffff    /* 0x28 user code, 64-bit */
    .quad 0, 0                  /* 0x30 TSS, written by rt_start */
boot_gdt_end:

    /* 6 bytes for LGDT in 32-bit mode, 10 in 64-bit mode: same layout */
    .balign 16
    .globl boot_gdt_ptr
boot_gdt_ptr:
    .word boot_gdt_end - boot_gdt - 1
    .quad boot_gdt

    .globl boot_mb_magic, boot_mb_info
boot_mb_magic:
    .long 0
boot_mb_info:
    .long 0

    .bss
    .balign 4096
    .globl boot_pml4, boot_pdpt, boot_pd, boot_pt0
boot_pml4:
    .skip 4096
boot_pdpt:
    .skip 4096
boot_pd:
    .skip 4 * 4096
boot_pt0:
    .skip 4096
    .balign 16
boot_stack:
    .skip 16384
    .globl boot_stack_top
boot_stack_top:
