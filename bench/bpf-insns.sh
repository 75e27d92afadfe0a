#!/bin/sh
# SPDX-License-Identifier: MIT
# Size of the BPF programs as loaded (after the verifier). Usage, as root:
#   bench/bpf-insns.sh [build/loopstall]
# Attaches to an idle asyncio process for a few seconds and prints the
# translated instruction count (xlated bytes / 8) of the sampling programs.
/usr/bin/python3 -c 'import asyncio; asyncio.run(asyncio.sleep(30))' &
py=$!
sleep 1
"${1:-build/loopstall}" attach -p $py -d 6 >/dev/null 2>&1 &
ls=$!
sleep 4
bpftool prog show -j | python3 -c '
import json,sys
for p in json.load(sys.stdin):
    if p.get("name") in ("on_cpu","sched_switch"): print(p["name"], p["bytes_xlated"]//8)'
wait $ls; kill $py 2>/dev/null
