/* SPDX-License-Identifier: MIT */
/*
 * KVM's binary stats file (cused/kvm/binstats.c) and the stats handle
 * (statsfd.c, handle.c): layout, reads at any offset and size as KVM's
 * kvm_stats_read, live snapshots, release, the per-uid cap.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "cused/kvm/binstats.h"
#include "cused/kvm/caps.h"
#include "cused/kvm/statsfd.h"
#include "cused/kvm/handle.h"
#include "cused/kvm/vm.h"
#include "cused/kvm/vcpu.h"
#include "cused/shim_abi.h"

#define DESC_SIZE (sizeof(struct kvm_stats_desc) + BINSTATS_NAME_SIZE)

static const struct binstats_desc *find(const struct binstats_layout *l, const char *name)
{
	for (unsigned i = 0; i < l->header.num_desc; i++)
		if (!strcmp(l->desc[i].name, name))
			return &l->desc[i];
	return NULL;
}

/* arch/x86/kvm/x86.c: header right after it the id, then descriptors, then data */
static void test_header_layout(void **state)
{
	const struct binstats_layout *ls[] = { &binstats_vm, &binstats_vcpu };

	(void)state;
	assert_int_equal(sizeof(struct kvm_stats_header), 24);
	assert_int_equal(sizeof(struct binstats_desc), 64);
	assert_int_equal(binstats_vm.header.num_desc, 15);
	assert_int_equal(binstats_vcpu.header.num_desc, 45);
	assert_int_equal(binstats_vm.data_size, 15 * 8);
	assert_int_equal(binstats_vcpu.data_size, 138 * 8);
	for (int k = 0; k < 2; k++) {
		const struct kvm_stats_header *h = &ls[k]->header;

		assert_int_equal(h->name_size, 48);
		assert_int_equal(h->id_offset, 24);
		assert_int_equal(h->desc_offset, 24 + 48);
		assert_int_equal(h->data_offset, 24 + 48 + h->num_desc * DESC_SIZE);
		assert_int_equal(binstats_file_size(ls[k]), h->data_offset + ls[k]->data_size);
	}
}

/* what kvm_binary_stats_test checks, for every descriptor */
static void test_descriptors_valid(void **state)
{
	const struct binstats_layout *ls[] = { &binstats_vm, &binstats_vcpu };

	(void)state;
	for (int k = 0; k < 2; k++) {
		const struct binstats_layout *l = ls[k];

		for (unsigned i = 0; i < l->header.num_desc; i++) {
			const struct kvm_stats_desc *d = &l->desc[i].desc;
			uint32_t type = d->flags & KVM_STATS_TYPE_MASK;
			uint32_t unit = d->flags & KVM_STATS_UNIT_MASK;

			assert_true(strlen(l->desc[i].name) > 0);
			assert_true(strlen(l->desc[i].name) < BINSTATS_NAME_SIZE);
			assert_true(type <= KVM_STATS_TYPE_MAX);
			assert_true(unit <= KVM_STATS_UNIT_MAX);
			assert_int_equal(d->flags & KVM_STATS_BASE_MASK, KVM_STATS_BASE_POW10);
			assert_true(d->size > 0);
			assert_int_equal(d->bucket_size, 0);
			assert_int_equal(d->offset % 8, 0);
			assert_true(d->offset + d->size * 8 <= l->data_size);
			if (unit == KVM_STATS_UNIT_SECONDS)
				assert_int_equal(d->exponent, -9);
			else
				assert_int_equal(d->exponent, 0);
			/* no two stats share data */
			for (unsigned j = 0; j < i; j++) {
				const struct kvm_stats_desc *e = &l->desc[j].desc;

				assert_true(d->offset + d->size * 8 <= e->offset ||
					    e->offset + e->size * 8 <= d->offset);
			}
		}
	}
}

/* KVM's flags and offsets for the stats kvm_stat and the selftests read */
static void test_kvm_names_and_flags(void **state)
{
	const struct binstats_desc *d;

	(void)state;
	d = find(&binstats_vcpu, "halt_successful_poll");
	assert_non_null(d);
	assert_int_equal(d->desc.offset, 0);
	assert_int_equal(d->desc.flags, KVM_STATS_TYPE_CUMULATIVE | KVM_STATS_UNIT_NONE);
	d = find(&binstats_vcpu, "halt_wait_ns");
	assert_int_equal(d->desc.flags, KVM_STATS_TYPE_CUMULATIVE | KVM_STATS_UNIT_SECONDS);
	d = find(&binstats_vcpu, "halt_poll_success_hist");
	assert_int_equal(d->desc.flags, KVM_STATS_TYPE_LOG_HIST | KVM_STATS_UNIT_SECONDS);
	assert_int_equal(d->desc.size, 32);
	assert_int_equal(d->desc.offset, 7 * 8);
	d = find(&binstats_vcpu, "blocking");
	assert_int_equal(d->desc.flags, KVM_STATS_TYPE_INSTANT | KVM_STATS_UNIT_BOOLEAN);
	assert_int_equal(d->desc.offset, (7 + 96) * 8);
	d = find(&binstats_vcpu, "exits");
	assert_int_equal(d->desc.offset, (7 + 96 + 1 + 9) * 8);
	d = find(&binstats_vcpu, "notify_window_exits");
	assert_int_equal(d->desc.offset, 137 * 8);
	assert_ptr_equal(d, &binstats_vcpu.desc[44]);
	d = find(&binstats_vm, "max_mmu_rmap_size");
	assert_int_equal(d->desc.flags, KVM_STATS_TYPE_PEAK);
	/* listed before max_mmu_page_hash_collisions, stored after it, as in KVM */
	assert_int_equal(d->desc.offset, 14 * 8);
	assert_int_equal(find(&binstats_vm, "max_mmu_page_hash_collisions")->desc.offset, 13 * 8);
	assert_int_equal(find(&binstats_vm, "pages_4k")->desc.flags, KVM_STATS_TYPE_INSTANT);
}

static void counters(uint64_t n[VS_NR])
{
	for (int i = 0; i < VS_NR; i++)
		n[i] = 1000 + i;
}

static uint64_t data_of(const void *data, const char *name)
{
	uint64_t v;

	memcpy(&v, (const char *)data + find(&binstats_vcpu, name)->desc.offset, 8);
	return v;
}

static void test_vcpu_data_mapping(void **state)
{
	uint64_t n[VS_NR], data[139];

	(void)state;
	counters(n);
	binstats_vcpu_data(n, data);
	assert_int_equal(data_of(data, "exits"), n[VS_EXITS]);
	assert_int_equal(data_of(data, "io_exits"), n[VS_IO]);
	assert_int_equal(data_of(data, "mmio_exits"), n[VS_MMIO]);
	assert_int_equal(data_of(data, "halt_exits"), n[VS_HLT]);
	assert_int_equal(data_of(data, "irq_window_exits"), n[VS_IRQ_WINDOW]);
	assert_int_equal(data_of(data, "irq_exits"), n[VS_KICKED]);
	assert_int_equal(data_of(data, "signal_exits"), n[VS_SIGNAL]);
	assert_int_equal(data_of(data, "halt_wakeup"), n[VS_HALT_WAKEUP]);
	assert_int_equal(data_of(data, "irq_injections"), n[VS_IRQ_INJECTED]);
	assert_int_equal(data_of(data, "pf_taken"), n[VS_NPF]);
	assert_int_equal(data_of(data, "nmi_injections"), 0);
	assert_int_equal(data_of(data, "guest_mode"), 0);
}

/* the whole file, assembled independently of binstats_read */
static size_t reference(const struct binstats_layout *l, const char *id, const void *data,
			char *out)
{
	const struct kvm_stats_header *h = &l->header;

	memcpy(out, h, sizeof(*h));
	memcpy(out + h->id_offset, id, h->name_size);
	memcpy(out + h->desc_offset, l->desc, h->num_desc * DESC_SIZE);
	memcpy(out + h->data_offset, data, l->data_size);
	return binstats_file_size(l);
}

/* pread at every offset with sizes that straddle every block boundary */
static void test_read_any_offset_and_size(void **state)
{
	static char ref[8192], got[8192 + 64];
	char id[BINSTATS_NAME_SIZE] = "kvm-42/vcpu-3";
	uint64_t n[VS_NR], data[139];
	size_t total, sizes[] = { 0, 1, 3, 7, 8, 24, 25, 48, 63, 64, 65, 100, 4096, 8192 };

	(void)state;
	counters(n);
	binstats_vcpu_data(n, data);
	total = reference(&binstats_vcpu, id, data, ref);
	assert_true(total < sizeof(ref));
	for (size_t off = 0; off <= total + 2; off++)
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			size_t want = off >= total ? 0 : total - off < sizes[s] ? total - off : sizes[s];
			size_t r;

			memset(got, 0xa5, sizeof(got));
			r = binstats_read(&binstats_vcpu, id, data, got, sizes[s], off);
			assert_int_equal(r, want);
			assert_memory_equal(got, ref + (off < total ? off : 0), want);
			/* nothing past what was returned is touched */
			assert_int_equal((unsigned char)got[want], 0xa5);
		}
	/* sequential reads of odd sizes rebuild the file, as read(2) on KVM's */
	{
		size_t pos = 0, r;

		while ((r = binstats_read(&binstats_vcpu, id, data, got + pos, 37, pos)))
			pos += r;
		assert_int_equal(pos, total);
		assert_memory_equal(got, ref, total);
	}
	/* far past the end, and an offset that would overflow a 64-bit sum */
	assert_int_equal(binstats_read(&binstats_vcpu, id, data, got, 8, 1ull << 40), 0);
	assert_int_equal(binstats_read(&binstats_vcpu, id, data, got, 8, ~0ull), 0);
	assert_int_equal(binstats_read(&binstats_vcpu, id, data, got, ~(size_t)0 >> 1, total - 8), 8);
}

/* ---- the stats handle, over a context with no backend */

static struct cused_ctx *ctx_new(void)
{
	struct cused_ctx *ctx = calloc(1, sizeof(*ctx));

	pthread_mutex_init(&ctx->lock, NULL);
	stats_registry_init(&ctx->stats, NULL);
	ctx->stats_reads = true;
	return ctx;
}

/* CUSED_IOC_STATS_FD on h, then a bound stats handle as BIND would make it */
static struct cused_handle *stats_handle(struct cused_handle *h, uid_t uid, long *err)
{
	struct cused_create out;
	struct ioctl_req rq = { .cmd = CUSED_IOC_STATS_FD, .out = &out, .out_len = sizeof(out),
				.uid = uid, .pid = 99 };
	struct cused_handle *sh;
	void *obj;

	*err = handle_ioctl(h, &rq);
	if (*err)
		return NULL;
	assert_int_equal(ctx_claim(h->ctx, out.token, OBJ_STATS, uid, &obj), 0);
	sh = handle_open(h->ctx);
	sh->stats = obj;
	atomic_store(&sh->kind, H_STATS);
	return sh;
}

static void test_handle_reads_live_and_released(void **state)
{
	struct cused_ctx *ctx = ctx_new();
	struct vm *vmp = calloc(1, sizeof(*vmp));
	struct vcpu *vp = calloc(1, sizeof(*vp));
	struct cused_handle *vmh, *vh, *svm, *sv;
	struct kvm_stats_header hdr;
	char id[BINSTATS_NAME_SIZE], buf[8];
	uint64_t v, exits_off;
	long err;

	(void)state;
	vmp->ctx = ctx;
	vmp->pid = 1234;
	vp->vm = vmp;
	vp->id = 3;
	vp->stats = stats_alloc();
	vp->stats->pid = 1240;
	stats_register(&ctx->stats, vp->stats, vmp, 3);
	vmh = handle_open(ctx);
	vmh->vm = vmp;
	atomic_store(&vmh->kind, H_VM);
	vh = handle_open(ctx);
	vh->vcpu = vp;
	atomic_store(&vh->kind, H_VCPU);

	svm = stats_handle(vmh, 1000, &err);
	sv = stats_handle(vh, 1000, &err);
	assert_non_null(svm);
	assert_non_null(sv);
	assert_int_equal(ctx_nr_stats(ctx), 2);
	assert_int_equal(uid_usage_of(&ctx->uids, 1000).stats, 2);

	/* KVM's ids: the creating task's pid */
	assert_int_equal(handle_read(svm, id, sizeof(id), 24), sizeof(id));
	assert_string_equal(id, "kvm-1234");
	assert_int_equal(handle_read(sv, id, sizeof(id), 24), sizeof(id));
	assert_string_equal(id, "kvm-1240/vcpu-3");
	assert_int_equal(handle_read(sv, &hdr, sizeof(hdr), 0), sizeof(hdr));
	assert_int_equal(hdr.num_desc, 45);

	/* every read is a new snapshot */
	exits_off = hdr.data_offset + find(&binstats_vcpu, "exits")->desc.offset;
	assert_int_equal(handle_read(sv, &v, 8, exits_off), 8);
	assert_int_equal(v, 0);
	stats_inc(vp->stats, VS_EXITS);
	stats_inc(vp->stats, VS_EXITS);
	assert_int_equal(handle_read(sv, &v, 8, exits_off), 8);
	assert_int_equal(v, 2);

	/* KVM's stats fd has no ioctl; the VM and vCPU files have no read */
	{
		struct ioctl_req rq = { .cmd = KVM_RUN };

		assert_int_equal(handle_ioctl(sv, &rq), -ENOTTY);
		rq.cmd = KVM_GET_STATS_FD;
		assert_int_equal(handle_ioctl(vh, &rq), -EOPNOTSUPP);
	}
	assert_int_equal(handle_read(vh, buf, sizeof(buf), 0), -EINVAL);
	assert_int_equal(handle_read(vmh, buf, sizeof(buf), 0), -EINVAL);

	/* the vCPU goes first: its counter block stays with the stats handle */
	stats_unregister(vp->stats);
	stats_put(vp->stats);
	vp->stats = NULL;
	assert_int_equal(handle_read(sv, &v, 8, exits_off), 8);
	assert_int_equal(v, 2);
	assert_int_equal(ctx->stats.dead[VS_EXITS], 2);

	/* closing releases the object and the charge (ASan: and the block) */
	handle_release(sv);
	handle_release(svm);
	assert_int_equal(ctx_nr_stats(ctx), 0);
	assert_int_equal(uid_usage_of(&ctx->uids, 1000).stats, 0);
	/* a frontend without read offsets (CUSE): no binary stats, as a KVM without them */
	{
		struct cused_create out;
		struct ioctl_req rq = { .cmd = CUSED_IOC_STATS_FD, .out = &out,
					.out_len = sizeof(out), .uid = 5 };

		ctx->stats_reads = false;
		assert_int_equal(caps_check(ctx, KVM_CAP_BINARY_STATS_FD), 0);
		assert_int_equal(handle_ioctl(vmh, &rq), -ENOTTY);
		ctx->stats_reads = true;
		assert_int_equal(caps_check(ctx, KVM_CAP_BINARY_STATS_FD), 1);
	}
	/* never bound: dies with the handle it was asked on */
	{
		struct cused_create out;
		struct ioctl_req rq = { .cmd = CUSED_IOC_STATS_FD, .out = &out,
					.out_len = sizeof(out), .uid = 5 };

		assert_int_equal(handle_ioctl(vmh, &rq), 0);
		assert_int_equal(ctx_nr_stats(ctx), 1);
		ctx_drop_parked(ctx, vmh);
		assert_int_equal(ctx_nr_stats(ctx), 0);
		assert_int_equal(uid_usage_of(&ctx->uids, 5).stats, 0);
	}
	/* the VM and vCPU handles are fakes: unlink them without releasing objects */
	atomic_store(&vmh->kind, H_SYSTEM);
	atomic_store(&vh->kind, H_SYSTEM);
	handle_release(vmh);
	handle_release(vh);
	free(vp);
	free(vmp);
	free(ctx);
}

/* CUSED_MAX_STATS_FDS_PER_UID, and the table entry a stats fd keeps */
static void test_stats_cap(void **state)
{
	struct uid_table *t = calloc(1, sizeof(*t));

	(void)state;
	for (unsigned i = 0; i < CUSED_MAX_STATS_FDS_PER_UID; i++)
		assert_int_equal(uid_charge_stats(t, 9), 0);
	assert_int_equal(uid_charge_stats(t, 9), -ENOMEM);
	assert_int_equal(uid_charge_stats(t, 10), 0);
	assert_int_equal(uid_usage_of(t, 9).stats, CUSED_MAX_STATS_FDS_PER_UID);
	for (unsigned i = 0; i < CUSED_MAX_STATS_FDS_PER_UID + 3; i++)
		uid_uncharge_stats(t, 9);
	assert_int_equal(uid_usage_of(t, 9).stats, 0);
	assert_int_equal(uid_usage_of(t, 10).stats, 1);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_layout),
		cmocka_unit_test(test_descriptors_valid),
		cmocka_unit_test(test_kvm_names_and_flags),
		cmocka_unit_test(test_vcpu_data_mapping),
		cmocka_unit_test(test_read_any_offset_and_size),
		cmocka_unit_test(test_handle_reads_live_and_released),
		cmocka_unit_test(test_stats_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
