/* SPDX-License-Identifier: MIT */
/* `loopstall rules list|check`, and the --rules option every command that
 * matches stalls takes: `--rules FILE` (repeatable) replaces the built-in
 * pack, `--rules +FILE` adds FILE to it. */
#ifndef LS_RULES_CMD_H
#define LS_RULES_CMD_H
#include <stdbool.h>
#include <stdio.h>
#include "rule.h"

/* One --rules value: appends FILE (without a leading '+') to *files and
 * sets *add_default for +FILE. The strings are arg's; free(*files) after.
 * 0 or ENOMEM (an argp error value). */
int rules_cmd__opt(char ***files, int *n_files, bool *add_default, char *arg);

/* The rules in effect: the built-in pack when n_files is 0 or add_default,
 * then each file in turn. Prints the diagnostics ("file:line:column:
 * [warning: ]message") on stderr, and an error line when any is an error.
 * Returns 0, or LS_EXIT_USAGE (2) after an error (pack then holds the
 * rules that loaded; rules__free it either way). */
int rules_cmd__load(struct rule_pack *pack, char **files, int n_files, bool add_default);

/* Diagnostics, one per line. */
void rules_cmd__print_diags(FILE *f, const struct rule_diags *d);

/* `loopstall rules list`: one line per rule in effect. Exit code. */
int rules_cmd__list(char **files, int n_files, bool add_default);
/* `loopstall rules check FILE…`: diagnostics and a count on stdout.
 * Exit code: 2 when any error, else 0. */
int rules_cmd__check(char **files, int n_files);

#endif
