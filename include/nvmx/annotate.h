/* The annotation instruction (docs/trace-schema.md "annotate"): a NOP form
 * that a guest at any level executes to tell nvmx something -- its level,
 * a mark -- in registers that the trace records. It is the long NOP
 *     0F 1F 80 6E 76 6D 78    nop dword ptr [rAX + 0x786d766e]
 * (SDM 2B "NOP": 0F 1F /0, here with ModRM 80H: [rAX] + disp32, and the
 * displacement "nvmx" in ASCII), in 32- or 64-bit code with no prefix. A
 * processor executes it as a NOP; so does nvmx: it never exits in VMX
 * non-root operation, changes no state, and costs what any NOP costs, with
 * or without a trace. Payload: RAX = kind, RBX and RCX = arguments.
 * Pure: compiles hosted (src/cpu) and freestanding (guests). */
#ifndef NVMX_ANNOTATE_H
#define NVMX_ANNOTATE_H

#include <stdint.h>

#define NVMX_ANNOTATE_DISP 0x786d766eu /* "nvmx" */
#define NVMX_ANNOTATE_MODRM 0x80u

/* Kinds (RAX). Any other kind is traced as it is. */
#define NVMX_ANNOTATE_LEVEL 1u /* RBX: the level of the code that executes it */

#if defined(__x86_64__) || defined(__i386__)
static inline void nvmx_annotate(uint64_t kind, uint64_t a, uint64_t b)
{
    __asm__ volatile(".byte 0x0f, 0x1f, 0x80, 0x6e, 0x76, 0x6d, 0x78"
                     :
                     : "a"(kind), "b"(a), "c"(b)
                     : "memory");
}
#endif

#endif
