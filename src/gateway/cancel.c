/*
 * cancel.c - a transfer that stops when segmilter does.
 *
 * A copy's re-injection goes through the MTA's smtpd, which asks
 * segmilter on the re-injection port; while segmilter shuts down that
 * smtpd waits for a milter that no longer answers, and the transfer with
 * it, up to its whole timeout.  libcurl calls the progress function at
 * least once a second during a transfer, so a flag set by the shutdown
 * ends it within a second (CURLE_ABORTED_BY_CALLBACK).
 */
#include <curl/curl.h>

#include "gateway_int.h"

static int
gw_cancelled(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	const atomic_int *cancel = arg;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return atomic_load(cancel) != 0;
}

void
gw_cancel_attach(CURL *curl, const atomic_int *cancel)
{
	if (cancel == NULL)
		return;
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, gw_cancelled);
	curl_easy_setopt(curl, CURLOPT_XFERINFODATA, (void *)cancel);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
}
