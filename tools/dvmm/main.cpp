// dvmm: the command-line front end.
//
//   dvmm run [--vcpus N] [--memory SIZE] [--kernel FILE] [--initrd FILE] [--cmdline STR]
//            [--linux-entry pvh|boot-params] [--irqchip user|kernel]
//       one VM on this host, in this process
//   dvmm run CLUSTER.toml
//       every node of the cluster as its own process on this host
//   dvmm node CLUSTER.toml --id N
//       one node, for a cluster spread over several hosts
//
// Exit status: the value the guest wrote to the debug-exit port (0 = the
// guest reported success), 1 when the VM stopped on an error or a guest
// shutdown, 2 for a usage or configuration error (one line on stderr),
// 0 when the guest powered off (ACPI S5), 3 when it asked for a reset
// (StopReason::kExitPowerOff / kExitReset; every stop but a debug-exit one
// prints its reason on stderr), 128 + N when stopped by signal N.
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <filesystem>
#include <string>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "host/cluster/cluster_config.hpp"
#include "host/cluster/cluster_node.hpp"
#include "host/cluster/launcher.hpp"
#include "host/vmm/machine.hpp"
#include "host/vmm/size_parse.hpp"

namespace {

constexpr int kExitUsage = 2;

std::string self_exe() {
  char self[PATH_MAX] = {};
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  return n > 0 ? std::string(self, static_cast<size_t>(n)) : std::string("dvmm");
}

// The bundled smp-test guest sits in <build>/guests next to <build>/bin.
std::string default_kernel() {
  std::filesystem::path exe(self_exe());
  std::filesystem::path guest = exe.parent_path().parent_path() / "guests" / "smp-test.elf";
  return guest.string();
}

int usage_error(const std::string& message) {
  std::fprintf(stderr, "dvmm: %s\n", message.c_str());
  return kExitUsage;
}

int report(const dvmm::StopReason& reason) {
  if (reason.kind != dvmm::StopReason::Kind::kGuestExit) {
    std::fprintf(stderr, "dvmm: %s\n", reason.message.c_str());
  } else {
    spdlog::info("{}", reason.message);
  }
  return reason.exit_status;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"dvmm: a distributed virtual machine monitor"};
  app.require_subcommand(1);
  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));

  CLI::App* run = app.add_subcommand("run", "Boot a guest: one VM here, or a whole cluster");
  std::string cluster_file;
  unsigned vcpus = 1;
  std::string memory = "256M";
  std::string kernel;
  std::string cmdline;
  bool stats = false;
  run->add_option("cluster", cluster_file, "cluster configuration (TOML): run every node here");
  CLI::Option* vcpus_opt = run->add_option("--vcpus", vcpus, "number of vCPUs (1-255)");
  CLI::Option* memory_opt = run->add_option(
      "--memory,-m", memory, "guest RAM: MiB, or a size with K/M/G suffix (default 256M)");
  CLI::Option* kernel_opt =
      run->add_option("--kernel", kernel,
                      "multiboot kernel, Linux bzImage or PVH ELF (default: the bundled "
                      "smp-test guest)");
  CLI::Option* cmdline_opt = run->add_option("--cmdline", cmdline, "kernel command line");
  std::string initrd;
  CLI::Option* initrd_opt =
      run->add_option("--initrd", initrd, "initial ramdisk for a Linux kernel (cpio archive)");
  std::string linux_entry = "pvh";
  CLI::Option* linux_entry_opt = run->add_option(
      "--linux-entry", linux_entry,
      "how a Linux bzImage is entered: pvh (unpacked on the host, the default) or boot-params "
      "(Linux's 64-bit boot protocol, decompressed in the guest: fast on VMX/SVM hosts only)");
  std::string irqchip = "user";
  CLI::Option* irqchip_opt =
      run->add_option("--irqchip", irqchip,
                      "interrupt controllers: user (dvmm's, as every node of a cluster has) or "
                      "kernel (KVM's in-kernel ones: the single-machine baseline)")
          ->check(CLI::IsMember({"user", "kernel"}));
  run->add_flag("--stats", stats, "print exit, interrupt and dataplane counters at the end");
  std::string stats_json;
  CLI::Option* stats_json_opt = run->add_option(
      "--stats-json", stats_json,
      "cluster: write each node's counters as JSON to FILE ({node} in FILE is the node id; "
      "without it FILE.node<N>.json)");

  CLI::App* node = app.add_subcommand("node", "Run one node of a cluster");
  std::string node_file;
  unsigned node_id = 0;
  std::string instance;
  node->add_option("cluster", node_file, "cluster configuration (TOML)")->required();
  node->add_option("--id", node_id, "which node of the configuration this is")->required();
  node->add_option("--instance", instance,
                   "names this cluster's shared files in /dev/shm (default: cluster<ID>)");
  node->add_flag("--stats", stats, "print exit, interrupt and dataplane counters at the end");
  node->add_option("--stats-json", stats_json, "write this node's counters as JSON to FILE at exit");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line, naming the bad argument; --help has the rest.
    return usage_error(std::string(e.what()) + " (see dvmm --help)");
  }
  // stdout is the guest's console: dvmm's own messages go to stderr, as
  // QEMU's do, so a console log holds only what the guest wrote.
  spdlog::set_default_logger(spdlog::stderr_color_mt("dvmm"));
  spdlog::set_level(spdlog::level::from_str(log_level));
  spdlog::set_pattern("dvmm: %l: %v");

  if (node->parsed()) {
    auto config = dvmm::cluster::load_cluster_config(node_file);
    if (!config) return usage_error(config.error().message);
    dvmm::cluster::NodeOptions options;
    options.instance = instance.empty() ? fmt::format("cluster{}", config->cluster_id) : instance;
    options.kernel_path = config->bundled_kernel() ? default_kernel() : config->kernel;
    options.print_stats = stats;
    options.stats_json_path = stats_json;
    auto n = dvmm::cluster::ClusterNode::create(*config, static_cast<uint16_t>(node_id), options);
    if (!n) return usage_error(fmt::format("node {}: {}", node_id, n.error().message));
    return report((*n)->run());
  }

  if (!cluster_file.empty()) {
    for (CLI::Option* o :
         {vcpus_opt, memory_opt, kernel_opt, cmdline_opt, initrd_opt, linux_entry_opt, irqchip_opt}) {
      if (o->count() > 0) {
        return usage_error(fmt::format(
            "{} cannot be combined with a cluster configuration: set it in {} instead",
            o->get_name(), cluster_file));
      }
    }
    auto config = dvmm::cluster::load_cluster_config(cluster_file);
    if (!config) return usage_error(config.error().message);
    if (!config->bundled_kernel() && access(config->kernel.c_str(), R_OK) != 0) {
      return usage_error(fmt::format("{}: vm.kernel '{}' cannot be read: {}", cluster_file,
                                     config->kernel, std::strerror(errno)));
    }
    dvmm::cluster::LaunchOptions options{cluster_file, self_exe(), log_level, stats, stats_json};
    return dvmm::cluster::launch_cluster(*config, options);
  }

  if (stats_json_opt->count() > 0) {
    return usage_error("--stats-json is written by cluster nodes: give a cluster configuration, "
                       "or use --stats for one VM");
  }
  dvmm::MachineConfig config;
  if (vcpus < 1 || vcpus > dvmm::MachineConfig::kMaxVcpus) {
    return usage_error(fmt::format("--vcpus {} is out of range: choose 1 to {}", vcpus,
                                   dvmm::MachineConfig::kMaxVcpus));
  }
  config.vcpus = vcpus;
  config.kernel_irqchip = irqchip == "kernel";
  auto mem = dvmm::parse_memory_size(memory);
  if (!mem) return usage_error(mem.error().message);
  config.memory_bytes = *mem;
  config.kernel_path = kernel.empty() ? default_kernel() : kernel;
  config.cmdline = cmdline;
  config.initrd_path = initrd;
  auto entry = dvmm::boot::parse_linux_entry(linux_entry);
  if (!entry) return usage_error("--linux-entry: " + entry.error().message);
  config.linux_entry = *entry;
  config.print_stats = stats;

  auto machine = dvmm::Machine::create(config);
  if (!machine) return usage_error(machine.error().message);
  return report((*machine)->run());
}
