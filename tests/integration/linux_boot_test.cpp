// The reference guest: Debian's stock Linux kernel (6.1, bzImage unpacked
// on the host and entered through PVH) with the initramfs from
// tools/make-initramfs.sh, whose init prints nproc, runs a checksum worker
// pinned to every CPU, checks the results and powers off through ACPI.
//
// Once on one node, once with its two vCPUs on two nodes over DSM (UDP on
// loopback). Ring-0 guest code is emulated on these hosts, so each boot
// takes minutes: label `slow` (docs/testing.md).
//
// And the classic 64-bit entry (--linux-entry boot-params) as far as the
// kernel's own decompressor speaking: decompressing takes far longer here.
//
// The kernel comes from tools/install-deps.sh (/var/cache/dvmm/linux/vmlinuz)
// or DVMM_LINUX_KERNEL; a missing kernel is a failure naming both.
//
// On hosts whose KVM does not carry a `syscall` from guest ring 3 into the
// guest kernel (x86::Ring0Support::user_syscall; PVM here) no user program
// can run, /init included. There the tests check the boot up to the kernel
// starting /init on every CPU and the init's first system call faulting,
// then skip the init's checks, saying why.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "host/arch/ring0_probe.hpp"
#include "host/kvm/kvm.hpp"
#include "tests/support/subprocess.hpp"
#include "tests/support/temp_file.hpp"

namespace dvmm {
namespace {

constexpr auto kBootTimeout = std::chrono::seconds(1500);
// The command line: what the stock kernel needs on hosts whose KVM emulates
// guest ring 0 (noxsave; dvmm appends the clearcpuid= its ring-0 probe
// finds), and what it can skip at no cost to the test, each saving seconds
// to minutes of emulated boot (docs/linux.md, "The command line").
constexpr const char* kCmdline =
    "console=ttyS0 noxsave mitigations=off panic=-1 rodata=off cryptomgr.notests "
    "initcall_blacklist=ftrace_check_for_weak_functions,trace_eval_init,tracer_init_tracefs,"
    "crypto_kdf108_init,blake2s_mod_init,load_system_certificate_list,"
    "cubictcp_register,bpf_prog_test_run_init,bpf_rstat_kfunc_init,bpf_key_sig_kfuncs_init,"
    "kfunc_init,bpf_tcp_ca_kfunc_init";

std::string kernel_path() {
  const char* env = std::getenv("DVMM_LINUX_KERNEL");
  return env != nullptr ? env : "/var/cache/dvmm/linux/vmlinuz";
}

// Builds the initramfs once per test process.
const std::string& initramfs() {
  // Removed when the test process ends.
  static const test::TempFile file{[] {
    std::string out = ::testing::TempDir() + "/dvmm-initramfs-" + std::to_string(getpid()) + ".cpio";
    auto r = test::run_process({"bash", DVMM_MAKE_INITRAMFS, out}, std::chrono::seconds(120));
    if (r.exit_status != 0) {
      ADD_FAILURE() << "tools/make-initramfs.sh failed (is busybox-static installed? run "
                       "tools/install-deps.sh):\n"
                    << r.out << r.err;
      return std::string();
    }
    return out;
  }()};
  return file.path();
}

#define DVMM_REQUIRE_KERNEL()                                                                \
  do {                                                                                       \
    DVMM_REQUIRE_KVM();                                                                      \
    ASSERT_EQ(access(kernel_path().c_str(), R_OK), 0)                                        \
        << "no reference kernel at " << kernel_path()                                        \
        << ": run tools/install-deps.sh as root (it fetches Debian's linux-image-amd64), "  \
           "or set DVMM_LINUX_KERNEL to a bzImage";                                          \
  } while (0)

#define DVMM_REQUIRE_LINUX()              \
  do {                                    \
    DVMM_REQUIRE_KERNEL();                \
    ASSERT_FALSE(initramfs().empty());    \
  } while (0)

// Empty when guest user programs can make system calls here; else why not.
std::string user_space_blocker() {
  auto kvm = kvm::Kvm::open();
  if (!kvm) return "";
  auto cpuid = kvm->supported_cpuid();
  if (!cpuid) return "";
  auto ring0 = x86::probe_ring0(*kvm, *cpuid);
  if (!ring0 || ring0->user_syscall) return "";
  return "this host's KVM leaves a `syscall` from guest ring 3 in ring 3 (x86::Ring0Support::"
         "user_syscall), so no guest user program, /init included, can make a system call";
}

// Runs dvmm and reports how long the boot took (docs/benchmarks.md takes
// its figures from CI's log of these lines and of --stats).
test::ProcessResult timed_boot(const std::vector<std::string>& argv) {
  const auto start = std::chrono::steady_clock::now();
  test::ProcessResult r = test::run_process(argv, kBootTimeout);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ::testing::Test::RecordProperty("boot_seconds", std::to_string(seconds));
  std::printf("dvmm ran %.0f s (exit status %d)\n", seconds, r.exit_status);
  for (const char* milestone : {"smp: Brought up", "Run /init as init process"}) {
    const size_t at = r.out.find(milestone);
    if (at == std::string::npos) continue;
    const size_t line = r.out.rfind('\n', at);
    const size_t start_of_line = line == std::string::npos ? 0 : line + 1;
    std::printf("%s\n", r.out.substr(start_of_line, r.out.find('\n', at) - start_of_line).c_str());
  }
  std::printf("dvmm stderr:\n%s\n", r.err.c_str());
  return r;
}

void expect_boot(const test::ProcessResult& r, int cpus) {
  ASSERT_FALSE(r.timed_out) << "the guest did not stop within " << kBootTimeout.count() << " s";
  EXPECT_NE(r.out.find("smp: Brought up 1 node, " + std::to_string(cpus) + " CPUs"), std::string::npos);
  EXPECT_NE(r.out.find("Run /init as init process"), std::string::npos);
  const std::string blocker = user_space_blocker();
  if (!blocker.empty()) {
    // The kernel reports the fault of init's first `syscall` (at the
    // kernel's entry point, in user mode) and, with panic=-1, resets.
    EXPECT_NE(r.out.find("init[1]: segfault at"), std::string::npos);
    EXPECT_NE(r.out.find("Attempted to kill init"), std::string::npos);
    EXPECT_NE(r.err.find("guest requested reset"), std::string::npos);
    EXPECT_EQ(r.exit_status, 3);
    if (!::testing::Test::HasFailure()) {
      GTEST_SKIP() << "booted to /init on " << cpus << " CPUs; init's checks skipped: " << blocker;
    }
    return;
  }
  EXPECT_NE(r.out.find("dvmm-init: nproc=" + std::to_string(cpus)), std::string::npos);
  EXPECT_NE(r.out.find("dvmm-init: workload ok"), std::string::npos);
  EXPECT_EQ(r.out.find("FAILED"), std::string::npos);
  EXPECT_EQ(r.out.find("Kernel panic"), std::string::npos);
  EXPECT_NE(r.err.find("guest powered off (ACPI S5)"), std::string::npos);
  EXPECT_EQ(r.exit_status, 0);
}

TEST(LinuxBoot, TwoVcpusOnOneNode) {
  DVMM_REQUIRE_LINUX();
  auto r = timed_boot({DVMM_BINARY, "run", "--vcpus", "2", "--memory", "256M", "--kernel",
                       kernel_path(), "--initrd", initramfs(), "--cmdline", kCmdline, "--stats"});
  SCOPED_TRACE("stdout:\n" + r.out + "\nstderr:\n" + r.err);
  expect_boot(r, 2);
}

TEST(LinuxBoot, TwoVcpusOnTwoNodesOverDsm) {
  DVMM_REQUIRE_LINUX();
  const std::string port = std::to_string(20000 + getpid() % 20000);
  const test::TempFile config(::testing::TempDir() + "/linux-2n-" + std::to_string(getpid()) + ".toml");
  std::ofstream(config.path()) << "[vm]\nvcpus = 2\nmemory = \"256M\"\n"
                        << "kernel = \"" << kernel_path() << "\"\n"
                        << "initrd = \"" << initramfs() << "\"\n"
                        << "cmdline = \"" << kCmdline << "\"\n"
                        << "[cluster]\nid = 11\ntransport = \"udp\"\nmemory = \"dsm\"\n"
                        << "[[node]]\nid = 0\nvcpus = [0]\naddress = \"127.0.0.1:" << port << "\"\n"
                        << "[[node]]\nid = 1\nvcpus = [1]\naddress = \"127.0.0.2:" << port << "\"\n";
  auto r = timed_boot({DVMM_BINARY, "run", config.path(), "--stats"});
  SCOPED_TRACE("stdout:\n" + r.out + "\nstderr:\n" + r.err);
  expect_boot(r, 2);
}

// The decompressor of a bzImage entered at startup_64 with boot_params
// prints on the serial console given by earlyprintk. Debian's kernel is
// built without CONFIG_X86_VERBOSE_BOOTUP, so its first words are the
// nokaslr warning (2-11 s here); kernels with it say "early console
// in extract_kernel" first.
TEST(LinuxBoot, BootParamsEntryReachesTheDecompressor) {
  DVMM_REQUIRE_KERNEL();
  constexpr auto kFirstOutputTimeout = std::chrono::seconds(120);
  const auto start = std::chrono::steady_clock::now();
  test::Child dvmm({DVMM_BINARY, "run", "--memory", "256M", "--kernel", kernel_path(),
                    "--linux-entry", "boot-params", "--cmdline",
                    "console=ttyS0 earlyprintk=serial,ttyS0,115200 nokaslr"});
  const std::string seen = dvmm.wait_for_any_output(
      {"early console in extract_kernel", "KASLR disabled", "Decompressing Linux"},
      kFirstOutputTimeout);
  const auto seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  dvmm.signal(SIGTERM);
  const test::ProcessResult r = dvmm.wait(std::chrono::seconds(10));
  SCOPED_TRACE("stdout:\n" + r.out + "\nstderr:\n" + r.err);
  ASSERT_FALSE(seen.empty()) << "no output from the kernel's decompressor within "
                           << kFirstOutputTimeout.count() << " s";
  RecordProperty("seconds_to_decompressor_output", std::to_string(seconds));
  std::printf("decompressor's first output (\"%s\") after %.1f s\n", seen.c_str(), seconds);
  EXPECT_EQ(r.err.find("dvmm: kernel"), std::string::npos) << "the loader refused the kernel";
}

}  // namespace
}  // namespace dvmm
