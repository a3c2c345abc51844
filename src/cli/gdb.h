/* Private to the gdb stub (gdbstub.c, gdb_regs.c): the register layouts and
 * target descriptions it gives gdb. */
#ifndef NVMX_CLI_GDB_H
#define NVMX_CLI_GDB_H

#include "nvmx/cpu.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --gdb tcp::PORT[,arch=A]: which description; auto picks by the mode the
 * CPU is in when gdb connects. */
enum gdb_arch { GDB_ARCH_AUTO, GDB_ARCH_I8086, GDB_ARCH_I386, GDB_ARCH_X86_64 };
bool gdb_arch_parse(const char *s, enum gdb_arch *a);

struct gdb_layout;
const struct gdb_layout *gdb_layout_for(enum gdb_arch a, const struct cpu *c);
const char *gdb_layout_arch(const struct gdb_layout *l);
unsigned gdb_layout_nregs(const struct gdb_layout *l);
/* The target description (target.xml) into buf; returns its length (the
 * text is cut at size - 1 when longer). */
size_t gdb_target_xml(const struct gdb_layout *l, char *buf, size_t size);
/* Register n as gdb's little-endian bytes; returns its size, 0 if none. */
unsigned gdb_reg_get(const struct gdb_layout *l, struct cpu *c, unsigned n, uint8_t *out);
/* Write register n (len its size): the general registers, the instruction
 * pointer and the flags; false for the others. */
bool gdb_reg_set(const struct gdb_layout *l, struct cpu *c, unsigned n, const uint8_t *in,
                 unsigned len);
unsigned gdb_reg_size(const struct gdb_layout *l, unsigned n);

#endif
