"""Summarise a py-spy ``--format raw`` profile (collapsed stacks): top functions, self and total.

    python -m loadtests.profile_summary profile.txt [--top 30] [--filter bidserver]
"""

from __future__ import annotations

import argparse
import collections
import re

_FRAME = re.compile(r"^(?P<func>[^ ]+) \((?P<file>[^:]+)(?::\d+)?\)$")


def _name(frame: str) -> str:
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = match["file"]
    for marker in ("site-packages/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{match['func']} ({path})"


def summarise(path: str, top: int, needle: str | None) -> str:
    total = 0
    self_counts: collections.Counter[str] = collections.Counter()
    incl_counts: collections.Counter[str] = collections.Counter()
    for line in open(path, encoding="utf-8", errors="replace"):
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_name(f) for f in stack.split(";") if f]
        if not frames:
            continue
        self_counts[frames[-1]] += n
        for name in set(frames):
            incl_counts[name] += n
    out = [f"{total} samples"]
    for title, counts in (("total (inclusive)", incl_counts), ("self", self_counts)):
        out.append(f"\n{title}:")
        shown = 0
        for name, n in counts.most_common():
            if needle and needle not in name:
                continue
            out.append(f"  {100 * n / max(total, 1):5.1f}%  {name}")
            shown += 1
            if shown >= top:
                break
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--filter")
    args = parser.parse_args()
    print(summarise(args.path, args.top, args.filter))


if __name__ == "__main__":
    main()
