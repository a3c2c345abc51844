/* Private to src/cpu: the host x87 unit that executes nvmx's x87
 * arithmetic (x87_host.c, docs/fpu.md). */
#ifndef NVMX_CPU_X87_HOST_H
#define NVMX_CPU_X87_HOST_H

#include <stdint.h>

/* The 32-bit protected-mode FSAVE image (SDM 1 Figure "Protected Mode x87
 * FPU State Image in Memory, 32-Bit Format" followed by ST0-ST7). */
#define X87_IMAGE_SIZE 108

/* Executes the x87 instruction esc (D8-DF), modrm on the host from the
 * state in image, which receives the state after it. A memory form (mod !=
 * 3) accesses mem (at least 10 bytes) whatever its addressing. rflags gives
 * CF/PF/ZF to FCMOVcc; the return value is the host RFLAGS after the
 * instruction (FCOMI and friends). */
uint64_t x87_host_exec(uint8_t image[X87_IMAGE_SIZE], void *mem, uint8_t esc, uint8_t modrm,
                       uint64_t rflags);

#endif
