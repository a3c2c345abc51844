/* Benchmark guest loops: 64-bit machine code, position-independent, each
 * ending in UD2. The same bytes run in nvmx and in Unicorn. Assembly is in
 * the comments (Intel syntax); iteration counts are the imm32 at count_off. */
#include "bench.h"

/* integer ALU: 8 instructions per iteration */
static const uint8_t alu[] = {
    0xb9, 0x00, 0x2d, 0x31, 0x01,       /* mov ecx, 20000000          */
    0x48, 0x01, 0xd8,                   /* 1: add rax, rbx            */
    0x48, 0x31, 0xc2,                   /* xor rdx, rax               */
    0x48, 0x6b, 0xf2, 0x07,             /* imul rsi, rdx, 7           */
    0x48, 0xc1, 0xc0, 0x03,             /* rol rax, 3                 */
    0x48, 0x29, 0xf3,                   /* sub rbx, rsi               */
    0x48, 0x8d, 0x7c, 0x58, 0x01,       /* lea rdi, [rax + rbx*2 + 1] */
    0xff, 0xc9,                         /* dec ecx                    */
    0x75, 0xe6,                         /* jnz 1b                     */
    0x0f, 0x0b,                         /* ud2                        */
};

/* loads and stores over a 64 KiB buffer at RSI: 7 per iteration */
static const uint8_t mem[] = {
    0xb9, 0x40, 0x78, 0x7d, 0x01,       /* mov ecx, 25000000          */
    0x31, 0xd2,                         /* xor edx, edx               */
    0x48, 0x8b, 0x04, 0x16,             /* 1: mov rax, [rsi + rdx]    */
    0x48, 0x01, 0xc8,                   /* add rax, rcx               */
    0x48, 0x89, 0x44, 0x16, 0x08,       /* mov [rsi + rdx + 8], rax   */
    0x83, 0xc2, 0x10,                   /* add edx, 16                */
    0x81, 0xe2, 0xf0, 0xff, 0x00, 0x00, /* and edx, 0xfff0            */
    0xff, 0xc9,                         /* dec ecx                    */
    0x75, 0xe7,                         /* jnz 1b                     */
    0x0f, 0x0b,                         /* ud2                        */
};

/* near CALL / RET: 5 per iteration */
static const uint8_t callret[] = {
    0xb9, 0x80, 0xc3, 0xc9, 0x01,       /* mov ecx, 30000000          */
    0xe8, 0x06, 0x00, 0x00, 0x00,       /* 1: call 2f                 */
    0xff, 0xc9,                         /* dec ecx                    */
    0x75, 0xf7,                         /* jnz 1b                     */
    0x0f, 0x0b,                         /* ud2                        */
    0x48, 0x83, 0xc0, 0x01,             /* 2: add rax, 1              */
    0xc3,                               /* ret                        */
};

/* data-dependent branches: a 16-bit Galois LFSR (taps 0xb400) decides */
static const uint8_t branchy[] = {
    0xb9, 0x00, 0x2d, 0x31, 0x01,       /* mov ecx, 20000000          */
    0xb8, 0xe1, 0xac, 0x00, 0x00,       /* mov eax, 0xace1            */
    0x89, 0xc2,                         /* 1: mov edx, eax            */
    0xd1, 0xe8,                         /* shr eax, 1                 */
    0x83, 0xe2, 0x01,                   /* and edx, 1                 */
    0x74, 0x05,                         /* jz 2f                      */
    0x35, 0x00, 0xb4, 0x00, 0x00,       /* xor eax, 0xb400            */
    0xa8, 0x02,                         /* 2: test al, 2              */
    0x75, 0x06,                         /* jnz 3f                     */
    0x48, 0x83, 0xc3, 0x01,             /* add rbx, 1                 */
    0xeb, 0x04,                         /* jmp 4f                     */
    0x48, 0x83, 0xeb, 0x01,             /* 3: sub rbx, 1              */
    0xff, 0xc9,                         /* 4: dec ecx                 */
    0x75, 0xe0,                         /* jnz 1b                     */
    0x0f, 0x0b,                         /* ud2                        */
};

/* self-modifying: every 256 iterations the imm32 of the ADD in the inner
 * loop (same page, same block) is incremented */
static const uint8_t smc[] = {
    0x41, 0xb8, 0xf0, 0x49, 0x02, 0x00, /* mov r8d, 150000            */
    0xff, 0x05, 0x07, 0x00, 0x00, 0x00, /* 1: inc dword [rip + imm]   */
    0xb9, 0x00, 0x01, 0x00, 0x00,       /* mov ecx, 256               */
    0x48, 0x05, 0x01, 0x00, 0x00, 0x00, /* 2: add rax, imm32 (imm: 1) */
    0x48, 0x31, 0xc3,                   /* xor rbx, rax               */
    0xff, 0xc9,                         /* dec ecx                    */
    0x75, 0xf3,                         /* jnz 2b                     */
    0x41, 0xff, 0xc8,                   /* dec r8d                    */
    0x75, 0xe3,                         /* jnz 1b                     */
    0x0f, 0x0b,                         /* ud2                        */
};

/* SSE memcpy: 32 KiB from [rsi] to [rsi + 32 KiB], 32 bytes per iteration
 * with aligned loads, unaligned stores and an integer-SIMD XOR; 8 per inner
 * iteration, 1024 inner iterations per outer. Needs CPUID SSE2 and CR4.OSFXSR. */
static const uint8_t sse_memcpy[] = {
    0xb9, 0xe0, 0x2e, 0x00, 0x00,       /* mov ecx, 12000                     */
    0x31, 0xd2,                         /* 1: xor edx, edx                    */
    0x66, 0x0f, 0x6f, 0x04, 0x16,       /* 2: movdqa xmm0, [rsi + rdx]        */
    0x66, 0x0f, 0x6f, 0x4c, 0x16, 0x10, /* movdqa xmm1, [rsi + rdx + 16]      */
    0x66, 0x0f, 0xef, 0xd0,             /* pxor xmm2, xmm0                    */
    0xf3, 0x0f, 0x7f, 0x84, 0x16,       /* movdqu [rsi + rdx + 0x8000], xmm0  */
    0x00, 0x80, 0x00, 0x00,
    0xf3, 0x0f, 0x7f, 0x8c, 0x16,       /* movdqu [rsi + rdx + 0x8010], xmm1  */
    0x10, 0x80, 0x00, 0x00,
    0x83, 0xc2, 0x20,                   /* add edx, 32                        */
    0x81, 0xfa, 0x00, 0x80, 0x00, 0x00, /* cmp edx, 0x8000                    */
    0x75, 0xd4,                         /* jne 2b                             */
    0xff, 0xc9,                         /* dec ecx                            */
    0x75, 0xce,                         /* jnz 1b                             */
    0x66, 0x48, 0x0f, 0x7e, 0xd0,       /* movq rax, xmm2                     */
    0x66, 0x0f, 0xd7, 0xda,             /* pmovmskb ebx, xmm2                 */
    0x0f, 0x0b,                         /* ud2                                */
};

/* loads and stores of bytes 0-7 of every 16 over the 64 KiB buffer at RSI
 * (with mem_watch's data breakpoint on byte 12 of its second page, which
 * is never touched): 7 per iteration */
static const uint8_t mem_lo[] = {
    0xb9, 0x40, 0x78, 0x7d, 0x01,       /* mov ecx, 25000000          */
    0x31, 0xd2,                         /* xor edx, edx               */
    0x48, 0x8b, 0x04, 0x16,             /* 1: mov rax, [rsi + rdx]    */
    0x48, 0x01, 0xc8,                   /* add rax, rcx               */
    0x48, 0x89, 0x04, 0x16,             /* mov [rsi + rdx], rax       */
    0x83, 0xc2, 0x10,                   /* add edx, 16                */
    0x81, 0xe2, 0xf0, 0xff, 0x00, 0x00, /* and edx, 0xfff0            */
    0xff, 0xc9,                         /* dec ecx                    */
    0x75, 0xe8,                         /* jnz 1b                     */
    0x0f, 0x0b,                         /* ud2                        */
};

/* a short counted loop, 3 per iteration, single-stepped in nvmx (step_tf:
 * RFLAGS.TF, a #DB after each instruction to an IRETQ) */
static const uint8_t step[] = {
    0xb9, 0x40, 0x42, 0x0f, 0x00,       /* mov ecx, 1000000           */
    0x48, 0x83, 0xc0, 0x01,             /* 1: add rax, 1              */
    0xff, 0xc9,                         /* dec ecx                    */
    0x75, 0xf8,                         /* jnz 1b                     */
    0x0f, 0x0b,                         /* ud2                        */
};

/* a short counted loop whose ADD to memory hits a data breakpoint every
 * iteration in nvmx (step_watch: DR0 on the dword at RSI, R/W = 11; the
 * #DB trap after each ADD goes to an IRETQ) */
static const uint8_t step_mem[] = {
    0xb9, 0x40, 0x42, 0x0f, 0x00,       /* mov ecx, 1000000           */
    0x01, 0x06,                         /* 1: add [rsi], eax          */
    0xff, 0xc9,                         /* dec ecx                    */
    0x75, 0xfa,                         /* jnz 1b                     */
    0x0f, 0x0b,                         /* ud2                        */
};

/* Breakpoints armed in nvmx only (DR0 and DR7 before the loop; Unicorn 2
 * runs the same code without them): an instruction breakpoint where the
 * loop never goes (every block then takes the run loop's careful path), and
 * a data read/write breakpoint on an untouched byte of a page the loop
 * uses (that page's accesses take the slow path). */
#define BENCH_DR7_L0_EXEC 0x401ull
#define BENCH_DR7_G0_RW 0x30402ull

const struct bench_loop bench_loops[] = {
    {"alu", alu, sizeof alu, 1, sizeof alu - 2, {0}},
    {"mem", mem, sizeof mem, 1, sizeof mem - 2, {0}},
    {"callret", callret, sizeof callret, 1, 14, {0}},
    {"branchy", branchy, sizeof branchy, 1, sizeof branchy - 2, {0}},
    {"smc", smc, sizeof smc, 2, sizeof smc - 2, {0}},
    {"sse_memcpy", sse_memcpy, sizeof sse_memcpy, 1, sizeof sse_memcpy - 2, {0}},
    {"alu_insn_bp", alu, sizeof alu, 1, sizeof alu - 2, {BENCH_CODE + 0x8000, BENCH_DR7_L0_EXEC, false, false}},
    {"mem_lo", mem_lo, sizeof mem_lo, 1, sizeof mem_lo - 2, {0}},
    {"mem_watch", mem_lo, sizeof mem_lo, 1, sizeof mem_lo - 2,
     {BENCH_DATA + 0x100c, BENCH_DR7_G0_RW, false, false}},
    {"step_tf", step, sizeof step, 1, sizeof step - 2, {0, 0, true, false}},
    {"step_watch", step_mem, sizeof step_mem, 1, sizeof step_mem - 2,
     {BENCH_DATA, BENCH_DR7_G0_RW, false, true}},
};
const unsigned bench_nloops = sizeof bench_loops / sizeof bench_loops[0];
