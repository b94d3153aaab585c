/* Polled 16550 UART on COM1 (0x3F8). */
#pragma once

#include <stdbool.h>

#define SERIAL_ISA_IRQ 4 /* COM1 */

void serial_init(void);
void serial_putc(char c);

/*
 * For the ioapic-irq test. arm: OUT2 on (it gates the IRQ line on PCs), then
 * the THR-empty interrupt enabled; the THR is empty when nothing is being
 * printed, so the (level) IRQ line rises at once. ack: IER = 0, which drops
 * the line; safe from an interrupt handler. disarm: ack and OUT2 off again
 * (the polled console's setting). Nothing may be printed while armed.
 */
void serial_irq_arm(void);
void serial_irq_ack(void);
void serial_irq_disarm(void);
