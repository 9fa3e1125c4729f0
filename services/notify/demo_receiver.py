"""A stand-in for the police and lead-office systems in local runs (``make run``).

    python -m services.notify.demo_receiver --port 8009 --recipients deploy/notify/recipients.json

Serves ``POST /<recipient id>``: checks the Standard Webhooks signature with that recipient's secrets
(and that it was signed within 5 minutes), prints the notice, answers 200, or 401 when the signature is
wrong or old, 404 for an unknown recipient. ``POST /sms-gateway``
plays the SMS gateway the same way with the gateway's secret. With ``--smtp-port`` (default 8025, the
port notify mails to by default) and aiosmtpd installed (a dev dependency), it also takes notify's mail
and prints each message; otherwise only the standard library is used.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import hmac
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

# notify's default CLUETRAIL_NOTIFY_SMS_GATEWAY_SECRET (a demo value, refused in production).
DEMO_SMS_GATEWAY_SECRET = "whsec_ZGVtby1vbmx5LXNtcy1nYXRld2F5LTBkNWUyZjcx"
TOLERANCE_SECONDS = 300


def load_secrets(path: Path, sms_secret: str = DEMO_SMS_GATEWAY_SECRET) -> dict[str, tuple[str, list[str]]]:
    """Recipient id -> (name, secrets), from the same file notify reads, plus the SMS gateway."""
    document = json.loads(path.read_text(encoding="utf-8"))
    secrets = {
        r["id"]: (r.get("name", r["id"]), r["secrets"] if "secrets" in r else [r["secret"]])
        for r in document["recipients"]
    }
    secrets["sms-gateway"] = ("短信网关", [sms_secret])
    return secrets


def verified(secrets: list[str], headers: Any, body: bytes) -> bool:
    """Standard Webhooks, as any receiver would check it (deliberately independent of notify's own code):
    a timestamp within 5 minutes, and a v1 signature made with one of the secrets."""
    message_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    if not message_id or not timestamp.isdigit() or abs(time.time() - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    signed = f"{message_id}.{timestamp}.".encode() + body
    expected = [
        hmac.new(base64.b64decode(s.removeprefix("whsec_")), signed, hashlib.sha256).digest() for s in secrets
    ]
    for signature in headers.get("webhook-signature", "").split():
        version, _, value = signature.partition(",")
        try:
            given = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            continue
        if version == "v1" and any(hmac.compare_digest(given, e) for e in expected):
            return True
    return False


def make_handler(secrets: dict[str, tuple[str, list[str]]]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            recipient_id = self.path.strip("/")
            if recipient_id not in secrets:
                self._answer(404, {"error": f"unknown recipient {recipient_id}"})
                return
            name, known = secrets[recipient_id]
            if not verified(known, self.headers, body):
                print(f"[{name}] refused a notice with a bad or old signature", file=sys.stderr, flush=True)
                self._answer(401, {"error": "bad or old signature"})
                return
            delivery = self.headers.get("webhook-id", "?")
            try:
                notice = json.loads(body)
                text = notice.get("text", "")
                if recipient_id == "sms-gateway":
                    text = f"to {notice.get('to')}: {text}"
            except (json.JSONDecodeError, AttributeError):
                text = body.decode(errors="replace")
            print(f"[{name}] delivery {delivery}: {text}", flush=True)
            self._answer(200, {"ok": True, "delivery": delivery})

        def log_message(self, *args: Any) -> None:
            pass  # one line per notice is printed above; access logs would only repeat it

    return Handler


def start_mail_receiver(host: str, port: int) -> Any:
    """An SMTP server printing each mail notify sends, or None when aiosmtpd is not installed."""
    try:
        from aiosmtpd.controller import Controller
    except ImportError:
        print("aiosmtpd is not installed: no demo mail receiver", file=sys.stderr, flush=True)
        return None
    from email import message_from_bytes
    from email.policy import default as default_policy

    class Printer:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            mail = message_from_bytes(envelope.content, policy=default_policy)
            body = mail.get_body(preferencelist=("plain",))
            text = body.get_content() if body is not None else ""
            print(f"[mail to {mail['To']}] {mail['Subject']}\n{text}", flush=True)
            return "250 Message accepted for delivery"

    controller = Controller(Printer(), hostname=host, port=port)
    controller.start()
    print(f"demo mail receiver listening on smtp://{host}:{port}", flush=True)
    return controller


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Receive and print cluetrail notices (demo receiver).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8009)
    parser.add_argument("--recipients", type=Path, default=Path("deploy/notify/recipients.json"))
    parser.add_argument("--sms-secret", default=DEMO_SMS_GATEWAY_SECRET)
    parser.add_argument("--smtp-port", type=int, default=8025, help="0: no mail receiver")
    args = parser.parse_args(argv)
    mail = start_mail_receiver(args.host, args.smtp_port) if args.smtp_port else None
    secrets = load_secrets(args.recipients, args.sms_secret)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(secrets))
    print(f"demo receiver listening on http://{args.host}:{args.port}/<recipient id>", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if mail is not None:
            mail.stop()


if __name__ == "__main__":
    main()
