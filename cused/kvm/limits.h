/* SPDX-License-Identifier: MIT */
/*
 * Per-uid resource accounting.  The daemon runs as root, so nothing the
 * kernel would charge to a KVM user (fds, memcg kernel memory) is charged to
 * the client here; these caps stand in for that.  A VM and each of its vCPUs
 * are charged to the uid that created the VM from creation until the object
 * is freed (parked-but-unbound objects count: they are alive).
 *
 * Over a cap, creation fails with -ENOMEM: that is what Linux's
 * KVM_CREATE_VM / KVM_CREATE_VCPU return when the caller's memory cgroup
 * refuses the VM's or vCPU's (GFP_KERNEL_ACCOUNT) allocations, which is the
 * per-user limit the kernel actually enforces on KVM.  EMFILE would name the
 * per-process fd limit, which the client still hits on its own side.
 *
 * The table is fixed-size so an attacker cannot grow it: at most
 * CUSED_UID_SLOTS distinct uids may hold objects at once (a uid whose counts
 * drop to zero frees its entry).  Not locked: the ctx holds its lock.
 */
#ifndef CUSED_KVM_LIMITS_H
#define CUSED_KVM_LIMITS_H

#include <stdint.h>
#include <sys/types.h>

#define CUSED_UID_SLOTS 256
#define CUSED_DEFAULT_MAX_VMS_PER_UID 64
#define CUSED_DEFAULT_MAX_VCPUS_PER_UID 512
#define CUSED_DEFAULT_MAX_LOG_GIB_PER_UID (16ULL << 10)   /* 16 TiB */
/*
 * Client eventfds (irqfd, resamplefd, ioeventfd) the daemon holds for a uid's
 * VMs: each is an fd of the daemon, which one uid must not use up for all
 * (the unit file gives the daemon LimitNOFILE=65536).
 */
#define CUSED_MAX_EVENTFDS_PER_UID 2048u
/*
 * Binary stats fds (KVM_GET_STATS_FD) of a uid, bound or still parked: each
 * is a daemon handle and a counter block the daemon keeps until it closes.
 */
#define CUSED_MAX_STATS_FDS_PER_UID 4096u

struct cused_limits {
	unsigned max_vms_per_uid;     /* live VMs, parked ones included */
	unsigned max_vcpus_per_uid;   /* live vCPUs over all of the uid's VMs */
	/*
	 * Guest memory in dirty-logging slots over all of the uid's VMs, in
	 * pages.  The daemon's own bitmaps are sparse, but a backend's are
	 * not: the hostkvm host KVM keeps two flat bitmaps per logged slot
	 * (64 MiB of kernel memory per TiB, charged to the daemon) and each
	 * collect maps a flat 32 MiB per TiB for the host to write into.
	 */
	uint64_t max_log_pages_per_uid;
};

struct uid_usage {
	uid_t uid;
	unsigned vms, vcpus;          /* all four 0: entry free */
	uint64_t log_pages;
	unsigned fds;                 /* eventfds held for it (CUSED_MAX_EVENTFDS_PER_UID) */
	unsigned stats;               /* stats fds (CUSED_MAX_STATS_FDS_PER_UID) */
};

struct uid_table {
	struct uid_usage e[CUSED_UID_SLOTS];
};

/*
 * Charge dvms VMs and dvcpus vCPUs (>= 0) to uid.  0, or -ENOMEM (nothing
 * charged) when that would exceed lim or no entry is free.
 */
int uid_charge(struct uid_table *t, const struct cused_limits *lim, uid_t uid,
	       unsigned dvms, unsigned dvcpus);
/* give back what uid_charge took; never underflows */
void uid_uncharge(struct uid_table *t, uid_t uid, unsigned dvms, unsigned dvcpus);
/* charge / give back pages of dirty-logged slots; 0 or -ENOMEM as uid_charge */
int uid_charge_log(struct uid_table *t, const struct cused_limits *lim, uid_t uid,
		   uint64_t pages);
void uid_uncharge_log(struct uid_table *t, uid_t uid, uint64_t pages);
/* charge / give back n eventfds; 0 or -ENOMEM over CUSED_MAX_EVENTFDS_PER_UID */
int uid_charge_fds(struct uid_table *t, uid_t uid, unsigned n);
void uid_uncharge_fds(struct uid_table *t, uid_t uid, unsigned n);
/* charge / give back one stats fd; 0 or -ENOMEM over CUSED_MAX_STATS_FDS_PER_UID */
int uid_charge_stats(struct uid_table *t, uid_t uid);
void uid_uncharge_stats(struct uid_table *t, uid_t uid);
/* current usage of uid (zeros if it holds nothing) */
struct uid_usage uid_usage_of(const struct uid_table *t, uid_t uid);

#endif
