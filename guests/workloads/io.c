/* Workload: port I/O `count` times -- OUT then IN of the COM1 16550
 * scratch register (port 0x3ff), which must read back what was written.
 * Under a hypervisor that intercepts I/O (SDM 3C "I/O-Instruction
 * Exiting") each iteration is two VM exits. */
#include "console.h"
#include "report.h"
#include "workload.h"
#include "x86.h"

#define UART_SCRATCH (COM1_BASE + UART_SCR)

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    uint64_t n = wl_start("io", mb_magic, mb_info, 1000);
    uint64_t differ = 0, t0, t1;

    t0 = wl_rdtsc();
    for (uint64_t i = 0; i < n; i++) {
        uint8_t v = (uint8_t)(i * 37 + 11);
        outb(UART_SCRATCH, v);
        differ += inb(UART_SCRATCH) != v;
    }
    t1 = wl_rdtsc();
    wl_timing("io", n, t1 - t0);
    check_eq("workload.io.scratch_read_back", differ, 0);
}
