#include "idt.h"

#include "cpu.h"
#include "lapic.h"
#include "print.h"
#include "smp.h"
#include "vectors.h"

struct __attribute__((packed)) idt_gate {
    uint16_t offset_lo;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t offset_mid;
    uint32_t offset_hi;
    uint32_t reserved;
};

#define GATE_INTERRUPT 0x8E /* present, DPL 0, 64-bit interrupt gate (IF cleared) */
#define EXIT_EXCEPTION 3
#define MSR_FS_BASE 0xC0000100
#define MSR_GS_BASE 0xC0000101

static struct idt_gate idt[256] __attribute__((aligned(16)));
static irq_handler_t handlers[256];
volatile uint32_t irq_count[MAX_CPUS][256];
volatile uint32_t pingpong_reply_icr_hi;

extern const char isr_stubs[], isr_stubs_end[];
extern const char isr_ping[], isr_pong[]; /* isr.S fast paths */

static void set_gate(unsigned v, const void *entry)
{
    uint64_t a = (uintptr_t)entry;
    idt[v] = (struct idt_gate){
        .offset_lo = (uint16_t)a,
        .selector = KERNEL_CS,
        .ist = 0,
        .type_attr = GATE_INTERRUPT,
        .offset_mid = (uint16_t)(a >> 16),
        .offset_hi = (uint32_t)(a >> 32),
    };
}

void idt_init(void)
{
    for (unsigned v = 0; v < 256; v++)
        set_gate(v, isr_stubs + v * ISR_STUB_SIZE);
    set_gate(VEC_PING, isr_ping);
    set_gate(VEC_PONG, isr_pong);
}

void idt_load_cpu(unsigned cpu)
{
    struct __attribute__((packed)) {
        uint16_t limit;
        uint64_t base;
    } idtr = {sizeof idt - 1, (uintptr_t)idt};
    __asm__ volatile("lidt %0" : : "m"(idtr));
    wrmsr(MSR_FS_BASE, LAPIC_BASE);
    wrmsr(MSR_GS_BASE, (uintptr_t)irq_count[cpu]);
}

void idt_set_handler(unsigned vector, irq_handler_t handler) { handlers[vector & 0xFF] = handler; }

void irq_count_reset(unsigned vector)
{
    for (unsigned c = 0; c < MAX_CPUS; c++)
        irq_count[c][vector] = 0;
}

static void __attribute__((noreturn)) report_exception(const struct intr_frame *f, unsigned vector, unsigned cpu)
{
    char line[128];
    int n = snprintk(line, sizeof line, "FAIL exception %u at 0x%lx on cpu %u\n", vector, f->rip, cpu);
    console_write_panic(line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    debug_exit(EXIT_EXCEPTION);
    halt_forever();
}

void isr_dispatch(struct intr_frame *f)
{
    unsigned vector = (unsigned)f->vector & 0xFF; /* pushed sign-extended */
    unsigned cpu = this_cpu();

    if (vector == VEC_NMI) {
        /* NMIs are test traffic (the nmi test), not errors. No EOI. */
        irq_count[cpu][vector]++;
        return;
    }
    if (vector < VEC_FIRST_IRQ)
        report_exception(f, vector, cpu);
    irq_count[cpu][vector]++;
    if (vector == VEC_SPURIOUS)
        return; /* spurious interrupts are not in service: no EOI */
    if (handlers[vector])
        handlers[vector](cpu, vector);
    lapic_eoi();
}
