/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <sys/mman.h>
#include "cused/tramp/dirty_flat.h"

int tramp_dirty_flat(uint64_t nwords, int (*fill)(void *arg, uint64_t *buf), void *arg,
		     tramp_dirty_sink *sink, void *opaque)
{
	size_t len = (size_t)nwords * sizeof(uint64_t);
	uint64_t *buf;
	int r;

	if (!nwords)
		return 0;
	buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (buf == MAP_FAILED)
		return -ENOMEM;
	r = fill(arg, buf);
	for (uint64_t w = 0; !r && w < nwords; w++)
		if (buf[w])
			r = sink(opaque, w, buf[w]);
	munmap(buf, len);
	return r;
}
