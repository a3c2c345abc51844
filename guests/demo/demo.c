/* nvmx demo kernel: boots through the multiboot 32-bit entry into 64-bit
 * mode, prints a banner and a few facts over COM1, and exits with 0. */
#include "console.h"
#include "multiboot.h"
#include "report.h"
#include "rtstring.h"
#include "x86.h"

#define SIEVE_LIMIT 10000
#define PRIMES_BELOW_10000 1229

static uint8_t composite[SIEVE_LIMIT];

static unsigned count_primes(void)
{
    unsigned n = 0;

    for (unsigned i = 2; i < SIEVE_LIMIT; i++) {
        if (composite[i])
            continue;
        n++;
        for (unsigned j = i * i; j < SIEVE_LIMIT; j += i)
            composite[j] = 1;
    }
    return n;
}

/* CRC-32 (IEEE 802.3, reflected 0xEDB88320) of the bytes 0, 1, ..., 255. */
static uint32_t crc32_of_ramp(void)
{
    uint32_t crc = 0xffffffffu;

    for (unsigned i = 0; i < 256; i++) {
        crc ^= i;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1));
    }
    return ~crc;
}

/* "rounds=N" on the command line repeats the CRC loop N times: a
 * loop-heavy workload for measuring the interpreter (nvmx run --stats). */
static unsigned rounds_from_cmdline(const char *cmd)
{
    for (const char *p = cmd; p && *p; p++) {
        static const char key[] = "rounds=";
        unsigned k = 0;
        while (k < 7 && p[k] == key[k])
            k++;
        if (k != 7)
            continue;
        unsigned n = 0;
        for (p += 7; *p >= '0' && *p <= '9'; p++)
            n = n * 10 + (unsigned)(*p - '0');
        return n;
    }
    return 1;
}

static void print_cpuid(void)
{
    struct cpuid_regs r = cpuid(0, 0);
    char vendor[13];
    memcpy(vendor, &r.ebx, 4);
    memcpy(vendor + 4, &r.edx, 4);
    memcpy(vendor + 8, &r.ecx, 4);
    vendor[12] = '\0';
    con_printf("CPU vendor: %s (max leaf %#x)\n", vendor, r.eax);

    if (cpuid(0x80000000u, 0).eax < 0x80000004u) {
        con_printf("CPU brand: (not reported)\n");
        return;
    }
    char brand[49];
    for (unsigned i = 0; i < 3; i++) {
        r = cpuid(0x80000002u + i, 0);
        memcpy(brand + 16 * i, &r, 16);
    }
    brand[48] = '\0';
    const char *b = brand;
    while (*b == ' ')
        b++;
    con_printf("CPU brand: %s\n", b);
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    con_printf("\nnvmx demo guest: 64-bit mode, CS %#x, CR0 %#lx, CR4 %#lx\n", read_cs(),
               read_cr0(), read_cr4());
    print_cpuid();
    unsigned rounds = 1;
    if (mb_magic == MB_BOOTLOADER_MAGIC) {
        const struct mb_info *mbi = (const struct mb_info *)(uint64_t)mb_info;
        if (mbi->flags & MB_INFO_MEMORY)
            con_printf("memory: %u KiB low, %u KiB high\n", mbi->mem_lower, mbi->mem_upper);
        if (mbi->flags & MB_INFO_CMDLINE) {
            const char *cmd = (const char *)(uint64_t)mbi->cmdline;
            con_printf("command line: \"%s\"\n", cmd);
            rounds = rounds_from_cmdline(cmd);
        }
    }
    unsigned primes = count_primes();
    uint32_t crc = 0;
    for (unsigned r = 0; r < rounds; r++)
        crc = crc32_of_ramp();
    if (rounds != 1)
        con_printf("crc32 rounds: %u\n", rounds);
    con_printf("primes below %u: %u\n", SIEVE_LIMIT, primes);
    con_printf("crc32(0..255): %#010x\n", crc);
    check_eq("demo.primes", primes, PRIMES_BELOW_10000);
    check_eq("demo.crc32", crc, 0x29058c73u);
}
