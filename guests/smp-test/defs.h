/*
 * Constants shared by the assembly and the C side of the smp-test guest.
 * Kept free of C syntax so that the .S files can include it.
 */
#pragma once

/* Largest machine the guest handles; AP stacks are statically allocated. */
#define MAX_CPUS 64

/* Per-CPU stacks are STACK_SIZE-aligned slots of one array: a CPU finds its
 * own index from %rsp alone, with no MSR or LAPIC access (both are slow,
 * emulated operations under dvmm). */
#define STACK_SHIFT 14
#define STACK_SIZE (1 << STACK_SHIFT)

/* GDT layout (boot32.S). 0x18 is only used by APs leaving real mode. */
#define KERNEL_CS 0x08
#define KERNEL_DS 0x10
#define BOOT32_CS 0x18
#define GDT_LIMIT (4 * 8 - 1)

/* The AP trampoline is copied to this page; SIPI vector = page number. */
#define TRAMPOLINE_PHYS 0x8000
#define SIPI_VECTOR (TRAMPOLINE_PHYS >> 12)

/* Each IDT stub in isr.S occupies exactly this many bytes. */
#define ISR_STUB_SIZE 16

#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002
