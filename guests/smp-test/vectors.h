/* Interrupt vector assignment. Each test uses its own vector so that its
 * counts are not disturbed by the others (e.g. mailbox wake-ups). */
#pragma once

#define VEC_NMI 2
#define VEC_FIRST_IRQ 0x20

#define VEC_WAKE 0x20 /* mailbox: "you have work" */
#define VEC_FIXED 0x30
#define VEC_BROADCAST 0x31
#define VEC_ALL_BUT_SELF 0x32
#define VEC_LOGICAL 0x33
#define VEC_SELF 0x34
#define VEC_LOWEST 0x35
#define VEC_TIMER 0x40
#define VEC_PING 0x50
#define VEC_PONG 0x51
#define VEC_UART 0x60 /* COM1 through the IOAPIC (ioapic-irq) */
#define VEC_APIC_ERROR 0xFE
#define VEC_SPURIOUS 0xFF
