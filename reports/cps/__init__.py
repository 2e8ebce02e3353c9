"""The CPS paperwork drafted from a finished case: the examiner's MG11 continuity statement and the reader's
guide for the Crown Prosecution Service, as editable Word files and PDFs in ``data/cps/``.

Everything stated comes from ``case.db`` and the custody log (:mod:`reports.cps.facts`); what only the
examiner can give (signature, seal numbers, receipt) is marked ``[EXAMINER TO SUPPLY: ...]`` and wording
that reads as opinion is flagged (:mod:`reports.cps.opinion`). The documents are built as a list of
blocks (:mod:`reports.cps.blocks`), written with python-docx and converted to PDF by LibreOffice headless.
This package is not a report renderer (it declares no ``FORMAT``): ``devicex cps draft`` runs it.
"""
from __future__ import annotations

CPS_DIR = "cps"
