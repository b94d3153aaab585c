// The wire codec. Every payload type lists its fields once, in wire order
// (Fields<P>::visit); the same list drives encoding, decoding and the
// compile-time size check, so the three can't drift apart. Fields are
// serialised one by one in little-endian, never by memcpy of a struct, so
// the wire format doesn't depend on the compiler's padding or byte order.
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
// Remembers the first non-zero reserved field.
struct Reader {
  const uint8_t* in;
  const char* what;  // payload name for errors
  size_t pos = 0;
  std::optional<Error> error = std::nullopt;

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

template <size_t I>
Result<Payload> decode_payload(std::span<const uint8_t> bytes) {
  Alt<I> p{};
  Reader r{bytes.data(), Fields<Alt<I>>::kName};
  Fields<Alt<I>>::visit(r, p);
  if (r.error) return std::move(*r.error);
  if (Status s = validate(p); !s.ok()) return s.take_error();
  return Payload{std::in_place_index<I>, p};
}

struct TypeInfo {
  const char* name;
  uint16_t wire_size;
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
  static_assert(((kHeaderSize + Fields<Alt<I>>::kWireSize <= kMaxMessageSize) && ...),
                "kMaxMessageSize is too small for a payload");
  return {{TypeInfo{Fields<Alt<I>>::kName, static_cast<uint16_t>(Fields<Alt<I>>::kWireSize),
                    &decode_payload<I>}...}};
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
        constexpr size_t kLen = Fields<P>::kWireSize;
        if (out.size() < kHeaderSize + kLen) return 0;
        const MessageHeader& h = msg.header;
        Writer w{out.data()};
        // The version is always ours (a node can only speak its own), and the
        // type always matches the payload actually encoded.
        w(kWireMagic, kWireVersion, Fields<P>::kType, h.flags, h.src_node, h.dst_node, h.seq, h.ack,
          h.cluster_id, static_cast<uint16_t>(kLen), uint16_t{0});
        Fields<P>::visit(w, p);
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
  if (payload_len != info->wire_size) {
    return Error::format("payload_len {} does not match {} payload size {}", payload_len,
                         info->name, info->wire_size);
  }
  const size_t expected = kHeaderSize + payload_len;
  if (frame.size() < expected) {
    return Error::format("frame of {} bytes is truncated: a {} message is {} bytes", frame.size(),
                         info->name, expected);
  }
  if (frame.size() > expected) {
    return Error::format("frame has {} trailing bytes", frame.size() - expected);
  }
  if (reserved != 0) return Error::format("reserved header field is {:#x}", reserved);
  if ((h.flags & ~kFlagAckOnly) != 0) {
    return Error::format("header flags {:#x} set undefined bits (defined: {:#x})", h.flags,
                         kFlagAckOnly);
  }
  msg.payload = DVMM_TRY(info->decode(frame.subspan(kHeaderSize)));
  return msg;
}

const char* message_type_name(MessageType type) {
  const TypeInfo* info = type_info(static_cast<uint8_t>(type));
  return info != nullptr ? info->name : "unknown";
}

}  // namespace dvmm::dataplane
