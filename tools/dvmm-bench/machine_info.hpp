// What the numbers were measured on, for every output format. Only facts
// read from the system (/proc/cpuinfo, affinity, uname), no guessing: on
// the project's machines the host is itself a VM whose KVM is software
// (PVM), which the "hypervisor" CPU flag hints at but cannot prove.
#pragma once

#include <string>

namespace dvmm::bench {

struct MachineInfo {
  std::string cpu_model;       // /proc/cpuinfo "model name" of the first CPU
  unsigned cpus_online = 0;    // sysconf(_SC_NPROCESSORS_ONLN)
  unsigned cpus_usable = 0;    // in this process's affinity mask (what nproc prints)
  std::string kernel;          // uname -r
  bool hypervisor_flag = false;  // "hypervisor" in /proc/cpuinfo flags: running in a VM
  bool dev_kvm = false;        // /dev/kvm exists
};

MachineInfo read_machine_info();

// One line: "AMD EPYC, 2 CPUs (2 usable), Linux 6.1.0, in a VM, /dev/kvm".
std::string describe(const MachineInfo& m);

}  // namespace dvmm::bench
