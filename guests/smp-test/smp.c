#include "smp.h"

#include "acpi.h"
#include "cpu.h"
#include "fwcfg.h"
#include "idt.h"
#include "lapic.h"
#include "lib.h"
#include "print.h"
#include "timing.h"
#include "vectors.h"

/* Bounded check-in wait per AP; an AP's start-up path is a few hundred
 * (emulated, under dvmm) ring-0 instructions plus its first page touches. */
#define AP_START_TIMEOUT_MS 5000

unsigned ncpus = 1;
uint32_t cpu_apic_id[MAX_CPUS];
volatile uint32_t cpu_online[MAX_CPUS];
char smp_topology_problem[128];

/* Index of the AP being started: read by ap_entry64 (boot32.S) to pick its
 * stack and passed to ap_main. */
volatile uint32_t ap_boot_cpu;

struct mailbox {
    work_fn fn;
    void *arg;
    uint32_t done;
} __attribute__((aligned(64)));

static struct mailbox mailbox[MAX_CPUS];

extern const char trampoline_start[], trampoline_end[];

void smp_discover(void)
{
    uint32_t bsp = lapic_id();
    uint32_t madt_ids[MAX_CPUS];
    int fw = fwcfg_nb_cpus();
    int madt = acpi_madt_cpus(madt_ids, MAX_CPUS);
    unsigned known = 1;
    bool bsp_listed = false;

    cpu_apic_id[0] = bsp;
    if (madt >= 0) {
        unsigned listed = (unsigned)madt < MAX_CPUS ? (unsigned)madt : MAX_CPUS;
        for (unsigned i = 0; i < listed; i++) {
            if (madt_ids[i] == bsp)
                bsp_listed = true;
            else if (known < MAX_CPUS)
                cpu_apic_id[known++] = madt_ids[i];
        }
    } else {
        /* No MADT: the best guess is APIC IDs 0..n-1 (QEMU's default). */
        unsigned n = fw > 0 ? (unsigned)fw : 1;
        for (uint32_t id = 0; id < n && known < MAX_CPUS; id++)
            if (id != bsp)
                cpu_apic_id[known++] = id;
    }
    ncpus = known;
    if (fw > 0 && (unsigned)fw < ncpus)
        ncpus = (unsigned)fw;

    char *p = smp_topology_problem;
    size_t n = sizeof smp_topology_problem;
    if (madt < 0 && fw < 0)
        snprintk(p, n, "neither fw_cfg nor an ACPI MADT found");
    else if (madt < 0)
        snprintk(p, n, "no ACPI MADT (fw_cfg reports %d cpus)", fw);
    else if (fw >= 0 && fw != madt)
        snprintk(p, n, "fw_cfg reports %d cpus, MADT lists %d", fw, madt);
    else if (!bsp_listed)
        snprintk(p, n, "BSP APIC ID %u not in the MADT", bsp);
    else if (madt > MAX_CPUS)
        snprintk(p, n, "%d cpus, only %d supported", madt, MAX_CPUS);
}

static bool start_ap(unsigned cpu)
{
    uint32_t id = cpu_apic_id[cpu];
    __atomic_store_n(&ap_boot_cpu, cpu, __ATOMIC_RELEASE);

    /* MP spec / SDM order: INIT assert, INIT de-assert (only meaningful to
     * 82489DX-era APICs, harmless elsewhere), 10 ms, then two SIPIs 200 us
     * apart (a CPU already running ignores the second). */
    lapic_write(LAPIC_ESR, 0);
    lapic_send_ipi(id, ICR_INIT | ICR_LEVEL | ICR_ASSERT);
    delay_us(200);
    lapic_send_ipi(id, ICR_INIT | ICR_LEVEL);
    delay_ms(10);
    for (int i = 0; i < 2; i++) {
        lapic_send_ipi(id, ICR_STARTUP | SIPI_VECTOR);
        delay_us(200);
    }
    return WAIT_UNTIL(__atomic_load_n(&cpu_online[cpu], __ATOMIC_ACQUIRE), AP_START_TIMEOUT_MS);
}

unsigned smp_start_aps(char *why, size_t why_size)
{
    unsigned failed = 0;
    memcpy((void *)TRAMPOLINE_PHYS, trampoline_start, (size_t)(trampoline_end - trampoline_start));
    for (unsigned c = 1; c < ncpus; c++) {
        if (start_ap(c))
            continue;
        if (!failed++)
            snprintk(why, why_size, "cpu %u (apic id %u) did not check in", c, cpu_apic_id[c]);
    }
    return failed;
}

unsigned smp_online_aps(void)
{
    unsigned n = 0;
    for (unsigned c = 1; c < ncpus; c++)
        n += cpu_online[c] != 0;
    return n;
}

void smp_post(unsigned cpu, work_fn fn, void *arg)
{
    struct mailbox *m = &mailbox[cpu];
    m->arg = arg;
    __atomic_store_n(&m->done, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&m->fn, fn, __ATOMIC_RELEASE);
    lapic_send_ipi(cpu_apic_id[cpu], ICR_FIXED | ICR_ASSERT | VEC_WAKE);
}

bool smp_wait(unsigned cpu, uint64_t timeout_ms)
{
    return WAIT_UNTIL(__atomic_load_n(&mailbox[cpu].done, __ATOMIC_ACQUIRE), timeout_ms);
}

void ap_main(unsigned cpu)
{
    idt_load_cpu(cpu);
    lapic_init_cpu(cpu);
    __atomic_store_n(&cpu_online[cpu], 1, __ATOMIC_RELEASE);

    /* Idle in HLT (a VEC_WAKE IPI follows every posted job), so idle APs do
     * not burn host CPU. The mailbox is checked with interrupts off, and
     * "sti; hlt" cannot miss a wake-up that arrives in between. */
    struct mailbox *m = &mailbox[cpu];
    for (;;) {
        cli();
        work_fn fn = __atomic_exchange_n(&m->fn, (work_fn)0, __ATOMIC_ACQUIRE);
        if (!fn) {
            sti_hlt();
            continue;
        }
        sti();
        fn(m->arg);
        __atomic_store_n(&m->done, 1, __ATOMIC_RELEASE);
    }
}
