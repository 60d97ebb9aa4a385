#include "projections/runner.h"

#include <pthread.h>

#include <exception>
#include <utility>

#include "projections/store_state.h"
#include "protocol/event_record.h"
#include "storage/live_log.h"
#include "storage/projection_store.h"

namespace cairn::projections {

namespace {

// Events per commit of a projection's state and checkpoint: large enough
// that a learner's state is read and written once for many of their events
// (WriteState keeps it in memory for the batch).
constexpr size_t kBatchEvents = 10'000;

}  // namespace

Runner::Runner(storage::EventStore* store,
               std::vector<std::unique_ptr<Projection>> projections)
    : store_(store), inbox_(std::make_shared<Inbox>()) {
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
          in->dirty.emplace(tenant);
          in->cv.notify_all();
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
                             std::function<void(bool)> done) {
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
  waiters_.push_back({id, key.first, key.second, position, std::move(done)});
  return id;
}

void Runner::Forget(uint64_t wait) {
  std::lock_guard lock(inbox_->mu);
  std::erase_if(waiters_, [wait](const Waiter& w) { return w.id == wait; });
}

bool Runner::WaitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(inbox_->mu);
  return inbox_->cv.wait_for(
      lock, timeout, [this] { return inbox_->dirty.empty() && !busy_; });
}

void Runner::Run() {
  pthread_setname_np(pthread_self(), "cairn-projector");
  for (;;) {
    std::set<std::string> tenants;
    {
      std::unique_lock lock(inbox_->mu);
      busy_ = false;
      inbox_->cv.notify_all();  // WaitIdle
      inbox_->cv.wait(
          lock, [this] { return inbox_->stopping || !inbox_->dirty.empty(); });
      if (inbox_->stopping) return;
      tenants.swap(inbox_->dirty);
      busy_ = true;
    }
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
      for (Slot& slot : slots_) {
        bool faulted;
        {
          std::lock_guard lock(inbox_->mu);
          faulted = slot.FaultedFor(tenant);
        }
        if (!faulted) CatchUp(slot, tenant);
      }
    }
  }
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
    if (!CatchUp(slot, tenant, shadow)) {
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
    if (!CatchUp(slot, tenant, storage::ProjectionStore::Target::kShadow)) {
      std::lock_guard lock(inbox_->mu);
      slot.tenants[tenant].rebuilding = false;
      return;
    }
    if (Status s = store.FinishRebuild(slot.status.name, tenant); !s.ok()) {
      return Fault(slot, &tenant, std::nullopt, s.ToString());
    }
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

bool Runner::CatchUp(Slot& slot, const std::string& tenant,
                     storage::ProjectionStore::Target target) {
  storage::ProjectionStore& store = store_->Projections();
  const std::string& name = slot.status.name;
  const bool live = target == storage::ProjectionStore::Target::kLive;
  auto cp = store.Checkpoint(name, tenant, target);
  if (!cp.has_value()) {
    Fault(slot, &tenant, std::nullopt, cp.error().ToString());
    return false;
  }
  uint64_t next = cp->next_position;
  const uint64_t end = store_->LogEnd(tenant).value();
  while (next < end) {
    {
      std::lock_guard lock(inbox_->mu);
      if (inbox_->stopping) return false;
    }
    auto write = store.Begin(name, tenant, target);
    if (!write.has_value()) {
      Fault(slot, &tenant, std::nullopt, write.error().ToString());
      return false;
    }
    WriteState state(**write);
    storage::LogReadOptions options;
    options.from = next;
    options.until = end;
    options.limit = kBatchEvents;
    std::optional<GlobalPosition> failed_at;
    std::string failure;
    uint64_t skipped = 0;
    slot.projection->BeginBatch();
    auto scanned = store_->ScanLog(
        tenant, options, [&](GlobalPosition position, const EventView& e) {
          if (failed_at) return;  // the rest of the batch is not applied
          // The runner filters by type itself: a read filtered through the
          // log index would fetch each record alone, where this scan reads
          // them in order.
          if (!slot.types.empty() && !slot.types.contains(e.type)) return;
          Event event{position, e.stream,   e.type,
                      e.data,   e.metadata, e.time_us};
          try {
            auto applied = slot.projection->Apply(event, state);
            if (!applied.has_value()) {
              failed_at = position;
              failure = applied.error().ToString();
            } else if (*applied == Applied::kSkipped) {
              ++skipped;
            }
          } catch (const std::exception& ex) {
            failed_at = position;
            failure = ex.what();
          } catch (...) {
            failed_at = position;
            failure = "an exception that is not a std::exception";
          }
        });
    if (!scanned.has_value()) {
      slot.projection->AbortBatch();
      Fault(slot, &tenant, std::nullopt, scanned.error().ToString());
      return false;
    }
    // Nothing of a batch that failed is committed: the projection stays at
    // its checkpoint, before the event it failed on.
    if (failed_at) {
      slot.projection->AbortBatch();
      Fault(slot, &tenant, failed_at, failure);
      return false;
    }
    try {
      if (Status s = slot.projection->EndBatch(state); !s.ok()) {
        Fault(slot, &tenant, std::nullopt, s.ToString());
        return false;
      }
    } catch (const std::exception& ex) {
      Fault(slot, &tenant, std::nullopt, ex.what());
      return false;
    }
    state.Flush();
    const uint64_t done = scanned->value_or(end);
    if (Status s = store.Commit(**write, {done, slot.status.version});
        !s.ok()) {
      Fault(slot, &tenant, std::nullopt, s.ToString());
      return false;
    }
    next = done;
    std::vector<std::function<void()>> calls;
    {
      std::lock_guard lock(inbox_->mu);
      slot.tenants[tenant].skipped += skipped;
      // A shadow's progress is nobody's to wait on until it is swapped in.
      if (live) {
        applied_[{name, tenant}] = next;
        calls = Answerable();
      }
    }
    for (auto& call : calls) call();
  }
  return true;
}

void Runner::Fault(Slot& slot, const std::string* tenant,
                   std::optional<GlobalPosition> at, std::string error) {
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
    return true;
  });
  return calls;
}

}  // namespace cairn::projections
