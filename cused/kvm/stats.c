/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cused/kvm/stats.h"
#include "cused/tramp/backend.h"

const char *const vcpu_stat_names[VS_NR] = {
	[VS_IO] = "io", [VS_MMIO] = "mmio", [VS_NPF] = "npf", [VS_RDMSR] = "rdmsr",
	[VS_WRMSR] = "wrmsr", [VS_CPUID] = "cpuid", [VS_HLT] = "hlt",
	[VS_IRQ_WINDOW] = "irq_window", [VS_KICKED] = "kicked", [VS_SHUTDOWN] = "shutdown",
	[VS_DEBUG] = "debug", [VS_INTERNAL] = "internal", [VS_FAIL_ENTRY] = "fail_entry",
	[VS_OTHER] = "other", [VS_EXITS] = "exits", [VS_IRQ_INJECTED] = "irq_injected",
	[VS_HALT_WAKEUP] = "halt_wakeup", [VS_SIGNAL] = "signal",
};

void stats_registry_init(struct stats_registry *reg, FILE *trace)
{
	memset(reg, 0, sizeof(*reg));
	pthread_mutex_init(&reg->lock, NULL);
	reg->next_vm_serial = 1;
	reg->trace = trace;
}

struct vcpu_stats *stats_alloc(void)
{
	struct vcpu_stats *s = calloc(1, sizeof(*s));

	if (s)
		atomic_init(&s->refs, 1);
	return s;
}

void stats_get(struct vcpu_stats *s)
{
	atomic_fetch_add(&s->refs, 1);
}

void stats_put(struct vcpu_stats *s)
{
	if (s && atomic_fetch_sub(&s->refs, 1) == 1)
		free(s);
}

void stats_register(struct stats_registry *reg, struct vcpu_stats *s, const void *vm,
		    uint32_t vcpu_id)
{
	struct vcpu_stats *o;

	s->reg = reg;
	s->vm = vm;
	s->vcpu_id = vcpu_id;
	pthread_mutex_lock(&reg->lock);
	for (o = reg->live; o; o = o->next)
		if (o->vm == vm)
			break;
	/* a VM is named while it has vCPUs; a new VM at a freed address is a new name */
	s->vm_serial = o ? o->vm_serial : reg->next_vm_serial++;
	s->next = reg->live;
	reg->live = s;
	pthread_mutex_unlock(&reg->lock);
}

void stats_unregister(struct vcpu_stats *s)
{
	struct stats_registry *reg = s->reg;
	struct vcpu_stats **pp;

	if (!reg)
		return;
	pthread_mutex_lock(&reg->lock);
	for (pp = &reg->live; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	for (int i = 0; i < VS_NR; i++)
		reg->dead[i] += atomic_load_explicit(&s->n[i], memory_order_relaxed);
	pthread_mutex_unlock(&reg->lock);
	s->reg = NULL;
}

static enum vcpu_stat stat_of(const struct tramp_exit *ex)
{
	switch (ex->reason) {
	case TX_IO: return VS_IO;
	case TX_MMIO: return VS_MMIO;
	case TX_NPF: return VS_NPF;
	case TX_RDMSR: return VS_RDMSR;
	case TX_WRMSR: return VS_WRMSR;
	case TX_CPUID: return VS_CPUID;
	case TX_HLT: return VS_HLT;
	case TX_IRQ_WINDOW: return VS_IRQ_WINDOW;
	case TX_KICKED: return VS_KICKED;
	case TX_SHUTDOWN: return VS_SHUTDOWN;
	case TX_DEBUG: return VS_DEBUG;
	case TX_INTERNAL: return VS_INTERNAL;
	case TX_FAIL_ENTRY: return VS_FAIL_ENTRY;
	default: return VS_OTHER;
	}
}

static void trace_exit(struct vcpu_stats *s, const struct tramp_exit *ex, enum vcpu_stat st)
{
	struct timespec ts;
	char what[64] = "";

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (ex->reason == TX_IO)
		snprintf(what, sizeof(what), " port %#x %s size %u count %u", ex->io.port,
			 ex->io.in ? "in" : "out", ex->io.size, ex->io.count);
	else if (ex->reason == TX_MMIO)
		snprintf(what, sizeof(what), " gpa %#" PRIx64 " %s len %u", ex->mmio.gpa,
			 ex->mmio.is_write ? "write" : "read", ex->mmio.len);
	else if (ex->reason == TX_NPF)
		snprintf(what, sizeof(what), " gpa %#" PRIx64, ex->npf.gpa);
	else if (ex->reason == TX_RDMSR || ex->reason == TX_WRMSR)
		snprintf(what, sizeof(what), " msr %#x", ex->msr.index);
	else if (ex->reason == TX_CPUID)
		snprintf(what, sizeof(what), " leaf %#x.%#x", ex->cpuid.function, ex->cpuid.index);
	/* one fprintf per line: stdio's lock keeps vCPU threads' lines whole */
	fprintf(s->reg->trace, "%lld.%09ld vm %u vcpu %u %s%s\n", (long long)ts.tv_sec,
		ts.tv_nsec, s->vm_serial, s->vcpu_id, vcpu_stat_names[st], what);
}

/* the runner is the only writer of exit counters: no locked add on the exit path */
static void bump(struct vcpu_stats *s, enum vcpu_stat which)
{
	atomic_store_explicit(&s->n[which],
			      atomic_load_explicit(&s->n[which], memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

void stats_exit(struct vcpu_stats *s, const struct tramp_exit *ex)
{
	enum vcpu_stat st = stat_of(ex);

	bump(s, st);
	bump(s, VS_EXITS);
	if (s->reg && s->reg->trace)
		trace_exit(s, ex, st);
}

static int put_counters(char *buf, size_t size, int n, const uint64_t *c)
{
	for (int i = 0; i < VS_NR; i++)
		n += snprintf(buf + (n < (int)size ? n : (int)size), n < (int)size ? size - n : 0,
			      " %s %" PRIu64, vcpu_stat_names[i], c[i]);
	n += snprintf(buf + (n < (int)size ? n : (int)size), n < (int)size ? size - n : 0, "\n");
	return n;
}

int stats_format(struct stats_registry *reg, char *buf, size_t size)
{
	uint64_t total[VS_NR], c[VS_NR];
	struct vcpu_stats *s;
	int n = 0;

	pthread_mutex_lock(&reg->lock);
	memcpy(total, reg->dead, sizeof(total));
	for (s = reg->live; s; s = s->next)
		for (int i = 0; i < VS_NR; i++)
			total[i] += atomic_load_explicit(&s->n[i], memory_order_relaxed);
	n += snprintf(buf, size, "exits");
	n = put_counters(buf, size, n, total);
	for (s = reg->live; s; s = s->next) {
		for (int i = 0; i < VS_NR; i++)
			c[i] = atomic_load_explicit(&s->n[i], memory_order_relaxed);
		n += snprintf(buf + (n < (int)size ? n : (int)size), n < (int)size ? size - n : 0,
			      "vcpu %u %u", s->vm_serial, s->vcpu_id);
		n = put_counters(buf, size, n, c);
	}
	pthread_mutex_unlock(&reg->lock);
	return n;
}
