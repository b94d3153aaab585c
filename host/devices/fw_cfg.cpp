#include "host/devices/fw_cfg.hpp"

#include <algorithm>
#include <utility>

namespace dvmm {

namespace {

std::vector<uint8_t> le_bytes(uint64_t v, size_t n) {
  std::vector<uint8_t> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>((v >> (8 * i)) & 0xFF);
  return out;
}

void put_be(std::vector<uint8_t>& out, uint64_t v, size_t n) {
  for (size_t i = n; i-- > 0;) out.push_back(static_cast<uint8_t>((v >> (8 * i)) & 0xFF));
}

}  // namespace

FwCfg::FwCfg(unsigned nb_cpus, uint64_t ram_size, unsigned max_cpus) {
  if (max_cpus == 0) max_cpus = nb_cpus;
  items_[kSignature] = {'Q', 'E', 'M', 'U'};
  items_[kId] = le_bytes(1, 4);
  items_[kRamSize] = le_bytes(ram_size, 8);
  items_[kNbCpus] = le_bytes(std::min(nb_cpus, 0xFFFFu), 2);
  items_[kMaxCpus] = le_bytes(std::min(max_cpus, 0xFFFFu), 2);
  rebuild_file_dir_locked();
}

void FwCfg::read(uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < data.size(); ++i) {
    if (offset + i != 1) {
      data[i] = 0;
      continue;
    }
    auto it = items_.find(selected_);
    if (it == items_.end() || data_offset_ >= it->second.size()) {
      data[i] = 0;
    } else {
      data[i] = it->second[data_offset_];
    }
    ++data_offset_;
  }
}

void FwCfg::write(uint64_t offset, std::span<const uint8_t> data) {
  if (offset != 0 || data.empty()) return;  // the data port ignores writes
  std::lock_guard lock(mu_);
  uint16_t key = data[0];
  if (data.size() >= 2) key = static_cast<uint16_t>(key | data[1] << 8);
  selected_ = key & static_cast<uint16_t>(~kWriteChannel);
  data_offset_ = 0;
}

Result<uint16_t> FwCfg::add_file(std::string_view name, std::vector<uint8_t> bytes) {
  std::lock_guard lock(mu_);
  if (name.empty() || name.size() > kMaxNameLength) {
    return Error::format("fw_cfg: file name '{}' must be 1 to {} bytes long", name,
                         kMaxNameLength);
  }
  for (const File& f : files_) {
    if (f.name == name) return Error::format("fw_cfg: file '{}' is already present", name);
  }
  const size_t selector = kFileFirst + files_.size();
  if (selector >= kWriteChannel) return Error::format("fw_cfg: no selector left for '{}'", name);
  const auto sel = static_cast<uint16_t>(selector);
  items_[sel] = std::move(bytes);
  files_.push_back(File{std::string(name), sel});
  rebuild_file_dir_locked();
  return sel;
}

void FwCfg::add_item(uint16_t key, std::vector<uint8_t> bytes) {
  std::lock_guard lock(mu_);
  items_[key & static_cast<uint16_t>(~kWriteChannel)] = std::move(bytes);
}

void FwCfg::rebuild_file_dir_locked() {
  std::vector<uint8_t> dir;
  dir.reserve(4 + files_.size() * kFileDirEntrySize);
  put_be(dir, files_.size(), 4);
  for (const File& f : files_) {
    put_be(dir, items_[f.selector].size(), 4);
    put_be(dir, f.selector, 2);
    put_be(dir, 0, 2);
    const size_t name_at = dir.size();
    dir.resize(name_at + 56, 0);
    std::copy(f.name.begin(), f.name.end(), dir.begin() + static_cast<std::ptrdiff_t>(name_at));
  }
  items_[kFileDir] = std::move(dir);
}

}  // namespace dvmm
