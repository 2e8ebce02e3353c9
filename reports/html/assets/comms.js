/* devicex report: conversations, calls, contacts and web history.
 * Evidence values reach the page only as text (textContent / text nodes); links are made only
 * from relative paths the report generator wrote (checked again by DVX_UI.el). */
"use strict";
(function () {
  const META = window.DVX_COMMS || { chunks: {}, totals: {}, columns: {} };
  const TEXT_LIMIT = 4000; // characters shown before "Show all"
  const PAGE = 200; // messages per transcript page
  const loaded = {};

  function ui() { return window.DVX_UI; }
  function el(...a) { return ui().el(...a); }
  function cols(name) { const m = {}; (META.columns[name] || []).forEach((c, i) => { m[c] = i; }); return m; }
  function status(t) { const s = document.getElementById("status"); if (s) s.textContent = t; }
  function val(id) { const n = document.getElementById(id); return n ? (n.type === "checkbox" ? n.checked : n.value.trim()) : ""; }
  function terms(q) { return q.toLowerCase().split(/\s+/).filter(Boolean); }
  function matchAll(ts, hay) { for (const t of ts) if (!hay.includes(t)) return false; return true; }

  /* chunk i of a data set (1-based), loaded once */
  function chunk(name, i) {
    const key = `${name}-${i}`;
    if (!loaded[key]) {
      loaded[key] = new Promise((resolve, reject) => {
        const s = document.createElement("script");
        s.src = `data/${name}-${String(i).padStart(4, "0")}.js`;
        s.onload = () => resolve(((window.DVX.chunks[name] || [])[i - 1]) || []);
        s.onerror = () => reject(new Error(`cannot load ${s.src}`));
        document.head.appendChild(s);
      });
    }
    return loaded[key];
  }
  async function range(name, from, to) {
    const out = [];
    for (let i = from; i <= to; i++) { status(`Loading ${name} ${i - from + 1} / ${to - from + 1}…`); out.push(...(await chunk(name, i))); }
    return out;
  }
  function all(name) { return range(name, 1, (META.chunks || {})[name] || 0); }

  /* times: UTC text as stored, or shown in the chosen zone with the UTC value kept in the title */
  function when(iso) {
    if (!iso) return el("span", { class: "muted", text: "time unknown" });
    const zone = val("f-zone") || "UTC";
    const utc = String(iso).replace("T", " ").replace("Z", " UTC");
    if (zone === "UTC") return el("time", { datetime: iso, text: utc });
    let shown = utc;
    try {
      shown = new Intl.DateTimeFormat("en-GB", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
        minute: "2-digit", second: "2-digit", timeZoneName: "short" }).format(new Date(iso));
    } catch (e) { shown = utc; }
    return el("time", { datetime: iso, title: utc, text: `${shown} (${zone})` });
  }
  function isolate(text, cls) { return el("bdi", { class: cls, text }); } // right-to-left overrides stay inside
  function personLinks(id) {
    const q = encodeURIComponent(id);
    return el("span", { class: "person-links" }, " (",
      el("a", { href: `conversations.html#person=${q}`, text: "messages" }), " · ",
      el("a", { href: `calls.html#person=${q}`, text: "calls" }), " · ",
      el("a", { href: `contacts.html#person=${q}`, text: "contact" }), ")");
  }
  function wanted() { const m = /^#person=(.+)$/.exec(location.hash); return m ? decodeURIComponent(m[1]) : ""; }
  function showPerson(id) {
    const p = document.getElementById("person");
    if (!p) return;
    if (!id) { p.hidden = true; return; }
    p.hidden = false;
    p.replaceChildren("Showing ", isolate(id, "mono"), " only", personLinks(id), " · ", el("a", { href: location.pathname.split("/").pop(), text: "show all" }));
  }
  function source(fileId, text) { return el("a", { class: "source", href: `files.html#file=${Number(fileId)}`, text }); }
  function filterFor(ids, fn) {
    let timer = 0;
    const go = () => { clearTimeout(timer); timer = setTimeout(fn, 150); };
    for (const id of ids) { const n = document.getElementById(id); if (n) { n.addEventListener("input", go); n.addEventListener("change", go); } }
    const form = document.getElementById("filters");
    if (form) { form.addEventListener("submit", (e) => e.preventDefault()); form.addEventListener("reset", () => setTimeout(fn, 0)); }
    window.addEventListener("hashchange", fn);
  }

  /* ----------------------------------------------------------- conversations */
  function conversationsPage() {
    const T = cols("threads"), M = cols("messages");
    const host = document.getElementById("transcript");
    let threads = [], texts = null, openId = null;
    const table = ui().pagedTable(document.getElementById("threads-table"), [
      { label: "App", value: (r) => r[T.app] },
      { label: "Conversation", value: (r) => r[T.label], cell: (r) => isolate(r[T.label] || "(no name)", "") },
      { label: "Participants", value: (r) => (r[T.participant_ids] || []).join(", "), cell: (r) => isolate((r[T.participants] || []).join(", "), "") },
      { label: "Messages", value: (r) => r[T.count], cls: "num" },
      { label: "First (UTC)", value: (r) => r[T.first], cell: (r) => when(r[T.first]), cls: "time" },
      { label: "Last (UTC)", value: (r) => r[T.last], cell: (r) => when(r[T.last]), cls: "time" },
      { label: "Deleted / recovered", value: (r) => r[T.deleted], cls: "num" },
    ], { onRow: (r) => { location.hash = `thread=${r[T.thread]}`; } });

    async function apply() {
      const person = wanted(), ts = terms(val("q"));
      showPerson(person);
      let hits = null;
      if (val("f-text") && ts.length) {
        if (!texts) texts = await all("messages");
        hits = new Set();
        for (const m of texts) if (matchAll(ts, (m[M.body] || []).join("\n").toLowerCase())) hits.add(m[M.thread]);
      }
      const out = threads.filter((r) => (!person || (r[T.participant_ids] || []).includes(person))
        && (!ts.length || matchAll(ts, `${r[T.app]}\n${r[T.label]}\n${(r[T.participants] || []).join(" ")}\n${(r[T.participant_ids] || []).join(" ")}`.toLowerCase())
          || (hits && hits.has(r[T.thread]))));
      table.set(out);
      status(`${out.length.toLocaleString("en")} of ${threads.length.toLocaleString("en")} conversations`);
      const m = /^#thread=(\d+)$/.exec(location.hash);
      if (m && Number(m[1]) !== openId) { openId = Number(m[1]); openThread(threads.find((r) => r[T.thread] === openId)); }
      document.body.dataset.comms = "ready";
    }

    async function openThread(t) {
      if (!t) return;
      const rows = (await range("messages", t[T.chunk_from], t[T.chunk_to])).filter((m) => m[M.thread] === t[T.thread]);
      let page = 0;
      const pages = Math.max(1, Math.ceil(rows.length / PAGE));
      const list = el("ol", { class: "bubbles" });
      const info = el("span", { class: "info" });
      const prev = el("button", { type: "button", class: "prev", text: "‹ Earlier" });
      const next = el("button", { type: "button", class: "next", text: "Later ›" });
      const who = el("p", { class: "who" });
      (t[T.participant_ids] || []).forEach((id, i) => { who.append(i ? ", " : "With ", isolate((t[T.participants] || [])[i] || id, ""), " ", isolate(id, "mono muted"), personLinks(id)); });
      const dup = t[T.duplicates] ? el("p", { class: "muted", text: `${t[T.duplicates]} messages also found in another copy of the database are shown once.` }) : "";
      host.replaceChildren(el("h2", {}, isolate(t[T.label] || "(no name)", ""), ` · ${t[T.app]}`), who, dup,
        el("div", { class: "pager" }, prev, next, info), list);
      prev.addEventListener("click", () => show(page - 1));
      next.addEventListener("click", () => show(page + 1));
      function show(p) {
        page = Math.min(Math.max(0, p), pages - 1);
        list.replaceChildren(...rows.slice(page * PAGE, page * PAGE + PAGE).map(bubble));
        prev.disabled = page === 0; next.disabled = page >= pages - 1;
        info.textContent = `${rows.length.toLocaleString("en")} messages · page ${page + 1} of ${pages}`;
      }
      show(0);
      status(`${rows.length.toLocaleString("en")} messages in this conversation`);
      host.scrollIntoView({ block: "start" });
      document.body.dataset.transcript = String(t[T.thread]);
    }

    function bubble(m) {
      const out = m[M.direction] === "outgoing";
      const cls = ["bubble", out ? "sent" : m[M.direction] === "incoming" ? "received" : "unknown"];
      if (m[M.deleted]) cls.push("deleted");
      const head = el("div", { class: "meta" });
      if (!out) {
        const name = m[M.sender_name] || m[M.sender] || m[M.sender_id] || "unknown sender";
        head.append(isolate(name, "sender"));
        if (m[M.sender_id]) head.append(" ", isolate(m[M.sender_id], "mono muted"), personLinks(m[M.sender_id]));
        head.append(" · ");
      } else head.append(el("span", { class: "sender", text: "sent" }), " · ");
      head.append(when(m[M.time]));
      if (m[M.service]) head.append(` · ${m[M.service]}`);
      const body = el("div", { class: "text" });
      const text = Array.isArray(m[M.body]) ? m[M.body].join("\n") : ""; // lines, bidi/control characters escaped
      if (m[M.subject]) body.append(el("strong", { text: String(m[M.subject]) }), el("br"));
      if (text.length > TEXT_LIMIT) {
        const part = el("span", { text: text.slice(0, TEXT_LIMIT) });
        const more = el("button", { type: "button", class: "more", text: `Show all ${text.length.toLocaleString("en")} characters` });
        more.addEventListener("click", () => { part.textContent = text; more.remove(); });
        body.append(part, "… ", more);
      } else body.append(text);
      const parts = [head];
      if (m[M.deleted]) parts.push(el("div", { class: "flag", text: `Deleted/recovered: ${m[M.deleted]}` }));
      parts.push(body);
      for (const a of m[M.attachments] || []) {
        const [name, mime, size, href, image, device] = a;
        const label = `${name || device || "attachment"}${mime ? ` (${mime})` : ""}${size ? `, ${Number(size).toLocaleString("en")} bytes` : ""}`;
        if (href && image) parts.push(el("figure", { class: "attachment" }, el("a", { href, target: "_blank", rel: "noopener noreferrer" }, el("img", { src: href, alt: String(name || "attachment"), loading: "lazy" })), el("figcaption", { text: label })));
        else if (href) parts.push(el("p", { class: "attachment" }, el("a", { href, target: "_blank", rel: "noopener noreferrer", text: label })));
        else parts.push(el("p", { class: "attachment muted", text: `${label}: not in this extraction` }));
      }
      const foot = el("div", { class: "prov" }, source(m[M.file_id], m[M.source]));
      if ((m[M.also_in] || []).length) foot.append(el("span", { class: "muted", text: ` · also in ${m[M.also_in].join("; ")}` }));
      parts.push(foot);
      const marks = markCell(m[M.id]);
      if (marks) parts.push(marks);
      return el("li", { class: cls.join(" ") }, ...parts);
    }

    all("threads").then((rows) => {
      threads = rows;
      filterFor(["q", "f-text"], apply);
      filterFor(["f-zone"], () => { openId = null; apply(); }); // times shown again in the new zone
      apply();
    }, (e) => { status(`Could not load data: ${e.message}`); document.body.dataset.comms = "error"; });
  }

  /* ----------------------------------------------------------- tables */
  function tablePage(name, columns, ids, hay) {
    const table = ui().pagedTable(document.getElementById(`${name}-view`), columns, {});
    all(name).then((rows) => {
      const apply = () => {
        const person = wanted(), ts = terms(val("q"));
        showPerson(person);
        const out = rows.filter((r) => (!person || ids(r).includes(person)) && (!ts.length || matchAll(ts, hay(r).toLowerCase())));
        table.set(out);
        status(`${out.length.toLocaleString("en")} of ${rows.length.toLocaleString("en")} rows`);
        document.body.dataset.comms = "ready";
      };
      filterFor(["q", "f-zone"], apply);
      apply();
    }, (e) => { status(`Could not load data: ${e.message}`); document.body.dataset.comms = "error"; });
  }
  function personCell(raw, id) {
    if (!raw && !id) return "";
    const span = el("span", {}, isolate(raw || id, ""));
    if (id) span.append(" ", isolate(id, "mono muted"), personLinks(id));
    return span;
  }
  function markCell(id) { return window.DVX_TAGS && id ? window.DVX_TAGS.widget(`record:${Number(id)}`, "") : ""; }
  function markColumn(X) { return { label: "Mark", value: () => "", cell: (r) => markCell(r[X.id]) }; }
  function flag(v) { return v ? el("span", { class: "flag", text: String(v) }) : ""; }

  const starts = {
    conversations: conversationsPage,
    calls: () => { const C = cols("calls"); tablePage("calls", [
      { label: "Time", value: (r) => r[C.time], cell: (r) => when(r[C.time]), cls: "time" },
      { label: "Direction", value: (r) => r[C.direction] }, { label: "Type", value: (r) => r[C.type] },
      { label: "Number", value: (r) => r[C.number_id] || r[C.number], cell: (r) => personCell(r[C.number], r[C.number_id]) },
      { label: "Name", value: (r) => r[C.name], cell: (r) => isolate(r[C.name] || "", "") },
      { label: "Duration (s)", value: (r) => r[C.duration], cls: "num" }, { label: "App", value: (r) => r[C.app] },
      { label: "Deleted", value: (r) => r[C.deleted], cell: (r) => flag(r[C.deleted]) },
      { label: "Source", value: (r) => r[C.source], cell: (r) => source(r[C.file_id], r[C.source]) }, markColumn(C),
    ], (r) => [r[C.number_id]].filter(Boolean), (r) => `${r[C.number]}\n${r[C.number_id]}\n${r[C.name]}\n${r[C.app]}\n${r[C.direction]}`); },
    contacts: () => { const K = cols("contacts"); tablePage("contacts", [
      { label: "Name", value: (r) => r[K.name], cell: (r) => isolate(r[K.name] || "(no name)", "") },
      { label: "Numbers", value: (r) => (r[K.number_ids] || []).join(", "), cell: (r) => el("span", {}, ...(r[K.number_ids] || []).map((id, i) => el("span", {}, i ? ", " : "", isolate(id, "mono"), personLinks(id)))) },
      { label: "As stored", value: (r) => (r[K.numbers] || []).join(", "), cell: (r) => isolate((r[K.numbers] || []).join(", "), "") },
      { label: "E-mail", value: (r) => (r[K.emails] || []).join(", "), cell: (r) => el("span", {}, ...(r[K.emails] || []).map((id, i) => el("span", {}, i ? ", " : "", isolate(id, "mono"), personLinks(id)))) },
      { label: "Account", value: (r) => r[K.account] }, { label: "App", value: (r) => r[K.app] },
      { label: "Deleted", value: (r) => r[K.deleted], cell: (r) => flag(r[K.deleted]) },
      { label: "Source", value: (r) => r[K.source], cell: (r) => source(r[K.file_id], r[K.source]) }, markColumn(K),
    ], (r) => [...(r[K.number_ids] || []), ...(r[K.emails] || [])], (r) => `${r[K.name]}\n${(r[K.numbers] || []).join(" ")}\n${(r[K.number_ids] || []).join(" ")}\n${(r[K.emails] || []).join(" ")}\n${r[K.account]}`); },
    web: () => { const W = cols("web"); tablePage("web", [
      { label: "Time", value: (r) => r[W.time], cell: (r) => when(r[W.time]), cls: "time" },
      { label: "App", value: (r) => r[W.app] }, { label: "Kind", value: (r) => r[W.kind] },
      { label: "URL", value: (r) => r[W.url], cell: (r) => isolate(r[W.url] || "", "url") },
      { label: "Title / saved as", value: (r) => r[W.title], cell: (r) => isolate(r[W.title] || "", "") },
      { label: "Detail", value: (r) => r[W.detail] },
      { label: "Synced from another device", value: (r) => (r[W.synced] ? "yes" : "") },
      { label: "Deleted", value: (r) => r[W.deleted], cell: (r) => flag(r[W.deleted]) },
      { label: "Source", value: (r) => r[W.source], cell: (r) => source(r[W.file_id], r[W.source]) }, markColumn(W),
    ], () => [], (r) => `${r[W.url]}\n${r[W.title]}\n${r[W.app]}`); },
  };

  document.addEventListener("DOMContentLoaded", () => {
    const start = starts[document.body.dataset.page];
    if (start && window.DVX_UI) start();
  });
})();
