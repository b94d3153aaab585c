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

void idt_init(void);
void idt_load(void);
/* Optional extra action for a vector >= 0x20, run before the EOI. */
void idt_set_handler(unsigned vector, irq_handler_t handler);
void irq_count_reset(unsigned vector);

/* Called by isr.S for every vector. */
void isr_dispatch(struct intr_frame *f);
