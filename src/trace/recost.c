/* `nvmx trace recost`: a recorded trace re-stamped under another cost model
 * for the VMX transitions, without re-running. The cost of VM entries and
 * VM exits is recorded per event, so they are recosted exactly; the
 * instructions between transitions are not recorded, so their classes
 * cannot be (docs/cli.md says what this means for the result). */
#include "nvmx/trace_tools.h"

#include <string.h>

void trace_recost_init(struct trace_recost *rc, uint32_t entry_cost, uint32_t exit_cost)
{
    memset(rc, 0, sizeof(*rc));
    rc->entry_cost = entry_cost;
    rc->exit_cost = exit_cost;
}

static uint64_t shift(uint64_t cycles, int64_t offset)
{
    return offset < 0 && (uint64_t)-offset > cycles ? 0 : cycles + (uint64_t)offset;
}

void trace_recost_record(struct trace_recost *rc, struct trace_record *r)
{
    rc->last_old = r->cycles;
    /* A VMLAUNCH/VMRESUME is charged when it retires: after its vmentry
     * stamp, and after the vmexit of an entry that exits before any guest
     * instruction (an entry failure, reason 33/34/41, or a guest that exits
     * at once). So the entry's difference applies from the first event
     * after it with a larger instruction count. */
    if (rc->pending_entry && r->insns > rc->pending_insns) {
        rc->offset += rc->pending;
        rc->pending_entry = false;
    }
    switch (r->type) {
    case TRACE_EV_vmexit:
        /* The exit's stamp is taken after its cost is charged. */
        rc->offset += (int64_t)rc->exit_cost - (int64_t)r->cost;
        rc->exits++;
        rc->old_exit_cost += r->cost;
        r->cycles = shift(r->cycles, rc->offset);
        r->cost = rc->exit_cost;
        break;
    case TRACE_EV_vmentry:
        r->cycles = shift(r->cycles, rc->offset);
        if (rc->pending_entry) /* two entries at one instruction count */
            rc->offset += rc->pending;
        rc->pending_entry = true;
        rc->pending = (int64_t)rc->entry_cost - (int64_t)r->cost;
        rc->pending_insns = r->insns;
        rc->entries++;
        rc->old_entry_cost += r->cost;
        r->cost = rc->entry_cost;
        break;
    default: r->cycles = shift(r->cycles, rc->offset); break;
    }
    rc->last_new = r->cycles;
}
