"""Which instants an as-of projection may show: one within the case log, from its first event to now.

An instant before the first event was recorded would be an empty projection, which says nothing an audit
can use and still costs a replay of the whole log; an instant that has not passed would show a log still
being written, so the projection would not stay as it was built.
"""

from __future__ import annotations

from datetime import datetime

from cluetrail.errors import InvalidInput

AS_OF_WITHIN_LOG = "reporting.as-of-within-log"


def check_as_of(instant: datetime, *, now: datetime, log_began: datetime | None) -> None:
    """Refuse (``InvalidInput``, rule ``reporting.as-of-within-log``) an ``instant`` that has not passed by
    ``now``, or that lies before ``log_began``, the recorded_at of the case log's first event (None: the log
    holds no event yet)."""
    shown = instant.isoformat()
    if instant > now:
        raise InvalidInput(
            f"as_of {shown} has not passed yet: the log up to it is still being written "
            f"(rule {AS_OF_WITHIN_LOG}: an as-of projection shows the case log from its first event to now)",
            rule=AS_OF_WITHIN_LOG,
        )
    if log_began is None:
        raise InvalidInput(
            f"as_of {shown}: the case log holds no event yet, so no instant can be shown "
            f"(rule {AS_OF_WITHIN_LOG}: an as-of projection shows the case log from its first event to now)",
            rule=AS_OF_WITHIN_LOG,
        )
    if instant < log_began:
        raise InvalidInput(
            f"as_of {shown} is before the case log began (its first event was recorded at "
            f"{log_began.isoformat()}) (rule {AS_OF_WITHIN_LOG}: an as-of projection shows the case log "
            "from its first event to now)",
            rule=AS_OF_WITHIN_LOG,
        )
