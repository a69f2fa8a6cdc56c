/* status_flat.h — the status expacmectl publishes for the module's page,
 * in a line form the module reads without a JSON parser.
 *
 * expacmectl writes the status document twice, atomically (temporary file
 * + rename), on every command that changes state and on `status`:
 *   STATUS_FILE            JSON, for admin UIs (and the handler's ?json)
 *   STATUS_FILE's .flat    this form: the same name with ".flat" in place
 *                          of a trailing ".json" (else ".flat" appended),
 *                          e.g. /run/expacme/status.flat
 *
 * The form, version 1:
 *
 *   expacme-status 1                first line: magic and version
 *   generated 1796144724            header lines (before the first cert)
 *   cert server                     starts the block of one certificate
 *   state deployed
 *   name www.example.org            repeatable keys repeat the line
 *   name example.org
 *   deployed.not_after 1803920724
 *   last_sign.detail CA said <b>no</b>
 *   ...
 *   end                             last line: the file is complete
 *
 * - A line is KEY, one space, VALUE, LF.  KEY is 1-64 of [a-z0-9_.];
 *   VALUE is the rest of the line, verbatim (UTF-8), possibly empty.
 * - VALUE never holds a control character: the writer replaces each one
 *   (LF and CR included) with a space, and cuts a value at
 *   STATUS_FLAT_VALUE_MAX bytes.  So there is no escaping at all, and a
 *   reader only splits lines.  Values are untrusted text (CA details,
 *   operator input): a reader escapes them for wherever it shows them.
 * - Times are seconds since the epoch (UTC), for the reader to present
 *   in its own way; durations and counts are decimal too.
 * - A reader ignores keys it does not know (later writers add some) and
 *   lines starting with '#'; it refuses a first line other than
 *   "expacme-status 1", and treats a file without "end" as cut short.
 * - At most STATUS_FLAT_FILE_MAX bytes in all: a writer with more writes
 *   the whole lines that fit and leaves out "end" (cut short).
 */
#ifndef EXPACME_STATUS_FLAT_H
#define EXPACME_STATUS_FLAT_H

#define STATUS_FLAT_MAGIC "expacme-status"
#define STATUS_FLAT_VERSION 1
#define STATUS_FLAT_SUFFIX ".flat"
#define STATUS_FLAT_END "end"
#define STATUS_FLAT_KEY_MAX 64
#define STATUS_FLAT_VALUE_MAX 4096
#define STATUS_FLAT_FILE_MAX (1024 * 1024)

/* Header keys. */
#define STATUS_FLAT_GENERATED "generated" /* time */
#define STATUS_FLAT_CERT "cert"           /* NAME: a certificate block */

/* Keys inside a certificate block.  (R) marks a key that repeats. */
#define STATUS_FLAT_STATE "state" /* none|csr|signing|pending|deployed */
#define STATUS_FLAT_ERROR "error" /* the state could not be read */
#define STATUS_FLAT_AUTOMATED "automated" /* on|off */
#define STATUS_FLAT_NAME "name"           /* (R) DNS name or IP address */
#define STATUS_FLAT_KEY_TYPE "key_type"   /* (R) rsa2048, ec256, ... */
#define STATUS_FLAT_PROVIDER "provider"   /* the CA that signed, or in use */
#define STATUS_FLAT_ACCOUNT "account"     /* account URL at that CA */
/* The live certificate, then the pending one: PREFIX "issuer", ... */
#define STATUS_FLAT_DEPLOYED "deployed."
#define STATUS_FLAT_PENDING "pending."
#define STATUS_FLAT_ISSUER "issuer"
#define STATUS_FLAT_SUBJECT "subject"
#define STATUS_FLAT_SERIAL "serial"
#define STATUS_FLAT_NOT_BEFORE "not_before"     /* time */
#define STATUS_FLAT_NOT_AFTER "not_after"       /* time */
#define STATUS_FLAT_RENEWAL_DUE "renewal_due"   /* time */
#define STATUS_FLAT_RENEWAL_RULE "renewal_rule" /* text: why that time */
/* Automated renewal. */
#define STATUS_FLAT_RESUBMIT "resubmit"          /* (R) time */
#define STATUS_FLAT_ARI_START "ari_start"        /* time: the CA's window */
#define STATUS_FLAT_ARI_END "ari_end"            /* time */
#define STATUS_FLAT_ARI_TIME "ari_time"          /* time: the moment chosen */
#define STATUS_FLAT_NEXT_ATTEMPT "next_attempt"  /* time: end of a backoff */
#define STATUS_FLAT_FAILURES "failures"          /* count */
#define STATUS_FLAT_NEXT_SLOT "next_deploy_slot" /* time */
#define STATUS_FLAT_DEPLOY_DAYS "deploy_days"    /* mon,tue,... */
#define STATUS_FLAT_DEPLOY_TIME "deploy_time"    /* HH:MM, local time */
/* Last Sign Status and Last Deploy Status: PREFIX "time", ... */
#define STATUS_FLAT_LAST_SIGN "last_sign."
#define STATUS_FLAT_LAST_DEPLOY "last_deploy."
#define STATUS_FLAT_TIME "time"       /* time */
#define STATUS_FLAT_RESULT "result"   /* success|failure|... */
#define STATUS_FLAT_STEP "step"       /* deploy: the step that failed */
#define STATUS_FLAT_DETAIL "detail"   /* text, the CA's verbatim */
#define STATUS_FLAT_WARNING "warning" /* (R) text */

#endif
