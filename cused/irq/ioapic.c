/* SPDX-License-Identifier: MIT */
/*
 * IOAPIC model; mirrors Linux arch/x86/kvm/ioapic.c (ioapic_set_irq,
 * ioapic_service, ioapic_write_indirect, __kvm_ioapic_update_eoi,
 * kvm_get_ioapic/kvm_set_ioapic).
 *
 * Locking: one cmutex.  KVM delivers with its spinlock held and sets remote
 * IRR from the result; we may not call out under the lock, so service_locked()
 * only decides: it sets remote IRR at once (so a second assertion is held
 * back, as in KVM), queues the message in a struct ioapic_out, and the
 * unlocking path delivers.  If no LAPIC accepted a level message (deliver
 * returned 0, where KVM leaves remote IRR clear), deliver_out() clears remote
 * IRR again unless the pin was serviced anew meanwhile (seq[] changed).
 * Ack notifiers run with the lock dropped, before remote IRR is cleared, as
 * in KVM, so an irqfd resampler can de-assert the line before re-delivery.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "cused/irq/ioapic.h"
#include "cused/irq/irq_line.h"
#include "cused/util/cmutex.h"
#include "cused/util/log.h"
#include "cused/util/ratelimit.h"

_Static_assert(sizeof(struct kvm_ioapic_state) == 16 + 8 + 8 * KVM_IOAPIC_NUM_PINS,
	       "kvm_ioapic_state layout");

#define IOAPIC_REG_SELECT  0x00
#define IOAPIC_REG_WINDOW  0x10
#define IOAPIC_REG_ID      0x00
#define IOAPIC_REG_VERSION 0x01
#define IOAPIC_REG_ARB_ID  0x02

/* KVM's IOAPIC_SUCCESSIVE_IRQ_MAX_COUNT and its HZ / 100 back-off */
#define EOI_STORM_MAX   10000u
#define EOI_STORM_DELAY 10000000ull

struct ioapic {
	struct cmutex lock;        /* covers every field up to "immutable" */
	/* architectural: the KVM_GET/SET_IRQCHIP format; s.irr holds the pin levels */
	struct kvm_ioapic_state s;
	uint32_t irr_delivered;    /* edge pins whose assertion was delivered */
	uint32_t irq_states[IOAPIC_NUM_PINS]; /* per-source levels (irq_line.h) */
	uint32_t seq[IOAPIC_NUM_PINS];        /* bumped by each service of a pin */
	uint32_t irq_eoi[IOAPIC_NUM_PINS];    /* successive EOI re-deliveries */
	uint64_t storm_deadline;   /* delayed re-delivery armed, 0 = none */
	unsigned misuse_logs;      /* ratelimit_ok() counter */
	/* immutable after create */
	const struct irq_env *env;
	struct ioapic_env aenv;
};

/* messages decided under the lock, delivered after it */
struct ioapic_out {
	unsigned n;
	struct {
		struct irq_msg m;
		uint32_t seq;
		uint8_t pin;
	} d[IOAPIC_NUM_PINS];
	uint32_t mask_changed, mask_val;
};

static __u64 *rte(struct ioapic *io, unsigned pin)
{
	return &io->s.redirtbl[pin].bits;
}

/* KVM ioapic_service(): -1 when masked or waiting for EOI, else 1 (queued) */
static int service_locked(struct ioapic *io, unsigned pin, struct ioapic_out *out)
{
	uint64_t e = *rte(io, pin);
	bool level = e & IOAPIC_RTE_LEVEL;

	cmutex_assert_held(&io->lock);
	if ((e & IOAPIC_RTE_MASKED) || (level && (e & IOAPIC_RTE_REMOTE_IRR)))
		return -1;
	if (level)
		*rte(io, pin) |= IOAPIC_RTE_REMOTE_IRR;
	else
		io->irr_delivered |= 1u << pin;
	io->seq[pin]++;
	out->d[out->n].m = (struct irq_msg){
		.dest = (uint32_t)(e >> IOAPIC_RTE_DEST_SHIFT),
		.vector = (uint8_t)(e & IOAPIC_RTE_VECTOR),
		.delivery = (uint8_t)((e & IOAPIC_RTE_DELIVERY) >> IOAPIC_RTE_DELIVERY_SHIFT),
		.shorthand = IRQ_SH_NONE,
		.dest_logical = e & IOAPIC_RTE_DEST_LOGICAL,
		.level = true,
		.trig_level = level,
		.src = -1,
	};
	out->d[out->n].seq = io->seq[pin];
	out->d[out->n].pin = (uint8_t)pin;
	out->n++;
	return 1;
}

/* unlock, then deliver what was queued; returns the last delivery's result */
static int unlock_deliver(struct ioapic *io, struct ioapic_out *out)
{
	int r = -1;

	cmutex_unlock(&io->lock);
	for (unsigned i = 0; i < out->n; i++) {
		r = io->env->deliver(io->env->ctx, &out->d[i].m);
		if (r < 0)
			r = -1;   /* KVM: no destination; remote IRR stays set */
		if (r == 0 && out->d[i].m.trig_level) {
			unsigned pin = out->d[i].pin;

			cmutex_lock(&io->lock);
			if (io->seq[pin] == out->d[i].seq)
				*rte(io, pin) &= ~IOAPIC_RTE_REMOTE_IRR;
			cmutex_unlock(&io->lock);
		}
	}
	if (io->aenv.mask)
		for (unsigned pin = 0; pin < IOAPIC_NUM_PINS; pin++)
			if (out->mask_changed & (1u << pin))
				io->aenv.mask(io->aenv.ctx, pin, out->mask_val & (1u << pin));
	return r;
}

/* KVM ioapic_set_irq() on the ORed level; returns -1/0 or 1 when queued */
static int set_irq_locked(struct ioapic *io, unsigned pin, bool level, struct ioapic_out *out)
{
	uint32_t bit = 1u << pin, old_irr = io->s.irr;

	cmutex_assert_held(&io->lock);
	if (!level) {
		io->s.irr &= ~bit;
		return 1;
	}
	io->s.irr |= bit;
	if (!(*rte(io, pin) & IOAPIC_RTE_LEVEL)) {
		io->irr_delivered &= ~bit;
		if (old_irr == io->s.irr)
			return 0;   /* edge: the line was already high */
	}
	return service_locked(io, pin, out);
}

int ioapic_set_irq(struct ioapic *io, unsigned pin, unsigned source, bool level)
{
	struct ioapic_out out = { 0 };
	int r, d;

	if (pin >= IOAPIC_NUM_PINS || source >= IRQ_LINE_MAX_SOURCES)
		return -1;
	cmutex_lock(&io->lock);
	r = set_irq_locked(io, pin, irq_line_state(&io->irq_states[pin], source, level), &out);
	d = unlock_deliver(io, &out);
	return out.n ? d : r;
}

static uint32_t read_indirect_locked(struct ioapic *io)
{
	uint32_t sel = io->s.ioregsel, idx;
	uint64_t v;

	switch (sel) {
	case IOAPIC_REG_VERSION:
		return ((IOAPIC_NUM_PINS - 1) & 0xff) << 16 | IOAPIC_VERSION_ID;
	case IOAPIC_REG_ID:
	case IOAPIC_REG_ARB_ID:
		return (io->s.id & 0xf) << 24;
	}
	/* unsigned wrap makes selectors 0x03..0x0f miss the table, as in KVM */
	idx = (sel - 0x10) >> 1;
	v = idx < IOAPIC_NUM_PINS ? *rte(io, idx) : ~0ull;
	return (sel & 1) ? (uint32_t)(v >> 32) : (uint32_t)v;
}

static void write_indirect_locked(struct ioapic *io, uint32_t val, struct ioapic_out *out)
{
	const uint64_t ro = IOAPIC_RTE_REMOTE_IRR | IOAPIC_RTE_DELIVERY_STATUS;
	uint32_t sel = io->s.ioregsel, idx;
	__u64 *e, old;

	switch (sel) {
	case IOAPIC_REG_VERSION:
	case IOAPIC_REG_ARB_ID:
		return;   /* read-only */
	case IOAPIC_REG_ID:
		io->s.id = (val >> 24) & 0xf;
		return;
	}
	idx = (sel - 0x10) >> 1;
	if (idx >= IOAPIC_NUM_PINS)
		return;
	e = rte(io, idx);
	old = *e;
	if (sel & 1)
		*e = (old & 0xffffffffull) | (uint64_t)val << 32;
	else
		*e = (old & ~0xffffffffull) | val;
	*e = (*e & ~ro) | (old & ro);
	/* Linux and Xen rely on an edge reprogramming to clear remote IRR
	 * (an EOI on IOAPICs without an EOI register) */
	if (!(*e & IOAPIC_RTE_LEVEL))
		*e &= ~IOAPIC_RTE_REMOTE_IRR;
	if ((old ^ *e) & IOAPIC_RTE_MASKED) {
		out->mask_changed |= 1u << idx;
		if (*e & IOAPIC_RTE_MASKED)
			out->mask_val |= 1u << idx;
		else
			out->mask_val &= ~(1u << idx);
	}
	/* unmasking (or re-arming) an asserted level line delivers it now */
	if ((*e & IOAPIC_RTE_LEVEL) && (io->s.irr & (1u << idx)))
		service_locked(io, idx, out);
}

static bool in_window(struct ioapic *io, uint64_t addr)
{
	/* KVM registers the default window and then also checks the state's
	 * base_address, which KVM_SET_IRQCHIP can move away */
	return addr >= IOAPIC_DEFAULT_BASE && addr < IOAPIC_DEFAULT_BASE + IOAPIC_MEM_LENGTH &&
	       addr >= io->s.base_address && addr < io->s.base_address + IOAPIC_MEM_LENGTH;
}

int ioapic_read(struct ioapic *io, uint64_t addr, void *data, unsigned len)
{
	uint32_t v = 0;
	uint64_t v64;

	cmutex_lock(&io->lock);
	if (!in_window(io, addr)) {
		cmutex_unlock(&io->lock);
		return -ENOENT;
	}
	switch (addr & 0xff) {
	case IOAPIC_REG_SELECT:
		v = io->s.ioregsel;
		break;
	case IOAPIC_REG_WINDOW:
		v = read_indirect_locked(io);
		break;
	}
	if (len != 1 && len != 2 && len != 4 && len != 8 && ratelimit_ok(&io->misuse_logs))
		log_debug("ioapic: guest read of size %u ignored", len);
	cmutex_unlock(&io->lock);
	switch (len) {
	case 8:
		v64 = v;
		memcpy(data, &v64, 8);
		break;
	case 1: case 2: case 4:
		memcpy(data, &v, len);
		break;
	}
	return 0;
}

int ioapic_write(struct ioapic *io, uint64_t addr, const void *data, unsigned len)
{
	struct ioapic_out out = { 0 };
	uint32_t v = 0;

	cmutex_lock(&io->lock);
	if (!in_window(io, addr)) {
		cmutex_unlock(&io->lock);
		return -ENOENT;
	}
	switch (len) {
	case 8: case 4: case 2: case 1:
		memcpy(&v, data, len < 4 ? len : 4);
		break;
	default:
		if (ratelimit_ok(&io->misuse_logs))
			log_debug("ioapic: guest write of size %u ignored", len);
		cmutex_unlock(&io->lock);
		return 0;
	}
	switch (addr & 0xff) {
	case IOAPIC_REG_SELECT:
		io->s.ioregsel = v & 0xff;
		break;
	case IOAPIC_REG_WINDOW:
		write_indirect_locked(io, v, &out);
		break;
	}
	unlock_deliver(io, &out);
	return 0;
}

void ioapic_update_eoi(struct ioapic *io, unsigned vector, bool level_eoi)
{
	struct ioapic_out out = { 0 };

	cmutex_lock(&io->lock);
	for (unsigned pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
		__u64 *e = rte(io, pin);

		if ((*e & IOAPIC_RTE_VECTOR) != vector)
			continue;
		if (io->aenv.ack) {
			/* notifiers may call back into the IOAPIC (irqfd resample
			 * de-asserts the line); remote IRR is cleared after them */
			cmutex_unlock(&io->lock);
			io->aenv.ack(io->aenv.ctx, pin);
			cmutex_lock(&io->lock);
		}
		if (!level_eoi || !(*e & IOAPIC_RTE_LEVEL))
			continue;
		*e &= ~IOAPIC_RTE_REMOTE_IRR;
		if (!(*e & IOAPIC_RTE_MASKED) && (io->s.irr & (1u << pin))) {
			if (++io->irq_eoi[pin] == EOI_STORM_MAX) {
				/* real hardware does not re-deliver within the EOI
				 * cycle; let a guest stuck in a storm progress */
				io->irq_eoi[pin] = 0;
				if (!io->storm_deadline) {
					io->storm_deadline = io->env->now_ns(io->env->ctx) + EOI_STORM_DELAY;
					io->env->arm(io->env->ctx, io, io->storm_deadline);
				}
			} else {
				service_locked(io, pin, &out);
			}
		} else {
			io->irq_eoi[pin] = 0;
		}
	}
	unlock_deliver(io, &out);
}

void ioapic_eoi(struct ioapic *io, unsigned vector)
{
	ioapic_update_eoi(io, vector, true);
}

uint64_t ioapic_tick(struct ioapic *io, uint64_t now_ns)
{
	struct ioapic_out out = { 0 };
	uint64_t next;

	cmutex_lock(&io->lock);
	if (io->storm_deadline && now_ns >= io->storm_deadline) {
		io->storm_deadline = 0;
		/* KVM kvm_ioapic_eoi_inject_work() */
		for (unsigned pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
			uint64_t e = *rte(io, pin);

			if ((e & IOAPIC_RTE_LEVEL) && (io->s.irr & (1u << pin)) &&
			    !(e & IOAPIC_RTE_REMOTE_IRR))
				service_locked(io, pin, &out);
		}
	}
	next = io->storm_deadline;
	unlock_deliver(io, &out);
	return next;
}

static void reset_locked(struct ioapic *io)
{
	for (unsigned pin = 0; pin < IOAPIC_NUM_PINS; pin++)
		*rte(io, pin) |= IOAPIC_RTE_MASKED;
	io->s.base_address = IOAPIC_DEFAULT_BASE;
	io->s.ioregsel = 0;
	io->s.irr = 0;
	io->s.id = 0;
	io->irr_delivered = 0;
	memset(io->irq_eoi, 0, sizeof(io->irq_eoi));
	if (io->storm_deadline) {
		io->storm_deadline = 0;
		io->env->arm(io->env->ctx, io, 0);
	}
}

void ioapic_reset(struct ioapic *io)
{
	cmutex_lock(&io->lock);
	reset_locked(io);
	cmutex_unlock(&io->lock);
}

int ioapic_create(const struct irq_env *env, const struct ioapic_env *aenv, struct ioapic **out)
{
	struct ioapic *io = calloc(1, sizeof(*io));

	if (!io)
		return -ENOMEM;
	cmutex_init(&io->lock);
	io->env = env;
	if (aenv)
		io->aenv = *aenv;
	reset_locked(io);
	*out = io;
	return 0;
}

void ioapic_destroy(struct ioapic *io)
{
	if (!io)
		return;
	io->env->arm(io->env->ctx, io, 0);
	cmutex_destroy(&io->lock);
	free(io);
}

int ioapic_get_state(struct ioapic *io, struct kvm_ioapic_state *s)
{
	cmutex_lock(&io->lock);
	*s = io->s;
	s->irr &= ~io->irr_delivered;
	cmutex_unlock(&io->lock);
	return 0;
}

int ioapic_set_state(struct ioapic *io, const struct kvm_ioapic_state *s)
{
	struct ioapic_out out = { 0 };

	cmutex_lock(&io->lock);
	io->s = *s;
	io->s.irr = 0;
	io->irr_delivered = 0;
	/* KVM kvm_ioapic_inject_all(): re-assert without touching irq_states */
	for (unsigned pin = 0; pin < IOAPIC_NUM_PINS; pin++)
		if (s->irr & (1u << pin))
			set_irq_locked(io, pin, true, &out);
	unlock_deliver(io, &out);
	return 0;
}

bool ioapic_line(struct ioapic *io, unsigned pin)
{
	bool v;

	if (pin >= IOAPIC_NUM_PINS)
		return false;
	cmutex_lock(&io->lock);
	v = io->s.irr & (1u << pin);
	cmutex_unlock(&io->lock);
	return v;
}
