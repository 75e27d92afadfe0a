// SPDX-License-Identifier: MIT
/* `loopstall rules list|check` and the --rules option. Schema and the
 * commands: docs/rules.md. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "errors.h"
#include "rules_cmd.h"

#define LIST_WIDTH 79

int rules_cmd__opt(char ***files, int *n_files, bool *add_default, char *arg)
{
	char **v = realloc(*files, (*n_files + 1) * sizeof(*v));

	if (!v)
		return ENOMEM;
	*files = v;
	if (arg[0] == '+') {
		*add_default = true;
		arg++;
	}
	v[(*n_files)++] = arg;
	return 0;
}

void rules_cmd__print_diags(FILE *f, const struct rule_diags *d)
{
	for (int i = 0; i < d->n; i++) {
		const struct rule_diag *g = &d->v[i];
		const char *msg = g->msg ? g->msg : "out of memory";

		if (g->line > 0)
			fprintf(f, "%s:%d:%d: %s%s\n", g->file ? g->file : "?", g->line,
				g->column, g->warning ? "warning: " : "", msg);
		else
			fprintf(f, "%s: %s%s\n", g->file ? g->file : "?",
				g->warning ? "warning: " : "", msg);
	}
}

int rules_cmd__load(struct rule_pack *pack, char **files, int n_files, bool add_default)
{
	struct rule_diags d = {};
	int errors;

	if (!n_files || add_default)
		rules__load_default(pack, &d);
	for (int i = 0; i < n_files; i++)
		rules__load(pack, files[i], &d);
	rules_cmd__print_diags(stderr, &d);
	errors = d.errors;
	rule_diags__free(&d);
	if (errors)
		return ls_error(LS_EXIT_USAGE, "%d error%s in the rules (above); "
				"`loopstall rules check FILE` checks a rule file",
				errors, errors == 1 ? "" : "s");
	return 0;
}

/* Display columns of UTF-8 text (one per character). */
static int cols(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* s in at most width columns, cut with "..." and padded when pad. */
static void put_cols(FILE *f, const char *s, int width, bool pad)
{
	int n = cols(s);

	if (n > width) {
		int keep = width - 3, c = 0;
		const char *p = s;

		for (; *p; p++) {
			if (((unsigned char)*p & 0xc0) != 0x80 && c++ == keep)
				break;
		}
		fprintf(f, "%.*s...", (int)(p - s), s);
		return;
	}
	fprintf(f, "%s%*s", s, pad ? width - n : 0, "");
}

int rules_cmd__list(char **files, int n_files, bool add_default)
{
	struct rule_pack pack = {};
	int rc = rules_cmd__load(&pack, files, n_files, add_default);
	int idw = 2, sevw = 8, catw = 8, namew;

	if (rc) {
		rules__free(&pack);
		return rc;
	}
	for (int i = 0; i < pack.n; i++) {
		int n = cols(pack.v[i].id), c = cols(rule_category_name(pack.v[i].category));

		idw = n > idw ? n : idw;
		catw = c > catw ? c : catw;
	}
	namew = LIST_WIDTH - idw - sevw - catw - 6;
	if (namew < 16)
		namew = 16;
	printf("%-*s  %-*s  %-*s  %s\n", idw, "ID", sevw, "SEVERITY", catw, "CATEGORY", "NAME");
	for (int i = 0; i < pack.n; i++) {
		const struct rule *r = &pack.v[i];

		put_cols(stdout, r->id, idw, true);
		printf("  %-*s  %-*s  ", sevw, rule_severity_name(r->severity),
		       catw, rule_category_name(r->category));
		put_cols(stdout, r->name, namew, false);
		putchar('\n');
	}
	rules__free(&pack);
	return 0;
}

int rules_cmd__check(char **files, int n_files)
{
	struct rule_pack pack = {};
	struct rule_diags d = {};
	int rc;

	for (int i = 0; i < n_files; i++)
		rules__load(&pack, files[i], &d);
	rules_cmd__print_diags(stdout, &d);
	printf("%d rules, %d errors, %d warnings\n", pack.n, d.errors, d.n - d.errors);
	rc = d.errors ? LS_EXIT_USAGE : 0;
	rule_diags__free(&d);
	rules__free(&pack);
	return rc;
}
