"""The recording's "cprofile" section: pstats.Stats data joined with the sampler's functions."""

import pstats

__all__ = ["attach_cprofile", "stats_of"]


def stats_of(profile_or_stats):
    """A pstats.Stats for a cProfile.Profile (or a Stats, returned as is)."""
    if isinstance(profile_or_stats, pstats.Stats):
        return profile_or_stats
    return pstats.Stats(profile_or_stats)


def without_files(stats, files):
    """pstats data minus the calls made from functions defined in ``files`` (and from the
    functions only they called), as if that code had not run: each callee loses the numbers of
    the edges from them. On 3.12+ cProfile sees every thread, so a recording's cProfile data
    would otherwise count the sampler thread's own work."""
    own = {k for k in stats if k[0] in files}
    if not own:
        return stats
    stats = {k: (v[0], v[1], v[2], v[3], dict(v[4])) for k, v in stats.items()}
    while True:
        grown = False
        for k, (cc, nc, tt, ct, callers) in stats.items():
            if k in own or not callers:
                continue
            if all(c in own for c in callers):
                own.add(k)
                grown = True
        if not grown:
            break
    out = {}
    for k, (cc, nc, tt, ct, callers) in stats.items():
        if k in own:
            continue
        for c in [c for c in callers if c in own]:
            e = callers.pop(c)
            if isinstance(e, tuple):
                cc, nc = cc - e[0], nc - e[1]
                tt, ct = max(0.0, tt - e[2]), max(0.0, ct - e[3])
            else:
                cc, nc = cc - e, nc - e
        if nc <= 0:
            continue
        out[k] = (cc, nc, tt, ct, callers)
    return out


def attach_cprofile(recording, profile_or_stats, keys=None, exclude_files=()):
    """Fill ``recording["cprofile"]`` from a cProfile.Profile or pstats.Stats: functions join
    the sampled ones on the pstats key (file, firstlineno, co_name); the others are appended.
    Calls made by code in ``exclude_files`` (the sampler) are taken out (see without_files)."""
    st = stats_of(profile_or_stats)
    data = without_files(st.stats, set(exclude_files)) if exclude_files else st.stats
    total_tt = sum(v[2] for v in data.values()) if data is not st.stats else st.total_tt
    functions = recording["functions"]
    # ``keys``: the sampler's {(file, firstlineno, co_name): index}. Without it, rebuild the
    # key from the display name (a qualname's last dotted part is the co_name).
    by_key = dict(keys) if keys else {}
    for i, (file, line, name) in enumerate(functions):
        if keys:
            by_key.setdefault((file, line, name), i)
            continue
        short = name.rsplit(".", 1)[-1] if not (name.startswith("<") and name.endswith(">")) \
            else name
        by_key.setdefault((file, line, short), i)
        by_key.setdefault((file, line, name), i)

    def index_of(key):
        i = by_key.get(key)
        if i is None:
            file, line, name = key
            i = len(functions)
            functions.append([file, line, name])
            by_key[key] = i
        return i

    rows = []
    edges = []
    for key, value in data.items():
        cc, nc, tt, ct, callers = value
        callee = index_of(key)
        rows.append([callee, cc, nc, tt, ct])
        for ckey, cv in callers.items():
            caller = index_of(ckey)
            if isinstance(cv, tuple):
                ecc, enc, ett, ect = cv[:4]
            else:  # the pure-Python profile module keeps a bare count
                ecc, enc, ett, ect = cv, cv, 0.0, 0.0
            edges.append([caller, callee, ecc, enc, ett, ect])
    recording["cprofile"] = {"stats": rows, "edges": edges, "total_tt": total_tt}
    recording.setdefault("meta", {})["cprofile"] = True
    return recording
