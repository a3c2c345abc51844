/* Private to src/cpu: the XSAVE feature set (SDM 1 "Managing State Using
 * the XSAVE Feature Set"): state-component bits from
 * include/nvmx/xsave_components.def, the leaf-0DH extensions from
 * xsave_features.def, XINUSE (xsave.c), the enumeration (xsave_xcr.c). */
#ifndef NVMX_CPU_XSAVE_H
#define NVMX_CPU_XSAVE_H

#include "cpu/cpu_internal.h"

enum xfeature {
#define XSAVE_COMPONENT(n, bit, kind, impl) XFEATURE_##n = 1u << (bit),
#include "nvmx/xsave_components.def"
#undef XSAVE_COMPONENT
};

/* CPUID.(EAX=0DH,ECX=1):EAX bit numbers. */
enum xsave_feat {
#define XSAVE_FEATURE(n, bit, impl) XSAVE_FEAT_##n = (bit),
#include "nvmx/xsave_features.def"
#undef XSAVE_FEATURE
};

/* Does the model enumerate CPUID.(EAX=0DH,ECX=1):EAX[bit]? */
bool cpu_xsave_feature(const struct cpu *c, unsigned bit);

/* XINUSE: bit i clear only while component i is in its initial
 * configuration (xsave.c). */
uint64_t cpu_xinuse(const struct cpu *c);

/* The live sizes of leaf 0DH (xsave_xcr.c): the standard-format size for
 * the components of mask, the compacted-format size. */
uint32_t cpu_xsave_size_standard(const struct cpu *c, uint64_t mask);
uint32_t cpu_xsave_size_compacted(const struct cpu *c, uint64_t mask);

#endif
