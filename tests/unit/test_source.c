// SPDX-License-Identifier: MIT
/* Unit tests: symbolizer/source.c (source lines of the target's files,
 * read through /proc/PID/root and /proc/PID/cwd; here the target is the
 * test itself). */
#include <criterion/criterion.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "source.h"

static struct source *src;
static char dir[64];

static void setup(void)
{
	strcpy(dir, "/tmp/ls-source-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	src = source__new(getpid());
	cr_assert_not_null(src);
}

static void teardown(void)
{
	char cmd[128];

	source__free(src);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		cr_log_warn("could not remove %s", dir);
}

TestSuite(source, .init = setup, .fini = teardown);

/* Write text to dir/name; its absolute path into path. */
static void write_file(const char *name, const char *text, size_t len, char *path)
{
	FILE *f;

	snprintf(path, PATH_MAX, "%s/%s", dir, name);
	f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fwrite(text, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

#define WRITE(name, text, path) write_file(name, text, sizeof(text) - 1, path)

static void expect_line(const char *path, int line, const char *want)
{
	const char *got = source__line(src, path, line);

	if (!want) {
		cr_expect_null(got, "%s:%d: got \"%s\", want NULL", path, line, got);
		return;
	}
	cr_assert_not_null(got, "%s:%d: NULL, want \"%s\"", path, line, want);
	cr_expect_str_eq(got, want, "%s:%d", path, line);
}

Test(source, lines_without_indentation)
{
	char path[PATH_MAX];

	WRITE("app.py",
	      "import time\n"
	      "\n"
	      "async def handle(req):\n"
	      "    data = await fetch(req)\n"
	      "\t\treturn data  \n"
	      "    \n"
	      " \t x = 1\n", path);
	expect_line(path, 1, "import time");
	expect_line(path, 2, "");
	expect_line(path, 3, "async def handle(req):");
	expect_line(path, 4, "data = await fetch(req)");
	expect_line(path, 5, "return data");		/* trailing blanks go too */
	expect_line(path, 6, "");
	expect_line(path, 7, "x = 1");
	/* and again, from the cache */
	expect_line(path, 4, "data = await fetch(req)");
	expect_line(path, 1, "import time");
}

Test(source, crlf)
{
	char path[PATH_MAX];

	WRITE("win.py", "def f():\r\n    return 1\r\n\r\n    pass \r\n", path);
	expect_line(path, 1, "def f():");
	expect_line(path, 2, "return 1");
	expect_line(path, 3, "");
	expect_line(path, 4, "pass");
	expect_line(path, 5, NULL);
}

Test(source, line_out_of_range)
{
	char path[PATH_MAX];

	WRITE("short.py", "a = 1\nb = 2\n", path);
	expect_line(path, 0, NULL);
	expect_line(path, -1, NULL);
	expect_line(path, 3, NULL);		/* past the end */
	expect_line(path, 1000000, NULL);
	expect_line(path, 2, "b = 2");
}

/* Reads are capped (a target's file is not trusted): a line at 4 KiB,
 * a file at 4 MiB (lines past it unknown). */
Test(source, reads_capped)
{
	enum { BIG = (4 << 20) + 100000 };
	char path[PATH_MAX], *text = malloc(BIG);
	const char *l;
	size_t n = 0;

	cr_assert_not_null(text);
	n += (size_t)sprintf(text, "x = 1\n");
	memset(text + n, 'a', 10000);		/* line 2: 10,000 bytes */
	n += 10000;
	text[n++] = '\n';
	while (n + 6 < BIG)			/* "y = 1" lines to past 4 MiB */
		n += (size_t)sprintf(text + n, "y = 1\n");
	write_file("big.py", text, n, path);
	free(text);
	expect_line(path, 1, "x = 1");
	l = source__line(src, path, 2);
	cr_assert_not_null(l);
	cr_expect_eq(strlen(l), 4096, "a line cut at 4 KiB: %zu", strlen(l));
	expect_line(path, 3, "y = 1");
	expect_line(path, ((4 << 20) - 10007) / 6 - 100, "y = 1");	/* inside */
	expect_line(path, (int)(n / 6), NULL);	/* past 4 MiB: not read */
}

Test(source, last_line_without_newline)
{
	char path[PATH_MAX];

	WRITE("nonl.py", "a = 1\n    b = 2", path);
	expect_line(path, 2, "b = 2");
	expect_line(path, 3, NULL);
}

Test(source, empty_file)
{
	char path[PATH_MAX];

	WRITE("empty.py", "", path);
	expect_line(path, 1, NULL);
}

Test(source, missing_file)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/nope.py", dir);
	expect_line(path, 1, NULL);
	expect_line(path, 1, NULL);		/* cached as unreadable */
	cr_expect_null(source__line(src, "/nonexistent/dir/x.py", 3));
	cr_expect_null(source__line(src, dir, 1), "a directory");
}

/* A relative co_filename is from the target's working directory. */
Test(source, relative_path)
{
	char path[PATH_MAX];

	WRITE("rel.py", "first\n  second\n", path);
	cr_assert_eq(chdir(dir), 0);
	expect_line("rel.py", 2, "second");
	expect_line("./rel.py", 1, "first");
	cr_assert_eq(chdir("/"), 0);
	/* not from our cwd: cached per path as first read */
	expect_line("rel.py", 1, "first");
}

Test(source, pseudo_files)
{
	static const char *const names[] = {
		"<frozen importlib._bootstrap>", "<frozen runpy>", "<string>", "<stdin>",
	};

	/* even with a file of that name in the working directory */
	char path[PATH_MAX];

	WRITE("<string>", "not this\n", path);
	cr_assert_eq(chdir(dir), 0);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		expect_line(names[i], 1, NULL);
	cr_expect_null(source__line(src, NULL, 1));
	cr_expect_null(source__line(src, "", 1));
}

/* Lines stay valid until source__free, while other files are loaded. */
Test(source, lines_stay_valid)
{
	char path[PATH_MAX], first_path[PATH_MAX];
	const char *first;

	WRITE("f0.py", "    keep me\n", first_path);
	first = source__line(src, first_path, 1);
	cr_assert_not_null(first);
	for (int i = 1; i < 100; i++) {
		char name[32], text[64];

		snprintf(name, sizeof(name), "f%d.py", i);
		snprintf(text, sizeof(text), "x = %d\n", i);
		write_file(name, text, strlen(text), path);
		snprintf(text, sizeof(text), "x = %d", i);
		expect_line(path, 1, text);
	}
	cr_expect_str_eq(first, "keep me");
	cr_expect_eq(source__line(src, first_path, 1), first);
}

/* The file is read once: a change on disk is not seen (the target runs
 * the code it loaded, not the file's new text). */
Test(source, read_once)
{
	char path[PATH_MAX];

	WRITE("once.py", "old\n", path);
	expect_line(path, 1, "old");
	WRITE("once.py", "new\nmore\n", path);
	expect_line(path, 1, "old");
	expect_line(path, 2, NULL);
}

/* Another PID that is not there: nothing is read. */
Test(source, other_pid)
{
	char path[PATH_MAX];
	struct source *other = source__new(INT_MAX);

	cr_assert_not_null(other);
	WRITE("pid.py", "x\n", path);
	cr_expect_null(source__line(other, path, 1));
	source__free(other);
	source__free(NULL);
}

/* A target in a container sees its own files: paths are taken from its
 * root and cwd (/proc/PID/root, /proc/PID/cwd), not ours. */
Test(source, target_in_chroot)
{
	char path[PATH_MAX], ok;
	int pipefd[2];
	struct source *other;
	pid_t pid;

	WRITE("inside.py", "    in the container\n", path);
	cr_assert_eq(pipe(pipefd), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		char c = chroot(dir) || chdir("/") ? 'n' : 'y';

		if (write(pipefd[1], &c, 1) != 1)
			_exit(1);
		alarm(30);	/* never outlive a crashed test */
		pause();
		_exit(0);
	}
	close(pipefd[1]);
	cr_assert_eq(read(pipefd[0], &ok, 1), 1);
	close(pipefd[0]);
	if (ok != 'y') {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		cr_skip_test("chroot not permitted");
	}
	other = source__new(pid);
	cr_assert_not_null(other);
	cr_expect_str_eq(source__line(other, "/inside.py", 1), "in the container");
	cr_expect_str_eq(source__line(other, "inside.py", 1), "in the container", "from its cwd");
	cr_expect_null(source__line(other, path, 1), "our path is not in its root");
	source__free(other);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* A long line is cut at 4 KiB; the next line is whole. */
Test(source, long_lines)
{
	static char text[100000];
	char path[PATH_MAX];
	const char *got;

	memset(text, 'y', 70000);
	strcpy(text + 70000, "\nz\n");
	write_file("long.py", text, strlen(text), path);
	got = source__line(src, path, 1);
	cr_assert_not_null(got);
	cr_expect_eq(strlen(got), 4096);
	expect_line(path, 2, "z");
}
