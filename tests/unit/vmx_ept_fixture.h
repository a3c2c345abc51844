/* The shared set-up of the EPT unit tests (test_vmx_ept.c, test_vmx_pml.c,
 * test_vmx_ve.c, test_vmx_vmfunc.c): the skylake-server model, a VMX-capable
 * CPU in 64-bit root operation with a current VMCS that is valid for a
 * 64-bit guest under an identity EPT, root code run with ROOT(), and a
 * guest run with GUEST() up to its VM exit (the host is a HLT). The memory
 * map is below; a test puts its own structures above 0x304000 (EPT side)
 * or in the free pages of the low 1 MiB. One test file includes it once. */
#ifndef NVMX_TEST_VMX_EPT_FIXTURE_H
#define NVMX_TEST_VMX_EPT_FIXTURE_H

#include "cpu/cpu_internal.h"
#include "nvmx/config.h"
#include "nvmx/ept.h"
#include "vmx/vmx_internal.h"
#include "harness.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#define RAM_SIZE (8u << 20)
#define PML4 0x1000ull /* PDPT 0x2000, PD 0x3000: 2-MByte identity pages, user, writable */
#define GDT_BASE 0x5000ull
#define TSS_BASE 0x6000ull
#define ROOT_CODE 0x10000ull
#define HOST_RIP 0x11000ull
#define GUEST_CODE 0x12000ull
#define CODE2 0x13000ull
#define DATA 0x20000ull
#define DATA2 0x21000ull
#define DESC 0x22000ull
#define GUEST_STACK 0x30000ull
#define HOST_STACK 0x40000ull
#define VMCS_PA 0x100000ull
#define VMXON_PA 0x101000ull
#define EPML4 0x300000ull
#define EPDPT 0x301000ull
#define EPD 0x302000ull
#define EPT_PT 0x303000ull /* maps guest-physical 0-2 MiB in 4-KByte pages */
#define WB (6ull << EPT_MT_SHIFT)
#define EPTP_WB4 (EPML4 | (3ull << EPTP_WALK_SHIFT) | EPT_MT_WB)

#define PIN_D1 0x16u
#define PROC_D1 0x0401e172u
#define EXIT_D1 0x00036dffu
#define ENTRY_D1 0x000011ffu
#define CR0_HOST (CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG)
#define PROC_SEC ((uint32_t)PROC_ACTIVATE_SECONDARY_CONTROLS | (uint32_t)PROC_HLT_EXITING)

#define HLT 0xf4
#define MOV_RAX_DATA 0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x02, 0x00 /* mov rax, [DATA] */
#define MOV_DATA_RAX 0x48, 0x89, 0x04, 0x25, 0x00, 0x00, 0x02, 0x00 /* mov [DATA], rax */

static struct cpu_model model;
static struct cost_model cost;
static struct machine *m;
static struct cpu *c;
static struct vmx *v;

static inline uint64_t *ram64(uint64_t pa) { return (uint64_t *)(void *)(m->ram + pa); }
static inline uint64_t *ept_pte(uint64_t gpa) { return ram64(EPT_PT + ((gpa >> 12) & 511) * 8); }
static inline void put(enum vmcs_field f, uint64_t val) { vmcs_set(v, f, val); }
static inline uint64_t get(enum vmcs_field f) { return vmcs_get(v, f); }

/* EPT identity map of the 8 MiB of RAM: 4-KByte pages below 2 MiB, 2-MByte
 * pages above, all RWX and write-back. */
static inline void ept_identity(void)
{
    memset(m->ram + EPML4, 0, 4 * 4096);
    *ram64(EPML4) = EPDPT | EPT_RWX;
    *ram64(EPDPT) = EPD | EPT_RWX;
    *ram64(EPD) = EPT_PT | EPT_RWX;
    for (uint64_t i = 1; i < 4; i++)
        *ram64(EPD + 8 * i) = (i << 21) | EPT_PS | EPT_RWX | WB;
    for (uint64_t j = 0; j < 512; j++)
        *ram64(EPT_PT + 8 * j) = (j << 12) | EPT_RWX | WB;
}

static inline void set_seg(unsigned i, uint16_t sel, uint64_t base, uint32_t limit, uint32_t ar)
{
    put((enum vmcs_field)(VMCS_guest_es_selector + i), sel);
    put((enum vmcs_field)(VMCS_guest_es_base + i), base);
    put((enum vmcs_field)(VMCS_guest_es_limit + i), limit);
    put((enum vmcs_field)(VMCS_guest_es_ar_bytes + i), ar);
}

/* A valid VMCS: 64-bit host and guest sharing the flat GDT and the
 * identity page tables (guest-physical under EPT); EPT on, identity. */
static inline void valid_vmcs(void)
{
    put(VMCS_pin_based_vm_exec_control, PIN_D1);
    put(VMCS_cpu_based_vm_exec_control, PROC_D1 | PROC_SEC);
    put(VMCS_secondary_vm_exec_control, PROC2_ENABLE_EPT);
    put(VMCS_ept_pointer, EPTP_WB4);
    put(VMCS_exception_bitmap, 0xffffffffu); /* a guest fault is an exit, not a delivery */
    put(VMCS_vm_exit_controls, EXIT_D1 | (uint32_t)EXIT_HOST_ADDRESS_SPACE_SIZE);
    put(VMCS_vm_entry_controls, ENTRY_D1 | (uint32_t)ENTRY_IA32E_MODE_GUEST);
    put(VMCS_vmcs_link_pointer, ~0ull);

    put(VMCS_host_cr0, CR0_HOST);
    put(VMCS_host_cr3, PML4);
    put(VMCS_host_cr4, CR4_PAE | CR4_VMXE);
    put(VMCS_host_cs_selector, 0x08);
    put(VMCS_host_ss_selector, 0x10);
    put(VMCS_host_ds_selector, 0x10);
    put(VMCS_host_es_selector, 0x10);
    put(VMCS_host_tr_selector, 0x20);
    put(VMCS_host_tr_base, TSS_BASE);
    put(VMCS_host_gdtr_base, GDT_BASE);
    put(VMCS_host_rip, HOST_RIP);
    put(VMCS_host_rsp, HOST_STACK);

    put(VMCS_guest_cr0, CR0_HOST);
    put(VMCS_guest_cr3, PML4);
    put(VMCS_guest_cr4, CR4_PAE | CR4_VMXE);
    put(VMCS_guest_dr7, 0x400);
    set_seg(SEG_CS, 0x08, 0, 0xffffffffu, 0xa09b);
    for (unsigned s = 0; s < SEG_NSEGS; s++)
        if (s != SEG_CS)
            set_seg(s, 0x10, 0, 0xffffffffu, 0xc093);
    set_seg(6, 0, 0, 0, AR_UNUSABLE);
    set_seg(7, 0x20, TSS_BASE, 0x67, 0x8b);
    put(VMCS_guest_gdtr_base, GDT_BASE);
    put(VMCS_guest_gdtr_limit, 0x27);
    put(VMCS_guest_rip, GUEST_CODE);
    put(VMCS_guest_rsp, GUEST_STACK);
    put(VMCS_guest_rflags, FL_FIXED1);
    put(VMCS_guest_ia32_efer, EFER_LME | EFER_LMA);
}

static inline void setup(void)
{
    char path[640], err[512];
    snprintf(path, sizeof path, "%s/configs/cpu/skylake-server.json", NVMX_SOURCE_DIR);
    ck_assert_msg(config_load_cpu_model(path, &model, err, sizeof err), "%s", err);
    m = th_machine_create(RAM_SIZE, true);
    c = th_cpu_create(m, &model, &cost);
    th_long_mode_2m(c, PML4, 4, true, GDT_BASE);
    cpu_write_phys(c, GDT_BASE + 0x20, 8, 0x67 | ((TSS_BASE & 0xffffff) << 16) | (0x8bull << 40));
    cpu_write_phys(c, GDT_BASE + 0x28, 8, 0);
    th_gdt_user64(c, GDT_BASE);
    c->gdtr.limit = 8 * 7 - 1;
    c->cr4 |= CR4_VMXE;
    c->gpr[4] = HOST_STACK;
    c->stop_on_exception = true;
    cpu_write_phys(c, HOST_RIP, 1, HLT);

    struct vmx_caps caps;
    memcpy(caps.msr, model.vmx_msrs, sizeof caps.msr);
    ck_assert_msg(vmx_caps_validate(&caps, err, sizeof err), "%s", err);
    v = vmx_attach(c, &caps);
    ck_assert_ptr_nonnull(v);
    v->in_vmx_operation = true;
    v->vmxon_ptr = VMXON_PA;
    v->current_vmcs = VMCS_PA;
    v->launch_state = VMCS_STATE_CLEAR;
    cpu_write_phys(c, VMCS_PA, 4, (uint32_t)(model.vmx_msrs[VMX_MSR_BASIC] & 0x7fffffff));
    ept_identity();
    valid_vmcs();
}

static inline void teardown(void)
{
    vmx_detach(c);
    cpu_destroy(c);
    machine_destroy(m);
}

/* ---- running root code and the guest ------------------------------------------------ */

struct outcome {
    bool faulted;
    int vector;
    uint64_t flags; /* arithmetic flags afterwards */
};

/* Run bytes + HLT in root operation at ROOT_CODE, all six flags set first. */
static inline struct outcome root_exec(const uint8_t *bytes, size_t n)
{
    uint8_t buf[32];
    memcpy(buf, bytes, n);
    buf[n] = HLT;
    th_load(c, ROOT_CODE, buf, n + 1);
    th_start_at(c, ROOT_CODE);
    cpu_set_rflags(c, FL_FIXED1 | FL_ARITH);
    enum cpu_stop s = cpu_run(c, 10);
    struct outcome o = { .faulted = s == CPU_STOP_EXCEPTION, .vector = c->last_exception };
    o.flags = cpu_get_rflags(c) & FL_ARITH;
    return o;
}
#define ROOT(...)                                                                              \
    ({                                                                                         \
        static const uint8_t b_[] = { __VA_ARGS__ };                                           \
        root_exec(b_, sizeof b_);                                                              \
    })

/* VMLAUNCH (or VMRESUME) with the guest code at GUEST_CODE; runs until the
 * host's HLT after the VM exit. Returns the exit reason. */
static inline uint32_t run_guest(const uint8_t *code, size_t n, bool resume)
{
    th_load(c, GUEST_CODE, code, n);
    put(VMCS_guest_rip, GUEST_CODE);
    uint8_t insn[3] = { 0x0f, 0x01, resume ? 0xc3 : 0xc2 };
    th_load(c, ROOT_CODE, insn, 3);
    cpu_write_phys(c, ROOT_CODE + 3, 1, HLT);
    th_start_at(c, ROOT_CODE);
    cpu_set_rflags(c, FL_FIXED1);
    enum cpu_stop s = cpu_run(c, 200);
    ck_assert_msg(s == CPU_STOP_HLT_FOREVER && !c->vmx_nonroot && c->rip == HOST_RIP + 1,
                  "no VM exit: stop %d, rip 0x%llx, non-root %d, VM-instruction error %llu", s,
                  (unsigned long long)c->rip, c->vmx_nonroot,
                  (unsigned long long)get(VMCS_vm_instruction_error));
    return (uint32_t)get(VMCS_vm_exit_reason);
}
#define GUEST(resume, ...)                                                                     \
    ({                                                                                         \
        static const uint8_t g_[] = { __VA_ARGS__ };                                           \
        run_guest(g_, sizeof g_, (resume));                                                    \
    })

static inline void expect_exit(uint32_t reason, uint32_t expected, uint64_t rip)
{
    ck_assert_msg(reason == expected, "exit reason %u, expected %u (qualification 0x%llx)", reason,
                  expected, (unsigned long long)get(VMCS_exit_qualification));
    ck_assert_msg(get(VMCS_guest_rip) == rip, "guest RIP 0x%llx, expected 0x%llx",
                  (unsigned long long)get(VMCS_guest_rip), (unsigned long long)rip);
}


#define VMLAUNCH 0x0f, 0x01, 0xc2

/* VMLAUNCH from root code after a test changed one control: entered when
 * ok, else VMfailValid with error 7 (SDM 3C "Checks on VM-Execution
 * Control Fields"). */
static inline void expect_launch_control_check(const char *what, bool ok)
{
    struct outcome o = ROOT(VMLAUNCH);
    if (ok) {
        ck_assert_msg(c->vmx_nonroot, "%s: not entered (error %llu)", what,
                      (unsigned long long)get(VMCS_vm_instruction_error));
    } else {
        ck_assert_msg(!c->vmx_nonroot && o.flags == FL_ZF, "%s: flags 0x%llx", what,
                      (unsigned long long)o.flags);
        ck_assert_uint_eq(get(VMCS_vm_instruction_error), VMX_INSN_ERR_ENTRY_INVALID_CONTROL);
    }
}

#endif
