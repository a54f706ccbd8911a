/* SPDX-License-Identifier: MIT */
/*
 * The per-VM interrupt container (irqchip.h): the devices' environment
 * hooks and how they are wired together, creation in KVM's modes and order
 * (x86.c kvm_arch_vm_ioctl / kvm_vm_ioctl_enable_cap), the vCPUs' LAPICs
 * and the guest accesses the runner hands over.  The VM ioctls are in
 * irqchip_ioctl.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <linux/kvm.h>
#include "cused/irq/irqchip.h"
#include "cused/irq/apic_bus.h"
#include "cused/irq/ioapic.h"
#include "cused/irq/irq_line.h"
#include "cused/irq/lapic.h"
#include "cused/irq/pic.h"
#include "cused/irq/pit.h"
#include "cused/irq/routing.h"
#include "cused/util/log.h"

/* ---- environment hooks ------------------------------------------------ */

static uint64_t env_now(void *ctx)
{
	(void)ctx;
	return timerq_now_ns();
}

static uint64_t tick_io(void *dev, uint64_t now) { return ioapic_tick(dev, now); }
static uint64_t tick_pit(void *dev, uint64_t now) { return pit_tick(dev, now); }
static uint64_t tick_lapic(void *dev, uint64_t now) { return lapic_timer_tick(dev, now); }

/* after irqchip_free stopped the thread, tq is NULL and destroy's cancels are no-ops */
static void arm(struct irqchip *c, void *dev, timerq_tick_fn fn, uint64_t d)
{
	if (c->tq)
		timerq_arm(c->tq, dev, fn, d);
}

static void arm_io(void *ctx, void *dev, uint64_t d)
{
	arm(ctx, dev, tick_io, d);
}

static void arm_pit(void *ctx, void *dev, uint64_t d)
{
	arm(ctx, dev, tick_pit, d);
}

static int env_deliver(void *ctx, const struct irq_msg *m)
{
	return apic_bus_deliver(((struct irqchip *)ctx)->bus, m);
}

/* PIT channel 0 -> GSI 0, as pit_do_work() raises and lowers it */
static void pit_pulse(void *ctx)
{
	struct irqchip *c = ctx;

	if (!c->rt)
		return;   /* a PIT without an irqchip pulses into nothing, as in KVM */
	routing_set_irq(c->rt, 0, IRQ_SRC_PIT, true);
	routing_set_irq(c->rt, 0, IRQ_SRC_PIT, false);
}

/* kvm_notify_acked_irq / kvm_fire_mask_notifiers: the PIT (GSI 0), irqfd resamplers */
static void notify_ack(struct irqchip *c, unsigned chip, unsigned pin)
{
	struct pit *pit = irqchip_pit(c);
	int gsi = routing_map_chip_pin(c->rt, chip, pin);

	if (pit && gsi == 0)
		pit_irq_ack(pit);
	if (gsi >= 0 && c->ack_notify)
		c->ack_notify(c->ack_ctx, gsi);
}

static void notify_mask(struct irqchip *c, unsigned chip, unsigned pin, bool masked)
{
	struct pit *pit = irqchip_pit(c);

	if (pit && routing_map_chip_pin(c->rt, chip, pin) == 0)
		pit_irq_mask(pit, masked);
}

static void pic_ack(void *ctx, unsigned irq)
{
	notify_ack(ctx, irq < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE, irq);
}

static void pic_mask(void *ctx, unsigned irq, bool masked)
{
	notify_mask(ctx, irq < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE, irq, masked);
}

static void io_ack(void *ctx, unsigned pin)
{
	notify_ack(ctx, KVM_IRQCHIP_IOAPIC, pin);
}

static void io_mask(void *ctx, unsigned pin, bool masked)
{
	notify_mask(ctx, KVM_IRQCHIP_IOAPIC, pin, masked);
}

/* INTR rose: the vCPU whose LINT0 takes ExtINT will see it (KVM pic_unlock) */
static void pic_intr(void *ctx, bool level)
{
	struct irqchip *c = ctx;
	struct irqchip_vcpu *list[IRQCHIP_MAX_LAPICS];
	unsigned n;

	if (!level)
		return;
	pthread_mutex_lock(&c->lock);
	n = c->nr_vcpus;
	memcpy(list, c->vcpus, n * sizeof(list[0]));
	pthread_mutex_unlock(&c->lock);
	for (unsigned i = 0; i < n; i++)
		irqchip_vcpu_kick(list[i]);
}

/* LAPIC hooks: ctx is the struct irqchip_vcpu */
static void arm_lapic(void *ctx, void *dev, uint64_t d)
{
	struct irqchip_vcpu *iv = ctx;
	struct timerq *tq = iv->chip->tq;

	/*
	 * Inside KVM_RUN a deadline this close is the runner's: it fires it
	 * before the next entry or hands it over when the run ends
	 * (irqchip_vcpu_run_end).  Waking the thread for it would only have it
	 * preempt the runner and race it for the tick.
	 */
	if (tq && iv->in_run && d && d <= timerq_now_ns() + IRQCHIP_TIMER_ADVANCE_NS)
		timerq_arm_lazy(tq, dev, tick_lapic, d);
	else
		arm(iv->chip, dev, tick_lapic, d);
}

static int lapic_env_deliver(void *ctx, const struct irq_msg *m)
{
	return apic_bus_deliver(((struct irqchip_vcpu *)ctx)->chip->bus, m);
}

static void lapic_env_kick(void *ctx, void *dev)
{
	(void)dev;
	irqchip_vcpu_kick(ctx);
}

/*
 * kvm_ioapic_send_eoi, for every EOI: the split irqchip exits to the VMM
 * for level vectors (KVM: the vectors of level routes); the in-kernel
 * IOAPIC runs its ack notifiers for all, clears remote IRR for level ones
 * unless directed EOI is on.
 */
static void lapic_env_eoi(void *ctx, uint8_t vector, bool tmr)
{
	struct irqchip_vcpu *iv = ctx;
	struct irqchip *c = iv->chip;

	if (irqchip_mode(c) == IRQCHIP_SPLIT) {
		if (tmr)
			iv->pending_eoi = vector;   /* the runner is the caller: no race */
	} else if (c->io) {
		ioapic_update_eoi(c->io, vector,
				  tmr && !(lapic_reg(iv->lapic, 0xf0) & (1u << 12)));
	}
}

/* ---- container -------------------------------------------------------- */

int irqchip_new(struct irqchip **out)
{
	struct irqchip *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	c->env_io = (struct irq_env){ .now_ns = env_now, .arm = arm_io, .deliver = env_deliver,
				      .ctx = c };
	c->env_pit = (struct irq_env){ .now_ns = env_now, .arm = arm_pit, .deliver = env_deliver,
				       .ctx = c };
	c->env_rt = (struct irq_env){ .now_ns = env_now, .deliver = env_deliver, .ctx = c };
	c->pic_hooks = (struct pic_env){ .intr = pic_intr, .ack = pic_ack, .mask = pic_mask, .ctx = c };
	c->io_hooks = (struct ioapic_env){ .ack = io_ack, .mask = io_mask, .ctx = c };
	c->pit_hooks = (struct pit_env){ .pulse = pit_pulse, .ctx = c };
	*out = c;
	return 0;
}

void irqchip_free(struct irqchip *c)
{
	struct pit *pit;

	if (!c)
		return;
	pit = irqchip_pit(c);
	/* wait out running ticks before the devices go */
	if (c->tq) {
		if (pit)
			timerq_cancel_sync(c->tq, pit);
		if (c->io)
			timerq_cancel_sync(c->tq, c->io);
		for (unsigned i = 0; i < c->nr_vcpus; i++)
			timerq_cancel_sync(c->tq, c->vcpus[i]->lapic);
		/* nothing can re-arm now: stop the thread before freeing */
		timerq_destroy(c->tq);
		c->tq = NULL;
	}
	for (unsigned i = 0; i < c->nr_vcpus; i++) {
		struct irqchip_vcpu *iv = c->vcpus[i];

		lapic_destroy(iv->lapic);
		if (iv->wake_efd >= 0)
			close(iv->wake_efd);
		pthread_cond_destroy(&iv->wcond);
		pthread_mutex_destroy(&iv->wlock);
		free(iv);
	}
	pit_destroy(pit);
	routing_destroy(c->rt);
	ioapic_destroy(c->io);
	pic_destroy(c->pic);
	apic_bus_destroy(c->bus);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* the timer thread and the bus, shared by every mode; chip->lock held */
static int ensure_common(struct irqchip *c)
{
	int r;

	if (!c->tq) {
		r = timerq_create(&c->tq);
		if (r)
			return r;
	}
	if (!c->bus) {
		r = apic_bus_create(IRQCHIP_MAX_LAPICS, &c->bus);
		if (r)
			return r;
		apic_bus_set_x2apic_api(c->bus, c->x2apic_api);
	}
	return 0;
}


int irqchip_create_kernel(struct irqchip *c, bool have_vcpus)
{
	int r;

	pthread_mutex_lock(&c->lock);
	r = -EEXIST;
	if (irqchip_mode(c) != IRQCHIP_NONE)
		goto out;
	r = -EINVAL;
	if (have_vcpus)
		goto out;
	r = ensure_common(c);
	if (r)
		goto out;
	if (!c->pic && (r = pic_create(&c->pic_hooks, &c->pic)))
		goto out;
	if (!c->io && (r = ioapic_create(&c->env_io, &c->io_hooks, &c->io)))
		goto out;
	r = routing_create(c->pic, c->io, &c->env_rt, &c->rt);
	if (!r)
		r = routing_set_default(c->rt);
	if (r) {
		/* mode stays NONE: leave nothing half-made behind */
		routing_destroy(c->rt);
		c->rt = NULL;
		goto out;
	}
	__atomic_store_n((int *)&c->mode, IRQCHIP_KERNEL, __ATOMIC_RELEASE);
out:
	pthread_mutex_unlock(&c->lock);
	return r;
}

int irqchip_create_split(struct irqchip *c, uint64_t nr_pins, bool have_vcpus)
{
	int r;

	if (nr_pins > IRQCHIP_MAX_RESERVED_IOAPIC_PINS)
		return refuse(-EINVAL, "KVM_CAP_SPLIT_IRQCHIP: %llu pins > %u",
			      (unsigned long long)nr_pins, IRQCHIP_MAX_RESERVED_IOAPIC_PINS);
	pthread_mutex_lock(&c->lock);
	r = -EEXIST;
	if (irqchip_mode(c) != IRQCHIP_NONE || have_vcpus)
		goto out;
	r = ensure_common(c);
	if (!r && !c->rt)
		r = routing_create(NULL, NULL, &c->env_rt, &c->rt);
	if (r)
		goto out;
	c->nr_reserved_ioapic_pins = (unsigned)nr_pins;
	__atomic_store_n((int *)&c->mode, IRQCHIP_SPLIT, __ATOMIC_RELEASE);
out:
	pthread_mutex_unlock(&c->lock);
	return r;
}

int irqchip_set_boot_cpu(struct irqchip *c, uint64_t id, bool have_vcpus)
{
	if (have_vcpus)
		return refuse(-EBUSY, "KVM_SET_BOOT_CPU_ID after vCPUs were created");
	pthread_mutex_lock(&c->lock);
	c->bsp_id = (uint32_t)id;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

int irqchip_create_pit(struct irqchip *c, uint32_t flags)
{
	struct pit *pit;
	int r;

	pthread_mutex_lock(&c->lock);
	r = -EEXIST;
	if (irqchip_pit(c))
		goto out;
	r = ensure_common(c);
	if (!r)
		r = pit_create(&c->env_pit, &c->pit_hooks, flags, &pit);
	if (!r)
		atomic_store_explicit(&c->pit, pit, memory_order_release);
out:
	pthread_mutex_unlock(&c->lock);
	return r;
}

/* ---- vCPUs ------------------------------------------------------------ */

static struct lapic_config lapic_cfg(struct irqchip *c, uint32_t vcpu_id, unsigned index)
{
	return (struct lapic_config){
		.vcpu_id = vcpu_id,
		.vcpu_index = (int)index,
		.bsp = vcpu_id == c->bsp_id,
		.bus = c->bus,
		.x2apic_format = c->x2apic_api & APIC_BUS_X2APIC_FORMAT,
	};
}

int irqchip_attach_vcpu(struct irqchip *c, uint32_t vcpu_id, void (*kick)(void *),
			void *kick_ctx, struct irqchip_vcpu **out)
{
	struct irqchip_vcpu *iv = NULL;
	struct lapic_config cfg;
	int r = 0;

	pthread_mutex_lock(&c->lock);
	for (unsigned i = 0; i < c->nr_vcpus; i++)
		if (c->vcpus[i]->vcpu_id == vcpu_id)
			iv = c->vcpus[i];
	if (iv) {
		/* the same id again: its LAPIC comes back from RESET */
		lapic_reset(iv->lapic, false);
	} else {
		r = -ENOSPC;
		if (c->nr_vcpus == IRQCHIP_MAX_LAPICS)
			goto out;
		r = -ENOMEM;
		iv = calloc(1, sizeof(*iv));
		if (!iv)
			goto out;
		iv->chip = c;
		iv->vcpu_id = vcpu_id;
		iv->index = c->nr_vcpus;
		iv->pending_eoi = -1;
		iv->wake_efd = -1;
		pthread_mutex_init(&iv->wlock, NULL);
		/* the runner sleeps until its LAPIC deadline, which is on CLOCK_MONOTONIC */
		{
			pthread_condattr_t ca;

			pthread_condattr_init(&ca);
			pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
			pthread_cond_init(&iv->wcond, &ca);
			pthread_condattr_destroy(&ca);
		}
		iv->env = (struct irq_env){ .now_ns = env_now, .arm = arm_lapic,
					    .deliver = lapic_env_deliver, .kick = lapic_env_kick,
					    .eoi_any = lapic_env_eoi, .ctx = iv };
		cfg = lapic_cfg(c, vcpu_id, iv->index);
		r = lapic_create(&cfg, &iv->env, &iv->lapic);
		if (r) {
			pthread_cond_destroy(&iv->wcond);
			pthread_mutex_destroy(&iv->wlock);
			free(iv);
			goto out;
		}
		c->vcpus[c->nr_vcpus++] = iv;
	}
	pthread_mutex_lock(&iv->wlock);
	iv->kick = kick;
	iv->kick_ctx = kick_ctx;
	pthread_mutex_unlock(&iv->wlock);
	*out = iv;
out:
	pthread_mutex_unlock(&c->lock);
	return r;
}

void irqchip_detach_vcpu(struct irqchip_vcpu *iv)
{
	if (!iv)
		return;
	pthread_mutex_lock(&iv->wlock);
	iv->kick = NULL;
	iv->kick_ctx = NULL;
	pthread_mutex_unlock(&iv->wlock);
	/* quiet its timer and take it off the bus: a gone vCPU receives nothing */
	lapic_reset(iv->lapic, false);
	apic_bus_publish(iv->chip->bus, iv->index, &(struct apic_bus_entry){ .lapic = NULL });
}

void irqchip_vcpu_kick(struct irqchip_vcpu *iv)
{
	pthread_mutex_lock(&iv->wlock);
	/*
	 * seq_cst, and read without the lock by the runner: it stores
	 * in_guest and then reads this, we store this and then (iv->kick)
	 * read in_guest, so one of us sees the other.
	 */
	__atomic_store_n(&iv->wake_seq, iv->wake_seq + 1, __ATOMIC_SEQ_CST);
	if (iv->efd_sleep) {
		iv->efd_sleep = false;
		eventfd_write(iv->wake_efd, 1);
	}
	if (iv->kick)
		iv->kick(iv->kick_ctx);
	pthread_mutex_unlock(&iv->wlock);
	/*
	 * After the unlock: a sleeper looks at wake_seq under wlock before it
	 * waits, so it cannot miss this, and woken under our lock it would
	 * only block on it again (two more futex calls per wake-up).
	 */
	pthread_cond_broadcast(&iv->wcond);
}

void irqchip_vcpu_run_begin(struct irqchip_vcpu *iv)
{
	iv->in_run = true;
}

int irqchip_vcpu_wake_fd(struct irqchip_vcpu *iv)
{
	if (iv->wake_efd < 0) {
		int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

		pthread_mutex_lock(&iv->wlock);
		iv->wake_efd = fd;
		pthread_mutex_unlock(&iv->wlock);
	}
	return iv->wake_efd;
}

void irqchip_vcpu_run_end(struct irqchip_vcpu *iv)
{
	iv->in_run = false;
	if (iv->chip->tq)
		timerq_sync(iv->chip->tq);
}

uint64_t irqchip_vcpu_timer_due(struct irqchip_vcpu *iv, uint64_t now)
{
	struct timerq *tq = iv->chip->tq;
	/* the LAPIC's own lock, not the queue's every vCPU shares: this runs per entry */
	uint64_t d = lapic_timer_deadline(iv->lapic);

	if (!tq || !d || d > now)
		return tq ? d : 0;
	return timerq_fire_due(tq, iv->lapic, now);
}

/* ---- guest accesses --------------------------------------------------- */

int irqchip_pio(struct irqchip *c, uint16_t port, bool in, void *data, unsigned len)
{
	struct pit *pit = irqchip_pit(c);
	int r = -ENOENT;

	if (irqchip_mode(c) == IRQCHIP_KERNEL)
		r = in ? pic_read(c->pic, port, data, len) : pic_write(c->pic, port, data, len);
	if (r == -ENOENT && pit)
		r = in ? pit_read(pit, port, data, len) : pit_write(pit, port, data, len);
	return r;
}

int irqchip_ioapic_mmio(struct irqchip *c, uint64_t gpa, bool write, void *data, unsigned len)
{
	if (irqchip_mode(c) != IRQCHIP_KERNEL)
		return -ENOENT;
	return write ? ioapic_write(c->io, gpa, data, len) : ioapic_read(c->io, gpa, data, len);
}

bool irqchip_pic_has_intr(struct irqchip *c)
{
	return irqchip_mode(c) == IRQCHIP_KERNEL && pic_has_intr(c->pic);
}

int irqchip_pic_intack(struct irqchip *c)
{
	return pic_intack(c->pic);
}
