#!/usr/bin/env python3
"""Inputs for scripts/bench-compare.sh, written as cProfile's dump_stats writes them (marshal).

  gen-compare.py requests DIR COUNT NFUNCS [--seed N]
      COUNT per-request dumps of about NFUNCS functions each, drawn from a shared vocabulary
      of 1.6 x NFUNCS functions (as the requests of one service share their code), times
      jittered per request, callers 1..5 per function.
  gen-compare.py pair BASE NEW NFUNCS [--seed N]
      Two profiles of the same NFUNCS functions: NEW is BASE with 10% of the functions 1.2-3x
      slower per call and 5% called twice as often.
"""
import marshal
import random
import sys


def vocabulary(n):
    return [(f"/srv/app/mod{i % 997}.py", 10 + i % 500, f"func_{i}") for i in range(n)]


def dump(stats, path):
    with open(path, "wb") as f:
        marshal.dump(stats, f)


def stats_for(rng, funcs):
    out = {}
    for k in funcs:
        nc = rng.randint(1, 50)
        tt = rng.uniform(1e-6, 2e-3) * nc
        callers = {}
        for c in rng.sample(funcs, min(len(funcs), rng.randint(1, 5))):
            if c != k:
                callers[c] = (1, 1, tt / 5, tt / 4)
        out[k] = (nc, nc, tt, tt * rng.uniform(1.0, 3.0), callers)
    return out


def main(argv):
    seed = 1
    if "--seed" in argv:
        i = argv.index("--seed")
        seed = int(argv[i + 1])
        argv = argv[:i] + argv[i + 2:]
    rng = random.Random(seed)
    if argv[0] == "requests":
        out, count, n = argv[1], int(argv[2]), int(argv[3])
        vocab = vocabulary(int(n * 1.6))
        for r in range(count):
            dump(stats_for(rng, rng.sample(vocab, n)), f"{out}/r{r:05d}.prof")
    elif argv[0] == "pair":
        base, new, n = argv[1], argv[2], int(argv[3])
        funcs = vocabulary(n)
        b = stats_for(rng, funcs)
        dump(b, base)
        nb = {}
        for k, (cc, nc, tt, ct, callers) in b.items():
            x = rng.random()
            if x < 0.10:
                f = rng.uniform(1.2, 3.0)
                tt, ct = tt * f, ct * f
            elif x < 0.15:
                cc, nc, tt, ct = cc * 2, nc * 2, tt * 2, ct * 2
            nb[k] = (cc, nc, tt, ct, callers)
        dump(nb, new)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
