/* SPDX-License-Identifier: MIT */
/*
 * The vCPU lock (struct vcpu_mutex in vcpu.h).  KVM makes an ioctl from
 * another thread wait on vcpu->mutex until KVM_RUN returns, which may be
 * never; a daemon cannot afford that (each wait is a FUSE worker and a
 * client thread in D state).  So an ioctl that finds KVM_RUN holding the
 * lock kicks the guest out; KVM_RUN sees the kick was not the client's
 * (vcpu->kicked is clear), lets the waiting ioctls through and re-enters the
 * guest: the client's KVM_RUN never returns early.  Only the waiter's own
 * signal (a FUSE interrupt) or shutdown ends a wait without the lock.
 */
#include <errno.h>
#include "cused/kvm/vcpu.h"
#include "cused/kvm/vcpu_irq.h"

void vcpu_mutex_init(struct vcpu_mutex *l)
{
	*l = (struct vcpu_mutex){ 0 };
	pthread_mutex_init(&l->m, NULL);
	pthread_cond_init(&l->cv, NULL);
}

void vcpu_mutex_destroy(struct vcpu_mutex *l)
{
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->m);
}

/* why a waiter stops waiting, 0 if it goes on; l->m held */
static int gave_up(struct vcpu *v, struct ioctl_req *rq)
{
	if (atomic_load(&v->vm->ctx->stopping))
		return -EIO;
	if (rq ? atomic_load(&rq->interrupted) : atomic_load(&v->dying))
		return -EINTR;
	return 0;
}

int vcpu_lock(struct vcpu *v, struct ioctl_req *rq)
{
	struct vcpu_mutex *l = &v->lock;
	int r = 0;

	pthread_mutex_lock(&l->m);
	l->waiters++;
	while (l->held && !(r = gave_up(v, rq))) {
		/* the backend remembers a kick that lands between two entries */
		if (l->running) {
			v->vm->ctx->ops->kick(v->tv);
			/* a vCPU halted in the daemon (vcpu_irq.c) is not in the guest */
			vcpu_irq_wake(v);
		}
		pthread_cond_wait(&l->cv, &l->m);
	}
	l->waiters--;
	if (!r)
		l->held = true;
	else
		pthread_cond_broadcast(&l->cv);   /* a yielded KVM_RUN counts waiters */
	pthread_mutex_unlock(&l->m);
	return r;
}

int vcpu_lock_run(struct vcpu *v, struct ioctl_req *rq)
{
	struct vcpu_mutex *l = &v->lock;
	int r = 0;

	pthread_mutex_lock(&l->m);
	/* as KVM: a second KVM_RUN waits for the first, it does not kick it */
	while ((l->held || l->yielded || l->waiters) && !(r = gave_up(v, rq)))
		pthread_cond_wait(&l->cv, &l->m);
	if (!r) {
		l->held = true;
		l->running = true;
		l->run_rq = rq;
	}
	pthread_mutex_unlock(&l->m);
	return r;
}

void vcpu_unlock(struct vcpu *v)
{
	struct vcpu_mutex *l = &v->lock;

	pthread_mutex_lock(&l->m);
	l->held = false;
	l->running = false;
	l->run_rq = NULL;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->m);
}

void vcpu_yield(struct vcpu *v)
{
	struct vcpu_mutex *l = &v->lock;

	pthread_mutex_lock(&l->m);
	if (l->waiters) {
		l->held = false;
		l->running = false;
		l->yielded = true;
		pthread_cond_broadcast(&l->cv);
		/* ioctls are short and waiters give up on shutdown: this ends */
		while (l->held || l->waiters)
			pthread_cond_wait(&l->cv, &l->m);
		l->held = true;
		l->running = true;
		l->yielded = false;
	}
	pthread_mutex_unlock(&l->m);
}

void vcpu_interrupt(struct vcpu *v, struct ioctl_req *rq)
{
	struct vcpu_mutex *l = &v->lock;

	atomic_store(&rq->interrupted, true);
	pthread_mutex_lock(&l->m);
	pthread_cond_broadcast(&l->cv);
	/* a FUSE KVM_RUN returns -EINTR / KVM_EXIT_INTR, as KVM's does on a signal */
	if (l->running && l->run_rq == rq) {
		v->vm->ctx->ops->kick(v->tv);
		vcpu_irq_wake(v);   /* or out of a HLT sleep in the daemon */
	}
	pthread_mutex_unlock(&l->m);
}

void vcpu_abort(struct vcpu *v)
{
	struct vcpu_mutex *l = &v->lock;

	pthread_mutex_lock(&l->m);
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->m);
	v->vm->ctx->ops->kick(v->tv);
	vcpu_irq_wake(v);
	vcpu_runner_wake(v);
}
