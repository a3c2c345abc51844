/* Guest test alignment: SDM 3A "Interrupt 17 -- Alignment Check Exception
 * (#AC)" and "Alignment Checking" (SDM 1 "Alignment of Words, Doublewords,
 * Quadwords, and Double Quadwords"): with CR0.AM = 1, RFLAGS.AC = 1 and
 * CPL 3 an unaligned data reference is a fault #AC(0); loads, stores,
 * pushes, pops, string elements and far pointers are checked; byte
 * accesses, CPL 0, AC = 0 or AM = 0 never fault; descriptor-table reads
 * are implicit supervisor accesses and exempt. */
#include "console.h"
#include "exc.h"
#include "report.h"
#include "x86.h"

#define VEC_AC 17
#define CR0_AM (1ull << 18)

void u_load4(uint64_t), u_load4_ac_off(uint64_t), u_store8(uint64_t), u_store2(uint64_t);
void u_byte(uint64_t), u_push(uint64_t), u_pop(uint64_t), u_movsd(uint64_t), u_lfs(uint64_t);
void u_load_ds(uint64_t);
extern const uint8_t u_load4_rip[], u_store8_rip[], u_store2_rip[], u_push_rip[], u_pop_rip[];
extern const uint8_t u_movsd_rip[], u_lfs_rip[];
extern uint64_t boot_gdt[];

__attribute__((section(".user.data"), aligned(64))) static uint8_t ubuf[256];

/* Run fn(arg) at CPL 3: #AC(0) at rip when rip is given, else back
 * through INT 0x80. */
static void expect(const char *name, void (*fn)(uint64_t), uint64_t arg, const void *rip)
{
    char n[96];
    int v = exc_run_user(fn, arg, 0);
    if (!rip) {
        check_eq(name, (uint64_t)v, EXC_VEC_USER_RETURN);
        return;
    }
    if (!check_eq(name, (uint64_t)v, VEC_AC))
        return;
    fmt_snprintf(n, sizeof n, "%s.error_code", name);
    check_eq(n, exc_last.f.error, 0);
    fmt_snprintf(n, sizeof n, "%s.rip", name);
    check_eq(n, exc_last.f.rip, (uint64_t)rip);
}

static void test_loads_stores(void)
{
    uint64_t b = (uint64_t)ubuf;
    expect("ac.load4_misaligned", u_load4, b + 2, u_load4_rip);
    expect("ac.load4_aligned", u_load4, b + 4, 0);
    expect("ac.store8_misaligned", u_store8, b + 4, u_store8_rip);
    expect("ac.store8_aligned", u_store8, b + 8, 0);
    expect("ac.store2_misaligned", u_store2, b + 3, u_store2_rip);
    expect("ac.store2_aligned", u_store2, b + 6, 0);
    expect("ac.byte_never", u_byte, b + 7, 0);
    expect("ac.ac_clear_no_check", u_load4_ac_off, b + 1, 0);
}

static void test_stack_string_far(void)
{
    uint64_t b = (uint64_t)ubuf;
    expect("ac.push_misaligned_rsp", u_push, b + 132, u_push_rip);
    expect("ac.push_aligned_rsp", u_push, b + 136, 0);
    expect("ac.pop_misaligned_rsp", u_pop, b + 100, u_pop_rip);
    expect("ac.pop_aligned_rsp", u_pop, b + 96, 0);
    expect("ac.movsd_misaligned", u_movsd, b + 1, u_movsd_rip);
    expect("ac.movsd_aligned", u_movsd, b + 4, 0);
    /* m16:32 far pointer: 4-byte alignment (SDM 3A Table "Alignment
     * Requirements by Data Type": 48-bit segmented pointer 4) */
    uint16_t sel = 0x20 | 3; /* the runtime's user data selector */
    for (unsigned off = 16; off <= 18; off += 2) {
        ubuf[off + 4] = (uint8_t)sel;
        ubuf[off + 5] = (uint8_t)(sel >> 8);
    }
    expect("ac.lfs_far_pointer_misaligned", u_lfs, b + 18, u_lfs_rip);
    expect("ac.lfs_far_pointer_aligned", u_lfs, b + 16, 0);
}

/* The conditions: AM = 0, or CPL 0, leave alignment unchecked. */
static void cpl0_misaligned(void *arg)
{
    volatile uint32_t *p = (volatile uint32_t *)((uint64_t)arg);
    write_rflags(read_rflags() | FL_AC);
    (void)*p;
    write_rflags(read_rflags() & ~FL_AC);
}

static void test_conditions(void)
{
    uint64_t b = (uint64_t)ubuf;
    write_cr0(read_cr0() & ~CR0_AM);
    expect("ac.am_clear_no_check", u_load4, b + 2, 0);
    write_cr0(read_cr0() | CR0_AM);
    check_eq("ac.cpl0_no_check", (uint64_t)exc_run(cpl0_misaligned, (void *)(b + 2)), (uint64_t)-1);
}

/* SDM 3A "Interrupt 17": implicit supervisor accesses (here the GDT read
 * of MOV DS at CPL 3, from a GDT at an address that is 2 mod 8) are not
 * checked. */
struct __attribute__((packed)) dtr {
    uint16_t limit;
    uint64_t base;
};
static uint8_t gdt_copy[16 * 8 + 8] __attribute__((aligned(8)));

static void test_implicit_supervisor(void)
{
    struct dtr old, moved;
    __asm__ volatile("sgdt %0" : "=m"(old));
    const uint8_t *src = (const uint8_t *)old.base;
    for (unsigned i = 0; i <= old.limit && i < sizeof gdt_copy - 2; i++)
        gdt_copy[2 + i] = src[i];
    moved.limit = old.limit;
    moved.base = (uint64_t)gdt_copy + 2;
    __asm__ volatile("lgdt %0" : : "m"(moved) : "memory");
    expect("ac.gdt_read_exempt", u_load_ds, 0, 0);
    __asm__ volatile("lgdt %0" : : "m"(old) : "memory");
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_magic;
    (void)mb_info;
    write_cr0(read_cr0() | CR0_AM);
    test_loads_stores();
    test_stack_string_far();
    test_conditions();
    test_implicit_supervisor();
    write_cr0(read_cr0() & ~CR0_AM);
    guest_finish();
}
