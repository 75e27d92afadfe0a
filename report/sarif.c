// SPDX-License-Identifier: MIT
/* `loopstall report --format sarif`: SARIF 2.1.0 (OASIS), one result per
 * finding group, located at its call site, so code review tools (GitHub
 * code scanning, IDE SARIF viewers) show run-time findings on the line. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "fmt.h"
#include "jsonw.h"
#include "live.h"
#include "report.h"
#include "textcols.h"

#define SARIF_SCHEMA \
	"https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

/* tool.driver.informationUri, which SARIF wants absolute (and the SARIF
 * multitool's SARIF2005 present): the project has no public home page yet,
 * so the directory its package installs the documentation in (`make deb`:
 * README.md and docs/, gzipped when over 4 kB, as Debian does). A home
 * page, once there is one: -DLOOPSTALL_INFO_URI=... */
#ifndef LOOPSTALL_INFO_URI
#define LOOPSTALL_INFO_URI "file:///usr/share/doc/loopstall/"
#endif

static const char *level_of(enum rule_severity s)
{
	return s == SEV_ERROR ? "error" : s == SEV_WARNING ? "warning" : "note";
}

/* A path as a URI reference: bytes other than unreserved ones and '/'
 * percent-encoded. */
static void uri_path(FILE *f, const char *p)
{
	for (; *p; p++) {
		unsigned char c = *p;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-._~/", c))
			fputc(c, f);
		else
			fprintf(f, "%%%02X", c);
	}
}

/* The source root without trailing slashes, its length in *len. */
static const char *root_of(const struct report *r, size_t *len)
{
	const char *root = r->source_root;

	if (!root || !*root)
		return NULL;
	*len = strlen(root);
	while (*len > 1 && root[*len - 1] == '/')
		(*len)--;
	return root;
}

/* artifactLocation: under --source-root, relative to it (uriBaseId
 * SRCROOT); other absolute paths as file:// URIs; relative paths (a
 * script run by a relative name) as they are. */
static void artifact_location(FILE *f, const struct report *r, const char *file)
{
	size_t len = 0;
	const char *root = root_of(r, &len);

	fputs("\"artifactLocation\":{\"uri\":\"", f);
	if (root && file[0] == '/' && !strncmp(file, root, len) && file[len] == '/') {
		uri_path(f, file + len + 1);
		fputs("\",\"uriBaseId\":\"SRCROOT\"}", f);
	} else if (file[0] == '/') {
		fputs("file://", f);
		uri_path(f, file);
		fputs("\"}", f);
	} else {
		uri_path(f, file);
		fputs(root ? "\",\"uriBaseId\":\"SRCROOT\"}" : "\"}", f);
	}
}

/* "Blocking HTTP call" -> "BlockingHTTPCall": SARIF's rule name is an
 * identifier. */
static void rule_ident(FILE *f, const char *name)
{
	bool up = true;

	fputc('"', f);
	for (; name && *name; name++) {
		unsigned char c = *name;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
			fputc(up && c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c, f);
			up = false;
		} else {
			up = true;
		}
	}
	fputc('"', f);
}

/* Length of s without trailing blanks (YAML block scalars end in '\n'). */
static int trimmed(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	while (n && strchr(" \t\r\n", s[n - 1]))
		n--;
	return (int)n;
}

/* A JSON string of s without its trailing blanks. */
static void json_trim(FILE *f, const char *s)
{
	char *t = strndup(s ? s : "", trimmed(s));

	json_str(f, t ? t : "");
	free(t);
}

static void text_obj(FILE *f, const char *key, const char *text)
{
	fprintf(f, "\"%s\":{\"text\":", key);
	json_trim(f, text);
	fputc('}', f);
}

static void print_rule(FILE *f, const struct rule *rule)
{
	char *help = NULL, *md = NULL;
	size_t hl = 0, ml = 0;
	FILE *h = open_memstream(&help, &hl), *m = open_memstream(&md, &ml);

	if (h && m) {
		const char *fix = rule->fix ? rule->fix : "", *bad = rule->example_bad,
			   *good = rule->example_good;

		fprintf(h, "%.*s", trimmed(fix), fix);
		fprintf(m, "**Fix:** %.*s", trimmed(fix), fix);
		const char *what = rule->category == CAT_SEQUENTIAL_AWAIT ? "Waits in turn" :
				   "Blocks the loop";

		if (bad) {
			fprintf(h, "\n\n%s:\n%.*s", what, trimmed(bad), bad);
			fprintf(m, "\n\n%s:\n```python\n%.*s\n```", what, trimmed(bad), bad);
		}
		if (good) {
			fprintf(h, "\n\nInstead:\n%.*s", trimmed(good), good);
			fprintf(m, "\n\nInstead:\n```python\n%.*s\n```", trimmed(good), good);
		}
		for (int i = 0; i < rule->n_lints; i++) {
			fprintf(h, "%s%s", i ? ", " : "\n\nStatic checks: ", rule->lints[i]);
			fprintf(m, "%s`%s`", i ? ", " : "\n\nStatic checks: ", rule->lints[i]);
		}
	}
	if (h)
		fclose(h);
	if (m)
		fclose(m);
	fputs("{\"id\":", f);
	json_str(f, rule->id);
	fputs(",\"name\":", f);
	rule_ident(f, rule->name ? rule->name : rule->id);
	fputc(',', f);
	text_obj(f, "shortDescription", rule->name ? rule->name : rule->id);
	fputc(',', f);
	text_obj(f, "fullDescription", rule->description ? rule->description :
		 rule->name ? rule->name : rule->id);
	fputs(",\"help\":{\"text\":", f);
	json_str(f, help ? help : "");
	fputs(",\"markdown\":", f);
	json_str(f, md ? md : "");
	fprintf(f, "},\"defaultConfiguration\":{\"level\":\"%s\"},\"properties\":{"
		"\"category\":\"%s\",\"tags\":[\"asyncio\",\"performance\",\"%s\"]}}",
		level_of(rule->severity), rule_category_name(rule->category),
		rule_category_name(rule->category));
	free(help);
	free(md);
}

/* FNV-1a of the rule and the call site's file and function: stable while
 * lines move, for code scanning's alert matching across runs. */
static uint64_t fingerprint(const struct finding_group *g)
{
	const char *parts[3] = { g->rule->id, g->file, g->function };
	uint64_t h = 0xcbf29ce484222325ULL;

	for (int i = 0; i < 3; i++) {
		for (const char *p = parts[i] ? parts[i] : ""; *p; p++)
			h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
		h = (h ^ 0xff) * 0x100000001b3ULL;
	}
	return h;
}

/* A result's rule, level and message (msg[0..n), the rule's fix added
 * where it fits in its size). */
static void result_head(FILE *f, const struct rule *rule, int rule_index, char *msg, size_t n,
			size_t size)
{
	if (rule->fix && n < size)
		snprintf(msg + n, size - n, ". Fix: %.*s", trimmed(rule->fix), rule->fix);
	fputs("{\"ruleId\":", f);
	json_str(f, rule->id);
	fprintf(f, ",\"ruleIndex\":%d,\"level\":\"%s\",", rule_index, level_of(rule->severity));
	text_obj(f, "message", msg);
}

static void print_result(FILE *f, const struct report *r, const struct finding_group *g,
			 int rule_index)
{
	const struct finding *fd = report__worst_finding(r, g);
	const struct rule *rule = g->rule;
	char msg[1024], a[32], b[32];
	size_t n;

	n = snprintf(msg, sizeof(msg), "%s: %u event-loop stall%s, %s in total, worst %s",
		     rule->name ? rule->name : rule->id, g->count, g->count == 1 ? "" : "s",
		     fmt_dur(g->total_ns, a, sizeof(a)), fmt_dur(g->worst_ns, b, sizeof(b)));
	if (g->function && n < sizeof(msg))
		n += snprintf(msg + n, sizeof(msg) - n, ", in %s", g->function);
	if (fd && fd->evidence[0] && n < sizeof(msg))
		n += snprintf(msg + n, sizeof(msg) - n, " (%s)", fd->evidence);
	result_head(f, rule, rule_index, msg, n, sizeof(msg));
	if (g->file && *g->file) {
		fputs(",\"locations\":[{\"physicalLocation\":{", f);
		artifact_location(f, r, g->file);
		if (g->line > 0) {
			fprintf(f, ",\"region\":{\"startLine\":%d", g->line);
			if (g->code) {
				fputs(",\"snippet\":{\"text\":", f);
				json_str(f, g->code);
				fputc('}', f);
			}
			fputc('}', f);
		}
		fputc('}', f);
		if (g->function) {
			fputs(",\"logicalLocations\":[{\"fullyQualifiedName\":", f);
			json_str(f, g->function);
			fputs(",\"kind\":\"function\"}]", f);
		}
		fputs("}]", f);
	}
	if (fd && fd->loop_file && *fd->loop_file) {	/* a GIL wait: where the loop was */
		fputs(",\"relatedLocations\":[{\"id\":1,\"physicalLocation\":{", f);
		artifact_location(f, r, fd->loop_file);
		if (fd->loop_line > 0)
			fprintf(f, ",\"region\":{\"startLine\":%d}", fd->loop_line);
		fputs("},", f);
		text_obj(f, "message", "where the event loop waited for the GIL");
		fputs("}]", f);
	}
	fprintf(f, ",\"partialFingerprints\":{\"loopstallCallSite/v1\":\"%016" PRIx64 "\"}",
		fingerprint(g));
	fprintf(f, ",\"properties\":{\"category\":\"%s\",\"stalls\":%u,\"total_ms\":%.3f,"
		"\"worst_ms\":%.3f,\"share\":%.3f}}", rule_category_name(rule->category),
		g->count, g->total_ns / 1e6, g->worst_ns / 1e6,
		r->sum.stalled_ns ? (double)g->total_ns / r->sum.stalled_ns : 0);
}

/* A sequential-await finding (report/awaits.h): where its awaits are, how
 * long they took in turn and what running them together would save. */
static void print_await_result(FILE *f, const struct report *r, const struct await_finding *g,
			       int rule_index)
{
	const struct frame *fr = frames__get(r->sum.aw_frames, g->frame);
	const struct rule *rule = g->rule;
	char msg[1024], a[32], b[32], c[32];
	size_t n;

	n = snprintf(msg, sizeof(msg), "%s: %d awaits in turn in %s, %s a call (%u call%s); "
		     "together ~%s, saving ~%s a call (%s)", rule->name ? rule->name : rule->id,
		     g->n, fr && fr->function ? fr->function : "?",
		     fmt_dur(g->turn_ns, a, sizeof(a)), g->calls, g->calls == 1 ? "" : "s",
		     fmt_dur(g->together_ns, b, sizeof(b)),
		     fmt_dur(g->turn_ns - g->together_ns, c, sizeof(c)), g->evidence);
	result_head(f, rule, rule_index, msg, n, sizeof(msg));
	if (fr && fr->file && *fr->file) {
		fputs(",\"locations\":[{\"physicalLocation\":{", f);
		artifact_location(f, r, fr->file);
		fprintf(f, ",\"region\":{\"startLine\":%d,\"endLine\":%d}}", g->lines[0],
			g->lines[g->n - 1]);
		if (fr->function) {
			fputs(",\"logicalLocations\":[{\"fullyQualifiedName\":", f);
			json_str(f, fr->function);
			fputs(",\"kind\":\"function\"}]", f);
		}
		fputs("}]", f);
	}
	fprintf(f, ",\"properties\":{\"category\":\"%s\",\"calls\":%u,\"in_turn_ms\":%.3f,"
		"\"together_ms\":%.3f}}", rule_category_name(rule->category), g->calls,
		g->turn_ns / 1e6, g->together_ns / 1e6);
}

/* The index of rule in rules[0..*n), added when new. */
static int rule_slot(const struct rule **rules, int *n, const struct rule *rule)
{
	int k;

	for (k = 0; k < *n && rules[k] != rule; k++)
		;
	if (k == *n)
		rules[(*n)++] = rule;
	return k;
}

int report__sarif(FILE *f, const struct report *r)
{
	uint32_t n_res = r->sum.n_groups + r->sum.aw.n_findings;
	const struct rule **rules = calloc(n_res ? n_res : 1, sizeof(*rules));
	int *index = calloc(n_res ? n_res : 1, sizeof(*index));
	int n_rules = 0;
	size_t root_len = 0;
	const char *root = root_of(r, &root_len);

	if (!rules || !index) {
		free(rules);
		free(index);
		return -ENOMEM;
	}
	/* the rules results refer to, in the order they first appear */
	for (uint32_t i = 0; i < r->sum.n_groups; i++)
		index[i] = rule_slot(rules, &n_rules, r->sum.groups[i].rule);
	for (uint32_t i = 0; i < r->sum.aw.n_findings; i++)
		index[r->sum.n_groups + i] = rule_slot(rules, &n_rules, r->sum.aw.findings[i].rule);
	fputs("{\"$schema\":\"" SARIF_SCHEMA "\",\n\"version\":\"2.1.0\",\n\"runs\":[{\n"
	      "\"tool\":{\"driver\":{\"name\":\"loopstall\"", f);
	if (r->version)
		fprintf(f, ",\"version\":\"%s\",\"semanticVersion\":\"%s\"", r->version,
			r->version);
	fputs(",\"informationUri\":", f);
	json_str(f, LOOPSTALL_INFO_URI);
	fputs(",\"rules\":[", f);
	for (int k = 0; k < n_rules; k++) {
		fputs(k ? ",\n" : "\n", f);
		print_rule(f, rules[k]);
	}
	fputs("]}},\n", f);
	if (root) {
		fputs("\"originalUriBaseIds\":{\"SRCROOT\":{\"uri\":\"file://", f);
		if (root[0] != '/')
			fputc('/', f);
		for (size_t i = 0; i < root_len; i++)
			uri_path(f, (char[]){ root[i], 0 });
		fputs(root_len == 1 && root[0] == '/' ? "\"}},\n" : "/\"}},\n", f);
	}
	fputs("\"invocations\":[{\"executionSuccessful\":true", f);
	if (r->rec->truncated) {
		char note[160];

		snprintf(note, sizeof(note), "recording cut short after %u stall%s: the recorder "
			 "was killed or the disk was full", r->rec->n_stalls,
			 r->rec->n_stalls == 1 ? "" : "s");
		fputs(",\"toolExecutionNotifications\":[{\"level\":\"warning\",", f);
		text_obj(f, "message", note);
		fputs("}]", f);
	}
	fputs("}],\n\"results\":[", f);
	for (uint32_t i = 0; i < r->sum.n_groups; i++) {
		fputs(i ? ",\n" : "\n", f);
		print_result(f, r, &r->sum.groups[i], index[i]);
	}
	for (uint32_t i = 0; i < r->sum.aw.n_findings; i++) {
		fputs(i || r->sum.n_groups ? ",\n" : "\n", f);
		print_await_result(f, r, &r->sum.aw.findings[i], index[r->sum.n_groups + i]);
	}
	fputs("]}]}\n", f);
	free(rules);
	free(index);
	return ferror(f) ? -EIO : 0;
}
