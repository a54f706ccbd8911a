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
#include "cused/dbwait.h"
#include "cused/spin.h"
#include "cused/util/log.h"

/* the runner stops waiting for requests: its vCPU is dying or the daemon stopping */
static bool runner_done(struct vcpu *v)
{
	return atomic_load(&v->dying) || atomic_load(&v->vm->ctx->stopping);
}

struct req_wait {
	struct vcpu *v;
	uint32_t seen;
};

static bool request_came(void *arg)
{
	struct req_wait *w = arg;

	return __atomic_load_n(&w->v->db->req_seq, __ATOMIC_ACQUIRE) != w->seen ||
	       runner_done(w->v);
}

/*
 * Wait until req_seq differs from seen, or runner_done().  The client is
 * handling the last exit: usually a few microseconds, so spin first.
 */
static uint32_t wait_request(struct vcpu *v, uint32_t seen)
{
	struct cused_doorbell *db = v->db;
	struct req_wait w = { .v = v, .seen = seen };
	uint64_t woke = 0;
	uint32_t seq;

	__atomic_store_n(&db->daemon_cpu, cused_spin_cpu(), __ATOMIC_RELAXED);
	if (cused_spin_until(&v->spin, request_came, &w, &db->client_cpu) != CUSED_SPIN_READY) {
		/*
		 * No timeout here (a timer per exit costs): a wake for dying /
		 * stopping, which are not the futex word, can be lost, so
		 * vcpu_runner_stop wakes again until the join succeeds.  A runner
		 * left asleep at shutdown runs nothing and answers its next
		 * request with -EIO.
		 */
		while (!request_came(&w))
			cused_db_sleep(&db->req_seq, seen, &db->daemon_waiting, NULL);
		woke = cused_now_ns();
	}
	seq = __atomic_load_n(&db->req_seq, __ATOMIC_ACQUIRE);
	/* the client's word, so maybe nonsense: it only sizes this vCPU's spin */
	cused_spin_answered(&v->spin, __atomic_load_n(&db->req_ns, __ATOMIC_RELAXED), woke);
	return seq;
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

		if (runner_done(v) && seq == seen)
			break;
		seen = seq;
		/* a request that came with the end is answered, not left waiting */
		r = runner_done(v) ? -EIO : vcpu_lock_run(v, NULL);
		/* the client's spin stays off this CPU while the guest runs here */
		__atomic_store_n(&db->daemon_cpu, cused_spin_cpu(), __ATOMIC_RELAXED);
		if (!r) {
			r = vcpu_run(v, NULL);
			vcpu_unlock(v);
		}
		db->result = r;
		__atomic_store_n(&db->done_ns, cused_now_ns(), __ATOMIC_RELAXED);
		cused_db_post(&db->done_seq, seq, &db->client_waiting);
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
	/*
	 * Out of the guest, out of the futex, then join.  The runner may have
	 * checked dying just before we set it and not yet be asleep: a bare
	 * wake would be lost and the join hang, so change the futex word
	 * first and its FUTEX_WAIT returns at once.
	 */
	v->vm->ctx->ops->kick(v->tv);
	vcpu_irq_wake(v);   /* and out of a HLT sleep */
	__atomic_fetch_add(&v->db->req_seq, 1, __ATOMIC_SEQ_CST);
	/* and wake it again until it is gone: one kick may land before it enters the guest */
	for (;;) {
		struct timespec ts;

		vcpu_runner_wake(v);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 10 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		if (pthread_timedjoin_np(v->runner, NULL, &ts) != ETIMEDOUT)
			break;
	}
	v->runner_started = false;
	__atomic_store_n(&v->db->magic, 0, __ATOMIC_RELEASE);
}

void vcpu_runner_wake(struct vcpu *v)
{
	if (v->db)
		cused_db_wake(&v->db->req_seq);
}
