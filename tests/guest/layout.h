/* SPDX-License-Identifier: MIT */
/*
 * Memory and port layout shared by the test guests (the tests/guest .S files, which
 * are run through the C preprocessor) and the test client
 * (tests/integration/kvmtest.c).  Keep it preprocessor-only.
 */
#ifndef CUSED_TEST_GUEST_LAYOUT_H
#define CUSED_TEST_GUEST_LAYOUT_H

#define GUEST_LOAD      0x1000      /* every image is linked and loaded here */
#define GUEST_RAM_SIZE  0x200000    /* 2 MiB of RAM at GPA 0 (slot 0) */
#define GUEST_STACK     0x7000      /* top of the guest stack */

/* page tables built by the modes guest before it enables paging */
#define PT_PML4         0x9000
#define PT_PDPT         0xa000
#define PT_PD0          0xb000      /* 0..1 GiB, 2 MiB pages, identity */
#define PT_PD3          0xc000      /* 3..4 GiB, only the MMIO page */

#define MMIO_ADDR       0xd0000000  /* no memslot here: every access exits */
#define MMIO_WRITE4     0x12345678
#define MMIO_WRITE8_LO  0x55667788
#define MMIO_WRITE8_HI  0x11223344
/* the client answers an MMIO read of len N with the first N little-endian
 * bytes of MMIO_READ_REPLY64 (C only) */
#define MMIO_READ_REPLY64 0xfeedfacea5a5f00dULL

#define PORT_CONSOLE    0xe9        /* out: one character per exit */
#define PORT_IN         0x10        /* in: the client answers PORT_IN_REPLY */
#define PORT_IN_REPLY   0xcafebabeU /* element j of a string IN gets PORT_IN_REPLY + j */
#define STRIO_BUF       0x8000      /* modes guest: REP INSW destination */
#define PORT_SPIN       0x11        /* spin guest: out in a loop */
#define PORT_HOLD       0x12        /* hold guest: one out, then spins without exits */
#define PORT_SMP        0x13        /* smp guest: out <vcpu id> */

/* MSRs the modes guest writes and reads back */
#define MSR_EFER_       0xc0000080
#define MSR_STAR_       0xc0000081
#define MSR_SYSENTER_ESP_ 0x175
#define MSR_MISC_ENABLE_ 0x1a0
#define MSR_MTRR_DEF_TYPE_ 0x2ff
#define STAR_VALUE_LO   0x00000000
#define STAR_VALUE_HI   0x00230010
#define SYSENTER_ESP_LO 0x34567000
#define SYSENTER_ESP_HI 0x00000012
#define MTRR_DEF_TYPE_VALUE 0xc06   /* E | FE | default type WB */

/* smp guest */
#define SMP_ITERS       64
#define SMP_COUNTERS    0x600       /* u32 per vCPU: iterations done by that vCPU */
#define SMP_SHARED      0x700       /* u32: lock-incremented by every vCPU */

/*
 * features guest (tests/guest/features.S): one entry point per scenario at a
 * fixed address; kvmtest features starts a fresh VM at each.  The long-mode
 * scenarios are put in 64-bit mode by the client (sregs + the page tables
 * below, which it writes); the interrupt scenario runs in real mode.
 */
#define PORT_FEAT       0x14        /* features guest: out <progress / result> */
#define FEAT_DIRTY_ENTRY 0x1000     /* 64-bit: writes pages of the dirty-logged slot */
#define FEAT_STEP_ENTRY  0x1100     /* 64-bit: a few instructions to single-step */
#define FEAT_IRQ_ENTRY   0x1200     /* real mode: IVT, STI, HLT, interrupt handlers */
#define FEAT_RO_ENTRY    0x1300     /* 64-bit: reads and writes the read-only slot */
#define FEAT_FPU_ENTRY   0x1400     /* 64-bit: uses FCW and XMM0/1 set by KVM_SET_FPU */
#define FEAT_REGS_ENTRY  0x1500     /* 64-bit: outputs registers the client changes */
#define FEAT_REGS_GOOD   0x1580     /* the client moves RIP here at the 0xbad exit */
#define FEAT_XLATE_ENTRY 0x1600     /* 64-bit: reads through the non-identity 4K page */
#define FEAT_DATA        0x8000     /* results the FPU scenario stores */

/* client-built long-mode page tables; every level writable, no US bit */
#define FPT_PML4        0x9000      /* [0] -> FPT_PDPT */
#define FPT_PDPT        0xa000      /* [0] -> FPT_PD, [1] -> FPT_PD1 */
#define FPT_PD          0xb000      /* [0] -> FPT_PT, [1] 2 MiB identity, [2] -> FPT_PT2 */
#define FPT_PT          0xc000      /* 0..2 MiB identity, 4 KiB pages */
#define FPT_PT2         0xd000      /* only [3]: VA FEAT_XLATE_VA -> FEAT_XLATE_PA */
#define FPT_PD1         0xe000      /* only [0]: VA 1 GiB -> FEAT_XLATE_PA2M, 2 MiB page */
#define FEAT_XLATE_VA    0x403000
#define FEAT_XLATE_PA    0x5000
#define FEAT_XLATE_PA2M  0x600000
#define FEAT_XLATE_MAGIC 0x7a7a5151 /* the client puts it at FEAT_XLATE_PA */

#define FEAT_DIRTY_GPA   0x200000   /* slot 1, KVM_MEM_LOG_DIRTY_PAGES */
#define FEAT_DIRTY_PAGES 96
#define FEAT_RO_GPA      0x300000   /* slot 2, KVM_MEM_READONLY, one page */
#define FEAT_RO_VALUE    0x1122334455667788ULL /* C only: client fills the slot's first qword */
#define FEAT_RO_WRITE_LO 0xe5f60718
#define FEAT_RO_WRITE_HI 0xa1b2c3d4
#define FEAT_IRQ_VEC1    0x20       /* injected at the interrupt window */
#define FEAT_IRQ_VEC2    0x21       /* injected after the guest's HLT */

#endif
