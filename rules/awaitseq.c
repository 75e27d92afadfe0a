// SPDX-License-Identifier: MIT
/*
 * Independent awaits one after another (awaitseq.h): a small scanner of
 * Python source, no parser. The source is cut into statements (logical
 * lines: open brackets, a backslash at the end and strings continue them;
 * a def or class nested in the function takes its indented block along);
 * each statement's names are sorted into those it binds and those it
 * uses; an await depends on an earlier one when its statement uses a name
 * the earlier one's statement bound, directly or through the statements
 * between. No allocation: names are pointers into the source.
 *
 * Binds: targets of '=' at depth 0 (tuples, starred, chained, annotated,
 * augmented: then used too), `:=` anywhere, `as` targets (with, except),
 * for targets, imported names, the name of a def or class. A target that
 * sets an attribute or item (obj.attr = v, d[k] = v) binds nothing and
 * uses its names. Uses: every other name but attributes (after '.'),
 * keyword arguments and lambda defaults (`name=`), keywords, and string
 * contents except f-string (and t-string) replacement fields.
 *
 * Loops: an await in another loop than the one before (a different
 * innermost for/while, or one in a loop and one not) cannot be run with
 * it: one of them ran many times. A line that goes back is a loop too.
 *
 * Not seen, on purpose: control flow (branches, try), rebinding (a tainted name stays tainted), scopes
 * (comprehension, lambda and nested-def names are plain uses; a nested
 * def uses every name of its block), match/case patterns (their names are
 * uses), aliasing and mutation (`obj.attr = v` taints nothing).
 */
#include <stdbool.h>
#include <string.h>
#include "awaitseq.h"

#define NEST_MAX	4	/* f-string fields in fields: deeper is text */
#define NAMES_MAX	128	/* tainted names; more: every name is */

enum tok_kind { T_END, T_NL, T_NAME, T_OP, T_STR, T_NUM };

struct tok {
	enum tok_kind kind;
	const char *s;
	int len;
	int depth;		/* bracket depth before it */
};

struct names {
	const char *s[NAMES_MAX];
	int len[NAMES_MAX];
	int n;
	bool full;		/* some did not fit: every name counts */
};

/* Where a walk over a statement sends its names: a check of its uses
 * against taint, or (bind) its bound names added to taint. */
struct walk {
	struct names *taint;
	bool bind;
	bool hit;		/* a tainted name is used */
};

struct lexer {
	const char *p, *end;
	int depth;		/* of brackets */
	int nest;		/* f-string fields around */
	bool field;		/* an f-string's replacement field */
	bool oneline;		/* ... of a one-line string */
	struct walk *w;		/* gets the names of f-string fields, or NULL */
};

/* ---- names ----------------------------------------------------------- */

static bool names_has(const struct names *v, const char *s, int len)
{
	if (v->full)
		return true;
	for (int i = 0; i < v->n; i++)
		if (v->len[i] == len && !memcmp(v->s[i], s, len))
			return true;
	return false;
}

static void names_add(struct names *v, const char *s, int len)
{
	if (names_has(v, s, len))
		return;
	if (v->n == NAMES_MAX) {
		v->full = true;
		return;
	}
	v->s[v->n] = s;
	v->len[v->n++] = len;
}

static void name(struct walk *w, const struct tok *t, bool bind)
{
	if (!w)
		return;
	if (bind && w->bind)
		names_add(w->taint, t->s, t->len);
	else if (!bind && !w->bind && names_has(w->taint, t->s, t->len))
		w->hit = true;
}

/* ---- tokens ---------------------------------------------------------- */

static const char *const keywords[] = {
	"False", "None", "True", "and", "as", "assert", "async", "await",
	"break", "class", "continue", "def", "del", "elif", "else", "except",
	"finally", "for", "from", "global", "if", "import", "in", "is",
	"lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try",
	"while", "with", "yield",
};

static bool is_kw(const struct tok *t, const char *s)
{
	int n = strlen(s);

	return t->kind == T_NAME && t->len == n && !memcmp(t->s, s, n);
}

static bool keyword(const struct tok *t)
{
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (is_kw(t, keywords[i]))
			return true;
	return false;
}

/* A name, not a keyword. */
static bool ident(const struct tok *t)
{
	return t->kind == T_NAME && !keyword(t);
}

static bool is_op(const struct tok *t, const char *s)
{
	int n = strlen(s);

	return t->kind == T_OP && t->len == n && !memcmp(t->s, s, n);
}

static bool is_open(const struct tok *t)
{
	return is_op(t, "(") || is_op(t, "[") || is_op(t, "{");
}

static bool is_close(const struct tok *t)
{
	return is_op(t, ")") || is_op(t, "]") || is_op(t, "}");
}

/* '=' or an augmented assignment ("+=", "//=" …). */
static bool assign_op(const struct tok *t)
{
	return t->kind == T_OP && t->s[t->len - 1] == '=' && !is_op(t, "==") &&
	       !is_op(t, "!=") && !is_op(t, "<=") && !is_op(t, ">=") && !is_op(t, ":=");
}

/* The end of a statement or of one of its simple statements. */
static bool ends_stmt(const struct tok *t)
{
	return t->kind == T_END || t->kind == T_NL || (!t->depth && is_op(t, ";"));
}

/* ---- the lexer ------------------------------------------------------- */

static bool id_start(char c)
{
	unsigned char u = c;

	return u == '_' || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || u >= 0x80;
}

static bool digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool id_char(char c)
{
	return id_start(c) || digit(c);
}

/* s[0..len) is a string prefix (r, b, u, f, t, rb, fr …); *fmt: f or t. */
static bool str_prefix(const char *s, int len, bool *fmt)
{
	*fmt = false;
	if (len > 2)
		return false;
	for (int i = 0; i < len; i++) {
		switch (s[i]) {
		case 'f': case 'F': case 't': case 'T':
			*fmt = true;
			break;
		case 'r': case 'R': case 'b': case 'B': case 'u': case 'U':
			break;
		default:
			return false;
		}
	}
	return true;
}

static bool closes(const char *p, const char *e, char q, bool triple)
{
	return *p == q && (!triple || (e - p >= 3 && p[1] == q && p[2] == q));
}

static const char *field(const struct lexer *up, const char *p, char q, bool triple);

/* A string literal from its opening quote at p: returns its end (where it
 * stops when unterminated: a newline of a one-line string, the end). fmt:
 * an f- or t-string, whose fields' names go to lx->w. */
static const char *string(const struct lexer *lx, const char *p, bool fmt)
{
	const char *e = lx->end;
	char q = *p;
	bool triple = e - p >= 3 && p[1] == q && p[2] == q;

	p += triple ? 3 : 1;
	while (p < e) {
		if (closes(p, e, q, triple))
			return p + (triple ? 3 : 1);
		if (*p == '\n' && !triple)
			break;
		if (*p == '\\' && p + 1 < e)
			p += 2;
		else if (fmt && *p == '{' && p + 1 < e && p[1] == '{')
			p += 2;
		else if (fmt && *p == '{')
			p = field(lx, p + 1, q, triple);
		else
			p++;
	}
	return p;
}

/* Blanks, comments, backslash-newlines, and newlines inside brackets. */
static const char *skip_blanks(const struct lexer *lx, const char *p)
{
	const char *e = lx->end;

	while (p < e) {
		if (*p == ' ' || *p == '\t' || *p == '\f' || *p == '\r') {
			p++;
		} else if (*p == '#' && !(lx->field && lx->oneline)) {
			while (p < e && *p != '\n')
				p++;
		} else if (*p == '\\' && p + 1 < e && p[1] == '\n') {
			p += 2;
		} else if (*p == '\\' && e - p >= 3 && p[1] == '\r' && p[2] == '\n') {
			p += 3;
		} else if (*p == '\n' && (lx->field ? !lx->oneline : lx->depth > 0)) {
			p++;
		} else {
			break;
		}
	}
	return p;
}

/* A replacement field ends at depth 0 with '}', a format spec (':'), a
 * conversion ('!') or '=' (f"{x=}"). */
static bool field_ends(const struct lexer *lx, const char *p)
{
	if (!lx->field || lx->depth)
		return false;
	if (*p == '}' || *p == ':')
		return true;
	if (*p == '!' || *p == '=')
		return p + 1 >= lx->end || p[1] != '=';
	return false;
}

static int op_len(const char *p, const char *e)
{
	static const char *const ops3[] = { "**=", "//=", ">>=", "<<=", "..." };
	static const char *const ops2[] = {
		"==", "!=", "<=", ">=", ":=", "->", "+=", "-=", "*=", "/=",
		"%=", "&=", "|=", "^=", "@=", "**", "//", "<<", ">>",
	};

	for (size_t i = 0; i < sizeof(ops3) / sizeof(ops3[0]); i++)
		if (e - p >= 3 && !memcmp(p, ops3[i], 3))
			return 3;
	for (size_t i = 0; i < sizeof(ops2) / sizeof(ops2[0]); i++)
		if (e - p >= 2 && !memcmp(p, ops2[i], 2))
			return 2;
	return 1;
}

static const char *number(const char *p, const char *e)
{
	const char *s = p;

	while (p < e && (id_char(*p) || *p == '.' ||
			 ((*p == '+' || *p == '-') && p > s && (p[-1] == 'e' || p[-1] == 'E'))))
		p++;
	return p;
}

/* The next token: T_END at the end (of the text, or of a field: not
 * consumed), T_NL at a newline outside brackets. */
static struct tok next(struct lexer *lx)
{
	const char *e = lx->end, *p = skip_blanks(lx, lx->p);
	struct tok t = { .kind = T_END, .s = p, .depth = lx->depth };
	bool fmt;

	if (p >= e || field_ends(lx, p) || (*p == '\n' && lx->field)) {
		lx->p = p;
		return t;
	}
	if (*p == '\n') {
		t.kind = T_NL;
		p++;
	} else if (id_start(*p)) {
		while (p < e && id_char(*p))
			p++;
		t.kind = T_NAME;
		if (p < e && (*p == '\'' || *p == '"') && str_prefix(t.s, p - t.s, &fmt)) {
			t.kind = T_STR;
			p = string(lx, p, fmt);
		}
	} else if (*p == '\'' || *p == '"') {
		t.kind = T_STR;
		p = string(lx, p, false);
	} else if (digit(*p) || (*p == '.' && p + 1 < e && digit(p[1]))) {
		t.kind = T_NUM;
		p = number(p, e);
	} else {
		t.kind = T_OP;
		p += op_len(p, e);
		if (*t.s == '(' || *t.s == '[' || *t.s == '{')
			lx->depth++;
		else if (lx->depth && (*t.s == ')' || *t.s == ']' || *t.s == '}'))
			lx->depth--;
	}
	t.len = p - t.s;
	lx->p = p;
	return t;
}

static struct tok peek(const struct lexer *lx)
{
	struct lexer c = *lx;

	c.w = NULL;
	return next(&c);
}

/* ---- names of expressions and targets -------------------------------- */

/* t, a token of an expression: the name it uses (or binds: x := …). */
static void expr_tok(struct walk *w, const struct lexer *lx, const struct tok *prev,
		     const struct tok *t)
{
	struct tok nx;

	if (!w || !ident(t) || is_op(prev, "."))
		return;
	nx = peek(lx);
	if (is_op(&nx, "="))
		return;		/* a keyword argument, a lambda default */
	name(w, t, is_op(&nx, ":="));
}

static void field_names(struct lexer *lx)
{
	struct tok prev = { .kind = T_END }, t;

	while ((t = next(lx)).kind != T_END) {
		expr_tok(lx->w, lx, &prev, &t);
		prev = t;
	}
}

/* A format spec from after its ':' to its '}' (not consumed): text, but
 * for nested fields. */
static const char *spec(const struct lexer *lx, const char *p, char q, bool triple)
{
	const char *e = lx->end;

	while (p < e && *p != '}' && !closes(p, e, q, triple) && !(*p == '\n' && !triple)) {
		if (*p == '{')
			p = field(lx, p + 1, q, triple);
		else
			p++;
	}
	return p;
}

/* A replacement field of an f-string, from after its '{': the names of
 * its expression to up->w. Returns where it ends: after its '}', or where
 * the string does when it is cut short. Too deep: p, read as text. */
static const char *field(const struct lexer *up, const char *p, char q, bool triple)
{
	struct lexer lx = {
		.p = p, .end = up->end, .nest = up->nest + 1,
		.field = true, .oneline = !triple, .w = up->w,
	};
	const char *e = up->end;

	if (up->nest >= NEST_MAX)
		return p;
	field_names(&lx);
	p = lx.p;
	if (p < e && *p == '=')
		for (p++; p < e && (*p == ' ' || *p == '\t'); p++)
			;
	if (p < e && *p == '!')
		for (p++; p < e && id_char(*p); p++)
			;
	if (p < e && *p == ':')
		p = spec(&lx, p + 1, q, triple);
	while (p < e && *p != '}' && !closes(p, e, q, triple) && !(*p == '\n' && !triple))
		p++;
	return p < e && *p == '}' ? p + 1 : p;
}

enum stop {
	STOP_ASSIGN,		/* at '=' (or "+=" …) outside brackets */
	STOP_IN,		/* at `in` outside brackets (for) */
	STOP_ITEM,		/* at ',' or the closing bracket around (as) */
};

static bool target_ends(const struct tok *t, enum stop stop, int base)
{
	if (ends_stmt(t))
		return true;
	switch (stop) {
	case STOP_ASSIGN:
		return !t->depth && assign_op(t);
	case STOP_IN:
		return !t->depth && (is_kw(t, "in") || is_op(t, ":"));
	case STOP_ITEM:
		return (t->depth == base && (is_op(t, ",") || is_close(t))) ||
		       (!t->depth && is_op(t, ":"));
	}
	return true;
}

/* A value precedes: an opening bracket after it is a call or subscript. */
static bool after_value(const struct tok *prev)
{
	return ident(prev) || is_close(prev) || prev->kind == T_STR;
}

/* A target list from t (of an assignment, a for, an `as`). A name at its
 * start, or after ',', '*' or an opening bracket, binds, unless '.', '('
 * or '[' follow (an attribute or item is set: the name is used); names
 * in subscripts, calls and annotations are uses. aug: a bound name is
 * used too (x += 1). Returns the token that ends it. */
static struct tok target(struct walk *w, struct lexer *lx, struct tok t, enum stop stop,
			 bool aug)
{
	struct tok prev = { .kind = T_END }, nx;
	int base = t.depth, trail = -1;	/* depth a subscript or call opened at */
	bool start = true, expr = false;

	for (; !target_ends(&t, stop, base); prev = t, t = next(lx)) {
		if (expr || trail >= 0) {
			expr_tok(w, lx, &prev, &t);
			if (trail >= 0 && is_close(&t) && lx->depth <= trail)
				trail = -1;
		} else if (is_op(&t, ":")) {
			expr = true;	/* an annotation */
		} else if (ident(&t) && !is_op(&prev, ".")) {
			nx = peek(lx);
			if (start && !is_op(&nx, ".") && !is_op(&nx, "(") && !is_op(&nx, "[")) {
				name(w, &t, true);
				if (aug)
					name(w, &t, false);
			} else {
				name(w, &t, false);
			}
			start = false;
		} else if (is_open(&t) && after_value(&prev)) {
			trail = t.depth;
		} else {
			start = is_op(&t, ",") || is_op(&t, "*") || is_open(&t);
		}
	}
	return t;
}

/* An expression from t: its names to w; after `as`, a target. Ends at
 * the statement's end or ';', or, in a header, at the ':' that opens the
 * body (not a lambda's): returns that token. */
static struct tok expr_until(struct walk *w, struct lexer *lx, struct tok t, bool header)
{
	struct tok prev = { .kind = T_END };
	int lambdas = 0;

	while (!ends_stmt(&t)) {
		if (!t.depth && is_kw(&t, "lambda")) {
			lambdas++;
		} else if (!t.depth && is_op(&t, ":")) {
			if (!lambdas && header)
				return t;
			if (lambdas)
				lambdas--;
		} else if (is_kw(&t, "as")) {
			prev = t;
			t = target(w, lx, next(lx), STOP_ITEM, false);
			continue;
		} else {
			expr_tok(w, lx, &prev, &t);
		}
		prev = t;
		t = next(lx);
	}
	return t;
}

/* ---- statements ------------------------------------------------------ */

/* How many targets the simple statement from t has: its '='s outside
 * brackets and lambdas; *aug: the first is augmented. */
static int count_targets(const struct lexer *lx, struct tok t, bool *aug)
{
	struct lexer c = *lx;
	int n = 0, lambdas = 0;

	c.w = NULL;
	*aug = false;
	for (; !ends_stmt(&t); t = next(&c)) {
		if (t.depth)
			continue;
		if (is_kw(&t, "lambda")) {
			lambdas++;
		} else if (is_op(&t, ":") && lambdas) {
			lambdas--;
		} else if (assign_op(&t) && !lambdas) {
			if (!n)
				*aug = t.len > 1;
			n++;
		}
	}
	return n;
}

/* An assignment, or an expression statement (return, await …). */
static struct tok simple(struct walk *w, struct lexer *lx, struct tok t)
{
	bool aug;
	int n = count_targets(lx, t, &aug);

	for (int i = 0; i < n && !ends_stmt(&t); i++) {
		t = target(w, lx, t, STOP_ASSIGN, aug);
		if (!ends_stmt(&t))
			t = next(lx);
	}
	return expr_until(w, lx, t, false);
}

static struct tok for_header(struct walk *w, struct lexer *lx, struct tok t)
{
	t = target(w, lx, t, STOP_IN, false);
	if (is_kw(&t, "in"))
		t = next(lx);
	return expr_until(w, lx, t, true);
}

/* import a.b (binds a), import a.b as c, from m import x as y, (z): the
 * names bound; an import uses none. */
static struct tok import(struct walk *w, struct lexer *lx, struct tok t)
{
	struct tok prev = t, item = { .kind = T_END };

	if (is_kw(&t, "from"))
		while (!ends_stmt(&t) && !is_kw(&t, "import"))
			t = next(lx);
	if (ends_stmt(&t))
		return t;
	for (t = next(lx); !ends_stmt(&t); prev = t, t = next(lx)) {
		if (is_kw(&t, "as")) {
			item.kind = T_END;
			t = next(lx);
			if (ends_stmt(&t))
				return t;
			if (ident(&t))
				name(w, &t, true);
		} else if (is_op(&t, ",")) {
			if (item.kind != T_END)
				name(w, &item, true);
			item.kind = T_END;
		} else if (ident(&t) && !is_op(&prev, ".") && item.kind == T_END) {
			item = t;
		}
	}
	if (item.kind != T_END)
		name(w, &item, true);
	return t;
}

static bool header_kw(const struct tok *t)
{
	static const char *const kws[] = {
		"if", "elif", "else", "while", "with", "try", "except", "finally",
	};

	for (size_t i = 0; i < sizeof(kws) / sizeof(kws[0]); i++)
		if (is_kw(t, kws[i]))
			return true;
	return false;
}

/* A simple statement, or a compound statement's header, from t: returns
 * the token that ends it (';', a header's ':', the end). */
static struct tok segment(struct walk *w, struct lexer *lx, struct tok t)
{
	if (is_kw(&t, "async"))
		t = next(lx);
	if (is_kw(&t, "for"))
		return for_header(w, lx, next(lx));
	if (is_kw(&t, "import") || is_kw(&t, "from"))
		return import(w, lx, t);
	if (is_kw(&t, "def") || is_kw(&t, "class")) {
		t = next(lx);
		if (ident(&t)) {
			name(w, &t, true);
			t = next(lx);
		}
		return expr_until(w, lx, t, true);
	}
	if (header_kw(&t))
		return expr_until(w, lx, next(lx), true);
	return simple(w, lx, t);
}

struct stmt {
	const char *s, *e;	/* its text: first token to its newline */
	long long first, last;	/* its file lines */
	bool block;		/* a nested def or class, with its block */
	const char *loop;	/* the innermost loop it is in (its header's
				   text; itself for a loop header), or NULL */
};

/* A nested def or class: binds its name, uses every other name of its
 * block (what it closes over, roughly). */
static void block(struct walk *w, struct lexer *lx)
{
	struct tok prev = { .kind = T_END }, t;
	bool bound = false;

	for (t = next(lx); t.kind != T_END; prev = t, t = next(lx)) {
		if (!ident(&t) || is_op(&prev, "."))
			continue;
		if (!bound && (is_kw(&prev, "def") || is_kw(&prev, "class"))) {
			name(w, &t, true);
			bound = true;
		} else {
			name(w, &t, false);
		}
	}
}

static void walk(struct walk *w, const struct stmt *st)
{
	struct lexer lx = { .p = st->s, .end = st->e, .w = w };
	struct tok t;

	if (st->block) {
		block(w, &lx);
		return;
	}
	for (t = next(&lx); t.kind != T_END && t.kind != T_NL; t = next(&lx)) {
		t = segment(w, &lx, t);
		if (t.kind == T_END || t.kind == T_NL)
			break;
	}
}

static bool uses_taint(struct names *taint, const struct stmt *st)
{
	struct walk w = { .taint = taint };

	walk(&w, st);
	return w.hit;
}

static void bind_names(struct names *taint, const struct stmt *st)
{
	struct walk w = { .taint = taint, .bind = true };

	walk(&w, st);
}

/* ---- cutting the source into statements ------------------------------ */

#define LOOPS_MAX	32	/* loops nested, followed */

struct stmts {
	const char *src;
	struct lexer lx;	/* over the whole source */
	const char *at;		/* newlines counted up to here */
	long long line;		/* the line of at */
	bool seen_def;		/* the function's own def is behind */
	/* the loops open (for, while, async for): headers and indents */
	const char *loops[LOOPS_MAX];
	long loop_in[LOOPS_MAX];
	int n_loops;
};

static void stmts_init(struct stmts *it, const char *src, int firstline)
{
	memset(it, 0, sizeof(*it));
	it->src = src;
	it->lx.p = src;
	it->lx.end = src + strlen(src);
	it->at = src;
	it->line = firstline;
}

static long long line_at(struct stmts *it, const char *p)
{
	for (; it->at < p; it->at++)
		if (*it->at == '\n')
			it->line++;
	return it->line;
}

/* The next logical line, blank and comment lines skipped: [*s, *e) from
 * its first token to its newline. false at the end. */
static bool logical(struct lexer *lx, const char **s, const char **e)
{
	struct tok t;

	do
		t = next(lx);
	while (t.kind == T_NL);
	if (t.kind == T_END)
		return false;
	*s = t.s;
	while (t.kind != T_NL && t.kind != T_END)
		t = next(lx);
	*e = t.s;
	return true;
}

/* The column of s, the first token of its line (a tab to the next 8). */
static long indent(const char *src, const char *s)
{
	const char *p = s;
	long col = 0;

	while (p > src && p[-1] != '\n')
		p--;
	for (; p < s; p++)
		col = *p == '\t' ? (col / 8 + 1) * 8 : *p == '\f' ? 0 : col + 1;
	return col;
}

static bool starts_def(const char *s, const char *e)
{
	struct lexer lx = { .p = s, .end = e };
	struct tok t = next(&lx);

	if (is_kw(&t, "async"))
		t = next(&lx);
	return is_kw(&t, "def") || is_kw(&t, "class");
}

/* st, a nested def or class: its block joins it (the lines indented
 * deeper that follow). */
static void absorb(struct stmts *it, struct stmt *st)
{
	long in = indent(it->src, st->s);
	struct lexer save;
	const char *s, *e;

	st->block = true;
	for (;;) {
		save = it->lx;
		if (!logical(&it->lx, &s, &e) || indent(it->src, s) <= in) {
			it->lx = save;
			return;
		}
		st->e = e;
	}
}

static bool starts_loop(const char *s, const char *e)
{
	struct lexer lx = { .p = s, .end = e };
	struct tok t = next(&lx);

	if (is_kw(&t, "async"))
		t = next(&lx);
	return is_kw(&t, "for") || is_kw(&t, "while");
}

/* st's innermost loop: the loops it is not indented past are closed; a
 * loop header is in itself (async for awaits there each time round), and
 * opens a loop for the statements indented past it. */
static void loop_of(struct stmts *it, struct stmt *st)
{
	long in = indent(it->src, st->s);

	while (it->n_loops && it->loop_in[it->n_loops - 1] >= in)
		it->n_loops--;
	st->loop = it->n_loops ? it->loops[it->n_loops - 1] : NULL;
	if (!st->block && starts_loop(st->s, st->e)) {
		st->loop = st->s;
		if (it->n_loops < LOOPS_MAX) {
			it->loops[it->n_loops] = st->s;
			it->loop_in[it->n_loops++] = in;
		}
	}
}

static bool stmts_next(struct stmts *it, struct stmt *st)
{
	if (!logical(&it->lx, &st->s, &st->e))
		return false;
	st->block = false;
	if (starts_def(st->s, st->e)) {
		if (it->seen_def)
			absorb(it, st);
		it->seen_def = true;
	}
	st->first = line_at(it, st->s);
	st->last = line_at(it, st->e);
	loop_of(it, st);
	return true;
}

/* Advances it to the statement holding line; false when none does. */
static bool stmts_find(struct stmts *it, long long line, struct stmt *st)
{
	while (stmts_next(it, st))
		if (st->last >= line)
			return st->first <= line;
	return false;
}

/* ---- the judgement --------------------------------------------------- */

static bool lines_ok(const char *src, int firstline, const int *lines, int n)
{
	struct stmts it;
	struct stmt st;

	for (int i = 0; i < n; i++) {
		stmts_init(&it, src, firstline);
		if (!stmts_find(&it, lines[i], &st))
			return false;
	}
	return true;
}

int awaitseq__first_dependent(const char *src, int firstline, const int *lines, int n)
{
	struct names taint = { .n = 0 };
	struct stmts it;
	struct stmt prev, cur;

	if (!src || !lines || n < 1 || !lines_ok(src, firstline, lines, n))
		return -1;
	stmts_init(&it, src, firstline);
	if (!stmts_find(&it, lines[0], &prev))
		return -1;
	bind_names(&taint, &prev);
	for (int k = 1; k < n; k++) {
		/* back (a loop), or the same statement: not to be split */
		if (lines[k] <= lines[k - 1] || lines[k] <= prev.last)
			return k;
		for (;;) {
			if (!stmts_next(&it, &cur))
				return -1;
			if (cur.last >= lines[k])
				break;
			if (uses_taint(&taint, &cur))
				bind_names(&taint, &cur);
		}
		/* in another loop: one of them ran many times, its waits
		 * merged or not, not a call in turn with the other */
		if (uses_taint(&taint, &cur) || cur.loop != prev.loop)
			return k;
		bind_names(&taint, &cur);
		prev = cur;
	}
	return n;
}

int awaitseq__runs(const char *src, int firstline, const int *lines, int n,
		   int runs[][2], int max)
{
	int count = 0, from = 0, k;

	if (!runs || max <= 0)
		return 0;
	while (from < n - 1 && count < max) {
		k = awaitseq__first_dependent(src, firstline, lines + from, n - from);
		if (k < 0)
			return 0;
		if (k >= 2) {
			runs[count][0] = from;
			runs[count][1] = from + k;
			count++;
		}
		from += k;
	}
	return count;
}
