#!/usr/bin/env python3
"""shopify.py - one Shopify webhook delivery, as Shopify sends it: a JSON
body (a fixture, with fields changed), signed with the app secret
(X-Shopify-Hmac-Sha256: base64 of HMAC-SHA256 of the raw body), with its
topic and a webhook id.  Prints the HTTP status.

  shopify.py URL SECRET TOPIC FIXTURE [PATH=VALUE ...]

PATH is dotted into the JSON ("email", "sms_marketing_consent.state",
"customer.id"); VALUE is taken as JSON when it parses ("null", "42",
"true") and as a string otherwise.  The webhook id is new each time.
"""
import base64
import hashlib
import hmac
import json
import sys
import urllib.error
import urllib.request
import uuid


def main():
    if len(sys.argv) < 5:
        raise SystemExit(__doc__)
    url, secret, topic, fixture = sys.argv[1:5]
    with open(fixture) as f:
        doc = json.load(f)
    for arg in sys.argv[5:]:
        path, value = arg.split("=", 1)
        try:
            value = json.loads(value)
        except ValueError:
            pass
        node = doc
        keys = path.split(".")
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value
    body = json.dumps(doc).encode()
    sig = base64.b64encode(hmac.new(secret.encode(), body,
                                    hashlib.sha256).digest()).decode()
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sig,
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
    })
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            print(r.status)
    except urllib.error.HTTPError as e:
        print(e.code)


if __name__ == "__main__":
    main()
