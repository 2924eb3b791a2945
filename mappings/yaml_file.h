// Reading the YAML files an operator writes (the config and the mapping
// files) with limits, so that a mistaken or hostile file costs little: the
// file must be a regular file of at most 4 MiB, its aliases may add at most
// 10,000 nodes to its tree, and no mapping in it may repeat a key.
//
// yaml-cpp keeps an alias as a second reference to the anchored node, so
// loading a "billion laughs" file is cheap but walking it is not; and it keeps
// both pairs of a repeated key while node[key] answers with the first. Both
// are caught here from the parser's events, before any tree is walked.
//
// Header-only so that the config (daemon/), the mappings and the fuzz
// targets share one implementation without another build target.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <expected>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"

namespace boardsync {

inline constexpr std::size_t kMaxYamlFileBytes = std::size_t{4} << 20;  // 4 MiB
inline constexpr std::size_t kMaxYamlAliasNodes = 10'000;

// Reads `path` whole. It must be a regular file (a symlink to one is fine:
// these files are the operator's, often placed by configuration management)
// of at most `max_bytes`. A FIFO, a device, a socket or a directory is
// refused by its type from stat(), before it is opened; the open itself uses
// O_NONBLOCK so that a FIFO swapped in after the stat never blocks, and the
// opened file is checked again. On failure, the reason as a sentence fragment
// ("it is a FIFO, not a regular file"), without the path.
inline std::expected<std::string, std::string> ReadBoundedFile(
    const std::filesystem::path& path, std::size_t max_bytes = kMaxYamlFileBytes);

// Why a file of `mode` is not a regular file ("it is a FIFO, not a regular
// file"), or nullopt when it is one.
inline std::optional<std::string> NotARegularFile(mode_t mode);

// What the limits found in a file's YAML text.
struct YamlCheck {
  // Each placed in `file`: a repeated key (naming the first one's place), the
  // alias budget running out, a text over kMaxYamlFileBytes.
  Diagnostics problems;
  // The tree must not be walked (the alias budget ran out, an alias refers
  // to the node that contains it, or the text is too long): refuse the file
  // with `problems` alone. Otherwise parsing may go on and report more.
  bool refuse = false;
};

// Checks the first document of `text` (the one YAML::Load returns). YAML
// syntax errors are left to the caller's YAML::Load, which reports them.
inline YamlCheck CheckYaml(std::string_view text, const std::string& file,
                           std::size_t max_alias_nodes = kMaxYamlAliasNodes);

// ---- Implementation ----

namespace yaml_file_internal {

inline std::string SizeText(std::size_t bytes) {
  if (bytes % (std::size_t{1} << 20) == 0) {
    return std::to_string(bytes >> 20) + " MiB";
  }
  return std::to_string(bytes) + " bytes";
}

}  // namespace yaml_file_internal

inline std::optional<std::string> NotARegularFile(mode_t mode) {
  if (S_ISREG(mode)) {
    return std::nullopt;
  }
  std::string kind = S_ISDIR(mode)    ? "a directory"
                     : S_ISFIFO(mode) ? "a FIFO"
                     : S_ISCHR(mode)  ? "a character device"
                     : S_ISBLK(mode)  ? "a block device"
                     : S_ISSOCK(mode) ? "a socket"
                                      : "a special file";
  return "it is " + kind + ", not a regular file";
}

namespace yaml_file_internal {

// Walks the parser's events, never the tree: every node is seen once, and an
// alias counts the nodes of what it names without expanding it.
class LimitsHandler : public YAML::EventHandler {
 public:
  // Thrown to stop the parser once the file must be refused.
  struct Stop {};

  LimitsHandler(const std::string& file, std::size_t budget) : file_(file), budget_(budget) {}

  YamlCheck& result() { return result_; }

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark&, YAML::anchor_t anchor) override {
    Anchor(anchor, 1, std::nullopt);
    Completed(1, std::nullopt, {});
  }

  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                const std::string& value) override {
    Anchor(anchor, 1, value);
    Completed(1, value, mark);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto found = anchors_.find(anchor);
    if (found == anchors_.end()) {
      return;  // yaml-cpp refuses an unknown anchor itself
    }
    if (!found->second.size) {
      Refuse(mark, "an alias refers to the node that contains it; such a tree never ends");
    }
    const std::size_t size = *found->second.size;
    alias_nodes_ += size;
    if (alias_nodes_ > budget_) {
      Refuse(mark, "the aliases in this file stand for more than " + std::to_string(budget_) +
                       " nodes; write the values out or use fewer aliases");
    }
    Completed(size, found->second.scalar, mark);
  }

  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(anchor, /*is_map=*/false);
  }
  void OnSequenceEnd() override { Close(); }

  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Open(anchor, /*is_map=*/true);
  }
  void OnMapEnd() override { Close(); }

 private:
  struct AnchorInfo {
    std::optional<std::size_t> size;    // unset while the anchored node is still open
    std::optional<std::string> scalar;  // for an alias used as a key
  };
  struct Collection {
    YAML::anchor_t anchor = 0;
    bool is_map = false;
    std::size_t size = 1;  // itself and everything under it, aliases expanded
    bool at_key = true;    // a map's next node is a key
    std::map<std::string, YAML::Mark, std::less<>> keys;  // a map's keys so far
  };

  void Anchor(YAML::anchor_t anchor, std::size_t size, std::optional<std::string> scalar) {
    if (anchor != 0) {
      anchors_[anchor] = AnchorInfo{size, std::move(scalar)};
    }
  }

  void Open(YAML::anchor_t anchor, bool is_map) {
    if (anchor != 0) {
      anchors_[anchor] = AnchorInfo{};
    }
    open_.push_back(Collection{anchor, is_map});
  }

  void Close() {
    Collection done = std::move(open_.back());
    open_.pop_back();
    Anchor(done.anchor, done.size, std::nullopt);
    Completed(done.size, std::nullopt, {});
  }

  // A node of `size` nodes ends; `key` is its text when it is a scalar.
  void Completed(std::size_t size, const std::optional<std::string>& key, const YAML::Mark& mark) {
    if (open_.empty()) {
      return;
    }
    Collection& parent = open_.back();
    parent.size += size;
    if (!parent.is_map) {
      return;
    }
    if (parent.at_key && key) {
      auto [first, inserted] = parent.keys.try_emplace(*key, mark);
      if (!inserted) {
        Problem(mark, "duplicate key \"" + *key + "\": the same key is at line " +
                          std::to_string(first->second.line + 1) + ", column " +
                          std::to_string(first->second.column + 1) +
                          " (YAML would keep only the first)");
      }
    }
    parent.at_key = !parent.at_key;
  }

  void Problem(const YAML::Mark& mark, std::string message) {
    result_.problems.push_back(
        Diagnostic{file_, mark.line + 1, mark.column + 1, std::move(message)});
  }

  [[noreturn]] void Refuse(const YAML::Mark& mark, std::string message) {
    Problem(mark, std::move(message));
    result_.refuse = true;
    throw Stop{};
  }

  std::string file_;
  std::size_t budget_;
  std::size_t alias_nodes_ = 0;
  std::map<YAML::anchor_t, AnchorInfo> anchors_;
  std::vector<Collection> open_;
  YamlCheck result_;
};

}  // namespace yaml_file_internal

inline std::expected<std::string, std::string> ReadBoundedFile(const std::filesystem::path& path,
                                                               std::size_t max_bytes) {
  auto fail = [](std::string why) { return std::unexpected(std::move(why)); };
  const std::string too_big = "it is larger than " + yaml_file_internal::SizeText(max_bytes);
  struct stat before {};
  if (::stat(path.c_str(), &before) != 0) {
    return fail(std::strerror(errno));
  }
  if (auto why = NotARegularFile(before.st_mode)) {
    return fail(*why);
  }
  if (static_cast<std::uintmax_t>(before.st_size) > max_bytes) {
    return fail(too_big);
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    return fail(std::strerror(errno));
  }
  struct stat opened {};
  std::optional<std::string> why;
  if (::fstat(fd, &opened) != 0) {
    why = std::strerror(errno);
  } else {
    why = NotARegularFile(opened.st_mode);
  }
  std::string text;
  if (!why) {
    // One byte past the limit tells a file that grew after the stat.
    text.resize(max_bytes + 1);
    std::size_t got = 0;
    while (got < text.size()) {
      const ssize_t n = ::read(fd, text.data() + got, text.size() - got);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n < 0) {
        why = std::strerror(errno);
        break;
      }
      if (n == 0) {
        break;
      }
      got += static_cast<std::size_t>(n);
    }
    text.resize(got);
    if (!why && got > max_bytes) {
      why = too_big;
    }
  }
  ::close(fd);
  if (why) {
    return fail(*why);
  }
  return text;
}

inline YamlCheck CheckYaml(std::string_view text, const std::string& file,
                           std::size_t max_alias_nodes) {
  if (text.size() > kMaxYamlFileBytes) {
    YamlCheck check;
    check.problems.push_back(Diagnostic{
        file, 0, 0, "it is larger than " + yaml_file_internal::SizeText(kMaxYamlFileBytes)});
    check.refuse = true;
    return check;
  }
  yaml_file_internal::LimitsHandler handler(file, max_alias_nodes);
  std::istringstream in{std::string(text)};
  try {
    YAML::Parser parser(in);
    parser.HandleNextDocument(handler);
  } catch (const yaml_file_internal::LimitsHandler::Stop&) {
  } catch (const YAML::Exception&) {
    // A syntax error: the caller's YAML::Load reports it with its place.
  }
  return std::move(handler.result());
}

}  // namespace boardsync
