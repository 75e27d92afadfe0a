/* Unit tests: probe/output.c (durations, JSON strings, stall and summary
 * printers, text and JSON). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include "output.h"

#define MS 1000000ULL
#define SEC 1000000000ULL
/* 2023-11-14 22:13:20.123456789 UTC */
#define T0 1700000000123456789ULL

static void utc(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
}

TestSuite(output, .init = utc);

/* ---- capture --------------------------------------------------------- */

struct capture {
	FILE *f;
	char *buf;
	size_t len;
};

static void cap_open(struct capture *c)
{
	memset(c, 0, sizeof(*c));
	c->f = open_memstream(&c->buf, &c->len);
	cr_assert_not_null(c->f);
}

static char *cap_close(struct capture *c)
{
	cr_assert_eq(fclose(c->f), 0);
	return c->buf;
}

static char *stall_text(const struct stall *s)
{
	struct capture c;

	cap_open(&c);
	print_stall(c.f, OUT_TEXT, s, NULL);
	return cap_close(&c);
}

static char *stall_json(const struct stall *s, const struct maps *m)
{
	struct capture c;

	cap_open(&c);
	print_stall(c.f, OUT_JSON, s, m);
	return cap_close(&c);
}

static char *summary_out(const struct summary *s, enum out_format fmt)
{
	struct capture c;

	cap_open(&c);
	print_summary(c.f, fmt, s);
	return cap_close(&c);
}

static char *json_of(const char *s)
{
	struct capture c;

	cap_open(&c);
	json_str(c.f, s);
	return cap_close(&c);
}

/* Display columns of a UTF-8 line (continuation bytes take none). */
static size_t columns(const char *s, size_t n)
{
	size_t cols = 0;

	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			cols++;
	return cols;
}

/* Every line of a text block ends in '\n' and is under 80 columns. */
static void expect_narrow(const char *text, const char *what)
{
	const char *p = text;

	cr_assert(*text, "%s: no output", what);
	cr_expect_eq(text[strlen(text) - 1], '\n', "%s: last line not terminated", what);
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		cr_expect_lt(columns(p, n), 80, "%s: line of %zu columns:\n%.*s", what,
			     columns(p, n), (int)n, p);
		cr_expect_eq(memchr(p, '\t', n), NULL, "%s: tab in text output", what);
		p += n + (nl ? 1 : 0);
	}
}

/* A structural JSON check: one object on one line, strings well formed
 * (no raw control characters, valid escapes), brackets balanced and
 * matched outside strings. */
static void expect_json_line(const char *s, const char *type)
{
	char prefix[64], stack[64];
	size_t len = strlen(s), depth = 0;
	bool in_str = false;

	snprintf(prefix, sizeof(prefix), "{\"type\":\"%s\",\"schema_version\":1,", type);
	cr_assert(!strncmp(s, prefix, strlen(prefix)), "JSON does not start with %s:\n%s", prefix, s);
	cr_assert_geq(len, 3);
	cr_assert_str_eq(s + len - 2, "}\n", "JSON does not end with }\\n");
	cr_assert_eq(strchr(s, '\n'), s + len - 1, "JSON is more than one line");
	for (size_t i = 0; i < len - 1; i++) {
		unsigned char c = s[i];

		if (in_str) {
			cr_assert_geq(c, 0x20, "raw control character %#x in a string at %zu", c, i);
			if (c == '\\') {
				char e = s[++i];

				cr_assert(e && strchr("\"\\/bfnrtu", e), "bad escape \\%c at %zu", e, i);
				if (e == 'u')
					for (int k = 1; k <= 4; k++)
						cr_assert(strchr("0123456789abcdefABCDEF", s[i + k]) && s[i + k],
							  "bad \\u escape at %zu", i);
			} else if (c == '"') {
				in_str = false;
			}
			continue;
		}
		switch (c) {
		case '"':
			in_str = true;
			break;
		case '{':
		case '[':
			cr_assert_lt(depth, sizeof(stack), "nested too deep");
			stack[depth++] = c;
			break;
		case '}':
		case ']':
			cr_assert_gt(depth, 0, "unbalanced %c at %zu", c, i);
			cr_assert_eq(stack[--depth], c == '}' ? '{' : '[', "mismatched %c at %zu", c, i);
			cr_assert(depth > 0 || i == len - 2, "text after the object at %zu", i);
			break;
		default:
			cr_assert(c > 0x20, "white space or control %#x outside strings at %zu", c, i);
		}
	}
	cr_assert(!in_str, "unterminated string");
	cr_assert_eq(depth, 0, "unbalanced: %zu open", depth);
}

/* ---- fmt_dur --------------------------------------------------------- */

struct dur_case {
	unsigned long long ns;
	char want[16];
};

ParameterizedTestParameters(output, fmt_dur)
{
	static struct dur_case cases[] = {
		{ 0, "0.0 ms" },
		{ 49999, "0.0 ms" },
		{ 300000, "0.3 ms" },
		{ 201400000, "201.4 ms" },
		{ 999900000, "999.9 ms" },
		{ 999949999, "999.9 ms" },
		{ 999950000, "1.00 s" },	/* would round to 1000.0 ms */
		{ 999999999, "1.00 s" },
		{ 1000000000, "1.00 s" },
		{ 1004999999, "1.00 s" },
		{ 3020000000, "3.02 s" },
		{ 9990000000, "9.99 s" },
		{ 9994999999, "9.99 s" },
		{ 9995000000, "10.0 s" },	/* would round to 10.00 s */
		{ 9999999999, "10.0 s" },
		{ 10000000000, "10.0 s" },
		{ 10049999999, "10.0 s" },
		{ 61500000000, "61.5 s" },
		{ 3600000000000, "3600.0 s" },
	};
	return cr_make_param_array(struct dur_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct dur_case *c, output, fmt_dur)
{
	char buf[32];
	const char *got = fmt_dur(c->ns, buf, sizeof(buf));

	cr_assert_eq(got, buf);
	cr_assert_str_eq(buf, c->want, "fmt_dur(%llu) = \"%s\", want \"%s\"", c->ns, buf, c->want);
}

Test(output, fmt_clock)
{
	char buf[16];

	cr_expect_str_eq(fmt_clock(T0, buf, sizeof(buf)), "22:13:20.123");
	cr_expect_str_eq(fmt_clock(1700006399999999999ULL, buf, sizeof(buf)), "23:59:59.999");
	cr_expect_str_eq(fmt_clock(1700006400000000000ULL, buf, sizeof(buf)), "00:00:00.000");
}

/* ---- json_str -------------------------------------------------------- */

struct json_case {
	char in[24];
	char want[48];
};

ParameterizedTestParameters(output, json_str)
{
	static struct json_case cases[] = {
		{ "", "\"\"" },
		{ "plain", "\"plain\"" },
		{ "say \"hi\"", "\"say \\\"hi\\\"\"" },
		{ "C:\\dir\\", "\"C:\\\\dir\\\\\"" },
		{ "a\nb", "\"a\\nb\"" },
		{ "a\tb", "\"a\\tb\"" },
		{ "\r", "\"\\u000d\"" },
		{ "\x01\x1f", "\"\\u0001\\u001f\"" },
		{ "\b\f", "\"\\u0008\\u000c\"" },
		{ "\x1b[0m", "\"\\u001b[0m\"" },
		{ " ~/\x7f", "\" ~/\x7f\"" },		/* printable and DEL pass */
		{ "caf\xc3\xa9 \xe2\x80\xa6", "\"caf\xc3\xa9 \xe2\x80\xa6\"" },	/* UTF-8 passes */
		{ "\\\"", "\"\\\\\\\"\"" },
	};
	return cr_make_param_array(struct json_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct json_case *c, output, json_str)
{
	char *got = json_of(c->in);

	cr_assert_str_eq(got, c->want, "json_str(\"%s\") = %s, want %s", c->in, got, c->want);
	free(got);
}

Test(output, json_str_null)
{
	char *got = json_of(NULL);

	cr_assert_str_eq(got, "\"\"");
	free(got);
}

/* ---- print_stall ----------------------------------------------------- */

static struct stack_count stacks[3];

static struct stall sample_stall(void)
{
	struct stall s;

	memset(&s, 0, sizeof(s));
	memset(stacks, 0, sizeof(stacks));
	s.pid = 4200;
	s.tid = 4242;
	strcpy(s.thread, "asyncio_loop");
	s.seq = 3;
	s.start_ns = 5 * SEC;
	s.start_unix_ns = T0;
	s.duration_ns = 201400000;
	s.on_cpu_ns = 1300000;
	s.off_cpu_ns = 200100000;
	s.end_nr = SYS_epoll_pwait;
	s.n_waits = 2;
	s.waits[0] = (struct ls_wait){ SYS_clock_nanosleep, 1, 200100000 };
	s.waits[1] = (struct ls_wait){ SYS_futex, 2, 3000000 };
	s.samples_on = 1;
	s.samples_off = 2;
	s.samples_sent = 4;	/* one lost on the way */
	s.samples_lost = 2;	/* two the ring buffer had no room for */
	s.first_sample_ns = 1 * MS;
	s.last_sample_ns = 200 * MS;
	s.n_stacks = 2;
	s.stacks = stacks;
	stacks[0] = (struct stack_count){ .kind = LS_SAMPLE_OFFCPU, .nr = SYS_clock_nanosleep,
		.count = 2, .weight_ns = 200100000, .n_ips = 3,
		.ips = { 0x55d4c8a2f234, 0x7f3b2c000010, 0x1234 } };
	stacks[1] = (struct stack_count){ .kind = LS_SAMPLE_ONCPU, .nr = -1,
		.count = 1, .weight_ns = 1300000, .n_ips = 0 };
	return s;
}

Test(output, stall_text_golden)
{
	struct stall s = sample_stall();
	char *got = stall_text(&s);

	cr_assert_str_eq(got,
		"22:13:20 asyncio_loop/4242    stall 201.4 ms  on-CPU   1.3 ms  off 200.1 ms\n"
		"         waited in clock_nanosleep 200.1 ms, futex (lock/GIL) 3.0 ms\n",
		"got:\n%s", got);
	expect_narrow(got, "stall");
	free(got);
}

Test(output, stall_text_no_waits_seconds)
{
	struct stall s = sample_stall();
	char *got;

	s.n_waits = 0;
	s.duration_ns = 12345 * MS;
	s.on_cpu_ns = 12345 * MS;
	s.off_cpu_ns = 0;
	got = stall_text(&s);
	cr_assert_str_eq(got,
		"22:13:20 asyncio_loop/4242    stall   12.3 s  on-CPU   12.3 s  off   0.0 ms\n",
		"got:\n%s", got);
	free(got);
}

Test(output, stall_text_ongoing)
{
	struct stall s = sample_stall();
	char *got;

	s.ongoing = true;
	s.end_nr = SYS_futex;
	s.n_waits = 1;
	got = stall_text(&s);
	cr_assert_str_eq(got,
		"22:13:20 asyncio_loop/4242    stall 201.4 ms  on-CPU   1.3 ms  off 200.1 ms\n"
		"         waited in clock_nanosleep 200.1 ms\n"
		"         still blocked when the session ended\n",
		"got:\n%s", got);
	expect_narrow(got, "ongoing stall");
	free(got);
}

Test(output, stall_text_waits_cut)
{
	struct stall s = sample_stall();
	char *got;

	s.n_waits = 5;
	s.waits[2] = (struct ls_wait){ LS_WAIT_RUNQ, 3, 1 * MS };
	s.waits[3] = (struct ls_wait){ LS_WAIT_OTHER, 1, 1 * MS };
	s.waits[4] = (struct ls_wait){ SYS_read, 1, 1 * MS };
	got = stall_text(&s);
	cr_assert_str_eq(got,
		"22:13:20 asyncio_loop/4242    stall 201.4 ms  on-CPU   1.3 ms  off 200.1 ms\n"
		"         waited in clock_nanosleep 200.1 ms, futex (lock/GIL) 3.0 ms, \xe2\x80\xa6\n",
		"got:\n%s", got);
	expect_narrow(got, "cut waits");
	free(got);
}

/* The widest stall line real values give: a 15-character thread name (the
 * kernel's limit), a 7-digit TID (pid_max is 4194304), long durations, and
 * the longest wait labels. */
Test(output, stall_text_under_80_columns)
{
	static const char *const names[] = { "a", "asyncio_loop", "ThreadPoolExecu" };
	static const uint32_t tids[] = { 1, 4242, 4194303 };
	static const uint64_t durs[] = { 100 * MS, 999949999, 9994999999ULL, 3599 * SEC };
	struct stall s = sample_stall();

	s.n_waits = LS_MAX_WAITS;
	for (int i = 0; i < LS_MAX_WAITS; i++)
		s.waits[i] = (struct ls_wait){ i % 2 ? LS_WAIT_RUNQ : SYS_futex, 1, 999 * MS };
	for (size_t n = 0; n < 3; n++)
		for (size_t t = 0; t < 3; t++)
			for (size_t d = 0; d < 4; d++) {
				char what[64], *got;

				strcpy(s.thread, names[n]);
				s.tid = tids[t];
				s.duration_ns = s.on_cpu_ns = s.off_cpu_ns = durs[d];
				s.ongoing = d & 1;
				snprintf(what, sizeof(what), "%s/%u %llu ns", names[n], tids[t],
					 (unsigned long long)durs[d]);
				got = stall_text(&s);
				expect_narrow(got, what);
				free(got);
			}
}

Test(output, stall_json_structure)
{
	struct stall s = sample_stall();
	char *got = stall_json(&s, NULL);

	expect_json_line(got, "stall");
	cr_expect(strstr(got, "\"pid\":4200,\"tid\":4242,\"thread\":\"asyncio_loop\","), "%s", got);
	cr_expect(strstr(got, "\"start_unix_ns\":1700000000123456789,"), "%s", got);
	cr_expect(strstr(got, "\"duration_ms\":201.400,\"on_cpu_ms\":1.300,\"off_cpu_ms\":200.100,"
			      "\"ongoing\":false,\"ended_by\":\"epoll_pwait\","), "%s", got);
	cr_expect(strstr(got, "\"waits\":[{\"what\":\"clock_nanosleep\",\"ms\":200.100,\"count\":1},"
			      "{\"what\":\"futex (lock/GIL)\",\"ms\":3.000,\"count\":2}]"), "%s", got);
	/* lost: 2 reported by BPF + 1 sent but never kept (4 - 1 - 2) */
	cr_expect(strstr(got, "\"samples\":{\"on_cpu\":1,\"off_cpu\":2,\"first_ms\":1.000,"
			      "\"last_ms\":200.000,\"lost\":3}"), "%s", got);
	cr_expect(strstr(got, "{\"count\":2,\"ms\":200.100,\"cpu\":\"off\",\"syscall\":\"clock_nanosleep\","
			      "\"frames\":[{\"kind\":\"native\",\"function\":null,\"file\":null,"
			      "\"line\":null,\"address\":\"0x55d4c8a2f234\",\"module\":null},"), "%s", got);
	cr_expect(strstr(got, "{\"count\":1,\"ms\":1.300,\"cpu\":\"on\",\"syscall\":null,\"frames\":[]}"),
		  "%s", got);
	cr_expect(strstr(got, "],\"findings\":[]}\n"), "%s", got);
	free(got);
}

Test(output, stall_json_modules_and_offsets)
{
	static const char text[] =
		"55d4c8a00000-55d4c8a2e000 r--p 00000000 08:01 1311234  /usr/bin/python3.11\n"
		"55d4c8a2e000-55d4c8d1f000 r-xp 0002e000 08:01 1311234  /usr/bin/python3.11\n"
		"7f3b2c000000-7f3b2c021000 rw-p 00000000 00:00 0 \n"
		"7f3b30a22000-7f3b30b9a000 r-xp 00022000 fd:02 1315000  /home/u/my \"app\"/lib.so\n";
	struct stall s = sample_stall();
	struct maps m;
	char *got;

	cr_assert_eq(maps__parse(&m, text), 0);
	stacks[0].n_ips = 4;
	stacks[0].ips[3] = 0x7f3b30a22abc;
	got = stall_json(&s, &m);
	expect_json_line(got, "stall");
	cr_expect(strstr(got, "\"address\":\"0x55d4c8a2f234\",\"module\":\"/usr/bin/python3.11\","
			      "\"offset\":\"0x2f234\"}"), "%s", got);
	/* anonymous memory and unmapped addresses have no module */
	cr_expect(strstr(got, "\"address\":\"0x7f3b2c000010\",\"module\":null}"), "%s", got);
	cr_expect(strstr(got, "\"address\":\"0x1234\",\"module\":null}"), "%s", got);
	cr_expect(strstr(got, "\"address\":\"0x7f3b30a22abc\",\"module\":\"/home/u/my \\\"app\\\"/lib.so\","
			      "\"offset\":\"0x22abc\"}"), "%s", got);
	maps__free(&m);
	free(got);
}

Test(output, stall_json_ongoing_and_escapes)
{
	struct stall s = sample_stall();
	char *got;

	s.ongoing = true;
	s.end_nr = -1;
	strcpy(s.thread, "a\"b\\c\nd\x01");
	s.samples_sent = 0;
	s.samples_lost = 0;
	stacks[1].nr = LS_WAIT_RUNQ;
	stacks[1].kind = LS_SAMPLE_OFFCPU;
	got = stall_json(&s, NULL);
	expect_json_line(got, "stall");
	cr_expect(strstr(got, "\"thread\":\"a\\\"b\\\\c\\nd\\u0001\","), "%s", got);
	cr_expect(strstr(got, "\"ongoing\":true,\"in_syscall\":null,"), "%s", got);
	cr_expect(!strstr(got, "ended_by"), "%s", got);
	cr_expect(strstr(got, "\"lost\":0}"), "%s", got);	/* never negative */
	cr_expect(strstr(got, "\"cpu\":\"off\",\"syscall\":\"runqueue (CPU busy)\""), "%s", got);
	free(got);
}

Test(output, stall_json_ongoing_pseudo_waits)
{
	static const struct { int32_t nr; const char *want; } cases[] = {
		{ LS_WAIT_RUNQ, "\"in_syscall\":\"runqueue (CPU busy)\"," },
		{ LS_WAIT_OTHER, "\"in_syscall\":\"other (page fault)\"," },
		{ SYS_futex, "\"in_syscall\":\"futex (lock/GIL)\"," },
		{ -1, "\"in_syscall\":null," },
		{ -4, "\"in_syscall\":null," },
	};
	struct stall s = sample_stall();

	s.ongoing = true;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got;

		s.end_nr = cases[i].nr;
		got = stall_json(&s, NULL);
		expect_json_line(got, "stall");
		cr_expect(strstr(got, cases[i].want), "nr %d: want %s in\n%s", cases[i].nr,
			  cases[i].want, got);
		free(got);
	}
}

Test(output, stall_json_empty)
{
	struct stall s;
	char *got;

	memset(&s, 0, sizeof(s));
	s.end_nr = -1;
	got = stall_json(&s, NULL);
	expect_json_line(got, "stall");
	cr_expect(strstr(got, "\"waits\":[],"), "%s", got);
	cr_expect(strstr(got, "\"stacks\":[],"), "%s", got);
	free(got);
}

/* ---- print_summary --------------------------------------------------- */

static struct loop_info loops[2];

static struct summary sample_summary(void)
{
	struct summary s;

	memset(&s, 0, sizeof(s));
	loops[0] = (struct loop_info){ 4242, "asyncio_loop", "epoll", 3, 1050 * MS, 800 * MS };
	loops[1] = (struct loop_info){ 4250, "worker-2", "poll", 1, 150 * MS, 150 * MS };
	s.pid = 4200;
	s.comm = "python3";
	s.py_version = "3.11.2";
	s.ended_by = "signal";
	s.span_ns = 60 * SEC;
	s.threshold_ns = 100 * MS;
	s.stalls = 4;
	s.stalled_ns = 1200 * MS;
	s.worst_ns = 800 * MS;
	s.n_loops = 2;
	s.loops = loops;
	return s;
}

Test(output, summary_text_golden)
{
	struct summary s = sample_summary();
	char *got = summary_out(&s, OUT_TEXT);

	cr_assert_str_eq(got,
		"\n"
		"loopstall: python3 (3.11.2) ended by signal after 60.0 s\n"
		"  4 stalls >= 100.0 ms in 2 loops; stalled 1.20 s (2.0%), worst 800.0 ms\n"
		"  asyncio_loop/4242        epoll     3 stalls    1.05 s  worst 800.0 ms\n"
		"  worker-2/4250            poll      1 stall   150.0 ms  worst 150.0 ms\n"
		"  no events lost\n",
		"got:\n%s", got);
	expect_narrow(got, "summary");
	free(got);
}

Test(output, summary_text_lost_singular)
{
	struct summary s = sample_summary();
	char *got;

	s.stalls = 1;
	s.n_loops = 1;
	s.stalled_ns = 150 * MS;
	s.worst_ns = 150 * MS;
	s.span_ns = 3 * SEC;
	s.ended_by = "target exit";
	loops[0] = loops[1];
	s.lost_stalls = 1;
	s.lost_samples = 22;
	s.lost_threads = 333;
	s.dropped_samples = 4444;
	got = summary_out(&s, OUT_TEXT);
	cr_assert_str_eq(got,
		"\n"
		"loopstall: python3 (3.11.2) ended by target exit after 3.00 s\n"
		"  1 stall >= 100.0 ms in 1 loop; stalled 150.0 ms (5.0%), worst 150.0 ms\n"
		"  worker-2/4250            poll      1 stall   150.0 ms  worst 150.0 ms\n"
		"  LOST: 1 stalls, 22 samples (ring buffer full);\n"
		"        333 loop threads (table full), 4444 samples over cap\n",
		"got:\n%s", got);
	expect_narrow(got, "summary with losses");
	free(got);
}

Test(output, summary_text_empty_session)
{
	struct summary s = sample_summary();
	char *got;

	s.span_ns = 0;		/* no division by zero */
	s.stalls = 0;
	s.stalled_ns = 0;
	s.worst_ns = 0;
	s.n_loops = 0;
	got = summary_out(&s, OUT_TEXT);
	cr_assert_str_eq(got,
		"\n"
		"loopstall: python3 (3.11.2) ended by signal after 0.0 ms\n"
		"  0 stalls >= 100.0 ms in 0 loops; stalled 0.0 ms (0.0%), worst 0.0 ms\n"
		"  no events lost\n",
		"got:\n%s", got);
	free(got);
}

Test(output, summary_text_under_80_columns)
{
	struct summary s = sample_summary();
	char *got;

	/* wide but consistent: 15-char names, 7-digit TIDs, an hour-long
	 * session stalled almost throughout (stalls * threshold <= stalled,
	 * worst <= stalled - (stalls - 1) * threshold) */
	loops[0] = (struct loop_info){ 4194303, "ThreadPoolExecu", "select", 9998,
				       3499900 * MS, 2500300 * MS };
	loops[1] = (struct loop_info){ 4194302, "asyncio_loop_2", "epoll", 1, 100 * MS, 100 * MS };
	s.comm = "ThreadPoolExecu";
	s.py_version = "3.15.0a1";
	s.ended_by = "target exit";
	s.span_ns = 3600 * SEC;
	s.threshold_ns = 100 * MS;
	s.stalls = 9999;
	s.stalled_ns = 3500 * SEC;
	s.worst_ns = 2500300 * MS;
	s.lost_stalls = 999999;
	s.lost_samples = 99999999;
	s.lost_threads = 999;
	s.dropped_samples = 99999999;
	got = summary_out(&s, OUT_TEXT);
	expect_narrow(got, "wide summary");
	free(got);
}

Test(output, summary_json_structure)
{
	struct summary s = sample_summary();
	char *got;

	s.lost_samples = 7;
	strcpy(loops[1].thread, "w\"2");
	got = summary_out(&s, OUT_JSON);
	expect_json_line(got, "summary");
	cr_expect(strstr(got, "\"pid\":4200,\"python\":\"3.11.2\",\"ended_by\":\"signal\","
			      "\"span_ms\":60000.000,\"threshold_ms\":100.000,\"stalls\":4,"
			      "\"stalled_ms\":1200.000,\"worst_ms\":800.000,\"loops\":["), "%s", got);
	cr_expect(strstr(got, "{\"tid\":4242,\"thread\":\"asyncio_loop\",\"poll\":\"epoll\","
			      "\"stalls\":3,\"stalled_ms\":1050.000,\"worst_ms\":800.000},"
			      "{\"tid\":4250,\"thread\":\"w\\\"2\","), "%s", got);
	cr_expect(strstr(got, "\"lost\":{\"stalls\":0,\"samples\":7,\"threads\":0,"
			      "\"samples_over_cap\":0}}\n"), "%s", got);
	free(got);

	s.n_loops = 0;
	got = summary_out(&s, OUT_JSON);
	expect_json_line(got, "summary");
	cr_expect(strstr(got, "\"loops\":[],"), "%s", got);
	free(got);
}
