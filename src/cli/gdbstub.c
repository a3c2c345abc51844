/* `nvmx run --gdb tcp::PORT` (-s, -S): a GDB remote-serial-protocol stub on
 * 127.0.0.1 (docs/cli.md "Debugging with gdb"). The run is driven from here:
 * while the debugger has breakpoints, watchpoints or a step outstanding, the
 * CPU runs one instruction at a time (cpu_run(c, 1)), so that no block of the
 * block cache runs past an armed address; otherwise it runs in slices and
 * the socket is polled for Ctrl-C between them. The interpreter itself has
 * no debugger code. */
#include "cli.h"
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
    uint8_t old[8]; /* watchpoints: the bytes last seen */
    bool old_ok;
};

struct gdb_stub {
    int lfd, fd;
    struct cpu *c;
    struct gdb_point pt[GDB_MAX_POINTS];
    unsigned npoints;
    char in[GDB_PKT_MAX + 8];
    bool no_ack;
    bool killed;
};

/* ---- the connection ------------------------------------------------------- */

bool cli_gdb_parse(const char *spec, unsigned *port, char *err, size_t errlen)
{
    /* QEMU's tcp::PORT (or tcp:127.0.0.1:PORT / tcp:localhost:PORT) */
    const char *p = NULL;
    if (!strncmp(spec, "tcp::", 5))
        p = spec + 5;
    else if (!strncmp(spec, "tcp:127.0.0.1:", 14))
        p = spec + 14;
    else if (!strncmp(spec, "tcp:localhost:", 14))
        p = spec + 14;
    char *end;
    unsigned long v = p && *p ? strtoul(p, &end, 10) : 0;
    if (!p || !*p || *end || v == 0 || v > 65535) {
        snprintf(err, errlen,
                 "--gdb: '%s' is not tcp::PORT (port 1-65535; the stub listens on 127.0.0.1 "
                 "only)",
                 spec);
        return false;
    }
    *port = (unsigned)v;
    return true;
}

struct gdb_stub *cli_gdb_listen(unsigned port, char *err, size_t errlen)
{
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

/* ---- registers (gdb's i386:x86-64 layout, target.xml below) ---------------- */

/* gdb's amd64 order of the general registers, as indices of c->gpr */
static const unsigned gdb_gpr[16] = { 0, 3, 1, 2, 6, 7, 5, 4, 8, 9, 10, 11, 12, 13, 14, 15 };
static const unsigned gdb_seg[6] = { SEG_CS, SEG_SS, SEG_DS, SEG_ES, SEG_FS, SEG_GS };

static const char target_xml[] =
    "<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM \"gdb-target.dtd\">"
    "<target><architecture>i386:x86-64</architecture>"
    "<feature name=\"org.gnu.gdb.i386.core\">"
    "<reg name=\"rax\" bitsize=\"64\" type=\"int64\" regnum=\"0\"/>"
    "<reg name=\"rbx\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"rcx\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"rdx\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"rsi\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"rdi\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"rbp\" bitsize=\"64\" type=\"data_ptr\"/>"
    "<reg name=\"rsp\" bitsize=\"64\" type=\"data_ptr\"/>"
    "<reg name=\"r8\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"r9\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"r10\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"r11\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"r12\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"r13\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"r14\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"r15\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"rip\" bitsize=\"64\" type=\"code_ptr\"/>"
    "<reg name=\"eflags\" bitsize=\"32\" type=\"int32\"/>"
    "<reg name=\"cs\" bitsize=\"32\" type=\"int32\"/>"
    "<reg name=\"ss\" bitsize=\"32\" type=\"int32\"/>"
    "<reg name=\"ds\" bitsize=\"32\" type=\"int32\"/>"
    "<reg name=\"es\" bitsize=\"32\" type=\"int32\"/>"
    "<reg name=\"fs\" bitsize=\"32\" type=\"int32\"/>"
    "<reg name=\"gs\" bitsize=\"32\" type=\"int32\"/>"
    "<reg name=\"st0\" bitsize=\"80\" type=\"i387_ext\"/>"
    "<reg name=\"st1\" bitsize=\"80\" type=\"i387_ext\"/>"
    "<reg name=\"st2\" bitsize=\"80\" type=\"i387_ext\"/>"
    "<reg name=\"st3\" bitsize=\"80\" type=\"i387_ext\"/>"
    "<reg name=\"st4\" bitsize=\"80\" type=\"i387_ext\"/>"
    "<reg name=\"st5\" bitsize=\"80\" type=\"i387_ext\"/>"
    "<reg name=\"st6\" bitsize=\"80\" type=\"i387_ext\"/>"
    "<reg name=\"st7\" bitsize=\"80\" type=\"i387_ext\"/>"
    "<reg name=\"fctrl\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "<reg name=\"fstat\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "<reg name=\"ftag\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "<reg name=\"fiseg\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "<reg name=\"fioff\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "<reg name=\"foseg\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "<reg name=\"fooff\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "<reg name=\"fop\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "</feature><feature name=\"org.gnu.gdb.i386.sse\">"
    "<vector id=\"v2u64\" type=\"uint64\" count=\"2\"/>"
    "<reg name=\"xmm0\" bitsize=\"128\" type=\"v2u64\" regnum=\"40\"/>"
    "<reg name=\"xmm1\" bitsize=\"128\" type=\"v2u64\"/>"
    "<reg name=\"xmm2\" bitsize=\"128\" type=\"v2u64\"/>"
    "<reg name=\"xmm3\" bitsize=\"128\" type=\"v2u64\"/>"
    "<reg name=\"xmm4\" bitsize=\"128\" type=\"v2u64\"/>"
    "<reg name=\"xmm5\" bitsize=\"128\" type=\"v2u64\"/>"
    "<reg name=\"xmm6\" bitsize=\"128\" type=\"v2u64\"/>"
    "<reg name=\"xmm7\" bitsize=\"128\" type=\"v2u64\"/>"
    "<reg name=\"xmm8\" bitsize=\"128\" type=\"v2u64\"/>"
    "<reg name=\"xmm9\" bitsize=\"128\" type=\"v2u64\"/>"
    "<reg name=\"xmm10\" bitsize=\"128\" type=\"v2u64\"/>"
    "<reg name=\"xmm11\" bitsize=\"128\" type=\"v2u64\"/>"
    "<reg name=\"xmm12\" bitsize=\"128\" type=\"v2u64\"/>"
    "<reg name=\"xmm13\" bitsize=\"128\" type=\"v2u64\"/>"
    "<reg name=\"xmm14\" bitsize=\"128\" type=\"v2u64\"/>"
    "<reg name=\"xmm15\" bitsize=\"128\" type=\"v2u64\"/>"
    "<reg name=\"mxcsr\" bitsize=\"32\" type=\"int\" group=\"vector\"/>"
    "</feature><feature name=\"org.gnu.gdb.i386.segments\">"
    "<reg name=\"fs_base\" bitsize=\"64\" type=\"int\" regnum=\"57\"/>"
    "<reg name=\"gs_base\" bitsize=\"64\" type=\"int\"/>"
    "</feature><feature name=\"org.nvmx.system\">"
    "<reg name=\"cr0\" bitsize=\"64\" type=\"int\" regnum=\"59\" group=\"system\"/>"
    "<reg name=\"cr2\" bitsize=\"64\" type=\"int\" group=\"system\"/>"
    "<reg name=\"cr3\" bitsize=\"64\" type=\"int\" group=\"system\"/>"
    "<reg name=\"cr4\" bitsize=\"64\" type=\"int\" group=\"system\"/>"
    "<reg name=\"cr8\" bitsize=\"64\" type=\"int\" group=\"system\"/>"
    "<reg name=\"efer\" bitsize=\"64\" type=\"int\" group=\"system\"/>"
    "</feature></target>";

#define GDB_NREGS 65

/* Register n as bytes (little-endian); returns its size, 0 if none. */
static unsigned reg_get(struct cpu *c, unsigned n, uint8_t *out)
{
    uint64_t v = 0;
    unsigned size = 8;
    if (n < 16) {
        v = c->gpr[gdb_gpr[n]];
    } else if (n == 16) {
        v = c->rip;
    } else if (n == 17) {
        v = cpu_get_rflags(c), size = 4;
    } else if (n < 24) {
        v = c->seg[gdb_seg[n - 18]].sel, size = 4;
    } else if (n < 32) {
        /* ST(i) is physical register (TOP + i) mod 8 */
        unsigned top = (c->fpu.fsw >> 11) & 7;
        const struct x87_reg *r = &c->fpu.st[(top + n - 24) & 7];
        memcpy(out, &r->signif, 8);
        memcpy(out + 8, &r->sexp, 2);
        return 10;
    } else if (n < 40) {
        const uint64_t x[8] = { c->fpu.fcw, c->fpu.fsw, c->fpu.ftw, c->fpu.fcs,
                                c->fpu.fip, c->fpu.fds, c->fpu.fdp, c->fpu.fop };
        v = x[n - 32], size = 4;
    } else if (n < 56) {
        memcpy(out, c->fpu.xmm[n - 40].b, 16);
        return 16;
    } else if (n == 56) {
        v = c->fpu.mxcsr, size = 4;
    } else if (n == 57 || n == 58) {
        v = c->seg[n == 57 ? SEG_FS : SEG_GS].base;
    } else if (n < GDB_NREGS) {
        const uint64_t x[6] = { c->cr0, c->cr2, c->cr3, c->cr4, c->cr8, c->efer };
        v = x[n - 59];
    } else {
        return 0;
    }
    for (unsigned i = 0; i < size; i++)
        out[i] = (uint8_t)(v >> (8 * i));
    return size;
}

/* Writes: the general registers, RIP and RFLAGS only (the rest are read-only
 * here: a selector or CR write needs the architectural checks of a load). */
static bool reg_set(struct cpu *c, unsigned n, const uint8_t *in, unsigned len)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < len && i < 8; i++)
        v |= (uint64_t)in[i] << (8 * i);
    if (n < 16 && len == 8)
        c->gpr[gdb_gpr[n]] = v;
    else if (n == 16 && len == 8)
        c->rip = v;
    else if (n == 17 && len == 4)
        cpu_set_rflags(c, v);
    else
        return false;
    c->recheck = true;
    return true;
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

static bool point_add(struct gdb_stub *g, enum gdb_point_kind k, uint64_t addr, unsigned len)
{
    for (unsigned i = 0; i < GDB_MAX_POINTS; i++) {
        struct gdb_point *p = &g->pt[i];
        if (p->used)
            continue;
        *p = (struct gdb_point){ .used = true, .kind = k, .addr = addr, .len = len };
        if (k == GP_WRITE)
            p->old_ok = len <= 8 && mem_read(g->c, addr, p->old, len, false);
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

/* A write watchpoint whose bytes changed: its address (the new bytes are
 * remembered). */
static bool watch_hit(struct gdb_stub *g, uint64_t *addr)
{
    for (unsigned i = 0; i < GDB_MAX_POINTS; i++) {
        struct gdb_point *p = &g->pt[i];
        uint8_t now[8];
        if (!p->used || p->kind != GP_WRITE || !p->old_ok)
            continue;
        if (mem_read(g->c, p->addr, now, p->len, false) && memcmp(now, p->old, p->len)) {
            memcpy(p->old, now, p->len);
            *addr = p->addr;
            return true;
        }
    }
    return false;
}

/* ---- the command loop ------------------------------------------------------ */

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
        snprintf(out, sizeof(out), "level %d (%s), CPL %u, %u-bit code\n", current_level(c),
                 c->vmx_nonroot ? "VMX non-root operation" : "not in VMX non-root operation",
                 c->cpl, c->code_size * 8u);
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
    size_t total = sizeof(target_xml) - 1;
    if (off >= total) {
        put_packet(g, "l");
        return;
    }
    size_t n = total - off < len ? total - off : len;
    if (n > GDB_PKT_MAX - 2)
        n = GDB_PKT_MAX - 2;
    char buf[GDB_PKT_MAX];
    buf[0] = off + n < total ? 'm' : 'l';
    memcpy(buf + 1, target_xml + off, n);
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
        for (unsigned n = 0; n < GDB_NREGS; n++) {
            unsigned sz = reg_get(c, n, b);
            hex_bytes(buf + k, b, sz);
            k += 2 * sz;
        }
        buf[k] = 0;
        put_packet(g, buf);
        return GA_NONE;
    }
    case 'G': {
        /* only the general registers, RIP and RFLAGS are taken */
        const char *s = p + 1;
        for (unsigned n = 0; n < 18; n++) {
            unsigned sz = n == 17 ? 4 : 8;
            if (strlen(s) < 2 * sz || !unhex(s, b, sz))
                break;
            reg_set(c, n, b, sz);
            s += 2 * sz;
        }
        put_packet(g, "OK");
        return GA_NONE;
    }
    case 'p': {
        unsigned sz = reg_get(c, (unsigned)strtoul(p + 1, NULL, 16), b);
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
        bool ok = eq && len <= 16 && unhex(eq + 1, b, len) && reg_set(c, n, b, len);
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
        if (kind == GP_READ || kind == GP_ACCESS || (kind == GP_WRITE && (l == 0 || l > 8))) {
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

enum cpu_stop cli_gdb_run(struct gdb_stub *g, struct cpu *c, uint64_t max_insns, bool wait)
{
    g->c = c;
    uint64_t limit = max_insns ? c->stats.insns + max_insns : UINT64_MAX;
    bool stopped = wait;
    if (wait && !gdb_accept(g))
        return cpu_run(c, max_insns);
    enum gdb_action act = GA_NONE;
    for (;;) {
        if (stopped) {
            int r = get_packet(g);
            if (r < 0) {
                /* the debugger went away: run on without it */
                close(g->fd);
                g->fd = -1;
                return cpu_run(c, limit == UINT64_MAX ? 0 : limit - c->stats.insns);
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
                return cpu_run(c, limit == UINT64_MAX ? 0 : limit - c->stats.insns);
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
                stopped = g->fd >= 0;
                continue;
            }
        }
        if (c->stats.insns >= limit)
            return CPU_STOP_INSN_LIMIT;
        bool careful = act == GA_STEP || g->npoints;
        uint64_t left = limit - c->stats.insns;
        uint64_t n = careful ? 1 : left < GDB_SLICE ? left : GDB_SLICE;
        enum cpu_stop why = cpu_run(c, n);
        if (why != CPU_STOP_INSN_LIMIT) {
            if (g->fd >= 0)
                report_end(g, why);
            return why;
        }
        if (g->fd < 0)
            continue;
        uint64_t wa;
        char extra[64];
        if (careful && watch_hit(g, &wa)) {
            snprintf(extra, sizeof(extra), "watch:%" PRIx64 ";", wa);
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
