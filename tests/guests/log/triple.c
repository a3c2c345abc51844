/* Guest for `nvmx run --log int,cpu_reset` (tests/guests/log/check-log.sh):
 * a #BP and a #UD delivered through the runtime's IDT, then, with an IDT
 * of limit 0, a #UD whose delivery faults: #GP (IDT error code of vector 6),
 * #DF (the #GP's delivery faults too) and shutdown (SDM 3A "Interrupt 8 --
 * Double Fault Exception (#DF)"). RAX..RDX hold known values at the end. */
#include "exc.h"
#include "report.h"

#include <stdint.h>

static void do_int3(void *arg)
{
    (void)arg;
    __asm__ volatile("int3");
}

static void do_ud2(void *arg)
{
    (void)arg;
    __asm__ volatile("ud2");
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_magic;
    (void)mb_info;
    exc_run(do_int3, 0);
    exc_run(do_ud2, 0);
    static const struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) empty_idt = { 0, 0 };
    __asm__ volatile("lidt %0\n\t"
                     "mov $0x1111222233334444, %%rax\n\t"
                     "mov $0xabcdef, %%rbx\n\t"
                     "mov $0x55, %%rcx\n\t"
                     "mov $0x66, %%rdx\n\t"
                     ".globl triple_ud2\n"
                     "triple_ud2:\n\t"
                     "ud2" ::"m"(empty_idt)
                     : "rax", "rbx", "rcx", "rdx", "memory");
}
