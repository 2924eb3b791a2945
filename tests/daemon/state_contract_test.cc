// The StateStore contract (tests/support/state_contract.h) for the SQLite
// state database, each replica handle opening the same state directory.
#include "tests/support/state_contract.h"

#include "daemon/state_db.h"
#include "tests/support/temp_dir.h"

namespace boardsync {
namespace {

class StateDbHarness : public StateStoreHarness {
 public:
  Result<std::unique_ptr<StateStore>> Open() override {
    auto db = StateDb::Open(dir_.path() / "state");
    if (!db) {
      return std::unexpected(db.error());
    }
    return std::unique_ptr<StateStore>(std::move(*db));
  }

 private:
  TempDir dir_;
};

INSTANTIATE_TEST_SUITE_P(
    Sqlite, StateContractTest,
    testing::Values(StateBackend{"Sqlite", [] { return std::make_unique<StateDbHarness>(); }}),
    StateBackendName);

}  // namespace
}  // namespace boardsync
