/*
 * Time-outs and delays, measured with the TSC.
 *
 * Nothing tells the guest the TSC frequency (there is no BIOS, no calibrated
 * PIT under dvmm), so durations assume a nominal 2 GHz TSC. On a faster TSC
 * they shrink proportionally; every time-out is generous enough for that.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "cpu.h"

#define TSC_PER_US 2000ull
#define TSC_PER_MS (TSC_PER_US * 1000)

static inline uint64_t tsc_deadline_ms(uint64_t ms) { return rdtsc() + ms * TSC_PER_MS; }
static inline bool tsc_expired(uint64_t deadline) { return (int64_t)(rdtsc() - deadline) >= 0; }

static inline void delay_us(uint64_t us)
{
    uint64_t end = rdtsc() + us * TSC_PER_US;
    while (!tsc_expired(end))
        cpu_relax();
}

static inline void delay_ms(uint64_t ms) { delay_us(ms * 1000); }

/* Polls cond until it holds or ms elapse; evaluates to the final cond. */
#define WAIT_UNTIL(cond, ms)                                                  \
    ({                                                                        \
        uint64_t wu_deadline_ = tsc_deadline_ms(ms);                          \
        bool wu_ok_;                                                          \
        while (!(wu_ok_ = (cond)) && !tsc_expired(wu_deadline_))              \
            cpu_relax();                                                      \
        wu_ok_;                                                               \
    })
