/* Code of every width run through cpu_run: real mode (IVT delivery and IRET,
 * 16-bit addressing forms and string instructions, PUSHA/POPA), near-branch
 * truncation and CS-limit checks in 16- and 32-bit code, a boot-sector walk
 * real -> protected -> long mode and back out of paging; in 64-bit mode
 * CMPXCHG8B/16B, MOVBE, XLAT and the LOCK rules, TF single-step and the
 * STI / MOV SS interrupt shadows; and the MOV CR/DR decode rule. */
#include "cpu/seg.h"
#include "harness.h"

#include <check.h>
#include <stdlib.h>

#define PT_BASE 0x100000ull
#define IDT_BASE 0x2000ull
#define CODE 0x10000ull

static struct machine *m;
static struct cpu *c;
static struct cost_model cm;
static struct cpu_model model;

/* PSE, PAE (leaf 1 EDX 3, 6), MOVBE (leaf 1 ECX 22), SYSCALL and LM
 * (0x80000001 EDX 11, 29): what the boot walk needs. */
static void set_model(void)
{
    th_model_init(&model, "modes-test");
    th_add_leaf(&model, 0, 1, 0, 0, 0);
    th_add_leaf(&model, 1, 0x906a0, 0, 1u << 22, (1u << 3) | (1u << 6));
    th_add_leaf(&model, 0x80000000u, 0x80000008u, 0, 0, 0);
    th_add_leaf(&model, 0x80000001u, 0, 0, 0, (1u << 11) | (1u << 29));
    th_add_leaf(&model, 0x80000008u, 39, 0, 0, 0);
}

static void wr64(uint64_t pa, uint64_t v) { cpu_write_phys(c, pa, 8, v); }
static uint64_t rd(uint64_t pa, unsigned n) { return cpu_read_phys(c, pa, n); }

static void setup(void)
{
    m = th_machine_create(4ull << 20, false);
    set_model();
    c = th_cpu_create(m, &model, &cm);
    c->stop_on_exception = true;
}

static void teardown(void)
{
    cpu_destroy(c);
    machine_destroy(m);
}

/* ---- real mode ----------------------------------------------------------- */

static void set_real(int s, uint16_t sel)
{
    c->seg[s].sel = sel;
    c->seg[s].base = (uint64_t)sel << 4;
}

/* Real mode after reset, CS:IP = cs:ip, SS:SP = 0:0x7000. */
static void setup_real(uint16_t cs, uint16_t ip)
{
    cpu_power_on_reset(c);
    for (int s = 0; s < SEG_NSEGS; s++)
        set_real(s, 0);
    set_real(SEG_CS, cs);
    c->rip = ip;
    c->gpr[4] = 0x7000;
    cpu_update_mode(c);
}

/* SDM 3A "Interrupt and Exception Handling in Real-Address Mode": FLAGS,
 * CS, IP pushed; IF, TF, AC cleared; IRET restores them. */
START_TEST(real_mode_ivt_and_iret)
{
    setup_real(0x0070, 0x0f00); /* linear 0x1600 */
    cpu_write_phys(c, 0x21 * 4, 4, 0x01000000u); /* IVT[0x21] = 0100:0000 */
    TH_LOAD(c, 0x1600, 0xfb,                                    /* sti */
         0xcd, 0x21,                                      /* int 0x21 */
         0xeb, 0xfe);                                     /* 0f03: jmp $ */
    TH_LOAD(c, 0x1000, 0x89, 0xe5,                              /* mov bp,sp */
         0x8b, 0x46, 0x00,                                /* mov ax,[bp] */
         0x8b, 0x5e, 0x02,                                /* mov bx,[bp+2] */
         0x8b, 0x4e, 0x04,                                /* mov cx,[bp+4] */
         0x9c, 0x5a,                                      /* pushf; pop dx */
         0xcf);                                           /* iret */
    th_expect_end(c, 0x0f03);
    ck_assert_uint_eq(c->gpr[0] & 0xffff, 0x0f03);
    ck_assert_uint_eq(c->gpr[3] & 0xffff, 0x0070);
    ck_assert_uint_eq(c->gpr[1] & 0xffff, 0x0202);
    ck_assert_uint_eq(c->gpr[2] & 0xffff, 0x0002);
    ck_assert_uint_eq(c->gpr[4], 0x7000);
    ck_assert_uint_eq(c->seg[SEG_CS].sel, 0x0070);
    ck_assert(cpu_get_rflags(c) & FL_IF);
}
END_TEST

/* SDM 2A "16-Bit Addressing Forms with the ModR/M Byte": [BP+SI+d] uses SS,
 * [SI+d] DS; REP MOVSB with 16-bit addressing uses SI/DI/CX, wraps SI at
 * 64 KBytes and keeps ESI[31:16]. */
START_TEST(real_mode_16bit_addressing_and_strings)
{
    setup_real(0, 0x7c00);
    set_real(SEG_DS, 0x1000);
    set_real(SEG_ES, 0x2000);
    set_real(SEG_SS, 0x3000);
    cpu_write_phys(c, 0x1fffe, 2, 0xa2a1);
    cpu_write_phys(c, 0x10000, 2, 0xa4a3);
    cpu_write_phys(c, 0x30024, 2, 0xbeef);
    cpu_write_phys(c, 0x10024, 2, 0x1234);
    TH_LOAD(c, 0x7c00, 0x66, 0xbe, 0xfe, 0xff, 0x34, 0x12,      /* mov esi,0x1234fffe */
         0xbf, 0x10, 0x00,                                /* mov di,0x10 */
         0xb9, 0x04, 0x00,                                /* mov cx,4 */
         0xfc,                                            /* cld */
         0xf3, 0xa4,                                      /* rep movsb */
         0xbd, 0x20, 0x00,                                /* mov bp,0x20 */
         0xbe, 0x02, 0x00,                                /* mov si,2 */
         0x8b, 0x42, 0x02,                                /* mov ax,[bp+si+2] */
         0x8b, 0x5c, 0x22,                                /* mov bx,[si+0x22] */
         0xeb, 0xfe);                                     /* 7c1b: jmp $ */
    th_expect_end(c, 0x7c1b);
    ck_assert_uint_eq(rd(0x20010, 4), 0xa4a3a2a1);
    ck_assert_uint_eq(c->gpr[7] & 0xffff, 0x14);
    ck_assert_uint_eq(c->gpr[1] & 0xffff, 0);
    ck_assert_uint_eq(c->gpr[0] & 0xffff, 0xbeef);
    ck_assert_uint_eq(c->gpr[3] & 0xffff, 0x1234);
    ck_assert_uint_eq(c->gpr[6], 0x12340002);
}
END_TEST

/* The same REP MOVSB under an address-size prefix in 32-bit code. */
START_TEST(addr16_string_in_32bit_code)
{
    cpu_set_flat_protected(c);
    c->rip = CODE;
    c->gpr[6] = 0xabcdfffe;
    c->gpr[7] = 0x55550020;
    c->gpr[1] = 0x77770003;
    cpu_write_phys(c, 0xfffe, 2, 0x2211);
    cpu_write_phys(c, 0x0000, 1, 0x33);
    TH_LOAD(c, CODE, 0x67, 0xf3, 0xa4, 0xeb, 0xfe);             /* addr16 rep movsb; jmp $ */
    th_expect_end(c, CODE + 3);
    ck_assert_uint_eq(rd(0x20, 1), 0x11); /* from DS:0xfffe */
    ck_assert_uint_eq(rd(0x21, 2), 0x3322);
    ck_assert_uint_eq(c->gpr[6], 0xabcd0001);
    ck_assert_uint_eq(c->gpr[7], 0x55550023);
    ck_assert_uint_eq(c->gpr[1], 0x77770000);
}
END_TEST

/* SDM 2B "PUSHA/PUSHAD", "POPA/POPAD": AX CX DX BX (original) SP BP SI DI;
 * POPA skips the SP image and 16-bit pops keep the upper halves. */
START_TEST(pusha_popa_16)
{
    setup_real(0, 0x7c00);
    for (unsigned i = 0; i < 8; i++)
        c->gpr[i] = 0xdead0000u | (i + 1);
    c->gpr[4] = 0x7000;
    TH_LOAD(c, 0x7c00, 0x60,                                    /* pusha */
         0xb8, 0x00, 0x00, 0xbb, 0x00, 0x00,              /* mov ax,0; mov bx,0 */
         0xb9, 0x00, 0x00, 0xba, 0x00, 0x00,              /* mov cx,0; mov dx,0 */
         0xbd, 0x00, 0x00, 0xbe, 0x00, 0x00,              /* mov bp,0; mov si,0 */
         0xbf, 0x00, 0x00,                                /* mov di,0 */
         0x61,                                            /* popa */
         0xeb, 0xfe);                                     /* 7c17: jmp $ */
    th_expect_end(c, 0x7c17);
    static const uint16_t want[8] = { 8, 7, 6, 0x7000, 4, 3, 2, 1 }; /* DI first */
    for (unsigned i = 0; i < 8; i++)
        ck_assert_uint_eq(rd(0x7000 - 16 + 2 * i, 2), want[i]);
    for (unsigned i = 0; i < 8; i++)
        if (i != 4)
            ck_assert_uint_eq(c->gpr[i], 0xdead0000u | (i + 1));
    ck_assert_uint_eq(c->gpr[4], 0x7000);
}
END_TEST

START_TEST(pushad_popad_32)
{
    cpu_set_flat_protected(c);
    c->rip = CODE;
    for (unsigned i = 0; i < 8; i++)
        c->gpr[i] = 0x11110000u * (i + 1);
    c->gpr[4] = 0x8000;
    TH_LOAD(c, CODE, 0x60, 0x31, 0xc0, 0x31, 0xed, 0x61, 0xeb, 0xfe); /* pushad; xor eax,eax; xor ebp,ebp; popad */
    th_expect_end(c, CODE + 6);
    ck_assert_uint_eq(rd(0x8000 - 4, 4), 0x11110000u);      /* EAX */
    ck_assert_uint_eq(rd(0x8000 - 20, 4), 0x8000);          /* original ESP */
    ck_assert_uint_eq(rd(0x8000 - 32, 4), 0x11110000u * 8); /* EDI */
    ck_assert_uint_eq(c->gpr[0], 0x11110000u);
    ck_assert_uint_eq(c->gpr[5], 0x11110000u * 6);
    ck_assert_uint_eq(c->gpr[4], 0x8000);
}
END_TEST

/* SDM 2A "JMP": with a 16-bit operand size the target is truncated to 16
 * bits. In real mode IP wraps at 64 KBytes. */
START_TEST(near_jmp_truncates_in_16bit_code)
{
    setup_real(0x1000, 0xfffb);
    TH_LOAD(c, 0x1fffb, 0xe9, 0x10, 0x00);                      /* jmp rel16 +0x10 */
    TH_LOAD(c, 0x1000e, 0xeb, 0xfe);
    th_expect_end(c, 0x000e);
}
END_TEST

START_TEST(near_jmp_o16_truncates_in_32bit_code)
{
    cpu_set_flat_protected(c);
    c->rip = CODE;
    TH_LOAD(c, CODE, 0x66, 0xe9, 0x10, 0x00);                   /* jmp rel16: (0x10004 + 0x10) & 0xffff */
    TH_LOAD(c, 0x14, 0xeb, 0xfe);
    th_expect_end(c, 0x14);
}
END_TEST

/* SDM 3A "Limit Checking": fetching past CS.limit and branching past it
 * are #GP(0) at the instruction. */
static void setup_limited_cs(void)
{
    cpu_set_flat_protected(c);
    c->seg[SEG_CS].limit = 0x10fff;
    c->seg[SEG_CS].ar = 0x409b;
    cpu_update_mode(c);
}

/* Open: src/cpu/block.c decodes a block without the CS limit (only the
 * first byte of a block is checked, and only on a software-TLB miss). */
START_TEST(cs_limit_fetch_is_gp)
{
    setup_limited_cs();
    c->rip = 0x10ffe;
    TH_LOAD(c, 0x10ffe, 0x90, 0x90, 0x90);
    th_expect_fault(c, 0x11000, EXC_GP, true, 0);
}
END_TEST

START_TEST(cs_limit_straddling_insn_is_gp)
{
    setup_limited_cs();
    c->rip = 0x10ffd;
    TH_LOAD(c, 0x10ffd, 0xb8, 0x01, 0x02, 0x03, 0x04);           /* mov eax,imm32 across the limit */
    th_expect_fault(c, 0x10ffd, EXC_GP, true, 0);
    ck_assert_uint_eq(c->gpr[0], 0);
}
END_TEST

START_TEST(cs_limit_branch_is_gp)
{
    setup_limited_cs();
    c->rip = CODE;
    TH_LOAD(c, CODE, 0xe9, 0xfb, 0x1f, 0x00, 0x00);             /* jmp 0x12000 */
    th_expect_fault(c, CODE, EXC_GP, true, 0);
}
END_TEST

/* A boot sector: real mode -> protected mode (far JMP) -> PAE paging with
 * EFER.LME -> 64-bit code (far JMP), then back: far JMP to 32-bit code,
 * CR0.PG = 0 (leaves IA-32e mode), EFER.LME = 0. SDM 3A "Switching to
 * Protected Mode", "Initializing IA-32e Mode", "IA-32e Mode De-activation".
 *
 *   7c00 cli; lgdt [0x7e00]; mov eax,cr0; or al,1; mov cr0,eax; jmp 0x08:pm32
 *   7c13 pm32: mov ax,0x10; mov ds/es/ss,ax; mov esp,0x7000
 *        cr4 |= PAE; cr3 = 0x20000; EFER.LME = 1 (rdmsr/wrmsr); cr0 |= PG
 *        jmp 0x18:lm64
 *   7c53 lm64: mov rax,0x123456789; mov [0x6000],rax; jmp far [rip+0] (0x08:cm32)
 *   7c71 cm32: cr0 &= ~PG; EFER.LME = 0; mov dword [0x6008],0xfeedface
 *   7c94 jmp $ */
static const uint8_t boot_walk[] = {
    0xfa, 0x0f, 0x01, 0x16, 0x00, 0x7e, 0x0f, 0x20, 0xc0, 0x0c, 0x01, 0x0f, 0x22, 0xc0,
    0xea, 0x13, 0x7c, 0x08, 0x00,
    0x66, 0xb8, 0x10, 0x00, 0x8e, 0xd8, 0x8e, 0xc0, 0x8e, 0xd0, 0xbc, 0x00, 0x70, 0x00, 0x00,
    0x0f, 0x20, 0xe0, 0x83, 0xc8, 0x20, 0x0f, 0x22, 0xe0,
    0xb8, 0x00, 0x00, 0x02, 0x00, 0x0f, 0x22, 0xd8,
    0xb9, 0x80, 0x00, 0x00, 0xc0, 0x0f, 0x32, 0x0d, 0x00, 0x01, 0x00, 0x00, 0x0f, 0x30,
    0x0f, 0x20, 0xc0, 0x0d, 0x00, 0x00, 0x00, 0x80, 0x0f, 0x22, 0xc0,
    0xea, 0x53, 0x7c, 0x00, 0x00, 0x18, 0x00,
    0x48, 0xb8, 0x89, 0x67, 0x45, 0x23, 0x01, 0x00, 0x00, 0x00,
    0x48, 0x89, 0x04, 0x25, 0x00, 0x60, 0x00, 0x00,
    0xff, 0x2d, 0x00, 0x00, 0x00, 0x00, 0x71, 0x7c, 0x00, 0x00, 0x08, 0x00,
    0x0f, 0x20, 0xc0, 0x25, 0xff, 0xff, 0xff, 0x7f, 0x0f, 0x22, 0xc0,
    0xb9, 0x80, 0x00, 0x00, 0xc0, 0x0f, 0x32, 0x25, 0xff, 0xfe, 0xff, 0xff, 0x0f, 0x30,
    0xc7, 0x05, 0x08, 0x60, 0x00, 0x00, 0xce, 0xfa, 0xed, 0xfe,
    0xeb, 0xfe,
};

START_TEST(boot_walk_real_protected_long_and_back)
{
    static const uint64_t gdt[] = { 0, 0x00cf9b000000ffffull, 0x00cf93000000ffffull,
                                    0x00af9b000000ffffull };
    setup_real(0, 0x7c00);
    for (unsigned i = 0; i < 4; i++)
        wr64(0x500 + 8 * i, gdt[i]);
    cpu_write_phys(c, 0x7e00, 2, sizeof gdt - 1);
    cpu_write_phys(c, 0x7e02, 4, 0x500);
    wr64(0x20000, 0x21000 | 3);
    wr64(0x21000, 0x22000 | 3);
    wr64(0x22000, 0x83);
    th_load(c, 0x7c00, boot_walk, sizeof boot_walk);
    th_expect_end(c, 0x7c94);
    ck_assert_uint_eq(rd(0x6000, 8), 0x123456789ull);
    ck_assert_uint_eq(rd(0x6008, 4), 0xfeedface);
    ck_assert_uint_eq(c->mode, MODE_PROT);
    ck_assert_uint_eq(c->efer & (EFER_LME | EFER_LMA), 0);
    ck_assert_uint_eq(c->cr0 & (CR0_PG | CR0_PE), CR0_PE);
    ck_assert_uint_eq(c->seg[SEG_CS].sel, 0x08);
    ck_assert_uint_eq(c->code_size, 4);
}
END_TEST

/* ---- 64-bit mode ----------------------------------------------------------- */

static void set_gate64(int vector, uint64_t off)
{
    uint64_t lo = (off & 0xffff) | (0x08ull << 16) | (0x8eull << 40) |
                  (((off >> 16) & 0xffff) << 48);
    wr64(IDT_BASE + 16 * (uint64_t)vector, lo);
    wr64(IDT_BASE + 16 * (uint64_t)vector + 8, off >> 32);
}

static void setup_long(void)
{
    th_long_mode_2m(c, PT_BASE, 2, true, 0x500);
    c->idtr = (struct dtr){ IDT_BASE, 256 * 16 - 1 };
    c->gpr[4] = 0x80000;
    c->rip = CODE;
}

/* SDM 2A "CMPXCHG8B/CMPXCHG16B": equal -> store ECX:EBX / RCX:RBX, ZF = 1;
 * not equal -> load EDX:EAX / RDX:RAX, ZF = 0, memory unchanged. */
START_TEST(cmpxchg8b_16b_both_outcomes)
{
    setup_long();
    wr64(0x5000, 0x1111111122222222ull);
    wr64(0x5010, 0x3333333333333333ull);
    wr64(0x5018, 0x4444444444444444ull);
    c->gpr[7] = 0x5000;
    c->gpr[6] = 0x5010;
    c->gpr[2] = 0x11111111;
    c->gpr[0] = 0x22222222;
    c->gpr[1] = 0xcccccccc;
    c->gpr[3] = 0xbbbbbbbb;
    TH_LOAD(c, CODE, 0x0f, 0xc7, 0x0f,                          /* cmpxchg8b [rdi]: equal */
         0x41, 0x0f, 0x94, 0xc0,                          /* sete r8b */
         0x48, 0x0f, 0xc7, 0x0e,                          /* cmpxchg16b [rsi]: not equal */
         0x41, 0x0f, 0x94, 0xc1,                          /* sete r9b */
         0xeb, 0xfe);
    th_expect_end(c, CODE + 15);
    ck_assert_uint_eq(rd(0x5000, 8), 0xccccccccbbbbbbbbull);
    ck_assert_uint_eq(c->gpr[8] & 0xff, 1);
    ck_assert_uint_eq(c->gpr[9] & 0xff, 0);
    ck_assert_uint_eq(c->gpr[0], 0x3333333333333333ull);
    ck_assert_uint_eq(c->gpr[2], 0x4444444444444444ull);
    ck_assert_uint_eq(rd(0x5010, 8), 0x3333333333333333ull);
    ck_assert_uint_eq(rd(0x5018, 8), 0x4444444444444444ull);
}
END_TEST

START_TEST(cmpxchg16b_equal_stores)
{
    setup_long();
    wr64(0x5010, 1);
    wr64(0x5018, 2);
    c->gpr[6] = 0x5010;
    c->gpr[0] = 1;
    c->gpr[2] = 2;
    c->gpr[3] = 0xb;
    c->gpr[1] = 0xc;
    TH_LOAD(c, CODE, 0x48, 0x0f, 0xc7, 0x0e, 0xeb, 0xfe);       /* cmpxchg16b [rsi] */
    th_expect_end(c, CODE + 4);
    ck_assert_uint_eq(rd(0x5010, 8), 0xb);
    ck_assert_uint_eq(rd(0x5018, 8), 0xc);
    ck_assert(cpu_get_rflags(c) & FL_ZF);
}
END_TEST

/* "If memory operand for CMPXCHG16B is not aligned on a 16-byte boundary":
 * #GP(0). */
START_TEST(cmpxchg16b_misaligned_is_gp)
{
    setup_long();
    c->gpr[6] = 0x5010;
    TH_LOAD(c, CODE, 0x48, 0x0f, 0xc7, 0x4e, 0x08);             /* cmpxchg16b [rsi+8] */
    th_expect_fault(c, CODE, EXC_GP, true, 0);
}
END_TEST

START_TEST(cmpxchg8b_register_operand_is_ud)
{
    setup_long();
    TH_LOAD(c, CODE, 0x0f, 0xc7, 0xc9);                         /* cmpxchg8b with mod = 3 */
    th_expect_fault(c, CODE, EXC_UD, false, 0);
}
END_TEST

/* SDM 2B "MOVBE": byte-swapped load and store, 16/32/64 bits. */
START_TEST(movbe_load_store)
{
    setup_long();
    wr64(0x5000, 0x0807060504030201ull);
    c->gpr[7] = 0x5000;
    c->gpr[1] = 0x1122334455667788ull;
    c->gpr[2] = 0xffffffffffffffffull;
    TH_LOAD(c, CODE, 0x0f, 0x38, 0xf0, 0x07,                    /* movbe eax,[rdi] */
         0x48, 0x0f, 0x38, 0xf1, 0x4f, 0x08,              /* movbe [rdi+8],rcx */
         0x66, 0x0f, 0x38, 0xf0, 0x17,                    /* movbe dx,[rdi] */
         0xeb, 0xfe);
    th_expect_end(c, CODE + 15);
    ck_assert_uint_eq(c->gpr[0], 0x01020304);
    ck_assert_uint_eq(rd(0x5008, 8), 0x8877665544332211ull);
    ck_assert_uint_eq(c->gpr[2], 0xffffffffffff0102ull);
}
END_TEST

START_TEST(movbe_register_form_is_ud)
{
    setup_long();
    TH_LOAD(c, CODE, 0x0f, 0x38, 0xf0, 0xc1);                   /* movbe eax,ecx: no such form */
    th_expect_fault(c, CODE, EXC_UD, false, 0);
}
END_TEST

/* SDM 2B "XLAT": AL = [seg:rBX + AL]; DS by default, FS with an override. */
START_TEST(xlat_default_and_fs_override)
{
    setup_long();
    for (unsigned i = 0; i < 8; i++) {
        cpu_write_phys(c, 0x5000 + i, 1, 0x40 + i);
        cpu_write_phys(c, 0x9000 + i, 1, 0x80 + i);
    }
    c->seg[SEG_FS].base = 0x4000;
    c->gpr[3] = 0x5000;
    c->gpr[0] = 0xaaaa05;
    TH_LOAD(c, CODE, 0xd7,                                      /* xlat */
         0x41, 0x89, 0xc0,                                /* mov r8d,eax */
         0xb0, 0x03,                                      /* mov al,3 */
         0x64, 0xd7,                                      /* xlat fs:[rbx] */
         0xeb, 0xfe);
    th_expect_end(c, CODE + 8);
    ck_assert_uint_eq(c->gpr[8], 0xaaaa45);
    ck_assert_uint_eq(c->gpr[0], 0xaaaa83);
}
END_TEST

/* SDM 2A "LOCK": #UD unless the instruction is lockable and its destination
 * is memory. */
static const struct {
    uint8_t b[5];
    unsigned n;
    bool ud;
} lock_cases[] = {
    { { 0xf0, 0x01, 0x03 }, 3, false },       /* lock add [rbx],eax */
    { { 0xf0, 0x01, 0xd8 }, 3, true },        /* lock add eax,ebx */
    { { 0xf0, 0x90 }, 2, true },              /* lock nop */
    { { 0xf0, 0x8b, 0x03 }, 3, true },        /* lock mov eax,[rbx] */
    { { 0xf0, 0x0f, 0xc7, 0x0f }, 4, false }, /* lock cmpxchg8b [rdi] */
    { { 0xf0, 0x87, 0x03 }, 3, false },       /* lock xchg [rbx],eax */
    { { 0xf0, 0x39, 0x03 }, 3, true },        /* lock cmp [rbx],eax */
};

START_TEST(lock_prefix_rules)
{
    setup_long();
    c->gpr[3] = 0x5000;
    c->gpr[7] = 0x5008;
    uint8_t code[8];
    unsigned n = lock_cases[_i].n;
    memcpy(code, lock_cases[_i].b, n);
    code[n] = 0xeb;
    code[n + 1] = 0xfe;
    th_load(c, CODE, code, n + 2);
    if (lock_cases[_i].ud)
        th_expect_fault(c, CODE, EXC_UD, false, 0);
    else
        th_expect_end(c, CODE + n);
}
END_TEST

/* #DB handler: records the pushed RIP and RFLAGS of every trap, the count,
 * and DR6. */
static const uint8_t db_handler[] = {
    0x48, 0x8b, 0x04, 0x25, 0x00, 0x60, 0x00, 0x00, /* mov rax,[0x6000] */
    0x48, 0x8b, 0x14, 0x24,                         /* mov rdx,[rsp] */
    0x48, 0x89, 0x14, 0xc5, 0x00, 0x61, 0x00, 0x00, /* mov [rax*8+0x6100],rdx */
    0x48, 0x8b, 0x54, 0x24, 0x10,                   /* mov rdx,[rsp+0x10] */
    0x48, 0x89, 0x14, 0xc5, 0x00, 0x62, 0x00, 0x00, /* mov [rax*8+0x6200],rdx */
    0x48, 0xff, 0xc0,                               /* inc rax */
    0x48, 0x89, 0x04, 0x25, 0x00, 0x60, 0x00, 0x00, /* mov [0x6000],rax */
    0x0f, 0x21, 0xf0,                               /* mov rax,dr6 */
    0x48, 0x89, 0x04, 0x25, 0x08, 0x60, 0x00, 0x00, /* mov [0x6008],rax */
    0x48, 0xcf,                                     /* iretq */
};

static void setup_single_step(void)
{
    setup_long();
    c->stop_on_exception = false;
    set_gate64(EXC_DB, 0x11000);
    th_load(c, 0x11000, db_handler, sizeof db_handler);
}

/* SDM 3A "Single-Step Exception Condition": a trap after each instruction
 * while TF = 1, DR6.BS set. POPF that sets TF traps only after the next
 * instruction; POPF that clears TF still traps after itself. */
START_TEST(tf_single_step_with_popf)
{
    setup_single_step();
    TH_LOAD(c, CODE, 0x9c,                                      /* pushf */
         0x48, 0x81, 0x0c, 0x24, 0x00, 0x01, 0x00, 0x00,  /* or qword [rsp],0x100 */
         0x9d,                                            /* popf */
         0x90, 0x90,                                      /* 1000a, 1000b: nop */
         0x9c,                                            /* 1000c: pushf */
         0x48, 0x81, 0x24, 0x24, 0xff, 0xfe, 0xff, 0xff,  /* 1000d: and qword [rsp],~0x100 */
         0x9d,                                            /* 10015: popf */
         0x90,                                            /* 10016: nop */
         0xeb, 0xfe);                                     /* 10017: jmp $ */
    th_expect_end(c, 0x10017);
    static const uint64_t want[] = { 0x1000b, 0x1000c, 0x1000d, 0x10015, 0x10016 };
    ck_assert_uint_eq(rd(0x6000, 8), 5);
    for (unsigned i = 0; i < 5; i++) {
        ck_assert_msg(rd(0x6100 + 8 * i, 8) == want[i], "trap %u at 0x%llx, expected 0x%llx", i,
                      (unsigned long long)rd(0x6100 + 8 * i, 8), (unsigned long long)want[i]);
        ck_assert_uint_eq(rd(0x6200 + 8 * i, 8) & FL_TF, i < 4 ? FL_TF : 0);
    }
    ck_assert(rd(0x6008, 8) & (1u << 14));
    ck_assert(!(cpu_get_rflags(c) & FL_TF));
}
END_TEST

/* IRET that sets TF (and RF): the first trap follows the first instruction
 * of the interrupted code. */
static void run_iret_with_tf_rf(void)
{
    setup_single_step();
    TH_LOAD(c, CODE, 0x48, 0x89, 0xe0,                          /* mov rax,rsp */
         0x6a, 0x10, 0x50,                                /* push 0x10; push rax */
         0x68, 0x02, 0x03, 0x01, 0x00,                    /* push 0x10302: RF TF IF */
         0x6a, 0x08,                                      /* push 0x8 */
         0x68, 0x40, 0x00, 0x01, 0x00,                    /* push 0x10040 */
         0x48, 0xcf);                                     /* iretq */
    TH_LOAD(c, 0x10040, 0x90,                                   /* nop */
         0x9c,                                            /* 10041: pushf */
         0x48, 0x81, 0x24, 0x24, 0xff, 0xfe, 0xff, 0xff,  /* 10042: and qword [rsp],~0x100 */
         0x9d,                                            /* 1004a: popf */
         0xeb, 0xfe);                                     /* 1004b: jmp $ */
    th_expect_end(c, 0x1004b);
}

START_TEST(tf_single_step_after_iret)
{
    run_iret_with_tf_rf();
    ck_assert_uint_eq(rd(0x6000, 8), 4);
    ck_assert_uint_eq(rd(0x6100, 8), 0x10041);
    ck_assert(rd(0x6200, 8) & FL_TF);
    ck_assert_uint_eq(rd(0x6118, 8), 0x1004b);
}
END_TEST

/* RF popped by IRET is cleared once the next instruction completes (SDM 3A
 * "EFLAGS Register": RF; "Instruction-Breakpoint Exception Condition"), so
 * the single-step trap frame after that instruction has RF = 0. Open: the
 * run loop (src/cpu/core.c) never clears RF. */
START_TEST(rf_cleared_after_instruction_following_iret)
{
    run_iret_with_tf_rf();
    ck_assert_uint_eq(rd(0x6200, 8) & FL_RF, 0);
}
END_TEST

/* Interrupt-shadow checks: vector 0x40 records its return RIP at 0x6300. */
static void setup_extint(void)
{
    setup_long();
    c->stop_on_exception = false;
    set_gate64(0x40, 0x12000);
    TH_LOAD(c, 0x12000, 0x48, 0x8b, 0x04, 0x24,                 /* mov rax,[rsp] */
         0x48, 0x89, 0x04, 0x25, 0x00, 0x63, 0x00, 0x00,  /* mov [0x6300],rax */
         0x48, 0xcf);                                     /* iretq */
}

/* SDM 2B "STI": with IF = 0 before STI, external interrupts are recognized
 * only after the instruction that follows STI. */
START_TEST(sti_shadow_delays_interrupt_one_instruction)
{
    setup_extint();
    TH_LOAD(c, CODE, 0xfb, 0x90, 0x90, 0xeb, 0xfe);             /* sti; nop; nop; jmp $ */
    cpu_raise_extint(c, 0x40);
    th_expect_end(c, CODE + 3);
    ck_assert_uint_eq(rd(0x6300, 8), CODE + 2);
}
END_TEST

/* Baseline: with IF = 1 and no shadow the interrupt is taken at once. */
START_TEST(no_shadow_interrupt_taken_at_once)
{
    setup_extint();
    c->rflags |= FL_IF;
    TH_LOAD(c, CODE, 0x90, 0x90, 0x90, 0xeb, 0xfe);
    ck_assert_int_eq(cpu_run(c, 1), CPU_STOP_INSN_LIMIT);
    cpu_raise_extint(c, 0x40);
    th_expect_end(c, CODE + 3);
    ck_assert_uint_eq(rd(0x6300, 8), CODE + 1);
}
END_TEST

/* SDM 2A "MOV": loading SS inhibits interrupts until after the next
 * instruction. */
START_TEST(mov_ss_shadow_delays_interrupt_one_instruction)
{
    setup_extint();
    c->rflags |= FL_IF;
    c->gpr[0] = 0x10;
    TH_LOAD(c, CODE, 0x8e, 0xd0, 0x90, 0x90, 0xeb, 0xfe);       /* mov ss,eax; nop; nop; jmp $ */
    ck_assert_int_eq(cpu_run(c, 1), CPU_STOP_INSN_LIMIT);
    cpu_raise_extint(c, 0x40);
    th_expect_end(c, CODE + 4);
    ck_assert_uint_eq(rd(0x6300, 8), CODE + 3);
}
END_TEST

/* ---- decoding ---------------------------------------------------------------- */

/* SDM 2B "MOV -- Move to/from Control Registers" / "... Debug Registers":
 * the mod field is ignored; no SIB or displacement bytes follow. */
static const struct {
    uint8_t b[8];
    unsigned code_size;
    unsigned len;
    unsigned rm;
} movcr_cases[] = {
    { { 0x0f, 0x20, 0x00 }, 4, 3, 0 },       /* mod 0 */
    { { 0x0f, 0x22, 0x05 }, 4, 3, 5 },       /* mod 0 rm 5: would be disp32 */
    { { 0x0f, 0x20, 0x44 }, 4, 3, 4 },       /* mod 1 rm 4: would be SIB + disp8 */
    { { 0x0f, 0x21, 0x80 }, 4, 3, 0 },       /* mod 2: would be disp32 */
    { { 0x0f, 0x23, 0x06 }, 2, 3, 6 },       /* 16-bit: would be disp16 */
    { { 0x41, 0x0f, 0x20, 0x04 }, 8, 4, 12 }, /* REX.B, mod 0 rm 4 */
    { { 0x0f, 0x20, 0xc3 }, 8, 3, 3 },
};

START_TEST(mov_cr_dr_ignores_mod)
{
    struct insn in;
    unsigned n = cpu_decode_bytes(movcr_cases[_i].b, sizeof movcr_cases[_i].b,
                                  movcr_cases[_i].code_size, &in);
    ck_assert_uint_eq(n, movcr_cases[_i].len);
    ck_assert_uint_eq(in.mod, 3);
    ck_assert_uint_eq(in.rm, movcr_cases[_i].rm);
}
END_TEST

/* Executed: "mov eax,cr0" encoded with mod = 0 rm = 5 is three bytes. */
START_TEST(mov_from_cr0_mod0_executes_as_register_form)
{
    cpu_set_flat_protected(c);
    c->rip = CODE;
    TH_LOAD(c, CODE, 0x0f, 0x20, 0x05, 0xeb, 0xfe);             /* mov ebp,cr0 (mod 0) */
    th_expect_end(c, CODE + 3);
    ck_assert_uint_eq(c->gpr[5], c->cr0);
}
END_TEST

/* RDFSBASE and SWAPGS exist only in 64-bit mode (o64 rows), LFENCE shares
 * 0F AE with the FS/GS-base rows. */
START_TEST(fsgsbase_and_swapgs_decode_by_mode)
{
    static const uint8_t rdfs[] = { 0xf3, 0x48, 0x0f, 0xae, 0xc0 };
    static const uint8_t rdfs32[] = { 0xf3, 0x0f, 0xae, 0xc0 };
    static const uint8_t lfence[] = { 0x0f, 0xae, 0xe8 };
    static const uint8_t swapgs[] = { 0x0f, 0x01, 0xf8 };
    struct insn in;
    ck_assert_uint_eq(cpu_decode_bytes(rdfs, sizeof rdfs, 8, &in), 5);
    ck_assert_str_eq(cpu_opid_name(in.id), "RDFSBASE");
    ck_assert_uint_eq(in.rm, 0);
    ck_assert_uint_eq(cpu_decode_bytes(rdfs + 2, 3, 8, &in), 0); /* no F3: not a row */
    ck_assert_uint_eq(cpu_decode_bytes(rdfs32, sizeof rdfs32, 8, &in), 4);
    ck_assert_str_eq(cpu_opid_name(in.id), "RDFSBASE");
    ck_assert_uint_eq(cpu_decode_bytes(rdfs32, sizeof rdfs32, 4, &in), 0);
    ck_assert_uint_eq(cpu_decode_bytes(lfence, sizeof lfence, 8, &in), 3);
    ck_assert_str_eq(cpu_opid_name(in.id), "LFENCE");
    ck_assert_uint_eq(cpu_decode_bytes(swapgs, sizeof swapgs, 8, &in), 3);
    ck_assert_str_eq(cpu_opid_name(in.id), "SWAPGS");
    ck_assert_uint_eq(cpu_decode_bytes(swapgs, sizeof swapgs, 4, &in), 0);
}
END_TEST

static Suite *modes_suite(void)
{
    Suite *s = suite_create("modes");
    TCase *t = tcase_create("legacy");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, real_mode_ivt_and_iret);
    tcase_add_test(t, real_mode_16bit_addressing_and_strings);
    tcase_add_test(t, addr16_string_in_32bit_code);
    tcase_add_test(t, pusha_popa_16);
    tcase_add_test(t, pushad_popad_32);
    tcase_add_test(t, near_jmp_truncates_in_16bit_code);
    tcase_add_test(t, near_jmp_o16_truncates_in_32bit_code);
    tcase_add_test(t, cs_limit_fetch_is_gp);
    tcase_add_test(t, cs_limit_straddling_insn_is_gp);
    tcase_add_test(t, cs_limit_branch_is_gp);
    tcase_add_test(t, boot_walk_real_protected_long_and_back);
    suite_add_tcase(s, t);

    t = tcase_create("gp64");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, cmpxchg8b_16b_both_outcomes);
    tcase_add_test(t, cmpxchg16b_equal_stores);
    tcase_add_test(t, cmpxchg16b_misaligned_is_gp);
    tcase_add_test(t, cmpxchg8b_register_operand_is_ud);
    tcase_add_test(t, movbe_load_store);
    tcase_add_test(t, movbe_register_form_is_ud);
    tcase_add_test(t, xlat_default_and_fs_override);
    tcase_add_loop_test(t, lock_prefix_rules, 0, sizeof lock_cases / sizeof lock_cases[0]);
    suite_add_tcase(s, t);

    t = tcase_create("debug_and_shadow");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, tf_single_step_with_popf);
    tcase_add_test(t, tf_single_step_after_iret);
    tcase_add_test(t, rf_cleared_after_instruction_following_iret);
    tcase_add_test(t, sti_shadow_delays_interrupt_one_instruction);
    tcase_add_test(t, no_shadow_interrupt_taken_at_once);
    tcase_add_test(t, mov_ss_shadow_delays_interrupt_one_instruction);
    suite_add_tcase(s, t);

    t = tcase_create("decode");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_loop_test(t, mov_cr_dr_ignores_mod, 0, sizeof movcr_cases / sizeof movcr_cases[0]);
    tcase_add_test(t, mov_from_cr0_mod0_executes_as_register_form);
    tcase_add_test(t, fsgsbase_and_swapgs_decode_by_mode);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return th_run_suite(modes_suite());
}
