/* src/trace private: the output buffer, the line formatter, the
 * disassembly cache and the compressed-input reader. */
#ifndef NVMX_TRACE_INTERNAL_H
#define NVMX_TRACE_INTERNAL_H

#include "nvmx/trace.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A growable byte buffer. Bytes are appended unchecked after a reserve. */
struct trace_buf {
    char *p;
    size_t len, cap;
    bool oom; /* a reserve failed: the buffer stopped growing */
};

bool trace_buf_reserve(struct trace_buf *b, size_t n);
void trace_buf_free(struct trace_buf *b);

/* ---- disassembly (src/trace/disasm.c) ---- */

/* Capstone's text for the instruction at code->rip, computed once for each
 * distinct (code size, address, bytes): Capstone's only inputs. */
struct trace_disasm;
struct trace_disasm_result {
    const char *text; /* NULL: the bytes do not decode */
    unsigned size;    /* bytes decoded (all bytes when they do not decode) */
};
struct trace_disasm *trace_disasm_new(void);
void trace_disasm_free(struct trace_disasm *d);
struct trace_disasm_result trace_disasm(struct trace_disasm *d, const struct trace_code *code);

/* ---- formatting (src/trace/format.c) ---- */

/* The formatter's caches (disassembly, keys, static strings); one per
 * writer thread. */
struct trace_fmt;
struct trace_fmt *trace_fmt_new(void);
void trace_fmt_free(struct trace_fmt *f);
/* One line for the event, '\n' included, appended to b. The keys and the
 * values are those of docs/trace-schema.md, in the .def's order. */
void trace_format_event(struct trace_buf *b, const struct trace_event *ev, struct trace_fmt *f);
/* The header line, '\n' included. */
void trace_format_header(struct trace_buf *b, const struct trace_header *h);

/* ---- compressed input (src/trace/zst_read.c) ---- */

/* f itself when it does not start with the zstd frame magic; else a stream
 * of its decompressed bytes (reading it reads f; closing it does not close
 * f). NULL with a message when that stream cannot be made. */
FILE *trace_open_input(FILE *f, const char *name, char *err, size_t errlen);

/* multiply.c: the exit multiplication and annotations as a JSON object
 * (a jansson json_t *, new reference) for `trace stats --format json`. */
struct trace_multiply;
void *trace_multiply_json(const struct trace_multiply *m);

#endif
