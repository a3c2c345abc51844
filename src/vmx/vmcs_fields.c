/* The VMCS field table and encoding lookup, both generated from the one
 * field list in vmcs_fields.def. */
#include "nvmx/vmcs.h"

#include <stddef.h>

const struct vmcs_field_info vmcs_fields[VMCS_NFIELDS] = {
#define VMCS_FIELD(n, e, w, s, m)                                                          \
    [VMCS_##n] = {.encoding = (e), .width = VMCS_W_##w, .shadow = VMCS_SH_##s,             \
                  .merge = VMCS_MERGE_##m,                                                 \
                  .offset = (uint16_t)(VMCS_DATA_OFFSET + 8 * VMCS_##n), .json = #n},
#include "nvmx/vmcs_fields.def"
#undef VMCS_FIELD
};

/* Dense index over (width, type, index) = encoding bits 14:13, 11:10, 9:1. */
#define LOOKUP_SLOTS (4 * 4 * 512)
static int16_t lookup[LOOKUP_SLOTS];
static bool lookup_ready;

static unsigned slot_of(uint32_t e)
{
    return (VMCS_ENC_WIDTH(e) << 11) | (VMCS_ENC_TYPE(e) << 9) | ((e >> 1) & 0x1ff);
}

static void build_lookup(void)
{
    for (unsigned i = 0; i < LOOKUP_SLOTS; i++)
        lookup[i] = -1;
    for (int f = 0; f < VMCS_NFIELDS; f++)
        lookup[slot_of(vmcs_fields[f].encoding)] = (int16_t)f;
    lookup_ready = true;
}

int vmcs_field_lookup(uint64_t encoding, bool *high)
{
    if (!lookup_ready)
        build_lookup();
    /* Bits 63:15 and 12 are not part of any supported encoding. */
    if (encoding & ~0x6fffull)
        return -1;
    uint32_t e = (uint32_t)encoding;
    int f = lookup[slot_of(e)];
    if (f < 0)
        return -1;
    bool hi = (e & VMCS_ENC_HIGH) != 0;
    if (hi && vmcs_fields[f].width != VMCS_W_U64)
        return -1; /* access type "high" exists only for 64-bit fields */
    if (high)
        *high = hi;
    return f;
}
