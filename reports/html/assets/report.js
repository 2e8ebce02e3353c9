/* devicex report: offline browsing of chunked case data.
 * Evidence values only ever reach the page as text (textContent / text nodes);
 * links are only made from relative paths the report generator wrote. */
"use strict";
(function () {
  const DVX = (window.DVX = { chunks: {}, add(name, index, rows) { (this.chunks[name] = this.chunks[name] || [])[index - 1] = rows; } });
  const META = window.DVX_CASE || { chunks: {}, totals: {}, columns: {} };

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = String(v);
      else if (k === "href" || k === "src") { const safe = safeUrl(v); if (safe) node.setAttribute(k, safe); }
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, String(v));
    }
    for (const c of children) if (c !== null && c !== undefined && c !== "") node.append(c instanceof Node ? c : String(c));
    return node;
  }
  // Only relative links to the report's own files or the exported copies: no scheme, no "//".
  function safeUrl(v) { const s = String(v); return /^(\.\.\/|thumbs\/|[a-z-]+\.html)[^:\\]*$/.test(s) && !s.includes("//") ? s : ""; }
  function cols(name) { const m = {}; (META.columns[name] || []).forEach((c, i) => { m[c] = i; }); return m; }
  function fmtSize(n) { if (n === null || n === undefined) return ""; return Number(n).toLocaleString("en"); }
  function status(text) { const s = document.getElementById("status"); if (s) s.textContent = text; }

  function load(name) {
    const total = (META.chunks || {})[name] || 0;
    return new Promise((resolve, reject) => {
      let i = 0;
      const next = () => {
        if (i >= total) { const parts = DVX.chunks[name] || []; resolve([].concat(...parts)); return; }
        i += 1;
        status(`Loading ${name} ${i} / ${total}…`);
        const s = document.createElement("script");
        s.src = `data/${name}-${String(i).padStart(4, "0")}.js`;
        s.onload = next;
        s.onerror = () => reject(new Error(`cannot load ${s.src}`));
        document.head.appendChild(s);
      };
      next();
    });
  }

  function cmp(a, b) {
    if (a === b) return 0;
    if (a === null || a === undefined || a === "") return 1;
    if (b === null || b === undefined || b === "") return -1;
    if (typeof a === "number" && typeof b === "number") return a - b;
    const x = String(a).toLowerCase(), y = String(b).toLowerCase();
    return x < y ? -1 : x > y ? 1 : 0;
  }

  /* A sortable, paged table over an array of rows (only one page is in the DOM). */
  function pagedTable(host, columns, opts) {
    const size = (opts && opts.pageSize) || 100;
    let rows = [], page = 0, sortCol = -1, dir = 1;
    const info = el("span", { class: "info" });
    const pageInput = el("input", { type: "number", min: "1", value: "1", class: "page-no", "aria-label": "page number" });
    const prev = el("button", { type: "button", class: "prev", text: "‹ Previous" });
    const next = el("button", { type: "button", class: "next", text: "Next ›" });
    const pager = el("div", { class: "pager" }, prev, el("label", {}, "Page ", pageInput), next, info);
    const headRow = el("tr");
    const tbody = el("tbody");
    columns.forEach((c, i) => {
      const th = el("th", { scope: "col", tabindex: "0", text: c.label, class: "sortable", "aria-sort": "none" });
      const go = () => sortBy(i);
      th.addEventListener("click", go);
      th.addEventListener("keydown", (ev) => { if (ev.key === "Enter") go(); });
      headRow.append(th);
    });
    host.replaceChildren(pager, el("table", { class: "grid" }, el("thead", {}, headRow), tbody));
    prev.addEventListener("click", () => show(page - 1));
    next.addEventListener("click", () => show(page + 1));
    pageInput.addEventListener("change", () => show(Number(pageInput.value) - 1));
    function pages() { return Math.max(1, Math.ceil(rows.length / size)); }
    function sortRows() {
      const get = columns[sortCol].sort || columns[sortCol].value;
      rows.sort((a, b) => dir * cmp(get(a), get(b)));
    }
    function sortBy(i) {
      dir = sortCol === i ? -dir : 1;
      sortCol = i;
      sortRows();
      headRow.querySelectorAll("th").forEach((th, j) => th.setAttribute("aria-sort", j === i ? (dir > 0 ? "ascending" : "descending") : "none"));
      show(0);
    }
    function show(p) {
      page = Math.min(Math.max(0, p || 0), pages() - 1);
      const frag = document.createDocumentFragment();
      for (const row of rows.slice(page * size, page * size + size)) {
        const tr = el("tr");
        if (opts && opts.onRow) { tr.tabIndex = 0; tr.addEventListener("click", () => opts.onRow(row, tr)); }
        for (const c of columns) {
          const v = c.cell ? c.cell(row) : c.value(row);
          tr.append(el("td", { class: c.cls }, v === null || v === undefined ? "" : v));
        }
        frag.append(tr);
      }
      tbody.replaceChildren(frag);
      pageInput.value = String(page + 1);
      pageInput.max = String(pages());
      prev.disabled = page === 0;
      next.disabled = page >= pages() - 1;
      info.textContent = `${rows.length.toLocaleString("en")} rows · page ${page + 1} of ${pages()}`;
    }
    return { set(r) { rows = r; if (sortCol >= 0) sortRows(); show(0); }, show, get rows() { return rows; } };
  }

  function onFilter(ids, fn) {
    let timer = 0;
    const run = () => { clearTimeout(timer); timer = setTimeout(fn, 120); };
    for (const id of ids) { const n = document.getElementById(id); if (n) { n.addEventListener("input", run); n.addEventListener("change", run); } }
    const form = document.getElementById("filters");
    if (form) { form.addEventListener("submit", (ev) => ev.preventDefault()); form.addEventListener("reset", () => setTimeout(fn, 0)); }
  }
  function val(id) { const n = document.getElementById(id); return n ? (n.type === "checkbox" ? n.checked : n.value.trim()) : ""; }
  function terms(q) { return q.toLowerCase().split(/\s+/).filter(Boolean); }
  function matchAll(ts, hay) { for (const t of ts) if (!hay.includes(t)) return false; return true; }
  function inRange(t, from, to) { if (!from && !to) return true; if (!t) return false; const d = t.slice(0, 10); return (!from || d >= from) && (!to || d <= to); }
  function openLink(href, text) { return href ? el("a", { href, target: "_blank", rel: "noopener noreferrer", text }) : el("span", { class: "muted", text: "not linked" }); }
  function fillSelect(id, values) { const s = document.getElementById(id); if (!s) return; [...new Set(values)].filter((v) => v !== null && v !== "").sort().forEach((v) => s.append(el("option", { value: v, text: v }))); }
  function failed(err) { status(`Could not load data: ${err.message}`); document.body.dataset.ready = "error"; }

  /* ----------------------------------------------------------- file browser */
  function filesPage() {
    const F = cols("files");
    let prefix = "";
    const detail = document.getElementById("detail");
    const table = pagedTable(document.getElementById("files-table"), [
      { label: "Name", value: (r) => r[F.name], cls: "name" },
      { label: "Path", value: (r) => r[F.path], cls: "path" },
      { label: "Size", value: (r) => r[F.size], cell: (r) => fmtSize(r[F.size]), cls: "num" },
      { label: "Modified (UTC)", value: (r) => r[F.mtime], cls: "time" },
      { label: "Type", value: (r) => r[F.mime] },
      { label: "Category", value: (r) => r[F.category] },
      { label: "State", value: (r) => r[F.alloc] },
      { label: "Mismatch", value: (r) => (r[F.mismatch] ? "yes" : "") },
    ], { onRow: showDetail });
    function showDetail(r) {
      const dl = el("dl");
      const add = (k, v) => { if (v !== null && v !== undefined && v !== "") dl.append(el("dt", { text: k }), el("dd", { text: v })); };
      [["Path", F.path], ["Kind", F.kind], ["Allocation", F.alloc], ["Size (bytes)", F.size], ["Modified", F.mtime], ["Accessed", F.atime],
        ["Changed", F.ctime], ["Born", F.crtime], ["Type (content)", F.mime], ["Description", F.magic], ["Category", F.category],
        ["Extension", F.ext], ["Read status", F.status], ["MD5", F.md5], ["SHA-1", F.sha1], ["SHA-256", F.sha256],
        ["Address (inode)", F.address], ["Exported as", F.export], ["devicex file id", F.id]].forEach(([k, i]) => add(k, r[i]));
      if (r[F.mismatch]) add("Extension mismatch", "yes: the name's extension does not fit the content");
      if (r[F.recovered]) add("Recovered", "deleted, content read");
      const parts = [el("h2", { text: r[F.name] || r[F.path] }), dl, el("p", {}, openLink(r[F.href], "Open exported file"))];
      parts.push(markFile(r[F.id], r[F.path]));
      if (r[F.thumb]) parts.splice(1, 0, el("img", { src: r[F.thumb], alt: "", class: "detail-thumb" }));
      detail.replaceChildren(...parts);
    }
    function apply() {
      const ts = terms(val("q")), cat = val("f-category"), alloc = val("f-alloc"), mm = val("f-mismatch"), only = val("f-files");
      const from = val("f-from"), to = val("f-to");
      const out = [];
      for (const r of all) {
        if (prefix && !(r[F.path] + "/").startsWith(prefix)) continue;
        if (cat && r[F.category] !== cat) continue;
        if (alloc && r[F.alloc] !== alloc) continue;
        if (mm && !r[F.mismatch]) continue;
        if (only && (r[F.kind] === "dir" || r[F.kind] === "virtual-dir")) continue;
        if ((from || to) && ![r[F.mtime], r[F.atime], r[F.ctime], r[F.crtime]].some((t) => inRange(t, from, to))) continue;
        if (ts.length && !matchAll(ts, `${r[F.path]}\n${r[F.mime] || ""}\n${r[F.category] || ""}\n${r[F.md5] || ""}\n${r[F.sha1] || ""}\n${r[F.sha256] || ""}`.toLowerCase())) continue;
        out.push(r);
      }
      table.set(out);
      status(`${out.length.toLocaleString("en")} of ${all.length.toLocaleString("en")} entries${prefix ? ` under ${prefix}` : ""}`);
    }
    function buildTree() {
      const root = { name: "", full: "", kids: new Map(), n: 0 };
      for (const r of all) {
        const segs = String(r[F.path]).split("/");
        let node = root;
        for (let i = 0; i < segs.length - 1; i++) {
          let k = node.kids.get(segs[i]);
          if (!k) { k = { name: segs[i], full: `${node.full}${segs[i]}/`, kids: new Map(), n: 0 }; node.kids.set(segs[i], k); }
          k.n += 1;
          node = k;
        }
      }
      const host = document.getElementById("tree");
      const allBtn = el("button", { type: "button", class: "tree-all", text: "All folders" });
      allBtn.addEventListener("click", () => { prefix = ""; apply(); });
      host.replaceChildren(allBtn, branch(root));
    }
    function branch(node) {
      const ul = el("ul");
      for (const k of [...node.kids.values()].sort((a, b) => cmp(a.name, b.name))) {
        const li = el("li");
        const toggle = el("button", { type: "button", class: "twisty", "aria-expanded": "false", "aria-label": "expand", text: k.kids.size ? "▸" : "·" });
        const pick = el("button", { type: "button", class: "folder", title: k.full }, k.name || "(empty name)", el("span", { class: "count", text: ` ${k.n}` }));
        pick.addEventListener("click", () => { prefix = k.full; apply(); });
        toggle.addEventListener("click", () => {
          const open = toggle.getAttribute("aria-expanded") === "true";
          if (open) { li.querySelector(":scope > ul")?.remove(); } else if (k.kids.size) { li.append(branch(k)); }
          toggle.setAttribute("aria-expanded", String(!open));
          toggle.textContent = k.kids.size ? (open ? "▸" : "▾") : "·";
        });
        li.append(toggle, pick);
        ul.append(li);
      }
      return ul;
    }
    let all = [];
    load("files").then((rows) => {
      all = rows;
      fillSelect("f-category", rows.map((r) => r[F.category]));
      fillSelect("f-alloc", rows.map((r) => r[F.alloc]));
      buildTree();
      onFilter(["q", "f-category", "f-alloc", "f-mismatch", "f-files", "f-from", "f-to"], apply);
      apply();
      const want = /^#file=(\d+)$/.exec(location.hash);
      if (want) { const r = rows.find((x) => x[F.id] === Number(want[1])); if (r) showDetail(r); }
      document.body.dataset.ready = "1";
    }, failed);
  }

  /* ----------------------------------------------------------- other pages */
  function simplePage(name, columns, hay, extra, after, loaded) {
    const table = pagedTable(document.getElementById(`${name}-view`), columns, {});
    let apply = () => {};
    load(name).then((rows) => {
      if (loaded) loaded(rows);
      apply = () => {
        const ts = terms(val("q"));
        const out = rows.filter((r) => (!extra || extra(r)) && (!ts.length || matchAll(ts, hay(r).toLowerCase())));
        table.set(out);
        if (after) after();
        status(`${out.length.toLocaleString("en")} of ${rows.length.toLocaleString("en")} rows`);
      };
      onFilter(["q", "f-source", "t-from", "t-to"], apply);
      if (name === "timeline") fillSelect("f-source", rows.map((r) => r[cols("timeline").source]));
      apply();
      document.body.dataset.ready = "1";
    }, failed);
    return () => apply();
  }
  function markFile(id, path) { return window.DVX_TAGS ? window.DVX_TAGS.widget(`file:${Number(id)}`, path) : ""; }
  function fileLink(id, text) { return el("a", { href: `files.html#file=${Number(id)}`, text }); }

  function galleryPage() {
    const G = cols("gallery");
    const host = document.getElementById("gallery-view");
    const size = 60;
    let rows = [], page = 0;
    const grid = el("div", { class: "gallery" });
    const info = el("span", { class: "info" });
    const prev = el("button", { type: "button", class: "prev", text: "‹ Previous" });
    const next = el("button", { type: "button", class: "next", text: "Next ›" });
    host.replaceChildren(el("div", { class: "pager" }, prev, next, info), grid);
    prev.addEventListener("click", () => show(page - 1));
    next.addEventListener("click", () => show(page + 1));
    function show(p) {
      const pages = Math.max(1, Math.ceil(rows.length / size));
      page = Math.min(Math.max(0, p), pages - 1);
      grid.replaceChildren(...rows.slice(page * size, page * size + size).map((r) => {
        const name = String(r[G.path]).split("/").pop();
        const pic = r[G.thumb] ? el("img", { src: r[G.thumb], alt: name, loading: "lazy" }) : el("div", { class: "nothumb", text: "no preview" });
        const link = r[G.href] ? el("a", { href: r[G.href], target: "_blank", rel: "noopener noreferrer" }, pic) : pic;
        return el("figure", {}, link, el("figcaption", {}, el("span", { class: "name", text: name }), el("br"),
          el("span", { class: "muted", text: [r[G.taken], r[G.camera], r[G.lat] !== null ? "GPS" : ""].filter(Boolean).join(" · ") }), el("br"),
          fileLink(r[G.file_id], "details"), markFile(r[G.file_id], r[G.path])));
      }));
      prev.disabled = page === 0; next.disabled = page >= pages - 1;
      info.textContent = `${rows.length.toLocaleString("en")} pictures · page ${page + 1} of ${pages}`;
    }
    load("gallery").then((all) => {
      const apply = () => {
        const ts = terms(val("q")), gps = val("f-gps");
        rows = all.filter((r) => (!gps || r[G.lat] !== null) && (!ts.length || matchAll(ts, `${r[G.path]}\n${r[G.camera]}\n${r[G.taken]}`.toLowerCase())));
        show(0);
        status(`${rows.length.toLocaleString("en")} of ${all.length.toLocaleString("en")} pictures`);
      };
      onFilter(["q", "f-gps"], apply);
      apply();
      document.body.dataset.ready = "1";
    }, failed);
  }

  /* ------------------------------------------------------------ timeline */
  function timelinePage() {
    const T = cols("timeline");
    const A = window.DVX_ACTIVITY;
    let chartSel = null, chart = null;
    const keep = (r) => {
      if (val("f-source") && r[T.source] !== val("f-source")) return false;
      if (!inRange(r[T.time], val("t-from"), val("t-to"))) return false;
      if (!chartSel || chartSel.view === "day") return true;
      const t = r[T.time];
      if (!t) return false;
      const at = A.partsIn(t, chartSel.zone);  // in the zone the chart showed
      const v = chartSel.view === "hour" ? at.hour : at.weekday;
      return v >= chartSel.from && v <= chartSel.to;
    };
    const setInput = (id, v) => { const n = document.getElementById(id); if (n) { n.value = v; n.dispatchEvent(new Event("change")); } };
    const form = document.getElementById("filters");
    if (form) form.addEventListener("reset", () => { chartSel = null; if (chart) chart.clear(); });
    load("activity").then((parts) => {
      const host = document.getElementById("activity");
      if (host && parts[0] && A) {
        chart = A.panel(host, parts[0], (sel) => {
          chartSel = sel;
          if (sel && sel.view === "day") { setInput("t-from", sel.fromText); setInput("t-to", sel.toText); }
          else { setInput("t-from", ""); setInput("t-to", ""); }
        });
        document.body.dataset.chart = "1";
      }
      simplePage("timeline", [
        { label: "Time (UTC)", value: (r) => r[T.time], cls: "time" }, { label: "m a c b", value: (r) => r[T.macb], cls: "mono" },
        { label: "Meaning", value: (r) => r[T.description] }, { label: "Source", value: (r) => r[T.source] },
        { label: "Path", value: (r) => r[T.path], cell: (r) => fileLink(r[T.file_id], r[T.path]), cls: "path" },
      ], (r) => `${r[T.path]}\n${r[T.description]}`, keep, () => { if (chart && (!chartSel || chartSel.view === "day")) chart.showDays(val("t-from"), val("t-to")); });
    }, failed);
  }
  function summaryPage() {
    const host = document.getElementById("activity-small");
    if (!host || !window.DVX_ACTIVITY) { document.body.dataset.ready = "1"; return; }
    load("activity").then((parts) => {
      if (parts[0]) window.DVX_ACTIVITY.chart(host, parts[0], { small: true });
      document.body.dataset.ready = "1";
    }, failed);
  }

  /* -------------------------------------------------------------- places */
  function placesPage() {
    const P = cols("places");
    let picked = null;
    const panel = document.getElementById("picked");
    let rows = [];
    const apply = simplePage("places", [
      { label: "Path", value: (r) => r[P.path], cell: (r) => fileLink(r[P.file_id], r[P.path]), cls: "path" },
      { label: "Nearest place", value: (r) => r[P.place] },
      { label: "Latitude", value: (r) => r[P.lat], cls: "num" }, { label: "Longitude", value: (r) => r[P.lon], cls: "num" },
      { label: "Altitude (m)", value: (r) => r[P.alt], cls: "num" }, { label: "Time", value: (r) => r[P.time] },
      { label: "Camera", value: (r) => r[P.camera] }, { label: "File", value: (r) => r[P.href], cell: (r) => openLink(r[P.href], "open") },
      { label: "Mark", value: () => "", cell: (r) => markFile(r[P.file_id], r[P.path]) },
    ], (r) => `${r[P.path]}\n${r[P.camera]}\n${r[P.time]}\n${r[P.place]}`, (r) => !picked || picked.has(r[P.file_id]), null, (all) => { rows = all; });
    function show(g) {
      document.querySelectorAll("svg.map .cluster.on").forEach((n) => n.classList.remove("on"));
      if (!g) { picked = null; if (panel) panel.replaceChildren(); apply(); return; }
      g.classList.add("on");
      picked = new Set(String(g.dataset.ids).split(",").map(Number));
      const mine = rows.filter((r) => picked.has(r[P.file_id]));
      const clear = el("button", { type: "button", class: "unpick", text: "Show all places" });
      clear.addEventListener("click", () => show(null));
      const figs = mine.slice(0, 60).map((r) => {
        const name = String(r[P.path]).split("/").pop();
        const pic = r[P.thumb] ? el("img", { src: r[P.thumb], alt: name, loading: "lazy" }) : el("div", { class: "nothumb", text: "no preview" });
        return el("figure", {}, r[P.href] ? el("a", { href: r[P.href], target: "_blank", rel: "noopener noreferrer" }, pic) : pic,
          el("figcaption", {}, el("span", { class: "name", text: name }), el("br"), el("span", { class: "muted", text: [r[P.time], r[P.place]].filter(Boolean).join(" · ") }), el("br"), fileLink(r[P.file_id], "details")));
      });
      panel.replaceChildren(el("h2", { text: g.getAttribute("aria-label") }), clear,
        el("div", { class: "gallery" }, ...figs), mine.length > 60 ? el("p", { class: "muted", text: `first 60 of ${mine.length}; all are listed below` }) : "");
      apply();
    }
    document.querySelectorAll("svg.map .cluster").forEach((g) => {
      g.addEventListener("click", () => show(g));
      g.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); show(g); } });
    });
  }

  const pagesByName = {
    files: filesPage,
    gallery: galleryPage,
    timeline: timelinePage,
    index: summaryPage,
    places: placesPage,
    mismatch: () => { const M = cols("mismatch"); simplePage("mismatch", [
      { label: "Path", value: (r) => r[M.path], cell: (r) => fileLink(r[M.file_id], r[M.path]), cls: "path" },
      { label: "Extension", value: (r) => r[M.ext] }, { label: "Content type", value: (r) => r[M.mime] },
      { label: "Description", value: (r) => r[M.magic] }, { label: "Size", value: (r) => r[M.size], cell: (r) => fmtSize(r[M.size]), cls: "num" },
      { label: "File", value: (r) => r[M.href], cell: (r) => openLink(r[M.href], "open") },
    ], (r) => `${r[M.path]}\n${r[M.mime]}\n${r[M.ext]}`); },
    problems: () => { const P = cols("problems"); simplePage("problems", [
      { label: "Severity", value: (r) => r[P.severity] }, { label: "Stage", value: (r) => r[P.stage] },
      { label: "Volume", value: (r) => r[P.volume] },
      { label: "Path", value: (r) => r[P.path], cell: (r) => (r[P.file_id] ? fileLink(r[P.file_id], r[P.path] || "(file)") : r[P.path]), cls: "path" },
      { label: "Message", value: (r) => r[P.message] },
    ], (r) => `${r[P.path]}\n${r[P.message]}\n${r[P.stage]}`); },
  };

  document.addEventListener("DOMContentLoaded", () => {
    const page = document.body.dataset.page;
    const start = pagesByName[page];
    if (start) start(); else document.body.dataset.ready = "1";
  });
  window.DVX_UI = { load, pagedTable, el };
})();
