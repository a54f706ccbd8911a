/* SPDX-License-Identifier: MIT */
/*
 * The vCPU side of the in-daemon irqchip (vcpu_irq.h): exits the daemon
 * retires itself because KVM handles them in the kernel with an in-kernel
 * irqchip (HLT, the 8259/PIT ports, xAPIC and IOAPIC MMIO, the APIC MSRs),
 * and the exits a split irqchip owes its VMM (KVM_EXIT_IOAPIC_EOI,
 * KVM_EXIT_IRQ_WINDOW_OPEN).
 */
#include <errno.h>
#include "cused/kvm/vcpu_irq.h"
#include "cused/kvm/vcpu_irq_priv.h"
#include "cused/kvm/vcpu_mmio.h"
#include "cused/irq/ioapic.h"
#include "cused/irq/lapic.h"
#include "cused/util/log.h"

/* one PIO exit through the PIC/PIT, count times for string I/O */
static int pio(struct vcpu *v, struct tramp_exit *ex)
{
	struct irqchip *c = chip_of(v);
	uint8_t *d = ex->io.data;
	int r = 0;

	for (uint32_t i = 0; i < ex->io.count && !r; i++, d += ex->io.size)
		r = irqchip_pio(c, ex->io.port, ex->io.in, d, ex->io.size);
	if (r == -ENOENT)
		return 0;
	r = v->vm->ctx->ops->complete(v->tv, ex);
	return r ? r : 1;
}

static int lapic_or_ioapic(struct vcpu *v, uint64_t gpa, bool write, uint8_t *data, unsigned len)
{
	int r = write ? lapic_mmio_write(v->irq->lapic, gpa, data, len)
		      : lapic_mmio_read(v->irq->lapic, gpa, data, len);

	if (r == -ENOENT)
		r = irqchip_ioapic_mmio(chip_of(v), gpa, write, data, len);
	return r;
}

/* is gpa one the LAPIC or IOAPIC answers?  (decided before decoding a TX_NPF) */
static bool claims(struct vcpu *v, uint64_t gpa)
{
	uint64_t base = lapic_get_base(v->irq->lapic) & ~0xfffull;

	if (lapic_hw_enabled(v->irq->lapic) && !lapic_x2apic_mode(v->irq->lapic) &&
	    (gpa & ~0xfffull) == base)
		return true;
	return irqchip_mode(chip_of(v)) == IRQCHIP_KERNEL &&
	       gpa - IOAPIC_DEFAULT_BASE < IOAPIC_MEM_LENGTH;
}

static int mmio(struct vcpu *v, struct tramp_exit *ex)
{
	int r;

	if (ex->reason == TX_NPF) {
		if (!claims(v, ex->npf.gpa))
			return 0;
		r = mmio_begin(v, ex);    /* a write is retired already; a read waits for data */
		if (r || ex->reason != TX_MMIO)
			return r;         /* TX_INTERNAL goes to the client */
		r = lapic_or_ioapic(v, ex->mmio.gpa, ex->mmio.is_write, ex->mmio.data, ex->mmio.len);
		if (r == -ENOENT)
			r = 0;
		if (!r && !ex->mmio.is_write)
			r = mmio_finish(v, ex->mmio.data);
		return r ? r : 1;
	}
	r = lapic_or_ioapic(v, ex->mmio.gpa, ex->mmio.is_write, ex->mmio.data, ex->mmio.len);
	if (r == -ENOENT)
		return 0;
	r = v->vm->ctx->ops->complete(v->tv, ex);
	return r ? r : 1;
}

/* split irqchip: a level EOI goes to the VMM's IOAPIC (KVM_REQ_IOAPIC_EOI_EXIT) */
int vi_eoi_exit(struct vcpu *v)
{
	struct irqchip_vcpu *iv = v->irq->iv;

	if (iv->pending_eoi < 0)
		return 0;
	v->run->exit_reason = KVM_EXIT_IOAPIC_EOI;
	v->run->eoi.vector = (uint8_t)iv->pending_eoi;
	iv->pending_eoi = -1;
	return 2;
}

/*
 * vcpu_run's check after every exit KVM handles itself: a split irqchip's
 * VMM that asked for the window gets KVM_EXIT_IRQ_WINDOW_OPEN as soon as
 * an ExtINT could go in (a HLT included: the vCPU stays HALTED).
 */
static int window_exit(struct vcpu *v, const struct tramp_exit *ex, int r)
{
	if (r != 1 || irqchip_mode(chip_of(v)) != IRQCHIP_SPLIT ||
	    !v->run->request_interrupt_window || !ex->irq_ready)
		return r;
	v->run->exit_reason = KVM_EXIT_IRQ_WINDOW_OPEN;
	return 2;
}

static int handle_exit(struct vcpu *v, struct tramp_exit *ex);

int vcpu_irq_exit(struct vcpu *v, struct tramp_exit *ex)
{
	if (!v->irq)
		return 0;
	return window_exit(v, ex, handle_exit(v, ex));
}

static int handle_exit(struct vcpu *v, struct tramp_exit *ex)
{
	struct vcpu_irq *vi = v->irq;
	int r;

	switch (ex->reason) {
	case TX_HLT:
		/* kvm_emulate_halt with an in-kernel LAPIC: block, do not exit */
		vi->mp_state = KVM_MP_STATE_HALTED;
		return 1;
	case TX_IRQ_WINDOW:
		if (irqchip_mode(chip_of(v)) == IRQCHIP_SPLIT && v->run->request_interrupt_window &&
		    vi->ext_vector < 0)
			return 0;
		return 1;
	case TX_IO:
		return pio(v, ex);
	case TX_MMIO:
	case TX_NPF:
		r = mmio(v, ex);
		return r == 1 && vi_eoi_exit(v) ? 2 : r;
	case TX_RDMSR:
	case TX_WRMSR:
		/* handled by the MSR table hook; an EOI through x2APIC may need an exit */
		return 0;
	default:
		return 0;
	}
}

bool vcpu_irq_msr(struct vcpu *v, bool write, uint32_t index, uint64_t *data, bool host, int *r)
{
	struct vcpu_irq *vi = v->irq;
	struct lapic *l;

	if (!vi)
		return false;
	l = vi->lapic;
	*r = 0;
	if (index == 0x1b) {
		if (!write) {
			*data = lapic_get_base(l);
			return true;
		}
		*r = lapic_set_base(l, *data, host) ? 1 : 0;
		/* the backend's copy is what run->apic_base would say without us */
		if (!*r)
			vcpu_write_field(v, CUSED_F_APIC_BASE, lapic_get_base(l));
		return true;
	}
	if (index == 0x6e0) {
		*r = 0;
		if (write) {
			vi_tsc_clock_refresh(v);
			lapic_set_tscdeadline(l, *data);
		} else {
			*data = lapic_get_tscdeadline(l);
		}
		return true;
	}
	if (lapic_is_x2apic_msr(index)) {
		*r = (write ? lapic_msr_write(l, index, *data) : lapic_msr_read(l, index, data)) ? 1 : 0;
		return true;
	}
	return false;
}

/* the exit the guest's x2APIC EOI caused, for the split irqchip (called after the MSR exit) */
int vcpu_irq_msr_done(struct vcpu *v)
{
	return v->irq ? vi_eoi_exit(v) : 0;
}
