// cairnctl: the admin CLI of Cairn (docs/OPERATIONS.md, "cairnctl"). This
// file is the command line: every command, its options and its help; the
// work is in commands.cc.

#include <CLI/CLI.hpp>
#include <functional>
#include <iostream>

#include "tools/cairnctl/commands.h"

namespace cairn::cairnctl {
namespace {

// An option whose absence means something of its own ("from the end"):
// its value, once given.
template <typename T>
struct Maybe {
  T value{};
  CLI::Option* option = nullptr;
  std::optional<T> get() const {
    return option->count() > 0 ? std::optional(value) : std::nullopt;
  }
};

int Main(int argc, char** argv) {
  CLI::App app{
      "cairnctl: inspect and administer a Cairn event store, through a "
      "running cairnd (--server) or a data directory (--data-dir)"};
  app.require_subcommand(1);
  // Global options stand before or after the command: a subcommand hands
  // the options it does not know to its parent.
  app.fallthrough();

  GlobalOptions g;
  app.add_option("--server", g.server, "cairnd's URL, http://HOST:PORT")
      ->envname("CAIRN_SERVER")
      ->capture_default_str();
  app.add_option("--token", g.token, "a bearer token (JWT) for the server")
      ->envname("CAIRN_TOKEN");
  app.add_option("--tenant", g.tenant,
                 "the tenant: X-Cairn-Tenant for a --dev server; the tenant "
                 "read in a data directory (default: default)")
      ->envname("CAIRN_TENANT");
  app.add_option("--data-dir", g.data_dir,
                 "a data directory, opened read-only (beside a running "
                 "server or not) instead of --server; for backup restore, "
                 "the empty directory to restore into");
  // No CAIRN_DATA_DIR: that is cairnd's variable, and a shell that exports
  // it for the server must not turn every cairnctl command into a read of
  // the directory.
  app.add_flag("--json", g.json, "JSON for scripts instead of tables");
  app.add_option("--timeout-ms", g.timeout_ms,
                 "how long to wait for the server's answer")
      ->capture_default_str()
      ->check(CLI::Range(1u, 3'600'000u));

  // The command that parsed, run once parsing is over: parse errors and
  // command failures end the process differently.
  std::function<void(Context&)> run;
  const auto on = [&run](CLI::App* cmd, std::function<void(Context&)> f) {
    cmd->callback([&run, f] { run = f; });
  };

  // streams list
  CLI::App* streams = app.add_subcommand("streams", "the tenant's streams");
  streams->require_subcommand(1);
  auto list_query = std::make_shared<StreamListQuery>();
  CLI::App* streams_list =
      streams->add_subcommand("list", "live streams, in stream-id order");
  streams_list->add_option("--prefix", list_query->prefix,
                           "only stream ids that start with this");
  streams_list->add_option("--after", list_query->after,
                           "only stream ids after this (the next page)");
  streams_list->add_option("--limit", list_query->limit, "streams per page")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{10'000}));
  on(streams_list,
     [list_query](Context& ctx) { StreamsList(ctx, *list_query); });

  // stream info|read|delete
  CLI::App* stream = app.add_subcommand("stream", "one stream");
  stream->require_subcommand(1);
  auto stream_id = std::make_shared<std::string>();
  CLI::App* info =
      stream->add_subcommand("info", "a stream's head and metadata");
  info->add_option("stream", *stream_id, "the stream id")->required();
  on(info, [stream_id](Context& ctx) { StreamInfo(ctx, *stream_id); });

  auto read_query = std::make_shared<StreamReadQuery>();
  auto read_from = std::make_shared<Maybe<uint64_t>>();
  CLI::App* read =
      stream->add_subcommand("read", "a page of a stream's events");
  read->add_option("stream", *stream_id, "the stream id")->required();
  read_from->option =
      read->add_option("--from", read_from->value,
                       "the first revision (default: the start, or the end "
                       "with --backward)");
  read->add_option("--limit", read_query->limit, "events per page")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{10'000}));
  read->add_flag("--backward", read_query->backward, "newest first");
  on(read, [stream_id, read_query, read_from](Context& ctx) {
    read_query->from = read_from->get();
    StreamRead(ctx, *stream_id, *read_query);
  });

  auto expected = std::make_shared<Maybe<uint64_t>>();
  auto tombstone = std::make_shared<bool>(false);
  CLI::App* del = stream->add_subcommand(
      "delete", "soft-delete a stream (or close it for good: --tombstone)");
  del->add_option("stream", *stream_id, "the stream id")->required();
  expected->option =
      del->add_option("--expected-revision", expected->value,
                      "fail unless the stream's last revision is this");
  del->add_flag("--tombstone", *tombstone,
                "closed for good: every later read or append is refused");
  on(del, [stream_id, expected, tombstone](Context& ctx) {
    StreamDelete(ctx, *stream_id, expected->get(), *tombstone);
  });

  // events tail
  CLI::App* events = app.add_subcommand("events", "the tenant's log");
  events->require_subcommand(1);
  auto tail = std::make_shared<TailOptions>();
  auto tail_from = std::make_shared<Maybe<uint64_t>>();
  CLI::App* tail_cmd = events->add_subcommand(
      "tail", "the last events of the log; --follow goes on with new ones");
  tail_cmd
      ->add_option("--last", tail->last,
                   "start this many positions before the end")
      ->capture_default_str();
  tail_from->option = tail_cmd->add_option("--from", tail_from->value,
                                           "start at this position instead");
  tail_cmd->add_option("--type", tail->types,
                       "only events of this type; repeatable");
  tail_cmd->add_option("--category", tail->categories,
                       "only events of streams in this category; repeatable");
  tail_cmd->add_flag("--follow,-f", tail->follow,
                     "keep going with events as they are appended, until "
                     "interrupted (needs --server)");
  on(tail_cmd, [tail, tail_from](Context& ctx) {
    tail->from = tail_from->get();
    EventsTail(ctx, *tail);
  });

  // append
  auto append = std::make_shared<AppendOptions>();
  CLI::App* append_cmd = app.add_subcommand(
      "append", "append one event (or the request body of --body) to a stream");
  append_cmd->add_option("stream", append->stream, "the stream id")->required();
  append_cmd->add_option("--type", append->type, "the event's type");
  append_cmd->add_option("--data", append->data, "the event's data, JSON")
      ->capture_default_str();
  append_cmd->add_option("--metadata", append->metadata,
                         "the event's metadata, a JSON object");
  append_cmd->add_option("--id", append->id,
                         "the event's id (a UUID), for an idempotent retry");
  append_cmd
      ->add_option("--expected-revision", append->expected_revision,
                   "any, no_stream, exists, or the stream's last "
                   "revision")
      ->default_str("any");
  append->expected_revision = "any";
  append_cmd
      ->add_option("--body", append->body_file,
                   "a file holding the whole request body, several events "
                   "at once (- for stdin)")
      ->excludes("--type")
      ->excludes("--metadata")
      ->excludes("--id");
  on(append_cmd, [append](Context& ctx) { Append(ctx, *append); });

  // projections list|rebuild
  CLI::App* projections =
      app.add_subcommand("projections", "the read models' projections");
  projections->require_subcommand(1);
  on(projections->add_subcommand(
         "list", "each projection's version, status, checkpoint and lag"),
     [](Context& ctx) { ProjectionsList(ctx); });
  auto projection = std::make_shared<std::string>();
  CLI::App* rebuild = projections->add_subcommand(
      "rebuild", "rebuild the tenant's read model from its log (scope admin)");
  rebuild->add_option("name", *projection, "the projection")->required();
  on(rebuild,
     [projection](Context& ctx) { ProjectionsRebuild(ctx, *projection); });

  // backup create|list|restore
  CLI::App* backup = app.add_subcommand("backup", "online backups");
  backup->require_subcommand(1);
  on(backup->add_subcommand(
         "create", "take a consistent backup while writes go on (scope admin)"),
     [](Context& ctx) { BackupCreate(ctx); });
  auto backup_dir = std::make_shared<std::string>();
  CLI::App* backup_list = backup->add_subcommand(
      "list", "the backups, from the server or from --backup-dir");
  backup_list->add_option("--backup-dir", *backup_dir,
                          "list this backup directory instead of asking the "
                          "server");
  on(backup_list, [backup_dir](Context& ctx) { BackupList(ctx, *backup_dir); });
  auto backup_id = std::make_shared<Maybe<uint32_t>>();
  CLI::App* restore = backup->add_subcommand(
      "restore",
      "restore a backup into --data-dir, which must be new or empty (offline)");
  restore->add_option("--backup-dir", *backup_dir, "the backup directory")
      ->required();
  backup_id->option = restore->add_option("--id", backup_id->value,
                                          "the backup (default: the newest)");
  on(restore, [backup_dir, backup_id](Context& ctx) {
    BackupRestore(ctx, *backup_dir, backup_id->get());
  });

  // inspect
  auto verify = std::make_shared<bool>(false);
  CLI::App* inspect = app.add_subcommand(
      "inspect",
      "per tenant its streams and events, bytes per column family and the "
      "projections' checkpoints, of --data-dir");
  inspect->add_flag("--verify", *verify,
                    "check every invariant too (gapless positions, the "
                    "stream index, every record, checkpoints); exit 1 on "
                    "any problem");
  on(inspect, [verify](Context& ctx) { Inspect(ctx, *verify); });

  // token mint
  CLI::App* token = app.add_subcommand("token", "bearer tokens");
  token->require_subcommand(1);
  auto mint = std::make_shared<MintOptions>();
  CLI::App* mint_cmd = token->add_subcommand(
      "mint",
      "an HS256 token for development and tests, signed with the "
      "server's secret file, for --tenant");
  mint_cmd
      ->add_option("--secret-file", mint->secret_file,
                   "the file given to cairnd --jwt-secret-file")
      ->required();
  mint_cmd->add_option("--subject", mint->subject, "the principal (sub)")
      ->required();
  mint_cmd
      ->add_option("--scope", mint->scopes,
                   "events:append, events:read, read-models:read, admin "
                   "or self; repeatable")
      ->required();
  mint_cmd->add_option("--ttl-seconds", mint->ttl_seconds, "its lifetime")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{366} * 86'400));
  mint_cmd->add_option("--issuer", mint->issuer, "iss, when cairnd checks it");
  mint_cmd->add_option("--audience", mint->audience,
                       "aud, when cairnd checks it");
  mint_cmd
      ->add_option("--tenant-claim", mint->tenant_claim,
                   "the claim naming the tenant (cairnd --tenant-claim)")
      ->capture_default_str();
  on(mint_cmd, [mint](Context& ctx) { TokenMint(ctx, *mint); });

  // A command's help lists its own options; the global ones are the
  // parent's, so every command's help names them too.
  std::function<void(CLI::App*)> add_footer = [&](CLI::App* cmd) {
    for (CLI::App* sub : cmd->get_subcommands({})) {
      sub->footer(
          "Global options, before or after the command (see cairnctl --help):\n"
          "  --server URL, --token T, --tenant T, --data-dir DIR, --json, "
          "--timeout-ms N");
      add_footer(sub);
    }
  };
  add_footer(&app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "cairnctl: " << e.what() << " (see --help)\n";
    return kExitUsage;
  }
  try {
    Context ctx(g);
    run(ctx);
  } catch (const CommandError& e) {
    std::cout.flush();
    std::cerr << "cairnctl: " << e.what() << '\n';
    return e.code();
  } catch (const std::exception& e) {
    // A reply that is not the JSON the API promises, say: a bug or not
    // cairnd at all.
    std::cout.flush();
    std::cerr << "cairnctl: unexpected answer: " << e.what() << '\n';
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace
}  // namespace cairn::cairnctl

int main(int argc, char** argv) { return cairn::cairnctl::Main(argc, argv); }
