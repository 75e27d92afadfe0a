// SPDX-License-Identifier: MIT
/* The target's asyncio tasks read from outside: offsets per version (a
 * table; _AsyncioDebug over it on 3.14+), the tasks of asyncio.tasks'
 * sets (3.11-3.13) or of the interpreter's lists (3.14+), each task's
 * name, state and coroutine chain, and who awaits whom. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "elffile.h"
#include "maps.h"
#include "pagecache.h"
#include "pythreads.h"
#include "pytasks.h"

#define TASK_READ	256		/* bytes of a task object read */
#define FRAME_READ	96		/* bytes of an interpreter frame read */
#define SET_CHUNK	64		/* set entries read at once */
#define MAX_SET_MASK	(1u << 20)
#define MAX_BASES	8		/* tp_base links followed */
#define MAX_DICTOFFSET	4096
#define DEBUG_LEN	104		/* sizeof(_Py_AsyncioModuleDebugOffsets) */
#define MAX_STACKTOP	(1 << 16)
#define SETS_AGAIN	100		/* task lists between two lookups */

/* Checked on 3.11.2, 3.12.1, 3.13.5, 3.14.10, 3.15.2 with ctypes inside
 * each interpreter (docs/cpython-layouts.md, "asyncio tasks"). */
#define COMMON								\
	.fut_loop = 16, .fut_callback0 = 24, .frame_stack = 64,		\
	.set_used = 24, .set_mask = 32, .set_table = 40, .weakref_obj = 16, \
	.list_size = 16, .list_items = 24, .method_self = 24,		\
	.type_dictoffset = 288, .type_base = 256

static const struct {
	unsigned int minor;
	struct py_task_offsets o;
	int8_t live_min, live_max;	/* frame states with a live frame */
} table[] = {
	{ 11, { COMMON, .fut_state = 88, .task_fut_waiter = 128, .task_coro = 136,
		.task_name = 144, .gen_iframe = 80, .gen_frame_state = 75,
		.state_yield_from = -1, .state_yield_from2 = -1, .frame_localsplus = 72,
		.tstate_dict = 128, .holder_loop = 16 }, -2, 0 },
	{ 12, { COMMON, .fut_state = 88, .task_fut_waiter = 128, .task_coro = 136,
		.task_name = 144, .gen_iframe = 72, .gen_frame_state = 67,
		.state_yield_from = -1, .state_yield_from2 = -1, .frame_localsplus = 72,
		.tstate_dict = 112 }, -2, 0 },
	{ 13, { COMMON, .fut_state = 96, .task_fut_waiter = 112, .task_coro = 120,
		.task_name = 128, .gen_iframe = 72, .gen_frame_state = 67,
		.state_yield_from = -1, .state_yield_from2 = -1, .frame_localsplus = 72,
		.tstate_loop = 304 }, -3, 0 },
	{ 14, { COMMON, .fut_state = 104, .task_fut_waiter = 120, .task_coro = 128,
		.task_name = 136, .task_awaited_by = 96, .task_awaited_by_is_set = 109,
		.task_node = 152, .gen_iframe = 72, .gen_frame_state = 67,
		.state_yield_from = -1, .state_yield_from2 = -1, .await_back = 8,
		.tstate_loop = 864, .tstate_task = 872, .tstate_tasks_head = 880,
		.interp_tasks_head = 10880 }, -3, 0 },
	{ 15, { COMMON, .fut_state = 104, .task_fut_waiter = 120, .task_coro = 128,
		.task_name = 136, .task_awaited_by = 96, .task_awaited_by_is_set = 109,
		.task_node = 152, .gen_iframe = 72, .gen_frame_state = 67,
		.state_yield_from = 2, .state_yield_from2 = 3, .await_back = 16,
		.tstate_loop = 1024, .tstate_task = 1032, .tstate_tasks_head = 1048,
		.interp_tasks_head = 10856 }, 0, 4 },
};

/* Task ids found: an array that grows. */
struct idlist {
	uint64_t *v;
	int n, cap;
};

struct pytasks {
	const struct pyproc *p;
	struct pyobj o;
	struct py_task_offsets off;
	int8_t live_min, live_max;
	bool have_debug;		/* 3.14+: _AsyncioDebug read */
	uint64_t tasks_mod;		/* asyncio.tasks' dict, 0 until found */
	uint64_t ctask;			/* _asyncio.Task, 3.11-3.13 */
	struct pykey k_tasks, k_all, k_sched, k_eager, k_current, k_ctask;
	struct pykey k_data, k_children, k_parent, k_loop_key;
	uint64_t *ids;			/* sorted task ids of the last list */
	int n_ids;
	int n_last;			/* tasks the last snapshot saw */
	unsigned int pc_block;		/* pc's block size */
	struct idlist walked;		/* 3.14+: the tasks of the last walk */
	uint64_t task_types[4];		/* types found to be tasks, 3.11-3.13 */
	uint64_t sets_data, sets_eager;	/* the sets of tasks, 3.11-3.13 */
	uint32_t sets_age;
	uint32_t turn;			/* snapshots: whose chain is verified */
	/* pytasks__waits()' scratch: per task an address, a region, a flag */
	uint64_t *w_addr;
	uint8_t *w_buf;
	bool *w_ok;
	uint64_t *w_ctype;		/* each task's coroutine type */
	int w_cap;
	struct pagecache *pc;		/* the pages a snapshot reads */
	bool snap;			/* reads go through pc (await timing) */
	py_read_fn own_read;		/* t->o's reader outside snapshots */
	void *own_ctx;
};

/* During a snapshot (pytasks__snapshot()), reads come from its pages. */
static int pc_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct pytasks *t = ctx;
	bool ok;

	pagecache__readv(t->pc, &addr, buf, len, 1, &ok);
	return ok ? 0 : -EFAULT;
}

static int tread(const struct pytasks *t, uint64_t addr, void *buf, size_t len)
{
	return t->snap ? pc_read((void *)t, addr, buf, len) : pyproc__read(t->p, addr, buf, len);
}

static int read_u64(const struct pytasks *t, uint64_t addr, uint64_t *v)
{
	*v = 0;
	return tread(t, addr, v, sizeof(*v));
}

int pytasks__parse_debug(struct py_task_offsets *o, const uint8_t *b, size_t len)
{
	uint64_t v[DEBUG_LEN / 8];

	if (len < DEBUG_LEN)
		return -EINVAL;
	memcpy(v, b, sizeof(v));
	/* task: size, name, awaited_by, is_task, awaited_by_is_set, coro,
	 * node; interp: size, tasks head; tstate: size, loop, task, head */
	if (v[0] < 64 || v[0] > 4096 || v[7] > (1u << 20) || v[9] > (1u << 20) ||
	    v[7] <= v[8] || v[9] <= v[12] || v[9] <= v[10] || v[9] <= v[11] || v[0] <= v[4])
		return -EINVAL;
	/* pointers inside the task (v[0] >= 64: no wrap; v[i] + 8 wrapped
	 * past a huge v[i]); is_task and awaited_by_is_set are bytes */
	for (int i = 1; i <= 6; i++)
		if (v[i] > v[0] - 8 && i != 3 && i != 4)
			return -EINVAL;
	o->task_name = v[1];
	o->task_awaited_by = v[2];
	o->task_awaited_by_is_set = v[4];
	o->task_coro = v[5];
	o->task_node = v[6];
	o->interp_tasks_head = v[8];
	o->tstate_loop = v[10];
	o->tstate_task = v[11];
	o->tstate_tasks_head = v[12];
	return 0;
}

/* _AsyncioDebug of a mapping: 0 when read into t->off. */
static int debug_of_map(struct pytasks *t, const struct map_entry *e)
{
	char file[96];
	uint64_t vaddr, size, first;
	uint8_t b[DEBUG_LEN];
	int dyn;

	snprintf(file, sizeof(file), "/proc/%d/map_files/%llx-%llx", t->p->pid,
		 (unsigned long long)e->start, (unsigned long long)e->end);
	if (elf__find_section(file, ".AsyncioDebug", &vaddr, &size) &&
	    elf__find_section(e->path, ".AsyncioDebug", &vaddr, &size))
		return -ENOENT;
	if (size < DEBUG_LEN || elf__load_info(file, &dyn, &first))
		return -ENOENT;
	if (dyn)
		vaddr += e->start - first;
	if (tread(t, vaddr, b, sizeof(b)))
		return -EFAULT;
	return pytasks__parse_debug(&t->off, b, sizeof(b));
}

/* 3.14+: the offsets the target's _asyncio (an extension, or built in)
 * says. 0, or -ENOENT: not loaded (no tasks yet), the table's kept. */
static int read_debug(struct pytasks *t)
{
	struct maps m;
	int err = -ENOENT;

	if (t->have_debug || !t->off.task_node)
		return 0;
	if (maps__load(&m, t->p->pid))
		return -ENOENT;
	for (unsigned int i = 0; i < m.n && err; i++) {
		const char *base = strrchr(m.v[i].path, '/');

		base = base ? base + 1 : m.v[i].path;
		if (m.v[i].pgoff || (strncmp(base, "_asyncio.", 9) &&
				     strncmp(base, "python", 6) && strncmp(base, "libpython", 9)))
			continue;
		err = debug_of_map(t, &m.v[i]);
	}
	maps__free(&m);
	t->have_debug = !err;
	return err;
}

struct pytasks *pytasks__new(const struct pyproc *p, int *err)
{
	struct pytasks *t;

	*err = -ENOTSUP;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (table[i].minor != p->layout.minor)
			continue;
		*err = -ENOMEM;
		t = calloc(1, sizeof(*t));
		if (!t)
			return NULL;
		*err = 0;
		t->p = p;
		pyproc__obj(p, &t->o);
		t->off = table[i].o;
		t->live_min = table[i].live_min;
		t->live_max = table[i].live_max;
		t->k_tasks.name = "asyncio.tasks";
		t->k_all.name = "_all_tasks";
		t->k_sched.name = "_scheduled_tasks";
		t->k_eager.name = "_eager_tasks";
		t->k_current.name = "_current_tasks";
		t->k_ctask.name = "_CTask";
		t->k_data.name = "data";
		t->k_children.name = "_children";
		t->k_parent.name = "_parent_task";
		t->k_loop_key.name = "__asyncio_running_event_loop__";
		return t;
	}
	return NULL;
}

void pytasks__free(struct pytasks *t)
{
	if (!t)
		return;
	free(t->ids);
	free(t->walked.v);
	free(t->w_addr);
	free(t->w_buf);
	free(t->w_ok);
	free(t->w_ctype);
	pagecache__free(t->pc);
	free(t);
}

/* asyncio.tasks' dict in the main interpreter. 0, -ENOENT, -errno. */
static int tasks_module(struct pytasks *t, uint64_t *md)
{
	const struct py_layout *l = &t->p->layout;
	uint64_t interp, modules, mod;
	int err;

	if (t->tasks_mod) {
		*md = t->tasks_mod;
		return 0;
	}
	if (read_u64(t, t->p->runtime + l->runtime_interp_head, &interp) ||
	    read_u64(t, interp + l->obj.interp_modules, &modules))
		return -EFAULT;
	if ((err = pyobj__dict_get(&t->o, modules, &t->k_tasks, &mod)))
		return err;
	if (read_u64(t, mod + l->obj.module_dict, md) || !*md)
		return -EFAULT;
	t->tasks_mod = *md;
	pyobj__dict_get(&t->o, *md, &t->k_ctask, &t->ctask);
	return 0;
}

/* Instance attribute k: a managed dict's, else the one at tp_dictoffset. */
static int get_attr(struct pytasks *t, uint64_t obj, struct pykey *k, uint64_t *v)
{
	uint64_t type, off, dict;
	int err = pyobj__attr(&t->o, obj, k, v);

	if (err != -EINVAL)
		return err;
	if (pyobj__type(&t->o, obj, &type) || read_u64(t, type + t->off.type_dictoffset, &off))
		return -EFAULT;
	if ((int64_t)off <= 0 || off > MAX_DICTOFFSET || read_u64(t, obj + off, &dict))
		return -EINVAL;
	return pyobj__dict_get(&t->o, dict, k, v);
}

/* Is the object at obj an _asyncio.Task (or of a subclass)? 3.11-3.13. */
static bool is_ctask(struct pytasks *t, uint64_t obj)
{
	uint64_t type;

	if (!t->ctask || !obj || pyobj__type(&t->o, obj, &type))
		return false;
	for (int i = 0; i < 4; i++)
		if (type && t->task_types[i] == type)
			return true;
	for (uint64_t seen = type, i = 0; i < MAX_BASES && type; i++) {
		if (type == t->ctask) {
			memmove(t->task_types + 1, t->task_types, 3 * sizeof(seen));
			t->task_types[0] = seen;
			return true;
		}
		if (read_u64(t, type + t->off.type_base, &type))
			return false;
	}
	return false;
}

typedef int (*obj_fn)(struct pytasks *t, uint64_t obj, void *arg);

/* During a snapshot, the pages of the regions [addr[i], addr[i] + len)
 * read in one call: the reads that follow find them cached. */
static void prefetch(const struct pytasks *t, const uint64_t *addr, int n, size_t len)
{
	if (t->snap)
		pagecache__fetch(t->pc, addr, len, n);
}

/* fn(key) for each key of the set at set, or, weak, for each object its
 * weak references refer to (dead ones' None included: fn checks). The
 * keys of a chunk, then their referents, are read together. */
static int set_each(struct pytasks *t, uint64_t set, bool weak, obj_fn fn, void *arg)
{
	uint64_t mask, table_addr, e[SET_CHUNK * 2], key[SET_CHUNK];
	int rc;

	if (read_u64(t, set + t->off.set_mask, &mask) ||
	    read_u64(t, set + t->off.set_table, &table_addr))
		return -EFAULT;
	if (mask >= MAX_SET_MASK || ((mask + 1) & mask))
		return -EINVAL;
	for (uint64_t i = 0; i <= mask; i += SET_CHUNK) {
		uint64_t m = mask + 1 - i < SET_CHUNK ? mask + 1 - i : SET_CHUNK;
		int k = 0;

		if (tread(t, table_addr + 16 * i, e, 16 * m))
			return -EFAULT;
		/* an entry: key, hash; a removed key's place holds the
		 * set's dummy with hash -1 (no key hashes to -1) */
		for (uint64_t j = 0; j < m; j++)
			if (e[2 * j] && e[2 * j + 1] != UINT64_MAX)
				key[k++] = e[2 * j];
		if (weak) {
			prefetch(t, key, k, t->off.weakref_obj + 8);
			for (int j = 0; j < k; j++)
				if (read_u64(t, key[j] + t->off.weakref_obj, &key[j]))
					key[j] = 0;
		}
		prefetch(t, key, k, 16);	/* each one's type */
		for (int j = 0; j < k; j++)
			if (key[j] && (rc = fn(t, key[j], arg)))
				return rc;
	}
	return 0;
}

static int idlist_add(struct idlist *l, uint64_t id)
{
	if (l->n >= PYTASKS_MAX)
		return 1;		/* enough: stop looking */
	if (l->n == l->cap) {
		int cap = l->cap ? 2 * l->cap : 256;
		uint64_t *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = id;
	return 0;
}

static int add_task(struct pytasks *t, uint64_t obj, void *arg)
{
	return is_ctask(t, obj) ? idlist_add(arg, obj) : 0;
}

/* 3.11-3.13: asyncio.tasks' WeakSet of tasks (_all_tasks in 3.11,
 * _scheduled_tasks after) and set of eager tasks. */
static int ids_from_sets(struct pytasks *t, struct idlist *l)
{
	uint64_t md, ws, data, eager = 0;
	int err;

	/* the sets are made once, when asyncio.tasks is imported: looked up
	 * again every SETS_AGAIN lists (and when one cannot be read) */
	if (t->sets_data && t->sets_age++ % SETS_AGAIN) {
		data = t->sets_data;
		eager = t->sets_eager;
	} else {
		if ((err = tasks_module(t, &md)))
			return err;
		if (pyobj__dict_get(&t->o, md, &t->k_sched, &ws) &&
		    pyobj__dict_get(&t->o, md, &t->k_all, &ws))
			return -ENOENT;
		if ((err = get_attr(t, ws, &t->k_data, &data)))
			return err;
		if (pyobj__dict_get(&t->o, md, &t->k_eager, &eager))
			eager = 0;
		t->sets_data = data;
		t->sets_eager = eager;
		t->sets_age = 1;
	}
	if ((err = set_each(t, data, true, add_task, l)) < 0 ||
	    (eager && (err = set_each(t, eager, false, add_task, l)) < 0)) {
		t->sets_data = 0;
		return err;
	}
	return 0;
}

/* 3.14+: one circular list of task nodes, at head. */
static int ids_from_list(struct pytasks *t, uint64_t head, struct idlist *l)
{
	uint64_t node;
	int err;

	if (read_u64(t, head, &node))
		return -EFAULT;
	for (int i = 0; node && node != head && i < PYTASKS_MAX; i++) {
		if ((err = idlist_add(l, node - t->off.task_node)))
			return err < 0 ? err : 0;
		if (read_u64(t, node, &node))
			return -EFAULT;
	}
	return 0;
}

/* 3.14+: each thread's list, then the interpreter's (tasks of threads
 * that ended). A list is walked a node at a time: the tasks of the last
 * walk, their nodes included, are read first, together (most of them are
 * still there). */
static int ids_from_lists(struct pytasks *t, struct idlist *l)
{
	struct py_thread th[LS_MAX_PY_THREADS];
	uint64_t interp;
	int n, err = 0;

	if (read_debug(t))
		return 0;		/* _asyncio not loaded: no tasks */
	prefetch(t, t->walked.v, t->walked.n, t->off.task_node + 8);
	n = pyproc__threads(t->p, th, LS_MAX_PY_THREADS);
	for (int i = 0; i < n; i++)
		if ((err = ids_from_list(t, th[i].tstate + t->off.tstate_tasks_head, l)))
			return err;
	if (read_u64(t, t->p->runtime + t->p->layout.runtime_interp_head, &interp) ||
	    (err = ids_from_list(t, interp + t->off.interp_tasks_head, l)))
		return err ? err : -EFAULT;
	t->walked.n = 0;
	for (int i = 0; i < l->n; i++)
		if (idlist_add(&t->walked, l->v[i]) < 0)
			return -ENOMEM;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int find_id(const uint64_t *ids, int n, uint64_t id)
{
	const uint64_t *hit = bsearch(&id, ids, n, sizeof(*ids), cmp_u64);

	return hit ? (int)(hit - ids) : -1;
}

/* The name: a str, or an int N for "Task-N" (3.12+ make it lazily). */
static void task_name(struct pytasks *t, uint64_t name, char *out, size_t len)
{
	int64_t n;

	if (pyobj__str(&t->o, name, out, len) && !pyobj__long(&t->o, name, &n))
		snprintf(out, len, "Task-%lld", (long long)n);
	pythread__clean_name(out);
}

/* One coroutine's frame into f; its awaited object in *next (0: none). */
static int coro_frame(struct pytasks *t, uint64_t coro, struct pytask_frame *f,
		      uint64_t *next)
{
	const struct ls_py_offsets *b = &t->p->layout.bpf;
	const struct py_task_offsets *o = &t->off;
	uint64_t iframe = coro + o->gen_iframe, code, instr, slot, aw;
	uint8_t fb[FRAME_READ];
	int8_t state;

	*next = 0;
	if (tread(t, coro + o->gen_frame_state, &state, 1) ||
	    tread(t, iframe, fb, sizeof(fb)))
		return -EFAULT;
	if (state < t->live_min || state > t->live_max)
		return -ENOENT;		/* finished: no frame */
	memcpy(&code, fb + b->frame_code, 8);
	memcpy(&instr, fb + b->frame_instr, 8);
	code &= ~(uint64_t)b->code_tag_mask;
	f->code = code;
	f->lasti = (instr - code - b->code_adaptive) / 2;
	f->guard = 0;
	if (state != o->state_yield_from && state != o->state_yield_from2)
		return 0;
	memcpy(&slot, fb + o->frame_stack, 8);
	if (o->frame_localsplus) {
		int32_t top = (int32_t)slot;

		if (top < 1 || top > MAX_STACKTOP)
			return 0;
		slot = iframe + o->frame_localsplus + 8ULL * (top - 1);
	} else {
		slot = (slot & ~(uint64_t)b->code_tag_mask) - o->await_back;
	}
	if (!read_u64(t, slot, &aw))
		*next = aw & ~(uint64_t)b->code_tag_mask;
	return 0;
}

/* The coroutine chain from the task's coroutine down to what it awaits,
 * while each awaited object is of the same type (a coroutine). */
static void task_chain(struct pytasks *t, uint64_t coro, struct pytask *out)
{
	struct py_code_id id;
	uint64_t type = 0, next_type;

	if (coro)
		pyobj__type(&t->o, coro, &type);
	while (coro && type) {
		struct pytask_frame *f = &out->frames[out->n_frames];
		uint64_t next;

		if (out->n_frames == PYTASK_MAX_FRAMES) {
			out->frames_cut = true;
			break;
		}
		if (coro_frame(t, coro, f, &next))
			break;
		if (!pylayout__code_id(&t->p->layout, t->o.read, t->o.ctx, f->code, &id))
			f->guard = id.guard;
		out->n_frames++;
		if (!next || pyobj__type(&t->o, next, &next_type) || next_type != type)
			break;
		coro = next;
	}
}

/* The task at id into out (awaited_by, tid left empty). */
static int task_read(struct pytasks *t, uint64_t id, struct pytask *out)
{
	const struct py_task_offsets *o = &t->off;
	uint8_t b[TASK_READ];
	uint64_t name, coro;
	int32_t state;

	memset(out, 0, sizeof(*out));
	if (tread(t, id, b, sizeof(b)))
		return -EFAULT;
	out->id = id;
	memcpy(&out->loop, b + o->fut_loop, 8);
	memcpy(&out->waits_on, b + o->task_fut_waiter, 8);
	memcpy(&state, b + o->fut_state, 4);
	memcpy(&name, b + o->task_name, 8);
	memcpy(&coro, b + o->task_coro, 8);
	if (state < PYTASK_PENDING || state > PYTASK_DONE)
		return -EINVAL;
	out->state = state;
	task_name(t, name, out->name, sizeof(out->name));
	task_chain(t, coro, out);
	return 0;
}

static void add_awaiter(struct pytask *w, uint64_t by)
{
	for (int i = 0; i < w->n_awaited_by; i++)
		if (w->awaited_by[i] == by)
			return;
	if (w->n_awaited_by < PYTASK_MAX_AWAITERS)
		w->awaited_by[w->n_awaited_by++] = by;
}

struct edge_ctx {
	struct pytask *tasks;
	int n;
	uint64_t by;
};

/* "by awaits task", when task is one of ours. */
static void link(struct pytasks *t, struct pytask *v, int n, uint64_t task, uint64_t by)
{
	int i = find_id(t->ids, t->n_ids, task);

	(void)n;
	if (i >= 0 && by && find_id(t->ids, t->n_ids, by) >= 0)
		add_awaiter(&v[i], by);
}

static int link_awaiter(struct pytasks *t, uint64_t by, void *arg)
{
	struct edge_ctx *e = arg;

	link(t, e->tasks, e->n, e->by, by);
	return 0;
}

/* 3.14+: the task's own awaited_by (one task, or a set of them). */
static void awaiters_debug(struct pytasks *t, struct pytask *v, int n, int i)
{
	struct edge_ctx e = { v, n, v[i].id };
	uint64_t ab;
	uint8_t is_set;

	if (read_u64(t, v[i].id + t->off.task_awaited_by, &ab) || !ab ||
	    tread(t, v[i].id + t->off.task_awaited_by_is_set, &is_set, 1))
		return;
	if (is_set)
		set_each(t, ab, false, link_awaiter, &e);
	else
		link(t, v, n, v[i].id, ab);
}

/* 3.11-3.13: the future a task awaits is a task, or a gather's outer
 * future (its _children); a TaskGroup's task calls back its group, whose
 * _parent_task awaits it. */
static void awaiters_guess(struct pytasks *t, struct pytask *v, int n, int i)
{
	uint64_t w = v[i].waits_on, list, size, items[64], cb, type, self, parent;

	if (w && find_id(t->ids, t->n_ids, w) >= 0) {
		link(t, v, n, w, v[i].id);
	} else if (w && !get_attr(t, w, &t->k_children, &list) &&
		   !read_u64(t, list + t->off.list_size, &size) && size <= 64 &&
		   !read_u64(t, list + t->off.list_items, &list) &&
		   !tread(t, list, items, 8 * size)) {
		for (uint64_t k = 0; k < size; k++)
			link(t, v, n, items[k], v[i].id);
	}
	if (t->o.types.method && !read_u64(t, v[i].id + t->off.fut_callback0, &cb) && cb &&
	    !pyobj__type(&t->o, cb, &type) && type == t->o.types.method &&
	    !read_u64(t, cb + t->off.method_self, &self) &&
	    !get_attr(t, self, &t->k_parent, &parent))
		link(t, v, n, v[i].id, parent);
}

/* The sorted ids of the tasks read, for lookups. */
static int index_ids(struct pytasks *t, const struct pytask *v, int n)
{
	uint64_t *ids = realloc(t->ids, (n ? n : 1) * sizeof(*ids));

	if (!ids)
		return -ENOMEM;
	t->ids = ids;
	for (int i = 0; i < n; i++)
		ids[i] = v[i].id;
	qsort(ids, n, sizeof(*ids), cmp_u64);
	t->n_ids = n;
	return 0;
}

static int running_id(struct pytasks *t, uint64_t tstate, uint64_t *task);

/* The host TID of each task running now. */
static void mark_running(struct pytasks *t, struct pytask *v)
{
	struct py_thread th[LS_MAX_PY_THREADS];
	int n = pyproc__threads(t->p, th, LS_MAX_PY_THREADS);

	for (int i = 0; i < n; i++) {
		uint64_t task;
		int k;

		if (!running_id(t, th[i].tstate, &task) &&
		    (k = find_id(t->ids, t->n_ids, task)) >= 0)
			v[k].tid = th[i].tid;
	}
}

/* Every task's id, sorted, each once, into l. 0 or -errno (none when
 * asyncio is not imported). */
static int all_ids(struct pytasks *t, struct idlist *l)
{
	int err = t->off.task_node ? ids_from_lists(t, l) : ids_from_sets(t, l), k = 0;

	if (err == -ENOENT)
		err = 0;		/* asyncio not imported */
	if (err || !l->n)
		return err;	/* (qsort of NULL, 0 is undefined) */
	qsort(l->v, l->n, sizeof(*l->v), cmp_u64);
	for (int i = 0; i < l->n; i++)
		if (!i || l->v[i] != l->v[i - 1])
			l->v[k++] = l->v[i];
	l->n = k;
	return 0;
}

int pytasks__list(struct pytasks *t, struct pytask *out, int max)
{
	struct idlist l = {};
	int n = 0, err;

	if ((err = all_ids(t, &l)))
		goto cleanup;
	for (int i = 0; i < l.n && n < max; i++)
		if (!task_read(t, l.v[i], &out[n]))
			n++;
	if ((err = index_ids(t, out, n)))
		goto cleanup;
	for (int i = 0; i < n; i++) {
		if (t->off.task_node)
			awaiters_debug(t, out, n, i);
		else
			awaiters_guess(t, out, n, i);
	}
	mark_running(t, out);
	err = n;
cleanup:
	free(l.v);
	return err;
}

struct find_loop {
	uint64_t loop, task;
};

static int match_loop(void *arg, uint64_t key, uint64_t value)
{
	struct find_loop *f = arg;

	if (key != f->loop)
		return 0;
	f->task = value;
	return 1;
}

/* 3.11-3.13: the loop running on the thread, then its current task in
 * asyncio.tasks._current_tasks. */
static int running_old(struct pytasks *t, uint64_t tstate, uint64_t *task)
{
	const struct py_task_offsets *o = &t->off;
	struct find_loop f = {};
	uint64_t dict, md, cur;
	int err;

	if (o->tstate_loop) {
		if (read_u64(t, tstate + o->tstate_loop, &f.loop))
			return -EFAULT;
	} else {
		if (read_u64(t, tstate + o->tstate_dict, &dict) || !dict)
			return -ENOENT;
		if ((err = pyobj__dict_get(&t->o, dict, &t->k_loop_key, &f.loop)))
			return err;
		if (o->holder_loop && read_u64(t, f.loop + o->holder_loop, &f.loop))
			return -EFAULT;
	}
	if (!f.loop || f.loop == t->p->none)
		return -ENOENT;
	if ((err = tasks_module(t, &md)) ||
	    (err = pyobj__dict_get(&t->o, md, &t->k_current, &cur)))
		return err;
	if ((err = pyobj__dict_each(&t->o, cur, match_loop, &f)) < 0)
		return err;
	*task = f.task;
	return f.task ? 0 : -ENOENT;
}

/* The id of the task running on the thread at tstate: 0, -ENOENT, -errno. */
static int running_id(struct pytasks *t, uint64_t tstate, uint64_t *task)
{
	uint64_t loop;
	int err;

	*task = 0;
	if (!t->off.task_node)
		return running_old(t, tstate, task);
	if ((err = read_debug(t)))
		return err;
	if (read_u64(t, tstate + t->off.tstate_loop, &loop) ||
	    read_u64(t, tstate + t->off.tstate_task, task))
		return -EFAULT;
	return loop && *task ? 0 : -ENOENT;
}

int pytasks__running(struct pytasks *t, uint64_t tstate, uint32_t tid, struct pytask *out)
{
	uint64_t task;
	int err;

	if ((err = running_id(t, tstate, &task)) || (err = task_read(t, task, out)))
		return err;
	out->tid = tid;
	return 0;
}

/* Await timing: a snapshot's reads come from its pages (each page read
 * once); every task's id and type; each one's chain, read level by level
 * for all tasks at once, but only for tasks whose awaited future changed
 * since the last snapshot (the others wait where they waited). */

#define GEN_READ(o)	((o)->gen_iframe + FRAME_READ)
#define LINK_READ(o)	(GEN_READ(o) + 160)	/* and the first stack slots */
#define WAIT_SCRATCH	512	/* bytes a task's region may take */
#define WAIT_PAGES	4096	/* pages a snapshot may read (16 MiB) */
/* A few hundred tasks or less are read in blocks of two cache lines (a
 * page when asked for in 4 pieces or more): each line read is one the
 * target's CPU must fetch back before it writes there; whole pages cost an
 * aiohttp server (33 tasks) 3-14% more CPU per request, loopstall 2.1% of
 * a core against 0.9% (bench/overhead.py). Many more are read in pages, a
 * read of a thousand costing about half (bench/taskwatch). */
#define WAIT_BLOCK	128
#define WAIT_MANY	256	/* tasks read in pages from here */
#define WAIT_FEW	128	/* and in blocks again from here down */
#define NAME_READ	48	/* bytes of a name object hashed */
#define WAIT_VERIFY	4	/* every 4th snapshot reads every chain */

int pytasks__snapshot(struct pytasks *t)
{
	unsigned int block = t->n_last > WAIT_MANY ? PAGECACHE_PAGE :
			     t->n_last < WAIT_FEW ? WAIT_BLOCK : t->pc_block;

	if (t->pc && block != t->pc_block) {
		pagecache__free(t->pc);
		t->pc = NULL;
	}
	if (!t->pc && !(t->pc = pagecache__new(t->p->pid, block, WAIT_PAGES)))
		return -ENOMEM;
	t->pc_block = block;
	pagecache__clear(t->pc);
	if (!t->snap) {
		t->own_read = t->o.read;
		t->own_ctx = t->o.ctx;
	}
	t->snap = true;
	t->o.read = pc_read;
	t->o.ctx = t;
	return 0;
}

void pytasks__snapshot_end(struct pytasks *t)
{
	if (!t->snap)
		return;
	t->snap = false;
	t->o.read = t->own_read;
	t->o.ctx = t->own_ctx;
}

int pytasks__ids(struct pytasks *t, struct pytask_wait *out, int max)
{
	struct idlist l = {};
	int n = 0, err;

	if ((err = all_ids(t, &l)))
		goto cleanup;
	for (int i = 0; i < l.n && n < max; i++) {
		memset(&out[n], 0, sizeof(out[n]));
		out[n].id = l.v[i];
		if (!pyobj__type(&t->o, l.v[i], &out[n].type))
			n++;
	}
	err = t->n_last = n;
cleanup:
	free(l.v);
	return err;
}

static int waits_scratch(struct pytasks *t, int n)
{
	if (n <= t->w_cap)
		return 0;
	free(t->w_addr);
	free(t->w_buf);
	free(t->w_ok);
	free(t->w_ctype);
	t->w_addr = calloc(n, sizeof(*t->w_addr));
	t->w_buf = calloc(n, WAIT_SCRATCH);
	t->w_ok = calloc(n, sizeof(*t->w_ok));
	t->w_ctype = calloc(2 * (size_t)n, sizeof(*t->w_ctype));	/* and slots */
	t->w_cap = t->w_addr && t->w_buf && t->w_ok && t->w_ctype ? n : 0;
	return t->w_cap ? 0 : -ENOMEM;
}

/* Where coroutine g (at coro) is: its code and code unit, into c. */
static void link_where(const struct pytasks *t, const uint8_t *g, uint64_t coro,
		       struct pytask_link *c)
{
	const struct ls_py_offsets *b = &t->p->layout.bpf;
	const uint8_t *fb = g + t->off.gen_iframe;
	uint64_t slot;

	c->coro = coro;
	memcpy(&c->code, fb + b->frame_code, 8);
	memcpy(&slot, fb + b->frame_instr, 8);
	c->code &= ~(uint64_t)b->code_tag_mask;
	c->lasti = (uint32_t)((slot - c->code - b->code_adaptive) / 2);
}

/* A task's coroutine executing (its frame state the highest live one):
 * where it is, as of its last call (frames store their instruction then). */
static bool link_running(const struct pytasks *t, const uint8_t *g, uint64_t coro,
			 struct pytask_link *c)
{
	if ((int8_t)g[t->off.gen_frame_state] != t->live_max)
		return false;
	link_where(t, g, coro, c);
	return true;
}

/* Link d of coroutine g (GEN_READ bytes of it, at coro) into c; the
 * address of the slot holding what it awaits, 0 when not suspended. */
static uint64_t parse_link(const struct pytasks *t, const uint8_t *g, uint64_t coro,
			   struct pytask_link *c)
{
	const struct ls_py_offsets *b = &t->p->layout.bpf;
	const struct py_task_offsets *o = &t->off;
	int8_t state = (int8_t)g[o->gen_frame_state];
	uint64_t slot;

	if (state < t->live_min || state > t->live_max ||
	    (state != o->state_yield_from && state != o->state_yield_from2))
		return 0;
	link_where(t, g, coro, c);
	memcpy(&slot, g + o->gen_iframe + o->frame_stack, 8);
	if (o->frame_localsplus) {
		int32_t top = (int32_t)slot;

		return top < 1 || top > MAX_STACKTOP ? 0 :
		       coro + o->gen_iframe + o->frame_localsplus + 8ULL * (top - 1);
	}
	return slot ? (slot & ~(uint64_t)b->code_tag_mask) - o->await_back : 0;
}

/* Level d of the tasks read deep, v[0..m) (w[v[k]].n == d: its link
 * d - 1 awaits the coroutine to read; for d 0 the task's coroutine is in
 * w_addr[k]), long enough to hold the awaited object's slot of most
 * frames. Their pages are read whole even when they hold one coroutine: a
 * region costs the kernel about what a page does. How many got link d. */
static int waits_level(struct pytasks *t, struct pytask_wait *w, const int *v, int m, int d)
{
	size_t len = LINK_READ(&t->off);
	uint64_t *slot = t->w_ctype + m;
	int more = 0, far = 0;

	for (int k = 0; k < m; k++) {
		struct pytask_wait *x = &w[v[k]];

		t->w_addr[k] = x->ok && x->n == d ? (d ? x->c[d - 1].awaits : t->w_addr[k]) : 0;
	}
	pagecache__readv(t->pc, t->w_addr, t->w_buf, len, m, t->w_ok);
	for (int k = 0; k < m; k++) {
		struct pytask_wait *x = &w[v[k]];
		const uint8_t *g = t->w_buf + (size_t)k * len;
		uint64_t type, c = t->w_addr[k];

		slot[k] = 0;
		if (!c || !t->w_ok[k])
			continue;
		memcpy(&type, g + 8, 8);
		if (!d)
			t->w_ctype[k] = type;	/* the task's coroutine's */
		slot[k] = type == t->w_ctype[k] ? parse_link(t, g, c, &x->c[d]) : 0;
		if (!slot[k]) {
			if (!d) {	/* running, or not a coroutine */
				x->ok = false;
				x->running = type == t->w_ctype[k] &&
					     link_running(t, g, c, &x->c[0]);
			}
			continue;
		}
		x->n = d + 1;
		more++;
		/* what it awaits: in the region read, or read below */
		t->w_addr[k] = 0;
		if (slot[k] >= c && slot[k] + 8 <= c + len)
			memcpy(&x->c[d].awaits, g + (slot[k] - c), 8);
		else
			far += !!(t->w_addr[k] = slot[k]);
	}
	if (far)
		pagecache__readv(t->pc, t->w_addr, t->w_buf, 8, m, t->w_ok);
	for (int k = 0; k < m; k++) {
		struct pytask_wait *x = &w[v[k]];

		if (!slot[k] || x->n != d + 1)
			continue;
		if (t->w_addr[k])
			memcpy(&x->c[d].awaits, t->w_ok[k] ? t->w_buf + 8 * (size_t)k :
			       (const uint8_t *)"\0\0\0\0\0\0\0", 8);
		x->c[d].awaits &= ~(uint64_t)t->p->layout.bpf.code_tag_mask;
	}
	return more;
}

/* The tasks read deep, v[0..m): each one's gen, its name object's bytes
 * past the refcount (a str's header and first characters; an int's
 * value) hashed with the name's address, name[k]. */
static void names_gen(struct pytasks *t, struct pytask_wait *w, const int *v, int m,
		      const uint64_t *name)
{
	pagecache__readv(t->pc, name, t->w_buf, NAME_READ, m, t->w_ok);
	for (int k = 0; k < m; k++) {
		uint64_t h = 14695981039346656037ULL ^ name[k];

		for (int b = 8; name[k] && t->w_ok[k] && b < NAME_READ; b++)
			h = (h ^ t->w_buf[(size_t)k * NAME_READ + b]) * 1099511628211ULL;
		w[v[k]].gen = h;
	}
}

/* The task objects: state, future awaited, coroutine, name. Those to be
 * read deep into v (their count returned), their names and coroutines in
 * name[k] and coros[k]: those whose future changed, and every
 * WAIT_VERIFY-th snapshot all of them, as a freed future's place may hold
 * the next one a task awaits (all at once: their pages are shared, a
 * part of them costs about what all do). */
static int waits_tasks(struct pytasks *t, struct pytask_wait *w, int n, int *v,
		       uint64_t *name, uint64_t *coros)
{
	const struct py_task_offsets *o = &t->off;
	size_t len = (o->task_name > o->task_coro ? o->task_name : o->task_coro) + 8;
	int m = 0;

	t->turn++;
	for (int i = 0; i < n; i++)
		t->w_addr[i] = w[i].id;
	pagecache__readv(t->pc, t->w_addr, t->w_buf, len, n, t->w_ok);
	for (int i = 0; i < n; i++) {
		const uint8_t *b = t->w_buf + (size_t)i * len;
		uint64_t type, coro, fut, nm;
		int32_t state;
		bool same;

		w[i].fresh = w[i].running = false;
		w[i].gone = true;
		if (!t->w_ok[i]) {
			w[i].ok = false;
			continue;
		}
		memcpy(&type, b + 8, 8);
		memcpy(&state, b + o->fut_state, 4);
		memcpy(&coro, b + o->task_coro, 8);
		memcpy(&fut, b + o->task_fut_waiter, 8);
		memcpy(&nm, b + o->task_name, 8);
		w[i].gone = type != w[i].type || state != PYTASK_PENDING;
		same = w[i].read && w[i].ok && fut && fut == w[i].fut &&
		       coro == w[i].c[0].coro && t->turn % WAIT_VERIFY;
		w[i].fut = fut;
		if (w[i].gone || !coro) {
			w[i].ok = false;
			continue;
		}
		if (same)
			continue;	/* still on the same future: where it was */
		w[i].ok = w[i].fresh = w[i].read = true;
		w[i].n = 0;
		v[m] = i;
		name[m] = nm;
		coros[m++] = coro;
	}
	return m;
}

int pytasks__waits(struct pytasks *t, struct pytask_wait *w, int n)
{
	uint64_t *name;
	int *v, m;

	if (LINK_READ(&t->off) > WAIT_SCRATCH || !t->snap || waits_scratch(t, n))
		return -ENOMEM;
	name = calloc(2 * (n ? n : 1), sizeof(*name));
	v = calloc(n ? n : 1, sizeof(*v));
	if (!name || !v) {
		free(name);
		free(v);
		return -ENOMEM;
	}
	m = waits_tasks(t, w, n, v, name, name + n);
	names_gen(t, w, v, m, name);
	if (m)		/* w_addr is NULL until a snapshot has tasks */
		memcpy(t->w_addr, name + n, m * sizeof(*name));
	for (int d = 0; d < PYTASK_WAIT_DEPTH && waits_level(t, w, v, m, d); d++)
		;
	free(name);
	free(v);
	return 0;
}
