// The wire codec. Every payload type lists its fields once, in wire order
// (Fields<P>::visit); the same list drives encoding, decoding and the
// compile-time size check, so the three can't drift apart. Fields are
// serialised one by one in little-endian, never by memcpy of a struct, so
// the wire format doesn't depend on the compiler's padding or byte order.
//
// A payload may end in a variable tail of raw bytes (DSM data: a chunk of a
// page), held in a byte vector. Its Fields<P> then also declares kMaxTail
// and tail(), and lists the tail's length among the fixed fields as
// tail_len(vector): a u16 on the wire, the vector's size in the struct, so
// the two can't disagree. decode checks it against payload_len.
#include "dataplane/message.hpp"

#include <algorithm>
#include <optional>
#include <type_traits>
#include <utility>

#include "host/devices/interrupts.hpp"

namespace dvmm::dataplane {
namespace {

// ---- little-endian integers ------------------------------------------------

// Enums travel as their underlying type, signed integers as their two's
// complement bit pattern.
template <typename T>
constexpr auto to_wire(T v) {
  if constexpr (std::is_enum_v<T>) {
    return static_cast<std::underlying_type_t<T>>(v);
  } else {
    return static_cast<std::make_unsigned_t<T>>(v);
  }
}
template <typename T>
using WireInt = decltype(to_wire(T{}));

template <typename U>
constexpr void store_le(uint8_t* p, U v) {
  for (size_t i = 0; i < sizeof(U); ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
template <typename U>
constexpr U load_le(const uint8_t* p) {
  U v = 0;
  for (size_t i = 0; i < sizeof(U); ++i)
    v = static_cast<U>(v | static_cast<U>(static_cast<U>(p[i]) << (8 * i)));
  return v;
}

// ---- field visitors ----------------------------------------------------------

// Marks a field that must be zero on the wire (a decoder rejects anything
// else, so the bits stay free for a later version).
template <typename T>
struct Reserved {
  T& field;
};
template <typename T>
constexpr Reserved<T> rsv(T& field) {
  return {field};
}

template <typename T>
struct IsReserved : std::false_type {};
template <typename T>
struct IsReserved<Reserved<T>> : std::true_type {};

// Marks the u16 length of the payload's tail (see the top of the file).
template <typename V>
struct TailLen {
  V& bytes;
};
template <typename V>
constexpr TailLen<V> tail_len(V& bytes) {
  return {bytes};
}
using TailLenWire = uint16_t;

template <typename T>
struct IsTailLen : std::false_type {};
template <typename V>
struct IsTailLen<TailLen<V>> : std::true_type {};

// Counts wire bytes; used at compile time only.
struct Sizer {
  size_t pos = 0;
  template <typename... T>
  constexpr void operator()(T&&... fields) {
    (one(fields), ...);
  }
  template <typename T>
  constexpr void one(const T& f) {
    if constexpr (IsReserved<T>::value) {
      one(f.field);
    } else if constexpr (IsTailLen<T>::value) {
      pos += sizeof(TailLenWire);
    } else if constexpr (std::is_array_v<T>) {
      for (const auto& e : f) one(e);
    } else {
      pos += sizeof(WireInt<T>);
    }
  }
};

// Writes into a buffer the caller has checked is large enough.
struct Writer {
  uint8_t* out;
  size_t pos = 0;
  template <typename... T>
  void operator()(T&&... fields) {
    (one(fields), ...);
  }
  template <typename T>
  void one(const T& f) {
    if constexpr (IsReserved<T>::value) {
      one(f.field);
    } else if constexpr (IsTailLen<T>::value) {
      // encode() has checked that the size fits.
      store_le(out + pos, static_cast<TailLenWire>(f.bytes.size()));
      pos += sizeof(TailLenWire);
    } else if constexpr (std::is_array_v<T>) {
      for (const auto& e : f) one(e);
    } else {
      store_le(out + pos, to_wire(f));
      pos += sizeof(WireInt<T>);
    }
  }
};

// Reads from a span whose length decode() has checked equals the wire size
// computed by Sizer from the same field list: it never reads past the end.
// Remembers the first non-zero reserved field, and the tail length (the
// caller checks it before filling the tail).
struct Reader {
  const uint8_t* in;
  const char* what;  // payload name for errors
  size_t pos = 0;
  std::optional<Error> error = std::nullopt;
  size_t tail = 0;

  template <typename... T>
  void operator()(T&&... fields) {
    (one(fields), ...);
  }
  template <typename T>
  void one(T& f) {
    if constexpr (IsReserved<std::remove_const_t<T>>::value) {
      const size_t at = pos;
      one(f.field);
      bool zero = true;
      if constexpr (std::is_array_v<std::remove_reference_t<decltype(f.field)>>) {
        for (auto e : f.field) zero = zero && e == 0;
      } else {
        zero = f.field == 0;
      }
      if (!zero && !error) {
        error =
            Error::format("reserved field at offset {} of the {} payload is not zero", at, what);
      }
    } else if constexpr (IsTailLen<std::remove_const_t<T>>::value) {
      tail = load_le<TailLenWire>(in + pos);
      pos += sizeof(TailLenWire);
    } else if constexpr (std::is_array_v<T>) {
      for (auto& e : f) one(e);
    } else {
      f = static_cast<T>(load_le<WireInt<T>>(in + pos));
      pos += sizeof(WireInt<T>);
    }
  }
};

// ---- per-type field lists ------------------------------------------------------

// Fields<P>: the header type, a name for errors and logs, the documented wire
// size, and the fields in wire order. visit() takes P or const P.
template <typename P>
struct Fields;

template <>
struct Fields<AckPayload> {
  static constexpr MessageType kType = MessageType::kAck;
  static constexpr const char* kName = "ack";
  static constexpr size_t kWireSize = 0;
  template <typename Io, typename Q>
  static constexpr void visit(Io&, Q&) {}
};
template <>
struct Fields<IpiPayload> {
  static constexpr MessageType kType = MessageType::kIpi;
  static constexpr const char* kName = "IPI";
  static constexpr size_t kWireSize = 20;
  template <typename Io, typename Q>
  static constexpr void visit(Io& io, Q& p) {
    io(p.target_vcpu, p.vector, p.delivery_mode, p.flags, p.shorthand, p.destination, p.source_vcpu,
       rsv(p.reserved));
  }
};
template <>
struct Fields<IoRequestPayload> {
  static constexpr MessageType kType = MessageType::kIoRequest;
  static constexpr const char* kName = "I/O request";
  static constexpr size_t kWireSize = 32;
  template <typename Io, typename Q>
  static constexpr void visit(Io& io, Q& p) {
    io(p.request_id, p.vcpu, p.space, p.size, p.is_write, rsv(p.reserved), p.address, p.data);
  }
};
template <>
struct Fields<IoResponsePayload> {
  static constexpr MessageType kType = MessageType::kIoResponse;
  static constexpr const char* kName = "I/O response";
  static constexpr size_t kWireSize = 16;
  template <typename Io, typename Q>
  static constexpr void visit(Io& io, Q& p) {
    io(p.request_id, p.data);
  }
};
template <>
struct Fields<EoiPayload> {
  static constexpr MessageType kType = MessageType::kEoi;
  static constexpr const char* kName = "EOI";
  static constexpr size_t kWireSize = 4;
  template <typename Io, typename Q>
  static constexpr void visit(Io& io, Q& p) {
    io(p.vector, rsv(p.reserved));
  }
};
template <>
struct Fields<ApicUpdatePayload> {
  static constexpr MessageType kType = MessageType::kApicUpdate;
  static constexpr const char* kName = "APIC update";
  static constexpr size_t kWireSize = 24;
  template <typename Io, typename Q>
  static constexpr void visit(Io& io, Q& p) {
    io(p.vcpu, p.apic_id, p.ldr, p.dfr, p.flags, rsv(p.reserved), p.update_id);
  }
};
template <>
struct Fields<ApicUpdateAckPayload> {
  static constexpr MessageType kType = MessageType::kApicUpdateAck;
  static constexpr const char* kName = "APIC update ack";
  static constexpr size_t kWireSize = 4;
  template <typename Io, typename Q>
  static constexpr void visit(Io& io, Q& p) {
    io(p.update_id);
  }
};
template <>
struct Fields<ClockPayload> {
  static constexpr MessageType kType = MessageType::kClock;
  static constexpr const char* kName = "clock";
  static constexpr size_t kWireSize = 24;
  template <typename Io, typename Q>
  static constexpr void visit(Io& io, Q& p) {
    io(p.probe_id, p.t_sender, p.t_receiver);
  }
};
template <>
struct Fields<HeartbeatPayload> {
  static constexpr MessageType kType = MessageType::kHeartbeat;
  static constexpr const char* kName = "heartbeat";
  static constexpr size_t kWireSize = 8;
  template <typename Io, typename Q>
  static constexpr void visit(Io& io, Q& p) {
    io(p.sent_ns);
  }
};
template <>
struct Fields<ControlPayload> {
  static constexpr MessageType kType = MessageType::kControl;
  static constexpr const char* kName = "control";
  static constexpr size_t kWireSize = 8;
  template <typename Io, typename Q>
  static constexpr void visit(Io& io, Q& p) {
    io(p.code, rsv(p.reserved), p.status);
  }
};

template <>
struct Fields<DsmRequestPayload> {
  static constexpr MessageType kType = MessageType::kDsmRequest;
  static constexpr const char* kName = "DSM request";
  static constexpr size_t kWireSize = 16;
  template <typename Io, typename Q>
  static constexpr void visit(Io& io, Q& p) {
    io(p.page, p.request_id, p.access, rsv(p.reserved));
  }
};
template <>
struct Fields<DsmForwardPayload> {
  static constexpr MessageType kType = MessageType::kDsmForward;
  static constexpr const char* kName = "DSM forward";
  static constexpr size_t kWireSize = 20;
  template <typename Io, typename Q>
  static constexpr void visit(Io& io, Q& p) {
    io(p.page, p.request_id, p.requester, p.action, p.flags, p.acks, rsv(p.reserved));
  }
};
template <>
struct Fields<DsmDataPayload> {
  static constexpr MessageType kType = MessageType::kDsmData;
  static constexpr const char* kName = "DSM data";
  static constexpr size_t kWireSize = kDsmDataFixedSize;
  static constexpr size_t kMaxTail = kDsmPageSize;
  template <typename Io, typename Q>
  static constexpr void visit(Io& io, Q& p) {
    io(p.page, p.request_id, p.chunk_offset, tail_len(p.data), p.flags, rsv(p.reserved), p.acks);
  }
  static std::vector<uint8_t>& tail(DsmDataPayload& p) { return p.data; }
  static const std::vector<uint8_t>& tail(const DsmDataPayload& p) { return p.data; }
};
template <>
struct Fields<DsmAckPayload> {
  static constexpr MessageType kType = MessageType::kDsmAck;
  static constexpr const char* kName = "DSM ack";
  static constexpr size_t kWireSize = 12;
  template <typename Io, typename Q>
  static constexpr void visit(Io& io, Q& p) {
    io(p.page, p.request_id);
  }
};
template <>
struct Fields<DsmDonePayload> {
  static constexpr MessageType kType = MessageType::kDsmDone;
  static constexpr const char* kName = "DSM done";
  static constexpr size_t kWireSize = 12;
  template <typename Io, typename Q>
  static constexpr void visit(Io& io, Q& p) {
    io(p.page, p.request_id);
  }
};

template <typename P>
concept HasTail = requires { Fields<P>::kMaxTail; };

// Longest tail a payload type may carry (0: fixed size).
template <typename P>
constexpr size_t max_tail() {
  if constexpr (HasTail<P>) {
    return Fields<P>::kMaxTail;
  } else {
    return 0;
  }
}

template <typename P>
constexpr size_t measured_size() {
  P p{};
  Sizer s;
  Fields<P>::visit(s, p);
  return s.pos;
}

// ---- semantic checks (after reserved fields) ---------------------------------

template <typename P>
Status validate(const P&) {
  return {};
}

constexpr uint8_t kIpiFlagMask = 0x0F;         // logical, level, assert, x2apic
constexpr uint8_t kApicUpdateFlagMask = 0x07;  // x2apic, sw enabled, hw enabled

Status validate(const IpiPayload& p) {
  const uint8_t mode = p.delivery_mode;
  // SMI is never forwarded: dvmm has no SMM, and an SMI aimed at a guest
  // from the wire would be a bug or an attack.
  if (mode == static_cast<uint8_t>(DeliveryMode::kSmi)) {
    return Error::format("IPI delivery mode {} (SMI) is not supported", mode);
  }
  if (mode == 3) return Error::format("IPI delivery mode {} is reserved", mode);
  if (mode > static_cast<uint8_t>(DeliveryMode::kExtInt)) {
    return Error::format("IPI delivery mode {} is out of range (0-7)", mode);
  }
  if ((p.flags & ~kIpiFlagMask) != 0) {
    return Error::format("IPI flags {:#x} set undefined bits (defined: {:#x})", p.flags,
                         kIpiFlagMask);
  }
  if (p.shorthand > static_cast<uint8_t>(DestShorthand::kAllExcludingSelf)) {
    return Error::format("IPI destination shorthand {} is out of range (0-3)", p.shorthand);
  }
  if (p.source_vcpu < -1) {
    return Error::format("IPI source vCPU {} is invalid (-1 means a device)", p.source_vcpu);
  }
  return {};
}

Status validate(const IoRequestPayload& p) {
  if (p.space != IoSpace::kPort && p.space != IoSpace::kMmio) {
    return Error::format("I/O space {} is unknown (0 = port, 1 = MMIO)", to_wire(p.space));
  }
  if (p.size != 1 && p.size != 2 && p.size != 4 && p.size != 8) {
    return Error::format("I/O size {} is not 1, 2, 4 or 8", p.size);
  }
  if (p.is_write > 1) return Error::format("I/O is_write {} is not 0 or 1", p.is_write);
  if (p.space == IoSpace::kPort && p.address > 0xFFFF) {
    return Error::format("I/O port {:#x} out of range (max 0xffff)", p.address);
  }
  return {};
}

Status validate(const ApicUpdatePayload& p) {
  if ((p.flags & ~kApicUpdateFlagMask) != 0) {
    return Error::format("APIC update flags {:#x} set undefined bits (defined: {:#x})", p.flags,
                         kApicUpdateFlagMask);
  }
  return {};
}

Status validate(const DsmRequestPayload& p) {
  if (p.access != DsmAccess::kRead && p.access != DsmAccess::kWrite) {
    return Error::format("DSM request access {} is unknown (0 = read, 1 = write)",
                         to_wire(p.access));
  }
  return {};
}

Status validate(const DsmForwardPayload& p) {
  if (p.action != DsmAction::kDowngrade && p.action != DsmAction::kInvalidate) {
    return Error::format("DSM forward action {} is unknown (1 = downgrade, 2 = invalidate)",
                         to_wire(p.action));
  }
  if ((p.flags & ~kDsmForwardSendData) != 0) {
    return Error::format("DSM forward flags {:#x} set undefined bits (defined: {:#x})", p.flags,
                         kDsmForwardSendData);
  }
  // A downgrade exists to give the requester a copy: one without data
  // would leave the requester waiting for nothing.
  if (p.action == DsmAction::kDowngrade && (p.flags & kDsmForwardSendData) == 0) {
    return Error::format("DSM forward downgrade must send data");
  }
  return {};
}

Status validate(const DsmDataPayload& p) {
  constexpr uint8_t kDefined = kDsmDataZero | kDsmDataNone;
  if ((p.flags & ~kDefined) != 0) {
    return Error::format("DSM data flags {:#x} set undefined bits (defined: {:#x})", p.flags,
                         kDefined);
  }
  if (p.flags == kDefined) return Error::format("DSM data cannot be both a zero page and no data");
  const size_t len = p.data.size();
  if (p.flags != 0) {
    if (p.chunk_offset != 0 || len != 0) {
      return Error::format("DSM data without bytes (flags {:#x}) has chunk {}+{}, not 0+0",
                           p.flags, p.chunk_offset, len);
    }
    return {};
  }
  if (len == 0) return Error::format("DSM data chunk is empty");
  if (p.chunk_offset + len > kDsmPageSize) {
    return Error::format("DSM data chunk {}+{} runs past the {}-byte page", p.chunk_offset, len,
                         kDsmPageSize);
  }
  return {};
}

Status validate(const ControlPayload& p) {
  if (p.code != ControlCode::kReady && p.code != ControlCode::kStart &&
      p.code != ControlCode::kStop) {
    return Error::format("control code {} unknown", to_wire(p.code));
  }
  return {};
}

// ---- the type table ------------------------------------------------------------

template <size_t I>
using Alt = std::variant_alternative_t<I, Payload>;

// `bytes` is the whole payload: decode() has checked that its length lies
// between the fixed size and the fixed size plus max_tail().
template <size_t I>
Result<Payload> decode_payload(std::span<const uint8_t> bytes) {
  using P = Alt<I>;
  Payload out{std::in_place_index<I>};
  P& p = std::get<I>(out);
  Reader r{bytes.data(), Fields<P>::kName};
  Fields<P>::visit(r, p);
  if (r.error) return std::move(*r.error);
  if constexpr (HasTail<P>) {
    const size_t tail = bytes.size() - Fields<P>::kWireSize;
    if (r.tail != tail) {
      return Error::format("{} chunk_len {} disagrees with payload_len {} ({} fixed + {})",
                           Fields<P>::kName, r.tail, bytes.size(), Fields<P>::kWireSize, tail);
    }
    // At most kMaxTail bytes: decode() bounded payload_len. Filled before
    // validate(), which checks the tail's size against the other fields.
    const uint8_t* first = bytes.data() + Fields<P>::kWireSize;
    Fields<P>::tail(p).assign(first, first + tail);
  }
  if (Status s = validate(p); !s.ok()) return s.take_error();
  return out;
}

struct TypeInfo {
  const char* name;
  uint16_t wire_size;  // the fixed part
  uint16_t max_tail;   // 0 for a fixed-size payload
  Result<Payload> (*decode)(std::span<const uint8_t> payload);
};

// The table is indexed by type - 1: variant alternative I carries type I + 1
// (asserted), so decode finds a type's entry without searching.
template <size_t... I>
constexpr std::array<TypeInfo, sizeof...(I)> make_table(std::index_sequence<I...>) {
  static_assert(((static_cast<size_t>(Fields<Alt<I>>::kType) == I + 1) && ...),
                "Payload alternatives must be in MessageType order, starting at 1");
  static_assert(((measured_size<Alt<I>>() == Fields<Alt<I>>::kWireSize) && ...),
                "a payload's field list disagrees with its documented wire size");
  static_assert(
      ((kHeaderSize + Fields<Alt<I>>::kWireSize + max_tail<Alt<I>>() <= kMaxMessageSize) && ...),
      "kMaxMessageSize is too small for a payload");
  return {{TypeInfo{Fields<Alt<I>>::kName, static_cast<uint16_t>(Fields<Alt<I>>::kWireSize),
                    static_cast<uint16_t>(max_tail<Alt<I>>()), &decode_payload<I>}...}};
}

constexpr auto kTypes = make_table(std::make_index_sequence<std::variant_size_v<Payload>>{});

const TypeInfo* type_info(uint8_t type) {
  if (type == 0 || type > kTypes.size()) return nullptr;
  return &kTypes[type - 1u];
}

}  // namespace

size_t encode(const Message& msg, std::span<uint8_t> out) {
  return std::visit(
      [&]<typename P>(const P& p) -> size_t {
        size_t tail = 0;
        if constexpr (HasTail<P>) {
          tail = Fields<P>::tail(p).size();
          if (tail > Fields<P>::kMaxTail) return 0;  // the receiver would refuse it
        }
        const size_t len = Fields<P>::kWireSize + tail;
        const MessageHeader& h = msg.header;
        const bool trailer = (h.flags & kFlagIncarnation) != 0;
        if (trailer && h.src_incarnation == 0) return 0;  // the receiver would refuse it
        if (out.size() < kHeaderSize + len + (trailer ? kIncarnationSize : 0)) return 0;
        Writer w{out.data()};
        // The version is always ours (a node can only speak its own), and the
        // type always matches the payload actually encoded.
        w(kWireMagic, kWireVersion, Fields<P>::kType, h.flags, h.src_node, h.dst_node, h.seq, h.ack,
          h.cluster_id, static_cast<uint16_t>(len), uint16_t{0});
        Fields<P>::visit(w, p);
        if constexpr (HasTail<P>) {
          std::copy_n(Fields<P>::tail(p).data(), tail, out.data() + w.pos);
          w.pos += tail;
        }
        if (trailer) w(h.src_incarnation, h.dst_incarnation);
        return w.pos;
      },
      msg.payload);
}

Result<Message> decode(std::span<const uint8_t> frame) {
  if (frame.size() < kHeaderSize) {
    return Error::format("frame of {} bytes is shorter than the {}-byte header", frame.size(),
                         kHeaderSize);
  }
  uint8_t magic = 0, type = 0;
  uint16_t payload_len = 0, reserved = 0;
  Message msg;
  MessageHeader& h = msg.header;
  Reader r{frame.data(), "header"};
  r(magic, h.version, type, h.flags, h.src_node, h.dst_node, h.seq, h.ack, h.cluster_id,
    payload_len, reserved);

  if (magic != kWireMagic) return Error::format("bad magic {:#x}", magic);
  if (h.version != kWireVersion) {
    return Error::format("wire version {} is not supported (this node speaks {})", h.version,
                         kWireVersion);
  }
  const TypeInfo* info = type_info(type);
  if (info == nullptr) return Error::format("unknown message type {}", type);
  h.type = static_cast<MessageType>(type);
  if (info->max_tail == 0 && payload_len != info->wire_size) {
    return Error::format("payload_len {} does not match {} payload size {}", payload_len,
                         info->name, info->wire_size);
  }
  if (payload_len < info->wire_size || payload_len > info->wire_size + info->max_tail) {
    return Error::format("payload_len {} is out of range for the {} payload ({}-{})", payload_len,
                         info->name, info->wire_size, info->wire_size + info->max_tail);
  }
  // Bit 1 decides the length, so it is read before the flags are checked.
  const bool trailer = (h.flags & kFlagIncarnation) != 0;
  const size_t expected = kHeaderSize + payload_len + (trailer ? kIncarnationSize : 0);
  if (frame.size() < expected) {
    return Error::format("frame of {} bytes is truncated: a {} message is {} bytes", frame.size(),
                         info->name, expected);
  }
  if (frame.size() > expected) {
    return Error::format("frame has {} trailing bytes", frame.size() - expected);
  }
  if (reserved != 0) return Error::format("reserved header field is {:#x}", reserved);
  constexpr uint8_t kDefinedFlags = kFlagAckOnly | kFlagIncarnation;
  if ((h.flags & ~kDefinedFlags) != 0) {
    return Error::format("header flags {:#x} set undefined bits (defined: {:#x})", h.flags,
                         kDefinedFlags);
  }
  msg.payload = DVMM_TRY(info->decode(frame.subspan(kHeaderSize, payload_len)));
  if (trailer) {
    Reader t{frame.data() + kHeaderSize + payload_len, "incarnation trailer"};
    t(h.src_incarnation, h.dst_incarnation);
    // 0 means "unknown": a sender always knows its own incarnation.
    if (h.src_incarnation == 0) return Error::format("source incarnation is 0");
  }
  return msg;
}

const char* message_type_name(MessageType type) {
  const TypeInfo* info = type_info(static_cast<uint8_t>(type));
  return info != nullptr ? info->name : "unknown";
}

}  // namespace dvmm::dataplane
