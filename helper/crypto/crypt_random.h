/* crypt_random.h — random numbers from OpenSSL's CSPRNG for the callers
 * that need them unpredictable (renewal jitter); its own file as it
 * belongs to no other part of crypto/. */
#ifndef EXPACME_CRYPT_RANDOM_H
#define EXPACME_CRYPT_RANDOM_H

/* A uniformly random number below bound (bound 0: 0). */
unsigned crypt_random_below(unsigned bound);

#endif
