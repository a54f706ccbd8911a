/* SPDX-License-Identifier: MIT */
/*
 * What kvmtest.c (VM set-up, exit printing, the modes / smp / badargs /
 * hold / spin subtests) shares with features.c (the features subtest).
 */
#ifndef CUSED_KVMTEST_H
#define CUSED_KVMTEST_H

#include <stdint.h>
#include <stddef.h>
#include <linux/kvm.h>

struct vm {
	int sys, fd;
	uint8_t *mem;
	size_t mem_size;
	int run_size;
	struct kvm_cpuid2 *cpuid;
};

struct vcpu {
	struct vm *vm;
	int fd, id;
	struct kvm_run *run;
};

/* print the message, "result: FAIL", exit 1 */
void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* "EINVAL" for EINVAL, "0" for 0 */
const char *ename(int e);

/* ioctl that must succeed */
#define IOC(fd, req, arg) xioctl(fd, req, (unsigned long)(arg), #req)
int xioctl(int fd, unsigned long req, unsigned long arg, const char *name);

/* GUEST_RAM_SIZE of RAM at GPA 0 (slot 0), the image at GUEST_LOAD, the
 * supported CPUID in vm->cpuid */
void vm_create(struct vm *vm, const char *image);
/* a vCPU at GUEST_LOAD in real mode, CS base 0, SI = id */
void vcpu_create(struct vm *vm, struct vcpu *v, int id);

const char *exit_name(unsigned r);
void print_bytes(const char *label, const uint8_t *p, unsigned n);
uint64_t get_rip(struct vcpu *v);
/* the fields of an exit that ends a run */
void print_fatal_exit(struct kvm_run *run);

int cmd_features(int n, char **names);
/* the state subtest (state.c): VM/vCPU state ioctls and the classic example flow */
int cmd_state(const char *dev);
/* the evfd subtest (evfd.c): IRQFD/IOEVENTFD errnos, ioeventfd notifies, KVM_SET_SIGNAL_MASK */
int cmd_evfd(const char *dev);
/* irq.c: the in-kernel irqchip scenarios */
int cmd_irq(int n, char **names);

#endif
