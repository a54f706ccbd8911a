/* SPDX-License-Identifier: MIT */
/*
 * The vCPU side of the in-daemon irqchip (vcpu_irq.h): the runner's entry,
 * sleep and injection, following Linux 6.1 arch/x86/kvm/x86.c
 * vcpu_enter_guest / vcpu_block / inject_pending_event.
 *
 * Waking the runner.  Posters (IPIs, IOAPIC, MSI, timer) OR into the
 * LAPIC's posted IRR and then kick (irqchip_vcpu_kick): wake_seq++ under
 * wlock and, if the runner said it is in the guest (in_guest), the backend
 * kick.  The runner snapshots wake_seq before it folds the posted IRR
 * (lapic_sync) and, its entry prepared, stores in_guest and looks at
 * wake_seq once more: a post it may have missed either shows there (it
 * goes round) or its poster sees in_guest and kicks (KVM's vcpu->mode =
 * IN_GUEST_MODE before the last request check).  So a post that lands
 * while the runner is still in the daemon costs no signal and no bounced
 * entry.  Sleeps snapshot wake_seq before looking for events.
 *
 * A HLT sleep first halt-polls (halt_poll.h): it spins on wake_seq for the
 * vCPU's adaptive window, so a wake-up that comes soon costs the poster a
 * store and no futex wake, and the runner no trip through the scheduler.
 */
#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdlib.h>
#include <time.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include "cused/kvm/vcpu_irq.h"
#include "cused/kvm/vcpu_irq_priv.h"
#include "cused/irq/irqfd.h"
#include "cused/irq/lapic.h"
#include "cused/irq/timerq.h"
#include "cused/util/log.h"

/* a sleeping runner re-checks its flags this often even unwoken: a missed wake-up costs 50 ms, not a wedge */
#define SLEEP_POLL_NS 50000000ull
/* a halt-polling runner looks whether another task wants a CPU this often */
#define POLL_CHECK_NS 20000ull

static void guest_kick(void *ctx)
{
	struct vcpu *v = ctx;

	if (atomic_load(&v->irq->in_guest))
		v->vm->ctx->ops->kick(v->tv);
}

int vcpu_irq_create(struct vcpu *v)
{
	struct irqchip *c = chip_of(v);
	struct vcpu_irq *vi;
	int r;

	if (!c || irqchip_mode(c) == IRQCHIP_NONE)
		return 0;
	vi = calloc(1, sizeof(*vi));
	if (!vi)
		return -ENOMEM;
	v->irq = vi;   /* guest_kick may run as soon as we attach */
	r = irqchip_attach_vcpu(c, v->id, guest_kick, v, &vi->iv);
	if (r) {
		v->irq = NULL;
		free(vi);
		return refuse(r, "KVM_CREATE_VCPU: no LAPIC for vCPU %u: %d", v->id, r);
	}
	vi->lapic = vi->iv->lapic;
	vi->ext_vector = -1;
	vi->loadavg_fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
	/* glibc reads /sys for this: once here, not at every halt */
	vi->ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	/* kvm_arch_vcpu_create: APs wait for INIT */
	vi->mp_state = v->id == c->bsp_id ? KVM_MP_STATE_RUNNABLE : KVM_MP_STATE_UNINITIALIZED;
	lapic_set_caps(vi->lapic, &(struct lapic_caps){ .maxphyaddr = 36 });
	vi_tsc_clock_refresh(v);
	return 0;
}

void vcpu_irq_destroy(struct vcpu *v)
{
	if (!v->irq)
		return;
	irqchip_detach_vcpu(v->irq->iv);
	if (v->irq->loadavg_fd >= 0)
		close(v->irq->loadavg_fd);
	free(v->irq);
	v->irq = NULL;
}

/*
 * The last exit's "ready" still holds at this entry unless the client
 * cleared RFLAGS.IF since (KVM_SET_REGS): KVM's inject_pending_event asks
 * kvm_x86_interrupt_allowed at the entry itself.  Forgetting it would delay
 * a split irqchip VMM's KVM_INTERRUPT, which QEMU sends only after an exit
 * said ready, to an interrupt window the guest may close first (a CLI
 * right after an OUT: the ExtINT then arrives later with a stale vector).
 */
void vcpu_irq_run_start(struct vcpu *v)
{
	uint64_t rflags;

	if (!v->irq)
		return;
	irqchip_vcpu_run_begin(v->irq->iv);
	if (!v->irq->irq_ready)
		return;
	if (vcpu_read_field(v, CUSED_F_RFLAGS, &rflags) || !(rflags & (1u << 9)))   /* IF */
		v->irq->irq_ready = false;
}

void vcpu_irq_run_end(struct vcpu *v)
{
	if (v->irq)
		irqchip_vcpu_run_end(v->irq->iv);
}

void vcpu_irq_wake(struct vcpu *v)
{
	if (v->irq)
		irqchip_vcpu_kick(v->irq->iv);
}

/* seq_cst: pairs with the kick's store of it, then load of in_guest */
static uint64_t wake_seq(struct irqchip_vcpu *iv)
{
	return __atomic_load_n(&iv->wake_seq, __ATOMIC_SEQ_CST);
}

/* a reason for a halted runner to look again: a kick after seq, the client's kick, dying */
static bool woken(struct vcpu *v, uint64_t seq)
{
	return __atomic_load_n(&v->irq->iv->wake_seq, __ATOMIC_ACQUIRE) != seq ||
	       atomic_load(&v->kicked) || atomic_load(&v->dying) || v->run->immediate_exit;
}

/*
 * kvm_vcpu_can_poll's single_task_running(), as far as userspace can see
 * it: every runnable task on the machine has a CPU (/proc/loadavg's
 * running count, which includes this thread, is at most the CPU count).
 * Otherwise spinning takes the CPU from a task that may be the waker.
 */
static bool cpu_to_spare(int fd, long ncpus)
{
	char buf[128];
	ssize_t n;

	if (fd < 0)
		return false;
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return false;
	buf[n] = 0;
	return halt_poll_cpu_to_spare(buf, ncpus);
}

/* this thread's involuntary context switches: someone else wanted its CPU */
static uint64_t preemptions(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_THREAD, &ru) ? 0 : (uint64_t)ru.ru_nivcsw;
}

/*
 * kvm_vcpu_halt's polling loop: true if woken within window.  *deadline is
 * the LAPIC timer's; when it passes, the runner fires it itself (the tick
 * kicks, so the next look sees it).
 */
static bool halt_poll(struct vcpu *v, uint64_t seq, uint64_t start, uint32_t window,
		      uint64_t *deadline)
{
	uint64_t now = start, next_check = start + POLL_CHECK_NS;

	do {
		if (*deadline && now >= *deadline)
			*deadline = irqchip_vcpu_timer_due(v->irq->iv, now);
		if (woken(v, seq))
			return true;
		__builtin_ia32_pause();
		now = timerq_now_ns();
		if (now >= next_check) {
			if (!cpu_to_spare(v->irq->loadavg_fd, v->irq->ncpus))
				return false;
			next_check = now + POLL_CHECK_NS;
		}
	} while (now - start < window);
	return false;
}

/* this thread sleeps to the LAPIC deadline: no timer slack (see timerq.h) */
static void precise_sleeps(void)
{
	static __thread bool done;

	if (!done && !prctl(PR_SET_TIMERSLACK, TIMERQ_SLACK_NS, 0, 0, 0))
		done = true;
}

/*
 * A halted runner of a VM with irqfds sleeps in poll() on them and on its
 * wake eventfd (which a kick writes while efd_sleep is set) until until,
 * and injects a ready irqfd itself: the device thread's write then reaches
 * this vCPU without a hop through the irqfd thread.
 */
static void sleep_on_fds(struct vcpu *v, int wake_fd, int irqfd_fd, uint64_t until)
{
	struct irqchip_vcpu *iv = v->irq->iv;
	struct pollfd p[2] = { { .fd = wake_fd, .events = POLLIN },
			       { .fd = irqfd_fd, .events = POLLIN } };
	uint64_t now = timerq_now_ns(), rel = until > now ? until - now : 0, cnt;
	struct timespec ts = { .tv_sec = (time_t)(rel / 1000000000ull),
			       .tv_nsec = (long)(rel % 1000000000ull) };

	ppoll(p, 2, &ts, NULL);
	pthread_mutex_lock(&iv->wlock);
	iv->efd_sleep = false;
	pthread_mutex_unlock(&iv->wlock);
	if (p[0].revents)
		eventfd_read(wake_fd, &cnt);
	if (p[1].revents)
		irqfd_poll(v->vm->irqfds);
}

/*
 * vcpu_block: until woken(seq).  A halted runner (halted: HLT, not the
 * INIT/SIPI waits, which KVM does not poll either) first halt-polls, and
 * sleeps no longer than its own LAPIC timer, which it fires itself: the
 * timer thread is then off the path of a timer interrupt to a halted vCPU.
 *
 * KVM polls only while no other task wants the CPU (kvm_vcpu_can_poll).
 * Here: only while the machine has no more runnable tasks than CPUs
 * (cpu_to_spare, looked at every POLL_CHECK_NS), and a poll during which
 * this thread was preempted anyway counts as a failed one and shrinks the
 * window, so a loaded machine is not made worse by spinning.
 */
static void sleep_since(struct vcpu *v, uint64_t seq, bool halted)
{
	struct irqchip_vcpu *iv = v->irq->iv;
	const struct halt_poll_params *hp = &v->vm->ctx->halt_poll;
	uint64_t start = timerq_now_ns(), deadline = 0;
	int irqfd_fd, wake_fd = -1;
	bool valid = true;

	atomic_store(&v->irq->in_guest, false);
	if (halted) {
		uint32_t window = halt_poll_window(&v->irq->halt_poll_ns, hp);

		deadline = irqchip_vcpu_timer_due(iv, start);
		if (window && cpu_to_spare(v->irq->loadavg_fd, v->irq->ncpus)) {
			uint64_t pre = preemptions();
			bool polled = halt_poll(v, seq, start, window, &deadline);

			valid = preemptions() == pre;
			if (polled) {
				halt_poll_update(&v->irq->halt_poll_ns, hp, timerq_now_ns() - start,
						 valid);
				return;
			}
		}
	}
	irqfd_fd = halted ? irqfd_poll_fd(v->vm->irqfds) : -1;
	if (irqfd_fd >= 0)
		wake_fd = irqchip_vcpu_wake_fd(iv);
	for (;;) {
		uint64_t now = timerq_now_ns(), until = now + SLEEP_POLL_NS;
		struct timespec ts;
		bool done;

		if (deadline) {
			precise_sleeps();
			if (deadline < until)
				until = deadline;
		}
		pthread_mutex_lock(&iv->wlock);
		done = woken(v, seq);
		if (!done && wake_fd >= 0) {
			iv->efd_sleep = true;
		} else if (!done) {
			ts.tv_sec = (time_t)(until / 1000000000ull);
			ts.tv_nsec = (long)(until % 1000000000ull);
			pthread_cond_timedwait(&iv->wcond, &iv->wlock, &ts);
		}
		pthread_mutex_unlock(&iv->wlock);
		if (done)
			break;
		if (wake_fd >= 0)
			sleep_on_fds(v, wake_fd, irqfd_fd, until);
		if (halted)
			deadline = irqchip_vcpu_timer_due(iv, timerq_now_ns());
	}
	if (halted)
		halt_poll_update(&v->irq->halt_poll_ns, hp, timerq_now_ns() - start, valid);
}

static bool pic_for_me(struct vcpu *v)
{
	return irqchip_pic_has_intr(chip_of(v)) && lapic_accept_pic_intr(v->irq->lapic);
}

/* kvm_vcpu_has_events for a halted vCPU */
static bool has_wake_event(struct vcpu *v)
{
	struct vcpu_irq *vi = v->irq;

	if (vi->nmis || lapic_has_pending_init_or_sipi(vi->lapic))
		return true;
	if (!vi->if_flag)
		return false;
	return pic_for_me(v) || vi->ext_vector >= 0 || lapic_pending_intr(vi->lapic) >= 0;
}

/* inject_pending_event: NMI first, then ExtINT, then the LAPIC's vector */
static int inject(struct vcpu *v)
{
	const struct tramp_ops *ops = v->vm->ctx->ops;
	struct vcpu_irq *vi = v->irq;
	bool want = false, ext = false;
	int vec = -1, r;

	if (vi->nmis && !ops->inject_nmi) {
		/* a backend without NMI injection (kmod): drop them, or HLT would never sleep */
		log_debug("vcpu %u: backend %s cannot inject NMIs; %u dropped", v->id, ops->name,
			  vi->nmis);
		vi->nmis = 0;
	}
	if (vi->nmis && !ops->inject_nmi(v->tv))
		vi->nmis--;
	if (vi->ext_vector >= 0 || pic_for_me(v))
		ext = true;
	else
		vec = lapic_pending_intr(vi->lapic);
	if (ext || vec >= 0) {
		if (vi->irq_ready) {
			if (ext && vi->ext_vector >= 0) {
				vec = vi->ext_vector;
				vi->ext_vector = -1;
			} else if (ext) {
				vec = irqchip_pic_intack(chip_of(v));
			}
			r = ops->inject_irq(v->tv, (uint32_t)vec);
			if (r == -EEXIST) {
				/*
				 * The backend's one event slot holds an exception
				 * queued when the last exit was completed (kmod: #GP
				 * for an MSR the guest may not touch).  As KVM's
				 * inject_pending_event, the interrupt waits behind it
				 * for the window; an acknowledged ExtINT is kept.
				 */
				if (ext)
					vi->ext_vector = vec;
				want = true;
			} else if (r) {
				return refuse(r, "vcpu %u: backend could not inject vector %d: %d",
					      v->id, vec, r);
			} else {
				if (!ext)
					lapic_intr_accepted(vi->lapic, vec);
				vi->irq_ready = false;
			}
		} else {
			want = true;
		}
	}
	/*
	 * The split irqchip's VMM asks for its own window (ExtINT through
	 * KVM_INTERRUPT), which KVM opens only while the vCPU could take that
	 * ExtINT (req_int_win needs kvm_cpu_accept_dm_intr: none pending, LINT0
	 * accepts it).  Opened anyway, a guest with IF=1 and LINT0 masked (Linux
	 * soft-disables its APIC in setup_local_APIC) exits on every instruction
	 * while the PIC's line is up, and the VMM is never told.
	 */
	if (irqchip_mode(chip_of(v)) == IRQCHIP_SPLIT && v->run->request_interrupt_window &&
	    vi->ext_vector < 0 && lapic_accept_pic_intr(vi->lapic))
		want = true;
	if (want != vi->window) {
		vi->window = want;
		ops->request_irq_window(v->tv, want);
	}
	return 0;
}

/*
 * wait_lapic_expire: a LAPIC deadline this close at an entry is waited for
 * and fired here, before in_guest, so the tick's kick is only a wake_seq
 * bump.  From the timer thread it would land as the runner enters, bounce
 * the entry and cost a wake-up, a signal and a second entry.
 */
static void timer_expire_soon(struct vcpu *v)
{
	uint64_t now = timerq_now_ns(), d = irqchip_vcpu_timer_due(v->irq->iv, now);

	if (!d || (d > now && d - now > IRQCHIP_TIMER_ADVANCE_NS))
		return;
	while ((now = timerq_now_ns()) < d)
		__builtin_ia32_pause();
	irqchip_vcpu_timer_due(v->irq->iv, now);
}

int vcpu_irq_enter(struct vcpu *v)
{
	struct vcpu_irq *vi = v->irq;
	uint64_t seq, cr8;
	int r;

	if (!vi)
		return 0;
	/* every state: a near deadline armed in this run is ours to fire (irqchip.h) */
	timer_expire_soon(v);
	seq = wake_seq(vi->iv);
	r = vi_accept_events(v);
	if (r)
		return r;
	if (vi->mp_state == KVM_MP_STATE_UNINITIALIZED) {
		/* kvm_arch_vcpu_ioctl_run: block once, accept events, -EAGAIN */
		if (!lapic_has_pending_init_or_sipi(vi->lapic)) {
			sleep_since(v, seq, false);
			if (atomic_load(&v->kicked) || atomic_load(&v->dying) || v->run->immediate_exit)
				return 1;
		}
		vi_accept_events(v);
		return -EAGAIN;
	}
	if (vi->mp_state == KVM_MP_STATE_INIT_RECEIVED) {
		/* an AP waits for its SIPI inside KVM_RUN */
		if (!lapic_has_pending_init_or_sipi(vi->lapic))
			sleep_since(v, seq, false);
		return 1;
	}
	lapic_sync(vi->lapic);
	vi->nmis += lapic_take_nmis(vi->lapic);
	/* vcpu_block: AP_RESET_HOLD (SEV-ES) waits as HLT does */
	if (vi->mp_state == KVM_MP_STATE_HALTED || vi->mp_state == KVM_MP_STATE_AP_RESET_HOLD) {
		if (!has_wake_event(v)) {
			sleep_since(v, seq, true);
			return 1;
		}
		vi->mp_state = KVM_MP_STATE_RUNNABLE;
		stats_inc(v->stats, VS_HALT_WAKEUP);
	}
	r = inject(v);
	if (r)
		return r;
	cr8 = lapic_get_cr8(vi->lapic);
	/* a TPR written through the APIC shows in CR8 (hostkvm on PVM ignores the load) */
	if (cr8 != vi->cr8 && !vcpu_write_field(v, CUSED_F_CR8, cr8))
		vi->cr8 = cr8;
	/* IN_GUEST_MODE, then the last look: a kick since seq means go round */
	atomic_store(&vi->in_guest, true);
	if (wake_seq(vi->iv) != seq) {
		atomic_store(&vi->in_guest, false);
		return 1;
	}
	return 0;
}

void vcpu_irq_exited(struct vcpu *v, struct tramp_exit *ex)
{
	struct vcpu_irq *vi = v->irq;

	if (!vi)
		return;
	atomic_store(&vi->in_guest, false);
	vi->irq_ready = ex->irq_ready;
	vi->if_flag = ex->if_flag;
	/*
	 * The guest moved CR8 when the backend reports a value it did not
	 * report last time.  Comparing with what we loaded instead would undo
	 * every APIC-side TPR write on a backend that ignores CR8 loads (PVM);
	 * the price is a guest MOV to CR8 of exactly the previously reported
	 * value, between our load and the next exit, going unseen.
	 */
	if (ex->cr8 != vi->cr8_seen) {
		vi->cr8_seen = vi->cr8 = ex->cr8;
		lapic_set_cr8(vi->lapic, ex->cr8);
	}
	/* post_kvm_run_save: kvm_get_cr8 and the APIC base are the LAPIC's */
	ex->cr8 = lapic_get_cr8(vi->lapic);
	ex->apic_base = lapic_get_base(vi->lapic);
	/*
	 * post_kvm_run_save: always ready with an in-kernel PIC; with a split
	 * irqchip, ready for the VMM's ExtINT (kvm_vcpu_ready_for_interrupt_injection).
	 */
	if (irqchip_mode(chip_of(v)) == IRQCHIP_KERNEL)
		ex->irq_ready = true;
	else
		ex->irq_ready = ex->irq_ready && vi->ext_vector < 0 &&
				lapic_accept_pic_intr(vi->lapic);
}

bool vcpu_irq_kick_only(struct vcpu *v)
{
	return v->irq && !atomic_load(&v->kicked) && !atomic_load(&v->dying);
}
