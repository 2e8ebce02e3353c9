/* devicex report: the activity chart (counts aggregated when the report was written).
 * Static SVG drawn here; brushing a range calls opts.onSelect with a filter. Days are UTC dates; when the report
 * has the device's time zone, the hour-of-day and day-of-week views are in that zone (counted when the report
 * was written, the zone named on the chart) or in UTC, as chosen. */
"use strict";
(function () {
  const NS = "http://www.w3.org/2000/svg";
  const DAY_MS = 86400000;
  const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
  const MAX_BARS = 366;

  function svg(tag, attrs, text) {
    const n = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, String(v));
    if (text !== undefined) n.textContent = String(text);
    return n;
  }
  function dayText(d) { return new Date(d * DAY_MS).toISOString().slice(0, 10); }
  function dayOf(text) { return Math.floor(Date.UTC(+text.slice(0, 4), +text.slice(5, 7) - 1, +text.slice(8, 10)) / DAY_MS); }
  function weekday(d) { return (((d + 3) % 7) + 7) % 7; } // 0 = Monday (1970-01-01 was a Thursday)
  function fmt(n) { return Number(n).toLocaleString("en"); }
  function hh(h) { return String(h).padStart(2, "0"); }

  /* {hour, weekday} of a UTC time text in `zone` ("UTC" or an IANA name), by the browser's own zone rules */
  const seen = new Map(), formats = new Map();
  function partsIn(t, zone) {
    const text = String(t);
    if (!zone || zone === "UTC") return { hour: +text.slice(11, 13), weekday: weekday(dayOf(text)) };
    const key = `${zone} ${text.slice(0, 16)}`;
    let v = seen.get(key);
    if (v) return v;
    if (!formats.has(zone)) formats.set(zone, new Intl.DateTimeFormat("en-GB", { timeZone: zone, hour: "2-digit", hourCycle: "h23", weekday: "short" }));
    const parts = formats.get(zone).formatToParts(new Date(`${text.slice(0, 16)}:00Z`));
    const part = (type) => (parts.find((x) => x.type === type) || {}).value;
    v = { hour: +part("hour"), weekday: WEEKDAYS.indexOf(part("weekday")) };
    if (seen.size > 200000) seen.clear();
    seen.set(key, v);
    return v;
  }

  /* Per series: day -> total, over all days. */
  function prepare(A) {
    return A.series.map((s, i) => {
      const byDay = new Map();
      s.days.forEach((d, j) => byDay.set(d, s.hours[j].reduce((a, b) => a + b, 0)));
      const local = s.local ? { days: s.local.days, hours: s.local.hours, byDay: new Map() } : null;
      if (local) local.days.forEach((d, j) => local.byDay.set(d, local.hours[j].reduce((a, b) => a + b, 0)));
      return { key: s.key, label: s.label, total: s.total, cls: `s${i % 8}`, days: s.days, hours: s.hours, byDay, local, on: true };
    });
  }

  /* Bars of the current view: [{label, from, to, counts: [per series], key}] */
  function bins(S, view, lo, hi, zone) {
    if (view === "day") {
      const span = hi - lo + 1;
      const width = Math.max(1, Math.ceil(span / MAX_BARS));
      const out = [];
      for (let d = lo; d <= hi; d += width) {
        const end = Math.min(hi, d + width - 1);
        const counts = S.map((s) => { let n = 0; if (s.on) for (let x = d; x <= end; x++) n += s.byDay.get(x) || 0; return n; });
        out.push({ from: d, to: end, counts, label: width === 1 ? dayText(d) : `${dayText(d)} to ${dayText(end)}` });
      }
      return { bars: out, width };
    }
    const n = view === "hour" ? 24 : 7;
    const out = Array.from({ length: n }, (_, i) => ({ from: i, to: i, counts: S.map(() => 0),
      label: view === "hour" ? `${hh(i)}:00 to ${hh(i)}:59 ${zone}` : `${WEEKDAYS[i]} (${zone})` }));
    S.forEach((s, k) => {
      if (!s.on) return;
      const src = zone !== "UTC" && s.local ? s.local : s;  // days and hours in the zone
      src.days.forEach((d, j) => {
        if (d < lo || d > hi) return;
        if (view === "hour") src.hours[j].forEach((c, h) => { out[h].counts[k] += c; });
        else out[weekday(d)].counts[k] += src.byDay.get(d);
      });
    });
    return { bars: out, width: 1 };
  }

  function chart(host, A, opts) {
    opts = opts || {};
    const S = prepare(A);
    if (!S.length) { host.replaceChildren(document.createTextNode("No dated activity in this case.")); return null; }
    const allLo = Math.min(...S.map((s) => s.days[0])), allHi = Math.max(...S.map((s) => s.days[s.days.length - 1]));
    const zoneName = A.zone && S.some((s) => s.local) ? A.zone.name : null;
    const st = { view: "day", lo: allLo, hi: allHi, log: !!opts.small, sel: null, zone: zoneName || "UTC" };
    const W = 1000, H = opts.small ? 90 : 240, ML = opts.small ? 8 : 56, MR = 8, MT = 8, MB = opts.small ? 18 : 34;
    const pw = W - ML - MR, ph = H - MT - MB;
    const plot = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: `activity${opts.small ? " small" : ""}`, role: "img",
      "aria-label": "Activity over time" });
    const info = document.createElement("div");
    info.className = "activity-info";
    let current = null;

    function y(n, max) {
      if (!max || !n) return 0;
      return st.log ? (Math.log10(n + 1) / Math.log10(max + 1)) * ph : (n / max) * ph;
    }
    function draw() {
      const whole = st.view !== "day";  // all dates shown: every local date too (one may lie past the last UTC date)
      current = bins(S, st.view, whole && st.lo === allLo ? -Infinity : st.lo, whole && st.hi === allHi ? Infinity : st.hi, st.zone);
      const bars = current.bars;
      const totals = bars.map((b) => b.counts.reduce((a, c) => a + c, 0));
      const max = Math.max(1, ...totals);
      const bw = pw / bars.length;
      const parts = [svg("rect", { x: ML, y: MT, width: pw, height: ph, class: "bg" })];
      if (!opts.small) {
        for (const f of [0.5, 1]) {
          const v = st.log ? Math.round(Math.pow(max + 1, f) - 1) : Math.round(max * f);
          const yy = MT + ph - y(v, max);
          parts.push(svg("line", { x1: ML, x2: ML + pw, y1: yy, y2: yy, class: "grid" }), svg("text", { x: ML - 4, y: yy + 4, class: "axis axis-y" }, fmt(v)));
        }
      }
      bars.forEach((b, i) => {
        let base = MT + ph;
        const x = ML + i * bw;
        const g = svg("g", { class: "bar", "data-from": b.from, "data-to": b.to, "data-total": totals[i] });
        const full = totals[i] ? y(totals[i], max) : 0;
        b.counts.forEach((c, k) => {
          if (!c) return;
          const hgt = Math.max(1, (full * c) / totals[i]);
          base -= hgt;
          g.append(svg("rect", { x: x + (bw > 3 ? 0.5 : 0), y: base, width: Math.max(0.8, bw - (bw > 3 ? 1 : 0)), height: hgt, class: S[k].cls,
            "data-series": S[k].key, "data-n": c }));
        });
        const tip = [`${b.label}: ${fmt(totals[i])}`].concat(S.map((s, k) => (b.counts[k] ? `${s.label}: ${fmt(b.counts[k])}` : "")).filter(Boolean));
        g.append(svg("title", {}, tip.join("\n")));
        parts.push(g);
      });
      parts.push(...axis(bars, bw));
      if (st.sel && st.sel.view === st.view) {
        const i0 = bars.findIndex((b) => b.to >= st.sel.from), i1 = bars.findIndex((b) => b.from > st.sel.to);
        const a = i0 < 0 ? bars.length : i0, z = i1 < 0 ? bars.length : i1;
        if (z > a) parts.push(svg("rect", { x: ML + a * bw, y: MT, width: (z - a) * bw, height: ph, class: "sel" }));
      }
      plot.replaceChildren(...parts);
      const scope = st.view === "day" ? (current.width > 1 ? ` (each bar ${current.width} days, UTC dates)` : " (each bar one day, UTC dates)")
        : st.zone === "UTC" ? ", hours and weekdays in UTC" : `, hours and weekdays in ${st.zone} (the device's time zone, summer time included)`;
      info.textContent = `${dayText(st.lo)} to ${dayText(st.hi)}${scope}${st.log ? ", heights on a log scale" : ""}` + (st.sel ? ` · selected: ${selText()}` : "");
    }
    function axis(bars, bw) {
      const out = [];
      const every = Math.max(1, Math.ceil(bars.length / (opts.small ? 4 : 10)));
      bars.forEach((b, i) => {
        if (i % every || (st.view === "day" && i * bw > pw - 70)) return;
        const label = st.view === "day" ? dayText(b.from) : st.view === "hour" ? String(b.from).padStart(2, "0") : WEEKDAYS[b.from];
        out.push(svg("text", { x: ML + i * bw + (st.view === "day" ? 0 : bw / 2), y: MT + ph + 14, class: `axis${st.view === "day" ? " axis-start" : ""}` }, label));
      });
      return out;
    }
    function selText() {
      const s = st.sel;
      if (s.view === "day") return s.from === s.to ? dayText(s.from) : `${dayText(s.from)} to ${dayText(s.to)}`;
      if (s.view === "hour") return `${hh(s.from)}:00 to ${hh(s.to)}:59 ${s.zone}`;
      return (s.from === s.to ? WEEKDAYS[s.from] : `${WEEKDAYS[s.from]} to ${WEEKDAYS[s.to]}`) + ` (${s.zone})`;
    }
    function barAt(ev) {
      const r = plot.getBoundingClientRect();
      const x = ((ev.clientX - r.left) / r.width) * W - ML;
      const n = current.bars.length;
      return current.bars[Math.min(n - 1, Math.max(0, Math.floor((x / pw) * n)))];
    }
    function select(sel) {
      st.sel = sel;
      draw();
      if (opts.onSelect) opts.onSelect(sel ? { view: sel.view, from: sel.from, to: sel.to, zone: sel.zone, fromText: sel.view === "day" ? dayText(sel.from) : "", toText: sel.view === "day" ? dayText(sel.to) : "" } : null);
    }
    if (!opts.small) {
      let start = null;
      plot.addEventListener("mousedown", (ev) => { ev.preventDefault(); start = barAt(ev); st.sel = { view: st.view, zone: st.zone, from: start.from, to: start.to }; draw(); });
      plot.addEventListener("mousemove", (ev) => {
        if (!start) return;
        const b = barAt(ev);
        st.sel = { view: st.view, zone: st.zone, from: Math.min(start.from, b.from), to: Math.max(start.to, b.to) };
        draw();
      });
      window.addEventListener("mouseup", () => { if (start) { start = null; select(st.sel); } });
    }
    const api = {
      svg: plot, info, series: S, zoneName,
      setView(v) { st.view = v; st.sel = null; draw(); },
      setZone(z) { st.zone = z; st.sel = null; draw(); },
      setLog(on) { st.log = on; draw(); },
      toggle(key, on) { S.forEach((s) => { if (s.key === key) s.on = on; }); draw(); },
      zoom() { if (st.sel && st.sel.view === "day") { st.lo = st.sel.from; st.hi = st.sel.to; draw(); } },
      reset() { st.lo = allLo; st.hi = allHi; select(null); },
      clear() { select(null); },
      showDays(fromText, toText) {
        if (st.view !== "day") return;
        st.sel = fromText || toText ? { view: "day", zone: "UTC", from: fromText ? dayOf(fromText) : allLo, to: toText ? dayOf(toText) : allHi } : null;
        draw();
      },
      get selection() { return st.sel; },
    };
    host.replaceChildren(plot, info);
    draw();
    return api;
  }

  /* The Timeline page's chart with its controls (view, log scale, series, zoom). */
  function panel(host, A, onSelect) {
    const el = window.DVX_UI.el;
    const box = el("div", { class: "activity-chart" });
    const c = chart(box, A, { onSelect });
    if (!c) { host.replaceChildren(box); return null; }
    const views = [["day", "By day"], ["hour", "Hour of day"], ["weekday", "Day of week"]].map(([v, label]) => {
      const b = el("button", { type: "button", class: "view-btn", "data-view": v, "aria-pressed": String(v === "day"), text: label });
      b.addEventListener("click", () => { views.forEach((x) => x.setAttribute("aria-pressed", String(x === b))); c.setView(v); onSelect(null); });
      return b;
    });
    const log = el("input", { type: "checkbox", id: "a-log" });
    log.addEventListener("change", () => c.setLog(log.checked));
    const zoom = el("button", { type: "button", id: "a-zoom", text: "Zoom to selection" });
    zoom.addEventListener("click", () => c.zoom());
    const reset = el("button", { type: "button", id: "a-reset", text: "Show all dates" });
    reset.addEventListener("click", () => c.reset());
    const legend = el("div", { class: "legend" }, ...c.series.map((s) => {
      const cb = el("input", { type: "checkbox", checked: "checked", "data-series": s.key });
      cb.addEventListener("change", () => c.toggle(s.key, cb.checked));
      return el("label", {}, cb, el("span", { class: `swatch ${s.cls}` }), `${s.label} (${fmt(s.total)})`);
    }));
    const zones = [];
    if (c.zoneName) {
      const pick = el("select", { id: "a-zone", "aria-label": "time zone of the hour and weekday views" },
        el("option", { value: c.zoneName, text: `${c.zoneName} (device)` }), el("option", { value: "UTC", text: "UTC" }));
      pick.addEventListener("change", () => { c.setZone(pick.value); onSelect(null); });
      zones.push(el("label", {}, "Hours and weekdays in ", pick));
    }
    const bar = el("div", { class: "activity-controls" }, el("span", { class: "views" }, ...views),
      ...zones, el("label", {}, log, " log scale"), zoom, reset);
    const where = c.zoneName ? `Days are UTC dates; hours and weekdays are in ${c.zoneName}, the device's time zone, ${A.zone.source}; or in UTC, as chosen. The table's times are UTC.`
      : "Times are UTC (no device time zone is known: give one with --timezone to see hours and weekdays in it).";
    host.replaceChildren(bar, legend, box,
      el("p", { class: "muted hint", text: `Drag across the bars to select a period: the table below shows only that period. ${where}` }));
    return c;
  }

  window.DVX_ACTIVITY = { chart, panel, dayOf, weekday, partsIn };
})();
