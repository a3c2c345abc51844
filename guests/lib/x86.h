/* Guest runtime: x86-64 architectural constants and one-instruction
 * wrappers (port I/O, MSRs, control registers, CPUID, TLB). */
#ifndef GUEST_X86_H
#define GUEST_X86_H

#include <stdbool.h>
#include <stdint.h>

/* Selectors of the runtime's GDT (guests/lib/boot.S). The user selectors
 * follow the order SYSRET needs: STAR[63:48] = GDT_USER32, SS = +8, CS = +16. */
#define GDT_KCODE 0x08
#define GDT_KDATA 0x10
#define GDT_USER32 0x18
#define GDT_UDATA 0x20
#define GDT_UCODE 0x28
#define GDT_TSS 0x30

/* RFLAGS (SDM 1 "EFLAGS Register") */
#define FL_CF (1ull << 0)
#define FL_TF (1ull << 8)
#define FL_IF (1ull << 9)
#define FL_DF (1ull << 10)
#define FL_AC (1ull << 18)

#define CR0_WP (1ull << 16)
#define CR4_SMEP (1ull << 20)
#define CR4_SMAP (1ull << 21)

#define MSR_EFER 0xc0000080u
#define MSR_STAR 0xc0000081u
#define MSR_LSTAR 0xc0000082u
#define MSR_SFMASK 0xc0000084u
#define EFER_SCE (1ull << 0)
#define EFER_NXE (1ull << 11)

/* #PF error code (SDM 3A "Interrupt 14 -- Page-Fault Exception") */
#define PFEC_P (1u << 0)
#define PFEC_W (1u << 1)
#define PFEC_U (1u << 2)
#define PFEC_RSVD (1u << 3)
#define PFEC_I (1u << 4)

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

struct cpuid_regs {
    uint32_t eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid(uint32_t leaf, uint32_t subleaf)
{
    struct cpuid_regs r;
    __asm__ volatile("cpuid"
                     : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
                     : "a"(leaf), "c"(subleaf)
                     : "memory");
    return r;
}

#define DEFINE_CR(n)                                                                         \
    static inline uint64_t read_cr##n(void)                                                  \
    {                                                                                        \
        uint64_t v;                                                                          \
        __asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));                                    \
        return v;                                                                            \
    }                                                                                        \
    static inline void write_cr##n(uint64_t v)                                               \
    {                                                                                        \
        __asm__ volatile("mov %0, %%cr" #n : : "r"(v) : "memory");                           \
    }
DEFINE_CR(0)
DEFINE_CR(2)
DEFINE_CR(3)
DEFINE_CR(4)
#undef DEFINE_CR

static inline uint64_t read_rflags(void)
{
    uint64_t v;
    __asm__ volatile("pushfq; popq %0" : "=r"(v));
    return v;
}

static inline void write_rflags(uint64_t v)
{
    __asm__ volatile("pushq %0; popfq" : : "r"(v) : "memory", "cc");
}

static inline void invlpg(uint64_t lin)
{
    __asm__ volatile("invlpg (%0)" : : "r"(lin) : "memory");
}

static inline uint16_t read_cs(void)
{
    uint16_t v;
    __asm__ volatile("mov %%cs, %0" : "=r"(v));
    return v;
}

/* CPUID is serializing (SDM 3A "Serializing Instructions"). */
static inline void serialize(void)
{
    (void)cpuid(0, 0);
}

#endif
