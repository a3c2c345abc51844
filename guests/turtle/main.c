/* The turtle's start: its options, VMX on the processor it runs on, the
 * guest loaded from module 0, and the run loop. Its own command line:
 *   nested=0|1  offer VMX to the guest (default 1)
 *   shadow=0|1  use VMCS shadowing for the guest's VMREAD/VMWRITE when
 *               the processor offers it, and offer it to the guest
 *               (emulated, shadow12.c) (default 1)
 *   ept=0|1     give the guest its own memory through EPT (default 0)
 *   mem=SIZE    that memory's size, a multiple of 2 MiB (default 64M)
 *   verbose     a line on the console for each VMX event of the guest
 *   level=N     the turtle's nesting level: it executes nvmx's annotation
 *               instruction with N at start and on each exit it handles
 * (docs/guests.md). */
#include "turtle.h"

#include <stdarg.h>

#include "cmdline.h"
#include "multiboot.h"
#include "rtstring.h"
#include "console.h"
#include "report.h"
#include "x86.h"
#include "nvmx/annotate.h"

struct turtle_opts topts = {.nested = true, .shadow = true};
uint8_t vmcs01_region[4096] __attribute__((aligned(4096)));

void vcpu_vmcs_setup(const struct guest_boot *gb);

void turtle_fatal(const char *fmt, ...)
{
    va_list ap;
    con_puts("turtle: ");
    va_start(ap, fmt);
    con_vprintf(fmt, ap);
    va_end(ap);
    con_putc('\n');
    guest_exit(GUEST_EXIT_FAIL);
}

void turtle_log(const char *fmt, ...)
{
    va_list ap;
    if (!topts.verbose)
        return;
    con_puts("turtle: ");
    va_start(ap, fmt);
    con_vprintf(fmt, ap);
    va_end(ap);
    con_putc('\n');
}

static bool turtle_exit_handler(regs_t *r)
{
    if (topts.annotate)
        nvmx_annotate(NVMX_ANNOTATE_LEVEL, topts.level, 0);
    uint32_t reason = (uint32_t)vmread(EXIT_REASON);
    if (vcpu.in_l3)
        return nested_exit(r, reason);
    return vcpu_exit(r, reason);
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    const char *cmd = mb_cmdline(mb_magic, mb_info);
    struct guest_boot gb;
    regs_t regs;
    bool ok;
    int r;

    topts.nested = cmdline_u64(cmd, "nested", 1, &ok) != 0;
    if (!ok)
        turtle_fatal("nested= takes 0 or 1");
    topts.verbose = cmdline_has(cmd, "verbose");
    topts.shadow = cmdline_u64(cmd, "shadow", 1, &ok) != 0;
    if (!ok)
        turtle_fatal("shadow= takes 0 or 1");
    topts.ept = cmdline_u64(cmd, "ept", 0, &ok) != 0;
    if (!ok)
        turtle_fatal("ept= takes 0 or 1");
    topts.mem = cmdline_u64(cmd, "mem", 64ull << 20, &ok);
    if (!ok || !topts.mem || (topts.mem & ((2ull << 20) - 1)) || topts.mem > (1ull << 32))
        turtle_fatal("mem= takes a multiple of 2 MiB up to 4G");
    topts.annotate = cmdline_has(cmd, "level");
    topts.level = cmdline_u64(cmd, "level", 0, &ok);
    if (!ok || topts.level > 63)
        turtle_fatal("level= takes a level 0-63");
    if (topts.annotate)
        nvmx_annotate(NVMX_ANNOTATE_LEVEL, topts.level, 0);

    if (!vmx_supported())
        turtle_fatal("unsupported: the processor has no VMX (CPUID.1:ECX[5] = 0)");
    vmx_caps_read();
    if (!vmx_feature_control_enable())
        turtle_fatal("VMX is disabled by IA32_FEATURE_CONTROL (%#lx)",
                     rdmsr(MSR_IA32_FEATURE_CONTROL));
    if ((r = vmx_enter_root()) != VMX_OK)
        turtle_fatal("VMXON failed (result %d)", r);
    if (topts.ept) {
        /* the controls come from vmx_ctls after vmx_vmcs_init; ask the
         * capabilities directly here */
        uint64_t p = vmx_caps.proc;
        if (!((p >> 63) & 1) || ((vmx_caps.proc2 >> 32) & 0x82u) != 0x82u)
            turtle_fatal("unsupported: ept=1 needs EPT and unrestricted guest");
    }
    load_guest(mb_magic, mb_info, &gb);
    caps_init();
    nested_ept_init();
    /* The guest finds IA32_FEATURE_CONTROL as firmware leaves it: locked,
     * VMX outside SMX enabled (when VMX is offered). */
    vcpu_init(topts.nested ? (FC_LOCK | FC_VMX_OUTSIDE_SMX) : 0);
    vcpu_vmcs_setup(&gb);
    vmcs12_probe();
    shadow_init(topts.nested && topts.shadow);
    turtle_log("VMCS shadowing for the guest: %s", shadow_enabled() ? "on" : "off");

    memset(&regs, 0, sizeof(regs));
    regs.rax = MB_BOOTLOADER_MAGIC;
    regs.rbx = gb.mb_info;
    vmx_exit_handler = turtle_exit_handler;
    for (;;) {
        r = vmx_run(&regs);
        if (r == VMX_OK)
            turtle_fatal("the exit handler stopped");
        if (!vcpu.in_l3)
            turtle_fatal("VM entry of the guest failed: result %d, error %u", r,
                         r == VMX_FAIL_VALID ? vmx_insn_error() : 0);
        nested_entry_vmfail(r);
        regs.launched = 1;
    }
}
