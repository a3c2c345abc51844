/* Levels beyond L2 (docs/nested.md "Levels"). L0 sees two kinds of guest:
 * L1 on vmcs01 and whatever L1 enters on vmcs02. When L1 is itself a
 * nesting hypervisor, what it enters may run L2, L3 or deeper; L0 infers
 * which from the causality of the exits it reflects to L1, the way the
 * guest hypervisors pass them on:
 *
 *   - an exit of the guest at level m goes to its own hypervisor L(m-1);
 *     every hypervisor Lj with j < m-1 passes it on by entering L(j+1), so
 *     each of L1 .. L(m-1) has that exit as the last one delivered to it;
 *   - when Lj next enters its guest it runs L(j+1) -- unless the exit it
 *     handled was L(j+1)'s own VMLAUNCH/VMRESUME, which Lj emulates by
 *     entering what L(j+1) enters: then the level is L(j+1)'s, by the
 *     same rule, one level further down.
 *
 *   - unless Lj handled that exit itself and resumed the guest that
 *     exited (a guest hypervisor that fills its shadow EPT, or emulates
 *     VMCS shadowing for its guest's guest: the turtle does both). L0 sees
 *     it when L1 enters the very vmcs12 it ran the exited guest on, and
 *     that vmcs12 is not the one L(j+1) last ran on: a hypervisor with a
 *     vmcs02 per vmcs12 (the turtle) tells the levels apart by pointer;
 *     one that runs every deeper guest on a single vmcs02 does not, and
 *     the rule above decides.
 *
 * For a stack of depth 3 this is the rule "after L0 reflects a VMLAUNCH/
 * VMRESUME of the guest of VMCS A to L1, the next different VMCS L1 enters
 * runs one level deeper than A's guest"; it also holds when a guest
 * hypervisor runs every deeper guest on one merged VMCS (the turtle and
 * KVM do), where the VMCS pointer alone cannot tell L3 from L4. */
#include "nested_internal.h"

static bool is_entry(uint16_t basic)
{
    return basic == VMX_EXIT_vmlaunch || basic == VMX_EXIT_vmresume;
}

void nested_levels_reflect(struct nested *n, uint32_t reason)
{
    struct nested_levels *lv = &n->lv;
    int m = lv->running;
    for (int j = 1; j < m && j < NESTED_MAX_LEVELS; j++) {
        lv->last[j].origin = (uint8_t)m;
        lv->last[j].reason = (uint16_t)(reason & 0xffff);
        lv->last[j].vmcs12 = n->v12.ptr;
    }
}

int nested_levels_enter(struct nested *n)
{
    struct nested_levels *lv = &n->lv;
    uint64_t p = n->v12.ptr;
    int j = 1;
    while (j + 1 < NESTED_MAX_LEVELS && lv->last[j].origin == j + 1 && is_entry(lv->last[j].reason))
        j++;
    lv->running = j + 1;
    if (lv->last[j].origin > j + 1 && lv->last[j].vmcs12 == p && lv->ran_on[j + 1] != p)
        lv->running = lv->last[j].origin; /* Lj resumed the guest that exited */
    lv->ran_on[lv->running] = p;
    return lv->running;
}
