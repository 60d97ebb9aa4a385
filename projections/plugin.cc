#include "projections/plugin.h"

#include <dlfcn.h>

#include <vector>

#include "projections/plugin_abi.h"

namespace cairn::projections {
namespace {

cairn_bytes Bytes(std::string_view s) { return {s.data(), s.size()}; }
std::string_view View(cairn_bytes b) { return {b.data, b.size}; }

// The C state over a State, for the duration of one apply.
struct StateBridge {
  State* state;
  std::string value;  // what the last get returned

  static int Get(void* context, cairn_bytes key, cairn_bytes* value) {
    auto* self = static_cast<StateBridge*>(context);
    try {
      auto v = self->state->Get(View(key));
      if (!v) return 0;
      self->value = std::move(*v);
      *value = Bytes(self->value);
      return 1;
    } catch (...) {
      return -1;
    }
  }
  static void Put(void* context, cairn_bytes key, cairn_bytes value) {
    static_cast<StateBridge*>(context)->state->Put(View(key), View(value));
  }
  static void Remove(void* context, cairn_bytes key) {
    static_cast<StateBridge*>(context)->state->Delete(View(key));
  }
};

class PluginProjection final : public Projection {
 public:
  PluginProjection(void* library, const cairn_projection* p)
      : library_(library), p_(p) {
    for (const char* const* t = p->types; t != nullptr && *t != nullptr; ++t) {
      types_.emplace_back(*t);
    }
  }
  ~PluginProjection() override { dlclose(library_); }

  std::string_view name() const override { return p_->name; }
  uint32_t version() const override { return p_->version; }
  std::vector<std::string> types() const override { return types_; }

  Result<Applied> Apply(const Event& e, State& state) override {
    const cairn_event event{e.position.value(), Bytes(e.stream),
                            Bytes(e.type),      Bytes(e.data),
                            Bytes(e.metadata),  e.time_us};
    StateBridge bridge{&state, {}};
    const cairn_state c_state{&bridge, &StateBridge::Get, &StateBridge::Put,
                              &StateBridge::Remove};
    const char* error = nullptr;
    switch (p_->apply(&event, &c_state, &error)) {
      case CAIRN_APPLIED:
        return Applied::kApplied;
      case CAIRN_IGNORED:
        return Applied::kIgnored;
      case CAIRN_SKIPPED:
        return Applied::kSkipped;
      default:
        return Status::Internal(error != nullptr ? error : "the plugin failed");
    }
  }

 private:
  void* const library_;
  const cairn_projection* const p_;
  std::vector<std::string> types_;
};

}  // namespace

Result<std::unique_ptr<Projection>> LoadPlugin(const std::string& path) {
  void* library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    return Status::InvalidArgument("cannot load projection plugin " + path +
                                   ": " + dlerror());
  }
  auto entry = reinterpret_cast<cairn_projection_entry_fn>(
      dlsym(library, CAIRN_PROJECTION_ENTRY));
  const cairn_projection* p = entry != nullptr ? entry() : nullptr;
  if (p == nullptr) {
    dlclose(library);
    return Status::InvalidArgument("projection plugin " + path + " has no " +
                                   CAIRN_PROJECTION_ENTRY + " entry point");
  }
  if (p->abi_version != CAIRN_PROJECTION_ABI_VERSION) {
    const uint32_t abi = p->abi_version;
    dlclose(library);
    return Status::InvalidArgument(
        "projection plugin " + path + " was built for ABI version " +
        std::to_string(abi) + "; this server takes version " +
        std::to_string(CAIRN_PROJECTION_ABI_VERSION));
  }
  if (p->name == nullptr || *p->name == '\0' || p->apply == nullptr) {
    dlclose(library);
    return Status::InvalidArgument("projection plugin " + path +
                                   " has no name or no apply function");
  }
  return std::unique_ptr<Projection>(
      std::make_unique<PluginProjection>(library, p));
}

}  // namespace cairn::projections
