#include "host/cluster/apic_wire.hpp"

namespace dvmm::cluster {

namespace {
constexpr uint8_t kIpiLogical = 1u << 0;
constexpr uint8_t kIpiLevel = 1u << 1;
constexpr uint8_t kIpiAssert = 1u << 2;
constexpr uint8_t kIpiX2apic = 1u << 3;

constexpr uint8_t kApicX2apic = 1u << 0;
constexpr uint8_t kApicSoftwareEnabled = 1u << 1;
constexpr uint8_t kApicEnabled = 1u << 2;
}  // namespace

dataplane::IpiPayload to_ipi_payload(uint32_t target_vcpu, const InterruptMessage& msg) {
  dataplane::IpiPayload p;
  p.target_vcpu = target_vcpu;
  p.vector = msg.vector;
  p.delivery_mode = static_cast<uint8_t>(msg.mode);
  p.flags = static_cast<uint8_t>((msg.logical ? kIpiLogical : 0) |
                                 (msg.level_triggered ? kIpiLevel : 0) |
                                 (msg.assert_level ? kIpiAssert : 0) | (msg.x2apic ? kIpiX2apic : 0));
  p.shorthand = static_cast<uint8_t>(msg.shorthand);
  p.destination = msg.destination;
  p.source_vcpu = msg.source_cpu;
  return p;
}

InterruptMessage from_ipi_payload(const dataplane::IpiPayload& p) {
  InterruptMessage m;
  m.vector = p.vector;
  m.mode = static_cast<DeliveryMode>(p.delivery_mode);
  m.logical = (p.flags & kIpiLogical) != 0;
  m.level_triggered = (p.flags & kIpiLevel) != 0;
  m.assert_level = (p.flags & kIpiAssert) != 0;
  m.x2apic = (p.flags & kIpiX2apic) != 0;
  m.shorthand = static_cast<DestShorthand>(p.shorthand);
  m.destination = p.destination;
  m.source_cpu = p.source_vcpu;
  return m;
}

dataplane::ApicUpdatePayload to_apic_update(uint32_t vcpu, const ApicAddressing& a,
                                            uint32_t update_id) {
  dataplane::ApicUpdatePayload p;
  p.vcpu = vcpu;
  p.apic_id = a.apic_id;
  p.ldr = a.ldr;
  p.dfr = a.dfr;
  p.flags = static_cast<uint8_t>((a.x2apic ? kApicX2apic : 0) |
                                 (a.software_enabled ? kApicSoftwareEnabled : 0) |
                                 (a.enabled ? kApicEnabled : 0));
  p.update_id = update_id;
  return p;
}

ApicAddressing from_apic_update(const dataplane::ApicUpdatePayload& p) {
  ApicAddressing a;
  a.apic_id = p.apic_id;
  a.ldr = p.ldr;
  a.dfr = p.dfr;
  a.x2apic = (p.flags & kApicX2apic) != 0;
  a.software_enabled = (p.flags & kApicSoftwareEnabled) != 0;
  a.enabled = (p.flags & kApicEnabled) != 0;
  return a;
}

}  // namespace dvmm::cluster
