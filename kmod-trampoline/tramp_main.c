// SPDX-License-Identifier: GPL-2.0
/*
 * cused-tramp: guest entry/exit for the cused daemon.
 *
 * /dev/cused-tramp: each open is one VM context (nested page table built
 * here from pages pinned out of the opener's address space).
 * CUSED_TRAMP_CREATE_VCPU returns an anon-inode fd per vCPU.  Everything a
 * vCPU does beyond "enter the guest and report the raw exit" is the daemon's.
 */
#define pr_fmt(fmt) "cused-tramp: " fmt

#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/anon_inodes.h>
#include <linux/uaccess.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/kref.h>
#include <linux/smp.h>
#include <linux/io.h>
#include <asm/tlbflush.h>
#include <asm/fpu/api.h>
#include "tramp.h"

static struct tramp_backend *be;

#define TRAMP_MAX_VCPUS 256
#define TRAMP_MAX_PAGES (1ULL << 26)	/* 256 GiB per slot */

/* ---- nested page table ---------------------------------------------------- */

static u64 *npt_leaf(struct tramp_vm *vm, u64 gpa, bool alloc)
{
	u64 *table = vm->npt_root;
	int level;

	for (level = vm->npt_levels; level > 1; level--) {
		u64 *e = &table[(gpa >> (12 + 9 * (level - 1))) & 511];

		if (!(*e & TRAMP_PTE_P)) {
			unsigned long page;

			if (!alloc)
				return NULL;
			page = get_zeroed_page(GFP_KERNEL_ACCOUNT);
			if (!page)
				return NULL;
			*e = __pa(page) | be->npt_dir;
		}
		table = __va(*e & TRAMP_PTE_ADDR);
	}
	return &table[(gpa >> 12) & 511];
}

u64 *tramp_npt_leaf(struct tramp_vm *vm, u64 gpa)
{
	return npt_leaf(vm, gpa, false);
}

static void npt_free(u64 *table, int level)
{
	int i;

	if (level > 1)
		for (i = 0; i < 512; i++)
			if (table[i] & TRAMP_PTE_P)
				npt_free(__va(table[i] & TRAMP_PTE_ADDR), level - 1);
	free_page((unsigned long)table);
}

/*
 * Keep vCPUs out of the guest while the NPT loses entries or rights: kick
 * every running vCPU out, then hold run_sem for writing.  Entries are only
 * reused after every vCPU has flushed its ASID (tlb_gen).
 */
static void vm_quiesce(struct tramp_vm *vm)
{
	struct tramp_vcpu *v;

	atomic_inc(&vm->want_write);
	smp_mb__after_atomic();
	list_for_each_entry(v, &vm->vcpus, node) {
		int cpu = READ_ONCE(v->running_cpu);

		if (cpu >= 0)
			tramp_kick_cpu(cpu);
	}
	down_write(&vm->run_sem);
}

static void vm_unquiesce(struct tramp_vm *vm)
{
	atomic_inc(&vm->tlb_gen);
	up_write(&vm->run_sem);
	atomic_dec(&vm->want_write);
}

static struct tramp_slot *slot_find(struct tramp_vm *vm, u32 id)
{
	struct tramp_slot *s;

	list_for_each_entry(s, &vm->slots, node)
		if (s->id == id)
			return s;
	return NULL;
}

static void slot_release(struct tramp_vm *vm, struct tramp_slot *s)
{
	u64 i;

	for (i = 0; i < s->npages; i++) {
		u64 *pte = npt_leaf(vm, s->gpa + (i << PAGE_SHIFT), false);

		if (pte)
			WRITE_ONCE(*pte, 0);
	}
	unpin_user_pages_dirty_lock(s->pages, s->npages,
				    s->flags & CUSED_MAP_WRITE);
	account_locked_vm(vm->mm, s->npages, false);
	kvfree(s->pages);
	list_del(&s->node);
	vm->nslots--;
	kfree(s);
}

static long vm_map(struct tramp_vm *vm, struct cused_tramp_map __user *uarg)
{
	struct cused_tramp_map m;
	struct tramp_slot *s, *o;
	u64 npages, i, leaf;
	long pinned = 0, r;

	if (copy_from_user(&m, uarg, sizeof(m)))
		return -EFAULT;
	if ((m.flags & ~(CUSED_MAP_READ | CUSED_MAP_WRITE | CUSED_MAP_EXEC |
			 CUSED_MAP_LOG_DIRTY)) || !(m.flags & CUSED_MAP_READ))
		return -EINVAL;
	if (!m.size || !PAGE_ALIGNED(m.gpa) || !PAGE_ALIGNED(m.size) ||
	    !PAGE_ALIGNED(m.uaddr) || m.gpa + m.size < m.gpa ||
	    m.gpa + m.size > (1ULL << TRAMP_GPA_BITS) ||
	    m.uaddr + m.size < m.uaddr ||
	    !access_ok((void __user *)(unsigned long)m.uaddr, m.size))
		return -EINVAL;
	npages = m.size >> PAGE_SHIFT;
	if (npages > TRAMP_MAX_PAGES)
		return -E2BIG;
	if (current->mm != vm->mm)
		return -EPERM;

	s = kzalloc(sizeof(*s), GFP_KERNEL_ACCOUNT);
	if (!s)
		return -ENOMEM;
	s->pages = kvcalloc(npages, sizeof(*s->pages), GFP_KERNEL_ACCOUNT);
	if (!s->pages) {
		kfree(s);
		return -ENOMEM;
	}
	s->id = m.slot;
	s->flags = m.flags;
	s->gpa = m.gpa;
	s->npages = npages;

	mutex_lock(&vm->lock);
	r = -EEXIST;
	if (slot_find(vm, m.slot))
		goto out_unlock;
	list_for_each_entry(o, &vm->slots, node)
		if (m.gpa < o->gpa + (o->npages << PAGE_SHIFT) &&
		    o->gpa < m.gpa + m.size)
			goto out_unlock;
	r = -ENOSPC;
	if (vm->nslots >= TRAMP_MAX_SLOTS)
		goto out_unlock;
	r = account_locked_vm(vm->mm, npages, true);
	if (r)
		goto out_unlock;
	while (pinned < npages) {
		r = pin_user_pages_fast(m.uaddr + (pinned << PAGE_SHIFT),
					min_t(u64, npages - pinned, 4096),
					FOLL_LONGTERM |
					((m.flags & CUSED_MAP_WRITE) ? FOLL_WRITE : 0),
					s->pages + pinned);
		if (r <= 0) {
			r = r ? r : -EFAULT;
			goto out_unpin;
		}
		pinned += r;
	}
	leaf = be->npt_leaf_bits(m.flags);
	for (i = 0; i < npages; i++) {
		u64 *pte = npt_leaf(vm, m.gpa + (i << PAGE_SHIFT), true);

		if (!pte) {
			/* undo the entries set so far; nothing ran with them */
			s->npages = i;
			for (i = 0; i < s->npages; i++)
				*npt_leaf(vm, m.gpa + (i << PAGE_SHIFT), false) = 0;
			r = -ENOMEM;
			goto out_unpin;
		}
		WRITE_ONCE(*pte, page_to_phys(s->pages[i]) | leaf);
	}
	list_add(&s->node, &vm->slots);
	vm->nslots++;
	mutex_unlock(&vm->lock);
	return 0;

out_unpin:
	unpin_user_pages(s->pages, pinned);
	account_locked_vm(vm->mm, npages, false);
out_unlock:
	mutex_unlock(&vm->lock);
	kvfree(s->pages);
	kfree(s);
	return r;
}

static long vm_unmap(struct tramp_vm *vm, struct cused_tramp_map __user *uarg)
{
	struct cused_tramp_map m;
	struct tramp_slot *s;

	if (copy_from_user(&m, uarg, sizeof(m)))
		return -EFAULT;
	mutex_lock(&vm->lock);
	s = slot_find(vm, m.slot);
	if (!s) {
		mutex_unlock(&vm->lock);
		return -ENOENT;
	}
	vm_quiesce(vm);
	slot_release(vm, s);	/* clears PTEs; vCPUs flush before re-entry */
	vm_unquiesce(vm);
	mutex_unlock(&vm->lock);
	return 0;
}

static long vm_get_dirty(struct tramp_vm *vm, struct cused_tramp_dirty __user *uarg)
{
	struct cused_tramp_dirty d;
	struct tramp_slot *s;
	u64 *bits, *ubits, i, nwords;
	long r = 0;

	if (copy_from_user(&d, uarg, sizeof(d)))
		return -EFAULT;
	if (d.pad)
		return -EINVAL;
	mutex_lock(&vm->lock);
	s = slot_find(vm, d.slot);
	if (!s || !(s->flags & CUSED_MAP_LOG_DIRTY)) {
		mutex_unlock(&vm->lock);
		return s ? -EINVAL : -ENOENT;
	}
	nwords = DIV_ROUND_UP(s->npages, 64);
	bits = kvcalloc(nwords, sizeof(u64), GFP_KERNEL_ACCOUNT);
	if (!bits) {
		mutex_unlock(&vm->lock);
		return -ENOMEM;
	}
	ubits = (u64 *)(unsigned long)d.bitmap;
	if (copy_from_user(bits, (void __user *)ubits, nwords * 8)) {
		r = -EFAULT;
		goto out;
	}
	vm_quiesce(vm);
	for (i = 0; i < s->npages; i++) {
		u64 *pte = npt_leaf(vm, s->gpa + (i << PAGE_SHIFT), false);

		if (pte && (*pte & be->npt_dirty)) {
			*pte &= ~be->npt_clean;
			bits[i / 64] |= 1ULL << (i % 64);
		}
	}
	vm_unquiesce(vm);
	if (copy_to_user((void __user *)ubits, bits, nwords * 8))
		r = -EFAULT;
out:
	mutex_unlock(&vm->lock);
	kvfree(bits);
	return r;
}

/* ---- VM and vCPU lifetime ------------------------------------------------ */

static void vm_free(struct kref *ref)
{
	struct tramp_vm *vm = container_of(ref, struct tramp_vm, ref);

	while (!list_empty(&vm->slots))
		slot_release(vm, list_first_entry(&vm->slots, struct tramp_slot, node));
	npt_free(vm->npt_root, vm->npt_levels);
	mmdrop(vm->mm);
	kfree(vm);
}

static int tramp_open(struct inode *inode, struct file *f)
{
	struct tramp_vm *vm;

	if (!current->mm)
		return -EINVAL;
	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		return -ENOMEM;
	vm->npt_root = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!vm->npt_root) {
		kfree(vm);
		return -ENOMEM;
	}
	vm->npt_levels = be->npt_levels;
	mutex_init(&vm->lock);
	init_rwsem(&vm->run_sem);
	INIT_LIST_HEAD(&vm->slots);
	INIT_LIST_HEAD(&vm->vcpus);
	kref_init(&vm->ref);
	mmgrab(current->mm);
	vm->mm = current->mm;
	f->private_data = vm;
	return 0;
}

static int tramp_release(struct inode *inode, struct file *f)
{
	struct tramp_vm *vm = f->private_data;

	kref_put(&vm->ref, vm_free);
	return 0;
}

static int vcpu_release(struct inode *inode, struct file *f)
{
	struct tramp_vcpu *v = f->private_data;
	struct tramp_vm *vm = v->vm;

	mutex_lock(&vm->lock);
	list_del(&v->node);
	vm->nvcpus--;
	mutex_unlock(&vm->lock);
	be->vcpu_free(v);
	kfree(v->fxsave);
	kfree(v);
	kref_put(&vm->ref, vm_free);
	return 0;
}

/* ---- vCPU ioctls ------------------------------------------------------------ */

/* the stored-only fields of struct tramp_vcpu, or NULL */
static u64 *tramp_soft_field(struct tramp_vcpu *v, u32 id)
{
	switch (id) {
	case CUSED_F_APIC_BASE: return &v->apic_base;
	case CUSED_F_XCR0: return &v->xcr0;
	case CUSED_F_TSC_AUX: return &v->tsc_aux;
	case CUSED_F_ACTIVITY: return &v->activity;
	case CUSED_F_DR0: case CUSED_F_DR1: case CUSED_F_DR2: case CUSED_F_DR3:
		return &v->dr[id - CUSED_F_DR0];
	}
	return NULL;
}

static long vcpu_fields(struct tramp_vcpu *v, void __user *uarg, bool write)
{
	struct cused_tramp_fields h;
	struct cused_field_val *fv;
	long r = 0;
	u32 i;

	if (copy_from_user(&h, uarg, sizeof(h)))
		return -EFAULT;
	if (h.n > CUSED_TRAMP_MAX_FIELDS)
		return -E2BIG;
	fv = kmalloc_array(h.n ? h.n : 1, sizeof(*fv), GFP_KERNEL);
	if (!fv)
		return -ENOMEM;
	if (copy_from_user(fv, (void __user *)(unsigned long)h.ptr,
			   h.n * sizeof(*fv))) {
		kfree(fv);
		return -EFAULT;
	}
	mutex_lock(&v->lock);
	for (i = 0; i < h.n; i++) {
		if (fv[i].pad) {
			r = -EINVAL;
			break;
		}
		u64 *soft = tramp_soft_field(v, fv[i].id);

		if (soft && write)
			*soft = fv[i].val;
		else if (soft)
			fv[i].val = *soft;
		else
			r = write ? be->set_field(v, fv[i].id, fv[i].val) :
				    be->get_field(v, fv[i].id, &fv[i].val);
		if (r)
			break;
	}
	mutex_unlock(&v->lock);
	h.done = i;
	if (!write && i &&
	    copy_to_user((void __user *)(unsigned long)h.ptr, fv, i * sizeof(*fv)))
		r = -EFAULT;
	if (copy_to_user(uarg, &h, sizeof(h)))
		r = -EFAULT;
	kfree(fv);
	return r;
}

/*
 * Enter the guest until an exit the daemon must see.  Host interrupts
 * (INTR/NMI/SMI exits) are handled by the host and the guest re-entered;
 * a KICK or a pending signal ends the call with -EINTR (guest state intact,
 * readable with READ_FIELDS; just call RUN again).
 */
static long vcpu_run(struct tramp_vcpu *v, void __user *uarg)
{
	struct tramp_vm *vm = v->vm;
	struct cused_tramp_exit ex;
	long r;

	mutex_lock(&v->lock);
	for (;;) {
		if (atomic_xchg(&v->kick, 0) || signal_pending(current)) {
			r = -EINTR;
			break;
		}
		cond_resched();
		memset(&ex, 0, sizeof(ex));
		down_read(&vm->run_sem);
		r = be->run_once(v, &ex);
		up_read(&vm->run_sem);
		if (r == -EAGAIN)
			continue;
		if (r || !be->exit_is_host_irq(&ex))
			break;
	}
	mutex_unlock(&v->lock);
	if (!r && copy_to_user(uarg, &ex, sizeof(ex)))
		r = -EFAULT;
	return r;
}

static void tramp_nop(void *unused)
{
}

void tramp_kick_cpu(int cpu)
{
	/* any IPI makes a CPU in guest mode take an INTR #VMEXIT */
	smp_call_function_single(cpu, tramp_nop, NULL, 0);
}

static long vcpu_kick(struct tramp_vcpu *v)
{
	int cpu;

	atomic_set(&v->kick, 1);
	smp_mb__after_atomic();
	cpu = READ_ONCE(v->running_cpu);
	if (cpu >= 0)
		tramp_kick_cpu(cpu);
	return 0;
}

/* MXCSR bits FXRSTOR accepts here (FXSAVE's MXCSR_MASK; 0 there means 0xffbf) */
static u32 mxcsr_mask;

static void __init probe_mxcsr_mask(void)
{
	static u8 buf[TRAMP_FX_SIZE] __aligned(16) __initdata;

	kernel_fpu_begin();
	asm volatile("fxsaveq %0" : "=m" (buf));
	kernel_fpu_end();
	memcpy(&mxcsr_mask, buf + TRAMP_FX_MXCSR + 4, 4);
	if (!mxcsr_mask)
		mxcsr_mask = 0xffbf;
}

/* the vCPU's FXSAVE image (CUSED_TRAMP_GET_FPU / SET_FPU) */
static long vcpu_fpu(struct tramp_vcpu *v, void __user *uarg, bool write)
{
	u8 *buf;
	u32 mxcsr;
	long r = 0;

	if (!write) {
		buf = kmalloc(TRAMP_FX_SIZE, GFP_KERNEL);
		if (!buf)
			return -ENOMEM;
		mutex_lock(&v->lock);
		memcpy(buf, v->fxsave, TRAMP_FX_SIZE);
		mutex_unlock(&v->lock);
		if (copy_to_user(uarg, buf, TRAMP_FX_SIZE))
			r = -EFAULT;
		kfree(buf);
		return r;
	}
	buf = memdup_user(uarg, TRAMP_FX_SIZE);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	memcpy(&mxcsr, buf + TRAMP_FX_MXCSR, 4);
	if (mxcsr & ~mxcsr_mask) {
		r = -EINVAL;
	} else {
		mutex_lock(&v->lock);
		memcpy(v->fxsave, buf, TRAMP_FX_SIZE);
		mutex_unlock(&v->lock);
	}
	kfree(buf);
	return r;
}

static long get_info(void __user *uarg)
{
	struct cused_tramp_info info = {
		.abi_version = CUSED_TRAMP_ABI_VERSION,
		.vendor = be->vendor,
		.features = be->features,
	};

	return copy_to_user(uarg, &info, sizeof(info)) ? -EFAULT : 0;
}

static long vcpu_ioctl(struct file *f, unsigned int cmd, unsigned long arg)
{
	struct tramp_vcpu *v = f->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case CUSED_TRAMP_GET_INFO:
		return get_info(uarg);
	case CUSED_TRAMP_READ_FIELDS:
		return vcpu_fields(v, uarg, false);
	case CUSED_TRAMP_WRITE_FIELDS:
		return vcpu_fields(v, uarg, true);
	case CUSED_TRAMP_RUN:
		return vcpu_run(v, uarg);
	case CUSED_TRAMP_KICK:
		return vcpu_kick(v);
	case CUSED_TRAMP_GET_FPU:
		return vcpu_fpu(v, uarg, false);
	case CUSED_TRAMP_SET_FPU:
		return vcpu_fpu(v, uarg, true);
	}
	return -ENOTTY;
}

static const struct file_operations vcpu_fops = {
	.owner = THIS_MODULE,
	.release = vcpu_release,
	.unlocked_ioctl = vcpu_ioctl,
	.llseek = noop_llseek,
};

static long vm_create_vcpu(struct tramp_vm *vm)
{
	struct tramp_vcpu *v;
	int r;

	v = kzalloc(sizeof(*v), GFP_KERNEL_ACCOUNT);
	if (!v)
		return -ENOMEM;
	v->vm = vm;
	mutex_init(&v->lock);
	v->running_cpu = -1;
	v->last_cpu = -1;
	/* a power-of-two kmalloc is naturally aligned: 16 for FXSAVE/FXRSTOR */
	v->fxsave = kzalloc(TRAMP_FX_SIZE, GFP_KERNEL_ACCOUNT);
	if (!v->fxsave) {
		kfree(v);
		return -ENOMEM;
	}
	v->apic_base = 0xfee00000 | (1 << 11);
	v->xcr0 = 1;
	/* x86 reset state: FCW 0x037f, MXCSR 0x1f80, empty tags, zero registers */
	*(u16 *)(v->fxsave + TRAMP_FX_FCW) = 0x037f;
	*(u32 *)(v->fxsave + TRAMP_FX_MXCSR) = 0x1f80;
	r = be->vcpu_init(v);
	if (r) {
		kfree(v->fxsave);
		kfree(v);
		return r;
	}
	mutex_lock(&vm->lock);
	if (vm->nvcpus >= TRAMP_MAX_VCPUS) {
		mutex_unlock(&vm->lock);
		r = -ENOSPC;
		goto fail;
	}
	vm->nvcpus++;
	list_add(&v->node, &vm->vcpus);
	kref_get(&vm->ref);
	mutex_unlock(&vm->lock);
	r = anon_inode_getfd("cused-tramp-vcpu", &vcpu_fops, v, O_RDWR | O_CLOEXEC);
	if (r >= 0)
		return r;
	mutex_lock(&vm->lock);
	list_del(&v->node);
	vm->nvcpus--;
	mutex_unlock(&vm->lock);
	kref_put(&vm->ref, vm_free);
fail:
	be->vcpu_free(v);
	kfree(v->fxsave);
	kfree(v);
	return r;
}

static long tramp_ioctl(struct file *f, unsigned int cmd, unsigned long arg)
{
	struct tramp_vm *vm = f->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case CUSED_TRAMP_GET_INFO:
		return get_info(uarg);
	case CUSED_TRAMP_CREATE_VCPU:
		return vm_create_vcpu(vm);
	case CUSED_TRAMP_MAP:
		return vm_map(vm, uarg);
	case CUSED_TRAMP_UNMAP:
		return vm_unmap(vm, uarg);
	case CUSED_TRAMP_GET_DIRTY:
		return vm_get_dirty(vm, uarg);
	}
	return -ENOTTY;
}

static const struct file_operations tramp_fops = {
	.owner = THIS_MODULE,
	.open = tramp_open,
	.release = tramp_release,
	.unlocked_ioctl = tramp_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice tramp_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "cused-tramp",
	.fops = &tramp_fops,
	.mode = 0600,
};

static int __init tramp_init(void)
{
	int r;

	probe_mxcsr_mask();
	r = tramp_svm_probe(&be);
	if (r == -ENODEV)
		r = tramp_vmx_probe(&be);
	if (r) {
		pr_info("no usable SVM or VMX (%d)\n", r);
		return r;
	}
	r = misc_register(&tramp_dev);
	if (r) {
		be->exit();
		return r;
	}
	pr_info("%s backend ready, /dev/%s\n", be->name, tramp_dev.name);
	return 0;
}

static void __exit tramp_exit(void)
{
	misc_deregister(&tramp_dev);
	be->exit();
}

module_init(tramp_init);
module_exit(tramp_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("cused trampoline: VMX/SVM guest entry/exit for a userspace KVM");
