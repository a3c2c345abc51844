/* --trace-insns: one line per instruction about to execute, for debugging:
 *   <cycles> <cs>:<rip> <bytes> <disassembly>
 * Capstone disassembles; nvmx's own decode gave the length. */
#include "cpu_internal.h"

#include "nvmx/cpu_hooks.h"

#include <capstone/capstone.h>
#include <stdio.h>

void cpu_trace_insn(struct cpu *c, const struct insn *in);

void cpu_trace_insn(struct cpu *c, const struct insn *in)
{
    FILE *f = c->trace_insns;
    uint8_t buf[16] = {0};
    /* a look that changes nothing: tracing must not change the run */
    unsigned n = cpu_fetch_bytes(c, c->rip, buf, in->len);
    fprintf(f, "%llu %04x:%016llx ", (unsigned long long)c->cycles,
            (unsigned)c->seg[SEG_CS].sel, (unsigned long long)c->rip);
    for (unsigned i = 0; i < 15; i++)
        fprintf(f, i < n ? "%02x" : "  ", buf[i]);
    /* One Capstone handle per code size, opened on first use. */
    static csh handles[3];
    static bool opened[3];
    unsigned k = c->code_size == 8 ? 2 : c->code_size == 4 ? 1 : 0;
    cs_mode mode = k == 2 ? CS_MODE_64 : k == 1 ? CS_MODE_32 : CS_MODE_16;
    if (!opened[k])
        opened[k] = cs_open(CS_ARCH_X86, mode, &handles[k]) == CS_ERR_OK;
    const char *text = "(undecodable)";
    char line[sizeof(((cs_insn *)0)->mnemonic) + sizeof(((cs_insn *)0)->op_str) + 2];
    cs_insn *ci = NULL;
    if (opened[k] && cs_disasm(handles[k], buf, n, c->rip, 1, &ci) == 1) {
        snprintf(line, sizeof line, "%s %s", ci->mnemonic, ci->op_str);
        text = line;
        cs_free(ci, 1);
    }
    fprintf(f, " %s\n", text);
}
