/* Polled 16550 UART on COM1 (0x3F8). */
#pragma once

void serial_init(void);
void serial_putc(char c);
