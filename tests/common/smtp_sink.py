"""An SMTP server for the email tests (tests/common/smtp.rs): aiosmtpd on
127.0.0.1:PORT that writes each email it takes to FOLDER as JSON (headers,
the decoded text and HTML parts, the envelope's recipients), then answers.

    python3 smtp_sink.py PORT FOLDER [starttls|smtps CERT KEY]

With `starttls` the server offers STARTTLS and requires it before MAIL; with
`smtps` it speaks TLS from the first byte; each with that certificate.

Control files in FOLDER, read on every email:
- `delay`: seconds to wait after writing the email and before answering 250
  (a node killed meanwhile never hears that the email was taken);
Recipients starting with `reject` are refused for good (550).
Prints "ready" once it listens; stops on SIGTERM or when stdin closes.
"""

import asyncio
import email
import email.policy
import json
import os
import signal
import ssl
import sys
import threading
import time
import uuid

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, folder, implicit_tls=False):
        self.folder = folder
        # smtps: every session is TLS (aiosmtpd sets `session.ssl` for STARTTLS only).
        self.implicit_tls = implicit_tls

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().startswith("reject"):
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.original_content or envelope.content,
                                          policy=email.policy.default)
        parts = {}
        for part in parsed.walk():
            kind = part.get_content_type()
            if kind in ("text/plain", "text/html") and kind not in parts:
                parts[kind] = part.get_content()
        record = {
            "message_id": parsed.get("Message-ID"),
            "references": parsed.get("References"),
            "from": parsed.get("From"),
            "to": parsed.get("To"),
            "subject": parsed.get("Subject"),
            "rcpt_tos": list(envelope.rcpt_tos),
            "text": parts.get("text/plain"),
            "html": parts.get("text/html"),
            "multipart": parsed.get_content_type(),
            "tls": self.implicit_tls or session.ssl is not None,
        }
        name = f"{time.time_ns()}-{uuid.uuid4().hex}.json"
        tmp = os.path.join(self.folder, "." + name)
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(self.folder, name))
        delay = 0.0
        try:
            with open(os.path.join(self.folder, "delay")) as f:
                delay = float(f.read().strip() or 0)
        except (FileNotFoundError, ValueError):
            pass
        if delay > 0:
            await asyncio.sleep(delay)
        return "250 OK"


def main():
    port, folder = int(sys.argv[1]), sys.argv[2]
    options = {}
    if len(sys.argv) > 3:
        mode, cert, key = sys.argv[3:6]
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        if mode == "starttls":
            options = {"tls_context": context, "require_starttls": True}
        else:
            options = {"ssl_context": context}
    sink = Sink(folder, implicit_tls="ssl_context" in options)
    controller = Controller(sink, hostname="127.0.0.1", port=port, **options)
    controller.start()
    print("ready", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    done.wait()
    controller.stop()


if __name__ == "__main__":
    main()
