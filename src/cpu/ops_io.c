/* Port I/O: IN, OUT, INS, OUTS and the protected-mode I/O permission check
 * (SDM 1 "I/O Privilege Level", "I/O Permission Bit Map"; SDM 2A "IN",
 * "INS/INSB/INSW/INSD", SDM 2B "OUT", "OUTS/OUTSB/OUTSW/OUTSD"). Ports go to
 * machine_io_in/machine_io_out. Virtual-8086 mode is not supported. */
#include "breakpoint.h"
#include "opcodes_gen.h"

#include "nvmx/cpu_hooks.h"
#include "nvmx/vmx_arch.h"

/* TSS offset of the 16-bit I/O map base (SDM 3A "32-Bit Task-State Segment",
 * "Task-State Segment in 64-bit Mode": same offset in both). */
#define TSS_IOMAP_BASE 102
/* REP INS/OUTS iterations per handler run; the rest resumes by re-executing
 * the instruction (RCX/RSI/RDI carry the progress, as after an interrupt). */
#define IO_REP_CHUNK 4096

/* SDM 1 "I/O Permission Bit Map": with CR0.PE = 1 and CPL > IOPL every bit
 * covering [port, port + size) must be 0 in the TSS bitmap. The processor
 * reads two bytes of the map; both must lie within the TSS limit. A TR that
 * is not a 32/64-bit TSS gives #GP(0) as well. */
static void io_check(struct cpu *c, uint16_t port, unsigned size)
{
    unsigned iopl = (unsigned)((c->rflags & FL_IOPL) >> FL_IOPL_SHIFT);

    if (!(c->cr0 & CR0_PE) || (c->mode != MODE_V86 && c->cpl <= iopl))
        return;

    const struct seg_reg *tr = &c->tr;
    unsigned type = tr->ar & AR_TYPE_MASK;
    if ((tr->ar & AR_UNUSABLE) || (type != 0x9 && type != 0xb) || tr->limit < TSS_IOMAP_BASE + 1)
        cpu_fault_err(c, EXC_GP, 0);
    uint64_t base_mask = cpu_long_active(c) ? ~0ull : 0xffffffffull;
    uint32_t map = (uint32_t)cpu_read_lin(c, (tr->base + TSS_IOMAP_BASE) & base_mask, 2, ACC_SYS);
    uint64_t off = (uint64_t)map + port / 8;
    if (off + 1 > tr->limit)
        cpu_fault_err(c, EXC_GP, 0);
    uint32_t bits = (uint32_t)cpu_read_lin(c, (tr->base + off) & base_mask, 2, ACC_SYS);
    if ((bits >> (port & 7)) & ((1u << size) - 1))
        cpu_fault_err(c, EXC_GP, 0);
}

/* Data size of a row: byte forms are 1; the others are 2 or 4 (REX.W does
 * not make port I/O 64-bit). */
static unsigned io_size(const struct insn *in)
{
    return (in->opcode & 1) ? (in->opsize >= 4 ? 4 : 2) : 1;
}

static uint16_t io_port(const struct cpu *c, const struct insn *in)
{
    /* E4-E7 carry the port as imm8; EC-EF and 6C-6F use DX */
    return (in->opcode & 0x08) ? (uint16_t)c->gpr[2] : (uint16_t)(in->imm & 0xff);
}

/* In VMX non-root operation, after the I/O permission check (which has
 * priority over the VM exit, SDM 3C "Relative Priority of Faults and VM
 * Exits"): SDM 3C "Exit Qualification for I/O Instructions": size - 1 in
 * bits 2:0, IN in bit 3, string in 4, REP in 5, immediate operand in 6,
 * the port in 31:16. String forms also give the guest-linear address of
 * the memory operand and, in the instruction information, the address size
 * (9:7) and the segment (17:15; DS-relative OUTS may use an override). */
static void io_intercept(struct cpu *c, const struct insn *in, uint16_t port, unsigned size,
                         bool is_in, bool string)
{
    if (likely(!c->vmx_nonroot))
        return;
    bool rep = string && (in->pfx & (PFX_REP | PFX_REPNE));
    uint64_t qual = (uint64_t)(size - 1) | ((uint64_t)is_in << 3) | ((uint64_t)string << 4) |
                    ((uint64_t)rep << 5) | ((uint64_t)!(in->opcode & 0x08) << 6) |
                    ((uint64_t)port << 16);
    struct cpu_intercept q = {
        .reason = VMX_EXIT_io_instruction, .insn_len = in->len, .qual = qual,
        .port = port, .io_size = (uint8_t)size, .write = !is_in,
    };
    if (string) {
        int seg = is_in ? SEG_ES : in->seg;
        uint64_t off = c->gpr[is_in ? 7 : 6] & size_mask(in->addrsize);
        unsigned asz = in->addrsize == 8 ? 2 : in->addrsize == 4 ? 1 : 0;
        q.insn_info = (asz << 7) | ((uint32_t)seg << 15);
        q.has_linear = true;
        q.guest_linear = c->seg[seg].base + off;
        if (!cpu_is_64(c))
            q.guest_linear &= 0xffffffffull;
    }
    cpu_intercept(c, &q);
}

/* IN AL/eAX, imm8 / DX (E4, E5, EC, ED) */
void op_in(struct cpu *c, const struct insn *in)
{
    unsigned size = io_size(in);
    uint16_t port = io_port(c, in);

    io_check(c, port, size);
    io_intercept(c, in, port, size, true, false);
    uint32_t v = machine_io_in(c->m, port, size);
    reg_write(c, 0, size, false, v);
    if (unlikely(c->bp.io))
        bp_io_access(c, port, size);
    c->end_block = true;
}

/* OUT imm8 / DX, AL/eAX (E6, E7, EE, EF) */
void op_out(struct cpu *c, const struct insn *in)
{
    unsigned size = io_size(in);
    uint16_t port = io_port(c, in);

    io_check(c, port, size);
    io_intercept(c, in, port, size, false, false);
    machine_io_out(c->m, port, size, (uint32_t)reg_read(c, 0, size, false));
    if (unlikely(c->bp.io))
        bp_io_access(c, port, size);
    c->end_block = true;
}

/* Address-size view of rSI/rDI/rCX for string forms. */
static uint64_t str_reg(const struct cpu *c, const struct insn *in, unsigned r)
{
    return c->gpr[r] & size_mask(in->addrsize);
}

static void str_set(struct cpu *c, const struct insn *in, unsigned r, uint64_t v)
{
    uint64_t m = size_mask(in->addrsize);
    /* a 32-bit address size zero-extends into the full register */
    c->gpr[r] = in->addrsize == 4 ? (v & m) : ((c->gpr[r] & ~m) | (v & m));
}

/* Run one string I/O instruction: count iterations (1 without REP), each
 * committing rSI/rDI/rCX before the next so that a fault leaves the
 * completed iterations done. The permission check happens once, first. */
static void io_string(struct cpu *c, const struct insn *in, bool is_in)
{
    unsigned size = io_size(in);
    uint16_t port = (uint16_t)c->gpr[2];
    bool rep = (in->pfx & (PFX_REP | PFX_REPNE)) != 0;
    unsigned ptr = is_in ? 7 : 6; /* rDI or rSI */
    uint64_t step = (c->rflags & FL_DF) ? (uint64_t)-(int64_t)size : size;

    io_check(c, port, size);
    io_intercept(c, in, port, size, is_in, true);
    uint64_t hits_before = c->bp.hits;
    for (unsigned n = 0;; n++) {
        if (rep && str_reg(c, in, 1) == 0)
            break;
        if (rep && n == IO_REP_CHUNK) {
            c->next_rip = c->rip; /* resume here */
            break;
        }
        uint64_t off = str_reg(c, in, ptr);
        if (is_in) {
            /* INS writes ES:rDI (no override); check the write before the
             * port read so a fault does not lose device data */
            cpu_probe_write(c, SEG_ES, off, size);
            uint32_t v = machine_io_in(c->m, port, size);
            cpu_write(c, SEG_ES, off, size, v);
        } else {
            uint64_t v = cpu_read(c, in->seg, off, size);
            machine_io_out(c->m, port, size, (uint32_t)v);
        }
        str_set(c, in, ptr, off + step);
        if (rep)
            str_set(c, in, 1, str_reg(c, in, 1) - 1);
        /* SDM 3B "Debug Exceptions": a repeated INS/OUTS that hits an I/O
         * breakpoint traps after the first iteration (or the one that
         * hit a data breakpoint), RIP at the instruction while
         * iterations remain. */
        if (unlikely(c->bp.io))
            bp_io_access(c, port, size);
        if (!rep)
            break;
        if (unlikely(c->bp.hits != hits_before)) {
            if (str_reg(c, in, 1) != 0)
                c->next_rip = c->rip;
            break;
        }
    }
    c->end_block = true;
}

/* INS (6C, 6D) */
void op_ins(struct cpu *c, const struct insn *in)
{
    io_string(c, in, true);
}

/* OUTS (6E, 6F) */
void op_outs(struct cpu *c, const struct insn *in)
{
    io_string(c, in, false);
}
