/* SPDX-License-Identifier: MIT */
/*
 * A stand-in for the cused daemon, for testing the shim alone: one FUSE file
 * "kvm" that speaks the shim protocol (shim_abi.h) with trivial semantics.
 * CREATE/BIND succeed; SET_MEMORY maps the client's fd and checks a marker
 * the test wrote (gpa ^ MARK at offset 0), then writes slot + 0x1000 at
 * offset 8 so the client can see the memory is shared; the doorbell thread
 * answers every KVM_RUN with KVM_EXIT_HLT, or, if the client set
 * request_interrupt_window, "runs" until kicked (KVM_EXIT_INTR, -EINTR).
 * FAKE_NO_DOORBELL=1 leaves the doorbell unset: KVM_RUN comes through FUSE.
 *
 *   test_fakedev -f MOUNTDIR
 */
#define FUSE_USE_VERSION 35
#include <errno.h>
#include <fuse.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>
#include "cused/dbwait.h"
#include "cused/shim_abi.h"

#define MARK 0x5a5a5a5aull

struct fh {
	void *run;
	pthread_t th;
	int stop, kicked, started;
	uint32_t seen0;    /* req_seq before the thread existed (as cused/kvm/doorbell.c) */
};

static uint64_t next_token = 0x1000;

static int fk_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	memset(st, 0, sizeof(*st));
	if (!strcmp(path, "/")) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		return 0;
	}
	if (strcmp(path, "/kvm"))
		return -ENOENT;
	st->st_mode = S_IFREG | 0666;
	st->st_nlink = 1;
	return 0;
}

static int fk_open(const char *path, struct fuse_file_info *fi)
{
	if (strcmp(path, "/kvm"))
		return -ENOENT;
	fi->direct_io = 1;
	fi->fh = (uintptr_t)calloc(1, sizeof(struct fh));
	return 0;
}

static int fk_release(const char *path, struct fuse_file_info *fi)
{
	struct fh *h = (void *)(uintptr_t)fi->fh;

	if (h->started) {
		__atomic_store_n(&h->stop, 1, __ATOMIC_SEQ_CST);
		pthread_join(h->th, NULL);
	}
	if (h->run)
		munmap(h->run, CUSED_VCPU_MMAP_SIZE);
	free(h);
	return 0;
}

static void *doorbell(void *arg)
{
	struct fh *h = arg;
	struct kvm_run *run = h->run;
	struct cused_doorbell *db = (void *)((char *)h->run + CUSED_RUN_DOORBELL_OFFSET);
	const struct timespec tmo = { 0, 100000000 };
	/* sampled before the thread started: a request made since is not lost */
	uint32_t seen = h->seen0, seq;

	for (;;) {
		while ((seq = __atomic_load_n(&db->req_seq, __ATOMIC_SEQ_CST)) == seen) {
			if (__atomic_load_n(&h->stop, __ATOMIC_SEQ_CST))
				return NULL;
			cused_db_sleep(&db->req_seq, seen, &db->daemon_waiting, &tmo);
		}
		seen = seq;
		while (run->request_interrupt_window && !run->immediate_exit &&
		       !__atomic_load_n(&h->kicked, __ATOMIC_SEQ_CST) &&
		       !__atomic_load_n(&h->stop, __ATOMIC_SEQ_CST))
			usleep(1000);
		if (__atomic_exchange_n(&h->kicked, 0, __ATOMIC_SEQ_CST) || run->immediate_exit) {
			run->exit_reason = KVM_EXIT_INTR;
			db->result = -EINTR;
		} else {
			run->exit_reason = KVM_EXIT_HLT;
			db->result = 0;
		}
		cused_db_post(&db->done_seq, seq, &db->client_waiting);
	}
}

/*
 * Map the client's fd the way the daemon does (cused/kvm/clientfd.c): take
 * the caller's own open file description with pidfd_getfd(), never re-open
 * it by path.  FUSE names the calling thread; pidfd_open() wants its process.
 */
static void *map_client(int fd, uint64_t off, uint64_t size)
{
	char path[64], line[128];
	int tgid = -1, pidfd, f;
	FILE *st;
	void *p;

	snprintf(path, sizeof(path), "/proc/%d/status", fuse_get_context()->pid);
	st = fopen(path, "re");
	if (!st)
		return MAP_FAILED;
	while (fgets(line, sizeof(line), st) && sscanf(line, "Tgid: %d", &tgid) != 1)
		;
	fclose(st);
	pidfd = syscall(SYS_pidfd_open, tgid, 0);
	if (pidfd < 0)
		return MAP_FAILED;
	f = syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	close(pidfd);
	if (f < 0)
		return MAP_FAILED;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, f, off);
	close(f);
	return p;
}

static int bind(struct fh *h, const struct cused_bind *b)
{
	struct cused_doorbell *db;

	if (b->kind != CUSED_BIND_VM && b->kind != CUSED_BIND_VCPU)
		return -EINVAL;
	if (b->kind == CUSED_BIND_VM)
		return 0;
	h->run = map_client(b->run_fd, 0, CUSED_VCPU_MMAP_SIZE);
	if (h->run == MAP_FAILED) {
		h->run = NULL;
		return -EBADF;
	}
	if (getenv("FAKE_NO_DOORBELL"))
		return 0;
	db = (void *)((char *)h->run + CUSED_RUN_DOORBELL_OFFSET);
	h->seen0 = __atomic_load_n(&db->req_seq, __ATOMIC_ACQUIRE);
	if (pthread_create(&h->th, NULL, doorbell, h))
		return -EAGAIN;
	h->started = 1;
	__atomic_store_n(&db->magic, CUSED_DOORBELL_MAGIC, __ATOMIC_RELEASE);
	return 0;
}

static int set_memory(const struct cused_mem_region *mr)
{
	uint64_t *p;
	int ok;

	if (!mr->region.memory_size)
		return 0;
	if (mr->fd < 0)
		return -EFAULT;
	p = map_client(mr->fd, mr->fd_offset, mr->region.memory_size);
	if (p == MAP_FAILED)
		return -EBADF;
	ok = p[0] == (mr->region.guest_phys_addr ^ MARK);
	if (ok)
		p[1] = mr->region.slot + 0x1000;
	munmap(p, mr->region.memory_size);
	return ok ? 0 : -EBADMSG;
}

static int fk_ioctl(const char *path, unsigned int cmd, void *arg, struct fuse_file_info *fi,
		    unsigned int flags, void *data)
{
	struct fh *h = (void *)(uintptr_t)fi->fh;

	switch (cmd) {
	case CUSED_IOC_VERSION:
		return CUSED_SHIM_VERSION;
	case KVM_GET_API_VERSION:
		return KVM_API_VERSION;
	case KVM_GET_VCPU_MMAP_SIZE:
		return CUSED_VCPU_MMAP_SIZE;
	case CUSED_IOC_CREATE:
		((struct cused_create *)data)->token = __atomic_add_fetch(&next_token, 1, __ATOMIC_SEQ_CST);
		return 0;
	case CUSED_IOC_BIND:
		return bind(h, data);
	case CUSED_IOC_SET_MEMORY:
		return set_memory(data);
	case CUSED_IOC_KICK:
		__atomic_store_n(&h->kicked, 1, __ATOMIC_SEQ_CST);
		return 0;
	case KVM_RUN:       /* without the doorbell */
		if (!h->run)
			return -ENOEXEC;
		((struct kvm_run *)h->run)->exit_reason = KVM_EXIT_HLT;
		return 0;
	}
	return -ENOTTY;
}

static const struct fuse_operations ops = {
	.getattr = fk_getattr,
	.open = fk_open,
	.release = fk_release,
	.ioctl = fk_ioctl,
};

int main(int argc, char **argv)
{
	return fuse_main(argc, argv, &ops, NULL);
}
