/* The VMCS field table, generated from vmcs_fields.def, and the in-memory
 * layout of a VMCS region (docs/vmcs-layout.md). */
#ifndef NVMX_VMCS_H
#define NVMX_VMCS_H

#include <stdbool.h>
#include <stdint.h>

enum vmcs_field {
#define VMCS_FIELD(n, e, w, s, m) VMCS_##n,
#include "nvmx/vmcs_fields.def"
#undef VMCS_FIELD
    VMCS_NFIELDS
};

/* Width: the values of encoding bits 14:13 (SDM 3C "VMCS Component Encoding"). */
enum vmcs_width { VMCS_W_U16 = 0, VMCS_W_U64 = 1, VMCS_W_U32 = 2, VMCS_W_NAT = 3 };
enum vmcs_shadow { VMCS_SH_NO = 0, VMCS_SH_RO, VMCS_SH_RW };
enum vmcs_merge { VMCS_MERGE_COPY = 0, VMCS_MERGE_OR, VMCS_MERGE_FN, VMCS_MERGE_NONE };

struct vmcs_field_info {
    uint16_t encoding;
    uint8_t width;  /* enum vmcs_width */
    uint8_t shadow; /* enum vmcs_shadow */
    uint8_t merge;  /* enum vmcs_merge */
    uint16_t offset; /* byte offset of the field's 8-byte slot in a VMCS region */
    const char *json;
};

extern const struct vmcs_field_info vmcs_fields[VMCS_NFIELDS];

/* VMCS region layout: SDM 3C "Format of the VMCS Region" fixes the first 8
 * bytes (revision identifier with the shadow-VMCS indicator in bit 31, then
 * the VMX-abort indicator); the rest is implementation-specific. nvmx puts
 * its launch state at offset 8 and one 8-byte slot per field from offset
 * VMCS_DATA_OFFSET, in .def order. */
#define VMCS_REVISION_OFFSET 0
#define VMCS_ABORT_OFFSET 4
#define VMCS_LAUNCH_STATE_OFFSET 8
#define VMCS_DATA_OFFSET 16
#define VMCS_REGION_SIZE 4096
#define VMCS_SHADOW_INDICATOR (1u << 31)

/* Encoding bit layout (SDM 3C "VMCS Component Encoding") */
#define VMCS_ENC_HIGH 0x1u
#define VMCS_ENC_TYPE(e) (((e) >> 10) & 3u)
#define VMCS_ENC_WIDTH(e) (((e) >> 13) & 3u)
#define VMCS_ENC_TYPE_CONTROL 0
#define VMCS_ENC_TYPE_RO_DATA 1
#define VMCS_ENC_TYPE_GUEST 2
#define VMCS_ENC_TYPE_HOST 3

/* Field for an encoding, or -1 if the component is unsupported (VM-instruction
 * error 12). *high says the encoding names the high 32 bits of a 64-bit field. */
int vmcs_field_lookup(uint64_t encoding, bool *high);

/* Bits a field holds: 16, 32 or 64 (natural width is 64 on nvmx's CPUs). */
static inline uint64_t vmcs_width_mask(unsigned width)
{
    return width == VMCS_W_U16 ? 0xffffull : width == VMCS_W_U32 ? 0xffffffffull : ~0ull;
}

#endif
