/* Just enough ACPI to enumerate processors: RSDP -> RSDT/XSDT -> MADT. */
#pragma once

#include <stdint.h>

/*
 * Fills ids[0..max) with the APIC IDs of the enabled processors listed in
 * the MADT, in table order, and returns how many enabled processors the MADT
 * lists in total (which may exceed max). Returns -1 if there is no valid
 * RSDP or MADT. Processors with x2APIC IDs above 254 cannot be addressed in
 * xAPIC mode and are left out of ids (but counted).
 */
int acpi_madt_cpus(uint32_t *ids, unsigned max);
