/* RDMSR/WRMSR back end: one switch generated from include/nvmx/msrs.def, with
 * small functions for the MSRs whose writes have rules beyond reserved bits
 * (SDM 4 "Model-Specific Registers"; SDM 2B "WRMSR"). Returning false means
 * the caller raises #GP(0). */
#include "lbr.h"
#include "paging.h"

#include "nvmx/cpu_hooks.h"
#include "nvmx/lapic.h"



#define APIC_BASE_BSP (1ull << 8)
#define APIC_BASE_EXTD (1ull << 10)
#define APIC_BASE_EN (1ull << 11)
#define FEATURE_CONTROL_LOCK (1ull << 0)
#define FEATURE_CONTROL_VMX_SMX (1ull << 1)
#define FEATURE_CONTROL_VMX (1ull << 2)

static uint64_t phys_addr_mask(const struct cpu *c)
{
    return (1ull << cpu_maxphyaddr(c)) - 1;
}

static bool msr_rd_IA32_TIME_STAMP_COUNTER(struct cpu *c, uint64_t *val)
{
    *val = cpu_tsc(c);
    return true;
}

/* SDM 3A "Time-Stamp Counter": a write sets the counter; keep the offset so
 * that cpu_tsc() continues from the written value. */
static bool msr_wr_IA32_TIME_STAMP_COUNTER(struct cpu *c, uint64_t val)
{
    c->tsc_offset += val - cpu_tsc(c);
    return true;
}

static bool msr_rd_IA32_APIC_BASE(struct cpu *c, uint64_t *val)
{
    *val = c->apic_base;
    return true;
}

/* SDM 3A "Local APIC Status and Location" / "x2APIC State Transitions":
 * base bits above MAXPHYADDR, bits 7:0 and 9 are reserved; EXTD needs x2APIC
 * support and may not be set with EN clear. */
static bool msr_wr_IA32_APIC_BASE(struct cpu *c, uint64_t val)
{
    uint64_t ok = APIC_BASE_BSP | APIC_BASE_EN | (phys_addr_mask(c) & ~0xfffull);

    if (cpu_cpuid_feature(c, 1, CPUID_ECX, 21))
        ok |= APIC_BASE_EXTD;
    if (val & ~ok)
        return false;
    if ((val & APIC_BASE_EXTD) && !(val & APIC_BASE_EN))
        return false;
    /* disabled -> x2APIC directly is invalid too (Figure "Local x2APIC
     * State Transitions"): it goes through xAPIC mode */
    if (!(c->apic_base & APIC_BASE_EN) && (val & APIC_BASE_EXTD))
        return false;
    /* x2APIC mode cannot be left directly for xAPIC mode (SDM 3A "x2APIC
     * State Transitions": x2APIC -> xAPIC is invalid, #GP). */
    if ((c->apic_base & APIC_BASE_EXTD) && (val & APIC_BASE_EN) && !(val & APIC_BASE_EXTD))
        return false;
    /* BSP is a read-only status bit: keep it */
    c->apic_base = (val & ~APIC_BASE_BSP) | (c->apic_base & APIC_BASE_BSP);
    if (c->m && c->m->lapic) {
        struct lapic *l = c->m->lapic;
        bool x2 = (val & APIC_BASE_EXTD) != 0;
        if (x2 && !l->x2apic) /* logical ID derived from the x2APIC ID */
            l->ldr = ((l->id >> 4) << 16) | (1u << (l->id & 0xf));
        l->x2apic = x2;
        lapic_set_global_enable(l, (val & APIC_BASE_EN) != 0);
        machine_lapic_map(c->m, val & phys_addr_mask(c) & ~0xfffull,
                          (val & APIC_BASE_EN) && !x2);
        c->recheck = true;
    }
    return true;
}

/* SDM 3A "TSC-Deadline Mode": reads return the armed deadline (0 if none). */
static bool msr_rd_IA32_TSC_DEADLINE(struct cpu *c, uint64_t *val)
{
    if (!cpu_cpuid_feature(c, 1, CPUID_ECX, 24))
        return false;
    *val = c->m && c->m->lapic ? c->m->lapic->tsc_deadline : 0;
    return true;
}

static bool msr_wr_IA32_TSC_DEADLINE(struct cpu *c, uint64_t val)
{
    if (!cpu_cpuid_feature(c, 1, CPUID_ECX, 24))
        return false;
    if (c->m && c->m->lapic)
        lapic_set_tsc_deadline(c->m->lapic, val, c->tsc_offset, c->cycles);
    return true;
}

/* IA32_XSS: src/cpu/xsave_xcr.c. */
static bool msr_rd_IA32_XSS(struct cpu *c, uint64_t *val)
{
    return cpu_rdmsr_xss(c, val);
}

static bool msr_wr_IA32_XSS(struct cpu *c, uint64_t val)
{
    return cpu_wrmsr_xss(c, val);
}

/* MSRs outside msrs.def: the x2APIC range and VMX's capability MSRs. */
static bool msr_rd_IA32_DEBUGCTL(struct cpu *c, uint64_t *val)
{
    *val = c->debugctl;
    return true;
}

/* SDM 3B "IA32_DEBUGCTL MSR": bits the model lacks are reserved. Setting
 * LBR changes how the run loop steps (src/cpu/lbr.c). */
static bool msr_wr_IA32_DEBUGCTL(struct cpu *c, uint64_t val)
{
    if (val & ~cpu_debugctl_valid(c))
        return false;
    c->debugctl = val;
    c->end_block = true;
    return true;
}

static bool msr_rd_other(struct cpu *c, uint32_t index, uint64_t *val)
{
    bool ok = false;
    if (lbr_msr(c, index))
        return lbr_rdmsr(c, index, val);
    if (index >= 0x800 && index <= 0x8ff)
        return c->m && c->m->lapic && lapic_rdmsr(c->m->lapic, index, c->cycles, val);
    if (c->hooks && c->hooks->rdmsr && c->hooks->rdmsr(c, index, val, &ok))
        return ok;
    return false;
}

static bool msr_wr_other(struct cpu *c, uint32_t index, uint64_t val)
{
    bool ok = false;
    if (lbr_msr(c, index))
        return lbr_wrmsr(c, index, val);
    if (index >= 0x800 && index <= 0x8ff) {
        if (!c->m || !c->m->lapic ||
            !lapic_wrmsr(c->m->lapic, index, c->cycles, c->tsc_offset, val))
            return false;
        if (c->m->lapic->nmi_pending) {
            c->m->lapic->nmi_pending = false;
            cpu_raise_nmi(c);
        }
        c->end_block = true; /* a self-IPI or EOI may make an interrupt deliverable */
        return true;
    }
    if (c->hooks && c->hooks->wrmsr && c->hooks->wrmsr(c, index, val, &ok))
        return ok;
    return false;
}

static bool msr_rd_IA32_FEATURE_CONTROL(struct cpu *c, uint64_t *val)
{
    *val = c->feature_control;
    return true;
}

/* SDM 3C "Enabling and Entering VMX Operation": once the lock bit is set,
 * WRMSR to IA32_FEATURE_CONTROL is #GP until reset. */
static bool msr_wr_IA32_FEATURE_CONTROL(struct cpu *c, uint64_t val)
{
    uint64_t ok = FEATURE_CONTROL_LOCK;

    if (c->feature_control & FEATURE_CONTROL_LOCK)
        return false;
    if (cpu_cpuid_feature(c, 1, CPUID_ECX, 5))
        ok |= FEATURE_CONTROL_VMX;
    if (cpu_cpuid_feature(c, 1, CPUID_ECX, 6) && cpu_cpuid_feature(c, 1, CPUID_ECX, 5))
        ok |= FEATURE_CONTROL_VMX_SMX;
    if (val & ~ok)
        return false;
    c->feature_control = val;
    return true;
}

/* SDM 3A "PAT Memory Types": valid encodings are 0 (UC), 1 (WC), 4 (WT),
 * 5 (WP), 6 (WB), 7 (UC-); 2, 3 and bits 7:3 of each entry are reserved. */
static bool memtype_valid(unsigned t, bool uc_minus_ok)
{
    return t == 0 || t == 1 || t == 4 || t == 5 || t == 6 || (uc_minus_ok && t == 7);
}

static bool msr_rd_IA32_PAT(struct cpu *c, uint64_t *val)
{
    *val = c->pat;
    return true;
}

static bool msr_wr_IA32_PAT(struct cpu *c, uint64_t val)
{
    for (unsigned i = 0; i < 8; i++)
        if (!memtype_valid((val >> (i * 8)) & 0xff, true))
            return false;
    if (val != c->pat)
        cpu_tlb_flush(c); /* memory types of cached translations change */
    c->pat = val;
    return true;
}

static bool msr_rd_IA32_MTRR_DEF_TYPE(struct cpu *c, uint64_t *val)
{
    *val = c->mtrr_def_type;
    return true;
}

/* SDM 3A "IA32_MTRR_DEF_TYPE MSR": bits 7:0 type, 10 FE, 11 E. */
static bool msr_wr_IA32_MTRR_DEF_TYPE(struct cpu *c, uint64_t val)
{
    if ((val & ~0xcffull) || !memtype_valid(val & 0xff, false))
        return false;
    c->mtrr_def_type = val;
    return true;
}

static bool msr_rd_IA32_EFER(struct cpu *c, uint64_t *val)
{
    *val = c->efer;
    return true;
}

/* SDM 4 Table "IA-32 Architectural MSRs" (IA32_EFER) and SDM 3A "Enabling
 * and Changing Paging Modes": SCE, LME and NXE exist only when CPUID
 * advertises SYSCALL, Intel 64 and XD; LMA is read-only (the written bit is
 * ignored); LME cannot change while CR0.PG = 1. */
static bool msr_wr_IA32_EFER(struct cpu *c, uint64_t val)
{
    uint64_t ok = EFER_LMA;

    if (cpu_cpuid_feature(c, 0x80000001, CPUID_EDX, 11))
        ok |= EFER_SCE;
    if (cpu_cpuid_feature(c, 0x80000001, CPUID_EDX, 29))
        ok |= EFER_LME;
    if (cpu_cpuid_feature(c, 0x80000001, CPUID_EDX, 20))
        ok |= EFER_NXE;
    if (val & ~ok)
        return false;
    if ((c->cr0 & CR0_PG) && ((val ^ c->efer) & EFER_LME))
        return false;

    uint64_t nv = (val & ~EFER_LMA) | (c->efer & EFER_LMA);
    if ((nv ^ c->efer) & EFER_NXE)
        cpu_tlb_flush(c); /* XD bits change meaning */
    c->efer = nv;
    cpu_update_mode(c);
    c->end_block = true;
    return true;
}

/* Generic kinds (see msrs.def). */
#define MSR_RD_RW(c, val, n, f) (*(val) = (c)->f, true)
#define MSR_RD_CANON(c, val, n, f) (*(val) = (c)->f, true)
#define MSR_RD_ZERO(c, val, n, f) (*(val) = 0, true)
#define MSR_RD_RO0(c, val, n, f) (*(val) = 0, true)
#define MSR_RD_FN(c, val, n, f) msr_rd_##n((c), (val))

#define MSR_WR_RW(c, v, n, f, r) (((v) & (r)) ? false : ((c)->f = (v), true))
#define MSR_WR_CANON(c, v, n, f, r) (!canonical(v) ? false : ((c)->f = (v), true))
#define MSR_WR_ZERO(c, v, n, f, r) ((v) == 0)
#define MSR_WR_RO0(c, v, n, f, r) false
#define MSR_WR_FN(c, v, n, f, r) msr_wr_##n((c), (v))

bool cpu_rdmsr(struct cpu *c, uint32_t index, uint64_t *val)
{
    switch (index) {
#define MSR(n, idx, kind, f, r) \
    case idx: return MSR_RD_##kind(c, val, n, f);
#include "nvmx/msrs.def"
#undef MSR
    default: return msr_rd_other(c, index, val);
    }
}

bool cpu_wrmsr(struct cpu *c, uint32_t index, uint64_t val)
{
    switch (index) {
#define MSR(n, idx, kind, f, r) \
    case idx: return MSR_WR_##kind(c, val, n, f, r);
#include "nvmx/msrs.def"
#undef MSR
    default: return msr_wr_other(c, index, val);
    }
}
