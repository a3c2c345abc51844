/* Guest test taskswitch: what the C side (taskswitch.c) and the 32-bit side
 * (ts32.S) share -- the GDT layout, vectors, and the offsets of the record
 * ts_out (an array of uint32_t). */
#ifndef TS_LAYOUT_H
#define TS_LAYOUT_H

/* GDT (ts_gdt) */
#define TS_CODE32 0x08
#define TS_DATA32 0x10
#define TS_CODE64 0x18
#define TS_LDT 0x20
#define TS_TSS_MAIN 0x28
#define TS_TSS_B 0x30
#define TS_TSS_C 0x38
#define TS_GATE_B 0x40
#define TS_SPARE1 0x48
#define TS_SPARE2 0x50
#define TS_TSS_16 0x58
#define TS_CODE16 0x60
#define TS_GDT_ENTRIES 16
#define TS_BAD_SEL 0x400 /* beyond the GDT limit */

#define TS_VEC_INT 0x40
#define TS_MAGIC_EBX 0x5eb0cafe

/* ts_action: how a task ends */
#define TS_ACT_IRET 0
#define TS_ACT_JMP_BACK 1
#define TS_ACT_ABORT 2

/* ts_run32 results */
#define TS_RESULT_RETURNED 0x1000
#define TS_RESULT_TASK_ABORT 0x2000
#define TS_RESULT_VECTOR 0x3000 /* | vector */

/* ts_out byte offsets: a task's view */
#define TS_ENTERED 0
#define TS_TR 4
#define TS_EFLAGS 8
#define TS_CR0 12
#define TS_EAX 16
#define TS_EBX 20
#define TS_ECX 24
#define TS_EDX 28
#define TS_ESI 32
#define TS_EDI 36
#define TS_ESP 40
#define TS_EBP 44
#define TS_DS 48
#define TS_ES 52
#define TS_FS 56
#define TS_GS 60
#define TS_SS 64
#define TS_CS 68
#define TS_DS0 72
#define TS_LDTR 76
#define TS_STACK0 80
#define TS_CR3 84
/* an interrupt gate's view */
#define TS_VEC 100
#define TS_ERR 104
#define TS_FAULT_EIP 108
#define TS_FAULT_CS 112
#define TS_FAULT_EFLAGS 116
#define TS_FAULT_TR 120
#define TS_FAULT_DR6 124
/* the main task's view after control came back */
#define TS_MAIN_EBX 140
#define TS_MAIN_EFLAGS 144
#define TS_MAIN_TR 148
#define TS_MAIN_CR0 152
#define TS_OUT_BYTES 160

#endif
