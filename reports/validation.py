"""The validation record as one printable HTML page (no script, no network; every value escaped)."""
from __future__ import annotations

from html import escape
from typing import Any

_CSS = """body{font:11pt/1.4 system-ui,sans-serif;margin:2em;color:#111}table{border-collapse:collapse;margin:.5em 0 1.5em;
width:100%}th,td{border:1px solid #999;padding:.2em .4em;text-align:left;vertical-align:top;font-size:10pt}
th{background:#eee}.pass{color:#060;font-weight:bold}.fail{color:#a00;font-weight:bold}.not-tested{color:#850}
code,.mono{font-family:ui-monospace,monospace;font-size:9pt;word-break:break-all}h2{page-break-after:avoid}
@media print{body{margin:0}a{color:inherit}}"""


def _e(value: object) -> str:
    return escape("" if value is None else str(value))


def _table(headers: list[str], rows: list[list[object]], mono: tuple[int, ...] = ()) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td{' class=mono' if i in mono else ''}>{_e(c)}</td>" for i, c in enumerate(r))
                   + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _status(value: str) -> str:
    return f'<span class="{_e(value)}">{_e(value.upper())}</span>'


def render(record: dict[str, Any]) -> str:
    env = record["environment"]
    parts = [(f"<!doctype html><html lang=en><head><meta charset=utf-8><title>devicex validation record</title>"
             f"<meta http-equiv=Content-Security-Policy content=\"default-src 'none'; style-src 'unsafe-inline'\">"
             f"<style>{_CSS}</style></head><body>"),
             f"<h1>devicex validation record: {_status(record['result'])}</h1>",
             ("<p>devicex was run over reference data whose truth was made by independent tools. For each "
             "requirement below: what was tested, the truth it was compared with and who made that truth, how many "
             "values were compared and agreed, the acceptance criterion and the result. Every disagreement is "
             "listed; differences where the truth tool itself is wrong are listed separately with the raw bytes "
             "that show it.</p>"),
             "<h2>Environment</h2>", _table(["item", "value"], [[k, v] for k, v in env.items()]),
             "<h2>Examiner</h2>", _table(["item", "value"], [[k, v] for k, v in record["examiner"].items()]),
             "<h2>Summary</h2>",
             _table(["requirement", "truth made by", "compared", "agreed", "disagreed", "truth-tool faults",
                     "known limitation", "images", "acceptance criterion", "result"],
                    [[s["title"], s["made_by"], s["compared"], s["agreed"], s["disagreed"], s["truth_tool_faults"],
                      s.get("known_limitation", 0), s["images"], s["criterion"], s["status"].upper()]
                     for s in record["summary"]]),
             "<h2>Reference data</h2>",
             _table(["dataset", "layout", "path", "media", "file systems"],
                    [[d["name"], d["layout"], d["path"], d["media"], d["filesystems"]] for d in record["datasets"]]),
             _table(["media", "read", "file systems in truth", "note"],
                    [[c["media"], "yes" if c["read"] else "no", c["filesystems"], c["note"]]
                     for c in record["coverage"]]),
             "<h2>Known limitations</h2><ul>" + "".join(f"<li>{_e(x)}</li>" for x in record["limitations"]) + "</ul>"]
    for req in record["requirements"]:
        parts.append(f"<h2>{_e(req['title'])}: {_status(req['status'])}</h2>")
        parts.append(_table(["", ""], [["test", req["test"]], ["truth", req["truth"]],
                                       ["truth made by", req["made_by"]],
                                       ["acceptance criterion", req["criterion"]],
                                       ["compared / agreed / disagreed", (f"{req['compared']} / {req['agreed']} / "
                                                                         f"{req['disagreed']}")],
                                       ["truth-tool faults", req["truth_tool_faults"]],
                                       ["known limitation", req.get("known_limitation", 0)], ["note", req["note"]]]))
        if req["disagreements"]:
            parts.append(f"<h3>Disagreements ({req['disagreed']})</h3>")
            parts.append(_table(["image", "item", "devicex", "truth", "note"],
                                [[d["image"], d["item"], d["devicex"], d["truth"], d["note"]]
                                 for d in req["disagreements"]], mono=(2, 3)))
        if req.get("known_limitation_list"):
            parts.append(f"<h3>Known limitation ({req['known_limitation']}, devicex's value is wrong as stated under "
                         "Known limitations; not counted as agreed)</h3>")
            parts.append(_table(["image", "item", "devicex", "truth", "note"],
                                [[d["image"], d["item"], d["devicex"], d["truth"], d["note"]]
                                 for d in req["known_limitation_list"]], mono=(2, 3)))
        if req["truth_tool_fault_list"]:
            parts.append(f"<h3>Truth-tool faults ({req['truth_tool_faults']}, not counted as devicex failures)</h3>")
            parts.append(_table(["image", "item", "devicex", "truth", "why the truth is wrong", "evidence (raw bytes)"],
                                [[f["image"], f["item"], f["devicex"], f["truth"], "; ".join(f["reasons"]),
                                  f["evidence"]] for f in req["truth_tool_fault_list"]], mono=(5,)))
    parts.append("</body></html>\n")
    return "".join(parts)
