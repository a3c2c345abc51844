/* CPUID (SDM 2A "CPUID -- CPU Identification"): the leaves come from the CPU
 * model config; the few bits that reflect live processor state (OSXSAVE,
 * OSPKE, APIC enable, APIC IDs) are patched in here. Also the feature queries
 * the rest of the core uses to decide which CR4/EFER bits exist. */
#include "cpu_internal.h"

/* Shared with msr.c, ops_cr.c and ops_sys.c (prototype repeated there until
 * it moves to cpu_internal.h): a static capability bit of the model, reg
 * 0..3 = EAX..EDX of leaf/subleaf 0. */

#define MISC_ENABLE_LIMIT_CPUID (1ull << 22)
#define APIC_BASE_EN (1ull << 11)


static const struct cpuid_leaf *cpuid_find(const struct cpu_model *m, uint32_t leaf,
                                           uint32_t subleaf)
{
    return m ? cpu_model_leaf(m, leaf, subleaf) : NULL;
}

const struct cpuid_leaf *cpu_model_leaf(const struct cpu_model *m, uint32_t leaf,
                                        uint32_t subleaf)
{
    if (!m)
        return NULL;
    for (unsigned i = 0; i < m->nleaves && i < CPU_MODEL_MAX_LEAVES; i++) {
        const struct cpuid_leaf *l = &m->leaves[i];
        if (l->leaf == leaf && (!l->has_subleaf || l->subleaf == subleaf))
            return l;
    }
    return NULL;
}

static void cpuid_raw(const struct cpu_model *m, uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
    const struct cpuid_leaf *l = cpuid_find(m, leaf, subleaf);

    out[CPUID_EAX] = l ? l->eax : 0;
    out[CPUID_EBX] = l ? l->ebx : 0;
    out[CPUID_ECX] = l ? l->ecx : 0;
    out[CPUID_EDX] = l ? l->edx : 0;
}

static uint32_t cpuid_max(const struct cpu_model *m, uint32_t base)
{
    const struct cpuid_leaf *l = cpuid_find(m, base, 0);
    return l ? l->eax : 0;
}

/* SDM 3A "Physical Address Width" / "Linear-Address Width": CPUID.80000008H
 * EAX[7:0] and EAX[15:8]. The one place paging, the VM-entry checks, the
 * VMX capability checks and L0 take them from. The model's values are
 * range-checked when it is loaded (src/cli/config.c); a CPU without a model
 * or without the leaf (unit tests) gets 39 and 48, and a value out of range
 * is clamped to them, so no caller sees a width it cannot use. */
#define MAXPHYADDR_DEFAULT 39u
#define LINEAR_WIDTH_DEFAULT 48u

unsigned cpu_maxphyaddr(const struct cpu *c)
{
    const struct cpuid_leaf *l = cpuid_find(c->model, 0x80000008u, 0);
    unsigned m = l ? (l->eax & 0xff) : MAXPHYADDR_DEFAULT;
    return m < 32 || m > 52 ? MAXPHYADDR_DEFAULT : m;
}

unsigned cpu_linear_width(const struct cpu *c)
{
    const struct cpuid_leaf *l = cpuid_find(c->model, 0x80000008u, 0);
    unsigned n = l ? ((l->eax >> 8) & 0xff) : LINEAR_WIDTH_DEFAULT;
    return n == 48 || n == 57 ? n : LINEAR_WIDTH_DEFAULT;
}

bool cpu_cpuid_feature(const struct cpu *c, uint32_t leaf, unsigned reg, unsigned bit)
{
    uint32_t out[4];

    cpuid_raw(c->model, leaf, 0, out);
    return reg < 4 && bit < 32 && ((out[reg] >> bit) & 1);
}

void cpu_cpuid(struct cpu *c, uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
    uint32_t max_basic = cpuid_max(c->model, 0);
    uint32_t max_ext = cpuid_max(c->model, 0x80000000);

    /* SDM 4 IA32_MISC_ENABLE[22] "Limit CPUID Maxval": leaf 0 reports at
     * most 2, and leaves above 2 behave as out of range. */
    if ((c->misc_enable & MISC_ENABLE_LIMIT_CPUID) && max_basic > 2)
        max_basic = 2;

    /* SDM 2A CPUID: an input above the maximum basic or extended leaf returns
     * the data of the highest basic leaf. Leaves the model lists explicitly
     * outside both ranges (a hypervisor range) are returned as listed. */
    bool ext = leaf >= 0x80000000;
    bool listed = cpuid_find(c->model, leaf, subleaf) != NULL;
    if ((ext && leaf > max_ext) || (!ext && leaf > max_basic && !(listed && leaf > 0x3fffffff)))
        leaf = max_basic;

    cpuid_raw(c->model, leaf, subleaf, out);

    switch (leaf) {
    case 0:
        out[CPUID_EAX] = max_basic;
        break;
    case 1:
        out[CPUID_EBX] &= 0x00ffffffu; /* EBX[31:24] initial APIC ID: 0 */
        /* ECX[27] OSXSAVE mirrors CR4.OSXSAVE */
        out[CPUID_ECX] = (out[CPUID_ECX] & ~(1u << 27)) | ((c->cr4 & CR4_OSXSAVE) ? 1u << 27 : 0);
        /* EDX[9] APIC is 0 while IA32_APIC_BASE[11] (global enable) is 0 */
        if (!(c->apic_base & APIC_BASE_EN))
            out[CPUID_EDX] &= ~(1u << 9);
        break;
    case 7:
        if (subleaf == 0) /* ECX[4] OSPKE mirrors CR4.PKE */
            out[CPUID_ECX] = (out[CPUID_ECX] & ~(1u << 4)) | ((c->cr4 & CR4_PKE) ? 1u << 4 : 0);
        break;
    case 0xd: /* the XSAVE area's sizes follow XCR0 and IA32_XSS */
        cpu_cpuid_leaf_d(c, subleaf, out);
        break;
    case 0xb:
    case 0x1f:
        /* Extended topology: ECX[7:0] echoes the level, EDX is the x2APIC ID */
        out[CPUID_ECX] = (out[CPUID_ECX] & ~0xffu) | (subleaf & 0xff);
        out[CPUID_EDX] = 0;
        break;
    default:
        break;
    }
}
