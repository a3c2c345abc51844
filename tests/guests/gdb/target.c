/* Guest for the gdb stub test (tests/guests/gdb/check-gdb.sh): guest_main
 * calls gdb_target() three times with known arguments; gdb_target adds its
 * argument to gdb_counter. The test breaks at gdb_target, reads RDI and
 * gdb_counter, steps, writes memory, watches gdb_counter (write), gdb_peek
 * (read) and gdb_poke (access) and lets the guest finish: the guest checks
 * the value the debugger wrote. The image starts in 32-bit protected mode
 * (multiboot), where the test also connects with the i386 description. */
#include "report.h"

#include <stdint.h>

volatile uint64_t gdb_counter;
volatile uint64_t gdb_poke; /* the debugger writes 0x5a5a here */
volatile uint64_t gdb_peek = 0x7777; /* only read: a read watchpoint's target */

__attribute__((noinline)) void gdb_target(uint64_t x)
{
    gdb_counter += x;
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_magic;
    (void)mb_info;
    gdb_target(0x1111);
    gdb_target(0x2222);
    gdb_target(0x3333);
    check_eq("gdb.counter", gdb_counter, 0x6666);
    check_eq("gdb.peek", gdb_peek, 0x7777);
    check_eq("gdb.poke", gdb_poke, 0x5a5a);
    guest_finish();
}
