/*
 * smp-test: a freestanding SMP multiboot v1 guest. boot32.S brings the BSP to
 * long mode and calls kmain; the sub-tests are in tests.c.
 *
 * Output (COM1): "smp-test: N cpus", one PASS/FAIL line per sub-test, then
 * "smp-test: all passed" or "smp-test: K failed". Exit (isa-debug-exit, port
 * 0xF4): 0 all passed, 1 some failed, 3 unexpected exception.
 *
 * "acpi-poweroff" / "acpi-reset" on the command line replace the tests:
 * the guest leaves through the ACPI hardware the FADT describes (see
 * acpi_power below), so the VMM's exit is the one under test.
 */
#include <stdint.h>

#include "acpi.h"
#include "cpu.h"
#include "lib.h"
#include "defs.h"
#include "idt.h"
#include "lapic.h"
#include "print.h"
#include "serial.h"
#include "smp.h"
#include "tests.h"

#define EXIT_PASSED 0
#define EXIT_FAILED 1
#define BENCH_IPI_ROUNDS 200

/* True when the multiboot command line has `word` as one of its
 * space-separated words (the first word is the kernel's path). */
static int cmdline_has(uint32_t mbi, const char *word)
{
    const uint32_t *info = (const uint32_t *)(uintptr_t)mbi;
    if (mbi == 0 || !(info[0] & (1u << 2)) || info[4] == 0)
        return 0;
    const char *p = (const char *)(uintptr_t)info[4];
    size_t n = 0;
    while (word[n])
        n++;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *start = p;
        while (*p && *p != ' ')
            p++;
        if ((size_t)(p - start) == n && memcmp(start, word, n) == 0)
            return 1;
    }
    return 0;
}

#define PM_TIMER_HZ 3579545u
#define PM_TIMER_MASK 0xFFFFFFu
#define PM1_SLP_TYP_SHIFT 10
#define PM1_SLP_EN (1u << 13)

/* Ticks of the 24-bit PM timer since `*last`, which it advances. */
static uint32_t pm_timer_elapsed(uint16_t port, uint32_t *last)
{
    uint32_t now = inl(port) & PM_TIMER_MASK;
    uint32_t d = (now - *last) & PM_TIMER_MASK;
    *last = now;
    return d;
}

/* Reads the FADT and \_S5, checks that the PM timer counts, then powers
 * off (SLP_TYP of \_S5 | SLP_EN to PM1a_CNT) or resets (RESET_VALUE to
 * RESET_REG). The VMM should stop the VM there; a guest still running a
 * second later reports FAIL and exits 1 through the debug-exit port. */
static void acpi_power(int reset) __attribute__((noreturn));
static void acpi_power(int reset)
{
    const char *what = reset ? "acpi-reset" : "acpi-poweroff";
    struct acpi_pm pm = {0};
    if (!acpi_pm_info(&pm)) {
        printk("FAIL %s: no valid FADT\n", what);
        debug_exit(EXIT_FAILED);
        halt_forever();
    }
    printk("smp-test: acpi: PM1a_CNT 0x%x PM_TMR 0x%x RESET_REG 0x%x value 0x%x%s S5 %s %u\n",
           pm.pm1a_cnt, pm.pm_tmr, pm.reset_port, pm.reset_value,
           pm.reset_supported ? "" : " (not supported)", pm.s5_found ? "SLP_TYP" : "missing",
           pm.s5_slp_typ);
    unsigned failed = 0;
    if (pm.pm_tmr == 0) {
        printk("FAIL acpi-pm-timer: no PM_TMR_BLK\n");
        failed++;
    } else {
        uint32_t last = inl(pm.pm_tmr) & PM_TIMER_MASK, moved = 0;
        for (int i = 0; i < 100000 && moved == 0; i++)
            moved = pm_timer_elapsed(pm.pm_tmr, &last);
        if (moved == 0) {
            printk("FAIL acpi-pm-timer: the PM timer does not count\n");
            failed++;
        } else {
            printk("PASS acpi-pm-timer\n");
        }
    }
    if (reset ? (!pm.reset_supported || pm.reset_port == 0) : (!pm.s5_found || pm.pm1a_cnt == 0)) {
        printk("FAIL %s: the tables do not say how\n", what);
        failed++;
    }
    if (failed) {
        debug_exit(EXIT_FAILED);
        halt_forever();
    }
    printk("smp-test: %s\n", what);
    if (reset)
        outb(pm.reset_port, pm.reset_value);
    else
        outw(pm.pm1a_cnt, (uint16_t)(((pm.s5_slp_typ & 7u) << PM1_SLP_TYP_SHIFT) | PM1_SLP_EN));
    uint32_t last = inl(pm.pm_tmr) & PM_TIMER_MASK, waited = 0;
    while (waited < PM_TIMER_HZ)
        waited += pm_timer_elapsed(pm.pm_tmr, &last);
    printk("FAIL %s: the VM is still running a second later\n", what);
    debug_exit(EXIT_FAILED);
    halt_forever();
}

/* Entry from boot32.S on the BSP. */
void kmain(uint32_t magic, uint32_t mbi) __attribute__((noreturn));

void kmain(uint32_t magic, uint32_t mbi)
{
    /* "idle" on the command line: stay alive after the tests instead of
     * exiting, so that tests of the VMM can stop or break a running VM. */
    const int idle = magic == MULTIBOOT_BOOTLOADER_MAGIC && cmdline_has(mbi, "idle");
    serial_init();
    idt_init();
    idt_load_cpu(0);
    lapic_init_cpu(0);
    cpu_online[0] = 1;
    smp_discover();

    printk("smp-test: %u cpus\n", ncpus);
    if (magic == MULTIBOOT_BOOTLOADER_MAGIC && cmdline_has(mbi, "acpi-poweroff"))
        acpi_power(0);
    if (magic == MULTIBOOT_BOOTLOADER_MAGIC && cmdline_has(mbi, "acpi-reset"))
        acpi_power(1);
    unsigned failed = 0;
    if (magic != MULTIBOOT_BOOTLOADER_MAGIC) {
        printk("FAIL multiboot: bad magic 0x%x\n", magic);
        failed++;
    }
#ifdef SMP_TEST_INJECT_EXCEPTION
    __asm__ volatile("ud2"); /* build option to check the exception path */
#endif

    sti(); /* the BSP takes its interrupts while polling */
    /* "bench-ipi": only the IPI round trips, many of them (dvmm-bench ipi). */
    if (magic == MULTIBOOT_BOOTLOADER_MAGIC && cmdline_has(mbi, "bench-ipi"))
        failed += tests_run_ipi_bench(BENCH_IPI_ROUNDS);
    else
        failed += tests_run();
    cli();

    if (failed)
        printk("smp-test: %u failed\n", failed);
    else
        printk("smp-test: all passed\n");
    if (idle) {
        printk("smp-test: idle\n");
        for (;;)
            __asm__ volatile("sti; hlt");
    }
    debug_exit(failed ? EXIT_FAILED : EXIT_PASSED);
    halt_forever();
}
