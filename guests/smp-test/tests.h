/* The sub-tests. Each prints exactly one PASS/FAIL line. */
#pragma once

/* Runs every sub-test in order; returns the number that failed. */
unsigned tests_run(void);

/* dvmm-bench ipi: AP start-up, then `rounds` IPI round trips to each AP,
 * every sample printed. Returns the number of failures. */
unsigned tests_run_ipi_bench(unsigned rounds);
