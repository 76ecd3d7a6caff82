#include "collectors/datanode.h"

namespace rse::collectors {

std::vector<std::vector<std::string>> DataNodeCommands(const Needs& needs) {
  std::vector<std::vector<std::string>> cmds;
  std::vector<std::string> info{"INFO"};
  switch (needs.data_info) {
    case Needs::DataInfo::kFull:
      info.emplace_back("default");
      break;
    case Needs::DataInfo::kReplication:
      info.emplace_back("replication");
      break;
    case Needs::DataInfo::kNone:
      break;
  }
  // Redis 7 takes several sections in one INFO; errorstats is among the default ones.
  if (needs.commandstats) info.emplace_back("commandstats");
  if (needs.latencystats) info.emplace_back("latencystats");
  if (info.size() == 1) {
    cmds.push_back({"PING"});
  } else {
    if (info.size() == 2 && info[1] == "default") info.pop_back();
    cmds.push_back(std::move(info));
  }
  if (needs.config) {
    std::vector<std::string> get{"CONFIG", "GET"};
    for (const char* name : kConfigNames) get.emplace_back(name);
    cmds.push_back(std::move(get));
  }
  if (needs.slowlog) {
    cmds.push_back({"SLOWLOG", "LEN"});
    cmds.push_back({"SLOWLOG", "GET", "1"});
  }
  return cmds;
}

std::vector<std::vector<std::string>> DataNodeCommandsBefore7(const Needs& needs) {
  auto cmds = DataNodeCommands(needs);
  if (cmds.empty() || cmds[0][0] != "INFO" || cmds[0].size() < 3) return {};
  cmds[0] = {"INFO", "all"};
  return cmds;
}

void ReadOptionalReplies(const Needs& needs, const std::vector<redis::Reply>& replies, DataNode& node,
                         std::vector<std::pair<std::string, std::string>>& notes) {
  size_t i = 1;
  auto note = [&](const char* command, const std::string& why) {
    notes.push_back({"node " + node.master_name + " " + node.label() + " " + command,
                     std::string(command) + " not answered, its metrics are left out: " + why});
  };
  if (needs.config) {
    if (i >= replies.size()) return;
    auto config = ParseFieldArray(replies[i++]);
    if (config.ok()) {
      node.config = std::move(*config.value);
    } else {
      note("CONFIG GET", config.error);
    }
  }
  if (needs.slowlog) {
    if (i + 1 >= replies.size()) return;
    auto slowlog = ParseSlowlog(replies[i], replies[i + 1]);
    i += 2;
    if (slowlog.ok()) {
      node.slowlog = *slowlog.value;
    } else {
      note("SLOWLOG", slowlog.error);
    }
  }
}

}  // namespace rse::collectors
