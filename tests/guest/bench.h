/* SPDX-License-Identifier: MIT */
/*
 * Contract between the benchmark guest (tests/guest/bench.S) and the
 * benchmark client (tests/bench/kvmbench.c).  Preprocessor only.
 *
 * The client enters the guest at GUEST_LOAD in 64-bit mode (its own GDT at
 * BGDT and page tables at BPT_*: 0..4 GiB identity in 2 MiB pages, user
 * accessible, the top GiB uncached) with RSP = GUEST_STACK - 4 KiB * id and
 *   ESI = vCPU id, EDI = BG_* benchmark, EBP = iterations (>= 1),
 *   EBX = first GPA to touch (BG_TOUCH only);
 * the guest sets up what the benchmark needs, does OUT to BPORT_START (the
 * client's clock starts there), runs the loop and ends with OUT of 0 to
 * BPORT_DONE (1 on a guest-detected error).  64-bit because the host here
 * (PVM) cannot IRET in 32-bit protected mode.
 */
#ifndef CUSED_TEST_GUEST_BENCH_H
#define CUSED_TEST_GUEST_BENCH_H

#define BG_PIO          0   /* OUT %al, BPORT_PIO: a client-handled PIO exit */
#define BG_MMIO_WRITE   1   /* 4-byte store to BMMIO_ADDR */
#define BG_MMIO_READ    2   /* 4-byte load from BMMIO_ADDR */
#define BG_CPUID        3   /* CPUID leaf 0 */
#define BG_RDMSR        4   /* RDMSR BMSR */
#define BG_WRMSR        5   /* WRMSR BMSR = BMSR_VALUE */
#define BG_COMPUTE      6   /* EBP iterations of an ALU loop, no exits */
#define BG_TOUCH        7   /* one 4-byte store per 4 KiB page from EBX, EBP pages (CPL 3) */
#define BG_TIMER        8   /* LAPIC one-shot timer, HLT until it fires, EBP times */
#define BG_IPI          9   /* vCPU 0 <-> vCPU 1 IPI ping-pong, EBP round trips */
#define BG_DOORBELL     10  /* store to BMMIO_DOORBELL, HLT until BVEC_COUNT, EBP times */
#define BG_COMPUTE_USER 11  /* BG_COMPUTE's loop at CPL 3, ended by a store to BMMIO_DONE */
#define BG_MAX          12

#define BPORT_PIO       0x30   /* not 0x20-0x21: the in-kernel PIC owns those */
#define BPORT_DONE      0x31
#define BPORT_START     0x32
#define BMMIO_ADDR      0xd0000000  /* no memslot: every access is KVM_EXIT_MMIO */
#define BMMIO_DOORBELL  0xd0001000  /* the client's KVM_IOEVENTFD (4 bytes, any value) */
#define BMMIO_DONE      0xd0002000  /* a store here is BPORT_DONE for CPL 3 code */
#define BUSER_STACK     0x8000      /* CPL 3 stack top */
#define BMSR            0x2ff       /* MTRRdefType: emulated by KVM and by cused's table */
#define BMSR_VALUE      0xc06
#define BTOUCH_GPA      0x40000000  /* slot 1 of the memory benchmark */

#define BLAPIC          0xfee00000
#define BVEC_COUNT      0x41        /* counts BDATA_COUNT[apic id]; on APIC 1 also replies to APIC 0 */
#define BVEC_STOP       0x42        /* ends the IPI benchmark on vCPU 1 */
#define BTIMER_COUNT    100         /* one-shot initial count, divide by 1 */

#define BGDT            0x800       /* null, 0x08 64-bit code, 0x10 data, 0x18 user data,
                                       0x20 user 64-bit code (client-written) */
#define BDATA_COUNT     0x3000      /* u32 per APIC id */
#define BDATA_READY     0x3100      /* vCPU 1 of BG_IPI is ready for IPIs */
#define BIDT            0x4000      /* 256 16-byte gates */
#define BPT_PML4        0x9000      /* [0] -> BPT_PDPT */
#define BPT_PDPT        0xa000      /* [0..3] -> BPT_PD + 4 KiB * i */
#define BPT_PD          0xb000      /* four pages: 2 MiB identity pages of 0..4 GiB */

#endif
