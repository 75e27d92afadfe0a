// SPDX-License-Identifier: MIT
/* Unit tests: rules/awaitseq.c (LS120, independent awaits one after
 * another) on real Python snippets, and on garbage. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "awaitseq.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* src's first line is file line `first`; the comment before each line
 * is its file line. */
struct seq_case {
	const char *what;
	const char *src;
	int first;
	int lines[AWAITSEQ_MAX];
	int n;
	int want;		/* awaitseq__first_dependent */
};

/* Criterion copies a parameter into a fresh process: the parameter is an
 * index into this table, which is the same in every process. */
static const struct seq_case seq_cases[] = {
	{ "awaits of two loops and after them (waits of a loop merge)",
	  /* 1 */ "async def main():\n"
	  /* 2 */ "    while not ready:\n"
	  /* 3 */ "        await asyncio.sleep(0.01)\n"
	  /* 4 */ "    for page in pages:\n"
	  /* 5 */ "        await asyncio.create_task(page())\n"
	  /* 6 */ "    await asyncio.sleep(0.3)\n",
	  1, { 3, 5, 6 }, 3, 1 },
	{ "awaits in turn inside one loop's body",
	  /* 1 */ "async def crawl(urls):\n"
	  /* 2 */ "    for u in urls:\n"
	  /* 3 */ "        a = await head(u)\n"
	  /* 4 */ "        b = await robots(u)\n"
	  /* 5 */ "    return a, b\n",
	  1, { 3, 4 }, 2, 2 },
	{ "an await after a loop, the loop's own await",
	  /* 1 */ "async def drain(q):\n"
	  /* 2 */ "    async for item in q:\n"
	  /* 3 */ "        handle(item)\n"
	  /* 4 */ "    await q.aclose()\n",
	  1, { 2, 4 }, 2, 1 },
	{ "three independent awaits",
	  /* 1 */ "async def handler(uid):\n"
	  /* 2 */ "    user = await get_user(uid)\n"
	  /* 3 */ "    orders = await get_orders(uid)\n"
	  /* 4 */ "    await asyncio.sleep(0.1)\n",
	  1, { 2, 3, 4 }, 3, 3 },
	{ "the second uses the first's result",
	  /* 1 */ "async def handler(uid):\n"
	  /* 2 */ "    user = await get_user(uid)\n"
	  /* 3 */ "    orders = await get_orders(user.id)\n"
	  /* 4 */ "    await asyncio.sleep(0.1)\n",
	  1, { 2, 3, 4 }, 3, 1 },
	{ "the third uses the first's result",
	  /* 1 */ "async def handler(uid):\n"
	  /* 2 */ "    user = await get_user(uid)\n"
	  /* 3 */ "    orders = await get_orders(uid)\n"
	  /* 4 */ "    await notify(user, len(orders))\n",
	  1, { 2, 3, 4 }, 3, 2 },
	{ "decorators, a method, file lines from 40",
	  /* 40 */ "    @app.get(\"/users/{uid}\")\n"
	  /* 41 */ "    @cached(ttl=5)\n"
	  /* 42 */ "    async def show(self, uid: int) -> dict:\n"
	  /* 43 */ "        \"\"\"The user and their orders.\"\"\"\n"
	  /* 44 */ "        user = await self.db.user(uid)\n"
	  /* 45 */ "\n"
	  /* 46 */ "        orders = await self.db.orders(uid)\n"
	  /* 47 */ "        return {\"user\": user, \"orders\": orders}\n",
	  40, { 44, 46 }, 2, 2 },
	{ "through a statement between",
	  /* 1 */ "async def login(u):\n"
	  /* 2 */ "    r = await post(u)\n"
	  /* 3 */ "    tok = r.json()[\"t\"]\n"
	  /* 4 */ "    log.info(\"got a token\")\n"
	  /* 5 */ "    await g(tok)\n",
	  1, { 2, 5 }, 2, 1 },
	{ "through a chain of statements between",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    r = await get()\n"
	  /* 3 */ "    a = r.body\n"
	  /* 4 */ "    b = a + 1\n"
	  /* 5 */ "    c = unrelated()\n"
	  /* 6 */ "    await put(b)\n",
	  1, { 2, 6 }, 2, 1 },
	{ "a statement between that uses no result",
	  /* 1 */ "async def f(u):\n"
	  /* 2 */ "    r = await get(u)\n"
	  /* 3 */ "    tok = make_token(u)\n"
	  /* 4 */ "    await g(tok)\n",
	  1, { 2, 4 }, 2, 2 },
	{ "statements before the first await do not count",
	  /* 1 */ "async def f(u):\n"
	  /* 2 */ "    tok = u.token\n"
	  /* 3 */ "    r = await get(u)\n"
	  /* 4 */ "    await g(tok)\n",
	  1, { 3, 4 }, 2, 2 },
	{ "an attribute named like a result",
	  /* 1 */ "async def f(s):\n"
	  /* 2 */ "    user = await s.load()\n"
	  /* 3 */ "    await s.user()\n",
	  1, { 2, 3 }, 2, 2 },
	{ "a keyword argument named like a result",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    user = await a()\n"
	  /* 3 */ "    await f(user=1, limit = 2)\n",
	  1, { 2, 3 }, 2, 2 },
	{ "a keyword argument whose value is a result",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    user = await a()\n"
	  /* 3 */ "    await f(owner=user)\n",
	  1, { 2, 3 }, 2, 1 },
	{ "an f-string field uses a result",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    user = await me()\n"
	  /* 3 */ "    await get(f\"/u/{user}\")\n",
	  1, { 2, 3 }, 2, 1 },
	{ "an f-string field's attribute",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    user = await me()\n"
	  /* 3 */ "    await get(f\"/u/{user.id}/x\")\n",
	  1, { 2, 3 }, 2, 1 },
	{ "an rf-string, a conversion and a spec",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    user = await me()\n"
	  /* 3 */ "    await log(rf'\\d {user!r:>10}')\n",
	  1, { 2, 3 }, 2, 1 },
	{ "a field nested in a format spec",
	  /* 1 */ "async def f(x):\n"
	  /* 2 */ "    width = await cols()\n"
	  /* 3 */ "    await log(f\"{x:>{width}}\")\n",
	  1, { 2, 3 }, 2, 1 },
	{ "a format spec's text is not names",
	  /* 1 */ "async def f(when):\n"
	  /* 2 */ "    Y = await year()\n"
	  /* 3 */ "    await log(f\"{when:%Y-%m-%d}\")\n",
	  1, { 2, 3 }, 2, 2 },
	{ "a self-documenting field",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    user = await me()\n"
	  /* 3 */ "    await log(f\"{user=}\")\n",
	  1, { 2, 3 }, 2, 1 },
	{ "escaped braces are text",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    user = await me()\n"
	  /* 3 */ "    await log(f\"{{user}}\")\n",
	  1, { 2, 3 }, 2, 2 },
	{ "a string nested in a field, same quotes (3.12)",
	  /* 1 */ "async def f(d):\n"
	  /* 2 */ "    user = await me()\n"
	  /* 3 */ "    await log(f\"{d[\"user\"]}\")\n",
	  1, { 2, 3 }, 2, 2 },
	{ "a triple-quoted f-string over lines",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    user = await me()\n"
	  /* 3 */ "    await log(f\"\"\"hello\n"
	  /* 4 */ "    {user.name}\n"
	  /* 5 */ "    \"\"\")\n",
	  1, { 2, 3 }, 2, 1 },
	{ "a string literal holds the name",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    user = await me()\n"
	  /* 3 */ "    await get(\"user\", 'user', b\"user\", '''user''')\n",
	  1, { 2, 3 }, 2, 2 },
	{ "a docstring-like string between holds the name",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    user = await me()\n"
	  /* 3 */ "    \"\"\"user\n"
	  /* 4 */ "    tok = user\"\"\"\n"
	  /* 5 */ "    await get(tok)\n",
	  1, { 2, 5 }, 2, 2 },
	{ "comments hold the name",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    user = await me()  # the user\n"
	  /* 3 */ "    # tok = user\n"
	  /* 4 */ "    await get()  # not user: user\n",
	  1, { 2, 4 }, 2, 2 },
	{ "async with ... as binds",
	  /* 1 */ "async def f(session, u):\n"
	  /* 2 */ "    async with session.get(u) as resp:\n"
	  /* 3 */ "        await resp.json()\n",
	  1, { 2, 3 }, 2, 1 },
	{ "async with ... as, then an unrelated await",
	  /* 1 */ "async def f(session, u):\n"
	  /* 2 */ "    async with session.get(u) as resp:\n"
	  /* 3 */ "        await other(u)\n",
	  1, { 2, 3 }, 2, 2 },
	{ "async with two items, a tuple target",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    async with A() as x, B() as (y, z):\n"
	  /* 3 */ "        await use(z)\n",
	  1, { 2, 3 }, 2, 1 },
	{ "async with, parenthesized items",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    async with (\n"
	  /* 3 */ "        A() as x,\n"
	  /* 4 */ "        B() as y,\n"
	  /* 5 */ "    ):\n"
	  /* 6 */ "        await use(y)\n",
	  1, { 3, 6 }, 2, 1 },
	{ "with ... as between",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    path = await where()\n"
	  /* 3 */ "    with open(path) as fh:\n"
	  /* 4 */ "        data = fh.read()\n"
	  /* 5 */ "    await send(data)\n",
	  1, { 2, 5 }, 2, 1 },
	{ "the await on a continuation line",
	  /* 1 */ "async def f(uid):\n"
	  /* 2 */ "    user = await get_user(\n"
	  /* 3 */ "        uid,\n"
	  /* 4 */ "    )\n"
	  /* 5 */ "    orders = await get_orders(\n"
	  /* 6 */ "        user.id)\n",
	  1, { 3, 6 }, 2, 1 },
	{ "continuation lines, independent",
	  /* 1 */ "async def f(uid):\n"
	  /* 2 */ "    user = await get_user(\n"
	  /* 3 */ "        uid,\n"
	  /* 4 */ "    )\n"
	  /* 5 */ "    orders = await get_orders(\n"
	  /* 6 */ "        uid)\n",
	  1, { 4, 5 }, 2, 2 },
	{ "a backslash continuation",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    user = \\\n"
	  /* 3 */ "        await me()\n"
	  /* 4 */ "    await get(\\\n"
	  /* 5 */ "        user)\n",
	  1, { 3, 5 }, 2, 1 },
	{ "two awaits in one statement",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    a, b = await f(\n"
	  /* 3 */ "        1), await g(2)\n",
	  1, { 2, 3 }, 2, 1 },
	{ "the code went back: a loop",
	  /* 1 */ "async def f(xs):\n"
	  /* 2 */ "    for x in xs:\n"
	  /* 3 */ "        await a(x)\n"
	  /* 4 */ "        await b()\n",
	  1, { 3, 4, 3, 4 }, 4, 2 },
	{ "the same line again",
	  /* 1 */ "async def f(xs):\n"
	  /* 2 */ "    while True:\n"
	  /* 3 */ "        await a()\n",
	  1, { 3, 3 }, 2, 1 },
	{ "a line after src",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    await a()\n"
	  /* 3 */ "    await b()\n",
	  1, { 2, 99 }, 2, -1 },
	{ "a line before src",
	  /* 10 */ "async def f():\n"
	  /* 11 */ "    await a()\n",
	  10, { 9, 11 }, 2, -1 },
	{ "a blank line holds no statement",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    await a()\n"
	  /* 3 */ "\n"
	  /* 4 */ "    await b()\n",
	  1, { 2, 3 }, 2, -1 },
	{ "a line outside src after a loop",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    await a()\n",
	  1, { 2, 2, 7 }, 3, -1 },
	{ "one await",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    await a()\n",
	  1, { 2 }, 1, 1 },
	{ "no trailing newline",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    x = await a()\n"
	  /* 3 */ "    await b(x)",
	  1, { 2, 3 }, 2, 1 },
	{ "tuple unpacking",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    a, (b, c) = await pair()\n"
	  /* 3 */ "    await g(c)\n",
	  1, { 2, 3 }, 2, 1 },
	{ "starred target",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    first, *rest = await items()\n"
	  /* 3 */ "    await g(rest)\n",
	  1, { 2, 3 }, 2, 1 },
	{ "chained assignment",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    a = b = await one()\n"
	  /* 3 */ "    await g(b)\n",
	  1, { 2, 3 }, 2, 1 },
	{ "annotated assignment",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    x: dict[str, int] = await one()\n"
	  /* 3 */ "    await g(x)\n",
	  1, { 2, 3 }, 2, 1 },
	{ "a walrus in an await binds, uses no result",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    User = await one()\n"
	  /* 3 */ "    await g(y := 1)\n"
	  /* 4 */ "    await h(y)\n",
	  1, { 2, 3, 4 }, 3, 2 },
	{ "walrus in an if",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    if (n := await count()) > 0:\n"
	  /* 3 */ "        await g(n)\n",
	  1, { 2, 3 }, 2, 1 },
	{ "walrus between",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    r = await one()\n"
	  /* 3 */ "    print((m := r.x))\n"
	  /* 4 */ "    await g(m)\n",
	  1, { 2, 4 }, 2, 1 },
	{ "augmented assignment: bound and used",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    total += await one()\n"
	  /* 3 */ "    total += await two()\n",
	  1, { 2, 3 }, 2, 1 },
	{ "augmented assignment between",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    n = await one()\n"
	  /* 3 */ "    count += n\n"
	  /* 4 */ "    await g(count)\n",
	  1, { 2, 4 }, 2, 1 },
	{ "an attribute is set: nothing bound",
	  /* 1 */ "async def f(self):\n"
	  /* 2 */ "    self.user = await me()\n"
	  /* 3 */ "    await g(self)\n",
	  1, { 2, 3 }, 2, 2 },
	{ "an item is set: nothing bound, its names used",
	  /* 1 */ "async def f(cache):\n"
	  /* 2 */ "    user = await me()\n"
	  /* 3 */ "    cache[user.id] = 1\n"
	  /* 4 */ "    await g(cache)\n",
	  1, { 2, 4 }, 2, 2 },
	{ "an item's key is a result",
	  /* 1 */ "async def f(cache):\n"
	  /* 2 */ "    key = await me()\n"
	  /* 3 */ "    await cache.set(cache[key])\n",
	  1, { 2, 3 }, 2, 1 },
	{ "comparisons are not assignments",
	  /* 1 */ "async def f(a):\n"
	  /* 2 */ "    ok = await check()\n"
	  /* 3 */ "    flag = a == 1 or a <= 2 or a != 3\n"
	  /* 4 */ "    await g(flag)\n",
	  1, { 2, 4 }, 2, 2 },
	{ "a lambda's default and parameter",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    x = await one()\n"
	  /* 3 */ "    key = lambda v, x=0: v\n"
	  /* 4 */ "    await g(key)\n",
	  1, { 2, 4 }, 2, 2 },
	{ "names that start like a result",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    user = await one()\n"
	  /* 3 */ "    await g(user_id, users, _user, not None)\n",
	  1, { 2, 3 }, 2, 2 },
	{ "async for binds",
	  /* 1 */ "async def f(stream):\n"
	  /* 2 */ "    async for item in stream:\n"
	  /* 3 */ "        await handle(item)\n",
	  1, { 2, 3 }, 2, 1 },
	{ "for between",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    rows = await fetch()\n"
	  /* 3 */ "    for i, row in enumerate(rows):\n"
	  /* 4 */ "        last = row\n"
	  /* 5 */ "    await g(last)\n",
	  1, { 2, 5 }, 2, 1 },
	{ "except ... as",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    try:\n"
	  /* 3 */ "        await one()\n"
	  /* 4 */ "    except OSError as err:\n"
	  /* 5 */ "        await report(err)\n",
	  1, { 3, 5 }, 2, 2 },
	{ "imports use no names",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    json = await one()\n"
	  /* 3 */ "    from app.models import json as j, other\n"
	  /* 4 */ "    import os.path\n"
	  /* 5 */ "    await g(j, os, other)\n",
	  1, { 2, 5 }, 2, 2 },
	{ "a compound statement on one line",
	  /* 1 */ "async def f(ok):\n"
	  /* 2 */ "    if ok: user = await me()\n"
	  /* 3 */ "    await g(user)\n",
	  1, { 2, 3 }, 2, 1 },
	{ "statements after ';'",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    user = await me(); n = 0\n"
	  /* 3 */ "    await g(n)\n",
	  1, { 2, 3 }, 2, 1 },
	{ "a nested def closes over a result",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    user = await me()\n"
	  /* 3 */ "    def fmt():\n"
	  /* 4 */ "        # a comment\n"
	  /* 5 */ "        return user.name\n"
	  /* 6 */ "\n"
	  /* 7 */ "    await g(fmt())\n",
	  1, { 2, 7 }, 2, 1 },
	{ "a nested def that does not",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    user = await me()\n"
	  /* 3 */ "    def fmt(x):\n"
	  /* 4 */ "        return x.name\n"
	  /* 5 */ "    await g(fmt(1))\n",
	  1, { 2, 5 }, 2, 2 },
	{ "a dict display and a slice between",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    user = await me()\n"
	  /* 3 */ "    head = user.rows[1:2]\n"
	  /* 4 */ "    payload = {\"u\": head, 'k': 1}\n"
	  /* 5 */ "    await post(payload)\n",
	  1, { 2, 5 }, 2, 1 },
	{ "a decorated nested async def",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    user = await me()\n"
	  /* 3 */ "    @retry(3)\n"
	  /* 4 */ "    async def go():\n"
	  /* 5 */ "        await post(user)\n"
	  /* 6 */ "    await go()\n",
	  1, { 2, 6 }, 2, 1 },
	{ "match, a soft keyword, as a name",
	  /* 1 */ "async def f(p):\n"
	  /* 2 */ "    s = await me()\n"
	  /* 3 */ "    match = re.match(p, s)\n"
	  /* 4 */ "    await post(match)\n",
	  1, { 2, 4 }, 2, 1 },
	{ "a t-string (3.14)",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    user = await me()\n"
	  /* 3 */ "    await post(t\"{user}\")\n",
	  1, { 2, 3 }, 2, 1 },
	{ "CRLF line ends",
	  /* 1 */ "async def f():\r\n"
	  /* 2 */ "    user = await me()\r\n"
	  /* 3 */ "    await post(user)\r\n",
	  1, { 2, 3 }, 2, 1 },
	{ "not seen: mutation (self.n += user taints nothing)",
	  /* 1 */ "async def f(self):\n"
	  /* 2 */ "    user = await me()\n"
	  /* 3 */ "    self.n += user\n"
	  /* 4 */ "    await post(self.n)\n",
	  1, { 2, 4 }, 2, 2 },
	{ "unicode names",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    usuário = await me()\n"
	  /* 3 */ "    await g(usuário)\n",
	  1, { 2, 3 }, 2, 1 },
	{ "a longer sequence, the fourth depends",
	  /* 1 */ "async def page(uid):\n"
	  /* 2 */ "    user = await db.user(uid)\n"
	  /* 3 */ "    orders = await db.orders(uid)\n"
	  /* 4 */ "    recs = await recommend(uid)\n"
	  /* 5 */ "    total = sum(o.price for o in orders)\n"
	  /* 6 */ "    await render(user, total, recs)\n",
	  1, { 2, 3, 4, 6 }, 4, 3 },
};

ParameterizedTestParameters(awaitseq, first_dependent)
{
	static int idx[ARRAY_SIZE(seq_cases)];

	for (size_t i = 0; i < ARRAY_SIZE(idx); i++)
		idx[i] = i;
	return cr_make_param_array(int, idx, ARRAY_SIZE(idx));
}

ParameterizedTest(int *i, awaitseq, first_dependent)
{
	const struct seq_case *c = &seq_cases[*i];
	int got = awaitseq__first_dependent(c->src, c->first, c->lines, c->n);

	cr_assert_eq(got, c->want, "%s: got %d, want %d", c->what, got, c->want);
}

/* ---- runs ------------------------------------------------------------ */

struct runs_case {
	const char *what;
	const char *src;
	int lines[AWAITSEQ_MAX];
	int n;
	int max;
	int count;
	int runs[4][2];
};

static const struct runs_case runs_cases[] = {
	{ "the second uses the first: one run from the second",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    a = await one()\n"
	  /* 3 */ "    b = await two(a)\n"
	  /* 4 */ "    c = await three()\n",
	  { 2, 3, 4 }, 3, 4, 1, { { 1, 3 } } },
	{ "a chain: no run",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    a = await one()\n"
	  /* 3 */ "    b = await two(a)\n"
	  /* 4 */ "    c = await three(b)\n",
	  { 2, 3, 4 }, 3, 4, 0, { { 0 } } },
	{ "all independent: one run",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    a = await one()\n"
	  /* 3 */ "    b = await two()\n"
	  /* 4 */ "    c = await three()\n",
	  { 2, 3, 4 }, 3, 4, 1, { { 0, 3 } } },
	{ "two runs",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    a = await one()\n"
	  /* 3 */ "    b = await two()\n"
	  /* 4 */ "    c = await three(b)\n"
	  /* 5 */ "    d = await four()\n",
	  { 2, 3, 4, 5 }, 4, 4, 2, { { 0, 2 }, { 2, 4 } } },
	{ "at most max",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    a = await one()\n"
	  /* 3 */ "    b = await two()\n"
	  /* 4 */ "    c = await three(b)\n"
	  /* 5 */ "    d = await four()\n",
	  { 2, 3, 4, 5 }, 4, 1, 1, { { 0, 2 } } },
	{ "a loop splits runs",
	  /* 1 */ "async def f(xs):\n"
	  /* 2 */ "    for x in xs:\n"
	  /* 3 */ "        await a(x)\n"
	  /* 4 */ "        await b()\n",
	  { 3, 4, 3, 4 }, 4, 4, 2, { { 0, 2 }, { 2, 4 } } },
	{ "not judged: none",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    a = await one()\n"
	  /* 3 */ "    b = await two()\n",
	  { 2, 3, 30 }, 3, 4, 0, { { 0 } } },
	{ "one await: none",
	  /* 1 */ "async def f():\n"
	  /* 2 */ "    a = await one()\n",
	  { 2 }, 1, 4, 0, { { 0 } } },
};

ParameterizedTestParameters(awaitseq, runs)
{
	static int idx[ARRAY_SIZE(runs_cases)];

	for (size_t i = 0; i < ARRAY_SIZE(idx); i++)
		idx[i] = i;
	return cr_make_param_array(int, idx, ARRAY_SIZE(idx));
}

ParameterizedTest(int *i, awaitseq, runs)
{
	const struct runs_case *c = &runs_cases[*i];
	int runs[4][2] = { { -7, -7 }, { -7, -7 }, { -7, -7 }, { -7, -7 } };
	int got = awaitseq__runs(c->src, 1, c->lines, c->n, runs, c->max);

	cr_assert_eq(got, c->count, "%s: %d runs, want %d", c->what, got, c->count);
	for (int k = 0; k < got; k++) {
		cr_assert_eq(runs[k][0], c->runs[k][0], "%s: run %d starts at %d, want %d",
			     c->what, k, runs[k][0], c->runs[k][0]);
		cr_assert_eq(runs[k][1], c->runs[k][1], "%s: run %d ends at %d, want %d",
			     c->what, k, runs[k][1], c->runs[k][1]);
	}
	for (int k = got; k < 4; k++)
		cr_assert_eq(runs[k][0], -7, "%s: wrote run %d past the count", c->what, k);
}

/* ---- bad arguments, garbage ------------------------------------------ */

Test(awaitseq, bad_arguments)
{
	static const char src[] = "async def f():\n    await a()\n    await b()\n";
	int lines[] = { 2, 3 }, runs[2][2];

	cr_assert_eq(awaitseq__first_dependent(NULL, 1, lines, 2), -1);
	cr_assert_eq(awaitseq__first_dependent(src, 1, NULL, 2), -1);
	cr_assert_eq(awaitseq__first_dependent(src, 1, lines, 0), -1);
	cr_assert_eq(awaitseq__first_dependent(src, 1, lines, -3), -1);
	cr_assert_eq(awaitseq__first_dependent("", 1, lines, 1), -1);
	cr_assert_eq(awaitseq__runs(src, 1, lines, 2, NULL, 2), 0);
	cr_assert_eq(awaitseq__runs(src, 1, lines, 2, runs, 0), 0);
	cr_assert_eq(awaitseq__runs(NULL, 1, lines, 2, runs, 2), 0);
	cr_assert_eq(awaitseq__runs(src, 1, NULL, 2, runs, 2), 0);
	cr_assert_eq(awaitseq__runs(src, 1, lines, 2, runs, 2), 1);
}

Test(awaitseq, extreme_line_numbers)
{
	static const char src[] = "async def f():\n    x = await a()\n    await b(x)\n";
	int top[] = { INT32_MAX - 1, INT32_MAX }, low[] = { INT32_MIN, 2 };

	cr_assert_eq(awaitseq__first_dependent(src, INT32_MAX - 2, top, 2), 1);
	cr_assert_eq(awaitseq__first_dependent(src, 1, low, 2), -1);
	cr_assert_eq(awaitseq__first_dependent(src, INT32_MIN, low, 2), -1);
}

/* Whatever the input, a result in range and no crash (the ASan build of
 * this test reads nothing out of bounds). */
static void judge_any(const char *src, int nlines)
{
	int lines[AWAITSEQ_MAX], runs[AWAITSEQ_MAX][2];

	for (int a = 0; a <= nlines + 1; a++) {
		for (int b = 0; b <= nlines + 1; b++) {
			int k;

			lines[0] = a;
			lines[1] = b;
			lines[2] = b + 1;
			k = awaitseq__first_dependent(src, 1, lines, 3);
			cr_assert(k == -1 || (k >= 1 && k <= 3), "got %d on [%d, %d]", k, a, b);
			k = awaitseq__runs(src, 1, lines, 3, runs, AWAITSEQ_MAX);
			cr_assert(k >= 0 && k <= 1, "%d runs", k);
		}
	}
}

static int count_lines(const char *s)
{
	int n = 1;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static const char *const garbage[] = {
	"",
	"\n",
	"\n\n\n",
	"(((((\n[[[[\n{{{{\n",
	")))))\n]]]]\n}}}}\n",
	"x = (\n  await a(\n",
	"x = 'unterminated\nawait b(x)\n",
	"x = \"\"\"unterminated\nawait b(x)\n",
	"x = f\"{unterminated\nawait b(x)\n",
	"x = f\"{a:{b:{c:{d:{e:{f:{g}}}}}}}\"\nawait b(x)\n",
	"f'{f\"{f'{f\"{f'{f\"{x}\"}'}\"}'}\"}'\nawait b(x)\n",
	"x = f'''{\n# c\ny}'''\nawait b(x)\n",
	"x = f'{x!}{y=!r:}{z=:}{:}{!}{=}'\n",
	"x = f'{'\n",
	"x = f'}'\n",
	"\\",
	"\\\n",
	"x = \\",
	"'",
	"\"\"\"",
	"f'",
	"f'{",
	"f'{x",
	"f'{x:",
	"f'{x!",
	"f'{x=",
	"rb'\\",
	"#",
	"# only a comment\n",
	"@\n@\n",
	"async\nasync def\nasync for\nasync with as as as\n",
	"import\nfrom\nfrom import\nimport as\nimport a as\nfrom . import (a as, b\n",
	"for in : in for\nwith as , as :\nexcept as\n",
	"lambda lambda : : = = lambda x=: =\n",
	"a = = = b += c := d\n",
	"def\nclass\ndef (\n  def x(): return y\n",
	"  def x():\n def y():\ndef z():\n    def w():\n",
	";;;;\n:::::\n,,,,\n....\n",
	"x[(]) = y)\n(a, b[) = c\n",
	"\t\t\f\r\n\r\n\t x = 1\r\n",
	"0x1e+5 1e-3 1_000 .5j 5.e\n",
	"\xff\xfe\x80 = await \xc3\xa9()\n",
};

Test(awaitseq, garbage_does_not_crash, .timeout = 30)
{
	for (size_t i = 0; i < ARRAY_SIZE(garbage); i++)
		judge_any(garbage[i], count_lines(garbage[i]));
}

/* Deep nesting: brackets, f-string fields, format specs. */
Test(awaitseq, deep_nesting, .timeout = 30)
{
	static const char *const units[] = { "(", "[", "{", "f'{", "f\"{", "{x:", "f'''{" };
	size_t len = 200000;
	char *s = malloc(len + 1);

	cr_assert_not_null(s);
	for (size_t u = 0; u < ARRAY_SIZE(units); u++) {
		size_t n = strlen(units[u]), at = 0;

		memcpy(s, "x = ", 4);
		for (at = 4; at + n < len; at += n)
			memcpy(s + at, units[u], n);
		s[at] = 0;
		judge_any(s, 1);
	}
	free(s);
}

/* Random bytes (no NUL), and random mixes of Python's tokens. */
Test(awaitseq, random_input, .timeout = 60)
{
	static const char *const bits[] = {
		"await ", "async ", "with ", " as ", "for ", " in ", "import ", "from ",
		"def ", "class ", "lambda ", "x", "y", "user", " = ", " += ", " := ",
		"==", ".", ",", ":", ";", "*", "(", ")", "[", "]", "{", "}", "'", "\"",
		"'''", "f'", "f\"", "rb'", "{{", "}}", "!r", "#", "\\", "\\\n", "\n",
		"\n    ", "\n\t", "0.5", "1e+3",
	};
	uint32_t seed = 12345;
	char buf[512];

	for (int round = 0; round < 1500; round++) {
		int len = 1 + round % (sizeof(buf) - 1);
		int at = 0;

		for (;;) {
			seed = seed * 1103515245u + 12345u;
			if (round & 1) {
				const char *b = bits[(seed >> 8) % ARRAY_SIZE(bits)];
				int n = strlen(b);

				if (at + n >= len)
					break;
				memcpy(buf + at, b, n);
				at += n;
			} else {
				if (at + 1 >= len)
					break;
				buf[at++] = 1 + (seed >> 16) % 255;
			}
		}
		buf[at] = 0;
		judge_any(buf, count_lines(buf) < 8 ? count_lines(buf) : 8);
	}
}
