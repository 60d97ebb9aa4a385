#include "projections/runner.h"

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <exception>
#include <map>
#include <memory>
#include <utility>

#include "projections/store_state.h"
#include "protocol/event_record.h"
#include "storage/live_log.h"
#include "storage/projection_store.h"

namespace cairn::projections {

Runner::Runner(storage::EventStore* store,
               std::vector<std::unique_ptr<Projection>> projections,
               RunnerOptions options)
    : store_(store), options_(options), inbox_(std::make_shared<Inbox>()) {
  for (auto& p : projections) {
    Slot slot;
    slot.status.name = std::string(p->name());
    slot.status.version = p->version();
    for (auto& t : p->types()) slot.types.insert(std::move(t));
    slot.projection = std::move(p);
    slots_.push_back(std::move(slot));
  }
}

Runner::~Runner() { Stop(); }

Status Runner::Start() {
  std::set<std::string> names;
  for (const Slot& slot : slots_) {
    if (!names.insert(slot.status.name).second) {
      return Status::InvalidArgument("two projections are named " +
                                     slot.status.name);
    }
  }
  storage::ProjectionStore& store = store_->Projections();
  for (Slot& slot : slots_) {
    const std::string& name = slot.status.name;
    if (Status s = store.Open(name); !s.ok()) return s;
    // A checkpoint written by another version: rebuild from position 0
    // into a shadow while the old state serves.
    for (const std::string& tenant : store_->Tenants()) {
      auto cp = store.Checkpoint(name, tenant);
      if (!cp.has_value()) return cp.error();
      if (cp->version != 0 && cp->version != slot.status.version) {
        slot.rebuild_requested = true;
        slot.status.rebuilding = true;
        break;
      }
    }
  }
  {
    std::lock_guard lock(inbox_->mu);
    for (std::string& tenant : store_->Tenants()) {
      inbox_->dirty.insert(std::move(tenant));
    }
  }
  listener_ = store_->Live().AddCommitListener(
      [inbox = std::weak_ptr<Inbox>(inbox_)](std::string_view tenant) {
        if (auto in = inbox.lock()) {
          std::lock_guard lock(in->mu);
          // Only news wakes the thread: under a stream of commits, one
          // wake-up for a pass, not one for every commit.
          if (in->dirty.emplace(tenant).second) in->cv.notify_all();
        }
      });
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void Runner::Stop() {
  std::vector<Waiter> left;
  {
    std::lock_guard lock(inbox_->mu);
    inbox_->stopping = true;
    inbox_->cv.notify_all();
  }
  if (thread_.joinable()) thread_.join();
  if (listener_ != 0) {
    store_->Live().RemoveCommitListener(std::exchange(listener_, 0));
  }
  {
    std::lock_guard lock(inbox_->mu);
    left.swap(waiters_);
    prompt_waits_ = 0;
  }
  for (auto& w : left) w.done(false);
}

Status Runner::Rebuild(std::string_view name) {
  std::vector<std::string> tenants = store_->Tenants();
  std::lock_guard lock(inbox_->mu);
  for (Slot& slot : slots_) {
    if (slot.status.name != name) continue;
    slot.rebuild_requested = true;
    slot.status.rebuilding = true;
    // Wake the thread, with every tenant to go through.
    for (std::string& tenant : tenants) {
      inbox_->dirty.insert(std::move(tenant));
    }
    inbox_->cv.notify_all();
    return Status::Ok();
  }
  return Status::NotFound("no projection named " + std::string(name));
}

Status Runner::Rebuild(std::string_view name, std::string_view tenant) {
  std::lock_guard lock(inbox_->mu);
  for (Slot& slot : slots_) {
    if (slot.status.name != name) continue;
    TenantState& t = slot.tenants[std::string(tenant)];
    t.rebuild_requested = true;
    t.rebuilding = true;
    inbox_->dirty.emplace(tenant);
    inbox_->cv.notify_all();
    return Status::Ok();
  }
  return Status::NotFound("no projection named " + std::string(name));
}

bool Runner::Slot::FaultedFor(std::string_view tenant) const {
  if (status.faulted) return true;
  auto it = tenants.find(tenant);
  return it != tenants.end() && it->second.faulted;
}

Projection* Runner::Find(std::string_view name) const {
  for (const Slot& slot : slots_) {
    if (slot.status.name == name) return slot.projection.get();
  }
  return nullptr;
}

namespace {

// A tenant's part of a projection's status, added to `status`.
template <typename TenantState>
void AddTenant(const TenantState& t, ProjectionStatus* status) {
  status->rebuilding = status->rebuilding || t.rebuilding;
  status->skipped += t.skipped;
  if (!status->faulted && t.faulted) {
    status->faulted = true;
    status->error = t.error;
    status->fault_at = t.fault_at;
  }
}

}  // namespace

std::vector<ProjectionStatus> Runner::Statuses(std::string_view tenant) const {
  std::lock_guard lock(inbox_->mu);
  std::vector<ProjectionStatus> out;
  for (const Slot& slot : slots_) {
    ProjectionStatus& s = out.emplace_back(slot.status);
    if (auto it = slot.tenants.find(tenant); it != slot.tenants.end()) {
      AddTenant(it->second, &s);
    }
  }
  return out;
}

std::vector<ProjectionStatus> Runner::Statuses() const {
  std::lock_guard lock(inbox_->mu);
  std::vector<ProjectionStatus> out;
  for (const Slot& slot : slots_) {
    ProjectionStatus& s = out.emplace_back(slot.status);
    for (const auto& [tenant, t] : slot.tenants) AddTenant(t, &s);
  }
  return out;
}

uint64_t Runner::WhenApplied(std::string_view projection,
                             std::string_view tenant, uint64_t position,
                             std::function<void(bool)> done, Urgency urgency) {
  // What is committed already (before this runner applied anything).
  auto cp = store_->Projections().Checkpoint(projection, tenant);
  std::unique_lock lock(inbox_->mu);
  const auto key = std::pair(std::string(projection), std::string(tenant));
  uint64_t applied = cp.has_value() ? cp->next_position : 0;
  if (auto it = applied_.find(key); it != applied_.end()) {
    applied = std::max(applied, it->second);
  }
  bool faulted = inbox_->stopping;
  for (const Slot& slot : slots_) {
    if (slot.status.name == projection) {
      faulted = faulted || slot.FaultedFor(tenant);
    }
  }
  const uint64_t id = next_wait_++;
  if (applied > position || faulted) {
    lock.unlock();
    done(applied > position);
    return id;
  }
  waiters_.push_back(
      {id, key.first, key.second, position, std::move(done), urgency});
  if (urgency == Urgency::kPrompt) {
    ++prompt_waits_;
    inbox_->cv.notify_all();  // ends a gathering pause (Run)
  }
  return id;
}

void Runner::Forget(uint64_t wait) {
  std::lock_guard lock(inbox_->mu);
  std::erase_if(waiters_, [this, wait](const Waiter& w) {
    if (w.id != wait) return false;
    if (w.urgency == Urgency::kPrompt) --prompt_waits_;
    return true;
  });
}

bool Runner::WaitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(inbox_->mu);
  ++idle_waits_;  // ends a gathering pause (Run), as a reader's wait does
  inbox_->cv.notify_all();
  const bool idle = inbox_->cv.wait_for(
      lock, timeout, [this] { return inbox_->dirty.empty() && !busy_; });
  --idle_waits_;
  return idle;
}

void Runner::Run() {
  pthread_setname_np(pthread_self(), "cairn-projector");
  if (options_.nice > 0) {
    // This thread only (Linux's nice is per thread). A raise never needs
    // privileges; should it fail, the projector runs as before.
    setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), options_.nice);
  }
  bool passed = false;  // the last round caught tenants up
  std::chrono::steady_clock::duration last_round{};
  for (;;) {
    std::set<std::string> tenants;
    {
      std::unique_lock lock(inbox_->mu);
      busy_ = false;
      inbox_->cv.notify_all();  // WaitIdle
      if (passed && options_.gather.count() > 0) {
        inbox_->cv.wait_for(
            lock, PauseAfterRound(options_.gather, last_round), [this] {
              return inbox_->stopping || prompt_waits_ > 0 || idle_waits_ > 0;
            });
      }
      inbox_->cv.wait(
          lock, [this] { return inbox_->stopping || !inbox_->dirty.empty(); });
      if (inbox_->stopping) return;
      tenants.swap(inbox_->dirty);
      busy_ = true;
    }
    const auto round_started = std::chrono::steady_clock::now();
    for (Slot& slot : slots_) {
      bool rebuild;
      std::vector<std::string> tenant_rebuilds;
      {
        std::lock_guard lock(inbox_->mu);
        rebuild = std::exchange(slot.rebuild_requested, false);
        for (auto& [tenant, t] : slot.tenants) {
          if (std::exchange(t.rebuild_requested, false)) {
            tenant_rebuilds.push_back(tenant);
          }
        }
      }
      if (rebuild) {
        RebuildNow(slot);  // every tenant's, those asked for too
      } else {
        for (const std::string& tenant : tenant_rebuilds) {
          RebuildNow(slot, tenant);
        }
      }
    }
    for (const std::string& tenant : tenants) {
      std::vector<Slot*> running;
      {
        std::lock_guard lock(inbox_->mu);
        for (Slot& slot : slots_) {
          if (!slot.FaultedFor(tenant)) running.push_back(&slot);
        }
      }
      CatchUp(running, tenant);
    }
    passed = !tenants.empty();
    last_round = std::chrono::steady_clock::now() - round_started;
  }
}

std::chrono::microseconds Runner::PauseAfterRound(
    std::chrono::microseconds gather,
    std::chrono::steady_clock::duration round) {
  // A round takes long when it writes many learners' states, or when the
  // appends keep the cores busy (a nice projector yields to them): then
  // the next waits longer, and gathers more commits into fewer passes.
  const auto scaled =
      std::chrono::duration_cast<std::chrono::microseconds>(round * 4);
  return std::clamp(scaled, gather, gather * 10);
}

void Runner::RebuildNow(Slot& slot) {
  storage::ProjectionStore& store = store_->Projections();
  const auto shadow = storage::ProjectionStore::Target::kShadow;
  {
    std::lock_guard lock(inbox_->mu);
    slot.status.faulted = false;
    slot.status.error.clear();
    slot.status.fault_at.reset();
    for (auto& [tenant, t] : slot.tenants) {
      t.faulted = false;
      t.error.clear();
      t.fault_at.reset();
    }
  }
  if (Status s = store.StartRebuild(slot.status.name); !s.ok()) {
    return Fault(slot, nullptr, std::nullopt, s.ToString());
  }
  // Every tenant to its log end as it is now; commits meanwhile are caught
  // up by the live pass that follows the swap.
  const std::vector<std::string> tenants = store_->Tenants();
  for (const std::string& tenant : tenants) {
    if (!CatchUp({&slot}, tenant, shadow)) {
      // Faulted (or stopping): the old state stays in place.
      std::lock_guard lock(inbox_->mu);
      slot.status.rebuilding = false;
      for (auto& [name, t] : slot.tenants) t.rebuilding = false;
      return;
    }
  }
  if (Status s = store.FinishRebuild(slot.status.name); !s.ok()) {
    return Fault(slot, nullptr, std::nullopt, s.ToString());
  }
  ForgetCommitted(slot, nullptr);
  {
    std::lock_guard lock(inbox_->mu);
    slot.status.rebuilding = false;
    for (auto& [name, t] : slot.tenants) t.rebuilding = false;
    for (auto it = applied_.begin(); it != applied_.end();) {
      it = it->first.first == slot.status.name ? applied_.erase(it) : ++it;
    }
  }
  Swapped(slot, tenants);
}

void Runner::RebuildNow(Slot& slot, const std::string& tenant) {
  storage::ProjectionStore& store = store_->Projections();
  {
    std::lock_guard lock(inbox_->mu);
    TenantState& t = slot.tenants[tenant];
    t.faulted = false;
    t.error.clear();
    t.fault_at.reset();
  }
  // A tenant without events has no state to rebuild.
  if (store_->LogEnd(tenant).value() > 0) {
    if (Status s = store.StartRebuild(slot.status.name); !s.ok()) {
      return Fault(slot, &tenant, std::nullopt, s.ToString());
    }
    if (!CatchUp({&slot}, tenant, storage::ProjectionStore::Target::kShadow)) {
      std::lock_guard lock(inbox_->mu);
      slot.tenants[tenant].rebuilding = false;
      return;
    }
    if (Status s = store.FinishRebuild(slot.status.name, tenant); !s.ok()) {
      return Fault(slot, &tenant, std::nullopt, s.ToString());
    }
    ForgetCommitted(slot, &tenant);
  }
  {
    std::lock_guard lock(inbox_->mu);
    slot.tenants[tenant].rebuilding = false;
  }
  Swapped(slot, {tenant});
}

void Runner::Swapped(Slot& slot, std::vector<std::string> tenants) {
  // Read before the lock: the sequencer's commit listener takes it too.
  std::vector<std::pair<std::string, uint64_t>> applied;
  for (std::string& tenant : tenants) {
    auto cp = store_->Projections().Checkpoint(slot.status.name, tenant);
    applied.emplace_back(std::move(tenant),
                         cp.has_value() ? cp->next_position : 0);
  }
  std::vector<std::function<void()>> calls;
  {
    std::lock_guard lock(inbox_->mu);
    for (auto& [tenant, next] : applied) {
      applied_[{slot.status.name, tenant}] = next;
      inbox_->dirty.insert(std::move(tenant));
    }
    calls = Answerable();
  }
  for (auto& call : calls) call();
}

bool Runner::CatchUp(const std::vector<Slot*>& slots, const std::string& tenant,
                     storage::ProjectionStore::Target target) {
  // Those at the same checkpoint share one scan of the log: usually all of
  // them, as every pass takes each to the log end.
  std::map<uint64_t, std::vector<Slot*>> at;
  bool ok = true;
  for (Slot* slot : slots) {
    auto cp =
        store_->Projections().Checkpoint(slot->status.name, tenant, target);
    if (!cp.has_value()) {
      Fault(*slot, &tenant, std::nullopt, cp.error().ToString());
      ok = false;
      continue;
    }
    at[cp->next_position].push_back(slot);
  }
  const uint64_t end = store_->LogEnd(tenant).value();
  for (auto& [next, group] : at) {
    ok = CatchUpFrom(std::move(group), tenant, target, next, end) && ok;
  }
  return ok;
}

namespace {

// Events copied out of a scan (whose views last only for the visit), for
// the projections that share it to apply in turn.
class EventChunk {
 public:
  static constexpr size_t kEvents = 256;

  void Add(GlobalPosition position, const EventView& e) {
    Entry& entry = entries_.emplace_back();
    entry.position = position;
    entry.time_us = e.time_us;
    for (const auto& [field, text] :
         {std::pair{&entry.stream, e.stream}, std::pair{&entry.type, e.type},
          std::pair{&entry.data, e.data},
          std::pair{&entry.metadata, e.metadata}}) {
      *field = {bytes_.size(), text.size()};
      bytes_.append(text);
    }
  }
  size_t size() const { return entries_.size(); }
  // Each event in position order; its views last until Clear.
  template <typename Visit>
  void ForEach(Visit visit) const {
    for (const Entry& x : entries_) {
      visit(Event{x.position, View(x.stream), View(x.type), View(x.data),
                  View(x.metadata), x.time_us});
    }
  }
  void Clear() {
    entries_.clear();
    bytes_.clear();
  }

 private:
  struct Span {
    size_t at = 0;
    size_t size = 0;
  };
  struct Entry {
    GlobalPosition position;
    int64_t time_us = 0;
    Span stream, type, data, metadata;
  };
  std::string_view View(Span s) const {
    return std::string_view(bytes_).substr(s.at, s.size);
  }

  std::vector<Entry> entries_;
  std::string bytes_;  // every field of every entry, back to back
};

// One projection's part of a batch.
struct Pass {
  std::unique_ptr<storage::ProjectionWrite> write;
  std::unique_ptr<WriteState> state;
  std::optional<GlobalPosition> failed_at;
  std::string failure;
  uint64_t skipped = 0;
};

}  // namespace

bool Runner::CatchUpFrom(std::vector<Slot*> group, const std::string& tenant,
                         storage::ProjectionStore::Target target, uint64_t next,
                         uint64_t end) {
  storage::ProjectionStore& store = store_->Projections();
  const bool live = target == storage::ProjectionStore::Target::kLive;
  const size_t started = group.size();
  while (next < end && !group.empty()) {
    {
      std::lock_guard lock(inbox_->mu);
      if (inbox_->stopping) return false;
    }
    std::vector<Slot*> batch;
    std::vector<Pass> passes;
    for (Slot* slot : group) {
      auto write = store.Begin(slot->status.name, tenant, target);
      if (!write.has_value()) {
        Fault(*slot, &tenant, std::nullopt, write.error().ToString());
        continue;
      }
      Pass& pass = passes.emplace_back();
      pass.write = std::move(*write);
      pass.state = std::make_unique<WriteState>(
          *pass.write, live ? &slot->committed[tenant] : nullptr);
      batch.push_back(slot);
      slot->projection->BeginBatch();
    }
    storage::LogReadOptions options;
    options.from = next;
    options.until = end;
    options.limit = options_.batch_events;
    const auto apply = [&](size_t i, const Event& event) {
      Pass& pass = passes[i];
      if (pass.failed_at) return;  // the rest of the batch is not applied
      // The runner filters by type itself: a read filtered through the log
      // index would fetch each record alone, where this scan reads them in
      // order, once for every projection.
      const auto& types = batch[i]->types;
      if (!types.empty() && !types.contains(event.type)) return;
      try {
        auto applied = batch[i]->projection->Apply(event, *pass.state);
        if (!applied.has_value()) {
          pass.failed_at = event.position;
          pass.failure = applied.error().ToString();
        } else if (*applied == Applied::kSkipped) {
          ++pass.skipped;
        }
      } catch (const std::exception& ex) {
        pass.failed_at = event.position;
        pass.failure = ex.what();
      } catch (...) {
        pass.failed_at = event.position;
        pass.failure = "an exception that is not a std::exception";
      }
    };
    // Several projections take the scan's events a chunk at a time, each
    // the whole chunk in turn: handing each event to every projection in
    // turn was slower, as each evicted the others' learners from the
    // caches (docs/BENCHMARKS.md, "Projections").
    EventChunk chunk;
    const auto apply_chunk = [&] {
      for (size_t i = 0; i < batch.size(); ++i) {
        chunk.ForEach([&](const Event& event) { apply(i, event); });
      }
      chunk.Clear();
    };
    auto scanned = store_->ScanLog(
        tenant, options, [&](GlobalPosition position, const EventView& e) {
          if (batch.size() == 1) {
            apply(0,
                  {position, e.stream, e.type, e.data, e.metadata, e.time_us});
            return;
          }
          chunk.Add(position, e);
          if (chunk.size() == EventChunk::kEvents) apply_chunk();
        });
    if (scanned.has_value()) apply_chunk();
    const uint64_t done = scanned.has_value() ? scanned->value_or(end) : next;
    // Each projection's batch ends alone: one that failed keeps nothing of
    // it and stays at its checkpoint, before the event it failed on; the
    // others commit.
    const auto finish = [&](Slot& slot, Pass& pass) {
      if (!scanned.has_value() || pass.failed_at) {
        slot.projection->AbortBatch();
        Fault(slot, &tenant, pass.failed_at,
              scanned.has_value() ? pass.failure : scanned.error().ToString());
        return false;
      }
      try {
        if (Status s = slot.projection->EndBatch(*pass.state); !s.ok()) {
          Fault(slot, &tenant, std::nullopt, s.ToString());
          return false;
        }
      } catch (const std::exception& ex) {
        Fault(slot, &tenant, std::nullopt, ex.what());
        return false;
      }
      pass.state->Flush();
      if (Status s = store.Commit(*pass.write, {done, slot.status.version});
          !s.ok()) {
        Fault(slot, &tenant, std::nullopt, s.ToString());
        return false;
      }
      if (live) {
        const CommittedCache& cache = slot.committed[tenant];
        committed_bytes_ -= cache.bytes();
        pass.state->Committed();
        committed_bytes_ += cache.bytes();
      }
      return true;
    };
    group.clear();
    for (size_t i = 0; i < batch.size(); ++i) {
      if (finish(*batch[i], passes[i])) group.push_back(batch[i]);
    }
    if (committed_bytes_ > options_.committed_cache_bytes) {
      for (Slot& slot : slots_) ForgetCommitted(slot, nullptr);
    }
    next = done;
    std::vector<std::function<void()>> calls;
    {
      std::lock_guard lock(inbox_->mu);
      for (size_t i = 0; i < batch.size(); ++i) {
        batch[i]->tenants[tenant].skipped += passes[i].skipped;
      }
      // A shadow's progress is nobody's to wait on until it is swapped in.
      if (live) {
        for (Slot* slot : group) applied_[{slot->status.name, tenant}] = next;
        calls = Answerable();
      }
    }
    for (auto& call : calls) call();
  }
  return group.size() == started;
}

void Runner::ForgetCommitted(Slot& slot, const std::string* tenant) {
  for (auto it = slot.committed.begin(); it != slot.committed.end();) {
    if (tenant != nullptr && it->first != *tenant) {
      ++it;
      continue;
    }
    committed_bytes_ -= it->second.bytes();
    it = slot.committed.erase(it);
  }
}

void Runner::Fault(Slot& slot, const std::string* tenant,
                   std::optional<GlobalPosition> at, std::string error) {
  ForgetCommitted(slot, tenant);
  std::vector<std::function<void()>> calls;
  {
    std::lock_guard lock(inbox_->mu);
    if (tenant != nullptr) {
      TenantState& t = slot.tenants[*tenant];
      t.faulted = true;
      t.rebuilding = false;
      t.fault_at = at;
      t.error = std::move(error);
    } else {
      slot.status.faulted = true;
      slot.status.rebuilding = false;
      slot.status.fault_at = at;
      slot.status.error = std::move(error);
    }
    calls = Answerable();
  }
  for (auto& call : calls) call();
}

std::vector<std::function<void()>> Runner::Answerable() {
  std::vector<std::function<void()>> calls;
  std::erase_if(waiters_, [&](Waiter& w) {
    auto it = applied_.find({w.projection, w.tenant});
    const bool applied = it != applied_.end() && it->second > w.position;
    bool faulted = false;
    for (const Slot& slot : slots_) {
      if (slot.status.name == w.projection) {
        faulted = slot.FaultedFor(w.tenant);
      }
    }
    if (!applied && !faulted) return false;
    calls.push_back([done = std::move(w.done), applied] { done(applied); });
    if (w.urgency == Urgency::kPrompt) --prompt_waits_;
    return true;
  });
  return calls;
}

}  // namespace cairn::projections
