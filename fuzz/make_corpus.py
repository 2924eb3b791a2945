#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/ from the repo's real examples
and the hand-written seeds of fuzz/seeds/, and the inputs of fixed findings
under fuzz/regressions/.

Run from anywhere after the examples change: python3 fuzz/make_corpus.py
The output is committed; scripts/fuzz.sh only reads it (and never writes
into it: what a run finds goes to build-fuzz/corpus/).
"""
import json
import pathlib
import shutil

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "fuzz" / "corpus"


def compact(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def write(target, name, text):
    path = OUT / target / name
    path.write_text(text, encoding="utf-8")


def slim_custom_field(cf):
    """A custom field with only what the decoder reads: $type, name, value,
    and the field type id that tells SimpleIssueCustomField kinds apart."""
    out = {"$type": cf["$type"], "name": cf["name"], "value": cf.get("value")}
    field_type = (((cf.get("projectCustomField") or {}).get("field") or {}).get("fieldType") or {})
    if cf["$type"] == "SimpleIssueCustomField" and "id" in field_type:
        out["projectCustomField"] = {"field": {"fieldType": {"id": field_type["id"]}}}

    def slim_value(v):
        if isinstance(v, dict):
            keep = ("$type", "name", "login", "fullName", "email", "minutes", "presentation", "text")
            return {k: v[k] for k in keep if k in v}
        if isinstance(v, list):
            return [slim_value(e) for e in v]
        return v

    out["value"] = slim_value(out["value"])
    return out


def youtrack():
    issues = json.loads((ROOT / "tests/data/youtrack/sample_issues.json").read_text(encoding="utf-8"))
    by_key = {i["idReadable"]: i for i in issues}
    # Pages as the server sends them: a few whole issues, and a slim page of all.
    for key in ("RAP-1", "SRV-2", "DOC-4"):
        write("youtrack_decode", f"page-{key}.json", compact([by_key[key]]))
    slim = []
    for issue in issues:
        s = {k: v for k, v in issue.items() if k not in ("customFields", "updater")}
        s["customFields"] = [slim_custom_field(cf) for cf in issue.get("customFields", [])]
        slim.append(s)
    write("youtrack_decode", "page-all-slim.json", compact(slim))
    for s in slim[:3] + slim[-1:]:
        write("youtrack_decode", f"issue-{s['idReadable']}-slim.json", compact(s))
    # One custom field of every $type (and every field type of the simple one).
    seen = set()
    for issue in issues:
        for cf in issue.get("customFields", []):
            slimmed = slim_custom_field(cf)
            kind = slimmed["$type"]
            ftype = (((slimmed.get("projectCustomField") or {}).get("field") or {}).get("fieldType") or {}).get("id", "")
            empty = slimmed["value"] in (None, [])
            label = (kind + ("-" + ftype if ftype else "") + ("-empty" if empty else "")).replace(" ", "_")
            if label in seen:
                continue
            seen.add(label)
            write("youtrack_decode", f"field-{label}.json", compact(slimmed))
    # /users/me answers, as the sample tracker and the tests have them.
    me = {
        "me-ok": {"$type": "Me", "id": "1-0", "login": "sync.bot", "fullName": "Boardsync Bot",
                  "guest": False, "banned": False},
        "me-guest": {"$type": "Me", "id": "1-0", "login": "guest", "guest": True},
        "me-banned": {"login": "x", "guest": False, "banned": True},
        "me-no-guest-flag": {"login": "x"},
        "me-tz-presentation": {"login": "x", "guest": False,
                               "profiles": {"general": {"timezone": {"id": "Europe/Berlin",
                                                                     "presentation": "GMT+01:00 Europe/Berlin"}}}},
        "me-tz-posix": {"login": "x", "guest": False,
                        "profiles": {"general": {"timezone": {"id": "Etc/GMT+10"}}}},
        "me-tz-offset": {"login": "x", "guest": False,
                         "profiles": {"general": {"timezone": {"id": "X", "offset": 19800000}}}},
    }
    for name, value in me.items():
        write("youtrack_decode", name + ".json", compact(value))
    # Edge cases: empty and wrong shapes, number limits, escapes, depth.
    edges = {
        "edge-empty-page": "[]",
        "edge-null": "null",
        "edge-object": "{}",
        "edge-minimal-issue": compact([{"id": "2-1", "idReadable": "X-1", "created": 0, "updated": 1}]),
        "edge-float-times": '[{"id":"2-1","idReadable":"X-1","created":1.5e12,"updated":-0.0,"resolved":null}]',
        "edge-int64-limits": '[{"id":"2-1","idReadable":"X-1","created":-9223372036854775808,'
                             '"updated":9223372036854775807,"resolved":18446744073709551615}]',
        "edge-escapes": '[{"id":"2-1","idReadable":"X-\\u0000\\ud83d\\ude00","created":0,"updated":0,'
                        '"summary":"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9"}]',
        "edge-deep": "[" * 70 + "]" * 70,
        "edge-unknown-field": compact({"$type": "FutureIssueCustomField", "name": "N",
                                       "value": [{"presentation": "p"}, {"x": 1}, "s"]}),
    }
    for name, text in edges.items():
        write("youtrack_decode", name + ".json", text)


def mapping():
    shutil.copy(ROOT / "mappings/examples/youtrack.yaml", OUT / "mapping" / "examples-youtrack.yaml")
    seeds = {
        # The crash-safety test's two mappings (tests/slow/kill_test.cc).
        "kill-plain": "fields:\n  title: summary\n  state: State\n  updated: $updated\n",
        "kill-headline": 'fields:\n  title: summary\n  headline: { template: "{$key}: {summary}" }\n'
                         "  state: State\n  updated: $updated\n",
        # Every rule kind (tests/mappings/parse_test.cc).
        "every-rule": "hours_per_day: 6\nfields:\n  title: summary\n  link: $url\n"
                      "  assignee: Assignee.login\n  effort: { from: Estimation, as: hours }\n"
                      "  urgency:\n    from: Priority\n    map: { Critical: 4, Minor: 1 }\n    default: 2\n"
                      '  headline: { template: "{$key}: {summary}" }\nskip:\n'
                      "  State: [Duplicate, \"Won't fix\"]\n",
        "conversions": "fields:\n  a: { from: Estimation, as: minutes }\n  b: { from: Spent time, as: days }\n"
                       "  c: { from: Notes, as: number }\n  d: { from: Reviewers, as: string }\n"
                       "  e: { from: Started, as: date }\n  f: { from: $resolved, as: date }\n"
                       "  g: { from: $id }\n  h: { from: Reviewers.login }\n",
        "template-braces": 'fields:\n  t: { template: "{{literal}} {$created} {Assignee.name} {missing}" }\n',
        "anchors": "fields:\n  a: &x { from: summary, default: none }\n  b: *x\n",
        "flow": "{fields: {a: summary, b: [1, 2]}, skip: {tags: regression}}",
        "errors": "hours_per_day: 30\nextra: 1\nfields:\n  a: { from: x, template: \"{y}\" }\n"
                  "  b: { as: weeks }\n  a: summary\nskip: [1]\n",
        "empty": "",
        "not-a-map": "- a\n- b\n",
    }
    for name, text in seeds.items():
        write("mapping", name + ".yaml", text)


def config():
    shutil.copy(ROOT / "deploy/boardsync.yaml", OUT / "config" / "deploy-boardsync.yaml")
    seeds = {
        # The README's minimal config.
        "readme-minimal": "connections:\n  - name: acme-yt\n    type: youtrack\n"
                          "    base_url: https://acme.youtrack.cloud\n"
                          "    token_file: /etc/boardsync/acme-yt.token    # chmod 600\n"
                          '    query: "project: RAP #Unresolved"\n    mapping: mappings/youtrack.yaml\n'
                          "    board: roadmap\n",
        "http-board": "state_dir: state\nmetrics_listen: 127.0.0.1:9464\nboard:\n  type: http\n"
                      "  url: https://board.example.com\n  token_env: BOARD_TOKEN\n  batch_size: 200\n"
                      "connections:\n  - name: a\n    type: youtrack\n    base_url: https://a.youtrack.cloud\n"
                      "    token_env: A_TOKEN\n    mapping: m.yaml\n    interval: 30s\n    full_resync: 12h\n"
                      "    page_size: 50\n    timeout: 10s\n    ca_file: ca.pem\n"
                      "  - name: b_2\n    type: youtrack\n    base_url: https://b.youtrack.cloud\n"
                      "    token_credential: b.token\n    mapping: ../m.yaml\n",
        # Every kind of mistake at once (tests/daemon/config_test.cc).
        "errors": "state_dir: s\ncolour: blue\nconnections:\n  - name: Bad Name\n    type: jira2\n"
                  "    base_url: https://a.youtrack.cloud\n    token_file: t\n    token_env: T\n"
                  "    mapping: m.yaml\n    interval: soon\n    page_size: lots\n    extra: 1\n"
                  "  - name: ok\n    type: youtrack\n    base_url: https://b.youtrack.cloud\n    mapping: m.yaml\n",
        "duplicates": "connections:\n  - name: a\n    type: youtrack\n    token_env: T\n"
                      "  - name: a\n    type: youtrack\n    base_url: https://b.youtrack.cloud\n"
                      "    token_env: T\n    mapping: m.yaml\n",
        "board-unknown-type": "board: { type: kanban }\nconnections: []\n",
        "empty": "",
        "scalar": "connections",
    }
    for name, text in seeds.items():
        write("config", name + ".yaml", text)


def regressions():
    """Inputs that crashed a target once; scripts/fuzz.sh replays each. Kept
    apart from the seeds because the long ones would slow fuzzing down."""
    out = ROOT / "fuzz" / "regressions"
    shutil.rmtree(out, ignore_errors=True)
    found = {
        # cpprest threw std::range_error out of ParseJson (connectors/http/json.cc).
        "youtrack_decode/lone-high-surrogate.json": '["\\ud83d\\u1844"]',
        # Signed overflow in ToCivil (core/time.cc).
        "youtrack_decode/created-int64-min.json":
            '[{"id":"2-1","idReadable":"X-1","created":-9223372036854775808,"updated":0}]',
        # std::regex stack overflow in DecodeUtcOffset (connectors/youtrack/decode.cc).
        "youtrack_decode/timezone-long-presentation.json":
            compact({"login": "x", "guest": False,
                     "profiles": {"general": {"timezone": {"presentation": "UTC" + " " * 40000}}}}),
        # std::regex stack overflow on the connection name (daemon/config.cc).
        "config/connection-name-long.yaml": "connections:\n  - name: " + "a" * 40000 + "\n",
        # double -> int64 overflow in ParseDuration (core/time.cc).
        "config/timeout-huge.yaml": "connections:\n  - name: a\n    timeout: 166666666666666666666660s\n",
        "config/interval-nan.yaml": "connections:\n  - name: a\n    interval: nan\n    timeout: inf\n",
    }
    for name, text in found.items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def hand_written():
    """Seeds written by hand (bombs, hostile pages) live in fuzz/seeds/ and are
    copied in, so that writing the corpus again keeps them."""
    for path in sorted((ROOT / "fuzz" / "seeds").glob("*/*")):
        shutil.copy(path, OUT / path.parent.name / path.name)


def main():
    for target in ("youtrack_decode", "jira_decode", "github_decode", "gitlab_decode", "mapping",
                   "config"):
        shutil.rmtree(OUT / target, ignore_errors=True)
        (OUT / target).mkdir(parents=True)
    youtrack()
    mapping()
    config()
    hand_written()
    regressions()


if __name__ == "__main__":
    main()
