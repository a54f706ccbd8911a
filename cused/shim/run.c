/* SPDX-License-Identifier: MIT */
/*
 * KVM_RUN through the doorbell (struct cused_doorbell, shim_abi.h).  A FUSE
 * round trip costs ~5x a host KVM exit, so the shim hands the vCPU to the
 * daemon's runner thread through shared memory: bump req_seq, wake the
 * daemon if it sleeps, spin while that pays (cused/spin.h), then sleep on
 * done_seq (cused/dbwait.h).
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include "cused/dbwait.h"
#include "cused/shim/shim.h"

#define LIVENESS_NS 1000000000 /* how often a sleeper checks the daemon is alive */

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

struct done_wait {
	struct cused_doorbell *db;
	struct kvm_run *run;
	uint32_t seq;
	bool ie0;          /* immediate_exit as KVM_RUN found it */
};

/* the run is done, or a signal handler just asked it to end */
static bool done_or_ie(void *arg)
{
	struct done_wait *w = arg;

	return done(w->db, w->seq) ||
	       (!w->ie0 && __atomic_load_n(&w->run->immediate_exit, __ATOMIC_RELAXED));
}

static int run_locked(struct cfd *c, bool kick_now)
{
	struct cused_doorbell *db = (void *)((char *)c->shared + CUSED_RUN_DOORBELL_OFFSET);
	struct kvm_run *run = c->shared;
	const struct timespec tmo = { .tv_sec = LIVENESS_NS / 1000000000 };
	struct done_wait w = { .db = db, .run = run };
	bool kicked = false, spun;
	uint32_t seq, cur;
	int r;

	/* not served yet (or no more): the daemon answers KVM_RUN itself */
	if (__atomic_load_n(&db->magic, __ATOMIC_ACQUIRE) != CUSED_DOORBELL_MAGIC)
		return shim_real.ioctl(c->fd, KVM_RUN, 0);

	w.ie0 = __atomic_load_n(&run->immediate_exit, __ATOMIC_RELAXED);
	/* run_lock makes this the only writer; atomic all the same (a second
	 * process sharing the fd does not share the lock) */
	__atomic_store_n(&db->req_ns, cused_now_ns(), __ATOMIC_RELAXED);
	__atomic_store_n(&db->client_cpu, cused_spin_cpu(), __ATOMIC_RELAXED);
	seq = w.seq = __atomic_add_fetch(&db->req_seq, 1, __ATOMIC_SEQ_CST);
	cused_db_wake_waiters(&db->req_seq, &db->daemon_waiting);
	if (kick_now)
		kick(c, seq, &kicked);

	/*
	 * Spin while the guest runs: a run that ends within the budget costs
	 * no system call at all.  A signal handled while spinning is invisible
	 * here unless its handler sets immediate_exit (QEMU's, Firecracker's
	 * do): pass that on.  Any other handler that runs during the spin (at
	 * most CUSED_SPIN_MAX_NS after KVM_RUN began) is not seen: its run ends
	 * at the guest's next exit instead of at once.  Such a handler leaves a
	 * gap in the spin, which then stops, so a later signal finds the
	 * thread in FUTEX_WAIT and ends the run as KVM would.
	 */
	spun = cused_spin_until(&c->spin, done_or_ie, &w, &db->daemon_cpu) == CUSED_SPIN_READY;
	if (!done(db, seq) && !w.ie0 && __atomic_load_n(&run->immediate_exit, __ATOMIC_RELAXED))
		kick(c, seq, &kicked);

	while ((cur = __atomic_load_n(&db->done_seq, __ATOMIC_SEQ_CST)) != seq) {
		/* a timeout makes a signal handler end the wait with EINTR, never a restart */
		r = cused_db_sleep(&db->done_seq, cur, &db->client_waiting, &tmo);
		if (r == -EINTR) {
			kick(c, seq, &kicked);
		} else if (r == -ETIMEDOUT) {
			/* a long guest run, or a dead daemon: only FUSE can tell */
			if (sys_ioctl(c->fd, CUSED_IOC_VERSION, NULL) < 0) {
				int e = errno;

				TRACE("KVM_RUN on %d: daemon gone (errno %d)", c->fd, e);
				errno = e;
				return -1;
			}
		}
	}

	cused_spin_answered(&c->spin, __atomic_load_n(&db->done_ns, __ATOMIC_RELAXED),
			    spun ? 0 : cused_now_ns());

	if (db->result < 0) {
		errno = -db->result;
		return -1;
	}
	return db->result;
}

/* KVM's 64-bit sigset as a libc one */
static void to_sigset(uint64_t m, sigset_t *s)
{
	sigemptyset(s);
	for (int sig = 1; sig <= 64; sig++)
		if (m & (1ULL << (sig - 1)))
			sigaddset(s, sig);   /* libc refuses its own internal signals: fine */
}

/* a signal pending now that the vCPU's mask does not block */
static bool pending_unmasked(const sigset_t *vset)
{
	sigset_t p;

	if (sigpending(&p))
		return false;
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(&p, sig) == 1 && sigismember(vset, sig) == 0)
			return true;
	return false;
}

int shim_run(struct cfd *c)
{
	uint64_t m = atomic_load(&c->sigmask);
	bool masked = false, intr = false;
	sigset_t vset, old;
	int r, e;

	/*
	 * Two threads in KVM_RUN on one vCPU: KVM makes the second wait on
	 * vcpu->mutex.  Without this both would bump req_seq, the daemon would
	 * answer only the later one, and the other would wait for ever.
	 */
	pthread_mutex_lock(&c->run_lock);
	/*
	 * KVM_SET_SIGNAL_MASK: KVM runs the vCPU with that mask, so a signal it
	 * leaves unblocked ends the run with EINTR / KVM_EXIT_INTR, and one it
	 * blocks waits until KVM_RUN returns.  One already pending that the mask
	 * unblocks ends the run at once; it stays pending, as in KVM, because
	 * the mask is then not installed.  Otherwise the mask is the thread's
	 * while it waits, and a signal interrupts the wait.  Unlike KVM, the
	 * handler of such a signal runs during the wait even if the thread's
	 * own mask blocks it.
	 */
	if (m & SHIM_SIGMASK_ACTIVE) {
		to_sigset(m & ~SHIM_SIGMASK_ACTIVE, &vset);
		intr = pending_unmasked(&vset);
		if (!intr)
			masked = pthread_sigmask(SIG_SETMASK, &vset, &old) == 0;
	}
	r = run_locked(c, intr);
	e = errno;
	if (masked)
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_mutex_unlock(&c->run_lock);
	errno = e;
	return r;
}

int shim_set_signal_mask(struct cfd *c, const struct kvm_signal_mask *arg)
{
	uint64_t set;

	/* NULL clears the mask; FUSE would fault copying it in, KVM answers 0 */
	if (!arg) {
		atomic_store(&c->sigmask, 0);
		return 0;
	}
	/* the daemon gives KVM's errno (len, readability) */
	if (shim_real.ioctl(c->fd, KVM_SET_SIGNAL_MASK, arg) < 0)
		return -1;
	memcpy(&set, arg->sigset, sizeof(set));
	/* kvm_vcpu_ioctl_set_sigmask: SIGKILL and SIGSTOP are never blocked */
	set &= ~((1ULL << (SIGKILL - 1)) | (1ULL << (SIGSTOP - 1)));
	atomic_store(&c->sigmask, set | SHIM_SIGMASK_ACTIVE);
	return 0;
}
