/* Local APIC in xAPIC (MMIO) mode. Flat logical mode needs xAPIC: x2APIC has
 * only cluster logical addressing. */
#pragma once

/* Unsigned in C, plain in assembly (GNU as has no integer suffixes). */
#ifdef __ASSEMBLER__
#define U32(x) x
#else
#define U32(x) x##u
#endif

/* Physical = virtual address of the xAPIC registers (uncached mapping). */
#define LAPIC_BASE 0xFEE00000

#define LAPIC_ID 0x020
#define LAPIC_VERSION 0x030
#define LAPIC_TPR 0x080
#define LAPIC_EOI 0x0B0
#define LAPIC_LDR 0x0D0
#define LAPIC_DFR 0x0E0
#define LAPIC_SVR 0x0F0
#define LAPIC_ESR 0x280
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_LVT_ERROR 0x370
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR 0x390
#define LAPIC_TIMER_DIV 0x3E0

/* ICR low word */
#define ICR_FIXED (U32(0) << 8)
#define ICR_LOWEST (U32(1) << 8)
#define ICR_NMI (U32(4) << 8)
#define ICR_INIT (U32(5) << 8)
#define ICR_STARTUP (U32(6) << 8)
#define ICR_LOGICAL (U32(1) << 11)
#define ICR_BUSY (U32(1) << 12)
#define ICR_ASSERT (U32(1) << 14)
#define ICR_LEVEL (U32(1) << 15)
#define ICR_SELF (U32(1) << 18)
#define ICR_ALL_INCL (U32(2) << 18)
#define ICR_ALL_EXCL (U32(3) << 18)

#define LVT_MASKED (U32(1) << 16)
#define LVT_TIMER_PERIODIC (U32(1) << 17)

/* Only constants above this line: isr.S includes this header. */
#ifndef __ASSEMBLER__
#include <stdbool.h>
#include <stdint.h>

uint32_t lapic_read(uint32_t reg);
void lapic_write(uint32_t reg, uint32_t v);

/* Per-CPU set-up: software enable with the spurious vector, flat logical
 * destination (1 << cpu) for the first 8 CPUs, LINT0/LINT1 and the timer
 * masked (so a PIC left running by firmware cannot inject ExtINTs). */
void lapic_init_cpu(unsigned cpu);
uint32_t lapic_id(void);
void lapic_eoi(void);

/* Sends one IPI. dest: APIC ID (physical), logical mask (ICR_LOGICAL) or
 * ignored (shorthands). Returns false if the ICR stayed busy. */
bool lapic_send_ipi(uint32_t dest, uint32_t icr_lo);

/* Timer at divide-by-1; stop() masks it and zeroes the initial count. */
void lapic_timer_start(uint8_t vector, uint32_t initial_count, bool periodic);
void lapic_timer_stop(void);
#endif /* !__ASSEMBLER__ */
