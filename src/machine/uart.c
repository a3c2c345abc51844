/* 16550A UART, transmit side only: the register file a driver probes and
 * programs (divisor latch, line/modem control, scratch), with the transmitter
 * always empty, so every byte written to THR goes straight to m->serial_out.
 * Nothing is ever received. No interrupt line is wired yet; IIR still reports
 * the THR-empty interrupt the way a 16550 does, for drivers that poll it. */
#include "machine_private.h"

#include <stdlib.h>

/* Register offsets from the base port */
#define UART_THR 0 /* write, DLAB=0; RBR on read */
#define UART_IER 1 /* DLAB=0 */
#define UART_IIR 2 /* read; FCR on write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define LCR_DLAB 0x80
#define IER_THRI 0x02 /* transmitter holding register empty interrupt */
#define IIR_NO_INT 0x01
#define IIR_THRI 0x02
#define IIR_FIFO_ENABLED 0xc0
#define FCR_FIFO_ENABLE 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MCR_LOOP 0x10
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

struct uart {
    struct machine *m;
    uint16_t base;
    uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
    bool thr_int_pending; /* THR-empty interrupt condition, cleared by reading IIR */
};

static uint32_t uart_read(void *ctx, uint16_t port, unsigned size)
{
    struct uart *u = ctx;
    switch (port - u->base) {
    case UART_THR: return (u->lcr & LCR_DLAB) ? u->dll : 0; /* RBR: nothing received */
    case UART_IER: return (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
    case UART_IIR: {
        uint8_t fifo = (u->fcr & FCR_FIFO_ENABLE) ? IIR_FIFO_ENABLED : 0;
        if ((u->ier & IER_THRI) && u->thr_int_pending) {
            u->thr_int_pending = false; /* reading IIR clears a THRE interrupt */
            return fifo | IIR_THRI;
        }
        return fifo | IIR_NO_INT;
    }
    case UART_LCR: return u->lcr;
    case UART_MCR: return u->mcr;
    case UART_LSR: return LSR_THRE | LSR_TEMT;
    case UART_MSR:
        if (u->mcr & MCR_LOOP) /* loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD */
            return ((u->mcr & 0x01) ? MSR_DSR : 0) | ((u->mcr & 0x02) ? MSR_CTS : 0) |
                   ((u->mcr & 0x04) ? MSR_RI : 0) | ((u->mcr & 0x08) ? MSR_DCD : 0);
        return MSR_DCD | MSR_DSR | MSR_CTS;
    case UART_SCR: return u->scr;
    }
    return 0xff;
}

static void uart_write(void *ctx, uint16_t port, unsigned size, uint32_t val)
{
    struct uart *u = ctx;
    uint8_t v = (uint8_t)val;
    switch (port - u->base) {
    case UART_THR:
        if (u->lcr & LCR_DLAB) {
            u->dll = v;
            break;
        }
        if (!(u->mcr & MCR_LOOP) && u->m->serial_out) {
            fputc(v, u->m->serial_out);
            if (v == '\n')
                fflush(u->m->serial_out);
            machine_output_ok(u->m, u->m->serial_out, MACHINE_OUT_SERIAL);
        }
        u->thr_int_pending = true; /* the byte left at once: THR is empty again */
        break;
    case UART_IER:
        if (u->lcr & LCR_DLAB) {
            u->dlm = v;
            break;
        }
        u->ier = v & 0x0f;
        if (u->ier & IER_THRI)
            u->thr_int_pending = true;
        break;
    case UART_IIR: u->fcr = v & 0xc9; break; /* FCR; bits 1,2 self-clear */
    case UART_LCR: u->lcr = v; break;
    case UART_MCR: u->mcr = v & 0x1f; break;
    case UART_SCR: u->scr = v; break;
    default: break; /* LSR and MSR are read-only */
    }
}

bool uart_attach(struct machine *m, uint16_t base)
{
    struct uart *u = calloc(1, sizeof(*u));
    if (!u || !machine_own(m, u))
        return false;
    u->m = m;
    u->base = base;
    return machine_add_ports(m, base, base + 7, uart_read, uart_write, u);
}
