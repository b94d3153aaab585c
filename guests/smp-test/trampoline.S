/*
 * AP start-up trampoline. The BSP copies [trampoline_start, trampoline_end)
 * to TRAMPOLINE_PHYS; a SIPI with vector SIPI_VECTOR starts the AP here in
 * real mode at CS = 0x0800, IP = 0.
 *
 * It only switches to protected mode: everything after that (long mode, the
 * per-AP stack) is in boot32.S at its link address, so the copied code has no
 * position-dependent parts besides CS-relative offsets.
 */
#include "defs.h"

    .section .trampoline, "a"
    .code16
    .globl trampoline_start, trampoline_end
trampoline_start:
    cli
    cld
    /* 32-bit operand size: the GDT lives above 1 MiB. */
    lgdtl %cs:(tramp_gdtr - trampoline_start)
    movl %cr0, %eax
    orl $1, %eax                /* PE */
    movl %eax, %cr0
    ljmpl $BOOT32_CS, $ap_entry32

    .balign 4
tramp_gdtr:
    .word GDT_LIMIT
    .long gdt64
trampoline_end:

    .section .note.GNU-stack, "", @progbits
