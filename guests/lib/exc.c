/* Guest runtime: the IDT, the TSS and its GDT descriptor, and the C side of
 * every exception: record it in exc_last, then hand it to a hook, to the
 * active catcher (exc_run / exc_run_user), or report it as unexpected. */
#include "exc.h"

#include "report.h"
#include "x86.h"

struct idt_gate64 {
    uint16_t offset_lo;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t offset_mid;
    uint32_t offset_hi;
    uint32_t reserved;
} __attribute__((packed));

#define GATE_TYPE_INTR64 0x0e
#define GATE_P 0x80
#define STUB_SIZE 16

extern uint8_t isr_stubs[];
extern uint64_t boot_gdt[];
void exc_dispatch(struct exc_frame *f);
void user_enter(void (*fn)(uint64_t), uint64_t arg, uint64_t rsp) __attribute__((noreturn));

static struct idt_gate64 idt[256] __attribute__((aligned(16)));
struct tss64 rt_tss __attribute__((aligned(16)));
volatile struct exc_info exc_last;
static exc_hook_fn hooks[256];
static struct exc_jmp *catcher;

static uint8_t ring0_stack[8192] __attribute__((aligned(16)));
static uint8_t df_stack[4096] __attribute__((aligned(16)));
__attribute__((section(".user.data"), aligned(16))) static uint8_t user_stack[4096];

uint64_t rt_user_stack_top(void)
{
    return (uint64_t)(user_stack + sizeof(user_stack));
}

uint64_t rt_ring0_stack_top(void)
{
    return (uint64_t)(ring0_stack + sizeof(ring0_stack));
}

uint64_t rt_df_stack_top(void)
{
    return (uint64_t)(df_stack + sizeof(df_stack));
}

void idt_gate(unsigned vec, unsigned ist, unsigned dpl, bool present)
{
    uint64_t h = (uint64_t)(isr_stubs + vec * STUB_SIZE);
    struct idt_gate64 g = {
        .offset_lo = (uint16_t)h,
        .selector = GDT_KCODE,
        .ist = (uint8_t)(ist & 7),
        .type_attr = (uint8_t)(GATE_TYPE_INTR64 | ((dpl & 3) << 5) | (present ? GATE_P : 0)),
        .offset_mid = (uint16_t)(h >> 16),
        .offset_hi = (uint32_t)(h >> 32),
    };
    idt[vec & 255] = g;
}

/* Every vector present, DPL 0, no IST, except: #DF on IST1 (so a #DF caused
 * by a bad stack still runs) and the user-return vector with DPL 3. */
void idt_reset(void)
{
    for (unsigned v = 0; v < 256; v++)
        idt_gate(v, 0, 0, true);
    idt_gate(8, 1, 0, true);
    idt_gate(EXC_VEC_USER_RETURN, 0, 3, true);
}

/* SDM 3A "TSS Descriptor in 64-bit mode": type 9 = available 64-bit TSS. */
static void tss_install(void)
{
    uint64_t base = (uint64_t)&rt_tss;
    uint64_t limit = sizeof(rt_tss) - 1;

    rt_tss.rsp[0] = rt_ring0_stack_top();
    rt_tss.ist[1] = rt_df_stack_top();
    rt_tss.iomap_base = sizeof(rt_tss); /* no I/O bitmap */
    boot_gdt[GDT_TSS / 8] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
                            (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
    boot_gdt[GDT_TSS / 8 + 1] = base >> 32;
    __asm__ volatile("ltr %w0" : : "r"(GDT_TSS) : "memory");
}

void exc_init(void)
{
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) idtr = { sizeof(idt) - 1, (uint64_t)idt };

    idt_reset();
    __asm__ volatile("lidt %0" : : "m"(idtr) : "memory");
    tss_install();
}

void exc_set_hook(unsigned vec, exc_hook_fn fn)
{
    hooks[vec & 255] = fn;
}

void exc_dispatch(struct exc_frame *f)
{
    exc_last.f = *f;
    exc_last.cr2 = read_cr2();
    exc_last.frame_addr = (uint64_t)&f->rip;
    exc_last.count++;

    exc_hook_fn hook = hooks[f->vector & 255];
    if (hook && hook(f))
        return;
    if (catcher) {
        struct exc_jmp *j = catcher;
        catcher = 0;
        exc_longjmp(j, (int)f->vector + 1);
    }
    report_fail("unexpected exception", "vector %lu error %#lx at %#lx:%#lx, CR2 %#lx", f->vector,
                f->error, f->cs, f->rip, exc_last.cr2);
    guest_exit(GUEST_EXIT_FAIL);
}

int exc_run(void (*fn)(void *), void *arg)
{
    struct exc_jmp j;
    struct exc_jmp *prev = catcher;
    int v = exc_setjmp(&j);

    if (v == 0) {
        catcher = &j;
        fn(arg);
        catcher = prev;
        return -1;
    }
    catcher = prev;
    return v - 1;
}

int exc_run_user(void (*fn)(uint64_t), uint64_t arg, uint64_t stack_top)
{
    struct exc_jmp j;
    struct exc_jmp *prev = catcher;
    int v = exc_setjmp(&j);

    if (v == 0) {
        catcher = &j;
        user_enter(fn, arg, stack_top ? stack_top : rt_user_stack_top());
    }
    catcher = prev;
    return v - 1;
}
