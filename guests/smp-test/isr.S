/*
 * Interrupt entry: 256 stubs of ISR_STUB_SIZE bytes each (the IDT points at
 * isr_stubs + vector * ISR_STUB_SIZE). Every stub pushes an error code (a 0
 * when the CPU does not) and the vector, so isr_common sees one frame layout:
 * struct intr_frame in idt.h.
 *
 * Only the caller-saved registers are saved: the handlers are C functions,
 * and each instruction here costs ~0.5 us under dvmm's ring-0 emulation.
 */
#include "defs.h"

    .text
    .code64
    .balign ISR_STUB_SIZE
    .globl isr_stubs
isr_stubs:
    .set vec, 0
    .rept 256
    .balign ISR_STUB_SIZE
    /* Exceptions that push an error code: #DF #TS #NP #SS #GP #PF #AC #CP
     * #VC #SX. */
    .if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
    .else
    pushq $0
    .endif
    /* push imm8 (sign-extended): the C side masks it with 0xff. */
    .byte 0x6a, vec
    jmp isr_common
    .set vec, vec + 1
    .endr
    .balign ISR_STUB_SIZE
    .globl isr_stubs_end
isr_stubs_end:

isr_common:
    pushq %rax
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    /* 5 CPU words + error code + vector + 9 registers = 16 words from the
     * 16-byte aligned interrupt stack: %rsp is aligned for the call. */
    movq %rsp, %rdi
    cld
    call isr_dispatch
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rax
    addq $16, %rsp              /* vector and error code */
    iretq

    .section .note.GNU-stack, "", @progbits
