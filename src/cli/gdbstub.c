/* `nvmx run --gdb tcp::PORT` (-s, -S): a GDB remote-serial-protocol stub on
 * 127.0.0.1 (docs/cli.md "Debugging with gdb"). The run is driven from here:
 * while the debugger has breakpoints, watchpoints or a step outstanding, the
 * CPU runs one instruction at a time, so that no block of the block cache
 * runs past an armed address; otherwise it runs in slices and the socket is
 * polled for Ctrl-C between them. The CPU runs through the run function it
 * is given: cpu_run, or nested_run under --l0. Watchpoints are the CPU's
 * debugger watchpoints (include/nvmx/cpu_debug.h); the registers and the
 * target descriptions are gdb_regs.c's. */
#include "cli.h"
#include "gdb.h"
#include "nvmx/cpu_debug.h"
#include "nvmx/cpu_hooks.h"
#include "nvmx/machine.h"
#include "nvmx/vmx.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define GDB_MAX_POINTS 64
#define GDB_PKT_MAX 4096
#define GDB_SLICE 100000 /* instructions between polls of the socket */

enum gdb_point_kind { GP_SW = 0, GP_HW = 1, GP_WRITE = 2, GP_READ = 3, GP_ACCESS = 4 };

struct gdb_point {
    bool used;
    enum gdb_point_kind kind;
    uint64_t addr;
    unsigned len;
    unsigned slot; /* watchpoints: the CPU's debugger watchpoint */
};

struct gdb_stub {
    int lfd, fd;
    struct cpu *c;
    enum cpu_stop (*run)(void *ctx, uint64_t max_insns);
    void *run_ctx;
    enum gdb_arch arch;               /* --gdb ...,arch= */
    const struct gdb_layout *layout;  /* chosen when gdb first asks */
    struct gdb_point pt[GDB_MAX_POINTS];
    unsigned npoints, nwatch;
    char in[GDB_PKT_MAX + 8];
    char xml[8192];
    bool no_ack;
    bool killed;
};

/* ---- the connection ------------------------------------------------------- */

/* QEMU's tcp::PORT (or tcp:127.0.0.1:PORT / tcp:localhost:PORT), and
 * ",arch=auto|i8086|i386|x86-64" for the target description. */
static bool gdb_parse(const char *spec, unsigned *port, enum gdb_arch *arch, char *err,
                      size_t errlen)
{
    const char *p = NULL;
    char portbuf[16] = "";
    *arch = GDB_ARCH_AUTO;
    if (!strncmp(spec, "tcp::", 5))
        p = spec + 5;
    else if (!strncmp(spec, "tcp:127.0.0.1:", 14))
        p = spec + 14;
    else if (!strncmp(spec, "tcp:localhost:", 14))
        p = spec + 14;
    const char *comma = p ? strchr(p, ',') : NULL;
    if (comma) {
        if (strncmp(comma, ",arch=", 6) || !gdb_arch_parse(comma + 6, arch)) {
            snprintf(err, errlen, "--gdb: '%s': expected ,arch=auto, i8086, i386 or x86-64",
                     comma);
            return false;
        }
    }
    if (p) {
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n < sizeof(portbuf))
            memcpy(portbuf, p, n), portbuf[n] = 0;
    }
    char *end;
    unsigned long v = portbuf[0] ? strtoul(portbuf, &end, 10) : 0;
    if (!p || !portbuf[0] || *end || v == 0 || v > 65535) {
        snprintf(err, errlen,
                 "--gdb: '%s' is not tcp::PORT (port 1-65535; the stub listens on 127.0.0.1 "
                 "only)",
                 spec);
        return false;
    }
    *port = (unsigned)v;
    return true;
}

bool cli_gdb_parse(const char *spec, char *err, size_t errlen)
{
    unsigned port;
    enum gdb_arch arch;
    return gdb_parse(spec, &port, &arch, err, errlen);
}

struct gdb_stub *cli_gdb_listen(const char *spec, char *err, size_t errlen)
{
    unsigned port;
    enum gdb_arch arch;
    if (!gdb_parse(spec, &port, &arch, err, errlen))
        return NULL;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        snprintf(err, errlen, "--gdb: socket: %s", strerror(errno));
        return NULL;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 1)) {
        snprintf(err, errlen, "--gdb: cannot listen on 127.0.0.1:%u: %s", port,
                 strerror(errno));
        close(fd);
        return NULL;
    }
    struct gdb_stub *g = calloc(1, sizeof(*g));
    if (!g) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    g->lfd = fd;
    g->fd = -1;
    g->arch = arch;
    return g;
}

bool cli_gdb_killed(const struct gdb_stub *g) { return g->killed; }

void cli_gdb_close(struct gdb_stub *g)
{
    if (!g)
        return;
    if (g->fd >= 0)
        close(g->fd);
    close(g->lfd);
    free(g);
}

static bool gdb_accept(struct gdb_stub *g)
{
    fprintf(stderr, "nvmx: gdb: waiting for a connection on 127.0.0.1\n");
    g->fd = accept(g->lfd, NULL, NULL);
    g->no_ack = false;
    g->layout = NULL;
    return g->fd >= 0;
}

static bool send_all(struct gdb_stub *g, const char *s, size_t n)
{
    while (n) {
        ssize_t w = send(g->fd, s, n, MSG_NOSIGNAL);
        if (w <= 0)
            return false;
        s += w;
        n -= (size_t)w;
    }
    return true;
}

static bool put_packet(struct gdb_stub *g, const char *data)
{
    size_t n = strlen(data);
    char *buf = malloc(n + 5);
    if (!buf)
        return false;
    unsigned sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += (unsigned char)data[i];
    buf[0] = '$';
    memcpy(buf + 1, data, n);
    snprintf(buf + 1 + n, 4, "#%02x", sum & 0xff);
    bool ok = send_all(g, buf, n + 4);
    free(buf);
    return ok;
}

static int read_byte(struct gdb_stub *g)
{
    unsigned char ch;
    ssize_t r = recv(g->fd, &ch, 1, 0);
    return r == 1 ? ch : -1;
}

/* One packet into g->in; 0x03 (Ctrl-C) alone gives "\x03". -1: connection
 * closed. */
static int get_packet(struct gdb_stub *g)
{
    for (;;) {
        int ch = read_byte(g);
        if (ch < 0)
            return -1;
        if (ch == 0x03) {
            strcpy(g->in, "\x03");
            return 1;
        }
        if (ch != '$')
            continue; /* acks, noise */
        size_t n = 0;
        unsigned sum = 0;
        bool over = false;
        while ((ch = read_byte(g)) >= 0 && ch != '#') {
            if (n < GDB_PKT_MAX)
                g->in[n++] = (char)ch;
            else
                over = true;
            sum += (unsigned)ch;
        }
        if (ch < 0)
            return -1;
        int h = read_byte(g), l = read_byte(g);
        if (h < 0 || l < 0)
            return -1;
        g->in[n] = 0;
        char cs[3] = { (char)h, (char)l, 0 };
        bool good = !over && strtoul(cs, NULL, 16) == (sum & 0xff);
        if (!g->no_ack && !send_all(g, good ? "+" : "-", 1))
            return -1;
        if (good)
            return 1;
    }
}

static void hex_bytes(char *out, const uint8_t *b, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

static int hexval(char ch)
{
    return ch >= '0' && ch <= '9'   ? ch - '0'
           : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
           : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                    : -1;
}

static bool unhex(const char *s, uint8_t *b, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        int h = hexval(s[2 * i]), l = h < 0 ? -1 : hexval(s[2 * i + 1]);
        if (l < 0)
            return false;
        b[i] = (uint8_t)(h << 4 | l);
    }
    return true;
}

/* ---- memory ---------------------------------------------------------------- */

/* One byte at a linear (phys: physical) address, RAM only. */
static bool mem_byte(struct cpu *c, uint64_t addr, bool phys, uint8_t **p)
{
    uint64_t pa = addr;
    if (!phys && !cpu_debug_translate(c, addr, &pa))
        return false;
    *p = machine_ram_ptr(c->m, pa, 1);
    return *p != NULL;
}

static bool mem_read(struct cpu *c, uint64_t addr, uint8_t *out, unsigned n, bool phys)
{
    for (unsigned i = 0; i < n; i++) {
        uint8_t *p;
        if (!mem_byte(c, addr + i, phys, &p))
            return false;
        out[i] = *p;
    }
    return true;
}

static bool mem_write(struct cpu *c, uint64_t addr, const uint8_t *in, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        uint64_t pa;
        if (!cpu_debug_translate(c, addr + i, &pa) || !machine_ram_ptr(c->m, pa, 1))
            return false;
        /* through the CPU, so that cached blocks of the page are dropped */
        cpu_phys_write(c, pa, 1, in[i]);
    }
    c->recheck = true;
    return true;
}

/* ---- breakpoints and watchpoints ------------------------------------------ */

/* Watchpoints use the CPU's debugger watchpoints, one slot each. */
static unsigned watch_kinds(enum gdb_point_kind k)
{
    return k == GP_WRITE ? CPU_WATCH_WRITE
           : k == GP_READ ? CPU_WATCH_READ
                          : CPU_WATCH_READ | CPU_WATCH_WRITE;
}

static bool point_add(struct gdb_stub *g, enum gdb_point_kind k, uint64_t addr, unsigned len)
{
    unsigned slot = 0;
    if (k >= GP_WRITE) {
        bool used[CPU_DEBUG_WATCHES] = { false };
        for (unsigned i = 0; i < GDB_MAX_POINTS; i++)
            if (g->pt[i].used && g->pt[i].kind >= GP_WRITE)
                used[g->pt[i].slot] = true;
        while (slot < CPU_DEBUG_WATCHES && used[slot])
            slot++;
        if (slot == CPU_DEBUG_WATCHES)
            return false; /* as many as a processor has debug registers */
    }
    for (unsigned i = 0; i < GDB_MAX_POINTS; i++) {
        struct gdb_point *p = &g->pt[i];
        if (p->used)
            continue;
        *p = (struct gdb_point){ .used = true, .kind = k, .addr = addr, .len = len, .slot = slot };
        if (k >= GP_WRITE)
            cpu_debug_watch_set(g->c, slot, addr, len, watch_kinds(k));
        g->npoints++;
        return true;
    }
    return false;
}

static bool point_remove(struct gdb_stub *g, enum gdb_point_kind k, uint64_t addr)
{
    for (unsigned i = 0; i < GDB_MAX_POINTS; i++) {
        struct gdb_point *p = &g->pt[i];
        if (p->used && p->kind == k && p->addr == addr) {
            if (k >= GP_WRITE)
                cpu_debug_watch_set(g->c, p->slot, 0, 0, 0);
            p->used = false;
            g->npoints--;
            return true;
        }
    }
    return false;
}

/* The linear address of the next instruction */
static uint64_t pc_linear(const struct cpu *c) { return c->seg[SEG_CS].base + c->rip; }

static bool at_breakpoint(const struct gdb_stub *g)
{
    uint64_t pc = pc_linear(g->c);
    for (unsigned i = 0; i < GDB_MAX_POINTS; i++)
        if (g->pt[i].used && g->pt[i].kind <= GP_HW && g->pt[i].addr == pc)
            return true;
    return false;
}

/* The watchpoint the last instruction hit: gdb's stop reason for it
 * ("watch:ADDR;", "rwatch:", "awatch:"), or false. */
static bool watch_hit(struct gdb_stub *g, char *reason, size_t size)
{
    unsigned hits = cpu_debug_watch_hits(g->c);
    for (unsigned i = 0; hits && i < GDB_MAX_POINTS; i++) {
        const struct gdb_point *p = &g->pt[i];
        if (!p->used || p->kind < GP_WRITE || !((hits >> p->slot) & 1))
            continue;
        static const char *const name[] = { [GP_WRITE] = "watch", [GP_READ] = "rwatch",
                                             [GP_ACCESS] = "awatch" };
        snprintf(reason, size, "%s:%" PRIx64 ";", name[p->kind], p->addr);
        return true;
    }
    return false;
}

/* ---- the command loop ------------------------------------------------------ */

static const struct gdb_layout *layout(struct gdb_stub *g)
{
    if (!g->layout)
        g->layout = gdb_layout_for(g->arch, g->c);
    return g->layout;
}

static int current_level(const struct cpu *c)
{
    return c->vmx_nonroot && c->vmx ? vmx_get_level((const struct vmx *)c->vmx) : 0;
}

static void stop_reply(struct gdb_stub *g, const char *extra)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "T05%s", extra ? extra : "");
    put_packet(g, buf);
}

static void monitor(struct gdb_stub *g, const char *hexcmd)
{
    char cmd[256] = { 0 }, out[1024];
    size_t n = strlen(hexcmd) / 2;
    if (n >= sizeof(cmd) || !unhex(hexcmd, (uint8_t *)cmd, (unsigned)n)) {
        put_packet(g, "E01");
        return;
    }
    struct cpu *c = g->c;
    unsigned long long a, len = 16;
    if (!strcmp(cmd, "level")) {
        snprintf(out, sizeof(out), "level %d (%s), CPL %u, %u-bit code, gdb registers %s\n",
                 current_level(c),
                 c->vmx_nonroot ? "VMX non-root operation" : "not in VMX non-root operation",
                 c->cpl, c->code_size * 8u, gdb_layout_arch(layout(g)));
    } else if (sscanf(cmd, "xp %llx %llu", &a, &len) >= 1) {
        uint8_t b[64];
        if (len > sizeof(b))
            len = sizeof(b);
        if (!mem_read(c, a, b, (unsigned)len, true)) {
            snprintf(out, sizeof(out), "physical 0x%llx: not RAM\n", a);
        } else {
            int k = snprintf(out, sizeof(out), "%016llx:", a);
            for (unsigned i = 0; i < len; i++)
                k += snprintf(out + k, sizeof(out) - (size_t)k, " %02x", b[i]);
            snprintf(out + k, sizeof(out) - (size_t)k, "\n");
        }
    } else {
        snprintf(out, sizeof(out),
                 "nvmx monitor commands:\n  level            the nesting level the CPU "
                 "stopped in\n  xp ADDR [LEN]    LEN (<= 64) bytes of RAM at physical ADDR "
                 "(hex)\n");
    }
    char hex[2 * sizeof(out) + 2];
    hex[0] = 'O'; /* console output, then the command's result */
    hex_bytes(hex + 1, (const uint8_t *)out, (unsigned)strlen(out));
    put_packet(g, hex);
    put_packet(g, "OK");
}

static void xfer_features(struct gdb_stub *g, const char *args)
{
    unsigned long off, len;
    if (strncmp(args, "target.xml:", 11) || sscanf(args + 11, "%lx,%lx", &off, &len) != 2) {
        put_packet(g, "E00");
        return;
    }
    size_t total = gdb_target_xml(layout(g), g->xml, sizeof(g->xml));
    if (total >= sizeof(g->xml))
        total = sizeof(g->xml) - 1;
    if (off >= total) {
        put_packet(g, "l");
        return;
    }
    size_t n = total - off < len ? total - off : len;
    if (n > GDB_PKT_MAX - 2)
        n = GDB_PKT_MAX - 2;
    char buf[GDB_PKT_MAX];
    buf[0] = off + n < total ? 'm' : 'l';
    memcpy(buf + 1, g->xml + off, n);
    buf[1 + n] = 0;
    put_packet(g, buf);
}

enum gdb_action { GA_NONE, GA_CONTINUE, GA_STEP, GA_KILL, GA_DETACH };

static enum gdb_action handle(struct gdb_stub *g)
{
    struct cpu *c = g->c;
    char *p = g->in;
    char buf[2 * 2048 + 8];
    uint8_t b[2048];
    unsigned long long a, l;
    switch (p[0]) {
    case '?': stop_reply(g, NULL); return GA_NONE;
    case 'g': {
        size_t k = 0;
        for (unsigned n = 0; n < gdb_layout_nregs(layout(g)); n++) {
            unsigned sz = gdb_reg_get(layout(g), c, n, b);
            hex_bytes(buf + k, b, sz);
            k += 2 * sz;
        }
        buf[k] = 0;
        put_packet(g, buf);
        return GA_NONE;
    }
    case 'G': {
        /* only the general registers, the instruction pointer and the
         * flags are taken */
        const char *s = p + 1;
        for (unsigned n = 0; n < gdb_layout_nregs(layout(g)); n++) {
            unsigned sz = gdb_reg_size(layout(g), n);
            if (strlen(s) < 2 * sz || !unhex(s, b, sz))
                break;
            gdb_reg_set(layout(g), c, n, b, sz);
            s += 2 * sz;
        }
        put_packet(g, "OK");
        return GA_NONE;
    }
    case 'p': {
        unsigned sz = gdb_reg_get(layout(g), c, (unsigned)strtoul(p + 1, NULL, 16), b);
        if (!sz) {
            put_packet(g, "E00");
            return GA_NONE;
        }
        hex_bytes(buf, b, sz);
        put_packet(g, buf);
        return GA_NONE;
    }
    case 'P': {
        char *eq = strchr(p, '=');
        unsigned n = (unsigned)strtoul(p + 1, NULL, 16);
        unsigned len = eq ? (unsigned)strlen(eq + 1) / 2 : 0;
        bool ok = eq && len <= 16 && unhex(eq + 1, b, len) &&
                  gdb_reg_set(layout(g), c, n, b, len);
        put_packet(g, ok ? "OK" : "E01");
        return GA_NONE;
    }
    case 'm':
        if (sscanf(p + 1, "%llx,%llx", &a, &l) != 2 || l > sizeof(b)) {
            put_packet(g, "E01");
        } else if (!mem_read(c, a, b, (unsigned)l, false)) {
            put_packet(g, "E14");
        } else {
            hex_bytes(buf, b, (unsigned)l);
            put_packet(g, buf);
        }
        return GA_NONE;
    case 'M': {
        char *colon = strchr(p, ':');
        bool ok = colon && sscanf(p + 1, "%llx,%llx", &a, &l) == 2 && l <= sizeof(b) &&
                  strlen(colon + 1) >= 2 * l && unhex(colon + 1, b, (unsigned)l) &&
                  mem_write(c, a, b, (unsigned)l);
        put_packet(g, ok ? "OK" : "E14");
        return GA_NONE;
    }
    case 'Z':
    case 'z': {
        unsigned kind;
        if (sscanf(p + 1, "%u,%llx,%llx", &kind, &a, &l) != 3 || kind > GP_ACCESS) {
            put_packet(g, "E01");
            return GA_NONE;
        }
        if (kind >= GP_WRITE && (l == 0 || l > 8)) {
            put_packet(g, ""); /* not supported: gdb says so */
            return GA_NONE;
        }
        bool ok = p[0] == 'Z' ? point_add(g, (enum gdb_point_kind)kind, a, (unsigned)l)
                              : point_remove(g, (enum gdb_point_kind)kind, a);
        put_packet(g, ok ? "OK" : "E01");
        return GA_NONE;
    }
    case 'c': return GA_CONTINUE;
    case 's': return GA_STEP;
    case 'k': return GA_KILL;
    case 'D': put_packet(g, "OK"); return GA_DETACH;
    case 'H': put_packet(g, "OK"); return GA_NONE;
    case 'T': put_packet(g, "OK"); return GA_NONE;
    case 'q':
        if (!strncmp(p, "qSupported", 10))
            put_packet(g, "PacketSize=1000;qXfer:features:read+;QStartNoAckMode+;swbreak+;"
                          "hwbreak+");
        else if (!strcmp(p, "qAttached"))
            put_packet(g, "1");
        else if (!strcmp(p, "qC"))
            put_packet(g, "QC1");
        else if (!strcmp(p, "qfThreadInfo"))
            put_packet(g, "m1");
        else if (!strcmp(p, "qsThreadInfo"))
            put_packet(g, "l");
        else if (!strncmp(p, "qXfer:features:read:", 20))
            xfer_features(g, p + 20);
        else if (!strncmp(p, "qRcmd,", 6))
            monitor(g, p + 6);
        else
            put_packet(g, "");
        return GA_NONE;
    case 'Q':
        if (!strcmp(p, "QStartNoAckMode")) {
            put_packet(g, "OK");
            g->no_ack = true;
        } else {
            put_packet(g, "");
        }
        return GA_NONE;
    case 'v':
        if (!strncmp(p, "vCont?", 6))
            put_packet(g, "vCont;c;s");
        else if (!strncmp(p, "vCont;c", 7))
            return GA_CONTINUE;
        else if (!strncmp(p, "vCont;s", 7))
            return GA_STEP;
        else if (!strncmp(p, "vKill", 5)) {
            put_packet(g, "OK");
            return GA_KILL;
        } else
            put_packet(g, "");
        return GA_NONE;
    default: put_packet(g, ""); return GA_NONE;
    }
}

/* Ctrl-C waiting on the socket? */
static bool interrupt_pending(struct gdb_stub *g)
{
    struct pollfd pf = { .fd = g->fd, .events = POLLIN };
    if (poll(&pf, 1, 0) <= 0)
        return false;
    char ch;
    if (recv(g->fd, &ch, 1, MSG_PEEK) == 1 && ch == 0x03) {
        (void)recv(g->fd, &ch, 1, 0);
        return true;
    }
    return false;
}

/* The end of the run, in the stop reply gdb understands: W (exited with the
 * status the process will have) or X09 (killed: shutdown and the like). */
static void report_end(struct gdb_stub *g, enum cpu_stop why)
{
    const struct machine *m = g->c->m;
    char buf[16];
    if (why == CPU_STOP_MACHINE && m->stop == MACHINE_DEBUG_EXIT)
        snprintf(buf, sizeof(buf), "W%02x", (unsigned)(((m->exit_code << 1) | 1) & 0xff));
    else
        snprintf(buf, sizeof(buf), "X%02x", 9);
    put_packet(g, buf);
}

/* Run on without the debugger: to the limit, or without one. */
static enum cpu_stop run_rest(struct gdb_stub *g, uint64_t limit)
{
    return g->run(g->run_ctx, limit == UINT64_MAX ? 0 : limit - g->c->stats.insns);
}

enum cpu_stop cli_gdb_run(struct gdb_stub *g, struct cpu *c, cli_run_fn run, void *run_ctx,
                          uint64_t max_insns, bool wait)
{
    g->c = c;
    g->run = run;
    g->run_ctx = run_ctx;
    uint64_t limit = max_insns ? c->stats.insns + max_insns : UINT64_MAX;
    bool stopped = wait;
    if (wait && !gdb_accept(g))
        return run_rest(g, limit);
    enum gdb_action act = GA_NONE;
    for (;;) {
        if (stopped) {
            int r = get_packet(g);
            if (r < 0) {
                /* the debugger went away: run on without it */
                close(g->fd);
                g->fd = -1;
                return run_rest(g, limit);
            }
            if (g->in[0] == 0x03)
                continue;
            act = handle(g);
            if (act == GA_NONE)
                continue;
            if (act == GA_KILL) {
                g->killed = true;
                return CPU_STOP_MACHINE;
            }
            if (act == GA_DETACH) {
                close(g->fd);
                g->fd = -1;
                return run_rest(g, limit);
            }
            stopped = false;
            /* continuing from a breakpoint steps over it first */
        }
        if (g->fd < 0) {
            /* not connected yet: run a slice, then look for a connection */
            struct pollfd pf = { .fd = g->lfd, .events = POLLIN };
            if (poll(&pf, 1, 0) > 0) {
                g->fd = accept(g->lfd, NULL, NULL);
                g->no_ack = false;
                g->layout = NULL;
                stopped = g->fd >= 0;
                continue;
            }
        }
        if (c->stats.insns >= limit)
            return CPU_STOP_INSN_LIMIT;
        bool careful = act == GA_STEP || g->npoints;
        uint64_t left = limit - c->stats.insns;
        uint64_t n = careful ? 1 : left < GDB_SLICE ? left : GDB_SLICE;
        enum cpu_stop why = g->run(g->run_ctx, n);
        if (why != CPU_STOP_INSN_LIMIT) {
            if (g->fd >= 0)
                report_end(g, why);
            return why;
        }
        if (g->fd < 0)
            continue;
        char extra[64];
        if (careful && watch_hit(g, extra, sizeof(extra))) {
            stop_reply(g, extra);
            stopped = true;
        } else if (act == GA_STEP) {
            stop_reply(g, NULL);
            stopped = true;
        } else if (careful && at_breakpoint(g)) {
            stop_reply(g, "swbreak:;");
            stopped = true;
        } else if (interrupt_pending(g)) {
            put_packet(g, "T02");
            stopped = true;
        }
        if (stopped)
            act = GA_NONE;
    }
}
