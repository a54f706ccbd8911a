// SPDX-License-Identifier: GPL-2.0
/*
 * AMD SVM backend: one VMCB per vCPU, nested paging, every I/O port and MSR
 * intercepted, raw exits handed to the daemon.
 */
#define pr_fmt(fmt) "cused-tramp: " fmt

#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/io.h>
#include <linux/idr.h>
#include <linux/cpumask.h>
#include <asm/svm.h>
#include <asm/msr.h>
#include <asm/msr-index.h>
#include <asm/processor.h>
#include <asm/cpufeature.h>
#include <asm/fpu/api.h>
#include <asm/debugreg.h>
#include <asm/traps.h>
#include <asm/trapnr.h>
#include "tramp.h"

void cused_svm_vmrun(u64 vmcb_pa, u64 *gprs, u64 host_save_pa);

#define SVM_FEAT_NPT     BIT(0)
#define SVM_FEAT_NRIPS   BIT(3)
#define SVM_FEAT_FLUSHASID BIT(6)
#define SVM_FEAT_DECODE  BIT(7)

static u32 svm_feat;		/* CPUID 8000000A EDX */
static u32 asid_max;

/*
 * ASIDs are handed out per CPU and per generation, as KVM's new_asid()
 * does, not one per vCPU for life: the silicon may have very few (QEMU's
 * emulated SVM has 16), and a VMM creates hundreds of vCPUs.  A vCPU takes
 * a fresh ASID whenever it enters on another CPU or its CPU started a new
 * generation; running out starts one, with a flush of every ASID, so an
 * ASID is never live for two vCPUs on one CPU.  Only touched with IRQs off.
 */
struct svm_asid_cpu {
	u64 gen;
	u32 next;
};
static DEFINE_PER_CPU(struct svm_asid_cpu, svm_asid);
static struct page *iopm_pages, *msrpm_pages;	/* all ones, shared */
static struct page **hsave_page;		/* per CPU: VM_HSAVE_PA */
static struct page **hostvm_page;		/* per CPU: host VMSAVE area */

struct svm_vcpu {
	struct vmcb *vmcb;
	u64 vmcb_pa;
	u32 asid;
	u64 asid_gen;		/* the generation asid belongs to; 0: none yet */
	u64 nmi_blocked;
};

static inline struct svm_vcpu *to_svm(struct tramp_vcpu *v)
{
	return v->arch;
}

static void set_icpt(struct vmcb_control_area *c, int bit)
{
	c->intercepts[bit / 32] |= 1u << (bit % 32);
}

static int svm_vcpu_init(struct tramp_vcpu *v)
{
	struct svm_vcpu *s;
	struct vmcb_control_area *c;
	struct vmcb_save_area *g;
	struct page *p;
	static const int icpt[] = {
		INTERCEPT_INTR, INTERCEPT_NMI, INTERCEPT_SMI, INTERCEPT_INIT,
		INTERCEPT_CPUID, INTERCEPT_RSM, INTERCEPT_INVD, INTERCEPT_HLT,
		INTERCEPT_INVLPGA, INTERCEPT_IOIO_PROT, INTERCEPT_MSR_PROT,
		INTERCEPT_TASK_SWITCH, INTERCEPT_FERR_FREEZE, INTERCEPT_SHUTDOWN,
		INTERCEPT_VMRUN, INTERCEPT_VMMCALL, INTERCEPT_VMLOAD,
		INTERCEPT_VMSAVE, INTERCEPT_STGI, INTERCEPT_CLGI,
		INTERCEPT_SKINIT, INTERCEPT_RDTSCP, INTERCEPT_WBINVD,
		INTERCEPT_MONITOR, INTERCEPT_MWAIT, INTERCEPT_MWAIT_COND,
		INTERCEPT_XSETBV, INTERCEPT_RDPRU,
	};
	int i;

	s = kzalloc(sizeof(*s), GFP_KERNEL_ACCOUNT);
	if (!s)
		return -ENOMEM;
	p = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!p) {
		kfree(s);
		return -ENOMEM;
	}
	s->vmcb = page_address(p);
	s->vmcb_pa = page_to_phys(p);
	c = &s->vmcb->control;
	g = &s->vmcb->save;

	for (i = 0; i < ARRAY_SIZE(icpt); i++)
		set_icpt(c, icpt[i]);
	/* guest DR0-3 are not switched: keep the host's out of its reach */
	c->intercepts[INTERCEPT_DR] = 0x000f000f;
	/*
	 * #DB/#AC can loop forever in microcode (CVE-2015-8104/5307); #MC is
	 * the host's; #UD as KVM's (the daemon emulates VMCALL's patching)
	 */
	c->intercepts[INTERCEPT_EXCEPTION] = BIT(DB_VECTOR) | BIT(AC_VECTOR) |
					     BIT(MC_VECTOR) | BIT(UD_VECTOR);
	c->iopm_base_pa = page_to_phys(iopm_pages);
	c->msrpm_base_pa = page_to_phys(msrpm_pages);
	c->int_ctl = V_INTR_MASKING_MASK;	/* guest IF never masks host IRQs */
	c->nested_ctl = SVM_NESTED_CTL_NP_ENABLE;
	c->nested_cr3 = __pa(v->vm->npt_root);

	/* architectural reset state; the daemon overwrites what it cares about */
	g->cs.selector = 0xf000;
	g->cs.base = 0xffff0000;
	g->cs.limit = 0xffff;
	g->cs.attrib = 0x9b;
	g->es.limit = g->ss.limit = g->ds.limit = g->fs.limit = g->gs.limit = 0xffff;
	g->es.attrib = g->ss.attrib = g->ds.attrib = g->fs.attrib = g->gs.attrib = 0x93;
	g->ldtr.limit = 0xffff;
	g->ldtr.attrib = 0x82;
	g->tr.limit = 0xffff;
	g->tr.attrib = 0x8b;
	g->gdtr.limit = g->idtr.limit = 0xffff;
	g->efer = EFER_SVME;
	g->cr0 = X86_CR0_NW | X86_CR0_CD | X86_CR0_ET;
	g->dr6 = DR6_RESERVED;
	g->dr7 = 0x400;
	g->rflags = X86_EFLAGS_FIXED;
	g->rip = 0xfff0;
	g->g_pat = 0x0007040600070406ULL;
	v->arch = s;
	return 0;
}

static void svm_vcpu_free(struct tramp_vcpu *v)
{
	struct svm_vcpu *s = to_svm(v);

	if (!s)
		return;
	__free_page(virt_to_page(s->vmcb));
	kfree(s);
	v->arch = NULL;
}

/* ---- fields ------------------------------------------------------------------ */

static struct vmcb_seg *seg_of(struct vmcb_save_area *g, unsigned int seg)
{
	switch (seg) {
	case CUSED_SEG_ES: return &g->es;
	case CUSED_SEG_CS: return &g->cs;
	case CUSED_SEG_SS: return &g->ss;
	case CUSED_SEG_DS: return &g->ds;
	case CUSED_SEG_FS: return &g->fs;
	case CUSED_SEG_GS: return &g->gs;
	case CUSED_SEG_LDTR: return &g->ldtr;
	default: return &g->tr;
	}
}

/* VMX access rights <-> SVM attrib */
static u64 attr_to_user(u16 a)
{
	u64 r = (a & 0xff) | ((u64)(a & 0xf00) << 4);

	return (a & SVM_SELECTOR_P_MASK) ? r : r | CUSED_SEG_ATTR_UNUSABLE;
}

static u16 attr_from_user(u64 a)
{
	if (a & CUSED_SEG_ATTR_UNUSABLE)
		return 0;
	return (a & 0xff) | ((a >> 4) & 0xf00);
}

static u64 *gpr_slot(struct tramp_vcpu *v, u32 id)
{
	struct vmcb_save_area *g = &to_svm(v)->vmcb->save;

	switch (id) {
	case CUSED_F_RAX: return &g->rax;
	case CUSED_F_RSP: return &g->rsp;
	case CUSED_F_RIP: return &g->rip;
	case CUSED_F_RFLAGS: return &g->rflags;
	}
	return &v->gprs[id];
}

/* 64-bit fields that live as-is in the VMCB or the vCPU; NULL if not one */
static u64 *plain_slot(struct tramp_vcpu *v, u32 id, bool *canon)
{
	struct svm_vcpu *s = to_svm(v);
	struct vmcb_save_area *g = &s->vmcb->save;

	*canon = false;
	switch (id) {
	case CUSED_F_CR0: return &g->cr0;
	case CUSED_F_CR2: return &g->cr2;
	case CUSED_F_CR3: return &g->cr3;
	case CUSED_F_CR4: return &g->cr4;
	case CUSED_F_SYSENTER_CS: return &g->sysenter_cs;
	case CUSED_F_STAR: return &g->star;
	case CUSED_F_SFMASK: return &g->sfmask;
	}
	*canon = true;
	switch (id) {
	case CUSED_F_SYSENTER_ESP: return &g->sysenter_esp;
	case CUSED_F_SYSENTER_EIP: return &g->sysenter_eip;
	case CUSED_F_LSTAR: return &g->lstar;
	case CUSED_F_CSTAR: return &g->cstar;
	case CUSED_F_KERNEL_GS_BASE: return &g->kernel_gs_base;
	case CUSED_F_GDTR_BASE: return &g->gdtr.base;
	case CUSED_F_IDTR_BASE: return &g->idtr.base;
	}
	return NULL;
}

static int svm_get_field(struct tramp_vcpu *v, u32 id, u64 *val)
{
	struct svm_vcpu *s = to_svm(v);
	struct vmcb *vmcb = s->vmcb;
	struct vmcb_save_area *g = &vmcb->save;
	bool canon;
	u64 *p;

	if (id < CUSED_F_GPR_END) {
		*val = *gpr_slot(v, id);
		return 0;
	}
	p = plain_slot(v, id, &canon);
	if (p) {
		*val = *p;
		return 0;
	}
	if (tramp_field_is_seg(id)) {
		struct vmcb_seg *sg = seg_of(g, (id - CUSED_F_SEG(0, 0)) / 4);

		switch ((id - CUSED_F_SEG(0, 0)) % 4) {
		case CUSED_SEGP_SEL: *val = sg->selector; break;
		case CUSED_SEGP_BASE: *val = sg->base; break;
		case CUSED_SEGP_LIMIT: *val = sg->limit; break;
		default: *val = attr_to_user(sg->attrib); break;
		}
		return 0;
	}
	switch (id) {
	case CUSED_F_CR8: *val = vmcb->control.int_ctl & V_TPR_MASK; break;
	case CUSED_F_EFER: *val = g->efer & ~EFER_SVME; break;
	case CUSED_F_DR6: *val = g->dr6; break;
	case CUSED_F_DR7: *val = g->dr7; break;
	case CUSED_F_GDTR_LIMIT: *val = g->gdtr.limit; break;
	case CUSED_F_IDTR_LIMIT: *val = g->idtr.limit; break;
	case CUSED_F_PAT: *val = g->g_pat; break;
	case CUSED_F_TSC: *val = rdtsc() + vmcb->control.tsc_offset; break;
	case CUSED_F_PENDING_IRQ:
		*val = vmcb->control.event_inj |
		       ((u64)vmcb->control.event_inj_err << 32);
		break;
	case CUSED_F_INTERRUPTIBILITY:
		*val = (vmcb->control.int_state & SVM_INTERRUPT_SHADOW_MASK) |
		       (s->nmi_blocked ? 8 : 0);
		break;
	case CUSED_F_REQ_IRQ_WINDOW:
		*val = !!(vmcb->control.int_ctl & V_IRQ_MASK);
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

static int svm_set_field(struct tramp_vcpu *v, u32 id, u64 val)
{
	struct svm_vcpu *s = to_svm(v);
	struct vmcb_control_area *c = &s->vmcb->control;
	struct vmcb_save_area *g = &s->vmcb->save;
	bool canon;
	u64 *p;

	if (id < CUSED_F_GPR_END) {
		*gpr_slot(v, id) = val;
		return 0;
	}
	p = plain_slot(v, id, &canon);
	if (p) {
		if (canon && !tramp_canonical(val))
			return -EINVAL;
		if (id == CUSED_F_SYSENTER_CS && val > 0xffff)
			return -EINVAL;
		*p = val;
		return 0;
	}
	if (tramp_field_is_seg(id)) {
		unsigned int part = (id - CUSED_F_SEG(0, 0)) % 4;
		struct vmcb_seg *sg = seg_of(g, (id - CUSED_F_SEG(0, 0)) / 4);

		if (!tramp_seg_valid(part, val))
			return -EINVAL;
		switch (part) {
		case CUSED_SEGP_SEL: sg->selector = val; break;
		case CUSED_SEGP_BASE: sg->base = val; break;
		case CUSED_SEGP_LIMIT: sg->limit = val; break;
		default: sg->attrib = attr_from_user(val); break;
		}
		return 0;
	}
	switch (id) {
	case CUSED_F_CR8:
		if (val > 15)
			return -EINVAL;
		c->int_ctl = (c->int_ctl & ~V_TPR_MASK) | val;
		break;
	case CUSED_F_EFER:
		g->efer = val | EFER_SVME;	/* VMRUN checks the rest */
		break;
	case CUSED_F_DR6:
	case CUSED_F_DR7:
		if (val >> 32)
			return -EINVAL;
		if (id == CUSED_F_DR6)
			g->dr6 = val;
		else
			g->dr7 = val;
		break;
	case CUSED_F_GDTR_LIMIT:
	case CUSED_F_IDTR_LIMIT:
		if (val > 0xffff)
			return -EINVAL;
		if (id == CUSED_F_GDTR_LIMIT)
			g->gdtr.limit = val;
		else
			g->idtr.limit = val;
		break;
	case CUSED_F_PAT:
		if (!tramp_pat_valid(val))
			return -EINVAL;
		g->g_pat = val;
		break;
	case CUSED_F_TSC:
		c->tsc_offset = val - rdtsc();
		break;
	case CUSED_F_PENDING_IRQ: {
		/* VMX encoding; bits 63:32 carry the error code */
		int type = tramp_event_type(val);

		if (!(val & BIT(31))) {
			c->event_inj = 0;
			break;
		}
		if (type < 0)
			return type;
		c->event_inj = (val & 0x800008ffULL) | (type << 8);
		c->event_inj_err = val >> 32;
		break;
	}
	case CUSED_F_INTERRUPTIBILITY:
		if (val & ~0xfULL)
			return -EINVAL;
		c->int_state = (val & 3) ? SVM_INTERRUPT_SHADOW_MASK : 0;
		s->nmi_blocked = !!(val & 8);
		break;
	case CUSED_F_REQ_IRQ_WINDOW:
		if (val) {
			c->int_ctl |= V_IRQ_MASK | V_IGN_TPR_MASK |
				      (0xf << V_INTR_PRIO_SHIFT);
			set_icpt(c, INTERCEPT_VINTR);
		} else {
			c->int_ctl &= ~(V_IRQ_MASK | V_IGN_TPR_MASK | V_INTR_PRIO_MASK);
			c->intercepts[INTERCEPT_VINTR / 32] &= ~(1u << (INTERCEPT_VINTR % 32));
		}
		break;
	default:
		return -EINVAL;		/* unknown, or host state */
	}
	return 0;
}

/* ---- running ----------------------------------------------------------------- */

static bool svm_exit_is_host_irq(const struct cused_tramp_exit *ex)
{
	return ex->reason >= SVM_EXIT_INTR && ex->reason <= SVM_EXIT_INIT;
}

/*
 * The VMRUN consistency checks of the APM (15.5.1) plus KVM's rule that
 * EFER.LMA == (EFER.LME && CR0.PG), done here before entering: the hardware
 * (or an emulator) must never see a state it might mishandle.  Returns 0 or
 * the number of the failed check, reported as qual of a failed entry.
 */
#define EFER_KNOWN (EFER_SCE | EFER_LME | EFER_LMA | EFER_NX | EFER_SVME | \
		    EFER_LMSLE | EFER_FFXSR | BIT_ULL(15) /* TCE */)
#define CR4_KNOWN (GENMASK_ULL(12, 0) | GENMASK_ULL(18, 16) | GENMASK_ULL(23, 20))

static int svm_check_state(const struct vmcb *vmcb)
{
	const struct vmcb_save_area *g = &vmcb->save;
	bool lma = g->efer & EFER_LMA, pg = g->cr0 & X86_CR0_PG;

	if (g->cr0 >> 32)
		return 1;
	if ((g->cr0 & X86_CR0_NW) && !(g->cr0 & X86_CR0_CD))
		return 2;
	if (g->cr4 & ~CR4_KNOWN)
		return 3;
	if (g->efer & ~EFER_KNOWN)
		return 4;
	if (lma != ((g->efer & EFER_LME) && pg))
		return 5;
	if (lma && (!(g->cr4 & X86_CR4_PAE) || !(g->cr0 & X86_CR0_PE)))
		return 6;
	if (lma && (g->cs.attrib & SVM_SELECTOR_L_MASK) &&
	    (g->cs.attrib & SVM_SELECTOR_DB_MASK))
		return 7;
	if (lma && (g->cr3 >> 52))
		return 8;
	if (pg && !(g->cr0 & X86_CR0_PE))
		return 9;
	if (lma && (g->cs.attrib & SVM_SELECTOR_L_MASK) && !tramp_canonical(g->rip))
		return 10;
	if ((g->dr6 | g->dr7) >> 32)
		return 11;
	return 0;
}

/* a fresh ASID of this CPU's generation (IRQs off) */
static void svm_new_asid(struct svm_vcpu *s, struct vmcb_control_area *c)
{
	struct svm_asid_cpu *a = this_cpu_ptr(&svm_asid);

	if (a->next > asid_max || !a->gen) {
		/* every ASID of the old generation may be in the TLB: drop them all */
		a->gen++;
		a->next = 1;
		c->tlb_ctl = TLB_CONTROL_FLUSH_ALL_ASID;
	}
	s->asid = a->next++;
	s->asid_gen = a->gen;
	c->asid = s->asid;
}

static int svm_run_once(struct tramp_vcpu *v, struct cused_tramp_exit *ex)
{
	struct svm_vcpu *s = to_svm(v);
	struct vmcb *vmcb = s->vmcb;
	struct vmcb_control_area *c = &vmcb->control;
	u64 efer, old_hsave;
	int cpu, gen, bad;

	bad = svm_check_state(vmcb);
	if (bad) {
		ex->vendor = CUSED_VENDOR_AMD;
		ex->reason = (u32)SVM_EXIT_ERR;
		ex->entry_failed = 1;
		ex->qual = bad;
		ex->rip = vmcb->save.rip;
		return 0;
	}

	kernel_fpu_begin();		/* host FPU state saved; also no preemption */
	cpu = tramp_claim_cpu(v);
	if (cpu < 0) {
		kernel_fpu_end();
		return -EAGAIN;
	}

	/* NPT entries lost rights: flush this ASID (a fresh one is clean) */
	gen = atomic_read(&v->vm->tlb_gen);
	if (gen != v->tlb_gen)
		c->tlb_ctl = (svm_feat & SVM_FEAT_FLUSHASID) ?
			TLB_CONTROL_FLUSH_ASID : TLB_CONTROL_FLUSH_ALL_ASID;
	if (cpu != v->last_cpu || s->asid_gen != this_cpu_read(svm_asid.gen))
		svm_new_asid(s, c);
	v->last_cpu = cpu;
	v->tlb_gen = gen;
	c->clean = 0;
	c->next_rip = 0;
	c->insn_len = 0;

	/* per-CPU SVM setup, redone on whatever CPU we are on, undone after */
	rdmsrl(MSR_EFER, efer);
	rdmsrl(MSR_VM_HSAVE_PA, old_hsave);
	if (!(efer & EFER_SVME))
		wrmsrl(MSR_EFER, efer | EFER_SVME);
	wrmsrl(MSR_VM_HSAVE_PA, page_to_phys(hsave_page[cpu]));

	asm volatile("clgi" ::: "memory");
	/* the guest's x87/SSE state in for the VMRUN, out again before any NMI */
	tramp_fx_load(v);
	cused_svm_vmrun(s->vmcb_pa, v->gprs, page_to_phys(hostvm_page[cpu]));
	tramp_fx_save(v);
	asm volatile("stgi" ::: "memory");	/* pending NMIs are taken here */

	wrmsrl(MSR_VM_HSAVE_PA, old_hsave);
	if (!(efer & EFER_SVME))
		wrmsrl(MSR_EFER, efer);
	if (hw_breakpoint_active())
		hw_breakpoint_restore();	/* #VMEXIT reset DR7 */
	tramp_release_cpu(v);
	kernel_fpu_end();

	c->tlb_ctl = TLB_CONTROL_DO_NOTHING;
	ex->vendor = CUSED_VENDOR_AMD;
	ex->reason = c->exit_code;
	ex->entry_failed = c->exit_code == (u32)SVM_EXIT_ERR;	/* QEMU leaves _hi 0 */
	ex->qual = c->exit_info_1;
	ex->info2 = c->exit_info_2;
	ex->intr_info = c->exit_int_info;
	ex->rip = vmcb->save.rip;
	if (c->exit_code == SVM_EXIT_NPF)
		ex->gpa = c->exit_info_2;
	if ((svm_feat & SVM_FEAT_NRIPS) && c->next_rip > ex->rip &&
	    c->next_rip - ex->rip <= 15)
		ex->insn_len = c->next_rip - ex->rip;
	if ((svm_feat & SVM_FEAT_DECODE) && c->insn_len &&
	    c->insn_len <= sizeof(c->insn_bytes)) {
		ex->insn_bytes_len = c->insn_len;
		memcpy(ex->insn_bytes, c->insn_bytes, c->insn_len);
	}
	if (c->exit_code == SVM_EXIT_VINTR)	/* one-shot window request */
		svm_set_field(v, CUSED_F_REQ_IRQ_WINDOW, 0);
	return 0;
}

/* ---- probe / teardown -------------------------------------------------------- */

static void svm_free_percpu(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		if (hsave_page && hsave_page[cpu])
			__free_page(hsave_page[cpu]);
		if (hostvm_page && hostvm_page[cpu])
			__free_page(hostvm_page[cpu]);
	}
	kfree(hsave_page);
	kfree(hostvm_page);
	hsave_page = hostvm_page = NULL;
}

static void svm_exit(void)
{
	svm_free_percpu();
	__free_pages(iopm_pages, 2);
	__free_pages(msrpm_pages, 1);
}

/* NPT leaves: host paging format; the D bit is the dirty log */
static u64 svm_npt_leaf_bits(u32 flags)
{
	u64 leaf = TRAMP_PTE_P | TRAMP_PTE_U | TRAMP_PTE_A;

	if (flags & CUSED_MAP_WRITE)
		leaf |= TRAMP_PTE_W |
			((flags & CUSED_MAP_LOG_DIRTY) ? 0 : TRAMP_PTE_D);
	if (!(flags & CUSED_MAP_EXEC))
		leaf |= TRAMP_PTE_NX;
	return leaf;
}

static struct tramp_backend svm_backend = {
	.name = "svm",
	.vendor = CUSED_VENDOR_AMD,
	.vcpu_init = svm_vcpu_init,
	.vcpu_free = svm_vcpu_free,
	.get_field = svm_get_field,
	.set_field = svm_set_field,
	.run_once = svm_run_once,
	.exit_is_host_irq = svm_exit_is_host_irq,
	.exit = svm_exit,
	.npt_dir = TRAMP_PTE_P | TRAMP_PTE_W | TRAMP_PTE_U | TRAMP_PTE_A,
	.npt_leaf_bits = svm_npt_leaf_bits,
	.npt_dirty = TRAMP_PTE_D,
	.npt_clean = TRAMP_PTE_D,
};

int tramp_svm_probe(struct tramp_backend **out)
{
	u32 eax, ebx, ecx, edx;
	u64 vm_cr;
	int cpu;

	if (!boot_cpu_has(X86_FEATURE_SVM))
		return -ENODEV;
	rdmsrl(MSR_VM_CR, vm_cr);
	if (vm_cr & (1 << SVM_VM_CR_SVM_DISABLE)) {
		pr_info("SVM disabled by firmware\n");
		return -ENODEV;
	}
	cpuid(SVM_CPUID_FUNC, &eax, &ebx, &ecx, &edx);
	svm_feat = edx;
	if (!(edx & SVM_FEAT_NPT)) {
		pr_info("SVM without nested paging is not supported\n");
		return -ENODEV;
	}
	asid_max = min(ebx - 1, 65535u);
	if (ebx < 2)
		return -ENODEV;

	iopm_pages = alloc_pages(GFP_KERNEL, 2);	/* 12 KiB used */
	msrpm_pages = alloc_pages(GFP_KERNEL, 1);	/* 8 KiB */
	hsave_page = kcalloc(nr_cpu_ids, sizeof(*hsave_page), GFP_KERNEL);
	hostvm_page = kcalloc(nr_cpu_ids, sizeof(*hostvm_page), GFP_KERNEL);
	if (!iopm_pages || !msrpm_pages || !hsave_page || !hostvm_page)
		goto nomem;
	memset(page_address(iopm_pages), 0xff, PAGE_SIZE << 2);
	memset(page_address(msrpm_pages), 0xff, PAGE_SIZE << 1);
	for_each_possible_cpu(cpu) {
		hsave_page[cpu] = alloc_pages_node(cpu_to_node(cpu),
						   GFP_KERNEL | __GFP_ZERO, 0);
		hostvm_page[cpu] = alloc_pages_node(cpu_to_node(cpu),
						    GFP_KERNEL | __GFP_ZERO, 0);
		if (!hsave_page[cpu] || !hostvm_page[cpu])
			goto nomem;
	}
	svm_backend.features = svm_feat;
	/* nested paging walks in the host's paging mode: 5 levels under LA57 */
	svm_backend.npt_levels = (__read_cr4() & X86_CR4_LA57) ? 5 : 4;
	*out = &svm_backend;
	pr_info("SVM: %u ASIDs, features %#x\n", asid_max, svm_feat);
	return 0;
nomem:
	svm_free_percpu();
	if (iopm_pages)
		__free_pages(iopm_pages, 2);
	if (msrpm_pages)
		__free_pages(msrpm_pages, 1);
	return -ENOMEM;
}
