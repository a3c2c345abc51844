/* Nested EPT in the turtle: the shadow EPT (EPT02) of the guest's guest,
 * when the guest enables EPT in its vmcs12 and the turtle gives the guest
 * its memory through EPT01 (ept=1). EPT02 = EPT12 composed with EPT01, one
 * 4-KByte leaf at a time, filled on the EPT violations of vmcs02 by
 * src/ept's ept02_compose() (the same walker nvmx's hardware model uses).
 *
 * This header is plain C with no VMX definitions of the guest runtime, so
 * that ept02.c can include include/nvmx/ept_compose.h, whose names (EPT_R,
 * EPT_CAP_INVEPT, ...) the runtime's headers also define. */
#ifndef TURTLE_EPT02_H
#define TURTLE_EPT02_H

#include <stdbool.h>
#include <stdint.h>

/* What the turtle offers (cap12, its IA32_VMX_EPT_VPID_CAP), what it sees
 * (cap01), MAXPHYADDR, EPTP01, and the host-physical memory the walks may
 * read: the guest's block [ram_lo, ram_hi) and the turtle's image
 * [img_lo, img_hi), where EPT01's tables live. Anything else reads as all
 * ones. */
void ept02_setup(uint64_t cap12, uint64_t cap01, unsigned maxphyaddr, uint64_t eptp01,
                 uint64_t ram_lo, uint64_t ram_hi, uint64_t img_lo, uint64_t img_hi);

/* NULL if EPTP12 passes the VM-entry checks against cap12, else the rule
 * it breaks (SDM 3C "Checks on VM-Execution Control Fields"). */
const char *ept02_eptp12_check(uint64_t eptp12);

/* The EPTP to put in vmcs02 for EPTP12. EPT02 caches the translations of
 * one EPTP12: another one empties it first. *flushed is set when the
 * tables were emptied (the caller invalidates EPTP02's cached mappings
 * with INVEPT). */
uint64_t ept02_eptp(uint64_t eptp12, bool *flushed);

/* Empty EPT02 (INVEPT of the guest). The caller invalidates EPTP02. */
void ept02_flush(void);

enum ept02_fault {
    EPT02_FAULT_FILLED,      /* EPT02 now maps the page: resume the guest's guest */
    EPT02_FAULT_VIOLATION,   /* EPT12 denies: an EPT violation for the guest, *qual */
    EPT02_FAULT_MISCONFIG,   /* EPT12 is misconfigured: an EPT misconfiguration */
    EPT02_FAULT_OUTSIDE,     /* EPT12 gives a guest-physical address EPT01 does not
                                map (*gpa): outside the guest's memory */
};

/* An EPT violation of vmcs02 at gpa3 (the guest's guest's physical
 * address) with the processor's exit qualification qual02. On
 * EPT02_FAULT_FILLED *flushed says whether EPT02 was emptied to make room
 * (then the caller invalidates EPTP02). */
enum ept02_fault ept02_fault(uint64_t eptp12, uint64_t gpa3, uint64_t qual02, uint64_t *qual,
                             uint64_t *gpa, bool *flushed);

#endif
