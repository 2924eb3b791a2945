// The StateStore contract (tests/support/state_contract.h) on PostgresState:
// a fresh database per test (tests/support/pg_cluster.h), each replica
// handle a session of its own.
#include "connectors/postgres/postgres_state.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/state_contract.h"

namespace boardsync {
namespace {

class PostgresStateHarness : public StateStoreHarness {
 public:
  Result<std::unique_ptr<StateStore>> Open() override {
    auto state = PostgresState::Open(Secret(db_.url()));
    if (!state) {
      return std::unexpected(state.error());
    }
    return std::unique_ptr<StateStore>(std::move(*state));
  }

 private:
  PgTestDatabase db_;
};

INSTANTIATE_TEST_SUITE_P(
    Postgres, StateContractTest,
    testing::Values(StateBackend{"Postgres",
                                 [] { return std::make_unique<PostgresStateHarness>(); }}),
    StateBackendName);

}  // namespace
}  // namespace boardsync
