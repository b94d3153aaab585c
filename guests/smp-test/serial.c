#include "serial.h"

#include "cpu.h"

#define COM1 0x3F8
#define UART_DATA 0
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_DLL 0
#define UART_DLM 1
#define LCR_DLAB 0x80
#define LCR_8N1 0x03
#define LSR_THRE 0x20
#define IER_THRE 0x02
#define MCR_DTR_RTS 0x03
#define MCR_OUT2 0x08

void serial_init(void)
{
    outb(COM1 + UART_IER, 0x00); /* polled: no UART interrupts */
    outb(COM1 + UART_LCR, LCR_DLAB);
    outb(COM1 + UART_DLL, 1); /* 115200 baud */
    outb(COM1 + UART_DLM, 0);
    outb(COM1 + UART_LCR, LCR_8N1);
    outb(COM1 + UART_FCR, 0xC7); /* FIFOs on and cleared */
    outb(COM1 + UART_MCR, MCR_DTR_RTS); /* OUT2 off keeps the IRQ line quiet */
}

void serial_putc(char c)
{
    /* Bounded: a missing or wedged UART must not hang the tests. */
    for (unsigned i = 0; i < 10000 && !(inb(COM1 + UART_LSR) & LSR_THRE); i++)
        cpu_relax();
    outb(COM1 + UART_DATA, (uint8_t)c);
}

void serial_irq_arm(void)
{
    outb(COM1 + UART_MCR, MCR_DTR_RTS | MCR_OUT2);
    outb(COM1 + UART_IER, IER_THRE);
}

void serial_irq_ack(void) { outb(COM1 + UART_IER, 0x00); }

void serial_irq_disarm(void)
{
    serial_irq_ack();
    outb(COM1 + UART_MCR, MCR_DTR_RTS);
}
