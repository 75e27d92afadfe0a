/* SPDX-License-Identifier: MIT */
/* loopstall's version: the one place it is written (--version, and the
 * recordings and reports it writes). */
#ifndef LS_VERSION_H
#define LS_VERSION_H

#define LOOPSTALL_VERSION "0.1.0"

#endif
