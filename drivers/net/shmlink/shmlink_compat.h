/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

#ifndef SHMLINK_COMPAT_H
#define SHMLINK_COMPAT_H

/*
 * Every difference between the DPDK versions net_shmlink builds against (22.11, 24.11,
 * 25.11) lives here, as version checks on RTE_VERSION; the rest of the driver writes
 * one spelling. The list of changes and where each was checked is in
 * doc/guides/nics/shmlink.rst ("Supported DPDK versions").
 */

#include <rte_version.h>

#include <ethdev_driver.h>
#include <rte_telemetry.h>

#define SHMLINK_DPDK_AT_LEAST(y, m) (RTE_VERSION >= RTE_VERSION_NUM(y, m, 0, 0))

/*
 * C11 atomics: DPDK 23.11 added rte_stdatomic.h (RTE_ATOMIC(), rte_atomic_*_explicit),
 * and its checkpatch refuses raw __atomic builtins. Before it, the same names map onto
 * the builtins, which is what rte_stdatomic.h itself does unless DPDK was built with
 * enable_stdatomic.
 */
#if SHMLINK_DPDK_AT_LEAST(23, 11)
#include <rte_stdatomic.h>
#else
#define RTE_ATOMIC(type) type
#define rte_memory_order_relaxed __ATOMIC_RELAXED
#define rte_memory_order_acquire __ATOMIC_ACQUIRE
#define rte_memory_order_release __ATOMIC_RELEASE
#define rte_memory_order_acq_rel __ATOMIC_ACQ_REL
#define rte_memory_order_seq_cst __ATOMIC_SEQ_CST
#define rte_atomic_load_explicit(ptr, mo) __atomic_load_n(ptr, mo)
#define rte_atomic_store_explicit(ptr, val, mo) __atomic_store_n(ptr, val, mo)
#define rte_atomic_exchange_explicit(ptr, val, mo) __atomic_exchange_n(ptr, val, mo)
#define rte_atomic_fetch_add_explicit(ptr, val, mo) __atomic_fetch_add(ptr, val, mo)
#define rte_atomic_fetch_sub_explicit(ptr, val, mo) __atomic_fetch_sub(ptr, val, mo)
#endif

/*
 * Per-queue counters: DPDK 25.11 moved q_ipackets[] ... out of struct rte_eth_stats
 * into struct eth_queue_stats, a third argument of the stats_get op. The driver fills
 * both through one function, fill(dev, stats, qstats); SHMLINK_STATS_GET_OP(fill)
 * defines the op, fill##_op, with the signature of the DPDK at hand.
 */
#if SHMLINK_DPDK_AT_LEAST(25, 11)
typedef struct eth_queue_stats shmlink_queue_stats_t;
#define SHMLINK_STATS_GET_OP(fill) \
static int \
fill ## _op(struct rte_eth_dev *dev, struct rte_eth_stats *st, \
		struct eth_queue_stats *qst) \
{ \
	return fill(dev, st, qst); \
}
#else
typedef struct rte_eth_stats shmlink_queue_stats_t;
#define SHMLINK_STATS_GET_OP(fill) \
static int \
fill ## _op(struct rte_eth_dev *dev, struct rte_eth_stats *st) \
{ \
	return fill(dev, st, st); \
}
#endif

/* rte_popcount64() (rte_bitops.h) came in 23.11. */
#if !SHMLINK_DPDK_AT_LEAST(23, 11)
#define rte_popcount64(v) ((unsigned int)__builtin_popcountll(v))
#endif

/* Telemetry: rte_tel_data_add_dict_u64 was deprecated in 23.03 for ..._uint, then removed. */
static inline int
shmlink_tel_add_u64(struct rte_tel_data *d, const char *name, uint64_t val)
{
#if SHMLINK_DPDK_AT_LEAST(23, 3)
	return rte_tel_data_add_dict_uint(d, name, val);
#else
	return rte_tel_data_add_dict_u64(d, name, val);
#endif
}

/*
 * Supported packet types: DPDK 24.03 gave the op a count; before, the list ended with
 * RTE_PTYPE_UNKNOWN. @list ends with RTE_PTYPE_UNKNOWN for both, uncounted.
 */
#if SHMLINK_DPDK_AT_LEAST(24, 3)
#define SHMLINK_PTYPES_GET_OP(name, list) \
static const uint32_t * \
name(struct rte_eth_dev *dev __rte_unused, size_t *no_of_elements) \
{ \
	*no_of_elements = RTE_DIM(list) - 1; \
	return list; \
}
#else
#define SHMLINK_PTYPES_GET_OP(name, list) \
static const uint32_t * \
name(struct rte_eth_dev *dev __rte_unused) \
{ \
	return list; \
}
#endif

/* The driver's name record (for dpdk-pmdinfo.py): 25.07 dropped the second argument. */
#if SHMLINK_DPDK_AT_LEAST(25, 7)
#define SHMLINK_PMD_EXPORT_NAME(name) RTE_PMD_EXPORT_NAME(name)
#else
#define SHMLINK_PMD_EXPORT_NAME(name) RTE_PMD_EXPORT_NAME(name, __COUNTER__)
#endif

#endif /* SHMLINK_COMPAT_H */
