"""Figures for SECURITY.md, "What was tried and what holds": the account and audit attacks of issue 13.

    python bench/attack_auth.py [--samples 7] [--threads 30] [--database sqlite:///tmp.sqlite]

Prints, on a fresh SQLite store (or ``--database``, e.g. a PostgreSQL URL):
* the time of each kind of sign-in refusal (unknown name, wrong password,
  locked, disabled) with the product's argon2 cost: median, min, max in ms;
* what ``--threads`` simultaneous wrong guesses on one account do (how many
  were weighed against the password, how many refused as locked);
* ``audit verify`` on a clean log and after an edit made with file access.
The tests in tests/test_attacks_auth.py assert the same things in a bounded form.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections import Counter

from spatial.store import accounts as A
from spatial.store import audit, connect

PW = "tangerine bicycle lamp"
ADMIN = {"actor": "bench", "actor_role": "operator"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=7)
    ap.add_argument("--threads", type=int, default=30)
    ap.add_argument("--database")
    args = ap.parse_args()
    url = args.database or f"sqlite:///{tempfile.mkdtemp(prefix='attack-auth-')}/hotspot.sqlite"
    engine = connect(url)
    tag = str(int(time.time()))
    names = {k: f"bench {k} {tag}" for k in ("wrong", "locked", "disabled", "parallel")}
    for name in names.values():
        A.add_user(engine, name, role="analyst", password=PW, **ADMIN)
    A.disable_user(engine, names["disabled"], **ADMIN)
    lock = A.LockoutPolicy(max_failures=1, lock_minutes=60)
    many = A.LockoutPolicy(max_failures=100_000)
    try:
        A.authenticate(engine, names["locked"], "lock it now!", policy=lock)
    except A.SignInRefused:
        pass
    cases = {"unknown": (f"nobody {tag}", PW, many), "wrong password": (names["wrong"], "not it at all", many),
             "locked": (names["locked"], PW, lock), "disabled": (names["disabled"], PW, many)}
    times: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(args.samples):
        for kind, (name, pw, policy) in cases.items():
            t0 = time.perf_counter()
            try:
                A.authenticate(engine, name, pw, policy=policy)
            except A.SignInRefused:
                pass
            times[kind].append((time.perf_counter() - t0) * 1e3)
    print(f"sign-in refusals, {args.samples} each, product argon2 cost ({engine.dialect.name}):")
    for kind, v in times.items():
        print(f"  {kind:15s} median {statistics.median(v):7.1f} ms  min {min(v):7.1f}  max {max(v):7.1f}")

    gate = threading.Barrier(args.threads)
    out: list[str] = []

    def guess(k: int) -> None:
        gate.wait()
        try:
            A.authenticate(engine, names["parallel"], f"wrong guess {k:03d}!", policy=A.LockoutPolicy())
            out.append("IN")
        except A.SignInRefused as exc:
            out.append(exc.reason)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=guess, args=(k,)) for k in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"{args.threads} simultaneous wrong guesses on one account ({time.perf_counter() - t0:.1f} s): "
          f"{dict(Counter(out))}")
    check = audit.verify(engine)
    print(f"audit verify: ok={check.ok}, {check.rows:,} rows, head {check.head_hash[:16]}…")


if __name__ == "__main__":
    main()
