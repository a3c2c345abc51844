/* The trace event model, generated from include/nvmx/trace_events.def: the
 * event types, struct trace_event that src/vmx and src/nested fill in, and
 * the row table the writer and the reader walk (src/trace/event.c). A leaf:
 * it includes no other nvmx header. Format: docs/trace-schema.md. */
#ifndef NVMX_TRACE_EVENT_H
#define NVMX_TRACE_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum trace_event_type {
#define TRACE_COMMON(k, t)
#define TRACE_EVENT(n) TRACE_EV_##n,
#define TRACE_FIELD(e, k, t, p)
#include "nvmx/trace_events.def"
#undef TRACE_COMMON
#undef TRACE_EVENT
#undef TRACE_FIELD
    TRACE_EV_COUNT
};

enum trace_field_type {
    TRACE_T_INT, TRACE_T_U32, TRACE_T_LEVEL, TRACE_T_LEN, TRACE_T_HEX, TRACE_T_BOOL,
    TRACE_T_STR, TRACE_T_STRN, TRACE_T_TEXT, TRACE_T_REASON, TRACE_T_CODE,
    TRACE_T_OPT_HEX, TRACE_T_WRITES, TRACE_T_WRITES_ORIGIN,
    TRACE_T_REASON_NAME, TRACE_T_EXIT_REASON, TRACE_T_ERROR_NAME, TRACE_T_ERROR_TEXT,
    TRACE_T_DISASM,
};

enum trace_presence {
    TRACE_P_REQ, TRACE_P_NZ, TRACE_P_FAILED, TRACE_P_FAIL_EXIT, TRACE_P_FAIL_VMFAIL,
    TRACE_P_VMFAIL_VALID, TRACE_P_MSR_EXIT, TRACE_P_SINCE3,
};

#define TRACE_TEXT_MAX 192
#define TRACE_CODE_MAX 15

/* The instruction bytes at an address, for the trace's disassembly. */
struct trace_code {
    uint64_t rip;                  /* address the bytes were fetched at */
    uint8_t bytes[TRACE_CODE_MAX];
    uint8_t nbytes;                /* 0: none could be read */
    uint8_t code_size;             /* 2, 4, 8: the code size they run in */
};

/* A value that may be absent. */
struct trace_opt_hex {
    bool has;
    uint64_t value;
};

/* One VMCS field a merge or sync wrote (src/nested). */
struct trace_vmcs_write {
    uint16_t field;     /* enum vmcs_field */
    uint64_t value;
    const char *origin; /* merge: where the value came from (static string) */
};

/* The fields written, in order. The writer copies the n entries with the
 * event: they may change once the event is handed over. */
struct trace_vmcs_log {
    unsigned n;
    const struct trace_vmcs_write *w;
};

/* Member of each type (derived types have none). */
#define TRACE_MEMBER_INT(k) uint64_t k;
#define TRACE_MEMBER_U32(k) uint32_t k;
#define TRACE_MEMBER_LEVEL(k) int k;
#define TRACE_MEMBER_LEN(k) uint32_t k;
#define TRACE_MEMBER_HEX(k) uint64_t k;
#define TRACE_MEMBER_BOOL(k) bool k;
#define TRACE_MEMBER_STR(k) const char *k;
#define TRACE_MEMBER_STRN(k) const char *k;
#define TRACE_MEMBER_TEXT(k) char k[TRACE_TEXT_MAX];
#define TRACE_MEMBER_REASON(k) uint32_t k;
#define TRACE_MEMBER_CODE(k) struct trace_code k;
#define TRACE_MEMBER_OPT_HEX(k) struct trace_opt_hex k;
#define TRACE_MEMBER_WRITES(k) struct trace_vmcs_log k;
#define TRACE_MEMBER_WRITES_ORIGIN(k) struct trace_vmcs_log k;
#define TRACE_MEMBER_REASON_NAME(k)
#define TRACE_MEMBER_EXIT_REASON(k)
#define TRACE_MEMBER_ERROR_NAME(k)
#define TRACE_MEMBER_ERROR_TEXT(k)
#define TRACE_MEMBER_DISASM(k)

/* struct trace_ev_<event>: the event's own members, in row order. Each
 * TRACE_EVENT row closes the previous struct and opens its own. */
struct trace_ev_none_ {
    char unused_;
#define TRACE_COMMON(k, t)
#define TRACE_EVENT(n)                                                                   \
    }                                                                                    \
    ;                                                                                    \
    struct trace_ev_##n {
#define TRACE_FIELD(e, k, t, p) TRACE_MEMBER_##t(k)
#include "nvmx/trace_events.def"
#undef TRACE_COMMON
#undef TRACE_EVENT
#undef TRACE_FIELD
};

/* One event. Members of other event types are unused. */
struct trace_event {
    enum trace_event_type type;
#define TRACE_COMMON(k, t) TRACE_MEMBER_##t(k)
#define TRACE_EVENT(n)
#define TRACE_FIELD(e, k, t, p)
#include "nvmx/trace_events.def"
#undef TRACE_COMMON
#undef TRACE_EVENT
#undef TRACE_FIELD
    union {
#define TRACE_COMMON(k, t)
#define TRACE_EVENT(n) struct trace_ev_##n n;
#define TRACE_FIELD(e, k, t, p)
#include "nvmx/trace_events.def"
#undef TRACE_COMMON
#undef TRACE_EVENT
#undef TRACE_FIELD
    };
};

/* The rows of the .def, in order: each common key, then each event followed
 * by its keys. */
enum trace_row_kind { TRACE_ROW_COMMON, TRACE_ROW_EVENT, TRACE_ROW_FIELD };

struct trace_row {
    enum trace_row_kind kind;
    enum trace_event_type event;    /* TRACE_ROW_EVENT, TRACE_ROW_FIELD */
    enum trace_field_type type;
    enum trace_presence presence;
    const char *key;                /* the event name for TRACE_ROW_EVENT */
    size_t offset;                  /* of the value, or of its source member */
};

extern const struct trace_row trace_rows[];
extern const unsigned trace_nrows;
/* Index in trace_rows of each event's TRACE_EVENT row. */
extern const unsigned trace_event_row[TRACE_EV_COUNT];
/* Bytes of struct trace_event an event of each type uses. */
extern const size_t trace_event_size[TRACE_EV_COUNT];

const char *trace_event_name(enum trace_event_type t);
/* TRACE_EV_COUNT when the name is not an event. */
enum trace_event_type trace_event_lookup(const char *name);
/* Whether the row's key is written for this event (its presence rule). */
bool trace_row_present(const struct trace_row *r, const struct trace_event *ev);

#endif
