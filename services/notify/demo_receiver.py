"""A stand-in for the police and lead-office systems in local runs (``make run``).

    python -m services.notify.demo_receiver --port 8009 --recipients deploy/notify/recipients.json

Serves ``POST /<recipient id>``: checks the signature with that recipient's secret, prints the notice,
answers 200, or 401 when the signature is wrong, 404 for an unknown recipient. Standard library only,
so it runs wherever Python does.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


def load_secrets(path: Path) -> dict[str, tuple[str, str]]:
    """Recipient id -> (name, secret), from the same file notify reads."""
    document = json.loads(path.read_text(encoding="utf-8"))
    return {r["id"]: (r.get("name", r["id"]), r["secret"]) for r in document["recipients"]}


def expected_signature(secret: str, timestamp: str, body: bytes) -> str:
    # Deliberately independent of notify's own code: this is how a receiver would check it.
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def make_handler(secrets: dict[str, tuple[str, str]]) -> type[BaseHTTPRequestHandler]:
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
            name, secret = secrets[recipient_id]
            timestamp = self.headers.get("X-Cluetrail-Timestamp", "")
            signature = self.headers.get("X-Cluetrail-Signature", "")
            if not hmac.compare_digest(expected_signature(secret, timestamp, body), signature):
                print(f"[{name}] refused a notice with a bad signature", file=sys.stderr, flush=True)
                self._answer(401, {"error": "bad signature"})
                return
            delivery = self.headers.get("X-Cluetrail-Delivery", "?")
            try:
                text = json.loads(body).get("text", "")
            except (json.JSONDecodeError, AttributeError):
                text = body.decode(errors="replace")
            print(f"[{name}] delivery {delivery}: {text}", flush=True)
            self._answer(200, {"ok": True, "delivery": delivery})

        def log_message(self, *args: Any) -> None:
            pass  # one line per notice is printed above; access logs would only repeat it

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Receive and print cluetrail notices (demo receiver).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8009)
    parser.add_argument("--recipients", type=Path, default=Path("deploy/notify/recipients.json"))
    args = parser.parse_args(argv)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(load_secrets(args.recipients)))
    print(f"demo receiver listening on http://{args.host}:{args.port}/<recipient id>", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
