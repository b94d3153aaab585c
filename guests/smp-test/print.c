#include "print.h"

#include <stdbool.h>
#include <stdint.h>

#include "cpu.h"
#include "serial.h"
#include "spinlock.h"
#include "timing.h"

static spinlock_t console_lock;

struct out {
    char *buf;
    size_t size, len;
};

static void put(struct out *o, char c)
{
    if (o->len + 1 < o->size)
        o->buf[o->len] = c;
    o->len++;
}

static void put_uint(struct out *o, uint64_t v, unsigned base, unsigned width, char pad)
{
    char tmp[24];
    unsigned n = 0;
    do {
        unsigned d = (unsigned)(v % base);
        tmp[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v);
    while (width > n) {
        put(o, pad);
        width--;
    }
    while (n)
        put(o, tmp[--n]);
}

int vsnprintk(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct out o = {buf, size, 0};
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            put(&o, *fmt);
            continue;
        }
        fmt++;
        char pad = ' ';
        unsigned width = 0, lng = 0;
        if (*fmt == '0') {
            pad = '0';
            fmt++;
        }
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (unsigned)(*fmt++ - '0');
        while (*fmt == 'l' || *fmt == 'z') {
            lng++;
            fmt++;
        }
        switch (*fmt) {
        case 'd':
        case 'i': {
            int64_t v = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
            if (v < 0) {
                put(&o, '-');
                put_uint(&o, -(uint64_t)v, 10, width ? width - 1 : 0, pad);
            } else {
                put_uint(&o, (uint64_t)v, 10, width, pad);
            }
            break;
        }
        case 'u':
            put_uint(&o, lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 10, width, pad);
            break;
        case 'x':
            put_uint(&o, lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 16, width, pad);
            break;
        case 'p':
            put(&o, '0');
            put(&o, 'x');
            put_uint(&o, (uintptr_t)va_arg(ap, void *), 16, width, pad);
            break;
        case 'c':
            put(&o, (char)va_arg(ap, int));
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            for (s = s ? s : "(null)"; *s; s++)
                put(&o, *s);
            break;
        }
        case '%':
            put(&o, '%');
            break;
        default: /* unknown conversion: show it rather than guess */
            put(&o, '%');
            if (!*fmt)
                goto done;
            put(&o, *fmt);
        }
    }
done:
    if (size)
        buf[o.len < size ? o.len : size - 1] = '\0';
    return (int)o.len;
}

int snprintk(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintk(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

static void write_raw(const char *s, size_t n)
{
    for (size_t i = 0; i < n && s[i]; i++)
        serial_putc(s[i]);
}

void printk(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintk(line, sizeof line, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;

    /* Interrupts off while holding the lock: a handler on this CPU must not
     * find the lock taken by the code it interrupted. */
    uint64_t flags = irq_save();
    spin_lock(&console_lock);
    write_raw(line, len);
    spin_unlock(&console_lock);
    irq_restore(flags);
}

void console_write_panic(const char *s, size_t n)
{
    bool locked = WAIT_UNTIL(spin_trylock(&console_lock), 200);
    write_raw(s, n);
    if (locked)
        spin_unlock(&console_lock);
}
