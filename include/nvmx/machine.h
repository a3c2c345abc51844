/* nvmx machine: guest RAM, port and MMIO dispatch, devices and image loaders.
 * The CPU reaches everything outside itself through these functions. */
#ifndef NVMX_MACHINE_H
#define NVMX_MACHINE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct cpu;
struct lapic;

/* How a run ended; the CLI maps each to an exit status (docs/cli.md). */
enum machine_stop {
    MACHINE_RUNNING = 0,
    MACHINE_DEBUG_EXIT, /* guest wrote to the debug-exit port: exit_code valid */
    MACHINE_HOST_ERROR, /* the host could not go on (an output write failed:
                           --trace, or out_failed below) */
    MACHINE_HOST_STOP,  /* the host asked the run to stop (SIGINT, SIGTERM) */
};

/* The outputs a device or the CPU writes for the host. */
enum machine_output {
    MACHINE_OUT_NONE = 0,
    MACHINE_OUT_SERIAL,      /* serial_out */
    MACHINE_OUT_DEBUGCON,    /* debugcon_out */
    MACHINE_OUT_TRACE_INSNS, /* the CPU's --trace-insns file */
};

typedef uint32_t (*port_read_fn)(void *ctx, uint16_t port, unsigned size);
typedef void (*port_write_fn)(void *ctx, uint16_t port, unsigned size, uint32_t val);
typedef uint64_t (*mmio_read_fn)(void *ctx, uint64_t pa, unsigned size);
typedef void (*mmio_write_fn)(void *ctx, uint64_t pa, unsigned size, uint64_t val);

#define MACHINE_MAX_PORT_RANGES 32
#define MACHINE_MAX_MMIO_RANGES 16

struct port_range {
    uint16_t first, last;
    port_read_fn read;
    port_write_fn write;
    void *ctx;
};

/* What devices may ask of the processor (ARCHITECTURE.md "The ground
 * floor"): src/machine includes no CPU header, so the CPU fills this table
 * in when it is created (cpu_create) and every device goes through it. */
struct machine_cpu_ops {
    uint64_t (*now)(const struct cpu *c);        /* modelled cycles */
    uint64_t (*tsc_offset)(const struct cpu *c); /* TSC = now + offset */
    void (*raise_nmi)(struct cpu *c);
    /* A device changed what the processor may have to take (an interrupt
     * request, an NMI): leave the current block so that pending events are
     * looked at before the next instruction (SDM 3A "Priority Among
     * Concurrent Events": events are recognised at instruction boundaries). */
    void (*end_block)(struct cpu *c);
};

struct machine;
/* Map the local APIC's xAPIC page at base (decode) or nowhere (!decode);
 * false when base overlaps another MMIO range (the page stays put). */
bool machine_lapic_map(struct machine *m, uint64_t base, bool decode);

struct mmio_range {
    uint64_t first, last;
    mmio_read_fn read;
    mmio_write_fn write;
    void *ctx;
};

struct machine_stats {
    uint64_t unbacked_reads, unbacked_writes;  /* physical addresses without RAM or MMIO */
    uint64_t unclaimed_port_reads, unclaimed_port_writes;
};

struct machine {
    uint8_t *ram;
    uint64_t ram_size;

    struct port_range ports[MACHINE_MAX_PORT_RANGES];
    unsigned nports;
    struct mmio_range mmio[MACHINE_MAX_MMIO_RANGES];
    unsigned nmmio;

    enum machine_stop stop;
    uint32_t exit_code; /* value written to the debug-exit port */

    FILE *serial_out;   /* COM1 transmit; NULL = discard */
    FILE *debugcon_out; /* port 0xe9; NULL = discard */
    /* The first output whose write failed (a full disk), and its errno:
     * the run stops at the next block boundary (MACHINE_HOST_ERROR). */
    enum machine_output out_failed;
    int out_errno;

    struct machine_stats stats;
    struct cpu *cpu;                      /* opaque here */
    const struct machine_cpu_ops *cpu_ops; /* filled in by the CPU; NULL = none */
    struct lapic *lapic; /* the local APIC of the one CPU (xAPIC MMIO at 0xfee00000) */
    void *devices; /* memory the machine owns (machine_own) */
    struct ioapic *ioapic;   /* the I/O APIC at 0xfec00000 (src/machine/ioapic.c) */
    struct pic8259 *pic;     /* the two cascaded 8259A PICs (src/machine/pic8259.c) */
    struct pci_bus *pci;     /* PCI configuration mechanism #1, bus 0 (src/machine/pci.c) */
    /* first-access warnings: small bitmaps / lists, private */
    void *warn_state;
    bool quiet;
};

/* Create a machine with mem_size bytes of RAM at physical address 0 and the
 * standard devices (UART 0x3f8, debugcon 0xe9, debug-exit 0xf4, fw_cfg). */
struct machine *machine_create(uint64_t mem_size);
void machine_destroy(struct machine *m);
/* An output write to f failed (ferror(f) is set): remember the first one
 * and stop the run. True when f is fine. */
bool machine_output_ok(struct machine *m, FILE *f, enum machine_output which);

bool machine_add_ports(struct machine *m, uint16_t first, uint16_t last, port_read_fn r,
                       port_write_fn w, void *ctx);
bool machine_add_mmio(struct machine *m, uint64_t first, uint64_t last, mmio_read_fn r,
                      mmio_write_fn w, void *ctx);

/* Port I/O from the CPU. Unclaimed ports read all-ones, writes are dropped. */
uint32_t machine_io_in(struct machine *m, uint16_t port, unsigned size);
void machine_io_out(struct machine *m, uint16_t port, unsigned size, uint32_t val);

/* Optional devices, by the names QEMU gives them (`--device NAME`):
 * "pc-testdev" and "pci-testdev". False with a message in err for an
 * unknown name or a device attached twice. */
bool machine_add_device(struct machine *m, const char *name, char *err, size_t errlen);
/* The names machine_add_device() takes, NULL-terminated (for --help). */
extern const char *const machine_device_names[];

/* ISA IRQ / I/O APIC input line n (0-23) driven to level (src/machine/intc.c):
 * lines 0-15 reach the 8259 pair and the I/O APIC pin of the same number,
 * lines 16-23 the I/O APIC only, as on QEMU's PC. */
void machine_irq_set(struct machine *m, unsigned line, bool level);

/* The processor's interrupt acknowledge (SDM 3A "Interrupt Acceptance for
 * Fixed Interrupts"; "Local Vector Table", delivery mode ExtINT): the
 * vector the interrupt controllers present now (a local APIC vector above
 * the PPR, else the 8259's through LINT0 in ExtINT mode), or -1; and taking
 * it, which returns the same vector (IRR to ISR, or the 8259's INTA). */
int machine_intr_peek(const struct machine *m);
int machine_intr_ack(struct machine *m);

/* Physical accesses that miss RAM: MMIO or unbacked (all-ones / dropped). */
uint64_t machine_mmio_read(struct machine *m, uint64_t pa, unsigned size);
void machine_mmio_write(struct machine *m, uint64_t pa, unsigned size, uint64_t val);

/* Host pointer for [pa, pa+len) if it lies wholly in RAM, else NULL. */
static inline uint8_t *machine_ram_ptr(struct machine *m, uint64_t pa, uint64_t len)
{
    if (pa >= m->ram_size || len > m->ram_size - pa)
        return NULL;
    return m->ram + pa;
}

/* ---- image loaders (src/machine/loader_*.c) ---- */

struct boot_module {
    const char *path;
    const char *string; /* may be NULL */
};

struct boot_params {
    const char *image;
    const char *cmdline;
    const struct boot_module *modules;
    unsigned nmodules;
};

/* Load an image (multiboot v1 ELF32/a.out-kludge, or ELF64) and set up the
 * CPU for its entry. On failure returns false with a message naming the file
 * and the problem in err. */
bool machine_load_image(struct machine *m, struct cpu *c, const struct boot_params *bp,
                        char *err, size_t errlen);

/* Format a host-side error message (a file, a key, the problem) into err
 * and return false, for the loaders' and the config parser's error paths. */
bool machine_errorf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
