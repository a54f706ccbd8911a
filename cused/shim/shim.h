/* SPDX-License-Identifier: MIT */
/*
 * libcused internals.  The shim only does what CUSE/FUSE cannot: hand out
 * new fds for VMs and vCPUs, map kvm_run from shared memory, make guest RAM
 * shareable, and ring the KVM_RUN doorbell.  Everything else is the daemon's.
 */
#ifndef CUSED_SHIM_H
#define CUSED_SHIM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "cused/shim_abi.h"
#include "cused/spin.h"

/* the libc functions we wrap, resolved with dlsym(RTLD_NEXT) */
struct shim_real {
	int (*open)(const char *, int, ...);
	int (*open64)(const char *, int, ...);
	int (*openat)(int, const char *, int, ...);
	int (*openat64)(int, const char *, int, ...);
	int (*open_2)(const char *, int);
	int (*open64_2)(const char *, int);
	int (*openat_2)(int, const char *, int);
	int (*openat64_2)(int, const char *, int);
	int (*ioctl)(int, unsigned long, ...);
	void *(*mmap)(void *, size_t, int, int, int, off_t);
	int (*madvise)(void *, size_t, int);
	int (*close)(int);
};
extern struct shim_real shim_real;
void shim_init(void);

extern int shim_debug;
#define TRACE(...) do { if (shim_debug) shim_trace(__VA_ARGS__); } while (0)
void shim_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* raw syscalls for the shim's own work: never re-enter the wrappers */
long sys_ioctl(int fd, unsigned long cmd, void *arg);  /* -1 + errno on failure */
int sys_close(int fd);
int sys_reopen(int fd);                                /* a fresh handle of fd's file */

/* ---- fdtab.c: which fds are cused fds */
enum cfd_kind { CFD_SYS = 1, CFD_VM, CFD_VCPU };

struct cfd {
	int fd;
	int kind;
	atomic_int refs;   /* one for the table, one per call in flight; 0: free */
	struct cfd *free_next; /* fdtab.c's free list */
	int memfd;         /* vCPU: the kvm_run memfd the client mmaps; VM: the
			    * coalesced ring memfd; else -1 */
	int ring_fd;       /* vCPU: its VM's ring memfd (a dup), mapped at page 2; else -1 */
	void *shared;      /* vCPU: the shim's own mapping of it (doorbell) */
	struct cused_spin spin; /* vCPU: adaptive spin while KVM_RUN is out */
	/* vCPU: KVM_RUN one thread at a time, as KVM's vcpu->mutex makes it */
	pthread_mutex_t run_lock;
	/* vCPU: KVM_SET_SIGNAL_MASK's set, bit sig-1 per signal; SHIM_SIGMASK_ACTIVE
	 * marks one as set.  One word, so a signal handler may set it lock-free. */
	_Atomic uint64_t sigmask;
};
/* SIGKILL's bit: KVM removes it from every mask, so it is free as a flag */
#define SHIM_SIGMASK_ACTIVE (1ULL << (9 - 1))

bool cfd_any(void);                       /* lock-free: are there cused fds at all? */
int cfd_add(int fd, int kind, int memfd, int ring_fd, void *shared);
struct cfd *cfd_get(int fd);              /* NULL if fd is not a cused fd */
void cfd_put(struct cfd *c);
bool cfd_drop(int fd);                    /* fd was closed; was it ours? */
bool cfd_is_device(int fd);               /* fstat matches the cused device */

/* ---- handlers: return the ioctl's result, or -1 with errno set */
int shim_create_vm(struct cfd *sys, unsigned long type);
int shim_create_vcpu(struct cfd *vm, unsigned long id);
int shim_run(struct cfd *vcpu);
int shim_set_signal_mask(struct cfd *vcpu, const struct kvm_signal_mask *arg);
int shim_set_memory(struct cfd *vm, void *arg);
int shim_get_stats_fd(struct cfd *vm_or_vcpu);   /* stats.c */

/*
 * memory.c: find (or make) a shareable fd backing [addr, addr+len).
 * On success *fd is the fd to pass (-1 if there is none: not mapped, or not
 * one backing) and *close_fd says whether the caller closes it afterwards.
 */
int shim_mem_backing(uint64_t addr, uint64_t len, int *fd, uint64_t *off, bool *close_fd);
/* memory.c: [addr, addr+len) was MADV_DONTNEED'd: zero what the shim re-backed there */
void shim_mem_discarded(uint64_t addr, uint64_t len);

#endif
