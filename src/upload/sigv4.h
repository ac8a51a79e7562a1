/* sigv4 - AWS Signature Version 4 (AWS4-HMAC-SHA256) for S3-compatible
 * storage. Internal to libchopin.
 *
 * Owns: turning a request that is about to be sent (method, host, path,
 * query, the headers to sign, the body's SHA-256) into the Authorization
 * header value and the x-amz-* values it must carry, or into a presigned URL
 * query string. Never does I/O, never allocates, never reads the clock (the
 * caller passes the time), never logs; nothing it writes or returns carries
 * the secret key. Every output is NUL-terminated; on failure it is "".
 *
 * Decisions:
 * - path is the path of the request line (from '/', no '?'). With service
 *   "s3" it is signed as S3 checks it: percent-decoded, then URI-encoded by
 *   the SigV4 rule with '/' kept, never normalized (the key "a/../b" is a
 *   key). So "/test$file.text" and "/test%24file.text" sign the same, and
 *   sigv4_uri_encode() is the way to build a path from a key. With any other
 *   service it is signed as the generic SigV4 rule has it: dot segments and
 *   empty segments removed (RFC 3986 5.2.4), then URI-encoded once more, '%'
 *   included (AWS's test suite exercises that rule).
 * - query is the raw query. Each parameter is percent-decoded, URI-encoded
 *   by the SigV4 rule, and the parameters sorted by name, then by value; a
 *   parameter without '=' gets an empty value ("lifecycle" -> "lifecycle=").
 *   '+' is a literal plus, as RFC 3986 has it: encode spaces as %20. A '%'
 *   not followed by two hex digits is refused.
 * - Signed headers: host (from host), x-amz-date, x-amz-content-sha256 (for
 *   "s3" only, the value is payload_sha256) and x-amz-security-token (when
 *   there is a session token) are added here and may not be passed in
 *   headers. Those passed are "Name: value"; names are lowercased and
 *   sorted, values trimmed and runs of spaces and tabs collapsed to one
 *   space; several headers of one name are joined with ',' in the order
 *   given (the request must send them in that order). Control characters in
 *   a value (obsolete line folding included) are refused.
 * - payload_sha256 is 64 lowercase hex digits or "UNSIGNED-PAYLOAD".
 *   Chunked (STREAMING-*) signing is not done here.
 * - Limits, beyond which a call fails: SIGV4_MAX_HEADERS headers,
 *   SIGV4_MAX_PARAMS query parameters, SIGV4_MAX_SEGMENTS path segments,
 *   SIGV4_MAX_SECRET bytes of secret key, SIGV4_MAX_ACCESS_KEY bytes of access
 *   key id, SIGV4_MAX_SCOPE_PART bytes of region or service. Nothing is ever
 *   truncated: too small a buffer fails.
 * - The access key id, region and service may not hold control characters,
 *   spaces, '/' or ',' (they are parts of the credential scope and of the
 *   Authorization header). The session token is printable ASCII.
 * - time is seconds since the epoch, UTC, from 1970 to the year 9999.
 *
 * The Authorization value separates its parts with ", " as AWS's test suite
 * does; S3's documentation shows "," alone, and both are accepted. */
#ifndef CHOPIN_UPLOAD_SIGV4_H
#define CHOPIN_UPLOAD_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIGV4_MAX_HEADERS    32     /* in sigv4_request.headers */
#define SIGV4_MAX_PARAMS     64     /* in sigv4_request.query */
#define SIGV4_MAX_SEGMENTS   128    /* path segments, for services other than s3 */
#define SIGV4_MAX_SECRET     256    /* bytes of secret_access_key */
#define SIGV4_MAX_ACCESS_KEY 128    /* bytes of access_key_id */
#define SIGV4_MAX_SCOPE_PART 64     /* bytes of region or service */
#define SIGV4_MAX_EXPIRES    604800 /* seconds a presigned URL may live: 7 days */
#define SIGV4_AMZ_DATE_LEN   16     /* "20150830T123600Z" */
#define SIGV4_SIGNATURE_LEN  64     /* hex digits */

typedef struct {
    const char *access_key_id;     /* "AKIDEXAMPLE" */
    const char *secret_access_key; /* never copied out, derived keys wiped after use */
    const char *session_token;     /* temporary credentials' token, NULL: none */
    const char *region;            /* "us-east-1" */
    const char *service;           /* "s3"; another name gets the generic path rule */
} sigv4_credentials;

typedef struct {
    const char *method; /* "PUT" */
    const char *host;   /* as in the Host header: "bucket.s3.amazonaws.com", "127.0.0.1:4569" */
    const char *path;   /* request-line path: "/bucket/key%20name" (see the decisions above) */
    const char *query;  /* raw query without '?'; NULL or "": none */
    const char *const *headers; /* NULL-terminated "Name: value" list to sign besides those
                                   added here (e.g. "Content-Type: image/png"); NULL: none */
    const char *payload_sha256; /* hex SHA-256 of the body, or "UNSIGNED-PAYLOAD" */
    int64_t time;               /* of the request, seconds since the epoch (UTC) */
} sigv4_request;

/* Writes the Authorization header value ("AWS4-HMAC-SHA256 Credential=...,
 * SignedHeaders=..., Signature=...") to authorization and the x-amz-date
 * value to amz_date. The request must also carry, byte for byte as signed:
 * Host: req->host, x-amz-date: amz_date, for "s3" x-amz-content-sha256:
 * req->payload_sha256, with a session token x-amz-security-token: the token,
 * and req->headers. Returns 0, or -1 (bad input, too long, OpenSSL failure). */
int sigv4_sign(const sigv4_credentials *cred, const sigv4_request *req, char *authorization,
               size_t auth_cap, char amz_date[SIGV4_AMZ_DATE_LEN + 1]);

/* Writes the query string of a presigned URL for method and path on host,
 * valid expires_s seconds (1..SIGV4_MAX_EXPIRES) from time: "X-Amz-Algorithm=
 * AWS4-HMAC-SHA256&X-Amz-Credential=...&X-Amz-Date=...&X-Amz-Expires=...
 * [&X-Amz-Security-Token=...]&X-Amz-SignedHeaders=host&X-Amz-Signature=...".
 * Only host is signed and the payload is UNSIGNED-PAYLOAD, so whoever holds
 * the URL may send any body. Returns 0, or -1. */
int sigv4_presign_query(const sigv4_credentials *cred, const char *method, const char *host,
                        const char *path, int64_t time, int expires_s, char *out, size_t cap);

/* URI-encodes s[0..len) by the SigV4 rule: A-Z a-z 0-9 - . _ ~ kept, every
 * other byte %XX (uppercase hex), '/' kept unless encode_slash. For building
 * paths from object keys and query values. Returns the length written, or -1
 * when out (cap bytes, NUL included) is too small. */
int sigv4_uri_encode(const char *s, size_t len, bool encode_slash, char *out, size_t cap);

/* The intermediate steps, exposed for the tests (AWS publishes each). */

/* Writes the canonical request of req to out and its signed header list
 * ("host;x-amz-date") to signed_headers (NULL: not wanted). Returns the
 * canonical request's length, or -1. */
int sigv4_canonical_request(const sigv4_credentials *cred, const sigv4_request *req, char *out,
                            size_t cap, char *signed_headers, size_t sh_cap);

/* Writes the string to sign for a canonical request made at time. Returns
 * its length, or -1. */
int sigv4_string_to_sign(const sigv4_credentials *cred, int64_t time, const char *canonical,
                         size_t len, char *out, size_t cap);

/* Writes the hex signature of a string to sign, with the key derived from
 * the secret for time's date, region and service. Returns 0, or -1. */
int sigv4_signature(const sigv4_credentials *cred, int64_t time, const char *string_to_sign,
                    size_t len, char signature[SIGV4_SIGNATURE_LEN + 1]);

#endif
