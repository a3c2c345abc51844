/* The JSON Lines trace of VMX transitions (src/trace): the writer that
 * src/vmx events go to, the validating reader, and the per-exit-reason
 * statistics of `nvmx trace stats`. The format is docs/trace-schema.md. */
#ifndef NVMX_TRACE_H
#define NVMX_TRACE_H

#include "nvmx/vmx.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The schema this nvmx writes, and the oldest one its reader takes
 * (docs/trace-schema.md, "Versions"). */
#define TRACE_SCHEMA_VERSION 3
#define TRACE_SCHEMA_OLDEST 1

/* ---- writer (src/trace/writer.c) ---------------------------------------- */

/* The run a trace describes: its first line. Strings may be NULL (written as
 * null); vmx_msrs is NULL when the CPU has no VMX, else VMX_MSR_COUNT values
 * indexed by enum vmx_msr. */
struct trace_header {
    const char *nvmx_version;
    const char *image;
    const char *cpu_name, *cpu_file;
    const char *cost_name, *cost_file;
    uint64_t mem, max_insns;
    const char *cmdline;
    bool feature_control_locked;
    const uint64_t *vmx_msrs;
    /* For `nvmx replay` (optional, left out when NULL/0): the SHA-256 of
     * the image and of each module (hex), and the options of `run` as given
     * (argv after "run", the image included). */
    const char *image_sha256;
    const char *const *module_sha256;
    unsigned nmodules;
    const char *const *run_args;
    unsigned nrun_args;
};

struct trace_writer;

/* Open FILE for writing ("-" is stdout; a name ending in ".zst" gets
 * zstd-compressed JSON Lines). A writer thread formats, compresses and
 * writes; the caller's thread only copies events. NULL with a message naming
 * the file on failure. */
struct trace_writer *trace_writer_open(const char *path, char *err, size_t errlen);
/* The run starts: create (or truncate) the file. Until then nothing reaches
 * it, so a run that fails before it starts leaves an existing file as it
 * was (trace_writer_close of a writer never started writes nothing). Only
 * the check that the file could be written is made by trace_writer_open. */
bool trace_writer_start(struct trace_writer *w, char *err, size_t errlen);
/* Write to an open stream the caller keeps (tests); it is flushed, not
 * closed, by trace_writer_close. */
struct trace_writer *trace_writer_from_stream(FILE *f, const char *name);
bool trace_write_header(struct trace_writer *w, const struct trace_header *h);
/* A vmx_trace_fn: ctx is the struct trace_writer. Copies the event; waits
 * only when the writer thread is a whole queue behind. */
void trace_write_event(void *ctx, const struct trace_event *ev);
/* Write out everything given so far and wait until it is written. */
void trace_writer_flush(struct trace_writer *w);
/* fn(ctx) is called once, on the caller's thread, after a write failed (a
 * full disk): the run should stop; later events cannot be written. */
void trace_writer_on_failure(struct trace_writer *w, void (*fn)(void *ctx), void *ctx);
bool trace_writer_failed(const struct trace_writer *w);
/* Flush and close; false with a message naming the file if any write failed. */
bool trace_writer_close(struct trace_writer *w, char *err, size_t errlen);

/* ---- reader (src/trace/reader.c) ----------------------------------------- */

/* The fields of one event line that the tools use. An event this reader
 * does not know (a newer writer's, e.g. a nesting event) has type
 * TRACE_EV_COUNT, its name in `event`, and the common keys (cycles, insns,
 * level, vmcs) when it has them: tools pass it through. */
struct trace_record {
    enum trace_event_type type;
    const char *event; /* the "event" value; valid during the callback */
    unsigned line;
    uint64_t cycles, insns;
    uint32_t cost;
    int level;
    bool launch; /* vmentry: VMLAUNCH */
    bool ok;     /* vmentry: succeeded */
    uint32_t reason; /* vmexit, failed vmentry that exited: basic reason */
    uint32_t error;  /* vmfail, failed vmentry with VMfail: error number */
    uint64_t vmcs;   /* current-VMCS pointer */
    uint64_t qual;   /* vmexit, failed vmentry that exited: exit qualification */
    /* The whole line: its text (no newline) and its parsed object (a
     * jansson json_t *), both borrowed, valid during the callback only. */
    const char *text;
    size_t text_len;
    const void *json;
};

/* Called for each valid event line; returning false stops the read. */
typedef bool (*trace_record_fn)(void *ctx, const struct trace_record *r);

struct trace_read_result {
    unsigned lines, records, errors, warnings;
};

/* Read and validate a trace. Every problem is reported on diag as
 * "NAME:LINE: problem" (at most TRACE_MAX_DIAGS of them); a truncated last
 * line is a warning and the lines before it are used. True when there were
 * no errors. */
#define TRACE_MAX_DIAGS 20
bool trace_read(FILE *f, const char *name, trace_record_fn fn, void *ctx, FILE *diag,
                struct trace_read_result *res);

/* trace_read, and also hand the valid header line to header_fn (type
 * TRACE_EV_COUNT, event "header", text and json set) before any event. */
struct trace_read_fns {
    trace_record_fn header;
    trace_record_fn record;
};
bool trace_read_fns(FILE *f, const char *name, const struct trace_read_fns *fns, void *ctx,
                    FILE *diag, struct trace_read_result *res);

/* A trace read one valid line at a time, for tools that walk two traces in
 * step. trace_cursor_next gives the header (type TRACE_EV_COUNT, event
 * "header") and then each valid event, as trace_read_fns does; the record's
 * text and json stay valid until the next call. Diagnostics as trace_read;
 * the result is final once trace_cursor_next returned false. */
struct trace_cursor;
struct trace_cursor *trace_cursor_open(FILE *f, const char *name, FILE *diag);
bool trace_cursor_next(struct trace_cursor *c, struct trace_record *r);
const struct trace_read_result *trace_cursor_result(const struct trace_cursor *c);
void trace_cursor_close(struct trace_cursor *c);

/* Open a trace for reading: "-" is stdin. NULL with "cannot open 'NAME':
 * reason" in err. Close with trace_close_read. */
FILE *trace_open_read(const char *path, char *err, size_t errlen);
void trace_close_read(FILE *f);

/* Parse a hex string ("0x...") as the trace writes them; false if it is not
 * one. */
bool trace_parse_hex(const char *s, uint64_t *out);

/* ---- statistics (src/trace/stats.c) ------------------------------------- */

#define TRACE_MAX_LEVELS 64

struct trace_exit_stat {
    uint64_t samples;
    uint64_t timed;            /* exits followed by a VM entry at their level */
    uint64_t time, min, max;   /* cycles over the timed exits */
};

struct trace_stats {
    struct trace_exit_stat exit[VMX_EXIT_MAX + 1];
    uint64_t exits, total_time;
    uint64_t entries, launches, resumes, failed_entries, vmfails;
    /* Open exits per level: start cycle (exit stamp minus its cost). */
    bool open[TRACE_MAX_LEVELS];
    uint32_t open_reason[TRACE_MAX_LEVELS];
    uint64_t open_start[TRACE_MAX_LEVELS];
};

void trace_stats_init(struct trace_stats *s);
/* A trace_record_fn: ctx is the struct trace_stats. */
bool trace_stats_add(void *ctx, const struct trace_record *r);
/* The perf-kvm-stat-shaped table, sorted by samples (then reason number). */
void trace_stats_print(const struct trace_stats *s, FILE *out);

#endif
