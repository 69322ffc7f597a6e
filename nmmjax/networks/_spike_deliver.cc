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
// The file's other handlers: CountImpl (spikes per population) and LifImpl
// (a whole LIF network step with its delivery; see LifNetwork below).
//
// Built on first use by nmmjax/networks/_spike_ffi.py (g++ -O3 -march=native
// -ffp-contract=off -shared).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

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

// Prefetch the `bytes` bytes at p: a spiking neuron's row of the synapse
// table is rarely in cache, and fetching all rows of a step's spikes at once
// overlaps their memory latencies.
inline void Prefetch(const void* p, int64_t bytes) {
  const char* c = static_cast<const char*>(p);
  for (int64_t o = 0; o < bytes; o += 64) __builtin_prefetch(c + o);
}

// dst[targets[i, c]] += weights[i, c] for every neuron i that spiked (in
// ascending order) and every column c (in order); targets >= n_valid are padding.
template <typename T>
void AddSpikes(const bool* sp, int64_t n, const int32_t* tg, const T* w, int64_t k,
               int64_t n_valid, T* dst) {
  constexpr int kAhead = 32;  // spikes whose rows are fetched together
  int64_t idx[kAhead];
  for (int64_t i = NextSpike(sp, 0, n); i < n;) {
    int n_idx = 0;
    for (; i < n && n_idx < kAhead; i = NextSpike(sp, i + 1, n)) {
      idx[n_idx++] = i;
      Prefetch(tg + i * k, k * sizeof(int32_t));
      Prefetch(w + i * k, k * sizeof(T));
    }
    for (int q = 0; q < n_idx; ++q) {
      const int32_t* row = tg + idx[q] * k;
      const T* wrow = w + idx[q] * k;
      for (int64_t c = 0; c < k; ++c) {
        const int64_t t = row[c];
        if (t < n_valid) dst[t] += wrow[c];
      }
    }
  }
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
      AddSpikes(sp, n, tg, w, k, n_valid, dst);
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

// The number of true entries of sp[0, m): a bool is one byte, 0 or 1, so the
// bits set in 8 of them are their count.
inline int32_t CountTrue(const bool* sp, int64_t m) {
  int64_t count = 0, i = 0;
  for (; i + 8 <= m; i += 8) {
    uint64_t word;
    std::memcpy(&word, sp + i, 8);
    count += __builtin_popcountll(word);
  }
  for (; i < m; ++i) count += sp[i];
  return static_cast<int32_t>(count);
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
    for (int64_t p = 0; p < n_pop; ++p) out[p] = CountTrue(sp + off[p], off[p + 1] - off[p]);
  }
  return ffi::Error::Success();
}


// One step of a network of LIF neurons (forward Euler) with exponential
// conductance or current channels and no delays, then the delivery of its
// spikes (LifNetwork): what make_network_step's pure-JAX step does in ~5 XLA
// kernels and the delivery call, in one pass over the neurons. Per neuron i:
//   I   = sum over conductance channels c of g[c, i] (e_rev[c] - v[i])
//         + sum over current channels of g[c, i]  + ext[i]
//   v'  = v + dt (-(v - v_rest) + R I) / tau_m
//   held = refractory > 0;  v' = held ? v_reset : v'
//   spike = v' >= v_th and not held;  v' = spike ? v_reset : v'
//   refractory' = spike ? n_ref : max(refractory - 1, 0)
//   g'[c, i] = g[c, i] decay[c], then AddSpikes.
// The same bits as the JAX step compiled by XLA:CPU: the same operations in
// the same order, a float32 division by one tau_m per run done as XLA does
// it (times 1 / tau_m), and fused multiply-adds exactly where LLVM contracts
// XLA's code (Fma, FmaV); the library is built with -ffp-contract=off so that
// GCC adds no others. Parameters and ext have 1 or N entries per run, per run
// or shared by the batch.
template <typename T>
struct PerNeuron {  // an operand with 1 or n entries per run, batched or shared
  const T* data;
  int64_t size, batch_stride;
};

// a b + c as XLA:CPU computes it: LLVM contracts a product feeding an addition
// into one fused multiply-add where the CPU has them.
template <typename T>
inline T Fma(T a, T b, T c) {
#if defined(__FMA__) || defined(__ARM_FEATURE_FMA)
  return std::fma(a, b, c);
#else
  return a * b + c;
#endif
}

// GCC vector extensions: N lanes of E (N = 1 for the tail of a population).
// Loads and stores go through the unaligned variant, typed: a memcpy would be
// a character access, which may alias anything and makes GCC reload every
// loop-invariant field after each store.
template <typename E, int N>
struct Lanes {
  typedef E type __attribute__((vector_size(N * sizeof(E))));
  typedef E unaligned __attribute__((vector_size(N * sizeof(E)), aligned(sizeof(E))));
};

template <int N, typename E>
inline typename Lanes<E, N>::type LoadN(const E* p) {
  return *reinterpret_cast<const typename Lanes<E, N>::unaligned*>(p);
}

template <int N, typename E>
inline void StoreN(E* p, typename Lanes<E, N>::type x) {
  *reinterpret_cast<typename Lanes<E, N>::unaligned*>(p) = x;
}

template <typename V>
inline V FmaV(V a, V b, V c) {  // one vfmadd where the CPU has them
  typedef std::remove_reference_t<decltype(a[0])> E;
#if defined(__AVX512F__)  // GCC does not always turn the lane loop into one
  if constexpr (sizeof(V) == 64 && std::is_same_v<E, float>)
    return reinterpret_cast<V>(_mm512_fmadd_ps(reinterpret_cast<__m512>(a),
                                               reinterpret_cast<__m512>(b),
                                               reinterpret_cast<__m512>(c)));
  if constexpr (sizeof(V) == 64 && std::is_same_v<E, double>)
    return reinterpret_cast<V>(_mm512_fmadd_pd(reinterpret_cast<__m512d>(a),
                                               reinterpret_cast<__m512d>(b),
                                               reinterpret_cast<__m512d>(c)));
#endif
  V r;
  for (int l = 0; l < int(sizeof(V) / sizeof(E)); ++l) r[l] = Fma(a[l], b[l], c[l]);
  return r;
}

// One term of the input current: x (e - v) (a conductance, product) or x (a
// current channel, or ext); channels also write x decay to out.
template <typename T>
struct Term {
  PerNeuron<T> x;
  T e, decay;
  bool product;
  T* out;  // null for ext
};

constexpr int64_t kMaxChannels = 16;

// One run's operands (batch offsets applied).
template <typename T>
struct LifRun {
  const T* v;
  const int32_t* refr;
  PerNeuron<T> tau, r_m, v_rest, v_th, v_reset;
  PerNeuron<int32_t> n_ref;
  Term<T> terms[kMaxChannels + 1];
  int n_terms;
  T dt;
  T* v_out;
  int32_t* refr_out;
  bool* spike_out;
};

constexpr int kVectors = 16;  // vectors per block: its current stays in L1

// Entries [i, i + N) of an operand with 1 or n entries.
template <int N, typename T>
inline typename Lanes<T, N>::type Get(const PerNeuron<T>& a, int64_t i) {
  return a.size == 1 ? typename Lanes<T, N>::type{} + a.data[0] : LoadN<N>(a.data + i);
}

// The input current of m vectors of N neurons from i0: the terms summed left
// to right with XLA:CPU's contractions (an addition of a product not yet
// rounded is a fused multiply-add of it, of the left operand's product when
// both are); the channels' decayed values are stored on the way. Every term
// is one pass over the block, its kind decided once.
template <int N, typename T>
void Current(const LifRun<T>& r, int64_t i0, int m, typename Lanes<T, N>::type* cur) {
  typedef typename Lanes<T, N>::type V;
  V pa[kVectors], pb[kVectors];  // the first term's product, not yet rounded
  bool pending = false;
  for (int q = 0; q < r.n_terms; ++q) {
    const Term<T> t = r.terms[q];
    for (int j = 0; j < m; ++j) {
      const int64_t i = i0 + j * N;
      const V x = Get<N>(t.x, i);
      if (t.out) StoreN<N>(t.out + i, x * t.decay);
      const V y = t.e - LoadN<N>(r.v + i);
      if (q == 0) {
        if (t.product) pa[j] = x, pb[j] = y;
        else cur[j] = x;
      } else if (pending) {
        cur[j] = FmaV(pa[j], pb[j], t.product ? x * y : x);
      } else {
        cur[j] = t.product ? FmaV(x, y, cur[j]) : cur[j] + x;
      }
    }
    pending = q == 0 && t.product;
  }
  for (int j = 0; j < m; ++j) {
    if (r.n_terms == 0) cur[j] = V{};
    if (pending) cur[j] = pa[j] * pb[j];
  }
}

// The membrane, threshold, reset and refractory update of m vectors of N
// neurons from i0. Every input is loaded before the outputs are stored (the
// state is updated in place).
template <int N, typename T>
void Membrane(const LifRun<T>& r, int64_t i0, int m, const typename Lanes<T, N>::type* cur) {
  typedef typename Lanes<T, N>::type V;
  typedef typename Lanes<int32_t, N>::type VI;
  typedef typename Lanes<uint8_t, N>::type VB;
  // XLA divides a float32 by a broadcast scalar as a product with its inverse.
  const bool div = r.tau.size != 1 || !std::is_same_v<T, float>;
  const V inv = V{} + T(1) / r.tau.data[0], dt = V{} + r.dt;
  uint8_t spikes[kVectors * N];  // stored at the end: a byte store may alias anything
  for (int j = 0; j < m; ++j) {
    const int64_t i = i0 + j * N;
    const V v = LoadN<N>(r.v + i);
    const V num = FmaV(Get<N>(r.r_m, i), cur[j], -(v - Get<N>(r.v_rest, i)));
    const V vn = FmaV(div ? num / Get<N>(r.tau, i) : num * inv, dt, v);
    const VI ref = LoadN<N>(r.refr + i);
    const auto held = __builtin_convertvector(ref > 0, decltype(vn < vn));
    const auto spike = (vn >= Get<N>(r.v_th, i)) & ~held;
    const V reset = Get<N>(r.v_reset, i);
    const VI spike_i = __builtin_convertvector(spike, VI), n_ref = Get<N>(r.n_ref, i);
    StoreN<N>(r.v_out + i, (held | spike) ? reset : vn);
    StoreN<N>(r.refr_out + i, spike_i ? n_ref : (ref > 0 ? ref - 1 : VI{}));
    StoreN<N>(spikes + j * N, __builtin_convertvector(spike_i & 1, VB));
  }
  std::memcpy(r.spike_out + i0, spikes, m * N);
}

// Neurons [i0, i0 + m N).
template <int N, typename T>
void LifBlock(const LifRun<T>& r, int64_t i0, int m) {
  typename Lanes<T, N>::type cur[kVectors];
  Current<N>(r, i0, m, cur);
  Membrane<N>(r, i0, m, cur);
}

struct LifShape {
  int64_t batch, n, n_ch, rows, k, n_valid;
  bool b_v, b_ch, b_tg, b_w, has_ext;
};

template <typename T>
PerNeuron<T> OfRun(const PerNeuron<T>& a, int64_t b) {
  return {a.data + b * a.batch_stride, a.size, 0};
}

template <typename T>
void LifNetwork(const LifShape& s, const T* v, const int32_t* refr, const T* chans,
                const PerNeuron<T>* par,  // ext, tau_m, R, v_rest, v_th, v_reset
                const PerNeuron<int32_t>& n_ref, const int32_t* targets, const T* weights,
                const T* decay, const T* e_rev, const int32_t* kinds, T dt, T* v_out,
                int32_t* refr_out, bool* spike_out, T* chans_out) {
  constexpr int L = 64 / sizeof(T);  // one AVX-512 register (two AVX ones)
  const int64_t n = s.n;
  for (int64_t b = 0; b < s.batch; ++b) {
    LifRun<T> r;
    r.v = v + (s.b_v ? b * n : 0);
    r.refr = refr + (s.b_v ? b * n : 0);
    r.tau = OfRun(par[1], b), r.r_m = OfRun(par[2], b), r.v_rest = OfRun(par[3], b);
    r.v_th = OfRun(par[4], b), r.v_reset = OfRun(par[5], b), r.n_ref = OfRun(n_ref, b);
    r.dt = dt;
    r.v_out = v_out + b * n, r.refr_out = refr_out + b * n, r.spike_out = spike_out + b * n;
    const T* gb = chans + (s.b_ch ? b * s.n_ch * n : 0);
    T* go = chans_out + b * s.n_ch * n;
    r.n_terms = 0;
    for (int pass = 0; pass < 2; ++pass)  // conductances first, then currents
      for (int64_t c = 0; c < s.n_ch; ++c)
        if (kinds[c] == pass)
          r.terms[r.n_terms++] = {{gb + c * n, n, 0}, e_rev[c], decay[c], pass == 0, go + c * n};
    if (s.has_ext) r.terms[r.n_terms++] = {OfRun(par[0], b), T(0), T(0), false, nullptr};
    const int64_t full = n / L;
    for (int64_t v0 = 0; v0 < full; v0 += kVectors)
      LifBlock<L>(r, v0 * L, static_cast<int>(std::min<int64_t>(kVectors, full - v0)));
    for (int64_t i = full * L; i < n; i += kVectors)
      LifBlock<1>(r, i, static_cast<int>(std::min<int64_t>(kVectors, n - i)));
    AddSpikes(r.spike_out, n, targets + (s.b_tg ? b * s.rows * s.k : 0),
              weights + (s.b_w ? b * s.rows * s.k : 0), s.k, s.n_valid, go);
  }
}

template <typename T>
PerNeuron<T> Param(const ffi::AnyBuffer& a, int64_t batch, int64_t n, bool* ok) {
  const int64_t size = Dim(a.dimensions(), 1), lead = Leading(a.dimensions(), 1);
  *ok = *ok && (size == 1 || size == n) && (lead == 1 || lead == batch);
  return {static_cast<const T*>(a.untyped_data()), size, lead == batch && batch != 1 ? size : 0};
}

template <typename T>
ffi::Error LifTyped(const LifShape& s, ffi::AnyBuffer v, ffi::Buffer<ffi::S32> refr,
                    ffi::AnyBuffer chans, const ffi::AnyBuffer* par,
                    ffi::Buffer<ffi::S32> n_ref, ffi::Buffer<ffi::S32> targets,
                    ffi::AnyBuffer weights, ffi::AnyBuffer decay, ffi::AnyBuffer e_rev,
                    ffi::Buffer<ffi::S32> kinds, double dt, ffi::AnyBuffer* v_out,
                    int32_t* refr_out, bool* spike_out, ffi::AnyBuffer* chans_out) {
  bool ok = true;
  PerNeuron<T> p[6];
  for (int q = 0; q < 6; ++q) {
    if (par[q].element_type() != v.element_type())
      return ffi::Error::InvalidArgument("parameters and ext must have v's dtype");
    p[q] = Param<T>(par[q], s.batch, s.n, &ok);
  }
  const int64_t r_size = Dim(n_ref.dimensions(), 1), r_lead = Leading(n_ref.dimensions(), 1);
  ok = ok && (r_size == 1 || r_size == s.n) && (r_lead == 1 || r_lead == s.batch);
  if (!ok) return ffi::Error::InvalidArgument("parameters and ext: (..., 1) or (..., N)");
  PerNeuron<int32_t> nr{n_ref.typed_data(), r_size,
                        r_lead == s.batch && s.batch != 1 ? r_size : 0};
  auto d = [](const ffi::AnyBuffer& a) { return static_cast<const T*>(a.untyped_data()); };
  LifNetwork<T>(s, d(v), refr.typed_data(), d(chans), p, nr, targets.typed_data(), d(weights),
                d(decay), d(e_rev), kinds.typed_data(), static_cast<T>(dt),
                static_cast<T*>(v_out->untyped_data()), refr_out, spike_out,
                static_cast<T*>(chans_out->untyped_data()));
  return ffi::Error::Success();
}

ffi::Error LifImpl(ffi::AnyBuffer v, ffi::Buffer<ffi::S32> refr, ffi::AnyBuffer chans,
                   ffi::AnyBuffer ext, ffi::AnyBuffer tau_m, ffi::AnyBuffer r,
                   ffi::AnyBuffer v_rest, ffi::AnyBuffer v_th, ffi::AnyBuffer v_reset,
                   ffi::Buffer<ffi::S32> n_ref, ffi::Buffer<ffi::S32> targets,
                   ffi::AnyBuffer weights, ffi::AnyBuffer decay, ffi::AnyBuffer e_rev,
                   ffi::Buffer<ffi::S32> kinds, ffi::Result<ffi::AnyBuffer> v_out,
                   ffi::Result<ffi::Buffer<ffi::S32>> refr_out,
                   ffi::Result<ffi::Buffer<ffi::PRED>> spike_out,
                   ffi::Result<ffi::AnyBuffer> chans_out, double dt, int64_t n_valid,
                   int64_t has_ext) {
  LifShape s;
  s.has_ext = has_ext != 0;
  s.n = Dim(v_out->dimensions(), 1);
  s.batch = Leading(v_out->dimensions(), 1);
  s.n_ch = Dim(chans.dimensions(), 2);
  s.rows = Dim(targets.dimensions(), 2);
  s.k = Dim(targets.dimensions(), 1);
  s.n_valid = n_valid;
  auto lead = [&s](int64_t l, bool* is) {
    *is = l == s.batch && s.batch != 1;
    return l == s.batch || l == 1;
  };
  if (s.rows < s.n || Dim(chans.dimensions(), 1) != s.n || Dim(v.dimensions(), 1) != s.n ||
      Dim(refr.dimensions(), 1) != s.n || decay.element_count() != s.n_ch ||
      e_rev.element_count() != s.n_ch || kinds.element_count() != s.n_ch ||
      s.n_ch > kMaxChannels ||
      Dim(weights.dimensions(), 2) != s.rows || Dim(weights.dimensions(), 1) != s.k ||
      !lead(Leading(v.dimensions(), 1), &s.b_v) ||
      Leading(refr.dimensions(), 1) != Leading(v.dimensions(), 1) ||
      !lead(Leading(chans.dimensions(), 2), &s.b_ch) ||
      !lead(Leading(targets.dimensions(), 2), &s.b_tg) ||
      !lead(Leading(weights.dimensions(), 2), &s.b_w))
    return ffi::Error::InvalidArgument(
        "v, refractory (..., N), channels (..., C <= 16, N), synapse tables (..., R >= N, K), "
        "decay, e_rev, kinds (C,); batch sizes the output's or 1");
  for (const ffi::AnyBuffer* a : {&v, &chans, &weights, &decay, &e_rev})
    if (a->element_type() != v_out->element_type())
      return ffi::Error::InvalidArgument("v, channels, weights, decay, e_rev: one dtype");
  const ffi::AnyBuffer par[6] = {ext, tau_m, r, v_rest, v_th, v_reset};
  switch (v_out->element_type()) {
    case ffi::DataType::F32:
      return LifTyped<float>(s, v, refr, chans, par, n_ref, targets, weights, decay, e_rev,
                             kinds, dt, &(*v_out), refr_out->typed_data(),
                             spike_out->typed_data(), &(*chans_out));
    case ffi::DataType::F64:
      return LifTyped<double>(s, v, refr, chans, par, n_ref, targets, weights, decay, e_rev,
                              kinds, dt, &(*v_out), refr_out->typed_data(),
                              spike_out->typed_data(), &(*chans_out));
    default:
      return ffi::Error::InvalidArgument("v must be float32 or float64");
  }
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

XLA_FFI_DEFINE_HANDLER_SYMBOL(NmmjaxLifNetwork, LifImpl,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::AnyBuffer>()          // v (..., N)
                                  .Arg<ffi::Buffer<ffi::S32>>()   // refractory (..., N)
                                  .Arg<ffi::AnyBuffer>()          // channels (..., C, N)
                                  .Arg<ffi::AnyBuffer>()          // ext (..., 1 | N)
                                  .Arg<ffi::AnyBuffer>()          // tau_m (..., 1 | N)
                                  .Arg<ffi::AnyBuffer>()          // R
                                  .Arg<ffi::AnyBuffer>()          // v_rest
                                  .Arg<ffi::AnyBuffer>()          // v_th
                                  .Arg<ffi::AnyBuffer>()          // v_reset
                                  .Arg<ffi::Buffer<ffi::S32>>()   // n_ref (..., 1 | N)
                                  .Arg<ffi::Buffer<ffi::S32>>()   // targets (..., R, K)
                                  .Arg<ffi::AnyBuffer>()          // weights (..., R, K)
                                  .Arg<ffi::AnyBuffer>()          // decay (C,)
                                  .Arg<ffi::AnyBuffer>()          // e_rev (C,)
                                  .Arg<ffi::Buffer<ffi::S32>>()   // kinds (C,): 0 g, 1 I
                                  .Ret<ffi::AnyBuffer>()          // v (..., N)
                                  .Ret<ffi::Buffer<ffi::S32>>()   // refractory (..., N)
                                  .Ret<ffi::Buffer<ffi::PRED>>()  // spike (..., N)
                                  .Ret<ffi::AnyBuffer>()          // channels (..., C, N)
                                  .Attr<double>("dt")
                                  .Attr<int64_t>("n_valid")
                                  .Attr<int64_t>("has_ext"));
