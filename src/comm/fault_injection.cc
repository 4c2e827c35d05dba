#include "crpsgd/fault_injection.h"

#include <csignal>
#include <cstdio>
#include <stdexcept>

#include "crpsgd/enum_table.h"

namespace crpsgd {

Result<Fault> ParseFault(const std::string& text) {
  constexpr EnumTable<Fault::Kind, 4> kKinds{{{{Fault::Kind::kKill, "kill"},
                                               {Fault::Kind::kStop, "stop"},
                                               {Fault::Kind::kThrow, "throw"},
                                               {Fault::Kind::kFail, "fail"}}}};
  const auto bad = Status::InvalidArgument("--inject-fault must be KIND:rank=R,round=T with KIND " + kKinds.Choices() +
                                           " (R >= 0, T >= 1), got '" + text + "'");
  const std::size_t colon = text.find(':');
  if (colon == std::string::npos) return bad;
  const std::string kind = text.substr(0, colon);
  const Result<Fault::Kind> parsed = kKinds.Parse(kind, "--inject-fault");
  if (!parsed.ok()) return bad;
  Fault fault;
  fault.kind = *parsed;
  const std::string format = kind + ":rank=%d,round=%llu%n";
  int consumed = 0;
  unsigned long long round = 0;
  if (std::sscanf(text.c_str(), format.c_str(), &fault.rank, &round, &consumed) != 2 ||
      consumed != static_cast<int>(text.size()) || fault.rank < 0 || round < 1) {
    return bad;
  }
  fault.round = round;
  return fault;
}

FaultInjectingCommunicator::FaultInjectingCommunicator(Communicator& inner, const Fault& fault)
    : Communicator(inner.rank(), inner.size()), inner_(inner), fault_(fault) {}

const char* FaultInjectingCommunicator::backend_name() const { return inner_.backend_name(); }

Status FaultInjectingCommunicator::BeforeTrainingRound(std::uint64_t round) {
  if (rank() != fault_.rank || round != fault_.round + 1) return Status::OK();
  const std::string where = "worker " + std::to_string(rank()) + " after round " + std::to_string(fault_.round);
  switch (fault_.kind) {
    case Fault::Kind::kFail: return Status::Unavailable("--inject-fault: " + where + " fails its all-reduce");
    case Fault::Kind::kThrow: throw std::runtime_error("--inject-fault: an exception in " + where);
    case Fault::Kind::kStop:
    case Fault::Kind::kKill:
      std::fprintf(stderr, "crpsgd: --inject-fault: %s %s\n",
                   fault_.kind == Fault::Kind::kStop ? "stopping" : "killing", where.c_str());
      std::fflush(stderr);
      std::raise(fault_.kind == Fault::Kind::kStop ? SIGSTOP : SIGKILL);
      break;
  }
  return Status::OK();
}

Status FaultInjectingCommunicator::DoAllreduceSum(std::span<std::byte> data, DataType type) {
  return ForwardAllreduceSum(inner_, data, type);
}
Status FaultInjectingCommunicator::DoBroadcast(std::span<std::byte> data, int root) {
  return ForwardBroadcast(inner_, data, root);
}
Status FaultInjectingCommunicator::DoBarrier() { return ForwardBarrier(inner_); }

}  // namespace crpsgd
