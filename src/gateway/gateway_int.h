/*
 * gateway_int.h - what the files of src/gateway/ share; not for other
 * modules.
 */
#ifndef SEGM_GATEWAY_INT_H
#define SEGM_GATEWAY_INT_H

#include <stdatomic.h>

#include <curl/curl.h>

/* CURL's transfers end (GW_CANCELLED) once *CANCEL is set; NULL: never. */
void	 gw_cancel_attach(CURL *curl, const atomic_int *cancel);

#endif
