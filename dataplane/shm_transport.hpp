// Shared-memory transport between the node processes of one host: the
// floor for latency on one machine (0.3 µs round trip measured here).
//
// One file (in /dev/shm, i.e. tmpfs) holds a control area and N*(N-1)
// single-producer/single-consumer byte rings, one per directed node pair.
// An ALL-ZERO file is a valid, empty ring set: every node opens the path
// with O_CREAT, grows it to the computed size if smaller and maps it, in any
// order, with no init protocol. The geometry block (magic, version,
// node_count, ring_bytes, cluster_id) is filled in by compare-and-set from
// zero, so every node writes the same values and a node configured
// differently is refused instead of corrupting the rings.
//
// File layout (all offsets fixed by node_count and ring_bytes):
//   0                 geometry block (one cache line)
//   128 + 128*i       node i's block: its "consumer sleeping" flag
//   ctrl_bytes        ring[0] ... ring[N*(N-1)-1], each ring_stride bytes
// ring(src, dst) = src*(N-1) + (dst < src ? dst : dst-1); each ring:
//   +0    tail: bytes ever published by the producer (its own 128 bytes)
//   +128  head: bytes ever consumed by the consumer (its own 128 bytes)
//   +256  ring_bytes of data
// 128-byte separation, not 64, because Intel's adjacent-line prefetcher
// pulls cache lines in pairs (DPDK's RTE_CACHE_GUARD does the same).
//
// Records are 8-byte aligned: a u64 header (tag in the high half, length in
// the low half) and the frame bytes. A record never wraps: when it does not
// fit before the end of the data area the producer writes a skip record
// covering the rest. Indices are free-running u64 byte counts, so
// tail - head is the fill level and nothing ever needs a reset.
//
// Wake-up: the "consumer sleeping" flag is per consumer node, not per ring:
// a sleeping node waits for all its N-1 rings, so one store arms them all.
// The consumer sets it in prepare_to_sleep() and re-checks its rings; a
// producer checks it in tx_flush() after publishing and, if set, takes it
// (exchange to 0: one doorbell per sleep however many producers) and sends
// a one-byte datagram to the consumer's doorbell socket: an abstract
// AF_UNIX SOCK_DGRAM socket named from (path, node id). It is poll-able and
// leaves nothing in the file system; abstract names are per network
// namespace, so all nodes of a ring set must share one.
//
// The file is not removed by nodes going away; node 0 or the launcher calls
// ShmTransport::unlink() at the end (and should before the start: a stale
// file of the same geometry would deliver the previous run's frames).
// tmpfs files are sparse: only pages touched are allocated, but if /dev/shm
// fills up, touching a page raises SIGBUS.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "dataplane/transport.hpp"
#include "host/common/result.hpp"

namespace dvmm::dataplane {

struct ShmTransportConfig {
  std::string path;  // file in /dev/shm (tmpfs); every node names the same one
  NodeId local = 0;
  uint16_t node_count = 0;
  size_t ring_bytes = 1 << 20;  // per directed pair; power of two, >= kMinRingBytes
  uint32_t cluster_id = 0;
};

class ShmTransport : public Transport {
 public:
  // A ring must hold two largest records so that the largest frame always
  // fits after a skip record (see shm_transport.cpp).
  static constexpr size_t kMinRingBytes = 32 * 1024;
  static constexpr size_t kMaxRingBytes = size_t{1} << 30;
  static constexpr uint16_t kMaxNodes = 1024;

  // Removes the ring file; a missing file is not an error.
  static Status unlink(const std::string& path);
  // Size of the ring file for this geometry.
  static size_t file_bytes(uint16_t node_count, size_t ring_bytes);

  // Doorbell datagrams this endpoint sent (each woke a sleeping consumer).
  virtual uint64_t doorbells_sent() const = 0;
};

Result<std::unique_ptr<Transport>> make_shm_transport(const ShmTransportConfig& config);

}  // namespace dvmm::dataplane
