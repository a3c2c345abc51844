/* Guest test taskswitch: the 32-bit side. ts_run32 leaves IA-32e mode for
 * 32-bit protected mode without paging (SDM 3A "IA-32e Mode Operation":
 * clearing CR0.PG in compatibility mode deactivates it), loads the test's
 * GDT, IDT and TR, calls a 32-bit stub and comes back to 64-bit mode.
 * Tasks run ts_task_body, which records what the switch loaded into ts_out
 * and ends as ts_action says. IDT vectors without a task gate go to
 * ts_vec_N, which records the frame and abandons the test (ts_back32). */
#include "asm.h"
#include "ts_layout.h"

    .text
    .code64
/* uint32_t ts_run32(uint32_t stub) */
    .globl ts_run32
ts_run32:
    pushq %rbx
    pushq %rbp
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, ts_rsp64(%rip)
    sgdt ts_gdtr64(%rip)
    sidt ts_idtr64(%rip)
    movq %cr0, %rax
    movq %rax, ts_cr0_64(%rip)
    movq %cr3, %rax
    movq %rax, ts_cr3_64(%rip)
    movq %cr4, %rax
    movq %rax, ts_cr4_64(%rip)
    movl %edi, ts_stub(%rip)
    lgdt ts_gdtr32(%rip)
    pushq $TS_CODE32
    leaq 1f(%rip), %rax
    pushq %rax
    lretq
    .code32
1:  movl %cr0, %eax
    andl $~CR0_PG, %eax
    movl %eax, %cr0
    movl $MSR_EFER, %ecx
    rdmsr
    andl $~EFER_LME, %eax
    wrmsr
    movl %cr4, %eax
    andl $~CR4_PAE, %eax
    movl %eax, %cr4
    movw $TS_DATA32, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    movl $ts_stack_main_top, %esp
    lidt ts_idtr32
    movw $TS_TSS_MAIN, %ax
    ltr %ax
    xorl %eax, %eax
    xorl %ebx, %ebx
    call *ts_stub

/* Back to 64-bit mode with EAX as the result, from any task and state. */
    .globl ts_back32
ts_back32:
    movl %eax, %ebx
    movl %cr0, %eax         /* paging off before CR4.PAE changes */
    andl $~CR0_PG, %eax
    movl %eax, %cr0
    movw $TS_DATA32, %ax
    movw %ax, %ds
    movw %ax, %ss
    movl $ts_stack_main_top, %esp
    pushl $2
    popfl                   /* NT, TF, IF clear */
    movl ts_cr4_64, %eax
    movl %eax, %cr4
    movl ts_cr3_64, %eax
    movl %eax, %cr3
    movl $MSR_EFER, %ecx
    rdmsr
    orl $EFER_LME, %eax
    wrmsr
    movl ts_cr0_64, %eax
    movl %eax, %cr0
    ljmp $TS_CODE64, $2f
    .code64
2:  lgdt ts_gdtr64(%rip)
    lidt ts_idtr64(%rip)
    movw $GDT_KDATA, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorl %eax, %eax
    movw %ax, %fs
    movw %ax, %gs
    movq ts_rsp64(%rip), %rsp
    pushq $GDT_KCODE
    leaq 3f(%rip), %rax
    pushq %rax
    lretq
3:  movabsq $~(2 << 40), %rax   /* the runtime's TSS back to available */
    andq %rax, boot_gdt + 0x30(%rip)
    movw $0x30, %ax
    ltr %ax
    xorl %eax, %eax
    movq %rax, %dr7
    movl %ebx, %eax
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
    ret

    .code32
/* ---- stubs: the main task's side of each test (called with EBX = 0) --- */

/* Far JMP / CALL through the far pointer ts_far (offset, selector). */
    .globl ts_do_jmp, ts_do_call, ts_do_int, ts_do_iret, ts_do_gp, ts_gp_rip
    .globl ts_after_jmp, ts_after_call, ts_after_int, ts_after_iret
ts_do_jmp:
    movl $TS_MAGIC_EBX, %ebx
    ljmp *ts_far
ts_after_jmp:
    jmp ts_main_record

ts_do_call:
    movl $TS_MAGIC_EBX, %ebx
    lcall *ts_far
ts_after_call:
    jmp ts_main_record

ts_do_int:
    movl $TS_MAGIC_EBX, %ebx
    int $TS_VEC_INT
ts_after_int:
    jmp ts_main_record

/* The same JMP with 32-bit paging on (4-MByte pages, CR3 = ts_cr3_a) */
    .globl ts_do_jmp_paged
ts_do_jmp_paged:
    movl ts_cr3_a, %eax
    movl %eax, %cr3
    movl %cr4, %eax
    orl $0x10, %eax         /* CR4.PSE */
    movl %eax, %cr4
    movl %cr0, %eax
    orl $CR0_PG, %eax
    movl %eax, %cr0
    jmp ts_do_jmp

/* IRET with NT = 1: the previous-task link of the main TSS names the task. */
ts_do_iret:
    movl $TS_MAGIC_EBX, %ebx
    pushfl
    orl $0x4000, (%esp)
    popfl
    iretl
ts_after_iret:
    jmp ts_main_record

/* #GP(TS_BAD_SEL): a selector beyond the GDT limit */
ts_do_gp:
    movl $TS_MAGIC_EBX, %ebx
    movw $TS_BAD_SEL, %ax
ts_gp_rip:
    movw %ax, %fs
    jmp ts_main_record

/* What the main task finds when control comes back to it. */
ts_main_record:
    movl %ebx, ts_out + TS_MAIN_EBX
    pushfl
    popl ts_out + TS_MAIN_EFLAGS
    str ts_out + TS_MAIN_TR
    movl %cr0, %eax
    movl %eax, ts_out + TS_MAIN_CR0
    movl $TS_RESULT_RETURNED, %eax
    ret

/* ---- a task: what the switch loaded, then ts_action ------------------- */
    .globl ts_task_body
ts_task_body:
    movl %eax, %ss:ts_out + TS_EAX
    movl %ebx, %ss:ts_out + TS_EBX
    movl %ecx, %ss:ts_out + TS_ECX
    movl %edx, %ss:ts_out + TS_EDX
    movl %esi, %ss:ts_out + TS_ESI
    movl %edi, %ss:ts_out + TS_EDI
    movl %ebp, %ss:ts_out + TS_EBP
    movl %esp, %ss:ts_out + TS_ESP
    movl (%esp), %eax
    movl %eax, %ss:ts_out + TS_STACK0
    movw %ds, %ss:ts_out + TS_DS
    movw %es, %ss:ts_out + TS_ES
    movw %fs, %ss:ts_out + TS_FS
    movw %gs, %ss:ts_out + TS_GS
    movw %ss, %ss:ts_out + TS_SS
    movw %cs, %ss:ts_out + TS_CS
    pushfl
    popl %eax
    movl %eax, %ss:ts_out + TS_EFLAGS
    str %ss:ts_out + TS_TR
    sldt %ss:ts_out + TS_LDTR
    movl %cr0, %eax
    movl %eax, %ss:ts_out + TS_CR0
    movl %cr3, %eax
    movl %eax, %ss:ts_out + TS_CR3
    incl %ss:ts_out + TS_ENTERED
    cmpl $0, %ss:ts_read_ds0
    je 1f
    movl %ds:0, %eax
    movl %eax, %ss:ts_out + TS_DS0
1:  movl %ss:ts_action, %eax
    cmpl $TS_ACT_IRET, %eax
    je 2f
    cmpl $TS_ACT_JMP_BACK, %eax
    je 3f
    movl $TS_RESULT_TASK_ABORT, %eax
    jmp ts_back32
2:  iretl
    jmp ts_task_body        /* entered again through the same TSS */
3:  ljmp *%ss:ts_back_far
    jmp ts_task_body

/* ---- a 16-bit task: IRET (NT = 1) back to its caller ------------------ */
    .globl ts16_code
    .balign 16
ts16_code:
    .code16
    iret
    jmp ts16_code
    .code32

/* ---- interrupt gates: record the frame, abandon the test -------------- */
    .globl ts_vec_stubs
    .balign 16
ts_vec_stubs:
    vec = 0
    .rept 256
    .balign 16
    .if (vec == 8) || (vec >= 10 && vec <= 14) || (vec == 17)
    nop
    nop
    .else
    pushl $0
    .endif
    pushl $vec
    jmp ts_vec_common
    vec = vec + 1
    .endr

ts_vec_common:
    pushl %eax
    movw %ss, %ax           /* SS is a usable flat segment if we got here */
    movw %ax, %ds
    popl %eax
    popl ts_out + TS_VEC
    popl ts_out + TS_ERR
    popl ts_out + TS_FAULT_EIP
    popl ts_out + TS_FAULT_CS
    popl ts_out + TS_FAULT_EFLAGS
    str ts_out + TS_FAULT_TR
    movl %dr6, %eax
    movl %eax, ts_out + TS_FAULT_DR6
    movl ts_out + TS_VEC, %eax
    orl $TS_RESULT_VECTOR, %eax
    jmp ts_back32

    .data
    .balign 8
    .globl ts_far, ts_back_far, ts_action, ts_read_ds0, ts_cr3_a
ts_cr3_a:
    .long 0
ts_far:
    .long 0
    .word 0
    .balign 8
ts_back_far:
    .long 0
    .word TS_TSS_MAIN
    .balign 4
ts_action:
    .long 0
ts_read_ds0:
    .long 0
ts_stub:
    .long 0
    .balign 8
ts_rsp64:
    .quad 0
ts_cr0_64:
    .quad 0
ts_cr3_64:
    .quad 0
ts_cr4_64:
    .quad 0
ts_gdtr64:
    .skip 10
    .balign 8
ts_idtr64:
    .skip 10
    .balign 8
    .globl ts_gdtr32, ts_idtr32
ts_gdtr32:
    .word 0
    .quad 0
    .balign 8
ts_idtr32:
    .word 0
    .quad 0

    .bss
    .balign 16
    .skip 4096
    .globl ts_stack_main_top
ts_stack_main_top:
