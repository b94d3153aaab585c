#include "fwcfg.h"

#include <stdint.h>

#include "cpu.h"

#define FW_CFG_PORT_SEL 0x510
#define FW_CFG_PORT_DATA 0x511
#define FW_CFG_SIGNATURE 0x0000
#define FW_CFG_NB_CPUS 0x0005

static void fwcfg_read(uint16_t key, void *buf, unsigned n)
{
    uint8_t *p = buf;
    outw(FW_CFG_PORT_SEL, key);
    for (unsigned i = 0; i < n; i++)
        p[i] = inb(FW_CFG_PORT_DATA);
}

int fwcfg_nb_cpus(void)
{
    uint8_t sig[4];
    fwcfg_read(FW_CFG_SIGNATURE, sig, sizeof sig);
    if (sig[0] != 'Q' || sig[1] != 'E' || sig[2] != 'M' || sig[3] != 'U')
        return -1;
    uint8_t n[2];
    fwcfg_read(FW_CFG_NB_CPUS, n, sizeof n);
    return n[0] | n[1] << 8;
}
