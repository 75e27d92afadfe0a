/* SPDX-License-Identifier: MIT */
/* Numbers, times, paths and frames as people read them. Each writes into
 * the buffer it is given and returns it (or a part of the path given). */
#ifndef LS_FMT_H
#define LS_FMT_H
#include <stddef.h>
#include <stdint.h>
#include "stack.h"

/* "201.4 ms", "3.02 s", "0.3 ms" into buf. */
const char *fmt_dur(uint64_t ns, char *buf, size_t len);
/* "HH:MM:SS.mmm" local time of a unix ns timestamp. */
const char *fmt_clock(uint64_t unix_ns, char *buf, size_t len);
/* "2024-05-01 12:00:00 +0000" (local time) into buf. */
const char *fmt_time(uint64_t unix_ns, char *buf, size_t len);
/* The last component of a path ("?" for NULL). */
const char *fmt_base(const char *path);
/* An absolute path under root relative to it ("/srv/app/api.py" under
 * "/srv/app" or "/srv/app/": "api.py"); any other path (and any path when
 * root is NULL or "") as it is. */
const char *fmt_relpath(const char *path, const char *root);
/* "_socket.so" for ".../_socket.cpython-311-x86_64-linux-gnu.so", else
 * the base name. Into buf, or the path's own base. */
const char *fmt_module(const char *path, char *buf, size_t len);
/* A frame as one label: "qualname (file.py:41)", "symbol [libc.so.6]". */
const char *fmt_frame_label(const struct frame *fr, char *buf, size_t len);
/* "name/tid" in at most width columns: the name gives way, the TID never. */
const char *fmt_who(const char *thread, uint32_t tid, char *buf, size_t len, int width);

#endif
