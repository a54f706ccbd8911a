/* SPDX-License-Identifier: MIT */
/*
 * Per-source line state shared by the PIC and the IOAPIC: every source
 * (KVM_IRQ_LINE from userspace, the PIT, an irqfd...) drives its own copy of
 * a pin and the pin's level is their OR (KVM's irq_states[] and
 * __kvm_irq_line_state()).
 */
#ifndef CUSED_IRQ_IRQ_LINE_H
#define CUSED_IRQ_IRQ_LINE_H

#include <stdbool.h>
#include <stdint.h>

/* source ids, as KVM numbers them; at most IRQ_LINE_MAX_SOURCES */
enum irq_source {
	IRQ_SRC_USERSPACE = 0,        /* KVM_USERSPACE_IRQ_SOURCE_ID: KVM_IRQ_LINE */
	IRQ_SRC_IRQFD_RESAMPLE = 1,   /* KVM_IRQFD_RESAMPLE_IRQ_SOURCE_ID */
	IRQ_SRC_PIT = 2,              /* the in-daemon PIT */
};
#define IRQ_LINE_MAX_SOURCES 32u

/* record source's level in *state and return the pin's ORed level */
static inline bool irq_line_state(uint32_t *state, unsigned source, bool level)
{
	if (level)
		*state |= 1u << source;
	else
		*state &= ~(1u << source);
	return *state != 0;
}

#endif
