/* SPDX-License-Identifier: MIT */
/*
 * hostkvm backend: the ops table, and the backend-wide part (open the host
 * device once, probe it, report its capabilities and CPUID).
 */
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "cused/tramp/hostkvm.h"
#include "cused/util/log.h"

static const char *host_path(void)
{
	const char *p = getenv(HOSTKVM_PATH_ENV);

	return p && *p ? p : HOSTKVM_DEFAULT_PATH;
}

/* open the host device and insist on the one API version we speak */
static int open_host(const char **why)
{
	int fd = open(host_path(), O_RDWR | O_CLOEXEC);
	int v;

	if (fd < 0) {
		int e = -errno;

		*why = e == -ENOENT ? "host KVM device does not exist" :
		       e == -EACCES || e == -EPERM ? "host KVM device is not accessible" :
		       "host KVM device cannot be opened";
		return e;
	}
	v = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (v != HOSTKVM_API_VERSION) {
		close(fd);
		*why = "host KVM device does not speak KVM API version 12";
		return -ENOTTY;
	}
	return fd;
}

static int hostkvm_probe(const char **why)
{
	const char *dummy;
	int fd = open_host(why ? why : &dummy);

	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

static uint32_t host_vendor(void)
{
	unsigned a, b, c, d;

	if (!__get_cpuid(0, &a, &b, &c, &d))
		return 0;
	/* "GenuineIntel" / "AuthenticAMD" (and Hygon, which is SVM) in EBX */
	if (b == 0x756e6547)
		return CUSED_VENDOR_INTEL;
	if (b == 0x68747541 || b == 0x6f677948)
		return CUSED_VENDOR_AMD;
	return 0;
}

static int check_ext(int fd, long cap)
{
	int r = ioctl(fd, KVM_CHECK_EXTENSION, cap);

	return r < 0 ? 0 : r;
}

static int hostkvm_init(struct tramp_backend **out)
{
	struct tramp_backend *be;
	const char *why = NULL;
	int fd, r;

	fd = open_host(&why);
	if (fd < 0)
		return refuse(fd, "hostkvm: %s: %s", host_path(), why);
	be = calloc(1, sizeof(*be));
	if (!be) {
		close(fd);
		return -ENOMEM;
	}
	be->kvm_fd = fd;
	r = ioctl(fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (r <= 0) {
		r = r < 0 ? -errno : -EINVAL;
		goto fail;
	}
	be->run_size = (size_t)r;
	be->vendor = host_vendor();
	be->max_vcpus = check_ext(fd, KVM_CAP_MAX_VCPUS);
	if (!be->max_vcpus)
		be->max_vcpus = check_ext(fd, KVM_CAP_NR_VCPUS);
	if (!be->max_vcpus)
		be->max_vcpus = 4;      /* what KVM documents when neither cap exists */
	be->max_memslots = check_ext(fd, KVM_CAP_NR_MEMSLOTS);
	be->readonly_mem = check_ext(fd, KVM_CAP_READONLY_MEM) > 0;
	be->guest_debug = check_ext(fd, KVM_CAP_SET_GUEST_DEBUG) > 0;
	/* the host maps the daemon's view of guest RAM: its notifiers are ours */
	be->sync_mmu = check_ext(fd, KVM_CAP_SYNC_MMU) > 0;
	/* the host walks the guest's page tables: its answer is the guest's */
	be->smaller_maxphyaddr = check_ext(fd, KVM_CAP_SMALLER_MAXPHYADDR) > 0;
	/* without these every guest MSR access could not reach the daemon */
	if (!check_ext(fd, KVM_CAP_X86_USER_SPACE_MSR) || !check_ext(fd, KVM_CAP_X86_MSR_FILTER)) {
		r = refuse(-EOPNOTSUPP, "hostkvm: host KVM lacks MSR filtering to userspace");
		goto fail;
	}
	if (!check_ext(fd, KVM_CAP_IMMEDIATE_EXIT)) {
		r = refuse(-EOPNOTSUPP, "hostkvm: host KVM lacks KVM_CAP_IMMEDIATE_EXIT (needed by kick)");
		goto fail;
	}
	r = hk_kick_init();
	if (r)
		goto fail;
	log_info("hostkvm: using %s (max %u vCPUs, readonly mem %d)", host_path(),
		 be->max_vcpus, be->readonly_mem);
	*out = be;
	return 0;
fail:
	close(fd);
	free(be);
	return r;
}

static void hostkvm_fini(struct tramp_backend *be)
{
	if (!be)
		return;
	close(be->kvm_fd);
	free(be);
}

static void hostkvm_caps(struct tramp_backend *be, struct tramp_caps *caps)
{
	*caps = (struct tramp_caps){
		.vendor = be->vendor,
		.max_vcpus = be->max_vcpus,
		.readonly_mem = be->readonly_mem,
		.guest_debug = be->guest_debug,
		.sync_mmu = be->sync_mmu,
		.vcpu_events = true,
		.events_queue = true,
		.xsave = true,
		.tsc_khz = true,
		.smaller_maxphyaddr = be->smaller_maxphyaddr,
	};
}

static int hostkvm_host_cpuid(struct tramp_backend *be, struct kvm_cpuid2 *cpuid, uint32_t max)
{
	cpuid->nent = max;
	cpuid->padding = 0;
	return tramp_ioctl(be->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid);
}

const struct tramp_ops tramp_hostkvm_ops = {
	.name = "hostkvm",
	.probe = hostkvm_probe,
	.init = hostkvm_init,
	.fini = hostkvm_fini,
	.caps = hostkvm_caps,
	.host_cpuid = hostkvm_host_cpuid,
	.vm_create = hk_vm_create,
	.vm_destroy = hk_vm_destroy,
	.map = hk_map,
	.unmap = hk_unmap,
	.dirty_collect = hk_dirty_collect,
	.vcpu_create = hk_vcpu_create,
	.vcpu_destroy = hk_vcpu_destroy,
	.read_fields = hk_read_fields,
	.write_fields = hk_write_fields,
	.get_fpu = hk_get_fpu,
	.set_fpu = hk_set_fpu,
	.set_cpuid = hk_set_cpuid,
	.set_debug = hk_set_debug,
	.inject_irq = hk_inject_irq,
	.request_irq_window = hk_request_irq_window,
	.get_events = hk_get_events,
	.set_events = hk_set_events,
	.inject_nmi = hk_inject_nmi,
	.get_xsave = hk_get_xsave,
	.set_xsave = hk_set_xsave,
	.get_tsc_khz = hk_get_tsc_khz,
	.set_tsc_khz = hk_set_tsc_khz,
	.vm_enable_cap = hk_vm_enable_cap,
	.vcpu_enable_cap = hk_vcpu_enable_cap,
	.get_tsc_offset = hk_get_tsc_offset,
	.set_tsc_offset = hk_set_tsc_offset,
	.vm_set_mmu_pages = hk_vm_set_mmu_pages,
	.run = hk_run,
	.complete = hk_complete,
	.settle = hk_settle,
	.kick = hk_kick,
};
