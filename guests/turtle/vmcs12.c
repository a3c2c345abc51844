/* The cache of the guest's current VMCS (vmcs12) and its memory layout.
 *
 * The SDM leaves the format of a VMCS region to the implementation (SDM 3C
 * "Format of the VMCS Region"); the turtle's is: bytes 0-3 the revision
 * identifier, 4-7 the VMX-abort indicator, 8-11 the launch state (0 clear,
 * 1 launched), then one 8-byte slot per field of vmcs12_fields.h in list
 * order, from byte 16. VMPTRLD reads the slots into the cache, VMCLEAR (and
 * a VMPTRLD of another region) writes them back, as a processor caches its
 * current VMCS (SDM 3C "Software Use of the VMCS and Related Structures"). */
#include "turtle.h"

#include "rtstring.h"

#define VMCS12_LAUNCH_OFF 8
#define VMCS12_DATA_OFF 16
_Static_assert(VMCS12_DATA_OFF + 8 * VMCS12_NFIELDS <= 4096, "vmcs12 fits in a page");

uint64_t vmcs12[VMCS12_NFIELDS];
uint64_t vmcs12_dirty[(VMCS12_NFIELDS + 63) / 64];

void vmcs12_mark_all(void)
{
    memset(vmcs12_dirty, 0xff, sizeof(vmcs12_dirty));
}

/* Encoding -> list index + 1 (0: not a field), by type/width group and
 * index; indexes above 63 are not used by the SDM's fields. */
static uint8_t lookup[16][64];

void vmcs12_probe(void)
{
    /* A field is supported if it is in the list and the processor the
     * turtle runs on supports it (or the turtle emulates it): probed with VMREAD on the current VMCS
     * (vmcs01), which gives VMfailValid(12) for an unsupported one. */
    for (unsigned i = 0; i < VMCS12_NFIELDS; i++) {
        uint32_t enc = vmcs12_encoding[i];
        uint64_t v;
        if (vmcs_enc_index(enc) >= 64 || i + 1 > 255)
            continue;
        /* The bitmaps of VMCS shadowing exist when the turtle offers it,
         * emulated on any processor (shadow12.c). */
        if (vmread_checked(enc, &v) != VMX_OK &&
            !(shadow12_offered() && shadow12_field_emulated(enc)))
            continue;
        lookup[(vmcs_enc_width(enc) << 2) | vmcs_enc_type(enc)][vmcs_enc_index(enc)] =
            (uint8_t)(i + 1);
    }
}

int vmcs12_index(uint64_t enc)
{
    /* SDM 3C "Component Encoding": bits 63:15 and 12 are reserved; the
     * access type (bit 0) may be 1 only for 64-bit fields. */
    if (enc >> 15 || (enc & (1u << 12)))
        return -1;
    if ((enc & 1) && vmcs_enc_width((uint32_t)enc) != VMCS_W64)
        return -1;
    unsigned idx = vmcs_enc_index((uint32_t)enc);
    if (idx >= 64)
        return -1;
    unsigned n = lookup[(vmcs_enc_width((uint32_t)enc) << 2) | vmcs_enc_type((uint32_t)enc)][idx];
    return (int)n - 1;
}

uint64_t *vmcs12_slots(uint64_t pa)
{
    return (uint64_t *)phys_ptr(pa + VMCS12_DATA_OFF);
}

void vmcs12_load(uint64_t pa)
{
    memcpy(vmcs12, vmcs12_slots(pa), sizeof(vmcs12));
    vmcs12_mark_all();
}

void vmcs12_flush(uint64_t pa)
{
    memcpy(vmcs12_slots(pa), vmcs12, sizeof(vmcs12));
}

uint32_t vmcs12_launch_state(uint64_t pa)
{
    return *(volatile uint32_t *)phys_ptr(pa + VMCS12_LAUNCH_OFF);
}

void vmcs12_set_launch_state(uint64_t pa, uint32_t launched)
{
    *(volatile uint32_t *)phys_ptr(pa + VMCS12_LAUNCH_OFF) = launched;
}

uint64_t v12(uint32_t enc)
{
    int i = vmcs12_index(enc);
    return i < 0 ? 0 : vmcs12[i];
}

void v12_set(uint32_t enc, uint64_t v)
{
    int i = vmcs12_index(enc);
    if (i >= 0 && vmcs12[i] != vmcs_width_mask(enc, v)) {
        vmcs12[i] = vmcs_width_mask(enc, v);
        vmcs12_mark((unsigned)i);
    }
}
