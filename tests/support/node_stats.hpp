// Reads (and removes) what a cluster node wrote with `--stats-json PATTERN`
// ({node} in PATTERN is the node id); null when the file is missing.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

namespace dvmm::test {

inline nlohmann::json take_node_stats(const std::string& pattern, int node) {
  std::string path = pattern;
  path.replace(path.find("{node}"), 6, std::to_string(node));
  std::ifstream f(path);
  if (!f) return nullptr;
  nlohmann::json j = nlohmann::json::parse(f, nullptr, /*allow_exceptions=*/false);
  std::filesystem::remove(path);
  return j.is_discarded() ? nlohmann::json(nullptr) : j;
}

}  // namespace dvmm::test
