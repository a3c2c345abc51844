/* nvmx configuration files: CPU models (configs/cpu/NAME.json: CPUID leaves)
 * and cost models (configs/cost/NAME.json: cycles per cost class). The formats
 * are described in docs/cli.md. Loaders reject unknown keys, bad types and
 * out-of-range values with a message naming the file, the key and the
 * problem. */
#ifndef NVMX_CONFIG_H
#define NVMX_CONFIG_H

#include "nvmx/cpu.h"

#include <stdbool.h>
#include <stddef.h>

/* Largest cycle count accepted for one cost class. */
#define CONFIG_MAX_CYCLES 1000000u

bool config_load_cpu_model(const char *path, struct cpu_model *model, char *err, size_t errlen);
bool config_load_cost_model(const char *path, struct cost_model *cost, char *err,
                            size_t errlen);

/* Look up a CPUID leaf in a model: exact subleaf match for leaves with
 * subleaves, else the leaf itself. NULL when absent. */
const struct cpuid_leaf *config_find_leaf(const struct cpu_model *model, uint32_t leaf,
                                          uint32_t subleaf);

/* Parse a size with an optional K/M/G suffix (binary units, case-insensitive,
 * optional trailing 'B' or 'iB'). False on syntax error or overflow. */
bool config_parse_size(const char *s, uint64_t *out);

#endif
