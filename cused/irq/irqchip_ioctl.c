/* SPDX-License-Identifier: MIT */
/*
 * The VM ioctls of the in-daemon irqchip (irqchip.h irqchip_vm_ioctl):
 * argument copies and KVM's errno, in the order Linux 6.1 checks them
 * (x86.c kvm_arch_vm_ioctl, kvm_main.c kvm_vm_ioctl, irq_comm.c); the
 * devices do the rest.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/kvm.h>
#include "cused/irq/irqchip.h"
#include "cused/irq/irq_line.h"
#include "cused/irq/routing.h"
#include "cused/kvm/ioctl.h"
#include "cused/util/log.h"

/*
 * The fixed part of an ioctl KVM reads although its number says _IOR
 * (KVM_SET_IRQCHIP, KVM_SET_PIT).  The frontend copies rq->out back to the
 * client, so it gets what it passed, as KVM leaves the struct untouched.
 */
static int read_arg(struct ioctl_req *rq, void *buf, size_t len)
{
	const void *in = req_in(rq, len);
	void *out = req_out(rq, len);

	if (in)
		memcpy(buf, in, len);
	else if (client_read(rq, rq->arg, buf, len))
		return -EFAULT;
	if (out)
		memcpy(out, buf, len);
	return 0;
}

static long irq_line(struct irqchip *c, struct ioctl_req *rq)
{
	const struct kvm_irq_level *in = req_in(rq, sizeof(*in));
	struct kvm_irq_level *out;
	int status;

	if (!in)
		return -EFAULT;
	/* kvm_vm_ioctl_irq_line: irqchip_in_kernel, which a split irqchip is too */
	if (irqchip_mode(c) == IRQCHIP_NONE)
		return refuse(-ENXIO, "KVM_IRQ_LINE: no in-kernel irqchip");
	status = routing_set_irq(c->rt, in->irq, IRQ_SRC_USERSPACE, in->level != 0);
	if (rq->cmd == KVM_IRQ_LINE_STATUS) {
		out = req_out(rq, sizeof(*out));
		if (!out)
			return -EFAULT;
		out->status = status;
	}
	return 0;
}

static long get_irqchip(struct irqchip *c, struct ioctl_req *rq)
{
	struct kvm_irqchip *chip = req_out(rq, sizeof(*chip));

	if (!chip)
		return -EFAULT;
	if (irqchip_mode(c) != IRQCHIP_KERNEL)
		return refuse(-ENXIO, "KVM_GET_IRQCHIP: no in-kernel PIC/IOAPIC");
	switch (chip->chip_id) {
	case KVM_IRQCHIP_PIC_MASTER:
	case KVM_IRQCHIP_PIC_SLAVE:
		memset(&chip->chip, 0, sizeof(chip->chip));
		return pic_get_state(c->pic, chip->chip_id, &chip->chip.pic);
	case KVM_IRQCHIP_IOAPIC:
		memset(&chip->chip, 0, sizeof(chip->chip));
		return ioapic_get_state(c->io, &chip->chip.ioapic);
	default:
		return refuse(-EINVAL, "KVM_GET_IRQCHIP: chip %u", chip->chip_id);
	}
}

static long set_irqchip(struct irqchip *c, struct ioctl_req *rq)
{
	struct kvm_irqchip chip;

	if (read_arg(rq, &chip, sizeof(chip)))
		return -EFAULT;
	if (irqchip_mode(c) != IRQCHIP_KERNEL)
		return refuse(-ENXIO, "KVM_SET_IRQCHIP: no in-kernel PIC/IOAPIC");
	switch (chip.chip_id) {
	case KVM_IRQCHIP_PIC_MASTER:
	case KVM_IRQCHIP_PIC_SLAVE:
		return pic_set_state(c->pic, chip.chip_id, &chip.chip.pic);
	case KVM_IRQCHIP_IOAPIC:
		return ioapic_set_state(c->io, &chip.chip.ioapic);
	default:
		return refuse(-EINVAL, "KVM_SET_IRQCHIP: chip %u", chip.chip_id);
	}
}

static long set_gsi_routing(struct irqchip *c, struct ioctl_req *rq)
{
	const struct kvm_irq_routing *in = req_in(rq, sizeof(*in));
	struct kvm_irq_routing_entry *ue = NULL;
	long r;

	if (!in)
		return -EFAULT;
	/* kvm_arch_can_set_irq_routing, then nr, then flags, then the copy */
	if (irqchip_mode(c) == IRQCHIP_NONE)
		return refuse(-EINVAL, "KVM_SET_GSI_ROUTING: no in-kernel irqchip");
	if (in->nr > ROUTING_MAX_ROUTES)
		return refuse(-EINVAL, "KVM_SET_GSI_ROUTING: %u routes > %u", in->nr,
			      ROUTING_MAX_ROUTES);
	if (in->flags)
		return refuse(-EINVAL, "KVM_SET_GSI_ROUTING: flags %#x", in->flags);
	if (in->nr) {
		ue = calloc(in->nr, sizeof(*ue));
		if (!ue)
			return -ENOMEM;
		if (client_read(rq, rq->arg + sizeof(*in), ue, in->nr * sizeof(*ue))) {
			free(ue);
			return refuse(-EFAULT, "KVM_SET_GSI_ROUTING: entries not readable");
		}
	}
	r = routing_set(c->rt, ue, in->nr, in->flags);
	free(ue);
	return r;
}

static long signal_msi(struct irqchip *c, struct ioctl_req *rq)
{
	const struct kvm_msi *msi = req_in(rq, sizeof(*msi));

	if (!msi)
		return -EFAULT;
	/* kvm_send_userspace_msi: one EINVAL for both */
	if (irqchip_mode(c) == IRQCHIP_NONE || (msi->flags & ~KVM_MSI_VALID_DEVID))
		return refuse(-EINVAL, "KVM_SIGNAL_MSI: no irqchip or flags %#x", msi->flags);
	return routing_signal_msi(c->rt, msi);
}

static long pit_ioctl(struct irqchip *c, struct ioctl_req *rq)
{
	struct pit *pit = irqchip_pit(c);

	switch (rq->cmd) {
	case KVM_CREATE_PIT2: {
		const struct kvm_pit_config *cfg = req_in(rq, sizeof(*cfg));

		return cfg ? irqchip_create_pit(c, cfg->flags) : -EFAULT;
	}
	case KVM_GET_PIT: {
		struct kvm_pit_state *s = req_out(rq, sizeof(*s));

		if (!s)
			return -EFAULT;
		return pit ? pit_get_state1(pit, s) : refuse(-ENXIO, "KVM_GET_PIT: no PIT");
	}
	case KVM_SET_PIT: {
		struct kvm_pit_state s;

		if (read_arg(rq, &s, sizeof(s)))
			return -EFAULT;
		return pit ? pit_set_state1(pit, &s) : refuse(-ENXIO, "KVM_SET_PIT: no PIT");
	}
	case KVM_GET_PIT2: {
		struct kvm_pit_state2 *s = req_out(rq, sizeof(*s));

		if (!s)
			return -EFAULT;
		return pit ? pit_get_state(pit, s) : refuse(-ENXIO, "KVM_GET_PIT2: no PIT");
	}
	case KVM_SET_PIT2: {
		const struct kvm_pit_state2 *s = req_in(rq, sizeof(*s));

		if (!s)
			return -EFAULT;
		return pit ? pit_set_state(pit, s) : refuse(-ENXIO, "KVM_SET_PIT2: no PIT");
	}
	case KVM_REINJECT_CONTROL: {
		struct kvm_reinject_control rc;

		if (client_read(rq, rq->arg, &rc, sizeof(rc)))
			return -EFAULT;
		if (!pit)
			return refuse(-ENXIO, "KVM_REINJECT_CONTROL: no PIT");
		pit_set_reinject(pit, rc.pit_reinject != 0);
		return 0;
	}
	}
	return -ENOTTY;
}

bool irqchip_vm_ioctl(struct irqchip *c, struct ioctl_req *rq, long *ret)
{
	switch (rq->cmd) {
	case KVM_IRQ_LINE:
	case KVM_IRQ_LINE_STATUS:
		*ret = irq_line(c, rq);
		return true;
	case KVM_GET_IRQCHIP:
		*ret = get_irqchip(c, rq);
		return true;
	case KVM_SET_IRQCHIP:
		*ret = set_irqchip(c, rq);
		return true;
	case KVM_SET_GSI_ROUTING:
		*ret = set_gsi_routing(c, rq);
		return true;
	case KVM_SIGNAL_MSI:
		*ret = signal_msi(c, rq);
		return true;
	case KVM_CREATE_PIT:
		/* the old ioctl is KVM_CREATE_PIT2 with the speaker port */
		*ret = irqchip_create_pit(c, KVM_PIT_SPEAKER_DUMMY);
		return true;
	case KVM_CREATE_PIT2:
	case KVM_GET_PIT:
	case KVM_SET_PIT:
	case KVM_GET_PIT2:
	case KVM_SET_PIT2:
	case KVM_REINJECT_CONTROL:
		*ret = pit_ioctl(c, rq);
		return true;
	default:
		return false;
	}
}
