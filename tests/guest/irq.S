/* SPDX-License-Identifier: MIT */
/*
 * "irq" guest: the in-kernel irqchip seen from inside (kvmtest irq).  The
 * client starts the BSP in 64-bit mode at one of the entries (layout.h
 * IRQ_*_ENTRY) with RSP = GUEST_STACK; the guest loads its own GDT and IDT,
 * software-enables its APIC and then:
 *   timer:  IRQ_N periodic LAPIC timer interrupts, then IRQ_N TSC-deadline
 *           ones (HLT between), reporting the counts;
 *   ipi:    INIT + SIPI to APIC 1 (the AP runs IRQ_AP_ENTRY, real mode to
 *           long mode), then IRQ_N rounds of a fixed IPI to the AP whose
 *           handler IPIs the BSP back;
 *   ioapic: programs IOAPIC pins 5 (edge) and 6 (level) and asks the client
 *           (PORT_IRQ_REQ) for KVM_IRQ_LINE edges, a level with its EOI, and
 *           a KVM_SIGNAL_MSI.
 * Values are reported with OUT to PORT_IRQ; OUT to PORT_IRQ_DONE ends.
 *   pit:    PIT channel 0 in mode 2, IRQ_N ticks through the 8259 (ExtINT)
 *           or, with ESI = 1, through IOAPIC pin 0 (reinject waits for each
 *           tick's EOI to reach the PIT).
 * EDI = 1 at entry selects x2APIC mode (MSRs) for both CPUs, else xAPIC MMIO.
 */
#include "layout.h"

#define ENTRY(addr) .org (addr) - GUEST_LOAD, 0xcc
#define APIC      0xfee00000
#define IOAPIC    0xfec00000
#define EOI       push %rax; push %rcx; xor %eax, %eax; mov $0xb0, %ecx; call apic_write; pop %rcx; pop %rax
#define REPORT(v) mov v, %eax; out %eax, $PORT_IRQ
#define APIC_W(reg, val) mov $(val), %eax; mov $(reg), %ecx; call apic_write
#define RTE(pin, hi) (0x10 + 2 * (pin) + (hi))
/* IOAPIC register sel := val (rbp = IOAPIC base) */
#define IOW(sel, val) movl $(sel), (%rbp); movl $(val), 0x10(%rbp)

/* wait with interrupts on until the u32 at var >= %ebx (sti;hlt has no lost-wakeup window) */
.macro WAITGE var
.Lwait\@:
	cli
	cmpl	%ebx, \var
	jae	.Ldone\@
	sti
	hlt
	jmp	.Lwait\@
.Ldone\@:
	sti
.endm

	.text
	.code64
	.globl _start
_start:
	hlt

ENTRY(IRQ_TIMER_ENTRY)
	call	init
	jmp	timer_main
ENTRY(IRQ_IPI_ENTRY)
	call	init
	jmp	ipi_main
ENTRY(IRQ_IOAPIC_ENTRY)
	call	init
	jmp	ioapic_main
ENTRY(IRQ_TPR_ENTRY)
	call	init
	APIC_W(0x80, 0x30)                              /* TPR -> CR8[3:0] */
	mov	%cr8, %rax
	out	%eax, $PORT_IRQ
	out	%al, $PORT_IRQ_DONE
ENTRY(IRQ_PIT_ENTRY)
	call	init
	jmp	pit_main
ENTRY(IRQ_HALT_ENTRY)
	call	init
	out	%al, $PORT_IRQ
1:	cli
	hlt
	jmp	1b

ENTRY(0x1400)
/* GDT, data segments, IDT (every vector counted as unexpected unless set), APIC on */
init:
	mov	%edi, IRQ_V_X2APIC
	mov	%esi, IRQ_V_MODE
	lgdt	gdt_desc
	mov	$0x10, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	xor	%ecx, %ecx
1:	mov	$h_unexpected, %eax
	call	set_gate
	inc	%ecx
	cmp	$256, %ecx
	jb	1b
	mov	$IRQ_VEC_TIMER, %ecx;  mov $h_timer, %eax;  call set_gate
	mov	$IRQ_VEC_TSCD, %ecx;   mov $h_tscd, %eax;   call set_gate
	mov	$IRQ_VEC_TO_BSP, %ecx; mov $h_to_bsp, %eax; call set_gate
	mov	$IRQ_VEC_TO_AP, %ecx;  mov $h_to_ap, %eax;  call set_gate
	mov	$IRQ_VEC_EDGE, %ecx;   mov $h_edge, %eax;   call set_gate
	mov	$IRQ_VEC_LEVEL, %ecx;  mov $h_level, %eax;  call set_gate
	mov	$IRQ_VEC_MSI, %ecx;    mov $h_msi, %eax;    call set_gate
	mov	$IRQ_VEC_PIT, %ecx;    mov $h_pit, %eax;    call set_gate
	mov	$IRQ_VEC_PIT_IO, %ecx; mov $h_pit_io, %eax; call set_gate
	mov	$IRQ_VEC_SPLIT_MSI, %ecx; mov $h_split_msi, %eax; call set_gate
	mov	$IRQ_VEC_SPLIT_EXT, %ecx; mov $h_split_ext, %eax; call set_gate
	mov	$2, %ecx;              mov $h_nmi, %eax;    call set_gate
	mov	$IRQ_VEC_SELF, %ecx;   mov $h_self, %eax;   call set_gate
	lidt	idt_desc
	call	apic_on
	ret

/* gate %ecx -> handler %eax (below 4 GiB): 64-bit interrupt gate, CS 8 */
set_gate:
	mov	%ecx, %edx
	shl	$4, %edx
	add	$IRQ_IDT, %edx
	mov	%ax, (%rdx)
	movw	$8, 2(%rdx)
	movw	$0x8e00, 4(%rdx)
	shr	$16, %eax
	mov	%ax, 6(%rdx)
	movq	$0, 8(%rdx)
	ret

/* this CPU's APIC: x2APIC mode if asked for, software-enabled */
apic_on:
	cmpl	$0, IRQ_V_X2APIC
	je	1f
	mov	$0x1b, %ecx
	rdmsr
	or	$0xc00, %eax
	wrmsr
1:	APIC_W(0xf0, 0x1ff)
	ret

/* APIC register at offset %ecx := %eax (xAPIC MMIO or x2APIC MSR); keeps registers */
apic_write:
	push	%rcx
	push	%rdx
	cmpl	$0, IRQ_V_X2APIC
	jne	1f
	mov	$APIC, %edx
	mov	%eax, (%rdx,%rcx)
	jmp	2f
1:	shr	$4, %ecx
	add	$0x800, %ecx
	xor	%edx, %edx
	wrmsr
2:	pop	%rdx
	pop	%rcx
	ret

/* %eax := APIC register at offset %ecx */
apic_read:
	push	%rcx
	push	%rdx
	cmpl	$0, IRQ_V_X2APIC
	jne	1f
	mov	$APIC, %edx
	mov	(%rdx,%rcx), %eax
	jmp	2f
1:	shr	$4, %ecx
	add	$0x800, %ecx
	rdmsr
2:	pop	%rdx
	pop	%rcx
	ret

/* IPI: ICR low %eax to APIC id %edx; keeps registers */
send_ipi:
	push	%rax
	push	%rcx
	push	%rdx
	cmpl	$0, IRQ_V_X2APIC
	jne	1f
	mov	$APIC, %ecx
	shl	$24, %edx
	mov	%edx, 0x310(%rcx)
	mov	%eax, 0x300(%rcx)
	jmp	2f
1:	mov	$0x830, %ecx
	wrmsr
2:	pop	%rdx
	pop	%rcx
	pop	%rax
	ret

h_unexpected:
	incl	IRQ_V_UNEXPECTED
	EOI
	iretq
h_timer:
	incl	IRQ_V_TIMER
	EOI
	iretq
h_tscd:
	incl	IRQ_V_TSCD
	EOI
	iretq
h_to_bsp:
	incl	IRQ_V_BSP_IPI
	EOI
	iretq
h_self:
	incl	IRQ_V_SELF
	EOI
	iretq
/* EOI before the reply: once the BSP sees it, the AP has nothing in service */
h_to_ap:
	incl	IRQ_V_AP_IPI
	EOI
	push	%rax
	push	%rdx
	mov	$IRQ_VEC_TO_BSP, %eax
	xor	%edx, %edx
	call	send_ipi
	pop	%rdx
	pop	%rax
	iretq
h_edge:
	incl	IRQ_V_EDGE
	EOI
	iretq
h_level:
	push	%rax
	incl	IRQ_V_LEVEL
	mov	$IRQ_REQ_LEVEL_DOWN, %al
	out	%al, $PORT_IRQ_REQ
	pop	%rax
	EOI
	iretq
h_msi:
	incl	IRQ_V_MSI
	EOI
	iretq
/* ExtINT: the 8259 wants the EOI, the LAPIC never had it in service */
h_pit:
	incl	IRQ_V_PIT
	push	%rax
	mov	$0x20, %al
	out	%al, $0x20
	pop	%rax
	iretq

h_pit_io:
	incl	IRQ_V_PIT
	EOI
	iretq
h_nmi:
	incl	IRQ_V_NMI
	iretq
h_split_msi:
	incl	IRQ_V_SPLIT_MSI
	EOI
	iretq
/* ExtINT from the VMM: never in the LAPIC's ISR, no EOI */
h_split_ext:
	incl	IRQ_V_SPLIT_EXT
	iretq

split_main:
	mov	$IRQ_REQ_SPLIT_LINE, %al
	out	%al, $PORT_IRQ_REQ
	mov	$1, %ebx
	WAITGE	IRQ_V_SPLIT_MSI
	mov	$IRQ_REQ_SPLIT_EXT, %al
	out	%al, $PORT_IRQ_REQ
	mov	$1, %ebx
	WAITGE	IRQ_V_SPLIT_EXT
	REPORT(IRQ_V_SPLIT_MSI)
	REPORT(IRQ_V_SPLIT_EXT)
	REPORT(IRQ_V_UNEXPECTED)
	out	%al, $PORT_IRQ_DONE

#define OUTB(port, val) mov $(val), %al; out %al, $(port)
pit_main:
	OUTB(0x20, 0x11)                                /* ICW1..4: base 0x20, slave on 2 */
	OUTB(0x21, IRQ_VEC_PIT)
	OUTB(0x21, 0x04)
	OUTB(0x21, 0x01)
	OUTB(0x21, 0xfe)                                /* only IRQ0 ... */
	OUTB(0xa0, 0x11)
	OUTB(0xa1, 0x28)
	OUTB(0xa1, 0x02)
	OUTB(0xa1, 0x01)
	OUTB(0xa1, 0xff)
	cmpl	$0, IRQ_V_MODE
	je	1f
	OUTB(0x21, 0xff)                                /* ... or none: IOAPIC pin 0 */
	mov	$IOAPIC, %ebp
	IOW(RTE(0, 0), IRQ_VEC_PIT_IO)
	IOW(RTE(0, 1), 0)
1:	OUTB(0x43, 0x34)                                /* channel 0, lo/hi, mode 2 */
	OUTB(0x40, IRQ_PIT_COUNT & 0xff)
	OUTB(0x40, IRQ_PIT_COUNT >> 8)
	mov	$IRQ_N, %ebx
	WAITGE	IRQ_V_PIT
	cli
	OUTB(0x21, 0xff)
	mov	$IOAPIC, %ebp
	IOW(RTE(0, 0), 0x10000)
	REPORT(IRQ_V_PIT)
	REPORT(IRQ_V_UNEXPECTED)
	OUTB(0x20, 0x0b)                                /* OCW3: read ISR */
	in	$0x20, %al
	movzbl	%al, %eax
	out	%eax, $PORT_IRQ
	in	$0x21, %al                              /* IMR */
	movzbl	%al, %eax
	out	%eax, $PORT_IRQ
	OUTB(0x43, 0xc2)                                /* read-back: latch channel 0's status */
	in	$0x40, %al
	and	$0x7f, %eax                             /* bit 7 is OUT: time-dependent */
	out	%eax, $PORT_IRQ
	OUTB(0x61, 0x03)                                /* speaker port: gate 2 and data on */
	in	$0x61, %al
	and	$0x0f, %eax                             /* bits 4, 5: refresh and OUT2 tick */
	out	%eax, $PORT_IRQ
	out	%al, $PORT_IRQ_DONE

timer_main:
	APIC_W(0x3e0, 0xb)                              /* divide by 1 */
	APIC_W(0x320, IRQ_VEC_TIMER | 0x20000)          /* periodic */
	APIC_W(0x380, IRQ_TIMER_COUNT)
	mov	$IRQ_N, %ebx
	WAITGE	IRQ_V_TIMER
	cli
	APIC_W(0x320, 0x10000)
	APIC_W(0x380, 0)
	REPORT(IRQ_V_TIMER)
	APIC_W(0x320, IRQ_VEC_TSCD | 0x40000)           /* TSC deadline */
	mov	$0x320, %ecx
	call	apic_read
	out	%eax, $PORT_IRQ
	xor	%esi, %esi
tscd_loop:
	rdtsc
	add	$IRQ_TSC_DELTA, %eax
	adc	$0, %edx
	mov	$0x6e0, %ecx
	wrmsr
	inc	%esi
	mov	%esi, %ebx
	WAITGE	IRQ_V_TSCD
	cmp	$IRQ_N, %esi
	jb	tscd_loop
	mov	$0x6e0, %ecx
	rdmsr
	out	%eax, $PORT_IRQ                         /* fired: the deadline reads 0 */
	REPORT(IRQ_V_TSCD)
	APIC_W(0x320, IRQ_VEC_TIMER)                    /* one-shot: TMCCT counts down */
	APIC_W(0x380, 0x7fffffff)
	mov	$0x390, %ecx
	call	apic_read
	mov	%eax, %edi
	mov	$100000, %ecx
1:	pause
	loop	1b
	mov	$0x390, %ecx
	call	apic_read
	xor	%edx, %edx
	cmp	%eax, %edi                              /* first > second > 0 */
	jbe	2f
	test	%eax, %eax
	jz	2f
	inc	%edx
2:	mov	%edx, %eax
	out	%eax, $PORT_IRQ
	mov	IRQ_V_TIMER, %ebx                       /* a new TMICT restarts it: 1 ms */
	inc	%ebx
	APIC_W(0x380, IRQ_TIMER_COUNT)
	WAITGE	IRQ_V_TIMER
	mov	$0x390, %ecx                            /* expired: 0 */
	call	apic_read
	out	%eax, $PORT_IRQ
	REPORT(IRQ_V_UNEXPECTED)
	mov	$5, %eax                                /* CR8 <-> TPR[7:4] both ways */
	mov	%rax, %cr8
	mov	$0x80, %ecx
	call	apic_read
	out	%eax, $PORT_IRQ
	APIC_W(0x80, 0x30)
	mov	$0x80, %ecx
	call	apic_read
	out	%eax, $PORT_IRQ
	mov	$2, %eax                                /* left for the client to see */
	mov	%rax, %cr8
	out	%al, $PORT_IRQ_DONE

ipi_main:
	mov	$1, %edx
	mov	$0x4500, %eax                           /* INIT, assert */
	call	send_ipi
	mov	$(0x4600 | (IRQ_AP_ENTRY >> 12)), %eax  /* SIPI */
	call	send_ipi
1:	pause
	cmpl	$0, IRQ_V_AP_ALIVE
	je	1b
	REPORT(IRQ_V_AP_ALIVE)
	xor	%esi, %esi
ipi_loop:
	mov	$1, %edx
	mov	$IRQ_VEC_TO_AP, %eax
	call	send_ipi
	inc	%esi
	mov	%esi, %ebx
	WAITGE	IRQ_V_BSP_IPI
	cmp	$IRQ_N, %esi
	jb	ipi_loop
	REPORT(IRQ_V_AP_IPI)
	REPORT(IRQ_V_BSP_IPI)
	xor	%esi, %esi                              /* NMIs to the halted AP */
nmi_loop:
	mov	$1, %edx
	mov	$0x400, %eax
	call	send_ipi
	inc	%esi
1:	pause
	cmpl	%esi, IRQ_V_NMI
	jb	1b
	cmp	$IRQ_N, %esi
	jb	nmi_loop
	REPORT(IRQ_V_NMI)
	xor	%edx, %edx                              /* all excluding self */
	mov	$(0xc0000 | IRQ_VEC_TO_AP), %eax
	call	send_ipi
	mov	$(IRQ_N + 1), %ebx
	WAITGE	IRQ_V_BSP_IPI
	mov	$2, %edx                                /* logical: the AP's LDR bit 1 */
	mov	$(0x800 | IRQ_VEC_TO_AP), %eax
	call	send_ipi
	mov	$(IRQ_N + 2), %ebx
	WAITGE	IRQ_V_BSP_IPI
	xor	%edx, %edx                              /* self */
	mov	$(0x40000 | IRQ_VEC_SELF), %eax
	call	send_ipi
	mov	$1, %ebx
	WAITGE	IRQ_V_SELF
	REPORT(IRQ_V_AP_IPI)
	REPORT(IRQ_V_BSP_IPI)
	REPORT(IRQ_V_SELF)
	REPORT(IRQ_V_UNEXPECTED)
	out	%al, $PORT_IRQ_DONE

ioapic_main:
	mov	$IOAPIC, %ebp
	IOW(RTE(IRQ_PIN_EDGE, 0), IRQ_VEC_EDGE)
	IOW(RTE(IRQ_PIN_EDGE, 1), 0)
	IOW(RTE(IRQ_PIN_LEVEL, 0), IRQ_VEC_LEVEL | 0x8000)
	IOW(RTE(IRQ_PIN_LEVEL, 1), 0)
	movl	$1, (%rbp)                              /* version register */
	REPORT(0x10(%rbp))
	mov	$IRQ_REQ_EDGE, %al
	out	%al, $PORT_IRQ_REQ
	mov	$1, %ebx
	WAITGE	IRQ_V_EDGE
	mov	$IRQ_REQ_EDGE, %al
	out	%al, $PORT_IRQ_REQ
	mov	$2, %ebx
	WAITGE	IRQ_V_EDGE
	mov	$IRQ_REQ_LEVEL_UP, %al
	out	%al, $PORT_IRQ_REQ
	mov	$1, %ebx
	WAITGE	IRQ_V_LEVEL
	movl	$RTE(IRQ_PIN_LEVEL, 0), (%rbp)          /* remote IRR clear again */
	REPORT(0x10(%rbp))
	mov	$IRQ_REQ_MSI, %al
	out	%al, $PORT_IRQ_REQ
	mov	$1, %ebx
	WAITGE	IRQ_V_MSI
	REPORT(IRQ_V_EDGE)
	REPORT(IRQ_V_LEVEL)
	REPORT(IRQ_V_MSI)
	REPORT(IRQ_V_UNEXPECTED)
	out	%al, $PORT_IRQ_DONE

gdt_desc:
	.word	23
	.quad	IRQ_GDT
idt_desc:
	.word	256 * 16 - 1
	.quad	IRQ_IDT
gdt_desc32:
	.word	23
	.long	IRQ_GDT

/* the AP, from its SIPI: real mode, CS = IRQ_AP_ENTRY >> 4, IP = 0; straight to long mode */
ENTRY(IRQ_AP_ENTRY)
	.code16
	cli
	xor	%ax, %ax
	mov	%ax, %ds
	lgdtl	gdt_desc32
	mov	$0x20, %eax                             /* PAE */
	mov	%eax, %cr4
	mov	$IRQ_PT_PML4, %eax
	mov	%eax, %cr3
	mov	$0xc0000080, %ecx
	rdmsr
	or	$0x100, %eax                            /* LME */
	wrmsr
	mov	$0x80000011, %eax                       /* PG | ET | PE */
	mov	%eax, %cr0
	ljmpl	$8, $ap64
	.code64
ap64:
	mov	$0x10, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	$IRQ_AP_STACK, %esp
	lidt	idt_desc
	call	apic_on
	cmpl	$0, IRQ_V_X2APIC                        /* xAPIC: flat logical ID bit 1 */
	jne	2f
	APIC_W(0xe0, 0xffffffff)
	APIC_W(0xd0, 0x02000000)
2:	movl	$1, IRQ_V_AP_ALIVE
	sti
1:	hlt
	jmp	1b

ENTRY(IRQ_GDT)
	.quad	0
	.quad	0x00af9b000000ffff
	.quad	0x00cf93000000ffff

ENTRY(IRQ_SPLIT_ENTRY)
	call	init
	jmp	split_main
