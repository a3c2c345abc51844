/* Guest runtime: COM1 and 0xe9 output, and the formatter behind con_printf. */
#include "console.h"

#include <stdbool.h>

#include "x86.h"

/* Bound on polling LSR.THRE, so a missing UART cannot hang the guest. */
#define THRE_POLL_LIMIT 100000

void serial_init(void)
{
    outb(COM1_BASE + UART_IER, 0x00);
    outb(COM1_BASE + UART_LCR, UART_LCR_DLAB);
    outb(COM1_BASE + UART_DLL, 1); /* 115200 / 1 */
    outb(COM1_BASE + UART_DLM, 0);
    outb(COM1_BASE + UART_LCR, UART_LCR_8N1);
    outb(COM1_BASE + UART_FCR, 0xc7); /* enable and clear FIFOs */
    outb(COM1_BASE + UART_MCR, 0x03); /* DTR, RTS */
}

void serial_putc(char ch)
{
    for (unsigned i = 0; i < THRE_POLL_LIMIT; i++)
        if (inb(COM1_BASE + UART_LSR) & UART_LSR_THRE)
            break;
    outb(COM1_BASE + UART_THR, (uint8_t)ch);
}

void debugcon_putc(char ch)
{
    outb(DEBUGCON_PORT, (uint8_t)ch);
}

void con_putc(char ch)
{
    if (ch == '\n')
        serial_putc('\r');
    serial_putc(ch);
    debugcon_putc(ch);
}

void con_puts(const char *s)
{
    while (*s)
        con_putc(*s++);
}

struct fmt_out {
    char *buf;
    unsigned long size, len;
};

static void out_ch(struct fmt_out *o, char ch)
{
    if (o->len + 1 < o->size)
        o->buf[o->len] = ch;
    o->len++;
}

static void out_pad(struct fmt_out *o, char ch, int n)
{
    while (n-- > 0)
        out_ch(o, ch);
}

static void out_num(struct fmt_out *o, uint64_t v, unsigned base, bool upper, bool neg,
                    const char *prefix, int width, bool left, bool zero)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];
    int n = 0, plen = 0;

    do {
        tmp[n++] = digits[v % base];
        v /= base;
    } while (v);
    if (neg)
        prefix = "-";
    while (prefix && prefix[plen])
        plen++;
    int pad = width - n - plen;
    if (!left && !zero)
        out_pad(o, ' ', pad);
    for (int i = 0; i < plen; i++)
        out_ch(o, prefix[i]);
    if (!left && zero)
        out_pad(o, '0', pad);
    while (n)
        out_ch(o, tmp[--n]);
    if (left)
        out_pad(o, ' ', pad);
}

int fmt_vsnprintf(char *buf, unsigned long size, const char *fmt, va_list ap)
{
    struct fmt_out o = { buf, size, 0 };

    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            out_ch(&o, *fmt);
            continue;
        }
        bool left = false, zero = false, alt = false;
        int width = 0, lng = 0;
        for (fmt++;; fmt++) {
            if (*fmt == '-')
                left = true;
            else if (*fmt == '0')
                zero = true;
            else if (*fmt == '#')
                alt = true;
            else
                break;
        }
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        while (*fmt == 'l' || *fmt == 'z') {
            lng++;
            fmt++;
        }
        switch (*fmt) {
        case 'c':
            out_pad(&o, ' ', left ? 0 : width - 1);
            out_ch(&o, (char)va_arg(ap, int));
            out_pad(&o, ' ', left ? width - 1 : 0);
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            int n = 0;
            if (!s)
                s = "(null)";
            while (s[n])
                n++;
            out_pad(&o, ' ', left ? 0 : width - n);
            for (int i = 0; i < n; i++)
                out_ch(&o, s[i]);
            out_pad(&o, ' ', left ? width - n : 0);
            break;
        }
        case 'd':
        case 'i': {
            int64_t v = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
            out_num(&o, v < 0 ? -(uint64_t)v : (uint64_t)v, 10, false, v < 0, 0, width, left,
                    zero);
            break;
        }
        case 'u':
        case 'x':
        case 'X': {
            uint64_t v = lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
            unsigned base = *fmt == 'u' ? 10 : 16;
            const char *prefix = alt && base == 16 ? (*fmt == 'X' ? "0X" : "0x") : 0;
            out_num(&o, v, base, *fmt == 'X', false, prefix, width, left, zero);
            break;
        }
        case 'p':
            out_num(&o, (uint64_t)va_arg(ap, void *), 16, false, false, "0x", width, left, zero);
            break;
        case '%':
            out_ch(&o, '%');
            break;
        case '\0':
            fmt--;
            break;
        default:
            out_ch(&o, '%');
            out_ch(&o, *fmt);
            break;
        }
    }
    if (size)
        buf[o.len < size ? o.len : size - 1] = '\0';
    return (int)o.len;
}

int fmt_snprintf(char *buf, unsigned long size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = fmt_vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

int con_vprintf(const char *fmt, va_list ap)
{
    char buf[512];
    int n = fmt_vsnprintf(buf, sizeof(buf), fmt, ap);
    con_puts(buf);
    return n;
}

int con_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = con_vprintf(fmt, ap);
    va_end(ap);
    return n;
}
