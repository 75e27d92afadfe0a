# SPDX-License-Identifier: MIT
"""A containerised asyncio app for `loopstall record -- unshare …`: it needs
no signal (its host PID is not at hand): three 200 ms sleeps on the loop
after half a second, then it exits."""
import asyncio
import time


async def main():
    await asyncio.sleep(0.5)
    for _ in range(3):
        time.sleep(0.2)          # blocks the loop  # @auto
        await asyncio.sleep(0.05)


asyncio.run(main())
