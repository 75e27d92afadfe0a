# SPDX-License-Identifier: MIT
"""A loop that stalls every 0.2 s in turn: time.sleep, CPU (pbkdf2), a
file read; each request a named task (tests/valgrind/run)."""
import asyncio
import hashlib
import os
import time


async def handler(i):
    if i % 3 == 0:
        time.sleep(0.1)
    elif i % 3 == 1:
        hashlib.pbkdf2_hmac("sha256", b"pw", b"salt", 100000)
    else:
        with open("/etc/passwd") as f:
            f.read()


async def main():
    for i in range(10**6):
        await asyncio.create_task(handler(i), name=f"req-{i}")
        await asyncio.sleep(0.2)


print("ready", os.getpid(), flush=True)
asyncio.run(main())
