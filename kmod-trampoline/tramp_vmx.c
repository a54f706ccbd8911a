// SPDX-License-Identifier: GPL-2.0
/*
 * Intel VMX backend: one VMCS per vCPU, EPT, every I/O port and MSR access,
 * HLT and CPUID exiting, raw exits handed to the daemon.
 *
 * A VMCS is active on at most one CPU (vmx->cpu, listed in that CPU's
 * loaded_vmcss); touching it from another CPU VMCLEARs it there first (IPI)
 * and VMPTRLDs it here.  Field access and RUN run with preemption off.
 * Host state is written before every entry; the ABI reaches guest state
 * only (the field table below), never controls or host fields.
 */
#define pr_fmt(fmt) "cused-tramp: " fmt

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/smp.h>
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/idr.h>
#include <linux/percpu.h>
#include <asm/msr.h>
#include <asm/msr-index.h>
#include <asm/processor.h>
#include <asm/cpufeature.h>
#include <asm/tlbflush.h>
#include <asm/special_insns.h>
#include <asm/desc.h>
#include <asm/vmx.h>
#include <asm/debugreg.h>
#include <asm/cpu_entry_area.h>
#include <asm/fpu/api.h>
#include <asm/trapnr.h>
#include "tramp.h"

static bool ept_ad = true;
module_param(ept_ad, bool, 0444);
MODULE_PARM_DESC(ept_ad, "VMX: dirty log from EPT A/D bits when offered (else write protection)");
static bool vpid = true;
module_param(vpid, bool, 0444);
MODULE_PARM_DESC(vpid, "VMX: tag guest TLB entries with a VPID when offered");

/* tramp_vmx_asm.S */
int cused_vmx_run(u64 *gprs, int launched);	/* 0 VM exit, 1 VMfail */
void cused_vmx_exit(void);			/* HOST_RIP */
void cused_vmx_do_irq(unsigned long entry);
void cused_vmx_do_nmi(void);

/* EPT leaf: R W X, memory type WB, A D; write-protect dirty logging's
 * software bits (52: written since GET_DIRTY, 53: may write) */
#define EPT_W		VMX_EPT_WRITABLE_MASK
#define EPT_WB		(6ull << VMX_EPT_MT_EPTE_SHIFT)
#define EPT_SOFT_D	BIT_ULL(52)
#define EPT_SOFT_W	BIT_ULL(53)

/*
 * The VMX-preemption timer bounds every stay in the guest (~1 ms of TSC at
 * the usual rate 5), like a host interrupt would.  Bochs 2.7 needs it: it
 * recomputes interrupt masking on RFLAGS.IF changes only outside the guest,
 * so a guest entered with IF=0 never sees external-interrupt exits (timer
 * ticks, KICK) until it sets IF itself.
 */
#define VMX_WATCHDOG		0x20000
#define EXIT_FAILED_ENTRY	0x80000000u
#define VMFAIL_REASON		0xffffffffu

/* what this CPU offers and the controls every VMCS gets (vmx_setup_caps) */
static struct {
	u32 pin, proc, proc2, exit, entry;
	u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	bool ug, vpid, ept_ad, invept_single, invvpid_single;
} vc;

static struct page **vmxon_page;
static DEFINE_PER_CPU(bool, vmx_on);
static DEFINE_PER_CPU(struct vmx_vcpu *, cur_vmcs);
static DEFINE_PER_CPU(struct list_head, loaded_vmcss);
static u32 vmcs_revision;
static DEFINE_IDA(vpid_ida);
static int hp_state = -1;

struct vmx_vcpu {
	struct tramp_vcpu *v;
	void *vmcs;
	u8 *vapic;			/* TPR shadow: guest CR8 lives at 0x80 */
	int cpu;			/* CPU the VMCS is active on, or -1 */
	struct list_head loaded;	/* in that CPU's loaded_vmcss */
	bool launched;
	bool flush;			/* paging state edited from outside */
	int vpid;
	/* guest state VMX does not switch: loaded around the entry or stored only */
	u64 cr2, smsr[5];		/* smsr: syscall_msrs[] order */
	u64 dr6;
};

/* guest MSRs VM entry does not load: swapped around it (all guest accesses exit) */
static const u32 syscall_msrs[5] = {
	MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK, MSR_KERNEL_GS_BASE
};

#define to_vmx(v) ((struct vmx_vcpu *)(v)->arch)

/* ---- VMX instructions ---------------------------------------------------------- */

static __always_inline unsigned long vmread(unsigned long field)
{
	unsigned long val;

	asm volatile("vmread %1, %0" : "=rm"(val) : "r"(field) : "cc");
	return val;
}

static __always_inline void vmwrite(unsigned long field, unsigned long val)
{
	asm volatile("vmwrite %1, %0" : : "r"(field), "rm"(val) : "cc", "memory");
}

#define VMCS_OP(insn, vmcs) ({ u64 __pa = __pa(vmcs); \
	asm volatile(insn " %0" : : "m"(__pa) : "cc", "memory"); })
#define vmcs_clear(vmcs) VMCS_OP("vmclear", vmcs)
#define vmcs_ptrld(vmcs) VMCS_OP("vmptrld", vmcs)

static void invept(unsigned long type, u64 eptp)
{
	struct { u64 eptp, rsvd; } d = { eptp, 0 };

	asm volatile("invept %0, %1" : : "m"(d), "r"(type) : "cc", "memory");
}

static void invvpid(unsigned long type, u16 id)
{
	struct { u64 vpid, gla; } d = { id, 0 };

	asm volatile("invvpid %0, %1" : : "m"(d), "r"(type) : "cc", "memory");
}

static u64 eptp_of(struct tramp_vm *vm)
{
	return __pa(vm->npt_root) | VMX_EPTP_MT_WB | VMX_EPTP_PWL_4 |
	       (vc.ept_ad ? VMX_EPTP_AD_ENABLE_BIT : 0);
}

/* ---- per-CPU VMX operation and loaded VMCSs --------------------------------------- */

static int vmxon_pa(u64 pa)
{
	asm goto("1: vmxon %0\n\t"
		 "jbe %l[fail]\n\t"
		 _ASM_EXTABLE(1b, %l[fault])
		 : : "m"(pa) : "cc", "memory" : fail, fault);
	return 0;
fail:
	return -EIO;
fault:
	return -EFAULT;
}

/* cpuhp callback, on that CPU (bound hotplug thread) */
static int vmx_cpu_online(unsigned int cpu)
{
	u64 fc;
	unsigned long cr0 = read_cr0(), cr4 = __read_cr4() | X86_CR4_VMXE;

	rdmsrl(MSR_IA32_FEAT_CTL, fc);
	if (!(fc & FEAT_CTL_LOCKED)) {
		fc |= FEAT_CTL_LOCKED | FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX;
		wrmsrl(MSR_IA32_FEAT_CTL, fc);
	}
	if (!(fc & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX)) {
		pr_info("cpu%d: VMX disabled in IA32_FEATURE_CONTROL\n", cpu);
		return -ENODEV;
	}
	if (__read_cr4() & X86_CR4_VMXE) {
		pr_info("cpu%d: CR4.VMXE already set, VMX owned elsewhere\n", cpu);
		return -EBUSY;
	}
	if ((cr0 & vc.cr0_fixed0) != vc.cr0_fixed0 || (cr0 & ~vc.cr0_fixed1) ||
	    (cr4 & vc.cr4_fixed0) != vc.cr4_fixed0 || (cr4 & ~vc.cr4_fixed1)) {
		pr_info("cpu%d: CR0 %#lx / CR4 %#lx violate VMX fixed bits\n", cpu, cr0, cr4);
		return -ENODEV;
	}
	cr4_set_bits(X86_CR4_VMXE);
	if (vmxon_pa(page_to_phys(vmxon_page[cpu]))) {
		cr4_clear_bits(X86_CR4_VMXE);
		pr_info("cpu%d: VMXON failed\n", cpu);
		return -EIO;
	}
	this_cpu_write(vmx_on, true);
	return 0;
}

/* VMCLEAR on the CPU the VMCS is active on; runs there with IRQs off */
static void vmx_clear_here(void *arg)
{
	struct vmx_vcpu *x = arg;

	if (x->cpu != smp_processor_id())
		return;
	vmcs_clear(x->vmcs);
	if (this_cpu_read(cur_vmcs) == x)
		this_cpu_write(cur_vmcs, NULL);
	list_del(&x->loaded);
	x->launched = false;
	smp_wmb();
	WRITE_ONCE(x->cpu, -1);
}

/* IRQs on.  A CPU gone offline has cleared its VMCSs already. */
static void vmx_clear(struct vmx_vcpu *x)
{
	int cpu = READ_ONCE(x->cpu);

	if (cpu >= 0)
		smp_call_function_single(cpu, vmx_clear_here, x, 1);
}

/*
 * Make x the current VMCS of this CPU; preemption off, IRQs on.  -EAGAIN on
 * a CPU on its way offline (VMXOFF already done there): try again elsewhere.
 */
static int vmx_load(struct vmx_vcpu *x)
{
	int cpu = smp_processor_id();

	if (!this_cpu_read(vmx_on))
		return -EAGAIN;
	if (x->cpu != cpu) {
		vmx_clear(x);
		local_irq_disable();
		vmcs_clear(x->vmcs);	/* a new VMCS: launch state "clear" */
		list_add(&x->loaded, this_cpu_ptr(&loaded_vmcss));
		x->cpu = cpu;
		local_irq_enable();
	}
	if (this_cpu_read(cur_vmcs) != x) {
		vmcs_ptrld(x->vmcs);
		this_cpu_write(cur_vmcs, x);
	}
	return 0;
}

static int vmx_cpu_offline(unsigned int cpu)
{
	struct vmx_vcpu *x, *n;

	local_irq_disable();
	list_for_each_entry_safe(x, n, this_cpu_ptr(&loaded_vmcss), loaded)
		vmx_clear_here(x);
	if (this_cpu_read(vmx_on)) {
		asm volatile("vmxoff" ::: "cc", "memory");
		cr4_clear_bits(X86_CR4_VMXE);
		this_cpu_write(vmx_on, false);
	}
	local_irq_enable();
	return 0;
}

/* ---- vCPU ------------------------------------------------------------------------ */

/* CR bits the guest may not own: it reads them from the read shadow */
#define cr0_mask() (~vc.cr0_fixed1 | vc.cr0_fixed0)
#define cr4_mask() (~vc.cr4_fixed1 | vc.cr4_fixed0)

/* architectural reset state; the daemon overwrites what it cares about */
static void vmx_setup_vmcs(struct tramp_vcpu *v, struct vmx_vcpu *x)
{
	int s;

	vmwrite(PIN_BASED_VM_EXEC_CONTROL, vc.pin);
	vmwrite(CPU_BASED_VM_EXEC_CONTROL, vc.proc);
	vmwrite(SECONDARY_VM_EXEC_CONTROL, vc.proc2);
	vmwrite(VM_EXIT_CONTROLS, vc.exit);
	vmwrite(VM_ENTRY_CONTROLS, vc.entry);
	/* #AC can loop forever in microcode (CVE-2015-5307) */
	vmwrite(EXCEPTION_BITMAP, BIT(X86_TRAP_AC));
	vmwrite(CR3_TARGET_COUNT, 0);
	vmwrite(VM_EXIT_MSR_STORE_COUNT, 0);
	vmwrite(VM_EXIT_MSR_LOAD_COUNT, 0);
	vmwrite(VM_ENTRY_MSR_LOAD_COUNT, 0);
	vmwrite(VIRTUAL_APIC_PAGE_ADDR, __pa(x->vapic));
	vmwrite(TPR_THRESHOLD, 0);
	vmwrite(EPT_POINTER, eptp_of(v->vm));
	if (vc.vpid)
		vmwrite(VIRTUAL_PROCESSOR_ID, x->vpid);
	vmwrite(CR0_GUEST_HOST_MASK, cr0_mask());
	vmwrite(CR4_GUEST_HOST_MASK, cr4_mask());
	vmwrite(VMCS_LINK_POINTER, -1ull);
	vmwrite(TSC_OFFSET, -rdtsc());

	for (s = 0; s < CUSED_SEG_NR; s++) {
		vmwrite(GUEST_ES_SELECTOR + 2 * s, 0);
		vmwrite(GUEST_ES_BASE + 2 * s, 0);
		vmwrite(GUEST_ES_LIMIT + 2 * s, 0xffff);
		vmwrite(GUEST_ES_AR_BYTES + 2 * s, 0x93);
	}
	vmwrite(GUEST_CS_SELECTOR, 0xf000);
	vmwrite(GUEST_CS_BASE, 0xffff0000);
	vmwrite(GUEST_CS_AR_BYTES, 0x9b);
	vmwrite(GUEST_LDTR_AR_BYTES, 0x82);
	vmwrite(GUEST_TR_AR_BYTES, 0x8b);
	vmwrite(GUEST_GDTR_LIMIT, 0xffff);
	vmwrite(GUEST_IDTR_LIMIT, 0xffff);
	vmwrite(GUEST_IA32_EFER, 0);
	vmwrite(CR0_READ_SHADOW, X86_CR0_NW | X86_CR0_CD | X86_CR0_ET);
	vmwrite(GUEST_CR0, ((X86_CR0_NW | X86_CR0_CD | X86_CR0_ET) | vc.cr0_fixed0) &
		vc.cr0_fixed1);
	vmwrite(CR4_READ_SHADOW, 0);
	vmwrite(GUEST_CR4, vc.cr4_fixed0);
	vmwrite(GUEST_DR7, 0x400);
	vmwrite(GUEST_RFLAGS, X86_EFLAGS_FIXED);
	vmwrite(GUEST_RIP, 0xfff0);
	vmwrite(GUEST_IA32_PAT, 0x0007040600070406ULL);
	vmwrite(GUEST_IA32_DEBUGCTL, 0);
	vmwrite(GUEST_ACTIVITY_STATE, 0);
	vmwrite(GUEST_INTERRUPTIBILITY_INFO, 0);
	vmwrite(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmwrite(VM_ENTRY_INTR_INFO_FIELD, 0);
}

static void vmx_vcpu_free(struct tramp_vcpu *v)
{
	struct vmx_vcpu *x = to_vmx(v);

	if (!x)
		return;
	vmx_clear(x);
	if (x->vpid > 0)
		ida_free(&vpid_ida, x->vpid);
	free_page((unsigned long)x->vmcs);
	free_page((unsigned long)x->vapic);
	kfree(x);
	v->arch = NULL;
}

static int vmx_vcpu_init(struct tramp_vcpu *v)
{
	struct vmx_vcpu *x = kzalloc(sizeof(*x), GFP_KERNEL_ACCOUNT);
	int r;

	if (!x)
		return -ENOMEM;
	x->v = v;
	x->cpu = -1;
	INIT_LIST_HEAD(&x->loaded);
	x->vmcs = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	x->vapic = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	x->vpid = vc.vpid ? ida_alloc_range(&vpid_ida, 1, 0xffff, GFP_KERNEL) : 0;
	v->arch = x;
	if (!x->vmcs || !x->vapic || x->vpid < 0) {
		r = x->vpid < 0 ? -ENOSPC : -ENOMEM;
		x->vpid = max(x->vpid, 0);
		vmx_vcpu_free(v);
		return r;
	}
	*(u32 *)x->vmcs = vmcs_revision;
	preempt_disable();
	r = vmx_load(x);
	if (!r)
		vmx_setup_vmcs(v, x);
	preempt_enable();
	x->dr6 = DR6_RESERVED;
	if (r)
		vmx_vcpu_free(v);
	return r;
}

/* ---- fields ------------------------------------------------------------------------ */

/* value checks of the field table */
enum { CK_NONE, CK_CANON, CK_U16, CK_U32, CK_PAT };

/* cused field id -> VMCS encoding, for fields that are a VMCS field as-is */
static const struct { u16 id, enc; u8 check; } vmcs_fields[] = {
	{ CUSED_F_RSP, GUEST_RSP, CK_NONE },
	{ CUSED_F_RIP, GUEST_RIP, CK_NONE },
	{ CUSED_F_RFLAGS, GUEST_RFLAGS, CK_NONE },
	{ CUSED_F_CR3, GUEST_CR3, CK_NONE },
	{ CUSED_F_DR7, GUEST_DR7, CK_U32 },
	{ CUSED_F_GDTR_BASE, GUEST_GDTR_BASE, CK_CANON },
	{ CUSED_F_GDTR_LIMIT, GUEST_GDTR_LIMIT, CK_U16 },
	{ CUSED_F_IDTR_BASE, GUEST_IDTR_BASE, CK_CANON },
	{ CUSED_F_IDTR_LIMIT, GUEST_IDTR_LIMIT, CK_U16 },
	{ CUSED_F_SYSENTER_CS, GUEST_SYSENTER_CS, CK_U16 },
	{ CUSED_F_SYSENTER_ESP, GUEST_SYSENTER_ESP, CK_CANON },
	{ CUSED_F_SYSENTER_EIP, GUEST_SYSENTER_EIP, CK_CANON },
	{ CUSED_F_PAT, GUEST_IA32_PAT, CK_PAT },
};

/* fields VMX does not switch by itself: kept here */
static u64 *soft_slot(struct tramp_vcpu *v, u32 id, bool *canon)
{
	struct vmx_vcpu *x = to_vmx(v);

	*canon = false;
	if (id < CUSED_F_GPR_END && id != CUSED_F_RSP && id != CUSED_F_RIP &&
	    id != CUSED_F_RFLAGS)
		return &v->gprs[id];
	switch (id) {
	case CUSED_F_CR2: return &x->cr2;
	case CUSED_F_DR6: return &x->dr6;
	case CUSED_F_STAR: return &x->smsr[0];
	case CUSED_F_SFMASK: return &x->smsr[3];
	}
	*canon = true;
	switch (id) {
	case CUSED_F_LSTAR: return &x->smsr[1];
	case CUSED_F_CSTAR: return &x->smsr[2];
	case CUSED_F_KERNEL_GS_BASE: return &x->smsr[4];
	}
	return NULL;
}

static int vmcs_field_index(u32 id)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(vmcs_fields); i++)
		if (vmcs_fields[i].id == id)
			return i;
	return -1;
}

/* segment parts: the ES encoding of each, +2 per segment (ES CS SS DS FS GS LDTR TR) */
static const u16 seg_part_enc[4] = {
	GUEST_ES_SELECTOR, GUEST_ES_BASE, GUEST_ES_LIMIT, GUEST_ES_AR_BYTES
};
#define seg_enc(id) (seg_part_enc[((id) - CUSED_F_SEG(0, 0)) % 4] + \
		     2 * (((id) - CUSED_F_SEG(0, 0)) / 4))

/* VMCS is current here (vmx_load), preemption off */
static int vmx_read(struct tramp_vcpu *v, u32 id, u64 *val)
{
	struct vmx_vcpu *x = to_vmx(v);
	bool canon;
	u64 *p = soft_slot(v, id, &canon);
	int i = vmcs_field_index(id);

	if (p) {
		*val = *p;
		return 0;
	}
	if (i >= 0) {
		*val = vmread(vmcs_fields[i].enc);
		return 0;
	}
	if (tramp_field_is_seg(id)) {
		*val = vmread(seg_enc(id));
		return 0;
	}
	switch (id) {
	case CUSED_F_CR0:
		*val = (vmread(GUEST_CR0) & ~cr0_mask()) | (vmread(CR0_READ_SHADOW) & cr0_mask());
		break;
	case CUSED_F_CR4:
		*val = (vmread(GUEST_CR4) & ~cr4_mask()) | (vmread(CR4_READ_SHADOW) & cr4_mask());
		break;
	case CUSED_F_CR8: *val = x->vapic[0x80] >> 4; break;
	case CUSED_F_EFER: *val = vmread(GUEST_IA32_EFER); break;
	case CUSED_F_TSC: *val = rdtsc() + vmread(TSC_OFFSET); break;
	case CUSED_F_PENDING_IRQ:
		*val = (u32)vmread(VM_ENTRY_INTR_INFO_FIELD) |
		       ((u64)(u32)vmread(VM_ENTRY_EXCEPTION_ERROR_CODE) << 32);
		break;
	case CUSED_F_INTERRUPTIBILITY: *val = vmread(GUEST_INTERRUPTIBILITY_INFO); break;
	case CUSED_F_REQ_IRQ_WINDOW:
		*val = !!(vmread(CPU_BASED_VM_EXEC_CONTROL) & CPU_BASED_INTR_WINDOW_EXITING);
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

static int vmx_write(struct tramp_vcpu *v, u32 id, u64 val)
{
	struct vmx_vcpu *x = to_vmx(v);
	bool canon;
	u64 *p = soft_slot(v, id, &canon);
	int i = vmcs_field_index(id);

	if (p) {
		if ((canon && !tramp_canonical(val)) || (id == CUSED_F_DR6 && val >> 32))
			return -EINVAL;
		*p = val;
		return 0;
	}
	if (i >= 0) {
		switch (vmcs_fields[i].check) {
		case CK_CANON: if (!tramp_canonical(val)) return -EINVAL; break;
		case CK_U16: if (val > 0xffff) return -EINVAL; break;
		case CK_U32: if (val >> 32) return -EINVAL; break;
		case CK_PAT: if (!tramp_pat_valid(val)) return -EINVAL; break;
		}
		vmwrite(vmcs_fields[i].enc, val);
		if (id == CUSED_F_CR3)
			x->flush = true;
		return 0;
	}
	if (tramp_field_is_seg(id)) {
		if (!tramp_seg_valid((id - CUSED_F_SEG(0, 0)) % 4, val))
			return -EINVAL;
		/* as KVM: real mode under unrestricted guest needs "accessed" */
		if ((id - CUSED_F_SEG(0, 0)) % 4 == CUSED_SEGP_ATTR && vc.ug &&
		    id != CUSED_F_SEG(CUSED_SEG_LDTR, CUSED_SEGP_ATTR) &&
		    !(val & CUSED_SEG_ATTR_UNUSABLE))
			val |= 1;
		vmwrite(seg_enc(id), val);
		return 0;
	}
	switch (id) {
	case CUSED_F_CR0:
	case CUSED_F_CR4: {
		/* the guest reads its own value (shadow); the CPU runs with the fixed bits */
		bool cr0 = id == CUSED_F_CR0;

		if (val >> 32)
			return -EINVAL;
		vmwrite(cr0 ? CR0_READ_SHADOW : CR4_READ_SHADOW, val);
		vmwrite(cr0 ? GUEST_CR0 : GUEST_CR4, cr0 ? (val | vc.cr0_fixed0) & vc.cr0_fixed1 :
			(val | vc.cr4_fixed0) & vc.cr4_fixed1);
		x->flush = true;
		break;
	}
	case CUSED_F_CR8:
		if (val > 15)
			return -EINVAL;
		x->vapic[0x80] = val << 4;
		break;
	case CUSED_F_EFER:
		vmwrite(GUEST_IA32_EFER, val);	/* VM entry checks the rest */
		x->flush = true;
		break;
	case CUSED_F_TSC:
		vmwrite(TSC_OFFSET, val - rdtsc());
		break;
	case CUSED_F_PENDING_IRQ: {
		/* bits 63:32 carry the error code; INT n goes in as external */
		int type = tramp_event_type(val);

		if (!(val & BIT(31))) {
			vmwrite(VM_ENTRY_INTR_INFO_FIELD, 0);
			break;
		}
		if (type < 0)
			return type;
		vmwrite(VM_ENTRY_INTR_INFO_FIELD, (val & 0x800008ffULL) | ((type == 4 ? 0 : type) << 8));
		vmwrite(VM_ENTRY_EXCEPTION_ERROR_CODE, val >> 32);
		break;
	}
	case CUSED_F_INTERRUPTIBILITY:
		if (val & ~0xfULL)
			return -EINVAL;
		vmwrite(GUEST_INTERRUPTIBILITY_INFO, val);
		break;
	case CUSED_F_REQ_IRQ_WINDOW: {
		u32 proc = vmread(CPU_BASED_VM_EXEC_CONTROL);

		proc = val ? proc | CPU_BASED_INTR_WINDOW_EXITING :
			     proc & ~CPU_BASED_INTR_WINDOW_EXITING;
		vmwrite(CPU_BASED_VM_EXEC_CONTROL, proc);
		break;
	}
	default:
		return -EINVAL;		/* unknown, or host state / controls */
	}
	return 0;
}

static int vmx_field(struct tramp_vcpu *v, u32 id, u64 *val, bool write)
{
	int r;

	preempt_disable();
	r = vmx_load(to_vmx(v));
	if (!r)
		r = write ? vmx_write(v, id, *val) : vmx_read(v, id, val);
	preempt_enable();
	return r;
}

static int vmx_get_field(struct tramp_vcpu *v, u32 id, u64 *val)
{
	return vmx_field(v, id, val, false);
}

static int vmx_set_field(struct tramp_vcpu *v, u32 id, u64 val)
{
	return vmx_field(v, id, &val, true);
}

/* ---- running -------------------------------------------------------------------- */

static bool vmx_exit_is_host_irq(const struct cused_tramp_exit *ex)
{
	return !ex->entry_failed && (ex->reason == EXIT_REASON_EXTERNAL_INTERRUPT ||
	       ex->reason == EXIT_REASON_PREEMPTION_TIMER ||
	       (ex->reason == EXIT_REASON_EXCEPTION_NMI && (ex->info2 & INTR_INFO_VALID_MASK) &&
		(ex->info2 & INTR_INFO_INTR_TYPE_MASK) == INTR_TYPE_NMI_INTR));
}

/* everything the CPU loads on VM exit; IRQs off, VMCS current */
static void vmx_write_host_state(int cpu)
{
	static const struct { u32 msr; u16 field; } msrs[] = {
		{ MSR_FS_BASE, HOST_FS_BASE }, { MSR_GS_BASE, HOST_GS_BASE },
		{ MSR_IA32_SYSENTER_CS, HOST_IA32_SYSENTER_CS },
		{ MSR_IA32_SYSENTER_ESP, HOST_IA32_SYSENTER_ESP },
		{ MSR_IA32_SYSENTER_EIP, HOST_IA32_SYSENTER_EIP },
		{ MSR_EFER, HOST_IA32_EFER }, { MSR_IA32_CR_PAT, HOST_IA32_PAT },
	};
	struct desc_ptr dt;
	u64 msr;
	int i;

	for (i = 0; i < ARRAY_SIZE(msrs); i++) {
		rdmsrl(msrs[i].msr, msr);
		vmwrite(msrs[i].field, msr);
	}
	vmwrite(HOST_CR0, read_cr0());
	vmwrite(HOST_CR3, __read_cr3());
	vmwrite(HOST_CR4, __read_cr4());
	vmwrite(HOST_CS_SELECTOR, __KERNEL_CS);
	vmwrite(HOST_SS_SELECTOR, __KERNEL_DS);
	vmwrite(HOST_DS_SELECTOR, 0);
	vmwrite(HOST_ES_SELECTOR, 0);
	vmwrite(HOST_FS_SELECTOR, 0);
	vmwrite(HOST_GS_SELECTOR, 0);
	vmwrite(HOST_TR_SELECTOR, GDT_ENTRY_TSS * 8);
	vmwrite(HOST_TR_BASE, (unsigned long)&get_cpu_entry_area(cpu)->tss.x86_tss);
	native_store_gdt(&dt);
	vmwrite(HOST_GDTR_BASE, dt.address);
	store_idt(&dt);
	vmwrite(HOST_IDTR_BASE, dt.address);
	vmwrite(HOST_RIP, (unsigned long)cused_vmx_exit);
	/* HOST_RSP: cused_vmx_run */
}

/* entry controls and event fields that follow guest state the daemon set */
static void vmx_fix_entry_state(void)
{
	u32 entry = vmread(VM_ENTRY_CONTROLS) & ~VM_ENTRY_IA32E_MODE;
	u32 intr = vmread(VM_ENTRY_INTR_INFO_FIELD);
	u32 shadow = vmread(GUEST_INTERRUPTIBILITY_INFO);
	u64 rflags = vmread(GUEST_RFLAGS);

	if (vmread(GUEST_IA32_EFER) & EFER_LMA)
		entry |= VM_ENTRY_IA32E_MODE;
	vmwrite(VM_ENTRY_CONTROLS, entry);
	/* STI blocking needs IF; STI and MOV SS blocking never together; no SMM */
	if (!(rflags & X86_EFLAGS_IF))
		shadow &= ~GUEST_INTR_STATE_STI;
	if (shadow & GUEST_INTR_STATE_MOV_SS)
		shadow &= ~GUEST_INTR_STATE_STI;
	shadow &= ~GUEST_INTR_STATE_SMI;
	vmwrite(GUEST_INTERRUPTIBILITY_INFO, shadow);
	/* an error code is delivered only by protected-mode hardware exceptions */
	if ((intr & INTR_INFO_DELIVER_CODE_MASK) &&
	    ((intr & INTR_INFO_INTR_TYPE_MASK) != INTR_TYPE_HARD_EXCEPTION ||
	     !(vmread(GUEST_CR0) & X86_CR0_PE)))
		vmwrite(VM_ENTRY_INTR_INFO_FIELD, intr & ~INTR_INFO_DELIVER_CODE_MASK);
}

/* the host interrupt or NMI behind an exit, taken through the host IDT */
static void vmx_host_event(u32 reason, u32 info)
{
	if (!(info & INTR_INFO_VALID_MASK))
		return;
	if (reason == EXIT_REASON_EXTERNAL_INTERRUPT) {
		struct desc_ptr dt;

		store_idt(&dt);
		cused_vmx_do_irq(gate_offset((gate_desc *)dt.address + (info & INTR_INFO_VECTOR_MASK)));
	} else if (reason == EXIT_REASON_EXCEPTION_NMI &&
		   (info & INTR_INFO_INTR_TYPE_MASK) == INTR_TYPE_NMI_INTR) {
		cused_vmx_do_nmi();
	}
}

/*
 * Write-protect dirty logging (no EPT A/D): the first write to a logged
 * page faults here, is marked and allowed.  The fault already dropped the
 * stale translation, so the guest retries without an INVEPT.
 */
static bool vmx_log_write(struct tramp_vcpu *v, u64 gpa, u64 qual)
{
	u64 *pte;

	if (vc.ept_ad || !(qual & EPT_VIOLATION_ACC_WRITE))
		return false;
	pte = tramp_npt_leaf(v->vm, gpa);
	if (!pte || !(READ_ONCE(*pte) & EPT_SOFT_W) || (READ_ONCE(*pte) & EPT_W))
		return false;
	WRITE_ONCE(*pte, *pte | EPT_W | EPT_SOFT_D);
	return true;
}

static int vmx_run_once(struct tramp_vcpu *v, struct cused_tramp_exit *ex)
{
	struct vmx_vcpu *x = to_vmx(v);
	u64 h_msr[5], h_fsbase, h_debugctl, cr0;
	u16 h_ds, h_es, h_fs, h_gs;
	u32 reason = 0, info;
	int cpu, gen, fail, i;

	kernel_fpu_begin();		/* host FPU state saved; also no preemption */
	cpu = vmx_load(x) ?: tramp_claim_cpu(v);
	if (cpu < 0) {
		kernel_fpu_end();
		return -EAGAIN;
	}

	/* without unrestricted guest only paged protected mode can run */
	cr0 = vmread(CR0_READ_SHADOW);
	if (!vc.ug && (cr0 & (X86_CR0_PE | X86_CR0_PG)) != (X86_CR0_PE | X86_CR0_PG)) {
		tramp_release_cpu(v);
		kernel_fpu_end();
		ex->vendor = CUSED_VENDOR_INTEL;
		ex->reason = EXIT_FAILED_ENTRY | EXIT_REASON_INVALID_STATE;
		ex->entry_failed = 1;
		ex->rip = vmread(GUEST_RIP);
		return 0;
	}

	/* new CPU, or EPT entries lost rights: flush this EPTP; CR edits: VPID */
	gen = atomic_read(&v->vm->tlb_gen);
	if (cpu != v->last_cpu || gen != v->tlb_gen) {
		invept(vc.invept_single ? VMX_EPT_EXTENT_CONTEXT : VMX_EPT_EXTENT_GLOBAL,
		       eptp_of(v->vm));
		x->flush = true;
	}
	if (x->flush && vc.vpid)
		invvpid(vc.invvpid_single ? VMX_VPID_EXTENT_SINGLE_CONTEXT :
			VMX_VPID_EXTENT_ALL_CONTEXT, x->vpid);
	x->flush = false;
	v->last_cpu = cpu;
	v->tlb_gen = gen;

	vmx_write_host_state(cpu);
	vmx_fix_entry_state();
	if (vc.pin & PIN_BASED_VMX_PREEMPTION_TIMER)
		vmwrite(VMX_PREEMPTION_TIMER_VALUE, VMX_WATCHDOG);

	/* state VM entry does not load: segment selectors, syscall MSRs, CR2 */
	savesegment(ds, h_ds);
	savesegment(es, h_es);
	savesegment(fs, h_fs);
	savesegment(gs, h_gs);
	rdmsrl(MSR_FS_BASE, h_fsbase);
	if (rdmsrl_safe(MSR_IA32_DEBUGCTLMSR, &h_debugctl))
		h_debugctl = 0;			/* Bochs has no DEBUGCTL */
	for (i = 0; i < ARRAY_SIZE(syscall_msrs); i++) {
		rdmsrl(syscall_msrs[i], h_msr[i]);
		wrmsrl(syscall_msrs[i], x->smsr[i]);
	}
	native_write_cr2(x->cr2);

	tramp_fx_load(v);
	fail = cused_vmx_run(v->gprs, x->launched);
	tramp_fx_save(v);

	x->cr2 = native_read_cr2();
	rdmsrl(MSR_KERNEL_GS_BASE, x->smsr[4]);	/* SWAPGS changes it without an exit */
	for (i = 0; i < ARRAY_SIZE(syscall_msrs); i++)
		wrmsrl(syscall_msrs[i], h_msr[i]);
	if (h_debugctl)
		wrmsrl(MSR_IA32_DEBUGCTLMSR, h_debugctl);	/* VM exit cleared it */
	if (h_ds)
		loadsegment(ds, h_ds);
	if (h_es)
		loadsegment(es, h_es);
	if (h_fs) {
		loadsegment(fs, h_fs);
		wrmsrl(MSR_FS_BASE, h_fsbase);
	}
	if (h_gs)
		load_gs_index(h_gs);
	/* VM exit leaves GDTR.limit 0xffff and TR.limit 0x67 */
	load_fixmap_gdt(cpu);
	invalidate_tss_limit();

	ex->vendor = CUSED_VENDOR_INTEL;
	ex->rip = vmread(GUEST_RIP);
	if (fail) {
		/* VMfailValid (error number) or VMfailInvalid (0) */
		ex->reason = VMFAIL_REASON;
		ex->entry_failed = 1;
		ex->qual = vmread(VM_INSTRUCTION_ERROR);
	} else {
		x->launched = true;
		reason = vmread(VM_EXIT_REASON);
		info = vmread(VM_EXIT_INTR_INFO);
		vmx_host_event(reason, info);
		ex->reason = reason;
		ex->entry_failed = !!(reason & EXIT_FAILED_ENTRY);
		ex->qual = vmread(EXIT_QUALIFICATION);
		ex->info2 = info | (u64)vmread(VMX_INSTRUCTION_INFO) << 32;
		ex->insn_len = vmread(VM_EXIT_INSTRUCTION_LEN);
		ex->intr_info = vmread(IDT_VECTORING_INFO_FIELD);
		if (reason == EXIT_REASON_EPT_VIOLATION || reason == EXIT_REASON_EPT_MISCONFIG)
			ex->gpa = vmread(GUEST_PHYSICAL_ADDRESS);
		if (reason == EXIT_REASON_EPT_VIOLATION && (ex->qual & EPT_VIOLATION_GVA_IS_VALID))
			ex->gla = vmread(GUEST_LINEAR_ADDRESS);
		if (reason == EXIT_REASON_INTERRUPT_WINDOW)	/* one-shot request */
			vmx_write(v, CUSED_F_REQ_IRQ_WINDOW, 0);
	}
	if (hw_breakpoint_active())
		hw_breakpoint_restore();	/* VM exit cleared DR7 */
	tramp_release_cpu(v);
	kernel_fpu_end();
	if (!fail && reason == EXIT_REASON_EPT_VIOLATION && vmx_log_write(v, ex->gpa, ex->qual))
		return -EAGAIN;
	return 0;
}

/* ---- EPT format ------------------------------------------------------------------ */

static u64 vmx_npt_leaf_bits(u32 flags)
{
	u64 leaf = VMX_EPT_READABLE_MASK | EPT_WB | (vc.ept_ad ? VMX_EPT_ACCESS_BIT : 0);
	bool log = flags & CUSED_MAP_LOG_DIRTY;

	if (flags & CUSED_MAP_EXEC)
		leaf |= VMX_EPT_EXECUTABLE_MASK;
	if (flags & CUSED_MAP_WRITE) {
		if (vc.ept_ad)
			leaf |= EPT_W | (log ? 0 : VMX_EPT_DIRTY_BIT);
		else
			leaf |= EPT_SOFT_W | (log ? 0 : EPT_W);
	}
	return leaf;
}

/* ---- probe / teardown ------------------------------------------------------------- */

static void vmx_free_pages(void)
{
	int cpu;

	for_each_possible_cpu(cpu)
		if (vmxon_page[cpu])
			__free_page(vmxon_page[cpu]);
	kfree(vmxon_page);
}

static void vmx_exit(void)
{
	if (hp_state >= 0)
		cpuhp_remove_state(hp_state);	/* VMCLEAR + VMXOFF everywhere */
	vmx_free_pages();
}

static struct tramp_backend vmx_backend = {
	.name = "vmx",
	.vendor = CUSED_VENDOR_INTEL,
	.vcpu_init = vmx_vcpu_init,
	.vcpu_free = vmx_vcpu_free,
	.get_field = vmx_get_field,
	.set_field = vmx_set_field,
	.run_once = vmx_run_once,
	.exit_is_host_irq = vmx_exit_is_host_irq,
	.exit = vmx_exit,
	.npt_levels = 4,
	.npt_dir = VMX_EPT_RWX_MASK,
	.npt_leaf_bits = vmx_npt_leaf_bits,
};

/* want | must-be-one bits, limited to the may-be-one bits; -1 if need is missing */
static int vmx_ctl(u32 msr, u32 want, u32 need, u32 *out)
{
	u64 v;

	rdmsrl(msr, v);
	*out = (want | (u32)v) & (u32)(v >> 32);
	if ((*out & need) != need) {
		pr_info("VMX control MSR %#x lacks %#x\n", msr, need & ~*out);
		return -1;
	}
	return 0;
}

static int vmx_setup_caps(u64 basic)
{
	bool tru = basic & VMX_BASIC_TRUE_CTLS;
	u32 pin_need = PIN_BASED_EXT_INTR_MASK | PIN_BASED_NMI_EXITING;
	u32 proc_need = CPU_BASED_HLT_EXITING | CPU_BASED_UNCOND_IO_EXITING |
		CPU_BASED_MOV_DR_EXITING | CPU_BASED_TPR_SHADOW |
		CPU_BASED_USE_TSC_OFFSETTING | CPU_BASED_ACTIVATE_SECONDARY_CONTROLS;
	u32 proc_want = proc_need | CPU_BASED_MWAIT_EXITING | CPU_BASED_MONITOR_EXITING |
		CPU_BASED_RDPMC_EXITING;
	u32 proc_never = CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_CR3_STORE_EXITING |
		CPU_BASED_CR8_LOAD_EXITING | CPU_BASED_CR8_STORE_EXITING |
		CPU_BASED_USE_IO_BITMAPS | CPU_BASED_USE_MSR_BITMAPS |
		CPU_BASED_INVLPG_EXITING | CPU_BASED_RDTSC_EXITING;
	/* debug controls: guest DR7/DEBUGCTL in, host's never seen by the guest */
	u32 exit_need = VM_EXIT_SAVE_DEBUG_CONTROLS |
		VM_EXIT_HOST_ADDR_SPACE_SIZE | VM_EXIT_ACK_INTR_ON_EXIT |
		VM_EXIT_SAVE_IA32_PAT | VM_EXIT_LOAD_IA32_PAT |
		VM_EXIT_SAVE_IA32_EFER | VM_EXIT_LOAD_IA32_EFER;
	u32 entry_need = VM_ENTRY_LOAD_DEBUG_CONTROLS | VM_ENTRY_LOAD_IA32_PAT |
		VM_ENTRY_LOAD_IA32_EFER;
	u64 ept;

	if (vmx_ctl(tru ? MSR_IA32_VMX_TRUE_PINBASED_CTLS : MSR_IA32_VMX_PINBASED_CTLS,
		    pin_need | PIN_BASED_VIRTUAL_NMIS | PIN_BASED_VMX_PREEMPTION_TIMER,
		    pin_need, &vc.pin) ||
	    vmx_ctl(tru ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS : MSR_IA32_VMX_PROCBASED_CTLS,
		    proc_want, proc_need, &vc.proc) ||
	    vmx_ctl(MSR_IA32_VMX_PROCBASED_CTLS2, SECONDARY_EXEC_ENABLE_EPT |
		    SECONDARY_EXEC_UNRESTRICTED_GUEST | SECONDARY_EXEC_WBINVD_EXITING |
		    SECONDARY_EXEC_ENABLE_INVPCID | (vpid ? SECONDARY_EXEC_ENABLE_VPID : 0),
		    SECONDARY_EXEC_ENABLE_EPT, &vc.proc2) ||
	    vmx_ctl(tru ? MSR_IA32_VMX_TRUE_EXIT_CTLS : MSR_IA32_VMX_EXIT_CTLS,
		    exit_need, exit_need, &vc.exit) ||
	    vmx_ctl(tru ? MSR_IA32_VMX_TRUE_ENTRY_CTLS : MSR_IA32_VMX_ENTRY_CTLS,
		    entry_need, entry_need, &vc.entry))
		return -ENODEV;
	/* every CR3/CR8/INVLPG/RDTSC must stay in the guest, every MSR must exit */
	if (vc.proc & proc_never) {
		pr_info("VMX forces processor controls %#x on\n", vc.proc & proc_never);
		return -ENODEV;
	}
	rdmsrl(MSR_IA32_VMX_EPT_VPID_CAP, ept);
	if (!(ept & VMX_EPT_PAGE_WALK_4_BIT) || !(ept & VMX_EPTP_WB_BIT) ||
	    !(ept & VMX_EPT_INVEPT_BIT) ||
	    !(ept & (VMX_EPT_EXTENT_CONTEXT_BIT | VMX_EPT_EXTENT_GLOBAL_BIT))) {
		pr_info("EPT without 4 levels, WB or INVEPT (caps %#llx)\n", ept);
		return -ENODEV;
	}
	vc.invept_single = ept & VMX_EPT_EXTENT_CONTEXT_BIT;
	vc.ept_ad = ept_ad && (ept & VMX_EPT_AD_BIT);
	vc.ug = vc.proc2 & SECONDARY_EXEC_UNRESTRICTED_GUEST;
	vc.vpid = (vc.proc2 & SECONDARY_EXEC_ENABLE_VPID) &&
		  (ept & ((u64)VMX_VPID_INVVPID_BIT << 32)) &&
		  (ept & ((u64)(VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT |
				VMX_VPID_EXTENT_GLOBAL_CONTEXT_BIT) << 32));
	if (!vc.vpid)
		vc.proc2 &= ~SECONDARY_EXEC_ENABLE_VPID;
	vc.invvpid_single = ept & ((u64)VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT << 32);
	rdmsrl(MSR_IA32_VMX_CR0_FIXED0, vc.cr0_fixed0);
	rdmsrl(MSR_IA32_VMX_CR0_FIXED1, vc.cr0_fixed1);
	rdmsrl(MSR_IA32_VMX_CR4_FIXED0, vc.cr4_fixed0);
	rdmsrl(MSR_IA32_VMX_CR4_FIXED1, vc.cr4_fixed1);
	/* the guest's own CR0 on the host's CPU: with UG, PE and PG are free;
	 * CD and NW stay host-owned and off, the guest sees its own (as KVM) */
	if (vc.ug)
		vc.cr0_fixed0 &= ~(u64)(X86_CR0_PE | X86_CR0_PG);
	vc.cr0_fixed1 &= ~(u64)(X86_CR0_CD | X86_CR0_NW);
	vmx_backend.npt_dirty = vc.ept_ad ? VMX_EPT_DIRTY_BIT : EPT_SOFT_D;
	vmx_backend.npt_clean = vc.ept_ad ? VMX_EPT_DIRTY_BIT : EPT_SOFT_D | EPT_W;
	return 0;
}

int tramp_vmx_probe(struct tramp_backend **out)
{
	u64 basic;
	int cpu, r;

	if (!boot_cpu_has(X86_FEATURE_VMX))
		return -ENODEV;
	rdmsrl(MSR_IA32_VMX_BASIC, basic);
	vmcs_revision = basic & 0x7fffffff;
	r = vmx_setup_caps(basic);
	if (r)
		return r;
	vmxon_page = kcalloc(nr_cpu_ids, sizeof(*vmxon_page), GFP_KERNEL);
	if (!vmxon_page)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		INIT_LIST_HEAD(per_cpu_ptr(&loaded_vmcss, cpu));
		vmxon_page[cpu] = alloc_pages_node(cpu_to_node(cpu),
						   GFP_KERNEL | __GFP_ZERO, 0);
		if (!vmxon_page[cpu]) {
			vmx_free_pages();
			return -ENOMEM;
		}
		*(u32 *)page_address(vmxon_page[cpu]) = vmcs_revision;
	}
	/* VMXON on every online CPU now and on every CPU that comes online */
	r = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "cused-tramp/vmx:online",
			      vmx_cpu_online, vmx_cpu_offline);
	if (r < 0) {
		pr_info("VMX: IA32_VMX_BASIC %#llx, VMXON failed on a CPU (%d)\n", basic, r);
		vmx_free_pages();
		return r == -ENODEV ? -EBUSY : r;
	}
	hp_state = r;
	pr_info("VMX: IA32_VMX_BASIC %#llx, VMXON ok on %d CPUs\n", basic, num_online_cpus());
	pr_info("VMX: EPT A/D %s, VPID %s, unrestricted guest %s, preemption-timer watchdog %s; controls pin %#x proc %#x proc2 %#x exit %#x entry %#x\n",
		vc.ept_ad ? "on (dirty log from EPT D bits)" : "off (dirty log by write protection)",
		vc.vpid ? "on" : "off", vc.ug ? "on" : "off (paged protected mode only)",
		(vc.pin & PIN_BASED_VMX_PREEMPTION_TIMER) ? "on" : "off",
		vc.pin, vc.proc, vc.proc2, vc.exit, vc.entry);
	vmx_backend.features = basic;
	*out = &vmx_backend;
	return 0;
}
