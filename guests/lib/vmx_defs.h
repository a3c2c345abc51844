/* Guest runtime: architectural VMX constants a hypervisor needs, written
 * from the SDM independently of the emulator's own lists (so that the
 * conformance guests check those lists too): VMCS field encodings (SDM 3C
 * Appendix B "Field Encoding in VMCS"), exit reasons (Appendix C "VMX Basic
 * Exit Reasons"), VM-instruction errors ("VM-Instruction Error Numbers"),
 * control bits ("VM-Execution Control Fields", "VM-Exit Control Fields",
 * "VM-Entry Control Fields") and capability MSRs (Appendix A). */
#ifndef GUEST_VMX_DEFS_H
#define GUEST_VMX_DEFS_H

/* Capability and related MSRs (SDM 3C Appendix A, SDM 4 "IA32_FEATURE_CONTROL") */
#define MSR_IA32_FEATURE_CONTROL 0x3au
#define FC_LOCK (1ull << 0)
#define FC_VMX_INSIDE_SMX (1ull << 1)
#define FC_VMX_OUTSIDE_SMX (1ull << 2)
#define MSR_IA32_SYSENTER_CS 0x174u
#define MSR_IA32_SYSENTER_ESP 0x175u
#define MSR_IA32_SYSENTER_EIP 0x176u
#define MSR_IA32_PAT 0x277u
#define MSR_IA32_APIC_BASE 0x1bu
#define MSR_IA32_TSC_AUX 0xc0000103u
#define MSR_FS_BASE 0xc0000100u
#define MSR_GS_BASE 0xc0000101u
#define MSR_VMX_BASIC 0x480u
#define MSR_VMX_PINBASED_CTLS 0x481u
#define MSR_VMX_PROCBASED_CTLS 0x482u
#define MSR_VMX_EXIT_CTLS 0x483u
#define MSR_VMX_ENTRY_CTLS 0x484u
#define MSR_VMX_MISC 0x485u
#define MSR_VMX_CR0_FIXED0 0x486u
#define MSR_VMX_CR0_FIXED1 0x487u
#define MSR_VMX_CR4_FIXED0 0x488u
#define MSR_VMX_CR4_FIXED1 0x489u
#define MSR_VMX_VMCS_ENUM 0x48au
#define MSR_VMX_PROCBASED_CTLS2 0x48bu
#define MSR_VMX_EPT_VPID_CAP 0x48cu
#define MSR_VMX_TRUE_PINBASED_CTLS 0x48du
#define MSR_VMX_TRUE_PROCBASED_CTLS 0x48eu
#define MSR_VMX_TRUE_EXIT_CTLS 0x48fu
#define MSR_VMX_TRUE_ENTRY_CTLS 0x490u

/* IA32_VMX_BASIC (SDM 3C A.1 "Basic VMX Information") */
#define VMX_BASIC_REVISION(b) ((uint32_t)(b)&0x7fffffffu)
#define VMX_BASIC_REGION_SIZE(b) ((uint32_t)((b) >> 32) & 0x1fffu)
#define VMX_BASIC_32BIT_ADDR (1ull << 48)
#define VMX_BASIC_TRUE_CTLS (1ull << 55)
/* IA32_VMX_MISC (SDM 3C A.6 "Miscellaneous Data") */
#define VMX_MISC_PREEMPT_SHIFT(m) ((unsigned)(m)&0x1fu)
#define VMX_MISC_ACTIVITY_HLT (1ull << 6)
#define VMX_MISC_CR3_TARGETS(m) ((unsigned)((m) >> 16) & 0x1ffu)
#define VMX_MISC_MAX_MSRS(m) (512u * (1u + ((unsigned)((m) >> 25) & 7u)))
#define VMX_MISC_VMWRITE_ANY (1ull << 29)
#define VMX_MISC_INJECT_LEN0 (1ull << 30)
#define VMX_MISC_INS_OUTS_INFO (1ull << 54)

#define CR4_VMXE (1ull << 13)
#define CR4_PAE_BIT (1ull << 5)
#define CR0_PE_BIT (1ull << 0)
#define CR0_TS_BIT (1ull << 3)
#define CR0_NE_BIT (1ull << 5)
#define CR0_PG_BIT (1ull << 31)

/* Bit 31 of a VMCS region's revision identifier: a shadow VMCS (SDM 3C
 * "VMCS Types: Ordinary and Shadow") */
#define VMCS_SHADOW_INDICATOR (1u << 31)

/* RFLAGS results of VMX instructions (SDM 3C "Conventions") */
#define VMX_OK 0
#define VMX_FAIL_INVALID 1 /* CF = 1 */
#define VMX_FAIL_VALID 2   /* ZF = 1 */

/* VM-instruction error numbers */
#define VMXERR_VMCALL_IN_ROOT 1
#define VMXERR_VMCLEAR_BAD_ADDR 2
#define VMXERR_VMCLEAR_VMXON_PTR 3
#define VMXERR_VMLAUNCH_NOT_CLEAR 4
#define VMXERR_VMRESUME_NOT_LAUNCHED 5
#define VMXERR_VMRESUME_AFTER_VMXOFF 6
#define VMXERR_ENTRY_BAD_CONTROL 7
#define VMXERR_ENTRY_BAD_HOST 8
#define VMXERR_VMPTRLD_BAD_ADDR 9
#define VMXERR_VMPTRLD_VMXON_PTR 10
#define VMXERR_VMPTRLD_BAD_REVISION 11
#define VMXERR_UNSUPPORTED_FIELD 12
#define VMXERR_VMWRITE_READONLY 13
#define VMXERR_VMXON_IN_ROOT 15
#define VMXERR_ENTRY_MOV_SS 26

/* Basic exit reasons */
#define EXIT_EXCEPTION_NMI 0
#define EXIT_EXTERNAL_INTERRUPT 1
#define EXIT_TRIPLE_FAULT 2
#define EXIT_INTERRUPT_WINDOW 7
#define EXIT_NMI_WINDOW 8
#define EXIT_TASK_SWITCH 9
#define EXIT_CPUID 10
#define EXIT_HLT 12
#define EXIT_INVD 13
#define EXIT_INVLPG 14
#define EXIT_RDPMC 15
#define EXIT_RDTSC 16
#define EXIT_VMCALL 18
#define EXIT_VMCLEAR 19
#define EXIT_VMLAUNCH 20
#define EXIT_VMPTRLD 21
#define EXIT_VMPTRST 22
#define EXIT_VMREAD 23
#define EXIT_VMRESUME 24
#define EXIT_VMWRITE 25
#define EXIT_VMXOFF 26
#define EXIT_VMXON 27
#define EXIT_CR_ACCESS 28
#define EXIT_DR_ACCESS 29
#define EXIT_IO 30
#define EXIT_RDMSR 31
#define EXIT_WRMSR 32
#define EXIT_ENTRY_FAIL_GUEST 33
#define EXIT_ENTRY_FAIL_MSR 34
#define EXIT_MTF 37
#define EXIT_PAUSE 40
#define EXIT_GDTR_IDTR 46
#define EXIT_LDTR_TR 47
#define EXIT_RDTSCP 51
#define EXIT_PREEMPT_TIMER 52
#define EXIT_WBINVD 54
#define EXIT_REASON_ENTRY_FAIL (1u << 31)

/* Exit qualification for failed VM entries (SDM 3C "VM-Entry Failures
 * During or After Loading Guest State") */
#define ENTRY_QUAL_DEFAULT 0
#define ENTRY_QUAL_PDPTE 2
#define ENTRY_QUAL_NMI_BLOCKED 3
#define ENTRY_QUAL_LINK_PTR 4

/* Pin-based controls */
#define PIN_EXT_INT_EXITING (1u << 0)
#define PIN_NMI_EXITING (1u << 3)
#define PIN_VIRTUAL_NMIS (1u << 5)
#define PIN_PREEMPT_TIMER (1u << 6)
#define PIN_POSTED_INTS (1u << 7)
/* Primary processor-based controls */
#define PROC_INT_WINDOW (1u << 2)
#define PROC_TSC_OFFSET (1u << 3)
#define PROC_HLT (1u << 7)
#define PROC_INVLPG (1u << 9)
#define PROC_MWAIT (1u << 10)
#define PROC_RDPMC (1u << 11)
#define PROC_RDTSC (1u << 12)
#define PROC_CR3_LOAD (1u << 15)
#define PROC_CR3_STORE (1u << 16)
#define PROC_CR8_LOAD (1u << 19)
#define PROC_CR8_STORE (1u << 20)
#define PROC_TPR_SHADOW (1u << 21)
#define PROC_NMI_WINDOW (1u << 22)
#define PROC_MOV_DR (1u << 23)
#define PROC_UNCOND_IO (1u << 24)
#define PROC_IO_BITMAPS (1u << 25)
#define PROC_MTF (1u << 27)
#define PROC_MSR_BITMAPS (1u << 28)
#define PROC_MONITOR (1u << 29)
#define PROC_PAUSE (1u << 30)
#define PROC_SECONDARY (1u << 31)
/* Secondary processor-based controls */
#define PROC2_DESC_TABLE (1u << 2)
#define PROC2_RDTSCP (1u << 3)
#define PROC2_WBINVD (1u << 6)
#define PROC2_UNRESTRICTED (1u << 7)
#define PROC2_VMCS_SHADOWING (1u << 14)
/* VM-exit controls */
#define EXIT_SAVE_DEBUG (1u << 2)
#define EXIT_HOST_64 (1u << 9)
#define EXIT_ACK_INT (1u << 15)
#define EXIT_SAVE_PAT (1u << 18)
#define EXIT_LOAD_PAT (1u << 19)
#define EXIT_SAVE_EFER (1u << 20)
#define EXIT_LOAD_EFER (1u << 21)
#define EXIT_SAVE_PREEMPT (1u << 22)
/* VM-entry controls */
#define ENTRY_LOAD_DEBUG (1u << 2)
#define ENTRY_IA32E (1u << 9)
#define ENTRY_SMM (1u << 10)
#define ENTRY_DUAL_MONITOR (1u << 11)
#define ENTRY_LOAD_PAT (1u << 14)
#define ENTRY_LOAD_EFER (1u << 15)

/* Interruption information (SDM 3C "VM-Entry Controls for Event
 * Injection", "Information for VM Exits Due to Vectored Events") */
#define INTR_VALID (1u << 31)
#define INTR_ERRCODE (1u << 11)
#define INTR_NMI_UNBLOCK (1u << 12)
#define INTR_TYPE_EXT 0u
#define INTR_TYPE_NMI (2u << 8)
#define INTR_TYPE_HW_EXC (3u << 8)
#define INTR_TYPE_SW_INT (4u << 8)
#define INTR_TYPE_PRIV_SW_EXC (5u << 8)
#define INTR_TYPE_SW_EXC (6u << 8)

/* Guest interruptibility state and activity state */
#define INTERRUPTIBILITY_STI (1u << 0)
#define INTERRUPTIBILITY_MOV_SS (1u << 1)
#define INTERRUPTIBILITY_NMI (1u << 3)
#define ACTIVITY_ACTIVE 0
#define ACTIVITY_HLT 1

/* VMCS field encodings (SDM 3C Appendix B) */
enum vmcs_field {
    VPID = 0x0000,
    GUEST_ES_SEL = 0x0800, GUEST_CS_SEL = 0x0802, GUEST_SS_SEL = 0x0804,
    GUEST_DS_SEL = 0x0806, GUEST_FS_SEL = 0x0808, GUEST_GS_SEL = 0x080a,
    GUEST_LDTR_SEL = 0x080c, GUEST_TR_SEL = 0x080e,
    HOST_ES_SEL = 0x0c00, HOST_CS_SEL = 0x0c02, HOST_SS_SEL = 0x0c04,
    HOST_DS_SEL = 0x0c06, HOST_FS_SEL = 0x0c08, HOST_GS_SEL = 0x0c0a,
    HOST_TR_SEL = 0x0c0c,

    IO_BITMAP_A = 0x2000, IO_BITMAP_B = 0x2002, MSR_BITMAP = 0x2004,
    EXIT_MSR_STORE_ADDR = 0x2006, EXIT_MSR_LOAD_ADDR = 0x2008,
    ENTRY_MSR_LOAD_ADDR = 0x200a, TSC_OFFSET = 0x2010,
    VIRTUAL_APIC_ADDR = 0x2012, VMREAD_BITMAP = 0x2026, VMWRITE_BITMAP = 0x2028,
    GUEST_PHYS_ADDR = 0x2400,
    VMCS_LINK_PTR = 0x2800, GUEST_DEBUGCTL = 0x2802, GUEST_PAT = 0x2804,
    GUEST_EFER = 0x2806, GUEST_PDPTE0 = 0x280a,
    HOST_PAT = 0x2c00, HOST_EFER = 0x2c02,

    PIN_CONTROLS = 0x4000, PROC_CONTROLS = 0x4002, EXCEPTION_BITMAP = 0x4004,
    PF_ERRCODE_MASK = 0x4006, PF_ERRCODE_MATCH = 0x4008, CR3_TARGET_COUNT = 0x400a,
    EXIT_CONTROLS = 0x400c, EXIT_MSR_STORE_COUNT = 0x400e, EXIT_MSR_LOAD_COUNT = 0x4010,
    ENTRY_CONTROLS = 0x4012, ENTRY_MSR_LOAD_COUNT = 0x4014, ENTRY_INTR_INFO = 0x4016,
    ENTRY_EXC_ERRCODE = 0x4018, ENTRY_INSN_LEN = 0x401a, TPR_THRESHOLD = 0x401c,
    PROC2_CONTROLS = 0x401e,
    VM_INSN_ERROR = 0x4400, EXIT_REASON = 0x4402, EXIT_INTR_INFO = 0x4404,
    EXIT_INTR_ERRCODE = 0x4406, IDT_VECTORING_INFO = 0x4408,
    IDT_VECTORING_ERRCODE = 0x440a, EXIT_INSN_LEN = 0x440c, EXIT_INSN_INFO = 0x440e,
    GUEST_ES_LIMIT = 0x4800, GUEST_CS_LIMIT = 0x4802, GUEST_SS_LIMIT = 0x4804,
    GUEST_DS_LIMIT = 0x4806, GUEST_FS_LIMIT = 0x4808, GUEST_GS_LIMIT = 0x480a,
    GUEST_LDTR_LIMIT = 0x480c, GUEST_TR_LIMIT = 0x480e, GUEST_GDTR_LIMIT = 0x4810,
    GUEST_IDTR_LIMIT = 0x4812,
    GUEST_ES_AR = 0x4814, GUEST_CS_AR = 0x4816, GUEST_SS_AR = 0x4818,
    GUEST_DS_AR = 0x481a, GUEST_FS_AR = 0x481c, GUEST_GS_AR = 0x481e,
    GUEST_LDTR_AR = 0x4820, GUEST_TR_AR = 0x4822,
    GUEST_INTERRUPTIBILITY = 0x4824, GUEST_ACTIVITY = 0x4826,
    GUEST_SYSENTER_CS = 0x482a, PREEMPT_TIMER = 0x482e,
    HOST_SYSENTER_CS = 0x4c00,

    CR0_MASK = 0x6000, CR4_MASK = 0x6002, CR0_SHADOW = 0x6004, CR4_SHADOW = 0x6006,
    CR3_TARGET0 = 0x6008,
    EXIT_QUAL = 0x6400, GUEST_LINEAR = 0x640a,
    GUEST_CR0 = 0x6800, GUEST_CR3 = 0x6802, GUEST_CR4 = 0x6804,
    GUEST_ES_BASE = 0x6806, GUEST_CS_BASE = 0x6808, GUEST_SS_BASE = 0x680a,
    GUEST_DS_BASE = 0x680c, GUEST_FS_BASE = 0x680e, GUEST_GS_BASE = 0x6810,
    GUEST_LDTR_BASE = 0x6812, GUEST_TR_BASE = 0x6814, GUEST_GDTR_BASE = 0x6816,
    GUEST_IDTR_BASE = 0x6818, GUEST_DR7 = 0x681a, GUEST_RSP = 0x681c,
    GUEST_RIP = 0x681e, GUEST_RFLAGS = 0x6820, GUEST_PENDING_DBG = 0x6822,
    GUEST_SYSENTER_ESP = 0x6824, GUEST_SYSENTER_EIP = 0x6826,
    HOST_CR0 = 0x6c00, HOST_CR3 = 0x6c02, HOST_CR4 = 0x6c04, HOST_FS_BASE = 0x6c06,
    HOST_GS_BASE = 0x6c08, HOST_TR_BASE = 0x6c0a, HOST_GDTR_BASE = 0x6c0c,
    HOST_IDTR_BASE = 0x6c0e, HOST_SYSENTER_ESP = 0x6c10, HOST_SYSENTER_EIP = 0x6c12,
    HOST_RSP = 0x6c14, HOST_RIP = 0x6c16,
};

/* EPT, VPID and unrestricted guest (SDM 3C "EPT", "VPID", "Unrestricted
 * Guests", Appendix A.10 "VPID and EPT Capabilities", "INVEPT", "INVVPID") */
#define PROC2_EPT (1u << 1)
#define PROC2_VPID (1u << 5)
/* PROC2_UNRESTRICTED (bit 7) is above */
#define EXIT_EPT_VIOLATION 48
#define EXIT_EPT_MISCONFIG 49
#define EXIT_INVEPT 50
#define EXIT_INVVPID 53
#define VMXERR_INVEPT_INVVPID_OPERAND 28
enum vmcs_field_ept {
    EPT_POINTER = 0x201a,
    GUEST_PDPTE1 = 0x280c, GUEST_PDPTE2 = 0x280e, GUEST_PDPTE3 = 0x2810,
};
/* IA32_VMX_EPT_VPID_CAP bits */
#define EPT_CAP_EXEC_ONLY (1ull << 0)
#define EPT_CAP_WALK4 (1ull << 6)
#define EPT_CAP_WALK5 (1ull << 7)
#define EPT_CAP_UC (1ull << 8)
#define EPT_CAP_WB (1ull << 14)
#define EPT_CAP_2M (1ull << 16)
#define EPT_CAP_1G (1ull << 17)
#define EPT_CAP_INVEPT (1ull << 20)
#define EPT_CAP_AD (1ull << 21)
#define EPT_CAP_ADV_EXIT_INFO (1ull << 22)
#define EPT_CAP_SSS (1ull << 23)
#define EPT_CAP_INVEPT_SINGLE (1ull << 25)
#define EPT_CAP_INVEPT_ALL (1ull << 26)
#define EPT_CAP_INVVPID (1ull << 32)
#define EPT_CAP_INVVPID_ADDR (1ull << 40)
#define EPT_CAP_INVVPID_SINGLE (1ull << 41)
#define EPT_CAP_INVVPID_ALL (1ull << 42)
#define EPT_CAP_INVVPID_SINGLE_GLOBALS (1ull << 43)
/* INVEPT and INVVPID types */
#define INVEPT_SINGLE 1
#define INVEPT_GLOBAL 2
#define INVVPID_ADDR 0
#define INVVPID_SINGLE 1
#define INVVPID_ALL 2
#define INVVPID_SINGLE_GLOBALS 3
/* Exit qualification for EPT violations (SDM 3C "Exit Qualification for
 * EPT Violations") */
#define EPTQ_READ (1ull << 0)
#define EPTQ_WRITE (1ull << 1)
#define EPTQ_FETCH (1ull << 2)
#define EPTQ_READABLE (1ull << 3)
#define EPTQ_WRITABLE (1ull << 4)
#define EPTQ_EXECUTABLE (1ull << 5)
#define EPTQ_USER_EXECUTABLE (1ull << 6)
#define EPTQ_LINEAR_VALID (1ull << 7)
#define EPTQ_TRANSLATION (1ull << 8)
#define EPTQ_ADV_USER (1ull << 9)
#define EPTQ_ADV_WRITE (1ull << 10)
#define EPTQ_ADV_NX (1ull << 11)
#define EPTQ_NMI_UNBLOCK (1ull << 12)

#endif
