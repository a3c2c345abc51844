/* 32-bit guest code for vmx_task_switch.c: one instruction that would
 * switch tasks at each label (JMP to a TSS, CALL through a task gate, IRET
 * with NT = 1, INT n and #UD through IDT task gates). Selectors as in
 * vmx_task_switch.c. */
    .text
    .code32
    .globl gx_ts_jmp, gx_ts_call_gate, gx_ts_iret, gx_ts_int, gx_ts_ud
    .globl gx_ts_jmp_busy
gx_ts_jmp:
    ljmp $0x30, $0
    hlt
gx_ts_call_gate:
    lcall $0x40, $0
    hlt
gx_ts_iret:
    iretl
    hlt
gx_ts_int:
    int $0x40
    hlt
gx_ts_ud:
    ud2
    hlt
gx_ts_jmp_busy:
    ljmp $0x38, $0
    hlt
    .code64
