/* The processor's operating mode, CPL and default code size, derived from
 * CR0, EFER, RFLAGS.VM and CS after every change of one of them
 * (SDM 3A "Modes of Operation", "IA-32e Mode Operation"). */
#include "cpu_internal.h"

static void update_mode(struct cpu *c)
{
    const struct seg_reg *cs = &c->seg[SEG_CS];

    /* SDM 3A "Initializing IA-32e Mode": LMA follows LME while paging is
     * enabled, and is clear without paging. */
    if ((c->cr0 & (CR0_PE | CR0_PG)) == (CR0_PE | CR0_PG) && (c->efer & EFER_LME))
        c->efer |= EFER_LMA;
    else
        c->efer &= ~EFER_LMA;

    if (!(c->cr0 & CR0_PE)) {
        c->mode = MODE_REAL;
        c->cpl = 0;
        c->code_size = (cs->ar & AR_DB) ? 4 : 2;
        return;
    }
    if ((c->rflags & FL_VM) && !cpu_long_active(c)) {
        /* Virtual-8086 mode cannot be entered (IRET and POPF refuse to set
         * VM); the mode exists only so that state loaded from outside, e.g.
         * a VMCS, is classified correctly. */
        c->mode = MODE_V86;
        c->cpl = 3;
        c->code_size = 2;
        return;
    }
    /* CPL is CS.RPL as loaded by the transfer that loaded CS: every path
     * that loads CS writes the new CPL into CS.sel[1:0] (SDM 3A "Privilege
     * Levels": "CPL ... is normally equal to the RPL of the CS register"). */
    c->cpl = (uint8_t)(cs->sel & 3u);
    if (cpu_long_active(c)) {
        if (cs->ar & AR_L) {
            c->mode = MODE_LONG64;
            c->code_size = 8;
        } else {
            c->mode = MODE_COMPAT;
            c->code_size = (cs->ar & AR_DB) ? 4 : 2;
        }
        return;
    }
    c->mode = MODE_PROT;
    c->code_size = (cs->ar & AR_DB) ? 4 : 2;
}

void cpu_update_mode(struct cpu *c)
{
    update_mode(c);
    c->recheck = true; /* block links are made for one code size and CPL */
    /* The TLB halves the specialised memory paths use at this CPL. */
    cpu_alignment_update(c);
}
