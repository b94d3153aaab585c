/* I/O APIC register access (82093AA / ICH-style, version 0x11 or 0x20). */
#pragma once

#include <stdint.h>

#define IOAPIC_DEFAULT_BASE 0xFEC00000u
#define IOAPIC_IOREGSEL 0x00
#define IOAPIC_IOWIN 0x10

#define IOAPIC_REG_VERSION 0x01
#define IOAPIC_REG_REDIR(pin) (0x10 + 2 * (pin)) /* low word; +1: high word */

/* Version register: bits 23:16 hold the highest redirection entry. */
#define IOAPIC_VERSION_MAX_ENTRY(v) (((v) >> 16) & 0xFF)

/* Redirection entry, low word (delivery mode fixed = 0, physical = 0,
 * active high = 0); high word bits 31:24 = destination APIC ID. */
#define IOAPIC_REMOTE_IRR (1u << 14)
#define IOAPIC_LEVEL (1u << 15)
#define IOAPIC_MASKED (1u << 16)

/* Indirect access: select, then read or write the window. Not safe against
 * a concurrent user on another CPU (the tests use it from the BSP only). */
static inline uint32_t ioapic_read(uint32_t base, uint8_t reg)
{
    *(volatile uint32_t *)(uintptr_t)(base + IOAPIC_IOREGSEL) = reg;
    return *(volatile uint32_t *)(uintptr_t)(base + IOAPIC_IOWIN);
}

static inline void ioapic_write(uint32_t base, uint8_t reg, uint32_t v)
{
    *(volatile uint32_t *)(uintptr_t)(base + IOAPIC_IOREGSEL) = reg;
    *(volatile uint32_t *)(uintptr_t)(base + IOAPIC_IOWIN) = v;
}
