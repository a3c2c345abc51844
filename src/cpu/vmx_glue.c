/* The CPU's side of VMX: decoding VMX instructions for src/vmx, the
 * VM-exit instruction-information encodings, the non-root intercept call
 * that handlers make, and the services src/vmx uses while the CPU runs. */
#include "cpu_internal.h"
#include "paging.h"

#include "nvmx/cpu_hooks.h"
#include "nvmx/lapic.h"
#include "nvmx/vmx_arch.h"

/* ---- VM-exit instruction information ---------------------------------------- */

/* SDM 3C "VM-Exit Instruction-Information Field": the memory-operand part
 * shared by every format: scaling 1:0, address size 9:7, segment 17:15, index
 * 21:18 (+ invalid 22), base 26:23 (+ invalid 27). Register operands set
 * bit 10 and name the register in bits 6:3. */
uint32_t cpu_insn_info(const struct insn *in)
{
    if (in->mod == 3)
        return (1u << 10) | ((uint32_t)(in->rm & 15) << 3) | ((in->addrsize == 8 ? 2u : in->addrsize == 4 ? 1u : 0u) << 7);
    uint32_t info = 0;
    info |= in->index != REG_NONE ? (in->scale & 3u) : 0;
    info |= (in->addrsize == 8 ? 2u : in->addrsize == 4 ? 1u : 0u) << 7;
    info |= (uint32_t)(in->seg & 7) << 15;
    if (in->index != REG_NONE)
        info |= (uint32_t)(in->index & 15) << 18;
    else
        info |= 1u << 22;
    if (in->base != REG_NONE && in->base != REG_RIP)
        info |= (uint32_t)(in->base & 15) << 23;
    else
        info |= 1u << 27;
    return info;
}

/* Exit qualification for instructions with a memory operand: the
 * displacement, sign-extended (SDM 3C "Exit Qualification for VMX
 * Instructions", also used for descriptor-table and INVPCID exits). With
 * RIP-relative addressing it is the sum of the displacement and the RIP of
 * the next instruction (SDM 3C "Basic VM-Exit Information"). */
uint64_t cpu_insn_displacement(const struct cpu *c, const struct insn *in)
{
    if (in->mod == 3)
        return 0;
    if (in->base == REG_RIP)
        return ((uint64_t)(int64_t)(int32_t)in->disp + c->rip + in->len) & size_mask(in->addrsize);
    if (in->addrsize == 2)
        return (uint64_t)(int64_t)(int16_t)in->disp;
    return (uint64_t)(int64_t)(int32_t)in->disp;
}

/* ---- VMX instruction handlers ----------------------------------------------- */

static void vmx_insn(struct cpu *c, const struct insn *in, enum cpu_vmx_op op)
{
    /* Without VMX (a CPU model that does not advertise it) every VMX
     * instruction is #UD (SDM 3C "Discovering Support for VMX"). */
    if (!c->hooks)
        cpu_fault(c, EXC_UD);
    struct cpu_vmx_insn vi = {
        .op = op,
        .len = in->len,
        .mem = in->mod != 3,
        .seg = in->seg,
        .offset = in->mod != 3 ? insn_ea(c, in) : 0,
        .rm_reg = in->rm,
        .reg = in->reg,
        .opsize = cpu_is_64(c) ? 8 : 4,
        .addrsize = in->addrsize,
        .insn_info = cpu_insn_info(in),
        .qual = cpu_insn_displacement(c, in),
    };
    if (op == VMXOP_VMREAD || op == VMXOP_VMWRITE || op == VMXOP_INVEPT || op == VMXOP_INVVPID)
        vi.insn_info |= (uint32_t)(in->reg & 15) << 28;
    if (op == VMXOP_VMLAUNCH || op == VMXOP_VMRESUME || op == VMXOP_VMXOFF ||
        op == VMXOP_VMCALL || op == VMXOP_VMFUNC)
        vi.insn_info = 0;
    c->hooks->vmx_insn(c, &vi);
}

#define VMX_HANDLER(name, OP)                                                              \
    void op_##name(struct cpu *c, const struct insn *in);                                 \
    void op_##name(struct cpu *c, const struct insn *in) { vmx_insn(c, in, OP); }

VMX_HANDLER(vmxon, VMXOP_VMXON)
VMX_HANDLER(vmxoff, VMXOP_VMXOFF)
VMX_HANDLER(vmclear, VMXOP_VMCLEAR)
VMX_HANDLER(vmptrld, VMXOP_VMPTRLD)
VMX_HANDLER(vmptrst, VMXOP_VMPTRST)
VMX_HANDLER(vmread, VMXOP_VMREAD)
VMX_HANDLER(vmwrite, VMXOP_VMWRITE)
VMX_HANDLER(vmlaunch, VMXOP_VMLAUNCH)
VMX_HANDLER(vmresume, VMXOP_VMRESUME)
VMX_HANDLER(vmcall, VMXOP_VMCALL)
VMX_HANDLER(invept, VMXOP_INVEPT)
VMX_HANDLER(invvpid, VMXOP_INVVPID)
VMX_HANDLER(vmfunc, VMXOP_VMFUNC)

/* ---- non-root intercepts ------------------------------------------------------ */

void cpu_intercept_slow(struct cpu *c, const struct cpu_intercept *q)
{
    if (c->hooks->intercept(c, q))
        cpu_vmexit_unwind(c);
}

/* ---- services for src/vmx ------------------------------------------------------ */

_Noreturn void cpu_vmexit_unwind(struct cpu *c)
{
    c->fault_vector = -1; /* the run loop delivers nothing */
    c->fault_has_error = false;
    c->fault_error = 0;
    if (!c->fault_jmp_valid)
        cpu_fault(c, -1); /* reports the internal error */
    __builtin_longjmp(c->fault_jmp, 1);
}

_Noreturn void cpu_raise(struct cpu *c, int vector, bool has_err, uint32_t err)
{
    if (has_err)
        cpu_fault_err(c, vector, err);
    cpu_fault(c, vector);
}

uint64_t cpu_mem_read(struct cpu *c, int seg, uint64_t off, unsigned size)
{
    return cpu_read(c, seg, off, size);
}

void cpu_mem_write(struct cpu *c, int seg, uint64_t off, unsigned size, uint64_t val)
{
    cpu_write(c, seg, off, size, val);
}

uint64_t cpu_phys_read(struct cpu *c, uint64_t pa, unsigned size)
{
    return cpu_read_phys(c, pa, size);
}

void cpu_phys_write(struct cpu *c, uint64_t pa, unsigned size, uint64_t val)
{
    cpu_write_phys(c, pa, size, val);
}

void cpu_mode_changed(struct cpu *c)
{
    cpu_update_mode(c);
    cpu_tlb_flush(c);
    c->end_block = true;
}

void cpu_mode_reloaded(struct cpu *c)
{
    cpu_update_mode(c);
    c->tlb_gen++; /* linear addresses may mean other code now */
    c->end_block = true;
}

bool paging_load_pdptes(struct cpu *c);
bool cpu_load_pdptes(struct cpu *c) { return paging_load_pdptes(c); }

void cpu_inject_event(struct cpu *c, int vector, enum cpu_event_type type, bool has_err,
                      uint32_t err, uint64_t return_rip)
{
    cpu_deliver_event(c, vector, type, has_err, err, return_rip);
}

bool cpu_has_feature(const struct cpu *c, uint32_t leaf, unsigned reg, unsigned bit)
{
    return cpu_cpuid_feature(c, leaf, reg, bit);
}

bool cpu_delivering_event(const struct cpu *c, int *vector, enum cpu_event_type *type,
                          bool *has_err, uint32_t *err)
{
    if (!c->delivering.valid)
        return false;
    *vector = c->delivering.vector;
    *type = (enum cpu_event_type)c->delivering.type;
    *has_err = c->delivering.has_err;
    *err = c->delivering.err;
    return true;
}

/* The interrupt controller's view, as the run loop takes an interrupt: the
 * CPU's INTR line first, then the local APIC (moves the vector to ISR). */
int cpu_ack_extint(struct cpu *c)
{
    int v = c->extint_pending;
    if (v >= 0) {
        c->extint_pending = -1;
        return v;
    }
    if (!c->m || !c->m->lapic)
        return -1;
    return machine_intr_ack(c->m);
}

int cpu_peek_extint(const struct cpu *c)
{
    if (c->extint_pending >= 0)
        return c->extint_pending;
    if (!c->m || !c->m->lapic)
        return -1;
    return machine_intr_peek(c->m);
}

unsigned cpu_fetch_bytes(struct cpu *c, uint64_t rip, uint8_t *buf, unsigned n)
{
    uint64_t lin = c->seg[SEG_CS].base + rip;
    unsigned done = 0;
    while (done < n) {
        uint64_t a = lin + done;
        if (!cpu_long_active(c))
            a &= 0xffffffffull;
        unsigned k = 4096 - (unsigned)(a & 4095);
        if (k > n - done)
            k = n - done;
        /* The software TLB's execute entry, when it has one, is how the CPU
         * fetched these bytes; looking at it changes nothing (no walk, no
         * accessed flag, no modelled TLB, no cycles). */
        const struct tlb_entry *e = &c->tlb_x[c->cpl == 3][(a >> 12) & (TLB_SIZE - 1)];
        if (e->tag == (a >> 12) + 1) {
            memcpy(buf + done, (const uint8_t *)(uintptr_t)(a + (uint64_t)e->addend), k);
            done += k;
            continue;
        }
        uint64_t pa = a;
        bool tlb_ok;
        if ((c->cr0 & CR0_PG) && !paging_translate(c, a, ACC_X | ACC_PEEK, &pa, &tlb_ok))
            break;
        if (!(c->cr0 & CR0_PG) && cpu_ept_active(c) &&
            !cpu_ept_translate_unpaged(c, a, ACC_X | ACC_PEEK, &pa))
            break;
        /* one translation per page: the bytes up to its end follow pa */
        /* a device's registers are not read: a read may change them */
        const uint8_t *ram = c->m ? machine_ram_ptr(c->m, pa, k) : NULL;
        if (!ram)
            break;
        memcpy(buf + done, ram, k);
        done += k;
    }
    return done;
}

void op_iret(struct cpu *c, const struct insn *in);

bool cpu_insn_is_iret(struct cpu *c, uint64_t rip)
{
    uint8_t bytes[15];
    struct insn in;
    unsigned n = cpu_fetch_bytes(c, rip, bytes, sizeof bytes);
    return n && cpu_decode_bytes(bytes, n, c->code_size, &in) && in.handler == op_iret;
}

bool cpu_msr_read(struct cpu *c, uint32_t msr, uint64_t *val) { return cpu_rdmsr(c, msr, val); }
bool cpu_msr_write(struct cpu *c, uint32_t msr, uint64_t val) { return cpu_wrmsr(c, msr, val); }

/* ---- INIT and SIPI ----------------------------------------------------------- */

/* SDM 3A "Processor State After Reset", Table "IA-32 and Intel 64 Processor
 * States Following Power-up, Reset, or INIT", INIT column: the power-up
 * state, except that CR0.CD/NW, x87/SSE state (XCR0), the TSC, MTRRs and
 * the other MSRs are unchanged. nvmx also clears IA32_EFER (its long-mode
 * bits cannot stay with CR0.PG = 0). The local APIC is INIT-reset and the
 * processor waits for a SIPI. */
static void processor_init(struct cpu *c, struct lapic *l)
{
    uint64_t cd_nw = c->cr0 & (CR0_CD | CR0_NW);
    uint64_t xcr0 = c->xcr0, xss = c->xss, feature_control = c->feature_control;
    uint64_t msrs[] = { c->star, c->lstar, c->cstar, c->sfmask, c->kernel_gs_base,
                        c->tsc_aux, c->apic_base, c->pat, c->sysenter_cs, c->sysenter_esp,
                        c->sysenter_eip, c->misc_enable, c->tsc_offset, c->mtrr_def_type };

    cpu_power_on_reset(c);
    c->cr0 = (c->cr0 & ~(CR0_CD | CR0_NW)) | cd_nw;
    c->xcr0 = xcr0;
    c->xss = xss;
    c->feature_control = feature_control;
    c->star = msrs[0], c->lstar = msrs[1], c->cstar = msrs[2], c->sfmask = msrs[3];
    c->kernel_gs_base = msrs[4], c->tsc_aux = msrs[5], c->apic_base = msrs[6];
    c->pat = msrs[7], c->sysenter_cs = msrs[8], c->sysenter_esp = msrs[9];
    c->sysenter_eip = msrs[10], c->misc_enable = msrs[11], c->tsc_offset = msrs[12];
    c->mtrr_def_type = msrs[13];
    lapic_init_reset(l);
    c->halted = true; /* wait-for-SIPI: only a SIPI wakes it */
}

/* SDM 3A "MP Initialization Protocol Algorithm for MP Systems": a SIPI with
 * vector VV starts the processor in real mode at 000VV000H (CS selector
 * VV00H, base VV000H, IP 0). */
static void sipi_start(struct cpu *c, struct lapic *l, uint8_t vector)
{
    l->wait_for_sipi = false;
    c->halted = false;
    c->seg[SEG_CS].sel = (uint16_t)(vector << 8);
    c->seg[SEG_CS].base = (uint64_t)vector << 12;
    c->seg[SEG_CS].limit = 0xffff;
    c->seg[SEG_CS].ar = 0x9b;
    c->rip = c->next_rip = 0;
    cpu_update_mode(c);
}

bool cpu_take_signals(struct cpu *c)
{
    struct lapic *l = c->m ? c->m->lapic : NULL;
    bool changed = false;

    if (!l || !lapic_signal_pending(l))
        return false;
    /* INIT first: an INIT and a SIPI sent back to back start the processor */
    if (l->init_pending) {
        enum cpu_signal_action a = CPU_SIGNAL_NATIVE;
        if (c->hooks && c->hooks->signal)
            a = c->hooks->signal(c, CPU_SIGNAL_INIT, 0);
        if (a != CPU_SIGNAL_BLOCKED) {
            l->init_pending = false;
            if (a == CPU_SIGNAL_NATIVE)
                processor_init(c, l);
            changed = true;
        }
    }
    if (l->sipi_pending) {
        uint8_t vector = l->sipi_vector;
        enum cpu_signal_action a = CPU_SIGNAL_NATIVE;
        l->sipi_pending = false;
        if (c->hooks && c->hooks->signal)
            a = c->hooks->signal(c, CPU_SIGNAL_SIPI, vector);
        if (a == CPU_SIGNAL_NATIVE && l->wait_for_sipi) {
            sipi_start(c, l, vector);
            changed = true;
        }
        changed |= a == CPU_SIGNAL_TAKEN;
    }
    lapic_signals_taken(l);
    return changed;
}

bool cpu_events_held(const struct cpu *c)
{
    if (c->m && c->m->lapic && c->m->lapic->wait_for_sipi)
        return true;
    return c->vmx_nonroot && c->hooks->inactive && c->hooks->inactive(c);
}

uint8_t *cpu_phys_ram(struct cpu *c, uint64_t pa, uint64_t len)
{
    return machine_ram_ptr(c->m, pa, len);
}

void cpu_phys_ram_written(struct cpu *c, uint64_t pa, uint64_t len)
{
    if (!len)
        return;
    for (uint64_t pfn = pa >> 12; pfn <= (pa + len - 1) >> 12; pfn++)
        if (block_page_has_code(c, pfn)) {
            block_invalidate_page(c, pfn);
            c->end_block = true;
        }
}

/* A host written in C (src/nested) reads and writes its guest's memory
 * operands as the guest's instruction would: the linear address through
 * the guest's paging at its CPL, without raising anything. */
bool cpu_lin_to_phys(struct cpu *c, uint64_t lin, bool write, uint64_t *pa, uint32_t *pfec)
{
    struct paging_walk_result r;
    if (paging_mode(c) == PAGING_NONE) {
        *pa = lin & 0xffffffffull;
        return true;
    }
    if (!paging_walk(c, lin, write ? ACC_W : ACC_R, &r)) {
        *pfec = r.error_code;
        return false;
    }
    *pa = r.pa;
    return true;
}

/* The same for a guest whose own hypervisor gives it EPT (eptp, caps):
 * the paging structures and the result are guest-physical and go through
 * those EPT paging structures, as in VMX non-root operation (SDM 3C
 * "Guest-Physical Addresses"). A look, as the host's software walk is:
 * nothing is charged, cached or flagged. *ept_failed says the EPT walk
 * failed (the hardware would have taken an EPT violation or
 * misconfiguration). */
bool cpu_lin_to_phys_ept(struct cpu *c, uint64_t lin, bool write, const struct ept_caps *caps,
                         uint64_t eptp, uint64_t *pa, uint32_t *pfec, bool *ept_failed)
{
    struct cpu_nonroot keep = c->nr;
    bool nonroot = c->vmx_nonroot;
    c->vmx_nonroot = true;
    c->nr.ept = true;
    c->nr.eptp = eptp;
    c->nr.ept_caps = *caps;
    struct paging_walk_result r;
    struct ept_access a = { .type = write ? EPT_ACCESS_WRITE : EPT_ACCESS_READ };
    bool ok = paging_walk(c, lin, (write ? ACC_W : ACC_R) | ACC_PEEK, &r);
    *ept_failed = !ok && r.ept_abort;
    if (ok && !cpu_ept_peek(c, r.pa, &a, pa)) {
        *ept_failed = true;
        ok = false;
    }
    if (!ok && !*ept_failed)
        *pfec = r.error_code;
    c->nr = keep;
    c->vmx_nonroot = nonroot;
    return ok;
}
