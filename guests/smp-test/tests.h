/* The sub-tests. Each prints exactly one PASS/FAIL line. */
#pragma once

/* Runs every sub-test in order; returns the number that failed. */
unsigned tests_run(void);
