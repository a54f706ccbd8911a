/* SPDX-License-Identifier: MIT */
/*
 * KVM_RUN through the doorbell (struct cused_doorbell, shim_abi.h).  A FUSE
 * round trip costs ~5x a host KVM exit, so the shim hands the vCPU to the
 * daemon's runner thread through shared memory: bump req_seq, wake the
 * daemon if it sleeps, spin briefly, then sleep on done_seq.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "cused/shim/shim.h"

#define LIVENESS_NS 1000000000 /* how often a sleeper checks the daemon is alive */

static long futex(uint32_t *uaddr, int op, uint32_t val, const struct timespec *ts)
{
	/* shared (not PRIVATE) futexes: the daemon maps the same page */
	return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

/* the client took a signal: make the daemon's KVM_RUN return -EINTR, as KVM would */
static void kick(struct cfd *c, uint32_t seq, bool *kicked)
{
	if (*kicked)
		return;
	*kicked = true;
	/* name the run meant, so a late kick cannot cut the next one short */
	if (sys_ioctl(c->fd, CUSED_IOC_KICK, (void *)(uintptr_t)seq) < 0)
		TRACE("KVM_RUN on %d: kick failed (errno %d)", c->fd, errno);
}

static bool done(struct cused_doorbell *db, uint32_t seq)
{
	return __atomic_load_n(&db->done_seq, __ATOMIC_ACQUIRE) == seq;
}

static int run_locked(struct cfd *c)
{
	struct cused_doorbell *db = (void *)((char *)c->shared + CUSED_RUN_DOORBELL_OFFSET);
	struct kvm_run *run = c->shared;
	const struct timespec tmo = { .tv_sec = LIVENESS_NS / 1000000000 };
	bool kicked = false, ie0;
	uint32_t seq, budget;
	uint64_t start;

	/* not served yet (or no more): the daemon answers KVM_RUN itself */
	if (__atomic_load_n(&db->magic, __ATOMIC_ACQUIRE) != CUSED_DOORBELL_MAGIC)
		return shim_real.ioctl(c->fd, KVM_RUN, 0);

	ie0 = __atomic_load_n(&run->immediate_exit, __ATOMIC_RELAXED);
	/* run_lock makes this the only writer; atomic all the same (a second
	 * process sharing the fd does not share the lock) */
	seq = __atomic_add_fetch(&db->req_seq, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&db->daemon_waiting, __ATOMIC_SEQ_CST))
		futex(&db->req_seq, FUTEX_WAKE, INT_MAX, NULL);

	budget = cused_spin_budget(&c->spin);
	start = budget ? cused_now_ns() : 0;
	while (budget && !done(db, seq) && cused_now_ns() - start < budget) {
		/*
		 * A signal handled while spinning is invisible to us; QEMU's
		 * handler sets immediate_exit, which we can see: pass it on.
		 */
		if (!ie0 && __atomic_load_n(&run->immediate_exit, __ATOMIC_RELAXED))
			kick(c, seq, &kicked);
		__builtin_ia32_pause();
	}
	if (budget)
		cused_spin_learn(&c->spin, cused_now_ns() - start, done(db, seq));

	while (!done(db, seq)) {
		uint32_t cur;

		/* set the flag before the last look: the daemon wakes iff it sees it */
		__atomic_store_n(&db->client_waiting, 1, __ATOMIC_SEQ_CST);
		cur = __atomic_load_n(&db->done_seq, __ATOMIC_SEQ_CST);
		if (cur == seq)
			break;
		/* a timeout makes a signal handler end the wait with EINTR, never a restart */
		if (futex(&db->done_seq, FUTEX_WAIT, cur, &tmo) == 0 || errno == EAGAIN)
			continue;
		if (errno == EINTR) {
			kick(c, seq, &kicked);
		} else if (errno == ETIMEDOUT) {
			/* a long guest run, or a dead daemon: only FUSE can tell */
			if (sys_ioctl(c->fd, CUSED_IOC_VERSION, NULL) < 0) {
				int e = errno;

				__atomic_store_n(&db->client_waiting, 0, __ATOMIC_RELAXED);
				TRACE("KVM_RUN on %d: daemon gone (errno %d)", c->fd, e);
				errno = e;
				return -1;
			}
		}
	}
	__atomic_store_n(&db->client_waiting, 0, __ATOMIC_RELAXED);

	if (db->result < 0) {
		errno = -db->result;
		return -1;
	}
	return db->result;
}

int shim_run(struct cfd *c)
{
	int r;

	/*
	 * Two threads in KVM_RUN on one vCPU: KVM makes the second wait on
	 * vcpu->mutex.  Without this both would bump req_seq, the daemon would
	 * answer only the later one, and the other would wait for ever.
	 */
	pthread_mutex_lock(&c->run_lock);
	r = run_locked(c);
	pthread_mutex_unlock(&c->run_lock);
	return r;
}
