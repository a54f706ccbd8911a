/* SPDX-License-Identifier: MIT */
/*
 * kvmtest state: the VM and vCPU state ioctls that need no irqchip, each
 * round-tripped and errno-checked, one deterministic line per check:
 *   "<name> ret=R errno=NAME [fields]"
 * Values that depend on time or on the host CPU (clock, TSC rate, XSAVE
 * feature bits) are printed only as facts that must hold everywhere.
 * Finally the classic example-program flow (CREATE_VM, SET_TSS_ADDR,
 * memory, CREATE_VCPU, sregs/regs, RUN of a real-mode OUT + HLT).
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "kvmtest.h"
#include "layout.h"

#define SHOW(name, expr, ...) do { \
	errno = 0; \
	int r_ = (expr); \
	printf("%s ret=%d errno=%s", name, r_ < 0 ? -1 : r_, ename(r_ < 0 ? errno : 0)); \
	printf(" " __VA_ARGS__); \
	printf("\n"); \
} while (0)

static int enable_cap(int fd, uint32_t cap, uint64_t arg0, uint32_t flags)
{
	struct kvm_enable_cap c = { .cap = cap, .flags = flags, .args = { arg0 } };

	return ioctl(fd, KVM_ENABLE_CAP, &c);
}

static void vm_ioctls(void)
{
	struct vm vm;
	struct vcpu v;
	struct kvm_clock_data cd;
	uint64_t ident = 0xfffbc000;
	struct timespec t0;

	vm_create(&vm, NULL);
	SHOW("vm.set_tss_addr", ioctl(vm.fd, KVM_SET_TSS_ADDR, 0xfffbd000UL), "");
	SHOW("vm.set_tss_addr_top", ioctl(vm.fd, KVM_SET_TSS_ADDR, 0xffffd000UL), "");
	SHOW("vm.set_tss_addr_over", ioctl(vm.fd, KVM_SET_TSS_ADDR, 0xffffd001UL), "");
	SHOW("vm.set_tss_addr_64", ioctl(vm.fd, KVM_SET_TSS_ADDR, 0x100000000UL), "");
	SHOW("vm.set_identity_map_addr", ioctl(vm.fd, KVM_SET_IDENTITY_MAP_ADDR, &ident), "");
	SHOW("vm.set_identity_map_addr_efault",
	     ioctl(vm.fd, KVM_SET_IDENTITY_MAP_ADDR, (void *)8), "");
	SHOW("vm.set_boot_cpu_id", ioctl(vm.fd, KVM_SET_BOOT_CPU_ID, 0), "");
	SHOW("vm.get_nr_mmu_pages", ioctl(vm.fd, KVM_GET_NR_MMU_PAGES, 0), "");
	SHOW("vm.set_nr_mmu_pages_63", ioctl(vm.fd, KVM_SET_NR_MMU_PAGES, 63), "");
	SHOW("vm.set_nr_mmu_pages_100", ioctl(vm.fd, KVM_SET_NR_MMU_PAGES, 100), "");
	SHOW("vm.get_nr_mmu_pages_100", ioctl(vm.fd, KVM_GET_NR_MMU_PAGES, 0), "");

	/* kvmclock: flags as KVM reports them; the value only as a range */
	memset(&cd, 0xa5, sizeof(cd));
	SHOW("vm.get_clock", ioctl(vm.fd, KVM_GET_CLOCK, &cd), "flags=%#x small=%d",
	     cd.flags, cd.clock < 60ULL * 1000000000);
	cd.flags = 0x1;
	SHOW("vm.set_clock_flag1", ioctl(vm.fd, KVM_SET_CLOCK, &cd), "");
	cd.flags = 0x10;
	SHOW("vm.set_clock_flag10", ioctl(vm.fd, KVM_SET_CLOCK, &cd), "");
	memset(&cd, 0, sizeof(cd));
	cd.clock = 1000ULL * 1000000000;
	SHOW("vm.set_clock", ioctl(vm.fd, KVM_SET_CLOCK, &cd), "");
	memset(&cd, 0, sizeof(cd));
	SHOW("vm.get_clock_after_set", ioctl(vm.fd, KVM_GET_CLOCK, &cd), "in_range=%d",
	     cd.clock >= 1000ULL * 1000000000 && cd.clock < 1010ULL * 1000000000);
	/* REALTIME: the clock moves forward by the realtime that passed since */
	clock_gettime(CLOCK_REALTIME, &t0);
	memset(&cd, 0, sizeof(cd));
	cd.flags = KVM_CLOCK_REALTIME;
	cd.clock = 5000ULL * 1000000000;
	cd.realtime = (t0.tv_sec - 100) * 1000000000ULL + t0.tv_nsec;
	SHOW("vm.set_clock_realtime", ioctl(vm.fd, KVM_SET_CLOCK, &cd), "");
	memset(&cd, 0, sizeof(cd));
	SHOW("vm.get_clock_after_realtime", ioctl(vm.fd, KVM_GET_CLOCK, &cd), "in_range=%d",
	     cd.clock >= 5100ULL * 1000000000 && cd.clock < 5110ULL * 1000000000);
	SHOW("vm.set_clock_efault", ioctl(vm.fd, KVM_SET_CLOCK, (void *)8), "");

	/* KVM_ENABLE_CAP on the VM, before any vCPU */
	SHOW("vm.enable_cap_flags", enable_cap(vm.fd, KVM_CAP_DISABLE_QUIRKS, 0, 1), "");
	SHOW("vm.enable_cap_unknown", enable_cap(vm.fd, 9999, 0, 0), "");
	SHOW("vm.enable_cap_disable_quirks", enable_cap(vm.fd, KVM_CAP_DISABLE_QUIRKS, 0x7f, 0), "");
	SHOW("vm.enable_cap_disable_quirks2", enable_cap(vm.fd, KVM_CAP_DISABLE_QUIRKS2, 0x1, 0), "");
	SHOW("vm.enable_cap_disable_quirks2_bad",
	     enable_cap(vm.fd, KVM_CAP_DISABLE_QUIRKS2, 1ULL << 40, 0), "");
	SHOW("vm.enable_cap_x2apic_api", enable_cap(vm.fd, KVM_CAP_X2APIC_API, 3, 0), "");
	SHOW("vm.enable_cap_x2apic_api_bad", enable_cap(vm.fd, KVM_CAP_X2APIC_API, 1 << 20, 0), "");
	SHOW("vm.enable_cap_disable_exits", enable_cap(vm.fd, KVM_CAP_X86_DISABLE_EXITS,
						       KVM_X86_DISABLE_EXITS_PAUSE, 0), "");
	SHOW("vm.enable_cap_disable_exits_bad",
	     enable_cap(vm.fd, KVM_CAP_X86_DISABLE_EXITS, 1 << 20, 0), "");
	SHOW("vm.enable_cap_exception_payload",
	     enable_cap(vm.fd, KVM_CAP_EXCEPTION_PAYLOAD, 0, 0), "");
	SHOW("vm.enable_cap_msr_platform_info",
	     enable_cap(vm.fd, KVM_CAP_MSR_PLATFORM_INFO, 1, 0), "");
	SHOW("vm.enable_cap_max_vcpu_id_over",
	     enable_cap(vm.fd, KVM_CAP_MAX_VCPU_ID, 4097, 0), "");
	SHOW("vm.check_extension_tss", ioctl(vm.fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_TSS_ADDR), "");
	SHOW("vm.check_extension_join", ioctl(vm.fd, KVM_CHECK_EXTENSION,
					      KVM_CAP_JOIN_MEMORY_REGIONS_WORKS), "");

	/* after the first vCPU */
	vcpu_create(&vm, &v, 0);
	SHOW("vm.set_boot_cpu_id_after_vcpu", ioctl(vm.fd, KVM_SET_BOOT_CPU_ID, 0), "");
	SHOW("vm.set_identity_map_addr_after_vcpu",
	     ioctl(vm.fd, KVM_SET_IDENTITY_MAP_ADDR, &ident), "");
	SHOW("vm.set_tss_addr_after_vcpu", ioctl(vm.fd, KVM_SET_TSS_ADDR, 0xfffbd000UL), "");
	SHOW("vm.enable_cap_max_vcpu_id_after_vcpu",
	     enable_cap(vm.fd, KVM_CAP_MAX_VCPU_ID, 8, 0), "");
	close(v.fd);
	close(vm.fd);
	close(vm.sys);

	/* KVM_CAP_MAX_VCPU_ID: set once, then only the same value; ids must fit */
	vm_create(&vm, NULL);
	SHOW("vm.enable_cap_max_vcpu_id", enable_cap(vm.fd, KVM_CAP_MAX_VCPU_ID, 8, 0), "");
	SHOW("vm.enable_cap_max_vcpu_id_same", enable_cap(vm.fd, KVM_CAP_MAX_VCPU_ID, 8, 0), "");
	SHOW("vm.enable_cap_max_vcpu_id_other", enable_cap(vm.fd, KVM_CAP_MAX_VCPU_ID, 16, 0), "");
	SHOW("vm.check_extension_max_vcpu_id",
	     ioctl(vm.fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPU_ID), "");
	SHOW("vm.create_vcpu_over_max_id", ioctl(vm.fd, KVM_CREATE_VCPU, 8), "");
	close(vm.fd);
	close(vm.sys);
}

static void print_events(const char *name, int r, const struct kvm_vcpu_events *e)
{
	printf("%s ret=%d errno=%s flags=%#x exc=%u/%u/%u/%u/%#x int=%u/%u/%u/%u nmi=%u/%u/%u"
	       " smi=%u/%u/%u/%u\n", name, r, ename(r < 0 ? errno : 0), e->flags,
	       e->exception.injected, e->exception.nr, e->exception.has_error_code,
	       e->exception.pending, e->exception.error_code,
	       e->interrupt.injected, e->interrupt.nr, e->interrupt.soft, e->interrupt.shadow,
	       e->nmi.injected, e->nmi.pending, e->nmi.masked,
	       e->smi.smm, e->smi.pending, e->smi.smm_inside_nmi, e->smi.latched_init);
}

static void events(struct vcpu *v)
{
	struct kvm_vcpu_events e, bad;
	int r;

	memset(&e, 0xa5, sizeof(e));
	r = ioctl(v->fd, KVM_GET_VCPU_EVENTS, &e);
	print_events("vcpu.get_vcpu_events", r, &e);
	SHOW("vcpu.get_vcpu_events_reserved_zero", 0, "zero=%d",
	     !e.reserved[0] && !e.reserved[8] && !e.exception_has_payload);

	bad = e;
	bad.flags = 0x100;
	SHOW("vcpu.set_vcpu_events_bad_flags", ioctl(v->fd, KVM_SET_VCPU_EVENTS, &bad), "");
	bad = e;
	bad.flags = KVM_VCPUEVENT_VALID_PAYLOAD;
	SHOW("vcpu.set_vcpu_events_payload_without_cap",
	     ioctl(v->fd, KVM_SET_VCPU_EVENTS, &bad), "");
	bad = e;
	bad.flags = 0;
	bad.exception.injected = 1;
	bad.exception.nr = 2;
	SHOW("vcpu.set_vcpu_events_exception_nmi", ioctl(v->fd, KVM_SET_VCPU_EVENTS, &bad), "");
	bad.exception.nr = 32;
	SHOW("vcpu.set_vcpu_events_exception_32", ioctl(v->fd, KVM_SET_VCPU_EVENTS, &bad), "");
	SHOW("vcpu.set_vcpu_events_efault", ioctl(v->fd, KVM_SET_VCPU_EVENTS, (void *)8), "");

	/* round trips */
	bad = e;
	bad.flags = KVM_VCPUEVENT_VALID_SHADOW;
	bad.interrupt.injected = 1;
	bad.interrupt.nr = 0x30;
	bad.interrupt.shadow = KVM_X86_SHADOW_INT_MOV_SS;
	SHOW("vcpu.set_vcpu_events_irq", ioctl(v->fd, KVM_SET_VCPU_EVENTS, &bad), "");
	memset(&bad, 0, sizeof(bad));
	r = ioctl(v->fd, KVM_GET_VCPU_EVENTS, &bad);
	print_events("vcpu.get_vcpu_events_irq", r, &bad);

	bad.interrupt.injected = 0;
	bad.interrupt.shadow = 0;
	bad.flags = KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_NMI_PENDING;
	bad.nmi.pending = 1;
	bad.nmi.masked = 1;
	bad.exception.injected = 1;
	bad.exception.nr = 13;
	bad.exception.has_error_code = 1;
	bad.exception.error_code = 0x18;
	SHOW("vcpu.set_vcpu_events_exc_nmi", ioctl(v->fd, KVM_SET_VCPU_EVENTS, &bad), "");
	memset(&bad, 0, sizeof(bad));
	r = ioctl(v->fd, KVM_GET_VCPU_EVENTS, &bad);
	print_events("vcpu.get_vcpu_events_exc_nmi", r, &bad);

	/* without VALID_SHADOW / VALID_NMI_PENDING those fields keep their value;
	 * nmi.pending reads back as 0 or 1 */
	memset(&bad, 0, sizeof(bad));
	bad.nmi.pending = 5;
	SHOW("vcpu.set_vcpu_events_no_flags", ioctl(v->fd, KVM_SET_VCPU_EVENTS, &bad), "");
	memset(&bad, 0, sizeof(bad));
	r = ioctl(v->fd, KVM_GET_VCPU_EVENTS, &bad);
	print_events("vcpu.get_vcpu_events_no_flags", r, &bad);
	bad.flags = KVM_VCPUEVENT_VALID_NMI_PENDING;
	bad.nmi.pending = 5;
	bad.nmi.masked = 0;
	SHOW("vcpu.set_vcpu_events_nmi5", ioctl(v->fd, KVM_SET_VCPU_EVENTS, &bad), "");
	memset(&bad, 0, sizeof(bad));
	r = ioctl(v->fd, KVM_GET_VCPU_EVENTS, &bad);
	print_events("vcpu.get_vcpu_events_nmi5", r, &bad);

	/* back to nothing pending; KVM_NMI makes one NMI pending */
	SHOW("vcpu.set_vcpu_events_reset", ioctl(v->fd, KVM_SET_VCPU_EVENTS, &e), "");
	SHOW("vcpu.nmi", ioctl(v->fd, KVM_NMI, 0), "");
	memset(&bad, 0, sizeof(bad));
	r = ioctl(v->fd, KVM_GET_VCPU_EVENTS, &bad);
	print_events("vcpu.get_vcpu_events_nmi", r, &bad);
	SHOW("vcpu.set_vcpu_events_reset2", ioctl(v->fd, KVM_SET_VCPU_EVENTS, &e), "");
}

static void debugregs(struct vcpu *v)
{
	struct kvm_debugregs d, s;

	memset(&d, 0xa5, sizeof(d));
	SHOW("vcpu.get_debugregs", ioctl(v->fd, KVM_GET_DEBUGREGS, &d),
	     "db=%llx/%llx/%llx/%llx dr6=%#llx dr7=%#llx flags=%#llx",
	     (unsigned long long)d.db[0], (unsigned long long)d.db[1],
	     (unsigned long long)d.db[2], (unsigned long long)d.db[3],
	     (unsigned long long)d.dr6, (unsigned long long)d.dr7,
	     (unsigned long long)d.flags);
	s = d;
	s.flags = 1;
	SHOW("vcpu.set_debugregs_flags", ioctl(v->fd, KVM_SET_DEBUGREGS, &s), "");
	s = d;
	s.dr6 |= 1ULL << 32;
	SHOW("vcpu.set_debugregs_dr6_high", ioctl(v->fd, KVM_SET_DEBUGREGS, &s), "");
	s = d;
	s.dr7 |= 1ULL << 32;
	SHOW("vcpu.set_debugregs_dr7_high", ioctl(v->fd, KVM_SET_DEBUGREGS, &s), "");
	s = d;
	s.db[0] = 0x1000;
	s.db[3] = 0xffffffff12345678ULL;
	s.dr7 = 0x401;
	SHOW("vcpu.set_debugregs", ioctl(v->fd, KVM_SET_DEBUGREGS, &s), "");
	memset(&s, 0, sizeof(s));
	SHOW("vcpu.get_debugregs_after", ioctl(v->fd, KVM_GET_DEBUGREGS, &s),
	     "db=%llx/%llx/%llx/%llx dr6=%#llx dr7=%#llx",
	     (unsigned long long)s.db[0], (unsigned long long)s.db[1],
	     (unsigned long long)s.db[2], (unsigned long long)s.db[3],
	     (unsigned long long)s.dr6, (unsigned long long)s.dr7);
	SHOW("vcpu.set_debugregs_reset", ioctl(v->fd, KVM_SET_DEBUGREGS, &d), "");
}

static void xcrs(struct vcpu *v)
{
	struct kvm_xcrs x, s;

	memset(&x, 0xa5, sizeof(x));
	SHOW("vcpu.get_xcrs", ioctl(v->fd, KVM_GET_XCRS, &x), "nr=%u flags=%#x xcr=%u value=%#llx",
	     x.nr_xcrs, x.flags, x.xcrs[0].xcr, (unsigned long long)x.xcrs[0].value);
	s = x;
	s.flags = 1;
	SHOW("vcpu.set_xcrs_flags", ioctl(v->fd, KVM_SET_XCRS, &s), "");
	s = x;
	s.nr_xcrs = KVM_MAX_XCRS + 1;
	SHOW("vcpu.set_xcrs_too_many", ioctl(v->fd, KVM_SET_XCRS, &s), "");
	s = x;
	s.xcrs[0].value = 0;
	SHOW("vcpu.set_xcrs_no_fp", ioctl(v->fd, KVM_SET_XCRS, &s), "");
	s.xcrs[0].value = 5;   /* YMM without SSE */
	SHOW("vcpu.set_xcrs_ymm_no_sse", ioctl(v->fd, KVM_SET_XCRS, &s), "");
	s.xcrs[0].value = 1ULL << 62;
	SHOW("vcpu.set_xcrs_unsupported", ioctl(v->fd, KVM_SET_XCRS, &s), "");
	s.xcrs[0].value = 3;
	SHOW("vcpu.set_xcrs_x87_sse", ioctl(v->fd, KVM_SET_XCRS, &s), "");
	memset(&s, 0, sizeof(s));
	SHOW("vcpu.get_xcrs_after", ioctl(v->fd, KVM_GET_XCRS, &s), "nr=%u value=%#llx",
	     s.nr_xcrs, (unsigned long long)s.xcrs[0].value);
	s.nr_xcrs = 0;
	SHOW("vcpu.set_xcrs_none", ioctl(v->fd, KVM_SET_XCRS, &s), "");
	SHOW("vcpu.set_xcrs_reset", ioctl(v->fd, KVM_SET_XCRS, &x), "");
}

static void xsave(struct vcpu *v)
{
	struct kvm_xsave *x = calloc(1, sizeof(*x)), *s = calloc(1, sizeof(*s));
	struct kvm_fpu fpu;
	uint64_t bv;

	SHOW("vcpu.get_xsave", ioctl(v->fd, KVM_GET_XSAVE, x), "fcw=%#x mxcsr=%#x fp_sse=%d",
	     x->region[0] & 0xffff, x->region[6],
	     (int)(((uint64_t *)x->region)[64] & 3));
	*s = *x;
	/* xmm0 = a pattern, visible through KVM_GET_FPU */
	memset((uint8_t *)s->region + 160, 0x5a, 16);
	((uint64_t *)s->region)[64] |= 2;
	SHOW("vcpu.set_xsave", ioctl(v->fd, KVM_SET_XSAVE, s), "");
	memset(&fpu, 0, sizeof(fpu));
	SHOW("vcpu.get_fpu_after_xsave", ioctl(v->fd, KVM_GET_FPU, &fpu), "xmm0[0]=%#x xmm0[15]=%#x",
	     fpu.xmm[0][0], fpu.xmm[0][15]);
	*s = *x;
	bv = ((uint64_t *)s->region)[64];
	((uint64_t *)s->region)[64] = bv | 1ULL << 62;
	SHOW("vcpu.set_xsave_bad_xstate_bv", ioctl(v->fd, KVM_SET_XSAVE, s), "");
	*s = *x;
	((uint64_t *)s->region)[65] = 1;   /* XCOMP_BV: compacted format is not UABI */
	SHOW("vcpu.set_xsave_xcomp_bv", ioctl(v->fd, KVM_SET_XSAVE, s), "");
	*s = *x;
	s->region[6] = 0xffffffff;          /* MXCSR reserved bits */
	/* not checked while neither X87, SSE nor AVX state is in the image */
	SHOW("vcpu.set_xsave_bad_mxcsr_unused", ioctl(v->fd, KVM_SET_XSAVE, s), "");
	((uint64_t *)s->region)[64] |= 2;
	SHOW("vcpu.set_xsave_bad_mxcsr", ioctl(v->fd, KVM_SET_XSAVE, s), "");
	SHOW("vcpu.set_xsave_reset", ioctl(v->fd, KVM_SET_XSAVE, x), "");
	free(x);
	free(s);
}

/* the MCE MSRs KVM_X86_SETUP_MCE changes, one KVM_GET_MSRS each */
static void msrs_show(struct vcpu *v, const char *name)
{
	static const uint32_t idx[] = { 0x179, 0x17b, 0x400, 0x424, 0x428, 0x289 };
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[1];
	} m;

	printf("%s", name);
	for (unsigned i = 0; i < sizeof(idx) / sizeof(idx[0]); i++) {
		memset(&m, 0, sizeof(m));
		m.h.nmsrs = 1;
		m.e[0].index = idx[i];
		if (ioctl(v->fd, KVM_GET_MSRS, &m) == 1)
			printf(" %#x=%#llx", idx[i], (unsigned long long)m.e[0].data);
		else
			printf(" %#x=-", idx[i]);
	}
	printf("\n");
}

static void mce_banks_show(struct vcpu *v, const char *name, unsigned bank)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[4];
	} m = { .h.nmsrs = 4 };

	for (unsigned i = 0; i < 4; i++)
		m.e[i].index = 0x400 + 4 * bank + i;
	SHOW(name, ioctl(v->fd, KVM_GET_MSRS, &m), "ctl=%#llx status=%#llx addr=%#llx misc=%#llx",
	     (unsigned long long)m.e[0].data, (unsigned long long)m.e[1].data,
	     (unsigned long long)m.e[2].data, (unsigned long long)m.e[3].data);
}

/* KVM_X86_SET_MCE after SETUP_MCE(10 banks, MCG_CTL_P), guest in real mode (CR4.MCE 0) */
static void set_mce(struct vcpu *v)
{
	struct kvm_x86_mce m;

	memset(&m, 0, sizeof(m));
	m.bank = 10;
	m.status = 1ULL << 63;
	SHOW("vcpu.set_mce_bank_over", ioctl(v->fd, KVM_X86_SET_MCE, &m), "");
	m.bank = 1;
	m.status = 0x1234;
	SHOW("vcpu.set_mce_not_valid", ioctl(v->fd, KVM_X86_SET_MCE, &m), "");
	/* corrected: logged, a second one marks the overflow */
	m.status = 1ULL << 63 | 0x1234;
	m.addr = 0x1000;
	m.misc = 0x86;
	SHOW("vcpu.set_mce_corrected", ioctl(v->fd, KVM_X86_SET_MCE, &m), "");
	mce_banks_show(v, "vcpu.mce_bank1", 1);
	SHOW("vcpu.set_mce_corrected2", ioctl(v->fd, KVM_X86_SET_MCE, &m), "");
	mce_banks_show(v, "vcpu.mce_bank1_again", 1);
	/* uncorrected, no action required: logged only */
	m.bank = 2;
	m.status = 1ULL << 63 | 1ULL << 61 | 0x5678;
	SHOW("vcpu.set_mce_ucna", ioctl(v->fd, KVM_X86_SET_MCE, &m), "");
	mce_banks_show(v, "vcpu.mce_bank2", 2);
	/* uncorrected with action required while CR4.MCE is 0: the guest shuts down */
	m.bank = 3;
	m.status = 1ULL << 63 | 1ULL << 61 | 1ULL << 57 | 0x9abc;
	m.mcg_status = 1;
	SHOW("vcpu.set_mce_uc", ioctl(v->fd, KVM_X86_SET_MCE, &m), "");
	mce_banks_show(v, "vcpu.mce_bank3", 3);
	SHOW("vcpu.run_after_uc", ioctl(v->fd, KVM_RUN, 0), "exit=%s",
	     exit_name(v->run->exit_reason));
	SHOW("vcpu.set_mce_efault", ioctl(v->fd, KVM_X86_SET_MCE, (void *)8), "");
}

static void misc(struct vcpu *v)
{
	struct kvm_enable_cap c = { 0 };
	uint64_t mce_cap = 0, mcg;
	int khz;

	khz = ioctl(v->fd, KVM_GET_TSC_KHZ, 0);
	SHOW("vcpu.get_tsc_khz", khz, "positive=%d", khz > 0);
	SHOW("vcpu.set_tsc_khz_same", ioctl(v->fd, KVM_SET_TSC_KHZ, khz), "");
	SHOW("vcpu.set_tsc_khz_zero", ioctl(v->fd, KVM_SET_TSC_KHZ, 0), "");
	SHOW("vcpu.get_tsc_khz_after", ioctl(v->fd, KVM_GET_TSC_KHZ, 0) == khz, "");
	SHOW("vcpu.kvmclock_ctrl", ioctl(v->fd, KVM_KVMCLOCK_CTRL, 0), "");

	SHOW("sys.get_mce_cap_supported", ioctl(v->vm->sys, KVM_X86_GET_MCE_CAP_SUPPORTED, &mce_cap),
	     "ctl_p=%d", !!(mce_cap & (1 << 8)));
	mcg = 0;
	SHOW("vcpu.setup_mce_no_banks", ioctl(v->fd, KVM_X86_SETUP_MCE, &mcg), "");
	mcg = 33;
	SHOW("vcpu.setup_mce_33_banks", ioctl(v->fd, KVM_X86_SETUP_MCE, &mcg), "");
	mcg = 10 | 1ULL << 40;
	SHOW("vcpu.setup_mce_bad_bits", ioctl(v->fd, KVM_X86_SETUP_MCE, &mcg), "");
	msrs_show(v, "vcpu.msrs_before_mce");
	mcg = 10 | 1 << 8;
	SHOW("vcpu.setup_mce", ioctl(v->fd, KVM_X86_SETUP_MCE, &mcg), "");
	msrs_show(v, "vcpu.msrs_after_mce");
	set_mce(v);

	c.cap = KVM_CAP_ENFORCE_PV_FEATURE_CPUID;
	c.flags = 1;
	SHOW("vcpu.enable_cap_flags", ioctl(v->fd, KVM_ENABLE_CAP, &c), "");
	c.flags = 0;
	c.args[0] = 1;
	SHOW("vcpu.enable_cap_enforce_pv_cpuid", ioctl(v->fd, KVM_ENABLE_CAP, &c), "");
	c.cap = KVM_CAP_HYPERV_SYNIC;
	SHOW("vcpu.enable_cap_hyperv_synic", ioctl(v->fd, KVM_ENABLE_CAP, &c), "");
	c.cap = KVM_CAP_HYPERV_SYNIC2;
	SHOW("vcpu.enable_cap_hyperv_synic2", ioctl(v->fd, KVM_ENABLE_CAP, &c), "");
	c.cap = 9999;
	SHOW("vcpu.enable_cap_unknown", ioctl(v->fd, KVM_ENABLE_CAP, &c), "");

	/* unreadable / unwritable arguments */
	SHOW("vcpu.get_vcpu_events_efault", ioctl(v->fd, KVM_GET_VCPU_EVENTS, (void *)8), "");
	SHOW("vcpu.get_debugregs_efault", ioctl(v->fd, KVM_GET_DEBUGREGS, (void *)8), "");
	SHOW("vcpu.set_debugregs_efault", ioctl(v->fd, KVM_SET_DEBUGREGS, (void *)8), "");
	SHOW("vcpu.get_xcrs_efault", ioctl(v->fd, KVM_GET_XCRS, (void *)8), "");
	SHOW("vcpu.set_xcrs_efault", ioctl(v->fd, KVM_SET_XCRS, (void *)8), "");
	SHOW("vcpu.get_xsave_efault", ioctl(v->fd, KVM_GET_XSAVE, (void *)8), "");
	SHOW("vcpu.set_xsave_efault", ioctl(v->fd, KVM_SET_XSAVE, (void *)8), "");
	SHOW("vcpu.setup_mce_efault", ioctl(v->fd, KVM_X86_SETUP_MCE, (void *)8), "");
	SHOW("vcpu.enable_cap_efault", ioctl(v->fd, KVM_ENABLE_CAP, (void *)8), "");
	SHOW("vm.get_clock_efault", ioctl(v->vm->fd, KVM_GET_CLOCK, (void *)8), "");
	SHOW("vm.enable_cap_efault", ioctl(v->vm->fd, KVM_ENABLE_CAP, (void *)8), "");
	SHOW("sys.get_mce_cap_supported_efault",
	     ioctl(v->vm->sys, KVM_X86_GET_MCE_CAP_SUPPORTED, (void *)8), "");
}

/* the classic example program: a real-mode guest that does OUT and HLT */
static void classic(const char *dev)
{
	static const uint8_t code[] = {
		0xba, 0xf8, 0x03,   /* mov $0x3f8, %dx */
		0xb0, 'h',          /* mov $'h', %al */
		0xee,               /* out %al, (%dx) */
		0xf4,               /* hlt */
	};
	struct kvm_userspace_memory_region mr;
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = 0x1000, .rflags = 0x2 };
	struct kvm_run *run;
	int sys, vmfd, vcpufd, sz;
	uint8_t *mem;

	sys = open(dev, O_RDWR | O_CLOEXEC);
	if (sys < 0)
		die("open %s: %s", dev, strerror(errno));
	vmfd = IOC(sys, KVM_CREATE_VM, 0);
	SHOW("classic.set_tss_addr", ioctl(vmfd, KVM_SET_TSS_ADDR, 0xfffbd000UL), "");
	mem = mmap(NULL, 0x4000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	memcpy(mem + 0x1000, code, sizeof(code));
	mr = (struct kvm_userspace_memory_region){ .slot = 0, .guest_phys_addr = 0,
		.memory_size = 0x4000, .userspace_addr = (uintptr_t)mem };
	IOC(vmfd, KVM_SET_USER_MEMORY_REGION, &mr);
	vcpufd = IOC(vmfd, KVM_CREATE_VCPU, 0);
	sz = IOC(sys, KVM_GET_VCPU_MMAP_SIZE, 0);
	run = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, vcpufd, 0);
	if (run == MAP_FAILED)
		die("mmap run: %s", strerror(errno));
	IOC(vcpufd, KVM_GET_SREGS, &sregs);
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	IOC(vcpufd, KVM_SET_SREGS, &sregs);
	IOC(vcpufd, KVM_SET_REGS, &regs);
	for (int i = 0; i < 4; i++) {
		IOC(vcpufd, KVM_RUN, 0);
		if (run->exit_reason == KVM_EXIT_IO) {
			printf("classic.exit IO port=%#x out=%c\n", run->io.port,
			       *((char *)run + run->io.data_offset));
			continue;
		}
		printf("classic.exit %s\n", exit_name(run->exit_reason));
		break;
	}
	close(vcpufd);
	close(vmfd);
	close(sys);
}

/* KVM_CAP_SYNC_REGS: regs/sregs/events through kvm_run->s.regs around KVM_RUN */
static void sync_regs(const char *dev)
{
	static const uint8_t code[] = {
		0xba, 0xf8, 0x03,   /* 0x1000 mov $0x3f8, %dx */
		0xb0, 'h',          /* 0x1003 mov $'h', %al */
		0xee,               /* 0x1005 out %al, (%dx) */
		0xb0, 'i',          /* 0x1006 mov $'i', %al */
		0xee,               /* 0x1008 out %al, (%dx) */
		0xf4,               /* 0x1009 hlt */
	};
	struct kvm_userspace_memory_region mr;
	struct kvm_regs regs = { .rip = 0x1000, .rflags = 0x2 };
	struct kvm_sregs sregs;
	struct kvm_run *run;
	int sys, vmfd, vcpufd, sz, r;
	uint8_t *mem;

	sys = open(dev, O_RDWR | O_CLOEXEC);
	if (sys < 0)
		die("open %s: %s", dev, strerror(errno));
	SHOW("sync.check_extension", ioctl(sys, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS), "");
	vmfd = IOC(sys, KVM_CREATE_VM, 0);
	mem = mmap(NULL, 0x4000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	memcpy(mem + 0x1000, code, sizeof(code));
	mr = (struct kvm_userspace_memory_region){ .slot = 0, .guest_phys_addr = 0,
		.memory_size = 0x4000, .userspace_addr = (uintptr_t)mem };
	IOC(vmfd, KVM_SET_USER_MEMORY_REGION, &mr);
	vcpufd = IOC(vmfd, KVM_CREATE_VCPU, 0);
	sz = IOC(sys, KVM_GET_VCPU_MMAP_SIZE, 0);
	run = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, vcpufd, 0);
	if (run == MAP_FAILED)
		die("mmap run: %s", strerror(errno));
	IOC(vcpufd, KVM_GET_SREGS, &sregs);
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	IOC(vcpufd, KVM_SET_SREGS, &sregs);
	IOC(vcpufd, KVM_SET_REGS, &regs);

	run->kvm_valid_regs = 0x100;
	SHOW("sync.run_bad_valid", ioctl(vcpufd, KVM_RUN, 0), "");
	run->kvm_valid_regs = 0;
	run->kvm_dirty_regs = 0x100;
	SHOW("sync.run_bad_dirty", ioctl(vcpufd, KVM_RUN, 0), "");
	run->kvm_dirty_regs = 0;

	run->kvm_valid_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS;
	r = ioctl(vcpufd, KVM_RUN, 0);
	SHOW("sync.run_out", r, "exit=%s rip=%#llx al=%#llx cs=%#x/%#llx cr0=%#llx ev_flags=%#x",
	     exit_name(run->exit_reason), (unsigned long long)run->s.regs.regs.rip,
	     (unsigned long long)run->s.regs.regs.rax & 0xff, run->s.regs.sregs.cs.selector,
	     (unsigned long long)run->s.regs.sregs.cs.base,
	     (unsigned long long)run->s.regs.sregs.cr0, run->s.regs.events.flags);

	/* jump over the second OUT by writing RIP through the run page */
	run->s.regs.regs.rip = 0x1009;
	run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
	r = ioctl(vcpufd, KVM_RUN, 0);
	SHOW("sync.run_dirty_rip", r, "exit=%s dirty_after=%#llx rip=%#llx",
	     exit_name(run->exit_reason), (unsigned long long)run->kvm_dirty_regs,
	     (unsigned long long)run->s.regs.regs.rip);

	/* an sregs state KVM_SET_SREGS refuses fails the run */
	run->s.regs.sregs.cr0 = 0x80000000;   /* PG without PE */
	run->kvm_dirty_regs = KVM_SYNC_X86_SREGS;
	SHOW("sync.run_bad_sregs", ioctl(vcpufd, KVM_RUN, 0), "dirty_after=%#llx",
	     (unsigned long long)run->kvm_dirty_regs);
	run->kvm_dirty_regs = 0;
	run->kvm_valid_regs = 0;
	close(vcpufd);
	close(vmfd);
	close(sys);
}

/* KVM_CAP_X86_USER_SPACE_MSR: an unknown MSR goes to the client and back */
static void user_msr(const char *dev)
{
	static const uint8_t code[] = {
		/* unknown everywhere (PVM itself uses 0x4b564dxx) */
		0x66, 0xb9, 0x45, 0x23, 0x01, 0x00,   /* mov $0x12345, %ecx */
		0x0f, 0x32,                           /* rdmsr */
		0x66, 0x89, 0xd3,                     /* mov %edx, %ebx */
		0xba, 0x10, 0x00,                     /* mov $0x10, %dx */
		0x66, 0xef,                           /* out %eax, (%dx) */
		0x66, 0x89, 0xd8,                     /* mov %ebx, %eax */
		0x66, 0xef,                           /* out %eax, (%dx) */
		0x0f, 0x30,                           /* wrmsr: eax = old edx, dx = 0x10 */
		0x66, 0xb9, 0x80, 0x00, 0x00, 0xc0,   /* mov $0xc0000080 (EFER), %ecx */
		0x66, 0xb8, 0x02, 0x00, 0x00, 0x00,   /* mov $2 (reserved bit), %eax */
		0x66, 0x31, 0xd2,                     /* xor %edx, %edx */
		0x0f, 0x30,                           /* wrmsr */
		0xf4,                                 /* hlt */
	};
	struct kvm_userspace_memory_region mr;
	struct kvm_regs regs = { .rip = 0x1000, .rflags = 0x2 };
	struct kvm_sregs sregs;
	struct kvm_run *run;
	int sys, vmfd, vcpufd, sz;
	uint8_t *mem;

	sys = open(dev, O_RDWR | O_CLOEXEC);
	if (sys < 0)
		die("open %s: %s", dev, strerror(errno));
	vmfd = IOC(sys, KVM_CREATE_VM, 0);
	SHOW("msrexit.enable_bad", enable_cap(vmfd, KVM_CAP_X86_USER_SPACE_MSR, 8, 0), "");
	SHOW("msrexit.enable", enable_cap(vmfd, KVM_CAP_X86_USER_SPACE_MSR,
					  KVM_MSR_EXIT_REASON_UNKNOWN | KVM_MSR_EXIT_REASON_INVAL, 0), "");
	mem = mmap(NULL, 0x4000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	memcpy(mem + 0x1000, code, sizeof(code));
	mr = (struct kvm_userspace_memory_region){ .slot = 0, .guest_phys_addr = 0,
		.memory_size = 0x4000, .userspace_addr = (uintptr_t)mem };
	IOC(vmfd, KVM_SET_USER_MEMORY_REGION, &mr);
	vcpufd = IOC(vmfd, KVM_CREATE_VCPU, 0);
	sz = IOC(sys, KVM_GET_VCPU_MMAP_SIZE, 0);
	run = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, vcpufd, 0);
	if (run == MAP_FAILED)
		die("mmap run: %s", strerror(errno));
	IOC(vcpufd, KVM_GET_SREGS, &sregs);
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	IOC(vcpufd, KVM_SET_SREGS, &sregs);
	IOC(vcpufd, KVM_SET_REGS, &regs);
	for (int i = 0; i < 10; i++) {
		if (ioctl(vcpufd, KVM_RUN, 0) < 0) {
			printf("msrexit.run errno=%s\n", ename(errno));
			break;
		}
		switch (run->exit_reason) {
		case KVM_EXIT_X86_RDMSR:
			printf("msrexit.exit RDMSR index=%#x reason=%u error=%u\n", run->msr.index,
			       run->msr.reason, run->msr.error);
			run->msr.data = 0x1122334455667788ULL;
			continue;
		case KVM_EXIT_X86_WRMSR:
			printf("msrexit.exit WRMSR index=%#x reason=%u data=%#llx\n", run->msr.index,
			       run->msr.reason, (unsigned long long)run->msr.data);
			/*
			 * error stays 0: a #GP in real mode ends in SHUTDOWN on this
			 * host (PVM) whoever injects it, so the #GP path is left to
			 * the unit tests
			 */
			continue;
		case KVM_EXIT_IO:
			printf("msrexit.exit IO port=%#x size=%u data=%#x\n", run->io.port,
			       run->io.size, run->io.size == 4 ?
			       *(uint32_t *)((char *)run + run->io.data_offset) :
			       *((uint8_t *)run + run->io.data_offset));
			continue;
		default:
			printf("msrexit.exit %s\n", exit_name(run->exit_reason));
			break;
		}
		break;
	}
	close(vcpufd);
	close(vmfd);
	close(sys);
}

/*
 * KVM_RUN with immediate_exit after an I/O or MSR exit still retires the
 * answered instruction (complete_userspace_io runs first): the state saved
 * right after it has RIP past the OUT/IN/RDMSR, the IN data in AL and the
 * RDMSR result in EDX:EAX.  The selftests' vcpu_save_state relies on this
 * (their ucall is an IN).
 */
static void immediate(const char *dev)
{
	static const uint8_t code[] = {
		0xba, 0xf8, 0x03,                     /* 0x1000 mov $0x3f8, %dx */
		0xb0, 'h',                            /* 0x1003 mov $'h', %al */
		0xee,                                 /* 0x1005 out %al, (%dx) */
		0xec,                                 /* 0x1006 in (%dx), %al */
		0x66, 0xb9, 0x45, 0x23, 0x01, 0x00,   /* 0x1007 mov $0x12345, %ecx */
		0x0f, 0x32,                           /* 0x100d rdmsr (unknown: to us) */
		0xf4,                                 /* 0x100f hlt */
	};
	struct kvm_userspace_memory_region mr;
	struct kvm_regs regs = { .rip = 0x1000, .rflags = 0x2 };
	struct kvm_sregs sregs;
	struct kvm_run *run;
	int sys, vmfd, vcpufd, sz;
	uint8_t *mem;

	sys = open(dev, O_RDWR | O_CLOEXEC);
	if (sys < 0)
		die("open %s: %s", dev, strerror(errno));
	vmfd = IOC(sys, KVM_CREATE_VM, 0);
	SHOW("immediate.enable_msr_exit",
	     enable_cap(vmfd, KVM_CAP_X86_USER_SPACE_MSR, KVM_MSR_EXIT_REASON_UNKNOWN, 0), "");
	mem = mmap(NULL, 0x4000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	memcpy(mem + 0x1000, code, sizeof(code));
	mr = (struct kvm_userspace_memory_region){ .slot = 0, .guest_phys_addr = 0,
		.memory_size = 0x4000, .userspace_addr = (uintptr_t)mem };
	IOC(vmfd, KVM_SET_USER_MEMORY_REGION, &mr);
	vcpufd = IOC(vmfd, KVM_CREATE_VCPU, 0);
	sz = IOC(sys, KVM_GET_VCPU_MMAP_SIZE, 0);
	run = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, vcpufd, 0);
	if (run == MAP_FAILED)
		die("mmap run: %s", strerror(errno));
	IOC(vcpufd, KVM_GET_SREGS, &sregs);
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	IOC(vcpufd, KVM_SET_SREGS, &sregs);
	IOC(vcpufd, KVM_SET_REGS, &regs);

	SHOW("immediate.run_out", ioctl(vcpufd, KVM_RUN, 0), "exit=%s port=%#x",
	     exit_name(run->exit_reason), run->io.port);
	run->immediate_exit = 1;
	SHOW("immediate.run_retire_out", ioctl(vcpufd, KVM_RUN, 0), "");
	run->immediate_exit = 0;
	IOC(vcpufd, KVM_GET_REGS, &regs);
	printf("immediate.after_out rip=%#llx\n", (unsigned long long)regs.rip);

	SHOW("immediate.run_in", ioctl(vcpufd, KVM_RUN, 0), "exit=%s in=%d",
	     exit_name(run->exit_reason), run->io.direction == KVM_EXIT_IO_IN);
	*((uint8_t *)run + run->io.data_offset) = 0x5a;
	run->immediate_exit = 1;
	SHOW("immediate.run_retire_in", ioctl(vcpufd, KVM_RUN, 0), "");
	run->immediate_exit = 0;
	IOC(vcpufd, KVM_GET_REGS, &regs);
	printf("immediate.after_in rip=%#llx al=%#llx\n", (unsigned long long)regs.rip,
	       (unsigned long long)regs.rax & 0xff);

	SHOW("immediate.run_rdmsr", ioctl(vcpufd, KVM_RUN, 0), "exit=%s index=%#x",
	     exit_name(run->exit_reason), run->msr.index);
	run->msr.data = 0x1122334455667788ULL;
	run->immediate_exit = 1;
	SHOW("immediate.run_retire_rdmsr", ioctl(vcpufd, KVM_RUN, 0), "");
	run->immediate_exit = 0;
	IOC(vcpufd, KVM_GET_REGS, &regs);
	printf("immediate.after_rdmsr rip=%#llx eax=%#llx edx=%#llx\n",
	       (unsigned long long)regs.rip, (unsigned long long)regs.rax & 0xffffffff,
	       (unsigned long long)regs.rdx & 0xffffffff);
	/* nothing pending any more: a second immediate exit changes nothing */
	run->immediate_exit = 1;
	SHOW("immediate.run_again", ioctl(vcpufd, KVM_RUN, 0), "");
	run->immediate_exit = 0;
	SHOW("immediate.run_hlt", ioctl(vcpufd, KVM_RUN, 0), "exit=%s",
	     exit_name(run->exit_reason));
	close(vcpufd);
	close(vmfd);
	close(sys);
}

/*
 * KVM_RUN of a VM without any memslot: the fetch at the reset vector fails
 * in the emulator (KVM_EXIT_INTERNAL_ERROR).  A shadow MMU (this PVM host;
 * KVM without TDP) has no pages before the first slot sizes it, so the
 * client sets a limit first, as set_memory_region_test does; it must reach
 * the backend's MMU.
 */
static void zero_slots(const char *dev)
{
	struct kvm_run *run;
	int sys, vmfd, vcpufd, sz;

	sys = open(dev, O_RDWR | O_CLOEXEC);
	if (sys < 0)
		die("open %s: %s", dev, strerror(errno));
	vmfd = IOC(sys, KVM_CREATE_VM, 0);
	vcpufd = IOC(vmfd, KVM_CREATE_VCPU, 0);
	SHOW("zeroslots.set_nr_mmu_pages", ioctl(vmfd, KVM_SET_NR_MMU_PAGES, 64), "");
	sz = IOC(sys, KVM_GET_VCPU_MMAP_SIZE, 0);
	run = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, vcpufd, 0);
	if (run == MAP_FAILED)
		die("mmap run: %s", strerror(errno));
	SHOW("zeroslots.run", ioctl(vcpufd, KVM_RUN, 0), "exit=%s", exit_name(run->exit_reason));
	close(vcpufd);
	close(vmfd);
	close(sys);
}

/*
 * MONITOR and MWAIT in real mode, which KVM intercepts and retires as NOPs
 * (exits: IO 1, IO 2, HLT), or makes #UD once KVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS
 * is disabled and the guest's CPUID lacks MWAIT (no CPUID set at all here):
 * the IVT's #UD handler reports IO 6.  PVM's emulator refuses MONITOR
 * (INTERNAL_ERROR); lib.sh host_known has the KVM result for the host.
 */
static void mwait(const char *dev, bool ud)
{
	static const uint8_t code[] = {
		0xba, 0x10, 0x00,   /* 0x1000 mov $0x10, %dx */
		0x0f, 0x01, 0xc8,   /* 0x1003 monitor */
		0xb0, 0x01,         /* 0x1006 mov $1, %al */
		0xee,               /* 0x1008 out %al, (%dx) */
		0x0f, 0x01, 0xc9,   /* 0x1009 mwait */
		0xb0, 0x02,         /* 0x100c mov $2, %al */
		0xee,               /* 0x100e out %al, (%dx) */
		0xf4,               /* 0x100f hlt */
	};
	static const uint8_t ud_handler[] = {
		0xb0, 0x06,         /* 0x1100 mov $6, %al */
		0xee,               /* 0x1102 out %al, (%dx) */
		0xf4,               /* 0x1103 hlt */
	};
	struct kvm_userspace_memory_region mr;
	struct kvm_regs regs = { .rip = 0x1000, .rsp = 0x3000, .rflags = 0x2 };
	struct kvm_sregs sregs;
	struct kvm_run *run;
	int sys, vmfd, vcpufd, sz;
	uint8_t *mem;
	char trace[128] = "";

	sys = open(dev, O_RDWR | O_CLOEXEC);
	if (sys < 0)
		die("open %s: %s", dev, strerror(errno));
	vmfd = IOC(sys, KVM_CREATE_VM, 0);
	if (ud)
		SHOW("mwait.disable_quirk", enable_cap(vmfd, KVM_CAP_DISABLE_QUIRKS2,
						       KVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS, 0), "");
	mem = mmap(NULL, 0x4000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	memcpy(mem + 0x1000, code, sizeof(code));
	memcpy(mem + 0x1100, ud_handler, sizeof(ud_handler));
	/* IVT entry 6 (#UD): 0000:1100 */
	mem[0x18] = 0x00;
	mem[0x19] = 0x11;
	mr = (struct kvm_userspace_memory_region){ .slot = 0, .guest_phys_addr = 0,
		.memory_size = 0x4000, .userspace_addr = (uintptr_t)mem };
	IOC(vmfd, KVM_SET_USER_MEMORY_REGION, &mr);
	vcpufd = IOC(vmfd, KVM_CREATE_VCPU, 0);
	sz = IOC(sys, KVM_GET_VCPU_MMAP_SIZE, 0);
	run = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, vcpufd, 0);
	if (run == MAP_FAILED)
		die("mmap run: %s", strerror(errno));
	IOC(vcpufd, KVM_GET_SREGS, &sregs);
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	sregs.ss.base = 0;
	sregs.ss.selector = 0;
	IOC(vcpufd, KVM_SET_SREGS, &sregs);
	IOC(vcpufd, KVM_SET_REGS, &regs);
	for (int i = 0; i < 4; i++) {
		size_t n = strlen(trace);

		if (ioctl(vcpufd, KVM_RUN, 0) < 0) {
			snprintf(trace + n, sizeof(trace) - n, " errno=%s", ename(errno));
			break;
		}
		if (run->exit_reason == KVM_EXIT_IO) {
			snprintf(trace + n, sizeof(trace) - n, " IO(%u)",
				 *((uint8_t *)run + run->io.data_offset));
			continue;
		}
		snprintf(trace + n, sizeof(trace) - n, " %s", exit_name(run->exit_reason));
		break;
	}
	printf("mwait.%s exits:%s\n", ud ? "ud" : "nop", trace);
	close(vcpufd);
	close(vmfd);
	close(sys);
}

/*
 * KVM_CAP_EXIT_ON_EMULATION_FAILURE: an instruction KVM's emulator cannot
 * do (x87 FLDS from MMIO) exits with KVM_EXIT_INTERNAL_ERROR and, with the
 * cap, no #UD queued: the client skips it and the guest goes on (IO 7, HLT).
 * Without the cap the queued #UD would hit the empty IVT.
 */
static void emul_failure(const char *dev)
{
	static const uint8_t code[] = {
		0xbb, 0x00, 0x80,   /* 0x1000 mov $0x8000, %bx (no memory there) */
		0xd9, 0x07,         /* 0x1003 flds (%bx) */
		0xba, 0x10, 0x00,   /* 0x1005 mov $0x10, %dx */
		0xb0, 0x07,         /* 0x1008 mov $7, %al */
		0xee,               /* 0x100a out %al, (%dx) */
		0xf4,               /* 0x100b hlt */
	};
	struct kvm_userspace_memory_region mr;
	struct kvm_regs regs = { .rip = 0x1000, .rsp = 0x3000, .rflags = 0x2 };
	struct kvm_sregs sregs;
	struct kvm_run *run;
	int sys, vmfd, vcpufd, sz;
	uint8_t *mem;

	sys = open(dev, O_RDWR | O_CLOEXEC);
	if (sys < 0)
		die("open %s: %s", dev, strerror(errno));
	vmfd = IOC(sys, KVM_CREATE_VM, 0);
	SHOW("emulfail.check", ioctl(vmfd, KVM_CHECK_EXTENSION, KVM_CAP_EXIT_ON_EMULATION_FAILURE), "");
	SHOW("emulfail.enable_bad", enable_cap(vmfd, KVM_CAP_EXIT_ON_EMULATION_FAILURE, 2, 0), "");
	SHOW("emulfail.enable", enable_cap(vmfd, KVM_CAP_EXIT_ON_EMULATION_FAILURE, 1, 0), "");
	mem = mmap(NULL, 0x4000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	memcpy(mem + 0x1000, code, sizeof(code));
	mr = (struct kvm_userspace_memory_region){ .slot = 0, .guest_phys_addr = 0,
		.memory_size = 0x4000, .userspace_addr = (uintptr_t)mem };
	IOC(vmfd, KVM_SET_USER_MEMORY_REGION, &mr);
	vcpufd = IOC(vmfd, KVM_CREATE_VCPU, 0);
	sz = IOC(sys, KVM_GET_VCPU_MMAP_SIZE, 0);
	run = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, vcpufd, 0);
	if (run == MAP_FAILED)
		die("mmap run: %s", strerror(errno));
	IOC(vcpufd, KVM_GET_SREGS, &sregs);
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	IOC(vcpufd, KVM_SET_SREGS, &sregs);
	IOC(vcpufd, KVM_SET_REGS, &regs);
	SHOW("emulfail.run", ioctl(vcpufd, KVM_RUN, 0), "exit=%s suberror=%u",
	     exit_name(run->exit_reason), run->internal.suberror);
	IOC(vcpufd, KVM_GET_REGS, &regs);
	printf("emulfail.rip %#llx\n", (unsigned long long)regs.rip);
	regs.rip += 2;
	IOC(vcpufd, KVM_SET_REGS, &regs);
	SHOW("emulfail.run_on", ioctl(vcpufd, KVM_RUN, 0), "exit=%s data=%u",
	     exit_name(run->exit_reason), *((uint8_t *)run + run->io.data_offset));
	SHOW("emulfail.run_hlt", ioctl(vcpufd, KVM_RUN, 0), "exit=%s", exit_name(run->exit_reason));
	close(vcpufd);
	close(vmfd);
	close(sys);
}

int cmd_state(const char *dev)
{
	struct vm vm;
	struct vcpu v;

	printf("kvmtest state\n");
	vm_ioctls();
	vm_create(&vm, NULL);
	vm.mem[GUEST_LOAD] = 0xf4;   /* hlt, should the vCPU ever run */
	vcpu_create(&vm, &v, 0);
	events(&v);
	debugregs(&v);
	xcrs(&v);
	xsave(&v);
	misc(&v);
	close(v.fd);
	close(vm.fd);
	close(vm.sys);
	classic(dev);
	sync_regs(dev);
	user_msr(dev);
	immediate(dev);
	zero_slots(dev);
	mwait(dev, false);
	mwait(dev, true);
	emul_failure(dev);
	printf("result: ok\n");
	return 0;
}
