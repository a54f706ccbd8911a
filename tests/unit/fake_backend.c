/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "fake_backend.h"

static int fb_init(struct tramp_backend **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

static void fb_fini(struct tramp_backend *be) { free(be); }

static void fb_caps(struct tramp_backend *be, struct tramp_caps *c)
{
	*c = (struct tramp_caps){ .vendor = CUSED_VENDOR_INTEL, .max_vcpus = 8,
				  .readonly_mem = true, .guest_debug = true };
}

static int fb_host_cpuid(struct tramp_backend *be, struct kvm_cpuid2 *c, uint32_t max)
{
	c->nent = 2;
	c->entries[0] = (struct kvm_cpuid_entry2){ .function = 0, .eax = 1 };
	c->entries[1] = (struct kvm_cpuid_entry2){ .function = 1, .ecx = 1u << 21 /* x2apic */ };
	return 0;
}

static int fb_vm_create(struct tramp_backend *be, struct tramp_vm **o)
{
	*o = calloc(1, sizeof(**o));
	if (!*o)
		return -ENOMEM;
	(*o)->be = be;
	return 0;
}

static void fb_vm_destroy(struct tramp_vm *vm) { free(vm); }

static int fb_map(struct tramp_vm *vm, uint32_t s, uint64_t g, uint64_t sz, void *h, uint32_t f)
{
	vm->maps++;
	return 0;
}

static int fb_unmap(struct tramp_vm *vm, uint32_t s)
{
	vm->maps--;
	return 0;
}

static int fb_dirty(struct tramp_vm *vm, uint32_t s, tramp_dirty_sink *sink, void *o)
{
	return sink(o, 0, 0x5);
}

static int fb_vcpu_create(struct tramp_vm *vm, uint32_t id, struct tramp_vcpu **o)
{
	*o = calloc(1, sizeof(**o));
	if (!*o)
		return -ENOMEM;
	(*o)->be = vm->be;
	return 0;
}

static void fb_vcpu_destroy(struct tramp_vcpu *v) { free(v); }

static int fb_read(struct tramp_vcpu *v, struct cused_field_val *f, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (f[i].id >= FAKE_NR_FIELDS)
			return -EINVAL;
		f[i].val = v->fields[f[i].id];
	}
	return 0;
}

static int fb_write(struct tramp_vcpu *v, const struct cused_field_val *f, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (f[i].id >= FAKE_NR_FIELDS)
			return -EINVAL;
		v->fields[f[i].id] = f[i].val;
	}
	return 0;
}

static int fb_get_fpu(struct tramp_vcpu *v, struct kvm_fpu *f)
{
	memset(f, 0, sizeof(*f));
	f->fcw = 0x37f;
	return 0;
}

static int fb_set_fpu(struct tramp_vcpu *v, const struct kvm_fpu *f) { return 0; }
static int fb_set_cpuid(struct tramp_vcpu *v, const struct kvm_cpuid2 *c) { return 0; }
static int fb_set_debug(struct tramp_vcpu *v, const struct kvm_guest_debug *d) { return 0; }

static int fb_inject(struct tramp_vcpu *v, uint32_t vec)
{
	v->fields[CUSED_F_PENDING_IRQ] = (1u << 31) | vec;
	return 0;
}

static int fb_irqwin(struct tramp_vcpu *v, bool on) { return 0; }

static int default_script(struct tramp_vcpu *v, struct tramp_exit *ex)
{
	switch (v->script) {
	case 0:
		ex->reason = TX_IO;
		ex->io.port = 0xe9; ex->io.size = 1; ex->io.in = 0; ex->io.count = 1;
		v->io_buf[0] = 'A';
		ex->io.data = v->io_buf;
		return 0;
	case 1:
		ex->reason = TX_WRMSR; ex->msr.index = 0x175; ex->msr.data = 0x1234;
		return 0;
	default:
		ex->reason = TX_HLT;
		return 0;
	}
}

static int fb_run(struct tramp_vcpu *v, struct tramp_exit *ex)
{
	struct tramp_backend *be = v->be;
	int r = be->next_exit ? be->next_exit(be->opaque, v, ex) : default_script(v, ex);

	v->script++;
	return r;
}

static int fb_complete(struct tramp_vcpu *v, const struct tramp_exit *ex)
{
	v->completes++;
	v->completed = *ex;
	return 0;
}

static void fb_kick(struct tramp_vcpu *v) { v->kicks++; }

const struct tramp_ops fake_ops = {
	.name = "fake", .init = fb_init, .fini = fb_fini, .caps = fb_caps,
	.host_cpuid = fb_host_cpuid, .vm_create = fb_vm_create, .vm_destroy = fb_vm_destroy,
	.map = fb_map, .unmap = fb_unmap, .dirty_collect = fb_dirty,
	.vcpu_create = fb_vcpu_create, .vcpu_destroy = fb_vcpu_destroy,
	.read_fields = fb_read, .write_fields = fb_write, .get_fpu = fb_get_fpu,
	.set_fpu = fb_set_fpu, .set_cpuid = fb_set_cpuid, .set_debug = fb_set_debug,
	.inject_irq = fb_inject, .request_irq_window = fb_irqwin, .run = fb_run,
	.complete = fb_complete, .kick = fb_kick,
};

void fake_backend_set_exits(struct tramp_backend *be, fake_exit_fn fn, void *opaque)
{
	be->next_exit = fn;
	be->opaque = opaque;
}
