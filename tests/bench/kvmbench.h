/* SPDX-License-Identifier: MIT */
/*
 * kvmbench: what the benchmark families (kvmbench.c exits, kvmbench_irq.c
 * interrupts, kvmbench_mem.c memory / lifecycle / SMP) share.  Plain KVM
 * ioctls only: the same binary runs on the host's /dev/kvm and on cused.
 */
#ifndef CUSED_KVMBENCH_H
#define CUSED_KVMBENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <linux/kvm.h>

struct bvm {
	int sys, fd;
	uint8_t *mem;              /* GUEST_RAM_SIZE at GPA 0, the bench image at GUEST_LOAD */
	int run_size;
	struct kvm_cpuid2 *cpuid;
};

struct bvcpu {
	struct bvm *vm;
	int fd, id;
	struct kvm_run *run;
	uint64_t exits;            /* client-handled PIO/MMIO benchmark exits seen by bvcpu_run */
	double t_start;            /* when the guest said BPORT_START (else entry) */
	double elapsed;            /* from t_start to BPORT_DONE, seconds */
};

/* print the message on stderr and exit 1 */
void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* "ENOTTY" for ENOTTY */
const char *ename(int e);
/* ioctl that must succeed, else die naming it */
#define IOC(fd, req, arg) xioctl(fd, req, (unsigned long)(arg), #req)
int xioctl(int fd, unsigned long req, unsigned long arg, const char *name);
/* CLOCK_MONOTONIC in seconds */
double now(void);

/* the device named by --dev, opened; exits 77 if it does not exist */
int open_dev(void);
/*
 * A VM with the bench image loaded.  With irqchip, KVM_CREATE_IRQCHIP is
 * made first; if it fails, returns -errno with the VM destroyed (the caller
 * prints its skip row).  0 on success; dies on anything else.
 */
int bvm_create(struct bvm *vm, bool irqchip);
void bvm_destroy(struct bvm *vm);
/* vCPU id entering bench.S for benchmark `bench` with EBP = iters, EBX = ebx */
void bvcpu_create(struct bvm *vm, struct bvcpu *v, int id, int bench, uint32_t iters,
		  uint32_t ebx);
void bvcpu_destroy(struct bvcpu *v);
/* KVM_RUN until the guest's BPORT_DONE; handles the benchmark's PIO/MMIO exits, dies on
 * others; sets v->elapsed (BPORT_START to BPORT_DONE) */
void bvcpu_run(struct bvcpu *v);

/* one machine-readable result line: {"row":..,"value":..,"unit":..,"kind":"time"|"rate",...};
 * kind says which way is better (time: lower, rate: higher) */
void emit(const char *row, double value, const char *unit, const char *kind, uint64_t n);
/* {"row":..,"skip":"reason"} */
void emit_skip(const char *row, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* benchmark families: iters is the iteration count (MiB for mem) */
int bench_timer(uint32_t iters);
int bench_ipi(uint32_t iters);
int bench_doorbell(uint32_t iters);
int bench_mem(uint32_t mib);
int bench_vmcreate(uint32_t iters);
int bench_smp(uint32_t iters);

#endif
