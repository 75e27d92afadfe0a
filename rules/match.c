// SPDX-License-Identifier: MIT
/* The matcher (match.h): each rule of a pack tried on a stall's stacks
 * (frames, syscall and its arguments, fd kind, on/off-CPU share, duration,
 * source patterns); the rules that hold become findings with a call site
 * and evidence. Pure: no I/O. */
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include "match.h"
#include <linux/types.h>
#include "loopstall.h"	/* LS_WAIT_* */
#include "syscalls.h"

static bool glob_ok(const char *pat, const char *s)
{
	return !pat || (s && !fnmatch(pat, s, 0));
}

/* A module pattern without wildcards matches the module and its
 * submodules: "requests" matches "requests" and "requests.api". */
static bool module_ok(const char *pat, const char *mod)
{
	size_t n;

	if (!pat)
		return true;
	if (!mod)
		return false;
	if (strpbrk(pat, "*?["))
		return !fnmatch(pat, mod, 0);
	n = strlen(pat);
	return !strncmp(pat, mod, n) && (mod[n] == 0 || mod[n] == '.');
}

static bool any_regex(const regex_t *v, int n, const char *text, regmatch_t *m);

/* The condition of c (c itself, or the alternative of its any) that
 * matches f, or NULL. innermost: f is the stack's innermost Python frame,
 * the only one a code condition speaks of. */
static const struct frame_cond *frame_hit(const struct frame_cond *c,
					  const struct match_frame *f, bool innermost)
{
	bool py = c->module || c->qualname || c->file || c->n_code;
	bool native = c->native || c->library;
	regmatch_t m;

	for (int i = 0; i < c->n_any; i++)
		if (frame_hit(&c->any[i], f, innermost))
			return &c->any[i];
	if (c->n_any)
		return NULL;
	if ((py && !f->python) || (native && f->python))
		return NULL;
	if (c->n_code && (!innermost || !f->code || !any_regex(c->code, c->n_code, f->code, &m)))
		return NULL;
	return module_ok(c->module, f->module) && glob_ok(c->qualname, f->function) &&
	       glob_ok(c->file, f->file) && glob_ok(c->native, f->function) &&
	       glob_ok(c->library, f->library) ? c : NULL;
}

static int innermost_python(const struct match_stack *st);

/* Index of the first frame of st matching c, or -1; *hit: the condition
 * (c or an alternative) that matched, when not NULL. */
static int find_frame(const struct frame_cond *c, const struct match_stack *st,
		      const struct frame_cond **hit)
{
	int ip = innermost_python(st);

	for (int i = 0; i < st->n; i++) {
		const struct frame_cond *h = frame_hit(c, &st->frames[i], i == ip);

		if (h) {
			if (hit)
				*hit = h;
			return i;
		}
	}
	return -1;
}

static bool arg_ok(const struct syscall_cond *c, const struct match_stack *st)
{
	int64_t v;

	if (c->arg < 0)
		return true;
	if (c->arg > 5)
		return false;
	v = st->args[c->arg];
	switch (c->op) {
	case ARG_EQ: return v == c->value;
	case ARG_NE: return v != c->value;
	case ARG_LT: return v < c->value;
	case ARG_LE: return v <= c->value;
	case ARG_GT: return v > c->value;
	case ARG_GE: return v >= c->value;
	}
	return false;
}

static bool syscall_ok(const struct syscall_cond *c, const struct match_stack *st)
{
	const char *name = st->nr >= 0 ? syscall__name(st->nr) :
			   st->nr == LS_WAIT_STOPPED ? "stopped" : NULL;
	bool named = !c->n_names;

	for (int i = 0; i < c->n_names && !named; i++)
		named = name && !strcmp(c->names[i], name);
	if (named && (c->n_names == 0 || name) && arg_ok(c, st))
		return true;
	return c->or_frame && find_frame(c->or_frame, st, NULL) >= 0;
}

static int innermost_python(const struct match_stack *st)
{
	for (int i = 0; i < st->n; i++)
		if (st->frames[i].python)
			return i;
	return -1;
}

static int call_site(const struct match_stack *st)
{
	for (int i = 0; i < st->n; i++)
		if (st->frames[i].python && st->frames[i].user)
			return i;
	return innermost_python(st);
}

static bool any_regex(const regex_t *v, int n, const char *text, regmatch_t *m)
{
	for (int i = 0; i < n; i++)
		if (!regexec(&v[i], text, 1, m, 0))
			return true;
	return false;
}

static bool file_ok(const struct rule *r, const char *file)
{
	if (!r->n_file_globs)
		return true;
	for (int i = 0; i < r->n_file_globs; i++)
		if (file && !fnmatch(r->file_globs[i], file, 0))
			return true;
	return false;
}

/* The source conditions on the functions of st: the frame they hold on
 * (its index) and the line, or -1. */
static int source_match(const struct rule *r, const struct match_stack *st, int *line,
			char *why, size_t len)
{
	for (int i = 0; i < st->n; i++) {
		const struct match_frame *f = &st->frames[i];
		regmatch_t m;

		/* the user's rules speak of the user's code, not of the
		 * stdlib's http/client.py, which the glob *client*.py names too */
		if (!f->python || !f->user || !f->source || !file_ok(r, f->file))
			continue;
		if (r->n_anti && any_regex(r->anti, r->n_anti, f->source, &m)) {
			int l = f->source_line;

			for (const char *p = f->source; p < f->source + m.rm_so; p++)
				l += *p == '\n';
			/* the call site stays the line that was running; the
			 * evidence says where the pattern is */
			*line = f->line;
			snprintf(why, len, "%s, line %d, matches the anti-pattern %s",
				 f->function ? f->function : "?", l,
				 r->anti_src ? r->anti_src[0] : "");
			return i;
		}
		if (r->n_required &&
		    (!r->n_context || any_regex(r->context, r->n_context, f->source, &m)) &&
		    !any_regex(r->required, r->n_required, f->source, &m)) {
			*line = f->line;
			snprintf(why, len, "%s lacks %s", f->function ? f->function : "?",
				 r->required_src ? r->required_src[0] : "a required pattern");
			return i;
		}
		if (r->n_suggested && !r->n_anti && !r->n_required &&
		    !any_regex(r->suggested, r->n_suggested, f->source, &m)) {
			*line = f->line;
			snprintf(why, len, "%s uses none of %s", f->function ? f->function : "?",
				 r->suggested_src ? r->suggested_src[0] : "the suggested patterns");
			return i;
		}
	}
	return -1;
}

static int line_of(const struct match_frame *f, regoff_t off)
{
	int l = f->source_line;

	for (const char *p = f->source; p < f->source + off; p++)
		l += *p == '\n';
	return l;
}

bool match__sequence(const struct rule *r, const struct match_frame *f, int first, int last,
		     char *why, size_t len)
{
	regmatch_t m;

	*why = 0;
	if (r->category != CAT_SEQUENTIAL_AWAIT || !file_ok(r, f->file))
		return false;
	if (!r->n_anti && !r->n_required && !r->n_suggested)
		return true;
	if (!f->source)
		return false;
	for (int i = 0; i < r->n_anti; i++) {
		const char *p = f->source;

		/* each match in turn, until one starts among the awaits */
		while (!regexec(&r->anti[i], p, 1, &m, p == f->source ? 0 : REG_NOTBOL)) {
			int l = line_of(f, p - f->source + m.rm_so);

			if (l > last)
				break;
			if (l >= first) {
				snprintf(why, len, "line %d matches the anti-pattern %s", l,
					 r->anti_src ? r->anti_src[i] : "");
				return true;
			}
			/* on from the next character: a match may start
			 * inside this one */
			if (!p[m.rm_so])
				break;
			p += m.rm_so + 1;
		}
	}
	if (r->n_anti)
		return false;
	if (r->n_required)
		return (!r->n_context || any_regex(r->context, r->n_context, f->source, &m)) &&
		       !any_regex(r->required, r->n_required, f->source, &m);
	return !any_regex(r->suggested, r->n_suggested, f->source, &m);
}

static void frame_label(const struct match_frame *f, char *buf, size_t len)
{
	const char *file = f->file ? strrchr(f->file, '/') : NULL;

	if (f->python)
		snprintf(buf, len, "%s%s%s (%s:%d)", f->module ? f->module : "",
			 f->module ? "." : "", f->function ? f->function : "?",
			 file ? file + 1 : f->file ? f->file : "?", f->line);
	else
		snprintf(buf, len, "%s (%s)", f->function ? f->function : "?",
			 f->library ? f->library : "?");
}

/* The function with the most on-CPU time over the stall's stacks: for
 * CPU-bound findings. */
static void hottest(const struct match_stall *s, char *buf, size_t len)
{
	double best = 0;
	const struct match_frame *bf = NULL;

	for (int i = 0; i < s->n; i++) {
		const struct match_stack *st = &s->stacks[i];
		int p = innermost_python(st);
		double w = st->share;

		if (!st->on_cpu || p < 0)
			continue;
		for (int j = i + 1; j < s->n; j++) {	/* same function elsewhere */
			int q = innermost_python(&s->stacks[j]);

			if (s->stacks[j].on_cpu && q >= 0 &&
			    s->stacks[j].frames[q].function && st->frames[p].function &&
			    !strcmp(s->stacks[j].frames[q].function, st->frames[p].function))
				w += s->stacks[j].share;
		}
		if (w > best) {
			best = w;
			bf = &st->frames[p];
		}
	}
	buf[0] = 0;
	if (bf) {
		char label[160];

		frame_label(bf, label, sizeof(label));
		snprintf(buf, len, "; hottest: %s, %.0f%% of its time", label, best * 100);
	}
}

/* A frame matched by a code condition: its line, appended to ev
 * (": pat.match(text)"), runs of blanks as one, cut at 60 characters to
 * keep room for the rest of the evidence. */
static void code_words(const struct frame_cond *hit, const struct match_frame *f,
		       char *ev, size_t len)
{
	char line[64];
	size_t n = 0;
	const char *c;

	if (!hit->n_code || !f->code)
		return;
	for (c = f->code; *c && n < 60; c++)
		if (!(*c == ' ' || *c == '\t') || (n && line[n - 1] != ' '))
			line[n++] = *c == '\t' ? ' ' : *c;
	while (n && line[n - 1] == ' ')
		n--;
	line[n] = 0;
	n = strlen(ev);
	if (n < len)
		snprintf(ev + n, len - n, ": %s%s", line, *c ? "..." : "");
}

/* "recvfrom on a tcp socket", "fsync on a file", "clock_nanosleep": the
 * syscall st is in, and its fd's kind when known. */
static void syscall_words(const struct match_stack *st, char *buf, size_t len)
{
	const char *name = syscall__name(st->nr);
	bool sock = st->fd_kind == FD_TCP || st->fd_kind == FD_UDP || st->fd_kind == FD_UNIX;

	snprintf(buf, len, "%s%s%s%s", name ? name : "a syscall",
		 st->fd_kind >= 0 ? " on a " : "",
		 st->fd_kind >= 0 ? fd_kind_name(st->fd_kind) : "", sock ? " socket" : "");
}

/* Does r hold on stack k of s? Fills the finding fd when it does and fd
 * is not NULL. */
static bool rule_on_stack(const struct rule *r, const struct match_stall *s, int k,
			  struct match_hit *fd)
{
	const struct match_stack *st = &s->stacks[k];
	double on = s->duration_ns ? (double)s->on_cpu_ns / s->duration_ns : 0;
	const struct frame_cond *hit;
	char ev[256] = "", part[192];
	int site = -1, line = 0;

	if (on < r->min_on_cpu || (r->max_on_cpu < 1 && on > r->max_on_cpu))
		return false;
	if (s->duration_ns < r->min_duration_ns || (r->gil_wait && !s->gil_wait))
		return false;
	if (r->syscall && !syscall_ok(r->syscall, st))
		return false;
	if (r->fd_kinds && (st->fd_kind < 0 || !(r->fd_kinds & (1u << st->fd_kind))))
		return false;
	for (int i = 0; i < r->n_unless; i++)
		if (find_frame(&r->unless[i], st, NULL) >= 0)
			return false;
	if (r->innermost) {
		int p = innermost_python(st);

		if (p < 0 || !(hit = frame_hit(r->innermost, &st->frames[p], true)))
			return false;
		frame_label(&st->frames[p], part, sizeof(part));
		snprintf(ev, sizeof(ev), "in %s", part);
		code_words(hit, &st->frames[p], ev, sizeof(ev));
	}
	for (int i = 0; i < r->n_frames; i++) {
		int j = find_frame(&r->frames[i], st, &hit);

		if (j < 0)
			return false;
		if (i == 0 && !ev[0]) {
			frame_label(&st->frames[j], part, sizeof(part));
			snprintf(ev, sizeof(ev), hit->n_code ? "in %s" : "%s on the stack", part);
			code_words(hit, &st->frames[j], ev, sizeof(ev));
		}
	}
	if (rule__has_source(r)) {
		char why[192];
		int i = source_match(r, st, &line, why, sizeof(why));

		if (i < 0)
			return false;
		site = i;
		snprintf(ev + strlen(ev), sizeof(ev) - strlen(ev), "%s%s", ev[0] ? "; " : "", why);
	}
	if (!fd)
		return true;
	if (st->nr >= 0 && (r->syscall || r->fd_kinds)) {
		syscall_words(st, part, sizeof(part));
		snprintf(ev + strlen(ev), sizeof(ev) - strlen(ev), "%sin %s",
			 ev[0] ? "; " : "", part);
		if (r->syscall && r->syscall->arg >= 0)
			snprintf(ev + strlen(ev), sizeof(ev) - strlen(ev), " (arg %d = %lld)",
				 r->syscall->arg, (long long)st->args[r->syscall->arg]);
	}
	if (r->min_on_cpu > 0 || r->category == CAT_CPU) {
		char hot[192];

		hottest(s, hot, sizeof(hot));
		snprintf(ev + strlen(ev), sizeof(ev) - strlen(ev), "%son-CPU %.0f%%%s",
			 ev[0] ? "; " : "", on * 100, hot);
	}
	if (r->gil_wait)
		snprintf(ev + strlen(ev), sizeof(ev) - strlen(ev), "%swaits for the GIL",
			 ev[0] ? "; " : "");
	if (site < 0)
		site = call_site(st);
	fd->rule = r;
	fd->stack = k;
	fd->site = site;
	fd->line = line ? line : site >= 0 ? st->frames[site].line : 0;
	snprintf(fd->evidence, sizeof(fd->evidence), "%s", ev);
	return true;
}

/* A rule that states no condition at all (a seed rule that only
 * describes a practice) matches nothing, rather than every stall. */
static bool has_conditions(const struct rule *r)
{
	return r->n_frames || r->innermost || r->syscall || r->fd_kinds ||
	       r->min_on_cpu > 0 || r->max_on_cpu < 1 || r->min_duration_ns ||
	       r->gil_wait || rule__has_source(r);
}

/* Does r name something a stack shows (a frame, a syscall, an fd, source,
 * a GIL wait)? Sequential awaits are not judged on a stall: awaiting one
 * thing after another never blocks a loop (a question for the tasks'
 * analysis, not for the stacks of a stall). */
static bool names_stack(const struct rule *r)
{
	return r->category != CAT_SEQUENTIAL_AWAIT &&
	       (r->n_frames || r->innermost || r->syscall || r->fd_kinds || r->gil_wait ||
		rule__has_source(r));
}

/* The share of s that some rule naming something holds on; *free: the
 * heaviest stack none holds on (-1: none). */
static double named_by_others(const struct rule_pack *p, const struct match_stall *s,
			      int *free)
{
	double share = 0;

	*free = -1;
	for (int k = 0; k < s->n; k++) {
		bool named = false;

		for (int i = 0; i < p->n && !named; i++)
			named = names_stack(&p->v[i]) && has_conditions(&p->v[i]) &&
				rule_on_stack(&p->v[i], s, k, NULL);
		if (named)
			share += s->stacks[k].share;
		else if (*free < 0 || s->stacks[k].share > s->stacks[*free].share)
			*free = k;
	}
	return share;
}

/* A rule that names nothing on the stack (on_cpu, duration, exclusions:
 * a catch-all) speaks for what no rule naming something holds on, when
 * that is most of s: it is judged by the heaviest stack of that rest. */
static bool catch_all(const struct rule *r, const struct match_stall *s, double named,
		      int free, struct match_hit *out)
{
	if (free < 0 || named >= 0.5 || !rule_on_stack(r, s, free, out))
		return false;
	out->share = 1 - named;
	return true;
}

int match__stall(const struct rule_pack *p, const struct match_stall *s,
		 struct match_hit *out, int max)
{
	int n = 0, free = -2;	/* -2: named_by_others() not asked yet */
	double named = 0;

	for (int i = 0; i < p->n && n < max; i++) {
		double share = 0;
		int first = -1;

		if (!has_conditions(&p->v[i]) || p->v[i].category == CAT_SEQUENTIAL_AWAIT)
			continue;
		if (!names_stack(&p->v[i])) {
			if (free == -2)
				named = named_by_others(p, s, &free);
			n += catch_all(&p->v[i], s, named, free, &out[n]);
			continue;
		}
		/* A cause spreads over many stacks (a recursive decoder, a
		 * loop calling several helpers): r counts with the share of
		 * every stack it holds on, and speaks through the heaviest. */
		for (int k = 0; k < s->n; k++)
			if (rule_on_stack(&p->v[i], s, k, first < 0 ? &out[n] : NULL)) {
				first = first < 0 ? k : first;
				share += s->stacks[k].share;
			}
		if (first == 0 || (first > 0 && share >= MATCH_MIN_SHARE - 1e-9)) {
			out[n].share = share > 1 ? 1 : share;
			n++;
		}
	}
	return n;
}

double match__named_share(const struct match_hit *hits, int n, const struct match_stall *s)
{
	double share = 0;

	for (int k = 0; k < s->n; k++)
		for (int i = 0; i < n; i++)
			if (names_stack(hits[i].rule) && rule_on_stack(hits[i].rule, s, k, NULL)) {
				share += s->stacks[k].share;
				break;
			}
	for (int i = 0; i < n; i++)	/* the rest, a catch-all's */
		if (!names_stack(hits[i].rule))
			share += hits[i].share;
	return share > 1 ? 1 : share;
}

const struct rule match__unmatched = {
	.id = (char *)"LS000",
	.name = (char *)"stall no rule names",
	.category = CAT_OTHER,
	.severity = SEV_INFO,
	.description = (char *)"No rule of the packs in use holds on this stall. It is "
		"still a stall: its stack shows what the loop thread ran or waited in.",
	.fix = (char *)"Read the stack: the call site is where your code was. A rule of "
		"your own (docs/rules.md) can name the cause next time.",
	.max_on_cpu = 1,
	.pack = (char *)"(built in)",
};

void match__other(const struct match_stall *s, struct match_hit *out)
{
	const struct match_stack *st = s->n ? &s->stacks[0] : NULL;
	double on = s->duration_ns ? (double)s->on_cpu_ns / s->duration_ns : 0;
	char hot[192] = "", words[160] = "";

	*out = (struct match_hit){ .rule = &match__unmatched, .site = -1, .share = 1 };
	if (!st) {
		snprintf(out->evidence, sizeof(out->evidence), "no rule matched; %s",
			 s->off_cpu_ns ? "no sample was taken in the stall" :
			 "not sampled: on the CPU throughout, between two sampling ticks");
		return;
	}
	out->stack = 0;
	out->site = call_site(st);
	out->line = out->site >= 0 ? st->frames[out->site].line : 0;
	if (st->nr >= 0)
		syscall_words(st, words, sizeof(words));
	if (on >= 0.5)
		hottest(s, hot, sizeof(hot));
	snprintf(out->evidence, sizeof(out->evidence), "no rule matched; %s%s%son-CPU %.0f%%%s",
		 words[0] ? "mostly in " : "", words, words[0] ? "; " : "", on * 100, hot);
}

const char *match__module_of(const char *file, char *buf, unsigned long len)
{
	static const char *const roots[] = {
		"/site-packages/", "/dist-packages/", "/lib/python3", "/lib64/python3",
	};
	const char *rel = NULL;
	size_t n;

	if (!file || file[0] == '<') {
		snprintf(buf, len, "%s", file ? file : "?");
		return buf;
	}
	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]) && !rel; i++) {
		const char *r = strstr(file, roots[i]);

		if (!r)
			continue;
		rel = r + strlen(roots[i]);
		if (roots[i][1] == 'l') {	/* /lib/python3.11/json/… */
			rel = strchr(rel, '/');
			rel = rel ? rel + 1 : NULL;
		}
		/* a later site-packages under the stdlib dir wins */
		if (rel && (r = strstr(rel, "site-packages/")))
			rel = r + strlen("site-packages/");
	}
	if (!rel) {
		rel = strrchr(file, '/');
		rel = rel ? rel + 1 : file;
	}
	snprintf(buf, len, "%s", rel);
	n = strlen(buf);
	if (n > 3 && !strcmp(buf + n - 3, ".py"))
		buf[n -= 3] = 0;
	if (n > 9 && !strcmp(buf + n - 9, "/__init__"))
		buf[n -= 9] = 0;
	for (char *c = buf; *c; c++)
		if (*c == '/')
			*c = '.';
	return buf;
}
