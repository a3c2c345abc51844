/* Difftest oracle: runs a case in Unicorn 2 (QEMU's x86-64 translator), flat
 * 64-bit mode, the same areas mapped at the same addresses as in nvmx. */
#include "difftest.h"

#include <string.h>
#include <unicorn/unicorn.h>

static uc_engine *uc;
/* CPU state right after set-up: restored before every case, because a run
 * stopped inside exception delivery leaves QEMU's "exception in progress"
 * state behind (the next #DE would become #DF). */
static uc_context *clean;

static const int uc_gpr[16] = {
    UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RBX,
    UC_X86_REG_RSP, UC_X86_REG_RBP, UC_X86_REG_RSI, UC_X86_REG_RDI,
    UC_X86_REG_R8,  UC_X86_REG_R9,  UC_X86_REG_R10, UC_X86_REG_R11,
    UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14, UC_X86_REG_R15,
};

struct uc_run {
    const struct dt_case *k;
    struct dt_result *r;
    bool stopped;
};
static struct uc_run cur;

static void snapshot(struct dt_result *r)
{
    for (int i = 0; i < 16; i++)
        uc_reg_read(uc, uc_gpr[i], &r->st.gpr[i]);
    uc_reg_read(uc, UC_X86_REG_RIP, &r->st.rip);
    uc_reg_read(uc, UC_X86_REG_RFLAGS, &r->st.rflags);
    for (int i = 0; i < 16; i++)
        uc_reg_read(uc, UC_X86_REG_XMM0 + i, r->st.xmm[i]);
    uc_reg_read(uc, UC_X86_REG_MXCSR, &r->st.mxcsr);
    /* FP0-FP7 are the physical registers R0-R7 ({significand, sign and
     * exponent}); FPTAG is the full tag word Unicorn computes, 11B empty. */
    uint64_t sw = 0, tag = 0;
    for (int i = 0; i < 8; i++) {
        struct { uint64_t mantissa; uint16_t exponent; } f = {0, 0};
        uc_reg_read(uc, UC_X86_REG_FP0 + i, &f);
        r->st.mm[i] = f.mantissa;
    }
    uc_reg_read(uc, UC_X86_REG_FPSW, &sw);
    uc_reg_read(uc, UC_X86_REG_FPTAG, &tag);
    r->st.fp_top = (uint8_t)((sw >> 11) & 7);
    r->st.fp_empty = 0;
    for (int i = 0; i < 8; i++)
        if (((tag >> (2 * i)) & 3) == 3)
            r->st.fp_empty |= (uint8_t)(1u << i);
    for (int i = 0; i < 8; i++)
        uc_reg_read(uc, UC_X86_REG_FP0 + i, r->st.st[i]); /* physical register Ri */
    uc_reg_read(uc, UC_X86_REG_FPCW, &r->st.fcw);
    uc_reg_read(uc, UC_X86_REG_FPSW, &r->st.fsw);
    uc_reg_read(uc, UC_X86_REG_FPTAG, &r->st.ftw);
    uc_mem_read(uc, DT_DATA_BASE, r->st.data, DT_DATA_SIZE);
    uc_mem_read(uc, DT_STACK_BASE, r->st.stack, DT_STACK_SIZE);
}

static const struct dt_insn *insn_at(const struct dt_case *k, uint64_t addr)
{
    for (unsigned i = 0; i < k->n; i++)
        if (DT_CODE_BASE + k->insn[i].off == addr)
            return &k->insn[i];
    return NULL;
}

/* Before each instruction: record it; if the previous one was BSF/BSR with a
 * zero source (ZF = 1), its destination is undefined (SDM 2A "BSF"). */
static void hook_code(uc_engine *u, uint64_t addr, uint32_t size, void *user)
{
    struct dt_result *r = cur.r;
    if (cur.stopped)
        return;
    if (r->ntrace) {
        const struct dt_insn *prev = insn_at(cur.k, r->trace[r->ntrace - 1]);
        if (prev && (prev->info & DTI_BSCAN)) {
            uint64_t fl;
            uc_reg_read(u, UC_X86_REG_RFLAGS, &fl);
            if (fl & DT_ZF)
                r->undef_regs |= (uint16_t)(1u << prev->dst_reg);
        }
    }
    if (r->ntrace < DT_TRACE_MAX)
        r->trace[r->ntrace++] = addr;
}

/* An exception: the state is the one before the faulting instruction. */
static void hook_intr(uc_engine *u, uint32_t intno, void *user)
{
    if (cur.stopped)
        return;
    cur.stopped = true;
    cur.r->vector = (int)intno;
    snapshot(cur.r);
    uc_emu_stop(u);
}

bool dt_uc_init(char *err, size_t errlen)
{
    uc_err e = uc_open(UC_ARCH_X86, UC_MODE_64, &uc);
    if (e != UC_ERR_OK) {
        snprintf(err, errlen, "unicorn: uc_open: %s", uc_strerror(e));
        return false;
    }
    /* A model with MOVBE, POPCNT, LZCNT (ABM) and TZCNT (BMI1): on qemu64
     * LZCNT/TZCNT would decode as BSR/BSF. */
    uc_ctl_set_cpu_model(uc, UC_CPU_X86_HASWELL);
    uc_hook h1, h2;
    if ((e = uc_mem_map(uc, DT_CODE_BASE, DT_CODE_SIZE + DT_DATA_SIZE, UC_PROT_ALL)) ||
        (e = uc_mem_map(uc, DT_STACK_BASE, DT_STACK_SIZE, UC_PROT_READ | UC_PROT_WRITE)) ||
        (e = uc_hook_add(uc, &h1, UC_HOOK_CODE, (void *)hook_code, NULL, 1, 0)) ||
        (e = uc_hook_add(uc, &h2, UC_HOOK_INTR, (void *)hook_intr, NULL, 1, 0))) {
        snprintf(err, errlen, "unicorn: set-up: %s", uc_strerror(e));
        return false;
    }
    if ((e = uc_context_alloc(uc, &clean)) || (e = uc_context_save(uc, clean))) {
        snprintf(err, errlen, "unicorn: context: %s", uc_strerror(e));
        return false;
    }
    return true;
}

void dt_uc_fini(void)
{
    if (clean)
        uc_context_free(clean);
    clean = NULL;
    if (uc)
        uc_close(uc);
    uc = NULL;
}

void dt_uc_run(const struct dt_case *k, struct dt_result *r)
{
    memset(r, 0, sizeof *r);
    r->vector = -1;
    r->ok = true;
    cur = (struct uc_run){k, r, false};
    uc_context_restore(uc, clean);
    uc_mem_write(uc, DT_CODE_BASE, k->code, DT_CODE_SIZE);
    uc_mem_write(uc, DT_DATA_BASE, k->init.data, DT_DATA_SIZE);
    uc_mem_write(uc, DT_STACK_BASE, k->init.stack, DT_STACK_SIZE);
    uc_ctl_remove_cache(uc, DT_CODE_BASE, DT_CODE_BASE + DT_CODE_SIZE);
    for (int i = 0; i < 16; i++)
        uc_reg_write(uc, uc_gpr[i], &k->init.gpr[i]);
    uint64_t rip = k->init.rip, fl = k->init.rflags;
    uc_reg_write(uc, UC_X86_REG_RIP, &rip);
    uc_reg_write(uc, UC_X86_REG_RFLAGS, &fl);
    for (int i = 0; i < 16; i++)
        uc_reg_write(uc, UC_X86_REG_XMM0 + i, k->init.xmm[i]);
    uint32_t mxcsr = k->init.mxcsr;
    uc_reg_write(uc, UC_X86_REG_MXCSR, &mxcsr);
    uint64_t sw = (uint64_t)(k->init.fp_top & 7) << 11, tag = 0;
    for (int i = 0; i < 8; i++) {
        struct { uint64_t mantissa; uint16_t exponent; } f = {k->init.mm[i], DT_FP_SEXP};
        uc_reg_write(uc, UC_X86_REG_FP0 + i, &f);
        if ((k->init.fp_empty >> i) & 1)
            tag |= 3u << (2 * i);
    }
    uc_reg_write(uc, UC_X86_REG_FPSW, &sw);
    uc_reg_write(uc, UC_X86_REG_FPTAG, &tag);
    uc_reg_write(uc, UC_X86_REG_FS_BASE, &k->fs_base);
    uc_reg_write(uc, UC_X86_REG_GS_BASE, &k->gs_base);
    size_t count = k->has_backward ? DT_LOOP_LIMIT : 0;
    /* the timeout only guards against an oracle that never stops */
    uc_err e = uc_emu_start(uc, rip, 0, 2 * 1000 * 1000, count);
    if (e == UC_ERR_INSN_INVALID && !cur.stopped) {
        /* Unicorn reports #UD as an error, not through UC_HOOK_INTR; RIP
         * is the undefined instruction. */
        r->vector = 6;
    } else if (e != UC_ERR_OK && !cur.stopped) {
        r->ok = false;
        snprintf(r->err, sizeof r->err, "unicorn: %s", uc_strerror(e));
    }
    if (!cur.stopped)
        snapshot(r);
    cur.stopped = true;
    if (k->has_backward && r->ntrace > DT_LOOP_LIMIT && r->vector < 0)
        r->ntrace = DT_LOOP_LIMIT;
}
