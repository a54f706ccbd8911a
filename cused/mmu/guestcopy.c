/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include "cused/mmu/guestcopy.h"

/* where a SIGBUS in this thread's guest_copy resumes; NULL outside one */
static __thread sigjmp_buf *volatile recover;
static pthread_once_t installed = PTHREAD_ONCE_INIT;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	sigjmp_buf *j = recover;
	struct sigaction dfl = { .sa_handler = SIG_DFL };

	(void)si;
	(void)uc;
	if (j) {
		recover = NULL;
		siglongjmp(*j, 1);
	}
	/* not a guest copy: a real bug, die as without us (the access faults again) */
	sigaction(sig, &dfl, NULL);
}

static void install(void)
{
	struct sigaction sa = { .sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
}

int guest_copy(void *dst, const void *src, size_t len)
{
	sigjmp_buf j;

	pthread_once(&installed, install);
	/* savemask: the handler runs with SIGBUS blocked; unblock it on the way out */
	if (sigsetjmp(j, 1)) {
		recover = NULL;
		return -EFAULT;
	}
	recover = &j;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	memcpy(dst, src, len);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	recover = NULL;
	return 0;
}
