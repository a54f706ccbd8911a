/* SPDX-License-Identifier: MIT */
/*
 * A scripted stand-in for a trampoline backend, shared by the unit tests
 * and the ioctl fuzzer: it records what the daemon asks of it and plays
 * guest exits from a script instead of entering a guest.  It keeps the
 * contract of a real backend (tramp/backend.h): every exit it reports is one
 * hardware could produce, so a daemon crash under it is a daemon bug.
 */
#ifndef CUSED_TESTS_FAKE_BACKEND_H
#define CUSED_TESTS_FAKE_BACKEND_H

#include <stdint.h>
#include "cused/tramp/backend.h"
#include "cused/shim_abi.h"

#define FAKE_NR_FIELDS 0x500

struct tramp_vcpu;

/*
 * Fill *ex with the next exit of vCPU v (ex is zeroed).  0 or -errno, like
 * tramp_ops.run.  The io.data buffer to use is v->io_buf (CUSED_PAGE_SIZE bytes).
 */
typedef int (*fake_exit_fn)(void *opaque, struct tramp_vcpu *v, struct tramp_exit *ex);

struct tramp_backend {
	fake_exit_fn next_exit;    /* NULL: the default script below */
	void *opaque;
};

struct tramp_vm {
	struct tramp_backend *be;
	int maps;                  /* live map() calls minus unmap() */
};

struct tramp_vcpu {
	struct tramp_backend *be;
	uint64_t fields[FAKE_NR_FIELDS];
	int script;                /* run() calls so far */
	int completes;             /* complete() calls so far */
	struct tramp_exit completed; /* the last exit complete() answered */
	int kicks;                 /* kick() calls so far */
	uint8_t io_buf[CUSED_PAGE_SIZE];
};

/*
 * Intel caps, 8 vCPUs, two host CPUID leaves (leaf 1 claims x2APIC).
 * Default script of run(): OUT 0xe9 'A', then a guest WRMSR 0x175 = 0x1234
 * (handled inside the daemon), then HLT forever.
 */
extern const struct tramp_ops fake_ops;

/* play exits from fn(opaque, ...) instead of the default script; fn NULL restores it */
void fake_backend_set_exits(struct tramp_backend *be, fake_exit_fn fn, void *opaque);

#endif
