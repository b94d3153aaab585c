#include "tools/dvmm-bench/machine_info.hpp"

#include <sched.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace dvmm::bench {
namespace {

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t");
  const size_t e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

}  // namespace

MachineInfo read_machine_info() {
  MachineInfo m;
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  bool have_model = false;
  bool have_flags = false;
  while (std::getline(cpuinfo, line) && !(have_model && have_flags)) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = trim(line.substr(0, colon));
    if (key == "model name" && !have_model) {
      m.cpu_model = trim(line.substr(colon + 1));
      have_model = true;
    } else if (key == "flags" && !have_flags) {
      std::istringstream flags(line.substr(colon + 1));
      std::string f;
      while (flags >> f) m.hypervisor_flag = m.hypervisor_flag || f == "hypervisor";
      have_flags = true;
    }
  }
  if (m.cpu_model.empty()) m.cpu_model = "unknown";

  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  m.cpus_online = online > 0 ? static_cast<unsigned>(online) : 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    m.cpus_usable = static_cast<unsigned>(CPU_COUNT(&set));
  }

  utsname u{};
  m.kernel = uname(&u) == 0 ? std::string(u.release) : std::string("unknown");
  m.dev_kvm = access("/dev/kvm", F_OK) == 0;
  return m;
}

std::string describe(const MachineInfo& m) {
  return fmt::format("{}, {} CPUs ({} usable), Linux {}{}{}", m.cpu_model, m.cpus_online,
                     m.cpus_usable, m.kernel, m.hypervisor_flag ? ", in a VM (hypervisor flag)" : "",
                     m.dev_kvm ? ", /dev/kvm present" : ", no /dev/kvm");
}

}  // namespace dvmm::bench
