/*
 * The sub-tests, run by the BSP in a fixed order. Each one prints exactly one
 * line, "PASS name" or "FAIL name: reason", and every wait is bounded so a
 * lost interrupt shows up as a FAIL rather than a hang.
 *
 * Ring-0 code is emulated instruction by instruction under dvmm (~0.5 us
 * each), hence the modest repeat counts.
 */
#include "tests.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "acpi.h"
#include "cpu.h"
#include "idt.h"
#include "ioapic.h"
#include "lapic.h"
#include "print.h"
#include "serial.h"
#include "smp.h"
#include "spinlock.h"
#include "timing.h"
#include "vectors.h"

#ifndef COUNTER_ITERS
#define COUNTER_ITERS 1000 /* M: increments per CPU in the counter tests */
#endif
#ifndef FALSE_SHARING_ITERS
#define FALSE_SHARING_ITERS 200 /* increments per CPU in false-sharing */
#endif
#ifndef PINGPONG_ROUNDS
#define PINGPONG_ROUNDS 32 /* R: round trips per (BSP, AP) pair */
#endif
#define FIXED_IPI_REPEAT 3
#define LOWEST_PRIO_REPEAT 16
#define ONESHOT_COUNT 100000u  /* 100 us at a 1 GHz APIC timer */
#define PERIODIC_COUNT 1000000u /* 1 ms at a 1 GHz APIC timer */
#define PERIODIC_TICKS 5

#define IPI_TIMEOUT_MS 2000
/* How long the IOAPIC may take to see the EOI of a level interrupt. */
#define REMOTE_IRR_TIMEOUT_MS 100
#define TIMER_TIMEOUT_MS 5000
#define WORK_TIMEOUT_MS 30000
/* After the expected interrupts arrived, how long to watch for extra ones. */
#define SETTLE_MS 20

/* Flat logical mode addresses at most 8 CPUs (one LDR bit each). */
#define LOGICAL_CPUS 8

static unsigned failures;

static void pass(const char *name) { printk("PASS %s\n", name); }

static void PRINTF_LIKE(2, 3) fail(const char *name, const char *fmt, ...)
{
    char reason[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintk(reason, sizeof reason, fmt, ap);
    va_end(ap);
    printk("FAIL %s: %s\n", name, reason);
    failures++;
}

static bool online(unsigned cpu) { return cpu_online[cpu] != 0; }
static uint32_t count(unsigned cpu, unsigned vector) { return irq_count[cpu][vector]; }

/* Tests that need other CPUs: skipped on a 1-CPU machine, failed if APs
 * exist but none came up. */
static bool need_aps(const char *name)
{
    if (ncpus == 1) {
        printk("PASS %s (skipped: 1 cpu)\n", name);
        return false;
    }
    if (smp_online_aps() == 0) {
        fail(name, "no AP online");
        return false;
    }
    return true;
}

/* Waits until every online CPU took `vector` at least expected[cpu] times,
 * then checks, after a settle time, that none took it more often. */
static bool expect_counts(const char *name, unsigned vector, const uint32_t *expected)
{
    for (unsigned c = 0; c < ncpus; c++) {
        if (online(c) && !WAIT_UNTIL(count(c, vector) >= expected[c], IPI_TIMEOUT_MS)) {
            fail(name, "timeout: cpu %u took %u of %u interrupts", c, count(c, vector), expected[c]);
            return false;
        }
    }
    delay_ms(SETTLE_MS);
    for (unsigned c = 0; c < ncpus; c++) {
        if (online(c) && count(c, vector) != expected[c]) {
            fail(name, "cpu %u took %u interrupts, expected %u", c, count(c, vector), expected[c]);
            return false;
        }
    }
    return true;
}

static void test_ap_start(void)
{
    const char *name = "ap-start";
    char why[128] = "";
    unsigned failed = smp_start_aps(why, sizeof why);
    if (smp_topology_problem[0])
        fail(name, "%s", smp_topology_problem);
    else if (failed)
        fail(name, "%u of %u APs failed: %s", failed, ncpus - 1, why);
    else if (ncpus == 1)
        printk("PASS %s (skipped: 1 cpu)\n", name);
    else
        pass(name);
}

static void test_fixed_ipi(void)
{
    const char *name = "fixed-ipi";
    if (!need_aps(name))
        return;
    uint32_t expected[MAX_CPUS] = {0};
    irq_count_reset(VEC_FIXED);
    for (unsigned c = 1; c < ncpus; c++) {
        if (!online(c))
            continue;
        expected[c] = FIXED_IPI_REPEAT;
        /* One at a time: a second IPI sent before the first is serviced
         * would merge with it in the IRR. */
        for (uint32_t i = 1; i <= FIXED_IPI_REPEAT; i++) {
            lapic_send_ipi(cpu_apic_id[c], ICR_FIXED | ICR_ASSERT | VEC_FIXED);
            if (!WAIT_UNTIL(count(c, VEC_FIXED) >= i, IPI_TIMEOUT_MS)) {
                fail(name, "timeout: cpu %u took %u of %u IPIs", c, count(c, VEC_FIXED), i);
                return;
            }
        }
    }
    if (expect_counts(name, VEC_FIXED, expected))
        pass(name);
}

static void test_broadcast_ipi(void)
{
    const char *name = "broadcast-ipi";
    uint32_t expected[MAX_CPUS];
    for (unsigned c = 0; c < MAX_CPUS; c++)
        expected[c] = 1;
    irq_count_reset(VEC_BROADCAST);
    lapic_send_ipi(0, ICR_ALL_INCL | ICR_FIXED | ICR_ASSERT | VEC_BROADCAST);
    if (expect_counts(name, VEC_BROADCAST, expected))
        pass(name);
}

static void test_all_but_self_ipi(void)
{
    const char *name = "all-but-self-ipi";
    if (!need_aps(name))
        return;
    uint32_t expected[MAX_CPUS];
    for (unsigned c = 0; c < MAX_CPUS; c++)
        expected[c] = c != 0;
    irq_count_reset(VEC_ALL_BUT_SELF);
    lapic_send_ipi(0, ICR_ALL_EXCL | ICR_FIXED | ICR_ASSERT | VEC_ALL_BUT_SELF);
    if (expect_counts(name, VEC_ALL_BUT_SELF, expected))
        pass(name);
}

static void test_logical_ipi(void)
{
    const char *name = "logical-ipi";
    if (!need_aps(name))
        return;
    /* Every odd CPU among the first 8 (LDR = 1 << cpu, see lapic_init_cpu). */
    uint32_t expected[MAX_CPUS] = {0};
    uint32_t mask = 0;
    for (unsigned c = 1; c < ncpus && c < LOGICAL_CPUS; c += 2) {
        if (online(c)) {
            mask |= 1u << c;
            expected[c] = 1;
        }
    }
    irq_count_reset(VEC_LOGICAL);
    lapic_send_ipi(mask, ICR_LOGICAL | ICR_FIXED | ICR_ASSERT | VEC_LOGICAL);
    if (expect_counts(name, VEC_LOGICAL, expected))
        pass(name);
}

static void self_ipi_work(void *arg)
{
    (void)arg;
    lapic_send_ipi(0, ICR_SELF | ICR_FIXED | ICR_ASSERT | VEC_SELF);
    WAIT_UNTIL(count(this_cpu(), VEC_SELF) >= 1, IPI_TIMEOUT_MS);
}

static void test_self_ipi(void)
{
    const char *name = "self-ipi";
    uint32_t expected[MAX_CPUS];
    for (unsigned c = 0; c < MAX_CPUS; c++)
        expected[c] = 1;
    irq_count_reset(VEC_SELF);
    /* Every CPU in turn sends itself one, the BSP first. */
    self_ipi_work(0);
    for (unsigned c = 1; c < ncpus; c++) {
        if (!online(c))
            continue;
        smp_post(c, self_ipi_work, 0);
        if (!smp_wait(c, WORK_TIMEOUT_MS)) {
            fail(name, "timeout: cpu %u did not run its job", c);
            return;
        }
    }
    if (expect_counts(name, VEC_SELF, expected))
        pass(name);
}

static void test_nmi(void)
{
    const char *name = "nmi";
    if (!need_aps(name))
        return;
    uint32_t expected[MAX_CPUS] = {0};
    irq_count_reset(VEC_NMI);
    for (unsigned c = 1; c < ncpus; c++) {
        if (!online(c))
            continue;
        expected[c] = 1;
        lapic_send_ipi(cpu_apic_id[c], ICR_NMI | ICR_ASSERT);
        if (!WAIT_UNTIL(count(c, VEC_NMI) >= 1, IPI_TIMEOUT_MS)) {
            fail(name, "timeout: cpu %u took no NMI", c);
            return;
        }
    }
    if (expect_counts(name, VEC_NMI, expected))
        pass(name);
}

static uint32_t total_count(unsigned vector)
{
    uint32_t sum = 0;
    for (unsigned c = 0; c < ncpus; c++)
        sum += count(c, vector);
    return sum;
}

static void test_lowest_priority(void)
{
    const char *name = "lowest-priority";
    uint32_t mask = 0;
    for (unsigned c = 0; c < ncpus && c < LOGICAL_CPUS; c++)
        if (online(c))
            mask |= 1u << c;
    irq_count_reset(VEC_LOWEST);
    /* Each IPI must reach exactly one CPU: wait for one delivery before the
     * next send, and a duplicate shows up as a final total above K. */
    for (uint32_t k = 1; k <= LOWEST_PRIO_REPEAT; k++) {
        lapic_send_ipi(mask, ICR_LOGICAL | ICR_LOWEST | ICR_ASSERT | VEC_LOWEST);
        if (!WAIT_UNTIL(total_count(VEC_LOWEST) >= k, IPI_TIMEOUT_MS)) {
            fail(name, "timeout: IPI %u of %u not delivered", k, LOWEST_PRIO_REPEAT);
            return;
        }
    }
    delay_ms(SETTLE_MS);
    uint32_t total = total_count(VEC_LOWEST);
    if (total != LOWEST_PRIO_REPEAT)
        fail(name, "%u deliveries for %u IPIs", total, LOWEST_PRIO_REPEAT);
    else
        pass(name);
}

static void test_lapic_timer_oneshot(void)
{
    const char *name = "lapic-timer-oneshot";
    irq_count_reset(VEC_TIMER);
    lapic_timer_start(VEC_TIMER, ONESHOT_COUNT, false);
    bool fired = WAIT_UNTIL(count(0, VEC_TIMER) >= 1, TIMER_TIMEOUT_MS);
    delay_ms(SETTLE_MS);
    uint32_t n = count(0, VEC_TIMER);
    uint32_t current = lapic_read(LAPIC_TIMER_CUR);
    lapic_timer_stop();
    if (!fired)
        fail(name, "timeout: no timer interrupt");
    else if (n != 1)
        fail(name, "%u interrupts, expected 1", n);
    else if (current != 0)
        fail(name, "current count %u after expiry, expected 0", current);
    else
        pass(name);
}

static void test_lapic_timer_periodic(void)
{
    const char *name = "lapic-timer-periodic";
    irq_count_reset(VEC_TIMER);
    lapic_timer_start(VEC_TIMER, PERIODIC_COUNT, true);
    bool ticked = WAIT_UNTIL(count(0, VEC_TIMER) >= PERIODIC_TICKS, TIMER_TIMEOUT_MS);
    lapic_timer_stop();
    uint32_t at_stop = count(0, VEC_TIMER);
    delay_ms(SETTLE_MS);
    uint32_t later = count(0, VEC_TIMER);
    if (!ticked)
        fail(name, "timeout: %u of %u interrupts", at_stop, PERIODIC_TICKS);
    else if (later > at_stop + 1) /* one may already have been pending */
        fail(name, "still firing after stop (%u -> %u)", at_stop, later);
    else
        pass(name);
}

/*
 * ioapic-irq: COM1's THR-empty interrupt (ISA IRQ 4), routed by the IOAPIC
 * as a level-triggered interrupt to each online CPU in turn. The handler
 * (isr_dispatch + uart_handler, on the target CPU) counts it and disables
 * the UART interrupt, so the line is low before the EOI; the EOI must then
 * reach the IOAPIC and clear Remote IRR. A line still high at the EOI would
 * be delivered again: exactly one interrupt is expected.
 */
struct ioapic_pin {
    uint32_t base; /* MMIO address */
    unsigned pin;  /* redirection entry of COM1's GSI */
};

static void uart_handler(unsigned cpu, unsigned vector)
{
    (void)cpu;
    (void)vector;
    serial_irq_ack(); /* drops the line; isr_dispatch EOIs afterwards */
}

/* Finds COM1's IOAPIC pin (MADT, else the PC defaults) and checks that an
 * IOAPIC answers there. Leaves the entry masked. */
static bool ioapic_locate(struct ioapic_pin *p, char *why, size_t n)
{
    uint32_t base = IOAPIC_DEFAULT_BASE, gsi_base = 0;
    acpi_madt_ioapic(&base, &gsi_base);
    uint32_t gsi = acpi_isa_irq_gsi(SERIAL_ISA_IRQ);
    /* Only 3-4 GiB is mapped uncached (boot32.S). */
    if (base < 0xC0000000u || base > 0xFFFFF000u) {
        snprintk(why, n, "IOAPIC at 0x%x is outside the uncached window", base);
        return false;
    }
    uint32_t version = ioapic_read(base, IOAPIC_REG_VERSION);
    if (version == 0xFFFFFFFFu || gsi < gsi_base || gsi - gsi_base > IOAPIC_VERSION_MAX_ENTRY(version)) {
        snprintk(why, n, "no IOAPIC pin for GSI %u at 0x%x (version register 0x%x)", gsi, base, version);
        return false;
    }
    p->base = base;
    p->pin = gsi - gsi_base;
    const uint32_t lo = VEC_UART | IOAPIC_LEVEL | IOAPIC_MASKED;
    ioapic_write(base, IOAPIC_REG_REDIR(p->pin), lo);
    uint32_t back = ioapic_read(base, IOAPIC_REG_REDIR(p->pin));
    if ((back & 0x1FFFFu & ~(IOAPIC_REMOTE_IRR | 0x1000u)) != lo) {
        snprintk(why, n, "IOAPIC entry %u reads 0x%x after writing 0x%x", p->pin, back, lo);
        return false;
    }
    return true;
}

/* One delivery to CPU c. Prints nothing (the UART is armed in here); leaves
 * the UART quiet and the entry masked; false with a reason in why. */
static bool ioapic_irq_to(const struct ioapic_pin *p, unsigned c, char *why, size_t n)
{
    const uint8_t reg = (uint8_t)IOAPIC_REG_REDIR(p->pin);
    const uint32_t lo = VEC_UART | IOAPIC_LEVEL; /* fixed, physical, active high */
    irq_count_reset(VEC_UART);
    ioapic_write(p->base, reg, lo | IOAPIC_MASKED);
    ioapic_write(p->base, reg + 1, cpu_apic_id[c] << 24);
    ioapic_write(p->base, reg, lo);
    serial_irq_arm();
    bool took = WAIT_UNTIL(total_count(VEC_UART) >= 1, IPI_TIMEOUT_MS);
    uint32_t entry = 0;
    bool irr_clear = WAIT_UNTIL(!((entry = ioapic_read(p->base, reg)) & IOAPIC_REMOTE_IRR), REMOTE_IRR_TIMEOUT_MS);
    if (took)
        delay_ms(SETTLE_MS); /* room for a wrong re-delivery */
    serial_irq_disarm();
    ioapic_write(p->base, reg, lo | IOAPIC_MASKED);

    uint32_t here = count(c, VEC_UART), total = total_count(VEC_UART);
    if (!took)
        snprintk(why, n, "timeout: no interrupt for cpu %u (apic id %u), entry 0x%x", c, cpu_apic_id[c], entry);
    else if (here != total)
        snprintk(why, n, "routed to cpu %u (apic id %u) but %u of %u interrupts ran elsewhere", c,
                 cpu_apic_id[c], total - here, total);
    else if (total != 1)
        snprintk(why, n, "cpu %u took %u interrupts, expected 1 (level line not dropped before EOI?)", c, total);
    else if (!irr_clear)
        snprintk(why, n, "cpu %u: Remote IRR still set %u ms after the EOI (entry 0x%x)", c, REMOTE_IRR_TIMEOUT_MS,
                 entry);
    else
        return true;
    return false;
}

static void test_ioapic_irq(void)
{
    const char *name = "ioapic-irq";
    char why[160];
    struct ioapic_pin p;
    if (!ioapic_locate(&p, why, sizeof why)) {
        fail(name, "%s", why);
        return;
    }
    idt_set_handler(VEC_UART, uart_handler);
    for (unsigned c = 0; c < ncpus; c++) {
        if (online(c) && !ioapic_irq_to(&p, c, why, sizeof why)) {
            fail(name, "%s", why);
            return;
        }
    }
    pass(name);
}

/* The counters sit on their own cache lines, apart from the lock. */
static spinlock_t counter_lock __attribute__((aligned(64)));
static volatile uint64_t locked_counter __attribute__((aligned(64)));
static uint32_t atomic_counter __attribute__((aligned(64)));

static void spinlock_work(void *arg)
{
    (void)arg;
    for (unsigned i = 0; i < COUNTER_ITERS; i++) {
        spin_lock(&counter_lock);
        locked_counter = locked_counter + 1; /* deliberately not atomic */
        spin_unlock(&counter_lock);
    }
}

static void atomic_work(void *arg)
{
    (void)arg;
    for (unsigned i = 0; i < COUNTER_ITERS; i++) {
        uint32_t one = 1;
        __asm__ volatile("lock xaddl %0, %1" : "+r"(one), "+m"(atomic_counter) : : "memory");
    }
}

/* Runs fn on every online CPU at once (the BSP included). */
static bool run_everywhere(const char *name, work_fn fn)
{
    for (unsigned c = 1; c < ncpus; c++)
        if (online(c))
            smp_post(c, fn, 0);
    fn(0);
    for (unsigned c = 1; c < ncpus; c++) {
        if (online(c) && !smp_wait(c, WORK_TIMEOUT_MS)) {
            fail(name, "timeout: cpu %u did not finish", c);
            return false;
        }
    }
    return true;
}

static void test_spinlock_counter(void)
{
    const char *name = "spinlock-counter";
    locked_counter = 0;
    if (!run_everywhere(name, spinlock_work))
        return;
    uint64_t want = (uint64_t)(1 + smp_online_aps()) * COUNTER_ITERS;
    if (locked_counter != want)
        fail(name, "counter %lu, expected %lu", (uint64_t)locked_counter, want);
    else
        pass(name);
}

static void test_atomic_counter(void)
{
    const char *name = "atomic-counter";
    __atomic_store_n(&atomic_counter, 0, __ATOMIC_RELAXED);
    if (!run_everywhere(name, atomic_work))
        return;
    uint32_t want = (1 + smp_online_aps()) * COUNTER_ITERS;
#ifdef SMP_TEST_INJECT_FAILURE
    want++; /* build option to check the failure path end to end */
#endif
    uint32_t got = __atomic_load_n(&atomic_counter, __ATOMIC_RELAXED);
    if (got != want)
        fail(name, "counter %u, expected %u", got, want);
    else
        pass(name);
}

/*
 * false-sharing: one 4 KiB page, nothing else in it, holding a 64-bit counter
 * per CPU (adjacent words) and one shared word. After a start barrier every
 * CPU does, FALSE_SHARING_ITERS times, a plain read-modify-write of its own
 * counter and a "lock xadd" on the shared word. No two CPUs write the same
 * plain word, so any lost update means a CPU worked on a stale copy of the
 * page (dvmm's DSM mode moves whole pages between nodes on write faults).
 */
struct false_sharing_page {
    volatile uint64_t mine[MAX_CPUS];
    uint64_t shared;
    uint8_t pad[4096 - (MAX_CPUS + 1) * 8];
};
_Static_assert(sizeof(struct false_sharing_page) == 4096, "false-sharing data must fill one page");
static struct false_sharing_page fs_page __attribute__((aligned(4096)));
/* Start barrier, outside the page. */
static uint32_t fs_cpus;                              /* participants */
static uint32_t fs_arrived __attribute__((aligned(64)));
static volatile uint32_t fs_barrier_timeout[MAX_CPUS]; /* 1: gave up waiting */

static void false_sharing_work(void *arg)
{
    (void)arg;
    unsigned cpu = this_cpu();
    __atomic_add_fetch(&fs_arrived, 1, __ATOMIC_ACQ_REL);
    if (!WAIT_UNTIL(__atomic_load_n(&fs_arrived, __ATOMIC_ACQUIRE) >= fs_cpus, WORK_TIMEOUT_MS)) {
        fs_barrier_timeout[cpu] = 1;
        return;
    }
    volatile uint64_t *mine = &fs_page.mine[cpu];
    for (unsigned i = 0; i < FALSE_SHARING_ITERS; i++) {
        *mine = *mine + 1; /* deliberately a plain load, add and store */
        uint64_t one = 1;
        __asm__ volatile("lock xaddq %0, %1" : "+r"(one), "+m"(fs_page.shared) : : "memory");
    }
}

static void test_false_sharing(void)
{
    const char *name = "false-sharing";
    for (unsigned c = 0; c < MAX_CPUS; c++) {
        fs_page.mine[c] = 0;
        fs_barrier_timeout[c] = 0;
    }
    __atomic_store_n(&fs_page.shared, 0, __ATOMIC_RELAXED);
    fs_cpus = 1 + smp_online_aps();
    __atomic_store_n(&fs_arrived, 0, __ATOMIC_RELEASE);
    if (!run_everywhere(name, false_sharing_work))
        return;
    for (unsigned c = 0; c < MAX_CPUS; c++) {
        if (fs_barrier_timeout[c]) {
            fail(name, "timeout: cpu %u saw %u of %u CPUs at the start barrier", c,
                 __atomic_load_n(&fs_arrived, __ATOMIC_RELAXED), fs_cpus);
            return;
        }
    }
    for (unsigned c = 0; c < MAX_CPUS; c++) {
        uint64_t want = c < ncpus && online(c) ? FALSE_SHARING_ITERS : 0;
        if (fs_page.mine[c] != want) {
            fail(name, "cpu %u counter %lu, expected %lu (lost update?)", c, (uint64_t)fs_page.mine[c], want);
            return;
        }
    }
    uint64_t want = (uint64_t)fs_cpus * FALSE_SHARING_ITERS;
    uint64_t got = __atomic_load_n(&fs_page.shared, __ATOMIC_RELAXED);
    if (got != want)
        fail(name, "shared counter %lu, expected %lu", got, want);
    else
        pass(name);
}

/* Waits for the BSP's pong count to move from `before`: a tight loop (a load,
 * a compare and the loop counter; ring 0 is emulated under dvmm) with a TSC
 * check only every 1024 polls. */
static bool wait_pong(uint32_t before, uint64_t timeout_ms)
{
    const volatile uint32_t *pongs = &irq_count[0][VEC_PONG];
    uint64_t deadline = tsc_deadline_ms(timeout_ms);
    do {
        for (unsigned i = 0; i < 1024; i++)
            if (*pongs != before)
                return true;
    } while (!tsc_expired(deadline));
    return *pongs != before;
}

static uint64_t median(uint64_t *v, unsigned n)
{
    for (unsigned i = 1; i < n; i++) /* insertion sort: n is small */
        for (unsigned j = i; j > 0 && v[j - 1] > v[j]; j--) {
            uint64_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return v[n / 2];
}

/* One ping to cpu c and its pong: the round trip in TSC cycles, or 0 on
 * timeout. The ping is sent by hand: the ICR high word before the clock
 * starts, no delivery-status poll (one IPI in flight; nothing else on the
 * BSP sends meanwhile). The round trip is the low write up to the pong
 * handler's count, as seen by the loop. */
static uint64_t ping_round_trip(unsigned c)
{
    uint32_t before = count(0, VEC_PONG);
    lapic_write(LAPIC_ICR_HI, cpu_apic_id[c] << 24);
    uint64_t t0 = rdtsc();
    lapic_write(LAPIC_ICR_LO, ICR_FIXED | ICR_ASSERT | VEC_PING);
    if (!wait_pong(before, IPI_TIMEOUT_MS))
        return 0;
    return rdtsc() - t0;
}

/*
 * guest-errors: what a guest may do wrong gets the hardware's defined
 * behaviour (SDM vol. 3A ch. 11; the PC's floating bus), and the machine
 * keeps working:
 *  - an IPI with an illegal vector (0-15) is not delivered and sets ESR
 *    bit 5, Send Illegal Vector (the ESR shows it after a write to it);
 *  - an IPI to an APIC ID that no CPU has reaches nobody;
 *  - a SIPI to a running AP is ignored (it answers a ping afterwards);
 *  - a port nothing decodes reads as all ones, and so does physical
 *    memory nothing backs;
 *  - a firmware (fw_cfg) item that does not exist reads as zeros.
 */
#define UNDECODED_PORT 0x300           /* ISA I/O, nothing there on a PC */
#define UNBACKED_MMIO 0xD0000000u      /* in the uncached window, no device */
#define ABSENT_APIC_ID 200u
#define ESR_SEND_ILLEGAL_VECTOR (1u << 5)
#define FWCFG_SELECTOR_PORT 0x510
#define FWCFG_DATA_PORT 0x511
#define FWCFG_NB_CPUS_KEY 0x05
#define FWCFG_ABSENT_KEY 0x7FFF

static void test_guest_errors(void)
{
    const char *name = "guest-errors";
    if (!need_aps(name))
        return;
    pingpong_reply_icr_hi = cpu_apic_id[0] << 24;

    /* To nobody, so that an APIC that wrongly delivers it (QEMU's TCG
     * APIC does) fails this check without crashing the CPU it hits. */
    lapic_write(LAPIC_ESR, 0);
    lapic_write(LAPIC_ICR_HI, ABSENT_APIC_ID << 24);
    lapic_write(LAPIC_ICR_LO, ICR_FIXED | ICR_ASSERT | 3);
    lapic_write(LAPIC_ESR, 0); /* latch the errors since the last write */
    uint32_t esr = lapic_read(LAPIC_ESR);
    if (!(esr & ESR_SEND_ILLEGAL_VECTOR)) {
        fail(name, "IPI with vector 3: ESR 0x%x, expected bit 5 (send illegal vector)", esr);
        return;
    }
    lapic_write(LAPIC_ESR, 0);

    uint32_t before[MAX_CPUS];
    for (unsigned c = 0; c < ncpus; c++)
        before[c] = count(c, VEC_PING);
    lapic_write(LAPIC_ICR_HI, ABSENT_APIC_ID << 24);
    lapic_write(LAPIC_ICR_LO, ICR_FIXED | ICR_ASSERT | VEC_PING);
    delay_ms(SETTLE_MS);
    for (unsigned c = 0; c < ncpus; c++) {
        if (count(c, VEC_PING) != before[c]) {
            fail(name, "an IPI to absent APIC ID %u reached cpu %u", ABSENT_APIC_ID, c);
            return;
        }
    }

    lapic_write(LAPIC_ICR_HI, cpu_apic_id[1] << 24);
    lapic_write(LAPIC_ICR_LO, ICR_STARTUP | ICR_ASSERT | 0x10);
    delay_ms(SETTLE_MS);

    uint8_t port = inb(UNDECODED_PORT);
    uint32_t mmio = *(volatile uint32_t *)(uintptr_t)UNBACKED_MMIO;
    if (port != 0xFF || mmio != 0xFFFFFFFFu) {
        fail(name, "port 0x%x read 0x%x, MMIO 0x%x read 0x%x: expected all ones", UNDECODED_PORT,
             port, UNBACKED_MMIO, mmio);
        return;
    }
    /* fw_cfg: an item that does not exist, and reads past the end of one
     * that does (the CPU count, 2 bytes), read as zeros, as QEMU's do. */
    outw(FWCFG_SELECTOR_PORT, FWCFG_ABSENT_KEY);
    uint32_t absent = 0;
    for (int i = 0; i < 4; i++)
        absent |= (uint32_t)inb(FWCFG_DATA_PORT) << (8 * i);
    outw(FWCFG_SELECTOR_PORT, FWCFG_NB_CPUS_KEY);
    uint32_t cpus = 0;
    for (int i = 0; i < 4; i++)
        cpus |= (uint32_t)inb(FWCFG_DATA_PORT) << (8 * i);
    if (absent != 0 || cpus != ncpus) {
        fail(name, "fw_cfg: absent item read 0x%x, CPU count read as 4 bytes 0x%x (expected 0 and %u)",
             absent, cpus, ncpus);
        return;
    }

    for (unsigned c = 1; c < ncpus; c++) {
        if (online(c) && ping_round_trip(c) == 0) {
            fail(name, "cpu %u stopped answering after the bad requests", c);
            return;
        }
    }
    pass(name);
}

static void test_ipi_pingpong(void)
{
    const char *name = "ipi-pingpong";
    if (!need_aps(name))
        return;
    /* The APs' ping handler (isr.S) replies to the BSP. */
    pingpong_reply_icr_hi = cpu_apic_id[0] << 24;
    char line[1024];
    int len = snprintk(line, sizeof line, "PASS %s median_cycles", name);
    for (unsigned c = 1; c < ncpus; c++) {
        if (!online(c))
            continue;
        uint64_t rtt[PINGPONG_ROUNDS];
        for (unsigned r = 0; r < PINGPONG_ROUNDS; r++) {
            rtt[r] = ping_round_trip(c);
            if (rtt[r] == 0) {
                fail(name, "timeout: no reply from cpu %u in round %u", c, r);
                return;
            }
        }
        if ((size_t)len < sizeof line)
            len += snprintk(line + len, sizeof line - (size_t)len, " cpu%u=%lu", c, median(rtt, PINGPONG_ROUNDS));
    }
    printk("%s\n", line);
}

/* The benchmark's loop: `rounds` round trips to every AP, every sample
 * printed (16 per line: "ipi-rtt cpuN: c1 c2 ...") for the host to
 * compute percentiles from. */
static void bench_ipi_pingpong(unsigned rounds)
{
    const char *name = "ipi-pingpong";
    if (!need_aps(name))
        return;
    pingpong_reply_icr_hi = cpu_apic_id[0] << 24;
    for (unsigned c = 1; c < ncpus; c++) {
        if (!online(c))
            continue;
        char line[512];
        int len = 0;
        for (unsigned r = 0; r < rounds; r++) {
            uint64_t rtt = ping_round_trip(c);
            if (rtt == 0) {
                fail(name, "timeout: no reply from cpu %u in round %u", c, r);
                return;
            }
            if (len == 0)
                len = snprintk(line, sizeof line, "ipi-rtt cpu%u:", c);
            len += snprintk(line + len, sizeof line - (size_t)len, " %lu", rtt);
            if (r % 16 == 15 || r + 1 == rounds) {
                printk("%s\n", line);
                len = 0;
            }
        }
    }
    pass(name);
}

unsigned tests_run_ipi_bench(unsigned rounds)
{
    test_ap_start();
    bench_ipi_pingpong(rounds);
    return failures;
}

unsigned tests_run(void)
{
    test_ap_start();
    test_fixed_ipi();
    test_broadcast_ipi();
    test_all_but_self_ipi();
    test_logical_ipi();
    test_self_ipi();
    test_nmi();
    test_lowest_priority();
    test_lapic_timer_oneshot();
    test_lapic_timer_periodic();
    test_ioapic_irq();
    test_spinlock_counter();
    test_atomic_counter();
    test_false_sharing();
    test_guest_errors();
    test_ipi_pingpong();
    return failures;
}
