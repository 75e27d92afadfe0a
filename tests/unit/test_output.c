// SPDX-License-Identifier: MIT
/* Unit tests: report/live*.c and report/fmt.c (durations, JSON strings,
 * stall, blocked and summary printers, text and JSON; the trimmed stack). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include "fmt.h"
#include "jsonw.h"
#include "live.h"
#include "rule.h"
#include "stack.h"

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

static char *summary_out(const struct session_end *s, enum out_format fmt)
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

/* ---- a frame table, and a stall whose stacks use it ------------------- */

#define PY311 "/usr/bin/python3.11"
#define LIBC "/usr/lib/x86_64-linux-gnu/libc.so.6"

enum {
	F_NANOSLEEP, F_TIME_SLEEP, F_VECTORCALL, F_UNKNOWN, F_NAP, F_WRAPT, F_OBJCALL,
	F_CLIENT_GET, F_FETCH, F_HANDLE, F_EVENTS_RUN, F_EVAL, F_MAIN_PY, F_RUNPY,
	F_BYTESMAIN, F_LIBC_START, F_C_MAIN, F_ENCODE, F_RENDER, NF
};

/* What the resolver would make of a sleep in a user coroutine that went
 * through libraries, as Python and native frames. */
static const struct frame defs[NF] = {
	[F_NANOSLEEP] = { .kind = FRAME_NATIVE, .function = "clock_nanosleep", .module = LIBC },
	[F_TIME_SLEEP] = { .kind = FRAME_NATIVE, .function = "time_sleep",
			   .file = "./Modules/timemodule.c", .line = 2090, .module = PY311 },
	[F_VECTORCALL] = { .kind = FRAME_NATIVE, .interp = true,
			   .function = "cfunction_vectorcall_O", .module = PY311 },
	[F_UNKNOWN] = { .kind = FRAME_NATIVE, .addr = 0x7f3b30a22abc,
			.module = "/opt/ext/_speedups.cpython-311-x86_64-linux-gnu.so" },
	[F_NAP] = { .kind = FRAME_PYTHON, .function = "backoff",
		    .file = "/usr/lib/python3/dist-packages/tenacity/nap.py", .line = 31,
		    .code = "time.sleep(seconds)" },
	[F_WRAPT] = { .kind = FRAME_NATIVE, .function = "FunctionWrapper_call",
		      .module = "/usr/lib/python3/dist-packages/wrapt/"
				"_wrappers.cpython-311-x86_64-linux-gnu.so" },
	[F_OBJCALL] = { .kind = FRAME_NATIVE, .interp = true, .function = "PyObject_Call",
			.module = PY311 },
	[F_CLIENT_GET] = { .kind = FRAME_PYTHON, .function = "Client.get",
			   .file = "/usr/local/lib/python3.11/site-packages/httpx/_client.py",
			   .line = 1041, .code = "return self.request(\"GET\", url)" },
	[F_FETCH] = { .kind = FRAME_PYTHON, .user = true, .function = "fetch",
		      .file = "/srv/app/handlers.py", .line = 42, .code = "await client.get(url)" },
	[F_HANDLE] = { .kind = FRAME_PYTHON, .user = true, .function = "Handler.handle",
		       .file = "/srv/app/handlers.py", .line = 17,
		       .code = "data = await fetch(self.url)" },
	[F_EVENTS_RUN] = { .kind = FRAME_PYTHON, .function = "Handle._run",
			   .file = "/usr/lib/python3.11/asyncio/events.py", .line = 80,
			   .code = "self._context.run(self._callback, *self._args)" },
	[F_EVAL] = { .kind = FRAME_NATIVE, .interp = true, .eval = true,
		     .function = "_PyEval_EvalFrameDefault", .module = PY311 },
	[F_MAIN_PY] = { .kind = FRAME_PYTHON, .user = true, .function = "main", .file = "app.py",
			.line = 9, .code = "asyncio.run(serve())" },
	[F_RUNPY] = { .kind = FRAME_PYTHON, .function = "_run_module_as_main",
		      .file = "<frozen runpy>", .line = 198 },
	[F_BYTESMAIN] = { .kind = FRAME_NATIVE, .interp = true, .function = "Py_BytesMain",
			  .module = PY311 },
	[F_LIBC_START] = { .kind = FRAME_NATIVE, .interp = true,
			   .function = "__libc_start_call_main", .module = LIBC },
	[F_C_MAIN] = { .kind = FRAME_NATIVE, .function = "main", .module = PY311 },
	[F_ENCODE] = { .kind = FRAME_NATIVE, .function = "encoder_listencode_obj",
		       .module = "/usr/lib/python3.11/lib-dynload/_json.cpython-311-x86_64-linux-gnu.so" },
	[F_RENDER] = { .kind = FRAME_PYTHON, .user = true, .function = "render",
		       .file = "/srv/app/views.py", .line = 88, .code = "return json.dumps(rows)" },
};

static struct frames *ft;
static uint32_t id[NF];

/* Intern defs into ft, in reverse so that ids differ from the enum. */
static void build_frames(void)
{
	ft = frames__new();
	cr_assert_not_null(ft);
	for (int i = NF - 1; i >= 0; i--) {
		const struct frame *f = &defs[i];

		/* the test data is what the resolver's classifiers say */
		if (f->kind == FRAME_PYTHON)
			cr_assert_eq(f->user, frame__user_file(f->file), "%s", f->file);
		else
			cr_assert_eq(f->interp, frame__interp_symbol(f->function), "%s",
				     f->function ? f->function : "(null)");
		id[i] = frames__intern(ft, f);
		cr_assert_neq(id[i], UINT32_MAX);
	}
}

static uint32_t *ids_of(const int *which, uint32_t n)
{
	uint32_t *v = calloc(n ? n : 1, sizeof(*v));

	cr_assert_not_null(v);
	for (uint32_t i = 0; i < n; i++)
		v[i] = id[which[i]];
	return v;
}

/* Innermost first: a sleep under a library call in user code, from a
 * task run by the loop, from main. */
static const int dominant[] = {
	F_NANOSLEEP, F_TIME_SLEEP, F_VECTORCALL, F_UNKNOWN, F_NAP, F_WRAPT, F_UNKNOWN,
	F_OBJCALL, F_CLIENT_GET, F_FETCH, F_HANDLE, F_EVENTS_RUN, F_EVAL, F_MAIN_PY,
	F_RUNPY, F_BYTESMAIN, F_LIBC_START, F_C_MAIN,
};
static const int encoding[] = { F_ENCODE, F_RENDER, F_HANDLE, F_EVAL, F_MAIN_PY };

#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct stack_count stacks[3];

static void free_stacks(void)
{
	for (size_t i = 0; i < N(stacks); i++)
		free(stacks[i].frames);
	memset(stacks, 0, sizeof(stacks));
	frames__free(ft);
	ft = NULL;
}

static struct stall sample_stall(void)
{
	struct stall s;

	memset(&s, 0, sizeof(s));
	free_stacks();
	build_frames();
	s.pid = 4200;
	s.tid = 4242;
	strcpy(s.process, "gunicorn: worker [app:app]");
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
		.count = 2, .weight_ns = 200100000, .n_frames = N(dominant),
		.frames = ids_of(dominant, N(dominant)) };
	stacks[1] = (struct stack_count){ .kind = LS_SAMPLE_ONCPU, .nr = -1,
		.count = 1, .weight_ns = 1300000, .n_frames = N(encoding),
		.frames = ids_of(encoding, N(encoding)) };
	return s;
}

static char *stall_out(const struct stall *s, enum out_format fmt,
		       const struct frames *frames, bool full)
{
	struct capture c;

	cap_open(&c);
	print_stall(c.f, fmt, s, frames, full);
	return cap_close(&c);
}

/* The header alone: no frame table */
static char *stall_text(const struct stall *s)
{
	return stall_out(s, OUT_TEXT, NULL, false);
}

static char *stall_json(const struct stall *s)
{
	return stall_out(s, OUT_JSON, ft, false);
}

#define HEADER \
	"22:13:20 asyncio_loop/4242    stall 201.4 ms  on-CPU   1.3 ms  off 200.1 ms\n" \
	"         waited in clock_nanosleep 200.1 ms, futex (lock/GIL) 3.0 ms\n"

/* A stall in a task names it: JSON's id (the address, a number, as the
 * tasks command prints it), name and coroutines innermost first; the text
 * a line under the header, outermost first. */
static void set_task(struct stall *s)
{
	s->task_id = 140000000000000;
	strcpy(s->task, "flush-cache");
	s->n_task_frames = 2;	/* outermost first */
	s->task_frames = ids_of((const int[]){ F_HANDLE, F_FETCH }, 2);
}

Test(output, stall_json_names_its_task)
{
	struct stall s = sample_stall();
	char *got;

	set_task(&s);
	got = stall_json(&s);
	expect_json_line(got, "stall");
	cr_expect(strstr(got, "\"task\":{\"id\":140000000000000,\"name\":\"flush-cache\","
			      "\"coro_stack\":[{\"kind\":\"python\",\"function\":\"fetch\","),
		  "%s", got);
	cr_expect(strstr(got, "\"function\":\"Handler.handle\""), "%s", got);
	free(got);
	free(s.task_frames);
}

Test(output, stall_text_names_its_task)
{
	struct stall s = sample_stall();
	char *got;

	set_task(&s);
	got = stall_out(&s, OUT_TEXT, ft, false);
	cr_expect(strstr(got, "\n         in task flush-cache: Handler.handle > fetch\n"),
		  "%s", got);
	expect_narrow(got, "task");
	free(got);
	free(s.task_frames);
}

/* ---- print_stall, text: the header ------------------------------------- */

Test(output, stall_text_golden)
{
	struct stall s = sample_stall();
	char *got = stall_text(&s);

	cr_assert_str_eq(got, HEADER, "got:\n%s", got);
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

/* On-CPU samples start a tenth of the threshold into a busy interval: the
 * text says how much of the start no sample covers. */
Test(output, stall_text_unsampled_start)
{
	struct stall s = sample_stall();
	char *got;

	s.first_sample_ns = 6 * MS;
	got = stall_text(&s);
	cr_assert(strstr(got, "\n         not sampled: its first 6.0 ms\n"), "got:\n%s", got);
	free(got);
	s.first_sample_ns = 1 * MS;	/* within a sampling period: not said */
	got = stall_text(&s);
	cr_assert_null(strstr(got, "not sampled"), "got:\n%s", got);
	free(got);
}

/* A stall with no stack says why: lost to a full ring buffer, or on the
 * CPU throughout with no sampling tick in it (a loop that left the CPU
 * has the held stack of a wait). */
Test(output, stall_text_no_stack_says_why)
{
	struct stall s = sample_stall();
	char *got;

	s.n_stacks = 0;
	s.samples_on = s.samples_off = 0;
	got = stall_text(&s);
	cr_assert(strstr(got, "\n         not sampled: its samples were lost (ring buffer "
			 "full)\n"), "got:\n%s", got);
	free(got);
	s.samples_sent = s.samples_lost = 0;
	s.n_waits = 0;
	s.on_cpu_ns = s.duration_ns = 2100000;
	s.off_cpu_ns = 0;
	got = stall_text(&s);
	cr_assert_str_eq(got,
		"22:13:20 asyncio_loop/4242    stall   2.1 ms  on-CPU   2.1 ms  off   0.0 ms\n"
		"         not sampled: on the CPU throughout, between two sampling ticks\n",
		"got:\n%s", got);
	expect_narrow(got, "unsampled stall");
	free(got);
	s.off_cpu_ns = 1 * MS;	/* left the CPU, yet no stack: not expected, still said */
	got = stall_text(&s);
	cr_assert(strstr(got, "not sampled: no stack of it was kept\n"), "got:\n%s", got);
	free(got);
	s = sample_stall();	/* sampled: nothing said */
	got = stall_text(&s);
	cr_assert_null(strstr(got, "not sampled"), "got:\n%s", got);
	free(got);
}

/* A loop found blocked at attach: said at once, and when its stall ends. */
Test(output, stall_before_attach)
{
	struct stall s = sample_stall();
	char *got;

	s.before_attach = true;
	s.ongoing = true;
	s.n_waits = 1;
	got = stall_text(&s);
	cr_assert(strstr(got, "\n         began before loopstall attached; still blocked\n"),
		  "got:\n%s", got);
	cr_assert_null(strstr(got, "when the session ended"), "%s", got);
	free(got);
	s.ongoing = false;
	got = stall_text(&s);
	cr_assert(strstr(got, "\n         began before loopstall attached: it lasted longer\n"),
		  "got:\n%s", got);
	expect_narrow(got, "stall before attach");
	free(got);
	got = stall_json(&s);
	cr_assert(strstr(got, "\"ongoing\":false,\"before_attach\":true,"), "%s", got);
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
				got = stall_out(&s, OUT_TEXT, ft, d & 2);
				expect_narrow(got, what);
				free(got);
			}
}

/* ---- print_stall, text: the dominant stack ---------------------------- */

Test(output, stall_text_trimmed_stack_golden)
{
	struct stall s = sample_stall();
	char *got = stall_out(&s, OUT_TEXT, ft, false);

	/* innermost natives (not the interpreter's), the library Python
	 * frames down to the user's, named natives between them; outer:
	 * user frames only; the source line under the first user frame */
	cr_assert_str_eq(got, HEADER
		"         where most of it went (200.1 ms, 2 of 3 samples):\n"
		"           clock_nanosleep                          [libc.so.6]\n"
		"           time_sleep                               [python3.11]\n"
		"           0x7f3b30a22abc                           [_speedups.so]\n"
		"           backoff                                  nap.py:31\n"
		"           FunctionWrapper_call                     [_wrappers.so]\n"
		"           Client.get                               _client.py:1041\n"
		"         > fetch                                    handlers.py:42\n"
		"             await client.get(url)\n"
		"         > Handler.handle                           handlers.py:17\n"
		"         > main                                     app.py:9\n",
		"got:\n%s", got);
	expect_narrow(got, "trimmed stack");
	free(got);
}

Test(output, stall_text_full_stack_golden)
{
	struct stall s = sample_stall();
	char *got = stall_out(&s, OUT_TEXT, ft, true);

	cr_assert_str_eq(got, HEADER
		"         where most of it went (200.1 ms, 2 of 3 samples):\n"
		"           clock_nanosleep                          [libc.so.6]\n"
		"           time_sleep                               [python3.11]\n"
		"           cfunction_vectorcall_O                   [python3.11]\n"
		"           0x7f3b30a22abc                           [_speedups.so]\n"
		"           backoff                                  nap.py:31\n"
		"           FunctionWrapper_call                     [_wrappers.so]\n"
		"           0x7f3b30a22abc                           [_speedups.so]\n"
		"           PyObject_Call                            [python3.11]\n"
		"           Client.get                               _client.py:1041\n"
		"         > fetch                                    handlers.py:42\n"
		"             await client.get(url)\n"
		"         > Handler.handle                           handlers.py:17\n"
		"           Handle._run                              events.py:80\n"
		"           _PyEval_EvalFrameDefault                 [python3.11]\n"
		"         > main                                     app.py:9\n"
		"           _run_module_as_main                      <frozen runpy>:198\n"
		"           Py_BytesMain                             [python3.11]\n"
		"           __libc_start_call_main                   [libc.so.6]\n"
		"           main                                     [python3.11]\n",
		"got:\n%s", got);
	expect_narrow(got, "full stack");
	free(got);
}

Test(output, stall_text_single_stack_no_heading)
{
	struct stall s = sample_stall();
	char *got;

	s.n_stacks = 1;
	s.samples_on = 0;
	got = stall_out(&s, OUT_TEXT, ft, false);
	cr_expect(!strstr(got, "where most of it went"), "%s", got);
	cr_expect(strstr(got, HEADER "           clock_nanosleep "), "%s", got);
	free(got);
}

Test(output, stall_text_no_stacks)
{
	struct stall s = sample_stall();
	char *got;

	s.n_stacks = 0;
	got = stall_out(&s, OUT_TEXT, ft, false);
	cr_expect_str_eq(got, HEADER, "%s", got);
	free(got);
}

/* A stack of Python frames only, none of them the user's: all shown (no
 * user frame to stop at); the source line of a library frame is not. */
Test(output, stall_text_library_only)
{
	static const int lib[] = { F_NAP, F_CLIENT_GET, F_EVENTS_RUN, F_RUNPY };
	struct stall s = sample_stall();
	char *got;

	s.n_stacks = 1;
	free(stacks[0].frames);
	stacks[0].frames = ids_of(lib, N(lib));
	stacks[0].n_frames = N(lib);
	got = stall_out(&s, OUT_TEXT, ft, false);
	cr_assert_str_eq(got, HEADER
		"           backoff                                  nap.py:31\n"
		"           Client.get                               _client.py:1041\n"
		"           Handle._run                              events.py:80\n"
		"           _run_module_as_main                      <frozen runpy>:198\n",
		"got:\n%s", got);
	free(got);
}

/* Native frames only (no Python frames read): the innermost that are not
 * the interpreter's, at most 8 of them. */
Test(output, stall_text_native_only)
{
	static const int nat[] = {
		F_NANOSLEEP, F_VECTORCALL, F_TIME_SLEEP, F_EVAL, F_UNKNOWN, F_WRAPT, F_ENCODE,
		F_NANOSLEEP, F_TIME_SLEEP, F_UNKNOWN, F_WRAPT, F_ENCODE, F_C_MAIN,
	};
	struct stall s = sample_stall();
	char *got;

	s.n_stacks = 1;
	free(stacks[0].frames);
	stacks[0].frames = ids_of(nat, N(nat));
	stacks[0].n_frames = N(nat);
	got = stall_out(&s, OUT_TEXT, ft, false);
	cr_assert_str_eq(got, HEADER
		"           clock_nanosleep                          [libc.so.6]\n"
		"           time_sleep                               [python3.11]\n"
		"           0x7f3b30a22abc                           [_speedups.so]\n"
		"           FunctionWrapper_call                     [_wrappers.so]\n"
		"           encoder_listencode_obj                   [_json.so]\n"
		"           clock_nanosleep                          [libc.so.6]\n"
		"           time_sleep                               [python3.11]\n"
		"           0x7f3b30a22abc                           [_speedups.so]\n",
		"got:\n%s", got);
	free(got);
}

/* stack__trim itself: which indexes of the dominant stack it keeps. */
Test(output, stack_trim_indexes)
{
	static const uint32_t want[] = { 0, 1, 3, 4, 5, 8, 9, 10, 13 };
	struct stall s = sample_stall();
	uint32_t idx[LS_MAX_STACK];
	int n = stack__trim(&stacks[0], ft, idx, LS_MAX_STACK);

	(void)s;
	cr_assert_eq(n, (int)N(want), "%d frames kept", n);
	for (int i = 0; i < n; i++)
		cr_expect_eq(idx[i], want[i], "idx[%d] = %u, want %u", i, idx[i], want[i]);
	/* max bounds what is written */
	idx[3] = 12345;
	cr_expect_eq(stack__trim(&stacks[0], ft, idx, 3), 3);
	cr_expect_eq(idx[3], 12345);
	cr_expect_eq(stack__trim(&stacks[0], ft, idx, 0), 0);
}

/* An id the table does not know (frames__intern's UINT32_MAX on ENOMEM
 * ends up in a stack) is skipped, trimmed or not. */
Test(output, stall_unknown_frame_id_skipped)
{
	static const int few[] = { F_NANOSLEEP, F_FETCH };
	struct stall s = sample_stall();
	char *got;

	free(stacks[0].frames);
	stacks[0].frames = calloc(4, sizeof(uint32_t));
	cr_assert_not_null(stacks[0].frames);
	stacks[0].frames[0] = UINT32_MAX;
	stacks[0].frames[1] = id[few[0]];
	stacks[0].frames[2] = 999999;
	stacks[0].frames[3] = id[few[1]];
	stacks[0].n_frames = 4;
	for (int full = 0; full < 2; full++) {
		got = stall_out(&s, OUT_TEXT, ft, full);
		cr_expect_str_eq(got, HEADER
			"         where most of it went (200.1 ms, 2 of 3 samples):\n"
			"           clock_nanosleep                          [libc.so.6]\n"
			"         > fetch                                    handlers.py:42\n"
			"             await client.get(url)\n",
			"full %d, got:\n%s", full, got);
		free(got);
	}
	got = stall_json(&s);
	expect_json_line(got, "stall");
	cr_expect(strstr(got, "\"frames\":[{\"kind\":\"native\",\"function\":\"clock_nanosleep\","),
		  "%s", got);
	free(got);
}

/* Long names, paths and source lines are cut to fit 80 columns. */
Test(output, stall_text_long_frames_under_80_columns)
{
	char fn[300], file[300], mod[300], code[300];
	struct frame f;
	struct stall s = sample_stall();
	uint32_t ids[6];
	char *got;

	memset(fn, 'f', sizeof(fn) - 1);
	fn[sizeof(fn) - 1] = 0;
	snprintf(file, sizeof(file), "/srv/app/%0250d.py", 7);
	snprintf(mod, sizeof(mod), "/opt/%0250d.cpython-311-x86_64-linux-gnu.so", 7);
	memset(code, 'c', sizeof(code) - 1);
	code[sizeof(code) - 1] = 0;

	f = (struct frame){ .kind = FRAME_NATIVE, .function = fn, .module = mod };
	ids[0] = frames__intern(ft, &f);
	f = (struct frame){ .kind = FRAME_NATIVE, .addr = UINT64_MAX, .module = mod };
	ids[1] = frames__intern(ft, &f);
	f = (struct frame){ .kind = FRAME_NATIVE, .function = "x" };	/* no module */
	ids[2] = frames__intern(ft, &f);
	f = (struct frame){ .kind = FRAME_PYTHON, .user = true, .function = fn, .file = file,
			    .line = 2147483647, .code = code };
	ids[3] = frames__intern(ft, &f);
	f = (struct frame){ .kind = FRAME_PYTHON, .user = true, .function = fn, .file = file };
	ids[4] = frames__intern(ft, &f);
	f = (struct frame){ .kind = FRAME_PYTHON };	/* nothing known */
	ids[5] = frames__intern(ft, &f);
	for (int i = 0; i < 6; i++)
		cr_assert_neq(ids[i], UINT32_MAX);
	free(stacks[0].frames);
	stacks[0].frames = malloc(sizeof(ids));
	cr_assert_not_null(stacks[0].frames);
	memcpy(stacks[0].frames, ids, sizeof(ids));
	stacks[0].n_frames = 6;
	s.tid = 4194303;
	strcpy(s.thread, "ThreadPoolExecu");
	for (int full = 0; full < 2; full++) {
		got = stall_out(&s, OUT_TEXT, ft, full);
		expect_narrow(got, full ? "long frames, full" : "long frames");
		/* the line number and the module's closing bracket survive the cut */
		cr_expect(strstr(got, ".py:2147483647\n"), "%s", got);
		cr_expect(strstr(got, "0007.so]\n"), "%s", got);
		cr_expect(strstr(got, "0xffffffffffffffff "), "%s", got);
		cr_expect(strstr(got, "fff... "), "%s", got);
		cr_expect(strstr(got, " [?]\n"), "%s", got);
		if (full)	/* outer, not the user's: trimmed away */
			cr_expect(strstr(got, "\n           ?        "), "%s", got);
		free(got);
	}
}

/* ---- print_stall, JSON ------------------------------------------------ */

Test(output, stall_json_structure)
{
	struct stall s = sample_stall();
	char *got = stall_json(&s);

	expect_json_line(got, "stall");
	cr_expect(strstr(got, "\"pid\":4200,\"process\":\"gunicorn: worker [app:app]\","
			      "\"tid\":4242,\"thread\":\"asyncio_loop\","), "%s", got);
	cr_expect(strstr(got, "\"start_unix_ns\":1700000000123456789,"), "%s", got);
	cr_expect(strstr(got, "\"duration_ms\":201.400,\"on_cpu_ms\":1.300,\"off_cpu_ms\":200.100,"
			      "\"ongoing\":false,\"before_attach\":false,\"ended_by\":\"epoll_pwait\","), "%s", got);
	cr_expect(strstr(got, "\"waits\":[{\"what\":\"clock_nanosleep\",\"ms\":200.100,\"count\":1},"
			      "{\"what\":\"futex (lock/GIL)\",\"ms\":3.000,\"count\":2}]"), "%s", got);
	/* lost: 2 reported by BPF + 1 sent but never kept (4 - 1 - 2) */
	cr_expect(strstr(got, "\"samples\":{\"on_cpu\":1,\"off_cpu\":2,\"first_ms\":1.000,"
			      "\"last_ms\":200.000,\"lost\":3}"), "%s", got);
	cr_expect(strstr(got, ",\"stacks\":[{\"count\":2,\"ms\":200.100,\"cpu\":\"off\","
			      "\"syscall\":\"clock_nanosleep\",\"frames\":[{\"kind\":\"native\","),
		  "%s", got);
	cr_expect(strstr(got, "]},{\"count\":1,\"ms\":1.300,\"cpu\":\"on\",\"syscall\":null,"
			      "\"frames\":[{\"kind\":\"native\",\"function\":\"encoder_listencode_obj\","),
		  "%s", got);
	/* no segments built (no findings matched): none printed */
	cr_expect(strstr(got, "}]}],\"task\":null,\"segments\":[],\"unsampled_ms\":0.000,"
			      "\"category\":\"other\",\"findings\":[]}\n"), "%s", got);
	free(got);
}

/* A stall with no stack says why in JSON too, as the text does, after
 * unsampled_ms; a stall with a stack has no unsampled_why. */
Test(output, stall_json_no_stack_says_why)
{
	struct stall s = sample_stall();
	char *got = stall_json(&s);

	cr_expect_null(strstr(got, "unsampled_why"), "%s", got);
	free(got);
	s.n_stacks = 0;
	s.samples_on = s.samples_off = 0;
	got = stall_json(&s);
	expect_json_line(got, "stall");
	cr_expect(strstr(got, "\"stacks\":[],\"task\":null,\"segments\":[],\"unsampled_ms\":0.000,"
			      "\"unsampled_why\":\"its samples were lost (ring buffer full)\","
			      "\"category\":\"other\","), "%s", got);
	free(got);
	s.samples_sent = s.samples_lost = 0;
	s.n_waits = 0;
	s.on_cpu_ns = s.duration_ns = 2100000;
	s.off_cpu_ns = 0;
	got = stall_json(&s);
	expect_json_line(got, "stall");
	cr_expect(strstr(got, ",\"unsampled_why\":\"on the CPU throughout, between two "
			      "sampling ticks\",\"category\":"), "%s", got);
	free(got);
}

/* The stall's category is its most severe finding's; each finding says
 * its part of the stall, the time it stands for and its share. */
Test(output, stall_json_category_and_finding_share)
{
	static struct rule warn = { .id = "T-CPU", .name = "cpu", .category = CAT_CPU,
				    .severity = SEV_WARNING, .fix = "split it" };
	static struct rule err = { .id = "T-HTTP", .name = "http", .category = CAT_HTTP,
				   .severity = SEV_ERROR, .fix = "async client" };
	struct finding fd[2] = {
		{ .rule = &warn, .ns = 50350000, .share = 0.25, .evidence = "hot" },
		{ .rule = &err, .segment = 1, .ns = 151856000, .share = 0.754,
		  .evidence = "in recvfrom", .file = "/srv/app.py", .line = 47,
		  .function = "fetch" },
	};
	struct stall s = sample_stall();
	char *got;

	s.findings = fd;
	s.n_findings = 2;
	got = stall_json(&s);
	cr_expect(strstr(got, ",\"category\":\"http\",\"findings\":[{\"rule\":\"T-CPU\","),
		  "%s", got);
	cr_expect(strstr(got, "\"segment\":0,\"ms\":50.350,\"share\":0.250,"
			      "\"evidence\":\"hot\""), "%s", got);
	cr_expect(strstr(got, "\"call_site\":{\"file\":\"/srv/app.py\",\"line\":47,"
			      "\"function\":\"fetch\",\"code\":null},\"segment\":1,"
			      "\"ms\":151.856,\"share\":0.754,"), "%s", got);
	free(got);
}

/* Every frame of every stack, untrimmed, in order, with its fields. */
Test(output, stall_json_every_frame)
{
	struct stall s = sample_stall();
	char *got = stall_json(&s), *p = got, want[600];

	expect_json_line(got, "stall");
	/* the dominant stack in full, then the other one */
	for (int k = 0; k < 2; k++) {
		const int *which = k ? encoding : dominant;
		size_t n = k ? N(encoding) : N(dominant);

		for (size_t i = 0; i < n; i++) {
			const struct frame *f = &defs[which[i]];
			char *at;

			cr_assert_not_null(f->function || f->addr);
			if (f->function)
				snprintf(want, sizeof(want), "{\"kind\":\"%s\",\"function\":\"%s\",",
					 f->kind == FRAME_PYTHON ? "python" : "native", f->function);
			else
				snprintf(want, sizeof(want), "{\"kind\":\"native\",\"function\":null,");
			at = strstr(p, want);
			cr_assert_not_null(at, "stack %d frame %zu (%s) not found in order in\n%s",
					   k, i, want, got);
			p = at + strlen(want);
		}
	}
	/* python: kind, function, file, line, user, code (escaped) */
	cr_expect(strstr(got, "{\"kind\":\"python\",\"function\":\"fetch\",\"file\":"
			      "\"/srv/app/handlers.py\",\"line\":42,\"user\":true,"
			      "\"code\":\"await client.get(url)\"}"), "%s", got);
	cr_expect(strstr(got, "{\"kind\":\"python\",\"function\":\"Client.get\",\"file\":"
			      "\"/usr/local/lib/python3.11/site-packages/httpx/_client.py\","
			      "\"line\":1041,\"user\":false,"
			      "\"code\":\"return self.request(\\\"GET\\\", url)\"}"), "%s", got);
	cr_expect(strstr(got, "{\"kind\":\"python\",\"function\":\"main\",\"file\":\"app.py\","
			      "\"line\":9,\"user\":true,\"code\":\"asyncio.run(serve())\"}"), "%s", got);
	/* no source line: no "code" */
	cr_expect(strstr(got, "{\"kind\":\"python\",\"function\":\"_run_module_as_main\","
			      "\"file\":\"<frozen runpy>\",\"line\":198,\"user\":false}"), "%s", got);
	/* native: kind, function, file, line, module, address when unnamed */
	cr_expect(strstr(got, "{\"kind\":\"native\",\"function\":\"clock_nanosleep\",\"file\":null,"
			      "\"line\":null,\"module\":\"" LIBC "\"}"), "%s", got);
	cr_expect(strstr(got, "{\"kind\":\"native\",\"function\":\"time_sleep\",\"file\":"
			      "\"./Modules/timemodule.c\",\"line\":2090,\"module\":\"" PY311 "\"}"),
		  "%s", got);
	cr_expect(strstr(got, "{\"kind\":\"native\",\"function\":null,\"file\":null,\"line\":null,"
			      "\"module\":\"/opt/ext/_speedups.cpython-311-x86_64-linux-gnu.so\","
			      "\"address\":\"0x7f3b30a22abc\"}"), "%s", got);
	cr_expect(strstr(got, "{\"kind\":\"native\",\"function\":\"_PyEval_EvalFrameDefault\","
			      "\"file\":null,\"line\":null,\"module\":\"" PY311 "\"}"), "%s", got);
	free(got);
}

Test(output, stall_json_empty_and_unresolved_stacks)
{
	struct stall s = sample_stall();
	char *got;

	/* a third stack without frames */
	stacks[2] = (struct stack_count){ .kind = LS_SAMPLE_OFFCPU, .nr = LS_WAIT_RUNQ,
		.count = 1, .weight_ns = 1 * MS, .n_frames = 0, .frames = NULL };
	s.n_stacks = 3;
	s.samples_off = 3;
	got = stall_json(&s);
	expect_json_line(got, "stall");
	cr_expect(strstr(got, ",{\"count\":1,\"ms\":1.000,\"cpu\":\"off\","
			      "\"syscall\":\"runqueue (CPU busy)\",\"frames\":[]}],"), "%s", got);
	free(got);

	/* no frame table: every stack is there, without frames */
	got = stall_out(&s, OUT_JSON, NULL, false);
	expect_json_line(got, "stall");
	cr_expect(strstr(got, "\"stacks\":[{\"count\":2,\"ms\":200.100,\"cpu\":\"off\","
			      "\"syscall\":\"clock_nanosleep\",\"frames\":[]},{\"count\":1,"
			      "\"ms\":1.300,\"cpu\":\"on\",\"syscall\":null,\"frames\":[]},"
			      "{\"count\":1,\"ms\":1.000,"), "%s", got);
	free(got);
}

/* full changes nothing in JSON: it always has every frame. */
Test(output, stall_json_ignores_full)
{
	struct stall s = sample_stall();
	char *a = stall_out(&s, OUT_JSON, ft, false), *b = stall_out(&s, OUT_JSON, ft, true);

	cr_expect_str_eq(a, b);
	free(a);
	free(b);
}

Test(output, stall_json_escapes_in_frames)
{
	struct stall s = sample_stall();
	struct frame f = { .kind = FRAME_PYTHON, .user = true, .function = "<lambda>",
			   .file = "/srv/a\"b\\c.py", .line = 3, .code = "x = '\t\x01'" };
	char *got;

	free(stacks[1].frames);
	stacks[1].frames = malloc(sizeof(uint32_t));
	cr_assert_not_null(stacks[1].frames);
	stacks[1].frames[0] = frames__intern(ft, &f);
	stacks[1].n_frames = 1;
	got = stall_json(&s);
	expect_json_line(got, "stall");
	cr_expect(strstr(got, "\"frames\":[{\"kind\":\"python\",\"function\":\"<lambda>\","
			      "\"file\":\"/srv/a\\\"b\\\\c.py\",\"line\":3,\"user\":true,"
			      "\"code\":\"x = '\\t\\u0001'\"}]}"), "%s", got);
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
	got = stall_json(&s);
	expect_json_line(got, "stall");
	cr_expect(strstr(got, "\"thread\":\"a\\\"b\\\\c\\nd\\u0001\","), "%s", got);
	cr_expect(strstr(got, "\"ongoing\":true,\"before_attach\":false,\"in_syscall\":null,"), "%s", got);
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
		{ LS_WAIT_STOPPED, "\"in_syscall\":\"stopped (SIGSTOP, debugger)\"," },
		{ -1, "\"in_syscall\":null," },
		{ -6, "\"in_syscall\":null," },
	};
	struct stall s = sample_stall();

	s.ongoing = true;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got;

		s.end_nr = cases[i].nr;
		got = stall_json(&s);
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
	got = stall_out(&s, OUT_JSON, NULL, false);
	expect_json_line(got, "stall");
	cr_expect(strstr(got, "\"waits\":[],"), "%s", got);
	cr_expect(strstr(got, "\"stacks\":[],"), "%s", got);
	free(got);
}

/* ---- print_blocked ---------------------------------------------------- */

static const struct proc_info proc4200 = {
	.pid = 4200, .title = "python3 app.py", .comm = "python3", .py_version = "3.11.2",
};

static char *blocked_out(enum out_format fmt, const char *thread, uint64_t ns, int32_t nr)
{
	struct capture c;

	cap_open(&c);
	print_blocked(c.f, fmt, &proc4200, false, 4242, thread, T0, ns, nr);
	return cap_close(&c);
}

Test(output, blocked_text_names_its_process_when_several)
{
	struct capture c;
	char *got;

	cap_open(&c);
	print_blocked(c.f, OUT_TEXT, &proc4200, true, 4242, "MainThread", T0, 2 * SEC, -1);
	got = cap_close(&c);
	cr_expect_str_eq(got, "22:13:20 MainThread/4242      blocked 2.0 s and counting\n"
			      "         in PID 4200 (python3 app.py)\n");
	free(got);
}

Test(output, blocked_text)
{
	char *got = blocked_out(OUT_TEXT, "asyncio_loop", 12345 * MS, SYS_futex);

	cr_expect_str_eq(got, "22:13:20 asyncio_loop/4242    blocked 12.3 s and counting in "
			      "futex (lock/GIL)\n");
	expect_narrow(got, "blocked");
	free(got);
	got = blocked_out(OUT_TEXT, "ThreadPoolExecu", 3599 * SEC, -1);
	cr_expect_str_eq(got, "22:13:20 ThreadPoolExecu/4242 blocked 3599.0 s and counting\n");
	free(got);
}

Test(output, blocked_json)
{
	char *got = blocked_out(OUT_JSON, "a\"b", 1500 * MS, LS_WAIT_RUNQ);

	expect_json_line(got, "blocked");
	cr_expect_str_eq(got, "{\"type\":\"blocked\",\"schema_version\":1,\"pid\":4200,"
			      "\"process\":\"python3 app.py\",\"tid\":4242,"
			      "\"thread\":\"a\\\"b\",\"now_unix_ns\":1700000000123456789,"
			      "\"blocked_ms\":1500.000,\"in_syscall\":\"runqueue (CPU busy)\"}\n");
	free(got);
	got = blocked_out(OUT_JSON, "t", 1, -1);
	expect_json_line(got, "blocked");
	cr_expect(strstr(got, "\"in_syscall\":null}\n"), "%s", got);
	free(got);
}

/* ---- print_summary --------------------------------------------------- */

static struct loop_info loops[2];
static struct loop_summary loop_sums[2];
static struct summary sum;

/* Loop i as found (tid, name, poll) and as summarized. */
static void set_loop(int i, uint32_t tid, const char *name, const char *poll,
		     uint32_t stalls, uint64_t stalled_ns, uint64_t worst_ns)
{
	loops[i] = (struct loop_info){ .pid = 4200, .tid = tid, .poll = poll };
	snprintf(loops[i].thread, sizeof(loops[i].thread), "%s", name);
	loop_sums[i] = (struct loop_summary){ .pid = 4200, .tid = tid, .stalls = stalls,
					      .stalled_ns = stalled_ns, .worst_ns = worst_ns };
	memcpy(loop_sums[i].thread, loops[i].thread, sizeof(loops[i].thread));
}

static struct session_end sample_summary(void)
{
	struct session_end s;

	memset(&s, 0, sizeof(s));
	memset(&sum, 0, sizeof(sum));
	set_loop(0, 4242, "asyncio_loop", "epoll", 3, 1050 * MS, 800 * MS);
	set_loop(1, 4250, "worker-2", "poll", 1, 150 * MS, 150 * MS);
	s.pid = 4200;
	s.comm = "python3";
	s.py_version = "3.11.2";
	s.ended_by = "signal";
	s.span_ns = 60 * SEC;
	s.threshold_ns = 100 * MS;
	sum.stalls = 4;
	sum.stalled_ns = 1200 * MS;
	sum.max_ns = 800 * MS;
	sum.loops = loop_sums;
	sum.n_loops = 2;
	s.n_loops = 2;
	s.loops = loops;
	s.sum = &sum;
	return s;
}

Test(output, summary_text_golden)
{
	struct session_end s = sample_summary();
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
	struct session_end s = sample_summary();
	char *got;

	sum.stalls = 1;
	s.n_loops = 1;
	sum.stalled_ns = 150 * MS;
	sum.max_ns = 150 * MS;
	s.span_ns = 3 * SEC;
	s.ended_by = "target exit";
	loops[0] = loops[1];
	loop_sums[0] = loop_sums[1];
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
	struct session_end s = sample_summary();
	char *got;

	s.span_ns = 0;		/* no division by zero */
	sum.stalls = 0;
	sum.stalled_ns = 0;
	sum.max_ns = 0;
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
	struct session_end s = sample_summary();
	char *got;

	/* wide but consistent: 15-char names, 7-digit TIDs, an hour-long
	 * session stalled almost throughout (stalls * threshold <= stalled,
	 * worst <= stalled - (stalls - 1) * threshold) */
	set_loop(0, 4194303, "ThreadPoolExecu", "select", 9998, 3499900 * MS, 2500300 * MS);
	set_loop(1, 4194302, "asyncio_loop_2", "epoll", 1, 100 * MS, 100 * MS);
	s.comm = "ThreadPoolExecu";
	s.py_version = "3.15.0a1";
	s.ended_by = "target exit";
	s.span_ns = 3600 * SEC;
	s.threshold_ns = 100 * MS;
	sum.stalls = 9999;
	sum.stalled_ns = 3500 * SEC;
	sum.max_ns = 2500300 * MS;
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
	struct session_end s = sample_summary();
	char *got;

	s.lost_samples = 7;
	strcpy(loops[1].thread, "w\"2");
	got = summary_out(&s, OUT_JSON);
	expect_json_line(got, "summary");
	cr_expect(strstr(got, "\"pid\":4200,\"python\":\"3.11.2\",\"ended_by\":\"signal\","
			      "\"span_ms\":60000.000,\"threshold_ms\":100.000,\"stalls\":4,"
			      "\"stalled_ms\":1200.000,\"worst_ms\":800.000,\"loops\":["), "%s", got);
	cr_expect(strstr(got, "{\"pid\":4200,\"tid\":4242,\"thread\":\"asyncio_loop\","
			      "\"poll\":\"epoll\",\"stalls\":3,\"stalled_ms\":1050.000,"
			      "\"worst_ms\":800.000,\"busy\":{\"intervals\":0,\"busy_ms\":0.000,"
			      "\"p50_ms\":0.000,\"p90_ms\":0.000,\"p99_ms\":0.000,\"max_ms\":0.000,"
			      "\"buckets\":[]}},{\"pid\":4200,\"tid\":4250,\"thread\":\"w\\\"2\","),
		  "%s", got);
	cr_expect(strstr(got, "\"lost\":{\"stalls\":0,\"samples\":7,\"threads\":0,"
			      "\"samples_over_cap\":0,\"processes\":0},\"findings\":[],"
			      "\"task_reads\":{\"hz\":0,\"reads\":0,\"per_s\":0.0,\"tasks_max\":0},"
			      "\"awaits\":[],\"sequential_awaits\":[],\"budgets\":[]}\n"), "%s", got);
	free(got);

	s.n_loops = 0;
	got = summary_out(&s, OUT_JSON);
	expect_json_line(got, "summary");
	cr_expect(strstr(got, "\"loops\":[],\"busy\":{\"intervals\":0,"), "%s", got);
	free(got);
}

/* ---- several processes: each named ------------------------------------ */

static const struct proc_info worker = {
	.pid = 4260, .ppid = 4242, .title = "gunicorn: worker [app:app]", .comm = "gunicorn",
	.py_version = "3.11.2",
};

/* A title as long as a title gets (63 bytes) and the widest PIDs. */
static const struct proc_info wide = {
	.pid = 4194303, .ppid = 4194302, .comm = "x", .py_version = "3.15.0a1",
	.title = "celery worker -A proj.tasks --concurrency 64 --hostname=ab@cd-e",
};

Test(output, stall_text_names_its_process)
{
	struct stall s = sample_stall();
	struct capture c;
	char *got;

	cap_open(&c);
	print_stall(c.f, OUT_TEXT, &s, NULL, LIVE_PROCESS);
	got = cap_close(&c);
	cr_assert_str_eq(got,
		"22:13:20 asyncio_loop/4242    stall 201.4 ms  on-CPU   1.3 ms  off 200.1 ms\n"
		"         in PID 4200 (gunicorn: worker [app:app])\n"
		"         waited in clock_nanosleep 200.1 ms, futex (lock/GIL) 3.0 ms\n",
		"got:\n%s", got);
	free(got);
	strcpy(s.process, wide.title);
	s.pid = wide.pid;
	cap_open(&c);
	print_stall(c.f, OUT_TEXT, &s, NULL, LIVE_PROCESS);
	got = cap_close(&c);
	expect_narrow(got, "stall of a wide title");
	cr_expect(strstr(got, "in PID 4194303 (celery worker -A"), "%s", got);
	free(got);
}

static char *proc_out(enum out_format fmt, const struct proc_info *p,
		      const struct proc_summary *ps, bool exit)
{
	struct capture c;

	cap_open(&c);
	if (exit)
		print_proc_exit(c.f, fmt, p, ps, 50 * MS, T0);
	else
		print_proc_start(c.f, fmt, p);
	return cap_close(&c);
}

Test(output, proc_start_and_exit_text)
{
	struct proc_summary ps = { .pid = 4260, .stalls = 3, .stalled_ns = 600200 * 1000,
				   .worst_ns = 200100 * 1000 };
	char *got = proc_out(OUT_TEXT, &worker, NULL, false);

	cr_expect_str_eq(got, "loopstall: watching PID 4260 (gunicorn: worker [app:app]), "
			      "CPython 3.11.2\n");
	free(got);
	got = proc_out(OUT_TEXT, &worker, &ps, true);
	cr_expect_str_eq(got, "loopstall: PID 4260 (gunicorn: worker [app:app]) exited\n"
			      "           3 stalls >= 50.0 ms, stalled 600.2 ms, worst 200.1 ms\n");
	free(got);
	got = proc_out(OUT_TEXT, &worker, NULL, true);
	cr_expect_str_eq(got, "loopstall: PID 4260 (gunicorn: worker [app:app]) exited\n"
			      "           no stall >= 50.0 ms\n");
	free(got);
	got = proc_out(OUT_TEXT, &wide, NULL, false);
	expect_narrow(got, "wide start");
	cr_expect(strstr(got, "), CPython 3.15.0a1\n"), "%s", got);
	free(got);
	got = proc_out(OUT_TEXT, &wide, &ps, true);
	expect_narrow(got, "wide exit");
	free(got);
}

Test(output, proc_start_and_exit_json)
{
	struct proc_summary ps = { .pid = 4260, .stalls = 1, .stalled_ns = 60 * MS,
				   .worst_ns = 60 * MS };
	char *got = proc_out(OUT_JSON, &worker, NULL, false);

	expect_json_line(got, "process");
	cr_expect_str_eq(got, "{\"type\":\"process\",\"schema_version\":1,\"event\":\"start\","
			      "\"pid\":4260,\"process\":\"gunicorn: worker [app:app]\","
			      "\"ppid\":4242,\"python\":\"3.11.2\"}\n");
	free(got);
	got = proc_out(OUT_JSON, &worker, &ps, true);
	expect_json_line(got, "process");
	cr_expect_str_eq(got, "{\"type\":\"process\",\"schema_version\":1,\"event\":\"exit\","
			      "\"pid\":4260,\"process\":\"gunicorn: worker [app:app]\","
			      "\"ppid\":4242,\"python\":\"3.11.2\","
			      "\"now_unix_ns\":1700000000123456789,\"stalls\":1,"
			      "\"stalled_ms\":60.000,\"worst_ms\":60.000}\n");
	free(got);
}

Test(output, loop_names_its_process_when_several)
{
	struct loop_info l = { .pid = 4260, .tid = 4261, .thread = "MainThread", .poll = "epoll" };
	struct capture c;
	char *got;

	cap_open(&c);
	print_loop(c.f, OUT_TEXT, &worker, false, &l);
	print_loop(c.f, OUT_TEXT, &worker, true, &l);
	print_loop(c.f, OUT_JSON, &worker, false, &l);
	got = cap_close(&c);
	cr_expect_str_eq(got,
		"loopstall: watching event loop in thread MainThread (TID 4261, epoll)\n"
		"loopstall: watching event loop MainThread/4261 (epoll) in PID 4260\n"
		"{\"type\":\"loop\",\"schema_version\":1,\"pid\":4260,\"process\":\"gunicorn: "
		"worker [app:app]\",\"tid\":4261,\"thread\":\"MainThread\",\"poll\":\"epoll\"}\n");
	free(got);
}

Test(output, session_banner_of_several)
{
	struct proc_info procs[2] = { worker, wide };
	struct session_start b = {
		.pid = 4260, .comm = "gunicorn", .py_version = "3.11.2", .threshold_ns = 50 * MS,
		.attach_ns = 70 * MS, .multi = true, .follow = true, .n_procs = 2, .procs = procs,
	};
	struct capture c;
	char *got;

	cap_open(&c);
	print_session(c.f, OUT_TEXT, &b);
	got = cap_close(&c);
	expect_narrow(got, "banner");
	cr_expect(!strncmp(got, "loopstall: watching PID 4260 (gunicorn: worker [app:app]), "
			   "CPython 3.11.2\nloopstall: watching PID 4194303 (", 101), "%s", got);
	cr_expect(strstr(got, "\nloopstall: and every process they start (--subprocesses)\n"
			      "loopstall: reporting stalls >= 50.0 ms; attached in 0.07 s; "
			      "Ctrl-C to stop\n"), "%s", got);
	free(got);
	cap_open(&c);
	print_session(c.f, OUT_JSON, &b);
	got = cap_close(&c);
	expect_json_line(got, "session");
	cr_expect(strstr(got, ",\"subprocesses\":true,\"processes\":[{\"pid\":4260,\"process\":"
			      "\"gunicorn: worker [app:app]\",\"ppid\":4242,\"python\":\"3.11.2\"},"
			      "{\"pid\":4194303,"), "%s", got);
	free(got);
}

Test(output, summary_of_several_processes)
{
	struct session_end s = sample_summary();
	struct proc_summary ps[2] = {
		{ .pid = 4200, .stalls = 4, .stalled_ns = 1200 * MS, .worst_ns = 800 * MS },
	};
	struct proc_info procs[2] = { proc4200, worker };
	char *got;

	sum.procs = ps;
	sum.n_procs = 1;
	s.multi = true;
	s.n_procs = 2;
	s.procs = procs;
	got = summary_out(&s, OUT_TEXT);
	cr_assert_str_eq(got,
		"\n"
		"loopstall: 2 processes ended by signal after 60.0 s\n"
		"  4 stalls >= 100.0 ms in 2 loops; stalled 1.20 s (1.0%), worst 800.0 ms\n"
		"  PID 4200    python3 app.py                                4 stalls    1.20 s\n"
		"    asyncio_loop/4242      epoll     3 stalls    1.05 s  worst 800.0 ms\n"
		"    worker-2/4250          poll      1 stall   150.0 ms  worst 150.0 ms\n"
		"  PID 4260    gunicorn: worker [app:app]                    0 stalls    0.0 ms\n"
		"  no events lost\n",
		"got:\n%s", got);
	expect_narrow(got, "summary of several");
	free(got);
	got = summary_out(&s, OUT_JSON);
	expect_json_line(got, "summary");
	cr_expect(strstr(got, "\"processes\":[{\"pid\":4200,\"process\":\"python3 app.py\","
			      "\"ppid\":0,\"python\":\"3.11.2\",\"stalls\":4,\"stalled_ms\":1200.000,"
			      "\"worst_ms\":800.000},{\"pid\":4260,"), "%s", got);
	free(got);
}

Test(output, summary_lost_processes)
{
	struct session_end s = sample_summary();
	char *got;

	s.lost_procs = 2;
	got = summary_out(&s, OUT_TEXT);
	cr_expect(strstr(got, "  LOST: 2 process events (new processes not followed:\n"
			      "        ring buffer or process table full)\n"), "%s", got);
	cr_expect(!strstr(got, "no events lost"), "%s", got);
	expect_narrow(got, "lost processes");
	free(got);
	got = summary_out(&s, OUT_JSON);
	cr_expect(strstr(got, "\"samples_over_cap\":0,\"processes\":2}"), "%s", got);
	free(got);
}
