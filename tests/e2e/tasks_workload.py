# SPDX-License-Identifier: MIT
"""A target for tests/e2e/test_tasks.py: about 50 asyncio tasks in a tree,
then parked (`ready PID` on stdout) until killed.
  gather:     main awaits gather(g-0..g-7), each awaits leaf()
  taskgroup:  tg-parent runs a TaskGroup of tg-0..tg-7 (3.11+)
  chain:      chain-0 awaits chain-1 ... awaits chain-9 (tasks awaiting tasks)
  cycle:      cyc-a awaits cyc-b and cyc-b awaits cyc-a
  named:      20 sleepers named sleeper-N, 3 unnamed (Task-N)
argv[1] == "uvloop": run on uvloop."""
import asyncio
import os
import sys

FOREVER = 3600


async def leaf(n):
    await asyncio.sleep(FOREVER)  # LEAF-LINE


async def gathered(n):
    await leaf(n)  # GATHERED-LINE


async def in_group(n):
    await asyncio.sleep(FOREVER)  # GROUP-LINE


async def tg_parent():
    async with asyncio.TaskGroup() as tg:
        for i in range(8):
            tg.create_task(in_group(i), name=f"tg-{i}")
    # TG-LINE (the parent waits in __aexit__)


async def chain(i, n):
    if i + 1 < n:
        await asyncio.create_task(chain(i + 1, n), name=f"chain-{i + 1}")  # CHAIN-LINE
    else:
        await asyncio.sleep(FOREVER)  # CHAIN-END-LINE


async def cyc(me, other):
    while other[0] is None:
        await asyncio.sleep(0)
    await other[0]  # CYCLE-LINE


async def main():
    a_box, b_box = [None], [None]
    a = asyncio.create_task(cyc("a", b_box), name="cyc-a")
    b = asyncio.create_task(cyc("b", a_box), name="cyc-b")
    a_box[0], b_box[0] = a, b
    asyncio.create_task(tg_parent(), name="tg-parent")
    asyncio.create_task(chain(0, 10), name="chain-0")
    for i in range(20):
        asyncio.create_task(asyncio.sleep(FOREVER), name=f"sleeper-{i}")
    for i in range(3):
        asyncio.create_task(asyncio.sleep(FOREVER))
    await asyncio.sleep(0.2)
    print("ready", os.getpid(), flush=True)
    gs = [asyncio.create_task(gathered(i), name=f"g-{i}") for i in range(8)]
    await asyncio.gather(*gs)  # MAIN-LINE


if len(sys.argv) > 1 and sys.argv[1] == "uvloop":
    import uvloop
    uvloop.run(main()) if hasattr(uvloop, "run") else (
        uvloop.install(), asyncio.run(main()))
else:
    asyncio.run(main())
