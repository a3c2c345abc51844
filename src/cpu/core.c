/* The run loop: executes predecoded blocks, accounts cycles per block, takes
 * faults back from handlers (the only non-local exit in src/cpu), and
 * delivers exceptions, NMIs and external interrupts between instructions. */
#include "block.h"
#include "breakpoint.h"
#include "lbr.h"
#include "psc.h"
#include "sse.h"

#include "nvmx/cpu_hooks.h"
#include "nvmx/lapic.h"

#include <stdio.h>
#include <stdlib.h>

void cpu_trace_insn(struct cpu *c, const struct insn *in);
void op_iret(struct cpu *c, const struct insn *in);

/* What the machine's devices may ask of the processor (nvmx/machine.h). */
static uint64_t ops_now(const struct cpu *c) { return c->cycles; }
static uint64_t ops_tsc_offset(const struct cpu *c) { return c->tsc_offset; }
static void ops_end_block(struct cpu *c) { c->end_block = true; }
static const struct machine_cpu_ops cpu_machine_ops = {
    .now = ops_now,
    .tsc_offset = ops_tsc_offset,
    .raise_nmi = cpu_raise_nmi,
    .end_block = ops_end_block,
};

struct cpu *cpu_create(struct machine *m, const struct cpu_model *model,
                       const struct cost_model *cost)
{
    struct cpu *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->m = m;
    c->model = model;
    c->cost = cost;
    if (!block_cache_init(c)) {
        free(c);
        return NULL;
    }
    if (!tlb_model_init(c) || !psc_init(c)) {
        tlb_model_free(c);
        block_cache_free(c);
        free(c);
        return NULL;
    }
    if (m) {
        m->cpu = c;
        m->cpu_ops = &cpu_machine_ops;
    }
    cpu_power_on_reset(c);
    return c;
}

void cpu_destroy(struct cpu *c)
{
    if (!c)
        return;
    block_cache_free(c);
    tlb_model_free(c);
    psc_free(c);
    ept_walk_cache_free(c->ept_wc);
    free(c);
}

static void seg_set(struct seg_reg *s, uint16_t sel, uint64_t base, uint32_t limit, uint32_t ar)
{
    s->sel = sel;
    s->base = base;
    s->limit = limit;
    s->ar = ar;
}

/* SDM 3A "Processor State After Reset" (Table "IA-32 and Intel 64 Processor
 * States Following Power-up, Reset, or INIT"). */
void cpu_power_on_reset(struct cpu *c)
{
    memset(c->gpr, 0, sizeof c->gpr);
    uint32_t sig[4] = {0};
    if (c->model && c->model->nleaves)
        cpu_cpuid(c, 1, 0, sig);
    c->gpr[2] = sig[0] ? sig[0] : 0x00000600; /* EDX: family/model/stepping */
    c->rip = 0xfff0;
    c->rflags = FL_FIXED1;
    c->lf.op = LF_NONE;
    seg_set(&c->seg[SEG_CS], 0xf000, 0xffff0000ull, 0xffff, 0x9b);
    for (int s = 0; s < SEG_NSEGS; s++)
        if (s != SEG_CS)
            seg_set(&c->seg[s], 0, 0, 0xffff, 0x93);
    seg_set(&c->ldtr, 0, 0, 0xffff, 0x82);
    seg_set(&c->tr, 0, 0, 0xffff, 0x8b);
    c->gdtr = (struct dtr){0, 0xffff};
    c->idtr = (struct dtr){0, 0xffff};
    c->cr0 = CR0_ET | CR0_CD | CR0_NW;
    c->cr2 = c->cr3 = c->cr4 = c->cr8 = 0;
    c->efer = 0;
    c->xcr0 = 1;
    c->xss = 0;
    cpu_fpu_reset(c);
    memset(c->dr, 0, sizeof c->dr);
    c->dr[6] = 0xffff0ff0ull;
    c->dr[7] = 0x400;
    c->debugctl = 0;
    memset(&c->lbr, 0, sizeof c->lbr);
    c->bp.hits = 0;
    cpu_debug_regs_changed(c);
    c->star = c->lstar = c->cstar = c->sfmask = c->kernel_gs_base = c->tsc_aux = 0;
    c->apic_base = 0xfee00000ull | (1u << 11) | (1u << 8); /* enabled, BSP */
    c->pat = 0x0007040600070406ull;
    c->sysenter_cs = c->sysenter_esp = c->sysenter_eip = 0;
    c->misc_enable = 1; /* fast-strings enable */
    c->feature_control = 0;
    c->mtrr_def_type = 0;
    c->halted = false;
    c->nmi_pending = c->nmi_blocked = false;
    c->intr_shadow = 0;
    c->extint_pending = -1;
    c->delivering_vector = -1;
    c->end_block = false;
    c->stop = CPU_STOP_NONE;
    cpu_tlb_reset(c);
    cpu_update_mode(c);
}

void cpu_set_flat_protected(struct cpu *c)
{
    c->cr0 = CR0_PE | CR0_ET;
    c->cr4 = 0;
    c->efer = 0;
    seg_set(&c->seg[SEG_CS], 0x08, 0, 0xffffffffu, 0xc09b);
    for (int s = 0; s < SEG_NSEGS; s++)
        if (s != SEG_CS)
            seg_set(&c->seg[s], 0x10, 0, 0xffffffffu, 0xc093);
    c->rflags = FL_FIXED1;
    c->lf.op = LF_NONE;
    cpu_update_mode(c);
    cpu_tlb_flush(c);
}

/* A flat GDT at gdt_base (32 bytes): null, 64-bit code 0x08, data 0x10,
 * 32-bit code 0x18. */
void cpu_set_long_mode(struct cpu *c, uint64_t cr3, uint64_t gdt_base)
{
    static const uint64_t gdt[4] = {
        0, 0x00af9b000000ffffull, 0x00cf93000000ffffull, 0x00cf9b000000ffffull,
    };
    for (int i = 0; i < 4; i++)
        cpu_write_phys(c, gdt_base + 8 * i, 8, gdt[i]);
    c->gdtr = (struct dtr){gdt_base, sizeof gdt - 1};
    c->cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
    c->cr4 = CR4_PAE;
    c->cr3 = cr3;
    c->efer = EFER_LME | EFER_LMA;
    seg_set(&c->seg[SEG_CS], 0x08, 0, 0xffffffffu, 0xa09b);
    for (int s = 0; s < SEG_NSEGS; s++)
        if (s != SEG_CS)
            seg_set(&c->seg[s], 0x10, 0, 0xffffffffu, 0xc093);
    c->rflags = FL_FIXED1;
    c->lf.op = LF_NONE;
    cpu_update_mode(c);
    cpu_tlb_flush(c);
}

uint64_t cpu_tsc(const struct cpu *c) { return c->cycles + c->tsc_offset; }

void cpu_raise_extint(struct cpu *c, int vector) { c->extint_pending = vector; }
void cpu_raise_nmi(struct cpu *c) { c->nmi_pending = true; }

/* ---- faults ---------------------------------------------------------------- */

static _Noreturn void unwind(struct cpu *c)
{
    if (!c->fault_jmp_valid) {
        fprintf(stderr, "nvmx: internal error: exception %d raised outside cpu_run\n",
                c->fault_vector);
        abort();
    }
    __builtin_longjmp(c->fault_jmp, 1);
}

_Noreturn void cpu_fault(struct cpu *c, int vector)
{
    c->fault_vector = vector;
    c->fault_has_error = false;
    c->fault_error = 0;
    unwind(c);
}

_Noreturn void cpu_fault_err(struct cpu *c, int vector, uint32_t error_code)
{
    c->fault_vector = vector;
    c->fault_has_error = true;
    c->fault_error = error_code;
    unwind(c);
}

_Noreturn void cpu_fault_pf(struct cpu *c, uint64_t lin, uint32_t error_code)
{
    c->fault_cr2 = lin;
    cpu_fault_err(c, EXC_PF, error_code);
}

/* ---- the loop -------------------------------------------------------------- */

/* A fault unwound to the run loop: account the instructions of the block
 * that retired before it, then deliver (or combine into #DF / shutdown). */
static void handle_fault(struct cpu *c)
{
    const struct insn *in = c->cur_insn;
    if (in && in->nret > 1) {
        c->stats.insns += in->nret - 1u;
        c->cycles += in[-1].cum_cycles;
    }
    c->cur_insn = NULL;
    c->end_block = false;
    c->bp.hits = 0; /* the instruction did not complete: no trap follows it */

    int vec = c->fault_vector;
    bool has_err = c->fault_has_error;
    uint32_t err = c->fault_error;

    if (vec < 0) {
        /* A hook took a VM exit in the middle of an instruction: the host
         * state is loaded, nothing is delivered. */
        c->delivering_vector = -1;
        c->delivering.valid = false;
        return;
    }
    c->stats.exceptions++;
    c->cycles += c->cost->cycles[COST_exception];
    if (c->stop_on_exception) {
        c->last_exception = vec;
        c->last_error = err;
        c->last_has_error = has_err;
        c->delivering_vector = -1;
        c->delivering.valid = false;
        c->stop = CPU_STOP_EXCEPTION;
        return;
    }
    /* In VMX non-root operation the exception bitmap decides first; the
     * event being delivered, if any, becomes IDT-vectoring information. A
     * #PF that exits leaves CR2 alone (SDM 3C "VM Exits Caused by
     * Exceptions"). */
    if (c->vmx_nonroot && c->hooks->event(c, vec, EVT_HW_EXC, has_err, err))
        goto exited;
    if (vec == EXC_PF)
        c->cr2 = c->fault_cr2;
    if (vec == EXC_DB) {
        /* SDM 3B "Debug Status Register (DR6)", "Debug Control Register
         * (DR7)": the condition's bits; GD is cleared on entering the
         * handler of a general-detect #DB. */
        c->dr[6] = (c->dr[6] & ~DR6_B0_B3) | c->fault_dr6;
        if (c->fault_dr6 & DR6_BD)
            c->dr[7] &= ~DR7_GD;
        c->fault_dr6 = 0;
    }
    int first = c->delivering_vector;
    c->delivering_vector = -1;
    if (first >= 0) {
        /* SDM 3A "Interrupt 8 -- Double Fault Exception (#DF)" */
        int r = cpu_double_fault_result(first, vec);
        if (r == 2) {
            /* SDM 3C "Triple Fault": a VM exit in non-root operation */
            if (c->vmx_nonroot && c->hooks->event(c, -1, EVT_HW_EXC, false, 0))
                goto exited;
            c->stop = CPU_STOP_SHUTDOWN;
            return;
        }
        if (r == 1) {
            vec = EXC_DF;
            has_err = true;
            err = 0;
            if (c->vmx_nonroot && c->hooks->event(c, vec, EVT_HW_EXC, has_err, err))
                goto exited;
        }
    }
    c->delivering.valid = false;
    cpu_deliver_event(c, vec, EVT_HW_EXC, has_err, err, c->rip);
    return;
exited:
    c->delivering_vector = -1;
    c->delivering.valid = false;
}

/* The interrupt controller's view: a vector from the external line or the
 * local APIC, or -1. */
static int pending_extint(const struct cpu *c)
{
    if (c->extint_pending >= 0)
        return c->extint_pending;
    if (c->m && c->m->lapic && lapic_has_irr(c->m->lapic))
        return machine_intr_peek(c->m);
    return -1;
}

static void take_extint(struct cpu *c, int v)
{
    if (c->extint_pending >= 0)
        c->extint_pending = -1;
    else
        machine_intr_ack(c->m);
}

/* Between instructions: NMI, then maskable external interrupts (SDM 3A
 * "Priority Among Concurrent Events"). In non-root operation the hooks see
 * them first (NMI exiting, external-interrupt exiting). Returns true if
 * something was delivered or caused a VM exit. */
static bool deliver_pending(struct cpu *c)
{
    if (c->intr_shadow)
        return false;
    /* Wait-for-SIPI, and a guest's shutdown / wait-for-SIPI activity
     * state, hold NMIs and interrupts pending. */
    if (unlikely(c->halted) && cpu_events_held(c))
        return false;
    if (c->nmi_pending && !c->nmi_blocked) {
        c->nmi_pending = false;
        c->halted = false;
        if (c->vmx_nonroot && c->hooks->event(c, EXC_NMI, EVT_NMI, false, 0))
            return true;
        c->nmi_blocked = true;
        cpu_deliver_event(c, EXC_NMI, EVT_NMI, false, 0, c->rip);
        return true;
    }
    int v = pending_extint(c);
    if (v >= 0 && (c->rflags & FL_IF)) {
        c->halted = false;
        /* With external-interrupt exiting the hook exits before the
         * interrupt is acknowledged; it acknowledges itself when the
         * VM-exit control says so. */
        if (c->vmx_nonroot && c->hooks->event(c, v, EVT_EXTINT, false, 0))
            return true;
        take_extint(c, v);
        cpu_deliver_event(c, v, EVT_EXTINT, false, 0, c->rip);
        return true;
    }
    return false;
}

/* Devices that act on their own (the APIC timer) are brought up to date
 * with the modelled time. */
static inline void devices_catch_up(struct cpu *c)
{
    struct lapic *l = c->m ? c->m->lapic : NULL;
    if (l && c->cycles >= lapic_next_event(l))
        lapic_update(l, c->cycles);
}

static uint64_t next_device_event(const struct cpu *c)
{
    uint64_t t = UINT64_MAX;
    if (c->m && c->m->lapic)
        t = lapic_next_event(c->m->lapic);
    return t;
}

/* The reference contract around one instruction (see insn_exec in
 * cpu_internal.h): RIP and next RIP are made current, the handler runs, and
 * the block is left after a control transfer or a change of state. */
const struct insn *cpu_exec_generic(struct cpu *c, const struct insn *in)
{
    uint64_t rip = c->block_rip + in->off;
    c->cur_insn = in;
    if (!(in->flags & IF_PURE))
        c->recheck = true;
    c->rip = rip;
    c->next_rip = rip + in->len;
    in->handler(c, in);
    c->rip = c->next_rip;
    if (unlikely(c->end_block | (in->flags & IF_ENDS_BLOCK))) {
        c->recheck |= c->end_block;
        c->end_block = false;
        return in;
    }
    CPU_NEXT(c, in);
}

const struct insn *cpu_exec_block_end(struct cpu *c, const struct insn *in)
{
    c->rip = c->block_rip + in->off;
    return in;
}

/* Execute b: its instructions run one into the next, the last returns. */
static inline void run_block(struct cpu *c, const struct block *b)
{
    c->block_rip = c->rip;
    const struct insn *last = b->insns[0].exec(c, b->insns);
    c->stats.insns += last->nret;
    c->cycles += last->cum_cycles;
    c->cur_insn = NULL;
}

/* Execute at most max instructions of b: a copy cut after max, with its
 * own end marker, runs instead. */
static void run_block_max(struct cpu *c, const struct block *b, unsigned max)
{
    if (max >= b->n) {
        run_block(c, b);
        return;
    }
    struct block *t = (struct block *)c->bc->cut;
    memcpy(t, b, sizeof *b + max * sizeof(struct insn));
    t->n = (uint16_t)max;
    cpu_unfuse(&t->insns[max - 1]); /* its partner is cut off */
    struct insn *end = &t->insns[max];
    memset(end, 0, sizeof *end);
    end->exec = cpu_exec_block_end;
    end->handler = op_ud;
    end->off = b->insns[max].off;
    end->nret = (uint8_t)max;
    end->cum_cycles = b->insns[max - 1].cum_cycles;
    run_block(c, t);
}

/* Anything that needs the careful path between blocks: stops, limits,
 * pending events, device time, VMX non-root checks, single-stepping. */
static inline bool needs_attention(const struct cpu *c, const struct lapic *l, uint64_t limit)
{
    /* VMX non-root operation runs here too, but not while it single-steps
     * (MTF); trace_insns never enters the hot loop. */
    return c->halted | c->nmi_pending | (c->intr_shadow != 0) | ((c->bp.insn | c->bp.hits | (c->debugctl & DEBUGCTL_LBR)) != 0) |
           (c->vmx_nonroot & c->nr.single_step) | (c->stop != CPU_STOP_NONE) | c->m->stop |
           (c->stats.insns + BLOCK_MAX_INSNS > limit) | (c->extint_pending >= 0) |
           ((c->rflags & (FL_TF | FL_RF)) != 0) ||
           (l && (lapic_has_irr(l) || c->cycles >= lapic_next_event(l)));
}

/* The hot loop: whole blocks, nothing else, until something needs the
 * careful path. Blocks follow each other through their links while nothing
 * needs_attention() looks at, nor the code-translation state, can have
 * changed: specialised handlers touch only GPRs, flags and RAM and never
 * fault, and the reference handlers of IF_PURE instructions do no more,
 * apart from MMIO and code-page writes, which set c->recheck themselves.
 * Time and the instruction count are checked after every block. Faults
 * unwind out of it to cpu_run.
 *
 * In VMX non-root operation the VMX hooks are asked for between-instruction
 * VM exits first (hooks->pending: when needs_attention() is false, the only
 * step of the careful path that could act). Of what they look at, only the
 * VMX-preemption timer can change without c->recheck (MTF single-steps and
 * never gets here; the NMI and interrupt windows and NMI blocking move only
 * with instructions that are not pure; events arrive through MMIO or the
 * APIC timer): its expiry (hooks->next_event) bounds the inner loop, and
 * control goes back to cpu_run after it. */
static __attribute__((noinline)) void run_fast(struct cpu *c, uint64_t limit)
{
    const struct lapic *l = c->m->lapic;
    while (!needs_attention(c, l, limit)) {
        uint64_t deadline = l ? lapic_next_event(l) : UINT64_MAX;
        bool nonroot = c->vmx_nonroot;
        if (nonroot) {
            if (c->hooks->pending(c) || c->nr.single_step)
                return;
            uint64_t t = c->hooks->next_event ? c->hooks->next_event(c) : UINT64_MAX;
            deadline = t < deadline ? t : deadline;
        }
        uint64_t last_start = limit - BLOCK_MAX_INSNS; /* needs_attention() checked */
        c->recheck = false;
        uint64_t key = link_key(c);
        const struct block *b = block_lookup(c);
        for (;;) {
            run_block(c, b);
            if (unlikely(c->recheck | (c->cycles >= deadline) |
                         (c->stats.insns > last_start)))
                break;
            b = block_next(c, b, key);
        }
        if (nonroot)
            return;
    }
}

static void trace_one(struct cpu *c, const struct block *b)
{
    cpu_trace_insn(c, &b->insns[0]);
}

/* SDM 3B "Single-Stepping on Branches": with IA32_DEBUGCTL.BTF the
 * single-step trap follows only a branch that was taken. nvmx counts a
 * branch-class instruction (near and far JMP, Jcc, LOOP, JrCXZ, CALL, RET,
 * INT n, IRET, SYSCALL/SYSENTER and their returns) as taken when it did not
 * fall through to the next instruction (a jump to the next instruction
 * counts as not taken). */
/* SDM 3B "Debug Exceptions": a trap-class #DB after the instruction (single
 * step, data and I/O breakpoints) with DR6 bits bits. In non-root
 * operation the hook sees it first (exception bitmap, or an MTF VM exit
 * that leaves it pending); a #DB that exits leaves DR6 alone (SDM 3C "Exit
 * Qualification for Debug Exceptions"). B0-B3 are replaced, the other DR6
 * bits are never cleared by the processor ("Debug Status Register"). */
static void deliver_db_trap(struct cpu *c, uint64_t bits)
{
    c->fault_dr6 = bits;
    if (c->vmx_nonroot && c->hooks->event(c, EXC_DB, EVT_HW_EXC, false, 0)) {
        c->fault_dr6 = 0;
        return;
    }
    c->dr[6] = (c->dr[6] & ~DR6_B0_B3) | bits;
    c->fault_dr6 = 0;
    cpu_deliver_event(c, EXC_DB, EVT_HW_EXC, false, 0, c->rip);
}

/* SDM 3B "Instruction-Breakpoint Exception Condition": a fault before the
 * instruction at an armed DRn executes, unless RFLAGS.RF = 1; it ranks
 * above the faults of fetching the instruction (SDM 3A "Priority Among
 * Concurrent Events"). The handler sees RF as it was (clear): the
 * processor does not set RF in the saved image for this fault. */
static __attribute__((noinline)) void check_insn_breakpoint(struct cpu *c)
{
    uint64_t bits = bp_insn_at(c, cpu_insn_linear(c, c->rip));
    if (bits) {
        c->fault_dr6 = bits;
        cpu_fault(c, EXC_DB);
    }
}

/* How many of b's first max instructions run before one with an armed
 * instruction breakpoint (the first one has been checked). */
static unsigned insns_before_breakpoint(const struct cpu *c, const struct block *b, unsigned max)
{
    unsigned n = b->n < max ? b->n : max;
    for (unsigned i = 1; i < n; i++)
        if (bp_insn_at(c, cpu_insn_linear(c, c->rip + b->insns[i].off)))
            return i;
    return max;
}

static bool branch_taken(const struct insn *in, uint64_t rip_after, uint64_t fallthrough)
{
    switch (in->cost_class) {
    case COST_branch:
    case COST_call_ret:
    case COST_far_branch:
    case COST_interrupt:
    case COST_iret:
    case COST_syscall: return rip_after != fallthrough;
    default: return false;
    }
}

enum cpu_stop cpu_run(struct cpu *c, uint64_t max_insns)
{
    /* Locals live across the longjmp: keep them in c or volatile. */
    volatile uint64_t limit = max_insns ? c->stats.insns + max_insns : UINT64_MAX;
    c->stop = CPU_STOP_NONE;
    c->fault_jmp_valid = true;
    if (__builtin_setjmp(c->fault_jmp))
        handle_fault(c); /* a fault raised in here unwinds to the same point */

    while (c->stop == CPU_STOP_NONE) {
        if (unlikely(c->m && c->m->stop)) {
            c->stop = CPU_STOP_MACHINE;
            break;
        }
        if (unlikely(c->stats.insns >= limit)) {
            c->stop = CPU_STOP_INSN_LIMIT;
            break;
        }
        devices_catch_up(c);
        /* INIT and SIPI rank above MTF and the other between-instruction
         * events (SDM 3A "Priority Among Concurrent Events"). */
        if (unlikely(c->m && c->m->lapic && lapic_signal_pending(c->m->lapic)) &&
            cpu_take_signals(c))
            continue;
        /* Non-root: MTF, the preemption timer and the windows rank above
         * NMIs and external interrupts (SDM 3C "VM Exits Caused by Events",
         * SDM 3A "Priority Among Concurrent Events"). */
        /* Debug traps of the previous instruction rank above the
         * between-instruction VM exits (an MTF VM exit takes them as
         * pending debug exceptions, nonroot_events.c) and NMIs; MOV SS and
         * POP SS hold them over the next instruction (SDM 3A "Masking
         * Exceptions and Interrupts When Switching Stacks"). */
        if (unlikely(c->bp.hits) && !(c->intr_shadow & 2)) {
            uint64_t bits = c->bp.hits;
            c->bp.hits = 0;
            deliver_db_trap(c, bits);
            continue;
        }
        if (unlikely(c->vmx_nonroot) && c->hooks->pending(c))
            continue;
        if (unlikely(c->nmi_pending || pending_extint(c) >= 0))
            if (deliver_pending(c))
                continue;
        if (unlikely(c->halted)) {
            /* HLT: time passes until the next device event; with none, no
             * event can ever wake the CPU. */
            uint64_t t = next_device_event(c);
            if (c->vmx_nonroot && c->hooks->next_event) {
                uint64_t v = c->hooks->next_event(c);
                t = v < t ? v : t;
            } else if (!(c->rflags & FL_IF)) {
                t = UINT64_MAX; /* only an NMI could wake it, and none is coming */
            }
            if (t == UINT64_MAX) {
                c->stop = CPU_STOP_HLT_FOREVER;
                break;
            }
            if (t > c->cycles)
                c->cycles = t;
            continue;
        }
        if (unlikely(c->bp.insn) && !(c->rflags & FL_RF))
            check_insn_breakpoint(c);
        const struct block *b = block_lookup(c);
        uint64_t left = limit - c->stats.insns;
        unsigned max = left < BLOCK_MAX_INSNS ? (unsigned)left : BLOCK_MAX_INSNS;
        if (unlikely(c->bp.insn))
            max = insns_before_breakpoint(c, b, max);
        bool single = c->intr_shadow || (c->rflags & (FL_TF | FL_RF)) || c->trace_insns ||
                      c->nr.single_step || (c->debugctl & DEBUGCTL_LBR);
        if (unlikely(single)) {
            bool tf = (c->rflags & FL_TF) != 0;
            uint8_t shadow = c->intr_shadow;
            if (c->trace_insns)
                trace_one(c, b);
            bool rf = (c->rflags & FL_RF) != 0;
            bool nonroot = c->vmx_nonroot;
            uint64_t fallthrough = c->rip + b->insns[0].len;
            uint64_t from = cpu_insn_linear(c, c->rip);
            run_block_max(c, b, 1);
            /* Taken branches go to the LBR stack; INT n and the other
             * events are recorded by their delivery (except.c). */
            if (unlikely(c->debugctl & DEBUGCTL_LBR) && c->vmx_nonroot == nonroot &&
                b->insns[0].cost_class != COST_interrupt &&
                branch_taken(&b->insns[0], c->rip, fallthrough))
                lbr_record(c, from, cpu_insn_linear(c, c->rip), lbr_kind(&b->insns[0]));
            if (tf && (c->debugctl & DEBUGCTL_BTF))
                tf = branch_taken(&b->insns[0], c->rip, fallthrough);
            if (shadow && c->intr_shadow == shadow)
                c->intr_shadow = 0;
            /* SDM 3A "EFLAGS Register": RF is cleared when an instruction
             * completes, except by IRET, which loads it. */
            if (rf && b->insns[0].handler != op_iret)
                c->rflags &= ~FL_RF;
            /* SDM 3A "Single-Step Exception Condition": a trap after the
             * instruction, DR6.BS set, with any data or I/O breakpoint
             * hits of the same instruction. A VM entry or exit by the
             * instruction ends the single step. After MOV SS / POP SS
             * the traps wait for the next instruction (SDM 3A "Masking
             * Exceptions and Interrupts When Switching Stacks"). */
            if (c->stop != CPU_STOP_NONE || c->vmx_nonroot != nonroot) {
                c->bp.hits = 0;
                continue;
            }
            uint64_t bits = c->bp.hits | (tf ? DR6_BS : 0);
            c->bp.hits = 0;
            if (bits && c->intr_shadow == 2 && shadow != 2)
                c->bp.hits = bits;
            else if (bits)
                deliver_db_trap(c, bits);
            continue;
        }
        run_block_max(c, b, max);
        if (c->m && !c->trace_insns)
            run_fast(c, limit);
    }
    c->fault_jmp_valid = false;
    return c->stop;
}
