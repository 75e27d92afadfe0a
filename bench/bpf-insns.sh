#!/bin/sh
# SPDX-License-Identifier: MIT
# Size of the BPF programs as loaded (after the verifier). Usage, as root:
#   bench/bpf-insns.sh [build/loopstall]
# Attaches to an idle asyncio process for a few seconds and prints, for
# the sampling programs, the translated instruction count (xlated bytes /
# 8, their global functions included) and the instructions the verifier
# processed to load them (verified_insns). Only the programs of this run's
# loopstall are counted (another loopstall may be running).
/usr/bin/python3 -c 'import asyncio; asyncio.run(asyncio.sleep(30))' &
py=$!
sleep 1
"${1:-build/loopstall}" attach -p $py -d 6 >/dev/null 2>&1 &
ls=$!
sleep 4
bpftool prog show -j | LS_PID=$ls /usr/bin/python3 -c "$(cat <<'PY'
import json, os, sys
pid = os.environ["LS_PID"]
verified = {}     # prog_id -> verified_insns, from this loopstall's fds
for fd in os.listdir(f"/proc/{pid}/fdinfo"):
    try:
        info = dict(l.split(":", 1) for l in open(f"/proc/{pid}/fdinfo/{fd}")
                    if ":" in l)
    except OSError:
        continue
    if "prog_id" in info and "verified_insns" in info:   # a program, not a link
        verified[int(info["prog_id"])] = info["verified_insns"].strip()
for p in json.load(sys.stdin):
    if p.get("name") in ("on_cpu", "sched_switch", "enter_epoll_wait") and p["id"] in verified:
        print(f"{p['name']:14} {p['bytes_xlated'] // 8:6} insns as loaded, "
              f"{verified[p['id']]:>7} verified")
PY
)"
wait $ls; kill $py 2>/dev/null
