/* CPU discovery, AP start-up and running work on APs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "defs.h"

extern char cpu_stacks[]; /* boot32.S */

/* CPU index of the caller, from the stack slot it runs on (interrupts run
 * on the interrupted stack: no TSS stack switching is used). */
static inline unsigned this_cpu(void)
{
    uintptr_t sp;
    __asm__ volatile("mov %%rsp, %0" : "=r"(sp));
    return (unsigned)((sp - (uintptr_t)cpu_stacks) >> STACK_SHIFT);
}

/* CPUs the guest expects (index 0 is the BSP) and their APIC IDs. */
extern unsigned ncpus;
extern uint32_t cpu_apic_id[MAX_CPUS];
extern volatile uint32_t cpu_online[MAX_CPUS];

/*
 * Works out ncpus and the APIC IDs: count from fw_cfg, IDs from the ACPI
 * MADT (BSP first). If the two sources disagree or one is missing, a
 * description is left in smp_topology_problem (empty string otherwise).
 */
void smp_discover(void);
extern char smp_topology_problem[128];

/* Starts every AP with INIT-SIPI-SIPI, one at a time. Returns the number
 * of APs that did not check in; describes the first in why. */
unsigned smp_start_aps(char *why, size_t why_size);

unsigned smp_online_aps(void);

/* Runs fn(arg) on an online AP: post() returns at once, wait() polls for
 * completion with a bound. */
typedef void (*work_fn)(void *arg);
void smp_post(unsigned cpu, work_fn fn, void *arg);
bool smp_wait(unsigned cpu, uint64_t timeout_ms);

/* AP entry from boot32.S, on the AP's own stack. */
void ap_main(unsigned cpu) __attribute__((noreturn));
