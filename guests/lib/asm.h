/* Guest runtime: constants shared by the .S files (no C declarations). */
#ifndef GUEST_ASM_H
#define GUEST_ASM_H

#define GDT_KCODE 0x08
#define GDT_KDATA 0x10
#define GDT_USER32 0x18
#define GDT_UDATA 0x20
#define GDT_UCODE 0x28

#define PTE_P 0x001
#define PTE_W 0x002
#define PTE_U 0x004
#define PTE_PS 0x080

#define CR0_PE 0x00000001
#define CR0_MP 0x00000002
#define CR0_EM 0x00000004
#define CR0_TS 0x00000008
#define CR0_NE 0x00000020
#define CR0_WP 0x00010000
#define CR0_NW 0x20000000
#define CR0_CD 0x40000000
#define CR0_PG 0x80000000
#define CR4_PAE 0x00000020

#define MSR_EFER 0xc0000080
#define EFER_LME 0x00000100

#define DEBUG_EXIT_PORT 0xf4

#define FL_DF 0x00000400
#define FL_TF 0x00000100
#define FL_AC 0x00040000

#endif
