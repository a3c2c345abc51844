/* Workload: CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320) of a
 * 1-KiB buffer `count` times, the buffer changing with the iteration. No
 * instruction in the loop exits, so the time per iteration shows what a
 * guest pays for running at a depth without exits. Each CRC is computed
 * twice, bit by bit and with a table, and the two must agree. */
#include "report.h"
#include "workload.h"

#define BUF_SIZE 1024

static uint8_t buf[BUF_SIZE];
static uint32_t table[256];

static uint32_t crc_bitwise(const uint8_t *p, unsigned n)
{
    uint32_t c = ~0u;
    while (n--) {
        c ^= *p++;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & -(c & 1));
    }
    return ~c;
}

static uint32_t crc_table(const uint8_t *p, unsigned n)
{
    uint32_t c = ~0u;
    while (n--)
        c = table[(c ^ *p++) & 0xff] ^ (c >> 8);
    return ~c;
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    uint64_t n = wl_start("compute", mb_magic, mb_info, 100);
    uint64_t differ = 0, t0, t1;
    uint32_t acc = 0;

    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & -(c & 1));
        table[i] = c;
    }
    /* Known answer: CRC-32 of "123456789" is 0xCBF43926 (the check value
     * of the CRC catalogue's CRC-32/ISO-HDLC). */
    check_eq("workload.compute.check_value", crc_table((const uint8_t *)"123456789", 9),
             0xcbf43926u);
    t0 = wl_rdtsc();
    for (uint64_t i = 0; i < n; i++) {
        for (unsigned j = 0; j < BUF_SIZE; j++)
            buf[j] = (uint8_t)(j * 7 + i + (acc >> (j & 31)));
        uint32_t a = crc_table(buf, BUF_SIZE);
        differ += a != crc_bitwise(buf, BUF_SIZE);
        acc ^= a;
    }
    t1 = wl_rdtsc();
    wl_timing("compute", n, t1 - t0);
    check_eq("workload.compute.table_equals_bitwise", differ, 0);
}
