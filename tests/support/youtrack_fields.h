// The `fields=` parameter of YouTrack's REST API: its nested syntax, and the
// projection the server applies to an entity (requested attributes only,
// `$type` always, unknown names silently ignored).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/value.h"

namespace boardsync {

// One level of a fields= expression. `children` maps each requested
// attribute to what is requested inside it; a name given without
// parentheses has an empty selector.
struct FieldSelector {
  std::map<std::string, FieldSelector, std::less<>> children;

  bool empty() const { return children.empty(); }
  // The selector for attribute `name`, or nullptr when it was not requested.
  const FieldSelector* Find(std::string_view name) const;
};

// Parses "id,project(shortName),customFields(name,value(name,login))".
// Whitespace around names and empty items are tolerated; unbalanced
// parentheses are errors. The text must already be percent-decoded.
Result<FieldSelector> ParseFieldSelector(std::string_view text);

// What the server returns when fields= is absent: id (and $type).
FieldSelector DefaultFieldSelector();

// Projects `entity` as YouTrack does: objects keep the requested attributes
// they have plus their `$type`; an object requested without parentheses
// shrinks to {"$type": ...}; lists are projected element by element;
// scalars and nulls pass through whatever was asked inside them.
Value ProjectFields(const Value& entity, const FieldSelector& selector);

// Appends ProjectFields(entity, selector).ToJson() to `out`, without building
// the projected copy.
void AppendProjectedJson(const Value& entity, const FieldSelector& selector, std::string& out);

}  // namespace boardsync
