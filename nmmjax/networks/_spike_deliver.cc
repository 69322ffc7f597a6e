// Spike delivery for nmmjax.networks.spiking on CPU: one XLA FFI call per
// step instead of ~40 small XLA kernels (finding the spiking neurons, slicing
// their rows of the synapse table, scatter-adding them).
//
// For every neuron i that spiked, in ascending order, and every column c of
// its row (in order), the weight w[i, c] is added to out[pos], where
//   pos = t                                   without delays (n_slots == 1),
//   pos = ((step + d[i, c]) % n_slots) * width + t   with delays,
// t = targets[i, c] (entries >= n_valid are padding and skipped). This is the
// order in which the pure-JAX path's scatter adds, so both give the same bits.
//
// Before the additions, block c of out (out has n_scale equal blocks) is
// pending's block c times scale[c]: the channels' exponential decay, done in
// the same pass (n_scale = 0: out starts as pending).
//
// pending and out have `rank` own (trailing) dimensions, flattened to m.
//
// Batching (jax.vmap with vmap_method="expand_dims"): every operand has
// leading batch dimensions whose product is either the output's batch size B
// or 1 (shared by the whole batch, e.g. one synapse table for many runs).
//
// Built on first use by nmmjax/networks/_spike_ffi.py (g++ -O3 -shared).

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

int64_t Leading(ffi::AnyBuffer::Dimensions dims, int64_t trailing) {
  int64_t b = 1;
  for (int64_t k = 0; k + trailing < static_cast<int64_t>(dims.size()); ++k) b *= dims[k];
  return b;
}

int64_t Dim(ffi::AnyBuffer::Dimensions dims, int64_t from_end) {
  return dims[dims.size() - from_end];
}

int64_t Trailing(ffi::AnyBuffer::Dimensions dims, int64_t rank) {
  int64_t m = 1;
  for (int64_t k = 1; k <= rank; ++k) m *= Dim(dims, k);
  return m;
}

// The first i >= from with sp[i] (n if none): skips 8 silent neurons per
// load, since few of them spike in any step.
inline int64_t NextSpike(const bool* sp, int64_t from, int64_t n) {
  int64_t i = from;
  while (i < n && (i & 7)) {
    if (sp[i]) return i;
    ++i;
  }
  for (; i + 8 <= n; i += 8) {
    uint64_t word;
    std::memcpy(&word, sp + i, 8);
    if (word) return i + __builtin_ctzll(word) / 8;  // little-endian: lowest byte first
  }
  for (; i < n; ++i)
    if (sp[i]) return i;
  return n;
}

template <typename T>
void Deliver(const bool* spike, const int32_t* targets, const T* weights,
             const int32_t* delays, const int32_t* step, const T* pending, const T* scale,
             int64_t n_scale, T* out,
             int64_t batch, int64_t n, int64_t rows, int64_t k, int64_t m,
             bool b_spike, bool b_tg, bool b_w, bool b_delay, bool b_step, bool b_pend,
             int64_t n_slots, int64_t width, int64_t n_valid) {
  for (int64_t b = 0; b < batch; ++b) {
    const bool* sp = spike + (b_spike ? b * n : 0);
    const int32_t* tg = targets + (b_tg ? b * rows * k : 0);
    const T* w = weights + (b_w ? b * rows * k : 0);
    const T* src = pending + (b_pend ? b * m : 0);
    T* dst = out + b * m;
    if (n_scale > 0) {
      const int64_t block = m / n_scale;
      for (int64_t c = 0; c < n_scale; ++c) {
        const T f = scale[c];
        for (int64_t j = c * block; j < (c + 1) * block; ++j) dst[j] = src[j] * f;
      }
    } else if (dst != src) {
      std::memcpy(dst, src, sizeof(T) * m);
    }
    if (n_slots > 1) {
      const int32_t* dl = delays + (b_delay ? b * rows * k : 0);
      const int64_t s = step[b_step ? b : 0];
      for (int64_t i = NextSpike(sp, 0, n); i < n; i = NextSpike(sp, i + 1, n)) {
        for (int64_t c = 0; c < k; ++c) {
          const int64_t t = tg[i * k + c];
          if (t >= n_valid) continue;
          dst[((s + dl[i * k + c]) % n_slots) * width + t] += w[i * k + c];
        }
      }
    } else {
      for (int64_t i = NextSpike(sp, 0, n); i < n; i = NextSpike(sp, i + 1, n)) {
        for (int64_t c = 0; c < k; ++c) {
          const int64_t t = tg[i * k + c];
          if (t < n_valid) dst[t] += w[i * k + c];
        }
      }
    }
  }
}

ffi::Error DeliverImpl(ffi::Buffer<ffi::PRED> spike, ffi::Buffer<ffi::S32> targets,
                       ffi::AnyBuffer weights, ffi::Buffer<ffi::S32> delays,
                       ffi::Buffer<ffi::S32> step, ffi::AnyBuffer pending,
                       ffi::AnyBuffer scale, ffi::Result<ffi::AnyBuffer> out, int64_t n_slots, int64_t width,
                       int64_t n_valid, int64_t rank) {
  if (rank < 1 || static_cast<int64_t>(out->dimensions().size()) < rank)
    return ffi::Error::InvalidArgument("pending has fewer dimensions than `rank`");
  const int64_t batch = Leading(out->dimensions(), rank);
  const int64_t m = Trailing(out->dimensions(), rank);
  const int64_t n = Dim(spike.dimensions(), 1);
  const int64_t rows = Dim(targets.dimensions(), 2);
  const int64_t k = Dim(targets.dimensions(), 1);
  if (rows < n) return ffi::Error::InvalidArgument("synapse table has fewer rows than neurons");
  if (Trailing(pending.dimensions(), rank) != m)
    return ffi::Error::InvalidArgument("pending and output sizes differ");
  if (n_slots > 1 && (Dim(delays.dimensions(), 2) != rows || Dim(delays.dimensions(), 1) != k))
    return ffi::Error::InvalidArgument("delays must be shaped like targets");
  auto batched = [batch](int64_t b, bool* is) {
    *is = b == batch && batch != 1;
    return b == batch || b == 1;
  };
  bool b_spike, b_tg, b_w, b_delay = false, b_step, b_pend;
  if (Dim(weights.dimensions(), 2) != rows || Dim(weights.dimensions(), 1) != k)
    return ffi::Error::InvalidArgument("weights must be shaped like targets");
  if (!batched(Leading(spike.dimensions(), 1), &b_spike) ||
      !batched(Leading(targets.dimensions(), 2), &b_tg) ||
      !batched(Leading(weights.dimensions(), 2), &b_w) ||
      !batched(step.element_count(), &b_step) ||
      !batched(Leading(pending.dimensions(), rank), &b_pend) ||
      (n_slots > 1 && !batched(Leading(delays.dimensions(), 2), &b_delay)))
    return ffi::Error::InvalidArgument(
        "every operand's batch size must be the output's or 1");
  const int64_t n_scale = scale.element_count();
  if (weights.element_type() != out->element_type() ||
      pending.element_type() != out->element_type() ||
      scale.element_type() != out->element_type())
    return ffi::Error::InvalidArgument("weights, pending, scale and output must share a dtype");
  if (n_scale > 0 && (Dim(scale.dimensions(), 1) != n_scale || m % n_scale != 0))
    return ffi::Error::InvalidArgument("scale must be shared by the batch, (C,) with C dividing the size");
  const bool* sp = spike.typed_data();
  const int32_t* tg = targets.typed_data();
  const int32_t* dl = delays.typed_data();
  const int32_t* st = step.typed_data();
  switch (out->element_type()) {
    case ffi::DataType::F32:
      Deliver<float>(sp, tg, static_cast<const float*>(weights.untyped_data()), dl, st,
                     static_cast<const float*>(pending.untyped_data()),
                     static_cast<const float*>(scale.untyped_data()), n_scale,
                     static_cast<float*>(out->untyped_data()), batch, n, rows, k, m, b_spike,
                     b_tg, b_w, b_delay, b_step, b_pend, n_slots, width, n_valid);
      break;
    case ffi::DataType::F64:
      Deliver<double>(sp, tg, static_cast<const double*>(weights.untyped_data()), dl, st,
                      static_cast<const double*>(pending.untyped_data()),
                      static_cast<const double*>(scale.untyped_data()), n_scale,
                      static_cast<double*>(out->untyped_data()), batch, n, rows, k, m,
                      b_spike, b_tg, b_w, b_delay, b_step, b_pend, n_slots, width, n_valid);
      break;
    default:
      return ffi::Error::InvalidArgument("weights must be float32 or float64");
  }
  return ffi::Error::Success();
}

// Spikes per population: counts[b, p] = number of spike[b, i] with
// offsets[p] <= i < offsets[p + 1]. One call instead of XLA's slices and
// tree reductions (five small kernels per step for two populations).
ffi::Error CountImpl(ffi::Buffer<ffi::PRED> spike, ffi::Buffer<ffi::S32> offsets,
                     ffi::ResultBuffer<ffi::S32> counts) {
  const int64_t n = Dim(spike.dimensions(), 1), batch = Leading(spike.dimensions(), 1);
  const int64_t n_pop = Dim(offsets.dimensions(), 1) - 1;
  const int32_t* off = offsets.typed_data();  // the last row (shared under vmap)
  off += offsets.element_count() - (n_pop + 1);
  if (n_pop < 1 || off[0] != 0 || off[n_pop] != n || counts->element_count() != batch * n_pop)
    return ffi::Error::InvalidArgument("offsets must be (P + 1,) from 0 to N; counts (..., P)");
  for (int64_t b = 0; b < batch; ++b) {
    const bool* sp = spike.typed_data() + b * n;
    int32_t* out = counts->typed_data() + b * n_pop;
    std::fill(out, out + n_pop, 0);
    int64_t p = 0;
    for (int64_t i = NextSpike(sp, 0, n); i < n; i = NextSpike(sp, i + 1, n)) {
      while (i >= off[p + 1]) ++p;  // spikes come in ascending order
      ++out[p];
    }
  }
  return ffi::Error::Success();
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(NmmjaxSpikeCount, CountImpl,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::PRED>>()  // spike (..., N)
                                  .Arg<ffi::Buffer<ffi::S32>>()   // offsets (P + 1,)
                                  .Ret<ffi::Buffer<ffi::S32>>());  // counts (..., P)

XLA_FFI_DEFINE_HANDLER_SYMBOL(NmmjaxSpikeDeliver, DeliverImpl,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::PRED>>()  // spike (..., N)
                                  .Arg<ffi::Buffer<ffi::S32>>()   // targets (..., R, K)
                                  .Arg<ffi::AnyBuffer>()          // weights (..., R, K)
                                  .Arg<ffi::Buffer<ffi::S32>>()   // delays (..., R, K)
                                  .Arg<ffi::Buffer<ffi::S32>>()   // step (...)
                                  .Arg<ffi::AnyBuffer>()          // pending (..., M)
                                  .Arg<ffi::AnyBuffer>()          // scale (C,) or (0,)
                                  .Ret<ffi::AnyBuffer>()          // out (..., M)
                                  .Attr<int64_t>("n_slots")
                                  .Attr<int64_t>("width")
                                  .Attr<int64_t>("n_valid")
                                  .Attr<int64_t>("rank"));  // pending's own dims
