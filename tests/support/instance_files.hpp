// The /dev/shm files of cluster instances a launcher started
// ("dvmm-<cluster id>-<launcher pid>-..."): tests check none is left behind.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace dvmm::test {

inline std::vector<std::string> instance_files_of(pid_t launcher) {
  std::vector<std::string> found;
  const std::string tag = "-" + std::to_string(launcher) + "-";
  for (const auto& e : std::filesystem::directory_iterator("/dev/shm")) {
    const std::string name = e.path().filename().string();
    if (name.rfind("dvmm-", 0) == 0 && name.find(tag) != std::string::npos) found.push_back(name);
  }
  return found;
}

}  // namespace dvmm::test
