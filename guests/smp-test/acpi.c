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
