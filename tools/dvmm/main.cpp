// dvmm: the command-line front end.
//
//   dvmm run [--vcpus N] [--memory SIZE] [--kernel FILE] [--cmdline STR]
//
// Exit status: the value the guest wrote to the debug-exit port (0 = the
// guest reported success), 1 when the VM stopped on an error or a guest
// shutdown, 2 for a usage or configuration error (one line on stderr).
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <filesystem>
#include <string>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "host/vmm/machine.hpp"
#include "host/vmm/size_parse.hpp"

namespace {

constexpr int kExitUsage = 2;

// The bundled smp-test guest sits in <build>/guests next to <build>/bin.
std::string default_kernel() {
  char self[PATH_MAX] = {};
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n > 0) {
    std::filesystem::path exe(std::string(self, static_cast<size_t>(n)));
    std::filesystem::path guest = exe.parent_path().parent_path() / "guests" / "smp-test.elf";
    if (std::filesystem::exists(guest)) return guest.string();
  }
  return "smp-test.elf";
}

int usage_error(const std::string& message) {
  std::fprintf(stderr, "dvmm: %s\n", message.c_str());
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"dvmm: a distributed virtual machine monitor"};
  app.require_subcommand(1);
  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));

  CLI::App* run = app.add_subcommand("run", "Boot a guest on this host");
  unsigned vcpus = 1;
  std::string memory = "256M";
  std::string kernel;
  std::string cmdline;
  bool stats = false;
  run->add_option("--vcpus", vcpus, "number of vCPUs (1-255)");
  run->add_option("--memory,-m", memory, "guest RAM: MiB, or a size with K/M/G suffix (default 256M)");
  run->add_option("--kernel", kernel, "multiboot kernel (default: the bundled smp-test guest)");
  run->add_option("--cmdline", cmdline, "kernel command line");
  run->add_flag("--stats", stats, "print exit and interrupt counters when the VM stops");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line, naming the bad argument; --help has the rest.
    return usage_error(std::string(e.what()) + " (see dvmm " +
                       (run->parsed() ? "run " : "") + "--help)");
  }
  spdlog::set_level(spdlog::level::from_str(log_level));
  spdlog::set_pattern("dvmm: %l: %v");

  dvmm::MachineConfig config;
  if (vcpus < 1 || vcpus > dvmm::MachineConfig::kMaxVcpus) {
    return usage_error(fmt::format("--vcpus {} is out of range: choose 1 to {}", vcpus,
                                   dvmm::MachineConfig::kMaxVcpus));
  }
  config.vcpus = vcpus;
  auto mem = dvmm::parse_memory_size(memory);
  if (!mem) return usage_error(mem.error().message);
  config.memory_bytes = *mem;
  config.kernel_path = kernel.empty() ? default_kernel() : kernel;
  config.cmdline = cmdline;
  config.print_stats = stats;

  auto machine = dvmm::Machine::create(config);
  if (!machine) return usage_error(machine.error().message);
  dvmm::StopReason reason = (*machine)->run();
  if (reason.kind != dvmm::StopReason::Kind::kGuestExit) {
    std::fprintf(stderr, "dvmm: %s\n", reason.message.c_str());
  }
  return reason.exit_status;
}
