/* `nvmx run IMAGE --l0`: L0's policy file (configs/l0, format in
 * docs/nested.md) and the run of the image as L1 under the built-in L0
 * (src/nested). */
#include "cli.h"
#include "nvmx/nested.h"

#include <jansson.h>
#include <string.h>

static const struct {
    const char *key;
    enum nested_ctl_field field;
} ctl_keys[] = {
    { "pin", NESTED_CTL_PIN },   { "proc", NESTED_CTL_PROC },   { "proc2", NESTED_CTL_PROC2 },
    { "exit", NESTED_CTL_EXIT }, { "entry", NESTED_CTL_ENTRY },
};

/* A control's mask from its name in vmx_controls.def, 0 if unknown. */
static uint32_t control_bit(enum nested_ctl_field f, const char *name)
{
    static const struct {
        enum nested_ctl_field f;
        const char *name;
        uint32_t mask;
    } all[] = {
#define VMX_CONTROL(field, n, bit) { NESTED_CTL_##field, #n, 1u << (bit) },
#include "nvmx/vmx_controls.def"
#undef VMX_CONTROL
    };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (all[i].f == f && !strcmp(all[i].name, name))
            return all[i].mask;
    return 0;
}

/* "ept_vpid_cap": the IA32_VMX_EPT_VPID_CAP bits L1 may see, by the names
 * of ept_caps.def. */
static bool load_ept_vpid_cap(const char *path, json_t *list, uint64_t *cap, char *err,
                              size_t errlen)
{
    static const struct {
        const char *name;
        unsigned bit;
    } all[] = {
#define EPT_CAP(n, b, impl) { #n, (b) },
#include "nvmx/ept_caps.def"
#undef EPT_CAP
    };
    if (!json_is_array(list)) {
        snprintf(err, errlen, "%s: ept_vpid_cap must be an array of ept_caps.def names", path);
        return false;
    }
    *cap = 0;
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item) {
        const char *s = json_string_value(item);
        size_t k = 0;
        while (k < sizeof all / sizeof all[0] && !(s && !strcmp(all[k].name, s)))
            k++;
        if (k == sizeof all / sizeof all[0]) {
            snprintf(err, errlen, "%s: ept_vpid_cap: '%s' is not a capability of ept_caps.def",
                     path, s ? s : "(not a string)");
            return false;
        }
        *cap |= 1ull << all[k].bit;
    }
    return true;
}

bool cli_l0_load_policy(const char *path, struct nested_policy *p, char *err, size_t errlen)
{
    json_error_t je;
    nested_policy_default(p);
    json_t *root = json_load_file(path, 0, &je);
    if (!root) {
        snprintf(err, errlen, "%s:%d: %s", path, je.line, je.text);
        return false;
    }
    bool ok = false;
    json_t *name = json_object_get(root, "name");
    json_t *hide = json_object_get(root, "hide");
    if (!json_is_string(name) || (hide && !json_is_object(hide))) {
        snprintf(err, errlen, "%s: needs a string \"name\" and an object \"hide\"", path);
        goto out;
    }
    snprintf(p->name, sizeof p->name, "%s", json_string_value(name));
    json_t *e1 = json_object_get(root, "ept01");
    if (e1 && !json_is_boolean(e1)) {
        snprintf(err, errlen, "%s: ept01 must be true or false", path);
        goto out;
    }
    if (e1)
        p->ept01 = json_is_true(e1);
    json_t *cap = json_object_get(root, "ept_vpid_cap");
    if (cap && !load_ept_vpid_cap(path, cap, &p->ept_vpid_cap, err, errlen))
        goto out;
    json_t *pool = json_object_get(root, "ept02_pool_pages");
    if (pool && (!json_is_integer(pool) || json_integer_value(pool) < 4 ||
                 json_integer_value(pool) > (NESTED_L0_AREA_SIZE - 1024 * 1024) / 4096)) {
        snprintf(err, errlen, "%s: ept02_pool_pages must be an integer from 4 to %d", path,
                 (NESTED_L0_AREA_SIZE - 1024 * 1024) / 4096);
        goto out;
    }
    if (pool)
        p->ept02_pool_pages = (unsigned)json_integer_value(pool);
    json_t *sh = json_object_get(root, "vmcs_shadowing");
    if (sh) {
        const char *s = json_string_value(sh);
        if (s && !strcmp(s, "none")) {
            p->shadowing = NESTED_SHADOW_NONE;
        } else if (s && !strcmp(s, "kvm")) {
            p->shadowing = NESTED_SHADOW_KVM;
        } else if (s && !strcmp(s, "pkvm")) {
            snprintf(err, errlen, "%s: vmcs_shadowing \"pkvm\" is not implemented yet (use \"kvm\" "
                                  "or \"none\")", path);
            goto out;
        } else {
            snprintf(err, errlen, "%s: vmcs_shadowing must be \"none\" or \"kvm\"", path);
            goto out;
        }
    }
    for (size_t k = 0; hide && k < sizeof ctl_keys / sizeof ctl_keys[0]; k++) {
        json_t *list = json_object_get(hide, ctl_keys[k].key);
        if (!list)
            continue;
        if (!json_is_array(list)) {
            snprintf(err, errlen, "%s: hide.%s must be an array of control names", path,
                     ctl_keys[k].key);
            goto out;
        }
        size_t i;
        json_t *item;
        json_array_foreach(list, i, item) {
            const char *s = json_string_value(item);
            uint32_t bit = s ? control_bit(ctl_keys[k].field, s) : 0;
            if (!bit) {
                snprintf(err, errlen, "%s: hide.%s: '%s' is not a %s control of vmx_controls.def",
                         path, ctl_keys[k].key, s ? s : "(not a string)", ctl_keys[k].key);
                goto out;
            }
            p->hide[ctl_keys[k].field] |= bit;
        }
    }
    ok = true;
out:
    json_decref(root);
    return ok;
}

struct nested *cli_l0_setup(struct cpu *c, uint64_t l1_mem, const char *policy_file, char *err,
                            size_t errlen)
{
    struct nested_policy p;
    if (!c->vmx) {
        snprintf(err, errlen, "--l0: the CPU model does not advertise VMX, so L0 cannot run L1 "
                              "in VMX non-root operation");
        return NULL;
    }
    if (!cli_l0_load_policy(policy_file, &p, err, errlen))
        return NULL;
    struct nested *n = nested_create(c, l1_mem, &p);
    if (!n)
        snprintf(err, errlen, "--l0: out of memory");
    return n;
}
