/* Guest test cr4: user-mode (CPL 3) RDTSC, RDTSCP and RDPMC, each
 * followed by INT 0x80 back to CPL 0; *_rip labels the instruction that
 * must raise #GP(0). */
    .section .user.text, "ax"

    .globl u_rdtsc, u_rdtsc_rip
u_rdtsc:
u_rdtsc_rip:
    rdtsc
    int $0x80

    .globl u_rdtscp, u_rdtscp_rip
u_rdtscp:
u_rdtscp_rip:
    rdtscp
    int $0x80

    .globl u_rdpmc, u_rdpmc_rip
u_rdpmc:
    xorl %ecx, %ecx
u_rdpmc_rip:
    rdpmc
    int $0x80

    .section .note.GNU-stack, "", @progbits
