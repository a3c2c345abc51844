/* Decoder cross-check: nvmx's cpu_decode_bytes() against Capstone, on length
 * and mnemonic (with an alias table for names the two spell differently). */
#include "difftest.h"

#include "cpu/cpu_internal.h"

#include <capstone/capstone.h>
#include <ctype.h>
#include <string.h>

static csh cs64, cs32;

bool dt_decode_init(void)
{
    if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs64) != CS_ERR_OK)
        return false;
    if (cs_open(CS_ARCH_X86, CS_MODE_32, &cs32) != CS_ERR_OK)
        return false;
    return true;
}

void dt_decode_fini(void)
{
    if (cs64)
        cs_close(&cs64);
    if (cs32)
        cs_close(&cs32);
}

/* One spelling per instruction: the last word (prefixes such as "rep" and
 * "lock" dropped), upper case, then aliases. */
static void canon(const char *in, char *out, size_t n)
{
    const char *w = strrchr(in, ' ');
    w = w ? w + 1 : in;
    size_t i = 0;
    for (; w[i] && i + 1 < n; i++)
        out[i] = (char)toupper((unsigned char)w[i]);
    out[i] = 0;
    /* Capstone spells CMPPS/CMPPD/CMPSS/CMPSD with a predicate below 8 as
     * CMPEQPS ... CMPORDSD (SDM 2A "CMPPS", pseudo-op table) */
    static const char *const pred[] = {"EQ", "LT", "LE", "UNORD", "NEQ", "NLT", "NLE", "ORD"};
    size_t len = strlen(out);
    for (size_t p = 0; len > 5 && !strncmp(out, "CMP", 3) && p < sizeof pred / sizeof pred[0]; p++)
        if (strlen(pred[p]) == len - 5 && !strncmp(out + 3, pred[p], len - 5) &&
            strchr("PS", out[len - 2]) && strchr("SD", out[len - 1])) {
            memmove(out + 3, out + len - 2, 3);
            break;
        }
    static const char *const alias[][2] = {
        {"MOVABS", "MOV"}, {"MOVSB", "MOVS"}, {"MOVSW", "MOVS"}, {"MOVSD", "MOVS"},
        {"MOVSQ", "MOVS"}, {"STOSB", "STOS"}, {"STOSW", "STOS"}, {"STOSD", "STOS"},
        {"STOSQ", "STOS"}, {"LODSB", "LODS"}, {"LODSW", "LODS"}, {"LODSD", "LODS"},
        {"LODSQ", "LODS"}, {"CMPSB", "CMPS"}, {"CMPSW", "CMPS"}, {"CMPSD", "CMPS"},
        {"CMPSQ", "CMPS"}, {"SCASB", "SCAS"}, {"SCASW", "SCAS"}, {"SCASD", "SCAS"},
        {"SCASQ", "SCAS"}, {"CWDE", "CBW"},   {"CDQE", "CBW"},   {"CDQ", "CWD"},
        {"CQO", "CWD"},    {"SAL", "SHL"},    {"JECXZ", "JRCXZ"}, {"JCXZ", "JRCXZ"},
        {"RETQ", "RET"},   {"INSB", "INS"},   {"INSW", "INS"},   {"INSD", "INS"},
        {"OUTSB", "OUTS"}, {"OUTSW", "OUTS"}, {"OUTSD", "OUTS"}, {"XLATB", "XLAT"},
        {"PUSHFQ", "PUSHF"}, {"POPFQ", "POPF"}, {"IRETQ", "IRET"}, {"IRETD", "IRET"},
        {"INT1", "INT1"},  {"ICEBP", "INT1"}, {"SETCC", "SETCC"},
        /* SDM 2B "MOVD/MOVQ" is one instruction; Capstone 4.0.2 spells
         * MOVQ mm, r/m64 and MOVQ r/m64, mm (NP REX.W 0F 6E/7E) "movd" */
        {"MOVD", "MOVD/MOVQ"}, {"MOVQ", "MOVD/MOVQ"},
        {"FSTPNCE", "FSTP"}, {"FENI8087_NOP", "FNENI"}, {"FDISI8087_NOP", "FNDISI"},
        {"FSETPM", "FNSETPM"},
    };
    for (size_t a = 0; a < sizeof alias / sizeof alias[0]; a++)
        if (!strcmp(out, alias[a][0])) {
            snprintf(out, n, "%s", alias[a][1]);
            return;
        }
    if (out[0] == 'J' && strcmp(out, "JMP") && strcmp(out, "JRCXZ"))
        snprintf(out, n, "JCC");
    else if (!strncmp(out, "SET", 3))
        snprintf(out, n, "SETCC");
    else if (!strncmp(out, "CMOV", 4))
        snprintf(out, n, "CMOVCC");
}

static bool check(csh h, const uint8_t *bytes, unsigned avail, uint64_t addr, unsigned code_size,
                  bool names, char *why, size_t whylen)
{
    cs_insn *ci = NULL;
    size_t cnt = cs_disasm(h, bytes, avail, addr, 1, &ci);
    unsigned cs_len = cnt ? ci[0].size : 0;
    char cs_name[32] = "(bad)";
    if (cnt)
        canon(ci[0].mnemonic, cs_name, sizeof cs_name);
    if (cnt)
        cs_free(ci, cnt);
    struct insn in;
    memset(&in, 0, sizeof in);
    unsigned len = cpu_decode_bytes(bytes, avail, code_size, &in);
    if (len != cs_len) {
        snprintf(why, whylen, "length: nvmx %u (%s), capstone %u (%s)", len,
                 len ? cpu_opid_name(in.id) : "undefined", cs_len, cs_name);
        return false;
    }
    if (names) {
        char nv[32];
        canon(cpu_opid_name(in.id), nv, sizeof nv);
        if (strcmp(nv, cs_name)) {
            snprintf(why, whylen, "mnemonic: nvmx %s, capstone %s", nv, cs_name);
            return false;
        }
    }
    return true;
}

bool dt_decode_check(const uint8_t *bytes, unsigned avail, uint64_t addr, char *why,
                     size_t whylen)
{
    return check(cs64, bytes, avail, addr, 8, true, why, whylen);
}

/* Length-only check for guest images (mode 4 or 8). Returns capstone's
 * length in *cs_len (0: capstone cannot decode here). */
bool dt_decode_check_len(const uint8_t *bytes, unsigned avail, uint64_t addr, unsigned code_size,
                         unsigned *cs_len, char *why, size_t whylen);
bool dt_decode_check_len(const uint8_t *bytes, unsigned avail, uint64_t addr, unsigned code_size,
                         unsigned *cs_len, char *why, size_t whylen)
{
    csh h = code_size == 8 ? cs64 : cs32;
    cs_insn *ci = NULL;
    size_t cnt = cs_disasm(h, bytes, avail, addr, 1, &ci);
    *cs_len = cnt ? ci[0].size : 0;
    if (cnt)
        cs_free(ci, cnt);
    if (!*cs_len)
        return true;
    return check(h, bytes, avail, addr, code_size, false, why, whylen);
}

void dt_disasm(const uint8_t *bytes, unsigned avail, uint64_t addr, char *out, size_t outlen)
{
    cs_insn *ci = NULL;
    size_t cnt = cs_disasm(cs64, bytes, avail, addr, 1, &ci);
    if (!cnt) {
        snprintf(out, outlen, "(bad)");
        return;
    }
    snprintf(out, outlen, "%s %s", ci[0].mnemonic, ci[0].op_str);
    cs_free(ci, cnt);
}

/* Every x87 encoding (SDM 2D "Escape Opcode Instructions"): D8-DF with each
 * ModRM byte (memory forms with each addressing shape), with and without
 * 66 and REX, and WAIT. nvmx's decoder and Capstone must agree on the
 * length and the mnemonic of every form nvmx defines; the encodings nvmx
 * leaves undefined (#UD: the reserved aliases) are counted in *undefined.
 * Returns the number of disagreements (each printed to f). */
unsigned dt_decode_sweep_x87(FILE *f, unsigned *checked, unsigned *undefined)
{
    static const uint8_t pfx[][2] = {{0, 0}, {0x66, 0}, {0x48, 0}, {0x41, 0}, {0x66, 0x41}};
    unsigned bad = 0;
    *checked = *undefined = 0;
    for (unsigned p = 0; p < sizeof pfx / sizeof pfx[0]; p++)
        for (unsigned esc = 0xd8; esc <= 0xe0; esc++)
            for (unsigned modrm = 0; modrm < 256; modrm++) {
                uint8_t b[24] = {0};
                unsigned n = 0;
                for (unsigned i = 0; i < 2 && pfx[p][i]; i++)
                    b[n++] = pfx[p][i];
                if (esc == 0xe0) { /* WAIT, once per prefix set */
                    if (modrm)
                        break;
                    b[n++] = 0x9b;
                } else {
                    b[n++] = (uint8_t)esc;
                    b[n++] = (uint8_t)modrm;
                }
                for (unsigned i = n; i < sizeof b; i++)
                    b[i] = (uint8_t)(0x11 * (i & 7)); /* SIB and displacement bytes */
                struct insn in;
                memset(&in, 0, sizeof in);
                if (!cpu_decode_bytes(b, sizeof b, 8, &in)) {
                    (*undefined)++;
                    continue;
                }
                char why[120];
                (*checked)++;
                if (!dt_decode_check(b, sizeof b, 0x100000, why, sizeof why)) {
                    char text[96];
                    dt_disasm(b, sizeof b, 0x100000, text, sizeof text);
                    fprintf(f, "x87 decode %02x %02x %02x %02x: %s (capstone: %s)\n", b[0], b[1],
                            b[2], b[3], why, text);
                    bad++;
                }
            }
    return bad;
}
