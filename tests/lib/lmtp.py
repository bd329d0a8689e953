#!/usr/bin/env python3
"""lmtp.py - a small LMTP client (RFC 2033) for the tests and the bench,
speaking as Postfix's lmtp(8) does: LHLO once, then per message MAIL FROM,
RCPT TO per recipient, DATA, the message dot-stuffed with CRLF line ends,
and one reply read per accepted recipient.

  lmtp.py ADDR RCPT[,RCPT...]=FILE ...
      ADDR is unix:/PATH or HOST:PORT.  Prints, per message, a line per
      recipient: "RCPT CODE TEXT" (a refused RCPT TO shows its own reply).
  lmtp.py ADDR --list LIST
      LIST has a line "RCPT FILE" per message; sends them all over one
      connection and prints "N messages, CODE:COUNT ..." at the end.
"""
import socket
import sys


def connect(addr):
    if addr.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(addr[5:])
    else:
        host, port = addr.rsplit(":", 1)
        s = socket.create_connection((host, int(port)))
    return s, s.makefile("rb")


def reply(f):
    """One reply, its continuation lines joined: (code, text)."""
    lines = []
    while True:
        line = f.readline()
        if not line:
            raise SystemExit("lmtp.py: connection closed")
        line = line.decode("latin-1").rstrip("\r\n")
        lines.append(line[4:])
        if len(line) < 4 or line[3] != "-":
            return int(line[:3]), " / ".join(lines)


def stuffed(data):
    out = []
    for line in data.replace(b"\r\n", b"\n").split(b"\n"):
        out.append(b"." + line if line.startswith(b".") else line)
    if out and out[-1] == b"":
        out.pop()
    return b"\r\n".join(out) + b"\r\n.\r\n"


def send(s, f, rcpts, data):
    """Sends one message; a (rcpt, code, text) per recipient."""
    s.sendall(b"MAIL FROM:<>\r\n")
    code, text = reply(f)
    if code != 250:
        raise SystemExit("lmtp.py: MAIL: %d %s" % (code, text))
    results, accepted = [], []
    for r in rcpts:
        s.sendall(b"RCPT TO:<" + r.encode() + b">\r\n")
        code, text = reply(f)
        if code == 250:
            accepted.append(r)
        else:
            results.append((r, code, text))
    if not accepted:
        s.sendall(b"RSET\r\n")
        reply(f)
        return results
    s.sendall(b"DATA\r\n")
    code, text = reply(f)
    if code != 354:
        raise SystemExit("lmtp.py: DATA: %d %s" % (code, text))
    s.sendall(stuffed(data))
    for r in accepted:
        code, text = reply(f)
        results.append((r, code, text))
    return results


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    s, f = connect(sys.argv[1])
    code, text = reply(f)
    if code != 220:
        raise SystemExit("lmtp.py: greeting: %d %s" % (code, text))
    s.sendall(b"LHLO client.test\r\n")
    reply(f)
    if sys.argv[2] == "--list":
        counts, n = {}, 0
        with open(sys.argv[3]) as lst:
            for line in lst:
                rcpt, path = line.split()
                with open(path, "rb") as m:
                    for _, code, _ in send(s, f, [rcpt], m.read()):
                        counts[code] = counts.get(code, 0) + 1
                n += 1
        print("%d messages, %s" % (n, " ".join(
            "%d:%d" % (c, k) for c, k in sorted(counts.items()))))
    else:
        for arg in sys.argv[2:]:
            rcpts, path = arg.split("=", 1)
            with open(path, "rb") as m:
                for r, code, text in send(s, f, rcpts.split(","), m.read()):
                    print("%s %d %s" % (r, code, text))
    s.sendall(b"QUIT\r\n")
    reply(f)
    s.close()


if __name__ == "__main__":
    main()
