// SPDX-License-Identifier: GPL-2.0
/*
 * Intel VMX backend -- skeleton.
 *
 * Done: detection, IA32_FEATURE_CONTROL check/lock, CR0/CR4 fixed-bit check,
 * VMXON on every online CPU at load (skipping CPUs where CR4.VMXE is
 * already set, i.e. another hypervisor owns VMX) and VMXOFF at unload.
 *
 * Missing (CREATE_VCPU works, fields and RUN return -ENODEV): the VMCS per
 * vCPU (VMCLEAR/VMPTRLD, loaded-on-CPU tracking and migration), VMCS
 * control setup (pin/proc/proc2/exit/entry controls from the
 * IA32_VMX_TRUE_* MSRs; unconditional I/O exiting, MSR bitmap all ones,
 * HLT/CPUID exiting, external-interrupt exiting, EPT with A/D bits), the
 * field table (cused field id -> VMCS encoding, access-rights pass-through),
 * host-state fields written per run (CR3, FS/GS/TR bases, GDTR/IDTR, RSP,
 * RIP of the exit stub, SYSENTER MSRs), the VMLAUNCH/VMRESUME stub and
 * VM-instruction error reporting, EPT tables (the frontend's NPT walker
 * builds host-format tables; EPT needs RWX bits 0-2 and memory type 6),
 * INVEPT/VPID, CPU hotplug.
 */
#define pr_fmt(fmt) "cused-tramp: " fmt

#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/smp.h>
#include <linux/cpumask.h>
#include <asm/msr.h>
#include <asm/msr-index.h>
#include <asm/processor.h>
#include <asm/cpufeature.h>
#include <asm/tlbflush.h>
#include <asm/special_insns.h>
#include "tramp.h"

static struct page **vmxon_page;
static DEFINE_PER_CPU(bool, vmx_on);
static atomic_t vmx_on_count;
static u32 vmcs_revision;

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

static void vmx_cpu_on(void *unused)
{
	int cpu = smp_processor_id();
	u64 fc, f0, f1;
	unsigned long cr0 = read_cr0(), cr4 = __read_cr4();

	rdmsrl(MSR_IA32_FEAT_CTL, fc);
	if (!(fc & FEAT_CTL_LOCKED)) {
		fc |= FEAT_CTL_LOCKED | FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX;
		wrmsrl(MSR_IA32_FEAT_CTL, fc);
	}
	if (!(fc & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX)) {
		pr_info("cpu%d: VMX disabled in IA32_FEATURE_CONTROL\n", cpu);
		return;
	}
	if (cr4 & X86_CR4_VMXE) {
		pr_info("cpu%d: CR4.VMXE already set, VMX owned elsewhere\n", cpu);
		return;
	}
	rdmsrl(MSR_IA32_VMX_CR0_FIXED0, f0);
	rdmsrl(MSR_IA32_VMX_CR0_FIXED1, f1);
	if ((cr0 & f0) != f0 || (cr0 & ~f1)) {
		pr_info("cpu%d: CR0 %#lx violates VMX fixed bits\n", cpu, cr0);
		return;
	}
	rdmsrl(MSR_IA32_VMX_CR4_FIXED0, f0);
	rdmsrl(MSR_IA32_VMX_CR4_FIXED1, f1);
	cr4 |= X86_CR4_VMXE;
	if ((cr4 & f0) != f0 || (cr4 & ~f1)) {
		pr_info("cpu%d: CR4 %#lx violates VMX fixed bits\n", cpu, cr4);
		return;
	}
	cr4_set_bits(X86_CR4_VMXE);
	if (vmxon_pa(page_to_phys(vmxon_page[cpu]))) {
		cr4_clear_bits(X86_CR4_VMXE);
		pr_info("cpu%d: VMXON failed\n", cpu);
		return;
	}
	this_cpu_write(vmx_on, true);
	atomic_inc(&vmx_on_count);
}

static void vmx_cpu_off(void *unused)
{
	if (!this_cpu_read(vmx_on))
		return;
	asm volatile("vmxoff" ::: "cc", "memory");
	cr4_clear_bits(X86_CR4_VMXE);
	this_cpu_write(vmx_on, false);
}

static int vmx_vcpu_init(struct tramp_vcpu *v)
{
	return 0;
}

static void vmx_vcpu_free(struct tramp_vcpu *v)
{
}

static int vmx_get_field(struct tramp_vcpu *v, u32 id, u64 *val)
{
	return -ENODEV;
}

static int vmx_set_field(struct tramp_vcpu *v, u32 id, u64 val)
{
	return -ENODEV;
}

static int vmx_run_once(struct tramp_vcpu *v, struct cused_tramp_exit *ex)
{
	return -ENODEV;
}

static bool vmx_exit_is_host_irq(const struct cused_tramp_exit *ex)
{
	return ex->reason == 1;	/* EXIT_REASON_EXTERNAL_INTERRUPT */
}

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
	on_each_cpu(vmx_cpu_off, NULL, 1);
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
};

int tramp_vmx_probe(struct tramp_backend **out)
{
	u64 basic;
	int cpu;

	if (!boot_cpu_has(X86_FEATURE_VMX))
		return -ENODEV;
	rdmsrl(MSR_IA32_VMX_BASIC, basic);
	vmcs_revision = basic & 0x7fffffff;
	vmxon_page = kcalloc(nr_cpu_ids, sizeof(*vmxon_page), GFP_KERNEL);
	if (!vmxon_page)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		vmxon_page[cpu] = alloc_pages_node(cpu_to_node(cpu),
						   GFP_KERNEL | __GFP_ZERO, 0);
		if (!vmxon_page[cpu]) {
			vmx_free_pages();
			return -ENOMEM;
		}
		*(u32 *)page_address(vmxon_page[cpu]) = vmcs_revision;
	}
	on_each_cpu(vmx_cpu_on, NULL, 1);
	pr_info("VMX: IA32_VMX_BASIC %#llx, VMXON ok on %d/%d CPUs\n",
		basic, atomic_read(&vmx_on_count), num_online_cpus());
	if (!atomic_read(&vmx_on_count)) {
		vmx_free_pages();
		return -EBUSY;
	}
	vmx_backend.features = basic;
	*out = &vmx_backend;
	return 0;
}
