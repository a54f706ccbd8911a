/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stddef.h>
#include "cused/kvm/limits.h"

static int entry_used(const struct uid_usage *u)
{
	return u->vms || u->vcpus || u->log_pages || u->fds || u->stats;
}

static struct uid_usage *find(struct uid_table *t, uid_t uid, struct uid_usage **free_slot)
{
	if (free_slot)
		*free_slot = NULL;
	for (unsigned i = 0; i < CUSED_UID_SLOTS; i++) {
		struct uid_usage *u = &t->e[i];

		if (entry_used(u) && u->uid == uid)
			return u;
		if (!entry_used(u) && free_slot && !*free_slot)
			*free_slot = u;
	}
	return NULL;
}

/* uid's entry, or a free one set up for it; NULL when the table is full */
static struct uid_usage *find_or_claim(struct uid_table *t, uid_t uid)
{
	struct uid_usage *fs, *u = find(t, uid, &fs);

	if (!u && fs) {
		u = fs;
		*u = (struct uid_usage){ .uid = uid };
	}
	return u;
}

/* does want more fit under cap with have already used?  No overflow either way */
static int over_cap(uint64_t have, uint64_t want, uint64_t cap)
{
	return want > cap - (have < cap ? have : cap);
}

int uid_charge(struct uid_table *t, const struct cused_limits *lim, uid_t uid,
	       unsigned dvms, unsigned dvcpus)
{
	struct uid_usage *u;

	if (!dvms && !dvcpus)
		return 0;
	u = find_or_claim(t, uid);
	if (!u)
		return -ENOMEM;
	if (over_cap(u->vms, dvms, lim->max_vms_per_uid) ||
	    over_cap(u->vcpus, dvcpus, lim->max_vcpus_per_uid))
		return -ENOMEM;   /* a fresh entry stays all-zero, i.e. free */
	u->vms += dvms;
	u->vcpus += dvcpus;
	return 0;
}

void uid_uncharge(struct uid_table *t, uid_t uid, unsigned dvms, unsigned dvcpus)
{
	struct uid_usage *u = find(t, uid, NULL);

	if (!u)
		return;
	u->vms -= dvms < u->vms ? dvms : u->vms;
	u->vcpus -= dvcpus < u->vcpus ? dvcpus : u->vcpus;
}

struct uid_usage uid_usage_of(const struct uid_table *t, uid_t uid)
{
	struct uid_usage *u = find((struct uid_table *)t, uid, NULL);

	return u ? *u : (struct uid_usage){ .uid = uid };
}

int uid_charge_log(struct uid_table *t, const struct cused_limits *lim, uid_t uid,
		   uint64_t pages)
{
	struct uid_usage *u;

	if (!pages)
		return 0;
	u = find_or_claim(t, uid);
	if (!u || over_cap(u->log_pages, pages, lim->max_log_pages_per_uid))
		return -ENOMEM;
	u->log_pages += pages;
	return 0;
}

void uid_uncharge_log(struct uid_table *t, uid_t uid, uint64_t pages)
{
	struct uid_usage *u = find(t, uid, NULL);

	if (u)
		u->log_pages -= pages < u->log_pages ? pages : u->log_pages;
}

int uid_charge_fds(struct uid_table *t, uid_t uid, unsigned n)
{
	struct uid_usage *u;

	if (!n)
		return 0;
	u = find_or_claim(t, uid);
	if (!u || over_cap(u->fds, n, CUSED_MAX_EVENTFDS_PER_UID))
		return -ENOMEM;
	u->fds += n;
	return 0;
}

void uid_uncharge_fds(struct uid_table *t, uid_t uid, unsigned n)
{
	struct uid_usage *u = find(t, uid, NULL);

	if (u)
		u->fds -= n < u->fds ? n : u->fds;
}

int uid_charge_stats(struct uid_table *t, uid_t uid)
{
	struct uid_usage *u = find_or_claim(t, uid);

	if (!u || over_cap(u->stats, 1, CUSED_MAX_STATS_FDS_PER_UID))
		return -ENOMEM;
	u->stats++;
	return 0;
}

void uid_uncharge_stats(struct uid_table *t, uid_t uid)
{
	struct uid_usage *u = find(t, uid, NULL);

	if (u && u->stats)
		u->stats--;
}
