// Fuzzes what boardsync makes of a Jira answer: any bytes go through
// ParseJsonDocument() (as the connector reads them), and whatever JSON comes
// out is decoded as a search page (with a fixed selection covering every kind
// of field, and with one resolved from the input read as a field catalogue),
// as one issue and as rich text. A decoder must answer every shape with a
// value or an Error; crashes, sanitizer reports and broken promises of the
// decoders' contract (checked below: a page decodes issue by issue, ids are
// digits, times stay within four-digit years, text stays UTF-8) are the
// findings.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/http/json.h"
#include "connectors/jira/decode.h"
#include "connectors/jira/fields.h"
#include "core/text.h"
#include "core/time.h"

namespace boardsync {
namespace {

constexpr std::string_view kSite = "https://acme.atlassian.net";

// A catalogue with one field of every kind the decoder tells apart, under the
// ids the seeds (tests/data/jira/) use, Cloud's and Data Center's.
constexpr std::string_view kCatalogue = R"([
 {"id":"summary","name":"Summary","schema":{"type":"string","system":"summary"}},
 {"id":"description","name":"Description","schema":{"type":"string","system":"description"}},
 {"id":"environment","name":"Environment","schema":{"type":"string","system":"environment"}},
 {"id":"status","name":"Status","schema":{"type":"status","system":"status"}},
 {"id":"priority","name":"Priority","schema":{"type":"priority","system":"priority"}},
 {"id":"resolution","name":"Resolution","schema":{"type":"resolution","system":"resolution"}},
 {"id":"issuetype","name":"Issue Type","schema":{"type":"issuetype","system":"issuetype"}},
 {"id":"project","name":"Project","schema":{"type":"project","system":"project"}},
 {"id":"assignee","name":"Assignee","schema":{"type":"user","system":"assignee"}},
 {"id":"reporter","name":"Reporter","schema":{"type":"user","system":"reporter"}},
 {"id":"labels","name":"Labels","schema":{"type":"array","items":"string","system":"labels"}},
 {"id":"components","name":"Components","schema":{"type":"array","items":"component","system":"components"}},
 {"id":"fixVersions","name":"Fix versions","schema":{"type":"array","items":"version","system":"fixVersions"}},
 {"id":"created","name":"Created","schema":{"type":"datetime","system":"created"}},
 {"id":"updated","name":"Updated","schema":{"type":"datetime","system":"updated"}},
 {"id":"resolutiondate","name":"Resolved","schema":{"type":"datetime","system":"resolutiondate"}},
 {"id":"duedate","name":"Due date","schema":{"type":"date","system":"duedate"}},
 {"id":"timeoriginalestimate","name":"Original estimate","schema":{"type":"number","system":"timeoriginalestimate"}},
 {"id":"timespent","name":"Time Spent","schema":{"type":"number","system":"timespent"}},
 {"id":"timetracking","name":"Time tracking","schema":{"type":"timetracking","system":"timetracking"}},
 {"id":"votes","name":"Votes","schema":{"type":"votes","system":"votes"}},
 {"id":"watches","name":"Watchers","schema":{"type":"watches","system":"watches"}},
 {"id":"workratio","name":"Work Ratio","schema":{"type":"number","system":"workratio"}},
 {"id":"issuelinks","name":"Linked Issues","schema":{"type":"array","items":"issuelinks","system":"issuelinks"}},
 {"id":"issuekey","name":"Key"},
 {"id":"parent","name":"Parent"},
 {"id":"customfield_10016","name":"Story point estimate","custom":true,"schema":{"type":"number","custom":"com.pyxis.greenhopper.jira:jsw-story-points"}},
 {"id":"customfield_10019","name":"Rank","custom":true,"schema":{"type":"any","custom":"com.pyxis.greenhopper.jira:gh-lexo-rank"}},
 {"id":"customfield_10020","name":"Sprint","custom":true,"schema":{"type":"array","items":"json","custom":"com.pyxis.greenhopper.jira:gh-sprint"}},
 {"id":"customfield_10050","name":"Customer Tier","custom":true,"schema":{"type":"option"}},
 {"id":"customfield_10051","name":"Platforms","custom":true,"schema":{"type":"array","items":"option"}},
 {"id":"customfield_10052","name":"Hardware","custom":true,"schema":{"type":"option-with-child"}},
 {"id":"customfield_10053","name":"Release notes","custom":true,"schema":{"type":"string"}},
 {"id":"customfield_10054","name":"Reviewers","custom":true,"schema":{"type":"array","items":"user"}},
 {"id":"customfield_10055","name":"Go-live","custom":true,"schema":{"type":"date"}},
 {"id":"customfield_10056","name":"Deployed at","custom":true,"schema":{"type":"datetime"}},
 {"id":"customfield_10061","name":"Budget","custom":true,"schema":{"type":"number"}},
 {"id":"customfield_10062","name":"Team","custom":true,"schema":{"type":"team"}},
 {"id":"customfield_10100","name":"Story Points","custom":true,"schema":{"type":"number"}},
 {"id":"customfield_10101","name":"DC Sprint","custom":true,"schema":{"type":"array","items":"string","custom":"com.pyxis.greenhopper.jira:gh-sprint"}},
 {"id":"customfield_10106","name":"DC Hardware","custom":true,"schema":{"type":"option-with-child"}},
 {"id":"customfield_10108","name":"Approvers group","custom":true,"schema":{"type":"array","items":"group"}}
])";

// The names a mapping might read: by name, by id, in another case, as paths.
const std::vector<std::string>& Names() {
  static const std::vector<std::string> names = {
      "Summary", "description", "Environment", "Status", "priority", "Resolution",
      "issue type", "Project", "Assignee.login", "Reporter", "labels", "Components",
      "Fix versions", "Created", "updated", "Resolved", "Due date", "Original estimate",
      "timespent", "Time tracking", "Votes", "Watchers", "Work Ratio", "Linked Issues", "Key",
      "parent", "Story point estimate", "Rank", "Sprint", "Customer Tier", "Platforms",
      "Hardware", "Release notes", "Reviewers", "Go-live", "Deployed at", "Budget", "Team",
      "Story Points", "DC Sprint", "DC Hardware", "Approvers group", "$key", "Nothing"};
  return names;
}

void Require(bool promise) {
  if (!promise) {
    std::abort();
  }
}

const JiraFieldSelection& FixedSelection() {
  static const JiraFieldSelection selection = [] {
    auto doc = ParseJsonDocument(kCatalogue);
    Require(doc.has_value());
    auto catalogue = DecodeJiraFields(doc->Root());
    Require(catalogue.has_value());
    auto selected = SelectJiraFields(*catalogue, Names());
    Require(selected.has_value());
    return *selected;
  }();
  return selection;
}

bool AllDigits(std::string_view text) {
  for (char c : text) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  return true;
}

// Uses a decoded issue the way a sync does: its fields end up as JSON, its
// `updated` in the cursor and on the board.
void Touch(const Issue& issue) {
  Require(AllDigits(issue.id));
  if (!issue.decode_error.empty()) {
    // Undecodable: only what orders it, and only when it is usable.
    Require(issue.updated_ms >= 0 && issue.updated_ms <= kMaxIsoMs);
    Require(issue.fields.empty());
    return;
  }
  Require(!issue.id.empty() && !issue.key.empty());
  Require(issue.updated_ms >= 0 && issue.updated_ms <= kMaxIsoMs);
  Require(issue.created_ms >= 0 && issue.created_ms <= kMaxIsoMs);
  Require(FormatIsoUtc(issue.updated_ms).size() == 24);
  Require(!issue.resolved_ms || IsIsoWritable(*issue.resolved_ms));
  std::string out;
  for (const auto& [name, value] : issue.fields) {
    value.AppendJson(out);
    (void)value.ToText();
  }
  Require(IsValidUtf8(out));
}

void TouchPage(JsonView json, const JiraFieldSelection& selection) {
  auto page = DecodeJiraSearchPage(json, selection, kSite);
  if (!page) {
    return;
  }
  // A page that decodes is an object with an issues array, and every
  // element comes back.
  auto issues = json.Find("issues");
  Require(json.IsObject() && issues && issues->IsList());
  Require(page->issues.size() == issues->size());
  Require(page->last || !page->next_page_token.empty() || page->total.has_value());
  for (const Issue& issue : page->issues) {
    Touch(issue);
  }
}

}  // namespace
}  // namespace boardsync

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace boardsync;
  auto doc = ParseJsonDocument(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!doc) {
    return 0;
  }
  const JsonView json = doc->Root();
  TouchPage(json, FixedSelection());

  // The input as a field catalogue (only what is not a list is refused),
  // and a mapping's names resolved in it.
  auto catalogue = DecodeJiraFields(json);
  Require(catalogue.has_value() == json.IsList());
  if (catalogue) {
    for (const JiraField& field : *catalogue) {
      Require(!field.id.empty());
    }
    if (auto selection = SelectJiraFields(*catalogue, Names())) {
      Require(selection->request.size() == selection->fields.size());
      Require(selection->request.size() >= 3);
      (void)JiraFieldsParameter(*selection);
    }
  }

  // The seeds hold single issues and ADF documents too; decoding them
  // directly reaches the field decoders without a page around them.
  if (json.IsObject()) {
    if (auto issue = DecodeJiraIssue(json, FixedSelection(), kSite)) {
      Touch(*issue);
    } else {
      Touch(UndecodedJiraIssue(json, issue.error().message));
    }
    if (auto text = JiraAdfToText(json)) {
      Require(IsValidUtf8(*text));
    }
  }
  return 0;
}
