/* devicex report: investigators' marks (relevant, possibly disclosable, sensitive) on files and records.
 * Marks are kept in this browser (localStorage, per case and report) and exported as a devicex-tags JSON file
 * that `devicex tag import` brings into the case with a custody entry. The report never changes: marks are
 * only ever in the browser and in the exported file. Every value reaches the page as text. */
"use strict";
(function () {
  const META = window.DVX_CASE || {};
  const KEY = `devicex-tags:${META.case_ref || ""}:${META.generated || ""}`;
  const BY_KEY = "devicex-tags-by";
  const MARKS = ["relevant", "possibly-disclosable", "sensitive"];
  const LABELS = { relevant: "relevant", "possibly-disclosable": "possibly disclosable", sensitive: "sensitive" };
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
    const draw = () => {
      chips.replaceChildren(...of(item).map((t) => {
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
    const draw = () => { count.textContent = `Marks (${read().length})`; };
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

  function marksPage() {
    const host = document.getElementById("marks-view");
    if (!host) return;
    const exp = el("button", { type: "button", id: "marks-export", text: "Export marks (devicex-tags JSON)" });
    exp.addEventListener("click", exportFile);
    const body = el("tbody");
    const table = el("table", { class: "grid" }, el("thead", {}, el("tr", {}, ...["Item", "Path", "Mark", "Note", "By", "At (UTC)", ""].map((h) => el("th", { scope: "col", text: h })))), body);
    const draw = () => {
      const list = read();
      body.replaceChildren(...list.map((t) => {
        const x = el("button", { type: "button", class: "unmark", text: "Remove" });
        x.addEventListener("click", () => unmark(t.item, t.mark));
        const link = /^file:\d+$/.test(t.item) ? el("a", { href: `files.html#file=${Number(t.item.slice(5))}`, text: t.item }) : t.item;
        return el("tr", {}, el("td", {}, link), el("td", { class: "path", text: t.path || "" }), el("td", { text: LABELS[t.mark] || t.mark }),
          el("td", { text: t.note }), el("td", { text: t.by }), el("td", { class: "time", text: t.at }), el("td", {}, x));
      }));
      exp.disabled = !list.length;
      const s = document.getElementById("status");
      if (s) s.textContent = `${list.length} marks in this browser`;
    };
    host.replaceChildren(exp, table);
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
