// TempDir: a fresh directory under $TMPDIR for one test, removed afterwards.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace boardsync {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "boardsync-test-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

  // Writes `text` to `name` (relative to the directory) and returns its path.
  std::filesystem::path Write(const std::string& name, const std::string& text) const {
    std::filesystem::path file = path_ / name;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file) << text;
    return file;
  }

 private:
  std::filesystem::path path_;
};

// The source tree, for tests that load shipped files.
inline std::filesystem::path SourceDir() {
  const char* dir = std::getenv("BOARDSYNC_SOURCE_DIR");
  return dir != nullptr ? std::filesystem::path(dir) : std::filesystem::path(BOARDSYNC_SOURCE_DIR_DEFAULT);
}

// The build tree, for tests that run the built binaries.
inline std::filesystem::path BinaryDir() {
  const char* dir = std::getenv("BOARDSYNC_BINARY_DIR");
  return dir != nullptr ? std::filesystem::path(dir) : std::filesystem::path(BOARDSYNC_BINARY_DIR_DEFAULT);
}

}  // namespace boardsync
