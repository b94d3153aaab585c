// `dvmm run CLUSTER.toml`: starts every node of the cluster as its own
// process on this host (`dvmm node CLUSTER.toml --id N`), lets node 0's
// guest console through on stdout, and exits with the guest's status. Any
// node dying stops the whole cluster with an error naming it; Ctrl-C stops
// every node; no process and no /dev/shm file is left behind.
#pragma once

#include <string>

#include "host/cluster/cluster_config.hpp"

namespace dvmm::cluster {

struct LaunchOptions {
  std::string config_path;
  std::string self_exe;   // the dvmm binary to run the nodes with
  std::string log_level;  // passed on to the nodes
  bool print_stats = false;
  // Each node writes its counters as JSON here ({node} replaced by its id;
  // without {node}: "<path>.node<N>.json"). Empty: not written.
  std::string stats_json;
};

// The JSON statistics file of node `id` for LaunchOptions::stats_json.
std::string node_stats_path(const std::string& pattern, uint16_t id);

// Returns the exit status for the dvmm process.
int launch_cluster(const ClusterConfig& config, const LaunchOptions& options);

}  // namespace dvmm::cluster
