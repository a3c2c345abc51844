/* Config files: the shipped CPU and cost models load and advertise only what nvmx
 * implements (CPUID features, VMX capability MSRs), and every kind
 * of bad input gives an error naming the file, the key and the problem. */
#include "nvmx/config.h"
#include "nvmx/vmx.h"
#include "harness.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char srcdir[512];
static char tmpdir[256];

/* The source tree: this file is tests/unit/test_config.c in it. */
static void find_srcdir(void)
{
    const char *env = getenv("NVMX_SOURCE_DIR");
    if (env && *env) {
        snprintf(srcdir, sizeof(srcdir), "%s", env);
        return;
    }
    snprintf(srcdir, sizeof(srcdir), "%s", __FILE__);
    char *p = strstr(srcdir, "tests/unit/test_config.c");
    ck_assert_msg(p != NULL, "cannot locate the source tree from %s", __FILE__);
    *p = 0;
    if (p == srcdir)
        strcpy(srcdir, "./");
}

static const char *config_path(const char *rel)
{
    static char buf[4][640];
    static unsigned n;
    char *p = buf[n++ % 4];
    snprintf(p, sizeof(buf[0]), "%sconfigs/%s", srcdir, rel);
    return p;
}

static void setup(void)
{
    find_srcdir();
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof(tmpdir), "%s/nvmx-cfg-XXXXXX", base && *base ? base : P_tmpdir);
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

static const char *write_tmp(const char *name, const char *text)
{
    static char path[320];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* ---- shipped CPU models ----------------------------------------------------- */

static void cpuid(const struct cpu_model *cm, uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    const struct cpuid_leaf *l = config_find_leaf(cm, leaf, sub);
    ck_assert_msg(l != NULL, "%s: leaf 0x%x subleaf %u missing", cm->name, leaf, sub);
    r[0] = l->eax;
    r[1] = l->ebx;
    r[2] = l->ecx;
    r[3] = l->edx;
}

enum { EAX, EBX, ECX, EDX };
struct feature {
    const char *name;
    uint32_t leaf;
    unsigned reg, bit;
    bool want;
};

/* SDM 2A "CPUID -- CPU Identification", feature flag tables. Only what nvmx
 * implements in this stage may be advertised. */
static const struct feature sky_features[] = {
    { "FPU", 1, EDX, 0, false },       { "PSE", 1, EDX, 3, true },
    { "TSC", 1, EDX, 4, true },        { "MSR", 1, EDX, 5, true },
    { "PAE", 1, EDX, 6, true },        { "CX8", 1, EDX, 8, true },
    { "APIC", 1, EDX, 9, true },      { "SEP", 1, EDX, 11, true },
    { "PGE", 1, EDX, 13, true },       { "CMOV", 1, EDX, 15, true },
    { "PAT", 1, EDX, 16, true },       { "CLFSH", 1, EDX, 19, true },
    { "MMX", 1, EDX, 23, false },      { "FXSR", 1, EDX, 24, true },
    { "SSE", 1, EDX, 25, false },      { "SSE2", 1, EDX, 26, false },
    { "SSE3", 1, ECX, 0, false },      { "MONITOR", 1, ECX, 3, false },
    { "VMX", 1, ECX, 5, true },       { "CX16", 1, ECX, 13, true },
    { "PCID", 1, ECX, 17, true },      { "x2APIC", 1, ECX, 21, true },
    { "MOVBE", 1, ECX, 22, true },     { "POPCNT", 1, ECX, 23, true },
    { "XSAVE", 1, ECX, 26, true },    { "AVX", 1, ECX, 28, false },
    { "RDRAND", 1, ECX, 30, false },  { "TSC-deadline", 1, ECX, 24, true },   { "FSGSBASE", 7, EBX, 0, true },
    { "AVX2", 7, EBX, 5, false },      { "SMEP", 7, EBX, 7, true },
    { "INVPCID", 7, EBX, 10, true },   { "SMAP", 7, EBX, 20, true },
    { "AVX512F", 7, EBX, 16, false },  { "LAHF_LM", 0x80000001, ECX, 0, true },
    { "ABM", 0x80000001, ECX, 5, true }, { "SYSCALL", 0x80000001, EDX, 11, true },
    { "NX", 0x80000001, EDX, 20, true }, { "Page1GB", 0x80000001, EDX, 26, true },
    { "RDTSCP", 0x80000001, EDX, 27, true }, { "LM", 0x80000001, EDX, 29, true },
};

START_TEST(skylake_server_features)
{
    static struct cpu_model cm;
    char err[512];
    ck_assert_msg(config_load_cpu_model(config_path("cpu/skylake-server.json"), &cm, err,
                                        sizeof(err)), "%s", err);
    const struct feature *f = &sky_features[_i];
    uint32_t r[4];
    cpuid(&cm, f->leaf, 0, r);
    bool has = (r[f->reg] >> f->bit) & 1;
    ck_assert_msg(has == f->want, "%s (leaf 0x%x bit %u): expected %d, got %d", f->name,
                  f->leaf, f->bit, f->want, has);
}
END_TEST

/* Skylake's LBR stack: 32 entries with LBR_INFO; the reduced model has none. */
START_TEST(lbr_stacks)
{
    static struct cpu_model cm;
    char err[512];
    ck_assert_msg(config_load_cpu_model(config_path("cpu/skylake-server.json"), &cm, err,
                                        sizeof(err)), "%s", err);
    ck_assert_uint_eq(cm.lbr_depth, 32);
    ck_assert(cm.lbr_info);
    ck_assert_msg(config_load_cpu_model(config_path("cpu/reduced.json"), &cm, err, sizeof(err)),
                  "%s", err);
    ck_assert_uint_eq(cm.lbr_depth, 0);
}
END_TEST

START_TEST(skylake_server_identity)
{
    static struct cpu_model cm;
    char err[512], vendor[13], brand[49];
    uint32_t r[4];
    ck_assert_msg(config_load_cpu_model(config_path("cpu/skylake-server.json"), &cm, err,
                                        sizeof(err)), "%s", err);
    cpuid(&cm, 0, 0, r);
    memcpy(vendor, &r[EBX], 4);
    memcpy(vendor + 4, &r[EDX], 4);
    memcpy(vendor + 8, &r[ECX], 4);
    vendor[12] = 0;
    ck_assert_str_eq(vendor, "GenuineIntel");
    cpuid(&cm, 1, 0, r);
    unsigned family = (r[EAX] >> 8) & 0xf;
    unsigned model = ((r[EAX] >> 4) & 0xf) | ((r[EAX] >> 12) & 0xf0);
    ck_assert_uint_eq(family, 6);
    ck_assert_uint_eq(model, 0x55);
    for (unsigned i = 0; i < 3; i++) {
        cpuid(&cm, 0x80000002 + i, 0, r);
        memcpy(brand + 16 * i, r, 16);
    }
    brand[48] = 0;
    ck_assert_str_eq(brand, "nvmx Skylake-SP model");
    cpuid(&cm, 0x80000008, 0, r);
    ck_assert_uint_eq(r[EAX] & 0xff, 46); /* Skylake-SP's MAXPHYADDR */
    ck_assert_uint_eq((r[EAX] >> 8) & 0xff, 48);
    cpuid(&cm, 4, 2, r); /* L2: ways * partitions * line * sets = 1 MiB */
    ck_assert_uint_eq((((r[EBX] >> 22) & 0x3ff) + 1) * (((r[EBX] >> 12) & 0x3ff) + 1) *
                          ((r[EBX] & 0xfff) + 1) * (r[ECX] + 1),
                      1u << 20);
}
END_TEST

START_TEST(reduced_model_is_smaller)
{
    static struct cpu_model red, sky;
    char err[512];
    uint32_t r[4];
    ck_assert_msg(config_load_cpu_model(config_path("cpu/reduced.json"), &red, err, sizeof(err)),
                  "%s", err);
    ck_assert_msg(config_load_cpu_model(config_path("cpu/skylake-server.json"), &sky, err,
                                        sizeof(err)), "%s", err);
    ck_assert_str_eq(red.name, "reduced");
    ck_assert_uint_lt(red.nleaves, sky.nleaves);
    cpuid(&red, 1, 0, r);
    ck_assert_uint_eq((r[ECX] >> 17) & 1, 0); /* no PCID */
    ck_assert_uint_eq(r[EDX] & 1, 0);         /* no FPU */
    /* none of the vector features: FXSR, SSE, SSE2, SSE3, SSSE3, SSE4.1,
     * SSE4.2, POPCNT, XSAVE; no leaf 0DH */
    ck_assert_uint_eq(r[EDX] & ((1u << 23) | (1u << 24) | (1u << 25) | (1u << 26)), 0);
    ck_assert_uint_eq(r[ECX] & ((1u << 0) | (1u << 9) | (1u << 19) | (1u << 20) | (1u << 23) |
                                (1u << 26)), 0);
    ck_assert_ptr_null(config_find_leaf(&red, 0xd, 0));
    ck_assert_ptr_null(config_find_leaf(&red, 7, 0));
    cpuid(&red, 0x80000001, 0, r);
    ck_assert_uint_eq((r[EDX] >> 29) & 1, 1); /* still 64-bit */
    ck_assert_uint_eq((r[EDX] >> 26) & 1, 0); /* no 1 GiB pages */
}
END_TEST

/* ---- VMX capability MSRs of the shipped models ---------------------------------- */

static void load_model(const char *rel, struct cpu_model *cm)
{
    char err[512];
    ck_assert_msg(config_load_cpu_model(config_path(rel), cm, err, sizeof(err)), "%s", err);
}

START_TEST(skylake_server_vmx_msrs)
{
    static struct cpu_model cm;
    load_model("cpu/skylake-server.json", &cm);
    ck_assert(cm.has_vmx_msrs);
    const uint64_t *m = cm.vmx_msrs;
    /* SDM 3C Appendix A: revision 4, 4 KiB region, WB, bits 54 and 55 */
    ck_assert_uint_eq(m[VMX_MSR_BASIC] & 0x7fffffff, 4);
    ck_assert_uint_eq((m[VMX_MSR_BASIC] >> 32) & 0x1fff, 4096);
    ck_assert_uint_eq((m[VMX_MSR_BASIC] >> 50) & 0xf, 6);
    ck_assert_uint_eq((m[VMX_MSR_BASIC] >> 54) & 3, 3);
    ck_assert_uint_eq((m[VMX_MSR_BASIC] >> 48) & 3, 0);
    ck_assert_uint_eq(m[VMX_MSR_PINBASED_CTLS], 0x7f00000016ull);
    ck_assert_uint_eq(m[VMX_MSR_CR0_FIXED0], 0x80000021ull);
    ck_assert_uint_eq(m[VMX_MSR_CR4_FIXED0], 0x2000ull);
    uint32_t proc1 = (uint32_t)(m[VMX_MSR_PROCBASED_CTLS] >> 32);
    uint32_t proc2 = (uint32_t)(m[VMX_MSR_PROCBASED_CTLS2] >> 32);
    ck_assert(proc1 & (uint32_t)PROC_ACTIVATE_SECONDARY_CONTROLS);
    ck_assert(!(proc1 & (uint32_t)PROC_USE_TPR_SHADOW));
    ck_assert(proc2 & (uint32_t)PROC2_ENABLE_EPT);
    ck_assert(proc2 & (uint32_t)PROC2_ENABLE_VPID);
    ck_assert(proc2 & (uint32_t)PROC2_UNRESTRICTED_GUEST);
    ck_assert(proc2 & (uint32_t)PROC2_VMCS_SHADOWING); /* as Skylake-SP */
    ck_assert(proc2 & (uint32_t)PROC2_ENABLE_VM_FUNCTIONS);
    ck_assert(proc2 & (uint32_t)PROC2_ENABLE_PML);
    ck_assert(proc2 & (uint32_t)PROC2_EPT_VIOLATION_VE);
    ck_assert(proc2 & (uint32_t)PROC2_ENABLE_RDTSCP);
    /* the part's IA32_VMX_EPT_VPID_CAP (SDM 3D Appendix A "VPID and EPT
     * Capabilities"): no 5-level walks, no shadow-stack control */
    ck_assert_uint_eq(m[VMX_MSR_EPT_VPID_CAP], 0x00000f0106734141ull);
    ck_assert_uint_eq(m[VMX_MSR_VMFUNC], 1); /* EPTP switching, as the part */
    /* CR4_FIXED1 stays within CPUID: OSFXSR (FXSR) and OSXSAVE (XSAVE), no
     * OSXMMEXCPT (SSE), PKE, LA57 */
    ck_assert_uint_eq(m[VMX_MSR_CR4_FIXED1] & ((1u << 18) | (1u << 9)), (1u << 18) | (1u << 9));
    ck_assert_uint_eq(m[VMX_MSR_CR4_FIXED1] & ((1u << 10) | (1u << 22) | (1u << 12)), 0);
    ck_assert(proc2 & (uint32_t)PROC2_ENABLE_XSAVES_XRSTORS);
}
END_TEST

START_TEST(reduced_vmx_msrs)
{
    static struct cpu_model cm;
    load_model("cpu/reduced.json", &cm);
    ck_assert(cm.has_vmx_msrs);
    uint32_t r[4];
    cpuid(&cm, 1, 0, r);
    ck_assert_uint_eq((r[ECX] >> 5) & 1, 1);
    ck_assert_uint_eq((cm.vmx_msrs[VMX_MSR_PROCBASED_CTLS] >> 63) & 1, 0); /* no secondary */
    ck_assert_uint_eq(cm.vmx_msrs[VMX_MSR_PROCBASED_CTLS2], 0);
    ck_assert_uint_eq((cm.vmx_msrs[VMX_MSR_BASIC] >> 55) & 1, 0);
    ck_assert_uint_eq(cm.vmx_msrs[VMX_MSR_TRUE_PROCBASED_CTLS], 0);
}
END_TEST

/* A valid reduced-like vmx_msrs object with one MSR replaced; leaf 1 ECX
 * says VMX unless vmx is false. */
static char *vmx_model_json(const char *msr, const char *value, const char *extra, bool vmx)
{
    static const char *const base[][2] = {
        { "IA32_VMX_BASIC", "0x0018100000000004" },
        { "IA32_VMX_PINBASED_CTLS", "0x0000003f00000016" },
        { "IA32_VMX_PROCBASED_CTLS", "0xffd9fffe0401e172" },
        { "IA32_VMX_EXIT_CTLS", "0x003fefff00036dff" },
        { "IA32_VMX_ENTRY_CTLS", "0x0000d3ff000011ff" },
        { "IA32_VMX_MISC", "0x00000000000401e5" },
        { "IA32_VMX_CR0_FIXED0", "0x80000021" },
        { "IA32_VMX_CR0_FIXED1", "0xffffffff" },
        { "IA32_VMX_CR4_FIXED0", "0x2000" },
        { "IA32_VMX_CR4_FIXED1", "0x21b4" },
        { "IA32_VMX_VMCS_ENUM", "0x4c" },
        { "IA32_VMX_PROCBASED_CTLS2", "0x0000000800000000" },
        { "IA32_VMX_EPT_VPID_CAP", "0x0" },
        { "IA32_VMX_TRUE_PINBASED_CTLS", "0x0" },
        { "IA32_VMX_TRUE_PROCBASED_CTLS", "0x0" },
        { "IA32_VMX_TRUE_EXIT_CTLS", "0x0" },
        { "IA32_VMX_TRUE_ENTRY_CTLS", "0x0" },
        { "IA32_VMX_VMFUNC", "0x0" },
    };
    static char buf[4096];
    int n = snprintf(buf, sizeof(buf),
                     "{\"name\": \"v\", \"leaves\": [{\"leaf\": 0, \"eax\": 7}, "
                     "{\"leaf\": 1, \"ecx\": \"%s\", \"edx\": \"0x2058\"}, "
                     "{\"leaf\": 7, \"subleaf\": 0, \"ebx\": \"0x400\"}, "
                     "{\"leaf\": \"0x80000000\", \"eax\": \"0x80000001\"}, "
                     "{\"leaf\": \"0x80000001\", \"edx\": \"0x08000000\"}], \"vmx_msrs\": {",
                     vmx ? "0x20" : "0x0");
    for (unsigned i = 0; i < sizeof(base) / sizeof(base[0]); i++) {
        const char *v = base[i][1];
        if (msr && !strcmp(msr, base[i][0])) {
            if (!value)
                continue; /* leave it out */
            v = value;
        }
        n += snprintf(buf + n, sizeof(buf) - n, "%s\"%s\": \"%s\"", n && buf[n - 1] != '{' ? ", " : "",
                      base[i][0], v);
    }
    snprintf(buf + n, sizeof(buf) - n, "%s}}", extra ? extra : "");
    return buf;
}

START_TEST(vmx_model_base_is_valid)
{
    static struct cpu_model cm;
    char err[512];
    const char *path = write_tmp("vmx.json", vmx_model_json(NULL, NULL, NULL, true));
    ck_assert_msg(config_load_cpu_model(path, &cm, err, sizeof(err)), "%s", err);
    ck_assert_uint_eq(cm.vmx_msrs[VMX_MSR_CR4_FIXED1], 0x21b4);
    ck_assert_uint_eq(cm.vmx_msrs[VMX_MSR_PROCBASED_CTLS], 0xffd9fffe0401e172ull);
}
END_TEST

/* Each model must be refused with a message naming the file, the MSR (or
 * key) and the bit. */
static const struct {
    const char *name, *msr, *value, *extra;
    bool vmx;
    const char *expect;
} bad_vmx[] = {
    { "unknown_msr", NULL, NULL, ", \"IA32_VMX_FOO\": \"0x1\"", true,
      "vmx_msrs.IA32_VMX_FOO: unknown VMX capability MSR" },
    { "missing_msr", "IA32_VMX_MISC", NULL, NULL, true, "vmx_msrs.IA32_VMX_MISC: missing" },
    { "not_hex", "IA32_VMX_MISC", "0xzz", NULL, true, "vmx_msrs.IA32_VMX_MISC: \"0xzz\"" },
    { "no_cpuid_vmx", NULL, NULL, NULL, false, "CPUID.1:ECX.VMX[bit 5] is clear" },
    { "ept_without_cap", "IA32_VMX_PROCBASED_CTLS2", "0x0000000a00000000", NULL, true,
      "IA32_VMX_EPT_VPID_CAP: 'enable EPT' is allowed but the MSR allows no 4-level walk" },
    { "mode_based_ept", "IA32_VMX_PROCBASED_CTLS2", "0x0040000800000000", NULL, true,
      "IA32_VMX_PROCBASED_CTLS2 allows bit 22 (MODE_BASED_EPT_EXECUTE), which nvmx does not implement" },
    { "pt_conceal", "IA32_VMX_PROCBASED_CTLS2", "0x0008000800000000", NULL, true,
      "IA32_VMX_PROCBASED_CTLS2 allows bit 19 (CONCEAL_VMX_FROM_PT)" },
    { "tpr_shadow", "IA32_VMX_PROCBASED_CTLS", "0xfff9fffe0401e172", NULL, true,
      "IA32_VMX_PROCBASED_CTLS allows bit 21 (USE_TPR_SHADOW)" },
    { "posted", "IA32_VMX_PINBASED_CTLS", "0x000000bf00000016", NULL, true,
      "IA32_VMX_PINBASED_CTLS allows bit 7 (PROCESS_POSTED_INTERRUPTS)" },
    { "perf_global", "IA32_VMX_EXIT_CTLS", "0x003fffff00036dff", NULL, true,
      "IA32_VMX_EXIT_CTLS allows bit 12 (LOAD_PERF_GLOBAL_CTRL)" },
    { "entry_smm", "IA32_VMX_ENTRY_CTLS", "0x0000d7ff000011ff", NULL, true,
      "IA32_VMX_ENTRY_CTLS allows bit 10 (ENTRY_TO_SMM)" },
    { "dual_monitor", "IA32_VMX_BASIC", "0x001a100000000004", NULL, true, "bit 49" },
    { "pa32", "IA32_VMX_BASIC", "0x0019100000000004", NULL, true, "bit 48" },
    { "region_size", "IA32_VMX_BASIC", "0x0018040000000004", NULL, true, "region size" },
    { "memtype_uc", "IA32_VMX_BASIC", "0x0000100000000004", NULL, true, "memory type" },
    { "true_without_bit55", "IA32_VMX_TRUE_PINBASED_CTLS", "0x0000003f00000016", NULL, true,
      "IA32_VMX_TRUE_PINBASED_CTLS must be 0 when IA32_VMX_BASIC bit 55 is clear" },
    { "default1_zero", "IA32_VMX_PINBASED_CTLS", "0x0000003f00000014", NULL, true,
      "IA32_VMX_PINBASED_CTLS reports default1 bit 1" },
    { "misc_pt", "IA32_VMX_MISC", "0x00000000000441e5", NULL, true,
      "IA32_VMX_MISC sets bit 14" },
    { "misc_cr3_targets", "IA32_VMX_MISC", "0x00000000000501e5", NULL, true,
      "5 CR3-target values" },
    { "cr0_unrestricted", "IA32_VMX_CR0_FIXED0", "0x80000020", NULL, true, "CR0 bit 0" },
    { "cr4_la57", "IA32_VMX_CR4_FIXED1", "0x31b4", NULL, true,
      "IA32_VMX_CR4_FIXED1 allows CR4 bit 12" },
    { "cr4_not_in_cpuid", "IA32_VMX_CR4_FIXED1", "0x61b4", NULL, true,
      "IA32_VMX_CR4_FIXED1 allows CR4 bit 14, which the model's CPUID does not enumerate" },
    { "vmcs_enum", "IA32_VMX_VMCS_ENUM", "0x2e", NULL, true, "IA32_VMX_VMCS_ENUM is 0x2e" },
    { "ept_cap_without_ept", "IA32_VMX_EPT_VPID_CAP", "0x40", NULL, true,
      "IA32_VMX_EPT_VPID_CAP must be 0 when IA32_VMX_PROCBASED_CTLS2 allows neither" },
    { "vmfunc", "IA32_VMX_VMFUNC", "0x1", NULL, true,
      "IA32_VMX_VMFUNC must be 0 when IA32_VMX_PROCBASED_CTLS2 does not allow bit 13" },
    { "vmfunc_bit1", "IA32_VMX_VMFUNC", "0x2", NULL, true,
      "IA32_VMX_VMFUNC sets bit 1; nvmx implements VM function 0" },
    { "proc2_without_bit31", "IA32_VMX_PROCBASED_CTLS", "0x7fd9fffe0401e172", NULL, true,
      "IA32_VMX_PROCBASED_CTLS2 must be 0" },
};

START_TEST(vmx_model_errors)
{
    static struct cpu_model cm;
    char err[512] = "", name[64];
    snprintf(name, sizeof(name), "%s.json", bad_vmx[_i].name);
    const char *path = write_tmp(name, vmx_model_json(bad_vmx[_i].msr, bad_vmx[_i].value,
                                                      bad_vmx[_i].extra, bad_vmx[_i].vmx));
    /* The loader checks the file and its consistency with CPUID; what nvmx
     * implements is vmx_caps_validate's (the CLI runs both, and names the
     * file in either message). */
    if (config_load_cpu_model(path, &cm, err, sizeof(err))) {
        struct vmx_caps caps;
        char why[400];
        memcpy(caps.msr, cm.vmx_msrs, sizeof(caps.msr));
        ck_assert_msg(!vmx_caps_validate(&caps, why, sizeof(why)), "%s: accepted",
                      bad_vmx[_i].name);
        snprintf(err, sizeof(err), "%s: %s", path, why);
    }
    ck_assert_msg(strstr(err, bad_vmx[_i].expect) && strstr(err, path),
                  "%s: expected '%s' and the path in '%s'", bad_vmx[_i].name, bad_vmx[_i].expect,
                  err);
}
END_TEST

/* ---- shipped cost model ------------------------------------------------------- */

START_TEST(default_cost_matches_builtin_and_cites_sources)
{
    static struct cost_model file, builtin;
    char err[512];
    const char *path = config_path("cost/default.json");
    ck_assert_msg(config_load_cost_model(path, &file, err, sizeof(err)), "%s", err);
    cost_model_defaults(&builtin);
    json_t *root = json_load_file(path, 0, NULL);
    ck_assert_ptr_nonnull(root);
    json_t *classes = json_object_get(root, "classes"), *sources = json_object_get(root, "sources");
    for (unsigned i = 0; i < COST_NCLASSES; i++) {
        const char *n = cost_class_names[i];
        ck_assert_msg(file.cycles[i] == builtin.cycles[i], "%s: file %u, cost_classes.def %u", n,
                      file.cycles[i], builtin.cycles[i]);
        ck_assert_msg(json_object_get(classes, n), "%s: not in classes", n);
        ck_assert_msg(json_is_string(json_object_get(sources, n)), "%s: no source cited", n);
    }
    json_decref(root);
}
END_TEST

/* ---- errors --------------------------------------------------------------------- */

static const struct {
    const char *name, *json, *expect;
} bad_cpu[] = {
    { "syntax", "{\"name\": \"x\",\n \"leaves\": [}", ":2:" },
    { "not_object", "[1, 2]", "top level must be an object" },
    { "no_name", "{\"leaves\": []}", "name: missing" },
    { "name_type", "{\"name\": 5, \"leaves\": []}", "name: expected a string" },
    { "name_long", "{\"name\": \"0123456789012345678901234567890123456789012345678901234567890123456789\", \"leaves\": []}",
      "name: must be" },
    { "no_leaves", "{\"name\": \"x\"}", "leaves: missing" },
    { "unknown_key", "{\"name\": \"x\", \"leaves\": [], \"vmx\": 1}", "vmx: unknown key" },
    { "leaves_type", "{\"name\": \"x\", \"leaves\": {}}", "leaves: expected an array" },
    { "leaf_type", "{\"name\": \"x\", \"leaves\": [3]}", "leaves[0]: expected an object" },
    { "leaf_unknown", "{\"name\": \"x\", \"leaves\": [{\"leaf\": 0, \"esx\": 1}]}",
      "leaves[0].esx: unknown key" },
    { "leaf_missing", "{\"name\": \"x\", \"leaves\": [{\"eax\": 0}]}", "leaves[0].leaf: missing" },
    { "bad_hex", "{\"name\": \"x\", \"leaves\": [{\"leaf\": \"0xzz\"}]}",
      "leaves[0].leaf: \"0xzz\" is not a number" },
    { "too_big", "{\"name\": \"x\", \"leaves\": [{\"leaf\": 1, \"eax\": \"0x100000000\"}]}",
      "leaves[0].eax: \"0x100000000\" does not fit in 32 bits" },
    { "negative", "{\"name\": \"x\", \"leaves\": [{\"leaf\": 1, \"ebx\": -1}]}",
      "leaves[0].ebx: value -1 does not fit" },
    { "real", "{\"name\": \"x\", \"leaves\": [{\"leaf\": 1, \"ecx\": 1.5}]}",
      "leaves[0].ecx: expected a number or a hex string, got a real number" },
    { "duplicate", "{\"name\": \"x\", \"leaves\": [{\"leaf\": 1}, {\"leaf\": \"0x1\"}]}",
      "leaves[1]: duplicate of leaves[0]" },
    { "above_max", "{\"name\": \"x\", \"leaves\": [{\"leaf\": 0, \"eax\": 1}, {\"leaf\": 7}]}",
      "leaf 0x7 is above the maximum basic leaf 0x1" },
    { "above_max_ext",
      "{\"name\": \"x\", \"leaves\": [{\"leaf\": \"0x80000000\", \"eax\": \"0x80000001\"}, "
      "{\"leaf\": \"0x80000008\"}]}",
      "above the maximum extended leaf" },
    { "comment_type", "{\"name\": \"x\", \"leaves\": [], \"comment\": 1}",
      "comment: expected a string" },
    /* "paging_structure_caches": names from include/nvmx/psc_caches.def */
    { "psc_type", "{\"name\": \"x\", \"leaves\": [], \"paging_structure_caches\": 4}",
      "paging_structure_caches: expected an object" },
    { "psc_unknown", "{\"name\": \"x\", \"leaves\": [], \"paging_structure_caches\": {\"pte\": 4}}",
      "paging_structure_caches.pte: unknown cache" },
    { "psc_negative", "{\"name\": \"x\", \"leaves\": [], \"paging_structure_caches\": {\"pde\": -1}}",
      "paging_structure_caches.pde: expected entries 0 to 1024" },
    { "psc_too_big", "{\"name\": \"x\", \"leaves\": [], \"paging_structure_caches\": {\"ept_pde\": 1025}}",
      "paging_structure_caches.ept_pde: expected entries 0 to 1024" },
    { "psc_string", "{\"name\": \"x\", \"leaves\": [], \"paging_structure_caches\": {\"pml4e\": \"2\"}}",
      "paging_structure_caches.pml4e: expected entries" },
    /* include/nvmx/cpu_vector_features.def: only what is built */
    { "sse_not_built", "{\"name\": \"x\", \"leaves\": [{\"leaf\": 0, \"eax\": 1}, "
      "{\"leaf\": 1, \"edx\": \"0x02000000\"}]}", "CPUID.01H:EDX.SSE[bit 25] is set" },
    { "fpu_not_built", "{\"name\": \"x\", \"leaves\": [{\"leaf\": 0, \"eax\": 1}, "
      "{\"leaf\": 1, \"edx\": 1}]}", "CPUID.01H:EDX.FPU[bit 0] is set" },
    { "avx2_not_built", "{\"name\": \"x\", \"leaves\": [{\"leaf\": 0, \"eax\": 7}, "
      "{\"leaf\": 7, \"ebx\": 32}]}", "CPUID.07H:EBX.AVX2[bit 5] is set" },
    /* include/nvmx/cpu_features.def: every flag bit the model sets, named */
    { "vme_not_built", "{\"name\": \"x\", \"leaves\": [{\"leaf\": 0, \"eax\": 1}, "
      "{\"leaf\": 1, \"edx\": 2}]}", "CPUID.01H:EDX.VME[bit 1] is set, but nvmx does not implement VME" },
    { "reserved_flag", "{\"name\": \"x\", \"leaves\": [{\"leaf\": 0, \"eax\": 1}, "
      "{\"leaf\": 1, \"ecx\": \"0x80000000\"}]}", "CPUID.01H:ECX[bit 31] is set, but it is reserved" },
    { "la57_not_built", "{\"name\": \"x\", \"leaves\": [{\"leaf\": 0, \"eax\": 7}, "
      "{\"leaf\": 7, \"ecx\": \"0x10000\"}]}", "CPUID.07H:ECX.LA57[bit 16] is set" },
    { "prefetchw_not_built", "{\"name\": \"x\", \"leaves\": [{\"leaf\": \"0x80000001\", "
      "\"ecx\": \"0x100\"}]}", "CPUID.80000001H:ECX.PREFETCHW[bit 8] is set" },
    { "ext7_reserved", "{\"name\": \"x\", \"leaves\": [{\"leaf\": \"0x80000007\", "
      "\"edx\": 1}]}", "CPUID.80000007H:EDX[bit 0] is set, but it is reserved" },
    /* CPUID.80000008H: MAXPHYADDR 32..52, linear width 48 */
    { "maxphy_53", "{\"name\": \"x\", \"leaves\": [{\"leaf\": \"0x80000008\", "
      "\"eax\": \"0x3035\"}]}", "EAX[7:0] (MAXPHYADDR) is 53, outside 32..52" },
    { "maxphy_31", "{\"name\": \"x\", \"leaves\": [{\"leaf\": \"0x80000008\", "
      "\"eax\": \"0x301f\"}]}", "EAX[7:0] (MAXPHYADDR) is 31, outside 32..52" },
    { "linear_39", "{\"name\": \"x\", \"leaves\": [{\"leaf\": \"0x80000008\", "
      "\"eax\": \"0x2728\"}]}", "(linear-address width) is 39" },
    { "linear_57_without_la57", "{\"name\": \"x\", \"leaves\": [{\"leaf\": \"0x80000008\", "
      "\"eax\": \"0x3928\"}]}", "(linear-address width) is 57" },
    { "lm_without_widths", "{\"name\": \"x\", \"leaves\": [{\"leaf\": \"0x80000001\", "
      "\"edx\": \"0x20000000\"}]}", "CPUID.80000008H: missing, but CPUID.80000001H:EDX.LM" },
    /* leaf 0DH: include/nvmx/xsave_components.def, xsave_features.def */
#define XS_L01 "{\"leaf\": 0, \"eax\": 13}, {\"leaf\": 1, \"ecx\": \"0x04000000\"}, "
#define XS_D(sub, eax, ebx, ecx, edx)                                                          \
    "{\"leaf\": 13, \"subleaf\": " #sub ", \"eax\": " #eax ", \"ebx\": " #ebx              \
    ", \"ecx\": " #ecx ", \"edx\": " #edx "}"
    { "xsave_avx", "{\"name\": \"x\", \"leaves\": [" XS_L01 XS_D(0, 7, 576, 832, 0) ", "
      XS_D(1, 0, 576, 0, 0) "]}", "bit 2] enumerates state component AVX" },
    { "xsave_no_sse", "{\"name\": \"x\", \"leaves\": [" XS_L01 XS_D(0, 1, 576, 576, 0) "]}",
      "does not enumerate x87 and SSE state" },
    { "xsave_xfd", "{\"name\": \"x\", \"leaves\": [" XS_L01 XS_D(0, 3, 576, 576, 0) ", "
      XS_D(1, 16, 576, 0, 0) "]}", "CPUID.(EAX=0DH,ECX=1):EAX.XFD[bit 4] is set" },
    { "xsave_pt", "{\"name\": \"x\", \"leaves\": [" XS_L01 XS_D(0, 3, 576, 576, 0) ", "
      XS_D(1, 8, 576, 256, 0) "]}", "bit 8] enumerates state component PT" },
    { "xsave_size", "{\"name\": \"x\", \"leaves\": [" XS_L01 XS_D(0, 3, 512, 576, 0) ", "
      XS_D(1, 0, 576, 0, 0) "]}", "EBX = 512 and ECX = 576, but nvmx's XSAVE area takes 576" },
    { "xsave_compacted_size", "{\"name\": \"x\", \"leaves\": [" XS_L01
      XS_D(0, 3, 576, 576, 0) ", " XS_D(1, 2, 600, 0, 0) "]}", "CPUID.(EAX=0DH,ECX=1):EBX = 600" },
    { "xsave_leaf_without_flag", "{\"name\": \"x\", \"leaves\": [{\"leaf\": 0, \"eax\": 13}, "
      XS_D(0, 3, 576, 576, 0) "]}", "but CPUID.01H:ECX.XSAVE[bit 26] is clear" },
#undef XS_D
#undef XS_L01
    /* the LBR stack: SDM 3B gives depths 4, 8, 16 and 32 */
    { "lbr_depth_12", "{\"name\": \"x\", \"leaves\": [], \"lbr\": {\"depth\": 12}}",
      "lbr.depth: 12 is not 4, 8, 16 or 32" },
    { "lbr_no_depth", "{\"name\": \"x\", \"leaves\": [], \"lbr\": {\"info\": true}}",
      "lbr.depth: missing" },
    { "lbr_info_type", "{\"name\": \"x\", \"leaves\": [], \"lbr\": {\"depth\": 4, \"info\": 1}}",
      "lbr.info: expected true or false" },
    { "lbr_unknown", "{\"name\": \"x\", \"leaves\": [], \"lbr\": {\"depth\": 4, \"tos\": 1}}",
      "lbr.tos: unknown key" },
};

START_TEST(cpu_model_errors)
{
    static struct cpu_model cm;
    char err[512] = "", name[64];
    snprintf(name, sizeof(name), "%s.json", bad_cpu[_i].name);
    const char *path = write_tmp(name, bad_cpu[_i].json);
    ck_assert_msg(!config_load_cpu_model(path, &cm, err, sizeof(err)), "%s: accepted",
                  bad_cpu[_i].name);
    ck_assert_msg(strstr(err, bad_cpu[_i].expect) && strstr(err, path),
                  "%s: expected '%s' and the path in '%s'", bad_cpu[_i].name,
                  bad_cpu[_i].expect, err);
}
END_TEST

START_TEST(cpu_model_too_many_leaves)
{
    static struct cpu_model cm;
    char err[512];
    char *text = malloc(64 * 1024);
    strcpy(text, "{\"name\": \"x\", \"leaves\": [");
    for (unsigned i = 0; i <= CPU_MODEL_MAX_LEAVES; i++)
        sprintf(text + strlen(text), "%s{\"leaf\": 2, \"subleaf\": %u}", i ? "," : "", i);
    strcat(text, "]}");
    const char *path = write_tmp("many.json", text);
    free(text);
    ck_assert(!config_load_cpu_model(path, &cm, err, sizeof(err)));
    ck_assert_msg(strstr(err, "at most 64"), "got '%s'", err);
}
END_TEST

START_TEST(cpu_model_missing_file)
{
    static struct cpu_model cm;
    char err[512], path[320];
    snprintf(path, sizeof(path), "%s/absent.json", tmpdir);
    ck_assert(!config_load_cpu_model(path, &cm, err, sizeof(err)));
    ck_assert_msg(strstr(err, path) && strstr(err, "unable to open"), "got '%s'", err);
}
END_TEST

START_TEST(cpu_model_subleaves_and_numbers)
{
    static struct cpu_model cm;
    char err[512];
    const char *path = write_tmp(
        "ok.json", "{\"name\": \"t\", \"description\": \"d\", \"leaves\": ["
                   "{\"leaf\": 4, \"subleaf\": 0, \"eax\": 1},"
                   "{\"leaf\": 4, \"subleaf\": 1, \"eax\": \"0x2\"},"
                   "{\"leaf\": 5, \"edx\": \"4294967295\", \"comment\": \"c\"}]}");
    ck_assert_msg(config_load_cpu_model(path, &cm, err, sizeof(err)), "%s", err);
    ck_assert_uint_eq(cm.nleaves, 3);
    ck_assert_uint_eq(config_find_leaf(&cm, 4, 1)->eax, 2);
    ck_assert_uint_eq(config_find_leaf(&cm, 4, 0)->eax, 1);
    ck_assert_ptr_null(config_find_leaf(&cm, 4, 2));
    ck_assert_uint_eq(config_find_leaf(&cm, 5, 9)->edx, 0xffffffffu); /* no subleaves */
}
END_TEST

static const struct {
    const char *name, *json, *expect;
} bad_cost[] = {
    { "unknown_class", "{\"name\": \"c\", \"classes\": {\"alu\": 1, \"fpu\": 3}}",
      "classes.fpu: unknown cost class" },
    { "class_type", "{\"name\": \"c\", \"classes\": {\"alu\": \"1\"}}",
      "classes.alu: expected an integer cycle count, got a string" },
    { "class_range", "{\"name\": \"c\", \"classes\": {\"div\": -2}}", "classes.div: -2 cycles" },
    { "classes_type", "{\"name\": \"c\", \"classes\": [1]}", "classes: expected an object" },
    { "no_classes", "{\"name\": \"c\"}", "classes: missing" },
    { "unknown_key", "{\"name\": \"c\", \"classes\": {}, \"latency\": {}}", "latency: unknown key" },
    { "sources_class", "{\"name\": \"c\", \"classes\": {}, \"sources\": {\"x87\": \"y\"}}",
      "sources.x87: unknown cost class" },
    { "sources_type", "{\"name\": \"c\", \"classes\": {}, \"sources\": {\"alu\": 1}}",
      "sources.alu: expected a string" },
    { "source_type", "{\"name\": \"c\", \"classes\": {}, \"source\": []}",
      "source: expected a string" },
    { "dup_key", "{\"name\": \"c\", \"classes\": {\"alu\": 1, \"alu\": 2}}", "duplicate" },
};

START_TEST(cost_model_errors)
{
    static struct cost_model cost;
    char err[512] = "", name[64];
    snprintf(name, sizeof(name), "%s.json", bad_cost[_i].name);
    const char *path = write_tmp(name, bad_cost[_i].json);
    ck_assert_msg(!config_load_cost_model(path, &cost, err, sizeof(err)), "%s: accepted",
                  bad_cost[_i].name);
    ck_assert_msg(strstr(err, bad_cost[_i].expect) && strstr(err, path),
                  "%s: expected '%s' and the path in '%s'", bad_cost[_i].name,
                  bad_cost[_i].expect, err);
}
END_TEST

START_TEST(cost_model_partial_keeps_defaults)
{
    static struct cost_model cost, def;
    char err[512];
    const char *path = write_tmp("p.json", "{\"name\": \"p\", \"classes\": {\"div\": 90}}");
    ck_assert_msg(config_load_cost_model(path, &cost, err, sizeof(err)), "%s", err);
    cost_model_defaults(&def);
    ck_assert_str_eq(cost.name, "p");
    ck_assert_uint_eq(cost.cycles[COST_div], 90);
    ck_assert_uint_eq(cost.cycles[COST_alu], def.cycles[COST_alu]);
}
END_TEST

/* ---- sizes ------------------------------------------------------------------------ */

static const struct {
    const char *s;
    bool ok;
    uint64_t v;
} sizes[] = {
    { "256M", true, 256ull << 20 }, { "1G", true, 1ull << 30 },   { "64k", true, 65536 },
    { "4096", true, 4096 },         { "2MiB", true, 2ull << 20 }, { "3gb", true, 3ull << 30 },
    { "", false, 0 },               { "M", false, 0 },            { "12X", false, 0 },
    { "-1M", false, 0 },            { "1.5G", false, 0 },         { "99999999999999G", false, 0 },
    { "18446744073709551616", false, 0 },
};

START_TEST(parse_size)
{
    uint64_t v = 0;
    bool ok = config_parse_size(sizes[_i].s, &v);
    ck_assert_msg(ok == sizes[_i].ok, "'%s': expected %s", sizes[_i].s,
                  sizes[_i].ok ? "success" : "failure");
    if (ok)
        ck_assert_msg(v == sizes[_i].v, "'%s': expected %llu, got %llu", sizes[_i].s,
                      (unsigned long long)sizes[_i].v, (unsigned long long)v);
}
END_TEST

#define N(a) (int)(sizeof(a) / sizeof((a)[0]))

/* include/nvmx/cpu_features.def and cpu_vector_features.def together: a
 * model with every implemented flag loads; each unimplemented flag alone is
 * refused by name; no flag is listed twice in cpu_features.def. */
static const struct feature all_flags[] = {
#define CPU_FEATURE(n, l, r, b, impl) { #n, l, r, b, impl },
#include "nvmx/cpu_features.def"
#undef CPU_FEATURE
#define VECTOR_FEATURE(n, l, r, b, impl) { #n, l, r, b, impl },
#include "nvmx/cpu_vector_features.def"
#undef VECTOR_FEATURE
};
static const unsigned n_cpu_features = 0
#define CPU_FEATURE(n, l, r, b, impl) +1
#include "nvmx/cpu_features.def"
#undef CPU_FEATURE
    ;

static const char *flags_model(const struct feature *only)
{
    static char json[2048];
    static const uint32_t leaves[] = { 1, 6, 7, 0x80000001u, 0x80000007u, 0x80000008u };
    enum { NL = sizeof leaves / sizeof leaves[0] };
    uint32_t r[NL][4] = { { 0 } };
    r[NL - 1][EAX] = 0x302e; /* 46 physical, 48 linear address bits */
    for (unsigned i = 0; i < N(all_flags); i++) {
        const struct feature *f = &all_flags[i];
        if (!only && f->leaf == 1 && f->reg == ECX && (f->bit == 5 || f->bit == 26))
            continue; /* VMX needs the capability MSRs, XSAVE leaf 0DH: their own tests */
        if (only ? f == only : f->want)
            for (unsigned l = 0; l < NL; l++)
                if (leaves[l] == f->leaf)
                    r[l][f->reg] |= 1u << f->bit;
    }
    int n = snprintf(json, sizeof json, "{\"name\": \"flags\", \"leaves\": [{\"leaf\": 0, \"eax\": 7}");
    for (unsigned l = 0; l < NL; l++)
        n += snprintf(json + n, sizeof json - (size_t)n,
                      ", {\"leaf\": %u, \"eax\": %u, \"ebx\": %u, \"ecx\": %u, \"edx\": %u}",
                      leaves[l], r[l][0], r[l][1], r[l][2], r[l][3]);
    snprintf(json + n, sizeof json - (size_t)n, "]}");
    return json;
}

START_TEST(every_implemented_flag_loads)
{
    static struct cpu_model cm;
    char err[512];
    const char *path = write_tmp("flags.json", flags_model(NULL));
    ck_assert_msg(config_load_cpu_model(path, &cm, err, sizeof err), "%s", err);
}
END_TEST

START_TEST(each_unimplemented_flag_refused)
{
    static struct cpu_model cm;
    char err[512] = "", want[64];
    const struct feature *f = &all_flags[_i];
    bool implemented = false;
    for (unsigned i = 0; i < N(all_flags); i++)
        implemented |= all_flags[i].want && all_flags[i].leaf == f->leaf &&
                       all_flags[i].reg == f->reg && all_flags[i].bit == f->bit;
    if (implemented)
        return; /* every_implemented_flag_loads */
    const char *path = write_tmp("flag.json", flags_model(f));
    ck_assert_msg(!config_load_cpu_model(path, &cm, err, sizeof err), "%s: loaded", f->name);
    snprintf(want, sizeof want, ".%s[bit %u] is set", f->name, f->bit);
    ck_assert_msg(strstr(err, want) != NULL, "%s: expected '%s' in '%s'", f->name, want, err);
}
END_TEST

START_TEST(cpu_features_listed_once)
{
    for (unsigned i = 0; i < n_cpu_features; i++)
        for (unsigned j = i + 1; j < n_cpu_features; j++)
            ck_assert_msg(all_flags[i].leaf != all_flags[j].leaf ||
                              all_flags[i].reg != all_flags[j].reg ||
                              all_flags[i].bit != all_flags[j].bit,
                          "%s and %s: the same bit", all_flags[i].name, all_flags[j].name);
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("shipped");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, skylake_server_features, 0, N(sky_features));
    tcase_add_test(tc, skylake_server_identity);
    tcase_add_test(tc, lbr_stacks);
    tcase_add_test(tc, reduced_model_is_smaller);
    tcase_add_test(tc, skylake_server_vmx_msrs);
    tcase_add_test(tc, reduced_vmx_msrs);
    tcase_add_test(tc, default_cost_matches_builtin_and_cites_sources);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, cpu_model_errors, 0, N(bad_cpu));
    tcase_add_test(tc, every_implemented_flag_loads);
    tcase_add_loop_test(tc, each_unimplemented_flag_refused, 0, N(all_flags));
    tcase_add_test(tc, cpu_features_listed_once);
    tcase_add_test(tc, cpu_model_too_many_leaves);
    tcase_add_test(tc, cpu_model_missing_file);
    tcase_add_test(tc, cpu_model_subleaves_and_numbers);
    tcase_add_loop_test(tc, cost_model_errors, 0, N(bad_cost));
    tcase_add_test(tc, cost_model_partial_keeps_defaults);
    tcase_add_test(tc, vmx_model_base_is_valid);
    tcase_add_loop_test(tc, vmx_model_errors, 0, N(bad_vmx));
    suite_add_tcase(s, tc);

    tc = tcase_create("sizes");
    tcase_add_loop_test(tc, parse_size, 0, N(sizes));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(config_suite());
}
