// The files one cluster instance keeps on a host: guest RAM and the shm
// dataplane rings, both on tmpfs. Nodes on one host derive the same names
// from the instance name; `dvmm run` picks a unique instance and removes
// the files when the cluster ends.
#pragma once

#include <string>

namespace dvmm::cluster {

inline std::string instance_ram_path(const std::string& instance) {
  return "/dev/shm/dvmm-" + instance + "-ram";
}
inline std::string instance_rings_path(const std::string& instance) {
  return "/dev/shm/dvmm-" + instance + "-rings";
}

}  // namespace dvmm::cluster
