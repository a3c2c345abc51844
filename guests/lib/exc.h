/* Guest runtime: IDT and TSS set-up, exception frames, and catching the
 * exception an operation raises (exc_run) or the event that ends a visit to
 * ring 3 (exc_run_user). */
#ifndef GUEST_EXC_H
#define GUEST_EXC_H

#include <stdbool.h>
#include <stdint.h>

/* What isr_common pushes, lowest address first. rip..ss are the frame the
 * processor pushed (SDM 3A "Exception- or Interrupt-Handler Procedures"). */
struct exc_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;
};

/* The last exception taken. frame_addr is the address of the RIP slot of
 * the processor-pushed frame: (stack top - 40) after a 16-byte aligned stack
 * switch (SDM 3A "64-Bit Mode Stack Frame"). */
struct exc_info {
    struct exc_frame f;
    uint64_t cr2;
    uint64_t frame_addr;
    uint64_t count; /* exceptions taken since start */
};
extern volatile struct exc_info exc_last;

/* A handler hook may take vector v instead of the catcher: it returns true
 * to resume the interrupted code with IRETQ (after editing f if it likes). */
typedef bool (*exc_hook_fn)(struct exc_frame *f);
void exc_set_hook(unsigned vec, exc_hook_fn fn);

struct exc_jmp {
    uint64_t rbx, rbp, r12, r13, r14, r15, rsp, rip, rflags;
};
int exc_setjmp(struct exc_jmp *j) __attribute__((returns_twice));
void exc_longjmp(struct exc_jmp *j, int v) __attribute__((noreturn));

/* Run fn(arg) at CPL 0. Returns -1 if it returned normally, else the vector
 * of the exception it raised (details in exc_last). */
int exc_run(void (*fn)(void *), void *arg);

/* Run fn(arg) at CPL 3 on stack_top (0: the runtime's user stack) until an
 * event brings the processor back to CPL 0; returns its vector.
 * User code ends with INT $EXC_VEC_USER_RETURN (a DPL-3 gate). */
#define EXC_VEC_USER_RETURN 0x80
int exc_run_user(void (*fn)(uint64_t), uint64_t arg, uint64_t stack_top);

/* IDT gates (SDM 3A "IDT Descriptors"): 64-bit interrupt gates to the
 * runtime's stubs. */
void idt_gate(unsigned vec, unsigned ist, unsigned dpl, bool present);
void idt_reset(void);

/* 64-bit TSS (SDM 3A "Task Management in 64-bit Mode") */
struct tss64 {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t ist[8]; /* ist[1..7]; ist[0] is the reserved slot */
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} __attribute__((packed));
extern struct tss64 rt_tss;

/* Stack tops (16-byte aligned): the user stack lies in a user page;
 * TSS.RSP0 and TSS.IST1 (#DF) point at the other two after start-up. */
uint64_t rt_user_stack_top(void);
uint64_t rt_ring0_stack_top(void);
uint64_t rt_df_stack_top(void);

void exc_init(void);

#endif
