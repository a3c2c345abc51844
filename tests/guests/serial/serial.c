/* Guest test: COM1 (16550 UART at 0x3f8) and the 0xe9 debug console.
 * The guest programs the UART itself (LCR/DLL/DLM, polling LSR.THRE), checks
 * its registers read back, and writes one line to each output only; the
 * runner checks each line arrived on its own output. */
#include "console.h"
#include "report.h"
#include "x86.h"

#define COM1 COM1_BASE
#define UART_LSR_TEMT 0x40

static uint8_t uart_in(unsigned reg)
{
    return inb(COM1 + reg);
}

static void uart_out(unsigned reg, uint8_t v)
{
    outb(COM1 + reg, v);
}

static void uart_puts(const char *s)
{
    for (; *s; s++) {
        unsigned n = 0;
        while (!(uart_in(UART_LSR) & UART_LSR_THRE) && n < 100000)
            n++;
        uart_out(UART_THR, (uint8_t)*s);
    }
}

static void debugcon_puts(const char *s)
{
    for (; *s; s++)
        outb(DEBUGCON_PORT, (uint8_t)*s);
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    /* 38400 baud 7E2 through the divisor latch, then read everything back */
    uart_out(UART_IER, 0);
    uart_out(UART_LCR, UART_LCR_DLAB);
    uart_out(UART_DLL, 3);
    uart_out(UART_DLM, 0);
    uint8_t dll = uart_in(UART_DLL), dlm = uart_in(UART_DLM), lcr_dlab = uart_in(UART_LCR);
    uart_out(UART_LCR, 0x1a); /* 7 bits, 2 stop bits, even parity, DLAB=0 */
    uint8_t lcr = uart_in(UART_LCR);
    uint8_t ier = uart_in(UART_IER);
    uart_out(UART_SCR, 0x5a);
    uint8_t scr = uart_in(UART_SCR);

    /* back to 115200 8N1 for the report lines */
    uart_out(UART_LCR, UART_LCR_DLAB);
    uart_out(UART_DLL, 1);
    uart_out(UART_DLM, 0);
    uart_out(UART_LCR, UART_LCR_8N1);
    uint8_t lsr = uart_in(UART_LSR);

    check_eq("serial.dll_readback", dll, 3);
    check_eq("serial.dlm_readback", dlm, 0);
    check_eq("serial.lcr_dlab_readback", lcr_dlab, UART_LCR_DLAB);
    check_eq("serial.lcr_readback", lcr, 0x1a);
    check_eq("serial.ier_readback", ier, 0);
    check_eq("serial.scratch_readback", scr, 0x5a);
    check_eq("serial.lsr_idle_thre_temt", lsr & (UART_LSR_THRE | UART_LSR_TEMT),
             UART_LSR_THRE | UART_LSR_TEMT);
    /* The Bochs/QEMU debug console reads back 0xe9 to show it is present. */
    check_eq("serial.debugcon_present", inb(DEBUGCON_PORT), 0xe9);

    uart_puts("serial: line written to COM1 only\r\n");
    uart_puts("serial: 0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n");
    debugcon_puts("debugcon: line written to port 0xe9 only\n");
    con_printf("serial: printf %d %u %#x %s %c %05d|%-4s|\n", -42, 42u, 0xbeefu, "str", 'c', 7,
               "ab");
}
