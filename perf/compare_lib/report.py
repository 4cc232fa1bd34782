"""The comparison table, the memory-bandwidth bound, and RESULTS.md."""

import statistics

from .sizes import format_size

# Braid's column first, then the baselines, each ratio pairing like with like: shared
# memory with shared memory, sockets with sockets.
RATIOS = [("braid-shm", "ompi-vader"), ("braid-tcp", "ompi-tcp"), ("braid-tcp", "gloo-tcp")]

# Below this the time, not the bandwidth, is what a row says (busbw of 8 bytes is ~0).
LATENCY_BYTES = 64 << 10

BOUND_TEXT = """\
Memory-bandwidth bound of a one-host all-reduce (float32 sum, S bytes per rank, n ranks):
  Every rank's S input bytes must be read and its S output bytes written, somewhere. The
  least any algorithm can do is exactly that: each rank reads its 1/n slice of all n
  inputs (its own S/n and (n-1)*S/n of the peers' data) and writes the reduced slice into
  all n outputs, with no staging copy in between (only single-copy access to the peers'
  buffers, e.g. CMA or xpmem, allows that; a shared-memory ring moves more). That is
  n*S bytes read + n*S bytes written = 2*n*S bytes, counted as STREAM counts them
  (read + write), through one memory system that delivers at most B_copy:
      t >= 2*n*S / B_copy
      busbw = (S / t) * 2*(n-1)/n  <=  B_copy * (n-1) / n^2      (n = 2: B_copy / 4)
  B_copy is stream_copy's copy rate (best of its repetitions) with as many threads as ranks
  can run at once, min(n, cpus), taking the highest over 1..min(n, cpus) threads; the median
  of that over this run's repetitions. Like STREAM it does not count write-allocate reads,
  and neither does the bound, so the two are counted alike. The bound assumes the data
  comes from DRAM: it holds for working sets (2*n*S) well beyond the last-level cache (the
  256M rows); smaller sizes can run from cache and may exceed it."""


def median(values):
    return statistics.median(values) if values else None


def summarize(runs):
    """{(n, coll, size): {system: {"busbw", "time_us", "reps", "failed", "note"}}}, the
    medians over the repetitions that succeeded."""
    cells = {}
    for r in runs:
        key = (r["nranks"], r["coll"], r["size"])
        cell = cells.setdefault(key, {}).setdefault(r["system"], {"busbw_all": [], "time_all": [], "failed": 0,
                                                                  "note": None})
        if r.get("skipped"):
            cell["note"] = r["skipped"]
        elif r.get("error"):
            cell["failed"] += 1
        else:
            cell["busbw_all"].append(r["busbw"])
            cell["time_all"].append(r["time_us"])
    for systems in cells.values():
        for cell in systems.values():
            cell["busbw"] = median(cell["busbw_all"])
            cell["time_us"] = median(cell["time_all"])
            cell["reps"] = len(cell["busbw_all"])
    return cells


def copy_bandwidth(stream_runs, nranks, cpus):
    """B_copy for n ranks: per repetition, the best copy rate over 1..min(n, cpus)
    threads; then the median over repetitions. None without stream data."""
    limit = max(1, min(nranks, cpus))
    per_rep = []
    for doc in stream_runs:
        rates = [r["best_GBps"] for r in doc["results"] if r["kernel"] == "copy" and r["threads"] <= limit]
        if rates:
            per_rep.append(max(rates))
    return median(per_rep), limit


def bound_busbw(b_copy, nranks):
    return b_copy * (nranks - 1) / nranks ** 2 if b_copy and nranks > 1 else None


def fmt_cell(cell, size):
    if cell is None:
        return "n/a"  # the system has no such collective (Gloo: reduce-scatter)
    if cell.get("busbw") is None:
        if cell.get("note"):
            return cell["note"]
        return "FAILED" if cell.get("failed") else "-"
    text = ("%.1fus" % cell["time_us"]) if size < LATENCY_BYTES else ("%.2f" % cell["busbw"])
    return text + ("!" if cell.get("failed") else "")


def fmt_ratio(a, b):
    if not a or not b or a.get("busbw") is None or b.get("busbw") is None or not b["busbw"]:
        return "-"
    return "%.2fx" % (a["busbw"] / b["busbw"])


def table_rows(cells, systems, bounds):
    """Header and rows of the one table (strings), shared by stdout and RESULTS.md."""
    header = ["collective", "n", "size"] + systems + ["%s/%s" % r for r in RATIOS] + ["mem-bound", "braid-shm/bound"]
    rows = []
    for (n, coll, size) in sorted(cells, key=lambda k: (k[0], ["all_reduce", "all_gather", "reduce_scatter"].index(k[1]), k[2])):
        c = cells[(n, coll, size)]
        row = [coll, str(n), format_size(size)]
        row += [fmt_cell(c.get(s), size) for s in systems]
        row += [fmt_ratio(c.get(a), c.get(b)) for a, b in RATIOS]
        bound = bounds.get(n) if coll == "all_reduce" and size >= LATENCY_BYTES else None
        row.append("%.2f" % bound if bound else "-")
        shm = c.get("braid-shm")
        row.append("%.0f%%" % (100 * shm["busbw"] / bound) if bound and shm and shm.get("busbw") else "-")
        rows.append(row)
    return header, rows


def text_table(header, rows):
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    line = lambda cols: "  ".join(c.rjust(w) if i > 0 else c.ljust(w) for i, (c, w) in enumerate(zip(cols, widths)))
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def markdown_table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


LEGEND = """\
Cells: busbw in GB/s (nccl-tests' bus bandwidth: algbw * 2(n-1)/n for all_reduce, * (n-1)/n
for all_gather and reduce_scatter, sizes counted as nccl-tests counts them), out-of-place,
median over the repetitions; sizes under 64K show the time per call in us instead (latency).
Ratios: Braid's busbw over the baseline's (= the baseline's time over Braid's), same size,
same run: > 1 means Braid is faster. '!' marks a cell where some repetitions failed."""


def results_markdown(doc, header, rows, svg_name):
    m = doc["machine"]
    cfg = doc["config"]
    lines = [
        "# Braid vs baselines: collective bandwidth on one host",
        "",
        "Generated by `perf/compare` on %s; do not edit by hand (re-run it). Machine: %s, %s usable CPUs, "
        "%s GiB, Linux %s%s. Braid commit %s%s." % (
            doc["date"], m.get("cpu", "?"), m.get("cpus"), m.get("memory_GiB"), m.get("kernel"),
            (", Debian " + m["debian"]) if m.get("debian") else "", m.get("commit") or "?",
            " (with uncommitted changes)" if m.get("dirty") else ""),
        "",
        "Invocation: `%s`. %d repetition(s) of every cell, interleaved (for each size, every system in "
        "turn) so that the machine's drift hits all of them alike; %d timed iterations after %d warmup "
        "per job (a quarter of each, at least 3 and 1, from 64M up). Load average at start %s, at end %s. "
        "This machine is shared and noisy (its memory bandwidth has been seen to swing 2x between "
        "runs): compare ratios within one run, not absolute numbers across runs." % (
            cfg["invocation"], cfg["reps"], cfg["iters"], cfg["warmup"], cfg["load_start"], cfg["load_end"]),
        "",
        markdown_table(header, rows),
        "",
        LEGEND,
        "",
        "![busbw vs size](%s)" % svg_name,
        "",
        "## Memory-bandwidth bound",
        "",
        "```",
        BOUND_TEXT,
        "```",
        "",
    ]
    for n, b in sorted(doc["bounds"].items(), key=lambda kv: int(kv[0])):
        if b["b_copy_GBps"]:
            lines.append("- n = %s: B_copy = %.2f GB/s (copy, up to %d thread(s)), bound busbw = %.2f * %d/%d = %.2f GB/s"
                         % (n, b["b_copy_GBps"], b["threads"], b["b_copy_GBps"], int(n) - 1, int(n) ** 2,
                            b["bound_busbw_GBps"]))
    if doc.get("stream"):
        lines += ["", "stream_copy of the first repetition (GB/s, read + write counted):", "",
                  "| threads | kernel | best | median | worst |", "|---:|---|---:|---:|---:|"]
        for r in doc["stream"][0]["results"]:
            lines.append("| %d | %s | %.2f | %.2f | %.2f |" % (r["threads"], r["kernel"], r["best_GBps"],
                                                              r["median_GBps"], r["worst_GBps"]))
    lines += ["", "## Systems", ""]
    for s in doc["systems"]:
        lines.append("- **%s**: %s" % (s["name"], s["describe"]))
    lines += ["", "## Notes", ""] + ["- " + note for note in doc["notes"]]
    lines += ["", "## Exact commands (first repetition)", "", "```"]
    lines += doc["commands"]
    lines += ["```", "", "Raw numbers of every repetition: `%s`." % doc["json_path"], ""]
    return "\n".join(lines)
