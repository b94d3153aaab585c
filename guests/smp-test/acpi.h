/* Just enough ACPI to enumerate processors and find the IOAPIC:
 * RSDP -> RSDT/XSDT -> MADT (looked up once, then cached). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/*
 * Fills ids[0..max) with the APIC IDs of the enabled processors listed in
 * the MADT, in table order, and returns how many enabled processors the MADT
 * lists in total (which may exceed max). Returns -1 if there is no valid
 * RSDP or MADT. Processors with x2APIC IDs above 254 cannot be addressed in
 * xAPIC mode and are left out of ids (but counted).
 */
int acpi_madt_cpus(uint32_t *ids, unsigned max);

/* Address and first GSI of the first IOAPIC the MADT lists; false (outputs
 * untouched) if there is no MADT or no IOAPIC entry. */
bool acpi_madt_ioapic(uint32_t *addr, uint32_t *gsi_base);

/* GSI of ISA IRQ `irq`: from the MADT's interrupt source overrides, the IRQ
 * number itself when none applies (or there is no MADT). The override's
 * polarity/trigger flags are not reported. */
uint32_t acpi_isa_irq_gsi(uint8_t irq);
