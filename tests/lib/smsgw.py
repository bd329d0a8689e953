#!/usr/bin/env python3
"""smsgw.py - a fake SMS gateway for integration tests and benchmarks.

It listens on 127.0.0.1 only, answers like Twilio, Kannel or segmilter's
own webhook would, writes one JSON line per request to a log, and can be
told (through a faults file it re-reads while running) to misbehave.

    smsgw.py --port-file F --log FILE [--port N] [--faults FILE]
             [--twilio-sid AC.. --twilio-token T]
             [--kannel-user U --kannel-pass P] [--webhook-secret S]
             [--tls-cert C --tls-key K]

--port 0 (the default) picks a free port; the port number is written to F
once the gateway listens, so wait for F to appear.  SIGTERM or SIGINT stop
it (exit 0, F removed).  An API whose credential options are left out does
not check credentials (no --webhook-secret: signatures are not checked).
With --tls-cert/--tls-key it speaks HTTPS instead of HTTP.

Endpoints:
  POST /2010-04-01/Accounts/SID/Messages.json  Twilio.  Form fields To,
       From or MessagingServiceSid, Body[, StatusCallback]; HTTP Basic
       auth SID:TOKEN.  201 {"sid": "SM...", "status": "queued", ...}
  GET  /cgi-bin/sendsms?username=&password=&from=&to=&text=  Kannel.
       Optional coding (0, 2), charset (default UTF-8, or UTF-16BE with
       coding=2), dlr-mask, dlr-url.  202 "0: Accepted for delivery"
  POST /sms, or any other POST with Content-Type: application/json
       Webhook.  Body {"id", "to", "text"[, "campaign"]}; headers
       X-Segmilter-Timestamp: T, Idempotency-Key (= "id"), and
       X-Segmilter-Signature: sha256=hex(HMAC-SHA256(secret, T + "." + body)).
       200 {"id": "wh-N"}; a key that succeeded before gets the same answer.
  GET  /_health -> "ok";  GET /_stats -> request counts as JSON (not logged)
  Anything else: 404, logged with api "unknown".
Remember that "+" in a form or query string means a space: send %2B.

A request is answered by the first of these that applies:
  1. bad credentials or signature, then a malformed request (auth,
     bad_request); these do not use up "first" or "numbers" entries
  2. the fault rules: "first", else "numbers", else "default"
  3. the "optout" and "invalid" lists
  4. webhook only: an Idempotency-Key that succeeded before (replay)

Faults file: JSON, every key optional, no file = no faults.  It is re-read
when it changes, and the "first" and "numbers" counts start again from
zero then.  A file that does not parse, or has unknown keys, is reported on
stderr and the previous rules stay in force.
  {"first": [["500", 3], ["429", 2]],      next 3 requests: 500, then 2: 429
   "numbers": {"+15550001111": ["429", "ok", "500"]},
                                  successive requests to it; when used up: ok
   "default": "ok",               for everything else
   "optout": ["+15550002222"],    Twilio 400 code 21610, webhook 400; Kannel
                                  has no opt-out: accepted as usual (202)
   "invalid": ["+15550003333"],   Twilio 400 code 21211, webhook/Kannel 400
   "delay_ms": 0}                 added to every request
Outcomes: "ok"; "429" (Kannel answers 503); "500"; "503"; "timeout" (no
answer: hold the connection 60 s or until the client closes it); "reset"
(close the connection with a TCP RST); "stall" (accepted, as "ok", but
only the status line, the headers and half the body are sent, then
nothing: held as "timeout"); "cut" (accepted, half the body sent, then
the connection closed).

Log, one JSON object per line:
  {"t": arrival time, "api": "twilio"|"kannel"|"webhook"|"unknown",
   "to", "from", "text", "idem", "status": HTTP status (null: timeout,
   reset), "outcome", "id": message id or null, "replay": true|false,
   "extra": {the other fields: StatusCallback, coding, campaign, ...}}
The lines with outcome "ok", "stall" or "cut" are exactly the accepted
messages.
Credentials and signatures are never logged.
"""
import argparse
import base64
import binascii
import codecs
import hashlib
import hmac
import json
import os
import re
import select
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

OUTCOMES = ("ok", "429", "500", "503", "timeout", "reset", "stall", "cut")
FAULT_KEYS = ("first", "numbers", "default", "optout", "invalid", "delay_ms")
TIMEOUT_HOLD_SECONDS = 60
TWILIO_PATH = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Messages\.json$")

# Kannel accepts names Python does not know.
CHARSET_ALIASES = {"ucs-2": "utf-16-be", "ucs2": "utf-16-be"}


class Stop(Exception):
    """Raised by the SIGTERM/SIGINT handler to leave serve_forever()."""


def warn(text):
    print("smsgw: " + text, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- faults

class Faults:
    """One parsed faults file (or the empty default: no faults)."""

    def __init__(self, rules=None):
        rules = rules or {}
        self.first = []                   # one outcome per request, in order
        for outcome, count in rules.get("first", []):
            self.first += [str(outcome)] * count
        self.numbers = {number: [str(o) for o in seq]
                        for number, seq in rules.get("numbers", {}).items()}
        self.default = str(rules.get("default", "ok"))
        self.optout = set(rules.get("optout", []))
        self.invalid = set(rules.get("invalid", []))
        self.delay = rules.get("delay_ms", 0) / 1000.0


def check_faults(rules):
    """Return an error message if RULES is not a valid faults file."""
    if not isinstance(rules, dict):
        return "must be a JSON object"
    unknown = set(rules) - set(FAULT_KEYS)
    if unknown:
        return "unknown keys: " + ", ".join(sorted(unknown))
    outcomes = []
    for entry in rules.get("first", []):
        if (not isinstance(entry, list) or len(entry) != 2
                or not isinstance(entry[1], int) or entry[1] < 0):
            return '"first" entries must be [outcome, count]'
        outcomes.append(str(entry[0]))
    numbers = rules.get("numbers", {})
    if not isinstance(numbers, dict):
        return '"numbers" must be an object'
    for seq in numbers.values():
        if not isinstance(seq, list):
            return '"numbers" values must be lists of outcomes'
        outcomes += [str(o) for o in seq]
    outcomes.append(str(rules.get("default", "ok")))
    for outcome in outcomes:
        if outcome not in OUTCOMES:
            return "unknown outcome %r (use one of %s)" % (
                outcome, ", ".join(OUTCOMES))
    for key in ("optout", "invalid"):
        if not isinstance(rules.get(key, []), list):
            return '"%s" must be a list of numbers' % key
    delay = rules.get("delay_ms", 0)
    if not isinstance(delay, (int, float)) or delay < 0:
        return '"delay_ms" must be a number >= 0'
    return None


# ---------------------------------------------------------------- state

class State:
    """Everything shared between request threads, guarded by one lock."""

    def __init__(self, log_path, faults_path):
        self.lock = threading.Lock()
        self.log = open(log_path, "a", encoding="utf-8",
                        errors="backslashreplace")
        self.faults_path = faults_path
        self.faults_version = None        # (mtime, size, inode) last loaded
        self.faults = Faults()
        self.first_used = 0
        self.number_used = {}
        self.webhook_ids = {}             # Idempotency-Key -> id given out
        self.webhook_count = 0
        self.stats = {"requests": 0}

    def reload_faults(self):
        """Re-read the faults file if it changed.  Call with the lock held."""
        try:
            st = os.stat(self.faults_path)
            version = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            version = None                # no file: no faults
        if version == self.faults_version:
            return
        if version is None:
            rules = {}
        else:
            try:
                with open(self.faults_path, encoding="utf-8") as f:
                    rules = json.load(f)
            except (OSError, ValueError) as e:
                problem = str(e)
            else:
                problem = check_faults(rules)
            if problem:
                # Perhaps half written: finishing the write changes its size
                # or mtime, and it is read again then.
                warn("faults file %s: %s; keeping previous rules"
                     % (self.faults_path, problem))
                self.faults_version = version   # warn once per change
                return
        self.faults = Faults(rules)
        self.faults_version = version
        self.first_used = 0
        self.number_used = {}

    def current_faults(self):
        with self.lock:
            if self.faults_path:
                self.reload_faults()
            return self.faults

    def fault_outcome(self, to):
        """The outcome the fault rules give the next request to TO."""
        with self.lock:
            faults = self.faults
            if self.first_used < len(faults.first):
                self.first_used += 1
                return faults.first[self.first_used - 1]
            if to in faults.numbers:
                used = self.number_used.get(to, 0)
                self.number_used[to] = used + 1
                if used < len(faults.numbers[to]):
                    return faults.numbers[to][used]
                return "ok"
            return faults.default

    def webhook_accept(self, idem):
        """Return (id, replayed) for an accepted webhook message."""
        with self.lock:
            if idem in self.webhook_ids:
                return self.webhook_ids[idem], True
            self.webhook_count += 1
            msg_id = "wh-%d" % self.webhook_count
            self.webhook_ids[idem] = msg_id
            return msg_id, False

    def record(self, entry):
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self.lock:
            self.log.write(line)
            self.log.flush()
            self.stats["requests"] += 1
            outcome = entry["outcome"]
            self.stats[outcome] = self.stats.get(outcome, 0) + 1

    def stats_copy(self):
        with self.lock:
            return dict(self.stats)


# ---------------------------------------------------------------- requests

class Message:
    """What one API request asked for, in the same shape for every API."""

    def __init__(self, api):
        self.api = api
        self.to = None
        self.sender = None
        self.text = None
        self.idem = None
        self.extra = {}
        self.problem = None      # None, "auth" or "bad_request"
        self.detail = None       # for bad_request: what is wrong


def json_body(obj):
    return json.dumps(obj).encode("utf-8")


def twilio_error(status, code, message):
    return status, "application/json", json_body({
        "code": code, "message": message,
        "more_info": "https://www.twilio.com/docs/errors/%d" % code,
        "status": status})


def twilio_answer(outcome, msg, msg_id):
    if outcome == "ok":
        return 201, "application/json", json_body({
            "sid": msg_id, "status": "queued", "to": msg.to,
            "from": msg.sender, "body": msg.text,
            "messaging_service_sid": msg.extra.get("MessagingServiceSid")})
    if outcome == "auth":
        return twilio_error(401, 20003, "Authenticate")
    if outcome == "bad_request":
        code, message = msg.detail
        return twilio_error(400, code, message)
    if outcome == "optout":
        return twilio_error(400, 21610,
                            "Attempt to send to unsubscribed recipient")
    if outcome == "invalid":
        return twilio_error(400, 21211, "Invalid 'To' Phone Number")
    if outcome == "429":
        return twilio_error(429, 20429, "Too Many Requests")
    if outcome == "503":
        return twilio_error(503, 20503, "Service Unavailable")
    return twilio_error(500, 20500, "Internal Server Error")


def kannel_answer(outcome, msg, msg_id):
    texts = {
        "ok": (202, "0: Accepted for delivery"),
        "auth": (403, "Authorization failed for sendsms"),
        "bad_request": (400, msg.detail),
        "invalid": (400, "Invalid receiver number"),
        "429": (503, "Temporal failure, try again later."),
        "503": (503, "Temporal failure, try again later."),
        "500": (500, "Internal server error"),
    }
    status, text = texts[outcome]
    return status, "text/plain", text.encode("utf-8")


def webhook_answer(outcome, msg, msg_id):
    if outcome in ("ok", "replay"):
        return 200, "application/json", json_body({"id": msg_id})
    errors = {
        "auth": (401, "bad_signature"),
        "bad_request": (400, "bad_request"),
        "optout": (400, "opted_out"),
        "invalid": (400, "invalid_number"),
        "429": (429, "rate_limited"),
        "500": (500, "internal"),
        "503": (503, "unavailable"),
    }
    status, error = errors[outcome]
    body = {"error": error}
    if outcome == "bad_request":
        body["detail"] = msg.detail
    return status, "application/json", json_body(body)


ANSWERS = {"twilio": twilio_answer, "kannel": kannel_answer,
           "webhook": webhook_answer}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"          # keep-alive
    server_version = "smsgw/1"
    disable_nagle_algorithm = True         # no 40 ms delayed-ACK stalls
    timeout = 300                          # drop idle keep-alive connections

    def log_message(self, format, *args):  # stay quiet on stderr
        pass

    # ---- plumbing

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline(65537).split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n",
                                                            b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def send(self, status, content_type, body):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_cut(self, status, content_type, body, hold):
        """Accept, but send only half the body: then stall, or close."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[:len(body) // 2])
        if hold:
            self.hold_connection()
        self.close_connection = True

    def reset_connection(self):
        """Close the socket with a TCP RST instead of an answer."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                   struct.pack("ii", 1, 0))
        self.rfile.close()        # drop makefile()'s reference to the socket
        self.connection.close()
        self.close_connection = True

    def hold_connection(self):
        """Never answer: wait until the client gives up or 60 s pass."""
        deadline = time.monotonic() + TIMEOUT_HOLD_SECONDS
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            readable, _, _ = select.select([self.connection], [], [], left)
            if not readable:
                continue
            try:
                if not self.connection.recv(4096):
                    break                 # client closed its end
            except ssl.SSLWantReadError:
                continue
            except OSError:
                break
        self.close_connection = True

    # ---- routing

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def route(self, method):
        arrived = time.time()
        url = urlsplit(self.path)
        try:
            body = self.read_body()
        except ValueError:
            self.close_connection = True
            self.send(400, "text/plain", b"bad request framing")
            return
        content_type = self.headers.get("Content-Type", "")
        content_type = content_type.split(";")[0].strip().lower()

        if method == "GET" and url.path == "/_health":
            self.send(200, "text/plain", b"ok")
        elif method == "GET" and url.path == "/_stats":
            self.send(200, "application/json",
                      json_body(self.server.state.stats_copy()))
        elif method == "POST" and TWILIO_PATH.match(url.path):
            self.serve(arrived, self.parse_twilio(url, body, content_type))
        elif method == "GET" and url.path == "/cgi-bin/sendsms":
            self.serve(arrived, self.parse_kannel(url))
        elif method == "POST" and (url.path == "/sms"
                                   or content_type == "application/json"):
            self.serve(arrived, self.parse_webhook(url, body))
        else:
            self.server.state.record({
                "t": arrived, "api": "unknown", "to": None, "from": None,
                "text": None, "idem": None, "status": 404,
                "outcome": "not_found", "id": None, "replay": False,
                "extra": {"method": method, "path": url.path}})
            self.send(404, "text/plain", b"not found")

    # ---- the three APIs: turn a request into a Message

    def parse_twilio(self, url, body, content_type):
        opts = self.server.opts
        msg = Message("twilio")
        form = {}
        if content_type == "application/x-www-form-urlencoded":
            query = body.decode("utf-8", "replace")
            form = {k: v[0] for k, v in
                    parse_qs(query, keep_blank_values=True).items()}
        msg.to = form.pop("To", None)
        msg.sender = form.pop("From", None) or None
        msg.text = form.pop("Body", None)
        msg.idem = self.headers.get("I-Twilio-Idempotency-Token")
        msg.extra = form              # StatusCallback, MessagingServiceSid
        if content_type != "application/x-www-form-urlencoded":
            msg.extra["content_type"] = content_type

        if opts.twilio_sid is not None:
            url_sid = TWILIO_PATH.match(url.path).group(1)
            user, password = None, None
            auth = self.headers.get("Authorization", "")
            if auth.startswith("Basic "):
                try:
                    decoded = base64.b64decode(auth[6:], validate=True)
                    user, _, password = decoded.decode("utf-8").partition(":")
                except (binascii.Error, UnicodeDecodeError):
                    pass
            if not (url_sid == opts.twilio_sid and user == opts.twilio_sid
                    and password == opts.twilio_token):
                msg.problem = "auth"
                return msg

        has_from = bool(msg.sender)
        has_service = bool(form.get("MessagingServiceSid"))
        if not msg.to:
            msg.problem = "bad_request"
            msg.detail = (21604, "A 'To' phone number is required.")
        elif has_from == has_service:
            msg.problem = "bad_request"
            msg.detail = (21603, "Exactly one of 'From' and "
                          "'MessagingServiceSid' is required.")
        elif not msg.text:
            msg.problem = "bad_request"
            msg.detail = (21602, "Message body is required.")
        return msg

    def parse_kannel(self, url):
        opts = self.server.opts
        msg = Message("kannel")
        # latin-1 keeps every %XX byte as it was; decode each field below.
        raw = {k: v[0] for k, v in parse_qs(
            url.query, keep_blank_values=True, encoding="latin-1").items()}

        def field(name):
            value = raw.pop(name, None)
            if value is None:
                return None
            return value.encode("latin-1").decode("utf-8", "replace")

        user, password = field("username"), field("password")
        msg.to = field("to")
        msg.sender = field("from")
        text = raw.pop("text", None)
        coding = raw.get("coding", "0")
        charset = raw.get("charset") or ("UTF-16BE" if coding == "2"
                                         else "UTF-8")
        msg.extra = {k: v.encode("latin-1").decode("utf-8", "replace")
                     for k, v in raw.items()}   # coding, charset, dlr-*..

        codec = CHARSET_ALIASES.get(charset.lower(), charset)
        try:
            codecs.lookup(codec)
        except LookupError:
            codec = None
        if text is not None and codec is not None:
            msg.text = text.encode("latin-1").decode(codec, "replace")

        if opts.kannel_user is not None and (
                user != opts.kannel_user or password != opts.kannel_pass):
            msg.problem = "auth"
        elif codec is None:
            msg.problem = "bad_request"
            msg.detail = "Unknown charset"
        elif not msg.to:
            msg.problem = "bad_request"
            msg.detail = "Missing receiver number"
        return msg

    def parse_webhook(self, url, body):
        secret = self.server.opts.webhook_secret
        msg = Message("webhook")
        msg.idem = self.headers.get("Idempotency-Key")
        if url.path != "/sms":
            msg.extra["path"] = url.path
        try:
            data = json.loads(body.decode("utf-8"))
        except ValueError:
            data = None
        if isinstance(data, dict):
            msg.to = data.get("to")
            msg.text = data.get("text")
            if "campaign" in data:
                msg.extra["campaign"] = data["campaign"]

        if secret is not None:
            stamp = self.headers.get("X-Segmilter-Timestamp", "")
            signature = self.headers.get("X-Segmilter-Signature", "")
            mac = hmac.new(secret.encode("utf-8"),
                           stamp.encode("utf-8") + b"." + body,
                           hashlib.sha256).hexdigest()
            if not stamp or not hmac.compare_digest(
                    signature.encode("utf-8"), ("sha256=" + mac).encode()):
                msg.problem = "auth"
                return msg

        if not isinstance(data, dict):
            msg.detail = "body is not a JSON object"
        elif not all(isinstance(data.get(k), str) and data.get(k)
                     for k in ("id", "to", "text")):
            msg.detail = '"id", "to" and "text" must be non-empty strings'
        elif msg.idem != data["id"]:
            msg.detail = 'Idempotency-Key header must equal "id"'
        if msg.detail:
            msg.problem = "bad_request"
        return msg

    # ---- common to all APIs: faults, opt-out, replay, log, answer

    def serve(self, arrived, msg):
        state = self.server.state
        faults = state.current_faults()
        replay = False
        msg_id = None

        if msg.problem:
            outcome = msg.problem
        else:
            outcome = state.fault_outcome(msg.to)
        cut = None                        # "stall", "cut": accepted, cut off
        if outcome in ("stall", "cut"):
            cut, outcome = outcome, "ok"
        if outcome == "ok" and msg.to in faults.optout:
            if msg.api == "kannel":
                msg.extra["optout_ignored"] = True   # Kannel has no opt-out
            else:
                outcome = "optout"
        if outcome == "ok" and msg.to in faults.invalid:
            outcome = "invalid"
        if outcome == "ok":
            if msg.api == "twilio":
                msg_id = "SM" + uuid.uuid4().hex
            elif msg.api == "webhook":
                msg_id, replay = state.webhook_accept(msg.idem)
                if replay:
                    outcome = "replay"

        if faults.delay:
            time.sleep(faults.delay)

        if outcome in ("timeout", "reset"):
            answer = None
            status = None
        else:
            answer = ANSWERS[msg.api](outcome, msg, msg_id)
            status = answer[0]
        if cut and outcome == "ok":
            outcome = cut
        else:
            cut = None                    # refused, or a replay: answered whole
        state.record({
            "t": arrived, "api": msg.api, "to": msg.to, "from": msg.sender,
            "text": msg.text, "idem": msg.idem, "status": status,
            "outcome": outcome, "id": msg_id, "replay": replay,
            "extra": msg.extra})

        if outcome == "timeout":
            self.hold_connection()
        elif outcome == "reset":
            self.reset_connection()
        elif cut:
            self.send_cut(*answer, hold=cut == "stall")
        else:
            self.send(*answer)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128              # listen() backlog; default is 5

    def server_bind(self):
        # HTTPServer.server_bind() would do a reverse DNS lookup; skip it.
        ThreadingHTTPServer.server_bind(self)
        self.server_name = "localhost"
        self.server_port = self.server_address[1]

    def finish_request(self, request, client_address):
        if isinstance(request, ssl.SSLSocket):
            # TLS handshake here, in the request's thread, not in accept().
            try:
                request.settimeout(30)
                request.do_handshake()
            except (ssl.SSLError, OSError):
                return
        ThreadingHTTPServer.finish_request(self, request, client_address)

    def handle_error(self, request, client_address):
        pass                              # clients hanging up are normal here


# ---------------------------------------------------------------- main

def parse_args():
    p = argparse.ArgumentParser(
        description="Fake SMS gateway (Twilio, Kannel, webhook) for tests.")
    p.add_argument("--port-file", required=True,
                   help="write the listening port here once ready")
    p.add_argument("--port", type=int, default=0,
                   help="port on 127.0.0.1 (default 0: pick a free one)")
    p.add_argument("--log", required=True,
                   help="append one JSON line per request here")
    p.add_argument("--faults", help="JSON fault rules, re-read on change")
    p.add_argument("--twilio-sid")
    p.add_argument("--twilio-token")
    p.add_argument("--kannel-user")
    p.add_argument("--kannel-pass")
    p.add_argument("--webhook-secret")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    opts = p.parse_args()
    if (opts.twilio_sid is None) != (opts.twilio_token is None):
        p.error("--twilio-sid and --twilio-token go together")
    if (opts.kannel_user is None) != (opts.kannel_pass is None):
        p.error("--kannel-user and --kannel-pass go together")
    if (opts.tls_cert is None) != (opts.tls_key is None):
        p.error("--tls-cert and --tls-key go together")
    return opts


def main():
    opts = parse_args()
    server = Server(("127.0.0.1", opts.port), Handler)
    server.opts = opts
    server.state = State(opts.log, opts.faults)
    if opts.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(opts.tls_cert, opts.tls_key)
        server.socket = context.wrap_socket(
            server.socket, server_side=True, do_handshake_on_connect=False)

    def stop(signum, frame):
        raise Stop()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        # Written atomically, so a reader never sees half of it; and only
        # now, so a signal sent as soon as it appears is handled.
        tmp = opts.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % server.server_address[1])
        os.replace(tmp, opts.port_file)
        server.serve_forever()
    except Stop:
        pass
    finally:
        server.server_close()
        try:
            os.unlink(opts.port_file)     # no stale port for the next run
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
