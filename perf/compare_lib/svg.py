"""busbw vs size as a hand-written SVG: one panel per collective (and rank count),
log-log axes, a line per system, the memory bound dashed. No plotting library: the
picture is simple and the tool should run wherever python3 does."""

import math
from xml.sax.saxutils import escape

from .sizes import format_size

COLORS = {
    "braid-shm": "#d62728", "braid-tcp": "#ff7f0e", "ompi-vader": "#1f77b4", "ompi-tcp": "#17becf",
    "gloo-tcp": "#2ca02c",
}
PANEL_W, PANEL_H = 380, 300
MARGIN_L, MARGIN_R, MARGIN_T, MARGIN_B = 62, 18, 34, 46


def _decades(lo, hi):
    return [10.0 ** e for e in range(int(math.floor(math.log10(lo))), int(math.ceil(math.log10(hi))) + 1)]


def _panel(out, x0, y0, title, series, bound):
    """series: {system: [(size, busbw)]}; bound: busbw or None (a horizontal line)."""
    pts = [p for s in series.values() for p in s if p[1] and p[1] > 0]
    if bound:
        pts.append((pts[0][0] if pts else 1, bound))
    if not pts:
        return
    sizes = sorted({p[0] for p in pts})
    xmin, xmax = math.log2(sizes[0]), math.log2(sizes[-1])
    if xmax - xmin < 1:
        xmin, xmax = xmin - 1, xmax + 1  # one size: a little room either side
    ys = [p[1] for p in pts]
    ymin, ymax = min(ys) / 2, max(ys) * 2
    decades = _decades(ymin, ymax)
    ymin, ymax = decades[0], decades[-1]
    w, h = PANEL_W - MARGIN_L - MARGIN_R, PANEL_H - MARGIN_T - MARGIN_B

    def X(size):
        return x0 + MARGIN_L + (math.log2(size) - xmin) / (xmax - xmin) * w

    def Y(v):
        return y0 + MARGIN_T + (1 - (math.log10(v) - math.log10(ymin)) / (math.log10(ymax) - math.log10(ymin))) * h

    out.append('<text x="%.1f" y="%.1f" font-size="14" text-anchor="middle" font-weight="bold">%s</text>'
               % (x0 + MARGIN_L + w / 2, y0 + 20, escape(title)))
    out.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#444"/>'
               % (x0 + MARGIN_L, y0 + MARGIN_T, w, h))
    for d in decades:
        y = Y(d)
        out.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>' % (x0 + MARGIN_L, y, x0 + MARGIN_L + w, y))
        out.append('<text x="%.1f" y="%.1f" font-size="11" text-anchor="end">%g</text>' % (x0 + MARGIN_L - 4, y + 4, d))
    for s in sizes:
        x = X(s)
        out.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eee"/>' % (x, y0 + MARGIN_T, x, y0 + MARGIN_T + h))
        out.append('<text x="%.1f" y="%.1f" font-size="11" text-anchor="middle">%s</text>'
                   % (x, y0 + MARGIN_T + h + 15, format_size(s)))
    out.append('<text x="%.1f" y="%.1f" font-size="12" text-anchor="middle">size (bytes, log scale)</text>'
               % (x0 + MARGIN_L + w / 2, y0 + PANEL_H - 8))
    out.append('<text x="%.1f" y="%.1f" font-size="12" text-anchor="middle" transform="rotate(-90 %.1f %.1f)">'
               'busbw GB/s (log)</text>' % (x0 + 16, y0 + MARGIN_T + h / 2, x0 + 16, y0 + MARGIN_T + h / 2))
    if bound:
        y = Y(bound)
        out.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#000" stroke-dasharray="6,4"/>'
                   % (x0 + MARGIN_L, y, x0 + MARGIN_L + w, y))
        out.append('<text x="%.1f" y="%.1f" font-size="11" text-anchor="end">memory bound %.2f</text>'
                   % (x0 + MARGIN_L + w - 4, y - 4, bound))
    # Each system is nudged sideways a little so that equal values do not hide each other.
    for k, (name, points) in enumerate(series.items()):
        points = sorted(p for p in points if p[1] and p[1] > 0)
        if not points:
            continue
        dx = (k - (len(series) - 1) / 2) * 4
        color = COLORS.get(name, "#7f7f7f")
        dash = ' stroke-dasharray="3,3"' if name.endswith("tcp") else ""
        if len(points) > 1:
            out.append('<polyline fill="none" stroke="%s" stroke-width="2"%s points="%s"/>'
                       % (color, dash, " ".join("%.1f,%.1f" % (X(s) + dx, Y(v)) for s, v in points)))
        for s, v in points:
            out.append('<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"><title>%s %s: %.3g GB/s</title></circle>'
                       % (X(s) + dx, Y(v), color, escape(name), format_size(s), v))


def write_svg(path, title, cells, systems, bounds, min_size=64 << 10):
    """cells as report.summarize makes them; bounds {n: busbw}. Sizes below min_size are
    left out: their busbw is ~0 (they are latency, which the table shows as time) and
    would stretch the axis over six decades of nothing."""
    cells = {k: v for k, v in cells.items() if k[2] >= min_size}
    panels = sorted({(n, coll) for (n, coll, _) in cells},
                    key=lambda k: (k[0], ["all_reduce", "all_gather", "reduce_scatter"].index(k[1])))
    cols = 3
    rows = (len(panels) + cols - 1) // cols or 1
    width, legend_h = PANEL_W * cols, 30
    height = PANEL_H * rows + legend_h + 30
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
           'font-family="sans-serif">' % (width, height, width, height),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="20" font-size="15" text-anchor="middle">%s</text>' % (width // 2, escape(title))]
    x = 20
    plotted = {name for by in cells.values() for name, c in by.items() if c.get("busbw")}
    for name in systems:
        label = name if name in plotted else name + " (no data)"
        color = COLORS.get(name, "#7f7f7f")
        dash = ' stroke-dasharray="3,3"' if name.endswith("tcp") else ""
        out.append('<line x1="%d" y1="40" x2="%d" y2="40" stroke="%s" stroke-width="2"%s/>' % (x, x + 24, color, dash))
        out.append('<text x="%d" y="44" font-size="12">%s</text>' % (x + 30, escape(label)))
        x += 40 + 7 * len(label)
    out.append('<line x1="%d" y1="40" x2="%d" y2="40" stroke="#000" stroke-dasharray="6,4"/>' % (x, x + 24))
    out.append('<text x="%d" y="44" font-size="12">memory bound (all_reduce)</text>' % (x + 30))
    for i, (n, coll) in enumerate(panels):
        series = {}
        for (cn, cc, size), by_system in cells.items():
            if (cn, cc) != (n, coll):
                continue
            for name, cell in by_system.items():
                if cell.get("busbw"):
                    series.setdefault(name, []).append((size, cell["busbw"]))
        ordered = {name: series[name] for name in systems if name in series}
        _panel(out, (i % cols) * PANEL_W, legend_h + 30 + (i // cols) * PANEL_H, "%s, %d ranks" % (coll, n), ordered,
               bounds.get(n) if coll == "all_reduce" else None)
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
