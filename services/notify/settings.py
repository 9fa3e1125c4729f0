"""Settings of the notify service (environment, prefix ``CLUETRAIL_``), with documented defaults."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pydantic import Field, model_validator

from cluetrail.settings import ServiceSettings
from services.notify.domain.recipients import WebhookSecret, plain_http
from services.notify.domain.signing import is_demo_secret, secret_of

# The SMS gateway's secret of the demo (demo_receiver checks it); production refuses it.
DEMO_SMS_GATEWAY_SECRET = secret_of(b"demo-only-sms-gateway-0d5e2f71")
# The demo routing in the repository (not in an installed package): the default on a developer's machine only;
# every other environment names its own file, which holds its recipients' webhook secrets.
DEFAULT_RECIPIENTS_FILE = Path(__file__).resolve().parents[2] / "deploy" / "notify" / "recipients.json"


class NotifySettings(ServiceSettings):
    """Where the recipients are configured and how hard to try to reach them."""

    port: int = Field(8004, validation_alias="CLUETRAIL_NOTIFY_PORT")
    # notify's bodies are an acknowledgement token or a resend's selection, a few hundred bytes: anything
    # near the shared default (1 MiB) is not one of them, and the ack routes need no login.
    max_body_bytes: int = Field(
        16 * 1024,
        ge=1024,
        description="Largest request body notify reads; a larger one is refused with 413",
    )
    recipients_file: Path = Field(
        DEFAULT_RECIPIENTS_FILE,
        validation_alias="CLUETRAIL_NOTIFY_RECIPIENTS_FILE",
        description="JSON file of webhook recipients and their routes (required outside local)",
    )
    retry_base_seconds: float = Field(
        1.0,
        gt=0,
        validation_alias="CLUETRAIL_NOTIFY_RETRY_BASE_SECONDS",
        description="Backoff before the 2nd attempt is drawn from [0, base]; it doubles per attempt",
    )
    retry_max_seconds: float = Field(
        300.0,
        gt=0,
        validation_alias="CLUETRAIL_NOTIFY_RETRY_MAX_SECONDS",
        description="Upper bound of any one backoff (a receiver back from an outage waits at most this)",
    )
    retry_window_hours: float = Field(
        24.0,
        gt=0,
        validation_alias="CLUETRAIL_NOTIFY_RETRY_WINDOW_HOURS",
        description="A delivery failing this long after its first failed attempt is dead and dead-lettered",
    )
    max_attempts: int = Field(
        1000,
        ge=1,
        le=100_000,
        validation_alias="CLUETRAIL_NOTIFY_MAX_ATTEMPTS",
        description="Attempts after which a delivery is dead even inside the retry window",
    )
    send_timeout_seconds: float = Field(
        10.0,
        gt=0,
        validation_alias="CLUETRAIL_NOTIFY_SEND_TIMEOUT_SECONDS",
        description="Timeout of one webhook POST",
    )
    poll_seconds: float = Field(
        2.0,
        gt=0,
        validation_alias="CLUETRAIL_NOTIFY_POLL_SECONDS",
        description="Fallback polling interval when no wake-up arrives",
    )
    senders: int = Field(
        4,
        ge=1,
        le=64,
        validation_alias="CLUETRAIL_NOTIFY_SENDERS",
        description="Deliveries sent concurrently by one instance",
    )

    templates_dir: Path | None = Field(
        None,
        validation_alias="CLUETRAIL_NOTIFY_TEMPLATES_DIR",
        description="Folder of notice templates (<kind>.j2); default: the bundled Chinese templates",
    )
    smtp_host: str | None = Field(
        "127.0.0.1",
        validation_alias="CLUETRAIL_NOTIFY_SMTP_HOST",
        description="SMTP relay for e-mail notices; empty disables e-mail (such deliveries retry, then die)",
    )
    smtp_port: int = Field(8025, ge=1, le=65535, validation_alias="CLUETRAIL_NOTIFY_SMTP_PORT")
    smtp_sender: str = Field(
        "cluetrail-notify@example.gov.cn", validation_alias="CLUETRAIL_NOTIFY_SMTP_SENDER"
    )
    smtp_username: str | None = Field(None, validation_alias="CLUETRAIL_NOTIFY_SMTP_USERNAME")
    smtp_password: str | None = Field(None, validation_alias="CLUETRAIL_NOTIFY_SMTP_PASSWORD")
    smtp_start_tls: bool = Field(False, validation_alias="CLUETRAIL_NOTIFY_SMTP_START_TLS")
    sms_gateway_url: str | None = Field(
        "http://127.0.0.1:8009/sms-gateway",
        validation_alias="CLUETRAIL_NOTIFY_SMS_GATEWAY_URL",
        description="Webhook of the SMS gateway; it receives {to, text} signed like a webhook",
    )
    sms_gateway_secret: WebhookSecret = Field(
        DEMO_SMS_GATEWAY_SECRET,
        validation_alias="CLUETRAIL_NOTIFY_SMS_GATEWAY_SECRET",
        description="whsec_ and the base64 of 24 to 64 random bytes (cluetrail notify new-secret)",
    )

    public_url: str | None = Field(
        None,
        validation_alias="CLUETRAIL_NOTIFY_PUBLIC_URL",
        description="Base URL recipients reach notify at (acknowledgement links); default http://host:port",
    )
    reporting_lead_days: int = Field(
        5,
        ge=0,
        le=27,
        validation_alias="CLUETRAIL_NOTIFY_REPORTING_LEAD_DAYS",
        description="Days before its monthly due day (reporting calendar) an office is reminded",
    )
    key_case_lead_days: int = Field(
        30,
        ge=0,
        le=365,
        validation_alias="CLUETRAIL_NOTIFY_KEY_CASE_LEAD_DAYS",
        description="Days before a key case's 2/3/5-year limit its recipients are reminded",
    )
    ack_token_days: float = Field(
        30.0,
        gt=0,
        le=366,
        validation_alias="CLUETRAIL_NOTIFY_ACK_TOKEN_DAYS",
        description="How long an acknowledgement link works after its notice was written (or resent)",
    )
    ack_timeout_hours: float = Field(
        24.0,
        gt=0,
        validation_alias="CLUETRAIL_NOTIFY_ACK_TIMEOUT_HOURS",
        description="A key-case notice unacknowledged this long goes to the next level",
    )
    scheduler_poll_seconds: float = Field(
        60.0,
        gt=0,
        validation_alias="CLUETRAIL_NOTIFY_SCHEDULER_POLL_SECONDS",
        description="How often the reminder scheduler looks at the clock",
    )
    deliver_from: str = Field(
        "log-end",
        validation_alias="CLUETRAIL_NOTIFY_DELIVER_FROM",
        description="Where a new notify database starts telling anyone: log-end (events already on the "
        "case topic at its first start are history: folded, recorded as skipped, sent to nobody), "
        "log-start (everything is delivered), or an ISO-8601 instant (events recorded before it are "
        "history, on every start)",
    )
    clock_offset_seconds: float = Field(
        0.0,
        validation_alias="CLUETRAIL_NOTIFY_CLOCK_OFFSET_SECONDS",
        description="Shift of the scheduler's clock, for trying reminders out (refused in production)",
    )

    @property
    def deliver_after(self) -> datetime | None:
        """The instant of ``deliver_from`` when it names one (None for log-end and log-start)."""
        if self.deliver_from in ("log-end", "log-start"):
            return None
        return datetime.fromisoformat(self.deliver_from)

    @property
    def attempt_lease_seconds(self) -> float:
        """How long a claimed delivery is its sender's alone: longer than a send can take (connect, write
        and read, each within the send timeout) with a margin. A sender silent past it is presumed dead
        and the delivery is sent again."""
        return 3 * self.send_timeout_seconds + 5

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @model_validator(mode="after")
    def _bounds_in_order(self) -> NotifySettings:
        if self.retry_max_seconds < self.retry_base_seconds:
            raise ValueError("CLUETRAIL_NOTIFY_RETRY_MAX_SECONDS is smaller than RETRY_BASE_SECONDS")
        if self.deliver_from not in ("log-end", "log-start"):
            try:
                instant = datetime.fromisoformat(self.deliver_from)
            except ValueError:
                instant = None
            if instant is None or instant.tzinfo is None:
                raise ValueError(
                    "CLUETRAIL_NOTIFY_DELIVER_FROM must be log-end, log-start or an ISO-8601 instant with "
                    f"its offset (e.g. 2026-03-01T00:00:00+08:00), not {self.deliver_from!r}"
                )
        if self.environment == "production" and self.clock_offset_seconds:
            raise ValueError("CLUETRAIL_NOTIFY_CLOCK_OFFSET_SECONDS must be 0 in production")
        if self.environment == "production" and is_demo_secret(self.sms_gateway_secret):
            raise ValueError("CLUETRAIL_NOTIFY_SMS_GATEWAY_SECRET is still the demo secret in production")
        if self.environment != "local" and self.sms_gateway_url and plain_http(self.sms_gateway_url):
            raise ValueError(
                f"CLUETRAIL_NOTIFY_SMS_GATEWAY_URL {self.sms_gateway_url} is plain http://; in the "
                f"{self.environment} environment it must be https:// (http:// only to this machine's "
                "loopback)"
            )
        if self.environment != "local" and "recipients_file" not in self.model_fields_set:
            raise ValueError(
                f"CLUETRAIL_NOTIFY_RECIPIENTS_FILE is not set: in the {self.environment} environment notify "
                "needs the operator's routing file (the repository's demo routing holds demo secrets)"
            )
        return self
