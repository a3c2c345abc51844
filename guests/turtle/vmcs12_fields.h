/* The VMCS fields a guest hypervisor's VMCS (vmcs12) holds: the one list in
 * include/nvmx/vmcs_fields.def (SDM 3C Appendix B "Field Encoding in
 * VMCS"), and the encoding rules of SDM 3C "Component Encoding". Pure
 * tables and functions: this header compiles freestanding and hosted. */
#ifndef VMCS12_FIELDS_H
#define VMCS12_FIELDS_H

#include <stdint.h>

enum vmcs12_field_index {
#define VMCS_FIELD(name, encoding, width, shadow, merge) VMCS12_##name,
#include "nvmx/vmcs_fields.def"
#undef VMCS_FIELD
    VMCS12_NFIELDS
};

static const uint16_t vmcs12_encoding[VMCS12_NFIELDS] = {
#define VMCS_FIELD(name, encoding, width, shadow, merge) encoding,
#include "nvmx/vmcs_fields.def"
#undef VMCS_FIELD
};

/* Encoding bits: 0 access type (1 = high half of a 64-bit field), 9:1
 * index, 11:10 type, 14:13 width; 12 and 31:15 are reserved (zero). */
enum vmcs_type { VMCS_TYPE_CONTROL = 0, VMCS_TYPE_RO_DATA = 1, VMCS_TYPE_GUEST = 2,
                 VMCS_TYPE_HOST = 3 };
enum vmcs_width { VMCS_W16 = 0, VMCS_W64 = 1, VMCS_W32 = 2, VMCS_WNAT = 3 };

static inline unsigned vmcs_enc_type(uint32_t enc)
{
    return (enc >> 10) & 3;
}
static inline unsigned vmcs_enc_width(uint32_t enc)
{
    return (enc >> 13) & 3;
}
static inline unsigned vmcs_enc_index(uint32_t enc)
{
    return (enc >> 1) & 0x1ff;
}

/* Truncate a value to the width of the field (SDM 3C "VMWRITE": a 16-bit
 * or 32-bit field takes the low bits; natural width is 64 bits here). */
static inline uint64_t vmcs_width_mask(uint32_t enc, uint64_t v)
{
    switch (vmcs_enc_width(enc)) {
    case VMCS_W16: return v & 0xffff;
    case VMCS_W32: return v & 0xffffffffu;
    default: return v;
    }
}

#endif
