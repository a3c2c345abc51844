/* Decoder tests: lengths and fields for hand-picked encodings in every mode,
 * the #UD / LOCK / 15-byte rules, and a cross-check of length and mnemonic
 * against Capstone over generated encodings of the general-purpose rows. */
#include <capstone/capstone.h>
#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu_internal.h"
#include "harness.h"
#include "opcodes_gen.h"

/* Fields set to NC are not checked. */
#define NC (-999)

struct dcase {
    const char *what;
    unsigned mode; /* code size: 2, 4, 8 */
    const char *hex;
    unsigned len; /* 0: expect "undefined" (cpu_decode_bytes returns 0) */
    const char *mnem;
    int opsize, addrsize, seg, base, index, scale, reg, rm, mod, cc, pfx, rex;
    int64_t disp;
    int64_t imm, imm2;
    bool chk_disp, chk_imm, chk_imm2;
};

#define C(w, m, h, l, mn, ...)                                                               \
    {                                                                                        \
        .what = (w), .mode = (m), .hex = (h), .len = (l), .mnem = (mn), .opsize = NC,        \
        .addrsize = NC, .seg = NC, .base = NC, .index = NC, .scale = NC, .reg = NC,          \
        .rm = NC, .mod = NC, .cc = NC, .pfx = NC, .rex = NC, __VA_ARGS__                     \
    }
#define DISP(v) .chk_disp = true, .disp = (v)
#define IMM(v) .chk_imm = true, .imm = (int64_t)(v)
#define IMM2(v) .chk_imm2 = true, .imm2 = (v)
#define NONE REG_NONE
#define RIP REG_RIP

#pragma GCC diagnostic ignored "-Woverride-init"

static const struct dcase cases[] = {
    /* operand size: 66, REX.W, REX position (SDM 2A "REX Prefixes") */
    C("add rax,rcx", 8, "48 01 c8", 3, "ADD", .opsize = 8, .mod = 3, .reg = 1, .rm = 0, .rex = 0x48),
    C("add ecx,eax 64", 8, "01 c8", 2, "ADD", .opsize = 4),
    C("add cx,ax 64", 8, "66 01 c8", 3, "ADD", .opsize = 2, .pfx = PFX_OPSIZE),
    C("REX.W beats 66", 8, "66 48 01 c8", 4, "ADD", .opsize = 8),
    C("REX before 66 ignored", 8, "48 66 01 c8", 4, "ADD", .opsize = 2, .rex = 0),
    C("REX then REX: last", 8, "41 48 01 c8", 4, "ADD", .opsize = 8, .rm = 0, .rex = 0x48),
    C("add al,ah (no REX)", 8, "00 e0", 2, "ADD", .opsize = 1, .rm = 0, .reg = 4, .rex = 0),
    C("add al,spl (REX)", 8, "40 00 e0", 3, "ADD", .opsize = 1, .reg = 4, .rex = 0x40),
    C("REX.R REX.B regs", 8, "45 01 c8", 3, "ADD", .reg = 9, .rm = 8),
    C("add 32-bit", 4, "01 c8", 2, "ADD", .opsize = 4, .addrsize = 4),
    C("add 66 in 32", 4, "66 01 c8", 3, "ADD", .opsize = 2),
    C("add 16-bit", 2, "01 c8", 2, "ADD", .opsize = 2, .addrsize = 2),
    C("add 66 in 16", 2, "66 01 c8", 3, "ADD", .opsize = 4),
    /* ModRM / SIB forms, 32/64-bit addressing (SDM 2A Tables 2-2, 2-3) */
    C("[rax]", 8, "8b 00", 2, "MOV", .mod = 0, .base = 0, .index = NONE, .seg = SEG_DS, DISP(0)),
    C("[rsp] SIB", 8, "8b 04 24", 3, "MOV", .base = 4, .index = NONE, .seg = SEG_SS),
    C("[rsp+8]", 8, "8b 44 24 08", 4, "MOV", .base = 4, .seg = SEG_SS, DISP(8)),
    C("[rbp-8]", 8, "8b 45 f8", 3, "MOV", .base = 5, .seg = SEG_SS, DISP(-8)),
    C("rip-relative", 8, "8b 05 78 56 34 12", 6, "MOV", .base = RIP, .index = NONE, DISP(0x12345678)),
    C("rip-relative neg", 8, "8b 0d fc ff ff ff", 6, "MOV", .base = RIP, .reg = 1, DISP(-4)),
    C("disp32 absolute in 32", 4, "8b 05 78 56 34 12", 6, "MOV", .base = NONE, .index = NONE,
      .seg = SEG_DS, DISP(0x12345678)),
    C("SIB no base no index", 8, "8b 04 25 78 56 34 12", 7, "MOV", .base = NONE,
      .index = NONE, DISP(0x12345678)),
    C("SIB REX.X index r12", 8, "42 8b 04 25 00 00 00 00", 8, "MOV", .base = NONE,
      .index = 12),
    C("SIB no base, index, mod 0", 8, "8b 04 8d 10 00 00 00", 7, "MOV", .base = NONE,
      .index = 1, .scale = 2, .seg = SEG_DS, DISP(16)),
    C("SIB base rbp mod 1", 8, "8b 44 25 00", 4, "MOV", .base = 5, .index = NONE,
      .seg = SEG_SS, DISP(0)),
    C("base r12 needs SIB", 8, "41 8b 04 24", 4, "MOV", .base = 12, .index = NONE,
      .seg = SEG_DS),
    C("base r13 mod 1", 8, "41 8b 45 00", 4, "MOV", .base = 13, .seg = SEG_DS, DISP(0)),
    C("r13 mod 0 SIB -> disp32", 8, "41 8b 04 25 00 01 00 00", 8, "MOV", .base = NONE,
      DISP(0x100)),
    C("SIB scale 8 disp32", 8, "8b 84 c8 00 01 00 00", 7, "MOV", .base = 0, .index = 1,
      .scale = 3, DISP(0x100)),
    C("REX.WRXB SIB", 8, "4f 8b 84 c8 00 01 00 00", 8, "MOV", .opsize = 8, .reg = 8,
      .base = 8, .index = 9, .scale = 3),
    C("67 in 64", 8, "67 8b 00", 3, "MOV", .addrsize = 4, .base = 0),
    C("67 rip-relative", 8, "67 8b 05 00 00 00 00", 7, "MOV", .addrsize = 4, .base = RIP),
    C("67 in 32 -> 16-bit forms", 4, "67 8b 00", 3, "MOV", .addrsize = 2, .base = 3,
      .index = 6),
    /* segment overrides (SDM 3A "Segment Override Prefixes" in 64-bit mode) */
    C("FS honoured", 8, "64 8b 00", 3, "MOV", .seg = SEG_FS, .pfx = PFX_SEG),
    C("GS honoured", 8, "65 8b 00", 3, "MOV", .seg = SEG_GS),
    C("CS ignored in 64", 8, "2e 8b 00", 3, "MOV", .seg = SEG_DS, .pfx = 0),
    C("ES ignored on rbp", 8, "26 8b 45 00", 4, "MOV", .seg = SEG_SS),
    C("ES in 32", 4, "26 8b 00", 3, "MOV", .seg = SEG_ES, .pfx = PFX_SEG),
    C("DS over SS in 32", 4, "3e 8b 45 00", 4, "MOV", .seg = SEG_DS),
    C("last override wins", 4, "26 64 36 8b 00", 5, "MOV", .seg = SEG_SS),
    C("string source override", 8, "64 a4", 2, "MOVS", .seg = SEG_FS, .opsize = 1),
    /* 16-bit addressing (SDM 2A Table 2-1) */
    C("[bx+si]", 2, "8b 00", 2, "MOV", .addrsize = 2, .base = 3, .index = 6, .seg = SEG_DS),
    C("[bx+di]", 2, "8b 01", 2, "MOV", .base = 3, .index = 7, .seg = SEG_DS),
    C("[bp+si]", 2, "8b 02", 2, "MOV", .base = 5, .index = 6, .seg = SEG_SS),
    C("[bp+di]", 2, "8b 03", 2, "MOV", .base = 5, .index = 7, .seg = SEG_SS),
    C("[si]", 2, "8b 04", 2, "MOV", .base = 6, .index = NONE, .seg = SEG_DS),
    C("[di]", 2, "8b 05", 2, "MOV", .base = 7, .index = NONE),
    C("[disp16]", 2, "8b 06 34 12", 4, "MOV", .base = NONE, .index = NONE, .seg = SEG_DS,
      DISP(0x1234)),
    C("[bx]", 2, "8b 07", 2, "MOV", .base = 3, .index = NONE),
    C("[bp-2]", 2, "8b 46 fe", 3, "MOV", .base = 5, .seg = SEG_SS, DISP(-2)),
    C("[bx+disp16]", 2, "8b 87 00 80", 4, "MOV", .base = 3, DISP(-0x8000)),
    C("[bx+si+disp8]", 2, "8b 40 7f", 3, "MOV", .base = 3, .index = 6, DISP(0x7f)),
    C("67 in 16: 32-bit SIB", 2, "67 8b 04 24", 4, "MOV", .addrsize = 4, .base = 4,
      .seg = SEG_SS),
    /* moffs in all address sizes (SDM 2B "MOV") */
    C("moffs64", 8, "a1 88 77 66 55 44 33 22 11", 9, "MOV", .opsize = 4, .addrsize = 8,
      .base = NONE, .index = NONE, DISP(0x1122334455667788)),
    C("moffs64 REX.W", 8, "48 a1 88 77 66 55 44 33 22 11", 10, "MOV", .opsize = 8),
    C("moffs32 in 64", 8, "67 a2 78 56 34 12", 6, "MOV", .addrsize = 4, .opsize = 1,
      DISP(0x12345678)),
    C("moffs GS", 8, "65 a3 00 00 00 00 00 00 00 00", 10, "MOV", .seg = SEG_GS),
    C("moffs32", 4, "a1 78 56 34 12", 5, "MOV", DISP(0x12345678)),
    C("moffs16 in 32", 4, "67 a1 34 12", 4, "MOV", .addrsize = 2, DISP(0x1234)),
    C("moffs16", 2, "a0 34 12", 3, "MOV", .opsize = 1, DISP(0x1234)),
    C("moffs32 in 16", 2, "67 a1 78 56 34 12", 6, "MOV", .opsize = 2, DISP(0x12345678)),
    /* immediates */
    C("mov r64, imm64", 8, "48 b8 88 77 66 55 44 33 22 11", 10, "MOV", .opsize = 8, .rm = 0,
      IMM(0x1122334455667788ull)),
    C("mov r15, imm64", 8, "49 bf 01 00 00 00 00 00 00 80", 10, "MOV", .rm = 15,
      IMM(0x8000000000000001ull)),
    C("mov r32, imm32", 8, "b8 78 56 34 12", 5, "MOV", .opsize = 4, IMM(0x12345678)),
    C("mov r16, imm16", 8, "66 bb 34 12", 4, "MOV", .opsize = 2, .rm = 3, IMM(0x1234)),
    C("mov r8 +r, REX", 8, "40 b4 01", 3, "MOV", .opsize = 1, .rm = 4, .rex = 0x40),
    C("Ibs 64", 8, "48 83 c0 ff", 4, "ADD", .opsize = 8, IMM(-1)),
    C("Ibs 16", 8, "66 83 c0 ff", 4, "ADD", .opsize = 2, IMM(0xffff)),
    C("Ibs 32", 4, "83 c0 80", 3, "ADD", IMM(0xffffff80)),
    C("Iz sign-extended to 64", 8, "48 05 00 00 00 80", 6, "ADD", IMM(0xffffffff80000000ull)),
    C("Iz 32 not extended", 8, "05 00 00 00 80", 5, "ADD", IMM(0x80000000)),
    C("C7 REX.W Iz", 8, "48 c7 c0 ff ff ff ff", 7, "MOV", IMM(-1)),
    C("Iz 16", 2, "05 34 12", 3, "ADD", IMM(0x1234)),
    C("Ib zero-extended", 8, "c1 e0 ff", 3, "SHL", IMM(0xff)),
    C("imul 3-op", 8, "6b c1 fe", 3, "IMUL", .reg = 0, .rm = 1, IMM(0xfffffffe)),
    C("test F6 imm", 8, "f6 c0 ff", 3, "TEST", IMM(0xff)),
    C("test F7 imm", 8, "f7 c0 01 00 00 00", 6, "TEST"),
    C("test F7 /1", 8, "f7 c8 01 00 00 00", 6, "TEST"),
    C("not has no imm", 8, "f6 d0", 2, "NOT"),
    C("disp + imm", 8, "c7 44 24 08 78 56 34 12", 8, "MOV", DISP(8), IMM(0x12345678)),
    C("rip-rel + imm", 8, "c6 05 00 10 00 00 aa", 7, "MOV", .base = RIP, DISP(0x1000), IMM(0xaa)),
    C("enter", 8, "c8 10 00 01", 4, "ENTER", .opsize = 8, IMM(0x10), IMM2(1)),
    C("ret imm16", 8, "c2 08 00", 3, "RET", .opsize = 8, IMM(8)),
    C("aam", 4, "d4 0a", 2, "AAM", IMM(10)),
    /* branches: Jb/Jz sign-extended, f64 in 64-bit mode (SDM 2B "Jcc") */
    C("jz short", 8, "74 fe", 2, "Jcc", .cc = 4, .opsize = 8, IMM(-2)),
    C("jnz near", 8, "0f 85 00 01 00 00", 6, "Jcc", .cc = 5, IMM(0x100)),
    C("jg near neg", 8, "0f 8f 00 ff ff ff", 6, "Jcc", .cc = 15, IMM(-0x100)),
    C("66 jmp in 64 ignored", 8, "66 e9 00 00 00 00", 6, "JMP", .opsize = 8),
    C("66 jmp in 32: rel16", 4, "66 e9 34 12", 4, "JMP", .opsize = 2, IMM(0x1234)),
    C("call rel16", 2, "e8 fe ff", 3, "CALL", .opsize = 2, IMM(-2)),
    C("66 call in 16", 2, "66 e8 78 56 34 12", 6, "CALL", .opsize = 4),
    C("call indirect", 8, "ff d0", 2, "CALL", .opsize = 8, .reg = 2, .rm = 0),
    C("jmp [rip]", 8, "ff 25 00 00 00 00", 6, "JMP", .base = RIP),
    C("loop", 8, "e2 fe", 2, "LOOP", IMM(-2)),
    C("jrcxz 67", 8, "67 e3 00", 3, "JRCXZ", .addrsize = 4),
    /* d64 stack operations */
    C("push rax", 8, "50", 1, "PUSH", .opsize = 8, .rm = 0),
    C("push ax", 8, "66 50", 2, "PUSH", .opsize = 2),
    C("push r15", 8, "41 57", 2, "PUSH", .rm = 15),
    C("push eax in 32", 4, "50", 1, "PUSH", .opsize = 4),
    C("push imm8", 8, "6a ff", 2, "PUSH", .opsize = 8, IMM(-1)),
    C("push imm32", 8, "68 00 00 00 80", 5, "PUSH", IMM(0xffffffff80000000ull)),
    C("pop [rax]", 8, "8f 00", 2, "POP", .opsize = 8),
    C("leave", 8, "c9", 1, "LEAVE", .opsize = 8),
    /* NOP / XCHG / PAUSE (SDM 2B "NOP", "XCHG", "PAUSE") */
    C("nop", 8, "90", 1, "NOP"),
    C("REX.W 90 is NOP", 8, "48 90", 2, "NOP"),
    C("xchg r8,rax", 8, "41 90", 2, "XCHG", .rm = 8),
    C("xchg ecx,eax", 8, "91", 1, "XCHG", .rm = 1),
    C("pause", 8, "f3 90", 2, "PAUSE", .pfx = 0),
    C("pause 16", 2, "f3 90", 2, "PAUSE"),
    C("nop Ev", 8, "0f 1f 44 00 00", 5, "NOP"),
    C("nop 9 bytes", 8, "66 0f 1f 84 00 00 00 00 00", 9, "NOP"),
    C("hint nop 0F 19", 8, "0f 19 c0", 3, "NOP"),
    C("prefetcht0", 8, "0f 18 08", 3, "PREFETCHT0"),
    C("0F 18 /4 hint nop", 8, "0f 18 20", 3, "NOP"),
    C("endbr64", 8, "f3 0f 1e fa", 4, "ENDBR64"),
    C("endbr32", 4, "f3 0f 1e fb", 4, "ENDBR32"),
    C("0F 1E FA without F3", 8, "0f 1e fa", 3, "NOP"),
    /* mandatory prefixes (SDM 2A "Instruction Prefixes") */
    C("tzcnt", 8, "f3 0f bc c1", 4, "TZCNT", .pfx = 0, .opsize = 4),
    C("bsf", 8, "0f bc c1", 3, "BSF"),
    C("66 tzcnt", 8, "66 f3 0f bc c1", 5, "TZCNT", .opsize = 2),
    C("F2 bsf", 8, "f2 0f bc c1", 4, "BSF"),
    C("F2 then F3: tzcnt", 8, "f2 f3 0f bc c1", 5, "TZCNT"),
    C("F3 then F2: bsf", 8, "f3 f2 0f bc c1", 5, "BSF", .pfx = PFX_REPNE),
    C("lzcnt", 8, "f3 48 0f bd c1", 5, "LZCNT", .opsize = 8),
    C("popcnt", 8, "f3 0f b8 c1", 4, "POPCNT"),
    C("movbe", 8, "0f 38 f0 00", 4, "MOVBE", .opsize = 4),
    C("movbe 66", 8, "66 0f 38 f1 00", 5, "MOVBE", .opsize = 2),
    /* REX.W selected rows */
    C("cmpxchg8b", 8, "0f c7 0f", 3, "CMPXCHG8B", .opsize = 8),
    C("cmpxchg16b", 8, "48 0f c7 0f", 4, "CMPXCHG16B", .opsize = 16),
    C("cmpxchg8b 32", 4, "0f c7 0f", 3, "CMPXCHG8B"),
    /* conditional rows */
    C("setz", 8, "0f 94 c0", 3, "SETcc", .cc = 4, .opsize = 1),
    C("cmovl", 8, "48 0f 4c c1", 4, "CMOVcc", .cc = 12, .opsize = 8),
    /* strings and REP (last of F2/F3 wins) */
    C("rep movsb", 8, "f3 a4", 2, "MOVS", .opsize = 1, .pfx = PFX_REP),
    C("rep movsq", 8, "f3 48 a5", 3, "MOVS", .opsize = 8),
    C("repne/rep: rep", 8, "f2 f3 a6", 3, "CMPS", .pfx = PFX_REP),
    C("rep/repne: repne", 8, "f3 f2 ae", 3, "SCAS", .pfx = PFX_REPNE, .opsize = 1),
    C("stosw 16", 2, "ab", 1, "STOS", .opsize = 2),
    C("xlat", 8, "d7", 1, "XLAT"),
    /* conversions and mode-dependent rows */
    C("cdqe", 8, "48 98", 2, "CBW", .opsize = 8),
    C("cwd", 2, "99", 1, "CWD", .opsize = 2),
    C("movsxd", 8, "48 63 c1", 3, "MOVSXD", .opsize = 8),
    C("movzx", 8, "0f b6 c1", 3, "MOVZX", .opsize = 4),
    C("movsx w", 8, "48 0f bf c1", 4, "MOVSX", .opsize = 8),
    C("lea", 8, "48 8d 04 40", 4, "LEA", .base = 0, .index = 0, .scale = 1),
    C("bswap r9", 8, "49 0f c9", 3, "BSWAP", .rm = 9, .opsize = 8),
    C("bt imm", 8, "0f ba e0 05", 4, "BT", IMM(5)),
    C("sal alias", 8, "d1 f0", 2, "SAL"),
    C("shld cl", 8, "0f a5 c8", 3, "SHLD"),
    C("inc short form 32", 4, "40", 1, "INC", .rm = 0, .opsize = 4),
    C("dec short form 16", 2, "4f", 1, "DEC", .rm = 7, .opsize = 2),
    C("82 in 32", 4, "82 c0 01", 3, "ADD", .opsize = 1),
    C("daa 32", 4, "27", 1, "DAA"),
    C("pusha 32", 4, "60", 1, "PUSHA", .opsize = 4),
    C("ud2", 8, "0f 0b", 2, "UD2"),
    C("ud1 has ModRM", 8, "0f b9 04 24", 4, "UD1"),
    C("ud0 has ModRM", 8, "0f ff c0", 3, "UD0"),
    /* LOCK (SDM 2A "LOCK--Assert LOCK# Signal Prefix") */
    C("lock add mem", 8, "f0 01 08", 3, "ADD", .pfx = PFX_LOCK),
    C("lock xchg mem", 8, "f0 87 08", 3, "XCHG"),
    C("lock not mem", 8, "f0 f6 10", 3, "NOT"),
    C("lock cmpxchg16b", 8, "f0 48 0f c7 08", 5, "CMPXCHG16B"),
    C("lock bts imm", 8, "f0 0f ba 28 01", 5, "BTS"),
    C("lock with F3 (HLE)", 8, "f3 f0 01 08", 4, "ADD", .pfx = PFX_LOCK | PFX_REP),
    C("15 bytes", 8, "66 66 66 66 66 66 66 66 66 66 66 66 66 66 90", 15, "NOP"),
    C("15 bytes with imm64", 8, "66 66 66 2e 48 b8 01 02 03 04 05 06 07 08", 14, "MOV"),
};

/* Encodings that decode to no row, an i64/o64 row in the wrong mode, or LOCK
 * on a form that does not allow it: undefined (#UD) or too long (#GP). */
struct ucase {
    const char *what;
    unsigned mode;
    const char *hex;
};
static const struct ucase undef_cases[] = {
    { "lock add reg dest", 8, "f0 01 c8" },
    { "lock add reg dest, mem src", 8, "f0 03 08" },
    { "lock cmp", 8, "f0 39 08" },
    { "lock mov", 8, "f0 89 08" },
    { "lock nop", 8, "f0 90" },
    { "lock xchg reg", 8, "f0 87 c8" },
    { "lock bt", 8, "f0 0f a3 08" },
    { "daa in 64", 8, "27" },
    { "aam in 64", 8, "d4 0a" },
    { "82 in 64", 8, "82 c0 01" },
    { "pusha in 64", 8, "60" },
    { "D6 (SALC) 64", 8, "d6" },
    { "D6 (SALC) 32", 4, "d6" },
    { "D6 (SALC) 16", 2, "d6" },
    { "lea reg", 8, "8d c0" },
    { "cmpxchg8b reg", 8, "0f c7 c8" },
    { "movbe reg", 8, "0f 38 f0 c0" },
    { "F3 0F 38 F0", 8, "f3 0f 38 f0 00" },
    { "0F 38 10 (PBLENDVB is 66 only)", 8, "0f 38 10 00" },
    { "0F 3A 0E (PBLENDW is 66 only)", 8, "0f 3a 0e 00 00" },
    { "F3 0F 38 00 (PSHUFB is NP or 66)", 8, "f3 0f 38 00 00" },
    { "66 0F 38 2A reg (MOVNTDQA is memory only)", 8, "66 0f 38 2a c0" },
    { "0F BA /0", 8, "0f ba c0 05" },
    { "0F B8 without F3 (JMPE)", 8, "0f b8 c0" },
    { "FE /2", 8, "fe d0" },
    { "FF /7", 8, "ff f8" },
    { "C6 /1", 8, "c6 c8 00" },
    { "8F /1", 8, "8f c8" },
    { "16 bytes", 8, "66 66 66 66 66 66 66 66 66 66 66 66 66 66 66 90" },
    { "16 bytes imm64", 8, "66 66 66 2e 2e 2e 48 b8 01 02 03 04 05 06 07 08" },
    { "16 bytes modrm", 4, "26 26 26 26 26 26 26 26 26 26 26 81 80 00 00 00 00 01 00 00 00" },
    { "truncated imm", 8, "48 b8 01 02" },
    { "truncated modrm", 8, "0f" },
    { "truncated SIB", 8, "8b 04" },
};

static unsigned parse_hex(const char *s, uint8_t *out, unsigned max)
{
    unsigned n = 0;
    while (*s && n < max) {
        while (*s == ' ')
            s++;
        if (!*s)
            break;
        out[n++] = (uint8_t)strtoul(s, (char **)&s, 16);
    }
    return n;
}

#define CHECK_FIELD(name, got)                                                               \
    do {                                                                                     \
        if (tc->name != NC)                                                                  \
            ck_assert_msg((int)(got) == tc->name, "%s (%s): " #name " %d, expected %d",      \
                          tc->what, tc->hex, (int)(got), tc->name);                          \
    } while (0)

START_TEST(decode_fields)
{
    const struct dcase *tc = &cases[_i];
    uint8_t b[32];
    unsigned n = parse_hex(tc->hex, b, sizeof b);
    struct insn in;
    unsigned len = cpu_decode_bytes(b, n, tc->mode, &in);

    ck_assert_msg(len == tc->len, "%s (%s): length %u, expected %u", tc->what, tc->hex, len,
                  tc->len);
    ck_assert_msg(in.len == tc->len, "%s: in->len %u", tc->what, in.len);
    ck_assert_msg(strcmp(cpu_opid_name(in.id), tc->mnem) == 0, "%s (%s): mnemonic %s, expected %s",
                  tc->what, tc->hex, cpu_opid_name(in.id), tc->mnem);
    ck_assert_msg(in.handler != NULL, "%s: NULL handler", tc->what);
    CHECK_FIELD(opsize, in.opsize);
    CHECK_FIELD(addrsize, in.addrsize);
    CHECK_FIELD(seg, in.seg);
    CHECK_FIELD(base, in.base);
    CHECK_FIELD(index, in.index);
    CHECK_FIELD(scale, in.scale);
    CHECK_FIELD(reg, in.reg);
    CHECK_FIELD(rm, in.rm);
    CHECK_FIELD(mod, in.mod);
    CHECK_FIELD(cc, in.cc);
    CHECK_FIELD(pfx, in.pfx);
    CHECK_FIELD(rex, in.rex);
    if (tc->chk_disp)
        ck_assert_msg(in.disp == tc->disp, "%s (%s): disp %#llx, expected %#llx", tc->what,
                      tc->hex, (long long)in.disp, (long long)tc->disp);
    if (tc->chk_imm)
        ck_assert_msg(in.imm == (uint64_t)tc->imm, "%s (%s): imm %#llx, expected %#llx",
                      tc->what, tc->hex, (unsigned long long)in.imm,
                      (unsigned long long)tc->imm);
    if (tc->chk_imm2)
        ck_assert_msg(in.imm2 == (uint64_t)tc->imm2, "%s: imm2 %#llx, expected %#llx", tc->what,
                      (unsigned long long)in.imm2, (unsigned long long)tc->imm2);
}
END_TEST

START_TEST(decode_undefined)
{
    const struct ucase *tc = &undef_cases[_i];
    uint8_t b[32];
    unsigned n = parse_hex(tc->hex, b, sizeof b);
    struct insn in;
    unsigned len = cpu_decode_bytes(b, n, tc->mode, &in);

    ck_assert_msg(len == 0, "%s (%s): length %u, expected undefined", tc->what, tc->hex, len);
    ck_assert_msg(in.handler == op_ud, "%s (%s): handler is not op_ud", tc->what, tc->hex);
    ck_assert_msg(in.flags & IF_ENDS_BLOCK, "%s: undefined must end the block", tc->what);
}
END_TEST

/* Operand kinds and flags straight from the rows. */
START_TEST(decode_opk_and_flags)
{
    static const uint8_t lock_add[] = { 0x01, 0x08 }, jz[] = { 0x74, 0x00 },
                         mov_moffs[] = { 0xa0, 1, 2, 3, 4 };
    struct insn in;

    ck_assert_uint_eq(cpu_decode_bytes(lock_add, 2, 8, &in), 2);
    ck_assert_uint_eq(in.opk[0], OPK_RM);
    ck_assert_uint_eq(in.opk[1], OPK_REG);
    ck_assert_uint_eq(in.opk[2], OPK_NONE);
    ck_assert_uint_eq(in.flags, IF_LOCK_OK | IF_PURE);
    ck_assert_uint_eq(in.cost_class, COST_alu);
    ck_assert_uint_eq(in.opcode, 0x01);
    ck_assert_uint_eq(cpu_decode_bytes(jz, 2, 4, &in), 2);
    ck_assert_uint_eq(in.opk[0], OPK_REL);
    ck_assert(in.flags & IF_ENDS_BLOCK);
    ck_assert_uint_eq(in.cost_class, COST_branch);
    ck_assert_uint_eq(cpu_decode_bytes(mov_moffs, 5, 4, &in), 5);
    ck_assert_uint_eq(in.opk[0], OPK_ACC);
    ck_assert_uint_eq(in.opk[1], OPK_MOFFS);
    /* Rows of opcodes_sys.txt are not pure: POPF may set TF, OUT reaches a
     * device. */
    static const uint8_t popf[] = { 0x9d }, out_dx[] = { 0xee };
    ck_assert_uint_eq(cpu_decode_bytes(popf, 1, 8, &in), 1);
    ck_assert(!(in.flags & IF_PURE));
    ck_assert_uint_eq(cpu_decode_bytes(out_dx, 1, 8, &in), 1);
    ck_assert(!(in.flags & IF_PURE));
    ck_assert_str_eq(cpu_opid_name(OP_COUNT + 5), "(bad)");
    /* 63 is MOVSXD only in 64-bit mode (o64); elsewhere ARPL or #UD. */
    static const uint8_t op63[] = { 0x63, 0xc1 };
    cpu_decode_bytes(op63, 2, 4, &in);
    ck_assert_str_ne(cpu_opid_name(in.id), "MOVSXD");
    cpu_decode_bytes(op63, 2, 2, &in);
    ck_assert_str_ne(cpu_opid_name(in.id), "MOVSXD");
}
END_TEST

/* ---- Capstone cross-check ------------------------------------------------ */

/* Opcodes with rows in src/cpu/opcodes.txt: [0] one-byte map, [1] 0F map. */
static const uint8_t gp_one[] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x10, 0x11, 0x12,
    0x13, 0x14, 0x15, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25,
    0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x37,
    0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3f, 0x40, 0x45, 0x48, 0x4c, 0x50, 0x53, 0x57, 0x58,
    0x5d, 0x60, 0x61, 0x63, 0x68, 0x69, 0x6a, 0x6b, 0x70, 0x72, 0x74, 0x77, 0x7c, 0x7f, 0x80,
    0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8d, 0x8f, 0x90, 0x91,
    0x97, 0x98, 0x99, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9,
    0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb4, 0xb7, 0xb8, 0xbc, 0xbf, 0xc0, 0xc1, 0xc2,
    0xc3, 0xc6, 0xc7, 0xc8, 0xc9, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd7, 0xe0, 0xe1, 0xe2,
    0xe3, 0xe8, 0xe9, 0xeb, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfc, 0xfd, 0xfe, 0xff,
};
static const uint8_t gp_0f[] = {
    0x0b, 0x18, 0x19, 0x1c, 0x1d, 0x1e, 0x1f, 0x40, 0x43, 0x4f, 0x80, 0x84, 0x8e, 0x90, 0x95,
    0x9f, 0xa3, 0xa4, 0xa5, 0xab, 0xac, 0xad, 0xaf, 0xb0, 0xb1, 0xb3, 0xb6, 0xb7, 0xb8, 0xb9,
    0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf, 0xc0, 0xc1, 0xc7, 0xc8, 0xcc, 0xcf,
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rng(void)
{
    /* xorshift64*: fixed seed, so every run checks the same encodings */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

/* Generated encoding: random legacy prefixes, REX, opcode, then random bytes
 * for ModRM/SIB/displacement/immediate. */
static unsigned gen_encoding(uint8_t *b, unsigned mode)
{
    static const uint8_t legacy[] = { 0x66, 0x67, 0xf3, 0xf2, 0xf0, 0x2e, 0x3e, 0x26, 0x64, 0x65, 0x36 };
    unsigned n = 0;
    unsigned npfx = rng() % 4 == 0 ? 1 + rng() % 2 : 0;
    for (unsigned i = 0; i < npfx; i++)
        b[n++] = legacy[rng() % sizeof legacy];
    if (mode == 8 && rng() % 2)
        b[n++] = (uint8_t)(0x40 | (rng() & 15));
    unsigned which = rng() % 100;
    if (which < 65) {
        uint8_t op;
        do /* 40-4F are REX prefixes in 64-bit mode */
            op = gp_one[rng() % sizeof gp_one];
        while (mode == 8 && (op & 0xf0) == 0x40);
        b[n++] = op;
    } else if (which < 97) {
        b[n++] = 0x0f;
        b[n++] = gp_0f[rng() % sizeof gp_0f];
    } else {
        b[n++] = 0x0f;
        b[n++] = 0x38;
        b[n++] = (uint8_t)(0xf0 | (rng() & 1));
    }
    /* ModRM: bias towards memory forms with SIB so addressing is exercised */
    unsigned r = rng();
    uint8_t modrm = (uint8_t)r;
    if ((r >> 8) % 4 == 0)
        modrm = (uint8_t)((modrm & 0xf8) | 4);
    b[n++] = modrm;
    while (n < 24)
        b[n++] = (uint8_t)rng();
    return n;
}

static const char *const cc_names[16][3] = {
    { "o" }, { "no" }, { "b", "c", "nae" }, { "ae", "nb", "nc" }, { "e", "z" }, { "ne", "nz" },
    { "be", "na" }, { "a", "nbe" }, { "s" }, { "ns" }, { "p", "pe" }, { "np", "po" },
    { "l", "nge" }, { "ge", "nl" }, { "le", "ng" }, { "g", "nle" },
};

/* Does Capstone's mnemonic name the same instruction as the row? */
static bool mnemonic_matches(const char *row, unsigned cc, const char *cs)
{
    char want[32];
    size_t rl = strlen(row);
    unsigned i;

    for (i = 0; row[i] && i < sizeof want - 1; i++)
        want[i] = (char)tolower((unsigned char)row[i]);
    want[i] = 0;
    if (strcmp(want, cs) == 0)
        return true;
    if (rl > 2 && strcmp(row + rl - 2, "cc") == 0) { /* Jcc SETcc CMOVcc */
        size_t pl = rl - 2;
        if (strncmp(want, cs, pl) != 0)
            return false;
        for (i = 0; i < 3 && cc_names[cc][i]; i++)
            if (strcmp(cs + pl, cc_names[cc][i]) == 0)
                return true;
        return false;
    }
    static const char *const alias[][5] = {
        { "sal", "shl" }, { "shl", "sal" }, { "nop", "xchg" }, { "xchg", "nop" },
        { "cbw", "cwde", "cdqe" }, { "cwd", "cdq", "cqo" }, { "jrcxz", "jcxz", "jecxz" },
        { "movs", "movsb", "movsw", "movsd", "movsq" }, { "cmps", "cmpsb", "cmpsw", "cmpsd", "cmpsq" },
        { "stos", "stosb", "stosw", "stosd", "stosq" }, { "lods", "lodsb", "lodsw", "lodsd", "lodsq" },
        { "scas", "scasb", "scasw", "scasd", "scasq" }, { "pusha", "pushal", "pushaw", "pushad" },
        { "popa", "popal", "popaw", "popad" }, { "xlat", "xlatb" }, { "ret", "retq", "retw", "retl" },
        { "ud1", "ud2b" }, { "ud0", "ud1" }, { "mov", "movabs" },
        /* far forms share the mnemonic in other opcode tables (FF /3, FF /5) */
        { "call", "lcall" }, { "jmp", "ljmp" },
    };
    for (i = 0; i < sizeof alias / sizeof alias[0]; i++) {
        if (strcmp(alias[i][0], want) != 0)
            continue;
        for (unsigned k = 1; k < 5 && alias[i][k]; k++)
            if (strcmp(alias[i][k], cs) == 0)
                return true;
    }
    return false;
}

/* Strip prefix words Capstone folds into the mnemonic ("rep movsb"). */
static const char *cs_base_mnemonic(const char *m)
{
    static const char *const pfx[] = { "lock ", "rep ", "repe ", "repne ", "repz ", "repnz ",
                                       "bnd ", "notrack ", "xacquire ", "xrelease " };
    bool again = true;
    while (again) {
        again = false;
        for (unsigned i = 0; i < sizeof pfx / sizeof pfx[0]; i++) {
            size_t l = strlen(pfx[i]);
            if (strncmp(m, pfx[i], l) == 0) {
                m += l;
                again = true;
            }
        }
    }
    return m;
}

/* Known Capstone 4.0.2 differences from the SDM. Returns true if the
 * encoding is one of them (it is then counted but not compared). */
static bool capstone_known_wrong(const uint8_t *b, unsigned mode, const struct insn *in,
                                 const char *csm)
{
    const struct opcode_row *row = &opcode_rows[in->id];
    (void)b;
    /* SDM 2A "Instruction Prefixes" / SDM 2B "Jcc", "JMP", "CALL", "RET", "LOOP":
     * in 64-bit mode near branches have operand size 64; Intel processors
     * ignore 66 (Capstone decodes AMD's 16-bit form). */
    if (mode == 8 && (row->flags & ROWF_F64) && (in->pfx & PFX_OPSIZE))
        return true;
    /* SDM 2D Table A-3 "Two-byte Opcode Map": 0F 18-1F are hint NOPs with a
     * ModRM; Capstone reports MPX (bnd*), CET (rdssp, endbr) or prefetch names. */
    if (row->map == 1 && row->opcode >= 0x18 && row->opcode <= 0x1f)
        return strcmp(csm, "nop") != 0 && strncmp(csm, "prefetch", 8) != 0 &&
               strncmp(csm, "endbr", 5) != 0;
    /* SDM 2B "UD": UD0 (0F FF) and UD1 (0F B9) take a ModRM byte. */
    if (row->map == 1 && (row->opcode == 0xff || row->opcode == 0xb9))
        return true;
    return false;
}

struct xcheck_mode {
    unsigned mode;
    cs_mode csmode;
    unsigned want; /* compared encodings required */
};
static const struct xcheck_mode xmodes[] = {
    { 8, CS_MODE_64, 3000 },
    { 4, CS_MODE_32, 1500 },
    { 2, CS_MODE_16, 1000 },
};

START_TEST(capstone_crosscheck)
{
    const struct xcheck_mode *xm = &xmodes[_i];
    csh h;
    cs_insn *ci;
    unsigned compared = 0, known = 0, attempts = 0;

    ck_assert_int_eq(cs_open(CS_ARCH_X86, xm->csmode, &h), CS_ERR_OK);
    rng_state = 0x9e3779b97f4a7c15ull + xm->mode;
    while (compared < xm->want && attempts < 200000) {
        uint8_t b[32];
        char hex[64 * 3];
        struct insn in;
        unsigned n = gen_encoding(b, xm->mode);
        attempts++;
        unsigned len = cpu_decode_bytes(b, n, xm->mode, &in);
        if (len == 0)
            continue; /* undefined here; the #UD rules have their own cases */
        size_t cnt = cs_disasm(h, b, 15, 0x1000, 1, &ci);
        hex[0] = 0;
        for (unsigned i = 0; i < len + 2 && i < n; i++)
            snprintf(hex + strlen(hex), sizeof hex - strlen(hex), "%02x ", b[i]);
        const char *csm = cnt ? cs_base_mnemonic(ci[0].mnemonic) : "(none)";
        if (capstone_known_wrong(b, xm->mode, &in, csm)) {
            known++;
            if (cnt)
                cs_free(ci, cnt);
            continue;
        }
        ck_assert_msg(cnt == 1, "mode %u [%s]: Capstone cannot decode, nvmx says %s len %u",
                      xm->mode, hex, cpu_opid_name(in.id), len);
        ck_assert_msg(ci[0].size == len, "mode %u [%s]: length %u, Capstone %u (%s %s)",
                      xm->mode, hex, len, ci[0].size, ci[0].mnemonic, ci[0].op_str);
        ck_assert_msg(mnemonic_matches(cpu_opid_name(in.id), in.cc, csm),
                      "mode %u [%s]: mnemonic %s (cc %u), Capstone %s %s", xm->mode, hex,
                      cpu_opid_name(in.id), in.cc, ci[0].mnemonic, ci[0].op_str);
        cs_free(ci, cnt);
        compared++;
    }
    cs_close(&h);
    ck_assert_msg(compared >= xm->want, "mode %u: only %u encodings compared (%u known)",
                  xm->mode, compared, known);
    /* the known differences are a few corners, not a way around the check */
    ck_assert_msg(known * 10 < compared, "mode %u: %u known differences for %u compared",
                  xm->mode, known, compared);
}
END_TEST

/* Every SSE/SSE2 row (src/cpu/opcodes_sse.txt) against Capstone: random
 * legacy prefixes around the mandatory one, REX, register and memory ModRM
 * forms, in 64- and 32-bit code. Encodings nvmx leaves undefined (the
 * #UD catch-all rows) are not compared. */
static const uint8_t sse_0f[] = {
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x28, 0x29, 0x2b, 0x50, 0x54, 0x55,
    0x56, 0x57, 0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b,
    0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x7e, 0x7f, 0xae,
    0xc3, 0xc4, 0xc5, 0xc6, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda,
    0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe7, 0xe8, 0xe9,
    0xea, 0xeb, 0xec, 0xed, 0xee, 0xef, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
    0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe,
};

/* Capstone 4.0.2 with REX.W on SSE rows (the SDM ignores REX.W there):
 * NP 0F 28 and friends print as their 66 twin ("movapd" for MOVAPS), and
 * F3 REX.W 0F 7E as the MMX "movd r/m64, mm". Lengths still agree. */
static bool capstone_sse_known_wrong(const struct insn *in, unsigned mode, const char *csm)
{
    const char *ours = cpu_opid_name(in->id);
    size_t l = strlen(ours);
    if (mode != 8 || !(in->rex & 8) || l < 3)
        return false;
    if (!strcmp(ours, "MOVQ") && !strcmp(csm, "movd"))
        return true;
    /* Capstone 4.0.2 decodes NP forms on MMX registers with both 67 and
     * REX.W as their 66 (XMM) forms (PSHUFD for PSHUFW, MOVNTDQ for
     * MOVNTQ); without 66 they are the MMX instructions (SDM 2B). */
    if ((in->opk[0] == OPK_MMX || in->opk[1] == OPK_MMX) && (in->pfx & PFX_ADSIZE))
        return true;
    if (strcmp(ours + l - 2, "PS") || strlen(csm) != l || strcmp(csm + l - 2, "pd"))
        return false;
    for (size_t i = 0; i + 2 < l; i++)
        if (tolower((unsigned char)ours[i]) != csm[i])
            return false;
    return true;
}

/* Random encodings of the opcodes ops (after 0F, or 0F esc when esc is
 * 38H or 3AH) against Capstone: length and mnemonic. */
static void crosscheck_ops(const struct xcheck_mode *xm, uint8_t esc, const uint8_t *ops,
                           size_t nops, unsigned min_compared)
{
    static const uint8_t mand[] = { 0, 0x66, 0xf2, 0xf3 };
    csh h;
    cs_insn *ci;
    unsigned compared = 0, attempts = 0;
    bool seen[256] = { false };

    ck_assert_int_eq(cs_open(CS_ARCH_X86, xm->csmode, &h), CS_ERR_OK);
    rng_state = 0x5555aaaa12345678ull + xm->mode + esc;
    while (attempts < 60000) {
        uint8_t b[32];
        unsigned n = 0;
        attempts++;
        if (rng() % 4 == 0)
            b[n++] = (uint8_t)(rng() % 2 ? 0x2e : 0x67);
        if (mand[rng() % 4])
            b[n++] = mand[rng() % 4];
        if (xm->mode == 8 && rng() % 2)
            b[n++] = (uint8_t)(0x40 | (rng() & 15));
        uint8_t op = ops[rng() % nops];
        b[n++] = 0x0f;
        if (esc)
            b[n++] = esc;
        b[n++] = op;
        unsigned r = rng(), modrm_at = n;
        b[n++] = (uint8_t)((r >> 8) % 4 == 0 ? ((r & 0xf8) | 4) : r);
        while (n < 24)
            b[n++] = (uint8_t)rng();
        struct insn in;
        unsigned len = cpu_decode_bytes(b, n, xm->mode, &in);
        if (len == 0 || in.handler == op_ud)
            continue;
        /* 0F AE /4-/7 are not SSE rows (CLFLUSH, fences; 66 0F AE /7 is
         * CLFLUSHOPT for Capstone, CLFLUSH here: docs/instruction-coverage.md) */
        if (!esc && op == 0xae && ((b[modrm_at] >> 3) & 7) >= 4)
            continue;
        size_t cnt = cs_disasm(h, b, 15, 0x1000, 1, &ci);
        char hex[64] = "";
        for (unsigned i = 0; i < len && i < 15; i++)
            snprintf(hex + strlen(hex), sizeof hex - strlen(hex), "%02x ", b[i]);
        ck_assert_msg(cnt == 1, "mode %u [%s]: Capstone cannot decode, nvmx says %s len %u",
                      xm->mode, hex, cpu_opid_name(in.id), len);
        const char *csm = cs_base_mnemonic(ci[0].mnemonic);
        ck_assert_msg(ci[0].size == len, "mode %u [%s]: length %u, Capstone %u (%s %s)",
                      xm->mode, hex, len, ci[0].size, ci[0].mnemonic, ci[0].op_str);
        ck_assert_msg(mnemonic_matches(cpu_opid_name(in.id), in.cc, csm) ||
                          capstone_sse_known_wrong(&in, xm->mode, csm),
                      "mode %u [%s]: mnemonic %s, Capstone %s %s", xm->mode, hex,
                      cpu_opid_name(in.id), ci[0].mnemonic, ci[0].op_str);
        cs_free(ci, cnt);
        seen[op] = true;
        compared++;
    }
    cs_close(&h);
    for (unsigned i = 0; i < nops; i++)
        ck_assert_msg(seen[ops[i]], "mode %u: 0F %02X %02X never compared", xm->mode, esc,
                      ops[i]);
    ck_assert_msg(compared >= min_compared, "mode %u: only %u encodings compared", xm->mode,
                  compared);
}

START_TEST(capstone_crosscheck_sse)
{
    crosscheck_ops(&xmodes[_i], 0, sse_0f, sizeof sse_0f, 10000);
}
END_TEST

/* Every row of src/cpu/opcodes_sse4.txt (SSSE3 on XMM and MMX registers,
 * SSE4.1 integer, SSE4.2, CRC32) the same way; in these maps F2/F3 select
 * other instructions, so many random encodings are undefined and skipped. */
static const uint8_t sse4_0f38[] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x10, 0x17,
    0x1c, 0x1d, 0x1e, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x28, 0x29, 0x2a, 0x2b, 0x30,
    0x31, 0x32, 0x33, 0x34, 0x35, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
    0x40, 0x41, 0xf0, 0xf1,
};
static const uint8_t sse4_0f3a[] = { 0x0e, 0x0f, 0x14, 0x15, 0x16, 0x20, 0x22, 0x42,
                                     0x60, 0x61, 0x62, 0x63 };

START_TEST(capstone_crosscheck_sse4)
{
    crosscheck_ops(&xmodes[_i], 0x38, sse4_0f38, sizeof sse4_0f38, 5000);
    crosscheck_ops(&xmodes[_i], 0x3a, sse4_0f3a, sizeof sse4_0f3a, 5000);
}
END_TEST

static Suite *decode_suite(void)
{
    Suite *s = suite_create("decode");
    TCase *tc = tcase_create("fields");
    tcase_add_loop_test(tc, decode_fields, 0, sizeof cases / sizeof cases[0]);
    tcase_add_test(tc, decode_opk_and_flags);
    suite_add_tcase(s, tc);
    tc = tcase_create("undefined");
    tcase_add_loop_test(tc, decode_undefined, 0, sizeof undef_cases / sizeof undef_cases[0]);
    suite_add_tcase(s, tc);
    tc = tcase_create("capstone");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, capstone_crosscheck, 0, sizeof xmodes / sizeof xmodes[0]);
    /* 64- and 32-bit code: Capstone 4.0.2 drops the mandatory F2/F3 of some
     * SSE rows in 16-bit code (F2 0F 10 /r shows as MOVUPS) */
    tcase_add_loop_test(tc, capstone_crosscheck_sse, 0, 2);
    tcase_add_loop_test(tc, capstone_crosscheck_sse4, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(decode_suite());
}
