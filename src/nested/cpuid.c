/* What L1 sees in CPUID: the CPU model's leaves less the features whose
 * instructions L1 could not use in VMX non-root operation under L0
 * (include/nvmx/nested_cpuid.def), and the secondary controls of vmcs01
 * that let L1 use the others. */
#include "nested_internal.h"

enum { R_EAX, R_EBX, R_ECX, R_EDX };
#define PROC2_NONE 0u

static const struct nested_cpuid_bit {
    const char *name;
    uint32_t leaf, subleaf;
    unsigned reg, bit;
    uint32_t proc2;
} bits[] = {
#define NESTED_CPUID(n, l, s, r, b, p) { #n, (l), (s), R_##r, (b), (uint32_t)PROC2_##p },
#include "nvmx/nested_cpuid.def"
#undef NESTED_CPUID
};

/* SDM 2A "CPUID": a leaf above the maximum of its range returns another
 * leaf's data, which no row describes. */
static bool leaf_in_range(struct nested *n, uint32_t leaf)
{
    uint32_t max[4];
    cpu_cpuid(n->c, leaf & 0x80000000u, 0, max);
    return leaf <= max[R_EAX];
}

/* The feature is in the model and L1 can use it: L0 enables its control. */
void nested_cpuid_setup(struct nested *n)
{
    n->cpuid_hide = 0;
    n->proc2_cpuid = 0;
    _Static_assert(sizeof bits / sizeof bits[0] <= 32, "one bit of cpuid_hide per row");
    for (unsigned i = 0; i < sizeof bits / sizeof bits[0]; i++) {
        const struct nested_cpuid_bit *b = &bits[i];
        uint32_t out[4];
        if (!leaf_in_range(n, b->leaf))
            continue;
        cpu_cpuid(n->c, b->leaf, b->subleaf, out);
        if (b->proc2 != PROC2_NONE && !(out[b->reg] & (1u << b->bit)))
            continue; /* not in the model: nothing to enable */
        if (l0_proc2_allowed(n, b->proc2))
            n->proc2_cpuid |= b->proc2;
        else
            n->cpuid_hide |= 1u << i;
    }
}

/* SDM 2A "CPUID": the leaves whose output depends on ECX (the subleaf). */
static bool has_subleaves(uint32_t leaf)
{
    switch (leaf) {
    case 4: case 7: case 0xb: case 0xd: case 0xf: case 0x10: case 0x12: case 0x14:
    case 0x17: case 0x18: case 0x1d: case 0x1e: case 0x1f: case 0x20:
        return true;
    default:
        return false;
    }
}

/* SDM 2A "CPUID": the model's output for L1, less the hidden bits. */
void nested_cpuid(struct nested *n, uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
    cpu_cpuid(n->c, leaf, subleaf, out);
    if (!n->cpuid_hide || !leaf_in_range(n, leaf))
        return;
    for (unsigned i = 0; i < sizeof bits / sizeof bits[0]; i++)
        if ((n->cpuid_hide & (1u << i)) && bits[i].leaf == leaf &&
            (!has_subleaves(leaf) || bits[i].subleaf == subleaf))
            out[bits[i].reg] &= ~(1u << bits[i].bit);
}
