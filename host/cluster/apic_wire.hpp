// Conversions between the LAPIC's in-process types and their dataplane
// payloads. Decoding already validated ranges; these only map fields.
#pragma once

#include "dataplane/message.hpp"
#include "host/apic/lapic.hpp"
#include "host/devices/interrupts.hpp"

namespace dvmm::cluster {

dataplane::IpiPayload to_ipi_payload(uint32_t target_vcpu, const InterruptMessage& msg);
InterruptMessage from_ipi_payload(const dataplane::IpiPayload& p);

dataplane::ApicUpdatePayload to_apic_update(uint32_t vcpu, const ApicAddressing& a,
                                            uint32_t update_id);
ApicAddressing from_apic_update(const dataplane::ApicUpdatePayload& p);

}  // namespace dvmm::cluster
