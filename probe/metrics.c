// SPDX-License-Identifier: MIT
/* `attach --metrics ADDR:PORT`: GET /metrics served while attached, the
 * session's counters in Prometheus' text format (report/prom.h). One
 * listening socket, bound before anything is started (a port in use is a
 * usage error), on 127.0.0.1 unless an address is given; polled by the
 * session's loop (at least every 50 ms), one request per connection, a
 * client given 100 ms to send its request. Only /metrics: anything else
 * gets 404. */
#define _GNU_SOURCE	/* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include "errors.h"
#include "loopstall.skel.h"
#include "session.h"

int metrics__parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	char host[64] = "127.0.0.1";
	const char *colon = strrchr(s, ':'), *port = colon ? colon + 1 : s;
	char *end;
	long p = strtol(port, &end, 10);
	size_t hl = colon ? (size_t)(colon - s) : 0;

	if (port == end || *end || p < 1 || p > 65535 || hl >= sizeof(host))
		return -EINVAL;
	if (hl) {
		if (s[0] == '[' && hl >= 2 && s[hl - 1] == ']')	/* [::1]:9999 */
			snprintf(host, sizeof(host), "%.*s", (int)hl - 2, s + 1);
		else
			snprintf(host, sizeof(host), "%.*s", (int)hl, s);
	}
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(p);
		*len = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(p);
		*len = sizeof(*in6);
		return 0;
	}
	return -EINVAL;
}

int metrics__open(struct metrics *m, const char *addr)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1;

	m->fd = -1;
	if (!addr)
		return 0;
	if (metrics__parse_addr(addr, &ss, &len))
		return ls_error(LS_EXIT_USAGE, "bad value '%s' for --metrics: give PORT or "
				"ADDR:PORT, e.g. 9464 or 127.0.0.1:9464", addr);
	m->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->fd < 0 || setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(m->fd, (struct sockaddr *)&ss, len) || listen(m->fd, 16)) {
		int err = errno;

		if (m->fd >= 0)
			close(m->fd);
		m->fd = -1;
		return ls_error(LS_EXIT_USAGE, "cannot serve metrics on %s: %s; choose "
				"another port with --metrics", addr, strerror(err));
	}
	return 0;
}

static const char *title_of(void *ctx, uint32_t pid)
{
	struct session *s = ctx;

	for (unsigned int i = 0; i < s->procs.n; i++)
		if (s->procs.v[i]->pid == pid)
			return s->procs.v[i]->title;
	return NULL;
}

/* The request's first line, read within 100 ms; "" when none came. */
static void read_request(int fd, char *buf, size_t len)
{
	struct timeval tv = { .tv_usec = 100000 };
	size_t n = 0;
	ssize_t r;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	buf[0] = 0;
	while (n + 1 < len && (r = recv(fd, buf + n, len - 1 - n, 0)) > 0) {
		n += r;
		buf[n] = 0;
		if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
			break;
	}
}

static void send_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n && (w = send(fd, p, n, MSG_NOSIGNAL)) > 0) {
		p += w;
		n -= w;
	}
}

static void respond(struct session *s, int fd)
{
	struct prom_lost lost = {
		.stalls = s->bpf.skel->bss->lost_stalls,
		.samples = s->bpf.skel->bss->lost_samples,
		.threads = s->bpf.skel->bss->lost_threads,
		.processes = s->bpf.skel->bss->lost_procs,
	};
	char req[2048], head[160], *body = NULL;
	size_t len = 0;
	FILE *f;

	read_request(fd, req, sizeof(req));
	if (strncmp(req, "GET /metrics ", 13) && strncmp(req, "GET /metrics?", 13)) {
		static const char nf[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
					 "Connection: close\r\n\r\n";

		send_all(fd, nf, sizeof(nf) - 1);
		return;
	}
	f = open_memstream(&body, &len);
	if (!f || prom__write(f, &s->out.sum, &s->metrics.counts, title_of, s, &lost)) {
		if (f)
			fclose(f);
		free(body);
		return;
	}
	fclose(f);
	snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Type: text/plain; "
		 "version=0.0.4; charset=utf-8\r\nContent-Length: %zu\r\n"
		 "Connection: close\r\n\r\n", len);
	send_all(fd, head, strlen(head));
	send_all(fd, body, len);
	free(body);
}

void metrics__poll(struct session *s)
{
	int fd;

	if (s->metrics.fd < 0)
		return;
	while ((fd = accept4(s->metrics.fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		respond(s, fd);
		close(fd);
	}
}

void metrics__close(struct metrics *m)
{
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
	prom__free(&m->counts);
}
