/* SPDX-License-Identifier: MIT */
/* The JSON writer every printer uses (a leaf: it calls back into nothing). */
#ifndef LS_JSONW_H
#define LS_JSONW_H
#include <stdio.h>

/* A JSON string literal, escaped. */
void json_str(FILE *f, const char *s);
/* The same, or null for NULL. */
void json_str_or_null(FILE *f, const char *s);

#endif
