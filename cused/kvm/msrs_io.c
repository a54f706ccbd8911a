/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <linux/kvm.h>
#include "cused/kvm/msrs_io.h"
#include "cused/util/log.h"

#define MAX_IO_MSRS 256   /* KVM's limit for one KVM_GET/SET_MSRS */

long msrs_ioctl(struct ioctl_req *rq, bool set, msr_one_fn one, void *ctx)
{
	const struct kvm_msrs *in = req_in(rq, sizeof(*in));
	const char *what = set ? "KVM_SET_MSRS" : "KVM_GET_MSRS";
	struct kvm_msr_entry *e;
	uint32_t n, i;
	size_t bytes;

	if (!in)
		return -EFAULT;
	n = in->nmsrs;
	if (n >= MAX_IO_MSRS)
		return refuse(-E2BIG, "%s: %u entries >= %u", what, n, MAX_IO_MSRS);
	bytes = (size_t)n * sizeof(*e);
	e = malloc(bytes ? bytes : 1);
	if (!e)
		return -ENOMEM;
	if (client_read(rq, rq->arg + sizeof(*in), e, bytes)) {
		free(e);
		return refuse(-EFAULT, "%s: entries not readable", what);
	}
	/* KVM processes entries in order and reports how many succeeded */
	for (i = 0; i < n; i++) {
		uint64_t val = e[i].data;
		int r = one(ctx, e[i].index, &val, set);

		if (r) {
			log_info("%s: stopped at MSR %#x (%d)", what, e[i].index, r);
			break;
		}
		e[i].data = val;
	}
	if (!set && client_write(rq, rq->arg + sizeof(*in), e, bytes)) {
		free(e);
		return refuse(-EFAULT, "%s: entries not writable", what);
	}
	free(e);
	return i;
}
