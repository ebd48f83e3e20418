#include "cli/client/config_file.h"

#include "absl/strings/str_cat.h"
#include "cli/client/local_files.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace certgate::cli {

namespace {

std::string Lookup(const std::map<std::string, std::string>& env, const std::string& name) {
  auto it = env.find(name);
  return it == env.end() ? "" : it->second;
}

std::string ParentDirectory(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

}  // namespace

absl::StatusOr<std::string> ConfigFile::DefaultPath(const std::map<std::string, std::string>& env) {
  std::string xdg = Lookup(env, "XDG_CONFIG_HOME");
  if (!xdg.empty()) {
    return JoinPath(JoinPath(xdg, "certgate"), "config.json");
  }
  std::string home = Lookup(env, "HOME");
  if (!home.empty()) {
    return JoinPath(JoinPath(home, ".config/certgate"), "config.json");
  }
  return absl::FailedPreconditionError(
      "neither XDG_CONFIG_HOME nor HOME is set: nowhere to keep the login");
}

std::string ConfigFile::Serialize(const SavedLogin& login) {
  google::protobuf::Struct root;
  auto& fields = *root.mutable_fields();
  fields["server"].set_string_value(login.server);
  fields["token"].set_string_value(login.token);
  fields["ca_file"].set_string_value(login.ca_file);
  fields["insecure"].set_bool_value(login.insecure);
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(root, &out, options);
  return out;
}

absl::StatusOr<SavedLogin> ConfigFile::Parse(const std::string& content) {
  google::protobuf::Struct root;
  if (!google::protobuf::util::JsonStringToMessage(content, &root).ok()) {
    return absl::InvalidArgumentError("not a JSON object");
  }
  SavedLogin login;
  for (const auto& [name, value] : root.fields()) {
    if (name == "insecure") {
      if (value.kind_case() != google::protobuf::Value::kBoolValue) {
        return absl::InvalidArgumentError("\"insecure\" is not true or false");
      }
      login.insecure = value.bool_value();
      continue;
    }
    std::string* target = name == "server"    ? &login.server
                          : name == "token"   ? &login.token
                          : name == "ca_file" ? &login.ca_file
                                              : nullptr;
    if (target == nullptr) {
      continue;  // Written by a newer version; not ours to judge.
    }
    if (value.kind_case() != google::protobuf::Value::kStringValue) {
      return absl::InvalidArgumentError(absl::StrCat("\"", name, "\" is not a string"));
    }
    *target = value.string_value();
  }
  return login;
}

absl::StatusOr<SavedLogin> ConfigFile::Load(const std::string& path) {
  if (!FileExists(path)) {
    return SavedLogin{};
  }
  absl::StatusOr<std::string> content = ReadLocalFile(path);
  if (!content.ok()) {
    return content.status();
  }
  absl::StatusOr<SavedLogin> login = Parse(*content);
  if (!login.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("login file ", path, " is damaged (",
                                                   login.status().message(),
                                                   "): run certgate login again"));
  }
  return login;
}

absl::Status ConfigFile::Save(const std::string& path, const SavedLogin& login) {
  absl::Status made = MakeDirectories(ParentDirectory(path), 0700);
  if (!made.ok()) {
    return made;
  }
  return WriteFileAtomically(path, Serialize(login), 0600);
}

}  // namespace certgate::cli
