// GitLab issue lists in the shapes REST v4 answers, for the decoder's tests
// and the example mapping's (tests/daemon/gitlab_example_test.cc). Written
// from the documented examples of gitlabhq/gitlabhq doc/api/issues.md ("List
// project issues", "Single project issue", "Move an issue"): a paid-tier
// issue with every kind of member, a closed free-tier one (no weight member,
// as GitLab's free tier sends), and an issue moved to another project; then
// a hostile page with one fault per issue.
#pragma once

#include <string_view>

namespace boardsync {

inline constexpr std::string_view kGitLabWebRoot = "https://gitlab.example.com";

inline constexpr std::string_view kGitLabProjectList = R"json([
  {
    "id": 76,
    "iid": 6,
    "project_id": 1,
    "title": "Consequatur vero maxime deserunt laboriosam est voluptas dolorem.",
    "description": "Ratione dolores corrupti mollitia soluta quia.\n\n- [x] first\n- [ ] second",
    "state": "opened",
    "created_at": "2016-01-04T15:31:51.081Z",
    "updated_at": "2016-01-04T15:31:51.081Z",
    "closed_at": null,
    "closed_by": null,
    "labels": ["priority::high", "bug"],
    "milestone": {
      "id": 17, "iid": 2, "project_id": 1, "title": "v4.0",
      "description": "Fuga ratione qui quis quo ut.", "state": "active",
      "created_at": "2016-01-04T15:31:39.696Z", "updated_at": "2016-01-04T15:31:39.696Z",
      "due_date": null, "start_date": null, "expired": false,
      "web_url": "https://gitlab.example.com/my-group/my-project/-/milestones/2"
    },
    "assignees": [
      {"id": 1, "username": "root", "name": "Administrator", "state": "active", "locked": false,
       "avatar_url": null, "web_url": "https://gitlab.example.com/root"},
      {"id": 31, "username": "alice", "name": "Alice Example", "state": "active",
       "public_email": "alice@example.com", "avatar_url": null,
       "web_url": "https://gitlab.example.com/alice"}
    ],
    "assignee": {"id": 1, "username": "root", "name": "Administrator", "state": "active",
                 "locked": false, "avatar_url": null, "web_url": "https://gitlab.example.com/root"},
    "author": {"id": 18, "username": "eileen.lowe", "name": "Alexandra Bashirian",
               "state": "active", "public_email": "", "avatar_url": null,
               "web_url": "https://gitlab.example.com/eileen.lowe"},
    "type": "ISSUE",
    "user_notes_count": 1,
    "merge_requests_count": 0,
    "upvotes": 4,
    "downvotes": 0,
    "due_date": "2016-07-22",
    "confidential": false,
    "discussion_locked": false,
    "issue_type": "issue",
    "web_url": "https://gitlab.example.com/my-group/my-project/-/issues/6",
    "time_stats": {
      "time_estimate": 12600,
      "total_time_spent": 90,
      "human_time_estimate": "3h 30m",
      "human_total_time_spent": "1m 30s"
    },
    "task_completion_status": {"count": 2, "completed_count": 1},
    "has_tasks": true,
    "task_status": "1 of 2 checklist items completed",
    "_links": {
      "self": "https://gitlab.example.com/api/v4/projects/1/issues/6",
      "notes": "https://gitlab.example.com/api/v4/projects/1/issues/6/notes",
      "award_emoji": "https://gitlab.example.com/api/v4/projects/1/issues/6/award_emoji",
      "project": "https://gitlab.example.com/api/v4/projects/1",
      "closed_as_duplicate_of": null
    },
    "references": {"short": "#6", "relative": "#6", "full": "my-group/my-project#6"},
    "severity": "UNKNOWN",
    "moved_to_id": null,
    "service_desk_reply_to": null,
    "imported": false,
    "imported_from": "none",
    "weight": 3,
    "epic_iid": 5,
    "epic": {"id": 42, "iid": 5, "title": "My epic epic", "url": "/groups/my-group/-/epics/5",
             "group_id": 8},
    "iteration": null,
    "health_status": "on_track"
  },
  {
    "id": 84,
    "iid": 14,
    "project_id": 1,
    "title": "Closed on the free tier",
    "description": null,
    "state": "closed",
    "created_at": "2023-11-02T08:00:00.500Z",
    "updated_at": "2024-02-29T23:59:59.999Z",
    "closed_at": "2024-02-29T23:59:59.999Z",
    "closed_by": {"id": 24, "username": "sync.bot", "name": "Sync Bot", "state": "active",
                  "email": "sync.bot@example.com", "public_email": "",
                  "avatar_url": null, "web_url": "https://gitlab.example.com/sync.bot"},
    "labels": [],
    "milestone": null,
    "assignees": [],
    "assignee": null,
    "author": {"id": 33, "username": "zoe", "name": "Zoë Ångström", "state": "active",
               "avatar_url": null, "web_url": "https://gitlab.example.com/zoe"},
    "type": "ISSUE",
    "user_notes_count": 0,
    "merge_requests_count": 0,
    "upvotes": 0,
    "downvotes": 0,
    "due_date": null,
    "confidential": true,
    "discussion_locked": null,
    "issue_type": "issue",
    "web_url": "https://gitlab.example.com/my-group/my-project/-/issues/14",
    "time_stats": {"time_estimate": 0, "total_time_spent": 0, "human_time_estimate": null,
                   "human_total_time_spent": null},
    "task_completion_status": {"count": 0, "completed_count": 0},
    "references": {"short": "#14", "relative": "#14", "full": "my-group/my-project#14"},
    "severity": "UNKNOWN",
    "moved_to_id": null
  },
  {
    "id": 92,
    "iid": 7,
    "project_id": 1,
    "title": "Moved to the platform project",
    "description": "",
    "state": "closed",
    "created_at": "2024-05-01T10:00:00.000Z",
    "updated_at": "2024-05-02T09:30:00.250Z",
    "closed_at": "2024-05-02T09:30:00.250Z",
    "closed_by": {"id": 31, "username": "alice", "name": "Alice Example", "state": "active",
                  "public_email": "alice@example.com"},
    "labels": ["priority::low"],
    "milestone": null,
    "assignees": [{"id": 32, "username": "bob", "name": "", "state": "active"}],
    "assignee": {"id": 32, "username": "bob", "name": "", "state": "active"},
    "author": {"id": 31, "username": "alice", "name": "Alice Example", "state": "active"},
    "type": "ISSUE",
    "due_date": null,
    "confidential": false,
    "issue_type": "issue",
    "web_url": "https://gitlab.example.com/my-group/my-project/-/issues/7",
    "time_stats": {"time_estimate": 5430, "total_time_spent": 0, "human_time_estimate": "1h 30m 30s",
                   "human_total_time_spent": null},
    "references": {"short": "#7", "relative": "#7", "full": "my-group/my-project#7"},
    "moved_to_id": 93,
    "weight": null
  }
])json";

// One fault per issue, each named in a comment of the test; the last issue
// is sound and must decode.
inline constexpr std::string_view kGitLabHostileList = R"json([
  {"iid": 1, "references": {"full": "g/p#1"}, "updated_at": "2024-05-01T10:00:00.000Z"},
  {"id": "77", "iid": 2, "references": {"full": "g/p#2"}, "updated_at": "2024-05-01T10:00:00.000Z"},
  {"id": 103, "iid": 3, "references": {"full": "g/p#3"}},
  {"id": 104, "iid": 4, "references": {"full": "g/p#4"}, "updated_at": "2024-05-01T10:00:00"},
  {"id": 105, "iid": 5, "references": {"full": "g/p#5"}, "updated_at": "1969-12-31T23:59:59.000Z"},
  {"id": 106, "iid": 6, "references": {"full": "g/p#6"}, "updated_at": "2024-05-01T10:00:00.000Z",
   "created_at": "yesterday"},
  {"id": 107, "iid": 7, "references": {"full": "g/p#7"}, "updated_at": "2024-05-01T10:00:00.000Z",
   "closed_at": 1714557600},
  {"id": 108, "iid": 8, "references": {"full": "g/p#8"}, "updated_at": "2024-05-01T10:00:00.000Z",
   "web_url": "javascript:alert(1)"},
  {"id": 109, "iid": 9, "references": {"full": "g/p#9"}, "updated_at": "2024-05-01T10:00:00.000Z",
   "labels": "bug"},
  {"id": 110, "iid": 10, "references": {"full": "g/p#10"}, "updated_at": "2024-05-01T10:00:00.000Z",
   "labels": ["bug", 42]},
  {"id": 111, "iid": 11, "references": {"full": "g/p#11"}, "updated_at": "2024-05-01T10:00:00.000Z",
   "assignees": ["root"]},
  {"id": 112, "iid": 12, "references": {"full": "g/p#12"}, "updated_at": "2024-05-01T10:00:00.000Z",
   "author": {"id": 5, "name": "No Username"}},
  {"id": 113, "iid": 13, "references": {"full": "g/p#13"}, "updated_at": "2024-05-01T10:00:00.000Z",
   "milestone": {"id": 17}},
  {"id": 114, "iid": 14, "references": {"full": "g/p#14"}, "updated_at": "2024-05-01T10:00:00.000Z",
   "time_stats": {"time_estimate": "3h"}},
  {"id": 115, "iid": 15, "references": {"full": "g/p#15"}, "updated_at": "2024-05-01T10:00:00.000Z",
   "weight": "heavy"},
  {"id": 116, "iid": 16, "references": {"full": "g/p#16"}, "updated_at": "2024-05-01T10:00:00.000Z",
   "due_date": "22/07/2016"},
  "not an issue",
  {"id": 118, "updated_at": "2024-05-01T10:00:00.000Z"},
  {"id": 119, "iid": 19, "references": {"full": "g/p#19"}, "updated_at": "2024-05-01T10:00:00.000Z",
   "title": "Sound", "labels": null, "assignees": null, "weight": 2.5}
])json";

}  // namespace boardsync
