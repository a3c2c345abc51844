/* Difftest: runs a case in nvmx, 64-bit mode with identity-mapped 4-level
 * paging built in guest RAM (outside the compared areas). */
#include "difftest.h"

#include "cpu/cpu_internal.h"
#include "nvmx/cpu.h"
#include "nvmx/machine.h"

#include <string.h>


static struct machine *m;
static struct cpu *c;
static struct cpu_model model;
static struct cost_model cost;

/* 4 KiB pages: PML4, PDPT, PD, two PTs map 0..4 MiB (SDM 3A "4-Level
 * Paging"). Accessed and dirty preset so nvmx has nothing to set. */
static void build_page_tables(void)
{
    const uint64_t pte = 0x63; /* P | RW | A | D */
    uint64_t pml4 = DT_PT_BASE, pdpt = pml4 + 0x1000, pd = pdpt + 0x1000, pt = pd + 0x1000;
    memset(m->ram + pml4, 0, 0x5000);
    uint64_t e = pdpt | 0x23;
    memcpy(m->ram + pml4, &e, 8);
    e = pd | 0x23;
    memcpy(m->ram + pdpt, &e, 8);
    for (unsigned i = 0; i < DT_RAM_SIZE / 0x200000; i++) {
        e = (pt + 0x1000 * i) | 0x23;
        memcpy(m->ram + pd + 8 * i, &e, 8);
    }
    for (uint64_t a = 0; a < DT_RAM_SIZE; a += 0x1000) {
        e = a | pte;
        memcpy(m->ram + pt + (a >> 12) * 8, &e, 8);
    }
}

/* The CPU model: only what changes how the generated instructions execute.
 * Unicorn's oracle runs TZCNT and LZCNT (its Haswell model), and nvmx
 * executes F3 0F BC / BD as BSF / BSR unless CPUID advertises BMI1
 * (CPUID.(EAX=07H,ECX=0):EBX[3]) and LZCNT (CPUID.80000001H:ECX[5]). */
static void set_model(void)
{
    memset(&model, 0, sizeof model);
    snprintf(model.name, sizeof model.name, "difftest");
    model.leaves[model.nleaves++] = (struct cpuid_leaf){ .leaf = 0, .eax = 7 };
    /* FPU, MMX, FXSR, SSE, SSE2 (CPUID.01H:EDX bits 0, 23, 24, 25, 26) and
     * SSE3, SSSE3, SSE4.1, SSE4.2, POPCNT (ECX bits 0, 9, 19, 20, 23): the
     * SSE, SIMD and SSE floating-point cases */
    model.leaves[model.nleaves++] = (struct cpuid_leaf){
        .leaf = 1,
        .ecx = 1u | 1u << 9 | 1u << 19 | 1u << 20 | 1u << 23,
        .edx = 1u | 1u << 23 | 1u << 24 | 1u << 25 | 1u << 26,
    };
    model.leaves[model.nleaves++] =
        (struct cpuid_leaf){ .leaf = 7, .has_subleaf = true, .subleaf = 0, .ebx = 1u << 3 };
    model.leaves[model.nleaves++] = (struct cpuid_leaf){ .leaf = 0x80000000u, .eax = 0x80000001u };
    model.leaves[model.nleaves++] = (struct cpuid_leaf){ .leaf = 0x80000001u, .ecx = 1u << 5 };
}

bool dt_nvmx_init(char *err, size_t errlen)
{
    set_model();
    m = machine_create(DT_RAM_SIZE);
    if (!m) {
        snprintf(err, errlen, "nvmx: machine_create failed");
        return false;
    }
    m->quiet = true;
    cost_model_defaults(&cost);
    c = cpu_create(m, &model, &cost);
    if (!c) {
        snprintf(err, errlen, "nvmx: cpu_create failed");
        return false;
    }
    build_page_tables();
    return true;
}

void dt_nvmx_fini(void)
{
    if (c)
        cpu_destroy(c);
    if (m)
        machine_destroy(m);
    c = NULL;
    m = NULL;
}

void dt_nvmx_run(const struct dt_case *k, struct dt_result *r)
{
    memset(r, 0, sizeof *r);
    r->ok = true;
    cpu_power_on_reset(c);
    cpu_set_long_mode(c, DT_PT_BASE, DT_GDT_BASE);
    memcpy(m->ram + DT_CODE_BASE, k->code, DT_CODE_SIZE);
    memcpy(m->ram + DT_DATA_BASE, k->init.data, DT_DATA_SIZE);
    memcpy(m->ram + DT_STACK_BASE, k->init.stack, DT_STACK_SIZE);
    cpu_phys_written(c, DT_CODE_BASE, DT_CODE_SIZE + DT_DATA_SIZE);
    cpu_phys_written(c, DT_STACK_BASE, DT_STACK_SIZE);
    c->seg[SEG_FS].base = k->fs_base;
    c->seg[SEG_GS].base = k->gs_base;
    memcpy(c->gpr, k->init.gpr, sizeof c->gpr);
    c->rip = k->init.rip;
    cpu_set_rflags(c, k->init.rflags);
    /* SSE enabled as an OS enables it (SDM 3A "Initialization of the SSE
     * Extensions"): CR4.OSFXSR and OSXMMEXCPT, CR0.EM = 0, CR0.MP = 1. */
    c->cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT;
    c->cr0 = (c->cr0 & ~CR0_EM) | CR0_MP;
    memcpy(c->fpu.xmm, k->init.xmm, sizeof c->fpu.xmm);
    c->fpu.mxcsr = k->init.mxcsr;
    c->fpu.fsw = (uint16_t)((k->init.fp_top & 7) << 11);
    c->fpu.ftw = 0;
    for (unsigned i = 0; i < 8; i++) {
        c->fpu.st[i].signif = k->init.mm[i];
        c->fpu.st[i].sexp = DT_FP_SEXP;
        if ((k->init.fp_empty >> i) & 1)
            c->fpu.ftw |= (uint16_t)(3u << (2 * i));
    }
    c->stop_on_exception = true;
    cpu_tlb_flush(c);
    /* Every other case starts with the data and stack pages in the TLB, so
     * that the specialised memory paths (a TLB hit inline) run from the
     * first access; the others take the reference path until a page is
     * translated. */
    if (k->index & 1) {
        for (uint64_t a = DT_DATA_BASE; a < DT_DATA_BASE + DT_DATA_SIZE; a += 4096)
            cpu_tlb_prefill(c, a, true);
        for (uint64_t a = DT_STACK_BASE; a < DT_STACK_BASE + DT_STACK_SIZE; a += 4096)
            cpu_tlb_prefill(c, a, true);
    }

    enum cpu_stop s = cpu_run(c, k->has_backward ? DT_LOOP_LIMIT : 100000);
    if (s == CPU_STOP_EXCEPTION)
        r->vector = c->last_exception;
    else if (s == CPU_STOP_INSN_LIMIT)
        r->vector = -1;
    else {
        r->vector = -2;
        r->ok = false;
        snprintf(r->err, sizeof r->err, "nvmx: cpu_run stopped with %d (%s)", (int)s,
                 s == CPU_STOP_SHUTDOWN ? "shutdown" : s == CPU_STOP_HLT_FOREVER ? "hlt" : "other");
    }
    memcpy(r->st.gpr, c->gpr, sizeof c->gpr);
    r->st.rip = c->rip;
    r->st.rflags = cpu_get_rflags(c);
    memcpy(r->st.xmm, c->fpu.xmm, sizeof r->st.xmm);
    r->st.mxcsr = c->fpu.mxcsr;
    r->st.fp_top = (uint8_t)((c->fpu.fsw >> 11) & 7);
    r->st.fp_empty = 0;
    for (unsigned i = 0; i < 8; i++) {
        r->st.mm[i] = c->fpu.st[i].signif;
        if (((c->fpu.ftw >> (2 * i)) & 3) == 3)
            r->st.fp_empty |= (uint8_t)(1u << i);
    }
    memcpy(r->st.data, m->ram + DT_DATA_BASE, DT_DATA_SIZE);
    memcpy(r->st.stack, m->ram + DT_STACK_BASE, DT_STACK_SIZE);
}

uint64_t dt_nvmx_undefined_flags(const uint8_t *bytes, unsigned len, bool *have)
{
    struct insn in;
    *have = false;
    memset(&in, 0, sizeof in);
    if (!cpu_decode_bytes(bytes, len, 8, &in))
        return 0;
    *have = true;
    return cpu_undefined_flags(&in);
}
