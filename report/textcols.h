/* SPDX-License-Identifier: MIT */
/* Text in columns: UTF-8 aware widths, cutting and wrapping, for output
 * that stays under 80 columns. */
#ifndef LS_TEXTCOLS_H
#define LS_TEXTCOLS_H
#include <stdbool.h>
#include <stdio.h>

/* Columns of UTF-8 text: a code point each. */
int cols_width(const char *s);
/* s in at most width columns: cut with "..." (its head kept, or its tail
 * when keep_tail); padded with spaces to width when pad. */
void cols_put(FILE *f, const char *s, int width, bool keep_tail, bool pad);
/* text word-wrapped to width columns, each line after the first indented
 * by indent spaces (the first: where the cursor is), its own line breaks
 * kept; a word wider than width is cut. Ends with a newline. */
void cols_wrap(FILE *f, const char *text, int indent, int width);

#endif
