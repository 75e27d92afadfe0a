// SPDX-License-Identifier: MIT
/*
 * Rule packs from YAML, with libyaml's document API (every node keeps its
 * line and column, and the style it was written in). Two lists of rules:
 * `rules:` (loopstall's schema) and `async_rules:` (the user's format);
 * both take the same fields. Every problem becomes a diagnostic at the
 * node it is about; a rule with an error is left out. Schema: docs/rules.md.
 */
#define _GNU_SOURCE	/* vasprintf */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>
#include "parse.h"
#include "rule.h"
#include "syscalls.h"
#include "default_rules.h"	/* generated: default_rules_yaml[] */

#define DEFAULT_PACK_NAME "default.yaml (built in)"
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct ld {
	const char *file;
	yaml_document_t *doc;
	struct rule_pack *pack;
	struct rule_diags *diags;
	bool seed;		/* the rule is in async_rules: */
	bool oom;
};

/* ---- diagnostics ------------------------------------------------------ */

static void vdiag(struct rule_diags *d, const char *file, int line, int col,
		  bool warning, const char *fmt, va_list ap)
{
	struct rule_diag *v = realloc(d->v, (d->n + 1) * sizeof(*v));
	char *msg = NULL;

	if (!v)
		return;
	d->v = v;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	v[d->n] = (struct rule_diag){
		.file = strdup(file), .line = line, .column = col,
		.warning = warning, .msg = msg,
	};
	d->n++;
	if (!warning)
		d->errors++;
}

static void diag_at(struct ld *ld, int line, int col, bool warning, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static void diag_at(struct ld *ld, int line, int col, bool warning, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag(ld->diags, ld->file, line, col, warning, fmt, ap);
	va_end(ap);
}

#define LINE(n) ((int)(n)->start_mark.line + 1)
#define COL(n) ((int)(n)->start_mark.column + 1)
#define err(ld, n, ...) diag_at(ld, LINE(n), COL(n), false, __VA_ARGS__)
#define warn(ld, n, ...) diag_at(ld, LINE(n), COL(n), true, __VA_ARGS__)

/* ---- nodes ------------------------------------------------------------ */

#define FOR_PAIRS(m, p) \
	for (yaml_node_pair_t *p = (m)->data.mapping.pairs.start; \
	     p < (m)->data.mapping.pairs.top; p++)
#define FOR_ITEMS(s, it) \
	for (yaml_node_item_t *it = (s)->data.sequence.items.start; \
	     it < (s)->data.sequence.items.top; it++)

static yaml_node_t *node(struct ld *ld, int id)
{
	return yaml_document_get_node(ld->doc, id);
}

static const char *sval(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* A plain scalar YAML reads as null: "", "~", "null". */
static bool is_null(const yaml_node_t *n)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(nulls); i++)
		if (!strcmp(sval(n), nulls[i]))
			return true;
	return false;
}

static const char *kind(const yaml_node_t *n)
{
	if (n->type == YAML_SEQUENCE_NODE)
		return "a list";
	if (n->type == YAML_MAPPING_NODE)
		return "a mapping";
	return is_null(n) ? "empty" : "a string";
}

static char *dup(struct ld *ld, const char *s)
{
	char *d = strdup(s);

	if (!d)
		ld->oom = true;
	return d;
}

/* Grow *v (of *n elements of size sz) by one; the new element, zeroed. */
static void *grow(struct ld *ld, void *pv, int *n, size_t sz)
{
	void **v = pv;
	char *nv = realloc(*v, (*n + 1) * sz);

	if (!nv) {
		ld->oom = true;
		return NULL;
	}
	*v = nv;
	memset(nv + *n * sz, 0, sz);
	return nv + (*n)++ * sz;
}

/* A non-empty string; what names it in messages ("'name'"). */
static int get_str(struct ld *ld, yaml_node_t *n, const char *what, char **out)
{
	if (n->type != YAML_SCALAR_NODE) {
		err(ld, n, "%s must be a string, not %s", what, kind(n));
		return -1;
	}
	if (is_null(n) || !n->data.scalar.length) {
		err(ld, n, "%s is empty", what);
		return -1;
	}
	if (strlen(sval(n)) != n->data.scalar.length) {
		err(ld, n, "%s contains a NUL character", what);
		return -1;
	}
	free(*out);
	*out = dup(ld, sval(n));
	return *out ? 0 : -1;
}

/* A string or a list of them: calls one() on each. */
static void each_str(struct ld *ld, yaml_node_t *n, const char *field, void *ctx,
		     void (*one)(struct ld *ld, yaml_node_t *n, const char *what, void *ctx))
{
	char what[64];

	if (is_null(n))
		return;
	if (n->type == YAML_SCALAR_NODE) {
		snprintf(what, sizeof(what), "'%s'", field);
		one(ld, n, what, ctx);
		return;
	}
	if (n->type != YAML_SEQUENCE_NODE) {
		err(ld, n, "'%s' must be a string or a list of strings, not %s", field, kind(n));
		return;
	}
	snprintf(what, sizeof(what), "an entry of '%s'", field);
	FOR_ITEMS(n, it)
		one(ld, node(ld, *it), what, ctx);
}

/* Edit distance of a and b, up to 3 (short strings only). */
static int distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	int d[32][32];

	if (la > 30 || lb > 30)
		return 3;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			int v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);

			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			d[i][j] = v;
		}
	return d[la][lb] < 3 ? d[la][lb] : 3;
}

/* Index of key k among names[]: it must be a string, known, and not seen
 * before in this mapping (seen: bit per index, first: key lines). -1 after
 * a diagnostic. in: "a rule", "'syscall'" … for messages. A name offered
 * for a typo gets its bit in *suggested, when not NULL. */
static int field_of(struct ld *ld, yaml_node_t *k, const char *const *names, int n,
		    uint32_t *seen, int *first, const char *in, uint32_t *suggested)
{
	char allowed[512];
	size_t len = 0;

	if (k->type != YAML_SCALAR_NODE) {
		err(ld, k, "a key in %s must be a string, not %s", in, kind(k));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (strcmp(sval(k), names[i]))
			continue;
		if (*seen & (1u << i)) {
			err(ld, k, "'%s' given twice in %s (first at line %d)", names[i], in, first[i]);
			return -1;
		}
		*seen |= 1u << i;
		first[i] = LINE(k);
		return i;
	}
	int best = -1, bestd = 3;

	for (int i = 0; i < n; i++) {
		int dd = distance(sval(k), names[i]);

		if (dd < bestd && !(*seen & (1u << i))) {
			best = i;
			bestd = dd;
		}
	}
	if (best >= 0) {
		if (suggested)
			*suggested |= 1u << best;
		err(ld, k, "unknown field '%s' in %s; did you mean '%s'?", sval(k), in, names[best]);
		return -1;
	}
	allowed[0] = 0;
	for (int i = 0; i < n && len < sizeof(allowed); i++)
		len += snprintf(allowed + len, sizeof(allowed) - len, "%s%s", i ? ", " : "", names[i]);
	err(ld, k, "unknown field '%s' in %s; allowed: %s", sval(k), in, allowed);
	return -1;
}

/* ---- regexes ---------------------------------------------------------- */

/* In a single-quoted YAML scalar `\\` stays two backslashes. Before a
 * regex escape character, exactly two are read as one: the user meant
 * the escape. In place; returns the first such character, or 0. */
static char undouble_backslashes(char *s)
{
	static const char escapes[] = "sSwWdDbB()[]{}.*+?|^$nt/";
	char *r = s, *w = s, first = 0;

	while (*r) {
		if (*r != '\\') {
			*w++ = *r++;
			continue;
		}
		size_t run = strspn(r, "\\");

		if (run == 2 && r[2] && strchr(escapes, r[2])) {
			if (!first)
				first = r[2];
			*w++ = '\\';
			r += 2;
			continue;
		}
		memmove(w, r, run);
		w += run;
		r += run;
	}
	*w = 0;
	return first;
}

/* Outside brackets: \d \D \n \t \r as ERE knows them; any other escape
 * is kept. Returns the end of what it wrote. */
static char *ere_escape(char *o, char c)
{
	switch (c) {
	case 'd': return stpcpy(o, "[0-9]");
	case 'D': return stpcpy(o, "[^0-9]");
	case 'n': *o++ = '\n'; break;
	case 't': *o++ = '\t'; break;
	case 'r': *o++ = '\r'; break;
	default: *o++ = '\\'; *o++ = c; break;
	}
	return o;
}

/* A bracket expression being converted: its inside (from body to end),
 * and the members POSIX has to see in special places. */
struct bracket {
	bool neg, rbr, dash, caret;
	char *body, *end;
};

/* Inside brackets: \s \w \d \n \t \r to members; escaped ] - ^ become
 * flags, placed later where POSIX reads them literally. */
static void bracket_escape(struct bracket *br, char c)
{
	switch (c) {
	case 's': br->end = stpcpy(br->end, "[:space:]"); break;
	case 'w': br->end = stpcpy(br->end, "[:alnum:]_"); break;
	case 'd': br->end = stpcpy(br->end, "[:digit:]"); break;
	case 'n': *br->end++ = '\n'; break;
	case 't': *br->end++ = '\t'; break;
	case 'r': *br->end++ = '\r'; break;
	case ']': br->rbr = true; break;
	case '-': br->dash = true; break;
	case '^': br->caret = true; break;
	default: *br->end++ = c; break;
	}
}

/* Reads the bracket expression whose '[' is at s[i - 1] into *br. Returns
 * the index of its closing ']', or of where it stops unterminated. */
static size_t bracket_scan(const char *s, size_t i, struct bracket *br)
{
	if (s[i] == '^') {
		br->neg = true;
		i++;
	}
	if (s[i] == ']') {
		br->rbr = true;
		i++;
	}
	while (s[i] && s[i] != ']') {
		if (s[i] == '[' && (s[i + 1] == ':' || s[i + 1] == '.' || s[i + 1] == '=')) {
			char close[3] = { s[i + 1], ']', 0 };
			const char *e = strstr(s + i + 2, close);

			if (!e)
				break;
			memcpy(br->end, s + i, e + 2 - (s + i));
			br->end += e + 2 - (s + i);
			i = e + 2 - s;
		} else if (s[i] == '\\' && s[i + 1]) {
			bracket_escape(br, s[i + 1]);
			i += 2;
		} else {
			*br->end++ = s[i++];
		}
	}
	return i;
}

/* Writes *br as POSIX wants it: ']' first, '^' not first, '-' last; a
 * lone escaped '^' (with or without '-') needs no brackets of its own. */
static char *bracket_out(char *o, const struct bracket *br)
{
	if (!br->neg && !br->rbr && br->end == br->body && br->caret)
		return stpcpy(o, br->dash ? "[-^]" : "\\^");
	*o++ = '[';
	if (br->neg)
		*o++ = '^';
	if (br->rbr)
		*o++ = ']';
	memmove(o, br->body, br->end - br->body);
	o += br->end - br->body;
	if (br->caret)
		*o++ = '^';
	if (br->dash)
		*o++ = '-';
	*o++ = ']';
	return o;
}

/* Python-style escapes to what glibc's POSIX ERE knows: \d \D, \n \t \r
 * outside brackets; \s \w \d \n \t and escaped ] - ^ \ inside them (where
 * POSIX takes a backslash literally). glibc itself knows \s \S \w \W \b \B
 * \< \> outside brackets. Malloc'd, or NULL. */
static char *to_ere(const char *s)
{
	size_t len = strlen(s);
	char *out = malloc(len * 5 + 16), *o = out;
	char *body = malloc(len * 5 + 16);	/* a bracket expression's inside */

	if (!out || !body) {
		free(out);
		free(body);
		return NULL;
	}
	for (size_t i = 0; s[i];) {
		if (s[i] == '\\' && s[i + 1]) {
			o = ere_escape(o, s[i + 1]);
			i += 2;
			continue;
		}
		if (s[i] != '[') {
			*o++ = s[i++];
			continue;
		}
		struct bracket br = { .body = body, .end = body };
		size_t start = i;

		i = bracket_scan(s, i + 1, &br);
		if (s[i] != ']') {	/* unterminated: let regcomp say so */
			o = stpcpy(o, s + start);
			break;
		}
		i++;
		o = bracket_out(o, &br);
	}
	*o = 0;
	free(body);
	return out;
}

/* What regcomp may make of one pattern, roughly in nodes, and how deep
 * its groups may nest (ere_too_big()). */
#define ERE_MAX_NODES	100000
#define ERE_MAX_DEPTH	64

static uint64_t ere_sat(uint64_t v)
{
	return v > ERE_MAX_NODES ? ERE_MAX_NODES + 1 : v;
}

/* The end of the bracket expression whose '[' is at s[i - 1]: the index
 * after its ']', or 0 when it has none (regcomp then says so). */
static size_t ere_bracket_end(const char *s, size_t i)
{
	if (s[i] == '^')
		i++;
	if (s[i] == ']')
		i++;
	while (s[i] && s[i] != ']') {
		if (s[i] == '[' && (s[i + 1] == ':' || s[i + 1] == '.' || s[i + 1] == '=')) {
			char close[3] = { s[i + 1], ']', 0 };
			const char *e = strstr(s + i + 2, close);

			if (!e)
				return 0;
			i = e + 2 - s;
		} else {
			i++;
		}
	}
	return s[i] ? i + 1 : 0;
}

/* Is ERE s too big to compile? glibc's regcomp copies a repeated
 * expression once per repetition (x{n,m}: m copies, x+: 2), so nested or
 * stacked repetitions multiply: ((a{99}){99}){99} makes a million nodes,
 * each '+' of a++++… doubles them, and a pattern of a few hundred bytes
 * takes gigabytes. Counts each atom as one node, times the repetitions
 * of it and of the groups around it: true past ERE_MAX_NODES, or with
 * groups nested deeper than ERE_MAX_DEPTH. */
static bool ere_too_big(const char *s)
{
	/* per open group: nodes so far, and those of its last atom */
	uint64_t seq[ERE_MAX_DEPTH + 1] = { 0 }, atom[ERE_MAX_DEPTH + 1] = { 0 };
	int d = 0;

	for (size_t i = 0; s[i];) {
		uint64_t f = 0, a = 1;
		char *e;

		if (s[i] == '*' || s[i] == '?') {
			f = 1;
			i++;
		} else if (s[i] == '+') {
			f = 2;
			i++;
		} else if (s[i] == '{' && s[i + 1] >= '0' && s[i + 1] <= '9') {
			unsigned long lo = strtoul(s + i + 1, &e, 10), hi = lo;

			if (*e == ',' && e[1] >= '0' && e[1] <= '9')
				hi = strtoul(e + 1, &e, 10);
			else if (*e == ',')
				hi = lo + 1, e++;	/* {n,}: n copies and a star */
			if (*e == '}') {
				f = ere_sat(hi > lo ? hi : lo);
				f = f ? f : 1;
				i = e + 1 - s;
			} else {
				i++;	/* no interval: a '{' */
			}
		} else if (s[i] == '(') {
			if (d == ERE_MAX_DEPTH)
				return true;
			d++;
			seq[d] = atom[d] = 0;
			i++;
			continue;
		} else if (s[i] == ')' && d > 0) {
			a = seq[d] + 1;
			d--;
			i++;
		} else if (s[i] == '|') {
			atom[d] = 0;	/* nothing before it to repeat */
			i++;
			continue;
		} else if (s[i] == '[') {
			i = ere_bracket_end(s, i + 1);
			if (!i)
				return false;
		} else {
			i += s[i] == '\\' && s[i + 1] ? 2 : 1;
		}
		if (f) {	/* a repetition of the last atom */
			seq[d] = ere_sat(seq[d] + atom[d] * (f - 1));
			atom[d] = ere_sat(atom[d] * f);
		} else {
			seq[d] = ere_sat(seq[d] + a);
			atom[d] = ere_sat(a);
		}
		if (seq[d] > ERE_MAX_NODES)
			return true;
	}
	return false;
}

struct regexes {
	regex_t **re;
	char ***src;
	int *n;
	const char *field;
};

static void add_regex(struct ld *ld, yaml_node_t *n, const char *what, void *ctx)
{
	struct regexes *rs = ctx;
	char *src = NULL, *ere, msg[256];
	regex_t rx;
	int rc;

	if (get_str(ld, n, what, &src))
		return;
	if (n->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE) {
		char c = undouble_backslashes(src);

		if (c)
			warn(ld, n, "'\\\\%c' in a single-quoted YAML string is a literal '\\\\' + "
			     "'%c'; read as the regex escape '\\%c' (write '\\%c' in single quotes, "
			     "or \"\\\\%c\" in double quotes, to silence this)", c, c, c, c, c);
	}
	ere = to_ere(src);
	if (!ere) {
		ld->oom = true;
		free(src);
		return;
	}
	if (ere_too_big(ere)) {
		free(ere);
		err(ld, n, "regex '%s' in '%s' is too big: its repetitions multiply past "
		    "%d states, or its groups nest deeper than %d; nest or stack fewer",
		    src, rs->field, ERE_MAX_NODES, ERE_MAX_DEPTH);
		free(src);
		return;
	}
	rc = regcomp(&rx, ere, REG_EXTENDED | REG_NEWLINE);
	free(ere);
	if (rc) {
		regerror(rc, &rx, msg, sizeof(msg));
		err(ld, n, "bad regex '%s' in '%s': %s", src, rs->field, msg);
		free(src);
		return;
	}
	/* both arrays grow by one; the count only once both did
	 * (regex_t holds no pointer into itself: it may move) */
	int n0 = *rs->n, n1 = n0;
	regex_t *slot = grow(ld, rs->re, &n0, sizeof(regex_t));
	char **sslot = slot ? grow(ld, rs->src, &n1, sizeof(char *)) : NULL;

	if (!sslot) {
		regfree(&rx);
		free(src);
		return;
	}
	*slot = rx;
	*sslot = src;
	*rs->n = n0;
}

static void load_regexes(struct ld *ld, yaml_node_t *n, const char *field,
			 regex_t **re, char ***src, int *cnt)
{
	struct regexes rs = { re, src, cnt, field };

	each_str(ld, n, field, &rs, add_regex);
}

/* ---- file_pattern ----------------------------------------------------- */

static void add_glob(struct ld *ld, struct rule *r, const char *g)
{
	for (int i = 0; i < r->n_file_globs; i++)
		if (!strcmp(r->file_globs[i], g))
			return;
	char **slot = grow(ld, &r->file_globs, &r->n_file_globs, sizeof(char *));

	if (slot && !(*slot = dup(ld, g)))
		r->n_file_globs--;
}

/* One glob of file_pattern, for fnmatch(3) without FNM_PATHNAME (where
 * '*' crosses '/', so "**" is "*"): "**" + "/" at the start of a path
 * component stands for any directories, none included, so each such
 * "**" + "/" gives two globs: without it, and with "*" + "/". */
#define MAX_DSTAR 4
static void expand_glob(struct ld *ld, struct rule *r, const char *g, size_t len)
{
	size_t at[MAX_DSTAR];
	int k = 0;
	char *buf = malloc(len * 2 + 1);

	if (!buf) {
		ld->oom = true;
		return;
	}
	for (size_t i = 0; i + 3 <= len && k < MAX_DSTAR; i++)
		if (!strncmp(g + i, "**/", 3) && (!i || g[i - 1] == '/'))
			at[k++] = i;
	for (unsigned mask = 0; mask < 1u << k; mask++) {
		char *o = buf;
		int j = 0;

		for (size_t i = 0; i < len;) {
			if (j < k && i == at[j]) {
				if (mask & (1u << j))
					o = stpcpy(o, "*/");
				j++;
				i += 3;
				continue;
			}
			*o++ = g[i++];
		}
		*o = 0;
		if (*buf)
			add_glob(ld, r, buf);
	}
	free(buf);
}

static void add_file_pattern(struct ld *ld, yaml_node_t *n, const char *what, void *ctx)
{
	struct rule *r = ctx;
	char *pat = NULL;

	if (get_str(ld, n, what, &pat))
		return;
	for (const char *s = pat;; ) {
		size_t len = strcspn(s, "|");

		if (!len) {
			err(ld, n, "empty glob in 'file_pattern' \"%s\" (a '|' at an end, "
			    "or two in a row)", pat);
			break;
		}
		expand_glob(ld, r, s, len);
		if (!s[len])
			break;
		s += len + 1;
	}
	free(pat);
}

/* ---- frame conditions --------------------------------------------------- */

enum { FC_MODULE, FC_QUALNAME, FC_FILE, FC_NATIVE, FC_LIBRARY, FC_CODE, FC_ANY, FC__N };

static void frame_cond__free(struct frame_cond *fc)
{
	free(fc->module);
	free(fc->qualname);
	free(fc->file);
	free(fc->native);
	free(fc->library);
	for (int i = 0; i < fc->n_code; i++) {
		regfree(&fc->code[i]);
		free(fc->code_src[i]);
	}
	free(fc->code);
	free(fc->code_src);
	for (int i = 0; i < fc->n_any; i++)
		frame_cond__free(&fc->any[i]);
	free(fc->any);
	memset(fc, 0, sizeof(*fc));
}

static int load_frame(struct ld *ld, yaml_node_t *n, const char *field, bool python_only,
		      bool in_any, struct frame_cond *fc);

/* any: a list of alternatives, each a frame condition without 'any'. */
static void load_any(struct ld *ld, yaml_node_t *n, const char *field, bool python_only,
		     struct frame_cond *fc)
{
	if (n->type != YAML_SEQUENCE_NODE ||
	    n->data.sequence.items.top == n->data.sequence.items.start) {
		err(ld, n, "'any' in '%s' must be a list of frame conditions (- module: …), "
		    "not %s", field, n->type == YAML_SEQUENCE_NODE ? "an empty list" : kind(n));
		return;
	}
	FOR_ITEMS(n, it) {
		struct frame_cond alt = {};

		if (load_frame(ld, node(ld, *it), field, python_only, true, &alt)) {
			frame_cond__free(&alt);
			continue;
		}
		struct frame_cond *slot = grow(ld, &fc->any, &fc->n_any, sizeof(alt));

		if (slot)
			*slot = alt;
		else
			frame_cond__free(&alt);
	}
}

/* field: "frames", "innermost", "unless"; python_only for innermost;
 * in_any for an alternative of 'any' (which cannot hold another). */
static int load_frame(struct ld *ld, yaml_node_t *n, const char *field, bool python_only,
		      bool in_any, struct frame_cond *fc)
{
	static const char *const names[FC__N] = {
		"module", "qualname", "file", "native", "library", "code", "any",
	};
	char **slots[FC__N] = {
		&fc->module, &fc->qualname, &fc->file, &fc->native, &fc->library, NULL, NULL,
	};
	uint32_t seen = 0;
	int first[FC__N], errors = ld->diags->errors;
	yaml_node_t *any = NULL;
	char in[64];

	if (n->type != YAML_MAPPING_NODE) {
		err(ld, n, "a frame condition in '%s' is a mapping of module, qualname, file, "
		    "code, native, library or any, not %s", field, kind(n));
		return -1;
	}
	snprintf(in, sizeof(in), "a frame condition of '%s'", field);
	FOR_PAIRS(n, p) {
		yaml_node_t *k = node(ld, p->key), *v = node(ld, p->value);
		int f = field_of(ld, k, names, FC__N, &seen, first, in, NULL);
		char what[32];

		if (f < 0)
			continue;
		if (f == FC_ANY && in_any) {
			err(ld, k, "'any' cannot be inside 'any': list every alternative in "
			    "the outer one");
			continue;
		}
		if (f == FC_ANY) {
			any = k;
			load_any(ld, v, field, python_only, fc);
			continue;
		}
		if (f == FC_CODE && (is_null(v) || (v->type == YAML_SEQUENCE_NODE &&
			v->data.sequence.items.top == v->data.sequence.items.start))) {
			err(ld, v, "'code' is empty");
			continue;
		}
		if (f == FC_CODE) {
			load_regexes(ld, v, "code", &fc->code, &fc->code_src, &fc->n_code);
			continue;
		}
		snprintf(what, sizeof(what), "'%s'", names[f]);
		get_str(ld, v, what, slots[f]);
	}
	if (ld->diags->errors != errors)
		return -1;
	if (!seen) {
		err(ld, n, "empty frame condition in '%s': give module, qualname, file, code, "
		    "native, library or any", field);
		return -1;
	}
	if (any && seen != 1u << FC_ANY) {
		err(ld, any, "'any' stands alone in its frame condition: give the other keys "
		    "in each of its alternatives");
		return -1;
	}
	if (any)
		return fc->n_any ? 0 : -1;
	bool py = fc->module || fc->qualname || fc->file || fc->n_code;
	bool nat = fc->native || fc->library;

	if (python_only && nat) {
		err(ld, n, "'%s' is the innermost Python frame: give module, qualname, file or "
		    "code, not native or library", field);
		return -1;
	}
	if (py && nat) {
		err(ld, n, "a frame condition is about a Python frame (module, qualname, file, "
		    "code) or a native one (native, library), not both: split it in two%s",
		    in_any ? " alternatives" : "");
		return -1;
	}
	return 0;
}

static void load_frames(struct ld *ld, yaml_node_t *n, const char *field,
			struct frame_cond **v, int *cnt)
{
	if (is_null(n))
		return;
	if (n->type != YAML_SEQUENCE_NODE) {
		err(ld, n, "'%s' must be a list of frame conditions (- module: …), not %s",
		    field, kind(n));
		return;
	}
	FOR_ITEMS(n, it) {
		struct frame_cond fc = {};

		if (load_frame(ld, node(ld, *it), field, false, false, &fc)) {
			frame_cond__free(&fc);
			continue;
		}
		struct frame_cond *slot = grow(ld, v, cnt, sizeof(fc));

		if (slot)
			*slot = fc;
		else
			frame_cond__free(&fc);
	}
}

/* ---- scalars: numbers, booleans ------------------------------------------ */

static int get_i64(yaml_node_t *n, int64_t *out)
{
	char *end;
	long long v;

	if (n->type != YAML_SCALAR_NODE || is_null(n))
		return -1;
	errno = 0;
	v = strtoll(sval(n), &end, 0);
	if (errno || end == sval(n) || *end)
		return -1;
	*out = v;
	return 0;
}

/* A share: 0.0 to 1.0, or a percentage "20%". */
static int get_share(yaml_node_t *n, double *out)
{
	char *end;
	double v;

	if (n->type != YAML_SCALAR_NODE || is_null(n))
		return -1;
	errno = 0;
	v = strtod(sval(n), &end);
	if (errno || end == sval(n))
		return -1;
	if (!strcmp(end, "%"))
		v /= 100;
	else if (*end)
		return -1;
	if (!(v >= 0 && v <= 1))
		return -1;
	*out = v;
	return 0;
}

static int get_bool(yaml_node_t *n, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };

	if (n->type != YAML_SCALAR_NODE)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(sval(n), yes[i]))
			return *out = true, 0;
		if (!strcasecmp(sval(n), no[i]))
			return *out = false, 0;
	}
	return -1;
}

/* severity:, category:: a word from a list; "one of: …" when unknown. */
static int get_word(struct ld *ld, yaml_node_t *n, const char *field,
		    int (*parse)(const char *), const char *(*name)(int), int count)
{
	char *s = NULL, allowed[256];
	size_t len = 0;
	char what[32];
	int v;

	snprintf(what, sizeof(what), "'%s'", field);
	if (get_str(ld, n, what, &s))
		return -1;
	v = parse(s);
	if (v < 0) {
		allowed[0] = 0;
		for (int i = 0; i < count && len < sizeof(allowed); i++)
			len += snprintf(allowed + len, sizeof(allowed) - len, "%s%s",
					i ? ", " : "", name(i));
		err(ld, n, "unknown %s '%s'; use one of: %s", field, s, allowed);
	}
	free(s);
	return v;
}

static const char *sev_name(int i) { return rule_severity_name(i); }
static const char *cat_name(int i) { return rule_category_name(i); }

/* ---- syscall, fd, on_cpu ------------------------------------------------- */

static void add_syscall_name(struct ld *ld, yaml_node_t *n, const char *what, void *ctx)
{
	struct syscall_cond *sc = ctx;
	char *s = NULL;

	if (get_str(ld, n, what, &s))
		return;
	if (syscall__nr(s) == -1) {
		err(ld, n, "unknown syscall '%s'", s);
		free(s);
		return;
	}
	char **slot = grow(ld, &sc->names, &sc->n_names, sizeof(char *));

	if (slot)
		*slot = s;
	else
		free(s);
}

static void load_arg(struct ld *ld, yaml_node_t *n, struct syscall_cond *sc)
{
	static const char *const names[] = { "index", "op", "value" };
	static const struct { const char *op, *word; } ops[] = {
		[ARG_EQ] = { "==", "eq" }, [ARG_NE] = { "!=", "ne" },
		[ARG_LT] = { "<", "lt" }, [ARG_LE] = { "<=", "le" },
		[ARG_GT] = { ">", "gt" }, [ARG_GE] = { ">=", "ge" },
	};
	uint32_t seen = 0;
	int first[3], errors = ld->diags->errors;
	int64_t index = -1;

	if (n->type != YAML_MAPPING_NODE) {
		err(ld, n, "'arg' must be a mapping {index: N, op: \"==\", value: V}, not %s",
		    kind(n));
		return;
	}
	sc->op = ARG_EQ;
	FOR_PAIRS(n, p) {
		yaml_node_t *v = node(ld, p->value);
		int f = field_of(ld, node(ld, p->key), names, 3, &seen, first, "'arg'", NULL);
		size_t i;

		switch (f) {
		case 0:
			if (get_i64(v, &index))
				err(ld, v, "'index' must be an argument index from 0 to 5, not '%s'",
				    v->type == YAML_SCALAR_NODE ? sval(v) : kind(v));
			else if (index < 0 || index > 5)
				err(ld, v, "arg index %lld is out of range: syscalls have "
				    "arguments 0 to 5", (long long)index);
			break;
		case 1:
			for (i = 0; v->type == YAML_SCALAR_NODE && i < ARRAY_SIZE(ops); i++)
				if (!strcmp(sval(v), ops[i].op) || !strcasecmp(sval(v), ops[i].word))
					break;
			if (v->type != YAML_SCALAR_NODE || i == ARRAY_SIZE(ops))
				err(ld, v, "unknown op '%s'; use one of: == != < <= > >= (quoted: "
				    "op: \">=\") or eq ne lt le gt ge",
				    v->type == YAML_SCALAR_NODE ? sval(v) : kind(v));
			else
				sc->op = i;
			break;
		case 2:
			if (get_i64(v, &sc->value))
				err(ld, v, "'value' must be an integer, not '%s'",
				    v->type == YAML_SCALAR_NODE ? sval(v) : kind(v));
			break;
		}
	}
	if (ld->diags->errors != errors)
		return;
	if (!(seen & 1) || !(seen & 4)) {
		err(ld, n, "'arg' needs an 'index' (0 to 5) and a 'value'");
		return;
	}
	sc->arg = index;
}

static void load_syscall(struct ld *ld, yaml_node_t *n, struct rule *r)
{
	static const char *const names[] = { "name", "arg", "or_frame" };
	uint32_t seen = 0;
	int first[3];
	struct syscall_cond *sc;

	if (n->type != YAML_MAPPING_NODE) {
		err(ld, n, "'syscall' must be a mapping {name: …, arg: …}, not %s", kind(n));
		return;
	}
	if (n->data.mapping.pairs.top == n->data.mapping.pairs.start) {
		err(ld, n, "empty 'syscall' condition: give a name and/or an arg");
		return;
	}
	sc = calloc(1, sizeof(*sc));
	if (!sc) {
		ld->oom = true;
		return;
	}
	sc->arg = -1;
	r->syscall = sc;
	FOR_PAIRS(n, p) {
		yaml_node_t *v = node(ld, p->value);

		switch (field_of(ld, node(ld, p->key), names, 3, &seen, first, "'syscall'", NULL)) {
		case 0:
			each_str(ld, v, "name", sc, add_syscall_name);
			break;
		case 1:
			load_arg(ld, v, sc);
			break;
		case 2:
			if (!(sc->or_frame = calloc(1, sizeof(*sc->or_frame)))) {
				ld->oom = true;
				break;
			}
			if (load_frame(ld, v, "or_frame", false, false, sc->or_frame)) {
				frame_cond__free(sc->or_frame);
				free(sc->or_frame);
				sc->or_frame = NULL;
			}
			break;
		}
	}
}

static void add_fd(struct ld *ld, yaml_node_t *n, const char *what, void *ctx)
{
	struct rule *r = ctx;
	char *s = NULL, allowed[128];
	size_t len = 0;
	int k;

	if (get_str(ld, n, what, &s))
		return;
	k = fd_kind_parse(s);
	if (k < 0) {
		allowed[0] = 0;
		for (int i = 0; i < FD__N; i++)
			len += snprintf(allowed + len, sizeof(allowed) - len, "%s%s",
					i ? ", " : "", fd_kind_name(i));
		err(ld, n, "unknown fd kind '%s'; use one of: %s", s, allowed);
	} else {
		r->fd_kinds |= 1u << k;
	}
	free(s);
}

static void load_on_cpu(struct ld *ld, yaml_node_t *n, struct rule *r)
{
	static const char *const names[] = { "min", "max" };
	uint32_t seen = 0;
	int first[2], errors = ld->diags->errors;

	if (n->type != YAML_MAPPING_NODE) {
		err(ld, n, "'on_cpu' must be a mapping {min: 0.0-1.0, max: 0.0-1.0}, not %s",
		    kind(n));
		return;
	}
	FOR_PAIRS(n, p) {
		yaml_node_t *v = node(ld, p->value);
		int f = field_of(ld, node(ld, p->key), names, 2, &seen, first, "'on_cpu'", NULL);

		if (f < 0)
			continue;
		if (get_share(v, f ? &r->max_on_cpu : &r->min_on_cpu))
			err(ld, v, "on_cpu '%s' must be a share from 0.0 to 1.0 (or a "
			    "percentage, 20%%), not '%s'", names[f],
			    v->type == YAML_SCALAR_NODE ? sval(v) : kind(v));
	}
	if (ld->diags->errors == errors && r->min_on_cpu > r->max_on_cpu)
		err(ld, n, "on_cpu min %g is above max %g", r->min_on_cpu, r->max_on_cpu);
}

/* ---- a rule ----------------------------------------------------------- */

enum {
	F_ID, F_NAME, F_SEVERITY, F_CATEGORY, F_DESCRIPTION, F_FIX, F_EXAMPLE_BAD,
	F_EXAMPLE_GOOD, F_LINT, F_FRAMES, F_INNERMOST, F_UNLESS, F_SYSCALL, F_FD,
	F_ON_CPU, F_MIN_DURATION, F_GIL_WAIT, F_FILE_PATTERN, F_ANTI, F_REQUIRED,
	F_CONTEXT, F_SUGGESTED, F__N
};

static const char *const rule_fields[F__N] = {
	"id", "name", "severity", "category", "description", "fix", "example_bad",
	"example_good", "lint", "frames", "innermost", "unless", "syscall", "fd",
	"on_cpu", "min_duration", "gil_wait", "file_pattern", "anti_patterns",
	"required_patterns", "context_patterns", "suggested_patterns",
};

static void rule__free(struct rule *r)
{
	free(r->id);
	free(r->name);
	free(r->description);
	free(r->fix);
	free(r->example_bad);
	free(r->example_good);
	for (int i = 0; i < r->n_lints; i++)
		free(r->lints[i]);
	free(r->lints);
	for (int i = 0; i < r->n_frames; i++)
		frame_cond__free(&r->frames[i]);
	free(r->frames);
	if (r->innermost)
		frame_cond__free(r->innermost);
	free(r->innermost);
	for (int i = 0; i < r->n_unless; i++)
		frame_cond__free(&r->unless[i]);
	free(r->unless);
	if (r->syscall) {
		for (int i = 0; i < r->syscall->n_names; i++)
			free(r->syscall->names[i]);
		free(r->syscall->names);
		if (r->syscall->or_frame)
			frame_cond__free(r->syscall->or_frame);
		free(r->syscall->or_frame);
	}
	free(r->syscall);
	for (int i = 0; i < r->n_file_globs; i++)
		free(r->file_globs[i]);
	free(r->file_globs);
	struct { regex_t *re; char **src; int n; } sets[] = {
		{ r->anti, r->anti_src, r->n_anti },
		{ r->required, r->required_src, r->n_required },
		{ r->context, r->context_src, r->n_context },
		{ r->suggested, r->suggested_src, r->n_suggested },
	};
	for (size_t s = 0; s < ARRAY_SIZE(sets); s++) {
		for (int i = 0; i < sets[s].n; i++) {
			regfree(&sets[s].re[i]);
			free(sets[s].src[i]);
		}
		free(sets[s].re);
		free(sets[s].src);
	}
	free(r->pack);
	memset(r, 0, sizeof(*r));
}

static void add_lint(struct ld *ld, yaml_node_t *n, const char *what, void *ctx)
{
	struct rule *r = ctx;
	char *s = NULL;

	if (get_str(ld, n, what, &s))
		return;
	char **slot = grow(ld, &r->lints, &r->n_lints, sizeof(char *));

	if (slot)
		*slot = s;
	else
		free(s);
}

static bool has_condition(const struct rule *r)
{
	return r->n_frames || r->innermost || r->syscall || r->fd_kinds ||
	       r->min_on_cpu > 0 || r->max_on_cpu < 1 || r->min_duration_ns ||
	       r->gil_wait || r->n_anti || r->n_required || r->n_suggested;
}

/* id, name, description, fix, example_bad, example_good: the rule's text.
 * *idn: the id's node, once it is good. False when f is not one of them. */
static bool load_text_field(struct ld *ld, struct rule *r, int f, yaml_node_t *val,
			    yaml_node_t **idn)
{
	char **str, what[32];

	switch (f) {
	case F_ID: str = &r->id; break;
	case F_NAME: str = &r->name; break;
	case F_DESCRIPTION: str = &r->description; break;
	case F_FIX: str = &r->fix; break;
	case F_EXAMPLE_BAD: str = &r->example_bad; break;
	case F_EXAMPLE_GOOD: str = &r->example_good; break;
	default: return false;
	}
	snprintf(what, sizeof(what), "'%s'", rule_fields[f]);
	if (!get_str(ld, val, what, str) && f == F_ID)
		*idn = val;
	return true;
}

/* severity, category, lint: how the rule is classed and reported. */
static bool load_class_field(struct ld *ld, struct rule *r, int f, yaml_node_t *val)
{
	int v;

	switch (f) {
	case F_SEVERITY:
		v = get_word(ld, val, "severity", rule_severity_parse, sev_name, SEV__N);
		if (v >= 0)
			r->severity = v;
		break;
	case F_CATEGORY:
		v = get_word(ld, val, "category", rule_category_parse, cat_name, CAT__N);
		if (v >= 0)
			r->category = v;
		break;
	case F_LINT:
		each_str(ld, val, "lint", r, add_lint);
		break;
	default:
		return false;
	}
	return true;
}

/* frames, unless, innermost: conditions on the stall's stack. */
static bool load_frame_field(struct ld *ld, struct rule *r, int f, yaml_node_t *val)
{
	switch (f) {
	case F_FRAMES:
		load_frames(ld, val, "frames", &r->frames, &r->n_frames);
		break;
	case F_UNLESS:
		load_frames(ld, val, "unless", &r->unless, &r->n_unless);
		break;
	case F_INNERMOST:
		if (!(r->innermost = calloc(1, sizeof(*r->innermost))))
			ld->oom = true;
		else if (load_frame(ld, val, "innermost", true, false, r->innermost)) {
			frame_cond__free(r->innermost);
			free(r->innermost);
			r->innermost = NULL;
		}
		break;
	default:
		return false;
	}
	return true;
}

/* syscall, fd, on_cpu, min_duration, gil_wait: conditions on what the
 * loop thread did during the stall. */
static bool load_stall_field(struct ld *ld, struct rule *r, int f, yaml_node_t *val)
{
	const char *shown = val->type == YAML_SCALAR_NODE ? sval(val) : kind(val);

	switch (f) {
	case F_SYSCALL:
		load_syscall(ld, val, r);
		break;
	case F_FD:
		each_str(ld, val, "fd", r, add_fd);
		break;
	case F_ON_CPU:
		load_on_cpu(ld, val, r);
		break;
	case F_MIN_DURATION:
		if (val->type != YAML_SCALAR_NODE || is_null(val) ||
		    parse_duration(sval(val), 1000000, &r->min_duration_ns))
			err(ld, val, "bad min_duration '%s': give milliseconds (500) or a "
			    "number with a unit (500ms, 1.5s)", shown);
		break;
	case F_GIL_WAIT:
		if (get_bool(val, &r->gil_wait))
			err(ld, val, "'gil_wait' must be true or false, not '%s'", shown);
		break;
	default:
		return false;
	}
	return true;
}

/* file_pattern and the four lists of source patterns. */
static bool load_pattern_field(struct ld *ld, struct rule *r, int f, yaml_node_t *val)
{
	switch (f) {
	case F_FILE_PATTERN:
		each_str(ld, val, "file_pattern", r, add_file_pattern);
		break;
	case F_ANTI:
		load_regexes(ld, val, "anti_patterns", &r->anti, &r->anti_src, &r->n_anti);
		break;
	case F_REQUIRED:
		load_regexes(ld, val, "required_patterns", &r->required, &r->required_src,
			     &r->n_required);
		break;
	case F_CONTEXT:
		load_regexes(ld, val, "context_patterns", &r->context, &r->context_src,
			     &r->n_context);
		break;
	case F_SUGGESTED:
		load_regexes(ld, val, "suggested_patterns", &r->suggested, &r->suggested_src,
			     &r->n_suggested);
		break;
	default:
		return false;
	}
	return true;
}

/* One field of a rule (f: its index in rule_fields), by its group. */
static void load_field(struct ld *ld, struct rule *r, int f, yaml_node_t *val,
		       yaml_node_t **idn)
{
	if (load_text_field(ld, r, f, val, idn) || load_class_field(ld, r, f, val) ||
	    load_frame_field(ld, r, f, val) || load_stall_field(ld, r, f, val))
		return;
	load_pattern_field(ld, r, f, val);
}

/* Required fields: id, name, severity; category in rules:. One the user
 * was offered for a typo (suggested) is not reported again. */
static void check_required(struct ld *ld, yaml_node_t *n, const struct rule *r,
			   uint32_t seen, uint32_t suggested)
{
	static const int required[] = { F_ID, F_NAME, F_SEVERITY, F_CATEGORY };

	for (size_t i = 0; i < ARRAY_SIZE(required); i++) {
		int f = required[i];

		if (seen & (1u << f) || (f == F_CATEGORY && ld->seed) || suggested & (1u << f))
			continue;
		if (r->id)
			err(ld, n, "rule '%s' has no '%s'%s", r->id, rule_fields[f],
			    f == F_CATEGORY ? " (required in 'rules:'; 'async_rules:' "
			    "default to other)" : "");
		else
			err(ld, n, "rule has no '%s'", rule_fields[f]);
	}
}

/* The id is not one of a rule loaded before (from this pack or another). */
static void check_unique_id(struct ld *ld, const struct rule *r, yaml_node_t *idn)
{
	if (!r->id || !idn)
		return;
	for (int i = 0; i < ld->pack->n; i++) {
		const struct rule *o = &ld->pack->v[i];

		if (strcmp(o->id, r->id))
			continue;
		err(ld, idn, "duplicate id '%s'; first defined at %s:%d:%d",
		    r->id, o->pack, o->line, o->column);
		break;
	}
}

/* Warnings for a good rule that does not do what it seems to. */
static void check_effect(struct ld *ld, yaml_node_t *n, const struct rule *r)
{
	if (r->n_context && !r->n_required)
		warn(ld, n, "rule '%s': 'context_patterns' without 'required_patterns' "
		     "have no effect", r->id);
	if (!ld->seed && !has_condition(r) && r->category != CAT_SEQUENTIAL_AWAIT)
		warn(ld, n, "rule '%s' has no condition (frames, innermost, syscall, fd, "
		     "on_cpu, min_duration, gil_wait or patterns): it matches every "
		     "stall", r->id);
}

/* An 'async_rules:' rule without a category whose anti-pattern names two
 * awaits or more (PERF-037: three in a row) speaks of awaits in turn: it
 * is judged on the tasks' waits (category sequential-await), not on
 * stalls, which such code never causes. */
static bool awaits_in_turn(const struct rule *r)
{
	for (int i = 0; i < r->n_anti; i++) {
		const char *a = r->anti_src ? strstr(r->anti_src[i], "await") : NULL;

		if (a && strstr(a + 5, "await"))
			return true;
	}
	return false;
}

/* Completes r and adds it to the pack, or frees it when it has errors
 * (more than the errors count at its start). */
static void keep_rule(struct ld *ld, yaml_node_t *n, struct rule *r, int errors)
{
	if (!r->fix && r->example_good)
		r->fix = dup(ld, r->example_good);
	r->pack = dup(ld, ld->file);
	if (ld->oom) {
		err(ld, n, "out of memory");
		ld->oom = false;
	}
	if (ld->diags->errors != errors) {
		rule__free(r);
		return;
	}
	struct rule *slot = grow(ld, &ld->pack->v, &ld->pack->n, sizeof(*r));

	if (!slot) {
		err(ld, n, "out of memory");
		ld->oom = false;
		rule__free(r);
		return;
	}
	*slot = *r;
}

static void load_rule(struct ld *ld, yaml_node_t *n)
{
	struct rule r = { .max_on_cpu = 1.0, .category = CAT_OTHER };
	int errors = ld->diags->errors, first[F__N];
	uint32_t seen = 0, suggested = 0;
	yaml_node_t *idn = NULL;

	if (n->type != YAML_MAPPING_NODE) {
		err(ld, n, "a rule is a mapping (id: …, name: …, severity: …), not %s", kind(n));
		return;
	}
	r.line = LINE(n);
	r.column = COL(n);
	FOR_PAIRS(n, p) {
		int f = field_of(ld, node(ld, p->key), rule_fields, F__N, &seen, first, "a rule",
				 &suggested);

		if (f >= 0)
			load_field(ld, &r, f, node(ld, p->value), &idn);
	}
	check_required(ld, n, &r, seen, suggested);
	if (ld->seed && !(seen & (1u << F_CATEGORY)) && awaits_in_turn(&r))
		r.category = CAT_SEQUENTIAL_AWAIT;
	check_unique_id(ld, &r, idn);
	if (ld->diags->errors == errors)
		check_effect(ld, n, &r);
	keep_rule(ld, n, &r, errors);
}

/* ---- a file ------------------------------------------------------------- */

static int load_doc(struct ld *ld)
{
	yaml_node_t *root = yaml_document_get_root_node(ld->doc);
	int lists = 0;

	if (!root || is_null(root))
		return 0;
	if (root->type != YAML_MAPPING_NODE) {
		err(ld, root, "a rule file is a mapping with a 'rules:' and/or an "
		    "'async_rules:' list, not %s", kind(root));
		return 0;
	}
	static const char *const names[] = { "rules", "async_rules" };
	uint32_t seen = 0;
	int first[2];

	FOR_PAIRS(root, p) {
		yaml_node_t *k = node(ld, p->key), *v = node(ld, p->value);
		int f = field_of(ld, k, names, 2, &seen, first, "the file's top level", NULL);

		if (f < 0)
			continue;
		lists++;
		if (is_null(v))
			continue;
		if (v->type != YAML_SEQUENCE_NODE) {
			err(ld, v, "'%s' must be a list of rules (- id: …), not %s",
			    names[f], kind(v));
			continue;
		}
		ld->seed = f == 1;
		FOR_ITEMS(v, it)
			load_rule(ld, node(ld, *it));
	}
	return lists;
}

/* Line and column (1-based) of byte off of buf. */
static void line_col(const char *buf, size_t len, size_t off, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			++*line;
			*col = 1;
		} else if ((buf[i] & 0xc0) != 0x80) {
			++*col;
		}
	}
}

static int load_buf(struct rule_pack *pack, const char *file, const char *buf, size_t len,
		    struct rule_diags *diags)
{
	struct ld ld = { .file = file, .pack = pack, .diags = diags };
	int errors = diags->errors, lists = 0;
	yaml_parser_t parser;

	if (!yaml_parser_initialize(&parser)) {
		diag_at(&ld, 0, 0, false, "out of memory");
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	for (;;) {
		yaml_document_t doc;

		if (!yaml_parser_load(&parser, &doc)) {
			int line = parser.problem_mark.line + 1, col = parser.problem_mark.column + 1;

			if (parser.error == YAML_READER_ERROR)
				line_col(buf, len, parser.problem_offset, &line, &col);
			if (parser.error == YAML_MEMORY_ERROR)
				diag_at(&ld, 0, 0, false, "out of memory");
			else if (parser.context)
				diag_at(&ld, line, col, false, "bad YAML: %s (%s at line %d)",
					parser.problem, parser.context,
					(int)parser.context_mark.line + 1);
			else
				diag_at(&ld, line, col, false, "bad YAML: %s",
					parser.problem ? parser.problem : "cannot parse");
			lists = -1;
			break;
		}
		if (!yaml_document_get_root_node(&doc)) {
			yaml_document_delete(&doc);
			break;
		}
		ld.doc = &doc;
		lists += load_doc(&ld);
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
	if (!lists)
		diag_at(&ld, 1, 1, true, "no rules: the file has no 'rules:' or "
			"'async_rules:' list");
	return diags->errors != errors ? -EINVAL : 0;
}

int rules__load(struct rule_pack *pack, const char *path, struct rule_diags *diags)
{
	struct ld ld = { .file = path, .pack = pack, .diags = diags };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = fopen(path, "r"), *mem;
	int ret;

	if (!f) {
		diag_at(&ld, 0, 0, false, "cannot open: %s", strerror(errno));
		return -EINVAL;
	}
	mem = open_memstream(&buf, &len);
	if (mem) {
		char chunk[8192];
		size_t n;

		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			fwrite(chunk, 1, n, mem);
		fclose(mem);
	}
	if (!mem || ferror(f)) {
		diag_at(&ld, 0, 0, false, "cannot read: %s", strerror(errno));
		fclose(f);
		free(buf);
		return -EINVAL;
	}
	fclose(f);
	ret = load_buf(pack, path, buf, len, diags);
	free(buf);
	return ret;
}

int rules__load_default(struct rule_pack *pack, struct rule_diags *diags)
{
	return load_buf(pack, DEFAULT_PACK_NAME, (const char *)default_rules_yaml,
			default_rules_yaml_len, diags);
}

void rules__free(struct rule_pack *pack)
{
	for (int i = 0; i < pack->n; i++)
		rule__free(&pack->v[i]);
	free(pack->v);
	pack->v = NULL;
	pack->n = 0;
}

void rule_diags__free(struct rule_diags *d)
{
	for (int i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
	}
	free(d->v);
	d->v = NULL;
	d->n = d->errors = 0;
}
