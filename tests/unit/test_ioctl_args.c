/* SPDX-License-Identifier: MIT */
/*
 * Argument validation of every ioctl cused serves, through the real handlers
 * (handle_ioctl), with a scripted fake backend instead of a guest.  Each case
 * asserts the errno Linux KVM returns for the same argument.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/kvm.h>
#include "cused/kvm/ctx.h"
#include "cused/kvm/handle.h"
#include "cused/kvm/vcpu.h"
#include "cused/shim_abi.h"
#include "fake_backend.h"
#include "cused/x86/pvclock.h"
#include <x86intrin.h>

/* ---- client memory is our own memory ---- */
/* the client is this process; its first page stands for unmapped memory */
static int own_read(void *c, uint64_t a, void *b, size_t l)
{
	if (a < 4096)
		return -EFAULT;
	memcpy(b, (void *)(uintptr_t)a, l);
	return 0;
}

static int own_write(void *c, uint64_t a, const void *b, size_t l)
{
	if (a < 4096)
		return -EFAULT;
	memcpy((void *)(uintptr_t)a, b, l);
	return 0;
}
static const struct client_mem own_mem = { own_read, own_write, NULL };

struct fixture {
	struct cused_ctx ctx;
	struct cused_handle *sys, *vm, *vcpu;
	int memfd;
};

/* issue an ioctl the way the frontend does: fixed part in, fixed part out */
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
				   int kind, int run_fd)
{
	struct cused_create cr = { .arg = arg };
	struct cused_bind b = { .kind = kind, .run_fd = run_fd };
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
	f->vm = create(f, f->sys, 0, CUSED_BIND_VM, -1);
	assert_non_null(f->vm);
	f->vcpu = create(f, f->vm, 0, CUSED_BIND_VCPU, -1);
	assert_non_null(f->vcpu);
	f->memfd = memfd_create("guest", 0);
	assert_true(ftruncate(f->memfd, 1 << 20) == 0);
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
	/* closing every handle frees every object */
	assert_int_equal(vms, 0);
	assert_int_equal(vcpus, 0);
	ctx_fini(&f->ctx);
	close(f->memfd);
	free(f);
	return 0;
}

static long set_mem(struct fixture *f, uint32_t slot, uint32_t flags, uint64_t gpa,
		    uint64_t size, uint64_t uaddr)
{
	struct cused_mem_region mr = {
		.region = { slot, flags, gpa, size, uaddr }, .fd = size ? f->memfd : -1,
	};
	return call(f->vm, CUSED_IOC_SET_MEMORY, &mr);
}

static void test_system(void **state)
{
	struct fixture *f = *state;
	struct { struct kvm_msr_list l; uint32_t idx[512]; } ml = { .l.nmsrs = 0 };
	struct { struct kvm_cpuid2 c; struct kvm_cpuid_entry2 e[8]; } cpuid = { .c.nent = 0 };

	assert_int_equal(call_val(f->sys, KVM_GET_API_VERSION, 0), 12);
	assert_int_equal(call_val(f->sys, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY), 1);
	assert_int_equal(call_val(f->sys, KVM_CHECK_EXTENSION, KVM_CAP_IRQCHIP), 1);
	assert_int_equal(call_val(f->sys, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS), CUSED_USER_MEMSLOTS);
	assert_int_equal(call_val(f->sys, KVM_GET_VCPU_MMAP_SIZE, 0), CUSED_VCPU_MMAP_SIZE);
	/* a client without the shim is told so, not crashed */
	assert_int_equal(call_val(f->sys, KVM_CREATE_VM, 0), -EOPNOTSUPP);
	assert_int_equal(call_val(f->sys, _IO(KVMIO, 0x7f), 0), -EINVAL);
	assert_int_equal(call_val(f->sys, KVM_GET_API_VERSION, 1), -EINVAL);
	assert_int_equal(call_val(f->sys, KVM_GET_VCPU_MMAP_SIZE, 1), -EINVAL);
	/* too small: E2BIG and the needed count written back */
	assert_int_equal(call(f->sys, KVM_GET_MSR_INDEX_LIST, &ml), -E2BIG);
	assert_true(ml.l.nmsrs > 0 && ml.l.nmsrs < 512);
	assert_int_equal(call(f->sys, KVM_GET_MSR_INDEX_LIST, &ml), 0);
	assert_int_equal(call(f->sys, KVM_GET_SUPPORTED_CPUID, &cpuid), -E2BIG);
	cpuid.c.nent = 8;
	assert_int_equal(call(f->sys, KVM_GET_SUPPORTED_CPUID, &cpuid), 0);
	/* the (fake) host's two leaves and KVM's two PV leaves */
	assert_int_equal(cpuid.c.nent, 4);
	assert_int_equal(cpuid.e[2].function, 0x40000000);
	/* x2APIC is the daemon LAPIC's: offered as the (fake) host reports it */
	assert_int_not_equal(cpuid.e[1].ecx & (1u << 21), 0);
}

static void test_create(void **state)
{
	struct fixture *f = *state;
	struct cused_create cr = { .arg = 1 };
	struct cused_bind b = { .token = 12345, .kind = CUSED_BIND_VM, .run_fd = -1 };
	struct cused_handle *h = handle_open(&f->ctx);

	assert_int_equal(call(f->sys, CUSED_IOC_CREATE, &cr), -EINVAL);   /* VM type 1 */
	assert_int_equal(call(h, CUSED_IOC_BIND, &b), -ENOENT);           /* unknown token */
	cr.arg = 0;
	assert_int_equal(call(f->sys, CUSED_IOC_CREATE, &cr), 0);
	b.token = cr.token;
	b.kind = CUSED_BIND_VCPU;
	assert_int_equal(call(h, CUSED_IOC_BIND, &b), -EINVAL);           /* kind mismatch */
	handle_release(h);
	/* vCPU ids: range, duplicates, plain KVM_CREATE_VCPU */
	cr.arg = CUSED_MAX_VCPU_IDS;
	assert_int_equal(call(f->vm, CUSED_IOC_CREATE, &cr), -EINVAL);
	cr.arg = 0;
	assert_int_equal(call(f->vm, CUSED_IOC_CREATE, &cr), -EEXIST);
	assert_int_equal(call_val(f->vm, KVM_CREATE_VCPU, 1), -EOPNOTSUPP);
}

static void test_memory(void **state)
{
	struct fixture *f = *state;
	void *ram = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, f->memfd, 0);
	uint64_t ua = (uintptr_t)ram;
	struct { struct kvm_dirty_log d; } dl;
	uint64_t bitmap[4] = { 0 };

	assert_int_equal(set_mem(f, 0, 0, 0x1000, 0x1001, ua), -EINVAL);        /* size */
	assert_int_equal(set_mem(f, 0, 0, 0x1001, 0x1000, ua), -EINVAL);        /* gpa */
	assert_int_equal(set_mem(f, 0, 0, 0x1000, 0x1000, ua + 1), -EINVAL);   /* uaddr */
	assert_int_equal(set_mem(f, 0, 1u << 7, 0x1000, 0x1000, ua), -EINVAL); /* flags */
	assert_int_equal(set_mem(f, 1u << 16, 0, 0x1000, 0x1000, ua), -EINVAL); /* as_id */
	assert_int_equal(set_mem(f, CUSED_USER_MEMSLOTS, 0, 0, 0x1000, ua), -EINVAL);
	assert_int_equal(set_mem(f, 3, 0, 0, 0, 0), -EINVAL);                   /* delete missing */
	assert_int_equal(set_mem(f, 0, KVM_MEM_LOG_DIRTY_PAGES, 0, 0x10000, ua), 0);
	assert_int_equal(set_mem(f, 1, 0, 0x8000, 0x10000, ua + 0x10000), -EEXIST);
	assert_int_equal(set_mem(f, 1, 0, 0x10000, 0x10000, ua + 0x10000), 0);  /* adjacent */
	/* changing size or uaddr of a live slot is EINVAL */
	assert_int_equal(set_mem(f, 1, 0, 0x10000, 0x20000, ua + 0x10000), -EINVAL);

	dl.d = (struct kvm_dirty_log){ .slot = 1, .dirty_bitmap = bitmap };
	assert_int_equal(call(f->vm, KVM_GET_DIRTY_LOG, &dl), -ENOENT);         /* no logging */
	dl.d.slot = CUSED_USER_MEMSLOTS;
	assert_int_equal(call(f->vm, KVM_GET_DIRTY_LOG, &dl), -EINVAL);
	dl.d.slot = 0;
	assert_int_equal(call(f->vm, KVM_GET_DIRTY_LOG, &dl), 0);
	assert_int_equal(bitmap[0], 0x5);        /* what the backend reported */
	bitmap[0] = 0;
	dl.d.slot = 0;
	assert_int_equal(call(f->vm, KVM_GET_DIRTY_LOG, &dl), 0);
	assert_int_equal(bitmap[0], 0x5);
	assert_int_equal(set_mem(f, 1, 0, 0x10000, 0, ua + 0x10000), 0);        /* delete */
	assert_int_equal(call_val(f->vm, _IO(KVMIO, 0x7f), 0), -ENOTTY);
	/* no in-kernel irqchip: IRQ_LINE is ENXIO, CREATE_IRQCHIP after vCPUs EINVAL */
	{
		struct kvm_irq_level lvl = { .irq = 4, .level = 1 };
		struct kvm_enable_cap cap = { .cap = 9999 };

		assert_int_equal(call(f->vm, KVM_IRQ_LINE, &lvl), -ENXIO);
		assert_int_equal(call_val(f->vm, KVM_CREATE_IRQCHIP, 0), -EINVAL);
		assert_int_equal(call(f->vm, KVM_ENABLE_CAP, &cap), -EINVAL);
		cap.flags = 1;
		assert_int_equal(call(f->vm, KVM_ENABLE_CAP, &cap), -EINVAL);
	}
	munmap(ram, 1 << 20);
}

static void test_vcpu_args(void **state)
{
	struct fixture *f = *state;
	struct { struct kvm_msrs m; struct kvm_msr_entry e[2]; } msrs = { .m.nmsrs = 256 };
	struct { struct kvm_cpuid2 c; } cpuid = { .c.nent = 257 };
	struct kvm_interrupt irq = { .irq = 256 };
	struct kvm_guest_debug dbg = { .control = 1u << 30 };
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = 0x1234, .rax = 7, .rflags = 2 };

	assert_int_equal(call(f->vcpu, KVM_GET_MSRS, &msrs), -E2BIG);
	assert_int_equal(call(f->vcpu, KVM_SET_CPUID2, &cpuid), -E2BIG);
	assert_int_equal(call(f->vcpu, KVM_INTERRUPT, &irq), -EINVAL);
	/* the reference /dev/kvm ignores unknown control bits */
	assert_int_equal(call(f->vcpu, KVM_SET_GUEST_DEBUG, &dbg), 0);
	assert_int_equal(call_val(f->vcpu, _IO(KVMIO, 0x7f), 0), -EINVAL);
	assert_int_equal(call_val(f->vcpu, KVM_CHECK_EXTENSION, 1), -EINVAL);

	/* MSRs: stops at the first unknown one and returns how many succeeded */
	msrs.m.nmsrs = 2;
	msrs.e[0] = (struct kvm_msr_entry){ .index = 0x175, .data = 0xabc };
	msrs.e[1] = (struct kvm_msr_entry){ .index = 0x4b564dff };
	assert_int_equal(call(f->vcpu, KVM_SET_MSRS, &msrs), 1);
	msrs.e[0].data = 0;
	assert_int_equal(call(f->vcpu, KVM_GET_MSRS, &msrs), 1);
	assert_int_equal(msrs.e[0].data, 0xabc);

	/* regs round trip; sregs: long mode paging without PAE is EINVAL */
	assert_int_equal(call(f->vcpu, KVM_SET_REGS, &regs), 0);
	memset(&regs, 0, sizeof(regs));
	assert_int_equal(call(f->vcpu, KVM_GET_REGS, &regs), 0);
	assert_int_equal(regs.rip, 0x1234);
	assert_int_equal(regs.rax, 7);
	assert_int_equal(call(f->vcpu, KVM_GET_SREGS, &sregs), 0);
	sregs.cr0 = 0x80000011;
	sregs.efer = 0x500;     /* LME | LMA */
	sregs.cr4 = 0;
	assert_int_equal(call(f->vcpu, KVM_SET_SREGS, &sregs), -EINVAL);
	sregs.cr4 = 0x20;       /* PAE */
	assert_int_equal(call(f->vcpu, KVM_SET_SREGS, &sregs), 0);

	irq.irq = 0x30;
	assert_int_equal(call(f->vcpu, KVM_INTERRUPT, &irq), 0);
	assert_int_equal(call(f->vcpu, KVM_GET_SREGS, &sregs), 0);
	assert_int_equal(sregs.interrupt_bitmap[0], 1ULL << 0x30);
}

static void test_run_exits(void **state)
{
	struct fixture *f = *state;
	struct vcpu *v = f->vcpu->vcpu;
	struct kvm_run *run = v->run;

	/* OUT: the data is in the PIO page at data_offset, like KVM */
	assert_int_equal(call_val(f->vcpu, KVM_RUN, 0), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_IO);
	assert_int_equal(run->io.port, 0xe9);
	assert_int_equal(run->io.direction, KVM_EXIT_IO_OUT);
	assert_int_equal(run->io.data_offset, CUSED_RUN_PIO_OFFSET);
	assert_int_equal(*((uint8_t *)run + run->io.data_offset), 'A');
	/* the guest WRMSR is handled inside the daemon; the client sees HLT */
	assert_int_equal(call_val(f->vcpu, KVM_RUN, 0), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(v->tv->fields[CUSED_F_SYSENTER_ESP], 0x1234);
	assert_true(v->tv->completes >= 2);   /* IO retired, MSR retired */
	/* immediate_exit: EINTR without entering, exit_reason left alone */
	run->immediate_exit = 1;
	assert_int_equal(call_val(f->vcpu, KVM_RUN, 0), -EINTR);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(v->tv->script, 3);
	run->immediate_exit = 0;
	/* a kick (the client took a signal) is KVM_EXIT_INTR */
	vcpu_kick(v);
	assert_int_equal(call_val(f->vcpu, KVM_RUN, 0), -EINTR);
	assert_int_equal(run->exit_reason, KVM_EXIT_INTR);
	assert_int_equal(v->tv->kicks, 1);
}

/* KVM 6.1 kvm_set_cpuid: after KVM_RUN only the table in force is accepted */
static void test_cpuid_after_run(void **state)
{
	struct fixture *f = *state;
	struct { struct kvm_cpuid2 c; struct kvm_cpuid_entry2 e[2]; } t = {
		.c.nent = 2,
		.e = { { .function = 0, .eax = 7 }, { .function = 7, .flags = 1, .ebx = 0x3 } },
	}, got = { .c.nent = 2 };

	assert_int_equal(call(f->vcpu, KVM_SET_CPUID2, &t), 0);
	t.e[1].ebx = 0x1;                       /* before KVM_RUN anything goes */
	assert_int_equal(call(f->vcpu, KVM_SET_CPUID2, &t), 0);
	assert_int_equal(call_val(f->vcpu, KVM_RUN, 0), 0);
	assert_int_equal(call(f->vcpu, KVM_SET_CPUID2, &t), 0);
	t.e[1].ebx = 0x3;
	assert_int_equal(call(f->vcpu, KVM_SET_CPUID2, &t), -EINVAL);
	t.c.nent = 1;
	assert_int_equal(call(f->vcpu, KVM_SET_CPUID2, &t), -EINVAL);
	/* the refused tables left the one in force alone */
	assert_int_equal(call(f->vcpu, KVM_GET_CPUID2, &got), 0);
	assert_int_equal(got.c.nent, 2);
	assert_int_equal(got.e[1].ebx, 0x1);
}

/* a kmod-like backend: the guest's CPUID and hypercalls come to the daemon */
static int cpuid_hcall_script(void *opaque, struct tramp_vcpu *v, struct tramp_exit *ex)
{
	switch (v->script) {
	case 0:
		ex->reason = TX_CPUID;
		ex->cpuid.function = 1;
		return 0;
	case 1:
		v->fields[CUSED_F_RAX] = 11;                     /* KVM_HC_SCHED_YIELD */
		v->fields[CUSED_F_RIP] = 0x1000;
		/* 64-bit code at CPL 0: the whole of RAX is the answer */
		v->fields[CUSED_F_CR0] = 0x80000011;
		v->fields[CUSED_F_EFER] = 0x500;
		v->fields[CUSED_F_SEG(CUSED_SEG_CS, CUSED_SEGP_ATTR)] = 0xa09b;
		v->fields[CUSED_F_SEG(CUSED_SEG_SS, CUSED_SEGP_ATTR)] = 0xc093;
		ex->reason = TX_HYPERCALL;
		return 0;
	default:
		ex->reason = TX_HLT;
		return 0;
	}
}

/* CPUID.01H:ECX.OSXSAVE follows CR4 (cr4_cpuid_sync_test); KVM's hypercall answer and RIP */
static void test_cpuid_hypercall_exits(void **state)
{
	struct fixture *f = *state;
	struct vcpu *v = f->vcpu->vcpu;
	struct { struct kvm_cpuid2 c; struct kvm_cpuid_entry2 e[2]; } t = {
		.c.nent = 2,
		.e = { { .function = 1, .ecx = 1u << 26 },                 /* XSAVE */
		       { .function = 0x40000001, .eax = 0 } },
	};
	struct kvm_enable_cap en = { .cap = KVM_CAP_ENFORCE_PV_FEATURE_CPUID, .args = { 1 } };

	f->ctx.caps.cpuid_exits = true;
	fake_backend_set_exits(f->ctx.be, cpuid_hcall_script, NULL);
	assert_int_equal(call(f->vcpu, KVM_SET_CPUID2, &t), 0);
	assert_int_equal(call(f->vcpu, KVM_ENABLE_CAP, &en), 0);
	v->tv->fields[CUSED_F_CR4] = 1ull << 18;                      /* OSXSAVE */
	assert_int_equal(call_val(f->vcpu, KVM_RUN, 0), 0);
	assert_int_equal(v->run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(v->tv->completed.reason, TX_CPUID);
	assert_int_equal(v->tv->completed.cpuid.ecx, (1u << 26) | (1u << 27));
	/* enforced and not offered: -KVM_ENOSYS, RIP past VMMCALL */
	assert_int_equal(v->tv->fields[CUSED_F_RAX], (uint64_t)-1000);
	assert_int_equal(v->tv->fields[CUSED_F_RIP], 0x1003);
}

static long msr_rw(struct fixture *f, bool set, uint32_t index, uint64_t *val)
{
	struct { struct kvm_msrs m; struct kvm_msr_entry e; } b = {
		.m.nmsrs = 1, .e = { .index = index, .data = *val } };
	long r = call(f->vcpu, set ? KVM_SET_MSRS : KVM_GET_MSRS, &b);

	*val = b.e.data;
	return r;
}

#define CLOSE(a, b) ((a) - (b) + (1ULL << 32) < (1ULL << 33))   /* within ~1.5 s at 3 GHz */

/* KVM_VCPU_TSC_CTRL and the IA32_TSC the host sees (vcpu_tsc.c) */
static void test_tsc_attr(void **state)
{
	struct fixture *f = *state;
	uint64_t off = 0, tsc = 0;
	struct kvm_device_attr a = { .group = KVM_VCPU_TSC_CTRL, .attr = KVM_VCPU_TSC_OFFSET,
				     .addr = (uintptr_t)&off };

	/* a new vCPU's TSC starts at 0 */
	assert_int_equal(msr_rw(f, false, 0x10, &tsc), 1);
	assert_true(CLOSE(tsc, 0));
	assert_int_equal(call(f->vcpu, KVM_HAS_DEVICE_ATTR, &a), 0);
	a.group = 1;   /* KVM_VCPU_TSC_CTRL is 0 */
	assert_int_equal(call(f->vcpu, KVM_HAS_DEVICE_ATTR, &a), -ENXIO);
	assert_int_equal(call(f->vcpu, KVM_GET_DEVICE_ATTR, &a), -ENXIO);
	a.group = KVM_VCPU_TSC_CTRL;
	a.attr = 1;
	assert_int_equal(call(f->vcpu, KVM_HAS_DEVICE_ATTR, &a), -ENXIO);
	assert_int_equal(call(f->vcpu, KVM_SET_DEVICE_ATTR, &a), -ENXIO);
	a.attr = KVM_VCPU_TSC_OFFSET;
	/* the offset is host TSC + offset = guest TSC, exactly what was set */
	off = 1ULL << 50;
	assert_int_equal(call(f->vcpu, KVM_SET_DEVICE_ATTR, &a), 0);
	off = 0;
	assert_int_equal(call(f->vcpu, KVM_GET_DEVICE_ATTR, &a), 0);
	assert_int_equal(off, 1ULL << 50);
	assert_int_equal(msr_rw(f, false, 0x10, &tsc), 1);
	assert_true(CLOSE(tsc, __rdtsc() + (1ULL << 50)));
	/* the backend got it too: its guest TSC field follows */
	assert_true(CLOSE(f->vcpu->vcpu->tv->fields[CUSED_F_TSC], __rdtsc() + (1ULL << 50)));
	a.addr = 8;   /* unmapped */
	assert_int_equal(call(f->vcpu, KVM_GET_DEVICE_ATTR, &a), -EFAULT);
	assert_int_equal(call(f->vcpu, KVM_SET_DEVICE_ATTR, &a), -EFAULT);
	/* host IA32_TSC write: the TSC moves, TSC_ADJUST does not */
	tsc = 1ULL << 45;
	assert_int_equal(msr_rw(f, true, 0x10, &tsc), 1);
	assert_int_equal(msr_rw(f, false, 0x10, &tsc), 1);
	assert_true(CLOSE(tsc, 1ULL << 45));
	tsc = 0;
	assert_int_equal(msr_rw(f, false, 0x3b, &tsc), 1);
	assert_int_equal(tsc, 0);
	/* host write of 0 (QEMU's reset) joins the VM's TSCs: stays where it is */
	tsc = 0;
	assert_int_equal(msr_rw(f, true, 0x10, &tsc), 1);
	assert_int_equal(msr_rw(f, false, 0x10, &tsc), 1);
	assert_true(CLOSE(tsc, 1ULL << 45));
}

/* the pvclock page in guest memory (kvmclock.c) */
static void test_kvmclock_page(void **state)
{
	struct fixture *f = *state;
	uint8_t *ram = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, f->memfd, 0);
	struct pvclock_vcpu_time_info p;
	struct pvclock_wall_clock wc;
	struct kvm_clock_data cd = { 0 };
	uint64_t v;

	assert_true(ram != MAP_FAILED);
	assert_int_equal(set_mem(f, 0, 0, 0, 0x10000, (uintptr_t)ram), 0);
	/* no page yet: KVMCLOCK_CTRL refuses */
	assert_int_equal(call_val(f->vcpu, KVM_KVMCLOCK_CTRL, 0), -EINVAL);
	/* a guest's junk version: made odd-then-even over it */
	ram[0x1000] = 5;
	v = 0x1000 | 1;
	assert_int_equal(msr_rw(f, true, 0x4b564d01, &v), 1);
	assert_int_equal(call_val(f->vcpu, KVM_RUN, 0), 0);   /* written before the entry */
	memcpy(&p, ram + 0x1000, sizeof(p));
	assert_int_equal(p.version, 8);
	assert_int_equal(p.flags, PVCLOCK_TSC_STABLE_BIT);
	assert_true(p.tsc_to_system_mul & 0x80000000u);
	/* the page and KVM_GET_CLOCK are the same clock: the guest's read at GET's host TSC */
	assert_int_equal(call(f->vm, KVM_GET_CLOCK, &cd), 0);
	assert_int_equal(cd.flags, KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC);
	v = pvclock_read(&p, cd.host_tsc + (uint64_t)f->vcpu->vcpu->tsc.hw_off);
	assert_true(v - cd.clock + 2 <= 4);
	/* KVM_SET_CLOCK moves it; the page follows at the next entry */
	cd.clock = 1000ULL * 1000000000;
	cd.flags = 0;
	assert_int_equal(call(f->vm, KVM_SET_CLOCK, &cd), 0);
	assert_int_equal(call_val(f->vcpu, KVM_RUN, 0), 0);
	memcpy(&p, ram + 0x1000, sizeof(p));
	assert_int_equal(p.version, 10);
	assert_true(p.system_time >= 1000ULL * 1000000000);
	/* KVMCLOCK_CTRL: GUEST_STOPPED in the next write, and kept until the guest clears it */
	assert_int_equal(call_val(f->vcpu, KVM_KVMCLOCK_CTRL, 0), 0);
	assert_int_equal(call_val(f->vcpu, KVM_RUN, 0), 0);
	memcpy(&p, ram + 0x1000, sizeof(p));
	assert_int_equal(p.flags, PVCLOCK_TSC_STABLE_BIT | PVCLOCK_GUEST_STOPPED);
	/* hostile GPAs: outside RAM, straddling a page: no write, no crash, no page */
	v = 0x100000 | 1;
	assert_int_equal(msr_rw(f, true, 0x4b564d01, &v), 1);
	assert_int_equal(call_val(f->vcpu, KVM_RUN, 0), 0);
	assert_int_equal(call_val(f->vcpu, KVM_KVMCLOCK_CTRL, 0), -EINVAL);
	v = 0x1ff0 | 1;
	memset(ram + 0x1ff0, 0, 0x20);
	assert_int_equal(msr_rw(f, true, 0x4b564d01, &v), 1);
	assert_int_equal(call_val(f->vcpu, KVM_RUN, 0), 0);
	assert_int_equal(ram[0x1ff0], 0);
	v = ~0ULL;
	assert_int_equal(msr_rw(f, true, 0x4b564d01, &v), 1);
	assert_int_equal(call_val(f->vcpu, KVM_RUN, 0), 0);
	/* the wall clock: written at once, seconds since the epoch at kvmclock 0 */
	v = 0x2000;
	assert_int_equal(msr_rw(f, true, 0x4b564d00, &v), 1);
	memcpy(&wc, ram + 0x2000, sizeof(wc));
	assert_int_equal(wc.version, 2);
	assert_true(wc.sec > 1600000000u - 1000 * 2 && wc.nsec < 1000000000u);
	v = 0xfffffff8;   /* not RAM: ignored */
	assert_int_equal(msr_rw(f, true, 0x4b564d00, &v), 1);
	munmap(ram, 1 << 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_system, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vcpu_args, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_exits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cpuid_after_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cpuid_hypercall_exits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tsc_attr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kvmclock_page, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
