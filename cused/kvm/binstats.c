/* SPDX-License-Identifier: MIT */
#include <stddef.h>
#include <string.h>
#include "cused/kvm/binstats.h"

#define HALT_POLL_HIST_COUNT 32

/* Linux 6.1's struct kvm_vm_stat (x86): the descriptors' offsets point here */
struct vm_data {
	uint64_t remote_tlb_flush;              /* kvm_vm_stat_generic */
	uint64_t remote_tlb_flush_requests;
	uint64_t mmu_shadow_zapped;
	uint64_t mmu_pte_write;
	uint64_t mmu_pde_zapped;
	uint64_t mmu_flooded;
	uint64_t mmu_recycled;
	uint64_t mmu_cache_miss;
	uint64_t mmu_unsync;
	uint64_t pages_4k, pages_2m, pages_1g;
	uint64_t nx_lpage_splits;
	uint64_t max_mmu_page_hash_collisions;  /* before rmap_size, as in KVM */
	uint64_t max_mmu_rmap_size;
};

/* Linux 6.1's struct kvm_vcpu_stat (x86) */
struct vcpu_data {
	uint64_t halt_successful_poll;          /* kvm_vcpu_stat_generic */
	uint64_t halt_attempted_poll;
	uint64_t halt_poll_invalid;
	uint64_t halt_wakeup;
	uint64_t halt_poll_success_ns;
	uint64_t halt_poll_fail_ns;
	uint64_t halt_wait_ns;
	uint64_t halt_poll_success_hist[HALT_POLL_HIST_COUNT];
	uint64_t halt_poll_fail_hist[HALT_POLL_HIST_COUNT];
	uint64_t halt_wait_hist[HALT_POLL_HIST_COUNT];
	uint64_t blocking;
	uint64_t pf_taken;
	uint64_t pf_fixed;
	uint64_t pf_emulate;
	uint64_t pf_spurious;
	uint64_t pf_fast;
	uint64_t pf_mmio_spte_created;
	uint64_t pf_guest;
	uint64_t tlb_flush;
	uint64_t invlpg;
	uint64_t exits;
	uint64_t io_exits;
	uint64_t mmio_exits;
	uint64_t signal_exits;
	uint64_t irq_window_exits;
	uint64_t nmi_window_exits;
	uint64_t l1d_flush;
	uint64_t halt_exits;
	uint64_t request_irq_exits;
	uint64_t irq_exits;
	uint64_t host_state_reload;
	uint64_t fpu_reload;
	uint64_t insn_emulation;
	uint64_t insn_emulation_fail;
	uint64_t hypercalls;
	uint64_t irq_injections;
	uint64_t nmi_injections;
	uint64_t req_event;
	uint64_t nested_run;
	uint64_t directed_yield_attempted;
	uint64_t directed_yield_successful;
	uint64_t preemption_reported;
	uint64_t preemption_other;
	uint64_t guest_mode;
	uint64_t notify_window_exits;
};

/* include/linux/kvm_host.h's STATS_DESC_* macros, over our two structs */
#define DESC(strct, stat, type, unit, exp, sz)                                  \
	{ { .flags = (type) | (unit) | KVM_STATS_BASE_POW10, .exponent = (exp), \
	    .size = (sz), .offset = offsetof(struct strct, stat) }, #stat }
#define COUNTER(s, stat)  DESC(s, stat, KVM_STATS_TYPE_CUMULATIVE, KVM_STATS_UNIT_NONE, 0, 1)
#define ICOUNTER(s, stat) DESC(s, stat, KVM_STATS_TYPE_INSTANT, KVM_STATS_UNIT_NONE, 0, 1)
#define PCOUNTER(s, stat) DESC(s, stat, KVM_STATS_TYPE_PEAK, KVM_STATS_UNIT_NONE, 0, 1)
#define IBOOLEAN(s, stat) DESC(s, stat, KVM_STATS_TYPE_INSTANT, KVM_STATS_UNIT_BOOLEAN, 0, 1)
#define TIME_NSEC(s, stat) DESC(s, stat, KVM_STATS_TYPE_CUMULATIVE, KVM_STATS_UNIT_SECONDS, -9, 1)
#define LOGHIST_NSEC(s, stat) \
	DESC(s, stat, KVM_STATS_TYPE_LOG_HIST, KVM_STATS_UNIT_SECONDS, -9, HALT_POLL_HIST_COUNT)

static const struct binstats_desc vm_desc[] = {
	COUNTER(vm_data, remote_tlb_flush),
	COUNTER(vm_data, remote_tlb_flush_requests),
	COUNTER(vm_data, mmu_shadow_zapped),
	COUNTER(vm_data, mmu_pte_write),
	COUNTER(vm_data, mmu_pde_zapped),
	COUNTER(vm_data, mmu_flooded),
	COUNTER(vm_data, mmu_recycled),
	COUNTER(vm_data, mmu_cache_miss),
	ICOUNTER(vm_data, mmu_unsync),
	ICOUNTER(vm_data, pages_4k),
	ICOUNTER(vm_data, pages_2m),
	ICOUNTER(vm_data, pages_1g),
	ICOUNTER(vm_data, nx_lpage_splits),
	PCOUNTER(vm_data, max_mmu_rmap_size),
	PCOUNTER(vm_data, max_mmu_page_hash_collisions),
};

static const struct binstats_desc vcpu_desc[] = {
	COUNTER(vcpu_data, halt_successful_poll),
	COUNTER(vcpu_data, halt_attempted_poll),
	COUNTER(vcpu_data, halt_poll_invalid),
	COUNTER(vcpu_data, halt_wakeup),
	TIME_NSEC(vcpu_data, halt_poll_success_ns),
	TIME_NSEC(vcpu_data, halt_poll_fail_ns),
	TIME_NSEC(vcpu_data, halt_wait_ns),
	LOGHIST_NSEC(vcpu_data, halt_poll_success_hist),
	LOGHIST_NSEC(vcpu_data, halt_poll_fail_hist),
	LOGHIST_NSEC(vcpu_data, halt_wait_hist),
	IBOOLEAN(vcpu_data, blocking),
	COUNTER(vcpu_data, pf_taken),
	COUNTER(vcpu_data, pf_fixed),
	COUNTER(vcpu_data, pf_emulate),
	COUNTER(vcpu_data, pf_spurious),
	COUNTER(vcpu_data, pf_fast),
	COUNTER(vcpu_data, pf_mmio_spte_created),
	COUNTER(vcpu_data, pf_guest),
	COUNTER(vcpu_data, tlb_flush),
	COUNTER(vcpu_data, invlpg),
	COUNTER(vcpu_data, exits),
	COUNTER(vcpu_data, io_exits),
	COUNTER(vcpu_data, mmio_exits),
	COUNTER(vcpu_data, signal_exits),
	COUNTER(vcpu_data, irq_window_exits),
	COUNTER(vcpu_data, nmi_window_exits),
	COUNTER(vcpu_data, l1d_flush),
	COUNTER(vcpu_data, halt_exits),
	COUNTER(vcpu_data, request_irq_exits),
	COUNTER(vcpu_data, irq_exits),
	COUNTER(vcpu_data, host_state_reload),
	COUNTER(vcpu_data, fpu_reload),
	COUNTER(vcpu_data, insn_emulation),
	COUNTER(vcpu_data, insn_emulation_fail),
	COUNTER(vcpu_data, hypercalls),
	COUNTER(vcpu_data, irq_injections),
	COUNTER(vcpu_data, nmi_injections),
	COUNTER(vcpu_data, req_event),
	COUNTER(vcpu_data, nested_run),
	COUNTER(vcpu_data, directed_yield_attempted),
	COUNTER(vcpu_data, directed_yield_successful),
	COUNTER(vcpu_data, preemption_reported),
	COUNTER(vcpu_data, preemption_other),
	IBOOLEAN(vcpu_data, guest_mode),
	COUNTER(vcpu_data, notify_window_exits),
};

#define NDESC(a) (sizeof(a) / sizeof((a)[0]))
/* arch/x86/kvm/x86.c kvm_vm_stats_header / kvm_vcpu_stats_header */
#define HEADER(descs) {                                                           \
	.name_size = BINSTATS_NAME_SIZE,                                          \
	.num_desc = NDESC(descs),                                                 \
	.id_offset = sizeof(struct kvm_stats_header),                             \
	.desc_offset = sizeof(struct kvm_stats_header) + BINSTATS_NAME_SIZE,      \
	.data_offset = sizeof(struct kvm_stats_header) + BINSTATS_NAME_SIZE +     \
		       sizeof(descs),                                             \
}

const struct binstats_layout binstats_vm = {
	HEADER(vm_desc), vm_desc, sizeof(struct vm_data),
};
const struct binstats_layout binstats_vcpu = {
	HEADER(vcpu_desc), vcpu_desc, sizeof(struct vcpu_data),
};

_Static_assert(sizeof(struct binstats_desc) == sizeof(struct kvm_stats_desc) + BINSTATS_NAME_SIZE,
	       "descriptor size is KVM's");
_Static_assert(sizeof(struct vcpu_data) == 138 * 8, "struct kvm_vcpu_stat of Linux 6.1");
_Static_assert(sizeof(struct vm_data) == 15 * 8, "struct kvm_vm_stat of Linux 6.1");

size_t binstats_file_size(const struct binstats_layout *l)
{
	return l->header.data_offset + l->data_size;
}

/* copy the part of [start, start+len) of the file that lies at *pos */
static void copy_part(char **dst, size_t *remain, uint64_t *pos, uint64_t start, const void *src,
		      size_t len)
{
	uint64_t end = start + len, n;

	if (*pos < start || *pos >= end || !*remain)
		return;
	n = end - *pos < *remain ? end - *pos : *remain;
	memcpy(*dst, (const char *)src + (*pos - start), n);
	*dst += n;
	*remain -= n;
	*pos += n;
}

size_t binstats_read(const struct binstats_layout *l, const char *id, const void *data,
		     void *buf, size_t size, uint64_t off)
{
	const struct kvm_stats_header *h = &l->header;
	uint64_t pos = off, total = binstats_file_size(l);
	size_t len, remain;
	char *dst = buf;

	if (off >= total)
		return 0;
	len = total - off < size ? total - off : size;
	remain = len;
	/* KVM's blocks are contiguous: each read goes on where the last ended */
	copy_part(&dst, &remain, &pos, 0, h, sizeof(*h));
	copy_part(&dst, &remain, &pos, h->id_offset, id, h->name_size);
	copy_part(&dst, &remain, &pos, h->desc_offset, l->desc,
		  (size_t)h->num_desc * sizeof(struct binstats_desc));
	copy_part(&dst, &remain, &pos, h->data_offset, data, l->data_size);
	return len;
}

void binstats_vm_data(void *data)
{
	/* the MMU is the backend's: cused counts none of KVM's VM-wide events */
	memset(data, 0, sizeof(struct vm_data));
}

void binstats_vcpu_data(const uint64_t n[VS_NR], void *data)
{
	struct vcpu_data *d = data;

	memset(d, 0, sizeof(*d));
	/* KVM's meaning for each, from the exits cused sees */
	d->halt_wakeup = n[VS_HALT_WAKEUP];
	d->pf_taken = n[VS_NPF];            /* nested page faults the MMU handled */
	d->exits = n[VS_EXITS];
	d->io_exits = n[VS_IO];
	d->mmio_exits = n[VS_MMIO];
	d->signal_exits = n[VS_SIGNAL];
	d->irq_window_exits = n[VS_IRQ_WINDOW];
	d->halt_exits = n[VS_HLT];
	d->irq_exits = n[VS_KICKED];        /* KVM's kick is an IPI: an external-interrupt exit */
	d->irq_injections = n[VS_IRQ_INJECTED];
}
