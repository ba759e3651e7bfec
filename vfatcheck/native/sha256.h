#ifndef VFATCHECK_SHA256_H
#define VFATCHECK_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
	uint32_t h[8];
	uint64_t length;
	unsigned char block[64];
	size_t used;
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const unsigned char *data, size_t n);
void sha256_hex(struct sha256 *s, char out[65]); /* finishes s */

#endif
