#!/usr/bin/env python3
"""CPU accounting for bench/compare/run.sh: prints "OTHERS OURS", clock
ticks since boot. OURS is the CPU time of the process trees rooted at the
given PIDs, OTHERS that of every other user-space process (kernel threads
are left out: softirq and block-layer work is done for whoever asked,
mostly the benchmark itself). Each live process counts its own time and
its reaped children's, so a process that ended is still counted, through
its parent. Between two calls, the growth of OTHERS is what another job on
the machine took.

    python3 bench/compare/cpu.py PID...
"""
import os
import sys


def main():
    roots = {int(p) for p in sys.argv[1:] if p}
    children = {}
    times = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                text = f.read()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        pid, ppid = int(name), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        # utime stime cutime cstime: fields 14-17 of proc(5)'s stat
        times[pid] = sum(int(x) for x in fields[11:15])

    def tree(top):
        seen, todo = set(), [p for p in top if p in times or p == 2]
        while todo:
            p = todo.pop()
            if p not in seen:
                seen.add(p)
                todo.extend(children.get(p, []))
        return seen

    ours = tree(roots)
    kernel = tree([2])  # kthreadd and its threads
    others = sum(t for p, t in times.items() if p not in ours and p not in kernel)
    print(others, sum(times[p] for p in ours if p in times))


if __name__ == "__main__":
    main()
