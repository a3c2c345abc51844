/* `nvmx run --log int,cpu_reset,vmx` (QEMU's -d): one line per delivered
 * exception or interrupt, the CPU state when the processor shuts down, one
 * line per VM entry, VM exit and VMfail; and the register and VMCS dump
 * printed at every fatal end of a run (docs/cli.md "Logging"). Nothing here
 * runs unless asked: the interpreter pays one NULL check in event delivery. */
#include "cli.h"
#include "nvmx/trace.h"
#include "nvmx/vmcs.h"
#include "nvmx/vmx.h"
#include "nvmx/vmx_arch.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct cli_log {
    FILE *f;
    unsigned mask;
    vmx_trace_fn next; /* the --trace sink, called first */
    void *next_ctx;
};

static const struct {
    const char *name;
    unsigned bit;
} log_items[] = {
    { "int", CLI_LOG_INT },
    { "cpu_reset", CLI_LOG_CPU_RESET },
    { "vmx", CLI_LOG_VMX },
};

bool cli_log_parse(const char *spec, unsigned *mask, char *err, size_t errlen)
{
    char buf[256];
    if (strlen(spec) >= sizeof(buf) || !*spec) {
        snprintf(err, errlen, "--log: '%s' is not a list of int, cpu_reset, vmx", spec);
        return false;
    }
    strcpy(buf, spec);
    *mask = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        unsigned i;
        for (i = 0; i < sizeof(log_items) / sizeof(log_items[0]); i++)
            if (!strcmp(t, log_items[i].name))
                break;
        if (i == sizeof(log_items) / sizeof(log_items[0])) {
            snprintf(err, errlen, "--log: unknown item '%s' (known: int, cpu_reset, vmx)", t);
            return false;
        }
        *mask |= log_items[i].bit;
    }
    return true;
}

struct cli_log *cli_log_open(unsigned mask, const char *path, char *err, size_t errlen)
{
    struct cli_log *l = calloc(1, sizeof(*l));
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    l->mask = mask;
    l->f = stderr;
    if (path && strcmp(path, "-")) {
        l->f = fopen(path, "w");
        if (!l->f) {
            snprintf(err, errlen, "--log-file: cannot open '%s': %s", path, strerror(errno));
            free(l);
            return NULL;
        }
    } else if (path) {
        l->f = stdout;
    }
    return l;
}

bool cli_log_close(struct cli_log *l)
{
    if (!l)
        return true;
    bool ok = !ferror(l->f) && fflush(l->f) == 0;
    if (l->f != stderr && l->f != stdout)
        ok = fclose(l->f) == 0 && ok;
    free(l);
    return ok;
}

/* ---- int ------------------------------------------------------------------ */

static const char *const exc_mnemonic[32] = {
    [0] = "#DE", [1] = "#DB", [2] = "NMI", [3] = "#BP", [4] = "#OF", [5] = "#BR",
    [6] = "#UD", [7] = "#NM", [8] = "#DF", [10] = "#TS", [11] = "#NP", [12] = "#SS",
    [13] = "#GP", [14] = "#PF", [16] = "#MF", [17] = "#AC", [18] = "#MC", [19] = "#XM",
    [20] = "#VE", [21] = "#CP",
};

static const char *event_type_name(enum cpu_event_type t)
{
    switch (t) {
    case EVT_EXTINT: return "external";
    case EVT_NMI: return "nmi";
    case EVT_HW_EXC: return "exception";
    case EVT_SW_INT: return "int-n";
    case EVT_PRIV_SW_EXC: return "int1";
    case EVT_SW_EXC: return "int3/into";
    }
    return "?";
}

/* The level of the code the CPU runs: 0 in VMX root operation or without
 * VMX, the guest's level in non-root operation. */
static int current_level(const struct cpu *c)
{
    return c->vmx_nonroot && c->vmx ? vmx_get_level((const struct vmx *)c->vmx) : 0;
}

static void log_event(void *ctx, const struct cpu *c, int vector, enum cpu_event_type type,
                      bool has_err, uint32_t err)
{
    struct cli_log *l = ctx;
    const char *mn = (type == EVT_HW_EXC || type == EVT_SW_EXC || type == EVT_PRIV_SW_EXC ||
                      type == EVT_NMI) && vector < 32 && exc_mnemonic[vector]
                         ? exc_mnemonic[vector]
                         : "-";
    fprintf(l->f, "int: v=0x%02x %s %s", (unsigned)vector, mn, event_type_name(type));
    if (has_err)
        fprintf(l->f, " err=0x%" PRIx32, err);
    fprintf(l->f, " rip=0x%" PRIx64 " cs=0x%04x cpl=%u level=%d", c->rip, c->seg[SEG_CS].sel,
            c->cpl, current_level(c));
    if (type == EVT_HW_EXC && vector == 14)
        fprintf(l->f, " cr2=0x%" PRIx64, c->fault_cr2);
    fprintf(l->f, " insns=%" PRIu64 "\n", c->stats.insns);
}

/* ---- vmx ------------------------------------------------------------------ */

static void log_vmx(void *ctx, const struct trace_event *ev)
{
    struct cli_log *l = ctx;
    if (l->next)
        l->next(l->next_ctx, ev);
    if (!(l->mask & CLI_LOG_VMX))
        return;
    FILE *f = l->f;
    switch (ev->type) {
    case TRACE_EV_vmentry:
        fprintf(f, "vmx: vmentry %s level=%d vmcs=0x%" PRIx64, ev->vmentry.kind, ev->level,
                ev->vmcs);
        if (ev->vmentry.ok)
            fputs(" ok", f);
        else if (ev->vmentry.reason & (1u << 31))
            fprintf(f, " failed: exit reason %u (%s) qual=0x%" PRIx64,
                    ev->vmentry.reason & 0xffff,
                    vmx_exit_reason_name(ev->vmentry.reason & 0xffff), ev->vmentry.qual);
        else
            fprintf(f, " failed: VMfail error %u (%s)", ev->vmentry.error,
                    vmx_insn_err_name(ev->vmentry.error));
        if (!ev->vmentry.ok && ev->vmentry.check)
            fprintf(f, " check=%s", ev->vmentry.check);
        break;
    case TRACE_EV_vmexit:
        fprintf(f, "vmx: vmexit reason %u (%s) level=%d qual=0x%" PRIx64 " guest_rip=0x%" PRIx64
                   " intr_info=0x%" PRIx64,
                ev->vmexit.reason & 0xffff, vmx_exit_reason_name(ev->vmexit.reason & 0xffff),
                ev->level, ev->vmexit.qual, ev->vmexit.guest_rip, ev->vmexit.intr_info);
        break;
    case TRACE_EV_vmfail:
        fprintf(f, "vmx: vmfail %s error %u (%s) vmcs=0x%" PRIx64,
                ev->vmfail.insn ? ev->vmfail.insn : "?", ev->vmfail.error,
                vmx_insn_err_name(ev->vmfail.error), ev->vmcs);
        break;
    default: return; /* L0's own events (--l0) are in the trace */
    }
    fprintf(f, " insns=%" PRIu64 "\n", ev->insns);
}

void cli_log_attach(struct cli_log *l, struct cpu *c, struct trace_writer *tw)
{
    if (!l)
        return;
    if (l->mask & CLI_LOG_INT) {
        c->log_event = log_event;
        c->log_ctx = l;
    }
    if ((l->mask & CLI_LOG_VMX) && c->vmx) {
        l->next = tw ? trace_write_event : NULL;
        l->next_ctx = tw;
        vmx_set_trace((struct vmx *)c->vmx, log_vmx, l);
    }
}

/* ---- cpu_reset and the fatal dump ------------------------------------------ */

static void dump_seg(FILE *f, const char *name, const struct seg_reg *s)
{
    fprintf(f, "%-4s=%04x %016" PRIx64 " %08" PRIx32 " %05" PRIx32 "\n", name, s->sel, s->base,
            s->limit, s->ar);
}

void cli_dump_cpu(FILE *f, struct cpu *c)
{
    static const char *const gpr[16] = { "RAX", "RCX", "RDX", "RBX", "RSP", "RBP",
                                         "RSI", "RDI", "R8",  "R9",  "R10", "R11",
                                         "R12", "R13", "R14", "R15" };
    static const char *const seg[SEG_NSEGS] = { "ES", "CS", "SS", "DS", "FS", "GS" };
    for (unsigned i = 0; i < 16; i++)
        fprintf(f, "%-3s=%016" PRIx64 "%s", gpr[i], c->gpr[i], i % 4 == 3 ? "\n" : " ");
    fprintf(f, "RIP=%016" PRIx64 " RFL=%08" PRIx64 " CPL=%u code=%u-bit level=%d%s%s\n",
            c->rip, cpu_get_rflags(c), c->cpl, c->code_size * 8u, current_level(c),
            c->vmx_nonroot ? " non-root" : "", c->halted ? " halted" : "");
    fputs("seg  sel  base             limit    ar\n", f);
    for (unsigned i = 0; i < SEG_NSEGS; i++)
        dump_seg(f, seg[i], &c->seg[i]);
    dump_seg(f, "LDT", &c->ldtr);
    dump_seg(f, "TR", &c->tr);
    fprintf(f, "GDT =     %016" PRIx64 " %08" PRIx32 "\n", c->gdtr.base, c->gdtr.limit);
    fprintf(f, "IDT =     %016" PRIx64 " %08" PRIx32 "\n", c->idtr.base, c->idtr.limit);
    fprintf(f, "CR0=%016" PRIx64 " CR2=%016" PRIx64 " CR3=%016" PRIx64 " CR4=%016" PRIx64
               " CR8=%" PRIx64 "\n",
            c->cr0, c->cr2, c->cr3, c->cr4, c->cr8);
    fprintf(f, "EFER=%016" PRIx64 " XCR0=%" PRIx64 "\n", c->efer, c->xcr0);
    fprintf(f, "DR0=%016" PRIx64 " DR1=%016" PRIx64 " DR2=%016" PRIx64 " DR3=%016" PRIx64 "\n",
            c->dr[0], c->dr[1], c->dr[2], c->dr[3]);
    fprintf(f, "DR6=%016" PRIx64 " DR7=%016" PRIx64 "\n", c->dr[6], c->dr[7]);
    fprintf(f, "cycles=%" PRIu64 " insns=%" PRIu64 "\n", c->cycles, c->stats.insns);
}

/* The current VMCS, the fields that are not zero, four to a line. */
void cli_dump_vmcs(FILE *f, const struct cpu *c)
{
    if (!c->vmx)
        return;
    const struct vmx *v = c->vmx;
    uint64_t cur = vmx_root_current(v);
    if (cur == ~0ull) {
        fputs("VMCS: no current VMCS\n", f);
        return;
    }
    fprintf(f, "VMCS 0x%" PRIx64 " (fields not listed are 0):\n", cur);
    unsigned n = 0;
    for (unsigned i = 0; i < VMCS_NFIELDS; i++) {
        uint64_t val = vmx_root_peek(v, (enum vmcs_field)i);
        if (!val)
            continue;
        fprintf(f, "  %s=0x%" PRIx64 "%s", vmcs_fields[i].json, val, ++n % 4 ? "" : "\n");
    }
    if (n % 4)
        fputc('\n', f);
}

void cli_log_fatal(struct cli_log *l, struct cpu *c, const char *why, bool quiet)
{
    FILE *f = l && (l->mask & CLI_LOG_CPU_RESET) ? l->f : quiet ? NULL : stderr;
    if (!f)
        return;
    fprintf(f, "cpu_reset: %s: CPU state\n", why);
    cli_dump_cpu(f, c);
    cli_dump_vmcs(f, c);
    fflush(f);
}
