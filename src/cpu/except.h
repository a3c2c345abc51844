/* Private to src/cpu: exception facts shared by delivery (except.c), the run
 * loop and the instruction handlers. */
#ifndef NVMX_CPU_EXCEPT_H
#define NVMX_CPU_EXCEPT_H

#include <stdbool.h>

/* Does the exception push an error code? SDM 3A "Exception and Interrupt
 * Reference": #DF, #TS, #NP, #SS, #GP, #PF, #AC, #CP. Only hardware
 * exceptions in protected/IA-32e mode push one; INT n never does. */
bool cpu_exception_has_error(int vector);

/* Is the exception a fault (RIP of the faulting instruction is pushed, and
 * so is RFLAGS.RF = 1)? SDM 3A "Exception Classifications" and "EFLAGS
 * Register ... RF". #DB is left out: it is a fault only for instruction
 * breakpoints, which push RF = 0. */
bool cpu_exception_is_fault(int vector);

#endif
