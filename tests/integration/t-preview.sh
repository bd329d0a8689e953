#!/bin/sh
# t-preview.sh - segctl preview on the fixture store: per-variant counts
# and renderings, suppressions by reason, non-campaign mail, an unknown
# campaign and a template error, a customer whose name cannot be rendered
# judged alone as segmilter does, and that nothing is recorded.
# engines: sqlite pgsql
set -u
BUILD=${BUILD:-build}
SRC=$(pwd)
T=$(mktemp -d /tmp/segm-t-preview.XXXXXX)
. "$SRC/tests/lib/fixture.sh"
trap 'store_stop; rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
store_start "$T"
fixture_store "$T" || fail "fixture store"
P="$BUILD/segctl -c $T/segmilter.conf preview"

cat > "$T/m.eml" <<'EOF2'
Subject: {{headline}}
X-Campaign-ID: launch
Content-Type: text/plain; charset=utf-8

Hi {{first_name|default:"there"}}: {{offer}}
EOF2
$P "$T/m.eml" > "$T/out" || fail "preview: $(cat "$T/out")"
grep -q "^campaign launch: 10 recipients, 5 delivered, 5 suppressed$" "$T/out" || fail "totals: $(cat "$T/out")"
grep -q "^variant vip: 1 recipient$" "$T/out" || fail "vip count"
grep -q "^variant default: 3 recipients$" "$T/out" || fail "default count"
grep -q "^    Hi Vera: VIP: 25% off & free shipping$" "$T/out" || fail "vip text"
grep -q "^  Subject: Come back$" "$T/out" || fail "lapsed Subject"
grep -q "^    Hi there: 10% off$" "$T/out" || fail "default text"
for r in unsubscribed no_consent bounced audience fatigued; do
	grep -q "^  $r  *1$" "$T/out" || fail "reason $r"
done
[ "$(q "SELECT count(*) FROM ledger") $(q "SELECT count(*) FROM audit")" = "0 0" ] ||
    fail "preview recorded something"

# audiences and a variant said by expressions: who meets each term and
# each variant, and who is left out by which
cat > "$T/campaigns/mix.conf" <<'EOF2'
id = "mix";
audience = { include = [ "vip | repeat | lapsed" ];
  exclude = [ "lapsed & !vip" ]; };
variants = { loyal = { match = "vip | repeat"; offer = "20% off";
  headline = "Thanks"; }; default = { offer = "5% off"; headline = "Hi"; }; };
EOF2
printf 'Subject: {{headline}}\nX-Campaign-ID: mix\n\n{{offer}}\n' > "$T/mix.eml"
$P "$T/mix.eml" > "$T/out" || fail "preview, expressions: $(cat "$T/out")"
grep -q "^campaign mix: 10 recipients, 2 delivered, 8 suppressed$" "$T/out" || fail "expressions: $(cat "$T/out")"
grep -q "^variant loyal: 2 recipients$" "$T/out" || fail "expressions, the variant: $(cat "$T/out")"
grep -q '^  include "vip | repeat | lapsed": 3$' "$T/out" || fail "expressions, include: $(cat "$T/out")"
grep -q '^    vip 1, repeat 1, lapsed 1$' "$T/out" || fail "expressions, the terms: $(cat "$T/out")"
grep -q '^  exclude "lapsed & !vip": 1$' "$T/out" || fail "expressions, exclude: $(cat "$T/out")"
grep -q '^  variant loyal "vip | repeat": 2$' "$T/out" || fail "expressions, the variant's match: $(cat "$T/out")"
$P --format csv "$T/mix.eml" > "$T/out" || fail "preview --format csv"
grep -q "^lara@example.com,audience,,,lapsed,excluded by lapsed & !vip$" "$T/out" ||
    fail "expressions, lara: $(cat "$T/out")"
rm "$T/campaigns/mix.conf"

$P --to ghost@example.com --to fred@example.com "$T/m.eml" > "$T/out" || fail "preview --to"
grep -q "^campaign launch: 2 recipients, 1 delivered, 1 suppressed$" "$T/out" || fail "--to: $(cat "$T/out")"
grep -q "^    Hi Fred: 10% off$" "$T/out" || fail "--to: Fred's own name"

printf 'Subject: receipt\n\nThanks\n' > "$T/tx.eml"
$P "$T/tx.eml" | grep -q "^not a campaign" || fail "transactional mail"
printf 'Subject: x\nX-Campaign-ID: nope\n\nx\n' > "$T/nope.eml"
$P "$T/nope.eml" > "$T/out" && fail "unknown campaign must exit non-zero"
grep -q "would tempfail: unknown campaign 'nope'" "$T/out" || fail "unknown: $(cat "$T/out")"
printf 'Subject: x\nX-Campaign-ID: launch\n\n{{coupon}}\n' > "$T/bad.eml"
$P "$T/bad.eml" > "$T/out" && fail "template error must exit non-zero"
grep -q "would tempfail: part 1 (text/plain): line 1: unknown placeholder {{coupon}}" "$T/out" ||
    fail "template error: $(cat "$T/out")"
grep -q "^$T/bad.eml:4: part 1 (text/plain): unknown placeholder {{coupon}}$" "$T/out" ||
    fail "template error's line: $(cat "$T/out")"

# every template error at once, each once (the vip and default variants
# both meet them), at the line of the .eml that holds the tag: the
# Subject's, a quoted-printable part's (its soft line break joins two
# lines of the file), an HTML part's, a section never closed at its
# opening tag
cat > "$T/errs.eml" <<'EOF2'
Subject: {{offer}} for {{first_name
X-Campaign-ID: launch
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b"

--b
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Hello {{frist_name}}, this line is long enough to be broken by a soft =
line break, and then {{coupon}}.
{{#vip}}VIP{{/fi}}
--b
Content-Type: text/html; charset=utf-8

<p>{{offer}}</p>
<p>{{#cart_abandoner}}Your cart</p>
--b--
EOF2
$P "$T/errs.eml" > "$T/out" && fail "template errors must exit non-zero"
cat > "$T/want" <<EOF2
$T/errs.eml:1: Subject: tag not closed with }}
$T/errs.eml:10: part 1 (text/plain): unknown placeholder {{frist_name}}
$T/errs.eml:11: part 1 (text/plain): unknown placeholder {{coupon}}
$T/errs.eml:12: part 1 (text/plain): {{/fi}} inside {{#vip}}
$T/errs.eml:17: part 2 (text/html): {{#cart_abandoner}} is never closed
EOF2
grep "^$T/errs.eml:" "$T/out" > "$T/got"
cmp -s "$T/want" "$T/got" || fail "every error, once, at its line: $(diff "$T/want" "$T/got")"

# a name with a line break (stored before imports cleaned names), in a
# message to her alone, so that her own values are used: the preview
# says what segmilter does (CR LF written literally: no char() in
# PostgreSQL)
cr=$(printf '\r')
q "UPDATE customers SET first_name = 'Fred$cr
Bcc: all@example.com' WHERE email = 'fred@example.com'" || fail "fred's name"
[ "$(q "SELECT length(first_name) FROM customers WHERE email = 'fred@example.com'")" = 26 ] ||
    fail "fred's name: $(q "SELECT first_name FROM customers WHERE email = 'fred@example.com'")"
printf 'Subject: Hi {{first_name|default:"friend"}}\nX-Campaign-ID: launch\n\n{{offer}}\n' > "$T/name.eml"
$P --to fred@example.com "$T/name.eml" > "$T/out" || fail "bad name: $(cat "$T/out")"
grep -q "^  to fred@example.com: rendered without their own values: Subject: line 1: the value of {{first_name}} holds a line break" "$T/out" ||
    fail "bad name not reported: $(cat "$T/out")"
grep -q "^  Subject: Hi friend$" "$T/out" || fail "bad name: the default: $(cat "$T/out")"
printf 'Subject: Dear {{first_name}}\nX-Campaign-ID: launch\n\n{{offer}}\n' > "$T/name.eml"
$P --to fred@example.com "$T/name.eml" > "$T/out" || fail "bad name, no default: $(cat "$T/out")"
grep -q "^campaign launch: 1 recipients, 0 delivered, 1 suppressed$" "$T/out" || fail "bad_record totals: $(cat "$T/out")"
grep -q "^  bad_record  *1$" "$T/out" || fail "bad_record count: $(cat "$T/out")"
grep -q "^  to fred@example.com: bad_record: Subject: line 1: the value of {{first_name}} holds a line break" "$T/out" ||
    fail "bad_record not reported: $(cat "$T/out")"

# arms: the consenting split, each arm per segment; a key is required
cat > "$T/campaigns/arms.conf" <<'EOF2'
id = "arms";
arms = { tailored = 50; broad = 25; none = 25; };
variants = { vip = { offer = "VIP"; }; default = { offer = "10%"; }; };
EOF2
printf 'Subject: {{offer}}\nX-Campaign-ID: arms\n\n{{offer}}\n' > "$T/arms.eml"
$P "$T/arms.eml" > "$T/out" 2>&1 && fail "arms without a key: $(cat "$T/out")"
grep -q "arms.conf: arms: outbox.key_file is required" "$T/out" || fail "arms, no key: $(cat "$T/out")"
(umask 077; openssl rand -hex 32 > "$T/key")
echo "outbox = { key_file = \"$T/key\"; };" >> "$T/segmilter.conf"
$P "$T/arms.eml" > "$T/out" || fail "arms: $(cat "$T/out")"
# the 5 the launch rules deliver to, fay capped, sue ... : every one
# that every rule lets through is in exactly one arm
n=$(sed -n '/^arms, of those every rule lets through:$/,$p' "$T/out" |
    awk '$1 == "all" { print $2 + $3 + $4 + $5 }')
d=$(sed -n 's/^campaign arms: \([0-9]*\) recipients, \([0-9]*\) delivered.*/\2/p' "$T/out")
h=$(awk '$1 == "held_out" { print $2 }' "$T/out")
[ -n "$n" ] && [ "$n" = "$((d + ${h:-0}))" ] || fail "arms: $n in arms, $d delivered, ${h:-0} held out: $(cat "$T/out")"
grep -q "^segment  *tailored  *broad  *none  *global$" "$T/out" || fail "arms table: $(cat "$T/out")"
[ "$(q "SELECT count(*) FROM ledger") $(q "SELECT count(*) FROM audit")" = "0 0" ] ||
    fail "preview recorded something"
# a row per recipient for BI tools, the same decisions as the text
$P --format json "$T/arms.eml" > "$T/rows.json" || fail "preview --format json"
python3 - "$T/rows.json" "$d" "${h:-0}" <<'PY2' || fail "preview json: $(head -c 400 "$T/rows.json")"
import json, sys
rows = json.load(open(sys.argv[1]))
assert len(rows) == 10, len(rows)
delivered = sum(r["decision"] in ("deliver", "broad") for r in rows)
held = sum(r["decision"] == "held_out" for r in rows)
assert delivered == int(sys.argv[2]) and held == int(sys.argv[3]), (delivered, held)
assert all(r["arm"] for r in rows if r["decision"] in ("deliver", "broad", "held_out"))
PY2
$P --format csv "$T/arms.eml" | head -1 | grep -qx "recipient,decision,variant,arm,segment,detail" ||
    fail "preview csv header"

# with copies, a name in the template gives each recipient a rendering
# of their own, as segmilter sends it: the preview shows a few of them
sed -i "s|^outbox = { key_file = \"\(.*\)\"; };|outbox = { key_file = \"\1\"; reinject_url = \"smtp://127.0.0.1:9\"; };|" \
    "$T/segmilter.conf"
grep -q reinject_url "$T/segmilter.conf" || fail "conf: $(cat "$T/segmilter.conf")"
printf 'Subject: {{first_name}}, your early access\nX-Campaign-ID: launch\n\n{{offer}}\n' > "$T/own.eml"
$P --to vera@example.com --to lara@example.com --to sue@example.com "$T/own.eml" > "$T/out" ||
    fail "preview, own names: $(cat "$T/out")"
grep -q "would tempfail" "$T/out" && fail "preview says tempfail, segmilter sends: $(cat "$T/out")"
grep -q "^  to vera@example.com:$" "$T/out" || fail "no sample for vera: $(cat "$T/out")"
grep -q "^  Subject: Vera, your early access$" "$T/out" || fail "vera's own Subject: $(cat "$T/out")"
echo "t-preview: ok"
