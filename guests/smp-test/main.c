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
#include "defs.h"
#include "idt.h"
#include "lapic.h"
#include "print.h"
#include "serial.h"
#include "smp.h"
#include "tests.h"

#define EXIT_PASSED 0
#define EXIT_FAILED 1

/* Entry from boot32.S on the BSP. */
void kmain(uint32_t magic, uint32_t mbi) __attribute__((noreturn));

void kmain(uint32_t magic, uint32_t mbi)
{
    (void)mbi; /* nothing in the multiboot info is needed */
    serial_init();
    idt_init();
    idt_load();
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
    failed += tests_run();
    cli();

    if (failed)
        printk("smp-test: %u failed\n", failed);
    else
        printk("smp-test: all passed\n");
    debug_exit(failed ? EXIT_FAILED : EXIT_PASSED);
    halt_forever();
}
