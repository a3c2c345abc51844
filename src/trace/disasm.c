/* The disassembly in vmexit lines. Capstone's output depends only on the
 * mode, the address and the bytes, so each distinct (code size, address,
 * bytes) is disassembled once and kept in a direct-mapped cache of fixed
 * size; an exit loop asks for the same few instructions again and again. */
#include "trace_internal.h"

#include <capstone/capstone.h>
#include <stdlib.h>
#include <string.h>

#define DISASM_SLOTS 1024 /* power of two */

struct disasm_slot {
    bool used, decoded;
    uint8_t code_size, nbytes, size;
    uint8_t bytes[TRACE_CODE_MAX];
    uint64_t rip;
    char text[192];
};

struct trace_disasm {
    csh cs[3]; /* Capstone handles for 16-, 32-, 64-bit code, opened on use */
    bool cs_open[3], cs_bad[3];
    struct disasm_slot slot[DISASM_SLOTS];
};

struct trace_disasm *trace_disasm_new(void) { return calloc(1, sizeof(struct trace_disasm)); }

void trace_disasm_free(struct trace_disasm *d)
{
    if (!d)
        return;
    for (int i = 0; i < 3; i++)
        if (d->cs_open[i])
            cs_close(&d->cs[i]);
    free(d);
}

static unsigned code_len(const struct trace_code *code)
{
    return code->nbytes < TRACE_CODE_MAX ? code->nbytes : TRACE_CODE_MAX;
}

/* Capstone itself: the text ("mnemonic operands") and the size, or false. */
static bool decode(struct trace_disasm *d, const struct trace_code *code, struct disasm_slot *s)
{
    int i = code->code_size == 8 ? 2 : code->code_size == 4 ? 1 : 0;
    static const cs_mode modes[3] = { CS_MODE_16, CS_MODE_32, CS_MODE_64 };
    if (d->cs_bad[i])
        return false;
    if (!d->cs_open[i]) {
        if (cs_open(CS_ARCH_X86, modes[i], &d->cs[i]) != CS_ERR_OK) {
            d->cs_bad[i] = true;
            return false;
        }
        d->cs_open[i] = true;
    }
    cs_insn *ci = NULL;
    if (cs_disasm(d->cs[i], code->bytes, code_len(code), code->rip, 1, &ci) != 1)
        return false;
    if (ci->op_str[0])
        snprintf(s->text, sizeof(s->text), "%s %s", ci->mnemonic, ci->op_str);
    else
        snprintf(s->text, sizeof(s->text), "%s", ci->mnemonic);
    s->size = (uint8_t)ci->size;
    cs_free(ci, 1);
    return true;
}

static unsigned slot_of(const struct trace_code *code)
{
    uint64_t h = 1469598103934665603ull ^ code->rip;
    h = (h ^ code->code_size) * 1099511628211ull;
    h = (h ^ code->nbytes) * 1099511628211ull;
    for (unsigned i = 0; i < code_len(code); i++)
        h = (h ^ code->bytes[i]) * 1099511628211ull;
    return (unsigned)(h ^ (h >> 29)) & (DISASM_SLOTS - 1);
}

struct trace_disasm_result trace_disasm(struct trace_disasm *d, const struct trace_code *code)
{
    unsigned n = code_len(code);
    struct disasm_slot *s = &d->slot[slot_of(code)];
    if (!s->used || s->rip != code->rip || s->code_size != code->code_size ||
        s->nbytes != n || memcmp(s->bytes, code->bytes, n)) {
        s->used = true;
        s->rip = code->rip;
        s->code_size = code->code_size;
        s->nbytes = (uint8_t)n;
        memcpy(s->bytes, code->bytes, n);
        s->decoded = n && decode(d, code, s);
        if (!s->decoded)
            s->size = (uint8_t)n;
    }
    return (struct trace_disasm_result){ s->decoded ? s->text : NULL, s->size };
}
