/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

#ifndef SHMLINK_H
#define SHMLINK_H

/**
 * @file
 * libshmlink: gVisor's sharedmem link protocol in C, without DPDK.
 *
 * Layers, lowest first, one header each:
 *   shmlink_pipe.h      the SPSC slot ring (gVisor's sharedmem/pipe)
 *   shmlink_queue.h     the four record formats (gVisor's sharedmem/queue)
 *   shmlink_notify.h    shared word + eventfd notification
 *   shmlink_qfile.h     creating and mapping the five files of a queue
 *   shmlink_endpoint.h  client (sharedmem.New) and server (NewServerEndpoint) roles
 *   shmlink_ctl.h       control protocol 1.1 messages over an AF_UNIX seqpacket socket
 *   shmlink_attach.h    the handshake that turns a connection into mapped queue pairs
 *   shmlink_cksum.h     frame headers and checksums, for the checksum offloads
 */

#include "shmlink_pipe.h"
#include "shmlink_queue.h"
#include "shmlink_notify.h"
#include "shmlink_qfile.h"
#include "shmlink_endpoint.h"
#include "shmlink_ctl.h"
#include "shmlink_attach.h"
#include "shmlink_cksum.h"

#endif /* SHMLINK_H */
