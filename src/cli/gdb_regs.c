/* The gdb stub's registers: the target descriptions gdb is given (i386:x86-64
 * in IA-32e mode, i386 in 32-bit protected mode, i8086 in real mode and
 * 16-bit code; docs/cli.md "Debugging with gdb") and the register numbers of
 * each, generated from one row table per layout. */
#include "gdb.h"

#include <stdio.h>
#include <string.h>

enum reg_src { R_GPR, R_IP, R_FLAGS, R_SEG, R_ST, R_FPU, R_XMM, R_MXCSR, R_SEGBASE, R_CR, R_EFER };
enum reg_feature { F_CORE, F_SSE, F_SEGMENTS, F_SYSTEM, F_COUNT };

static const char *const feature_names[F_COUNT] = {
    "org.gnu.gdb.i386.core", "org.gnu.gdb.i386.sse", "org.gnu.gdb.i386.segments",
    "org.nvmx.system",
};

struct gdb_reg {
    const char *name;
    unsigned bits;
    const char *type, *group;
    enum reg_feature feature;
    enum reg_src src;
    unsigned idx;
};

struct gdb_layout {
    const char *arch;
    const struct gdb_reg *regs;
    unsigned n;
};

#define CORE_FPU                                                                              \
    { "st0", 80, "i387_ext", NULL, F_CORE, R_ST, 0 },                                         \
    { "st1", 80, "i387_ext", NULL, F_CORE, R_ST, 1 },                                         \
    { "st2", 80, "i387_ext", NULL, F_CORE, R_ST, 2 },                                         \
    { "st3", 80, "i387_ext", NULL, F_CORE, R_ST, 3 },                                         \
    { "st4", 80, "i387_ext", NULL, F_CORE, R_ST, 4 },                                         \
    { "st5", 80, "i387_ext", NULL, F_CORE, R_ST, 5 },                                         \
    { "st6", 80, "i387_ext", NULL, F_CORE, R_ST, 6 },                                         \
    { "st7", 80, "i387_ext", NULL, F_CORE, R_ST, 7 },                                         \
    { "fctrl", 32, "int", "float", F_CORE, R_FPU, 0 },                                        \
    { "fstat", 32, "int", "float", F_CORE, R_FPU, 1 },                                        \
    { "ftag", 32, "int", "float", F_CORE, R_FPU, 2 },                                         \
    { "fiseg", 32, "int", "float", F_CORE, R_FPU, 3 },                                        \
    { "fioff", 32, "int", "float", F_CORE, R_FPU, 4 },                                        \
    { "foseg", 32, "int", "float", F_CORE, R_FPU, 5 },                                        \
    { "fooff", 32, "int", "float", F_CORE, R_FPU, 6 },                                        \
    { "fop", 32, "int", "float", F_CORE, R_FPU, 7 }

#define SEGS                                                                                  \
    { "cs", 32, "int32", NULL, F_CORE, R_SEG, SEG_CS },                                       \
    { "ss", 32, "int32", NULL, F_CORE, R_SEG, SEG_SS },                                       \
    { "ds", 32, "int32", NULL, F_CORE, R_SEG, SEG_DS },                                       \
    { "es", 32, "int32", NULL, F_CORE, R_SEG, SEG_ES },                                       \
    { "fs", 32, "int32", NULL, F_CORE, R_SEG, SEG_FS },                                       \
    { "gs", 32, "int32", NULL, F_CORE, R_SEG, SEG_GS }

#define XMM(n) { "xmm" #n, 128, "v2u64", NULL, F_SSE, R_XMM, n }

/* gdb's amd64 register order (amd64-tdep.c): rax rbx rcx rdx rsi rdi rbp rsp
 * r8-r15 rip eflags cs ss ds es fs gs st0-7 fctrl..fop xmm0-15 mxcsr */
static const struct gdb_reg regs_x86_64[] = {
    { "rax", 64, "int64", NULL, F_CORE, R_GPR, 0 },
    { "rbx", 64, "int64", NULL, F_CORE, R_GPR, 3 },
    { "rcx", 64, "int64", NULL, F_CORE, R_GPR, 1 },
    { "rdx", 64, "int64", NULL, F_CORE, R_GPR, 2 },
    { "rsi", 64, "int64", NULL, F_CORE, R_GPR, 6 },
    { "rdi", 64, "int64", NULL, F_CORE, R_GPR, 7 },
    { "rbp", 64, "data_ptr", NULL, F_CORE, R_GPR, 5 },
    { "rsp", 64, "data_ptr", NULL, F_CORE, R_GPR, 4 },
    { "r8", 64, "int64", NULL, F_CORE, R_GPR, 8 },
    { "r9", 64, "int64", NULL, F_CORE, R_GPR, 9 },
    { "r10", 64, "int64", NULL, F_CORE, R_GPR, 10 },
    { "r11", 64, "int64", NULL, F_CORE, R_GPR, 11 },
    { "r12", 64, "int64", NULL, F_CORE, R_GPR, 12 },
    { "r13", 64, "int64", NULL, F_CORE, R_GPR, 13 },
    { "r14", 64, "int64", NULL, F_CORE, R_GPR, 14 },
    { "r15", 64, "int64", NULL, F_CORE, R_GPR, 15 },
    { "rip", 64, "code_ptr", NULL, F_CORE, R_IP, 0 },
    { "eflags", 32, "int32", NULL, F_CORE, R_FLAGS, 0 },
    SEGS,
    CORE_FPU,
    XMM(0), XMM(1), XMM(2), XMM(3), XMM(4), XMM(5), XMM(6), XMM(7),
    XMM(8), XMM(9), XMM(10), XMM(11), XMM(12), XMM(13), XMM(14), XMM(15),
    { "mxcsr", 32, "int", "vector", F_SSE, R_MXCSR, 0 },
    { "fs_base", 64, "int", NULL, F_SEGMENTS, R_SEGBASE, SEG_FS },
    { "gs_base", 64, "int", NULL, F_SEGMENTS, R_SEGBASE, SEG_GS },
    { "cr0", 64, "int", "system", F_SYSTEM, R_CR, 0 },
    { "cr2", 64, "int", "system", F_SYSTEM, R_CR, 2 },
    { "cr3", 64, "int", "system", F_SYSTEM, R_CR, 3 },
    { "cr4", 64, "int", "system", F_SYSTEM, R_CR, 4 },
    { "cr8", 64, "int", "system", F_SYSTEM, R_CR, 8 },
    { "efer", 64, "int", "system", F_SYSTEM, R_EFER, 0 },
};

/* gdb's i386 order (i386-tdep.c): eax ecx edx ebx esp ebp esi edi eip eflags
 * cs ss ds es fs gs st0-7 fctrl..fop xmm0-7 mxcsr. Registers hold the low
 * 32 bits (IA-32e state that 32-bit code cannot see is left out). */
static const struct gdb_reg regs_i386[] = {
    { "eax", 32, "int32", NULL, F_CORE, R_GPR, 0 },
    { "ecx", 32, "int32", NULL, F_CORE, R_GPR, 1 },
    { "edx", 32, "int32", NULL, F_CORE, R_GPR, 2 },
    { "ebx", 32, "int32", NULL, F_CORE, R_GPR, 3 },
    { "esp", 32, "data_ptr", NULL, F_CORE, R_GPR, 4 },
    { "ebp", 32, "data_ptr", NULL, F_CORE, R_GPR, 5 },
    { "esi", 32, "int32", NULL, F_CORE, R_GPR, 6 },
    { "edi", 32, "int32", NULL, F_CORE, R_GPR, 7 },
    { "eip", 32, "code_ptr", NULL, F_CORE, R_IP, 0 },
    { "eflags", 32, "int32", NULL, F_CORE, R_FLAGS, 0 },
    SEGS,
    CORE_FPU,
    XMM(0), XMM(1), XMM(2), XMM(3), XMM(4), XMM(5), XMM(6), XMM(7),
    { "mxcsr", 32, "int", "vector", F_SSE, R_MXCSR, 0 },
    { "fs_base", 32, "int", NULL, F_SEGMENTS, R_SEGBASE, SEG_FS },
    { "gs_base", 32, "int", NULL, F_SEGMENTS, R_SEGBASE, SEG_GS },
    { "cr0", 32, "int", "system", F_SYSTEM, R_CR, 0 },
    { "cr2", 32, "int", "system", F_SYSTEM, R_CR, 2 },
    { "cr3", 32, "int", "system", F_SYSTEM, R_CR, 3 },
    { "cr4", 32, "int", "system", F_SYSTEM, R_CR, 4 },
    { "efer", 64, "int", "system", F_SYSTEM, R_EFER, 0 },
};

#define NREGS(a) ((unsigned)(sizeof(a) / sizeof((a)[0])))
static const struct gdb_layout layouts[] = {
    [GDB_ARCH_X86_64] = { "i386:x86-64", regs_x86_64, NREGS(regs_x86_64) },
    [GDB_ARCH_I386] = { "i386", regs_i386, NREGS(regs_i386) },
    [GDB_ARCH_I8086] = { "i8086", regs_i386, NREGS(regs_i386) },
};

bool gdb_arch_parse(const char *s, enum gdb_arch *a)
{
    static const char *const names[] = { [GDB_ARCH_AUTO] = "auto",
                                         [GDB_ARCH_I8086] = "i8086",
                                         [GDB_ARCH_I386] = "i386",
                                         [GDB_ARCH_X86_64] = "x86-64" };
    for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (!strcmp(s, names[i])) {
            *a = (enum gdb_arch)i;
            return true;
        }
    return false;
}

/* auto: what the code running now is. SDM 3A "IA-32e Mode" (EFER.LMA: the
 * 64-bit layout, also for compatibility-mode code), then the code size. */
const struct gdb_layout *gdb_layout_for(enum gdb_arch a, const struct cpu *c)
{
    if (a == GDB_ARCH_AUTO)
        a = (c->efer & EFER_LMA) ? GDB_ARCH_X86_64
            : c->code_size == 4  ? GDB_ARCH_I386
                                 : GDB_ARCH_I8086;
    return &layouts[a];
}

const char *gdb_layout_arch(const struct gdb_layout *l) { return l->arch; }
unsigned gdb_layout_nregs(const struct gdb_layout *l) { return l->n; }

size_t gdb_target_xml(const struct gdb_layout *l, char *buf, size_t size)
{
    size_t k = 0;
#define PUT(...)                                                                              \
    do {                                                                                      \
        int w_ = snprintf(buf + k, k < size ? size - k : 0, __VA_ARGS__);                     \
        k += w_ > 0 ? (size_t)w_ : 0;                                                         \
    } while (0)
    PUT("<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM \"gdb-target.dtd\">"
        "<target><architecture>%s</architecture>",
        l->arch);
    /* Bare-metal code: no OS ABI. A gdb built for Linux would otherwise
     * add the i386 GNU/Linux registers (orig_eax), which the description
     * does not have. */
    if (l->regs != regs_x86_64)
        PUT("<osabi>none</osabi>");
    int feature = -1;
    for (unsigned i = 0; i < l->n; i++) {
        const struct gdb_reg *r = &l->regs[i];
        if ((int)r->feature != feature) {
            if (feature >= 0)
                PUT("</feature>");
            feature = (int)r->feature;
            PUT("<feature name=\"%s\">", feature_names[feature]);
            if (r->feature == F_SSE)
                PUT("<vector id=\"v2u64\" type=\"uint64\" count=\"2\"/>");
        }
        PUT("<reg name=\"%s\" bitsize=\"%u\" type=\"%s\" regnum=\"%u\"", r->name, r->bits, r->type,
            i);
        if (r->group)
            PUT(" group=\"%s\"", r->group);
        PUT("/>");
    }
    PUT("</feature></target>");
#undef PUT
    return k;
}

unsigned gdb_reg_get(const struct gdb_layout *l, struct cpu *c, unsigned n, uint8_t *out)
{
    if (n >= l->n)
        return 0;
    const struct gdb_reg *r = &l->regs[n];
    uint64_t v = 0;
    switch (r->src) {
    case R_GPR: v = c->gpr[r->idx]; break;
    case R_IP: v = c->rip; break;
    case R_FLAGS: v = cpu_get_rflags(c); break;
    case R_SEG: v = c->seg[r->idx].sel; break;
    case R_ST: {
        /* ST(i) is physical register (TOP + i) mod 8 */
        unsigned top = (c->fpu.fsw >> 11) & 7;
        const struct x87_reg *x = &c->fpu.st[(top + r->idx) & 7];
        memcpy(out, &x->signif, 8);
        memcpy(out + 8, &x->sexp, 2);
        return 10;
    }
    case R_FPU: {
        const uint64_t x[8] = { c->fpu.fcw, c->fpu.fsw, c->fpu.ftw, c->fpu.fcs,
                                c->fpu.fip, c->fpu.fds, c->fpu.fdp, c->fpu.fop };
        v = x[r->idx];
        break;
    }
    case R_XMM: memcpy(out, c->fpu.xmm[r->idx].b, 16); return 16;
    case R_MXCSR: v = c->fpu.mxcsr; break;
    case R_SEGBASE: v = c->seg[r->idx].base; break;
    case R_CR: {
        const uint64_t x[9] = { c->cr0, 0, c->cr2, c->cr3, c->cr4, 0, 0, 0, c->cr8 };
        v = x[r->idx];
        break;
    }
    case R_EFER: v = c->efer; break;
    }
    unsigned size = r->bits / 8;
    for (unsigned i = 0; i < size; i++)
        out[i] = (uint8_t)(v >> (8 * i));
    return size;
}

/* Writes: the general registers, the instruction pointer and the flags only
 * (a selector or CR write needs the architectural checks of a load). A
 * 32-bit layout writes the low half; SDM 3A "Operand Size": the upper half
 * of a 64-bit register is zeroed as by a 32-bit MOV. */
bool gdb_reg_set(const struct gdb_layout *l, struct cpu *c, unsigned n, const uint8_t *in,
                 unsigned len)
{
    if (n >= l->n || len != l->regs[n].bits / 8)
        return false;
    const struct gdb_reg *r = &l->regs[n];
    uint64_t v = 0;
    for (unsigned i = 0; i < len && i < 8; i++)
        v |= (uint64_t)in[i] << (8 * i);
    switch (r->src) {
    case R_GPR: c->gpr[r->idx] = v; break;
    case R_IP: c->rip = v; break;
    case R_FLAGS: cpu_set_rflags(c, v); break;
    default: return false;
    }
    c->recheck = true;
    return true;
}


unsigned gdb_reg_size(const struct gdb_layout *l, unsigned n)
{
    return n < l->n ? l->regs[n].bits / 8 : 0;
}
