/* Cost-class names and default cycle counts, generated from
 * include/nvmx/cost_classes.def (the one list of classes). */
#include "nvmx/cpu.h"

#include <string.h>

const char *const cost_class_names[COST_NCLASSES] = {
#define COST_CLASS(name, dflt) [COST_##name] = #name,
#include "nvmx/cost_classes.def"
#undef COST_CLASS
};

static const uint32_t cost_class_defaults[COST_NCLASSES] = {
#define COST_CLASS(name, dflt) [COST_##name] = (dflt),
#include "nvmx/cost_classes.def"
#undef COST_CLASS
};

void cost_model_defaults(struct cost_model *cm)
{
    memset(cm, 0, sizeof(*cm));
    strcpy(cm->name, "builtin-defaults");
    memcpy(cm->cycles, cost_class_defaults, sizeof(cm->cycles));
}
