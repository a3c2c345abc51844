/* The row table of include/nvmx/trace_events.def that the writer and the
 * reader walk, the event names, and the presence rules of optional keys. */
#include "nvmx/trace_event.h"
#include "nvmx/vmx_arch.h"

#include <string.h>

/* Where a row's value is: its own member, or the member a derived key is
 * computed from. */
#define TRACE_OFFSET_(e, m) offsetof(struct trace_event, e.m)
#define TRACE_OFFSET_INT(e, k) TRACE_OFFSET_(e, k)
#define TRACE_OFFSET_U32(e, k) TRACE_OFFSET_(e, k)
#define TRACE_OFFSET_LEVEL(e, k) TRACE_OFFSET_(e, k)
#define TRACE_OFFSET_LEN(e, k) TRACE_OFFSET_(e, k)
#define TRACE_OFFSET_HEX(e, k) TRACE_OFFSET_(e, k)
#define TRACE_OFFSET_BOOL(e, k) TRACE_OFFSET_(e, k)
#define TRACE_OFFSET_STR(e, k) TRACE_OFFSET_(e, k)
#define TRACE_OFFSET_STRN(e, k) TRACE_OFFSET_(e, k)
#define TRACE_OFFSET_TEXT(e, k) TRACE_OFFSET_(e, k)
#define TRACE_OFFSET_REASON(e, k) TRACE_OFFSET_(e, k)
#define TRACE_OFFSET_CODE(e, k) TRACE_OFFSET_(e, k)
#define TRACE_OFFSET_OPT_HEX(e, k) TRACE_OFFSET_(e, k)
#define TRACE_OFFSET_WRITES(e, k) TRACE_OFFSET_(e, k)
#define TRACE_OFFSET_WRITES_ORIGIN(e, k) TRACE_OFFSET_(e, k)
#define TRACE_OFFSET_REASON_NAME(e, k) TRACE_OFFSET_(e, reason)
#define TRACE_OFFSET_EXIT_REASON(e, k) TRACE_OFFSET_(e, reason)
#define TRACE_OFFSET_ERROR_NAME(e, k) TRACE_OFFSET_(e, error)
#define TRACE_OFFSET_ERROR_TEXT(e, k) TRACE_OFFSET_(e, error)
#define TRACE_OFFSET_DISASM(e, k) TRACE_OFFSET_(e, insn_bytes)

enum trace_row_index {
#define TRACE_COMMON(k, t) TRACE_ROW_common_##k,
#define TRACE_EVENT(n) TRACE_ROW_event_##n,
#define TRACE_FIELD(e, k, t, p) TRACE_ROW_##e##_##k,
#include "nvmx/trace_events.def"
#undef TRACE_COMMON
#undef TRACE_EVENT
#undef TRACE_FIELD
    TRACE_NROWS
};

const struct trace_row trace_rows[TRACE_NROWS] = {
#define TRACE_COMMON(k, t)                                                               \
    { TRACE_ROW_COMMON, TRACE_EV_COUNT, TRACE_T_##t, TRACE_P_REQ, #k,                    \
      offsetof(struct trace_event, k) },
#define TRACE_EVENT(n)                                                                   \
    { TRACE_ROW_EVENT, TRACE_EV_##n, TRACE_T_INT, TRACE_P_REQ, #n,                       \
      offsetof(struct trace_event, n) },
#define TRACE_FIELD(e, k, t, p)                                                          \
    { TRACE_ROW_FIELD, TRACE_EV_##e, TRACE_T_##t, TRACE_P_##p, #k, TRACE_OFFSET_##t(e, k) },
#include "nvmx/trace_events.def"
#undef TRACE_COMMON
#undef TRACE_EVENT
#undef TRACE_FIELD
};
const unsigned trace_nrows = TRACE_NROWS;

const unsigned trace_event_row[TRACE_EV_COUNT] = {
#define TRACE_COMMON(k, t)
#define TRACE_EVENT(n) [TRACE_EV_##n] = TRACE_ROW_event_##n,
#define TRACE_FIELD(e, k, t, p)
#include "nvmx/trace_events.def"
#undef TRACE_COMMON
#undef TRACE_EVENT
#undef TRACE_FIELD
};

const size_t trace_event_size[TRACE_EV_COUNT] = {
#define TRACE_COMMON(k, t)
#define TRACE_EVENT(n) [TRACE_EV_##n] = offsetof(struct trace_event, n) + sizeof(struct trace_ev_##n),
#define TRACE_FIELD(e, k, t, p)
#include "nvmx/trace_events.def"
#undef TRACE_COMMON
#undef TRACE_EVENT
#undef TRACE_FIELD
};

/* Every row of an event names that event, and each event's rows follow its
 * TRACE_EVENT row: checked where it is cheapest, at compile time. */
#define TRACE_COMMON(k, t)
#define TRACE_EVENT(n)
#define TRACE_FIELD(e, k, t, p)                                                          \
    _Static_assert(TRACE_ROW_##e##_##k > TRACE_ROW_event_##e,                            \
                   "trace_events.def: key " #k " comes before TRACE_EVENT(" #e ")");
#include "nvmx/trace_events.def"
#undef TRACE_COMMON
#undef TRACE_EVENT
#undef TRACE_FIELD

const char *trace_event_name(enum trace_event_type t)
{
    return (unsigned)t < TRACE_EV_COUNT ? trace_rows[trace_event_row[t]].key : "unknown";
}

enum trace_event_type trace_event_lookup(const char *name)
{
    for (unsigned t = 0; t < TRACE_EV_COUNT; t++)
        if (!strcmp(trace_rows[trace_event_row[t]].key, name))
            return (enum trace_event_type)t;
    return TRACE_EV_COUNT;
}

/* A value is "zero" for NZ: the number, no bytes, or no bits above 15:0 for
 * the full exit-reason field (SDM 3C "Basic VM-Exit Information"). */
static bool row_nonzero(const struct trace_row *r, const struct trace_event *ev)
{
    const char *p = (const char *)ev + r->offset;
    switch (r->type) {
    case TRACE_T_INT:
    case TRACE_T_HEX: return *(const uint64_t *)(const void *)p != 0;
    case TRACE_T_U32:
    case TRACE_T_LEN:
    case TRACE_T_REASON: return *(const uint32_t *)(const void *)p != 0;
    case TRACE_T_EXIT_REASON: return (*(const uint32_t *)(const void *)p & 0xffff0000u) != 0;
    case TRACE_T_CODE:
    case TRACE_T_DISASM: return ((const struct trace_code *)(const void *)p)->nbytes != 0;
    case TRACE_T_LEVEL: return *(const int *)(const void *)p != 0;
    case TRACE_T_OPT_HEX: return ((const struct trace_opt_hex *)(const void *)p)->has;
    case TRACE_T_WRITES:
    case TRACE_T_WRITES_ORIGIN: return ((const struct trace_vmcs_log *)(const void *)p)->n != 0;
    case TRACE_T_BOOL: return *(const bool *)(const void *)p;
    case TRACE_T_STR:
    case TRACE_T_STRN: return *(const char *const *)(const void *)p != NULL;
    case TRACE_T_TEXT: return p[0] != '\0';
    default: return true;
    }
}

bool trace_row_present(const struct trace_row *r, const struct trace_event *ev)
{
    /* SDM 3C "VM Entries": early failures are VMfail; guest-state and
     * MSR-load failures are VM exits with bit 31 of the reason set. */
    bool failed = ev->type == TRACE_EV_vmentry && !ev->vmentry.ok;
    bool fail_exit = failed && (ev->vmentry.reason & VMX_EXIT_REASON_ENTRY_FAILURE);
    switch (r->presence) {
    case TRACE_P_REQ:
    case TRACE_P_SINCE3: return true;
    case TRACE_P_NZ: return row_nonzero(r, ev);
    case TRACE_P_FAILED: return failed;
    case TRACE_P_FAIL_EXIT: return fail_exit;
    case TRACE_P_FAIL_VMFAIL: return failed && !fail_exit;
    case TRACE_P_VMFAIL_VALID:
        return ev->type == TRACE_EV_emulate && ev->emulate.result &&
               !strcmp(ev->emulate.result, "VMfailValid");
    case TRACE_P_MSR_EXIT:
        return ev->type == TRACE_EV_vmexit && ((ev->vmexit.reason & 0xffff) == VMX_EXIT_rdmsr ||
                                               (ev->vmexit.reason & 0xffff) == VMX_EXIT_wrmsr);
    }
    return true;
}
