/* The native comparison, host side: the compute kernels of
 * compute_kernel.S run natively on this host, printed in the guest's
 * format (native_dump.h). Build-host only (x86-64). */
#include "native_dump.h"

#include <stdio.h>
#include <string.h>

static uint8_t out[NATIVE_OUT_SIZE] __attribute__((aligned(64)));

static void put(char ch)
{
    putchar(ch);
}

static void run(const char *name, void (*kernel)(uint8_t *))
{
    memset(out, 0xa5, sizeof out);
    kernel(out);
    native_dump(put, name, out);
}

int main(void)
{
    run("sse2_int", compute_kernel_sse2_int);
    run("sse_fp", compute_kernel_sse_fp);
    run("x87", compute_kernel_x87);
    return 0;
}
