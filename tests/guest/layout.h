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

/*
 * irq guest (tests/guest/irq.S): the in-kernel irqchip.  The client puts the
 * BSP in 64-bit mode at one entry on the IRQ_PT_* tables (0-2 MiB identity,
 * and the 2 MiB pages holding the IOAPIC and LAPIC); the guest loads its own
 * GDT (at IRQ_GDT, so that IRETQ and the AP can use it) and IDT.  (64-bit
 * because the host's PVM cannot emulate a 32-bit IRET.)
 */
#define IRQ_PT_PML4     0x9000
#define IRQ_PT_PDPT     0xa000
#define IRQ_PT_PD0      0xb000
#define IRQ_PT_PD3      0xc000
#define PORT_IRQ        0x15        /* irq guest: out <value> to report */
#define PORT_IRQ_REQ    0x16        /* irq guest: out <request>: the client acts (IRQ_REQ_*) */
#define PORT_IRQ_DONE   0x17        /* irq guest: scenario over */
#define IRQ_TIMER_ENTRY  0x1100     /* LAPIC timer: periodic, then TSC deadline */
#define IRQ_IPI_ENTRY    0x1200     /* INIT/SIPI an AP, fixed IPIs both ways */
#define IRQ_IOAPIC_ENTRY 0x1300     /* IOAPIC edge and level pins, MSI */
#define IRQ_TPR_ENTRY    0x1380     /* TPR written through the APIC, CR8 read */
#define IRQ_PIT_ENTRY    0x13c0     /* PIT channel 0 through the 8259 (ExtINT) or the IOAPIC */
#define IRQ_HALT_ENTRY   0x13e0     /* one report, then HLT with IF=0 for ever */
#define IRQ_AP_ENTRY     0x3000     /* real mode: SIPI vector IRQ_AP_ENTRY >> 12 */
#define IRQ_SPLIT_ENTRY  0x3a00     /* KVM_CAP_SPLIT_IRQCHIP: level MSI route, VMM ExtINT */
#define IRQ_GDT          0x3800
#define IRQ_IDT          0x4000     /* 256 16-byte gates */
#define IRQ_VARS         0x6000     /* u32 counters below */
#define IRQ_V_TIMER      (IRQ_VARS + 0x00)
#define IRQ_V_TSCD       (IRQ_VARS + 0x04)
#define IRQ_V_BSP_IPI    (IRQ_VARS + 0x08)
#define IRQ_V_AP_IPI     (IRQ_VARS + 0x0c)
#define IRQ_V_AP_ALIVE   (IRQ_VARS + 0x10)
#define IRQ_V_EDGE       (IRQ_VARS + 0x14)
#define IRQ_V_LEVEL      (IRQ_VARS + 0x18)
#define IRQ_V_MSI        (IRQ_VARS + 0x1c)
#define IRQ_V_UNEXPECTED (IRQ_VARS + 0x20)
#define IRQ_V_X2APIC     (IRQ_VARS + 0x24)  /* EDI at entry: 1 = x2APIC mode */
#define IRQ_V_PIT        (IRQ_VARS + 0x28)
#define IRQ_V_MODE       (IRQ_VARS + 0x2c)  /* ESI at entry: pit: 1 = through the IOAPIC */
#define IRQ_V_NMI        (IRQ_VARS + 0x30)
#define IRQ_V_SPLIT_MSI  (IRQ_VARS + 0x34)
#define IRQ_V_SPLIT_EXT  (IRQ_VARS + 0x38)
#define IRQ_V_SELF       (IRQ_VARS + 0x3c)
#define IRQ_AP_STACK     0x6800
#define IRQ_N            5          /* interrupts of each kind the guest waits for */
#define IRQ_VEC_PIT      0x20       /* the master 8259's base */
#define IRQ_VEC_PIT_IO   0x22       /* GSI 0 through IOAPIC pin 0 */
#define IRQ_VEC_TIMER    0x40
#define IRQ_VEC_TSCD     0x41
#define IRQ_VEC_TO_BSP   0x50
#define IRQ_VEC_TO_AP    0x51
#define IRQ_VEC_SELF     0x52
#define IRQ_VEC_EDGE     0x60
#define IRQ_VEC_LEVEL    0x61
#define IRQ_VEC_MSI      0x62
#define IRQ_VEC_SPLIT_MSI 0x63      /* level MSI route on GSI IRQ_PIN_EDGE */
#define IRQ_VEC_SPLIT_EXT 0x64      /* KVM_INTERRUPT at the window */
#define IRQ_PIN_EDGE     5          /* IOAPIC pins = GSIs (KVM's default routing) */
#define IRQ_PIN_LEVEL    6
#define IRQ_REQ_EDGE     1          /* client: KVM_IRQ_LINE_STATUS pin 5 up, then down */
#define IRQ_REQ_LEVEL_UP 2          /* client: KVM_IRQ_LINE_STATUS pin 6 up */
#define IRQ_REQ_LEVEL_DOWN 3        /* client (from the handler): pin 6 down */
#define IRQ_REQ_MSI      4          /* client: KVM_SIGNAL_MSI of IRQ_VEC_MSI to APIC 0 */
#define IRQ_REQ_SPLIT_LINE 5        /* client: KVM_IRQ_LINE_STATUS GSI 5 up and down (a level MSI route) */
#define IRQ_REQ_SPLIT_EXT  6        /* client: request_interrupt_window, then KVM_INTERRUPT */
#define IRQ_TIMER_COUNT  1000000    /* LAPIC periodic count: 1 ms at KVM's 1 ns bus cycle */
#define IRQ_TSC_DELTA    2000000    /* TSC-deadline step in TSC cycles */
#define IRQ_PIT_COUNT    1193       /* PIT mode 2: 1 ms */

#endif
