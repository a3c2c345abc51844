/* Far control transfers run through cpu_run: far JMP/CALL/RET within a
 * privilege level (conforming and non-conforming targets), 16-, 32- and
 * 64-bit call gates with the TSS stack switch and parameter copy, RET to an
 * outer level (stack switch and the data-segment nulling rule), SYSCALL/
 * SYSRET and SYSENTER/SYSEXIT. Faults stop the CPU (stop_on_exception) so
 * each failure is checked by vector, error code and RIP. */
#include "cpu/seg.h"
#include "harness.h"

#include <check.h>
#include <stdlib.h>

#define GDT_BASE 0x1000ull
#define TSS_BASE 0x3000ull
#define PT_BASE 0x100000ull /* long mode: PML4, PDPT, PD */
#define CODE 0x10000ull

static struct machine *m;
static struct cpu *c;
static struct cost_model cm;

static void wr64(uint64_t pa, uint64_t v) { cpu_write_phys(c, pa, 8, v); }
static uint64_t rd(uint64_t pa, unsigned n) { return cpu_read_phys(c, pa, n); }

static void setup(void)
{
    m = th_machine_create(4ull << 20, false);
    c = th_cpu_create(m, NULL, &cm);
    c->stop_on_exception = true;
}

static void teardown(void)
{
    cpu_destroy(c);
    machine_destroy(m);
}

static void set_seg(int s, uint16_t sel, uint32_t ar)
{
    c->seg[s] = (struct seg_reg){ .base = 0, .limit = 0xffffffffu, .ar = ar, .sel = sel };
}

/* ---- 32-bit protected mode, no paging ------------------------------------ */

static const uint64_t gdt32[] = {
    0,
    0x00cf9b000000ffffull, /* 0x08 32-bit code, DPL 0 */
    0x00cf93000000ffffull, /* 0x10 data, DPL 0 */
    0x00cffb000000ffffull, /* 0x18 32-bit code, DPL 3 */
    0x00cff3000000ffffull, /* 0x20 data, DPL 3 */
    0x0000890030000067ull, /* 0x28 32-bit TSS at 0x3000 */
    0x0001ec0200081000ull, /* 0x30 32-bit call gate, DPL 3, 2 params -> 0x08:0x11000 */
    0x00cf9f000000ffffull, /* 0x38 conforming code, DPL 0 */
    0x0000e40100081200ull, /* 0x40 16-bit call gate, DPL 3, 1 param -> 0x08:0x1200 */
    0x00419b000000ffffull, /* 0x48 32-bit code, DPL 0, limit 0x1ffff */
    0x00018c0000081000ull, /* 0x50 call gate, DPL 0 */
    0x00016c0000081000ull, /* 0x58 call gate, DPL 3, not present */
    0x0001ec0000101000ull, /* 0x60 call gate, DPL 3, to a data segment */
    0x00cf73000000ffffull, /* 0x68 data, DPL 3, not present */
};

static void setup_prot32(unsigned cpl)
{
    for (unsigned i = 0; i < sizeof gdt32 / sizeof gdt32[0]; i++)
        wr64(GDT_BASE + 8 * i, gdt32[i]);
    cpu_set_flat_protected(c);
    c->gdtr = (struct dtr){ GDT_BASE, sizeof gdt32 - 1 };
    c->idtr = (struct dtr){ 0x2000, 0 };
    c->tr = (struct seg_reg){ .base = TSS_BASE, .limit = 0x67, .ar = 0x8b, .sel = 0x28 };
    cpu_write_phys(c, TSS_BASE + 4, 4, 0x7000); /* ESP0 */
    cpu_write_phys(c, TSS_BASE + 8, 2, 0x10);   /* SS0 */
    if (cpl == 3) {
        set_seg(SEG_CS, 0x1b, 0xc0fb);
        set_seg(SEG_SS, 0x23, 0xc0f3);
        set_seg(SEG_ES, 0x23, 0xc0f3);
    }
    c->gpr[4] = 0x8000;
    c->rip = CODE;
    cpu_update_mode(c);
}

/* SDM 2A "CALL", "RET": same privilege, CS:EIP pushed and popped. */
START_TEST(far_call_ret_same_privilege)
{
    setup_prot32(0);
    TH_LOAD(c, CODE, 0x9a, 0x00, 0x10, 0x01, 0x00, 0x08, 0x00, /* call 0x8:0x11000 */
         0xeb, 0xfe);                                    /* 10007: jmp $ */
    TH_LOAD(c, 0x11000, 0x8b, 0x04, 0x24,                      /* mov eax,[esp] */
         0x8b, 0x5c, 0x24, 0x04,                         /* mov ebx,[esp+4] */
         0xcb);                                          /* retf */
    th_expect_end(c, 0x10007);
    ck_assert_uint_eq(c->gpr[0], 0x10007);
    ck_assert_uint_eq(c->gpr[3], 0x08);
    ck_assert_uint_eq(c->gpr[4], 0x8000);
    ck_assert_uint_eq(c->seg[SEG_CS].sel, 0x08);
}
END_TEST

/* SDM 2A "JMP", CONFORMING-CODE-SEGMENT: DPL <= CPL; CPL and the RPL of the
 * loaded CS stay at the old CPL. */
START_TEST(far_jmp_conforming_keeps_cpl)
{
    setup_prot32(3);
    TH_LOAD(c, CODE, 0xea, 0x10, 0x00, 0x01, 0x00, 0x38, 0x00); /* jmp 0x38:0x10010 */
    TH_LOAD(c, CODE + 0x10, 0xeb, 0xfe);
    th_expect_end(c, CODE + 0x10);
    ck_assert_uint_eq(c->seg[SEG_CS].sel, 0x3b);
    ck_assert_uint_eq(c->cpl, 3);
}
END_TEST

/* Failures of a direct far JMP (SDM 2A "JMP", Protected Mode Exceptions). */
static const struct {
    unsigned cpl;
    uint16_t sel;
    uint32_t off;
    int vec;
    uint32_t err;
    const char *what;
} far_jmp_faults[] = {
    { 3, 0x08, CODE, EXC_GP, 0x08, "non-conforming DPL 0 from CPL 3" },
    { 0, 0x18, CODE, EXC_GP, 0x18, "non-conforming DPL 3 from CPL 0" },
    { 0, 0x0b, CODE, EXC_GP, 0x08, "RPL 3 > CPL 0" },
    { 0, 0x48, 0x20000, EXC_GP, 0, "offset beyond the CS limit" },
    { 0, 0x10, CODE, EXC_GP, 0x10, "data segment" },
    { 0, 0x00, CODE, EXC_GP, 0, "null selector" },
    { 0, 0x78, CODE, EXC_GP, 0x78, "beyond the GDT limit" },
    { 3, 0x50, 0, EXC_GP, 0x50, "call gate DPL 0 < CPL 3" },
    { 3, 0x58, 0, EXC_NP, 0x58, "call gate not present" },
    { 3, 0x60, 0, EXC_GP, 0x10, "call gate to a data segment" },
};

START_TEST(far_jmp_fault)
{
    setup_prot32(far_jmp_faults[_i].cpl);
    uint8_t code[7] = { 0xea };
    memcpy(code + 1, &far_jmp_faults[_i].off, 4);
    memcpy(code + 5, &far_jmp_faults[_i].sel, 2);
    th_load(c, CODE, code, sizeof code);
    th_expect_fault(c, CODE, far_jmp_faults[_i].vec, true, far_jmp_faults[_i].err);
    ck_assert_msg(c->seg[SEG_CS].sel == (far_jmp_faults[_i].cpl ? 0x1b : 0x08), "%s: CS changed",
                  far_jmp_faults[_i].what);
}
END_TEST

/* SDM 2A "CALL", CALL-GATE-MORE-PRIVILEGE: SS:ESP from the TSS, then old
 * SS, old ESP, the parameters (in their order), CS, EIP. RET imm16 to the
 * outer level releases the parameters on both stacks (SDM 2A "RET"). */
START_TEST(call_gate32_privilege_change_and_return)
{
    setup_prot32(3);
    set_seg(SEG_DS, 0x10, 0xc093); /* DPL 0: nulled by the return to CPL 3 */
    set_seg(SEG_FS, 0x38, 0xc09f); /* conforming code: kept */
    TH_LOAD(c, CODE, 0x68, 0x11, 0x11, 0x11, 0x11,              /* push 0x11111111 */
         0x68, 0x22, 0x22, 0x22, 0x22,                    /* push 0x22222222 */
         0x9a, 0x00, 0x00, 0x00, 0x00, 0x30, 0x00,        /* call 0x30:0 */
         0xeb, 0xfe);                                     /* 10011: jmp $ */
    TH_LOAD(c, 0x11000, 0x8b, 0x44, 0x24, 0x08,                 /* mov eax,[esp+8] */
         0x89, 0xe3,                                      /* mov ebx,esp */
         0x8c, 0xd1,                                      /* mov ecx,ss */
         0x8b, 0x54, 0x24, 0x10,                          /* mov edx,[esp+0x10] */
         0x8b, 0x74, 0x24, 0x14,                          /* mov esi,[esp+0x14] */
         0xca, 0x08, 0x00);                               /* retf 8 */
    th_expect_end(c, 0x10011);
    ck_assert_uint_eq(c->gpr[0], 0x22222222);
    ck_assert_uint_eq(c->gpr[3], 0x7000 - 24);
    ck_assert_uint_eq(c->gpr[1], 0x10);
    ck_assert_uint_eq(c->gpr[2], 0x7ff8); /* old ESP */
    ck_assert_uint_eq(c->gpr[6], 0x23);   /* old SS */
    ck_assert_uint_eq(rd(0x7000 - 12, 4), 0x11111111);
    ck_assert_uint_eq(rd(0x7000 - 20, 4), 0x1b); /* CS */
    ck_assert_uint_eq(rd(0x7000 - 24, 4), 0x10011);
    /* back at CPL 3 with the caller's stack, parameters released */
    ck_assert_uint_eq(c->cpl, 3);
    ck_assert_uint_eq(c->seg[SEG_CS].sel, 0x1b);
    ck_assert_uint_eq(c->seg[SEG_SS].sel, 0x23);
    ck_assert_uint_eq(c->gpr[4], 0x8000);
    ck_assert_uint_eq(c->seg[SEG_DS].sel, 0);
    ck_assert(c->seg[SEG_DS].ar & AR_UNUSABLE);
    ck_assert_uint_eq(c->seg[SEG_ES].sel, 0x23);
    ck_assert(!(c->seg[SEG_ES].ar & AR_UNUSABLE));
    ck_assert_uint_eq(c->seg[SEG_FS].sel, 0x38);
    ck_assert(!(c->seg[SEG_FS].ar & AR_UNUSABLE));
}
END_TEST

/* 16-bit call gate: 16-bit slots for SS, SP, the parameter, CS and IP. */
START_TEST(call_gate16_privilege_change_and_return)
{
    setup_prot32(3);
    c->rip = 0x9000;
    TH_LOAD(c, 0x9000, 0x68, 0x33, 0x33, 0x00, 0x00,           /* push 0x3333 */
         0x9a, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00,        /* call 0x40:0 */
         0xeb, 0xfe);                                     /* 900c: jmp $ */
    TH_LOAD(c, 0x1200, 0x0f, 0xb7, 0x44, 0x24, 0x04,            /* movzx eax,word [esp+4] */
         0x0f, 0xb7, 0x5c, 0x24, 0x06,                    /* movzx ebx,word [esp+6] */
         0x89, 0xe1,                                      /* mov ecx,esp */
         0x66, 0xca, 0x02, 0x00);                         /* retfw 2 */
    th_expect_end(c, 0x900c);
    ck_assert_uint_eq(c->gpr[0], 0x3333);
    ck_assert_uint_eq(c->gpr[3], 0x7ffc);
    ck_assert_uint_eq(c->gpr[1], 0x7000 - 10);
    ck_assert_uint_eq(rd(0x7000 - 10, 2), 0x900c);
    ck_assert_uint_eq(rd(0x7000 - 8, 2), 0x1b);
    ck_assert_uint_eq(rd(0x7000 - 2, 2), 0x23);
    ck_assert_uint_eq(c->cpl, 3);
    ck_assert_uint_eq(c->gpr[4], 0x7ffe);
}
END_TEST

/* SDM 3A "Stack Switching": checks of the TSS stack give #TS(SS selector),
 * a null SS #TS(0); a not-present SS #SS. */
static const struct {
    uint16_t ss0;
    int vec;
    uint32_t err;
} tss_ss_faults[] = {
    { 0x00, EXC_TS, 0 },
    { 0x20, EXC_TS, 0x20 }, /* DPL 3 data for a DPL 0 stack */
    { 0x08, EXC_TS, 0x08 }, /* code segment */
    { 0x13, EXC_TS, 0x10 }, /* RPL 3 */
    { 0x78, EXC_TS, 0x78 }, /* beyond the GDT */
};

START_TEST(call_gate_bad_tss_stack)
{
    setup_prot32(3);
    cpu_write_phys(c, TSS_BASE + 8, 2, tss_ss_faults[_i].ss0);
    TH_LOAD(c, CODE, 0x9a, 0x00, 0x00, 0x00, 0x00, 0x30, 0x00); /* call 0x30:0 */
    th_expect_fault(c, CODE, tss_ss_faults[_i].vec, true, tss_ss_faults[_i].err);
    ck_assert_uint_eq(c->gpr[4], 0x8000);
    ck_assert_uint_eq(c->cpl, 3);
}
END_TEST

/* RET far from CPL 0 to CPL 3 without a gate: SS:ESP popped, DS (DPL 0
 * data) nulled, ES (DPL 3) and FS (conforming code) kept. */
START_TEST(ret_far_to_outer_level)
{
    setup_prot32(0);
    set_seg(SEG_ES, 0x23, 0xc0f3);
    set_seg(SEG_FS, 0x38, 0xc09f);
    set_seg(SEG_GS, 0x10, 0xc093);
    TH_LOAD(c, CODE, 0x6a, 0x23,                                /* push 0x23 */
         0x68, 0x00, 0x7f, 0x00, 0x00,                    /* push 0x7f00 */
         0x6a, 0x1b,                                      /* push 0x1b */
         0x68, 0x20, 0x00, 0x01, 0x00,                    /* push 0x10020 */
         0xcb);                                           /* retf */
    TH_LOAD(c, CODE + 0x20, 0xeb, 0xfe);
    th_expect_end(c, CODE + 0x20);
    ck_assert_uint_eq(c->cpl, 3);
    ck_assert_uint_eq(c->gpr[4], 0x7f00);
    ck_assert_uint_eq(c->seg[SEG_SS].sel, 0x23);
    ck_assert(c->seg[SEG_DS].ar & AR_UNUSABLE);
    ck_assert(c->seg[SEG_GS].ar & AR_UNUSABLE);
    ck_assert(!(c->seg[SEG_ES].ar & AR_UNUSABLE));
    ck_assert(!(c->seg[SEG_FS].ar & AR_UNUSABLE));
}
END_TEST

/* SDM 2A "RET", RETURN-TO-OUTER-PRIVILEGE-LEVEL checks. */
static const struct {
    uint8_t ss, cs;
    int vec;
    uint32_t err;
} ret_outer_faults[] = {
    { 0x10, 0x1b, EXC_GP, 0x10 }, /* SS RPL 0 != CS RPL 3 */
    { 0x23, 0x0b, EXC_GP, 0x08 }, /* CS DPL 0 != RPL 3 */
    { 0x00, 0x1b, EXC_GP, 0 },    /* null SS outside 64-bit mode */
    { 0x1b, 0x1b, EXC_GP, 0x18 }, /* SS is code */
    { 0x6b, 0x1b, EXC_SS, 0x68 }, /* SS not present */
    { 0x23, 0x13, EXC_GP, 0x10 }, /* CS is data */
};

START_TEST(ret_far_outer_fault)
{
    setup_prot32(0);
    uint8_t code[] = { 0x6a, ret_outer_faults[_i].ss, 0x68, 0x00, 0x7f, 0x00, 0x00,
                       0x6a, ret_outer_faults[_i].cs, 0x68, 0x20, 0x00, 0x01, 0x00, 0xcb };
    th_load(c, CODE, code, sizeof code);
    th_expect_fault(c, CODE + 14, ret_outer_faults[_i].vec, true, ret_outer_faults[_i].err);
    ck_assert_uint_eq(c->cpl, 0);
    ck_assert_uint_eq(c->gpr[4], 0x8000 - 16);
}
END_TEST

/* SDM 2B "SYSENTER", "SYSEXIT" in protected mode: flat CS/SS from
 * IA32_SYSENTER_CS (+8 for SS; +16/+24 with RPL 3 for SYSEXIT). */
START_TEST(sysenter_sysexit_32)
{
    setup_prot32(3);
    c->sysenter_cs = 0x08;
    c->sysenter_esp = 0x6000;
    c->sysenter_eip = 0x11000;
    c->rflags |= FL_IF;
    TH_LOAD(c, CODE, 0x0f, 0x34, 0xeb, 0xfe);                   /* sysenter; jmp $ */
    TH_LOAD(c, CODE + 0x20, 0xeb, 0xfe);
    TH_LOAD(c, 0x11000, 0x89, 0xe0,                             /* mov eax,esp */
         0x8c, 0xd3,                                      /* mov ebx,ss */
         0x9c, 0x5f,                                      /* pushf; pop edi */
         0xba, 0x20, 0x00, 0x01, 0x00,                    /* mov edx,0x10020 */
         0xb9, 0x00, 0x7f, 0x00, 0x00,                    /* mov ecx,0x7f00 */
         0x0f, 0x35);                                     /* sysexit */
    th_expect_end(c, CODE + 0x20);
    ck_assert_uint_eq(c->gpr[0], 0x6000);
    ck_assert_uint_eq(c->gpr[3], 0x10);
    ck_assert_uint_eq(c->gpr[7] & FL_IF, 0); /* SYSENTER clears IF */
    ck_assert_uint_eq(c->seg[SEG_CS].sel, 0x1b);
    ck_assert_uint_eq(c->seg[SEG_SS].sel, 0x23);
    ck_assert_uint_eq(c->gpr[4], 0x7f00);
    ck_assert_uint_eq(c->cpl, 3);
}
END_TEST

START_TEST(sysenter_with_null_cs_is_gp)
{
    setup_prot32(3);
    c->sysenter_cs = 0x03;
    TH_LOAD(c, CODE, 0x0f, 0x34);
    th_expect_fault(c, CODE, EXC_GP, true, 0);
}
END_TEST

START_TEST(sysexit_at_cpl3_is_gp)
{
    setup_prot32(3);
    c->sysenter_cs = 0x08;
    TH_LOAD(c, CODE, 0x0f, 0x35);
    th_expect_fault(c, CODE, EXC_GP, true, 0);
}
END_TEST

/* ---- IA-32e mode --------------------------------------------------------- */

static const uint64_t gdt64[] = {
    0,
    0x00af9b000000ffffull, /* 0x08 64-bit code, DPL 0 */
    0x00cf93000000ffffull, /* 0x10 data, DPL 0 */
    0x00affb000000ffffull, /* 0x18 64-bit code, DPL 3 */
    0x00cff3000000ffffull, /* 0x20 data, DPL 3 */
    0x0000890030000067ull, /* 0x28 64-bit TSS at 0x3000 (16 bytes) */
    0,
    0x0001ec0000081000ull, /* 0x38 64-bit call gate, DPL 3 -> 0x08:0x11000 */
    0,
    0x00cffb000000ffffull, /* 0x48 32-bit code, DPL 3 */
    0x0001ec0000081000ull, /* 0x50 64-bit call gate with a non-zero upper type */
    0x00000c0000000000ull,
};

static void setup_long(unsigned cpl)
{
    th_long_mode_2m(c, PT_BASE, 2, true, GDT_BASE);
    for (unsigned i = 0; i < sizeof gdt64 / sizeof gdt64[0]; i++)
        wr64(GDT_BASE + 8 * i, gdt64[i]);
    c->gdtr = (struct dtr){ GDT_BASE, sizeof gdt64 - 1 };
    c->idtr = (struct dtr){ 0x2000, 0 };
    c->tr = (struct seg_reg){ .base = TSS_BASE, .limit = 0x67, .ar = 0x8b, .sel = 0x28 };
    wr64(TSS_BASE + 4, 0x70000); /* RSP0 */
    if (cpl == 3) {
        set_seg(SEG_CS, 0x1b, 0xa0fb);
        set_seg(SEG_SS, 0x23, 0xc0f3);
    }
    c->gpr[4] = 0x80000;
    c->rip = CODE;
    cpu_update_mode(c);
}

static const uint8_t gate64_handler[] = {
    0x48, 0x89, 0xe0,             /* mov rax,rsp */
    0x48, 0x8b, 0x5c, 0x24, 0x08, /* mov rbx,[rsp+8] */
    0x48, 0x8b, 0x4c, 0x24, 0x10, /* mov rcx,[rsp+0x10] */
    0x48, 0x8b, 0x54, 0x24, 0x18, /* mov rdx,[rsp+0x18] */
    0x8c, 0xd6,                   /* mov esi,ss */
    0x48, 0xcb,                   /* retfq */
};

/* SDM 3A "IA-32e Mode Call Gates"; SDM 2A "CALL": RSP from the TSS, SS =
 * null with RPL = new CPL, four 8-byte slots; RETFQ back to CPL 3. */
START_TEST(call_gate64_from_64bit_code)
{
    setup_long(3);
    TH_LOAD(c, CODE, 0x68, 0x55, 0x55, 0x00, 0x00,              /* push 0x5555 */
         0x48, 0xff, 0x1d, 0x02, 0x00, 0x00, 0x00,        /* rex.W call far [rip+2] */
         0xeb, 0xfe,                                      /* 1000c: jmp $ */
         0, 0, 0, 0, 0, 0, 0, 0, 0x38, 0x00);             /* m16:64 = 0x38:0 */
    th_load(c, 0x11000, gate64_handler, sizeof gate64_handler);
    th_expect_end(c, 0x1000c);
    ck_assert_uint_eq(c->gpr[0], 0x70000 - 32);
    ck_assert_uint_eq(c->gpr[3], 0x1b);
    ck_assert_uint_eq(c->gpr[1], 0x80000 - 8);
    ck_assert_uint_eq(c->gpr[2], 0x23);
    ck_assert_uint_eq(c->gpr[6], 0); /* null SS, RPL 0 */
    ck_assert_uint_eq(rd(0x70000 - 32, 8), 0x1000c);
    ck_assert_uint_eq(c->cpl, 3);
    ck_assert_uint_eq(c->mode, MODE_LONG64);
    ck_assert_uint_eq(c->seg[SEG_SS].sel, 0x23);
    ck_assert_uint_eq(c->gpr[4], 0x80000 - 8);
}
END_TEST

/* The same gate from compatibility mode: the 64-bit frame records the
 * 32-bit CS, and RETFQ returns to compatibility mode. */
START_TEST(call_gate64_from_compat_code)
{
    setup_long(3);
    set_seg(SEG_CS, 0x4b, 0xc0fb);
    cpu_update_mode(c);
    c->rip = 0x12000;
    TH_LOAD(c, 0x12000, 0x9a, 0x00, 0x00, 0x00, 0x00, 0x38, 0x00, /* call 0x38:0 */
         0xeb, 0xfe);                                       /* 12007: jmp $ */
    th_load(c, 0x11000, gate64_handler, sizeof gate64_handler);
    th_expect_end(c, 0x12007);
    ck_assert_uint_eq(c->gpr[3], 0x4b);
    ck_assert_uint_eq(c->gpr[1], 0x80000);
    ck_assert_uint_eq(c->mode, MODE_COMPAT);
    ck_assert_uint_eq(c->cpl, 3);
}
END_TEST

/* SDM 3A "IA-32e Mode Call Gates": the type field in the upper 8 bytes
 * must be 0, else #GP(gate selector). */
START_TEST(call_gate64_bad_upper_type)
{
    setup_long(3);
    TH_LOAD(c, CODE, 0xff, 0x1d, 0x02, 0x00, 0x00, 0x00,        /* call far [rip+2] (m16:32) */
         0xeb, 0xfe, 0, 0, 0, 0, 0x50, 0x00);
    th_expect_fault(c, CODE, EXC_GP, true, 0x50);
}
END_TEST

/* JMP through a call gate cannot raise the privilege level. */
START_TEST(jmp_call_gate64_to_inner_level)
{
    setup_long(3);
    TH_LOAD(c, CODE, 0xff, 0x2d, 0x02, 0x00, 0x00, 0x00,        /* jmp far [rip+2] */
         0xeb, 0xfe, 0, 0, 0, 0, 0x38, 0x00);
    th_expect_fault(c, CODE, EXC_GP, true, 0x08);
}
END_TEST

static void setup_syscall(void)
{
    setup_long(3);
    c->efer |= EFER_SCE;
    c->star = (0x10ull << 48) | (0x08ull << 32);
    c->lstar = 0x11000;
    c->sfmask = FL_IF | FL_DF | FL_AC;
    cpu_set_rflags(c, FL_FIXED1 | FL_IF | FL_DF | FL_CF | FL_RF);
}

/* SDM 2B "SYSCALL": RCX = next RIP, R11 = RFLAGS, RFLAGS &= ~SFMASK (and RF
 * cleared), CS = STAR[47:32], SS = +8. "SYSRET" with REX.W: CS =
 * STAR[63:48] + 16 | 3, SS = STAR[63:48] + 8 | 3, RFLAGS = R11. */
START_TEST(syscall_sysretq)
{
    setup_syscall();
    TH_LOAD(c, CODE, 0x0f, 0x05, 0xeb, 0xfe);                   /* syscall; jmp $ */
    TH_LOAD(c, 0x11000, 0x49, 0x89, 0xcc,                       /* mov r12,rcx */
         0x4d, 0x89, 0xdd,                                /* mov r13,r11 */
         0x9c, 0x41, 0x5e,                                /* pushf; pop r14 */
         0x41, 0x8c, 0xd7,                                /* mov r15d,ss */
         0x8c, 0xcd,                                      /* mov ebp,cs */
         0x48, 0x0f, 0x07);                               /* sysretq */
    th_expect_end(c, CODE + 2);
    ck_assert_uint_eq(c->gpr[12], CODE + 2);
    ck_assert_uint_eq(c->gpr[13], FL_FIXED1 | FL_IF | FL_DF | FL_CF | FL_RF);
    ck_assert_uint_eq(c->gpr[14], FL_FIXED1 | FL_CF);
    ck_assert_uint_eq(c->gpr[15], 0x10);
    ck_assert_uint_eq(c->gpr[5], 0x08);
    ck_assert_uint_eq(c->seg[SEG_CS].sel, 0x23);
    ck_assert_uint_eq(c->seg[SEG_SS].sel, 0x1b);
    ck_assert_uint_eq(c->cpl, 3);
    ck_assert_uint_eq(c->mode, MODE_LONG64);
    ck_assert_uint_eq(cpu_get_rflags(c) & (FL_IF | FL_DF | FL_CF), FL_IF | FL_DF | FL_CF);
}
END_TEST

/* SYSRET without REX.W returns to compatibility mode: CS = STAR[63:48] | 3,
 * EIP = ECX. */
START_TEST(sysret_to_compat)
{
    setup_syscall();
    TH_LOAD(c, CODE, 0x0f, 0x05);
    TH_LOAD(c, 0x11000, 0xb9, 0x00, 0x20, 0x01, 0x00,           /* mov ecx,0x12000 */
         0x0f, 0x07);                                     /* sysret */
    TH_LOAD(c, 0x12000, 0xeb, 0xfe);
    th_expect_end(c, 0x12000);
    ck_assert_uint_eq(c->mode, MODE_COMPAT);
    ck_assert_uint_eq(c->seg[SEG_CS].sel, 0x13);
    ck_assert_uint_eq(c->seg[SEG_SS].sel, 0x1b);
    ck_assert_uint_eq(c->cpl, 3);
}
END_TEST

START_TEST(syscall_without_sce_is_ud)
{
    setup_syscall();
    c->efer &= ~EFER_SCE;
    TH_LOAD(c, CODE, 0x0f, 0x05);
    th_expect_fault(c, CODE, EXC_UD, false, 0);
}
END_TEST

/* Intel: SYSCALL outside 64-bit mode is #UD. */
START_TEST(syscall_in_compat_mode_is_ud)
{
    setup_syscall();
    set_seg(SEG_CS, 0x4b, 0xc0fb);
    cpu_update_mode(c);
    TH_LOAD(c, CODE, 0x0f, 0x05);
    th_expect_fault(c, CODE, EXC_UD, false, 0);
}
END_TEST

/* SDM 2B "SYSRET": a non-canonical RCX is #GP(0), raised at CPL 0. */
START_TEST(sysret_noncanonical_rcx_is_gp)
{
    setup_long(0);
    c->efer |= EFER_SCE;
    c->star = (0x10ull << 48) | (0x08ull << 32);
    TH_LOAD(c, CODE, 0x48, 0xb9, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, /* mov rcx,2^47 */
         0x48, 0x0f, 0x07);                                                 /* sysretq */
    th_expect_fault(c, CODE + 10, EXC_GP, true, 0);
    ck_assert_uint_eq(c->cpl, 0);
    ck_assert_uint_eq(c->seg[SEG_CS].sel, 0x08);
}
END_TEST

START_TEST(sysret_at_cpl3_is_gp)
{
    setup_syscall();
    TH_LOAD(c, CODE, 0x48, 0x0f, 0x07);
    th_expect_fault(c, CODE, EXC_GP, true, 0);
}
END_TEST

/* SDM 2B "SYSENTER"/"SYSEXIT" in IA-32e mode: SYSENTER enters 64-bit code
 * with the full IA32_SYSENTER_EIP/ESP; REXW.SYSEXIT returns to 64-bit code
 * (CS = SYSENTER_CS + 32 | 3, SS = + 40 | 3), plain SYSEXIT to
 * compatibility mode (CS + 16, SS + 24). */
START_TEST(sysenter_sysexit_64)
{
    setup_long(3);
    c->sysenter_cs = 0x08;
    c->sysenter_esp = 0x60000;
    c->sysenter_eip = 0x11000;
    TH_LOAD(c, CODE, 0x0f, 0x34, 0xeb, 0xfe);
    TH_LOAD(c, CODE + 0x20, 0xeb, 0xfe);
    TH_LOAD(c, 0x11000, 0x48, 0x89, 0xe0,                       /* mov rax,rsp */
         0x8c, 0xd3,                                      /* mov ebx,ss */
         0xba, 0x20, 0x00, 0x01, 0x00,                    /* mov edx,0x10020 */
         0xb9, 0x00, 0x7f, 0x00, 0x00,                    /* mov ecx,0x7f00 */
         0x48, 0x0f, 0x35);                               /* sysexitq */
    th_expect_end(c, CODE + 0x20);
    ck_assert_uint_eq(c->gpr[0], 0x60000);
    ck_assert_uint_eq(c->gpr[3], 0x10);
    ck_assert_uint_eq(c->seg[SEG_CS].sel, 0x2b);
    ck_assert_uint_eq(c->seg[SEG_SS].sel, 0x33);
    ck_assert_uint_eq(c->mode, MODE_LONG64);
    ck_assert_uint_eq(c->gpr[4], 0x7f00);
}
END_TEST

START_TEST(sysexit_to_compat)
{
    setup_long(0);
    c->sysenter_cs = 0x08;
    TH_LOAD(c, CODE, 0xba, 0x00, 0x20, 0x01, 0x00,              /* mov edx,0x12000 */
         0xb9, 0x00, 0x7f, 0x00, 0x00,                    /* mov ecx,0x7f00 */
         0x0f, 0x35);                                     /* sysexit */
    TH_LOAD(c, 0x12000, 0xeb, 0xfe);
    th_expect_end(c, 0x12000);
    ck_assert_uint_eq(c->seg[SEG_CS].sel, 0x1b);
    ck_assert_uint_eq(c->seg[SEG_SS].sel, 0x23);
    ck_assert_uint_eq(c->mode, MODE_COMPAT);
    ck_assert_uint_eq(c->cpl, 3);
}
END_TEST

START_TEST(sysenter_64_with_null_cs_is_gp)
{
    setup_long(3);
    c->sysenter_cs = 0;
    TH_LOAD(c, CODE, 0x0f, 0x34);
    th_expect_fault(c, CODE, EXC_GP, true, 0);
}
END_TEST

static Suite *xfer_suite(void)
{
    Suite *s = suite_create("xfer");
    TCase *t = tcase_create("far");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, far_call_ret_same_privilege);
    tcase_add_test(t, far_jmp_conforming_keeps_cpl);
    tcase_add_loop_test(t, far_jmp_fault, 0, sizeof far_jmp_faults / sizeof far_jmp_faults[0]);
    tcase_add_test(t, ret_far_to_outer_level);
    tcase_add_loop_test(t, ret_far_outer_fault, 0,
                        sizeof ret_outer_faults / sizeof ret_outer_faults[0]);
    suite_add_tcase(s, t);

    t = tcase_create("call_gate");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, call_gate32_privilege_change_and_return);
    tcase_add_test(t, call_gate16_privilege_change_and_return);
    tcase_add_loop_test(t, call_gate_bad_tss_stack, 0,
                        sizeof tss_ss_faults / sizeof tss_ss_faults[0]);
    tcase_add_test(t, call_gate64_from_64bit_code);
    tcase_add_test(t, call_gate64_from_compat_code);
    tcase_add_test(t, call_gate64_bad_upper_type);
    tcase_add_test(t, jmp_call_gate64_to_inner_level);
    suite_add_tcase(s, t);

    t = tcase_create("fast_syscall");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, syscall_sysretq);
    tcase_add_test(t, sysret_to_compat);
    tcase_add_test(t, syscall_without_sce_is_ud);
    tcase_add_test(t, syscall_in_compat_mode_is_ud);
    tcase_add_test(t, sysret_noncanonical_rcx_is_gp);
    tcase_add_test(t, sysret_at_cpl3_is_gp);
    tcase_add_test(t, sysenter_sysexit_32);
    tcase_add_test(t, sysenter_with_null_cs_is_gp);
    tcase_add_test(t, sysexit_at_cpl3_is_gp);
    tcase_add_test(t, sysenter_sysexit_64);
    tcase_add_test(t, sysexit_to_compat);
    tcase_add_test(t, sysenter_64_with_null_cs_is_gp);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return th_run_suite(xfer_suite());
}
