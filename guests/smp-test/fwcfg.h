/* QEMU fw_cfg, legacy I/O port interface (selector 0x510, data 0x511). */
#pragma once

/* Number of CPUs (FW_CFG_NB_CPUS), or -1 when there is no fw_cfg device. */
int fwcfg_nb_cpus(void);
