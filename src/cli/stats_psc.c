/* --stats: the modelled paging-structure caches' lookups (src/cpu/psc.c),
 * one line for the linear (and combined) caches and one for EPT's, each
 * cache as hits/misses by its label in include/nvmx/psc_caches.def. */
#include "cli.h"

void cli_psc_report_stats(const struct cpu *c, FILE *f)
{
    static const struct {
        const char *label;
        bool ept;
    } caches[PSC_NCACHES] = {
#define PSC_CACHE(name, kind, level, lbl) [PSC_##name] = { lbl, PSC_KIND_##kind },
#define PSC_KIND_LINEAR false
#define PSC_KIND_EPT true
#include "nvmx/psc_caches.def"
#undef PSC_KIND_EPT
#undef PSC_KIND_LINEAR
#undef PSC_CACHE
    };
    for (int ept = 0; ept < 2; ept++) {
        fprintf(f, "nvmx: stats: %spaging-structure caches hits/misses", ept ? "EPT " : "");
        bool any = false;
        for (unsigned i = 0; i < PSC_NCACHES; i++) {
            if (caches[i].ept != ept || !c->model || !c->model->psc_entries[i])
                continue;
            fprintf(f, "%s %s %llu/%llu", any ? "," : "", caches[i].label,
                    (unsigned long long)c->stats.psc_hits[i], (unsigned long long)c->stats.psc_misses[i]);
            any = true;
        }
        fprintf(f, "%s\n", any ? "" : " (none modelled)");
    }
}
