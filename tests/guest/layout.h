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

#endif
