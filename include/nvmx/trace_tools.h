/* The tools half of src/trace: grouped exit statistics (`trace stats
 * --by`), trace comparison (`trace diff`), what-if costing (`trace
 * recost`), Perfetto export and the trace-cmd import. Every tool streams a
 * trace through trace_read_fns() and keeps memory bounded by the number of
 * groups, never by the length of the trace. Docs: docs/cli.md. */
#ifndef NVMX_TRACE_TOOLS_H
#define NVMX_TRACE_TOOLS_H

#include "nvmx/trace.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum trace_out_format { TRACE_FMT_TABLE, TRACE_FMT_JSON, TRACE_FMT_CSV };
/* "table", "json", "csv"; false for anything else. */
bool trace_parse_format(const char *s, enum trace_out_format *out);

/* ---- grouped statistics (src/trace/group.c) ------------------------------ */

/* What an exit is counted under (perf kvm stat's --event). */
enum trace_group_key {
    TRACE_BY_NONE,
    TRACE_BY_REASON, /* basic exit reason */
    TRACE_BY_VMCS,   /* current-VMCS pointer */
    TRACE_BY_PORT,   /* I/O-instruction exits: port and direction */
    TRACE_BY_MSR,    /* RDMSR/WRMSR exits: MSR (ECX) and direction */
};
enum trace_sort { TRACE_SORT_COUNT, TRACE_SORT_TIME };

/* Distinct groups kept; exits beyond them are counted in one "(other)" row. */
#define TRACE_MAX_GROUPS 65536
/* Distinct names of events this reader does not know, counted by name. */
#define TRACE_MAX_OTHER_EVENTS 16

struct trace_group {
    int level;      /* -1 when not grouped by level */
    uint64_t key;   /* reason, VMCS pointer, port or MSR */
    uint32_t info;  /* port: 1 = OUT; msr: 1 = WRMSR; msr key unknown: 2 */
    bool other;     /* the overflow row */
    struct trace_exit_stat st;
};

/* The exit multiplication and level annotations (src/trace/multiply.c),
 * kept with --by level. */
struct trace_multiply {
    int deepest;                   /* deepest level with a VM exit so far */
    bool open[TRACE_MAX_LEVELS];   /* an episode of that level in progress */
    uint64_t start[TRACE_MAX_LEVELS];
    uint64_t cur[TRACE_MAX_LEVELS][TRACE_MAX_LEVELS]; /* [n][k]: exits at k so far */
    uint64_t sum[TRACE_MAX_LEVELS][TRACE_MAX_LEVELS]; /* over finished episodes */
    uint64_t episodes[TRACE_MAX_LEVELS], cycles[TRACE_MAX_LEVELS];
    uint64_t annotations, disagree; /* level annotations; those that disagree */
    unsigned bad_line;              /* the first that disagrees */
    uint64_t bad_claim;
    int bad_level;
};
struct trace_multiply *trace_multiply_new(void);
void trace_multiply_free(struct trace_multiply *m);
void trace_multiply_add(struct trace_multiply *m, const struct trace_record *r);
void trace_multiply_print(const struct trace_multiply *m, FILE *out);

struct trace_groups {
    struct trace_multiply *mul; /* with by_level */
    enum trace_group_key by;
    bool by_level;
    struct trace_group *rows;
    uint32_t nrows, cap;
    uint32_t *index; /* open-addressing hash of rows, 2 * cap slots, ~0u empty */
    uint32_t other_row; /* ~0u until needed */
    uint64_t exits, total_time; /* over the exits this grouping counts */
    uint64_t all_exits, entries, launches, resumes, failed_entries, vmfails;
    uint64_t msr_key_missing; /* MSR exits without an "msr" key */
    bool open[TRACE_MAX_LEVELS];
    uint32_t open_row[TRACE_MAX_LEVELS];
    uint64_t open_start[TRACE_MAX_LEVELS];
    struct {
        char name[32];
        uint64_t count;
    } other_events[TRACE_MAX_OTHER_EVENTS];
    unsigned nother_events;
    uint64_t other_events_dropped;
    bool oom;
};

/* Parse a --by list ("reason", "level", "level,reason", "port", ...). False
 * with a message in err. */
bool trace_groups_parse_by(const char *spec, enum trace_group_key *by, bool *by_level,
                           char *err, size_t errlen);
void trace_groups_init(struct trace_groups *g, enum trace_group_key by, bool by_level);
void trace_groups_free(struct trace_groups *g);
/* A trace_record_fn: ctx is the struct trace_groups. False when out of
 * memory (g->oom). */
bool trace_groups_add(void *ctx, const struct trace_record *r);
/* The row's label: "cpuid", "L2", "L2 cpuid", "0x3000", "0x3f8:POUT",
 * "0x10:rdmsr". */
void trace_group_label(const struct trace_groups *g, const struct trace_group *row, char *out,
                       size_t outlen);
void trace_groups_print(const struct trace_groups *g, enum trace_sort sort,
                        enum trace_out_format fmt, FILE *out);

/* ---- diff (src/trace/diff.c) ---------------------------------------------- */

#define TRACE_DIFF_MAX_IGNORE 32

struct trace_diff_opts {
    /* Keys left out of the comparison: a bare name ("cycles") at any depth,
     * a dotted path ("config.cost.file") at that place only. */
    const char *ignore[TRACE_DIFF_MAX_IGNORE];
    unsigned nignore;
    unsigned context; /* equal events shown before the first divergence */
};

enum trace_diff_result { TRACE_DIFF_SAME = 0, TRACE_DIFF_DIFFER = 1, TRACE_DIFF_BAD_INPUT = 2 };

/* Walk traces A and B in step, line by line (the header, then the events in
 * order), and report on out: the header keys that differ, the first event
 * that differs with its context and the differing keys, and the counts and
 * exit cycles per level and exit reason of both with their deltas.
 * Diagnostics of malformed input go to diag. */
enum trace_diff_result trace_diff(FILE *a, const char *aname, FILE *b, const char *bname,
                                  const struct trace_diff_opts *o, FILE *out, FILE *diag);

/* ---- recost (src/trace/recost.c) ----------------------------------------- */

/* A trace's cycles under another cost model for the VMX transitions: every
 * vmexit and vmentry is charged `exit_cost` / `entry_cost` instead of its
 * recorded `cost`, and every later cycle stamp moves by the difference so
 * far. Schema 1: a vmexit's stamp includes its own cost; a vmentry's cost
 * is charged when VMLAUNCH/VMRESUME retires, after its stamp (and after
 * the vmexit of an entry that exits before any guest instruction). */
struct trace_recost {
    uint32_t entry_cost, exit_cost;  /* the new model's vm_entry, vm_exit */
    int64_t offset;                  /* cycles added so far */
    int64_t pending;                 /* the last entry's difference, not yet applied */
    uint64_t pending_insns;          /* its instruction count */
    bool pending_entry;
    uint64_t entries, exits;         /* transitions recosted (failed entries too) */
    uint64_t old_entry_cost, old_exit_cost; /* their recorded costs, summed */
    uint64_t last_old, last_new;     /* the last cycle stamp, recorded and recosted */
};

void trace_recost_init(struct trace_recost *rc, uint32_t entry_cost, uint32_t exit_cost);
/* Rewrite r in place (cycles, cost) as the new model would have stamped it. */
void trace_recost_record(struct trace_recost *rc, struct trace_record *r);

/* ---- export (src/trace/export.c) ----------------------------------------- */

/* Chrome/Perfetto trace-event JSON of a trace, written as it is read: one
 * track (thread) per level, a complete slice ("X") per guest run from the
 * end of a VM entry to the start of the next VM exit at that level, an
 * instant ("i") per VM exit, failed entry, VMfail and unknown event, with
 * the trace line as its args. Timestamps are cycles / cycles_per_us. */
struct trace_export_result {
    struct trace_read_result read;
    uint64_t slices, instants;
    bool write_failed;
};
bool trace_export_perfetto(FILE *in, const char *name, FILE *out, double cycles_per_us,
                           FILE *diag, struct trace_export_result *res);

/* ---- image hashes (src/trace/sha256.c) ------------------------------------ */

/* SHA-256 as 64 lower-case hex digits and a NUL. */
void trace_sha256(const void *data, size_t len, char out[65]);
/* Of a file; false with "cannot open 'PATH': reason" in err. */
bool trace_sha256_file(const char *path, char out[65], char *err, size_t errlen);

/* ---- trace-cmd import (src/trace/import_ftrace.c) ------------------------ */

/* `trace-cmd report` text of KVM's kvm_exit, kvm_entry, kvm_nested_vmexit,
 * kvm_nested_vmexit_inject and kvm_nested_vmenter events -> nvmx's schema.
 * Timestamps become cycles: (ns since the first event) * cycles_per_ns. One
 * vCPU is imported (vcpu >= 0, or the first one seen when -1). */
struct trace_import_opts {
    double cycles_per_ns;
    int vcpu;
};
struct trace_import_result {
    unsigned lines, events, skipped_lines, other_vcpu, errors;
    int vcpu;
};
bool trace_import_ftrace(FILE *in, const char *name, FILE *out,
                         const struct trace_import_opts *o, FILE *diag,
                         struct trace_import_result *res);

/* ---- HTML report (src/trace/report.c) ------------------------------------- */

/* One self-contained HTML page (inline SVG, no script) of a trace: VM exits
 * over time per level, exits and exit cycles per reason, cycles-per-exit
 * histograms of the busiest reasons, and the merge sizes. Read in one pass
 * with fixed memory (time buckets that double their width as the trace
 * grows). False (problems on diag) for a bad trace. */
bool trace_report_html(FILE *in, const char *name, FILE *out, FILE *diag,
                       struct trace_read_result *res);

#endif
