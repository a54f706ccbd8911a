/* SPDX-License-Identifier: MIT */
/*
 * Kicking a hostkvm vCPU out of (or away from) the guest, from any thread.
 *
 * Two mechanisms, because each covers what the other misses:
 *  - run->immediate_exit = 1: the host checks it when KVM_RUN starts, so a
 *    kick that lands before the runner enters the host (or before run() is
 *    called at all) is not lost;
 *  - HOSTKVM_KICK_SIGNAL to the thread in run(): the host only looks at
 *    immediate_exit on entry, so a runner already in the guest needs a
 *    pending signal to leave.
 * kick() stores immediate_exit before it looks at in_run and run() stores
 * in_run before it enters KVM_RUN (both seq_cst), so at least one of the two
 * reaches the runner.  immediate_exit stays set until run() hands out
 * TX_KICKED, so a kick that races with an ordinary exit makes the next run()
 * return TX_KICKED instead of vanishing.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include "cused/tramp/hostkvm.h"
#include "cused/util/log.h"

static void kick_handler(int sig)
{
	/* nothing: being delivered is the whole point (KVM_RUN sees a signal) */
	(void)sig;
}

int hk_kick_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: KVM_RUN must come back with -EINTR, not be restarted */
	sa.sa_flags = 0;
	if (sigaction(HOSTKVM_KICK_SIGNAL, &sa, NULL))
		return refuse(-errno, "hostkvm: cannot install the kick signal handler: %d", -errno);
	return 0;
}

/* a runner thread that blocks the kick signal could never be kicked */
void hk_kick_prepare_thread(struct tramp_vcpu *v)
{
	pthread_t self = pthread_self();
	sigset_t set;

	if (v->unblocked_valid && pthread_equal(v->unblocked, self))
		return;
	sigemptyset(&set);
	sigaddset(&set, HOSTKVM_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	v->unblocked = self;
	v->unblocked_valid = true;
}

void hk_kick(struct tramp_vcpu *v)
{
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (atomic_load(&v->in_run))
		pthread_kill(v->runner, HOSTKVM_KICK_SIGNAL);
}
