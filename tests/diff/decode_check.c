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
