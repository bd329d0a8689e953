# bounce.sh - bounce tokens made in shell, by the recipe in
# include/bounce.h (openssl, xxd, base32): a second implementation of the
# format, for the tests and the DSN benchmark.  Sourced, not run.
#
#   bounce_token ID EMAIL CAMPAIGN KEYFILE    prints bounces+TOKEN's TOKEN

bounce_token() {
	kh=$(tr -d '\r\n' < "$4" | xxd -p | tr -d '\n')
	dk=$(printf %s "segmilter bounce token key" |
	    openssl dgst -sha256 -mac HMAC -macopt "hexkey:$kh" -binary |
	    xxd -p | tr -d '\n')
	a=$(printf 'a|%s' "$(printf %s "$2" | tr A-Z a-z)" |
	    openssl dgst -sha256 -binary | head -c 4 | xxd -p)
	c=$(printf 'c|%s' "$3" | openssl dgst -sha256 -binary | head -c 5 |
	    xxd -p)
	body=01$(printf %010x "$1")$a$c
	mac=$(printf %s "$body" | xxd -r -p |
	    openssl dgst -sha256 -mac HMAC -macopt "hexkey:$dk" -binary |
	    head -c 10 | xxd -p)
	printf %s "$body$mac" | xxd -r -p | base32 | tr A-Z a-z
}
