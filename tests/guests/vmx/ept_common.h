/* EPT conformance guests: a guest-physical address space built with
 * guests/lib/ept.c, the test window whose pages the tests give chosen EPT
 * permissions, and checks of EPT-induced VM exits (SDM 3C "EPT", "Exit
 * Qualification for EPT Violations", "Information for VM Exits Due to
 * Instruction Execution" -- guest-linear and guest-physical address).
 *
 * The guest runs on the host's page tables (identity 0..4 GiB, 2-MiB
 * supervisor read/write pages above 2 MiB), so guest-linear = guest-
 * physical; EPT maps:
 *   0 .. 1 GiB        identity, RWX, WB (the image, its stacks and tables)
 *   TW .. TW + 64 KiB 4-KiB pages -> ept_tpage[] (the test window)
 *   TW_2M             one 2-MiB leaf -> HPA_2M
 *   GPA_1G            one 1-GiB leaf -> host-physical 0 (if supported) */
#ifndef EPT_COMMON_H
#define EPT_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include "ept.h"
#include "vmx_common.h"

#define TW 0x40000000ull
#define TW_PAGES 16
#define TW_PAGE(i) (TW + 0x1000ull * (i))
#define TW_2M (TW + 0x200000ull)
#define HPA_2M 0x4000000ull /* 64 MiB: free RAM below QEMU's default 128 MiB */
#define GPA_1G 0x80000000ull

#define GX_WRITE_VALUE 0x5eed5eed12345678ull
#define GX_FETCH_VALUE 0x600d /* RDX after the code ept_tpage_code() writes */
#define GX_IRET_VALUE 0x1e7

extern struct ept test_ept;
extern uint8_t ept_tpage[TW_PAGES][4096];

#define GUEST_SNIPPET(n) extern char gx_##n[], gx_##n##_insn[];
GUEST_SNIPPET(ept_read)
GUEST_SNIPPET(ept_write)
GUEST_SNIPPET(ept_fetch)
GUEST_SNIPPET(ept_read_write)
GUEST_SNIPPET(ept_iret)
extern char gx_ept_iret_next[];

/* vmx_test_start, then SKIP the image (guest_finish) unless "enable EPT"
 * and the secondary controls in proc2, and every bit of cap_mask in
 * IA32_VMX_EPT_VPID_CAP, are supported. */
void ept_test_start(uint32_t proc2, uint64_t cap_mask);
/* The same after vmx_test_start (for checks that run without EPT too). */
void ept_test_require(uint32_t proc2, uint64_t cap_mask);
/* (Re)build test_ept: the map above, window pages RWX WB, contents of the
 * window cleared. Returns false after a FAIL line. */
bool ept_test_build(void);
/* A fresh VMCS running gx(arg) with "enable EPT" | proc2, EPTP =
 * ept_eptp(&test_ept, ad) and the guest IDT (unexpected guest exceptions
 * exit as VMCALL VECT). */
bool ept_test_vmcs(uint32_t proc2, bool ad, char *gx, uint64_t arg);
/* INVEPT (single-context for the current EPTP if supported, else global):
 * after the host edits EPT entries between runs. */
void ept_test_invept(void);
/* Put "mov $GX_FETCH_VALUE, %edx; ret" at offset off of window page i. */
void ept_tpage_code(unsigned i, unsigned off);

/* Run the guest to its VMCALL DONE; false (after a FAIL line naming the
 * exit) otherwise. */
bool ept_run_to_done(const char *name);
/* Report a VM-entry failure or the unexpected exit last_exit holds. */
void ept_report_unexpected(const char *name, int r);

/* The expected EPT-violation exit of name: reason 48, the exit
 * qualification on the bits the SDM defines for it (bit 6 only with
 * mode-based execute control; bits 11:9 only with advanced VM-exit
 * information and bit 8 set; bit 0 not for read-modify-write accesses
 * when rmw), the guest-physical address, and (with bit 7) the
 * guest-linear address and guest RIP. */
struct ept_violation {
    uint64_t qual, gpa, linear, rip;
    bool rmw;
};
bool check_ept_violation(const char *name, const struct ept_violation *v);
/* Reason 49 and the guest-physical address. */
bool check_ept_misconfig(const char *name, uint64_t gpa);

/* The exit-qualification permission bits 5:3 of EPT entry permissions */
#define EPTQ_PERMS(rwx) ((uint64_t)((rwx)&7) << 3)

#endif
