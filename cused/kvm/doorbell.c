/* SPDX-License-Identifier: MIT */
/*
 * The KVM_RUN fast path.  A FUSE round trip costs ~5x a host KVM exit, so
 * KVM_RUN does not go through FUSE: the shim and this thread hand the vCPU
 * back and forth through struct cused_doorbell in the shared kvm_run mapping
 * (see include/cused/shim_abi.h), spinning while that pays (cused/spin.h)
 * and otherwise sleeping on a shared futex.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "cused/kvm/vcpu.h"
#include "cused/kvm/vcpu_irq.h"
#include "cused/spin.h"
#include "cused/util/log.h"

static long futex(uint32_t *uaddr, int op, uint32_t val)
{
	/* shared (not PRIVATE) futexes: the word lives in another process's mapping too */
	return syscall(SYS_futex, uaddr, op, val, NULL, NULL, 0);
}

/* wait until req_seq differs from seen, or the vCPU is dying */
static uint32_t wait_request(struct vcpu *v, uint32_t seen)
{
	struct cused_doorbell *db = v->db;
	uint32_t budget = cused_spin_budget(&v->spin);
	uint64_t start = budget ? cused_now_ns() : 0;
	uint32_t seq;

	for (;;) {
		seq = __atomic_load_n(&db->req_seq, __ATOMIC_ACQUIRE);
		if (seq != seen || atomic_load(&v->dying)) {
			if (budget)
				cused_spin_learn(&v->spin, cused_now_ns() - start, true);
			return seq;
		}
		if (budget && cused_now_ns() - start < budget) {
			__builtin_ia32_pause();
			continue;
		}
		if (budget)
			cused_spin_learn(&v->spin, budget, false);
		break;
	}
	for (;;) {
		__atomic_store_n(&db->daemon_waiting, 1, __ATOMIC_SEQ_CST);
		seq = __atomic_load_n(&db->req_seq, __ATOMIC_SEQ_CST);
		if (seq == seen && !atomic_load(&v->dying))
			futex(&db->req_seq, FUTEX_WAIT, seen);
		__atomic_store_n(&db->daemon_waiting, 0, __ATOMIC_RELAXED);
		seq = __atomic_load_n(&db->req_seq, __ATOMIC_ACQUIRE);
		if (seq != seen || atomic_load(&v->dying))
			return seq;
	}
}

static void *runner_main(void *arg)
{
	struct vcpu *v = arg;
	struct cused_doorbell *db = v->db;
	/* sampled before the thread existed: a request made since is not lost */
	uint32_t seen = v->runner_seen;
	sigset_t term;

	/* shutdown signals belong to the FUSE loop; backend kick signals stay open */
	sigemptyset(&term);
	sigaddset(&term, SIGINT);
	sigaddset(&term, SIGTERM);
	sigaddset(&term, SIGHUP);
	sigaddset(&term, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &term, NULL);

	for (;;) {
		uint32_t seq = wait_request(v, seen);
		int r;

		if (atomic_load(&v->dying))
			break;
		seen = seq;
		pthread_mutex_lock(&v->lock);
		r = vcpu_run(v);
		pthread_mutex_unlock(&v->lock);
		db->result = r;
		__atomic_store_n(&db->done_seq, seq, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&db->client_waiting, __ATOMIC_SEQ_CST))
			futex(&db->done_seq, FUTEX_WAKE, INT_MAX);
	}
	return NULL;
}

int vcpu_runner_start(struct vcpu *v)
{
	int r;

	cused_spin_init(&v->spin);
	v->db->result = 0;
	v->runner_seen = __atomic_load_n(&v->db->req_seq, __ATOMIC_ACQUIRE);
	__atomic_store_n(&v->db->done_seq, v->runner_seen, __ATOMIC_RELEASE);
	r = -pthread_create(&v->runner, NULL, runner_main, v);
	if (r)
		return refuse(r, "vcpu %u: cannot start runner thread", v->id);
	v->runner_started = true;
	/* from now on the shim may skip FUSE for KVM_RUN */
	__atomic_store_n(&v->db->magic, CUSED_DOORBELL_MAGIC, __ATOMIC_RELEASE);
	return 0;
}

void vcpu_runner_stop(struct vcpu *v)
{
	if (!v->runner_started)
		return;
	atomic_store(&v->dying, true);
	/* out of the guest, out of a HLT sleep, out of the futex, then join */
	v->vm->ctx->ops->kick(v->tv);
	vcpu_irq_wake(v);
	futex(&v->db->req_seq, FUTEX_WAKE, INT_MAX);
	pthread_join(v->runner, NULL);
	v->runner_started = false;
	__atomic_store_n(&v->db->magic, 0, __ATOMIC_RELEASE);
}
