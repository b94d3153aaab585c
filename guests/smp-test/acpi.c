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

int acpi_madt_cpus(uint32_t *ids, unsigned max)
{
    const struct rsdp *r = find_rsdp();
    if (!r)
        return -1;
    const struct madt *m = (const struct madt *)find_table(r, "APIC");
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
