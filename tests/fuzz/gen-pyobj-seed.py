# SPDX-License-Identifier: MIT
"""A seed of fuzz_pyobj from this interpreter's own memory (ctypes): its
_PyRuntime (3.13+: _Py_DebugOffsets), a function's code object with its
qualname, filename and location table, a str, an int, a dict of str keys
and an instance with attributes (its type and the type's cached keys),
as fuzz_pyobj.c's input format has them, to stdout. Run by each CPython:
  python3.X tests/fuzz/gen-pyobj-seed.py > tests/fuzz/corpus/pyobj/3.X
  chroot ROOT python3.X - < tests/fuzz/gen-pyobj-seed.py > ...
"""
import ctypes
import struct
import sys
import threading
import types

MINOR = sys.version_info[1]
CACHED_KEYS = {11: 872, 12: 880, 13: 880, 14: 880, 15: 888}[MINOR]


def mapped():
    for line in open("/proc/self/maps"):
        f = line.split()
        lo, hi = (int(x, 16) for x in f[0].split("-"))
        if f[1][0] == "r":
            yield lo, hi


MAPS = list(mapped())
windows = []


def dump(addr, n, before=0):
    """[addr - before, addr + n), cut to the readable mapping holding addr."""
    for lo, hi in MAPS:
        if lo <= addr < hi:
            windows.append((max(lo, addr - before), min(hi, addr + n)))
            return


def word(addr):
    return struct.unpack("<Q", ctypes.string_at(addr, 8))[0]


def obj(o, extra=0):
    dump(id(o), max(sys.getsizeof(o), 128) + extra, 32)


class Worker:
    def __init__(self):
        self._name = "worker-\u00e9"
        self._native_id = threading.get_native_id()


def handle(request, retries=3):
    total = 0
    for i in range(retries):
        total += len(request) * i
    return total


runtime = 0
if MINOR >= 13:
    runtime = ctypes.addressof(ctypes.c_char.in_dll(ctypes.pythonapi, "_PyRuntime"))
    dump(runtime, 1024)
code = handle.__code__
obj(code)
for o in (code.co_qualname, code.co_filename, code.co_linetable):
    obj(o)
s = "thread \u00e9\u2713 \U0001F600"
obj(s)
n = -(2 ** 45 + 12345)
obj(n)
d = {"_name": "worker-1", "_native_id": 4242, "name": 1.5}
obj(d)
dump(word(id(d) + 32), 1024)            # ma_keys
for k, v in d.items():
    obj(k)
    obj(v)
w = Worker()
obj(w, 256)
if MINOR == 11:
    dump(word(id(w) - 32), 256, 64)     # the values pointer
elif MINOR == 12 and word(id(w) - 24) & 1:
    dump(word(id(w) - 24) + 1, 256, 64)  # the tagged values
obj(type(w), 1024)
dump(word(id(type(w)) + CACHED_KEYS), 1024)
for k in ("_name", "_native_id"):       # not vars(w): it makes the dict
    obj(k)
    obj(getattr(w, k))

# adjacent or overlapping windows as one region: a read never spans two
windows.sort()
regions = []
for lo, hi in windows:
    if regions and lo <= regions[-1][1] + 64:
        regions[-1][1] = max(regions[-1][1], hi)
    else:
        regions.append([lo, hi])
order = sorted(regions, key=lambda r: not (r[0] <= runtime < r[1]))  # _PyRuntime first

out = sys.stdout.buffer
out.write(bytes([MINOR - 11, 1 | 0 << 1]) + struct.pack("<I", 6))
out.write(struct.pack("<6Q", runtime, id(code), id(s), id(n), id(d), id(w)))
out.write(struct.pack("<5Q", id(str), id(int), id(dict), id(types.ModuleType),
                      id(types.CodeType)))
for lo, hi in order:
    out.write(struct.pack("<QI", lo, hi - lo) + ctypes.string_at(lo, hi - lo))
