/* SPDX-License-Identifier: MIT */
/*
 * The per-VM irqchip container (cused/irq/irqchip.c): the VM ioctls' errno
 * in KVM's order (Linux 6.1 x86.c kvm_arch_vm_ioctl, kvm_main.c), argument
 * copies for the ioctls KVM reads through the pointer (_IOR SET_IRQCHIP,
 * _IO REINJECT_CONTROL), vCPU attach/kick, and the timer loop.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <linux/kvm.h>
#include "cused/irq/irqchip.h"
#include "cused/irq/lapic.h"
#include "cused/irq/timerq.h"
#include "cused/kvm/ioctl.h"

/* client memory is this process's; uaddr 0 faults */
static int mem_read(void *ctx, uint64_t uaddr, void *buf, size_t len)
{
	(void)ctx;
	if (!uaddr)
		return -EFAULT;
	memcpy(buf, (void *)(uintptr_t)uaddr, len);
	return 0;
}

static int mem_write(void *ctx, uint64_t uaddr, const void *buf, size_t len)
{
	(void)ctx;
	if (!uaddr)
		return -EFAULT;
	memcpy((void *)(uintptr_t)uaddr, buf, len);
	return 0;
}

static const struct client_mem mem = { mem_read, mem_write, NULL };

/* run one ioctl as the frontend would: fixed part in/out per the number's direction */
static long call(struct irqchip *c, unsigned cmd, void *arg)
{
	size_t size = _IOC_SIZE(cmd);
	unsigned dir = _IOC_DIR(cmd);
	void *out = NULL;
	struct ioctl_req rq = { .cmd = cmd, .arg = (uintptr_t)arg, .mem = &mem };
	long r = -12345;

	if (dir & _IOC_WRITE) {
		rq.in = arg;
		rq.in_len = size;
	}
	if (dir & _IOC_READ) {
		out = calloc(1, size);
		if (dir & _IOC_WRITE)
			memcpy(out, arg, size);
		rq.out = out;
		rq.out_len = size;
	}
	assert_true(irqchip_vm_ioctl(c, &rq, &r));
	if (out && r >= 0)
		memcpy(arg, out, size);
	free(out);
	return r;
}

static int setup(void **state)
{
	struct irqchip *c;

	assert_int_equal(irqchip_new(&c), 0);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	irqchip_free(*state);
	return 0;
}

static void test_without_irqchip(void **state)
{
	struct irqchip *c = *state;
	struct kvm_irq_level l = { .irq = 0, .level = 1 };
	struct kvm_irqchip chip = { .chip_id = 0 };
	struct kvm_msi msi = { .address_lo = 0xfee00000 };
	struct kvm_irq_routing rt = { .nr = 0 };
	struct kvm_pit_state2 ps;
	struct kvm_reinject_control rc = { 0 };
	struct ioctl_req rq = { .cmd = KVM_RUN };
	long r;

	assert_int_equal(call(c, KVM_IRQ_LINE, &l), -ENXIO);
	assert_int_equal(call(c, KVM_IRQ_LINE_STATUS, &l), -ENXIO);
	assert_int_equal(call(c, KVM_GET_IRQCHIP, &chip), -ENXIO);
	assert_int_equal(call(c, KVM_SET_IRQCHIP, &chip), -ENXIO);
	assert_int_equal(call(c, KVM_SIGNAL_MSI, &msi), -EINVAL);
	assert_int_equal(call(c, KVM_SET_GSI_ROUTING, &rt), -EINVAL);
	assert_int_equal(call(c, KVM_GET_PIT2, &ps), -ENXIO);
	assert_int_equal(call(c, KVM_SET_PIT2, &ps), -ENXIO);
	assert_int_equal(call(c, KVM_REINJECT_CONTROL, &rc), -ENXIO);
	/* not one of ours */
	assert_false(irqchip_vm_ioctl(c, &rq, &r));
}

static void test_create_order(void **state)
{
	struct irqchip *c = *state;

	/* KVM: EEXIST is checked before created_vcpus */
	assert_int_equal(irqchip_create_kernel(c, true), -EINVAL);
	assert_int_equal(irqchip_mode(c), IRQCHIP_NONE);
	assert_int_equal(irqchip_create_split(c, 4097, false), -EINVAL);
	assert_int_equal(irqchip_create_split(c, 4096, true), -EEXIST);
	assert_int_equal(irqchip_create_kernel(c, false), 0);
	assert_int_equal(irqchip_mode(c), IRQCHIP_KERNEL);
	assert_int_equal(irqchip_create_kernel(c, true), -EEXIST);
	assert_int_equal(irqchip_create_kernel(c, false), -EEXIST);
	assert_int_equal(irqchip_create_split(c, 24, false), -EEXIST);
	assert_int_equal(irqchip_set_boot_cpu(c, 1, true), -EBUSY);
	assert_int_equal(irqchip_set_boot_cpu(c, 1, false), 0);
}

static void test_irqchip_state(void **state)
{
	struct irqchip *c = *state;
	struct kvm_irqchip chip = { .chip_id = 3 };
	struct kvm_irq_level l = { .irq = 4, .level = 1 };

	assert_int_equal(irqchip_create_kernel(c, false), 0);
	assert_int_equal(call(c, KVM_GET_IRQCHIP, &chip), -EINVAL);
	assert_int_equal(call(c, KVM_SET_IRQCHIP, &chip), -EINVAL);
	/* KVM_SET_IRQCHIP is _IOR: the handler reads it through the pointer and
	 * hands it back unchanged (the frontend copies the out buffer back) */
	chip.chip_id = KVM_IRQCHIP_IOAPIC;
	assert_int_equal(call(c, KVM_GET_IRQCHIP, &chip), 0);
	assert_int_equal(chip.chip.ioapic.base_address, 0xfec00000);
	chip.chip.ioapic.id = 3;
	chip.chip.ioapic.redirtbl[4].bits = 0x31;   /* unmasked, vector 0x31 */
	assert_int_equal(call(c, KVM_SET_IRQCHIP, &chip), 0);
	assert_int_equal(chip.chip_id, KVM_IRQCHIP_IOAPIC);
	assert_int_equal(chip.chip.ioapic.id, 3);
	memset(&chip.chip, 0, sizeof(chip.chip));
	assert_int_equal(call(c, KVM_GET_IRQCHIP, &chip), 0);
	assert_int_equal(chip.chip.ioapic.id, 3);
	assert_int_equal(chip.chip.ioapic.redirtbl[4].bits, 0x31);
	/* GSI 4: PIC pin 4 takes it (1) and the IOAPIC finds no LAPIC (0) */
	assert_int_equal(call(c, KVM_IRQ_LINE_STATUS, &l), 0);
	assert_int_equal(l.status, 1);
	chip.chip_id = KVM_IRQCHIP_PIC_MASTER;
	assert_int_equal(call(c, KVM_GET_IRQCHIP, &chip), 0);
	assert_int_equal(chip.chip.pic.irr, 1u << 4);
}

static void test_routing_and_msi(void **state)
{
	struct irqchip *c = *state;
	struct { struct kvm_irq_routing r; struct kvm_irq_routing_entry e[1]; } rt = {
		.r.nr = 1,
		.e = { { .gsi = 30, .type = KVM_IRQ_ROUTING_MSI,
			 .u.msi = { .address_lo = 0xfee00000, .data = 0x40 } } },
	};
	struct kvm_irq_routing big = { .nr = 4097 };
	struct kvm_irq_routing flags = { .nr = 0, .flags = 1 };
	struct kvm_msi msi = { .address_lo = 0xfee00000, .data = 0x40, .flags = 2 };

	assert_int_equal(irqchip_create_split(c, 0, false), 0);
	/* nr and flags are refused before the entries are read */
	assert_int_equal(call(c, KVM_SET_GSI_ROUTING, &big), -EINVAL);
	assert_int_equal(call(c, KVM_SET_GSI_ROUTING, &flags), -EINVAL);
	assert_int_equal(call(c, KVM_SET_GSI_ROUTING, &rt), 0);
	rt.e[0].type = KVM_IRQ_ROUTING_IRQCHIP;   /* a split irqchip has no PIC/IOAPIC pins */
	assert_int_equal(call(c, KVM_SET_GSI_ROUTING, &rt), -EINVAL);
	assert_int_equal(call(c, KVM_SIGNAL_MSI, &msi), -EINVAL);
	msi.flags = 0;
	/* no LAPIC on the bus: KVM's kvm_irq_delivery_to_apic gives -1 */
	assert_true(call(c, KVM_SIGNAL_MSI, &msi) <= 0);
	/* KVM_GET_IRQCHIP wants the in-kernel PIC/IOAPIC: ENXIO on a split irqchip */
	struct kvm_irqchip chip = { .chip_id = 0 };
	assert_int_equal(call(c, KVM_GET_IRQCHIP, &chip), -ENXIO);
}

static void test_pit(void **state)
{
	struct irqchip *c = *state;
	struct kvm_pit_config pc = { .flags = 0 };
	struct kvm_pit_state2 ps;
	struct kvm_pit_state s1;
	struct kvm_reinject_control rc = { .pit_reinject = 0 };
	uint8_t v = 0;

	/* KVM 6.1 creates a PIT without an irqchip too */
	assert_int_equal(call(c, KVM_CREATE_PIT2, &pc), 0);
	assert_int_equal(call(c, KVM_CREATE_PIT2, &pc), -EEXIST);
	assert_int_equal(call(c, KVM_GET_PIT2, &ps), 0);
	assert_int_equal(ps.channels[0].mode, 0xff);
	ps.channels[1].count = 0x1234;
	assert_int_equal(call(c, KVM_SET_PIT2, &ps), 0);
	assert_int_equal(call(c, KVM_GET_PIT, &s1), 0);
	assert_int_equal(s1.channels[1].count, 0x1234);
	assert_int_equal(call(c, KVM_SET_PIT, &s1), 0);
	/* _IO with a pointer argument */
	assert_int_equal(call(c, KVM_REINJECT_CONTROL, &rc), 0);
	assert_int_equal(call(c, KVM_REINJECT_CONTROL, NULL), -EFAULT);
	/* the ports: PIT yes, 0x61 only with KVM_PIT_SPEAKER_DUMMY, PIC only with an irqchip */
	assert_int_equal(irqchip_pio(c, 0x43, false, &v, 1), 0);
	assert_int_equal(irqchip_pio(c, 0x61, true, &v, 1), -ENOENT);
	assert_int_equal(irqchip_pio(c, 0x21, true, &v, 1), -ENOENT);
	assert_int_equal(irqchip_ioapic_mmio(c, 0xfec00000, false, &v, 1), -ENOENT);
}

static int kicks;
static void count_kick(void *ctx)
{
	(void)ctx;
	kicks++;
}

static void test_vcpu_attach(void **state)
{
	struct irqchip *c = *state;
	struct irqchip_vcpu *a, *b, *again;

	assert_int_equal(irqchip_create_kernel(c, false), 0);
	assert_int_equal(irqchip_attach_vcpu(c, 0, count_kick, NULL, &a), 0);
	assert_int_equal(irqchip_attach_vcpu(c, 1, count_kick, NULL, &b), 0);
	assert_true(lapic_hw_enabled(a->lapic));
	/* vCPU 0 is the BSP: its base MSR says so and LINT0 takes ExtINT */
	assert_int_equal(lapic_get_base(a->lapic) & 0x100, 0x100);
	assert_int_equal(lapic_get_base(b->lapic) & 0x100, 0);
	assert_true(lapic_accept_pic_intr(a->lapic) && !lapic_accept_pic_intr(b->lapic));
	/* a fixed IPI to b wakes b's runner, once b's APIC is software-enabled */
	assert_int_equal(lapic_mmio_write(b->lapic, 0xfee000f0, "\xff\x01\0\0", 4), 0);
	kicks = 0;
	uint64_t seq = b->wake_seq;
	struct kvm_msi msi = { .address_lo = 0xfee01000, .data = 0x45 };
	assert_int_equal(call(c, KVM_SIGNAL_MSI, &msi), 1);
	assert_true(b->wake_seq > seq);
	assert_int_equal(kicks, 1);
	/* gone: no kick reaches it, and the bus no longer matches it */
	irqchip_detach_vcpu(b);
	kicks = 0;
	assert_int_equal(call(c, KVM_SIGNAL_MSI, &msi), 0);
	assert_int_equal(kicks, 0);
	/* the same id again gets the same slot back, from RESET */
	assert_int_equal(irqchip_attach_vcpu(c, 1, count_kick, NULL, &again), 0);
	assert_ptr_equal(again, b);
	assert_int_equal(call(c, KVM_SIGNAL_MSI, &msi), 0);   /* SVR back to disabled */
	assert_int_equal(lapic_mmio_write(b->lapic, 0xfee000f0, "\xff\x01\0\0", 4), 0);
	assert_int_equal(call(c, KVM_SIGNAL_MSI, &msi), 1);
}

/* a halted runner fires its own due LAPIC timer (irqchip_vcpu_timer_due) */
static void test_vcpu_timer_due(void **state)
{
	struct irqchip *c = *state;
	struct irqchip_vcpu *a;
	uint64_t dl;

	assert_int_equal(irqchip_create_kernel(c, false), 0);
	assert_int_equal(irqchip_attach_vcpu(c, 0, count_kick, NULL, &a), 0);
	/* nothing armed */
	assert_int_equal(irqchip_vcpu_timer_due(a, timerq_now_ns()), 0);
	assert_int_equal(lapic_mmio_write(a->lapic, 0xfee000f0, "\xff\x01\0\0", 4), 0);
	assert_int_equal(lapic_mmio_write(a->lapic, 0xfee003e0, "\x0b\0\0\0", 4), 0);
	assert_int_equal(lapic_mmio_write(a->lapic, 0xfee00320, "\x40\0\0\0", 4), 0);
	/* one-shot, a long count: seconds away */
	assert_int_equal(lapic_mmio_write(a->lapic, 0xfee00380, "\0\0\0\x7f", 4), 0);
	kicks = 0;
	dl = irqchip_vcpu_timer_due(a, timerq_now_ns());
	assert_true(dl > timerq_now_ns() + 100000000ull);
	assert_int_equal(kicks, 0);
	/* at its deadline: fired here, the runner kicked, nothing left armed */
	assert_int_equal(irqchip_vcpu_timer_due(a, dl), 0);
	assert_int_equal(kicks, 1);
	lapic_sync(a->lapic);
	assert_int_equal(lapic_pending_intr(a->lapic), 0x40);
	assert_int_equal(irqchip_vcpu_timer_due(a, UINT64_MAX), 0);
	assert_int_equal(kicks, 1);
}

/* ---- timerq: real clock, short deadlines */
struct ticker {
	struct timerq *tq;
	_Atomic int ticks;
	int want;
	uint64_t period;
};

static uint64_t tick(void *dev, uint64_t now)
{
	struct ticker *t = dev;
	int n = ++t->ticks;

	return n < t->want ? now + t->period : 0;
}

static void wait_ticks(struct ticker *t, int n)
{
	for (int i = 0; i < 2000 && t->ticks < n; i++)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
}

static void test_timerq(void **state)
{
	struct ticker t = { .want = 3, .period = 1000000 };
	struct ticker u = { .want = 100, .period = 1000000 };

	(void)state;
	assert_int_equal(timerq_create(&t.tq), 0);
	/* re-armed from what the tick returns, until it returns 0 */
	assert_int_equal(timerq_arm(t.tq, &t, tick, timerq_now_ns() + 1000000), 0);
	wait_ticks(&t, 3);
	assert_int_equal(t.ticks, 3);
	nanosleep(&(struct timespec){ 0, 5000000 }, NULL);
	assert_int_equal(t.ticks, 3);
	/* 0 cancels */
	assert_int_equal(timerq_arm(t.tq, &u, tick, timerq_now_ns() + 50000000), 0);
	assert_int_equal(timerq_arm(t.tq, &u, tick, 0), 0);
	nanosleep(&(struct timespec){ 0, 60000000 }, NULL);
	assert_int_equal(u.ticks, 0);
	/* cancel_sync stops a periodic device for good */
	assert_int_equal(timerq_arm(t.tq, &u, tick, timerq_now_ns()), 0);
	wait_ticks(&u, 2);
	timerq_cancel_sync(t.tq, &u);
	int seen = u.ticks;
	nanosleep(&(struct timespec){ 0, 5000000 }, NULL);
	assert_int_equal(u.ticks, seen);
	timerq_destroy(t.tq);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_without_irqchip), T(test_create_order), T(test_irqchip_state),
		T(test_routing_and_msi), T(test_pit), T(test_vcpu_attach), T(test_vcpu_timer_due),
		cmocka_unit_test(test_timerq),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
