/* SPDX-License-Identifier: MIT */
/* KVM_IRQFD: rules as Linux 6.1 virt/kvm/eventfd.c; protocol in irqfd.h */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "cused/irq/irqfd.h"
#include "cused/irq/irq_line.h"
#include "cused/irq/routing.h"
#include "cused/irq/evfd.h"
#include "cused/util/log.h"

struct irqfd {
	struct irqfd *next;        /* s->list or s->zombies */
	uint32_t gsi;
	int fd;                    /* the daemon's copy of the client's eventfd */
	uint64_t efd_id;
	int resamplefd;            /* -1 unless KVM_IRQFD_FLAG_RESAMPLE */
	bool dead;                 /* under cb_lock: deassigned, inject nothing */
};

struct irqfd_set {
	pthread_mutex_t lock;      /* covers list, n, sink, thread start */
	struct irqfd *list;
	unsigned n, nfds;
	struct irqfd_sink sink;    /* set_irq NULL: no irqchip */
	/* the thread */
	pthread_mutex_t cb_lock;   /* held while injecting; covers zombies, irqfd->dead */
	struct irqfd *zombies;     /* deassigned; freed by the thread between waits */
	int epfd, wake_fd;         /* wake_fd: stop, or zombies to free */
	bool started, stop;
	pthread_t thread;
};

static int route(void *ctx, uint32_t gsi, unsigned source, bool level)
{
	return routing_set_irq(ctx, gsi, source, level);
}

struct irqfd_sink irqfd_routing_sink(struct routing *rt, bool full)
{
	return (struct irqfd_sink){ .set_irq = route, .ctx = rt, .resample = full };
}

int irqfd_set_create(struct irqfd_set **out)
{
	struct irqfd_set *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->cb_lock, NULL);
	s->epfd = s->wake_fd = -1;
	*out = s;
	return 0;
}

static void irqfd_free(struct irqfd *f)
{
	close(f->fd);
	if (f->resamplefd >= 0)
		close(f->resamplefd);
	free(f);
}

static void free_list(struct irqfd *f)
{
	while (f) {
		struct irqfd *next = f->next;

		irqfd_free(f);
		f = next;
	}
}

void irqfd_set_destroy(struct irqfd_set *s)
{
	if (!s)
		return;
	if (s->started) {
		pthread_mutex_lock(&s->cb_lock);
		s->stop = true;
		pthread_mutex_unlock(&s->cb_lock);
		eventfd_write(s->wake_fd, 1);
		pthread_join(s->thread, NULL);
	}
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	free_list(s->list);
	free_list(s->zombies);
	pthread_mutex_destroy(&s->cb_lock);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void irqfd_set_sink(struct irqfd_set *s, const struct irqfd_sink *sink)
{
	pthread_mutex_lock(&s->cb_lock);
	pthread_mutex_lock(&s->lock);
	s->sink = *sink;
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_unlock(&s->cb_lock);
}

unsigned irqfd_fds(struct irqfd_set *s)
{
	unsigned n;

	pthread_mutex_lock(&s->lock);
	n = s->nfds;
	pthread_mutex_unlock(&s->lock);
	return n;
}

unsigned irqfd_count(struct irqfd_set *s)
{
	unsigned n;

	pthread_mutex_lock(&s->lock);
	n = s->n;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* irqfd_inject(): an edge for a plain irqfd, a held level for a resampling one */
static void inject(const struct irqfd_sink *k, const struct irqfd *f)
{
	if (f->resamplefd < 0) {
		k->set_irq(k->ctx, f->gsi, IRQ_SRC_USERSPACE, true);
		k->set_irq(k->ctx, f->gsi, IRQ_SRC_USERSPACE, false);
	} else {
		k->set_irq(k->ctx, f->gsi, IRQ_SRC_IRQFD_RESAMPLE, true);
	}
}

/* inject for each ready irqfd of ev[]; cb_lock held (no zombie can be freed meanwhile) */
static void inject_ready(struct irqfd_set *s, const struct epoll_event *ev, int n)
{
	uint64_t cnt;

	for (int i = 0; i < n; i++) {
		struct irqfd *f = ev[i].data.ptr;

		/* the wake fd is the thread's: stop and zombies are its business */
		if (!f)
			continue;
		/* the client may read its eventfd too, or the other waiter got it first */
		if (f->dead || evfd_drain(f->fd, &cnt) != 1)
			continue;
		inject(&s->sink, f);
	}
}

int irqfd_poll_fd(struct irqfd_set *s)
{
	int fd;

	pthread_mutex_lock(&s->lock);
	fd = s->started ? s->epfd : -1;
	pthread_mutex_unlock(&s->lock);
	return fd;
}

void irqfd_poll(struct irqfd_set *s)
{
	struct epoll_event ev[32];
	int n;

	/*
	 * Under cb_lock from before the wait to after the injections: an
	 * event names an irqfd that deassign can only turn into a zombie, and
	 * the thread only free, once we are done with it.  Held by the thread:
	 * it is injecting now, and its kick is what the caller waits for.
	 */
	if (pthread_mutex_trylock(&s->cb_lock))
		return;
	if (s->started && !s->stop) {
		n = epoll_wait(s->epfd, ev, 32, 0);
		if (n > 0)
			inject_ready(s, ev, n);
	}
	pthread_mutex_unlock(&s->cb_lock);
}

static void *thread_main(void *arg)
{
	struct irqfd_set *s = arg;
	struct epoll_event ev[32];
	struct irqfd *z;
	uint64_t cnt;
	int n;

	for (;;) {
		/* no event of the last batch points at a zombie any more */
		pthread_mutex_lock(&s->cb_lock);
		z = s->zombies;
		s->zombies = NULL;
		if (s->stop) {
			pthread_mutex_unlock(&s->cb_lock);
			free_list(z);
			return NULL;
		}
		pthread_mutex_unlock(&s->cb_lock);
		free_list(z);
		n = epoll_wait(s->epfd, ev, 32, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_err("irqfd: epoll_wait: %d; irqfds of this VM stop", -errno);
			return NULL;
		}
		pthread_mutex_lock(&s->cb_lock);
		for (int i = 0; i < n; i++)
			if (!ev[i].data.ptr)
				eventfd_read(s->wake_fd, &cnt);
		inject_ready(s, ev, n);
		pthread_mutex_unlock(&s->cb_lock);
	}
}

static int start_locked(struct irqfd_set *s)
{
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = NULL };
	int r;

	if (s->started)
		return 0;
	if (s->epfd < 0)
		s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->wake_fd < 0)
		s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->epfd < 0 || s->wake_fd < 0)
		return -errno;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->wake_fd, &e) && errno != EEXIST)
		return -errno;
	r = pthread_create(&s->thread, NULL, thread_main, s);
	if (r)
		return -r;
	s->started = true;
	return 0;
}

static int assign_locked(struct irqfd_set *s, struct irqfd *f)
{
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = f };
	int r;

	for (struct irqfd *q = s->list; q; q = q->next)
		if (q->efd_id == f->efd_id)
			return refuse(-EBUSY, "KVM_IRQFD: that eventfd already is an irqfd (gsi %u)",
				      q->gsi);
	if (s->n >= IRQFD_MAX)
		return refuse(-ENOMEM, "KVM_IRQFD: VM already has %u irqfds", s->n);
	r = start_locked(s);
	if (r)
		return refuse(r, "KVM_IRQFD: cannot start the irqfd thread: %d", r);
	/* level-triggered: a count already there is reported at once */
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, f->fd, &e))
		return refuse(-errno, "KVM_IRQFD: epoll_ctl: %d", -errno);
	f->next = s->list;
	s->list = f;
	s->n++;
	s->nfds += f->resamplefd >= 0 ? 2 : 1;
	return 0;
}

static int assign(struct irqfd_set *s, const struct kvm_irqfd *a, int fd, int resamplefd)
{
	bool resample = a->flags & KVM_IRQFD_FLAG_RESAMPLE;
	struct irqfd *f;
	uint64_t id, rid;
	bool allowed;
	int r;

	pthread_mutex_lock(&s->lock);
	allowed = s->sink.set_irq && (!resample || s->sink.resample);
	pthread_mutex_unlock(&s->lock);
	/* kvm_arch_irqfd_allowed(): irqchip_in_kernel, irqchip_kernel to resample */
	if (!allowed)
		return refuse(-EINVAL, "KVM_IRQFD: %s", resample ?
			      "RESAMPLE needs KVM_CREATE_IRQCHIP" : "no in-kernel irqchip");
	if (fd < 0)
		return refuse(fd, "KVM_IRQFD: fd %d: %d", a->fd, fd);
	if (evfd_check(fd, &id))
		return refuse(-EINVAL, "KVM_IRQFD: fd %d is not an eventfd", a->fd);
	if (resample) {
		if (resamplefd < 0)
			return refuse(resamplefd, "KVM_IRQFD: resamplefd %d: %d", a->resamplefd,
				      resamplefd);
		if (evfd_check(resamplefd, &rid))
			return refuse(-EINVAL, "KVM_IRQFD: resamplefd %d is not an eventfd",
				      a->resamplefd);
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->gsi = a->gsi;
	f->fd = fd;
	f->efd_id = id;
	f->resamplefd = resample ? resamplefd : -1;
	pthread_mutex_lock(&s->lock);
	r = assign_locked(s, f);
	pthread_mutex_unlock(&s->lock);
	if (r)
		free(f);   /* irqfd_ioctl closes the fds */
	return r;
}

static bool resampled_locked(struct irqfd_set *s, uint32_t gsi)
{
	for (struct irqfd *q = s->list; q; q = q->next)
		if (q->gsi == gsi && q->resamplefd >= 0)
			return true;
	return false;
}

static int deassign(struct irqfd_set *s, const struct kvm_irqfd *a, int fd)
{
	struct irqfd **pp, *f = NULL;
	bool lower = false;
	struct irqfd_sink k;
	uint64_t id;

	if (fd < 0)
		return refuse(fd, "KVM_IRQFD deassign: fd %d: %d", a->fd, fd);
	if (evfd_check(fd, &id))
		return refuse(-EINVAL, "KVM_IRQFD deassign: fd %d is not an eventfd", a->fd);
	pthread_mutex_lock(&s->lock);
	for (pp = &s->list; *pp; pp = &(*pp)->next)
		if ((*pp)->efd_id == id && (*pp)->gsi == a->gsi) {
			f = *pp;
			*pp = f->next;
			s->n--;
			s->nfds -= f->resamplefd >= 0 ? 2 : 1;
			epoll_ctl(s->epfd, EPOLL_CTL_DEL, f->fd, NULL);
			/* the last resampler of a GSI takes its line down (irqfd_resampler_shutdown) */
			lower = f->resamplefd >= 0 && !resampled_locked(s, f->gsi);
			break;
		}
	k = s->sink;
	pthread_mutex_unlock(&s->lock);
	if (!f)
		return 0;
	/* after this no injection for f can start, and none is running */
	pthread_mutex_lock(&s->cb_lock);
	f->dead = true;
	f->next = s->zombies;
	s->zombies = f;
	pthread_mutex_unlock(&s->cb_lock);
	eventfd_write(s->wake_fd, 1);
	if (lower)
		k.set_irq(k.ctx, a->gsi, IRQ_SRC_IRQFD_RESAMPLE, false);
	return 0;
}

int irqfd_ioctl(struct irqfd_set *s, const struct kvm_irqfd *a, int fd, int resamplefd)
{
	bool keep = false;
	int r;

	if (a->flags & ~(KVM_IRQFD_FLAG_DEASSIGN | KVM_IRQFD_FLAG_RESAMPLE))
		r = refuse(-EINVAL, "KVM_IRQFD: unknown flags %#x", a->flags);
	else if (a->flags & KVM_IRQFD_FLAG_DEASSIGN)
		r = deassign(s, a, fd);
	else
		keep = !(r = assign(s, a, fd, resamplefd));
	if (!keep) {
		if (fd >= 0)
			close(fd);
		if (resamplefd >= 0)
			close(resamplefd);
	} else if (resamplefd >= 0 && !(a->flags & KVM_IRQFD_FLAG_RESAMPLE)) {
		close(resamplefd);
	}
	return r;
}

void irqfd_ack(struct irqfd_set *s, uint32_t gsi)
{
	struct irqfd_sink k;
	int *fds = NULL;
	unsigned n = 0, cap = 0;
	bool any = false;

	pthread_mutex_lock(&s->lock);
	for (struct irqfd *q = s->list; q; q = q->next) {
		if (q->gsi != gsi || q->resamplefd < 0)
			continue;
		any = true;
		if (n == cap) {
			int *nf = realloc(fds, (cap = cap ? cap * 2 : 4) * sizeof(*fds));

			if (!nf)
				break;
			fds = nf;
		}
		/* our own copy: signalled after the unlock, and a deassign may close q's */
		fds[n] = fcntl(q->resamplefd, F_DUPFD_CLOEXEC, 0);
		if (fds[n] >= 0)
			n++;
	}
	k = s->sink;
	pthread_mutex_unlock(&s->lock);
	if (any) {
		k.set_irq(k.ctx, gsi, IRQ_SRC_IRQFD_RESAMPLE, false);
		for (unsigned i = 0; i < n; i++) {
			evfd_signal(fds[i]);
			close(fds[i]);
		}
	}
	free(fds);
}
