"""Pure rules of reporting: how case events fold into the ledger (动态管理台账), no I/O."""

from services.reporting.domain.ledger import (
    UNGRADED,
    ChainBroken,
    LedgerState,
    Step,
    chain_step,
    fold,
    grade_changes,
)

__all__ = ["UNGRADED", "ChainBroken", "LedgerState", "Step", "chain_step", "fold", "grade_changes"]
