/* SPDX-License-Identifier: MIT */
/*
 * kmod backend: cused-tramp.ko (/dev/cused-tramp) enters and leaves the
 * guest; everything else is the daemon's.  A VM is one open of the device,
 * a vCPU the fd CUSED_TRAMP_CREATE_VCPU returns.  State moves in batched
 * READ/WRITE_FIELDS; after every exit one batch fetches the registers the
 * exit translation needs (kmod_snap_ids), which then serve reads until the
 * next run (writes go through to the module and update them).
 *
 * The module runs guests on AMD SVM and Intel VMX; the raw exits of either
 * become the same struct tramp_exit (kmod_exit.c, kmod_vmx_exit.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "cused/tramp/kmod.h"
#include "cused/tramp/slot_rw.h"
#include "cused/tramp/dirty_flat.h"
#include "cused/mmu/walk.h"
#include "cused/util/log.h"


static const char *dev_path(void)
{
	const char *p = getenv(KMOD_PATH_ENV);

	return p && *p ? p : CUSED_TRAMP_DEVICE;
}

static int open_dev(struct cused_tramp_info *info, const char **why)
{
	int fd = open(dev_path(), O_RDWR | O_CLOEXEC);
	int r;

	if (fd < 0) {
		r = -errno;
		*why = r == -ENOENT ? "/dev/cused-tramp does not exist (cused-tramp.ko not loaded)" :
		       r == -EACCES || r == -EPERM ? "/dev/cused-tramp is not accessible" :
		       "/dev/cused-tramp cannot be opened";
		return r;
	}
	r = tramp_ioctl(fd, CUSED_TRAMP_GET_INFO, info);
	if (r) {
		close(fd);
		*why = "CUSED_TRAMP_GET_INFO failed: not a cused-tramp device";
		return r;
	}
	if (info->abi_version != CUSED_TRAMP_ABI_VERSION) {
		close(fd);
		*why = "cused-tramp.ko speaks another trampoline ABI version than this daemon";
		return -EPROTO;
	}
	if (info->vendor != CUSED_VENDOR_AMD && info->vendor != CUSED_VENDOR_INTEL) {
		close(fd);
		*why = "cused-tramp.ko reports an unknown vendor";
		return -ENODEV;
	}
	return fd;
}

static int kmod_probe(const char **why)
{
	struct cused_tramp_info info;
	const char *dummy;
	int fd = open_dev(&info, why ? why : &dummy);

	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

static int kmod_init(struct tramp_backend **out)
{
	struct cused_tramp_info info;
	struct tramp_backend *be;
	const char *why = NULL;
	int fd = open_dev(&info, &why);

	if (fd < 0)
		return refuse(fd, "kmod: %s: %s", dev_path(), why);
	close(fd);
	be = calloc(1, sizeof(*be));
	if (!be)
		return -ENOMEM;
	snprintf(be->path, sizeof(be->path), "%s", dev_path());
	be->vendor = info.vendor;
	be->features = info.features;
	be->tsc_khz = kmod_tsc_calibrate();
	log_info("kmod: using %s (ABI %u, %s, features %#llx)", be->path, info.abi_version,
		 info.vendor == CUSED_VENDOR_AMD ? "SVM" : "VMX",
		 (unsigned long long)info.features);
	*out = be;
	return 0;
}

static void kmod_fini(struct tramp_backend *be)
{
	free(be);
}

static void kmod_caps(struct tramp_backend *be, struct tramp_caps *caps)
{
	*caps = (struct tramp_caps){
		.vendor = be->vendor,
		.max_vcpus = KMOD_MAX_VCPUS,
		/* a slot mapped without CUSED_MAP_WRITE faults writes to the daemon (NPF) */
		.readonly_mem = true,
		.guest_debug = false,
		/* the module pins a slot's pages when it is added: no notifiers */
		.sync_mmu = false,
		/* XSAVE from the FXSAVE image, events from the one event slot */
		.xsave = true,
		.vcpu_events = true,
		/* no queue for pending NMIs or exceptions */
		.events_queue = false,
		.tsc_khz = be->tsc_khz != 0,
		.cpuid_exits = true,
		/*
		 * KVM's allow_smaller_maxphyaddr on SVM is npt_enabled: a guest PTE
		 * past its MAXPHYADDR leads to a GPA with no slot (NPF), which the
		 * daemon's emulator takes like KVM's.
		 */
		.smaller_maxphyaddr = be->vendor == CUSED_VENDOR_AMD,
	};
}

static int kmod_host_cpuid(struct tramp_backend *be, struct kvm_cpuid2 *cpuid, uint32_t max)
{
	return kmod_native_cpuid(cpuid, max);
}

/* ---- VMs --------------------------------------------------------------------- */

static int kmod_vm_create(struct tramp_backend *be, struct tramp_vm **out)
{
	struct tramp_vm *vm = calloc(1, sizeof(*vm));

	if (!vm)
		return -ENOMEM;
	vm->be = be;
	pthread_mutex_init(&vm->lock, NULL);
	/* the module pins guest pages from the opener's mm: ours */
	vm->fd = open(be->path, O_RDWR | O_CLOEXEC);
	if (vm->fd < 0) {
		int r = -errno;

		pthread_mutex_destroy(&vm->lock);
		free(vm);
		return refuse(r, "kmod: open %s for a VM: %d", be->path, r);
	}
	*out = vm;
	return 0;
}

static void kmod_vm_destroy(struct tramp_vm *vm)
{
	if (!vm)
		return;
	close(vm->fd);
	pthread_mutex_destroy(&vm->lock);
	free(vm->slots);
	free(vm);
}

/* the daemon's view of a slot, kept for string I/O */
static int slot_remember(struct tramp_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size,
			 void *hva, bool writable)
{
	int r = 0;

	pthread_mutex_lock(&vm->lock);
	if (vm->nslots == vm->cap) {
		unsigned cap = vm->cap ? vm->cap * 2 : 8;
		struct kmod_slot *n = realloc(vm->slots, cap * sizeof(*n));

		if (!n)
			r = -ENOMEM;
		else
			vm->slots = n, vm->cap = cap;
	}
	if (!r)
		vm->slots[vm->nslots++] = (struct kmod_slot){ slot, gpa, size, hva, writable };
	pthread_mutex_unlock(&vm->lock);
	return r;
}

/* the size of a remembered slot; 0 or -ENOENT */
static int slot_size(struct tramp_vm *vm, uint32_t slot, uint64_t *size)
{
	int r = -ENOENT;

	pthread_mutex_lock(&vm->lock);
	for (unsigned i = 0; i < vm->nslots; i++)
		if (vm->slots[i].slot == slot) {
			*size = vm->slots[i].size;
			r = 0;
			break;
		}
	pthread_mutex_unlock(&vm->lock);
	return r;
}

static void slot_forget(struct tramp_vm *vm, uint32_t slot)
{
	pthread_mutex_lock(&vm->lock);
	for (unsigned i = 0; i < vm->nslots; i++)
		if (vm->slots[i].slot == slot) {
			vm->slots[i] = vm->slots[--vm->nslots];
			break;
		}
	pthread_mutex_unlock(&vm->lock);
}

/* guest-physical RAM access through the daemon's mappings; -EFAULT if not RAM */
static int phys_rw(void *ctx, uint64_t gpa, void *buf, size_t len, bool write)
{
	struct tramp_vm *vm = ctx;
	int r = -ENOENT;

	pthread_mutex_lock(&vm->lock);
	for (unsigned i = 0; i < vm->nslots && r == -ENOENT; i++) {
		const struct kmod_slot *s = &vm->slots[i];
		struct slot_view sv = { s->gpa, s->size, s->hva, s->writable };

		r = slot_rw(&sv, gpa, buf, len, write);
	}
	pthread_mutex_unlock(&vm->lock);
	return r == -ENOENT ? -EFAULT : r;
}

static int phys_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
	return phys_rw(ctx, gpa, buf, len, false);
}

static int phys_write(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
	return phys_rw(ctx, gpa, (void *)buf, len, true);
}

static int kmod_unmap(struct tramp_vm *vm, uint32_t slot);

static int kmod_map(struct tramp_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size, void *hva,
		    uint32_t flags)
{
	struct cused_tramp_map m = {
		.slot = slot, .flags = flags, .gpa = gpa, .size = size,
		.uaddr = (uint64_t)(uintptr_t)hva,
	};
	int r = tramp_ioctl(vm->fd, CUSED_TRAMP_MAP, &m);

	if (r)
		return refuse(r, "kmod: map slot %u gpa %#llx size %#llx flags %#x: %d", slot,
			      (unsigned long long)gpa, (unsigned long long)size, flags, r);
	r = slot_remember(vm, slot, gpa, size, hva, flags & CUSED_MAP_WRITE);
	if (r)
		kmod_unmap(vm, slot);
	return r;
}

static int kmod_unmap(struct tramp_vm *vm, uint32_t slot)
{
	struct cused_tramp_map m = { .slot = slot };

	slot_forget(vm, slot);
	return tramp_ioctl(vm->fd, CUSED_TRAMP_UNMAP, &m);
}

struct kmod_log {
	int vm_fd;
	uint32_t slot;
};

static int kmod_get_log(void *arg, uint64_t *buf)
{
	struct kmod_log *k = arg;
	struct cused_tramp_dirty d = { .slot = k->slot, .bitmap = (uint64_t)(uintptr_t)buf };

	return tramp_ioctl(k->vm_fd, CUSED_TRAMP_GET_DIRTY, &d);
}

static int kmod_dirty_collect(struct tramp_vm *vm, uint32_t slot, tramp_dirty_sink *sink,
			      void *opaque)
{
	struct kmod_log k = { vm->fd, slot };
	uint64_t size = 0;

	if (slot_size(vm, slot, &size))
		return -ENOENT;
	return tramp_dirty_flat((size / 4096 + 63) / 64, kmod_get_log, &k, sink, opaque);
}

/* ---- fields ------------------------------------------------------------------ */

static int fields_io(struct tramp_vcpu *v, struct cused_field_val *f, unsigned n, bool write)
{
	/* the module insists on pad == 0; callers often leave it uninitialised */
	for (unsigned i = 0; !write && i < n; i++)
		f[i].pad = 0;
	for (unsigned i = 0; i < n; i += CUSED_TRAMP_MAX_FIELDS) {
		unsigned k = n - i < CUSED_TRAMP_MAX_FIELDS ? n - i : CUSED_TRAMP_MAX_FIELDS;
		struct cused_tramp_fields h = { .n = k, .ptr = (uint64_t)(uintptr_t)(f + i) };
		int r = tramp_ioctl(v->fd, write ? CUSED_TRAMP_WRITE_FIELDS : CUSED_TRAMP_READ_FIELDS,
			       &h);

		if (r) {
			uint32_t bad = h.done < k ? f[i + h.done].id : 0;

			/* cached values may now be stale: drop them all */
			v->snap_valid = false;
			if (write)
				return refuse(r, "kmod: vCPU %u: write field %#x (value %#llx): %d",
					      v->id, bad, h.done < k ?
					      (unsigned long long)f[i + h.done].val : 0ull, r);
			return refuse(r, "kmod: vCPU %u: read field %#x: %d", v->id, bad, r);
		}
	}
	return 0;
}

static int snap_fetch(struct tramp_vcpu *v)
{
	struct cused_field_val f[KS_NR];
	int r;

	if (v->snap_valid)
		return 0;
	for (int i = 0; i < KS_NR; i++)
		f[i] = (struct cused_field_val){ .id = kmod_snap_ids[i] };
	r = fields_io(v, f, KS_NR, false);
	if (r)
		return r;
	for (int i = 0; i < KS_NR; i++)
		v->snap[i] = f[i].val;
	v->snap_valid = true;
	return 0;
}

static int kmod_read_fields(struct tramp_vcpu *v, struct cused_field_val *f, unsigned n)
{
	unsigned i;
	int r;

	/* all of them in the snapshot: no trip to the module */
	for (i = 0; v->snap_valid && i < n; i++)
		if (kmod_snap_index(f[i].id) < 0)
			break;
	if (v->snap_valid && i == n) {
		for (i = 0; i < n; i++)
			f[i].val = v->snap[kmod_snap_index(f[i].id)];
		return 0;
	}
	r = fields_io(v, f, n, false);
	if (r)
		return r;
	if (v->snap_valid)
		for (i = 0; i < n; i++) {
			int k = kmod_snap_index(f[i].id);

			if (k >= 0)
				v->snap[k] = f[i].val;
		}
	return 0;
}

static int kmod_write_fields(struct tramp_vcpu *v, const struct cused_field_val *f, unsigned n)
{
	struct cused_field_val *c;
	int r;

	if (!n)
		return 0;
	/* the module reads the array in place and wants pad 0: pass a clean copy */
	c = malloc(n * sizeof(*c));
	if (!c)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++)
		c[i] = (struct cused_field_val){ .id = f[i].id, .val = f[i].val };
	r = fields_io(v, c, n, true);
	free(c);
	if (r)
		return r;
	for (unsigned i = 0; v->snap_valid && i < n; i++) {
		int k = kmod_snap_index(f[i].id);

		if (k >= 0)
			v->snap[k] = f[i].val;
	}
	for (unsigned i = 0; i < n; i++)
		if (f[i].id == CUSED_F_REQ_IRQ_WINDOW)
			v->window_armed = !!f[i].val;
	return 0;
}

/* ---- vCPUs -------------------------------------------------------------------- */

static int kmod_vcpu_create(struct tramp_vm *vm, uint32_t id, struct tramp_vcpu **out)
{
	struct tramp_vcpu *v = calloc(1, sizeof(*v));
	struct cused_field_val apic = { .id = CUSED_F_APIC_BASE };
	int r;

	if (!v)
		return -ENOMEM;
	v->vm = vm;
	v->id = id;
	r = tramp_ioctl(vm->fd, CUSED_TRAMP_CREATE_VCPU, NULL);
	if (r < 0) {
		free(v);
		return refuse(r, "kmod: CUSED_TRAMP_CREATE_VCPU %u: %d", id, r);
	}
	v->fd = r;
	/* KVM's reset APIC_BASE: enabled at 0xfee00000, BSP bit on vCPU 0 */
	apic.val = 0xfee00000 | 1u << 11 | (id == 0 ? 1u << 8 : 0);
	r = kmod_write_fields(v, &apic, 1);
	if (r) {
		close(v->fd);
		free(v);
		return r;
	}
	*out = v;
	return 0;
}

static void kmod_vcpu_destroy(struct tramp_vcpu *v)
{
	if (!v)
		return;
	close(v->fd);
	free(v);
}

/* guest x87/SSE state lives in the module's FXSAVE image (kmod_fpu.c converts) */
static int kmod_get_fpu(struct tramp_vcpu *v, struct kvm_fpu *fpu)
{
	struct cused_tramp_fpu fx;
	int r = tramp_ioctl(v->fd, CUSED_TRAMP_GET_FPU, &fx);

	if (r)
		return refuse(r, "kmod: vCPU %u: CUSED_TRAMP_GET_FPU: %d", v->id, r);
	kmod_fx_to_kvm(fx.fxsave, fpu);
	return 0;
}

static int kmod_set_fpu(struct tramp_vcpu *v, const struct kvm_fpu *fpu)
{
	struct cused_tramp_fpu fx;
	int r = tramp_ioctl(v->fd, CUSED_TRAMP_GET_FPU, &fx);

	if (r)
		return refuse(r, "kmod: vCPU %u: CUSED_TRAMP_GET_FPU: %d", v->id, r);
	kmod_fx_from_kvm(fx.fxsave, fpu);
	r = tramp_ioctl(v->fd, CUSED_TRAMP_SET_FPU, &fx);
	if (r)
		return refuse(r, "kmod: vCPU %u: CUSED_TRAMP_SET_FPU (mxcsr %#x): %d", v->id,
			      fpu->mxcsr, r);
	return 0;
}

/* every CPUID traps (TX_CPUID) and the daemon answers from its table */
static int kmod_set_cpuid(struct tramp_vcpu *v, const struct kvm_cpuid2 *cpuid)
{
	return 0;
}

static int kmod_set_debug(struct tramp_vcpu *v, const struct kvm_guest_debug *dbg)
{
	return -EOPNOTSUPP;     /* caps.guest_debug is false */
}

static int kmod_inject_irq(struct tramp_vcpu *v, uint32_t vector)
{
	struct cused_field_val f = { .id = CUSED_F_PENDING_IRQ };
	int r;

	if (vector > 255)
		return -EINVAL;
	r = kmod_read_fields(v, &f, 1);
	if (r)
		return r;
	/* KVM without an irqchip: one queued interrupt at a time */
	if (f.val & KMOD_EV_VALID)
		return -EEXIST;
	f.val = KMOD_EV_VALID | KMOD_EV_TYPE_EXT << 8 | vector;
	return kmod_write_fields(v, &f, 1);
}

/*
 * KVM looks at request_interrupt_window on every KVM_RUN; the module clears
 * its REQ_IRQ_WINDOW on the VINTR exit.  So remember the request and arm it
 * again before each entry while it stands.
 */
static int kmod_request_irq_window(struct tramp_vcpu *v, bool on)
{
	struct cused_field_val f = { .id = CUSED_F_REQ_IRQ_WINDOW, .val = on };

	v->want_window = on;
	if (on == v->window_armed)
		return 0;
	return kmod_write_fields(v, &f, 1);
}

/*
 * INS/OUTS elements at seg:offset, through the guest's page tables and the
 * daemon's mappings of its RAM (strio_mem).  A fault is -EFAULT.
 */
static int string_io_mem(struct tramp_vcpu *v, uint8_t *data, unsigned n, bool write)
{
	enum { C0, C3, C4, EF, BASE, CSA, NF };
	struct cused_field_val f[NF] = {
		[C0] = { .id = CUSED_F_CR0 }, [C3] = { .id = CUSED_F_CR3 },
		[C4] = { .id = CUSED_F_CR4 }, [EF] = { .id = CUSED_F_EFER },
		[BASE] = { .id = CUSED_F_SEG(v->last.sio.seg, CUSED_SEGP_BASE) },
		[CSA] = { .id = CUSED_F_SEG(CUSED_SEG_CS, CUSED_SEGP_ATTR) },
	};
	struct strio_env env;
	int r = kmod_read_fields(v, f, NF);

	if (r)
		return r;
	env = (struct strio_env){
		.wr = { f[C0].val, f[C3].val, f[C4].val, f[EF].val },
		.mem = { phys_read, phys_write, v->vm },
		.seg_base = f[BASE].val,
		/* EFER.LMA and CS.L: 64-bit code */
		.long64 = (f[EF].val & (1u << 10)) && (f[CSA].val & (1u << 13)),
	};
	r = strio_mem(&v->last.sio, &env, data, n, write);
	if (r)
		return refuse(-EFAULT, "kmod: vCPU %u: string I/O element at %#llx is not guest RAM",
			      v->id, (unsigned long long)v->last.sio.off);
	return 0;
}

static int kmod_run(struct tramp_vcpu *v, struct tramp_exit *ex)
{
	struct cused_tramp_exit raw;
	struct cused_field_val w[KMOD_MAX_WRITES];
	unsigned nw;
	bool kicked;
	int r;

	if (v->want_window && !v->window_armed) {
		r = kmod_request_irq_window(v, true);
		if (r)
			return r;
	}
	memset(&raw, 0, sizeof(raw));
	r = ioctl(v->fd, CUSED_TRAMP_RUN, &raw);
	r = r < 0 ? -errno : 0;
	v->snap_valid = false;
	kicked = r == -EINTR;
	if (r && !kicked)
		return refuse(r, "kmod: vCPU %u: CUSED_TRAMP_RUN: %d", v->id, r);
	r = snap_fetch(v);
	if (r)
		return r;
	if (kicked) {
		/* KICK or a signal: no exit record, guest state intact */
		kmod_exit_translate(&raw, v->snap, ex, &v->last, v->iobuf, w, &nw);
		memset(&ex->internal, 0, sizeof(ex->internal));
		ex->reason = TX_KICKED;
		v->last.reason = TX_KICKED;
		return 0;
	}
	kmod_exit_translate(&raw, v->snap, ex, &v->last, v->iobuf, w, &nw);
	if (ex->reason == TX_IRQ_WINDOW)
		v->window_armed = false;        /* the module disarmed it */
	if (ex->reason == TX_INTERNAL || ex->reason == TX_FAIL_ENTRY)
		log_warn("kmod: vCPU %u: %s: exit code %#x qual %#llx info2 %#llx intinfo %#x "
			 "rip %#llx", v->id, raw.entry_failed ? "entry failed" : "unhandled exit",
			 raw.reason, (unsigned long long)raw.qual, (unsigned long long)raw.info2,
			 raw.intr_info, (unsigned long long)raw.rip);
	if (nw) {
		r = kmod_write_fields(v, w, nw);
		if (r)
			return r;
	}
	/* OUTS: the element goes out with the exit */
	if (ex->reason == TX_IO && v->last.str && !ex->io.in &&
	    string_io_mem(v, v->iobuf, 1, false)) {
		memset(&ex->internal, 0, sizeof(ex->internal));
		ex->reason = TX_INTERNAL;
		ex->internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
		v->last.reason = TX_INTERNAL;
	}
	return 0;
}

static int kmod_complete(struct tramp_vcpu *v, const struct tramp_exit *ex)
{
	struct cused_field_val w[KMOD_MAX_WRITES];
	unsigned nw;
	int r;

	r = snap_fetch(v);
	if (r)
		return r;
	r = kmod_complete_plan(&v->last, v->snap, ex, w, &nw);
	if (r)
		return refuse(r, "kmod: vCPU %u: complete() for exit %d, last was %d", v->id,
			      ex->reason, v->last.reason);
	/* INS: the client's data lands in guest memory before the registers move */
	if (ex->reason == TX_IO && v->last.str && ex->io.in) {
		struct strio_retire ret;

		/* only the elements the client's rCX still asks for */
		strio_retire(&v->last.sio, ex->io.count, v->snap[KS_RDI], v->snap[KS_RCX], &ret);
		r = string_io_mem(v, ex->io.data, ret.n, true);
		if (r)
			return r;
	}
	v->last.reason = TX_NONE;       /* retired: a second complete() does nothing */
	return nw ? kmod_write_fields(v, w, nw) : 0;
}

static void kmod_kick(struct tramp_vcpu *v)
{
	/* the module remembers a kick that lands while the vCPU is not in RUN */
	if (ioctl(v->fd, CUSED_TRAMP_KICK, 0) < 0)
		log_warn("kmod: vCPU %u: CUSED_TRAMP_KICK: %d", v->id, -errno);
}

const struct tramp_ops tramp_kmod_ops = {
	.name = "kmod",
	.probe = kmod_probe,
	.init = kmod_init,
	.fini = kmod_fini,
	.caps = kmod_caps,
	.host_cpuid = kmod_host_cpuid,
	.vm_create = kmod_vm_create,
	.vm_destroy = kmod_vm_destroy,
	.map = kmod_map,
	.unmap = kmod_unmap,
	.dirty_collect = kmod_dirty_collect,
	.vcpu_create = kmod_vcpu_create,
	.vcpu_destroy = kmod_vcpu_destroy,
	.read_fields = kmod_read_fields,
	.get_events = kmod_get_events,
	.set_events = kmod_set_events,
	.get_tsc_khz = kmod_get_tsc_khz,
	.set_tsc_khz = kmod_set_tsc_khz,
	.get_xsave = kmod_get_xsave,
	.set_xsave = kmod_set_xsave,
	.write_fields = kmod_write_fields,
	.get_fpu = kmod_get_fpu,
	.set_fpu = kmod_set_fpu,
	.set_cpuid = kmod_set_cpuid,
	.set_debug = kmod_set_debug,
	.inject_irq = kmod_inject_irq,
	.request_irq_window = kmod_request_irq_window,
	.run = kmod_run,
	.complete = kmod_complete,
	.kick = kmod_kick,
};
