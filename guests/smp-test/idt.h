/* IDT and interrupt dispatch. */
#pragma once

#include <stdint.h>

#include "defs.h"

/* Layout pushed by isr.S (lowest address first). */
struct intr_frame {
    uint64_t r11, r10, r9, r8, rdi, rsi, rdx, rcx, rax;
    uint64_t vector, error_code;
    uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

typedef void (*irq_handler_t)(unsigned cpu, unsigned vector);

/*
 * How many times each CPU took each vector (NMIs are counted under vector 2).
 * Only the owning CPU writes its row (from its handlers); the BSP reads them
 * and resets them while no interrupt of that vector is in flight.
 */
extern volatile uint32_t irq_count[MAX_CPUS][256];

/*
 * VEC_PING and VEC_PONG bypass isr_dispatch: isr.S has lean handlers for
 * them (ipi-pingpong measures the interrupt path, not emulated handler code;
 * ring-0 code costs ~0.5 us per instruction under dvmm). They count into
 * irq_count like the others, through a per-CPU GS base, and reach the LAPIC
 * through a per-CPU FS base (see idt_load_cpu). A ping is answered with a
 * pong sent to the APIC ID in pingpong_reply_icr_hi (ICR high word:
 * APIC ID << 24), which must be set before the first ping.
 */
extern volatile uint32_t pingpong_reply_icr_hi;

void idt_init(void);
/*
 * Per-CPU interrupt set-up, on the CPU itself before it enables interrupts:
 * loads the IDT and points FS at the LAPIC registers and GS at
 * irq_count[cpu] (used only by the isr.S fast handlers; the C code never
 * touches FS or GS).
 */
void idt_load_cpu(unsigned cpu);
/* Optional extra action for a vector >= 0x20, run before the EOI. */
void idt_set_handler(unsigned vector, irq_handler_t handler);
void irq_count_reset(unsigned vector);

/* Called by isr.S for every vector. */
void isr_dispatch(struct intr_frame *f);
