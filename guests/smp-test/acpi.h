/* Just enough ACPI to enumerate processors and find the IOAPIC:
 * RSDP -> RSDT/XSDT -> MADT (looked up once, then cached); and to power off
 * or reset: FADT -> PM1a control, PM timer, reset register, DSDT -> \_S5. */
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

/* The fixed power-management hardware the FADT describes (I/O ports only)
 * and the SLP_TYPa value of the DSDT's \_S5 package. */
struct acpi_pm {
    uint16_t pm1a_cnt;     /* PM1a control block, 0 = none */
    uint16_t pm_tmr;       /* PM timer block, 0 = none */
    uint16_t reset_port;   /* RESET_REG in I/O space, 0 = none */
    uint8_t reset_value;
    bool reset_supported;  /* FADT flag RESET_REG_SUP */
    bool s5_found;
    uint8_t s5_slp_typ;
};

/* Fills *pm from the FADT and DSDT; false if there is no valid FADT. */
bool acpi_pm_info(struct acpi_pm *pm);
