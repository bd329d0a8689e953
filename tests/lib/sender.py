#!/usr/bin/env python3
"""sender.py - a sending tool, as far as the relay can tell: it sends
campaign messages over SMTP and, like any serious sending tool, tries a
message again (same Message-ID) when the relay answers 4xx or the
connection breaks, until it is accepted or refused for good.

    sender.py HOST:PORT CAMPAIGN RCPTS_FILE PER_MESSAGE SESSIONS

RCPTS_FILE holds one address per line; they are cut into messages of
PER_MESSAGE recipients.  Prints, at the end, how many messages were
accepted, refused and how many attempts it took.
"""
import smtplib
import sys
import threading
import time

host, port = sys.argv[1].rsplit(":", 1)
campaign = sys.argv[2]
rcpts = [l.strip() for l in open(sys.argv[3]) if l.strip()]
per = int(sys.argv[4])
sessions = int(sys.argv[5])
batches = [rcpts[i:i + per] for i in range(0, len(rcpts), per)]
lock = threading.Lock()
stats = {"accepted": 0, "refused": 0, "attempts": 0}


def message(n, to):
    return ("From: news@shop.example\r\n"
            "Subject: {{offer}} for you\r\n"
            "X-Campaign-ID: %s\r\n"
            "Message-ID: <fault-%d@shop.example>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "\r\n"
            "Message %d: {{offer}}.\r\n" % (campaign, n, n))


def send(n, to):
    delay = 0.2
    while True:
        with lock:
            stats["attempts"] += 1
        try:
            with smtplib.SMTP(host, int(port), timeout=60) as s:
                s.sendmail("news@shop.example", to, message(n, to))
            with lock:
                stats["accepted"] += 1
            return
        except smtplib.SMTPRecipientsRefused:
            with lock:
                stats["refused"] += 1
            return
        except smtplib.SMTPResponseException as e:
            if 500 <= e.smtp_code < 600:
                with lock:
                    stats["refused"] += 1
                return
        except (OSError, smtplib.SMTPException):
            pass
        time.sleep(delay)
        delay = min(delay * 2, 2.0)


def worker(k):
    for n in range(k, len(batches), sessions):
        send(n, batches[n])


threads = [threading.Thread(target=worker, args=(k,)) for k in range(sessions)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("sender: %d messages accepted, %d refused, %d attempts" %
      (stats["accepted"], stats["refused"], stats["attempts"]))
