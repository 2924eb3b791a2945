#!/usr/bin/env python3
"""The plain client a team would write instead of boardsync, for bench/run.sh.

Python 3, requests and sqlite3, written the way a competent team writes it in
an afternoon: one keep-alive Session (which asks for gzip, as requests does),
YouTrack's $skip paging sorted by update time, the field mapping of
mappings/examples/youtrack.yaml spelled out field by field, and one SQLite
upsert per item, committed per page. Not tuned, and not made slow on purpose.

    peer_sync.py --base-url URL --token-file FILE --db FILE
                 [--projection TARGET] [--connection bench0] [--board bench]
                 [--page-size 100]

--projection takes an /api/issues target (as the sample tracker's
`last-target` control command prints it) and asks for the same fields= and
customFields= that boardsync asked for; without it, the projection below,
which is the one boardsync builds for this mapping.

Prints one line: issues pulled, skipped by the mapping, written, requests,
bytes received on the wire and decoded, seconds.
"""

import argparse
import json
import sqlite3
import sys
import time
import urllib.parse

import requests

DEFAULT_FIELDS = (
    "id,idReadable,created,updated,resolved,description,project(shortName,name),"
    "reporter(login,fullName,email),summary,tags(name),"
    "customFields($type,name,value($type,name,login,fullName,email,minutes,presentation,text),"
    "projectCustomField(field(fieldType(id))))")
DEFAULT_CUSTOM_FIELDS = [
    "Assignee", "Business value", "Customer", "Due Date", "Estimation", "Fix versions",
    "Fixed in build", "Priority", "Reviewers", "Spent time", "Started", "State", "Story points",
    "Subsystem", "Team", "Type",
]

HOURS_PER_DAY = 8
URGENCY = {"Show-stopper": 5, "Critical": 4, "Major": 3, "Normal": 2, "Minor": 1}
SKIP_STATES = {"Duplicate"}


# ---- YouTrack values ----

def iso_utc(ms):
    seconds, millis = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + ".%03dZ" % millis


def iso_date(ms):
    return time.strftime("%Y-%m-%d", time.gmtime(ms // 1000))


def user(u):
    if u is None:
        return None
    return {"login": u.get("login"),
            "name": u.get("fullName") or u.get("name") or u.get("login"),
            "email": u.get("email")}


def custom_value(field):
    """A custom field's value by its $type: names, users, minutes, dates."""
    kind = field.get("$type", "")
    value = field.get("value")
    if value is None:
        return [] if kind.startswith("Multi") else None
    if kind.startswith("Multi"):
        return [one_value(kind, v, field) for v in value]
    return one_value(kind, value, field)


def one_value(kind, value, field):
    if "UserIssueCustomField" in kind:
        return user(value)
    if kind == "PeriodIssueCustomField":
        return value.get("minutes")
    if kind == "DateIssueCustomField":
        return iso_date(value)
    if kind == "TextIssueCustomField":
        return value.get("text")
    if kind == "SimpleIssueCustomField":
        field_type = (((field.get("projectCustomField") or {}).get("field") or {})
                      .get("fieldType") or {}).get("id")
        if field_type == "date and time":
            return iso_utc(value)
        if field_type == "date":
            return iso_date(value)
        if field_type == "float":
            return float(value)
        return value
    if isinstance(value, dict):
        return value.get("name")
    return value


# ---- the mapping (mappings/examples/youtrack.yaml) ----

def name_of(v):
    """A user, project or list of them as plain text: their names."""
    if isinstance(v, list):
        return [name_of(x) for x in v]
    if isinstance(v, dict) and v.get("name") is not None:
        return v["name"]
    return v


def as_date(v):
    if v is None:
        return None
    if isinstance(v, (int, float)):
        return iso_date(int(v))
    return v[:10]


def as_number(v):
    if v is None or isinstance(v, (int, float)):
        return v
    return float(v) if "." in v else int(v)


def per(minutes, divisor):
    return None if minutes is None else minutes / divisor


def map_issue(issue, base_url):
    """Board fields for one issue, or None when the mapping skips it."""
    custom = {f["name"]: custom_value(f) for f in issue.get("customFields") or [] if "name" in f}
    if name_of(custom.get("State")) in SKIP_STATES:
        return None
    key = issue["idReadable"]
    summary = issue.get("summary")
    resolved = issue.get("resolved")
    assignee = custom.get("Assignee")
    reporter = user(issue.get("reporter"))
    project = issue.get("project") or {}
    priority = name_of(custom.get("Priority"))
    story_points = custom.get("Story points")
    return {
        "title": summary,
        "description": issue.get("description"),
        "headline": f"{key}: {summary if summary is not None else ''}",
        "key": key,
        "link": f"{base_url}/issue/{urllib.parse.quote(key, safe='')}",
        "project": project.get("shortName"),
        "type": name_of(custom.get("Type")),
        "labels": [t["name"] for t in issue.get("tags") or []],
        "subsystem": name_of(custom.get("Subsystem")),
        "customer": name_of(custom.get("Customer")),
        "state": name_of(custom.get("State")),
        "fix_versions": name_of(custom.get("Fix versions")),
        "fixed_in_build": name_of(custom.get("Fixed in build")),
        "created": iso_date(issue["created"]),
        "updated": iso_utc(issue["updated"]),
        "resolved": iso_utc(resolved) if resolved is not None else None,
        "started": custom.get("Started"),
        "due": as_date(custom.get("Due Date")),
        "assignee": name_of(assignee),
        "assignee_login": assignee.get("login") if assignee else None,
        "reviewers": name_of(custom.get("Reviewers")),
        "reporter": name_of(reporter),
        "team": name_of(custom.get("Team")),
        "urgency": URGENCY.get(priority, 2),
        "story_points": story_points if story_points is not None else 0,
        "business_value": as_number(custom.get("Business value")),
        "effort_days": per(custom.get("Estimation"), 60 * HOURS_PER_DAY),
        "spent_hours": per(custom.get("Spent time"), 60),
    }


# ---- the sync ----

SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
  item_key TEXT NOT NULL,
  board TEXT NOT NULL,
  fields TEXT NOT NULL,
  source_updated_at TEXT NOT NULL,
  PRIMARY KEY (board, item_key)
)"""
UPSERT = """
INSERT INTO items (item_key, board, fields, source_updated_at) VALUES (?, ?, ?, ?)
ON CONFLICT (board, item_key) DO UPDATE SET
  fields = excluded.fields, source_updated_at = excluded.source_updated_at"""


def projection_from(target):
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(target).query, keep_blank_values=True)
    fields = query.get("fields", [DEFAULT_FIELDS])[0]
    return fields, query.get("customFields", [])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--token-file", required=True)
    parser.add_argument("--db", required=True, help="SQLite file, created when missing")
    parser.add_argument("--projection", help="an /api/issues target to take fields= from")
    parser.add_argument("--connection", default="bench0", help="item keys are CONNECTION:id")
    parser.add_argument("--board", default="bench")
    parser.add_argument("--page-size", type=int, default=100)
    args = parser.parse_args()

    base_url = args.base_url.rstrip("/")
    with open(args.token_file, encoding="utf-8") as f:
        token = f.read().strip()
    if args.projection:
        fields, custom_fields = projection_from(args.projection)
    else:
        fields, custom_fields = DEFAULT_FIELDS, DEFAULT_CUSTOM_FIELDS

    db = sqlite3.connect(args.db)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(SCHEMA)

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    session.headers["Accept"] = "application/json"

    start = time.monotonic()
    pulled = skipped = written = requests_made = wire = decoded = 0
    skip = 0
    while True:
        response = session.get(f"{base_url}/api/issues", timeout=60, params={
            "query": "sort by: updated asc",
            "fields": fields,
            "customFields": custom_fields,
            "$top": args.page_size,
            "$skip": skip,
        })
        requests_made += 1
        response.raise_for_status()
        decoded += len(response.content)
        # urllib3 counts what it read off the socket, before gzip is undone.
        wire += response.raw.tell() or int(response.headers.get("Content-Length", 0))
        page = response.json()
        rows = []
        for issue in page:
            fields_out = map_issue(issue, base_url)
            if fields_out is None:
                skipped += 1
                continue
            rows.append((f"{args.connection}:{issue['id']}", args.board,
                         json.dumps(fields_out, ensure_ascii=False, sort_keys=True,
                                    separators=(",", ":")),
                         iso_utc(issue["updated"])))
        with db:  # one transaction per page
            db.executemany(UPSERT, rows)
        pulled += len(page)
        written += len(rows)
        if len(page) < args.page_size:
            break
        skip += len(page)
    db.close()

    print(f"peer_sync: pulled {pulled}, skipped {skipped}, written {written}, "
          f"requests {requests_made}, wire bytes {wire}, decoded bytes {decoded}, "
          f"{time.monotonic() - start:.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
