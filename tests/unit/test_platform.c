/* The PC platform around the CPU: PCI configuration mechanism #1 and the
 * pci-testdev, QEMU's pc-testdev, the I/O APIC, the 8259 pair, their
 * wiring to the local APIC, and the local APIC timer across mode changes.
 * Everything is driven through the machine's ports and MMIO, as a guest
 * would. */
#include "nvmx/lapic.h"
#include "nvmx/machine.h"
#include "harness.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define MIB (1ull << 20)
#define IOAPIC 0xfec00000ull

static struct machine *m;

static void setup(void)
{
    m = th_machine_create(16 * MIB, true);
}

static void teardown(void)
{
    machine_destroy(m);
    m = NULL;
}

static void setup_testdevs(void)
{
    char err[256];
    setup();
    ck_assert_msg(machine_add_device(m, "pc-testdev", err, sizeof err), "%s", err);
    ck_assert_msg(machine_add_device(m, "pci-testdev", err, sizeof err), "%s", err);
}

/* ---- PCI configuration mechanism #1 ------------------------------------------ */

static uint32_t cfg_addr(unsigned bus, unsigned dev, unsigned fn, unsigned reg)
{
    return 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (reg & 0xfc);
}

static uint32_t cfg_read(unsigned bus, unsigned dev, unsigned fn, unsigned reg, unsigned size)
{
    machine_io_out(m, 0xcf8, 4, cfg_addr(bus, dev, fn, reg));
    return machine_io_in(m, (uint16_t)(0xcfc + (reg & 3)), size);
}

static void cfg_write(unsigned dev, unsigned reg, unsigned size, uint32_t v)
{
    machine_io_out(m, 0xcf8, 4, cfg_addr(0, dev, 0, reg));
    machine_io_out(m, (uint16_t)(0xcfc + (reg & 3)), size, v);
}

START_TEST(pci_config_address_latches)
{
    machine_io_out(m, 0xcf8, 4, 0xffffffffu);
    /* bits 30:24 reserved and 1:0 read as 0 */
    ck_assert_uint_eq(machine_io_in(m, 0xcf8, 4), 0x80fffffcu);
    /* a byte access is not CONFIG_ADDRESS */
    machine_io_out(m, 0xcf8, 1, 0);
    ck_assert_uint_eq(machine_io_in(m, 0xcf8, 4), 0x80fffffcu);
}
END_TEST

START_TEST(pci_host_bridge_ids)
{
    ck_assert_uint_eq(cfg_read(0, 0, 0, 0x00, 4), 0x12378086u);
    ck_assert_uint_eq(cfg_read(0, 0, 0, 0x00, 2), 0x8086u);
    ck_assert_uint_eq(cfg_read(0, 0, 0, 0x02, 2), 0x1237u);
    ck_assert_uint_eq(cfg_read(0, 0, 0, 0x08, 4) >> 8, 0x060000u);
    cfg_write(0, 0x00, 4, 0);
    ck_assert_uint_eq(cfg_read(0, 0, 0, 0x00, 4), 0x12378086u); /* read-only IDs */
}
END_TEST

/* Absent devices, functions and buses, and a disabled CONFIG_ADDRESS,
 * read all-ones. */
static const struct { unsigned bus, dev, fn; bool enable; } absent_cases[] = {
    { 0, 3, 0, true }, { 0, 31, 0, true }, { 0, 0, 1, true }, { 1, 0, 0, true }, { 0, 0, 0, false },
};

START_TEST(pci_absent_reads_all_ones)
{
    uint32_t a = cfg_addr(absent_cases[_i].bus, absent_cases[_i].dev, absent_cases[_i].fn, 0);
    if (!absent_cases[_i].enable)
        a &= ~0x80000000u;
    machine_io_out(m, 0xcf8, 4, a);
    ck_assert_msg(machine_io_in(m, 0xcfc, 4) == 0xffffffffu, "case %d", _i);
    ck_assert_uint_eq(machine_io_in(m, 0xcfe, 2), 0xffffu);
    machine_io_out(m, 0xcfc, 4, 0); /* dropped */
    ck_assert_uint_eq(machine_io_in(m, 0xcfc, 4), 0xffffffffu);
}
END_TEST

START_TEST(pci_testdev_header)
{
    ck_assert_uint_eq(cfg_read(0, 3, 0, 0x00, 4), 0x00051b36u);
    ck_assert_uint_eq(cfg_read(0, 3, 0, 0x08, 4), 0xff000000u); /* class ff, rev 0 */
    ck_assert_uint_eq(cfg_read(0, 3, 0, 0x0e, 1), 0x00);
    ck_assert_uint_eq(cfg_read(0, 3, 0, 0x10, 4), 0xfebff000u);
    ck_assert_uint_eq(cfg_read(0, 3, 0, 0x14, 4), 0x0000c001u);
    ck_assert_uint_eq(cfg_read(0, 3, 0, 0x18, 4), 0);
    ck_assert_uint_eq(cfg_read(0, 3, 0, 0x04, 2) & 3, 3);
    ck_assert_uint_eq(cfg_read(0, 3, 0, 0x2c, 4), 0x11001af4u);
    ck_assert_uint_eq(cfg_read(0, 3, 0, 0x3d, 1), 0); /* no interrupt pin */
}
END_TEST

/* PCI 3.0, 6.2.5.1: writing all-ones to a BAR reads back its size mask. */
START_TEST(pci_testdev_bar_sizing_and_move)
{
    cfg_write(3, 0x10, 4, 0xffffffffu);
    ck_assert_uint_eq(cfg_read(0, 3, 0, 0x10, 4), 0xfffff000u);
    cfg_write(3, 0x14, 4, 0xffffffffu);
    ck_assert_uint_eq(cfg_read(0, 3, 0, 0x14, 4), 0xffffff01u);
    cfg_write(3, 0x10, 4, 0xfe000000u);
    cfg_write(3, 0x14, 4, 0xd000u);
    ck_assert_uint_eq(cfg_read(0, 3, 0, 0x14, 4), 0xd001u);
    /* the device answers at its new places only */
    machine_mmio_write(m, 0xfe000000u, 1, 1); /* select test 1 */
    ck_assert_uint_eq(machine_mmio_read(m, 0xfe000000u, 1), 1);
    ck_assert_uint_eq(machine_mmio_read(m, 0xfebff000u, 4), 0xffffffffu);
    ck_assert_uint_eq(machine_io_in(m, 0xd000, 1), 1);
    ck_assert_uint_eq(machine_io_in(m, 0xc000, 1), 0xff);
    /* memory space disabled: the BAR decodes nothing */
    cfg_write(3, 0x04, 2, 1);
    ck_assert_uint_eq(machine_mmio_read(m, 0xfe000000u, 1), 0xff);
    ck_assert_uint_eq(machine_io_in(m, 0xd000, 1), 1);
}
END_TEST

/* QEMU's pci-testdev protocol: select a test, read its header, write its
 * data at its offset, count. Tests 0-2 on the memory BAR, 3-5 on the I/O
 * BAR; in the eventfd tests the writes go to the eventfd: count stays 0
 * (kvm-unit-tests accepts 0 or the number of writes). */
static const struct { bool io; uint8_t nr; uint32_t offset; uint8_t data; unsigned count; const char *name; }
    testdev_cases[] = {
        { false, 0, 2048, 0xfa, 16, "mmio-no-eventfd" },
        { false, 1, 2049, 0xce, 0, "mmio-wildcard-eventfd" },
        { false, 2, 2050, 0xfa, 0, "mmio-datamatch-eventfd" },
        { true, 0, 131, 0xfa, 16, "portio-no-eventfd" },
        { true, 1, 132, 0xce, 0, "portio-wildcard-eventfd" },
        { true, 2, 133, 0xfa, 0, "portio-datamatch-eventfd" },
    };

static uint32_t td_read(bool io, uint32_t off, unsigned size)
{
    return io ? machine_io_in(m, (uint16_t)(0xc000 + off), size)
              : (uint32_t)machine_mmio_read(m, 0xfebff000u + off, size);
}

static void td_write(bool io, uint32_t off, unsigned size, uint32_t v)
{
    if (io)
        machine_io_out(m, (uint16_t)(0xc000 + off), size, v);
    else
        machine_mmio_write(m, 0xfebff000u + off, size, v);
}

START_TEST(pci_testdev_counts_writes)
{
    bool io = testdev_cases[_i].io;
    td_write(io, 0, 1, testdev_cases[_i].nr);
    ck_assert_uint_eq(td_read(io, 0, 1), (io ? 3u : 0u) + testdev_cases[_i].nr);
    ck_assert_uint_eq(td_read(io, 1, 1), 1); /* width */
    ck_assert_uint_eq(td_read(io, 4, 4), testdev_cases[_i].offset);
    ck_assert_uint_eq(td_read(io, 8, 4), testdev_cases[_i].data);
    ck_assert_uint_eq(td_read(io, 12, 4), 0);
    char name[40] = { 0 };
    for (unsigned i = 0; i < sizeof name - 1; i++)
        name[i] = (char)td_read(io, 16 + i, 1);
    ck_assert_str_eq(name, testdev_cases[_i].name);
    for (unsigned i = 0; i < 16; i++)
        td_write(io, testdev_cases[_i].offset, 1, testdev_cases[_i].data);
    td_write(io, testdev_cases[_i].offset, 1, 0x12);
    td_write(io, testdev_cases[_i].offset + 1, 1, testdev_cases[_i].data);
    ck_assert_uint_eq(td_read(io, 12, 4), testdev_cases[_i].count);
    /* a number past the tests deselects: reads 0 */
    td_write(io, 0, 1, 3);
    ck_assert_uint_eq(td_read(io, 4, 4), 0);
    td_write(io, testdev_cases[_i].offset, 1, testdev_cases[_i].data);
}
END_TEST

/* ---- pc-testdev -------------------------------------------------------------- */

START_TEST(pc_testdev_io_register)
{
    machine_io_out(m, 0xe0, 4, 0x12345678u);
    ck_assert_uint_eq(machine_io_in(m, 0xe0, 4), 0x12345678u);
    ck_assert_uint_eq(machine_io_in(m, 0xe1, 2), 0x3456u);
    ck_assert_uint_eq(machine_io_in(m, 0xe3, 4), 0x12u); /* clipped at the register's end */
    machine_io_out(m, 0xe2, 1, 0xab);
    ck_assert_uint_eq(machine_io_in(m, 0xe0, 4), 0x12ab5678u);
    machine_io_out(m, 0xe8, 1, 0xcd); /* the byte alias */
    ck_assert_uint_eq(machine_io_in(m, 0xe0, 4), 0x12ab56cdu);
    ck_assert_uint_eq(machine_io_in(m, 0xeb, 1), 0x12u);
    ck_assert_uint_eq(machine_io_in(m, 0xe9, 1), 0xe9u); /* still the debug console */
    machine_io_out(m, 0xe4, 4, 0x1000); /* flush page: accepted */
    ck_assert_uint_eq(m->stats.unclaimed_port_writes, 0);
}
END_TEST

START_TEST(pc_testdev_iomem)
{
    machine_mmio_write(m, 0xff000000u, 8, 0x1122334455667788ull);
    ck_assert_uint_eq(machine_mmio_read(m, 0xff000000u, 8), 0x1122334455667788ull);
    ck_assert_uint_eq(machine_mmio_read(m, 0xff000003u, 2), 0x4455u);
    machine_mmio_write(m, 0xff00fffeu, 4, 0xaabbccddu); /* clipped at the window's end */
    ck_assert_uint_eq(machine_mmio_read(m, 0xff00fffeu, 4), 0xccddu);
    ck_assert_uint_eq(machine_mmio_read(m, 0xff010000u, 4), 0xffffffffu);
    ck_assert_uint_eq(m->stats.unbacked_reads, 1);
}
END_TEST

START_TEST(device_names_checked)
{
    char err[256];
    ck_assert(!machine_add_device(m, "pc-testdev", err, sizeof err)); /* twice */
    ck_assert(!machine_add_device(m, "isa-fdc", err, sizeof err));
    ck_assert_msg(strstr(err, "unknown device") != NULL, "%s", err);
}
END_TEST

/* ---- I/O APIC ----------------------------------------------------------------- */

static uint32_t io_rd(unsigned reg)
{
    machine_mmio_write(m, IOAPIC, 4, reg);
    return (uint32_t)machine_mmio_read(m, IOAPIC + 0x10, 4);
}

static void io_wr(unsigned reg, uint32_t v)
{
    machine_mmio_write(m, IOAPIC, 4, reg);
    machine_mmio_write(m, IOAPIC + 0x10, 4, v);
}

static void apic_enable(void)
{
    ck_assert(lapic_write(m->lapic, LAPIC_SVR, 0, 0, LAPIC_SVR_ENABLE | 0xff));
}

static bool tmr_bit(unsigned v) { return m->lapic->tmr[v >> 5] >> (v & 31) & 1; }

/* the vector taken and its EOI, as an interrupt handler would */
static int take_and_eoi(void)
{
    int v = machine_intr_ack(m);
    if (v >= 0)
        lapic_write(m->lapic, LAPIC_EOI, 0, 0, 0);
    return v;
}

START_TEST(ioapic_id_version_arbitration)
{
    ck_assert_uint_eq(io_rd(1), 0x00170011u); /* 24 entries, version 0x11 */
    io_wr(1, 0xffffffffu);
    ck_assert_uint_eq(io_rd(1), 0x00170011u);
    uint32_t id = io_rd(0);
    io_wr(0, id ^ 0xffffffffu);
    ck_assert_uint_eq(io_rd(0) ^ id, 0x0f000000u); /* only bits 27:24 */
    io_wr(0, 0x0f000000u);
    ck_assert_uint_eq(io_rd(2), 0x0f000000u); /* arbitration follows the ID */
    io_wr(2, 0);
    ck_assert_uint_eq(io_rd(2), 0x0f000000u);
    ck_assert_uint_eq(io_rd(0x40), 0xffffffffu); /* no such register */
    ck_assert_uint_eq(machine_mmio_read(m, IOAPIC, 4), 0x40); /* IOREGSEL reads back */
}
END_TEST

START_TEST(ioapic_redirection_entry_bits)
{
    for (unsigned pin = 0; pin < 24; pin++)
        ck_assert_uint_eq(io_rd(0x10 + 2 * pin), 1u << 16); /* masked after reset */
    io_wr(0x10 + 2 * 5, 0xffffffffu);
    io_wr(0x11 + 2 * 5, 0xffffffffu);
    /* delivery status (12) and remote IRR (14) are read-only, 31:17 and
     * 55:32 reserved */
    ck_assert_uint_eq(io_rd(0x10 + 2 * 5), 0x1afffu);
    ck_assert_uint_eq(io_rd(0x11 + 2 * 5), 0xff000000u);
}
END_TEST

START_TEST(ioapic_edge_delivers_once)
{
    apic_enable();
    io_wr(0x10 + 2 * 14, 0x76);
    machine_irq_set(m, 14, true);
    ck_assert_int_eq(machine_intr_peek(m), 0x76);
    ck_assert(!tmr_bit(0x76));
    machine_irq_set(m, 14, true); /* no new edge */
    ck_assert_int_eq(take_and_eoi(), 0x76);
    ck_assert_int_eq(machine_intr_peek(m), -1);
    machine_irq_set(m, 14, false);
    /* masked: an edge is lost */
    io_wr(0x10 + 2 * 14, 0x76 | 1u << 16);
    machine_irq_set(m, 14, true);
    machine_irq_set(m, 14, false);
    io_wr(0x10 + 2 * 14, 0x76);
    ck_assert_int_eq(machine_intr_peek(m), -1);
    machine_irq_set(m, 14, true);
    ck_assert_int_eq(machine_intr_peek(m), 0x76);
}
END_TEST

START_TEST(ioapic_level_remote_irr_and_eoi)
{
    apic_enable();
    io_wr(0x10 + 2 * 14, 0x77 | 1u << 15);
    machine_irq_set(m, 14, true);
    ck_assert_int_eq(machine_intr_peek(m), 0x77);
    ck_assert(tmr_bit(0x77));
    ck_assert_uint_eq(io_rd(0x10 + 2 * 14) & (1u << 14), 1u << 14); /* remote IRR */
    ck_assert_int_eq(machine_intr_ack(m), 0x77);
    machine_irq_set(m, 14, true); /* still asserted, remote IRR set: nothing new */
    ck_assert_int_eq(machine_intr_peek(m), -1);
    /* EOI with the line still asserted: delivered again */
    lapic_write(m->lapic, LAPIC_EOI, 0, 0, 0);
    ck_assert_int_eq(machine_intr_peek(m), 0x77);
    ck_assert_int_eq(machine_intr_ack(m), 0x77);
    machine_irq_set(m, 14, false);
    lapic_write(m->lapic, LAPIC_EOI, 0, 0, 0);
    ck_assert_uint_eq(io_rd(0x10 + 2 * 14) & (1u << 14), 0);
    ck_assert_int_eq(machine_intr_peek(m), -1);
    /* an edge interrupt of the same vector clears its TMR bit */
    io_wr(0x10 + 2 * 14, 0x77);
    machine_irq_set(m, 14, true);
    ck_assert(!tmr_bit(0x77));
}
END_TEST

START_TEST(ioapic_level_masked_then_unmasked)
{
    apic_enable();
    io_wr(0x10 + 2 * 14, 0x82 | 1u << 15 | 1u << 16);
    machine_irq_set(m, 14, true);
    ck_assert_int_eq(machine_intr_peek(m), -1);
    io_wr(0x10 + 2 * 14, 0x82 | 1u << 15);
    ck_assert_int_eq(machine_intr_peek(m), 0x82);
}
END_TEST

START_TEST(ioapic_destination_and_modes)
{
    apic_enable();
    /* physical destination 1: not this APIC (ID 0) */
    io_wr(0x11 + 2 * 3, 1u << 24);
    io_wr(0x10 + 2 * 3, 0x40);
    machine_irq_set(m, 3, true);
    ck_assert_int_eq(machine_intr_peek(m), -1);
    machine_irq_set(m, 3, false);
    /* logical, flat model: LDR bit 0 */
    lapic_write(m->lapic, LAPIC_LDR, 0, 0, 0x01000000u);
    io_wr(0x10 + 2 * 3, 0x41 | 1u << 11);
    machine_irq_set(m, 3, true);
    ck_assert_int_eq(machine_intr_peek(m), 0x41);
    machine_irq_set(m, 3, false);
    /* NMI delivery mode */
    io_wr(0x11 + 2 * 4, 0);
    io_wr(0x10 + 2 * 4, 4u << 8);
    machine_irq_set(m, 4, true);
    ck_assert(m->lapic->nmi_pending);
}
END_TEST

START_TEST(ioapic_software_disabled_apic_refuses)
{
    io_wr(0x10 + 2 * 14, 0x77 | 1u << 15);
    machine_irq_set(m, 14, true);
    ck_assert_int_eq(machine_intr_peek(m), -1);
    ck_assert_uint_eq(io_rd(0x10 + 2 * 14) & (1u << 14), 0);
}
END_TEST

/* ---- 8259 pair ---------------------------------------------------------------- */

static void pic_init(uint8_t icw4)
{
    machine_io_out(m, 0x20, 1, 0x11); /* ICW1: edge, cascade, ICW4 */
    machine_io_out(m, 0x21, 1, 0x20); /* ICW2 */
    machine_io_out(m, 0x21, 1, 0x04); /* ICW3: slave on IR2 */
    machine_io_out(m, 0x21, 1, icw4);
    machine_io_out(m, 0xa0, 1, 0x11);
    machine_io_out(m, 0xa1, 1, 0x28);
    machine_io_out(m, 0xa1, 1, 0x02);
    machine_io_out(m, 0xa1, 1, icw4);
    apic_enable();
    lapic_write(m->lapic, LAPIC_LVT_LINT0, 0, 0, 7u << 8); /* ExtINT, unmasked */
}

static uint8_t pic_isr(uint16_t base)
{
    machine_io_out(m, base, 1, 0x0b); /* OCW3: read ISR */
    uint8_t v = (uint8_t)machine_io_in(m, base, 1);
    machine_io_out(m, base, 1, 0x0a); /* back to IRR */
    return v;
}

START_TEST(pic_firmware_state)
{
    ck_assert_uint_eq(machine_io_in(m, 0x21, 1), 0xfb);
    ck_assert_uint_eq(machine_io_in(m, 0xa1, 1), 0xff);
    machine_io_out(m, 0x21, 1, 0xfa); /* unmask IRQ 0 */
    apic_enable();
    lapic_write(m->lapic, LAPIC_LVT_LINT0, 0, 0, 7u << 8);
    machine_irq_set(m, 0, true);
    ck_assert_int_eq(machine_intr_peek(m), 0x08);
}
END_TEST

START_TEST(pic_priority_isr_and_eoi)
{
    pic_init(0x01);
    ck_assert_uint_eq(machine_io_in(m, 0x21, 1), 0); /* ICW1 cleared the mask */
    machine_irq_set(m, 3, true);
    machine_irq_set(m, 1, true);
    ck_assert_uint_eq(machine_io_in(m, 0x20, 1), 0x0a); /* IRR */
    ck_assert_int_eq(machine_intr_peek(m), 0x21);
    ck_assert_int_eq(machine_intr_ack(m), 0x21);
    ck_assert_uint_eq(pic_isr(0x20), 0x02);
    ck_assert_int_eq(machine_intr_peek(m), -1); /* IRQ 3 waits for IRQ 1's EOI */
    machine_irq_set(m, 0, true);
    ck_assert_int_eq(machine_intr_peek(m), 0x20); /* higher priority nests */
    ck_assert_int_eq(machine_intr_ack(m), 0x20);
    machine_io_out(m, 0x20, 1, 0x20); /* non-specific EOI: IRQ 0 */
    ck_assert_uint_eq(pic_isr(0x20), 0x02);
    machine_io_out(m, 0x20, 1, 0x61); /* specific EOI: IRQ 1 */
    ck_assert_uint_eq(pic_isr(0x20), 0);
    ck_assert_int_eq(machine_intr_peek(m), 0x23);
    machine_io_out(m, 0x21, 1, 0x08); /* OCW1: mask IRQ 3 */
    ck_assert_int_eq(machine_intr_peek(m), -1);
}
END_TEST

START_TEST(pic_cascade_and_spurious)
{
    pic_init(0x01);
    machine_irq_set(m, 10, true);
    ck_assert_int_eq(machine_intr_ack(m), 0x2a);
    ck_assert_uint_eq(pic_isr(0x20), 0x04);
    ck_assert_uint_eq(pic_isr(0xa0), 0x04);
    machine_irq_set(m, 9, true); /* the slave is in service at the master */
    ck_assert_int_eq(machine_intr_peek(m), -1);
    machine_io_out(m, 0xa0, 1, 0x20);
    machine_io_out(m, 0x20, 1, 0x20);
    ck_assert_int_eq(machine_intr_ack(m), 0x29);
    /* INTA with nothing requested: IR7, no ISR bit */
    machine_io_out(m, 0xa0, 1, 0x20);
    machine_io_out(m, 0x20, 1, 0x20);
    lapic_set_lint0(m->lapic, true); /* a request that went away */
    ck_assert_int_eq(machine_intr_ack(m), 0x27);
    ck_assert_uint_eq(pic_isr(0x20), 0);
}
END_TEST

START_TEST(pic_auto_eoi_and_lint0_mask)
{
    pic_init(0x03); /* AEOI */
    machine_irq_set(m, 5, true);
    ck_assert_int_eq(machine_intr_ack(m), 0x25);
    ck_assert_uint_eq(pic_isr(0x20), 0);
    machine_irq_set(m, 5, false);
    machine_irq_set(m, 5, true);
    lapic_write(m->lapic, LAPIC_LVT_LINT0, 0, 0, 7u << 8 | LAPIC_LVT_MASKED);
    ck_assert_int_eq(machine_intr_peek(m), -1);
    ck_assert(!lapic_has_irr(m->lapic));
    lapic_write(m->lapic, LAPIC_LVT_LINT0, 0, 0, 0); /* fixed mode: not ExtINT */
    ck_assert_int_eq(machine_intr_peek(m), -1);
    lapic_write(m->lapic, LAPIC_LVT_LINT0, 0, 0, 7u << 8);
    ck_assert_int_eq(machine_intr_peek(m), 0x25);
}
END_TEST

/* SDM 3A "Enabling or Disabling the Local APIC": with IA32_APIC_BASE.EN
 * clear LINT0 is INTR, whatever the LVT says. */
START_TEST(pic_reaches_intr_with_apic_globally_disabled)
{
    pic_init(0x01);
    lapic_write(m->lapic, LAPIC_LVT_LINT0, 0, 0, LAPIC_LVT_MASKED);
    machine_irq_set(m, 4, true);
    ck_assert_int_eq(machine_intr_peek(m), -1);
    lapic_set_global_enable(m->lapic, false);
    ck_assert(lapic_has_irr(m->lapic));
    ck_assert_int_eq(machine_intr_ack(m), 0x24);
    lapic_set_global_enable(m->lapic, true);
}
END_TEST

START_TEST(pic_elcr_level_and_poll)
{
    pic_init(0x01);
    machine_io_out(m, 0x4d0, 1, 0xff);
    ck_assert_uint_eq(machine_io_in(m, 0x4d0, 1), 0xf8); /* IRQ 0-2 edge only */
    machine_io_out(m, 0x4d1, 1, 0xff);
    ck_assert_uint_eq(machine_io_in(m, 0x4d1, 1), 0xde); /* IRQ 8, 13 edge only */
    machine_irq_set(m, 5, true);
    ck_assert_int_eq(machine_intr_ack(m), 0x25);
    ck_assert_uint_eq(machine_io_in(m, 0x20, 1) & 0x20, 0x20); /* level: IRR stays */
    machine_irq_set(m, 5, false);
    ck_assert_uint_eq(machine_io_in(m, 0x20, 1) & 0x20, 0);
    machine_io_out(m, 0x20, 1, 0x20);
    /* poll: bit 7 and the level, acknowledged */
    machine_irq_set(m, 6, true);
    machine_io_out(m, 0x20, 1, 0x0c);
    ck_assert_uint_eq(machine_io_in(m, 0x20, 1), 0x86);
    ck_assert_uint_eq(pic_isr(0x20), 0x40);
}
END_TEST

START_TEST(pic_rotation)
{
    pic_init(0x01);
    machine_io_out(m, 0x20, 1, 0xc4); /* set priority: IR4 lowest, IR5 highest */
    machine_irq_set(m, 1, true);
    machine_irq_set(m, 6, true);
    ck_assert_int_eq(machine_intr_peek(m), 0x26);
}
END_TEST

/* ---- local APIC timer across mode changes ------------------------------------ */

static uint32_t apic_rd(unsigned off, uint64_t now)
{
    uint32_t v = 0xdeadbeef;
    ck_assert(lapic_read(m->lapic, off, now, &v));
    return v;
}

/* SDM 3A "APIC Timer": a one-shot count made periodic keeps counting from
 * where it was and reloads; made one-shot again it stops at 0. Divide by 1
 * (DCR 0xb): one tick per cycle. */
START_TEST(lapic_timer_mode_change_keeps_count)
{
    struct lapic *l = m->lapic;
    apic_enable();
    lapic_write(l, LAPIC_TIMER_DCR, 0, 0, 0xb);
    lapic_write(l, LAPIC_LVT_TIMER, 0, 0, 0x40); /* one-shot */
    lapic_write(l, LAPIC_TIMER_ICR, 100, 0, 1000);
    ck_assert_uint_eq(apic_rd(LAPIC_TIMER_CCR, 600), 500);
    lapic_write(l, LAPIC_LVT_TIMER, 600, 0, 0x40 | 1u << 17); /* periodic */
    ck_assert_uint_eq(apic_rd(LAPIC_TIMER_ICR, 600), 1000);
    ck_assert_uint_eq(apic_rd(LAPIC_TIMER_CCR, 700), 400);
    /* past the expiry, before the run loop caught up: reloaded */
    ck_assert_uint_eq(apic_rd(LAPIC_TIMER_CCR, 1300), 800);
    lapic_update(l, 1300);
    ck_assert_int_eq(lapic_pending_vector(l), 0x40);
    ck_assert_uint_eq(apic_rd(LAPIC_TIMER_CCR, 1400), 700);
    lapic_write(l, LAPIC_LVT_TIMER, 1400, 0, 0x40); /* one-shot again */
    ck_assert_uint_eq(apic_rd(LAPIC_TIMER_CCR, 2000), 100);
    lapic_update(l, 2100);
    ck_assert_uint_eq(apic_rd(LAPIC_TIMER_CCR, 2100), 0);
    ck_assert_uint_eq(apic_rd(LAPIC_TIMER_CCR, 5000), 0);
    ck_assert_uint_eq(apic_rd(LAPIC_TIMER_ICR, 5000), 1000);
}
END_TEST

/* SDM 3A "TSC-Deadline Mode": moving to TSC-deadline mode disarms. */
START_TEST(lapic_timer_tsc_deadline_disarms)
{
    struct lapic *l = m->lapic;
    apic_enable();
    lapic_write(l, LAPIC_TIMER_DCR, 0, 0, 0xb);
    lapic_write(l, LAPIC_LVT_TIMER, 0, 0, 0x40 | 1u << 17);
    lapic_write(l, LAPIC_TIMER_ICR, 0, 0, 1000);
    lapic_write(l, LAPIC_LVT_TIMER, 10, 0, 0x40 | 2u << 17);
    ck_assert_uint_eq(apic_rd(LAPIC_TIMER_ICR, 20), 0);
    ck_assert_uint_eq(lapic_next_event(l), LAPIC_NO_DEADLINE);
}
END_TEST

/* SDM 3A "Reserved Bit Checking" (x2APIC): WRMSR setting a reserved bit of
 * the register is #GP(0); the same value without it is accepted. */
static const struct { uint32_t msr; uint64_t bad, good; } x2apic_rsvd_cases[] = {
    { 0x808, 0x100, 0xff },                 /* TPR bits 31:8 */
    { 0x80f, 0x1000 | 0x1ff, 0x3ff },       /* SVR: EOI suppression not enumerated */
    { 0x832, 0x80000 | 0x30, 0x20030 },     /* LVT timer bit 19; periodic is fine */
    { 0x835, 0x20000 | 0x700, 0x700 },      /* LINT0 bit 17 */
    { 0x836, 0x800 | 0x400, 0x1a400 },      /* LINT1 bit 11 */
    { 0x837, 0x100 | 0x33, 0x10033 },       /* LVT error: no delivery mode */
    { 0x834, 0x800, 0x10000 },              /* LVT perf bit 11 */
    { 0x833, 0x20000, 0x10000 },            /* LVT thermal bit 17 */
    { 0x82f, 0x20000, 0x10000 },            /* LVT CMCI bit 17 */
    { 0x83e, 0x4, 0xb },                    /* DCR bit 2 */
    { 0x83f, 0x100, 0x40 },                 /* SELF IPI bits 31:8 */
    { 0x830, 1ull << 13 | 0x40, 0x40040 },  /* ICR bit 13 */
    { 0x838, 1ull << 32, 0xffffffffu },     /* initial count: bits 63:32 */
};

START_TEST(x2apic_reserved_bits_gp)
{
    struct lapic *l = m->lapic;
    apic_enable();
    l->x2apic = true;
    uint32_t msr = x2apic_rsvd_cases[_i].msr;
    ck_assert_msg(!lapic_wrmsr(l, msr, 0, 0, x2apic_rsvd_cases[_i].bad),
                  "MSR 0x%x: 0x%llx accepted", msr, (unsigned long long)x2apic_rsvd_cases[_i].bad);
    ck_assert_msg(lapic_wrmsr(l, msr, 0, 0, x2apic_rsvd_cases[_i].good),
                  "MSR 0x%x: 0x%llx refused", msr, (unsigned long long)x2apic_rsvd_cases[_i].good);
}
END_TEST

/* Guest nonsense never crashes nvmx: a fixed pseudo-random stream of port
 * and MMIO accesses of every size over every device this file covers,
 * interleaved with interrupt acknowledges and EOIs, leaves the machine
 * answering (run under ASan/UBSan in the sanitizer build). */
static uint64_t rng_state = 0x243f6a8885a308d3ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

START_TEST(devices_survive_random_programming)
{
    static const uint16_t ports[] = { 0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1, 0xcf8, 0xcf9, 0xcfa,
                                      0xcfb, 0xcfc, 0xcfd, 0xcfe, 0xcff, 0xe0, 0xe3, 0xe4, 0xe8,
                                      0xeb, 0x2000, 0x2005, 0x200e, 0x2017, 0xc000, 0xc07f,
                                      0xc0ff };
    static const uint64_t mmio[] = { IOAPIC, IOAPIC + 0x10, IOAPIC + 0x40, 0xfebff000u,
                                     0xfebff800u, 0xfebffffcu, 0xff000000u, 0xff00fff9u,
                                     0xff00ffffu, 0xfee000b0u, 0xfee00350u };
    static const unsigned sizes[] = { 1, 2, 4, 8 };
    for (unsigned i = 0; i < 200000; i++) {
        uint64_t r = rng();
        unsigned size = sizes[(r >> 8) & 3];
        uint64_t v = rng();
        if (r & 1) {
            uint16_t port = (uint16_t)(ports[(r >> 16) % (sizeof ports / sizeof ports[0])] +
                                       ((r >> 40) & 3));
            if (size == 8)
                size = 4;
            if (r & 2)
                machine_io_out(m, port, size, (uint32_t)v);
            else
                (void)machine_io_in(m, port, size);
        } else {
            uint64_t pa = mmio[(r >> 16) % (sizeof mmio / sizeof mmio[0])] + ((r >> 40) & 7);
            if (r & 2)
                machine_mmio_write(m, pa, size, v);
            else
                (void)machine_mmio_read(m, pa, size);
        }
        if ((r >> 48) % 7 == 0)
            (void)machine_intr_ack(m);
        if ((r >> 52) % 11 == 0)
            lapic_write(m->lapic, LAPIC_EOI, 0, 0, 0);
    }
    /* still answering: the host bridge and the pc-testdev register */
    ck_assert_uint_eq(cfg_read(0, 0, 0, 0x00, 4), 0x12378086u);
    machine_io_out(m, 0xe0, 4, 0x5a5a5a5au);
    ck_assert_uint_eq(machine_io_in(m, 0xe0, 4), 0x5a5a5a5au);
}
END_TEST

/* x2APIC MSRs that are no writable register (reserved addresses, and the
 * read-only ones): WRMSR is #GP(0) whatever the value; RDMSR of reserved
 * addresses too. */
static const uint32_t x2apic_no_write[] = { 0x800, 0x801, 0x803, 0x804, 0x807, 0x809, 0x80a,
                                            0x80c, 0x80d, 0x80e, 0x810, 0x818, 0x820, 0x829,
                                            0x82e, 0x831, 0x839, 0x83d, 0x840, 0x8ff };

START_TEST(x2apic_reserved_and_read_only_registers_gp)
{
    struct lapic *l = m->lapic;
    apic_enable();
    l->x2apic = true;
    uint32_t msr = x2apic_no_write[_i];
    ck_assert_msg(!lapic_wrmsr(l, msr, 0, 0, 0), "WRMSR 0x%x accepted", msr);
    uint64_t v;
    bool readable = msr == 0x803 || msr == 0x80a || msr == 0x80d || msr == 0x810 ||
                    msr == 0x818 || msr == 0x820 || msr == 0x839;
    ck_assert_msg(lapic_rdmsr(l, msr, 0, &v) == readable, "RDMSR 0x%x", msr);
}
END_TEST

static Suite *platform_suite(void)
{
    Suite *s = suite_create("platform");
    TCase *tc = tcase_create("pci");
    tcase_add_checked_fixture(tc, setup_testdevs, teardown);
    tcase_add_test(tc, pci_config_address_latches);
    tcase_add_test(tc, pci_host_bridge_ids);
    tcase_add_test(tc, pci_testdev_header);
    tcase_add_test(tc, pci_testdev_bar_sizing_and_move);
    tcase_add_loop_test(tc, pci_testdev_counts_writes, 0,
                        sizeof testdev_cases / sizeof testdev_cases[0]);
    suite_add_tcase(s, tc);

    tc = tcase_create("pci_absent");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, pci_absent_reads_all_ones, 0,
                        sizeof absent_cases / sizeof absent_cases[0]);
    suite_add_tcase(s, tc);

    tc = tcase_create("pc_testdev");
    tcase_add_checked_fixture(tc, setup_testdevs, teardown);
    tcase_add_test(tc, pc_testdev_io_register);
    tcase_add_test(tc, pc_testdev_iomem);
    tcase_add_test(tc, device_names_checked);
    tcase_add_test(tc, devices_survive_random_programming);
    suite_add_tcase(s, tc);

    tc = tcase_create("ioapic");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, ioapic_id_version_arbitration);
    tcase_add_test(tc, ioapic_redirection_entry_bits);
    tcase_add_test(tc, ioapic_edge_delivers_once);
    tcase_add_test(tc, ioapic_level_remote_irr_and_eoi);
    tcase_add_test(tc, ioapic_level_masked_then_unmasked);
    tcase_add_test(tc, ioapic_destination_and_modes);
    tcase_add_test(tc, ioapic_software_disabled_apic_refuses);
    suite_add_tcase(s, tc);

    tc = tcase_create("pic8259");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, pic_firmware_state);
    tcase_add_test(tc, pic_priority_isr_and_eoi);
    tcase_add_test(tc, pic_cascade_and_spurious);
    tcase_add_test(tc, pic_auto_eoi_and_lint0_mask);
    tcase_add_test(tc, pic_elcr_level_and_poll);
    tcase_add_test(tc, pic_reaches_intr_with_apic_globally_disabled);
    tcase_add_test(tc, pic_rotation);
    suite_add_tcase(s, tc);

    tc = tcase_create("lapic_timer");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, lapic_timer_mode_change_keeps_count);
    tcase_add_test(tc, lapic_timer_tsc_deadline_disarms);
    tcase_add_loop_test(tc, x2apic_reserved_and_read_only_registers_gp, 0,
                        sizeof x2apic_no_write / sizeof x2apic_no_write[0]);
    tcase_add_loop_test(tc, x2apic_reserved_bits_gp, 0,
                        sizeof x2apic_rsvd_cases / sizeof x2apic_rsvd_cases[0]);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(platform_suite());
}
