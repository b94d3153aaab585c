/*
 * smp-test: a freestanding SMP multiboot v1 guest. boot32.S brings the BSP to
 * long mode and calls kmain; the sub-tests are in tests.c.
 *
 * Output (COM1): "smp-test: N cpus", one PASS/FAIL line per sub-test, then
 * "smp-test: all passed" or "smp-test: K failed". Exit (isa-debug-exit, port
 * 0xF4): 0 all passed, 1 some failed, 3 unexpected exception.
 */
#include <stdint.h>

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
