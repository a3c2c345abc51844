/* The MP configuration tables a PC BIOS leaves for the operating system
 * (Intel MultiProcessor Specification 1.4, chapter 4 "MP Configuration
 * Table"), so that an OS without ACPI finds the platform nvmx models: one
 * processor (APIC ID 0, the bootstrap processor), buses PCI 0 and ISA 1,
 * the I/O APIC (ID 1, 0xfec00000), ISA IRQs 0-15 but the cascade on the
 * I/O APIC pins of the same number, and the 8259's INTR on LINT0 (ExtINT)
 * and NMI on LINT1 of every local APIC: virtual-wire mode (feature byte 2
 * bit 7 clear: no IMCR). The floating pointer and the table lie in the
 * BIOS area at 0xF0000, which the memory map reports reserved; an image
 * that loads there gets no tables (docs/memory-layout.md). */
#include "loader.h"
#include "machine_private.h"

#include <string.h>

#define MP_FLOATING 0xf0000ull
#define MP_TABLE 0xf0010ull
#define MP_IOAPIC_ID 1
#define MP_ISA_BUS 1
#define MP_PCI_BUS 0

static uint8_t checksum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    for (size_t i = 0; i < n; i++)
        s = (uint8_t)(s + p[i]);
    return (uint8_t)-s;
}

/* MP 1.4 4.3 "MP Configuration Table Entries" */
static uint8_t *entry(uint8_t *p, uint8_t type, const uint8_t *body, size_t len)
{
    p[0] = type;
    memcpy(p + 1, body, len - 1);
    return p + len;
}

static size_t build_table(uint8_t *t)
{
    uint8_t *p = t + 44;
    unsigned n = 0;
    /* processor: APIC ID 0, version 0x14, enabled + bootstrap processor */
    static const uint8_t cpu[19] = { 0, 0x14, 3 };
    p = entry(p, 0, cpu, 20), n++;
    static const uint8_t pci[7] = { MP_PCI_BUS, 'P', 'C', 'I', ' ', ' ', ' ' };
    static const uint8_t isa[7] = { MP_ISA_BUS, 'I', 'S', 'A', ' ', ' ', ' ' };
    p = entry(p, 1, pci, 8), n++;
    p = entry(p, 1, isa, 8), n++;
    /* I/O APIC: ID, version 0x11, enabled, address */
    uint8_t io[7] = { MP_IOAPIC_ID, 0x11, 1 };
    st_le32(io + 3, 0xfec00000u);
    p = entry(p, 2, io, 8), n++;
    /* I/O interrupt assignments: INT, conforming polarity and trigger */
    for (uint8_t irq = 0; irq < 16; irq++) {
        if (irq == 2)
            continue; /* the slave 8259's cascade */
        uint8_t a[7] = { 0, 0, 0, MP_ISA_BUS, irq, MP_IOAPIC_ID, irq };
        p = entry(p, 3, a, 8), n++;
    }
    /* local interrupt assignments: ExtINT on LINT0, NMI on LINT1, all APICs */
    static const uint8_t extint[7] = { 3, 0, 0, MP_ISA_BUS, 0, 0xff, 0 };
    static const uint8_t nmi[7] = { 1, 0, 0, MP_ISA_BUS, 0, 0xff, 1 };
    p = entry(p, 4, extint, 8), n++;
    p = entry(p, 4, nmi, 8), n++;

    size_t len = (size_t)(p - t);
    memcpy(t, "PCMP", 4);
    t[4] = (uint8_t)len;
    t[5] = (uint8_t)(len >> 8);
    t[6] = 4; /* specification revision 1.4 */
    memcpy(t + 8, "NVMX    ", 8);
    memcpy(t + 16, "PC          ", 12);
    t[34] = (uint8_t)n;
    t[35] = (uint8_t)(n >> 8);
    st_le32(t + 36, 0xfee00000u); /* memory-mapped address of the local APICs */
    t[7] = checksum(t, len);
    return len;
}

void loader_mp_tables(struct machine *m, struct boot_entry *be)
{
    enum { ROOM = 0x200 };
    uint8_t *area = machine_ram_ptr(m, MP_FLOATING, ROOM);
    if (!area)
        return;
    for (unsigned i = 0; i < be->nranges; i++)
        if (loader_overlaps(MP_FLOATING, ROOM, be->ranges[i].pa, be->ranges[i].len))
            return; /* the image is there */
    memset(area, 0, ROOM);
    size_t len = build_table(area + (MP_TABLE - MP_FLOATING));
    /* MP 1.4 4.1 "MP Floating Pointer Structure" */
    uint8_t *f = area;
    memcpy(f, "_MP_", 4);
    st_le32(f + 4, (uint32_t)MP_TABLE);
    f[8] = 1; /* length in 16-byte units */
    f[9] = 4; /* revision 1.4 */
    f[10] = checksum(f, 16);
    loader_note_range(be, MP_FLOATING, (MP_TABLE - MP_FLOATING) + len);
}
