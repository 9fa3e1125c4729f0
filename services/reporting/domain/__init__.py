"""Pure rules of reporting, no I/O: how case events fold into the ledger (动态管理台账, ``ledger``), how a
handoff between regions reads in this region (``handoffs``), the tables offices keep and send (``tables``),
which table a reader may see and how a submitted month is corrected (``reports``, ``submissions``), which
instants an as-of projection may show (``as_of``), notices in a timeline (``notices``), the annex forms as
files (``exports``), the hash-stamped timeline file (``timeline``) and the audit of the case log
(``audit``)."""
