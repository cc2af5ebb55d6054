"""The recording's "cprofile" section: pstats.Stats data joined with the sampler's functions."""

import pstats

__all__ = ["attach_cprofile", "stats_of"]


def stats_of(profile_or_stats):
    """A pstats.Stats for a cProfile.Profile (or a Stats, returned as is)."""
    if isinstance(profile_or_stats, pstats.Stats):
        return profile_or_stats
    return pstats.Stats(profile_or_stats)


def attach_cprofile(recording, profile_or_stats, keys=None):
    """Fill ``recording["cprofile"]`` from a cProfile.Profile or pstats.Stats: functions join
    the sampled ones on the pstats key (file, firstlineno, co_name); the others are appended."""
    st = stats_of(profile_or_stats)
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
    for key, value in st.stats.items():
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
    recording["cprofile"] = {"stats": rows, "edges": edges, "total_tt": st.total_tt}
    recording.setdefault("meta", {})["cprofile"] = True
    return recording
