/* Difftest comparison: end condition (exception vector and RIP), GPRs, RIP,
 * RFLAGS masked by undefined flags, data and stack memory; and the report of
 * a failing case with both states side by side. */
#include "difftest.h"

#include <inttypes.h>
#include <string.h>

static const char *const reg_names[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                          "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};

static const struct dt_insn *insn_at(const struct dt_case *k, uint64_t addr)
{
    for (unsigned i = 0; i < k->n; i++)
        if (DT_CODE_BASE + k->insn[i].off == addr)
            return &k->insn[i];
    return NULL;
}

/* Undefined flags left by the executed path (Unicorn's trace): walking the
 * instructions that completed, U = (U & ~written) | undefined, where
 * "undefined" is nvmx's cpu_undefined_flags() for the instruction (the
 * generator's own SDM table if nvmx has none) plus the exception list. */
static uint32_t undefined_mask(const struct dt_case *k, const struct dt_result *u)
{
    uint32_t mask = 0;
    unsigned n = u->ntrace;
    if (u->native)
        return 0; /* the host's processor: every flag the SDM defines is compared */
    if (u->vector >= 0 && n)
        n--; /* the faulting instruction did not complete */
    for (unsigned i = 0; i < n; i++) {
        const struct dt_insn *in = insn_at(k, u->trace[i]);
        if (!in)
            continue;
        bool have;
        uint32_t undef = (uint32_t)dt_nvmx_undefined_flags(in->bytes, in->len, &have) & DT_ALL6;
        if (!have)
            undef = in->fl_undef;
        undef |= dt_exception_flags(k, in, u);
        mask = (mask & ~in->fl_write) | undef;
    }
    return mask;
}

static bool nan32(uint32_t v) { return (v & 0x7fffffffu) > 0x7f800000u; }
static bool nan64(uint64_t v) { return (v & ~(1ull << 63)) > 0x7ff0000000000000ull; }

/* XMM registers equal, or (nans) equal but for which NaN each lane holds,
 * read as one double or as two singles. */
static bool xmm_same(const uint64_t *a, const uint64_t *b, bool nans)
{
    for (int h = 0; h < 2; h++) {
        if (a[h] == b[h] || (nans && nan64(a[h]) && nan64(b[h])))
            continue;
        for (int s = 0; s < 64; s += 32) {
            uint32_t x = (uint32_t)(a[h] >> s), y = (uint32_t)(b[h] >> s);
            if (x != y && !(nans && nan32(x) && nan32(y)))
                return false;
        }
    }
    return true;
}

static const char *vec_name(int v)
{
    static const char *const n[] = {"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
                                    "#DF", "9",   "#TS", "#NP", "#SS", "#GP", "#PF"};
    if (v == -1)
        return "insn-limit";
    if (v < 0)
        return "error";
    return v < 15 ? n[v] : "vector";
}

void dt_compare(const struct dt_case *k, const struct dt_result *u, const struct dt_result *v,
                struct dt_verdict *out)
{
    memset(out, 0, sizeof *out);
    out->pass = true;
    out->flag_mask = (DT_ALL6 & ~undefined_mask(k, u)) | DT_DF;
    out->reg_mask = (uint16_t)~u->undef_regs;
    char *p = out->reason;
    size_t left = sizeof out->reason;
#define WHY(...)                                                                       \
    do {                                                                               \
        int w_ = snprintf(p, left, __VA_ARGS__);                                       \
        if (w_ > 0 && (size_t)w_ < left) {                                             \
            p += w_;                                                                   \
            left -= (size_t)w_;                                                        \
        }                                                                              \
        out->pass = false;                                                             \
    } while (0)
    if (!u->ok)
        WHY("%s; ", u->err);
    if (!v->ok)
        WHY("%s; ", v->err);
    if (u->vector != v->vector)
        WHY("end: unicorn %s, nvmx %s; ", vec_name(u->vector), vec_name(v->vector));
    if (u->st.rip != v->st.rip)
        WHY("rip; ");
    for (int r = 0; r < 16; r++)
        if ((out->reg_mask >> r & 1) &&
            u->st.gpr[r] != v->st.gpr[r])
            WHY("%s; ", reg_names[r]);
    if ((u->st.rflags ^ v->st.rflags) & out->flag_mask)
        WHY("rflags; ");
    bool nans = !u->native && dt_exception_nans(k);
    for (int r = 0; r < 16; r++)
        if (!xmm_same(u->st.xmm[r], v->st.xmm[r], nans))
            WHY("xmm%d; ", r);
    uint32_t mx_ignored = u->native ? 0 : dt_exception_mxcsr(k);
    if ((u->st.mxcsr ^ v->st.mxcsr) & ~mx_ignored)
        WHY("mxcsr; ");
    for (int r = 0; r < 8; r++)
        if (u->st.mm[r] != v->st.mm[r])
            WHY("mm%d; ", r);
    bool tags = !dt_exception_x87_tags(k);
    if (tags && u->st.fp_top != v->st.fp_top)
        WHY("x87 TOP; ");
    if (tags && u->st.fp_empty != v->st.fp_empty)
        WHY("x87 empty tags; ");
    if (memcmp(u->st.data, v->st.data, DT_DATA_SIZE))
        WHY("data memory; ");
    if (memcmp(u->st.stack, v->st.stack, DT_STACK_SIZE))
        WHY("stack memory; ");
#undef WHY
}

static void flags_str(uint64_t f, char *s)
{
    sprintf(s, "%c%c%c%c%c%c%c", f & DT_OF ? 'O' : '-', f & DT_DF ? 'D' : '-',
            f & DT_SF ? 'S' : '-', f & DT_ZF ? 'Z' : '-', f & DT_AF ? 'A' : '-',
            f & DT_PF ? 'P' : '-', f & DT_CF ? 'C' : '-');
}

static void mem_diff(FILE *f, const char *what, uint64_t base, const uint8_t *init,
                     const uint8_t *a, const uint8_t *b, size_t size)
{
    unsigned shown = 0;
    for (size_t i = 0; i < size; i += 8) {
        if (!memcmp(a + i, b + i, 8) && !memcmp(a + i, init + i, 8))
            continue;
        uint64_t x, y, z;
        memcpy(&x, init + i, 8);
        memcpy(&y, a + i, 8);
        memcpy(&z, b + i, 8);
        if (shown++ == 24) {
            fprintf(f, "    ... more %s changes\n", what);
            break;
        }
        fprintf(f, "  %c %-7s %#010" PRIx64 " %016" PRIx64 "  %016" PRIx64 "  %016" PRIx64 "\n",
                y != z ? '*' : ' ', what, base + i, x, y, z);
    }
}

void dt_print_case(FILE *f, const struct dt_case *k, const struct dt_result *u,
                   const struct dt_result *v, const struct dt_verdict *vd)
{
    fprintf(f, "%s seed=%" PRIu64 " case=%" PRIu64 ": %s\n", vd->pass ? "PASS" : "FAIL", k->seed,
            k->index, vd->pass ? "" : vd->reason);
    fprintf(f, "  bytes:");
    for (unsigned i = 0; i < k->code_len; i++)
        fprintf(f, " %02x", k->code[i]);
    fprintf(f, "\n");
    for (unsigned i = 0; i <= k->n; i++) {
        const uint8_t *b = i < k->n ? k->insn[i].bytes : &k->code[k->code_len - 2];
        unsigned len = i < k->n ? k->insn[i].len : 2;
        uint64_t addr = i < k->n ? DT_CODE_BASE + k->insn[i].off : k->end_addr;
        char text[96], hex[48] = "";
        dt_disasm(&k->code[addr - DT_CODE_BASE], k->code_len - (unsigned)(addr - DT_CODE_BASE),
                  addr, text, sizeof text);
        for (unsigned j = 0; j < len; j++)
            sprintf(hex + 3 * j, "%02x ", b[j]);
        fprintf(f, "  %#" PRIx64 ": %-36s %-34s [%s]\n", addr, hex, text,
                i < k->n ? k->insn[i].mnem : "end");
    }
    fprintf(f, "  end: unicorn %d at %#" PRIx64 ", nvmx %d at %#" PRIx64
               " (vector, -1 = instruction limit)\n",
            u->vector, u->st.rip, v->vector, v->st.rip);
    fprintf(f, "  fs_base %#" PRIx64 " gs_base %#" PRIx64 "%s\n", k->fs_base, k->gs_base,
            k->has_backward ? ", loops: limit 64 instructions" : "");
    fprintf(f, "    reg     initial           unicorn           nvmx\n");
    for (int r = 0; r < 16; r++) {
        bool cmp = vd->reg_mask >> r & 1;
        fprintf(f, "  %c %-5s %016" PRIx64 "  %016" PRIx64 "  %016" PRIx64 "%s\n",
                cmp && u->st.gpr[r] != v->st.gpr[r] ? '*' : ' ', reg_names[r], k->init.gpr[r],
                u->st.gpr[r], v->st.gpr[r], cmp ? "" : "  (undefined: not compared)");
    }
    fprintf(f, "  %c %-5s %016" PRIx64 "  %016" PRIx64 "  %016" PRIx64 "\n",
            u->st.rip != v->st.rip ? '*' : ' ', "rip", k->init.rip, u->st.rip, v->st.rip);
    char fi[8], fu[8], fv[8], fm[8];
    flags_str(k->init.rflags, fi);
    flags_str(u->st.rflags, fu);
    flags_str(v->st.rflags, fv);
    flags_str(vd->flag_mask, fm);
    fprintf(f, "  %c %-5s %-16s  %-16s  %-16s  compared: %s\n",
            (u->st.rflags ^ v->st.rflags) & vd->flag_mask ? '*' : ' ', "flags", fi, fu, fv, fm);
    for (int r = 0; r < 16; r++)
        if (memcmp(u->st.xmm[r], v->st.xmm[r], 16) || memcmp(k->init.xmm[r], u->st.xmm[r], 16))
            fprintf(f, "  %c xmm%-2d %016" PRIx64 "%016" PRIx64 " %016" PRIx64 "%016" PRIx64
                       " %016" PRIx64 "%016" PRIx64 "\n",
                    memcmp(u->st.xmm[r], v->st.xmm[r], 16) ? '*' : ' ', r, k->init.xmm[r][1],
                    k->init.xmm[r][0], u->st.xmm[r][1], u->st.xmm[r][0], v->st.xmm[r][1],
                    v->st.xmm[r][0]);
    fprintf(f, "  %c mxcsr %08x  %08x  %08x\n", u->st.mxcsr != v->st.mxcsr ? '*' : ' ',
            k->init.mxcsr, u->st.mxcsr, v->st.mxcsr);
    for (int r = 0; r < 8; r++)
        if (u->st.mm[r] != v->st.mm[r] || k->init.mm[r] != u->st.mm[r])
            fprintf(f, "  %c mm%d   %016" PRIx64 "  %016" PRIx64 "  %016" PRIx64 "\n",
                    u->st.mm[r] != v->st.mm[r] ? '*' : ' ', r, k->init.mm[r], u->st.mm[r],
                    v->st.mm[r]);
    fprintf(f, "  %c top/empty %u/%02x  %u/%02x  %u/%02x\n",
            u->st.fp_top != v->st.fp_top || u->st.fp_empty != v->st.fp_empty ? '*' : ' ',
            k->init.fp_top, k->init.fp_empty, u->st.fp_top, u->st.fp_empty, v->st.fp_top,
            v->st.fp_empty);
    mem_diff(f, "data", DT_DATA_BASE, k->init.data, u->st.data, v->st.data, DT_DATA_SIZE);
    mem_diff(f, "stack", DT_STACK_BASE, k->init.stack, u->st.stack, v->st.stack, DT_STACK_SIZE);
}
