/* The CPUID flags of the integer SIMD extensions and POPCNT: each form
 * checks its flag and is #UD when the model clears it (SDM 3A "System
 * Programming for Instruction Set Extensions and Processor Extended
 * States", and each instruction page's "CPUID Feature Flag" column). */
#include "cpu/sse.h"

void cpu_simd_features(struct cpu *c)
{
    static const struct {
        enum cpuid_reg reg;
        uint8_t bit;
        uint32_t flag;
    } map[] = {
        { CPUID_EDX, 23, FPU_F_MMX },    { CPUID_ECX, 9, FPU_F_SSSE3 },
        { CPUID_ECX, 19, FPU_F_SSE4_1 }, { CPUID_ECX, 20, FPU_F_SSE4_2 },
        { CPUID_ECX, 23, FPU_F_POPCNT },
    };
    for (unsigned i = 0; i < sizeof map / sizeof map[0]; i++)
        if (cpu_cpuid_feature(c, 1, map[i].reg, map[i].bit))
            c->fpu.features |= map[i].flag;
}
