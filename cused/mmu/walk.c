/* SPDX-License-Identifier: MIT */
/*
 * Guest page walk for the four x86 paging modes.  Behaviour follows the SDM
 * and Linux arch/x86/kvm/mmu/paging_tmpl.h: not-present and reserved-bit
 * faults stop the walk at the level where they happen, rights are checked
 * once on the rights accumulated over all levels, and A/D bits are written
 * only when the translation succeeds.
 */
#include <errno.h>
#include <string.h>
#include "cused/mmu/walk.h"

#define CR0_WP   (1ULL << 16)
#define CR0_PG   (1ULL << 31)
#define CR4_PSE  (1ULL << 4)
#define CR4_PAE  (1ULL << 5)
#define CR4_LA57 (1ULL << 12)
#define CR4_SMEP (1ULL << 20)
#define CR4_SMAP (1ULL << 21)
#define EFER_LMA (1ULL << 10)
#define EFER_NXE (1ULL << 11)

#define PTE_P  (1ULL << 0)
#define PTE_RW (1ULL << 1)
#define PTE_US (1ULL << 2)
#define PTE_A  (1ULL << 5)
#define PTE_D  (1ULL << 6)
#define PTE_PS (1ULL << 7)
#define PTE_XD (1ULL << 63)

/* bits 51:12, the address field of PAE and long-mode entries at MAXPHYADDR 52 */
#define ADDR_MASK_64 0x000ffffffffff000ULL
#define MAX_LEVELS 5

enum pt_kind { PT_32, PT_PAE, PT_LONG };

struct walk {
	enum pt_kind kind;
	int top;             /* level of the first entry read from a table */
	bool nxe;            /* XD is a bit at all: PAE or long mode with EFER.NXE */
	bool smep;
	unsigned esize;      /* bytes per entry */
	uint64_t pte_gpa[MAX_LEVELS];
	uint64_t pte[MAX_LEVELS];
};

static uint64_t bit_range(int lo, int hi)
{
	return (~0ULL >> (63 - hi)) & (~0ULL << lo);
}

static uint64_t rsvd_mask(const struct walk *w, int level, bool leaf)
{
	uint64_t m = w->nxe ? 0 : PTE_XD;

	switch (w->kind) {
	case PT_32:
		/* PSE-36 at MAXPHYADDR >= 40: bits 20:13 are address bits 39:32 */
		return level == 2 && leaf ? bit_range(21, 21) : 0;
	case PT_PAE:
		/* PAE entries reserve everything above MAXPHYADDR up to bit 62 */
		m |= bit_range(52, 62);
		return level == 2 && leaf ? m | bit_range(13, 20) : m;
	case PT_LONG:
		if (level >= 4)
			return m | PTE_PS;
		if (leaf && level > 1)
			return m | bit_range(13, level == 3 ? 29 : 20);
		return m;
	}
	return 0;
}

static bool is_leaf(const struct walk *w, const struct walk_regs *r, int level, uint64_t pte)
{
	if (level == 1)
		return true;
	if (!(pte & PTE_PS))
		return false;
	switch (w->kind) {
	case PT_32:
		/* without CR4.PSE the CPU ignores PS in a PDE */
		return level == 2 && (r->cr4 & CR4_PSE);
	case PT_PAE:
		return level == 2;
	case PT_LONG:
		/* PS above level 3 is a reserved bit, caught by rsvd_mask */
		return level <= 3;
	}
	return false;
}

static uint64_t leaf_gpa(const struct walk *w, int level, uint64_t pte, uint64_t gva)
{
	uint64_t off;

	if (w->kind == PT_32) {
		if (level == 2)
			return (pte & 0xffc00000) | (((pte >> 13) & 0xff) << 32) | (gva & 0x3fffff);
		return (pte & 0xfffff000) | (gva & 0xfff);
	}
	off = (1ULL << (12 + 9 * (level - 1))) - 1;
	return (pte & ADDR_MASK_64 & ~off) | (gva & off);
}

static unsigned pt_index(const struct walk *w, int level, uint64_t gva)
{
	if (w->kind == PT_32)
		return (gva >> (12 + 10 * (level - 1))) & 0x3ff;
	return (gva >> (12 + 9 * (level - 1))) & 0x1ff;
}

static int read_pte(const struct walk_mem *m, uint64_t gpa, unsigned esize, uint64_t *pte)
{
	uint32_t v32;
	int r;

	if (esize == 4) {
		r = m->read(m->ctx, gpa, &v32, 4);
		*pte = v32;
		return r;
	}
	return m->read(m->ctx, gpa, pte, 8);
}

static int fault(const struct walk *w, uint32_t access, int level, uint32_t code,
		 struct walk_result *res)
{
	res->error_code = code | (access & (WALK_WRITE | WALK_USER));
	/* the CPU reports I/D only when some feature makes fetches special */
	if ((access & WALK_FETCH) && (w->nxe || w->smep))
		res->error_code |= WALK_FETCH;
	res->level = level;
	return -EFAULT;
}

static bool permitted(const struct walk_regs *r, uint32_t access, const struct walk_result *res)
{
	bool write = access & WALK_WRITE, fetch = access & WALK_FETCH;

	if (fetch && res->nx)
		return false;
	if (access & WALK_USER)
		return res->user && (!write || res->writable);
	/* supervisor: read-only binds only with CR0.WP; user pages only with SMEP/SMAP */
	if (write && !res->writable && (r->cr0 & CR0_WP))
		return false;
	if (res->user && fetch && (r->cr4 & CR4_SMEP))
		return false;
	if (res->user && !fetch && (r->cr4 & CR4_SMAP))
		return false;
	return true;
}

static void set_accessed_dirty(const struct walk_mem *m, const struct walk *w, int leaf,
			       bool write)
{
	if (!m->write)
		return;
	for (int level = w->top; level >= leaf; level--) {
		uint64_t pte = w->pte[level - 1];
		uint64_t want = pte | PTE_A | (level == leaf && write ? PTE_D : 0);
		uint32_t v32 = (uint32_t)want;

		if (want == pte)
			continue;
		/* a table in read-only memory keeps its bits: KVM skips such entries too */
		if (w->esize == 4)
			m->write(m->ctx, w->pte_gpa[level - 1], &v32, 4);
		else
			m->write(m->ctx, w->pte_gpa[level - 1], &want, 8);
	}
}

/* sets up w and the first table; nonzero if the walk ended already */
static int walk_start(struct walk *w, const struct walk_regs *r, const struct walk_mem *m,
		      uint64_t *gva, uint32_t access, uint64_t *table, struct walk_result *res)
{
	bool nxe = r->efer & EFER_NXE;
	uint64_t pdpte;

	w->smep = r->cr4 & CR4_SMEP;
	if (r->efer & EFER_LMA) {
		/*
		 * Like KVM's walker, no canonical check: bits above the paging
		 * width do not take part in the walk.  The CPU raises #GP for a
		 * non-canonical access before any walk, so an emulator checks
		 * that itself; KVM_TRANSLATE answers for the low bits.
		 */
		w->kind = PT_LONG;
		w->top = (r->cr4 & CR4_LA57) ? 5 : 4;
		w->nxe = nxe;
		w->esize = 8;
		*table = r->cr3 & ADDR_MASK_64;
		return 0;
	}
	*gva &= 0xffffffffu;
	if (!(r->cr4 & CR4_PAE)) {
		w->kind = PT_32;
		w->top = 2;
		w->esize = 4;
		*table = r->cr3 & 0xfffff000;
		return 0;
	}
	w->kind = PT_PAE;
	w->top = 2;
	w->nxe = nxe;
	w->esize = 8;
	/*
	 * The CPU loads PDPTEs with CR3 and checks their reserved bits then
	 * (#GP), so as in KVM only presence matters here; they have no A bit.
	 */
	if (read_pte(m, (r->cr3 & 0xffffffe0) + ((*gva >> 30) & 3) * 8, 8, &pdpte) ||
	    !(pdpte & PTE_P))
		return fault(w, access, 3, 0, res);
	*table = pdpte & ADDR_MASK_64;
	return 0;
}

int mmu_walk(const struct walk_regs *r, const struct walk_mem *m, uint64_t gva, uint32_t access,
	     bool set_ad, struct walk_result *res)
{
	struct walk w = { 0 };
	uint64_t table;
	int level, err;

	memset(res, 0, sizeof(*res));
	if (!(r->cr0 & CR0_PG)) {
		/*
		 * As KVM's nonpaging_gva_to_gpa: the address is the physical
		 * address; a caller that models 32-bit wrap-around truncates.
		 */
		res->gpa = gva;
		res->writable = res->user = true;
		return 0;
	}
	err = walk_start(&w, r, m, &gva, access, &table, res);
	if (err)
		return err;

	res->writable = res->user = true;
	for (level = w.top;; level--) {
		uint64_t gpa = table + pt_index(&w, level, gva) * w.esize;
		uint64_t pte;
		bool leaf;

		/* a table outside guest memory: KVM calls the translation invalid */
		if (read_pte(m, gpa, w.esize, &pte) || !(pte & PTE_P))
			return fault(&w, access, level, 0, res);
		leaf = is_leaf(&w, r, level, pte);
		if (pte & rsvd_mask(&w, level, leaf))
			return fault(&w, access, level, WALK_PF_PRESENT | WALK_PF_RSVD, res);
		w.pte_gpa[level - 1] = gpa;
		w.pte[level - 1] = pte;
		res->writable &= !!(pte & PTE_RW);
		res->user &= !!(pte & PTE_US);
		res->nx |= w.nxe && (pte & PTE_XD);
		if (leaf)
			break;
		table = w.kind == PT_32 ? (pte & 0xfffff000) : (pte & ADDR_MASK_64);
	}
	if (!permitted(r, access, res))
		return fault(&w, access, level, WALK_PF_PRESENT, res);
	res->gpa = leaf_gpa(&w, level, w.pte[level - 1], gva);
	res->level = level;
	if (set_ad)
		set_accessed_dirty(m, &w, level, access & WALK_WRITE);
	return 0;
}
