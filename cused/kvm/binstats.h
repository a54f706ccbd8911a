/* SPDX-License-Identifier: MIT */
/*
 * KVM's binary statistics format (KVM_GET_STATS_FD, Documentation/virt/kvm/
 * api.rst): header, id string, descriptors, data, in that order in one file.
 * The descriptor tables and the data layout are Linux 6.1 x86's, name for
 * name and offset for offset (arch/x86/kvm/x86.c kvm_vm_stats_desc /
 * kvm_vcpu_stats_desc), so kvm_stat and the selftests read cused as KVM.
 * Counters cused does not keep read as 0, as KVM's would on a guest that
 * never triggers them.  Pure functions: no daemon state.
 */
#ifndef CUSED_KVM_BINSTATS_H
#define CUSED_KVM_BINSTATS_H

#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>
#include "cused/kvm/stats.h"

#define BINSTATS_NAME_SIZE 48   /* KVM_STATS_NAME_SIZE */

/* KVM's struct _kvm_stats_desc: the uapi descriptor with its name inline */
struct binstats_desc {
	struct kvm_stats_desc desc;
	char name[BINSTATS_NAME_SIZE];
};

struct binstats_layout {
	struct kvm_stats_header header;
	const struct binstats_desc *desc;   /* header.num_desc of them */
	size_t data_size;                   /* bytes of the data block */
};

/* the VM fd's and the vCPU fd's layouts */
extern const struct binstats_layout binstats_vm, binstats_vcpu;

/* bytes in the whole file: header, id, descriptors, data */
size_t binstats_file_size(const struct binstats_layout *l);

/*
 * KVM's kvm_stats_read (virt/kvm/binary_stats.c) into buf: up to size bytes
 * of the file at off, where id is the BINSTATS_NAME_SIZE id string and data
 * the data block (l->data_size bytes).  Returns the bytes copied: short at
 * the end of the file, 0 at or past it.  off must be >= 0 (the VFS refuses a
 * negative pread offset with EINVAL before the file sees it).
 */
size_t binstats_read(const struct binstats_layout *l, const char *id, const void *data,
		     void *buf, size_t size, uint64_t off);

/*
 * The data blocks from cused's counters: vcpu fills binstats_vcpu.data_size
 * bytes from one vCPU's counters (n[VS_NR]); vm fills binstats_vm.data_size.
 */
void binstats_vcpu_data(const uint64_t n[VS_NR], void *data);
void binstats_vm_data(void *data);

#endif
