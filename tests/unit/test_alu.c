/* General-purpose instructions run on a real CPU in flat 64-bit mode (BOUND
 * in flat 32-bit protected mode):
 * identity-mapped 2 MiB pages (PML4 0x1000, PDPT 0x2000, PD 0x3000) cover
 * the first 4 MiB; code at 0x10000 ends with "jmp $" so a generous
 * instruction limit stops the run at a known RIP. */
#include "cpu/ops_gp.h"
#include "harness.h"

#include <check.h>
#include <stdlib.h>

#define CODE 0x10000ull
#define STACK_TOP 0x80000ull

static struct machine *m;
static struct cpu *c;
static struct cost_model cm;

static uint64_t rd64(uint64_t pa)
{
    uint64_t v;
    memcpy(&v, m->ram + pa, 8);
    return v;
}

static void setup(void)
{
    m = th_machine_create(8ull << 20, false);
    c = th_cpu_create(m, NULL, &cm);
    th_long_mode_2m(c, 0x1000, 2, false, 0x500);
    c->rip = CODE;
    c->gpr[4] = STACK_TOP;
    c->stop_on_exception = true;
}

static void teardown(void)
{
    cpu_destroy(c);
    machine_destroy(m);
}

/* Load code followed by "jmp $"; returns the address of that jmp. */
static uint64_t load(const uint8_t *code, size_t n)
{
    memcpy(m->ram + CODE, code, n);
    m->ram[CODE + n] = 0xeb;
    m->ram[CODE + n + 1] = 0xfe;
    cpu_phys_written(c, CODE, n + 2);
    return CODE + n;
}

/* Run to the final "jmp $". */
static void run_to_end(const uint8_t *code, size_t n)
{
    uint64_t end = load(code, n);
    enum cpu_stop s = cpu_run(c, 100000);
    ck_assert_msg(s == CPU_STOP_INSN_LIMIT, "stopped with %d (exception %d) at 0x%llx", s,
                  c->last_exception, (unsigned long long)c->rip);
    ck_assert_msg(c->rip == end, "rip 0x%llx, expected 0x%llx", (unsigned long long)c->rip,
                  (unsigned long long)end);
}

/* Run until an exception stops the CPU at fault_at. */
static void run_to_fault(const uint8_t *code, size_t n, uint64_t fault_at, int vec)
{
    load(code, n);
    enum cpu_stop s = cpu_run(c, 100000);
    ck_assert_msg(s == CPU_STOP_EXCEPTION, "stopped with %d at 0x%llx", s,
                  (unsigned long long)c->rip);
    ck_assert_int_eq(c->last_exception, vec);
    ck_assert_msg(c->rip == fault_at, "rip 0x%llx, expected 0x%llx", (unsigned long long)c->rip,
                  (unsigned long long)fault_at);
}

#define ARITH (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)
#define RUN(...)                                                                            \
    do {                                                                                    \
        static const uint8_t code_[] = { __VA_ARGS__ };                                     \
        run_to_end(code_, sizeof code_);                                                    \
    } while (0)

START_TEST(add_carry_chain)
{
    RUN(0x48, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff, /* mov rax, -1 */
        0xbb, 0x01, 0x00, 0x00, 0x00,             /* mov ebx, 1 */
        0x31, 0xc9,                               /* xor ecx, ecx */
        0x48, 0x01, 0xd8,                         /* add rax, rbx */
        0x9f,                                     /* lahf */
        0x48, 0x83, 0xd1, 0x00);                  /* adc rcx, 0 */
    ck_assert_uint_eq(c->gpr[0], 0x5700); /* AH = SF ZF - AF - PF 1 CF after ADD */
    ck_assert_uint_eq(c->gpr[1], 1);
    ck_assert_uint_eq(cpu_get_rflags(c) & ARITH, 0);
}
END_TEST

START_TEST(op32_zero_extends)
{
    RUN(0x48, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff, /* mov rax, -1 */
        0x83, 0xc0, 0x01,                         /* add eax, 1 */
        0x48, 0xc7, 0xc2, 0xff, 0xff, 0xff, 0xff, /* mov rdx, -1 */
        0x66, 0x83, 0xc2, 0x01);                  /* add dx, 1 */
    ck_assert_uint_eq(c->gpr[0], 0);
    ck_assert_uint_eq(c->gpr[2], 0xffffffffffff0000ull);
    ck_assert_uint_eq(cpu_get_rflags(c) & ARITH, FL_CF | FL_PF | FL_AF | FL_ZF);
}
END_TEST

/* POP RSP leaves the popped value (SDM 2B "POP"): once by the reference
 * handler (the stack page's first read), then by the specialised one (the
 * TLB holds the page). */
START_TEST(pop_rsp_takes_popped_value)
{
    RUN(0x48, 0xc7, 0xc0, 0x00, 0x00, 0x07, 0x00, /* mov rax, 0x70000 */
        0x50,                                     /* push rax */
        0x5c,                                     /* pop rsp */
        0x48, 0x89, 0xe1,                         /* mov rcx, rsp */
        0x48, 0xc7, 0xc4, 0x00, 0x00, 0x08, 0x00, /* mov rsp, 0x80000 */
        0x48, 0xc7, 0xc3, 0x00, 0x00, 0x06, 0x00, /* mov rbx, 0x60000 */
        0x53,                                     /* push rbx */
        0x5c);                                    /* pop rsp */
    ck_assert_uint_eq(c->gpr[1], 0x70000);
    ck_assert_uint_eq(c->gpr[4], 0x60000);
    ck_assert_uint_eq(rd64(STACK_TOP - 8), 0x60000);
}
END_TEST

/* SDM 2A "Instruction Format": more than 15 bytes is #GP(0), whatever the
 * bytes would have meant (here 11 redundant prefixes on a 5-byte ADD). */
START_TEST(sixteen_bytes_is_gp)
{
    static const uint8_t code[] = {
        0x90,                                                       /* nop */
        0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e,
        0x48, 0x05, 0x01, 0x00, 0x00, 0x00,                         /* add rax, 1 */
    };
    run_to_fault(code, sizeof code, CODE + 1, EXC_GP);
    ck_assert_uint_eq(c->last_error, 0);
}
END_TEST

/* DEC + JNZ run fused; an instruction limit that falls between them stops
 * after the DEC with RIP at the JNZ, and the loop then goes on as before. */
START_TEST(fused_dec_jnz_stops_between)
{
    static const uint8_t code[] = {
        0xb9, 0x03, 0x00, 0x00, 0x00, /* mov ecx, 3 */
        0xff, 0xc9,                   /* 1: dec ecx */
        0x75, 0xfc,                   /* jnz 1b */
    };
    uint64_t end = load(code, sizeof code);
    ck_assert_int_eq(cpu_run(c, 4), CPU_STOP_INSN_LIMIT); /* mov, dec, jnz, dec */
    ck_assert_uint_eq(c->rip, CODE + 7);
    ck_assert_uint_eq(c->gpr[1], 1);
    ck_assert_uint_eq(c->stats.insns, 4);
    ck_assert_int_eq(cpu_run(c, 1), CPU_STOP_INSN_LIMIT); /* jnz, taken */
    ck_assert_uint_eq(c->rip, CODE + 5);
    ck_assert_int_eq(cpu_run(c, 3), CPU_STOP_INSN_LIMIT); /* dec, jnz (not taken), jmp $ */
    ck_assert_uint_eq(c->rip, end);
    ck_assert_uint_eq(c->gpr[1], 0);
    ck_assert_uint_eq(cpu_get_rflags(c) & FL_ZF, FL_ZF);
}
END_TEST

/* Flags producers fused with the JZ/JNZ after them: AND+JZ, TEST+JNZ,
 * CMP+JNZ, DEC+JNZ, each taken and not taken. */
START_TEST(fused_branches_count)
{
    RUN(0x31, 0xc0,                         /* xor eax, eax */
        0xb9, 0x0a, 0x00, 0x00, 0x00,       /* mov ecx, 10 */
        0xbb, 0x05, 0x00, 0x00, 0x00,       /* mov ebx, 5 */
        0x89, 0xca,                         /* 1: mov edx, ecx */
        0x83, 0xe2, 0x03,                   /* and edx, 3 */
        0x74, 0x02,                         /* jz 2f */
        0xff, 0xc0,                         /* inc eax */
        0xf7, 0xc1, 0x01, 0x00, 0x00, 0x00, /* 2: test ecx, 1 */
        0x75, 0x03,                         /* jnz 3f */
        0x83, 0xc0, 0x64,                   /* add eax, 100 */
        0x39, 0xd9,                         /* 3: cmp ecx, ebx */
        0x75, 0x05,                         /* jnz 4f */
        0x05, 0xe8, 0x03, 0x00, 0x00,       /* add eax, 1000 */
        0xff, 0xc9,                         /* 4: dec ecx */
        0x75, 0xdf);                        /* jnz 1b */
    /* ECX 10..1: ECX & 3 != 0 eight times, even five times, = 5 once */
    ck_assert_uint_eq(c->gpr[0], 8 + 500 + 1000);
    ck_assert_uint_eq(c->gpr[1], 0);
}
END_TEST

/* ADD's flags are dead when XOR follows in the block (the ADD runs without a
 * flags record); stopped between the two, the ADD's flags are all there. */
START_TEST(dead_flags_restored_when_cut)
{
    static const uint8_t code[] = {
        0xb8, 0xff, 0xff, 0xff, 0xff, /* mov eax, -1 */
        0xbb, 0x01, 0x00, 0x00, 0x00, /* mov ebx, 1 */
        0x01, 0xd8,                   /* add eax, ebx */
        0x31, 0xd1,                   /* xor ecx, edx */
    };
    load(code, sizeof code);
    ck_assert_int_eq(cpu_run(c, 3), CPU_STOP_INSN_LIMIT);
    ck_assert_uint_eq(c->rip, CODE + 12);
    ck_assert_uint_eq(c->gpr[0], 0);
    ck_assert_uint_eq(cpu_get_rflags(c) & ARITH, FL_CF | FL_PF | FL_AF | FL_ZF);
}
END_TEST

START_TEST(div_by_zero_is_de)
{
    static const uint8_t code[] = {
        0x31, 0xdb,                   /* xor ebx, ebx */
        0xb8, 0x07, 0x00, 0x00, 0x00, /* mov eax, 7 */
        0xf7, 0xf3,                   /* div ebx */
    };
    run_to_fault(code, sizeof code, CODE + 7, EXC_DE);
    ck_assert_uint_eq(c->gpr[0], 7);
}
END_TEST

START_TEST(idiv_int_min_by_minus_one_is_de)
{
    static const uint8_t code[] = {
        0xb8, 0x00, 0x00, 0x00, 0x80, /* mov eax, 0x80000000 */
        0x99,                         /* cdq */
        0xb9, 0xff, 0xff, 0xff, 0xff, /* mov ecx, -1 */
        0xf7, 0xf9,                   /* idiv ecx */
    };
    run_to_fault(code, sizeof code, CODE + 11, EXC_DE);
    ck_assert_uint_eq(c->gpr[0], 0x80000000u);
    ck_assert_uint_eq(c->gpr[2], 0xffffffffu);
}
END_TEST

START_TEST(div_quotient_overflow_is_de)
{
    static const uint8_t code[] = {
        0x66, 0xb8, 0x00, 0x10, /* mov ax, 0x1000 */
        0xb1, 0x10,             /* mov cl, 16 */
        0xf6, 0xf1,             /* div cl: 0x1000 / 16 = 0x100 > 0xff */
    };
    run_to_fault(code, sizeof code, CODE + 6, EXC_DE);
}
END_TEST

START_TEST(div_and_idiv_results)
{
    RUN(0x31, 0xd2,                         /* xor edx, edx */
        0xb8, 0x64, 0x00, 0x00, 0x00,       /* mov eax, 100 */
        0xb9, 0x07, 0x00, 0x00, 0x00,       /* mov ecx, 7 */
        0xf7, 0xf1,                         /* div ecx */
        0x48, 0xc7, 0xc3, 0x9c, 0xff, 0xff, 0xff, /* mov rbx, -100 */
        0x48, 0x89, 0xde,                   /* mov rsi, rbx */
        0x48, 0x89, 0xd8,                   /* mov rax, rbx */
        0x48, 0x99,                         /* cqo */
        0x48, 0xf7, 0xf9);                  /* idiv rcx */
    ck_assert_uint_eq(c->gpr[0], (uint64_t)-14);
    ck_assert_uint_eq(c->gpr[2], (uint64_t)-2);
}
END_TEST

START_TEST(rep_movsb_forward_and_backward)
{
    memcpy(m->ram + 0x20000, "0123456789", 10);
    RUN(0x48, 0xc7, 0xc6, 0x00, 0x00, 0x02, 0x00, /* mov rsi, 0x20000 */
        0x48, 0xc7, 0xc7, 0x00, 0x00, 0x03, 0x00, /* mov rdi, 0x30000 */
        0xb9, 0x0a, 0x00, 0x00, 0x00,             /* mov ecx, 10 */
        0xfc, 0xf3, 0xa4,                         /* cld; rep movsb */
        0x48, 0xc7, 0xc6, 0x09, 0x00, 0x02, 0x00, /* mov rsi, 0x20009 */
        0x48, 0xc7, 0xc7, 0x09, 0x01, 0x03, 0x00, /* mov rdi, 0x30109 */
        0xb9, 0x05, 0x00, 0x00, 0x00,             /* mov ecx, 5 */
        0xfd, 0xf3, 0xa4, 0xfc);                  /* std; rep movsb; cld */
    ck_assert_mem_eq(m->ram + 0x30000, "0123456789", 10);
    ck_assert_mem_eq(m->ram + 0x30105, "56789", 5);
    ck_assert_uint_eq(c->gpr[6], 0x20004);
    ck_assert_uint_eq(c->gpr[7], 0x30104);
    ck_assert_uint_eq(c->gpr[1], 0);
}
END_TEST

/* More iterations than one handler call runs: the instruction re-executes. */
START_TEST(rep_stos_long_count)
{
    RUN(0x48, 0xc7, 0xc7, 0x00, 0x00, 0x10, 0x00, /* mov rdi, 0x100000 */
        0xb9, 0x10, 0x27, 0x00, 0x00,             /* mov ecx, 10000 */
        0xb8, 0x5a, 0x5a, 0x5a, 0x5a,             /* mov eax, 0x5a5a5a5a */
        0xf3, 0x48, 0xab);                        /* rep stosq */
    ck_assert_uint_eq(c->gpr[1], 0);
    ck_assert_uint_eq(c->gpr[7], 0x100000 + 80000);
    ck_assert_uint_eq(rd64(0x100000), 0x5a5a5a5aull);
    ck_assert_uint_eq(rd64(0x100000 + 79992), 0x5a5a5a5aull);
    ck_assert_uint_eq(rd64(0x100000 + 80000), 0);
}
END_TEST

START_TEST(repne_scasb_finds_terminator)
{
    memcpy(m->ram + 0x20000, "hello", 6);
    RUN(0x48, 0xc7, 0xc7, 0x00, 0x00, 0x02, 0x00, /* mov rdi, 0x20000 */
        0x31, 0xc0,                               /* xor eax, eax */
        0xb9, 0xff, 0xff, 0xff, 0xff,             /* mov ecx, -1 */
        0xf2, 0xae);                              /* repne scasb */
    ck_assert_uint_eq(c->gpr[7], 0x20006);
    ck_assert_uint_eq(c->gpr[1], 0xfffffff9u);
    ck_assert(cpu_get_rflags(c) & FL_ZF);
}
END_TEST

START_TEST(repe_cmpsb_stops_at_difference)
{
    memcpy(m->ram + 0x20000, "abcXe", 5);
    memcpy(m->ram + 0x30000, "abcde", 5);
    RUN(0x48, 0xc7, 0xc6, 0x00, 0x00, 0x02, 0x00, /* mov rsi, 0x20000 */
        0x48, 0xc7, 0xc7, 0x00, 0x00, 0x03, 0x00, /* mov rdi, 0x30000 */
        0xb9, 0x05, 0x00, 0x00, 0x00,             /* mov ecx, 5 */
        0xf3, 0xa6);                              /* repe cmpsb */
    ck_assert_uint_eq(c->gpr[1], 1);
    ck_assert_uint_eq(c->gpr[6], 0x20004);
    /* 'X' (0x58) - 'd' (0x64) = 0xf4: borrow, negative, no nibble borrow */
    ck_assert_uint_eq(cpu_get_rflags(c) & ARITH, FL_CF | FL_SF);
}
END_TEST

/* A fault in the middle of a REP leaves the registers at the iterations
 * done and RIP at the instruction (the page at 4 MiB is not mapped). */
START_TEST(rep_movsb_fault_is_restartable)
{
    static const uint8_t code[] = {
        0x48, 0xc7, 0xc6, 0x00, 0x00, 0x02, 0x00, /* mov rsi, 0x20000 */
        0x48, 0xc7, 0xc7, 0xfc, 0xff, 0x3f, 0x00, /* mov rdi, 0x3ffffc */
        0xb9, 0x08, 0x00, 0x00, 0x00,             /* mov ecx, 8 */
        0xf3, 0xa4,                               /* rep movsb */
    };
    run_to_fault(code, sizeof code, CODE + 19, EXC_PF);
    ck_assert_uint_eq(c->gpr[1], 4);
    ck_assert_uint_eq(c->gpr[6], 0x20004);
    ck_assert_uint_eq(c->gpr[7], 0x400000);
}
END_TEST

START_TEST(call_ret_push_pop)
{
    RUN(0xe8, 0x08, 0x00, 0x00, 0x00,       /* call +8 */
        0x68, 0x78, 0x56, 0x34, 0x12,       /* push 0x12345678 */
        0x5b,                               /* pop rbx */
        0xeb, 0x06,                         /* jmp +6 (over the function) */
        0xb8, 0x2a, 0x00, 0x00, 0x00,       /* f: mov eax, 42 */
        0xc3,                               /* ret */
        0x6a, 0xff,                         /* push -1 */
        0x59);                              /* pop rcx */
    ck_assert_uint_eq(c->gpr[0], 42);
    ck_assert_uint_eq(c->gpr[3], 0x12345678);
    ck_assert_uint_eq(c->gpr[1], ~0ull);
    ck_assert_uint_eq(c->gpr[4], STACK_TOP);
    ck_assert_uint_eq(rd64(STACK_TOP - 8), ~0ull);
}
END_TEST

START_TEST(ret_imm_releases_stack)
{
    RUN(0x6a, 0x01, 0x6a, 0x02,             /* push 1; push 2 */
        0xe8, 0x02, 0x00, 0x00, 0x00,       /* call +2 */
        0xeb, 0x03,                         /* jmp +3 */
        0xc2, 0x10, 0x00);                  /* ret 16 */
    ck_assert_uint_eq(c->gpr[4], STACK_TOP);
}
END_TEST

START_TEST(loop_counts_rcx)
{
    RUN(0x31, 0xc0,                   /* xor eax, eax */
        0xb9, 0x05, 0x00, 0x00, 0x00, /* mov ecx, 5 */
        0xff, 0xc0,                   /* L: inc eax */
        0xe2, 0xfc);                  /* loop L */
    ck_assert_uint_eq(c->gpr[0], 5);
    ck_assert_uint_eq(c->gpr[1], 0);
}
END_TEST

START_TEST(setcc_cmovcc)
{
    RUN(0xb8, 0x03, 0x00, 0x00, 0x00, /* mov eax, 3 */
        0x83, 0xf8, 0x05,             /* cmp eax, 5 */
        0x0f, 0x92, 0xc3,             /* setb bl */
        0x0f, 0x97, 0xc7,             /* seta bh */
        0xba, 0x07, 0x00, 0x00, 0x00, /* mov edx, 7 */
        0x0f, 0x4c, 0xc2,             /* cmovl eax, edx */
        0x48, 0xc7, 0xc6, 0xff, 0xff, 0xff, 0xff, /* mov rsi, -1 */
        0x0f, 0x4f, 0xf2);            /* cmovg esi, edx: false, still zero-extends */
    ck_assert_uint_eq(c->gpr[0], 7);
    ck_assert_uint_eq(c->gpr[3] & 0xffff, 0x0001);
    ck_assert_uint_eq(c->gpr[6], 0xffffffffu);
}
END_TEST

START_TEST(memory_rmw_xadd_cmpxchg)
{
    RUN(0xbb, 0x00, 0x00, 0x04, 0x00,             /* mov ebx, 0x40000 */
        0xc7, 0x03, 0x0a, 0x00, 0x00, 0x00,       /* mov dword [rbx], 10 */
        0xb8, 0x05, 0x00, 0x00, 0x00,             /* mov eax, 5 */
        0x01, 0x03,                               /* add [rbx], eax */
        0x0f, 0xc1, 0x03,                         /* xadd [rbx], eax */
        0xb9, 0x63, 0x00, 0x00, 0x00,             /* mov ecx, 99 */
        0x0f, 0xb1, 0x0b,                         /* cmpxchg [rbx], ecx: 15 != 20 */
        0x0f, 0x94, 0xc2,                         /* sete dl */
        0x0f, 0xb1, 0x0b,                         /* cmpxchg [rbx], ecx: 20 == 20 */
        0x0f, 0x94, 0xc6);                        /* sete dh */
    ck_assert_uint_eq(rd64(0x40000) & 0xffffffff, 99);
    ck_assert_uint_eq(c->gpr[0], 20);
    ck_assert_uint_eq(c->gpr[2] & 0xffff, 0x0100);
}
END_TEST

START_TEST(jmp_noncanonical_is_gp)
{
    static const uint8_t code[] = {
        0x48, 0xb8, 0, 0, 0, 0, 0, 0x80, 0, 0, /* mov rax, 0x0000800000000000 */
        0xff, 0xe0,                            /* jmp rax */
    };
    run_to_fault(code, sizeof code, CODE + 10, EXC_GP);
    ck_assert_uint_eq(c->last_error, 0);
}
END_TEST

START_TEST(enter_leave)
{
    RUN(0x48, 0xc7, 0xc5, 0x77, 0x77, 0x00, 0x00, /* mov rbp, 0x7777 */
        0xc8, 0x20, 0x00, 0x00,                   /* enter 0x20, 0 */
        0x48, 0x89, 0xe0,                         /* mov rax, rsp */
        0x48, 0x89, 0xeb,                         /* mov rbx, rbp */
        0xc9,                                     /* leave */
        0xc8, 0x08, 0x00, 0x01,                   /* enter 8, 1 */
        0x48, 0x89, 0xe1,                         /* mov rcx, rsp */
        0x48, 0x89, 0xea);                        /* mov rdx, rbp */
    ck_assert_uint_eq(c->gpr[0], STACK_TOP - 8 - 0x20);
    ck_assert_uint_eq(c->gpr[3], STACK_TOP - 8);
    ck_assert_uint_eq(rd64(STACK_TOP - 8), 0x7777);
    ck_assert_uint_eq(c->gpr[1], STACK_TOP - 24);
    ck_assert_uint_eq(c->gpr[2], STACK_TOP - 8);
    ck_assert_uint_eq(rd64(STACK_TOP - 16), STACK_TOP - 8);
}
END_TEST

START_TEST(bt_memory_negative_offset)
{
    m->ram[0x40007] = 0x80;
    RUN(0xbb, 0x08, 0x00, 0x04, 0x00,             /* mov ebx, 0x40008 */
        0x48, 0xc7, 0xc1, 0xff, 0xff, 0xff, 0xff, /* mov rcx, -1 */
        0x48, 0x0f, 0xab, 0x0b,                   /* bts [rbx], rcx */
        0x48, 0x0f, 0xb3, 0x0b);                  /* btr [rbx], rcx */
    ck_assert(cpu_get_rflags(c) & FL_CF);
    ck_assert_uint_eq(m->ram[0x40007], 0x00);
}
END_TEST

START_TEST(shifts_and_rotates)
{
    RUN(0xb8, 0x81, 0x00, 0x00, 0x00, /* mov eax, 0x81 */
        0xd0, 0xe0,                   /* shl al, 1 */
        0xb1, 0x03,                   /* mov cl, 3 */
        0x48, 0xc7, 0xc3, 0x01, 0x00, 0x00, 0x80, /* mov rbx, 0xffffffff80000001 */
        0x48, 0xd3, 0xc3,             /* rol rbx, cl */
        0xba, 0xf0, 0x00, 0x00, 0x00, /* mov edx, 0xf0 */
        0xc0, 0xfa, 0x04);            /* sar dl, 4 */
    ck_assert_uint_eq(c->gpr[0], 0x02);
    ck_assert_uint_eq(c->gpr[3], 0xfffffffc0000000full);
    ck_assert_uint_eq(c->gpr[2], 0xff);
    ck_assert_uint_eq(cpu_get_rflags(c) & (FL_CF | FL_ZF | FL_SF), FL_SF);
}
END_TEST

START_TEST(lea_movzx_movsx_bswap)
{
    RUN(0x48, 0xc7, 0xc3, 0x00, 0x10, 0x00, 0x00, /* mov rbx, 0x1000 */
        0xb9, 0x03, 0x00, 0x00, 0x00,             /* mov ecx, 3 */
        0x48, 0x8d, 0x44, 0x8b, 0xfc,             /* lea rax, [rbx+rcx*4-4] */
        0xba, 0x80, 0xff, 0x00, 0x00,             /* mov edx, 0xff80 */
        0x48, 0x0f, 0xbe, 0xf2,                   /* movsx rsi, dl */
        0x0f, 0xb7, 0xfa,                         /* movzx edi, dx */
        0x0f, 0xca,                               /* bswap edx */
        0x48, 0x63, 0xe9);                        /* movsxd rbp, ecx */
    ck_assert_uint_eq(c->gpr[0], 0x1008);
    ck_assert_uint_eq(c->gpr[6], (uint64_t)-128);
    ck_assert_uint_eq(c->gpr[7], 0xff80);
    ck_assert_uint_eq(c->gpr[2], 0x80ff0000u);
    ck_assert_uint_eq(c->gpr[5], 3);
}
END_TEST

/* ---- TZCNT / LZCNT follow the model's CPUID --------------------------------- */

static struct cpu_model feat_model;

/* A model with or without BMI1 (CPUID.(EAX=07H,ECX=0):EBX[3]) and LZCNT
 * (CPUID.80000001H:ECX[5]). */
static void use_model(bool bmi1, bool lzcnt)
{
    memset(&feat_model, 0, sizeof feat_model);
    strcpy(feat_model.name, "alu-features");
    feat_model.leaves[feat_model.nleaves++] = (struct cpuid_leaf){ .leaf = 0, .eax = 7 };
    feat_model.leaves[feat_model.nleaves++] = (struct cpuid_leaf){
        .leaf = 7, .has_subleaf = true, .ebx = bmi1 ? 1u << 3 : 0 };
    feat_model.leaves[feat_model.nleaves++] =
        (struct cpuid_leaf){ .leaf = 0x80000000u, .eax = 0x80000001u };
    feat_model.leaves[feat_model.nleaves++] =
        (struct cpuid_leaf){ .leaf = 0x80000001u, .ecx = lzcnt ? 1u << 5 : 0 };
    c->model = &feat_model;
}

/* SDM 2B "TZCNT": with BMI1, a zero source gives the operand width and
 * CF = 1; without it F3 0F BC is BSF, which leaves the destination and
 * sets ZF. mov eax, 0x1234; mov edx, 0; tzcnt eax, edx. */
START_TEST(tzcnt_is_bsf_without_bmi1)
{
    bool bmi1 = _i == 0;
    use_model(bmi1, true);
    RUN(0xb8, 0x34, 0x12, 0x00, 0x00, /* mov eax, 0x1234 */
        0xba, 0x00, 0x00, 0x00, 0x00, /* mov edx, 0 */
        0xf3, 0x0f, 0xbc, 0xc2);      /* tzcnt eax, edx */
    uint64_t fl = cpu_get_rflags(c) & (FL_CF | FL_ZF);
    ck_assert_msg(c->gpr[0] == (bmi1 ? 32u : 0x1234u), "BMI1 %d: eax 0x%llx", bmi1,
                  (unsigned long long)c->gpr[0]);
    ck_assert_msg(fl == (bmi1 ? FL_CF : FL_ZF), "BMI1 %d: CF/ZF 0x%llx", bmi1,
                  (unsigned long long)fl);
}
END_TEST

/* SDM 2A "LZCNT": with CPUID.80000001H:ECX.LZCNT, LZCNT 1 (32-bit) is 31;
 * without it F3 0F BD is BSR, which gives 0 (and PF from that result).
 * mov eax, 0x1234; mov edx, 1; lzcnt eax, edx. */
START_TEST(lzcnt_is_bsr_without_lzcnt)
{
    bool lz = _i == 0;
    use_model(true, lz);
    RUN(0xb8, 0x34, 0x12, 0x00, 0x00, /* mov eax, 0x1234 */
        0xba, 0x01, 0x00, 0x00, 0x00, /* mov edx, 1 */
        0xf3, 0x0f, 0xbd, 0xc2);      /* lzcnt eax, edx */
    uint64_t fl = cpu_get_rflags(c) & (FL_CF | FL_ZF | FL_PF);
    ck_assert_msg(c->gpr[0] == (lz ? 31u : 0u), "LZCNT %d: eax 0x%llx", lz,
                  (unsigned long long)c->gpr[0]);
    ck_assert_msg(fl == (lz ? 0 : FL_PF), "LZCNT %d: CF/ZF/PF 0x%llx", lz,
                  (unsigned long long)fl);
}
END_TEST

/* ---- BOUND (16/32-bit code) ---------------------------------------------------- */

#define BOUNDS 0x20000ull

/* SDM 2A "BOUND": signed index against the signed pair at m16&16 / m32&32;
 * outside [lower, upper] is #BR, a fault at the BOUND. */
static const struct {
    const char *what;
    bool o16;
    uint32_t index, lower, upper;
    bool br;
} bound_cases[] = {
    { "32: inside", false, 5, (uint32_t)-3, 10, false },
    { "32: at lower", false, (uint32_t)-3, (uint32_t)-3, 10, false },
    { "32: at upper", false, 10, (uint32_t)-3, 10, false },
    { "32: below lower (signed)", false, (uint32_t)-4, (uint32_t)-3, 10, true },
    { "32: above upper", false, 11, (uint32_t)-3, 10, true },
    { "32: 0x80000000 is below 0", false, 0x80000000u, 0, 0x7fffffffu, true },
    { "16: 0x8000 is below -1", true, 0x8000, 0xffff, 0x7fff, true },
    { "16: only the low word of the index", true, 0xffff0005u, 0, 10, false },
    { "16: 0xfffe is -2, inside", true, 0xfffe, 0xfffd, 0, false },
};

START_TEST(bound_checks_signed_range)
{
    cpu_set_flat_protected(c);
    c->rip = CODE;
    bool o16 = bound_cases[_i].o16;
    unsigned sz = o16 ? 2 : 4;
    memcpy(m->ram + BOUNDS, &bound_cases[_i].lower, sz);
    memcpy(m->ram + BOUNDS + sz, &bound_cases[_i].upper, sz);
    c->gpr[0] = bound_cases[_i].index;
    uint8_t code[] = { 0x66, 0x62, 0x05, 0x00, 0x00, 0x02, 0x00 }; /* bound eax, [0x20000] */
    const uint8_t *p = o16 ? code : code + 1;
    size_t n = o16 ? sizeof code : sizeof code - 1;
    uint64_t end = load(p, n);
    enum cpu_stop s = cpu_run(c, 100);
    if (bound_cases[_i].br) {
        ck_assert_msg(s == CPU_STOP_EXCEPTION && c->last_exception == EXC_BR,
                      "%s: stop %d exception %d, expected #BR", bound_cases[_i].what, s,
                      c->last_exception);
        ck_assert_msg(c->rip == CODE, "%s: rip 0x%llx", bound_cases[_i].what,
                      (unsigned long long)c->rip);
    } else {
        ck_assert_msg(s == CPU_STOP_INSN_LIMIT && c->rip == end,
                      "%s: stop %d exception %d rip 0x%llx", bound_cases[_i].what, s,
                      c->last_exception, (unsigned long long)c->rip);
    }
    ck_assert_uint_eq(c->gpr[0], bound_cases[_i].index);
}
END_TEST

/* The register form (62 /r with mod = 3) is #UD, and 62 is not BOUND in
 * 64-bit mode (SDM 2A "BOUND": "#UD If in 64-bit mode"). */
START_TEST(bound_register_form_and_64bit_ud)
{
    memset(m->ram + BOUNDS, 0, 8);
    run_to_fault((const uint8_t[]){ 0x62, 0x05, 0x00, 0x00, 0x02, 0x00 }, 6, CODE, EXC_UD);
    cpu_set_flat_protected(c);
    c->rip = CODE;
    run_to_fault((const uint8_t[]){ 0x62, 0xc1 }, 2, CODE, EXC_UD);
}
END_TEST

static Suite *alu_suite(void)
{
    Suite *s = suite_create("alu");
    TCase *t = tcase_create("arith");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, add_carry_chain);
    tcase_add_test(t, op32_zero_extends);
    tcase_add_test(t, div_by_zero_is_de);
    tcase_add_test(t, idiv_int_min_by_minus_one_is_de);
    tcase_add_test(t, div_quotient_overflow_is_de);
    tcase_add_test(t, div_and_idiv_results);
    tcase_add_test(t, shifts_and_rotates);
    tcase_add_test(t, bt_memory_negative_offset);
    tcase_add_test(t, lea_movzx_movsx_bswap);
    tcase_add_test(t, memory_rmw_xadd_cmpxchg);
    tcase_add_test(t, setcc_cmovcc);
    suite_add_tcase(s, t);
    t = tcase_create("string");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, rep_movsb_forward_and_backward);
    tcase_add_test(t, rep_stos_long_count);
    tcase_add_test(t, repne_scasb_finds_terminator);
    tcase_add_test(t, repe_cmpsb_stops_at_difference);
    tcase_add_test(t, rep_movsb_fault_is_restartable);
    suite_add_tcase(s, t);
    t = tcase_create("branch_stack");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, call_ret_push_pop);
    tcase_add_test(t, ret_imm_releases_stack);
    tcase_add_test(t, loop_counts_rcx);
    tcase_add_test(t, jmp_noncanonical_is_gp);
    tcase_add_test(t, enter_leave);
    tcase_add_test(t, pop_rsp_takes_popped_value);
    tcase_add_test(t, sixteen_bytes_is_gp);
    tcase_add_test(t, fused_dec_jnz_stops_between);
    tcase_add_test(t, fused_branches_count);
    tcase_add_test(t, dead_flags_restored_when_cut);
    suite_add_tcase(s, t);
    t = tcase_create("cpuid_gated");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_loop_test(t, tzcnt_is_bsf_without_bmi1, 0, 2);
    tcase_add_loop_test(t, lzcnt_is_bsr_without_lzcnt, 0, 2);
    suite_add_tcase(s, t);
    t = tcase_create("bound");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_loop_test(t, bound_checks_signed_range, 0,
                        sizeof bound_cases / sizeof bound_cases[0]);
    tcase_add_test(t, bound_register_form_and_64bit_ud);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return th_run_suite(alu_suite());
}
