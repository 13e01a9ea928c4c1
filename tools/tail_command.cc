// tools/tail_command.cc — `ringflow tail`: attach to a byte ring in shared
// memory as a reader and print its records (text or hex), or verify the
// demo's records (tools/demo_record.h).

#include "tools/tail_command.h"

#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <string_view>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "ringflow/shm/shared_byte_reader.h"
#include "ringflow/shm/shared_consumer.h"
#include "tools/command_line.h"
#include "tools/demo_record.h"
#include "tools/shm_commands.h"

// Shared with `ringflow consume` (shm_commands.cc).
ABSL_DECLARE_FLAG(std::string, name);
ABSL_DECLARE_FLAG(std::string, start);
ABSL_DECLARE_FLAG(bool, verify);
ABSL_FLAG(bool, hex, false, "print records as hex dumps instead of text");
ABSL_FLAG(int64_t, max_records, 0,
          "stop after this many records, 0 to 10^15 (0: until the stream "
          "ends)");

namespace ringflow::tools {
namespace {

constexpr int64_t kMaxTailRecords = 1'000'000'000'000'000;

constexpr absl::string_view kTailFlags[] = {"name", "start", "verify", "hex",
                                            "max_records"};
constexpr CommandSpec kTailSpec{
    "tail",
    "ringflow tail NAME [--hex] [--verify] [--max_records=N] "
    "[--start=latest|oldest] [--name=READER]\n\n"
    "Attaches to byte ring NAME as a reader (it gates the producer like any "
    "reader) and prints each record on one line: its position and length, "
    "then its bytes as text (bytes outside printable ASCII as \\xNN) or, "
    "with --hex, as a hex dump. With --verify it prints nothing per record "
    "and checks the records of `ringflow demo --bytes` instead: per "
    "producer, every sequence once and in order, each length and checksum; "
    "it stops at the end records.\n\n"
    "Exit status 0 when the stream ended cleanly (every producer's end "
    "record, or --max_records reached) and, with --verify, every record "
    "checked out; 1 when the producer died, this reader was evicted, or a "
    "record was lost, duplicated or corrupt.",
    kTailFlags};

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "ringflow tail: %s\n", status.ToString().c_str());
  return 1;
}

void PrintText(int64_t position, std::span<const std::byte> record) {
  std::string line = absl::StrCat(position, " ", record.size(), " ");
  for (const std::byte b : record) {
    const unsigned char c = static_cast<unsigned char>(b);
    if (std::isprint(c) && c != '\\') {
      line.push_back(static_cast<char>(c));
    } else {
      char escaped[5];
      std::snprintf(escaped, sizeof(escaped), "\\x%02x", c);
      line += escaped;
    }
  }
  std::printf("%s\n", line.c_str());
}

void PrintHex(int64_t position, std::span<const std::byte> record) {
  std::printf("%lld %zu\n", static_cast<long long>(position), record.size());
  for (size_t off = 0; off < record.size(); off += 16) {
    std::string line = absl::StrCat("  ", absl::Hex(off, absl::kZeroPad8), " ");
    for (size_t k = off; k < off + 16 && k < record.size(); ++k) {
      char byte[4];
      std::snprintf(byte, sizeof(byte), " %02x",
                    static_cast<unsigned>(record[k]));
      line += byte;
    }
    std::printf("%s\n", line.c_str());
  }
}

}  // namespace

int TailCommand(int argc, char** argv) {
  const auto args = ParseCommand(argc, argv, kTailSpec);
  if (args.size() != 1) {
    return Fail(absl::InvalidArgumentError("expected one ring name"));
  }
  const std::string start = absl::GetFlag(FLAGS_start);
  if (start != "latest" && start != "oldest") {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("--start=", start, " is not latest or oldest")));
  }
  const int64_t max_records = absl::GetFlag(FLAGS_max_records);
  if (absl::Status valid =
          CheckFlagRange("max_records", max_records, 0, kMaxTailRecords);
      !valid.ok()) {
    return Fail(valid);
  }
  if (absl::Status files = CheckRingFiles(args[0]); !files.ok()) {
    return Fail(files);
  }
  const bool verify = absl::GetFlag(FLAGS_verify);
  const bool hex = absl::GetFlag(FLAGS_hex);
  shm::SharedByteReaderOptions options;
  options.name = absl::GetFlag(FLAGS_name);
  options.start =
      start == "oldest" ? ReaderStart::kOldest : ReaderStart::kLatest;
  auto attached = shm::SharedByteReader::Attach(args[0], options);
  if (!attached.ok()) return Fail(attached.status());
  shm::SharedByteReader& reader = **attached;
  // As `ringflow consume`: a segment truncated under this reader is
  // reported and ends the process with status 1, not SIGBUS.
  struct sigaction bus {};
  bus.sa_handler = [](int) {
    static constexpr char kMessage[] =
        "ringflow tail: a segment of the ring was truncated under this "
        "reader (SIGBUS); stopping\n";
    (void)!write(2, kMessage, sizeof(kMessage) - 1);
    _exit(1);
  };
  sigemptyset(&bus.sa_mask);
  sigaction(SIGBUS, &bus, nullptr);
  // Ready line: a parent (the demo) waits for it before publishing.
  std::printf("reader %s attached to %s at byte %lld\n", reader.name().c_str(),
              args[0].c_str(), static_cast<long long>(reader.position()));
  std::fflush(stdout);

  RecordVerifier verifier;
  int64_t seen = 0;
  shm::ConsumerState state = shm::ConsumerState::kOk;
  bool done = false;
  while (!done && (max_records == 0 || seen < max_records)) {
    state = reader.WaitFor(absl::Seconds(1));
    if (state == shm::ConsumerState::kTimeout) {
      if (absl::Status intact = reader.control().CheckIntact(); !intact.ok()) {
        return Fail(intact);
      }
      continue;
    }
    if (state != shm::ConsumerState::kOk) break;
    reader.ReadBatch(
        [&](std::span<const std::byte> record, int64_t position, bool) {
          if (done || (max_records > 0 && seen >= max_records)) return;
          ++seen;
          if (verify) {
            verifier.Observe(std::string_view(
                reinterpret_cast<const char*>(record.data()), record.size()));
            done = verifier.done();
          } else if (hex) {
            PrintHex(position, record);
          } else {
            PrintText(position, record);
          }
        });
    if (!verify) std::fflush(stdout);
  }
  const bool clean = done || (max_records > 0 && seen >= max_records);
  if (verify) {
    std::printf(
        "reader %s: %s records, %s payload bytes, %lld lost, %lld "
        "duplicated, %lld corrupt, %s skipped bytes, stopped: %s\n",
        reader.name().c_str(), WithSeparators(verifier.records()).c_str(),
        WithSeparators(verifier.payload_bytes()).c_str(),
        static_cast<long long>(verifier.lost()),
        static_cast<long long>(verifier.duplicated()),
        static_cast<long long>(verifier.corrupt()),
        WithSeparators(static_cast<int64_t>(reader.skipped_bytes())).c_str(),
        clean ? "done" : std::string(shm::ConsumerStateName(state)).c_str());
    std::fflush(stdout);
  }
  if (!clean) {
    if (state == shm::ConsumerState::kHalted) return Fail(reader.status());
    return Fail(state == shm::ConsumerState::kEvicted
                    ? absl::AbortedError(absl::StrCat(
                          "reader ", reader.name(), " was evicted from ring '",
                          args[0], "' after ", seen, " records"))
                    : absl::UnavailableError(absl::StrCat(
                          "the producer of ring '", args[0], "' is gone after ",
                          seen, " records (state ",
                          std::string(shm::ConsumerStateName(state)), ")")));
  }
  if (verify && (verifier.lost() != 0 || verifier.duplicated() != 0 ||
                 verifier.corrupt() != 0)) {
    return Fail(absl::DataLossError(
        absl::StrCat("verification failed: ", verifier.lost(), " lost, ",
                     verifier.duplicated(), " duplicated, ", verifier.corrupt(),
                     " corrupt")));
  }
  return 0;
}

}  // namespace ringflow::tools
