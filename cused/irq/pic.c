/* SPDX-License-Identifier: MIT */
/*
 * Cascaded 8259A pair; mirrors Linux arch/x86/kvm/i8259.c (pic_set_irq1,
 * pic_get_irq, pic_update_irq, pic_intack, kvm_pic_read_irq, kvm_pic_reset,
 * pic_ioport_write/read, pic_poll_read, elcr_ioport_*).
 *
 * Locking: one cmutex over both chips.  As in KVM's pic_unlock(), the lock
 * holder only records that INTR changed; pic_unlock() reports it (and IMR
 * changes) after dropping the lock.  Ack notifiers run with the lock dropped
 * in the middle of an operation, exactly where KVM's pic_clear_isr() drops
 * its spinlock: the state is consistent at that point and an irqfd resampler
 * may call back in to de-assert the line before the PIC re-evaluates it.
 *
 * One deliberate difference: special mask mode (OCW3 SMM) lets masked
 * in-service IRQs stop blocking lower priorities, as on the 8259A and in
 * QEMU; KVM stores the bit but ignores it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "cused/irq/pic.h"
#include "cused/irq/irq_line.h"
#include "cused/util/cmutex.h"
#include "cused/util/log.h"
#include "cused/util/ratelimit.h"

_Static_assert(sizeof(struct kvm_pic_state) == 16, "kvm_pic_state layout");

struct pic {
	struct cmutex lock;               /* covers every field up to "immutable" */
	/* architectural: [0] master, [1] slave, the KVM_GET/SET_IRQCHIP format */
	struct kvm_pic_state c[2];
	uint32_t irq_states[PIC_NUM_PINS]; /* per-source levels (irq_line.h) */
	bool output;                      /* INTR (KVM vpic->output) */
	bool output_reported;             /* last level passed to env.intr */
	uint16_t mask_changed, mask_val;  /* IMR changes not yet reported */
	unsigned misuse_logs;             /* ratelimit_ok() counter */
	/* immutable after create */
	struct pic_env env;
};

/* KVM pic_set_irq1(): edge detection through last_irr; -1 masked, 0 coalesced, 1 */
static int set_irq1_locked(struct kvm_pic_state *s, unsigned irq, bool level)
{
	uint8_t m = 1u << irq;
	int ret = 1;

	if (s->elcr & m) {
		if (level) {
			ret = !(s->irr & m);
			s->irr |= m;
			s->last_irr |= m;
		} else {
			s->irr &= ~m;
			s->last_irr &= ~m;
		}
	} else if (level) {
		if (!(s->last_irr & m)) {
			ret = !(s->irr & m);
			s->irr |= m;
		}
		s->last_irr |= m;
	} else {
		s->last_irr &= ~m;
	}
	return (s->imr & m) ? -1 : ret;
}

/* priority (0 = highest) of the best bit in mask under rotation; 8 = none */
static int get_priority(const struct kvm_pic_state *s, uint8_t mask)
{
	int p = 0;

	if (!mask)
		return 8;
	while (!(mask & (1u << ((p + s->priority_add) & 7))))
		p++;
	return p;
}

/* KVM pic_get_irq(): the irq this chip would raise now, or -1 */
static int get_irq(const struct kvm_pic_state *s, bool master)
{
	uint8_t in_service = s->isr;
	int p = get_priority(s, s->irr & ~s->imr);

	if (p == 8)
		return -1;
	if (s->special_mask)
		in_service &= ~s->imr;
	/* special fully nested: the slave's own nesting handles priorities */
	if (s->special_fully_nested_mode && master)
		in_service &= ~(1u << 2);
	return p < get_priority(s, in_service) ? (p + s->priority_add) & 7 : -1;
}

/* KVM pic_update_irq(): pulse the cascade and recompute INTR */
static void update_irq_locked(struct pic *pic)
{
	cmutex_assert_held(&pic->lock);
	if (get_irq(&pic->c[1], false) >= 0) {
		set_irq1_locked(&pic->c[0], 2, true);
		set_irq1_locked(&pic->c[0], 2, false);
	}
	pic->output = get_irq(&pic->c[0], true) >= 0;
}

static void pic_unlock(struct pic *pic)
{
	bool changed = pic->output != pic->output_reported, level = pic->output;
	uint16_t mc = pic->mask_changed, mv = pic->mask_val;

	pic->output_reported = level;
	pic->mask_changed = 0;
	cmutex_unlock(&pic->lock);
	if (changed && pic->env.intr)
		pic->env.intr(pic->env.ctx, level);
	if (pic->env.mask)
		for (unsigned irq = 0; irq < PIC_NUM_PINS; irq++)
			if (mc & (1u << irq))
				pic->env.mask(pic->env.ctx, irq, mv & (1u << irq));
}

/* KVM pic_clear_isr(): may drop and retake the lock around the ack notifier */
static void clear_isr_locked(struct pic *pic, unsigned chip, unsigned irq)
{
	cmutex_assert_held(&pic->lock);
	pic->c[chip].isr &= ~(1u << irq);
	if (pic->env.ack) {
		cmutex_unlock(&pic->lock);
		pic->env.ack(pic->env.ctx, irq + 8 * chip);
		cmutex_lock(&pic->lock);
	}
}

int pic_set_irq(struct pic *pic, unsigned irq, unsigned source, bool level)
{
	int ret;

	if (irq >= PIC_NUM_PINS || source >= IRQ_LINE_MAX_SOURCES)
		return -1;
	cmutex_lock(&pic->lock);
	level = irq_line_state(&pic->irq_states[irq], source, level);
	ret = set_irq1_locked(&pic->c[irq >> 3], irq & 7, level);
	update_irq_locked(pic);
	pic_unlock(pic);
	return ret;
}

/* KVM pic_intack() */
static void intack_locked(struct pic *pic, unsigned chip, unsigned irq)
{
	struct kvm_pic_state *s = &pic->c[chip];

	s->isr |= 1u << irq;
	if (!(s->elcr & (1u << irq)))
		s->irr &= ~(1u << irq);   /* a level irq stays requested */
	if (s->auto_eoi) {
		if (s->rotate_on_auto_eoi)
			s->priority_add = (irq + 1) & 7;
		clear_isr_locked(pic, chip, irq);
	}
}

int pic_intack(struct pic *pic)
{
	int irq, irq2, vector;

	cmutex_lock(&pic->lock);
	pic->output = false;
	irq = get_irq(&pic->c[0], true);
	if (irq < 0) {
		vector = pic->c[0].irq_base + 7;   /* spurious IRQ 7 */
	} else {
		intack_locked(pic, 0, irq);
		if (irq == 2) {
			irq2 = get_irq(&pic->c[1], false);
			if (irq2 >= 0)
				intack_locked(pic, 1, irq2);
			else
				irq2 = 7;                  /* spurious IRQ 15 */
			vector = pic->c[1].irq_base + irq2;
		} else {
			vector = pic->c[0].irq_base + irq;
		}
	}
	update_irq_locked(pic);
	pic_unlock(pic);
	return vector & 0xff;
}

bool pic_has_intr(struct pic *pic)
{
	bool v;

	cmutex_lock(&pic->lock);
	v = pic->output;
	cmutex_unlock(&pic->lock);
	return v;
}

/* ICW1: KVM kvm_pic_reset(); level requests survive, edge ones are acked */
static void icw1_locked(struct pic *pic, unsigned chip, uint8_t val)
{
	struct kvm_pic_state *s = &pic->c[chip];
	uint8_t edge_irr = s->irr & ~s->elcr;

	s->init4 = val & 1;
	if ((val & 0x02) && ratelimit_ok(&pic->misuse_logs))
		log_debug("pic: single mode not supported");
	if ((val & 0x08) && ratelimit_ok(&pic->misuse_logs))
		log_debug("pic: level sensitive irq not supported");
	s->last_irr = 0;
	s->irr &= s->elcr;
	s->imr = 0;
	s->priority_add = 0;
	s->special_mask = 0;
	s->read_reg_select = 0;
	if (!s->init4) {
		s->special_fully_nested_mode = 0;
		s->auto_eoi = 0;
	}
	s->init_state = 1;
	/* KVM only does this when some vCPU accepts PIC interrupts, which is
	 * the BSP after reset; it only matters to ack notifiers */
	for (unsigned irq = 0; irq < 8; irq++)
		if (edge_irr & (1u << irq))
			clear_isr_locked(pic, chip, irq);
}

/* OCW2: EOIs and rotation */
static void ocw2_locked(struct pic *pic, unsigned chip, uint8_t val)
{
	struct kvm_pic_state *s = &pic->c[chip];
	unsigned cmd = val >> 5, irq;
	int p;

	switch (cmd) {
	case 0: /* rotate in auto-EOI mode: clear */
	case 4: /* set */
		s->rotate_on_auto_eoi = cmd >> 2;
		break;
	case 1: /* non-specific EOI */
	case 5: /* rotate on non-specific EOI */
		p = get_priority(s, s->isr);
		if (p == 8)
			break;
		irq = (p + s->priority_add) & 7;
		if (cmd == 5)
			s->priority_add = (irq + 1) & 7;
		clear_isr_locked(pic, chip, irq);
		update_irq_locked(pic);
		break;
	case 3: /* specific EOI */
		clear_isr_locked(pic, chip, val & 7);
		update_irq_locked(pic);
		break;
	case 6: /* set priority */
		s->priority_add = (val + 1) & 7;
		update_irq_locked(pic);
		break;
	case 7: /* rotate on specific EOI */
		irq = val & 7;
		s->priority_add = (irq + 1) & 7;
		clear_isr_locked(pic, chip, irq);
		update_irq_locked(pic);
		break;
	default: /* 2: no operation */
		break;
	}
}

static void data_write_locked(struct pic *pic, unsigned chip, uint8_t val)
{
	struct kvm_pic_state *s = &pic->c[chip];
	uint8_t diff;

	switch (s->init_state) {
	case 0: /* OCW1: the mask */
		diff = s->imr ^ val;
		s->imr = val;
		pic->mask_changed |= (uint16_t)(diff << (8 * chip));
		pic->mask_val = (uint16_t)((pic->mask_val & ~(0xffu << (8 * chip))) |
					   (unsigned)val << (8 * chip));
		update_irq_locked(pic);
		break;
	case 1: /* ICW2: vector base */
		s->irq_base = val & 0xf8;
		s->init_state = 2;
		break;
	case 2: /* ICW3: cascade wiring, fixed here */
		s->init_state = s->init4 ? 3 : 0;
		break;
	case 3: /* ICW4 */
		s->special_fully_nested_mode = (val >> 4) & 1;
		s->auto_eoi = (val >> 1) & 1;
		s->init_state = 0;
		break;
	}
}

static void ioport_write_locked(struct pic *pic, unsigned chip, unsigned a0, uint8_t val)
{
	struct kvm_pic_state *s = &pic->c[chip];

	if (a0) {
		data_write_locked(pic, chip, val);
	} else if (val & 0x10) {
		icw1_locked(pic, chip, val);
	} else if (val & 0x08) {   /* OCW3 */
		if (val & 0x04)
			s->poll = 1;
		if (val & 0x02)
			s->read_reg_select = val & 1;
		if (val & 0x40)
			s->special_mask = (val >> 5) & 1;
	} else {
		ocw2_locked(pic, chip, val);
	}
}

/* KVM pic_poll_read(): a poll is an INTA through the data bus */
static uint8_t poll_read_locked(struct pic *pic, unsigned chip)
{
	struct kvm_pic_state *s = &pic->c[chip];
	int irq = get_irq(s, chip == 0);

	if (irq < 0) {
		update_irq_locked(pic);
		return 7;
	}
	if (chip) {
		pic->c[0].isr &= ~(1u << 2);
		pic->c[0].irr &= ~(1u << 2);
	}
	s->irr &= ~(1u << irq);
	clear_isr_locked(pic, chip, irq);
	if (chip || irq != 2)
		update_irq_locked(pic);
	return (uint8_t)irq;
}

static uint8_t ioport_read_locked(struct pic *pic, unsigned chip, unsigned a0)
{
	struct kvm_pic_state *s = &pic->c[chip];
	uint8_t v;

	if (s->poll) {
		v = poll_read_locked(pic, chip);
		s->poll = 0;
		return v;
	}
	if (a0)
		return s->imr;
	return s->read_reg_select ? s->isr : s->irr;
}

static bool pic_port(uint64_t port)
{
	return port == 0x20 || port == 0x21 || port == 0xa0 || port == 0xa1 ||
	       port == 0x4d0 || port == 0x4d1;
}

int pic_write(struct pic *pic, uint64_t port, const void *data, unsigned len)
{
	uint8_t val;

	if (!pic_port(port))
		return -ENOENT;
	cmutex_lock(&pic->lock);
	if (len != 1) {
		if (ratelimit_ok(&pic->misuse_logs))
			log_debug("pic: non-byte write to port 0x%x ignored", (unsigned)port);
		cmutex_unlock(&pic->lock);
		return 0;
	}
	val = *(const uint8_t *)data;
	if (port >= 0x4d0)
		pic->c[port & 1].elcr = val & pic->c[port & 1].elcr_mask;
	else
		ioport_write_locked(pic, port >> 7, port & 1, val);
	pic_unlock(pic);
	return 0;
}

int pic_read(struct pic *pic, uint64_t port, void *data, unsigned len)
{
	if (!pic_port(port))
		return -ENOENT;
	cmutex_lock(&pic->lock);
	if (len != 1) {
		if (ratelimit_ok(&pic->misuse_logs))
			log_debug("pic: non-byte read of port 0x%x ignored", (unsigned)port);
		cmutex_unlock(&pic->lock);
		return 0;
	}
	if (port >= 0x4d0)
		*(uint8_t *)data = pic->c[port & 1].elcr;
	else
		*(uint8_t *)data = ioport_read_locked(pic, port >> 7, port & 1);
	pic_unlock(pic);
	return 0;
}

static void reset_locked(struct pic *pic)
{
	memset(pic->c, 0, sizeof(pic->c));
	pic->c[0].elcr_mask = 0xf8;   /* IRQ0-2 are always edge */
	pic->c[1].elcr_mask = 0xde;   /* so are IRQ8 and IRQ13 */
	pic->output = false;
}

void pic_reset(struct pic *pic)
{
	cmutex_lock(&pic->lock);
	reset_locked(pic);
	pic_unlock(pic);
}

int pic_create(const struct pic_env *env, struct pic **out)
{
	struct pic *pic = calloc(1, sizeof(*pic));

	if (!pic)
		return -ENOMEM;
	cmutex_init(&pic->lock);
	if (env)
		pic->env = *env;
	reset_locked(pic);
	*out = pic;
	return 0;
}

void pic_destroy(struct pic *pic)
{
	if (!pic)
		return;
	cmutex_destroy(&pic->lock);
	free(pic);
}

int pic_get_state(struct pic *pic, unsigned chip, struct kvm_pic_state *s)
{
	if (chip > 1)
		return -EINVAL;
	cmutex_lock(&pic->lock);
	*s = pic->c[chip];
	cmutex_unlock(&pic->lock);
	return 0;
}

int pic_set_state(struct pic *pic, unsigned chip, const struct kvm_pic_state *s)
{
	if (chip > 1)
		return -EINVAL;
	cmutex_lock(&pic->lock);
	pic->c[chip] = *s;
	update_irq_locked(pic);
	pic_unlock(pic);
	return 0;
}
