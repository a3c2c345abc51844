/* Private to src/cpu: descriptor decoding and the checked segment, stack and
 * TSS accesses shared by segment loads, event delivery and far transfers
 * (seg.c). The entry points everyone uses are in cpu_internal.h. */
#ifndef NVMX_CPU_SEG_H
#define NVMX_CPU_SEG_H

#include "cpu_internal.h"

/* Descriptor fields of the low 8 bytes (SDM 3A "Segment Descriptors") */
#define DESC_TYPE(lo) ((unsigned)((lo) >> 40) & 0xfu)
#define DESC_S(lo) (((lo) >> 44) & 1u)
#define DESC_DPL(lo) ((unsigned)((lo) >> 45) & 3u)
#define DESC_P(lo) (((lo) >> 47) & 1u)
#define DESC_L(lo) (((lo) >> 53) & 1u)
#define DESC_DB(lo) (((lo) >> 54) & 1u)
#define DESC_ACCESSED (1ull << 40)

/* System-descriptor and gate types (SDM 3A "System Descriptor Types") */
enum {
    SYS_TSS16_AVAIL = 0x1, SYS_LDT = 0x2, SYS_TSS16_BUSY = 0x3, SYS_CALL_GATE16 = 0x4,
    SYS_TASK_GATE = 0x5, SYS_INT_GATE16 = 0x6, SYS_TRAP_GATE16 = 0x7,
    SYS_TSS_AVAIL = 0x9, SYS_TSS_BUSY = 0xb, SYS_CALL_GATE = 0xc, SYS_INT_GATE = 0xe,
    SYS_TRAP_GATE = 0xf,
};

/* Selector fields */
#define SEL_RPL(s) ((unsigned)(s) & 3u)
#define SEL_TI 0x4u
#define SEL_IDX(s) ((uint16_t)((s) & 0xfff8u))
#define SEL_NULL(s) (((s) & 0xfffcu) == 0)

static inline bool desc_is_code(uint64_t lo) { return DESC_S(lo) && (DESC_TYPE(lo) & 8); }
static inline bool desc_is_data(uint64_t lo) { return DESC_S(lo) && !(DESC_TYPE(lo) & 8); }
static inline bool desc_conforming(uint64_t lo) { return desc_is_code(lo) && (DESC_TYPE(lo) & 4); }
/* Writable data segment: what SS must be. */
static inline bool desc_writable_data(uint64_t lo) { return desc_is_data(lo) && (DESC_TYPE(lo) & 2); }

/* Read the descriptor for sel without faulting: false if the selector lies
 * outside the GDT/LDT (or TI=1 with an unusable LDTR). Paging faults still
 * unwind. */
bool seg_probe_descriptor(struct cpu *c, uint16_t sel, uint64_t desc[2]);
/* Set the accessed bit of the descriptor for sel (SDM 3A "Segment Descriptors":
 * the processor sets it when it loads the selector). */
void seg_set_accessed(struct cpu *c, uint16_t sel, uint64_t lo);
/* Commit a descriptor into a segment register (hidden part included). */
void seg_commit(struct cpu *c, int seg, uint16_t sel, uint64_t lo, uint64_t hi);
/* Load a null selector: the register becomes unusable. */
void seg_load_null(struct cpu *c, int seg, uint16_t sel);
/* The flat 4-GByte segments SYSCALL/SYSRET/SYSENTER/SYSEXIT load without
 * reading descriptors. */
void seg_load_flat(struct cpu *c, int seg, uint16_t sel, unsigned dpl, bool code, bool l);

/* Checked stack access through a segment that may not be loaded yet (the new
 * SS of a privilege change). off is masked to the stack address size of ss
 * (or 64-bit when long64). A limit violation or non-canonical address raises
 * #SS(err). acc_sys: the access is made at CPL < 3 (supervisor) whatever the
 * current CPL. */
struct stack_ref {
    const struct seg_reg *ss;
    bool long64;  /* 64-bit stack: base 0, canonical check only */
    bool acc_sys; /* supervisor access */
    uint32_t err; /* #SS error code on a limit/canonical violation */
};
uint64_t seg_stack_mask(const struct stack_ref *st);
/* Push n values of size bytes below sp (v[0] first, at the highest address)
 * on the stack st; returns the new stack offset. Nothing else is committed. */
uint64_t seg_stack_push(struct cpu *c, const struct stack_ref *st, uint64_t sp, unsigned size,
                        const uint64_t *v, unsigned n);
void seg_stack_write(struct cpu *c, const struct stack_ref *st, uint64_t off, unsigned size,
                     uint64_t val);
uint64_t seg_stack_read(struct cpu *c, const struct stack_ref *st, uint64_t off, unsigned size);

/* TSS field read with the TSS limit check: #TS(TR.sel + ext) when
 * [off, off+size) lies beyond TR.limit. */
uint64_t seg_tss_read(struct cpu *c, uint32_t off, unsigned size, uint32_t ext);

/* Outer-level returns (RET far, IRET): SDM 2A "RET" -- after the return,
 * ES, DS, FS and GS holding data or non-conforming code segments with
 * DPL < new CPL are loaded with a null selector. */
void seg_null_outer_data(struct cpu *c, unsigned new_cpl);

#endif
