// SPDX-License-Identifier: MIT
/* Unit tests: rules/match.c on synthetic stalls: every condition kind,
 * exclusions, call sites, source patterns, precedence. */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/syscall.h>
#include "match.h"

#define MS 1000000ULL

/* frames of a blocking requests.get three helpers below a coroutine */
static const struct match_frame http_frames[] = {
	{ .python = false, .function = "__recv", .library = "libc.so.6" },
	{ .python = false, .function = "sock_recv_into", .library = "python3.11" },
	{ .python = true, .function = "SocketIO.readinto", .module = "socket",
	  .file = "/usr/lib/python3.11/socket.py", .line = 706 },
	{ .python = true, .function = "get", .module = "requests.api",
	  .file = "/usr/lib/python3/dist-packages/requests/api.py", .line = 73 },
	{ .python = true, .user = true, .function = "fetch_profile", .module = "app",
	  .file = "/srv/app.py", .line = 47, .code = "return requests.get(url).json()",
	  .source = "def fetch_profile(url):\n    return requests.get(url).json()\n",
	  .source_line = 46 },
	{ .python = true, .user = true, .function = "handle", .module = "app",
	  .file = "/srv/app.py", .line = 85 },
	{ .python = true, .function = "Handle._run", .module = "asyncio.events",
	  .file = "/usr/lib/python3.11/asyncio/events.py", .line = 80 },
};

static struct match_stack http_stack(void)
{
	struct match_stack st = {
		.frames = http_frames, .n = 7, .share = 1.0, .on_cpu = false,
		.nr = SYS_recvfrom, .fd_kind = FD_TCP,
	};
	return st;
}

static struct match_stall one(const struct match_stack *st, uint64_t dur, uint64_t on)
{
	struct match_stall s = {
		.duration_ns = dur, .on_cpu_ns = on, .off_cpu_ns = dur - on,
		.stacks = st, .n = 1,
	};
	return s;
}

static char *names_recv[] = { "recvfrom", "recvmsg", "read" };
static char *names_poll[] = { "poll" };

static struct frame_cond c_requests = { .module = "requests" };
static struct frame_cond c_executor = { .module = "concurrent.futures.thread" };
static struct frame_cond c_recv_native = { .native = "sock_recv*" };
static struct frame_cond c_libc = { .library = "libc.so*" };
static struct syscall_cond sc_recv = { .names = names_recv, .n_names = 3, .arg = -1 };

static struct rule r_http = {
	.id = "T-HTTP", .name = "blocking HTTP", .category = CAT_HTTP,
	.severity = SEV_ERROR, .frames = &c_requests, .n_frames = 1,
	.unless = &c_executor, .n_unless = 1, .max_on_cpu = 1,
};
static struct rule r_timeout = {
	.id = "T-TIMEOUT", .name = "no timeout", .category = CAT_TIMEOUT,
	.severity = SEV_WARNING, .syscall = &sc_recv, .fd_kinds = 1u << FD_TCP,
	.max_on_cpu = 1,
};

static int run(struct rule *rules, int n, const struct match_stall *s, struct match_hit *out)
{
	struct rule_pack p = { .v = rules, .n = n };

	return match__stall(&p, s, out, 8);
}

Test(match, frame_condition_and_call_site_is_innermost_user_frame)
{
	struct match_stack st = http_stack();
	struct match_stall s = one(&st, 200 * MS, 2 * MS);
	struct match_hit f[8];

	cr_assert_eq(run(&r_http, 1, &s, f), 1);
	cr_expect_eq(f[0].rule, &r_http);
	cr_expect_eq(f[0].site, 4);		/* fetch_profile, not requests' get */
	cr_expect_eq(f[0].line, 47);
	cr_expect(strstr(f[0].evidence, "requests.api.get (api.py:73)"), "%s", f[0].evidence);
}

Test(match, module_pattern_matches_submodules_only_on_dots)
{
	struct frame_cond c = { .module = "request" };	/* not a prefix match */
	struct rule r = r_http;
	struct match_stack st = http_stack();
	struct match_stall s = one(&st, 200 * MS, 0);
	struct match_hit f[8];

	r.frames = &c;
	cr_expect_eq(run(&r, 1, &s, f), 0);
	c.module = "requests.*";
	cr_expect_eq(run(&r, 1, &s, f), 1);
	c.module = "requests.api";
	cr_expect_eq(run(&r, 1, &s, f), 1);
}

Test(match, native_and_library_conditions_match_native_frames_only)
{
	struct rule r = r_http;
	struct match_stack st = http_stack();
	struct match_stall s = one(&st, 200 * MS, 0);
	struct match_hit f[8];
	struct frame_cond both[] = { { .native = "sock_recv*" }, { .library = "libc.so*" } };
	struct frame_cond py_as_native = { .native = "get" };	/* a Python name */

	r.frames = both;
	r.n_frames = 2;
	cr_expect_eq(run(&r, 1, &s, f), 1);
	r.frames = &py_as_native;
	r.n_frames = 1;
	cr_expect_eq(run(&r, 1, &s, f), 0);
	(void)c_recv_native;
	(void)c_libc;
}

Test(match, exclusion_frame_suppresses)
{
	static const struct match_frame in_pool[] = {
		{ .python = true, .function = "get", .module = "requests.api", .line = 73 },
		{ .python = true, .function = "_WorkItem.run", .module = "concurrent.futures.thread",
		  .line = 58 },
	};
	struct match_stack st = { .frames = in_pool, .n = 2, .share = 1, .nr = SYS_recvfrom,
				  .fd_kind = FD_TCP };
	struct match_stall s = one(&st, 200 * MS, 0);
	struct match_hit f[8];

	cr_expect_eq(run(&r_http, 1, &s, f), 0);
	cr_expect_eq(run(&r_timeout, 1, &s, f), 1);	/* no exclusion there */
}

Test(match, syscall_names_args_and_fd_kind)
{
	struct match_stack st = http_stack();
	struct match_stall s = one(&st, 200 * MS, 0);
	struct match_hit f[8];
	struct syscall_cond poll_inf = { .names = names_poll, .n_names = 1, .arg = 2,
					 .op = ARG_LT, .value = 0 };
	struct rule r = r_timeout;

	cr_expect_eq(run(&r, 1, &s, f), 1);
	cr_expect(strstr(f[0].evidence, "in recvfrom on a tcp"), "%s", f[0].evidence);
	st.fd_kind = FD_UNIX;
	cr_expect_eq(run(&r, 1, &s, f), 0, "fd kind must match");
	st.fd_kind = -1;
	cr_expect_eq(run(&r, 1, &s, f), 0, "unknown fd kind never matches a kind");
	st.fd_kind = FD_TCP;
	st.nr = SYS_poll;
	cr_expect_eq(run(&r, 1, &s, f), 0, "another syscall");
	r.syscall = &poll_inf;
	r.fd_kinds = 0;
	st.args[2] = 5000;
	cr_expect_eq(run(&r, 1, &s, f), 0, "poll with a timeout");
	st.args[2] = -1;
	cr_expect_eq(run(&r, 1, &s, f), 1, "poll without one");
	cr_expect(strstr(f[0].evidence, "(arg 2 = -1)"), "%s", f[0].evidence);
	st.nr = -1;
	cr_expect_eq(run(&r, 1, &s, f), 0, "not in a syscall");
}

/* or_frame: the call's own work around its syscall (on-CPU in the C
 * function that makes it) holds the syscall condition too. */
Test(match, syscall_or_frame)
{
	struct match_stack st = http_stack();
	struct match_stall s = one(&st, 200 * MS, 200 * MS);
	struct match_hit f[8];
	struct frame_cond in_sock = { .native = "sock_recv*" };
	struct syscall_cond sc = { .names = names_poll, .n_names = 1, .arg = -1 };
	struct rule r = { .id = "T1", .name = "t", .category = CAT_FILE, .severity = SEV_WARNING,
			  .syscall = &sc, .max_on_cpu = 1 };

	st.nr = -1;		/* on-CPU in sock_recv_into, no syscall */
	st.on_cpu = true;
	cr_expect_eq(run(&r, 1, &s, f), 0, "neither the syscall nor or_frame");
	sc.or_frame = &in_sock;
	cr_expect_eq(run(&r, 1, &s, f), 1, "in sock_recv_into: or_frame");
	st.nr = SYS_poll;
	in_sock.native = "nothing_like_it";
	cr_expect_eq(run(&r, 1, &s, f), 1, "the syscall alone");
	st.nr = SYS_recvfrom;
	cr_expect_eq(run(&r, 1, &s, f), 0, "another syscall, no such frame");
}

Test(match, on_cpu_share_and_duration)
{
	struct match_stack st = http_stack();
	struct match_stall s = one(&st, 200 * MS, 190 * MS);
	struct match_hit f[8];
	struct rule cpu = { .id = "T-CPU", .name = "cpu", .category = CAT_CPU,
			    .severity = SEV_WARNING, .min_on_cpu = 0.8, .max_on_cpu = 1 };

	st.on_cpu = true;
	cr_expect_eq(run(&cpu, 1, &s, f), 1);
	cr_expect(strstr(f[0].evidence, "on-CPU 95%"), "%s", f[0].evidence);
	/* the innermost Python function is where the CPU goes */
	cr_expect(strstr(f[0].evidence, "hottest: socket.SocketIO.readinto (socket.py:706), "
			 "100% of its time"), "%s", f[0].evidence);
	s.on_cpu_ns = 100 * MS;
	cr_expect_eq(run(&cpu, 1, &s, f), 0);
	cpu.min_on_cpu = 0;
	cpu.max_on_cpu = 0.3;
	cr_expect_eq(run(&cpu, 1, &s, f), 0, "50%% is above max");
	cpu.max_on_cpu = 1;
	cpu.min_duration_ns = 500 * MS;
	cr_expect_eq(run(&cpu, 1, &s, f), 0, "shorter than min_duration");
	s.duration_ns = 600 * MS;
	cr_expect_eq(run(&cpu, 1, &s, f), 1);
}

Test(match, innermost_condition_is_the_innermost_python_frame)
{
	struct frame_cond in_socket = { .module = "socket" }, in_app = { .module = "app" };
	struct rule r = { .id = "T-IN", .name = "in", .category = CAT_OTHER,
			  .severity = SEV_INFO, .innermost = &in_socket, .max_on_cpu = 1 };
	struct match_stack st = http_stack();
	struct match_stall s = one(&st, 200 * MS, 0);
	struct match_hit f[8];

	cr_expect_eq(run(&r, 1, &s, f), 1);
	r.innermost = &in_app;
	cr_expect_eq(run(&r, 1, &s, f), 0, "app is on the stack but not innermost");
}

Test(match, gil_wait_needs_the_flag)
{
	struct rule r = { .id = "T-GIL", .name = "gil", .category = CAT_GIL,
			  .severity = SEV_WARNING, .gil_wait = true, .max_on_cpu = 1 };
	struct match_stack st = http_stack();
	struct match_stall s = one(&st, 200 * MS, 0);
	struct match_hit f[8];

	cr_expect_eq(run(&r, 1, &s, f), 0);
	s.gil_wait = true;
	cr_expect_eq(run(&r, 1, &s, f), 1);
	cr_expect(strstr(f[0].evidence, "waits for the GIL"), "%s", f[0].evidence);
}

Test(match, minor_stacks_are_not_matched)
{
	static const struct match_frame plain[] = {
		{ .python = true, .user = true, .function = "work", .module = "app", .line = 3 },
	};
	struct match_stack st[2] = {
		{ .frames = plain, .n = 1, .share = 0.9, .nr = -1, .fd_kind = -1 },
		http_stack(),
	};
	struct match_stall s = { .duration_ns = 200 * MS, .stacks = st, .n = 2 };
	struct match_hit f[8];

	st[1].share = 0.1;
	cr_expect_eq(run(&r_http, 1, &s, f), 0, "10%% of the stall is noise");
	st[1].share = 0.25;
	cr_expect_eq(run(&r_http, 1, &s, f), 1);
	cr_expect_eq(f[0].stack, 1);
}

Test(match, a_rule_counts_the_share_of_every_stack_it_holds_on)
{
	static const struct match_frame plain[] = {
		{ .python = true, .user = true, .function = "work", .module = "app", .line = 3 },
	};
	/* a cause spread over stacks lighter than the first (a recursive
	 * decoder): 3 x 8% is matched, 2 x 8% is not */
	struct match_stack st[4] = {
		{ .frames = plain, .n = 1, .share = 0.76, .nr = -1, .fd_kind = -1 },
		http_stack(), http_stack(), http_stack(),
	};
	struct match_stall s = { .duration_ns = 200 * MS, .stacks = st, .n = 4 };
	struct match_hit f[8];

	st[1].share = st[2].share = st[3].share = 0.08;
	cr_assert_eq(run(&r_http, 1, &s, f), 1);
	cr_expect_eq(f[0].stack, 1, "evidence from the heaviest stack it holds on");
	cr_expect_float_eq(f[0].share, 0.24, 1e-9);
	cr_expect_eq(f[0].line, 47);
	s.n = 3;
	cr_expect_eq(run(&r_http, 1, &s, f), 0, "16%% of the stall is noise");
	st[0] = http_stack();
	st[0].share = 0.05;
	cr_assert_eq(run(&r_http, 1, &s, f), 1, "the heaviest stack always counts");
	cr_expect_float_eq(f[0].share, 0.21, 1e-9);
}

/* A finding's time is its part's in the proportion its rule holds on of
 * what the hits' rules naming something hold on (report/findings.c): a
 * rule holding on too little to be a hit (a collection among the user's
 * own frames, 15%) names none of it, its time goes with the cause found. */
Test(match, the_named_share_is_the_hits_rules_only)
{
	static const struct match_frame gc_fr[] = {
		{ .python = false, .function = "gc_collect_main", .library = "python3.11" },
		{ .python = true, .user = true, .function = "fetch_profile", .module = "app",
		  .file = "/srv/app.py", .line = 47 },
	};
	static struct frame_cond c_gc = { .native = "gc_collect_main" };
	struct rule rules[3] = { r_http, r_timeout, {
		.id = "T-GC", .name = "gc", .category = CAT_GC, .severity = SEV_INFO,
		.frames = &c_gc, .n_frames = 1, .max_on_cpu = 1 } };
	struct match_stack st[2] = {
		http_stack(),
		{ .frames = gc_fr, .n = 2, .share = 0.15, .on_cpu = true, .nr = -1,
		  .fd_kind = -1 },
	};
	struct match_stall s = { .duration_ns = 200 * MS, .stacks = st, .n = 2 };
	struct match_hit f[8];
	int n;

	st[0].share = 0.85;
	n = run(rules, 3, &s, f);
	cr_assert_eq(n, 2, "T-GC's 15%% is noise");
	cr_expect_float_eq(match__named_share(f, n, &s), 0.85, 1e-9);
	cr_expect_float_eq(f[0].share / match__named_share(f, n, &s), 1, 1e-9,
			   "T-HTTP stands for the whole part");
	st[0].share = 0.75;
	st[1].share = 0.25;
	n = run(rules, 3, &s, f);
	cr_assert_eq(n, 3);
	cr_expect_float_eq(match__named_share(f, n, &s), 1, 1e-9);
	cr_expect_float_eq(match__named_share(f, 1, &s), 0.75, 1e-9);
}

/* A catch-all (on-CPU, exclusions, no frame named) is judged by the
 * heaviest stack alone: the light stacks around a stat loop are not
 * "CPU-bound code" of their own. */
Test(match, a_catch_all_rule_holds_on_the_heaviest_stack_only)
{
	static const struct match_frame stat_fr[] = {
		{ .python = false, .function = "fstatat", .library = "libc.so.6" },
		{ .python = true, .user = true, .function = "scan", .module = "app", .line = 9 },
	};
	static const struct match_frame py_fr[] = {
		{ .python = false, .function = NULL, .library = "python3.15" },
		{ .python = true, .user = true, .function = "scan", .module = "app", .line = 9 },
	};
	static struct frame_cond libc_stat = { .native = "*stat*", .library = "libc.so*" };
	struct rule cpu = { .id = "T-CPU", .name = "cpu", .category = CAT_CPU,
			    .severity = SEV_WARNING, .min_on_cpu = 0.5, .max_on_cpu = 1,
			    .unless = &libc_stat, .n_unless = 1 };
	struct match_stack st[4] = {
		{ .frames = stat_fr, .n = 2, .share = 0.55, .on_cpu = true, .nr = -1, .fd_kind = -1 },
		{ .frames = py_fr, .n = 2, .share = 0.15, .on_cpu = true, .nr = -1, .fd_kind = -1 },
		{ .frames = py_fr, .n = 2, .share = 0.15, .on_cpu = true, .nr = -1, .fd_kind = -1 },
		{ .frames = py_fr, .n = 2, .share = 0.15, .on_cpu = true, .nr = -1, .fd_kind = -1 },
	};
	struct match_stall s = { .duration_ns = 100 * MS, .on_cpu_ns = 98 * MS,
				 .stacks = st, .n = 4 };
	struct match_hit f[8];

	cr_expect_eq(run(&cpu, 1, &s, f), 0, "45%% in unnamed frames around the stat calls");
	st[0].frames = py_fr;
	st[1].frames = stat_fr;
	cr_assert_eq(run(&cpu, 1, &s, f), 1, "the heaviest stack is Python");
	/* judged on the heaviest, it speaks for all no specific rule names */
	cr_expect_float_eq(f[0].share, 1, 1e-9);
}

/* Nor does it hold where a rule naming a frame does: the Python side of
 * ssl.create_default_context (Enum.__new__ under SSLContext.verify_flags)
 * is that rule's, even when it is the heaviest stack. */
Test(match, a_catch_all_rule_yields_to_a_rule_naming_the_heaviest_stack)
{
	static const struct match_frame fr[] = {
		{ .python = true, .function = "Enum.__new__", .module = "enum", .line = 1185 },
		{ .python = true, .function = "create_default_context", .module = "ssl",
		  .line = 727 },
		{ .python = true, .user = true, .function = "connect", .module = "app", .line = 9 },
	};
	static struct frame_cond c_ssl = { .module = "ssl", .qualname = "create_default_context" };
	struct rule rules[2] = {
		{ .id = "T-SSL", .name = "ssl", .category = CAT_CLIENT_PER_REQUEST,
		  .severity = SEV_WARNING, .frames = &c_ssl, .n_frames = 1, .max_on_cpu = 1 },
		{ .id = "T-CPU", .name = "cpu", .category = CAT_CPU, .severity = SEV_WARNING,
		  .min_on_cpu = 0.5, .max_on_cpu = 1 },
	};
	struct match_stack st = { .frames = fr, .n = 3, .share = 0.3, .on_cpu = true,
				  .nr = -1, .fd_kind = -1 };
	struct match_stall s = one(&st, 200 * MS, 200 * MS);
	struct match_hit f[8];

	cr_assert_eq(run(rules, 2, &s, f), 1);
	cr_expect_str_eq(f[0].rule->id, "T-SSL");
	cr_expect_eq(run(&rules[1], 1, &s, f), 1, "alone, the catch-all holds");
}

/* A rule naming a minority of a part, even its heaviest stack (a
 * collection in a template render spread over many light stacks), does
 * not silence the catch-all: it speaks for the rest, each with its time. */
Test(match, a_catch_all_speaks_for_the_rest_a_minority_rule_leaves)
{
	static const struct match_frame gc_fr[] = {
		{ .python = false, .function = "gc_collect_main", .library = "python3.11" },
		{ .python = true, .user = true, .function = "render", .module = "app", .line = 5 },
	};
	static const struct match_frame py_fr[] = {
		{ .python = true, .function = "root", .module = "<template>", .line = 3 },
		{ .python = true, .user = true, .function = "render", .module = "app", .line = 5 },
	};
	static struct frame_cond c_gc = { .native = "gc_collect_main" };
	struct rule rules[2] = {
		{ .id = "T-GC", .name = "gc", .category = CAT_GC, .severity = SEV_INFO,
		  .frames = &c_gc, .n_frames = 1, .max_on_cpu = 1 },
		{ .id = "T-CPU", .name = "cpu", .category = CAT_CPU, .severity = SEV_WARNING,
		  .min_on_cpu = 0.5, .max_on_cpu = 1 },
	};
	struct match_stack st[8];
	struct match_stall s = { .duration_ns = 100 * MS, .on_cpu_ns = 100 * MS,
				 .stacks = st, .n = 8 };
	struct match_hit f[8];

	st[0] = (struct match_stack){ .frames = gc_fr, .n = 2, .share = 0.16, .on_cpu = true,
				      .nr = -1, .fd_kind = -1 };
	for (int i = 1; i < 8; i++)
		st[i] = (struct match_stack){ .frames = py_fr, .n = 2, .share = 0.12,
					      .on_cpu = true, .nr = -1, .fd_kind = -1 };
	cr_assert_eq(run(rules, 2, &s, f), 2);
	cr_expect_str_eq(f[0].rule->id, "T-GC");
	cr_expect_float_eq(f[0].share, 0.16, 1e-9);
	cr_expect_str_eq(f[1].rule->id, "T-CPU");
	cr_expect_float_eq(f[1].share, 0.84, 1e-9, "the rest, not the whole part");
	cr_expect_eq(f[1].stack, 1, "judged on the heaviest stack T-GC leaves");
	cr_expect_float_eq(match__named_share(f, 2, &s), 1, 1e-9);
	/* named for most of the part: the rule's alone */
	st[0].share = 0.58;
	for (int i = 1; i < 8; i++)
		st[i].share = 0.06;
	cr_assert_eq(run(rules, 2, &s, f), 1);
	cr_expect_str_eq(f[0].rule->id, "T-GC");
}

Test(match, a_stall_no_rule_holds_on_is_other_with_its_call_site)
{
	static const struct match_frame fr[] = {
		{ .python = false, .function = "clock_nanosleep", .library = "libc.so.6" },
		{ .python = true, .function = "sleep", .module = "time", .line = 0 },
		{ .python = true, .user = true, .function = "nap", .module = "app",
		  .file = "/srv/app.py", .line = 12 },
	};
	struct match_stack st = { .frames = fr, .n = 3, .share = 1, .nr = SYS_clock_nanosleep,
				  .fd_kind = -1 };
	struct match_stall s = one(&st, 200 * MS, 0);
	struct match_hit f;

	match__other(&s, &f);
	cr_expect_str_eq(f.rule->id, "LS000");
	cr_expect_eq(f.rule->category, CAT_OTHER);
	cr_expect_eq(f.rule->severity, SEV_INFO);
	cr_expect_eq(f.site, 2, "the innermost user frame");
	cr_expect_eq(f.line, 12);
	cr_expect(strstr(f.evidence, "no rule matched; mostly in clock_nanosleep; on-CPU 0%"),
		  "%s", f.evidence);
	s.n = 0;
	match__other(&s, &f);
	cr_expect_eq(f.site, -1);
	cr_expect(strstr(f.evidence, "no sample"), "%s", f.evidence);
	/* on the CPU throughout: no tick fell in it, said so */
	s.on_cpu_ns = s.duration_ns;
	s.off_cpu_ns = 0;
	match__other(&s, &f);
	cr_expect_str_eq(f.evidence, "no rule matched; not sampled: on the CPU throughout, "
			 "between two sampling ticks");
}

Test(match, several_rules_fire_in_rule_order_once_each)
{
	struct rule rules[2] = { r_timeout, r_http };
	struct match_stack st[2] = { http_stack(), http_stack() };
	struct match_stall s = { .duration_ns = 200 * MS, .stacks = st, .n = 2 };
	struct match_hit f[8];

	st[0].share = st[1].share = 0.5;
	cr_assert_eq(run(rules, 2, &s, f), 2);
	cr_expect_str_eq(f[0].rule->id, "T-TIMEOUT");
	cr_expect_str_eq(f[1].rule->id, "T-HTTP");
	cr_assert_eq(run(rules, 2, &s, f) , 2);
	cr_expect_eq(run(rules, 1, &s, f), 1, "max and n respected");
}

static struct rule source_rule(regex_t *re, int n_anti, regex_t *req, int n_req,
			       regex_t *ctx, int n_ctx, regex_t *sug, int n_sug)
{
	static char *globs[] = { "*app.py" };
	struct rule r = {
		.id = "T-SRC", .name = "src", .category = CAT_OTHER, .severity = SEV_INFO,
		.file_globs = globs, .n_file_globs = 1, .anti = re, .n_anti = n_anti,
		.required = req, .n_required = n_req, .context = ctx, .n_context = n_ctx,
		.suggested = sug, .n_suggested = n_sug, .max_on_cpu = 1,
	};
	return r;
}

Test(match, source_anti_pattern_gives_the_line_of_the_match)
{
	static const struct match_frame fr[] = {
		{ .python = true, .user = true, .function = "load", .module = "app",
		  .file = "/srv/app.py", .line = 12,
		  .source = "async def load(uid):\n    await get_user(uid)\n"
			    "    await get_orders(uid)\n    return\n",
		  .source_line = 10 },
	};
	struct match_stack st = { .frames = fr, .n = 1, .share = 1, .nr = -1, .fd_kind = -1 };
	struct match_stall s = one(&st, 200 * MS, 0);
	regex_t re;
	struct match_hit f[8];
	struct rule r;

	cr_assert_eq(regcomp(&re, "await\\s+\\w+\\([^)]*\\)\\s*\n\\s*await", REG_EXTENDED), 0);
	r = source_rule(&re, 1, NULL, 0, NULL, 0, NULL, 0);
	cr_assert_eq(run(&r, 1, &s, f), 1);
	cr_expect_eq(f[0].line, 12, "the call site is the line that was running");
	cr_expect(strstr(f[0].evidence, "load, line 11, matches the anti-pattern"), "%s",
		  f[0].evidence);
	static char *other[] = { "*client*.py" };
	r.file_globs = other;
	cr_expect_eq(run(&r, 1, &s, f), 0, "file_pattern decides where patterns apply");
	regfree(&re);
}

Test(match, required_with_context_and_suggested)
{
	static const struct match_frame fr[] = {
		{ .python = true, .user = true, .function = "fetch", .module = "app",
		  .file = "/srv/app.py", .line = 2,
		  .source = "def fetch(url):\n    return requests.get(url)\n", .source_line = 1 },
	};
	struct match_stack st = { .frames = fr, .n = 1, .share = 1, .nr = -1, .fd_kind = -1 };
	struct match_stall s = one(&st, 200 * MS, 0);
	regex_t req, ctx, ctx2, sug;
	struct match_hit f[8];
	struct rule r;

	cr_assert_eq(regcomp(&req, "timeout", REG_EXTENDED), 0);
	cr_assert_eq(regcomp(&ctx, "requests|httpx", REG_EXTENDED), 0);
	cr_assert_eq(regcomp(&ctx2, "aiohttp", REG_EXTENDED), 0);
	cr_assert_eq(regcomp(&sug, "async def|await", REG_EXTENDED), 0);
	r = source_rule(NULL, 0, &req, 1, &ctx, 1, NULL, 0);
	cr_expect_eq(run(&r, 1, &s, f), 1, "requests used, no timeout");
	cr_expect_eq(f[0].line, 2);
	r = source_rule(NULL, 0, &req, 1, &ctx2, 1, NULL, 0);
	cr_expect_eq(run(&r, 1, &s, f), 0, "context absent: the rule does not apply");
	r = source_rule(NULL, 0, NULL, 0, NULL, 0, &sug, 1);
	cr_expect_eq(run(&r, 1, &s, f), 1, "none of the suggested patterns");
	regfree(&req);
	regfree(&ctx);
	regfree(&ctx2);
	regfree(&sug);
}

Test(match, module_of_paths)
{
	static const struct { const char *file, *mod; } cases[] = {
		{ "/usr/lib/python3/dist-packages/requests/api.py", "requests.api" },
		{ "/usr/lib/python3.11/json/__init__.py", "json" },
		{ "/usr/lib/python3.11/asyncio/base_events.py", "asyncio.base_events" },
		{ "/venv/lib/python3.12/site-packages/httpx/_client.py", "httpx._client" },
		{ "/srv/app/handlers.py", "handlers" },
		{ "<frozen importlib._bootstrap>", "<frozen importlib._bootstrap>" },
		{ "app.py", "app" },
	};
	char buf[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_str_eq(match__module_of(cases[i].file, buf, sizeof(buf)), cases[i].mod,
				 "%s", cases[i].file);
}

Test(match, a_rule_without_conditions_matches_nothing)
{
	struct rule r = { .id = "PERF-045", .name = "Worker pool sizing", .category = CAT_OTHER,
			  .severity = SEV_INFO, .max_on_cpu = 1 };
	struct match_stack st = http_stack();
	struct match_stall s = one(&st, 200 * MS, 0);
	struct match_hit f[8];

	cr_expect_eq(run(&r, 1, &s, f), 0);
	r.min_duration_ns = 100 * MS;		/* one condition is enough */
	cr_expect_eq(run(&r, 1, &s, f), 1);
}

/* a precompiled pattern's match on a stripped interpreter: the C frames
 * have no names, the user's line calls .match( (and one outer line too) */
static const struct match_frame slug_frames[] = {
	{ .python = false, .library = "python3.13" },
	{ .python = false, .library = "python3.13" },
	{ .python = false, .function = "PyObject_Vectorcall", .library = "python3.13" },
	{ .python = true, .user = true, .function = "check_slug", .module = "app",
	  .file = "/srv/app.py", .line = 12,
	  .code = "return SLUG.match(s)                # the slug" },
	{ .python = true, .user = true, .function = "handle", .module = "app",
	  .file = "/srv/app.py", .line = 30, .code = "if check_slug(s) and PAT.search(t):" },
};

Test(match, any_alternative_holds_and_the_evidence_names_what_matched)
{
	struct frame_cond alts[] = { { .module = "re" }, { .native = "sre_*" },
				     { .library = "python3*" } };
	struct frame_cond re = { .any = alts, .n_any = 3 };
	struct rule r = { .id = "T-RE", .name = "re", .category = CAT_CPU,
			  .severity = SEV_WARNING, .frames = &re, .n_frames = 1,
			  .max_on_cpu = 1 };
	struct match_stack st = { .frames = slug_frames, .n = 5, .share = 1, .on_cpu = true,
				  .nr = -1, .fd_kind = -1 };
	struct match_stall s = one(&st, 400 * MS, 390 * MS);
	struct match_hit f[8];

	cr_assert_eq(run(&r, 1, &s, f), 1, "by the third alternative");
	cr_expect_eq(f[0].site, 3);
	cr_expect(strstr(f[0].evidence, "? (python3.13) on the stack"), "%s", f[0].evidence);
	alts[2].library = "libpython3*";
	cr_expect_eq(run(&r, 1, &s, f), 0, "no alternative holds");
	/* an exclusion with alternatives excludes by any of them */
	r.frames = NULL;
	r.n_frames = 0;
	r.min_on_cpu = 0.5;
	cr_expect_eq(run(&r, 1, &s, f), 1);
	alts[2].library = "python3*";
	r.unless = &re;
	r.n_unless = 1;
	cr_expect_eq(run(&r, 1, &s, f), 0);
}

Test(match, code_speaks_of_the_innermost_python_frame_only)
{
	regex_t call, search;
	struct frame_cond alts[2] = { { .module = "re" }, { .code = &call, .n_code = 1 } };
	struct frame_cond re = { .any = alts, .n_any = 2 };
	struct frame_cond outer = { .code = &search, .n_code = 1 };
	struct rule r = { .id = "T-RE", .name = "re", .category = CAT_CPU,
			  .severity = SEV_WARNING, .frames = &re, .n_frames = 1,
			  .max_on_cpu = 1 };
	struct match_stack st = { .frames = slug_frames, .n = 5, .share = 1, .on_cpu = true,
				  .nr = -1, .fd_kind = -1 };
	struct match_stall s = one(&st, 400 * MS, 390 * MS);
	struct match_hit f[8];

	cr_assert_eq(regcomp(&call, "\\.(match|search)\\(", REG_EXTENDED), 0);
	cr_assert_eq(regcomp(&search, "\\.search\\(", REG_EXTENDED), 0);
	cr_assert_eq(run(&r, 1, &s, f), 1);
	cr_expect_eq(f[0].site, 3);
	cr_expect_eq(f[0].line, 12);
	/* the line, blanks squeezed */
	cr_expect(strstr(f[0].evidence, "in app.check_slug (app.py:12): return SLUG.match(s) "
			 "# the slug; on-CPU 98%"), "%s", f[0].evidence);
	/* handle's line calls .search( too, but handle is not the innermost
	 * Python frame: what runs is check_slug's call */
	r.frames = &outer;
	cr_expect_eq(run(&r, 1, &s, f), 0);
	r.frames = NULL;
	r.n_frames = 0;
	r.innermost = &re;
	cr_expect_eq(run(&r, 1, &s, f), 1, "innermost takes alternatives");
	cr_expect(strstr(f[0].evidence, "in app.check_slug (app.py:12): return SLUG.match(s)"),
		  "%s", f[0].evidence);
	/* a frame without its line known never matches a code condition */
	struct match_frame no_code[5];

	memcpy(no_code, slug_frames, sizeof(no_code));
	no_code[3].code = NULL;
	st.frames = no_code;
	cr_expect_eq(run(&r, 1, &s, f), 0);
	/* a native frame has no line: code is a Python condition */
	r.innermost = NULL;
	r.frames = &re;
	r.n_frames = 1;
	no_code[0].code = "x.match(y)";
	cr_expect_eq(run(&r, 1, &s, f), 0);
	regfree(&call);
	regfree(&search);
}

Test(match, a_long_line_is_cut_in_the_evidence)
{
	regex_t call;
	struct frame_cond c = { .code = &call, .n_code = 1 };
	struct rule r = { .id = "T-RE", .name = "re", .category = CAT_OTHER,
			  .severity = SEV_WARNING, .frames = &c, .n_frames = 1,
			  .max_on_cpu = 1 };
	struct match_frame fr[] = {
		{ .python = true, .user = true, .function = "f", .module = "app", .file = "/srv/app.py",
		  .line = 3, .code = "result  =\tCOMPILED_PATTERN_WITH_A_LONG_NAME.match(some_text, "
				     "position, end_position_of_the_text)" },
	};
	struct match_stack st = { .frames = fr, .n = 1, .share = 1, .nr = -1, .fd_kind = -1 };
	struct match_stall s = one(&st, 400 * MS, 0);
	struct match_hit f[8];

	cr_assert_eq(regcomp(&call, "\\.match\\(", REG_EXTENDED), 0);
	cr_assert_eq(run(&r, 1, &s, f), 1);
	/* blanks squeezed, 60 characters kept */
	cr_expect(strstr(f[0].evidence, ": result = COMPILED_PATTERN_WITH_A_LONG_NAME.match(some_text,"
			 "..."), "%s", f[0].evidence);
	regfree(&call);
}
