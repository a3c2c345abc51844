/* Guest test platform: the PC platform as kvm-unit-tests uses it under
 * QEMU. PCI configuration mechanism #1 and pci-testdev, pc-testdev's I/O
 * register, IRQ lines and memory window, the I/O APIC (registers, edge and
 * level delivery, remote IRR and EOI, masking, TMR), the 8259 pair through
 * LINT0 in ExtINT mode, and the local APIC timer across a mode change.
 * Run with --device pc-testdev --device pci-testdev. SDM 3A "Advanced
 * Programmable Interrupt Controller (APIC)"; Intel 82093AA I/O APIC and
 * 8259A datasheets; PCI Local Bus Specification 3.0. */
#include "console.h"
#include "exc.h"
#include "report.h"
#include "rtstring.h"
#include "x86.h"

#define MSR_APIC_BASE 0x1b
#define APIC_BASE 0xfee00000ull
#define APIC_TMR0 0x180
#define APIC_EOI 0x0b0
#define APIC_SVR 0x0f0
#define APIC_LVT_TIMER 0x320
#define APIC_LVT_LINT0 0x350
#define APIC_TIMER_ICR 0x380
#define APIC_TIMER_CCR 0x390
#define APIC_TIMER_DCR 0x3e0
#define IOAPIC_BASE 0xfec00000ull
#define TESTDEV_IOMEM 0xff000000ull
#define TRIGGER_LEVEL (1u << 15)
#define MASKED (1u << 16)
#define REMOTE_IRR (1u << 14)
#define LINE 0x0e

static volatile uint32_t *apic(unsigned reg) { return (volatile uint32_t *)(APIC_BASE + reg); }

static uint32_t ioapic_read(unsigned reg)
{
    *(volatile uint32_t *)IOAPIC_BASE = reg;
    return *(volatile uint32_t *)(IOAPIC_BASE + 0x10);
}

static void ioapic_write(unsigned reg, uint32_t v)
{
    *(volatile uint32_t *)IOAPIC_BASE = reg;
    *(volatile uint32_t *)(IOAPIC_BASE + 0x10) = v;
}

static void set_redir(unsigned pin, uint32_t lo)
{
    ioapic_write(0x11 + 2 * pin, 0); /* destination APIC 0 */
    ioapic_write(0x10 + 2 * pin, lo);
}

static void set_irq_line(unsigned line, uint8_t v) { outb((uint16_t)(0x2000 + line), v); }

static inline uint32_t inl(uint16_t port)
{
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static uint32_t pci_read(unsigned dev, unsigned reg)
{
    outl(0xcf8, 0x80000000u | dev << 11 | reg);
    return inl(0xcfc);
}

static bool tmr_bit(unsigned v) { return (*apic(APIC_TMR0 + 0x10 * (v >> 5)) >> (v & 31)) & 1; }

/* ---- interrupt handlers ------------------------------------------------------ */

static volatile unsigned hits[256];
static volatile int drop_line_on_hit = -1; /* deassert LINE at this hit count */
static volatile int tmr_seen = -1;

static bool apic_handler(struct exc_frame *f)
{
    unsigned v = (unsigned)f->vector;
    hits[v]++;
    tmr_seen = tmr_bit(v);
    if (drop_line_on_hit >= 0 && (int)hits[v] >= drop_line_on_hit)
        set_irq_line(LINE, 0);
    *apic(APIC_EOI) = 0;
    return true;
}

/* The firmware state is nvmx's only under nvmx: its models' brand string
 * starts with "nvmx" (CPUID.80000002H). */
static bool on_nvmx(void)
{
    return cpuid(0x80000000u, 0).eax >= 0x80000002u && cpuid(0x80000002u, 0).eax == 0x786d766eu;
}

/* An interrupt a device raised reaches the processor at some later
 * instruction boundary: nvmx takes it at the next one (the OUT that raised
 * it ends the block), QEMU's TCG a few instructions later. Spin until count
 * reaches want (or give up), and return the spins it took. */
static unsigned wait_for(volatile unsigned *count, unsigned want)
{
    unsigned spins = 0;
    while (*count < want && spins < 1000000) {
        __asm__ volatile("pause");
        spins++;
    }
    return spins;
}

/* Time for an interrupt that should not come to show up if it would. */
static void settle(void)
{
    for (unsigned i = 0; i < 10000; i++)
        __asm__ volatile("pause");
}

static volatile unsigned pic_hits, slave_hits, level_hits;
static volatile uint8_t slave_isr_seen;

/* IRQ 10 through the slave: EOI to the slave, then to the master */
static bool slave_handler(struct exc_frame *f)
{
    slave_hits++;
    outb(0xa0, 0x0b);
    slave_isr_seen = inb(0xa0);
    outb(0xa0, 0x0a);
    set_irq_line(10, 0);
    outb(0xa0, 0x20);
    outb(0x20, 0x20);
    return true;
}

/* IRQ 5 level-triggered by the ELCR: the first EOI with the line still up
 * brings it back; the second visit lowers the line */
static bool level_handler(struct exc_frame *f)
{
    level_hits++;
    if (level_hits >= 2)
        set_irq_line(5, 0);
    outb(0x20, 0x20);
    return true;
}

static bool pic_handler(struct exc_frame *f)
{
    pic_hits++;
    set_irq_line(3, 0);
    outb(0x20, 0x20); /* non-specific EOI */
    return true;
}

/* ---- PCI --------------------------------------------------------------------- */

static void test_pci(void)
{
    check_eq("pci.host_bridge_id", pci_read(0, 0), 0x12378086u);
    check_eq("pci.absent_device_all_ones", pci_read(31, 0), 0xffffffffu);
    int slot = -1;
    for (unsigned d = 0; d < 32 && slot < 0; d++)
        if (pci_read(d, 0) == 0x00051b36u)
            slot = (int)d;
    if (!check_true("pci.testdev_found", slot >= 0, "1b36:0005 on bus 0"))
        return;
    uint32_t bar0 = pci_read((unsigned)slot, 0x10), bar1 = pci_read((unsigned)slot, 0x14);
    check_eq("pci.testdev_bar0_memory", bar0 & 1, 0);
    check_eq("pci.testdev_bar1_io", bar1 & 1, 1);
    volatile uint8_t *mem = (volatile uint8_t *)(uint64_t)(bar0 & ~0xfu);
    mem[0] = 0; /* mmio-no-eventfd */
    uint32_t off = *(volatile uint32_t *)(mem + 4);
    uint8_t data = mem[8];
    for (int i = 0; i < 16; i++)
        mem[off] = data;
    check_eq("pci.testdev_mmio_count", *(volatile uint32_t *)(mem + 12), 16);
    uint16_t io = (uint16_t)(bar1 & ~3u);
    outb(io, 0); /* portio-no-eventfd */
    off = inl((uint16_t)(io + 4));
    data = inb((uint16_t)(io + 8));
    for (int i = 0; i < 5; i++)
        outb((uint16_t)(io + off), data);
    outb((uint16_t)(io + off), (uint8_t)(data + 1)); /* not the test's data */
    check_eq("pci.testdev_portio_count", inl((uint16_t)(io + 12)), 5);
    outb(io, 1); /* portio-wildcard-eventfd: the eventfd takes the writes */
    off = inl((uint16_t)(io + 4));
    for (int i = 0; i < 5; i++)
        outb((uint16_t)(io + off), (uint8_t)i);
    check_eq("pci.testdev_eventfd_count", inl((uint16_t)(io + 12)), 0);
}

/* ---- pc-testdev -------------------------------------------------------------- */

static void test_pc_testdev(void)
{
    outl(0xe0, 0x87654321u);
    check_eq("pc_testdev.ioport_dword", inl(0xe0), 0x87654321u);
    outb(0xe1, 0xaa);
    check_eq("pc_testdev.ioport_byte", inl(0xe0), 0x8765aa21u);
    volatile uint64_t *iomem = (volatile uint64_t *)TESTDEV_IOMEM;
    iomem[3] = 0x0123456789abcdefull;
    check_eq("pc_testdev.iomem", iomem[3], 0x0123456789abcdefull);
}

/* ---- I/O APIC ---------------------------------------------------------------- */

static void test_ioapic_registers(void)
{
    uint32_t ver = ioapic_read(1);
    /* 24 entries; version 0x11 (nvmx, KVM) or 0x20 (QEMU's own I/O APIC) */
    check_eq("ioapic.max_redirection_entry", (ver >> 16) & 0xff, 23);
    if (on_nvmx())
        check_eq("ioapic.version", ver, 0x00170011u);
    ioapic_write(1, ~ver);
    check_eq("ioapic.version_read_only", ioapic_read(1), ver);
    uint32_t id = ioapic_read(0);
    ioapic_write(0, ~id);
    check_eq("ioapic.id_bits_27_24_writable", ioapic_read(0) ^ id, 0x0f000000u);
    ioapic_write(0, 0x0f000000u);
    check_eq("ioapic.arbitration_follows_id", ioapic_read(2), 0x0f000000u);
    ioapic_write(2, 0);
    check_eq("ioapic.arbitration_read_only", ioapic_read(2), 0x0f000000u);
    ioapic_write(0, id);
}

/* MultiProcessor Specification 1.4 "Finding the MP Floating Pointer
 * Structure": a 16-byte aligned "_MP_" in 0xF0000-0xFFFFF with a zero
 * checksum, whose table names the I/O APIC the hardware has. */
static uint8_t sum8(const uint8_t *p, unsigned n)
{
    uint8_t s = 0;
    while (n--)
        s = (uint8_t)(s + *p++);
    return s;
}

static void test_mptable(void)
{
    const uint8_t *f = 0;
    for (uint64_t a = 0xf0000; a < 0x100000 && !f; a += 16)
        if (!memcmp((const void *)a, "_MP_", 4) && !sum8((const uint8_t *)a, 16))
            f = (const uint8_t *)a;
    if (!check_true("mptable.floating_pointer", f != 0, "_MP_ in 0xF0000-0xFFFFF"))
        return;
    const uint8_t *t = (const uint8_t *)(uint64_t)(*(const uint32_t *)(f + 4));
    uint16_t len = *(const uint16_t *)(t + 4), count = *(const uint16_t *)(t + 34);
    check_true("mptable.table", !memcmp(t, "PCMP", 4) && !sum8(t, len), "PCMP, zero checksum");
    int ioapic_id = -1;
    uint32_t ioapic_addr = 0;
    const uint8_t *e = t + 44;
    for (unsigned i = 0; i < count && e < t + len; i++) {
        if (e[0] == 2) {
            ioapic_id = e[1];
            ioapic_addr = *(const uint32_t *)(e + 4);
        }
        e += e[0] == 0 ? 20 : 8;
    }
    check_eq("mptable.ioapic_address", ioapic_addr, 0xfec00000u);
    check_eq("mptable.ioapic_id_matches", (uint64_t)ioapic_id, ioapic_read(0) >> 24);
}

static void test_ioapic_delivery(void)
{
    set_redir(LINE, 0x76);
    set_irq_line(LINE, 1);
    unsigned spins = wait_for(&hits[0x76], 1);
    check_eq("ioapic.edge_intr", hits[0x76], 1);
    if (on_nvmx()) /* taken before the instruction after the OUT */
        check_eq("ioapic.edge_intr_at_next_instruction", spins, 0);
    set_irq_line(LINE, 0);
    check_eq("ioapic.edge_tmr_clear", (uint64_t)tmr_seen, 0);

    drop_line_on_hit = 1;
    set_redir(LINE, 0x77 | TRIGGER_LEVEL);
    set_irq_line(LINE, 1);
    wait_for(&hits[0x77], 1);
    check_eq("ioapic.level_intr", hits[0x77], 1);
    check_eq("ioapic.level_tmr_set", (uint64_t)tmr_seen, 1);
    check_eq("ioapic.level_remote_irr_clear_after_eoi", ioapic_read(0x10 + 2 * LINE) & REMOTE_IRR, 0);
    set_irq_line(LINE, 1);
    wait_for(&hits[0x77], 2);
    check_eq("ioapic.level_sequential", hits[0x77], 2);

    /* EOI with the line still asserted: delivered again (retrigger) */
    drop_line_on_hit = 2;
    set_redir(LINE, 0x9a | TRIGGER_LEVEL);
    __asm__ volatile("cli");
    set_irq_line(LINE, 1);
    check_eq("ioapic.level_remote_irr_set", ioapic_read(0x10 + 2 * LINE) & REMOTE_IRR, REMOTE_IRR);
    __asm__ volatile("sti; nop");
    wait_for(&hits[0x9a], 2);
    check_eq("ioapic.level_retrigger", hits[0x9a], 2);

    /* masked edge is lost; masked level waits for the unmask */
    drop_line_on_hit = 1;
    set_redir(LINE, 0x81 | MASKED);
    set_irq_line(LINE, 1);
    set_irq_line(LINE, 0);
    set_redir(LINE, 0x81);
    settle();
    check_eq("ioapic.masked_edge_lost", hits[0x81], 0);
    set_redir(LINE, 0x82 | TRIGGER_LEVEL | MASKED);
    set_irq_line(LINE, 1);
    settle();
    check_eq("ioapic.masked_level_held", hits[0x82], 0);
    set_redir(LINE, 0x82 | TRIGGER_LEVEL);
    wait_for(&hits[0x82], 1);
    check_eq("ioapic.unmasked_level_delivered", hits[0x82], 1);
    set_redir(LINE, MASKED);
}

/* ---- 8259 -------------------------------------------------------------------- */

static uint8_t imr_at_entry_saved;


static void test_pic(void)
{
    if (on_nvmx())
        check_eq("pic.firmware_imr_master", imr_at_entry_saved, 0xfb);
    else
        report_skip("pic.firmware_imr_master", "the firmware state is nvmx's");
    outb(0x20, 0x11); outb(0x21, 0x30); outb(0x21, 0x04); outb(0x21, 0x01);
    outb(0xa0, 0x11); outb(0xa1, 0x38); outb(0xa1, 0x02); outb(0xa1, 0x01);
    outb(0x21, 0xf7); /* only IRQ 3 */
    outb(0xa1, 0xff);
    *apic(APIC_LVT_LINT0) = 7u << 8; /* ExtINT */
    set_irq_line(3, 1);
    wait_for(&pic_hits, 1);
    check_eq("pic.extint_through_lint0", pic_hits, 1);
    outb(0x20, 0x0b);
    check_eq("pic.isr_clear_after_eoi", inb(0x20), 0);
    outb(0x20, 0x0a);
    *apic(APIC_LVT_LINT0) = MASKED | 7u << 8;
    set_irq_line(3, 1);
    settle();
    check_eq("pic.lint0_masked_holds", pic_hits, 1);
    check_eq("pic.irr_pending", inb(0x20) & 0x08, 0x08);
    *apic(APIC_LVT_LINT0) = 7u << 8;
    wait_for(&pic_hits, 2);
    check_eq("pic.lint0_unmasked_delivers", pic_hits, 2);
    /* SDM 3A "Enabling or Disabling the Local APIC": with IA32_APIC_BASE.EN
     * clear the processor is one without a local APIC: LINT0 is INTR.
     * QEMU's own APIC (TCG) keeps honouring the LINT0 mask: nvmx only. */
    *apic(APIC_LVT_LINT0) = MASKED | 7u << 8;
    uint64_t base = rdmsr(MSR_APIC_BASE);
    if (on_nvmx()) {
        wrmsr(MSR_APIC_BASE, base & ~(1ull << 11));
        set_irq_line(3, 1);
        wait_for(&pic_hits, 3);
        check_eq("pic.intr_with_apic_globally_disabled", pic_hits, 3);
        wrmsr(MSR_APIC_BASE, base);
    } else {
        report_skip("pic.intr_with_apic_globally_disabled", "QEMU masks LINT0 regardless");
    }
    /* the cascade: IRQ 10 on the slave's IR2, vector base 0x38 */
    *apic(APIC_LVT_LINT0) = 7u << 8;
    outb(0x21, 0xfb);
    outb(0xa1, 0xfb);
    set_irq_line(10, 1);
    wait_for(&slave_hits, 1);
    check_eq("pic.cascade_irq10", slave_hits, 1);
    check_eq("pic.cascade_slave_isr", slave_isr_seen, 0x04);
    outb(0xa1, 0xff);
    /* ELCR (PIIX3): IRQ 5 level-sensitive */
    uint8_t elcr = inb(0x4d0);
    outb(0x4d0, (uint8_t)(elcr | 0x20));
    check_eq("pic.elcr_irq5", inb(0x4d0) & 0x20, 0x20);
    outb(0x21, 0xdf);
    set_irq_line(5, 1);
    wait_for(&level_hits, 2);
    check_eq("pic.elcr_level_redelivered", level_hits, 2);
    outb(0x4d0, elcr);
    *apic(APIC_LVT_LINT0) = MASKED;
    outb(0x21, 0xff);
}

/* ---- local APIC timer -------------------------------------------------------- */

static void test_apic_timer_mode_change(void)
{
    *apic(APIC_TIMER_DCR) = 0xb;
    *apic(APIC_LVT_TIMER) = MASKED | 0x60; /* one-shot */
    *apic(APIC_TIMER_ICR) = 200000;
    while (*apic(APIC_TIMER_CCR) > 100000)
        ;
    *apic(APIC_LVT_TIMER) = MASKED | 0x60 | 1u << 17; /* periodic */
    check_eq("apic_timer.initial_count_kept", *apic(APIC_TIMER_ICR), 200000);
    check_true("apic_timer.count_runs_on", *apic(APIC_TIMER_CCR) != 0, "CCR non-zero");
    uint32_t prev = *apic(APIC_TIMER_CCR), cur;
    for (int i = 0; i < 1000000; i++) {
        cur = *apic(APIC_TIMER_CCR);
        if (cur > prev)
            break;
        prev = cur;
    }
    check_true("apic_timer.periodic_reloads", cur > prev, "CCR wrapped to the initial count");
    *apic(APIC_LVT_TIMER) = MASKED | 0x60; /* one-shot: runs down to 0 and stays */
    for (int i = 0; i < 1000000 && *apic(APIC_TIMER_CCR); i++)
        ;
    check_eq("apic_timer.oneshot_stops", *apic(APIC_TIMER_CCR), 0);
    *apic(APIC_TIMER_ICR) = 0;
}

/* ---- x2APIC MSRs ------------------------------------------------------------ */

static uint32_t wr_msr;
static uint64_t wr_val;
static void do_wrmsr(void *arg)
{
    (void)arg;
    wrmsr(wr_msr, wr_val);
}

/* #GP(0) (13) or -1 (none) from WRMSR */
static int try_wrmsr(uint32_t msr, uint64_t val)
{
    wr_msr = msr;
    wr_val = val;
    int v = exc_run(do_wrmsr, 0);
    return v == 13 && exc_last.f.error == 0 ? 13 : v;
}

/* SDM 3A "Reserved Bit Checking", Table "Local APIC Register Address Map
 * Supported by x2APIC" */
static void test_x2apic_msrs(void)
{
    if (!((cpuid(1, 0).ecx >> 21) & 1)) {
        report_skip("x2apic.*", "CPUID.01H:ECX.x2APIC is 0");
        return;
    }
    wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | (1u << 10) | (1u << 11));
    static const struct { const char *name; uint32_t msr; uint64_t val; int expect; } cases[] = {
        { "x2apic.tpr_bits_31_8_gp", 0x808, 0x100, 13 },
        { "x2apic.tpr_ok", 0x808, 0x20, -1 },
        { "x2apic.svr_bit_12_gp", 0x80f, 0x11ff, 13 },
        { "x2apic.svr_ok", 0x80f, 0x1ff, -1 },
        { "x2apic.lvt_timer_bit_19_gp", 0x832, 0x80000 | MASKED, 13 },
        { "x2apic.lint0_bit_17_gp", 0x835, 0x20000 | MASKED, 13 },
        { "x2apic.dcr_bit_2_gp", 0x83e, 0x4, 13 },
        { "x2apic.self_ipi_bits_31_8_gp", 0x83f, 0x176, 13 },
        { "x2apic.icr_bit_13_gp", 0x830, (1u << 13) | (1u << 18) | 0x76, 13 },
        { "x2apic.bits_63_32_gp", 0x808, 1ull << 32, 13 },
        { "x2apic.eoi_nonzero_gp", 0x80b, 1, 13 },
        { "x2apic.ppr_read_only_gp", 0x80a, 0, 13 },
        { "x2apic.isr_read_only_gp", 0x810, 0, 13 },
        { "x2apic.current_count_read_only_gp", 0x839, 0, 13 },
        { "x2apic.reserved_800_gp", 0x800, 0, 13 },
        { "x2apic.reserved_83a_gp", 0x83a, 0, 13 },
        { "x2apic.icr_high_absent_gp", 0x831, 0, 13 },
    };
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_eq(cases[i].name, (uint64_t)try_wrmsr(cases[i].msr, cases[i].val),
                 (uint64_t)cases[i].expect);
    wrmsr(0x808, 0);
    unsigned before = hits[0x76];
    wrmsr(0x83f, 0x76); /* SELF IPI */
    wait_for(&hits[0x76], before + 1);
    check_eq("x2apic.self_ipi_delivered", hits[0x76], before + 1);
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_magic;
    (void)mb_info;
    exc_init();
    wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | (1u << 11));
    *apic(APIC_SVR) = 0x1ff;
    static const uint8_t vecs[] = { 0x76, 0x77, 0x81, 0x82, 0x9a };
    for (unsigned i = 0; i < sizeof vecs; i++)
        exc_set_hook(vecs[i], apic_handler);
    exc_set_hook(0x33, pic_handler);
    exc_set_hook(0x3a, slave_handler);
    exc_set_hook(0x35, level_handler);
    /* Firmware may leave 8259 IRQs unmasked on vectors that are exceptions
     * here (SeaBIOS: the PIT on IRQ 0, vector 8), as kvm-unit-tests'
     * mask_pic_interrupts() knows: mask them all first. */
    uint8_t imr_at_entry = inb(0x21);
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
    __asm__ volatile("sti");

    imr_at_entry_saved = imr_at_entry;
    test_pci();
    test_pc_testdev();
    test_mptable();
    test_ioapic_registers();
    test_ioapic_delivery();
    test_pic();
    test_apic_timer_mode_change();
    test_x2apic_msrs();
    guest_finish();
}
