/* nvmx-bench: runs a loop in Unicorn, with no hooks or with a minimal
 * UC_HOOK_CODE callback (a counter), the cost an instrumenting emulator pays. */
#include "bench.h"

#include <string.h>
#include <time.h>
#include <unicorn/unicorn.h>

static void count_insn(uc_engine *uc, uint64_t addr, uint32_t size, void *user)
{
    ++*(uint64_t *)user;
}

bool bench_unicorn(const uint8_t *code, size_t len, unsigned end_off, bool hooked,
                   struct bench_result *r)
{
    uc_engine *uc;
    uc_hook h;
    uint64_t count = 0;
    memset(r, 0, sizeof *r);
    if (uc_open(UC_ARCH_X86, UC_MODE_64, &uc) != UC_ERR_OK)
        return false;
    uint64_t rsp = BENCH_STACK + BENCH_STACK_SIZE, rsi = BENCH_DATA;
    bool ok = uc_mem_map(uc, BENCH_CODE, 0x1000, UC_PROT_ALL) == UC_ERR_OK &&
              uc_mem_map(uc, BENCH_DATA, BENCH_DATA_SIZE, UC_PROT_ALL) == UC_ERR_OK &&
              uc_mem_map(uc, BENCH_STACK, BENCH_STACK_SIZE, UC_PROT_ALL) == UC_ERR_OK &&
              uc_mem_write(uc, BENCH_CODE, code, len) == UC_ERR_OK &&
              uc_reg_write(uc, UC_X86_REG_RSP, &rsp) == UC_ERR_OK &&
              uc_reg_write(uc, UC_X86_REG_RSI, &rsi) == UC_ERR_OK;
    if (ok && hooked)
        ok = uc_hook_add(uc, &h, UC_HOOK_CODE, (void *)count_insn, &count, 1, 0) == UC_ERR_OK;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* stop at the UD2 (until = its address) */
    if (ok)
        ok = uc_emu_start(uc, BENCH_CODE, BENCH_CODE + end_off, 0, 0) == UC_ERR_OK;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    r->seconds = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
    r->insns = count;
    uc_reg_read(uc, UC_X86_REG_RAX, &r->rax);
    uc_reg_read(uc, UC_X86_REG_RBX, &r->rbx);
    uc_close(uc);
    r->ok = ok;
    return ok;
}
