/* Private to src/cpu: hardware task switching outside IA-32e mode (SDM 3A
 * "Task Management"), entered from far JMP/CALL, IRET with NT = 1 and IDT
 * task gates (task_switch.c). */
#ifndef NVMX_CPU_TASK_SWITCH_H
#define NVMX_CPU_TASK_SWITCH_H

#include "cpu_internal.h"

/* The source of a task switch, with the encoding of bits 31:30 of the exit
 * qualification (SDM 3C "Exit Qualification for Task Switches"). */
enum task_switch_source {
    TS_SRC_CALL = 0,
    TS_SRC_IRET = 1,
    TS_SRC_JMP = 2,
    TS_SRC_IDT = 3, /* a task gate in the IDT: an interrupt or exception */
};

/* Far JMP or CALL whose selector sel names a TSS descriptor or a task gate
 * (d: its descriptor, already read). */
void task_switch_far(struct cpu *c, uint16_t sel, const uint64_t d[2], bool call);

/* IRET with RFLAGS.NT = 1 outside IA-32e mode: back to the task named by
 * the previous-task link of the current TSS. */
void task_switch_iret(struct cpu *c);

/* An event delivered through the task gate gate_lo (its descriptor's low 8
 * bytes, already checked for type, DPL and P). ext is the EXT bit of error
 * codes raised on the way; a hardware exception with an error code pushes
 * err on the new task's stack. return_rip is the EIP the old task saves;
 * a fault also saves RF = 1 (SDM 3B "Instruction-Breakpoint Exception
 * Condition": RF is set in the EFLAGS image a task switch saves). */
void task_switch_event(struct cpu *c, uint64_t gate_lo, uint32_t ext, bool fault, bool has_err,
                       uint32_t err, uint64_t return_rip);

#endif
