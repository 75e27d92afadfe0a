// SPDX-License-Identifier: MIT
/* Python thread names of the target: threading._active of each
 * interpreter, through sys.modules, read with pyobj; TIDs mapped to the
 * host's; a cache read again at most once per refresh interval. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "loopstall.h"
#include "pythreads.h"

#define MAX_CACHED	LS_MAX_PY_THREADS	/* threads named at once */

/* A thread state: the thread's native_thread_id and its threading ident. */
struct tstate_id {
	uint64_t native, ident;
};

struct pythreads {
	struct pyobj o;
	uint64_t runtime;
	int pid;
	uint64_t refresh_ns;
	uint64_t read_at;		/* CLOCK_MONOTONIC of the last read; 0 none */
	/* the keys looked up, and where the target keeps them */
	struct pykey k_threading, k_active, k_name, k_native_id;
	struct pythread *cache;		/* MAX_CACHED */
	int n;
	struct tstate_id *ts;		/* one interpreter's, LS_MAX_PY_THREADS */
	int n_ts;
};

struct pythreads *pythreads__new(const struct pyobj *o, uint64_t runtime, int pid,
				 uint64_t refresh_ns)
{
	struct pythreads *t = calloc(1, sizeof(*t));

	if (!t || !(t->cache = calloc(MAX_CACHED, sizeof(*t->cache))) ||
	    !(t->ts = calloc(LS_MAX_PY_THREADS, sizeof(*t->ts)))) {
		pythreads__free(t);
		return NULL;
	}
	t->o = *o;
	t->runtime = runtime;
	t->pid = pid;
	t->refresh_ns = refresh_ns;
	t->k_threading.name = "threading";
	t->k_active.name = "_active";
	t->k_name.name = "_name";
	t->k_native_id.name = "_native_id";
	return t;
}

void pythreads__free(struct pythreads *t)
{
	if (!t)
		return;
	free(t->cache);
	free(t->ts);
	free(t);
}

void pythread__clean_name(char *s)
{
	char *o = s;

	for (; *s; s++) {
		unsigned char c = *s;

		if (c < 0x20 || c == 0x7f) {
			*o++ = '?';
		} else if (c == 0xc2 && (unsigned char)s[1] >= 0x80 &&
			   (unsigned char)s[1] <= 0x9f) {
			*o++ = '?';	/* U+0080-U+009F: C1 controls (CSI …) */
			s++;
		} else {
			*o++ = c;
		}
	}
	*o = 0;
}

void pythread__copy_name(char *dst, size_t len, const char *src)
{
	size_t n = strnlen(src, len);

	if (!len)
		return;
	if (n >= len) {
		n = len - 1;
		/* back to the start of the character cut */
		while (n && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = 0;
}

static int read_u64(const struct pythreads *t, uint64_t addr, uint64_t *v)
{
	*v = 0;
	return t->o.read(t->o.ctx, addr, v, sizeof(*v)) ? -EFAULT : 0;
}

/* threading._active of the interpreter at interp. 0, -ENOENT (threading
 * not imported there), or -errno. */
static int interp_active(struct pythreads *t, uint64_t interp, uint64_t *active)
{
	const struct py_obj_offsets *o = &t->o.l->obj;
	uint64_t modules, mod, type, md;
	int err;

	if (read_u64(t, interp + o->interp_modules, &modules))
		return -EFAULT;
	if ((err = pyobj__dict_get(&t->o, modules, &t->k_threading, &mod)))
		return err;
	if (t->o.types.module && (pyobj__type(&t->o, mod, &type) || type != t->o.types.module))
		return -EINVAL;
	if (read_u64(t, mod + o->module_dict, &md))
		return -EFAULT;
	return pyobj__dict_get(&t->o, md, &t->k_active, active);
}

/* The thread states of the interpreter at interp, into t->ts. */
static void interp_tstates(struct pythreads *t, uint64_t interp)
{
	const struct py_layout *l = t->o.l;
	uint64_t ts;

	t->n_ts = 0;
	if (read_u64(t, interp + l->interp_threads_head, &ts))
		return;
	while (ts && t->n_ts < LS_MAX_PY_THREADS) {
		struct tstate_id *id = &t->ts[t->n_ts];

		if (read_u64(t, ts + l->tstate_native_tid, &id->native) ||
		    read_u64(t, ts + l->tstate_thread_id, &id->ident))
			break;
		t->n_ts++;
		if (read_u64(t, ts + l->tstate_next, &ts))
			break;
	}
}

/* Does a thread state of this interpreter have TID tid and ident? A
 * Thread whose thread ended (3.11/3.12 keep dummy threads in _active),
 * or whose TID another thread took since, has none. */
static bool has_tstate(const struct pythreads *t, uint64_t tid, uint64_t ident)
{
	for (int i = 0; i < t->n_ts; i++)
		if (t->ts[i].native == tid && t->ts[i].ident == ident)
			return true;
	return false;
}

struct scan {
	struct pythreads *t;
	struct pythread *out;
	int n, max;
};

/* One Thread of _active: its _native_id and _name, or skipped. */
static int scan_thread(void *arg, uint64_t ident, uint64_t thread)
{
	struct scan *sc = arg;
	struct pythreads *t = sc->t;
	struct pythread *p;
	uint64_t name, nid;
	int64_t tid, id;

	if (sc->n >= sc->max)
		return 1;
	p = &sc->out[sc->n];
	/* _native_id is None until the thread runs: no TID, no entry */
	if (pyobj__attr(&t->o, thread, &t->k_native_id, &nid) ||
	    pyobj__long(&t->o, nid, &tid) || tid <= 0 || tid > UINT32_MAX ||
	    pyobj__long(&t->o, ident, &id) || !has_tstate(t, tid, id) ||
	    pyobj__attr(&t->o, thread, &t->k_name, &name) ||
	    pyobj__str(&t->o, name, p->name, sizeof(p->name)))
		return 0;
	pythread__clean_name(p->name);
	if (!p->name[0])
		return 0;
	p->ns_tid = tid;
	p->tid = 0;
	sc->n++;
	return 0;
}

/* Is pid in our PID namespace (its TIDs ours)? */
static bool same_pid_ns(int pid)
{
	struct stat a, b;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/pid", pid);
	return !stat("/proc/self/ns/pid", &a) && !stat(path, &b) && a.st_ino == b.st_ino &&
	       a.st_dev == b.st_dev;
}

/* The TID in the target's namespace of its task host: NSpid's last
 * field. 0 when unknown. */
static uint32_t ns_tid_of(int pid, const char *host)
{
	char path[300], line[256];
	uint32_t ns = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%s/status", pid, host);
	if (!(f = fopen(path, "re")))
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *last;

		if (strncmp(line, "NSpid:", 6))
			continue;
		last = strrchr(line, '\t');
		ns = last ? strtoul(last + 1, NULL, 10) : 0;
		break;
	}
	fclose(f);
	return ns;
}

/* Host TIDs of the threads read: their own in our PID namespace (when the
 * task is there), else through NSpid, one pass over the target's tasks. */
static void map_host_tids(int pid, struct pythread *v, int n)
{
	char path[64];
	struct dirent *d;
	int mapped = 0;
	DIR *dir;

	if (same_pid_ns(pid)) {
		for (int i = 0; i < n; i++) {
			snprintf(path, sizeof(path), "/proc/%d/task/%u", pid, v[i].ns_tid);
			v[i].tid = access(path, F_OK) ? 0 : v[i].ns_tid;
		}
		return;
	}
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	if (!(dir = opendir(path)))
		return;
	while (mapped < n && (d = readdir(dir))) {
		uint32_t host = strtoul(d->d_name, NULL, 10), ns;

		if (!host || !(ns = ns_tid_of(pid, d->d_name)))
			continue;
		for (int i = 0; i < n; i++) {
			if (!v[i].tid && v[i].ns_tid == ns) {
				v[i].tid = host;
				mapped++;
				break;
			}
		}
	}
	closedir(dir);
}

int pythreads__read(struct pythreads *t, struct pythread *out, int max)
{
	const struct py_layout *l = t->o.l;
	struct scan sc = { .t = t, .out = out, .max = max };
	uint64_t interp, active;

	if (read_u64(t, t->runtime + l->runtime_interp_head, &interp))
		return -EFAULT;
	for (int ni = 0; interp && ni < PY_MAX_INTERPS && sc.n < max; ni++) {
		if (!interp_active(t, interp, &active)) {
			interp_tstates(t, interp);
			pyobj__dict_each(&t->o, active, scan_thread, &sc);
		}
		if (read_u64(t, interp + l->interp_next, &interp))
			break;
	}
	map_host_tids(t->pid, out, sc.n);
	return sc.n;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void refill(struct pythreads *t, uint64_t now)
{
	int n = pythreads__read(t, t->cache, MAX_CACHED);

	t->n = n > 0 ? n : 0;
	t->read_at = now;	/* a failed read waits its turn too */
}

static int lookup(const struct pythreads *t, uint32_t tid, char *buf, size_t len)
{
	for (int i = 0; i < t->n; i++) {
		if (t->cache[i].tid == tid) {
			pythread__copy_name(buf, len, t->cache[i].name);
			return 0;
		}
	}
	return -ENOENT;
}

int pythreads__name(struct pythreads *t, uint32_t tid, char *buf, size_t len)
{
	uint64_t now = now_ns();

	if (!t || !tid)
		return -ENOENT;
	if (!t->read_at || now - t->read_at >= t->refresh_ns)
		refill(t, now);
	if (!lookup(t, tid, buf, len))
		return 0;
	/* a thread started since: read again, sooner (a tenth of the
	 * interval: a short-lived thread holding the GIL is named) */
	if (now - t->read_at < t->refresh_ns / 10)
		return -ENOENT;
	refill(t, now);
	return lookup(t, tid, buf, len);
}
