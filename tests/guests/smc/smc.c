/* Guest test: self-modifying code (SDM 3A "Self-Modifying Code"). Code that
 * has already executed is overwritten -- through the same linear address,
 * inside the running block, across a page boundary, and through a second
 * mapping of the same physical page -- and must show its new behaviour.
 * After writes through another linear address the test executes CPUID
 * (serializing), as the SDM asks of such software. */
#include "paging.h"
#include "report.h"
#include "rtstring.h"
#include "x86.h"

typedef uint32_t (*code_fn)(void);

uint32_t smc_same_block(void);
extern uint8_t smc_same_block_imm[];

/* Two pages of writable, executable (NX is off) memory for generated code. */
static uint8_t code[2 * 4096] __attribute__((aligned(4096), section(".data")));
static uint8_t code_b[4096] __attribute__((aligned(4096), section(".data")));

#define LIN_ALIAS (PG_TEST_BASE + 0x0000)
#define LIN_REMAP (PG_TEST_BASE + 0x1000)

/* mov $imm32, %eax; ret */
static void emit_mov_ret(uint8_t *p, uint32_t imm)
{
    p[0] = 0xb8;
    memcpy(p + 1, &imm, 4);
    p[5] = 0xc3;
}

static uint32_t call_at(const void *p)
{
    return ((code_fn)(uintptr_t)p)();
}

static void test_same_page(void)
{
    emit_mov_ret(code, 1);
    check_eq("smc.same_page.before", call_at(code), 1);
    code[1] = 2;
    check_eq("smc.same_page.patched_imm", call_at(code), 2);

    /* xor %eax,%eax; inc %eax x3; ret: different lengths and boundaries */
    static const uint8_t three[] = { 0x31, 0xc0, 0xff, 0xc0, 0xff, 0xc0, 0xff, 0xc0, 0xc3 };
    memcpy(code, three, sizeof(three));
    check_eq("smc.same_page.new_instructions", call_at(code), 3);
}

static void test_hot_loop(void)
{
    uint32_t sum = 0;

    emit_mov_ret(code, 5);
    for (int i = 0; i < 1000; i++)
        sum += call_at(code);
    check_eq("smc.hot_loop.sum", sum, 5000);
    code[1] = 9;
    sum = 0;
    for (int i = 0; i < 1000; i++)
        sum += call_at(code);
    check_eq("smc.hot_loop.patched_sum", sum, 9000);
}

static void test_same_block(void)
{
    for (int i = 0; i < 3; i++) {
        smc_same_block_imm[0] = 1;
        if (!check_eq("smc.same_block", smc_same_block(), 7))
            break;
    }
}

/* mov $imm32, %eax with the opcode on the first page and the immediate on
 * the second: a write to the second page alone must be seen. */
static void test_cross_page(void)
{
    uint8_t *insn = code + 4096 - 1;

    emit_mov_ret(insn, 0x11);
    check_eq("smc.cross_page.before", call_at(insn), 0x11);
    code[4096] = 0x22;
    check_eq("smc.cross_page.patched_second_page", call_at(insn), 0x22);
}

static void test_alias(void)
{
    uint8_t *alias = (uint8_t *)LIN_ALIAS;

    if (!pg_map(LIN_ALIAS, (uint64_t)code, PTE_P | PTE_W))
        return;
    emit_mov_ret(code, 5);
    check_eq("smc.alias.before", call_at(code), 5);
    alias[1] = 6;
    serialize();
    check_eq("smc.alias.write_via_alias", call_at(code), 6);
    check_eq("smc.alias.exec_via_alias", call_at(alias), 6);
    code[1] = 8;
    serialize();
    check_eq("smc.alias.write_via_original_exec_via_alias", call_at(alias), 8);
}

/* The same linear address, remapped to other code: the old translation must
 * not survive INVLPG (pg_map flushes it). */
static void test_remap(void)
{
    emit_mov_ret(code, 0xa);
    emit_mov_ret(code_b, 0xb);
    if (!pg_map(LIN_REMAP, (uint64_t)code, PTE_P))
        return;
    check_eq("smc.remap.first", call_at((void *)LIN_REMAP), 0xa);
    pg_map(LIN_REMAP, (uint64_t)code_b, PTE_P);
    check_eq("smc.remap.after_invlpg", call_at((void *)LIN_REMAP), 0xb);
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    test_same_page();
    test_hot_loop();
    test_same_block();
    test_cross_page();
    test_alias();
    test_remap();
}
