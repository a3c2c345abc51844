/* `nvmx run`: giving the CPU VMX when its model advertises it, the trace
 * sink, IA32_FEATURE_CONTROL at start, and the VM-exit part of --stats. */
#include "cli.h"
#include "nvmx/config.h"
#include "nvmx/trace.h"
#include "nvmx/vmx.h"

#include <string.h>

/* IA32_FEATURE_CONTROL bits (SDM 3C "Enabling and Entering VMX Operation") */
#define FEATURE_CONTROL_LOCK (1ull << 0)
#define FEATURE_CONTROL_VMX_OUTSIDE_SMX (1ull << 2)

_Static_assert(sizeof(((struct cpu_model *)0)->vmx_msrs) >= sizeof(struct vmx_caps),
               "cpu_model.vmx_msrs must hold every VMX capability MSR");

bool cli_model_has_vmx(const struct cpu_model *model)
{
    /* SDM 3C "Discovering Support for VMX": CPUID.1:ECX.VMX[bit 5] */
    const struct cpuid_leaf *l = config_find_leaf(model, 1, 0);
    return model->has_vmx_msrs && l && (l->ecx & (1u << 5));
}

bool cli_vmx_setup(struct cpu *c, const struct cpu_model *model, const char *cpu_file,
                   const struct cli_vmx_opts *o, char *err, size_t errlen)
{
    if (o->feature_control_locked) {
        /* What firmware does before handing over (SDM 3C "Enabling and
         * Entering VMX Operation"); without it the register resets to 0. */
        c->feature_control = FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX;
    }
    if (!cli_model_has_vmx(model))
        return true;
    struct vmx_caps caps;
    memcpy(caps.msr, model->vmx_msrs, sizeof(caps.msr));
    char why[384];
    if (!vmx_caps_validate(&caps, why, sizeof(why))) {
        snprintf(err, errlen, "%s: %s", cpu_file, why);
        return false;
    }
    struct vmx *v = vmx_attach(c, &caps);
    if (!v) {
        snprintf(err, errlen, "%s: cannot give the CPU VMX (out of memory)", cpu_file);
        return false;
    }
    if (o->trace)
        vmx_set_trace(v, trace_write_event, o->trace);
    return true;
}

void cli_vmx_report_stats(const struct cpu *c, FILE *f)
{
    if (!c->vmx)
        return;
    const struct vmx_stats *s = vmx_get_stats((const struct vmx *)c->vmx);
    fprintf(f,
            "nvmx: stats: VM entries           %llu\n"
            "nvmx: stats: failed VM entries    %llu\n"
            "nvmx: stats: VMfail results       %llu\n"
            "nvmx: stats: shadowed VMREADs     %llu\n"
            "nvmx: stats: shadowed VMWRITEs    %llu\n"
            "nvmx: stats: PML entries logged   %llu\n"
            "nvmx: stats: EPT violations as #VE %llu\n",
            (unsigned long long)s->entries, (unsigned long long)s->entry_failures,
            (unsigned long long)s->vmfails, (unsigned long long)s->shadow_vmreads,
            (unsigned long long)s->shadow_vmwrites, (unsigned long long)s->pml_logged,
            (unsigned long long)s->ve_delivered);
    for (unsigned r = 0; r <= VMX_EXIT_MAX; r++) {
        if (!s->exits[r])
            continue;
        fprintf(f, "nvmx: stats: VM exits %-20s %llu (%llu cycles exit to entry)\n",
                vmx_exit_reason_name(r), (unsigned long long)s->exits[r],
                (unsigned long long)s->exit_cycles[r]);
    }
}
