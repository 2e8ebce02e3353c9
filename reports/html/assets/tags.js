/* devicex report: investigators' marks (relevant, possibly disclosable, sensitive) on files and records.
 * Marks are kept in this browser (localStorage, per case and report) and exported as a devicex-tags JSON file
 * that `devicex tag import` brings into the case with a custody entry. The report never changes: marks are
 * only ever in the browser and in the exported file. Marks already held in the case (imported into case.db before
 * this report was written) come with the report's data and are shown apart, as "in the case": they are changed
 * only with `devicex tag remove`. Every value reaches the page as text. */
"use strict";
(function () {
  const META = window.DVX_CASE || {};
  const KEY = `devicex-tags:${META.case_ref || ""}:${META.generated || ""}`;
  const BY_KEY = "devicex-tags-by";
  const MARKS = ["relevant", "possibly-disclosable", "sensitive"];
  const LABELS = { relevant: "relevant", "possibly-disclosable": "possibly disclosable", sensitive: "sensitive" };
  const HELD = Array.isArray(META.marks) ? META.marks : [];
  let listeners = [];
  function watch(node, draw) { listeners.push({ node, draw }); draw(); }
  function changed() { listeners = listeners.filter((l) => l.node.isConnected); listeners.forEach((l) => l.draw()); }

  function el(...a) { return window.DVX_UI.el(...a); }
  function store() { try { return window.localStorage; } catch (e) { return null; } }
  function read() {
    const s = store();
    try { const v = JSON.parse((s && s.getItem(KEY)) || "[]"); return Array.isArray(v) ? v : []; } catch (e) { return []; }
  }
  function save(list) { const s = store(); if (s) s.setItem(KEY, JSON.stringify(list)); changed(); }
  function by() { const s = store(); return (s && s.getItem(BY_KEY)) || ""; }
  function setBy(v) { const s = store(); if (s) s.setItem(BY_KEY, String(v).trim()); changed(); }
  function of(item) { return read().filter((t) => t.item === item); }
  function heldOf(item) { return HELD.filter((t) => t.item === item); }
  function same(a, b) { return a.item === b.item && a.mark === b.mark && (a.note || "") === (b.note || "") && a.by === b.by && a.at === b.at; }
  function inCase(t) { return HELD.some((h) => same(h, t)); }
  function heldTitle(t) { return `in the case: ${t.note || ""} (marked by ${t.by}, ${t.at}; imported by ${t.imported_by}, ${t.imported_at}); remove with devicex tag remove`; }

  /* "" when stored, else why not */
  function mark(item, path, which, note) {
    const who = by(), text = String(note || "").trim();
    if (!who) return "Enter your name in 'Marking as' first.";
    if (!MARKS.includes(which)) return "Choose a mark.";
    if (which === "sensitive" && !text) return "A sensitive mark needs the reason as its note.";
    const list = read().filter((t) => !(t.item === item && t.mark === which));
    const tag = { item, mark: which, note: text, by: who, at: new Date().toISOString() };
    if (path) tag.path = String(path);
    list.push(tag);
    save(list);
    return "";
  }
  function unmark(item, which) { save(read().filter((t) => !(t.item === item && t.mark === which))); }

  /* the marks of one item and a form to add one; compact until opened */
  function widget(item, path) {
    const box = el("div", { class: "marks", "data-item": item });
    const chips = el("span", { class: "chips" });
    const open = el("button", { type: "button", class: "mark-open", text: "Mark…" });
    const form = el("span", { class: "mark-form", hidden: true });
    const pick = el("select", { class: "mark-pick", "aria-label": "mark" }, el("option", { value: "", text: "choose…" }),
      ...MARKS.map((m) => el("option", { value: m, text: LABELS[m] })));
    const note = el("input", { type: "text", class: "mark-note", placeholder: "note (the reason, for sensitive)", maxlength: "4000", "aria-label": "note" });
    const ok = el("button", { type: "button", class: "mark-save", text: "Save mark" });
    const err = el("span", { class: "mark-error bad", role: "alert" });
    form.append(pick, note, ok);
    box.append(chips, open, form, err);
    const held = heldOf(item).map((t) => el("span", { class: `chip chip-${t.mark} chip-held`, title: heldTitle(t) },
      el("span", { class: "held-tag", text: "in case" }), " ", LABELS[t.mark] || t.mark));
    const draw = () => {
      chips.replaceChildren(...held, ...of(item).map((t) => {
        const x = el("button", { type: "button", class: "chip-x", "aria-label": `remove ${t.mark}`, text: "×" });
        x.addEventListener("click", (ev) => { ev.stopPropagation(); unmark(item, t.mark); });
        return el("span", { class: `chip chip-${t.mark}`, title: `${t.note || ""} (${t.by}, ${t.at})` }, LABELS[t.mark] || t.mark, x);
      }));
    };
    open.addEventListener("click", (ev) => { ev.stopPropagation(); form.hidden = !form.hidden; if (!form.hidden) pick.focus(); });
    form.addEventListener("click", (ev) => ev.stopPropagation());
    ok.addEventListener("click", (ev) => {
      ev.stopPropagation();
      const problem = mark(item, path, pick.value, note.value);
      err.textContent = problem;
      if (!problem) { form.hidden = true; note.value = ""; pick.value = ""; }
    });
    watch(box, draw);
    return box;
  }

  function bar() {
    const header = document.querySelector("header.top");
    if (!header || !window.DVX_UI) return;
    const who = el("input", { type: "text", id: "mark-by", value: by(), placeholder: "your name and number", "aria-label": "marking as" });
    who.addEventListener("change", () => setBy(who.value));
    const count = el("a", { href: "marks.html", id: "mark-count" });
    const draw = () => {
      count.textContent = `Marks (${read().length})` + (HELD.length ? ` · ${HELD.length} in the case` : "");
    };
    const markbar = el("div", { class: "markbar" }, el("label", {}, "Marking as ", who), " · ", count,
      el("span", { class: "muted", text: " · marks stay in this browser until exported" }));
    header.after(markbar);
    watch(markbar, draw);
  }

  function exportFile() {
    const doc = { format: "devicex-tags", version: 1, case_ref: META.case_ref || null, tags: read() };
    const blob = new Blob([JSON.stringify(doc, null, 1) + "\n"], { type: "application/json" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    const stamp = new Date().toISOString().replace(/[-:]/g, "").slice(0, 15);
    a.download = `devicex-tags-${String(META.case_ref || "case").replace(/[^A-Za-z0-9._-]+/g, "_")}-${stamp}Z.json`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  }

  function itemLink(item) {
    return /^file:\d+$/.test(item) ? el("a", { href: `files.html#file=${Number(item.slice(5))}`, text: item }) : item;
  }
  function grid(id, headers, body) {
    return el("table", { class: "grid", id }, el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", { scope: "col", text: h })))), body);
  }

  /* the marks held in case.db: fixed, shown apart from the marks in this browser */
  function heldSection() {
    const head = el("h2", { text: `Marks held in the case (${HELD.length})` });
    const why = el("p", { class: "muted", text: "Imported into case.db before this report was written. They are not in the export below; take one back with: devicex tag remove CASE ITEM --reason WHY." });
    if (!HELD.length) return el("section", { id: "marks-held-section" }, head, el("p", { class: "muted", text: "None: no mark had been imported into the case when this report was written." }));
    const body = el("tbody", {}, ...HELD.map((t) => el("tr", { class: `held held-${t.mark}` }, el("td", {}, itemLink(t.item)),
      el("td", { class: "path", text: t.path || "" }), el("td", {}, el("span", { class: `chip chip-${t.mark} chip-held`, text: LABELS[t.mark] || t.mark })),
      el("td", { text: t.note }), el("td", { text: t.by }), el("td", { class: "time", text: t.at }),
      el("td", { text: `${t.imported_by}, ${t.imported_at}` }))));
    return el("section", { id: "marks-held-section" }, head, why,
      grid("marks-held", ["Item", "Path", "Mark", "Note", "By", "At (UTC)", "Imported (UTC)"], body));
  }

  function marksPage() {
    const host = document.getElementById("marks-view");
    if (!host) return;
    const exp = el("button", { type: "button", id: "marks-export", text: "Export marks (devicex-tags JSON)" });
    exp.addEventListener("click", exportFile);
    const body = el("tbody");
    const head = el("h2");
    const table = grid("marks-browser", ["Item", "Path", "Mark", "Note", "By", "At (UTC)", "", ""], body);
    const draw = () => {
      const list = read();
      head.textContent = `Marks made in this browser, not yet imported (${list.length})`;
      body.replaceChildren(...list.map((t) => {
        const x = el("button", { type: "button", class: "unmark", text: "Remove" });
        x.addEventListener("click", () => unmark(t.item, t.mark));
        return el("tr", { class: "pending" }, el("td", {}, itemLink(t.item)), el("td", { class: "path", text: t.path || "" }), el("td", { text: LABELS[t.mark] || t.mark }),
          el("td", { text: t.note }), el("td", { text: t.by }), el("td", { class: "time", text: t.at }),
          el("td", { class: "muted", text: inCase(t) ? "already in the case" : "" }), el("td", {}, x));
      }));
      exp.disabled = !list.length;
      const s = document.getElementById("status");
      if (s) s.textContent = `${list.length} marks in this browser, ${HELD.length} held in the case`;
    };
    host.replaceChildren(heldSection(), el("section", { id: "marks-browser-section" }, head, exp, table));
    watch(host, draw);
    document.body.dataset.ready = "1";
  }

  window.addEventListener("storage", (ev) => { if (ev.key === KEY || ev.key === BY_KEY) changed(); });
  document.addEventListener("DOMContentLoaded", () => {
    bar();
    if (document.body.dataset.page === "marks") marksPage();
  });
  window.DVX_TAGS = { widget, read, exportFile };
})();
