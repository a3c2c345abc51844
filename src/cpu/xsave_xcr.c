/* XCR0 and IA32_XSS, XGETBV and XSETBV, and what leaf 0DH enumerates
 * (SDM 1 "Enumeration of CPU Support for XSAVE Instructions and
 * XSAVE-Supported Features", "Enabling the XSAVE Feature Set and
 * XSAVE-Enabled Features"; SDM 2C "XGETBV", "XSETBV"; SDM 3A "System
 * Programming for Instruction Set Extensions and Processor Extended
 * States"). The CPU model's leaf 0DH says which components exist; a model
 * may list only those include/nvmx/xsave_components.def implements
 * (cpu_model_check_xsave). */
#include "cpu/xsave.h"
#include "opcodes_gen.h"

#include "nvmx/cpu_hooks.h"
#include "nvmx/vmx_arch.h"

#include <stdarg.h>
#include <stdio.h>

#define XSAVE_LEGACY_AND_HEADER 576u

static void leaf_d(const struct cpu_model *m, uint32_t subleaf, uint32_t out[4])
{
    const struct cpuid_leaf *l = m ? cpu_model_leaf(m, 0xd, subleaf) : NULL;
    out[CPUID_EAX] = l ? l->eax : 0;
    out[CPUID_EBX] = l ? l->ebx : 0;
    out[CPUID_ECX] = l ? l->ecx : 0;
    out[CPUID_EDX] = l ? l->edx : 0;
}

bool cpu_xsave_feature(const struct cpu *c, unsigned bit)
{
    uint32_t r[4];
    leaf_d(c->model, 1, r);
    return (r[CPUID_EAX] >> bit) & 1;
}

/* CPUID.(EAX=0DH,ECX=0):EDX:EAX, the bits XCR0 may have; CPUID.(EAX=0DH,
 * ECX=1):EDX:ECX, the bits IA32_XSS may have. Neither without XSAVE. */
static uint64_t xcr0_supported(const struct cpu_model *m)
{
    uint32_t r[4];
    leaf_d(m, 0, r);
    return ((uint64_t)r[CPUID_EDX] << 32) | r[CPUID_EAX];
}

static uint64_t xss_supported(const struct cpu_model *m)
{
    uint32_t r[4];
    leaf_d(m, 1, r);
    if (!((r[CPUID_EAX] >> XSAVE_FEAT_XSAVES) & 1))
        return 0;
    return ((uint64_t)r[CPUID_EDX] << 32) | r[CPUID_ECX];
}

/* SDM 1 "Extended Region of an XSAVE Area": in the standard format
 * component i >= 2 is at CPUID.(EAX=0DH,ECX=i):EBX and takes EAX bytes; in
 * the compacted format the components of XCOMP_BV follow one another from
 * byte 576, each aligned to 64 bytes when CPUID.(EAX=0DH,ECX=i):ECX[1]. */
static uint32_t size_standard(const struct cpu_model *m, uint64_t mask)
{
    uint32_t size = XSAVE_LEGACY_AND_HEADER;
    for (uint32_t i = 2; i < 63; i++) {
        if (!((mask >> i) & 1))
            continue;
        uint32_t r[4];
        leaf_d(m, i, r);
        if (r[CPUID_EBX] + r[CPUID_EAX] > size)
            size = r[CPUID_EBX] + r[CPUID_EAX];
    }
    return size;
}

static uint32_t size_compacted(const struct cpu_model *m, uint64_t mask)
{
    uint32_t size = XSAVE_LEGACY_AND_HEADER;
    for (uint32_t i = 2; i < 63; i++) {
        if (!((mask >> i) & 1))
            continue;
        uint32_t r[4];
        leaf_d(m, i, r);
        if (r[CPUID_ECX] & 2)
            size = (size + 63) & ~63u;
        size += r[CPUID_EAX];
    }
    return size;
}

uint32_t cpu_xsave_size_standard(const struct cpu *c, uint64_t mask)
{
    return size_standard(c->model, mask);
}

uint32_t cpu_xsave_size_compacted(const struct cpu *c, uint64_t mask)
{
    return size_compacted(c->model, mask);
}

/* SDM 2C "XSETBV" and SDM 1 "Enabling the XSAVE Feature Set and
 * XSAVE-Enabled Features": only XCR0 (ECX = 0) is writable; #GP(0) for a
 * bit CPUID.(EAX=0DH,ECX=0):EDX:EAX does not enumerate (which covers the
 * supervisor bits), for XCR0[0] = 0, for XCR0[2] (AVX) without XCR0[1]
 * (SSE), for XCR0[3] (BNDREGS) and XCR0[4] (BNDCSR) not equal, for any of
 * XCR0[7:5] (AVX-512) unless all three and XCR0[2] are set, and for
 * XCR0[17] (TILECFG) and XCR0[18] (TILEDATA) not equal. */
bool cpu_set_xcr(struct cpu *c, uint32_t index, uint64_t val)
{
    if (index != 0)
        return false;
    if (val & ~xcr0_supported(c->model))
        return false;
    if (!(val & XFEATURE_X87))
        return false;
    if ((val & XFEATURE_AVX) && !(val & XFEATURE_SSE))
        return false;
    if (!(val & XFEATURE_BNDREGS) != !(val & XFEATURE_BNDCSR))
        return false;
    uint64_t avx512 = XFEATURE_OPMASK | XFEATURE_ZMM_HI256 | XFEATURE_HI16_ZMM;
    if ((val & avx512) && ((val & avx512) != avx512 || !(val & XFEATURE_AVX)))
        return false;
    if (!(val & XFEATURE_TILECFG) != !(val & XFEATURE_TILEDATA))
        return false;
    c->xcr0 = val;
    return true;
}

/* SDM 2C "XGETBV": #UD with CR4.OSXSAVE = 0; ECX = 0 reads XCR0, ECX = 1
 * (when CPUID.(EAX=0DH,ECX=1):EAX[2] enumerates it) XCR0 AND XINUSE; any
 * other ECX is #GP(0). Any CPL. */
void op_xgetbv(struct cpu *c, const struct insn *in)
{
    uint64_t v;
    if (!(c->cr4 & CR4_OSXSAVE))
        cpu_fault(c, EXC_UD);
    uint32_t ecx = (uint32_t)c->gpr[1];
    if (ecx == 0)
        v = c->xcr0;
    else if (ecx == 1 && cpu_xsave_feature(c, XSAVE_FEAT_XGETBV_ECX1))
        v = c->xcr0 & cpu_xinuse(c);
    else
        cpu_fault_err(c, EXC_GP, 0);
    c->gpr[0] = v & 0xffffffffull;
    c->gpr[2] = v >> 32;
}

/* SDM 2C "XSETBV": #UD with CR4.OSXSAVE = 0, #GP(0) at CPL > 0 (also in
 * virtual-8086 mode); in VMX non-root operation it then exits
 * unconditionally (SDM 3C "Instructions That Cause VM Exits
 * Unconditionally"), before the register checks of cpu_set_xcr. */
void op_xsetbv(struct cpu *c, const struct insn *in)
{
    if (!(c->cr4 & CR4_OSXSAVE))
        cpu_fault(c, EXC_UD);
    if (c->cpl != 0)
        cpu_fault_err(c, EXC_GP, 0);
    struct cpu_intercept q = { .reason = VMX_EXIT_xsetbv, .insn_len = in->len };
    cpu_intercept(c, &q);
    uint64_t val = ((c->gpr[2] & 0xffffffffull) << 32) | (c->gpr[0] & 0xffffffffull);
    if (!cpu_set_xcr(c, (uint32_t)c->gpr[1], val))
        cpu_fault_err(c, EXC_GP, 0);
    c->end_block = true;
}

/* SDM 1 "Enabling the XSAVE Feature Set and XSAVE-Enabled Features":
 * IA32_XSS (DA0H) exists when CPUID.(EAX=0DH,ECX=1):EAX[3] enumerates
 * XSAVES; a bit CPUID.(EAX=0DH,ECX=1):EDX:ECX does not enumerate is
 * reserved (#GP(0)). nvmx does not ask for CR4.OSXSAVE = 1 (the SDM's
 * description of the write names it; its list of WRMSR faults does not). */
bool cpu_rdmsr_xss(struct cpu *c, uint64_t *val)
{
    if (!cpu_xsave_feature(c, XSAVE_FEAT_XSAVES))
        return false;
    *val = c->xss;
    return true;
}

bool cpu_wrmsr_xss(struct cpu *c, uint64_t val)
{
    if (!cpu_xsave_feature(c, XSAVE_FEAT_XSAVES) || (val & ~xss_supported(c->model)))
        return false;
    c->xss = val;
    return true;
}

/* Leaf 0DH as the processor reports it (SDM 2A "CPUID", leaf 0DH): the
 * sizes that depend on XCR0 and IA32_XSS are computed, the rest is the
 * model's. Sub-leaf 0: EBX the standard-format size for XCR0, ECX for
 * every supported user component; sub-leaf 1: EBX the compacted size for
 * XCR0 | IA32_XSS. A model without XSAVE gets its leaf as written. */
void cpu_cpuid_leaf_d(const struct cpu *c, uint32_t subleaf, uint32_t out[4])
{
    if (!cpu_cpuid_feature(c, 1, CPUID_ECX, 26))
        return; /* no XSAVE: the model's leaf as it is */
    if (subleaf == 0) {
        out[CPUID_EBX] = size_standard(c->model, c->xcr0);
        out[CPUID_ECX] = size_standard(c->model, xcr0_supported(c->model));
    } else if (subleaf == 1) {
        out[CPUID_EBX] = size_compacted(c->model, c->xcr0 | c->xss);
    }
}

/* ---- model validation -------------------------------------------------------- */

static const struct {
    const char *name;
    unsigned bit;
    bool supervisor, implemented;
} components[] = {
#define XS_SUPERVISOR_USER false
#define XS_SUPERVISOR_SUPERVISOR true
#define XSAVE_COMPONENT(n, b, kind, impl) { #n, b, XS_SUPERVISOR_##kind, impl },
#include "nvmx/xsave_components.def"
#undef XSAVE_COMPONENT
};

static const struct {
    const char *name;
    unsigned bit;
    bool implemented;
} features[] = {
#define XSAVE_FEATURE(n, b, impl) { #n, b, impl },
#include "nvmx/xsave_features.def"
#undef XSAVE_FEATURE
};

__attribute__((format(printf, 3, 4))) static bool refuse(char *why, size_t len,
                                                          const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
    return false;
}

/* The first component of mask that nvmx does not implement or that is of
 * the wrong kind, or -1. */
static int bad_component(uint64_t mask, bool supervisor)
{
    for (unsigned b = 0; b < 64; b++) {
        if (!((mask >> b) & 1))
            continue;
        bool ok = false;
        for (unsigned i = 0; i < sizeof components / sizeof components[0]; i++)
            if (components[i].bit == b)
                ok = components[i].implemented && components[i].supervisor == supervisor;
        if (!ok)
            return (int)b;
    }
    return -1;
}

static const char *component_name(int bit)
{
    for (unsigned i = 0; i < sizeof components / sizeof components[0]; i++)
        if ((int)components[i].bit == bit)
            return components[i].name;
    return "unknown";
}

/* A model's leaf 0DH must enumerate only what nvmx implements, agree with
 * CPUID.01H:ECX.XSAVE, and give the sizes of nvmx's layout. */
bool cpu_model_check_xsave(const struct cpu_model *m, char *why, size_t len)
{
    const struct cpuid_leaf *l1 = cpu_model_leaf(m, 1, 0);
    bool xsave = l1 && ((l1->ecx >> 26) & 1);
    uint32_t s0[4], s1[4];
    leaf_d(m, 0, s0);
    leaf_d(m, 1, s1);
    uint64_t xcr0 = xcr0_supported(m);
    uint64_t xss = ((uint64_t)s1[CPUID_EDX] << 32) | s1[CPUID_ECX];
    int b;

    if (!xsave) {
        if (xcr0 || s1[CPUID_EAX] || xss)
            return refuse(why, len, "CPUID.(EAX=0DH) enumerates XSAVE state or extensions, "
                                      "but CPUID.01H:ECX.XSAVE[bit 26] is clear");
        return true;
    }
    if (!(xcr0 & XFEATURE_X87) || !(xcr0 & XFEATURE_SSE))
        return refuse(why, len, "CPUID.01H:ECX.XSAVE[bit 26] is set, but CPUID.(EAX=0DH,ECX=0):"
                                  "EAX does not enumerate x87 and SSE state (bits 0 and 1)");
    if ((b = bad_component(xcr0, false)) >= 0)
        return refuse(why, len, "CPUID.(EAX=0DH,ECX=0):EDX:EAX[bit %d] enumerates state "
                                  "component %s, which nvmx does not implement as a user "
                                  "component", b, component_name(b));
    if ((b = bad_component(xss, true)) >= 0)
        return refuse(why, len, "CPUID.(EAX=0DH,ECX=1):EDX:ECX[bit %d] enumerates state "
                                  "component %s, which nvmx does not implement as a supervisor "
                                  "component", b, component_name(b));
    for (unsigned i = 0; i < sizeof features / sizeof features[0]; i++)
        if (!features[i].implemented && ((s1[CPUID_EAX] >> features[i].bit) & 1))
            return refuse(why, len, "CPUID.(EAX=0DH,ECX=1):EAX.%s[bit %u] is set, but nvmx "
                                      "does not implement %s", features[i].name,
                            features[i].bit, features[i].name);
    uint32_t want0 = size_standard(m, XFEATURE_X87), want_all = size_standard(m, xcr0);
    uint32_t want1 = size_compacted(m, XFEATURE_X87);
    if (s0[CPUID_EBX] != want0 || s0[CPUID_ECX] != want_all)
        return refuse(why, len, "CPUID.(EAX=0DH,ECX=0): EBX = %u and ECX = %u, but nvmx's "
                                  "XSAVE area takes %u bytes for XCR0 = 1 and %u for every "
                                  "supported component", s0[CPUID_EBX], s0[CPUID_ECX], want0,
                        want_all);
    if ((s1[CPUID_EAX] >> XSAVE_FEAT_XSAVEC) & 1 && s1[CPUID_EBX] != want1)
        return refuse(why, len, "CPUID.(EAX=0DH,ECX=1):EBX = %u, but the compacted XSAVE area "
                                  "takes %u bytes for XCR0 = 1 and IA32_XSS = 0",
                        s1[CPUID_EBX], want1);
    return true;
}
