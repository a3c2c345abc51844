/* JSON configuration loaders: CPU models (CPUID leaves, VMX capability MSRs)
 * and cost models (cycles per cost class). Every problem is reported with the file, the key
 * path (e.g. "leaves[3].ebx") and what is wrong; nothing is guessed. */
#include "nvmx/machine.h"
#include "nvmx/config.h"
#include "nvmx/vmx_arch.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "something else";
}

static json_t *load_json(const char *path, char *err, size_t errlen)
{
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        if (je.line < 0)
            machine_errorf(err, errlen, "%s: %s", path, je.text);
        else
            machine_errorf(err, errlen, "%s:%d:%d: %s", path, je.line, je.column, je.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        machine_errorf(err, errlen, "%s: top level must be an object, got %s", path, json_kind(root));
        json_decref(root);
        return NULL;
    }
    return root;
}

/* A 32-bit value written as a JSON integer or as a string ("0x1f", "31"). */
static bool get_u32(const char *path, const char *key, const json_t *v, uint32_t *out,
                    char *err, size_t errlen)
{
    unsigned long long x;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0 || i > 0xffffffffll)
            return machine_errorf(err, errlen, "%s: %s: value %lld does not fit in 32 bits", path, key,
                        (long long)i);
        *out = (uint32_t)i;
        return true;
    }
    if (!json_is_string(v))
        return machine_errorf(err, errlen, "%s: %s: expected a number or a hex string, got %s", path, key,
                    json_kind(v));
    const char *s = json_string_value(v);
    char *end;
    errno = 0;
    x = strtoull(s, &end, 0);
    if (!*s || !isdigit((unsigned char)*s) || *end || errno)
        return machine_errorf(err, errlen, "%s: %s: \"%s\" is not a number (use e.g. \"0x1f\")", path, key,
                    s);
    if (x > 0xffffffffull)
        return machine_errorf(err, errlen, "%s: %s: \"%s\" does not fit in 32 bits", path, key, s);
    *out = (uint32_t)x;
    return true;
}

static bool get_name(const char *path, const json_t *root, char *name, size_t size, char *err,
                     size_t errlen)
{
    json_t *v = json_object_get(root, "name");
    if (!v)
        return machine_errorf(err, errlen, "%s: name: missing", path);
    if (!json_is_string(v))
        return machine_errorf(err, errlen, "%s: name: expected a string, got %s", path, json_kind(v));
    const char *s = json_string_value(v);
    if (!*s || strlen(s) >= size)
        return machine_errorf(err, errlen, "%s: name: must be 1 to %zu characters", path, size - 1);
    strcpy(name, s);
    return true;
}

/* Keys allowed for documentation only. */
static bool is_note_key(const char *key)
{
    return !strcmp(key, "description") || !strcmp(key, "comment");
}

static bool check_note(const char *path, const char *where, const char *key, const json_t *v,
                       char *err, size_t errlen)
{
    if (!json_is_string(v))
        return machine_errorf(err, errlen, "%s: %s%s: expected a string, got %s", path, where, key,
                    json_kind(v));
    return true;
}

/* ---- CPU models ------------------------------------------------------------ */

static bool parse_leaf(const char *path, unsigned idx, json_t *obj, struct cpuid_leaf *l,
                       char *err, size_t errlen)
{
    char where[48], key[80];
    snprintf(where, sizeof(where), "leaves[%u].", idx);
    if (!json_is_object(obj))
        return machine_errorf(err, errlen, "%s: leaves[%u]: expected an object, got %s", path, idx,
                    json_kind(obj));
    memset(l, 0, sizeof(*l));
    bool have_leaf = false;
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        snprintf(key, sizeof(key), "%s%s", where, k);
        uint32_t *dst = NULL;
        if (!strcmp(k, "leaf")) {
            dst = &l->leaf;
            have_leaf = true;
        } else if (!strcmp(k, "subleaf")) {
            dst = &l->subleaf;
            l->has_subleaf = true;
        } else if (!strcmp(k, "eax")) {
            dst = &l->eax;
        } else if (!strcmp(k, "ebx")) {
            dst = &l->ebx;
        } else if (!strcmp(k, "ecx")) {
            dst = &l->ecx;
        } else if (!strcmp(k, "edx")) {
            dst = &l->edx;
        } else if (!strcmp(k, "comment")) {
            if (!check_note(path, where, k, v, err, errlen))
                return false;
            continue;
        } else {
            return machine_errorf(err, errlen, "%s: %s: unknown key (expected leaf, subleaf, eax, ebx, "
                                     "ecx, edx, comment)", path, key);
        }
        if (!get_u32(path, key, v, dst, err, errlen))
            return false;
    }
    if (!have_leaf)
        return machine_errorf(err, errlen, "%s: %sleaf: missing", path, where);
    return true;
}

/* Leaf 0 and 0x80000000 give the highest basic / extended leaf (SDM 2A
 * "CPUID -- CPU Identification"); every leaf present must be within them. */
static bool check_max_leaves(const char *path, const struct cpu_model *cm, char *err,
                             size_t errlen)
{
    const struct cpuid_leaf *b = config_find_leaf(cm, 0, 0);
    const struct cpuid_leaf *e = config_find_leaf(cm, 0x80000000u, 0);
    for (unsigned i = 0; i < cm->nleaves; i++) {
        uint32_t leaf = cm->leaves[i].leaf;
        if (b && leaf < 0x80000000u && leaf > b->eax)
            return machine_errorf(err, errlen, "%s: leaves[%u]: leaf 0x%x is above the maximum basic leaf "
                                     "0x%x given by leaf 0 EAX", path, i, leaf, b->eax);
        if (e && leaf >= 0x80000000u && leaf > e->eax)
            return machine_errorf(err, errlen, "%s: leaves[%u]: leaf 0x%x is above the maximum extended "
                                     "leaf 0x%x given by leaf 0x80000000 EAX", path, i, leaf,
                        e->eax);
    }
    return true;
}

static bool parse_leaves(const char *path, json_t *arr, struct cpu_model *cm, char *err,
                         size_t errlen)
{
    if (!json_is_array(arr))
        return machine_errorf(err, errlen, "%s: leaves: expected an array, got %s", path, json_kind(arr));
    if (json_array_size(arr) > CPU_MODEL_MAX_LEAVES)
        return machine_errorf(err, errlen, "%s: leaves: %zu entries, at most %d are supported", path,
                    json_array_size(arr), CPU_MODEL_MAX_LEAVES);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        struct cpuid_leaf *l = &cm->leaves[cm->nleaves];
        if (!parse_leaf(path, (unsigned)i, v, l, err, errlen))
            return false;
        for (unsigned j = 0; j < cm->nleaves; j++) {
            const struct cpuid_leaf *o = &cm->leaves[j];
            if (o->leaf == l->leaf && o->has_subleaf == l->has_subleaf &&
                (!l->has_subleaf || o->subleaf == l->subleaf))
                return machine_errorf(err, errlen, "%s: leaves[%zu]: duplicate of leaves[%u] (leaf 0x%x "
                                         "subleaf %u)", path, i, j, l->leaf, l->subleaf);
        }
        cm->nleaves++;
    }
    return true;
}

/* ---- VMX capability MSRs ------------------------------------------------------ */

_Static_assert(VMX_MSR_COUNT <= sizeof(((struct cpu_model *)0)->vmx_msrs) / sizeof(uint64_t),
               "struct cpu_model has room for every VMX capability MSR");

/* A 64-bit value written as a string ("0x00d8100000000004"). */
static bool get_u64_string(const char *path, const char *key, const json_t *v, uint64_t *out,
                           char *err, size_t errlen)
{
    if (!json_is_string(v))
        return machine_errorf(err, errlen, "%s: %s: expected a hex string such as \"0x1f\", got %s", path,
                    key, json_kind(v));
    const char *s = json_string_value(v);
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 0);
    if (!*s || !isdigit((unsigned char)*s) || *end || errno)
        return machine_errorf(err, errlen, "%s: %s: \"%s\" is not a 64-bit number (use e.g. \"0x1f\")",
                    path, key, s);
    *out = x;
    return true;
}

/* "vmx_msrs": every MSR of include/nvmx/vmx_msrs.def by its SDM name. */
static bool parse_vmx_msrs(const char *path, json_t *obj, struct cpu_model *cm, char *err,
                           size_t errlen)
{
    static const char *const names[VMX_MSR_COUNT] = {
#define VMX_MSR(n, idx, json) [VMX_MSR_##n] = json,
#include "nvmx/vmx_msrs.def"
#undef VMX_MSR
    };
    bool seen[VMX_MSR_COUNT] = { false };
    char key[96];

    if (!json_is_object(obj))
        return machine_errorf(err, errlen, "%s: vmx_msrs: expected an object, got %s", path,
                    json_kind(obj));
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        snprintf(key, sizeof(key), "vmx_msrs.%s", k);
        if (is_note_key(k)) {
            if (!check_note(path, "vmx_msrs.", k, v, err, errlen))
                return false;
            continue;
        }
        int m = -1;
        for (int i = 0; i < VMX_MSR_COUNT; i++)
            if (!strcmp(names[i], k))
                m = i;
        if (m < 0)
            return machine_errorf(err, errlen, "%s: %s: unknown VMX capability MSR (the names are listed "
                                     "in include/nvmx/vmx_msrs.def)", path, key);
        if (!get_u64_string(path, key, v, &cm->vmx_msrs[m], err, errlen))
            return false;
        seen[m] = true;
    }
    for (int i = 0; i < VMX_MSR_COUNT; i++)
        if (!seen[i])
            return machine_errorf(err, errlen, "%s: vmx_msrs.%s: missing (use \"0x0\" for an MSR the "
                                     "model does not have)", path, names[i]);
    cm->has_vmx_msrs = true;
    return true;
}

static bool model_has(const struct cpu_model *cm, uint32_t leaf, unsigned reg, unsigned bit)
{
    const struct cpuid_leaf *l = config_find_leaf(cm, leaf, 0);
    if (!l)
        return false;
    uint32_t r[4] = { l->eax, l->ebx, l->ecx, l->edx };
    return (r[reg] >> bit) & 1;
}

enum { R_EAX, R_EBX, R_ECX, R_EDX };

/* CR4 bits the model's CPUID enumerates (SDM 3A "Control Registers" and
 * SDM 2A "CPUID -- CPU Identification"); PCE has no flag. */
static uint64_t model_cr4_bits(const struct cpu_model *cm)
{
    static const struct {
        unsigned cr4bit;
        uint32_t leaf;
        uint8_t reg, bit;
    } map[] = {
        { 0, 1, R_EDX, 1 },  { 1, 1, R_EDX, 1 },   { 2, 1, R_EDX, 4 },   { 3, 1, R_EDX, 2 },
        { 4, 1, R_EDX, 3 },  { 5, 1, R_EDX, 6 },   { 6, 1, R_EDX, 7 },   { 7, 1, R_EDX, 13 },
        { 9, 1, R_EDX, 24 }, { 10, 1, R_EDX, 25 }, { 11, 7, R_ECX, 2 },  { 13, 1, R_ECX, 5 },
        { 14, 1, R_ECX, 6 }, { 16, 7, R_EBX, 0 },  { 17, 1, R_ECX, 17 }, { 18, 1, R_ECX, 26 },
        { 20, 7, R_EBX, 7 }, { 21, 7, R_EBX, 20 }, { 22, 7, R_ECX, 3 },
    };
    uint64_t bits = 1ull << 8; /* PCE */
    for (unsigned i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (model_has(cm, map[i].leaf, map[i].reg, map[i].bit))
            bits |= 1ull << map[i].cr4bit;
    return bits;
}

/* A model is checked as a whole: every bit it sets in the feature-flag
 * registers (leaves 01H, 06H, 07H, 80000001H, 80000007H, 80000008H:EBX;
 * leaf 0DH has rules of its own) must be a flag nvmx implements, by the two lists
 * include/nvmx/cpu_features.def and cpu_vector_features.def (issue 13's
 * engineers flip the vector flags there). A bit listed in neither is
 * reserved or unknown to nvmx; a bit listed in both counts as implemented
 * when either says so. */
struct feature_flag {
    const char *name;
    uint32_t leaf;
    uint8_t reg, bit;
    bool implemented;
};

static const struct feature_flag feature_flags[] = {
#define CPU_FEATURE(n, l, r, b, impl) { #n, l, R_##r, b, impl },
#include "nvmx/cpu_features.def"
#undef CPU_FEATURE
#define VECTOR_FEATURE(n, l, r, b, impl) { #n, l, R_##r, b, impl },
#include "nvmx/cpu_vector_features.def"
#undef VECTOR_FEATURE
};

static const char *const reg_names[] = { "EAX", "EBX", "ECX", "EDX" };

static bool check_features(const char *path, const struct cpu_model *cm, char *err,
                           size_t errlen)
{
    static const struct { uint32_t leaf; uint8_t reg; } regs[] = {
        { 1, R_ECX }, { 1, R_EDX }, { 6, R_EAX }, { 6, R_ECX }, { 7, R_EBX }, { 7, R_ECX },
        { 7, R_EDX }, { 0x80000001u, R_ECX }, { 0x80000001u, R_EDX }, { 0x80000007u, R_EDX },
        { 0x80000008u, R_EBX },
    };
    const unsigned n = sizeof feature_flags / sizeof feature_flags[0];
    for (unsigned r = 0; r < sizeof regs / sizeof regs[0]; r++) {
        for (unsigned bit = 0; bit < 32; bit++) {
            if (!model_has(cm, regs[r].leaf, regs[r].reg, bit))
                continue;
            const struct feature_flag *named = NULL;
            bool ok = false;
            for (unsigned i = 0; i < n; i++) {
                const struct feature_flag *f = &feature_flags[i];
                if (f->leaf == regs[r].leaf && f->reg == regs[r].reg && f->bit == bit) {
                    named = f;
                    ok |= f->implemented;
                }
            }
            if (ok)
                continue;
            if (named)
                return machine_errorf(err, errlen, "%s: CPUID.%02XH:%s.%s[bit %u] is set, but "
                                      "nvmx does not implement %s yet", path,
                                      (unsigned)regs[r].leaf, reg_names[regs[r].reg],
                                      named->name, bit, named->name);
            return machine_errorf(err, errlen, "%s: CPUID.%02XH:%s[bit %u] is set, but it is "
                                  "reserved or a feature nvmx does not know "
                                  "(include/nvmx/cpu_features.def)", path,
                                  (unsigned)regs[r].leaf, reg_names[regs[r].reg], bit);
        }
    }
    return true;
}

/* SDM 3A "Physical Address Width" and "Linear-Address Width", SDM 2A CPUID
 * leaf 80000008H: EAX[7:0] MAXPHYADDR (at most 52; nvmx takes 32 and up)
 * and EAX[15:8] the linear-address width, 48 (57 needs 5-level paging,
 * CPUID.07H:ECX.LA57, which nvmx does not implement). A model with
 * Intel 64 (CPUID.80000001H:EDX.LM) must give the leaf. The CPU reads
 * both through cpu_maxphyaddr() and cpu_linear_width(). */
static bool check_address_widths(const char *path, const struct cpu_model *cm, char *err,
                                 size_t errlen)
{
    const struct cpuid_leaf *l = config_find_leaf(cm, 0x80000008u, 0);
    if (!l)
        return !model_has(cm, 0x80000001u, R_EDX, 29) ||
               machine_errorf(err, errlen, "%s: CPUID.80000008H: missing, but CPUID.80000001H:"
                              "EDX.LM[bit 29] is set (the leaf gives MAXPHYADDR)", path);
    unsigned maxphy = l->eax & 0xff, linear = (l->eax >> 8) & 0xff;
    if (maxphy < 32 || maxphy > 52)
        return machine_errorf(err, errlen, "%s: CPUID.80000008H:EAX[7:0] (MAXPHYADDR) is %u, "
                              "outside 32..52", path, maxphy);
    if (linear != 48 && !(linear == 57 && model_has(cm, 7, R_ECX, 16)))
        return machine_errorf(err, errlen, "%s: CPUID.80000008H:EAX[15:8] (linear-address "
                              "width) is %u: 48 (57 only with LA57)", path, linear);
    return true;
}

/* Leaf 0DH: only implemented XSAVE state and extensions, sizes of nvmx's
 * layout (src/cpu/xsave_xcr.c). */
static bool check_xsave(const char *path, const struct cpu_model *cm, char *err, size_t errlen)
{
    char why[256];
    if (!cpu_model_check_xsave(cm, why, sizeof why))
        return machine_errorf(err, errlen, "%s: %s", path, why);
    return true;
}

/* The VMX MSRs must agree with the model's CPUID and with what nvmx
 * implements (checked by the CLI with vmx_caps_validate). */
static bool check_vmx(const char *path, const struct cpu_model *cm, char *err, size_t errlen)
{
    bool vmx = model_has(cm, 1, R_ECX, 5);
    if (vmx && !cm->has_vmx_msrs)
        return machine_errorf(err, errlen, "%s: vmx_msrs: missing, but CPUID.1:ECX.VMX[bit 5] is set",
                    path);
    if (!vmx && cm->has_vmx_msrs)
        return machine_errorf(err, errlen, "%s: vmx_msrs: given, but CPUID.1:ECX.VMX[bit 5] is clear",
                    path);
    if (!vmx)
        return true;

    /* What nvmx implements is checked by the CLI (vmx_caps_validate): the
     * machine layer sits below src/vmx. Here: consistency with CPUID. */
    const uint64_t *msr = cm->vmx_msrs;
    uint64_t extra = msr[VMX_MSR_CR4_FIXED1] & ~model_cr4_bits(cm);
    if (extra)
        return machine_errorf(err, errlen, "%s: IA32_VMX_CR4_FIXED1 allows CR4 bit %u, which the "
                                 "model's CPUID does not enumerate", path,
                    (unsigned)__builtin_ctzll(extra));
    uint32_t proc2 = (uint32_t)(msr[VMX_MSR_PROCBASED_CTLS2] >> 32);
    if ((proc2 & (uint32_t)PROC2_ENABLE_RDTSCP) && !model_has(cm, 0x80000001u, R_EDX, 27))
        return machine_errorf(err, errlen, "%s: IA32_VMX_PROCBASED_CTLS2 allows bit 3 (ENABLE_RDTSCP) "
                                 "but CPUID.80000001H:EDX.RDTSCP is clear", path);
    const struct cpuid_leaf *d1 = config_find_leaf(cm, 0xd, 1);
    if ((proc2 & (uint32_t)PROC2_ENABLE_XSAVES_XRSTORS) && !(d1 && ((d1->eax >> 3) & 1)))
        return machine_errorf(err, errlen, "%s: IA32_VMX_PROCBASED_CTLS2 allows bit 20 "
                                 "(ENABLE_XSAVES_XRSTORS) but CPUID.(EAX=0DH,ECX=1):EAX.XSAVES is "
                                 "clear", path);
    if ((proc2 & (uint32_t)PROC2_ENABLE_INVPCID) && !model_has(cm, 7, R_EBX, 10))
        return machine_errorf(err, errlen, "%s: IA32_VMX_PROCBASED_CTLS2 allows bit 12 "
                                 "(ENABLE_INVPCID) but CPUID.7:EBX.INVPCID is clear", path);
    return true;
}

/* "paging_structure_caches": the entries of each modelled cache of
 * include/nvmx/psc_caches.def (src/cpu/psc.c), by name; a cache not given
 * has 0 entries (the model has none). Model parameters for cycles only. */
static bool parse_psc(const char *path, json_t *obj, struct cpu_model *cm, char *err, size_t errlen)
{
    static const char *const names[PSC_NCACHES] = {
#define PSC_CACHE(n, kind, level, label) [PSC_##n] = #n,
#include "nvmx/psc_caches.def"
#undef PSC_CACHE
    };
    if (!json_is_object(obj))
        return machine_errorf(err, errlen, "%s: paging_structure_caches: expected an object, got %s",
                              path, json_kind(obj));
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        if (is_note_key(k)) {
            if (!check_note(path, "paging_structure_caches.", k, v, err, errlen))
                return false;
            continue;
        }
        int i = -1;
        for (int j = 0; j < PSC_NCACHES; j++)
            if (!strcmp(names[j], k))
                i = j;
        if (i < 0)
            return machine_errorf(err, errlen, "%s: paging_structure_caches.%s: unknown cache (the names "
                                  "are listed in include/nvmx/psc_caches.def)", path, k);
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > PSC_MAX_ENTRIES)
            return machine_errorf(err, errlen, "%s: paging_structure_caches.%s: expected entries 0 to %d",
                                  path, k, PSC_MAX_ENTRIES);
        cm->psc_entries[i] = (uint16_t)json_integer_value(v);
    }
    return true;
}

/* "lbr": {"depth": N, "info": bool}: the last-branch-record stack (SDM 3B
 * "Last Branch, Interrupt, and Exception Recording"): depth 4, 8, 16 or 32
 * (MSR_LASTBRANCH_n_FROM_IP/TO_IP at 680H/6C0H + n), and whether the model
 * has the MSR_LBR_INFO_n MSRs (DC0H + n, Skylake and later). */
static bool parse_lbr(const char *path, json_t *obj, struct cpu_model *cm, char *err, size_t errlen)
{
    if (!json_is_object(obj))
        return machine_errorf(err, errlen, "%s: lbr: expected an object, got %s", path, json_kind(obj));
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        if (is_note_key(k)) {
            if (!check_note(path, "lbr.", k, v, err, errlen))
                return false;
        } else if (!strcmp(k, "depth")) {
            uint32_t d;
            if (!get_u32(path, "lbr.depth", v, &d, err, errlen))
                return false;
            if (d != 4 && d != 8 && d != 16 && d != 32)
                return machine_errorf(err, errlen, "%s: lbr.depth: %u is not 4, 8, 16 or 32", path, d);
            cm->lbr_depth = d;
        } else if (!strcmp(k, "info")) {
            if (!json_is_boolean(v))
                return machine_errorf(err, errlen, "%s: lbr.info: expected true or false, got %s", path,
                                      json_kind(v));
            cm->lbr_info = json_is_true(v);
        } else {
            return machine_errorf(err, errlen, "%s: lbr.%s: unknown key (expected depth, info, comment)",
                                  path, k);
        }
    }
    if (!cm->lbr_depth)
        return machine_errorf(err, errlen, "%s: lbr.depth: missing", path);
    return true;
}

bool config_load_cpu_model(const char *path, struct cpu_model *cm, char *err, size_t errlen)
{
    memset(cm, 0, sizeof(*cm));
    json_t *root = load_json(path, err, errlen);
    if (!root)
        return false;
    bool ok = get_name(path, root, cm->name, sizeof(cm->name), err, errlen);
    json_t *leaves = json_object_get(root, "leaves");
    if (ok && !leaves)
        ok = machine_errorf(err, errlen, "%s: leaves: missing", path);
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v) {
        if (!ok)
            break;
        if (is_note_key(k))
            ok = check_note(path, "", k, v, err, errlen);
        else if (!strcmp(k, "vmx_msrs"))
            ok = parse_vmx_msrs(path, v, cm, err, errlen);
        else if (!strcmp(k, "paging_structure_caches"))
            ok = parse_psc(path, v, cm, err, errlen);
        else if (!strcmp(k, "lbr"))
            ok = parse_lbr(path, v, cm, err, errlen);
        else if (strcmp(k, "name") && strcmp(k, "leaves"))
            ok = machine_errorf(err, errlen, "%s: %s: unknown key (expected name, description, comment, "
                                   "leaves, vmx_msrs, paging_structure_caches, lbr)", path, k);
    }
    if (ok)
        ok = parse_leaves(path, leaves, cm, err, errlen) &&
             check_max_leaves(path, cm, err, errlen) && check_vmx(path, cm, err, errlen) &&
             check_features(path, cm, err, errlen) &&
             check_address_widths(path, cm, err, errlen) &&
             check_xsave(path, cm, err, errlen);
    json_decref(root);
    return ok;
}

const struct cpuid_leaf *config_find_leaf(const struct cpu_model *cm, uint32_t leaf,
                                          uint32_t subleaf)
{
    const struct cpuid_leaf *any = NULL;
    for (unsigned i = 0; i < cm->nleaves; i++) {
        const struct cpuid_leaf *l = &cm->leaves[i];
        if (l->leaf != leaf)
            continue;
        if (l->has_subleaf && l->subleaf == subleaf)
            return l;
        if (!l->has_subleaf)
            any = l;
    }
    return any;
}

/* ---- cost models ------------------------------------------------------------ */

static int cost_class_index(const char *name)
{
    for (int i = 0; i < COST_NCLASSES; i++)
        if (!strcmp(cost_class_names[i], name))
            return i;
    return -1;
}

static bool parse_classes(const char *path, json_t *obj, struct cost_model *cost, char *err,
                          size_t errlen)
{
    if (!json_is_object(obj))
        return machine_errorf(err, errlen, "%s: classes: expected an object, got %s", path, json_kind(obj));
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        int c = cost_class_index(k);
        if (c < 0)
            return machine_errorf(err, errlen, "%s: classes.%s: unknown cost class (the classes are listed "
                                     "in include/nvmx/cost_classes.def)", path, k);
        if (!json_is_integer(v))
            return machine_errorf(err, errlen, "%s: classes.%s: expected an integer cycle count, got %s",
                        path, k, json_kind(v));
        json_int_t n = json_integer_value(v);
        if (n < 0 || n > CONFIG_MAX_CYCLES)
            return machine_errorf(err, errlen, "%s: classes.%s: %lld cycles is outside 0..%u", path, k,
                        (long long)n, CONFIG_MAX_CYCLES);
        cost->cycles[c] = (uint32_t)n;
    }
    return true;
}

static bool parse_sources(const char *path, json_t *obj, char *err, size_t errlen)
{
    if (!json_is_object(obj))
        return machine_errorf(err, errlen, "%s: sources: expected an object, got %s", path, json_kind(obj));
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        if (cost_class_index(k) < 0)
            return machine_errorf(err, errlen, "%s: sources.%s: unknown cost class", path, k);
        if (!json_is_string(v))
            return machine_errorf(err, errlen, "%s: sources.%s: expected a string, got %s", path, k,
                        json_kind(v));
    }
    return true;
}

bool config_load_cost_model(const char *path, struct cost_model *cost, char *err, size_t errlen)
{
    cost_model_defaults(cost); /* classes the file leaves out keep the built-in numbers */
    json_t *root = load_json(path, err, errlen);
    if (!root)
        return false;
    bool ok = get_name(path, root, cost->name, sizeof(cost->name), err, errlen);
    json_t *classes = json_object_get(root, "classes");
    if (ok && !classes)
        ok = machine_errorf(err, errlen, "%s: classes: missing", path);
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v) {
        if (!ok)
            break;
        if (is_note_key(k) || !strcmp(k, "source"))
            ok = check_note(path, "", k, v, err, errlen);
        else if (!strcmp(k, "sources"))
            ok = parse_sources(path, v, err, errlen);
        else if (strcmp(k, "name") && strcmp(k, "classes"))
            ok = machine_errorf(err, errlen, "%s: %s: unknown key (expected name, description, comment, "
                                   "source, sources, classes)", path, k);
    }
    if (ok)
        ok = parse_classes(path, classes, cost, err, errlen);
    json_decref(root);
    return ok;
}

/* ---- sizes ------------------------------------------------------------------- */

bool config_parse_size(const char *s, uint64_t *out)
{
    if (!s || !isdigit((unsigned char)*s))
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return false;
    unsigned shift = 0;
    switch (tolower((unsigned char)*end)) {
    case 'k': shift = 10; end++; break;
    case 'm': shift = 20; end++; break;
    case 'g': shift = 30; end++; break;
    case 't': shift = 40; end++; break;
    default: break;
    }
    if (shift && tolower((unsigned char)end[0]) == 'i' && tolower((unsigned char)end[1]) == 'b')
        end += 2;
    else if (shift && tolower((unsigned char)*end) == 'b')
        end++;
    if (*end)
        return false;
    if (shift && v > (~0ull >> shift))
        return false;
    *out = (uint64_t)v << shift;
    return true;
}
