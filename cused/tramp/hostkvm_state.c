/* SPDX-License-Identifier: MIT */
/*
 * Guest state by field id on a host vCPU, NVMM comm-page style: each group
 * (regs, sregs, debug regs, XCRs, events) is fetched from the host at most
 * once per exit and written back at most once, right before the next
 * KVM_RUN, and only if something in it changed.  So a GET_REGS + SET_REGS
 * cycle costs one host KVM_GET_REGS and one KVM_SET_REGS, however many
 * fields are touched in between.  MSR-class fields go straight to the host
 * in one batched KVM_GET/SET_MSRS per call: they are rare and host-initiated
 * MSR accesses are not subject to the guest's deny-all filter.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include "cused/tramp/hostkvm.h"
#include "cused/x86/regs.h"
#include "cused/util/log.h"

static const struct {
	unsigned long get, set;
} group_ioctl[HK_NGROUPS] = {
	[HK_REGS]   = { KVM_GET_REGS, KVM_SET_REGS },
	[HK_SREGS]  = { KVM_GET_SREGS, KVM_SET_SREGS },
	[HK_DREGS]  = { KVM_GET_DEBUGREGS, KVM_SET_DEBUGREGS },
	[HK_XCRS]   = { KVM_GET_XCRS, KVM_SET_XCRS },
	[HK_EVENTS] = { KVM_GET_VCPU_EVENTS, KVM_SET_VCPU_EVENTS },
};

static void *group_buf(struct hk_state *st, enum hk_group g)
{
	switch (g) {
	case HK_REGS:   return &st->regs;
	case HK_SREGS:  return &st->sregs;
	case HK_DREGS:  return &st->dregs;
	case HK_XCRS:   return &st->xcrs;
	case HK_EVENTS: return &st->events;
	default:        return NULL;
	}
}

void hk_state_invalidate(struct hk_state *st)
{
	st->valid = 0;
	st->dirty = 0;
}

static int group_fetch(struct tramp_vcpu *v, enum hk_group g)
{
	int r;

	if (v->st.valid & (1u << g))
		return 0;
	r = tramp_ioctl(v->fd, group_ioctl[g].get, group_buf(&v->st, g));
	if (r)
		return refuse(r, "hostkvm: vCPU %u: host get of state group %d: %d", v->id, g, r);
	v->st.valid |= 1u << g;
	return 0;
}

int hk_group_get(struct tramp_vcpu *v, enum hk_group g, void *buf, size_t len)
{
	int r = group_fetch(v, g);

	if (!r)
		memcpy(buf, group_buf(&v->st, g), len);
	return r;
}

/* groups go back in this order: events last, so an injected event survives SET_SREGS */
int hk_state_flush(struct tramp_vcpu *v)
{
	struct hk_state *st = &v->st;
	int r = 0;

	for (int g = 0; g < HK_NGROUPS && st->dirty; g++) {
		if (!(st->dirty & (1u << g)))
			continue;
		if (g == HK_SREGS)
			/* pending interrupts travel in the events group, never twice */
			memset(st->sregs.interrupt_bitmap, 0, sizeof(st->sregs.interrupt_bitmap));
		r = tramp_ioctl(v->fd, group_ioctl[g].set, group_buf(st, g));
		if (r) {
			log_warn("hostkvm: vCPU %u: host set of state group %d: %d", v->id, g, r);
			/* drop everything cached: the host's state is the truth now */
			hk_state_invalidate(st);
			return r;
		}
		st->dirty &= ~(1u << g);
	}
	return r;
}

static bool is_msr_field(uint32_t id)
{
	return id >= CUSED_F_SYSENTER_CS && id < CUSED_F_MSR_END;
}

static uint32_t msr_index(uint32_t id)
{
	static const uint32_t idx[] = {
		[CUSED_F_SYSENTER_CS - CUSED_F_SYSENTER_CS] = 0x174,
		[CUSED_F_SYSENTER_ESP - CUSED_F_SYSENTER_CS] = 0x175,
		[CUSED_F_SYSENTER_EIP - CUSED_F_SYSENTER_CS] = 0x176,
		[CUSED_F_STAR - CUSED_F_SYSENTER_CS] = 0xc0000081,
		[CUSED_F_LSTAR - CUSED_F_SYSENTER_CS] = 0xc0000082,
		[CUSED_F_CSTAR - CUSED_F_SYSENTER_CS] = 0xc0000083,
		[CUSED_F_SFMASK - CUSED_F_SYSENTER_CS] = 0xc0000084,
		[CUSED_F_KERNEL_GS_BASE - CUSED_F_SYSENTER_CS] = 0xc0000102,
		[CUSED_F_PAT - CUSED_F_SYSENTER_CS] = 0x277,
		[CUSED_F_TSC - CUSED_F_SYSENTER_CS] = 0x10,
		[CUSED_F_TSC_AUX - CUSED_F_SYSENTER_CS] = 0xc0000103,
	};

	return idx[id - CUSED_F_SYSENTER_CS];
}

/* which cached group holds a field; -1 for fields handled elsewhere; -EINVAL if unknown */
static int field_group(uint32_t id)
{
	if (id < CUSED_F_GPR_END)
		return HK_REGS;
	if (id >= CUSED_F_CR0 && id <= CUSED_F_APIC_BASE)
		return HK_SREGS;
	if (id >= CUSED_F_DR0 && id <= CUSED_F_DR7)
		return HK_DREGS;
	if (id == CUSED_F_XCR0)
		return HK_XCRS;
	if (id >= CUSED_F_GDTR_BASE && id < CUSED_F_SEG_END &&
	    (id <= CUSED_F_IDTR_LIMIT || id >= CUSED_F_SEG(0, 0)))
		return HK_SREGS;
	if (id == CUSED_F_PENDING_IRQ || id == CUSED_F_INTERRUPTIBILITY)
		return HK_EVENTS;
	if (is_msr_field(id) || id == CUSED_F_ACTIVITY || id == CUSED_F_REQ_IRQ_WINDOW)
		return -1;
	return -EINVAL;
}

static int check_ids(const struct cused_field_val *f, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (field_group(f[i].id) == -EINVAL)
			return refuse(-EINVAL, "hostkvm: unknown field id %#x", f[i].id);
	return 0;
}

static __u64 *dregs_u64(struct kvm_debugregs *d, uint32_t id)
{
	if (id <= CUSED_F_DR3)
		return &d->db[id - CUSED_F_DR0];
	return id == CUSED_F_DR6 ? &d->dr6 : &d->dr7;
}

static struct kvm_xcr *xcr0_of(struct kvm_xcrs *x)
{
	for (unsigned i = 0; i < x->nr_xcrs && i < KVM_MAX_XCRS; i++)
		if (x->xcrs[i].xcr == 0)
			return &x->xcrs[i];
	return NULL;
}

/* MSR-class fields: gathered per call, one host KVM_GET/SET_MSRS */
struct msr_batch {
	struct kvm_msrs hdr;
	struct kvm_msr_entry e[CUSED_F_MSR_END - CUSED_F_SYSENTER_CS];
};

static int msrs_move(struct tramp_vcpu *v, struct cused_field_val *f, unsigned n, bool set)
{
	struct msr_batch b;
	unsigned pos[sizeof(b.e) / sizeof(b.e[0])];
	unsigned i = 0;
	int r;

	while (i < n) {
		/* the next chunk of MSR fields that fits one host call */
		b.hdr.nmsrs = 0;
		b.hdr.pad = 0;
		for (; i < n && b.hdr.nmsrs < sizeof(b.e) / sizeof(b.e[0]); i++) {
			if (!is_msr_field(f[i].id))
				continue;
			pos[b.hdr.nmsrs] = i;
			b.e[b.hdr.nmsrs++] = (struct kvm_msr_entry){ .index = msr_index(f[i].id),
								     .data = f[i].val };
		}
		if (!b.hdr.nmsrs)
			return 0;
		r = tramp_ioctl(v->fd, set ? KVM_SET_MSRS : KVM_GET_MSRS, &b);
		if (r < 0)
			return r;
		if ((unsigned)r != b.hdr.nmsrs)
			return refuse(-EINVAL, "hostkvm: vCPU %u: host refused MSR %#x", v->id,
				      b.e[r].index);
		if (!set)
			for (unsigned k = 0; k < b.hdr.nmsrs; k++)
				f[pos[k]].val = b.e[k].data;
	}
	return 0;
}

static int read_one(struct tramp_vcpu *v, struct cused_field_val *f)
{
	int g = field_group(f->id);
	int r;

	if (g < 0) {
		if (f->id == CUSED_F_ACTIVITY)
			return hk_activity_get(v, &f->val);
		if (f->id == CUSED_F_REQ_IRQ_WINDOW)
			f->val = v->run->request_interrupt_window;
		return 0;   /* MSRs: msrs_move() */
	}
	r = group_fetch(v, g);
	if (r)
		return r;
	switch (g) {
	case HK_REGS:
		f->val = ((__u64 *)&v->st.regs)[f->id - CUSED_F_RAX];
		return 0;
	case HK_SREGS:
		f->val = sregs_get_field(&v->st.sregs, f->id);
		return 0;
	case HK_DREGS:
		f->val = *dregs_u64(&v->st.dregs, f->id);
		return 0;
	case HK_XCRS: {
		struct kvm_xcr *x = xcr0_of(&v->st.xcrs);

		/* no XSAVE on the host: XCR0 reads as its reset value */
		f->val = x ? x->value : 1;
		return 0;
	}
	default:
		f->val = f->id == CUSED_F_PENDING_IRQ ? hk_pending_get(&v->st.events) :
							hk_interruptibility_get(&v->st.events);
		return 0;
	}
}

int hk_read_fields(struct tramp_vcpu *v, struct cused_field_val *f, unsigned n)
{
	int r = check_ids(f, n);

	for (unsigned i = 0; i < n && !r; i++)
		r = read_one(v, &f[i]);
	return r ? r : msrs_move(v, f, n, false);
}

static int write_one(struct tramp_vcpu *v, const struct cused_field_val *f)
{
	int g = field_group(f->id);
	int r;

	if (g < 0) {
		if (f->id == CUSED_F_ACTIVITY)
			return hk_activity_set(v, f->val);
		if (f->id == CUSED_F_REQ_IRQ_WINDOW)
			v->run->request_interrupt_window = !!f->val;
		return 0;
	}
	/* the host takes whole groups, so the untouched rest must be current */
	r = group_fetch(v, g);
	if (r)
		return r;
	switch (g) {
	case HK_REGS:
		((__u64 *)&v->st.regs)[f->id - CUSED_F_RAX] = f->val;
		break;
	case HK_SREGS:
		sregs_set_field(&v->st.sregs, f->id, f->val);
		break;
	case HK_DREGS:
		*dregs_u64(&v->st.dregs, f->id) = f->val;
		break;
	case HK_XCRS:
		v->st.xcrs.nr_xcrs = 1;
		v->st.xcrs.flags = 0;
		v->st.xcrs.xcrs[0] = (struct kvm_xcr){ .xcr = 0, .value = f->val };
		break;
	default:
		r = f->id == CUSED_F_PENDING_IRQ ? hk_pending_set(&v->st.events, f->val) :
						   hk_interruptibility_set(&v->st.events, f->val);
		if (r)
			return r;
		break;
	}
	v->st.dirty |= 1u << g;
	return 0;
}

int hk_write_fields(struct tramp_vcpu *v, const struct cused_field_val *f, unsigned n)
{
	int r = check_ids(f, n);

	for (unsigned i = 0; i < n && !r; i++)
		r = write_one(v, &f[i]);
	/* msrs_move() only reads f when setting */
	return r ? r : msrs_move(v, (struct cused_field_val *)f, n, true);
}
