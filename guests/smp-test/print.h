/*
 * Formatted output to the serial console, one whole line at a time under a
 * lock so that lines from different CPUs never interleave.
 *
 * Supported conversions: %d %i %u %x %c %s %p %%, with optional '0' flag,
 * field width and 'l'/'ll'/'z' length modifiers.
 */
#pragma once

#include <stdarg.h>
#include <stddef.h>

#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))

int vsnprintk(char *buf, size_t size, const char *fmt, va_list ap);
int snprintk(char *buf, size_t size, const char *fmt, ...) PRINTF_LIKE(3, 4);
void printk(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* For the exception path: takes the console lock only if it can within a
 * bounded time (the faulting CPU may hold it already), then writes anyway. */
void console_write_panic(const char *s, size_t n);
