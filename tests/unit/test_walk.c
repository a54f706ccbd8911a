/* SPDX-License-Identifier: MIT */
/*
 * Guest page walker (cused/mmu/walk): every paging mode, page size, fault
 * error code and A/D update, on page tables built in a buffer that stands
 * in for guest memory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "cused/mmu/walk.h"

#define GMEM (1u << 20)

#define CR0_PE (1ULL << 0)
#define CR0_WP (1ULL << 16)
#define CR0_PG (1ULL << 31)
#define CR4_PSE (1ULL << 4)
#define CR4_PAE (1ULL << 5)
#define CR4_LA57 (1ULL << 12)
#define CR4_SMEP (1ULL << 20)
#define CR4_SMAP (1ULL << 21)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)
#define EFER_NXE (1ULL << 11)

#define P  (1ULL << 0)
#define RW (1ULL << 1)
#define US (1ULL << 2)
#define A  (1ULL << 5)
#define D  (1ULL << 6)
#define PS (1ULL << 7)
#define XD (1ULL << 63)

/* #PF error code bits */
#define EC_P    1u
#define EC_W    2u
#define EC_U    4u
#define EC_RSVD 8u
#define EC_I    16u

struct guest {
	uint8_t mem[GMEM];
	unsigned writes;
	struct walk_mem m;
};

static int g_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
	struct guest *g = ctx;

	if (gpa >= GMEM || len > GMEM - gpa)
		return -EFAULT;
	memcpy(buf, g->mem + gpa, len);
	return 0;
}

static int g_write(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
	struct guest *g = ctx;

	if (gpa >= GMEM || len > GMEM - gpa)
		return -EFAULT;
	memcpy(g->mem + gpa, buf, len);
	g->writes++;
	return 0;
}

static int setup(void **state)
{
	struct guest *g = calloc(1, sizeof(*g));

	if (!g)
		return -1;
	g->m = (struct walk_mem){ g_read, g_write, g };
	*state = g;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

static void put32(struct guest *g, uint64_t gpa, uint32_t v)
{
	memcpy(g->mem + gpa, &v, 4);
}

static void put64(struct guest *g, uint64_t gpa, uint64_t v)
{
	memcpy(g->mem + gpa, &v, 8);
}

static uint32_t get32(struct guest *g, uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, g->mem + gpa, 4);
	return v;
}

static uint64_t get64(struct guest *g, uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, g->mem + gpa, 8);
	return v;
}

/* 9-bit index of gva at level (1 = PT) for PAE and long mode */
static uint64_t idx9(uint64_t gva, int level)
{
	return (gva >> (12 + 9 * (level - 1))) & 0x1ff;
}

static int walk(struct guest *g, const struct walk_regs *r, uint64_t gva, uint32_t access,
		struct walk_result *res)
{
	return mmu_walk(r, &g->m, gva, access, false, res);
}

/* ---- long mode: PML4 0x1000, PDPT 0x2000, PD 0x3000, PT 0x4000 ---- */

static const struct walk_regs long_regs = {
	.cr0 = CR0_PE | CR0_PG | CR0_WP, .cr3 = 0x1000, .cr4 = CR4_PAE,
	.efer = EFER_LME | EFER_LMA | EFER_NXE,
};

/* gva -> leaf through all four levels; top-level rights given per level */
static void map4k(struct guest *g, uint64_t gva, uint64_t l4, uint64_t l3, uint64_t l2,
		  uint64_t pte)
{
	put64(g, 0x1000 + idx9(gva, 4) * 8, 0x2000 | l4);
	put64(g, 0x2000 + idx9(gva, 3) * 8, 0x3000 | l3);
	put64(g, 0x3000 + idx9(gva, 2) * 8, 0x4000 | l2);
	put64(g, 0x4000 + idx9(gva, 1) * 8, pte);
}

static void test_paging_off(void **state)
{
	struct guest *g = *state;
	struct walk_regs r = { .cr0 = CR0_PE, .cr3 = 0x1000 };
	struct walk_result res;

	/* no memory is read: 0x1000 holds nothing */
	assert_int_equal(walk(g, &r, 0x12345678, WALK_WRITE | WALK_USER, &res), 0);
	assert_int_equal(res.gpa, 0x12345678);
	assert_int_equal(res.level, 0);
	assert_true(res.writable && res.user && !res.nx);
	/* as KVM's nonpaging_gva_to_gpa, no truncation to 32 bits */
	assert_int_equal(walk(g, &r, 0x100001234ULL, 0, &res), 0);
	assert_int_equal(res.gpa, 0x100001234ULL);
	/* PAE and NXE without PG change nothing */
	r.cr4 = CR4_PAE;
	r.efer = EFER_NXE | EFER_LME;
	assert_int_equal(walk(g, &r, 0xfffff000, WALK_FETCH, &res), 0);
	assert_int_equal(res.gpa, 0xfffff000);
}

static void test_32bit_4k(void **state)
{
	struct guest *g = *state;
	struct walk_regs r = { .cr0 = CR0_PE | CR0_PG, .cr3 = 0x1abc };  /* low bits ignored */
	struct walk_result res;

	put32(g, 0x1000 + 1 * 4, 0x2000 | P | RW | US);          /* PDE 1 */
	put32(g, 0x2000 + 3 * 4, 0x55000 | P | RW | US);         /* PTE 3 */
	assert_int_equal(walk(g, &r, 0x00403123, 0, &res), 0);
	assert_int_equal(res.gpa, 0x55123);
	assert_int_equal(res.level, 1);
	assert_true(res.writable && res.user && !res.nx);
	/* upper half of a 64-bit value is not part of a 32-bit linear address */
	assert_int_equal(walk(g, &r, 0xffffffff00403fffULL, 0, &res), 0);
	assert_int_equal(res.gpa, 0x55fff);
	/* the neighbour page is not present */
	assert_int_equal(walk(g, &r, 0x00404000, 0, &res), -EFAULT);
	assert_int_equal(res.error_code, 0);
	assert_int_equal(res.level, 1);
	/* no PDE */
	assert_int_equal(walk(g, &r, 0x00800000, WALK_WRITE, &res), -EFAULT);
	assert_int_equal(res.error_code, EC_W);
	assert_int_equal(res.level, 2);
	/* 32-bit entries have no XD: a PTE with "bit 63" cannot exist, and EFER.NXE is moot */
	r.efer = EFER_NXE;
	assert_int_equal(walk(g, &r, 0x00403000, WALK_FETCH, &res), 0);
	assert_false(res.nx);
}

static void test_32bit_4m(void **state)
{
	struct guest *g = *state;
	struct walk_regs r = { .cr0 = CR0_PE | CR0_PG, .cr3 = 0x1000, .cr4 = CR4_PSE };
	struct walk_result res;

	put32(g, 0x1000 + 2 * 4, 0x00c00000 | PS | P | RW);
	assert_int_equal(walk(g, &r, 0x00812345, 0, &res), 0);
	assert_int_equal(res.gpa, 0x00c12345);
	assert_int_equal(res.level, 2);
	assert_false(res.user);
	/* PSE-36: PDE bits 20:13 are address bits 39:32 */
	put32(g, 0x1000 + 3 * 4, 0xffc00000 | (0x12u << 13) | PS | P);
	assert_int_equal(walk(g, &r, 0x00c00042, 0, &res), 0);
	assert_int_equal(res.gpa, 0x12ffc00042ULL);
	/* bit 21 is reserved in a 4 MB PDE */
	put32(g, 0x1000 + 3 * 4, 0xffc00000 | (1u << 21) | PS | P);
	assert_int_equal(walk(g, &r, 0x00c00042, WALK_USER, &res), -EFAULT);
	assert_int_equal(res.error_code, EC_P | EC_RSVD | EC_U);
	assert_int_equal(res.level, 2);
	/* without CR4.PSE, PS is ignored and the PDE points at a table (at 0, empty) */
	put32(g, 0x1000 + 2 * 4, 0x00000000 | PS | P | RW);
	r.cr4 = 0;
	assert_int_equal(walk(g, &r, 0x00812345, 0, &res), -EFAULT);
	assert_int_equal(res.error_code, 0);
	assert_int_equal(res.level, 1);
	put32(g, 0x0000 + 0x12 * 4, 0x77000 | P);
	assert_int_equal(walk(g, &r, 0x00812345, 0, &res), 0);
	assert_int_equal(res.gpa, 0x77345);
	assert_int_equal(res.level, 1);
}

static void test_pae_4k(void **state)
{
	struct guest *g = *state;
	/* the PDPT is 32-byte aligned, not page aligned */
	struct walk_regs r = { .cr0 = CR0_PE | CR0_PG, .cr3 = 0x1020, .cr4 = CR4_PAE };
	struct walk_result res;
	uint64_t gva = 0x40201123;   /* PDPTE 1, PDE 1, PTE 1 */

	put64(g, 0x1020 + 1 * 8, 0x3000 | P);
	put64(g, 0x3000 + 1 * 8, 0x4000 | P | RW | US);
	put64(g, 0x4000 + 1 * 8, 0x123456000ULL | P | RW | US);
	assert_int_equal(walk(g, &r, gva, WALK_WRITE | WALK_USER, &res), 0);
	assert_int_equal(res.gpa, 0x123456123ULL);   /* above 4 GB */
	assert_int_equal(res.level, 1);
	/* PDPTE 0 is not present: a fault at level 3 */
	assert_int_equal(walk(g, &r, 0x00201123, 0, &res), -EFAULT);
	assert_int_equal(res.error_code, 0);
	assert_int_equal(res.level, 3);
	/* with NXE off, bit 63 is reserved */
	put64(g, 0x4000 + 1 * 8, 0x123456000ULL | P | RW | US | XD);
	assert_int_equal(walk(g, &r, gva, 0, &res), -EFAULT);
	assert_int_equal(res.error_code, EC_P | EC_RSVD);
	/* with NXE on it is XD */
	r.efer = EFER_NXE;
	assert_int_equal(walk(g, &r, gva, 0, &res), 0);
	assert_true(res.nx);
	assert_int_equal(walk(g, &r, gva, WALK_FETCH, &res), -EFAULT);
	assert_int_equal(res.error_code, EC_P | EC_I);
	/* bits 62:52 are reserved in PAE entries */
	put64(g, 0x4000 + 1 * 8, 0x123456000ULL | P | (1ULL << 52));
	assert_int_equal(walk(g, &r, gva, 0, &res), -EFAULT);
	assert_int_equal(res.error_code, EC_P | EC_RSVD);
}

static void test_pae_2m(void **state)
{
	struct guest *g = *state;
	struct walk_regs r = { .cr0 = CR0_PE | CR0_PG, .cr3 = 0x1000, .cr4 = CR4_PAE };
	struct walk_result res;

	put64(g, 0x1000 + 3 * 8, 0x3000 | P);                        /* 3 GB - 4 GB */
	put64(g, 0x3000 + 2 * 8, 0x600000 | PS | P | RW);             /* 0xc0400000 */
	assert_int_equal(walk(g, &r, 0xc0412345, WALK_WRITE, &res), 0);
	assert_int_equal(res.gpa, 0x612345);
	assert_int_equal(res.level, 2);
	/* bits 20:13 of a 2 MB PDE are reserved */
	put64(g, 0x3000 + 2 * 8, 0x600000 | (1ULL << 13) | PS | P | RW);
	assert_int_equal(walk(g, &r, 0xc0412345, 0, &res), -EFAULT);
	assert_int_equal(res.error_code, EC_P | EC_RSVD);
	assert_int_equal(res.level, 2);
	/* bit 12 is PAT in a large page, not reserved */
	put64(g, 0x3000 + 2 * 8, 0x600000 | (1ULL << 12) | PS | P | RW);
	assert_int_equal(walk(g, &r, 0xc0412345, 0, &res), 0);
	assert_int_equal(res.gpa, 0x612345);
}

static void test_long_4k(void **state)
{
	struct guest *g = *state;
	struct walk_result res;
	uint64_t gva = 0x00007fabcdef1234ULL, kva = 0xffff800000401abcULL;

	map4k(g, gva, P | RW | US, P | RW | US, P | RW | US, 0x89a000 | P | RW | US);
	assert_int_equal(walk(g, &long_regs, gva, WALK_WRITE | WALK_USER, &res), 0);
	assert_int_equal(res.gpa, 0x89a234);
	assert_int_equal(res.level, 1);
	assert_true(res.writable && res.user && !res.nx);
	/* upper canonical half: PML4 index 256 */
	put64(g, 0x1000 + 256 * 8, 0x5000 | P | RW);
	put64(g, 0x5000 + 0 * 8, 0x6000 | P | RW);
	put64(g, 0x6000 + 2 * 8, 0x7000 | P | RW);
	put64(g, 0x7000 + 1 * 8, 0xfff0000000ULL | P | RW);
	assert_int_equal(walk(g, &long_regs, kva, 0, &res), 0);
	assert_int_equal(res.gpa, 0xfff0000abcULL);
	assert_false(res.user);
	/* CR3 low bits (PCID) and bit 63 (no-flush) are not part of the address */
	struct walk_regs r = long_regs;
	r.cr3 = 0x8000000000001fffULL;
	assert_int_equal(walk(g, &r, gva, 0, &res), 0);
	assert_int_equal(res.gpa, 0x89a234);
}

static void test_long_2m_1g(void **state)
{
	struct guest *g = *state;
	struct walk_result res;

	put64(g, 0x1000, 0x2000 | P | RW | US);
	put64(g, 0x2000 + 0 * 8, 0x3000 | P | RW | US);
	put64(g, 0x3000 + 5 * 8, 0x1e00000 | PS | P | RW);            /* 2 MB at 10 MB */
	assert_int_equal(walk(g, &long_regs, 0xa12345, 0, &res), 0);
	assert_int_equal(res.gpa, 0x1e12345);
	assert_int_equal(res.level, 2);
	put64(g, 0x2000 + 3 * 8, 0x140000000ULL | PS | P | RW | US);  /* 1 GB at 5 GB */
	assert_int_equal(walk(g, &long_regs, 0xc1234567ULL, WALK_USER, &res), 0);
	assert_int_equal(res.gpa, 0x141234567ULL);
	assert_int_equal(res.level, 3);
	/* bits 29:13 of a 1 GB PDPTE are reserved */
	put64(g, 0x2000 + 3 * 8, 0x140000000ULL | (1ULL << 20) | PS | P | RW | US);
	assert_int_equal(walk(g, &long_regs, 0xc1234567ULL, WALK_WRITE, &res), -EFAULT);
	assert_int_equal(res.error_code, EC_P | EC_RSVD | EC_W);
	assert_int_equal(res.level, 3);
	/* and bits 20:13 of a 2 MB PDE */
	put64(g, 0x3000 + 5 * 8, 0x1e00000 | (1ULL << 20) | PS | P | RW);
	assert_int_equal(walk(g, &long_regs, 0xa12345, 0, &res), -EFAULT);
	assert_int_equal(res.error_code, EC_P | EC_RSVD);
	assert_int_equal(res.level, 2);
}

/* a and b walk to the same result */
static void same_walk(struct guest *g, const struct walk_regs *r, uint64_t a, uint64_t b)
{
	struct walk_result ra, rb;
	int ea = walk(g, r, a, 0, &ra), eb = walk(g, r, b, 0, &rb);

	assert_int_equal(ea, eb);
	assert_int_equal(ra.gpa, rb.gpa);
	assert_int_equal(ra.error_code, rb.error_code);
	assert_int_equal(ra.level, rb.level);
}

static void test_long_5level_and_canonical(void **state)
{
	struct guest *g = *state;
	struct walk_regs r = long_regs;
	struct walk_result res;
	uint64_t gva = 0x0001000000003456ULL;   /* PML5 index 1, canonical only with LA57 */

	/* like KVM's walker: bits above 47 do not take part, canonical or not */
	same_walk(g, &long_regs, gva, gva & 0x0000ffffffffffffULL);
	same_walk(g, &long_regs, 0x0000800000000000ULL, 0xffff800000000000ULL);
	same_walk(g, &long_regs, 0xfffe000000000000ULL, 0);
	same_walk(g, &long_regs, 0xffff000000001234ULL, 0x1234);

	r.cr4 |= CR4_LA57;
	r.cr3 = 0x8000;
	put64(g, 0x8000 + 1 * 8, 0x1000 | P | RW);
	put64(g, 0x1000 + 0 * 8, 0x2000 | P | RW);
	put64(g, 0x2000 + 0 * 8, 0x3000 | P | RW);
	put64(g, 0x3000 + 0 * 8, 0x4000 | P | RW);
	put64(g, 0x4000 + 3 * 8, 0x9000 | P | RW);
	assert_int_equal(walk(g, &r, gva, 0, &res), 0);
	assert_int_equal(res.gpa, 0x9456);
	/* with LA57 only bits above 56 are ignored */
	same_walk(g, &r, 0x0100000000000000ULL, 0xff00000000000000ULL);
	assert_int_equal(walk(g, &r, 0xff00000000000000ULL, 0, &res), -EFAULT);
	same_walk(g, &r, 0xfe00000000003456ULL | (1ULL << 48), gva);
	/* PS in a PML5E is reserved */
	put64(g, 0x8000 + 1 * 8, 0x1000 | PS | P | RW);
	assert_int_equal(walk(g, &r, gva, 0, &res), -EFAULT);
	assert_int_equal(res.error_code, EC_P | EC_RSVD);
	assert_int_equal(res.level, 5);
}

static void test_not_present_codes(void **state)
{
	struct guest *g = *state;
	struct walk_regs r = long_regs;
	struct walk_result res;
	uint64_t gva = 0x401000;

	map4k(g, gva, P | RW | US, P | RW | US, P | RW | US, 0x9000 | RW | US);  /* PTE !P */
	assert_int_equal(walk(g, &r, gva, 0, &res), -EFAULT);
	assert_int_equal(res.error_code, 0);
	assert_int_equal(res.level, 1);
	assert_int_equal(walk(g, &r, gva, WALK_WRITE, &res), -EFAULT);
	assert_int_equal(res.error_code, EC_W);
	assert_int_equal(walk(g, &r, gva, WALK_WRITE | WALK_USER, &res), -EFAULT);
	assert_int_equal(res.error_code, EC_W | EC_U);
	assert_int_equal(walk(g, &r, gva, WALK_FETCH | WALK_USER, &res), -EFAULT);
	assert_int_equal(res.error_code, EC_I | EC_U);
	/* I/D only when NXE or SMEP make fetches special */
	r.efer &= ~EFER_NXE;
	assert_int_equal(walk(g, &r, gva, WALK_FETCH, &res), -EFAULT);
	assert_int_equal(res.error_code, 0);
	r.cr4 |= CR4_SMEP;
	assert_int_equal(walk(g, &r, gva, WALK_FETCH, &res), -EFAULT);
	assert_int_equal(res.error_code, EC_I);
	/* missing at the top: the fault names level 4 */
	put64(g, 0x1000, 0);
	assert_int_equal(walk(g, &r, gva, 0, &res), -EFAULT);
	assert_int_equal(res.error_code, 0);
	assert_int_equal(res.level, 4);
	/* a reserved bit above beats not-present below */
	put64(g, 0x1000, 0x2000 | P | RW | US);
	put64(g, 0x3000 + idx9(gva, 2) * 8, 0x4000 | P | RW | US | XD);  /* NXE off */
	assert_int_equal(walk(g, &r, gva, WALK_USER, &res), -EFAULT);
	assert_int_equal(res.error_code, EC_P | EC_RSVD | EC_U);
	assert_int_equal(res.level, 2);
	/* a table outside guest memory counts as a fault */
	r.cr3 = 0x40000000;
	assert_int_equal(walk(g, &r, gva, 0, &res), -EFAULT);
	assert_int_equal(res.error_code, 0);
}

static void test_read_only(void **state)
{
	struct guest *g = *state;
	struct walk_regs r = long_regs;
	struct walk_result res;
	uint64_t gva = 0x401000, gva2 = 0x602000;

	map4k(g, gva, P | RW | US, P | RW | US, P | RW | US, 0x9000 | P | US);
	/* writable leaf under a read-only PDE is read-only too */
	put64(g, 0x3000 + idx9(gva2, 2) * 8, 0x5000 | P | US);
	put64(g, 0x5000 + idx9(gva2, 1) * 8, 0xa000 | P | RW | US);

	assert_int_equal(walk(g, &r, gva, 0, &res), 0);
	assert_false(res.writable);
	assert_int_equal(walk(g, &r, gva, WALK_WRITE, &res), -EFAULT);
	assert_int_equal(res.error_code, EC_P | EC_W);
	assert_int_equal(res.level, 1);
	assert_int_equal(walk(g, &r, gva2, WALK_WRITE, &res), -EFAULT);
	assert_int_equal(res.error_code, EC_P | EC_W);
	assert_int_equal(walk(g, &r, gva2, WALK_WRITE | WALK_USER, &res), -EFAULT);
	assert_int_equal(res.error_code, EC_P | EC_W | EC_U);
	/* CR0.WP=0: the supervisor writes anyway, the user still cannot */
	r.cr0 &= ~CR0_WP;
	assert_int_equal(walk(g, &r, gva, WALK_WRITE, &res), 0);
	assert_int_equal(res.gpa, 0x9000);
	assert_int_equal(walk(g, &r, gva2, WALK_WRITE, &res), 0);
	assert_int_equal(walk(g, &r, gva, WALK_WRITE | WALK_USER, &res), -EFAULT);
	assert_int_equal(res.error_code, EC_P | EC_W | EC_U);
}

static void test_user_supervisor(void **state)
{
	struct guest *g = *state;
	struct walk_regs r = long_regs;
	struct walk_result res;
	uint64_t kva = 0x401000, kva2 = 0x402000, uva = 0x403000;

	map4k(g, kva, P | RW | US, P | RW | US, P | RW | US, 0x9000 | P | RW);
	put64(g, 0x4000 + idx9(kva2, 1) * 8, 0xa000 | P | RW | US);
	put64(g, 0x4000 + idx9(uva, 1) * 8, 0xb000 | P | RW | US);

	assert_int_equal(walk(g, &r, kva, WALK_USER, &res), -EFAULT);
	assert_int_equal(res.error_code, EC_P | EC_U);
	assert_int_equal(walk(g, &r, kva, WALK_USER | WALK_FETCH, &res), -EFAULT);
	assert_int_equal(res.error_code, EC_P | EC_U | EC_I);
	assert_int_equal(walk(g, &r, kva, 0, &res), 0);
	assert_int_equal(walk(g, &r, uva, WALK_USER, &res), 0);
	/* U/S clear only at the top level still makes every page supervisor */
	put64(g, 0x1000, 0x2000 | P | RW);
	assert_int_equal(walk(g, &r, kva2, WALK_USER, &res), -EFAULT);
	assert_int_equal(res.error_code, EC_P | EC_U);
	put64(g, 0x1000, 0x2000 | P | RW | US);

	/* supervisor on user pages: fine until SMEP (fetch) or SMAP (data) */
	assert_int_equal(walk(g, &r, uva, WALK_FETCH, &res), 0);
	assert_int_equal(walk(g, &r, uva, WALK_WRITE, &res), 0);
	r.cr4 |= CR4_SMEP;
	assert_int_equal(walk(g, &r, uva, WALK_FETCH, &res), -EFAULT);
	assert_int_equal(res.error_code, EC_P | EC_I);
	assert_int_equal(walk(g, &r, uva, 0, &res), 0);
	assert_int_equal(walk(g, &r, kva, WALK_FETCH, &res), 0);
	r.cr4 = CR4_PAE | CR4_SMAP;
	assert_int_equal(walk(g, &r, uva, 0, &res), -EFAULT);
	assert_int_equal(res.error_code, EC_P);
	assert_int_equal(walk(g, &r, uva, WALK_WRITE, &res), -EFAULT);
	assert_int_equal(res.error_code, EC_P | EC_W);
	assert_int_equal(walk(g, &r, uva, WALK_FETCH, &res), 0);
	assert_int_equal(walk(g, &r, uva, WALK_USER | WALK_WRITE, &res), 0);
}

static void test_nx(void **state)
{
	struct guest *g = *state;
	struct walk_regs r = long_regs;
	struct walk_result res;
	uint64_t gva = 0x401000, gva2 = 0x601000;

	map4k(g, gva, P | RW | US, P | RW | US, P | RW | US, 0x9000 | P | RW | US | XD);
	assert_int_equal(walk(g, &r, gva, 0, &res), 0);
	assert_true(res.nx);
	assert_int_equal(walk(g, &r, gva, WALK_WRITE | WALK_USER, &res), 0);
	assert_int_equal(walk(g, &r, gva, WALK_FETCH, &res), -EFAULT);
	assert_int_equal(res.error_code, EC_P | EC_I);
	assert_int_equal(walk(g, &r, gva, WALK_FETCH | WALK_USER, &res), -EFAULT);
	assert_int_equal(res.error_code, EC_P | EC_I | EC_U);
	/* XD on a 2 MB leaf, and XD on an upper level over an executable PTE */
	put64(g, 0x3000 + idx9(gva2, 2) * 8, 0x5000 | P | RW | US | XD);
	put64(g, 0x5000 + idx9(gva2, 1) * 8, 0xa000 | P | RW | US);
	assert_int_equal(walk(g, &r, gva2, WALK_FETCH, &res), -EFAULT);
	assert_int_equal(res.error_code, EC_P | EC_I);
	put64(g, 0x3000 + idx9(gva2, 2) * 8, 0x5000 | P | RW | US);
	assert_int_equal(walk(g, &r, gva2, WALK_FETCH, &res), 0);
	assert_false(res.nx);
	/* NXE off: XD is a reserved bit, whatever the access */
	r.efer &= ~EFER_NXE;
	assert_int_equal(walk(g, &r, gva, 0, &res), -EFAULT);
	assert_int_equal(res.error_code, EC_P | EC_RSVD);
}

static void test_reserved_top(void **state)
{
	struct guest *g = *state;
	struct walk_result res;
	uint64_t gva = 0x401000;

	map4k(g, gva, P | RW | US | PS, P | RW | US, P | RW | US, 0x9000 | P | RW | US);
	assert_int_equal(walk(g, &long_regs, gva, WALK_WRITE | WALK_USER, &res), -EFAULT);
	assert_int_equal(res.error_code, EC_P | EC_RSVD | EC_W | EC_U);
	assert_int_equal(res.level, 4);
	/* bits 62:52 are ignored, not reserved, in long mode */
	map4k(g, gva, P | RW | US, P | RW | US, P | RW | US,
	      0x9000 | P | RW | US | (0x7ffULL << 52));
	assert_int_equal(walk(g, &long_regs, gva, 0, &res), 0);
	assert_int_equal(res.gpa, 0x9000);
}

static void test_ad_long(void **state)
{
	struct guest *g = *state;
	struct walk_result res;
	uint64_t gva = 0x401000, big = 0xa00000;
	const uint64_t e = P | RW | US;

	map4k(g, gva, e, e, e, 0x9000 | e);
	/* set_ad false: nothing written */
	assert_int_equal(mmu_walk(&long_regs, &g->m, gva, WALK_WRITE, false, &res), 0);
	assert_int_equal(g->writes, 0);
	assert_int_equal(get64(g, 0x4000 + idx9(gva, 1) * 8), 0x9000 | e);
	/* a read sets A everywhere and D nowhere */
	assert_int_equal(mmu_walk(&long_regs, &g->m, gva, 0, true, &res), 0);
	assert_int_equal(get64(g, 0x1000 + idx9(gva, 4) * 8), 0x2000 | e | A);
	assert_int_equal(get64(g, 0x2000 + idx9(gva, 3) * 8), 0x3000 | e | A);
	assert_int_equal(get64(g, 0x3000 + idx9(gva, 2) * 8), 0x4000 | e | A);
	assert_int_equal(get64(g, 0x4000 + idx9(gva, 1) * 8), 0x9000 | e | A);
	assert_int_equal(g->writes, 4);
	/* a write adds D on the leaf only; entries already right are not rewritten */
	assert_int_equal(mmu_walk(&long_regs, &g->m, gva, WALK_WRITE, true, &res), 0);
	assert_int_equal(get64(g, 0x3000 + idx9(gva, 2) * 8), 0x4000 | e | A);
	assert_int_equal(get64(g, 0x4000 + idx9(gva, 1) * 8), 0x9000 | e | A | D);
	assert_int_equal(g->writes, 5);
	assert_int_equal(mmu_walk(&long_regs, &g->m, gva, WALK_WRITE, true, &res), 0);
	assert_int_equal(g->writes, 5);
	/* D on a 2 MB leaf */
	put64(g, 0x3000 + idx9(big, 2) * 8, 0x1e00000 | PS | e);
	assert_int_equal(mmu_walk(&long_regs, &g->m, big, WALK_WRITE, true, &res), 0);
	assert_int_equal(get64(g, 0x3000 + idx9(big, 2) * 8), 0x1e00000 | PS | e | A | D);
	/* a fault writes nothing */
	g->writes = 0;
	map4k(g, gva, e, e, e, 0x9000 | P | US);
	put64(g, 0x1000 + idx9(gva, 4) * 8, 0x2000 | e);
	assert_int_equal(mmu_walk(&long_regs, &g->m, gva, WALK_WRITE, true, &res), -EFAULT);
	assert_int_equal(g->writes, 0);
	assert_int_equal(get64(g, 0x1000 + idx9(gva, 4) * 8), 0x2000 | e);
}

static void test_ad_32bit_and_pae(void **state)
{
	struct guest *g = *state;
	struct walk_regs r32 = { .cr0 = CR0_PE | CR0_PG, .cr3 = 0x1000, .cr4 = CR4_PSE };
	struct walk_regs pae = { .cr0 = CR0_PE | CR0_PG, .cr3 = 0x6000, .cr4 = CR4_PAE };
	struct walk_result res;

	put32(g, 0x1000 + 1 * 4, 0x2000 | P | RW);
	put32(g, 0x2000 + 3 * 4, 0x55000 | P | RW);
	put32(g, 0x2000 + 4 * 4, 0xaaaaa000 | P | RW);   /* neighbour stays untouched */
	assert_int_equal(mmu_walk(&r32, &g->m, 0x00403000, WALK_WRITE, true, &res), 0);
	assert_int_equal(get32(g, 0x1000 + 1 * 4), 0x2000 | P | RW | A);
	assert_int_equal(get32(g, 0x2000 + 3 * 4), 0x55000 | P | RW | A | D);
	assert_int_equal(get32(g, 0x2000 + 4 * 4), 0xaaaaa000 | P | RW);
	put32(g, 0x1000 + 2 * 4, 0x00c00000 | PS | P | RW);
	assert_int_equal(mmu_walk(&r32, &g->m, 0x00812345, 0, true, &res), 0);
	assert_int_equal(get32(g, 0x1000 + 2 * 4), 0x00c00000 | PS | P | RW | A);

	/* PAE: PDPTEs have no A bit and are left alone */
	put64(g, 0x6000, 0x7000 | P);
	put64(g, 0x7000, 0x8000 | P | RW);
	put64(g, 0x8000 + 5 * 8, 0x77000 | P | RW);
	assert_int_equal(mmu_walk(&pae, &g->m, 0x5000, WALK_WRITE, true, &res), 0);
	assert_int_equal(res.gpa, 0x77000);
	assert_int_equal(get64(g, 0x6000), 0x7000 | P);
	assert_int_equal(get64(g, 0x7000), 0x8000 | P | RW | A);
	assert_int_equal(get64(g, 0x8000 + 5 * 8), 0x77000 | P | RW | A | D);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_paging_off), T(test_32bit_4k), T(test_32bit_4m), T(test_pae_4k),
		T(test_pae_2m), T(test_long_4k), T(test_long_2m_1g),
		T(test_long_5level_and_canonical), T(test_not_present_codes), T(test_read_only),
		T(test_user_supervisor), T(test_nx), T(test_reserved_top), T(test_ad_long),
		T(test_ad_32bit_and_pae),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
