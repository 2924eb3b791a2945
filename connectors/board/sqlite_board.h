// SqliteBoard: the embedded board store, the `items` table of DESIGN §4.1 in
// its own SQLite file. Apply() is one transaction and refuses no single write;
// neither an upsert nor an archive applies over a row with a newer
// source_updated_at. One instance per thread; other processes may read the
// file meanwhile (WAL).
#pragma once

#include <filesystem>
#include <memory>

#include "core/board_sink.h"

namespace boardsync {

class SqliteBoard : public BoardSink {
 public:
  // Creates `file` when missing. ErrorCode::kUntrusted when it is a symbolic
  // link.
  static Result<std::unique_ptr<SqliteBoard>> Open(const std::filesystem::path& file);
  ~SqliteBoard() override;

  Result<std::vector<RefusedWrite>> Apply(std::span<const BoardWrite> writes) override;

 private:
  class Impl;
  explicit SqliteBoard(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace boardsync
