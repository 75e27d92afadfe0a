/* SPDX-License-Identifier: MIT */
/* Independent awaits one after another (LS120): which awaits of a coroutine
 * call could have run together, judged on the function's source. Pure. */
#ifndef LS_AWAITSEQ_H
#define LS_AWAITSEQ_H

#define AWAITSEQ_MAX 16		/* waits of one sequence */

/* src: the function's source from its first line (decorators included),
 * lines ending in '\n'; firstline: the file line of src's first line.
 * lines[0..n): the file lines a coroutine call awaited at, in time order.
 * Returns the index k (1..n-1) of the first await that cannot run with
 * the ones before it (lines[k] <= lines[k-1]: the code went back, a loop;
 * or its statement uses a name bound, directly or through the statements
 * between, by the statement of an earlier await of lines[0..k)), n when
 * all are independent, or -1 when a line is outside src or holds no
 * statement (blank, comment only), or src, lines or n are bad: not
 * judged. */
int awaitseq__first_dependent(const char *src, int firstline, const int *lines, int n);

/* The runs of independent awaits of lines[0..n): each run [start, end)
 * with end - start >= 2 into runs[i][0], runs[i][1], at most max runs;
 * after the first dependent await k (awaitseq__first_dependent on
 * lines[from..n)), the next run is looked for from k. Returns the count
 * of runs; 0 when none or not judged. */
int awaitseq__runs(const char *src, int firstline, const int *lines, int n,
		   int runs[][2], int max);

#endif
