/* The x86-64 instruction decoder: legacy and REX prefixes, the four opcode maps,
 * ModRM/SIB addressing, displacement and immediates, in every mode (SDM 2A
 * "Instruction Format"). Opcode rows come from src/cpu/opcodes*.txt through
 * tools/genopcodes.py; decoding is table lookups only. */
#include "cpu/cpu_internal.h"
#include "opcodes_gen.h"

/* SDM 2A "Instruction Format": an instruction is at most 15 bytes long. */
#define INSN_MAX_LEN 15

enum dec_status {
    DEC_OK = 0,
    DEC_UNDEF,   /* no row, invalid in this mode, or LOCK not allowed: #UD */
    DEC_TRUNC,   /* ran out of bytes before 15: more must be fetched */
    DEC_TOOLONG, /* needs more than 15 bytes: #GP(0) */
};

struct dstate {
    const uint8_t *b;
    unsigned avail; /* bytes in b, at most INSN_MAX_LEN */
    unsigned pos;
    enum dec_status err;
};

void op_ud(struct cpu *c, const struct insn *in)
{
    cpu_fault(c, EXC_UD);
}

/* SDM 2A "Instruction Format": longer than 15 bytes (or, outside 64-bit mode,
 * reaching past the CS limit: SDM 3A "Limit Checking") is #GP(0). Raised when
 * the instruction executes, so the fault has that instruction's RIP. */
void op_insn_gp(struct cpu *c, const struct insn *in)
{
    cpu_fault_err(c, EXC_GP, 0);
}

static inline bool need(struct dstate *d, unsigned n)
{
    if (likely(d->pos + n <= d->avail))
        return true;
    d->err = d->pos + n > INSN_MAX_LEN ? DEC_TOOLONG : DEC_TRUNC;
    return false;
}

/* Little-endian immediate of n bytes (caller checked need()). */
static inline uint64_t take(struct dstate *d, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)d->b[d->pos + i] << (8 * i);
    d->pos += n;
    return v;
}

static inline int64_t sext(uint64_t v, unsigned bytes)
{
    unsigned sh = 64 - 8 * bytes;
    return (int64_t)(v << sh) >> sh;
}

/* SDM 2A Table "16-Bit Addressing Forms with the ModR/M Byte". */
static const uint8_t base16[8] = { 3, 3, 5, 5, 6, 7, 5, 3 };
static const uint8_t index16[8] = { 6, 7, 6, 7, REG_NONE, REG_NONE, REG_NONE, REG_NONE };

/* Memory operand of a ModRM byte with mod != 3. Returns the default segment. */
static int decode_modrm_mem(struct dstate *d, struct insn *in, unsigned modrm, unsigned rex,
                            bool is64)
{
    unsigned mod = modrm >> 6, rm = modrm & 7;
    int seg = SEG_DS;

    in->index = REG_NONE;
    in->scale = 0;
    in->disp = 0;
    if (in->addrsize == 2) {
        if (mod == 0 && rm == 6) {
            in->base = REG_NONE;
            if (!need(d, 2))
                return seg;
            in->disp = sext(take(d, 2), 2);
            return seg;
        }
        in->base = base16[rm];
        in->index = index16[rm];
        if (in->base == 5) /* BP-based forms default to SS */
            seg = SEG_SS;
        if (mod == 1 || mod == 2) {
            unsigned n = mod == 1 ? 1 : 2;
            if (!need(d, n))
                return seg;
            in->disp = sext(take(d, n), n);
        }
        return seg;
    }

    /* SDM 2A Tables "32-Bit Addressing Forms with the ModR/M Byte" / "... SIB
     * Byte", and "REX Prefixes" (Table "Special Cases of REX Encodings"). */
    bool disp32 = false;
    if (rm == 4) {
        if (!need(d, 1))
            return seg;
        unsigned sib = d->b[d->pos++];
        unsigned idx = ((sib >> 3) & 7) | ((rex & 2) << 2);
        in->scale = (uint8_t)(sib >> 6);
        in->index = idx == 4 ? REG_NONE : (uint8_t)idx; /* REX.X=1 makes it R12 */
        if ((sib & 7) == 5 && mod == 0) {
            in->base = REG_NONE;
            disp32 = true;
        } else {
            in->base = (uint8_t)((sib & 7) | ((rex & 1) << 3));
        }
    } else if (rm == 5 && mod == 0) {
        /* 64-bit mode: RIP-relative (EIP-relative with 67); else disp32 absolute */
        in->base = is64 ? REG_RIP : REG_NONE;
        disp32 = true;
    } else {
        in->base = (uint8_t)(rm | ((rex & 1) << 3));
    }
    if (in->base == 4 || in->base == 5) /* rSP/rBP base: SS (SDM 1 "Default Segment Selection Rules") */
        seg = SEG_SS;
    if (mod == 1) {
        if (!need(d, 1))
            return seg;
        in->disp = sext(take(d, 1), 1);
    } else if (mod == 2 || disp32) {
        if (!need(d, 4))
            return seg;
        in->disp = sext(take(d, 4), 4);
    }
    return seg;
}

/* The operand size a row's size letter stands for. */
static inline unsigned row_opsize(unsigned osz_code, unsigned osz)
{
    switch (osz_code) {
    case SZ_B: return 1;
    case SZ_W: return 2;
    case SZ_D: return 4;
    case SZ_Q: return 8;
    case SZ_DQ: return 16;
    case SZ_Z: return osz == 2 ? 2 : 4;
    case SZ_Y: return osz == 8 ? 8 : 4;
    default: return osz; /* v, p, s */
    }
}

static bool decode_imm(struct dstate *d, struct insn *in, unsigned kind, unsigned osz,
                       uint64_t *out)
{
    unsigned n;
    switch (kind) {
    case IMM_B: case IMM_BS: case IMM_JB: n = 1; break;
    case IMM_W: n = 2; break;
    case IMM_Z: case IMM_JZ: n = osz == 2 ? 2 : 4; break;
    case IMM_V: n = osz; break;
    case IMM_AP: n = (osz == 2 ? 2 : 4) + 2; break;
    default: return true;
    }
    if (!need(d, n))
        return false;
    uint64_t v;
    switch (kind) {
    case IMM_BS: v = (uint64_t)sext(take(d, 1), 1) & size_mask(in->opsize); break;
    case IMM_JB: v = (uint64_t)sext(take(d, 1), 1); break;
    case IMM_Z: v = take(d, n); if (osz == 8) v = (uint64_t)sext(v, 4); break;
    case IMM_JZ: v = (uint64_t)sext(take(d, n), n); break;
    case IMM_AP: v = take(d, n - 2); in->imm2 = take(d, 2); break;
    default: v = take(d, n); break;
    }
    *out = v;
    return true;
}

/* Mandatory-prefix candidate (SDM 2A "Instruction Prefixes"): the last of
 * F2/F3, else 66. */
static inline unsigned mandatory_prefix(unsigned pfx)
{
    if (pfx & PFX_REP)
        return CAND_PFX_F3;
    if (pfx & PFX_REPNE)
        return CAND_PFX_F2;
    return (pfx & PFX_OPSIZE) ? CAND_PFX_66 : CAND_PFX_NONE;
}

static const struct opcode_cand *match_row(const struct opcode_slot *s, unsigned map,
                                           unsigned pfx, unsigned modrm, unsigned rex,
                                           bool is64)
{
    unsigned mp = mandatory_prefix(pfx);
    unsigned mod = modrm >> 6, reg = (modrm >> 3) & 7, rm = modrm & 7;
    const struct opcode_cand *c = &opcode_cands[s->first];

    for (unsigned k = 0; k < s->count; k++, c++) {
        if (c->pfx == CAND_PFX_NP) {
            if (mp != CAND_PFX_NONE) /* SDM 2A "NP": 66/F2/F3 not allowed */
                continue;
        } else if (c->pfx != CAND_PFX_NONE) {
            if (c->pfx != mp)
                continue;
        } else if (map >= 2 && (pfx & (PFX_REP | PFX_REPNE))) {
            continue; /* in the three-byte maps F2/F3 always select another row */
        }
        if (c->digit != CAND_ANY && c->digit != reg)
            continue;
        if (c->rm != CAND_ANY && c->rm != rm)
            continue;
        if ((c->mod == CAND_MOD_MEM && mod == 3) || (c->mod == CAND_MOD_REG && mod != 3))
            continue;
        if ((c->rexw == CAND_W0 && (rex & 8)) || (c->rexw == CAND_W1 && !(rex & 8)))
            continue;
        if (c->rexb0 && (rex & 1))
            continue;
        if ((c->mode == CAND_MODE_I64 && is64) || (c->mode == CAND_MODE_O64 && !is64))
            continue;
        return c;
    }
    return NULL;
}

static void set_undefined(struct insn *in, unsigned len)
{
    in->handler = op_ud;
    in->flags = IF_ENDS_BLOCK;
    in->len = (uint8_t)len;
}

/* Decode from b[0..avail). Fills *in in every case (handler op_ud when the
 * status is not DEC_OK). */
static enum dec_status decode_buf(const uint8_t *b, unsigned avail, unsigned code_size,
                                  struct insn *in)
{
    struct dstate d = { .b = b, .avail = avail < INSN_MAX_LEN ? avail : INSN_MAX_LEN };
    const bool is64 = code_size == 8;
    unsigned pfx = 0, rex = 0, modrm = 0;
    int seg_ovr = -1;

    memset(in, 0, sizeof(*in));
    in->base = REG_NONE;
    in->index = REG_NONE;
    in->seg = SEG_DS;

    /* SDM 2A "Instruction Prefixes": any order; within a group the last one
     * wins (F2/F3 are one group; LOCK is kept apart because HLE combines it
     * with F2/F3). SDM 2A "REX Prefixes": a REX not immediately before the
     * opcode is ignored. */
    for (;;) {
        if (!need(&d, 1))
            goto fail;
        unsigned x = b[d.pos];
        switch (x) {
        case 0xf0: pfx |= PFX_LOCK; break;
        case 0xf2: pfx = (pfx & ~PFX_REP) | PFX_REPNE; break;
        case 0xf3: pfx = (pfx & ~PFX_REPNE) | PFX_REP; break;
        case 0x66: pfx |= PFX_OPSIZE; break;
        case 0x67: pfx |= PFX_ADSIZE; break;
        case 0x26: seg_ovr = SEG_ES; break;
        case 0x2e: seg_ovr = SEG_CS; break;
        case 0x36: seg_ovr = SEG_SS; break;
        case 0x3e: seg_ovr = SEG_DS; break;
        case 0x64: seg_ovr = SEG_FS; break;
        case 0x65: seg_ovr = SEG_GS; break;
        default:
            if (is64 && (x & 0xf0) == 0x40) {
                rex = x;
                d.pos++;
                continue;
            }
            goto opcode;
        }
        rex = 0;
        d.pos++;
    }

opcode:;
    unsigned map = 0, op = b[d.pos++];
    if (op == 0x0f) {
        if (!need(&d, 1))
            goto fail;
        op = b[d.pos++];
        map = 1;
        if (op == 0x38 || op == 0x3a) {
            map = op == 0x38 ? 2 : 3;
            if (!need(&d, 1))
                goto fail;
            op = b[d.pos++];
        }
    }
    in->opcode = (uint8_t)op;
    in->rex = (uint8_t)rex;

    /* SDM 3A "Segment Override Prefixes" in 64-bit mode: CS/DS/ES/SS
     * overrides are ignored, FS/GS are honoured. */
    if (seg_ovr >= 0 && (!is64 || seg_ovr >= SEG_FS))
        pfx |= PFX_SEG;
    else
        seg_ovr = -1;

    const struct opcode_slot *slot = &opcode_slots[map][op];
    if (slot->count == 0) {
        in->pfx = (uint8_t)pfx;
        set_undefined(in, d.pos);
        return DEC_UNDEF;
    }
    if (slot->has_modrm) {
        if (!need(&d, 1))
            goto fail;
        modrm = b[d.pos++];
    }
    const struct opcode_cand *cand = match_row(slot, map, pfx, modrm, rex, is64);
    if (!cand) {
        in->pfx = (uint8_t)pfx;
        in->mod = (uint8_t)(modrm >> 6);
        set_undefined(in, d.pos);
        return DEC_UNDEF;
    }
    const struct opcode_row *row = &opcode_rows[cand->row];

    /* A mandatory prefix is not an operand-size or REP prefix for this row. */
    if (cand->pfx == CAND_PFX_66)
        pfx &= ~PFX_OPSIZE;
    else if (cand->pfx == CAND_PFX_F3)
        pfx &= ~PFX_REP;
    else if (cand->pfx == CAND_PFX_F2)
        pfx &= ~PFX_REPNE;

    /* SDM 2A "Operand-Size and Address-Size Attributes", and SDM 1 "Operand
     * Size and Address Size in 64-Bit Mode": REX.W beats 66; d64 rows default
     * to 64 bits (66 gives 16), f64 rows are always 64. */
    unsigned osz;
    if (is64) {
        if ((rex & 8) || (row->flags & ROWF_F64))
            osz = 8;
        else if (row->flags & ROWF_D64)
            osz = (pfx & PFX_OPSIZE) ? 2 : 8;
        else
            osz = (pfx & PFX_OPSIZE) ? 2 : 4;
        in->addrsize = (pfx & PFX_ADSIZE) ? 4 : 8;
    } else {
        osz = code_size == 2 ? 2 : 4;
        if (pfx & PFX_OPSIZE)
            osz ^= 6;
        in->addrsize = (uint8_t)(code_size == 2 ? 2 : 4);
        if (pfx & PFX_ADSIZE)
            in->addrsize ^= 6;
    }
    in->opsize = (uint8_t)row_opsize(row->osz, osz);

    bool reg_only = row->spec[0] == OPS_R || row->spec[1] == OPS_R || row->spec[2] == OPS_R;
    int seg = SEG_DS;
    if (slot->has_modrm) {
        /* R operands (MOV CR/DR): ModRM.mod is ignored and taken as 3 (SDM 2B "MOV--Move
         * to/from Control Registers"). */
        in->mod = reg_only ? 3 : (uint8_t)(modrm >> 6);
        in->reg = (uint8_t)(((modrm >> 3) & 7) | (cand->digit == CAND_ANY ? (rex & 4) << 1 : 0));
        in->rm = (uint8_t)((modrm & 7) | ((rex & 1) << 3));
        if (in->mod != 3) {
            seg = decode_modrm_mem(&d, in, modrm, rex, is64);
            if (d.err)
                goto fail;
        }
    } else {
        in->mod = 3;
        if (!(row->flags & ROWF_CC)) /* +r: register in the opcode's low bits */
            in->rm = (uint8_t)((op - row->opcode) | ((rex & 1) << 3));
    }
    if (row->flags & ROWF_CC)
        in->cc = (uint8_t)(op & 15);

    /* moffs (A0-A3): an address-size offset, no ModRM (SDM 2B "MOV"). */
    if (row->spec[0] == OPS_O || row->spec[1] == OPS_O) {
        if (!need(&d, in->addrsize))
            goto fail;
        in->disp = (int64_t)take(&d, in->addrsize);
    }
    if (row->imm[0] != IMM_NONE) {
        if (!decode_imm(&d, in, row->imm[0], osz, &in->imm))
            goto fail;
        if (row->imm[1] != IMM_NONE && !decode_imm(&d, in, row->imm[1], osz, &in->imm2))
            goto fail;
    }

    in->seg = (uint8_t)(seg_ovr >= 0 ? seg_ovr : seg);
    in->pfx = (uint8_t)pfx;
    in->id = cand->row;
    in->len = (uint8_t)d.pos;
    in->cost_class = row->cost_class;
    in->opk[0] = row->opk[0];
    in->opk[1] = row->opk[1];
    in->opk[2] = row->opk[2];
    in->flags = (uint8_t)(((row->flags & ROWF_ENDS) ? IF_ENDS_BLOCK : 0) |
                          ((row->flags & ROWF_LOCK) ? IF_LOCK_OK : 0) |
                          ((row->flags & ROWF_PURE) ? IF_PURE : 0));
    in->handler = row->handler ? row->handler : op_ud;
    if (!row->handler || row->handler == op_ud)
        in->flags |= IF_ENDS_BLOCK;

    /* SDM 2A "LOCK": #UD unless the instruction allows LOCK and its
     * destination is a memory operand. */
    if ((pfx & PFX_LOCK) && (!(row->flags & ROWF_LOCK) || in->mod == 3)) {
        in->handler = op_ud;
        in->flags |= IF_ENDS_BLOCK;
        return DEC_UNDEF;
    }
    return DEC_OK;

fail:
    in->pfx = (uint8_t)pfx;
    set_undefined(in, d.pos);
    return d.err;
}

unsigned cpu_decode_bytes(const uint8_t *bytes, unsigned avail, unsigned code_size,
                          struct insn *in)
{
    return decode_buf(bytes, avail, code_size, in) == DEC_OK ? in->len : 0;
}

bool cpu_decode_too_long(const uint8_t *bytes, unsigned avail, unsigned code_size)
{
    struct insn in;
    return decode_buf(bytes, avail, code_size, &in) == DEC_TOOLONG;
}

bool cpu_decode(struct cpu *c, uint64_t rip, struct insn *in)
{
    const bool is64 = c->code_size == 8;
    uint64_t lin = c->seg[SEG_CS].base + rip;
    unsigned lim = INSN_MAX_LEN; /* bytes fetchable within the CS limit */
    uint8_t buf[INSN_MAX_LEN];

    if (!is64) {
        lin &= 0xffffffffull;
        /* SDM 3A "Limit Checking": bytes past CS.limit are not fetched. */
        uint64_t limit = c->seg[SEG_CS].limit;
        lim = rip > limit ? 0 : (unsigned)(limit - rip + 1 < INSN_MAX_LEN ? limit - rip + 1
                                                                            : INSN_MAX_LEN);
    }
    unsigned n = lim ? cpu_fetch_code(c, lin, buf, lim) : 0;
    for (;;) {
        enum dec_status st = decode_buf(buf, n, c->code_size, in);
        if (st == DEC_OK)
            return true;
        if (st == DEC_UNDEF)
            return false;
        if (st == DEC_TRUNC && n < lim) {
            /* The rest lies on a page that faults: fetching it raises the #PF
             * (or #GP) of the first byte that cannot be fetched. */
            uint64_t at = is64 ? lin + n : (lin + n) & 0xffffffffull;
            unsigned got = cpu_fetch_code(c, at, buf + n, lim - n);
            if (got > 0) {
                n += got;
                continue;
            }
        }
        /* Too long, or reaching past the CS limit: #GP(0) when it executes. */
        in->handler = op_insn_gp;
        in->flags = IF_ENDS_BLOCK;
        return false;
    }
}

const char *cpu_opid_name(unsigned id)
{
    return id < OP_COUNT ? opcode_rows[id].mnemonic : "(bad)";
}
