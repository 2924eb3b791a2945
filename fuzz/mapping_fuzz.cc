// Fuzzes the mapping language: any bytes as a mapping file. When it parses,
// the mapping is applied to one fixed issue that carries every shape of
// value a tracker hands over (DESIGN §3). Parse errors and mapping errors are
// answers; crashes and sanitizer reports are the findings. ParseMapping()
// applies the limits LoadMappingFile() reads files with (mappings/yaml_file.h).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/issue.h"
#include "mappings/mapping.h"

namespace boardsync {
namespace {

Value User(const char* login, const char* name) {
  return Value::Object{{"login", login}, {"name", name}, {"email", Value()}};
}

// Shaped like a decoded YouTrack issue (tests/data/youtrack/sample_issues.json).
const Issue& SampleIssue() {
  static const Issue issue = [] {
    Issue i;
    i.id = "2-9";
    i.key = "RAP-1";
    i.url = "https://acme.youtrack.cloud/issue/RAP-1";
    i.created_ms = 1708936872345;
    i.updated_ms = 1710864164120;
    i.resolved_ms = 1710760805000;
    i.fields = {
        {"id", "2-9"},
        {"idReadable", "RAP-1"},
        {"created", "2024-02-26T08:41:12.345Z"},
        {"updated", "2024-03-19T16:02:44.120Z"},
        {"resolved", "2024-03-18T11:20:05.000Z"},
        {"summary", "Board import fails for projects with more than 42 issues"},
        {"description", "Importing a project with 43+ issues stops after the first page."},
        {"numberInProject", 1},
        {"votes", Value()},
        {"project", Value::Object{{"shortName", "RAP"}, {"name", "Roadmap App"}}},
        {"reporter", User("priya.raman", "Priya Raman")},
        {"tags", Value::List{"regression", "customer-request"}},
        {"Priority", "Critical"},
        {"Type", "Bug"},
        {"State", "Fixed"},
        {"Assignee", User("zoe.angstrom", "Zoë Ångström")},
        {"Reviewers", Value::List{User("a.b", "A B"), User("c.d", "")}},
        {"Fix versions", Value::List{"2024.1", "2024.2"}},
        {"Fixed in build", "1042"},
        {"Subsystem", Value()},
        {"Team", "Platform"},
        {"Estimation", 1440},
        {"Spent time", 90},
        {"Due Date", "2024-04-01"},
        {"Started", "2024-03-01T09:00:00.000Z"},
        {"Story points", 5},
        {"Business value", 2.5},
        {"Customer", "ACME"},
        {"Notes", "12.5"},
    };
    return i;
  }();
  return issue;
}

}  // namespace
}  // namespace boardsync

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace boardsync;
  auto mapping = ParseMapping(std::string_view(reinterpret_cast<const char*>(data), size),
                              "fuzz.yaml");
  if (!mapping) {
    for (const Diagnostic& d : mapping.error()) {
      (void)d.ToString();
    }
    return 0;
  }
  (void)mapping->SourceFields();
  (void)mapping->Fingerprint();
  if (auto fields = ApplyMapping(*mapping, SampleIssue()); fields && *fields) {
    (void)Value(**fields).ToJson();
  }
  return 0;
}
