/* SPDX-License-Identifier: MIT */
/*
 * cused: serve the KVM API from userspace.
 *
 *   cused [--backend NAME] [--frontend auto|fuse|cuse] [--mount DIR]
 *         [--cuse-name NAME] [--dev PATH] [--group NAME] [--trace FILE]
 *         [--max-vms-per-uid N] [--max-vcpus-per-uid N]
 *         [--max-dirty-log-gib-per-uid N] [--debug] [--fuse-debug]
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cused/frontend/cuse_dev.h"
#include "cused/frontend/fuse_fs.h"
#include "cused/kvm/ctx.h"
#include "cused/kvm/handle.h"
#include "cused/shim_abi.h"
#include "cused/util/log.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: cused [options]\n"
		"  --backend NAME     kmod or hostkvm (default: the first that works here)\n"
		"  --frontend MODE    auto (CUSE if /dev/cuse exists, else FUSE), fuse, cuse\n"
		"  --mount DIR        FUSE mount point holding `kvm` (default " CUSED_DEFAULT_MOUNT ")\n"
		"  --cuse-name NAME   CUSE device name under /dev (default cused-kvm)\n"
		"  --dev PATH         also bind the device over PATH (use a private mount\n"
		"                     namespace for /dev/kvm; cused-run does that per client)\n"
		"  --group NAME       group that may open the device besides root (default kvm;\n"
		"                     if it does not exist, only root may)\n"
		"  --max-vms-per-uid N    live VMs one uid may hold (default %u)\n"
		"  --max-vcpus-per-uid N  live vCPUs one uid may hold (default %u)\n"
		"  --max-dirty-log-gib-per-uid N  GiB of guest memory in dirty-logging\n"
		"                     slots one uid may hold (default %llu)\n"
		"  --halt-poll-ns N   longest a halted vCPU spins before it sleeps, adaptive\n"
		"                     as KVM's halt_poll_ns; 0 = never (default %u)\n"
		"  --trace FILE       write every guest exit to FILE with its time\n"
		"  --debug            log every refused request and MSR access (no rate limit)\n"
		"  --fuse-debug       libfuse request trace\n",
		CUSED_DEFAULT_MAX_VMS_PER_UID, CUSED_DEFAULT_MAX_VCPUS_PER_UID,
		(unsigned long long)CUSED_DEFAULT_MAX_LOG_GIB_PER_UID, HALT_POLL_NS_DEFAULT);
}

/* a positive decimal count; 0 or -EINVAL */
static int parse_count(const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || !v || v > UINT_MAX || *s == '-')
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "backend", required_argument, NULL, 'b' },
		{ "frontend", required_argument, NULL, 'F' },
		{ "mount", required_argument, NULL, 'm' },
		{ "cuse-name", required_argument, NULL, 'n' },
		{ "dev", required_argument, NULL, 'D' },
		{ "group", required_argument, NULL, 'g' },
		{ "max-vms-per-uid", required_argument, NULL, 'V' },
		{ "max-vcpus-per-uid", required_argument, NULL, 'C' },
		{ "max-dirty-log-gib-per-uid", required_argument, NULL, 'L' },
		{ "trace", required_argument, NULL, 't' },
		{ "halt-poll-ns", required_argument, NULL, 'P' },
		{ "debug", no_argument, NULL, 'd' },
		{ "fuse-debug", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *backend = NULL, *frontend = "auto", *mount = CUSED_DEFAULT_MOUNT;
	const char *cuse_name = "cused-kvm", *bind_path = NULL, *why = NULL, *group = "kvm";
	const char *trace = NULL;
	struct cused_limits limits = { CUSED_DEFAULT_MAX_VMS_PER_UID,
				       CUSED_DEFAULT_MAX_VCPUS_PER_UID,
				       CUSED_DEFAULT_MAX_LOG_GIB_PER_UID << 18 };
	unsigned log_gib;
	long long halt_poll_ns = -1;
	struct group *gr;
	const struct tramp_ops *ops;
	struct cused_ctx ctx;
	FILE *trace_file = NULL;
	bool fuse_debug = false, use_cuse;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'b': backend = optarg; break;
		case 'F': frontend = optarg; break;
		case 'm': mount = optarg; break;
		case 'n': cuse_name = optarg; break;
		case 'D': bind_path = optarg; break;
		case 't': trace = optarg; break;
		case 'g': group = optarg; break;
		case 'V':
		case 'C':
			if (parse_count(optarg, c == 'V' ? &limits.max_vms_per_uid :
					&limits.max_vcpus_per_uid)) {
				usage(stderr);
				return 2;
			}
			break;
		case 'L':
			if (parse_count(optarg, &log_gib)) {
				usage(stderr);
				return 2;
			}
			limits.max_log_pages_per_uid = (uint64_t)log_gib << 18;
			break;
		case 'P':
			/* 0 is meaningful here: polling off */
			if (!strcmp(optarg, "0")) {
				halt_poll_ns = 0;
			} else {
				unsigned ns;

				if (parse_count(optarg, &ns)) {
					usage(stderr);
					return 2;
				}
				halt_poll_ns = ns;
			}
			break;
		case 'd': log_set_level(LOG_DEBUG); break;
		case 'f': fuse_debug = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (strcmp(frontend, "auto") && strcmp(frontend, "fuse") && strcmp(frontend, "cuse")) {
		usage(stderr);
		return 2;
	}

	ops = backend ? tramp_find(backend) : tramp_default(&why);
	if (!ops) {
		log_err(backend ? "unknown backend %s" : "no usable backend: %s",
			backend ? backend : why);
		return 1;
	}
	if (ops->probe && ops->probe(&why)) {
		log_err("backend %s cannot run here: %s", ops->name, why);
		return 1;
	}
	r = ctx_init(&ctx, ops);
	if (r) {
		log_err("backend %s failed to start: %s", ops->name, strerror(-r));
		return 1;
	}
	ctx.limits = limits;
	if (halt_poll_ns >= 0)
		ctx.halt_poll.max_ns = (uint32_t)halt_poll_ns;
	gr = getgrnam(group);
	if (gr)
		ctx.dev_gid = gr->gr_gid;
	else
		log_warn("group %s does not exist: only root may open the device "
			 "(scripts/install-deps.sh creates group kvm)", group);

	/* fully buffered: a line per exit must not cost a write(2) per exit */
	if (trace && !(trace_file = ctx.stats.trace = fopen(trace, "we"))) {
		log_err("--trace %s: %s", trace, strerror(errno));
		ctx_fini(&ctx);
		return 1;
	}
	use_cuse = !strcmp(frontend, "cuse") || (!strcmp(frontend, "auto") && cuse_available());
	if (use_cuse)
		r = cuse_dev_serve(&ctx, cuse_name, bind_path, fuse_debug);
	else
		r = fuse_fs_serve(&ctx, mount, bind_path, fuse_debug);
	handle_release_all(&ctx);
	ctx_fini(&ctx);
	if (trace_file)
		fclose(trace_file);
	return r ? 1 : 0;
}
