/* The host's x87 unit as nvmx's x87 arithmetic (docs/fpu.md "Implementation
 * choice"): one stub per x87 encoding restores a 108-byte FSAVE image built
 * from the guest's state (FRSTOR), executes the guest's own instruction
 * with its memory operand redirected to a host buffer, and saves the result
 * (FNSAVE, which also leaves the host unit initialised with an empty stack,
 * as the x86-64 ABI wants between calls; the host's FCW, callee-saved in
 * that ABI, is put back). Only FRSTOR and the
 * instruction itself are waiting instructions, and the image has no
 * exception flag set, so an unmasked guest exception never traps on the
 * host: the host performs the SDM's unmasked response and FNSAVE reports it. */
#include "cpu/x87_host.h"

#include <stdint.h>
#include <string.h>

#if !defined(__x86_64__)
#error "nvmx's x87 unit runs on an x86-64 host (docs/fpu.md)"
#endif

/* Stub layout: for each escape byte D8-DF, 8 memory forms (ModRM reg<<3|6,
 * i.e. [rsi]) then the 64 register forms (ModRM C0-FF), 32 bytes each:
 *   fnstcw [rsp-16]; push rdx; popfq; frstor [rdi]; <escape> <modrm>;
 *   fnsave [rdi]; fldcw [rsp-16]; pushfq; pop rax; ret
 * ([rsp-16] is in the red zone, below what pushfq writes)
 * RFLAGS in (rdx) feeds FCMOVcc, RFLAGS out (rax) carries FCOMI's flags. */
__asm__(".pushsection .text\n"
        ".balign 32\n"
        ".globl nvmx_x87_host_stubs\n"
        ".hidden nvmx_x87_host_stubs\n"
        ".type nvmx_x87_host_stubs, @function\n"
        "nvmx_x87_host_stubs:\n"
        ".macro nvmx_x87_stub esc, modrm\n"
        "  .balign 32\n"
        "  fnstcw -16(%rsp)\n"
        "  push %rdx\n"
        "  popfq\n"
        "  frstor (%rdi)\n"
        "  .byte \\esc, \\modrm\n"
        "  fnsave (%rdi)\n"
        "  fldcw -16(%rsp)\n"
        "  pushfq\n"
        "  pop %rax\n"
        "  ret\n"
        ".endm\n"
        ".irp esc, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf\n"
        "  .irp reg, 0, 1, 2, 3, 4, 5, 6, 7\n"
        "    nvmx_x87_stub \\esc, (\\reg << 3) | 6\n"
        "  .endr\n"
        "  .irp hi, 0xc0, 0xc8, 0xd0, 0xd8, 0xe0, 0xe8, 0xf0, 0xf8\n"
        "    .irp lo, 0, 1, 2, 3, 4, 5, 6, 7\n"
        "      nvmx_x87_stub \\esc, \\hi + \\lo\n"
        "    .endr\n"
        "  .endr\n"
        ".endr\n"
        ".purgem nvmx_x87_stub\n"
        ".size nvmx_x87_host_stubs, . - nvmx_x87_host_stubs\n"
        ".popsection\n");

void nvmx_x87_host_stubs(void);

typedef uint64_t (*x87_stub_fn)(void *image, void *mem, uint64_t rflags);

uint64_t x87_host_exec(uint8_t image[X87_IMAGE_SIZE], void *mem, uint8_t esc, uint8_t modrm,
                       uint64_t rflags)
{
    unsigned idx = (unsigned)(esc - 0xd8) * 72u;
    idx += (modrm >> 6) == 3 ? 8u + (modrm & 0x3fu) : (modrm >> 3) & 7u;
    uintptr_t at = (uintptr_t)&nvmx_x87_host_stubs + 32u * idx;
    x87_stub_fn fn = (x87_stub_fn)at;
    /* Only the arithmetic flags and the always-one bit 1, with IF as user
     * code has it: no TF, DF or AC reach the host. */
    return fn(image, mem, (rflags & 0x8d5u) | 0x202u);
}
