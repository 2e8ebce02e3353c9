"""The per-entry walk of an extraction (every view but a disk image read in one pass): each entry named,
selected, processed (on the runner, or here for a streamed archive member) and stored, in walk order; then
the attachments the taken messages need."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import parsers
from devicex.entries import BytesContent, ContentReader, Entry
from devicex.exportpath import ExportNamer
from devicex.sources.base import Layout
from pipelines import attachments, store
from pipelines.exportfile import remove_staging
from pipelines.parallel import ProcessRunner, ThreadRunner, find_sibling, make_runner
from pipelines.plan import Plan
from pipelines.process import WorkerSettings, process
from pipelines.runstate import ExtractOptions, Run
from pipelines.select import Decision
from pipelines.streamed import StreamedSiblings


def known_sparse(entry: Entry) -> bool:
    # NTFS $BadClus:$Bad is declared as big as the volume but is sparse (TSK reads 0 bytes).
    return entry.fs_type == "ntfs" and entry.path == "/$BadClus" and entry.stream == "$Bad"


def worker_settings(opts: ExtractOptions) -> WorkerSettings:
    return WorkerSettings(opts.out / "data", opts.export and not opts.dry_run, opts.parse and not opts.dry_run,
                          opts.selector, known_sparse, find_sibling, opts.region)


class Namer:
    """Export names, assigned for every entry in walk order (export paths do not depend on the scope)."""

    def __init__(self) -> None:
        self.namer = ExportNamer()

    def name(self, entry: Entry) -> str | None:
        if entry.kind in ("dir", "virtual-dir"):
            self.namer.assign_dir(entry.volume, entry.path)
        elif entry.has_content:
            return "files/" + self.namer.assign_file(entry.volume, entry.path, entry.stream)
        return None


def walk(run: Run, layout: Layout, vol_ids: dict[str, int], plan: Plan) -> store.ResultWriter:
    """Walk every file system; each entry is named, selected, processed and stored in walk order."""
    opts = run.opts
    settings = worker_settings(opts)
    assert run.source_id is not None  # recorded by _intake
    writer = store.ResultWriter(run.db, run.run_id, run.source_id, run.summary, run.reporter, opts.selector)
    run.reporter.stage("extract")  # totals (for the ETA) are shown once the counting process has them
    remove_staging(settings.data_dir)
    runner = make_runner(max(1, opts.workers), run.src.path, settings)
    if isinstance(runner, ProcessRunner):
        runner.waiting = writer.beside
    taker = _Taker(run, settings, runner, writer)
    walked = 0
    views = []
    try:
        for fs in layout.filesystems:
            writer.fs_id = run.db.insert("filesystems", {
                "volume_id": vol_ids[fs.volume.label], "label": fs.label, "offset": fs.offset,
                "fs_type": fs.fs_type, "block_size": fs.block_size, "block_count": fs.block_count,
                "forced": int(fs.forced)})
            views.append((writer.fs_id, fs))
            run.summary.filesystems += 1
            taker.view(fs.streamed)
            for entry, reader in fs.entries(run.src.label):
                walked += 1
                if walked % 256 == 1 and plan.ready():
                    run.reporter.totals(*plan.totals())
                if entry is None:
                    writer.walk_problem(fs.label, str(reader))
                else:
                    taker.take(entry, reader, fs.streamed)
            taker.end_view()
        take_attachments(run, writer, views, settings)
    finally:
        plan.stop()
        runner.close()
        taker.view(False)
        remove_staging(settings.data_dir)
        run.summary.media_bytes_read += runner.media_bytes_read + plan.media_bytes_read
    writer.finish(parsers.registry())
    return writer


def take_attachments(run: Run, writer: store.ResultWriter, views: list[tuple[int, Any]],
                      settings: WorkerSettings) -> None:
    """The attachments (and databases read beside a message store) the messages a communications selection took
    need, found once every entry was walked."""
    if writer.attachments or writer.databases:  # what the messages a communications selection took need
        writer.attachments_taken = attachments.take(
            views, run.src.label, attachments.wanted(writer), run.opts.selector, writer,
            lambda e, r, rel, d: process(e, r, run.db.next_file_id(), rel, settings, d))


class _Taker:
    """One walked entry at a time: its export name, the selector's decision on metadata, then processing
    (on the runner, or here for a streamed member too big to hand over) and storing, in walk order."""

    def __init__(self, run: Run, settings: WorkerSettings, runner: ThreadRunner | ProcessRunner,
                 writer: store.ResultWriter) -> None:
        self.run, self.settings, self.runner, self.writer = run, settings, runner, writer
        self.namer = Namer()
        self.streamed: StreamedSiblings | None = None  # a streamed view's siblings (see pipelines.streamed)
        self.deferred: list[tuple[Entry, ContentReader | None, int, str | None, Decision | None]] = []

    def view(self, streamed: bool) -> None:
        """A new view begins (or, streamed False, the walk ends): a streamed view gets a sibling index."""
        if self.streamed is not None:
            self.streamed.close()
        self.streamed, self.deferred = None, []
        if streamed:
            self.streamed = StreamedSiblings()

    def take(self, entry: Entry, reader: ContentReader | None, streamed: bool) -> None:
        decision = self.run.opts.selector.decide(entry)
        export_rel = self.namer.name(entry)  # for every entry: export paths do not depend on the scope
        included = decision is None or decision.include
        defer = False
        if self.streamed is not None:
            reader, defer = self.streamed.take(entry, reader, included)
        if not included:
            assert decision is not None
            self.writer.exclude(entry, decision)
            return
        file_id = self.run.db.next_file_id()
        if defer:  # wanted by a parser by path: processed once its siblings have passed
            self.deferred.append((entry, reader, file_id, export_rel, decision))
            return
        if streamed and reader is not None and not isinstance(reader, BytesContent):
            # a streamed member too big to carry: read here, now, after everything before it
            self.drain()
            self.writer.write(process(entry, reader, file_id, export_rel, self.settings, decision))
            return
        for result in self.runner.submit(entry, reader, file_id, export_rel, decision):
            self.writer.write(result)

    def drain(self) -> None:
        for result in self.runner.drain():
            self.writer.write(result)

    def end_view(self) -> None:
        """The view's walk has ended: what is due, then the entries kept for their siblings (here, in walk order)."""
        self.drain()
        if self.streamed is None:
            return
        settings = replace(self.settings, siblings=self.streamed.find)
        for entry, reader, file_id, export_rel, decision in self.deferred:
            self.writer.write(process(entry, reader, file_id, export_rel, settings, decision))
        self.deferred = []
