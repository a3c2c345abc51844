/* Guest runtime: text output to COM1 (a 16550 UART at 0x3f8) and to the
 * 0xe9 debug console, and a small printf. */
#ifndef GUEST_CONSOLE_H
#define GUEST_CONSOLE_H

#include <stdarg.h>
#include <stdint.h>

#define COM1_BASE 0x3f8
#define DEBUGCON_PORT 0xe9

/* 16550 registers (offsets from the base) and bits */
#define UART_THR 0 /* transmit holding (DLAB=0) */
#define UART_DLL 0 /* divisor latch low (DLAB=1) */
#define UART_IER 1 /* interrupt enable (DLAB=0) */
#define UART_DLM 1 /* divisor latch high (DLAB=1) */
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_SCR 7
#define UART_LCR_8N1 0x03
#define UART_LCR_DLAB 0x80
#define UART_LSR_THRE 0x20

/* Program COM1 for 115200 8N1 with FIFOs, no interrupts. */
void serial_init(void);
void serial_putc(char ch);
void debugcon_putc(char ch);

/* Both outputs. "\n" is sent as "\r\n" to the UART only. */
void con_putc(char ch);
void con_puts(const char *s);
int con_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int con_vprintf(const char *fmt, va_list ap);

/* Format into buf (always NUL-terminated if size > 0); returns the length
 * the whole output would have. Conversions: %c %s %d %i %u %x %X %p %%,
 * flags '-' '0' '#', a width, and the l, ll, z length modifiers. */
int fmt_vsnprintf(char *buf, unsigned long size, const char *fmt, va_list ap);
int fmt_snprintf(char *buf, unsigned long size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
