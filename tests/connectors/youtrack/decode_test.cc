// Custom field and issue bodies below are YouTrack's own shapes, as recorded
// from live instances (see shared/reference/youtrack-api.md §3), with personal
// data replaced by samples.
#include "connectors/youtrack/decode.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "connectors/http/json.h"

namespace boardsync {
namespace {

const YouTrackBaseUrl kBase{"https://acme.youtrack.cloud", "https://acme.youtrack.cloud/api"};

Value Json(std::string_view text) {
  auto json = ParseJson(text);
  EXPECT_TRUE(json.has_value()) << (json ? "" : json.error().message) << "\n" << text;
  return json ? *json : Value();
}

Result<Value> Field(std::string_view custom_field_json) {
  return DecodeCustomFieldValue(Json(custom_field_json), "RAP-42");
}

Value FieldOk(std::string_view custom_field_json) {
  auto v = Field(custom_field_json);
  EXPECT_TRUE(v.has_value()) << (v ? "" : v.error().message);
  return v ? *v : Value("<decode failed>");
}

void ExpectBad(std::string_view custom_field_json, std::string_view field_name) {
  auto v = Field(custom_field_json);
  ASSERT_FALSE(v.has_value()) << "decoded to " << v->ToJson();
  EXPECT_EQ(v.error().code, ErrorCode::kBadResponse);
  EXPECT_NE(v.error().message.find("RAP-42"), std::string::npos) << v.error().message;
  EXPECT_NE(v.error().message.find(field_name), std::string::npos) << v.error().message;
}

// --- custom fields, one per $type -------------------------------------------

TEST(DecodeCustomField, SingleEnum) {
  EXPECT_EQ(
      FieldOk(
          R"({"projectCustomField":{"field":{"fieldType":{"valueType":"enum","id":"enum[1]","$type":"FieldType"},"id":"106-22","$type":"CustomField"},"id":"130-45","$type":"EnumProjectCustomField"},"value":{"localizedName":null,"color":{"foreground":"#888","background":"#e6e6e6","id":"16","$type":"FieldStyle"},"description":null,"ordinal":0,"archived":false,"hasRunningJob":false,"name":"Ready to pull","id":"109-19","$type":"EnumBundleElement"},"name":"Custom Enum Field Single","id":"130-45","$type":"SingleEnumIssueCustomField"})"),
      Value("Ready to pull"));
}

TEST(DecodeCustomField, MultiEnum) {
  EXPECT_EQ(
      FieldOk(
          R"({"projectCustomField":{"field":{"fieldType":{"valueType":"enum","id":"enum[*]","$type":"FieldType"},"id":"106-23","$type":"CustomField"},"id":"130-46","$type":"EnumProjectCustomField"},"value":[{"localizedName":null,"color":{"foreground":"#444","background":"#ffc8ea","id":"19","$type":"FieldStyle"},"description":null,"ordinal":1,"archived":false,"hasRunningJob":false,"name":"Blocked","id":"109-21","$type":"EnumBundleElement"},{"localizedName":null,"color":{"foreground":"#444","background":"#fff","id":"0","$type":"FieldStyle"},"description":null,"ordinal":2,"archived":false,"hasRunningJob":false,"name":"Needs review","id":"109-22","$type":"EnumBundleElement"}],"name":"Custom Enum Field Multi","id":"130-46","$type":"MultiEnumIssueCustomField"})"),
      Value(Value::List{"Blocked", "Needs review"}));
}

TEST(DecodeCustomField, MultiWithEmptyArrayIsAnEmptyList) {
  EXPECT_EQ(
      FieldOk(
          R"({"projectCustomField":{"field":{"fieldType":{"valueType":"enum","id":"enum[*]","$type":"FieldType"},"id":"106-23","$type":"CustomField"},"id":"130-46","$type":"EnumProjectCustomField"},"value":[],"name":"Custom Enum Field Multi","id":"130-46","$type":"MultiEnumIssueCustomField"})"),
      Value(Value::List{}));
  EXPECT_EQ(
      FieldOk(
          R"({"value":[],"name":"Reviewers","id":"131-8","$type":"MultiUserIssueCustomField"})"),
      Value(Value::List{}));
}

TEST(DecodeCustomField, NullValuesAreNullOrAnEmptyListForMultiValueFields) {
  // UmsrAkne/YouBoard's recorded shapes: empty fields carry "value": null.
  EXPECT_EQ(
      FieldOk(R"({"value": null, "name": "Assignee", "$type": "SingleUserIssueCustomField"})"),
      Value());
  EXPECT_EQ(
      FieldOk(
          R"({"value": null, "name": "Custom Enum Field Multi", "$type": "MultiEnumIssueCustomField"})"),
      Value(Value::List{}));
  EXPECT_EQ(FieldOk(R"({"value": null, "name": "Due Date", "$type": "DateIssueCustomField"})"),
            Value());
  EXPECT_EQ(FieldOk(R"({"value": null, "name": "Score", "$type": "SimpleIssueCustomField"})"),
            Value());
  EXPECT_EQ(FieldOk(R"({"name": "Score", "$type": "SimpleIssueCustomField"})"), Value());
}

TEST(DecodeCustomField, State) {
  EXPECT_EQ(
      FieldOk(
          R"({"projectCustomField":{"field":{"fieldType":{"valueType":"state","id":"state[1]","$type":"FieldType"},"id":"106-2","$type":"CustomField"},"id":"130-38","$type":"StateProjectCustomField"},"value":{"isResolved":false,"localizedName":null,"color":{"foreground":"#444","background":"#fff","id":"0","$type":"FieldStyle"},"description":null,"ordinal":1,"archived":false,"hasRunningJob":false,"name":"Open","id":"111-1","$type":"StateBundleElement"},"name":"State","id":"130-38","$type":"StateIssueCustomField"})"),
      Value("Open"));
}

TEST(DecodeCustomField, StateMachineWithStateBundleElement) {
  EXPECT_EQ(
      FieldOk(
          R"({"name":"State","id":"84-950","$type":"StateMachineIssueCustomField","value":{"name":"In Progress","id":"59-1190","$type":"StateBundleElement"},"possibleEvents":[{"presentation":"Waiting to code review","id":"to review","$type":"Event"},{"presentation":"Done","id":"done","$type":"Event"}]})"),
      Value("In Progress"));
}

TEST(DecodeCustomField, StateMachineWithEnumBundleElement) {
  EXPECT_EQ(
      FieldOk(
          R"({"name":"Android CR","id":"84-965","$type":"StateMachineIssueCustomField","value":{"name":"Waiting","$type":"EnumBundleElement"},"possibleEvents":[{"presentation":"Passed","id":"cr ok","$type":"Event"}]})"),
      Value("Waiting"));
}

TEST(DecodeCustomField, SingleUser) {
  EXPECT_EQ(
      FieldOk(
          R"({"value":{"fullName":"Sample User","login":"sample.user","avatarUrl":"/hub/api/rest/avatar/87146e6b-66fa-4876-8870-3c3d5eb34e20?s=48","ringId":"87146e6b-66fa-4876-8870-3c3d5eb34e20","email":"sample.user@example.com","name":"Sample User","id":"1-1","$type":"User"},"projectCustomField":{"field":{"fieldType":{"valueType":"user","id":"user[1]","$type":"FieldType"},"id":"106-28","$type":"CustomField"},"id":"131-7","$type":"UserProjectCustomField"},"name":"Custom User Field Single","id":"131-7","$type":"SingleUserIssueCustomField"})"),
      Value(Value::Object{{"login", "sample.user"},
                          {"name", "Sample User"},
                          {"email", "sample.user@example.com"}}));
}

TEST(DecodeCustomField, SingleUserWithOnlyANameFallsBack) {
  // Bridge-Commander's recorded SingleUser value carries only name and $type.
  EXPECT_EQ(
      FieldOk(
          R"({"name":"Assignee","id":"84-951","$type":"SingleUserIssueCustomField","value":{"name":"Sample User","$type":"User"}})"),
      Value(Value::Object{{"login", nullptr}, {"name", "Sample User"}, {"email", nullptr}}));
}

TEST(DecodeCustomField, MultiUserWithNullEmailAndNameFallbacks) {
  EXPECT_EQ(
      FieldOk(
          R"({"value":[{"fullName":"guest","login":"guest","avatarUrl":"/hub/api/rest/avatar/8717065a-9f90-4089-9dbb-1fcf6d4719c0?s=48","ringId":"8717065a-9f90-4089-9dbb-1fcf6d4719c0","email":null,"name":"guest","id":"1-0","$type":"User"},{"fullName":"Sample User","login":"sample.user","avatarUrl":"/hub/api/rest/avatar/87146e6b-66fa-4876-8870-3c3d5eb34e20?s=48","ringId":"87146e6b-66fa-4876-8870-3c3d5eb34e20","email":"sample.user@example.com","name":"Sample User","id":"1-1","$type":"User"},{"fullName":"","login":"other.user","email":"other.user@example.com","id":"1-2","$type":"User"}],"projectCustomField":{"field":{"fieldType":{"valueType":"user","id":"user[*]","$type":"FieldType"},"id":"106-29","$type":"CustomField"},"id":"131-8","$type":"UserProjectCustomField"},"name":"Custom User Field Multi","id":"131-8","$type":"MultiUserIssueCustomField"})"),
      Value(Value::List{Value::Object{{"login", "guest"}, {"name", "guest"}, {"email", nullptr}},
                        Value::Object{{"login", "sample.user"},
                                      {"name", "Sample User"},
                                      {"email", "sample.user@example.com"}},
                        Value::Object{{"login", "other.user"},
                                      {"name", "other.user"},
                                      {"email", "other.user@example.com"}}}));
}

TEST(DecodeCustomField, SingleGroup) {
  EXPECT_EQ(
      FieldOk(
          R"({"value":{"usersCount":3,"ringId":"29eae037-9bd6-4d09-853c-a2f96cd66127","icon":null,"name":"All Users","id":"3-0","$type":"UserGroup"},"projectCustomField":{"field":{"fieldType":{"valueType":"group","id":"group[1]","$type":"FieldType"},"id":"106-24","$type":"CustomField"},"id":"179-0","$type":"GroupProjectCustomField"},"name":"Custom group field single","id":"179-0","$type":"SingleGroupIssueCustomField"})"),
      Value("All Users"));
}

TEST(DecodeCustomField, MultiGroup) {
  EXPECT_EQ(
      FieldOk(
          R"({"value":[{"usersCount":3,"ringId":"29eae037-9bd6-4d09-853c-a2f96cd66127","icon":null,"name":"All Users","id":"3-0","$type":"UserGroup"},{"usersCount":2,"ringId":"ce724032-0fae-4163-b232-994ab2f93e52","icon":null,"name":"Registered Users","id":"3-1","$type":"UserGroup"}],"projectCustomField":{"id":"179-1","$type":"GroupProjectCustomField"},"name":"Custom group field multi","id":"179-1","$type":"MultiGroupIssueCustomField"})"),
      Value(Value::List{"All Users", "Registered Users"}));
}

TEST(DecodeCustomField, Period) {
  EXPECT_EQ(
      FieldOk(
          R"({"value":{"minutes":510,"presentation":"1d 30m","id":"P1DT30M","$type":"PeriodValue"},"projectCustomField":{"field":{"fieldType":{"valueType":"period","id":"period","$type":"FieldType"},"id":"106-37","$type":"CustomField"},"id":"137-3","$type":"PeriodProjectCustomField"},"name":"Custom Period Field","id":"137-3","$type":"PeriodIssueCustomField"})"),
      Value(510));
}

TEST(DecodeCustomField, Date) {
  // Date fields hold 12:00 UTC of the chosen day.
  EXPECT_EQ(
      FieldOk(
          R"({"value":1676376000000,"projectCustomField":{"field":{"fieldType":{"valueType":"date","id":"date","$type":"FieldType"},"id":"106-32","$type":"CustomField"},"id":"170-3","$type":"SimpleProjectCustomField"},"name":"Custom Date Field","id":"170-3","$type":"DateIssueCustomField"})"),
      Value("2023-02-14"));
}

TEST(DecodeCustomField, SingleVersion) {
  EXPECT_EQ(
      FieldOk(
          R"({"projectCustomField":{"field":{"fieldType":{"valueType":"version","id":"version[1]","$type":"FieldType"},"id":"106-30","$type":"CustomField"},"id":"130-49","$type":"VersionProjectCustomField"},"value":{"releaseDate":1677672000000,"released":true,"color":{"foreground":"#444","background":"#fff","id":"0","$type":"FieldStyle"},"description":null,"ordinal":3,"archived":false,"hasRunningJob":false,"name":"2.0.0","id":"177-28","$type":"VersionBundleElement"},"name":"Custom Version Field Single","id":"130-49","$type":"SingleVersionIssueCustomField"})"),
      Value("2.0.0"));
}

TEST(DecodeCustomField, MultiVersion) {
  EXPECT_EQ(
      FieldOk(
          R"({"projectCustomField":{"field":{"fieldType":{"valueType":"version","id":"version[*]","$type":"FieldType"},"id":"106-31","$type":"CustomField"},"id":"130-50","$type":"VersionProjectCustomField"},"value":[{"releaseDate":null,"released":false,"color":{"foreground":"#444","background":"#fff","id":"0","$type":"FieldStyle"},"description":null,"ordinal":-1,"archived":false,"hasRunningJob":false,"name":"1.0.0","id":"177-25","$type":"VersionBundleElement"},{"releaseDate":1677672000000,"released":true,"color":{"foreground":"#444","background":"#fff","id":"0","$type":"FieldStyle"},"description":null,"ordinal":3,"archived":false,"hasRunningJob":false,"name":"2.0.0","id":"177-28","$type":"VersionBundleElement"}],"name":"Custom Version Field Multi","id":"130-50","$type":"MultiVersionIssueCustomField"})"),
      Value(Value::List{"1.0.0", "2.0.0"}));
}

TEST(DecodeCustomField, SingleBuild) {
  EXPECT_EQ(
      FieldOk(
          R"({"projectCustomField":{"field":{"fieldType":{"valueType":"build","id":"build[1]","$type":"FieldType"},"id":"106-20","$type":"CustomField"},"id":"130-43","$type":"BuildProjectCustomField"},"value":{"assembleDate":1676462400000,"color":{"foreground":"#444","background":"#fff","id":"0","$type":"FieldStyle"},"description":null,"ordinal":0,"archived":false,"hasRunningJob":false,"name":"fix in build 1","id":"178-2","$type":"BuildBundleElement"},"name":"Custom Build Field Single","id":"130-43","$type":"SingleBuildIssueCustomField"})"),
      Value("fix in build 1"));
}

TEST(DecodeCustomField, MultiBuild) {
  EXPECT_EQ(
      FieldOk(
          R"({"projectCustomField":{"field":{"fieldType":{"valueType":"build","id":"build[*]","$type":"FieldType"},"id":"106-21","$type":"CustomField"},"id":"130-44","$type":"BuildProjectCustomField"},"value":[{"assembleDate":1676462400000,"color":{"foreground":"#444","background":"#fff","id":"0","$type":"FieldStyle"},"description":null,"ordinal":0,"archived":false,"hasRunningJob":false,"name":"fix in build 1","id":"178-2","$type":"BuildBundleElement"}],"name":"Custom Build Field Multi","id":"130-44","$type":"MultiBuildIssueCustomField"})"),
      Value(Value::List{"fix in build 1"}));
}

TEST(DecodeCustomField, SingleOwned) {
  EXPECT_EQ(
      FieldOk(
          R"({"projectCustomField":{"field":{"fieldType":{"valueType":"ownedField","id":"ownedField[1]","$type":"FieldType"},"id":"106-26","$type":"CustomField"},"id":"130-47","$type":"OwnedProjectCustomField"},"value":{"owner":null,"color":{"foreground":"#444","background":"#fff","id":"0","$type":"FieldStyle"},"description":null,"ordinal":0,"archived":false,"hasRunningJob":false,"name":"Migration","id":"138-11","$type":"OwnedBundleElement"},"name":"Custom Owned Field Single","id":"130-47","$type":"SingleOwnedIssueCustomField"})"),
      Value("Migration"));
}

TEST(DecodeCustomField, MultiOwned) {
  EXPECT_EQ(
      FieldOk(
          R"({"projectCustomField":{"field":{"fieldType":{"valueType":"ownedField","id":"ownedField[*]","$type":"FieldType"},"id":"106-27","$type":"CustomField"},"id":"130-48","$type":"OwnedProjectCustomField"},"value":[{"owner":null,"color":{"foreground":"#444","background":"#fff","id":"0","$type":"FieldStyle"},"description":null,"ordinal":0,"archived":false,"hasRunningJob":false,"name":"Migration","id":"138-11","$type":"OwnedBundleElement"},{"owner":null,"color":{"foreground":"#444","background":"#fff","id":"0","$type":"FieldStyle"},"description":null,"ordinal":1,"archived":false,"hasRunningJob":false,"name":"Frontend","id":"138-12","$type":"OwnedBundleElement"}],"name":"Custom Owned Field Multi","id":"130-48","$type":"MultiOwnedIssueCustomField"})"),
      Value(Value::List{"Migration", "Frontend"}));
}

TEST(DecodeCustomField, Text) {
  EXPECT_EQ(
      FieldOk(
          R"({"value":{"id":"text","text":"# Custom text field value\n\nwith *markdown*","markdownText":"<div class=\"wiki text common-markdown\"><h1>Custom text field value</h1></div>","$type":"TextFieldValue"},"projectCustomField":{"field":{"fieldType":{"valueType":"text","id":"text","$type":"FieldType"},"id":"106-19","$type":"CustomField"},"id":"169-1","$type":"TextProjectCustomField"},"name":"Custom Text Field","id":"169-1","$type":"TextIssueCustomField"})"),
      Value("# Custom text field value\n\nwith *markdown*"));
}

// SimpleIssueCustomField: one $type for four kinds; fieldType tells them apart.

TEST(DecodeCustomField, SimpleDateTimeWithFieldType) {
  EXPECT_EQ(
      FieldOk(
          R"({"value":1678280400000,"projectCustomField":{"field":{"fieldType":{"valueType":"date and time","id":"date and time","$type":"FieldType"},"id":"106-33","$type":"CustomField"},"id":"170-4","$type":"SimpleProjectCustomField"},"name":"Custom DateTime Field","id":"170-4","$type":"SimpleIssueCustomField"})"),
      Value("2023-03-08T13:00:00.000Z"));
}

TEST(DecodeCustomField, SimpleDateTimeWithoutFieldTypeStaysMilliseconds) {
  // Without fieldType nothing says this number is a time.
  EXPECT_EQ(
      FieldOk(
          R"({"value":1678280400000,"projectCustomField":{"id":"170-4","$type":"SimpleProjectCustomField"},"name":"Custom DateTime Field","id":"170-4","$type":"SimpleIssueCustomField"})"),
      Value(std::int64_t{1678280400000}));
}

TEST(DecodeCustomField, SimpleDateWithFieldType) {
  EXPECT_EQ(
      FieldOk(
          R"({"value":1676376000000,"projectCustomField":{"field":{"fieldType":{"valueType":"date","id":"date","$type":"FieldType"},"id":"106-32","$type":"CustomField"},"id":"170-3","$type":"SimpleProjectCustomField"},"name":"Custom Date Field","id":"170-3","$type":"SimpleIssueCustomField"})"),
      Value("2023-02-14"));
}

TEST(DecodeCustomField, SimpleFloatWithFieldType) {
  EXPECT_EQ(
      FieldOk(
          R"({"value":3.14159,"projectCustomField":{"field":{"fieldType":{"valueType":"float","id":"float","$type":"FieldType"},"id":"106-34","$type":"CustomField"},"id":"170-5","$type":"SimpleProjectCustomField"},"name":"Custom Float Field","id":"170-5","$type":"SimpleIssueCustomField"})"),
      Value(3.14159));
}

TEST(DecodeCustomField, SimpleFloatWithFieldTypeHoldingAWholeNumberIsStillADouble) {
  Value v = FieldOk(
      R"({"value":3,"projectCustomField":{"field":{"fieldType":{"valueType":"float","id":"float","$type":"FieldType"},"id":"106-34","$type":"CustomField"},"id":"170-5","$type":"SimpleProjectCustomField"},"name":"Custom Float Field","id":"170-5","$type":"SimpleIssueCustomField"})");
  ASSERT_TRUE(v.IsDouble());
  EXPECT_EQ(v.AsDouble(), 3.0);
}

TEST(DecodeCustomField, SimpleFloatWithoutFieldType) {
  EXPECT_EQ(
      FieldOk(
          R"({"value":3.14159,"projectCustomField":{"id":"170-5","$type":"SimpleProjectCustomField"},"name":"Custom Float Field","id":"170-5","$type":"SimpleIssueCustomField"})"),
      Value(3.14159));
}

TEST(DecodeCustomField, SimpleIntegerWithFieldType) {
  Value v = FieldOk(
      R"({"value":123,"projectCustomField":{"field":{"fieldType":{"valueType":"integer","id":"integer","$type":"FieldType"},"id":"106-35","$type":"CustomField"},"id":"170-6","$type":"SimpleProjectCustomField"},"name":"Custom Integer Field","id":"170-6","$type":"SimpleIssueCustomField"})");
  ASSERT_TRUE(v.IsInt());
  EXPECT_EQ(v.AsInt(), 123);
}

TEST(DecodeCustomField, SimpleIntegerWithoutFieldType) {
  Value v = FieldOk(
      R"({"value":123,"projectCustomField":{"id":"170-6","$type":"SimpleProjectCustomField"},"name":"Custom Integer Field","id":"170-6","$type":"SimpleIssueCustomField"})");
  ASSERT_TRUE(v.IsInt());
  EXPECT_EQ(v.AsInt(), 123);
}

TEST(DecodeCustomField, SimpleStringWithFieldType) {
  EXPECT_EQ(
      FieldOk(
          R"({"value":"1234567890a","projectCustomField":{"field":{"fieldType":{"valueType":"string","id":"string","$type":"FieldType"},"id":"106-36","$type":"CustomField"},"id":"170-7","$type":"SimpleProjectCustomField"},"name":"Custom String Field","id":"170-7","$type":"SimpleIssueCustomField"})"),
      Value("1234567890a"));
}

TEST(DecodeCustomField, SimpleStringWithoutFieldType) {
  EXPECT_EQ(
      FieldOk(
          R"({"value":"1234567890a","projectCustomField":{"id":"170-7","$type":"SimpleProjectCustomField"},"name":"Custom String Field","id":"170-7","$type":"SimpleIssueCustomField"})"),
      Value("1234567890a"));
}

TEST(DecodeCustomField, SimpleStringFieldTypeKeepsDigitsAsText) {
  // A string field holding "0042" must not become the number 42.
  EXPECT_EQ(
      FieldOk(
          R"({"value":"0042","projectCustomField":{"field":{"fieldType":{"valueType":"string","id":"string","$type":"FieldType"},"id":"106-36","$type":"CustomField"},"id":"170-7","$type":"SimpleProjectCustomField"},"name":"Ticket","id":"170-7","$type":"SimpleIssueCustomField"})"),
      Value("0042"));
}

// Unknown $type values are kept as opaque text.

TEST(DecodeCustomField, UnknownTypeUsesPresentation) {
  EXPECT_EQ(
      FieldOk(
          R"({"value":{"presentation":"3 points","id":"sp-3","$type":"StoryPointsValue"},"name":"Points","id":"190-1","$type":"FutureIssueCustomField"})"),
      Value("3 points"));
}

TEST(DecodeCustomField, UnknownTypeFallsBackToNameThenText) {
  EXPECT_EQ(
      FieldOk(
          R"({"value":{"name":"Red","id":"1-1","$type":"Colour"},"name":"Colour","$type":"FutureIssueCustomField"})"),
      Value("Red"));
  EXPECT_EQ(
      FieldOk(
          R"({"value":{"text":"free text","$type":"Blob"},"name":"Notes","$type":"FutureIssueCustomField"})"),
      Value("free text"));
}

TEST(DecodeCustomField, UnknownTypeWithoutTextIsCompactJson) {
  EXPECT_EQ(
      FieldOk(
          R"({"value":{"id":"9-9","weight":2,"$type":"Mystery"},"name":"Mystery","$type":"FutureIssueCustomField"})"),
      Value(R"({"$type":"Mystery","id":"9-9","weight":2})"));
  EXPECT_EQ(FieldOk(R"({"value":7,"name":"Mystery","$type":"FutureIssueCustomField"})"),
            Value("7"));
}

TEST(DecodeCustomField, UnknownMultiValueIsListOfTexts) {
  EXPECT_EQ(
      FieldOk(
          R"({"value":[{"presentation":"a","$type":"X"},{"name":"b","$type":"X"}],"name":"Many","$type":"FutureMultiIssueCustomField"})"),
      Value(Value::List{"a", "b"}));
  EXPECT_EQ(FieldOk(R"({"value":[],"name":"Many","$type":"FutureMultiIssueCustomField"})"),
            Value(Value::List{}));
}

TEST(DecodeCustomField, AbstractOrMissingTypeIsOpaqueNotAnError) {
  EXPECT_EQ(
      FieldOk(
          R"({"value":{"name":"Open","$type":"StateBundleElement"},"name":"State","$type":"IssueCustomField"})"),
      Value("Open"));
  EXPECT_EQ(FieldOk(R"({"value":{"name":"Open"},"name":"State"})"), Value("Open"));
}

// Wrong JSON types where the $type fixes them are errors naming the issue.

TEST(DecodeCustomField, PeriodMinutesNotANumberIsBadResponse) {
  ExpectBad(
      R"({"value":{"minutes":"510","presentation":"1d 30m","id":"P1DT30M","$type":"PeriodValue"},"name":"Custom Period Field","id":"137-3","$type":"PeriodIssueCustomField"})",
      "Custom Period Field");
  ExpectBad(
      R"({"value":{"presentation":"1d 30m","$type":"PeriodValue"},"name":"Spent time","$type":"PeriodIssueCustomField"})",
      "Spent time");
}

TEST(DecodeCustomField, WrongShapesAreBadResponse) {
  ExpectBad(
      R"({"value":{"id":"109-19","$type":"EnumBundleElement"},"name":"Priority","$type":"SingleEnumIssueCustomField"})",
      "Priority");
  ExpectBad(R"({"value":"Open","name":"State","$type":"StateIssueCustomField"})", "State");
  ExpectBad(R"({"value":{"name":"Open"},"name":"Tags","$type":"MultiEnumIssueCustomField"})",
            "Tags");
  ExpectBad(R"({"value":[{"name":"Open"}],"name":"State","$type":"StateIssueCustomField"})",
            "State");
  ExpectBad(R"({"value":"2023-02-14","name":"Due Date","$type":"DateIssueCustomField"})",
            "Due Date");
  ExpectBad(
      R"({"value":"soon","projectCustomField":{"field":{"fieldType":{"id":"date and time","$type":"FieldType"},"$type":"CustomField"},"$type":"SimpleProjectCustomField"},"name":"Deadline","$type":"SimpleIssueCustomField"})",
      "Deadline");
  ExpectBad(
      R"({"value":1.5,"projectCustomField":{"field":{"fieldType":{"id":"integer","$type":"FieldType"},"$type":"CustomField"},"$type":"SimpleProjectCustomField"},"name":"Count","$type":"SimpleIssueCustomField"})",
      "Count");
  ExpectBad(
      R"({"value":12,"projectCustomField":{"field":{"fieldType":{"id":"string","$type":"FieldType"},"$type":"CustomField"},"$type":"SimpleProjectCustomField"},"name":"Code","$type":"SimpleIssueCustomField"})",
      "Code");
  ExpectBad(R"({"value":"text","name":"Owner","$type":"SingleUserIssueCustomField"})", "Owner");
  ExpectBad(
      R"({"value":{"text":5,"$type":"TextFieldValue"},"name":"Notes","$type":"TextIssueCustomField"})",
      "Notes");
}

// --- whole issues -------------------------------------------------------------

constexpr char kIssue[] = R"({
  "created": 1674806180185,
  "idReadable": "RAP-42",
  "summary": "Default DP issue",
  "project": {"shortName": "RAP", "name": "Rapid", "id": "0-5", "$type": "Project"},
  "tags": [{"name": "backend", "id": "6-1", "$type": "Tag"}, {"name": "ux", "id": "6-2", "$type": "Tag"}],
  "updated": 1674824432382,
  "numberInProject": 42,
  "resolved": null,
  "votes": 3,
  "reporter": {"login": "sample.user", "fullName": "Sample User", "email": "sample.user@example.com", "$type": "User"},
  "commentsCount": 0,
  "customFields": [
    {"projectCustomField":{"field":{"fieldType":{"id":"enum[1]","$type":"FieldType"},"$type":"CustomField"},"$type":"EnumProjectCustomField"},"value":{"name":"Critical","$type":"EnumBundleElement"},"name":"Priority","$type":"SingleEnumIssueCustomField"},
    {"projectCustomField":{"field":{"fieldType":{"id":"state[1]","$type":"FieldType"},"$type":"CustomField"},"$type":"StateProjectCustomField"},"value":{"name":"Open","$type":"StateBundleElement"},"name":"State","$type":"StateIssueCustomField"},
    {"projectCustomField":{"field":{"fieldType":{"id":"user[1]","$type":"FieldType"},"$type":"CustomField"},"$type":"UserProjectCustomField"},"value":null,"name":"Assignee","$type":"SingleUserIssueCustomField"},
    {"projectCustomField":{"field":{"fieldType":{"id":"period","$type":"FieldType"},"$type":"CustomField"},"$type":"PeriodProjectCustomField"},"value":{"minutes":90,"presentation":"1h 30m","$type":"PeriodValue"},"name":"Estimation","$type":"PeriodIssueCustomField"}
  ],
  "description": null,
  "id": "2-35",
  "$type": "Issue"
})";

TEST(DecodeIssue, KeysUrlTimesAttributesAndCustomFields) {
  auto issue = DecodeIssue(Json(kIssue), kBase);
  ASSERT_TRUE(issue.has_value()) << issue.error().message;
  EXPECT_EQ(issue->id, "2-35");
  EXPECT_EQ(issue->key, "RAP-42");
  EXPECT_EQ(issue->url, "https://acme.youtrack.cloud/issue/RAP-42");
  EXPECT_EQ(issue->created_ms, 1674806180185);
  EXPECT_EQ(issue->updated_ms, 1674824432382);
  EXPECT_FALSE(issue->resolved_ms.has_value());

  const Value::Object& f = issue->fields;
  EXPECT_EQ(f.at("summary"), Value("Default DP issue"));
  EXPECT_EQ(f.at("description"), Value());
  EXPECT_EQ(f.at("tags"), Value(Value::List{"backend", "ux"}));
  EXPECT_EQ(f.at("project"), Value(Value::Object{{"shortName", "RAP"}, {"name", "Rapid"}}));
  EXPECT_EQ(f.at("reporter"), Value(Value::Object{{"login", "sample.user"},
                                                  {"name", "Sample User"},
                                                  {"email", "sample.user@example.com"}}));
  EXPECT_EQ(f.at("votes"), Value(3));
  EXPECT_EQ(f.at("commentsCount"), Value(0));
  EXPECT_EQ(f.at("numberInProject"), Value(42));
  EXPECT_EQ(f.at("created"), Value("2023-01-27T07:56:20.185Z"));
  EXPECT_EQ(f.at("updated"), Value("2023-01-27T13:00:32.382Z"));
  EXPECT_EQ(f.at("resolved"), Value());
  EXPECT_EQ(f.at("Priority"), Value("Critical"));
  EXPECT_EQ(f.at("State"), Value("Open"));
  EXPECT_EQ(f.at("Assignee"), Value());
  EXPECT_EQ(f.at("Estimation"), Value(90));
  EXPECT_FALSE(f.contains("updater"));  // not requested, not returned
}

TEST(DecodeIssue, ResolvedTimestampAndEmptyTags) {
  auto issue = DecodeIssue(
      Json(
          R"({"id":"2-7","idReadable":"SP-8","created":1700000000000,"updated":1714557600000,"resolved":1714557600000,"tags":[],"$type":"Issue"})"),
      kBase);
  ASSERT_TRUE(issue.has_value()) << issue.error().message;
  ASSERT_TRUE(issue->resolved_ms.has_value());
  EXPECT_EQ(*issue->resolved_ms, 1714557600000);
  EXPECT_EQ(issue->fields.at("resolved"), Value("2024-05-01T10:00:00.000Z"));
  EXPECT_EQ(issue->fields.at("tags"), Value(Value::List{}));
}

TEST(DecodeIssue, ServerOnAPathGivesLinksUnderIt) {
  YouTrackBaseUrl server{"https://host.example.com/youtrack",
                         "https://host.example.com/youtrack/api"};
  auto issue = DecodeIssue(
      Json(
          R"({"id":"2-7","idReadable":"SP-8","created":1,"updated":2,"resolved":null,"$type":"Issue"})"),
      server);
  ASSERT_TRUE(issue.has_value()) << issue.error().message;
  EXPECT_EQ(issue->url, "https://host.example.com/youtrack/issue/SP-8");
}

TEST(DecodeIssue, UnicodeFieldNamesAndValues) {
  // UmsrAkne/YouBoard's recorded issue: a Japanese instance.
  auto issue = DecodeIssue(Json(R"({
    "id": "2-101", "idReadable": "YB-3", "created": 1700000000000, "updated": 1700000000000,
    "resolved": null, "summary": "ボードを作る",
    "customFields": [
      {"value": {"name": "未完了", "$type": "StateBundleElement"}, "name": "ステージ", "$type": "StateIssueCustomField"},
      {"value": null, "name": "経過時間", "$type": "PeriodIssueCustomField"},
      {"value": {"minutes": 120, "presentation": "2時間", "$type": "PeriodValue"}, "name": "見積もり", "$type": "PeriodIssueCustomField"},
      {"value": null, "name": "Assignee", "$type": "SingleUserIssueCustomField"},
      {"value": {"login": "tanaka", "fullName": "田中 太郎", "email": null, "$type": "User"}, "name": "担当者", "$type": "SingleUserIssueCustomField"}
    ],
    "$type": "Issue"})"),
                           kBase);
  ASSERT_TRUE(issue.has_value()) << issue.error().message;
  const Value::Object& f = issue->fields;
  EXPECT_EQ(f.at("summary"), Value("ボードを作る"));
  EXPECT_EQ(f.at("ステージ"), Value("未完了"));
  EXPECT_EQ(f.at("経過時間"), Value());
  EXPECT_EQ(f.at("見積もり"), Value(120));
  EXPECT_EQ(f.at("Assignee"), Value());
  EXPECT_EQ(f.at("担当者"),
            Value(Value::Object{{"login", "tanaka"}, {"name", "田中 太郎"}, {"email", nullptr}}));
}

TEST(DecodeIssue, ErrorsNameTheIssue) {
  auto bad_field = DecodeIssue(
      Json(
          R"({"id":"2-35","idReadable":"RAP-42","created":1,"updated":2,"customFields":[{"value":{"minutes":"lots","$type":"PeriodValue"},"name":"Spent time","$type":"PeriodIssueCustomField"}],"$type":"Issue"})"),
      kBase);
  ASSERT_FALSE(bad_field.has_value());
  EXPECT_EQ(bad_field.error().code, ErrorCode::kBadResponse);
  EXPECT_EQ(bad_field.error().message,
            "issue RAP-42: custom field \"Spent time\" (PeriodIssueCustomField): minutes is not a "
            "number");

  auto bad_updated = DecodeIssue(
      Json(
          R"({"id":"2-35","idReadable":"RAP-42","created":1,"updated":"yesterday","$type":"Issue"})"),
      kBase);
  ASSERT_FALSE(bad_updated.has_value());
  EXPECT_NE(bad_updated.error().message.find("RAP-42"), std::string::npos);
  EXPECT_NE(bad_updated.error().message.find("updated"), std::string::npos);

  auto bad_summary = DecodeIssue(
      Json(
          R"({"id":"2-35","idReadable":"RAP-42","created":1,"updated":2,"summary":17,"$type":"Issue"})"),
      kBase);
  ASSERT_FALSE(bad_summary.has_value());
  EXPECT_NE(bad_summary.error().message.find("RAP-42"), std::string::npos);

  auto no_key =
      DecodeIssue(Json(R"({"id":"2-35","created":1,"updated":2,"$type":"Issue"})"), kBase);
  ASSERT_FALSE(no_key.has_value());
  EXPECT_EQ(no_key.error().code, ErrorCode::kBadResponse);
  EXPECT_NE(no_key.error().message.find("2-35"), std::string::npos);

  auto no_id = DecodeIssue(
      Json(R"({"idReadable":"RAP-42","created":1,"updated":2,"$type":"Issue"})"), kBase);
  ASSERT_FALSE(no_id.has_value());
  EXPECT_NE(no_id.error().message.find("RAP-42"), std::string::npos);
}

// YouTrack answers exactly the fields asked for, so an ids-only page
// (fields=id,idReadable,updated) has no `created`.
TEST(DecodeIssue, IdsOnlyAnswerWithoutCreatedDecodes) {
  auto issue = DecodeIssue(
      Json(R"({"id":"2-35","idReadable":"RAP-42","updated":1714557600250,"$type":"Issue"})"),
      kBase);
  ASSERT_TRUE(issue.has_value()) << issue.error().message;
  EXPECT_EQ(issue->id, "2-35");
  EXPECT_EQ(issue->key, "RAP-42");
  EXPECT_EQ(issue->updated_ms, 1714557600250);
  EXPECT_EQ(issue->created_ms, 0);
  EXPECT_EQ(issue->resolved_ms, std::nullopt);
}

TEST(DecodeIssue, UpdatedIsStillRequired) {
  auto issue = DecodeIssue(Json(R"({"id":"2-35","idReadable":"RAP-42","$type":"Issue"})"), kBase);
  ASSERT_FALSE(issue.has_value());
  EXPECT_EQ(issue.error().code, ErrorCode::kBadResponse);
  EXPECT_NE(issue.error().message.find("RAP-42"), std::string::npos) << issue.error().message;
  EXPECT_NE(issue.error().message.find("updated"), std::string::npos) << issue.error().message;
}

TEST(DecodeIssue, CreatedWhenPresentMustBeATimestamp) {
  auto issue = DecodeIssue(
      Json(R"({"id":"2-35","idReadable":"RAP-42","created":"today","updated":2,"$type":"Issue"})"),
      kBase);
  ASSERT_FALSE(issue.has_value());
  EXPECT_NE(issue.error().message.find("created"), std::string::npos) << issue.error().message;
}

TEST(DecodeIssuePage, IdsOnlyPage) {
  auto page = DecodeIssuePage(Json(R"([
    {"id":"2-1","idReadable":"RAP-1","updated":10,"$type":"Issue"},
    {"id":"2-2","idReadable":"RAP-2","updated":20,"$type":"Issue"}])"),
                              kBase);
  ASSERT_TRUE(page.has_value()) << page.error().message;
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[1].key, "RAP-2");
  EXPECT_EQ((*page)[1].updated_ms, 20);
}

TEST(DecodeIssuePage, ArrayOfIssuesInOrder) {
  auto page = DecodeIssuePage(Json(R"([
    {"id":"2-1","idReadable":"RAP-1","created":1,"updated":10,"resolved":null,"$type":"Issue"},
    {"id":"2-2","idReadable":"RAP-2","created":2,"updated":20,"resolved":null,"$type":"Issue"}])"),
                              kBase);
  ASSERT_TRUE(page.has_value()) << page.error().message;
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].key, "RAP-1");
  EXPECT_EQ((*page)[1].id, "2-2");
  EXPECT_TRUE(DecodeIssuePage(Json("[]"), kBase)->empty());
}

TEST(DecodeIssuePage, NotAnArrayIsBadResponse) {
  for (std::string_view body : {R"({"$type":"Issue"})", "null", R"("issues")"}) {
    auto page = DecodeIssuePage(Json(body), kBase);
    ASSERT_FALSE(page.has_value()) << body;
    EXPECT_EQ(page.error().code, ErrorCode::kBadResponse);
  }
}

TEST(DecodeIssuePage, OneBadIssueIsMarkedByItsKeyAndTheOthersAreDecoded) {
  auto page = DecodeIssuePage(Json(R"([
    {"id":"2-1","idReadable":"RAP-1","created":1,"updated":10,"$type":"Issue"},
    {"id":"2-2","idReadable":"RAP-2","created":2,"updated":20,"tags":"backend","$type":"Issue"},
    {"id":"2-3","idReadable":"RAP-3","created":3,"updated":30,"customFields":[
      {"value":{"value":3},"name":"Points","$type":"SimpleIssueCustomField"}],"$type":"Issue"},
    {"id":"2-4","idReadable":"RAP-4","created":4,"updated":40,"$type":"Issue"}])"),
                              kBase);
  ASSERT_TRUE(page.has_value()) << page.error().message;
  ASSERT_EQ(page->size(), 4u);
  EXPECT_TRUE((*page)[0].decode_error.empty());
  EXPECT_TRUE((*page)[3].decode_error.empty());
  for (std::size_t i : {1u, 2u}) {
    const Issue& bad = (*page)[i];
    EXPECT_EQ(bad.id, "2-" + std::to_string(i + 1));
    EXPECT_EQ(bad.key, "RAP-" + std::to_string(i + 1));
    EXPECT_EQ(bad.updated_ms, 10 * static_cast<std::int64_t>(i + 1));
    EXPECT_NE(bad.decode_error.find(bad.key), std::string::npos) << bad.decode_error;
  }
  EXPECT_NE((*page)[2].decode_error.find("Points"), std::string::npos);
}

TEST(DecodeIssuePage, TimestampsOutsideFourDigitYearsFailTheIssueNotThePage) {
  // 40000-01-01, 1969-12-31, and 2100-01-01 (fine: only odd).
  auto page = DecodeIssuePage(Json(R"([
    {"id":"2-1","idReadable":"RAP-1","created":1,"updated":1200000000000000,"$type":"Issue"},
    {"id":"2-2","idReadable":"RAP-2","created":-86400000,"updated":20,"$type":"Issue"},
    {"id":"2-3","idReadable":"RAP-3","created":3,"updated":4102444800000,"$type":"Issue"},
    {"id":"2-4","idReadable":"RAP-4","created":4,"updated":40,"resolved":-62135596800001,"$type":"Issue"},
    {"id":"2-5","idReadable":"RAP-5","created":5,"updated":50,"customFields":[
      {"value":253402300800000,"name":"Due","$type":"DateIssueCustomField"}],"$type":"Issue"}])"),
                              kBase);
  ASSERT_TRUE(page.has_value()) << page.error().message;
  ASSERT_EQ(page->size(), 5u);
  EXPECT_NE((*page)[0].decode_error.find("outside the years 1970-9999"), std::string::npos)
      << (*page)[0].decode_error;
  EXPECT_EQ((*page)[0].updated_ms, 0);  // unreadable: it orders nothing
  EXPECT_NE((*page)[1].decode_error.find("created"), std::string::npos) << (*page)[1].decode_error;
  EXPECT_TRUE((*page)[2].decode_error.empty());
  EXPECT_EQ((*page)[2].fields.at("updated"), Value("2100-01-01T00:00:00.000Z"));
  EXPECT_NE((*page)[3].decode_error.find("resolved"), std::string::npos);
  EXPECT_NE((*page)[4].decode_error.find("Due"), std::string::npos);
}

TEST(DecodeIssuePage, AnElementWithoutIdOrKeyIsStillReported) {
  auto page = DecodeIssuePage(Json(R"([7, {"idReadable":"RAP-2","updated":20}])"), kBase);
  ASSERT_TRUE(page.has_value());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_FALSE((*page)[0].decode_error.empty());
  EXPECT_EQ((*page)[1].key, "RAP-2");
  EXPECT_EQ((*page)[1].id, "");
  EXPECT_NE((*page)[1].decode_error.find("has no id"), std::string::npos);
}

// --- /users/me ------------------------------------------------------------------

TEST(DecodeMe, ReadsLoginAndName) {
  auto me = DecodeMe(Json(
      R"({"guest":false,"banned":false,"login":"sample.user","fullName":"Sample User","id":"1-1","$type":"Me"})"));
  ASSERT_TRUE(me.has_value()) << me.error().message;
  EXPECT_EQ(me->login, "sample.user");
  EXPECT_EQ(me->name, "Sample User");
  EXPECT_EQ(me->projects, -1);
}

TEST(DecodeMe, NameFallsBackToLogin) {
  auto me = DecodeMe(Json(
      R"({"guest":false,"banned":false,"login":"bot","fullName":"","id":"1-5","$type":"Me"})"));
  ASSERT_TRUE(me.has_value()) << me.error().message;
  EXPECT_EQ(me->name, "bot");
}

TEST(DecodeMe, GuestIsAuthError) {
  auto me = DecodeMe(Json(
      R"({"guest":true,"banned":false,"login":"guest","fullName":"guest","id":"1-0","$type":"Me"})"));
  ASSERT_FALSE(me.has_value());
  EXPECT_EQ(me.error().code, ErrorCode::kAuth);
  EXPECT_EQ(me.error().message, "the token was not accepted: YouTrack answered as the guest user");
  EXPECT_FALSE(me.error().retriable);
}

TEST(DecodeMe, MissingOrNullGuestFlagCountsAsGuest) {
  for (std::string_view body : {R"({"login":"sample.user","fullName":"Sample User","$type":"Me"})",
                                R"({"guest":null,"login":"sample.user","$type":"Me"})"}) {
    auto me = DecodeMe(Json(body));
    ASSERT_FALSE(me.has_value()) << body;
    EXPECT_EQ(me.error().code, ErrorCode::kAuth) << body;
  }
}

TEST(DecodeMe, BannedIsAuthError) {
  auto me = DecodeMe(Json(
      R"({"guest":false,"banned":true,"login":"sample.user","fullName":"Sample User","id":"1-1","$type":"Me"})"));
  ASSERT_FALSE(me.has_value());
  EXPECT_EQ(me.error().code, ErrorCode::kAuth);
  EXPECT_NE(me.error().message.find("banned"), std::string::npos);
}

TEST(DecodeMe, NoLoginOrNotAnObjectIsBadResponse) {
  for (std::string_view body : {R"({"$type":"Me"})", "[]", R"({"guest":false,"$type":"Me"})"}) {
    auto me = DecodeMe(Json(body));
    ASSERT_FALSE(me.has_value()) << body;
    EXPECT_EQ(me.error().code, ErrorCode::kBadResponse) << body;
  }
}

TEST(DecodeMe, ReadsTheProfileTimeZone) {
  // The shape /users/me?fields=...,profiles(general(timezone(id,presentation,offset))) has.
  auto me = DecodeMe(Json(R"({"guest":false,"banned":false,"login":"sample.user","id":"1-1",
      "profiles":{"general":{"timezone":{"id":"Asia/Kolkata","presentation":"(UTC+05:30) Asia/Kolkata",
      "offset":19800,"$type":"TimeZoneDescriptor"},"$type":"GeneralUserProfile"},"$type":"UserProfiles"},
      "$type":"Me"})"));
  ASSERT_TRUE(me.has_value()) << me.error().message;
  EXPECT_EQ(me->utc_offset_minutes, 330);
}

TEST(DecodeMe, ZoneIsUnknownWhenTheProfileDoesNotSay) {
  const std::vector<std::string_view> bodies = {
      R"({"guest":false,"login":"u","$type":"Me"})",
      R"({"guest":false,"login":"u","profiles":null,"$type":"Me"})",
      R"({"guest":false,"login":"u","profiles":{"general":null},"$type":"Me"})",
      R"({"guest":false,"login":"u","profiles":{"general":{"timezone":null}},"$type":"Me"})",
      R"({"guest":false,"login":"u","profiles":{"general":{"timezone":"Europe/Berlin"}}})",
      R"({"guest":false,"login":"u","profiles":{"general":{"timezone":{"id":"Europe/Berlin"}}}})",
  };
  for (std::string_view body : bodies) {
    auto me = DecodeMe(Json(body));
    ASSERT_TRUE(me.has_value()) << body << ": " << me.error().message;
    EXPECT_EQ(me->utc_offset_minutes, std::nullopt) << body;
  }
}

TEST(DecodeMe, GuestWithAZoneIsStillAuthError) {
  auto me = DecodeMe(Json(R"({"guest":true,"login":"guest",
      "profiles":{"general":{"timezone":{"id":"UTC","presentation":"UTC","offset":0}}},"$type":"Me"})"));
  ASSERT_FALSE(me.has_value());
  EXPECT_EQ(me.error().code, ErrorCode::kAuth);
}

// --- time zones -----------------------------------------------------------------

// TimeZoneDescriptor shapes below are constructed, not recorded: the API
// reference gives `offset` no unit, so every form the decoder reads is pinned.

std::optional<int> Offset(std::string_view timezone_json) {
  return DecodeUtcOffset(Json(timezone_json));
}

TEST(DecodeUtcOffset, PresentationUtcOrGmtOffsets) {
  EXPECT_EQ(Offset(R"({"presentation":"(UTC+02:00) Europe/Kaliningrad"})"), 120);
  EXPECT_EQ(Offset(R"({"presentation":"(UTC-10:00) Pacific/Honolulu"})"), -600);
  EXPECT_EQ(Offset(R"({"presentation":"GMT+5:30"})"), 330);
  EXPECT_EQ(Offset(R"({"presentation":"UTC+0545"})"), 345);
  EXPECT_EQ(Offset(R"({"presentation":"UTC -3"})"), -180);
  EXPECT_EQ(Offset(R"({"presentation":"UTC+14"})"), 840);
  EXPECT_EQ(Offset(R"({"presentation":"(UTC-09:30) Pacific/Marquesas"})"), -570);
  EXPECT_EQ(Offset(R"({"presentation":"UTC+00:00"})"), 0);
}

TEST(DecodeUtcOffset, PresentationWinsOverIdAndOffset) {
  EXPECT_EQ(Offset(R"({"id":"GMT+03:00","presentation":"(UTC+05:30) Asia/Kolkata","offset":0})"),
            330);
}

TEST(DecodeUtcOffset, IdOffsetsWithPosixSignsForEtcGmt) {
  EXPECT_EQ(Offset(R"({"id":"GMT+05:45","presentation":"Nepal Time"})"), 345);
  EXPECT_EQ(Offset(R"({"id":"UTC-03:00"})"), -180);
  // POSIX signs are inverted: Etc/GMT+10 is ten hours behind UTC.
  EXPECT_EQ(Offset(R"({"id":"Etc/GMT+10","presentation":"Etc/GMT+10"})"), -600);
  EXPECT_EQ(Offset(R"({"id":"Etc/GMT-14","presentation":""})"), 840);
  EXPECT_EQ(Offset(R"({"id":"Etc/GMT-3"})"), 180);
  // The test tracker's own shape: the presentation has the real sign.
  EXPECT_EQ(
      Offset(R"({"id":"Etc/GMT+10","presentation":"(UTC-10:00) Etc/GMT+10","offset":-36000})"),
      -600);
}

TEST(DecodeUtcOffset, UtcNamesAreZero) {
  for (std::string_view id : {"UTC", "GMT", "Etc/UTC", "Etc/GMT", "Z"}) {
    EXPECT_EQ(Offset(R"({"id":")" + std::string(id) +
                     R"(","presentation":"Coordinated Universal Time"})"),
              0)
        << id;
  }
}

TEST(DecodeUtcOffset, NumericOffsetByMagnitude) {
  // Minutes up to 14 h.
  EXPECT_EQ(Offset(R"({"id":"Europe/Berlin","offset":60})"), 60);
  EXPECT_EQ(Offset(R"({"id":"America/St_Johns","offset":-210})"), -210);
  EXPECT_EQ(Offset(R"({"id":"Pacific/Kiritimati","offset":840})"), 840);
  EXPECT_EQ(Offset(R"({"id":"Africa/Abidjan","offset":0})"), 0);
  // Seconds, whole minutes, up to 14 h.
  EXPECT_EQ(Offset(R"({"id":"Europe/Berlin","offset":3600})"), 60);
  EXPECT_EQ(Offset(R"({"id":"Asia/Kathmandu","offset":20700})"), 345);
  EXPECT_EQ(Offset(R"({"id":"Pacific/Honolulu","offset":-36000})"), -600);
  EXPECT_EQ(Offset(R"({"id":"Pacific/Kiritimati","offset":50400})"), 840);
  // Milliseconds, whole minutes, up to 14 h.
  EXPECT_EQ(Offset(R"({"id":"Europe/Berlin","offset":3600000})"), 60);
  EXPECT_EQ(Offset(R"({"id":"America/Caracas","offset":-16200000})"), -270);
  EXPECT_EQ(Offset(R"({"id":"Pacific/Kiritimati","offset":50400000})"), 840);
}

TEST(DecodeUtcOffset, UnreadableIsUnknown) {
  EXPECT_EQ(Offset(R"({})"), std::nullopt);
  EXPECT_EQ(Offset(R"("Europe/Berlin")"), std::nullopt);
  EXPECT_EQ(Offset(R"({"id":"Europe/Berlin","presentation":"Central European Time"})"),
            std::nullopt);
  EXPECT_EQ(Offset(R"({"id":"Europe/Berlin","offset":null})"), std::nullopt);
  EXPECT_EQ(Offset(R"({"id":"Europe/Berlin","offset":"+01:00"})"), std::nullopt);
  EXPECT_EQ(Offset(R"({"id":"Europe/Berlin","offset":1.5})"), std::nullopt);
  // Beyond 14 h, or not whole minutes, in every unit.
  EXPECT_EQ(Offset(R"({"id":"X","offset":50460})"), std::nullopt);     // 14 h 1 min in seconds
  EXPECT_EQ(Offset(R"({"id":"X","offset":3601})"), std::nullopt);      // seconds, not whole minutes
  EXPECT_EQ(Offset(R"({"id":"X","offset":3600001})"), std::nullopt);   // ms, not whole minutes
  EXPECT_EQ(Offset(R"({"id":"X","offset":50460000})"), std::nullopt);  // 14 h 1 min in ms
  EXPECT_EQ(Offset(R"({"id":"X","offset":-50460000})"), std::nullopt);
}

}  // namespace
}  // namespace boardsync
