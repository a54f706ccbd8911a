/* SPDX-License-Identifier: MIT */
/* Architectural value checks shared by the MSR rules (msr.c) */
#ifndef CUSED_X86_MSR_VALUES_H
#define CUSED_X86_MSR_VALUES_H

#include <stdbool.h>
#include <stdint.h>

/* bits at and above MAXPHYADDR */
uint64_t msr_gpa_reserved(unsigned maxphyaddr);
/* sign-extend from bit vaddr_bits-1 */
uint64_t msr_canonical(uint64_t addr, unsigned vaddr_bits);
/* PAT entries 0, 1, 4, 5, 6, 7 (kvm_pat_valid) */
bool msr_pat_valid(uint64_t pat);
/* memory types an MTRR may hold: UC WC WT WP WB */
bool msr_mtrr_type_valid(uint8_t t);
/* kvm_mtrr_valid for MTRRdefType, a fixed-range MTRR, or variable MTRR index 0x200+off */
bool msr_mtrr_def_valid(uint64_t v);
bool msr_mtrr_fix_valid(uint64_t v);
bool msr_mtrr_var_valid(unsigned off, uint64_t v, unsigned maxphyaddr);

#endif
