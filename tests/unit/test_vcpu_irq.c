/* SPDX-License-Identifier: MIT */
/*
 * The vCPU side of the in-daemon irqchip (cused/kvm/vcpu_irq.c) through the
 * real handlers and KVM_RUN loop, on a scripted backend that exits as the
 * kmod backend does (raw TX_NPF for the APIC page, port I/O, HLT): what the
 * daemon must retire itself and what reaches the client.  The hostkvm path
 * is covered end to end by `kvmtest irq` in the differential test.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <time.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/kvm.h>
#include "cused/kvm/ctx.h"
#include "cused/kvm/handle.h"
#include "cused/kvm/vcpu.h"
#include "cused/shim_abi.h"

struct tramp_backend { int dummy; };
struct tramp_vm { int dummy; };
struct tramp_vcpu {
	uint64_t fields[0x500];
	int script;
	int completes, kicks, nmis;
	int injected;        /* last vector given to inject_irq, -1 none */
	int busy;            /* refuse this many injections with -EEXIST (an exception queued) */
	int refused;
	bool window;
	bool window_exited;  /* the window exit for this request was given */
	uint8_t io[4];
};

static int fb_init(struct tramp_backend **out) { *out = calloc(1, sizeof(**out)); return 0; }
static void fb_fini(struct tramp_backend *be) { free(be); }
static void fb_caps(struct tramp_backend *be, struct tramp_caps *c)
{
	*c = (struct tramp_caps){ .vendor = CUSED_VENDOR_AMD, .max_vcpus = 8 };
}
static int fb_host_cpuid(struct tramp_backend *be, struct kvm_cpuid2 *c, uint32_t max)
{
	c->nent = 1;
	c->entries[0] = (struct kvm_cpuid_entry2){ .function = 0, .eax = 1 };
	return 0;
}
static int fb_vm_create(struct tramp_backend *be, struct tramp_vm **o) { *o = calloc(1, sizeof(**o)); return 0; }
static void fb_vm_destroy(struct tramp_vm *vm) { free(vm); }
static int fb_vcpu_create(struct tramp_vm *vm, uint32_t id, struct tramp_vcpu **o)
{
	*o = calloc(1, sizeof(**o));
	(*o)->injected = -1;
	return 0;
}
static void fb_vcpu_destroy(struct tramp_vcpu *v) { free(v); }
static int fb_read(struct tramp_vcpu *v, struct cused_field_val *f, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		f[i].val = f[i].id < 0x500 ? v->fields[f[i].id] : 0;
	return 0;
}
static int fb_write(struct tramp_vcpu *v, const struct cused_field_val *f, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (f[i].id < 0x500)
			v->fields[f[i].id] = f[i].val;
	return 0;
}
static int fb_set_cpuid(struct tramp_vcpu *v, const struct kvm_cpuid2 *c) { return 0; }
static int fb_inject(struct tramp_vcpu *v, uint32_t vec)
{
	if (v->busy) {
		v->busy--;
		v->refused++;
		return -EEXIST;
	}
	v->injected = (int)vec;
	return 0;
}
static int fb_irqwin(struct tramp_vcpu *v, bool on)
{
	v->window = on;
	v->window_exited = false;
	return 0;
}
static int fb_nmi(struct tramp_vcpu *v) { v->nmis++; return 0; }

static void out_exit(struct tramp_vcpu *v, struct tramp_exit *ex, uint16_t port, uint8_t val)
{
	v->io[0] = val;
	ex->reason = TX_IO;
	ex->io.port = port; ex->io.size = 1; ex->io.in = 0; ex->io.count = 1;
	ex->io.data = v->io;
}

/*
 * 0: the guest stores EAX to the SVR through the APIC page (mov %eax,(%edx))
 * 1: OUT 0x21 (the master 8259's IMR)   2: OUT 0xe9 (the client's)
 * 3: OUT 0xe9   4: HLT   5: OUT 0xe9   6+: HLT
 */
static int fb_run(struct tramp_vcpu *v, struct tramp_exit *ex)
{
	ex->if_flag = ex->irq_ready = true;
	/* IF is always 1 here: a requested window opens at once, as on hardware */
	if (v->window && !v->window_exited) {
		v->window_exited = true;
		ex->reason = TX_IRQ_WINDOW;
		return 0;
	}
	switch (v->script++) {
	case 0:
		ex->reason = TX_NPF;
		ex->npf.gpa = 0xfee000f0;
		ex->npf.write = 1;
		ex->npf.insn_len = 2;
		ex->npf.insn[0] = 0x89;
		ex->npf.insn[1] = 0x02;
		return 0;
	case 1:
		out_exit(v, ex, 0x21, 0xfb);
		return 0;
	case 2:
	case 3:
	case 5:
		out_exit(v, ex, 0xe9, 'A');
		return 0;
	default:
		ex->reason = TX_HLT;
		return 0;
	}
}
static int fb_complete(struct tramp_vcpu *v, const struct tramp_exit *ex) { v->completes++; return 0; }
static void fb_kick(struct tramp_vcpu *v) { v->kicks++; }

static const struct tramp_ops fake_ops = {
	.name = "fake", .init = fb_init, .fini = fb_fini, .caps = fb_caps,
	.host_cpuid = fb_host_cpuid, .vm_create = fb_vm_create, .vm_destroy = fb_vm_destroy,
	.vcpu_create = fb_vcpu_create, .vcpu_destroy = fb_vcpu_destroy,
	.read_fields = fb_read, .write_fields = fb_write, .set_cpuid = fb_set_cpuid,
	.inject_irq = fb_inject, .request_irq_window = fb_irqwin, .inject_nmi = fb_nmi,
	.run = fb_run, .complete = fb_complete, .kick = fb_kick,
};

static int own_read(void *c, uint64_t a, void *b, size_t l) { memcpy(b, (void *)(uintptr_t)a, l); return 0; }
static int own_write(void *c, uint64_t a, const void *b, size_t l) { memcpy((void *)(uintptr_t)a, b, l); return 0; }
static const struct client_mem own_mem = { own_read, own_write, NULL };

struct fixture {
	struct cused_ctx ctx;
	struct cused_handle *sys, *vm, *vcpu;
};

static long call(struct cused_handle *h, unsigned cmd, void *arg)
{
	size_t size = _IOC_SIZE(cmd);
	unsigned dir = _IOC_DIR(cmd);
	struct ioctl_req rq = { .cmd = cmd, .arg = (uintptr_t)arg, .pid = getpid(), .mem = &own_mem };
	void *out = calloc(1, size + 1);
	long r;

	if (dir & _IOC_WRITE) {
		rq.in = arg;
		rq.in_len = size;
		memcpy(out, arg, size);
	}
	if (dir & _IOC_READ) {
		rq.out = out;
		rq.out_len = size;
	}
	r = handle_ioctl(h, &rq);
	if (r >= 0 && (dir & _IOC_READ))
		memcpy(arg, out, size);
	free(out);
	return r;
}

static long call_val(struct cused_handle *h, unsigned cmd, unsigned long val)
{
	struct ioctl_req rq = { .cmd = cmd, .arg = val, .pid = getpid(), .mem = &own_mem };

	return handle_ioctl(h, &rq);
}

static struct cused_handle *create(struct fixture *f, struct cused_handle *on, uint64_t arg,
				   int kind)
{
	struct cused_create cr = { .arg = arg };
	struct cused_bind b = { .kind = kind, .run_fd = -1 };
	struct cused_handle *h;

	if (call(on, CUSED_IOC_CREATE, &cr))
		return NULL;
	h = handle_open(&f->ctx);
	b.token = cr.token;
	assert_int_equal(call(h, CUSED_IOC_BIND, &b), 0);
	return h;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_int_equal(ctx_init(&f->ctx, &fake_ops), 0);
	f->sys = handle_open(&f->ctx);
	f->vm = create(f, f->sys, 0, CUSED_BIND_VM);
	assert_non_null(f->vm);
	assert_int_equal(call_val(f->vm, KVM_CREATE_IRQCHIP, 0), 0);
	f->vcpu = create(f, f->vm, 0, CUSED_BIND_VCPU);
	assert_non_null(f->vcpu);
	*state = f;
	return 0;
}

/* the same with a split irqchip (the VMM's PIC and IOAPIC, the daemon's LAPIC) */
static int setup_split(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct kvm_enable_cap cap = { .cap = KVM_CAP_SPLIT_IRQCHIP, .args = { 24 } };

	assert_int_equal(ctx_init(&f->ctx, &fake_ops), 0);
	f->sys = handle_open(&f->ctx);
	f->vm = create(f, f->sys, 0, CUSED_BIND_VM);
	assert_non_null(f->vm);
	assert_int_equal(call(f->vm, KVM_ENABLE_CAP, &cap), 0);
	f->vcpu = create(f, f->vm, 0, CUSED_BIND_VCPU);
	assert_non_null(f->vcpu);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	unsigned vms, vcpus;

	handle_release(f->vcpu);
	handle_release(f->vm);
	handle_release(f->sys);
	ctx_status(&f->ctx, &vms, &vcpus);
	assert_int_equal(vms, 0);
	assert_int_equal(vcpus, 0);
	ctx_fini(&f->ctx);
	free(f);
	return 0;
}

static uint32_t reg(const struct kvm_lapic_state *s, unsigned off)
{
	uint32_t v;

	memcpy(&v, s->regs + off, 4);
	return v;
}

static void test_ioctls(void **state)
{
	struct fixture *f = *state;
	struct kvm_interrupt irq = { .irq = 0x30 };
	struct kvm_mp_state mp;
	struct kvm_lapic_state ls;
	struct kvm_sregs sregs;

	/* KVM_INTERRUPT: EINVAL for the range first, then ENXIO with an in-kernel PIC */
	irq.irq = 256;
	assert_int_equal(call(f->vcpu, KVM_INTERRUPT, &irq), -EINVAL);
	irq.irq = 0x30;
	assert_int_equal(call(f->vcpu, KVM_INTERRUPT, &irq), -ENXIO);
	assert_int_equal(call(f->vcpu, KVM_GET_MP_STATE, &mp), 0);
	assert_int_equal(mp.mp_state, KVM_MP_STATE_RUNNABLE);
	mp.mp_state = KVM_MP_STATE_STOPPED;
	assert_int_equal(call(f->vcpu, KVM_SET_MP_STATE, &mp), -EINVAL);
	assert_int_equal(call(f->vcpu, KVM_GET_LAPIC, &ls), 0);
	assert_int_equal(reg(&ls, 0x30), 0x50014);
	assert_int_equal(reg(&ls, 0x350), 0x700);      /* the BSP's LINT0 takes ExtINT */
	/* the APIC base lives in the LAPIC: GET_SREGS says so, a bad one fails SET_SREGS */
	assert_int_equal(call(f->vcpu, KVM_GET_SREGS, &sregs), 0);
	assert_int_equal(sregs.apic_base, 0xfee00900);
	sregs.apic_base = 0xfee00d00;   /* x2APIC without CPUID.x2APIC */
	assert_int_equal(call(f->vcpu, KVM_SET_SREGS, &sregs), -EINVAL);
	/* a KVM_CREATE_IRQCHIP now is too late */
	assert_int_equal(call_val(f->vm, KVM_CREATE_IRQCHIP, 0), -EEXIST);
}

/* a signal to the client thread, 50 ms from now */
static void *late_kick(void *arg)
{
	nanosleep(&(struct timespec){ 0, 50000000 }, NULL);
	vcpu_kick(arg);
	return NULL;
}

static void test_run(void **state)
{
	struct fixture *f = *state;
	struct vcpu *v = f->vcpu->vcpu;
	struct kvm_run *run = v->run;
	struct kvm_lapic_state ls;
	struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_PIC_MASTER };
	struct kvm_msi msi = { .address_lo = 0xfee00000, .data = 0x40 };
	struct kvm_mp_state mp;

	/* 32-bit protected mode for the decoder; EAX/EDX for the store */
	v->tv->fields[CUSED_F_CR0] = 1;
	v->tv->fields[CUSED_F_SEG(CUSED_SEG_CS, CUSED_SEGP_ATTR)] = 0xc09b;
	v->tv->fields[CUSED_F_RAX] = 0x1ff;
	v->tv->fields[CUSED_F_RDX] = 0xfee000f0;
	v->tv->fields[CUSED_F_RIP] = 0x1000;
	/* the APIC page store and the 8259 port are the daemon's; OUT 0xe9 is not */
	assert_int_equal(call_val(f->vcpu, KVM_RUN, 0), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_IO);
	assert_int_equal(run->io.port, 0xe9);
	assert_int_equal(v->tv->script, 3);
	assert_int_equal(v->tv->fields[CUSED_F_RIP], 0x1002);
	assert_int_equal(call(f->vcpu, KVM_GET_LAPIC, &ls), 0);
	assert_int_equal(reg(&ls, 0xf0), 0x1ff);
	assert_int_equal(call(f->vm, KVM_GET_IRQCHIP, &chip), 0);
	assert_int_equal(chip.chip.pic.imr, 0xfb);
	/* with an in-kernel PIC KVM always says ready */
	assert_int_equal(run->ready_for_interrupt_injection, 1);
	assert_int_equal(run->apic_base, 0xfee00900);

	/* an MSI to APIC 0: injected at the window, which opens at once */
	assert_int_equal(call(f->vm, KVM_SIGNAL_MSI, &msi), 1);
	assert_int_equal(call_val(f->vcpu, KVM_RUN, 0), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_IO);
	assert_int_equal(v->tv->injected, 0x40);
	assert_false(v->tv->window);
	assert_int_equal(call(f->vcpu, KVM_GET_LAPIC, &ls), 0);
	assert_int_equal(reg(&ls, 0x100 + 0x40 / 32 * 0x10), 1u << (0x40 % 32));   /* ISR */

	/* the next HLT has nothing to wake it: the vCPU sleeps in the daemon until a
	 * signal (kick) ends KVM_RUN with KVM_EXIT_INTR, and stays HALTED */
	pthread_t t;
	int kicks = v->tv->kicks;

	assert_int_equal(pthread_create(&t, NULL, late_kick, v), 0);
	assert_int_equal(call_val(f->vcpu, KVM_RUN, 0), -EINTR);
	pthread_join(t, NULL);
	assert_int_equal(run->exit_reason, KVM_EXIT_INTR);
	assert_int_equal(v->tv->script, 5);          /* one HLT, then asleep */
	assert_int_equal(call(f->vcpu, KVM_GET_MP_STATE, &mp), 0);
	assert_int_equal(mp.mp_state, KVM_MP_STATE_HALTED);
	assert_true(v->tv->kicks > kicks);
	/* an interrupt above the in-service 0x40's class wakes it (0x41 would not:
	 * same class as PPR) and the next KVM_RUN injects it and runs on */
	msi.data = 0x51;
	assert_int_equal(call(f->vm, KVM_SIGNAL_MSI, &msi), 1);
	assert_int_equal(call_val(f->vcpu, KVM_RUN, 0), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_IO);
	assert_int_equal(v->tv->injected, 0x51);
	assert_int_equal(call(f->vcpu, KVM_GET_MP_STATE, &mp), 0);
	assert_int_equal(mp.mp_state, KVM_MP_STATE_RUNNABLE);

	/* the backend's event slot is taken (a #GP queued by completing an MSR
	 * exit): the interrupt waits for the window, then goes in; KVM_RUN goes on */
	v->tv->busy = 1;
	msi.data = 0x61;
	assert_int_equal(call(f->vm, KVM_SIGNAL_MSI, &msi), 1);
	assert_int_equal(pthread_create(&t, NULL, late_kick, v), 0);
	assert_int_equal(call_val(f->vcpu, KVM_RUN, 0), -EINTR);
	pthread_join(t, NULL);
	assert_int_equal(v->tv->refused, 1);
	assert_int_equal(v->tv->injected, 0x61);
}

/*
 * Split irqchip: the VMM's request for an ExtINT window is honoured only
 * while LINT0 would take the ExtINT (KVM's req_int_win needs
 * kvm_cpu_accept_dm_intr); with LINT0 masked no window is opened, or a
 * guest with IF=1 would exit on every instruction.
 */
static void test_split_window(void **state)
{
	struct fixture *f = *state;
	struct vcpu *v = f->vcpu->vcpu;
	struct kvm_run *run = v->run;
	struct kvm_lapic_state ls;
	uint32_t lvt0 = 0x10700;        /* ExtINT, masked */

	v->tv->fields[CUSED_F_CR0] = 1;
	v->tv->fields[CUSED_F_SEG(CUSED_SEG_CS, CUSED_SEGP_ATTR)] = 0xc09b;
	v->tv->fields[CUSED_F_RAX] = 0x1ff;
	v->tv->fields[CUSED_F_RDX] = 0xfee000f0;
	v->tv->fields[CUSED_F_RIP] = 0x1000;
	/* LINT0 masked (as Linux's setup_local_APIC leaves it for a while): the
	 * PIC port 0x21 is the VMM's, the window stays shut */
	assert_int_equal(call(f->vcpu, KVM_GET_LAPIC, &ls), 0);
	memcpy(ls.regs + 0x350, &lvt0, 4);
	assert_int_equal(call(f->vcpu, KVM_SET_LAPIC, &ls), 0);
	run->request_interrupt_window = 1;
	assert_int_equal(call_val(f->vcpu, KVM_RUN, 0), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_IO);
	assert_int_equal(run->io.port, 0x21);
	assert_false(v->tv->window);
	assert_false(v->tv->window_exited);
	assert_int_equal(run->ready_for_interrupt_injection, 0);
	/* LINT0 as ExtINT: the window opens and the VMM hears of it */
	lvt0 = 0x700;
	assert_int_equal(call(f->vcpu, KVM_GET_LAPIC, &ls), 0);
	memcpy(ls.regs + 0x350, &lvt0, 4);
	assert_int_equal(call(f->vcpu, KVM_SET_LAPIC, &ls), 0);
	assert_int_equal(call_val(f->vcpu, KVM_RUN, 0), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_IRQ_WINDOW_OPEN);
	assert_int_equal(run->ready_for_interrupt_injection, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ioctls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_window, setup_split, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
