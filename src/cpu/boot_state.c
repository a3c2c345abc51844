/* machine_load_image(): load through loader_prepare(), then give the CPU the
 * entry state of the image's boot protocol and tell it which physical ranges
 * changed (its block cache must not keep stale code). It lives in src/cpu:
 * src/machine loads bytes into RAM and includes no CPU header; setting the
 * CPU state the boot protocol gives is the CPU's part. */
#include "machine/loader.h"
#include "nvmx/cpu.h"

#include <string.h>

#define REG_RAX 0
#define REG_RBX 3
#define REG_RSP 4
#define REG_RDI 7

bool machine_load_image(struct machine *m, struct cpu *c, const struct boot_params *bp,
                        char *err, size_t errlen)
{
    struct boot_entry be;
    if (!loader_prepare(m, bp, &be, err, errlen))
        return false;
    for (unsigned i = 0; i < be.nranges; i++)
        cpu_phys_written(c, be.ranges[i].pa, be.ranges[i].len);

    if (be.kind == BOOT_MULTIBOOT) {
        /* Multiboot 0.6.96 "Machine state": EAX magic, EBX info, 32-bit flat
         * protected mode with paging off. */
        cpu_set_flat_protected(c);
        c->gpr[REG_RAX] = MULTIBOOT_BOOTLOADER_MAGIC;
        c->gpr[REG_RBX] = be.info;
    } else {
        cpu_set_long_mode(c, be.cr3, be.gdt_base);
        c->gpr[REG_RSP] = be.rsp;
        c->gpr[REG_RDI] = be.info;
        c->gpr[REG_RAX] = MULTIBOOT_BOOTLOADER_MAGIC;
    }
    c->rip = be.entry;
    return true;
}
