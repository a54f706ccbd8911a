/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness over the daemon's ioctl entry point, handle_ioctl(),
 * exactly as the frontend (cused/frontend/bridge.c) calls it: the fixed part
 * of an ioctl copied in and out, variable tails read and written through a
 * struct client_mem.  Every byte the daemon sees comes from the fuzz input —
 * as from a hostile client — while the backend below it is the scripted fake
 * of the unit tests (tests/unit/fake_backend.c), whose guest exits are also
 * drawn from the input (but are always exits a real backend could report).
 *
 * Input: a sequence of operations (see enum op), each an opcode byte and its
 * operands; an exhausted input reads as zeros and ends the sequence.  Client
 * memory is one CMEM_SIZE buffer at the fake address CMEM_BASE; every other
 * address faults.  Fds that CUSED_IOC_BIND / CUSED_IOC_SET_MEMORY name are
 * replaced by one of the harness's own fds (struct fdtab), never a raw
 * number: the daemon opens /proc/<pid>/fd/<n> and maps it read-write, which
 * must not reach libFuzzer's own files.
 *
 * After each input every handle is released and no VM or vCPU may remain.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kvm.h>
#include "cused/kvm/ctx.h"
#include "cused/kvm/handle.h"
#include "cused/shim_abi.h"
#include "cused/util/log.h"
#include "fake_backend.h"

#define MAX_HANDLES 16
#define MAX_TOKENS 16
#define MAX_OPS 256
#define CMEM_BASE 0x00007f5500000000ull
#define CMEM_SIZE (64u << 10)
#define GUEST_SIZE (256u << 10)
#define NONEXISTENT_PID (INT_MAX - 1)

/* operation codes: the first byte of each operation, modulo OP_NR */
enum op {
	OP_OPEN,        /* a fresh system handle (an open of the device) */
	OP_CLOSE,       /* u8 handle */
	OP_NEW_VM,      /* u8 handle, u8 type: CREATE there, BIND a fresh handle */
	OP_NEW_VCPU,    /* u8 handle, u16 id, u8 run fd: CREATE there, BIND a fresh handle */
	OP_CREATE,      /* u8 handle, u64 arg: CUSED_IOC_CREATE, token remembered */
	OP_BIND,        /* u8 handle, u8 token (or raw u64), u8 kind, u8 run fd */
	OP_SET_MEMORY,  /* u8 handle, region in small units, u8 fd, u8 offset */
	OP_USER_MEMORY, /* as OP_SET_MEMORY (fd, offset unused): KVM_SET_USER_MEMORY_REGION */
	OP_IOCTL,       /* u8 handle, u8 known cmd, ioctl body */
	OP_IOCTL_RAW,   /* u8 handle, u32 cmd, ioctl body */
	OP_KICK,        /* u8 handle, u32 seq */
	OP_RUN,         /* u8 handle: KVM_RUN */
	OP_NR
};

/* every ioctl the daemon knows or KVM has on x86, plus the shim's */
static const unsigned known_cmds[] = {
	KVM_GET_API_VERSION, KVM_CREATE_VM, KVM_GET_MSR_INDEX_LIST, KVM_CHECK_EXTENSION,
	KVM_GET_VCPU_MMAP_SIZE, KVM_GET_SUPPORTED_CPUID, KVM_GET_EMULATED_CPUID,
	KVM_GET_MSR_FEATURE_INDEX_LIST, KVM_GET_MSRS, KVM_SET_MSRS, KVM_CREATE_VCPU,
	KVM_GET_DIRTY_LOG, KVM_CLEAR_DIRTY_LOG, KVM_SET_USER_MEMORY_REGION, KVM_SET_TSS_ADDR,
	KVM_SET_IDENTITY_MAP_ADDR, KVM_CREATE_IRQCHIP, KVM_IRQ_LINE, KVM_IRQ_LINE_STATUS,
	KVM_GET_IRQCHIP, KVM_SET_IRQCHIP, KVM_CREATE_PIT2, KVM_GET_PIT2, KVM_SET_PIT2,
	KVM_SET_GSI_ROUTING, KVM_IRQFD, KVM_IOEVENTFD, KVM_ENABLE_CAP, KVM_SET_CLOCK,
	KVM_GET_CLOCK, KVM_REGISTER_COALESCED_MMIO, KVM_UNREGISTER_COALESCED_MMIO,
	KVM_SIGNAL_MSI, KVM_SET_BOOT_CPU_ID, KVM_RUN, KVM_GET_REGS, KVM_SET_REGS,
	KVM_GET_SREGS, KVM_SET_SREGS, KVM_TRANSLATE, KVM_INTERRUPT, KVM_NMI, KVM_SET_CPUID,
	KVM_SET_CPUID2, KVM_GET_CPUID2, KVM_SET_SIGNAL_MASK, KVM_GET_FPU, KVM_SET_FPU,
	KVM_GET_LAPIC, KVM_SET_LAPIC, KVM_GET_MP_STATE, KVM_SET_MP_STATE, KVM_SET_GUEST_DEBUG,
	KVM_X86_SETUP_MCE, KVM_X86_SET_MCE, KVM_GET_VCPU_EVENTS, KVM_SET_VCPU_EVENTS,
	KVM_GET_DEBUGREGS, KVM_SET_DEBUGREGS, KVM_GET_XSAVE, KVM_SET_XSAVE, KVM_GET_XCRS,
	KVM_SET_XCRS, KVM_KVMCLOCK_CTRL, KVM_SET_TSC_KHZ, KVM_GET_TSC_KHZ, KVM_SMI,
	KVM_GET_NESTED_STATE, KVM_SET_NESTED_STATE, KVM_X86_SET_MSR_FILTER,
	KVM_SET_PMU_EVENT_FILTER, KVM_GET_XSAVE2, KVM_GET_SUPPORTED_HV_CPUID,
	CUSED_IOC_CREATE, CUSED_IOC_BIND, CUSED_IOC_SET_MEMORY, CUSED_IOC_KICK,
	CUSED_IOC_VERSION,
	/* appended, so older corpus entries keep their meaning */
	KVM_GET_STATS_FD, CUSED_IOC_STATS_FD,
};
#define NR_KNOWN (sizeof(known_cmds) / sizeof(known_cmds[0]))

/* MSRs the daemon's table knows (and a few it must refuse) for guest RDMSR/WRMSR */
static const uint32_t msr_pool[] = {
	0x10, 0x1b, 0x3a, 0x174, 0x175, 0x176, 0x1a0, 0x277, 0x2ff, 0xc0000080,
	0xc0000081, 0xc0000082, 0xc0000084, 0xc0000100, 0xc0000101, 0xc0000102,
	0x4b564d00, 0x4b564dff, 0x40000000, 0x800, 0x830,
};

/* the fds an fd field may name: the harness's own, never a raw number */
enum { FD_NONE, FD_GUEST, FD_RUN, FD_SMALL, FD_GUEST_RO, FD_PIPE, FD_CLOSED, FD_NR };

struct harness {
	struct cused_ctx ctx;
	struct cused_handle *h[MAX_HANDLES];
	unsigned nh;
	uint64_t tokens[MAX_TOKENS];  /* the last tokens CUSED_IOC_CREATE handed out */
	unsigned nt, tok_next;
	int fds[FD_NR];
	uint8_t *cmem;
	struct client_mem mem;
	const uint8_t *in;   /* the rest of the fuzz input */
	size_t left;
	pthread_t main;      /* the only thread that may read the input */
};

/* ---- reading the input: exhausted reads as zeros ---- */
static void take(struct harness *hs, void *dst, size_t len)
{
	size_t n = len < hs->left ? len : hs->left;

	memcpy(dst, hs->in, n);
	memset((uint8_t *)dst + n, 0, len - n);
	hs->in += n;
	hs->left -= n;
}

static uint8_t u8(struct harness *hs) { uint8_t v; take(hs, &v, 1); return v; }
static uint16_t u16(struct harness *hs) { uint16_t v; take(hs, &v, 2); return v; }
static uint32_t u32(struct harness *hs) { uint32_t v; take(hs, &v, 4); return v; }
static uint64_t u64(struct harness *hs) { uint64_t v; take(hs, &v, 8); return v; }

/* a page-granular value most of the time, an arbitrary one sometimes */
static uint64_t pages(struct harness *hs)
{
	uint8_t b = u8(hs);

	return b == 0xff ? u64(hs) : (uint64_t)b << 12;
}

static int pick_fd(struct harness *hs)
{
	return hs->fds[u8(hs) % FD_NR];
}

/* ---- client memory: [CMEM_BASE, +CMEM_SIZE) exists, everything else faults ---- */
static uint8_t *cmem_at(struct harness *hs, uint64_t uaddr, size_t len)
{
	uint64_t off = uaddr - CMEM_BASE;

	if (uaddr < CMEM_BASE || off > CMEM_SIZE || len > CMEM_SIZE - off)
		return NULL;
	return hs->cmem + off;
}

static int cm_read(void *c, uint64_t uaddr, void *buf, size_t len)
{
	uint8_t *p = cmem_at(c, uaddr, len);

	if (!p)
		return -EFAULT;
	memcpy(buf, p, len);
	return 0;
}

static int cm_write(void *c, uint64_t uaddr, const void *buf, size_t len)
{
	uint8_t *p = cmem_at(c, uaddr, len);

	if (!p)
		return -EFAULT;
	memcpy(p, buf, len);
	return 0;
}

/* ---- guest exits from the input, within what a real backend reports ---- */
static int fuzz_exit(void *opaque, struct tramp_vcpu *v, struct tramp_exit *ex)
{
	static const enum tramp_exit_reason reasons[] = {
		TX_HLT, TX_IO, TX_MMIO, TX_SHUTDOWN, TX_FAIL_ENTRY, TX_INTERNAL, TX_DEBUG,
		TX_RDMSR, TX_WRMSR, TX_KICKED, TX_IRQ_WINDOW, TX_NPF, TX_CPUID, TX_NONE,
	};
	static const uint8_t io_sizes[] = { 1, 2, 4 };
	struct harness *hs = opaque;
	uint8_t b;

	/*
	 * A doorbell runner thread enters only if something rang the doorbell
	 * (say guest RAM laid over the run memfd); it must not race the
	 * main thread for input, and the run ends when the input does.
	 */
	if (!hs->left || !pthread_equal(pthread_self(), hs->main)) {
		ex->reason = TX_HLT;
		return 0;
	}
	b = u8(hs);
	ex->reason = reasons[b % (sizeof(reasons) / sizeof(reasons[0]))];
	if (b & 0x80) {
		ex->if_flag = b & 0x40;
		ex->irq_ready = b & 0x20;
		ex->cr8 = u8(hs) & 0xf;
		ex->apic_base = u64(hs);
	}
	switch (ex->reason) {
	case TX_IO:
		ex->io.port = u16(hs);
		b = u8(hs);
		ex->io.size = io_sizes[b % 3];
		ex->io.in = (b >> 2) & 1;
		ex->io.count = (b & 0x80) ? u16(hs) : 1 + ((b >> 3) & 0xf);
		take(hs, v->io_buf, (b & 0x40) ? 8 : 0);
		ex->io.data = v->io_buf;
		break;
	case TX_MMIO:
		ex->mmio.gpa = pages(hs) | (u8(hs) & 0xfff);
		b = u8(hs);
		ex->mmio.len = 1 + (b & 7);
		ex->mmio.is_write = b >> 7;
		take(hs, ex->mmio.data, sizeof(ex->mmio.data));
		break;
	case TX_FAIL_ENTRY:
		ex->fail_entry.hw_reason = u64(hs);
		ex->fail_entry.cpu = u8(hs);
		break;
	case TX_INTERNAL:
		ex->internal.suberror = u8(hs);
		ex->internal.ndata = u8(hs) % 17;
		take(hs, ex->internal.data, ex->internal.ndata * sizeof(uint64_t));
		break;
	case TX_DEBUG:
		take(hs, &ex->debug, sizeof(ex->debug));
		break;
	case TX_RDMSR:
	case TX_WRMSR:
		b = u8(hs);
		ex->msr.index = b == 0xff ? u32(hs) : msr_pool[b % (sizeof(msr_pool) / sizeof(msr_pool[0]))];
		ex->msr.data = u64(hs);
		break;
	case TX_NPF:
		ex->npf.gpa = pages(hs) | (u8(hs) & 0xfff);
		b = u8(hs);
		ex->npf.write = b & 1;
		ex->npf.insn_len = (b >> 1) % 16;
		take(hs, ex->npf.insn, ex->npf.insn_len);
		break;
	case TX_CPUID:
		ex->cpuid.function = (u8(hs) & 0x80) ? 0x80000000u | u8(hs) : u8(hs);
		ex->cpuid.index = u8(hs);
		break;
	default:
		break;
	}
	return 0;
}

/* ---- issuing ioctls the way cused/frontend/bridge.c does ---- */
static void remember_token(struct harness *hs, uint64_t token)
{
	hs->tokens[hs->tok_next++ % MAX_TOKENS] = token;
	if (hs->nt < MAX_TOKENS)
		hs->nt++;
}

/*
 * fixed: the _IOC_SIZE(cmd) bytes the kernel copied in (for _IOW/_IOWR);
 * out_short: the caller's buffer is smaller than the ioctl number says
 */
/*
 * A KVM_RUN may legitimately block (a vCPU halted in the daemon with no
 * interrupt coming, as KVM would): the caller's signal ends it, which FUSE
 * turns into an INTERRUPT.  The watchdog plays that signal after a while,
 * so the harness also drives the interrupt path.
 */
struct watchdog {
	pthread_mutex_t m;
	pthread_cond_t cv;
	bool done;
	struct cused_handle *h;
	struct ioctl_req *rq;
};

static void *watchdog_main(void *arg)
{
	struct watchdog *w = arg;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 20 * 1000 * 1000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&w->m);
	while (!w->done && pthread_cond_timedwait(&w->cv, &w->m, &ts) == 0)
		;
	if (!w->done)
		handle_interrupt(w->h, w->rq);
	pthread_mutex_unlock(&w->m);
	return NULL;
}

static long run_watched(struct cused_handle *h, struct ioctl_req *rq)
{
	struct watchdog w = { .h = h, .rq = rq };
	pthread_t t;
	long r;

	pthread_mutex_init(&w.m, NULL);
	pthread_cond_init(&w.cv, NULL);
	if (pthread_create(&t, NULL, watchdog_main, &w))
		return handle_ioctl(h, rq);
	r = handle_ioctl(h, rq);
	pthread_mutex_lock(&w.m);
	w.done = true;
	pthread_cond_signal(&w.cv);
	pthread_mutex_unlock(&w.m);
	pthread_join(t, NULL);
	pthread_cond_destroy(&w.cv);
	pthread_mutex_destroy(&w.m);
	return r;
}

static long issue(struct harness *hs, struct cused_handle *h, unsigned cmd, uint64_t arg,
		  const void *fixed, size_t out_short, pid_t pid)
{
	size_t size = _IOC_SIZE(cmd);
	unsigned dir = _IOC_DIR(cmd);
	struct ioctl_req rq = { .cmd = cmd, .arg = arg, .pid = pid, .mem = &hs->mem };
	void *in = NULL, *out = NULL;
	uint8_t *at;
	long r;

	/* exact-size copies, so that ASan sees any overrun of the fixed part */
	if (dir & _IOC_WRITE) {
		in = malloc(size ? size : 1);
		memcpy(in, fixed, size);
		rq.in = in;
		rq.in_len = size;
	}
	if (dir & _IOC_READ) {
		out = calloc(1, size ? size : 1);
		if (dir & _IOC_WRITE)
			memcpy(out, fixed, size);
		rq.out = out;
		rq.out_len = out_short && out_short < size ? out_short : size;
	}
	r = cmd == KVM_RUN ? run_watched(h, &rq) : handle_ioctl(h, &rq);
	if (r >= 0 && out && (at = cmem_at(hs, arg, rq.out_len)))
		memcpy(at, out, rq.out_len);
	if (r == 0 && (cmd == CUSED_IOC_CREATE || cmd == CUSED_IOC_STATS_FD) &&
	    rq.out_len >= sizeof(struct cused_create))
		remember_token(hs, ((struct cused_create *)out)->token);
	free(in);
	free(out);
	return r;
}

static struct cused_handle *pick(struct harness *hs)
{
	uint8_t i = u8(hs);

	return hs->nh ? hs->h[i % hs->nh] : NULL;
}

static struct cused_handle *open_handle(struct harness *hs)
{
	struct cused_handle *h;

	if (hs->nh == MAX_HANDLES)
		return NULL;
	h = handle_open(&hs->ctx);
	if (h)
		hs->h[hs->nh++] = h;
	return h;
}

/* an fd-carrying argument names one of our fds (see the header comment) */
static void sanitize_fds(struct harness *hs, unsigned cmd, void *fixed)
{
	if (cmd == CUSED_IOC_BIND) {
		struct cused_bind *b = fixed;

		b->run_fd = hs->fds[(uint32_t)b->run_fd % FD_NR];
	} else if (cmd == CUSED_IOC_SET_MEMORY) {
		struct cused_mem_region *m = fixed;

		m->fd = hs->fds[(uint32_t)m->fd % FD_NR];
	}
}

/*
 * Body of a generic ioctl: u8 mode, the argument, the fixed part, a tail.
 * mode bits 0-1: arg = CMEM_BASE / CMEM_BASE + u16 / raw u64 / small u8;
 * bit 2: short output buffer (u16); bit 3: point embedded pointers (dirty
 * bitmap) into client memory; bit 4: a caller pid that does not exist.
 */
static void op_ioctl(struct harness *hs, struct cused_handle *h, unsigned cmd)
{
	uint8_t mode = u8(hs);
	size_t size = _IOC_SIZE(cmd), out_short = 0, tail;
	uint64_t arg;
	uint8_t *fixed, *at;

	switch (mode & 3) {
	case 0: arg = CMEM_BASE; break;
	case 1: arg = CMEM_BASE + u16(hs); break;
	case 2: arg = u64(hs); break;
	default: arg = u8(hs); break;
	}
	if (mode & 4)
		out_short = u16(hs) % (size + 1);
	fixed = calloc(1, size + 1);
	take(hs, fixed, size);
	if ((mode & 8) && (cmd == KVM_GET_DIRTY_LOG || cmd == KVM_CLEAR_DIRTY_LOG) &&
	    size >= 16) {
		uint64_t p = CMEM_BASE + (u16(hs) & (CMEM_SIZE - 1));

		memcpy(fixed + 8, &p, sizeof(p));
	}
	sanitize_fds(hs, cmd, fixed);
	/* the client's memory at arg holds the fixed part, then a tail */
	tail = u16(hs) % CMEM_SIZE;
	if ((at = cmem_at(hs, arg, size))) {
		memcpy(at, fixed, size);
		at += size;
		tail = tail < (size_t)(hs->cmem + CMEM_SIZE - at) ? tail :
		       (size_t)(hs->cmem + CMEM_SIZE - at);
		take(hs, at, tail);
	}
	issue(hs, h, cmd, arg, fixed, out_short, (mode & 0x10) ? NONEXISTENT_PID : getpid());
	free(fixed);
}

/* CREATE on h, then BIND a fresh handle to the token (what libcused does) */
static void new_object(struct harness *hs, struct cused_handle *h, uint64_t arg, int kind,
		       int run_fd)
{
	struct cused_create cr = { .arg = arg };
	struct cused_bind b = { .kind = kind, .run_fd = run_fd };
	struct cused_handle *nh;

	if (issue(hs, h, CUSED_IOC_CREATE, CMEM_BASE, &cr, 0, getpid()))
		return;
	b.token = hs->tokens[(hs->tok_next - 1) % MAX_TOKENS];
	nh = open_handle(hs);
	if (nh)
		issue(hs, nh, CUSED_IOC_BIND, CMEM_BASE, &b, 0, getpid());
}

static void op_memory(struct harness *hs, struct cused_handle *h, bool shim)
{
	struct cused_mem_region m = { 0 };
	uint8_t b = u8(hs);

	m.region.slot = (b & 0x80) ? u32(hs) : (b & 0xf);
	m.region.flags = (b & 0x40) ? u32(hs) : ((b >> 4) & 3);
	m.region.guest_phys_addr = pages(hs);
	m.region.memory_size = pages(hs);
	m.region.userspace_addr = CMEM_BASE + pages(hs);
	m.fd = pick_fd(hs);
	m.fd_offset = pages(hs);
	if (shim)
		issue(hs, h, CUSED_IOC_SET_MEMORY, CMEM_BASE, &m, 0, getpid());
	else
		issue(hs, h, KVM_SET_USER_MEMORY_REGION, CMEM_BASE, &m.region, 0, getpid());
}

static void release_all(struct harness *hs)
{
	unsigned vms, vcpus;

	/* any order: a vCPU holds its VM, as a vCPU fd does in KVM */
	for (unsigned i = 0; i < hs->nh; i++)
		handle_release(hs->h[i]);
	hs->nh = 0;
	hs->nt = hs->tok_next = 0;
	ctx_status(&hs->ctx, &vms, &vcpus);
	if (ctx_nr_stats(&hs->ctx)) {
		fprintf(stderr, "fuzz_ioctl: %u stats objects outlive every handle\n",
			ctx_nr_stats(&hs->ctx));
		abort();
	}
	if (vms || vcpus) {
		fprintf(stderr, "fuzz_ioctl: %u VMs and %u vCPUs outlive every handle\n", vms, vcpus);
		abort();
	}
}

static void run_ops(struct harness *hs)
{
	struct cused_handle *h;

	for (int n = 0; n < MAX_OPS && hs->left; n++) {
		uint8_t op = u8(hs) % OP_NR;

		if (op == OP_OPEN) {
			open_handle(hs);
			continue;
		}
		if (!(h = pick(hs)))
			continue;
		switch (op) {
		case OP_CLOSE: {
			unsigned i;

			for (i = 0; hs->h[i] != h; i++)
				;
			handle_release(h);
			hs->h[i] = hs->h[--hs->nh];
			break;
		}
		case OP_NEW_VM:
			new_object(hs, h, u8(hs) % 3 == 2 ? 1 : 0, CUSED_BIND_VM, -1);
			break;
		case OP_NEW_VCPU: {
			uint16_t id = u16(hs);

			new_object(hs, h, id & 0x1fff, CUSED_BIND_VCPU, pick_fd(hs));
			break;
		}
		case OP_CREATE: {
			struct cused_create cr = { .arg = u64(hs) };

			issue(hs, h, CUSED_IOC_CREATE, CMEM_BASE, &cr, 0, getpid());
			break;
		}
		case OP_BIND: {
			uint8_t t = u8(hs), k = u8(hs);
			struct cused_bind b = {
				.token = (t & 0x80) || !hs->nt ? u64(hs) : hs->tokens[t % hs->nt],
				.kind = k >= 0xf0 ? k : (k & 0x20) ? CUSED_BIND_STATS : 1 + (k & 1),
				.run_fd = pick_fd(hs),
			};

			issue(hs, h, CUSED_IOC_BIND, CMEM_BASE, &b, 0,
			      (k & 0x40) ? NONEXISTENT_PID : getpid());
			break;
		}
		case OP_SET_MEMORY:
			op_memory(hs, h, true);
			break;
		case OP_USER_MEMORY:
			op_memory(hs, h, false);
			break;
		case OP_IOCTL:
			op_ioctl(hs, h, known_cmds[u8(hs) % NR_KNOWN]);
			break;
		case OP_IOCTL_RAW:
			op_ioctl(hs, h, u32(hs));
			break;
		case OP_KICK:
			issue(hs, h, CUSED_IOC_KICK, u32(hs), NULL, 0, getpid());
			break;
		case OP_RUN:
			issue(hs, h, KVM_RUN, 0, NULL, 0, getpid());
			break;
		}
	}
}

static int memfd(const char *name, off_t size)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, size)) {
		perror("fuzz_ioctl: memfd");
		abort();
	}
	return fd;
}

static struct harness *harness_get(void)
{
	static struct harness *hs;
	char path[64];
	int p[2];

	if (hs)
		return hs;
	hs = calloc(1, sizeof(*hs));
	hs->cmem = calloc(1, CMEM_SIZE);
	hs->mem = (struct client_mem){ cm_read, cm_write, hs };
	if (!getenv("FUZZ_LOG"))
		log_set_level(LOG_ERR);
	if (ctx_init(&hs->ctx, &fake_ops)) {
		fprintf(stderr, "fuzz_ioctl: ctx_init failed\n");
		abort();
	}
	fake_backend_set_exits(hs->ctx.be, fuzz_exit, hs);
	hs->ctx.stats_reads = true;   /* as the FUSE frontend */
	hs->fds[FD_NONE] = -1;
	hs->fds[FD_GUEST] = memfd("guest", GUEST_SIZE);
	hs->fds[FD_RUN] = memfd("run", CUSED_VCPU_MMAP_SIZE);
	hs->fds[FD_SMALL] = memfd("small", CUSED_PAGE_SIZE);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", hs->fds[FD_GUEST]);
	hs->fds[FD_GUEST_RO] = open(path, O_RDONLY | O_CLOEXEC);
	if (hs->fds[FD_GUEST_RO] < 0 || pipe2(p, O_CLOEXEC)) {
		perror("fuzz_ioctl: fds");
		abort();
	}
	hs->fds[FD_PIPE] = p[0];
	hs->fds[FD_CLOSED] = 1 << 20;   /* above any RLIMIT_NOFILE here */
	return hs;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct harness *hs = harness_get();

	hs->in = data;
	hs->left = size;
	hs->main = pthread_self();
	/* the same input must behave the same: fresh guest RAM and client memory */
	memset(hs->cmem, 0, CMEM_SIZE);
	if (ftruncate(hs->fds[FD_GUEST], 0) || ftruncate(hs->fds[FD_GUEST], GUEST_SIZE) ||
	    ftruncate(hs->fds[FD_RUN], 0) || ftruncate(hs->fds[FD_RUN], CUSED_VCPU_MMAP_SIZE))
		abort();
	run_ops(hs);
	release_all(hs);
	return 0;
}
