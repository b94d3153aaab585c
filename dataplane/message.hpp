// The dvmm wire message: a fixed header and one typed payload, the same on
// every transport (on Ethernet behind EtherType 0x88B5). All fields are
// little-endian on the wire; the codec (message.cpp) validates every field
// of a received frame before anything acts on it.
//
// Header (24 bytes):
//   0  u8   magic      0xD7
//   1  u8   version    kWireVersion
//   2  u8   type       MessageType
//   3  u8   flags      bit 0: kFlagAckOnly (carries no payload to deliver)
//                      bit 1: kFlagIncarnation (the incarnation trailer follows the payload)
//   4  u16  src_node
//   6  u16  dst_node
//   8  u32  seq        sequence number of this message on the src->dst link (0 = unsequenced)
//   12 u32  ack        cumulative: every seq <= ack from dst->src was received
//   16 u32  cluster_id identifies the cluster (VM); frames of another cluster are dropped
//   20 u16  payload_len every payload has a fixed size, except DSM data: a fixed part
//                      and a chunk of page bytes (payload_len = fixed size + chunk_len)
//   22 u16  reserved   must be 0
//
// Incarnation trailer (16 bytes after the payload, present exactly when
// flags bit 1 is set; payload_len does not count it):
//   +0 u64  src_incarnation  the sending link's incarnation (never 0)
//   +8 u64  dst_incarnation  the receiver's incarnation as the sender knows it (0: not yet)
// The software reliability layer (ReliableLink) puts it on every frame, so
// that a node process that is killed and restarted is told apart from its
// predecessor (reliable_link.hpp, "Peer restarts"). It is a trailer behind a
// flag, not a header change, because the FPGA engine (fpga/rtl) implements
// this 24-byte header in hardware: the engine never sets the flag, drops a
// frame that carries it (an undefined flag to the engine), and its own frames
// decode here unchanged.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "dataplane/transport.hpp"
#include "host/common/result.hpp"

namespace dvmm::dataplane {

constexpr uint8_t kWireMagic = 0xD7;
constexpr uint8_t kWireVersion = 1;
constexpr size_t kHeaderSize = 24;
constexpr uint16_t kEtherType = 0x88B5;  // IEEE 802 local experimental
constexpr uint8_t kFlagAckOnly = 0x01;
constexpr uint8_t kFlagIncarnation = 0x02;
constexpr size_t kIncarnationSize = 16;  // the trailer kFlagIncarnation announces

enum class MessageType : uint8_t {
  kAck = 1,               // no payload: carries only the header's ack
  kIpi = 2,               // deliver an interrupt message to one vCPU
  kIoRequest = 3,         // port or MMIO access to forward to the I/O home
  kIoResponse = 4,        // the I/O home's answer
  kEoi = 5,               // level-triggered EOI for the IOAPIC
  kApicUpdate = 6,        // a vCPU's APIC addressing changed
  kApicUpdateAck = 7,     // the update is visible on the sending node
  kClock = 8,             // TSC calibration probe / reply
  kHeartbeat = 9,         // liveness
  kControl = 10,          // start, stop (with status), node ready
  kDsmRequest = 11,       // requester -> home: a page is wanted for read or write
  kDsmForward = 12,       // home -> a holder: downgrade or invalidate, maybe send the page
  kDsmData = 13,          // holder (or home) -> requester: the page, a chunk of it, or a grant
  kDsmAck = 14,           // invalidated holder -> requester: its copy is gone
  kDsmDone = 15,          // requester -> home: installed; the home may serve the next request
};

struct MessageHeader {
  uint8_t version = kWireVersion;
  MessageType type = MessageType::kAck;
  uint8_t flags = 0;
  NodeId src_node = 0;
  NodeId dst_node = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint32_t cluster_id = 0;
  // The trailer's fields: meaningful only with kFlagIncarnation (encode
  // ignores them otherwise, and decode leaves them 0).
  uint64_t src_incarnation = 0;
  uint64_t dst_incarnation = 0;
};

// Payloads. Each has a fixed wire size (listed) and is validated on decode.

struct IpiPayload {               // 20 bytes
  uint32_t target_vcpu = 0;       // vCPU index that must accept it
  uint8_t vector = 0;
  uint8_t delivery_mode = 0;      // DeliveryMode; SMI/reserved values rejected
  uint8_t flags = 0;              // bit0 logical, bit1 level-triggered, bit2 assert, bit3 x2apic
  uint8_t shorthand = 0;          // DestShorthand (0-3)
  uint32_t destination = 0;
  int32_t source_vcpu = -1;
  uint32_t reserved = 0;
};

enum class IoSpace : uint8_t { kPort = 0, kMmio = 1 };

struct IoRequestPayload {         // 32 bytes
  uint64_t request_id = 0;        // chosen by the requester, echoed in the response
  uint32_t vcpu = 0;
  IoSpace space = IoSpace::kPort;
  uint8_t size = 1;               // 1, 2, 4 or 8
  uint8_t is_write = 0;
  uint8_t reserved = 0;
  uint64_t address = 0;           // port (< 0x10000) or guest-physical address
  uint64_t data = 0;              // write data (little-endian, low `size` bytes)
};

struct IoResponsePayload {        // 16 bytes
  uint64_t request_id = 0;
  uint64_t data = 0;              // read data (low `size` bytes); 0 for writes
};

struct EoiPayload {               // 4 bytes
  uint8_t vector = 0;
  uint8_t reserved[3] = {};
};

struct ApicUpdatePayload {        // 24 bytes
  uint32_t vcpu = 0;
  uint32_t apic_id = 0;
  uint32_t ldr = 0;
  uint32_t dfr = 0;
  uint8_t flags = 0;              // bit0 x2apic, bit1 software_enabled, bit2 hardware enabled
  uint8_t reserved[3] = {};
  uint32_t update_id = 0;         // echoed by kApicUpdateAck
};

struct ApicUpdateAckPayload {     // 4 bytes
  uint32_t update_id = 0;
};

struct ClockPayload {             // 24 bytes
  uint64_t probe_id = 0;
  uint64_t t_sender = 0;          // sender's clock when sent
  uint64_t t_receiver = 0;        // replier's clock when the probe arrived (0 in a probe)
};

struct HeartbeatPayload {         // 8 bytes
  uint64_t sent_ns = 0;
};

enum class ControlCode : uint8_t {
  kReady = 1,     // node finished setup
  kStart = 2,     // all nodes ready: run
  kStop = 3,      // stop the VM; status carries the exit status
};

struct ControlPayload {           // 8 bytes
  ControlCode code = ControlCode::kReady;
  uint8_t reserved[3] = {};
  int32_t status = 0;
};

struct AckPayload {};             // 0 bytes

// ---- distributed shared memory (host/dsm/dsm_protocol.hpp has the protocol) ----
//
// A page is 4 KiB; `page` is the guest-physical page number. `request_id` is
// chosen by the requester (unique among its own requests) and echoed by
// every message of that transaction, so late or foreign ones can't be
// mistaken for the current one.

constexpr size_t kDsmPageSize = 4096;

enum class DsmAccess : uint8_t { kRead = 0, kWrite = 1 };

struct DsmRequestPayload {        // 16 bytes
  uint64_t page = 0;
  uint32_t request_id = 0;
  DsmAccess access = DsmAccess::kRead;
  uint8_t reserved[3] = {};
};

enum class DsmAction : uint8_t {
  kDowngrade = 1,   // keep a read-only copy (write-protect an exclusive one); always sends data
  kInvalidate = 2,  // drop the copy; send the data if asked, else a DsmAck
};
constexpr uint8_t kDsmForwardSendData = 0x01;  // this holder sends the page to the requester

struct DsmForwardPayload {        // 20 bytes
  uint64_t page = 0;
  uint32_t request_id = 0;        // the requester's
  uint16_t requester = 0;         // node that gets the data or the ack
  DsmAction action = DsmAction::kInvalidate;
  uint8_t flags = 0;              // kDsmForwardSendData
  uint16_t acks = 0;              // with send data: DsmAcks the requester must also collect
  uint16_t reserved = 0;
};

// DSM data flags. A message carries page bytes (flags 0) or exactly one of
// these and no bytes.
constexpr uint8_t kDsmDataZero = 0x01;  // the page is all zero: no bytes travel
constexpr uint8_t kDsmDataNone = 0x02;  // the requester's own copy is current (an upgrade or
                                        // a stale request): this is only the grant

struct DsmDataPayload {           // 20 bytes + the chunk
  uint64_t page = 0;
  uint32_t request_id = 0;
  uint16_t chunk_offset = 0;      // where the chunk goes in the page
  // (wire: u16 chunk_len = data.size(); 0 with kDsmDataZero/kDsmDataNone)
  uint8_t flags = 0;
  uint8_t reserved = 0;
  uint16_t acks = 0;              // DsmAcks the requester must collect before using the page
  // The chunk; its size is chunk_len on the wire. On the heap, not inline:
  // a page-sized array would make every Message, and so every slot of the
  // reliability layer's rings, 4 KiB larger, for one allocation per chunk
  // saved (noise next to a page fault).
  std::vector<uint8_t> data{};
};
constexpr size_t kDsmDataFixedSize = 20;

struct DsmAckPayload {            // 12 bytes
  uint64_t page = 0;
  uint32_t request_id = 0;        // the requester's
};

struct DsmDonePayload {           // 12 bytes
  uint64_t page = 0;
  uint32_t request_id = 0;        // the request now complete
};

using Payload = std::variant<AckPayload, IpiPayload, IoRequestPayload, IoResponsePayload,
                             EoiPayload, ApicUpdatePayload, ApicUpdateAckPayload, ClockPayload,
                             HeartbeatPayload, ControlPayload, DsmRequestPayload,
                             DsmForwardPayload, DsmDataPayload, DsmAckPayload, DsmDonePayload>;

struct Message {
  MessageHeader header;
  Payload payload;
};

// Largest encoded message: a whole page in one DSM data message.
constexpr size_t kMaxMessageSize = kHeaderSize + kDsmDataFixedSize + kDsmPageSize;
static_assert(kMaxMessageSize <= kMaxFrameSize, "a whole page must fit a jumbo frame");
// Largest encoded frame: the largest message with the incarnation trailer.
constexpr size_t kMaxEncodedSize = kMaxMessageSize + kIncarnationSize;
static_assert(kMaxEncodedSize <= kMaxFrameSize, "a whole page and the trailer must fit");

// Encodes msg into out (header type set from the payload's kind; the
// incarnation trailer when its flag is set). Returns the encoded length, or
// 0 when out is too small or the message can't be encoded (a DSM data chunk
// larger than a page, the trailer with a source incarnation of 0).
size_t encode(const Message& msg, std::span<uint8_t> out);

// Decodes and validates one frame: magic, version, known type, payload_len
// equal to the type's size (DSM data: its fixed size plus chunk_len, at most
// a page), the frame exactly header + payload (+ trailer with
// kFlagIncarnation), reserved fields zero, no undefined flag bits, enum
// fields in range, I/O sizes 1/2/4/8, DSM chunks inside the page, a non-zero
// source incarnation. The error names the first thing that was wrong.
Result<Message> decode(std::span<const uint8_t> frame);

// A short name for a message type ("IPI", "I/O request", ...) for errors and
// logs; "unknown" for a value that is not a MessageType.
const char* message_type_name(MessageType type);

}  // namespace dvmm::dataplane
