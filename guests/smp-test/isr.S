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
#include "lapic.h"
#include "vectors.h"

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

/*
 * ipi-pingpong fast paths (idt.c points VEC_PING and VEC_PONG here): no
 * stub, no C call, no frame, so that the measured round trip is the
 * interrupt path rather than emulated handler code. idt_load_cpu set
 * GS base = &irq_count[this cpu][0] and FS base = LAPIC_BASE on every CPU,
 * so the count is one instruction and the LAPIC is reached with no register
 * (its address does not fit a sign-extended disp32).
 *
 * The pong is sent without polling the ICR's delivery-status bit: only one
 * ping is outstanding at a time, so the previous ICR write from this CPU
 * (the pong of the previous round) was accepted long ago. The handler runs
 * with IF clear (interrupt gate), so nothing else on this CPU writes the
 * ICR between the two halves. Reply first, EOI second: the reply is what
 * the BSP waits for.
 */
    .balign 16
    .globl isr_ping
isr_ping:
    incl %gs:(VEC_PING * 4)
    pushq %rax
    movl pingpong_reply_icr_hi(%rip), %eax
    movl %eax, %fs:LAPIC_ICR_HI
    movl $(ICR_FIXED | ICR_ASSERT | VEC_PONG), %fs:LAPIC_ICR_LO
    movl $0, %fs:LAPIC_EOI
    popq %rax
    iretq

    .balign 16
    .globl isr_pong
isr_pong:
    incl %gs:(VEC_PONG * 4)
    movl $0, %fs:LAPIC_EOI
    iretq

    .section .note.GNU-stack, "", @progbits
