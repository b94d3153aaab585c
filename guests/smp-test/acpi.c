#include "acpi.h"

#include <stdbool.h>
#include <stddef.h>

#include "lib.h"

struct __attribute__((packed)) rsdp {
    char signature[8];
    uint8_t checksum;
    char oem_id[6];
    uint8_t revision;
    uint32_t rsdt;
    /* ACPI 2.0+ */
    uint32_t length;
    uint64_t xsdt;
    uint8_t ext_checksum;
    uint8_t reserved[3];
};

struct __attribute__((packed)) sdt_header {
    char signature[4];
    uint32_t length;
    uint8_t revision;
    uint8_t checksum;
    char oem_id[6];
    char oem_table_id[8];
    uint32_t oem_revision;
    uint32_t creator_id;
    uint32_t creator_revision;
};

struct __attribute__((packed)) madt {
    struct sdt_header h;
    uint32_t lapic_address;
    uint32_t flags;
    uint8_t entries[];
};

#define MADT_LAPIC 0
#define MADT_IOAPIC 1
#define MADT_OVERRIDE 2 /* interrupt source override */
#define MADT_X2APIC 9
#define MADT_ENABLED 1u

/* No BIOS under dvmm, so no EBDA pointer to follow: only the BIOS area. */
#define RSDP_SCAN_START 0xE0000
#define RSDP_SCAN_END 0x100000
/* Only the first 4 GiB are mapped; sanity bound on table lengths. */
#define MAX_TABLE_LEN 0x10000

static const void *phys(uint64_t addr) { return (const void *)(uintptr_t)addr; }

static bool checksum_ok(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint8_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum = (uint8_t)(sum + b[i]);
    return sum == 0;
}

static const struct rsdp *find_rsdp(void)
{
    for (uintptr_t a = RSDP_SCAN_START; a < RSDP_SCAN_END; a += 16) {
        const struct rsdp *r = phys(a);
        if (memcmp(r->signature, "RSD PTR ", 8) == 0 && checksum_ok(r, 20))
            return r;
    }
    return NULL;
}

static const struct sdt_header *valid_table(uint64_t addr)
{
    if (addr == 0 || addr >= (1ull << 32) - MAX_TABLE_LEN)
        return NULL;
    const struct sdt_header *h = phys(addr);
    if (h->length < sizeof *h || h->length > MAX_TABLE_LEN || !checksum_ok(h, h->length))
        return NULL;
    return h;
}

static const struct sdt_header *find_table(const struct rsdp *r, const char *sig)
{
    /* Prefer the XSDT (64-bit entries) when the RSDP is 2.0+ and has one. */
    bool x = r->revision >= 2 && r->xsdt != 0;
    const struct sdt_header *root = valid_table(x ? r->xsdt : r->rsdt);
    if (!root)
        return NULL;
    size_t entry = x ? 8 : 4;
    size_t n = (root->length - sizeof *root) / entry;
    const uint8_t *p = (const uint8_t *)(root + 1);
    for (size_t i = 0; i < n; i++) {
        uint64_t addr = 0;
        memcpy(&addr, p + i * entry, entry);
        const struct sdt_header *t = valid_table(addr);
        if (t && memcmp(t->signature, sig, 4) == 0)
            return t;
    }
    return NULL;
}

/* The MADT, looked up once: the RSDP scan and the checksums are a lot of
 * (emulated, under dvmm) ring-0 instructions. */
static const struct madt *find_madt(void)
{
    static const struct madt *madt;
    static bool searched;
    if (!searched) {
        const struct rsdp *r = find_rsdp();
        madt = r ? (const struct madt *)find_table(r, "APIC") : NULL;
        searched = true;
    }
    return madt;
}

/* Calls fn on each well-formed entry of the MADT; stops when it returns
 * false. */
static void madt_for_each(const struct madt *m, bool (*fn)(const uint8_t *e, void *ctx), void *ctx)
{
    const uint8_t *p = m->entries, *end = (const uint8_t *)m + m->h.length;
    while (p + 2 <= end && p[1] >= 2 && p + p[1] <= end) {
        if (!fn(p, ctx))
            return;
        p += p[1];
    }
}

int acpi_madt_cpus(uint32_t *ids, unsigned max)
{
    const struct madt *m = find_madt();
    if (!m)
        return -1;

    unsigned found = 0, total = 0;
    const uint8_t *p = m->entries, *end = (const uint8_t *)m + m->h.length;
    while (p + 2 <= end && p[1] >= 2 && p + p[1] <= end) {
        uint32_t id = 0, flags = 0;
        bool cpu = false;
        if (p[0] == MADT_LAPIC && p[1] >= 8) {
            id = p[3];
            memcpy(&flags, p + 4, 4);
            cpu = true;
        } else if (p[0] == MADT_X2APIC && p[1] >= 16) {
            memcpy(&id, p + 4, 4);
            memcpy(&flags, p + 8, 4);
            cpu = true;
        }
        if (cpu && (flags & MADT_ENABLED)) {
            total++;
            if (id < 0xFF && found < max)
                ids[found++] = id;
        }
        p += p[1];
    }
    return (int)total;
}

struct ioapic_query {
    uint32_t addr, gsi_base;
    bool found;
};

static bool first_ioapic(const uint8_t *e, void *ctx)
{
    struct ioapic_query *q = ctx;
    if (e[0] != MADT_IOAPIC || e[1] < 12)
        return true;
    memcpy(&q->addr, e + 4, 4);
    memcpy(&q->gsi_base, e + 8, 4);
    q->found = true;
    return false;
}

bool acpi_madt_ioapic(uint32_t *addr, uint32_t *gsi_base)
{
    const struct madt *m = find_madt();
    struct ioapic_query q = {0, 0, false};
    if (m)
        madt_for_each(m, first_ioapic, &q);
    if (q.found) {
        *addr = q.addr;
        *gsi_base = q.gsi_base;
    }
    return q.found;
}

struct override_query {
    uint8_t irq;
    uint32_t gsi;
};

static bool isa_override(const uint8_t *e, void *ctx)
{
    struct override_query *q = ctx;
    /* type 2, length 10: bus (0 = ISA), source IRQ, GSI (4 bytes), flags */
    if (e[0] != MADT_OVERRIDE || e[1] < 10 || e[2] != 0 || e[3] != q->irq)
        return true;
    memcpy(&q->gsi, e + 4, 4);
    return false;
}

uint32_t acpi_isa_irq_gsi(uint8_t irq)
{
    const struct madt *m = find_madt();
    struct override_query q = {irq, irq};
    if (m)
        madt_for_each(m, isa_override, &q);
    return q.gsi;
}

/* FADT byte offsets (ACPI 6.5 table 5.9). */
#define FADT_DSDT 40
#define FADT_PM1A_CNT_BLK 64
#define FADT_PM_TMR_BLK 76
#define FADT_FLAGS 112
#define FADT_RESET_REG 116 /* GAS: space, width, offset, access, address */
#define FADT_RESET_VALUE 128
#define FADT_X_DSDT 140
#define FADT_RESET_REG_SUP (1u << 10)
#define GAS_SYSTEM_IO 1

/* SLP_TYPa of \_S5: finds NameOp "_S5_" (or "\_S5_") PackageOp in the
 * AML, skips PkgLength and NumElements, decodes the first element. */
static bool find_s5(const struct sdt_header *dsdt, uint8_t *slp_typ)
{
    const uint8_t *aml = (const uint8_t *)(dsdt + 1), *end = (const uint8_t *)dsdt + dsdt->length;
    for (const uint8_t *p = aml; p + 8 <= end; p++) {
        if (memcmp(p, "_S5_", 4) != 0 || p[4] != 0x12)
            continue;
        if (!(p > aml && (p[-1] == 0x08 || (p[-1] == 0x5C && p - 1 > aml && p[-2] == 0x08))))
            continue;
        const uint8_t *q = p + 5;
        q += 1 + (*q >> 6); /* PkgLength: lead byte + (bits 7:6) more */
        q += 1;             /* NumElements */
        if (q >= end)
            return false;
        if (*q == 0x0A && q + 1 < end) /* BytePrefix */
            *slp_typ = q[1];
        else if (*q == 0x00 || *q == 0x01) /* ZeroOp, OneOp */
            *slp_typ = *q;
        else
            return false;
        return true;
    }
    return false;
}

bool acpi_pm_info(struct acpi_pm *pm)
{
    const struct rsdp *r = find_rsdp();
    const struct sdt_header *fadt = r ? find_table(r, "FACP") : NULL;
    if (!fadt || fadt->length < FADT_RESET_VALUE + 1)
        return false;
    const uint8_t *f = (const uint8_t *)fadt;
    uint32_t cnt = 0, tmr = 0, flags = 0, dsdt32 = 0;
    uint64_t reset_addr = 0, dsdt = 0;
    memcpy(&cnt, f + FADT_PM1A_CNT_BLK, 4);
    memcpy(&tmr, f + FADT_PM_TMR_BLK, 4);
    memcpy(&flags, f + FADT_FLAGS, 4);
    memcpy(&reset_addr, f + FADT_RESET_REG + 4, 8);
    memcpy(&dsdt32, f + FADT_DSDT, 4);
    dsdt = dsdt32;
    if (fadt->length >= FADT_X_DSDT + 8) {
        uint64_t x = 0;
        memcpy(&x, f + FADT_X_DSDT, 8);
        if (x != 0)
            dsdt = x;
    }
    pm->pm1a_cnt = (uint16_t)cnt;
    pm->pm_tmr = (uint16_t)tmr;
    pm->reset_supported = (flags & FADT_RESET_REG_SUP) != 0;
    pm->reset_port = f[FADT_RESET_REG] == GAS_SYSTEM_IO ? (uint16_t)reset_addr : 0;
    pm->reset_value = f[FADT_RESET_VALUE];
    const struct sdt_header *d = valid_table(dsdt);
    pm->s5_found = d && memcmp(d->signature, "DSDT", 4) == 0 && find_s5(d, &pm->s5_slp_typ);
    return true;
}
