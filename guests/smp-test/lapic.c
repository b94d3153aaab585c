#include "lapic.h"

#include "cpu.h"
#include "timing.h"
#include "vectors.h"

#define MSR_APIC_BASE 0x1B
#define APIC_BASE_ENABLE (1u << 11)
#define SVR_ENABLE (1u << 8)
#define DFR_FLAT 0xFFFFFFFFu
#define TIMER_DIV_1 0xB

uint32_t lapic_read(uint32_t reg) { return *(volatile uint32_t *)(uintptr_t)(LAPIC_BASE + reg); }
void lapic_write(uint32_t reg, uint32_t v) { *(volatile uint32_t *)(uintptr_t)(LAPIC_BASE + reg) = v; }

uint32_t lapic_id(void) { return lapic_read(LAPIC_ID) >> 24; }
void lapic_eoi(void) { lapic_write(LAPIC_EOI, 0); }

void lapic_init_cpu(unsigned cpu)
{
    uint64_t base = rdmsr(MSR_APIC_BASE);
    if (!(base & APIC_BASE_ENABLE))
        wrmsr(MSR_APIC_BASE, base | APIC_BASE_ENABLE);
    lapic_write(LAPIC_DFR, DFR_FLAT);
    lapic_write(LAPIC_LDR, cpu < 8 ? (1u << cpu) << 24 : 0);
    lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
    lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
    lapic_write(LAPIC_LVT_LINT1, LVT_MASKED);
    lapic_write(LAPIC_LVT_ERROR, LVT_MASKED | VEC_APIC_ERROR);
    lapic_write(LAPIC_TPR, 0);
    lapic_write(LAPIC_SVR, SVR_ENABLE | VEC_SPURIOUS);
    lapic_write(LAPIC_ESR, 0);
}

bool lapic_send_ipi(uint32_t dest, uint32_t icr_lo)
{
    /* The two ICR writes must not be split by a handler that sends an IPI
     * itself (ipi-pingpong replies from interrupt context). */
    uint64_t flags = irq_save();
    lapic_write(LAPIC_ICR_HI, dest << 24);
    lapic_write(LAPIC_ICR_LO, icr_lo);
    bool ok = WAIT_UNTIL(!(lapic_read(LAPIC_ICR_LO) & ICR_BUSY), 100);
    irq_restore(flags);
    return ok;
}

void lapic_timer_start(uint8_t vector, uint32_t initial_count, bool periodic)
{
    lapic_write(LAPIC_TIMER_DIV, TIMER_DIV_1);
    lapic_write(LAPIC_LVT_TIMER, vector | (periodic ? LVT_TIMER_PERIODIC : 0));
    lapic_write(LAPIC_TIMER_INIT, initial_count);
}

void lapic_timer_stop(void)
{
    lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
    lapic_write(LAPIC_TIMER_INIT, 0);
}
