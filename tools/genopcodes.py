#!/usr/bin/env python3
"""Generate nvmx's decode tables from src/cpu/opcodes*.txt.

Reads every opcode table given on the command line (grammar: docs/opcode-table.md),
rejects inconsistent rows, and writes the enum opid, the row table and the
per-opcode-byte candidate lists that src/cpu/decode.c walks at run time.
Errors are printed as file:line: message and the script exits with status 1.
"""

import argparse
import os
import re
import sys

MAPS = ("one-byte", "0F", "0F 38", "0F 3A")
FLAG_NAMES = ("lock", "d64", "f64", "i64", "o64", "ends", "rep")
SIZE_CODES = {"b": "SZ_B", "w": "SZ_W", "d": "SZ_D", "q": "SZ_Q", "dq": "SZ_DQ",
              "v": "SZ_V", "z": "SZ_Z", "y": "SZ_Y", "p": "SZ_P", "s": "SZ_S", "": "SZ_NONE"}
FIXED_SIZES = {"SZ_B", "SZ_W", "SZ_D", "SZ_Q", "SZ_DQ"}

# operand spec -> (spec code, size code, immediate kind or None)
OPERAND_SPECS = {}
for _s in "bwdqvy":
    OPERAND_SPECS["E" + _s] = ("OPS_E", SIZE_CODES[_s], None)
    OPERAND_SPECS["G" + _s] = ("OPS_G", SIZE_CODES[_s], None)
    OPERAND_SPECS["R" + _s] = ("OPS_R", SIZE_CODES[_s], None)
    OPERAND_SPECS["Z" + _s] = ("OPS_Z", SIZE_CODES[_s], None)
for _s in ("", "b", "w", "d", "q", "v", "y", "p", "s", "dq"):
    OPERAND_SPECS["M" + _s] = ("OPS_M", SIZE_CODES[_s], None)
for _s in "dqy":
    OPERAND_SPECS["C" + _s] = ("OPS_C", SIZE_CODES[_s], None)
    OPERAND_SPECS["D" + _s] = ("OPS_D", SIZE_CODES[_s], None)
# XMM operands (SDM 2D "Codes for Operand Type"): V = ModRM.reg, W = ModRM.rm
# register or memory, U = ModRM.rm register only (the row becomes 'reg').
for _s in ("d", "q", "dq"):
    OPERAND_SPECS["V" + _s] = ("OPS_V", SIZE_CODES[_s], None)
    OPERAND_SPECS["W" + _s] = ("OPS_W", SIZE_CODES[_s], None)
    OPERAND_SPECS["U" + _s] = ("OPS_U", SIZE_CODES[_s], None)
OPERAND_SPECS["Ww"] = ("OPS_W", SIZE_CODES["w"], None)  # PMOVSXBQ xmm, xmm/m16
# MMX operands (SDM 2D "Codes for Operand Type"): P = ModRM.reg MMX register,
# Q = ModRM.rm MMX register or memory, N = ModRM.rm MMX register only.
for _s in ("d", "q"):
    OPERAND_SPECS["P" + _s] = ("OPS_P", SIZE_CODES[_s], None)
    OPERAND_SPECS["Q" + _s] = ("OPS_Q", SIZE_CODES[_s], None)
    OPERAND_SPECS["N" + _s] = ("OPS_N", SIZE_CODES[_s], None)
for _s in "bv":
    OPERAND_SPECS["O" + _s] = ("OPS_O", SIZE_CODES[_s], None)
    OPERAND_SPECS["X" + _s] = ("OPS_X", SIZE_CODES[_s], None)
    OPERAND_SPECS["Y" + _s] = ("OPS_Y", SIZE_CODES[_s], None)
OPERAND_SPECS.update({
    "Ib": ("OPS_I", "SZ_B", "IMM_B"),
    "Ibs": ("OPS_I", "SZ_B", "IMM_BS"),
    "Iw": ("OPS_I", "SZ_W", "IMM_W"),
    "Iz": ("OPS_I", "SZ_Z", "IMM_Z"),
    "Iv": ("OPS_I", "SZ_V", "IMM_V"),
    "Jb": ("OPS_J", "SZ_B", "IMM_JB"),
    "Jz": ("OPS_J", "SZ_Z", "IMM_JZ"),
    "Ap": ("OPS_A", "SZ_P", "IMM_AP"),
    "AL": ("OPS_ACC", "SZ_B", None),
    "AX": ("OPS_ACC", "SZ_W", None),
    "eAX": ("OPS_ACC", "SZ_Z", None),
    "rAX": ("OPS_ACC", "SZ_V", None),
    "CL": ("OPS_CL", "SZ_B", None),
    "DX": ("OPS_DX", "SZ_W", None),
    "1": ("OPS_ONE", "SZ_B", None),
    "Sw": ("OPS_S", "SZ_W", None),
})
# Operands that never decide the operand size (immediates, relative targets,
# shift counts, the port number).
NO_OPSIZE = {"OPS_I", "OPS_J", "OPS_A", "OPS_CL", "OPS_DX", "OPS_ONE"}
MODRM_SPECS = {"OPS_E", "OPS_G", "OPS_R", "OPS_M", "OPS_S", "OPS_C", "OPS_D", "OPS_V", "OPS_W",
               "OPS_U", "OPS_P", "OPS_Q", "OPS_N"}
OPK_OF = {"OPS_E": "OPK_RM", "OPS_G": "OPK_REG", "OPS_R": "OPK_RM", "OPS_M": "OPK_MEM",
          "OPS_I": "OPK_IMM", "OPS_J": "OPK_REL", "OPS_A": "OPK_FAR", "OPS_O": "OPK_MOFFS",
          "OPS_Z": "OPK_OPREG", "OPS_ACC": "OPK_ACC", "OPS_CL": "OPK_CL", "OPS_DX": "OPK_DX",
          "OPS_ONE": "OPK_ONE", "OPS_S": "OPK_SREG", "OPS_C": "OPK_CREG", "OPS_D": "OPK_DREG",
          "OPS_X": "OPK_NONE", "OPS_Y": "OPK_NONE", "OPS_V": "OPK_XMM", "OPS_W": "OPK_RM",
          "OPS_U": "OPK_RM", "OPS_P": "OPK_MMX", "OPS_Q": "OPK_RM", "OPS_N": "OPK_RM"}
PFX_CODES = {None: 0, "P66": 1, "PF2": 2, "PF3": 3, "NP": 4}

HEX_RE = re.compile(r"^[0-9A-Fa-f]{2}$")
HEXISH_RE = re.compile(r"^[0-9A-Fa-f]+$")
MNEMONIC_RE = re.compile(r"^[A-Z][A-Za-z0-9]*$")
HANDLER_RE = re.compile(r"^op_[a-z0-9_]+$")


class GenError(Exception):
    pass


def fail(where, msg):
    raise GenError("%s: %s" % (where, msg))


class Row:
    pass


def read_classes(path):
    classes = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                m = re.match(r"\s*COST_CLASS\(\s*(\w+)\s*,", line)
                if m:
                    classes.append(m.group(1))
    except OSError as e:
        raise GenError("%s: cannot read cost classes: %s" % (path, e.strerror))
    if not classes:
        raise GenError("%s: no COST_CLASS entries" % path)
    return classes


def parse_opcode(where, text, row):
    """Fill the selection fields of row from the opcode column."""
    hexes = []
    row.modrm_kind = None  # None, 'r', or a digit
    row.plus = None        # None, 'r', 'cc'
    row.mod = 0            # 0 any, 1 mem, 2 reg
    row.pfx = None
    row.rexw = 0           # 0 any, 1 W=0, 2 W=1
    row.rexb = 0           # 0 any, 1 B=0
    seen_nonhex = False
    for tok in text.split():
        if HEX_RE.match(tok):
            if seen_nonhex:
                fail(where, "hex byte '%s' after /r, /digit or a qualifier" % tok)
            hexes.append(int(tok, 16))
            continue
        seen_nonhex = True
        if tok == "/r" or re.match(r"^/[0-7]$", tok):
            if row.modrm_kind is not None:
                fail(where, "two ModRM specifications")
            row.modrm_kind = "r" if tok == "/r" else int(tok[1])
        elif tok in ("+r", "+cc"):
            if row.plus is not None:
                fail(where, "two of +r/+cc")
            row.plus = tok[1:]
        elif tok in ("mem", "reg"):
            if row.mod:
                fail(where, "both mem and reg")
            row.mod = 1 if tok == "mem" else 2
        elif tok in ("P66", "PF2", "PF3", "NP"):
            if row.pfx is not None:
                fail(where, "two mandatory prefixes")
            row.pfx = tok
        elif tok in ("REX.W", "!REX.W"):
            if row.rexw:
                fail(where, "two REX.W qualifiers")
            row.rexw = 2 if tok == "REX.W" else 1
        elif tok == "!REX.B":
            row.rexb = 1
        elif HEXISH_RE.match(tok):
            fail(where, "bad hex byte '%s' (two hex digits expected)" % tok)
        else:
            fail(where, "unknown opcode token '%s'" % tok)
    if not hexes:
        fail(where, "no opcode byte")
    if hexes[0] == 0x0F and len(hexes) >= 2 and hexes[1] in (0x38, 0x3A):
        if len(hexes) < 3:
            fail(where, "three-byte opcode without its third byte")
        row.map = 2 if hexes[1] == 0x38 else 3
        row.opcode = hexes[2]
        rest = hexes[3:]
    elif hexes[0] == 0x0F:
        if len(hexes) < 2:
            fail(where, "0F without a second opcode byte")
        row.map = 1
        row.opcode = hexes[1]
        rest = hexes[2:]
    else:
        row.map = 0
        row.opcode = hexes[0]
        rest = hexes[1:]
    if len(rest) > 1:
        fail(where, "too many opcode bytes")
    row.fixed_modrm = rest[0] if rest else None
    if row.fixed_modrm is not None:
        if row.modrm_kind is not None:
            fail(where, "fixed ModRM byte together with /r or /digit")
        if row.fixed_modrm < 0xC0:
            fail(where, "fixed ModRM byte %02X must have mod = 3" % row.fixed_modrm)
        if row.mod == 1:
            fail(where, "fixed ModRM byte with 'mem'")
    row.has_modrm = row.modrm_kind is not None or row.fixed_modrm is not None
    if row.mod and not row.has_modrm:
        fail(where, "mem/reg without a ModRM byte")
    if row.plus == "r" and (row.opcode & 7):
        fail(where, "+r on opcode %02X whose low 3 bits are not 0" % row.opcode)
    if row.plus == "cc" and (row.opcode & 15):
        fail(where, "+cc on opcode %02X whose low 4 bits are not 0" % row.opcode)
    if row.plus and row.has_modrm and row.plus == "r":
        fail(where, "+r together with a ModRM byte")


def parse_operands(where, text, row):
    row.ops = []
    if text == "-":
        return
    specs = [s.strip() for s in text.split(",")]
    if len(specs) > 3:
        fail(where, "more than 3 operands")
    for s in specs:
        if s not in OPERAND_SPECS:
            fail(where, "unknown operand spec '%s'" % s)
        row.ops.append((s,) + OPERAND_SPECS[s])
    imms = [o for o in row.ops if o[3]]
    if len(imms) > 2 or (len(imms) == 2 and any(o[3] == "IMM_AP" for o in imms)):
        fail(where, "too many immediates")
    kinds = [o[1] for o in row.ops]
    if any(k in MODRM_SPECS for k in kinds) and not row.has_modrm:
        fail(where, "operand needs a ModRM byte but the opcode has no /r or /digit")
    if "OPS_Z" in kinds and row.plus != "r":
        fail(where, "Z operand without +r")
    if row.plus == "r" and "OPS_Z" not in kinds:
        fail(where, "+r without a Z operand")
    if "OPS_M" in kinds:
        if row.mod == 2:
            fail(where, "M operand in a 'reg' row")
        row.mod = 1  # memory-only operand: register forms are #UD
    if "OPS_U" in kinds or "OPS_N" in kinds:
        if row.mod == 1:
            fail(where, "U or N operand in a 'mem' row")
        row.mod = 2  # register-only XMM/MMX operand: memory forms are #UD
    if ("OPS_G" in kinds or "OPS_V" in kinds or "OPS_P" in kinds) and \
            row.modrm_kind not in (None, "r"):
        fail(where, "G, V or P operand in a /digit row")


def opsize_rule(row):
    """Size code deciding in->opsize: first data operand of variable size,
    else the first data operand's fixed size, else the operand size (v)."""
    data = [o for o in row.ops if o[1] not in NO_OPSIZE and o[2] != "SZ_NONE"]
    for o in data:
        if o[2] not in FIXED_SIZES:
            return o[2]
    if data:
        return data[0][2]
    return "SZ_V"


def parse_file(path, classes, rows):
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
    except OSError as e:
        raise GenError("%s: cannot read: %s" % (path, e.strerror))
    pure = False
    for n, line in enumerate(lines, 1):
        where = "%s:%d" % (path, n)
        body = line.split("#", 1)[0].rstrip()
        if not body.strip():
            continue
        if body.strip() == "@pure":
            pure = True
            continue
        cols = [c for c in re.split(r"\t+| {2,}", body.strip()) if c]
        if len(cols) != 6:
            fail(where, "expected 6 columns (mnemonic, opcode, operands, handler, class, "
                        "flags), found %d" % len(cols))
        row = Row()
        row.where = where
        row.mnemonic, opcode, operands, row.handler, row.cls, flags = cols
        if not MNEMONIC_RE.match(row.mnemonic):
            fail(where, "bad mnemonic '%s'" % row.mnemonic)
        parse_opcode(where, opcode, row)
        parse_operands(where, operands.replace(" ", ""), row)
        if not HANDLER_RE.match(row.handler):
            fail(where, "bad handler name '%s' (op_<lowercase>)" % row.handler)
        if row.cls not in classes:
            fail(where, "unknown cost class '%s'" % row.cls)
        row.flags = set()
        row.pure = pure
        if flags != "-":
            for fl in flags.replace(" ", "").split(","):
                if fl not in FLAG_NAMES:
                    fail(where, "unknown flag '%s'" % fl)
                if fl in row.flags:
                    fail(where, "duplicate flag '%s'" % fl)
                row.flags.add(fl)
        if {"i64", "o64"} <= row.flags:
            fail(where, "both i64 and o64")
        if {"d64", "f64"} <= row.flags:
            fail(where, "both d64 and f64")
        if "lock" in row.flags and (not row.ops or row.ops[0][1] not in ("OPS_E", "OPS_M")):
            fail(where, "'lock' needs a memory-capable destination (E or M)")
        if "rep" in row.flags and row.pfx in ("PF2", "PF3", "NP"):
            fail(where, "'rep' row with a mandatory F2/F3 prefix")
        row.mode = 1 if "i64" in row.flags else 2 if "o64" in row.flags else 0
        row.osz = opsize_rule(row)
        rows.append(row)


def selection(row):
    """Selection dimensions (pfx, digit, mod, rm, rexw, rexb, mode); None is 'any'."""
    digit = row.modrm_kind if isinstance(row.modrm_kind, int) else None
    mod = row.mod or None
    rm = None
    if row.fixed_modrm is not None:
        digit = (row.fixed_modrm >> 3) & 7
        mod = 2
        rm = row.fixed_modrm & 7
    return (PFX_CODES[row.pfx] or None, digit, mod, rm, row.rexw or None, row.rexb or None,
            row.mode or None)


def dims_overlap(a, b):
    for x, y in zip(a, b):
        if x is not None and y is not None and x != y:
            return False
    return True


def dims_subset(a, b):
    """Every instruction row a matches is also matched by b."""
    for x, y in zip(a, b):
        if y is not None and x != y:
            return False
    return True


def specificity(sel):
    return sum(1 for x in sel if x is not None)


def build_slots(rows):
    slots = {}
    for idx, row in enumerate(rows):
        count = {None: 1, "r": 8, "cc": 16}[row.plus]
        for k in range(count):
            slots.setdefault((row.map, row.opcode + k), []).append(idx)
    for key, idxs in sorted(slots.items()):
        first = rows[idxs[0]]
        for i in idxs:
            if rows[i].has_modrm != first.has_modrm:
                fail(rows[i].where, "map %s opcode %02X: ModRM presence differs from %s"
                     % (MAPS[key[0]], key[1], first.where))
        for ai, a in enumerate(idxs):
            for b in idxs[ai + 1:]:
                sa, sb = selection(rows[a]), selection(rows[b])
                if not dims_overlap(sa, sb):
                    continue
                if sa == sb:
                    fail(rows[b].where, "conflicts with %s (same opcode %s %02X and selection)"
                         % (rows[a].where, MAPS[key[0]], key[1]))
                if not dims_subset(sa, sb) and not dims_subset(sb, sa):
                    fail(rows[b].where, "ambiguous with %s (opcode %s %02X: overlapping "
                         "selections, neither more specific)" % (rows[a].where, MAPS[key[0]], key[1]))
        idxs.sort(key=lambda i: (-specificity(selection(rows[i])), i))
    return slots


def c_ident(s):
    return re.sub(r"[^A-Za-z0-9]", "_", s).upper()


def write_header(path, rows, ids):
    handlers = sorted({r.handler for r in rows if r.handler != "op_ud"})
    out = []
    out.append("/* Generated by tools/genopcodes.py from src/cpu/opcodes*.txt -- do not edit. */")
    out.append("#ifndef NVMX_OPCODES_GEN_H")
    out.append("#define NVMX_OPCODES_GEN_H")
    out.append("")
    out.append('#include "cpu/cpu_internal.h"')
    out.append("")
    out.append("enum opid {")
    out.append("    OP_INVALID = 0, /* no row: undefined or invalid in this mode */")
    for r, name in zip(rows, ids):
        out.append("    %s, /* %s */" % (name, r.where.split("/")[-1]))
    out.append("    OP_COUNT")
    out.append("};")
    out.append("")
    out.append("/* Operand spec letters (SDM 2D Appendix A \"Opcode Map\" notation). */")
    out.append("enum opspec {")
    out.append("    OPS_NONE = 0, OPS_E, OPS_G, OPS_R, OPS_M, OPS_I, OPS_J, OPS_A, OPS_O, OPS_Z,")
    out.append("    OPS_ACC, OPS_CL, OPS_DX, OPS_ONE, OPS_S, OPS_C, OPS_D, OPS_X, OPS_Y, OPS_V, OPS_W,")
    out.append("    OPS_U, OPS_P, OPS_Q, OPS_N,")
    out.append("};")
    out.append("/* Operand size letters: fixed sizes are byte counts. */")
    out.append("enum opsz {")
    out.append("    SZ_NONE = 0, SZ_B = 1, SZ_W = 2, SZ_D = 4, SZ_Q = 8, SZ_DQ = 16,")
    out.append("    SZ_V = 32, SZ_Z, SZ_Y, SZ_P, SZ_S,")
    out.append("};")
    out.append("/* Immediate kinds, in encoding order. */")
    out.append("enum immk {")
    out.append("    IMM_NONE = 0, IMM_B, IMM_BS, IMM_W, IMM_Z, IMM_V, IMM_JB, IMM_JZ, IMM_AP,")
    out.append("};")
    out.append("")
    out.append("/* Row flags (flags column). */")
    for i, fl in enumerate(FLAG_NAMES):
        out.append("#define ROWF_%s 0x%02x" % (fl.upper(), 1 << i))
    out.append("#define ROWF_CC 0x80 /* +cc row: in->cc = opcode - row opcode */")
    out.append("#define ROWF_PURE 0x100 /* after @pure: only GPRs, RFLAGS.arith/DF, RIP, memory */")
    out.append("")
    out.append("struct opcode_row {")
    out.append("    const char *mnemonic;")
    out.append("    insn_handler handler; /* NULL when the handler is not linked */")
    out.append("    uint8_t spec[3];      /* enum opspec */")
    out.append("    uint8_t size[3];      /* enum opsz */")
    out.append("    uint8_t opk[3];       /* enum opk */")
    out.append("    uint8_t imm[2];       /* enum immk */")
    out.append("    uint8_t osz;          /* enum opsz deciding in->opsize */")
    out.append("    uint8_t cost_class;   /* enum cost_class */")
    out.append("    uint16_t flags;       /* ROWF_* */")
    out.append("    uint8_t map;          /* 0 one-byte, 1 0F, 2 0F 38, 3 0F 3A */")
    out.append("    uint8_t opcode;")
    out.append("};")
    out.append("")
    out.append("/* One candidate row of an opcode byte; candidates are sorted most specific")
    out.append(" * first, and the decoder takes the first that matches. */")
    out.append("#define CAND_PFX_NONE 0")
    out.append("#define CAND_PFX_66 1")
    out.append("#define CAND_PFX_F2 2")
    out.append("#define CAND_PFX_F3 3")
    out.append("#define CAND_PFX_NP 4 /* SDM 'NP': matches only without 66, F2 and F3 */")
    out.append("#define CAND_ANY 0xff")
    out.append("#define CAND_MOD_MEM 1")
    out.append("#define CAND_MOD_REG 2")
    out.append("#define CAND_W0 1")
    out.append("#define CAND_W1 2")
    out.append("#define CAND_MODE_I64 1")
    out.append("#define CAND_MODE_O64 2")
    out.append("struct opcode_cand {")
    out.append("    uint16_t row;   /* enum opid */")
    out.append("    uint8_t pfx;    /* CAND_PFX_* mandatory prefix */")
    out.append("    uint8_t digit;  /* ModRM.reg or CAND_ANY */")
    out.append("    uint8_t rm;     /* ModRM.rm (fixed-ModRM rows) or CAND_ANY */")
    out.append("    uint8_t mod;    /* 0 any, CAND_MOD_MEM, CAND_MOD_REG */")
    out.append("    uint8_t rexw;   /* 0 any, CAND_W0, CAND_W1 */")
    out.append("    uint8_t rexb0;  /* 1: only without REX.B */")
    out.append("    uint8_t mode;   /* 0 any, CAND_MODE_I64, CAND_MODE_O64 */")
    out.append("};")
    out.append("struct opcode_slot {")
    out.append("    uint16_t first; /* index into opcode_cands */")
    out.append("    uint8_t count;")
    out.append("    uint8_t has_modrm;")
    out.append("};")
    out.append("")
    out.append("extern const struct opcode_row opcode_rows[OP_COUNT];")
    out.append("extern const struct opcode_cand opcode_cands[];")
    out.append("extern const struct opcode_slot opcode_slots[4][256];")
    out.append("")
    out.append("/* Handlers: weak, so a handler that is not linked is NULL (-> op_ud). */")
    for h in handlers:
        out.append("extern void %s(struct cpu *c, const struct insn *in) __attribute__((weak));" % h)
    out.append("")
    out.append("#endif")
    write_if_changed(path, "\n".join(out) + "\n")


def write_source(path, rows, ids, slots):
    out = []
    out.append("/* Generated by tools/genopcodes.py from src/cpu/opcodes*.txt -- do not edit. */")
    out.append('#include "opcodes_gen.h"')
    out.append("")
    out.append("const struct opcode_row opcode_rows[OP_COUNT] = {")
    out.append('    [OP_INVALID] = { .mnemonic = "(bad)", .handler = op_ud },')
    for r, name in zip(rows, ids):
        specs = [o[1] for o in r.ops] + ["OPS_NONE"] * (3 - len(r.ops))
        sizes = [o[2] for o in r.ops] + ["SZ_NONE"] * (3 - len(r.ops))
        opks = [OPK_OF[o[1]] for o in r.ops] + ["OPK_NONE"] * (3 - len(r.ops))
        imms = [o[3] for o in r.ops if o[3]] + ["IMM_NONE"] * 2
        fl = ["ROWF_" + f.upper() for f in FLAG_NAMES if f in r.flags]
        if r.plus == "cc":
            fl.append("ROWF_CC")
        if r.pure:
            fl.append("ROWF_PURE")
        flags = " | ".join(fl) or "0"
        out.append("    [%s] = { \"%s\", %s, {%s}, {%s}, {%s}, {%s, %s}, %s, COST_%s, %s, %d, 0x%02x },"
                   % (name, r.mnemonic, r.handler, ", ".join(specs), ", ".join(sizes),
                      ", ".join(opks), imms[0], imms[1], r.osz, r.cls, flags, r.map, r.opcode))
    out.append("};")
    out.append("")
    out.append("const struct opcode_cand opcode_cands[] = {")
    out.append("    { 0, 0, 0, 0, 0, 0, 0, 0 }, /* index 0 unused: empty slots */")
    slot_first = {}
    n = 1
    for key in sorted(slots):
        slot_first[key] = n
        for i in slots[key]:
            pfx, digit, mod, rm, rexw, rexb, mode = selection(rows[i])
            out.append("    { %s, %d, %s, %s, %d, %d, %d, %d }, /* %s %02X */"
                       % (ids[i], pfx or 0, "CAND_ANY" if digit is None else str(digit),
                          "CAND_ANY" if rm is None else str(rm), mod or 0, rexw or 0,
                          rexb or 0, mode or 0,
                          MAPS[key[0]], key[1]))
            n += 1
    out.append("};")
    out.append("")
    out.append("const struct opcode_slot opcode_slots[4][256] = {")
    for key in sorted(slots):
        idxs = slots[key]
        if len(idxs) > 255:
            raise GenError("%s: too many rows for one opcode" % rows[idxs[0]].where)
        out.append("    [%d][0x%02x] = { %d, %d, %d }," % (key[0], key[1], slot_first[key], len(idxs),
                                                     1 if rows[idxs[0]].has_modrm else 0))
    out.append("};")
    write_if_changed(path, "\n".join(out) + "\n")


def write_if_changed(path, text):
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return
    except OSError:
        pass
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out-c", required=True)
    ap.add_argument("--out-h", required=True)
    ap.add_argument("--classes", help="cost_classes.def (default: include/nvmx/ next to tools/)")
    ap.add_argument("tables", nargs="+")
    args = ap.parse_args()
    classes_path = args.classes or os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                "..", "include", "nvmx", "cost_classes.def")
    try:
        classes = read_classes(classes_path)
        rows = []
        for t in sorted(args.tables):
            parse_file(t, classes, rows)
        counters = {}
        ids = []
        for r in rows:
            base = c_ident(r.mnemonic)
            k = counters.get(base, 0)
            counters[base] = k + 1
            ids.append("OP_%s_%d" % (base, k))
        slots = build_slots(rows)
        write_header(args.out_h, rows, ids)
        write_source(args.out_c, rows, ids, slots)
    except GenError as e:
        print(str(e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
